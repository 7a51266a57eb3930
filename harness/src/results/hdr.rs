//! The `histogram` fields of result documents: [`encode`] writes HdrHistogram V2 compressed,
//! base64; [`decode`] reads one (compressed or not) from bytes nobody vouches for (documents
//! given to `report` and `compare`, `.hlog` files). Memory and time are
//! bounded by the histogram's own parameters, never by a length it claims.
//!
//! The V2 format: a 40-byte header (cookie, counts payload length, normalizing offset,
//! significant digits, lowest and highest trackable values, integer-to-double ratio), then the
//! counts as zig-zag LEB128 varints (a negative number is a run of zero counters). The compressed
//! form wraps that in a cookie, a length and a zlib stream. The header's parameters fix how many
//! counters the histogram has ([`counts_len`]); at most [`MAX_COUNTS`] are accepted, and the
//! counts payload may be at most [`MAX_VARINT`] bytes a counter. The zlib stream is inflated here,
//! header first, then no more than the payload the (checked) header announces, so a deflate bomb
//! costs what a valid histogram of its parameters would; only then is the plain V2 form handed to
//! `hdrhistogram`'s deserializer, after its counts were walked once to refuse what would make it
//! panic or fail late.

use std::borrow::Cow;
use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use flate2::read::ZlibDecoder;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

/// The most counters a histogram read from a document may have: 2^20 (8 MiB of `u64` counts).
/// The harness's own histograms (1 us to 60 s, 3 significant digits) have 17,408.
pub const MAX_COUNTS: usize = 1 << 20;
/// The longest varint of the counts payload, in bytes.
pub const MAX_VARINT: usize = 9;
/// The V2 cookie (word size 8 folded in, as every implementation writes it).
const V2_COOKIE: u32 = 0x1c84_9313;
/// The V2 compressed cookie.
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;
/// The V2 header's length, its cookie included.
const HEADER: usize = 40;

/// Why a histogram was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistogramError {
    /// The text is not base64.
    #[error("not base64: {0}")]
    Base64(String),
    /// The bytes end before `what`.
    #[error("cut short in its {0}")]
    Truncated(&'static str),
    /// Neither V2 cookie.
    #[error("not an HdrHistogram V2 histogram (cookie {0:#010x})")]
    Cookie(u32),
    /// The compressed form claims more bytes than follow.
    #[error("the compressed payload claims {declared} bytes and {available} follow")]
    CompressedLength {
        /// The claimed length.
        declared: u64,
        /// The bytes there are.
        available: usize,
    },
    /// The zlib stream is broken.
    #[error("the compressed payload does not inflate: {0}")]
    Inflate(String),
    /// A V2 feature `hdrhistogram` does not read.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// Bounds no histogram can have.
    #[error("invalid parameters: lowest {low}, highest {high}, {digits} significant digits")]
    Parameters {
        /// Lowest discernible value.
        low: u64,
        /// Highest trackable value.
        high: u64,
        /// Significant digits.
        digits: u32,
    },
    /// More counters than [`MAX_COUNTS`].
    #[error(
        "{counts} counters (lowest {low}, highest {high}, {digits} significant digits): more than the {MAX_COUNTS} accepted"
    )]
    TooManyCounts {
        /// Counters the parameters need.
        counts: usize,
        /// Lowest discernible value.
        low: u64,
        /// Highest trackable value.
        high: u64,
        /// Significant digits.
        digits: u32,
    },
    /// The counts payload claims more bytes than its counters can take.
    #[error(
        "the counts payload claims {declared} bytes, more than the {max} that {counts} counters take at most"
    )]
    PayloadTooLong {
        /// The claimed length.
        declared: u64,
        /// The most it may be.
        max: usize,
        /// Counters.
        counts: usize,
    },
    /// The counts payload claims more bytes than there are.
    #[error("the counts payload claims {declared} bytes and {available} follow")]
    PayloadShort {
        /// The claimed length.
        declared: usize,
        /// The bytes there are.
        available: usize,
    },
    /// The counts themselves do not fit the histogram.
    #[error("counts: {0}")]
    Counts(String),
}

/// A histogram as HdrHistogram V2 compressed, base64 (empty text if it cannot be serialized).
pub fn encode(histogram: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(histogram, &mut bytes) {
        Ok(_) => BASE64.encode(bytes),
        Err(_) => String::new(),
    }
}

/// The histogram of a document's base64 text, within the bounds above.
pub fn decode(text: &str) -> Result<Histogram<u64>, HistogramError> {
    let bytes = BASE64
        .decode(text)
        .map_err(|e| HistogramError::Base64(e.to_string()))?;
    decode_bytes(&bytes)
}

