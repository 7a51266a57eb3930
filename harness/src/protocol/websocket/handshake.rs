//! The opening handshake (RFC 6455 section 4), by hand: the upgrade request written as bytes, the
//! server's reply read up to its blank line and parsed with `httparse`, `101`, `Upgrade`,
//! `Connection` and `Sec-WebSocket-Accept` checked.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::wire::transport::Stream;

/// The GUID of RFC 6455 section 1.3, appended to the key for the accept hash.
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The largest reply head the harness reads before giving up on it.
const MAX_HEAD: usize = 16 * 1024;

/// Why the upgrade did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// Reading or writing failed.
    #[error("{0}")]
    Io(String),
    /// The server closed the connection before the end of its reply head.
    #[error("the server closed the connection during the handshake")]
    Closed,
    /// The reply head is not HTTP, or too long.
    #[error("the reply is not an HTTP/1.1 head: {0}")]
    Malformed(String),
    /// Not `101 Switching Protocols`.
    #[error("the server answered {status} instead of 101")]
    Status {
        /// The status it gave.
        status: u16,
    },
    /// A 101 without the headers RFC 6455 asks for, or with the wrong accept hash.
    #[error("{0}")]
    Header(String),
}

/// An upgraded connection: what followed the reply head is the start of the frames.
#[derive(Debug)]
pub struct Upgraded {
    /// The connection.
    pub stream: Stream,
    /// Bytes read past the reply head.
    pub leftover: Vec<u8>,
    /// The `Sec-WebSocket-Extensions` the server accepted, if any.
    pub extensions: Option<String>,
}

/// The `Sec-WebSocket-Accept` a server must answer to `key`.
pub fn accept_for(key: &str) -> String {
    let mut hash = Sha1::new();
    hash.update(key.as_bytes());
    hash.update(ACCEPT_GUID.as_bytes());
    STANDARD.encode(hash.finalize())
}

/// The upgrade request for `path` on `host` (the `Host` header's value), with `key`.
pub fn request(host: &str, path: &str, key: &str, extensions: Option<&str>) -> String {
    let mut text = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\
         User-Agent: benchmark-harness protocol websocket\r\n"
    );
    if let Some(offer) = extensions {
        text.push_str(&format!("Sec-WebSocket-Extensions: {offer}\r\n"));
    }
    text.push_str("\r\n");
    text
}

/// Runs the handshake over `stream`.
pub async fn upgrade(
    mut stream: Stream,
    host: &str,
    path: &str,
    extensions: Option<&str>,
) -> Result<Upgraded, HandshakeError> {
    let key = STANDARD.encode(&uuid::Uuid::new_v4().as_bytes()[..]);
    let io = |e: std::io::Error| HandshakeError::Io(e.to_string());
    stream
        .write_all(request(host, path, &key, extensions).as_bytes())
        .await
        .map_err(io)?;
    stream.flush().await.map_err(io)?;
    let mut buf = Vec::with_capacity(1024);
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(HandshakeError::Malformed(format!(
                "no end of head within {MAX_HEAD} bytes"
            )));
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.map_err(io)?;
        if n == 0 {
            return Err(HandshakeError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let extensions = check_reply(&buf[..end], &key)?;
    Ok(Upgraded {
        stream,
        leftover: buf[end..].to_vec(),
        extensions,
    })
}

/// Checks a reply head against the request's `key`; the accepted extensions on success.
pub fn check_reply(head: &[u8], key: &str) -> Result<Option<String>, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut reply = httparse::Response::new(&mut headers);
    match reply.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(HandshakeError::Malformed("incomplete head".into()));
        }
        Err(e) => return Err(HandshakeError::Malformed(e.to_string())),
    }
    let status = reply.code.unwrap_or(0);
    if status != 101 {
        return Err(HandshakeError::Status { status });
    }
    let header = |name: &str| {
        reply
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
    };
    let missing = |name: &str| HandshakeError::Header(format!("the 101 reply has no {name}"));
    let upgrade = header("upgrade").ok_or_else(|| missing("Upgrade"))?;
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err(HandshakeError::Header(format!(
            "Upgrade: {upgrade} (not websocket)"
        )));
    }
    let connection = header("connection").ok_or_else(|| missing("Connection"))?;
    if !connection
        .split(',')
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
    {
        return Err(HandshakeError::Header(format!(
            "Connection: {connection} (no upgrade token)"
        )));
    }
    let accept = header("sec-websocket-accept").ok_or_else(|| missing("Sec-WebSocket-Accept"))?;
    let want = accept_for(key);
    if accept != want {
        return Err(HandshakeError::Header(format!(
            "Sec-WebSocket-Accept: {accept}, expected {want}"
        )));
    }
    // The header may come several times: its values are one list (RFC 6455 9.1).
    let extensions: Vec<String> = reply
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("sec-websocket-extensions"))
        .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
        .collect();
    Ok((!extensions.is_empty()).then(|| extensions.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn reply(accept: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        )
    }

    #[test]
    fn the_rfc_accept_hash() {
        assert_eq!(accept_for(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn a_right_reply_passes_and_each_fault_is_named() {
        let good = reply("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(check_reply(good.as_bytes(), KEY), Ok(None));
        let bad_accept = reply("AAAA");
        let err = check_reply(bad_accept.as_bytes(), KEY).unwrap_err();
        assert!(err.to_string().contains("expected s3pPLMBi"), "{err}");
        let twice = good.replace(
            "\r\n\r\n",
            "\r\nSec-WebSocket-Extensions: a\r\nSec-WebSocket-Extensions: b; x=1\r\n\r\n",
        );
        assert_eq!(
            check_reply(twice.as_bytes(), KEY),
            Ok(Some("a, b; x=1".into()))
        );
        let not_found = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            check_reply(not_found.as_bytes(), KEY),
            Err(HandshakeError::Status { status: 404 })
        );
        let no_upgrade = good.replace("Upgrade: websocket\r\n", "");
        assert!(
            check_reply(no_upgrade.as_bytes(), KEY)
                .unwrap_err()
                .to_string()
                .contains("no Upgrade")
        );
    }

    #[test]
    fn the_request_offers_extensions_only_when_asked() {
        let plain = request("h:1", "/ws", KEY, None);
        assert!(plain.starts_with("GET /ws HTTP/1.1\r\nHost: h:1\r\n"));
        assert!(!plain.contains("Extensions"));
        let offer = request("h:1", "/ws", KEY, Some("permessage-deflate"));
        assert!(offer.contains("Sec-WebSocket-Extensions: permessage-deflate\r\n"));
        assert!(offer.ends_with("\r\n\r\n"));
    }
}
