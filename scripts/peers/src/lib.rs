//! Shared argument handling for the peer binaries: `--name value` pairs, nothing else.
//!
//! The binaries themselves are deliberately minimal (a loop and a counter, no checking, no
//! histograms): they are the speed limit the harness's load engine is compared with.

use std::collections::HashMap;
use std::time::Duration;

/// `--name value` arguments.
pub struct Args(HashMap<String, String>);

impl Args {
    /// Parses `std::env::args()`; exits with `usage` on anything else.
    pub fn parse(usage: &str) -> Args {
        let mut map = HashMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(name) = args.next() {
            let (Some(name), Some(value)) = (name.strip_prefix("--"), args.next()) else {
                eprintln!("usage: {usage}");
                std::process::exit(2);
            };
            map.insert(name.to_string(), value);
        }
        Args(map)
    }

    /// The value of `--name`, or `default`.
    pub fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        match self.0.get(name) {
            None => default,
            Some(text) => text.parse().unwrap_or_else(|_| {
                eprintln!("--{name}: cannot read {text:?}");
                std::process::exit(2);
            }),
        }
    }

    /// The value of `--name`, required.
    pub fn need(&self, name: &str) -> String {
        self.0.get(name).cloned().unwrap_or_else(|| {
            eprintln!("--{name} is required");
            std::process::exit(2);
        })
    }

    /// `--name` in seconds (fractions allowed).
    pub fn secs(&self, name: &str, default: f64) -> Duration {
        Duration::from_secs_f64(self.get(name, default))
    }
}
