//! `fixtures list` and `fixtures validate`.

use harness_fixture::load_paths;
use serde_json::json;

use crate::cli::{FixturesCommand, Format, ImportCommand};
use crate::config::default_fixtures_dir;
use crate::error::{HarnessError, exit};
use crate::replay::plan::plan;
use crate::report::human::listing::{write_fixtures, write_validated};
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
                    let _ = write_fixtures(&mut stdout, plan.selected());
                }
            }
            Ok(exit::OK)
        }
        FixturesCommand::Import(ImportCommand::Spikard(args)) => super::import::spikard(args),
        FixturesCommand::Import(ImportCommand::Asyncapi(args)) => super::import::asyncapi(args),
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
            let _ = write_validated(&mut stdout, &corpus.fixtures);
            Ok(exit::OK)
        }
    }
}
