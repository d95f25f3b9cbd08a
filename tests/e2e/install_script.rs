//! `scripts/install.sh`, the one installer behind every shipgate action, run
//! the way a runner runs it: a clean environment, temp runner directories and
//! a real release download from a local HTTP server.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use shipgate_testkit::http::StaticServer;
use shipgate_testkit::tools::{TOOL_BINARIES, shipgate_bin, workspace_root};
use tempfile::TempDir;

const TAG: &str = "v9.9.9";
const TAG_VERSION: &str = "9.9.9";
const LINUX_X64_TARGET: &str = "x86_64-unknown-linux-musl";
const REPOSITORY: &str = "acme/shipgate";

/// The directory cargo built the five tool binaries into.
fn built_bin_dir() -> PathBuf {
    let release_tagger = shipgate_bin("release-tagger");
    for tool in TOOL_BINARIES {
        shipgate_bin(tool);
    }
    release_tagger
        .parent()
        .expect("a binary lives in a directory")
        .to_path_buf()
}

/// Temp stand-ins for the directories and files a runner provides.
struct Runner {
    _root: TempDir,
    home: PathBuf,
    tool_cache: PathBuf,
    temp: PathBuf,
    github_path: PathBuf,
    github_output: PathBuf,
}

impl Runner {
    fn new() -> Runner {
        let root = tempfile::tempdir().expect("creating a temp dir");
        let runner = Runner {
            home: root.path().join("home"),
            tool_cache: root.path().join("tool-cache"),
            temp: root.path().join("runner-temp"),
            github_path: root.path().join("github_path"),
            github_output: root.path().join("github_output"),
            _root: root,
        };
        for dir in [&runner.home, &runner.tool_cache, &runner.temp] {
            fs::create_dir_all(dir).expect("creating a runner dir");
        }
        runner.reset_command_files();
        runner
    }

    /// Empties GITHUB_PATH and GITHUB_OUTPUT, as a new step gets fresh ones.
    fn reset_command_files(&self) {
        fs::write(&self.github_path, "").expect("creating GITHUB_PATH");
        fs::write(&self.github_output, "").expect("creating GITHUB_OUTPUT");
    }

    /// install.sh with nothing inherited but PATH: no SHIPGATE_BIN_DIR, no
    /// token, no runner variables from whatever runs the tests.
    fn install_command(&self, tools: &[&str]) -> Command {
        self.script_command(&workspace_root().join("scripts").join("install.sh"), tools)
    }

    fn script_command(&self, script: &Path, tools: &[&str]) -> Command {
        let mut command = Command::new("bash");
        command
            .arg(script)
            .args(tools)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TOOL_CACHE", &self.tool_cache)
            .env("RUNNER_TEMP", &self.temp)
            .env("GITHUB_PATH", &self.github_path)
            .env("GITHUB_OUTPUT", &self.github_output)
            .current_dir(&self.home);
        command
    }

    fn release_command(&self, server_url: &str) -> Command {
        let mut command = self.install_command(&[]);
        command
            .env("GITHUB_SERVER_URL", server_url)
            .env("SHIPGATE_ACTION_REF", TAG)
            .env("SHIPGATE_ACTION_REPOSITORY", REPOSITORY);
        command
    }

    fn github_path_contents(&self) -> String {
        fs::read_to_string(&self.github_path).expect("reading GITHUB_PATH")
    }

    fn github_output_contents(&self) -> String {
        fs::read_to_string(&self.github_output).expect("reading GITHUB_OUTPUT")
    }

    fn version_cache_dir(&self) -> PathBuf {
        self.tool_cache.join("shipgate").join(TAG_VERSION)
    }
}

fn run(mut command: Command) -> Output {
    command.output().expect("running bash scripts/install.sh")
}

