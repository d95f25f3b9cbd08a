//! `branch-guard commits [RANGE]`: conventional-commit lint of every commit
//! in a range; the range defaults to what the event brought (push:
//! before..after, pull request and merge group: base..head).

use git2::{Oid, Sort};
use serde::Serialize;
use shipgate_core::actions::{Event, Runtime, Summary};
use shipgate_core::cli::{self, GlobalArgs, Ui};
use shipgate_core::commit::shown_header;
use shipgate_core::exit::{self, Error, ExitCode, Result};
use shipgate_core::git::{Repo, decode_message};

use crate::lint::{Author, CommitVerdict, Linter};
use crate::report::{self, Violation};

/// One linted commit; part of the `--json` document.
#[derive(Debug, Clone, Serialize)]
pub struct CommitResult {
    pub sha: String,
    pub header: String,
    pub author: String,
    #[serde(flatten)]
    pub verdict: CommitVerdict,
}

/// The `--json` document of `commits`.
#[derive(Debug, Serialize)]
pub struct CommitsReport {
    /// The range as resolved, `from..to` in full shas (`from` empty: whole history).
    pub range: String,
    pub passed: bool,
    pub linted: usize,
    pub skipped: usize,
    pub commits: Vec<CommitResult>,
}

/// A resolved range: commits reachable from `to` and from none of `hide`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitRange {
    pub to: Oid,
    pub hide: Vec<Oid>,
}

impl CommitRange {
    fn describe(&self) -> String {
        let from = self.hide.first().map(Oid::to_string).unwrap_or_default();
        format!("{from}..{}", self.to)
    }
}

/// Lints every commit in `range`, newest first.
pub fn lint_range(repo: &git2::Repository, linter: &Linter, range: &CommitRange) -> Result<Vec<CommitResult>> {
    let git_error = |context: &str, e: git2::Error| Error::usage(format!("{context}: {}", e.message()));
    let mut walk = repo.revwalk().map_err(|e| git_error("cannot walk history", e))?;
    walk.set_sorting(Sort::TOPOLOGICAL)
        .map_err(|e| git_error("cannot walk history", e))?;
    walk.push(range.to)
        .map_err(|e| git_error(&format!("cannot walk from {}", range.to), e))?;
    for hidden in &range.hide {
        walk.hide(*hidden)
            .map_err(|e| git_error(&format!("cannot exclude {hidden}"), e))?;
    }
    let mut results = Vec::new();
    for oid in walk {
        let oid = oid.map_err(|e| git_error("cannot walk history", e))?;
        let commit = repo
            .find_commit(oid)
            .map_err(|e| git_error(&format!("cannot read commit {oid}"), e))?;
        let encoding = commit.message_encoding().ok().flatten();
        let message = decode_message(commit.message_bytes(), encoding);
        let author = commit.author();
        let name = decode_message(author.name_bytes(), encoding);
        let email = decode_message(author.email_bytes(), encoding);
        let verdict = linter.check_commit(
            &message,
            commit.parent_count(),
            Some(Author {
                name: &name,
                email: &email,
            }),
        );
        results.push(CommitResult {
            sha: oid.to_string(),
            header: shown_header(shipgate_core::commit::layout(&message).header).into_owned(),
            author: name.into_owned(),
            verdict,
        });
    }
    Ok(results)
}

/// Parses `FROM..TO` (`TO` defaults to HEAD), or one revision meaning all of its history.
pub fn parse_range(repo: &Repo, text: &str) -> Result<CommitRange> {
    if text.contains("...") {
        return Err(Error::usage(format!(
            "`{text}`: use a two-dot range FROM..TO (commits in TO that are not in FROM)"
        )));
    }
    match text.split_once("..") {
        Some((from, to)) => {
            let to = repo.resolve(if to.is_empty() { "HEAD" } else { to })?;
            let hide = if from.is_empty() {
                Vec::new()
            } else {
                vec![repo.resolve(from)?]
            };
            Ok(CommitRange { to, hide })
        }
        None => Ok(CommitRange {
            to: repo.resolve(text)?,
            hide: Vec::new(),
        }),
    }
}

const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// The range the event brought, `None` when it brought no commits (a deleted branch).
pub fn range_from_event(repo: &Repo, event: &Event) -> Result<Option<CommitRange>> {
    let resolve = |sha: &str, what: &str| {
        repo.resolve(sha).map_err(|_| {
            Error::usage(format!(
                "the {what} commit {sha} is not in this clone: set `fetch-depth: 0` on actions/checkout"
            ))
        })
    };
    match event {
        Event::Push(push) => {
            if push.deleted || push.after == ZERO_SHA {
                return Ok(None);
            }
            let to = resolve(&push.after, "pushed")?;
            let hide = if push.before == ZERO_SHA || push.created {
                // A new branch: its commits are those not on the default branch yet.
                let default = push.repository.default_branch.as_deref().unwrap_or("main");
                [
                    format!("refs/remotes/origin/{default}"),
                    format!("refs/heads/{default}"),
                ]
                .iter()
                .find_map(|name| repo.resolve(name).ok())
                .filter(|base| *base != to)
                .into_iter()
                .collect()
            } else {
                vec![resolve(&push.before, "previous")?]
            };
            Ok(Some(CommitRange { to, hide }))
        }
        Event::PullRequest(event) => Ok(Some(CommitRange {
            to: resolve(&event.pull_request.head.sha, "pull request head")?,
            hide: vec![resolve(&event.pull_request.base.sha, "pull request base")?],
        })),
        Event::MergeGroup(event) => Ok(Some(CommitRange {
            to: resolve(&event.merge_group.head_sha, "merge group head")?,
            hide: vec![resolve(&event.merge_group.base_sha, "merge group base")?],
        })),
        other => Err(Error::usage(format!(
            "the `{}` event names no commits: pass a RANGE like origin/develop..HEAD",
            other.name()
        ))),
    }
}

