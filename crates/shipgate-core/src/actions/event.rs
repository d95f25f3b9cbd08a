//! The payload of the event that triggered the workflow
//! (`$GITHUB_EVENT_PATH`), reduced to the fields shipgate uses.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::exit::{Error, Result};

use super::runtime::Runtime;

/// The event that triggered the workflow, with the fields shipgate uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A `push` of a branch or tag.
    Push(PushEvent),
    /// `pull_request` or `pull_request_target` (see [`PullRequestEvent::target`]).
    PullRequest(PullRequestEvent),
    /// `merge_group`: a merge queue asks for checks on a group of pull requests.
    MergeGroup(MergeGroupEvent),
    /// `workflow_dispatch`: a run started by hand or through the API, with inputs.
    WorkflowDispatch(WorkflowDispatchEvent),
    /// Any other event; its payload is not parsed.
    Other {
        /// The event name as GitHub spells it (`GITHUB_EVENT_NAME`).
        name: String,
    },
}

/// `repository` in event payloads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EventRepository {
    /// `full_name`: the repository as `owner/name`.
    pub full_name: String,
    /// `default_branch`, e.g. `main`; `None` when the payload omits it.
    #[serde(default)]
    pub default_branch: Option<String>,
}

/// A commit listed in a push payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PushCommit {
    /// `id`: the commit's full SHA.
    pub id: String,
    /// `message`: the full commit message.
    pub message: String,
}

/// `push` payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PushEvent {
    /// `ref`: the full pushed ref, e.g. `refs/heads/main` or `refs/tags/v1.2.0`.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// `before`: the ref's SHA before the push; all zeros when the push created it.
    pub before: String,
    /// `after`: the ref's SHA after the push; all zeros when the push deleted it.
    pub after: String,
    /// `created`: whether the push created the ref; false when absent.
    #[serde(default)]
    pub created: bool,
    /// `deleted`: whether the push deleted the ref; false when absent.
    #[serde(default)]
    pub deleted: bool,
    /// `forced`: whether the push was a force push; false when absent.
    #[serde(default)]
    pub forced: bool,
    /// `commits`: the pushed commits as GitHub lists them; empty when absent.
    #[serde(default)]
    pub commits: Vec<PushCommit>,
    /// `repository`: the repository that was pushed to.
    pub repository: EventRepository,
}

impl PushEvent {
    /// The pushed branch name if a branch was pushed.
    pub fn branch(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/heads/")
    }

    /// The pushed tag name if a tag was pushed.
    pub fn tag(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/tags/")
    }
}

/// A branch end of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRequestBranch {
    /// `ref`: the branch name, without `refs/heads/`.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// `sha`: the commit at the branch's tip when the event fired.
    pub sha: String,
    /// `None` when the head fork was deleted.
    #[serde(default)]
    pub repo: Option<EventRepository>,
}

/// A GitHub user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    /// `login`: the account's username.
    pub login: String,
}

/// `pull_request` in a pull request payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRequest {
    /// `number`: the pull request's number in the base repository.
    pub number: u64,
    /// `title`: the title when the event fired.
    pub title: String,
    /// `draft`: whether the pull request is a draft; false when absent.
    #[serde(default)]
    pub draft: bool,
    /// `base`: the branch the pull request merges into.
    pub base: PullRequestBranch,
    /// `head`: the branch with the changes, possibly in a fork.
    pub head: PullRequestBranch,
    /// `user`: the account that opened the pull request.
    pub user: User,
}

/// `pull_request` / `pull_request_target` payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRequestEvent {
    /// `action`: what happened, e.g. `opened` or `synchronize`; empty when absent.
    #[serde(default)]
    pub action: String,
    /// `number`: the pull request's number, as in `pull_request.number`.
    pub number: u64,
    /// `pull_request`: the pull request the event is about.
    pub pull_request: PullRequest,
    /// `repository`: the base repository, where the pull request is open.
    pub repository: EventRepository,
    /// True for `pull_request_target`, which runs with the base repository's
    /// token and secrets: never check out and run the head's code.
    #[serde(skip)]
    pub target: bool,
}

impl PullRequestEvent {
    /// Whether the head branch lives in another repository (a fork).
    pub fn is_from_fork(&self) -> bool {
        match &self.pull_request.head.repo {
            Some(repo) => repo.full_name != self.repository.full_name,
            None => true,
        }
    }
}

