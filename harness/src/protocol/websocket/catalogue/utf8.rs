//! Category 6: UTF-8 handling. Valid text echoed however it is fragmented (6.1, 6.2), invalid
//! text failing the connection with 1007 (6.3), as soon as the invalid byte arrives (6.4:
//! fail-fast, `non_strict` when only at the end of the message), and the decoder stress tables
//! (6.5 to 6.23).

use super::super::frame::{self as wire_frame, CONTINUATION as CONT, Head};
use super::super::model::{Case, CloseExpect, Expected, Payload, Step};
use super::utf8_table::{KOSME, groups};
use super::{case, echo_text, frame, text};

/// The server fails the connection with 1007; the harness closing instead fails the case.
fn invalid_payload() -> CloseExpect {
    CloseExpect {
        closed_by_me: false,
        codes: vec![1007],
        require_clean: false,
        wrong_endpoint_fatal: true,
        wrong_code_fatal: false,
    }
}

fn message(payload: &[u8], fragment: Option<usize>) -> Step {
    Step::Message {
        text: true,
        payload: Payload::Bytes(payload.to_vec()),
        fragment,
    }
}

/// Category 6.
pub(super) fn cases() -> Vec<Case> {
    let mut cases = valid_fragmented();
    cases.extend(fail_fast());
    for (g, (title, members)) in groups().into_iter().enumerate() {
        for (m, (valid, bytes)) in members.into_iter().enumerate() {
            let id = format!("6.{}.{}", g + 5, m + 1);
            let hex = Payload::Bytes(bytes.clone()).words();
            cases.push(if valid {
                case(
                    &id,
                    &format!("{title}: send a text message whose payload is valid UTF-8, in one frame. Payload: {hex}"),
                    "The message is echoed.",
                )
                .send(message(&bytes, None))
                .expect(vec![echo_text(Payload::Bytes(bytes))])
            } else {
                case(
                    &id,
                    &format!("{title}: send a text message whose payload is not valid UTF-8, in one frame. Payload: {hex}"),
                    "The connection is failed (1007): the payload is not valid UTF-8.",
                )
                .send(message(&bytes, None))
                .closing(invalid_payload())
            });
        }
    }
    cases
}

fn valid_fragmented() -> Vec<Case> {
    let hello = "Hello-µ@ßöäüàá-UTF-8!!";
    let (first, second) = ("Hello-µ@ßöä", "üàá-UTF-8!!");
    let echoed = "The message is echoed.";
    let mut invalid = KOSME.to_vec();
    invalid.extend_from_slice(b"\xed\xa0\x80edited");
    vec![
        case("6.1.1", "Send a text message of length 0.", echoed)
            .send(text(""))
            .expect(vec![echo_text("")]),
        case(
            "6.1.2",
            "Send a text message of 3 empty fragments.",
            echoed,
        )
        .send(text("").fin(false))
        .send(frame(CONT, "").fin(false))
        .send(frame(CONT, ""))
        .expect(vec![echo_text("")]),
        case(
            "6.1.3",
            "Send a text message of 3 fragments, the first and last empty.",
            echoed,
        )
        .send(text("").fin(false))
        .send(frame(CONT, "middle frame payload").fin(false))
        .send(frame(CONT, ""))
        .expect(vec![echo_text("middle frame payload")]),
        case("6.2.1", "Send a valid UTF-8 text message in one frame.", echoed)
            .send(message(hello.as_bytes(), None))
            .expect(vec![echo_text(hello)]),
        case(
            "6.2.2",
            "Send a valid UTF-8 text message in 2 fragments, split on a code point boundary.",
            echoed,
        )
        .send(text(first).fin(false))
        .send(frame(CONT, second))
        .expect(vec![echo_text(hello)]),
        case(
            "6.2.3",
            "Send a valid UTF-8 text message in fragments of 1 byte (frames end inside code points).",
            echoed,
        )
        .send(message(hello.as_bytes(), Some(1)))
        .expect(vec![echo_text(hello)]),
        case(
            "6.2.4",
            "Send a valid UTF-8 text message (κόσμε) in fragments of 1 byte.",
            echoed,
        )
        .send(message(KOSME, Some(1)))
        .expect(vec![echo_text(KOSME)]),
        case(
            "6.3.1",
            "Send an invalid UTF-8 text message in one frame (a surrogate at byte 12).",
            "The connection is failed (1007): the payload is not valid UTF-8.",
        )
        .send(message(&invalid, None))
        .closing(invalid_payload()),
        case(
            "6.3.2",
            "Send an invalid UTF-8 text message in fragments of 1 byte.",
            "The connection is failed (1007): the payload is not valid UTF-8.",
        )
        .send(message(&invalid, Some(1)))
        .closing(invalid_payload()),
    ]
}

