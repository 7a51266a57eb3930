//! Linux only: the parent-death signal, so the kernel kills a child whose harness died without
//! a chance to clean up (SIGKILL, an abort).

use tokio::process::Command;

/// Has the kernel SIGKILL the child when the harness dies.
pub(super) fn kill_with_parent(command: &mut Command) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The harness may have died between fork and prctl.
            if libc::getppid() == 1 {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}
