//! HTTP/1.1 on the load path: a reply's head read in place (how its body is framed, whether the
//! connection stays open), and a hyper connection for the one client that sends rather than
//! measures (the broadcast publisher).

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use super::AbortOnDrop;
use super::chunked::Framing;
use super::endpoint::Endpoint;
use crate::load::recorder::ErrorKind;

/// The largest reply head accepted.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// How a reply's body is framed, from its head.
pub(crate) fn framing(headers: &[httparse::Header<'_>]) -> Result<Framing, ErrorKind> {
    let mut chunked = None;
    let mut length = None;
    for header in headers {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            let last = header
                .value
                .rsplit(|&b| b == b',')
                .next()
                .unwrap_or_default();
            chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if length.is_none() && header.name.eq_ignore_ascii_case("content-length") {
            length = Some(header.value);
        }
    }
    if chunked == Some(true) {
        return Ok(Framing::Chunked);
    }
    match length {
        None => Ok(Framing::Close),
        Some(value) => std::str::from_utf8(value)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .map(Framing::Length)
            .ok_or(ErrorKind::Garbage),
    }
}

/// Whether the connection stays open after a reply: HTTP/1.1 unless `Connection: close`,
/// HTTP/1.0 only with `Connection: keep-alive`.
pub(crate) fn keep_alive(version: Option<u8>, headers: &[httparse::Header<'_>]) -> bool {
    let has = |token: &[u8]| {
        headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("connection"))
            .flat_map(|h| h.value.split(|&b| b == b','))
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
    };
    if version == Some(1) {
        !has(b"close")
    } else {
        has(b"keep-alive")
    }
}

/// An open HTTP/1.1 connection.
pub(crate) struct Http1 {
    pub(crate) sender: SendRequest<Full<Bytes>>,
    _driver: AbortOnDrop,
}

/// Opens a connection to `endpoint`, driven by hyper (the broadcast publisher's).
pub(crate) async fn open(endpoint: &Endpoint) -> Result<Http1, ErrorKind> {
    let stream = endpoint.connect().await?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| ErrorKind::of_error(&e))?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Http1 {
        sender,
        _driver: AbortOnDrop(driver),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_and_keep_alive_come_from_the_head() {
        let h = |name, value: &'static str| httparse::Header {
            name,
            value: value.as_bytes(),
        };
        assert_eq!(
            framing(&[h("Content-Length", " 12 ")]),
            Ok(Framing::Length(12))
        );
        assert_eq!(
            framing(&[
                h("transfer-encoding", "gzip, chunked"),
                h("content-length", "3")
            ]),
            Ok(Framing::Chunked)
        );
        assert_eq!(framing(&[]), Ok(Framing::Close));
        assert_eq!(
            framing(&[h("content-length", "x")]),
            Err(ErrorKind::Garbage)
        );
        assert!(keep_alive(Some(1), &[]));
        assert!(!keep_alive(Some(1), &[h("Connection", "Close")]));
        assert!(!keep_alive(Some(0), &[]));
        assert!(keep_alive(Some(0), &[h("connection", "keep-alive")]));
    }
}
