//! `smoke-tester compare`: canary verification. The same requests go to the
//! canary and the baseline at the same moments; the canary fails when its
//! error rate or p95 is worse than the baseline's by more than a tolerance
//! and the difference is statistically significant (`stats`); below the
//! minimum sample size the verdict is inconclusive. With `--prometheus` the
//! two are compared from their metrics instead (`analysis`).

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Args;
use shipgate_core::actions::Runtime;
use shipgate_core::cli::{GlobalArgs, Ui};
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::analysis::{self, Analysis, Baseline, Trigger, Unit, Verdict};
use crate::checks::{CheckOutcome, Variables};
use crate::probe::Prober;
use crate::prometheus::{AnalysisArgs, Prometheus};
use crate::report::{Decision, Report, ReportArgs, Series};
use crate::stats::Comparison;
use crate::watch::{parse_rate, sample};
use crate::window::{Sample, Stats};
use crate::{AdhocArgs, HttpArgs, parse_duration, parse_percent};

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// The new version's URL
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "prometheus",
        conflicts_with = "prometheus"
    )]
    pub canary: Option<String>,
    /// The current version's URL
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "prometheus",
        conflicts_with = "prometheus"
    )]
    pub baseline: Option<String>,
    /// With --prometheus: series selector of the canary's metrics, e.g. '{job="api-canary"}'
    #[arg(long, value_name = "SELECTOR", requires = "prometheus")]
    pub canary_selector: Option<String>,
    /// With --prometheus: series selector of the baseline's metrics, e.g. '{job="api"}'
    #[arg(long, value_name = "SELECTOR", requires = "prometheus")]
    pub baseline_selector: Option<String>,
    /// How long to sample both
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub duration: String,
    /// Requests per second to each target, e.g. 5/s
    #[arg(long, value_name = "N/s", default_value = "5/s")]
    pub rate: String,
    /// Allowed extra error rate of the canary, in percentage points
    #[arg(long, value_name = "PERCENT", default_value = "1%")]
    pub error_rate_tolerance: String,
    /// Allowed extra p95 latency of the canary, relative to the baseline's
    #[arg(long, value_name = "PERCENT", default_value = "20%")]
    pub p95_tolerance: String,
    /// A p95 difference below this never fails (noise on fast endpoints)
    #[arg(long, value_name = "DURATION", default_value = "10ms")]
    pub p95_slack: String,
    /// Fewer requests to either target make the verdict inconclusive [default: [smoke] min_samples, 10]
    #[arg(long, value_name = "N")]
    pub min_samples: Option<usize>,
    /// Significance level: a worse canary fails only when the test's p-value is below it
    #[arg(long, value_name = "P", default_value_t = 0.05)]
    pub alpha: f64,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    #[command(flatten)]
    pub adhoc: AdhocArgs,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub reports: ReportArgs,
}

/// How much worse the canary may be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub error_rate_points: f64,
    pub p95_percent: f64,
    pub p95_slack: Duration,
}

/// The significance settings of the synthetic comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Significance {
    pub min_samples: usize,
    pub alpha: f64,
}

pub fn run(globals: &GlobalArgs, args: &CompareArgs) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let duration = parse_duration("duration", &args.duration)?;
    let tolerance = Tolerance {
        error_rate_points: parse_percent("error-rate-tolerance", &args.error_rate_tolerance)?,
        p95_percent: parse_percent("p95-tolerance", &args.p95_tolerance).or_else(|_| {
            // Relative tolerances above 100% are legitimate (2x slower allowed).
            args.p95_tolerance
                .trim_end_matches('%')
                .parse::<f64>()
                .ok()
                .filter(|v| *v >= 0.0)
                .ok_or_else(|| Error::usage(format!("--p95-tolerance: `{}` is not a percentage", args.p95_tolerance)))
        })?,
        p95_slack: parse_duration("p95-slack", &args.p95_slack)?,
    };
    if let Some(url) = &args.analysis.prometheus {
        return compare_metrics(globals, args, url, duration, tolerance, &ui);
    }
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        return Err(Error::usage(format!("--alpha: {} is not between 0 and 1", args.alpha)));
    }
    let config = crate::smoke_config(globals, &args.http)?;
    let significance = Significance {
        min_samples: args.min_samples.unwrap_or(config.min_samples as usize).max(1),
        alpha: args.alpha,
    };
    let (Some(canary_url), Some(baseline_url)) = (&args.canary, &args.baseline) else {
        return Err(Error::usage(
            "give --canary and --baseline URLs, or --prometheus with selectors",
        ));
    };
    let mut canary = args.adhoc.to_check(canary_url)?;
    canary.name = "canary".into();
    let mut baseline = args.adhoc.to_check(baseline_url)?;
    baseline.name = "baseline".into();
    let rate = parse_rate(&args.rate)?;
    let prober = Prober::new(&args.http.client_options())?;
    let report = crate::runtime()?.block_on(compare(
        &prober,
        [canary, baseline],
        crate::process_variables(),
        rate,
        duration,
        tolerance,
        significance,
    ));
    report.emit(&ui, &Runtime::detect(), &args.reports)
}

