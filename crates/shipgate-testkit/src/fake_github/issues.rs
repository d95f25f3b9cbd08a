//! Issue comments: create, list, update (pull requests are issues too);
//! and commit comments, the other kind of conversation comment.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::routing::{get, patch};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Actor, ApiError, ApiResult, PageQuery, Repo, Shared, created, find_repo, find_repo_mut, lock, ok, paginate,
    parse_body, user_json,
};

/// A stored issue or pull request comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueComment {
    pub id: u64,
    pub issue_number: u64,
    pub body: String,
    pub user_login: String,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/issues/{number}/comments",
            get(list_comments).post(create_comment),
        )
        .route("/repos/{owner}/{repo}/issues/comments/{id}", patch(update_comment))
        .route(
            "/repos/{owner}/{repo}/commits/{sha}/comments",
            get(list_commit_comments).post(create_commit_comment),
        )
}

/// A stored commit comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitComment {
    pub id: u64,
    pub commit_id: String,
    pub body: String,
    pub user_login: String,
    pub created_at: String,
}

async fn create_commit_comment(
    State(state): State<Shared>,
    Extension(actor): Extension<Actor>,
    Path((owner, name, sha)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let input: CommentBody = parse_body(&body)?;
    let mut state = lock(&state);
    let commit_id = find_repo(&state, &owner, &name)?.resolve_ref(&sha);
    let id = state.next_id();
    let now = state.now();
    let api_url = state.api_url.clone();
    let repo = find_repo_mut(&mut state, &owner, &name)?;
    let comment = CommitComment {
        id,
        commit_id,
        body: input.body,
        user_login: actor.0,
        created_at: now,
    };
    let body = commit_comment_json(&api_url, &repo.full_name(), &comment);
    repo.commit_comments.push(comment);
    created(body["url"].as_str().unwrap_or_default(), body.clone())
}

async fn list_commit_comments(
    State(state): State<Shared>,
    Path((owner, name, sha)): Path<(String, String, String)>,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let commit_id = repo.resolve_ref(&sha);
    let full_name = repo.full_name();
    let items = repo
        .commit_comments
        .iter()
        .filter(|comment| comment.commit_id == commit_id)
        .map(|comment| commit_comment_json(&state.api_url, &full_name, comment))
        .collect();
    paginate(
        items,
        &page,
        &format!("{}/repos/{full_name}/commits/{commit_id}/comments", state.api_url),
        "",
    )
}

/// GitHub's `commit-comment` object.
fn commit_comment_json(api_url: &str, full_name: &str, comment: &CommitComment) -> Value {
    json!({
        "id": comment.id,
        "node_id": format!("CC_{}", comment.id),
        "url": format!("{api_url}/repos/{full_name}/comments/{}", comment.id),
        "html_url": format!("https://github.com/{full_name}/commit/{}#commitcomment-{}", comment.commit_id, comment.id),
        "body": comment.body,
        "path": null,
        "position": null,
        "line": null,
        "commit_id": comment.commit_id,
        "user": user_json(api_url, &comment.user_login),
        "created_at": comment.created_at,
        "updated_at": comment.created_at,
        "author_association": "COLLABORATOR",
    })
}

#[derive(Deserialize)]
struct CommentBody {
    body: String,
}

/// The issue number if it names an issue or pull request of the repository.
fn existing_issue(repo: &Repo, number: &str) -> Result<u64, ApiError> {
    number
        .parse::<u64>()
        .ok()
        .filter(|number| repo.issues.contains(number) || repo.pull(*number).is_some())
        .ok_or_else(ApiError::not_found)
}

async fn create_comment(
    State(state): State<Shared>,
    Extension(actor): Extension<Actor>,
    Path((owner, name, number)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let input: CommentBody = parse_body(&body)?;
    let mut state = lock(&state);
    let number = existing_issue(find_repo(&state, &owner, &name)?, &number)?;
    let id = state.next_id();
    let now = state.now();
    let api_url = state.api_url.clone();
    let repo = find_repo_mut(&mut state, &owner, &name)?;
    let comment = IssueComment {
        id,
        issue_number: number,
        body: input.body,
        user_login: actor.0,
        created_at: now.clone(),
        updated_at: now,
    };
    let body = comment_json(&api_url, &repo.full_name(), &comment);
    repo.comments.push(comment);
    created(body["url"].as_str().unwrap_or_default(), body.clone())
}

async fn list_comments(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, String)>,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let number = existing_issue(repo, &number)?;
    let full_name = repo.full_name();
    let items = repo
        .comments
        .iter()
        .filter(|comment| comment.issue_number == number)
        .map(|comment| comment_json(&state.api_url, &full_name, comment))
        .collect();
    paginate(
        items,
        &page,
        &format!("{}/repos/{full_name}/issues/{number}/comments", state.api_url),
        "",
    )
}

async fn update_comment(
    State(state): State<Shared>,
    Path((owner, name, id)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let input: CommentBody = parse_body(&body)?;
    let mut state = lock(&state);
    let now = state.now();
    let api_url = state.api_url.clone();
    let repo = find_repo_mut(&mut state, &owner, &name)?;
    let full_name = repo.full_name();
    let comment = id
        .parse::<u64>()
        .ok()
        .and_then(|id| repo.comments.iter_mut().find(|comment| comment.id == id))
        .ok_or_else(ApiError::not_found)?;
    comment.body = input.body;
    comment.updated_at = now;
    ok(comment_json(&api_url, &full_name, comment))
}

/// GitHub's `issue-comment` object.
pub(crate) fn comment_json(api_url: &str, full_name: &str, comment: &IssueComment) -> Value {
    json!({
        "id": comment.id,
        "node_id": format!("IC_{}", comment.id),
        "url": format!("{api_url}/repos/{full_name}/issues/comments/{}", comment.id),
        "html_url": format!("https://github.com/{full_name}/issues/{}#issuecomment-{}", comment.issue_number, comment.id),
        "issue_url": format!("{api_url}/repos/{full_name}/issues/{}", comment.issue_number),
        "body": comment.body,
        "user": user_json(api_url, &comment.user_login),
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
        "author_association": "COLLABORATOR",
    })
}
