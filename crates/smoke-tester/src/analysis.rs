//! Rollback triggers judged from metrics, the way Argo Rollouts' analysis
//! runs judge them: every `interval` each query is measured once; a
//! measurement above its threshold is a breach, one without a value (no
//! series, NaN) is inconclusive. `failure_limit` consecutive breaches of one
//! query call a rollback; `inconclusive_limit` consecutive measurements
//! without data end the analysis as inconclusive. A query that never had a
//! value by the end is inconclusive too: missing data is never a pass.
//!
//! The threshold is fixed (`watch`: the seed's 5% and 5 s) or follows a
//! baseline query measured in the same cycle (`compare --prometheus`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use shipgate_core::actions::Summary;
use shipgate_core::config::SmokeConfig;
use shipgate_core::exit::{Error, Result};

use crate::chart::{LIMIT_COLOUR, SERIES_COLOURS, front_matter};
use crate::prometheus::{self, Prometheus};

/// The three ends of an analysis, and the `verdict` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Rollback,
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Rollback => "rollback",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// What a query's value measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// A share between 0 and 1, shown as a percentage.
    Ratio,
    /// A duration in seconds, shown in milliseconds.
    Seconds,
}

impl Unit {
    /// The value as people read it: `4.2%`, `350 ms`.
    pub fn show(self, value: f64) -> String {
        match self {
            Unit::Ratio => format!("{:.1}%", value * 100.0),
            Unit::Seconds if value.is_infinite() => "+Inf s".to_owned(),
            Unit::Seconds => format!("{:.0} ms", value * 1000.0),
        }
    }

    /// The value on the chart's axis.
    fn scaled(self, value: f64) -> f64 {
        match self {
            Unit::Ratio => value * 100.0,
            Unit::Seconds => value * 1000.0,
        }
    }

    fn axis(self) -> &'static str {
        match self {
            Unit::Ratio => "percent",
            Unit::Seconds => "ms",
        }
    }
}

/// A threshold that follows the baseline: the canary breaches above
/// `max(baseline × (1 + relative), baseline + slack)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    pub query: String,
    pub relative: f64,
    pub slack: f64,
}

impl Baseline {
    pub fn threshold_for(&self, baseline: f64) -> f64 {
        (baseline * (1.0 + self.relative)).max(baseline + self.slack)
    }
}

/// One query and what it may not exceed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trigger {
    pub name: String,
    pub query: String,
    pub unit: Unit,
    /// The fixed threshold; unused when `baseline` is set.
    pub threshold: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
}

/// How one measurement came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Breach,
    Inconclusive,
}

/// One measurement of one query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    /// Since the analysis started.
    pub at_ms: u64,
    pub value: Option<f64>,
    /// None when the baseline had no value.
    pub threshold: Option<f64>,
    pub outcome: Outcome,
}

/// A trigger with its measurements so far.
#[derive(Debug, Clone, Serialize)]
pub struct TriggerRun {
    #[serde(flatten)]
    pub trigger: Trigger,
    pub measurements: Vec<Measurement>,
    #[serde(skip)]
    consecutive_breaches: u32,
    #[serde(skip)]
    consecutive_inconclusive: u32,
}

impl TriggerRun {
    fn count(&self, outcome: Outcome) -> usize {
        self.measurements.iter().filter(|m| m.outcome == outcome).count()
    }
}

/// An analysis run against one Prometheus.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// The server, without credentials or query.
    pub prometheus: String,
    pub interval_ms: u64,
    pub failure_limit: u32,
    pub inconclusive_limit: u32,
    pub verdict: Verdict,
    pub reason: String,
    pub triggers: Vec<TriggerRun>,
    /// Why the analysis stopped early, when Prometheus failed after retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    decided: bool,
}

impl Analysis {
    pub fn new(
        prometheus: String,
        triggers: Vec<Trigger>,
        interval: Duration,
        failure_limit: u32,
        inconclusive_limit: u32,
    ) -> Analysis {
        Analysis {
            prometheus,
            interval_ms: interval.as_millis() as u64,
            failure_limit,
            inconclusive_limit,
            verdict: Verdict::Pass,
            reason: String::new(),
            triggers: triggers
                .into_iter()
                .map(|trigger| TriggerRun {
                    trigger,
                    measurements: Vec::new(),
                    consecutive_breaches: 0,
                    consecutive_inconclusive: 0,
                })
                .collect(),
            error: None,
            decided: false,
        }
    }

