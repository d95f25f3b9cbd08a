//! `branch-guard branch [NAME]`: is this branch name allowed by the flow?

use serde::Serialize;
use shipgate_core::actions::Runtime;
use shipgate_core::cli::{self, GlobalArgs, Ui};
use shipgate_core::config::FlowConfig;
use shipgate_core::exit::{Error, ExitCode, Result};

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
}

/// Checks `branch` against the flow's rules; the first matching rule wins.
pub fn check_branch(flow: &FlowConfig, branch: &str) -> BranchVerdict {
    match flow.rule_for(branch) {
        Some(rule) => BranchVerdict {
            branch: branch.to_string(),
            allowed: true,
            rule: Some(rule.pattern.as_str().to_string()),
            environment: rule.environment.clone(),
            protected: rule.protected,
            merges_into: rule.targets.iter().map(|t| t.as_str().to_string()).collect(),
        },
        None => BranchVerdict {
            branch: branch.to_string(),
            allowed: false,
            rule: None,
            environment: None,
            protected: false,
            merges_into: Vec::new(),
        },
    }
}

/// Runs the `branch` command: the named branch, else the event's branch, else HEAD.
pub fn run(globals: &GlobalArgs, name: Option<&str>) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let loaded = cli::load_config(globals)?;
    let branch = match name {
        Some(name) => name.to_string(),
        None => current_branch()?,
    };
    let verdict = check_branch(&loaded.config.flow, &branch);
    let runtime = Runtime::detect();
    runtime.set_output("passed", if verdict.allowed { "true" } else { "false" })?;
    if ui.json {
        let json = serde_json::to_value(&verdict).map_err(|e| Error::usage(format!("cannot encode JSON: {e}")))?;
        ui.print_json(&json)?;
    } else {
        ui.print(&format!("{}\n", describe(&verdict, &loaded.config.flow)))?;
    }
    Ok(if verdict.allowed {
        ExitCode::Ok
    } else {
        ExitCode::CheckFailed
    })
}

fn describe(verdict: &BranchVerdict, flow: &FlowConfig) -> String {
    match &verdict.rule {
        Some(rule) => {
            let mut text = format!("{}: allowed by `{rule}`", verdict.branch);
            if let Some(env) = &verdict.environment {
                text.push_str(&format!(", deploys to {env}"));
            }
            if !verdict.merges_into.is_empty() {
                text.push_str(&format!(", merges into {}", verdict.merges_into.join(" and ")));
            }
            text
        }
        None => {
            let patterns: Vec<&str> = flow.branches.iter().map(|rule| rule.pattern.as_str()).collect();
            format!(
                "{}: not allowed by the flow; branch names must match one of: {}",
                verdict.branch,
                patterns.join(", ")
            )
        }
    }
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
    let cwd = std::env::current_dir().map_err(|e| Error::usage(format!("cannot read the current directory: {e}")))?;
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
        let flow = Config::default().flow;
        let main = check_branch(&flow, "main");
        assert!(main.allowed && main.protected);
        assert_eq!(main.environment.as_deref(), Some("production"));
        let develop = check_branch(&flow, "develop");
        assert_eq!(develop.environment.as_deref(), Some("staging"));
        let hotfix = check_branch(&flow, "hotfix/critical-fix");
        assert_eq!(hotfix.merges_into, vec!["main", "develop"]);
        let feature = check_branch(&flow, "feature/video-upload");
        assert_eq!(feature.merges_into, vec!["develop"]);
        assert!(check_branch(&flow, "release/v1.2.0").allowed);
    }

    #[test]
    fn names_outside_the_flow_are_rejected() {
        let flow = Config::default().flow;
        for name in ["Feature/Login", "release/1.2.0", "release/v1.2", "wip", "feature/"] {
            let verdict = check_branch(&flow, name);
            assert!(!verdict.allowed, "{name} should be rejected");
            assert_eq!(verdict.rule, None);
        }
        let text = describe(&check_branch(&flow, "wip"), &flow);
        assert!(text.contains("feature/*") && text.contains("hotfix/*"), "{text}");
    }
}
