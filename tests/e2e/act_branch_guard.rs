//! The branch-guard action under act for a pull_request event (`act -e`):
//! an allowed pull request passes with the preview environment; one into
//! the wrong branch with a non-conventional commit fails with its
//! violations, still reporting its outputs.

use shipgate_testkit::act::{ActOptions, ActRepo};

fn commit(repo: &ActRepo, message: &str) -> String {
    repo.git(&[
        "-c",
        "user.name=Dev",
        "-c",
        "user.email=dev@example.com",
        "commit",
        "--quiet",
        "--allow-empty",
        "--no-verify",
        "-m",
        message,
    ]);
    repo.git(&["rev-parse", "HEAD"])
}

/// A repository whose base commit holds the actions and whose feature branch has `messages`.
fn scripted(messages: &[&str]) -> (ActRepo, String, String) {
    let repo = ActRepo::new("branch-guard.yml");
    repo.git(&["add", "--all"]);
    let base = commit(&repo, "chore: add the actions under test");
    repo.git(&["switch", "--quiet", "-c", "feature/upload"]);
    let mut head = base.clone();
    for message in messages {
        head = commit(&repo, message);
    }
    (repo, base, head)
}

fn payload(base_ref: &str, base: &str, head: &str, title: &str) -> serde_json::Value {
    serde_json::json!({
        "action": "opened",
        "number": 7,
        "pull_request": {
            "number": 7,
            "title": title,
            "draft": false,
            "user": { "login": "dev" },
            "head": { "ref": "feature/upload", "sha": head, "repo": { "full_name": "acme/app" } },
            "base": { "ref": base_ref, "sha": base, "repo": { "full_name": "acme/app" } },
        },
        "repository": { "full_name": "acme/app", "default_branch": "main" },
    })
}

#[test]
fn an_allowed_pull_request_passes_with_the_preview_environment() {
    let (repo, base, head) = scripted(&["feat(upload): resume uploads"]);
    let act = repo.run(&ActOptions::event("pull_request").payload(payload(
        "develop",
        &base,
        &head,
        "feat(upload): resume uploads",
    )));
    assert!(act.success, "act failed; its output:\n{}", act.log);
    assert_eq!(repo.result("check.outcome", &act), "success", "{}", act.log);
    assert_eq!(repo.result("check.passed", &act), "true", "{}", act.log);
    assert_eq!(repo.result("check.violations", &act), "[]", "{}", act.log);
    assert_eq!(repo.result("check.environment", &act), "preview");
    assert_eq!(repo.result("env.environment", &act), "preview");
    assert_eq!(repo.result("tool-version", &act), env!("CARGO_PKG_VERSION"));
}

#[test]
fn a_pull_request_against_the_flow_fails_with_its_violations() {
    let (repo, base, head) = scripted(&["feat(upload): resume uploads", "Added retries."]);
    let act = repo.run(&ActOptions::event("pull_request").payload(payload("main", &base, &head, "Resume uploads")));
    assert!(act.success, "the job continues on error; act output:\n{}", act.log);
    assert_eq!(repo.result("check.outcome", &act), "failure", "{}", act.log);
    assert_eq!(repo.result("check.passed", &act), "false", "{}", act.log);
    let violations: serde_json::Value =
        serde_json::from_str(&repo.result("check.violations", &act)).expect("violations are JSON");
    let rules: Vec<&str> = violations
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|v| v["rule"].as_str())
        .collect();
    for rule in ["flow-target", "type-empty"] {
        assert!(rules.contains(&rule), "{rule} in {violations:#}");
    }
    assert!(
        violations
            .as_array()
            .expect("array")
            .iter()
            .any(|v| v["sha"] == head.as_str()),
        "the bad commit is named by sha: {violations:#}"
    );
    assert!(
        act.log.contains(&format!("commit {}", &head[..7])),
        "an annotation names the commit:\n{}",
        act.log
    );
}
