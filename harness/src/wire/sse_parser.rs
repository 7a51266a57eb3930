//! A lean, incremental parser of `text/event-stream` (the WHATWG "interpreting an event stream"
//! rules): bytes in, events out, no allocation per event.
//!
//! - Lines end with LF, CR or CRLF, a CRLF split across two chunks included.
//! - `event`, `data`, `id` and `retry` fields; other fields and `:` comments are ignored; a line
//!   without a colon is a field with an empty value; one space after the colon is dropped.
//! - Multi-line data is joined with LF; an event with no data is not dispatched (its type and
//!   retry are dropped, its id is kept).
//! - The last event ID carries over: an event without an `id` field has the previous one, and an
//!   `id` field without value clears it. An `id` holding NUL is ignored.
//! - A field, or a UTF-8 character, split across chunks is reassembled: lines are decoded only
//!   once complete (invalid UTF-8 becomes U+FFFD, as browsers do); a leading BOM is dropped.
//! - `retry` (ASCII digits only) is reported with the event of the block it came in (as
//!   eventsource-stream, the replay's parser before this one, did: snapshots keep their meaning).
//!
//! Buffers are reused from event to event: a complete line inside a chunk is read in place; only
//! the unfinished tail of a chunk is copied. Work is linear in the bytes received: no byte is
//! scanned twice, however a line is split across chunks.
//!
//! Memory is bounded: a line, or an event's data, longer than the parser's limit (16 MiB unless
//! [`SseParser::with_limit`] says otherwise) stops the parser with [`EventTooLarge`]; it then holds
//! nothing and ignores the rest of the stream. Both the replay driver (`run`) and the load workers
//! (`stream`) parse with it.

use std::borrow::Cow;

use super::DEFAULT_MAX_EVENT_SIZE;

/// A line or an event's data longer than the parser's limit: the stream cannot be read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("event too large: a line or an event of more than {limit} bytes")]
pub struct EventTooLarge {
    /// The limit, in bytes.
    pub limit: usize,
}

/// One dispatched event, borrowed from the parser until the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// The event type (`message` when the stream gave none).
    pub event: &'a str,
    /// The data lines, joined with LF.
    pub data: &'a str,
    /// The last event ID in force (carried over from earlier events).
    pub id: &'a str,
    /// A `retry` field in this event's block, in milliseconds.
    pub retry: Option<u64>,
}

/// The parser's state between chunks.
#[derive(Debug)]
pub struct SseParser {
    /// The longest line, and the most data of one event, held.
    limit: usize,
    /// A line or an event went past `limit`: the rest of the stream is ignored.
    too_large: bool,
    /// The unfinished line at the end of the previous chunk.
    partial: Vec<u8>,
    /// The previous chunk ended with CR: a LF starting this one belongs to it.
    after_cr: bool,
    /// The first bytes were seen (the BOM check is done).
    started: bool,
    /// Bytes of a possible BOM seen at the very start, when the first chunk was shorter.
    bom: Vec<u8>,
    /// The event type buffer.
    event: String,
    /// The data buffer (bytes: decoded when the event is dispatched).
    data: Vec<u8>,
    /// The last event ID buffer.
    id: String,
    /// `retry` of the current block.
    retry: Option<u64>,
    /// Scratch for data that is not valid UTF-8.
    lossy: String,
}

const BOM: &[u8] = "\u{feff}".as_bytes();

impl Default for SseParser {
    fn default() -> Self {
        SseParser::new()
    }
}

