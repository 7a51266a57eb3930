//! WebSocket load on a JSON-RPC conversation (format 1.1): a transcript whose every `send` is
//! a JSON-RPC message (`{"jsonrpc": "2.0", "method": ...}`). Consecutive sends form a burst,
//! sent back to back, each request (a send with an `id`) its own operation with its own slot of
//! the schedule; the replies that follow (`expect`, `expect_unordered`) are matched to their
//! requests **by id**, in whatever order they come, so a slow reply delays only its own
//! request's latency. Messages without an `id` (notifications, subscription items, heartbeats)
//! are skipped; a reply to an id the burst is not waiting for is a difference; `expect_none` is
//! not measured (the silence is skipped).
//!
//! Subscription items: an `expect_count` in a burst waits for that many items (messages without
//! an id that match it), checked but not operations of their own. Where the fixture's handler
//! declares the subscription (`subscribe` with `notification`), only messages of that method are
//! items (another message that matches no expected item is a difference), and with a
//! `timestamp_field` each item's delivery latency (receive time minus that Unix-microsecond
//! field of its `params`, same machine) goes to the `subscription_items` histogram.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use harness_fixture::handler::WsBehavior;
use harness_fixture::model::{WsFixture, WsMatch, WsMessage, WsStep};
use harness_fixture::rpc::RpcMethod;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::ws_expect::MessageExpect;
use crate::load::net::ws::{Socket, next_data_until, send_until};
use crate::load::recorder::ErrorKind;
use crate::load::schedule::Slot;
use crate::load::worker::{Unloadable, Worker};
use crate::wire::Deadline;
use crate::wire::request::encode_ws_message;

/// One message of a burst: a request (with the id its reply carries) or a notification.
#[derive(Debug)]
struct RpcSend {
    message: Message,
    id: Option<Value>,
}

/// Sends back to back, then the replies they get, matched by id, and the subscription items
/// they start.
#[derive(Debug, Default)]
struct Burst {
    sends: Vec<RpcSend>,
    replies: Vec<(Value, MessageExpect)>,
    items: Vec<Items>,
}

/// An `expect_count` of a burst: how many items, what each must match, by when.
#[derive(Debug)]
struct Items {
    count: usize,
    expect: MessageExpect,
    within: Option<Duration>,
    /// Its step's pointer: `/transcript/3/expect_count`.
    pointer: String,
}

/// A JSON-RPC conversation prepared for load: its bursts and what the handler says of the
/// subscription items (notification method to timestamp field).
#[derive(Debug)]
pub(super) struct RpcConversation {
    bursts: Vec<Burst>,
    notifications: HashMap<String, Option<String>>,
}

impl RpcConversation {
    /// With subscription items to wait for: the timestamp field the handler names, if any (the
    /// result document's `subscription_items`).
    pub(super) fn subscription_items(&self) -> Option<Option<String>> {
        self.bursts.iter().any(|b| !b.items.is_empty()).then(|| {
            let mut fields = self.notifications.values().flatten();
            fields.next().cloned()
        })
    }
}

/// Whether the transcript is a JSON-RPC conversation: it sends something, and every `send` is
/// a JSON-RPC message.
pub(super) fn is_rpc(fixture: &WsFixture) -> bool {
    let mut sends = fixture.transcript.iter().filter_map(|step| match step {
        WsStep::Send(message) => Some(message),
        _ => None,
    });
    let first = sends.next();
    first.is_some()
        && first
            .into_iter()
            .chain(sends)
            .all(|m| matches!(m, WsMessage::Json(Value::Object(o)) if o.get("jsonrpc") == Some(&Value::from("2.0")) && o.get("method").is_some_and(Value::is_string)))
}

/// The conversation of a JSON-RPC transcript, up to its close. Refused: replies that are not
/// matched by id (`expect_any_of`, a text, schema or binary matcher, a matcher without a
/// literal `id`), a request whose reply the burst does not expect, a reply to no request of it,
/// items expected before anything was sent.
pub(super) fn conversation(fixture: &WsFixture) -> Result<RpcConversation, Unloadable> {
    Ok(RpcConversation {
        bursts: bursts(fixture)?,
        notifications: notifications(fixture),
    })
}

/// The subscriptions the fixture's `rpc` handler declares: their notification method and the
/// field of its params holding the send time.
fn notifications(fixture: &WsFixture) -> HashMap<String, Option<String>> {
    let Some(handler) = fixture
        .handler
        .as_ref()
        .filter(|h| h.behavior == WsBehavior::Rpc)
    else {
        return HashMap::new();
    };
    handler
        .methods
        .values()
        .filter_map(|method| match method {
            RpcMethod::Subscribe(s) => Some((s.notification.clone(), s.timestamp_field.clone())),
            _ => None,
        })
        .collect()
}

