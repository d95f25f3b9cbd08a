//! Contract harness: Prism serving GitHub's official OpenAPI description.
//!
//! Every GitHub endpoint a tool calls is exercised once against
//! `prism mock --errors --dynamic`. Prism validates each request against the
//! spec; a request violation (reported as a 4xx, or in the `sl-violations`
//! header) means our request does not match what GitHub documents.
//!
//! Tests point the code under test at a [`ContractSession`], a recording proxy
//! in front of Prism, and finish with [`ContractSession::assert_conforms`]. The
//! proxy papers over two Prism quirks that are not about our requests:
//! GitHub's `application/vnd.github+json` media types are not in the spec, so
//! Prism would answer 406 (the proxy asks for `application/json`), and a
//! generated response occasionally fails the spec's own schema, which Prism
//! reports as a 500 (the proxy retries those).
//!
//! Clients can still steer Prism per request with its `Prefer` header, e.g.
//! `Prefer: code=404` or `Prefer: dynamic=false`.

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;

use crate::server::{BackgroundServer, http_client};
use crate::tools;

/// How long Prism may take to load the ~10 MB description.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
const OUTPUT_TAIL_LINES: usize = 60;
/// Retries for 5xx answers caused only by Prism's generated response.
const RESPONSE_VIOLATION_RETRIES: usize = 8;
const MAX_BODY: usize = 64 * 1024 * 1024;

/// A running `prism mock` of api.github.com.
pub struct Prism {
    url: String,
    child: Child,
    output: Arc<Mutex<VecDeque<String>>>,
}

impl std::fmt::Debug for Prism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prism").field("url", &self.url).finish()
    }
}

/// A contract session on this test binary's shared Prism, for tests where a
/// Prism that cannot start is a failure (with its output), never a skip.
pub fn contract_session() -> ContractSession {
    Prism::shared()
        .unwrap_or_else(|error| panic!("{error:#}"))
        .session()
        .expect("contract proxy starts")
}

impl Prism {
    /// Starts a private instance; it is stopped when dropped.
    pub fn start() -> anyhow::Result<Prism> {
        let prism = tools::find_tool("prism")?;
        let spec = tools::github_openapi_spec()?;
        // The port is probed then released; if Prism loses the race it dies
        // with EADDRINUSE and one retry on a fresh port covers it.
        let mut last_error = None;
        for _ in 0..2 {
            match Self::spawn(&prism, &spec) {
                Ok(instance) => return Ok(instance),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("at least one attempt ran"))
    }

    /// The instance shared by every test in this test binary, started on first use.
    pub fn shared() -> anyhow::Result<&'static Prism> {
        static SHARED: OnceLock<Result<Prism, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| Prism::start().map_err(|error| format!("{error:#}")))
            .as_ref()
            .map_err(|error| anyhow::anyhow!("{error}"))
    }

    /// Base URL of the mock itself (no proxy, no recording).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A fresh recording proxy in front of this instance.
    pub fn session(&self) -> anyhow::Result<ContractSession> {
        ContractSession::start(self.url.clone())
    }

    /// The last lines Prism printed, for diagnostics.
    pub fn output_tail(&self) -> String {
        lock(&self.output).iter().cloned().collect::<Vec<_>>().join("\n")
    }

    fn spawn(prism: &std::path::Path, spec: &std::path::Path) -> anyhow::Result<Prism> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = Command::new("sh");
        command
            .args(["-c", tools::WATCHDOG, "prism-watchdog"])
            .arg(std::process::id().to_string())
            .arg(prism)
            .arg("mock")
            .arg(spec)
            .args(["--errors", "--dynamic", "-h", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group, so Drop can stop the wrapper and Prism together.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().context("spawning prism")?;
        let output = Arc::new(Mutex::new(VecDeque::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let output = Arc::clone(&output);
            let ready_tx = ready_tx.clone();
            // Prism prints one line per route at startup; the pipe must be
            // drained continuously or it blocks once the buffer fills.
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("Prism is listening on") {
                        let _ = ready_tx.send(());
                    }
                    let mut tail = lock(&output);
                    if tail.len() == OUTPUT_TAIL_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line.chars().take(400).collect());
                }
            });
        }
        drop(ready_tx);
        let mut instance = Prism {
            url: format!("http://127.0.0.1:{port}"),
            child,
            output,
        };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            match ready_rx.recv_timeout(Duration::from_millis(250)) {
                Ok(()) => break,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    // Both pipes closed: the mock is gone. Give the reader a
                    // moment to store the last lines, then report them.
                    std::thread::sleep(Duration::from_millis(100));
                    bail!("prism exited during startup:\n{}", instance.output_tail());
                }
            }
            if let Some(status) = instance.child.try_wait()? {
                std::thread::sleep(Duration::from_millis(100));
                bail!("prism exited during startup ({status}):\n{}", instance.output_tail());
            }
            if Instant::now() > deadline {
                bail!(
                    "prism did not listen within {}s:\n{}",
                    STARTUP_TIMEOUT.as_secs(),
                    instance.output_tail()
                );
            }
        }
        // The log line can precede the socket by a moment.
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("prism announced readiness but port {port} refuses connections");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(instance)
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        tools::stop_process_group(&mut self.child);
    }
}

