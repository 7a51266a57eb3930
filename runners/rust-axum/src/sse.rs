//! SSE handlers: the listed items and the counter, written in the exact wire format.

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use harness_fixture::handler::{SseHandler, SseItem, StreamEnd};

use crate::error::BuildError;
use crate::shutdown::Shutdown;

const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");
const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");

/// One SSE handler, ready to serve.
pub(crate) struct SseEndpoint {
    /// Listed items: their id and their pre-rendered wire text.
    items: Vec<(Option<String>, Bytes)>,
    counter: Option<Counter>,
    interval: Duration,
    resume: bool,
    hold: bool,
    shutdown: Shutdown,
}

struct Counter {
    count: Option<u64>,
    /// `event: <event>\n`, or empty.
    event_line: String,
    /// `,"<field>":` (the field name JSON-escaped), or empty.
    timestamp_key: String,
}

impl Counter {
    fn render(&self, n: u64) -> Bytes {
        let mut out = format!("id: {n}\n{}data: {{\"n\":{n}", self.event_line);
        if !self.timestamp_key.is_empty() {
            let micros = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_micros());
            out.push_str(&self.timestamp_key);
            out.push_str(&micros.to_string());
        }
        out.push_str("}\n\n");
        Bytes::from(out)
    }

    fn has(&self, n: u64) -> bool {
        self.count.is_none_or(|count| n <= count)
    }
}

/// The wire text of one listed item.
pub(crate) fn render_item(item: &SseItem) -> String {
    if let Some(comment) = &item.comment {
        return format!(": {comment}\n\n");
    }
    let mut out = String::new();
    if let Some(id) = &item.id {
        out.push_str(&format!("id: {id}\n"));
    }
    if let Some(event) = &item.event {
        out.push_str(&format!("event: {event}\n"));
    }
    if let Some(retry) = item.retry {
        out.push_str(&format!("retry: {retry}\n"));
    }
    if let Some(data) = &item.data {
        for line in lines(data) {
            out.push_str("data: ");
            out.push_str(line);
            out.push('\n');
        }
    } else if let Some(json) = &item.json {
        out.push_str("data: ");
        out.push_str(&json.to_string());
        out.push('\n');
    }
    out.push('\n');
    out
}

/// Splits on the SSE line terminators (`\r\n`, `\n`, `\r`); `"a\n"` is `["a", ""]`.
fn lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(['\r', '\n']) {
        out.push(&rest[..at]);
        let skip = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[at + skip..];
    }
    out.push(rest);
    out
}

struct Cursor {
    endpoint: Arc<SseEndpoint>,
    /// Next listed item.
    index: usize,
    /// Next counter value.
    n: u64,
    first: bool,
}

impl SseEndpoint {
    /// Prepares a handler.
    pub(crate) fn new(
        _file: &Path,
        handler: &SseHandler,
        shutdown: Shutdown,
    ) -> Result<Self, BuildError> {
        let items = handler
            .events
            .iter()
            .map(|item| {
                let id = if item.comment.is_some() {
                    None
                } else {
                    item.id.clone()
                };
                (id, Bytes::from(render_item(item)))
            })
            .collect();
        let counter = handler.counter.as_ref().map(|c| Counter {
            count: c.count,
            event_line: c
                .event
                .as_ref()
                .map(|e| format!("event: {e}\n"))
                .unwrap_or_default(),
            timestamp_key: c
                .timestamp_field
                .as_ref()
                .map(|f| format!(",{}:", serde_json::Value::from(f.as_str())))
                .unwrap_or_default(),
        });
        Ok(SseEndpoint {
            items,
            counter,
            interval: Duration::from_millis(handler.interval_ms),
            resume: handler.resume,
            hold: handler.end == StreamEnd::Hold,
            shutdown,
        })
    }

