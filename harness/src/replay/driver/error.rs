//! Why a replay step could not go on: the reason of a transcript's `interrupted` (the fixture is
//! then `errored`). The texts are those of result documents and snapshots; the step's JSON
//! pointer (`/request`, `/transcript/3`, `/events/2`) is kept beside the error by the driver.

use std::time::Duration;

use tokio_tungstenite::tungstenite::Error as WsError;

use super::reason;
use crate::wire::EventTooLarge;
use crate::wire::request::{Base64Error, MAX_BODY};

/// Why a replay step stopped.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The fixture's path does not make a URL on the target.
    #[error("bad URL: {0}")]
    BadUrl(url::ParseError),
    /// The fixture's method is not an HTTP method.
    #[error("{source}")]
    Method {
        /// The method.
        method: String,
        /// Why it is not one.
        source: hyper::http::method::InvalidMethod,
    },
    /// A request header cannot be sent.
    #[error("header {name:?} cannot be sent")]
    Header {
        /// The header's name.
        name: String,
    },
    /// A base64 field of the request (or message) does not decode.
    #[error(transparent)]
    Base64(#[from] Base64Error),
    /// The request failed (connection, protocol), with its causes.
    #[error("{}", reason(.0))]
    Request(reqwest::Error),
    /// The reply (or the SSE reply head) did not come in time.
    #[error("no reply within {0:?}")]
    NoReply(Duration),
    /// The whole reply did not come in time.
    #[error("no complete reply within {0:?}")]
    NoCompleteReply(Duration),
    /// The reply body is past [`MAX_BODY`].
    #[error("reply body larger than {MAX_BODY} bytes")]
    BodyTooLarge,
    /// The reply body decodes past [`MAX_BODY`] (a compression bomb).
    #[error("reply body with content-encoding {content_encoding}: {source}")]
    Decode {
        /// The reply's `Content-Encoding`.
        content_encoding: String,
        /// What stopped decoding.
        source: crate::wire::coding::DecodeError,
    },
    /// The decoder gave up without an error (it panicked on its thread).
    #[error("decoding the reply body failed: {0}")]
    DecodePanicked(String),
    /// The request body could not be encoded as `content_encoding` asks.
    #[error(transparent)]
    Encode(#[from] crate::wire::coding::EncodeError),
    /// `follow_redirects`: more redirects than allowed.
    #[error(
        "more than {max} redirects: the next one ({status}) goes to {location:?}",
        max = harness_fixture::model::MAX_REDIRECTS
    )]
    TooManyRedirects {
        /// The status of the redirect not followed.
        status: u16,
        /// Where it goes.
        location: String,
    },
    /// `follow_redirects`: a `Location` that is not a URL.
    #[error("redirect {status} to a bad location {location:?}: {source}")]
    BadRedirect {
        /// The redirect's status.
        status: u16,
        /// Its `Location`.
        location: String,
        /// Why it is not a URL.
        source: url::ParseError,
    },
    /// `follow_redirects`: a redirect away from HTTP.
    #[error("redirect {status} to {location:?}: only http and https locations are followed")]
    RedirectScheme {
        /// The redirect's status.
        status: u16,
        /// Its `Location`.
        location: String,
    },
    /// The WebSocket upgrade got no reply in time.
    #[error("no upgrade reply within {0:?}")]
    NoUpgradeReply(Duration),
    /// The WebSocket URL has no host.
    #[error("URL has no host")]
    NoHost,
    /// The WebSocket URL has no port.
    #[error("URL has no port")]
    NoPort,
    /// The WebSocket connection could not be opened.
    #[error("cannot connect to {host}:{port}: {source}")]
    Connect {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS handshake of the WebSocket connection failed.
    #[error("{0}")]
    Tls(crate::wire::transport::ConnectError),
    /// The upgrade request could not be written.
    #[error("cannot send the upgrade request: {0}")]
    SendUpgrade(std::io::Error),
    /// The upgrade reply could not be read.
    #[error("reading the upgrade reply: {0}")]
    ReadUpgrade(std::io::Error),
    /// The server closed before the upgrade reply.
    #[error("connection closed before the upgrade reply")]
    ClosedBeforeUpgrade,
    /// The upgrade reply's head is past its limit.
    #[error("upgrade reply head too large")]
    UpgradeHeadTooLarge,
    /// The upgrade reply is not HTTP.
    #[error("garbage instead of an HTTP reply: {0}")]
    NotHttp(httparse::Error),
    /// The upgrade reply's `Sec-WebSocket-Accept` is not the key's.
    #[error("bad Sec-WebSocket-Accept {0:?}")]
    BadAccept(String),
    /// A WebSocket message could not be sent in time.
    #[error("could not send within {0:?}")]
    SendTimeout(Duration),
    /// The transport failed while sending a WebSocket message.
    #[error("transport failure while sending: {0}")]
    SendTransport(std::io::Error),
    /// A WebSocket message could not be sent.
    #[error("cannot send: {0}")]
    Send(Box<WsError>),
    /// Nothing came in time.
    #[error("nothing received within {0:?}")]
    NothingReceived(Duration),
    /// The transport failed while receiving.
    #[error("transport failure: {0}")]
    Transport(std::io::Error),
    /// A WebSocket message (or frame) past the driver's limit.
    #[error("message too large: {size} bytes or more, over the limit of {max_size}")]
    MessageTooLarge {
        /// What it announced, or had reached.
        size: usize,
        /// The limit.
        max_size: usize,
    },
    /// Bytes that are not WebSocket.
    #[error("garbage from the server: {0}")]
    Garbage(Box<WsError>),
    /// A broadcast subscription's WebSocket broke.
    #[error("broken connection: {0}")]
    BrokenConnection(Box<WsError>),
    /// An SSE stream broke.
    #[error("broken stream: {}", reason(.0))]
    BrokenStream(reqwest::Error),
    /// An SSE line or event past the driver's limit.
    #[error(transparent)]
    EventTooLarge(#[from] EventTooLarge),
    /// No expected SSE event in time.
    #[error("no event within {0:?}")]
    NoEvent(Duration),
    /// No end of an SSE stream expected to close, in time.
    #[error("no end of the stream within {0:?}")]
    NoEnd(Duration),
    /// An SSE stream expected to close that goes on.
    #[error("more than {max} events past the expected ones", max = super::sse::MAX_EXTRA_EVENTS)]
    TooManyEvents,
    /// A WebSocket step of format 1.1 read this many messages that did not complete it.
    #[error(
        "more than {max} messages past the expected ones in one step",
        max = super::ws::MAX_EXTRA_MESSAGES
    )]
    TooManyMessages,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reasons that transcripts, snapshots and result documents hold, word for word.
    #[test]
    fn reasons_keep_their_words() {
        let wait = Duration::from_millis(1500);
        let io = || std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let io_text = io().to_string();
        let cases: Vec<(StepError, String)> = vec![
            (
                StepError::BodyTooLarge,
                format!("reply body larger than {MAX_BODY} bytes"),
            ),
            (
                StepError::Decode {
                    content_encoding: "gzip".into(),
                    source: crate::wire::coding::DecodeError::TooLarge {
                        coding: "gzip",
                        cap: MAX_BODY,
                    },
                },
                format!(
                    "reply body with content-encoding gzip: undoing gzip gives more than \
                     {MAX_BODY} bytes, the reply body cap"
                ),
            ),
            (
                StepError::SendTimeout(wait),
                format!("could not send within {wait:?}"),
            ),
            (
                StepError::NoReply(wait),
                format!("no reply within {wait:?}"),
            ),
            (
                StepError::NoCompleteReply(wait),
                format!("no complete reply within {wait:?}"),
            ),
            (
                StepError::NothingReceived(wait),
                format!("nothing received within {wait:?}"),
            ),
            (
                StepError::NoUpgradeReply(wait),
                format!("no upgrade reply within {wait:?}"),
            ),
            (
                StepError::NoEvent(wait),
                format!("no event within {wait:?}"),
            ),
            (
                StepError::NoEnd(wait),
                format!("no end of the stream within {wait:?}"),
            ),
            (
                StepError::TooManyEvents,
                "more than 100 events past the expected ones".into(),
            ),
            (
                StepError::TooManyMessages,
                "more than 100 messages past the expected ones in one step".into(),
            ),
            (
                StepError::Header { name: "x-a".into() },
                "header \"x-a\" cannot be sent".into(),
            ),
            (
                StepError::TooManyRedirects {
                    status: 302,
                    location: "/a".into(),
                },
                format!(
                    "more than {} redirects: the next one (302) goes to \"/a\"",
                    harness_fixture::model::MAX_REDIRECTS
                ),
            ),
            (
                StepError::RedirectScheme {
                    status: 301,
                    location: "ftp://x".into(),
                },
                "redirect 301 to \"ftp://x\": only http and https locations are followed".into(),
            ),
            (
                StepError::MessageTooLarge {
                    size: 10,
                    max_size: 4,
                },
                "message too large: 10 bytes or more, over the limit of 4".into(),
            ),
            (
                StepError::Connect {
                    host: "127.0.0.1".into(),
                    port: 9,
                    source: io(),
                },
                format!("cannot connect to 127.0.0.1:9: {io_text}"),
            ),
            (StepError::NoHost, "URL has no host".into()),
            (StepError::NoPort, "URL has no port".into()),
            (
                StepError::SendUpgrade(io()),
                format!("cannot send the upgrade request: {io_text}"),
            ),
            (
                StepError::ReadUpgrade(io()),
                format!("reading the upgrade reply: {io_text}"),
            ),
            (
                StepError::ClosedBeforeUpgrade,
                "connection closed before the upgrade reply".into(),
            ),
            (
                StepError::UpgradeHeadTooLarge,
                "upgrade reply head too large".into(),
            ),
            (
                StepError::BadAccept("k".into()),
                "bad Sec-WebSocket-Accept \"k\"".into(),
            ),
            (
                StepError::SendTransport(io()),
                format!("transport failure while sending: {io_text}"),
            ),
            (
                StepError::Transport(io()),
                format!("transport failure: {io_text}"),
            ),
            (
                StepError::Garbage(Box::new(WsError::ConnectionClosed)),
                format!("garbage from the server: {}", WsError::ConnectionClosed),
            ),
            (
                StepError::BrokenConnection(Box::new(WsError::AlreadyClosed)),
                format!("broken connection: {}", WsError::AlreadyClosed),
            ),
            (
                StepError::Send(Box::new(WsError::AlreadyClosed)),
                format!("cannot send: {}", WsError::AlreadyClosed),
            ),
            (
                StepError::BadUrl(url::ParseError::EmptyHost),
                format!("bad URL: {}", url::ParseError::EmptyHost),
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text, "{error:?}");
        }
    }
}
