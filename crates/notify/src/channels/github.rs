//! GitHub as a notification target, through the REST API:
//!
//! - `github://deployment`: a deployment for the commit and environment
//!   (created on `started`, or reused: the newest one for the same commit and
//!   environment) and a deployment status for every deploy event;
//! - `github://comment`: a comment on the pull request the run is for, or a
//!   commit comment otherwise.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use shipgate_core::exit::{Error, Result};
use shipgate_core::github::{GitHubClient, GitHubSettings};

use super::{Context, Delivered, Request};
use crate::event::{DeployStatus, Event, EventKind};
use crate::message::{Message, truncate_chars};
use crate::target::GitHubMode;

/// GitHub cuts deployment status descriptions at 140 characters.
const DESCRIPTION_LIMIT: usize = 140;
/// Issue and commit comment bodies are limited to 65,536 characters.
const COMMENT_LIMIT: usize = 65_536;

/// Where the GitHub target writes, from the run's context.
#[derive(Debug, Clone)]
pub struct GitHubTarget {
    pub settings: GitHubSettings,
    /// `owner/name`.
    pub repository: String,
    pub sha: String,
    pub pull_request: Option<u64>,
}

impl GitHubTarget {
    /// `None` outside a repository context (then the github target is a usage error).
    pub fn from_event(settings: GitHubSettings, event: &Event) -> Option<GitHubTarget> {
        Some(GitHubTarget {
            settings,
            repository: event.context.repository.clone()?,
            sha: event.context.sha.clone()?,
            pull_request: event.context.pull_request,
        })
    }
}

/// `in_progress`, `success`, `failure` or `inactive`.
pub fn deployment_state(status: DeployStatus) -> &'static str {
    match status {
        DeployStatus::Started => "in_progress",
        DeployStatus::Succeeded => "success",
        DeployStatus::Failed | DeployStatus::RolledBack => "failure",
        DeployStatus::Cancelled => "inactive",
    }
}

pub fn comment_body(message: &Message) -> String {
    let mut body = format!("### {}\n\n{}\n", message.title, message.text);
    if !message.fields.is_empty() {
        body.push_str("\n| | |\n|---|---|\n");
        for field in &message.fields {
            let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
            body.push_str(&format!("| {} | {} |\n", cell(&field.name), cell(&field.value)));
        }
    }
    if !message.links.is_empty() {
        let links: Vec<String> = message
            .links
            .iter()
            .map(|link| format!("[{}]({})", link.text, link.url))
            .collect();
        body.push_str(&format!("\n{}\n", links.join(" · ")));
    }
    truncate_chars(&body, COMMENT_LIMIT)
}

fn comment_path(target: &GitHubTarget) -> String {
    match target.pull_request {
        Some(number) => format!("/repos/{}/issues/{number}/comments", target.repository),
        None => format!("/repos/{}/commits/{}/comments", target.repository, target.sha),
    }
}

fn deployment_body(target: &GitHubTarget, environment: &str, message: &Message) -> Value {
    json!({
        "ref": target.sha,
        "environment": environment,
        "description": truncate_chars(&message.title, DESCRIPTION_LIMIT),
        "auto_merge": false,
        "required_contexts": [],
        "production_environment": environment == "production",
    })
}

fn status_body(status: DeployStatus, environment: &str, message: &Message, event: &Event) -> Value {
    let mut body = json!({
        "state": deployment_state(status),
        "description": truncate_chars(&message.title, DESCRIPTION_LIMIT),
        "environment": environment,
        "auto_inactive": true,
    });
    if let Some(run) = &event.context.run_url {
        body["log_url"] = Value::String(run.clone());
    }
    body
}

