//! `branch-guard branch [NAME]`: is this branch name allowed by the flow?

use serde::Serialize;
use shipgate_core::actions::{Runtime, Summary};
use shipgate_core::cli::{self, GlobalArgs, Ui};
use shipgate_core::config::{Config, FlowConfig};
use shipgate_core::exit::{self, Error, ExitCode, Result};

use crate::report::{self, Violation};

/// The verdict on one branch name; also the `--json` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BranchVerdict {
    pub branch: String,
    pub allowed: bool,
    /// The flow rule that matched, as written in the config.
    pub rule: Option<String>,
    pub environment: Option<String>,
    pub protected: bool,
    pub merges_into: Vec<String>,
    /// For a rejected name: the closest name the flow allows.
    pub suggestion: Option<String>,
    /// Why git itself refuses the name (`git check-ref-format`), when it does.
    pub invalid: Option<String>,
}

/// Why git refuses `branch` as a branch name, if it does: libgit2's
/// reference-name check (`git check-ref-format`) on `refs/heads/<branch>`,
/// plus what `git branch` adds (no leading `-`, not `HEAD`). The reason names
/// the rule of git-check-ref-format(1) that the name breaks.
pub fn ref_format_problem(branch: &str) -> Option<String> {
    let valid = git2::Reference::is_valid_name(&format!("refs/heads/{branch}"));
    let reason = if branch.starts_with('-') {
        "a branch name cannot start with `-`"
    } else if branch == "HEAD" {
        "`HEAD` is not a branch name"
    } else if valid {
        return None;
    } else if branch.is_empty() {
        "the name is empty"
    } else if branch.contains("..") {
        "it contains `..`"
    } else if branch.starts_with('/') || branch.ends_with('/') || branch.contains("//") {
        "it starts or ends with `/`, or contains `//`"
    } else if branch.split('/').any(|part| part.starts_with('.')) {
        "a `/`-separated part starts with `.`"
    } else if branch.split('/').any(|part| part.ends_with(".lock")) {
        "a `/`-separated part ends with `.lock`"
    } else if branch.ends_with('.') {
        "it ends with `.`"
    } else if branch.contains("@{") || branch == "@" {
        "it contains `@{` or is `@`"
    } else if branch.contains(|c: char| c.is_ascii_control() || c == ' ') {
        "it contains a space or a control character"
    } else if branch.contains(['~', '^', ':', '?', '*', '[', '\\']) {
        "it contains one of `~ ^ : ? * [ \\`"
    } else {
        "git does not accept it as a reference name"
    };
    Some(format!(
        "`{branch}` is not a valid git branch name: {reason} (git check-ref-format)"
    ))
}

/// Whether `branch` only uses the characters seed 000's branch names use.
pub fn has_plain_characters(branch: &str) -> bool {
    branch
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.' | b'/'))
}

/// Checks `branch` against the flow's rules (the first matching rule wins)
/// and, with `[guard] lowercase_branch_names`, its characters.
pub fn check_branch(config: &Config, branch: &str) -> BranchVerdict {
    let flow = &config.flow;
    // A name no flow rule allows: git refuses it, or no pattern matches.
    let unmatched = |invalid: Option<String>| BranchVerdict {
        branch: branch.to_string(),
        allowed: false,
        rule: None,
        environment: None,
        protected: false,
        merges_into: Vec::new(),
        suggestion: suggest(flow, branch),
        invalid,
    };
    if let Some(reason) = ref_format_problem(branch) {
        return unmatched(Some(reason));
    }
    let plain = !config.guard.lowercase_branch_names || has_plain_characters(branch);
    match flow.rule_for(branch) {
        Some(rule) => BranchVerdict {
            branch: branch.to_string(),
            allowed: plain,
            rule: Some(rule.pattern.as_str().to_string()),
            environment: rule.environment.clone(),
            protected: rule.protected,
            merges_into: rule.targets.iter().map(|t| t.as_str().to_string()).collect(),
            suggestion: if plain { None } else { suggest(flow, branch) },
            invalid: None,
        },
        None => unmatched(None),
    }
}

/// The closest allowed name: lower-cased, spaces and `_` as `-`, common
/// prefix spellings (`feat/`, `features/`, `bugfix/`) mapped to the flow's,
/// `release/1.2.0` given its `v`, and a bare name filed under `feature/`.
pub fn suggest(flow: &FlowConfig, branch: &str) -> Option<String> {
    let slug: String = branch
        .trim()
        .trim_matches('/')
        .to_lowercase()
        .chars()
        .map(|c| if c.is_whitespace() || c == '_' { '-' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '.'))
        .collect();
    let (prefix, rest) = match slug.split_once('/') {
        Some((prefix, rest)) => (Some(prefix), rest.to_string()),
        None => (None, slug.clone()),
    };
    let mut candidates = vec![slug.clone()];
    let prefix = prefix.map(|prefix| match prefix {
        "feat" | "features" | "feature" | "ft" => "feature",
        "hotfixes" | "hot-fix" | "bugfix" | "fix" | "hotfix" => "hotfix",
        "releases" | "rel" | "release" => "release",
        other => other,
    });
    match prefix {
        Some("release") => {
            let version = rest.trim_start_matches('v');
            candidates.push(format!("release/v{version}"));
        }
        Some(prefix) => candidates.push(format!("{prefix}/{rest}")),
        None => candidates.push(format!("feature/{slug}")),
    }
    candidates
        .into_iter()
        .filter(|candidate| {
            candidate != branch
                && !candidate.ends_with('/')
                && has_plain_characters(candidate)
                && git2::Reference::is_valid_name(&format!("refs/heads/{candidate}"))
        })
        .find(|candidate| flow.rule_for(candidate).is_some())
}

