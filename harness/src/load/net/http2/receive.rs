//! What an HTTP/2 client connection receives ([`Http2::receive`] hands each frame here):
//! replies' DATA and header blocks (decoded with the connection's HPACK decoder), the server's
//! SETTINGS, WINDOW_UPDATE, PING, RST_STREAM and GOAWAY; each checked as RFC 9113 says (a
//! frame it cannot take is a connection error, a malformed reply a stream error).

use super::frame::{self, Head, MAX_FRAME, MAX_STREAM_ID, MAX_WINDOW, code, flag, kind, setting};
use super::{Block, Fault, Http2, MAX_HEADER_BLOCK, MAX_HEADERS, Replies, WINDOW, coded};

/// A PROTOCOL_ERROR of the connection.
const PROTOCOL: Fault = Fault {
    code: code::PROTOCOL_ERROR,
};

/// A FRAME_SIZE_ERROR: a frame of the wrong length for its type.
const SIZE: Fault = Fault {
    code: code::FRAME_SIZE_ERROR,
};

/// A FLOW_CONTROL_ERROR: a window overrun or overflown.
const FLOW: Fault = Fault {
    code: code::FLOW_CONTROL_ERROR,
};

impl Http2 {
    /// Processes one frame.
    pub(super) fn frame(
        &mut self,
        head: Head,
        payload: &[u8],
        replies: &mut impl Replies,
    ) -> Result<(), Fault> {
        // The server's preface is a SETTINGS frame; a header block's CONTINUATION frames
        // follow it with nothing between.
        let out_of_place = (!self.settled && head.kind != kind::SETTINGS)
            || (self.block.is_some() && head.kind != kind::CONTINUATION);
        let on_stream = matches!(
            head.kind,
            kind::DATA | kind::HEADERS | kind::RST_STREAM | kind::CONTINUATION | kind::PRIORITY
        );
        let on_connection = matches!(head.kind, kind::SETTINGS | kind::PING | kind::GOAWAY);
        if out_of_place || (on_stream && head.stream == 0) || (on_connection && head.stream != 0) {
            return Err(PROTOCOL);
        }
        match head.kind {
            kind::DATA => self.data(head, payload, replies),
            kind::HEADERS | kind::CONTINUATION => self.headers(head, payload, replies),
            kind::PRIORITY if payload.len() != 5 => Err(SIZE),
            kind::RST_STREAM => {
                let error = be32(payload).ok_or(SIZE)?;
                self.idle_is_an_error(head.stream)?;
                if let Some(open) = self.close(head.stream) {
                    replies.failed(open.lane, coded("RST_STREAM", error));
                }
                Ok(())
            }
            kind::SETTINGS => self.settings(head, payload),
            kind::PUSH_PROMISE => Err(PROTOCOL),
            kind::PING if payload.len() != 8 => Err(SIZE),
            kind::PING => {
                if !head.has(flag::ACK) {
                    frame::ping_ack(&mut self.write, payload);
                }
                Ok(())
            }
            kind::GOAWAY => {
                let last = payload.get(..4).and_then(be32).ok_or(SIZE)?;
                let error = payload.get(4..8).and_then(be32).ok_or(SIZE)?;
                self.go_away(last & MAX_STREAM_ID, error, replies);
                Ok(())
            }
            kind::WINDOW_UPDATE => self.window_update(head, payload, replies),
            // PRIORITY is advice; unknown frame types are ignored (RFC 9113, 4.1).
            _ => Ok(()),
        }
    }

    /// A HEADERS frame (a header block begins) or a CONTINUATION frame (it goes on); a
    /// complete block is processed.
    fn headers(
        &mut self,
        head: Head,
        payload: &[u8],
        replies: &mut impl Replies,
    ) -> Result<(), Fault> {
        if head.kind == kind::HEADERS {
            let fragment = frame::unpad(&head, payload).ok_or(PROTOCOL)?;
            self.block = Some(Block {
                stream: head.stream,
                end_stream: head.has(flag::END_STREAM),
            });
            self.fragments.clear();
            self.fragments.extend_from_slice(fragment);
        } else {
            match &self.block {
                Some(block) if block.stream == head.stream => {}
                _ => return Err(PROTOCOL),
            }
            self.fragments.extend_from_slice(payload);
            if self.fragments.len() > MAX_HEADER_BLOCK {
                return Err(Fault {
                    code: code::ENHANCE_YOUR_CALM,
                });
            }
        }
        if head.has(flag::END_HEADERS) {
            self.header_block(replies)?;
        }
        Ok(())
    }

