//! The human rendering of a comparison: load figures by fixture and target with their verdict,
//! behaviour changes with their snapshot diffs, protocol suite cases that regressed or were fixed,
//! and the verdict line.

use std::io::{self, Write};

use crate::compare::{BehaviourChange, CaseChange, ChangeKind, Comparison, LoadDelta, Verdict};
use crate::humanize::{escape_controls, percent};
use crate::report::terminal::Style;

/// Lines of a snapshot diff shown under a behaviour change.
const SHOWN_DIFF_LINES: usize = 40;

/// Writes what `compare` prints.
pub fn write_comparison(out: &mut dyn Write, style: Style, c: &Comparison) -> io::Result<()> {
    if !c.load.is_empty() {
        writeln!(
            out,
            "load (medians of runs; a change counts beyond {:.1}% and beyond the runs' spread):",
            c.threshold * 100.0
        )?;
        for d in &c.load {
            write_load_delta(out, style, c.allow_removed, d)?;
        }
    }
    if !c.behaviour.is_empty() {
        writeln!(out, "behaviour:")?;
        for change in &c.behaviour {
            write_behaviour_change(out, style, c.allow_removed, change)?;
        }
    }
    if !c.protocol.is_empty() {
        writeln!(
            out,
            "protocol suites (a case counts when it failed on one side only):"
        )?;
        for change in &c.protocol {
            write_case_change(out, style, change)?;
        }
    }
    let verdict = if c.regressions == 0 {
        style.paint("32;1", "ok")
    } else {
        style.paint("31;1", "FAILED")
    };
    let removed = match (c.removed, c.allow_removed) {
        (0, _) => String::new(),
        (n, false) => format!(
            " ({n} removed: only in the baseline, each a regression; --allow-removed accepts them)"
        ),
        (n, true) => format!(" ({n} removed, allowed)"),
    };
    let protocol = if c.protocol.is_empty() {
        String::new()
    } else {
        format!(", {} protocol case changes", c.protocol.len())
    };
    writeln!(
        out,
        "{verdict}: {} regressions{removed}; {} load comparisons, {} behaviour changes{protocol}",
        c.regressions,
        c.load.len(),
        c.behaviour.len()
    )
}

/// `  websocket / rust-axum / 3.1: ok -> failed  REGRESSED`.
fn write_case_change(out: &mut dyn Write, style: Style, change: &CaseChange) -> io::Result<()> {
    let what = match change.kind {
        ChangeKind::Regressed => style.paint("31;1", change.kind.describe()),
        ChangeKind::Fixed => style.paint("32", change.kind.describe()),
        other => other.describe().into(),
    };
    writeln!(
        out,
        "  {} / {} / {}: {} -> {}  {what}",
        escape_controls(&change.suite),
        escape_controls(&change.target),
        escape_controls(&change.case),
        verdict_word(change.baseline),
        verdict_word(change.candidate)
    )
}

/// A protocol verdict as the documents spell it.
pub fn verdict_word(verdict: crate::results::protocol::Verdict) -> &'static str {
    use crate::results::protocol::Verdict as V;
    match verdict {
        V::Ok => "ok",
        V::NonStrict => "non_strict",
        V::Failed => "failed",
        V::Informational => "informational",
        V::Unimplemented => "unimplemented",
    }
}

fn write_load_delta(
    out: &mut dyn Write,
    style: Style,
    allow_removed: bool,
    d: &LoadDelta,
) -> io::Result<()> {
    let figures = match (&d.baseline, &d.candidate) {
        (Some(b), Some(a)) => format!(
            "throughput {:.0} -> {:.0}/s ({})  p50 {} -> {} us ({})  p99 {} -> {} us ({})  errors {} -> {}  runs {}/{}",
            b.throughput,
            a.throughput,
            percent(d.throughput_change),
            us(b.p50_us),
            us(a.p50_us),
            percent(d.p50_change),
            us(b.p99_us),
            us(a.p99_us),
            percent(d.p99_change),
            b.errors,
            a.errors,
            b.runs,
            a.runs
        ),
        (Some(_), None) => "only in the baseline".into(),
        (None, _) => "only in the candidate".into(),
    };
    let verdict = match d.verdict {
        Verdict::Regression => style.paint("31;1", d.verdict.describe()),
        Verdict::Removed if !allow_removed => style.paint("31;1", "REMOVED"),
        Verdict::Improvement => style.paint("32", d.verdict.describe()),
        other => other.describe().into(),
    };
    writeln!(
        out,
        "  {} @ {}: {figures}  {verdict}",
        escape_controls(&d.fixture),
        escape_controls(&d.target)
    )
}

fn write_behaviour_change(
    out: &mut dyn Write,
    style: Style,
    allow_removed: bool,
    change: &BehaviourChange,
) -> io::Result<()> {
    let what = match change.kind {
        ChangeKind::Regressed => style.paint("31;1", change.kind.describe()),
        ChangeKind::Removed if !allow_removed => style.paint("31;1", "REMOVED"),
        ChangeKind::Fixed => style.paint("32", change.kind.describe()),
        other => other.describe().into(),
    };
    let before = change.baseline.as_deref().unwrap_or("-");
    let after = change.candidate.as_deref().unwrap_or("-");
    writeln!(
        out,
        "  {} / {}: {} -> {}  {what}",
        escape_controls(&change.target),
        escape_controls(&change.fixture),
        escape_controls(before),
        escape_controls(after)
    )?;
    for line in escape_controls(change.snapshot_diff.as_deref().unwrap_or(""))
        .lines()
        .take(SHOWN_DIFF_LINES)
    {
        writeln!(out, "      {line}")?;
    }
    Ok(())
}

