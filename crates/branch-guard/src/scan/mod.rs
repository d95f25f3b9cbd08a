//! `branch-guard scan FILE...`: one security gate over every scanner that
//! writes SARIF 2.1.0 (Bandit, Semgrep, CodeQL, Trivy, ESLint's SARIF
//! formatter...). Each result gets one severity as GitHub code scanning
//! ranks it (`severity`), accepted findings come from a baseline with an
//! expiry date (`baseline`), and the verdict is reported as text, `--json`,
//! a job summary and line annotations (`report`).
//!
//! Nothing here is remote: the exit code is 0, 1 (findings at or above the
//! threshold) or 2 (a missing or malformed file), never 3.

pub mod baseline;
pub mod report;
pub mod sarif;
pub mod severity;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;
use shipgate_core::actions::{Event, Runtime};
use shipgate_core::cli::{self, GlobalArgs, Ui};
use shipgate_core::config::ScanThreshold;
use shipgate_core::exit::{self, Error, ExitCode, Result};

use self::baseline::{Baseline, Entry};
use self::sarif::{Extracted, Finding, Paths};

/// What `scan` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct ScanArgs {
    /// SARIF files, directories (every `*.sarif` below) or glob patterns.
    pub files: Vec<String>,
    /// `--fail-on`; `None` takes `guard.scan.fail_on`.
    pub fail_on: Option<ScanThreshold>,
    /// `--baseline`; `None` takes `guard.scan.baseline`.
    pub baseline: Option<PathBuf>,
}

/// Where a finding stands against the threshold and the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// At or above the threshold: the gate fails.
    Failing,
    /// Reported, but under the threshold.
    Below,
    /// Named by an active baseline entry.
    Accepted,
}

/// A finding with its verdict.
#[derive(Debug, Clone)]
pub struct Assessed {
    pub finding: Finding,
    pub status: Status,
    /// The active baseline entry (its number) that accepts it.
    pub accepted_by: Option<usize>,
    /// An expired baseline entry (its number) that would have accepted it.
    pub expired_entry: Option<usize>,
}

/// A baseline entry and how many findings it named.
#[derive(Debug, Clone)]
pub struct EntryUse {
    pub entry: Entry,
    pub matched: usize,
}

/// What the baseline did.
#[derive(Debug, Clone)]
pub struct BaselineOutcome {
    pub path: String,
    /// Past their date: they no longer suppress.
    pub expired: Vec<EntryUse>,
    /// Active, but naming no finding of this scan.
    pub unused: Vec<Entry>,
}

/// The whole verdict of one scan.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub threshold: ScanThreshold,
    pub files: Vec<String>,
    /// Most severe first.
    pub findings: Vec<Assessed>,
    pub suppressed_in_source: usize,
    pub baseline: Option<BaselineOutcome>,
}

impl Outcome {
    pub fn count(&self, status: Status) -> usize {
        self.findings.iter().filter(|a| a.status == status).count()
    }

    pub fn passed(&self) -> bool {
        self.count(Status::Failing) == 0
    }
}

/// Runs `scan`.
pub fn run(globals: &GlobalArgs, args: &ScanArgs) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let runtime = Runtime::detect();
    let loaded = cli::load_config(globals)?;
    let scan_config = &loaded.config.guard.scan;
    let threshold = args.fail_on.unwrap_or(scan_config.fail_on);
    let cwd = std::env::current_dir().map_err(|e| Error::usage_with("cannot read the current directory", e))?;

    // Everything is read and checked before anything is written.
    let files = expand(&args.files, &cwd)?;
    let mut extracted = Extracted::default();
    let paths = Paths {
        cwd: cwd.clone(),
        repo_root: loaded.repo_root.clone(),
    };
    for file in &files {
        let log = sarif::read(file)?;
        sarif::findings(&log, &file.display().to_string(), &paths, &mut extracted);
    }
    let baseline_path = match &args.baseline {
        Some(path) => Some(path.clone()),
        None if scan_config.baseline.is_empty() => None,
        None => Some(loaded.repo_root.join(&scan_config.baseline)),
    };
    let baseline = baseline_path.as_deref().map(Baseline::load).transpose()?;
    let today = chrono::Utc::now().date_naive();
    let outcome = assess(
        threshold,
        files.iter().map(|f| f.display().to_string()).collect(),
        extracted,
        baseline.as_ref(),
        today,
    );

    let links = report::Links::from_runtime(&runtime, head_sha(&runtime));
    report::annotate(&runtime, &outcome);
    runtime.set_output("passed", if outcome.passed() { "true" } else { "false" })?;
    runtime.set_output("findings", &outcome.count(Status::Failing).to_string())?;
    runtime.append_summary(&report::summary(&outcome, &links))?;
    if ui.json {
        ui.print_json(&report::json(&outcome, &links))?;
    } else {
        ui.print(&report::text(&outcome))?;
    }
    exit::verdict(outcome.passed())
}

