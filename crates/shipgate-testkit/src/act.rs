//! Runs workflows that use shipgate's composite actions under `act`, on this
//! host (`-P ubuntu-latest=-self-hosted`): no Docker, no network.
//!
//! [`ActRepo`] lays out a throwaway git repository shaped like shipgate's own
//! as far as the actions care (the six `action.yml`, `scripts/`), plus the
//! workflow under test and any files the test adds (a `shipgate.toml`,
//! migrations, an event payload). act copies the local repository for the
//! `actions/checkout` step, so `uses: ./release-tagger` resolves to the copy.
//! Every `uses: shipgate/shipgate...@<ref>` in the workflow under test or in
//! shipgate's reusable workflows resolves (`act --local-repository`) to a
//! copy of this checkout's actions and `.github/workflows`, so the callers in
//! `examples/` run as users write them.
//! Workflows report back by writing files under `$RESULT_DIR`, because act
//! discards step summaries and prints outputs only in its log.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::tools::{TOOL_BINARIES, find_tool, shipgate_bin, workspace_root};

/// act builds nothing here, but a first run on a loaded machine is slow.
pub const ACT_TIMEOUT: Duration = Duration::from_secs(300);

/// A repository holding the actions under test and one workflow.
pub struct ActRepo {
    scratch: TempDir,
    repo: PathBuf,
    home: PathBuf,
    results: PathBuf,
}

/// What one `act` run did.
#[derive(Debug)]
pub struct ActRun {
    pub success: bool,
    /// act's combined stdout and stderr, for assertion messages.
    pub log: String,
}

/// How to run act.
#[derive(Debug, Default, Clone)]
pub struct ActOptions {
    /// The event to simulate, e.g. `push` or `pull_request`.
    pub event: String,
    /// The event payload act hands to the workflow (`act -e`).
    pub payload: Option<serde_json::Value>,
    /// Extra `--env NAME=VALUE` pairs for every step.
    pub env: Vec<(String, String)>,
    /// `--secret NAME=VALUE` pairs.
    pub secrets: Vec<(String, String)>,
    /// `--var NAME=VALUE` pairs: the `vars` context (repository variables).
    pub vars: Vec<(String, String)>,
    /// The workflow to run, relative to the repository; `None` is
    /// `.github/workflows/e2e.yml`. Lets one repository hold several callers.
    pub workflow: Option<String>,
    /// Directories searched before the host's `PATH` in every step, so a
    /// caller's plain `python` or `bandit` finds the installed test tools.
    pub path_first: Vec<PathBuf>,
}

impl ActOptions {
    pub fn event(event: &str) -> Self {
        ActOptions {
            event: event.to_string(),
            ..ActOptions::default()
        }
    }

    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.push((name.to_string(), value.into()));
        self
    }

    pub fn secret(mut self, name: &str, value: impl Into<String>) -> Self {
        self.secrets.push((name.to_string(), value.into()));
        self
    }

    pub fn var(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.push((name.to_string(), value.into()));
        self
    }

    pub fn payload(mut self, payload: serde_json::Value) -> Self {
        self.payload = Some(payload);
        self
    }

    /// Runs this workflow file (relative to the repository) instead of `e2e.yml`.
    pub fn workflow(mut self, relative: &str) -> Self {
        self.workflow = Some(relative.to_string());
        self
    }

    /// Puts `dir` before the host's `PATH` (after directories added earlier).
    pub fn path_first(mut self, dir: impl Into<PathBuf>) -> Self {
        self.path_first.push(dir.into());
        self
    }
}

impl ActRepo {
    /// A repository with the actions and `fixtures/workflows/<workflow>` as
    /// `.github/workflows/e2e.yml`, not yet committed: add files, then [`run`](Self::run).
    pub fn new(workflow: &str) -> Self {
        Self::from_workflow_file(&workspace_root().join("fixtures/workflows").join(workflow))
    }

