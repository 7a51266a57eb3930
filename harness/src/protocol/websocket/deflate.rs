//! The permessage-deflate extension (RFC 7692) on the client side: the offers a case makes, the
//! server's reply checked against them (section 7.1), and the codec: messages compressed with
//! raw DEFLATE and their `00 00 ff ff` tail removed (7.2.1), the server's messages inflated
//! (7.2.2) with context kept or reset as agreed, and bounded by a size cap.
//!
//! The codec is flate2 on its default backend (miniz_oxide), whose window is always 2^15. That
//! is enough to inflate any server's messages (a window at least the sender's). For sending, a
//! reply that sets `client_max_window_bits` under 15 gets stored (uncompressed) DEFLATE blocks,
//! which refer to no earlier byte and so keep any window. (flate2's zlib-rs backend has window
//! bits, but enabling it changes the DEFLATE bytes of every flate2 user in the workspace, the
//! reference server's compressed replies and their snapshots included.) That the server keeps
//! within the `server_max_window_bits` it agreed is not checked.

use std::fmt;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The extension's name in `Sec-WebSocket-Extensions`.
pub const EXTENSION: &str = "permessage-deflate";

/// The tail a sync flush ends with, removed before sending and put back before inflating.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The window sizes RFC 7692 allows (as powers of two).
const WINDOW_BITS: std::ops::RangeInclusive<u8> = 8..=15;

/// One permessage-deflate offer of the client (RFC 7692 section 7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offer {
    /// `client_no_context_takeover`: the client tells it can reset its context per message.
    pub client_no_context_takeover: bool,
    /// `client_max_window_bits`: offered at all, and with which value (`None`: no value).
    pub client_max_window_bits: Option<Option<u8>>,
    /// `server_no_context_takeover`: the server must reset its context per message.
    pub server_no_context_takeover: bool,
    /// `server_max_window_bits=N`: the server must keep within a window of 2^N.
    pub server_max_window_bits: Option<u8>,
}

impl Offer {
    /// Autobahn's default offer: the client accepts both of the server's client parameters.
    pub fn autobahn(server_no_context_takeover: bool, server_max_window_bits: Option<u8>) -> Offer {
        Offer {
            client_no_context_takeover: true,
            client_max_window_bits: Some(None),
            server_no_context_takeover,
            server_max_window_bits,
        }
    }
}

impl fmt::Display for Offer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXTENSION)?;
        if self.client_no_context_takeover {
            f.write_str("; client_no_context_takeover")?;
        }
        match self.client_max_window_bits {
            Some(Some(bits)) => write!(f, "; client_max_window_bits={bits}")?,
            Some(None) => f.write_str("; client_max_window_bits")?,
            None => {}
        }
        if self.server_no_context_takeover {
            f.write_str("; server_no_context_takeover")?;
        }
        if let Some(bits) = self.server_max_window_bits {
            write!(f, "; server_max_window_bits={bits}")?;
        }
        Ok(())
    }
}

/// The `Sec-WebSocket-Extensions` value of `offers`, in order of preference.
pub fn offer_header(offers: &[Offer]) -> String {
    offers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the server's reply agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    /// The client resets its compression context per message.
    pub client_no_context_takeover: bool,
    /// The client's window (15 unless the reply says).
    pub client_max_window_bits: u8,
    /// The server resets its compression context per message.
    pub server_no_context_takeover: bool,
    /// The server's window (15 unless the reply says).
    pub server_max_window_bits: u8,
}

/// The parameters of a reply, each at most once.
#[derive(Debug, Default)]
struct Reply {
    client_no_context_takeover: bool,
    client_max_window_bits: Option<u8>,
    server_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
}

