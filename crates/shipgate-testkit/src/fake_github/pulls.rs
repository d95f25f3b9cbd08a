//! Pull requests and their reviews.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::repos::repository_json;
use super::{
    Actor, ApiError, ApiResult, PageQuery, Repo, Shared, created, fake_sha, find_repo, find_repo_mut, lock, ok,
    paginate, parse_body, user_json,
};

/// Whether a pull request is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullState {
    Open,
    Closed,
}

impl PullState {
    fn as_str(self) -> &'static str {
        match self {
            PullState::Open => "open",
            PullState::Closed => "closed",
        }
    }
}

/// A stored pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub state: PullState,
    pub draft: bool,
    pub merged: bool,
    pub head_ref: String,
    pub head_sha: String,
    pub base_ref: String,
    pub base_sha: String,
    pub author_login: String,
    pub created_at: String,
    pub updated_at: String,
    pub reviews: Vec<Review>,
}

/// A stored pull request review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub id: u64,
    pub user_login: String,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED` or `PENDING`.
    pub state: String,
    pub body: String,
    pub commit_id: String,
    pub submitted_at: String,
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/repos/{owner}/{repo}/pulls", get(list_pulls).post(create_pull))
        .route("/repos/{owner}/{repo}/pulls/{number}", get(get_pull))
        .route("/repos/{owner}/{repo}/pulls/{number}/reviews", get(list_reviews))
}

#[derive(Deserialize)]
struct CreatePull {
    title: String,
    head: String,
    base: String,
    body: Option<String>,
    #[serde(default)]
    draft: bool,
}

#[derive(Deserialize)]
struct ListPulls {
    state: Option<String>,
    head: Option<String>,
    base: Option<String>,
}

fn pull_validation(message: String) -> ApiError {
    ApiError::validation(vec![json!({
        "resource": "PullRequest",
        "code": "custom",
        "message": message,
    })])
}

async fn create_pull(
    State(state): State<Shared>,
    Extension(actor): Extension<Actor>,
    Path((owner, name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let input: CreatePull = parse_body(&body)?;
    let mut state = lock(&state);
    find_repo(&state, &owner, &name)?;
    let id = state.next_id();
    let now = state.now();
    let api_url = state.api_url.clone();
    let repo = find_repo_mut(&mut state, &owner, &name)?;
    // `head` may be `branch` or `owner:branch`.
    let head_ref = input
        .head
        .split_once(':')
        .map_or(input.head.as_str(), |(_, branch)| branch)
        .to_string();
    if head_ref == input.base {
        return Err(pull_validation(format!(
            "No commits between {} and {head_ref}",
            input.base
        )));
    }
    let duplicate = repo
        .pulls
        .iter()
        .any(|pull| pull.state == PullState::Open && pull.head_ref == head_ref && pull.base_ref == input.base);
    if duplicate {
        return Err(pull_validation(format!(
            "A pull request already exists for {}:{head_ref}.",
            repo.owner
        )));
    }
    let number = repo.take_number();
    let head_sha = repo
        .branches
        .get(&head_ref)
        .cloned()
        .unwrap_or_else(|| fake_sha(&format!("{}@{head_ref}", repo.full_name())));
    let base_sha = repo.resolve_ref(&input.base);
    let pull = PullRequest {
        id,
        number,
        title: input.title,
        body: input.body,
        state: PullState::Open,
        draft: input.draft,
        merged: false,
        head_ref,
        head_sha,
        base_ref: input.base,
        base_sha,
        author_login: actor.0,
        created_at: now.clone(),
        updated_at: now,
        reviews: Vec::new(),
    };
    let body = pull_json(&api_url, repo, &pull);
    repo.pulls.push(pull);
    created(body["url"].as_str().unwrap_or_default(), body.clone())
}

async fn list_pulls(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    Query(filter): Query<ListPulls>,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let wanted_state = filter.state.as_deref().unwrap_or("open");
    if !matches!(wanted_state, "open" | "closed" | "all") {
        return Err(ApiError::validation(vec![json!({
            "resource": "Issue", "field": "state", "code": "invalid",
        })]));
    }
    // GitHub filters `head` as `user:ref-name`; the user must be the repo owner here.
    let head = filter.head.as_deref().map(|head| match head.split_once(':') {
        Some((user, branch)) => (Some(user), branch),
        None => (None, head),
    });
    let items = repo
        .pulls
        .iter()
        .rev()
        .filter(|pull| wanted_state == "all" || pull.state.as_str() == wanted_state)
        .filter(|pull| {
            head.is_none_or(|(user, branch)| {
                pull.head_ref == branch && user.is_none_or(|user| user.eq_ignore_ascii_case(&repo.owner))
            })
        })
        .filter(|pull| filter.base.as_deref().is_none_or(|base| pull.base_ref == base))
        .map(|pull| pull_json(&state.api_url, repo, pull))
        .collect();
    let mut other_query = vec![format!("state={wanted_state}")];
    if let Some(head) = &filter.head {
        other_query.push(format!("head={head}"));
    }
    if let Some(base) = &filter.base {
        other_query.push(format!("base={base}"));
    }
    paginate(
        items,
        &page,
        &format!("{}/repos/{}/pulls", state.api_url, repo.full_name()),
        &other_query.join("&"),
    )
}

fn find_pull<'a>(repo: &'a Repo, number: &str) -> Result<&'a PullRequest, ApiError> {
    number
        .parse::<u64>()
        .ok()
        .and_then(|number| repo.pull(number))
        .ok_or_else(ApiError::not_found)
}

async fn get_pull(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, String)>,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let pull = find_pull(repo, &number)?;
    ok(pull_json(&state.api_url, repo, pull))
}

async fn list_reviews(
    State(state): State<Shared>,
    Path((owner, name, number)): Path<(String, String, String)>,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let pull = find_pull(repo, &number)?;
    let full_name = repo.full_name();
    let items = pull
        .reviews
        .iter()
        .map(|review| {
            json!({
                "id": review.id,
                "node_id": format!("PRR_{}", review.id),
                "user": user_json(&state.api_url, &review.user_login),
                "body": review.body,
                "state": review.state,
                "html_url": format!("https://github.com/{full_name}/pull/{}#pullrequestreview-{}", pull.number, review.id),
                "pull_request_url": format!("{}/repos/{full_name}/pulls/{}", state.api_url, pull.number),
                "_links": {
                    "html": { "href": format!("https://github.com/{full_name}/pull/{}#pullrequestreview-{}", pull.number, review.id) },
                    "pull_request": { "href": format!("{}/repos/{full_name}/pulls/{}", state.api_url, pull.number) },
                },
                "submitted_at": review.submitted_at,
                "commit_id": review.commit_id,
                "author_association": "COLLABORATOR",
            })
        })
        .collect();
    paginate(
        items,
        &page,
        &format!("{}/repos/{full_name}/pulls/{}/reviews", state.api_url, pull.number),
        "",
    )
}

/// GitHub's `pull-request` object.
pub(crate) fn pull_json(api_url: &str, repo: &Repo, pull: &PullRequest) -> Value {
    let full_name = repo.full_name();
    let url = format!("{api_url}/repos/{full_name}/pulls/{}", pull.number);
    let html_url = format!("https://github.com/{full_name}/pull/{}", pull.number);
    let repository = repository_json(api_url, repo);
    let branch = |branch: &str, sha: &str| {
        json!({
            "label": format!("{}:{branch}", repo.owner),
            "ref": branch,
            "sha": sha,
            "user": user_json(api_url, &repo.owner),
            "repo": repository,
        })
    };
    json!({
        "url": url,
        "id": pull.id,
        "node_id": format!("PR_{}", pull.id),
        "html_url": html_url,
        "diff_url": format!("{html_url}.diff"),
        "patch_url": format!("{html_url}.patch"),
        "issue_url": format!("{api_url}/repos/{full_name}/issues/{}", pull.number),
        "number": pull.number,
        "state": pull.state.as_str(),
        "locked": false,
        "title": pull.title,
        "user": user_json(api_url, &pull.author_login),
        "body": pull.body,
        "labels": [],
        "created_at": pull.created_at,
        "updated_at": pull.updated_at,
        "closed_at": null,
        "merged_at": null,
        "merge_commit_sha": null,
        "assignees": [],
        "requested_reviewers": [],
        "draft": pull.draft,
        "head": branch(&pull.head_ref, &pull.head_sha),
        "base": branch(&pull.base_ref, &pull.base_sha),
        "author_association": "COLLABORATOR",
        "merged": pull.merged,
        "mergeable": null,
        "comments": 0,
        "commits": 1,
    })
}
