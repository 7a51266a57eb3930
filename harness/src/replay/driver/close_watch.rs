//! The server's close frame as it was sent. tungstenite answers a close frame whose code may not
//! travel on the wire (1005, 1006, 1015, the reserved ranges) with `1002 Protocol violation`, and
//! hands on that reply as the close it received. The transcript records what the server sent:
//! [`Watched`] is the replay's socket, following the frames the server sends as they are read
//! (headers only, no copy of any payload but a close frame's 125 bytes at most) and keeping the
//! first close frame's payload.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::wire::transport::Stream;

/// The opcode of a close frame.
const CLOSE: u8 = 0x8;
/// The most payload a control frame may have.
const MAX_CONTROL_PAYLOAD: usize = 125;

/// A replay's TCP connection, watching the frames the server sends for its close frame.
#[derive(Debug)]
pub(super) struct Watched {
    inner: Stream,
    watch: CloseWatch,
}

impl Watched {
    /// Watches `inner`, whose first bytes (`already_read`, read with the upgrade reply) are frames
    /// too.
    pub(super) fn new(inner: Stream, already_read: &[u8]) -> Watched {
        let mut watch = CloseWatch::default();
        watch.observe(already_read);
        Watched { inner, watch }
    }

    /// The code (`None` when the frame had none) and reason of the first close frame the server
    /// sent, once it has been read whole.
    pub(super) fn close(&self) -> Option<(Option<u16>, String)> {
        self.watch.first_close.as_deref().map(close_of)
    }
}