/// Checks the server's `Sec-WebSocket-Extensions` reply against `offers`: `Ok(None)` when it
/// accepted no extension (the case is `unimplemented`), the agreement when it accepted one of
/// the offers, else why the reply breaks RFC 7692 (the client must fail the connection).
pub fn negotiate(offers: &[Offer], reply: Option<&str>) -> Result<Option<Agreed>, String> {
    let Some(reply) = reply.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if offers.is_empty() {
        return Err(format!(
            "the reply accepts extensions ({reply}) though none was offered"
        ));
    }
    let extensions = split_outside_quotes(reply, ',');
    if extensions.len() != 1 {
        return Err(format!(
            "the reply accepts {} extensions ({reply}); one {EXTENSION} was offered",
            extensions.len()
        ));
    }
    let mut parts = split_outside_quotes(extensions[0], ';').into_iter();
    let name = parts.next().unwrap_or_default().trim();
    if !name.eq_ignore_ascii_case(EXTENSION) {
        return Err(format!(
            "the reply accepts the extension \"{name}\", which was not offered"
        ));
    }
    let parsed = parse_parameters(parts)?;
    let mut reasons = Vec::new();
    for (i, offer) in offers.iter().enumerate() {
        match fits(&parsed, offer) {
            Ok(()) => {
                return Ok(Some(Agreed {
                    client_no_context_takeover: parsed.client_no_context_takeover,
                    client_max_window_bits: parsed.client_max_window_bits.unwrap_or(15),
                    server_no_context_takeover: parsed.server_no_context_takeover,
                    server_max_window_bits: parsed.server_max_window_bits.unwrap_or(15),
                }));
            }
            Err(reason) if offers.len() == 1 => return Err(reason),
            Err(reason) => reasons.push(format!("offer {}: {reason}", i + 1)),
        }
    }
    Err(format!(
        "the reply fits none of the offers ({})",
        reasons.join("; ")
    ))
}

/// Splits `text` on `separator` where it is not inside a quoted string.
fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in text.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The reply's parameters: each known, once, with a valid value.
fn parse_parameters<'a>(parts: impl Iterator<Item = &'a str>) -> Result<Reply, String> {
    let mut reply = Reply::default();
    let mut seen: Vec<String> = Vec::new();
    for part in parts {
        let (name, value) = match part.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (part.trim(), None),
        };
        let key = name.to_ascii_lowercase();
        if seen.contains(&key) {
            return Err(format!("the reply repeats the parameter {name}"));
        }
        seen.push(key.clone());
        let flag = |set: &mut bool| match value {
            None => {
                *set = true;
                Ok(())
            }
            Some(v) => Err(format!("{name}={v}: the parameter takes no value")),
        };
        match key.as_str() {
            "client_no_context_takeover" => flag(&mut reply.client_no_context_takeover)?,
            "server_no_context_takeover" => flag(&mut reply.server_no_context_takeover)?,
            "client_max_window_bits" => {
                reply.client_max_window_bits = Some(window(name, value, true)?);
            }
            "server_max_window_bits" => {
                reply.server_max_window_bits = Some(window(name, value, false)?);
            }
            "" => return Err("the reply has an empty parameter".into()),
            _ => return Err(format!("the reply has the unknown parameter {name}")),
        }
    }
    Ok(reply)
}

/// A window size value: a decimal 8 to 15 without leading zeros.
fn window(name: &str, value: Option<&str>, client: bool) -> Result<u8, String> {
    let Some(value) = value else {
        return Err(if client {
            format!("{name} without a value (a reply must give the size)")
        } else {
            format!("{name} without a value")
        });
    };
    value
        .parse::<u8>()
        .ok()
        .filter(|bits| WINDOW_BITS.contains(bits) && !value.starts_with('0'))
        .ok_or_else(|| format!("{name}={value}: not a window size of 8 to 15"))
}

/// Whether the reply accepts `offer` (RFC 7692 7.1.1 and 7.1.2).
fn fits(reply: &Reply, offer: &Offer) -> Result<(), String> {
    // 7.1.1.1: a server accepts server_no_context_takeover by answering it; it may answer it
    // unasked. 7.1.1.2: client_no_context_takeover may be answered, asked or not.
    if offer.server_no_context_takeover && !reply.server_no_context_takeover {
        return Err("server_no_context_takeover was offered and the reply does not have it".into());
    }
    // 7.1.2.1: accepted with the same or a smaller value; may be answered unasked.
    match (offer.server_max_window_bits, reply.server_max_window_bits) {
        (Some(offered), None) => {
            return Err(format!(
                "server_max_window_bits={offered} was offered and the reply does not have it"
            ));
        }
        (Some(offered), Some(replied)) if replied > offered => {
            return Err(format!(
                "server_max_window_bits={replied} is over the {offered} offered"
            ));
        }
        _ => {}
    }
    // 7.1.2.2: only when offered, and not over the offered value.
    match (offer.client_max_window_bits, reply.client_max_window_bits) {
        (None, Some(replied)) => Err(format!(
            "client_max_window_bits={replied} in the reply, which the offer did not have"
        )),
        (Some(Some(offered)), Some(replied)) if replied > offered => Err(format!(
            "client_max_window_bits={replied} is over the {offered} offered"
        )),
        _ => Ok(()),
    }
}

