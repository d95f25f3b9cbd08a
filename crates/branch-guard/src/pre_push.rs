//! `branch-guard pre-push REMOTE URL`: git's pre-push hook.
//!
//! git writes one line per ref on stdin:
//! `<local ref> <local sha> <remote ref> <remote sha>`, with an all-zero
//! remote sha for a new ref and an all-zero local sha for a deletion. This
//! path reads only local git data (no network, no async runtime), so it
//! answers in milliseconds even for thousands of new commits.

use std::io::{IsTerminal as _, Read as _};

use git2::{Oid, Repository};
use serde::Serialize;
use shipgate_core::cli::{self, GlobalArgs, Ui};
use shipgate_core::config::Config;
use shipgate_core::exit::{self, Error, ExitCode, Result};

use crate::branch;
use crate::commits::{CommitRange, lint_range};
use crate::lint::{Linter, Severity};

/// One `<local ref> <local sha> <remote ref> <remote sha>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushLine {
    pub local_ref: String,
    pub local_sha: Oid,
    pub remote_ref: String,
    pub remote_sha: Oid,
}

/// One reason to refuse the push, with the way out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The remote ref concerned, e.g. `refs/heads/main`.
    pub remote_ref: String,
    /// `protected-branch`, `force-push`, `delete-protected`, `branch-name`, `commit-message`, `tag-name`.
    pub kind: &'static str,
    pub message: String,
    pub fix: String,
}

/// Parses git's pre-push input; blank lines are ignored. Shas must be
/// complete (40 hex digits, or 64 in a SHA-256 repository): git always
/// writes them so, and a shortened one would be read as a different object.
pub fn parse_lines(input: &str) -> Result<Vec<PushLine>> {
    input
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let invalid = |why: &str| {
                Error::usage(format!(
                    "pre-push input line {} is malformed ({why}): `{}`; git writes `<local ref> <local sha> <remote ref> <remote sha>`",
                    index + 1,
                    line.trim()
                ))
            };
            let [local_ref, local_sha, remote_ref, remote_sha] = fields[..] else {
                return Err(invalid(&format!("{} fields, not 4", fields.len())));
            };
            let sha = |text: &str, what: &str| {
                let full = matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit());
                match Oid::from_str(text) {
                    Ok(oid) if full => Ok(oid),
                    _ => Err(invalid(&format!("the {what} `{text}` is not a full hexadecimal object name"))),
                }
            };
            Ok(PushLine {
                local_ref: local_ref.to_string(),
                local_sha: sha(local_sha, "local sha")?,
                remote_ref: remote_ref.to_string(),
                remote_sha: sha(remote_sha, "remote sha")?,
            })
        })
        .collect()
}

