//! The minimal SSE reader: N subscribers stream the response body with reqwest and count events
//! by their "\n\n" separators. Events read during the measured seconds, per second, on stdout.
//! No parsing, no checking, no histograms.
//!
//! sse-reader --url http://127.0.0.1:PORT/sse/bench/stream [--connections 50] [--duration 5] [--warmup 1]

use std::time::Instant;

use bench_peers::Args;

#[tokio::main]
async fn main() {
    let args = Args::parse("sse-reader --url URL [--connections N] [--duration S] [--warmup S]");
    let url = args.need("url");
    let connections: usize = args.get("connections", 50);
    let (warmup, duration) = (args.secs("warmup", 1.0), args.secs("duration", 5.0));

    let client = reqwest::Client::new();
    let from = Instant::now() + warmup;
    let until = from + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let request = client.get(&url).header("accept", "text/event-stream");
            tokio::spawn(async move {
                let mut response = request.send().await.expect("subscribe");
                let (mut count, mut newline) = (0u64, false);
                while let Some(chunk) = response.chunk().await.expect("read") {
                    let now = Instant::now();
                    if now >= until {
                        break;
                    }
                    for &byte in chunk.iter() {
                        let separator = newline && byte == b'\n';
                        newline = byte == b'\n' && !separator;
                        count += u64::from(separator && now >= from);
                    }
                }
                count
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("task");
    }
    println!("{:.1}", total as f64 / duration.as_secs_f64());
}
