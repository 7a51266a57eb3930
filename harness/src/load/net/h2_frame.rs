//! HTTP/2 frames as the load client ([`super::http2`]) writes and reads them (RFC 9113,
//! sections 4 and 6): the frame header, the frames the client sends (written into one buffer,
//! sent together), padding and priority fields stripped from what it reads, and a request's
//! header block encoded once (HPACK, RFC 7541: static-table indexes and literals without
//! indexing, so the same bytes are right on every stream whatever the decoder's table holds).

/// What a client sends first (RFC 9113, 3.4).
pub(crate) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// The length of a frame header.
pub(crate) const HEAD_LEN: usize = 9;
/// The largest frame payload the client takes (SETTINGS_MAX_FRAME_SIZE, left at its default).
pub(crate) const MAX_FRAME: usize = 16_384;
/// The initial flow-control window of a stream and of a connection before SETTINGS say more.
pub(crate) const DEFAULT_WINDOW: i64 = 65_535;
/// The largest flow-control window (2^31 - 1).
pub(crate) const MAX_WINDOW: i64 = (1 << 31) - 1;
/// The largest stream identifier.
pub(crate) const MAX_STREAM_ID: u32 = (1 << 31) - 1;

/// Frame types.
pub(crate) mod kind {
    pub(crate) const DATA: u8 = 0;
    pub(crate) const HEADERS: u8 = 1;
    pub(crate) const PRIORITY: u8 = 2;
    pub(crate) const RST_STREAM: u8 = 3;
    pub(crate) const SETTINGS: u8 = 4;
    pub(crate) const PUSH_PROMISE: u8 = 5;
    pub(crate) const PING: u8 = 6;
    pub(crate) const GOAWAY: u8 = 7;
    pub(crate) const WINDOW_UPDATE: u8 = 8;
    pub(crate) const CONTINUATION: u8 = 9;
}

/// Frame flags.
pub(crate) mod flag {
    pub(crate) const END_STREAM: u8 = 0x1;
    pub(crate) const ACK: u8 = 0x1;
    pub(crate) const END_HEADERS: u8 = 0x4;
    pub(crate) const PADDED: u8 = 0x8;
    pub(crate) const PRIORITY: u8 = 0x20;
}

/// SETTINGS parameters.
pub(crate) mod setting {
    pub(crate) const ENABLE_PUSH: u16 = 0x2;
    pub(crate) const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    pub(crate) const INITIAL_WINDOW_SIZE: u16 = 0x4;
    pub(crate) const MAX_FRAME_SIZE: u16 = 0x5;
}

/// Error codes (RFC 9113, 7).
pub(crate) mod code {
    pub(crate) const NO_ERROR: u32 = 0x0;
    pub(crate) const PROTOCOL_ERROR: u32 = 0x1;
    pub(crate) const FLOW_CONTROL_ERROR: u32 = 0x3;
    pub(crate) const FRAME_SIZE_ERROR: u32 = 0x6;
    pub(crate) const CANCEL: u32 = 0x8;
    pub(crate) const COMPRESSION_ERROR: u32 = 0x9;
    pub(crate) const ENHANCE_YOUR_CALM: u32 = 0xb;
}

/// A frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) length: usize,
    pub(crate) kind: u8,
    pub(crate) flags: u8,
    pub(crate) stream: u32,
}

impl Head {
    /// The header at the start of `bytes` (at least [`HEAD_LEN`] of them), if there are enough.
    pub(crate) fn parse(bytes: &[u8]) -> Option<Head> {
        let b: &[u8; HEAD_LEN] = bytes.get(..HEAD_LEN)?.try_into().ok()?;
        Some(Head {
            length: usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]),
            kind: b[3],
            flags: b[4],
            stream: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & MAX_STREAM_ID,
        })
    }

    /// Whether `flag` is set.
    pub(crate) fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// Appends a frame header.
pub(crate) fn write_head(out: &mut Vec<u8>, length: usize, kind: u8, flags: u8, stream: u32) {
    let length = length.to_be_bytes();
    let n = length.len();
    out.extend_from_slice(&length[n - 3..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & MAX_STREAM_ID).to_be_bytes());
}

