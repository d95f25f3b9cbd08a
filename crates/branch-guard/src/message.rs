//! `branch-guard message FILE|-`: lint one commit message (the `commit-msg`
//! hook) or, with `--pr-title`, a pull request title (squash merges land the
//! title on main as the commit header).

use std::io::Read as _;
use std::path::Path;

use serde::Serialize;
use shipgate_core::actions::{Event, Runtime};
use shipgate_core::cli::{self, GlobalArgs, Ui};
use shipgate_core::exit::{self, Error, ExitCode, Result};
use shipgate_core::git::decode_message;

use crate::lint::{Finding, Linter, SpecialKind};
use crate::report::{self, Violation};

/// The `--json` document of `message`.
#[derive(Debug, Serialize)]
pub struct MessageReport {
    /// `message` or `pull-request-title`.
    pub kind: &'static str,
    pub header: String,
    pub passed: bool,
    /// Set when the message is of a special kind (merge, revert, ...).
    pub special: Option<SpecialKind>,
    /// True when it was not linted because of `special` (commitlint's ignores).
    pub skipped: bool,
    pub findings: Vec<Finding>,
}

/// Where the text to lint comes from.
#[derive(Debug, Clone, Copy)]
pub enum MessageSource<'a> {
    /// A file, or `-` for stdin.
    Path(&'a Path),
    /// The pull request title of the current event.
    Event,
}

/// Lints `text` as a message or a title, ignore list first. `merging`: git
/// is concluding a merge, so the commit will have two parents.
pub fn lint(linter: &Linter, text: &str, pr_title: bool, merging: bool) -> MessageReport {
    let verdict = if pr_title {
        linter.check_title(text)
    } else {
        linter.check_edit(text, merging)
    };
    let stripped = shipgate_core::commit::strip_comments(text);
    MessageReport {
        kind: if pr_title { "pull-request-title" } else { "message" },
        header: shipgate_core::commit::shown_header(shipgate_core::commit::layout(&stripped).header).into_owned(),
        passed: verdict.passed(),
        special: verdict.special,
        skipped: verdict.skipped,
        findings: verdict.findings,
    }
}

/// Whether `path` is a message file in the git directory of the repository
/// here (how git calls `commit-msg`: `.git/COMMIT_EDITMSG`, `.git/MERGE_MSG`)
/// while a merge is being concluded (`MERGE_HEAD` exists).
pub fn merge_in_progress(path: &Path) -> bool {
    let Ok(repo) = git2::Repository::open_from_env() else {
        return false;
    };
    let git_dir = repo.path().canonicalize();
    let parent = path
        .canonicalize()
        .ok()
        .and_then(|file| file.parent().map(Path::to_path_buf));
    matches!((git_dir, parent), (Ok(git_dir), Some(parent)) if git_dir == parent)
        && repo.path().join("MERGE_HEAD").is_file()
}

/// Runs `message`.
pub fn run(globals: &GlobalArgs, source: MessageSource<'_>, pr_title: bool) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let loaded = cli::load_config(globals)?;
    let linter = Linter::new(&loaded.config.guard)?;
    let runtime = Runtime::detect();
    let (text, merging) = match source {
        MessageSource::Path(path) => (
            read_source(path)?,
            !pr_title && path != Path::new("-") && merge_in_progress(path),
        ),
        MessageSource::Event => (event_title(&runtime)?, false),
    };
    let report = lint(&linter, &text, pr_title, merging);
    let violations: Vec<Violation> = report
        .findings
        .iter()
        .map(|finding| Violation::from_finding(None, &report.header, finding))
        .collect();
    report::set_outputs(&runtime, report.passed, &violations)?;
    report::annotate(&runtime, &violations);
    if ui.json {
        ui.print_json(&report::to_json(&report)?)?;
    } else if !violations.is_empty() {
        let mut text = format!("⧗   input: {}\n", report.header);
        for finding in &report.findings {
            text.push_str(&report::finding_line(finding));
            text.push('\n');
        }
        text.push_str(&report::totals_line(&violations));
        text.push('\n');
        if !report.passed {
            text.push_str("ⓘ   conventional commits: `type(scope): subject`, e.g. `feat(upload): resume uploads`\n");
        }
        ui.print(&text)?;
    }
    exit::verdict(report.passed)
}

