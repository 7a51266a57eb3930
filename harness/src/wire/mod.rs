//! The wire, shared by the replay drivers (`run`) and the load workers (`bench`, `stream`):
//! what the harness sends ([`request`]: user agent, bodies, WebSocket messages); content codings
//! of bodies both ways ([`coding`]); one incremental SSE parser ([`sse_parser`]) for both paths, size limits on what a
//! server may make the harness hold ([`DEFAULT_MAX_EVENT_SIZE`]), and deadlines that fire even
//! when the peer keeps the socket busy ([`deadline`]). [`tls`] and [`transport`] open plain or TLS
//! connections for `run` and load; [`http2`] asks a target whether it speaks HTTP/2. [`parse_size`] reads `--max-event-size`.

pub mod coding;
pub mod deadline;
pub mod http2;
pub mod multipart;
pub mod request;
pub mod sse_parser;
pub mod tls;
pub mod transport;

pub use deadline::Deadline;
pub use sse_parser::{EventRef, EventTooLarge, SseParser};

/// The largest SSE line or event, and WebSocket message (or frame), read from a server unless
/// `--max-event-size` says otherwise: 16 MiB, the limit of REST reply bodies.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

/// Why a text is not a size (`--max-event-size`; clap names the flag and the value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// The unit after the digits is none of B, KB, MB, GB, KiB, MiB, GiB.
    #[error("unknown unit {unit:?} (write e.g. 16MiB, 512KiB, 1000000)")]
    UnknownUnit {
        /// The unit, in lower case.
        unit: String,
    },
    /// No digits, or more bytes than a `usize` counts.
    #[error("{text:?} is not a size (write e.g. 16MiB, 512KiB, 1000000)")]
    NotASize {
        /// The text, trimmed.
        text: String,
    },
    /// Zero bytes.
    #[error("must be more than zero")]
    Zero,
}

/// Parses a size in bytes (`--max-event-size`): `1000000`, `512KiB`, `16MiB`, `1GiB` (or KB, MB, GB: powers of 1000).
pub fn parse_size(text: &str) -> Result<usize, SizeError> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let unit: u64 = match text[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "mb" => 1000 * 1000,
        "gb" => 1000 * 1000 * 1000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        other => {
            return Err(SizeError::UnknownUnit {
                unit: other.to_string(),
            });
        }
    };
    let size = text[..digits]
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| SizeError::NotASize {
            text: text.to_string(),
        })?;
    if size == 0 {
        return Err(SizeError::Zero);
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16MiB"), Ok(16 * 1024 * 1024));
        assert_eq!(parse_size("512 KiB"), Ok(512 * 1024));
        assert_eq!(parse_size("2mb"), Ok(2_000_000));
        assert_eq!(parse_size("1000"), Ok(1000));
        for bad in [
            "0",
            "",
            "MiB",
            "1.5MiB",
            "-1",
            "3 parsecs",
            "99999999999999999999GiB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