fn describe(output: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A release as GitHub serves it: `<repo>/releases/download/<tag>/<archive>`
/// plus `<archive>.sha256`, built the way .github/workflows/dist.yml builds it.
struct Release {
    root: TempDir,
    archive: PathBuf,
}

impl Release {
    fn build() -> Release {
        let root = tempfile::tempdir().expect("creating a temp dir");
        let staging = root.path().join("staging");
        fs::create_dir_all(&staging).expect("creating the staging dir");
        let bin_dir = built_bin_dir();
        // Stripped copies, as the release build ships them: unstripped debug
        // binaries would put a gigabyte in every test's temp dir.
        for tool in TOOL_BINARIES {
            let strip = Command::new("strip")
                .arg("-o")
                .arg(staging.join(tool))
                .arg(bin_dir.join(tool))
                .output()
                .expect("running strip (binutils)");
            assert!(strip.status.success(), "strip failed: {}", describe(&strip));
        }
        let download_dir = root.path().join(REPOSITORY).join("releases").join("download").join(TAG);
        fs::create_dir_all(&download_dir).expect("creating the release dir");
        let archive_name = format!("shipgate-{TAG}-{LINUX_X64_TARGET}.tar.gz");
        let archive = download_dir.join(&archive_name);
        let tar = Command::new("tar")
            .arg("-czf")
            .arg(&archive)
            .arg("-C")
            .arg(&staging)
            .args(TOOL_BINARIES)
            .output()
            .expect("running tar");
        assert!(tar.status.success(), "tar failed: {}", describe(&tar));
        let checksum = Command::new("sha256sum")
            .arg(&archive_name)
            .current_dir(&download_dir)
            .output()
            .expect("running sha256sum");
        assert!(checksum.status.success(), "sha256sum failed: {}", describe(&checksum));
        fs::write(checksum_path(&archive), &checksum.stdout).expect("writing the .sha256 file");
        Release { root, archive }
    }

    fn corrupt_checksum(&self) {
        let name = self.archive.file_name().unwrap().to_string_lossy();
        fs::write(checksum_path(&self.archive), format!("{}  {name}\n", "0".repeat(64)))
            .expect("rewriting the .sha256 file");
    }

    fn serve(&self) -> StaticServer {
        StaticServer::start(self.root.path())
    }
}

fn checksum_path(archive: &Path) -> PathBuf {
    let mut name = archive.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

fn assert_tool_runs(binary: &Path, tool: &str) {
    let output = Command::new(binary)
        .arg("--version")
        .env_clear()
        .output()
        .unwrap_or_else(|error| panic!("running {} --version: {error}", binary.display()));
    assert!(
        output.status.success(),
        "{tool} --version failed: {}",
        describe(&output)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with(tool), "{tool} --version printed {stdout:?}");
}

#[test]
fn bin_dir_holding_the_binaries_is_used_as_is() {
    let runner = Runner::new();
    let bin_dir = built_bin_dir();
    let mut command = runner.install_command(&[]);
    command.env("SHIPGATE_BIN_DIR", &bin_dir);
    let output = run(command);
    assert!(output.status.success(), "{}", describe(&output));

    assert_eq!(runner.github_path_contents(), format!("{}\n", bin_dir.display()));
    let outputs = runner.github_output_contents();
    assert!(
        outputs
            .lines()
            .any(|line| line == format!("bin-dir={}", bin_dir.display())),
        "GITHUB_OUTPUT: {outputs}"
    );
    assert!(
        outputs
            .lines()
            .any(|line| line == format!("version={}", env!("CARGO_PKG_VERSION"))),
        "GITHUB_OUTPUT: {outputs}"
    );
    let cache_entries = fs::read_dir(&runner.tool_cache).unwrap().count();
    assert_eq!(cache_entries, 0, "a provided bin-dir must not touch the tool cache");
}

#[test]
fn bin_dir_input_wins_over_the_environment_and_can_hold_one_tool() {
    let runner = Runner::new();
    let only_release_tagger = tempfile::tempdir().unwrap();
    fs::copy(
        shipgate_bin("release-tagger"),
        only_release_tagger.path().join("release-tagger"),
    )
    .unwrap();
    let mut command = runner.install_command(&["release-tagger"]);
    command
        .env("SHIPGATE_INPUT_BIN_DIR", only_release_tagger.path())
        .env("SHIPGATE_BIN_DIR", runner.home.join("does-not-exist"));
    let output = run(command);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        runner.github_path_contents(),
        format!("{}\n", only_release_tagger.path().display())
    );
}

#[test]
fn bin_dir_missing_a_binary_fails_and_names_it() {
    let runner = Runner::new();
    let partial = tempfile::tempdir().unwrap();
    fs::copy(shipgate_bin("release-tagger"), partial.path().join("release-tagger")).unwrap();
    let mut command = runner.install_command(&["release-tagger", "notify"]);
    command.env("SHIPGATE_BIN_DIR", partial.path());
    let output = run(command);
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("::error::") && stderr.contains("notify"),
        "{}",
        describe(&output)
    );
    assert_eq!(runner.github_path_contents(), "");
    assert_eq!(runner.github_output_contents(), "");
}

#[test]
fn unknown_tool_name_is_rejected() {
    let runner = Runner::new();
    let mut command = runner.install_command(&["release-tagger", "deploy-bot"]);
    command.env("SHIPGATE_BIN_DIR", built_bin_dir());
    let output = run(command);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unknown tool 'deploy-bot'"),
        "{}",
        describe(&output)
    );
    assert_eq!(runner.github_path_contents(), "");
}

