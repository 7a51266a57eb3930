//! `fixtures import spikard|asyncapi`: another tool's suite as fixture files, and the account
//! of it.

use std::io::Write as _;
use std::path::Path;

use harness_fixture::import::Imported;
use harness_fixture::import::report::ImportReport;
use harness_fixture::import::{asyncapi, spikard};

use crate::cli::{AsyncapiImportArgs, Format, SpikardImportArgs};
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
    let options = spikard::Options {
        prefix: args.prefix.clone(),
        only: args.only.clone(),
        skip_languages: args.skip_language.clone(),
    };
    let imported = spikard::import(&args.paths, &options);
    write("spikard", &imported, &args.out, args.format, args.strict)
}

pub(super) fn asyncapi(args: &AsyncapiImportArgs) -> Result<i32, HarnessError> {
    let options = asyncapi::Options {
        params: args.param.clone(),
    };
    let imported = asyncapi::import(&args.file, &options);
    write("asyncapi", &imported, &args.out, args.format, args.strict)
}

/// Writes the fixtures and IMPORT.md under `out`, prints the account; the exit code.
fn write(
    format: &str,
    imported: &Imported,
    out: &Path,
    print: Format,
    strict: bool,
) -> Result<i32, HarnessError> {
    for fixture in &imported.converted {
        let path = out.join(&fixture.path);
        let text = serde_json::to_string_pretty(&fixture.document).map_err(|source| {
            HarnessError::Encode {
                what: "an imported fixture",
                source,
            }
        })?;
        write_atomically(&path, &format!("{text}\n"))
            .map_err(|source| HarnessError::Write { path, source })?;
    }
    let report = ImportReport::of(format, imported);
    let account = out.join("IMPORT.md");
    write_atomically(&account, &report.markdown()).map_err(|source| HarnessError::Write {
        path: account.clone(),
        source,
    })?;
    for error in &imported.errors {
        eprintln!("error: {error}");
    }
    let mut stdout = std::io::stdout().lock();
    match print {
        Format::Json => write_json(&mut stdout, &report).map_err(HarnessError::Stdout)?,
        Format::Human => {
            write!(stdout, "{}", report.summary_text()).map_err(HarnessError::Stdout)?;
            writeln!(
                stdout,
                "written to {} (the account: {})",
                out.display(),
                account.display()
            )
            .map_err(HarnessError::Stdout)?;
        }
    }
    Ok(if !imported.errors.is_empty() {
        exit::USAGE
    } else if strict && !imported.skipped.is_empty() {
        exit::FAILED
    } else {
        exit::OK
    })
}
