//! WebSocket load on a JSON-RPC conversation (format 1.1): a transcript whose every `send` is
//! a JSON-RPC message (`{"jsonrpc": "2.0", "method": ...}`). Consecutive sends form a burst,
//! sent back to back, each request (a send with an `id`) its own operation with its own slot of
//! the schedule; the replies that follow (`expect`, `expect_unordered`) are matched to their
//! requests **by id**, in whatever order they come, so a slow reply delays only its own
//! request's latency. Messages without an `id` (notifications, subscription items, heartbeats)
//! are skipped; a reply to an id the burst is not waiting for is a difference; `expect_none` is
//! not measured (the silence is skipped).

use std::time::Instant;

use harness_fixture::model::{WsFixture, WsMatch, WsMessage, WsStep};
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

/// Sends back to back, then the replies they get, matched by id.
#[derive(Debug, Default)]
pub(super) struct Burst {
    sends: Vec<RpcSend>,
    replies: Vec<(Value, MessageExpect)>,
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

/// The bursts of a JSON-RPC transcript, up to its close. Refused: steps that are not matched by
/// id (`expect_count`, `expect_any_of`, a text, schema or binary matcher, a matcher without a
/// literal `id`), a request whose reply the burst does not expect, a reply to no request of it.
pub(super) fn bursts(fixture: &WsFixture) -> Result<Vec<Burst>, Unloadable> {
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
            WsStep::ExpectCount(_) | WsStep::ExpectAnyOf(_) => {
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
pub(super) async fn converse(bursts: &[Burst], socket: &mut Socket, worker: &mut Worker) {
    loop {
        for burst in bursts {
            if !burst_once(burst, socket, worker).await {
                return;
            }
        }
    }
}

/// One burst: every send (each request on its own slot), then the replies by id. Whether the
/// connection may go on.
async fn burst_once(burst: &Burst, socket: &mut Socket, worker: &mut Worker) -> bool {
    // The requests waiting for their reply: id, slot, and whether answered.
    let mut waiting: Vec<(&Value, Slot, bool)> = Vec::new();
    for send in &burst.sends {
        let deadline = Deadline::after(worker.timeout);
        let slot = match &send.id {
            Some(id) => {
                let slot = worker.pacer.wait().await;
                worker.recorder.lag(slot.intended, slot.lag);
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
    let deadline = Deadline::after(worker.timeout);
    let mut healthy = true;
    while waiting.iter().any(|(_, _, answered)| !answered) {
        let message = match next_data_until(socket, deadline).await {
            Ok(message) => message,
            Err(kind) => {
                fail_waiting(&mut waiting, worker, &kind);
                return false;
            }
        };
        let at = Instant::now();
        let id = match reply_id(&message) {
            Reply::Id(id) => id,
            Reply::Notification => continue,
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
