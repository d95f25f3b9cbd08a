//! `GET /repos/{owner}/{repo}`.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::{Value, json};

use super::{ApiResult, Repo, Shared, find_repo, lock, ok, user_json};

pub(crate) fn routes() -> Router<Shared> {
    Router::new().route("/repos/{owner}/{repo}", get(get_repository))
}

async fn get_repository(State(state): State<Shared>, Path((owner, name)): Path<(String, String)>) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    ok(repository_json(&state.api_url, repo))
}

/// GitHub's `full-repository` object (the fields tools plausibly read).
pub(crate) fn repository_json(api_url: &str, repo: &Repo) -> Value {
    let full_name = repo.full_name();
    let url = format!("{api_url}/repos/{full_name}");
    json!({
        "id": repo.id,
        "node_id": format!("R_{}", repo.id),
        "name": repo.name,
        "full_name": full_name,
        "owner": user_json(api_url, &repo.owner),
        "private": repo.private,
        "visibility": if repo.private { "private" } else { "public" },
        "html_url": format!("https://github.com/{full_name}"),
        "description": null,
        "fork": false,
        "url": url,
        "clone_url": format!("https://github.com/{full_name}.git"),
        "default_branch": repo.default_branch,
        "archived": false,
        "disabled": false,
        "permissions": { "admin": true, "maintain": true, "push": true, "triage": true, "pull": true },
        "allow_squash_merge": true,
        "allow_merge_commit": true,
        "allow_rebase_merge": true,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "pushed_at": "2024-01-01T00:00:00Z",
    })
}
