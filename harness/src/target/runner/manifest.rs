//! `runner.toml`: how to set up, start, probe and stop one app under test (docs/contract.md, section 4).

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness_fixture::Protocol;
use serde::Deserialize;

/// How the harness knows the app is serving.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    /// Poll this path with GET until it answers 2xx.
    pub http: Option<String>,
    /// Poll until the port accepts a TCP connection.
    #[serde(default)]
    pub tcp: bool,
}

/// A transport beyond plain HTTP/1.1 that an app serves (`capabilities` in `runner.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// HTTPS (and WSS) on `PORT` when started with `TLS_CERT_FILE` and `TLS_KEY_FILE`.
    Tls,
    /// HTTP/2 over TLS, negotiated with ALPN `h2` (needs `tls`).
    Http2,
    /// HTTP/2 with prior knowledge (h2c) on the plain port, beside HTTP/1.1.
    H2c,
}

impl Capability {
    /// The name as written in `runner.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Tls => "tls",
            Capability::Http2 => "http2",
            Capability::H2c => "h2c",
        }
    }
}

/// A parsed `runner.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Runner name (the folder's name by convention).
    pub name: String,
    /// Language of the app.
    pub language: String,
    /// Framework of the app.
    pub framework: String,
    /// Protocols the app serves.
    pub protocols: Vec<Protocol>,
    /// Shell commands run in the runner's folder to install and build it.
    #[serde(default)]
    pub setup: Vec<String>,
    /// The command that starts the app (argv, run in the runner's folder).
    pub start: Vec<String>,
    /// Readiness probe.
    pub ready: Ready,
    /// Signal that asks the app to stop (default SIGTERM).
    #[serde(default = "default_stop_signal")]
    pub stop_signal: String,
    /// Extra: environment variables for the app.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// Extra: fixtures this app is known not to honour (reported, but not failing the run).
    #[serde(default)]
    pub expected_failures: Vec<String>,
    /// Extra: transports beyond plain HTTP/1.1 the app serves (`tls`, `http2`, `h2c`).
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// Extra: how long the app may take to become ready (default 60 s).
    #[serde(default, with = "humantime_serde_opt")]
    pub start_timeout: Option<Duration>,
    /// Extra: the endpoints the protocol suites test (`protocol websocket|sse --runner NAME`
    /// without `--path`).
    #[serde(default)]
    pub protocol_paths: ProtocolPaths,
    /// Extra: protocol suite cases the app's framework is known to fail (`matrix
    /// --protocol-suites`, `protocol --runner`): reported, but not failing the run.
    #[serde(default)]
    pub expected_protocol_failures: ExpectedProtocolFailures,
}

/// `[protocol_paths]`: the endpoints `protocol websocket|sse` test by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolPaths {
    /// An echo endpoint (text echoed as text, binary as binary): `/ws/bench/echo`.
    pub websocket: Option<String>,
    /// An event stream.
    pub sse: Option<String>,
}

/// `[expected_protocol_failures]`: per suite, case ids (`6.4.1`) or groups of them (an entry
/// ending in `.`, `6.4.` for every case under 6.4) the framework is known to fail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedProtocolFailures {
    /// Cases of the WebSocket suite.
    #[serde(default)]
    pub websocket: Vec<String>,
    /// Cases of the SSE suite.
    #[serde(default)]
    pub sse: Vec<String>,
}

impl ExpectedProtocolFailures {
    /// Whether case `id` of `suite` (`websocket`, `sse`) is listed, by its id or a group.
    pub fn lists(&self, suite: &str, id: &str) -> bool {
        let entries = match suite {
            "websocket" => &self.websocket,
            "sse" => &self.sse,
            _ => return false,
        };
        entries
            .iter()
            .any(|e| e == id || (e.ends_with('.') && id.starts_with(e.as_str())))
    }

    /// The first entry that is not a case id or a group (`6.4.1`, `6.4.`), with its suite.
    fn malformed(&self) -> Option<(&'static str, &str)> {
        let well_formed = |entry: &str| {
            let id = entry.strip_suffix('.').unwrap_or(entry);
            !id.is_empty()
                && id
                    .split('.')
                    .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        };
        let websocket = self.websocket.iter().map(|e| ("websocket", e.as_str()));
        let sse = self.sse.iter().map(|e| ("sse", e.as_str()));
        websocket.chain(sse).find(|(_, entry)| !well_formed(entry))
    }
}

fn default_stop_signal() -> String {
    "SIGTERM".into()
}

