//! The commit-msg hook inside the git operations that write the message
//! themselves: merges (clean, conflicted, of a bare commit), revert,
//! `commit --fixup`, `rebase -i --autosquash` and `cherry-pick -x` all go
//! through, and a bad hand-written message is still refused.

mod common;

use common::{both, guard, text};
use shipgate_testkit::git::{GitFixture, git_with_hooks};

/// main with one commit, the hooks installed.
fn setup() -> GitFixture {
    let repo = GitFixture::new();
    repo.commit_file("app.txt", "one\ntwo\nthree\n", "feat: initial");
    let output = guard(repo.path(), &["hook", "install"]);
    assert_eq!(output.status.code(), Some(0), "{}", both(&output));
    repo
}

/// Runs git with the hooks and asserts it succeeded.
fn git_ok(repo: &GitFixture, args: &[&str]) -> String {
    git_env_ok(repo, args, &[])
}

fn git_env_ok(repo: &GitFixture, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = git_with_hooks(repo.path(), args, env);
    assert!(output.status.success(), "git {args:?} was refused: {}", both(&output));
    text(&output.stdout)
}

fn message(repo: &GitFixture, rev: &str) -> String {
    repo.run_git(&["log", "-1", "--format=%B", rev])
}

fn parents(repo: &GitFixture, rev: &str) -> usize {
    repo.run_git(&["log", "-1", "--format=%P", rev])
        .split_whitespace()
        .count()
}

/// A hand-written commit on a new branch from main.
fn feature(repo: &GitFixture, name: &str, file: &str, content: &str, subject: &str) {
    git_ok(repo, &["switch", "--quiet", "-c", name, "main"]);
    repo.write_file(file, content);
    git_ok(repo, &["add", file]);
    git_ok(repo, &["commit", "--quiet", "-m", subject]);
}

#[test]
fn merges_git_writes_the_message_for_go_through() {
    let repo = setup();
    feature(&repo, "feature/b", "b.txt", "b\n", "feat(b): add b");
    feature(&repo, "feature/a", "a.txt", "a\n", "feat(a): add a");
    // Syncing one feature branch into another: "Merge branch 'feature/b' into feature/a".
    git_ok(&repo, &["merge", "--no-ff", "feature/b"]);
    assert_eq!(parents(&repo, "HEAD"), 2);
    assert_eq!(message(&repo, "HEAD"), "Merge branch 'feature/b' into feature/a\n\n");
    // On main git leaves out " into ..."; a bare commit gives "Merge commit '<sha>'",
    // which is not on commitlint's list: the hook knows a merge is being concluded.
    let b = repo.rev_parse("feature/b");
    git_ok(&repo, &["switch", "--quiet", "main"]);
    git_ok(&repo, &["merge", "--no-ff", &b]);
    assert_eq!(parents(&repo, "HEAD"), 2);
    assert_eq!(message(&repo, "HEAD"), format!("Merge commit '{b}'\n\n"));
    // Even a merge whose message someone rewrote is a merge commit.
    git_ok(&repo, &["merge", "--no-ff", "-m", "sync feature a", "feature/a"]);
    assert_eq!(parents(&repo, "HEAD"), 2);
}

#[test]
fn a_conflicted_merge_resolved_and_committed_goes_through() {
    let repo = setup();
    feature(
        &repo,
        "feature/x",
        "app.txt",
        "one\nTWO from x\nthree\n",
        "fix: shout two",
    );
    feature(
        &repo,
        "feature/y",
        "app.txt",
        "one\ntwo from y\nthree\n",
        "fix: explain two",
    );
    let conflicted = git_with_hooks(repo.path(), &["merge", "feature/x"], &[]);
    assert!(
        !conflicted.status.success(),
        "expected a conflict: {}",
        both(&conflicted)
    );
    assert!(text(&conflicted.stdout).contains("CONFLICT"), "{}", both(&conflicted));
    repo.write_file("app.txt", "one\ntwo from both\nthree\n");
    git_ok(&repo, &["add", "app.txt"]);
    // git's prepared message, with its commented "Conflicts:" section.
    git_ok(&repo, &["commit", "--no-edit"]);
    assert_eq!(parents(&repo, "HEAD"), 2);
    assert!(message(&repo, "HEAD").starts_with("Merge branch 'feature/x' into feature/y"));
}

