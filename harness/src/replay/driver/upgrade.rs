//! The WebSocket upgrade, done by hand so that whatever the server answers is recorded: a
//! refusal with its status and body, a 101 with or without a subprotocol, a bad accept key.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use url::Url;

use super::StepError;
use super::close_watch::Watched;
use crate::results::transcript::{Body, Handshake, Headers};
use crate::wire::tls::TlsSettings;
use crate::wire::transport::{self, ConnectError, Stream};

/// A replay's WebSocket connection.
pub(super) type Socket = WebSocketStream<Watched>;

const MAX_HEAD: usize = 64 * 1024;
const MAX_REFUSAL_BODY: usize = 64 * 1024;

/// The result of an upgrade attempt.
pub(super) struct Upgrade {
    pub handshake: Handshake,
    /// The open connection when the server switched protocols.
    pub socket: Option<Socket>,
}

/// Sends the upgrade request for `url` (over TLS with `tls` for `wss://`) and reads the reply,
/// within `timeout`. The connection refuses a message (or frame) from the server larger than
/// `max_message_size` bytes.
pub(super) async fn upgrade(
    url: &Url,
    headers: &Headers,
    subprotocols: &[String],
    tls: &TlsSettings,
    timeout: Duration,
    max_message_size: usize,
) -> Result<Upgrade, StepError> {
    let upgrading = upgrade_inner(url, headers, subprotocols, tls, max_message_size);
    tokio::time::timeout(timeout, upgrading)
        .await
        .unwrap_or(Err(StepError::NoUpgradeReply(timeout)))
}

async fn upgrade_inner(
    url: &Url,
    headers: &Headers,
    subprotocols: &[String],
    tls: &TlsSettings,
    max_message_size: usize,
) -> Result<Upgrade, StepError> {
    let host = url.host_str().ok_or(StepError::NoHost)?;
    let port = url.port_or_known_default().ok_or(StepError::NoPort)?;
    let secure = transport::is_tls(url.scheme()).then_some(tls);
    let mut stream = transport::connect(host, port, secure)
        .await
        .map_err(|e| match e {
            ConnectError::Tcp { host, port, source } => StepError::Connect { host, port, source },
            tls @ ConnectError::Tls { .. } => StepError::Tls(tls),
        })?;
    let key = generate_key();
    let request = upgrade_request(url, host, &key, headers, subprotocols)?;
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(StepError::SendUpgrade)?;
    // Over TLS, write_all may leave the last record in the session's buffer (tokio-rustls
    // stops writing when the socket or the task's budget says wait): the flush sends it.
    stream.flush().await.map_err(StepError::SendUpgrade)?;
    let (reply, rest) = read_reply_head(&mut stream).await?;
    if reply.status != 101 {
        return Ok(refused(&mut stream, reply, rest).await);
    }
    switch(stream, reply, rest, &key, max_message_size).await
}

/// The upgrade request for `url` on `host`, with `key`, the `subprotocols` offered, the
/// fixture's `headers` and a User-Agent unless those name one; the error names a header that
/// cannot be sent.
fn upgrade_request(
    url: &Url,
    host: &str,
    key: &str,
    headers: &Headers,
    subprotocols: &[String],
) -> Result<String, StepError> {
    let mut target = url.path().to_string();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let host_header = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let mut request = format!(
        "GET {target} HTTP/1.1\r\nHost: {host_header}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
    );
    if !subprotocols.is_empty() {
        request.push_str(&format!(
            "Sec-WebSocket-Protocol: {}\r\n",
            subprotocols.join(", ")
        ));
    }
    for (name, value) in headers {
        if name.contains(['\r', '\n', ':']) || value.contains(['\r', '\n']) {
            return Err(StepError::Header { name: name.clone() });
        }
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("user-agent"))
    {
        request.push_str(&format!(
            "User-Agent: {}\r\n",
            crate::wire::request::USER_AGENT
        ));
    }
    request.push_str("\r\n");
    Ok(request)
}

