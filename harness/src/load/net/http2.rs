//! HTTP/2 on the load path (`bench --http2`): a lean client connection (RFC 9113) over
//! [`Endpoint::connect`] (h2c with prior knowledge, or TLS with ALPN `h2` checked), driven by
//! its worker's one task. Requests go out as a header block encoded once ([`h2_frame`]),
//! written together with every frame due and sent in one write; replies are decoded with an
//! HPACK decoder (`loona-hpack`) and handed to [`Replies`] as they come: head, body bytes, end.
//!
//! The client honours the server's SETTINGS (MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE,
//! MAX_FRAME_SIZE), keeps flow control both ways (its windows of 2^30 - 1 bytes as h2load's,
//! given back by WINDOW_UPDATE as replies are read; request bodies sent within the server's
//! windows), answers PINGs, and ends streams as the server says: `RST_STREAM <reason>` for a
//! reset stream, `GOAWAY <reason>` for the streams a GOAWAY leaves out or a connection error
//! (the server's, or the client's on a frame it cannot take: too large, malformed, out of
//! place), `reset` for a connection that closes under its streams.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::endpoint::Endpoint;
use super::h2_frame::{
    self as frame, DEFAULT_WINDOW, HEAD_LEN, Head, MAX_FRAME, MAX_STREAM_ID, code, setting,
};
use crate::load::recorder::ErrorKind;
use crate::wire::tls::{ALPN_H2, alpn_name};
use crate::wire::transport::Stream;

mod receive;

/// The flow-control windows the client gives, of each stream and of the connection: 2^30 - 1
/// bytes, as h2load's defaults (`-w 30 -W 30`), so that a reply is never held back by them.
const WINDOW: i64 = (1 << 30) - 1;

/// The read buffer: room for a whole frame behind what is left of the last read.
const READ_BUFFER: usize = 64 * 1024;

/// The largest header block of a reply (with its CONTINUATION frames).
const MAX_HEADER_BLOCK: usize = 1 << 20;

/// The most header fields of a reply head, as on HTTP/1.1.
const MAX_HEADERS: usize = 64;

