//! Checks of a broadcast: the publish reply, every subscriber's connection, acknowledgement and
//! delivery.

use harness_fixture::model::{BodyMatch, BroadcastFixture, MessageMatch};
use serde_json::Value;

use super::sse::check_event_type;
use super::{Mismatch, json};
use crate::results::transcript::BroadcastTranscript;

pub(super) fn check(fixture: &BroadcastFixture, transcript: &BroadcastTranscript) -> Vec<Mismatch> {
    let expected = &fixture.expected;
    let mut out = Vec::new();
    if let (Some(want), Some(reply)) = (&expected.publish, &transcript.publish) {
        if reply.status != want.status {
            out.push(Mismatch::new(
                "/publish/status",
                want.status.into(),
                reply.status.into(),
                "different status",
            ));
        }
        if let Some(body) = &want.body {
            match reply.body.json() {
                Some(got) => json::compare(
                    body,
                    Some(&got),
                    BodyMatch::Exact,
                    "/publish/body",
                    &mut out,
                ),
                None => out.push(Mismatch::new(
                    "/publish/body",
                    body.clone(),
                    reply.body.view(),
                    "reply body is not JSON",
                )),
            }
        }
    }
    for (index, subscriber) in transcript.subscribers.iter().enumerate() {
        let path = format!("/subscribers/{index}");
        let accepted = if subscriber.kind == "websocket" {
            101
        } else {
            200
        };
        if subscriber.status != Some(accepted) {
            let actual = subscriber.status.map_or(Value::Null, Value::from);
            out.push(Mismatch::new(
                format!("{path}/status"),
                accepted.into(),
                actual,
                "subscription refused",
            ));
            continue;
        }
        if let (Some(want), "websocket") = (&expected.ack, subscriber.kind) {
            compare_message(
                want,
                subscriber.ack.as_deref(),
                &format!("{path}/ack"),
                &mut out,
            );
        }
        if transcript.interrupted.is_some() && subscriber.delivery.is_none() {
            continue; // the fixture is errored with the reason
        }
        let delivery = subscriber.delivery.as_ref();
        compare_message(
            &expected.delivery,
            delivery.map(|d| d.data.as_str()),
            &format!("{path}/delivery"),
            &mut out,
        );
        // SSE deliveries only (a WebSocket message has no type); no `event`: `message`.
        if let Some(event) = delivery.and_then(|d| d.event.as_deref()) {
            check_event_type(
                expected.event.as_deref(),
                event,
                &format!("{path}/event"),
                &mut out,
            );
        }
    }
    out
}

fn compare_message(want: &MessageMatch, got: Option<&str>, path: &str, out: &mut Vec<Mismatch>) {
    let Some(text) = got else {
        out.push(Mismatch::new(
            path,
            message_value(want),
            Value::Null,
            "nothing delivered: the connection ended",
        ));
        return;
    };
    let (key, expected, mode) = match want {
        MessageMatch::Text(want) => {
            return json::compare_text(want, Some(text), &format!("{path}/text"), out);
        }
        MessageMatch::Json(value) => ("json", value, BodyMatch::Exact),
        MessageMatch::JsonPartial(value) => ("json_partial", value, BodyMatch::Partial),
    };
    let path = format!("{path}/{key}");
    match serde_json::from_str::<Value>(text) {
        Ok(value) => json::compare(expected, Some(&value), mode, &path, out),
        Err(_) => out.push(Mismatch::new(
            path,
            expected.clone(),
            text.into(),
            "message is not JSON",
        )),
    }
}

fn message_value(want: &MessageMatch) -> Value {
    match want {
        MessageMatch::Text(text) => text.as_str().into(),
        MessageMatch::Json(value) | MessageMatch::JsonPartial(value) => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::transcript::{Delivery, SubscriberRecord};
    use serde_json::json;

    fn fixture(event: Option<&str>) -> BroadcastFixture {
        let mut expected = json!({"delivery": {"text": "hi"}});
        if let Some(event) = event {
            expected["event"] = event.into();
        }
        serde_json::from_value(json!({
            "subscribers": [{"sse": "/b/events"}],
            "publish": {"rest": {"path": "/b", "json": {"m": 1}}},
            "expected": expected,
        }))
        .unwrap()
    }

    fn delivered(event: &str) -> BroadcastTranscript {
        BroadcastTranscript {
            subscribers: vec![SubscriberRecord {
                kind: "sse",
                path: "/b/events".into(),
                status: Some(200),
                ack: None,
                delivery: Some(Delivery {
                    event: Some(event.into()),
                    data: "hi".into(),
                    after_publish_us: 1,
                }),
            }],
            publish: None,
            interrupted: None,
        }
    }

    #[test]
    fn an_sse_delivery_without_an_expected_type_must_be_a_message() {
        assert!(check(&fixture(None), &delivered("message")).is_empty());
        assert_eq!(
            check(&fixture(None), &delivered("news")),
            vec![Mismatch::new(
                "/subscribers/0/event",
                json!("message"),
                json!("news"),
                "different event type: an expected event without \"event\" means the default \
                 type \"message\" (\"<<any>>\" for any type)",
            )]
        );
        assert!(check(&fixture(Some("news")), &delivered("news")).is_empty());
        assert!(check(&fixture(Some("<<any>>")), &delivered("news")).is_empty());
    }
}
