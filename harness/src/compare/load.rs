//! Load changes: throughput (successful operations), p50 and p99 per fixture and target, with
//! the runs' own spread as the noise floor. A candidate whose runs have errors where the
//! baseline's had none, or no successful operation (no latency) where the baseline had some, is
//! a regression whatever the figures; a (fixture, target) only in the baseline is `removed`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::document::LoadRun;

/// The verdict on one fixture's load figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Slower beyond the threshold and beyond the noise.
    Regression,
    /// Faster beyond the threshold and beyond the noise.
    Improvement,
    /// A change beyond the threshold, but within the spread of the runs.
    WithinNoise,
    /// Within the threshold.
    Unchanged,
    /// Only in the baseline: a regression unless removals are allowed.
    Removed,
    /// Only in the candidate.
    Added,
}

impl Verdict {
    /// The words reports use for it.
    pub fn describe(self) -> &'static str {
        match self {
            Verdict::Regression => "REGRESSION",
            Verdict::Improvement => "improvement",
            Verdict::WithinNoise => "within noise",
            Verdict::Unchanged => "unchanged",
            Verdict::Removed => "removed",
            Verdict::Added => "added",
        }
    }
}

/// One side's figures: medians of its runs, and their spread.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Runs.
    pub runs: usize,
    /// Median throughput, successful ops/s.
    pub throughput: f64,
    /// Median p50, us, of the runs with a successful operation (`None`: no run had one).
    pub p50_us: Option<f64>,
    /// Median p99, us, likewise.
    pub p99_us: Option<f64>,
    /// Failed operations, all runs together.
    #[serde(default)]
    pub errors: u64,
    /// Largest relative spread ((max - min) / median) of throughput and p99 over the runs; 0 for
    /// one run.
    pub spread: f64,
}

