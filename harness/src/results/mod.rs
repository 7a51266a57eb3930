//! Results as data: what a replay (`run`, `matrix`) and a load run (`bench`, `stream`) found,
//! in the shapes their JSON documents have (docs/contract.md, section 5). No I/O and no
//! rendering here: the replay and load layers fill these, `report/` renders them, `compare/`
//! reads them back.

pub mod diff;
pub mod hdr;
pub mod load;
pub mod matrix;
pub mod merge;
pub mod protocol;
pub mod run;
pub mod snapshot;
pub mod target;
pub mod transcript;

pub use diff::Mismatch;
pub use run::{BodyArrivals, FixtureResult, Interrupted, Outcome, RunReport};
pub use snapshot::{SnapshotOutcome, SnapshotStatus};
pub use target::{TargetInfo, TargetKind};
