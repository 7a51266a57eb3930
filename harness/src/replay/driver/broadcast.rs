//! Broadcast replay: connect every subscriber, publish once, collect every delivery.
//!
//! SSE subscribers read through the parser `run` and `stream` share ([`SseParser`]); every wait
//! has an absolute deadline that a busy socket cannot starve, and an event or message past the
//! driver's limit interrupts the replay.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use harness_fixture::model::{BroadcastFixture, Publish, Subscriber};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::upgrade::{Socket, upgrade};
use super::{Driver, StepError, fixture_headers, micros, send_and_read, with_headers};
use crate::results::Interrupted;
use crate::results::transcript::{
    BroadcastTranscript, Delivery, ReceivedResponse, SubscriberRecord,
};
use crate::wire::{Deadline, SseParser};

/// An SSE subscription: the streaming reply, its parser, and events parsed but not yet taken.
struct Events {
    response: reqwest::Response,
    parser: SseParser,
    /// `(event type, data)` of events already parsed.
    parsed: VecDeque<(String, String)>,
}

/// An open subscription.
enum Connection {
    Ws(Box<Socket>),
    Sse(Box<Events>),
}

pub(super) async fn replay(driver: &Driver, fixture: &BroadcastFixture) -> BroadcastTranscript {
    let mut transcript = BroadcastTranscript {
        subscribers: Vec::new(),
        publish: None,
        interrupted: None,
    };
    let mut connections = Vec::new();
    if let Err((at, error)) = run(driver, fixture, &mut transcript, &mut connections).await {
        transcript.interrupted = Some(Interrupted {
            at,
            reason: error.to_string(),
        });
    }
    for connection in connections.into_iter().flatten() {
        if let Connection::Ws(mut socket) = connection {
            let _ =
                tokio::time::timeout(Duration::from_millis(200), SinkExt::close(&mut socket)).await;
        }
    }
    transcript
}

async fn run(
    driver: &Driver,
    fixture: &BroadcastFixture,
    transcript: &mut BroadcastTranscript,
    connections: &mut Vec<Option<Connection>>,
) -> Result<(), (String, StepError)> {
    let wants_ack = fixture.expected.ack.is_some();
    for (index, subscriber) in fixture.subscribers.iter().enumerate() {
        let at = format!("/subscribers/{index}");
        let (record, connection) = subscribe(driver, subscriber, wants_ack)
            .await
            .map_err(|r| (at, r))?;
        transcript.subscribers.push(record);
        connections.push(connection);
    }

    let published = Instant::now();
    match &fixture.publish {
        Publish::Rest(rest) => {
            let reply = publish_rest(driver, rest)
                .await
                .map_err(|r| ("/publish".to_string(), r))?;
            transcript.publish = Some(reply);
        }
        Publish::Websocket(ws) => {
            let publisher = Subscriber::Websocket(ws.path.clone());
            let (record, connection) = subscribe(driver, &publisher, wants_ack)
                .await
                .map_err(|r| ("/publish".to_string(), r))?;
            transcript.subscribers.push(record);
            let Some(Connection::Ws(mut socket)) = connection else {
                return Ok(()); // refused: the check reports the status
            };
            let text = serde_json::Value::Object(ws.json.clone()).to_string();
            let at_publish = |error: StepError| ("/publish".to_string(), error);
            Deadline::after(driver.timeout)
                .run(socket.send(Message::Text(text.into())))
                .await
                .map_err(|_| at_publish(StepError::SendTimeout(driver.timeout)))?
                .map_err(|e| at_publish(StepError::Send(Box::new(e))))?;
            connections.push(Some(Connection::Ws(socket)));
        }
    }

    for (index, connection) in connections.iter_mut().enumerate() {
        let Some(connection) = connection else {
            continue;
        };
        let delivery = next_message(connection, driver.timeout)
            .await
            .map_err(|r| (format!("/subscribers/{index}/delivery"), r))?;
        transcript.subscribers[index].delivery = delivery.map(|(event, data)| Delivery {
            event,
            data,
            after_publish_us: micros(published),
        });
    }
    Ok(())
}

