//! What a team adopting shipgate relies on besides the installer
//! (install_script.rs): the cargo-binstall metadata, the pre-commit hooks
//! built by pre-commit itself, and shipgate releasing itself with shipgate:
//! its own flow configuration and its generated CHANGELOG.md.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use shipgate_testkit::act::git;
use shipgate_testkit::tools::{TOOL_BINARIES, describe_output, shipgate_bin, workspace_root};

/// shipgate's own settings, passed with `--config` (CONTRIBUTING.md).
const SELF_CONFIG: &str = ".ci/shipgate.toml";

/// A tool run in `dir`, isolated: no GITHUB_* variables to change links or
/// switch to Actions output.
fn tool(binary: &Path, dir: &Path, args: &[&str]) -> Output {
    shipgate_testkit::cli::run(binary, dir, args, &[])
}

fn cargo_metadata() -> serde_json::Value {
    let output = shipgate_testkit::tools::cargo()
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .output()
        .expect("running cargo metadata");
    assert!(output.status.success(), "{}", describe_output(&output));
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

/// The targets `.github/workflows/dist.yml` builds (`- target: ...` lines).
fn dist_targets() -> Vec<String> {
    let dist = fs::read_to_string(workspace_root().join(".github/workflows/dist.yml")).unwrap();
    let targets: Vec<String> = dist
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- target: "))
        .map(str::to_owned)
        .collect();
    assert!(targets.len() >= 5, "dist.yml's matrix lists {targets:?}");
    targets
}

/// Expands a cargo-binstall template the way binstall does for these keys.
fn expand(template: &str, repo: &str, version: &str, target: &str) -> String {
    template
        .replace("{ repo }", repo)
        .replace("{ version }", version)
        .replace("{ target }", target)
}

#[test]
fn binstall_metadata_names_the_archives_dist_publishes() {
    let metadata = cargo_metadata();
    let packages = metadata["packages"].as_array().unwrap();
    for tool_name in TOOL_BINARIES {
        let package = packages
            .iter()
            .find(|package| package["name"] == tool_name)
            .unwrap_or_else(|| panic!("no package {tool_name}"));
        let repo = package["repository"].as_str().expect("the repository is set");
        let binstall = &package["metadata"]["binstall"];
        assert_eq!(
            binstall["bin-dir"], "{ bin }{ binary-ext }",
            "{tool_name}: binaries sit at the archive's top level"
        );
        for target in dist_targets() {
            let windows = target.contains("windows");
            let (pkg_url, pkg_fmt) = if windows {
                let overrides = &binstall["overrides"][target.as_str()];
                (&overrides["pkg-url"], &overrides["pkg-fmt"])
            } else {
                (&binstall["pkg-url"], &binstall["pkg-fmt"])
            };
            let extension = if windows { "zip" } else { "tar.gz" };
            assert_eq!(pkg_fmt, if windows { "zip" } else { "tgz" }, "{tool_name} on {target}");
            assert_eq!(
                expand(pkg_url.as_str().unwrap_or_default(), repo, "1.2.3", &target),
                // What dist.yml's Package step writes and dist-manifest.sh records.
                format!("{repo}/releases/download/v1.2.3/shipgate-v1.2.3-{target}.{extension}"),
                "{tool_name} on {target}"
            );
        }
    }
}

/// pre-commit installs a `language: rust` hook repository with
/// `cargo install --bins --path .` at its root; the root package must build
/// every binary the hooks name.
#[test]
fn pre_commit_hooks_run_branch_guard_built_by_the_root_package() {
    let root = workspace_root();
    let hooks = fs::read_to_string(root.join(".pre-commit-hooks.yaml")).unwrap();
    let languages: Vec<&str> = hooks
        .lines()
        .filter_map(|line| line.trim().strip_prefix("language: "))
        .collect();
    assert_eq!(languages, ["rust", "rust"], "every hook is built by pre-commit");
    let entries: Vec<&str> = hooks
        .lines()
        .filter_map(|line| line.trim().strip_prefix("entry: "))
        .collect();
    assert_eq!(entries, ["branch-guard-hook message", "branch-guard-hook pre-push"]);

    let metadata = cargo_metadata();
    let root_manifest = root.join("Cargo.toml");
    let root_package = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|package| Path::new(package["manifest_path"].as_str().unwrap()) == root_manifest)
        .expect("the workspace root is a package, so `cargo install --path .` works");
    let bins: Vec<(&str, PathBuf)> = root_package["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|target| target["kind"][0] == "bin")
        .map(|target| {
            (
                target["name"].as_str().unwrap(),
                PathBuf::from(target["src_path"].as_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        bins,
        [("branch-guard-hook", root.join("crates/branch-guard/src/main.rs"))],
        "the root package builds branch-guard's own main.rs and nothing else"
    );

    // Build it as cargo install would (minus --release) and lint messages
    // with it, as the commit-msg hook does.
    let build = shipgate_testkit::tools::cargo()
        .args(["build", "--quiet", "--bins", "-p", "shipgate-pre-commit"])
        .output()
        .expect("running cargo build");
    assert!(build.status.success(), "{}", describe_output(&build));
    let hook = shipgate_bin("branch-guard").with_file_name("branch-guard-hook");
    let scratch = tempfile::tempdir().unwrap();
    git(scratch.path(), &["init", "--quiet"]);
    fs::write(scratch.path().join("good"), "feat(api): add export\n").unwrap();
    fs::write(scratch.path().join("bad"), "Added the export.\n").unwrap();
    let good = tool(&hook, scratch.path(), &["message", "good"]);
    assert_eq!(good.status.code(), Some(0), "{}", describe_output(&good));
    let bad = tool(&hook, scratch.path(), &["message", "bad"]);
    assert_eq!(bad.status.code(), Some(1), "{}", describe_output(&bad));
}

/// shipgate's pull requests are checked by its own pr-checks with
/// `.ci/shipgate.toml`: topic branches and release branches go into main.
#[test]
fn own_flow_accepts_topic_and_release_branches_into_main() {
    let root = workspace_root();
    let config = root.join(SELF_CONFIG);
    let config = config.to_str().unwrap();
    let mut verdicts = String::new();
    for branch in ["install-docs", "feature/install", "release/v0.2.0", "Bad_Name"] {
        let output = tool(
            &shipgate_bin("branch-guard"),
            &root,
            &["--config", config, "--color", "never", "branch", branch],
        );
        verdicts.push_str(&format!(
            "$ branch-guard branch {branch}  -> exit {}\n{}{}\n",
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    insta::assert_snapshot!(verdicts);
}

/// CHANGELOG.md is what `release-tagger changelog --output CHANGELOG.md`
/// writes as of the commit that last wrote it (a `chore(release)` commit,
/// which the changelog leaves out): regenerating it there changes nothing.
/// Commits landing after it are the next release's, written at release time.
#[test]
fn changelog_regenerated_as_of_its_last_write_is_unchanged() {
    let root = workspace_root();
    let last_write = git(&root, &["log", "-1", "--format=%H %s", "--", "CHANGELOG.md"]);
    let (commit, subject) = last_write.split_once(' ').expect("CHANGELOG.md has a history");
    assert!(
        subject.starts_with("chore(release)"),
        "CHANGELOG.md was last written by `{subject}`: only the release process writes it \
         (CONTRIBUTING.md: regenerate it and commit it as `chore(release): …`)"
    );

    let scratch = tempfile::tempdir().unwrap();
    let clone = scratch.path().join("shipgate");
    git(
        scratch.path(),
        &[
            "clone",
            "--quiet",
            "--shared",
            "--no-checkout",
            root.to_str().unwrap(),
            "shipgate",
        ],
    );
    git(&clone, &["checkout", "--quiet", "--detach", commit]);
    let written = fs::read_to_string(clone.join("CHANGELOG.md")).unwrap();

    let output = tool(
        &shipgate_bin("release-tagger"),
        &clone,
        &["--config", SELF_CONFIG, "changelog", "--output", "CHANGELOG.md"],
    );
    assert!(output.status.success(), "{}", describe_output(&output));
    let regenerated = fs::read_to_string(clone.join("CHANGELOG.md")).unwrap();
    assert!(
        regenerated == written,
        "CHANGELOG.md as of {commit} is not what release-tagger writes; regenerate it with\n  \
         cargo run -q -p release-tagger -- --config {SELF_CONFIG} changelog --output CHANGELOG.md\n\
         --- committed\n{written}\n--- regenerated\n{regenerated}"
    );
    assert!(
        written.trim_end().ends_with(
            "- CI and dist (prebuilt binaries) workflows; `cargo xtask demo`, `cargo xtask test`,\n  \
             `cargo xtask bench` and `.ci/run`."
        ),
        "the hand-written history stays the last, oldest section"
    );
}
