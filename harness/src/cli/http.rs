//! How the harness talks to a target: the TLS flags and `--http2` (global target flags, beside
//! `--url`), and `bench`'s own flags: the load flags plus `--streams`.

use std::path::PathBuf;

use clap::Args;

use super::LoadArgs;

/// TLS (`https://` and `wss://` URLs) and the HTTP version.
#[derive(Debug, Clone, Default, Args)]
pub struct TransportFlags {
    /// With an https:// or wss:// URL (run, bench, stream, matrix): trust the CA certificates
    /// in this PEM file too, beside the built-in web roots.
    #[arg(long, global = true, value_name = "FILE", requires = "url")]
    pub cacert: Option<PathBuf>,

    /// With an https:// or wss:// URL (run, bench, stream, matrix): accept any server
    /// certificate (warns once).
    #[arg(long, global = true, requires = "url")]
    pub insecure: bool,

    /// With an https:// or wss:// URL (run, bench, stream, matrix): the client's PEM
    /// certificate chain for mutual TLS (with --client-key).
    #[arg(long, global = true, value_name = "FILE", requires_all = ["url", "client_key"])]
    pub client_cert: Option<PathBuf>,

    /// The PEM private key of --client-cert.
    #[arg(long, global = true, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,

    /// Speak HTTP/2 (run, bench, matrix): with prior knowledge (h2c) to http:// targets, by
    /// ALPN `h2` over TLS to https:// ones; a server that does not agree is exit 3. WebSocket
    /// fixtures keep the HTTP/1.1 upgrade. matrix: runners that declare `h2c` (with --tls:
    /// `http2`), and the --url column.
    #[arg(long, global = true)]
    pub http2: bool,
}

/// `bench`: load on one REST fixture.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 no errors (or within --max-error-rate); 1 errors above it; \
    2 usage or fixture error; 3 target unreachable (or, with --http2, not speaking HTTP/2).\n\n\
    Examples:\n  \
    benchmark-harness bench --fixture fixtures/rest/bench/hello.json --duration 10s\n  \
    benchmark-harness bench --fixture fixtures/rest/bench/hello.json --rate 20000 --output result.json --hlog result.hlog\n  \
    benchmark-harness bench --http2 --streams 10 --connections 4 --fixture fixtures/rest/bench/hello.json"
)]
pub struct BenchArgs {
    /// The load.
    #[command(flatten)]
    pub load: LoadArgs,

    /// With --http2: requests in flight on each connection (concurrent streams, as h2load -m).
    /// Closed loop keeps them all busy; open loop starts each scheduled request on a free one.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub streams: u16,
}
