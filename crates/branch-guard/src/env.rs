//! `branch-guard env [REF]`: the environment a ref deploys to, as the
//! `environment` output for deploy jobs. main → production, develop →
//! staging (seed 000's branch table), pull requests → preview, else none.

use serde::Serialize;
use shipgate_core::actions::{Event, Runtime};
use shipgate_core::cli::{self, GlobalArgs, Ui};
use shipgate_core::config::FlowConfig;
use shipgate_core::exit::{ExitCode, Result};

/// The `--json` document of `env`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvironmentVerdict {
    /// The ref as given or found.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// `None`: the ref deploys nowhere.
    pub environment: Option<String>,
    /// `branch`, `pull-request`, `tag` or `other`.
    pub kind: &'static str,
}

/// Where `git_ref` deploys: `refs/heads/X` or a bare branch name, `refs/pull/N/...`, `refs/tags/...`.
pub fn environment_for_ref(flow: &FlowConfig, git_ref: &str) -> EnvironmentVerdict {
    let verdict = |environment: Option<&str>, kind| EnvironmentVerdict {
        git_ref: git_ref.to_string(),
        environment: environment.map(str::to_string),
        kind,
    };
    if git_ref.starts_with("refs/pull/") {
        return verdict(Some(flow.environment_for_pull_request()), "pull-request");
    }
    if git_ref.starts_with("refs/tags/") {
        return verdict(None, "tag");
    }
    if git_ref.starts_with("refs/") && !git_ref.starts_with("refs/heads/") {
        return verdict(None, "other");
    }
    let branch = git_ref.strip_prefix("refs/heads/").unwrap_or(git_ref);
    verdict(flow.environment_for_branch(branch), "branch")
}

/// Where the run for `event` deploys, `None` for an event without a ref.
pub fn environment_for_event(flow: &FlowConfig, event: &Event) -> Option<String> {
    let git_ref = match event {
        Event::PullRequest(event) => format!("refs/pull/{}/merge", event.number),
        Event::MergeGroup(event) => event.merge_group.head_ref.clone(),
        Event::Push(event) => event.git_ref.clone(),
        Event::WorkflowDispatch(event) => event.git_ref.clone(),
        Event::Other { .. } => return None,
    };
    environment_for_ref(flow, &git_ref).environment
}

/// The ref this run is about: a pull request event means its preview, a
/// merge group deploys nowhere, otherwise `GITHUB_REF`.
fn ref_from_runtime(runtime: &Runtime) -> Result<String> {
    if runtime.var("GITHUB_EVENT_NAME").is_some() {
        match Event::load(runtime)? {
            Event::PullRequest(event) => return Ok(format!("refs/pull/{}/merge", event.number)),
            Event::MergeGroup(event) => return Ok(event.merge_group.head_ref),
            Event::Push(event) => return Ok(event.git_ref),
            Event::WorkflowDispatch(event) => return Ok(event.git_ref),
            Event::Other { .. } => {}
        }
    }
    match runtime.var("GITHUB_REF") {
        Some(git_ref) => Ok(git_ref.to_string()),
        None => {
            let cwd = std::env::current_dir()
                .map_err(|e| shipgate_core::exit::Error::usage_with("cannot read the current directory", e))?;
            let repo = shipgate_core::git::Repo::discover(&cwd)?;
            repo.head_branch()?
                .map(|branch| format!("refs/heads/{branch}"))
                .ok_or_else(|| shipgate_core::exit::Error::usage("HEAD is detached: name the REF"))
        }
    }
}

/// Runs `env`: always exits 0, a ref that deploys nowhere is not a failure.
pub fn run(globals: &GlobalArgs, git_ref: Option<&str>) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let loaded = cli::load_config(globals)?;
    let runtime = Runtime::detect();
    let git_ref = match git_ref {
        Some(git_ref) => git_ref.to_string(),
        None => ref_from_runtime(&runtime)?,
    };
    let verdict = environment_for_ref(&loaded.config.flow, &git_ref);
    runtime.set_output("environment", verdict.environment.as_deref().unwrap_or_default())?;
    if ui.json {
        ui.print_json(&crate::report::to_json(&verdict)?)?;
    } else {
        ui.print(&format!("{}\n", verdict.environment.as_deref().unwrap_or("none")))?;
    }
    Ok(ExitCode::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipgate_core::config::Config;

    #[test]
    fn the_seed_environments() {
        let flow = Config::default().flow;
        let env = |git_ref: &str| environment_for_ref(&flow, git_ref).environment;
        assert_eq!(env("main").as_deref(), Some("production"));
        assert_eq!(env("refs/heads/main").as_deref(), Some("production"));
        assert_eq!(env("develop").as_deref(), Some("staging"));
        assert_eq!(env("refs/pull/7/merge").as_deref(), Some("preview"));
        assert_eq!(env("feature/upload"), None);
        assert_eq!(env("refs/tags/v1.2.0"), None);
        assert_eq!(env("refs/heads/gh-readonly-queue/main/pr-7-abc"), None);
        assert_eq!(environment_for_ref(&flow, "refs/tags/v1.2.0").kind, "tag");
    }
}
