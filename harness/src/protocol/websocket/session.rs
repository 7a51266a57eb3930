//! One case's connection after the handshake: a reader task that decodes every frame the
//! server sends (into the trace, with its time) and hands it over a channel, and the writing
//! side, which sends frames whole or chopped into pieces. The session turns frames into the
//! events a case compares (messages, pings, pongs), answers pings, and plays the closing
//! handshake; every wait is bounded by the case's deadline. With permessage-deflate agreed it
//! compresses what it sends and inflates the server's RSV1 messages ([`Codec`]).

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::results::protocol::TraceDirection;
use crate::wire::Deadline;
use crate::wire::transport::Stream;

use super::deflate::Codec;
use super::frame::{self, Frame, Head, decode, describe};
use super::model::{Case, Event, Outcome, same_events};
use super::trace::{SharedTrace, Trace};

/// The largest frame the reader takes: the biggest message of the catalogue (16 MiB) and some.
pub const FRAME_CAP: usize = 17 * 1024 * 1024;

/// What the reader task hands over.
#[derive(Debug)]
enum Incoming {
    Frame(Frame),
    End(String),
}

/// A message being put together from its frames.
#[derive(Debug)]
struct Partial {
    text: bool,
    /// Its first frame had RSV1 (compressed with the agreed permessage-deflate).
    compressed: bool,
    payload: Vec<u8>,
}

/// The RSV1 bit, as in [`Head::rsv`] (RSV1 the highest of three).
const RSV1: u8 = 0b100;

/// The agreed permessage-deflate of a session.
#[derive(Debug)]
struct Deflate {
    codec: Codec,
    /// The largest message the server's may inflate to.
    cap: usize,
}

/// The connection of one case.
#[derive(Debug)]
pub struct Session {
    writer: WriteHalf<Stream>,
    incoming: mpsc::UnboundedReceiver<Incoming>,
    reader: JoinHandle<()>,
    trace: SharedTrace,
    /// What the case saw so far.
    pub outcome: Outcome,
    partial: Option<Partial>,
    last_close: Option<Instant>,
    /// Why a write failed: the connection is gone for writing, but what the server sent before
    /// it went is still read (a reset can overtake frames not read yet).
    write_failed: Option<(String, Instant)>,
    deadline: Instant,
    settle: std::time::Duration,
    rng: u64,
    deflate: Option<Deflate>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Session {
    /// Starts reading `stream` (after `leftover`, the bytes read past the handshake).
    pub fn start(
        stream: Stream,
        leftover: Vec<u8>,
        trace: SharedTrace,
        deadline: Instant,
        settle: std::time::Duration,
    ) -> Session {
        let (reader, writer) = tokio::io::split(stream);
        let (tx, incoming) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_frames(
            reader,
            BytesMut::from(&leftover[..]),
            tx,
            trace.clone(),
        ));
        let seed = uuid::Uuid::new_v4().as_u64_pair().0 | 1;
        Session {
            writer,
            incoming,
            reader,
            trace,
            outcome: Outcome::default(),
            partial: None,
            last_close: None,
            write_failed: None,
            deadline,
            settle,
            rng: seed,
            deflate: None,
        }
    }

    /// What permessage-deflate agreed, when it did.
    pub fn agreed(&self) -> Option<super::deflate::Agreed> {
        self.deflate.as_ref().map(|deflate| deflate.codec.agreed())
    }

    /// Uses `codec` from now on: the server's RSV1 messages are inflated (to at most `cap`
    /// bytes), and [`Session::send_compressed`] compresses.
    pub fn use_deflate(&mut self, codec: Codec, cap: usize) {
        self.deflate = Some(Deflate { codec, cap });
    }

    /// Whether the connection has ended (or the case ran out of time).
    pub fn over(&self) -> bool {
        self.outcome.ended.is_some() || self.outcome.timed_out
    }

    /// The settle time (Autobahn's one second, shorter under a short case limit).
    pub fn settle(&self) -> std::time::Duration {
        self.settle
    }

    /// The case's trace.
    pub fn trace(&self) -> SharedTrace {
        self.trace.clone()
    }

