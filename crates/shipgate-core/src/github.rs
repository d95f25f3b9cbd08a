//! GitHub REST client on octocrab, with shipgate's retry policy and error
//! classification.
//!
//! Requests go through octocrab's raw `_get`/`_post`/... methods so status
//! and headers stay visible: the retry policy needs `retry-after` and the
//! rate-limit headers, and error messages need
//! `x-accepted-github-permissions`.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::actions::{Runtime, Secret, redact};
use crate::exit::{Error, Result};
use crate::http::{install_crypto_provider, status_text};
use crate::retry::{Decision, GiveUpReason, Outcome, RetryPolicy};

/// The public GitHub API.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// Connecting should be quick even when a request may take long.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach GitHub.
#[derive(Debug, Clone)]
pub struct GitHubSettings {
    /// Base URL of the REST API, e.g. `https://ghe.example.com/api/v3`.
    pub api_url: String,
    pub token: Option<Secret>,
    /// Limit for one attempt of one request.
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl GitHubSettings {
    /// Settings from the process environment; see [`GitHubSettings::from_runtime`].
    pub fn from_env(token_flag: Option<String>) -> Self {
        GitHubSettings::from_runtime(&Runtime::detect(), token_flag)
    }

    /// `GITHUB_API_URL` (default `https://api.github.com`) and a token from
    /// `token_flag`, else `GITHUB_TOKEN`, else `GH_TOKEN`. The token is
    /// masked at once.
    pub fn from_runtime(runtime: &Runtime, token_flag: Option<String>) -> Self {
        let token = token_flag
            .filter(|token| !token.trim().is_empty())
            .or_else(|| runtime.var("GITHUB_TOKEN").map(str::to_owned))
            .or_else(|| runtime.var("GH_TOKEN").map(str::to_owned))
            .map(|token| runtime.secret(token.trim().to_owned()));
        let api_url = runtime
            .var("GITHUB_API_URL")
            .unwrap_or(DEFAULT_API_URL)
            .trim_end_matches('/')
            .to_owned();
        GitHubSettings {
            api_url,
            token,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

/// A repository as [`GitHubClient::repository`] returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RepositoryInfo {
    /// `owner/name`.
    pub full_name: String,
    pub default_branch: String,
    pub private: bool,
}

/// A release asset as GitHub returns it (the fields shipgate uses).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReleaseAsset {
    /// Signed because GitHub's description only says "integer".
    pub id: i64,
    pub name: String,
    pub size: i64,
    pub browser_download_url: String,
    /// `uploaded`, or `open` for an upload that never finished.
    #[serde(default)]
    pub state: String,
}

/// The REST API version the raw requests ask for, as octocrab's own do.
const API_VERSION: &str = "2022-11-28";

/// An upload may take longer than one API call: on top of the usual
/// limit, allow for a runner link as slow as this many bytes per second.
const SLOWEST_UPLOAD_BYTES_PER_SEC: u64 = 256 * 1024;

/// Expands a release's `upload_url`, an RFC 6570 template such as
/// `https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}`,
/// for the asset `name` (and `label`).
pub fn expand_upload_url(upload_url: &str, name: &str, label: Option<&str>) -> Result<String> {
    use iri_string::spec::UriSpec;
    use iri_string::template::UriTemplateStr;
    use iri_string::template::simple_context::SimpleContext;

    let shown = crate::url_redaction::redact_str(upload_url);
    let template = UriTemplateStr::new(upload_url)
        .map_err(|err| Error::external(format!("GitHub's upload_url `{shown}` is not a URI template: {err}")))?;
    if !template.variables().any(|variable| variable.as_str() == "name") {
        return Err(Error::external(format!(
            "GitHub's upload_url `{shown}` has no `name` parameter to name the asset by"
        )));
    }
    let mut context = SimpleContext::new();
    context.insert("name", name);
    if let Some(label) = label {
        context.insert("label", label);
    }
    let expanded = template
        .expand::<UriSpec, _>(&context)
        .map_err(|err| Error::external(format!("cannot expand GitHub's upload_url `{shown}`: {err}")))?;
    Ok(expanded.to_string())
}

/// Whether `upload` is a host GitHub serves uploads from for the API at
/// `api`: the API host itself (GitHub Enterprise Server's `/api/uploads`),
/// or its `uploads.` sibling (`api.github.com` → `uploads.github.com`, and
/// likewise on GHE.com). The token is only ever sent to these.
fn is_upload_host_of(api: &http::Uri, upload: &http::Uri) -> bool {
    let (Some(api_authority), Some(upload_authority)) = (api.authority(), upload.authority()) else {
        return false;
    };
    if api_authority == upload_authority {
        return api.scheme() == upload.scheme();
    }
    let sibling = api_authority
        .host()
        .strip_prefix("api.")
        .map(|domain| format!("uploads.{domain}"));
    upload.scheme_str() == Some("https")
        && upload_authority.port().is_none()
        && sibling.is_some_and(|sibling| sibling.eq_ignore_ascii_case(upload_authority.host()))
}

/// A GitHub answer after retries, before any status handling.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl ApiResponse {
    /// GitHub's `message` (plus any `errors[].message`), or the start of
    /// the body when it is not GitHub's error JSON.
    pub fn github_message(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct GitHubError {
            message: Option<String>,
            #[serde(default)]
            errors: Vec<serde_json::Value>,
        }
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let Ok(parsed) = serde_json::from_str::<GitHubError>(text) else {
            return Some(one_line(&text.chars().take(200).collect::<String>()));
        };
        let mut parts: Vec<String> = parsed.message.into_iter().collect();
        for error in parsed.errors {
            let detail = match &error {
                serde_json::Value::String(text) => Some(text.clone()),
                serde_json::Value::Object(fields) => fields
                    .get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_owned)
                    .or_else(|| {
                        let field = |name: &str| fields.get(name).and_then(|v| v.as_str());
                        match (field("resource"), field("field"), field("code")) {
                            (Some(resource), Some(name), Some(code)) => Some(format!("{resource}.{name} {code}")),
                            (_, _, Some(code)) => Some(code.to_owned()),
                            _ => None,
                        }
                    }),
                _ => None,
            };
            parts.extend(detail);
        }
        (!parts.is_empty()).then(|| one_line(&parts.join("; ")))
    }

