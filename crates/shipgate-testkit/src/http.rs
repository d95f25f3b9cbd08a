//! Local HTTP servers on 127.0.0.1 and a blocking client to poke them.
//!
//! [`StaticServer`] serves a directory (release archives for the install
//! script); [`ScriptedServer`] answers each route from a queue of canned
//! responses and records every request (retries, webhooks, health checks).

use std::collections::{BTreeMap, VecDeque};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse as _, Response};

use crate::server::{BackgroundServer, block_on, http_client};

const MAX_BODY: usize = 64 * 1024 * 1024;

/// A request as a local server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// Upper-case HTTP method.
    pub method: String,
    /// Percent-encoded path, without the query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Header names are lower-case.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of a header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as (lossy) UTF-8.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn body_json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("request body is not JSON")
    }

    async fn capture(request: Request) -> anyhow::Result<RecordedRequest> {
        let (parts, body) = request.into_parts();
        let body = to_bytes(body, MAX_BODY).await?;
        Ok(RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
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
            body: body.to_vec(),
        })
    }
}

/// Serves the files under a directory: `GET /a/b.tar.gz` reads `<root>/a/b.tar.gz`.
pub struct StaticServer {
    server: BackgroundServer,
    requested: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for StaticServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticServer").field("url", &self.server.url()).finish()
    }
}

#[derive(Clone)]
struct StaticState {
    root: PathBuf,
    requested: Arc<Mutex<Vec<String>>>,
}

