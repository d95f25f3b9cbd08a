//! `smoke-tester watch`: samples the target at a fixed rate, keeps sliding
//! windows of error rate and latency, and calls for a rollback as soon as a
//! threshold is certainly breached. With `--prometheus` it also (or only)
//! judges the same triggers from the service's real traffic, and both
//! signals end in one verdict.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use shipgate_core::actions::Runtime;
use shipgate_core::cli::{GlobalArgs, Ui};
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::analysis::{self, Analysis, Verdict};
use crate::checks::{Check, CheckOutcome, Variables, attempt};
use crate::probe::Prober;
use crate::prometheus::{AnalysisArgs, Prometheus, WatchQueryArgs};
use crate::report::{Decision, Report, ReportArgs, Series};
use crate::window::{Monitor, Sample, Thresholds};
use crate::{HttpArgs, TargetArgs, parse_duration, parse_percent};

#[derive(Args, Debug, Clone)]
pub struct WatchArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// How long to watch
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub duration: String,
    /// Requests per second (per check round), e.g. 2/s
    #[arg(long, value_name = "N/s", default_value = "2/s")]
    pub rate: String,
    /// Roll back above this error rate [default: [smoke] max_error_rate_percent, 5%]
    #[arg(long, value_name = "PERCENT")]
    pub max_error_rate: Option<String>,
    /// Window of the error rate [default: [smoke] error_rate_window, 5m]
    #[arg(long, value_name = "DURATION")]
    pub error_rate_window: Option<String>,
    /// Roll back when p95 latency exceeds this [default: [smoke] max_p95, 5s]
    #[arg(long, value_name = "DURATION")]
    pub max_p95: Option<String>,
    /// Window of the p95 [default: [smoke] p95_window, 10m]
    #[arg(long, value_name = "DURATION")]
    pub p95_window: Option<String>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    #[command(flatten)]
    pub queries: WatchQueryArgs,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub reports: ReportArgs,
}

/// Parses `2/s`, `200/s`, `30/m` or a bare number (per second).
pub fn parse_rate(text: &str) -> Result<f64> {
    let (number, per) = match text.split_once('/') {
        Some((number, unit)) => (number, unit.trim()),
        None => (text, "s"),
    };
    let seconds = match per {
        "s" | "1s" => 1.0,
        "m" | "1m" => 60.0,
        other => parse_duration("rate", other)?.as_secs_f64(),
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| *n > 0.0 && n.is_finite())
        .map(|n| n / seconds)
        .filter(|rate| *rate <= 10_000.0)
        .ok_or_else(|| Error::usage(format!("--rate: `{text}` is not a rate like 2/s (at most 10000/s)")))
}

