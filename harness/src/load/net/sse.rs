//! An SSE subscription opened on a raw socket (the SSE load path and broadcast subscribers read
//! the body themselves): the request written as is, interim replies skipped, the head checked.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::chunked::Framing;
use super::endpoint::Endpoint;
use super::http1::{MAX_HEAD, framing};
use crate::load::expect::{HeaderExpect, raw_header_difference};
use crate::load::recorder::ErrorKind;
use crate::wire::transport::Stream;

/// Bytes read at once while the head comes (the buffer grows for a longer head).
const HEAD_READ: usize = 4 * 1024;

/// Opens an SSE connection, sends the request, reads and checks the reply's head: a status other
/// than `status` is the error `refused` makes of it. On success `buffer` holds the first bytes
/// of the body.
pub(crate) async fn open_stream(
    endpoint: &Endpoint,
    request: &[u8],
    status: u16,
    refused: impl Fn(u16) -> ErrorKind,
    expect_headers: &[HeaderExpect],
    buffer: &mut Vec<u8>,
) -> Result<(Stream, Framing), ErrorKind> {
    let mut stream = endpoint.connect().await?;
    stream
        .write_all(request)
        .await
        .map_err(|e| ErrorKind::of_io(&e))?;
    stream.flush().await.map_err(|e| ErrorKind::of_io(&e))?;
    loop {
        if buffer.len() >= MAX_HEAD {
            return Err(ErrorKind::Garbage);
        }
        buffer.reserve(HEAD_READ);
        if stream
            .read_buf(buffer)
            .await
            .map_err(|e| ErrorKind::of_io(&e))?
            == 0
        {
            return Err(ErrorKind::Closed);
        }
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut slots);
        let head = match response.parse(buffer) {
            Ok(httparse::Status::Complete(head)) => head,
            Ok(httparse::Status::Partial) => continue,
            Err(_) => return Err(ErrorKind::Garbage),
        };
        let response_status = response.code.unwrap_or_default();
        if (100..200).contains(&response_status) && response_status != 101 {
            // An interim response: the real one follows.
            buffer.drain(..head);
            continue;
        }
        if response_status != status {
            return Err(refused(response_status));
        }
        if let Some(difference) = raw_header_difference(expect_headers, response.headers) {
            return Err(difference);
        }
        let framing = framing(response.headers)?;
        buffer.drain(..head);
        return Ok((stream, framing));
    }
}
