//! A small web app to deploy to: what the deploy workflows smoke-test,
//! canary-compare and watch, on 127.0.0.1.
//!
//! It has the endpoints the seeds' smoke checks look at: a homepage whose
//! `h1` names the product (seed 003), `/health` (also `/health/` and
//! `/api/health`, seeds 000–003) and any `GET /api/...` endpoint. Its
//! "deploy" swaps the running build: `POST /deploy?build=good|bad&version=V`
//! is what an app's deploy script calls, `POST /rollback` brings back the
//! build that ran before the last deploy.
//!
//! A bad build is the kind a quick smoke check lets through: it starts and
//! reports healthy, but every second API request fails with a 500, so
//! retried checks pass while sustained traffic (`watch`, `compare`) shows a
//! 50% error rate on the API.
//!
//! `/metrics` is what a Prometheus scrapes (OpenMetrics text, the format the
//! `prometheus-client` crate writes): `http_requests_total` by `code` and
//! `method`, and the `http_request_duration_seconds` histogram, over every
//! request to the app's pages (not `/metrics`, `/deploy`, `/rollback` or
//! `/faults`). Faults switch at run time, from the test
//! ([`DemoService::set_faults`]) or over HTTP
//! (`POST /faults?error_percent=20&latency_ms=300`): that share of `/api/...`
//! requests answers 500, and every `/api/...` request waits that long first.
//! [`DemoService::traffic`] drives steady `/api/...` traffic for the metrics.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use serde_json::json;

use crate::server::{BackgroundServer, block_on, http_client};

/// Which build the service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// Every endpoint answers as expected.
    Good,
    /// Healthy, but every second `/api/...` request answers 500.
    Bad,
}

impl Build {
    fn parse(name: &str) -> Option<Build> {
        match name {
            "good" => Some(Build::Good),
            "bad" => Some(Build::Bad),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Build::Good => "good",
            Build::Bad => "bad",
        }
    }
}

/// One change of the running build, as the service saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployEvent {
    /// `POST /deploy` switched to this build and version.
    Deployed { build: Build, version: String },
    /// `POST /rollback` went back to this build and version.
    RolledBack { build: Build, version: String },
}

struct Running {
    build: Build,
    version: String,
}

struct DemoState {
    product: String,
    running: Running,
    /// Builds replaced by deploys, newest last: what `/rollback` returns to.
    previous: Vec<Running>,
    events: Vec<DeployEvent>,
    api_requests: u64,
    /// GET requests served, by path.
    served: BTreeMap<String, usize>,
    faults: Faults,
    /// `/api/...` requests since the faults last changed, to spread errors evenly.
    fault_requests: u64,
}

/// Faults injected into `/api/...` on top of the running build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults {
    /// Share of `/api/...` requests that answer 500, spread evenly (0–100).
    pub error_percent: u32,
    /// Added to every `/api/...` response.
    pub latency: Duration,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    code: String,
    method: String,
}

/// The app's request metrics, as a Prometheus client library keeps them.
struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Histogram,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests served", requests.clone());
        // The Prometheus client libraries' default buckets.
        let duration = Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            duration.clone(),
        );
        Metrics {
            registry,
            requests,
            duration,
        }
    }
}

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
}

type Shared = Arc<Mutex<DemoState>>;

/// The demo app on `127.0.0.1:<ephemeral port>`; stops when dropped.
pub struct DemoService {
    server: BackgroundServer,
    state: Shared,
}

/// Steady `/api/...` traffic to a [`DemoService`]; stops when dropped.
pub struct Traffic {
    running: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traffic").finish_non_exhaustive()
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.running.store(false, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for DemoService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoService").field("url", &self.server.url()).finish()
    }
}