/// Appends a SETTINGS frame with `values`.
pub(crate) fn settings(out: &mut Vec<u8>, values: &[(u16, u32)]) {
    write_head(out, values.len() * 6, kind::SETTINGS, 0, 0);
    for (id, value) in values {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// Appends the acknowledgement of the peer's SETTINGS.
pub(crate) fn settings_ack(out: &mut Vec<u8>) {
    write_head(out, 0, kind::SETTINGS, flag::ACK, 0);
}

/// Appends a WINDOW_UPDATE of `stream` (0: the connection).
pub(crate) fn window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    write_head(out, 4, kind::WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&(increment & MAX_WINDOW as u32).to_be_bytes());
}

/// Appends an RST_STREAM.
pub(crate) fn rst_stream(out: &mut Vec<u8>, stream: u32, error: u32) {
    write_head(out, 4, kind::RST_STREAM, 0, stream);
    out.extend_from_slice(&error.to_be_bytes());
}

/// Appends the answer to a PING.
pub(crate) fn ping_ack(out: &mut Vec<u8>, payload: &[u8]) {
    write_head(out, payload.len(), kind::PING, flag::ACK, 0);
    out.extend_from_slice(payload);
}

/// Appends a GOAWAY.
pub(crate) fn goaway(out: &mut Vec<u8>, last_stream: u32, error: u32) {
    write_head(out, 8, kind::GOAWAY, 0, 0);
    out.extend_from_slice(&last_stream.to_be_bytes());
    out.extend_from_slice(&error.to_be_bytes());
}

/// Appends a HEADERS frame carrying `block` (and CONTINUATION frames for what does not fit in
/// `max_frame` bytes).
pub(crate) fn headers(
    out: &mut Vec<u8>,
    stream: u32,
    block: &[u8],
    end_stream: bool,
    max_frame: usize,
) {
    let mut chunks = block.chunks(max_frame.max(1)).peekable();
    let mut kind = kind::HEADERS;
    let mut flags = if end_stream { flag::END_STREAM } else { 0 };
    if chunks.peek().is_none() {
        write_head(out, 0, kind, flags | flag::END_HEADERS, stream);
    }
    while let Some(chunk) = chunks.next() {
        if chunks.peek().is_none() {
            flags |= flag::END_HEADERS;
        }
        write_head(out, chunk.len(), kind, flags, stream);
        out.extend_from_slice(chunk);
        kind = kind::CONTINUATION;
        flags = 0;
    }
}

/// Appends a DATA frame.
pub(crate) fn data(out: &mut Vec<u8>, stream: u32, bytes: &[u8], end_stream: bool) {
    let flags = if end_stream { flag::END_STREAM } else { 0 };
    write_head(out, bytes.len(), kind::DATA, flags, stream);
    out.extend_from_slice(bytes);
}

/// The content of a DATA or HEADERS payload: without its padding and (HEADERS) priority
/// fields; `None` when the padding is longer than the payload (a PROTOCOL_ERROR).
pub(crate) fn unpad<'p>(head: &Head, payload: &'p [u8]) -> Option<&'p [u8]> {
    let mut payload = payload;
    let mut padding = 0;
    if head.has(flag::PADDED) {
        padding = usize::from(*payload.first()?);
        payload = &payload[1..];
    }
    if head.kind == kind::HEADERS && head.has(flag::PRIORITY) {
        payload = payload.get(5..)?;
    }
    payload.get(..payload.len().checked_sub(padding)?)
}

/// A request's header block (RFC 9113, 8.3.1: the pseudo-headers first), encoded once.
pub(crate) fn request_block<'h>(
    method: &str,
    scheme: &str,
    authority: &str,
    path: &str,
    headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
) -> Vec<u8> {
    let mut block = Vec::new();
    match method {
        "GET" => indexed(&mut block, 2),
        "POST" => indexed(&mut block, 3),
        other => literal(&mut block, 2, other.as_bytes()),
    }
    match scheme {
        "https" => indexed(&mut block, 7),
        _ => indexed(&mut block, 6),
    }
    literal(&mut block, 1, authority.as_bytes());
    match path {
        "/" => indexed(&mut block, 4),
        other => literal(&mut block, 4, other.as_bytes()),
    }
    for (name, value) in headers {
        match STATIC_NAMES.iter().find(|(n, _)| *n == name) {
            Some((_, index)) => literal(&mut block, *index, value),
            None => {
                block.push(0);
                string(&mut block, name.as_bytes());
                string(&mut block, value);
            }
        }
    }
    block
}

