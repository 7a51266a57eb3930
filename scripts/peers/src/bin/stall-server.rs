//! A minimal HTTP server for the open-loop truth test: GET /hello answers `{"message":"Hello,
//! World!"}` (as fixtures/rest/bench/hello.json expects), except that every request *arriving*
//! during a stall window is held until that window ends. The windows are the first `--stall-ms`
//! of every `--period-ms`, counted on the Unix clock (so a client can know the phase: a window
//! is open while `unix_time mod period < stall`). Prints its URL once listening.
//!
//! The model this gives a client sending at a steady rate, latency measured from each request's
//! intended start: a request due at phase `p < S` of a period waits `S - p`, so a fraction `S/T`
//! of the requests waits uniformly in (0, S], the rest are answered at once.
//!
//! The held requests are released together by one OS thread that sleeps until each window's end
//! (a thread sleep overshoots by tens of microseconds; tokio's millisecond timer would hold them
//! 1-2 ms past the end, a server-side error the truth test would charge to the client).
//!
//! stall-server [--port 0] [--stall-ms 100] [--period-ms 1000]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::{Json, Router, routing::get};
use bench_peers::Args;

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[tokio::main]
async fn main() {
    let args = Args::parse("stall-server [--port P] [--stall-ms S] [--period-ms T]");
    let port: u16 = args.get("port", 0);
    let stall: u64 = args.get::<u64>("stall-ms", 100) * 1_000_000;
    let period: u64 = args.get::<u64>("period-ms", 1000) * 1_000_000;

    // How many windows have ended (window k spans [k * period, k * period + stall)).
    let now = unix_nanos();
    let first = now / period + u64::from(now % period >= stall);
    let (ended, released) = tokio::sync::watch::channel(first);
    std::thread::spawn(move || {
        for window in first.. {
            let end = window * period + stall;
            std::thread::sleep(Duration::from_nanos(end.saturating_sub(unix_nanos())));
            ended.send_replace(window + 1);
        }
    });

    let app = Router::new().route(
        "/hello",
        get(move || async move {
            let now = unix_nanos();
            if now % period < stall {
                let window = now / period;
                let _ = released.clone().wait_for(|&ended| ended > window).await;
            }
            Json(serde_json::json!({ "message": "Hello, World!" }))
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    println!("http://{}", listener.local_addr().expect("address"));
    axum::serve(listener, app).await.expect("serve");
}
