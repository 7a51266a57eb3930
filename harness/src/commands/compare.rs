//! `compare`: a candidate's results against a baseline's.

use crate::cli::{CompareArgs, Format};
use crate::compare::compare as compare_sides;
use crate::compare::document::read_side;
use crate::error::{HarnessError, exit};
use crate::report::human::compare::write_comparison;
use crate::report::terminal::Style;
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
            let _ = write_comparison(&mut stdout, Style::stdout(), &comparison);
        }
    }
    Ok(if regressions == 0 {
        exit::OK
    } else {
        exit::FAILED
    })
}
