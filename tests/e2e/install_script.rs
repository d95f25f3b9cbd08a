//! `scripts/install.sh`, the one installer behind every shipgate action and
//! the laptop install, run the way a runner (or a shell) runs it: a clean
//! environment, temp runner directories, an action checkout whose
//! `scripts/dist-manifest.tsv` was written by `scripts/dist-manifest.sh`, and
//! real downloads from a local release server.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use shipgate_testkit::http::StaticServer;
use shipgate_testkit::tools::{TOOL_BINARIES, describe_output, shipgate_bin, workspace_root};
use tempfile::TempDir;

const TAG: &str = "v9.9.9";
const VERSION: &str = "9.9.9";
const LINUX_X64_TARGET: &str = "x86_64-unknown-linux-musl";
const REPOSITORY: &str = "acme/shipgate";
/// A full commit SHA, the way zizmor and GitHub's hardening guide want actions pinned.
const SHA_REF: &str = "0123456789abcdef0123456789abcdef01234567";

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

fn run(mut command: Command) -> Output {
    command.output().expect("running bash")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A release as GitHub serves it, `<repo>/releases/download/<tag>/<archive>`,
/// with the archive laid out the way .github/workflows/dist.yml packs it,
/// under a server root that can also hold raw files.
struct ReleaseServer {
    root: TempDir,
    archive: PathBuf,
}

impl ReleaseServer {
    fn build(repository: &str) -> ReleaseServer {
        let root = tempfile::tempdir().expect("creating a temp dir");
        let download_dir = root.path().join(repository).join("releases/download").join(TAG);
        fs::create_dir_all(&download_dir).expect("creating the release dir");
        let archive = download_dir.join(format!("shipgate-{TAG}-{LINUX_X64_TARGET}.tar.gz"));
        fs::copy(release_archive(), &archive).expect("copying the release archive");
        ReleaseServer { root, archive }
    }

    /// The archive's path on the server.
    fn archive_path(&self) -> String {
        let relative = self
            .archive
            .strip_prefix(self.root.path())
            .expect("the archive is under the root");
        format!("/{}", relative.display())
    }

    fn serve(&self) -> StaticServer {
        StaticServer::start(self.root.path())
    }
}

/// The Linux x64 release archive of the built binaries, made once per test
/// process: stripped copies, as the release build ships them (unstripped
/// debug binaries would put a gigabyte in every test's temp dir).
fn release_archive() -> &'static Path {
    static ARCHIVE: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    let (_, archive) = ARCHIVE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("creating a temp dir");
        let staging = dir.path().join("staging");
        fs::create_dir_all(&staging).expect("creating the staging dir");
        let bin_dir = built_bin_dir();
        for tool in TOOL_BINARIES {
            let strip = Command::new("strip")
                .arg("-o")
                .arg(staging.join(tool))
                .arg(bin_dir.join(tool))
                .output()
                .expect("running strip (binutils)");
            assert!(strip.status.success(), "strip failed: {}", describe_output(&strip));
        }
        let archive = dir.path().join(format!("shipgate-{TAG}-{LINUX_X64_TARGET}.tar.gz"));
        // gzip's fastest level: the bytes only need to be a valid .tar.gz.
        let tar = Command::new("tar")
            .args(["--use-compress-program", "gzip -1", "-cf"])
            .arg(&archive)
            .arg("-C")
            .arg(&staging)
            .args(TOOL_BINARIES)
            .output()
            .expect("running tar");
        assert!(tar.status.success(), "tar failed: {}", describe_output(&tar));
        fs::remove_dir_all(&staging).expect("removing the staging dir");
        (dir, archive)
    });
    archive
}

/// What a runner checks an action out to: the actions' scripts, a workspace
/// Cargo.toml with the version of this commit's source, and the manifest.
struct ActionCheckout {
    _dir: TempDir,
    root: PathBuf,
}

