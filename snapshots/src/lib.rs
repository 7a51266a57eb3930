//! The snapshot gate of benchmark-harness.
//!
//! This folder holds the recorded transcripts of every fixture, per target
//! (`snapshots/<target>/<protocol>/<fixture>.snap`, insta's file format). It is a Cargo package
//! only so that `cargo insta review` finds pending `.snap.new` files here; the gate itself is
//! `tests/gate.rs`, which runs `benchmark-harness run --snapshots check` in-process.
