//! The `--json` contract of all five tools: every command, whether it
//! succeeds, fails its check or is called wrongly, prints exactly one JSON
//! document on stdout, `{tool, version, command, ok, …}`, with `ok` true
//! exactly when the exit code is 0 and `error: {code, message}` when the
//! command could not run (docs/json.md).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use shipgate_testkit::git::GitFixture;
use shipgate_testkit::tools::shipgate_bin;

const TOOLS: [&str; 5] = [
    "release-tagger",
    "branch-guard",
    "migrate-runner",
    "smoke-tester",
    "notify",
];

fn run(tool: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(shipgate_bin(tool))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .env_remove("GITHUB_ACTIONS")
        .env_remove("SHIPGATE_CONFIG")
        .env_remove("GITHUB_REF")
        .env_remove("GITHUB_HEAD_REF")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN")
        .env_remove("DATABASE_URL")
        .env_remove("NOTIFY_TARGETS")
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

/// The subcommands `--help` lists (two-space indent, a name, then the text).
fn subcommands(tool: &str, path: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = path.to_vec();
    args.push("--help");
    let help = String::from_utf8(run(tool, dir.path(), &args).stdout).unwrap();
    help.split("Commands:\n")
        .nth(1)
        .map(|section| {
            section
                .lines()
                .take_while(|line| !line.is_empty())
                .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
                .filter_map(|line| line.split_whitespace().next())
                .filter(|name| *name != "help")
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Every command path of `tool`: `["next"]`, `["hook", "install"]`, …
fn every_command(tool: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    for name in subcommands(tool, &[]) {
        let nested = subcommands(tool, &[name.as_str()]);
        if nested.is_empty() {
            commands.push(vec![name]);
        } else {
            commands.extend(nested.into_iter().map(|sub| vec![name.clone(), sub]));
        }
    }
    commands
}

fn workspace_version() -> String {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml")).unwrap();
    let section = manifest.split("[workspace.package]").nth(1).unwrap();
    let line = section.lines().find(|l| l.trim_start().starts_with("version")).unwrap();
    line.split('"').nth(1).unwrap().to_owned()
}

/// Checks one run against the envelope and returns the document.
fn check_envelope(tool: &str, command: &[&str], out: &Output) -> Value {
    let code = out.status.code().expect("exited");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let context = format!(
        "{tool} {} --json (exit {code})\n--- stdout\n{stdout}\n--- stderr\n{}",
        command.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut documents = serde_json::Deserializer::from_str(&stdout).into_iter::<Value>();
    let document = match documents.next() {
        Some(Ok(document)) => document,
        other => panic!("no JSON document ({other:?}): {context}"),
    };
    assert!(documents.next().is_none(), "exactly one document: {context}");
    assert_eq!(document["tool"], tool, "{context}");
    assert_eq!(document["version"], workspace_version().as_str(), "{context}");
    assert_eq!(document["command"], command.join(" ").as_str(), "{context}");
    assert_eq!(document["ok"], code == 0, "ok is true exactly on exit 0: {context}");
    if code >= 2 {
        assert_eq!(document["error"]["code"], code, "{context}");
        let message = document["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty() && !message.contains('\n'), "{context}");
    }
    if code == 0 {
        assert!(document.get("error").is_none(), "{context}");
    }
    document
}

#[test]
fn every_command_of_every_tool_prints_one_envelope() {
    let mut checked = 0;
    for tool in TOOLS {
        let commands = every_command(tool);
        assert!(commands.len() >= 5, "{tool} lists its subcommands: {commands:?}");
        for command in commands {
            // An empty directory: most commands fail for want of a repository,
            // a database or arguments, and still answer in the envelope.
            let dir = tempfile::tempdir().unwrap();
            let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
            args.push("--json");
            let out = run(tool, dir.path(), &args);
            check_envelope(tool, &args[..args.len() - 1], &out);
            checked += 1;
        }
    }
    assert!(checked >= 40, "{checked} commands checked");
}

#[test]
fn successes_failures_and_usage_errors_share_the_envelope() {
    let fixture = GitFixture::new();
    fixture.commit("feat: first");
    fixture.tag_annotated("v0.3.0", "Release version 0.3.0");
    fixture.commit("feat!: a breaking change before 1.0");

    let next = run("release-tagger", fixture.path(), &["next", "--json"]);
    let mut document = check_envelope("release-tagger", &["next"], &next);
    document["version"] = "[version]".into();
    for commit in document["commits"].as_array_mut().unwrap() {
        commit["sha"] = "[sha]".into();
    }
    insta::assert_json_snapshot!(document);

    let refused = run("branch-guard", fixture.path(), &["branch", "Bad_Name", "--json"]);
    assert_eq!(refused.status.code(), Some(1));
    check_envelope("branch-guard", &["branch"], &refused);

    let usage = run("notify", fixture.path(), &["send", "--to", "stdout://", "--json"]);
    let mut document = check_envelope("notify", &["send"], &usage);
    document["version"] = "[version]".into();
    insta::assert_json_snapshot!(document);

    let typo = run("release-tagger", fixture.path(), &["nxt", "--json"]);
    let document = check_envelope("release-tagger", &[], &typo);
    assert_eq!(
        document["error"]["message"],
        "unrecognized subcommand 'nxt'; tip: a similar subcommand exists: 'next' (see `release-tagger --help`)"
    );
}