/// One request that went through a [`ContractSession`], with Prism's verdict.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// HTTP method.
    pub method: String,
    /// Path and query as sent.
    pub path: String,
    /// The request body, if any.
    pub request_body: Vec<u8>,
    /// The status returned to the client.
    pub status: u16,
    /// Prism's complaints about the request (`location` starts with "request").
    pub request_violations: Vec<String>,
    /// Prism's problem title for errors it generated itself (no route, 406, ...).
    pub prism_problem: Option<String>,
    /// The status the client asked Prism for with `Prefer: code=...`.
    pub requested_status: Option<u16>,
}

impl Exchange {
    /// Why this exchange shows our request breaking GitHub's spec, if it does.
    pub fn violation(&self) -> Option<String> {
        let call = format!("{} {}", self.method, self.path);
        if !self.request_violations.is_empty() {
            return Some(format!(
                "{call} violates GitHub's OpenAPI description: {}",
                self.request_violations.join("; ")
            ));
        }
        let asked_for_it = self.requested_status == Some(self.status);
        if (400..500).contains(&self.status) && !asked_for_it {
            let detail = self.prism_problem.as_deref().unwrap_or("no detail");
            return Some(format!("{call}: Prism answered {} ({detail})", self.status));
        }
        None
    }
}

/// A recording proxy in front of Prism; give its [`url`](Self::url) to the
/// code under test as the GitHub API URL.
pub struct ContractSession {
    server: BackgroundServer,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
}

impl std::fmt::Debug for ContractSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContractSession")
            .field("url", &self.server.url())
            .finish()
    }
}

#[derive(Clone)]
struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
}

#[derive(Deserialize)]
struct Violation {
    #[serde(default)]
    location: Vec<serde_json::Value>,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    message: String,
}

impl ContractSession {
    fn start(upstream: String) -> anyhow::Result<ContractSession> {
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let state = ProxyState {
            upstream,
            client: http_client()?,
            exchanges: Arc::clone(&exchanges),
        };
        let router = Router::new().fallback(forward).with_state(state);
        Ok(ContractSession {
            server: BackgroundServer::serve(router)?,
            exchanges,
        })
    }

    /// Base URL to use as the GitHub API URL.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Everything that went through so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        lock(&self.exchanges).clone()
    }

    /// Every spec violation seen so far.
    pub fn violations(&self) -> Vec<String> {
        lock(&self.exchanges).iter().filter_map(Exchange::violation).collect()
    }

    /// Panics unless at least one request went through and none broke the spec.
    pub fn assert_conforms(&self) {
        let exchanges = self.exchanges();
        assert!(
            !exchanges.is_empty(),
            "no request reached Prism: the contract test exercised nothing"
        );
        let violations = self.violations();
        assert!(
            violations.is_empty(),
            "requests violate GitHub's OpenAPI description:\n{}",
            violations.join("\n")
        );
    }
}

