//! REST load over HTTP/2 (`bench --http2 --streams N`), on the load path's own HTTP/2 client
//! ([`http2`]). Each connection is one task that drives its connection and up to N requests in
//! flight (no spawned driver, no hand-off between tasks). Closed loop keeps N requests in
//! flight; open loop starts each scheduled request on a free stream, its latency counted from its
//! intended start (a request that waits for a free stream waits in its latency: coordinated
//! omission corrected as on HTTP/1.1). The request's header block is encoded once; every reply
//! is checked by the one check of `rest_fixture`. A request past the timeout has its stream reset
//! (RST_STREAM CANCEL) and counts as a timeout; a connection that ends fails the requests it
//! carried (their kind says why: `GOAWAY ...`, `RST_STREAM ...`, `reset`) and the worker opens
//! another.

use std::future::poll_fn;
use std::time::{Duration, Instant};

use bytes::Bytes;
use harness_fixture::model::RestFixture;
use hyper::header::{CONNECTION, HOST, HeaderName, TE, TRANSFER_ENCODING, UPGRADE};
use url::Url;

use super::rest_body::{self, BodyTimes};
use super::rest_fixture::{RestExpect, RestRequest, too_large};
use crate::load::expect::raw_header_difference;
use crate::load::net::endpoint::Endpoint;
use crate::load::net::h2_frame::request_block;
pub(crate) use crate::load::net::http2::Http2;
use crate::load::net::http2::{self, Replies};
use crate::load::recorder::ErrorKind;
use crate::load::schedule::Slot;
use crate::load::source::SourceAddrs;
use crate::load::worker::{LoadError, RECONNECT_PAUSE, Worker};
use crate::wire::request::MAX_BODY;
use crate::wire::tls::TlsSettings;

/// Headers of HTTP/1.1 connections that HTTP/2 forbids (RFC 9113, 8.2.2): a fixture's are not
/// sent over HTTP/2 (`Host` neither: the `:authority` pseudo-header carries it).
const CONNECTION_SPECIFIC: [&str; 3] = ["keep-alive", "proxy-connection", "upgrade"];

/// When the timer of a connection with nothing in flight fires: never, in practice.
const IDLE: Duration = Duration::from_secs(24 * 3600);

/// A REST fixture prepared for HTTP/2 load.
#[derive(Debug)]
pub(crate) struct RestH2Load {
    endpoint: Endpoint,
    /// The request's header block (pseudo-headers and headers), the same on every stream.
    block: Vec<u8>,
    body: Bytes,
    expect: RestExpect,
    /// Requests in flight per connection.
    streams: usize,
}

impl RestH2Load {
    /// Builds the request and compiles the expectations of `fixture` against `base`;
    /// `streams` requests go on each connection at once.
    pub(crate) async fn prepare(
        fixture: &RestFixture,
        base: &Url,
        tls: &TlsSettings,
        sources: &SourceAddrs,
        streams: usize,
    ) -> Result<RestH2Load, LoadError> {
        let endpoint = Endpoint::resolve(base, tls, sources).await?;
        let request = RestRequest::build(&fixture.request, &endpoint)?;
        let mut headers = request.headers;
        for name in [HOST, CONNECTION, TRANSFER_ENCODING, UPGRADE] {
            headers.remove(name);
        }
        for name in CONNECTION_SPECIFIC {
            headers.remove(HeaderName::from_static(name));
        }
        if headers.get(TE).is_some_and(|te| te != "trailers") {
            headers.remove(TE);
        }
        let authority = endpoint.host.to_str().unwrap_or_default();
        let block = request_block(
            request.method.as_str(),
            endpoint.scheme(),
            authority,
            &request.target.to_string(),
            headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
        );
        Ok(RestH2Load {
            endpoint,
            block,
            body: request.body,
            expect: RestExpect::new(&fixture.expected)?,
            streams: streams.max(1),
        })
    }