    /// Like [`new`](Self::new), for any workflow file, e.g. one of `examples/`.
    pub fn from_workflow_file(workflow_file: &Path) -> Self {
        let source = workspace_root();
        let scratch = tempfile::tempdir().expect("creating a temp dir");
        let repo = scratch.path().join("repo");
        let home = scratch.path().join("home");
        let results = scratch.path().join("results");
        for dir in [&repo, &home, &results] {
            fs::create_dir_all(dir).expect("creating act dirs");
        }
        fs::create_dir_all(repo.join(".github/workflows")).unwrap();
        fs::copy(source.join("action.yml"), repo.join("action.yml")).unwrap();
        for tool in TOOL_BINARIES {
            copy_dir(&source.join(tool), &repo.join(tool));
        }
        copy_dir(&source.join("scripts"), &repo.join("scripts"));
        copy_shipgate_checkout(&source, &scratch.path().join(SHIPGATE_CHECKOUT));
        fs::copy(workflow_file, repo.join(".github/workflows/e2e.yml"))
            .unwrap_or_else(|e| panic!("copying {}: {e}", workflow_file.display()));
        git(&repo, &["init", "--quiet", "--initial-branch=main"]);
        ActRepo {
            scratch,
            repo,
            home,
            results,
        }
    }

    pub fn path(&self) -> &Path {
        &self.repo
    }

    /// Where the workflow writes what it reports (`$RESULT_DIR`).
    pub fn results_dir(&self) -> &Path {
        &self.results
    }

    /// A scratch directory outside the repository, removed with it.
    pub fn scratch_dir(&self) -> &Path {
        self.scratch.path()
    }

    /// Adds a file to the repository (committed by [`run`](Self::run)).
    pub fn write_file(&self, relative: &str, contents: &str) -> &Self {
        let path = self.repo.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        self
    }

    /// Runs `git` in the repository (for tests that need branches or
    /// remotes) and returns its trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.repo, args)
    }

    /// Commits everything, then runs the workflow with the built binaries
    /// handed in through `SHIPGATE_BIN_DIR`.
    pub fn run(&self, options: &ActOptions) -> ActRun {
        git(&self.repo, &["add", "--all"]);
        // A second run in the same repo may have nothing new to commit.
        let status = Command::new("git")
            .args(["diff", "--cached", "--quiet"])
            .current_dir(&self.repo)
            .status()
            .expect("running git");
        if !status.success() {
            git(&self.repo, &["commit", "--quiet", "--message", "actions under test"]);
        }
        let act = find_tool("act").expect("act is required");
        let log_path = self.scratch.path().join("act.log");
        let log = fs::File::create(&log_path).unwrap();
        let mut command = Command::new(&act);
        command
            .arg(if options.event.is_empty() {
                "push"
            } else {
                &options.event
            })
            .arg("--workflows")
            .arg(options.workflow.as_deref().unwrap_or(".github/workflows/e2e.yml"))
            // `-self-hosted` runs the job on this host: no Docker.
            .args(["--platform", "ubuntu-latest=-self-hosted"])
            // Nothing may be fetched: checkout is skipped for the local repo
            // and every other action is local.
            .arg("--action-offline-mode")
            .arg("--env")
            .arg(format!("SHIPGATE_BIN_DIR={}", built_bin_dir().display()))
            .arg("--env")
            .arg(format!("RESULT_DIR={}", self.results.display()));
        let checkout = self.scratch.path().join(SHIPGATE_CHECKOUT);
        let workflow_dirs = [
            &self.repo.join(".github/workflows"),
            &checkout.join(".github/workflows"),
        ];
        for reference in action_refs(&workflow_dirs, SHIPGATE_REPOSITORY) {
            command
                .arg("--local-repository")
                .arg(format!("{SHIPGATE_REPOSITORY}@{reference}={}", checkout.display()));
        }
        for repository in STUBBED_ACTIONS {
            let stub = Path::new(env!("CARGO_MANIFEST_DIR")).join("act-stubs").join(repository);
            for reference in action_refs(&workflow_dirs, repository) {
                command
                    .arg("--local-repository")
                    .arg(format!("{repository}@{reference}={}", stub.display()));
            }
        }
        for (name, value) in &options.env {
            command.arg("--env").arg(format!("{name}={value}"));
        }
        for (name, value) in &options.secrets {
            command.arg("--secret").arg(format!("{name}={value}"));
        }
        for (name, value) in &options.vars {
            command.arg("--var").arg(format!("{name}={value}"));
        }
        if let Some(payload) = &options.payload {
            let payload_path = self.scratch.path().join("event.json");
            fs::write(&payload_path, serde_json::to_vec_pretty(payload).unwrap()).unwrap();
            command.arg("--eventpath").arg(&payload_path);
        }
        let mut child = command
            .current_dir(&self.repo)
            // A fresh HOME keeps any ~/.actrc and act's cache of the developer
            // out of the run; PATH is all the job needs from outside.
            .env_clear()
            .env("PATH", job_path(&options.path_first))
            .env("HOME", &self.home)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", act.display()));

        let deadline = Instant::now() + ACT_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for act") {
                break Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        let mut log = fs::read_to_string(&log_path).unwrap_or_default();
        if status.is_none() {
            log.push_str(&format!("\n[act killed after {ACT_TIMEOUT:?}]\n"));
        }
        ActRun {
            success: status.is_some_and(|status| status.success()),
            log,
        }
    }

    /// A file the workflow wrote under `$RESULT_DIR`; panics with act's log if missing.
    pub fn result(&self, name: &str, run: &ActRun) -> String {
        let path = self.results.join(name);
        fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{} was not written ({e}); act output:\n{}", path.display(), run.log))
    }
}

