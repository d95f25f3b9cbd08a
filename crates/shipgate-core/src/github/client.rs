//! [`GitHubClient`]: every API request, with the shared retry policy.

use std::future::Future;
use std::time::Duration;

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

use super::{
    ApiResponse, GitHubSettings, MAX_CONNECT_TIMEOUT, RepositoryInfo, innermost_message, redact_error, shown_request,
};
use crate::actions::{Secret, redact};
use crate::exit::{Error, Result};
use crate::http::{install_crypto_provider, status_text};
use crate::retry::{GaveUp, GiveUpReason, Outcome, RetryPolicy, Verdict, attempts_text, judge};

/// The GitHub client every tool shares.
pub struct GitHubClient {
    octocrab: octocrab::Octocrab,
    pub(super) api_url: String,
    /// Kept for uploads, which go to another host through a client of
    /// their own (see [`GitHubClient::upload_release_asset`]).
    pub(super) token: Option<Secret>,
    pub(super) timeout: Duration,
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

    /// Every request's attempts, through the shared retry loop: `send`
    /// makes one attempt, each under `timeout`.
    pub(super) async fn send_with_retries<F, Fut>(
        &self,
        shown: &str,
        timeout: Duration,
        mut send: F,
    ) -> Result<ApiResponse>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<ApiResponse, SendError>>,
    {
        let attempt = || {
            let sent = tokio::time::timeout(timeout, send());
            async move {
                match sent.await {
                    Ok(answer) => answer,
                    Err(_) => Err(SendError::Transport(format!(
                        "timed out after {}s",
                        timeout.as_secs_f32()
                    ))),
                }
            }
        };
        let verdict = |last: &std::result::Result<ApiResponse, SendError>| match last {
            Ok(response) if response.status.is_success() || response.status.is_redirection() => Verdict::Final,
            Ok(response) => judge(Outcome::Response {
                status: response.status,
                headers: &response.headers,
                body: Some(&String::from_utf8_lossy(&response.body)),
            }),
            Err(SendError::Invalid(_)) => Verdict::Final,
            Err(SendError::Transport(_)) => Verdict::Transient { wait: None },
        };
        match self.retry.run(attempt, verdict).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(SendError::Invalid(reason))) => {
                Err(Error::usage(format!("invalid GitHub API request {shown}: {reason}")))
            }
            // A transport failure is never final, so it only ends the loop as a give-up.
            Ok(Err(SendError::Transport(reason))) => Err(Error::external(format!("GitHub API {shown}: {reason}"))),
            Err(GaveUp { last, attempts, reason }) => Err(match (last, reason) {
                (Err(SendError::Invalid(reason)), _) => {
                    Error::usage(format!("invalid GitHub API request {shown}: {reason}"))
                }
                (Err(SendError::Transport(reason)), _) => Error::external(format!(
                    "GitHub API {shown}: {reason} after {}",
                    attempts_text(attempts)
                )),
                (Ok(response), GiveUpReason::WaitTooLong(wait)) => Error::external(format!(
                    "GitHub API {shown}: rate limited ({}); GitHub asked to wait {}s, longer than the {}s limit; try again later",
                    status_text(response.status),
                    wait.as_secs(),
                    self.retry.max_retry_after.as_secs()
                )),
                (Ok(response), _) => {
                    let said = response
                        .github_message()
                        .map(|message| format!(" ({message})"))
                        .unwrap_or_default();
                    redact_error(Error::external(format!(
                        "GitHub API {shown}: {} after {}{said}",
                        status_text(response.status),
                        attempts_text(attempts)
                    )))
                }
            }),
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

pub(super) enum SendError {
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
pub(super) async fn collect_response(
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

pub(super) fn decode<T: DeserializeOwned>(response: &ApiResponse, shown: &str) -> Result<T> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::http::HeaderMap as AxumHeaders;
    use axum::routing::any;

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
