//! Every GitHub endpoint branch-guard calls, against Prism serving GitHub's
//! OpenAPI description: a request that breaks the spec fails the test.

use std::time::Duration;

use branch_guard::api::RepoApi;
use shipgate_core::actions::Secret;
use shipgate_core::github::{GitHubClient, GitHubSettings};
use shipgate_core::retry::RetryPolicy;
use shipgate_testkit::ContractSession;
use shipgate_testkit::prism::contract_session;

fn api(session: &ContractSession) -> RepoApi {
    let mut retry = RetryPolicy::with_sleeper(|_| async {});
    retry.max_attempts = 2;
    let client = GitHubClient::new(GitHubSettings {
        api_url: session.url(),
        token: Some(Secret::new("ghs_contractTestToken000000000000000000")),
        timeout: Duration::from_secs(30),
        retry,
    })
    .expect("client builds");
    RepoApi::new(client, "acme", "app")
}

/// Prism's generated answers are random (negative counts included), so only
/// a decoding failure of its answer is tolerated; a rejected request is not.
fn accepted<T>(what: &str, result: shipgate_core::exit::Result<T>) {
    if let Err(error) = result {
        let text = error.to_string();
        assert!(
            text.contains("unexpected response"),
            "{what}: the request was refused: {text}"
        );
    }
}

fn paths(session: &ContractSession) -> Vec<String> {
    session
        .exchanges()
        .iter()
        .map(|exchange| format!("{} {}", exchange.method, exchange.path))
        .collect()
}

#[tokio::test]
async fn pr_endpoints_conform() {
    let session = contract_session();
    let api = api(&session);
    accepted("GET pull", api.pull(7).await);
    accepted("GET pulls", api.pulls_between("hotfix/crash", "develop").await);
    accepted("GET reviews", api.reviews(7).await);
    session.assert_conforms();
    let called = paths(&session);
    assert!(
        called
            .iter()
            .any(|p| p.starts_with("GET /repos/acme/app/pulls/7/reviews")),
        "{called:?}"
    );
    assert!(
        called.iter().any(|p| p.starts_with("GET /repos/acme/app/pulls")),
        "{called:?}"
    );
}

#[tokio::test]
async fn gate_endpoints_conform() {
    let session = contract_session();
    let api = api(&session);
    let sha = "0123456789abcdef0123456789abcdef01234567";
    accepted("GET check-runs", api.check_runs(sha).await);
    accepted("GET status", api.statuses(sha).await);
    session.assert_conforms();
    let called = paths(&session);
    assert!(called.iter().any(|p| p.contains("/check-runs")), "{called:?}");
    assert!(
        called.iter().any(|p| p.ends_with("/status") || p.contains("/status?")),
        "{called:?}"
    );
}

#[tokio::test]
async fn protection_endpoints_conform() {
    let session = contract_session();
    let api = api(&session);
    let config = shipgate_core::config::Config::default();
    let desired = branch_guard::protect::desired_settings(&config, 2, shipgate_core::config::TestRequirement::AllPass);
    accepted("GET protection", api.protection("main").await);
    api.put_protection("main", &branch_guard::protect::payload(&desired))
        .await
        .expect("PUT protection");
    session.assert_conforms();
    assert_eq!(session.exchanges().len(), 2, "{:?}", paths(&session));
}
