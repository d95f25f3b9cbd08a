//! `branch-guard pr [--base B --head H]`: may this source branch merge into
//! this target under the flow?
//!
//! GitHub cannot restrict a pull request's source branch, so this runs as a
//! required status check, and a required check that never reports leaves
//! pull requests pending forever: every path out of [`run`], errors
//! included, sets the `passed` output and writes the summary.

use serde::Serialize;
use shipgate_core::actions::{Annotation, Event, Runtime, Summary};
use shipgate_core::cli::{self, GlobalArgs, Ui};
use shipgate_core::config::{BackMergePolicy, Config};
use shipgate_core::exit::{self, Error, ExitCode, Result};

use crate::api::{self, RepoApi};
use crate::lint::Severity;
use crate::report::{self, Violation};

/// Whether a hotfix into production has its back-merge pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum BackMerge {
    /// Not a hotfix into the production branch.
    NotNeeded,
    /// A pull request from the same branch into the development branch exists.
    Found {
        number: u64,
    },
    Missing,
    /// It could not be checked (no token or repository); reported as a reminder.
    Unknown {
        reason: String,
    },
}

/// The `--json` document of `pr`.
#[derive(Debug, Clone, Serialize)]
pub struct PrVerdict {
    pub base: String,
    pub head: String,
    pub passed: bool,
    /// The flow rule the head branch matched.
    pub rule: Option<String>,
    /// Where the head branch may merge.
    pub allowed_targets: Vec<String>,
    pub back_merge: BackMerge,
    pub violations: Vec<Violation>,
    /// Reminders that do not fail the verdict.
    pub warnings: Vec<String>,
}