/// 6.4.x: three parts with a pause after each of the first two; the second makes the payload
/// invalid. As frames (6.4.1, 6.4.2) or as pieces of one frame (6.4.3, 6.4.4).
fn fail_fast() -> Vec<Case> {
    let mut payload = KOSME.to_vec();
    payload.extend_from_slice(b"\xf4\x90\x80\x80edited");
    let parts_a = [&payload[..11], &payload[11..15], &payload[15..]];
    let parts_b = [&payload[..12], &payload[12..13], &payload[13..]];
    let expectation = "The first part is accepted (still open after pause A); the connection is failed (1007) on the second, invalid part, before pause B ends (fail-fast); failing only at the end of the message is non-strict.";
    let mut cases = Vec::new();
    for (id, parts, as_frames) in [
        ("6.4.1", parts_a, true),
        ("6.4.2", parts_b, true),
        ("6.4.3", parts_a, false),
        ("6.4.4", parts_b, false),
    ] {
        let how = if as_frames {
            "3 frames"
        } else {
            "3 pieces of one frame"
        };
        let mut c = case(
            id,
            &format!(
                "Send an invalid UTF-8 text message in {how}, pausing after the first and the second; the second part makes it invalid (it ends in {}).",
                Payload::Bytes(parts[1].to_vec()).words()
            ),
            expectation,
        )
        .expect(vec![Expected::Timeout("A")])
        .or_non_strict(vec![Expected::Timeout("A"), Expected::Timeout("B")])
        .closing(invalid_payload());
        let steps: Vec<Step> = if as_frames {
            vec![
                text_bytes(parts[0]).fin(false),
                frame(CONT, Payload::Bytes(parts[1].to_vec())).fin(false),
                frame(CONT, Payload::Bytes(parts[2].to_vec())),
            ]
        } else {
            pieces_of_one_frame(&payload, parts[0].len(), parts[1].len())
        };
        for (i, step) in steps.into_iter().enumerate() {
            if i > 0 {
                c = c.send(Step::Pause(if i == 1 { "A" } else { "B" }));
            }
            c = c.send(step);
        }
        cases.push(c);
    }
    cases
}

fn text_bytes(bytes: &[u8]) -> Step {
    frame(wire_frame::TEXT, Payload::Bytes(bytes.to_vec()))
}

/// One masked text frame of `payload`, cut into raw writes after `first` and `first + second`
/// payload bytes.
fn pieces_of_one_frame(payload: &[u8], first: usize, second: usize) -> Vec<Step> {
    let bytes = wire_frame::encode(
        &Head::new(wire_frame::TEXT),
        [0x5a, 0xc3, 0x19, 0x77],
        payload,
    );
    let header = bytes.len() - payload.len();
    let cut_a = header + first;
    let cut_b = cut_a + second;
    vec![
        Step::Raw(bytes[..cut_a].to_vec()),
        Step::Raw(bytes[cut_a..cut_b].to_vec()),
        Step::Raw(bytes[cut_b..].to_vec()),
    ]
}
