//! `branch-guard check`: what the action's `check` command runs for the
//! current event: `branch` on the event's branch, `pr` for pull requests and
//! merge groups (plus the PR title, which squash merges land on main), and
//! `commits` over the event's range, with one combined verdict.

use shipgate_core::actions::{Event, Runtime};
use shipgate_core::cli::{self, GlobalArgs, Ui};
use shipgate_core::exit::{self, ExitCode, Result};

use crate::lint::Linter;
use crate::report::{self, Violation};

/// Runs `check`; like `pr`, it sets `passed` even when it cannot decide.
pub fn run(globals: &GlobalArgs, repo: Option<&str>) -> Result<ExitCode> {
    let runtime = Runtime::detect();
    match evaluate(globals, repo, &runtime) {
        Ok(code) => Ok(code),
        // A "no" that `evaluate` reported already has its outputs.
        Err(error) if error.is_reported() => Err(error),
        Err(error) => {
            let violation = Violation::policy("error", "check", format!("no verdict could be reached: {error}"));
            report::set_outputs(&runtime, false, std::slice::from_ref(&violation))?;
            Err(error)
        }
    }
}

fn evaluate(globals: &GlobalArgs, repo: Option<&str>, runtime: &Runtime) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let loaded = cli::load_config(globals)?;
    let config = &loaded.config;
    let event = Event::load(runtime)?;
    let mut violations: Vec<Violation> = Vec::new();
    let mut text = String::new();
    let mut summary = String::new();

    let (branch, pull_title) = match &event {
        Event::PullRequest(event) => (
            Some(event.pull_request.head.git_ref.clone()),
            Some(event.pull_request.title.clone()),
        ),
        Event::Push(push) => (push.branch().map(str::to_string), None),
        _ => (None, None),
    };
    if let Some(branch) = &branch {
        let verdict = crate::branch::check_branch(config, branch);
        summary.push_str(&crate::branch::summary_markdown(&verdict));
        match crate::branch::violation(&verdict) {
            None => text.push_str(&format!("✔ branch {branch}: follows the flow\n")),
            Some(violation) => {
                text.push_str(&format!("✖ {}\n", violation.message));
                violations.push(violation);
            }
        }
    }
    if let Some(title) = &pull_title {
        let linter = Linter::new(&config.guard)?;
        let findings = linter.check_title(title).findings;
        for finding in &findings {
            text.push_str(&format!("PR title: {}\n", report::finding_line(finding)));
            violations.push(Violation::from_finding(None, title, finding));
        }
    }
    if matches!(event, Event::PullRequest(_) | Event::MergeGroup(_)) {
        let args = crate::pr::PrArgs {
            repo: repo.map(str::to_string),
            ..Default::default()
        };
        let verdict = crate::api::block_on(crate::pr::resolve_and_check(runtime, config, &args))?;
        text.push_str(&format!(
            "{} pull request {} → {}\n",
            if verdict.passed { "✔" } else { "✖" },
            verdict.head,
            verdict.base
        ));
        for warning in &verdict.warnings {
            text.push_str(&format!("  ⚠ {warning}\n"));
        }
        summary.push_str(&crate::pr::summary_markdown(&verdict));
        violations.extend(verdict.violations);
    }
    if matches!(event, Event::Push(_) | Event::PullRequest(_) | Event::MergeGroup(_)) {
        let outcome = crate::commits::evaluate(globals, None, runtime)?;
        text.push_str(&crate::commits::render_text(&outcome.report));
        summary.push_str(&crate::commits::summary_markdown(&outcome.report));
        violations.extend(outcome.violations);
    }
    let passed = !violations
        .iter()
        .any(|violation| violation.severity == crate::lint::Severity::Error);
    report::set_outputs(runtime, passed, &violations)?;
    report::annotate(runtime, &violations);
    runtime.append_summary(&summary)?;
    let environment = crate::env::environment_for_event(&config.flow, &event);
    runtime.set_output("environment", environment.as_deref().unwrap_or_default())?;
    if ui.json {
        ui.print_json(&serde_json::json!({
            "event": event.name(),
            "passed": passed,
            "environment": environment,
            "violations": violations,
        }))?;
    } else {
        ui.print(&text)?;
    }
    exit::verdict(passed)
}