    fn data(
        &mut self,
        head: Head,
        payload: &[u8],
        replies: &mut impl Replies,
    ) -> Result<(), Fault> {
        let length = payload.len() as i64;
        if length > self.receive_window {
            return Err(FLOW);
        }
        self.receive_window -= length;
        self.unacknowledged += length;
        let bytes = frame::unpad(&head, payload).ok_or(PROTOCOL)?;
        self.idle_is_an_error(head.stream)?;
        let Some(at) = self.find(head.stream) else {
            // A stream the client reset: what was on its way is dropped.
            return Ok(());
        };
        let open = &mut self.open[at];
        if !open.head {
            self.reset(at, code::PROTOCOL_ERROR, replies);
            return Ok(());
        }
        open.unacknowledged += length;
        let lane = open.lane;
        if !replies.data(lane, bytes) {
            self.reset(at, code::CANCEL, replies);
            return Ok(());
        }
        if head.has(flag::END_STREAM) {
            self.open.swap_remove(at);
            replies.end(lane);
        } else if open.unacknowledged >= WINDOW / 2 {
            frame::window_update(&mut self.write, open.id, open.unacknowledged as u32);
            open.unacknowledged = 0;
        }
        Ok(())
    }

    /// A complete header block: decoded (whatever its stream, for the decoder's table), then
    /// the reply's head, or an interim head, or trailers.
    fn header_block(&mut self, replies: &mut impl Replies) -> Result<(), Fault> {
        let Some(block) = self.block.take() else {
            return Ok(());
        };
        let fragments = std::mem::take(&mut self.fragments);
        let decoded = self.decode(&fragments);
        self.fragments = fragments;
        decoded?;
        self.idle_is_an_error(block.stream)?;
        let Some(at) = self.find(block.stream) else {
            return Ok(());
        };
        if self.open[at].head {
            // Trailers: they end the stream.
            if !block.end_stream {
                self.reset(at, code::PROTOCOL_ERROR, replies);
                return Ok(());
            }
            let open = self.open.swap_remove(at);
            replies.end(open.lane);
            return Ok(());
        }
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let Some((status, count)) = reply_head(&self.fields, &self.spans, &mut slots) else {
            self.reset(at, code::PROTOCOL_ERROR, replies);
            return Ok(());
        };
        if (100..200).contains(&status) {
            // An interim head: the final one follows (one that ends the stream is malformed).
            if block.end_stream {
                self.reset(at, code::PROTOCOL_ERROR, replies);
            }
            return Ok(());
        }
        let open = &mut self.open[at];
        open.head = true;
        let lane = open.lane;
        replies.head(lane, status, &slots[..count]);
        if block.end_stream {
            self.open.swap_remove(at);
            replies.end(lane);
        }
        Ok(())
    }

    /// Decodes a header block into [`Http2::fields`]: not again when it is the last block
    /// decoded and that left the table as it was (replies repeat their heads: the same bytes,
    /// indexes into the table; HPACK's Huffman-coded literals are decoded once).
    fn decode(&mut self, block: &[u8]) -> Result<(), Fault> {
        if self.unchanged.as_deref() == Some(block) {
            return Ok(());
        }
        self.fields.clear();
        self.spans.clear();
        let (fields, spans) = (&mut self.fields, &mut self.spans);
        let decoded = self.decoder.decode_with_cb(block, |name, value| {
            let start = fields.len();
            fields.extend_from_slice(&name);
            let name_end = fields.len();
            fields.extend_from_slice(&value);
            spans.push((start, name_end, fields.len()));
        });
        if decoded.is_err() {
            return Err(Fault {
                code: code::COMPRESSION_ERROR,
            });
        }
        match &mut self.unchanged {
            _ if frame::changes_table(block) => self.unchanged = None,
            Some(last) => {
                last.clear();
                last.extend_from_slice(block);
            }
            None => self.unchanged = Some(block.to_vec()),
        }
        Ok(())
    }

