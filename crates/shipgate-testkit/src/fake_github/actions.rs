//! `GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`: the
//! deployment reviews (environment approvals) given for a workflow run.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::{Value, json};

use super::{ApiError, ApiResult, Shared, find_repo, lock, ok, user_json};

/// A stored environment approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub user_login: String,
    /// `approved` or `rejected`.
    pub state: String,
    pub comment: String,
    /// Names of the environments the review covered.
    pub environments: Vec<String>,
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new().route(
        "/repos/{owner}/{repo}/actions/runs/{run_id}/approvals",
        get(list_approvals),
    )
}

async fn list_approvals(
    State(state): State<Shared>,
    Path((owner, name, run_id)): Path<(String, String, String)>,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let approvals = run_id
        .parse::<u64>()
        .ok()
        .and_then(|run_id| repo.run_approvals.get(&run_id))
        .ok_or_else(ApiError::not_found)?;
    let full_name = repo.full_name();
    let body: Vec<Value> = approvals
        .iter()
        .map(|approval| {
            let environments: Vec<Value> = approval
                .environments
                .iter()
                .map(|environment| {
                    let id = environment.bytes().map(u64::from).sum::<u64>() + repo.id;
                    json!({
                        "id": id,
                        "node_id": format!("EN_{id}"),
                        "name": environment,
                        "url": format!("{}/repos/{full_name}/environments/{environment}", state.api_url),
                        "html_url": format!("https://github.com/{full_name}/deployments/activity_log?environments_filter={environment}"),
                        "created_at": "2024-01-01T00:00:00Z",
                        "updated_at": "2024-01-01T00:00:00Z",
                    })
                })
                .collect();
            json!({
                "environments": environments,
                "state": approval.state,
                "user": user_json(&state.api_url, &approval.user_login),
                "comment": approval.comment,
            })
        })
        .collect();
    ok(Value::Array(body))
}