    /// Runs one connection after another until the run's end cancels it. A connection that
    /// cannot be opened fails the operation due, as on HTTP/1.1, and the next attempt waits.
    /// `first` is the connection the connection phase opened.
    pub(crate) async fn worker(&self, worker: &mut Worker, mut first: Option<Http2>) {
        loop {
            if let Some(connection) = first.take() {
                self.connection(connection, worker).await;
                continue;
            }
            match tokio::time::timeout(worker.timeout, self.open()).await {
                Ok(Ok(connection)) => self.connection(connection, worker).await,
                outcome => {
                    let kind = match outcome {
                        Ok(Err(kind)) => kind,
                        _ => ErrorKind::Timeout,
                    };
                    let kind = ErrorKind::connect(kind);
                    let slot = worker.pacer.wait().await;
                    worker.recorder.lag(&slot);
                    worker.recorder.failure(slot.intended, kind, None);
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                }
            }
        }
    }

    /// Opens a connection (TCP, TLS with ALPN h2, the prefaces; the caller bounds it).
    pub(crate) async fn open(&self) -> Result<Http2, ErrorKind> {
        http2::open(&self.endpoint).await
    }

    /// Loads one connection until it ends and its requests are accounted for.
    async fn connection(&self, mut connection: Http2, worker: &mut Worker) {
        let mut lanes = Lanes::new(self.streams);
        let timer = tokio::time::sleep(IDLE);
        tokio::pin!(timer);
        // Whether the pacer slept for the next operation (its lateness is then the timer's).
        let mut paced = false;
        loop {
            let mut pacing = false;
            while lanes.has_free() && connection.can_start() {
                if worker
                    .pacer
                    .next_due()
                    .is_some_and(|due| due > Instant::now())
                {
                    pacing = true;
                    break;
                }
                let slot = Slot {
                    slept: std::mem::take(&mut paced),
                    ..worker.pacer.take(Instant::now())
                };
                worker.recorder.lag(&slot);
                worker.recorder.begin();
                let deadline = slot.intended + slot.lag + worker.timeout;
                let deadline_at = tokio::time::Instant::from_std(deadline);
                if timer.deadline() > deadline_at {
                    timer.as_mut().reset(deadline_at);
                }
                let lane = lanes.take();
                let sent = self.expect.chunks.timed().then(Instant::now);
                lanes.busy[lane] = Some(InFlight::new(slot, deadline, sent));
                connection.start(lane, &self.block, &self.body);
            }
            if connection.is_over() && lanes.idle() {
                return;
            }
            tokio::select! {
                biased;
                io = poll_fn(|cx| connection.poll_io(cx)) => {
                    let mut replies = Replied { load: self, lanes: &mut lanes, worker };
                    match io {
                        Ok(()) => connection.receive(&mut replies),
                        Err(kind) => connection.fail(kind, &mut replies),
                    }
                    // Every reply read is recorded together (one lock of the shard for them
                    // all), and the requests that follow are written together.
                    worker.recorder.successes(&lanes.succeeded);
                    lanes.succeeded.clear();
                }
                () = &mut timer => {
                    let now = Instant::now();
                    let next = lanes.expire(now, &mut connection, worker).unwrap_or(now + IDLE);
                    timer.as_mut().reset(tokio::time::Instant::from_std(next));
                }
                () = poll_fn(|cx| worker.pacer.poll_due(cx)), if pacing => paced = true,
            }
        }
    }
}

/// An operation on a stream: its place in the schedule, its deadline, and its reply as it
/// comes.
struct InFlight {
    slot: Slot,
    deadline: Instant,
    /// When the request went out, for a fixture whose body is timed.
    sent: Option<Instant>,
    /// When its head came (timed only), and its first body bytes.
    head_at: Option<Instant>,
    first_data: Option<Instant>,
    status: u16,
    header_difference: Option<ErrorKind>,
    codings: Vec<String>,
}

impl InFlight {
    fn new(slot: Slot, deadline: Instant, sent: Option<Instant>) -> InFlight {
        InFlight {
            slot,
            deadline,
            sent,
            head_at: None,
            first_data: None,
            status: 0,
            header_difference: None,
            codings: Vec::new(),
        }
    }
}

/// The streams of one connection: which lanes are free, which carry an operation (and the
/// body of its reply, a buffer kept from one request to the next).
struct Lanes {
    busy: Vec<Option<InFlight>>,
    bodies: Vec<Vec<u8>>,
    free: Vec<usize>,
    /// Successes not recorded yet: intended start, latency.
    succeeded: Vec<(Instant, Duration)>,
}