impl ActionCheckout {
    /// A checkout at `_actions/<repository>/<reference>`, as the runner lays it out.
    fn at(repository: &str, reference: &str, source_version: &str) -> ActionCheckout {
        let dir = tempfile::tempdir().expect("creating a temp dir");
        let root = dir.path().join("_actions").join(repository).join(reference);
        let scripts = root.join("scripts");
        fs::create_dir_all(&scripts).unwrap();
        for script in ["install.sh", "dist-manifest.sh", "dist-manifest.tsv"] {
            fs::copy(workspace_root().join("scripts").join(script), scripts.join(script))
                .unwrap_or_else(|e| panic!("copying scripts/{script}: {e}"));
        }
        fs::write(
            root.join("Cargo.toml"),
            format!(
                "[workspace]\nmembers = []\n\n[workspace.package]\nversion = \"{source_version}\"\nedition = \"2024\"\n"
            ),
        )
        .unwrap();
        for tool in TOOL_BINARIES {
            let crate_dir = root.join("crates").join(tool);
            fs::create_dir_all(&crate_dir).unwrap();
            fs::write(crate_dir.join("Cargo.toml"), format!("[package]\nname = \"{tool}\"\n")).unwrap();
        }
        ActionCheckout { _dir: dir, root }
    }

    fn install_script(&self) -> PathBuf {
        self.root.join("scripts/install.sh")
    }

    fn manifest(&self) -> PathBuf {
        self.root.join("scripts/dist-manifest.tsv")
    }

    /// Records the release's archive with the script dist.yml runs.
    fn record(&self, release: &ReleaseServer) -> &Self {
        let output = Command::new("bash")
            .arg(self.root.join("scripts/dist-manifest.sh"))
            .arg(TAG)
            .arg(&release.archive)
            .output()
            .expect("running scripts/dist-manifest.sh");
        assert!(
            output.status.success(),
            "dist-manifest.sh failed: {}",
            describe_output(&output)
        );
        self
    }

    fn manifest_text(&self) -> String {
        fs::read_to_string(self.manifest()).expect("reading the manifest")
    }
}

/// Temp stand-ins for the directories and files a runner provides.
struct Runner {
    _root: TempDir,
    home: PathBuf,
    tool_cache: PathBuf,
    temp: PathBuf,
    github_path: PathBuf,
    github_output: PathBuf,
    github_env: PathBuf,
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
            github_env: root.path().join("github_env"),
            _root: root,
        };
        for dir in [&runner.home, &runner.tool_cache, &runner.temp] {
            fs::create_dir_all(dir).expect("creating a runner dir");
        }
        runner.reset_command_files();
        runner
    }

    /// Empties GITHUB_PATH, GITHUB_OUTPUT and GITHUB_ENV, as a new step gets fresh ones.
    fn reset_command_files(&self) {
        for file in [&self.github_path, &self.github_output, &self.github_env] {
            fs::write(file, "").expect("creating a runner command file");
        }
    }

    /// `script` run as an action step on Linux/X64, with nothing inherited
    /// but PATH: no SHIPGATE_BIN_DIR, no token, no runner variables from
    /// whatever runs the tests.
    fn step(&self, script: &Path, args: &[&str]) -> Command {
        let mut command = Command::new("bash");
        command
            .arg(script)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("GITHUB_ACTIONS", "true")
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TOOL_CACHE", &self.tool_cache)
            .env("RUNNER_TEMP", &self.temp)
            .env("GITHUB_PATH", &self.github_path)
            .env("GITHUB_OUTPUT", &self.github_output)
            .env("GITHUB_ENV", &self.github_env)
            .current_dir(&self.home);
        command
    }

    /// The workspace's own install.sh as a step.
    fn workspace_step(&self, args: &[&str]) -> Command {
        self.step(&workspace_root().join("scripts/install.sh"), args)
    }

    /// The checkout's install.sh as a step downloading from `server_url`.
    fn release_step(&self, checkout: &ActionCheckout, server_url: &str, args: &[&str]) -> Command {
        let mut command = self.step(&checkout.install_script(), args);
        command.env("GITHUB_SERVER_URL", server_url);
        command
    }

    fn github_path_contents(&self) -> String {
        fs::read_to_string(&self.github_path).expect("reading GITHUB_PATH")
    }

    fn github_output_contents(&self) -> String {
        fs::read_to_string(&self.github_output).expect("reading GITHUB_OUTPUT")
    }

    fn github_env_contents(&self) -> String {
        fs::read_to_string(&self.github_env).expect("reading GITHUB_ENV")
    }

    fn cache_dir(&self) -> PathBuf {
        self.tool_cache.join("shipgate").join(VERSION).join("x64")
    }

    fn cache_marker(&self) -> PathBuf {
        self.tool_cache.join("shipgate").join(VERSION).join("x64.complete")
    }

    fn temp_leftovers(&self) -> Vec<PathBuf> {
        fs::read_dir(&self.temp)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect()
    }

    /// Asserts the step changed nothing a later step would see.
    fn assert_nothing_published(&self) {
        assert_eq!(self.github_path_contents(), "", "GITHUB_PATH was changed");
        assert_eq!(self.github_output_contents(), "", "GITHUB_OUTPUT was changed");
        assert_eq!(self.github_env_contents(), "", "GITHUB_ENV was changed");
    }
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
        describe_output(&output)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with(tool), "{tool} --version printed {stdout:?}");
}

