//! The pre-push and commit-msg hooks through real `git push` / `git commit`
//! to a local bare remote: blocked and allowed pushes, new branches,
//! deletions, force pushes, tags, core.hooksPath and chained hooks.

mod common;

use common::{both, git, guard, text};
use shipgate_testkit::git::{BareRemote, GitFixture};

/// main and develop on a bare remote, hooks installed.
fn setup() -> (GitFixture, BareRemote) {
    let repo = GitFixture::new();
    repo.commit("feat: initial");
    repo.branch("develop");
    let remote = repo.bare_remote();
    repo.run_git(&["fetch", "--quiet", "origin"]);
    let output = guard(repo.path(), &["hook", "install"]);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    (repo, remote)
}

fn push(repo: &GitFixture, args: &[&str]) -> std::process::Output {
    let mut full = vec!["push", "origin"];
    full.extend_from_slice(args);
    git(repo.path(), &full)
}

fn assert_blocked(output: &std::process::Output, expected: &[&str]) {
    assert!(!output.status.success(), "push should be blocked: {}", both(output));
    let stderr = text(&output.stderr);
    for needle in expected.iter().chain(&["--no-verify", "fix:"]) {
        assert!(stderr.contains(needle), "missing {needle:?}: {}", both(output));
    }
}

#[test]
fn feature_branches_with_conventional_commits_go_through() {
    let (repo, remote) = setup();
    repo.run_git(&["switch", "--quiet", "-c", "feature/upload"]);
    let head = repo.commit("feat(upload): resume uploads");
    let output = push(&repo, &["feature/upload"]);
    assert!(output.status.success(), "{}", both(&output));
    assert_eq!(remote.resolve("refs/heads/feature/upload"), Some(head));
    // A release tag is fine too.
    repo.tag("v1.2.0");
    let output = push(&repo, &["v1.2.0"]);
    assert!(output.status.success(), "{}", both(&output));
    // Deleting an unprotected branch is fine.
    let output = push(&repo, &[":feature/upload"]);
    assert!(output.status.success(), "{}", both(&output));
    assert_eq!(remote.resolve("refs/heads/feature/upload"), None);
}

#[test]
fn badly_named_new_branches_are_blocked_with_the_fix() {
    let (repo, remote) = setup();
    repo.run_git(&["switch", "--quiet", "-c", "Feature/Login"]);
    repo.commit("feat: login");
    let output = push(&repo, &["Feature/Login"]);
    assert_blocked(
        &output,
        &[
            "new branch `Feature/Login`",
            "git branch -m Feature/Login feature/login",
        ],
    );
    assert_eq!(remote.resolve("refs/heads/Feature/Login"), None);
}

#[test]
fn only_new_non_conventional_commits_block() {
    let (repo, remote) = setup();
    repo.run_git(&["switch", "--quiet", "-c", "feature/upload"]);
    let bad = repo.commit("Added stuff");
    let output = push(&repo, &["feature/upload"]);
    assert_blocked(
        &output,
        &[&format!("commit {}", &bad[..7]), "[type-empty]", "git rebase -i"],
    );
    assert_eq!(remote.resolve("refs/heads/feature/upload"), None);

    // Bypassed once, the old commit is history: the next push only checks new commits.
    let output = git(repo.path(), &["push", "--no-verify", "origin", "feature/upload"]);
    assert!(output.status.success(), "{}", both(&output));
    let good = repo.commit("fix(upload): retry");
    let output = push(&repo, &["feature/upload"]);
    assert!(output.status.success(), "{}", both(&output));
    assert_eq!(remote.resolve("refs/heads/feature/upload"), Some(good));
}

#[test]
fn protected_branches_refuse_direct_pushes_force_pushes_and_deletion() {
    let (repo, remote) = setup();
    let before = remote.resolve("refs/heads/main");
    repo.commit("fix: direct to main");
    let output = push(&repo, &["main"]);
    assert_blocked(
        &output,
        &["direct push to protected branch `main`", "open a pull request"],
    );
    assert_eq!(remote.resolve("refs/heads/main"), before);

    repo.run_git(&["switch", "--quiet", "develop"]);
    repo.commit("fix: on develop");
    let output = git(repo.path(), &["push", "--no-verify", "origin", "develop"]);
    assert!(output.status.success(), "{}", both(&output));
    repo.run_git(&["reset", "--quiet", "--hard", "HEAD~1"]);
    repo.commit("fix: rewritten develop");
    let output = push(&repo, &["--force", "develop"]);
    assert_blocked(
        &output,
        &["force push (non-fast-forward) to protected branch `develop`"],
    );

    let output = push(&repo, &[":develop"]);
    assert_blocked(&output, &["deleting protected branch `develop`"]);
    assert!(remote.resolve("refs/heads/develop").is_some());
}

#[test]
fn tags_must_be_release_versions() {
    let (repo, remote) = setup();
    repo.tag("v1.2");
    let output = push(&repo, &["v1.2"]);
    assert_blocked(&output, &["tag `v1.2` is not a release version `vX.Y.Z`"]);
    assert_eq!(remote.resolve("refs/tags/v1.2"), None);
}

