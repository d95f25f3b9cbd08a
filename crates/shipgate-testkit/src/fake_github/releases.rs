//! Releases: create, list, get by id / tag / latest, update; and their
//! assets: upload (through `upload_url`, which points back at the fake),
//! list, get (JSON, or the content with `Accept: application/octet-stream`)
//! and delete.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Actor, ApiError, ApiResult, PageQuery, Shared, created, find_repo, find_repo_mut, lock, ok, paginate, parse_body,
    user_json,
};

/// A stored release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub id: u64,
    pub tag_name: String,
    pub target_commitish: String,
    pub name: Option<String>,
    pub body: Option<String>,
    pub draft: bool,
    pub prerelease: bool,
    pub author_login: String,
    pub created_at: String,
    pub published_at: Option<String>,
    /// In upload order.
    pub assets: Vec<ReleaseAsset>,
}

/// A stored release asset, content included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseAsset {
    pub id: u64,
    pub name: String,
    pub label: Option<String>,
    pub content_type: String,
    pub content: Vec<u8>,
    pub uploader_login: String,
    pub created_at: String,
}

impl Release {
    /// The asset with this name.
    pub fn asset(&self, name: &str) -> Option<&ReleaseAsset> {
        self.assets.iter().find(|asset| asset.name == name)
    }
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/releases",
            get(list_releases).post(create_release),
        )
        .route("/repos/{owner}/{repo}/releases/latest", get(latest_release))
        .route("/repos/{owner}/{repo}/releases/tags/{tag}", get(release_by_tag))
        .route(
            "/repos/{owner}/{repo}/releases/{id}",
            get(release_by_id).patch(update_release),
        )
        .route("/repos/{owner}/{repo}/releases/{id}/assets", get(list_assets))
        .route(
            "/repos/{owner}/{repo}/releases/assets/{asset_id}",
            get(get_asset).delete(delete_asset),
        )
        // GitHub takes uploads on another host (uploads.github.com, or
        // `/api/uploads` on GitHub Enterprise Server); the prefix stands
        // for it, so a client that ignores `upload_url` gets a 404 here.
        .route("/uploads/repos/{owner}/{repo}/releases/{id}/assets", post(upload_asset))
}

#[derive(Deserialize)]
struct CreateRelease {
    tag_name: String,
    target_commitish: Option<String>,
    name: Option<String>,
    body: Option<String>,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    prerelease: bool,
}

#[derive(Deserialize)]
struct UpdateRelease {
    tag_name: Option<String>,
    target_commitish: Option<String>,
    name: Option<String>,
    body: Option<String>,
    draft: Option<bool>,
    prerelease: Option<bool>,
}

fn already_exists() -> ApiError {
    ApiError::validation(vec![json!({
        "resource": "Release",
        "code": "already_exists",
        "field": "tag_name",
    })])
}