/// One fixture's comparison.
#[derive(Debug, Clone, Serialize)]
pub struct LoadDelta {
    /// Fixture.
    pub fixture: String,
    /// Target.
    pub target: String,
    /// Baseline figures.
    pub baseline: Option<Stats>,
    /// Candidate figures.
    pub candidate: Option<Stats>,
    /// Relative throughput change (candidate / baseline - 1).
    pub throughput_change: Option<f64>,
    /// Relative p50 change.
    pub p50_change: Option<f64>,
    /// Relative p99 change.
    pub p99_change: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn spread(values: &[f64]) -> f64 {
    let (min, max) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let mid = median(values.to_vec());
    if values.len() < 2 || mid == 0.0 {
        0.0
    } else {
        (max - min) / mid
    }
}

/// The medians and spread of a side's runs.
pub fn stats(runs: &[LoadRun]) -> Stats {
    let throughput: Vec<f64> = runs.iter().map(|r| r.throughput).collect();
    let p99: Vec<f64> = runs.iter().filter_map(|r| r.p99).collect();
    let p50: Vec<f64> = runs.iter().filter_map(|r| r.p50).collect();
    Stats {
        runs: runs.len(),
        throughput: median(throughput.clone()),
        p50_us: (!p50.is_empty()).then(|| median(p50)),
        p99_us: (!p99.is_empty()).then(|| median(p99.clone())),
        errors: runs.iter().map(|r| r.errors).sum(),
        spread: spread(&throughput).max(spread(&p99)),
    }
}

fn change(before: f64, after: f64) -> f64 {
    if before == 0.0 {
        0.0
    } else {
        after / before - 1.0
    }
}

/// The relative change of a latency, when both sides have one.
fn latency_change(before: Option<f64>, after: Option<f64>) -> Option<f64> {
    Some(change(before?, after?))
}

/// Compares every (fixture, target) present on either side.
pub fn compare(
    baseline: &BTreeMap<(String, String), Vec<LoadRun>>,
    candidate: &BTreeMap<(String, String), Vec<LoadRun>>,
    threshold: f64,
) -> Vec<LoadDelta> {
    let mut keys: Vec<&(String, String)> = baseline.keys().chain(candidate.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|key| {
            let before = baseline.get(key).map(|runs| stats(runs));
            let after = candidate.get(key).map(|runs| stats(runs));
            let mut delta = LoadDelta {
                fixture: key.0.clone(),
                target: key.1.clone(),
                throughput_change: None,
                p50_change: None,
                p99_change: None,
                verdict: if before.is_some() {
                    Verdict::Removed
                } else {
                    Verdict::Added
                },
                baseline: before.clone(),
                candidate: after.clone(),
            };
            if let (Some(b), Some(a)) = (before, after) {
                let throughput = change(b.throughput, a.throughput);
                let p99 = latency_change(b.p99_us, a.p99_us);
                delta.throughput_change = Some(throughput);
                delta.p50_change = latency_change(b.p50_us, a.p50_us);
                delta.p99_change = p99;
                let p99 = p99.unwrap_or(0.0);
                let noise = b.spread.max(a.spread);
                // Slower: less throughput or a longer tail. Faster: the opposite.
                let worse = (-throughput).max(p99);
                let better = throughput.max(-p99);
                // Failing where the baseline did not: errors, or nothing succeeding at all.
                let new_errors = b.errors == 0 && a.errors > 0;
                let lost_latency = b.p99_us.is_some() && a.p99_us.is_none();
                delta.verdict = if new_errors || lost_latency {
                    Verdict::Regression
                } else if worse > threshold {
                    if worse > noise {
                        Verdict::Regression
                    } else {
                        Verdict::WithinNoise
                    }
                } else if better > threshold {
                    if better > noise {
                        Verdict::Improvement
                    } else {
                        Verdict::WithinNoise
                    }
                } else {
                    Verdict::Unchanged
                };
            }
            delta
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(figures: &[(f64, f64)]) -> Vec<LoadRun> {
        figures
            .iter()
            .map(|&(throughput, p99)| LoadRun {
                throughput,
                p50: Some(p99 / 2.0),
                p99: Some(p99),
                errors: 0,
            })
            .collect()
    }

    fn verdict(before: &[(f64, f64)], after: &[(f64, f64)]) -> Verdict {
        let key = ("hello".to_string(), "axum".to_string());
        let b = BTreeMap::from([(key.clone(), runs(before))]);
        let a = BTreeMap::from([(key, runs(after))]);
        compare(&b, &a, 0.05)[0].verdict
    }

    #[test]
    fn slower_beyond_threshold_is_a_regression() {
        assert_eq!(
            verdict(&[(1000.0, 500.0)], &[(900.0, 500.0)]),
            Verdict::Regression
        );
        assert_eq!(
            verdict(&[(1000.0, 500.0)], &[(1000.0, 600.0)]),
            Verdict::Regression
        );
    }

    #[test]
    fn small_changes_and_improvements() {
        assert_eq!(
            verdict(&[(1000.0, 500.0)], &[(980.0, 510.0)]),
            Verdict::Unchanged
        );
        assert_eq!(
            verdict(&[(1000.0, 500.0)], &[(1200.0, 400.0)]),
            Verdict::Improvement
        );
    }

    #[test]
    fn a_change_inside_the_runs_spread_is_noise() {
        // Baseline runs spread by 30%: a 10% drop is within it.
        let noisy = [(1000.0, 500.0), (1300.0, 500.0), (1150.0, 500.0)];
        assert_eq!(verdict(&noisy, &[(1035.0, 500.0)]), Verdict::WithinNoise);
        let steady = [(1000.0, 500.0), (1010.0, 500.0), (990.0, 500.0)];
        assert_eq!(verdict(&steady, &[(900.0, 500.0)]), Verdict::Regression);
    }

    #[test]
    fn medians_over_runs() {
        let s = stats(&runs(&[(1.0, 10.0), (3.0, 30.0), (2.0, 20.0)]));
        assert_eq!((s.runs, s.throughput, s.p99_us), (3, 2.0, Some(20.0)));
        assert!((s.spread - 1.0).abs() < 1e-9);
    }

    #[test]
    fn failing_where_the_baseline_did_not_is_a_regression_and_one_sided_runs_say_which_side() {
        let key = ("hello".to_string(), "axum".to_string());
        let good = runs(&[(1000.0, 500.0)]);
        // Every request failed: no throughput, no latency.
        let failed = vec![LoadRun {
            throughput: 0.0,
            p50: None,
            p99: None,
            errors: 482,
        }];
        let b = BTreeMap::from([(key.clone(), good.clone())]);
        let a = BTreeMap::from([(key.clone(), failed)]);
        let delta = &compare(&b, &a, 0.05)[0];
        assert_eq!(delta.verdict, Verdict::Regression);
        assert_eq!(delta.p99_change, None);
        // A few errors, same figures: still a regression.
        let mut some = good.clone();
        some[0].errors = 3;
        let a = BTreeMap::from([(key.clone(), some)]);
        assert_eq!(compare(&b, &a, 0.05)[0].verdict, Verdict::Regression);
        // Only on one side.
        let none = BTreeMap::new();
        assert_eq!(compare(&b, &none, 0.05)[0].verdict, Verdict::Removed);
        assert_eq!(compare(&none, &b, 0.05)[0].verdict, Verdict::Added);
    }
}