fn output_value(outputs: &str, name: &str) -> Option<String> {
    shipgate_testkit::cli::parse_step_outputs(outputs).remove(name)
}

/// A `cargo` first on PATH that records how it was called and "builds" by
/// copying the already built binary into `--root`/bin: a real release build
/// of the workspace takes many minutes, and what is under test here is
/// install.sh's decision and its cargo command line.
struct RecordingCargo {
    dir: TempDir,
}

impl RecordingCargo {
    fn new() -> RecordingCargo {
        let dir = tempfile::tempdir().unwrap();
        let script = format!(
            r#"#!/usr/bin/env bash
set -euo pipefail
printf '%s\n' "$*" >>"{log}"
root="" path=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --path) path="$2"; shift 2 ;;
    *) shift ;;
  esac
done
mkdir -p "$root/bin"
cp "{built}/${{path##*/}}" "$root/bin/"
"#,
            log = dir.path().join("calls.log").display(),
            built = built_bin_dir().display()
        );
        let cargo = dir.path().join("cargo");
        fs::write(&cargo, script).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&cargo, fs::Permissions::from_mode(0o755)).unwrap();
        RecordingCargo { dir }
    }

    /// PATH with this cargo in front.
    fn path(&self) -> std::ffi::OsString {
        let mut path = self.dir.path().as_os_str().to_owned();
        path.push(":");
        path.push(std::env::var_os("PATH").unwrap_or_default());
        path
    }

    fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