    /// The case's hard deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    fn mask_key(&mut self) -> [u8; 4] {
        // xorshift64: masking keys need not be secret here, only varied.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng as u32).to_ne_bytes()
    }

    /// Writes `bytes` in pieces of `chop` bytes (one write when `None`); `false` when the
    /// connection is gone or the deadline passed.
    pub async fn write(&mut self, bytes: &[u8], chop: Option<usize>) -> bool {
        if self.over() || self.write_failed.is_some() {
            return false;
        }
        let piece = chop.unwrap_or(bytes.len()).max(1);
        let result = tokio::time::timeout_at(self.deadline, async {
            for chunk in bytes.chunks(piece) {
                self.writer.write_all(chunk).await?;
                self.writer.flush().await?;
            }
            Ok::<(), std::io::Error>(())
        })
        .await;
        match result {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                let words = format!("write failed: {e}");
                Trace::record(&self.trace, TraceDirection::Event, || words.clone());
                self.write_failed = Some((words, Instant::now()));
                false
            }
            Err(_) => {
                self.outcome.timed_out = true;
                false
            }
        }
    }

    /// The bytes of one frame (masked with a fresh key when `head.masked`), traced; a close
    /// frame counts as sent from here on (unless it has RSV bits: no valid close, as Autobahn's
    /// raw `sendFrame` of 3.7 does not start the closing handshake either).
    fn prepare(&mut self, head: &Head, payload: &[u8], note: &str) -> Vec<u8> {
        let key = self.mask_key();
        let bytes = frame::encode(head, key, payload);
        Trace::record(&self.trace, TraceDirection::Sent, || {
            let mut line = describe(head.fin, head.rsv, head.opcode, head.masked, payload);
            if let Some(declared) = head.declared_len {
                line.push_str(&format!(" declared_len={declared}"));
            }
            line + note
        });
        if head.opcode == frame::CLOSE && head.rsv == 0 && !self.outcome.sent_close {
            self.outcome.sent_close = true;
            self.outcome.closed_by_me = self.outcome.remote_close.is_none();
            self.last_close = Some(Instant::now());
        }
        bytes
    }

    /// Sends one frame, in pieces of `chop` bytes when given.
    pub async fn send_frame(&mut self, head: &Head, payload: &[u8], chop: Option<usize>) -> bool {
        let note = chop
            .map(|n| format!(" (in pieces of {n} bytes)"))
            .unwrap_or_default();
        let bytes = self.prepare(head, payload, &note);
        self.write(&bytes, chop).await
    }

    /// Sends frames in one write (Autobahn's "in one chop").
    pub async fn send_batch(&mut self, frames: &[(Head, &[u8])]) -> bool {
        let mut bytes = Vec::new();
        for (head, payload) in frames {
            let frame = self.prepare(head, payload, "");
            bytes.extend_from_slice(&frame);
        }
        self.write(&bytes, None).await
    }

    /// Sends `payload` as one message compressed with the agreed permessage-deflate (RSV1 on
    /// its first frame), the compressed bytes in frames of `fragment` bytes when given.
    pub async fn send_compressed(
        &mut self,
        text: bool,
        payload: &[u8],
        fragment: Option<usize>,
    ) -> bool {
        let Some(deflate) = self.deflate.as_mut() else {
            return false;
        };
        let compressed = deflate.codec.compress(payload);
        Trace::record(&self.trace, TraceDirection::Event, || {
            format!(
                "a message of {} bytes deflated to {} bytes",
                payload.len(),
                compressed.len()
            )
        });
        let frames = frame::message_frames(text, &compressed, fragment, RSV1);
        self.send_batch(&frames).await
    }

    /// Sends a close frame with `code` (and no reason).
    pub async fn send_close(&mut self, code: u16) -> bool {
        self.send_frame(&Head::new(frame::CLOSE), &code.to_be_bytes(), None)
            .await
    }

    /// Handles what has already arrived, without waiting.
    pub async fn drain(&mut self, case: &Case) {
        while let Ok(incoming) = self.incoming.try_recv() {
            self.handle(incoming, case).await;
        }
    }

    /// Handles what arrives until `until` (or earlier: the connection ends, or a close
    /// handshake gets no further within the settle time).
    pub async fn pump(&mut self, until: Instant, case: &Case) {
        while !self.over() {
            let mut at = until.min(self.deadline);
            if let Some(close) = self.last_close {
                at = at.min(close + self.settle);
            }
            if let Some((_, failed)) = &self.write_failed {
                at = at.min(*failed + self.settle);
            }
            match Deadline::at(at.into_std()).run(self.incoming.recv()).await {
                Ok(Some(incoming)) => self.handle(incoming, case).await,
                Ok(None) => self.outcome.ended = Some("the reader stopped".into()),
                Err(_) => {
                    if Instant::now() >= self.deadline {
                        self.outcome.timed_out = true;
                    }
                    return;
                }
            }
        }
    }

    /// Waits for the next message event, or a frame no conforming server sends (the round
    /// trips of 9.7/9.8, 12 and 13); `None` when the connection ended or the deadline passed
    /// first.
    pub async fn next_message(&mut self, case: &Case) -> Option<Event> {
        let before = self.outcome.received.len();
        while !self.over() {
            if let Some(index) = (before..self.outcome.received.len()).find(|i| {
                matches!(
                    self.outcome.received[*i],
                    Event::Message { .. } | Event::Unexpected(_)
                )
            }) {
                return Some(self.outcome.received.remove(index));
            }
            match Deadline::at(self.deadline.into_std())
                .run(self.incoming.recv())
                .await
            {
                Ok(Some(incoming)) => self.handle(incoming, case).await,
                Ok(None) => self.outcome.ended = Some("the reader stopped".into()),
                Err(_) => self.outcome.timed_out = true,
            }
        }
        None
    }

    /// Adds an event and closes when the case has seen all it expects (Autobahn's
    /// `finishWhenDone`).
    pub async fn push_event(&mut self, event: Event, case: &Case) {
        if self.outcome.remote_close.is_some() {
            return;
        }
        self.outcome.received.push(event);
        let done = same_events(&self.outcome.received, &case.ok)
            && case
                .non_strict
                .as_ref()
                .is_none_or(|list| same_events(&self.outcome.received, list));
        if done && case.close.closed_by_me && !case.suppress_close && !self.outcome.sent_close {
            let code = case.close.codes.first().copied().unwrap_or(1000);
            self.send_close(code).await;
        }
    }

    async fn handle(&mut self, incoming: Incoming, case: &Case) {
        let frame = match incoming {
            Incoming::End(words) => {
                self.outcome.ended = Some(words);
                return;
            }
            Incoming::Frame(frame) => frame,
        };
        if let Some(words) = self.misused_bits(&frame) {
            return self.push_event(Event::Unexpected(words), case).await;
        }
        match frame.opcode {
            frame::TEXT | frame::BINARY | frame::CONTINUATION => self.data(frame, case).await,
            frame::PING => {
                if !self.outcome.sent_close {
                    let mut pong = Head::new(frame::PONG);
                    pong.fin = true;
                    self.send_frame(&pong, &frame.payload, None).await;
                }
                self.push_event(Event::Ping(frame.payload), case).await;
            }
            frame::PONG => self.push_event(Event::Pong(frame.payload), case).await,
            frame::CLOSE => self.remote_close(frame).await,
            other => {
                let words = format!("a frame with reserved opcode {other}");
                self.push_event(Event::Unexpected(words), case).await;
            }
        }
    }

    /// Why `frame`'s mask or RSV bits are wrong, if they are: servers must not mask; RSV1 only
    /// with permessage-deflate agreed, and then only on the first frame of a data message (RFC
    /// 7692 6.1); RSV2 and RSV3 never.
    fn misused_bits(&self, frame: &Frame) -> Option<String> {
        if frame.masked {
            return Some("a frame with a mask (servers must not mask)".into());
        }
        if frame.rsv == 0 {
            return None;
        }
        if frame.rsv != RSV1 || self.deflate.is_none() {
            let agreed = if self.deflate.is_some() {
                "only RSV1 was agreed"
            } else {
                "no extension was agreed"
            };
            return Some(format!(
                "a frame with RSV bits {:03b} ({agreed})",
                frame.rsv
            ));
        }
        match frame.opcode {
            frame::CONTINUATION => Some(
                "RSV1 on a continuation frame (permessage-deflate sets it on a message's first                  frame only)"
                    .into(),
            ),
            op if op >= frame::CLOSE => Some(format!(
                "RSV1 on a {} control frame (permessage-deflate compresses data messages only)",
                frame::opcode_name(op)
            )),
            _ => None,
        }
    }

    async fn data(&mut self, frame: Frame, case: &Case) {
        let start = frame.opcode != frame::CONTINUATION;
        let partial = match (start, self.partial.take()) {
            (true, None) => Partial {
                text: frame.opcode == frame::TEXT,
                compressed: frame.rsv == RSV1,
                payload: frame.payload,
            },
            (false, Some(mut partial)) => {
                partial.payload.extend_from_slice(&frame.payload);
                partial
            }
            (true, Some(_)) => {
                let words = "a new message before the last one ended".to_string();
                return self.push_event(Event::Unexpected(words), case).await;
            }
            (false, None) => {
                let words = "a continuation frame with no message to continue".to_string();
                return self.push_event(Event::Unexpected(words), case).await;
            }
        };
        if !frame.fin {
            self.partial = Some(partial);
            return;
        }
        let partial = match self.inflated(partial) {
            Ok(partial) => partial,
            Err(words) => return self.push_event(Event::Unexpected(words), case).await,
        };
        if partial.text && std::str::from_utf8(&partial.payload).is_err() {
            let words = "a text message that is not UTF-8".to_string();
            return self.push_event(Event::Unexpected(words), case).await;
        }
        let event = Event::Message {
            text: partial.text,
            payload: partial.payload,
        };
        self.push_event(event, case).await;
    }

    /// A whole message, inflated when it came compressed.
    fn inflated(&mut self, partial: Partial) -> Result<Partial, String> {
        let (Some(deflate), true) = (self.deflate.as_mut(), partial.compressed) else {
            return Ok(partial);
        };
        let wire = partial.payload.len();
        let payload = deflate
            .codec
            .inflate(&partial.payload, deflate.cap)
            .map_err(|e| format!("an RSV1 message of {wire} bytes that does not inflate: {e}"))?;
        Trace::record(&self.trace, TraceDirection::Event, || {
            format!(
                "the RSV1 message of {wire} bytes inflated to {} bytes",
                payload.len()
            )
        });
        Ok(Partial {
            compressed: false,
            payload,
            ..partial
        })
    }

    async fn remote_close(&mut self, frame: Frame) {
        if self.outcome.remote_close.is_some() {
            return;
        }
        let code = match frame.payload[..] {
            [high, low, ..] => Some(u16::from_be_bytes([high, low])),
            _ => None,
        };
        self.outcome.remote_close = Some(code);
        self.last_close = Some(Instant::now());
        if !self.outcome.sent_close {
            // Answer with the same code, as RFC 6455 5.5.1 suggests.
            let payload = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
            self.send_frame(&Head::new(frame::CLOSE), &payload, None)
                .await;
        }
    }

    /// Closes the connection (when still open), hands over what was seen.
    pub async fn finish(mut self) -> Outcome {
        if !self.over()
            && let Some((words, _)) = self.write_failed.take()
        {
            self.outcome.ended = Some(words);
        }
        if !self.over() {
            if self.outcome.was_clean() {
                self.outcome.dropped_by_me = true;
            }
            self.outcome.ended = Some("the harness closed the connection".into());
            Trace::record(&self.trace, TraceDirection::Event, || {
                "the harness closes the connection".into()
            });
        }
        let _ = tokio::time::timeout(self.settle, self.writer.shutdown()).await;
        std::mem::take(&mut self.outcome)
    }
}

