//! Helpers shared by migrate-runner's integration tests: run the built
//! binary isolated from the caller's environment, and find the fixture sets.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_migrate-runner")
}

pub fn fixture(name: &str) -> PathBuf {
    shipgate_testkit::tools::workspace_root()
        .join("fixtures")
        .join("migrate-runner")
        .join(name)
}

/// Copies a fixture set so a test may change its files.
pub fn copy_fixture(name: &str, to: &Path) -> PathBuf {
    let from = fixture(name);
    copy_dir(&from, to);
    to.to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| panic!("{error}: {self:?}"))
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "{self:?}");
        self
    }
}

/// A command for the binary in `cwd`, isolated from the caller's
/// environment ([`shipgate_testkit::cli::isolate`]: no DATABASE_URL or
/// GITHUB_* of the machine leaks in), acting as the user `tester`.
pub fn command(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = shipgate_testkit::cli::command(binary(), cwd);
    command.args(args).env("USER", "tester").envs(env.iter().copied());
    command
}

pub fn run(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    finish(command(cwd, args, env).output().unwrap())
}

/// Runs the binary at a pseudo-terminal where a person types `typed`;
/// everything it prints arrives on `stdout`.
pub fn run_at_terminal(cwd: &Path, args: &[&str], env: &[(&str, &str)], typed: &str) -> Run {
    use std::io::Write as _;
    let mut command =
        shipgate_testkit::tools::under_terminal(Path::new(binary()), args).unwrap_or_else(|error| panic!("{error}"));
    // At a terminal colour would be on: the assertions read plain text.
    command
        .env("USER", "tester")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied());
    shipgate_testkit::cli::isolate(&mut command, cwd);
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(typed.as_bytes()).unwrap();
    finish(child.wait_with_output().unwrap())
}

pub fn finish(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