pub fn run(globals: &GlobalArgs, args: &WatchArgs) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let runtime = Runtime::detect();
    // With --prometheus and no URL or checks file, the metrics alone decide.
    let probing = args.analysis.prometheus.is_none() || args.target.url.is_some() || args.target.checks.is_some();
    let set = if probing { Some(args.target.load()?) } else { None };
    let config = crate::smoke_config(globals, &args.http)?;
    let duration = parse_duration("duration", &args.duration)?;
    let rate = parse_rate(&args.rate)?;
    let optional = |flag: &str, value: &Option<String>, fallback: Duration| match value {
        Some(text) => parse_duration(flag, text),
        None => Ok(fallback),
    };
    let thresholds = Thresholds {
        max_error_rate_percent: match &args.max_error_rate {
            Some(text) => parse_percent("max-error-rate", text)?,
            None => config.max_error_rate_percent,
        },
        error_rate_window: optional(
            "error-rate-window",
            &args.error_rate_window,
            config.error_rate_window.as_duration(),
        )?,
        max_p95: optional("max-p95", &args.max_p95, config.max_p95.as_duration())?,
        p95_window: optional("p95-window", &args.p95_window, config.p95_window.as_duration())?,
        failure_threshold: config.failure_threshold.get(),
        rate_per_second: rate,
    };
    let metrics = match &args.analysis.prometheus {
        Some(url) => {
            let triggers = crate::analysis::watch_triggers(
                &args.queries,
                &config,
                args.analysis.window(&config)?,
                thresholds.max_error_rate_percent,
                thresholds.max_p95,
            )?;
            let interval = match args.target.adhoc.interval.as_deref() {
                Some(text) => parse_duration("interval", text)?,
                None => config.prometheus.interval.as_duration(),
            };
            let prometheus = Prometheus::new(url, &args.http.ca_certs, &runtime)?;
            let analysis = Analysis::new(
                prometheus.shown_url(),
                triggers,
                interval,
                args.analysis.failure_limit(&config)?,
                args.analysis.inconclusive_limit()?,
            );
            Some((prometheus, analysis, interval))
        }
        None => None,
    };
    let prober = Prober::new(&args.http.client_options())?;
    // Hidden unless a person watches a terminal (never in Actions or with --json).
    let progress = ui.progress(duration.as_secs().max(1));
    if let Ok(style) = indicatif::ProgressStyle::with_template("watching [{bar:30}] {pos}/{len}s, {eta} left, {msg}") {
        progress.set_style(style);
    }
    // Even 200 requests a second keep one thread mostly idle; worker
    // threads would only add a cross-thread wake-up to every response.
    let stop = AtomicBool::new(false);
    let (probes, metrics) = crate::single_thread_runtime()?.block_on(async {
        let probes = async {
            match &set {
                Some(set) => Some(
                    watch(
                        &prober,
                        &set.checks,
                        crate::process_variables(),
                        thresholds,
                        duration,
                        &progress,
                        &stop,
                    )
                    .await,
                ),
                None => None,
            }
        };
        let metrics = async {
            let (prometheus, mut analysis, interval) = metrics?;
            let result = analysis::run(&prometheus, &mut analysis, interval, duration, &stop).await;
            // A failed Prometheus ends the probes too: the verdict cannot be complete.
            stop.store(true, Ordering::SeqCst);
            Some((analysis, result))
        };
        tokio::join!(probes, metrics)
    });
    progress.finish_and_clear();
    let report = match metrics {
        Some((analysis, result)) => with_metrics(probes, analysis, result)?,
        None => probes.ok_or_else(|| Error::usage("give a URL, --checks FILE or --prometheus URL"))?,
    };
    report.emit(&ui, &runtime, &args.reports)
}

/// One verdict from both signals: a rollback from either is a rollback;
/// otherwise inconclusive metrics make the whole verdict inconclusive. A
/// Prometheus that failed after retries is that error (exit 3), unless the
/// probes already called a rollback.
fn with_metrics(probes: Option<Report>, mut analysis: Analysis, result: Result<()>) -> Result<Report> {
    if let Err(error) = result {
        let probes_rolled_back = probes
            .as_ref()
            .and_then(|report| report.decision.as_ref())
            .is_some_and(|decision| decision.rollback);
        if !probes_rolled_back || error.exit_code() != ExitCode::External {
            return Err(error);
        }
        analysis.error = Some(error.to_string());
        analysis.reason = format!("Prometheus: {error}");
    } else {
        analysis.finish();
    }
    let verdict_of_metrics = if analysis.error.is_some() {
        Verdict::Inconclusive
    } else {
        analysis.verdict
    };
    let mut report = probes.unwrap_or_else(|| Report {
        command: "watch".into(),
        passed: true,
        checks: Vec::new(),
        decision: None,
        prometheus: None,
        series: Vec::new(),
    });
    let decision = match report.decision.take() {
        Some(mut decision) => {
            // The signal that decided speaks first.
            decision.reason = if decision.rollback || verdict_of_metrics == Verdict::Pass {
                format!("{}; {}", decision.reason, analysis.reason)
            } else {
                format!("{}; probes: {}", analysis.reason, decision.reason)
            };
            decision.rollback |= verdict_of_metrics == Verdict::Rollback;
            decision
        }
        None => Decision::from_analysis(&analysis, verdict_of_metrics),
    };
    let verdict = if decision.rollback {
        Verdict::Rollback
    } else {
        verdict_of_metrics
    };
    report.passed = verdict == Verdict::Pass;
    report.decision = Some(Decision { verdict, ..decision });
    report.prometheus = Some(analysis);
    Ok(report)
}