/// The host's `PATH` behind `first`: act's host runner hands it to every step.
fn job_path(first: &[PathBuf]) -> std::ffi::OsString {
    let host = std::env::var_os("PATH").unwrap_or_default();
    let dirs = first.iter().cloned().chain(std::env::split_paths(&host));
    std::env::join_paths(dirs).expect("no `:` in the PATH directories")
}

/// Where callers and the reusable workflows find shipgate on GitHub.
pub const SHIPGATE_REPOSITORY: &str = "shipgate/shipgate";

/// The scratch subdirectory standing in for `shipgate/shipgate` at any ref.
const SHIPGATE_CHECKOUT: &str = "shipgate-checkout";

/// Copies what a `shipgate/shipgate` reference can name, the actions and the
/// reusable workflows, but nothing built: act archives the whole folder.
fn copy_shipgate_checkout(source: &Path, checkout: &Path) {
    fs::create_dir_all(checkout.join(".github")).unwrap();
    fs::copy(source.join("action.yml"), checkout.join("action.yml")).unwrap();
    for tool in TOOL_BINARIES {
        copy_dir(&source.join(tool), &checkout.join(tool));
    }
    copy_dir(&source.join("scripts"), &checkout.join("scripts"));
    copy_dir(&source.join(".github/workflows"), &checkout.join(".github/workflows"));
}

/// Actions the reusable workflows use that act, offline, cannot fetch (and
/// code scanning, which act does not have); each resolves to a stand-in
/// under `act-stubs/<owner>/<name>` that records what it was given under
/// `$RESULT_DIR` (download-artifact reads what upload-artifact kept there).
const STUBBED_ACTIONS: [&str; 3] = [
    "actions/upload-artifact",
    "actions/download-artifact",
    "github/codeql-action",
];

/// Every ref at which the workflows in `dirs` use `repository` (`@v1`, a
/// pinned SHA, ...), so act can resolve each one to a local directory
/// instead of fetching from GitHub.
fn action_refs(dirs: &[&PathBuf], repository: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for dir in dirs {
        let Ok(entries) = fs::read_dir(dir) else { continue };
        for entry in entries.flatten() {
            let text = fs::read_to_string(entry.path()).unwrap_or_default();
            for line in text.lines() {
                let Some((_, rest)) = line.split_once(&format!("uses: {repository}")) else {
                    continue;
                };
                let Some((_, reference)) = rest.split_once('@') else {
                    continue;
                };
                let reference = reference
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .trim_matches(['"', '\'']);
                if !reference.is_empty() && !refs.iter().any(|known| known == reference) {
                    refs.push(reference.to_string());
                }
            }
        }
    }
    refs
}

/// The binaries' directory, after making sure all five are built.
pub fn built_bin_dir() -> PathBuf {
    shipgate_bin(TOOL_BINARIES[0])
        .parent()
        .expect("target/debug")
        .to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("creating {}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("reading {}: {e}", from.display())) {
        let entry = entry.unwrap();
        let name = entry.file_name();
        // Installed npm packages are not part of the actions.
        if name == "node_modules" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("copying {}: {e}", entry.path().display()));
        }
    }
}

/// Runs `git` in `dir` as the act tests do: no user or system config, a
/// fixed identity and date. Returns trimmed stdout; panics with stderr.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "shipgate e2e")
        .env("GIT_AUTHOR_EMAIL", "e2e@shipgate.invalid")
        .env("GIT_COMMITTER_NAME", "shipgate e2e")
        .env("GIT_COMMITTER_EMAIL", "e2e@shipgate.invalid")
        .env("GIT_AUTHOR_DATE", "2024-01-14T10:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-14T10:00:00Z")
        .output()
        .expect("running git (install it with `apt-get install -y git`)");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}
