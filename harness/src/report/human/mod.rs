//! What people read on stdout (and `bench --format json` on stderr): each command's results as
//! lines and tables, coloured by a [`Style`](super::terminal::Style) when the stream is a
//! terminal.
//!
//! Text from the server (reasons, diffs, JSON keys in pointers) and from files (names, runner
//! errors) goes through [`escape_controls`](crate::humanize::escape_controls) first: it cannot
//! move the cursor, clear the screen or set the title.
//!
//! - [`run`]: one line per fixture, the diff of each failure, the summary line.
//! - [`matrix`]: each runner's failures, the grid of runners by protocol.
//! - [`compare`]: load and behaviour changes, the verdict.
//! - [`load`]: the summary of a `bench` or `stream` run.
//! - [`listing`]: `runners list`, `fixtures list` and `fixtures validate`.

pub mod compare;
pub mod listing;
pub mod load;
pub mod matrix;
pub mod protocol;
pub mod run;
