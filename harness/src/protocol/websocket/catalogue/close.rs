//! Category 7: close handling. The harness starts the closing handshake (with and without a
//! payload, a 1-byte payload, reasons up to and past 123 bytes, an invalid UTF-8 reason, valid
//! and invalid codes) and sends data after its close; the server must answer with the right
//! code (a wrong one fails these cases, as in Autobahn) and ignore what follows the close.

use super::super::frame::{CONTINUATION as CONT, PING, TEXT};
use super::super::model::{Case, CloseExpect, Payload};
use super::{case, close_frame, echo_text, frame, text};

/// The codes of 7.7.x: valid, the server answers with 1000 or the same code.
const VALID_CODES: [u16; 13] = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
];

/// The codes of 7.9.x: invalid on the wire, the server answers 1002 or drops TCP.
const INVALID_CODES: [u16; 9] = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];

/// The harness closes first; the server answers with one of `codes`.
fn we_close(codes: &[u16], require_clean: bool) -> CloseExpect {
    CloseExpect {
        closed_by_me: true,
        codes: codes.to_vec(),
        require_clean,
        wrong_endpoint_fatal: false,
        wrong_code_fatal: true,
    }
}

/// A close-handling case: the harness sends its own close frames.
fn closing_case(id: &str, description: &str, expectation: &str, close: CloseExpect) -> Case {
    let mut c = case(id, description, expectation).closing(close);
    c.suppress_close = true;
    c
}

/// Category 7.
pub(super) fn cases() -> Vec<Case> {
    let mut cases = basic();
    cases.extend(payloads());
    for (i, code) in VALID_CODES.into_iter().enumerate() {
        cases.push(
            closing_case(
                &format!("7.7.{}", i + 1),
                &format!("Send a close with the valid code {code}."),
                "A clean close, the server answering with 1000 or the same code.",
                we_close(&[1000, code], true),
            )
            .send(close_frame(code, b"")),
        );
    }
    for (i, code) in INVALID_CODES.into_iter().enumerate() {
        cases.push(
            closing_case(
                &format!("7.9.{}", i + 1),
                &format!("Send a close with the invalid code {code}."),
                "A close with 1002 (protocol error), or a TCP drop.",
                we_close(&[1002], false),
            )
            .send(close_frame(code, b"")),
        );
    }
    for (id, code) in [("7.13.1", 5000u16), ("7.13.2", 65535)] {
        let mut c = closing_case(
            id,
            &format!("Send a close with the code {code}."),
            "Undefined by the RFC: recorded for information.",
            we_close(&[1000, code, 1002], false),
        )
        .send(close_frame(code, b""));
        c.informational = true;
        cases.push(c);
    }
    cases
}

fn basic() -> Vec<Case> {
    let hello = "Hello World!";
    let normal = || we_close(&[1000], true);
    let mut first = case(
        "7.1.1",
        "Send a text message, then close when it is echoed.",
        "The message echoed, then a clean close with 1000.",
    )
    .send(text(hello))
    .expect(vec![echo_text(hello)]);
    first.close = normal();
    let mut big = closing_case(
        "7.1.6",
        "Send a 256 KiB text message, a small one, a close and a ping, back to back.",
        "Left to the implementation: the small message may or may not come back before the close; recorded for information.",
        normal(),
    )
    .send(frame(TEXT, Payload::Repeat(b"BAsd7&jh23", 256 * 1024)))
    .send(text(hello))
    .send(close_frame(1000, b""))
    .send(frame(PING, ""))
    .expect(vec![echo_text(hello)])
    .or_non_strict(Vec::new());
    big.informational = true;
    big.volume = 256 * 1024;
    vec![
        first,
        closing_case(
            "7.1.2",
            "Send two close frames.",
            "A clean close with 1000; the second close is ignored.",
            normal(),
        )
        .send(close_frame(1000, b""))
        .send(frame(super::super::frame::CLOSE, "")),
        closing_case(
            "7.1.3",
            "Send a ping after the close frame.",
            "A clean close with 1000, no pong.",
            normal(),
        )
        .send(close_frame(1000, b""))
        .send(frame(PING, "")),
        closing_case(
            "7.1.4",
            "Send a text message after the close frame.",
            "A clean close with 1000; the message is ignored.",
            normal(),
        )
        .send(close_frame(1000, b""))
        .send(text(hello)),
        closing_case(
            "7.1.5",
            "Send a message's first fragment, a close, then its last fragment.",
            "A clean close with 1000.",
            normal(),
        )
        .send(text("fragment1").fin(false))
        .send(close_frame(1000, b""))
        .send(frame(CONT, "fragment2")),
        big,
    ]
}

fn payloads() -> Vec<Case> {
    let invalid_reason = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited";
    vec![
        closing_case(
            "7.3.1",
            "Send a close with an empty payload (no code, no reason).",
            "A clean close (1000 or no code).",
            we_close(&[1000], true),
        )
        .send(frame(super::super::frame::CLOSE, "")),
        closing_case(
            "7.3.2",
            "Send a close with a 1-byte payload.",
            "A close with 1002 (protocol error), or a TCP drop.",
            we_close(&[1002], false),
        )
        .send(frame(super::super::frame::CLOSE, "a")),
        closing_case(
            "7.3.3",
            "Send a close with the code 1000 and no reason.",
            "A clean close with 1000.",
            we_close(&[1000], true),
        )
        .send(close_frame(1000, b"")),
        closing_case(
            "7.3.4",
            "Send a close with the code 1000 and a reason.",
            "A clean close with 1000.",
            we_close(&[1000], true),
        )
        .send(close_frame(1000, b"Hello World!")),
        closing_case(
            "7.3.5",
            "Send a close with the code 1000 and a reason of 123 bytes (the most that fits).",
            "A clean close with 1000.",
            we_close(&[1000], true),
        )
        .send(close_frame(1000, &[b'*'; 123])),
        closing_case(
            "7.3.6",
            "Send a close with the code 1000 and a reason of 124 bytes (a payload of 126: too long for a control frame).",
            "A close with 1002 (protocol error), or a TCP drop.",
            we_close(&[1002], false),
        )
        .send(close_frame(1000, &[b'*'; 124])),
        closing_case(
            "7.5.1",
            "Send a close with the code 1000 and a reason that is not valid UTF-8.",
            "A close with 1002 or 1007, or a TCP drop.",
            we_close(&[1002, 1007], false),
        )
        .send(close_frame(1000, invalid_reason)),
    ]
}