fn bursts(fixture: &WsFixture) -> Result<Vec<Burst>, Unloadable> {
    let mut bursts: Vec<Burst> = Vec::new();
    let mut receiving = false;
    for (index, step) in fixture.transcript.iter().enumerate() {
        let refuse = |kind| Unloadable::UnsupportedStep {
            pointer: format!("/transcript/{index}"),
            kind,
        };
        match step {
            WsStep::Send(message) => {
                if receiving || bursts.is_empty() {
                    bursts.push(Burst::default());
                    receiving = false;
                }
                let id = match message {
                    WsMessage::Json(Value::Object(o)) => o.get("id").cloned(),
                    _ => None,
                };
                let message = encode_ws_message(message)?;
                if let Some(burst) = bursts.last_mut() {
                    burst.sends.push(RpcSend { message, id });
                }
            }
            // Before the first send: the greeting, read once per connection.
            WsStep::Expect(_) if bursts.is_empty() => {}
            WsStep::Expect(expect) => {
                receiving = true;
                add_reply(&mut bursts, &expect.matches, index)?;
            }
            WsStep::ExpectUnordered(set) => {
                receiving = true;
                for want in &set.messages {
                    add_reply(&mut bursts, want, index)?;
                }
            }
            WsStep::ExpectNone(_) | WsStep::Ping(_) | WsStep::ExpectPong(_) => {}
            WsStep::ExpectHandshake(_) => {}
            WsStep::Close(_) | WsStep::ExpectClose(_) => break,
            WsStep::ExpectCount(count) => {
                receiving = true;
                let pointer = format!("/transcript/{index}/expect_count");
                let items = Items {
                    count: count.count,
                    expect: MessageExpect::at(&count.message, format!("{pointer}/message"))?,
                    within: count.within_ms.map(Duration::from_millis),
                    pointer,
                };
                match bursts.last_mut() {
                    Some(burst) => burst.items.push(items),
                    None => return Err(refuse("an expect_count before any send")),
                }
            }
            WsStep::ExpectAnyOf(_) => {
                return Err(refuse(step.kind()));
            }
        }
    }
    for burst in &bursts {
        for send in &burst.sends {
            if let Some(id) = &send.id
                && !burst.replies.iter().any(|(reply, _)| reply == id)
            {
                return Err(Unloadable::RpcUnmatched {
                    id: id.to_string(),
                    why: "no reply to it is expected",
                });
            }
        }
    }
    if !bursts.iter().any(|b| !b.replies.is_empty()) {
        return Err(Unloadable::NoRoundTrip);
    }
    Ok(bursts)
}

/// Adds the reply matcher `want` (of the step at `index`) to the last burst, keyed by its id.
fn add_reply(bursts: &mut [Burst], want: &WsMatch, index: usize) -> Result<(), Unloadable> {
    let id = match want {
        WsMatch::Json(Value::Object(o)) | WsMatch::JsonPartial(Value::Object(o)) => o
            .get("id")
            .filter(|id| !id.as_str().is_some_and(|s| s.starts_with("<<")))
            .cloned(),
        _ => None,
    };
    let (Some(id), Some(burst)) = (id, bursts.last_mut()) else {
        return Err(Unloadable::UnsupportedStep {
            pointer: format!("/transcript/{index}"),
            kind: "a reply matched by anything but a literal `id`",
        });
    };
    if !burst.sends.iter().any(|s| s.id.as_ref() == Some(&id)) {
        return Err(Unloadable::RpcUnmatched {
            id: id.to_string(),
            why: "the reply answers no request sent before it",
        });
    }
    burst.replies.push((id, MessageExpect::new(want, index)?));
    Ok(())
}

/// Loops the bursts until the connection fails or a reply differs (which renews it).
pub(super) async fn converse(rpc: &RpcConversation, socket: &mut Socket, worker: &mut Worker) {
    loop {
        for burst in &rpc.bursts {
            if !burst_once(rpc, burst, socket, worker).await {
                return;
            }
        }
    }
}

