//! Resource use, read from `/proc` (Linux): the harness's own peak RSS (`VmHWM`), and the CPU and
//! memory of a runner's whole process tree (every process in the app's process group: the
//! interpreter, its workers, a JVM's threads are in their process) sampled every
//! [`SAMPLE_EVERY`] during the measured window. Parsing is pure and tested on fixed text; the
//! sampler reads the files off the async threads.

use std::time::{Duration, Instant};

use super::schedule::Window;
use crate::results::load::{ResourceSample, RunnerResources, SAMPLE_EVERY};

/// The fields of `/proc/PID/stat` the sampler needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Process group.
    pub pgrp: i32,
    /// User plus system CPU time, in clock ticks.
    pub ticks: u64,
}

/// Reads `/proc/PID/stat`: `pid (comm) state ppid pgrp ... utime stime ...`. The command name
/// may hold spaces and parentheses, so fields are counted after its last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let after = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().take(13).collect();
    // After the name: state(0) ppid(1) pgrp(2) session(3) tty_nr(4) tpgid(5) flags(6)
    // minflt(7) cminflt(8) majflt(9) cmajflt(10) utime(11) stime(12).
    let pgrp = fields.get(2)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Stat {
        pgrp,
        ticks: utime + stime,
    })
}

/// A `kB` line of `/proc/PID/status` (`VmRSS:    1234 kB`), in bytes.
pub fn parse_status_kb(text: &str, key: &str) -> Option<u64> {
    let line = text
        .lines()
        .find(|line| line.strip_prefix(key).is_some_and(|r| r.starts_with(':')))?;
    let kb: u64 = line[key.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// This process's peak resident memory (`VmHWM`), where `/proc` has it.
pub fn peak_rss() -> Option<u64> {
    parse_status_kb(&std::fs::read_to_string("/proc/self/status").ok()?, "VmHWM")
}

/// CPU ticks and resident memory of a process group, summed over its processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupUsage {
    /// Processes found.
    pub processes: usize,
    /// User plus system ticks.
    pub ticks: u64,
    /// Resident bytes.
    pub rss_bytes: u64,
}

/// Walks `/proc` for the processes of group `pgid`.
pub fn group_usage(pgid: i32) -> GroupUsage {
    let mut usage = GroupUsage::default();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return usage;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Some(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .as_deref()
            .and_then(parse_stat)
        else {
            continue;
        };
        if stat.pgrp != pgid {
            continue;
        }
        usage.processes += 1;
        usage.ticks += stat.ticks;
        usage.rss_bytes += std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| parse_status_kb(&s, "VmRSS"))
            .unwrap_or(0);
    }
    usage
}

/// Clock ticks per second (`_SC_CLK_TCK`).
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// CPU percent of one core between two readings `elapsed` apart.
pub fn cpu_percent(before_ticks: u64, after_ticks: u64, elapsed: Duration, hz: f64) -> f64 {
    if elapsed.is_zero() {
        return 0.0;
    }
    let seconds = after_ticks.saturating_sub(before_ticks) as f64 / hz;
    (seconds / elapsed.as_secs_f64() * 1000.0).round() / 10.0
}

async fn usage_now(pgid: i32) -> (Instant, GroupUsage) {
    let usage = tokio::task::spawn_blocking(move || group_usage(pgid))
        .await
        .unwrap_or_default();
    (Instant::now(), usage)
}

/// Samples group `pgid` every [`SAMPLE_EVERY`] from the start of measurement to its end.
pub async fn sample_group(pgid: i32, window: Window) -> RunnerResources {
    let hz = ticks_per_second();
    tokio::time::sleep_until(window.measure_from.into()).await;
    let (mut at, mut last) = usage_now(pgid).await;
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval_at((at + SAMPLE_EVERY).into(), SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if Instant::now() > window.end + SAMPLE_EVERY / 2 {
            break;
        }
        let (now, usage) = usage_now(pgid).await;
        samples.push(ResourceSample {
            t_s: (now
                .saturating_duration_since(window.measure_from)
                .as_secs_f64()
                * 1000.0)
                .round()
                / 1000.0,
            cpu_percent: cpu_percent(last.ticks, usage.ticks, now - at, hz),
            rss_bytes: usage.rss_bytes,
        });
        (at, last) = (now, usage);
        if now >= window.end {
            break;
        }
    }
    RunnerResources::new(pgid, samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::load::MeanMax;

    const STAT: &str = "4242 (python3 (worker) x) S 4200 4200 4200 0 -1 4194560 1234 0 5 0 \
                        370 45 0 0 20 0 3 0 987654 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 16781312 16386 0 0 0 17 1 0 0 0 0 0";

    const STATUS: &str = "Name:\tpython3\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t  250000 kB\n\
                          VmHWM:\t   12000 kB\nVmRSS:\t    8192 kB\nRssAnon:\t    4096 kB\nThreads:\t3\n";

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        assert_eq!(
            parse_stat(STAT),
            Some(Stat {
                pgrp: 4200,
                ticks: 415
            })
        );
        assert_eq!(parse_stat("12 (sh) R 1"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn status_lines_in_bytes() {
        assert_eq!(parse_status_kb(STATUS, "VmRSS"), Some(8192 * 1024));
        assert_eq!(parse_status_kb(STATUS, "VmHWM"), Some(12000 * 1024));
        // `RssAnon` is not `Rss`, nor is a missing key anything.
        assert_eq!(parse_status_kb(STATUS, "Rss"), None);
        assert_eq!(parse_status_kb(STATUS, "VmSwap"), None);
        assert!(peak_rss().is_some_and(|bytes| bytes > 0));
    }

    #[test]
    fn cpu_percent_and_the_block() {
        // 50 ticks at 100 Hz in 250 ms: two cores busy.
        assert_eq!(
            cpu_percent(100, 150, Duration::from_millis(250), 100.0),
            200.0
        );
        assert_eq!(
            cpu_percent(150, 100, Duration::from_millis(250), 100.0),
            0.0
        );
        assert_eq!(cpu_percent(0, 5, Duration::ZERO, 100.0), 0.0);
        let block = RunnerResources::new(
            7,
            vec![
                ResourceSample {
                    t_s: 0.25,
                    cpu_percent: 50.0,
                    rss_bytes: 100,
                },
                ResourceSample {
                    t_s: 0.5,
                    cpu_percent: 150.0,
                    rss_bytes: 300,
                },
            ],
        );
        assert_eq!(
            block.cpu_percent,
            MeanMax {
                mean: 100.0,
                max: 150.0
            }
        );
        assert_eq!(
            block.rss_bytes,
            MeanMax {
                mean: 200,
                max: 300
            }
        );
        let json = serde_json::to_value(&block).unwrap();
        assert_eq!(json["samples"][1]["rss_bytes"], 300);
        assert_eq!(RunnerResources::new(7, Vec::new()).rss_bytes.max, 0);
    }

    #[test]
    fn this_process_group_is_found() {
        // SAFETY: getpgrp has no preconditions.
        let pgid = unsafe { libc::getpgrp() };
        let usage = group_usage(pgid);
        assert!(usage.processes >= 1, "{usage:?}");
        assert!(usage.rss_bytes > 0, "{usage:?}");
    }
}