    /// Where the stream starts: after the item named by `Last-Event-ID`, if resuming.
    fn start(&self, last_event_id: Option<&str>) -> (usize, u64) {
        let Some(last) = last_event_id.filter(|_| self.resume) else {
            return (0, 1);
        };
        if let Some(index) = self
            .items
            .iter()
            .position(|(id, _)| id.as_deref() == Some(last))
        {
            return (index + 1, 1);
        }
        if let Some(counter) = &self.counter
            && let Ok(n) = last.parse::<u64>()
            && n >= 1
            && n.to_string() == last
            && counter.has(n)
        {
            return (self.items.len(), n + 1);
        }
        (0, 1)
    }

    /// Serves one request.
    pub(crate) async fn handle(self: Arc<Self>, request: Request) -> Response {
        let last_event_id = request
            .headers()
            .get("last-event-id")
            .and_then(|v| v.to_str().ok());
        let (index, n) = self.start(last_event_id);
        let stop = self.shutdown.clone().wait();
        let cursor = Cursor {
            endpoint: self,
            index,
            n,
            first: true,
        };
        let stream = futures_util::stream::unfold(cursor, next).take_until(stop);
        let mut response = Response::new(Body::from_stream(stream));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, EVENT_STREAM);
        headers.insert(header::CACHE_CONTROL, NO_CACHE);
        response
    }
}

/// The next chunk of the stream: pause (but not before the first item), then the item.
async fn next(mut cursor: Cursor) -> Option<(Result<Bytes, Infallible>, Cursor)> {
    let endpoint = cursor.endpoint.clone();
    let listed = cursor.index < endpoint.items.len();
    let counted = !listed && endpoint.counter.as_ref().is_some_and(|c| c.has(cursor.n));
    if !listed && !counted {
        if endpoint.hold {
            std::future::pending::<()>().await;
        }
        return None;
    }
    if !cursor.first && !endpoint.interval.is_zero() {
        tokio::time::sleep(endpoint.interval).await;
    }
    cursor.first = false;
    let chunk = if listed {
        cursor.index += 1;
        endpoint.items[cursor.index - 1].1.clone()
    } else {
        let counter = endpoint.counter.as_ref()?;
        cursor.n += 1;
        counter.render(cursor.n - 1)
    };
    Some((Ok(chunk), cursor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A client that leaves ends its stream: the cursor (holding an `Arc` of the endpoint) is
    /// dropped, for a held stream and for an endless counter alike.
    #[tokio::test]
    async fn streams_stop_when_the_client_leaves() {
        for handler in [
            serde_json::json!({"route": "/s", "events": [{"data": "x"}], "end": "hold"}),
            serde_json::json!({"route": "/s", "counter": {"count": null}, "interval_ms": 2}),
        ] {
            let handler: SseHandler = serde_json::from_value(handler).unwrap();
            let endpoint = Arc::new(
                SseEndpoint::new(Path::new("t.json"), &handler, Shutdown::never()).unwrap(),
            );
            let served = endpoint.clone();
            let app = axum::Router::new().route(
                "/s",
                axum::routing::get(move |request: Request| served.clone().handle(request)),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move { axum::serve(listener, app).await });
            let baseline = Arc::strong_count(&endpoint);

            let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            tcp.write_all(b"GET /s HTTP/1.1\r\nhost: t\r\n\r\n")
                .await
                .unwrap();
            let mut buffer = [0u8; 1024];
            let n = tcp.read(&mut buffer).await.unwrap();
            assert!(n > 0);
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(Arc::strong_count(&endpoint) > baseline, "stream is live");
            drop(tcp);
            let deadline = std::time::Instant::now() + Duration::from_secs(2);
            while Arc::strong_count(&endpoint) > baseline {
                assert!(
                    std::time::Instant::now() < deadline,
                    "stream outlived its client"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            server.abort();
        }
    }

    #[test]
    fn splits_lines() {
        assert_eq!(lines("a"), vec!["a"]);
        assert_eq!(lines(""), vec![""]);
        assert_eq!(lines("a\nb\r\nc\rd"), vec!["a", "b", "c", "d"]);
        assert_eq!(lines("a\n"), vec!["a", ""]);
    }
}
