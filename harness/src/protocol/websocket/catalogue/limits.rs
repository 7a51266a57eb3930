//! Categories 9 (limits and performance: messages of 64 KiB to 16 MiB, 4 MiB messages in
//! fragments of 64 bytes to 4 MiB, 1 MiB frames written in pieces of 64 to 2048 bytes, 1000
//! round trips of 0 to 4096 bytes; the time of each case is its `duration_ms`, the verdict the
//! echo being right) and 10 (a message in fragments of 1300 bytes).

use super::super::frame::{BINARY, TEXT};
use super::super::model::{Case, Expected, Finish, Payload, Step};
use super::{case, echo_binary, echo_text, frame};

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;
const TEXT_PATTERN: &[u8] = b"BAsd7&jh23";
const BINARY_PATTERN: &[u8] = b"\x00\xfe\x23\xfa\xf0";

fn size_words(bytes: usize) -> String {
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

fn echo(binary: bool, payload: Payload) -> Expected {
    if binary {
        echo_binary(payload)
    } else {
        echo_text(payload)
    }
}

fn kind(binary: bool) -> &'static str {
    if binary { "binary" } else { "text" }
}

/// A limits case: waits up to its limit for the echo, then closes.
fn timed(id: String, description: String, volume: usize) -> Case {
    let mut c = case(
        &id,
        &description,
        "The message echoed as sent (the time of the case is recorded); a clean close with 1000.",
    );
    c.finish = Finish::Limit;
    c.volume = volume;
    c
}

/// Categories 9 and 10.
pub(super) fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (sub, binary) in [(1, false), (2, true)] {
        let (opcode, pattern) = if binary {
            (BINARY, BINARY_PATTERN)
        } else {
            (TEXT, TEXT_PATTERN)
        };
        for (i, size) in [64 * KIB, 256 * KIB, MIB, 4 * MIB, 8 * MIB, 16 * MIB]
            .into_iter()
            .enumerate()
        {
            let payload = Payload::Repeat(pattern, size);
            cases.push(
                timed(
                    format!("9.{sub}.{}", i + 1),
                    format!("Send a {} message of {}.", kind(binary), size_words(size)),
                    size,
                )
                .send(frame(opcode, payload.clone()))
                .expect(vec![echo(binary, payload)]),
            );
        }
    }
    for (sub, binary) in [(3, false), (4, true)] {
        let fragments = [
            64,
            256,
            KIB,
            4 * KIB,
            16 * KIB,
            64 * KIB,
            256 * KIB,
            MIB,
            4 * MIB,
        ];
        for (i, fragment) in fragments.into_iter().enumerate() {
            let payload = Payload::Repeat(if binary { b"\xfe" } else { b"*" }, 4 * MIB);
            cases.push(
                timed(
                    format!("9.{sub}.{}", i + 1),
                    format!(
                        "Send a {} message of 4 MiB in fragments of {}.",
                        kind(binary),
                        size_words(fragment)
                    ),
                    4 * MIB,
                )
                .send(Step::Message {
                    text: !binary,
                    payload: payload.clone(),
                    fragment: Some(fragment),
                })
                .expect(vec![echo(binary, payload)]),
            );
        }
    }
    for (sub, binary) in [(5, false), (6, true)] {
        let (opcode, pattern) = if binary {
            (BINARY, BINARY_PATTERN)
        } else {
            (TEXT, TEXT_PATTERN)
        };
        for (i, chop) in [64, 128, 256, 512, 1024, 2048].into_iter().enumerate() {
            let payload = Payload::Repeat(pattern, MIB);
            cases.push(
                timed(
                    format!("9.{sub}.{}", i + 1),
                    format!(
                        "Send a {} message of 1 MiB in one frame, written in pieces of {chop} bytes.",
                        kind(binary)
                    ),
                    MIB,
                )
                .send(frame(opcode, payload.clone()).chop(chop))
                .expect(vec![echo(binary, payload)]),
            );
        }
    }
    cases.extend(round_trips());
    cases.push(
        case(
            "10.1.1",
            "Send a text message of 64 KiB in fragments of 1300 bytes (auto-fragmentation).",
            "The message echoed whole; a clean close with 1000.",
        )
        .send(Step::Message {
            text: true,
            payload: Payload::Repeat(b"*", 65536),
            fragment: Some(1300),
        })
        .expect(vec![echo_text(Payload::Repeat(b"*", 65536))]),
    );
    cases
}

/// 9.7.x and 9.8.x: 1000 messages, each sent when the last came back.
fn round_trips() -> Vec<Case> {
    let mut cases = Vec::new();
    for (sub, binary) in [(7, false), (8, true)] {
        for (i, len) in [0, 16, 64, 256, 1024, 4096].into_iter().enumerate() {
            let count = 1000;
            cases.push(
                timed(
                    format!("9.{sub}.{}", i + 1),
                    format!(
                        "Send {count} {} messages of {len} bytes, each after the echo of the last (round-trip time).",
                        kind(binary)
                    ),
                    count * len,
                )
                .send(Step::RoundTrips { count, len, binary })
                .expect(vec![Expected::RoundTrips(count)]),
            );
        }
    }
    cases
}
