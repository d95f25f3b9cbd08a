//! `gate` and `protect` through the binary against the stateful fake GitHub.

mod common;

use std::process::{Command, Output};

use common::{both, isolated, text};
use shipgate_testkit::fake_github::FakeGitHub;
use shipgate_testkit::git::GitFixture;

fn command(repo: &GitFixture, github: &FakeGitHub, args: &[&str]) -> Command {
    let mut command = isolated(common::bin(), repo.path());
    command
        .args(args)
        .env("GITHUB_REPOSITORY", "acme/app")
        .env("GITHUB_API_URL", github.url())
        .env("GITHUB_TOKEN", github.token());
    command
}

fn run(repo: &GitFixture, github: &FakeGitHub, args: &[&str]) -> Output {
    command(repo, github, args).output().expect("run branch-guard")
}

/// A PR from feature/upload into `base` with its head sha.
fn seeded(github: &FakeGitHub, base: &str) -> (u64, String) {
    let mut state = github.state();
    state.add_repo("acme", "app");
    let number = state.seed_pull("acme", "app", "feature/upload", base, "feat: upload");
    let sha = state
        .repo("acme", "app")
        .and_then(|r| r.pull(number))
        .expect("pull")
        .head_sha
        .clone();
    (number, sha)
}

#[test]
fn gate_counts_approvals_and_checks_of_the_head() {
    let repo = GitFixture::new();
    let github = FakeGitHub::start();
    let (number, sha) = seeded(&github, "develop");
    {
        let mut state = github.state();
        state.seed_review("acme", "app", number, "ana", "APPROVED");
        state.seed_review("acme", "app", number, "contributor", "APPROVED");
        state.seed_check_run("acme", "app", &sha, "lint", "completed", Some("success"));
        state.seed_check_run("acme", "app", &sha, "test", "completed", Some("failure"));
        state.seed_check_run("acme", "app", &sha, "gate", "in_progress", None);
    }
    let pr = number.to_string();
    let mut failing = command(&repo, &github, &["gate", "--pr", &pr]);
    failing.env("GITHUB_JOB", "gate");
    let output = failing.output().expect("run");
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("approvals") && stdout.contains("1 (ana)"),
        "the author does not count: {stdout}"
    );
    assert!(
        stdout.contains("check: test") && stdout.contains("✖ failed"),
        "{stdout}"
    );
    assert!(!stdout.contains("check: gate"), "its own job is ignored: {stdout}");

    github
        .state()
        .seed_check_run("acme", "app", &sha, "test", "completed", Some("success"));
    let mut passing = command(&repo, &github, &["--json", "gate", "--pr", &pr]);
    passing.env("GITHUB_JOB", "gate");
    let output = passing.output().expect("run");
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(json["passed"], true);
    assert_eq!(json["approvals"], serde_json::json!(["ana"]));

    // A dismissal takes the approval back.
    github.state().seed_review("acme", "app", number, "ana", "DISMISSED");
    let output = run(&repo, &github, &["gate", "--pr", &pr, "--ignore-check", "gate"]);
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
}

#[test]
fn gate_needs_two_approvals_into_main_and_enough_coverage() {
    let repo = GitFixture::new();
    let github = FakeGitHub::start();
    let (number, _) = seeded(&github, "main");
    github.state().seed_review("acme", "app", number, "ana", "APPROVED");
    let pr = number.to_string();
    let output = run(&repo, &github, &["gate", "--pr", &pr]);
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    github.state().seed_review("acme", "app", number, "bo", "APPROVED");
    let output = run(&repo, &github, &["gate", "--pr", &pr]);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));

    repo.write_file("lcov.info", "SF:a.rs\nLF:10\nLH:7\nend_of_record\n");
    let output = run(&repo, &github, &["gate", "--pr", &pr, "--coverage", "lcov.info"]);
    assert_eq!(output.status.code(), Some(1), "70% < 80%: {}", both(&output));
    assert!(text(&output.stdout).contains("70.0%"), "{}", both(&output));
    let output = run(
        &repo,
        &github,
        &["gate", "--pr", &pr, "--coverage", "lcov.info", "--min", "65"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));

    let mut in_actions = command(&repo, &github, &["gate", "--pr", &pr]);
    let summary = repo.path().join(".git/summary");
    in_actions
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", repo.path().join(".git/outputs"))
        .env("GITHUB_STEP_SUMMARY", &summary);
    let output = in_actions.output().expect("run");
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    let summary = std::fs::read_to_string(summary).expect("summary");
    insta::assert_snapshot!("gate_summary", summary);
}