impl Lanes {
    fn new(streams: usize) -> Lanes {
        Lanes {
            busy: (0..streams).map(|_| None).collect(),
            bodies: vec![Vec::new(); streams],
            free: (0..streams).rev().collect(),
            succeeded: Vec::with_capacity(streams),
        }
    }

    /// Whether a lane is free.
    fn has_free(&self) -> bool {
        !self.free.is_empty()
    }

    /// Whether no lane carries an operation.
    fn idle(&self) -> bool {
        self.free.len() == self.busy.len()
    }

    /// A free lane (there is one: [`Lanes::has_free`]), taken.
    fn take(&mut self) -> usize {
        self.free.pop().unwrap_or_default()
    }

    /// The operation on `lane`, ended: its lane is free again.
    fn end(&mut self, lane: usize) -> Option<InFlight> {
        let flight = self.busy.get_mut(lane)?.take()?;
        self.free.push(lane);
        Some(flight)
    }

    /// Ends the operations past their deadline at `now` as timeouts, their streams reset
    /// (`RST_STREAM CANCEL`); the earliest deadline still ahead.
    fn expire(
        &mut self,
        now: Instant,
        connection: &mut Http2,
        worker: &mut Worker,
    ) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for lane in 0..self.busy.len() {
            let Some(deadline) = self.busy[lane].as_ref().map(|f| f.deadline) else {
                continue;
            };
            if deadline <= now {
                connection.cancel(lane);
                if let Some(flight) = self.end(lane) {
                    let kind = ErrorKind::Timeout;
                    worker.recorder.failure(flight.slot.intended, kind, None);
                }
            } else {
                next = Some(next.map_or(deadline, |n| n.min(deadline)));
            }
        }
        next
    }
}

/// Where a connection's replies go: checked, and recorded by the worker.
struct Replied<'a> {
    load: &'a RestH2Load,
    lanes: &'a mut Lanes,
    worker: &'a mut Worker,
}

impl Replies for Replied<'_> {
    fn head(&mut self, lane: usize, status: u16, headers: &[httparse::Header<'_>]) {
        let Some(flight) = self.lanes.busy.get_mut(lane).and_then(Option::as_mut) else {
            return;
        };
        flight.status = status;
        flight.header_difference = raw_header_difference(&self.load.expect.headers, headers);
        flight.codings = rest_body::reply_codings(headers);
        flight.head_at = flight.sent.map(|_| Instant::now());
        if let Some(body) = self.lanes.bodies.get_mut(lane) {
            body.clear();
        }
    }

    fn data(&mut self, lane: usize, bytes: &[u8]) -> bool {
        let (Some(Some(flight)), Some(body)) = (
            self.lanes.busy.get_mut(lane),
            self.lanes.bodies.get_mut(lane),
        ) else {
            return false;
        };
        if flight.sent.is_some() && flight.first_data.is_none() && !bytes.is_empty() {
            flight.first_data = Some(Instant::now());
        }
        if body.len() + bytes.len() > MAX_BODY {
            self.failed(lane, too_large());
            return false;
        }
        body.extend_from_slice(bytes);
        true
    }

    fn end(&mut self, lane: usize) {
        let Some(flight) = self.lanes.end(lane) else {
            return;
        };
        let done = Instant::now();
        let slot = flight.slot;
        let latency = done.saturating_duration_since(slot.measured_from());
        let body = self.lanes.bodies.get(lane).map_or(&[][..], Vec::as_slice);
        let decoded = rest_body::decode(&flight.codings, body);
        let checked = self
            .load
            .expect
            .check(flight.status, flight.header_difference, decoded);
        match checked {
            Ok(()) => {
                self.lanes.succeeded.push((slot.intended, latency));
                if let Some((sent, head_at)) = flight.sent.zip(flight.head_at) {
                    // The first byte of the body: its first DATA frame, else the end of the head.
                    let first = flight.first_data.unwrap_or(head_at);
                    let times = BodyTimes::new(sent, first, done);
                    self.worker.recorder.body_timing(slot.intended, times);
                }
            }
            Err(kind) => {
                let recorder = &mut self.worker.recorder;
                recorder.failure(slot.intended, kind, Some(latency));
            }
        }
    }

    fn failed(&mut self, lane: usize, kind: ErrorKind) {
        if let Some(flight) = self.lanes.end(lane) {
            self.worker
                .recorder
                .failure(flight.slot.intended, kind, None);
        }
    }
}
