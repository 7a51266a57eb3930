//! Runner setup: the manifest's `setup` commands, run once and remembered.
//!
//! A runner is set up when its folder holds `.harness-setup` with exactly the setup commands of
//! its current manifest: the marker is written after every command succeeded, so an edited
//! manifest or an interrupted setup means "not set up".

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use super::Runner;

const MARKER: &str = ".harness-setup";

/// Bound on each setup command.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Why a setup failed.
#[derive(Debug, thiserror::Error)]
#[error("setup of {runner} failed: `{command}` {reason}")]
pub struct SetupError {
    /// The runner.
    pub runner: String,
    /// The command that failed.
    pub command: String,
    /// What happened.
    pub reason: String,
}

fn marker(runner: &Runner) -> PathBuf {
    runner.dir.join(MARKER)
}

fn marker_text(runner: &Runner) -> String {
    runner.manifest.setup.join("\n")
}

/// Whether the runner's setup has run with its current commands.
pub fn is_set_up(runner: &Runner) -> bool {
    std::fs::read_to_string(marker(runner)).is_ok_and(|text| text == marker_text(runner))
}

/// Runs every setup command with `sh -c` in the runner's folder, output to the harness's stderr.
pub async fn setup(runner: &Runner) -> Result<(), SetupError> {
    let name = &runner.manifest.name;
    let _ = std::fs::remove_file(marker(runner));
    for command in &runner.manifest.setup {
        eprintln!("[{name}] $ {command}");
        let failed = |reason: String| SetupError {
            runner: name.clone(),
            command: command.clone(),
            reason,
        };
        let mut child = crate::supervise::spawn_guarded(
            tokio::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .current_dir(&runner.dir)
                .stdin(Stdio::null())
                .stdout(stderr_stdio())
                .stderr(stderr_stdio()),
        )
        .map_err(|e| failed(format!("cannot start: {e}")))?;
        match tokio::time::timeout(SETUP_TIMEOUT, child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => return Err(failed(format!("exited with {status}"))),
            Ok(Err(e)) => return Err(failed(e.to_string())),
            Err(_) => return Err(failed(format!("took longer than {SETUP_TIMEOUT:?}"))),
        }
    }
    std::fs::write(marker(runner), marker_text(runner)).map_err(|e| SetupError {
        runner: name.clone(),
        command: "(write marker)".into(),
        reason: e.to_string(),
    })
}

/// Sets the runner up unless it is.
pub async fn ensure(runner: &Runner) -> Result<(), SetupError> {
    if is_set_up(runner) {
        Ok(())
    } else {
        setup(runner).await
    }
}

fn stderr_stdio() -> Stdio {
    use std::os::fd::AsFd;
    std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::inherit())
}
