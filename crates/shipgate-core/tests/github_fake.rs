//! The GitHub client against the stateful fake GitHub: authentication,
//! error classification and retries, over real HTTP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use serde_json::json;
use shipgate_core::actions::Secret;
use shipgate_core::exit::{Error, ExitCode};
use shipgate_core::github::{GitHubClient, GitHubSettings, RepositoryInfo};
use shipgate_core::retry::RetryPolicy;
use shipgate_testkit::FakeGitHub;

/// A client for `fake` whose retries record their waits instead of sleeping.
fn client(fake: &FakeGitHub, token: &str, max_attempts: u32) -> (GitHubClient, Arc<Mutex<Vec<Duration>>>) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let recorder = Arc::clone(&waits);
    let mut retry = RetryPolicy::with_sleeper(move |wait| {
        recorder.lock().expect("waits lock").push(wait);
        async {}
    });
    retry.max_attempts = max_attempts;
    retry.initial_backoff = Duration::from_millis(10);
    let settings = GitHubSettings {
        api_url: fake.url(),
        token: Some(Secret::new(token)),
        timeout: Duration::from_secs(10),
        retry,
    };
    (GitHubClient::new(settings).expect("client builds"), waits)
}

/// The fake with the private repository acme/widgets.
fn fake_with_private_repo() -> FakeGitHub {
    let fake = FakeGitHub::with_repo("acme", "widgets");
    fake.state().repo_mut("acme", "widgets").private = true;
    fake
}

#[tokio::test]
async fn repository_is_read_with_the_token() {
    let fake = fake_with_private_repo();
    let (client, waits) = client(&fake, fake.token(), 3);
    let repo = client.repository("acme", "widgets").await.expect("repository");
    assert_eq!(
        repo,
        RepositoryInfo {
            full_name: "acme/widgets".to_string(),
            default_branch: "main".to_string(),
            private: true,
        }
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/repos/acme/widgets");
    let authorization = requests[0].header("authorization").expect("authorization header");
    assert!(
        authorization == format!("Bearer {}", fake.token()) || authorization == format!("token {}", fake.token()),
        "unexpected authorization scheme"
    );
    assert!(waits.lock().expect("waits").is_empty());
}

#[tokio::test]
async fn a_bad_token_is_a_usage_error_that_never_shows_the_token() {
    let fake = fake_with_private_repo();
    let wrong_token = "ghp_notTheRightToken7f3a9c1d";
    let (client, _) = client(&fake, wrong_token, 3);
    let error = client
        .repository("acme", "widgets")
        .await
        .expect_err("GitHub rejects the token");
    assert!(matches!(error, Error::Usage(_)), "{error:?}");
    assert_eq!(error.exit_code(), ExitCode::Usage);
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(wrong_token), "the token leaked into: {shown}");
    assert!(shown.contains("401"), "{shown}");
    assert_eq!(fake.requests().len(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn an_unknown_repository_is_a_usage_error() {
    let fake = fake_with_private_repo();
    let (client, _) = client(&fake, fake.token(), 3);
    let error = client
        .repository("acme", "gadgets")
        .await
        .expect_err("no such repository");
    assert_eq!(error.exit_code(), ExitCode::Usage, "{error}");
    assert!(error.to_string().contains("404"), "{error}");
}

#[tokio::test]
async fn a_validation_failure_is_a_usage_error_with_githubs_reason() {
    let fake = fake_with_private_repo();
    fake.state().seed_release("acme", "widgets", "v1.0.0", false);
    let (client, _) = client(&fake, fake.token(), 3);
    let error = client
        .request_json::<serde_json::Value>(
            Method::POST,
            "/repos/acme/widgets/releases",
            Some(&json!({"tag_name": "v1.0.0"})),
        )
        .await
        .expect_err("the tag already has a release");
    assert_eq!(error.exit_code(), ExitCode::Usage, "{error}");
    let message = error.to_string();
    assert!(
        message.contains("422") && message.contains("already_exists"),
        "{message}"
    );
    assert_eq!(fake.requests().len(), 1, "a 422 is not retried");
}

#[tokio::test]
async fn transient_failures_are_retried_until_success() {
    let fake = fake_with_private_repo();
    fake.state().fail_next("/repos/acme/widgets", vec![502, 502]);
    let (client, waits) = client(&fake, fake.token(), 3);
    let repo = client
        .repository("acme", "widgets")
        .await
        .expect("third attempt succeeds");
    assert_eq!(repo.full_name, "acme/widgets");
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![502, 502, 200]);
    assert_eq!(waits.lock().expect("waits").len(), 2, "one wait before each retry");
}

#[tokio::test]
async fn failures_that_outlast_the_retries_are_external() {
    let fake = fake_with_private_repo();
    fake.state().fail_next("/repos/acme/widgets", vec![502; 10]);
    let (client, _) = client(&fake, fake.token(), 3);
    let error = client
        .repository("acme", "widgets")
        .await
        .expect_err("GitHub stays down");
    assert!(matches!(error, Error::External(_)), "{error:?}");
    assert_eq!(error.exit_code(), ExitCode::External);
    assert!(error.to_string().contains("502"), "{error}");
    assert_eq!(fake.requests().len(), 3, "exactly max_attempts requests");
}

#[tokio::test]
async fn a_secondary_rate_limit_waits_as_told_then_retries() {
    let fake = fake_with_private_repo();
    fake.state().secondary_rate_limit_next("/repos/acme/widgets", 1, 1);
    let (client, waits) = client(&fake, fake.token(), 3);
    let repo = client
        .repository("acme", "widgets")
        .await
        .expect("retried after the limit");
    assert_eq!(repo.default_branch, "main");
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![403, 200]);
    assert_eq!(*waits.lock().expect("waits"), vec![Duration::from_secs(1)]);
}
