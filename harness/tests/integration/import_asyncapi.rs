//! `fixtures import asyncapi` through the binary: a YAML document written here becomes fixtures
//! that validate, the account lists the to-dos, and the imported SSE and WebSocket fixtures replay
//! against the embedded reference (their handlers serve the document's examples).

use std::process::Output;

use serde_json::Value;

use crate::common::{bin, text};

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

const DOCUMENT: &str = r##"
asyncapi: 3.0.0
info: {title: Ticker, version: 1.0.0}
servers:
  web: {host: "localhost:8080", protocol: http}
  socket: {host: "localhost:8081", protocol: ws}
channels:
  prices:
    address: /prices/{symbol}
    servers: [{$ref: "#/servers/web"}]
    parameters:
      symbol: {examples: [ACME]}
    messages:
      price:
        contentType: text/event-stream
        payload: {$ref: "#/components/schemas/Price"}
        examples: [{payload: {symbol: ACME, value: 12.5, note: null}}]
  orders:
    address: /orders
    servers: [{$ref: "#/servers/socket"}]
    messages:
      order:
        payload: {type: object, required: [qty], properties: {qty: {type: integer, minimum: 1}}}
        examples: [{payload: {qty: 2}}]
      welcome:
        payload: {type: object, required: [hello]}
        examples: [{payload: {hello: trader}}]
operations:
  placeOrder:
    action: send
    channel: {$ref: "#/channels/orders"}
    messages: [{$ref: "#/channels/orders/messages/order"}]
  greet:
    action: receive
    channel: {$ref: "#/channels/orders"}
    messages: [{$ref: "#/channels/orders/messages/welcome"}]
components:
  schemas:
    Price:
      type: object
      required: [symbol, value]
      properties:
        symbol: {type: string}
        value: {type: number}
        note: {type: string, nullable: true}
"##;

#[test]
fn a_document_becomes_fixtures_that_validate_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ticker.asyncapi.yaml");
    std::fs::write(&file, DOCUMENT).unwrap();
    let out = dir.path().join("out");
    let done = run(&[
        "fixtures",
        "import",
        "asyncapi",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    let report: Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(report["format"], "asyncapi");
    assert_eq!(report["summary"]["converted"], 3);
    assert_eq!(report["summary"]["with_handler"], 3);
    let review: Vec<&str> = report["to_review"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["reason"].as_str().unwrap())
        .collect();
    assert_eq!(review, ["no-operations", "server-push-trigger"]);

    let prices: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sse/prices/prices.json")).unwrap())
            .unwrap();
    assert_eq!(prices["request"]["path"], "/prices/ACME");
    assert_eq!(
        prices["expected"]["events"][0]["json_schema"]["properties"]["note"]["type"],
        serde_json::json!(["string", "null"])
    );
    let account = std::fs::read_to_string(out.join("IMPORT.md")).unwrap();
    assert!(
        account.contains("### `server-push-trigger` (1)"),
        "{account}"
    );

    let valid = run(&["fixtures", "validate", out.to_str().unwrap()]);
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid.stderr));
    let replay = run(&[
        "run",
        "--snapshots",
        "off",
        "--fixtures",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        replay.status.code(),
        Some(0),
        "{}{}",
        text(&replay.stdout),
        text(&replay.stderr)
    );
    assert!(
        text(&replay.stdout).contains("3 passed"),
        "{}",
        text(&replay.stdout)
    );
}

#[test]
fn a_broken_document_is_exit_2_with_its_place_and_a_bad_param_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.yaml");
    std::fs::write(&file, "asyncapi: 3.0.0\nchannels: {a: [\n").unwrap();
    let out = dir.path().join("out");
    let args = |extra: &[&str]| {
        let mut args = vec![
            "fixtures",
            "import",
            "asyncapi",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        run(&args)
    };
    let broken = args(&[]);
    assert_eq!(broken.status.code(), Some(2));
    let said = text(&broken.stderr);
    assert!(
        said.contains("broken.yaml: malformed YAML") && said.contains("line"),
        "{said}"
    );
    let bad_param = args(&["--param", "novalue"]);
    assert_eq!(bad_param.status.code(), Some(2));
    assert!(
        text(&bad_param.stderr).contains("is not NAME=VALUE"),
        "{}",
        text(&bad_param.stderr)
    );
}