/// Checks every pushed ref; returns the problems (empty: let it through).
pub fn check(
    repo: &Repository,
    config: &Config,
    linter: &Linter,
    remote: &str,
    lines: &[PushLine],
) -> Result<Vec<Problem>> {
    let mut problems = Vec::new();
    for line in lines {
        let problem = |kind, message: String, fix: String| Problem {
            remote_ref: line.remote_ref.clone(),
            kind,
            message,
            fix,
        };
        let deleting = line.local_sha.is_zero();
        if let Some(branch_name) = line.remote_ref.strip_prefix("refs/heads/") {
            let rule = config.flow.rule_for(branch_name);
            let protected = rule.is_some_and(|rule| rule.protected);
            if deleting {
                if protected {
                    problems.push(problem(
                        "delete-protected",
                        format!("deleting protected branch `{branch_name}` is not allowed"),
                        "protected branches are never deleted; delete the local ref only (git branch -D)".into(),
                    ));
                }
                continue;
            }
            if protected {
                let forced = !line.remote_sha.is_zero() && !is_fast_forward(repo, line.remote_sha, line.local_sha);
                if forced {
                    problems.push(problem(
                        "force-push",
                        format!("force push (non-fast-forward) to protected branch `{branch_name}`"),
                        format!("never rewrite `{branch_name}`; reset your local copy: git fetch {remote} && git reset --keep {remote}/{branch_name}"),
                    ));
                }
                problems.push(problem(
                    "protected-branch",
                    format!("direct push to protected branch `{branch_name}`"),
                    format!(
                        "push a feature/* or hotfix/* branch and open a pull request into `{branch_name}`: git switch -c feature/<name> && git push -u {remote} feature/<name>"
                    ),
                ));
            } else if line.remote_sha.is_zero() && !branch::check_branch(config, branch_name).allowed {
                let verdict = branch::check_branch(config, branch_name);
                let patterns: Vec<&str> = config.flow.branches.iter().map(|rule| rule.pattern.as_str()).collect();
                let fix = match &verdict.suggestion {
                    Some(suggestion) => format!(
                        "rename it: git branch -m {branch_name} {suggestion} && git push -u {remote} {suggestion}"
                    ),
                    None => format!("name it after one of: {}", patterns.join(", ")),
                };
                let message = match &verdict.invalid {
                    Some(reason) => format!("new branch {reason}"),
                    None => format!(
                        "new branch `{branch_name}` does not follow the flow ({}; lower-case a-z 0-9 - _ . /)",
                        patterns.join(", ")
                    ),
                };
                problems.push(problem("branch-name", message, fix));
            }
            problems.extend(commit_problems(repo, linter, remote, line)?);
        } else if let Some(tag) = line.remote_ref.strip_prefix("refs/tags/") {
            if deleting {
                continue;
            }
            if config.release.version_of_tag(tag).is_none() {
                let prefix = &config.release.tag_prefix;
                problems.push(problem(
                    "tag-name",
                    format!("tag `{tag}` is not a release version `{prefix}X.Y.Z`"),
                    format!("delete it (git tag -d {tag}) and tag as {prefix}X.Y.Z, e.g. {prefix}1.2.0"),
                ));
            }
        }
    }
    Ok(problems)
}

/// The push as pre-commit describes it (`PRE_COMMIT_LOCAL_BRANCH`, `PRE_COMMIT_TO_REF`,
/// `PRE_COMMIT_REMOTE_BRANCH`, `PRE_COMMIT_FROM_REF`), as one git input line.
fn pre_commit_line() -> Option<String> {
    let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let to = var("PRE_COMMIT_TO_REF")?;
    let remote_branch = var("PRE_COMMIT_REMOTE_BRANCH")?;
    let local = var("PRE_COMMIT_LOCAL_BRANCH").unwrap_or_else(|| remote_branch.clone());
    let from = var("PRE_COMMIT_FROM_REF").unwrap_or_else(|| "0".repeat(40));
    Some(format!("{local} {to} {remote_branch} {from}\n"))
}

fn is_fast_forward(repo: &Repository, remote_sha: Oid, local_sha: Oid) -> bool {
    // An unknown remote sha means we never fetched it: it cannot be an
    // ancestor of what we push, so this is a rewrite.
    repo.graph_descendant_of(local_sha, remote_sha).unwrap_or(false) || remote_sha == local_sha
}

/// The new commits only: not on the remote ref and not on any ref we know the remote has.
fn commit_problems(repo: &Repository, linter: &Linter, remote: &str, line: &PushLine) -> Result<Vec<Problem>> {
    let mut hide = Vec::new();
    if !line.remote_sha.is_zero() && repo.find_commit(line.remote_sha).is_ok() {
        hide.push(line.remote_sha);
    }
    let prefix = format!("refs/remotes/{remote}/");
    if let Ok(references) = repo.references_glob(&format!("{prefix}*")) {
        hide.extend(
            references
                .flatten()
                .filter_map(|reference| reference.peel_to_commit().ok().map(|commit| commit.id())),
        );
    }
    let range = CommitRange {
        to: line.local_sha,
        hide,
    };
    let results = lint_range(repo, linter, &range)?;
    Ok(results
        .into_iter()
        .filter(|commit| !commit.verdict.passed())
        .map(|commit| {
            let errors: Vec<String> = commit
                .verdict
                .findings
                .iter()
                .filter(|finding| finding.severity == Severity::Error)
                .map(|finding| format!("{} [{}]", finding.message, finding.rule))
                .collect();
            Problem {
                remote_ref: line.remote_ref.clone(),
                kind: "commit-message",
                message: format!(
                    "commit {} \"{}\": {}",
                    &commit.sha[..7],
                    commit.header,
                    errors.join("; ")
                ),
                fix: format!(
                    "reword it: git rebase -i {}^ (mark it `reword`), e.g. `feat(scope): describe the change`",
                    &commit.sha[..7]
                ),
            }
        })
        .collect())
}