#[test]
fn existing_hooks_are_chained_and_get_the_same_input() {
    let repo = GitFixture::new();
    repo.commit("feat: initial");
    let _remote = repo.bare_remote();
    let hooks = repo.path().join(".git/hooks");
    std::fs::create_dir_all(&hooks).expect("hooks dir");
    let theirs = hooks.join("pre-push");
    std::fs::write(
        &theirs,
        "#!/bin/sh\ncat > \"$(git rev-parse --git-dir)/chained-input\"\necho \"$1 $2\" > \"$(git rev-parse --git-dir)/chained-args\"\nexit \"${CHAINED_EXIT:-0}\"\n",
    )
    .expect("write hook");
    make_executable(&theirs);
    let output = guard(repo.path(), &["hook", "install"]);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    assert!(
        text(&output.stdout).contains("pre-push: installed chained"),
        "{}",
        both(&output)
    );

    repo.run_git(&["switch", "--quiet", "-c", "feature/a"]);
    repo.commit("feat: a");
    let output = push(&repo, &["feature/a"]);
    assert!(output.status.success(), "{}", both(&output));
    let input = std::fs::read_to_string(repo.path().join(".git/chained-input")).expect("the chained hook ran");
    assert!(input.contains("refs/heads/feature/a"), "{input}");
    let args = std::fs::read_to_string(repo.path().join(".git/chained-args")).expect("args");
    assert!(args.starts_with("origin file://"), "{args}");

    // The chained hook's refusal stops the push even when ours would allow it.
    repo.commit("feat: b");
    let mut command = common::isolated("git", repo.path());
    command.args(["push", "origin", "feature/a"]).env("CHAINED_EXIT", "1");
    let output = command.output().expect("git push");
    assert!(!output.status.success(), "{}", both(&output));

    // --force replaces instead; uninstall restores what was there.
    let output = guard(repo.path(), &["hook", "uninstall"]);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    assert!(
        std::fs::read_to_string(&theirs)
            .expect("restored")
            .contains("chained-input")
    );
}

#[test]
fn hooks_path_is_honoured_and_commit_msg_lints() {
    let repo = GitFixture::new();
    repo.commit("feat: initial");
    repo.run_git(&["config", "core.hooksPath", ".githooks"]);
    let output = guard(repo.path(), &["hook", "install", "--dry-run"]);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    assert!(!repo.path().join(".githooks").exists(), "--dry-run wrote nothing");
    let output = guard(repo.path(), &["hook", "install"]);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    assert!(repo.path().join(".githooks/pre-push").is_file());
    assert!(repo.path().join(".githooks/commit-msg").is_file());

    repo.write_file("a.txt", "a\n");
    git(repo.path(), &["add", "a.txt"]);
    let output = git(repo.path(), &["commit", "--quiet", "-m", "Added a."]);
    assert!(!output.status.success(), "{}", both(&output));
    // git forwards the hook's output to its stderr.
    assert!(text(&output.stderr).contains("[type-empty]"), "{}", both(&output));
    let output = git(repo.path(), &["commit", "--quiet", "-m", "feat: add a"]);
    assert!(output.status.success(), "{}", both(&output));
}

fn make_executable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn pre_commit_framework_variables_stand_in_for_stdin() {
    let (repo, _remote) = setup();
    let head = repo.commit("fix: direct to main");
    let mut command = common::isolated(common::bin(), repo.path());
    command
        .arg("pre-push")
        .env("PRE_COMMIT_REMOTE_NAME", "origin")
        .env("PRE_COMMIT_REMOTE_URL", "file:///remote")
        .env("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/main")
        .env("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/main")
        .env("PRE_COMMIT_TO_REF", &head)
        .env("PRE_COMMIT_FROM_REF", repo.rev_parse("HEAD~1"))
        .stdin(std::process::Stdio::null());
    let output = command.output().expect("run");
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    assert!(
        text(&output.stderr).contains("direct push to protected branch `main`"),
        "{}",
        both(&output)
    );
}

#[test]
fn malformed_input_is_a_usage_error_naming_the_line() {
    let (repo, _remote) = setup();
    let head = repo.head();
    let zero = "0".repeat(40);
    let input = format!(
        "refs/heads/feature/x {head} refs/heads/feature/x {zero}\nrefs/heads/feature/y abc123 refs/heads/feature/y {zero}\n"
    );
    let mut command = common::isolated(common::bin(), repo.path());
    command.args(["pre-push", "origin", "file:///remote"]);
    let output = shipgate_testkit::cli::run_with_stdin(command, &input);
    assert_eq!(output.status.code(), Some(2), "{}", both(&output));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{}", both(&output));
    assert!(
        stderr.contains(
            "pre-push input line 2 is malformed (the local sha `abc123` is not a full hexadecimal object name)"
        ),
        "{}",
        both(&output)
    );
}

#[test]
fn new_branches_git_would_refuse_are_blocked_with_gits_reason() {
    let (repo, _remote) = setup();
    let head = repo.head();
    let zero = "0".repeat(40);
    let input = format!("refs/heads/feature/x {head} refs/heads/feature/a..b {zero}\n");
    let mut command = common::isolated(common::bin(), repo.path());
    command.args(["pre-push", "origin", "file:///remote"]);
    let output = shipgate_testkit::cli::run_with_stdin(command, &input);
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    assert!(
        text(&output.stderr).contains("new branch `feature/a..b` is not a valid git branch name: it contains `..`"),
        "{}",
        both(&output)
    );
    let output = guard(repo.path(), &["branch", "feature/x.lock"]);
    assert_eq!(output.status.code(), Some(1), "{}", both(&output));
    assert_eq!(
        text(&output.stdout),
        "`feature/x.lock` is not a valid git branch name: a `/`-separated part ends with `.lock` (git check-ref-format)\n"
    );
}
