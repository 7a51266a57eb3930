//! Categories 1 (framing: text and binary at the length boundaries, chopped writes), 2 (pings
//! and pongs), 3 (reserved bits) and 4 (reserved opcodes).

use super::super::frame::{BINARY, CLOSE, PING, PONG, TEXT};
use super::super::model::{Case, Payload};
use super::{batch, case, close_frame, echo_binary, echo_text, frame, pong, server_fails, text};

/// The payload lengths of 1.1.x/1.2.x: 0, 125, 126, 127, 128, 65535, 65536, and 65536 chopped.
const LENGTHS: [usize; 7] = [0, 125, 126, 127, 128, 65535, 65536];

/// Categories 1 to 4.
pub(super) fn cases() -> Vec<Case> {
    let mut cases = framing();
    cases.extend(pings());
    cases.extend(reserved_bits());
    cases.extend(opcodes());
    cases
}

fn framing() -> Vec<Case> {
    let mut cases = Vec::new();
    for (sub, binary) in [(1, false), (2, true)] {
        let (kind, opcode, byte) = if binary {
            ("binary", BINARY, 0xfe)
        } else {
            ("text", TEXT, b'*')
        };
        for (i, len) in LENGTHS.iter().copied().chain([65536]).enumerate() {
            let chopped = i == LENGTHS.len();
            let payload = Payload::Bytes(vec![byte; len]);
            let mut step = frame(opcode, payload.clone());
            let mut description = format!("Send a {kind} message with a payload of length {len}.");
            if chopped {
                step = step.chop(997);
                description = format!(
                    "Send a {kind} message with a payload of length {len}, written in pieces of 997 bytes."
                );
            }
            let echo = if binary {
                echo_binary(payload)
            } else {
                echo_text(payload)
            };
            cases.push(
                case(
                    &format!("1.{sub}.{}", i + 1),
                    &description,
                    &format!("The {kind} message is echoed back as sent; a clean close with 1000."),
                )
                .send(step)
                .expect(vec![echo]),
            );
        }
    }
    cases
}

fn pings() -> Vec<Case> {
    let binary8: &[u8] = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff";
    let pong_back = "A pong with the ping's payload; a clean close with 1000.";
    let mut cases = vec![
        case("2.1", "Send a ping without payload.", pong_back)
            .send(frame(PING, ""))
            .expect(vec![pong("")]),
        case("2.2", "Send a ping with a small text payload.", pong_back)
            .send(frame(PING, "Hello, world!"))
            .expect(vec![pong("Hello, world!")]),
        case("2.3", "Send a ping with a small binary payload.", pong_back)
            .send(frame(PING, binary8))
            .expect(vec![pong(binary8)]),
        case(
            "2.4",
            "Send a ping with a binary payload of 125 bytes.",
            pong_back,
        )
        .send(frame(PING, vec![0xfe; 125]))
        .expect(vec![pong(vec![0xfe; 125])]),
        case(
            "2.5",
            "Send a ping with a binary payload of 126 bytes.",
            "The connection is failed (1002): control frames carry at most 125 bytes.",
        )
        .send(frame(PING, vec![0xfe; 126]))
        .closing(server_fails(1002)),
        case(
            "2.6",
            "Send a ping with a binary payload of 125 bytes, written byte by byte.",
            pong_back,
        )
        .send(frame(PING, vec![0xfe; 125]).chop(1))
        .expect(vec![pong(vec![0xfe; 125])]),
        case(
            "2.7",
            "Send an unsolicited pong without payload, then close.",
            "Nothing in reply to the pong; a clean close with 1000.",
        )
        .send(frame(PONG, ""))
        .send(close_frame(1000, b"")),
        case(
            "2.8",
            "Send an unsolicited pong with a payload, then close.",
            "Nothing in reply to the pong; a clean close with 1000.",
        )
        .send(frame(PONG, "unsolicited pong payload"))
        .send(close_frame(1000, b"")),
        case(
            "2.9",
            "Send an unsolicited pong with a payload, then a ping with a payload.",
            "Nothing in reply to the pong, a pong for the ping; a clean close with 1000.",
        )
        .send(frame(PONG, "unsolicited pong payload"))
        .send(frame(PING, "ping payload"))
        .expect(vec![pong("ping payload")]),
    ];
    for (id, chop) in [("2.10", None), ("2.11", Some(1))] {
        let mut ten = case(
            id,
            &format!(
                "Send 10 pings with payloads{}.",
                if chop.is_some() {
                    ", written byte by byte"
                } else {
                    ""
                }
            ),
            "A pong for each ping, in order (not required by the RFC, checked all the same); a clean close with 1000.",
        );
        for i in 0..10 {
            let payload = format!("payload-{i}");
            let mut step = frame(PING, payload.as_str());
            if let Some(size) = chop {
                step = step.chop(size);
            }
            ten = ten.send(step);
            ten.ok.push(pong(payload.as_str()));
        }
        cases.push(ten);
    }
    cases
}