/// Samples `checks` (round robin) for `duration` and decides on a rollback.
pub async fn watch(
    prober: &Prober,
    checks: &[Check],
    variables: Variables,
    thresholds: Thresholds,
    duration: Duration,
    progress: &indicatif::ProgressBar,
    stop: &AtomicBool,
) -> Report {
    let mut monitor = Monitor::new(thresholds.clone());
    let mut breach = None;
    let mut failures: BTreeMap<String, CheckOutcome> = BTreeMap::new();
    let elapsed = sample(
        prober,
        &[checks.to_vec()],
        variables,
        thresholds.rate_per_second,
        duration,
        |_, sample, outcome| {
            if !outcome.passed {
                failures.entry(outcome.name.clone()).or_insert(outcome);
            }
            progress.set_position(sample.at.as_secs());
            if breach.is_none() {
                breach = monitor.record(sample);
                let window = monitor.current_window();
                progress.set_message(format!(
                    "error rate {:.1}%, p95 {:.0} ms",
                    window.error_rate_percent, window.p95_ms
                ));
            }
            if breach.is_some() {
                stop.store(true, Ordering::SeqCst);
            }
            breach.is_some() || stop.load(Ordering::SeqCst)
        },
    )
    .await;
    let breach = breach.or_else(|| monitor.final_verdict(elapsed));
    let window = monitor.current_window();
    let overall = monitor.overall();
    let reason = match &breach {
        Some(breach) => breach.reason(),
        None => format!(
            "no threshold breached in {:.1}s: error rate {:.1}% (max {}%), p95 {:.0} ms (max {} ms) over {} requests",
            elapsed.as_secs_f64(),
            window.error_rate_percent,
            thresholds.max_error_rate_percent,
            window.p95_ms,
            thresholds.max_p95.as_millis(),
            overall.requests
        ),
    };
    let decision = Decision {
        rollback: breach.is_some(),
        verdict: if breach.is_some() {
            Verdict::Rollback
        } else {
            Verdict::Pass
        },
        reason,
        breach,
        error_rate_percent: window.error_rate_percent,
        p95_ms: window.p95_ms,
        p95_limit_ms: Some(thresholds.max_p95.as_secs_f64() * 1000.0),
        stats: BTreeMap::from([("overall".to_owned(), overall), ("window".to_owned(), window)]),
        statistics: None,
        duration_ms: elapsed.as_millis() as u64,
    };
    Report {
        command: "watch".into(),
        passed: !decision.rollback,
        checks: failures.into_values().collect(),
        decision: Some(decision),
        prometheus: None,
        series: vec![Series {
            name: "target".into(),
            samples: monitor.history.clone(),
        }],
    }
}

/// Sends one round per tick (`rate` per second) to every target until
/// `duration` has passed or `on_sample` returns true; each target's checks
/// are taken round robin. Requests in flight at the end are awaited, except
/// after an early stop. Returns the time sampled.
pub async fn sample<F>(
    prober: &Prober,
    targets: &[Vec<Check>],
    variables: Variables,
    rate: f64,
    duration: Duration,
    mut on_sample: F,
) -> Duration
where
    F: FnMut(usize, Sample, CheckOutcome) -> bool,
{
    let started = Instant::now();
    let variables = Arc::new(variables);
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = tokio::task::JoinSet::new();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let deadline = tokio::time::Instant::from_std(started + duration);
    let mut round = 0usize;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            _ = ticker.tick() => {
                let at = started.elapsed();
                for (target, checks) in targets.iter().enumerate() {
                    if checks.is_empty() {
                        continue;
                    }
                    let check = checks[round % checks.len()].clone();
                    let (prober, variables, sender) = (prober.clone(), variables.clone(), sender.clone());
                    tasks.spawn(async move {
                        let sent = Instant::now();
                        let (outcome, _) = attempt(&prober, &check, &variables).await;
                        let sample = Sample { at, latency: sent.elapsed(), ok: outcome.passed };
                        let _ = sender.send((target, sample, outcome));
                    });
                }
                round += 1;
            }
            Some((target, sample, outcome)) = receiver.recv() => {
                if on_sample(target, sample, outcome) {
                    tasks.abort_all();
                    return started.elapsed();
                }
            }
        }
        // Finished tasks are reaped so the set does not grow for the whole run.
        while tasks.try_join_next().is_some() {}
    }
    drop(sender);
    while let Some((target, sample, outcome)) = receiver.recv().await {
        if on_sample(target, sample, outcome) {
            tasks.abort_all();
            break;
        }
    }
    started.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!(parse_rate("2/s").unwrap(), 2.0);
        assert_eq!(parse_rate("200/s").unwrap(), 200.0);
        assert_eq!(parse_rate("30/m").unwrap(), 0.5);
        assert_eq!(parse_rate("5").unwrap(), 5.0);
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("fast").is_err());
    }
}
