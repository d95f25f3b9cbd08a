//! `message` and `commits` through the binary, on scripted repositories and
//! event payloads (push, pull_request, merge_group, workflow_dispatch).

mod common;

use common::{both, guard, isolated, text};
use shipgate_testkit::cli::run_with_stdin;
use shipgate_testkit::git::GitFixture;

#[test]
fn message_reads_a_file_or_stdin_and_reports_commitlint_style() {
    let repo = GitFixture::new();
    repo.write_file("MSG", "feat: Add upload.\n\n# Please enter the commit message\n");
    let output = guard(repo.path(), &["message", "MSG"]);
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("[subject-case]") && stdout.contains("[subject-full-stop]"),
        "{stdout}"
    );
    assert!(stdout.contains("found 2 problems, 0 warnings"), "{stdout}");

    let mut command = isolated(common::bin(), repo.path());
    command.args(["message", "-"]);
    let output = run_with_stdin(command, "fix(upload): resume interrupted uploads\n");
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));

    let output = guard(repo.path(), &["message", "missing-file"]);
    assert_eq!(output.status.code(), Some(2), "{}", both(&output));
    assert!(
        text(&output.stderr).contains("cannot read the message file"),
        "{}",
        both(&output)
    );
}

#[test]
fn message_json_and_configured_rules() {
    let repo = GitFixture::new();
    repo.write_file(
        "shipgate.toml",
        "[guard]\ncommit_types = [\"feat\", \"wip\"]\nwarning_rules = [\"subject-case\"]\n",
    );
    repo.write_file("MSG", "wip: Trying things\n");
    let output = guard(repo.path(), &["--json", "message", "MSG"]);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(json["passed"], true);
    assert_eq!(json["findings"][0]["rule"], "subject-case");
    assert_eq!(json["findings"][0]["severity"], "warning");

    repo.write_file("shipgate.toml", "[guard]\ndisabled_rules = [\"no-such-rule\"]\n");
    let output = guard(repo.path(), &["message", "MSG"]);
    assert_eq!(output.status.code(), Some(2), "{}", both(&output));
    assert!(
        text(&output.stderr).contains("unknown rule `no-such-rule`"),
        "{}",
        both(&output)
    );
}

#[test]
fn pr_title_comes_from_the_pull_request_event() {
    let repo = GitFixture::new();
    let event = repo.write_file(
        "event.json",
        &pull_request_payload("Resume uploads", "feature/upload", "develop", "a", "b"),
    );
    let mut command = isolated(common::bin(), repo.path());
    command
        .args(["message", "--pr-title"])
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", &event);
    let output = command.output().expect("run");
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    assert!(text(&output.stdout).contains("[type-empty]"), "{}", both(&output));
}

fn pull_request_payload(title: &str, head: &str, base: &str, head_sha: &str, base_sha: &str) -> String {
    serde_json::json!({
        "action": "opened",
        "number": 7,
        "pull_request": {
            "number": 7,
            "title": title,
            "draft": false,
            "user": { "login": "dev" },
            "head": { "ref": head, "sha": head_sha, "repo": { "full_name": "acme/app" } },
            "base": { "ref": base, "sha": base_sha, "repo": { "full_name": "acme/app" } },
        },
        "repository": { "full_name": "acme/app", "default_branch": "main" },
    })
    .to_string()
}

/// main with one commit, develop, and a feature branch with good, bad, merge and bot commits.
fn scripted() -> (GitFixture, String, String) {
    let repo = GitFixture::new();
    let base = repo.commit("feat: initial");
    repo.branch("develop");
    repo.checkout("develop");
    repo.branch("feature/upload");
    repo.checkout("feature/upload");
    repo.commit("feat(upload): resume uploads");
    repo.commit("Added more stuff.");
    repo.run_git(&[
        "commit",
        "--quiet",
        "--allow-empty",
        "--no-verify",
        "-m",
        "fixup! feat(upload): resume uploads",
    ]);
    repo.run_git(&[
        "-c",
        "user.name=dependabot[bot]",
        "-c",
        "user.email=49699333+dependabot[bot]@users.noreply.github.com",
        "commit",
        "--quiet",
        "--allow-empty",
        "--no-verify",
        "--author",
        "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
        "-m",
        "Bump serde from 1.0.0 to 1.0.1",
    ]);
    repo.checkout("develop");
    repo.commit("docs: readme");
    repo.checkout("feature/upload");
    repo.merge_no_ff("develop", "Merge branch 'develop' into feature/upload");
    let head = repo.head();
    (repo, base, head)
}

#[test]
fn commits_lints_an_explicit_range_and_skips_special_commits() {
    let (repo, base, _) = scripted();
    let output = guard(repo.path(), &["--json", "commits", &format!("{base}..HEAD")]);
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(json["passed"], false);
    let commits = json["commits"].as_array().expect("commits");
    assert_eq!(commits.len(), 6, "{json:#}");
    let by_header = |header: &str| {
        commits
            .iter()
            .find(|c| c["header"] == header)
            .unwrap_or_else(|| panic!("{header} in {json:#}"))
    };
    assert_eq!(by_header("Added more stuff.")["findings"][0]["rule"], "type-empty");
    assert_eq!(
        by_header("Merge branch 'develop' into feature/upload")["special"],
        "merge"
    );
    assert_eq!(by_header("fixup! feat(upload): resume uploads")["skipped"], true);
    assert_eq!(by_header("Bump serde from 1.0.0 to 1.0.1")["special"], "bot");
    assert_eq!(
        by_header("feat(upload): resume uploads")["findings"],
        serde_json::json!([])
    );
    assert_eq!(json["skipped"], 3);

    let output = guard(repo.path(), &["commits", "HEAD~1..HEAD"]);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    let output = guard(repo.path(), &["commits", "nope..HEAD"]);
    assert_eq!(output.status.code(), Some(2), "{}", both(&output));
    let output = guard(repo.path(), &["commits"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "no range and no event: {}",
        both(&output)
    );
}

/// Runs `commits` in Actions for `event` and returns (output, GITHUB_OUTPUT text, summary).
fn commits_for_event(repo: &GitFixture, name: &str, payload: &str) -> (std::process::Output, String, String) {
    let event = repo.write_file(".git/event.json", payload);
    let outputs = repo.path().join(".git/outputs");
    let summary = repo.path().join(".git/summary");
    let mut command = isolated(common::bin(), repo.path());
    command
        .arg("commits")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", name)
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary);
    let output = command.output().expect("run");
    let read = |path: &std::path::Path| std::fs::read_to_string(path).unwrap_or_default();
    (output, read(&outputs), read(&summary))
}