/// Why a server's message did not inflate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// Not DEFLATE data (or a reference past the window, or into a context that was reset).
    #[error("not valid DEFLATE data: {0}")]
    Invalid(String),
    /// It inflates past the cap.
    #[error("it inflates to more than {0} bytes (stopped there)")]
    TooLarge(usize),
    /// Bytes after a final DEFLATE block.
    #[error("{0} bytes after the final DEFLATE block")]
    Trailing(usize),
}

/// The codec of one connection, as agreed.
pub struct Codec {
    agreed: Agreed,
    deflate: Compress,
    inflate: Decompress,
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Codec")
            .field("agreed", &self.agreed)
            .finish_non_exhaustive()
    }
}

impl Codec {
    /// What was agreed.
    pub fn agreed(&self) -> Agreed {
        self.agreed
    }

    /// A codec for `agreed`.
    pub fn new(agreed: Agreed) -> Codec {
        let level = if agreed.client_max_window_bits < 15 {
            Compression::none()
        } else {
            Compression::default()
        };
        let deflate = Compress::new(level, false);
        let inflate = Decompress::new(false);
        Codec {
            agreed,
            deflate,
            inflate,
        }
    }

    /// One message's payload compressed (RFC 7692 7.2.1): raw DEFLATE, a sync flush, its
    /// `00 00 ff ff` tail removed; the context kept for the next message unless
    /// `client_no_context_takeover` was agreed.
    pub fn compress(&mut self, payload: &[u8]) -> Vec<u8> {
        if self.agreed.client_no_context_takeover {
            self.deflate.reset();
        }
        let mut out = Vec::with_capacity(payload.len() / 2 + 64);
        let mut consumed = 0;
        loop {
            let before = self.deflate.total_in();
            out.reserve(payload.len() / 4 + 64);
            // Writing to memory with room to spare: the backend reports no error but a misuse.
            let _ = self
                .deflate
                .compress_vec(&payload[consumed..], &mut out, FlushCompress::Sync);
            consumed += usize::try_from(self.deflate.total_in() - before).unwrap_or(0);
            // Done when all input is in and the flush did not fill the room it had.
            if consumed == payload.len() && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        out
    }

    /// One message of the server inflated (RFC 7692 7.2.2), at most `cap` bytes; the context
    /// starts afresh when `server_no_context_takeover` was agreed, so that a server that keeps
    /// it anyway is caught by references to bytes the harness does not have (an error, or
    /// zeros where they point: the echo differs from what was sent).
    pub fn inflate(&mut self, payload: &[u8], cap: usize) -> Result<Vec<u8>, InflateError> {
        if self.agreed.server_no_context_takeover {
            self.inflate.reset(false);
        }
        let mut input = Vec::with_capacity(payload.len() + TAIL.len());
        input.extend_from_slice(payload);
        input.extend_from_slice(&TAIL);
        let mut out: Vec<u8> = Vec::new();
        let mut consumed = 0;
        loop {
            if out.len() > cap {
                return Err(InflateError::TooLarge(cap));
            }
            let room = (cap + 1 - out.len()).min(256 * 1024);
            out.reserve_exact(room);
            let (before_in, before_out) = (self.inflate.total_in(), out.len());
            let status = self
                .inflate
                .decompress_vec(&input[consumed..], &mut out, FlushDecompress::Sync)
                .map_err(|e| {
                    InflateError::Invalid(e.message().map_or_else(|| e.to_string(), str::to_string))
                })?;
            consumed += usize::try_from(self.inflate.total_in() - before_in).unwrap_or(0);
            if status == Status::StreamEnd {
                // A final block: what follows may only be the tail put back; the next message
                // starts a new stream.
                self.inflate.reset(false);
                let left = input.len() - consumed;
                if left > TAIL.len() || input[consumed..] != TAIL[..left] {
                    return Err(InflateError::Trailing(left));
                }
                break;
            }
            let progress = self.inflate.total_in() != before_in || out.len() != before_out;
            if consumed == input.len() && (out.len() < out.capacity() || !progress) {
                break;
            }
            if !progress {
                return Err(InflateError::Invalid("no progress".into()));
            }
        }
        if out.len() > cap {
            return Err(InflateError::TooLarge(cap));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreed(client_reset: bool, server_reset: bool) -> Agreed {
        Agreed {
            client_no_context_takeover: client_reset,
            client_max_window_bits: 15,
            server_no_context_takeover: server_reset,
            server_max_window_bits: 15,
        }
    }

    #[test]
    fn offers_read_as_autobahn_writes_them() {
        assert_eq!(
            Offer::autobahn(false, None).to_string(),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits"
        );
        let offers = [Offer::autobahn(true, Some(8)), Offer::default()];
        assert_eq!(
            offer_header(&offers),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
             server_no_context_takeover; server_max_window_bits=8, permessage-deflate"
        );
    }

    #[test]
    fn replies_that_fit_the_offer_agree() {
        let offer = [Offer::autobahn(false, None)];
        assert_eq!(negotiate(&offer, None), Ok(None));
        assert_eq!(negotiate(&offer, Some(" ")), Ok(None));
        assert_eq!(
            negotiate(&offer, Some("permessage-deflate")),
            Ok(Some(agreed(false, false)))
        );
        // Unasked server_no_context_takeover and server_max_window_bits are allowed (7.1.1.1,
        // 7.1.2.1); client_max_window_bits was offered without a value, so any value.
        let got = negotiate(
            &offer,
            Some(
                "Permessage-Deflate; server_no_context_takeover; server_max_window_bits=10; \
                 client_max_window_bits=\"9\"; client_no_context_takeover",
            ),
        );
        let want = Agreed {
            client_no_context_takeover: true,
            client_max_window_bits: 9,
            server_no_context_takeover: true,
            server_max_window_bits: 10,
        };
        assert_eq!(got, Ok(Some(want)));
        let asked = [Offer::autobahn(true, Some(12))];
        let fine = "permessage-deflate; server_no_context_takeover; server_max_window_bits=9";
        assert!(matches!(negotiate(&asked, Some(fine)), Ok(Some(_))));
    }

    #[test]
    fn each_fault_of_a_reply_is_named() {
        let offer = [Offer::autobahn(true, Some(10))];
        let full = "permessage-deflate; server_no_context_takeover; server_max_window_bits=10";
        let cases = [
            (
                "x-webkit-deflate-frame",
                "\"x-webkit-deflate-frame\", which was not offered",
            ),
            (
                "permessage-deflate, permessage-deflate",
                "the reply accepts 2 extensions",
            ),
            (
                "permessage-deflate; server_max_window_bits=10",
                "server_no_context_takeover was offered and the reply does not have it",
            ),
            (
                "permessage-deflate; server_no_context_takeover",
                "server_max_window_bits=10 was offered and the reply does not have it",
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
                "server_max_window_bits=11 is over the 10 offered",
            ),
            (
                &format!("{full}; server_no_context_takeover"),
                "repeats the parameter server_no_context_takeover",
            ),
            (
                &format!("{full}; mystery=1"),
                "the unknown parameter mystery",
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=16",
                "server_max_window_bits=16: not a window size of 8 to 15",
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=09",
                "not a window size",
            ),
            (
                &format!("{full}; client_max_window_bits"),
                "client_max_window_bits without a value",
            ),
            (
                &format!("{full}=1"),
                "server_max_window_bits=10=1: not a window size",
            ),
            (
                &format!("{full}; client_no_context_takeover=yes"),
                "takes no value",
            ),
        ];
        for (reply, reason) in cases {
            let err = negotiate(&offer, Some(reply)).unwrap_err();
            assert!(err.contains(reason), "{reply}: {err}");
        }
        // client_max_window_bits only when offered, and not over the offered value.
        let err = negotiate(&[], Some("permessage-deflate")).unwrap_err();
        assert!(err.contains("though none was offered"), "{err}");
        assert_eq!(negotiate(&[], None), Ok(None));
        let bare = [Offer::default()];
        let err = negotiate(&bare, Some("permessage-deflate; client_max_window_bits=15"));
        assert!(err.unwrap_err().contains("the offer did not have"));
        let capped = [Offer {
            client_max_window_bits: Some(Some(10)),
            ..Offer::default()
        }];
        let err = negotiate(
            &capped,
            Some("permessage-deflate; client_max_window_bits=12"),
        );
        assert!(err.unwrap_err().contains("over the 10 offered"));
    }

    #[test]
    fn a_reply_may_fit_any_of_several_offers() {
        let offers = [
            Offer::autobahn(true, Some(8)),
            Offer::autobahn(true, None),
            Offer::autobahn(false, None),
        ];
        let third = negotiate(&offers, Some("permessage-deflate")).unwrap();
        assert_eq!(third, Some(agreed(false, false)));
        let second = negotiate(
            &offers,
            Some("permessage-deflate; server_no_context_takeover"),
        );
        assert_eq!(second.unwrap().map(|a| a.server_max_window_bits), Some(15));
        let none = [Offer::autobahn(true, Some(8)), Offer::autobahn(true, None)];
        let err = negotiate(&none, Some("permessage-deflate")).unwrap_err();
        assert!(
            err.starts_with("the reply fits none of the offers (offer 1: "),
            "{err}"
        );
        assert!(
            err.contains("; offer 2: server_no_context_takeover"),
            "{err}"
        );
    }

    /// A peer's side: compresses like a server would, with or without context.
    fn server_deflater() -> Compress {
        Compress::new(Compression::default(), false)
    }

    fn peer_compress(deflater: &mut Compress, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() + 64);
        deflater
            .compress_vec(payload, &mut out, FlushCompress::Sync)
            .unwrap();
        assert!(out.ends_with(&TAIL));
        out.truncate(out.len() - 4);
        out
    }

    #[test]
    fn messages_round_trip_with_and_without_context() {
        for reset in [false, true] {
            let mut client = Codec::new(agreed(reset, reset));
            // The harness's inflater reads what its own deflater wrote (same rules both ways).
            let mut peer = Codec::new(agreed(reset, reset));
            let message = b"the same words again and again, the same words again".repeat(50);
            let first = client.compress(&message);
            let second = client.compress(&message);
            assert!(!first.ends_with(&TAIL) && first.len() < message.len());
            if reset {
                assert_eq!(first, second, "no context: each message alike");
            } else {
                assert!(second.len() < first.len(), "context: the second is shorter");
            }
            assert_eq!(peer.inflate(&first, 1 << 20).unwrap(), message);
            assert_eq!(peer.inflate(&second, 1 << 20).unwrap(), message);
            assert_eq!(peer.inflate(&client.compress(b""), 10).unwrap(), b"");
        }
    }

    #[test]
    fn a_server_that_keeps_context_after_agreeing_not_to_is_caught() {
        let message = b"a message that refers back to the one before it".repeat(4);
        let mut keeps = server_deflater();
        let first = peer_compress(&mut keeps, &message);
        let second = peer_compress(&mut keeps, &message);
        let mut kept = Codec::new(agreed(false, false));
        assert_eq!(kept.inflate(&first, 4096).unwrap(), message);
        assert_eq!(kept.inflate(&second, 4096).unwrap(), message);
        let mut reset = Codec::new(agreed(false, true));
        assert_eq!(reset.inflate(&first, 4096).unwrap(), message);
        // Its references point before the start: an error, or (miniz_oxide fills a fresh
        // window with zeros) other bytes than were sent; either way not the message.
        assert_ne!(reset.inflate(&second, 4096), Ok(message));
    }

    #[test]
    fn bad_data_bombs_and_final_blocks() {
        let mut codec = Codec::new(agreed(false, false));
        let err = codec
            .inflate(b"\xff\xff\xff\xff not deflate", 1024)
            .unwrap_err();
        assert!(
            err.to_string().starts_with("not valid DEFLATE data"),
            "{err}"
        );
        let mut bomb = server_deflater();
        let zeros = peer_compress(&mut bomb, &vec![0u8; 1 << 20]);
        assert!(zeros.len() < 5000);
        let mut codec = Codec::new(agreed(false, false));
        let err = codec.inflate(&zeros, 1000).unwrap_err();
        assert_eq!(err, InflateError::TooLarge(1000));
        // A message ending in a final block inflates; bytes after it do not.
        let mut finished = Compress::new(Compression::default(), false);
        let mut whole = Vec::with_capacity(256);
        finished
            .compress_vec(b"final", &mut whole, FlushCompress::Finish)
            .unwrap();
        let mut codec = Codec::new(agreed(false, false));
        assert_eq!(codec.inflate(&whole, 100).unwrap(), b"final");
        whole.extend_from_slice(b"junk!");
        let err = Codec::new(agreed(false, false)).inflate(&whole, 100);
        assert_eq!(err, Err(InflateError::Trailing(9)));
    }

    #[test]
    fn a_client_window_under_15_gets_stored_blocks() {
        let narrow = Agreed {
            client_max_window_bits: 12,
            server_max_window_bits: 8,
            ..agreed(false, false)
        };
        let mut codec = Codec::new(narrow);
        let message = b"0123456789abcdef".repeat(100);
        let stored = codec.compress(&message);
        assert!(
            stored.len() >= message.len(),
            "stored blocks: no references"
        );
        let mut wide = Codec::new(agreed(false, false));
        assert_eq!(wide.inflate(&stored, 4096).unwrap(), message);
    }
}
