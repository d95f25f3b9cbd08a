//! `smoke-tester compare`: canary verification. The same requests go to the
//! canary and the baseline at the same moments; the canary fails when its
//! error rate or p95 is worse than the baseline's by more than a tolerance.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Args;
use shipgate_core::actions::Runtime;
use shipgate_core::cli::{GlobalArgs, Ui};
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::checks::{CheckOutcome, Variables};
use crate::probe::Prober;
use crate::report::{Decision, Report, ReportArgs, Series};
use crate::watch::{parse_rate, sample};
use crate::window::{Sample, Stats};
use crate::{AdhocArgs, HttpArgs, parse_duration, parse_percent};

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// The new version's URL
    #[arg(long, value_name = "URL")]
    pub canary: String,
    /// The current version's URL
    #[arg(long, value_name = "URL")]
    pub baseline: String,
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

pub fn execute(globals: &GlobalArgs, args: &CompareArgs) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let mut canary = args.adhoc.to_check(&args.canary)?;
    canary.name = "canary".into();
    let mut baseline = args.adhoc.to_check(&args.baseline)?;
    baseline.name = "baseline".into();
    let duration = parse_duration("duration", &args.duration)?;
    let rate = parse_rate(&args.rate)?;
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
    let prober = Prober::new(&args.http.client_options())?;
    let report = crate::runtime()?.block_on(compare(
        &prober,
        canary,
        baseline,
        crate::process_variables(),
        rate,
        duration,
        tolerance,
    ));
    report.emit(&ui, &Runtime::detect(), &args.reports)
}

pub async fn compare(
    prober: &Prober,
    canary: crate::checks::Check,
    baseline: crate::checks::Check,
    variables: Variables,
    rate: f64,
    duration: Duration,
    tolerance: Tolerance,
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
    let reasons = judge(&canary_stats, &baseline_stats, tolerance);
    let rollback = !reasons.is_empty();
    let reason = if rollback {
        reasons.join("; ")
    } else {
        format!(
            "canary within tolerance: error rate {:.1}% vs {:.1}%, p95 {:.0} ms vs {:.0} ms",
            canary_stats.error_rate_percent,
            baseline_stats.error_rate_percent,
            canary_stats.p95_ms,
            baseline_stats.p95_ms
        )
    };
    let decision = Decision {
        rollback,
        reason,
        breach: None,
        error_rate_percent: canary_stats.error_rate_percent,
        p95_ms: canary_stats.p95_ms,
        stats: BTreeMap::from([
            ("baseline".to_owned(), baseline_stats),
            ("canary".to_owned(), canary_stats),
        ]),
        duration_ms: elapsed.as_millis() as u64,
    };
    let [canary_samples, baseline_samples] = samples;
    Report {
        command: "compare".into(),
        passed: !rollback,
        checks: failures.into_values().collect(),
        decision: Some(decision),
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

/// Why the canary is worse than allowed (empty when it is not).
pub fn judge(canary: &Stats, baseline: &Stats, tolerance: Tolerance) -> Vec<String> {
    let mut reasons = Vec::new();
    if canary.requests == 0 {
        reasons.push("the canary answered no request".to_owned());
        return reasons;
    }
    let allowed_error_rate = baseline.error_rate_percent + tolerance.error_rate_points;
    if canary.error_rate_percent > allowed_error_rate {
        reasons.push(format!(
            "canary error rate {:.1}% exceeds the baseline's {:.1}% by more than {} points",
            canary.error_rate_percent, baseline.error_rate_percent, tolerance.error_rate_points
        ));
    }
    let allowed_p95 = baseline.p95_ms * (1.0 + tolerance.p95_percent / 100.0);
    let slack_ms = tolerance.p95_slack.as_secs_f64() * 1000.0;
    if canary.p95_ms > allowed_p95 && canary.p95_ms - baseline.p95_ms > slack_ms {
        reasons.push(format!(
            "canary p95 {:.0} ms exceeds the baseline's {:.0} ms by more than {}%",
            canary.p95_ms, baseline.p95_ms, tolerance.p95_percent
        ));
    }
    reasons
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
}
