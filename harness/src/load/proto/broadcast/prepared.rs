//! A broadcast fixture prepared for load: where each of its subscribers connects, what a
//! delivery (and an ack) must be, where `run` reports their differences, and how the harness
//! publishes; the subscription itself (a WebSocket with its ack, an SSE stream's head).

use std::time::Duration;

use harness_fixture::model::{
    BodyMatch, BroadcastExpected, BroadcastFixture, MessageMatch, Publish, RestPublish, Subscriber,
};
use hyper::header::{CONTENT_TYPE, HOST, HeaderMap, HeaderValue};
use hyper::{Method, Uri};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use url::Url;

use crate::check::matcher::InvalidMatcher;
use crate::check::{DEFAULT_TYPE_DIFFERS, expected_event_type};
use crate::load::expect::{DIFFERENT_TEXT, JsonExpect, TextExpect};
use crate::load::net::chunked::Framing;
use crate::load::net::endpoint::{Endpoint, header_name, header_value};
use crate::load::net::sse::open_stream;
use crate::load::net::ws::{self, Socket, next_data, ws_config};
use crate::load::recorder::ErrorKind;
use crate::load::source::SourceAddrs;
use crate::load::worker::{LoadError, Unloadable};
use crate::wire::tls::TlsSettings;
use crate::wire::transport::Stream;

/// The key the harness adds to every message it publishes.
pub(super) const SEQ: &str = "seq";
/// Bytes read from an SSE socket at once.
pub(super) const READ_BUFFER: usize = 16 * 1024;

/// What one delivery (or ack) must be.
#[derive(Debug)]
pub(super) enum DeliveryExpect {
    Text(TextExpect),
    Json(JsonExpect),
}

/// Where `run` reports the differences of one of the fixture's subscribers
/// (`/subscribers/1/delivery/json`), or of the WebSocket publisher (`/publish`).
#[derive(Debug)]
pub(super) struct Paths {
    pub(super) status: String,
    pub(super) ack: String,
    pub(super) delivery: String,
    pub(super) event: String,
}

impl Paths {
    pub(super) fn new(base: &str, expected: &BroadcastExpected) -> Paths {
        let key = |want: &MessageMatch| match want {
            MessageMatch::Text(_) => "text",
            MessageMatch::Json(_) => "json",
            MessageMatch::JsonPartial(_) => "json_partial",
        };
        let ack = expected.ack.as_ref().map_or("json", key);
        Paths {
            status: format!("{base}/status"),
            ack: format!("{base}/ack/{ack}"),
            delivery: format!("{base}/delivery/{}", key(&expected.delivery)),
            event: format!("{base}/event"),
        }
    }

    /// The subscription was refused with status `got`.
    pub(super) fn refused(&self, got: u16) -> ErrorKind {
        ErrorKind::differs(&self.status, format!("subscription refused, got {got}"))
    }
}

/// How the harness publishes.
#[derive(Debug)]
pub(super) enum Publisher {
    Rest(RestPublisher),
    WebSocket { url: Url },
}

/// A REST publish: the request every message is the body of, and the status its reply must have
/// (any success when the fixture names none).
#[derive(Debug)]
pub(super) struct RestPublisher {
    pub(super) method: Method,
    pub(super) uri: Uri,
    pub(super) headers: HeaderMap,
    pub(super) status: Option<u16>,
}

/// Where one subscriber connects.
#[derive(Debug)]
pub(super) enum Target {
    WebSocket(Url),
    /// The request's bytes.
    Sse(Vec<u8>),
}

/// One of the fixture's subscribers: where it connects, and where `run` reports its differences.
#[derive(Debug)]
pub(super) struct SubscriberTarget {
    pub(super) target: Target,
    pub(super) paths: Paths,
}

