//! Errors of building the app from fixtures and of starting the server.

use std::net::SocketAddr;
use std::path::PathBuf;

/// A fixture's handler cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// One handler is unusable (bad route, schema, header, status, ...).
    #[error("{}#{pointer}: {message}", file.display())]
    Handler {
        /// The fixture file holding the handler.
        file: PathBuf,
        /// JSON pointer of the offending node in that file.
        pointer: String,
        /// What is wrong.
        message: String,
    },
    /// Two handlers claim the same route (or routes the router cannot tell apart).
    #[error(
        "{}: route {route:?} conflicts with {other_route:?} of {}: {message}",
        file.display(),
        other_file.display()
    )]
    Conflict {
        /// The fixture registered second.
        file: PathBuf,
        /// Its route.
        route: String,
        /// The fixture registered first.
        other_file: PathBuf,
        /// Its route.
        other_route: String,
        /// Why they conflict.
        message: String,
    },
}

impl BuildError {
    pub(crate) fn handler(
        file: impl Into<PathBuf>,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        BuildError::Handler {
            file: file.into(),
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// The server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A handler cannot be served.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
