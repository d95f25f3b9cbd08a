//! The github target: behaviour against the stateful fake GitHub, and every
//! request it makes against Prism serving GitHub's OpenAPI description.

mod common;

use common::Runner;
use shipgate_testkit::fake_github::FakeGitHub;
use shipgate_testkit::prism::contract_session;

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn runner(api_url: &str, token: &str) -> Runner {
    Runner::in_actions()
        .env("GITHUB_API_URL", api_url)
        .env("GITHUB_TOKEN", token)
}

#[test]
fn deploy_events_create_one_deployment_and_record_each_status() {
    let github = FakeGitHub::with_repo("acme", "shop");
    let runner = runner(&github.url(), github.token());
    for status in ["started", "succeeded"] {
        let run = runner.run(&[
            "deploy",
            "--status",
            status,
            "--environment",
            "staging",
            "--version",
            "1.2.0",
            "--to",
            "github://deployment",
        ]);
        assert_eq!(run.code, 0, "{run:#?}");
    }
    let state = github.state();
    let repo = state.repo("acme", "shop").unwrap();
    assert_eq!(repo.deployments.len(), 1, "{:#?}", repo.deployments);
    let deployment = &repo.deployments[0];
    assert_eq!(deployment.sha, SHA);
    assert_eq!(deployment.environment, "staging");
    let states: Vec<&str> = deployment.statuses.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(states, ["in_progress", "success"]);
    assert_eq!(
        deployment.statuses[1].log_url,
        "https://github.com/acme/shop/actions/runs/4242"
    );
    assert_eq!(
        deployment.statuses[1].description,
        "✅ Deploy succeeded: 1.2.0 to staging"
    );
}

#[test]
fn a_failure_without_a_start_still_gets_a_deployment() {
    let github = FakeGitHub::with_repo("acme", "shop");
    let run =
        runner(&github.url(), github.token()).run(&["deploy", "--status", "failure", "--to", "github://deployment"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let state = github.state();
    let deployment = &state.repo("acme", "shop").unwrap().deployments[0];
    assert_eq!(deployment.environment, "production");
    assert_eq!(deployment.statuses[0].state, "failure");
}

#[test]
fn comments_go_to_the_pull_request_or_else_the_commit() {
    let github = FakeGitHub::start();
    let number = {
        let mut state = github.state();
        state.add_repo("acme", "shop");
        state.seed_pull("acme", "shop", "feature/x", "develop", "Add x")
    };
    let plain = runner(&github.url(), github.token());
    let run = plain.run(&["deploy", "--status", "succeeded", "--to", "github://comment"]);
    assert_eq!(run.code, 0, "{run:#?}");

    let event = plain.write("event.json", &format!("{{\"pull_request\": {{\"number\": {number}}}}}"));
    let in_pr = runner(&github.url(), github.token()).env("GITHUB_EVENT_PATH", event.to_str().unwrap());
    let run = in_pr.run(&[
        "deploy",
        "--status",
        "succeeded",
        "--environment",
        "preview",
        "--to",
        "github://comment",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");

    let state = github.state();
    let repo = state.repo("acme", "shop").unwrap();
    assert_eq!(repo.commit_comments.len(), 1);
    assert_eq!(repo.commit_comments[0].commit_id, SHA);
    insta::assert_snapshot!("commit_comment", repo.commit_comments[0].body);
    assert_eq!(repo.comments.len(), 1);
    assert_eq!(repo.comments[0].issue_number, number);
    insta::assert_snapshot!("pull_request_comment", repo.comments[0].body);
}

#[test]
fn a_missing_token_is_a_usage_error_before_anything_is_sent() {
    let github = FakeGitHub::start();
    let run = Runner::in_actions().env("GITHUB_API_URL", &github.url()).run(&[
        "deploy",
        "--status",
        "started",
        "--to",
        "github://deployment",
    ]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("GITHUB_TOKEN"), "{}", run.stderr);
    assert!(github.requests().is_empty());
}

#[test]
fn every_github_request_conforms_to_githubs_spec() {
    let session = contract_session();
    let runner = runner(&session.url(), "ghs_contractTestToken000000000000000000");
    for status in ["started", "succeeded"] {
        let run = runner.run(&["deploy", "--status", status, "--to", "github://deployment"]);
        assert_eq!(run.code, 0, "{run:#?}");
    }
    let run = runner.run(&["deploy", "--status", "succeeded", "--to", "github://comment"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let event = runner.write("event.json", "{\"pull_request\": {\"number\": 7}}");
    let in_pr = self::runner(&session.url(), "ghs_contractTestToken000000000000000000")
        .env("GITHUB_EVENT_PATH", event.to_str().unwrap());
    let run = in_pr.run(&["deploy", "--status", "succeeded", "--to", "github://comment"]);
    assert_eq!(run.code, 0, "{run:#?}");
    session.assert_conforms();
    let routes: Vec<(String, String)> = session
        .exchanges()
        .iter()
        .map(|e| (e.method.clone(), e.path.clone()))
        .collect();
    let has = |method: &str, prefix: &str| routes.iter().any(|(m, p)| m == method && p.starts_with(prefix));
    assert!(has("POST", "/repos/acme/shop/deployments"), "{routes:?}");
    assert!(has("GET", "/repos/acme/shop/deployments"), "{routes:?}");
    assert!(
        routes.iter().any(|(m, p)| m == "POST" && p.ends_with("/statuses")),
        "{routes:?}"
    );
    assert!(
        has("POST", &format!("/repos/acme/shop/commits/{SHA}/comments")),
        "{routes:?}"
    );
    assert!(has("POST", "/repos/acme/shop/issues/7/comments"), "{routes:?}");
}
