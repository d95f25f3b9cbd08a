//! Every way a result leaves the tool: the text table, `--json`, JUnit XML,
//! TAP, the job summary (with a mermaid `xychart-beta` of latency for
//! `watch` and `compare`) and the step outputs. Everything is redacted.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use shipgate_core::actions::{Annotation, Runtime, Summary, redact};
use shipgate_core::cli::Ui;
use shipgate_core::exit::{self, Error, ExitCode, Result};

use crate::analysis::{Analysis, Verdict};
use crate::chart::{LIMIT_COLOUR, SERIES_COLOURS, front_matter};
use crate::checks::CheckOutcome;
use crate::window::{Breach, Sample, Stats};

/// Report files, shared by every subcommand.
#[derive(Args, Debug, Clone, Default)]
pub struct ReportArgs {
    /// Write a JUnit XML report here (for test reporters)
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a TAP version 14 report here
    #[arg(long, value_name = "FILE")]
    pub tap: Option<PathBuf>,
    /// Write the JSON report here (the `--json` document); set as the `report` output
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// The rollback decision of `watch` and `compare`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Decision {
    pub rollback: bool,
    /// `pass`, `rollback`, or `inconclusive` (too little data to judge).
    pub verdict: Verdict,
    /// Why (or "all thresholds held").
    pub reason: String,
    /// The trigger that fired, with threshold, observed value and when.
    pub breach: Option<Breach>,
    pub error_rate_percent: f64,
    pub p95_ms: f64,
    /// The p95 latency above which the verdict is a rollback, drawn on the chart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95_limit_ms: Option<f64>,
    /// Named statistics: `overall` and `window` for watch, `canary` and `baseline` for compare.
    pub stats: BTreeMap<String, Stats>,
    /// `compare`'s significance tests: p-values and effect sizes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistics: Option<crate::stats::Comparison>,
    pub duration_ms: u64,
}

impl Decision {
    /// The decision of an analysis that judged alone, with `verdict`.
    pub fn from_analysis(analysis: &Analysis, verdict: Verdict) -> Decision {
        Decision {
            rollback: verdict == Verdict::Rollback,
            verdict,
            reason: analysis.reason.clone(),
            breach: None,
            error_rate_percent: analysis.last_value("error rate").unwrap_or(0.0) * 100.0,
            p95_ms: analysis.last_value("p95").unwrap_or(0.0) * 1000.0,
            // Prometheus' own charts draw each query's threshold.
            p95_limit_ms: None,
            stats: BTreeMap::new(),
            statistics: None,
            duration_ms: analysis
                .triggers
                .first()
                .and_then(|run| run.measurements.last())
                .map_or(0, |m| m.at_ms),
        }
    }
}

/// Latency samples of one target, for the chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub samples: Vec<Sample>,
}

/// The outcome of one command.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub command: String,
    pub passed: bool,
    pub checks: Vec<CheckOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// The judgement from Prometheus' metrics (`--prometheus`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<Analysis>,
    #[serde(skip)]
    pub series: Vec<Series>,
}

impl Report {
    pub fn exit_code(&self) -> ExitCode {
        if self.passed {
            ExitCode::Ok
        } else {
            ExitCode::CheckFailed
        }
    }

    /// The cause of a failed run in one line, for its `::error` annotation:
    /// the rollback reason, else the first failing check and how many failed.
    pub fn failure_line(&self) -> Option<String> {
        if self.passed {
            return None;
        }
        if let Some(decision) = self.decision.as_ref().filter(|decision| decision.rollback) {
            return Some(format!("ROLLBACK: {}", decision.reason));
        }
        let failed: Vec<&CheckOutcome> = self.checks.iter().filter(|check| !check.passed).collect();
        let Some(first) = failed.first() else {
            return Some(format!("smoke-tester {} failed", self.command));
        };
        let reason = first.failure_reason().unwrap_or_else(|| "failed".into());
        let reason = reason.lines().next().unwrap_or_default();
        let mut line = format!("check `{}` failed: {reason}", first.name);
        if self.checks.len() > 1 {
            line.push_str(&format!(" ({} of {} checks failed)", failed.len(), self.checks.len()));
        }
        Some(line)
    }

