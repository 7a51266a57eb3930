//! How a REST scenario's requests show in a snapshot: values captured from earlier replies
//! (which may differ on every run) are written back as the `{{NAME}}` the fixture wrote where
//! they were substituted.

use harness_fixture::capture::{self, Bindings};
use harness_fixture::model::ScenarioStep;
use serde_json::Value;

/// The names `step`'s request substitutes (`{{NAME}}` in its path, query, headers, cookies and
/// body), with their values: those to write back in its snapshot.
pub(super) fn substituted<'a>(
    step: &ScenarioStep,
    captures: &'a Bindings,
) -> Vec<(String, &'a Value)> {
    let request = request_parts(step);
    let mut names = Vec::new();
    collect_uses(&request, &mut names);
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| captures.get(&name).map(|value| (name, value)))
        .collect()
}

/// Replaces, in every string of `view` (a normalized request), the text of each substituted
/// value by its `{{NAME}}`, longest values first (so that a value inside another is not
/// replaced first).
pub(super) fn write_back(view: &mut Value, substituted: &[(String, &Value)]) {
    let mut pairs: Vec<(String, String)> = substituted
        .iter()
        .map(|(name, value)| (capture::text_of(value), format!("{{{{{name}}}}}")))
        .filter(|(text, _)| !text.is_empty())
        .collect();
    pairs.sort_by_key(|(text, _)| std::cmp::Reverse(text.len()));
    replace_in(view, &pairs);
}

fn replace_in(view: &mut Value, pairs: &[(String, String)]) {
    match view {
        Value::String(text) => {
            for (from, to) in pairs {
                if text.contains(from.as_str()) {
                    *text = text.replace(from.as_str(), to);
                }
            }
        }
        // A number substituted whole (`"{{n}}"` into a JSON body) shows as its placeholder.
        Value::Number(_) => {
            let text = view.to_string();
            if let Some((_, to)) = pairs.iter().find(|(from, _)| *from == text) {
                *view = Value::String(to.clone());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| replace_in(v, pairs)),
        Value::Object(map) => map.values_mut().for_each(|v| replace_in(v, pairs)),
        _ => {}
    }
}

fn collect_uses(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.extend(capture::uses(text).into_iter().map(String::from)),
        Value::Array(items) => items.iter().for_each(|v| collect_uses(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_uses(v, out)),
        _ => {}
    }
}

/// The parts of a step's request that may hold placeholders, as one JSON value.
fn request_parts(step: &ScenarioStep) -> Value {
    use harness_fixture::model::RequestBody;
    let request = &step.request;
    let body = match request.body() {
        RequestBody::Json(v) => v.clone(),
        RequestBody::Text(t) => Value::from(t),
        RequestBody::Form(p) => Value::Object(p.0.clone().into_iter().collect()),
        _ => Value::Null,
    };
    serde_json::json!({
        "path": request.path,
        "query": Value::Object(request.query.0.clone().into_iter().collect()),
        "headers": request.headers,
        "cookies": request.cookies,
        "body": body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substituted_values_are_written_back_as_their_placeholders() {
        let step: ScenarioStep = serde_json::from_value(json!({
            "request": {"method": "POST", "path": "/things/{{id}}", "headers": {"authorization": "Bearer {{token}}"},
                        "json": {"qty": "{{qty}}", "note": "for {{id}}"}},
            "expected": {"status": 200}
        }))
        .unwrap();
        let captures: Bindings = [
            ("id".to_string(), json!("thing-42")),
            ("token".to_string(), json!("tok-9")),
            ("qty".to_string(), json!(3)),
            ("unused".to_string(), json!("zzz")),
        ]
        .into_iter()
        .collect();
        let substituted = substituted(&step, &captures);
        let names: Vec<&str> = substituted.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["id", "qty", "token"]);
        let mut view = json!({
            "target": "/things/thing-42",
            "headers": {"authorization": "Bearer tok-9"},
            "body": {"json": {"qty": 3, "note": "for thing-42", "other": "zzz"}}
        });
        write_back(&mut view, &substituted);
        assert_eq!(
            view,
            json!({
                "target": "/things/{{id}}",
                "headers": {"authorization": "Bearer {{token}}"},
                "body": {"json": {"qty": "{{qty}}", "note": "for {{id}}", "other": "zzz"}}
            })
        );
    }
}