/// A broadcast fixture prepared for load.
#[derive(Debug)]
pub(super) struct BroadcastLoad {
    pub(super) endpoint: Endpoint,
    pub(super) targets: Vec<SubscriberTarget>,
    /// The WebSocket publisher's paths (its ack).
    pub(super) publisher_paths: Paths,
    pub(super) ack: Option<DeliveryExpect>,
    pub(super) delivery: DeliveryExpect,
    /// The type of SSE deliveries (`message` when the fixture names none).
    pub(super) event: TextExpect,
    /// What a delivery of another type differs by.
    pub(super) event_differs: &'static str,
    pub(super) publisher: Publisher,
    /// The message without its closing brace (and without a `seq` of the fixture's).
    pub(super) message_prefix: String,
}

pub(super) fn compile(want: &MessageMatch) -> Result<DeliveryExpect, InvalidMatcher> {
    Ok(match want {
        MessageMatch::Text(text) => DeliveryExpect::Text(TextExpect::new(text)?),
        MessageMatch::Json(value) => DeliveryExpect::Json(JsonExpect::new(value, BodyMatch::Exact)),
        MessageMatch::JsonPartial(value) => {
            DeliveryExpect::Json(JsonExpect::new(value, BodyMatch::Partial))
        }
    })
}

impl DeliveryExpect {
    /// `None` when `text` is as expected, else its first difference under `base`.
    pub(super) fn check_text(&self, text: &str, base: &str) -> Option<ErrorKind> {
        match self {
            DeliveryExpect::Text(want) => {
                (!want.matches(Some(text))).then(|| ErrorKind::differs(base, DIFFERENT_TEXT))
            }
            DeliveryExpect::Json(want) => want.check(text.as_bytes(), base, "message is not JSON"),
        }
    }

    /// Like [`DeliveryExpect::check_text`] for a delivery parsed (its `seq` already removed).
    pub(super) fn check_value(&self, value: &serde_json::Value, base: &str) -> Option<ErrorKind> {
        match self {
            DeliveryExpect::Text(want) => (!want.matches(Some(&value.to_string())))
                .then(|| ErrorKind::differs(base, DIFFERENT_TEXT)),
            DeliveryExpect::Json(want) => want.check_value(value, base),
        }
    }
}

impl BroadcastLoad {
    /// Resolves `base` and compiles the fixture: its subscribers' targets, its publisher, what
    /// deliveries (and acks) must be.
    pub(super) async fn prepare(
        fixture: &BroadcastFixture,
        base: &Url,
        tls: &TlsSettings,
        sources: &SourceAddrs,
    ) -> Result<BroadcastLoad, LoadError> {
        if fixture.subscribers.is_empty() {
            return Err(Unloadable::NoSubscriber.into());
        }
        let endpoint = Endpoint::resolve(base, tls, sources).await?;
        let expected = &fixture.expected;
        let targets = subscriber_targets(&endpoint, &fixture.subscribers, expected)?;
        let publisher = match &fixture.publish {
            Publish::Rest(rest) => Publisher::Rest(RestPublisher::new(&endpoint, rest, expected)?),
            Publish::Websocket(ws) => Publisher::WebSocket {
                url: ws_url(&endpoint, &ws.path)?,
            },
        };
        let message_prefix = message_prefix(&fixture.publish);
        Ok(BroadcastLoad {
            endpoint,
            targets,
            publisher_paths: Paths::new("/publish", expected),
            ack: expected
                .ack
                .as_ref()
                .map(compile)
                .transpose()
                .map_err(Unloadable::from)?,
            delivery: compile(&expected.delivery).map_err(Unloadable::from)?,
            event: TextExpect::new(expected_event_type(expected.event.as_deref()))
                .map_err(Unloadable::from)?,
            event_differs: if expected.event.is_none() {
                DEFAULT_TYPE_DIFFERS
            } else {
                DIFFERENT_TEXT
            },
            publisher,
            message_prefix,
        })
    }

    /// Message `seq`: the fixture's object plus `"seq": seq`.
    pub(super) fn message(&self, seq: u64) -> String {
        format!("{}\"{SEQ}\":{seq}}}", self.message_prefix)
    }