/// The histogram of V2 bytes (compressed or not), within the bounds above.
pub fn decode_bytes(bytes: &[u8]) -> Result<Histogram<u64>, HistogramError> {
    let (cookie, rest) = take_u32(bytes, "cookie")?;
    let plain: Cow<'_, [u8]> = match cookie {
        V2_COMPRESSED_COOKIE => Cow::Owned(inflate(rest)?),
        V2_COOKIE => Cow::Borrowed(bytes),
        other => return Err(HistogramError::Cookie(other)),
    };
    let header = Header::parse(&plain)?;
    let available = plain.len() - HEADER;
    if header.payload_len > available {
        return Err(HistogramError::PayloadShort {
            declared: header.payload_len,
            available,
        });
    }
    let v2 = &plain[..HEADER + header.payload_len];
    check_counts(&v2[HEADER..], header.counts)?;
    Deserializer::new()
        .deserialize(&mut &v2[..])
        .map_err(|e| HistogramError::Counts(e.to_string()))
}

/// Inflates the compressed form (after its cookie): the header, checked, then at most the
/// payload it announces.
fn inflate(rest: &[u8]) -> Result<Vec<u8>, HistogramError> {
    let (declared, compressed) = take_u32(rest, "compressed length")?;
    let Some(compressed) = compressed.get(..declared as usize) else {
        return Err(HistogramError::CompressedLength {
            declared: u64::from(declared),
            available: compressed.len(),
        });
    };
    let inflate_error = |e: std::io::Error| HistogramError::Inflate(e.to_string());
    let mut decoder = ZlibDecoder::new(compressed);
    let mut plain = vec![0u8; HEADER];
    decoder.read_exact(&mut plain).map_err(inflate_error)?;
    let header = Header::parse(&plain)?;
    decoder
        .take(header.payload_len as u64)
        .read_to_end(&mut plain)
        .map_err(inflate_error)?;
    Ok(plain)
}

/// The checked V2 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    /// Bytes of counts payload, at most [`MAX_VARINT`] a counter.
    payload_len: usize,
    /// Counters, at most [`MAX_COUNTS`].
    counts: usize,
}

impl Header {
    /// Reads and checks the header at the start of `bytes`.
    fn parse(bytes: &[u8]) -> Result<Header, HistogramError> {
        let (cookie, rest) = take_u32(bytes, "header")?;
        if cookie != V2_COOKIE {
            return Err(HistogramError::Cookie(cookie));
        }
        let (payload_len, rest) = take_u32(rest, "header")?;
        let (offset, rest) = take_u32(rest, "header")?;
        let (digits, rest) = take_u32(rest, "header")?;
        let (low, rest) = take_u64(rest, "header")?;
        let (high, rest) = take_u64(rest, "header")?;
        let (ratio, _) = take_u64(rest, "header")?;
        if offset != 0 {
            return Err(HistogramError::Unsupported("a normalizing index offset"));
        }
        if f64::from_bits(ratio) != 1.0 {
            return Err(HistogramError::Unsupported(
                "an integer to double ratio other than 1",
            ));
        }
        let counts = u8::try_from(digits)
            .ok()
            .and_then(|d| counts_len(low, high, d))
            .ok_or(HistogramError::Parameters { low, high, digits })?;
        if counts > MAX_COUNTS {
            return Err(HistogramError::TooManyCounts {
                counts,
                low,
                high,
                digits,
            });
        }
        let max = counts * MAX_VARINT;
        if payload_len as usize > max {
            return Err(HistogramError::PayloadTooLong {
                declared: u64::from(payload_len),
                max,
                counts,
            });
        }
        Ok(Header {
            payload_len: payload_len as usize,
            counts,
        })
    }
}

/// How many counters a histogram of these bounds has, as `hdrhistogram` computes it; `None` when
/// it would refuse the bounds.
pub fn counts_len(low: u64, high: u64, digits: u8) -> Option<usize> {
    if !(1..=u64::MAX / 2).contains(&low) || high < 2 * low || digits > 5 {
        return None;
    }
    let largest = 2 * 10u32.pow(u32::from(digits));
    // The same floating-point arithmetic as `Histogram::new_with_bounds`.
    let unit_magnitude = (low as f64).log2().floor() as u32;
    let sub_bucket_count_magnitude = f64::from(largest).log2().ceil() as u32;
    if unit_magnitude + sub_bucket_count_magnitude > 63 {
        return None;
    }
    let sub_bucket_count = 1u64 << sub_bucket_count_magnitude;
    let mut smallest_untrackable = sub_bucket_count << unit_magnitude;
    let mut buckets = 1u64;
    while smallest_untrackable <= high {
        if smallest_untrackable > u64::MAX / 2 {
            buckets += 1;
            break;
        }
        smallest_untrackable <<= 1;
        buckets += 1;
    }
    usize::try_from((buckets + 1) * (sub_bucket_count / 2)).ok()
}

