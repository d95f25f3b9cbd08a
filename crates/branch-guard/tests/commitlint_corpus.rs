//! branch-guard gives commitlint 20's verdict on every message of the
//! recorded corpus (fixtures/commitlint/corpus.json, written by
//! bench/branch-guard/corpus.py with commitlint's own `lint()`): the same
//! pass or fail and the same failed and warned rules, both as the
//! `commit-msg` hook reads a message (`commitlint --edit`) and as history
//! is read (`commitlint --from/--to`).

use std::path::Path;

use branch_guard::lint::{Linter, Severity};
use shipgate_core::config::GuardConfig;

fn corpus() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/commitlint/corpus.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("corpus.json is JSON")
}

fn rules(findings: &[branch_guard::lint::Finding], severity: Severity) -> Vec<String> {
    let mut names: Vec<String> = findings
        .iter()
        .filter(|finding| finding.severity == severity)
        .map(|finding| finding.rule.to_string())
        .collect();
    names.sort();
    names
}

fn names(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .expect("a list of rule names")
        .iter()
        .map(|name| name.as_str().expect("a rule name").to_string())
        .collect()
}

#[test]
fn every_recorded_verdict_is_branch_guards() {
    let corpus = corpus();
    assert_eq!(corpus["commitlint"], "20.5.3", "the corpus records commitlint 20.x");
    let messages = corpus["messages"].as_array().expect("messages");
    assert!(messages.len() >= 300, "{} messages", messages.len());
    let linter = Linter::new(&GuardConfig::default()).expect("defaults");
    let mut differences = Vec::new();
    let mut failing = 0;
    for entry in messages {
        let message = entry["message"].as_str().expect("message");
        for (mode, verdict) in [
            ("edit", linter.check_edit(message, false)),
            ("history", linter.check_commit(message, 1, None)),
        ] {
            let expected = &entry[mode];
            let ours = (
                verdict.passed(),
                rules(&verdict.findings, Severity::Error),
                rules(&verdict.findings, Severity::Warning),
            );
            let theirs = if expected.get("error").is_some() {
                // lint() throws on whitespace only; git never writes such a message.
                (true, Vec::new(), Vec::new())
            } else {
                (
                    expected["valid"].as_bool().expect("valid"),
                    names(&expected["errors"]),
                    names(&expected["warnings"]),
                )
            };
            failing += usize::from(!theirs.0);
            if ours != theirs {
                differences.push(format!(
                    "{mode} {message:?}\n  commitlint:   {theirs:?}\n  branch-guard: {ours:?}"
                ));
            }
        }
    }
    assert!(failing > 100, "the corpus must hold failing messages too ({failing})");
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[test]
fn the_corpus_covers_every_rule_and_ignore_pattern() {
    let corpus = corpus();
    let messages = corpus["messages"].as_array().expect("messages");
    let mut fired: Vec<String> = messages
        .iter()
        .filter(|entry| entry["edit"].get("error").is_none())
        .flat_map(|entry| {
            let mut all = names(&entry["edit"]["errors"]);
            all.extend(names(&entry["edit"]["warnings"]));
            all
        })
        .collect();
    fired.sort();
    fired.dedup();
    let mut every_rule: Vec<String> = branch_guard::lint::RULES.iter().map(|r| r.to_string()).collect();
    every_rule.sort();
    assert_eq!(fired, every_rule);
    let linter = Linter::new(&GuardConfig::default()).expect("defaults");
    let mut kinds: Vec<String> = messages
        .iter()
        .filter_map(|entry| linter.check_edit(entry["message"].as_str()?, false).special)
        .map(|kind| format!("{kind:?}"))
        .collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds, ["Fixup", "Merge", "Revert", "Version"]);
}
