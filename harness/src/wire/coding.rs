//! Content codings (RFC 9110 section 8.4): a request body encoded as a fixture's
//! `content_encoding` asks, and a reply body decoded as its `Content-Encoding` says, on every
//! path (`run`, `bench`, snapshots).
//!
//! Decoding is bounded: each coding is undone through a streaming decoder whose output is read
//! up to a cap, so a small body that inflates past it (a compression bomb) stops with
//! [`DecodeError::TooLarge`] once the cap is passed, never after inflating everything. Memory
//! stays bounded too: Brotli windows are at most 16 MiB (RFC 7932), Zstandard windows at most
//! [`ZSTD_WINDOW_LOG_MAX`].

use std::io::{Read, Write};

pub use harness_fixture::model::Coding;

use crate::results::transcript::ReplyEncoding;

/// The largest Zstandard window accepted (2^23 = 8 MiB), the limit RFC 9659 sets for the `zstd`
/// content coding: a frame asking for more is refused rather than allocated.
pub const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// A body that could not be encoded (the encoders write to memory: only the Zstandard library
/// can fail, when it cannot allocate).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode the body as {coding}: {source}")]
pub struct EncodeError {
    /// The coding.
    pub coding: &'static str,
    /// Why.
    pub source: std::io::Error,
}

/// Encodes `body` in `coding` (gzip without a file name and with MTIME 0, so the bytes are the
/// same on every run; deflate in the zlib format, as HTTP means it).
pub fn encode(coding: Coding, body: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let error = |source| EncodeError {
        coding: coding.token(),
        source,
    };
    match coding {
        Coding::Gzip => {
            let mut encoder = flate2::GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), flate2::Compression::default());
            encoder.write_all(body).map_err(error)?;
            encoder.finish().map_err(error)
        }
        Coding::Deflate => {
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(body).map_err(error)?;
            encoder.finish().map_err(error)
        }
        Coding::Br => {
            let mut out = Vec::new();
            {
                // Quality 5 and a 4 MiB window: what servers commonly send on the fly.
                let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                encoder.write_all(body).map_err(error)?;
                encoder.flush().map_err(error)?;
            }
            Ok(out)
        }
        Coding::Zstd => zstd::stream::encode_all(body, 3).map_err(error),
    }
}

/// Why a body does not decode.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// A coding the harness does not know (nor, probably, the server's peers).
    #[error("unknown content coding {coding:?}")]
    Unknown {
        /// The coding, as sent.
        coding: String,
    },
    /// The bytes are not in the coding, or are cut short.
    #[error("{coding}: {source}")]
    Corrupt {
        /// The coding being undone.
        coding: &'static str,
        /// What the decoder said.
        source: std::io::Error,
    },
    /// Undoing `coding` gives more than `cap` bytes.
    #[error("undoing {coding} gives more than {cap} bytes, the reply body cap")]
    TooLarge {
        /// The coding being undone.
        coding: &'static str,
        /// The cap.
        cap: usize,
    },
}

/// The codings a reply's `Content-Encoding` lines name, in the order the server applied them
/// (lines joined, comma-separated tokens trimmed and lower-cased, `identity` and empty items
/// left out).
pub fn codings<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    lines
        .into_iter()
        .flat_map(|line| line.split(','))
        .map(|token| token.trim().to_ascii_lowercase())
        .filter(|token| !token.is_empty() && token != "identity")
        .collect()
}

/// Undoes `codings` (as [`codings`] lists them: the last applied is undone first) on `body`,
/// each step's output read through the decoder up to `cap` bytes. `x-gzip` is gzip; `deflate`
/// is the zlib format, or raw deflate when that is what the bytes are (some servers send it).
/// An empty body is left as it is (a `HEAD` reply or a 204 carries the header without a body).
pub fn decode(codings: &[String], body: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    if body.is_empty() || codings.is_empty() {
        return Ok(body.to_vec());
    }
    let mut bytes = std::borrow::Cow::Borrowed(body);
    for coding in codings.iter().rev() {
        bytes = std::borrow::Cow::Owned(undo(coding, &bytes, cap)?);
    }
    Ok(bytes.into_owned())
}

