//! The decoded body of an event stream, as the cases read it: lines with their terminators and
//! arrival times, blocks of lines between blank lines, and the events a WHATWG parser
//! dispatches from them. Unlike `wire::sse_parser`, nothing is thrown away: a case can point at
//! the line that breaks its rule.

use std::borrow::Cow;

/// How a line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ending {
    /// `\n`.
    Lf,
    /// A lone `\r`.
    Cr,
    /// `\r\n`.
    CrLf,
}

impl Ending {
    /// As written in words.
    pub fn name(self) -> &'static str {
        match self {
            Ending::Lf => "LF",
            Ending::Cr => "CR",
            Ending::CrLf => "CRLF",
        }
    }
}

/// One line of the decoded body.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// Offset of its first byte in the body.
    pub start: usize,
    /// Offset just past its content (its terminator excluded).
    pub end: usize,
    /// Its terminator.
    pub ending: Ending,
    /// When its terminator arrived, in ms since the case started.
    pub at_ms: f64,
}

impl Line {
    /// Its content in `body`.
    pub fn text<'b>(&self, body: &'b [u8]) -> &'b [u8] {
        &body[self.start..self.end]
    }
}

/// Splits a growing body into lines, incrementally.
#[derive(Debug, Default)]
pub struct LineSplitter {
    /// The complete lines so far.
    pub lines: Vec<Line>,
    /// Where the unfinished line starts.
    line_start: usize,
    /// Where scanning goes on.
    scan: usize,
}

impl LineSplitter {
    /// Reads the bytes of `body` not yet scanned, which arrived at `at_ms`. A CR at the very end
    /// waits for the next bytes (it may be the first half of a CRLF).
    pub fn feed(&mut self, body: &[u8], at_ms: f64) {
        while self.scan < body.len() {
            let at = self.scan;
            let ending = match body[at] {
                b'\n' => Ending::Lf,
                b'\r' if at + 1 == body.len() => return,
                b'\r' if body[at + 1] == b'\n' => Ending::CrLf,
                b'\r' => Ending::Cr,
                _ => {
                    self.scan += 1;
                    continue;
                }
            };
            self.lines.push(Line {
                start: self.line_start,
                end: at,
                ending,
                at_ms,
            });
            self.scan = at + if ending == Ending::CrLf { 2 } else { 1 };
            self.line_start = self.scan;
        }
    }

    /// The stream ended: a CR waiting at the end is a line end.
    pub fn finish(&mut self, body: &[u8], at_ms: f64) {
        if self.scan < body.len() && body[self.scan] == b'\r' {
            self.lines.push(Line {
                start: self.line_start,
                end: self.scan,
                ending: Ending::Cr,
                at_ms,
            });
            self.scan += 1;
            self.line_start = self.scan;
        }
    }

    /// Offset where the unfinished last line starts (the body's length when there is none).
    pub fn tail_start(&self) -> usize {
        self.line_start
    }
}

/// The UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A line read as the WHATWG rules read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field<'b> {
    /// An empty line: dispatches the event.
    Blank,
    /// `:` and anything.
    Comment(&'b [u8]),
    /// `name: value` (one space after the colon dropped), or `name` alone (empty value).
    Named {
        /// The name, as bytes.
        name: &'b [u8],
        /// The value, as bytes.
        value: &'b [u8],
    },
}

/// Reads line `index` of `lines` (a BOM at the very start of the body is dropped).
pub fn field<'b>(body: &'b [u8], lines: &[Line], index: usize) -> Field<'b> {
    let line = &lines[index];
    let mut text = line.text(body);
    if line.start == 0 {
        text = text.strip_prefix(BOM).unwrap_or(text);
    }
    if text.is_empty() {
        return Field::Blank;
    }
    if text[0] == b':' {
        return Field::Comment(&text[1..]);
    }
    match text.iter().position(|&b| b == b':') {
        None => Field::Named {
            name: text,
            value: b"",
        },
        Some(colon) => {
            let value = &text[colon + 1..];
            Field::Named {
                name: &text[..colon],
                value: value.strip_prefix(b" ").unwrap_or(value),
            }
        }
    }
}

/// The lines between two blank lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Index of its first line.
    pub first: usize,
    /// Index of the blank line that ends it; `None` when the stream stopped before it.
    pub blank: Option<usize>,
    /// Its `data` lines, joined with LF; `None` when it has none (no event is dispatched).
    pub data: Option<String>,
    /// Its `event` field's value.
    pub event: Option<String>,
    /// Its `id` field's value (the last one, as bytes: it may hold NUL).
    pub id: Option<Vec<u8>>,
    /// Whether it holds a field or comment at all (blank lines alone make no block).
    pub has_fields: bool,
    /// When its first line arrived (ms).
    pub first_at_ms: f64,
    /// When its blank line arrived (ms).
    pub end_at_ms: Option<f64>,
}

