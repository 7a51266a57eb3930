//! The `Vary` header: one line, tokens joined with `, `, each once.

use axum::http::{HeaderMap, HeaderValue, header};

/// Adds `token` to the reply's `Vary`, keeping it one line (a fixture expecting
/// `"vary": "<<regex:...>>"` expects the header once): `Vary: Accept-Encoding, Origin`.
pub(crate) fn add_vary(headers: &mut HeaderMap, token: &'static str) {
    let existing: Vec<String> = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    if existing
        .iter()
        .any(|t| t.eq_ignore_ascii_case(token) || t == "*")
    {
        return;
    }
    if existing.is_empty() {
        headers.insert(header::VARY, HeaderValue::from_static(token));
        return;
    }
    let line = format!("{}, {token}", existing.join(", "));
    if let Ok(value) = HeaderValue::from_str(&line) {
        headers.insert(header::VARY, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vary(headers: &HeaderMap) -> Vec<&str> {
        headers
            .get_all(header::VARY)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    #[test]
    fn tokens_join_one_line_once_each() {
        let mut headers = HeaderMap::new();
        add_vary(&mut headers, "Accept-Encoding");
        assert_eq!(vary(&headers), ["Accept-Encoding"]);
        add_vary(&mut headers, "Origin");
        add_vary(&mut headers, "origin");
        assert_eq!(vary(&headers), ["Accept-Encoding, Origin"]);
        let mut headers = HeaderMap::new();
        headers.append(header::VARY, HeaderValue::from_static("Cookie"));
        headers.append(header::VARY, HeaderValue::from_static("X-A"));
        add_vary(&mut headers, "Origin");
        assert_eq!(vary(&headers), ["Cookie, X-A, Origin"]);
        let mut headers = HeaderMap::new();
        headers.insert(header::VARY, HeaderValue::from_static("*"));
        add_vary(&mut headers, "Origin");
        assert_eq!(vary(&headers), ["*"]);
    }
}