/// Runs the `branch` command: the named branch, else the event's branch, else HEAD.
pub fn run(globals: &GlobalArgs, name: Option<&str>) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let loaded = cli::load_config(globals)?;
    let branch = match name {
        Some(name) => name.to_string(),
        None => current_branch()?,
    };
    let verdict = check_branch(&loaded.config, &branch);
    let runtime = Runtime::detect();
    let violations: Vec<Violation> = violation(&verdict).into_iter().collect();
    report::set_outputs(&runtime, verdict.allowed, &violations)?;
    report::annotate(&runtime, &violations);
    runtime.append_summary(&summary_markdown(&verdict))?;
    if ui.json {
        let json = serde_json::to_value(&verdict).map_err(|e| Error::usage_with("cannot encode JSON", e))?;
        ui.print_json(&json)?;
    } else {
        ui.print(&format!("{}\n", describe(&verdict, &loaded.config.flow)))?;
    }
    exit::verdict(verdict.allowed)
}

/// The violation a rejected name is, with its rename, for the `violations`
/// output and the annotation; `None` when the name is allowed.
pub fn violation(verdict: &BranchVerdict) -> Option<Violation> {
    if verdict.allowed {
        return None;
    }
    let fix = verdict
        .suggestion
        .as_ref()
        .map(|suggestion| format!("; rename it to `{suggestion}` (git branch -m {suggestion})"))
        .unwrap_or_default();
    let message = match (&verdict.invalid, &verdict.rule) {
        (Some(reason), _) => format!("branch {reason}{fix}"),
        (None, Some(_)) => format!(
            "branch `{}` uses characters other than a-z, 0-9, `-`, `_`, `.` and `/`{fix}",
            verdict.branch
        ),
        (None, None) => format!("branch `{}` does not follow the flow{fix}", verdict.branch),
    };
    Some(Violation::policy("branch-name", &verdict.branch, message))
}

/// The job summary section: the name, the verdict, the rule and where the
/// branch deploys and merges, and the rename for a rejected name.
pub fn summary_markdown(verdict: &BranchVerdict) -> String {
    let mut summary = Summary::new();
    summary.heading(3, "Branch name");
    let mark = if verdict.allowed {
        "✔ allowed"
    } else {
        "✖ not allowed"
    };
    let or_dash = |text: Option<String>| text.unwrap_or_else(|| "—".to_string());
    summary.table(
        &["Branch", "Verdict", "Rule", "Deploys to", "Merges into"],
        &[vec![
            format!("`{}`", verdict.branch),
            mark.to_string(),
            or_dash(verdict.rule.as_ref().map(|rule| format!("`{rule}`"))),
            or_dash(verdict.environment.clone()),
            or_dash((!verdict.merges_into.is_empty()).then(|| verdict.merges_into.join(", "))),
        ]],
    );
    if let Some(violation) = violation(verdict) {
        summary.paragraph(&format!("✖ {}", violation.message));
    }
    summary.as_markdown().to_string()
}

fn describe(verdict: &BranchVerdict, flow: &FlowConfig) -> String {
    let mut text = match (&verdict.rule, verdict.allowed) {
        _ if verdict.invalid.is_some() => verdict.invalid.clone().unwrap_or_default(),
        (Some(rule), true) => {
            let mut text = format!("{}: allowed by `{rule}`", verdict.branch);
            if let Some(env) = &verdict.environment {
                text.push_str(&format!(", deploys to {env}"));
            }
            if !verdict.merges_into.is_empty() {
                text.push_str(&format!(", merges into {}", verdict.merges_into.join(" and ")));
            }
            text
        }
        (Some(_), false) => format!(
            "{}: not allowed: branch names use only a-z, 0-9, `-`, `_`, `.` and `/` ([guard] lowercase_branch_names)",
            verdict.branch
        ),
        (None, _) => {
            let patterns: Vec<&str> = flow.branches.iter().map(|rule| rule.pattern.as_str()).collect();
            format!(
                "{}: not allowed by the flow; branch names must match one of: {}",
                verdict.branch,
                patterns.join(", ")
            )
        }
    };
    if let Some(suggestion) = &verdict.suggestion {
        text.push_str(&format!(
            "\nfix: rename it to `{suggestion}` (git branch -m {suggestion})"
        ));
    }
    text
}

