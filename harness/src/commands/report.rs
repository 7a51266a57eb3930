//! `report`: result documents in, a report folder out. `compare --report` writes one too.

use std::path::{Path, PathBuf};

use crate::cli::ReportArgs;
use crate::compare::Comparison;
use crate::compare::document::read_side;
use crate::error::{HarnessError, exit};
use crate::humanize::counted;
use crate::report::bundle;
use crate::report::document::ReportDocument;
use crate::report::{html, junit, markdown, write_folder};
use crate::snapshot::redact::Redactor;

pub(super) fn report(args: &ReportArgs) -> Result<i32, HarnessError> {
    // A signal removes the temporary folder being written; the old folder stays whole.
    crate::target::supervise::guard_process();
    let redactor = args.redaction.redactor();
    let comparison = if args.baseline.is_empty() {
        None
    } else {
        let baseline = read_side(&args.baseline)?;
        let candidate = read_side(&args.inputs)?;
        let mut comparison =
            crate::compare::compare(&baseline, &candidate, args.threshold, args.allow_removed)
                .map_err(|e| HarnessError::IncomparableBaseline(Box::new(e)))?;
        redact_comparison(&redactor, &mut comparison);
        Some(comparison)
    };
    let dir = write_report(&args.inputs, comparison, args.out.as_deref(), &redactor)?;
    println!("{}", dir.join("index.html").display());
    Ok(exit::OK)
}

/// The snapshot diffs of a comparison, redacted (input documents may be made with --no-redact).
pub(super) fn redact_comparison(redactor: &Redactor, comparison: &mut Comparison) {
    for change in &mut comparison.behaviour {
        if let Some(diff) = &mut change.snapshot_diff {
            *diff = redactor.diff_text(diff);
        }
    }
}

/// Reads `inputs` and writes their report folder (`out`, else `reports/<UTC time>/`), with the
/// comparison when there is one, credentials redacted by `redactor`; says so on stderr and
/// returns the folder.
pub(super) fn write_report(
    inputs: &[PathBuf],
    comparison: Option<Comparison>,
    out: Option<&Path>,
    redactor: &Redactor,
) -> Result<PathBuf, HarnessError> {
    if let Some(out) = out {
        crate::report::check_replaceable(out)?;
    }
    let mut inputs = bundle::read(inputs)?;
    for runner in &mut inputs.runners {
        redactor.run_report(&mut runner.run);
    }
    let generated_at = bundle::now();
    let document = ReportDocument::new(inputs, comparison, generated_at.clone());
    let dir = out.map_or_else(
        || PathBuf::from("reports").join(generated_at.replace(':', "-")),
        Path::to_path_buf,
    );
    let json = serde_json::to_string_pretty(&document).map_err(|source| HarnessError::Encode {
        what: "the report",
        source,
    })?;
    write_folder(
        &dir,
        &[
            ("report.json", json + "\n"),
            ("summary.md", markdown::report(&document)),
            ("junit.xml", junit::report(&document)),
            ("index.html", html::page(&document)),
        ],
    )?;
    let against = document.comparison.as_ref().map_or(String::new(), |c| {
        format!(
            ", {} against the baseline",
            counted(c.regressions, "regression")
        )
    });
    let protocol = if document.protocol.is_empty() {
        String::new()
    } else {
        format!(
            ", {}",
            counted(document.protocol.len(), "protocol suite run")
        )
    };
    eprintln!(
        "report: conformance of {}, {}{protocol}{against} -> {}",
        counted(document.conformance.runners.len(), "runner"),
        counted(document.load.len(), "load run"),
        dir.display()
    );
    Ok(dir)
}
