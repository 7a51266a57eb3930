//! A subscriber: reads its deliveries (WebSocket messages or SSE events), checks each, records
//! its latency from the message's intended publish instant, and reconnects after a failure.

use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::io::AsyncReadExt;

use super::prepared::{Connection, Paths, READ_BUFFER};
use super::seq::{Arrival, SeqTracker};
use super::shared::Shared;
use crate::load::net::chunked::{Decoder, Framing};
use crate::load::net::ws::{Socket, next_data};
use crate::load::recorder::{ErrorKind, Recorder};
use crate::load::worker::RECONNECT_PAUSE;
use crate::wire::sse_parser::SseParser;
use crate::wire::transport::Stream;

/// The seqs a subscription was owed up to now: measured ones are expected deliveries, and those
/// missing are `not delivered` errors.
pub(super) fn account_missing(shared: &Shared, tracker: &SeqTracker, recorder: &mut Recorder) {
    let published = shared.log.published();
    let window = &shared.window;
    let expected = (tracker.from..published)
        .filter(|&seq| window.measures(shared.log.slot(seq).0))
        .count() as u64;
    shared
        .counts
        .expected
        .fetch_add(expected, Ordering::Relaxed);
    for seq in tracker.missing(published) {
        let (intended, _) = shared.log.slot(seq);
        if window.measures(intended) {
            shared.counts.not_delivered.fetch_add(1, Ordering::Relaxed);
            recorder.failure(intended, ErrorKind::Other("not delivered".into()), None);
        }
    }
}

/// One subscriber: reads deliveries, reconnecting after a failure, until cancelled.
pub(super) async fn subscriber(
    shared: &Shared,
    index: usize,
    mut connection: Option<Connection>,
    tracker: &mut SeqTracker,
    recorder: &mut Recorder,
) {
    loop {
        let open = match connection.take() {
            Some(open) => open,
            None => {
                tokio::time::sleep(RECONNECT_PAUSE).await;
                let started = Instant::now();
                match shared.load.subscribe(index, shared.timeout).await {
                    Ok(open) => {
                        recorder.connected(started.elapsed());
                        account_missing(shared, tracker, recorder);
                        // Messages published before the subscription was complete are not owed.
                        *tracker = SeqTracker::new(shared.log.published());
                        open
                    }
                    Err(kind) => {
                        recorder.failure(Instant::now(), kind, None);
                        continue;
                    }
                }
            }
        };
        let paths = &shared.load.subscriber(index).paths;
        let failure = match open {
            Connection::Ws(mut socket) => {
                read_ws(shared, paths, &mut socket, tracker, recorder).await
            }
            Connection::Sse {
                stream,
                framing,
                pending,
            } => read_sse(shared, paths, stream, framing, pending, tracker, recorder).await,
        };
        recorder.failure(Instant::now(), failure, None);
    }
}

/// Records one delivery of `seq` received at `now`; `differs` is the error its content makes.
pub(super) fn deliver(
    shared: &Shared,
    seq: u64,
    differs: Option<ErrorKind>,
    now: Instant,
    tracker: &mut SeqTracker,
    recorder: &mut Recorder,
) {
    let arrival = tracker.receive(seq, shared.log.published());
    match arrival {
        Arrival::Stale => return,
        Arrival::OutOfRange => {
            recorder.failure(now, ErrorKind::SeqOutOfRange, None);
            return;
        }
        _ => {}
    }
    let (intended, from) = shared.log.slot(seq);
    let latency = now.saturating_duration_since(from);
    let measured = shared.window.measures(intended);
    let kind = match arrival {
        Arrival::Duplicate => Some(ErrorKind::Other("duplicate delivery".into())),
        Arrival::OutOfOrder => Some(ErrorKind::Other("out of order".into())),
        _ => differs,
    };
    if measured && arrival != Arrival::Duplicate {
        shared.counts.deliveries.fetch_add(1, Ordering::Relaxed);
    }
    match kind {
        None => recorder.success(intended, latency),
        Some(kind) => recorder.failure(intended, kind, Some(latency)),
    }
}

/// Reads a WebSocket subscription until it fails.
pub(super) async fn read_ws(
    shared: &Shared,
    paths: &Paths,
    socket: &mut Socket,
    tracker: &mut SeqTracker,
    recorder: &mut Recorder,
) -> ErrorKind {
    loop {
        let message = match next_data(socket).await {
            Ok(message) => message,
            Err(kind) => return kind,
        };
        let now = Instant::now();
        let Ok(text) = message.to_text() else {
            recorder.failure(now, ErrorKind::Other("not a text message".into()), None);
            continue;
        };
        match shared.load.check_delivery(text, &paths.delivery) {
            Ok((seq, differs)) => deliver(shared, seq, differs, now, tracker, recorder),
            Err(kind) => recorder.failure(now, kind, None),
        }
    }
}

/// Reads an SSE subscription until it ends or fails.
pub(super) async fn read_sse(
    shared: &Shared,
    paths: &Paths,
    mut stream: Stream,
    framing: Framing,
    mut pending: Vec<u8>,
    tracker: &mut SeqTracker,
    recorder: &mut Recorder,
) -> ErrorKind {
    let mut decoder = Decoder::new(framing);
    let mut parser = SseParser::new();
    let mut buffer = vec![0u8; READ_BUFFER];
    let mut received: Vec<Result<(u64, Option<ErrorKind>), ErrorKind>> = Vec::new();
    loop {
        let read = if pending.is_empty() {
            match stream.read(&mut buffer).await {
                Ok(0) => return ErrorKind::Closed,
                Ok(read) => &buffer[..read],
                Err(e) => return ErrorKind::of_io(&e),
            }
        } else {
            &pending[..]
        };
        let now = Instant::now();
        let load = &shared.load;
        let decoded = decoder.decode(read, |data| {
            parser.feed(data, |event| {
                let delivery = load.check_delivery(event.data, &paths.delivery);
                if !load.event.matches(Some(event.event)) {
                    // Still a delivery of its seq, when it has one.
                    let differs = ErrorKind::differs(&paths.event, load.event_differs);
                    received.push(delivery.map(|(seq, _)| (seq, Some(differs))));
                    return;
                }
                received.push(delivery);
            });
        });
        pending.clear();
        for outcome in received.drain(..) {
            match outcome {
                Ok((seq, differs)) => deliver(shared, seq, differs, now, tracker, recorder),
                Err(kind) => recorder.failure(now, kind, None),
            }
        }
        if decoded.is_err() {
            return ErrorKind::Garbage;
        }
        if decoder.done() {
            return ErrorKind::Closed;
        }
    }
}
