//! `branch-guard gate [--pr N]`: the merge gate. Approvals from distinct
//! non-author reviewers (latest review each, dismissed ones do not count)
//! against the base branch's required reviews, the head's checks against
//! the base branch's test requirement, and optionally line coverage
//! (lcov or Cobertura) against `[guard] min_coverage_percent`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event as XmlEvent};
use serde::Serialize;
use shipgate_core::actions::{Event, Runtime, Summary};
use shipgate_core::cli::{self, GlobalArgs, Ui};
use shipgate_core::config::{Config, TestRequirement};
use shipgate_core::exit::{self, Error, ExitCode, Result};

use crate::api::{self, CheckRun, RepoApi, Review, Status};
use crate::report::{self, Violation};

/// One row of the gate table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateRow {
    /// `approvals`, `checks`, `check: <name>`, `coverage`.
    pub gate: String,
    pub required: String,
    pub actual: String,
    /// `passed`, `failed` or `warning` (reported, not blocking).
    pub verdict: &'static str,
}

/// The `--json` document of `gate`.
#[derive(Debug, Clone, Serialize)]
pub struct GateReport {
    pub pull_request: u64,
    pub base: String,
    pub head_sha: String,
    pub passed: bool,
    pub approvals: Vec<String>,
    pub rows: Vec<GateRow>,
}

/// Logins whose latest deciding review is an approval, excluding the author.
/// Comments do not change an earlier decision, as on GitHub; a dismissal does.
pub fn approvers(reviews: &[Review], author: &str) -> Vec<String> {
    let mut latest: BTreeMap<&str, &str> = BTreeMap::new();
    for review in reviews {
        let Some(user) = &review.user else { continue };
        if user.login.eq_ignore_ascii_case(author) {
            continue;
        }
        if matches!(review.state.as_str(), "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED") {
            latest.insert(&user.login, &review.state);
        }
    }
    latest
        .into_iter()
        .filter(|(_, state)| *state == "APPROVED")
        .map(|(login, _)| login.to_string())
        .collect()
}

/// The state of one check or status, as `success`, `pending` or `failure`.
fn outcome_of_run(run: &CheckRun) -> &'static str {
    match (run.status.as_str(), run.conclusion.as_deref()) {
        ("completed", Some("success" | "neutral" | "skipped")) => "success",
        ("completed", _) => "failure",
        _ => "pending",
    }
}

fn outcome_of_status(status: &Status) -> &'static str {
    match status.state.as_str() {
        "success" => "success",
        "pending" => "pending",
        _ => "failure",
    }
}

/// Gate rows for the head's checks under the base branch's test requirement.
pub fn check_rows(
    requirement: TestRequirement,
    required: &[String],
    runs: &[CheckRun],
    statuses: &[Status],
    ignored: &[String],
) -> Vec<GateRow> {
    if requirement == TestRequirement::None {
        return Vec::new();
    }
    let mut outcomes: BTreeMap<String, &'static str> = BTreeMap::new();
    for run in runs {
        outcomes.insert(run.name.clone(), outcome_of_run(run));
    }
    for status in statuses {
        outcomes.insert(status.context.clone(), outcome_of_status(status));
    }
    outcomes.retain(|name, _| !ignored.contains(name));
    let blocking_verdict = |outcome: &str| match (outcome, requirement) {
        ("success", _) => "passed",
        (_, TestRequirement::Recommended) => "warning",
        _ => "failed",
    };
    let mut rows = Vec::new();
    for name in required {
        if !outcomes.contains_key(name) {
            rows.push(GateRow {
                gate: format!("check: {name}"),
                required: "success".into(),
                actual: "never reported".into(),
                verdict: blocking_verdict("missing"),
            });
        }
    }
    for (name, outcome) in &outcomes {
        let counts = requirement != TestRequirement::Required || required.contains(name);
        rows.push(GateRow {
            gate: format!("check: {name}"),
            required: if counts { "success" } else { "(not required)" }.into(),
            actual: outcome.to_string(),
            verdict: if counts { blocking_verdict(outcome) } else { "passed" },
        });
    }
    if rows.is_empty() {
        rows.push(GateRow {
            gate: "checks".into(),
            // As shipgate.toml spells it (`tests = "all-pass"`), not the Rust name.
            required: match requirement {
                TestRequirement::AllPass => "all-pass",
                TestRequirement::Required => "required",
                TestRequirement::Recommended => "recommended",
                TestRequirement::None => "none",
            }
            .into(),
            actual: "no checks reported".into(),
            verdict: "passed",
        });
    }
    rows
}