    /// The error this response means for the request `shown`
    /// (e.g. `GET /repos/o/r`); call only for non-success statuses.
    pub fn to_error(&self, shown: &str) -> Error {
        let said = self
            .github_message()
            .map(|message| format!(": {message}"))
            .unwrap_or_default();
        let message = match self.status.as_u16() {
            401 => Error::usage(format!(
                "GitHub rejected the token (401) for {shown}: check that it is set, valid and not expired{said}"
            )),
            403 => match self
                .headers
                .get("x-accepted-github-permissions")
                .and_then(|value| value.to_str().ok())
                .filter(|value| !value.trim().is_empty())
            {
                Some(permissions) => Error::usage(format!(
                    "GitHub refused {shown} (403): the token lacks the permission `{}`; grant it in the workflow's `permissions:`{said}",
                    permissions.trim()
                )),
                None => Error::usage(format!("GitHub refused {shown} (403){said}")),
            },
            404 => Error::usage(format!(
                "GitHub API {shown}: not found or the token cannot see it (404)"
            )),
            422 => Error::usage(format!("GitHub rejected {shown} (422){said}")),
            status if status >= 500 || status == 429 => {
                Error::external(format!("GitHub API {shown}: {}{said}", status_text(self.status)))
            }
            _ => Error::usage(format!("GitHub API {shown}: {}{said}", status_text(self.status))),
        };
        redact_error(message)
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Belt and braces: a GitHub message could quote input that contained a
/// secret.
fn redact_error(error: Error) -> Error {
    match error {
        Error::CheckFailed(text) => Error::CheckFailed(redact(&text).into_owned()),
        Error::Usage(text) => Error::Usage(redact(&text).into_owned()),
        Error::External(text) => Error::External(redact(&text).into_owned()),
    }
}

/// The GitHub client every tool shares.
pub struct GitHubClient {
    octocrab: octocrab::Octocrab,
    api_url: String,
    /// Kept for uploads, which go to another host through a client of
    /// their own (see [`GitHubClient::upload_release_asset`]).
    token: Option<Secret>,
    timeout: Duration,
    retry: RetryPolicy,
}

impl std::fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubClient")
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl GitHubClient {
    /// Builds the client. Must run inside a tokio runtime (octocrab spawns
    /// its request buffer there).
    pub fn new(settings: GitHubSettings) -> Result<Self> {
        install_crypto_provider();
        let api_url = settings.api_url.trim_end_matches('/').to_owned();
        let mut builder = octocrab::Octocrab::builder()
            .base_uri(api_url.as_str())
            .map_err(|_| {
                Error::usage(format!(
                    "GITHUB_API_URL `{}` is not a valid URL",
                    crate::url_redaction::redact_str(&api_url)
                ))
            })?
            .set_connect_timeout(Some(settings.timeout.min(MAX_CONNECT_TIMEOUT)))
            .set_read_timeout(Some(settings.timeout))
            .set_write_timeout(Some(settings.timeout));
        if let Some(token) = &settings.token {
            builder = builder.personal_token(token.expose().to_owned());
        }
        let octocrab = builder
            .build()
            .map_err(|err| Error::usage(format!("cannot set up the GitHub client: {}", innermost_message(&err))))?;
        Ok(GitHubClient {
            octocrab,
            api_url,
            token: settings.token,
            timeout: settings.timeout,
            retry: settings.retry,
        })
    }

    /// The underlying octocrab client, for typed endpoints. Requests made
    /// through it do not get shipgate's retries.
    pub fn octocrab(&self) -> &octocrab::Octocrab {
        &self.octocrab
    }

    /// The API base URL this client talks to.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// Sends `method path` (path relative to the API URL, e.g.
    /// `/repos/o/r/git/refs`) with an optional JSON body, retrying transient
    /// failures. Returns the final answer whatever its status; transient
    /// failures that outlast the policy are [`Error::external`].
    pub async fn request(&self, method: Method, path: &str, body: Option<&serde_json::Value>) -> Result<ApiResponse> {
        let shown = shown_request(&method, path);
        self.send_with_retries(&shown, self.timeout, || self.send_once(&method, path, body))
            .await
    }

    /// The retry loop of every request: `send` makes one attempt, each
    /// under `timeout`.
    async fn send_with_retries<F, Fut>(&self, shown: &str, timeout: Duration, mut send: F) -> Result<ApiResponse>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<ApiResponse, SendError>>,
    {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let sent = tokio::time::timeout(timeout, send()).await;
            let response = match sent {
                Ok(Ok(response)) => response,
                Ok(Err(SendError::Invalid(reason))) => {
                    return Err(Error::usage(format!("invalid GitHub API request {shown}: {reason}")));
                }
                Ok(Err(SendError::Transport(reason))) => {
                    self.transport_failure(attempt, shown, &reason).await?;
                    continue;
                }
                Err(_) => {
                    let reason = format!("timed out after {}s", timeout.as_secs_f32());
                    self.transport_failure(attempt, shown, &reason).await?;
                    continue;
                }
            };
            if response.status.is_success() || response.status.is_redirection() {
                return Ok(response);
            }
            let text = String::from_utf8_lossy(&response.body).into_owned();
            let decision = self.retry.decide(
                attempt,
                Outcome::Response {
                    status: response.status,
                    headers: &response.headers,
                    body: Some(&text),
                },
            );
            match decision {
                Decision::Retry(wait) => self.retry.sleep(wait).await,
                Decision::GiveUp(GiveUpReason::NotRetryable) => return Ok(response),
                Decision::GiveUp(GiveUpReason::AttemptsExhausted) => {
                    let said = response
                        .github_message()
                        .map(|message| format!(" ({message})"))
                        .unwrap_or_default();
                    return Err(redact_error(Error::external(format!(
                        "GitHub API {shown}: {} after {}{said}",
                        status_text(response.status),
                        attempts(attempt)
                    ))));
                }
                Decision::GiveUp(GiveUpReason::WaitTooLong(wait)) => {
                    return Err(Error::external(format!(
                        "GitHub API {shown}: rate limited ({}); GitHub asked to wait {}s, longer than the {}s limit; try again later",
                        status_text(response.status),
                        wait.as_secs(),
                        self.retry.max_retry_after.as_secs()
                    )));
                }
            }
        }
    }

    /// Sleeps before the next attempt, or returns the final error.
    async fn transport_failure(&self, attempt: u32, shown: &str, reason: &str) -> Result<()> {
        match self.retry.decide(attempt, Outcome::Transport) {
            Decision::Retry(wait) => {
                self.retry.sleep(wait).await;
                Ok(())
            }
            Decision::GiveUp(_) => Err(Error::external(format!(
                "GitHub API {shown}: {reason} after {}",
                attempts(attempt)
            ))),
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> std::result::Result<ApiResponse, SendError> {
        let octocrab = &self.octocrab;
        let sent = match *method {
            Method::GET => octocrab._get(path).await,
            Method::POST => octocrab._post(path, body).await,
            Method::PUT => octocrab._put(path, body).await,
            Method::PATCH => octocrab._patch(path, body).await,
            Method::DELETE => octocrab._delete(path, body).await,
            _ => {
                return Err(SendError::Invalid(format!("method {method} is not supported")));
            }
        };
        collect_response(sent).await
    }

    /// [`GitHubClient::request`] and decode a successful JSON answer;
    /// any other status becomes the matching error (see
    /// [`ApiResponse::to_error`]).
    pub async fn request_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T> {
        let shown = shown_request(&method, path);
        let response = self.request(method, path, body).await?;
        if !response.status.is_success() {
            return Err(response.to_error(&shown));
        }
        decode(&response, &shown)
    }

    /// GET `path`, `None` on 404 (for "does this tag/release exist?").
    pub async fn get_optional<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        let shown = shown_request(&Method::GET, path);
        let response = self.request(Method::GET, path, None).await?;
        if response.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status.is_success() {
            return Err(response.to_error(&shown));
        }
        decode(&response, &shown).map(Some)
    }

    /// `GET /repos/{owner}/{repo}`.
    pub async fn repository(&self, owner: &str, repo: &str) -> Result<RepositoryInfo> {
        for (what, name) in [("owner", owner), ("repository", repo)] {
            if !is_valid_repo_part(name) {
                return Err(Error::usage(format!("invalid GitHub {what} name `{}`", redact(name))));
            }
        }
        self.request_json(Method::GET, &format!("/repos/{owner}/{repo}"), None)
            .await
    }
}

impl GitHubClient {
    /// Uploads `content` as the release asset `name` (`Content-Type:
    /// application/octet-stream`) to the release's `upload_url`, with the
    /// usual retries. GitHub refuses a second asset of the same name (422):
    /// delete the old one first to replace it.
    pub async fn upload_release_asset(&self, upload_url: &str, name: &str, content: Bytes) -> Result<ReleaseAsset> {
        let url = expand_upload_url(upload_url, name, None)?;
        let shown_url = crate::url_redaction::redact_str(upload_url);
        let uri: http::Uri = url
            .parse()
            .map_err(|_| Error::external(format!("GitHub's upload_url `{shown_url}` is not a valid URL")))?;
        let api: http::Uri = self
            .api_url
            .parse()
            .map_err(|_| Error::usage("GITHUB_API_URL is not a valid URL"))?;
        if !is_upload_host_of(&api, &uri) {
            return Err(Error::external(format!(
                "GitHub named `{shown_url}` as the upload URL, which is not a host of the API at `{}`; not sending the token there",
                crate::url_redaction::redact_str(&self.api_url)
            )));
        }
        let uploader = self.uploader_for(&uri)?;
        let shown = shown_request(&Method::POST, uri.path());
        let length = content.len();
        let timeout = self.timeout + Duration::from_secs(length as u64 / SLOWEST_UPLOAD_BYTES_PER_SEC);
        let response = self
            .send_with_retries(&shown, timeout, || {
                let request = http::Request::builder()
                    .method(Method::POST)
                    .uri(uri.clone())
                    .header(http::header::ACCEPT, "application/vnd.github+json")
                    .header("x-github-api-version", API_VERSION)
                    .header(http::header::CONTENT_TYPE, "application/octet-stream")
                    .header(http::header::CONTENT_LENGTH, length)
                    .body(content.clone());
                let uploader = &uploader;
                async move {
                    let request = request.map_err(|err| SendError::Invalid(err.to_string()))?;
                    collect_response(uploader.execute(request).await).await
                }
            })
            .await?;
        if !response.status.is_success() {
            return Err(response.to_error(&shown));
        }
        decode(&response, &shown)
    }

    /// An octocrab client rooted at the upload URL's origin. The shared
    /// client cannot send there: octocrab prefixes its base path to every
    /// URL (GitHub Enterprise's `/api/v3` would corrupt `/api/uploads/...`)
    /// and only authenticates requests to its own hosts.
    fn uploader_for(&self, upload: &http::Uri) -> Result<octocrab::Octocrab> {
        let origin = format!(
            "{}://{}",
            upload.scheme_str().unwrap_or("https"),
            upload.authority().map(|a| a.as_str()).unwrap_or_default()
        );
        let invalid = |_| Error::external(format!("the upload host `{origin}` is not a valid URL"));
        let mut builder = octocrab::Octocrab::builder()
            .base_uri(origin.as_str())
            .map_err(invalid)?
            .upload_uri(origin.as_str())
            .map_err(invalid)?
            .set_connect_timeout(Some(self.timeout.min(MAX_CONNECT_TIMEOUT)))
            .set_read_timeout(Some(self.timeout))
            .set_write_timeout(Some(self.timeout));
        if let Some(token) = &self.token {
            builder = builder.personal_token(token.expose().to_owned());
        }
        builder.build().map_err(|err| {
            Error::usage(format!(
                "cannot set up the GitHub upload client: {}",
                innermost_message(&err)
            ))
        })
    }
}

enum SendError {
    /// A request that can never work (bad path, unsupported method).
    Invalid(String),
    /// The request did not get an answer; worth retrying.
    Transport(String),
}

fn classify_octocrab_error(err: octocrab::Error) -> SendError {
    let reason = innermost_message(&err);
    match err {
        octocrab::Error::Service { .. } | octocrab::Error::Hyper { .. } => SendError::Transport(reason),
        _ => SendError::Invalid(reason),
    }
}

/// Reads a whole octocrab answer into an [`ApiResponse`].
async fn collect_response(
    sent: octocrab::Result<http::Response<http_body_util::combinators::BoxBody<bytes::Bytes, octocrab::Error>>>,
) -> std::result::Result<ApiResponse, SendError> {
    let response = sent.map_err(classify_octocrab_error)?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|err| SendError::Transport(innermost_message(&err)))?
        .to_bytes()
        .to_vec();
    Ok(ApiResponse {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

fn decode<T: DeserializeOwned>(response: &ApiResponse, shown: &str) -> Result<T> {
    // 204 No Content decodes as JSON `null`, so `()` and `Option<_>` work.
    let body: &[u8] = if response.body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        &response.body
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        Error::external(format!(
            "GitHub API {shown}: unexpected response at `{path}`: {}",
            err.into_inner()
        ))
    })
}

fn is_valid_repo_part(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `GET /repos/o/r` without any query string (which may carry secrets).
fn shown_request(method: &Method, path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    format!("{method} {}", redact(path))
}

fn attempts(count: u32) -> String {
    if count == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{count} attempts")
    }
}

fn innermost_message(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(source) = current.source() {
        current = source;
    }
    crate::url_redaction::redact_in_text(&redact(&current.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::http::HeaderMap as AxumHeaders;
    use axum::routing::any;

    fn response(status: u16, headers: &[(&'static str, &str)], body: &str) -> ApiResponse {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        ApiResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn settings_take_the_flag_then_github_token_then_gh_token() {
        let runtime = Runtime::from_env_map([
            ("GITHUB_TOKEN", "ghs_fromactionsenvironment0001"),
            ("GH_TOKEN", "gho_fromghcli0000000000000001"),
            ("GITHUB_API_URL", "https://ghe.example.com/api/v3/"),
        ]);
        let settings = GitHubSettings::from_runtime(&runtime, Some("ghp_fromtheflag00000000000001".into()));
        assert_eq!(
            settings.token.as_ref().unwrap().expose(),
            "ghp_fromtheflag00000000000001"
        );
        assert_eq!(settings.api_url, "https://ghe.example.com/api/v3");
        let settings = GitHubSettings::from_runtime(&runtime, None);
        assert_eq!(
            settings.token.as_ref().unwrap().expose(),
            "ghs_fromactionsenvironment0001"
        );
        let runtime = Runtime::from_env_map([("GH_TOKEN", "gho_fromghcli0000000000000001")]);
        let settings = GitHubSettings::from_runtime(&runtime, Some(String::new()));
        assert_eq!(
            settings.token.as_ref().unwrap().expose(),
            "gho_fromghcli0000000000000001"
        );
        assert_eq!(settings.api_url, DEFAULT_API_URL);
        assert!(
            GitHubSettings::from_runtime(&Runtime::from_env_map([("GITHUB_TOKEN", "")]), None)
                .token
                .is_none()
        );
    }

    #[test]
    fn settings_mask_the_token() {
        let (runtime, captured) = Runtime::from_env_map([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_TOKEN", "ghs_maskedbysettings000000000001"),
        ])
        .capture_output();
        let settings = GitHubSettings::from_runtime(&runtime, None);
        assert_eq!(captured.stdout(), "::add-mask::ghs_maskedbysettings000000000001\n");
        assert_eq!(format!("{settings:?}").matches("ghs_masked").count(), 0);
        assert_eq!(redact("token ghs_maskedbysettings000000000001"), "token ***");
    }

    #[test]
    fn errors_are_classified_by_status() {
        let shown = "GET /repos/o/r";
        let unauthorized = response(401, &[], r#"{"message":"Bad credentials"}"#).to_error(shown);
        assert_eq!(unauthorized.exit_code(), crate::exit::ExitCode::Usage);
        assert!(unauthorized.to_string().starts_with("GitHub rejected the token (401)"));

        let forbidden = response(
            403,
            &[("x-accepted-github-permissions", "contents=write")],
            r#"{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com"}"#,
        )
        .to_error("POST /repos/o/r/git/refs");
        assert_eq!(forbidden.exit_code(), crate::exit::ExitCode::Usage);
        assert_eq!(
            forbidden.to_string(),
            "GitHub refused POST /repos/o/r/git/refs (403): the token lacks the permission `contents=write`; grant it in the workflow's `permissions:`: Resource not accessible by integration"
        );

        let missing = response(404, &[], r#"{"message":"Not Found"}"#).to_error(shown);
        assert_eq!(
            missing.to_string(),
            "GitHub API GET /repos/o/r: not found or the token cannot see it (404)"
        );
        assert_eq!(missing.exit_code(), crate::exit::ExitCode::Usage);

        let invalid = response(
            422,
            &[],
            r#"{"message":"Validation Failed","errors":[{"resource":"Release","code":"already_exists","field":"tag_name"}]}"#,
        )
        .to_error("POST /repos/o/r/releases");
        assert_eq!(
            invalid.to_string(),
            "GitHub rejected POST /repos/o/r/releases (422): Validation Failed; Release.tag_name already_exists"
        );

        let broken = response(502, &[], "<html>\n bad gateway\n</html>").to_error(shown);
        assert_eq!(broken.exit_code(), crate::exit::ExitCode::External);
        assert_eq!(
            broken.to_string(),
            "GitHub API GET /repos/o/r: 502 Bad Gateway: <html> bad gateway </html>"
        );
    }

    #[test]
    fn shown_requests_drop_query_strings() {
        assert_eq!(
            shown_request(&Method::GET, "/repos/o/r/tags?per_page=100&access_token=x"),
            "GET /repos/o/r/tags"
        );
    }

    /// A GitHub stand-in that answers the n-th request with `script[n]`
    /// (repeating the last) and records each request's authorization header.
    struct ScriptedGitHub {
        url: String,
        hits: Arc<AtomicUsize>,
        authorizations: Arc<Mutex<Vec<String>>>,
    }

    type Reply = (u16, Vec<(&'static str, String)>, &'static str);

    async fn scripted_github(script: Vec<Reply>) -> ScriptedGitHub {
        let hits = Arc::new(AtomicUsize::new(0));
        let authorizations = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let (counter, seen) = (hits.clone(), authorizations.clone());
        let router = Router::new().route(
            "/{*path}",
            any(move |headers: AxumHeaders| {
                let (counter, seen, script) = (counter.clone(), seen.clone(), script.clone());
                async move {
                    seen.lock().unwrap().push(
                        headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned(),
                    );
                    let index = counter.fetch_add(1, Ordering::SeqCst).min(script.len() - 1);
                    let (status, reply_headers, body) = &script[index];
                    let mut map = AxumHeaders::new();
                    map.insert("content-type", "application/json".parse().unwrap());
                    for (name, value) in reply_headers {
                        map.insert(*name, value.parse().unwrap());
                    }
                    (axum::http::StatusCode::from_u16(*status).unwrap(), map, *body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        ScriptedGitHub {
            url,
            hits,
            authorizations,
        }
    }

    fn client_for(server: &ScriptedGitHub, token: &str) -> (GitHubClient, Arc<Mutex<Vec<Duration>>>) {
        let slept = Arc::new(Mutex::new(Vec::new()));
        let recorder = slept.clone();
        let settings = GitHubSettings {
            api_url: server.url.clone(),
            token: Some(Secret::new(token)),
            timeout: Duration::from_secs(5),
            retry: RetryPolicy::with_sleeper(move |duration| {
                recorder.lock().unwrap().push(duration);
                async {}
            }),
        };
        (GitHubClient::new(settings).unwrap(), slept)
    }

    const REPO: &str = r#"{"id":1,"full_name":"octo-org/shipgate-demo","default_branch":"main","private":true}"#;

    #[tokio::test]
    async fn a_502_is_retried_then_the_answer_decoded() {
        let server = scripted_github(vec![(502, vec![], "bad gateway"), (200, vec![], REPO)]).await;
        let (client, slept) = client_for(&server, "ghs_retrytesttoken0000000000001");
        let repository = client.repository("octo-org", "shipgate-demo").await.unwrap();
        assert_eq!(
            repository,
            RepositoryInfo {
                full_name: "octo-org/shipgate-demo".into(),
                default_branch: "main".into(),
                private: true,
            }
        );
        assert_eq!(server.hits.load(Ordering::SeqCst), 2);
        assert_eq!(slept.lock().unwrap().len(), 1);
        assert_eq!(
            *server.authorizations.lock().unwrap(),
            vec!["Bearer ghs_retrytesttoken0000000000001"; 2]
        );
    }

    #[tokio::test]
    async fn a_secondary_rate_limit_waits_for_retry_after() {
        let server = scripted_github(vec![
            (
                403,
                vec![("retry-after", "3".into())],
                r#"{"message":"You have exceeded a secondary rate limit"}"#,
            ),
            (200, vec![], REPO),
        ])
        .await;
        let (client, slept) = client_for(&server, "ghs_ratelimittoken000000000001");
        let repository = client.repository("octo-org", "shipgate-demo").await.unwrap();
        assert_eq!(repository.default_branch, "main");
        assert_eq!(*slept.lock().unwrap(), vec![Duration::from_secs(3)]);
        assert_eq!(server.hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn persistent_server_errors_become_external_after_all_attempts() {
        let server = scripted_github(vec![(503, vec![], r#"{"message":"Service Unavailable"}"#)]).await;
        let (client, slept) = client_for(&server, "ghs_outagetoken00000000000001");
        let err = client.repository("octo-org", "shipgate-demo").await.unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::External);
        assert_eq!(
            err.to_string(),
            "GitHub API GET /repos/octo-org/shipgate-demo: 503 Service Unavailable after 4 attempts (Service Unavailable)"
        );
        assert_eq!(server.hits.load(Ordering::SeqCst), 4);
        assert_eq!(slept.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn permission_errors_are_not_retried_and_never_show_the_token() {
        let server = scripted_github(vec![(
            403,
            vec![("x-accepted-github-permissions", "contents=read".into())],
            r#"{"message":"Resource not accessible by integration"}"#,
        )])
        .await;
        let token = "ghs_permissiontoken0000000001";
        let (client, slept) = client_for(&server, token);
        let err = client.repository("octo-org", "private-repo").await.unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::Usage);
        assert!(err.to_string().contains("`contents=read`"), "{err}");
        assert!(!err.to_string().contains(token));
        assert_eq!(server.hits.load(Ordering::SeqCst), 1);
        assert!(slept.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn missing_resources_are_optional() {
        let server = scripted_github(vec![(404, vec![], r#"{"message":"Not Found"}"#)]).await;
        let (client, _) = client_for(&server, "ghs_optionaltoken000000000001");
        let found: Option<RepositoryInfo> = client.get_optional("/repos/octo-org/gone").await.unwrap();
        assert_eq!(found, None);
        let err = client.repository("octo-org", "gone").await.unwrap_err();
        assert!(err.to_string().contains("(404)"), "{err}");
    }

    #[tokio::test]
    async fn connection_failures_are_external_after_retries() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let slept = Arc::new(Mutex::new(Vec::new()));
        let recorder = slept.clone();
        let client = GitHubClient::new(GitHubSettings {
            api_url: format!("http://127.0.0.1:{port}"),
            token: None,
            timeout: Duration::from_secs(5),
            retry: RetryPolicy::with_sleeper(move |duration| {
                recorder.lock().unwrap().push(duration);
                async {}
            }),
        })
        .unwrap();
        let err = client.request(Method::GET, "/rate_limit", None).await.unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::External);
        let message = err.to_string();
        assert!(message.starts_with("GitHub API GET /rate_limit: "), "{message}");
        assert!(message.ends_with("after 4 attempts"), "{message}");
        assert_eq!(slept.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn invalid_names_are_rejected_before_any_request() {
        let server = scripted_github(vec![(200, vec![], REPO)]).await;
        let (client, _) = client_for(&server, "ghs_invalidnames0000000000001");
        let err = client.repository("octo-org", "../../user").await.unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::Usage);
        assert_eq!(server.hits.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn upload_urls_expand_as_rfc_6570_templates() {
        let template = "https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}";
        assert_eq!(
            expand_upload_url(template, "shipgate-x86_64-linux.tar.gz", None).unwrap(),
            "https://uploads.github.com/repos/o/r/releases/1/assets?name=shipgate-x86_64-linux.tar.gz"
        );
        assert_eq!(
            expand_upload_url(template, "notes & sums+1.txt", Some("Checksums (SHA-256)")).unwrap(),
            "https://uploads.github.com/repos/o/r/releases/1/assets?name=notes%20%26%20sums%2B1.txt&label=Checksums%20%28SHA-256%29"
        );
        let err = expand_upload_url("https://uploads.github.com/repos/o/r/releases/1/assets", "a", None).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::External);
        assert!(err.to_string().contains("no `name` parameter"), "{err}");
        assert!(expand_upload_url("https://x/{?name", "a", None).is_err());
    }

    #[test]
    fn tokens_only_go_to_the_apis_own_upload_hosts() {
        let uri = |text: &str| text.parse::<http::Uri>().unwrap();
        let allowed = [
            (
                "https://api.github.com",
                "https://uploads.github.com/repos/o/r/releases/1/assets",
            ),
            (
                "https://api.acme.ghe.com",
                "https://uploads.acme.ghe.com/repos/o/r/releases/1/assets",
            ),
            (
                "https://ghe.example.com/api/v3",
                "https://ghe.example.com/api/uploads/repos/o/r/releases/1/assets",
            ),
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/repos/o/r/releases/1/assets",
            ),
        ];
        for (api, upload) in allowed {
            assert!(is_upload_host_of(&uri(api), &uri(upload)), "{api} {upload}");
        }
        let refused = [
            (
                "https://api.github.com",
                "https://uploads.evil.example/repos/o/r/releases/1/assets",
            ),
            (
                "https://api.github.com",
                "http://uploads.github.com/repos/o/r/releases/1/assets",
            ),
            ("https://api.github.com", "https://uploads.github.com:8443/assets"),
            (
                "https://ghe.example.com/api/v3",
                "http://ghe.example.com/api/uploads/assets",
            ),
            ("http://127.0.0.1:8080", "http://127.0.0.1:9090/assets"),
        ];
        for (api, upload) in refused {
            assert!(!is_upload_host_of(&uri(api), &uri(upload)), "{api} {upload}");
        }
    }

    /// What the upload stand-in saw of one request.
    #[derive(Debug, Clone)]
    struct SeenUpload {
        path_and_query: String,
        content_type: String,
        authorization: String,
        body: Vec<u8>,
    }

    /// Answers uploads with 502 `failures` times, then 201 and an asset.
    async fn upload_server(failures: usize) -> (String, Arc<Mutex<Vec<SeenUpload>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorder = seen.clone();
        let router = Router::new().route(
            "/{*path}",
            any(
                move |uri: axum::http::Uri, headers: AxumHeaders, body: axum::body::Bytes| {
                    let recorder = recorder.clone();
                    async move {
                        let header = |name: &str| {
                            headers
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned()
                        };
                        let count = {
                            let mut seen = recorder.lock().unwrap();
                            seen.push(SeenUpload {
                                path_and_query: uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
                                content_type: header("content-type"),
                                authorization: header("authorization"),
                                body: body.to_vec(),
                            });
                            seen.len()
                        };
                        if count <= failures {
                            return (axum::http::StatusCode::BAD_GATEWAY, "bad gateway".to_owned());
                        }
                        let asset = serde_json::json!({
                            "id": 7, "name": "app.tar.gz", "size": body.len(), "state": "uploaded",
                            "browser_download_url": "https://github.com/o/r/releases/download/v1.0.0/app.tar.gz",
                        });
                        (axum::http::StatusCode::CREATED, asset.to_string())
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (url, seen)
    }

    fn upload_client(api_url: &str, token: &str) -> GitHubClient {
        GitHubClient::new(GitHubSettings {
            api_url: api_url.to_owned(),
            token: Some(Secret::new(token)),
            timeout: Duration::from_secs(5),
            retry: RetryPolicy::with_sleeper(|_| async {}),
        })
        .unwrap()
    }

    #[tokio::test]
    async fn assets_are_uploaded_as_octet_streams_to_the_upload_url_and_retried() {
        let (url, seen) = upload_server(1).await;
        let token = "ghs_uploadtesttoken00000000001";
        // The API URL carries a path, as on GitHub Enterprise Server: the
        // upload must go to the upload URL exactly, not under `/api/v3`.
        let client = upload_client(&format!("{url}/api/v3"), token);
        let upload_url = format!("{url}/api/uploads/repos/o/r/releases/1/assets{{?name,label}}");
        let content = Bytes::from_static(b"\x00\x01binary\xff");
        let asset = client
            .upload_release_asset(&upload_url, "app.tar.gz", content.clone())
            .await
            .unwrap();
        assert_eq!(asset.id, 7);
        assert_eq!(asset.size, content.len() as i64);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "the 502 was retried");
        for request in &seen {
            assert_eq!(
                request.path_and_query,
                "/api/uploads/repos/o/r/releases/1/assets?name=app.tar.gz"
            );
            assert_eq!(request.content_type, "application/octet-stream");
            assert_eq!(request.authorization, format!("Bearer {token}"));
            assert_eq!(request.body, content.to_vec());
        }
    }

    #[tokio::test]
    async fn uploads_to_a_foreign_host_are_refused_before_sending() {
        let (url, seen) = upload_server(0).await;
        let client = upload_client("https://api.github.com", "ghs_foreignhosttoken000000001");
        let err = client
            .upload_release_asset(&format!("{url}/assets{{?name}}"), "a.txt", Bytes::from_static(b"a"))
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::External);
        assert!(err.to_string().contains("not sending the token there"), "{err}");
        assert!(seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn no_content_decodes_as_unit() {
        let server = scripted_github(vec![(204, vec![], "")]).await;
        let (client, _) = client_for(&server, "ghs_nocontenttoken00000000001");
        client
            .request_json::<()>(Method::DELETE, "/repos/o/r/git/refs/tags/v1", None)
            .await
            .unwrap();
        assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    }
}