#[test]
fn gate_without_a_pull_request_is_a_usage_error() {
    let repo = GitFixture::new();
    let github = FakeGitHub::with_repo("acme", "app");
    let output = run(&repo, &github, &["gate", "--pr", "99"]);
    assert_eq!(output.status.code(), Some(2), "{}", both(&output));
    let mut no_token = command(&repo, &github, &["gate", "--pr", "1"]);
    no_token.env_remove("GITHUB_TOKEN");
    let output = no_token.output().expect("run");
    assert_eq!(output.status.code(), Some(2), "{}", both(&output));
    assert!(text(&output.stderr).contains("no GitHub token"), "{}", both(&output));
}

#[test]
fn protect_plans_applies_with_every_key_and_verifies() {
    let repo = GitFixture::new();
    let github = FakeGitHub::with_repo("acme", "app");

    let output = run(&repo, &github, &["protect"]);
    assert_eq!(output.status.code(), Some(1), "drift: {}", both(&output));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("~ main (not protected now): plan"), "{stdout}");
    assert!(
        stdout.contains("required_approving_review_count: not required → 2"),
        "{stdout}"
    );
    assert!(stdout.contains("~ develop"), "{stdout}");

    let output = run(&repo, &github, &["protect", "--apply", "--dry-run"]);
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    assert!(github.state().requests_to("PUT", "/repos/acme/app/branches").is_empty());

    let output = run(&repo, &github, &["protect", "--apply"]);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    let puts = github.state().requests_to("PUT", "/repos/acme/app/branches");
    assert_eq!(puts.len(), 2);
    let body = puts[0].body.clone().expect("body");
    for key in [
        "required_status_checks",
        "enforce_admins",
        "required_pull_request_reviews",
        "restrictions",
        "required_linear_history",
        "allow_force_pushes",
        "allow_deletions",
        "block_creations",
        "required_conversation_resolution",
        "lock_branch",
        "allow_fork_syncing",
    ] {
        assert!(body.get(key).is_some(), "{key} missing from {body}");
    }
    assert_eq!(
        body["required_pull_request_reviews"]["required_approving_review_count"],
        2
    );
    let protection = github
        .state()
        .repo("acme", "app")
        .expect("repo")
        .protections
        .get("develop")
        .cloned();
    let develop = protection.expect("develop protected");
    assert_eq!(
        develop
            .required_pull_request_reviews
            .expect("reviews")
            .required_approving_review_count,
        1
    );
    assert_eq!(develop.allow_force_pushes, Some(false));

    let output = run(&repo, &github, &["protect"]);
    assert_eq!(output.status.code(), Some(0), "in sync: {}", both(&output));
    assert!(
        text(&output.stdout).contains("= main: protection matches the config"),
        "{}",
        both(&output)
    );
}

#[test]
fn protect_explains_missing_admin_rights() {
    let repo = GitFixture::new();
    let github = FakeGitHub::with_repo("acme", "app");
    github
        .state()
        .fail_next("/repos/acme/app/branches/main/protection", vec![403]);
    let output = run(&repo, &github, &["protect"]);
    assert_eq!(output.status.code(), Some(2), "{}", both(&output));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("admin rights") && stderr.contains("GITHUB_TOKEN never has them"),
        "{stderr}"
    );
    assert!(!stderr.contains(github.token()));
}