/// The first `<coverage>` element of a Cobertura report, if there is one.
fn cobertura_root(text: &str) -> std::result::Result<Option<BytesStart<'_>>, quick_xml::Error> {
    let mut reader = Reader::from_str(text);
    loop {
        match reader.read_event()? {
            XmlEvent::Start(element) | XmlEvent::Empty(element) if element.local_name().as_ref() == "coverage" => {
                return Ok(Some(element));
            }
            XmlEvent::Eof => return Ok(None),
            _ => {}
        }
    }
}

/// Line coverage in percent from an lcov tracefile (`LF:`/`LH:` totals) or
/// a Cobertura XML report (`lines-covered`/`lines-valid`, else `line-rate`).
pub fn coverage_percent(path: &Path) -> Result<f64> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage_with(format!("cannot read coverage report {}", path.display()), e))?;
    let invalid = |why: &str| Error::usage_with(format!("{}", path.display()), why);
    if text.trim_start().starts_with('<') {
        let root = cobertura_root(&text).map_err(|e| invalid(&format!("not valid XML: {e}")))?;
        let root = root.ok_or_else(|| invalid("not a Cobertura report: no <coverage> element"))?;
        let attribute = |name: &str| -> Option<f64> {
            let value = root.try_get_attribute(name).ok()??.value;
            let number: f64 = value.trim().parse().ok()?;
            number.is_finite().then_some(number)
        };
        return match (
            attribute("lines-covered"),
            attribute("lines-valid"),
            attribute("line-rate"),
        ) {
            (Some(covered), Some(valid), _) if valid > 0.0 => Ok(covered / valid * 100.0),
            (_, _, Some(rate)) => Ok(rate * 100.0),
            _ => Err(invalid("the <coverage> element has no line-rate")),
        };
    }
    let (mut found, mut hit, mut records) = (0u64, 0u64, 0usize);
    for line in text.lines() {
        let number = |value: &str| {
            value
                .trim()
                .parse::<u64>()
                .map_err(|_| invalid(&format!("bad lcov line `{line}`")))
        };
        if let Some(value) = line.strip_prefix("LF:") {
            found += number(value)?;
        } else if let Some(value) = line.strip_prefix("LH:") {
            hit += number(value)?;
        } else if line.starts_with("SF:") {
            records += 1;
        }
    }
    if records == 0 {
        return Err(invalid("neither an lcov tracefile (no SF: records) nor Cobertura XML"));
    }
    Ok(if found == 0 {
        100.0
    } else {
        hit as f64 / found as f64 * 100.0
    })
}

/// Inputs of `gate`.
#[derive(Debug, Clone, Default)]
pub struct GateArgs {
    pub pr: Option<u64>,
    pub repo: Option<String>,
    pub coverage: Option<PathBuf>,
    pub min: Option<f64>,
    /// Checks not to wait for (the gate's own job is always ignored).
    pub ignore_checks: Vec<String>,
}

fn pull_number(runtime: &Runtime, args: &GateArgs) -> Result<u64> {
    if let Some(number) = args.pr {
        return Ok(number);
    }
    match Event::load(runtime)? {
        Event::PullRequest(event) => Ok(event.number),
        Event::MergeGroup(event) => crate::pr::queue_pull_number(&event.merge_group.head_ref)
            .ok_or_else(|| Error::usage("the merge group names no pull request: pass --pr N")),
        other => Err(Error::usage(format!(
            "the `{}` event is not a pull request: pass --pr N",
            other.name()
        ))),
    }
}

