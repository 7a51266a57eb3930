//! `report`: result documents in, a report folder out.

use std::path::PathBuf;
use std::time::SystemTime;

use crate::cli::ReportArgs;
use crate::compare::document::read_side;
use crate::error::{HarnessError, exit};
use crate::report::bundle::{self, ReportDocument};
use crate::report::markdown::counted;
use crate::report::{html, junit, markdown, write_folder};

pub(super) fn report(args: &ReportArgs) -> Result<i32, HarnessError> {
    let usage = |e: crate::compare::document::DocumentError| HarnessError::Usage(e.to_string());
    let inputs = bundle::read(&args.inputs).map_err(usage)?;
    let comparison = if args.baseline.is_empty() {
        None
    } else {
        let baseline = read_side(&args.baseline).map_err(usage)?;
        let candidate = read_side(&args.inputs).map_err(usage)?;
        Some(crate::compare::compare(
            &baseline,
            &candidate,
            args.threshold,
        ))
    };
    let now = SystemTime::now();
    let generated_at = humantime::format_rfc3339_seconds(now).to_string();
    let document = ReportDocument::new(inputs, comparison, generated_at.clone());
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(generated_at.replace(':', "-")));
    std::fs::create_dir_all(&dir).map_err(|source| HarnessError::Write {
        path: dir.clone(),
        source,
    })?;
    let json = serde_json::to_string_pretty(&document)
        .map_err(|e| HarnessError::Usage(format!("cannot encode the report: {e}")))?;
    write_folder(
        &dir,
        &[
            ("report.json", json + "\n"),
            ("summary.md", markdown::report(&document)),
            ("junit.xml", junit::report(&document)),
            ("index.html", html::page(&document)),
        ],
    )?;
    println!("{}", dir.join("index.html").display());
    eprintln!(
        "report: conformance of {}, {}{} -> {}",
        counted(document.conformance.runners.len(), "runner"),
        counted(document.load.len(), "load run"),
        document
            .comparison
            .as_ref()
            .map_or(String::new(), |c| format!(
                ", {} regressions against the baseline",
                c.regressions
            )),
        dir.display()
    );
    Ok(exit::OK)
}