/// Everything `commits` found, ready to print or to feed `check`.
#[derive(Debug)]
pub struct CommitsOutcome {
    pub report: CommitsReport,
    pub violations: Vec<Violation>,
}

/// Resolves the range (argument, else event) and lints it.
pub fn evaluate(globals: &GlobalArgs, range: Option<&str>, runtime: &Runtime) -> Result<CommitsOutcome> {
    let loaded = cli::load_config(globals)?;
    let linter = Linter::new(&loaded.config.guard)?;
    let cwd = std::env::current_dir().map_err(|e| Error::usage_with("cannot read the current directory", e))?;
    let repo = Repo::discover(&cwd)?;
    let range = match range {
        Some(text) => Some(parse_range(&repo, text)?),
        None => {
            if runtime.var("GITHUB_EVENT_NAME").is_none() {
                return Err(Error::usage(
                    "no RANGE given and no GitHub event to take one from: pass e.g. origin/develop..HEAD",
                ));
            }
            range_from_event(&repo, &Event::load(runtime)?)?
        }
    };
    let commits = match &range {
        Some(range) => lint_range(repo.git2(), &linter, range)?,
        None => Vec::new(),
    };
    let violations: Vec<Violation> = commits
        .iter()
        .flat_map(|commit| {
            commit
                .verdict
                .findings
                .iter()
                .map(|finding| Violation::from_finding(Some(&commit.sha), &commit.header, finding))
        })
        .collect();
    let passed = commits.iter().all(|commit| commit.verdict.passed());
    let skipped = commits.iter().filter(|commit| commit.verdict.skipped).count();
    Ok(CommitsOutcome {
        report: CommitsReport {
            range: range.as_ref().map(CommitRange::describe).unwrap_or_default(),
            passed,
            linted: commits.len() - skipped,
            skipped,
            commits,
        },
        violations,
    })
}

/// The text report: one block per commit with findings.
pub fn render_text(report: &CommitsReport) -> String {
    let mut text = String::new();
    for commit in &report.commits {
        if commit.verdict.findings.is_empty() {
            continue;
        }
        text.push_str(&format!("{} {}\n", &commit.sha[..7], commit.header));
        for finding in &commit.verdict.findings {
            text.push_str(&format!("    {}\n", report::finding_line(finding)));
        }
    }
    let failed = report.commits.iter().filter(|c| !c.verdict.passed()).count();
    text.push_str(&format!(
        "{} {} linted, {} skipped (merge, revert, fixup, version, bot, ignores), {failed} failed\n",
        if report.passed { "✔" } else { "✖" },
        report::plural(report.linted, "commit"),
        report.skipped,
    ));
    text
}

/// The job summary table of failing commits.
pub fn summary_markdown(report: &CommitsReport) -> String {
    let mut summary = Summary::new();
    summary.heading(3, "Conventional commits");
    let rows: Vec<Vec<String>> = report
        .commits
        .iter()
        .filter(|commit| !commit.verdict.findings.is_empty())
        .map(|commit| {
            let rules: Vec<&str> = commit.verdict.findings.iter().map(|f| f.rule).collect();
            vec![
                format!("`{}`", &commit.sha[..7]),
                commit.header.clone(),
                if commit.verdict.passed() {
                    "⚠ warning"
                } else {
                    "✖ failed"
                }
                .to_string(),
                rules.join(", "),
            ]
        })
        .collect();
    summary.paragraph(&format!(
        "{} linted, {} skipped.",
        report::plural(report.linted, "commit"),
        report.skipped
    ));
    if !rows.is_empty() {
        summary.table(&["Commit", "Header", "Verdict", "Rules"], &rows);
    }
    summary.as_markdown().to_string()
}

/// Runs `commits`.
pub fn run(globals: &GlobalArgs, range: Option<&str>) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let runtime = Runtime::detect();
    let outcome = evaluate(globals, range, &runtime)?;
    report::set_outputs(&runtime, outcome.report.passed, &outcome.violations)?;
    report::annotate(&runtime, &outcome.violations);
    runtime.append_summary(&summary_markdown(&outcome.report))?;
    if ui.json {
        ui.print_json(&report::to_json(&outcome.report)?)?;
    } else {
        ui.print(&render_text(&outcome.report))?;
    }
    exit::verdict(outcome.report.passed)
}