/// Evaluates every gate.
pub async fn evaluate(runtime: &Runtime, config: &Config, args: &GateArgs) -> Result<GateReport> {
    let coverage = match &args.coverage {
        Some(path) => Some(coverage_percent(path)?),
        None => None,
    };
    let number = pull_number(runtime, args)?;
    let client = RepoApi::from_runtime(runtime, args.repo.as_deref())?;
    let pull = client.pull(number).await?;
    let author = pull.user.as_ref().map(|user| user.login.clone()).unwrap_or_default();
    let rule = config.flow.rule_for(&pull.base.git_ref);
    let required_reviews = rule.map_or(0, |rule| rule.reviews);
    let requirement = rule.map_or(TestRequirement::None, |rule| rule.tests);

    let reviews = client.reviews(number).await?;
    let approvals = approvers(&reviews, &author);
    let mut rows = vec![GateRow {
        gate: "approvals".into(),
        required: required_reviews.to_string(),
        actual: if approvals.is_empty() {
            "0".into()
        } else {
            format!("{} ({})", approvals.len(), approvals.join(", "))
        },
        verdict: if approvals.len() >= required_reviews as usize {
            "passed"
        } else {
            "failed"
        },
    }];

    if requirement != TestRequirement::None {
        let runs = client.check_runs(&pull.head.sha).await?;
        let statuses = client.statuses(&pull.head.sha).await?;
        let mut ignored = args.ignore_checks.clone();
        ignored.extend(runtime.var("GITHUB_JOB").map(str::to_string));
        rows.extend(check_rows(
            requirement,
            &config.guard.required_checks,
            &runs,
            &statuses,
            &ignored,
        ));
    }
    if let Some(percent) = coverage {
        let min = args.min.unwrap_or(config.guard.min_coverage_percent);
        rows.push(GateRow {
            gate: "coverage".into(),
            required: format!("≥ {min:.1}%"),
            actual: format!("{percent:.1}%"),
            verdict: if percent >= min { "passed" } else { "failed" },
        });
    }
    Ok(GateReport {
        pull_request: number,
        base: pull.base.git_ref,
        head_sha: pull.head.sha,
        passed: rows.iter().all(|row| row.verdict != "failed"),
        approvals,
        rows,
    })
}

fn table(report: &GateReport) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let rows = report
        .rows
        .iter()
        .map(|row| {
            let mark = match row.verdict {
                "passed" => "✔ passed",
                "warning" => "⚠ warning",
                _ => "✖ failed",
            };
            vec![
                row.gate.clone(),
                row.required.clone(),
                row.actual.clone(),
                mark.to_string(),
            ]
        })
        .collect();
    (vec!["Gate", "Required", "Actual", "Verdict"], rows)
}

/// Plain-text table, columns padded.
pub fn render_text(report: &GateReport) -> String {
    let (headers, rows) = table(report);
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, cell)| format!("{cell}{}", " ".repeat(widths[i] - cell.chars().count())))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut text = format!(
        "merge gate for #{} into {} ({})\n",
        report.pull_request,
        report.base,
        &report.head_sha[..report.head_sha.len().min(7)]
    );
    text.push_str(&line(headers.iter().map(|h| h.to_string()).collect()));
    for row in rows {
        text.push_str(&line(row));
    }
    text.push_str(if report.passed {
        "✔ gate passed\n"
    } else {
        "✖ gate failed\n"
    });
    text
}

