//! `env` and `pr` through the binary, with event payloads and the fake GitHub.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{both, guard, isolated, text};
use shipgate_testkit::fake_github::FakeGitHub;
use shipgate_testkit::git::GitFixture;

/// A branch-guard command in Actions for event `name` with `payload`.
fn in_actions(repo: &GitFixture, name: &str, payload: &serde_json::Value, args: &[&str]) -> Command {
    let event = repo.write_file(".git/event.json", &payload.to_string());
    let mut command = isolated(common::bin(), repo.path());
    command
        .args(args)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_REPOSITORY", "acme/app")
        .env("GITHUB_EVENT_NAME", name)
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_OUTPUT", repo.path().join(".git/outputs"))
        .env("GITHUB_STEP_SUMMARY", repo.path().join(".git/summary"));
    command
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn output_value(repo: &GitFixture, name: &str) -> Option<String> {
    shipgate_testkit::cli::step_outputs(&repo.path().join(".git/outputs")).remove(name)
}

fn pull_request(head: &str, base: &str) -> serde_json::Value {
    serde_json::json!({
        "action": "opened", "number": 7,
        "pull_request": {
            "number": 7, "title": "feat: x", "user": { "login": "dev" },
            "head": { "ref": head, "sha": "1111111111111111111111111111111111111111", "repo": { "full_name": "acme/app" } },
            "base": { "ref": base, "sha": "2222222222222222222222222222222222222222", "repo": { "full_name": "acme/app" } },
        },
        "repository": { "full_name": "acme/app", "default_branch": "main" },
    })
}

fn with_fake(mut command: Command, github: &FakeGitHub) -> Output {
    command
        .env("GITHUB_API_URL", github.url())
        .env("GITHUB_TOKEN", github.token());
    command.output().expect("run")
}

#[test]
fn env_names_the_deploy_target_of_refs_and_events() {
    let repo = GitFixture::new();
    repo.commit("feat: initial");
    for (reference, expected) in [
        ("main", "production"),
        ("refs/heads/develop", "staging"),
        ("refs/pull/3/merge", "preview"),
        ("feature/upload", "none"),
        ("refs/tags/v1.2.0", "none"),
    ] {
        let output = guard(repo.path(), &["env", reference]);
        assert_eq!(output.status.code(), Some(0), "{}", both(&output));
        assert_eq!(text(&output.stdout).trim(), expected, "{reference}");
    }
    // No REF: the checked-out branch.
    assert_eq!(text(&guard(repo.path(), &["env"]).stdout).trim(), "production");

    let output = in_actions(&repo, "pull_request", &pull_request("feature/x", "develop"), &["env"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    assert_eq!(output_value(&repo, "environment").as_deref(), Some("preview"));

    let push = serde_json::json!({
        "ref": "refs/heads/develop", "before": "1111111111111111111111111111111111111111",
        "after": "2222222222222222222222222222222222222222", "repository": { "full_name": "acme/app" },
    });
    in_actions(&repo, "push", &push, &["env"]).output().expect("run");
    assert_eq!(output_value(&repo, "environment").as_deref(), Some("staging"));

    let dispatch =
        serde_json::json!({ "ref": "refs/heads/main", "inputs": null, "repository": { "full_name": "acme/app" } });
    let output = in_actions(&repo, "workflow_dispatch", &dispatch, &["--json", "env"])
        .output()
        .expect("run");
    assert_eq!(json_of(&output)["environment"], "production");

    let queue = serde_json::json!({
        "merge_group": { "head_sha": "1111111111111111111111111111111111111111", "head_ref": "refs/heads/gh-readonly-queue/main/pr-7-1111",
                         "base_sha": "2222222222222222222222222222222222222222", "base_ref": "refs/heads/main" },
        "repository": { "full_name": "acme/app" },
    });
    in_actions(&repo, "merge_group", &queue, &["env"])
        .output()
        .expect("run");
    assert_eq!(output_value(&repo, "environment").as_deref(), Some(""));
}

#[test]
fn pr_judges_source_and_target_from_flags_or_the_event() {
    let repo = GitFixture::new();
    let output = guard(repo.path(), &["pr", "--base", "develop", "--head", "feature/upload"]);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    assert!(
        text(&output.stdout).contains("allowed by the flow"),
        "{}",
        both(&output)
    );

    let output = in_actions(&repo, "pull_request", &pull_request("feature/upload", "main"), &["pr"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    assert!(
        text(&output.stdout).contains("may only merge into `develop`"),
        "{}",
        both(&output)
    );
    assert_eq!(output_value(&repo, "passed").as_deref(), Some("false"));
    insta::assert_snapshot!("pr_refused_summary", read(&repo.path().join(".git/summary")));

    let mut target = pull_request("release/v1.2.0", "main");
    target["action"] = "synchronize".into();
    let output = in_actions(&repo, "pull_request_target", &target, &["pr"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
}

#[test]
fn pr_always_reports_a_verdict_even_when_it_cannot_decide() {
    let repo = GitFixture::new();
    let dispatch =
        serde_json::json!({ "ref": "refs/heads/main", "inputs": {}, "repository": { "full_name": "acme/app" } });
    let output = in_actions(&repo, "workflow_dispatch", &dispatch, &["pr"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2), "{}", both(&output));
    assert_eq!(output_value(&repo, "passed").as_deref(), Some("false"));
    insta::assert_snapshot!("pr_undecided_summary", read(&repo.path().join(".git/summary")));
}

#[test]
fn hotfix_into_main_checks_for_the_back_merge_pull_request() {
    let repo = GitFixture::new();
    let github = FakeGitHub::with_repo("acme", "app");
    let hotfix = pull_request("hotfix/crash", "main");

    let output = with_fake(in_actions(&repo, "pull_request", &hotfix, &["pr"]), &github);
    assert_eq!(output.status.code(), Some(0), "a reminder only: {}", both(&output));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("::warning title=hotfix back-merge::") && stdout.contains("develop"),
        "{stdout}"
    );
    let asked = github.state().requests_to("GET", "/repos/acme/app/pulls");
    assert_eq!(asked.len(), 1);
    let query = asked[0].query.clone().unwrap_or_default();
    assert!(
        query.contains("head=acme%3Ahotfix%2Fcrash") && query.contains("base=develop"),
        "{query}"
    );

    repo.write_file("shipgate.toml", "[guard]\nhotfix_back_merge = \"fail\"\n");
    let output = with_fake(in_actions(&repo, "pull_request", &hotfix, &["pr"]), &github);
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));

    let number = github
        .state()
        .seed_pull("acme", "app", "hotfix/crash", "develop", "fix: crash");
    let output = with_fake(in_actions(&repo, "pull_request", &hotfix, &["--json", "pr"]), &github);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    let json = json_of(&output);
    assert_eq!(
        json["back_merge"],
        serde_json::json!({ "state": "found", "number": number })
    );
    // The token is only ever announced to the runner's masker.
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(
        all.lines()
            .filter(|line| !line.starts_with("::add-mask::"))
            .all(|line| !line.contains(github.token())),
        "{all}"
    );
}

#[test]
fn merge_groups_look_up_the_queued_pull_request() {
    let repo = GitFixture::new();
    let github = FakeGitHub::with_repo("acme", "app");
    let number = github
        .state()
        .seed_pull("acme", "app", "feature/upload", "develop", "feat: upload");
    let queue = serde_json::json!({
        "action": "checks_requested",
        "merge_group": { "head_sha": "1111111111111111111111111111111111111111",
                         "head_ref": format!("refs/heads/gh-readonly-queue/develop/pr-{number}-1111111111111111111111111111111111111111"),
                         "base_sha": "2222222222222222222222222222222222222222", "base_ref": "refs/heads/develop" },
        "repository": { "full_name": "acme/app" },
    });
    let output = with_fake(in_actions(&repo, "merge_group", &queue, &["pr"]), &github);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    assert!(
        text(&output.stdout).contains("feature/upload → develop"),
        "{}",
        both(&output)
    );
}

/// The `--json` document; in Actions stdout also carries workflow commands (`::add-mask::`).
fn json_of(output: &Output) -> serde_json::Value {
    let stdout = text(&output.stdout);
    let document: String = stdout
        .lines()
        .filter(|line| !line.starts_with("::"))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&document).unwrap_or_else(|e| panic!("{e}: {}", both(output)))
}

#[test]
fn check_combines_branch_title_flow_and_commits_for_the_event() {
    let repo = GitFixture::new();
    let base = repo.commit("feat: initial");
    repo.run_git(&["switch", "--quiet", "-c", "feature/upload"]);
    repo.commit("feat(upload): resume uploads");
    let head = repo.head();
    let mut payload = pull_request("feature/upload", "develop");
    payload["pull_request"]["head"]["sha"] = head.clone().into();
    payload["pull_request"]["base"]["sha"] = base.clone().into();
    payload["pull_request"]["title"] = "feat(upload): resume uploads".into();
    let output = in_actions(&repo, "pull_request", &payload, &["check"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    assert_eq!(output_value(&repo, "passed").as_deref(), Some("true"));
    assert_eq!(output_value(&repo, "environment").as_deref(), Some("preview"));

    let bad = repo.commit("Added retries.");
    payload["pull_request"]["head"]["sha"] = bad.clone().into();
    payload["pull_request"]["title"] = "Resume uploads".into();
    payload["pull_request"]["base"]["ref"] = "main".into();
    let output = in_actions(&repo, "pull_request", &payload, &["check"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    let violations: serde_json::Value =
        serde_json::from_str(&output_value(&repo, "violations").expect("violations")).expect("json");
    let rules: Vec<&str> = violations
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|v| v["rule"].as_str())
        .collect();
    assert!(
        rules.contains(&"flow-target") && rules.contains(&"type-empty"),
        "{violations:#}"
    );
    assert!(
        violations
            .as_array()
            .expect("array")
            .iter()
            .any(|v| v["sha"] == bad.as_str()),
        "{violations:#}"
    );
}

#[test]
fn a_rejected_branch_name_in_actions_gets_one_error_a_summary_and_its_violation() {
    let repo = GitFixture::new();
    repo.commit("feat: start");
    let payload = serde_json::json!({ "ref": "refs/heads/main" });
    let output = in_actions(&repo, "push", &payload, &["branch", "Feature/Login"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    let stdout = text(&output.stdout);
    let errors: Vec<&str> = stdout.lines().filter(|line| line.starts_with("::error")).collect();
    assert_eq!(
        errors,
        [
            "::error title=Feature/Login [branch-name]::branch `Feature/Login` does not follow the flow; rename it to `feature/login` (git branch -m feature/login)"
        ],
        "{stdout}"
    );
    insta::assert_snapshot!("rejected_branch_summary", read(&repo.path().join(".git/summary")));
    assert_eq!(output_value(&repo, "passed").as_deref(), Some("false"));
    let violations: serde_json::Value =
        serde_json::from_str(&output_value(&repo, "violations").expect("violations output")).unwrap();
    assert_eq!(violations[0]["rule"], "branch-name");
    assert_eq!(violations[0]["subject"], "Feature/Login");

    // An allowed name: a summary, no annotation.
    let output = in_actions(&repo, "push", &payload, &["branch", "feature/login"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    assert!(!text(&output.stdout).contains("::error"), "{}", text(&output.stdout));
    insta::assert_snapshot!("allowed_branch_summary", read(&repo.path().join(".git/summary")));
}