    fn settings(&mut self, head: Head, payload: &[u8]) -> Result<(), Fault> {
        if head.has(flag::ACK) {
            return if payload.is_empty() {
                Ok(())
            } else {
                Err(SIZE)
            };
        }
        if !payload.len().is_multiple_of(6) {
            return Err(SIZE);
        }
        for entry in payload.chunks_exact(6) {
            let id = u16::from_be_bytes([entry[0], entry[1]]);
            let value = u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]);
            match id {
                setting::ENABLE_PUSH if value > 1 => {
                    return Err(PROTOCOL);
                }
                setting::MAX_CONCURRENT_STREAMS => {
                    self.max_streams = usize::try_from(value).unwrap_or(usize::MAX);
                }
                setting::INITIAL_WINDOW_SIZE => {
                    let value = i64::from(value);
                    if value > MAX_WINDOW {
                        return Err(FLOW);
                    }
                    let delta = value - self.initial_send_window;
                    self.initial_send_window = value;
                    for open in &mut self.open {
                        open.send_window += delta;
                        if open.send_window > MAX_WINDOW {
                            return Err(FLOW);
                        }
                    }
                }
                setting::MAX_FRAME_SIZE => {
                    if !(MAX_FRAME as u32..=(1 << 24) - 1).contains(&value) {
                        return Err(PROTOCOL);
                    }
                    self.max_send_frame = value as usize;
                }
                _ => {}
            }
        }
        self.settled = true;
        frame::settings_ack(&mut self.write);
        self.send_bodies();
        Ok(())
    }

    fn window_update(
        &mut self,
        head: Head,
        payload: &[u8],
        replies: &mut impl Replies,
    ) -> Result<(), Fault> {
        let increment = i64::from(be32(payload).ok_or(SIZE)? & MAX_WINDOW as u32);
        if head.stream == 0 {
            if increment == 0 {
                return Err(PROTOCOL);
            }
            self.send_window += increment;
            if self.send_window > MAX_WINDOW {
                return Err(FLOW);
            }
        } else if let Some(at) = self.find(head.stream) {
            let open = &mut self.open[at];
            open.send_window += increment;
            if increment == 0 {
                self.reset(at, code::PROTOCOL_ERROR, replies);
            } else if open.send_window > MAX_WINDOW {
                self.reset(at, code::FLOW_CONTROL_ERROR, replies);
            }
        } else {
            self.idle_is_an_error(head.stream)?;
        }
        self.send_bodies();
        Ok(())
    }

    /// The server's GOAWAY: the streams after `last` fail by its `error`; those up to it go on,
    /// and no new one starts. An error code also names the failures of the end to come.
    fn go_away(&mut self, last: u32, error: u32, replies: &mut impl Replies) {
        let kind = coded("GOAWAY", error);
        self.goaway = Some(last);
        self.closing = Some(kind.clone());
        let mut at = 0;
        while at < self.open.len() {
            if self.open[at].id > last {
                let open = self.open.swap_remove(at);
                replies.failed(open.lane, kind.clone());
            } else {
                at += 1;
            }
        }
        if error != code::NO_ERROR {
            self.fail(kind, replies);
        }
    }
}

/// The status and header fields (into `slots`: their count) of the block decoded into
/// `fields` at `spans`; `None` when it is malformed (no or a bad `:status`, a pseudo-header
/// after a field or another than `:status`, an upper-case or non-text name, more than
/// [`MAX_HEADERS`] fields).
fn reply_head<'f>(
    fields: &'f [u8],
    spans: &[(usize, usize, usize)],
    slots: &mut [httparse::Header<'f>; MAX_HEADERS],
) -> Option<(u16, usize)> {
    let mut status = None;
    let mut count = 0;
    for &(start, name_end, end) in spans {
        let name = &fields[start..name_end];
        let value = &fields[name_end..end];
        if name.first() == Some(&b':') {
            if name != b":status" || status.is_some() || count > 0 {
                return None;
            }
            let text = std::str::from_utf8(value).ok().filter(|t| t.len() == 3)?;
            status = Some(text.parse::<u16>().ok().filter(|s| *s >= 100)?);
            continue;
        }
        if name.iter().any(u8::is_ascii_uppercase) || count == MAX_HEADERS {
            return None;
        }
        slots[count] = httparse::Header {
            name: std::str::from_utf8(name).ok()?,
            value,
        };
        count += 1;
    }
    Some((status?, count))
}

/// A big-endian 32-bit word: the whole of `bytes`, which must be 4.
fn be32(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}
