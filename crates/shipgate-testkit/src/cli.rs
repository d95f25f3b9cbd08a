//! Running the shipgate binaries from tests as a workflow step or a person
//! would, whatever the environment `cargo test` itself runs in, and reading
//! what they leave for the runner (`$GITHUB_OUTPUT`).
//!
//! One isolation rule for every test: the inherited variables that change
//! what a tool does (its own `SHIPGATE_*` settings, the Actions context,
//! colour switches, git's, and the few inputs a tool reads from the
//! environment) are removed unless the test sets them itself, and HOME, the
//! XDG directories and git's global and system config are fixed. A CI job
//! running the tests, a developer's shell or a git hook then changes nothing.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Prefixes of inherited variables a test run never passes on.
const CLEARED_PREFIXES: [&str; 6] = ["SHIPGATE_", "GITHUB_", "RUNNER_", "CLICOLOR", "GIT_", "PRE_COMMIT_"];

/// Inherited variables a test run never passes on: CI switches, colour, and
/// the inputs the tools read from the environment.
const CLEARED_NAMES: [&str; 7] = [
    "CI",
    "NO_COLOR",
    "FORCE_COLOR",
    "GH_TOKEN",
    "DATABASE_URL",
    "NOTIFY_TARGETS",
    "XDG_RUNTIME_DIR",
];

/// Whether the inherited variable `name` is removed by [`isolate`].
pub fn is_cleared(name: &str) -> bool {
    CLEARED_NAMES.contains(&name)
        || CLEARED_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
        || name.starts_with("XDG_")
}

/// Isolates `command` to run in `dir`: removes every inherited variable
/// [`is_cleared`] names, makes `dir` HOME (with the XDG directories under
/// it) and points git at no global or system config. Whatever the test sets
/// on `command`, before or after, wins.
pub fn isolate<'c>(command: &'c mut Command, dir: &Path) -> &'c mut Command {
    let set_by_test: Vec<OsString> = command.get_envs().map(|(name, _)| name.to_owned()).collect();
    let chosen = |name: &str| set_by_test.iter().any(|set| set == name);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|name| is_cleared(name) && !chosen(name)) {
            command.env_remove(&name);
        }
    }
    let fixed: [(&str, OsString); 8] = [
        ("HOME", dir.into()),
        ("XDG_CONFIG_HOME", dir.join(".config").into()),
        ("XDG_CACHE_HOME", dir.join(".cache").into()),
        ("XDG_DATA_HOME", dir.join(".local/share").into()),
        ("XDG_STATE_HOME", dir.join(".local/state").into()),
        ("GIT_CONFIG_GLOBAL", "/dev/null".into()),
        ("GIT_CONFIG_NOSYSTEM", "1".into()),
        ("GIT_TERMINAL_PROMPT", "0".into()),
    ];
    for (name, value) in fixed {
        if !chosen(name) {
            command.env(name, value);
        }
    }
    command.current_dir(dir)
}

/// `program` (a tool binary, e.g. `env!("CARGO_BIN_EXE_notify")`) isolated
/// as [`isolate`] does, in `dir`.
pub fn command(program: impl AsRef<OsStr>, dir: &Path) -> Command {
    let mut command = Command::new(program);
    isolate(&mut command, dir);
    command
}

/// Runs `program args` in `dir`, isolated, with `env` set; stdin is empty.
pub fn run(program: impl AsRef<OsStr>, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let program = program.as_ref();
    let mut command = command(program, dir);
    command.args(args).envs(env.iter().copied()).stdin(Stdio::null());
    command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", program.to_string_lossy()))
}

/// Runs `command` with `stdin` written to its standard input.
pub fn run_with_stdin(mut command: Command, stdin: &str) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {:?}: {error}", command.get_program()));
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for the command")
}

/// The step outputs of a `$GITHUB_OUTPUT` file as the runner reads them:
/// `name=value` lines and `name<<DELIMITER` blocks (a multi-line value up
/// to the line holding only DELIMITER). A name set twice keeps its last
/// value. A missing file has no outputs.
pub fn step_outputs(path: &Path) -> BTreeMap<String, String> {
    parse_step_outputs(&std::fs::read_to_string(path).unwrap_or_default())
}

/// [`step_outputs`] of the text of a `$GITHUB_OUTPUT` file. Panics on a line
/// that is neither form, or a block whose delimiter never comes: the runner
/// would fail the step.
pub fn parse_step_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let heredoc = line.split_once("<<");
        let single = line.split_once('=');
        match (heredoc, single) {
            (Some((name, delimiter)), single) if single.is_none_or(|(before, _)| before.len() > name.len()) => {
                let mut value = Vec::new();
                let mut closed = false;
                for inner in lines.by_ref() {
                    if inner == delimiter {
                        closed = true;
                        break;
                    }
                    value.push(inner);
                }
                assert!(
                    closed,
                    "$GITHUB_OUTPUT: `{name}` never ends with `{delimiter}`:\n{text}"
                );
                outputs.insert(name.to_owned(), value.join("\n"));
            }
            (_, Some((name, value))) => {
                outputs.insert(name.to_owned(), value.to_owned());
            }
            _ => panic!("$GITHUB_OUTPUT: `{line}` is neither `name=value` nor `name<<DELIMITER`:\n{text}"),
        }
    }
    outputs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_output_forms_are_read_and_the_last_value_wins() {
        let text =
            "version=1.3.0\nnotes<<ghadelimiter_1\n## v1.3.0\n\n- a=b\nghadelimiter_1\nversion<<EOF\n1.4.0\nEOF\n";
        let outputs = parse_step_outputs(text);
        assert_eq!(
            outputs,
            BTreeMap::from([
                ("notes".to_owned(), "## v1.3.0\n\n- a=b".to_owned()),
                ("version".to_owned(), "1.4.0".to_owned()),
            ])
        );
    }

    #[test]
    #[should_panic(expected = "never ends")]
    fn an_unterminated_block_is_refused() {
        parse_step_outputs("notes<<EOF\nsome text\n");
    }

    #[test]
    fn tool_inputs_and_ci_switches_are_cleared() {
        for name in [
            "SHIPGATE_SMOKE_URL",
            "GITHUB_ACTIONS",
            "RUNNER_TEMP",
            "CI",
            "NO_COLOR",
            "CLICOLOR_FORCE",
            "GIT_DIR",
        ] {
            assert!(is_cleared(name), "{name}");
        }
        for name in ["PATH", "LANG", "TMPDIR", "CIRCLE"] {
            assert!(!is_cleared(name), "{name}");
        }
    }
}
