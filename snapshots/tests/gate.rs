//! The snapshot gate: the corpus replayed against the embedded reference must match the
//! committed snapshots in `snapshots/rust-axum/`. On a change, the run leaves `.snap.new` files
//! for `cargo insta review` and this test fails.

use std::path::Path;

use benchmark_harness::Cli;
use clap::Parser;

#[test]
fn reference_transcripts_match_the_committed_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fixtures = root.join("fixtures");
    let snapshots = root.join("snapshots");
    let cli = Cli::parse_from([
        "benchmark-harness",
        "run",
        "--fixtures",
        fixtures.to_str().unwrap(),
        "--snapshots-dir",
        snapshots.to_str().unwrap(),
        "--snapshots",
        "check",
        "--quiet",
    ]);
    let code = benchmark_harness::run(cli);
    let pending: Vec<_> = walk(&snapshots.join("rust-axum"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".snap.new"))
        .collect();
    assert!(
        pending.is_empty(),
        "{} new or changed snapshots are pending: review them with `cargo insta review`:\n{pending:#?}",
        pending.len()
    );
    assert_eq!(
        code, 0,
        "the run failed or snapshots changed: see the output above, then `cargo insta review` \
         (or `benchmark-harness run --snapshots update`) to accept intended changes"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
