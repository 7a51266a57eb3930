//! WebSocket load: each worker opens a connection (the handshake timed into its own histogram,
//! openings spread over `--ramp`), reads the greeting if the fixture expects one, then loops the
//! fixture's transcript: one operation is one `send` answered by the `expect` steps that follow
//! it, its latency the round trip from the send's intended start.
//!
//! A hostile server cannot hold a connection: every round trip has an absolute deadline (the
//! timeout) that a flood of pings cannot starve, and a message or frame past `--max-event-size`
//! fails with `message too large` before it is held.

use std::time::Instant;

use harness_fixture::model::{WsFixture, WsStep};
use hyper::header::{HeaderName, HeaderValue, SEC_WEBSOCKET_PROTOCOL};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use url::Url;

use super::ws_expect::MessageExpect;
use crate::load::net::endpoint::{Endpoint, header_name, header_value};
pub(crate) use crate::load::net::ws::Socket;
use crate::load::net::ws::{self, next_data_until, send_until, ws_config_with};
use crate::load::recorder::ErrorKind;
use crate::load::source::SourceAddrs;
use crate::load::worker::{LoadError, RECONNECT_PAUSE, Unloadable, Worker};
use crate::wire::Deadline;
use crate::wire::request::encode_ws_message;
use crate::wire::tls::TlsSettings;

/// One send and the replies it must get.
#[derive(Debug)]
struct Exchange {
    send: Message,
    expects: Vec<MessageExpect>,
}

/// Refuses captures anywhere; and, outside a JSON-RPC conversation ([`super::ws_rpc`]), the
/// steps of format 1.1 that read sets of messages and `ignore`: the load engine then pairs each
/// `send` with the `expect`s after it, one reply each.
fn refuse_multiplexed(fixture: &WsFixture, rpc: bool) -> Result<(), Unloadable> {
    for (index, step) in fixture.transcript.iter().enumerate() {
        if let WsStep::Expect(expect) = step
            && harness_fixture::capture::captures_in(&expect.matches)
        {
            return Err(Unloadable::UnsupportedStep {
                pointer: format!("/transcript/{index}/expect"),
                kind: "<<capture:…>>",
            });
        }
    }
    if rpc {
        return Ok(());
    }
    if !fixture.ignore.is_empty() {
        return Err(Unloadable::UnsupportedStep {
            pointer: "/ignore".into(),
            kind: "ignore",
        });
    }
    for (index, step) in fixture.transcript.iter().enumerate() {
        if step.is_multiplexed() {
            return Err(Unloadable::UnsupportedStep {
                pointer: format!("/transcript/{index}"),
                kind: step.kind(),
            });
        }
        if !step.ignore().is_empty() {
            return Err(Unloadable::UnsupportedStep {
                pointer: format!("/transcript/{index}/ignore"),
                kind: "ignore",
            });
        }
    }
    Ok(())
}

/// A WebSocket fixture prepared for load.
#[derive(Debug)]
pub(crate) struct WsLoad {
    endpoint: Endpoint,
    url: Url,
    headers: Vec<(HeaderName, HeaderValue)>,
    greeting: Vec<MessageExpect>,
    exchanges: Vec<Exchange>,
    /// A JSON-RPC conversation's bursts, replies matched by id (instead of `exchanges`).
    rpc: Option<super::ws_rpc::RpcConversation>,
    /// Where `run` reports a refused upgrade.
    handshake_path: &'static str,
    /// The largest message (and frame) read from the server.
    max_message_size: usize,
}

