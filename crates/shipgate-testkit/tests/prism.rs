//! The contract harness tells requests that follow GitHub's OpenAPI
//! description from requests that break it.

use std::panic::AssertUnwindSafe;

use serde_json::json;
use shipgate_testkit::Prism;
use shipgate_testkit::http::{self, FetchedResponse};

const GITHUB_HEADERS: [(&str, &str); 4] = [
    ("accept", "application/vnd.github+json"),
    ("x-github-api-version", "2022-11-28"),
    ("authorization", "Bearer contract-test-token"),
    ("content-type", "application/json"),
];

fn send(url: &str, method: &str, path: &str, body: Option<serde_json::Value>) -> FetchedResponse {
    http::request(
        method,
        &format!("{url}{path}"),
        &GITHUB_HEADERS,
        body.map(|body| body.to_string().into_bytes()),
    )
    .expect("request reaches the contract proxy")
}

fn prism() -> &'static Prism {
    Prism::shared().unwrap_or_else(|error| panic!("{error:#}"))
}

#[test]
fn conforming_requests_pass_with_githubs_media_type() {
    let session = prism().session().expect("contract session");
    let repo = send(&session.url(), "GET", "/repos/acme/widgets", None);
    assert_eq!(repo.status, 200, "{}", repo.text());
    assert!(repo.json().expect("json")["default_branch"].is_string());
    let created = send(
        &session.url(),
        "POST",
        "/repos/acme/widgets/releases",
        Some(json!({"tag_name": "v1.0.0", "draft": true})),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    session.assert_conforms();
    assert_eq!(session.exchanges().len(), 2);
}

#[test]
fn a_body_that_breaks_the_schema_is_a_violation() {
    let session = prism().session().expect("contract session");
    let response = send(
        &session.url(),
        "POST",
        "/repos/acme/widgets/releases",
        Some(json!({"tag_name": 5})),
    );
    assert_eq!(response.status, 422);
    let violations = session.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].contains("POST /repos/acme/widgets/releases") && violations[0].contains("tag_name"),
        "{}",
        violations[0]
    );
    let verdict = std::panic::catch_unwind(AssertUnwindSafe(|| session.assert_conforms()));
    assert!(verdict.is_err(), "assert_conforms must fail on a violation");
}

#[test]
fn an_endpoint_github_does_not_have_is_a_violation() {
    let session = prism().session().expect("contract session");
    let response = send(&session.url(), "GET", "/repos/acme/widgets/deploy-magic", None);
    assert_eq!(response.status, 404);
    let violations = session.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("Route not resolved"), "{}", violations[0]);
}

#[test]
fn invalid_query_parameters_are_violations() {
    let session = prism().session().expect("contract session");
    send(&session.url(), "GET", "/repos/acme/widgets/pulls?state=merged", None);
    let violations = session.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("state"), "{}", violations[0]);
}

#[test]
fn requested_error_statuses_are_not_violations() {
    let session = prism().session().expect("contract session");
    let url = format!("{}/repos/acme/widgets/releases/tags/v9.9.9", session.url());
    let mut headers = GITHUB_HEADERS.to_vec();
    headers.push(("prefer", "code=404"));
    let response = http::request("GET", &url, &headers, None).expect("request");
    assert_eq!(response.status, 404);
    session.assert_conforms();
}

#[test]
fn a_session_that_saw_nothing_does_not_conform() {
    let session = prism().session().expect("contract session");
    let verdict = std::panic::catch_unwind(AssertUnwindSafe(|| session.assert_conforms()));
    assert!(verdict.is_err(), "an empty contract test proves nothing");
}

#[test]
fn a_private_instance_stops_on_drop() {
    let private = Prism::start().unwrap_or_else(|error| panic!("{error:#}"));
    let url = private.url().to_string();
    let answered = http::get(&format!("{url}/repos/acme/widgets")).expect("prism answers");
    // Direct hits skip the proxy's retries, so a generated body that fails
    // the spec's own schema (Prism's 500) is possible; either way it answered.
    assert!(matches!(answered.status, 200 | 500), "{}", answered.text());
    drop(private);
    assert!(
        http::get(&format!("{url}/repos/acme/widgets")).is_err(),
        "nothing listens after drop"
    );
}