/// `compare --prometheus`: each interval, the canary's error rate and p95
/// against thresholds that follow the baseline's, with the same tolerances.
fn compare_metrics(
    globals: &GlobalArgs,
    args: &CompareArgs,
    url: &str,
    duration: Duration,
    tolerance: Tolerance,
    ui: &Ui,
) -> Result<ExitCode> {
    let runtime = Runtime::detect();
    let config = crate::smoke_config(globals, &args.http)?;
    let selector = |flag: &str, value: &Option<String>| -> Result<String> {
        let text = value
            .as_deref()
            .ok_or_else(|| Error::usage(format!("--prometheus needs --{flag} '{{job=\"...\"}}'")))?;
        crate::prometheus::matchers(flag, text)
    };
    let canary = selector("canary-selector", &args.canary_selector)?;
    let baseline = selector("baseline-selector", &args.baseline_selector)?;
    let window = args.analysis.window(&config)?;
    let names = &config.prometheus;
    let triggers = vec![
        Trigger {
            name: "error rate".into(),
            query: crate::prometheus::error_ratio_query(names, &canary, window),
            unit: Unit::Ratio,
            threshold: 0.0,
            baseline: Some(Baseline {
                query: crate::prometheus::error_ratio_query(names, &baseline, window),
                relative: 0.0,
                slack: tolerance.error_rate_points / 100.0,
            }),
        },
        Trigger {
            name: "p95".into(),
            query: crate::prometheus::p95_query(names, &canary, window),
            unit: Unit::Seconds,
            threshold: 0.0,
            baseline: Some(Baseline {
                query: crate::prometheus::p95_query(names, &baseline, window),
                relative: tolerance.p95_percent / 100.0,
                slack: tolerance.p95_slack.as_secs_f64(),
            }),
        },
    ];
    let interval = match args.adhoc.interval.as_deref() {
        Some(text) => parse_duration("interval", text)?,
        None => config.prometheus.interval.as_duration(),
    };
    let prometheus = Prometheus::new(url, &args.http.ca_certs, &runtime)?;
    let mut analysis = Analysis::new(
        prometheus.shown_url(),
        triggers,
        interval,
        args.analysis.failure_limit(&config)?,
        args.analysis.inconclusive_limit()?,
    );
    let stop = std::sync::atomic::AtomicBool::new(false);
    crate::single_thread_runtime()?.block_on(analysis::run(&prometheus, &mut analysis, interval, duration, &stop))?;
    let verdict = analysis.finish();
    let decision = Decision::from_analysis(&analysis, verdict);
    let report = Report {
        command: "compare".into(),
        passed: verdict == Verdict::Pass,
        checks: Vec::new(),
        decision: Some(decision),
        prometheus: Some(analysis),
        series: Vec::new(),
    };
    report.emit(ui, &runtime, &args.reports)
}

/// Samples `[canary, baseline]` side by side and judges the canary.
pub async fn compare(
    prober: &Prober,
    [canary, baseline]: [crate::checks::Check; 2],
    variables: Variables,
    rate: f64,
    duration: Duration,
    tolerance: Tolerance,
    significance: Significance,
) -> Report {
    let mut samples: [Vec<Sample>; 2] = [Vec::new(), Vec::new()];
    let mut failures: BTreeMap<String, CheckOutcome> = BTreeMap::new();
    let elapsed = sample(
        prober,
        &[vec![canary], vec![baseline]],
        variables,
        rate,
        duration,
        |target, sample, outcome| {
            samples[target].push(sample);
            if !outcome.passed {
                failures.entry(outcome.name.clone()).or_insert(outcome);
            }
            false
        },
    )
    .await;
    for series in &mut samples {
        series.sort_by_key(|s| s.at);
    }
    let canary_stats = Stats::of(&samples[0]);
    let baseline_stats = Stats::of(&samples[1]);
    let latencies = |series: &[Sample]| -> Vec<f64> { series.iter().map(|s| s.latency.as_secs_f64()).collect() };
    let comparison = Comparison::of(
        &latencies(&samples[0]),
        canary_stats.errors,
        &latencies(&samples[1]),
        baseline_stats.errors,
        significance.min_samples,
        significance.alpha,
    );
    let (verdict, reason) = verdict(&canary_stats, &baseline_stats, tolerance, &comparison);
    let rollback = verdict == Verdict::Rollback;
    let decision = Decision {
        rollback,
        verdict,
        reason,
        breach: None,
        error_rate_percent: canary_stats.error_rate_percent,
        p95_ms: canary_stats.p95_ms,
        p95_limit_ms: Some(allowed_p95_ms(&baseline_stats, tolerance)),
        stats: BTreeMap::from([
            ("baseline".to_owned(), baseline_stats),
            ("canary".to_owned(), canary_stats),
        ]),
        statistics: Some(comparison),
        duration_ms: elapsed.as_millis() as u64,
    };
    let [canary_samples, baseline_samples] = samples;
    Report {
        command: "compare".into(),
        passed: verdict == Verdict::Pass,
        checks: failures.into_values().collect(),
        decision: Some(decision),
        prometheus: None,
        series: vec![
            Series {
                name: "canary".into(),
                samples: canary_samples,
            },
            Series {
                name: "baseline".into(),
                samples: baseline_samples,
            },
        ],
    }
}

