//! Helpers shared by the release-tagger integration tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use shipgate_testkit::git::GitFixture;

/// Runs the binary in `dir` with a clean environment: no Actions variables
/// leak in from a CI job running these tests, and git ignores the
/// developer's config (signing, hooks).
pub fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_release-tagger"));
    command.args(args).current_dir(dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("GITHUB_") || name.starts_with("SHIPGATE_") || name == "GH_TOKEN" || name == "RUNNER_TEMP" {
            command.env_remove(name);
        }
    }
    command
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_COLOR", "1");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run release-tagger")
}

pub fn run(fixture: &GitFixture, args: &[&str]) -> Output {
    run_in(fixture.path(), args, &[])
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn code(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

pub fn ok(output: Output) -> Output {
    assert_eq!(
        code(&output),
        0,
        "stdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    output
}

pub fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

/// v1.2.0, then a fix, a feat and a chore.
pub fn released_repo() -> GitFixture {
    let fixture = GitFixture::new();
    fixture.commit("feat: first");
    fixture.tag_annotated("v1.2.0", "Release version 1.2.0");
    fixture.commit("fix(parser): handle empty input (#41)");
    fixture.commit("feat(api): add the export endpoint");
    fixture.commit("chore: tidy");
    fixture
}

/// Step outputs written to a GITHUB_OUTPUT file, as a map.
pub fn outputs(file: &Path) -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut map = std::collections::BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (name, delimiter) = line.split_once("<<").expect("heredoc output");
        let mut value = Vec::new();
        for inner in lines.by_ref() {
            if inner == delimiter {
                break;
            }
            value.push(inner);
        }
        map.insert(name.to_owned(), value.join("\n"));
    }
    map
}

pub fn actions_env(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let output = dir.join("github_output");
    let summary = dir.join("step_summary");
    std::fs::write(&output, "").unwrap();
    std::fs::write(&summary, "").unwrap();
    (output, summary)
}
