//! `fixtures import spikard`: another tool's suite as fixture files, and the account of it.

use std::io::Write as _;

use harness_fixture::import::report::ImportReport;
use harness_fixture::import::spikard::{self, Options};

use crate::cli::{Format, SpikardImportArgs};
use crate::error::{HarnessError, exit};
use crate::fsutil::write_atomically;
use crate::report::write_json;

pub(super) fn spikard(args: &SpikardImportArgs) -> Result<i32, HarnessError> {
    if let Some(prefix) = &args.prefix
        && (!prefix.starts_with('/') || prefix.contains(['?', '#']))
    {
        return Err(HarnessError::Usage(format!(
            "--prefix {prefix:?}: a prefix is a path that starts with / (no query), such as /fixtures/{{id}}"
        )));
    }
    let options = Options {
        prefix: args.prefix.clone(),
        only: args.only.clone(),
        skip_languages: args.skip_language.clone(),
    };
    let imported = spikard::import(&args.paths, &options);
    for fixture in &imported.converted {
        let path = args.out.join(&fixture.path);
        let text = serde_json::to_string_pretty(&fixture.document).map_err(|source| {
            HarnessError::Encode {
                what: "an imported fixture",
                source,
            }
        })?;
        write_atomically(&path, &format!("{text}\n"))
            .map_err(|source| HarnessError::Write { path, source })?;
    }
    let report = ImportReport::of("spikard", &imported);
    let account = args.out.join("IMPORT.md");
    write_atomically(&account, &report.markdown()).map_err(|source| HarnessError::Write {
        path: account.clone(),
        source,
    })?;

    for error in &imported.errors {
        eprintln!("error: {error}");
    }
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Json => write_json(&mut stdout, &report).map_err(HarnessError::Stdout)?,
        Format::Human => {
            write!(stdout, "{}", report.summary_text()).map_err(HarnessError::Stdout)?;
            writeln!(
                stdout,
                "written to {} (the account: {})",
                args.out.display(),
                account.display()
            )
            .map_err(HarnessError::Stdout)?;
        }
    }
    Ok(if !imported.errors.is_empty() {
        exit::USAGE
    } else if args.strict && !imported.skipped.is_empty() {
        exit::FAILED
    } else {
        exit::OK
    })
}
