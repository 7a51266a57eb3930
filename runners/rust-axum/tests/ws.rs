//! WebSocket handlers: echo, validate, greeting, subprotocols, auth, server close, drop.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::StatusCode;
use axum_test::{TestServer, WsMessage};
use common::ws;
use futures_util::{SinkExt, StreamExt};
use reference_server::{Server, app};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as TMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as TCloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

fn server(fixtures: &[harness_fixture::Fixture]) -> TestServer {
    TestServer::builder()
        .http_transport()
        .build(app(fixtures).expect("app builds"))
}

#[tokio::test]
async fn echo_text_and_binary() {
    let s = server(&[ws("echo", json!({"route": "/ws/echo", "behavior": "echo"}))]);
    let mut socket = s.get_websocket("/ws/echo").await.into_websocket().await;
    socket.send_text("hello").await;
    assert_eq!(
        socket.receive_message().await,
        WsMessage::Text("hello".into())
    );
    socket
        .send_message(WsMessage::Binary(vec![0u8, 1, 255].into()))
        .await;
    assert_eq!(
        socket.receive_message().await,
        WsMessage::Binary(vec![0u8, 1, 255].into())
    );
    socket.send_message(WsMessage::Ping("p".into())).await;
    assert_eq!(socket.receive_message().await, WsMessage::Pong("p".into()));
}