/// The commit the locations link to: a pull request's head (the merge
/// commit GitHub checks out has no blob pages), else `GITHUB_SHA`.
fn head_sha(runtime: &Runtime) -> Option<String> {
    if let Ok(Event::PullRequest(event)) = Event::load(runtime) {
        return Some(event.pull_request.head.sha);
    }
    runtime.var("GITHUB_SHA").map(str::to_string)
}

/// Files as given, every `*.sarif` below a directory, and glob matches
/// (sorted); a name that is none of these, or a pattern matching nothing,
/// is a usage error.
pub fn expand(patterns: &[String], cwd: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for pattern in patterns {
        let path = cwd.join(pattern);
        if path.is_file() {
            files.push(PathBuf::from(pattern));
            continue;
        }
        let glob_pattern = if path.is_dir() {
            format!("{}/**/*.sarif", pattern.trim_end_matches('/'))
        } else if pattern.contains(['*', '?', '[']) {
            pattern.clone()
        } else {
            return Err(Error::usage(format!("SARIF file {pattern} not found")));
        };
        let absolute = cwd.join(&glob_pattern);
        let entries = glob::glob(&absolute.to_string_lossy())
            .map_err(|e| Error::usage_with(format!("invalid SARIF file pattern `{pattern}`"), e))?;
        let mut matched: Vec<PathBuf> = entries
            .filter_map(std::result::Result::ok)
            .filter(|p| p.is_file())
            .map(|p| p.strip_prefix(cwd).map(Path::to_path_buf).unwrap_or(p))
            .collect();
        if matched.is_empty() {
            return Err(Error::usage(format!("no SARIF file matches `{glob_pattern}`")));
        }
        matched.sort();
        files.extend(matched);
    }
    files.dedup();
    Ok(files)
}

/// Applies the threshold and the baseline as of `today`.
pub fn assess(
    threshold: ScanThreshold,
    files: Vec<String>,
    extracted: Extracted,
    baseline: Option<&Baseline>,
    today: NaiveDate,
) -> Outcome {
    let entries: &[Entry] = baseline.map(|b| b.entries.as_slice()).unwrap_or_default();
    let mut matched = vec![0usize; entries.len()];
    let mut findings: Vec<Assessed> = extracted
        .findings
        .into_iter()
        .map(|finding| {
            let mut accepted_by = None;
            let mut expired_entry = None;
            for (index, entry) in entries.iter().enumerate() {
                if !entry.matches(&finding) {
                    continue;
                }
                matched[index] += 1;
                if entry.active(today) {
                    accepted_by.get_or_insert(entry.number);
                } else {
                    expired_entry.get_or_insert(entry.number);
                }
            }
            let status = if accepted_by.is_some() {
                Status::Accepted
            } else if finding.severity.fails(threshold) {
                Status::Failing
            } else {
                Status::Below
            };
            Assessed {
                finding,
                status,
                accepted_by,
                expired_entry: expired_entry.filter(|_| accepted_by.is_none()),
            }
        })
        .collect();
    findings.sort_by(|a, b| {
        let key = |x: &Assessed| {
            (
                std::cmp::Reverse(x.finding.severity.rank()),
                x.finding.severity,
                x.finding.tool.clone(),
                x.finding.rule.clone(),
                x.finding.location.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    let baseline = baseline.map(|baseline| BaselineOutcome {
        path: baseline.path.display().to_string(),
        expired: entries
            .iter()
            .zip(&matched)
            .filter(|(entry, _)| !entry.active(today))
            .map(|(entry, count)| EntryUse {
                entry: entry.clone(),
                matched: *count,
            })
            .collect(),
        unused: entries
            .iter()
            .zip(&matched)
            .filter(|(entry, count)| entry.active(today) && **count == 0)
            .map(|(entry, _)| entry.clone())
            .collect(),
    });
    Outcome {
        threshold,
        files,
        findings,
        suppressed_in_source: extracted.suppressed_in_source,
        baseline,
    }
}
