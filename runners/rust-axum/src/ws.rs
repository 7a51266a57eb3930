//! WebSocket handlers: handshake rules, greeting, per-message behaviour, server close and drop;
//! `rpc` connections are served by [`crate::rpc`].

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures_util::SinkExt;
use harness_fixture::handler::{WsBehavior, WsHandler};
use harness_fixture::model::WsMessage;
use serde_json::{Value, json};

use crate::error::BuildError;
use crate::problem::schema_errors;
use crate::rpc::RpcEndpoint;
use crate::shutdown::Shutdown;

/// How long the server waits for the client's close frame after sending its own.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// One WebSocket handler, ready to serve.
pub(crate) struct WsEndpoint {
    behavior: WsBehavior,
    validator: Option<jsonschema::Validator>,
    greeting: Option<Message>,
    /// The server's subprotocols, with their header values.
    subprotocols: Vec<(String, HeaderValue)>,
    auth: Option<Auth>,
    close: Option<(usize, CloseFrame)>,
    drop_after: Option<usize>,
    /// The methods of an `rpc` handler, which serves the whole connection.
    rpc: Option<RpcEndpoint>,
    shutdown: Shutdown,
}

struct Auth {
    query: Vec<(String, String)>,
    headers: Vec<(HeaderName, String)>,
    reject: StatusCode,
}

impl Auth {
    fn allows(&self, parts: &Parts) -> bool {
        let query = parts.uri.query().unwrap_or("");
        let query_ok = self.query.iter().all(|(name, expected)| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == name)
                .is_some_and(|(_, value)| value == expected.as_str())
        });
        let headers_ok = self.headers.iter().all(|(name, expected)| {
            parts
                .headers
                .get(name)
                .is_some_and(|value| value.as_bytes() == expected.as_bytes())
        });
        query_ok && headers_ok
    }
}

/// A fixture data message as a WebSocket message.
pub(crate) fn message_of(message: &WsMessage) -> Result<Message, String> {
    Ok(match message {
        WsMessage::Text(text) => Message::Text(text.as_str().into()),
        WsMessage::Json(value) => Message::Text(value.to_string().into()),
        WsMessage::BinaryBase64(b64) => Message::Binary(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("bad base64: {e}"))?
                .into(),
        ),
    })
}