/// Runs `pre-push`: reads stdin, prints one line per problem, exits 1 to stop the push.
pub fn run(globals: &GlobalArgs, remote: &str, url: &str) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let loaded = cli::load_config(globals)?;
    let linter = Linter::new(&loaded.config.guard)?;
    let mut input = String::new();
    // pre-commit's pre-push stage passes the refs as PRE_COMMIT_* variables
    // and may leave stdin a terminal, which must not be waited on.
    if !std::io::stdin().is_terminal() {
        std::io::stdin()
            .read_to_string(&mut input)
            .map_err(|e| Error::usage_with("cannot read git's pre-push input on stdin", e))?;
    }
    if input.trim().is_empty() {
        input = pre_commit_line().unwrap_or_default();
    }
    let lines = parse_lines(&input)?;
    let cwd = std::env::current_dir().map_err(|e| Error::usage_with("cannot read the current directory", e))?;
    let repo = Repository::discover(&cwd).map_err(|e| {
        Error::usage(format!(
            "{} is not inside a git repository: {}",
            cwd.display(),
            e.message()
        ))
    })?;
    let problems = check(&repo, &loaded.config, &linter, remote, &lines)?;
    if ui.json {
        ui.print_json(&serde_json::json!({
            "remote": remote,
            "url": shipgate_core::url_redaction::redact_str(url),
            "passed": problems.is_empty(),
            "problems": problems,
        }))?;
    } else if !problems.is_empty() {
        let mut text = String::new();
        for problem in &problems {
            text.push_str(&format!(
                "branch-guard: ✖ {}\n    fix: {}\n",
                problem.message, problem.fix
            ));
        }
        text.push_str(&format!(
            "branch-guard: push to {remote} blocked ({} problems); `git push --no-verify` skips this hook, but CI checks the same rules\n",
            problems.len()
        ));
        // git shows a hook's stderr to the person pushing; stdout may be swallowed by GUIs.
        eprint!("{}", shipgate_core::actions::redact(&text));
    }
    exit::verdict(problems.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gits_lines_including_zero_shas() {
        let zero = "0000000000000000000000000000000000000000";
        let sha = "1111111111111111111111111111111111111111";
        let input =
            format!("refs/heads/feature/x {sha} refs/heads/feature/x {zero}\n(delete) {zero} refs/heads/old {sha}\n\n");
        let lines = parse_lines(&input).expect("valid");
        assert_eq!(lines.len(), 2);
        assert!(lines[0].remote_sha.is_zero() && !lines[0].local_sha.is_zero());
        assert!(lines[1].local_sha.is_zero());
        let error = parse_lines(&format!("{input}refs/heads/x nope\n"))
            .expect_err("malformed")
            .to_string();
        assert_eq!(
            error,
            "pre-push input line 4 is malformed (2 fields, not 4): `refs/heads/x nope`; git writes `<local ref> <local sha> <remote ref> <remote sha>`"
        );
        let short = parse_lines(&format!("refs/heads/x abc123 refs/heads/x {zero}\n"))
            .expect_err("abbreviated")
            .to_string();
        assert!(
            short.starts_with(
                "pre-push input line 1 is malformed (the local sha `abc123` is not a full hexadecimal object name)"
            ),
            "{short}"
        );
    }
}
