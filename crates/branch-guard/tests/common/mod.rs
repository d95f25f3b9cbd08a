//! Runs the real branch-guard binary in scripted repositories.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The branch-guard binary cargo built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_branch-guard")
}

/// `program` in `dir` isolated from the caller's environment as git and its
/// hooks run in the tests ([`shipgate_testkit::git::isolate`]).
pub fn isolated(program: &str, dir: &Path) -> Command {
    let mut command = Command::new(program);
    shipgate_testkit::git::isolate(&mut command, dir);
    command
}

/// branch-guard `args` in `dir`.
pub fn guard(dir: &Path, args: &[&str]) -> Output {
    let mut command = isolated(bin(), dir);
    command.args(args);
    command.output().expect("run branch-guard")
}

/// git `args` in `dir`, hooks enabled (unlike the fixture's own helpers).
pub fn git(dir: &Path, args: &[&str]) -> Output {
    shipgate_testkit::git::git_with_hooks(dir, args, &[])
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Both streams, for assertion messages.
pub fn both(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}
