//! Runs the notify binary the way a workflow step would: isolated from the
//! caller's environment (`shipgate_testkit::cli`), with only the GitHub
//! context and the variables a test passes, in a scratch directory,
//! capturing everything it writes.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// A finished notify run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// `$GITHUB_OUTPUT` as written.
    pub outputs: String,
    /// `$GITHUB_STEP_SUMMARY` as written.
    pub summary: String,
}

impl Run {
    /// Everything the run wrote anywhere, for secret checks. `::add-mask::`
    /// lines are the one place a secret must appear: they tell the runner
    /// what to hide, and the runner never shows them.
    pub fn everything(&self) -> String {
        let all = format!("{}\n{}\n{}\n{}", self.stdout, self.stderr, self.outputs, self.summary);
        all.lines()
            .filter(|line| !line.starts_with("::add-mask::"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// stdout without workflow commands.
    pub fn stdout_text(&self) -> String {
        self.stdout
            .lines()
            .filter(|line| !line.starts_with("::"))
            .map(|line| format!("{line}\n"))
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout_text()).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }

    /// The step output `name`, as the runner reads `$GITHUB_OUTPUT`.
    pub fn output(&self, name: &str) -> Option<String> {
        shipgate_testkit::cli::parse_step_outputs(&self.outputs).remove(name)
    }
}

/// A scratch workspace acting as the job's runner.
pub struct Runner {
    pub dir: TempDir,
    pub env: Vec<(String, String)>,
}

impl Runner {
    /// A runner inside GitHub Actions for acme/shop at a fixed commit.
    pub fn in_actions() -> Runner {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("repo")).unwrap();
        let env = [
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "acme/shop"),
            ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_REF_NAME", "main"),
            ("GITHUB_ACTOR", "octocat"),
            ("GITHUB_RUN_ID", "4242"),
            ("GITHUB_WORKFLOW", "Deploy"),
            ("GITHUB_SERVER_URL", "https://github.com"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Runner { dir, env }
    }

    /// A runner on a laptop: no GitHub context.
    pub fn local() -> Runner {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("repo")).unwrap();
        Runner { dir, env: Vec::new() }
    }

    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    pub fn env(mut self, name: &str, value: &str) -> Runner {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.repo().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let outputs = self.dir.path().join("output");
        let summary = self.dir.path().join("summary");
        std::fs::write(&outputs, "").unwrap();
        std::fs::write(&summary, "").unwrap();
        let mut command = shipgate_testkit::cli::command(env!("CARGO_BIN_EXE_notify"), &self.repo());
        command.args(args).env("HOME", self.dir.path());
        if self.env.iter().any(|(k, _)| k == "GITHUB_ACTIONS") {
            command
                .env("GITHUB_OUTPUT", &outputs)
                .env("GITHUB_STEP_SUMMARY", &summary);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let out = command.output().expect("running notify");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            outputs: read(&outputs),
            summary: read(&summary),
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `base` (http://127.0.0.1:port) with the scheme replaced by `kind+http`.
pub fn kind_url(kind: &str, base: &str, path: &str) -> String {
    format!("{kind}+{base}{path}")
}

/// A 32-character PagerDuty routing key.
pub const ROUTING_KEY: &str = "R0UT1NGkey0123456789abcdefABCDEF";
