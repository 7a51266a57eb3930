//! `benchmark_harness::fuzz::fixture` under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    std::hint::black_box(benchmark_harness::fuzz::fixture(bytes));
});
