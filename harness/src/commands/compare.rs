//! `compare`: a candidate's results against a baseline's.

use std::io::{IsTerminal, Write};

use crate::cli::{CompareArgs, Format};
use crate::compare::document::read_side;
use crate::compare::{ChangeKind, Comparison, Verdict, compare as compare_sides};
use crate::error::{HarnessError, exit};
use crate::humanize::{escape_controls, percent};
use crate::report::human::Style;
use crate::report::write_json;

use super::report::{redact_comparison, write_report};

pub(super) fn compare(args: &CompareArgs) -> Result<i32, HarnessError> {
    let baseline = read_side(&args.baseline)?;
    let candidate = read_side(&args.candidate)?;
    let mut comparison = compare_sides(&baseline, &candidate, args.threshold, args.allow_removed)
        .map_err(|e| HarnessError::Incomparable(Box::new(e)))?;
    let redactor = args.redaction.redactor();
    redact_comparison(&redactor, &mut comparison);
    let regressions = comparison.regressions;
    if let Some(dir) = &args.report {
        // The candidate's report folder, the comparison in it; the verdict still goes to stdout.
        crate::target::supervise::guard_process();
        write_report(
            &args.candidate,
            Some(comparison.clone()),
            Some(dir),
            &redactor,
        )?;
    }
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let _ = write_json(&mut stdout, &comparison);
        }
        Format::Human => {
            let _ = write_human(
                &mut stdout,
                Style::detect(std::io::stdout().is_terminal()),
                &comparison,
            );
        }
    }
    Ok(if regressions == 0 {
        exit::OK
    } else {
        exit::FAILED
    })
}

fn write_human(out: &mut dyn Write, style: Style, c: &Comparison) -> std::io::Result<()> {
    if !c.load.is_empty() {
        writeln!(
            out,
            "load (medians of runs; a change counts beyond {:.1}% and beyond the runs' spread):",
            c.threshold * 100.0
        )?;
        for d in &c.load {
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
                Verdict::Removed if !c.allow_removed => style.paint("31;1", "REMOVED"),
                Verdict::Improvement => style.paint("32", d.verdict.describe()),
                other => other.describe().into(),
            };
            writeln!(
                out,
                "  {} @ {}: {figures}  {verdict}",
                escape_controls(&d.fixture),
                escape_controls(&d.target)
            )?;
        }
    }
    if !c.behaviour.is_empty() {
        writeln!(out, "behaviour:")?;
        for change in &c.behaviour {
            let what = match change.kind {
                ChangeKind::Regressed => style.paint("31;1", change.kind.describe()),
                ChangeKind::Removed if !c.allow_removed => style.paint("31;1", "REMOVED"),
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
                .take(40)
            {
                writeln!(out, "      {line}")?;
            }
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
    writeln!(
        out,
        "{verdict}: {} regressions{removed}; {} load comparisons, {} behaviour changes",
        c.regressions,
        c.load.len(),
        c.behaviour.len()
    )
}

/// A latency in microseconds, or `-` when the side had no successful operation.
fn us(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.0}"))
}
