//! Mutational fuzzing of every reader of untrusted input, bounded in time so that CI runs it.
//!
//! Each target starts from its committed corpus (`harness/fuzz/corpus/TARGET/`, plus the
//! repository's fixtures where they fit), replays every entry, then for its time budget feeds
//! mutants of them (bit flips, interesting bytes, insertions, deletions, duplicated ranges,
//! splices of two entries, dictionary tokens, numbers swapped for extreme ones), picked by
//! arbtest from a random seed. The inputs run through the entry points of
//! `benchmark_harness::fuzz`, in a debug build, so that an arithmetic overflow panics too.
//!
//! - `FUZZ_BUDGET_MS` (default 6000): the time each target mutates for.
//! - `ARBTEST_SEED=0x...`: replays the seed a failure printed.
//! - A panicking input is saved under `target/fuzz/crashes/`; once fixed, move it into the
//!   target's corpus so that it is replayed for ever.
//! - Each target writes `target/fuzz/TARGET.txt`: how many inputs ran and that none crashed;
//!   while it runs, `target/fuzz/TARGET.current` holds the input in flight (for an abort: its
//!   length as 8 bytes little endian, then the input).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Duration;

use arbtest::arbitrary::{self, Unstructured};
use benchmark_harness::fuzz;

/// The largest input a mutant may grow to.
const MAX_INPUT: usize = 256 * 1024;

#[test]
fn fuzz_fixture_loader() {
    let mut seeds = corpus("fixture");
    seeds.extend(files_under(&crate::common::repo().join("fixtures"), "json"));
    run_target("fixture", seeds, FIXTURE_TOKENS, fuzz::fixture);
}

#[test]
fn fuzz_sse_parser() {
    run_target("sse", corpus("sse"), SSE_TOKENS, fuzz::sse);
}

#[test]
fn fuzz_chunked_decoder() {
    run_target("chunked", corpus("chunked"), CHUNKED_TOKENS, fuzz::chunked);
}

#[test]
fn fuzz_ws_checks() {
    let fixtures =
        harness_fixture::load::load_dir(&crate::common::repo().join("fixtures/websocket"))
            .expect("the corpus loads")
            .fixtures;
    run_target("ws_check", corpus("ws_check"), &[], |bytes| {
        fuzz::ws_check(&fixtures, bytes)
    });
}

#[test]
fn fuzz_redaction() {
    run_target("redact", corpus("redact"), REDACT_TOKENS, fuzz::redact);
}

#[test]
fn fuzz_result_documents() {
    run_target(
        "result_document",
        corpus("result_document"),
        RESULT_TOKENS,
        fuzz::result_document,
    );
}

const FIXTURE_TOKENS: &[&[u8]] = &[
    b"<<regex:(>>",
    b"<<regex:.*>>",
    b"<<any>>",
    b"<<absent>>",
    b"\"body_base64\":\"A\"",
    b"\"route\":\"/__ready\"",
    b"{a}",
    b"{b:int}",
    b"\\r\\n",
    b"\xef\xbb\xbf",
    b"\"name\":\"x\",\"name\":\"y\",",
    b"\"within_ms\":18446744073709551615,",
    b"\"code\":1005",
    b"\"$ref\":\"#\"",
];

const SSE_TOKENS: &[&[u8]] = &[
    b"data:",
    b"data: ",
    b"event:",
    b"id:",
    b"id: \0",
    b"retry:",
    b"retry: 18446744073709551616",
    b":",
    b"\n\n",
    b"\r\n\r\n",
    b"\r",
    b"\xef\xbb\xbf",
    b"\xf0\x9f",
];

const CHUNKED_TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"0\r\n\r\n",
    b"ffffffffffffffff\r\n",
    b"fffffffffffffff\r\n",
    b";ext=1",
    b"Trailer: x\r\n",
    b"\n",
];

const RESULT_TOKENS: &[&[u8]] = &[
    b"\"HISTFAAAACR42pNpmSzMwMDAxAABzFCaEUzOPzTMHgAq5wJe\"",
    b"\"HISTFAAAAAA=\"",
    b"18446744073709551615",
    b"-1",
    b"1e308",
    b"null",
    b"\"outcome\":\"failed\"",
    b"\"protocol\":\"websocket\"",
];

const REDACT_TOKENS: &[&[u8]] = &[
    b"Bearer ",
    b"token=",
    b"&api_key=",
    b"; Path=/; HttpOnly",
    b"\"password\":",
    b"\"X-Api-Key\": ",
    b"<<redacted:sha256:",
    b"%3D",
    b"\n+  ",
    b"\n-  ",
    b"{",
    b"[",
];

const NUMBERS: &[&[u8]] = &[
    b"0",
    b"-1",
    b"18446744073709551615",
    b"18446744073709551616",
    b"9223372036854775808",
    b"4294967296",
    b"1e300",
    b"-0",
    b"NaN",
];

