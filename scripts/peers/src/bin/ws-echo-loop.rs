//! The minimal WebSocket echo loop: N connections, each sends the fixture's first `send` message,
//! awaits the next message (the echo), repeats. Messages answered during the measured seconds,
//! per second, on stdout. No checking, no histograms.
//!
//! ws-echo-loop --url ws://127.0.0.1:PORT/ws/bench/echo --fixture echo.json
//!              [--connections 50] [--duration 5] [--warmup 1]

use std::time::Instant;

use bench_peers::Args;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() {
    let args = Args::parse(
        "ws-echo-loop --url WS_URL --fixture FILE [--connections N] [--duration S] [--warmup S]",
    );
    let url = args.need("url");
    let fixture: serde_json::Value =
        serde_json::from_slice(&std::fs::read(args.need("fixture")).expect("read the fixture"))
            .expect("fixture JSON");
    let text = fixture["transcript"][0]["send"]["json"].to_string();
    let connections: usize = args.get("connections", 50);
    let (warmup, duration) = (args.secs("warmup", 1.0), args.secs("duration", 5.0));

    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        sockets.push(
            tokio_tungstenite::connect_async(&url)
                .await
                .expect("connect")
                .0,
        );
    }
    let from = Instant::now() + warmup;
    let until = from + duration;
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| {
            let text = text.clone();
            tokio::spawn(async move {
                let mut count = 0u64;
                loop {
                    ws.send(Message::text(text.as_str())).await.expect("send");
                    ws.next().await.expect("open").expect("echo");
                    let now = Instant::now();
                    if now >= until {
                        return count;
                    }
                    if now >= from {
                        count += 1;
                    }
                }
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("task");
    }
    println!("{:.1}", total as f64 / duration.as_secs_f64());
}