impl SseParser {
    /// A parser at the start of a stream, holding at most 16 MiB per line and per event.
    pub fn new() -> SseParser {
        SseParser::with_limit(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A parser that refuses a line, or an event's data, longer than `limit` bytes.
    pub fn with_limit(limit: usize) -> SseParser {
        SseParser {
            limit,
            too_large: false,
            partial: Vec::new(),
            after_cr: false,
            started: false,
            bom: Vec::new(),
            event: String::new(),
            data: Vec::new(),
            id: String::new(),
            retry: None,
            lossy: String::new(),
        }
    }

    /// The last event ID in force (what a reconnection would send as `Last-Event-ID`).
    #[cfg(test)]
    pub fn last_event_id(&self) -> &str {
        &self.id
    }

    /// Why the parser stopped, if a line or an event went past its limit.
    pub fn too_large(&self) -> Option<EventTooLarge> {
        self.too_large
            .then_some(EventTooLarge { limit: self.limit })
    }

    /// Parses `chunk`, calling `emit` for every event it completes (the events before a line or
    /// event that is too large included). Fails once past the limit, for this chunk and after.
    pub fn try_feed(
        &mut self,
        chunk: &[u8],
        emit: impl FnMut(EventRef<'_>),
    ) -> Result<usize, EventTooLarge> {
        let count = self.feed(chunk, emit);
        match self.too_large() {
            Some(error) => Err(error),
            None => Ok(count),
        }
    }

    /// Parses `chunk`, calling `emit` for every event it completes. Returns how many were.
    /// Past the limit it stops (see [`SseParser::too_large`]) and ignores every later chunk.
    pub fn feed(&mut self, chunk: &[u8], mut emit: impl FnMut(EventRef<'_>)) -> usize {
        if self.too_large {
            return 0;
        }
        let mut chunk = chunk;
        if !self.started {
            // Drop a BOM, which may itself be split across the first chunks.
            let take = (BOM.len() - self.bom.len()).min(chunk.len());
            self.bom.extend_from_slice(&chunk[..take]);
            if !BOM.starts_with(&self.bom) {
                self.started = true;
                let seen = std::mem::take(&mut self.bom);
                let seen_before = seen.len() - take;
                // What was held back is ordinary stream content.
                let mut count = 0;
                if seen_before > 0 {
                    count += self.feed_started(&seen[..seen_before], &mut emit);
                }
                return count + self.feed_started(chunk, &mut emit);
            }
            chunk = &chunk[take..];
            if self.bom.len() < BOM.len() {
                return 0;
            }
            self.started = true;
            self.bom = Vec::new();
        }
        self.feed_started(chunk, &mut emit)
    }

    fn feed_started(&mut self, mut chunk: &[u8], emit: &mut impl FnMut(EventRef<'_>)) -> usize {
        let mut count = 0;
        if self.too_large {
            return count;
        }
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while let Some(end) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            let crlf = chunk[end] == b'\r';
            let line_end = end;
            let mut next = end + 1;
            if crlf {
                match chunk.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            if self.partial.len() + line_end > self.limit {
                self.overflow();
                return count;
            }
            if self.partial.is_empty() {
                count += usize::from(self.line(&chunk[..line_end], emit));
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&chunk[..line_end]);
                count += usize::from(self.line(&line, emit));
                line.clear();
                self.partial = line;
            }
            if self.too_large {
                self.overflow(); // frees the line buffer handed back above
                return count;
            }
            chunk = &chunk[next..];
        }
        if self.partial.len() + chunk.len() > self.limit {
            self.overflow();
            return count;
        }
        self.partial.extend_from_slice(chunk);
        count
    }

    /// Stops the parser: past the limit, the stream cannot be read on. Frees what it held.
    fn overflow(&mut self) {
        self.too_large = true;
        self.partial = Vec::new();
        self.data = Vec::new();
        self.lossy = String::new();
    }

    /// Interprets one complete line; true when it dispatched an event.
    fn line(&mut self, line: &[u8], emit: &mut impl FnMut(EventRef<'_>)) -> bool {
        if line.is_empty() {
            return self.dispatch(emit);
        }
        if line[0] == b':' {
            return false;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.data.len() + value.len() > self.limit {
                    self.overflow();
                    return false;
                }
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(&String::from_utf8_lossy(value));
            }
            b"id" if !value.contains(&0) => {
                self.id.clear();
                self.id.push_str(&String::from_utf8_lossy(value));
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry = std::str::from_utf8(value)
                    .ok()
                    .and_then(|digits| digits.parse().ok());
            }
            _ => {}
        }
        false
    }

    fn dispatch(&mut self, emit: &mut impl FnMut(EventRef<'_>)) -> bool {
        let retry = self.retry.take();
        if self.data.is_empty() {
            self.event.clear();
            return false;
        }
        let data = &self.data[..self.data.len() - 1];
        let data = match std::str::from_utf8(data) {
            Ok(text) => text,
            Err(_) => {
                self.lossy.clear();
                if let Cow::Owned(text) = String::from_utf8_lossy(data) {
                    self.lossy = text;
                }
                self.lossy.as_str()
            }
        };
        emit(EventRef {
            event: if self.event.is_empty() {
                "message"
            } else {
                &self.event
            },
            data,
            id: &self.id,
            retry,
        });
        self.data.clear();
        self.event.clear();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    struct Owned {
        event: String,
        data: String,
        id: String,
        retry: Option<u64>,
    }

    fn owned(e: EventRef<'_>) -> Owned {
        Owned {
            event: e.event.into(),
            data: e.data.into(),
            id: e.id.into(),
            retry: e.retry,
        }
    }

    fn ev(event: &str, data: &str, id: &str, retry: Option<u64>) -> Owned {
        Owned {
            event: event.into(),
            data: data.into(),
            id: id.into(),
            retry,
        }
    }

    fn parse_chunks(chunks: &[&[u8]]) -> Vec<Owned> {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for chunk in chunks {
            let n = parser.feed(chunk, |e| out.push(owned(e)));
            assert!(n <= out.len());
        }
        out
    }

    /// Parses `stream` whole, then split at every byte offset, then one byte at a time: the
    /// events must be the same every way.
    fn parse(stream: &[u8]) -> Vec<Owned> {
        let whole = parse_chunks(&[stream]);
        for cut in 0..=stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(parse_chunks(&[a, b]), whole, "split at {cut}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(parse_chunks(&bytes), whole, "byte by byte");
        whole
    }

    #[test]
    fn fields_events_and_comments() {
        let events = parse(
            b": heartbeat\n\ndata: line one\ndata: line two\n\nevent: tick\nid: 7\nretry: 1500\ndata: {\"n\":1}\n\n",
        );
        assert_eq!(
            events,
            vec![
                ev("message", "line one\nline two", "", None),
                ev("tick", "{\"n\":1}", "7", Some(1500)),
            ]
        );
    }

    #[test]
    fn every_line_ending() {
        let lf = parse(b"event: a\ndata: 1\n\ndata: 2\n\n");
        let cr = parse(b"event: a\rdata: 1\r\rdata: 2\r\r");
        let crlf = parse(b"event: a\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n");
        let mixed = parse(b"event: a\r\ndata: 1\r\n\rdata: 2\n\r\n");
        let want = vec![ev("a", "1", "", None), ev("message", "2", "", None)];
        assert_eq!(lf, want);
        assert_eq!(cr, want);
        assert_eq!(crlf, want);
        assert_eq!(mixed, want);
        // A CR then a LF in the next chunk is one line end, not two (no empty line between).
        assert_eq!(
            parse_chunks(&[b"data: x\r", b"\ndata: y\r\n\r\n"]),
            vec![ev("message", "x\ny", "", None)]
        );
    }

    #[test]
    fn the_last_event_id_carries_over_and_can_be_cleared() {
        let events = parse(b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: x\0y\ndata: d\n\n");
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["1", "1", "", ""]);
        let mut parser = SseParser::new();
        parser.feed(b"id: 42\n\n", |_| panic!("no data, no event"));
        assert_eq!(parser.last_event_id(), "42");
    }

    #[test]
    fn values_colons_spaces_and_unknown_fields() {
        let events = parse(
            b"data:no space\n\ndata:  two spaces\n\ndata\n\ndata: a:b\n\nfoo: bar\ndata: x\n\nevent\ndata: y\n\n",
        );
        let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, ["no space", " two spaces", "", "a:b", "x", "y"]);
        assert_eq!(events[5].event, "message");
    }

    #[test]
    fn blocks_without_data_dispatch_nothing_and_reset_the_type() {
        let events = parse(b"event: a\nretry: 5\n\ndata: b\n\n");
        assert_eq!(events, vec![ev("message", "b", "", None)]);
        // An invalid retry is ignored.
        let events = parse(b"retry: 1x\ndata: c\n\nretry: +3\ndata: d\n\n");
        assert!(events.iter().all(|e| e.retry.is_none()), "{events:?}");
        // A stream ending without an empty line leaves its last block undispatched.
        assert!(parse(b"data: unfinished\n").is_empty());
    }

    #[test]
    fn utf8_split_across_chunks_and_bom() {
        let stream = "\u{feff}event: caf\u{e9}\ndata: \u{1f600} \u{20ac}\n\n";
        // `parse` splits inside the BOM, the e-acute, the emoji and the euro sign.
        let events = parse(stream.as_bytes());
        assert_eq!(
            events,
            vec![ev("caf\u{e9}", "\u{1f600} \u{20ac}", "", None)]
        );
        // Only a leading BOM is dropped; bytes that merely start like one are content.
        let events = parse(b"\xef\xbbdata: z\n\n");
        assert_eq!(events.len(), 0, "an unknown field, no data");
        let events = parse(b"\xefdata\n\ndata: w\n\n");
        assert_eq!(events, vec![ev("message", "w", "", None)]);
        // Invalid UTF-8 becomes U+FFFD.
        let events = parse(b"data: a\xffb\n\n");
        assert_eq!(events, vec![ev("message", "a\u{fffd}b", "", None)]);
    }

    #[test]
    fn many_events_in_one_chunk_and_one_event_over_many() {
        let mut stream = Vec::new();
        for n in 1..=100 {
            stream.extend_from_slice(
                format!("event: tick\nid: {n}\ndata: {{\"n\":{n},\"ts_us\":1}}\n\n").as_bytes(),
            );
        }
        let mut parser = SseParser::new();
        let mut ids = Vec::new();
        assert_eq!(
            parser.feed(&stream, |e| ids.push(e.id.parse::<u32>().unwrap())),
            100
        );
        assert_eq!(ids, (1..=100).collect::<Vec<_>>());
        let events = parse_chunks(&stream.chunks(7).collect::<Vec<_>>());
        assert_eq!(events.len(), 100);
        assert_eq!(
            events[99],
            ev("tick", "{\"n\":100,\"ts_us\":1}", "100", None)
        );
    }

    #[test]
    fn a_line_or_an_event_past_the_limit_stops_the_parser() {
        let too_large = Err(EventTooLarge { limit: 16 });
        // A line that never ends, fed in pieces: at the limit it is kept, past it refused.
        let mut parser = SseParser::with_limit(16);
        assert_eq!(parser.try_feed(b"data: 01234", |_| panic!()), Ok(0));
        assert_eq!(parser.try_feed(b"56789", |_| panic!()), Ok(0));
        assert_eq!(parser.try_feed(b"a", |_| panic!()), too_large);
        assert_eq!(parser.partial.capacity(), 0, "what it held is freed");
        // Once stopped, the rest of the stream is ignored.
        assert_eq!(parser.try_feed(b"\n\ndata: x\n\n", |_| panic!()), too_large);
        assert_eq!(parser.too_large(), Some(EventTooLarge { limit: 16 }));

        // A complete line past the limit inside one chunk; the events before it still count.
        let mut parser = SseParser::with_limit(16);
        let mut got = Vec::new();
        let fed = parser.try_feed(b"data: ok\n\n: 0123456789abcdef\n\n", |e| {
            got.push(e.data.to_string())
        });
        assert_eq!((fed, got), (too_large, vec!["ok".to_string()]));

        // Short data lines that add up past the limit.
        let mut parser = SseParser::with_limit(16);
        let fed = parser.try_feed(b"data: 0123456789\ndata: 0123456789\n\n", |_| panic!());
        assert_eq!(fed, too_large);

        // A line and an event of exactly the limit pass.
        let mut parser = SseParser::with_limit(16);
        let mut got = Vec::new();
        let fed = parser.try_feed(b"data:0123456789a\ndata:abcd\n\n", |e| {
            got.push(e.data.to_string())
        });
        assert_eq!(fed, Ok(1));
        assert_eq!(got, ["0123456789a\nabcd"]);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_within_the_limit() {
        // A small xorshift generator: the same bytes every run.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"data:event:id:retry: \r\n\n\xef\xbb\xbf\xff0123456789";
        for _ in 0..200 {
            let mut parser = SseParser::with_limit(64);
            for _ in 0..20 {
                let len = (next() % 40) as usize;
                let chunk: Vec<u8> = (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect();
                let _ = parser.try_feed(&chunk, |e| assert!(e.data.len() <= 64 * 3));
                assert!(parser.partial.len() <= 64 && parser.data.len() <= 65);
            }
        }
    }
}
