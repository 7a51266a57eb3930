//! How values are written for people: durations in microseconds (`12.3ms`), sizes (`41.3 MB`),
//! counts with their noun (`3 runners`), relative changes (`+3.2%`), and text from a server or a
//! file with its control characters escaped ([`escape_controls`]). A leaf: every output uses it.
//! Written here rather than taken from `humansize`/`humantime`: those print `1.50 GiB` and
//! `12ms 300us`, and the documents and tables already read `1.50 GB` and `12.30ms`.

use std::borrow::Cow;

/// `850us`, `12.3ms`, `1.50s`.
pub fn human_us(us: u64) -> String {
    if us < 1_000 {
        format!("{us}us")
    } else if us < 1_000_000 {
        format!("{:.2}ms", us as f64 / 1e3)
    } else {
        format!("{:.2}s", us as f64 / 1e6)
    }
}

/// `812 KB`, `41.3 MB`, `1.20 GB` (powers of 1024).
pub fn human_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1024.0 * 1024.0 {
        format!("{:.0} KB", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2} GB", b / (1024.0 * 1024.0 * 1024.0))
    }
}

/// `1 runner`, `2 runners`.
pub fn counted(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// A relative change as `+3.2%`, or `-` when there is none.
pub fn percent(change: Option<f64>) -> String {
    change.map_or_else(|| "-".into(), |c| format!("{:+.1}%", c * 100.0))
}

/// `text` with control characters shown as Rust escapes (`\u{1b}`): C0 controls but `\n` and
/// `\t`, DEL, C1 controls, and the bidirectional overrides that reorder what a line shows.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(human_us(850), "850us");
        assert_eq!(human_us(12_300), "12.30ms");
        assert_eq!(human_us(1_500_000), "1.50s");
        assert_eq!(human_bytes(1536), "2 KB");
        assert_eq!(human_bytes(41 * 1024 * 1024 + 300 * 1024), "41.3 MB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024 / 2), "1.50 GB");
        assert_eq!(counted(1, "runner"), "1 runner");
        assert_eq!(counted(2, "runner"), "2 runners");
        assert_eq!(percent(Some(0.032)), "+3.2%");
        assert_eq!(percent(Some(-0.5)), "-50.0%");
        assert_eq!(percent(None), "-");
    }
}