    /// Opens subscriber `index`'s connection; it is subscribed when this returns.
    pub(super) async fn subscribe(
        &self,
        index: usize,
        timeout: Duration,
    ) -> Result<Connection, ErrorKind> {
        let SubscriberTarget { target, paths } = self.subscriber(index);
        let opening = async {
            match target {
                Target::WebSocket(url) => {
                    let socket = self.connect_ws(url, paths).await?;
                    Ok(Connection::Ws(Box::new(socket)))
                }
                Target::Sse(request) => {
                    let mut buffer = Vec::with_capacity(READ_BUFFER);
                    let refused = |got| paths.refused(got);

                    let (stream, framing) =
                        open_stream(&self.endpoint, request, 200, refused, &[], &mut buffer)
                            .await?;
                    Ok(Connection::Sse {
                        stream,
                        framing,
                        pending: buffer,
                    })
                }
            }
        };
        tokio::time::timeout(timeout, opening)
            .await
            .unwrap_or(Err(ErrorKind::Timeout))
    }

    /// The fixture's subscriber that connection `index` is.
    pub(super) fn subscriber(&self, index: usize) -> &SubscriberTarget {
        &self.targets[index % self.targets.len()]
    }

    /// A WebSocket connection, its ack read and checked (when the fixture expects one);
    /// differences are reported under `paths`.
    pub(super) async fn connect_ws(&self, url: &Url, paths: &Paths) -> Result<Socket, ErrorKind> {
        let request = url
            .as_str()
            .into_client_request()
            .map_err(|e| ErrorKind::Other(e.to_string()))?;
        let refused = |got| paths.refused(got);
        let mut socket = ws::connect(&self.endpoint, request, ws_config(), refused).await?;
        if let Some(ack) = &self.ack {
            let message = next_data(&mut socket).await?;
            let text = message.to_text().map_err(|_| ErrorKind::Garbage)?;
            if let Some(difference) = ack.check_text(text, &paths.ack) {
                return Err(difference);
            }
        }
        Ok(socket)
    }

    /// Checks one delivery's text: its seq, and its first difference (under `base`) if any.
    pub(super) fn check_delivery(
        &self,
        text: &str,
        base: &str,
    ) -> Result<(u64, Option<ErrorKind>), ErrorKind> {
        let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) else {
            return Err(ErrorKind::Garbage);
        };
        let seq = value
            .as_object_mut()
            .and_then(|object| object.remove(SEQ))
            .and_then(|seq| seq.as_u64())
            .ok_or_else(|| ErrorKind::Other("delivery without seq".into()))?;
        Ok((seq, self.delivery.check_value(&value, base)))
    }
}

/// Where each of the fixture's `subscribers` connects, and where `run` reports its differences.
fn subscriber_targets(
    endpoint: &Endpoint,
    subscribers: &[Subscriber],
    expected: &BroadcastExpected,
) -> Result<Vec<SubscriberTarget>, LoadError> {
    let mut targets = Vec::new();
    for (index, subscriber) in subscribers.iter().enumerate() {
        let target = match subscriber {
            Subscriber::Websocket(path) => Target::WebSocket(ws_url(endpoint, path)?),
            Subscriber::Sse(path) => {
                let uri = endpoint.target(path, &[])?;
                let host = endpoint.host.to_str().unwrap_or_default();
                Target::Sse(
                    format!(
                        "GET {uri} HTTP/1.1\r\nhost: {host}\r\naccept: text/event-stream\r\n\r\n"
                    )
                    .into_bytes(),
                )
            }
        };
        targets.push(SubscriberTarget {
            target,
            paths: Paths::new(&format!("/subscribers/{index}"), expected),
        });
    }
    Ok(targets)
}

/// The WebSocket URL of `path` on `endpoint` (`wss` when it is https).
fn ws_url(endpoint: &Endpoint, path: &str) -> Result<Url, LoadError> {
    let mut url = endpoint.url(path, &[])?;
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    let _ = url.set_scheme(scheme);
    Ok(url)
}