/// The canary's p95 limit: the baseline's plus the tolerance, and never
/// less than the baseline's plus the slack (a few ms of noise on a fast
/// endpoint is not a regression).
pub fn allowed_p95_ms(baseline: &Stats, tolerance: Tolerance) -> f64 {
    let relative = baseline.p95_ms * (1.0 + tolerance.p95_percent / 100.0);
    let slack_ms = tolerance.p95_slack.as_secs_f64() * 1000.0;
    relative.max(baseline.p95_ms + slack_ms)
}

/// The verdict and its reason: a canary worse than the tolerance allows
/// fails only when the test says the difference is significant; too few
/// samples on either side are inconclusive.
pub fn verdict(canary: &Stats, baseline: &Stats, tolerance: Tolerance, comparison: &Comparison) -> (Verdict, String) {
    if canary.requests == 0 {
        return (Verdict::Rollback, "the canary answered no request".to_owned());
    }
    if comparison.too_few_samples() {
        return (
            Verdict::Inconclusive,
            format!(
                "too few samples to judge: canary {}, baseline {} (at least {} each)",
                comparison.canary_samples, comparison.baseline_samples, comparison.min_samples
            ),
        );
    }
    let p = |test: Option<crate::stats::TestResult>| test.map_or(1.0, |t| t.p_value);
    let mut reasons = Vec::new();
    let mut noise = Vec::new();
    if let Some(reason) = error_rate_exceeds(canary, baseline, tolerance) {
        let with_p = format!("{reason} (two-proportion z-test p = {:.4})", p(comparison.errors));
        if comparison.errors_significant() {
            reasons.push(with_p);
        } else {
            noise.push(with_p);
        }
    }
    if let Some(reason) = p95_exceeds(canary, baseline, tolerance) {
        let with_p = format!("{reason} (Mann-Whitney U p = {:.4})", p(comparison.latency));
        if comparison.latency_significant() {
            reasons.push(with_p);
        } else {
            noise.push(with_p);
        }
    }
    if !reasons.is_empty() {
        return (Verdict::Rollback, reasons.join("; "));
    }
    let mut reason = format!(
        "canary within tolerance: error rate {:.1}% vs {:.1}%, p95 {:.0} ms vs {:.0} ms",
        canary.error_rate_percent, baseline.error_rate_percent, canary.p95_ms, baseline.p95_ms
    );
    if !noise.is_empty() {
        reason.push_str(&format!(
            "; not significant at alpha {}: {}",
            comparison.alpha,
            noise.join("; ")
        ));
    }
    (Verdict::Pass, reason)
}