/// The branch this run is about: a PR's head, a pushed branch, or HEAD.
fn current_branch() -> Result<String> {
    let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
    if let Some(head) = env("GITHUB_HEAD_REF") {
        return Ok(head);
    }
    if let (Some(reference), Some(name)) = (env("GITHUB_REF"), env("GITHUB_REF_NAME"))
        && reference.starts_with("refs/heads/")
    {
        return Ok(name);
    }
    let cwd = std::env::current_dir().map_err(|e| Error::usage_with("cannot read the current directory", e))?;
    let repo = shipgate_core::git::Repo::discover(&cwd)?;
    repo.head_branch()?
        .ok_or_else(|| Error::usage("HEAD is detached: name the branch to check"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipgate_core::config::Config;

    #[test]
    fn the_seed_branches_are_allowed_with_their_rules() {
        let config = Config::default();
        let main = check_branch(&config, "main");
        assert!(main.allowed && main.protected);
        assert_eq!(main.environment.as_deref(), Some("production"));
        let develop = check_branch(&config, "develop");
        assert_eq!(develop.environment.as_deref(), Some("staging"));
        let hotfix = check_branch(&config, "hotfix/critical-fix");
        assert_eq!(hotfix.merges_into, vec!["main", "develop"]);
        let feature = check_branch(&config, "feature/video-upload");
        assert_eq!(feature.merges_into, vec!["develop"]);
        assert!(check_branch(&config, "release/v1.2.0").allowed);
    }

    #[test]
    fn names_outside_the_flow_are_rejected() {
        let config = Config::default();
        let flow = &config.flow;
        for name in ["Feature/Login", "release/1.2.0", "release/v1.2", "wip", "feature/"] {
            let verdict = check_branch(&config, name);
            assert!(!verdict.allowed, "{name} should be rejected");
            assert_eq!(verdict.rule, None);
        }
        let text = describe(&check_branch(&config, "wip"), flow);
        assert!(text.contains("git branch -m feature/wip"), "{text}");
        assert!(text.contains("feature/*") && text.contains("hotfix/*"), "{text}");
    }

    #[test]
    fn rejected_names_get_the_closest_allowed_name() {
        let config = Config::default();
        let flow = &config.flow;
        let cases = [
            ("Feature/Login", "feature/login"),
            ("feature/Login Page", "feature/login-page"),
            ("feature/Login", "feature/login"),
            ("feat/upload", "feature/upload"),
            ("features/upload_resume", "feature/upload-resume"),
            ("bugfix/crash", "hotfix/crash"),
            ("release/1.2.0", "release/v1.2.0"),
            ("Release/V1.2.0", "release/v1.2.0"),
            ("login", "feature/login"),
        ];
        for (name, expected) in cases {
            assert_eq!(
                check_branch(&config, name).suggestion.as_deref(),
                Some(expected),
                "{name}"
            );
        }
        assert_eq!(check_branch(&config, "feature/ok").suggestion, None);
        let upper = check_branch(&config, "feature/Login");
        assert!(!upper.allowed && upper.rule.as_deref() == Some("feature/*"));
        assert!(describe(&upper, flow).contains("not allowed"));
        let relaxed = Config {
            guard: shipgate_core::config::GuardConfig {
                lowercase_branch_names: false,
                ..Default::default()
            },
            ..Config::default()
        };
        assert!(check_branch(&relaxed, "feature/Login").allowed);
        assert_eq!(check_branch(&config, "release/v1.2").suggestion, None, "no good guess");
    }

    #[test]
    fn names_git_refuses_are_refused_with_gits_reason() {
        let config = Config::default();
        let cases = [
            ("feature/a..b", "contains `..`"),
            ("feature/x/", "ends with `/`"),
            ("feature//x", "contains `//`"),
            ("feature/x.lock", "ends with `.lock`"),
            ("feature/.x", "starts with `.`"),
            ("feature/x.", "ends with `.`"),
            ("feature/a@{1}", "`@{`"),
            ("feature/a b", "a space"),
            ("feature/a~1", "`~ ^ : ? * [ \\`"),
            ("feature/a:b", "`~ ^ : ? * [ \\`"),
            ("-x", "cannot start with `-`"),
            ("HEAD", "not a branch name"),
        ];
        for (name, reason) in cases {
            let verdict = check_branch(&config, name);
            assert!(!verdict.allowed, "{name}");
            let invalid = verdict.invalid.clone().unwrap_or_default();
            assert!(
                invalid.contains(reason) && invalid.contains("git check-ref-format"),
                "{name}: {invalid}"
            );
            assert_eq!(describe(&verdict, &config.flow).lines().next(), Some(invalid.as_str()));
        }
        assert_eq!(ref_format_problem("feature/ok-name_1.2"), None);
        assert_eq!(
            check_branch(&config, "feature/x.lock").suggestion,
            None,
            "no suggestion git would refuse"
        );
    }
}
