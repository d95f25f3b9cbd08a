//! Deployments and deployment statuses.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Actor, ApiError, ApiResult, PageQuery, Shared, created, find_repo, find_repo_mut, lock, paginate, parse_body,
    user_json,
};

/// A stored deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub id: u64,
    /// The ref as given (branch, tag or SHA).
    pub git_ref: String,
    pub sha: String,
    pub environment: String,
    pub description: Option<String>,
    pub creator: String,
    pub created_at: String,
    pub statuses: Vec<DeploymentStatus>,
}

/// A stored deployment status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentStatus {
    pub id: u64,
    /// `error`, `failure`, `inactive`, `in_progress`, `queued`, `pending` or `success`.
    pub state: String,
    pub description: String,
    pub environment: String,
    pub log_url: String,
    pub creator: String,
    pub created_at: String,
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/deployments",
            get(list_deployments).post(create_deployment),
        )
        .route(
            "/repos/{owner}/{repo}/deployments/{id}/statuses",
            post(create_status).get(list_statuses),
        )
}

#[derive(Deserialize)]
struct NewDeployment {
    #[serde(rename = "ref")]
    git_ref: String,
    environment: Option<String>,
    description: Option<String>,
    auto_merge: Option<bool>,
    required_contexts: Option<Vec<String>>,
}

