//! Redaction of credentials in everything the harness writes or prints.
//!
//! Checks compare the real values; what leaves the process (snapshots, diffs, terminal lines,
//! result documents and the report files made from them) goes through a [`Redactor`] first. A
//! redacted value becomes a fingerprint, `<<redacted:sha256:1a2b>>` (the first 4 hex digits of the
//! SHA-256 of the value), so a changed secret still shows as changed without showing either value.
//!
//! What counts as a credential, by name (headers, JSON keys, query and form parameters), matched
//! case-insensitively with `-` and `_` taken as one:
//! - `Authorization` and `Proxy-Authorization`: the scheme stays visible (`Bearer <<redacted:..>>`);
//! - `Cookie`: each cookie's value (`session=<<redacted:..>>; theme=<<redacted:..>>`);
//! - `Set-Cookie`: the cookie's value, its attributes stay visible;
//! - [`DEFAULT_NAMES`] and the names given with `--redact` (globs: `*` any run, `?` one
//!   character): the whole value, or every value below the name when it holds an object or array.
//!
//! Pure: no I/O. Redacting is idempotent, so documents redacted once can be redacted again.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::check::matcher::Matcher;
use crate::results::Mismatch;
use crate::results::matrix::MatrixReport;
use crate::results::{FixtureResult, RunReport};

/// Names redacted by default besides the credential headers (globs, see the module docs).
pub const DEFAULT_NAMES: &[&str] = &[
    "*token*",
    "*secret*",
    "*api-key*",
    "*apikey*",
    "*password*",
    "*passwd*",
    "*private-key*",
];

/// The start of every fingerprint.
const MARKER: &str = "<<redacted:sha256:";

/// How a sensitive value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Authorization`: the scheme stays, the credential goes.
    Scheme,
    /// `Cookie`: each cookie's value goes.
    Cookie,
    /// `Set-Cookie`: the cookie's value goes, its attributes stay.
    SetCookie,
    /// Everything goes.
    Whole,
}

/// Redacts credentials, or nothing when disabled (`--no-redact`).
#[derive(Debug, Clone)]
pub struct Redactor {
    /// Normalized glob patterns; `None` when redaction is off.
    names: Option<Vec<String>>,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new(&[])
    }
}

/// The fingerprint that stands for `secret`: `<<redacted:sha256:1a2b>>`.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    format!("{MARKER}{:02x}{:02x}>>", digest[0], digest[1])
}