pub fn preview(
    mode: GitHubMode,
    target: Option<&GitHubTarget>,
    event: &Event,
    message: &Message,
) -> Result<Vec<Request>> {
    let target = target.ok_or_else(missing_context)?;
    let api = &target.settings.api_url;
    match mode {
        GitHubMode::Comment => Ok(vec![Request {
            method: "POST".into(),
            url: format!("{api}{}", comment_path(target)),
            body: json!({ "body": comment_body(message) }),
        }]),
        GitHubMode::Deployment => {
            let EventKind::Deploy {
                status, environment, ..
            } = &event.kind
            else {
                return Ok(Vec::new());
            };
            let repo = &target.repository;
            Ok(vec![
                Request {
                    method: if *status == DeployStatus::Started {
                        "POST".into()
                    } else {
                        "POST (unless a deployment for this commit and environment exists)".into()
                    },
                    url: format!("{api}/repos/{repo}/deployments"),
                    body: deployment_body(target, environment, message),
                },
                Request {
                    method: "POST".into(),
                    url: format!("{api}/repos/{repo}/deployments/{{deployment_id}}/statuses"),
                    body: status_body(*status, environment, message, event),
                },
            ])
        }
    }
}

fn missing_context() -> Error {
    Error::usage("the github target needs GITHUB_REPOSITORY and GITHUB_SHA (it runs inside a GitHub Actions job)")
}

/// GitHub documents ids as plain integers (Prism generates negative ones).
#[derive(Deserialize)]
struct Created {
    id: i64,
}

pub async fn send(context: &Context, mode: GitHubMode, event: &Event, message: &Message) -> Result<Delivered> {
    let target = context.github.as_ref().ok_or_else(missing_context)?;
    let client = GitHubClient::new(target.settings.clone())?;
    match mode {
        GitHubMode::Comment => {
            let path = comment_path(target);
            let created: Created = client
                .request_json(Method::POST, &path, Some(&json!({ "body": comment_body(message) })))
                .await?;
            let on = match target.pull_request {
                Some(number) => format!("pull request #{number}"),
                None => format!("commit {}", &target.sha[..target.sha.len().min(7)]),
            };
            Ok(Delivered::detail(format!("comment {} on {on}", created.id)))
        }
        GitHubMode::Deployment => {
            let EventKind::Deploy {
                status, environment, ..
            } = &event.kind
            else {
                return Ok(Delivered::skipped("deployments only record deploy events"));
            };
            let repo = &target.repository;
            let existing = if *status == DeployStatus::Started {
                None
            } else {
                let path = format!(
                    "/repos/{repo}/deployments?sha={}&environment={}&per_page=1",
                    target.sha,
                    shipgate_core::url_redaction::encode_component(environment)
                );
                let found: Vec<Created> = client.request_json(Method::GET, &path, None).await?;
                found.first().map(|deployment| deployment.id)
            };
            let id = match existing {
                Some(id) => id,
                None => {
                    let created: Created = client
                        .request_json(
                            Method::POST,
                            &format!("/repos/{repo}/deployments"),
                            Some(&deployment_body(target, environment, message)),
                        )
                        .await?;
                    created.id
                }
            };
            let _: Created = client
                .request_json(
                    Method::POST,
                    &format!("/repos/{repo}/deployments/{id}/statuses"),
                    Some(&status_body(*status, environment, message, event)),
                )
                .await?;
            Ok(Delivered::detail(format!(
                "deployment {id} {}",
                deployment_state(*status)
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Tone;
    use crate::message::Field;

    #[test]
    fn comments_are_markdown_with_escaped_table_cells() {
        let message = Message {
            title: "Deploy".into(),
            text: "done".into(),
            fields: vec![Field {
                name: "Ref".into(),
                value: "a|b".into(),
            }],
            links: vec![],
            tone: Tone::Good,
        };
        assert_eq!(
            comment_body(&message),
            "### Deploy\n\ndone\n\n| | |\n|---|---|\n| Ref | a\\|b |\n"
        );
    }

    #[test]
    fn deploy_statuses_map_to_deployment_states() {
        assert_eq!(deployment_state(DeployStatus::Started), "in_progress");
        assert_eq!(deployment_state(DeployStatus::Succeeded), "success");
        assert_eq!(deployment_state(DeployStatus::RolledBack), "failure");
        assert_eq!(deployment_state(DeployStatus::Cancelled), "inactive");
    }
}
