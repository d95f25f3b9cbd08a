//! Scripted git repositories for tests, built with the real `git` CLI.
//!
//! Every commit and annotated tag gets a fixed date (2024-01-14T10:00:00Z
//! plus one minute per step) and fixed identities, so the same script
//! produces the same shas on every machine. Failures panic with git's
//! stderr: this is test code, and a clear panic is the best report.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use tempfile::TempDir;

/// 2024-01-14T10:00:00Z, the date of step 0.
const BASE_EPOCH: u64 = 1_705_226_400;

pub const AUTHOR_NAME: &str = "Shipgate Tester";
pub const AUTHOR_EMAIL: &str = "tester@shipgate.invalid";

/// Runs git in `dir` isolated from the user's and the system's git config
/// (signing, hooks, templates, default branch), with `date` as author and
/// committer date. Panics with stderr on failure.
fn git_in(dir: &Path, args: &[&str], date: &str) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", AUTHOR_NAME)
        .env("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
        .env("GIT_COMMITTER_NAME", AUTHOR_NAME)
        .env("GIT_COMMITTER_EMAIL", AUTHOR_EMAIL)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|err| panic!("cannot run `git`: {err}; install git (apt-get install git) to run these tests"));
    if !output.status.success() {
        panic!(
            "`git {}` failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Isolates `command` as [`crate::cli::isolate`] does, for git and the
/// hooks it runs: fixed identities, no editor (`GIT_EDITOR=true` keeps the
/// message git prepared), English messages and no colour.
pub fn isolate<'c>(command: &'c mut Command, dir: &Path) -> &'c mut Command {
    crate::cli::isolate(command, dir)
        .env("GIT_EDITOR", "true")
        .env("GIT_AUTHOR_NAME", AUTHOR_NAME)
        .env("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
        .env("GIT_COMMITTER_NAME", AUTHOR_NAME)
        .env("GIT_COMMITTER_EMAIL", AUTHOR_EMAIL)
        .env("LC_ALL", "C")
        .env("NO_COLOR", "1")
}

/// Runs git in `dir` as a person would, hooks and all (the fixture's own
/// helpers pass `--no-verify`), isolated as [`isolate`] does, plus `env`.
/// Returns the output, success or not, for the test to judge.
pub fn git_with_hooks(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new("git");
    isolate(&mut command, dir)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|err| panic!("cannot run `git`: {err}; install git (apt-get install git) to run these tests"))
}