    /// Whether a limit was reached (the analysis is over).
    pub fn decided(&self) -> bool {
        self.decided
    }

    /// Records one cycle: for each trigger in order, its value and threshold.
    /// Returns the verdict once a limit is reached.
    pub fn record(&mut self, at: Duration, cycle: &[(Option<f64>, Option<f64>)]) -> Option<Verdict> {
        if self.decided {
            return Some(self.verdict);
        }
        for (run, &(value, threshold)) in self.triggers.iter_mut().zip(cycle) {
            let outcome = match (value, threshold) {
                (Some(value), Some(threshold)) if value > threshold => Outcome::Breach,
                (Some(_), Some(_)) => Outcome::Pass,
                _ => Outcome::Inconclusive,
            };
            match outcome {
                Outcome::Breach => {
                    run.consecutive_breaches += 1;
                    run.consecutive_inconclusive = 0;
                }
                Outcome::Inconclusive => run.consecutive_inconclusive += 1,
                Outcome::Pass => {
                    run.consecutive_breaches = 0;
                    run.consecutive_inconclusive = 0;
                }
            }
            run.measurements.push(Measurement {
                at_ms: at.as_millis() as u64,
                value,
                threshold,
                outcome,
            });
        }
        let seconds = at.as_secs_f64();
        if let Some(run) = self
            .triggers
            .iter()
            .find(|run| run.consecutive_breaches >= self.failure_limit)
        {
            let last = run.measurements.last().expect("a breach was just recorded");
            let unit = run.trigger.unit;
            self.reason = format!(
                "Prometheus: {} {} above {} in {} consecutive measurements, at {seconds:.1}s",
                run.trigger.name,
                show(unit, last.value),
                show(unit, last.threshold),
                run.consecutive_breaches
            );
            return Some(self.decide(Verdict::Rollback));
        }
        if let Some(run) = self
            .triggers
            .iter()
            .find(|run| run.consecutive_inconclusive >= self.inconclusive_limit)
        {
            self.reason = format!(
                "Prometheus: no data for {} in {} consecutive measurements, at {seconds:.1}s (the query matched no series or gave NaN)",
                run.trigger.name, run.consecutive_inconclusive
            );
            return Some(self.decide(Verdict::Inconclusive));
        }
        None
    }

    /// The verdict at the end of the run: a query that never had a value
    /// is inconclusive, otherwise what the limits said.
    pub fn finish(&mut self) -> Verdict {
        if self.decided {
            return self.verdict;
        }
        if let Some(run) = self
            .triggers
            .iter()
            .find(|run| run.count(Outcome::Pass) + run.count(Outcome::Breach) == 0)
        {
            self.reason = format!(
                "Prometheus: no data for {} in {} measurements (the query matched no series or gave NaN)",
                run.trigger.name,
                run.measurements.len()
            );
            return self.decide(Verdict::Inconclusive);
        }
        let parts: Vec<String> = self
            .triggers
            .iter()
            .map(|run| {
                let last = run.measurements.iter().rev().find(|m| m.value.is_some());
                format!(
                    "{} {} (max {})",
                    run.trigger.name,
                    show(run.trigger.unit, last.and_then(|m| m.value)),
                    show(run.trigger.unit, last.and_then(|m| m.threshold))
                )
            })
            .collect();
        let measurements = self.triggers.first().map_or(0, |run| run.measurements.len());
        self.reason = format!(
            "Prometheus: no trigger breached {} times in a row in {measurements} measurements: {}",
            self.failure_limit,
            parts.join(", ")
        );
        self.decide(Verdict::Pass)
    }

    fn decide(&mut self, verdict: Verdict) -> Verdict {
        self.verdict = verdict;
        self.decided = true;
        verdict
    }

    /// The last value of the trigger named `name`.
    pub fn last_value(&self, name: &str) -> Option<f64> {
        self.triggers
            .iter()
            .find(|run| run.trigger.name == name)?
            .measurements
            .iter()
            .rev()
            .find_map(|m| m.value)
    }

