//! Reply compression (`response.compress`): `Accept-Encoding` negotiation and the encoders.
//!
//! Not tower-http's `CompressionLayer`: it ignores `*` in `Accept-Encoding` (RFC 9110 section
//! 12.5.3: any coding not named), breaks ties by its own preference (zstd, br, gzip, deflate)
//! where the vocabulary breaks them by the handler's order, and compresses bodies strictly
//! above a size where the vocabulary says "at least". The negotiation is written here; the
//! encoding is flate2 (gzip, zlib) and brotli. Static replies are encoded once, when the app is
//! built; echo replies per request.

use std::io::Write;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use bytes::Bytes;
use harness_fixture::handler::{Compress, RunnerCoding};

/// Brotli quality and window of the encoder (a middle setting: echo replies are encoded per
/// request).
const BROTLI_QUALITY: i32 = 5;
const BROTLI_LG_WINDOW: i32 = 22;

/// The `Content-Encoding` token of a coding.
pub(crate) fn token(coding: RunnerCoding) -> &'static str {
    match coding {
        RunnerCoding::Gzip => "gzip",
        RunnerCoding::Deflate => "deflate",
        RunnerCoding::Br => "br",
    }
}

/// A q-value in thousandths (`q=0.5` is 500), as RFC 9110 section 12.4.2 writes them; `None`
/// for anything else.
fn parse_q(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut value: u16 = match whole {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    for (digit, scale) in fraction.bytes().zip([100, 10, 1]) {
        value += u16::from(digit - b'0') * scale;
    }
    (value <= 1000).then_some(value)
}

/// The `Accept-Encoding` items of a request: (coding, q), lower-case; items whose q-value does
/// not parse are left out. `None` when the request has no `Accept-Encoding`.
fn accepted(headers: &HeaderMap) -> Option<Vec<(String, u16)>> {
    let mut lines = headers.get_all(header::ACCEPT_ENCODING).iter().peekable();
    lines.peek()?;
    let mut items = Vec::new();
    for line in lines.filter_map(|v| v.to_str().ok()) {
        for item in line.split(',') {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("").to_ascii_lowercase();
            if coding.is_empty() {
                continue;
            }
            let mut q = Some(1000);
            for param in parts {
                if let Some((name, value)) = param.split_once('=')
                    && name.trim().eq_ignore_ascii_case("q")
                {
                    q = parse_q(value.trim());
                }
            }
            if let Some(q) = q {
                items.push((coding, q));
            }
        }
    }
    Some(items)
}

/// The coding to send of `offered` (the handler's order): the one the request accepts with the
/// highest q (`q=0` refuses; `*` stands for any coding not named; `x-gzip` is `gzip`), the
/// earliest offered on a tie. `None`: send the body as it is.
pub(crate) fn negotiate(headers: &HeaderMap, offered: &[RunnerCoding]) -> Option<RunnerCoding> {
    let items = accepted(headers)?;
    let q_of = |coding: RunnerCoding| {
        let name = token(coding);
        items
            .iter()
            .find(|(c, _)| c == name || (coding == RunnerCoding::Gzip && c == "x-gzip"))
            .or_else(|| items.iter().find(|(c, _)| c == "*"))
            .map_or(0, |(_, q)| *q)
    };
    let mut best: Option<(RunnerCoding, u16)> = None;
    for &coding in offered {
        let q = q_of(coding);
        if q > 0 && best.is_none_or(|(_, best_q)| q > best_q) {
            best = Some((coding, q));
        }
    }
    best.map(|(coding, _)| coding)
}

/// `body` encoded with `coding`.
pub(crate) fn encode(coding: RunnerCoding, body: &[u8]) -> std::io::Result<Bytes> {
    let out = match coding {
        RunnerCoding::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(body)?;
            encoder.finish()?
        }
        RunnerCoding::Deflate => {
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(body)?;
            encoder.finish()?
        }
        RunnerCoding::Br => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: BROTLI_QUALITY,
                lgwin: BROTLI_LG_WINDOW,
                ..Default::default()
            };
            let mut out = Vec::new();
            brotli::BrotliCompress(&mut &body[..], &mut out, &params)?;
            out
        }
    };
    Ok(Bytes::from(out))
}

/// A handler's compression rule.
#[derive(Debug)]
pub(crate) struct CompressRule {
    min_bytes: usize,
    encodings: Vec<RunnerCoding>,
}

/// A body as it is and encoded with each coding the rule offers.
#[derive(Debug, Clone)]
pub(crate) struct Encoded {
    plain: Bytes,
    encoded: Vec<(RunnerCoding, Bytes)>,
}

impl Encoded {
    /// A body not encoded.
    pub(crate) fn identity(plain: Bytes) -> Encoded {
        Encoded {
            plain,
            encoded: Vec::new(),
        }
    }

    /// The body as it is.
    pub(crate) fn plain(&self) -> Bytes {
        self.plain.clone()
    }
}

impl CompressRule {
    /// The rule of `response.compress`.
    pub(crate) fn new(compress: &Compress) -> CompressRule {
        CompressRule {
            min_bytes: compress.min_bytes,
            encodings: compress.encodings.clone(),
        }
    }