#[test]
fn commits_takes_its_range_from_push_pull_request_and_merge_group_events() {
    let (repo, base, head) = scripted();
    let bad = repo.rev_parse("HEAD~3");
    assert_eq!(text(&git_subject(&repo, &bad)), "Added more stuff.\n");

    let push = serde_json::json!({
        "ref": "refs/heads/feature/upload", "before": base, "after": head,
        "repository": { "full_name": "acme/app", "default_branch": "main" },
    });
    let (output, outputs, summary) = commits_for_event(&repo, "push", &push.to_string());
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(&format!("::error title=commit {} [type-empty]::{bad}", &bad[..7])),
        "the annotation names the commit: {stdout}"
    );
    let values = shipgate_testkit::cli::parse_step_outputs(&outputs);
    assert_eq!(values["passed"], "false", "{outputs}");
    assert!(
        values["violations"].contains(&format!("\"sha\":\"{bad}\"")),
        "{outputs}"
    );
    insta::assert_snapshot!("push_commits_summary", summary);

    let pull = pull_request_payload(
        "feat: upload",
        "feature/upload",
        "develop",
        &head,
        &repo.rev_parse("develop"),
    );
    let (output, _, _) = commits_for_event(&repo, "pull_request", &pull);
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));

    let good_range = serde_json::json!({
        "action": "checks_requested",
        "merge_group": { "head_sha": head, "head_ref": "refs/heads/gh-readonly-queue/develop/pr-7",
                         "base_sha": repo.rev_parse("HEAD~1"), "base_ref": "refs/heads/develop" },
        "repository": { "full_name": "acme/app" },
    });
    let (output, outputs, _) = commits_for_event(&repo, "merge_group", &good_range.to_string());
    assert_eq!(
        output.status.code(),
        Some(0),
        "only the merge commit is new: {}",
        both(&output)
    );
    assert!(outputs.contains("\ntrue\n"), "{outputs}");

    let dispatch =
        serde_json::json!({ "ref": "refs/heads/main", "inputs": {}, "repository": { "full_name": "acme/app" } });
    let (output, _, _) = commits_for_event(&repo, "workflow_dispatch", &dispatch.to_string());
    assert_eq!(output.status.code(), Some(2), "{}", both(&output));
    assert!(text(&output.stderr).contains("pass a RANGE"), "{}", both(&output));

    let deleted = serde_json::json!({
        "ref": "refs/heads/feature/upload", "before": head, "after": "0000000000000000000000000000000000000000",
        "deleted": true, "repository": { "full_name": "acme/app" },
    });
    let (output, _, _) = commits_for_event(&repo, "push", &deleted.to_string());
    assert_eq!(
        output.status.code(),
        Some(0),
        "a deletion has no commits: {}",
        both(&output)
    );
}

fn git_subject(repo: &GitFixture, sha: &str) -> Vec<u8> {
    common::git(repo.path(), &["log", "-1", "--format=%s", sha]).stdout
}

#[test]
fn message_skips_commitlints_ignores_and_exempts_url_lines() {
    let repo = GitFixture::new();
    let reports: Vec<serde_json::Value> = [
        "Revert \"feat(upload): resume uploads\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.\n",
        "chore(release): v1.4.0 [skip ci]\n",
        "chore(deps): bump serde from 1.0.1 to 1.0.2\n\nBumps [serde](https://github.com/serde-rs/serde) from 1.0.1 to 1.0.2.\n- [Commits](https://github.com/serde-rs/serde/compare/v1.0.1...v1.0.2?diff=split&w=1&expand=1)\n",
        "Merge commit 'abc1234'\n",
    ]
    .iter()
    .map(|message| {
        repo.write_file("MSG", message);
        let output = guard(repo.path(), &["--json", "message", "MSG"]);
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", both(&output)))
    })
    .collect();
    insta::assert_json_snapshot!(reports);
}

#[test]
fn a_megabyte_header_is_cut_wherever_it_is_shown() {
    let repo = GitFixture::new();
    let header = format!("feat: {}", "x".repeat(1 << 20));
    repo.write_file("MSG", &format!("{header}\n"));
    let output = guard(repo.path(), &["message", "MSG"]);
    assert_eq!(output.status.code(), Some(1), "exit 1 from header-max-length");
    insta::assert_snapshot!("megabyte_header_message", text(&output.stdout));

    repo.commit("feat: first");
    // A megabyte does not fit in one command-line argument (`-m`).
    repo.run_git(&["commit", "--quiet", "--allow-empty", "--file", "MSG"]);
    let output = guard(repo.path(), &["--json", "commits", "HEAD~1..HEAD"]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    insta::assert_snapshot!(
        "megabyte_header_commits",
        json["commits"][0]["header"].as_str().unwrap()
    );
    assert!(output.stdout.len() < 4096, "{} bytes of JSON", output.stdout.len());
}