impl Block {
    /// Its id as text (lossy), when it has one.
    pub fn id_text(&self) -> Option<Cow<'_, str>> {
        self.id.as_deref().map(String::from_utf8_lossy)
    }
}

/// Groups `lines` into blocks of fields (comment-only blocks included).
pub fn blocks(body: &[u8], lines: &[Line]) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for (index, line) in lines.iter().enumerate() {
        let parsed = field(body, lines, index);
        if parsed == Field::Blank {
            if let Some(mut block) = current.take() {
                block.blank = Some(index);
                block.end_at_ms = Some(line.at_ms);
                out.push(block);
            }
            continue;
        }
        let block = current.get_or_insert(Block {
            first: index,
            blank: None,
            data: None,
            event: None,
            id: None,
            has_fields: true,
            first_at_ms: line.at_ms,
            end_at_ms: None,
        });
        if let Field::Named { name, value } = parsed {
            let value_text = String::from_utf8_lossy(value);
            match name {
                b"data" => match &mut block.data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(&value_text);
                    }
                    None => block.data = Some(value_text.into_owned()),
                },
                b"event" => block.event = Some(value_text.into_owned()),
                b"id" => block.id = Some(value.to_vec()),
                _ => {}
            }
        }
    }
    out.extend(current);
    out
}

/// Whether `block` is an event a client dispatches (ended by a blank line, with data).
pub fn dispatched(block: &Block) -> bool {
    block.blank.is_some() && block.data.is_some()
}

/// How many events a client would have dispatched from `lines` (for the reader's stop rule).
pub fn count_events(body: &[u8], lines: &[Line]) -> usize {
    blocks(body, lines).iter().filter(|b| dispatched(b)).count()
}

/// `bytes` for a trace: UTF-8 kept, control characters and invalid bytes escaped (`\r`, `\n`,
/// `\0`, `\x85`, `\u{feff}`), clipped to `max` characters.
pub fn escape(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\0' => out.push_str("\\0"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control()
                    || c == '\u{feff}'
                    || ('\u{202a}'..='\u{202e}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c) =>
                {
                    out.push_str(&format!("\\u{{{:x}}}", c as u32));
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
        if out.chars().count() > max {
            break;
        }
    }
    if out.chars().count() > max {
        let clipped: String = out.chars().take(max).collect();
        return format!("{clipped}... ({} bytes)", bytes.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(pieces: &[&[u8]]) -> (Vec<u8>, Vec<Line>) {
        let mut body = Vec::new();
        let mut splitter = LineSplitter::default();
        for (n, piece) in pieces.iter().enumerate() {
            body.extend_from_slice(piece);
            splitter.feed(&body, n as f64);
        }
        splitter.finish(&body, pieces.len() as f64);
        (body, splitter.lines)
    }

    #[test]
    fn the_three_line_endings_and_a_crlf_split_across_reads() {
        let (body, lines) = split(&[b"a\r", b"\nb\rc\n\r"]);
        let endings: Vec<_> = lines.iter().map(|l| l.ending).collect();
        assert_eq!(endings, [Ending::CrLf, Ending::Cr, Ending::Lf, Ending::Cr]);
        assert_eq!(lines[0].text(&body), b"a");
        assert_eq!(lines[0].at_ms, 1.0, "the CRLF completed in the second read");
        assert_eq!(
            lines[3].at_ms, 2.0,
            "the last CR is a line end only at the end"
        );
    }

    #[test]
    fn fields_comments_and_blocks_as_whatwg_reads_them() {
        let text = b"\xEF\xBB\xBFdata: a\ndata:b\nid\n: keep\nevent: e\n\n: alone\n\ndata\nid: 7";
        let (body, lines) = split(&[text]);
        assert_eq!(
            field(&body, &lines, 0),
            Field::Named {
                name: b"data",
                value: b"a"
            }
        );
        assert_eq!(field(&body, &lines, 3), Field::Comment(b" keep"));
        let blocks = blocks(&body, &lines);
        assert_eq!(blocks.len(), 3);
        assert_eq!(blocks[0].data.as_deref(), Some("a\nb"));
        assert_eq!(blocks[0].id.as_deref(), Some(&b""[..]));
        assert_eq!(blocks[0].event.as_deref(), Some("e"));
        assert!(dispatched(&blocks[0]));
        assert!(!dispatched(&blocks[1]), "a comment-only block");
        assert_eq!(blocks[2].data.as_deref(), Some(""));
        assert!(!dispatched(&blocks[2]), "no blank line ended it");
        assert_eq!(count_events(&body, &lines), 1);
    }

    #[test]
    fn escaping_for_traces() {
        assert_eq!(escape(b"data: x\r\n", 80), "data: x\\r\\n");
        assert_eq!(
            escape(b"id: 1\0\xff\xEF\xBB\xBF", 80),
            "id: 1\\0\\xff\\u{feff}"
        );
        assert!(escape(&[b'a'; 300], 10).ends_with("... (300 bytes)"));
    }
}