/// Replays `seeds`, then mutates them for the budget; fails on the first input that panics.
fn run_target(name: &str, seeds: Vec<Vec<u8>>, tokens: &[&[u8]], target: impl Fn(&[u8]) -> usize) {
    assert!(!seeds.is_empty(), "{name}: no corpus");
    let _ = std::fs::create_dir_all(out_dir());
    let in_flight =
        File::create(out_dir().join(format!("{name}.current"))).expect("target/fuzz is writable");
    let mut ran = 0u64;
    for seed in &seeds {
        guarded(name, seed, &in_flight, &target);
        ran += 1;
    }
    let budget = std::env::var("FUZZ_BUDGET_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(6000);
    arbtest::arbtest(|u| {
        let input = mutant(u, &seeds, tokens)?;
        guarded(name, &input, &in_flight, &target);
        ran += 1;
        Ok(())
    })
    .size_max(4096)
    .budget(Duration::from_millis(budget))
    .run();
    let line = format!(
        "fuzz {name}: {ran} inputs ({} corpus), 0 crashed, {budget} ms\n",
        seeds.len()
    );
    eprint!("{line}");
    let _ = std::fs::write(out_dir().join(format!("{name}.txt")), line);
    let _ = std::fs::remove_file(out_dir().join(format!("{name}.current")));
}

/// Runs `target` on `input`; a panic saves the input and fails the test, naming the file.
/// The input in flight is kept in `target/fuzz/TARGET.current` (its length as 8 bytes, little
/// endian, then the input; no truncation, which costs more than the write), so that an input
/// that aborts the process (out of memory) can still be found.
fn guarded(name: &str, input: &[u8], in_flight: &File, target: &impl Fn(&[u8]) -> usize) {
    let _ = in_flight.write_all_at(&(input.len() as u64).to_le_bytes(), 0);
    let _ = in_flight.write_all_at(input, 8);
    if catch_unwind(AssertUnwindSafe(|| std::hint::black_box(target(input)))).is_err() {
        let dir = out_dir().join("crashes");
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join(format!("{name}-{:016x}.bin", fingerprint(input)));
        let _ = std::fs::write(&file, input);
        panic!(
            "fuzz {name}: an input panicked; saved as {} ({} bytes)",
            file.display(),
            input.len()
        );
    }
}

/// One mutant of a seed, or (one time in eight) raw bytes from `u`.
fn mutant(
    u: &mut Unstructured<'_>,
    seeds: &[Vec<u8>],
    tokens: &[&[u8]],
) -> arbitrary::Result<Vec<u8>> {
    if u.ratio(1, 8)? {
        let len = u.int_in_range(0..=4096)?;
        return Ok(u.bytes(len.min(u.len()))?.to_vec());
    }
    let mut input = u.choose(seeds)?.clone();
    for _ in 0..u.int_in_range(1..=8)? {
        mutate(u, &mut input, seeds, tokens)?;
        input.truncate(MAX_INPUT);
    }
    Ok(input)
}

fn mutate(
    u: &mut Unstructured<'_>,
    input: &mut Vec<u8>,
    seeds: &[Vec<u8>],
    tokens: &[&[u8]],
) -> arbitrary::Result<()> {
    let at = |u: &mut Unstructured<'_>, len: usize| u.int_in_range(0..=len);
    match u.int_in_range(0..=7)? {
        0 if !input.is_empty() => {
            let i = at(u, input.len() - 1)?;
            input[i] ^= 1 << u.int_in_range(0..=7)?;
        }
        1 if !input.is_empty() => {
            let i = at(u, input.len() - 1)?;
            input[i] = *u.choose(b"\0\x7f\x80\xff\n\r:\"{}[]\\\x1b0 ")?;
        }
        2 => {
            let i = at(u, input.len())?;
            let len = u.int_in_range(1..=16)?;
            let bytes = u.bytes(len.min(u.len()))?.to_vec();
            input.splice(i..i, bytes);
        }
        3 if !input.is_empty() => {
            let start = at(u, input.len() - 1)?;
            let end = u.int_in_range(start..=input.len().min(start + 64))?;
            input.drain(start..end);
        }
        4 if !input.is_empty() => {
            let start = at(u, input.len() - 1)?;
            let end = u.int_in_range(start..=input.len())?;
            let copy = input[start..end].to_vec();
            let i = at(u, input.len())?;
            input.splice(i..i, copy);
        }
        5 => {
            let other = u.choose(seeds)?;
            let cut = at(u, input.len())?;
            let from = at(u, other.len())?;
            input.truncate(cut);
            input.extend_from_slice(&other[from..]);
        }
        6 if !tokens.is_empty() => {
            let i = at(u, input.len())?;
            input.splice(i..i, u.choose(tokens)?.iter().copied());
        }
        7 => {
            // A run of digits becomes an extreme number.
            let digits: Vec<usize> = (0..input.len())
                .filter(|&i| input[i].is_ascii_digit())
                .collect();
            if let Ok(&start) = u.choose(&digits) {
                let end = (start..input.len())
                    .find(|&i| !input[i].is_ascii_digit())
                    .unwrap_or(input.len());
                input.splice(start..end, u.choose(NUMBERS)?.iter().copied());
            }
        }
        _ => {}
    }
    Ok(())
}

/// The committed corpus of `target`.
fn corpus(target: &str) -> Vec<Vec<u8>> {
    files_under(
        &crate::common::repo()
            .join("harness/fuzz/corpus")
            .join(target),
        "",
    )
}

/// The contents of every file under `dir` whose name ends with `suffix`, in path order.
fn files_under(dir: &Path, suffix: &str) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

fn out_dir() -> PathBuf {
    crate::common::repo().join("target/fuzz")
}

fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash: u64, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
