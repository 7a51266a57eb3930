//! REST load over HTTP/2 (`bench --http2 --streams N`), with the h2 crate directly. Each
//! connection is one task that polls its h2 connection and up to N requests in flight (no
//! spawned driver, no hand-off between tasks). Closed loop keeps N requests in flight; open loop
//! starts each scheduled request on a free stream, its latency counted from its intended start
//! (a request that waits for a free stream waits in its latency: coordinated omission corrected
//! as on HTTP/1.1). Every reply is checked by the one check of `rest_fixture`. A request past
//! the timeout has its stream reset (RST_STREAM CANCEL) and counts as a timeout; a connection
//! that ends fails the requests it carried (their kind says why: `GOAWAY ...`, `RST_STREAM ...`,
//! `reset`) and the worker opens another.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use h2::client::{ResponseFuture, SendRequest};
use h2::{RecvStream, SendStream};
use harness_fixture::model::RestFixture;
use hyper::header::{CONNECTION, HOST, HeaderName, TE, TRANSFER_ENCODING, UPGRADE};
use hyper::{HeaderMap, Method, Request, Uri};
use url::Url;

use super::rest_body::{self, BodyTimes};
use super::rest_fixture::{RestExpect, RestRequest, too_large};
use crate::load::expect::map_header_difference;
use crate::load::net::endpoint::Endpoint;
use crate::load::net::http2::{self, classify};
use crate::load::recorder::ErrorKind;
use crate::load::schedule::Slot;
use crate::load::worker::{LoadError, RECONNECT_PAUSE, Unloadable, Worker};
use crate::wire::request::MAX_BODY;
use crate::wire::tls::TlsSettings;

/// Headers of HTTP/1.1 connections that HTTP/2 forbids (RFC 9113, 8.2.2): a fixture's are not
/// sent over HTTP/2 (`Host` neither: the URI's authority carries it).
const CONNECTION_SPECIFIC: [&str; 3] = ["keep-alive", "proxy-connection", "upgrade"];

/// When the timer of a connection with nothing in flight fires: never, in practice.
const IDLE: Duration = Duration::from_secs(24 * 3600);

/// A REST fixture prepared for HTTP/2 load.
#[derive(Debug)]
pub(crate) struct RestH2Load {
    endpoint: Endpoint,
    method: Method,
    /// Absolute: its scheme and authority are the request's `:scheme` and `:authority`.
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    expect: RestExpect,
    /// Requests in flight per connection.
    streams: usize,
}

/// Why an operation failed.
struct Failure {
    kind: ErrorKind,
    /// When the (wrong) reply was complete; `None` for transport failures.
    replied: Option<Instant>,
}

impl From<ErrorKind> for Failure {
    fn from(kind: ErrorKind) -> Failure {
        Failure {
            kind,
            replied: None,
        }
    }
}

impl From<h2::Error> for Failure {
    fn from(error: h2::Error) -> Failure {
        classify(&error).into()
    }
}

impl RestH2Load {
    /// Builds the request and compiles the expectations of `fixture` against `base`;
    /// `streams` requests go on each connection at once.
    pub(crate) async fn prepare(
        fixture: &RestFixture,
        base: &Url,
        tls: &TlsSettings,
        streams: usize,
    ) -> Result<RestH2Load, LoadError> {
        let endpoint = Endpoint::resolve(base, tls).await?;
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
        let absolute = format!("{}://{authority}{}", endpoint.scheme(), request.target);
        let uri = absolute
            .parse()
            .map_err(|source| Unloadable::RequestTarget {
                target: absolute.clone(),
                source,
            })?;
        Ok(RestH2Load {
            endpoint,
            method: request.method,
            uri,
            headers,
            body: request.body,
            expect: RestExpect::new(&fixture.expected)?,
            streams: streams.max(1),
        })
    }

    /// Runs one connection after another until the run's end cancels it. A connection that
    /// cannot be opened fails the operation due, as on HTTP/1.1, and the next attempt waits.
    pub(crate) async fn worker(&self, worker: &mut Worker) {
        loop {
            match tokio::time::timeout(worker.timeout, http2::open(&self.endpoint)).await {
                Ok(Ok((send, connection))) => self.connection(send, connection, worker).await,
                outcome => {
                    let kind = match outcome {
                        Ok(Err(kind)) => kind,
                        _ => ErrorKind::Timeout,
                    };
                    let slot = worker.pacer.wait().await;
                    worker.recorder.lag(slot.intended, slot.lag);
                    worker.recorder.failure(slot.intended, kind, None);
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                }
            }
        }
    }