/// Whether `text` is a fingerprint already.
pub fn is_fingerprint(text: &str) -> bool {
    text.strip_prefix(MARKER)
        .and_then(|rest| rest.strip_suffix(">>"))
        .is_some_and(|hex| hex.len() == 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `text`'s fingerprint, or `text` when it is one already or empty.
fn hide(text: &str) -> String {
    if text.is_empty() || is_fingerprint(text) {
        text.to_string()
    } else {
        fingerprint(text)
    }
}

/// A name as compared: lower case, `_` as `-`.
fn normalize_name(name: &str) -> String {
    name.trim().to_lowercase().replace('_', "-")
}

/// Whether `name` matches the glob `pattern` (`*` any run, `?` one character); both normalized.
fn glob_matches(pattern: &[char], name: &[char]) -> bool {
    // Iterative matching with one backtrack point: linear enough for names.
    let (mut p, mut n) = (0, 0);
    let (mut star, mut star_n) = (None, 0);
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            star_n = n;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            star_n += 1;
            n = star_n;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

impl Redactor {
    /// Redacts the credential headers, [`DEFAULT_NAMES`] and `extra` names.
    pub fn new(extra: &[String]) -> Redactor {
        let names = DEFAULT_NAMES
            .iter()
            .map(|n| normalize_name(n))
            .chain(extra.iter().map(|n| normalize_name(n)))
            .filter(|n| !n.is_empty())
            .collect();
        Redactor { names: Some(names) }
    }

    /// Redacts nothing.
    pub fn disabled() -> Redactor {
        Redactor { names: None }
    }

    /// From the command line: `--no-redact` turns it off, `--redact NAME` adds names.
    pub fn from_flags(no_redact: bool, extra: &[String]) -> Redactor {
        if no_redact {
            Redactor::disabled()
        } else {
            Redactor::new(extra)
        }
    }

    /// Whether anything is redacted.
    pub fn is_enabled(&self) -> bool {
        self.names.is_some()
    }

    /// How a value named `name` (header, JSON key, parameter) is redacted; `None` when it is not
    /// a credential.
    pub fn kind(&self, name: &str) -> Option<Kind> {
        let patterns = self.names.as_ref()?;
        let name = normalize_name(name);
        match name.as_str() {
            "authorization" | "proxy-authorization" => return Some(Kind::Scheme),
            "cookie" => return Some(Kind::Cookie),
            "set-cookie" => return Some(Kind::SetCookie),
            _ => {}
        }
        let chars: Vec<char> = name.chars().collect();
        patterns
            .iter()
            .any(|p| glob_matches(&p.chars().collect::<Vec<_>>(), &chars))
            .then_some(Kind::Whole)
    }

    /// A header's value as shown: redacted when `name` is a credential, else with credentials in
    /// it (query parameters, forms) redacted.
    pub fn header(&self, name: &str, value: &str) -> String {
        match self.kind(name) {
            Some(kind) => redact_as(kind, value),
            None => self.text(value).into_owned(),
        }
    }

    /// Redacts a JSON value in place: values under credential keys, and credentials inside strings
    /// (`token=...` parameters, JSON text).
    pub fn value(&self, value: &mut Value) {
        if !self.is_enabled() {
            return;
        }
        match value {
            Value::String(text) => {
                if let Cow::Owned(redacted) = self.text(text) {
                    *text = redacted;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    match self.kind(key) {
                        Some(kind) => redact_leaves(v, kind),
                        None => self.value(v),
                    }
                }
            }
            _ => {}
        }
    }

    /// Credentials inside a text: the values of sensitive `name=value` parameters (query strings,
    /// forms, cookies) and of sensitive keys when the text is JSON.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.is_enabled() {
            return Cow::Borrowed(text);
        }
        let trimmed = text.trim_start();
        if (trimmed.starts_with('{') || trimmed.starts_with('['))
            && let Ok(mut parsed) = serde_json::from_str::<Value>(text)
        {
            let before = parsed.clone();
            self.value(&mut parsed);
            return if parsed == before {
                Cow::Borrowed(text)
            } else {
                Cow::Owned(parsed.to_string())
            };
        }
        if !text.contains('=') {
            return Cow::Borrowed(text);
        }
        parameter().replace_all(text, |caps: &regex::Captures<'_>| {
            let (lead, name, value) = (&caps[1], &caps[2], &caps[3]);
            let decoded: String = form_urlencoded::parse(format!("{name}=").as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_else(|| name.to_string());
            match self.kind(&decoded) {
                // The decoded value's fingerprint: a secret sent in a form and echoed in JSON
                // shows the same fingerprint in both.
                Some(_) => format!("{lead}{name}={}", hide(&decode(value))),
                None => caps[0].to_string(),
            }
        })
    }

    /// Redacts one difference: when its pointer names a credential, both sides wholly (as
    /// fingerprints, so they still differ); else the credentials inside either side.
    pub fn mismatch(&self, mismatch: &mut Mismatch) {
        if !self.is_enabled() {
            return;
        }
        let named = mismatch
            .path
            .split('/')
            .filter_map(|token| self.kind(&token.replace("~1", "/").replace("~0", "~")))
            .next_back();
        for side in [&mut mismatch.expected, &mut mismatch.actual] {
            match named {
                Some(kind) => redact_leaves(side, kind),
                None => self.value(side),
            }
        }
        if let Cow::Owned(message) = self.text(&mismatch.message) {
            mismatch.message = message;
        }
    }

    /// Redacts a unified diff of pretty JSON (a snapshot diff) line by line: values under a
    /// credential key, by indentation, and credentials inside every string.
    pub fn diff_text(&self, diff: &str) -> String {
        if !self.is_enabled() {
            return diff.to_string();
        }
        // Containers opened under a credential key: (indentation, kind).
        let mut open: Vec<(usize, Kind)> = Vec::new();
        let mut out = String::with_capacity(diff.len());
        for line in diff.split_inclusive('\n') {
            let (body, newline) = match line.strip_suffix('\n') {
                Some(body) => (body, "\n"),
                None => (line, ""),
            };
            let is_header =
                body.starts_with("@@") || body.starts_with("+++") || body.starts_with("---");
            let Some(prefix) = body
                .chars()
                .next()
                .filter(|c| " +-".contains(*c) && !is_header)
            else {
                out.push_str(&self.text(body));
                out.push_str(newline);
                continue;
            };
            let rest = &body[prefix.len_utf8()..];
            let indent = rest.len() - rest.trim_start().len();
            while open.last().is_some_and(|(at, _)| *at >= indent) {
                open.pop();
            }
            let inherited = open.last().map(|(_, kind)| *kind);
            out.push(prefix);
            out.push_str(&self.json_line(rest, inherited, &mut open, indent));
            out.push_str(newline);
        }
        out
    }

    /// One line of pretty JSON, redacted; opens a credential container when the line does.
    fn json_line(
        &self,
        line: &str,
        inherited: Option<Kind>,
        open: &mut Vec<(usize, Kind)>,
        indent: usize,
    ) -> String {
        let Some(caps) = json_line().captures(line) else {
            return self.text(line).into_owned();
        };
        let (lead, key, value, comma) = (
            caps.get(1).map_or("", |m| m.as_str()),
            caps.get(2).map(|m| m.as_str()),
            caps.get(3).map_or("", |m| m.as_str()),
            caps.get(4).map_or("", |m| m.as_str()),
        );
        let key_text = key.and_then(|k| serde_json::from_str::<String>(k).ok());
        let kind = key_text.as_deref().and_then(|k| self.kind(k)).or(inherited);
        if value == "[" || value == "{" {
            if let Some(kind) = kind {
                open.push((indent, kind));
            }
            return line.to_string();
        }
        let shown = match serde_json::from_str::<Value>(value) {
            Ok(mut parsed) if parsed.is_string() || parsed.is_number() => {
                match kind {
                    Some(kind) => redact_leaves(&mut parsed, kind),
                    None => self.value(&mut parsed),
                }
                parsed.to_string()
            }
            _ => return self.text(line).into_owned(),
        };
        match key {
            Some(key) => format!("{lead}{key}: {shown}{comma}"),
            None => format!("{lead}{shown}{comma}"),
        }
    }

    /// Redacts everything a fixture result shows: its differences, error and snapshot diff.
    pub fn fixture_result(&self, result: &mut FixtureResult) {
        if !self.is_enabled() {
            return;
        }
        result.diff.iter_mut().for_each(|m| self.mismatch(m));
        if let Some(error) = &mut result.error
            && let Cow::Owned(reason) = self.text(&error.reason)
        {
            error.reason = reason;
        }
        if let Some(diff) = result.snapshot.as_mut().and_then(|s| s.diff.as_mut()) {
            *diff = self.diff_text(diff);
        }
    }

    /// Redacts every fixture result of a run, and credentials in its target's URL.
    pub fn run_report(&self, report: &mut RunReport) {
        if let Cow::Owned(url) = self.text(&report.target.url) {
            report.target.url = url;
        }
        report
            .fixtures
            .iter_mut()
            .for_each(|f| self.fixture_result(f));
    }

    /// Redacts every fixture result of a matrix (its runner blocks and its flat list), and
    /// credentials in the output of runners that could not start.
    pub fn matrix_report(&self, report: &mut MatrixReport) {
        for runner in &mut report.runners {
            self.run_report(&mut runner.run);
            if let Some(error) = &mut runner.error
                && let Cow::Owned(redacted) = self.text(error)
            {
                *error = redacted;
            }
        }
        report
            .fixtures
            .iter_mut()
            .for_each(|f| self.fixture_result(&mut f.result));
    }
}

/// Redacts every string and number in `value` as `kind` says.
fn redact_leaves(value: &mut Value, kind: Kind) {
    match value {
        Value::String(text) => {
            if !is_class_matcher(text) {
                *text = redact_as(kind, text);
            }
        }
        Value::Number(n) => *value = Value::String(hide(&n.to_string())),
        Value::Array(items) => items.iter_mut().for_each(|v| redact_leaves(v, kind)),
        Value::Object(map) => map.values_mut().for_each(|v| redact_leaves(v, Kind::Whole)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// A fixture's class matcher (`<<any>>`, `<<uuid>>`...) stands for no value: it stays.
fn is_class_matcher(text: &str) -> bool {
    matches!(Matcher::parse(text), Some(Ok(m)) if m.is_class())
}

/// `value` redacted as `kind` says.
pub fn redact_as(kind: Kind, value: &str) -> String {
    match kind {
        Kind::Whole => hide(value),
        Kind::Scheme => {
            let value = value.trim();
            match value.split_once(|c: char| c.is_ascii_whitespace()) {
                Some((scheme, credential))
                    if !scheme.is_empty()
                        && scheme
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-._~+".contains(c)) =>
                {
                    format!("{scheme} {}", hide(credential.trim()))
                }
                _ => hide(value),
            }
        }
        Kind::Cookie => value
            .split(';')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
            .map(cookie_pair)
            .collect::<Vec<_>>()
            .join("; "),
        Kind::SetCookie => {
            let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
            let mut out = cookie_pair(pair.trim());
            if !attributes.is_empty() {
                out.push(';');
                out.push_str(attributes);
            }
            out
        }
    }
}

/// A query or form value decoded (`+` as a space, `%XX` escapes).
fn decode(value: &str) -> String {
    form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| value.to_string())
}

/// `name=value` with the value redacted; a pair without `=` is redacted whole.
fn cookie_pair(pair: &str) -> String {
    match pair.split_once('=') {
        Some((name, value)) => format!("{name}={}", hide(value)),
        None => hide(pair),
    }
}

/// A `name=value` parameter: after the start, `?`, `&`, `;` or a space; the value runs to the
/// next separator.
fn parameter() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(^|[?&;\s])([A-Za-z0-9_.\-%\[\]]+)=([^&;\s#]*)").expect("valid regex")
    })
}

/// A line of pretty JSON: indentation, an optional key, a value, an optional comma.
fn json_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"^(\s*)(?:("(?:[^"\\]|\\.)*"): )?(.*?)(,?)$"#).expect("valid regex")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fp(secret: &str) -> String {
        fingerprint(secret)
    }

    #[test]
    fn a_fingerprint_is_four_hex_digits_of_sha256() {
        // sha256("abc") = ba7816bf...
        assert_eq!(fingerprint("abc"), "<<redacted:sha256:ba78>>");
        assert!(is_fingerprint(&fingerprint("x")));
        assert!(!is_fingerprint("<<redacted:sha256:xyz1>>"));
    }

    #[test]
    fn names_match_globs_case_insensitively_with_dash_and_underscore_as_one() {
        let r = Redactor::new(&["X-Custom*".to_string()]);
        assert_eq!(r.kind("Authorization"), Some(Kind::Scheme));
        assert_eq!(r.kind("proxy_authorization"), Some(Kind::Scheme));
        assert_eq!(r.kind("COOKIE"), Some(Kind::Cookie));
        assert_eq!(r.kind("Set-Cookie"), Some(Kind::SetCookie));
        for name in [
            "X-Api-Key",
            "x_api_key",
            "apikey",
            "access_token",
            "X-Auth-Token",
            "client_secret",
            "password",
            "newPassword",
            "x_custom_header",
        ] {
            assert_eq!(r.kind(name), Some(Kind::Whole), "{name}");
        }
        for name in ["content-type", "name", "session", "cookies", "x-request-id"] {
            assert_eq!(r.kind(name), None, "{name}");
        }
        assert_eq!(Redactor::disabled().kind("authorization"), None);
    }

    #[test]
    fn globs_match_whole_names() {
        let m = |p: &str, n: &str| {
            glob_matches(
                &p.chars().collect::<Vec<_>>(),
                &n.chars().collect::<Vec<_>>(),
            )
        };
        assert!(m("*token*", "token"));
        assert!(m("*token*", "a-token-b"));
        assert!(m("pass?ord", "password"));
        assert!(!m("password", "passwords"));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(!m("a*b*c", "axxbyy"));
    }

    #[test]
    fn headers_keep_their_scheme_cookie_names_and_attributes() {
        let r = Redactor::default();
        assert_eq!(
            r.header("Authorization", "Bearer abc.def"),
            format!("Bearer {}", fp("abc.def"))
        );
        assert_eq!(r.header("authorization", "opaque"), fp("opaque"));
        assert_eq!(
            r.header("cookie", "session=s3cr3t; theme=dark"),
            format!("session={}; theme={}", fp("s3cr3t"), fp("dark"))
        );
        assert_eq!(
            r.header("set-cookie", "session=abc; Path=/; HttpOnly"),
            format!("session={}; Path=/; HttpOnly", fp("abc"))
        );
        assert_eq!(r.header("x-api-key", "k-123"), fp("k-123"));
        assert_eq!(r.header("content-type", "text/plain"), "text/plain");
        assert_eq!(
            Redactor::disabled().header("authorization", "Bearer x"),
            "Bearer x"
        );
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        let r = Redactor::default();
        for (name, value) in [
            ("authorization", "Bearer abc"),
            ("cookie", "a=1; b=2"),
            ("set-cookie", "a=1; Path=/"),
            ("x-api-key", "key"),
        ] {
            let once = r.header(name, value);
            assert_eq!(r.header(name, &once), once, "{name}");
        }
        let mut v = json!({"token": "t", "nested": {"password": ["a", 1]}, "url": "/x?token=abc"});
        r.value(&mut v);
        let once = v.clone();
        r.value(&mut v);
        assert_eq!(v, once);
    }

    #[test]
    fn json_keys_query_parameters_and_forms_are_redacted() {
        let r = Redactor::default();
        let mut v = json!({
            "target": "/login?user=ada&access_token=abc&x=1",
            "body": {"text": "username=alice&password=correct+horse&remember=true"},
            "json": {"token": "t0k", "api_key": 42, "ok": true, "secrets": {"a": "b"},
                     "matched": {"token": "<<any>>"}, "list": [{"password": "pw"}]},
            "frame": "{\"token\":\"in-text\"}"
        });
        r.value(&mut v);
        assert_eq!(
            v,
            json!({
                "target": format!("/login?user=ada&access_token={}&x=1", fp("abc")),
                "body": {"text": format!("username=alice&password={}&remember=true", fp("correct horse"))},
                "json": {"token": fp("t0k"), "api_key": fp("42"), "ok": true, "secrets": {"a": fp("b")},
                         "matched": {"token": "<<any>>"}, "list": [{"password": fp("pw")}]},
                "frame": format!("{{\"token\":\"{}\"}}", fp("in-text"))
            })
        );
    }

    #[test]
    fn a_mismatch_at_a_credential_keeps_both_sides_different() {
        let r = Redactor::default();
        let mut m = Mismatch::new(
            "/headers/authorization",
            json!("Bearer old-token"),
            json!("Bearer new-token"),
            "different string",
        );
        r.mismatch(&mut m);
        assert_eq!(m.expected, json!(format!("Bearer {}", fp("old-token"))));
        assert_eq!(m.actual, json!(format!("Bearer {}", fp("new-token"))));
        assert_ne!(m.expected, m.actual);

        let mut m = Mismatch::new("/body", json!({"a": 1}), json!({"a": 1, "token": "t"}), "x");
        r.mismatch(&mut m);
        assert_eq!(m.actual, json!({"a": 1, "token": fp("t")}));

        let mut m = Mismatch::new(
            "/body/api~1key",
            json!("<<present>>"),
            json!(null),
            "missing",
        );
        r.mismatch(&mut m);
        assert_eq!(m.expected, json!("<<present>>"));
    }

    #[test]
    fn snapshot_diffs_are_redacted_by_key_and_indentation() {
        let r = Redactor::default();
        let diff = "@@ -1,8 +1,8 @@\n   \"headers\": {\n-    \"authorization\": \"Bearer one\",\n+    \"authorization\": \"Bearer two\",\n     \"set-cookie\": [\n-      \"a=1; Path=/\",\n+      \"a=2; Path=/\"\n     ],\n     \"x\": \"plain\"\n   }\n";
        let out = r.diff_text(diff);
        for secret in ["one", "two", "a=1", "a=2"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains(&format!(
            "-    \"authorization\": \"Bearer {}\",",
            fp("one")
        )));
        assert!(out.contains(&format!("+      \"a={}; Path=/\"", fp("2"))));
        assert!(out.contains("     \"x\": \"plain\""));
        assert_eq!(r.diff_text(&out), out);
    }
}