fn reserved_bits() -> Vec<Case> {
    let hello = "Hello, world!";
    let fails =
        "The connection is failed (1002): RSV bits must be 0 when no extension defines them.";
    let then_fails = "The first message is echoed, then the connection is failed (1002) at the frame with RSV bits; no pong.";
    let binary8: &[u8] = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff";
    vec![
        case("3.1", "Send a small text message with RSV = 1.", fails)
            .send(text(hello).rsv(1))
            .closing(server_fails(1002)),
        case(
            "3.2",
            "Send a small text message, then one with RSV = 2, then a ping, all in one write.",
            then_fails,
        )
        .send(batch(vec![
            text(hello),
            text(hello).rsv(2),
            frame(PING, ""),
        ]))
        .expect(vec![echo_text(hello)])
        .or_non_strict(Vec::new())
        .closing(server_fails(1002)),
        case(
            "3.3",
            "Send a small text message, then one with RSV = 3, then a ping, each in its own write.",
            then_fails,
        )
        .send(text(hello))
        .send(text(hello).rsv(3))
        .send(frame(PING, ""))
        .expect(vec![echo_text(hello)])
        .or_non_strict(Vec::new())
        .closing(server_fails(1002)),
        case(
            "3.4",
            "Send a small text message, then one with RSV = 4, then a ping, written byte by byte.",
            then_fails,
        )
        .send(text(hello).chop(1))
        .send(text(hello).rsv(4).chop(1))
        .send(frame(PING, "").chop(1))
        .expect(vec![echo_text(hello)])
        .or_non_strict(Vec::new())
        .closing(server_fails(1002)),
        case("3.5", "Send a small binary message with RSV = 5.", fails)
            .send(frame(BINARY, binary8).rsv(5))
            .closing(server_fails(1002)),
        case("3.6", "Send a ping with RSV = 6.", fails)
            .send(frame(PING, hello).rsv(6))
            .closing(server_fails(1002)),
        case("3.7", "Send a close with RSV = 7.", fails)
            .send(frame(CLOSE, "").rsv(7))
            .closing(server_fails(1002)),
    ]
}

fn opcodes() -> Vec<Case> {
    let hello = "Hello, world!";
    let fails = "The connection is failed (1002): the opcode is reserved.";
    let then_fails = "The first message is echoed, then the connection is failed (1002) at the reserved opcode; no pong.";
    let mut cases = Vec::new();
    for (sub, kind, codes) in [
        (1, "non-control", [3u8, 4, 5, 6, 7]),
        (2, "control", [11, 12, 13, 14, 15]),
    ] {
        let [a, b, c, d, e] = codes;
        let id = |n: usize| format!("4.{sub}.{n}");
        cases.push(
            case(
                &id(1),
                &format!("Send a frame with reserved {kind} opcode {a}."),
                fails,
            )
            .send(frame(a, ""))
            .closing(server_fails(1002)),
        );
        cases.push(
            case(
                &id(2),
                &format!("Send a frame with reserved {kind} opcode {b} and a payload."),
                fails,
            )
            .send(frame(b, "reserved opcode payload"))
            .closing(server_fails(1002)),
        );
        let mut three_steps = |n: usize, op: u8, with_payload: bool, chop: Option<usize>| {
            let payload = if with_payload { hello } else { "" };
            let chopped = |step: super::super::model::Step| match chop {
                Some(size) => step.chop(size),
                None => step,
            };
            cases.push(
                case(
                    &id(n),
                    &format!(
                        "Send a small text message, a frame with reserved {kind} opcode {op}{}, then a ping{}.",
                        if with_payload { " and a payload" } else { "" },
                        if chop.is_some() { ", written byte by byte" } else { "" }
                    ),
                    then_fails,
                )
                .send(chopped(text(hello)))
                .send(chopped(frame(op, payload)))
                .send(chopped(frame(PING, "")))
                .expect(vec![echo_text(hello)])
                .or_non_strict(Vec::new())
                .closing(server_fails(1002)),
            );
        };
        three_steps(3, c, false, None);
        three_steps(4, d, true, None);
        three_steps(5, e, true, Some(1));
    }
    cases
}