/// Runs `gate`.
pub fn run(globals: &GlobalArgs, args: &GateArgs) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let runtime = Runtime::detect();
    let loaded = cli::load_config(globals)?;
    let report = match api::block_on(evaluate(&runtime, &loaded.config, args)) {
        Ok(report) => report,
        Err(error) => {
            let violation = Violation::policy(
                "error",
                "merge gate",
                format!("the gate could not be evaluated: {error}"),
            );
            report::set_outputs(&runtime, false, std::slice::from_ref(&violation))?;
            return Err(error);
        }
    };
    let violations: Vec<Violation> = report
        .rows
        .iter()
        .filter(|row| row.verdict == "failed")
        .map(|row| {
            Violation::policy(
                "gate",
                &row.gate,
                format!("{}: required {}, got {}", row.gate, row.required, row.actual),
            )
        })
        .collect();
    report::set_outputs(&runtime, report.passed, &violations)?;
    report::annotate(&runtime, &violations);
    let (headers, rows) = table(&report);
    let mut summary = Summary::new();
    summary
        .heading(
            3,
            &format!("Merge gate for #{} into `{}`", report.pull_request, report.base),
        )
        .table(&headers, &rows)
        .paragraph(if report.passed {
            "✔ gate passed"
        } else {
            "✖ gate failed"
        });
    runtime.append_summary(summary.as_markdown())?;
    if ui.json {
        ui.print_json(&report::to_json(&report)?)?;
    } else {
        ui.print(&render_text(&report))?;
    }
    exit::verdict(report.passed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Login;

    fn review(login: &str, state: &str) -> Review {
        Review {
            id: 1,
            user: Some(Login { login: login.into() }),
            state: state.into(),
            submitted_at: None,
        }
    }

    #[test]
    fn approvals_count_latest_decisions_of_distinct_non_authors() {
        let reviews = [
            review("ana", "APPROVED"),
            review("ana", "COMMENTED"),
            review("ana", "APPROVED"),
            review("bo", "APPROVED"),
            review("bo", "CHANGES_REQUESTED"),
            review("cy", "APPROVED"),
            review("cy", "DISMISSED"),
            review("author", "APPROVED"),
            review("dee", "COMMENTED"),
        ];
        assert_eq!(approvers(&reviews, "author"), ["ana"]);
    }

    fn run(name: &str, status: &str, conclusion: Option<&str>) -> CheckRun {
        CheckRun {
            name: name.into(),
            status: status.into(),
            conclusion: conclusion.map(str::to_string),
        }
    }

    #[test]
    fn checks_follow_the_base_branchs_test_requirement() {
        let runs = [
            run("lint", "completed", Some("success")),
            run("test", "completed", Some("failure")),
            run("gate", "in_progress", None),
        ];
        let statuses = [Status {
            context: "ci/legacy".into(),
            state: "success".into(),
        }];
        let ignored = ["gate".to_string()];
        let all = check_rows(TestRequirement::AllPass, &[], &runs, &statuses, &ignored);
        let failed: Vec<_> = all
            .iter()
            .filter(|r| r.verdict == "failed")
            .map(|r| r.gate.as_str())
            .collect();
        assert_eq!(failed, ["check: test"]);
        assert_eq!(all.len(), 3, "{all:?}");

        let required = ["lint".to_string(), "security".to_string()];
        let rows = check_rows(TestRequirement::Required, &required, &runs, &statuses, &ignored);
        let failed: Vec<_> = rows
            .iter()
            .filter(|r| r.verdict == "failed")
            .map(|r| r.gate.as_str())
            .collect();
        assert_eq!(failed, ["check: security"], "test is not required: {rows:?}");

        let rows = check_rows(TestRequirement::Recommended, &[], &runs, &statuses, &ignored);
        assert!(rows.iter().all(|r| r.verdict != "failed"));
        assert!(rows.iter().any(|r| r.verdict == "warning"));
        assert!(check_rows(TestRequirement::None, &[], &runs, &statuses, &ignored).is_empty());
    }

    #[test]
    fn coverage_from_lcov_and_cobertura() {
        let dir = tempfile::tempdir().expect("temp dir");
        let lcov = dir.path().join("lcov.info");
        std::fs::write(
            &lcov,
            "TN:\nSF:a.rs\nLF:10\nLH:9\nend_of_record\nSF:b.rs\nLF:10\nLH:7\nend_of_record\n",
        )
        .expect("write");
        assert!((coverage_percent(&lcov).expect("lcov") - 80.0).abs() < 1e-9);
        let xml = dir.path().join("coverage.xml");
        std::fs::write(
            &xml,
            "<?xml version=\"1.0\" ?>\n<coverage version=\"7.4\" timestamp=\"1\" lines-valid=\"200\" lines-covered=\"170\" line-rate=\"0.85\">\n</coverage>\n",
        )
        .expect("write");
        assert!((coverage_percent(&xml).expect("xml") - 85.0).abs() < 1e-9);
        let rate_only = dir.path().join("rate.xml");
        std::fs::write(&rate_only, "<coverage line-rate=\"0.5\"></coverage>").expect("write");
        assert!((coverage_percent(&rate_only).expect("rate") - 50.0).abs() < 1e-9);
        let with_doctype = dir.path().join("cobertura.xml");
        std::fs::write(
            &with_doctype,
            "<?xml version=\"1.0\" ?>\n<!DOCTYPE coverage SYSTEM \"http://cobertura.sourceforge.net/xml/coverage-04.dtd\">\n<!-- <coverage line-rate=\"0.1\"> -->\n<coverage line-rate='0.25' branch-rate=\"0\"><packages/></coverage>\n",
        )
        .expect("write");
        assert!((coverage_percent(&with_doctype).expect("doctype") - 25.0).abs() < 1e-9);
        let other = dir.path().join("other.xml");
        std::fs::write(&other, "<report><line-rate>0.5</line-rate></report>").expect("write");
        let error = coverage_percent(&other).expect_err("no <coverage>").to_string();
        assert!(
            error.ends_with("not a Cobertura report: no <coverage> element"),
            "{error}"
        );
        let junk = dir.path().join("junk.txt");
        std::fs::write(&junk, "hello").expect("write");
        assert!(coverage_percent(&junk).expect_err("junk").to_string().contains("lcov"));
        assert!(coverage_percent(&dir.path().join("missing")).is_err());
    }
}