/// The code and reason in a close frame's payload.
fn close_of(payload: &[u8]) -> (Option<u16>, String) {
    match payload {
        [high, low, reason @ ..] => (
            Some(u16::from_be_bytes([*high, *low])),
            String::from_utf8_lossy(reason).into_owned(),
        ),
        _ => (None, String::new()),
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            this.watch.observe(&buf.filled()[before..]);
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Where the watch is in the server's byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In a frame header: `have` of its bytes so far.
    Header { have: usize },
    /// In a frame's payload: `left` bytes to come, `offset` seen (for the mask).
    Payload { left: u64, offset: usize },
}

/// Follows frame boundaries by their headers; keeps the first close frame's payload.
#[derive(Debug)]
struct CloseWatch {
    state: State,
    /// The current frame's header (at most 2 + 8 + 4 bytes).
    header: [u8; 14],
    /// The current frame's opcode and mask.
    opcode: u8,
    mask: Option<[u8; 4]>,
    /// The payload of the close frame being read.
    payload: Vec<u8>,
    /// The first close frame's payload, once read whole.
    first_close: Option<Vec<u8>>,
}

impl Default for CloseWatch {
    fn default() -> Self {
        CloseWatch {
            state: State::Header { have: 0 },
            header: [0; 14],
            opcode: 0,
            mask: None,
            payload: Vec::new(),
            first_close: None,
        }
    }
}

/// The length of a frame header, from its second byte.
fn header_len(second: u8) -> usize {
    let extended = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    2 + extended + mask
}

impl CloseWatch {
    /// Follows `bytes`, the next bytes the server sent.
    fn observe(&mut self, mut bytes: &[u8]) {
        // After the first close frame nothing else matters.
        while !bytes.is_empty() && self.first_close.is_none() {
            match self.state {
                State::Header { have } => {
                    let need = if have < 2 {
                        2
                    } else {
                        header_len(self.header[1])
                    };
                    let take = (need - have).min(bytes.len());
                    self.header[have..have + take].copy_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    let have = have + take;
                    self.state = State::Header { have };
                    if have >= 2 && have == header_len(self.header[1]) {
                        self.start_payload();
                    }
                }
                State::Payload { left, offset } => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
                    if self.opcode == CLOSE {
                        let room = MAX_CONTROL_PAYLOAD.saturating_sub(self.payload.len());
                        for (i, byte) in bytes[..take.min(room)].iter().enumerate() {
                            let key = self.mask.map_or(0, |mask| mask[(offset + i) % 4]);
                            self.payload.push(byte ^ key);
                        }
                    }
                    bytes = &bytes[take..];
                    let left = left - take as u64;
                    self.state = State::Payload {
                        left,
                        offset: offset.saturating_add(take),
                    };
                    if left == 0 {
                        self.end_frame();
                    }
                }
            }
        }
    }

    /// The header is complete: reads the opcode, the mask and the payload length.
    fn start_payload(&mut self) {
        let header = &self.header;
        self.opcode = header[0] & 0x0f;
        let (left, mask_at) = match header[1] & 0x7f {
            126 => (u64::from(u16::from_be_bytes([header[2], header[3]])), 4),
            127 => {
                let mut length = [0u8; 8];
                length.copy_from_slice(&header[2..10]);
                (u64::from_be_bytes(length), 10)
            }
            short => (u64::from(short), 2),
        };
        self.mask = (header[1] & 0x80 != 0).then(|| {
            let mut mask = [0u8; 4];
            mask.copy_from_slice(&header[mask_at..mask_at + 4]);
            mask
        });
        self.payload.clear();
        self.state = State::Payload { left, offset: 0 };
        if left == 0 {
            self.end_frame();
        }
    }

    fn end_frame(&mut self) {
        if self.opcode == CLOSE {
            self.first_close = Some(std::mem::take(&mut self.payload));
        }
        self.state = State::Header { have: 0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The close the watch saw after `stream`, fed whole, then split at every offset, then one
    /// byte at a time: the same every way.
    fn close_after(stream: &[u8]) -> Option<(Option<u16>, String)> {
        let seen = |chunks: &[&[u8]]| {
            let mut watch = CloseWatch::default();
            for chunk in chunks {
                watch.observe(chunk);
            }
            watch.first_close.as_deref().map(close_of)
        };
        let whole = seen(&[stream]);
        for cut in 0..=stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(seen(&[a, b]), whole, "split at {cut}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(seen(&bytes), whole, "byte by byte");
        whole
    }

    #[test]
    fn close_frames_are_read_as_sent() {
        // Without a code, with the reserved 1005, with a code and a reason.
        assert_eq!(close_after(b"\x88\x00"), Some((None, String::new())));
        assert_eq!(
            close_after(b"\x88\x02\x03\xed"),
            Some((Some(1005), String::new()))
        );
        assert_eq!(
            close_after(b"\x88\x05\x0f\xa0bye"),
            Some((Some(4000), "bye".into()))
        );
        // Nothing until the close frame is whole.
        assert_eq!(close_after(b"\x88\x05\x0f\xa0by"), None);
    }

    #[test]
    fn frames_before_the_close_are_skipped_whatever_their_length() {
        let mut stream = Vec::new();
        stream.extend_from_slice(b"\x81\x02hi"); // short text
        stream.extend_from_slice(b"\x89\x00"); // empty ping
        stream.extend_from_slice(&[0x82, 126, 0x01, 0x00]); // 256 bytes of binary
        stream.extend_from_slice(&[0x88; 256]); // (bytes that look like close frames)
        stream.extend_from_slice(&[0x02, 127, 0, 0, 0, 0, 0, 0, 0, 3]); // 8-byte length
        stream.extend_from_slice(b"abc");
        stream.extend_from_slice(&[0x88, 0x84, 1, 2, 3, 4]); // a masked close: 1000 "xy"
        stream.extend_from_slice(&[0x03 ^ 1, 0xe8 ^ 2, b'x' ^ 3, b'y' ^ 4]);
        stream.extend_from_slice(b"\x88\x02\x0f\xa0"); // a second close is not the first
        assert_eq!(close_after(&stream), Some((Some(1000), "xy".into())));
    }

    #[test]
    fn a_huge_announced_length_is_followed_without_holding_it() {
        let mut watch = CloseWatch::default();
        watch.observe(&[0x82, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        watch.observe(&[0u8; 4096]);
        assert!(matches!(watch.state, State::Payload { .. }));
        assert_eq!(watch.payload.capacity(), 0);
        assert_eq!(watch.first_close, None);
    }
}
