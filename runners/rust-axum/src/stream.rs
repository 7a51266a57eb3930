//! Streamed replies (`response.stream`): items written one by one with `Body::from_stream`,
//! each a frame of its own (flushed as it is written), `interval_ms` apart, without
//! `Content-Length` (chunked on HTTP/1.1).

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::HeaderValue;
use bytes::Bytes;
use futures_util::StreamExt;
use harness_fixture::handler::{StreamBody, StreamFormat};
use serde_json::Value;

use crate::error::BuildError;
use crate::shutdown::Shutdown;

const NDJSON: HeaderValue = HeaderValue::from_static("application/x-ndjson");
const CSV: HeaderValue = HeaderValue::from_static("text/csv; charset=utf-8");
const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

/// A streamed body, its items rendered once.
#[derive(Debug)]
pub(crate) struct Streamed {
    pieces: Arc<[Bytes]>,
    interval: Duration,
    content_type: HeaderValue,
}

/// One CSV field: strings quoted when they hold `,`, `"`, CR or LF (RFC 4180, `"` doubled);
/// numbers and booleans as their JSON text.
fn csv_field(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if text.contains([',', '"', '\r', '\n']) => {
            Some(format!("\"{}\"", text.replace('"', "\"\"")))
        }
        Value::String(text) => Some(text.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}

/// One CSV record and its CRLF.
fn csv_line(item: &Value) -> Option<String> {
    let fields = item
        .as_array()?
        .iter()
        .map(csv_field)
        .collect::<Option<Vec<_>>>()?;
    Some(format!("{}\r\n", fields.join(",")))
}

/// The bytes of one item.
fn render(format: StreamFormat, item: &Value) -> Result<Bytes, &'static str> {
    match format {
        StreamFormat::Ndjson => {
            let mut out = item.to_string().into_bytes();
            out.push(b'\n');
            Ok(Bytes::from(out))
        }
        StreamFormat::Csv => csv_line(item)
            .map(Bytes::from)
            .ok_or("a csv item is an array of strings, numbers or booleans"),
        StreamFormat::Text => item
            .as_str()
            .map(|text| Bytes::from(text.to_owned()))
            .ok_or("a text item is a string"),
    }
}

impl Streamed {
    /// Renders every item of `stream`.
    pub(crate) fn new(file: &Path, stream: &StreamBody) -> Result<Streamed, BuildError> {
        let pieces = stream
            .items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                render(stream.format, item).map_err(|message| {
                    BuildError::handler(
                        file,
                        format!("/handler/response/stream/items/{index}"),
                        message,
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Streamed {
            pieces: pieces.into(),
            interval: Duration::from_millis(stream.interval_ms),
            content_type: match stream.format {
                StreamFormat::Ndjson => NDJSON,
                StreamFormat::Csv => CSV,
                StreamFormat::Text => TEXT,
            },
        })
    }

    /// The reply's `Content-Type`.
    pub(crate) fn content_type(&self) -> HeaderValue {
        self.content_type.clone()
    }

    /// A body yielding the items one by one, pausing `interval` before each after the first;
    /// it ends early when the server shuts down.
    pub(crate) fn body(&self, shutdown: &Shutdown) -> Body {
        let pieces = self.pieces.clone();
        let interval = self.interval;
        let items = futures_util::stream::iter(0..pieces.len()).then(move |index| {
            let piece = pieces[index].clone();
            async move {
                if index > 0 && !interval.is_zero() {
                    tokio::time::sleep(interval).await;
                }
                Ok::<Bytes, Infallible>(piece)
            }
        });
        Body::from_stream(items.take_until(shutdown.clone().wait()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_quotes_only_what_needs_it() {
        let line = csv_line(&json!([
            "a",
            "b,c",
            "say \"hi\"",
            "two\nlines",
            "cr\r",
            2,
            1.5,
            true
        ]));
        assert_eq!(
            line.as_deref(),
            Some("a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\",2,1.5,true\r\n")
        );
        assert_eq!(csv_line(&json!([])).as_deref(), Some("\r\n"));
        assert_eq!(csv_line(&json!([null])), None);
        assert_eq!(csv_line(&json!("x")), None);
    }

    #[test]
    fn items_render_by_format() {
        assert_eq!(
            render(StreamFormat::Ndjson, &json!({"a": [1, "é"]})).unwrap(),
            Bytes::from("{\"a\":[1,\"é\"]}\n")
        );
        assert_eq!(
            render(StreamFormat::Text, &json!("no newline")).unwrap(),
            Bytes::from("no newline")
        );
        assert!(render(StreamFormat::Text, &json!(1)).is_err());
    }
}
