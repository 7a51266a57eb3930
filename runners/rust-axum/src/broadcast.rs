//! Broadcast channels: one message published (a POST, or a text message on the WebSocket route)
//! is delivered to every subscriber, WebSocket (a text message) and SSE (an event named after the
//! channel), as compact JSON.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::problem;
use crate::shutdown::Shutdown;

/// Messages a slow subscriber may fall behind by before it misses some.
const CHANNEL_CAPACITY: usize = 1 << 16;
/// Largest message a POST may publish.
const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// One channel and its subscribers.
pub(crate) struct BroadcastEndpoint {
    channel: String,
    sender: broadcast::Sender<Arc<str>>,
    /// `event: <channel>\n`.
    event_line: String,
    shutdown: Shutdown,
}

impl BroadcastEndpoint {
    pub(crate) fn new(channel: &str, shutdown: Shutdown) -> BroadcastEndpoint {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        BroadcastEndpoint {
            channel: channel.to_owned(),
            sender,
            event_line: format!("event: {channel}\n"),
            shutdown,
        }
    }

    /// Publishes `value` as compact JSON; how many subscribers it reached.
    fn publish(&self, value: &Value) -> usize {
        self.sender.send(Arc::from(value.to_string())).unwrap_or(0)
    }

    /// `POST`: the JSON body is published; 202 `{"subscribers": n}`.
    pub(crate) async fn handle_publish(self: Arc<Self>, request: Request) -> Response {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        let body = match axum::body::to_bytes(request.into_body(), MAX_MESSAGE_BYTES).await {
            Ok(body) => body,
            Err(_) => return problem::payload_too_large(),
        };
        if !is_json && !body.is_empty() {
            return problem::unsupported_media_type();
        }
        let Ok(value) = serde_json::from_slice::<Value>(&body) else {
            return problem::malformed_body();
        };
        let subscribers = self.publish(&value);
        (
            StatusCode::ACCEPTED,
            Json(json!({ "subscribers": subscribers })),
        )
            .into_response()
    }

    /// The WebSocket route: a subscriber, and a publisher of every text message it sends.
    pub(crate) async fn handle_websocket(self: Arc<Self>, request: Request) -> Response {
        let (mut parts, _body) = request.into_parts();
        match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(upgrade) => upgrade.on_upgrade(move |socket| self.run_websocket(socket)),
            Err(rejection) => rejection.into_response(),
        }
    }

    async fn run_websocket(self: Arc<Self>, mut socket: WebSocket) {
        // Subscribed before the acknowledgement: whatever is published after it arrives.
        let mut receiver = self.sender.subscribe();
        let ack = json!({ "subscribed": self.channel }).to_string();
        if socket.send(Message::Text(ack.into())).await.is_err() {
            return;
        }
        let stop = self.shutdown.clone().wait();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                delivered = receiver.recv() => match delivered {
                    Ok(message) => {
                        if socket.send(Message::Text(message.as_ref().into())).await.is_err() {
                            return;
                        }
                    }
                    Err(RecvError::Lagged(missed)) => tracing::warn!(channel = %self.channel, missed, "a slow WebSocket subscriber missed messages"),
                    Err(RecvError::Closed) => return,
                },
                received = socket.recv() => match received {
                    Some(Ok(Message::Text(text))) => {
                        if let Ok(value) = serde_json::from_str::<Value>(&text) {
                            self.publish(&value);
                        }
                    }
                    Some(Ok(Message::Close(_))) => {
                        let _ = socket.flush().await;
                        return;
                    }
                    Some(Ok(_)) => {}
                    None | Some(Err(_)) => return,
                },
                () = &mut stop => {
                    let frame = axum::extract::ws::CloseFrame { code: 1001, reason: "server shutting down".into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    return;
                }
            }
        }
    }

    /// The SSE route: subscribed before the response head is sent.
    pub(crate) async fn handle_sse(self: Arc<Self>, _request: Request) -> Response {
        let receiver = self.sender.subscribe();
        let stop = self.shutdown.clone().wait();
        let endpoint = self.clone();
        let stream = futures_util::stream::unfold((receiver, endpoint), |(mut receiver, endpoint)| async move {
            loop {
                match receiver.recv().await {
                    Ok(message) => {
                        let chunk = Bytes::from(format!("{}data: {message}\n\n", endpoint.event_line));
                        return Some((Ok::<_, Infallible>(chunk), (receiver, endpoint)));
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(channel = %endpoint.channel, missed, "a slow SSE subscriber missed messages");
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        })
        .take_until(stop);
        let mut response = Response::new(Body::from_stream(stream));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }
}
