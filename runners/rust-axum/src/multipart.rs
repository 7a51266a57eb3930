//! Multipart bodies (`body.media: "multipart"`): parts parsed by multer (the parser axum's
//! `Multipart` extractor wraps), fields kept as text for coercion, declared files hashed as they
//! are read, then checked against their rules.
//!
//! multer is used directly rather than through axum's extractor: the body reaches it already
//! bounded by `max_bytes` and decoded (the extractor would apply axum's own body limit and read
//! the raw request again), and its errors are answered with the canonical 400.

use std::convert::Infallible;

use axum::http::header;
use axum::response::Response;
use bytes::Bytes;
use harness_fixture::handler::FileRule;
use indexmap::IndexMap;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::problem::{self, FieldError, Location, push_escaped};

/// The file rules of a multipart handler, in declared order.
pub(crate) struct MultipartRule {
    files: IndexMap<String, FileRule>,
}

/// One file as received.
#[derive(Debug)]
pub(crate) struct Upload {
    filename: String,
    /// The part's `Content-Type` as sent.
    content_type: Option<String>,
    size: u64,
    /// Lower-case hex.
    sha256: String,
}

/// A parsed multipart body.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// Fields (parts without a filename), in order.
    pub fields: Vec<(String, String)>,
    /// Declared files by name: the first only, or all for a `multiple` rule.
    pub files: IndexMap<String, Vec<Upload>>,
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

/// Whether the part's type (parameters aside, case-insensitive) is one of `allowed`.
fn type_allowed(content_type: Option<&str>, allowed: &[String]) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or("").trim();
    allowed.iter().any(|a| {
        a.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case(essence)
    })
}

impl MultipartRule {
    /// The rule of `body.files`.
    pub(crate) fn new(files: &IndexMap<String, FileRule>) -> MultipartRule {
        MultipartRule {
            files: files.clone(),
        }
    }

    /// Parses `body` (its `Content-Type` is `content_type`): 400 when there is no boundary or a
    /// part is broken, or a field is not UTF-8.
    pub(crate) async fn parse(&self, content_type: &str, body: Bytes) -> Result<Parsed, Response> {
        let malformed = |_| problem::malformed_body();
        let boundary = multer::parse_boundary(content_type).map_err(malformed)?;
        let stream = futures_util::stream::once(async move { Ok::<Bytes, Infallible>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        let mut parsed = Parsed::default();
        while let Some(mut part) = multipart.next_field().await.map_err(malformed)? {
            let Some(name) = part.name().map(str::to_owned) else {
                continue; // Without a name it is neither field nor file.
            };
            let Some(filename) = part.file_name().map(str::to_owned) else {
                let bytes = part.bytes().await.map_err(malformed)?;
                let text =
                    String::from_utf8(bytes.into()).map_err(|_| problem::malformed_body())?;
                parsed.fields.push((name, text));
                continue;
            };
            let Some(rule) = self.files.get(&name) else {
                continue; // Undeclared files are ignored.
            };
            let received = parsed.files.entry(name).or_default();
            if !rule.multiple && !received.is_empty() {
                continue; // The first file of the name counts.
            }
            let content_type = part
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            while let Some(chunk) = part.chunk().await.map_err(malformed)? {
                size += chunk.len() as u64;
                hasher.update(&chunk);
            }
            received.push(Upload {
                filename,
                content_type,
                size,
                sha256: hex(&hasher.finalize()),
            });
        }
        Ok(parsed)
    }

    /// Checks the files against their rules, adding one error per file at fault (`/name`, or
    /// `/name/index` for a `multiple` rule) and one per missing required file; returns the
    /// `files` object of the echo document, in declared order.
    pub(crate) fn check(
        &self,
        received: &IndexMap<String, Vec<Upload>>,
        errors: &mut Vec<FieldError>,
    ) -> Value {
        let mut echo = Map::new();
        for (name, rule) in &self.files {
            let uploads = received.get(name).map(Vec::as_slice).unwrap_or_default();
            let mut base = String::from("/");
            push_escaped(&mut base, name);
            if uploads.is_empty() && rule.required {
                errors.push(error(
                    base.clone(),
                    format!("the file {name:?} is required"),
                ));
            }
            for (index, upload) in uploads.iter().enumerate() {
                let pointer = if rule.multiple {
                    format!("{base}/{index}")
                } else {
                    base.clone()
                };
                if let Some(max) = rule.max_bytes
                    && upload.size > max
                {
                    let message = format!("the file is {} bytes, more than {max}", upload.size);
                    errors.push(error(pointer.clone(), message));
                }
                if let Some(allowed) = &rule.content_types
                    && !type_allowed(upload.content_type.as_deref(), allowed)
                {
                    let message = format!(
                        "the file's type {:?} is not one of {allowed:?}",
                        upload.content_type.as_deref().unwrap_or("(none)")
                    );
                    errors.push(error(pointer, message));
                }
            }
            let described = uploads.iter().map(describe);
            if rule.multiple {
                echo.insert(name.clone(), Value::Array(described.collect()));
            } else if let Some(first) = described.into_iter().next() {
                echo.insert(name.clone(), first);
            }
        }
        Value::Object(echo)
    }
}

fn error(pointer: String, message: String) -> FieldError {
    FieldError {
        location: Location::Body,
        pointer,
        message,
    }
}

/// A file in the echo document.
fn describe(upload: &Upload) -> Value {
    json!({
        "filename": upload.filename,
        "content_type": upload.content_type,
        "size": upload.size,
        "sha256": upload.sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex() {
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn types_match_by_essence() {
        let allowed = vec!["image/png".to_owned(), "text/plain".to_owned()];
        assert!(type_allowed(Some("image/png"), &allowed));
        assert!(type_allowed(Some("Text/Plain; charset=utf-8"), &allowed));
        assert!(!type_allowed(Some("image/jpeg"), &allowed));
        assert!(!type_allowed(None, &allowed));
    }
}