/// One burst: every send (each request on its own slot), then the replies by id and the items.
/// Whether the connection may go on.
async fn burst_once(
    rpc: &RpcConversation,
    burst: &Burst,
    socket: &mut Socket,
    worker: &mut Worker,
) -> bool {
    // The requests waiting for their reply: id, slot, and whether answered.
    let mut waiting: Vec<(&Value, Slot, bool)> = Vec::new();
    for send in &burst.sends {
        let deadline = Deadline::after(worker.timeout);
        let slot = match &send.id {
            Some(id) => {
                let slot = worker.pacer.wait().await;
                worker.recorder.lag(&slot);
                worker.recorder.begin();
                waiting.push((id, slot, false));
                Some(slot)
            }
            None => None,
        };
        if let Err(kind) = send_until(socket, send.message.clone(), deadline).await {
            fail_waiting(&mut waiting, worker, &kind);
            if slot.is_none() {
                worker.recorder.failure(Instant::now(), kind, None);
            }
            return false;
        }
    }
    // Replies are due within the timeout; items within their step's `within_ms` (else the
    // timeout), counted from the end of the sends.
    let replies_due = Deadline::after(worker.timeout);
    let items_wait = burst
        .items
        .iter()
        .map(|items| items.within.unwrap_or(worker.timeout))
        .max()
        .unwrap_or(worker.timeout);
    let items_due_by = Deadline::after(items_wait);
    let mut healthy = true;
    let mut received = vec![0; burst.items.len()];
    let items_due =
        |received: &[usize]| burst.items.iter().zip(received).any(|(i, n)| *n < i.count);
    loop {
        let replies_pending = waiting.iter().any(|(_, _, answered)| !answered);
        let deadline = match (replies_pending, items_due(&received)) {
            (false, false) => break,
            (true, false) => replies_due,
            (false, true) => items_due_by,
            (true, true) => replies_due.max(items_due_by),
        };
        let message = match next_data_until(socket, deadline).await {
            Ok(message) => message,
            Err(kind) => {
                fail_waiting(&mut waiting, worker, &kind);
                fail_items(burst, &received, worker, &kind, worker.timeout);
                return false;
            }
        };
        let at = Instant::now();
        let id = match reply_id(&message) {
            Reply::Id(id) => id,
            Reply::Notification => {
                match take_item(rpc, burst, &message, &mut received) {
                    Item::Counted(latency_us) => {
                        let latencies: &[u64] = latency_us.as_slice();
                        worker.recorder.items(at, latencies, 1);
                    }
                    Item::Skipped => {}
                    Item::Differs(kind) => {
                        worker.recorder.begin();
                        worker.recorder.failure(at, kind, None);
                        healthy = false;
                    }
                }
                continue;
            }
            Reply::Garbage(why) => {
                worker
                    .recorder
                    .failure(at, ErrorKind::differs("/transcript", why), None);
                healthy = false;
                continue;
            }
        };
        let Some(entry) = waiting
            .iter_mut()
            .find(|(w, _, answered)| **w == id && !answered)
        else {
            let why = format!("a reply to id {id}, which no request in flight has");
            worker
                .recorder
                .failure(at, ErrorKind::differs("/transcript", why), None);
            healthy = false;
            continue;
        };
        entry.2 = true;
        let slot = entry.1;
        let latency = at.saturating_duration_since(slot.measured_from());
        let expect = burst
            .replies
            .iter()
            .find(|(reply, _)| *reply == id)
            .map(|(_, e)| e);
        match expect.map(|e| e.check(&message)) {
            Some(Err(kind)) => {
                worker.recorder.failure(slot.intended, kind, Some(latency));
                healthy = false;
            }
            _ => worker.recorder.success(slot.intended, latency),
        }
    }
    healthy
}

/// What a message without an id is to the burst's expected items.
enum Item {
    /// One of them; its delivery latency when it carries the handler's timestamp.
    Counted(Option<u64>),
    /// Not an item (a heartbeat, a notification of no declared subscription), or one past the
    /// count (a subscription that goes on).
    Skipped,
    /// A declared subscription's item that matches no expected item still due.
    Differs(ErrorKind),
}

