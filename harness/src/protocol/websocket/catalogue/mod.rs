//! The case catalogue, after Autobahn|Testsuite's numbering so that results compare (its cases
//! read and their behaviour translated; nothing of its code is here): 1 framing, 2 pings and
//! pongs, 3 reserved bits, 4 opcodes, 5 fragmentation, 6 UTF-8, 7 close handling, 9 limits and
//! performance, 10 auto-fragmentation, 12 and 13 permessage-deflate (RFC 7692). Each category
//! file is a table of cases built with the helpers below.

mod close;
mod compression;
mod compression_data;
mod fragmentation;
mod framing;
mod limits;
mod utf8;
mod utf8_table;

use super::frame::{self, Head};
use super::model::{Case, CloseExpect, Expected, Finish, Payload, Step};

/// Every case, in catalogue order.
pub fn catalogue() -> Vec<Case> {
    let mut cases = framing::cases();
    cases.extend(fragmentation::cases());
    cases.extend(utf8::cases());
    cases.extend(close::cases());
    cases.extend(limits::cases());
    cases.extend(compression::cases());
    cases
}

/// The category of a case id, by its first component (Autobahn's names).
pub fn category_name(id: &str) -> &'static str {
    match id.split('.').next().unwrap_or("") {
        "1" => "Framing",
        "2" => "Pings/Pongs",
        "3" => "Reserved Bits",
        "4" => "Opcodes",
        "5" => "Fragmentation",
        "6" => "UTF-8 Handling",
        "7" => "Close Handling",
        "9" => "Limits/Performance",
        "10" => "Auto-Fragmentation",
        "12" => "WebSocket Compression (different payloads)",
        "13" => "WebSocket Compression (different parameters)",
        _ => "Other",
    }
}

/// A case that sends nothing yet, expects nothing, and closes normally.
fn case(id: &str, description: &str, expectation: &str) -> Case {
    Case {
        id: id.to_string(),
        description: description.to_string(),
        expectation: expectation.to_string(),
        steps: Vec::new(),
        ok: Vec::new(),
        non_strict: None,
        close: normal_close(),
        suppress_close: false,
        informational: false,
        finish: Finish::Settle,
        volume: 0,
        deflate: Vec::new(),
    }
}

impl Case {
    fn send(mut self, step: Step) -> Case {
        self.steps.push(step);
        self
    }

    fn expect(mut self, events: Vec<Expected>) -> Case {
        self.ok = events;
        self
    }

    fn or_non_strict(mut self, events: Vec<Expected>) -> Case {
        self.non_strict = Some(events);
        self
    }

    fn closing(mut self, close: CloseExpect) -> Case {
        self.close = close;
        self
    }
}

/// The harness closes with 1000 after the events; the server answers, cleanly.
fn normal_close() -> CloseExpect {
    CloseExpect {
        closed_by_me: true,
        codes: vec![1000],
        require_clean: true,
        wrong_endpoint_fatal: false,
        wrong_code_fatal: false,
    }
}

/// The server fails the connection: close `code`, or a TCP drop.
fn server_fails(code: u16) -> CloseExpect {
    CloseExpect {
        closed_by_me: false,
        codes: vec![code],
        require_clean: false,
        wrong_endpoint_fatal: false,
        wrong_code_fatal: false,
    }
}

/// A frame step (final, masked, no RSV).
fn frame(opcode: u8, payload: impl Into<Payload>) -> Step {
    Step::Frame {
        head: Head::new(opcode),
        payload: payload.into(),
        chop: None,
    }
}

fn text(payload: &str) -> Step {
    frame(frame::TEXT, payload)
}

impl Step {
    fn fin(mut self, fin: bool) -> Step {
        if let Step::Frame { head, .. } = &mut self {
            head.fin = fin;
        }
        self
    }

    fn rsv(mut self, rsv: u8) -> Step {
        if let Step::Frame { head, .. } = &mut self {
            head.rsv = rsv;
        }
        self
    }

    fn chop(mut self, size: usize) -> Step {
        if let Step::Frame { chop, .. } = &mut self {
            *chop = Some(size);
        }
        self
    }
}

/// Frames sent in one write.
fn batch(steps: Vec<Step>) -> Step {
    Step::Batch(
        steps
            .into_iter()
            .filter_map(|step| match step {
                Step::Frame { head, payload, .. } => Some((head, payload)),
                _ => None,
            })
            .collect(),
    )
}

/// A close frame with `code` and `reason` bytes.
fn close_frame(code: u16, reason: &[u8]) -> Step {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    frame(frame::CLOSE, Payload::Bytes(payload))
}

fn echo_text(payload: impl Into<Payload>) -> Expected {
    Expected::Message {
        text: true,
        payload: payload.into(),
    }
}

fn echo_binary(payload: impl Into<Payload>) -> Expected {
    Expected::Message {
        text: false,
        payload: payload.into(),
    }
}

fn pong(payload: impl Into<Payload>) -> Expected {
    Expected::Pong(payload.into())
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Payload {
        Payload::Bytes(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashSet};

    #[test]
    fn the_catalogue_has_autobahns_count_per_category_and_unique_ids() {
        let cases = catalogue();
        let mut per_category: BTreeMap<&str, usize> = BTreeMap::new();
        for case in &cases {
            *per_category
                .entry(case.id.split('.').next().unwrap())
                .or_default() += 1;
        }
        let want: BTreeMap<&str, usize> = [
            ("1", 16),
            ("2", 11),
            ("3", 7),
            ("4", 10),
            ("5", 20),
            ("6", 145),
            ("7", 37),
            ("9", 54),
            ("10", 1),
            ("12", 90),
            ("13", 126),
        ]
        .into_iter()
        .collect();
        assert_eq!(per_category, want);
        assert!(cases.len() >= 517, "{}", cases.len());
        let ids: HashSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids.len(), cases.len(), "ids are unique");
        for case in &cases {
            assert!(!case.steps.is_empty(), "{} sends something", case.id);
            assert!(!case.description.is_empty() && !case.expectation.is_empty());
            assert_ne!(category_name(&case.id), "Other");
        }
    }
}
