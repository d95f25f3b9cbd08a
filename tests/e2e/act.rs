//! The composite actions, run by `act` on this host: a throwaway git repo
//! holding copies of the six actions and `scripts/`, a workflow that uses
//! each of them, and the real tool binaries handed in through
//! SHIPGATE_BIN_DIR. The workflow's last step writes the actions' outputs to
//! files, which the test compares with what the binaries must report.

use shipgate_testkit::act::{ActOptions, ActRepo, built_bin_dir};
use shipgate_testkit::tools::TOOL_BINARIES;

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
    let repo = ActRepo::new("tool-actions.yml");
    let act = repo.run(&ActOptions::event("push"));
    assert!(act.success, "act failed; its output:\n{}", act.log);

    let version = env!("CARGO_PKG_VERSION");
    for tool in TOOL_BINARIES {
        let reported = repo.result(&format!("{tool}.tool-version"), &act);
        assert_eq!(
            reported, version,
            "{tool}'s tool-version output; act output:\n{}",
            act.log
        );
    }
    assert_eq!(repo.result("setup.version", &act), version);
    assert_eq!(
        repo.result("setup.bin-dir", &act),
        built_bin_dir().display().to_string()
    );
    let on_path = repo.result("path-release-tagger.txt", &act);
    assert!(
        on_path.starts_with("release-tagger ") && on_path.contains(version),
        "release-tagger on PATH printed {on_path:?}"
    );

    let config_text = repo.result("release-tagger.config.json", &act);
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
