//! The `rpc` WebSocket handler on the wire: concurrency, subscriptions, heartbeats, close.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::ws;
use futures_util::{SinkExt, StreamExt};
use reference_server::Server;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(2);

async fn start(heartbeat_ms: Option<u64>) -> Server {
    let mut handler = json!({
        "route": "/rpc", "behavior": "rpc",
        "methods": {
            "echo": {"reply": "params"},
            "slow_echo": {"reply": "params", "delay_ms": 200},
            "ticks": {"subscribe": {"count": 3, "interval_ms": 10, "notification": "tick"}},
            "feed": {"subscribe": {"count": null, "interval_ms": 10, "notification": "feed"}},
            "cancel": {"unsubscribe": true}
        }
    });
    if let Some(period) = heartbeat_ms {
        handler["heartbeat_ms"] = json!(period);
    }
    Server::start(&[ws("rpc", handler)], SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("server starts")
}

async fn connect(server: &Server) -> Socket {
    let url = format!("ws://{}/rpc", server.addr());
    tokio_tungstenite::connect_async(&url).await.unwrap().0
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .unwrap();
}

/// The next message, as JSON; fails on anything but a text message within [`WAIT`].
async fn receive(socket: &mut Socket) -> Value {
    match tokio::time::timeout(WAIT, socket.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => serde_json::from_str(text.as_str()).unwrap(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

#[tokio::test]
async fn a_slow_reply_holds_back_nothing_after_it() {
    let server = start(None).await;
    let mut socket = connect(&server).await;
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "id": 1, "method": "slow_echo", "params": ["slow"]}),
    )
    .await;
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "id": 2, "method": "echo", "params": ["fast"]}),
    )
    .await;
    assert_eq!(receive(&mut socket).await["id"], 2);
    assert_eq!(receive(&mut socket).await["id"], 1);
    socket
        .send(Message::Binary(vec![b'{'].into()))
        .await
        .unwrap();
    assert_eq!(
        receive(&mut socket).await,
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}})
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_batch_reply_comes_before_the_items_it_starts() {
    let server = start(None).await;
    let mut socket = connect(&server).await;
    send(
        &mut socket,
        json!([{"jsonrpc": "2.0", "id": 1, "method": "ticks"},
               {"jsonrpc": "2.0", "id": 2, "method": "slow_echo", "params": [2]}]),
    )
    .await;
    let reply = receive(&mut socket).await;
    let id = reply[0]["result"]
        .as_str()
        .expect("a subscription id")
        .to_owned();
    assert_eq!(reply[1], json!({"jsonrpc": "2.0", "id": 2, "result": [2]}));
    for n in 1..=3 {
        assert_eq!(
            receive(&mut socket).await,
            json!({"jsonrpc": "2.0", "method": "tick", "params": {"subscription": id, "n": n}})
        );
    }
    let quiet = tokio::time::timeout(Duration::from_millis(100), socket.next()).await;
    assert!(quiet.is_err(), "nothing after the last item: {quiet:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn no_item_follows_the_unsubscribe_reply() {
    let server = start(None).await;
    let mut socket = connect(&server).await;
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "id": 1, "method": "feed"}),
    )
    .await;
    let id = receive(&mut socket).await["result"].clone();
    assert_eq!(receive(&mut socket).await["params"]["n"], 1);
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "id": 2, "method": "cancel", "params": [id]}),
    )
    .await;
    // Items sent before the reply may still be on their way; none comes after it.
    loop {
        let message = receive(&mut socket).await;
        if message.get("id").is_some() {
            assert_eq!(message, json!({"jsonrpc": "2.0", "id": 2, "result": true}));
            break;
        }
        assert_eq!(message["method"], "feed");
    }
    let quiet = tokio::time::timeout(Duration::from_millis(100), socket.next()).await;
    assert!(
        quiet.is_err(),
        "an item after the unsubscribe reply: {quiet:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn heartbeats_from_the_upgrade_until_the_close() {
    let server = start(Some(20)).await;
    let mut socket = connect(&server).await;
    for _ in 0..2 {
        assert_eq!(
            receive(&mut socket).await,
            json!({"jsonrpc": "2.0", "method": "heartbeat"})
        );
    }
    socket.close(None).await.unwrap();
    // Heartbeats already on their way may arrive; then the close reply, then the end.
    loop {
        match tokio::time::timeout(WAIT, socket.next()).await {
            Ok(Some(Ok(Message::Text(_)))) => continue,
            Ok(Some(Ok(Message::Close(_))) | None) => break,
            other => panic!("expected the close reply, got {other:?}"),
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_an_rpc_connection_with_a_subscription() {
    let server = start(None).await;
    let mut socket = connect(&server).await;
    send(
        &mut socket,
        json!({"jsonrpc": "2.0", "id": 1, "method": "feed"}),
    )
    .await;
    assert!(receive(&mut socket).await["result"].is_string());
    let shutdown = tokio::spawn(server.shutdown());
    loop {
        match tokio::time::timeout(WAIT, socket.next()).await {
            Ok(Some(Ok(Message::Text(_)))) => continue,
            Ok(Some(Ok(Message::Close(Some(frame))))) => {
                assert_eq!(frame.code, CloseCode::Away);
                break;
            }
            other => panic!("expected close 1001, got {other:?}"),
        }
    }
    drop(socket);
    tokio::time::timeout(Duration::from_secs(5), shutdown)
        .await
        .expect("the server stops in time")
        .unwrap();
}
