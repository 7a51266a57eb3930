//! HTTP/1.1 chunked framing (RFC 9112, section 7.1), decoded and judged by us: a conforming
//! client library hides the framing, so a bad chunk size, a missing CRLF or bytes after the last
//! chunk would never be seen. Incremental: bytes in as they arrive, data out, the first framing
//! error kept with its offset in the framed bytes.

/// The longest chunk-size line (size, extensions) accepted: 4 KiB.
const MAX_SIZE_LINE: usize = 4096;
/// The most trailer bytes accepted: 16 KiB.
const MAX_TRAILERS: usize = 16 * 1024;

/// A break of the chunked framing, with the offset (in the framed bytes) where it was seen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at framed byte {offset}: {what}")]
pub struct FramingError {
    /// Offset of the offending byte in the framed body.
    pub offset: usize,
    /// What is wrong, in words.
    pub what: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex digits of a chunk size.
    Size,
    /// After the size: optional whitespace and `;extension`s up to CR.
    Extensions,
    /// A CR ended the size line: LF must follow.
    SizeLf,
    /// Inside a chunk's data: this many bytes left.
    Data(u64),
    /// After a chunk's data: CR must follow.
    DataCr,
    /// After a chunk's data and CR: LF must follow.
    DataLf,
    /// After the last chunk: trailer lines; `line_len` bytes of the current one so far.
    Trailer { line_len: usize, after_cr: bool },
    /// The framing is complete.
    Done,
    /// A framing error was seen: nothing more is decoded.
    Broken,
}

/// One chunk as framed by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMark {
    /// Its data length.
    pub size: u64,
    /// Where its data starts in the decoded body.
    pub decoded_offset: usize,
}

/// The decoder's state between reads.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: State,
    size: u64,
    size_digits: usize,
    size_line: usize,
    trailer_bytes: usize,
    /// Framed bytes consumed so far.
    consumed: usize,
    /// Decoded bytes produced so far.
    decoded: usize,
    /// Every chunk started so far (the last one, size 0, included).
    pub chunks: Vec<ChunkMark>,
    /// Bytes that arrived after the framing was complete.
    pub after_end: Vec<u8>,
    /// The first framing error.
    pub error: Option<FramingError>,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder {
            state: State::Size,
            size: 0,
            size_digits: 0,
            size_line: 0,
            trailer_bytes: 0,
            consumed: 0,
            decoded: 0,
            chunks: Vec::new(),
            after_end: Vec::new(),
            error: None,
        }
    }
}

impl ChunkedDecoder {
    /// Whether the last chunk and the trailers have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Whether a framing error was seen.
    pub fn is_broken(&self) -> bool {
        self.state == State::Broken
    }

    /// Whether the framing stands between two chunks (nothing of a chunk half read).
    pub fn at_boundary(&self) -> bool {
        matches!(self.state, State::Size) && self.size_digits == 0 && self.size_line == 0
    }

    /// Feeds framed bytes; appends the decoded data to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut at = 0;
        while at < input.len() {
            let byte = input[at];
            match self.state {
                State::Broken => return,
                State::Done => {
                    self.after_end.extend_from_slice(&input[at..]);
                    return;
                }
                State::Data(left) => {
                    let take = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(input.len() - at);
                    out.extend_from_slice(&input[at..at + take]);
                    self.decoded += take;
                    self.consumed += take;
                    at += take;
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data(left)
                    };
                    continue;
                }
                _ => self.step(byte),
            }
            self.consumed += 1;
            at += 1;
        }
    }

    fn fail(&mut self, what: String) {
        if self.error.is_none() {
            self.error = Some(FramingError {
                offset: self.consumed,
                what,
            });
        }
        self.state = State::Broken;
    }

    fn step(&mut self, byte: u8) {
        match self.state {
            State::Size => self.size_byte(byte),
            State::Extensions => {
                self.size_line += 1;
                if byte == b'\r' {
                    self.state = State::SizeLf;
                } else if byte == b'\n' {
                    self.fail("a bare LF ends the chunk-size line (CRLF expected)".into());
                } else if self.size_line > MAX_SIZE_LINE {
                    self.fail(format!("a chunk-size line longer than {MAX_SIZE_LINE} bytes"));
                } else if byte.is_ascii_control() && byte != b'\t' {
                    self.fail(format!("control byte {} in a chunk extension", hex(byte)));
                }
            }
            State::SizeLf => {
                if byte != b'\n' {
                    return self.fail(format!("{} after CR in a chunk-size line", hex(byte)));
                }
                self.start_chunk();
            }
            State::DataCr => match byte {
                b'\r' => self.state = State::DataLf,
                b'\n' => self.fail("a bare LF after a chunk's data (CRLF expected)".into()),
                other => self.fail(format!(
                    "{} where the CRLF after a chunk's data belongs (the chunk is longer than its size says)",
                    hex(other)
                )),
            },
            State::DataLf => {
                if byte != b'\n' {
                    return self.fail(format!("{} after the CR ending a chunk's data", hex(byte)));
                }
                self.state = State::Size;
            }
            State::Trailer { line_len, after_cr } => self.trailer_byte(byte, line_len, after_cr),
            State::Data(_) | State::Done | State::Broken => {}
        }
    }

    fn size_byte(&mut self, byte: u8) {
        self.size_line += 1;
        if let Some(digit) = (byte as char).to_digit(16) {
            if self.size_digits >= 16 {
                return self.fail("a chunk size of more than 16 hex digits".into());
            }
            self.size = self.size * 16 + u64::from(digit);
            self.size_digits += 1;
            return;
        }
        if self.size_digits == 0 {
            return self.fail(format!(
                "{} where a chunk size (hex digits) belongs",
                hex(byte)
            ));
        }
        match byte {
            b'\r' => self.state = State::SizeLf,
            b';' | b' ' | b'\t' => self.state = State::Extensions,
            b'\n' => self.fail("a bare LF ends the chunk-size line (CRLF expected)".into()),
            other => self.fail(format!("{} in a chunk size", hex(other))),
        }
    }

    fn start_chunk(&mut self) {
        self.chunks.push(ChunkMark {
            size: self.size,
            decoded_offset: self.decoded,
        });
        self.state = if self.size == 0 {
            State::Trailer {
                line_len: 0,
                after_cr: false,
            }
        } else {
            State::Data(self.size)
        };
        self.size = 0;
        self.size_digits = 0;
        self.size_line = 0;
    }

    fn trailer_byte(&mut self, byte: u8, line_len: usize, after_cr: bool) {
        self.trailer_bytes += 1;
        if self.trailer_bytes > MAX_TRAILERS {
            return self.fail(format!("trailers longer than {MAX_TRAILERS} bytes"));
        }
        self.state = match (after_cr, byte) {
            (true, b'\n') if line_len == 0 => State::Done,
            (true, b'\n') => State::Trailer {
                line_len: 0,
                after_cr: false,
            },
            (true, other) => {
                return self.fail(format!("{} after CR in the trailers", hex(other)));
            }
            (false, b'\r') => State::Trailer {
                line_len,
                after_cr: true,
            },
            (false, b'\n') => {
                return self.fail("a bare LF in the trailers (CRLF expected)".into());
            }
            (false, _) => State::Trailer {
                line_len: line_len + 1,
                after_cr: false,
            },
        };
    }

    /// What is unfinished when the connection ends now, in words; `None` when the framing is
    /// complete or broken already.
    pub fn unfinished(&self) -> Option<String> {
        match self.state {
            State::Done | State::Broken => None,
            State::Size if self.at_boundary() => {
                Some("the connection ended without the last chunk (0 CRLF CRLF)".into())
            }
            State::Data(left) => Some(format!(
                "the connection ended inside a chunk, {left} bytes short"
            )),
            State::Trailer { .. } => {
                Some("the connection ended in the trailers (the final CRLF missing)".into())
            }
            _ => Some("the connection ended inside a chunk's framing".into()),
        }
    }
}

