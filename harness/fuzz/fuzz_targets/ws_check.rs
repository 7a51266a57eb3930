//! `benchmark_harness::fuzz::ws_check` under libFuzzer, on the corpus's WebSocket fixtures.
#![no_main]

use std::sync::OnceLock;

use harness_fixture::Fixture;

fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/websocket");
        harness_fixture::load::load_dir(std::path::Path::new(dir))
            .expect("the corpus loads")
            .fixtures
    })
}

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    std::hint::black_box(benchmark_harness::fuzz::ws_check(fixtures(), bytes));
});
