//! A small stateful GitHub REST API, in memory.
//!
//! Bodies use GitHub's field names and error shapes (401 "Bad credentials",
//! 404 "Not Found", 422 "Validation Failed"), so the tools' real clients run
//! unchanged against it. Faults (5xx, rate limits) can be queued per path
//! prefix, and every request is recorded for assertions.
//!
//! Known simplifications: branches are not checked against a git repository
//! (refs resolve through [`Repo::branches`] or are taken as SHAs), and every
//! valid token has full access to every repository.

pub mod actions;
pub mod checks;
pub mod deployments;
pub mod issues;
pub mod protection;
pub mod pulls;
pub mod releases;
pub mod repos;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use state::{Fault, RecordedRequest, Repo, State, fake_sha};

use crate::server::BackgroundServer;

/// The token [`FakeGitHub::start`] accepts.
pub const DEFAULT_TOKEN: &str = "ghs_FakeGitHubTestToken0123456789abcdef";
/// The login that [`DEFAULT_TOKEN`] authenticates as.
pub const DEFAULT_LOGIN: &str = "shipgate-bot";

const DOCS: &str = "https://docs.github.com/rest";
const MAX_BODY: usize = 16 * 1024 * 1024;

pub(crate) type Shared = Arc<Mutex<State>>;

/// The login of the token that authenticated the current request.
#[derive(Clone, Debug)]
pub(crate) struct Actor(pub(crate) String);

/// A fake api.github.com on 127.0.0.1; stops when dropped.
pub struct FakeGitHub {
    server: BackgroundServer,
    state: Shared,
}

impl std::fmt::Debug for FakeGitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGitHub").field("url", &self.server.url()).finish()
    }
}

impl FakeGitHub {
    /// Starts an empty fake that accepts [`DEFAULT_TOKEN`]. Panics if no local
    /// port can be bound.
    pub fn start() -> FakeGitHub {
        let state = Arc::new(Mutex::new(State::new(String::new())));
        let router = router(Arc::clone(&state));
        let server = BackgroundServer::serve(router).expect("starting the fake GitHub");
        {
            let mut state = lock(&state);
            state.api_url = server.url();
            state.add_token(DEFAULT_TOKEN, DEFAULT_LOGIN);
        }
        FakeGitHub { server, state }
    }

    /// [`FakeGitHub::start`] with one public repository, `owner/name`.
    pub fn with_repo(owner: &str, name: &str) -> FakeGitHub {
        let fake = FakeGitHub::start();
        fake.state().add_repo(owner, name);
        fake
    }

    /// The API base URL (use it as `GITHUB_API_URL`).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The token the fake accepts by default.
    pub fn token(&self) -> &'static str {
        DEFAULT_TOKEN
    }

    /// Locks the state to seed or inspect it. Do not hold the guard while the
    /// code under test makes requests: the fake needs the lock to answer.
    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// A shared handle to the state, for use from other threads.
    pub fn state_handle(&self) -> Arc<Mutex<State>> {
        Arc::clone(&self.state)
    }

    /// A copy of every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests().to_vec()
    }
}

fn router(state: Shared) -> Router {
    Router::new()
        .merge(repos::routes())
        .merge(releases::routes())
        .merge(pulls::routes())
        .merge(checks::routes())
        .merge(protection::routes())
        .merge(actions::routes())
        .merge(issues::routes())
        .merge(deployments::routes())
        .fallback(|| async { ApiError::not_found() })
        .layer(middleware::from_fn_with_state(Arc::clone(&state), gatekeeper))
        .with_state(state)
}

/// Records the request, serves queued faults, then checks the token.
async fn gatekeeper(AxumState(state): AxumState<Shared>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Body too large").into_response(),
    };
    let path = parts.uri.path().to_string();
    let index = {
        let mut state = lock(&state);
        state.requests.push(RecordedRequest {
            method: parts.method.to_string(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_string),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_string(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: serde_json::from_slice(&bytes).ok(),
            status: 0,
        });
        state.requests.len() - 1
    };

    let fault = lock(&state).take_fault(&path);
    let response = match fault {
        Some(fault) => fault_response(&fault),
        None => match authenticate(&state, &parts.headers) {
            Err(error) => error.into_response(),
            Ok(actor) => {
                let mut request = Request::from_parts(parts, Body::from(bytes));
                request.extensions_mut().insert(actor);
                next.run(request).await
            }
        },
    };
    let mut response = response;
    response
        .headers_mut()
        .insert("x-github-api-version-selected", HeaderValue::from_static("2022-11-28"));
    if let Some(recorded) = lock(&state).requests.get_mut(index) {
        recorded.status = response.status().as_u16();
    }
    response
}

fn authenticate(state: &Shared, headers: &HeaderMap) -> Result<Actor, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "Requires authentication"));
    };
    let value = value.to_str().unwrap_or_default();
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .or_else(|| value.strip_prefix("token "))
        .unwrap_or_default()
        .trim();
    lock(state)
        .tokens
        .get(token)
        .map(|login| Actor(login.clone()))
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "Bad credentials"))
}