async fn forward(State(proxy): State<ProxyState>, request: Request) -> Response {
    match forward_checked(&proxy, request).await {
        Ok(response) => response,
        Err(error) => (
            StatusCode::BAD_GATEWAY,
            format!("contract proxy could not reach prism: {error:#}"),
        )
            .into_response(),
    }
}

async fn forward_checked(proxy: &ProxyState, request: Request) -> anyhow::Result<Response> {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, MAX_BODY).await?;
    let path = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    let requested_status = parts
        .headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|pref| pref.trim().strip_prefix("code=")?.trim().parse().ok());

    let mut headers = parts.headers.clone();
    for hop in [header::HOST, header::CONTENT_LENGTH, header::CONNECTION] {
        headers.remove(hop);
    }
    let wants_github_media_type = headers
        .get_all(header::ACCEPT)
        .iter()
        .any(|value| value.to_str().is_ok_and(|v| v.contains("application/vnd.github")));
    if wants_github_media_type {
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    }

    let mut attempt = 0;
    let (status, response_headers, response_body, request_violations) = loop {
        attempt += 1;
        let upstream = proxy
            .client
            .request(parts.method.clone(), format!("{}{path}", proxy.upstream))
            .headers(headers.clone())
            .body(body.clone())
            .send()
            .await?;
        let status = upstream.status();
        let response_headers = upstream.headers().clone();
        let response_body = upstream.bytes().await?;
        let violations: Vec<Violation> = response_headers
            .get("sl-violations")
            .and_then(|value| serde_json::from_slice(value.as_bytes()).ok())
            .unwrap_or_default();
        let (request_side, response_side): (Vec<_>, Vec<_>) = violations
            .into_iter()
            .filter(|v| v.severity.eq_ignore_ascii_case("error"))
            .partition(|v| v.location.first().and_then(|l| l.as_str()) == Some("request"));
        let only_prism_generated_badly =
            status.is_server_error() && request_side.is_empty() && !response_side.is_empty();
        if only_prism_generated_badly && attempt <= RESPONSE_VIOLATION_RETRIES {
            continue;
        }
        let request_violations: Vec<String> = request_side
            .iter()
            .map(|v| {
                let location: Vec<String> = v
                    .location
                    .iter()
                    .map(|l| l.as_str().map(str::to_string).unwrap_or_else(|| l.to_string()))
                    .collect();
                format!("{} ({})", v.message, location.join("."))
            })
            .collect();
        break (status, response_headers, response_body, request_violations);
    };

    let prism_problem = if response_headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
    {
        serde_json::from_slice::<serde_json::Value>(&response_body)
            .ok()
            .map(|problem| {
                format!(
                    "{}: {}",
                    problem["title"].as_str().unwrap_or("?"),
                    problem["detail"].as_str().unwrap_or("")
                )
            })
    } else {
        None
    };
    // When the request is invalid Prism may still answer 500 because its
    // generated 422 body breaks the schema; the client should see the 422.
    let status = if status.is_server_error() && !request_violations.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        status
    };
    lock(&proxy.exchanges).push(Exchange {
        method: parts.method.to_string(),
        path,
        request_body: body.to_vec(),
        status: status.as_u16(),
        request_violations,
        prism_problem,
        requested_status,
    });

    let mut response = Response::builder().status(status);
    for (name, value) in &response_headers {
        if name != header::TRANSFER_ENCODING && name != header::CONTENT_LENGTH && name != header::CONNECTION {
            response = response.header(name, value);
        }
    }
    Ok(response.body(Body::from(response_body))?)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
