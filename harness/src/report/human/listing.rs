//! The human listings: `runners list` (a table) and `fixtures list` / `fixtures validate`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use harness_fixture::{Fixture, Protocol};

/// One runner as `runners list` shows it.
#[derive(Debug, Clone, Copy)]
pub struct RunnerRow<'a> {
    /// Runner name.
    pub name: &'a str,
    /// Language.
    pub language: &'a str,
    /// Framework.
    pub framework: &'a str,
    /// Declared protocols.
    pub protocols: &'a [Protocol],
    /// The reference server this binary embeds.
    pub built_in: bool,
    /// Its setup has run.
    pub set_up: bool,
}

/// Writes the table of runners.
pub fn write_runners(out: &mut dyn Write, rows: &[RunnerRow<'_>]) -> io::Result<()> {
    writeln!(
        out,
        "{:<16} {:<10} {:<10} {:<28} set up",
        "runner", "language", "framework", "protocols"
    )?;
    for r in rows {
        let protocols: Vec<_> = r.protocols.iter().map(|p| p.as_str()).collect();
        // The reference is embedded in this binary: every command can use it without setup
        // (`--runner rust-axum` builds it as an app on first use).
        let set_up = match (r.built_in, r.set_up) {
            (true, true) => "yes, built in",
            (true, false) => "built in",
            (false, true) => "yes",
            (false, false) => "no",
        };
        writeln!(
            out,
            "{:<16} {:<10} {:<10} {:<28} {set_up}",
            r.name,
            r.language,
            r.framework,
            protocols.join(",")
        )?;
    }
    Ok(())
}

/// Writes one line per fixture: protocol, name, file.
pub fn write_fixtures<'a>(
    out: &mut dyn Write,
    fixtures: impl IntoIterator<Item = &'a Fixture>,
) -> io::Result<()> {
    for f in fixtures {
        writeln!(
            out,
            "{:<9} {:<48} {}",
            f.protocol().as_str(),
            f.name,
            f.file.display()
        )?;
    }
    Ok(())
}

/// Writes that `fixtures` are valid, with their count by protocol.
pub fn write_validated(out: &mut dyn Write, fixtures: &[Fixture]) -> io::Result<()> {
    let mut counts = BTreeMap::new();
    for f in fixtures {
        *counts.entry(f.protocol().as_str()).or_insert(0) += 1;
    }
    let by_protocol: Vec<String> = counts.iter().map(|(p, n)| format!("{p}: {n}")).collect();
    writeln!(
        out,
        "{} fixtures valid ({})",
        fixtures.len(),
        by_protocol.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runner_table_says_how_each_is_set_up() {
        let row = |name, built_in, set_up| RunnerRow {
            name,
            language: "rust",
            framework: "axum",
            protocols: &[Protocol::Rest, Protocol::Sse],
            built_in,
            set_up,
        };
        let mut out = Vec::new();
        let rows = [row("a", true, true), row("b", false, false)];
        write_runners(&mut out, &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "runner           language   framework  protocols                    set up\n\
             a                rust       axum       rest,sse                     yes, built in\n\
             b                rust       axum       rest,sse                     no\n"
        );
    }
}
