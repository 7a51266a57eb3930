//! What a WebSocket case is, as data: the steps it sends, the events it expects back (after
//! Autobahn|Testsuite: `OK` and `NON-STRICT` event lists, and the close expectation), and what a
//! run of it saw ([`Outcome`]).

use std::borrow::Cow;
use std::fmt;

use super::frame::{Head, preview};

/// A payload, held small: big ones are a pattern repeated to a length and made only when sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// These bytes.
    Bytes(Vec<u8>),
    /// `pattern` repeated (and cut) to `len` bytes.
    Repeat(&'static [u8], usize),
}

impl Payload {
    /// The bytes.
    pub fn bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Payload::Bytes(bytes) => Cow::Borrowed(bytes),
            Payload::Repeat(pattern, len) => {
                // Whole copies of the pattern (memcpy), then the cut: fast even unoptimised.
                let mut bytes = Vec::with_capacity(*len + pattern.len());
                while bytes.len() < *len {
                    bytes.extend_from_slice(pattern);
                }
                bytes.truncate(*len);
                Cow::Owned(bytes)
            }
        }
    }

    /// Its length.
    pub fn len(&self) -> usize {
        match self {
            Payload::Bytes(bytes) => bytes.len(),
            Payload::Repeat(_, len) => *len,
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `bytes` are this payload.
    pub fn equals(&self, bytes: &[u8]) -> bool {
        match self {
            Payload::Bytes(own) => own == bytes,
            Payload::Repeat(pattern, len) => {
                bytes.len() == *len
                    && bytes
                        .chunks(pattern.len().max(1))
                        .all(|chunk| chunk == &pattern[..chunk.len()])
            }
        }
    }

    /// A few words about it for expectations and traces.
    pub fn words(&self) -> String {
        if self.is_empty() {
            return "(empty)".into();
        }
        match self {
            Payload::Bytes(bytes) => preview(bytes),
            Payload::Repeat(pattern, len) => {
                format!("{} repeated to {len} bytes", preview(pattern))
            }
        }
    }
}

impl From<&str> for Payload {
    fn from(text: &str) -> Payload {
        Payload::Bytes(text.as_bytes().to_vec())
    }
}

impl From<&[u8]> for Payload {
    fn from(bytes: &[u8]) -> Payload {
        Payload::Bytes(bytes.to_vec())
    }
}

/// One thing a case does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Sends one frame, its bytes written in pieces of `chop` bytes when given.
    Frame {
        /// The header.
        head: Head,
        /// The payload.
        payload: Payload,
        /// Write size.
        chop: Option<usize>,
    },
    /// Sends frames in one write (Autobahn's "in one chop").
    Batch(Vec<(Head, Payload)>),
    /// Sends a message split into frames of `fragment` bytes (one frame when `None`).
    Message {
        /// Text or binary.
        text: bool,
        /// The payload.
        payload: Payload,
        /// Frame payload size.
        fragment: Option<usize>,
    },
    /// Sends raw bytes (a piece of a frame).
    Raw(Vec<u8>),
    /// Waits the settle time (Autobahn's `continueLater`), recording nothing; ends the steps
    /// when the connection ended meanwhile.
    Wait,
    /// Waits (Autobahn's one second, or less under a short case limit); when the connection is
    /// still open after it, records the event `timeout label`, else ends the steps.
    Pause(&'static str),
    /// Sends `count` messages of `len` bytes one after the other, each after the echo of the last
    /// (Autobahn 9.7/9.8); records one `message` event when all came back right.
    RoundTrips {
        /// Messages.
        count: usize,
        /// Payload size.
        len: usize,
        /// Binary rather than text.
        binary: bool,
    },
    /// Sends messages compressed with the agreed permessage-deflate, each after the echo of
    /// the last (Autobahn 12/13); records one `message` event when all came back right.
    DeflateRoundTrips(DeflateRun),
}

/// The messages of a permessage-deflate case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateRun {
    /// Messages.
    pub count: usize,
    /// Payload size of each.
    pub len: usize,
    /// Binary rather than text.
    pub binary: bool,
    /// The compressed payload sent in frames of this many bytes (one frame when `None`).
    pub fragment: Option<usize>,
    /// Where the payloads come from: consecutive slices, wrapping at the end.
    pub data: Corpus,
}