    /// The `--json` document (schema documented in docs/smoke-tester.md).
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(object) = value.as_object_mut() {
            object.insert("tool".into(), "smoke-tester".into());
            object.insert("version".into(), env!("CARGO_PKG_VERSION").into());
        }
        value
    }

    /// The human table: one line per check, failures indented below it.
    pub fn to_text(&self) -> String {
        let name_width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(4).clamp(4, 40);
        let mut text = String::new();
        for check in &self.checks {
            let verdict = if check.passed { "PASS" } else { "FAIL" };
            let status = check.status.map_or("-".to_owned(), |s| s.to_string());
            let attempts = if check.attempts > 1 {
                format!("  ({} attempts)", check.attempts)
            } else {
                String::new()
            };
            text.push_str(&format!(
                "{verdict}  {:<name_width$}  {:>3}  {:>6} ms  {} {}{attempts}\n",
                check.name, status, check.latency_ms, check.method, check.url
            ));
            if let Some(error) = &check.error {
                text.push_str(&format!("      ✗ {error}\n"));
            }
            for verdict in check.assertions.iter().filter(|v| !v.passed) {
                text.push_str(&format!(
                    "      ✗ {}: expected {}, actual {}\n",
                    verdict.assertion, verdict.expected, verdict.actual
                ));
            }
        }
        if let Some(decision) = &self.decision {
            for (name, stats) in &decision.stats {
                text.push_str(&format!(
                    "{name}: {} requests, {} errors ({:.1}%), p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms\n",
                    stats.requests, stats.errors, stats.error_rate_percent, stats.p50_ms, stats.p95_ms, stats.p99_ms
                ));
            }
            if let Some(statistics) = &decision.statistics {
                for row in statistics_rows(statistics) {
                    text.push_str(&format!(
                        "{}: {}, p = {}, effect size {}, significant: {}\n",
                        row[0], row[1], row[2], row[3], row[4]
                    ));
                }
            }
            if let Some(analysis) = &self.prometheus {
                text.push_str(&analysis.to_text());
            }
            let verdict = match decision.verdict {
                Verdict::Rollback => "ROLLBACK",
                Verdict::Inconclusive => "INCONCLUSIVE",
                Verdict::Pass => "OK",
            };
            text.push_str(&format!("{verdict}: {}\n", decision.reason));
        }
        let failed = self.checks.iter().filter(|c| !c.passed).count();
        if !self.checks.is_empty() {
            let total = self.checks.len();
            let noun = if total == 1 { "check" } else { "checks" };
            text.push_str(&format!("{total} {noun}, {} passed, {failed} failed\n", total - failed));
        }
        text
    }

    /// JUnit XML: one test case per check, plus the rollback decision.
    pub fn to_junit(&self) -> Result<String> {
        use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
        let mut suite = TestSuite::new(format!("smoke-tester {}", self.command));
        for check in &self.checks {
            let status = match check.failure_reason() {
                None => TestCaseStatus::success(),
                Some(reason) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_message(redact(&reason).into_owned());
                    status.set_description(redact(&failure_details(check)).into_owned());
                    status
                }
            };
            let mut case = TestCase::new(check.name.clone(), status);
            case.set_classname(format!("smoke-tester.{}", self.command));
            case.set_time(Duration::from_millis(check.latency_ms));
            case.set_assertions(check.assertions.len());
            suite.add_test_case(case);
        }
        if let Some(decision) = &self.decision {
            let status = if decision.verdict != Verdict::Pass {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(redact(&decision.reason).into_owned());
                status
            } else {
                TestCaseStatus::success()
            };
            let mut case = TestCase::new("rollback decision", status);
            case.set_classname(format!("smoke-tester.{}", self.command));
            case.set_time(Duration::from_millis(decision.duration_ms));
            suite.add_test_case(case);
        }
        let mut report = quick_junit::Report::new("smoke-tester");
        report.add_test_suite(suite);
        report
            .to_string()
            .map_err(|e| Error::usage_with("cannot write the JUnit report", e))
    }

    /// TAP version 14.
    pub fn to_tap(&self) -> String {
        let mut cases: Vec<(String, Option<String>)> = self
            .checks
            .iter()
            .map(|check| (check.name.clone(), check.failure_reason()))
            .collect();
        if let Some(decision) = &self.decision {
            cases.push((
                "rollback decision".into(),
                (decision.verdict != Verdict::Pass).then(|| decision.reason.clone()),
            ));
        }
        let mut text = format!("TAP version 14\n1..{}\n", cases.len());
        for (index, (name, failure)) in cases.iter().enumerate() {
            let name = name.replace('#', "\\#");
            match failure {
                None => text.push_str(&format!("ok {} - {name}\n", index + 1)),
                Some(reason) => {
                    text.push_str(&format!("not ok {} - {name}\n", index + 1));
                    text.push_str(&format!("  ---\n  message: {}\n  ...\n", yaml_string(reason)));
                }
            }
        }
        text
    }

    /// The job summary markdown.
    pub fn to_summary(&self) -> Summary {
        let mut summary = Summary::new();
        let verdict = match (&self.decision, self.passed) {
            (Some(decision), _) if decision.rollback => "rollback",
            (Some(decision), _) if decision.verdict == Verdict::Inconclusive => "inconclusive",
            (_, true) => "passed",
            (_, false) => "failed",
        };
        summary.heading(3, &format!("smoke-tester {}: {verdict}", self.command));
        if !self.checks.is_empty() {
            let rows: Vec<Vec<String>> = self
                .checks
                .iter()
                .map(|check| {
                    vec![
                        check.name.clone(),
                        if check.passed {
                            "✅ pass".into()
                        } else {
                            "❌ fail".into()
                        },
                        check.status.map_or("-".into(), |s| s.to_string()),
                        format!("{} ms", check.latency_ms),
                        check.failure_reason().unwrap_or_default(),
                    ]
                })
                .collect();
            summary.table(&["Check", "Result", "Status", "Latency", "Details"], &rows);
        }
        if let Some(decision) = &self.decision {
            summary.paragraph(&format!(
                "**rollback: {}** (verdict: {}) — {}",
                decision.rollback,
                decision.verdict.as_str(),
                escape_markdown(&decision.reason)
            ));
            let rows: Vec<Vec<String>> = decision
                .stats
                .iter()
                .map(|(name, stats)| {
                    vec![
                        name.clone(),
                        stats.requests.to_string(),
                        format!("{:.1}%", stats.error_rate_percent),
                        format!("{:.0} ms", stats.p50_ms),
                        format!("{:.0} ms", stats.p95_ms),
                        format!("{:.0} ms", stats.p99_ms),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                summary.table(&["Samples", "Requests", "Error rate", "p50", "p95", "p99"], &rows);
            }
            if let Some(statistics) = &decision.statistics {
                summary.table(
                    &[
                        "Test (canary worse?)",
                        "Statistic",
                        "p-value",
                        "Effect size",
                        "Significant",
                    ],
                    &statistics_rows(statistics),
                );
            }
        }
        if let Some(analysis) = &self.prometheus {
            analysis.add_to_summary(&mut summary);
        }
        let limit = self.decision.as_ref().and_then(|d| d.p95_limit_ms);
        if let Some(chart) = latency_chart(&self.series, limit) {
            summary.mermaid(&chart);
        }
        summary
    }

    /// Prints the result, writes the report files, sets the step outputs and
    /// appends the job summary.
    pub fn emit(&self, ui: &Ui, runtime: &Runtime, files: &ReportArgs) -> Result<ExitCode> {
        let json = self.to_json();
        if let Some(path) = &files.junit {
            write_file(path, &self.to_junit()?)?;
        }
        if let Some(path) = &files.tap {
            write_file(path, &self.to_tap())?;
        }
        if let Some(path) = &files.report {
            let text = serde_json::to_string_pretty(&json).map_err(|e| Error::usage(e.to_string()))?;
            write_file(path, &text)?;
            runtime.set_output("report", &path.display().to_string())?;
        }
        runtime.set_output("passed", &self.passed.to_string())?;
        if let Some(decision) = &self.decision {
            runtime.set_output("rollback", &decision.rollback.to_string())?;
            runtime.set_output("verdict", decision.verdict.as_str())?;
            runtime.set_output("reason", &decision.reason)?;
            runtime.set_output("error-rate", &format!("{:.2}", decision.error_rate_percent))?;
            runtime.set_output("p95-ms", &format!("{:.0}", decision.p95_ms))?;
        }
        runtime.append_summary(self.to_summary().as_markdown())?;
        if runtime.in_actions()
            && let Some(line) = self.failure_line()
        {
            runtime.error(&Annotation::new(line).title(format!("smoke-tester {}", self.command)));
        }
        if ui.json {
            ui.print_json(&json)?;
        } else {
            ui.print(&self.to_text())?;
        }
        exit::verdict(self.passed)
    }
}

/// One row per significance test: name, statistic, p-value, effect size, verdict.
fn statistics_rows(statistics: &crate::stats::Comparison) -> Vec<Vec<String>> {
    let significant = |test: &crate::stats::TestResult| {
        if test.p_value < statistics.alpha {
            format!("yes (p < {})", statistics.alpha)
        } else {
            format!("no (p ≥ {})", statistics.alpha)
        }
    };
    let mut rows = Vec::new();
    if let Some(test) = &statistics.latency {
        rows.push(vec![
            "latency, Mann-Whitney U".to_owned(),
            format!("U = {:.1}", test.statistic),
            format!("{:.4}", test.p_value),
            format!("P(canary slower) = {:.2}", test.effect_size),
            significant(test),
        ]);
    }
    if let Some(test) = &statistics.errors {
        rows.push(vec![
            "errors, two-proportion z".to_owned(),
            format!("z = {:.2}", test.statistic),
            format!("{:.4}", test.p_value),
            format!("{:+.1} points", test.effect_size * 100.0),
            significant(test),
        ]);
    }
    rows
}

fn failure_details(check: &CheckOutcome) -> String {
    let mut lines = Vec::new();
    if let Some(error) = &check.error {
        lines.push(error.clone());
    }
    for verdict in check.assertions.iter().filter(|v| !v.passed) {
        lines.push(format!(
            "{}: expected {}, actual {}",
            verdict.assertion, verdict.expected, verdict.actual
        ));
    }
    lines.join("\n")
}

fn write_file(path: &std::path::Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::usage_with(format!("cannot create {}", parent.display()), e))?;
    }
    std::fs::write(path, redact(text).as_bytes())
        .map_err(|e| Error::usage_with(format!("cannot write {}", path.display()), e))
}