fn date_of(step: u64) -> String {
    format!("{} +0000", BASE_EPOCH + step * 60)
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// A temporary git repository driven by a script of commits, branches,
/// merges and tags. The directory is deleted on drop.
#[derive(Debug)]
pub struct GitFixture {
    dir: TempDir,
    step: AtomicU64,
}

impl Default for GitFixture {
    fn default() -> Self {
        GitFixture::new()
    }
}

impl GitFixture {
    /// An empty repository on branch `main`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("create a temp dir for the git fixture");
        let fixture = GitFixture {
            dir,
            step: AtomicU64::new(0),
        };
        fixture.run_git(&["init", "--quiet", "-b", "main"]);
        fixture.configure_identity();
        fixture
    }

    /// A clone of `other` limited to the last `depth` commits, made over
    /// `file://` so git really creates a shallow repository.
    pub fn shallow_clone_of(other: &GitFixture, depth: u32) -> Self {
        let dir = tempfile::tempdir().expect("create a temp dir for the shallow clone");
        let depth = depth.to_string();
        let source = file_url(other.path());
        let target = dir.path().to_str().expect("temp dir path is UTF-8");
        git_in(
            dir.path(),
            &[
                "clone",
                "--quiet",
                "--depth",
                &depth,
                "--no-single-branch",
                &source,
                target,
            ],
            &date_of(0),
        );
        let fixture = GitFixture {
            dir,
            step: AtomicU64::new(other.step.load(Ordering::SeqCst)),
        };
        fixture.configure_identity();
        fixture
    }

    /// A full clone of a bare remote (e.g. a second developer's checkout).
    pub fn clone_of(remote: &BareRemote) -> Self {
        let dir = tempfile::tempdir().expect("create a temp dir for the clone");
        let target = dir.path().to_str().expect("temp dir path is UTF-8");
        git_in(dir.path(), &["clone", "--quiet", &remote.url(), target], &date_of(0));
        let fixture = GitFixture {
            dir,
            step: AtomicU64::new(1000),
        };
        fixture.configure_identity();
        fixture
    }

    fn configure_identity(&self) {
        self.run_git(&["config", "user.name", AUTHOR_NAME]);
        self.run_git(&["config", "user.email", AUTHOR_EMAIL]);
        self.run_git(&["config", "commit.gpgsign", "false"]);
        self.run_git(&["config", "tag.gpgsign", "false"]);
    }

    /// The working tree.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `git args...` in the repository at the current step's date and
    /// returns stdout; panics with stderr on failure.
    pub fn run_git(&self, args: &[&str]) -> String {
        git_in(self.path(), args, &date_of(self.step.load(Ordering::SeqCst)))
    }

    /// Moves the clock `minutes` on: the next commit or tag is dated that
    /// much later (histories that span days, for date-ordered walks).
    pub fn advance_clock(&self, minutes: u64) {
        self.step.fetch_add(minutes, Ordering::SeqCst);
    }

    /// Moves the clock one minute on, for the next commit or tag.
    fn next_step(&self) {
        self.step.fetch_add(1, Ordering::SeqCst);
    }

    /// Resolves `rev` to a full sha.
    pub fn rev_parse(&self, rev: &str) -> String {
        self.run_git(&["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
            .trim()
            .to_owned()
    }

    /// The sha of HEAD.
    pub fn head(&self) -> String {
        self.rev_parse("HEAD")
    }

    /// Writes `content` to `path` (relative to the repository) without
    /// staging it.
    pub fn write_file(&self, path: &str, content: &str) -> PathBuf {
        let full = self.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create parent directories");
        }
        std::fs::write(&full, content).expect("write fixture file");
        full
    }

    /// Commits a new file named after the step, so commits are never empty
    /// and branches never conflict; returns the sha.
    pub fn commit(&self, message: &str) -> String {
        let name = format!("changes/{:04}.txt", self.step.load(Ordering::SeqCst) + 1);
        self.commit_file(&name, &format!("{message}\n"), message)
    }

    /// Writes `content` to `path`, stages it and commits; returns the sha.
    pub fn commit_file(&self, path: &str, content: &str, message: &str) -> String {
        self.write_file(path, content);
        self.run_git(&["add", "--", path]);
        self.next_step();
        self.run_git(&["commit", "--quiet", "--no-verify", "-m", message]);
        self.head()
    }

    /// Creates branch `name` at HEAD without switching to it.
    pub fn branch(&self, name: &str) {
        self.run_git(&["branch", name]);
    }

    /// Switches to branch (or commit) `name`.
    pub fn checkout(&self, name: &str) {
        self.run_git(&["checkout", "--quiet", name]);
    }

    /// Merges `branch` into the current branch with a merge commit; returns
    /// the merge commit's sha.
    pub fn merge_no_ff(&self, branch: &str, message: &str) -> String {
        self.next_step();
        self.run_git(&["merge", "--quiet", "--no-ff", "--no-verify", "-m", message, branch]);
        self.head()
    }

    /// A lightweight tag at HEAD.
    pub fn tag(&self, name: &str) {
        self.run_git(&["tag", name]);
    }

    /// An annotated tag at HEAD.
    pub fn tag_annotated(&self, name: &str, message: &str) {
        self.next_step();
        self.run_git(&["tag", "-a", name, "-m", message]);
    }

    /// Creates a bare repository, adds it as `origin` and pushes every
    /// branch and tag to it.
    pub fn bare_remote(&self) -> BareRemote {
        let remote = BareRemote::new();
        self.run_git(&["remote", "add", "origin", &remote.url()]);
        self.run_git(&["push", "--quiet", "origin", "--all"]);
        self.run_git(&["push", "--quiet", "origin", "--tags"]);
        remote
    }
}

/// A bare repository in a temp dir, usable as a remote over `file://`.
#[derive(Debug)]
pub struct BareRemote {
    dir: TempDir,
}

impl Default for BareRemote {
    fn default() -> Self {
        BareRemote::new()
    }
}

impl BareRemote {
    /// An empty bare repository whose HEAD is `main`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("create a temp dir for the bare remote");
        let remote = BareRemote { dir };
        remote.run_git(&["init", "--quiet", "--bare", "-b", "main"]);
        remote
    }

    /// The bare repository's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `file://` URL of the repository.
    pub fn url(&self) -> String {
        file_url(self.path())
    }

    /// Runs git inside the bare repository; panics with stderr on failure.
    pub fn run_git(&self, args: &[&str]) -> String {
        git_in(self.path(), args, &date_of(0))
    }

    /// The sha `reference` points to (peeled to a commit), or `None` if it
    /// does not exist.
    pub fn resolve(&self, reference: &str) -> Option<String> {
        let output = Command::new("git")
            .args(["rev-parse", "--verify", "--quiet"])
            .arg(format!("{reference}^{{commit}}"))
            .current_dir(self.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("run git rev-parse");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script() -> GitFixture {
        let repo = GitFixture::new();
        repo.commit("feat: first");
        repo.tag("v0.1.0");
        repo.branch("feature");
        repo.checkout("feature");
        repo.commit("fix: on feature");
        repo.checkout("main");
        repo.commit_file("README.md", "# demo\n", "docs: readme");
        repo.merge_no_ff("feature", "Merge branch 'feature'");
        repo.tag_annotated("v0.2.0", "release 0.2.0");
        repo
    }

    #[test]
    fn the_same_script_gives_the_same_shas() {
        let first = script();
        let second = script();
        assert_eq!(first.head(), second.head());
        assert_eq!(first.rev_parse("v0.2.0"), second.rev_parse("v0.2.0"));
        assert_eq!(
            first.run_git(&["rev-parse", "v0.2.0"]),
            second.run_git(&["rev-parse", "v0.2.0"]),
            "annotated tag objects are reproducible too"
        );
    }

    #[test]
    fn commits_get_consecutive_minutes() {
        let repo = GitFixture::new();
        repo.commit("one");
        repo.commit("two");
        let dates = repo.run_git(&["log", "--format=%at %ct"]);
        // 2024-01-14T10:02:00Z and 10:01:00Z.
        assert_eq!(dates, "1705226520 1705226520\n1705226460 1705226460\n");
    }

    #[test]
    fn merges_create_a_two_parent_commit() {
        let repo = script();
        let parents = repo.run_git(&["rev-list", "--parents", "-n", "1", "HEAD"]);
        assert_eq!(parents.split_whitespace().count(), 3, "{parents}");
        let subjects = repo.run_git(&["log", "--format=%s", "--first-parent"]);
        assert_eq!(subjects, "Merge branch 'feature'\ndocs: readme\nfeat: first\n");
    }

    #[test]
    fn bare_remote_receives_branches_and_tags() {
        let repo = script();
        let remote = repo.bare_remote();
        assert_eq!(remote.resolve("refs/heads/main"), Some(repo.head()));
        assert_eq!(remote.resolve("refs/heads/feature"), Some(repo.rev_parse("feature")));
        assert_eq!(remote.resolve("refs/tags/v0.1.0"), Some(repo.rev_parse("v0.1.0")));
        assert_eq!(remote.resolve("refs/tags/nope"), None);
        let clone = GitFixture::clone_of(&remote);
        assert_eq!(clone.head(), repo.head());
    }

    #[test]
    fn shallow_clones_are_really_shallow() {
        let repo = script();
        let shallow = GitFixture::shallow_clone_of(&repo, 1);
        assert_eq!(shallow.run_git(&["rev-parse", "--is-shallow-repository"]), "true\n");
        assert_eq!(shallow.head(), repo.head());
        assert_eq!(shallow.run_git(&["rev-list", "--count", "HEAD"]), "1\n");
    }

    #[test]
    #[should_panic(expected = "`git checkout --quiet does-not-exist` failed")]
    fn git_failures_panic_with_stderr() {
        GitFixture::new().checkout("does-not-exist");
    }
}