/// A test data set, held by reference (its bytes are not printed in debug output).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Corpus(pub &'static [u8]);

impl fmt::Debug for Corpus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Corpus({} bytes)", self.0.len())
    }
}

impl Corpus {
    /// The `len` bytes from `at` on, wrapping at the end; and where the next slice starts.
    pub fn slice(&self, at: usize, len: usize) -> (Vec<u8>, usize) {
        let data = self.0;
        if data.is_empty() {
            return (Vec::new(), 0);
        }
        let mut out = Vec::with_capacity(len);
        let mut at = at % data.len();
        while out.len() < len {
            let take = (len - out.len()).min(data.len() - at);
            out.extend_from_slice(&data[at..at + take]);
            at = (at + take) % data.len();
        }
        (out, at)
    }
}

/// Something the server did that a case compares with what it expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A whole message.
    Message {
        /// Text (else binary).
        text: bool,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// A ping and its payload.
    Ping(Vec<u8>),
    /// A pong and its payload.
    Pong(Vec<u8>),
    /// The connection was still open after the pause of this label.
    Timeout(&'static str),
    /// This many echoes in a row came back right (9.7/9.8).
    RoundTrips(usize),
    /// Something no expectation lists: a frame no conforming server sends (the words say what).
    Unexpected(String),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Message { text, payload } => write!(
                f,
                "{} message of {} bytes {}",
                if *text { "text" } else { "binary" },
                payload.len(),
                preview(payload)
            ),
            Event::Ping(payload) => write!(f, "ping {}", preview(payload)),
            Event::Pong(payload) => write!(f, "pong {}", preview(payload)),
            Event::Timeout(label) => write!(f, "still open after pause {label}"),
            Event::RoundTrips(count) => write!(f, "{count} echoes in a row, all right"),
            Event::Unexpected(words) => write!(f, "{words}"),
        }
    }
}

/// An event a case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// A message.
    Message {
        /// Text (else binary).
        text: bool,
        /// Payload.
        payload: Payload,
    },
    /// A pong with this payload.
    Pong(Payload),
    /// Still open after the pause of this label.
    Timeout(&'static str),
    /// This many echoes in a row, all right.
    RoundTrips(usize),
}

impl Expected {
    /// Whether `event` is this one.
    pub fn matches(&self, event: &Event) -> bool {
        match (self, event) {
            (
                Expected::Message { text, payload },
                Event::Message {
                    text: t,
                    payload: p,
                },
            ) => text == t && payload.equals(p),
            (Expected::Pong(payload), Event::Pong(p)) => payload.equals(p),
            (Expected::Timeout(label), Event::Timeout(l)) => label == l,
            (Expected::RoundTrips(count), Event::RoundTrips(c)) => count == c,
            _ => false,
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Message { text, payload } => write!(
                f,
                "{} message of {} bytes {}",
                if *text { "text" } else { "binary" },
                payload.len(),
                payload.words()
            ),
            Expected::Pong(payload) => write!(f, "pong {}", payload.words()),
            Expected::Timeout(label) => write!(f, "still open after pause {label}"),
            Expected::RoundTrips(count) => write!(f, "{count} echoes in a row, all right"),
        }
    }
}

/// Whether `received` is exactly the list `expected`.
pub fn same_events(received: &[Event], expected: &[Expected]) -> bool {
    received.len() == expected.len() && expected.iter().zip(received).all(|(e, r)| e.matches(r))
}

