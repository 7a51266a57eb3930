//! Category 5: fragmentation. Control frames must not be fragmented, a fragmented message may
//! have control frames between its fragments, a continuation needs a message to continue, and
//! the frames after the first of a message are continuations.

use super::super::frame::{CONTINUATION as CONT, PING, PONG};
use super::super::model::{Case, Step};
use super::{batch, case, echo_text, frame, pong, server_fails, text};

const NOTHING_TO_CONTINUE: &str =
    "The connection is failed (1002): there is no message to continue.";

/// Category 5.
pub(super) fn cases() -> Vec<Case> {
    let mut cases = control_and_plain();
    cases.extend(nothing_to_continue());
    cases.extend(pings_between_waits());
    cases
}

/// Writes a step as told: one write per frame, in pieces of `chop` bytes when given.
fn chopped(step: Step, chop: Option<usize>) -> Step {
    match chop {
        Some(size) => step.chop(size),
        None => step,
    }
}

fn control_and_plain() -> Vec<Case> {
    let fragments = ["fragment1", "fragment2"];
    let whole = fragments.concat();
    let control = "The connection is failed (1002): control frames must not be fragmented.";
    let mut cases = vec![
        case("5.1", "Send a ping in 2 fragments.", control)
            .send(frame(PING, fragments[0]).fin(false))
            .send(frame(CONT, fragments[1]))
            .closing(server_fails(1002)),
        case("5.2", "Send a pong in 2 fragments.", control)
            .send(frame(PONG, fragments[0]).fin(false))
            .send(frame(CONT, fragments[1]))
            .closing(server_fails(1002)),
    ];
    let ways = [
        ("", None, true),
        (", each frame in its own write", None, false),
        (", written byte by byte", Some(1), false),
    ];
    for (n, (how, chop, together)) in ways.into_iter().enumerate() {
        let parts = vec![
            chopped(text(fragments[0]).fin(false), chop),
            chopped(frame(CONT, fragments[1]), chop),
        ];
        let mut plain = case(
            &format!("5.{}", 3 + n),
            &format!("Send a text message in 2 fragments{how}."),
            "The message is echoed whole; a clean close with 1000.",
        )
        .expect(vec![echo_text(whole.as_str())]);
        plain = if together {
            plain.send(batch(parts))
        } else {
            parts.into_iter().fold(plain, Case::send)
        };
        cases.push(plain);
    }
    for (n, (how, chop, together)) in ways.into_iter().enumerate() {
        let parts = vec![
            chopped(text(fragments[0]).fin(false), chop),
            chopped(frame(PING, "ping payload"), chop),
            chopped(frame(CONT, fragments[1]), chop),
        ];
        let mut with_ping = case(
            &format!("5.{}", 6 + n),
            &format!("Send a text message in 2 fragments with a ping between them{how}."),
            "A pong, then the message echoed whole; a clean close with 1000.",
        )
        .expect(vec![pong("ping payload"), echo_text(whole.as_str())]);
        with_ping = if together {
            with_ping.send(batch(parts))
        } else {
            parts.into_iter().fold(with_ping, Case::send)
        };
        cases.push(with_ping);
    }
    cases
}

fn nothing_to_continue() -> Vec<Case> {
    let lone = "non-continuation payload";
    let hello = "Hello, world!";
    let ways = [
        ("in one write", None, true),
        ("each frame in its own write", None, false),
        ("written byte by byte", Some(1), false),
    ];
    let mut cases = Vec::new();
    for (base, fin) in [(9, true), (12, false)] {
        for (n, (how, chop, together)) in ways.into_iter().enumerate() {
            let parts = vec![
                chopped(frame(CONT, lone).fin(fin), chop),
                chopped(text(hello), chop),
            ];
            let mut bad = case(
                &format!("5.{}", base + n),
                &format!(
                    "Send a continuation frame with FIN = {fin} where there is nothing to continue, then a text message, {how}."
                ),
                NOTHING_TO_CONTINUE,
            )
            .closing(server_fails(1002));
            bad = if together {
                bad.send(batch(parts))
            } else {
                parts.into_iter().fold(bad, Case::send)
            };
            cases.push(bad);
        }
    }
    let f = ["fragment1", "fragment2", "fragment3", "fragment4"];
    cases.push(
        case(
            "5.15",
            "Send a text message in 2 fragments, then a continuation frame with FIN = false where there is nothing to continue, then a text message, in one write.",
            "The first message is echoed, then the connection is failed (1002).",
        )
        .send(batch(vec![
            text(f[0]).fin(false),
            frame(CONT, f[1]),
            frame(CONT, f[2]).fin(false),
            text(f[3]),
        ]))
        .expect(vec![echo_text(f[..2].concat().as_str())])
        .or_non_strict(Vec::new())
        .closing(server_fails(1002)),
    );
    for (id, first_fin) in [("5.16", false), ("5.17", true)] {
        let frames = (0..2)
            .flat_map(|_| {
                [
                    frame(CONT, "fragment1").fin(first_fin),
                    text("fragment2").fin(false),
                    frame(CONT, "fragment3"),
                ]
            })
            .collect();
        cases.push(
            case(
                id,
                &format!(
                    "Twice: a continuation frame with FIN = {first_fin} where there is nothing to continue, then a text message in 2 fragments, in one write."
                ),
                NOTHING_TO_CONTINUE,
            )
            .send(batch(frames))
            .closing(server_fails(1002)),
        );
    }
    cases.push(
        case(
            "5.18",
            "Send a text message in 2 fragments, both frames with the text opcode, in one write.",
            "The connection is failed (1002): the frames after the first of a message are continuations.",
        )
        .send(batch(vec![text("fragment1").fin(false), text("fragment2")]))
        .closing(server_fails(1002)),
    );
    cases
}

fn pings_between_waits() -> Vec<Case> {
    let f = [
        "fragment1",
        "fragment2",
        "fragment3",
        "fragment4",
        "fragment5",
    ];
    let pings = ["pongme 1!", "pongme 2!"];
    let mut cases = Vec::new();
    for (id, how, together) in [
        ("5.19", "", true),
        ("5.20", " Each frame in its own write.", false),
    ] {
        let first = vec![
            text(f[0]).fin(false),
            frame(CONT, f[1]).fin(false),
            frame(PING, pings[0]),
        ];
        let second = vec![
            frame(CONT, f[2]).fin(false),
            frame(CONT, f[3]).fin(false),
            frame(PING, pings[1]),
            frame(CONT, f[4]),
        ];
        let mut c = case(
            id,
            &format!(
                "A text message in 5 fragments: 2 fragments and a ping, a pause, 2 more fragments, a ping and the last fragment.{how}"
            ),
            "Each ping answered at once (the first before the message ends), then the message echoed whole; a clean close with 1000.",
        )
        .expect(vec![pong(pings[0]), pong(pings[1]), echo_text(f.concat().as_str())]);
        for (i, part) in [first, second].into_iter().enumerate() {
            if i == 1 {
                c = c.send(Step::Wait);
            }
            c = if together {
                c.send(batch(part))
            } else {
                part.into_iter().fold(c, Case::send)
            };
        }
        cases.push(c);
    }
    cases
}
