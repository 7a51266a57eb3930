//! Transcripts: what a replay actually sent and received, with timings.
//!
//! Drivers produce them; checks compare them with the fixture; snapshots record them normalized.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde_json::Value;

use crate::results::Interrupted;

/// An ordered list of header name/value pairs (names lower-case).
pub type Headers = Vec<(String, String)>;

/// All values of a header, by lower-case name.
pub fn header_values<'a>(headers: &'a Headers, name: &str) -> Vec<&'a str> {
    let name = name.to_ascii_lowercase();
    headers
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A body as received: bytes, shown as JSON, text or base64.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Body(pub Vec<u8>);

impl Body {
    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        if self.0.is_empty() {
            return None;
        }
        serde_json::from_slice(&self.0).ok()
    }

    /// The body as text, if it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The body in base64.
    pub fn base64(&self) -> String {
        BASE64.encode(&self.0)
    }

    /// A JSON view for reports and snapshots: `{"json": ..}`, `{"text": ..}` or `{"base64": ..}`.
    pub fn view(&self) -> Value {
        if self.0.is_empty() {
            serde_json::json!({"text": ""})
        } else if let Some(json) = self.json() {
            serde_json::json!({ "json": json })
        } else if let Some(text) = self.text() {
            serde_json::json!({ "text": text })
        } else {
            serde_json::json!({ "base64": self.base64() })
        }
    }
}

impl Serialize for Body {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(s)
    }
}

/// The record of one replay.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "protocol", rename_all = "lowercase")]
pub enum Transcript {
    /// A REST exchange.
    Rest(RestTranscript),
    /// A REST scenario's exchanges (format 1.1): tagged `rest` too, with `steps`.
    #[serde(rename = "rest")]
    Scenario(ScenarioTranscript),
    /// A WebSocket conversation.
    #[serde(rename = "websocket")]
    WebSocket(WsTranscript),
    /// An SSE stream.
    Sse(SseTranscript),
    /// A publish fanned out to subscribers.
    Broadcast(BroadcastTranscript),
}

/// A REST exchange.
#[derive(Debug, Clone, Serialize)]
pub struct RestTranscript {
    /// What was sent.
    pub request: SentRequest,
    /// The redirects followed, in order (only with `follow_redirects`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<Redirect>,
    /// What came back, if anything.
    pub response: Option<ReceivedResponse>,
    /// Why there is no response.
    pub interrupted: Option<Interrupted>,
}

/// The exchanges of a REST scenario, one per step reached: a step whose check failed (or that
/// was interrupted) is the last.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioTranscript {
    /// One exchange per step reached, in order.
    pub steps: Vec<RestTranscript>,
    /// The values bound by `<<capture:NAME>>`, by name; absent when none.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub captures: harness_fixture::capture::Bindings,
}

/// One redirect followed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Redirect {
    /// Its status (301, 302, 303, 307, 308).
    pub status: u16,
    /// Its `Location` header, as sent.
    pub location: String,
    /// The method of the request that followed it.
    pub method: String,
}

/// A request as sent.
#[derive(Debug, Clone, Serialize)]
pub struct SentRequest {
    /// Method.
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Headers the fixture set (defaults the client adds are not listed).
    pub headers: Headers,
    /// Body, before any content coding.
    pub body: Option<Body>,
    /// The content coding the body was sent in (REST `content_encoding`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<harness_fixture::model::Coding>,
}

/// A response as received.
#[derive(Debug, Clone, Serialize)]
pub struct ReceivedResponse {
    /// Status code.
    pub status: u16,
    /// Headers, in order received.
    pub headers: Headers,
    /// Body: decoded when the reply has a `Content-Encoding` and the body decodes (see
    /// `encoding`), else as received.
    pub body: Body,
    /// The reply's content codings, when it has some (`identity` aside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<ReplyEncoding>,
    /// Time to the full body, in microseconds.
    pub elapsed_us: u64,
    /// Whole milliseconds from sending the (first) request to the first byte of the body (to
    /// the end of the reply head, for an empty body).
    pub first_byte_ms: u64,
    /// When the pieces of the body arrived, as read from the connection.
    pub arrivals: Vec<Arrival>,
}

/// How a reply body was encoded, and whether it decoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplyEncoding {
    /// The `Content-Encoding` as sent (several lines joined with `, `).
    pub content_encoding: String,
    /// The body's length as received, in bytes.
    pub encoded_length: u64,
    /// Why the body does not decode; the response's `body` then holds the bytes as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undecodable: Option<String>,
}

/// Some bytes of a reply body that arrived at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Arrival {
    /// Whole milliseconds since the (first) request was sent.
    pub at_ms: u64,
    /// How many bytes (as received, before any content decoding).
    pub bytes: u64,
}

/// The most [`Arrival`]s a reply keeps: later reads are added to the last one, which then says
/// when the last of them came.
pub const MAX_ARRIVALS: usize = 1000;

/// Records `bytes` arriving at `at_ms`: reads within the same millisecond are one arrival, and
/// past [`MAX_ARRIVALS`] they go into the last one.
pub fn record_arrival(arrivals: &mut Vec<Arrival>, at_ms: u64, bytes: u64) {
    let full = arrivals.len() >= MAX_ARRIVALS;
    match arrivals.last_mut() {
        Some(last) if last.at_ms == at_ms || full => {
            last.at_ms = at_ms;
            last.bytes += bytes;
        }
        _ => arrivals.push(Arrival { at_ms, bytes }),
    }
}