/// How the connection is to end (Autobahn's `expectedClose`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseExpect {
    /// The harness starts the closing handshake (else the server fails the connection).
    pub closed_by_me: bool,
    /// The close codes the server may send (the first is the one the harness sends).
    pub codes: Vec<u16>,
    /// A close handshake both ways is required (else dropping TCP is allowed too).
    pub require_clean: bool,
    /// The wrong endpoint closing fails the case itself (the UTF-8 cases: the server did not
    /// see the invalid payload).
    pub wrong_endpoint_fatal: bool,
    /// A close code outside `codes` fails the case (the close-handling cases of category 7).
    pub wrong_code_fatal: bool,
}

/// How a case ends after its steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Waits the settle time for the server, then fails the connection (Autobahn `killAfter`).
    Settle,
    /// Waits up to the case's time limit (the limits cases: `closeAfter(WAITSECS)`).
    Limit,
}

/// One case of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Dotted id after Autobahn (`6.4.1`).
    pub id: String,
    /// What it does.
    pub description: String,
    /// What a conforming server does, in words.
    pub expectation: String,
    /// What it sends.
    pub steps: Vec<Step>,
    /// The events that pass.
    pub ok: Vec<Expected>,
    /// The events that pass as `non_strict`, when any.
    pub non_strict: Option<Vec<Expected>>,
    /// How the connection is to end.
    pub close: CloseExpect,
    /// The harness does not close by itself when the events match (it sends its own close).
    pub suppress_close: bool,
    /// Recorded only: the RFC leaves the outcome open.
    pub informational: bool,
    /// How long it waits after its steps.
    pub finish: Finish,
    /// Bytes it moves each way, for its time limit.
    pub volume: usize,
    /// The permessage-deflate offers of its handshake, in order (none: no extension offered).
    pub deflate: Vec<super::deflate::Offer>,
}

/// What one run of a case saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The handshake failed: why.
    pub handshake_error: Option<String>,
    /// The events, in order.
    pub received: Vec<Event>,
    /// The harness sent the first close frame.
    pub closed_by_me: bool,
    /// The harness sent a close frame.
    pub sent_close: bool,
    /// The server's close frame, when it sent one: its code (`None` for an empty payload).
    pub remote_close: Option<Option<u16>>,
    /// The harness closed TCP because the server did not after the close handshake.
    pub dropped_by_me: bool,
    /// How the connection ended, in words (`closed by the server`, `reset: ...`).
    pub ended: Option<String>,
    /// The case ran past its time limit.
    pub timed_out: bool,
    /// The server accepted none of the extensions offered (the case is `unimplemented`).
    pub declined: bool,
    /// The server's extension reply breaks RFC 7692 (or accepts what was not offered): why.
    pub negotiation_error: Option<String>,
}

impl Outcome {
    /// Both close frames crossed (Autobahn's `wasClean`).
    pub fn was_clean(&self) -> bool {
        self.sent_close && self.remote_close.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_payload_is_made_and_compared_without_holding_it() {
        let payload = Payload::Repeat(b"abc", 7);
        assert_eq!(&payload.bytes()[..], b"abcabca");
        assert!(payload.equals(b"abcabca"));
        assert!(!payload.equals(b"abcabcb"));
        assert!(!payload.equals(b"abcabc"));
        assert!(Payload::Repeat(b"x", 0).equals(b""));
        assert_eq!(payload.words(), "\"abc\" repeated to 7 bytes");
    }

    #[test]
    fn corpus_slices_wrap_at_the_end() {
        let corpus = Corpus(b"abcde");
        assert_eq!(corpus.slice(0, 3), (b"abc".to_vec(), 3));
        assert_eq!(corpus.slice(3, 4), (b"deab".to_vec(), 2));
        assert_eq!(corpus.slice(4, 12), (b"eabcdeabcdea".to_vec(), 1));
        assert_eq!(format!("{corpus:?}"), "Corpus(5 bytes)");
    }
}