impl WsLoad {
    /// Reads the transcript into a greeting and exchanges; compiles expectations. Messages past
    /// `max_message_size` bytes are errors.
    pub(crate) async fn prepare(
        fixture: &WsFixture,
        base: &Url,
        tls: &TlsSettings,
        sources: &SourceAddrs,
        max_message_size: usize,
    ) -> Result<WsLoad, LoadError> {
        let endpoint = Endpoint::resolve(base, tls, sources).await?;
        let connect = &fixture.connect;
        let mut url = endpoint.url(&connect.path, &connect.query.pairs())?;
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        let _ = url.set_scheme(scheme);
        let mut headers = Vec::new();
        for (name, value) in &connect.headers {
            headers.push((header_name(name)?, header_value(name, value)?));
        }
        if !headers.iter().any(|(n, _)| n == hyper::header::USER_AGENT) {
            let agent = HeaderValue::from_static(crate::wire::request::USER_AGENT);
            headers.push((hyper::header::USER_AGENT, agent));
        }
        if !connect.subprotocols.is_empty() {
            headers.push((
                SEC_WEBSOCKET_PROTOCOL,
                header_value("sec-websocket-protocol", &connect.subprotocols.join(", "))?,
            ));
        }

        let rpc = super::ws_rpc::is_rpc(fixture);
        refuse_multiplexed(fixture, rpc)?;
        let rpc = if rpc {
            Some(super::ws_rpc::conversation(fixture)?)
        } else {
            None
        };
        let mut greeting = Vec::new();
        let mut exchanges: Vec<Exchange> = Vec::new();
        for (index, step) in fixture.transcript.iter().enumerate() {
            match step {
                WsStep::ExpectHandshake(h) if h.status != 101 => {
                    return Err(Unloadable::RefusedUpgrade { status: h.status }.into());
                }
                WsStep::Send(message) => exchanges.push(Exchange {
                    send: encode_ws_message(message).map_err(Unloadable::from)?,
                    expects: Vec::new(),
                }),
                WsStep::Expect(expect) => {
                    let compiled = MessageExpect::new(&expect.matches, index)?;
                    match exchanges.last_mut() {
                        Some(exchange) => exchange.expects.push(compiled),
                        None => greeting.push(compiled),
                    }
                }
                // The conversation that is looped ends where the fixture closes.
                WsStep::Close(_) | WsStep::ExpectClose(_) => break,
                WsStep::ExpectHandshake(_) | WsStep::Ping(_) | WsStep::ExpectPong(_) => {}
                // Refused above.
                WsStep::ExpectUnordered(_)
                | WsStep::ExpectAnyOf(_)
                | WsStep::ExpectCount(_)
                | WsStep::ExpectNone(_) => {}
            }
        }
        if rpc.is_none() && !exchanges.iter().any(|e| !e.expects.is_empty()) {
            return Err(Unloadable::NoRoundTrip.into());
        }
        let handshake_path = match fixture.transcript.first() {
            Some(WsStep::ExpectHandshake(_)) => "/transcript/0/expect_handshake/status",
            _ => "/connect",
        };
        Ok(WsLoad {
            endpoint,
            url,
            headers,
            greeting,
            exchanges,
            rpc,
            handshake_path,
            max_message_size,
        })
    }

    /// A JSON-RPC conversation with subscription items: the timestamp field the handler names,
    /// if any.
    pub(crate) fn subscription_items(&self) -> Option<Option<String>> {
        self.rpc.as_ref().and_then(|rpc| rpc.subscription_items())
    }

    /// Runs one connection until the run's end cancels it: `first`, the one the connection
    /// phase opened, then a new one after every failure (its handshake timed, a failure to open
    /// it a `connect` error).
    pub(crate) async fn worker(&self, worker: &mut Worker, mut first: Option<Socket>) {
        loop {
            let mut socket = match first.take() {
                Some(socket) => socket,
                None => {
                    let started = Instant::now();
                    // Boxed: the handshake's state is kilobytes, held by every connection's task otherwise.
                    match tokio::time::timeout(worker.timeout, Box::pin(self.connect())).await {
                        Ok(Ok(socket)) => {
                            worker.recorder.connected(started.elapsed());
                            socket
                        }
                        outcome => {
                            let kind = outcome.unwrap_or(Err(ErrorKind::Timeout)).err();
                            let kind = ErrorKind::connect(kind.unwrap_or(ErrorKind::Timeout));
                            worker.recorder.failure(Instant::now(), kind, None);
                            tokio::time::sleep(RECONNECT_PAUSE).await;
                            continue;
                        }
                    }
                }
            };
            if let Err(kind) = self.greet(&mut socket, worker).await {
                worker.recorder.failure(Instant::now(), kind, None);
                continue;
            }
            match &self.rpc {
                // Boxed: a JSON-RPC conversation's state is three times a plain one's.
                Some(rpc) => Box::pin(super::ws_rpc::converse(rpc, &mut socket, worker)).await,
                None => self.converse(&mut socket, worker).await,
            }
        }
    }