    /// Loads one connection until it ends and its requests are accounted for.
    async fn connection<C>(
        &self,
        send: SendRequest<Bytes>,
        connection: Pin<Box<C>>,
        worker: &mut Worker,
    ) where
        C: Future<Output = Result<(), h2::Error>>,
    {
        let mut connection = Some(connection);
        let mut lanes = Lanes::new(self.streams, &send);
        let timer = tokio::time::sleep(IDLE);
        let pace = tokio::time::sleep(IDLE);
        tokio::pin!(timer, pace);
        loop {
            let mut pacing = false;
            if connection.is_some() && !lanes.refused {
                while lanes.has_free() {
                    if let Some(due) = worker.pacer.next_due()
                        && due > Instant::now()
                    {
                        let due = tokio::time::Instant::from_std(due);
                        if pace.deadline() != due {
                            pace.as_mut().reset(due);
                        }
                        pacing = true;
                        break;
                    }
                    let slot = worker.pacer.take(Instant::now());
                    worker.recorder.lag(slot.intended, slot.lag);
                    worker.recorder.begin();
                    let deadline = slot.intended + slot.lag + worker.timeout;
                    let deadline_at = tokio::time::Instant::from_std(deadline);
                    if timer.deadline() > deadline_at {
                        timer.as_mut().reset(deadline_at);
                    }
                    let index = lanes.take();
                    let sent = self.expect.chunks.timed().then(Instant::now);
                    match self.send(&mut lanes.senders[index]) {
                        Ok((response, stream)) => {
                            lanes.busy[index] = Some(InFlight {
                                slot,
                                deadline,
                                stream,
                                expired: false,
                            });
                            lanes
                                .running
                                .push(tracked(index, self.reply(response, sent)));
                        }
                        Err(failure) => {
                            // The connection takes no more requests: they go on the next one.
                            lanes.free.push(index);
                            lanes.refused = true;
                            let kind = lanes.ended.clone().unwrap_or(failure.kind);
                            worker.recorder.failure(slot.intended, kind, None);
                            break;
                        }
                    }
                }
            }
            let alive = connection.is_some();
            let driving = poll_fn(|cx| match connection.as_mut() {
                Some(connection) => connection.as_mut().poll(cx),
                None => Poll::Pending,
            });
            tokio::select! {
                biased;
                ended = driving, if alive => {
                    // The requests it carried fail (dropped, h2 says `broken pipe` to them):
                    // with the connection's error when it has one (`GOAWAY ...`).
                    lanes.ended = ended.err().map(|e| classify(&e));
                    connection = None;
                }
                Some((index, outcome)) = lanes.running.next(), if !lanes.running.is_empty() => {
                    lanes.record(index, outcome, worker);
                    // Every reply the connection has read is taken before new requests go
                    // out: they are then written together, not one write each; and recorded
                    // together, one lock of the shard for them all.
                    while let Some(Some((index, outcome))) = lanes.running.next().now_or_never() {
                        lanes.record(index, outcome, worker);
                    }
                    worker.recorder.successes(&lanes.succeeded);
                    lanes.succeeded.clear();
                }
                () = &mut timer => {
                    let now = Instant::now();
                    let next = lanes.expire(now).unwrap_or(now + IDLE);
                    timer.as_mut().reset(tokio::time::Instant::from_std(next));
                }
                () = &mut pace, if pacing => {}
            }
            if (connection.is_none() || lanes.refused) && lanes.running.is_empty() {
                return;
            }
        }
    }

    /// Sends the request on a new stream of `sender`'s connection: the reply to come, and the
    /// stream's sending half (which resets the stream at the timeout).
    fn send(
        &self,
        sender: &mut SendRequest<Bytes>,
    ) -> Result<(ResponseFuture, SendStream<Bytes>), Failure> {
        let end_of_stream = self.body.is_empty();
        let (response, mut stream) = sender.send_request(self.request(), end_of_stream)?;
        if !end_of_stream {
            stream.send_data(self.body.clone(), true)?;
        }
        Ok((response, stream))
    }

    /// A request's reply, read, decoded as its `Content-Encoding` says and checked; the time
    /// it was complete, and for a fixture with `chunks` (its request sent at `sent`) when its
    /// body's first and last bytes came.
    async fn reply(&self, response: ResponseFuture, sent: Option<Instant>) -> Outcome {
        let response = response.await?;
        let head_at = sent.map(|_| Instant::now());
        let status = response.status().as_u16();
        let header_difference = map_header_difference(&self.expect.headers, response.headers());
        let codings = rest_body::reply_codings_map(response.headers());
        let (body, first_data) = read_body(response.into_body(), sent.is_some()).await?;
        let done = Instant::now();
        let decoded = rest_body::decode(&codings, &body);
        self.expect
            .check(status, header_difference, decoded)
            .map_err(|kind| Failure {
                kind,
                replied: Some(done),
            })?;
        let times = sent.zip(head_at).map(|(sent, head_at)| {
            // The first byte of the body: its first DATA frame, else the end of the head.
            BodyTimes::new(sent, first_data.unwrap_or(head_at), done)
        });
        Ok((done, times))
    }

