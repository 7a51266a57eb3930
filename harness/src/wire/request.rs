//! What the harness sends, the same way on every path (replay drivers and load workers): its
//! `User-Agent`, a fixture's request body with its default content type, a fixture's WebSocket
//! message as a frame, and the largest reply body it reads.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use harness_fixture::model::RequestBody;
use harness_fixture::model::WsMessage;
use tokio_tungstenite::tungstenite::Message;

use crate::results::transcript::Body;

/// The `User-Agent` of every request the harness sends (REST, WebSocket upgrade, SSE, load)
/// unless the fixture sets its own.
pub const USER_AGENT: &str = concat!("benchmark-harness/", env!("CARGO_PKG_VERSION"));

/// Replies larger than this are cut off and the replay interrupted.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// A fixture's base64 field (`body_base64`, `binary_base64`) that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is not base64: {source}")]
pub struct Base64Error {
    /// The fixture's field.
    pub field: &'static str,
    /// Why it does not decode.
    pub source: base64::DecodeError,
}

/// The bytes of a body and the content type it goes with by default (the load paths send the
/// same bytes as replay). A multipart body uses `boundary`, or a fresh one when `None`.
pub fn encode_body(
    body: RequestBody<'_>,
    boundary: Option<&str>,
) -> Result<(Option<Body>, Option<String>), Base64Error> {
    let (body, content_type) = match body {
        RequestBody::Multipart(parts) => {
            let boundary = boundary.map_or_else(super::multipart::fresh_boundary, str::to_owned);
            let bytes =
                super::multipart::encode(parts, &boundary).map_err(|source| Base64Error {
                    field: "multipart base64",
                    source,
                })?;
            return Ok((
                Some(Body(bytes)),
                Some(super::multipart::content_type(&boundary)),
            ));
        }
        other => encode_simple_body(other)?,
    };
    Ok((body, content_type.map(str::to_owned)))
}

fn encode_simple_body(
    body: RequestBody<'_>,
) -> Result<(Option<Body>, Option<&'static str>), Base64Error> {
    Ok(match body {
        RequestBody::None | RequestBody::Multipart(_) => (None, None),
        RequestBody::Json(value) => (
            Some(Body(value.to_string().into_bytes())),
            Some("application/json"),
        ),
        RequestBody::Text(text) => (
            Some(Body(text.as_bytes().to_vec())),
            Some("text/plain; charset=utf-8"),
        ),
        RequestBody::Base64(b64) => {
            let bytes = BASE64.decode(b64).map_err(|source| Base64Error {
                field: "body_base64",
                source,
            })?;
            (Some(Body(bytes)), Some("application/octet-stream"))
        }
        RequestBody::Form(form) => {
            let encoded = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form.pairs())
                .finish();
            (
                Some(Body(encoded.into_bytes())),
                Some("application/x-www-form-urlencoded"),
            )
        }
    })
}

/// A fixture's message as a WebSocket message (JSON as compact text, base64 decoded).
pub fn encode_ws_message(message: &WsMessage) -> Result<Message, Base64Error> {
    Ok(match message {
        WsMessage::Text(text) => Message::Text(text.clone().into()),
        WsMessage::Json(value) => Message::Text(value.to_string().into()),
        WsMessage::BinaryBase64(b64) => Message::Binary(
            BASE64
                .decode(b64)
                .map_err(|source| Base64Error {
                    field: "binary_base64",
                    source,
                })?
                .into(),
        ),
    })
}
