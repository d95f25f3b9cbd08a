//! Contract tests: the GitHub client's requests against Prism serving
//! GitHub's official OpenAPI description (`prism mock --errors`). A request
//! violation means our request does not match what GitHub documents.

use std::time::Duration;

use http::Method;
use serde_json::json;
use shipgate_core::actions::Secret;
use shipgate_core::exit::ExitCode;
use shipgate_core::github::{GitHubClient, GitHubSettings};
use shipgate_core::retry::RetryPolicy;
use shipgate_testkit::ContractSession;
use shipgate_testkit::prism::contract_session;

fn client(session: &ContractSession) -> GitHubClient {
    let mut retry = RetryPolicy::with_sleeper(|_| async {});
    retry.max_attempts = 2;
    GitHubClient::new(GitHubSettings {
        api_url: session.url(),
        token: Some(Secret::new("ghs_contractTestToken000000000000000000")),
        timeout: Duration::from_secs(30),
        retry,
    })
    .expect("client builds")
}

#[tokio::test]
async fn repository_conforms_to_githubs_spec() {
    let session = contract_session();
    let repo = client(&session)
        .repository("acme", "widgets")
        .await
        .expect("Prism answers a valid request");
    assert!(!repo.full_name.is_empty());
    session.assert_conforms();
    let exchanges = session.exchanges();
    assert_eq!(exchanges.len(), 1);
    assert_eq!(
        (exchanges[0].method.as_str(), exchanges[0].path.as_str()),
        ("GET", "/repos/acme/widgets")
    );
}

#[tokio::test]
async fn a_request_that_breaks_the_spec_is_caught() {
    let session = contract_session();
    let error = client(&session)
        .request_json::<serde_json::Value>(
            Method::POST,
            "/repos/acme/widgets/releases",
            Some(&json!({"tag_name": 5})),
        )
        .await
        .expect_err("Prism rejects a numeric tag_name");
    assert_eq!(error.exit_code(), ExitCode::Usage, "{error}");
    assert!(error.to_string().contains("422"), "{error}");
    let violations = session.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("tag_name"), "{}", violations[0]);
}
