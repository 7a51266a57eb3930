//! The publisher: one message per slot of the open-loop schedule, over a keep-alive HTTP/1.1
//! connection (REST publish, its status checked) or a WebSocket connection of its own.

use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

use super::prepared::{BroadcastLoad, Publisher, RestPublisher};
use super::shared::Shared;
use crate::load::net::AbortOnDrop;
use crate::load::net::http1::{Http1, open};
use crate::load::net::ws::{Socket, classify};
use crate::load::recorder::{ErrorKind, Recorder, micros};
use crate::load::schedule::Pacer;
use crate::load::worker::RECONNECT_PAUSE;

/// Publish replies larger than this fail.
const MAX_REPLY: usize = 1024 * 1024;

/// A failure of the publisher: a difference already points under `/publish`; anything else is
/// said to be the publisher's (`publish: timeout`).
pub(super) fn publishing(kind: ErrorKind) -> ErrorKind {
    match kind {
        ErrorKind::Differs { .. } => kind,
        other => ErrorKind::Other(format!("publish: {other}")),
    }
}

/// The publisher: one message per slot of the schedule, until cancelled.
pub(super) async fn publish(
    shared: &Shared,
    pacer: &mut Pacer,
    recorder: &mut Recorder,
    latency: &mut hdrhistogram::Histogram<u64>,
) {
    match &shared.load.publisher {
        Publisher::Rest(rest) => publish_rest(shared, rest, pacer, recorder, latency).await,
        Publisher::WebSocket { url } => publish_ws(shared, url, pacer, recorder).await,
    }
}

/// Publishes each message as the body of a `rest` request, on one keep-alive connection (opened
/// again after a failure); the latency of each publish that succeeded goes to `latency`.
async fn publish_rest(
    shared: &Shared,
    rest: &RestPublisher,
    pacer: &mut Pacer,
    recorder: &mut Recorder,
    latency: &mut hdrhistogram::Histogram<u64>,
) {
    let load = &shared.load;
    let mut connection: Option<Http1> = None;
    let mut seq = 0u64;
    while pacer.next_due().is_some_and(|due| due < shared.window.end) {
        let slot = pacer.wait().await;
        recorder.lag(&slot);
        let request = rest.request(load.message(seq));
        shared.log.publishing(seq, &slot);
        seq += 1;
        let started = Instant::now();
        let sent = tokio::time::timeout(
            shared.timeout,
            post(load, &mut connection, request, rest.status),
        )
        .await
        .unwrap_or(Err(ErrorKind::Timeout));
        match sent {
            Ok(()) => {
                latency.saturating_record(micros(started.elapsed()));
            }
            Err(kind) => {
                connection = None;
                recorder.failure(slot.intended, publishing(kind), None);
            }
        }
    }
}

/// Publishes each message as a text message on a WebSocket connection to `url` (connecting
/// until it succeeds); the first failure to send ends the publishing.
async fn publish_ws(shared: &Shared, url: &Url, pacer: &mut Pacer, recorder: &mut Recorder) {
    let load = &shared.load;
    let socket = connect_publisher(shared, url, recorder).await;
    let (mut sink, mut stream) = socket.split();
    // The publisher receives its own messages: drain them.
    let _drain = AbortOnDrop(tokio::spawn(async move {
        while let Some(Ok(_)) = stream.next().await {}
    }));
    let mut seq = 0u64;
    while pacer.next_due().is_some_and(|due| due < shared.window.end) {
        let slot = pacer.wait().await;
        recorder.lag(&slot);
        shared.log.publishing(seq, &slot);
        let text = load.message(seq);
        seq += 1;
        if let Err(e) = sink.send(Message::Text(text.into())).await {
            recorder.failure(slot.intended, publishing(classify(e)), None);
            return;
        }
    }
    let _ = sink.close().await;
}

/// The publisher's WebSocket connection (its ack checked), tried again after each failure
/// (counted) until one succeeds.
async fn connect_publisher(shared: &Shared, url: &Url, recorder: &mut Recorder) -> Socket {
    let load = &shared.load;
    loop {
        let connecting = load.connect_ws(url, &load.publisher_paths);
        match tokio::time::timeout(shared.timeout, connecting).await {
            Ok(Ok(socket)) => return socket,
            outcome => {
                let kind = outcome.unwrap_or(Err(ErrorKind::Timeout)).err();
                let kind = kind.unwrap_or(ErrorKind::Timeout);
                recorder.failure(Instant::now(), publishing(kind), None);
                tokio::time::sleep(RECONNECT_PAUSE).await;
            }
        }
    }
}

impl RestPublisher {
    /// The request publishing `message`.
    fn request(&self, message: String) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(Bytes::from(message.into_bytes())));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// One REST publish on the keep-alive connection (opened when needed), its status checked.
pub(super) async fn post(
    load: &BroadcastLoad,
    connection: &mut Option<Http1>,
    request: Request<Full<Bytes>>,
    status: Option<u16>,
) -> Result<(), ErrorKind> {
    let usable = match connection {
        Some(open) => open.sender.ready().await.is_ok(),
        None => false,
    };
    if !usable {
        *connection = Some(open(&load.endpoint).await?);
    }
    let Some(open) = connection else {
        return Err(ErrorKind::Closed);
    };
    let response = open
        .sender
        .send_request(request)
        .await
        .map_err(|e| ErrorKind::of_error(&e))?;
    let (parts, body) = response.into_parts();
    Limited::new(body, MAX_REPLY)
        .collect()
        .await
        .map_err(|e| ErrorKind::of_error(e.as_ref()))?;
    let got = parts.status.as_u16();
    match status {
        Some(want) if want != got => Err(ErrorKind::status("/publish/status", got)),
        None if !parts.status.is_success() => Err(ErrorKind::status("/publish/status", got)),
        _ => Ok(()),
    }
}
