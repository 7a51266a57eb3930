//! `runners list` and `runners setup`.

use std::io::Write;

use serde_json::json;

use crate::cli::{Cli, Format, RunnersCommand};
use crate::config::{all_runners, find_runner};
use crate::error::{HarnessError, exit};
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
                    let _ = writeln!(
                        stdout,
                        "{:<16} {:<10} {:<10} {:<28} set up",
                        "runner", "language", "framework", "protocols"
                    );
                    for r in &runners {
                        let m = &r.manifest;
                        let protocols: Vec<_> = m.protocols.iter().map(|p| p.as_str()).collect();
                        // The reference is embedded in this binary: every command can use it
                        // without setup (`--runner rust-axum` builds it as an app on first use).
                        let set_up = match (built_in(r), setup::is_set_up(r)) {
                            (true, true) => "yes, built in",
                            (true, false) => "built in",
                            (false, true) => "yes",
                            (false, false) => "no",
                        };
                        let _ = writeln!(
                            stdout,
                            "{:<16} {:<10} {:<10} {:<28} {set_up}",
                            m.name,
                            m.language,
                            m.framework,
                            protocols.join(",")
                        );
                    }
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
