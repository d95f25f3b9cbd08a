//! Runs the real branch-guard binary in scripted repositories.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The branch-guard binary cargo built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_branch-guard")
}

/// A command isolated from the caller's environment: no GitHub Actions
/// variables, no user or system git config.
pub fn isolated(program: &str, dir: &Path) -> Command {
    let mut command = Command::new(program);
    shipgate_testkit::git::isolate(&mut command, dir);
    command
}

/// Runs `command` with `stdin` and returns its output.
pub fn run_with_stdin(mut command: Command, stdin: &str) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
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
