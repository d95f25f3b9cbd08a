//! Check runs and the combined commit status of a ref.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiResult, Shared, find_repo, lock, ok, user_json};

/// A stored check run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRun {
    pub id: u64,
    pub head_sha: String,
    pub name: String,
    /// `queued`, `in_progress` or `completed` (GitHub also has `waiting`, `requested`, `pending`).
    pub status: String,
    /// Set once completed: `success`, `failure`, `neutral`, `cancelled`, `skipped`, `timed_out`, `action_required`.
    pub conclusion: Option<String>,
    pub started_at: String,
    pub completed_at: Option<String>,
}

/// A stored commit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitStatus {
    pub id: u64,
    pub sha: String,
    pub context: String,
    /// `error`, `failure`, `pending` or `success`.
    pub state: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub created_at: String,
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/commits/{git_ref}/check-runs",
            get(list_check_runs),
        )
        .route("/repos/{owner}/{repo}/commits/{git_ref}/status", get(combined_status))
}

#[derive(Deserialize)]
struct CheckRunFilter {
    check_name: Option<String>,
    status: Option<String>,
    /// `latest` (default: the newest run per name) or `all`.
    filter: Option<String>,
    per_page: Option<usize>,
    page: Option<usize>,
}

async fn list_check_runs(
    State(state): State<Shared>,
    Path((owner, name, git_ref)): Path<(String, String, String)>,
    Query(query): Query<CheckRunFilter>,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let sha = repo.resolve_ref(&git_ref);
    let full_name = repo.full_name();
    let mut runs: Vec<&CheckRun> = repo
        .check_runs
        .iter()
        .filter(|run| run.head_sha == sha)
        .filter(|run| query.check_name.as_deref().is_none_or(|n| run.name == n))
        .filter(|run| query.status.as_deref().is_none_or(|s| run.status == s))
        .collect();
    if query.filter.as_deref() != Some("all") {
        let mut newest: BTreeMap<&str, &CheckRun> = BTreeMap::new();
        for run in runs {
            newest.insert(&run.name, run);
        }
        runs = newest.into_values().collect();
    }
    let total_count = runs.len();
    let per_page = query.per_page.unwrap_or(30).clamp(1, 100);
    let skip = (query.page.unwrap_or(1).max(1) - 1) * per_page;
    let check_runs: Vec<Value> = runs
        .into_iter()
        .skip(skip)
        .take(per_page)
        .map(|run| {
            let url = format!("{}/repos/{full_name}/check-runs/{}", state.api_url, run.id);
            json!({
                "id": run.id,
                "node_id": format!("CR_{}", run.id),
                "head_sha": run.head_sha,
                "external_id": "",
                "url": url,
                "html_url": format!("https://github.com/{full_name}/runs/{}", run.id),
                "details_url": format!("https://github.com/{full_name}/runs/{}", run.id),
                "status": run.status,
                "conclusion": run.conclusion,
                "started_at": run.started_at,
                "completed_at": run.completed_at,
                "name": run.name,
                "output": {
                    "title": null,
                    "summary": null,
                    "text": null,
                    "annotations_count": 0,
                    "annotations_url": format!("{url}/annotations"),
                },
                "check_suite": { "id": run.id + 1_000_000 },
                "app": {
                    "id": 15368,
                    "slug": "github-actions",
                    "node_id": "MDM6QXBwMTUzNjg=",
                    "name": "GitHub Actions",
                    "owner": user_json(&state.api_url, "github"),
                },
                "pull_requests": [],
            })
        })
        .collect();
    ok(json!({ "total_count": total_count, "check_runs": check_runs }))
}

async fn combined_status(
    State(state): State<Shared>,
    Path((owner, name, git_ref)): Path<(String, String, String)>,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let sha = repo.resolve_ref(&git_ref);
    let full_name = repo.full_name();
    // Only the newest status per context counts, newest first.
    let mut latest: BTreeMap<&str, &CommitStatus> = BTreeMap::new();
    for status in repo.statuses.iter().filter(|status| status.sha == sha) {
        latest.insert(&status.context, status);
    }
    let mut statuses: Vec<&CommitStatus> = latest.into_values().collect();
    statuses.sort_by_key(|status| std::cmp::Reverse(status.id));
    let states: Vec<&str> = statuses.iter().map(|status| status.state.as_str()).collect();
    let combined = if states.iter().any(|s| *s == "error" || *s == "failure") {
        "failure"
    } else if states.is_empty() || states.contains(&"pending") {
        "pending"
    } else {
        "success"
    };
    let statuses: Vec<Value> = statuses
        .into_iter()
        .map(|status| {
            json!({
                "url": format!("{}/repos/{full_name}/statuses/{}", state.api_url, status.sha),
                "avatar_url": null,
                "id": status.id,
                "node_id": format!("SC_{}", status.id),
                "state": status.state,
                "description": status.description,
                "target_url": status.target_url,
                "context": status.context,
                "created_at": status.created_at,
                "updated_at": status.created_at,
            })
        })
        .collect();
    let commit_url = format!("{}/repos/{full_name}/commits/{sha}", state.api_url);
    ok(json!({
        "state": combined,
        "statuses": statuses,
        "sha": sha,
        "total_count": statuses.len(),
        "repository": {
            "id": repo.id,
            "node_id": format!("R_{}", repo.id),
            "name": repo.name,
            "full_name": full_name,
            "owner": user_json(&state.api_url, &repo.owner),
            "private": repo.private,
        },
        "commit_url": commit_url,
        "url": format!("{commit_url}/status"),
    }))
}