fn hex(byte: u8) -> String {
    match byte {
        b'\r' => "CR".into(),
        b'\n' => "LF".into(),
        0x21..=0x7e => format!("{:?}", byte as char),
        other => format!("byte 0x{other:02x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(pieces: &[&[u8]]) -> (ChunkedDecoder, Vec<u8>) {
        let mut decoder = ChunkedDecoder::default();
        let mut out = Vec::new();
        for piece in pieces {
            decoder.feed(piece, &mut out);
        }
        (decoder, out)
    }

    #[test]
    fn well_framed_chunks_decode_whatever_the_cuts() {
        let framed = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-t: 1\r\n\r\n";
        for cut in 0..framed.len() {
            let (decoder, out) = decode(&[&framed[..cut], &framed[cut..]]);
            assert_eq!(out, b"hello, world", "cut at {cut}");
            assert!(decoder.is_done() && decoder.error.is_none(), "cut at {cut}");
            assert_eq!(decoder.chunks.len(), 3);
            assert_eq!(decoder.chunks[1].decoded_offset, 5);
        }
        let (decoder, _) = decode(&[b"A\r\n0123456789\r\n0\r\n\r\n"]);
        assert!(decoder.is_done());
    }

    #[test]
    fn framing_errors_are_named_with_their_offset() {
        let cases: [(&[u8], &str, usize); 6] = [
            (b"zz\r\nab\r\n", "where a chunk size", 0),
            (b"2\nab\r\n", "bare LF ends the chunk-size line", 1),
            (b"2\r\nabc\r\n", "longer than its size says", 5),
            (b"2\r\nab\n", "bare LF after a chunk's data", 5),
            (b"11111111111111111\r\n", "more than 16 hex digits", 16),
            (b"0\r\n\n", "bare LF in the trailers", 3),
        ];
        for (framed, words, offset) in cases {
            let (decoder, _) = decode(&[framed]);
            let error = decoder.error.clone().expect("an error");
            assert!(error.what.contains(words), "{error}");
            assert_eq!(error.offset, offset, "{error}");
            assert!(decoder.is_broken());
        }
    }

    #[test]
    fn bytes_after_the_last_chunk_and_unfinished_ends_are_seen() {
        let (decoder, out) = decode(&[b"1\r\na\r\n0\r\n\r\ndata: late\n"]);
        assert_eq!(out, b"a");
        assert_eq!(decoder.after_end, b"data: late\n");
        assert!(decoder.unfinished().is_none());
        let (decoder, _) = decode(&[b"4\r\nab"]);
        assert!(decoder.unfinished().unwrap().contains("2 bytes short"));
        let (decoder, _) = decode(&[b"1\r\na\r\n"]);
        assert!(
            decoder
                .unfinished()
                .unwrap()
                .contains("without the last chunk")
        );
        let (decoder, _) = decode(&[b"0\r\n"]);
        assert!(decoder.unfinished().unwrap().contains("trailers"));
    }
}