fn read_source(path: &Path) -> Result<String> {
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::usage_with("cannot read the message from stdin", e))?;
    } else {
        bytes = std::fs::read(path)
            .map_err(|e| Error::usage_with(format!("cannot read the message file {}", path.display()), e))?;
    }
    // git writes the message in `i18n.commitEncoding`, as it will record it
    // in the commit; bytes that are not valid there still lint the header.
    Ok(decode_message(&bytes, commit_encoding().as_deref()).into_owned())
}

/// The repository's `i18n.commitEncoding`: from `git -c` first (git hands
/// its hooks those values in `GIT_CONFIG_PARAMETERS`, which libgit2 does
/// not read), else from the repository's configuration. `None` is UTF-8.
fn commit_encoding() -> Option<String> {
    if let Some(value) = std::env::var("GIT_CONFIG_PARAMETERS")
        .ok()
        .and_then(|parameters| command_line_config(&parameters, "i18n.commitencoding"))
    {
        return Some(value);
    }
    let repo = git2::Repository::open_from_env().ok()?;
    repo.config().ok()?.get_string("i18n.commitEncoding").ok()
}

/// The last value of `key` (no subsection: compared without case) among
/// git's shell-quoted `GIT_CONFIG_PARAMETERS`, `'key'='value'` since git
/// 2.31 and `'key=value'` before.
fn command_line_config(parameters: &str, key: &str) -> Option<String> {
    shlex::split(parameters)?.into_iter().rev().find_map(|entry| {
        let (name, value) = entry.split_once('=')?;
        name.eq_ignore_ascii_case(key).then(|| value.to_owned())
    })
}

fn event_title(runtime: &Runtime) -> Result<String> {
    match Event::load(runtime)? {
        Event::PullRequest(event) => Ok(event.pull_request.title),
        other => Err(Error::usage(format!(
            "--pr-title without a FILE needs a pull_request event, not `{}`; pass the title as FILE or `-`",
            other.name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipgate_core::config::GuardConfig;

    #[test]
    fn git_command_line_config_is_read_in_both_quotings() {
        let parameters = "'user.name'='O'\\''Brien' 'i18n.commitEncoding=ISO-8859-1' 'core.pager'='less -R'";
        assert_eq!(
            command_line_config(parameters, "i18n.commitencoding").as_deref(),
            Some("ISO-8859-1")
        );
        assert_eq!(command_line_config(parameters, "user.name").as_deref(), Some("O'Brien"));
        assert_eq!(
            command_line_config(
                "'i18n.commitencoding'='latin1' 'i18n.commitencoding'='UTF-8'",
                "i18n.commitencoding"
            )
            .as_deref(),
            Some("UTF-8"),
            "the last -c wins"
        );
        assert_eq!(command_line_config("'core.pager'='less'", "i18n.commitencoding"), None);
    }

    #[test]
    fn reports_carry_the_header_and_verdict() {
        let linter = Linter::new(&GuardConfig::default()).expect("defaults");
        let report = lint(&linter, "feat: Add x.\n# comment\n", false, false);
        assert_eq!(report.header, "feat: Add x.");
        assert!(!report.passed);
        let rules: Vec<_> = report.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, ["subject-case", "subject-full-stop"]);
        let title = lint(&linter, "feat(upload): resume uploads", true, false);
        assert!(title.passed && title.kind == "pull-request-title");
        let revert = lint(&linter, "Revert \"feat(upload): resume uploads\"", true, false);
        assert!(revert.passed && revert.skipped, "{revert:?}");
        let merge = lint(&linter, "sync develop\n", false, true);
        assert_eq!((merge.special, merge.skipped), (Some(SpecialKind::Merge), true));
    }
}