    /// Opens a connection: the handshake (its failure as it is, the caller bounds it).
    pub(crate) async fn connect(&self) -> Result<Socket, ErrorKind> {
        let mut request = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| ErrorKind::Other(e.to_string()))?;
        for (name, value) in &self.headers {
            request.headers_mut().append(name.clone(), value.clone());
        }
        let config = ws_config_with(self.max_message_size);
        let refused = |got| ErrorKind::handshake(self.handshake_path, got);
        ws::connect(&self.endpoint, request, config, refused).await
    }

    async fn greet(&self, socket: &mut Socket, worker: &Worker) -> Result<(), ErrorKind> {
        let deadline = Deadline::after(worker.timeout);
        for expect in &self.greeting {
            let message = next_data_until(socket, deadline).await?;
            expect.check(&message)?;
        }
        Ok(())
    }

    /// Loops the exchanges until the connection fails.
    async fn converse(&self, socket: &mut Socket, worker: &mut Worker) {
        loop {
            for exchange in &self.exchanges {
                if exchange.expects.is_empty() {
                    let deadline = Deadline::after(worker.timeout);
                    if let Err(kind) = send_until(socket, exchange.send.clone(), deadline).await {
                        worker.recorder.failure(Instant::now(), kind, None);
                        return;
                    }
                    continue;
                }
                let slot = worker.pacer.wait().await;
                worker.recorder.lag(&slot);
                worker.recorder.begin();
                let deadline = Deadline::after(worker.timeout);
                let round_trip = async {
                    send_until(socket, exchange.send.clone(), deadline)
                        .await
                        .map_err(|kind| (kind, None))?;
                    for expect in &exchange.expects {
                        let message = next_data_until(socket, deadline)
                            .await
                            .map_err(|kind| (kind, None))?;
                        let at = Instant::now();
                        expect.check(&message).map_err(|kind| (kind, Some(at)))?;
                    }
                    Ok::<Instant, (ErrorKind, Option<Instant>)>(Instant::now())
                };
                match round_trip.await {
                    Ok(done) => worker.recorder.success(
                        slot.intended,
                        done.saturating_duration_since(slot.measured_from()),
                    ),
                    Err((kind, replied)) => {
                        let latency =
                            replied.map(|at| at.saturating_duration_since(slot.measured_from()));
                        worker.recorder.failure(slot.intended, kind, latency);
                        // Without a reply (a timeout, a broken connection) the connection is
                        // renewed.
                        if replied.is_none() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::DEFAULT_MAX_EVENT_SIZE;

    fn fixture(transcript: serde_json::Value) -> WsFixture {
        serde_json::from_value(serde_json::json!({
            "connect": {"path": "/ws", "subprotocols": ["a"]},
            "transcript": transcript
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn the_transcript_becomes_a_greeting_and_exchanges() {
        let f = fixture(serde_json::json!([
            {"expect": {"text": "welcome"}},
            {"send": {"json": {"id": 1}}},
            {"expect": {"json": {"id": 1}}},
            {"send": {"text": "fire and forget"}},
            {"close": {"code": 1000}},
            {"send": {"text": "after the close"}}
        ]));
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        let load = WsLoad::prepare(
            &f,
            &base,
            &TlsSettings::default(),
            &SourceAddrs::default(),
            DEFAULT_MAX_EVENT_SIZE,
        )
        .await
        .unwrap();
        assert_eq!(load.url.as_str(), "ws://127.0.0.1:9/ws");
        assert_eq!(load.greeting.len(), 1);
        assert_eq!(load.exchanges.len(), 2);
        assert_eq!(load.exchanges[0].expects.len(), 1);
        let expect = &load.exchanges[0].expects[0];
        assert_eq!(expect.check(&Message::text(r#"{"id":1}"#)), Ok(()));
        assert_eq!(
            expect.check(&Message::text(r#"{"id":2}"#)),
            Err(ErrorKind::differs(
                "/transcript/2/expect/json/id",
                "different number"
            ))
        );
        assert_eq!(
            expect.check(&Message::binary(vec![1u8])),
            Err(ErrorKind::differs(
                "/transcript/2/expect/json",
                "expected a text message"
            ))
        );
    }

    #[tokio::test]
    async fn a_transcript_without_a_round_trip_is_refused() {
        let f = fixture(serde_json::json!([{"send": {"text": "x"}}]));
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        assert!(matches!(
            WsLoad::prepare(
                &f,
                &base,
                &TlsSettings::default(),
                &SourceAddrs::default(),
                DEFAULT_MAX_EVENT_SIZE
            )
            .await,
            Err(LoadError::Fixture(_))
        ));
    }
}

#[cfg(test)]
mod size {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::load::recorder::{Recorder, Shard};
    use crate::load::schedule::{Pacer, Schedule, Window};

    /// Every connection's task holds its worker's state for the whole run: the handshake's
    /// (kilobytes, needed only to reconnect) and a JSON-RPC conversation's are boxed out of it.
    #[tokio::test]
    async fn a_connection_worker_does_not_hold_the_handshake() {
        let fixture: WsFixture = serde_json::from_value(serde_json::json!({
            "connect": {"path": "/ws"},
            "transcript": [{"send": {"text": "a"}}, {"expect": {"text": "a"}}]
        }))
        .unwrap();
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        let (tls, sources) = (TlsSettings::default(), SourceAddrs::default());
        let load = WsLoad::prepare(&fixture, &base, &tls, &sources, 1000)
            .await
            .unwrap();
        let window = Window::new(Instant::now(), Duration::ZERO, Duration::from_secs(1));
        let mut worker = Worker {
            pacer: Pacer::new(Schedule::Closed, Instant::now(), 0, 1),
            recorder: Recorder::new(Shard::new(window, Arc::default(), None)),
            timeout: Duration::from_secs(1),
        };
        let handshake = std::mem::size_of_val(&load.connect());
        let whole = std::mem::size_of_val(&load.worker(&mut worker, None));
        assert!(handshake > 2048, "the handshake's state: {handshake} bytes");
        assert!(whole < 2048, "a worker's state: {whole} bytes");
    }
}