/// Reads frames until the connection ends, recording each in the trace.
async fn read_frames(
    mut reader: ReadHalf<Stream>,
    mut buf: BytesMut,
    tx: mpsc::UnboundedSender<Incoming>,
    trace: SharedTrace,
) {
    loop {
        loop {
            match decode(&buf, FRAME_CAP) {
                Ok(Some((frame, used))) => {
                    buf.advance(used);
                    Trace::record(&trace, TraceDirection::Received, || {
                        describe(
                            frame.fin,
                            frame.rsv,
                            frame.opcode,
                            frame.masked,
                            &frame.payload,
                        )
                    });
                    if tx.send(Incoming::Frame(frame)).is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(too_large) => {
                    let words = format!("the server sent {too_large}");
                    Trace::record(&trace, TraceDirection::Event, || words.clone());
                    let _ = tx.send(Incoming::End(words));
                    return;
                }
            }
        }
        if buf.capacity() - buf.len() < 16 * 1024 {
            buf.reserve(buf.len().max(64 * 1024));
        }
        let end = match reader.read_buf(&mut buf).await {
            Ok(0) if buf.is_empty() => "the server closed the connection".to_string(),
            Ok(0) => format!(
                "the server closed the connection in the middle of a frame ({} bytes pending)",
                buf.len()
            ),
            Ok(_) => continue,
            Err(e) => format!("connection error: {e}"),
        };
        Trace::record(&trace, TraceDirection::Event, || end.clone());
        let _ = tx.send(Incoming::End(end));
        return;
    }
}
