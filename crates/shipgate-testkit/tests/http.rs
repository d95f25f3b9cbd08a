//! The local HTTP helpers serve, script and record for real over TCP.

use std::time::{Duration, Instant};

use serde_json::json;
use shipgate_testkit::http::{self, CannedResponse, ScriptedServer, StaticServer};

#[test]
fn static_server_serves_files_and_logs_requests() {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("v1.2.0")).expect("mkdir");
    std::fs::write(root.path().join("v1.2.0/tool.tar.gz"), b"archive bytes").expect("write");
    std::fs::write(root.path().join("secret.txt"), b"outside").expect("write");
    let served = root.path().join("v1.2.0");
    let server = StaticServer::start(root.path());

    let found = http::get(&format!("{}/v1.2.0/tool.tar.gz", server.url())).expect("get");
    assert_eq!(found.status, 200);
    assert_eq!(found.body, b"archive bytes");

    let missing = http::get(&format!("{}/v1.2.0/other.tar.gz", server.url())).expect("get");
    assert_eq!(missing.status, 404);

    assert_eq!(
        server.requested_paths(),
        vec!["/v1.2.0/tool.tar.gz", "/v1.2.0/other.tar.gz"]
    );

    // A server rooted in a subdirectory must not hand out its parent.
    let narrow = StaticServer::start(&served);
    let escape = http::get(&format!("{}/%2e%2e/secret.txt", narrow.url())).expect("get");
    assert_eq!(escape.status, 404);
}

#[test]
fn static_server_stops_on_drop() {
    let root = tempfile::tempdir().expect("tempdir");
    let server = StaticServer::start(root.path());
    let url = server.url();
    drop(server);
    assert!(http::get(&url).is_err(), "nothing listens after drop");
}

#[test]
fn scripted_server_answers_in_order_then_falls_back() {
    let server = ScriptedServer::start();
    server.enqueue(
        "GET",
        "/health",
        [
            CannedResponse::text(503, "warming up"),
            CannedResponse::json(200, &json!({"status": "ok"})).header("x-attempt", "2"),
        ],
    );
    server.always("GET", "/health", CannedResponse::status(204));
    let url = format!("{}/health?probe=1", server.url());

    let first = http::get(&url).expect("first");
    assert_eq!((first.status, first.text()), (503, "warming up".to_string()));
    let second = http::get(&url).expect("second");
    assert_eq!(second.status, 200);
    assert_eq!(second.header("x-attempt"), Some("2"));
    assert_eq!(second.json().expect("json"), json!({"status": "ok"}));
    let third = http::get(&url).expect("third");
    assert_eq!(third.status, 204);

    let unscripted = http::get(&format!("{}/other", server.url())).expect("other");
    assert_eq!(unscripted.status, 404);
    assert!(unscripted.text().contains("GET /other"));

    let health = server.requests_to("GET", "/health");
    assert_eq!(health.len(), 3);
    assert_eq!(health[0].query.as_deref(), Some("probe=1"));
    assert_eq!(server.requests().len(), 4);
}

#[test]
fn scripted_server_records_bodies_and_headers() {
    let server = ScriptedServer::start();
    server.enqueue("POST", "/hook", [CannedResponse::status(200)]);
    let response = http::request(
        "POST",
        &format!("{}/hook", server.url()),
        &[("content-type", "application/json"), ("X-Signature", "abc")],
        Some(br#"{"text":"deployed"}"#.to_vec()),
    )
    .expect("post");
    assert_eq!(response.status, 200);
    let recorded = server.requests_to("POST", "/hook");
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].header("x-signature"), Some("abc"));
    assert_eq!(recorded[0].body_json().expect("json body"), json!({"text": "deployed"}));
}

#[test]
fn scripted_server_can_delay_answers() {
    let server = ScriptedServer::start();
    server.enqueue(
        "GET",
        "/slow",
        [CannedResponse::status(200).delayed(Duration::from_millis(400))],
    );
    let started = Instant::now();
    let response = http::get(&format!("{}/slow", server.url())).expect("get");
    assert_eq!(response.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(400));
}