/// Counts `message` as one of the burst's items still due (the first expectation it matches).
fn take_item(
    rpc: &RpcConversation,
    burst: &Burst,
    message: &Message,
    received: &mut [usize],
) -> Item {
    let due = || {
        burst
            .items
            .iter()
            .zip(received.iter())
            .enumerate()
            .filter(|(_, (items, n))| **n < items.count)
            .map(|(index, (items, _))| (index, items))
    };
    if due().next().is_none() {
        return Item::Skipped;
    }
    let parsed = match message {
        Message::Text(text) => serde_json::from_str::<Value>(text).ok(),
        _ => None,
    };
    let method = parsed
        .as_ref()
        .and_then(|v| v.get("method"))
        .and_then(Value::as_str);
    let timestamp_field = match method.and_then(|m| rpc.notifications.get(m)) {
        Some(field) => field.as_deref(),
        // Not a declared subscription's item: a heartbeat, say; without declarations, an item
        // only if it matches.
        None if !rpc.notifications.is_empty() => return Item::Skipped,
        None => None,
    };
    let mut first_difference = None;
    let mut counted = None;
    for (index, items) in due() {
        match items.expect.check(message) {
            Ok(()) => {
                counted = Some(index);
                break;
            }
            Err(kind) => {
                first_difference.get_or_insert(kind);
            }
        }
    }
    match (counted, first_difference) {
        (Some(index), _) => {
            received[index] += 1;
            let sent = timestamp_field
                .and_then(|field| parsed.as_ref()?.get("params")?.get(field)?.as_u64());
            Item::Counted(sent.map(|sent| unix_us().saturating_sub(sent)))
        }
        (None, Some(kind)) if !rpc.notifications.is_empty() => Item::Differs(kind),
        _ => Item::Skipped,
    }
}

/// Fails each `expect_count` still due when the burst could not go on: when its time ran out
/// (its `within_ms`, else `timeout`), by saying how many came; otherwise with the transport's
/// `kind`.
fn fail_items(
    burst: &Burst,
    received: &[usize],
    worker: &mut Worker,
    kind: &ErrorKind,
    timeout: Duration,
) {
    for (items, &got) in burst.items.iter().zip(received) {
        if got >= items.count {
            continue;
        }
        let kind = match kind {
            ErrorKind::Timeout => ErrorKind::differs(
                items.pointer.as_str(),
                format!(
                    "{got} of {} items within {} ms",
                    items.count,
                    items.within.unwrap_or(timeout).as_millis()
                ),
            ),
            other => other.clone(),
        };
        worker.recorder.begin();
        worker.recorder.failure(Instant::now(), kind, None);
    }
}

/// Now, in Unix microseconds.
fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Fails every request still waiting with `kind`.
fn fail_waiting(waiting: &mut [(&Value, Slot, bool)], worker: &mut Worker, kind: &ErrorKind) {
    for (_, slot, answered) in waiting.iter_mut().filter(|(_, _, a)| !a) {
        *answered = true;
        worker.recorder.failure(slot.intended, kind.clone(), None);
    }
}

/// What a received message is to a JSON-RPC client.
enum Reply {
    /// A reply (or an error) to the request with this id.
    Id(Value),
    /// A message without an id: a notification, a subscription item, a heartbeat.
    Notification,
    /// Not a JSON-RPC message at all.
    Garbage(&'static str),
}

/// Only the `id` of a message: the rest is skipped without being built (the expectation
/// compares the whole reply, from its bytes, when it is one).
#[derive(serde::Deserialize)]
struct Head {
    #[serde(default, deserialize_with = "present")]
    id: Option<Value>,
}

/// A present member as `Some`, even `null` (a reply to a request whose id is null).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    <Value as serde::Deserialize>::deserialize(d).map(Some)
}

fn reply_id(message: &Message) -> Reply {
    let Message::Text(text) = message else {
        return Reply::Garbage("expected a text message");
    };
    // A derived struct would read a JSON array as its fields too.
    let object = text.trim_start().starts_with('{');
    match serde_json::from_str::<Head>(text) {
        Ok(_) if !object => Reply::Garbage("a JSON-RPC message is an object"),
        Ok(Head { id: Some(id) }) => Reply::Id(id),
        Ok(Head { id: None }) => Reply::Notification,
        // A batch reply is not matched under load (batches are refused).
        Err(_) if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() => {
            Reply::Garbage("a JSON-RPC message is an object")
        }
        Err(_) => Reply::Garbage("message is not JSON"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_told_by_their_id_alone() {
        let id = |text: &str| match reply_id(&Message::text(text)) {
            Reply::Id(id) => Some(id),
            _ => None,
        };
        assert_eq!(
            id(r#"{"jsonrpc":"2.0","id":7,"result":{"deep":[1,2]}}"#),
            Some(Value::from(7))
        );
        assert_eq!(id(r#"{"id":null,"error":{}}"#), Some(Value::Null));
        assert!(matches!(
            reply_id(&Message::text(r#"{"method":"tick"}"#)),
            Reply::Notification
        ));
        assert!(matches!(
            reply_id(&Message::text("[1]")),
            Reply::Garbage("a JSON-RPC message is an object")
        ));
        assert!(matches!(
            reply_id(&Message::text("{nope")),
            Reply::Garbage("message is not JSON")
        ));
        assert!(matches!(
            reply_id(&Message::binary(vec![1u8])),
            Reply::Garbage(_)
        ));
    }
}
