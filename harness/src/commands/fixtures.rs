//! `fixtures list` and `fixtures validate`.

use std::collections::BTreeMap;
use std::io::Write;

use harness_fixture::load_paths;
use serde_json::json;

use crate::cli::{FixturesCommand, Format};
use crate::config::default_fixtures_dir;
use crate::error::{HarnessError, exit};
use crate::replay::plan::plan;
use crate::report::write_json;

pub(super) fn fixtures(command: &FixturesCommand) -> Result<i32, HarnessError> {
    let mut stdout = std::io::stdout().lock();
    match command {
        FixturesCommand::List { selection, format } => {
            let plan = plan(&crate::config::selection(selection))?;
            match format {
                Format::Json => {
                    let list: Vec<_> = plan
                        .selected()
                        .map(|f| {
                            json!({"name": f.name, "protocol": f.protocol(), "file": f.file,
                                   "description": f.description, "tags": f.tags, "skip": f.skip})
                        })
                        .collect();
                    let _ = write_json(&mut stdout, &list);
                }
                Format::Human => {
                    for f in plan.selected() {
                        let _ = writeln!(
                            stdout,
                            "{:<9} {:<48} {}",
                            f.protocol().as_str(),
                            f.name,
                            f.file.display()
                        );
                    }
                }
            }
            Ok(exit::OK)
        }
        FixturesCommand::Validate { paths } => {
            let paths = if paths.is_empty() {
                vec![default_fixtures_dir()]
            } else {
                paths.clone()
            };
            let corpus = load_paths(&paths)?;
            if corpus.fixtures.is_empty() {
                let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                return Err(HarnessError::Usage(format!(
                    "no fixtures in {} (fixtures are *.json files)",
                    names.join(", ")
                )));
            }
            let mut counts = BTreeMap::new();
            for f in &corpus.fixtures {
                *counts.entry(f.protocol().as_str()).or_insert(0) += 1;
            }
            let by_protocol: Vec<String> =
                counts.iter().map(|(p, n)| format!("{p}: {n}")).collect();
            let _ = writeln!(
                stdout,
                "{} fixtures valid ({})",
                corpus.fixtures.len(),
                by_protocol.join(", ")
            );
            Ok(exit::OK)
        }
    }
}