async fn create_deployment(
    State(state): State<Shared>,
    Extension(actor): Extension<Actor>,
    Path((owner, name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let input: NewDeployment = parse_body(&body)?;
    let mut state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    // GitHub merges the default branch first and checks required contexts
    // unless told not to; the fake only models the answer to a request that
    // opts out of both, which is what deploy notifications send.
    if input.auto_merge != Some(false) || input.required_contexts.as_ref().is_none_or(|c| !c.is_empty()) {
        return Err(ApiError::validation(vec![json!({
            "resource": "Deployment", "code": "custom",
            "message": "the fake GitHub only supports auto_merge: false with required_contexts: []"
        })]));
    }
    let sha = repo.resolve_ref(&input.git_ref);
    let id = state.next_id();
    let now = state.now();
    let api_url = state.api_url.clone();
    let repo = find_repo_mut(&mut state, &owner, &name)?;
    let deployment = Deployment {
        id,
        git_ref: input.git_ref,
        sha,
        environment: input.environment.unwrap_or_else(|| "production".to_string()),
        description: input.description,
        creator: actor.0,
        created_at: now,
        statuses: Vec::new(),
    };
    let body = deployment_json(&api_url, &repo.full_name(), &deployment);
    repo.deployments.push(deployment);
    created(body["url"].as_str().unwrap_or_default(), body.clone())
}

#[derive(Deserialize)]
struct DeploymentFilter {
    sha: Option<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    environment: Option<String>,
    // Not `#[serde(flatten)] PageQuery`: flattened query values arrive as
    // strings and would not parse as numbers.
    per_page: Option<usize>,
    page: Option<usize>,
}

async fn list_deployments(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    Query(filter): Query<DeploymentFilter>,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let full_name = repo.full_name();
    // Newest first, as GitHub lists them.
    let items = repo
        .deployments
        .iter()
        .rev()
        .filter(|d| filter.sha.as_deref().is_none_or(|sha| d.sha == sha))
        .filter(|d| filter.git_ref.as_deref().is_none_or(|r| d.git_ref == r))
        .filter(|d| filter.environment.as_deref().is_none_or(|e| d.environment == e))
        .map(|d| deployment_json(&state.api_url, &full_name, d))
        .collect();
    paginate(
        items,
        &PageQuery {
            per_page: filter.per_page,
            page: filter.page,
        },
        &format!("{}/repos/{full_name}/deployments", state.api_url),
        "",
    )
}

#[derive(Deserialize)]
struct NewStatus {
    state: String,
    description: Option<String>,
    environment: Option<String>,
    log_url: Option<String>,
    #[allow(dead_code)]
    auto_inactive: Option<bool>,
}

const STATES: &[&str] = &[
    "error",
    "failure",
    "inactive",
    "in_progress",
    "queued",
    "pending",
    "success",
];

async fn create_status(
    State(state): State<Shared>,
    Extension(actor): Extension<Actor>,
    Path((owner, name, id)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let input: NewStatus = parse_body(&body)?;
    if !STATES.contains(&input.state.as_str()) {
        return Err(ApiError::invalid(format!(
            "state `{}` is not one of {}",
            input.state,
            STATES.join(", ")
        )));
    }
    let mut state = lock(&state);
    let status_id = state.next_id();
    let now = state.now();
    let api_url = state.api_url.clone();
    let repo = find_repo_mut(&mut state, &owner, &name)?;
    let full_name = repo.full_name();
    let deployment = id
        .parse::<u64>()
        .ok()
        .and_then(|id| repo.deployments.iter_mut().find(|d| d.id == id))
        .ok_or_else(ApiError::not_found)?;
    let status = DeploymentStatus {
        id: status_id,
        state: input.state,
        description: input.description.unwrap_or_default(),
        environment: input.environment.unwrap_or_else(|| deployment.environment.clone()),
        log_url: input.log_url.unwrap_or_default(),
        creator: actor.0,
        created_at: now,
    };
    let body = status_json(&api_url, &full_name, deployment.id, &status);
    deployment.statuses.push(status);
    created(body["url"].as_str().unwrap_or_default(), body.clone())
}

async fn list_statuses(
    State(state): State<Shared>,
    Path((owner, name, id)): Path<(String, String, String)>,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let full_name = repo.full_name();
    let deployment = id
        .parse::<u64>()
        .ok()
        .and_then(|id| repo.deployments.iter().find(|d| d.id == id))
        .ok_or_else(ApiError::not_found)?;
    let items = deployment
        .statuses
        .iter()
        .rev()
        .map(|status| status_json(&state.api_url, &full_name, deployment.id, status))
        .collect();
    paginate(
        items,
        &page,
        &format!(
            "{}/repos/{full_name}/deployments/{}/statuses",
            state.api_url, deployment.id
        ),
        "",
    )
}

/// GitHub's `deployment` object.
pub(crate) fn deployment_json(api_url: &str, full_name: &str, deployment: &Deployment) -> Value {
    let url = format!("{api_url}/repos/{full_name}/deployments/{}", deployment.id);
    json!({
        "url": url,
        "id": deployment.id,
        "node_id": format!("DE_{}", deployment.id),
        "sha": deployment.sha,
        "ref": deployment.git_ref,
        "task": "deploy",
        "payload": {},
        "original_environment": deployment.environment,
        "environment": deployment.environment,
        "description": deployment.description,
        "creator": user_json(api_url, &deployment.creator),
        "created_at": deployment.created_at,
        "updated_at": deployment.created_at,
        "statuses_url": format!("{url}/statuses"),
        "repository_url": format!("{api_url}/repos/{full_name}"),
        "transient_environment": false,
        "production_environment": deployment.environment == "production",
    })
}

/// GitHub's `deployment-status` object.
fn status_json(api_url: &str, full_name: &str, deployment_id: u64, status: &DeploymentStatus) -> Value {
    let deployment_url = format!("{api_url}/repos/{full_name}/deployments/{deployment_id}");
    json!({
        "url": format!("{deployment_url}/statuses/{}", status.id),
        "id": status.id,
        "node_id": format!("DES_{}", status.id),
        "state": status.state,
        "creator": user_json(api_url, &status.creator),
        "description": status.description,
        "environment": status.environment,
        "target_url": status.log_url,
        "log_url": status.log_url,
        "created_at": status.created_at,
        "updated_at": status.created_at,
        "deployment_url": deployment_url,
        "repository_url": format!("{api_url}/repos/{full_name}"),
    })
}
