//! Branch protection: `GET`/`PUT /repos/{owner}/{repo}/branches/{branch}/protection`.
//!
//! Stored as the PUT input (GitHub's request schema) and answered in GitHub's
//! response schema, where most settings become `{ "enabled": bool }` objects.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApiError, ApiResult, Shared, find_repo, find_repo_mut, lock, ok, parse_body, require_keys};

/// Branch protection as last PUT (GitHub's request body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchProtection {
    pub required_status_checks: Option<RequiredStatusChecks>,
    pub enforce_admins: Option<bool>,
    pub required_pull_request_reviews: Option<RequiredReviews>,
    pub restrictions: Option<Value>,
    #[serde(default)]
    pub required_linear_history: bool,
    #[serde(default)]
    pub allow_force_pushes: Option<bool>,
    #[serde(default)]
    pub allow_deletions: bool,
    #[serde(default)]
    pub required_conversation_resolution: bool,
    #[serde(default)]
    pub lock_branch: bool,
    #[serde(default)]
    pub allow_fork_syncing: bool,
}

/// `required_status_checks` of a protection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredStatusChecks {
    pub strict: bool,
    #[serde(default)]
    pub contexts: Vec<String>,
    #[serde(default)]
    pub checks: Vec<RequiredCheck>,
}

/// One entry of `required_status_checks.checks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredCheck {
    pub context: String,
    #[serde(default)]
    pub app_id: Option<i64>,
}

/// `required_pull_request_reviews` of a protection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredReviews {
    #[serde(default)]
    pub dismiss_stale_reviews: bool,
    #[serde(default)]
    pub require_code_owner_reviews: bool,
    #[serde(default)]
    pub required_approving_review_count: u8,
    #[serde(default)]
    pub require_last_push_approval: bool,
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new().route(
        "/repos/{owner}/{repo}/branches/{branch}/protection",
        get(get_protection).put(put_protection),
    )
}

async fn get_protection(
    State(state): State<Shared>,
    Path((owner, name, branch)): Path<(String, String, String)>,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let protection = repo
        .protections
        .get(&branch)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Branch not protected"))?;
    let url = format!(
        "{}/repos/{}/branches/{branch}/protection",
        state.api_url,
        repo.full_name()
    );
    ok(protection_json(&url, protection))
}

async fn put_protection(
    State(state): State<Shared>,
    Path((owner, name, branch)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    // GitHub requires these four keys even when their value is null.
    require_keys(
        &body,
        &[
            "required_status_checks",
            "enforce_admins",
            "required_pull_request_reviews",
            "restrictions",
        ],
    )?;
    let protection: BranchProtection = parse_body(&body)?;
    if let Some(reviews) = &protection.required_pull_request_reviews
        && reviews.required_approving_review_count > 6
    {
        return Err(ApiError::invalid(
            "required_approving_review_count must be between 0 and 6.",
        ));
    }
    let mut state = lock(&state);
    let api_url = state.api_url.clone();
    let repo = find_repo_mut(&mut state, &owner, &name)?;
    let url = format!("{api_url}/repos/{}/branches/{branch}/protection", repo.full_name());
    let answer = protection_json(&url, &protection);
    repo.protections.insert(branch, protection);
    ok(answer)
}

/// GitHub's `branch-protection` response object.
pub(crate) fn protection_json(url: &str, protection: &BranchProtection) -> Value {
    let enabled = |on: bool| json!({ "enabled": on });
    let mut body = json!({
        "url": url,
        "required_signatures": {
            "url": format!("{url}/required_signatures"),
            "enabled": false,
        },
        "enforce_admins": {
            "url": format!("{url}/enforce_admins"),
            "enabled": protection.enforce_admins.unwrap_or(false),
        },
        "required_linear_history": enabled(protection.required_linear_history),
        "allow_force_pushes": enabled(protection.allow_force_pushes.unwrap_or(false)),
        "allow_deletions": enabled(protection.allow_deletions),
        "block_creations": enabled(false),
        "required_conversation_resolution": enabled(protection.required_conversation_resolution),
        "lock_branch": enabled(protection.lock_branch),
        "allow_fork_syncing": enabled(protection.allow_fork_syncing),
    });
    if let Some(checks) = &protection.required_status_checks {
        // GitHub reports contexts and checks as two views of the same list.
        let mut contexts = checks.contexts.clone();
        contexts.extend(
            checks
                .checks
                .iter()
                .map(|check| check.context.clone())
                .filter(|context| !checks.contexts.contains(context)),
        );
        let entries: Vec<Value> = contexts
            .iter()
            .map(|context| {
                let app_id = checks
                    .checks
                    .iter()
                    .find(|check| &check.context == context)
                    .and_then(|check| check.app_id);
                json!({ "context": context, "app_id": app_id })
            })
            .collect();
        body["required_status_checks"] = json!({
            "url": format!("{url}/required_status_checks"),
            "strict": checks.strict,
            "contexts": contexts,
            "contexts_url": format!("{url}/required_status_checks/contexts"),
            "checks": entries,
        });
    }
    if let Some(reviews) = &protection.required_pull_request_reviews {
        body["required_pull_request_reviews"] = json!({
            "url": format!("{url}/required_pull_request_reviews"),
            "dismiss_stale_reviews": reviews.dismiss_stale_reviews,
            "require_code_owner_reviews": reviews.require_code_owner_reviews,
            "required_approving_review_count": reviews.required_approving_review_count,
            "require_last_push_approval": reviews.require_last_push_approval,
        });
    }
    if let Some(restrictions) = &protection.restrictions {
        body["restrictions"] = json!({
            "url": format!("{url}/restrictions"),
            "users": restrictions.get("users").cloned().unwrap_or(json!([])),
            "teams": restrictions.get("teams").cloned().unwrap_or(json!([])),
            "apps": restrictions.get("apps").cloned().unwrap_or(json!([])),
        });
    }
    body
}