/// Whether decoding the header block `block` changes an HPACK decoder's dynamic table: it has
/// a literal with incremental indexing or a table size update (RFC 7541, 6.2.1 and 6.3); `true`
/// as well when it cannot be read. A block that does not, decoded right after it was decoded
/// (nothing else decoded between), decodes to the same fields.
pub(crate) fn changes_table(block: &[u8]) -> bool {
    let mut at = 0;
    while at < block.len() {
        let first = block[at];
        let next = if first & 0x80 != 0 {
            read_integer(block, at, 7).map(|(_, next)| next)
        } else if first & 0xc0 == 0x40 || first & 0xe0 == 0x20 {
            return true;
        } else {
            // A literal without indexing or never indexed: a name (by index or literal), a value.
            read_integer(block, at, 4).and_then(|(index, next)| {
                let next = if index == 0 {
                    skip_string(block, next)?
                } else {
                    next
                };
                skip_string(block, next)
            })
        };
        match next {
            Some(next) => at = next,
            None => return true,
        }
    }
    false
}

/// The integer with an N-bit prefix at `at` (RFC 7541, 5.1) and where it ends.
fn read_integer(block: &[u8], at: usize, prefix: u32) -> Option<(usize, usize)> {
    let max = (1usize << prefix) - 1;
    let mut value = usize::from(*block.get(at)?) & max;
    let mut at = at + 1;
    if value < max {
        return Some((value, at));
    }
    let mut shift = 0;
    loop {
        let byte = *block.get(at)?;
        at += 1;
        value = value.checked_add(usize::from(byte & 0x7f).checked_shl(shift)?)?;
        if byte & 0x80 == 0 {
            return Some((value, at));
        }
        shift += 7;
        if shift > 28 {
            return None;
        }
    }
}

/// Where the string literal at `at` (RFC 7541, 5.2) ends.
fn skip_string(block: &[u8], at: usize) -> Option<usize> {
    let (length, at) = read_integer(block, at, 7)?;
    let end = at.checked_add(length)?;
    (end <= block.len()).then_some(end)
}

/// Request header names of the static table (RFC 7541, appendix A), by index.
const STATIC_NAMES: [(&str, usize); 10] = [
    ("accept-encoding", 16),
    ("accept-language", 17),
    ("accept", 19),
    ("authorization", 23),
    ("cache-control", 24),
    ("content-encoding", 26),
    ("content-length", 28),
    ("content-type", 31),
    ("cookie", 32),
    ("user-agent", 58),
];

/// An indexed header field (RFC 7541, 6.1).
fn indexed(block: &mut Vec<u8>, index: usize) {
    integer(block, 7, 0x80, index);
}

/// A literal header field without indexing, its name from the static table (RFC 7541, 6.2.2).
fn literal(block: &mut Vec<u8>, name_index: usize, value: &[u8]) {
    integer(block, 4, 0x00, name_index);
    string(block, value);
}

/// A string literal, not Huffman-coded (RFC 7541, 5.2).
fn string(block: &mut Vec<u8>, bytes: &[u8]) {
    integer(block, 7, 0x00, bytes.len());
    block.extend_from_slice(bytes);
}

