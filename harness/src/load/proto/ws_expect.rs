//! What a WebSocket load expects of one received message, compiled once from an `expect`
//! step (or a matcher of `expect_unordered`), and its check worded as `run` words it. Shared by
//! the ordered conversation ([`super::ws`]) and the JSON-RPC one ([`super::ws_rpc`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use harness_fixture::model::{BodyMatch, WsMatch};
use tokio_tungstenite::tungstenite::Message;

use crate::check::json_expectation;
use crate::load::expect::{DIFFERENT_TEXT, JsonExpect, SchemaExpect, TextExpect};
use crate::load::recorder::ErrorKind;
use crate::load::worker::Unloadable;
use crate::wire::request::Base64Error;

/// What one received message must be.
#[derive(Debug)]
enum MessageWant {
    Text(TextExpect),
    Json(JsonExpect),
    Schema(SchemaExpect),
    Binary(Vec<u8>),
}

/// One `expect` step, compiled, with the pointer `run` reports its differences at
/// (`/transcript/3/expect/json`).
#[derive(Debug)]
pub(super) struct MessageExpect {
    want: MessageWant,
    path: String,
}

impl MessageExpect {
    /// Compiles the `expect` step at `index` of the transcript.
    pub(super) fn new(want: &WsMatch, index: usize) -> Result<MessageExpect, Unloadable> {
        let (key, _) = json_expectation(want);
        MessageExpect::at(want, format!("/transcript/{index}/expect/{key}"))
    }

    /// Compiles a matcher whose differences are reported at `path`.
    pub(super) fn at(want: &WsMatch, path: String) -> Result<MessageExpect, Unloadable> {
        let compiled = match want {
            WsMatch::Text(text) => MessageWant::Text(TextExpect::new(text)?),
            WsMatch::Json(value) => MessageWant::Json(JsonExpect::new(value, BodyMatch::Exact)),
            WsMatch::JsonPartial(value) => {
                MessageWant::Json(JsonExpect::new(value, BodyMatch::Partial))
            }
            WsMatch::JsonSchema(schema) => MessageWant::Schema(SchemaExpect::new(schema)?),
            WsMatch::BinaryBase64(b64) => {
                MessageWant::Binary(BASE64.decode(b64).map_err(|source| Base64Error {
                    field: "binary_base64",
                    source,
                })?)
            }
        };
        Ok(MessageExpect {
            want: compiled,
            path,
        })
    }

    /// Checks a received message; a difference is worded as `run` words it.
    pub(super) fn check(&self, message: &Message) -> Result<(), ErrorKind> {
        const NOT_JSON: &str = "message is not JSON";
        let path = self.path.as_str();
        let difference = match (&self.want, message) {
            (MessageWant::Text(want), Message::Text(text)) => (!want.matches(Some(text.as_str())))
                .then(|| ErrorKind::differs(path, DIFFERENT_TEXT)),
            (MessageWant::Json(want), Message::Text(text)) => {
                want.check(text.as_bytes(), path, NOT_JSON)
            }
            (MessageWant::Schema(want), Message::Text(text)) => {
                want.check(text.as_bytes(), path, NOT_JSON)
            }
            (MessageWant::Binary(want), Message::Binary(bytes)) => (want.as_slice()
                != bytes.as_ref())
            .then(|| ErrorKind::differs(path, "different bytes")),
            (MessageWant::Binary(_), _) => {
                Some(ErrorKind::differs(path, "expected a binary message"))
            }
            _ => Some(ErrorKind::differs(path, "expected a text message")),
        };
        difference.map_or(Ok(()), Err)
    }
}
