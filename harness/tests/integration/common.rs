//! What the end-to-end test modules share: the binary (colour off), a run of it bounded in time,
//! its output as text, the repository's root, its corpus fixtures as JSON, fixtures written
//! into a temp dir, and loopback servers on threads of their own.

use std::future::Future;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The harness binary this test build made, with `NO_COLOR` set.
pub fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_benchmark-harness"));
    command.env("NO_COLOR", "1");
    command
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The repository's root folder.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A corpus fixture's path (`fixtures/RELATIVE`).
pub fn corpus_file(relative: &str) -> PathBuf {
    repo().join("fixtures").join(relative)
}

/// A corpus fixture (`fixtures/RELATIVE`) as JSON, for a test to edit.
pub fn corpus_json(relative: &str) -> serde_json::Value {
    let path = corpus_file(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A file or folder of the outside server (`harness/tests/outside/RELATIVE`: its Python
/// server, the fixtures it passes, broken ones), as the text of a command-line argument.
pub fn outside(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/outside")
        .join(relative)
        .display()
        .to_string()
}

/// Runs the binary with `args`, killing it (and failing the test, with its stderr) if it is
/// still running after `bound`; returns its output and how long it took.
pub fn run_within<S: AsRef<str>>(args: &[S], bound: Duration) -> (Output, Duration) {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let started = Instant::now();
    let mut child = bin()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            let err = text(&stderr.join().unwrap());
            panic!(
                "`{}` still running after {bound:?}\nstderr: {err}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let output = Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    (output, took)
}

/// Writes fixtures (each as `NAME.json`, named by its `name`) into a new temp dir; returns the
/// dir and the files in order.
pub fn write_fixtures(list: &[serde_json::Value]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let files = list
        .iter()
        .map(|fixture| {
            let path = dir
                .path()
                .join(format!("{}.json", fixture["name"].as_str().unwrap()));
            std::fs::write(&path, serde_json::to_string_pretty(fixture).unwrap()).unwrap();
            path
        })
        .collect();
    (dir, files)
}

/// Runs `serve` on a loopback listener bound to a free port, on a thread of its own (with its
/// own runtime) for the rest of the test process; returns the listener's address.
pub fn serve_on_thread<F, Fut>(serve: F) -> SocketAddr
where
    F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            sender.send(listener.local_addr().unwrap()).unwrap();
            serve(listener).await;
        });
    });
    receiver.recv().unwrap()
}

/// The reference server run by the binary (`serve --port 0`), plain or with
/// `--tls-self-signed` (HTTP/1.1 and HTTP/2 either way), stopped when dropped.
pub struct Served {
    child: std::process::Child,
    /// Its base URL, as it printed it: `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub url: String,
    /// Where `--tls-self-signed` wrote `ca.pem`.
    dir: tempfile::TempDir,
    /// Kept open: the server may still write to it.
    _stdout: std::process::ChildStdout,
}

impl Served {
    /// Starts `serve` over the repository's fixtures, over TLS when `tls`; waits for its address.
    pub fn start(tls: bool) -> Served {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let mut command = bin();
        command.args(["serve", "--port", "0", "--fixtures"]);
        command.arg(repo().join("fixtures"));
        if tls {
            command.arg("--tls-self-signed").arg(dir.path());
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary runs");
        let stdout = child.stdout.take().unwrap();
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let url = line.trim_end().to_string();
        assert!(
            url.starts_with("http"),
            "an address on stdout, got {line:?}"
        );
        Served {
            child,
            url,
            dir,
            _stdout: reader.into_inner(),
        }
    }

    /// The CA certificate of a TLS server, as a command-line argument.
    pub fn ca(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts that a `protocol` suite document has the contract's fields (docs/contract.md, 5.6):
/// its own, a count per verdict, and every case's.
pub fn assert_suite_fields(document: &serde_json::Value) {
    for field in ["suite", "target", "cases", "summary"] {
        assert!(document.get(field).is_some(), "{field}");
    }
    for field in [
        "ok",
        "non_strict",
        "failed",
        "informational",
        "unimplemented",
    ] {
        assert!(document["summary"][field].is_u64(), "{field}");
    }
    for case in document["cases"].as_array().unwrap() {
        for field in [
            "id",
            "category",
            "description",
            "verdict",
            "expected",
            "observed",
            "duration_ms",
            "trace",
        ] {
            assert!(case.get(field).is_some(), "{field} in {case}");
        }
    }
}

/// The published JSON Schema `reports/schema/NAME` (e.g. `report.v1.schema.json`), compiled.
pub fn published_schema(name: &str) -> jsonschema::Validator {
    let file = repo().join("reports/schema").join(name);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

/// Asserts that `document` is valid against the published schema `name`; the failure lists every
/// error with its instance path.
pub fn assert_valid(name: &str, document: &serde_json::Value) {
    let errors: Vec<String> = published_schema(name)
        .iter_errors(document)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}");
}

/// A document's histogram (base64 HdrHistogram V2), read by the hdrhistogram crate itself.
pub fn decode(b64: &str) -> hdrhistogram::Histogram<u64> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64");
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .expect("an HdrHistogram V2 histogram")
}
