//! Replay: a fixture becomes a plan ([`plan`]: which fixtures, against what), each is replayed
//! over real sockets by a [`driver`] into a transcript, and [`conformance`] runs one fixture
//! through driver, check and snapshot.

pub mod conformance;
pub mod driver;
pub mod plan;