#[test]
fn revert_fixup_autosquash_and_cherry_pick_go_through() {
    let repo = setup();
    feature(
        &repo,
        "feature/upload",
        "upload.txt",
        "v1\n",
        "feat(upload): resume uploads",
    );
    let first = repo.head();

    repo.write_file("upload.txt", "v2\n");
    git_ok(&repo, &["add", "upload.txt"]);
    git_ok(&repo, &["commit", "--quiet", "--fixup", &first]);
    assert_eq!(message(&repo, "HEAD"), "fixup! feat(upload): resume uploads\n\n");
    git_env_ok(
        &repo,
        &["rebase", "--quiet", "-i", "--autosquash", "main"],
        &[("GIT_SEQUENCE_EDITOR", "true")],
    );
    let subjects = repo.run_git(&["log", "--format=%s", "main..HEAD"]);
    assert_eq!(subjects, "feat(upload): resume uploads\n", "the fixup was folded");

    git_ok(&repo, &["revert", "--no-edit", "HEAD"]);
    assert!(message(&repo, "HEAD").starts_with("Revert \"feat(upload): resume uploads\""));
    // Reverting the revert: git writes `Reapply "..."`.
    git_ok(&repo, &["revert", "--no-edit", "HEAD"]);
    assert!(message(&repo, "HEAD").starts_with("Reapply \"feat(upload): resume uploads\""));

    let picked = repo.head();
    git_ok(&repo, &["switch", "--quiet", "main"]);
    git_ok(&repo, &["cherry-pick", "-x", &picked]);
    assert!(
        message(&repo, "HEAD").contains(&format!("(cherry picked from commit {picked})")),
        "{}",
        message(&repo, "HEAD")
    );
}

#[test]
fn a_bad_hand_written_message_is_still_refused() {
    let repo = setup();
    repo.write_file("notes.txt", "x\n");
    git_ok(&repo, &["add", "notes.txt"]);
    let before = repo.head();
    let output = git_with_hooks(repo.path(), &["commit", "-m", "Added notes."], &[]);
    assert!(!output.status.success(), "{}", both(&output));
    // git shows a commit-msg hook's output on stderr.
    let report = text(&output.stderr);
    assert!(
        report.contains("[type-empty]") && report.contains("[subject-empty]"),
        "{}",
        both(&output)
    );
    assert_eq!(repo.head(), before, "nothing was committed");
    // A message that only looks like git's is linted: this is no merge in progress.
    let output = git_with_hooks(repo.path(), &["commit", "-m", "Merge commit 'abc1234'"], &[]);
    assert!(!output.status.success(), "{}", both(&output));
}

/// git writes the message in `i18n.commitEncoding` and records that encoding
/// in the commit; the hook reads it the same way, from `git -c` or the
/// repository's config. `É` in Latin-1 is one byte that is no UTF-8: read as
/// UTF-8, "Élan" would lose its capital and pass `subject-case`.
#[test]
fn the_message_is_read_in_the_configured_commit_encoding() {
    let repo = setup();
    repo.write_file("notes.txt", "x\n");
    git_ok(&repo, &["add", "notes.txt"]);
    let message_file = repo.path().join(".git/latin1-message");
    let before = repo.head();

    std::fs::write(&message_file, b"feat: \xc9lan vital\n").expect("writing the message");
    let message_arg = message_file.to_str().expect("a UTF-8 path");
    let commit = ["-c", "i18n.commitEncoding=ISO-8859-1", "commit", "-F", message_arg];
    let output = git_with_hooks(repo.path(), &commit, &[]);
    assert!(!output.status.success(), "{}", both(&output));
    let report = text(&output.stderr);
    assert!(
        report.contains("input: feat: Élan vital") && report.contains("[subject-case]"),
        "{}",
        both(&output)
    );
    assert_eq!(repo.head(), before, "nothing was committed");

    // The same from the repository's configuration.
    git_ok(&repo, &["config", "i18n.commitEncoding", "ISO-8859-1"]);
    let output = git_with_hooks(repo.path(), &["commit", "-F", message_arg], &[]);
    assert!(!output.status.success(), "{}", both(&output));
    assert!(
        text(&output.stderr).contains("input: feat: Élan vital"),
        "{}",
        both(&output)
    );

    // A good Latin-1 message is committed, with its encoding recorded.
    std::fs::write(&message_file, b"feat: \xe9lan vital\n").expect("writing the message");
    git_ok(&repo, &["commit", "--quiet", "-F", message_arg]);
    assert!(
        repo.run_git(&["cat-file", "commit", "HEAD"])
            .contains("\nencoding ISO-8859-1\n"),
        "the commit records its encoding"
    );
}
