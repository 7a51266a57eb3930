//! A `multipart/form-data` request body (RFC 7578) from a fixture's parts: one part per item,
//! in order, with the boundary pinned by the fixture or made fresh per request.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use harness_fixture::model::MultipartPart;

/// A fresh boundary: `bh-` and 24 hexadecimal digits, which no part's content is likely to hold.
pub fn fresh_boundary() -> String {
    let digits = uuid::Uuid::new_v4().simple().to_string();
    format!("bh-{}", &digits[..24])
}

/// The `Content-Type` of a body with this boundary.
pub fn content_type(boundary: &str) -> String {
    format!("multipart/form-data; boundary={boundary}")
}

/// The body's bytes: each part's headers (`Content-Disposition`, and `Content-Type` when the
/// fixture gives one or the part is a file), its content, then the closing delimiter.
/// A part's `base64` that does not decode is the error.
pub fn encode(parts: &[MultipartPart], boundary: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("form-data; name=\"{}\"", escape(&part.name));
        if let Some(filename) = &part.filename {
            disposition.push_str(&format!("; filename=\"{}\"", escape(filename)));
        }
        out.extend_from_slice(format!("Content-Disposition: {disposition}\r\n").as_bytes());
        let content_type = part.content_type.as_deref().or(part
            .filename
            .is_some()
            .then_some("application/octet-stream"));
        if let Some(content_type) = content_type {
            out.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&content(part)?);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok(out)
}

fn content(part: &MultipartPart) -> Result<Vec<u8>, base64::DecodeError> {
    match (&part.text, &part.base64) {
        (Some(text), _) => Ok(text.as_bytes().to_vec()),
        (None, Some(b64)) => BASE64.decode(b64),
        (None, None) => Ok(Vec::new()),
    }
}

/// A name or file name inside its quotes, as browsers send it (the WHATWG
/// `multipart/form-data` encoding): `"`, CR and LF percent-encoded.
fn escape(name: &str) -> String {
    name.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(value: serde_json::Value) -> MultipartPart {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn fields_and_files_in_order_with_their_headers() {
        let parts = [
            part(serde_json::json!({"name": "title", "text": "hi"})),
            part(serde_json::json!({"name": "f", "filename": "a\"b.bin", "base64": "AAE="})),
            part(
                serde_json::json!({"name": "g", "filename": "g.txt", "content_type": "text/plain", "text": "x"}),
            ),
        ];
        let body = encode(&parts, "B").unwrap();
        let expected = b"--B\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhi\r\n\
--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a%22b.bin\"\r\n\
Content-Type: application/octet-stream\r\n\r\n\x00\x01\r\n\
--B\r\nContent-Disposition: form-data; name=\"g\"; filename=\"g.txt\"\r\n\
Content-Type: text/plain\r\n\r\nx\r\n--B--\r\n";
        assert_eq!(body, expected.to_vec());
    }

    #[test]
    fn fresh_boundaries_differ_and_have_their_shape() {
        let (a, b) = (fresh_boundary(), fresh_boundary());
        assert_ne!(a, b);
        assert_eq!(a.len(), 27);
        assert!(a.starts_with("bh-") && a[3..].bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn bad_base64_is_an_error() {
        let parts = [part(serde_json::json!({"name": "f", "base64": "%%"}))];
        assert!(encode(&parts, "B").is_err());
    }
}
