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

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::server::BackgroundServer;

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
}

type Shared = Arc<Mutex<DemoState>>;

/// The demo app on `127.0.0.1:<ephemeral port>`; stops when dropped.
pub struct DemoService {
    server: BackgroundServer,
    state: Shared,
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
        }));
        let router = Router::new()
            .route("/", get(homepage))
            .route("/health", get(health))
            .route("/health/", get(health))
            .route("/api/health", get(health))
            .route("/api/{*endpoint}", get(api))
            .route("/deploy", post(deploy))
            .route("/rollback", post(rollback))
            .with_state(Arc::clone(&state));
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
    let mut state = lock(&state);
    state.count(&uri);
    state.api_requests += 1;
    if state.running.build == Build::Bad && state.api_requests.is_multiple_of(2) {
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

        let nothing_left = request("POST", &format!("{}/rollback", service.url()), &[], None).unwrap();
        assert_eq!(nothing_left.status, 409);
        let unknown = request("POST", &format!("{}/deploy?build=broken", service.url()), &[], None).unwrap();
        assert_eq!(unknown.status, 400);
    }
}
