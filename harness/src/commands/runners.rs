//! `runners list` and `runners setup`.

use serde_json::json;

use crate::cli::{Cli, Format, RunnersCommand};
use crate::config::{all_runners, find_runner};
use crate::error::{HarnessError, exit};
use crate::report::human::listing::{RunnerRow, write_runners};
use crate::report::write_json;
use crate::target::runner::setup;

pub(super) async fn runners(cli: &Cli, command: &RunnersCommand) -> Result<i32, HarnessError> {
    match command {
        RunnersCommand::List { format } => {
            let runners = all_runners(cli)?;
            let mut stdout = std::io::stdout().lock();
            match format {
                Format::Json => {
                    let list: Vec<_> = runners
                        .iter()
                        .map(|r| {
                            let m = &r.manifest;
                            json!({"name": m.name, "language": m.language, "framework": m.framework,
                                   "protocols": m.protocols, "set_up": setup::is_set_up(r), "dir": r.dir,
                                   "built_in": built_in(r)})
                        })
                        .collect();
                    let _ = write_json(&mut stdout, &list);
                }
                Format::Human => {
                    let rows: Vec<RunnerRow> = runners
                        .iter()
                        .map(|r| RunnerRow {
                            name: &r.manifest.name,
                            language: &r.manifest.language,
                            framework: &r.manifest.framework,
                            protocols: &r.manifest.protocols,
                            built_in: built_in(r),
                            set_up: setup::is_set_up(r),
                        })
                        .collect();
                    let _ = write_runners(&mut stdout, &rows);
                }
            }
            Ok(exit::OK)
        }
        RunnersCommand::Setup { names, force } => {
            crate::target::supervise::guard_process();
            let runners = if names.is_empty() {
                all_runners(cli)?
            } else {
                names
                    .iter()
                    .map(|n| find_runner(cli, n))
                    .collect::<Result<_, _>>()?
            };
            let mut failed = Vec::new();
            for runner in &runners {
                let name = &runner.manifest.name;
                if !force && setup::is_set_up(runner) {
                    eprintln!("[{name}] set up already");
                    continue;
                }
                match setup::setup(runner).await {
                    Ok(()) => eprintln!("[{name}] set up"),
                    Err(e) => {
                        eprintln!("error: {e}");
                        failed.push(name.clone());
                    }
                }
            }
            if failed.is_empty() {
                Ok(exit::OK)
            } else {
                Err(HarnessError::Unreachable {
                    address: failed.join(", "),
                    reason: "setup failed (see above)".into(),
                })
            }
        }
    }
}

/// Whether `runner` is the reference server this binary embeds.
fn built_in(runner: &crate::target::runner::Runner) -> bool {
    runner.manifest.name == crate::target::REFERENCE_NAME
}
