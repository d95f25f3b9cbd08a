//! Release assets: uploads go to GitHub's upload host, not the API host,
//! through a client of their own.

use std::time::Duration;

use bytes::Bytes;
use http::Method;

use super::client::{SendError, collect_response, decode};
use super::{API_VERSION, GitHubClient, MAX_CONNECT_TIMEOUT, ReleaseAsset, innermost_message, shown_request};
use crate::exit::{Error, Result};

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::http::HeaderMap as AxumHeaders;
    use axum::routing::any;

    use crate::actions::Secret;
    use crate::github::GitHubSettings;
    use crate::retry::RetryPolicy;

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
}