/// `merge_group` in a merge queue payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MergeGroup {
    /// `head_sha`: the commit the queue tests, the base plus the group's changes.
    pub head_sha: String,
    /// `head_ref`: the queue's temporary ref, under `refs/heads/gh-readonly-queue/`.
    pub head_ref: String,
    /// `base_sha`: the commit of the target branch the group was built on.
    pub base_sha: String,
    /// `base_ref`: the full ref of the target branch, e.g. `refs/heads/main`.
    pub base_ref: String,
}

/// `merge_group` payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MergeGroupEvent {
    /// `action`: `checks_requested` or `destroyed`; empty when absent.
    #[serde(default)]
    pub action: String,
    /// `merge_group`: the group under test.
    pub merge_group: MergeGroup,
    /// `repository`: the repository whose merge queue it is.
    pub repository: EventRepository,
}

/// `workflow_dispatch` payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WorkflowDispatchEvent {
    /// `ref`: the full ref the workflow was dispatched on, e.g. `refs/heads/main`.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Inputs as sent; booleans and numbers may arrive typed.
    #[serde(default, deserialize_with = "null_as_empty_map")]
    pub inputs: BTreeMap<String, serde_json::Value>,
    /// `repository`: the repository whose workflow was dispatched.
    pub repository: EventRepository,
}

impl WorkflowDispatchEvent {
    /// An input as text (`true`, `3`, `staging`), `None` if absent or null.
    pub fn input(&self, name: &str) -> Option<String> {
        match self.inputs.get(name)? {
            serde_json::Value::Null => None,
            serde_json::Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        }
    }
}

fn null_as_empty_map<'de, D>(deserializer: D) -> std::result::Result<BTreeMap<String, serde_json::Value>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::<BTreeMap<String, serde_json::Value>>::deserialize(deserializer)?.unwrap_or_default())
}

impl Event {
    /// Reads `GITHUB_EVENT_NAME` and the payload at `GITHUB_EVENT_PATH`.
    pub fn load(runtime: &Runtime) -> Result<Event> {
        let name = runtime
            .var("GITHUB_EVENT_NAME")
            .ok_or_else(|| Error::usage("GITHUB_EVENT_NAME is not set: this needs a GitHub Actions event"))?;
        if !is_parsed_event(name) {
            return Ok(Event::Other { name: name.to_owned() });
        }
        let path = runtime.var("GITHUB_EVENT_PATH").ok_or_else(|| {
            Error::usage(format!(
                "GITHUB_EVENT_PATH is not set, so the `{name}` event payload cannot be read"
            ))
        })?;
        Event::from_file(name, Path::new(path))
    }

    /// Parses the payload file of event `name`.
    pub fn from_file(name: &str, path: &Path) -> Result<Event> {
        let json = std::fs::read_to_string(path).map_err(|err| {
            Error::usage_with(
                format!("cannot read the `{name}` event payload {}", path.display()),
                err,
            )
        })?;
        Event::from_json(name, &json)
            .map_err(|err| Error::usage_with(format!("malformed `{name}` event payload {}", path.display()), err))
    }

    /// Parses a payload of event `name` from JSON text; the error names the
    /// offending field.
    pub fn from_json(name: &str, json: &str) -> std::result::Result<Event, String> {
        fn parse<T: DeserializeOwned>(json: &str) -> std::result::Result<T, String> {
            let mut deserializer = serde_json::Deserializer::from_str(json);
            serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
                let path = err.path().to_string();
                if path == "." {
                    err.into_inner().to_string()
                } else {
                    format!("at `{path}`: {}", err.into_inner())
                }
            })
        }
        Ok(match name {
            "push" => Event::Push(parse(json)?),
            "pull_request" | "pull_request_target" => {
                let mut event: PullRequestEvent = parse(json)?;
                event.target = name == "pull_request_target";
                Event::PullRequest(event)
            }
            "merge_group" => Event::MergeGroup(parse(json)?),
            "workflow_dispatch" => Event::WorkflowDispatch(parse(json)?),
            other => Event::Other { name: other.to_owned() },
        })
    }

    /// The event name as GitHub spells it.
    pub fn name(&self) -> &str {
        match self {
            Event::Push(_) => "push",
            Event::PullRequest(event) if event.target => "pull_request_target",
            Event::PullRequest(_) => "pull_request",
            Event::MergeGroup(_) => "merge_group",
            Event::WorkflowDispatch(_) => "workflow_dispatch",
            Event::Other { name } => name,
        }
    }
}

fn is_parsed_event(name: &str) -> bool {
    matches!(
        name,
        "push" | "pull_request" | "pull_request_target" | "merge_group" | "workflow_dispatch"
    )
}