/// A latency in microseconds, or `-` when the side had no successful operation.
fn us(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.0}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::load::Stats;

    fn stats(throughput: f64, p50_us: Option<f64>, errors: u64, runs: usize) -> Stats {
        Stats {
            runs,
            throughput,
            p50_us,
            p99_us: p50_us.map(|p| p * 3.3),
            errors,
            spread: 0.1,
        }
    }

    fn delta(
        fixture: &str,
        baseline: Option<Stats>,
        candidate: Option<Stats>,
        verdict: Verdict,
    ) -> LoadDelta {
        LoadDelta {
            fixture: fixture.into(),
            target: "rust-\u{1b}[31maxum".into(),
            baseline,
            candidate,
            throughput_change: Some(-0.1234),
            p50_change: Some(0.05),
            p99_change: None,
            verdict,
        }
    }

    fn change(fixture: &str, kind: ChangeKind, snapshot_diff: Option<String>) -> BehaviourChange {
        BehaviourChange {
            target: "go".into(),
            fixture: fixture.into(),
            kind,
            baseline: Some("passed".into()),
            candidate: (kind != ChangeKind::Removed).then(|| "failed\u{7}".into()),
            snapshot_diff,
        }
    }

    /// Every verdict and kind of change, hostile names, a diff longer than is shown.
    fn sample(allow_removed: bool, regressions: usize) -> Comparison {
        let one = || Some(stats(10.0, Some(1.0), 0, 1));
        let long_diff: String = (0..50).map(|i| format!("+line {i}\n")).collect();
        Comparison {
            threshold: 0.05,
            allow_removed,
            load: vec![
                delta(
                    "a",
                    Some(stats(1000.4, Some(250.6), 0, 3)),
                    Some(stats(900.0, None, 7, 1)),
                    Verdict::Regression,
                ),
                delta(
                    "b",
                    one(),
                    Some(stats(20.0, Some(1.0), 0, 1)),
                    Verdict::Improvement,
                ),
                delta("c", one(), None, Verdict::Removed),
                delta("d", None, one(), Verdict::Added),
                delta("e", one(), one(), Verdict::WithinNoise),
                delta("f", one(), one(), Verdict::Unchanged),
            ],
            behaviour: vec![
                change("r", ChangeKind::Regressed, None),
                change("x", ChangeKind::Fixed, None),
                change("s", ChangeKind::SnapshotChanged, Some(long_diff)),
                change("n", ChangeKind::Added, None),
                change("m", ChangeKind::Removed, Some("-gone\u{1b}[2J".into())),
            ],
            protocol: Vec::new(),
            removed: 2,
            regressions,
        }
    }

    fn text(style: Style, comparison: &Comparison) -> String {
        let mut out = Vec::new();
        write_comparison(&mut out, style, comparison).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn protocol_case_changes_are_listed_and_counted_only_when_there_are_some() {
        use crate::results::protocol::Verdict as V;
        let case = |id: &str, kind, baseline, candidate| CaseChange {
            suite: "websocket".into(),
            target: "axum".into(),
            case: id.into(),
            kind,
            baseline,
            candidate,
        };
        let with = Comparison {
            load: Vec::new(),
            behaviour: Vec::new(),
            protocol: vec![
                case("3.1", ChangeKind::Regressed, V::NonStrict, V::Failed),
                case("6.4.1", ChangeKind::Fixed, V::Failed, V::Ok),
            ],
            removed: 0,
            ..sample(false, 1)
        };
        assert_eq!(
            text(Style::plain(), &with),
            "protocol suites (a case counts when it failed on one side only):\n  \
             websocket / axum / 3.1: non_strict -> failed  REGRESSED\n  \
             websocket / axum / 6.4.1: failed -> ok  fixed\n\
             FAILED: 1 regressions; 0 load comparisons, 0 behaviour changes, 2 protocol case changes\n"
        );
        let without = Comparison {
            protocol: Vec::new(),
            ..with
        };
        assert!(!text(Style::plain(), &without).contains("protocol"));
    }

    #[test]
    fn the_comparison_reads_as_before_the_move() {
        let strict = sample(false, 4);
        let allowed = sample(true, 0);
        let cases = [
            (
                Style::plain(),
                &strict,
                include_str!("golden/compare_plain_strict.txt"),
            ),
            (
                Style::ansi(),
                &strict,
                include_str!("golden/compare_ansi_strict.txt"),
            ),
            (
                Style::plain(),
                &allowed,
                include_str!("golden/compare_plain_allowed.txt"),
            ),
            (
                Style::ansi(),
                &allowed,
                include_str!("golden/compare_ansi_allowed.txt"),
            ),
        ];
        for (style, comparison, expected) in cases {
            assert_eq!(text(style, comparison), expected);
        }
        let empty = Comparison {
            load: Vec::new(),
            behaviour: Vec::new(),
            removed: 0,
            ..sample(false, 0)
        };
        assert_eq!(
            text(Style::plain(), &empty),
            include_str!("golden/compare_empty.txt")
        );
    }
}
