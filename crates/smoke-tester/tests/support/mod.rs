//! Misbehaving local services for the smoke-tester tests: a real axum
//! server on 127.0.0.1 or ::1, a raw socket that streams an endless body,
//! and TLS servers (certificates from `shipgate_testkit::tls`).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The seed 000 health document.
pub fn healthy_document() -> serde_json::Value {
    json!({"status": "healthy", "database": "connected", "redis": "connected", "version": "1.2.0"})
}

/// A background tokio runtime holding the servers of one test.
pub struct Servers {
    runtime: tokio::runtime::Runtime,
}

impl Default for Servers {
    fn default() -> Self {
        Servers::new()
    }
}

#[derive(Clone, Default)]
struct Counters {
    flap: Arc<AtomicUsize>,
    pattern: Arc<AtomicUsize>,
    every_fifth_slow: Arc<AtomicUsize>,
}

impl Servers {
    pub fn new() -> Self {
        Servers {
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("test runtime"),
        }
    }

    /// The fault service on `bind` (`127.0.0.1:0` or `[::1]:0`); returns its base URL.
    pub fn service(&self, bind: &str) -> String {
        let address = self.bind_router(bind, service_router());
        format!("http://{address}")
    }

    /// The fault service on a port chosen now but bound only after `delay`
    /// (connection refused until then).
    pub fn service_later(&self, delay: Duration) -> String {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("address")
            .port();
        self.runtime.spawn(async move {
            tokio::time::sleep(delay).await;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .expect("bind the late service");
            axum::serve(listener, service_router()).await.expect("serve");
        });
        format!("http://127.0.0.1:{port}")
    }

    fn bind_router(&self, bind: &str, router: Router) -> SocketAddr {
        let bind = bind.to_owned();
        self.runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(&bind)
                .await
                .unwrap_or_else(|e| panic!("cannot bind {bind}: {e}"));
            let address = listener.local_addr().expect("address");
            tokio::spawn(async move {
                axum::serve(listener, router).await.expect("serve");
            });
            address
        })
    }

    /// A raw server that announces a 100 MB body and streams zeros until the client hangs up.
    pub fn huge_body(&self) -> String {
        let listener = self
            .runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let address = listener.local_addr().expect("address");
        self.runtime.spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    read_request_head(&mut socket).await;
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 104857600\r\n\r\n";
                    if socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    let chunk = vec![b' '; 64 * 1024];
                    for _ in 0..1600 {
                        if socket.write_all(&chunk).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        format!("http://{address}")
    }

    /// An HTTPS server answering every request with the seed health JSON,
    /// using `certificate` (chain PEM) and `key` (PEM).
    pub fn tls(&self, certificate_pem: &str, key_pem: &str) -> String {
        let certificates: Vec<rustls::pki_types::CertificateDer<'static>> =
            rustls::pki_types::pem::PemObject::pem_slice_iter(certificate_pem.as_bytes())
                .collect::<Result<_, _>>()
                .expect("certificate PEM");
        let key = <rustls::pki_types::PrivateKeyDer<'static> as rustls::pki_types::pem::PemObject>::from_pem_slice(
            key_pem.as_bytes(),
        )
        .expect("key PEM");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(certificates, key)
            .expect("server certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = self
            .runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        self.runtime.spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut stream) = acceptor.accept(socket).await else {
                        return;
                    };
                    read_request_head(&mut stream).await;
                    let body = healthy_document().to_string();
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        format!("https://localhost:{port}")
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

async fn read_request_head<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < 64 * 1024 {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => seen.extend_from_slice(&buffer[..read]),
        }
    }
}

// ---------------------------------------------------------------------------
// The fault service

fn service_router() -> Router {
    let counters = Counters::default();
    Router::new()
        .route("/", get(|| async { Html("<html><head><title>VibeLog</title></head><body><h1>Welcome to VibeLog</h1></body></html>") }))
        .route("/health", get(|| async { axum::Json(healthy_document()) }))
        .route("/ready", get(|| async { "ready" }))
        .route(
            "/health/unhealthy",
            get(|| async { axum::Json(json!({"status": "unhealthy", "database": "disconnected"})) }),
        )
        .route(
            "/health/detailed",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    axum::Json(json!({"status": "unhealthy", "services": {"database": {"status": "down", "error": "connection refused"}}})),
                )
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .route("/invalid-json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], "{\"status\": healthy") }))
        .route("/flap", get(flap))
        .route("/pattern", get(pattern))
        .route("/slow-pattern", get(slow_pattern))
        .route("/loop-a", get(|| async { Redirect::temporary("/loop-b") }))
        .route("/loop-b", get(|| async { Redirect::temporary("/loop-a") }))
        .route("/moved", get(|| async { Redirect::permanent("/health") }))
        .route("/echo-headers", get(echo_headers))
        .route("/login", post(login))
        .route("/me", get(me))
        .with_state(counters)
}

/// 503, 200, 503, 200, ...
async fn flap(State(counters): State<Counters>) -> Response {
    if counters.flap.fetch_add(1, Ordering::SeqCst) % 2 == 0 {
        (StatusCode::SERVICE_UNAVAILABLE, "flapping").into_response()
    } else {
        axum::Json(healthy_document()).into_response()
    }
}

/// Every 10th request (the 10th, 20th, ...) is a 503: a 10% error rate.
async fn pattern(State(counters): State<Counters>) -> Response {
    if (counters.pattern.fetch_add(1, Ordering::SeqCst) + 1) % 10 == 0 {
        (StatusCode::SERVICE_UNAVAILABLE, "down").into_response()
    } else {
        axum::Json(healthy_document()).into_response()
    }
}

/// Every 5th request takes 300 ms: p95 is slow while the error rate stays 0.
async fn slow_pattern(State(counters): State<Counters>) -> Response {
    if (counters.every_fifth_slow.fetch_add(1, Ordering::SeqCst) + 1) % 5 == 0 {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    axum::Json(healthy_document()).into_response()
}

async fn echo_headers(headers: HeaderMap) -> Response {
    let echoed: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), json!(String::from_utf8_lossy(value.as_bytes()))))
        .collect();
    axum::Json(serde_json::Value::Object(echoed)).into_response()
}

async fn login(body: String) -> Response {
    let request: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    if request["user"] == "smoke" {
        axum::Json(json!({"token": "session-token-from-login-77", "user_id": 42})).into_response()
    } else {
        (StatusCode::UNAUTHORIZED, "who?").into_response()
    }
}

async fn me(headers: HeaderMap) -> Response {
    match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some("Bearer session-token-from-login-77") => axum::Json(json!({"id": 42, "name": "smoke"})).into_response(),
        _ => (StatusCode::UNAUTHORIZED, "missing or wrong token").into_response(),
    }
}

// ---------------------------------------------------------------------------
// Running the binary

/// Runs smoke-tester with `args` in `dir`, isolated
/// ([`shipgate_testkit::cli::isolate`]): outside GitHub Actions unless `env` says so.
pub fn smoke_tester(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    shipgate_testkit::cli::run(env!("CARGO_BIN_EXE_smoke-tester"), dir, args, env)
}

/// smoke-tester in `dir`, isolated, for a test that spawns it itself.
pub fn smoke_tester_command(dir: &Path) -> std::process::Command {
    shipgate_testkit::cli::command(env!("CARGO_BIN_EXE_smoke-tester"), dir)
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Everything the process printed, for failure messages and leak checks.
pub fn all_output(output: &Output) -> String {
    format!("{}{}", stdout(output), stderr(output))
}

pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}
