//! Broadcast channels over real sockets: a POST reaches a WebSocket and an SSE subscriber.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const FIXTURE: &str = r#"{"name": "b", "protocol": "broadcast",
  "handler": {"channel": "news", "websocket": "/b/ws", "sse": "/b/events", "publish": "/b"},
  "subscribers": [{"websocket": "/b/ws"}],
  "publish": {"rest": {"path": "/b", "json": {"x": 1}}},
  "expected": {"delivery": {"json": {"x": 1}}}}"#;

#[tokio::test]
async fn a_post_reaches_every_subscriber_and_counts_them() {
    let fixture =
        harness_fixture::load::parse_fixture(std::path::Path::new("b.json"), FIXTURE).unwrap();
    let server = reference_server::Server::start(&[fixture], "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = format!("127.0.0.1:{}", server.addr().port());

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{base}/b/ws"))
        .await
        .unwrap();
    let ack = ws.next().await.unwrap().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(ack.to_text().unwrap()).unwrap(),
        json!({"subscribed": "news"})
    );

    let client = reqwest::Client::new();
    let mut sse = client
        .get(format!("http://{base}/b/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(sse.headers()["content-type"], "text/event-stream");

    let reply = client
        .post(format!("http://{base}/b"))
        .json(&json!({"x": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 202);
    assert_eq!(
        reply.json::<Value>().await.unwrap(),
        json!({"subscribers": 2})
    );

    let delivered = ws.next().await.unwrap().unwrap();
    assert_eq!(delivered, Message::Text("{\"x\":1}".into()));
    let chunk = sse.chunk().await.unwrap().unwrap();
    assert_eq!(&chunk[..], b"event: news\ndata: {\"x\":1}\n\n");

    // A text message on the WebSocket route is published too, to the sender as well.
    ws.send(Message::Text("{\"y\":2}".into())).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Text("{\"y\":2}".into())
    );
    assert_eq!(
        &sse.chunk().await.unwrap().unwrap()[..],
        b"event: news\ndata: {\"y\":2}\n\n"
    );
    server.shutdown().await;
}