#[test]
fn bin_dir_holding_the_binaries_is_used_as_is() {
    let runner = Runner::new();
    let bin_dir = built_bin_dir();
    let mut command = runner.workspace_step(&[]);
    command.env("SHIPGATE_BIN_DIR", &bin_dir);
    let output = run(command);
    assert!(output.status.success(), "{}", describe_output(&output));

    assert_eq!(runner.github_path_contents(), format!("{}\n", bin_dir.display()));
    let outputs = runner.github_output_contents();
    assert_eq!(output_value(&outputs, "bin-dir"), Some(bin_dir.display().to_string()));
    assert_eq!(
        output_value(&outputs, "version").as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
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
    let mut command = runner.workspace_step(&["release-tagger"]);
    command
        .env("SHIPGATE_INPUT_BIN_DIR", only_release_tagger.path())
        .env("SHIPGATE_BIN_DIR", runner.home.join("does-not-exist"));
    let output = run(command);
    assert!(output.status.success(), "{}", describe_output(&output));
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
    let mut command = runner.workspace_step(&["release-tagger", "notify"]);
    command.env("SHIPGATE_BIN_DIR", partial.path());
    let output = run(command);
    assert_eq!(output.status.code(), Some(2), "{}", describe_output(&output));
    assert_eq!(
        stderr(&output),
        format!(
            "::error::shipgate install: bin-dir '{}' lacks executable: notify\n",
            partial.path().display()
        )
    );
    runner.assert_nothing_published();
}

#[test]
fn unknown_tool_name_is_a_usage_error() {
    let runner = Runner::new();
    let mut command = runner.workspace_step(&["release-tagger", "deploy-bot"]);
    command.env("SHIPGATE_BIN_DIR", built_bin_dir());
    let output = run(command);
    assert_eq!(output.status.code(), Some(2), "{}", describe_output(&output));
    assert_eq!(
        stderr(&output),
        "::error::shipgate install: unknown tool 'deploy-bot' (expected one of: release-tagger branch-guard migrate-runner smoke-tester notify or all)\n"
    );
    runner.assert_nothing_published();
}

#[test]
fn dist_manifest_records_each_release_once_sorted_by_version() {
    let release = ReleaseServer::build(REPOSITORY);
    let checkout = ActionCheckout::at(REPOSITORY, "main", VERSION);
    checkout.record(&release).record(&release);
    let sha256 = Command::new("sha256sum").arg(&release.archive).output().unwrap();
    let sha256 = String::from_utf8_lossy(&sha256.stdout);
    let sha256 = sha256.split_whitespace().next().unwrap();
    let header = fs::read_to_string(workspace_root().join("scripts/dist-manifest.tsv")).unwrap();
    assert_eq!(
        checkout.manifest_text(),
        format!("{header}{VERSION}\t{LINUX_X64_TARGET}\tshipgate-{TAG}-{LINUX_X64_TARGET}.tar.gz\t{sha256}\n"),
        "recording the same release twice must leave one line per archive"
    );
}

/// The heart of the manifest: whatever ref the action is pinned to, its own
/// checkout names the version and the sha256, so the download is verified
/// against the commit the workflow pinned, not against a file next to the
/// archive.
#[test]
fn tag_branch_and_sha_pins_install_the_verified_prebuilt_binaries_in_seconds() {
    let release = ReleaseServer::build(REPOSITORY);
    for reference in [TAG, "main", SHA_REF] {
        let runner = Runner::new();
        let checkout = ActionCheckout::at(REPOSITORY, reference, VERSION);
        checkout.record(&release);
        let server = release.serve();
        let started = Instant::now();
        // github.action_repository comes through empty inside composite
        // actions on some runners: the repository is read from the path.
        let output = run(runner.release_step(&checkout, &server.url(), &["--export-env", "all"]));
        let took = started.elapsed();
        println!("@{reference}: verified prebuilt binaries installed in {took:?}");
        assert!(output.status.success(), "@{reference}: {}", describe_output(&output));
        assert!(
            took < Duration::from_secs(15),
            "@{reference}: installing the prebuilt binaries took {took:?}"
        );
        assert_eq!(
            server.requested_paths(),
            vec![release.archive_path()],
            "@{reference}: install.sh should fetch exactly the archive for the runner"
        );
        assert!(
            stderr(&output).contains(&format!(
                "sha256 of shipgate-{TAG}-{LINUX_X64_TARGET}.tar.gz matches dist-manifest.tsv"
            )),
            "@{reference}: {}",
            describe_output(&output)
        );
        for tool in TOOL_BINARIES {
            assert_tool_runs(&runner.cache_dir().join(tool), tool);
        }
        let cache_dir = runner.cache_dir().display().to_string();
        assert_eq!(runner.github_path_contents(), format!("{cache_dir}\n"));
        let outputs = runner.github_output_contents();
        assert_eq!(output_value(&outputs, "bin-dir"), Some(cache_dir.clone()));
        assert_eq!(output_value(&outputs, "version").as_deref(), Some(VERSION));
        assert_eq!(runner.github_env_contents(), format!("SHIPGATE_BIN_DIR={cache_dir}\n"));
        assert!(
            runner.temp_leftovers().is_empty(),
            "the download staging dir was left behind: {:?}",
            runner.temp_leftovers()
        );
    }
}

#[test]
fn tool_actions_after_the_root_action_install_nothing() {
    let release = ReleaseServer::build(REPOSITORY);
    let checkout = ActionCheckout::at(REPOSITORY, SHA_REF, VERSION);
    checkout.record(&release);
    let server = release.serve();
    let runner = Runner::new();
    let root_action = run(runner.release_step(&checkout, &server.url(), &["--export-env", "all"]));
    assert!(root_action.status.success(), "{}", describe_output(&root_action));
    let exported = runner.github_env_contents();
    let bin_dir = exported
        .trim_end()
        .strip_prefix("SHIPGATE_BIN_DIR=")
        .unwrap_or_else(|| panic!("the root action exported {exported:?}"))
        .to_owned();
    drop(server);

    for tool in TOOL_BINARIES {
        runner.reset_command_files();
        // The runner hands GITHUB_ENV's variables to every later step.
        let mut tool_action = runner.release_step(&checkout, "http://127.0.0.1:9", &[tool]);
        tool_action.env("SHIPGATE_BIN_DIR", &bin_dir);
        let output = run(tool_action);
        assert!(output.status.success(), "{tool}: {}", describe_output(&output));
        assert_eq!(
            stderr(&output),
            // The version is what the binary reports (these are the workspace's builds).
            format!(
                "shipgate install: {tool} {} ready in {bin_dir}\n",
                env!("CARGO_PKG_VERSION")
            ),
            "{tool}'s action must reuse the root action's binaries"
        );
        assert_eq!(
            output_value(&runner.github_output_contents(), "bin-dir"),
            Some(bin_dir.clone())
        );
        assert_eq!(runner.github_env_contents(), "", "only the root action exports");
    }
    assert!(runner.temp_leftovers().is_empty());
}

#[test]
fn version_input_picks_a_listed_release_and_refuses_an_unlisted_one() {
    let release = ReleaseServer::build(REPOSITORY);
    // The action's source is newer than any release: without `version` it
    // would build from source; with it, the listed release is installed.
    let checkout = ActionCheckout::at(REPOSITORY, SHA_REF, "10.0.0");
    checkout.record(&release);
    let server = release.serve();
    let runner = Runner::new();
    let mut command = runner.release_step(&checkout, &server.url(), &["notify"]);
    command.env("SHIPGATE_INPUT_VERSION", TAG);
    let output = run(command);
    assert!(output.status.success(), "{}", describe_output(&output));
    assert_eq!(server.requested_paths(), vec![release.archive_path()]);
    assert_tool_runs(&runner.cache_dir().join("notify"), "notify");

    let runner = Runner::new();
    let mut command = runner.release_step(&checkout, &server.url(), &["notify"]);
    command.env("SHIPGATE_INPUT_VERSION", "9.9.8");
    let output = run(command);
    assert_eq!(output.status.code(), Some(1), "{}", describe_output(&output));
    assert_eq!(
        stderr(&output),
        format!(
            "::error::shipgate install: dist-manifest.tsv lists no shipgate 9.9.8 archive for {LINUX_X64_TARGET}; pick a listed version, or build from source: cargo install --locked --git {}/{REPOSITORY} notify\n",
            server.url()
        )
    );
    runner.assert_nothing_published();

    let mut command = runner.release_step(&checkout, &server.url(), &["notify"]);
    command.env("SHIPGATE_INPUT_VERSION", "latest");
    let output = run(command);
    assert_eq!(output.status.code(), Some(2), "{}", describe_output(&output));
    assert_eq!(
        stderr(&output),
        "::error::shipgate install: version 'latest' is not X.Y.Z\n"
    );
}

#[test]
fn checksum_mismatch_fails_closed() {
    let release = ReleaseServer::build(REPOSITORY);
    let checkout = ActionCheckout::at(REPOSITORY, SHA_REF, VERSION);
    checkout.record(&release);
    // The archive on the server is not the one the commit recorded.
    let mut tampered = fs::read(&release.archive).unwrap();
    tampered.extend_from_slice(b"tampered");
    fs::write(&release.archive, tampered).unwrap();
    let server = release.serve();
    let runner = Runner::new();

    let output = run(runner.release_step(&checkout, &server.url(), &["--export-env", "all"]));
    assert_eq!(output.status.code(), Some(1), "{}", describe_output(&output));
    let stderr_text = stderr(&output);
    let errors: Vec<&str> = stderr_text
        .lines()
        .filter(|line| line.starts_with("::error::"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", describe_output(&output));
    assert!(
        errors[0].starts_with(&format!(
            "::error::shipgate install: sha256 mismatch for shipgate-{TAG}-{LINUX_X64_TARGET}.tar.gz: dist-manifest.tsv says "
        )) && errors[0].ends_with("; refusing to install it"),
        "{}",
        describe_output(&output)
    );
    assert!(
        !runner.cache_dir().exists(),
        "a rejected archive reached the tool cache"
    );
    runner.assert_nothing_published();
    assert!(
        runner.temp_leftovers().is_empty(),
        "the rejected download was left behind: {:?}",
        runner.temp_leftovers()
    );
}

#[test]
fn cached_release_is_reused_without_the_server() {
    let release = ReleaseServer::build(REPOSITORY);
    let checkout = ActionCheckout::at(REPOSITORY, SHA_REF, VERSION);
    checkout.record(&release);
    let runner = Runner::new();
    let server = release.serve();
    let url = server.url();
    let first = run(runner.release_step(&checkout, &url, &[]));
    assert!(first.status.success(), "{}", describe_output(&first));
    drop(server);
    runner.reset_command_files();

    let second = run(runner.release_step(&checkout, &url, &[]));
    assert!(second.status.success(), "{}", describe_output(&second));
    assert!(
        stderr(&second).contains(&format!("using cached shipgate {VERSION}")),
        "{}",
        describe_output(&second)
    );
    assert_eq!(
        runner.github_path_contents(),
        format!("{}\n", runner.cache_dir().display())
    );
    assert_tool_runs(&runner.cache_dir().join("notify"), "notify");
}

#[test]
fn cache_entries_that_are_incomplete_or_of_other_bytes_are_replaced() {
    let release = ReleaseServer::build(REPOSITORY);
    let checkout = ActionCheckout::at(REPOSITORY, SHA_REF, VERSION);
    checkout.record(&release);
    let server = release.serve();
    // No marker is what an interrupted run leaves; a marker with another
    // sha256 is a cache filled from an archive this commit did not record.
    for marker in [None, Some("0".repeat(64))] {
        let runner = Runner::new();
        let stale = runner.cache_dir();
        fs::create_dir_all(&stale).unwrap();
        for tool in TOOL_BINARIES {
            fs::write(stale.join(tool), "#!/bin/sh\nexit 42\n").unwrap();
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(stale.join(tool), fs::Permissions::from_mode(0o755)).unwrap();
        }
        if let Some(marker) = &marker {
            fs::write(runner.cache_marker(), marker).unwrap();
        }
        let output = run(runner.release_step(&checkout, &server.url(), &["release-tagger"]));
        assert!(output.status.success(), "{}", describe_output(&output));
        assert!(
            !stderr(&output).contains("using cached"),
            "{}",
            describe_output(&output)
        );
        assert_tool_runs(&stale.join("release-tagger"), "release-tagger");
        let recorded = fs::read_to_string(runner.cache_marker()).unwrap();
        assert!(checkout.manifest_text().contains(recorded.trim_end()));
    }
}

#[test]
fn without_a_tool_cache_the_binaries_outlive_the_step_in_runner_temp() {
    let release = ReleaseServer::build(REPOSITORY);
    let checkout = ActionCheckout::at(REPOSITORY, SHA_REF, VERSION);
    checkout.record(&release);
    let server = release.serve();
    let runner = Runner::new();
    let mut command = runner.release_step(&checkout, &server.url(), &["smoke-tester"]);
    command.env_remove("RUNNER_TOOL_CACHE");
    let output = run(command);
    assert!(output.status.success(), "{}", describe_output(&output));
    let ready = runner.temp.join(format!("shipgate-{VERSION}"));
    assert_eq!(runner.github_path_contents(), format!("{}\n", ready.display()));
    assert_tool_runs(&ready.join("smoke-tester"), "smoke-tester");
    assert_eq!(
        runner.temp_leftovers(),
        vec![ready],
        "only the binaries stay in RUNNER_TEMP"
    );
}

#[test]
fn platform_without_an_entry_builds_the_action_commit_with_cargo() {
    let release = ReleaseServer::build(REPOSITORY);
    let checkout = ActionCheckout::at(REPOSITORY, "main", VERSION);
    checkout.record(&release);
    let server = release.serve();
    let cargo = RecordingCargo::new();
    let runner = Runner::new();
    // dist.yml builds aarch64 Linux too, but this manifest has no line for it.
    let mut command = runner.release_step(&checkout, &server.url(), &["branch-guard", "notify"]);
    command.env("RUNNER_ARCH", "ARM64").env("PATH", cargo.path());
    let output = run(command);
    assert!(output.status.success(), "{}", describe_output(&output));
    assert!(server.requested_paths().is_empty(), "nothing may be downloaded");
    assert!(
        stderr(&output).starts_with(&format!(
            "shipgate install: dist-manifest.tsv lists no shipgate {VERSION} archive for aarch64-unknown-linux-musl; building {VERSION} from source with cargo install --locked\n"
        )),
        "the reason must be given: {}",
        describe_output(&output)
    );
    let build_root = runner.temp.join("shipgate");
    assert_eq!(
        cargo.calls(),
        ["branch-guard", "notify"]
            .iter()
            .map(|tool| format!(
                "install --locked --path {}/crates/{tool} --root {}",
                checkout.root.display(),
                build_root.display()
            ))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        runner.github_path_contents(),
        format!("{}\n", build_root.join("bin").display())
    );
    assert_tool_runs(&build_root.join("bin/notify"), "notify");
}

#[test]
fn platform_without_an_entry_and_without_cargo_fails_with_the_reason() {
    let checkout = ActionCheckout::at(REPOSITORY, TAG, VERSION);
    let runner = Runner::new();
    // Only the programs install.sh may need, and no cargo among them.
    let tools_only = tempfile::tempdir().unwrap();
    for program in ["bash", "dirname", "awk", "sort", "tail", "mktemp", "rm", "uname", "cat"] {
        let found =
            shipgate_testkit::tools::find_on_path(program).unwrap_or_else(|| panic!("{program} is not on PATH"));
        std::os::unix::fs::symlink(found, tools_only.path().join(program)).unwrap();
    }
    let mut command = runner.release_step(&checkout, "http://127.0.0.1:9", &[]);
    command.env("RUNNER_OS", "FreeBSD").env("PATH", tools_only.path());
    let output = run(command);
    assert_eq!(output.status.code(), Some(1), "{}", describe_output(&output));
    assert_eq!(
        stderr(&output),
        "::error::shipgate install: shipgate has no prebuilt binaries for FreeBSD/X64, and cargo is not installed to build it from source; install Rust (https://rustup.rs) or pass a bin-dir\n"
    );
    runner.assert_nothing_published();
}

/// A shell off Actions: no GITHUB_ACTIONS, no runner variables.
fn laptop_shell(home: &Path, server: &StaticServer) -> Command {
    let mut command = Command::new("bash");
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GITHUB_SERVER_URL", server.url())
        .env("SHIPGATE_RAW_URL", format!("{}/raw", server.url()))
        .current_dir(home);
    command
}

#[test]
fn off_actions_installs_into_the_chosen_bin_dir() {
    let release = ReleaseServer::build(REPOSITORY);
    let checkout = ActionCheckout::at(REPOSITORY, "main", VERSION);
    checkout.record(&release);
    let server = release.serve();
    let home = tempfile::tempdir().unwrap();
    let bin_dir = home.path().join("tools/bin");
    let mut command = laptop_shell(home.path(), &server);
    command
        .arg(checkout.install_script())
        .args(["--repository", REPOSITORY, "--bin-dir"])
        .arg(&bin_dir)
        .arg("release-tagger");
    let output = run(command);
    assert!(output.status.success(), "{}", describe_output(&output));
    assert_eq!(server.requested_paths(), vec![release.archive_path()]);
    assert_tool_runs(&bin_dir.join("release-tagger"), "release-tagger");
    let installed: Vec<_> = fs::read_dir(&bin_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(installed, vec!["release-tagger".to_owned()]);
    assert!(
        stderr(&output).contains(&format!(
            "shipgate install: installed release-tagger {VERSION} into {}\n",
            bin_dir.display()
        )),
        "{}",
        describe_output(&output)
    );
}

/// The README's one-line install, as written there, with only the two hosts
/// pointed at the local server.
#[test]
fn readme_one_line_install_works_off_actions() {
    let readme = fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let one_liner = readme
        .lines()
        .find(|line| line.contains("/scripts/install.sh | bash"))
        .expect("README.md shows a one-line `curl … install.sh | bash` install")
        .trim_start_matches("$ ")
        .to_owned();
    let raw_prefix = "https://raw.githubusercontent.com/shipgate/shipgate/main/";
    assert!(one_liner.contains(raw_prefix), "unexpected one-liner: {one_liner}");

    let release = ReleaseServer::build("shipgate/shipgate");
    let checkout = ActionCheckout::at("shipgate/shipgate", "main", VERSION);
    checkout.record(&release);
    // raw.githubusercontent.com serves the files of main.
    let raw_scripts = release.root.path().join("raw/shipgate/shipgate/main/scripts");
    fs::create_dir_all(&raw_scripts).unwrap();
    fs::copy(checkout.install_script(), raw_scripts.join("install.sh")).unwrap();
    fs::copy(checkout.manifest(), raw_scripts.join("dist-manifest.tsv")).unwrap();
    let server = release.serve();

    let home = tempfile::tempdir().unwrap();
    let command_line = one_liner.replace("https://raw.githubusercontent.com/", &format!("{}/raw/", server.url()));
    let mut command = laptop_shell(home.path(), &server);
    command.arg("-c").arg(format!("set -o pipefail; {command_line}"));
    let output = run(command);
    assert!(output.status.success(), "{command_line}\n{}", describe_output(&output));
    assert_eq!(
        server.requested_paths(),
        vec![
            "/raw/shipgate/shipgate/main/scripts/install.sh".to_owned(),
            "/raw/shipgate/shipgate/main/scripts/dist-manifest.tsv".to_owned(),
            release.archive_path(),
        ]
    );
    for tool in TOOL_BINARIES {
        assert_tool_runs(&home.path().join(".local/bin").join(tool), tool);
    }
}
