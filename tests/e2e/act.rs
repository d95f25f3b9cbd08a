//! The composite actions, run by `act` on this host: a throwaway git repo
//! holding copies of the six actions and `scripts/`, a workflow that uses
//! each of them, and the real tool binaries handed in through
//! SHIPGATE_BIN_DIR. The workflow's last step writes the actions' outputs to
//! files, which the test compares with what the binaries must report.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shipgate_testkit::tools::{TOOL_BINARIES, find_tool, shipgate_bin, workspace_root};

/// act builds nothing here, but a first run on a loaded machine is slow.
const ACT_TIMEOUT: Duration = Duration::from_secs(300);

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("creating {}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("reading {}: {e}", from.display())) {
        let entry = entry.unwrap();
        let name = entry.file_name();
        // Installed npm packages are not part of the actions.
        if name == "node_modules" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("copying {}: {e}", entry.path().display()));
        }
    }
}

fn git(repo: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "shipgate e2e")
        .env("GIT_AUTHOR_EMAIL", "e2e@shipgate.invalid")
        .env("GIT_COMMITTER_NAME", "shipgate e2e")
        .env("GIT_COMMITTER_EMAIL", "e2e@shipgate.invalid")
        .output()
        .expect("running git (install it with `apt-get install -y git`)");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A repository shaped like shipgate's own, as far as the actions care.
fn action_repo(root: &Path) -> PathBuf {
    let source = workspace_root();
    let repo = root.join("repo");
    fs::create_dir_all(repo.join(".github").join("workflows")).unwrap();
    fs::copy(source.join("action.yml"), repo.join("action.yml")).unwrap();
    for tool in TOOL_BINARIES {
        copy_dir(&source.join(tool), &repo.join(tool));
    }
    copy_dir(&source.join("scripts"), &repo.join("scripts"));
    fs::copy(
        source.join("fixtures").join("workflows").join("tool-actions.yml"),
        repo.join(".github").join("workflows").join("e2e.yml"),
    )
    .unwrap();
    git(&repo, &["init", "--quiet", "--initial-branch=main"]);
    git(&repo, &["add", "--all"]);
    git(&repo, &["commit", "--quiet", "--message", "actions under test"]);
    repo
}

/// The binaries' directory, after making sure all five are built.
fn built_bin_dir() -> PathBuf {
    for tool in TOOL_BINARIES {
        shipgate_bin(tool);
    }
    shipgate_bin("release-tagger").parent().unwrap().to_path_buf()
}

struct ActRun {
    success: bool,
    log: String,
}

fn run_act(repo: &Path, home: &Path, bin_dir: &Path, result_dir: &Path) -> ActRun {
    let act = find_tool("act").expect("act is required");
    let log_path = home.join("act.log");
    let log = fs::File::create(&log_path).unwrap();
    let mut child = Command::new(&act)
        .args(["push", "--workflows", ".github/workflows/e2e.yml"])
        // `-self-hosted` runs the job on this host: no Docker.
        .args(["--platform", "ubuntu-latest=-self-hosted"])
        .arg("--env")
        .arg(format!("SHIPGATE_BIN_DIR={}", bin_dir.display()))
        .arg("--env")
        .arg(format!("RESULT_DIR={}", result_dir.display()))
        // Nothing may be fetched: checkout is skipped for the local repo and
        // every other action is local.
        .arg("--action-offline-mode")
        .current_dir(repo)
        // A fresh HOME keeps any ~/.actrc and act's cache of the developer
        // out of the run; PATH is all the job needs from outside.
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", act.display()));

    let deadline = Instant::now() + ACT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for act") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut log = fs::read_to_string(&log_path).unwrap_or_default();
    if status.is_none() {
        log.push_str(&format!("\n[act killed after {ACT_TIMEOUT:?}]\n"));
    }
    ActRun {
        success: status.is_some_and(|status| status.success()),
        log,
    }
}

fn read_result(result_dir: &Path, name: &str, act_log: &str) -> String {
    let path = result_dir.join(name);
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} was not written ({e}); act output:\n{act_log}", path.display()))
}

/// True if a setting named `key` (alone or as the last part of a dotted
/// path such as `release.tag_prefix`) holds `expected`, either directly or as
/// the `value` of an entry annotated with its source.
fn has_setting(value: &serde_json::Value, key: &str, expected: &str) -> bool {
    let names_key = |name: &str| name == key || name.ends_with(&format!(".{key}"));
    match value {
        serde_json::Value::Object(map) => map.iter().any(|(name, entry)| {
            (names_key(name)
                && (entry.as_str() == Some(expected) || entry.get("value").and_then(|v| v.as_str()) == Some(expected)))
                || has_setting(entry, key, expected)
        }),
        serde_json::Value::Array(items) => items.iter().any(|item| has_setting(item, key, expected)),
        _ => false,
    }
}

#[test]
fn composite_actions_report_tool_versions_and_config_under_act() {
    let bin_dir = built_bin_dir();
    let scratch = tempfile::tempdir().unwrap();
    let repo = action_repo(scratch.path());
    let home = scratch.path().join("home");
    let result_dir = scratch.path().join("results");
    fs::create_dir_all(&home).unwrap();
    fs::create_dir_all(&result_dir).unwrap();

    let act = run_act(&repo, &home, &bin_dir, &result_dir);
    assert!(act.success, "act failed; its output:\n{}", act.log);

    let version = env!("CARGO_PKG_VERSION");
    for tool in TOOL_BINARIES {
        let reported = read_result(&result_dir, &format!("{tool}.tool-version"), &act.log);
        assert_eq!(
            reported, version,
            "{tool}'s tool-version output; act output:\n{}",
            act.log
        );
    }
    assert_eq!(read_result(&result_dir, "setup.version", &act.log), version);
    assert_eq!(
        read_result(&result_dir, "setup.bin-dir", &act.log),
        bin_dir.display().to_string()
    );
    let on_path = read_result(&result_dir, "path-release-tagger.txt", &act.log);
    assert!(
        on_path.starts_with("release-tagger ") && on_path.contains(version),
        "release-tagger on PATH printed {on_path:?}"
    );

    let config_text = read_result(&result_dir, "release-tagger.config.json", &act.log);
    let config: serde_json::Value = serde_json::from_str(&config_text).unwrap_or_else(|e| {
        panic!(
            "the config output is not JSON ({e}): {config_text}\nact output:\n{}",
            act.log
        )
    });
    assert!(
        has_setting(&config, "tag_prefix", "v"),
        "the config output lacks tag_prefix = \"v\": {config_text}"
    );
}