impl DemoService {
    /// Starts a good build of `product` at `version`. Panics if no local port
    /// can be bound.
    pub fn start(product: &str, version: &str) -> DemoService {
        let state = Arc::new(Mutex::new(DemoState {
            product: product.to_string(),
            running: Running {
                build: Build::Good,
                version: version.to_string(),
            },
            previous: Vec::new(),
            events: Vec::new(),
            api_requests: 0,
            served: BTreeMap::new(),
            faults: Faults::default(),
            fault_requests: 0,
        }));
        let app = AppState {
            metrics: Arc::new(Metrics::new()),
        };
        let router = Router::new()
            .route("/", get(homepage))
            .route("/health", get(health))
            .route("/health/", get(health))
            .route("/api/health", get(health))
            .route("/api/{*endpoint}", get(api))
            .route_layer(middleware::from_fn_with_state(app.clone(), observe))
            .route("/deploy", post(deploy))
            .route("/rollback", post(rollback))
            .route("/faults", post(set_faults))
            .with_state(Arc::clone(&state))
            .merge(Router::new().route("/metrics", get(metrics)).with_state(app));
        DemoService {
            server: BackgroundServer::serve(router).expect("starting the demo service"),
            state,
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The build running now.
    pub fn build(&self) -> Build {
        lock(&self.state).running.build
    }

    /// The version running now.
    pub fn version(&self) -> String {
        lock(&self.state).running.version.clone()
    }

    /// Every deploy and rollback so far, in order.
    pub fn events(&self) -> Vec<DeployEvent> {
        lock(&self.state).events.clone()
    }

    /// How many GET requests for `path` the service answered.
    pub fn served(&self, path: &str) -> usize {
        lock(&self.state).served.get(path).copied().unwrap_or(0)
    }

    /// Switches the injected faults; the next `/api/...` request sees them.
    pub fn set_faults(&self, faults: Faults) {
        let mut state = lock(&self.state);
        state.faults = faults;
        state.fault_requests = 0;
    }

    /// Sends `GET /api/items` `per_second` times a second from a background
    /// thread until the handle is dropped (one request at a time: a slow
    /// answer slows the traffic rather than piling requests up).
    pub fn traffic(&self, per_second: u32) -> Traffic {
        let running = Arc::new(AtomicBool::new(true));
        let url = format!("{}/api/items", self.url());
        let period = Duration::from_secs_f64(1.0 / f64::from(per_second.max(1)));
        let flag = Arc::clone(&running);
        let thread = std::thread::spawn(move || {
            block_on(async move {
                let Ok(client) = http_client() else { return };
                let mut ticker = tokio::time::interval(period);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                while flag.load(Ordering::SeqCst) {
                    ticker.tick().await;
                    let _ = client.get(&url).send().await;
                }
            });
        });
        Traffic {
            running,
            thread: Some(thread),
        }
    }
}

/// Counts and times every request to the app's pages.
async fn observe(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    app.metrics.duration.observe(started.elapsed().as_secs_f64());
    app.metrics
        .requests
        .get_or_create(&RequestLabels {
            code: response.status().as_u16().to_string(),
            method,
        })
        .inc();
    response
}

async fn metrics(State(app): State<AppState>) -> Response {
    let mut text = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &app.metrics.registry) {
        return (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct FaultsQuery {
    #[serde(default)]
    error_percent: u32,
    #[serde(default)]
    latency_ms: u64,
}

async fn set_faults(State(state): State<Shared>, Query(query): Query<FaultsQuery>) -> Response {
    if query.error_percent > 100 {
        return (StatusCode::BAD_REQUEST, "error_percent is 0 to 100\n").into_response();
    }
    let faults = Faults {
        error_percent: query.error_percent,
        latency: Duration::from_millis(query.latency_ms),
    };
    let mut state = lock(&state);
    state.faults = faults;
    state.fault_requests = 0;
    axum::Json(json!({"error_percent": faults.error_percent, "latency_ms": query.latency_ms})).into_response()
}

async fn homepage(State(state): State<Shared>, uri: Uri) -> Html<String> {
    let product = {
        let mut state = lock(&state);
        state.count(&uri);
        state.product.clone()
    };
    Html(format!(
        "<!doctype html>\n<html><head><title>{product}</title></head>\
         <body><h1>{product}</h1><p>Share what you are working on.</p></body></html>\n"
    ))
}

async fn health(State(state): State<Shared>, uri: Uri) -> Response {
    let mut state = lock(&state);
    state.count(&uri);
    axum::Json(json!({
        "status": "healthy",
        "database": "connected",
        "version": state.running.version,
        "build": state.running.build.name(),
    }))
    .into_response()
}

async fn api(State(state): State<Shared>, uri: Uri) -> Response {
    let latency = lock(&state).faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut state = lock(&state);
    state.count(&uri);
    state.api_requests += 1;
    state.fault_requests += 1;
    // Request n fails when n·p/100 crosses a whole number: p of every 100, evenly spread.
    let percent = u64::from(state.faults.error_percent);
    let injected = state.fault_requests * percent / 100 > (state.fault_requests - 1) * percent / 100;
    if injected || (state.running.build == Build::Bad && state.api_requests.is_multiple_of(2)) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"error": "internal server error"})),
        )
            .into_response();
    }
    axum::Json(json!({"items": [], "version": state.running.version})).into_response()
}

#[derive(Debug, Deserialize)]
struct DeployQuery {
    build: String,
    version: Option<String>,
}