/// Walks the counts payload as `hdrhistogram` will: every varint complete, no zero run it cannot
/// negate, no count past the last of `counts` counters.
fn check_counts(payload: &[u8], counts: usize) -> Result<(), HistogramError> {
    let mut at = 0;
    let mut index = 0u64;
    while at < payload.len() {
        let (value, read) = varint(&payload[at..]).ok_or_else(|| {
            HistogramError::Counts(format!("the varint at byte {at} is cut short"))
        })?;
        at += read;
        let number = ((value >> 1) as i64) ^ -((value & 1) as i64);
        if number == i64::MIN {
            return Err(HistogramError::Counts(format!(
                "the zero run at byte {} is out of range",
                at - read
            )));
        }
        if number < 0 {
            index = index.saturating_add(number.unsigned_abs());
            continue;
        }
        if number > 0 && index >= counts as u64 {
            return Err(HistogramError::Counts(format!(
                "a count at counter {index}, past the last of {counts}"
            )));
        }
        index += 1;
    }
    Ok(())
}

/// An LEB128 varint of at most 9 bytes (the ninth contributes all its 8 bits) and its length.
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().take(MAX_VARINT).enumerate() {
        if i == MAX_VARINT - 1 {
            return Some((value | (u64::from(b) << 56), MAX_VARINT));
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn take_u32<'a>(bytes: &'a [u8], what: &'static str) -> Result<(u32, &'a [u8]), HistogramError> {
    match bytes.split_first_chunk::<4>() {
        Some((head, rest)) => Ok((u32::from_be_bytes(*head), rest)),
        None => Err(HistogramError::Truncated(what)),
    }
}

fn take_u64<'a>(bytes: &'a [u8], what: &'static str) -> Result<(u64, &'a [u8]), HistogramError> {
    match bytes.split_first_chunk::<8>() {
        Some((head, rest)) => Ok((u64::from_be_bytes(*head), rest)),
        None => Err(HistogramError::Truncated(what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::recorder::histogram;
    use flate2::Compression;
    use flate2::write::ZlibEncoder;
    use std::io::Write;

    /// A V2 header of these parameters claiming `payload_len` bytes of counts.
    fn header(payload_len: u32, low: u64, high: u64, digits: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&V2_COOKIE.to_be_bytes());
        bytes.extend_from_slice(&payload_len.to_be_bytes());
        bytes.extend_from_slice(&0u32.to_be_bytes());
        bytes.extend_from_slice(&digits.to_be_bytes());
        bytes.extend_from_slice(&low.to_be_bytes());
        bytes.extend_from_slice(&high.to_be_bytes());
        bytes.extend_from_slice(&1.0f64.to_bits().to_be_bytes());
        bytes
    }

    /// The compressed form of `plain`.
    fn compressed(plain: &[u8]) -> Vec<u8> {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(plain).unwrap();
        let deflated = encoder.finish().unwrap();
        let mut bytes = V2_COMPRESSED_COOKIE.to_be_bytes().to_vec();
        bytes.extend_from_slice(&(deflated.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&deflated);
        bytes
    }

    #[test]
    fn counts_len_is_what_hdrhistogram_allocates() {
        for low in [1u64, 2, 3, 1000, 1 << 20, (1 << 40) + 7] {
            for high in [2 * low, 60_000_000, 1 << 40, u64::MAX / 3, u64::MAX] {
                for digits in 0..=5u8 {
                    let ours = counts_len(low, high, digits);
                    let theirs = Histogram::<u8>::new_with_bounds(low, high, digits)
                        .ok()
                        .map(|h| h.distinct_values());
                    assert_eq!(ours, theirs, "low {low} high {high} digits {digits}");
                }
            }
        }
        assert_eq!(counts_len(0, 10, 3), None);
        assert_eq!(counts_len(1, 10, 6), None);
        assert_eq!(
            counts_len(1, 60_000_000, 3),
            Some(histogram().distinct_values())
        );
    }

    #[test]
    fn the_harness_own_histograms_read_back() {
        let mut h = histogram();
        for us in [1u64, 50, 999, 12_345, 60_000_000] {
            h.record_n(us, us % 7 + 1).unwrap();
        }
        let back = decode(&encode(&h)).unwrap();
        assert_eq!(back, h);
        assert_eq!(decode(&encode(&histogram())).unwrap().len(), 0);
    }

    #[test]
    fn a_header_claiming_4_gib_is_refused_before_any_allocation() {
        // 52 characters of base64: a compressed histogram whose header claims a 4 GiB payload.
        let text = BASE64.encode(compressed(&header(u32::MAX, 1, 60_000_000, 3)));
        assert!(text.len() <= 60, "{text}");
        let error = decode(&text).unwrap_err();
        assert!(
            matches!(error, HistogramError::PayloadTooLong { declared, .. } if declared == u64::from(u32::MAX)),
            "{error}"
        );
        // Uncompressed: the same.
        assert!(matches!(
            decode_bytes(&header(u32::MAX, 1, 60_000_000, 3)),
            Err(HistogramError::PayloadTooLong { .. })
        ));
    }

    #[test]
    fn the_decoder_refuses_past_the_cap() {
        // Parameters asking for more counters than accepted: 5 digits over 64 bits.
        let error = decode_bytes(&header(0, 1, u64::MAX, 5)).unwrap_err();
        assert!(
            matches!(error, HistogramError::TooManyCounts { .. }),
            "{error}"
        );
        // A deflate bomb (64 MiB of zeros in 64 KiB) whose header claims a 1 GiB payload: refused
        // before inflating.
        let mut plain = header(1 << 30, 1, 60_000_000, 3);
        plain.resize(HEADER + 64 * 1024 * 1024, 0);
        let bomb = compressed(&plain);
        assert!(bomb.len() < 100 * 1024, "{}", bomb.len());
        assert!(matches!(
            decode_bytes(&bomb),
            Err(HistogramError::PayloadTooLong { .. })
        ));
        // The same bomb claiming the most its counters allow: only that much is inflated (zero
        // counts, an empty histogram), the rest of the stream is never read.
        let cap = counts_len(1, 60_000_000, 3).unwrap() * MAX_VARINT;
        plain[4..8].copy_from_slice(&(cap as u32).to_be_bytes());
        assert_eq!(decode_bytes(&compressed(&plain)).unwrap().len(), 0);
        // One byte more is refused.
        plain[4..8].copy_from_slice(&(cap as u32 + 1).to_be_bytes());
        assert!(matches!(
            decode_bytes(&compressed(&plain)),
            Err(HistogramError::PayloadTooLong { .. })
        ));
    }

    #[test]
    fn broken_inputs_are_errors_not_panics() {
        let good = encode(&histogram());
        let bytes = BASE64.decode(&good).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(matches!(decode("!!"), Err(HistogramError::Base64(_))));
        assert!(matches!(
            decode_bytes(&[0, 0, 0, 1]),
            Err(HistogramError::Cookie(1))
        ));
        // A compressed length beyond the bytes.
        let mut long = bytes.clone();
        long[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            decode_bytes(&long),
            Err(HistogramError::CompressedLength { .. })
        ));
        // A zero run of i64::MIN (zig-zag u64::MAX) would overflow hdrhistogram's negation.
        let mut plain = header(9, 1, 60_000_000, 3);
        plain.extend_from_slice(&[0xff; 9]);
        assert!(matches!(
            decode_bytes(&plain),
            Err(HistogramError::Counts(_))
        ));
        // A count past the last counter.
        let mut plain = header(4, 1, 60_000_000, 3);
        let zeros = 2 * 20_000u64 - 1; // zig-zag of -20,000
        plain.extend_from_slice(&[
            (zeros & 0x7f) as u8 | 0x80,
            ((zeros >> 7) & 0x7f) as u8 | 0x80,
            (zeros >> 14) as u8,
            2,
        ]);
        assert!(matches!(
            decode_bytes(&plain),
            Err(HistogramError::Counts(_))
        ));
        // Unsupported features and bad parameters.
        let mut offset = header(0, 1, 60_000_000, 3);
        offset[8] = 1;
        assert!(matches!(
            decode_bytes(&offset),
            Err(HistogramError::Unsupported(_))
        ));
        assert!(matches!(
            decode_bytes(&header(0, 0, 60_000_000, 3)),
            Err(HistogramError::Parameters { .. })
        ));
        assert!(matches!(
            decode_bytes(&header(0, 1, 60_000_000, 300)),
            Err(HistogramError::Parameters { .. })
        ));
    }
}