/// The flow part of the verdict; `back_merge` is filled in by the caller.
pub fn check_flow(config: &Config, base: &str, head: &str) -> PrVerdict {
    let flow = &config.flow;
    let rule = flow.rule_for(head);
    let allowed_targets: Vec<String> = rule
        .map(|rule| rule.targets.iter().map(|t| t.as_str().to_string()).collect())
        .unwrap_or_default();
    let mut violations = Vec::new();
    let subject = format!("{head} → {base}");
    let name_verdict = crate::branch::check_branch(config, head);
    match rule {
        _ if name_verdict.invalid.is_some() => {
            violations.push(Violation::policy(
                "flow-source",
                &subject,
                name_verdict.invalid.clone().unwrap_or_default(),
            ));
        }
        Some(_) if !name_verdict.allowed => {
            let suggestion = name_verdict
                .suggestion
                .map(|s| format!("; rename it to `{s}`"))
                .unwrap_or_default();
            violations.push(Violation::policy(
                "flow-source",
                &subject,
                format!("source branch `{head}` uses characters outside a-z 0-9 - _ . /{suggestion}"),
            ));
        }
        None => {
            let patterns: Vec<&str> = flow.branches.iter().map(|r| r.pattern.as_str()).collect();
            let suggestion = crate::branch::suggest(flow, head)
                .map(|s| format!("; rename it to `{s}`"))
                .unwrap_or_default();
            violations.push(Violation::policy(
                "flow-source",
                &subject,
                format!(
                    "source branch `{head}` does not follow the flow (one of: {}){suggestion}",
                    patterns.join(", ")
                ),
            ));
        }
        Some(rule) if !flow.may_merge(head, base) => {
            let message = if allowed_targets.is_empty() {
                format!(
                    "`{}` branches never merge by pull request (`{head}` into `{base}` is not in the flow)",
                    rule.pattern.as_str()
                )
            } else {
                format!(
                    "`{head}` may only merge into {}, not `{base}`",
                    allowed_targets
                        .iter()
                        .map(|t| format!("`{t}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )
            };
            violations.push(Violation::policy("flow-target", &subject, message));
        }
        Some(_) => {}
    }
    PrVerdict {
        base: base.to_string(),
        head: head.to_string(),
        passed: violations.is_empty(),
        rule: rule.map(|r| r.pattern.as_str().to_string()),
        allowed_targets,
        back_merge: BackMerge::NotNeeded,
        violations,
        warnings: Vec::new(),
    }
}

/// Whether this pull request is a hotfix into the production branch.
pub fn needs_back_merge(config: &Config, base: &str, head: &str) -> bool {
    config.release.is_hotfix_branch(head) && base == config.release.production_branch
}

/// Applies the back-merge finding to the verdict under `[guard] hotfix_back_merge`.
pub fn apply_back_merge(config: &Config, verdict: &mut PrVerdict, back_merge: BackMerge) {
    let develop = &config.release.development_branch;
    let subject = format!("{} → {}", verdict.head, verdict.base);
    let reminder = format!(
        "hotfix `{}` has no pull request into `{develop}`: open one so the fix is not lost at the next release (seed: \"Create PR to main AND develop\")",
        verdict.head
    );
    match &back_merge {
        BackMerge::Missing => match config.guard.hotfix_back_merge {
            BackMergePolicy::Warn => verdict.warnings.push(reminder),
            BackMergePolicy::Fail => {
                verdict
                    .violations
                    .push(Violation::policy("hotfix-back-merge", &subject, reminder));
                verdict.passed = false;
            }
        },
        BackMerge::Unknown { reason } => verdict.warnings.push(format!(
            "remember to open a pull request from `{}` into `{develop}` (could not check: {reason})",
            verdict.head
        )),
        BackMerge::NotNeeded | BackMerge::Found { .. } => {}
    }
    verdict.back_merge = back_merge;
}

/// Where the inputs come from.
#[derive(Debug, Clone, Default)]
pub struct PrArgs {
    pub base: Option<String>,
    pub head: Option<String>,
    /// `OWNER/NAME`, default `GITHUB_REPOSITORY`.
    pub repo: Option<String>,
}

/// `gh-readonly-queue/<base>/pr-<number>-<sha>` → the pull request number.
pub fn queue_pull_number(head_ref: &str) -> Option<u64> {
    let name = head_ref.strip_prefix("refs/heads/").unwrap_or(head_ref);
    let rest = name.strip_prefix("gh-readonly-queue/")?;
    let last = rest.rsplit('/').next()?;
    last.strip_prefix("pr-")?.split('-').next()?.parse().ok()
}

/// Resolves base and head (flags, else the event) and checks them.
pub async fn resolve_and_check(runtime: &Runtime, config: &Config, args: &PrArgs) -> Result<PrVerdict> {
    let mut api: Option<RepoApi> = None;
    let (base, head) = match (&args.base, &args.head) {
        (Some(base), Some(head)) => (base.clone(), head.clone()),
        (base_flag, head_flag) => {
            let (base, head) = match Event::load(runtime)? {
                Event::PullRequest(event) => (event.pull_request.base.git_ref, event.pull_request.head.git_ref),
                Event::MergeGroup(event) => {
                    let base = event.merge_group.base_ref.trim_start_matches("refs/heads/").to_string();
                    let number = queue_pull_number(&event.merge_group.head_ref).ok_or_else(|| {
                        Error::usage(format!(
                            "merge group head `{}` does not name a pull request",
                            event.merge_group.head_ref
                        ))
                    })?;
                    let client = RepoApi::from_runtime(runtime, args.repo.as_deref())?;
                    let pull = client.pull(number).await?;
                    api = Some(client);
                    (base, pull.head.git_ref)
                }
                other => {
                    return Err(Error::usage(format!(
                        "the `{}` event is not a pull request: pass --base and --head",
                        other.name()
                    )));
                }
            };
            (base_flag.clone().unwrap_or(base), head_flag.clone().unwrap_or(head))
        }
    };
    let mut verdict = check_flow(config, &base, &head);
    if needs_back_merge(config, &base, &head) {
        let client = match api {
            Some(client) => Ok(client),
            None => RepoApi::from_runtime(runtime, args.repo.as_deref()),
        };
        let back_merge = match client {
            Err(error) => BackMerge::Unknown {
                reason: error.to_string(),
            },
            Ok(client) => {
                let pulls = client.pulls_between(&head, &config.release.development_branch).await?;
                match pulls.iter().find(|pull| pull.head.git_ref == head) {
                    Some(pull) => BackMerge::Found { number: pull.number },
                    None => BackMerge::Missing,
                }
            }
        };
        apply_back_merge(config, &mut verdict, back_merge);
    }
    Ok(verdict)
}

/// The job summary section.
pub fn summary_markdown(verdict: &PrVerdict) -> String {
    let mut summary = Summary::new();
    summary.heading(3, "Pull request flow");
    let mark = if verdict.passed {
        "✔ allowed"
    } else {
        "✖ not allowed"
    };
    summary.table(
        &["Source", "Target", "Verdict"],
        &[vec![
            format!("`{}`", verdict.head),
            format!("`{}`", verdict.base),
            mark.to_string(),
        ]],
    );
    for violation in &verdict.violations {
        summary.paragraph(&format!("✖ {}", violation.message));
    }
    for warning in &verdict.warnings {
        summary.paragraph(&format!("⚠ {warning}"));
    }
    summary.as_markdown().to_string()
}

/// Runs `pr`; see the module docs for why errors still report a verdict.
pub fn run(globals: &GlobalArgs, args: &PrArgs) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let runtime = Runtime::detect();
    let result =
        cli::load_config(globals).and_then(|loaded| api::block_on(resolve_and_check(&runtime, &loaded.config, args)));
    let verdict = match result {
        Ok(verdict) => verdict,
        Err(error) => {
            let violation = Violation::policy("error", "pull request", format!("no verdict could be reached: {error}"));
            report::set_outputs(&runtime, false, std::slice::from_ref(&violation))?;
            runtime.append_summary(&format!(
                "### Pull request flow\n\n✖ no verdict could be reached: {error}\n"
            ))?;
            return Err(error);
        }
    };
    report::set_outputs(&runtime, verdict.passed, &verdict.violations)?;
    report::annotate(&runtime, &verdict.violations);
    for warning in &verdict.warnings {
        if runtime.in_actions() {
            runtime.warning(&Annotation::new(warning.clone()).title("hotfix back-merge"));
        }
    }
    runtime.append_summary(&summary_markdown(&verdict))?;
    if ui.json {
        ui.print_json(&report::to_json(&verdict)?)?;
    } else {
        let mut text = if verdict.passed {
            format!("✔ {} → {}: allowed by the flow\n", verdict.head, verdict.base)
        } else {
            format!("✖ {} → {}: not allowed by the flow\n", verdict.head, verdict.base)
        };
        for violation in &verdict.violations {
            let mark = if violation.severity == Severity::Error {
                "✖"
            } else {
                "⚠"
            };
            text.push_str(&format!("  {mark} {}\n", violation.message));
        }
        for warning in &verdict.warnings {
            text.push_str(&format!("  ⚠ {warning}\n"));
        }
        ui.print(&text)?;
    }
    exit::verdict(verdict.passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_flow_edges() {
        let config = Config::default();
        let allowed = |head: &str, base: &str| check_flow(&config, base, head).passed;
        assert!(allowed("feature/upload", "develop"));
        assert!(allowed("release/v1.2.0", "main"));
        assert!(allowed("hotfix/crash", "main"));
        assert!(allowed("hotfix/crash", "develop"));
        assert!(!allowed("feature/upload", "main"));
        assert!(!allowed("develop", "main"));
        assert!(!allowed("wip", "develop"));
        let verdict = check_flow(&config, "main", "feature/upload");
        assert!(
            verdict.violations[0].message.contains("may only merge into `develop`"),
            "{verdict:?}"
        );
        let verdict = check_flow(&config, "develop", "Feature/Login");
        assert!(verdict.violations[0].message.contains("feature/login"), "{verdict:?}");
        let verdict = check_flow(&config, "develop", "feature/Login");
        assert!(
            !verdict.passed && verdict.violations[0].message.contains("feature/login"),
            "{verdict:?}"
        );
    }

    #[test]
    fn a_missing_back_merge_warns_or_fails_by_config() {
        let mut config = Config::default();
        assert!(needs_back_merge(&config, "main", "hotfix/crash"));
        assert!(!needs_back_merge(&config, "develop", "hotfix/crash"));
        let mut verdict = check_flow(&config, "main", "hotfix/crash");
        apply_back_merge(&config, &mut verdict, BackMerge::Missing);
        assert!(verdict.passed && verdict.warnings[0].contains("develop"), "{verdict:?}");
        config.guard.hotfix_back_merge = BackMergePolicy::Fail;
        let mut verdict = check_flow(&config, "main", "hotfix/crash");
        apply_back_merge(&config, &mut verdict, BackMerge::Missing);
        assert!(!verdict.passed);
        assert_eq!(verdict.violations[0].rule, "hotfix-back-merge");
    }

    #[test]
    fn merge_queue_branches_name_their_pull_request() {
        assert_eq!(
            queue_pull_number("refs/heads/gh-readonly-queue/main/pr-42-abcdef"),
            Some(42)
        );
        assert_eq!(queue_pull_number("gh-readonly-queue/release/v1/pr-7-0123"), Some(7));
        assert_eq!(queue_pull_number("refs/heads/feature/x"), None);
    }
}