/// The head of the server's reply to the upgrade request.
struct ReplyHead {
    status: u16,
    /// Names in lower case, in order.
    headers: Headers,
}

impl ReplyHead {
    /// The first value of the header `name` (lower case).
    fn value(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

/// Reads the reply head (at most [`MAX_HEAD`] bytes); returns it with the bytes read past it.
async fn read_reply_head(stream: &mut Stream) -> Result<(ReplyHead, Vec<u8>), StepError> {
    let mut buffer = Vec::with_capacity(1024);
    loop {
        let mut chunk = [0u8; 4096];
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(StepError::ReadUpgrade)?;
        if n == 0 {
            return Err(StepError::ClosedBeforeUpgrade);
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some((head, head_len)) = parse_reply_head(&buffer)? {
            let rest = buffer.split_off(head_len);
            return Ok((head, rest));
        }
    }
}

/// The reply head at the start of `buffer` and its length, or `None` while it is incomplete.
fn parse_reply_head(buffer: &[u8]) -> Result<Option<(ReplyHead, usize)>, StepError> {
    let mut parsed_headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut parsed_headers);
    match response.parse(buffer) {
        Ok(httparse::Status::Complete(len)) => {
            let headers: Headers = response
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_ascii_lowercase(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            let status = response.code.unwrap_or(0);
            Ok(Some((ReplyHead { status, headers }, len)))
        }
        Ok(httparse::Status::Partial) if buffer.len() < MAX_HEAD => Ok(None),
        Ok(httparse::Status::Partial) => Err(StepError::UpgradeHeadTooLarge),
        Err(e) => Err(StepError::NotHttp(e)),
    }
}

/// A refused upgrade as recorded: the reply with its body (`rest` is its start).
async fn refused(stream: &mut Stream, reply: ReplyHead, rest: Vec<u8>) -> Upgrade {
    let body = read_refusal_body(stream, rest, reply.value("content-length")).await;
    Upgrade {
        handshake: Handshake {
            status: reply.status,
            subprotocol: None,
            headers: reply.headers,
            body: Some(body),
        },
        socket: None,
    }
}

/// Checks the 101 reply's accept key against `key` and opens the WebSocket connection over
/// `stream` (`rest` is what was read past the head: the first frames).
async fn switch(
    stream: Stream,
    reply: ReplyHead,
    rest: Vec<u8>,
    key: &str,
    max_message_size: usize,
) -> Result<Upgrade, StepError> {
    let accept = reply.value("sec-websocket-accept").unwrap_or_default();
    if accept != derive_accept_key(key.as_bytes()) {
        return Err(StepError::BadAccept(accept));
    }
    let subprotocol = reply.value("sec-websocket-protocol");
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_message_size))
        .max_frame_size(Some(max_message_size));
    let stream = Watched::new(stream, &rest);
    let socket =
        WebSocketStream::from_partially_read(stream, rest, Role::Client, Some(config)).await;
    Ok(Upgrade {
        handshake: Handshake {
            status: reply.status,
            subprotocol,
            headers: reply.headers,
            body: None,
        },
        socket: Some(socket),
    })
}

/// Reads the body of a refused upgrade: by Content-Length, else until EOF or a short pause.
async fn read_refusal_body(stream: &mut Stream, mut body: Vec<u8>, length: Option<String>) -> Body {
    let wanted = length
        .and_then(|l| l.trim().parse::<usize>().ok())
        .map(|l| l.min(MAX_REFUSAL_BODY));
    let read = async {
        let mut chunk = [0u8; 4096];
        while wanted.is_none_or(|w| body.len() < w) && body.len() < MAX_REFUSAL_BODY {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let pause = if wanted.is_some() {
        Duration::from_secs(2)
    } else {
        Duration::from_millis(300)
    };
    let _ = tokio::time::timeout(pause, read).await;
    if let Some(w) = wanted {
        body.truncate(w);
    }
    Body(body)
}