/// Opens one subscription: the record so far, and the connection when it was accepted.
async fn subscribe(
    driver: &Driver,
    subscriber: &Subscriber,
    wants_ack: bool,
) -> Result<(SubscriberRecord, Option<Connection>), StepError> {
    let path = subscriber.path().to_string();
    let mut url = driver.url(&path, &[]).map_err(StepError::BadUrl)?;
    match subscriber {
        Subscriber::Websocket(_) => {
            let _ = url.set_scheme(if url.scheme() == "https" { "wss" } else { "ws" });
            let upgraded = upgrade(
                &url,
                &Vec::new(),
                &[],
                &driver.tls,
                driver.timeout,
                driver.max_event_size,
            )
            .await?;
            let mut record = SubscriberRecord {
                kind: "websocket",
                path,
                status: Some(upgraded.handshake.status),
                ack: None,
                delivery: None,
            };
            let Some(socket) = upgraded.socket else {
                return Ok((record, None));
            };
            let mut connection = Connection::Ws(Box::new(socket));
            if wants_ack {
                record.ack = next_message(&mut connection, driver.timeout)
                    .await?
                    .map(|(_, text)| text);
            }
            Ok((record, Some(connection)))
        }
        Subscriber::Sse(_) => {
            let headers = vec![(ACCEPT.as_str().to_string(), "text/event-stream".to_string())];
            let request = with_headers(driver.client.get(url), &headers)?;
            let response = tokio::time::timeout(driver.timeout, request.send())
                .await
                .map_err(|_| StepError::NoReply(driver.timeout))?
                .map_err(StepError::Request)?;
            let status = response.status().as_u16();
            let is_stream = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().starts_with("text/event-stream"));
            let record = SubscriberRecord {
                kind: "sse",
                path,
                status: Some(status),
                ack: None,
                delivery: None,
            };
            if status != 200 || !is_stream {
                return Ok((record, None));
            }
            let events = Events {
                response,
                parser: SseParser::with_limit(driver.max_event_size),
                parsed: VecDeque::new(),
            };
            Ok((record, Some(Connection::Sse(Box::new(events)))))
        }
    }
}

/// The next data message (WebSocket) or event (SSE): `(event type, text)`, `None` when the
/// connection ended first. Within `wait`, however busy the server keeps the socket.
async fn next_message(
    connection: &mut Connection,
    wait: Duration,
) -> Result<Option<(Option<String>, String)>, StepError> {
    let deadline = Deadline::after(wait);
    let timed_out = |_| StepError::NothingReceived(wait);
    match connection {
        Connection::Ws(socket) => loop {
            match deadline.run(socket.next()).await.map_err(timed_out)? {
                Some(Ok(Message::Text(text))) => return Ok(Some((None, text.to_string()))),
                Some(Ok(Message::Binary(bytes))) => {
                    return Ok(Some((None, String::from_utf8_lossy(&bytes).into_owned())));
                }
                Some(Ok(Message::Close(_))) | None => return Ok(None),
                Some(Ok(_)) => continue,
                Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size }))) => {
                    return Err(StepError::MessageTooLarge { size, max_size });
                }
                Some(Err(e)) => return Err(StepError::BrokenConnection(Box::new(e))),
            }
        },
        Connection::Sse(events) => loop {
            if let Some((event, data)) = events.parsed.pop_front() {
                return Ok(Some((Some(event), data)));
            }
            let chunk = match deadline
                .run(events.response.chunk())
                .await
                .map_err(timed_out)?
            {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return Ok(None),
                Err(e) => return Err(StepError::BrokenStream(e)),
            };
            let Events { parser, parsed, .. } = &mut **events;
            let fed = parser.try_feed(&chunk, |event| {
                parsed.push_back((event.event.to_string(), event.data.to_string()))
            });
            // Events before a line that is too large are still delivered.
            if let (true, Err(too_large)) = (parsed.is_empty(), fed) {
                return Err(too_large.into());
            }
        },
    }
}

async fn publish_rest(
    driver: &Driver,
    rest: &harness_fixture::model::RestPublish,
) -> Result<ReceivedResponse, StepError> {
    let url = driver.url(&rest.path, &[]).map_err(StepError::BadUrl)?;
    let method = reqwest::Method::from_bytes(rest.method.as_bytes()).map_err(|source| {
        StepError::Method {
            method: rest.method.clone(),
            source,
        }
    })?;
    let mut headers = fixture_headers(&rest.headers);
    if !headers.iter().any(|(n, _)| n == CONTENT_TYPE.as_str()) {
        headers.push((
            CONTENT_TYPE.as_str().to_string(),
            "application/json".to_string(),
        ));
    }
    let body = serde_json::Value::Object(rest.json.clone()).to_string();
    let request = with_headers(driver.client.request(method, url), &headers)?.body(body);
    send_and_read(driver, request).await
}
