//! Helpers shared by the release-tagger integration tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::Output;

use shipgate_testkit::git::GitFixture;

/// Runs the binary in `dir`, isolated from the caller's environment
/// ([`shipgate_testkit::cli::isolate`]), with `env` set.
pub fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    shipgate_testkit::cli::run(env!("CARGO_BIN_EXE_release-tagger"), dir, args, env)
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

pub fn actions_env(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let output = dir.join("github_output");
    let summary = dir.join("step_summary");
    std::fs::write(&output, "").unwrap();
    std::fs::write(&summary, "").unwrap();
    (output, summary)
}