#[tokio::test]
async fn validate_ack_and_errors() {
    let s = server(&[ws(
        "validate",
        json!({"route": "/ws/v", "behavior": "validate",
               "schema": {"type": "object", "required": ["text"],
                          "properties": {"text": {"type": "string"}, "n": {"type": "integer"}}}}),
    )]);
    let mut socket = s.get_websocket("/ws/v").await.into_websocket().await;

    socket.send_text(r#"{"text":"hi"}"#).await;
    assert_eq!(
        socket.receive_json::<Value>().await,
        json!({"type": "ack", "message": {"text": "hi"}})
    );

    socket.send_text("{not json").await;
    assert_eq!(
        socket.receive_json::<Value>().await,
        json!({"type": "error", "title": "Malformed message"})
    );

    socket.send_text(r#"{"n":"x"}"#).await;
    let mut reply = socket.receive_json::<Value>().await;
    for error in reply["errors"].as_array_mut().unwrap() {
        assert!(error["message"].is_string());
        error["message"] = json!("...");
    }
    assert_eq!(
        reply,
        json!({"type": "error", "title": "Message validation failed", "errors": [
            {"pointer": "/n", "message": "..."}, {"pointer": "/text", "message": "..."}
        ]})
    );

    socket
        .send_message(WsMessage::Binary(vec![1u8].into()))
        .await;
    assert_eq!(
        socket.receive_json::<Value>().await,
        json!({"type": "error", "title": "Unsupported message type"})
    );
}

#[tokio::test]
async fn greeting_then_silence() {
    let s = server(&[ws(
        "greet",
        json!({"route": "/ws/g", "behavior": "silent", "greeting": {"json": {"type": "welcome"}}}),
    )]);
    let mut socket = s.get_websocket("/ws/g").await.into_websocket().await;
    assert_eq!(
        socket.receive_message().await,
        WsMessage::Text(r#"{"type":"welcome"}"#.into())
    );
    socket.send_text("ignored").await;
    socket.send_message(WsMessage::Ping("after".into())).await;
    // Silent: the next frame is the pong, not a reply.
    assert_eq!(
        socket.receive_message().await,
        WsMessage::Pong("after".into())
    );
}

#[tokio::test]
async fn subprotocol_is_the_first_client_offer_the_server_speaks() {
    let s = server(&[ws(
        "proto",
        json!({"route": "/ws/p", "behavior": "echo", "subprotocols": ["chat.v2", "chat.v1"]}),
    )]);
    let r = s
        .get_websocket("/ws/p")
        .add_header("sec-websocket-protocol", "other, chat.v1, chat.v2")
        .await;
    assert_eq!(r.status_code(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(r.header("sec-websocket-protocol"), "chat.v1");

    let r = s
        .get_websocket("/ws/p")
        .add_header("sec-websocket-protocol", "other")
        .await;
    assert_eq!(r.status_code(), StatusCode::SWITCHING_PROTOCOLS);
    assert!(r.maybe_header("sec-websocket-protocol").is_none());
}

#[tokio::test]
async fn auth_rejects_before_upgrading() {
    let s = server(&[ws(
        "auth",
        json!({"route": "/ws/a", "behavior": "echo",
               "auth": {"query": {"token": "secret"}, "headers": {"x-key": "k"}, "reject_status": 403}}),
    )]);
    let r = s.get_websocket("/ws/a").add_header("x-key", "k").await;
    assert_eq!(r.status_code(), StatusCode::FORBIDDEN);
    let r = s
        .get_websocket("/ws/a?token=secret")
        .add_header("x-key", "wrong")
        .await;
    assert_eq!(r.status_code(), StatusCode::FORBIDDEN);
    let r = s
        .get_websocket("/ws/a?token=secret")
        .add_header("x-key", "k")
        .await;
    assert_eq!(r.status_code(), StatusCode::SWITCHING_PROTOCOLS);
    let mut socket = r.into_websocket().await;
    socket.send_text("in").await;
    assert_eq!(socket.receive_text().await, "in");
}

#[tokio::test]
async fn server_closes_after_n_messages() {
    let s = server(&[ws(
        "close",
        json!({"route": "/ws/c", "behavior": "echo",
               "close": {"after": 2, "code": 4000, "reason": "bye"}}),
    )]);
    let mut socket = s.get_websocket("/ws/c").await.into_websocket().await;
    socket.send_text("1").await;
    assert_eq!(socket.receive_text().await, "1");
    socket.send_text("2").await;
    assert_eq!(socket.receive_text().await, "2");
    match socket.receive_message().await {
        WsMessage::Close(Some(frame)) => {
            assert_eq!(u16::from(frame.code), 4000);
            assert_eq!(frame.reason.as_str(), "bye");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn plain_get_on_a_websocket_route_is_4xx() {
    let s = server(&[ws("plain", json!({"route": "/ws/x", "behavior": "echo"}))]);
    let status = s.get("/ws/x").await.status_code();
    assert!(status.is_client_error(), "{status}");
    assert_eq!(
        s.post("/ws/x").await.status_code(),
        StatusCode::METHOD_NOT_ALLOWED
    );
}

// Against a real server with a plain WebSocket client: what the harness sees on the wire.

async fn start(fixtures: &[harness_fixture::Fixture]) -> Server {
    Server::start(fixtures, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("server starts")
}

#[tokio::test]
async fn close_right_after_greeting_and_client_close_echo() {
    let server = start(&[
        ws(
            "close0",
            json!({"route": "/ws/c0", "behavior": "echo", "greeting": {"text": "hi"},
                   "close": {"after": 0, "code": 1008, "reason": "policy"}}),
        ),
        ws("echo", json!({"route": "/ws/e", "behavior": "echo"})),
    ])
    .await;
    let url = format!("ws://{}/ws/c0", server.addr());
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        TMessage::Text("hi".into())
    );
    match socket.next().await.unwrap().unwrap() {
        TMessage::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::Policy);
            assert_eq!(frame.reason.as_str(), "policy");
        }
        other => panic!("expected close, got {other:?}"),
    }
    assert!(socket.next().await.is_none());

    // The client closes: the server answers with the same code.
    let url = format!("ws://{}/ws/e", server.addr());
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    socket
        .send(TMessage::Close(Some(TCloseFrame {
            code: CloseCode::from(4001),
            reason: "done".into(),
        })))
        .await
        .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(2), socket.next())
        .await
        .expect("close reply in time");
    match reply {
        Some(Ok(TMessage::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 4001),
        other => panic!("expected close 4001, got {other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn drop_ends_without_a_close_frame() {
    let server = start(&[ws(
        "drop",
        json!({"route": "/ws/d", "behavior": "echo", "drop": {"after": 1}}),
    )])
    .await;
    let url = format!("ws://{}/ws/d", server.addr());
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    socket.send(TMessage::Text("x".into())).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        TMessage::Text("x".into())
    );
    let end = tokio::time::timeout(Duration::from_secs(2), socket.next())
        .await
        .expect("connection ends in time");
    // No close frame: the stream errors (reset without closing handshake) or just ends.
    match end {
        None | Some(Err(_)) => {}
        Some(Ok(message)) => panic!("expected an abrupt end, got {message:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_open_websockets() {
    let server = start(&[ws("open", json!({"route": "/ws/o", "behavior": "echo"}))]).await;
    let url = format!("ws://{}/ws/o", server.addr());
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let started = std::time::Instant::now();
    let shutdown = tokio::spawn(server.shutdown());
    match tokio::time::timeout(Duration::from_secs(2), socket.next()).await {
        Ok(Some(Ok(TMessage::Close(Some(frame))))) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected close 1001, got {other:?}"),
    }
    drop(socket);
    shutdown.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
}