impl StaticServer {
    /// Starts serving `root`. Panics if no local port can be bound.
    pub fn start(root: impl Into<PathBuf>) -> StaticServer {
        let requested = Arc::new(Mutex::new(Vec::new()));
        let state = StaticState {
            root: root.into(),
            requested: Arc::clone(&requested),
        };
        let router = Router::new().fallback(serve_file).with_state(state);
        StaticServer {
            server: BackgroundServer::serve(router).expect("starting the static file server"),
            requested,
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Every requested path, in order, including those answered 404.
    pub fn requested_paths(&self) -> Vec<String> {
        lock(&self.requested).clone()
    }
}

async fn serve_file(State(state): State<StaticState>, method: Method, request: Request) -> Response {
    let path = request.uri().path().to_string();
    lock(&state.requested).push(path.clone());
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let Some(file) = resolve_under(&state.root, &path) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    match tokio::fs::read(&file).await {
        Ok(contents) => {
            let length = contents.len();
            let body = if method == Method::HEAD {
                Body::empty()
            } else {
                Body::from(contents)
            };
            Response::builder()
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .header(header::CONTENT_LENGTH, length)
                .body(body)
                .expect("static response headers are valid")
        }
        Err(_) => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

/// Maps a URL path to a file under `root`, refusing anything that escapes it.
fn resolve_under(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(url_path.trim_start_matches('/'))
        .decode_utf8()
        .ok()?;
    let relative = Path::new(decoded.as_ref());
    if relative
        .components()
        .any(|component| !matches!(component, Component::Normal(_)))
    {
        return None;
    }
    let file = root.join(relative);
    file.is_file().then_some(file)
}

/// A canned HTTP response for [`ScriptedServer`].
#[derive(Debug, Clone)]
pub struct CannedResponse {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// How long to wait before answering (for timeout tests).
    pub delay: Duration,
}

impl CannedResponse {
    /// An empty response with this status.
    pub fn status(status: u16) -> CannedResponse {
        CannedResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    /// A `text/plain` response.
    pub fn text(status: u16, body: impl Into<String>) -> CannedResponse {
        CannedResponse::status(status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(body.into().into_bytes())
    }

    /// An `application/json` response.
    pub fn json(status: u16, body: &serde_json::Value) -> CannedResponse {
        CannedResponse::status(status)
            .header("content-type", "application/json")
            .body(body.to_string().into_bytes())
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> CannedResponse {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Replaces the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> CannedResponse {
        self.body = body.into();
        self
    }

    /// Answers only after `delay`.
    pub fn delayed(mut self, delay: Duration) -> CannedResponse {
        self.delay = delay;
        self
    }

    fn into_response(self) -> Response {
        let mut response = Response::builder().status(self.status);
        for (name, value) in &self.headers {
            match (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                (Ok(name), Ok(value)) => response = response.header(name, value),
                _ => panic!("invalid canned header {name}: {value}"),
            }
        }
        response
            .body(Body::from(self.body))
            .unwrap_or_else(|error| panic!("invalid canned response: {error}"))
    }
}

#[derive(Default)]
struct Script {
    /// Keyed by (METHOD, path): answers consumed front to back.
    queued: BTreeMap<(String, String), VecDeque<CannedResponse>>,
    /// Served once a route's queue is empty.
    fallback: BTreeMap<(String, String), CannedResponse>,
    requests: Vec<RecordedRequest>,
}

/// Answers each `(method, path)` from a queue of canned responses and records
/// every request. Unscripted requests get a 404 naming the route.
pub struct ScriptedServer {
    server: BackgroundServer,
    script: Arc<Mutex<Script>>,
}

impl std::fmt::Debug for ScriptedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedServer")
            .field("url", &self.server.url())
            .finish()
    }
}

impl ScriptedServer {
    /// Starts with an empty script. Panics if no local port can be bound.
    pub fn start() -> ScriptedServer {
        let script = Arc::new(Mutex::new(Script::default()));
        let router = Router::new().fallback(answer_scripted).with_state(Arc::clone(&script));
        ScriptedServer {
            server: BackgroundServer::serve(router).expect("starting the scripted HTTP server"),
            script,
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Queues answers for `method path` (path without query), served in order.
    pub fn enqueue(&self, method: &str, path: &str, responses: impl IntoIterator<Item = CannedResponse>) {
        lock(&self.script)
            .queued
            .entry((method.to_ascii_uppercase(), path.to_string()))
            .or_default()
            .extend(responses);
    }

    /// The answer for `method path` whenever its queue is empty.
    pub fn always(&self, method: &str, path: &str, response: CannedResponse) {
        lock(&self.script)
            .fallback
            .insert((method.to_ascii_uppercase(), path.to_string()), response);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.script).requests.clone()
    }

    /// The requests received for one route.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<RecordedRequest> {
        lock(&self.script)
            .requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
            .cloned()
            .collect()
    }
}

async fn answer_scripted(State(script): State<Arc<Mutex<Script>>>, request: Request) -> Response {
    let recorded = match RecordedRequest::capture(request).await {
        Ok(recorded) => recorded,
        Err(error) => return (StatusCode::BAD_REQUEST, format!("{error:#}")).into_response(),
    };
    let key = (recorded.method.clone(), recorded.path.clone());
    let canned = {
        let mut script = lock(&script);
        script.requests.push(recorded);
        let queued = script.queued.get_mut(&key).and_then(VecDeque::pop_front);
        queued.or_else(|| script.fallback.get(&key).cloned())
    };
    match canned {
        Some(canned) => {
            if !canned.delay.is_zero() {
                tokio::time::sleep(canned.delay).await;
            }
            canned.into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            format!("no scripted response for {} {}\n", key.0, key.1),
        )
            .into_response(),
    }
}

/// A response read by [`request`].
#[derive(Debug, Clone)]
pub struct FetchedResponse {
    /// Status code.
    pub status: u16,
    /// Header names are lower-case.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl FetchedResponse {
    /// The first value of a header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).with_context(|| format!("response body is not JSON: {}", self.text()))
    }
}

/// Sends one request and waits for the whole response (blocking).
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> anyhow::Result<FetchedResponse> {
    let method = Method::from_bytes(method.as_bytes()).context("invalid HTTP method")?;
    let client = http_client()?;
    let mut builder = client.request(method, url).timeout(Duration::from_secs(60));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    if let Some(body) = body {
        builder = builder.body(body);
    }
    block_on(async move {
        let response = builder.send().await.with_context(|| format!("requesting {url}"))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response.bytes().await?.to_vec();
        Ok(FetchedResponse { status, headers, body })
    })
}

/// `GET url` (blocking).
pub fn get(url: &str) -> anyhow::Result<FetchedResponse> {
    request("GET", url, &[], None)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
