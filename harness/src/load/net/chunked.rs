//! An incremental decoder of an HTTP/1.1 response body's framing (chunked transfer coding,
//! `Content-Length`, or up to the close), handing the payload's slices on in place: the SSE load
//! path reads the socket itself so that a stream's events cost no copies, tasks or channels.

/// How the body is framed, from the response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// `Content-Length: n`.
    Length(u64),
    /// Until the server closes the connection.
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex size.
    Size { size: u64, digits: u8 },
    /// After the size: an extension or whitespace up to LF.
    SizeLine { size: u64 },
    /// In a chunk's data.
    Data { left: u64 },
    /// The CRLF after a chunk's data.
    DataEnd { cr: bool },
    /// Trailer lines after the last chunk; `empty` while the current line is empty so far.
    Trailer { empty: bool },
    /// Content-Length body.
    Length { left: u64 },
    /// Until close.
    Close,
    /// The body is complete.
    Done,
}

/// Decoder state between reads.
#[derive(Debug)]
pub(crate) struct Decoder {
    state: State,
}

/// The body's bytes do not follow its framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadFraming;

impl Decoder {
    /// A decoder for a body framed as `framing`.
    pub(crate) fn new(framing: Framing) -> Decoder {
        let state = match framing {
            Framing::Chunked => State::Size { size: 0, digits: 0 },
            Framing::Length(0) => State::Done,
            Framing::Length(left) => State::Length { left },
            Framing::Close => State::Close,
        };
        Decoder { state }
    }

    /// Whether the body is complete.
    pub(crate) fn done(&self) -> bool {
        self.state == State::Done
    }

    /// Whether the end of the connection is a proper end of the body.
    pub(crate) fn may_end(&self) -> bool {
        matches!(self.state, State::Done | State::Close)
    }

    /// Decodes `input`, handing every payload slice to `data` in order. Bytes after the end of
    /// the body are ignored.
    pub(crate) fn decode(
        &mut self,
        mut input: &[u8],
        mut data: impl FnMut(&[u8]),
    ) -> Result<(), BadFraming> {
        while !input.is_empty() {
            match &mut self.state {
                State::Done => return Ok(()),
                State::Close => {
                    data(input);
                    return Ok(());
                }
                State::Length { left } => {
                    input = take(left, input, &mut data);
                    if *left == 0 {
                        self.state = State::Done;
                    }
                }
                State::Data { left } => {
                    input = take(left, input, &mut data);
                    if *left == 0 {
                        self.state = State::DataEnd { cr: false };
                    }
                }
                State::Size { .. } => {
                    self.size_byte(input[0])?;
                    input = &input[1..];
                }
                State::SizeLine { size } => {
                    let size = *size;
                    match input.iter().position(|&b| b == b'\n') {
                        Some(at) => {
                            input = &input[at + 1..];
                            self.end_size_line(size);
                        }
                        None => input = &[],
                    }
                }
                State::DataEnd { cr } => {
                    let byte = input[0];
                    input = &input[1..];
                    match byte {
                        b'\r' if !*cr => *cr = true,
                        b'\n' => self.state = State::Size { size: 0, digits: 0 },
                        _ => return Err(BadFraming),
                    }
                }
                State::Trailer { empty } => {
                    let byte = input[0];
                    input = &input[1..];
                    match byte {
                        b'\n' if *empty => self.state = State::Done,
                        b'\n' => *empty = true,
                        b'\r' => {}
                        _ => *empty = false,
                    }
                }
            }
        }
        Ok(())
    }

    /// One byte of a chunk-size line: a hex digit (at most 15), else the end of the size.
    fn size_byte(&mut self, byte: u8) -> Result<(), BadFraming> {
        let State::Size { size, digits } = &mut self.state else {
            return Ok(());
        };
        match (byte as char).to_digit(16) {
            Some(_) if *digits >= 15 => return Err(BadFraming),
            Some(digit) => {
                *size = *size * 16 + u64::from(digit);
                *digits += 1;
            }
            None if *digits == 0 => return Err(BadFraming),
            None => {
                let size = *size;
                self.state = State::SizeLine { size };
                if byte == b'\n' {
                    self.end_size_line(size);
                }
            }
        }
        Ok(())
    }

    fn end_size_line(&mut self, size: u64) {
        self.state = if size == 0 {
            State::Trailer { empty: true }
        } else {
            State::Data { left: size }
        };
    }
}

/// Hands up to `left` bytes of `input` to `data`, counts them off, returns the rest.
fn take<'a>(left: &mut u64, input: &'a [u8], data: &mut impl FnMut(&[u8])) -> &'a [u8] {
    let take = (*left).min(input.len() as u64) as usize;
    data(&input[..take]);
    *left -= take as u64;
    &input[take..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(framing: Framing, chunks: &[&[u8]]) -> Result<(Vec<u8>, bool), BadFraming> {
        let mut decoder = Decoder::new(framing);
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.decode(chunk, |d| out.extend_from_slice(d))?;
        }
        Ok((out, decoder.done()))
    }

    /// Decodes `body` whole, split at every offset and byte by byte: the same every way.
    fn decode(framing: Framing, body: &[u8]) -> Result<(Vec<u8>, bool), BadFraming> {
        let whole = decode_all(framing, &[body]);
        for cut in 0..=body.len() {
            let (a, b) = body.split_at(cut);
            assert_eq!(decode_all(framing, &[a, b]), whole, "split at {cut}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(decode_all(framing, &bytes), whole, "byte by byte");
        whole
    }

    #[test]
    fn chunked_bodies_with_extensions_and_trailers() {
        let body = b"5\r\nhello\r\nA;ext=1\r\n, world!!!\r\n0\r\nx-trailer: 1\r\n\r\nignored";
        assert_eq!(
            decode(Framing::Chunked, body),
            Ok((b"hello, world!!!".to_vec(), true))
        );
        // Bare LF line ends are tolerated, as hyper does.
        assert_eq!(
            decode(Framing::Chunked, b"3\nabc\n0\n\n"),
            Ok((b"abc".to_vec(), true))
        );
        // An unfinished stream is not done.
        assert_eq!(
            decode(Framing::Chunked, b"3\r\nabc\r\n4\r\nde"),
            Ok((b"abcde".to_vec(), false))
        );
    }

    #[test]
    fn bad_chunked_framing_is_an_error() {
        assert_eq!(decode_all(Framing::Chunked, &[b"x\r\n"]), Err(BadFraming));
        assert_eq!(
            decode_all(Framing::Chunked, &[b"3\r\nabcX"]),
            Err(BadFraming)
        );
        assert_eq!(
            decode_all(Framing::Chunked, &[b"fffffffffffffffff\r\n"]),
            Err(BadFraming)
        );
    }

    #[test]
    fn length_and_close_bodies() {
        assert_eq!(
            decode(Framing::Length(5), b"hello and more"),
            Ok((b"hello".to_vec(), true))
        );
        let mut zero = Decoder::new(Framing::Length(0));
        assert!(zero.done() && zero.may_end());
        zero.decode(b"x", |_| panic!("no body")).unwrap();
        let (out, done) = decode(Framing::Close, b"all of it").unwrap();
        assert_eq!((out.as_slice(), done), (&b"all of it"[..], false));
        assert!(Decoder::new(Framing::Close).may_end());
        assert!(!Decoder::new(Framing::Chunked).may_end());
    }
}
