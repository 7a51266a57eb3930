//! The open-file limit of this process: every connection of a load run is a descriptor (two
//! with the embedded target, whose server side lives here too), and past the limit connections
//! fail with `Too many open files`. Before a run the soft limit is raised as far as the hard one
//! allows, and a run that still would not fit is refused up front with the number it needs.

/// The open-file limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit: what this process may open.
    pub soft: u64,
    /// The hard limit: how far an unprivileged process may raise the soft one.
    pub hard: u64,
}

/// Raises this process's open-file soft limit to its hard limit (or, when the system refuses
/// that, to `needed` if the hard limit allows it). Returns the limits in force; `None` where they
/// cannot be read (not Unix).
pub fn raise_open_files_limit(needed: u64) -> Option<OpenFiles> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            if limit.rlim_cur < limit.rlim_max {
                // An infinite hard limit is refused by Linux (beyond `nr_open`): then `needed`.
                #[allow(clippy::useless_conversion)]
                let wanted = [limit.rlim_max, needed.try_into().unwrap_or(limit.rlim_max)];
                for soft in wanted {
                    if soft <= limit.rlim_cur || soft > limit.rlim_max {
                        continue;
                    }
                    let raised = libc::rlimit {
                        rlim_cur: soft,
                        rlim_max: limit.rlim_max,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                        limit = raised;
                        break;
                    }
                }
            }
        }
        #[allow(clippy::useless_conversion)]
        Some(OpenFiles {
            soft: u64::from(limit.rlim_cur),
            hard: u64::from(limit.rlim_max),
        })
    }
    #[cfg(not(unix))]
    {
        let _ = needed;
        None
    }
}