/// A WebSocket conversation: the handshake, then one record per transcript step reached.
#[derive(Debug, Clone, Serialize)]
pub struct WsTranscript {
    /// The upgrade reply, if one came.
    pub handshake: Option<Handshake>,
    /// What each step did or got: one record per frame (several, or none, for the steps of
    /// format 1.1 that read a set of messages).
    pub steps: Vec<WsRecord>,
    /// How each step of format 1.1 (`expect_unordered`...) ended, and how many messages each
    /// step skipped by `ignore`: one entry per such step reached (none for v1 transcripts
    /// without `ignore`, which serialize as before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_ends: Vec<WsStepEnd>,
    /// The values bound by `<<capture:NAME>>` (format 1.1), by name; absent when none.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub captures: harness_fixture::capture::Bindings,
    /// Why the conversation stopped early.
    pub interrupted: Option<Interrupted>,
}

/// The end of one step that read a set of messages (or skipped some): when it stopped reading,
/// and how many messages it skipped by `ignore` (counted, not listed, so that snapshots do not
/// depend on how many heartbeats came).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WsStepEnd {
    /// Index of the step in the fixture's transcript.
    pub step: usize,
    /// Messages skipped by `ignore`.
    pub ignored: u64,
    /// Microseconds since the connection opened, when the step stopped reading.
    pub at_us: u64,
}

/// The reply to the upgrade request.
#[derive(Debug, Clone, Serialize)]
pub struct Handshake {
    /// Status (101 when accepted).
    pub status: u16,
    /// Subprotocol chosen.
    pub subprotocol: Option<String>,
    /// Headers of the reply.
    pub headers: Headers,
    /// Body of a refusal.
    pub body: Option<Body>,
}

/// A frame seen on the wire.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    /// A text message.
    Text(String),
    /// A binary message (base64 in reports).
    Binary(#[serde(serialize_with = "as_base64")] Vec<u8>),
    /// A ping.
    Ping(String),
    /// A pong.
    Pong(String),
    /// A close frame, as the server sent it.
    Close {
        /// Close code; none when the frame had none (which checks read as 1005, "no status").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<u16>,
        /// Reason.
        reason: String,
    },
    /// The connection ended without a close frame (reported as code 1006).
    Ended,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

fn as_base64<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&BASE64.encode(bytes))
}

/// One step of a WebSocket replay.
#[derive(Debug, Clone, Serialize)]
pub struct WsRecord {
    /// Index of the step in the fixture's transcript.
    pub step: usize,
    /// `sent` or `received`.
    pub direction: Direction,
    /// The frame.
    pub frame: Frame,
    /// Microseconds since the connection opened.
    pub at_us: u64,
}

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the harness.
    Sent,
    /// From the server.
    Received,
}

/// An SSE stream as read.
#[derive(Debug, Clone, Serialize)]
pub struct SseTranscript {
    /// What was sent.
    pub request: SentRequest,
    /// Status, if a reply came.
    pub status: Option<u16>,
    /// Reply headers.
    pub headers: Headers,
    /// Events dispatched, in order (those skipped by the fixture's `ignore` aside).
    pub events: Vec<ReceivedEvent>,
    /// Events skipped by the fixture's `ignore` (format 1.1): counted, not listed, so that
    /// snapshots do not depend on how many heartbeats came.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ignored: u64,
    /// The body of a reply that is not an event stream.
    pub body: Option<Body>,
    /// How reading stopped.
    pub end: StreamEnd,
    /// Microseconds from the request to where reading stopped (closed or stopped reading).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_us: Option<u64>,
    /// Why the stream could not be read to its expected end.
    pub interrupted: Option<Interrupted>,
}

/// An event as dispatched by the parser.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceivedEvent {
    /// Event type (`message` when the stream named none).
    pub event: String,
    /// Last event id.
    pub id: String,
    /// Reconnection time, ms.
    pub retry: Option<u64>,
    /// Data, lines joined with `\n`.
    pub data: String,
    /// Microseconds since the request was sent.
    pub at_us: u64,
}

/// How reading a stream stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamEnd {
    /// The server ended the stream.
    Closed,
    /// The harness stopped reading after the expected events.
    StoppedReading,
    /// Reading failed or timed out (see `interrupted`).
    Interrupted,
}

impl Transcript {
    /// Why the replay stopped early, if it did.
    pub fn interrupted(&self) -> Option<&Interrupted> {
        match self {
            Transcript::Rest(t) => t.interrupted.as_ref(),
            Transcript::Scenario(t) => t.steps.last().and_then(|s| s.interrupted.as_ref()),
            Transcript::WebSocket(t) => t.interrupted.as_ref(),
            Transcript::Sse(t) => t.interrupted.as_ref(),
            Transcript::Broadcast(t) => t.interrupted.as_ref(),
        }
    }
}

/// A broadcast: each subscriber's connection and delivery, and the publish.
#[derive(Debug, Clone, Serialize)]
pub struct BroadcastTranscript {
    /// The subscribers, in fixture order (a WebSocket publisher last, being one too).
    pub subscribers: Vec<SubscriberRecord>,
    /// The reply to a REST publish.
    pub publish: Option<ReceivedResponse>,
    /// Why the broadcast could not complete.
    pub interrupted: Option<Interrupted>,
}

/// One subscriber as it went.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriberRecord {
    /// `websocket` or `sse`.
    pub kind: &'static str,
    /// The path subscribed to.
    pub path: String,
    /// Upgrade or response status.
    pub status: Option<u16>,
    /// The first message of a WebSocket subscriber, when the fixture expects one.
    pub ack: Option<String>,
    /// What was delivered after the publish.
    pub delivery: Option<Delivery>,
}

/// A delivered message.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// The SSE event type (`None` for WebSocket).
    pub event: Option<String>,
    /// The message text (SSE data).
    pub data: String,
    /// Microseconds from the publish to the delivery.
    pub after_publish_us: u64,
}