mod humantime_serde_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| humantime::parse_duration(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// A runner: its folder and manifest.
#[derive(Debug, Clone)]
pub struct Runner {
    /// `runners/NAME/`, absolute.
    pub dir: PathBuf,
    /// The manifest.
    pub manifest: Manifest,
}

/// A `runner.toml` that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", file.display())]
pub struct ManifestError {
    /// The manifest file.
    pub file: PathBuf,
    /// What is wrong, with the key where TOML says it.
    pub message: String,
}

impl From<ManifestError> for crate::error::HarnessError {
    fn from(error: ManifestError) -> Self {
        crate::error::HarnessError::Runners(Box::new(error))
    }
}

/// Parses a manifest's text; `file` is for errors.
pub fn parse(file: &Path, text: &str) -> Result<Manifest, ManifestError> {
    let error = |message: String| ManifestError {
        file: file.to_path_buf(),
        message,
    };
    let manifest: Manifest =
        toml::from_str(text).map_err(|e| error(e.to_string().trim_end().to_string()))?;
    if let Err(message) = harness_fixture::model::check_name(&manifest.name) {
        return Err(error(format!("name: {message}")));
    }
    if manifest.start.is_empty() {
        return Err(error("start: the command is empty".into()));
    }
    if manifest.protocols.is_empty() {
        return Err(error(
            "protocols: declare at least one of rest, websocket, sse, broadcast".into(),
        ));
    }
    match (&manifest.ready.http, manifest.ready.tcp) {
        (Some(path), false) if path.starts_with('/') => {}
        (Some(_), false) => return Err(error("ready.http: the path must start with '/'".into())),
        (None, true) => {}
        _ => {
            return Err(error(
                "ready: give exactly one of { http = \"/path\" } or { tcp = true }".into(),
            ));
        }
    }
    for (suite, path) in [
        ("websocket", &manifest.protocol_paths.websocket),
        ("sse", &manifest.protocol_paths.sse),
    ] {
        if let Some(path) = path
            && !path.starts_with('/')
        {
            return Err(error(format!(
                "protocol_paths.{suite}: the path must start with '/'"
            )));
        }
    }
    if let Some((suite, entry)) = manifest.expected_protocol_failures.malformed() {
        return Err(error(format!(
            "expected_protocol_failures.{suite}: {entry:?} is not a case id (`6.4.1`) or a group of cases (`6.4.`)"
        )));
    }
    if manifest.capabilities.contains(&Capability::Http2)
        && !manifest.capabilities.contains(&Capability::Tls)
    {
        return Err(error(
            "capabilities: http2 is HTTP/2 over TLS: declare tls too (h2c is HTTP/2 without TLS)"
                .into(),
        ));
    }
    if crate::target::supervise::signal_number(&manifest.stop_signal).is_none() {
        return Err(error(format!(
            "stop_signal: unknown signal {:?}",
            manifest.stop_signal
        )));
    }
    Ok(manifest)
}

/// Loads `dir/runner.toml`.
pub fn load(dir: &Path) -> Result<Runner, ManifestError> {
    let file = dir.join("runner.toml");
    let text = std::fs::read_to_string(&file).map_err(|e| ManifestError {
        file: file.clone(),
        message: format!("cannot read: {e}"),
    })?;
    let manifest = parse(&file, &text)?;
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    Ok(Runner { dir, manifest })
}

/// Every runner under `root` (one folder each), sorted by name.
pub fn discover(root: &Path) -> Result<Vec<Runner>, ManifestError> {
    let entries = std::fs::read_dir(root).map_err(|e| ManifestError {
        file: root.to_path_buf(),
        message: format!("cannot list runners: {e}"),
    })?;
    let mut runners = Vec::new();
    for entry in entries.flatten() {
        if entry.path().join("runner.toml").is_file() {
            runners.push(load(&entry.path())?);
        }
    }
    runners.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
    Ok(runners)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "python-fastapi"
language = "python"
framework = "fastapi"
protocols = ["rest", "websocket", "sse"]
setup = ["python3 -m venv .venv"]
start = [".venv/bin/python", "app.py"]
ready = { http = "/__ready" }
stop_signal = "SIGTERM"
"#;

    #[test]
    fn parses_the_spec_example() {
        let m = parse(Path::new("runner.toml"), GOOD).unwrap();
        assert_eq!(
            m.protocols,
            vec![Protocol::Rest, Protocol::WebSocket, Protocol::Sse]
        );
        assert_eq!(m.ready.http.as_deref(), Some("/__ready"));
        assert_eq!(m.start_timeout, None);
        assert!(m.capabilities.is_empty());
        let m = parse(
            Path::new("runner.toml"),
            &format!("{GOOD}capabilities = [\"tls\", \"http2\", \"h2c\"]\n"),
        )
        .unwrap();
        assert_eq!(
            m.capabilities,
            vec![Capability::Tls, Capability::Http2, Capability::H2c]
        );
    }

    #[test]
    fn protocol_paths_are_optional_and_checked() {
        let m = parse(Path::new("runner.toml"), GOOD).unwrap();
        assert_eq!(m.protocol_paths, ProtocolPaths::default());
        let with = format!("{GOOD}[protocol_paths]\nwebsocket = \"/ws/bench/echo\"\n");
        let m = parse(Path::new("runner.toml"), &with).unwrap();
        assert_eq!(
            m.protocol_paths.websocket.as_deref(),
            Some("/ws/bench/echo")
        );
        assert_eq!(m.protocol_paths.sse, None);
        let typo = format!("{GOOD}[protocol_paths]\nwebsockets = \"/ws\"\n");
        let e = parse(Path::new("runner.toml"), &typo).unwrap_err();
        assert!(e.message.contains("websockets"), "{}", e.message);
    }

    #[test]
    fn an_sse_path_must_be_a_path() {
        let m = parse(
            Path::new("runner.toml"),
            &format!("{GOOD}[protocol_paths]\nsse = \"/events\"\n"),
        )
        .unwrap();
        assert_eq!(m.protocol_paths.sse.as_deref(), Some("/events"));
        let text = format!("{GOOD}[protocol_paths]\nsse = \"events\"\n");
        let e = parse(Path::new("r.toml"), &text).unwrap_err().to_string();
        assert!(e.contains("protocol_paths.sse"), "{e}");
    }

    #[test]
    fn expected_protocol_failures_list_cases_and_groups_and_are_checked() {
        let m = parse(Path::new("runner.toml"), GOOD).unwrap();
        assert!(!m.expected_protocol_failures.lists("websocket", "1.1.1"));
        let text = format!(
            "{GOOD}[expected_protocol_failures]\nwebsocket = [\"6.4.\", \"1.1.2\"]\nsse = [\"4.3\"]\n"
        );
        let listed = parse(Path::new("runner.toml"), &text)
            .unwrap()
            .expected_protocol_failures;
        assert!(listed.lists("websocket", "6.4.1"));
        assert!(listed.lists("websocket", "6.4.12"));
        assert!(
            !listed.lists("websocket", "6.41.1"),
            "a group ends at its dot"
        );
        assert!(listed.lists("websocket", "1.1.2"));
        assert!(!listed.lists("websocket", "1.1.20"), "an id is exact");
        assert!(!listed.lists("sse", "1.1.2"), "per suite");
        assert!(listed.lists("sse", "4.3"));
        for bad in ["\"6.x\"", "\"\"", "\".\"", "\"6..1\""] {
            let text = format!("{GOOD}[expected_protocol_failures]\nsse = [{bad}]\n");
            let e = parse(Path::new("r.toml"), &text).unwrap_err().to_string();
            assert!(e.contains("expected_protocol_failures.sse"), "{bad}: {e}");
        }
        let text = format!("{GOOD}[protocol_paths]\nwebsocket = \"ws\"\n");
        let e = parse(Path::new("r.toml"), &text).unwrap_err().to_string();
        assert!(e.contains("protocol_paths.websocket"), "{e}");
    }

    #[test]
    fn errors_name_the_file_and_key() {
        let bad = GOOD.replace("\"sse\"]", "\"gopher\"]");
        let e = parse(Path::new("runners/x/runner.toml"), &bad)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("runners/x/runner.toml: "), "{e}");
        assert!(e.contains("protocols"), "{e}");
        let bad = GOOD.replace(
            "ready = { http = \"/__ready\" }",
            "ready = { http = \"/r\", tcp = true }",
        );
        assert!(
            parse(Path::new("r.toml"), &bad)
                .unwrap_err()
                .to_string()
                .contains("exactly one")
        );
        let bad = GOOD.replace("SIGTERM", "SIGNOPE");
        assert!(
            parse(Path::new("r.toml"), &bad)
                .unwrap_err()
                .to_string()
                .contains("unknown signal")
        );
        let bad = format!("{GOOD}capabilities = [\"http2\"]\n");
        assert!(
            parse(Path::new("r.toml"), &bad)
                .unwrap_err()
                .to_string()
                .contains("declare tls too")
        );
        let bad = format!("{GOOD}capabilities = [\"quic\"]\n");
        assert!(
            parse(Path::new("r.toml"), &bad)
                .unwrap_err()
                .to_string()
                .contains("capabilities")
        );
        let bad = GOOD.replace("stop_signal", "stop_sgnal");
        assert!(
            parse(Path::new("r.toml"), &bad)
                .unwrap_err()
                .to_string()
                .contains("stop_sgnal")
        );
    }
}