    /// One line per trigger, for the text report.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for run in &self.triggers {
            let last = run.measurements.last();
            text.push_str(&format!(
                "prometheus {}: {} (max {}), {} measurements, {} breaching, {} without data\n",
                run.trigger.name,
                show(run.trigger.unit, last.and_then(|m| m.value)),
                show(run.trigger.unit, last.and_then(|m| m.threshold)),
                run.measurements.len(),
                run.count(Outcome::Breach),
                run.count(Outcome::Inconclusive)
            ));
        }
        text
    }

    /// The job summary section: a table of the triggers and a chart of each
    /// query against its threshold over time.
    pub fn add_to_summary(&self, summary: &mut Summary) {
        summary.paragraph(&format!(
            "**Prometheus verdict: {}** — every {:.0}s, rollback after {} consecutive breaches, inconclusive after {} without data",
            self.verdict.as_str(),
            self.interval_ms as f64 / 1000.0,
            self.failure_limit,
            self.inconclusive_limit
        ));
        let rows: Vec<Vec<String>> = self
            .triggers
            .iter()
            .map(|run| {
                let last = run.measurements.last();
                vec![
                    run.trigger.name.clone(),
                    format!("`{}`", run.trigger.query.replace('|', "\\|").replace('`', "'")),
                    show(run.trigger.unit, last.and_then(|m| m.value)),
                    show(run.trigger.unit, last.and_then(|m| m.threshold)),
                    run.measurements.len().to_string(),
                    run.count(Outcome::Breach).to_string(),
                    run.count(Outcome::Inconclusive).to_string(),
                ]
            })
            .collect();
        summary.table(
            &[
                "Trigger",
                "Query",
                "Last",
                "Threshold",
                "Measurements",
                "Breaches",
                "No data",
            ],
            &rows,
        );
        for run in &self.triggers {
            if let Some(chart) = threshold_chart(run) {
                summary.mermaid(&chart);
            }
        }
        if let Some(error) = &self.error {
            summary.paragraph(&format!("Prometheus failed: {}", error.replace(['\n', '\r'], " ")));
        }
    }
}

fn show(unit: Unit, value: Option<f64>) -> String {
    value.map_or_else(|| "no data".to_owned(), |value| unit.show(value))
}

/// A mermaid `xychart-beta` of one query and its threshold per
/// measurement, on a numeric time axis, in the summary charts' colours.
pub fn threshold_chart(run: &TriggerRun) -> Option<String> {
    let last = run.measurements.last()?;
    let unit = run.trigger.unit;
    let finite = |value: f64| value.is_finite().then_some(value);
    let highest = run
        .measurements
        .iter()
        .flat_map(|m| [m.value, m.threshold])
        .flatten()
        .filter_map(finite)
        .map(|value| unit.scaled(value))
        .fold(0.0_f64, f64::max);
    let top = (highest * 1.2).max(1.0).ceil();
    let point = |value: Option<f64>| match value {
        Some(value) if value.is_finite() => format!("{:.2}", unit.scaled(value).min(top)),
        Some(_) => format!("{top:.2}"),
        None => "0".to_owned(),
    };
    let values: Vec<String> = run.measurements.iter().map(|m| point(m.value)).collect();
    let thresholds: Vec<String> = run.measurements.iter().map(|m| point(m.threshold)).collect();
    let gaps = if run.measurements.iter().any(|m| m.value.is_none()) {
        ", no data as 0"
    } else {
        ""
    };
    let end = (last.at_ms as f64 / 1000.0).ceil().max(1.0);
    let (value_hex, value_colour) = SERIES_COLOURS[0];
    let (limit_hex, limit_colour) = LIMIT_COLOUR;
    Some(format!(
        "{}xychart-beta\n    title \"{} ({value_colour}) vs threshold ({limit_colour}){gaps}\"\n    x-axis \"seconds\" 0 --> {end}\n    y-axis \"{} ({})\" 0 --> {top}\n    line [{}]\n    line [{}]\n",
        front_matter(&[value_hex, limit_hex]),
        run.trigger.name,
        run.trigger.name,
        unit.axis(),
        values.join(", "),
        thresholds.join(", ")
    ))
}

