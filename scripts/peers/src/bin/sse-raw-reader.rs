//! The rawest SSE reader, beside sse-reader: N subscribers each write the GET request on a plain
//! TCP socket and count "\n\n" in the bytes read (64 KiB reads, no HTTP parsing: the response
//! head ends in "\r\n\r\n" and each event travels whole in one chunk of the chunked body, so the
//! count is the events'). Events read during the measured seconds, per second, on stdout.
//!
//! sse-raw-reader --url http://127.0.0.1:PORT/sse/bench/stream [--connections 50] [--duration 5] [--warmup 1]

use std::time::Instant;

use bench_peers::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() {
    let args =
        Args::parse("sse-raw-reader --url URL [--connections N] [--duration S] [--warmup S]");
    let url = args.need("url");
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: {host}\r\naccept: text/event-stream\r\n\r\n");
    let connections: usize = args.get("connections", 50);
    let (warmup, duration) = (args.secs("warmup", 1.0), args.secs("duration", 5.0));

    let from = Instant::now() + warmup;
    let until = from + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (host, request) = (host.to_string(), request.clone());
            tokio::spawn(async move {
                let mut socket = tokio::net::TcpStream::connect(host).await.expect("connect");
                socket.write_all(request.as_bytes()).await.expect("request");
                let mut buffer = vec![0u8; 64 * 1024];
                let (mut count, mut newline) = (0u64, false);
                loop {
                    let read = socket.read(&mut buffer).await.expect("read");
                    let now = Instant::now();
                    if read == 0 || now >= until {
                        return count;
                    }
                    for &byte in &buffer[..read] {
                        let separator = newline && byte == b'\n';
                        newline = byte == b'\n' && !separator;
                        count += u64::from(separator && now >= from);
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