/// Why the canary is worse than allowed (empty when it is not), before
/// any significance test.
pub fn judge(canary: &Stats, baseline: &Stats, tolerance: Tolerance) -> Vec<String> {
    if canary.requests == 0 {
        return vec!["the canary answered no request".to_owned()];
    }
    [
        error_rate_exceeds(canary, baseline, tolerance),
        p95_exceeds(canary, baseline, tolerance),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn error_rate_exceeds(canary: &Stats, baseline: &Stats, tolerance: Tolerance) -> Option<String> {
    let allowed_error_rate = baseline.error_rate_percent + tolerance.error_rate_points;
    (canary.error_rate_percent > allowed_error_rate).then(|| {
        format!(
            "canary error rate {:.1}% exceeds the baseline's {:.1}% by more than {} points",
            canary.error_rate_percent, baseline.error_rate_percent, tolerance.error_rate_points
        )
    })
}

fn p95_exceeds(canary: &Stats, baseline: &Stats, tolerance: Tolerance) -> Option<String> {
    (canary.p95_ms > allowed_p95_ms(baseline, tolerance)).then(|| {
        format!(
            "canary p95 {:.0} ms exceeds the baseline's {:.0} ms by more than {}%",
            canary.p95_ms, baseline.p95_ms, tolerance.p95_percent
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(error_rate_percent: f64, p95_ms: f64) -> Stats {
        Stats {
            requests: 100,
            errors: error_rate_percent as usize,
            error_rate_percent,
            p50_ms: p95_ms / 2.0,
            p95_ms,
            p99_ms: p95_ms,
        }
    }

    #[test]
    fn the_canary_may_be_worse_only_within_tolerance() {
        let tolerance = Tolerance {
            error_rate_points: 1.0,
            p95_percent: 20.0,
            p95_slack: Duration::from_millis(10),
        };
        assert!(judge(&stats(1.5, 110.0), &stats(1.0, 100.0), tolerance).is_empty());
        let reasons = judge(&stats(5.0, 100.0), &stats(1.0, 100.0), tolerance);
        assert_eq!(
            reasons,
            ["canary error rate 5.0% exceeds the baseline's 1.0% by more than 1 points"]
        );
        let reasons = judge(&stats(1.0, 300.0), &stats(1.0, 100.0), tolerance);
        assert_eq!(
            reasons,
            ["canary p95 300 ms exceeds the baseline's 100 ms by more than 20%"]
        );
        // 2 ms vs 1 ms is +100% but within the slack.
        assert!(judge(&stats(0.0, 2.0), &stats(0.0, 1.0), tolerance).is_empty());
    }

    fn samples(latencies_ms: &[u64], failed: &[usize]) -> Vec<Sample> {
        latencies_ms
            .iter()
            .enumerate()
            .map(|(index, ms)| Sample {
                at: Duration::from_millis(index as u64 * 100),
                latency: Duration::from_millis(*ms),
                ok: !failed.contains(&index),
            })
            .collect()
    }

    fn judged(canary: &[Sample], baseline: &[Sample]) -> (Verdict, String) {
        let tolerance = Tolerance {
            error_rate_points: 1.0,
            p95_percent: 20.0,
            p95_slack: Duration::from_millis(10),
        };
        let (canary_stats, baseline_stats) = (Stats::of(canary), Stats::of(baseline));
        let seconds = |series: &[Sample]| -> Vec<f64> { series.iter().map(|s| s.latency.as_secs_f64()).collect() };
        let comparison = Comparison::of(
            &seconds(canary),
            canary_stats.errors,
            &seconds(baseline),
            baseline_stats.errors,
            10,
            0.05,
        );
        verdict(&canary_stats, &baseline_stats, tolerance, &comparison)
    }

    #[test]
    fn a_few_slow_requests_at_low_volume_are_not_a_rollback() {
        // Two slow outliers in 12 push the canary's p95 far up, but the bulk
        // of its latencies is the baseline's: not significant.
        let baseline = samples(&[20, 21, 22, 23, 24, 25, 20, 21, 22, 23, 24, 25], &[]);
        let canary = samples(&[20, 21, 22, 23, 24, 25, 20, 21, 22, 23, 400, 450], &[]);
        let (verdict, reason) = judged(&canary, &baseline);
        assert_eq!(verdict, Verdict::Pass, "{reason}");
        assert!(reason.contains("not significant at alpha 0.05"), "{reason}");

        // Every request slower: significant.
        let slow = samples(&[60, 61, 62, 63, 64, 65, 60, 61, 62, 63, 64, 65], &[]);
        let (verdict, reason) = judged(&slow, &baseline);
        assert_eq!(verdict, Verdict::Rollback, "{reason}");
        assert!(
            reason.starts_with(
                "canary p95 65 ms exceeds the baseline's 25 ms by more than 20% (Mann-Whitney U p = 0.0000"
            ),
            "{reason}"
        );

        // One error in 12 against none is noise; 6 in 12 is not.
        let one_error = samples(&[20, 21, 22, 23, 24, 25, 20, 21, 22, 23, 24, 25], &[3]);
        assert_eq!(judged(&one_error, &baseline).0, Verdict::Pass);
        let half_errors = samples(&[20, 21, 22, 23, 24, 25, 20, 21, 22, 23, 24, 25], &[0, 2, 4, 6, 8, 10]);
        assert_eq!(judged(&half_errors, &baseline).0, Verdict::Rollback);
    }

    #[test]
    fn below_the_minimum_sample_size_the_verdict_is_inconclusive() {
        let baseline = samples(&[20, 21, 22, 23, 24, 25, 20, 21, 22, 23, 24, 25], &[]);
        let canary = samples(&[500, 500, 500], &[0, 1, 2]);
        assert_eq!(
            judged(&canary, &baseline),
            (
                Verdict::Inconclusive,
                "too few samples to judge: canary 3, baseline 12 (at least 10 each)".to_owned()
            )
        );
    }
}