impl WsEndpoint {
    /// Prepares a handler.
    pub(crate) fn new(
        file: &Path,
        handler: &WsHandler,
        shutdown: Shutdown,
    ) -> Result<Self, BuildError> {
        let rpc = match handler.behavior {
            WsBehavior::Rpc => Some(RpcEndpoint::new(file, handler)?),
            _ => None,
        };
        let validator = handler
            .schema
            .as_ref()
            .map(|schema| {
                harness_fixture::schema::compile(schema).map_err(|e| {
                    BuildError::handler(
                        file,
                        "/handler/schema",
                        format!("invalid JSON Schema: {e}"),
                    )
                })
            })
            .transpose()?;
        let greeting = handler
            .greeting
            .as_ref()
            .map(|g| message_of(g).map_err(|e| BuildError::handler(file, "/handler/greeting", e)))
            .transpose()?;
        let subprotocols = handler
            .subprotocols
            .iter()
            .enumerate()
            .map(|(index, name)| {
                HeaderValue::from_str(name)
                    .map(|value| (name.clone(), value))
                    .map_err(|e| {
                        BuildError::handler(
                            file,
                            format!("/handler/subprotocols/{index}"),
                            e.to_string(),
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        let auth = match &handler.auth {
            None => None,
            Some(auth) => Some(Auth {
                query: auth
                    .query
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                headers: auth
                    .headers
                    .iter()
                    .map(|(name, value)| {
                        HeaderName::from_bytes(name.as_bytes())
                            .map(|name| (name, value.clone()))
                            .map_err(|e| {
                                BuildError::handler(
                                    file,
                                    format!("/handler/auth/headers/{name}"),
                                    e.to_string(),
                                )
                            })
                    })
                    .collect::<Result<_, _>>()?,
                reject: StatusCode::from_u16(auth.reject_status).map_err(|e| {
                    BuildError::handler(file, "/handler/auth/reject_status", e.to_string())
                })?,
            }),
        };
        Ok(WsEndpoint {
            behavior: handler.behavior,
            validator,
            greeting,
            subprotocols,
            auth,
            close: handler.close.as_ref().map(|close| {
                (
                    close.after,
                    CloseFrame {
                        code: close.code,
                        reason: close.reason.as_str().into(),
                    },
                )
            }),
            drop_after: handler.drop.as_ref().map(|d| d.after),
            rpc,
            shutdown,
        })
    }

    /// The first subprotocol the client offers that the server speaks.
    fn choose_protocol(&self, parts: &Parts) -> Option<HeaderValue> {
        parts
            .headers
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .find_map(|offered| {
                self.subprotocols
                    .iter()
                    .find(|(name, _)| name == offered)
                    .map(|(_, value)| value.clone())
            })
    }

    /// Answers the upgrade request.
    pub(crate) async fn handle(self: Arc<Self>, request: Request) -> Response {
        let (mut parts, _body) = request.into_parts();
        if let Some(auth) = &self.auth
            && !auth.allows(&parts)
        {
            return auth.reject.into_response();
        }
        let mut upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(upgrade) => upgrade,
            Err(rejection) => return rejection.into_response(),
        };
        if let Some(protocol) = self.choose_protocol(&parts) {
            upgrade.set_selected_protocol(protocol);
        }
        upgrade.on_upgrade(move |socket| self.run(socket))
    }

    /// The conversation. Returning without a close frame drops the connection.
    async fn run(self: Arc<Self>, mut socket: WebSocket) {
        if let Some(rpc) = &self.rpc {
            return rpc.serve(socket, self.shutdown.clone()).await;
        }
        if let Some(greeting) = &self.greeting
            && socket.send(greeting.clone()).await.is_err()
        {
            return;
        }
        let stop = self.shutdown.clone().wait();
        tokio::pin!(stop);
        let mut answered = 0usize;
        loop {
            if let Some((after, frame)) = &self.close
                && *after == answered
            {
                close(socket, frame.clone()).await;
                return;
            }
            if self.drop_after == Some(answered) {
                return;
            }
            let message = tokio::select! {
                message = socket.recv() => message,
                () = &mut stop => {
                    let frame = CloseFrame { code: 1001, reason: "server shutting down".into() };
                    close(socket, frame).await;
                    return;
                }
            };
            let reply = match message {
                None | Some(Err(_)) => return,
                Some(Ok(Message::Close(_))) => {
                    // tungstenite has queued the reply (same code and reason): flush it, then
                    // end the connection.
                    let _ = socket.flush().await;
                    return;
                }
                // tungstenite queues the pong; the next read flushes it.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(message)) => self.answer(message),
            };
            answered += 1;
            if let Some(reply) = reply
                && socket.send(reply).await.is_err()
            {
                return;
            }
        }
    }

    /// The reply to one data message, per behaviour.
    fn answer(&self, message: Message) -> Option<Message> {
        match self.behavior {
            // `rpc` connections are served by `RpcEndpoint::serve`.
            WsBehavior::Silent | WsBehavior::Rpc => None,
            WsBehavior::Echo => Some(message),
            WsBehavior::Validate => Some(Message::Text(self.validate(message).to_string().into())),
        }
    }

    fn validate(&self, message: Message) -> Value {
        let Message::Text(text) = message else {
            return json!({"type": "error", "title": "Unsupported message type"});
        };
        let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
            return json!({"type": "error", "title": "Malformed message"});
        };
        let mut errors: Vec<(String, String)> = Vec::new();
        if let Some(validator) = &self.validator {
            schema_errors(validator, &value, |pointer, message| {
                errors.push((pointer, message))
            });
        }
        if errors.is_empty() {
            return json!({"type": "ack", "message": value});
        }
        errors.sort_by(|a, b| a.0.cmp(&b.0));
        errors.dedup_by(|later, earlier| later.0 == earlier.0);
        let errors: Vec<Value> = errors
            .into_iter()
            .map(|(pointer, message)| json!({"pointer": pointer, "message": message}))
            .collect();
        json!({"type": "error", "title": "Message validation failed", "errors": errors})
    }
}

/// Sends a close frame, then waits (bounded) for the client's.
pub(crate) async fn close(mut socket: WebSocket, frame: CloseFrame) {
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}