/// Measures every trigger each `interval` until `duration` has passed, a
/// limit is reached (which sets `stop`) or `stop` is set by someone else.
/// Always measures at least once. A Prometheus failure after retries ends
/// the run with that error; the measurements so far stay in `analysis`.
pub async fn run(
    prometheus: &Prometheus,
    analysis: &mut Analysis,
    interval: Duration,
    duration: Duration,
    stop: &AtomicBool,
) -> Result<()> {
    let started = Instant::now();
    let mut next = Duration::ZERO;
    loop {
        let at = started.elapsed();
        let mut cycle = Vec::with_capacity(analysis.triggers.len());
        for run in &analysis.triggers {
            let value = prometheus.query(&run.trigger.query).await?;
            let threshold = match &run.trigger.baseline {
                None => Some(run.trigger.threshold),
                Some(baseline) => prometheus
                    .query(&baseline.query)
                    .await?
                    .map(|value| baseline.threshold_for(value)),
            };
            cycle.push((value, threshold));
        }
        if analysis.record(at, &cycle).is_some() {
            stop.store(true, Ordering::SeqCst);
            return Ok(());
        }
        next += interval;
        if next >= duration {
            return Ok(());
        }
        // Short naps, so a rollback called by the probes ends this run promptly.
        while started.elapsed() < next {
            if stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            tokio::time::sleep((next - started.elapsed().min(next)).min(Duration::from_millis(100))).await;
        }
    }
}