/// The replies of a connection's streams, as they come (each stream carries a caller's `lane`).
pub(crate) trait Replies {
    /// The final head of the reply on `lane` (pseudo-headers left out).
    fn head(&mut self, lane: usize, status: u16, headers: &[httparse::Header<'_>]);
    /// Bytes of the reply's body; `false` to give the reply up (its stream is then reset).
    fn data(&mut self, lane: usize, bytes: &[u8]) -> bool;
    /// The reply is complete.
    fn end(&mut self, lane: usize);
    /// The request on `lane` failed (no reply): `kind` says why.
    fn failed(&mut self, lane: usize, kind: ErrorKind);
}

/// A stream with a request in flight.
struct Open {
    id: u32,
    lane: usize,
    /// What the server lets the client send on it.
    send_window: i64,
    /// The request body not sent yet.
    unsent: Bytes,
    /// Its reply's final head came.
    head: bool,
    /// Bytes received since its last WINDOW_UPDATE.
    unacknowledged: i64,
}

/// A header block being received (HEADERS, then CONTINUATION frames).
struct Block {
    stream: u32,
    end_stream: bool,
}

/// A connection error of the client's: the error code its GOAWAY says.
#[derive(Debug, Clone, Copy)]
struct Fault {
    code: u32,
}

/// An HTTP/2 client connection.
pub(crate) struct Http2 {
    io: Stream,
    /// Received bytes: those from `read_at` to `read_end` are not processed yet.
    read: Vec<u8>,
    read_at: usize,
    read_end: usize,
    /// Frames to send; those before `written` are sent.
    write: Vec<u8>,
    written: usize,
    flush: bool,
    decoder: loona_hpack::Decoder<'static>,
    /// The server's SETTINGS came.
    settled: bool,
    max_streams: usize,
    initial_send_window: i64,
    max_send_frame: usize,
    send_window: i64,
    /// What the server may still send on the connection, and what it sent since the last
    /// WINDOW_UPDATE.
    receive_window: i64,
    unacknowledged: i64,
    next_id: u32,
    open: Vec<Open>,
    block: Option<Block>,
    /// The fragments of the header block being received.
    fragments: Vec<u8>,
    /// The server's GOAWAY: the last stream it processes.
    goaway: Option<u32>,
    /// Why the connection is over (its later failures take this kind).
    ended: Option<ErrorKind>,
    /// The kind of the failures of a connection that closes: a GOAWAY's when one came.
    closing: Option<ErrorKind>,
    /// Decoded header fields: names and values, one after the other, and their spans.
    fields: Vec<u8>,
    spans: Vec<(usize, usize, usize)>,
    /// The last header block decoded, when decoding it left the decoder's table as it was:
    /// the same block next is not decoded again (its fields are those above).
    unchanged: Option<Vec<u8>>,
}

/// The kind of a failure by an HTTP/2 error code, as a frame says it (`GOAWAY CANCEL`).
fn coded(frame: &str, error: u32) -> ErrorKind {
    ErrorKind::Other(format!("{frame} {:?}", h2::Reason::from(error)))
}

/// Opens an HTTP/2 connection to `endpoint` (over TLS the server must agree to `h2` by ALPN):
/// sends the preface and the client's SETTINGS, and waits for the server's SETTINGS, so that
/// requests go out within its limits.
pub(crate) async fn open(endpoint: &Endpoint) -> Result<Http2, ErrorKind> {
    let stream = endpoint.connect().await?;
    if endpoint.is_tls() && stream.alpn_protocol() != Some(ALPN_H2) {
        return Err(ErrorKind::Other(format!(
            "the server did not agree to HTTP/2 (ALPN offered h2, got {})",
            alpn_name(stream.alpn_protocol())
        )));
    }
    let mut connection = Http2::new(stream);
    while !connection.settled {
        std::future::poll_fn(|cx| connection.poll_io(cx)).await?;
        connection.receive(&mut NoReplies);
        if let Some(kind) = &connection.ended {
            return Err(kind.clone());
        }
    }
    Ok(connection)
}

/// Before requests: no replies.
struct NoReplies;

impl Replies for NoReplies {
    fn head(&mut self, _: usize, _: u16, _: &[httparse::Header<'_>]) {}
    fn data(&mut self, _: usize, _: &[u8]) -> bool {
        true
    }
    fn end(&mut self, _: usize) {}
    fn failed(&mut self, _: usize, _: ErrorKind) {}
}

impl Http2 {
    fn new(io: Stream) -> Http2 {
        let mut write = Vec::with_capacity(16 * 1024);
        write.extend_from_slice(frame::PREFACE);
        frame::settings(
            &mut write,
            &[
                (setting::ENABLE_PUSH, 0),
                (setting::INITIAL_WINDOW_SIZE, WINDOW as u32),
            ],
        );
        frame::window_update(&mut write, 0, (WINDOW - DEFAULT_WINDOW) as u32);
        let mut decoder = loona_hpack::Decoder::new();
        decoder.set_max_allowed_table_size(4096);
        Http2 {
            io,
            read: vec![0; READ_BUFFER],
            read_at: 0,
            read_end: 0,
            write,
            written: 0,
            flush: false,
            decoder,
            settled: false,
            max_streams: usize::MAX,
            initial_send_window: DEFAULT_WINDOW,
            max_send_frame: MAX_FRAME,
            send_window: DEFAULT_WINDOW,
            receive_window: WINDOW,
            unacknowledged: 0,
            next_id: 1,
            open: Vec::new(),
            block: None,
            fragments: Vec::new(),
            goaway: None,
            ended: None,
            closing: None,
            fields: Vec::new(),
            spans: Vec::new(),
            unchanged: None,
        }
    }

    /// Whether a new request can go out now (the server takes another stream).
    pub(crate) fn can_start(&self) -> bool {
        self.ended.is_none()
            && self.goaway.is_none()
            && self.open.len() < self.max_streams
            && self.next_id <= MAX_STREAM_ID
    }

    /// Whether the connection is over: it failed, or it is going away with no stream left.
    pub(crate) fn is_over(&self) -> bool {
        self.ended.is_some()
            || (self.open.is_empty() && (self.goaway.is_some() || self.next_id > MAX_STREAM_ID))
    }

    /// Starts a request on a new stream for `lane` ([`Http2::can_start`] said it can): its
    /// header block, then as much of its body as the windows let go.
    pub(crate) fn start(&mut self, lane: usize, block: &[u8], body: &Bytes) {
        let id = self.next_id;
        self.next_id += 2;
        frame::headers(
            &mut self.write,
            id,
            block,
            body.is_empty(),
            self.max_send_frame,
        );
        self.open.push(Open {
            id,
            lane,
            send_window: self.initial_send_window,
            unsent: body.clone(),
            head: false,
            unacknowledged: 0,
        });
        if !body.is_empty() {
            self.send_bodies();
        }
    }

    /// Gives up the request on `lane`: its stream is reset (RST_STREAM CANCEL), what still
    /// comes on it is dropped.
    pub(crate) fn cancel(&mut self, lane: usize) {
        if let Some(at) = self.open.iter().position(|o| o.lane == lane) {
            let open = self.open.swap_remove(at);
            frame::rst_stream(&mut self.write, open.id, code::CANCEL);
        }
    }

    /// Sends the frames due and reads what came: ready when bytes came (for
    /// [`Http2::receive`]) or the connection failed.
    pub(crate) fn poll_io(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ErrorKind>> {
        while self.written < self.write.len() {
            match Pin::new(&mut self.io).poll_write(cx, &self.write[self.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(ErrorKind::Reset)),
                Poll::Ready(Ok(n)) => {
                    self.written += n;
                    self.flush = true;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(ErrorKind::of_io(&e))),
                Poll::Pending => break,
            }
        }
        if self.written == self.write.len() {
            self.write.clear();
            self.written = 0;
        }
        if self.flush {
            match Pin::new(&mut self.io).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.flush = false,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(ErrorKind::of_io(&e))),
                Poll::Pending => {}
            }
        }
        if self.read_at == self.read_end {
            self.read_at = 0;
            self.read_end = 0;
        } else if self.read.len() - self.read_end < HEAD_LEN + MAX_FRAME {
            self.read.copy_within(self.read_at..self.read_end, 0);
            self.read_end -= self.read_at;
            self.read_at = 0;
        }
        let mut buf = ReadBuf::new(&mut self.read[self.read_end..]);
        match Pin::new(&mut self.io).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len();
                if n == 0 {
                    return Poll::Ready(Err(ErrorKind::Reset));
                }
                self.read_end += n;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(ErrorKind::of_io(&e))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The connection failed with `kind` (an I/O error, or its end): its streams fail, with
    /// the kind of a GOAWAY that came before.
    pub(crate) fn fail(&mut self, kind: ErrorKind, replies: &mut impl Replies) {
        let kind = self.closing.clone().unwrap_or(kind);
        for open in self.open.drain(..) {
            replies.failed(open.lane, kind.clone());
        }
        self.ended.get_or_insert(kind);
    }

    /// Processes the complete frames received: control frames answered, replies handed to
    /// `replies`. A connection error fails every stream ([`Http2::is_over`] then says so).
    pub(crate) fn receive(&mut self, replies: &mut impl Replies) {
        let read = std::mem::take(&mut self.read);
        let mut at = self.read_at;
        while self.ended.is_none() {
            let Some(head) = Head::parse(&read[at..self.read_end]) else {
                break;
            };
            if head.length > MAX_FRAME {
                self.connection_error(code::FRAME_SIZE_ERROR, replies);
                break;
            }
            let end = at + HEAD_LEN + head.length;
            if end > self.read_end {
                break;
            }
            let payload = &read[at + HEAD_LEN..end];
            at += HEAD_LEN + head.length;
            if let Err(fault) = self.frame(head, payload, replies) {
                self.connection_error(fault.code, replies);
            }
        }
        self.read = read;
        self.read_at = at;
        if self.unacknowledged >= WINDOW / 2 {
            frame::window_update(&mut self.write, 0, self.unacknowledged as u32);
            self.receive_window += self.unacknowledged;
            self.unacknowledged = 0;
        }
    }

    /// A connection error of the client's: a GOAWAY with `code`, and every stream fails.
    fn connection_error(&mut self, code: u32, replies: &mut impl Replies) {
        frame::goaway(&mut self.write, 0, code);
        self.closing = None;
        self.fail(coded("GOAWAY", code), replies);
    }

    /// A frame on a stream the client never opened (a server opens none): a PROTOCOL_ERROR.
    fn idle_is_an_error(&self, stream: u32) -> Result<(), Fault> {
        if stream >= self.next_id || stream.is_multiple_of(2) {
            return Err(Fault {
                code: code::PROTOCOL_ERROR,
            });
        }
        Ok(())
    }

    /// The stream `id`'s place, if it is open.
    fn find(&self, id: u32) -> Option<usize> {
        self.open.iter().position(|o| o.id == id)
    }

    /// Closes stream `id` (if open): its request.
    fn close(&mut self, id: u32) -> Option<Open> {
        self.find(id).map(|at| self.open.swap_remove(at))
    }

    /// Resets stream `at` with `error` (the client's stream error): its request fails.
    fn reset(&mut self, at: usize, error: u32, replies: &mut impl Replies) {
        let open = self.open.swap_remove(at);
        frame::rst_stream(&mut self.write, open.id, error);
        replies.failed(open.lane, coded("RST_STREAM", error));
    }

    /// Sends what the windows let go of the request bodies not sent yet.
    fn send_bodies(&mut self) {
        for open in &mut self.open {
            while !open.unsent.is_empty() {
                let room = self.send_window.min(open.send_window).max(0) as usize;
                let n = open.unsent.len().min(room).min(self.max_send_frame);
                if n == 0 {
                    break;
                }
                let chunk = open.unsent.split_to(n);
                frame::data(&mut self.write, open.id, &chunk, open.unsent.is_empty());
                self.send_window -= n as i64;
                open.send_window -= n as i64;
            }
        }
    }
}
