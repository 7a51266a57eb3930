//! Runner setup: the manifest's `setup` commands, run once and remembered.
//!
//! A runner is set up when its folder holds `.harness-setup` with exactly the setup commands of
//! its current manifest and a fingerprint of its sources (the contents of the files git tracks in
//! its folder): the marker is written after every command succeeded, so an edited manifest or
//! app, or an interrupted setup, means "not set up".

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
    let mut text = runner.manifest.setup.join("\n");
    if let Some(fingerprint) = sources_fingerprint(&runner.dir) {
        text.push_str(&format!("\n# sources {fingerprint:016x}"));
    }
    text
}

/// FNV-1a over the paths and contents of the files git tracks in `dir` (build outputs are not
/// tracked); `None` outside a git checkout.
fn sources_fingerprint(dir: &std::path::Path) -> Option<u64> {
    let output = std::process::Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            ".",
        ])
        .current_dir(dir)
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let mut files: Vec<&[u8]> = output
        .stdout
        .split(|&b| b == 0)
        .filter(|f| !f.is_empty())
        .collect();
    files.sort_unstable();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &byte in bytes {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for file in files {
        let path = dir.join(String::from_utf8_lossy(file).as_ref());
        feed(file);
        // A tracked file deleted in the working tree simply contributes its name.
        if let Ok(contents) = std::fs::read(&path) {
            feed(&contents);
        }
    }
    Some(hash)
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
        let mut child = crate::target::supervise::GuardedChild::spawn(
            tokio::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .current_dir(&runner.dir)
                .stdin(Stdio::null())
                .stdout(stderr_stdio())
                .stderr(stderr_stdio()),
            libc::SIGTERM,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editing_a_tracked_source_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let ok = std::process::Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap()
                .status
                .success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::write(dir.path().join("main.go"), "package main").unwrap();
        std::fs::write(dir.path().join(".gitignore"), "app\n").unwrap();
        git(&["add", "."]);
        let before = sources_fingerprint(dir.path()).expect("a git checkout");
        std::fs::write(dir.path().join("app"), "a build output, ignored").unwrap();
        assert_eq!(
            sources_fingerprint(dir.path()),
            Some(before),
            "ignored outputs do not count"
        );
        std::fs::write(dir.path().join("main.go"), "package main // edited").unwrap();
        assert_ne!(sources_fingerprint(dir.path()), Some(before));
    }
}
