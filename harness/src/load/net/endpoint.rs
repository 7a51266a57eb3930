//! Where load goes: a target's base URL resolved once into the address connections open to,
//! the `Host` header and request targets ([`Endpoint`]); the one place a connection opens
//! ([`Endpoint::connect`]: TCP without delay, then TLS for an `https://` base, every connection
//! of the run sharing one rustls client configuration and so its session cache); request
//! header names and values from a fixture.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyper::Uri;
use hyper::header::{HeaderName, HeaderValue};
use rustls::pki_types::ServerName;
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use url::Url;

use crate::load::recorder::ErrorKind;
use crate::load::source::SourceAddrs;
use crate::load::worker::{LoadError, Unloadable, Unresolved};
use crate::wire::tls::{TlsSettings, tls_failure};
use crate::wire::transport::{Stream, is_tls};

/// Where requests go: the resolved address, the Host header and the URL's base.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// The socket address connections open to.
    pub(crate) addr: SocketAddr,
    /// The Host header.
    pub(crate) host: HeaderValue,
    base: Url,
    /// TLS, for an `https://` base.
    tls: Option<Secure>,
    /// `--source-addr`: local addresses connections are bound to in turn (none: the system's
    /// choice), and the turn, shared by every clone.
    sources: Arc<[IpAddr]>,
    turn: Arc<AtomicUsize>,
}

/// How a TLS connection opens: the run's one client configuration, the server's name.
#[derive(Clone)]
struct Secure {
    connector: TlsConnector,
    name: ServerName<'static>,
}

impl std::fmt::Debug for Secure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secure").field("name", &self.name).finish()
    }
}

impl Endpoint {
    /// Resolves the target's base URL; an `https://` (or `wss://`) base is loaded over TLS
    /// with `tls` (its ALPN offer included); connections are bound to `sources` in turn (of the
    /// target's family, else the run is refused).
    pub(crate) async fn resolve(
        base: &Url,
        tls: &TlsSettings,
        sources: &SourceAddrs,
    ) -> Result<Endpoint, LoadError> {
        let unreachable = |reason: Unresolved| LoadError::Unreachable {
            base: base.clone(),
            reason,
        };
        let host = base
            .host_str()
            .ok_or_else(|| unreachable(Unresolved::NoHost))?;
        let port = base
            .port_or_known_default()
            .ok_or_else(|| unreachable(Unresolved::NoPort))?;
        let addr = tokio::net::lookup_host((host, port))
            .await
            .map_err(|source| {
                unreachable(Unresolved::Resolve {
                    host: host.to_string(),
                    source,
                })
            })?
            .next()
            .ok_or_else(|| {
                unreachable(Unresolved::NoAddress {
                    host: host.to_string(),
                })
            })?;
        let secure = if is_tls(base.scheme()) {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let name = ServerName::try_from(bare.to_string())
                .map_err(|_| unreachable(Unresolved::NoTlsName))?;
            Some(Secure {
                connector: tls.connector(),
                name,
            })
        } else {
            None
        };
        let authority = match base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let host = HeaderValue::from_str(&authority).map_err(|source| Unloadable::Host {
            authority: authority.clone(),
            source,
        })?;
        if let Some(source) = sources.0.iter().find(|s| s.is_ipv4() != addr.is_ipv4()) {
            return Err(Unloadable::SourceFamily {
                address: *source,
                target: addr,
            }
            .into());
        }
        Ok(Endpoint {
            addr,
            host,
            base: base.clone(),
            tls: secure,
            sources: sources.0.clone().into(),
            turn: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Whether connections open over TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The URL's scheme and authority, as HTTP/2 requests carry them.
    pub(crate) fn scheme(&self) -> &str {
        if self.is_tls() { "https" } else { "http" }
    }

    /// The URL of `path` (which may carry a query) with `query` pairs appended, as the driver
    /// builds it.
    pub(crate) fn url(&self, path: &str, query: &[(String, String)]) -> Result<Url, LoadError> {
        let base = self.base.as_str().trim_end_matches('/');
        let mut url = Url::parse(&format!("{base}{path}")).map_err(|source| Unloadable::Url {
            path: path.to_string(),
            source,
        })?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// The request target (path and query) of `path` and `query`.
    pub(crate) fn target(&self, path: &str, query: &[(String, String)]) -> Result<Uri, LoadError> {
        let url = self.url(path, query)?;
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        target.parse().map_err(|source| {
            LoadError::Fixture(Unloadable::RequestTarget {
                target: target.clone(),
                source,
            })
        })
    }
}

impl Endpoint {
    /// Opens a connection to the target: the transport every protocol's load goes over (TCP,
    /// and TLS over it for an `https://` base). A failed TLS handshake is an error kind in
    /// words (`the server's certificate is not accepted: ...`, `TLS failed: ...`).
    pub(crate) async fn connect(&self) -> Result<Stream, ErrorKind> {
        let tcp = self.tcp().await.map_err(|e| ErrorKind::of_io(&e))?;
        tcp.set_nodelay(true).ok();
        let Some(secure) = &self.tls else {
            return Ok(Stream::Plain(tcp));
        };
        match secure.connector.connect(secure.name.clone(), tcp).await {
            Ok(tls) => Ok(Stream::Tls(Box::new(tls))),
            Err(e) => Err(tls_failure(&e).map_or_else(|| ErrorKind::of_io(&e), ErrorKind::Other)),
        }
    }
}

impl Endpoint {
    /// A TCP connection to the target, from the next source address when there are some.
    async fn tcp(&self) -> std::io::Result<TcpStream> {
        if self.sources.is_empty() {
            return TcpStream::connect(self.addr).await;
        }
        let turn = self.turn.fetch_add(1, Ordering::Relaxed);
        let source = self.sources[turn % self.sources.len()];
        let socket = if source.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        no_port_at_bind(&socket);
        socket.bind(SocketAddr::new(source, 0))?;
        socket.connect(self.addr).await
    }
}

/// Lets the kernel pick the local port at connect time rather than at bind time (Linux's
/// `IP_BIND_ADDRESS_NO_PORT`): a port is then unique per source and destination, not per source
/// alone. Elsewhere, or when refused, the port is picked at bind time.
fn no_port_at_bind(socket: &TcpSocket) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let on: libc::c_int = 1;
        // SAFETY: setsockopt reads `on` (a c_int, its size given) on a socket this owns.
        unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_BIND_ADDRESS_NO_PORT,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = socket;
}

/// A request header name from a fixture.
pub(crate) fn header_name(name: &str) -> Result<HeaderName, LoadError> {
    HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|source| {
        LoadError::Fixture(Unloadable::HeaderName {
            name: name.to_string(),
            source,
        })
    })
}

/// A request header value from a fixture.
pub(crate) fn header_value(name: &str, value: &str) -> Result<HeaderValue, LoadError> {
    HeaderValue::from_str(value).map_err(|source| {
        LoadError::Fixture(Unloadable::HeaderValue {
            name: name.to_string(),
            source,
        })
    })
}
