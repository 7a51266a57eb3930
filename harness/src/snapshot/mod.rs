//! Snapshots: the normalized transcript of every fixture, per target, in insta's file format;
//! the only writer of snapshot files.
//!
//! Files live at `<snapshots>/<target>/<protocol>/<fixture>.snap` ([`store`]). A transcript is
//! normalized first ([`normalize`]: timings dropped, volatile values such as dates, UUIDs,
//! ports and handshake keys replaced by tokens, [`volatile`]), then its credentials are
//! redacted ([`redact`]: fingerprints stand for their values), then it is compared with the
//! stored file or written beside it as `<fixture>.snap.new`, which `cargo insta review` (run
//! in the workspace: `snapshots/` is a package for that reason) accepts or rejects.
//!
//! Files are written atomically through a temporary file (`.bh-tmp-*`) that a signal's cleanup
//! removes: an interrupted write leaves the old file or the new one, never a part.

pub mod normalize;
pub mod redact;
mod scenario;
pub mod store;
pub mod volatile;
mod ws_steps;

pub use store::{SnapshotMode, SnapshotStore};
