//! The open-file limit of this process: every connection of a load run is a descriptor (two
//! with the embedded target, whose server side lives here too), and past the limit connections
//! fail with `Too many open files`. Before a run that needs more than the hard limit, the hard
//! limit itself is raised (which only a process with `CAP_SYS_RESOURCE` may do: elsewhere the
//! attempt fails with `EPERM`, quietly), then the soft limit as far as the hard one allows; a
//! run that still would not fit is refused up front with the number it needs.

/// The open-file limits in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit: what this process may open.
    pub soft: u64,
    /// The hard limit: how far an unprivileged process may raise the soft one.
    pub hard: u64,
    /// Why the hard limit could not be raised to what the run needs, when it was tried (`EPERM`
    /// without `CAP_SYS_RESOURCE`, `EINVAL` past `fs.nr_open`).
    pub hard_refused: Option<String>,
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
        let mut hard_refused = None;
        // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            #[allow(clippy::useless_conversion)]
            let wanted: libc::rlim_t = needed.try_into().unwrap_or(libc::rlim_t::MAX);
            if wanted > limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: wanted,
                    rlim_max: wanted,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                } else {
                    hard_refused = Some(std::io::Error::last_os_error().to_string());
                }
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
            hard_refused,
        })
    }
    #[cfg(not(unix))]
    {
        let _ = needed;
        None
    }
}