/// The two seed triggers, from the flags or the defaults.
pub fn watch_triggers(
    queries: &prometheus::WatchQueryArgs,
    config: &SmokeConfig,
    window: Duration,
    max_error_rate_percent: f64,
    max_p95: Duration,
) -> Result<Vec<Trigger>> {
    let default_matchers = || -> Result<String> {
        let selector = queries.selector.as_deref().ok_or_else(|| {
            Error::usage("--prometheus needs --selector '{job=\"api\"}' (or both --error-rate-query and --p95-query)")
        })?;
        prometheus::matchers("selector", selector)
    };
    let error_query = match &queries.error_rate_query {
        Some(query) => query.clone(),
        None => prometheus::error_ratio_query(&config.prometheus, &default_matchers()?, window),
    };
    let p95 = match &queries.p95_query {
        Some(query) => query.clone(),
        None => prometheus::p95_query(&config.prometheus, &default_matchers()?, window),
    };
    Ok(vec![
        Trigger {
            name: "error rate".into(),
            query: error_query,
            unit: Unit::Ratio,
            threshold: max_error_rate_percent / 100.0,
            baseline: None,
        },
        Trigger {
            name: "p95".into(),
            query: p95,
            unit: Unit::Seconds,
            threshold: max_p95.as_secs_f64(),
            baseline: None,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(name: &str, unit: Unit, threshold: f64) -> Trigger {
        Trigger {
            name: name.into(),
            query: format!("{name}_query"),
            unit,
            threshold,
            baseline: None,
        }
    }

    fn analysis(failure_limit: u32, inconclusive_limit: u32) -> Analysis {
        Analysis::new(
            "http://127.0.0.1:9090/".into(),
            vec![
                trigger("error rate", Unit::Ratio, 0.05),
                trigger("p95", Unit::Seconds, 5.0),
            ],
            Duration::from_secs(1),
            failure_limit,
            inconclusive_limit,
        )
    }

    fn at(seconds: u64) -> Duration {
        Duration::from_secs(seconds)
    }

    #[test]
    fn consecutive_breaches_up_to_the_failure_limit_call_a_rollback() {
        let mut analysis = analysis(3, 3);
        let ok = (Some(0.01), Some(0.05));
        let bad = (Some(0.5), Some(0.05));
        let fast = (Some(0.2), Some(5.0));
        assert_eq!(analysis.record(at(0), &[bad, fast]), None);
        assert_eq!(analysis.record(at(1), &[bad, fast]), None);
        // A pass in between resets the count.
        assert_eq!(analysis.record(at(2), &[ok, fast]), None);
        assert_eq!(analysis.record(at(3), &[bad, fast]), None);
        assert_eq!(analysis.record(at(4), &[bad, fast]), None);
        assert_eq!(analysis.record(at(5), &[bad, fast]), Some(Verdict::Rollback));
        assert_eq!(
            analysis.reason,
            "Prometheus: error rate 50.0% above 5.0% in 3 consecutive measurements, at 5.0s"
        );
        assert_eq!(analysis.finish(), Verdict::Rollback);
    }

    #[test]
    fn missing_data_is_inconclusive_never_a_pass() {
        let mut analysis = analysis(3, 2);
        let ok = (Some(0.0), Some(0.05));
        assert_eq!(analysis.record(at(0), &[ok, (None, Some(5.0))]), None);
        assert_eq!(
            analysis.record(at(1), &[ok, (None, Some(5.0))]),
            Some(Verdict::Inconclusive)
        );
        assert!(
            analysis.reason.contains("no data for p95 in 2 consecutive"),
            "{}",
            analysis.reason
        );

        // Below the limit but never a value by the end: still inconclusive.
        let mut short = analysis_with_limit_never_reached();
        assert_eq!(short.finish(), Verdict::Inconclusive);
        assert_eq!(
            short.reason,
            "Prometheus: no data for error rate in 1 measurements (the query matched no series or gave NaN)"
        );
    }

    fn analysis_with_limit_never_reached() -> Analysis {
        let mut analysis = analysis(3, 5);
        assert_eq!(
            analysis.record(at(0), &[(None, Some(0.05)), (Some(0.1), Some(5.0))]),
            None
        );
        analysis
    }

    #[test]
    fn a_healthy_run_passes_with_the_last_values() {
        let mut analysis = analysis(2, 2);
        for second in 0..4 {
            assert_eq!(
                analysis.record(at(second), &[(Some(0.01), Some(0.05)), (Some(0.25), Some(5.0))]),
                None
            );
        }
        assert_eq!(analysis.finish(), Verdict::Pass);
        assert_eq!(
            analysis.reason,
            "Prometheus: no trigger breached 2 times in a row in 4 measurements: error rate 1.0% (max 5.0%), p95 250 ms (max 5000 ms)"
        );
        assert_eq!(analysis.last_value("p95"), Some(0.25));
    }

    #[test]
    fn baseline_thresholds_take_the_larger_of_relative_and_slack() {
        let baseline = Baseline {
            query: "b".into(),
            relative: 0.2,
            slack: 0.01,
        };
        assert!((baseline.threshold_for(1.0) - 1.2).abs() < 1e-9);
        assert!((baseline.threshold_for(0.001) - 0.011).abs() < 1e-9);
    }

    #[test]
    fn the_chart_plots_the_query_against_its_threshold() {
        let mut analysis = analysis(3, 3);
        analysis.record(at(0), &[(Some(0.0), Some(0.05)), (None, Some(5.0))]);
        analysis.record(at(1), &[(Some(0.25), Some(0.05)), (Some(f64::INFINITY), Some(5.0))]);
        analysis.record(at(2), &[(Some(0.5), Some(0.05)), (Some(0.3), Some(5.0))]);
        let charts: Vec<String> = analysis.triggers.iter().filter_map(threshold_chart).collect();
        shipgate_testkit::mermaid::parse(&charts).expect("mermaid parses the threshold charts");
        insta::assert_snapshot!(charts.join("\n"), @r##"
        ---
        config:
          themeVariables:
            xyChart:
              plotColorPalette: "#0550ae, #cf222e"
        ---
        xychart-beta
            title "error rate (blue) vs threshold (red)"
            x-axis "seconds" 0 --> 2
            y-axis "error rate (percent)" 0 --> 60
            line [0.00, 25.00, 50.00]
            line [5.00, 5.00, 5.00]

        ---
        config:
          themeVariables:
            xyChart:
              plotColorPalette: "#0550ae, #cf222e"
        ---
        xychart-beta
            title "p95 (blue) vs threshold (red), no data as 0"
            x-axis "seconds" 0 --> 2
            y-axis "p95 (ms)" 0 --> 6000
            line [0, 6000.00, 300.00]
            line [5000.00, 5000.00, 5000.00]
        "##);
    }
}