async fn create_release(
    State(state): State<Shared>,
    Extension(actor): Extension<Actor>,
    Path((owner, name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let input: CreateRelease = parse_body(&body)?;
    let mut state = lock(&state);
    find_repo(&state, &owner, &name)?;
    if input.tag_name.trim().is_empty() {
        return Err(ApiError::validation(vec![json!({
            "resource": "Release", "code": "missing_field", "field": "tag_name",
        })]));
    }
    let id = state.next_id();
    let now = state.now();
    let api_url = state.api_url.clone();
    let repo = find_repo_mut(&mut state, &owner, &name)?;
    if repo.release_by_tag(&input.tag_name).is_some() {
        return Err(already_exists());
    }
    let release = Release {
        id,
        tag_name: input.tag_name,
        target_commitish: input.target_commitish.unwrap_or_else(|| repo.default_branch.clone()),
        name: input.name,
        body: input.body,
        draft: input.draft,
        prerelease: input.prerelease,
        author_login: actor.0,
        created_at: now.clone(),
        published_at: (!input.draft).then_some(now),
        assets: Vec::new(),
    };
    let body = release_json(&api_url, &repo.full_name(), &release);
    repo.releases.push(release);
    created(body["url"].as_str().unwrap_or_default(), body.clone())
}

async fn list_releases(
    State(state): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let full_name = repo.full_name();
    // Newest first, as GitHub lists them.
    let items = repo
        .releases
        .iter()
        .rev()
        .map(|release| release_json(&state.api_url, &full_name, release))
        .collect();
    paginate(
        items,
        &page,
        &format!("{}/repos/{full_name}/releases", state.api_url),
        "",
    )
}

async fn release_by_tag(
    State(state): State<Shared>,
    Path((owner, name, tag)): Path<(String, String, String)>,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    // GitHub only finds published releases by tag; drafts have no tag yet.
    let release = repo
        .releases
        .iter()
        .find(|release| release.tag_name == tag && !release.draft)
        .ok_or_else(ApiError::not_found)?;
    ok(release_json(&state.api_url, &repo.full_name(), release))
}

async fn latest_release(State(state): State<Shared>, Path((owner, name)): Path<(String, String)>) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let release = repo
        .releases
        .iter()
        .rev()
        .find(|release| !release.draft && !release.prerelease)
        .ok_or_else(ApiError::not_found)?;
    ok(release_json(&state.api_url, &repo.full_name(), release))
}

async fn release_by_id(
    State(state): State<Shared>,
    Path((owner, name, id)): Path<(String, String, String)>,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let release = id
        .parse::<u64>()
        .ok()
        .and_then(|id| repo.releases.iter().find(|release| release.id == id))
        .ok_or_else(ApiError::not_found)?;
    ok(release_json(&state.api_url, &repo.full_name(), release))
}

async fn update_release(
    State(state): State<Shared>,
    Path((owner, name, id)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let input: UpdateRelease = parse_body(&body)?;
    let mut state = lock(&state);
    let now = state.now();
    let api_url = state.api_url.clone();
    let repo = find_repo_mut(&mut state, &owner, &name)?;
    let id = id.parse::<u64>().map_err(|_| ApiError::not_found())?;
    if let Some(tag) = &input.tag_name
        && repo.releases.iter().any(|r| &r.tag_name == tag && r.id != id)
    {
        return Err(already_exists());
    }
    let full_name = repo.full_name();
    let release = repo
        .releases
        .iter_mut()
        .find(|release| release.id == id)
        .ok_or_else(ApiError::not_found)?;
    if let Some(tag) = input.tag_name {
        release.tag_name = tag;
    }
    if let Some(target) = input.target_commitish {
        release.target_commitish = target;
    }
    if input.name.is_some() {
        release.name = input.name;
    }
    if input.body.is_some() {
        release.body = input.body;
    }
    if let Some(prerelease) = input.prerelease {
        release.prerelease = prerelease;
    }
    if let Some(draft) = input.draft {
        if release.draft && !draft {
            release.published_at = Some(now);
        }
        release.draft = draft;
    }
    ok(release_json(&api_url, &full_name, release))
}

#[derive(Deserialize)]
struct UploadQuery {
    name: Option<String>,
    label: Option<String>,
}

fn asset_already_exists() -> ApiError {
    ApiError::validation(vec![json!({
        "resource": "ReleaseAsset",
        "code": "already_exists",
        "field": "name",
    })])
}

async fn upload_asset(
    State(state): State<Shared>,
    Extension(actor): Extension<Actor>,
    Path((owner, name, id)): Path<(String, String, String)>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let asset_name = query.name.filter(|name| !name.trim().is_empty()).ok_or_else(|| {
        ApiError::validation(vec![json!({
            "resource": "ReleaseAsset", "code": "missing_field", "field": "name",
        })])
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("Content-Type header is required for an upload."))?
        .to_string();
    let mut state = lock(&state);
    let asset_id = state.next_id();
    let now = state.now();
    let api_url = state.api_url.clone();
    let repo = find_repo_mut(&mut state, &owner, &name)?;
    let full_name = repo.full_name();
    let release = release_mut(repo, &id)?;
    if release.asset(&asset_name).is_some() {
        return Err(asset_already_exists());
    }
    let asset = ReleaseAsset {
        id: asset_id,
        name: asset_name,
        label: query.label,
        content_type,
        content: body.to_vec(),
        uploader_login: actor.0,
        created_at: now,
    };
    let body = asset_json(&api_url, &full_name, release, &asset);
    release.assets.push(asset);
    created(body["url"].as_str().unwrap_or_default(), body.clone())
}

async fn list_assets(
    State(state): State<Shared>,
    Path((owner, name, id)): Path<(String, String, String)>,
    Query(page): Query<PageQuery>,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let full_name = repo.full_name();
    let release = id
        .parse::<u64>()
        .ok()
        .and_then(|id| repo.releases.iter().find(|release| release.id == id))
        .ok_or_else(ApiError::not_found)?;
    let items = release
        .assets
        .iter()
        .map(|asset| asset_json(&state.api_url, &full_name, release, asset))
        .collect();
    paginate(
        items,
        &page,
        &format!("{}/repos/{full_name}/releases/{id}/assets", state.api_url),
        "",
    )
}

/// The release holding the asset `asset_id`, and the asset's index in it.
fn find_asset(repo: &super::Repo, asset_id: &str) -> Result<(usize, usize), ApiError> {
    let asset_id = asset_id.parse::<u64>().map_err(|_| ApiError::not_found())?;
    repo.releases
        .iter()
        .enumerate()
        .find_map(|(release_index, release)| {
            release
                .assets
                .iter()
                .position(|asset| asset.id == asset_id)
                .map(|asset_index| (release_index, asset_index))
        })
        .ok_or_else(ApiError::not_found)
}

async fn get_asset(
    State(state): State<Shared>,
    Path((owner, name, asset_id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let state = lock(&state);
    let repo = find_repo(&state, &owner, &name)?;
    let (release_index, asset_index) = find_asset(repo, &asset_id)?;
    let release = &repo.releases[release_index];
    let asset = &release.assets[asset_index];
    let wants_content = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("application/octet-stream"));
    if wants_content {
        // GitHub redirects to a signed download URL; the fake serves the
        // bytes directly.
        return Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, asset.content_type.clone())],
            asset.content.clone(),
        )
            .into_response());
    }
    ok(asset_json(&state.api_url, &repo.full_name(), release, asset))
}