/// A reply body decoded as its `Content-Encoding` lines say, and what the encoding was
/// (`None` when the lines name no coding but `identity`). A body that does not decode is
/// returned as it came, with the reason in the encoding; one that decodes past `cap` is the
/// error.
pub fn decode_reply(
    lines: &[&str],
    bytes: Vec<u8>,
    cap: usize,
) -> Result<(Vec<u8>, Option<ReplyEncoding>), DecodeError> {
    let codings = codings(lines.iter().copied());
    if codings.is_empty() {
        return Ok((bytes, None));
    }
    let mut encoding = ReplyEncoding {
        content_encoding: lines.join(", "),
        encoded_length: bytes.len() as u64,
        undecodable: None,
    };
    match decode(&codings, &bytes, cap) {
        Ok(decoded) => Ok((decoded, Some(encoding))),
        Err(error @ DecodeError::TooLarge { .. }) => Err(error),
        Err(other) => {
            encoding.undecodable = Some(other.to_string());
            Ok((bytes, Some(encoding)))
        }
    }
}

/// Undoes one coding.
fn undo(coding: &str, body: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    match coding {
        "gzip" | "x-gzip" => read_capped("gzip", flate2::read::MultiGzDecoder::new(body), cap),
        "deflate" => match read_capped("deflate", flate2::read::ZlibDecoder::new(body), cap) {
            Err(DecodeError::Corrupt { .. }) if !looks_like_zlib(body) => {
                read_capped("deflate", flate2::read::DeflateDecoder::new(body), cap)
            }
            other => other,
        },
        "br" => read_capped("br", brotli::Decompressor::new(body, 4096), cap),
        "zstd" => {
            let corrupt = |source| DecodeError::Corrupt {
                coding: "zstd",
                source,
            };
            let mut decoder = zstd::stream::read::Decoder::new(body).map_err(corrupt)?;
            decoder
                .window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(corrupt)?;
            read_capped("zstd", decoder, cap)
        }
        other => Err(DecodeError::Unknown {
            coding: other.to_string(),
        }),
    }
}