/// An integer with an N-bit prefix (RFC 7541, 5.1), the first byte's other bits `high`.
fn integer(block: &mut Vec<u8>, prefix: u32, high: u8, value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        block.push(high | value as u8);
        return;
    }
    block.push(high | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        block.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    block.push(rest as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(block: &[u8]) -> Vec<(String, String)> {
        let mut decoder = loona_hpack::Decoder::new();
        decoder
            .decode(block)
            .unwrap()
            .into_iter()
            .map(|(n, v)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap()))
            .collect()
    }

    #[test]
    fn a_request_block_decodes_to_the_request_the_same_every_time() {
        let long = "x".repeat(300);
        let headers = [
            ("user-agent", b"bh".as_slice()),
            ("x-long", long.as_bytes()),
        ];
        let block = request_block("GET", "http", "127.0.0.1:8080", "/hello?a=1", headers);
        let want = [
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", "127.0.0.1:8080"),
            (":path", "/hello?a=1"),
            ("user-agent", "bh"),
            ("x-long", long.as_str()),
        ]
        .map(|(n, v)| (n.to_string(), v.to_string()));
        assert_eq!(decoded(&block), want);
        // Nothing enters the decoder's table: a second decoding of the block by the same
        // decoder is the same.
        let mut decoder = loona_hpack::Decoder::new();
        let first = decoder.decode(&block).unwrap();
        assert_eq!(decoder.decode(&block).unwrap(), first);
        let put = request_block("PUT", "https", "h", "/", []);
        let want = [
            (":method", "PUT"),
            (":scheme", "https"),
            (":authority", "h"),
        ]
        .map(|(n, v)| (n.to_string(), v.to_string()));
        assert_eq!(decoded(&put)[..3], want);
        assert_eq!(decoded(&put)[3], (":path".to_string(), "/".to_string()));
    }

    #[test]
    fn blocks_that_change_the_table_are_told_from_those_that_do_not() {
        let block = request_block("GET", "http", "h:1", "/x", [("x-a", b"1".as_slice())]);
        assert!(!changes_table(&block));
        assert!(!changes_table(&[0x88, 0xbe]));
        // A literal with incremental indexing, a table size update.
        assert!(changes_table(&[0x88, 0x40, 1, b'a', 1, b'b']));
        assert!(changes_table(&[0x3f, 0xe1, 0x1f, 0x88]));
        // Cut short: it cannot be told, so it may.
        assert!(changes_table(&block[..block.len() - 1]));
        assert!(changes_table(&[0xff]));
        // A long integer: index 127 + 200.
        assert!(!changes_table(&[0xff, 0xc8, 0x01]));
    }

    #[test]
    fn frames_are_written_as_rfc_9113_lays_them_out() {
        let mut out = Vec::new();
        window_update(&mut out, 3, 0x1234);
        assert_eq!(out, [0, 0, 4, 8, 0, 0, 0, 0, 3, 0, 0, 0x12, 0x34]);
        let head = Head::parse(&out).unwrap();
        assert_eq!(
            head,
            Head {
                length: 4,
                kind: kind::WINDOW_UPDATE,
                flags: 0,
                stream: 3
            }
        );
        assert_eq!(Head::parse(&out[..8]), None);
        // A header block larger than a frame goes on in CONTINUATION frames.
        let mut out = Vec::new();
        headers(&mut out, 1, &[7; 10], true, 4);
        let heads: Vec<Head> = [0, 13, 26]
            .iter()
            .map(|&at| Head::parse(&out[at..]).unwrap())
            .collect();
        assert_eq!(heads[0].kind, kind::HEADERS);
        assert_eq!(heads[0].flags, flag::END_STREAM);
        assert_eq!(heads[1].kind, kind::CONTINUATION);
        assert_eq!((heads[2].length, heads[2].flags), (2, flag::END_HEADERS));
        assert_eq!(out.len(), 3 * HEAD_LEN + 10);
    }

    #[test]
    fn padding_and_priority_are_stripped_and_too_much_padding_is_refused() {
        let padded = Head {
            length: 0,
            kind: kind::HEADERS,
            flags: flag::PADDED | flag::PRIORITY,
            stream: 1,
        };
        let payload = [2, 0, 0, 0, 0, 9, b'h', b'i', 0, 0];
        assert_eq!(unpad(&padded, &payload), Some(&b"hi"[..]));
        assert_eq!(unpad(&padded, &[9, 0, 0, 0, 0, 9, b'h']), None);
        assert_eq!(unpad(&padded, &[]), None);
        let data = Head {
            kind: kind::DATA,
            flags: 0,
            ..padded
        };
        assert_eq!(unpad(&data, b"body"), Some(&b"body"[..]));
    }
}