async fn delete_asset(
    State(state): State<Shared>,
    Path((owner, name, asset_id)): Path<(String, String, String)>,
) -> ApiResult {
    let mut state = lock(&state);
    let repo = find_repo_mut(&mut state, &owner, &name)?;
    let (release_index, asset_index) = find_asset(repo, &asset_id)?;
    repo.releases[release_index].assets.remove(asset_index);
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn release_mut<'a>(repo: &'a mut super::Repo, id: &str) -> Result<&'a mut Release, ApiError> {
    let id = id.parse::<u64>().map_err(|_| ApiError::not_found())?;
    repo.releases
        .iter_mut()
        .find(|release| release.id == id)
        .ok_or_else(ApiError::not_found)
}

/// GitHub's `release-asset` object.
pub(crate) fn asset_json(api_url: &str, full_name: &str, release: &Release, asset: &ReleaseAsset) -> Value {
    json!({
        "url": format!("{api_url}/repos/{full_name}/releases/assets/{}", asset.id),
        "browser_download_url": format!(
            "https://github.com/{full_name}/releases/download/{}/{}",
            release.tag_name, asset.name
        ),
        "id": asset.id,
        "node_id": format!("RA_{}", asset.id),
        "name": asset.name,
        "label": asset.label,
        "state": "uploaded",
        "content_type": asset.content_type,
        "size": asset.content.len(),
        "download_count": 0,
        "created_at": asset.created_at,
        "updated_at": asset.created_at,
        "uploader": user_json(api_url, &asset.uploader_login),
    })
}

/// GitHub's `release` object.
pub(crate) fn release_json(api_url: &str, full_name: &str, release: &Release) -> Value {
    let url = format!("{api_url}/repos/{full_name}/releases/{}", release.id);
    let html_url = if release.draft {
        format!("https://github.com/{full_name}/releases/tag/untagged-{}", release.id)
    } else {
        format!("https://github.com/{full_name}/releases/tag/{}", release.tag_name)
    };
    json!({
        "url": url,
        "html_url": html_url,
        "assets_url": format!("{url}/assets"),
        "upload_url": format!("{api_url}/uploads/repos/{full_name}/releases/{}/assets{{?name,label}}", release.id),
        "tarball_url": format!("{api_url}/repos/{full_name}/tarball/{}", release.tag_name),
        "zipball_url": format!("{api_url}/repos/{full_name}/zipball/{}", release.tag_name),
        "id": release.id,
        "node_id": format!("RE_{}", release.id),
        "tag_name": release.tag_name,
        "target_commitish": release.target_commitish,
        "name": release.name,
        "body": release.body,
        "draft": release.draft,
        "prerelease": release.prerelease,
        "immutable": false,
        "created_at": release.created_at,
        "published_at": release.published_at,
        "author": user_json(api_url, &release.author_login),
        "assets": release
            .assets
            .iter()
            .map(|asset| asset_json(api_url, full_name, release, asset))
            .collect::<Vec<_>>(),
    })
}