impl RestPublisher {
    /// The fixture's REST publish: its method, target and headers (JSON unless it names a
    /// content type), and the status `expected` names.
    fn new(
        endpoint: &Endpoint,
        rest: &RestPublish,
        expected: &BroadcastExpected,
    ) -> Result<RestPublisher, LoadError> {
        let method =
            Method::from_bytes(rest.method.as_bytes()).map_err(|source| Unloadable::Method {
                method: rest.method.clone(),
                source,
            })?;
        let mut headers = HeaderMap::new();
        headers.insert(HOST, endpoint.host.clone());
        for (name, value) in &rest.headers {
            headers.append(header_name(name)?, header_value(name, value)?);
        }
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        Ok(RestPublisher {
            method,
            uri: endpoint.target(&rest.path, &[])?,
            headers,
            status: expected.publish.as_ref().map(|p| p.status),
        })
    }
}

/// The published message without its closing brace: the fixture's object (without a `seq` of
/// its own) ready for `"seq": n}`.
fn message_prefix(publish: &Publish) -> String {
    let mut message = publish.message().clone();
    message.remove(SEQ);
    let mut message_prefix = serde_json::Value::Object(message.clone()).to_string();
    message_prefix.pop();
    if !message.is_empty() {
        message_prefix.push(',');
    }
    message_prefix
}

/// An open subscription.
pub(super) enum Connection {
    Ws(Box<Socket>),
    Sse {
        stream: Stream,
        framing: Framing,
        /// The body's first bytes, read with the head.
        pending: Vec<u8>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::proto::broadcast::prepared::Target;

    pub(super) fn fixture(delivery: serde_json::Value) -> BroadcastFixture {
        serde_json::from_value(serde_json::json!({
            "subscribers": [{"websocket": "/b/ws"}, {"sse": "/b/events"}],
            "publish": {"rest": {"path": "/b", "json": {"payload": "tick", "seq": "theirs"}}},
            "expected": {"publish": {"status": 202}, "ack": {"json": {"subscribed": "b"}},
                         "delivery": delivery, "event": "b"}
        }))
        .unwrap()
    }

    #[tokio::test]
    pub(super) async fn messages_carry_a_seq_that_the_check_ignores() {
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        let load = BroadcastLoad::prepare(
            &fixture(serde_json::json!({"json": {"payload": "tick"}})),
            &base,
            &TlsSettings::default(),
            &SourceAddrs::default(),
        )
        .await
        .unwrap();
        assert_eq!(load.message(7), r#"{"payload":"tick","seq":7}"#);
        let delivery = &load.targets[1].paths.delivery;
        assert_eq!(delivery, "/subscribers/1/delivery/json");
        assert_eq!(
            load.check_delivery(&load.message(7), delivery),
            Ok((7, None))
        );
        let (seq, differs) = load
            .check_delivery(r#"{"payload":"tock","seq":3}"#, delivery)
            .unwrap();
        assert_eq!(seq, 3);
        assert_eq!(
            differs.map(|kind| kind.to_string()).as_deref(),
            Some("/subscribers/1/delivery/json/payload: different string")
        );
        assert!(
            load.check_delivery(r#"{"payload":"tick"}"#, delivery)
                .is_err()
        );
        assert!(load.check_delivery("nope", delivery).is_err());
        assert!(
            matches!(&load.targets[1].target, Target::Sse(r) if r.starts_with(b"GET /b/events "))
        );
        assert!(matches!(
            &load.targets[0].target,
            Target::WebSocket(u) if u.as_str() == "ws://127.0.0.1:9/b/ws"
        ));
        assert_eq!(
            load.targets[0].paths.refused(403).to_string(),
            "/subscribers/0/status: subscription refused, got 403"
        );
        assert_eq!(load.targets[0].paths.ack, "/subscribers/0/ack/json");
    }
}
