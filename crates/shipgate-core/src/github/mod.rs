//! GitHub REST client on octocrab, with shipgate's retry policy and error
//! classification.
//!
//! Requests go through octocrab's raw `_get`/`_post`/... methods so status
//! and headers stay visible: the retry policy needs `retry-after` and the
//! rate-limit headers, and error messages need
//! `x-accepted-github-permissions`.
//!
//! This module holds the settings, the answer type and how an answer
//! becomes an error; `client` sends requests and `upload` sends release
//! assets to GitHub's upload host.

mod client;
mod upload;

use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};
use serde::Deserialize;

use crate::actions::{Runtime, Secret, redact};
use crate::exit::Error;
use crate::http::status_text;
use crate::retry::RetryPolicy;

pub use client::GitHubClient;
pub use upload::expand_upload_url;

/// The public GitHub API.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// Connecting should be quick even when a request may take long.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach GitHub.
#[derive(Debug, Clone)]
pub struct GitHubSettings {
    /// Base URL of the REST API, e.g. `https://ghe.example.com/api/v3`.
    pub api_url: String,
    /// The API token, masked at once; `None` sends requests unauthenticated.
    pub token: Option<Secret>,
    /// Limit for one attempt of one request.
    pub timeout: Duration,
    /// How failed attempts are retried.
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
    /// The default branch's name, e.g. `main`.
    pub default_branch: String,
    /// GitHub's `private` flag: true unless the repository is public.
    pub private: bool,
}

/// A release asset as GitHub returns it (the fields shipgate uses).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReleaseAsset {
    /// Signed because GitHub's description only says "integer".
    pub id: i64,
    /// The asset's file name.
    pub name: String,
    /// Size in bytes.
    pub size: i64,
    /// The URL a browser downloads the asset from.
    pub browser_download_url: String,
    /// `uploaded`, or `open` for an upload that never finished.
    #[serde(default)]
    pub state: String,
}

/// The REST API version the raw requests ask for, as octocrab's own do.
const API_VERSION: &str = "2022-11-28";

/// A GitHub answer after retries, before any status handling.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// The last attempt's HTTP status.
    pub status: StatusCode,
    /// The last attempt's headers (rate limits, `x-accepted-github-permissions`).
    pub headers: HeaderMap,
    /// The last attempt's raw body.
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
    error.map_message(|text| redact(text).into_owned())
}

/// `GET /repos/o/r` without any query string (which may carry secrets).
fn shown_request(method: &Method, path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    format!("{method} {}", redact(path))
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
}
