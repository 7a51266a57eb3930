//! Values that differ on every run, replaced by a stable token before a transcript is compared
//! or written: UUIDs, dates, local addresses inside text, numbers under time-like keys.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

fn volatile_key() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)(^|_)(ts|timestamp|time|now|elapsed|duration)(_|$)").unwrap()
    })
}

fn patterns() -> &'static [(Regex, &'static str)] {
    static RES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    RES.get_or_init(|| {
        vec![
            (Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b").unwrap(), "[uuid]"),
            (Regex::new(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?").unwrap(), "[datetime]"),
            (Regex::new(r"\b(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+").unwrap(), "[addr]"),
            (Regex::new(r"(?i)\b(mon|tue|wed|thu|fri|sat|sun), \d{2} [a-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT").unwrap(), "[http-date]"),
        ]
    })
}

/// Replaces UUIDs, dates and local addresses inside a text.
pub fn redact_text(text: &str) -> String {
    let mut out = text.to_string();
    for (re, replacement) in patterns() {
        if re.is_match(&out) {
            out = re.replace_all(&out, *replacement).into_owned();
        }
    }
    out
}

/// Redacts strings everywhere and numbers under time-like keys (`ts_us`, `timestamp`, ...).
pub fn redact_value(value: &mut Value, key: Option<&str>) {
    match value {
        Value::String(s) => *s = redact_text(s),
        Value::Number(_) if key.is_some_and(|k| volatile_key().is_match(k)) => {
            *value = "[timestamp]".into()
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, key)),
        Value::Object(map) => map.iter_mut().for_each(|(k, v)| redact_value(v, Some(k))),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_volatile_values() {
        let mut v = json!({"id": "67e55044-10b1-426f-9247-bb680e5fe0c8", "at": "2026-11-23T21:00:00Z",
                           "ts_us": 1763931600000000u64, "n": 3, "url": "http://127.0.0.1:41234/x"});
        redact_value(&mut v, None);
        assert_eq!(
            v,
            json!({"id": "[uuid]", "at": "[datetime]", "ts_us": "[timestamp]", "n": 3, "url": "http://[addr]/x"})
        );
    }
}