/// Whether `body` starts with a zlib header (RFC 1950: method 8, a check sum of the two bytes
/// divisible by 31): a zlib stream that fails is corrupt, not raw deflate.
fn looks_like_zlib(body: &[u8]) -> bool {
    match body {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

/// Reads `decoder` to its end, refusing more than `cap` bytes: reading stops at `cap + 1`.
fn read_capped(
    coding: &'static str,
    decoder: impl Read,
    cap: usize,
) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    decoder
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|source| DecodeError::Corrupt { coding, source })?;
    if out.len() > cap {
        return Err(DecodeError::TooLarge { coding, cap });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: usize = crate::wire::request::MAX_BODY;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_coding_round_trips() {
        let body = br#"{"items":[1,2,3],"text":"hello hello hello hello"}"#;
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Br, Coding::Zstd] {
            let encoded = encode(coding, body).unwrap();
            assert_ne!(encoded, body.to_vec(), "{coding:?}");
            let decoded = decode(&names(&[coding.token()]), &encoded, CAP).unwrap();
            assert_eq!(decoded, body.to_vec(), "{coding:?}");
        }
        // The same body gives the same bytes on every run (gzip's MTIME is 0).
        assert_eq!(
            encode(Coding::Gzip, body).unwrap(),
            encode(Coding::Gzip, body).unwrap()
        );
    }

    #[test]
    fn codings_are_undone_in_reverse_order() {
        let body = b"layered";
        let gzipped = encode(Coding::Gzip, body).unwrap();
        let both = encode(Coding::Br, &gzipped).unwrap();
        let list = codings(["gzip, BR"]);
        assert_eq!(list, names(&["gzip", "br"]));
        assert_eq!(decode(&list, &both, CAP).unwrap(), body.to_vec());
        // The other order does not decode.
        assert!(decode(&names(&["br", "gzip"]), &both, CAP).is_err());
        // Lines are joined; identity and empty items are nothing to undo.
        assert_eq!(
            codings(["identity", " gzip ,", "x-gzip"]),
            names(&["gzip", "x-gzip"])
        );
        assert_eq!(decode(&names(&["x-gzip"]), &gzipped, CAP).unwrap(), body);
    }

    #[test]
    fn deflate_is_zlib_or_raw_deflate() {
        let body = b"deflated either way";
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(body).unwrap();
        let raw = raw.finish().unwrap();
        assert_eq!(decode(&names(&["deflate"]), &raw, CAP).unwrap(), body);
        let zlib = encode(Coding::Deflate, body).unwrap();
        assert_eq!(decode(&names(&["deflate"]), &zlib, CAP).unwrap(), body);
        // A zlib stream cut short is corrupt, not retried as raw deflate.
        let cut = &zlib[..zlib.len() - 3];
        let error = decode(&names(&["deflate"]), cut, CAP).unwrap_err();
        assert!(
            matches!(
                error,
                DecodeError::Corrupt {
                    coding: "deflate",
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn a_body_claiming_gzip_that_is_plain_json_does_not_decode() {
        let error = decode(&names(&["gzip"]), br#"{"a":1}"#, CAP).unwrap_err();
        assert!(matches!(error, DecodeError::Corrupt { coding: "gzip", .. }));
        assert!(error.to_string().starts_with("gzip: "), "{error}");
        for coding in ["deflate", "br", "zstd"] {
            let error = decode(&names(&[coding]), br#"{"a":1}"#, CAP).unwrap_err();
            assert!(
                matches!(error, DecodeError::Corrupt { .. }),
                "{coding}: {error}"
            );
        }
    }

    #[test]
    fn truncated_streams_do_not_decode() {
        let body = vec![b'x'; 10_000];
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Br, Coding::Zstd] {
            let encoded = encode(coding, &body).unwrap();
            let cut = &encoded[..encoded.len() / 2];
            let error = decode(&names(&[coding.token()]), cut, CAP).unwrap_err();
            assert!(
                matches!(error, DecodeError::Corrupt { .. }),
                "{coding:?}: {error}"
            );
        }
    }

    #[test]
    fn replies_keep_what_does_not_decode_beside_the_reason() {
        let gzipped = encode(Coding::Gzip, b"{}").unwrap();
        let (body, encoding) = decode_reply(&["gzip"], gzipped.clone(), CAP).unwrap();
        assert_eq!(body, b"{}");
        let encoding = encoding.unwrap();
        assert_eq!(encoding.content_encoding, "gzip");
        assert_eq!(encoding.encoded_length, gzipped.len() as u64);
        assert_eq!(encoding.undecodable, None);
        let (body, encoding) = decode_reply(&["gzip"], b"{}".to_vec(), CAP).unwrap();
        assert_eq!(body, b"{}");
        let reason = encoding.unwrap().undecodable.unwrap();
        assert!(reason.starts_with("gzip: "), "{reason}");
        let (body, encoding) = decode_reply(&["identity"], b"x".to_vec(), CAP).unwrap();
        assert_eq!((body.as_slice(), encoding), (&b"x"[..], None));
        let (_, encoding) = decode_reply(&["gzip", "br"], b"x".to_vec(), CAP).unwrap();
        assert_eq!(encoding.unwrap().content_encoding, "gzip, br");
        assert!(decode_reply(&["gzip"], encode(Coding::Gzip, &[0; 100]).unwrap(), 99).is_err());
    }

    #[test]
    fn unknown_codings_are_errors_and_empty_bodies_are_left_alone() {
        let error = decode(&names(&["compress"]), b"abc", CAP).unwrap_err();
        assert_eq!(error.to_string(), "unknown content coding \"compress\"");
        assert_eq!(decode(&names(&["gzip"]), b"", CAP).unwrap(), b"");
        assert_eq!(decode(&[], b"as is", CAP).unwrap(), b"as is");
    }

    #[test]
    fn a_compression_bomb_stops_at_the_cap() {
        // 100 MiB of zeros, gzipped to about 100 KiB.
        let mut encoder = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..100 {
            encoder.write_all(&zeros).unwrap();
        }
        let bomb = encoder.finish().unwrap();
        assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
        let error = decode(&names(&["gzip"]), &bomb, CAP).unwrap_err();
        assert!(matches!(
            error,
            DecodeError::TooLarge {
                coding: "gzip",
                cap: CAP
            }
        ));
        assert_eq!(
            error.to_string(),
            format!("undoing gzip gives more than {CAP} bytes, the reply body cap")
        );
        // Every coding is capped the same way.
        let big = vec![0u8; 4096];
        for coding in [Coding::Deflate, Coding::Br, Coding::Zstd] {
            let encoded = encode(coding, &big).unwrap();
            let error = decode(&names(&[coding.token()]), &encoded, 4095).unwrap_err();
            assert!(
                matches!(error, DecodeError::TooLarge { cap: 4095, .. }),
                "{coding:?}"
            );
            assert_eq!(
                decode(&names(&[coding.token()]), &encoded, 4096).unwrap(),
                big
            );
        }
    }
}