async fn deploy(State(state): State<Shared>, Query(query): Query<DeployQuery>) -> Response {
    let Some(build) = Build::parse(&query.build) else {
        return (
            StatusCode::BAD_REQUEST,
            format!("unknown build `{}`: good or bad\n", query.build),
        )
            .into_response();
    };
    let mut state = lock(&state);
    let version = query.version.unwrap_or_else(|| state.running.version.clone());
    let replaced = std::mem::replace(
        &mut state.running,
        Running {
            build,
            version: version.clone(),
        },
    );
    state.previous.push(replaced);
    state.api_requests = 0;
    state.events.push(DeployEvent::Deployed {
        build,
        version: version.clone(),
    });
    axum::Json(json!({"build": build.name(), "version": version})).into_response()
}

async fn rollback(State(state): State<Shared>) -> Response {
    let mut state = lock(&state);
    let Some(restored) = state.previous.pop() else {
        return (StatusCode::CONFLICT, "nothing to roll back to\n").into_response();
    };
    let (build, version) = (restored.build, restored.version.clone());
    state.running = restored;
    state.api_requests = 0;
    state.events.push(DeployEvent::RolledBack {
        build,
        version: version.clone(),
    });
    axum::Json(json!({"build": build.name(), "version": version})).into_response()
}

impl DemoState {
    fn count(&mut self, uri: &Uri) {
        *self.served.entry(uri.path().to_string()).or_default() += 1;
    }
}

fn lock(state: &Shared) -> MutexGuard<'_, DemoState> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{get, request};

    #[test]
    fn a_bad_build_fails_every_second_api_request_until_rolled_back() {
        let service = DemoService::start("VibeLog", "1.0.0");
        let home = get(&service.url()).unwrap();
        assert_eq!(home.status, 200);
        assert!(home.text().contains("<h1>VibeLog</h1>"), "{}", home.text());

        let deployed = request(
            "POST",
            &format!("{}/deploy?build=bad&version=1.1.0", service.url()),
            &[],
            None,
        )
        .unwrap();
        assert_eq!(deployed.status, 200, "{}", deployed.text());
        assert_eq!(service.build(), Build::Bad);
        let health = get(&format!("{}/health", service.url())).unwrap().json().unwrap();
        assert_eq!(health["status"], "healthy");
        assert_eq!(health["version"], "1.1.0");
        let statuses: Vec<u16> = (0..4)
            .map(|_| get(&format!("{}/api/vibelogs", service.url())).unwrap().status)
            .collect();
        assert_eq!(statuses, [200, 500, 200, 500]);

        let rolled_back = request("POST", &format!("{}/rollback", service.url()), &[], None).unwrap();
        assert_eq!(rolled_back.status, 200);
        assert_eq!(service.build(), Build::Good);
        assert_eq!(service.version(), "1.0.0");
        let statuses: Vec<u16> = (0..4)
            .map(|_| get(&format!("{}/api/vibelogs", service.url())).unwrap().status)
            .collect();
        assert_eq!(statuses, [200, 200, 200, 200]);
        assert_eq!(service.served("/api/vibelogs"), 8);
        assert_eq!(service.served("/health"), 1);
        assert_eq!(
            service.events(),
            [
                DeployEvent::Deployed {
                    build: Build::Bad,
                    version: "1.1.0".into()
                },
                DeployEvent::RolledBack {
                    build: Build::Good,
                    version: "1.0.0".into()
                },
            ]
        );

        let metrics = get(&format!("{}/metrics", service.url())).unwrap().text();
        assert!(
            metrics.contains(r#"http_requests_total{code="500",method="GET"} 2"#),
            "{metrics}"
        );
        assert!(
            metrics.contains(r#"http_request_duration_seconds_bucket{le="+Inf"} 10"#),
            "{metrics}"
        );

        let faulty = request("POST", &format!("{}/faults?error_percent=25", service.url()), &[], None).unwrap();
        assert_eq!(faulty.status, 200);
        let statuses: Vec<u16> = (0..8)
            .map(|_| get(&format!("{}/api/vibelogs", service.url())).unwrap().status)
            .collect();
        assert_eq!(statuses, [200, 200, 200, 500, 200, 200, 200, 500]);
        service.set_faults(Faults::default());

        let nothing_left = request("POST", &format!("{}/rollback", service.url()), &[], None).unwrap();
        assert_eq!(nothing_left.status, 409);
        let unknown = request("POST", &format!("{}/deploy?build=broken", service.url()), &[], None).unwrap();
        assert_eq!(unknown.status, 400);
    }
}