fn yaml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

fn escape_markdown(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Most points on the chart: more would be unreadable in a summary.
const CHART_BUCKETS: usize = 30;

/// A mermaid `xychart-beta` of p95 latency per time bucket, one line per
/// series plus a flat line at `limit_ms`. The x axis is numeric (seconds
/// since the start), so no two points share a label; mermaid has no legend,
/// so the title names each line by its colour.
pub fn latency_chart(series: &[Series], limit_ms: Option<f64>) -> Option<String> {
    let end = series
        .iter()
        .flat_map(|s| s.samples.iter().map(|sample| sample.at))
        .max()?;
    let total = end.as_secs_f64().max(0.001);
    let buckets = CHART_BUCKETS
        .min(series.iter().map(|s| s.samples.len()).max().unwrap_or(1))
        .max(2);
    let width = total / buckets as f64;
    let mut lines = Vec::new();
    let mut highest: f64 = limit_ms.unwrap_or(1.0).max(1.0);
    for one in series.iter().take(SERIES_COLOURS.len()) {
        let mut per_bucket: Vec<Vec<f64>> = vec![Vec::new(); buckets];
        for sample in &one.samples {
            let index = ((sample.at.as_secs_f64() / width) as usize).min(buckets - 1);
            per_bucket[index].push(sample.latency.as_secs_f64() * 1000.0);
        }
        let values: Vec<String> = per_bucket
            .iter_mut()
            .map(|values| {
                values.sort_by(f64::total_cmp);
                let p95 = crate::window::percentile(values, 95.0);
                highest = highest.max(p95);
                format!("{p95:.1}")
            })
            .collect();
        lines.push(format!("    line [{}]", values.join(", ")));
    }
    let mut palette: Vec<&str> = SERIES_COLOURS.iter().take(lines.len()).map(|(hex, _)| *hex).collect();
    let mut legend: Vec<String> = series
        .iter()
        .zip(SERIES_COLOURS)
        .map(|(one, (_, colour))| format!("{} ({colour})", one.name))
        .collect();
    if let Some(limit) = limit_ms {
        lines.push(format!(
            "    line [{}]",
            vec![format!("{limit:.1}"); buckets].join(", ")
        ));
        palette.push(LIMIT_COLOUR.0);
        legend.push(format!("limit {limit:.0} ms ({})", LIMIT_COLOUR.1));
    }
    let mut chart = format!(
        "{}xychart-beta\n    title \"p95 latency: {}\"\n    x-axis \"seconds since start\" {:.1} --> {:.1}\n    y-axis \"p95 latency (ms)\" 0 --> {}\n",
        front_matter(&palette),
        legend.join(", "),
        width,
        total,
        (highest * 1.2).ceil()
    );
    chart.push_str(&lines.join("\n"));
    chart.push('\n');
    Some(chart)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assertions::Verdict;

    fn outcome(name: &str, passed: bool) -> CheckOutcome {
        CheckOutcome {
            name: name.into(),
            method: "GET".into(),
            url: "http://127.0.0.1:1/health".into(),
            passed,
            attempts: 1,
            status: Some(if passed { 200 } else { 503 }),
            latency_ms: 12,
            error: None,
            assertions: vec![Verdict {
                assertion: "status 200".into(),
                passed,
                expected: if passed { String::new() } else { "200".into() },
                actual: if passed { String::new() } else { "503".into() },
            }],
        }
    }

    #[test]
    fn tap_lists_every_check_with_the_failure() {
        let report = Report {
            command: "run".into(),
            passed: false,
            checks: vec![outcome("home", true), outcome("api # v1", false)],
            decision: None,
            prometheus: None,
            series: Vec::new(),
        };
        assert_eq!(
            report.to_tap(),
            "TAP version 14\n1..2\nok 1 - home\nnot ok 2 - api \\# v1\n  ---\n  message: \"status 200: expected 200, actual 503\"\n  ...\n"
        );
        let text = report.to_text();
        assert!(text.contains("FAIL  api # v1"), "{text}");
        assert!(text.contains("✗ status 200: expected 200, actual 503"), "{text}");
    }

    #[test]
    fn emit_writes_outputs_and_a_summary_with_table_and_chart() {
        let dir = tempfile::tempdir().unwrap();
        let outputs = dir.path().join("output");
        let summary = dir.path().join("summary.md");
        let runtime = Runtime::from_env_map([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ]);
        let samples: Vec<Sample> = (0..10)
            .map(|i| Sample {
                at: Duration::from_millis(i * 100),
                latency: Duration::from_millis(20),
                ok: i != 9,
            })
            .collect();
        let stats = crate::window::Stats::of(&samples);
        let report = Report {
            command: "watch".into(),
            passed: false,
            checks: vec![outcome("health", false)],
            decision: Some(Decision {
                rollback: true,
                verdict: crate::analysis::Verdict::Rollback,
                reason: "error rate 10.0% (1 of 10 requests) exceeded the 5% over 5m threshold at 0.9s".into(),
                breach: None,
                error_rate_percent: stats.error_rate_percent,
                p95_ms: stats.p95_ms,
                p95_limit_ms: Some(5000.0),
                stats: BTreeMap::from([("window".to_owned(), stats)]),
                statistics: None,
                duration_ms: 1000,
            }),
            prometheus: None,
            series: vec![Series {
                name: "target".into(),
                samples,
            }],
        };
        let ui = Ui {
            json: false,
            quiet: true,
            verbose: 0,
        };
        let error = report.emit(&ui, &runtime, &ReportArgs::default()).unwrap_err();
        assert!(error.is_reported(), "{error}");
        assert_eq!(error.exit_code(), ExitCode::CheckFailed);
        let markdown = std::fs::read_to_string(&summary).unwrap();
        assert!(markdown.starts_with("### smoke-tester watch: rollback\n"), "{markdown}");
        assert!(
            markdown.contains("| health | ❌ fail | 503 | 12 ms | status 200: expected 200, actual 503 |"),
            "{markdown}"
        );
        assert!(
            markdown.contains("| window | 10 | 10.0% | 20 ms | 20 ms | 20 ms |"),
            "{markdown}"
        );
        assert_eq!(shipgate_testkit::mermaid::assert_charts_parse(&markdown), 1);
        let written = std::fs::read_to_string(&outputs).unwrap();
        for name in [
            "passed<<",
            "rollback<<",
            "verdict<<",
            "reason<<",
            "error-rate<<",
            "p95-ms<<",
        ] {
            assert!(written.contains(name), "{name} missing from {written}");
        }
    }

    #[test]
    fn the_chart_is_a_mermaid_xychart() {
        let samples: Vec<Sample> = (0..60)
            .map(|i| Sample {
                at: Duration::from_millis(i * 100),
                latency: Duration::from_millis(10 + i),
                ok: true,
            })
            .collect();
        let baseline: Vec<Sample> = samples
            .iter()
            .map(|s| Sample {
                latency: Duration::from_millis(12),
                ..*s
            })
            .collect();
        let chart = latency_chart(
            &[
                Series {
                    name: "canary".into(),
                    samples,
                },
                Series {
                    name: "baseline".into(),
                    samples: baseline,
                },
            ],
            Some(80.0),
        )
        .unwrap();
        insta::assert_snapshot!(chart);
        shipgate_testkit::mermaid::parse(std::slice::from_ref(&chart)).unwrap();
        let line = chart.lines().find(|l| l.trim_start().starts_with("line [")).unwrap();
        assert_eq!(line.matches(',').count(), CHART_BUCKETS - 1, "{line}");
        assert_eq!(latency_chart(&[], None), None);
    }
}