    /// Whether a reply of this status and body is encoded at all: not a 4xx, not an empty body
    /// (nothing to encode), and at least `min_bytes` long.
    fn applies(&self, status: StatusCode, body: &[u8]) -> bool {
        !status.is_client_error() && !body.is_empty() && body.len() >= self.min_bytes
    }

    /// A static body, encoded now with every coding offered (when it applies).
    pub(crate) fn prepare(&self, status: StatusCode, body: Bytes) -> Encoded {
        let encoded = if self.applies(status, &body) {
            self.encodings
                .iter()
                .filter_map(|&coding| encode(coding, &body).ok().map(|bytes| (coding, bytes)))
                .collect()
        } else {
            Vec::new()
        };
        Encoded {
            plain: body,
            encoded,
        }
    }

    /// The body to send for a request, and its `Content-Encoding` if encoded. A coding whose
    /// encoder failed is not sent.
    pub(crate) fn pick(&self, request: &HeaderMap, body: &Encoded) -> (Bytes, Option<HeaderValue>) {
        if body.encoded.is_empty() {
            return (body.plain.clone(), None);
        }
        match negotiate(request, &self.encodings)
            .and_then(|c| body.encoded.iter().find(|(coding, _)| *coding == c))
        {
            Some((coding, bytes)) => (
                bytes.clone(),
                Some(HeaderValue::from_static(token(*coding))),
            ),
            None => (body.plain.clone(), None),
        }
    }

    /// A body made for this request (an echo): encoded when the rule applies and the request
    /// accepts a coding.
    pub(crate) fn encode_for(
        &self,
        request: &HeaderMap,
        status: StatusCode,
        body: Bytes,
    ) -> (Bytes, Option<HeaderValue>) {
        if !self.applies(status, &body) {
            return (body, None);
        }
        match negotiate(request, &self.encodings) {
            Some(coding) => match encode(coding, &body) {
                Ok(bytes) => (bytes, Some(HeaderValue::from_static(token(coding)))),
                Err(_) => (body, None),
            },
            None => (body, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RunnerCoding::{Br, Deflate, Gzip};
    use std::io::Read;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn q_values() {
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("0.001"), Some(1));
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q("1.5"), None);
        assert_eq!(parse_q("0.0001"), None);
        assert_eq!(parse_q("x"), None);
        assert_eq!(parse_q(""), None);
    }

    #[test]
    fn negotiation() {
        let all = [Gzip, Deflate, Br];
        assert_eq!(negotiate(&HeaderMap::new(), &all), None);
        assert_eq!(negotiate(&accept(""), &all), None);
        assert_eq!(negotiate(&accept("identity"), &all), None);
        assert_eq!(negotiate(&accept("gzip"), &all), Some(Gzip));
        assert_eq!(negotiate(&accept("X-GZIP"), &[Gzip]), Some(Gzip));
        // Ties go to the handler's order, not the request's.
        assert_eq!(negotiate(&accept("br, gzip"), &all), Some(Gzip));
        assert_eq!(negotiate(&accept("br, gzip"), &[Br, Gzip]), Some(Br));
        // The highest q wins.
        assert_eq!(negotiate(&accept("br;q=1.0, gzip;q=0.5"), &all), Some(Br));
        assert_eq!(
            negotiate(&accept("br;q=1.0, gzip;q=0.5"), &[Gzip]),
            Some(Gzip)
        );
        // q=0 refuses, also through `*`.
        assert_eq!(negotiate(&accept("gzip;q=0, identity"), &[Gzip]), None);
        assert_eq!(negotiate(&accept("*;q=0"), &all), None);
        assert_eq!(negotiate(&accept("*"), &[Gzip]), Some(Gzip));
        assert_eq!(negotiate(&accept("gzip;q=0, *"), &all), Some(Deflate));
        assert_eq!(
            negotiate(&accept("*;q=0.1, br;q=0.2"), &[Gzip, Br]),
            Some(Br)
        );
        // A bad q-value drops the item.
        assert_eq!(negotiate(&accept("gzip;q=2"), &all), None);
        // Several lines.
        let mut two = accept("deflate;q=0.5");
        two.append(header::ACCEPT_ENCODING, HeaderValue::from_static("br"));
        assert_eq!(negotiate(&two, &all), Some(Br));
    }

    #[test]
    fn encoders_round_trip() {
        let body = b"hello hello hello hello".repeat(10);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&encode(Gzip, &body).unwrap()[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
        out.clear();
        flate2::read::ZlibDecoder::new(&encode(Deflate, &body).unwrap()[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
        out.clear();
        brotli::Decompressor::new(&encode(Br, &body).unwrap()[..], 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
    }

    #[test]
    fn applies_from_min_bytes_never_to_4xx_or_empty() {
        let rule = CompressRule::new(&Compress {
            min_bytes: 4,
            encodings: vec![Gzip],
        });
        assert!(rule.applies(StatusCode::OK, b"1234"));
        assert!(!rule.applies(StatusCode::OK, b"123"));
        assert!(!rule.applies(StatusCode::NOT_FOUND, b"12345"));
        assert!(rule.applies(StatusCode::INTERNAL_SERVER_ERROR, b"12345"));
        let zero = CompressRule::new(&Compress {
            min_bytes: 0,
            encodings: vec![Gzip],
        });
        assert!(!zero.applies(StatusCode::OK, b""));
    }
}