    /// The request, for one operation.
    fn request(&self) -> Request<()> {
        let mut request = Request::new(());
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// The reply awaited on stream `index`, its outcome returned with the index.
async fn tracked<F: Future>(index: usize, reply: F) -> (usize, F::Output) {
    (index, reply.await)
}

/// What an operation comes to: when its reply was complete and, timed, when its body came.
type Outcome = Result<(Instant, Option<BodyTimes>), Failure>;

/// A reply's body, released to the flow-control window as it comes (a body of one DATA frame
/// is kept as received, no copy); when `timed`, also when its first bytes came.
async fn read_body(mut body: RecvStream, timed: bool) -> Result<(Bytes, Option<Instant>), Failure> {
    let mut first: Option<Bytes> = None;
    let mut first_at = None;
    let mut joined = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        if timed && first_at.is_none() && !chunk.is_empty() {
            first_at = Some(Instant::now());
        }
        let _ = body.flow_control().release_capacity(chunk.len());
        if first.is_none() && joined.is_empty() {
            first = Some(chunk);
            continue;
        }
        if let Some(earlier) = first.take() {
            joined.extend_from_slice(&earlier);
        }
        joined.extend_from_slice(&chunk);
        if joined.len() > MAX_BODY {
            return Err(too_large().into());
        }
    }
    Ok((first.unwrap_or_else(|| Bytes::from(joined)), first_at))
}

/// An operation on a stream: its place in the schedule, its deadline, its stream's sending
/// half (to reset it).
struct InFlight {
    slot: Slot,
    deadline: Instant,
    stream: SendStream<Bytes>,
    /// Reset at its deadline: it ends as a timeout, whatever its reply says.
    expired: bool,
}

/// The streams of one connection: a request handle each (cloned once per connection, not per
/// request), which are free, which carry an operation, and the replies awaited (polled by the
/// connection's task).
struct Lanes<F> {
    senders: Vec<SendRequest<Bytes>>,
    busy: Vec<Option<InFlight>>,
    free: Vec<usize>,
    running: FuturesUnordered<F>,
    /// The connection refused a new stream: it takes no more requests.
    refused: bool,
    /// The error the connection ended with: that of the requests it cut off.
    ended: Option<ErrorKind>,
    /// Successes not recorded yet: intended start, latency.
    succeeded: Vec<(Instant, Duration)>,
}

impl<F: Future> Lanes<F> {
    fn new(streams: usize, send: &SendRequest<Bytes>) -> Lanes<F> {
        Lanes {
            senders: (0..streams).map(|_| send.clone()).collect(),
            busy: (0..streams).map(|_| None).collect(),
            free: (0..streams).rev().collect(),
            running: FuturesUnordered::new(),
            refused: false,
            ended: None,
            succeeded: Vec::with_capacity(streams),
        }
    }

    /// Whether a stream is free.
    fn has_free(&self) -> bool {
        !self.free.is_empty()
    }

    /// A free stream (there is one: [`Lanes::has_free`]), taken.
    fn take(&mut self) -> usize {
        self.free.pop().unwrap_or_default()
    }

    /// Resets the streams past their deadline at `now` (`RST_STREAM CANCEL`: their replies
    /// then end at once); the earliest deadline still ahead.
    fn expire(&mut self, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for flight in self.busy.iter_mut().flatten().filter(|f| !f.expired) {
            if flight.deadline <= now {
                flight.expired = true;
                flight.stream.send_reset(h2::Reason::CANCEL);
            } else {
                next = Some(next.map_or(flight.deadline, |n| n.min(flight.deadline)));
            }
        }
        next
    }

    /// Records the outcome of the operation on stream `index` (a success into
    /// [`Lanes::succeeded`], for the batch) and frees the stream.
    fn record(&mut self, index: usize, outcome: Outcome, worker: &mut Worker) {
        let Some(flight) = self.busy.get_mut(index).and_then(Option::take) else {
            return;
        };
        self.free.push(index);
        let slot = flight.slot;
        let since = |at: Instant| at.saturating_duration_since(slot.measured_from());
        match outcome {
            _ if flight.expired => worker
                .recorder
                .failure(slot.intended, ErrorKind::Timeout, None),
            Ok((done, times)) => {
                self.succeeded.push((slot.intended, since(done)));
                if let Some(times) = times {
                    worker.recorder.body_timing(slot.intended, times);
                }
            }
            Err(failure) => {
                let latency = failure.replied.map(since);
                let kind = match (&self.ended, latency) {
                    (Some(ended), None) => ended.clone(),
                    _ => failure.kind,
                };
                worker.recorder.failure(slot.intended, kind, latency);
            }
        }
    }
}