fn fault_response(fault: &Fault) -> Response {
    match *fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = match code {
                502 => "Server Error",
                503 => "Service Unavailable",
                504 => "We couldn't respond to your request in time. Sorry about that.",
                _ => status.canonical_reason().unwrap_or("Error"),
            };
            ApiError::new(status, message).into_response()
        }
        Fault::SecondaryRateLimit { retry_after_secs } => {
            let mut response = ApiError::new(
                StatusCode::FORBIDDEN,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
            )
            .documented("https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        Fault::PrimaryRateLimit { reset_in_secs } => {
            let reset = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|now| now.as_secs())
                .unwrap_or(0)
                + reset_in_secs;
            let mut response = ApiError::new(
                StatusCode::FORBIDDEN,
                "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
            )
            .documented("https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit")
            .into_response();
            let headers = response.headers_mut();
            headers.insert("x-ratelimit-limit", HeaderValue::from(5000u64));
            headers.insert("x-ratelimit-remaining", HeaderValue::from(0u64));
            headers.insert("x-ratelimit-used", HeaderValue::from(5000u64));
            headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
            response
        }
    }
}

/// An error answered with GitHub's JSON error shape.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    errors: Vec<Value>,
    documentation_url: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            errors: Vec::new(),
            documentation_url: DOCS.to_string(),
        }
    }

    pub(crate) fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "Not Found")
    }

    /// 422 "Validation Failed" with GitHub's `errors` entries.
    pub(crate) fn validation(errors: Vec<Value>) -> ApiError {
        let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed");
        error.errors = errors;
        error
    }

    /// 422 "Invalid request." for bodies that do not match the schema.
    pub(crate) fn invalid(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Invalid request.\n\n{detail}"),
        )
    }

    fn documented(mut self, url: &str) -> ApiError {
        self.documentation_url = url.to_string();
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "message": self.message,
            "documentation_url": self.documentation_url,
            "status": self.status.as_u16().to_string(),
        });
        if !self.errors.is_empty() {
            body["errors"] = Value::Array(self.errors);
        }
        (self.status, axum::Json(body)).into_response()
    }
}

pub(crate) type ApiResult = Result<Response, ApiError>;

/// `200 OK` with a JSON body.
pub(crate) fn ok(body: Value) -> ApiResult {
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

/// `201 Created` with a JSON body and `Location`.
pub(crate) fn created(location: &str, body: Value) -> ApiResult {
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Parses a JSON body the way GitHub reports problems: 400 for bad JSON,
/// 422 for a body that does not fit the schema.
pub(crate) fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "Problems parsing JSON"))?;
    if !value.is_object() {
        return Err(ApiError::invalid("Body must be a JSON object."));
    }
    serde_json::from_value(value).map_err(ApiError::invalid)
}

/// Fails with 422 unless every key is present (GitHub's "required but nullable" fields).
pub(crate) fn require_keys(bytes: &[u8], keys: &[&str]) -> Result<(), ApiError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "Problems parsing JSON"))?;
    match keys.iter().find(|key| value.get(**key).is_none()) {
        Some(missing) => Err(ApiError::invalid(format!("\"{missing}\" wasn't supplied."))),
        None => Ok(()),
    }
}

/// Looks up a repository or answers GitHub's 404.
pub(crate) fn find_repo<'a>(state: &'a State, owner: &str, name: &str) -> Result<&'a Repo, ApiError> {
    state.repo(owner, name).ok_or_else(ApiError::not_found)
}

/// Mutable [`find_repo`].
pub(crate) fn find_repo_mut<'a>(state: &'a mut State, owner: &str, name: &str) -> Result<&'a mut Repo, ApiError> {
    state
        .repos
        .get_mut(&state::repo_key(owner, name))
        .ok_or_else(ApiError::not_found)
}

/// GitHub's `simple-user` object.
pub(crate) fn user_json(api_url: &str, login: &str) -> Value {
    let id = login
        .bytes()
        .fold(7u64, |acc, byte| acc.wrapping_mul(31).wrapping_add(u64::from(byte)))
        % 100_000_000;
    json!({
        "login": login,
        "id": id,
        "node_id": format!("U_{id}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "",
        "url": format!("{api_url}/users/{login}"),
        "html_url": format!("https://github.com/{login}"),
        "type": if login.ends_with("[bot]") { "Bot" } else { "User" },
        "site_admin": false,
    })
}

/// `per_page` and `page`, as every list endpoint takes them.
#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    per_page: Option<usize>,
    page: Option<usize>,
}

/// Answers one page of `items` with GitHub's `Link` header.
pub(crate) fn paginate(items: Vec<Value>, page: &PageQuery, list_url: &str, other_query: &str) -> ApiResult {
    let per_page = page.per_page.unwrap_or(30).clamp(1, 100);
    let current = page.page.unwrap_or(1).max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let start = (current - 1).saturating_mul(per_page).min(items.len());
    let end = (start + per_page).min(items.len());
    let body = Value::Array(items[start..end].to_vec());
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    let link_to = |number: usize, rel: &str| {
        let extra = if other_query.is_empty() {
            String::new()
        } else {
            format!("{other_query}&")
        };
        format!("<{list_url}?{extra}per_page={per_page}&page={number}>; rel=\"{rel}\"")
    };
    let mut links = Vec::new();
    if current < last {
        links.push(link_to(current + 1, "next"));
        links.push(link_to(last, "last"));
    }
    if current > 1 {
        links.push(link_to(1, "first"));
        links.push(link_to(current - 1, "prev"));
    }
    if !links.is_empty()
        && let Ok(value) = HeaderValue::from_str(&links.join(", "))
    {
        response.headers_mut().insert(header::LINK, value);
    }
    Ok(response)
}

pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