#[test]
fn release_tag_downloads_verifies_and_caches_the_archive() {
    let runner = Runner::new();
    let release = Release::build();
    let server = release.serve();

    let output = run(runner.release_command(&server.url()));
    assert!(output.status.success(), "{}", describe(&output));
    let archive_path = format!("/{REPOSITORY}/releases/download/{TAG}/shipgate-{TAG}-{LINUX_X64_TARGET}.tar.gz");
    assert_eq!(
        server.requested_paths(),
        vec![archive_path.clone(), format!("{archive_path}.sha256")],
        "install.sh should fetch exactly the archive for the runner and its checksum"
    );

    let cache_dir = runner.version_cache_dir().join("x64");
    for tool in TOOL_BINARIES {
        assert_tool_runs(&cache_dir.join(tool), tool);
    }
    assert!(
        runner.version_cache_dir().join("x64.complete").is_file(),
        "the tool-cache completion marker is missing"
    );
    assert_eq!(runner.github_path_contents(), format!("{}\n", cache_dir.display()));
    let outputs = runner.github_output_contents();
    assert!(
        outputs
            .lines()
            .any(|line| line == format!("bin-dir={}", cache_dir.display())),
        "GITHUB_OUTPUT: {outputs}"
    );
    assert!(
        outputs.lines().any(|line| line == format!("version={TAG_VERSION}")),
        "GITHUB_OUTPUT: {outputs}"
    );
    let leftovers: Vec<_> = fs::read_dir(&runner.temp).unwrap().collect();
    assert!(
        leftovers.is_empty(),
        "the download staging dir was left behind: {leftovers:?}"
    );
}

#[test]
fn checksum_mismatch_fails_closed() {
    let runner = Runner::new();
    let release = Release::build();
    release.corrupt_checksum();
    let server = release.serve();

    let output = run(runner.release_command(&server.url()));
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("::error::") && stderr.contains("checksum mismatch"),
        "{}",
        describe(&output)
    );
    assert!(
        !runner.version_cache_dir().exists(),
        "a rejected archive reached the tool cache"
    );
    assert_eq!(runner.github_path_contents(), "", "GITHUB_PATH was changed");
    assert_eq!(runner.github_output_contents(), "", "GITHUB_OUTPUT was changed");
    let leftovers: Vec<_> = fs::read_dir(&runner.temp).unwrap().collect();
    assert!(
        leftovers.is_empty(),
        "the rejected download was left behind: {leftovers:?}"
    );
}

#[test]
fn cached_release_is_reused_without_the_server() {
    let runner = Runner::new();
    let release = Release::build();
    let server = release.serve();
    let url = server.url();
    let first = run(runner.release_command(&url));
    assert!(first.status.success(), "{}", describe(&first));
    drop(server);
    runner.reset_command_files();

    let second = run(runner.release_command(&url));
    assert!(second.status.success(), "{}", describe(&second));
    let cache_dir = runner.version_cache_dir().join("x64");
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("using cached shipgate 9.9.9"),
        "{}",
        describe(&second)
    );
    assert_eq!(runner.github_path_contents(), format!("{}\n", cache_dir.display()));
    assert_tool_runs(&cache_dir.join("notify"), "notify");
}

#[test]
fn incomplete_cache_entry_is_replaced_not_trusted() {
    let runner = Runner::new();
    // A directory without its `.complete` marker is what an interrupted run
    // leaves; it must be downloaded again rather than put on PATH.
    let stale = runner.version_cache_dir().join("x64");
    fs::create_dir_all(&stale).unwrap();
    fs::write(stale.join("release-tagger"), "#!/bin/sh\nexit 42\n").unwrap();

    let release = Release::build();
    let server = release.serve();
    let output = run(runner.release_command(&server.url()));
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("using cached"),
        "{}",
        describe(&output)
    );
    assert_tool_runs(&stale.join("release-tagger"), "release-tagger");
    assert!(runner.version_cache_dir().join("x64.complete").is_file());
}

#[test]
fn unsupported_runner_platform_is_an_error() {
    let runner = Runner::new();
    let mut command = runner.release_command("http://127.0.0.1:9");
    command.env("RUNNER_OS", "Windows").env("RUNNER_ARCH", "ARM64");
    let output = run(command);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no prebuilt shipgate"),
        "{}",
        describe(&output)
    );
    assert_eq!(runner.github_path_contents(), "");
}

#[test]
fn release_ref_is_read_from_the_runner_action_checkout_when_the_context_is_empty() {
    // The runner checks a remote action out to _actions/<owner>/<repo>/<ref>;
    // install.sh falls back to that path when github.action_ref comes through
    // empty, as it has inside composite actions.
    let runner = Runner::new();
    let actions_dir = tempfile::tempdir().unwrap();
    let checkout = actions_dir.path().join("_actions").join(REPOSITORY).join(TAG);
    fs::create_dir_all(checkout.join("scripts")).unwrap();
    let script = checkout.join("scripts").join("install.sh");
    fs::copy(workspace_root().join("scripts").join("install.sh"), &script).unwrap();

    let release = Release::build();
    let server = release.serve();
    let mut command = runner.script_command(&script, &["smoke-tester"]);
    command.env("GITHUB_SERVER_URL", server.url());
    let output = run(command);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        runner.version_cache_dir().join("x64.complete").is_file(),
        "{}",
        describe(&output)
    );
    assert_tool_runs(
        &runner.version_cache_dir().join("x64").join("smoke-tester"),
        "smoke-tester",
    );
}
