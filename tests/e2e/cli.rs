//! The conventions every binary shares, checked on the built binaries:
//! `--help`, `--version`, `config`, `completions`, the exit-code table, and
//! the `--json` envelope: every command, whether it succeeds, fails its
//! check or is called wrongly, prints exactly one JSON document on stdout,
//! `{tool, version, command, ok, …}`, with `ok` true exactly when the exit
//! code is 0 and `error: {code, message}` when it could not run
//! (docs/cli.md).

use std::path::Path;
use std::process::Output;

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
    shipgate_testkit::cli::run(shipgate_bin(tool), dir, args, &[])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn workspace_version() -> String {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml")).unwrap();
    let value: toml_version::Manifest = toml_version::parse(&manifest);
    value.version
}

/// Reads `[workspace.package] version` without a TOML dependency in this crate.
mod toml_version {
    pub struct Manifest {
        pub version: String,
    }
    pub fn parse(manifest: &str) -> Manifest {
        let section = manifest
            .split("[workspace.package]")
            .nth(1)
            .expect("workspace.package section");
        let line = section
            .lines()
            .find(|l| l.trim_start().starts_with("version"))
            .expect("version key");
        Manifest {
            version: line.split('"').nth(1).expect("quoted version").to_string(),
        }
    }
}

#[test]
fn every_tool_answers_help_version_config_and_completions() {
    let dir = tempfile::tempdir().unwrap();
    let version = workspace_version();
    for tool in TOOLS {
        let help = run(tool, dir.path(), &["--help"]);
        assert_eq!(help.status.code(), Some(0), "{tool} --help");
        assert!(text(&help.stdout).contains("config"), "{tool} --help lists config");

        let out = run(tool, dir.path(), &["--version"]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(text(&out.stdout).trim(), format!("{tool} {version}"));

        let out = run(tool, dir.path(), &["config"]);
        assert_eq!(out.status.code(), Some(0), "{tool} config: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.contains("# default"), "{tool} config shows provenance: {stdout}");

        let out = run(tool, dir.path(), &["config", "--json"]);
        assert_eq!(out.status.code(), Some(0));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("config --json is JSON");
        assert_eq!(json["tool"], tool);
        assert!(json["entries"].as_object().is_some_and(|e| !e.is_empty()), "{json}");

        let out = run(tool, dir.path(), &["completions", "bash"]);
        assert_eq!(out.status.code(), Some(0));
        assert!(
            text(&out.stdout).contains(&format!("_{}()", tool.replace('-', "__"))),
            "{tool} completions"
        );
    }
}

#[test]
fn zero_config_reproduces_the_seed_flow_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("release-tagger", dir.path(), &["config", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries = &json["entries"];
    assert_eq!(entries["release.tag_prefix"]["value"], "v");
    assert_eq!(entries["release.tag_prefix"]["source"], "default");
    assert_eq!(entries["release.tag_message"]["value"], "Release version {version}");
    let branches = entries["flow.branches"]["value"]
        .as_array()
        .expect("flow.branches is a list");
    let rule = |pattern: &str| {
        branches
            .iter()
            .find(|b| b["pattern"] == pattern)
            .cloned()
            .expect(pattern)
    };
    assert_eq!(rule("main")["reviews"], 2);
    assert_eq!(rule("main")["environment"], "production");
    assert_eq!(rule("develop")["reviews"], 1);
    assert_eq!(rule("develop")["environment"], "staging");
    assert_eq!(rule("feature/*")["reviews"], 0);
    assert_eq!(rule("hotfix/*")["reviews"], 1);
    assert_eq!(rule("hotfix/*")["targets"], serde_json::json!(["main", "develop"]));
    assert_eq!(rule("release/v{version}")["targets"], serde_json::json!(["main"]));
}

#[test]
fn config_shows_where_values_came_from() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::create_dir(dir.path().join(".github")).unwrap();
    std::fs::write(
        dir.path().join(".github/shipgate.toml"),
        "[release]\ntag_prefix = \"rel-\"\n",
    )
    .unwrap();
    let out = shipgate_testkit::cli::command(shipgate_bin("release-tagger"), dir.path())
        .args(["config", "--json"])
        .env("SHIPGATE_RELEASE_TAG_MESSAGE", "Ship {version}")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["entries"]["release.tag_prefix"]["value"], "rel-");
    assert!(
        json["entries"]["release.tag_prefix"]["source"]
            .as_str()
            .unwrap()
            .starts_with("file ")
    );
    assert_eq!(
        json["entries"]["release.tag_message"]["source"],
        "env SHIPGATE_RELEASE_TAG_MESSAGE"
    );
    assert_eq!(json["entries"]["flow.branches"]["source"], "default");
}

#[test]
fn exit_0_when_the_check_passes() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("branch-guard", dir.path(), &["branch", "feature/video-upload"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("merges into develop"));
}

#[test]
fn exit_1_when_a_check_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("branch-guard", dir.path(), &["branch", "Feature/Login"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("not allowed"), "{}", text(&out.stdout));
    let out = run("branch-guard", dir.path(), &["branch", "--json", "wip"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["allowed"], false);
}

#[test]
fn exit_2_on_bad_usage_keeps_the_detail_and_one_error_annotation() {
    let dir = tempfile::tempdir().unwrap();
    for tool in TOOLS {
        let out = run(tool, dir.path(), &["--no-such-flag"]);
        assert_eq!(out.status.code(), Some(2), "{tool}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with(&format!("{tool}: error: unexpected argument '--no-such-flag' found\n")),
            "{stderr}"
        );
        assert!(
            stderr.ends_with(&format!("For more information, try `{tool} --help`.\n")),
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "{tool}: nothing on stdout without --json");
    }
    let cases: [(&str, &[&str]); 3] = [
        ("notify", &["send", "--to", "stdout://"]),
        ("release-tagger", &["nxt"]),
        ("notify", &["completions", "nushell"]),
    ];
    for (tool, args) in cases {
        let plain = run(tool, dir.path(), args);
        insta::assert_snapshot!(text(&plain.stderr));
        let summary = dir.path().join("summary.md");
        let out = shipgate_testkit::cli::command(shipgate_bin(tool), dir.path())
            .args(args)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let annotations: Vec<String> = text(&out.stdout)
            .lines()
            .filter(|line| line.starts_with("::error"))
            .map(str::to_owned)
            .collect();
        assert_eq!(annotations.len(), 1, "exactly one ::error: {annotations:?}");
        insta::assert_snapshot!(annotations[0]);
    }
}

#[test]
fn exit_2_on_a_bad_config_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(
        dir.path().join("shipgate.toml"),
        "[release]\ntag_prefix = \"v\"\ntag_prefx = \"x\"\n",
    )
    .unwrap();
    let out = run("release-tagger", dir.path(), &["config"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("shipgate.toml:3"), "{stderr}");
    assert!(stderr.contains("tag_prefx"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing printed on stdout for a bad config");

    std::fs::write(
        dir.path().join("shipgate.toml"),
        "[guard]\nheader_max_length = \"long\"\n",
    )
    .unwrap();
    let out = run("branch-guard", dir.path(), &["branch", "main"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("shipgate.toml:2") && stderr.contains("header_max_length"),
        "{stderr}"
    );

    let out = run("notify", dir.path(), &["--config", "missing.toml", "config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("missing.toml"));
}

#[test]
fn in_github_actions_every_run_records_its_version_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let output_file = dir.path().join("github_output");
    std::fs::write(&output_file, "").unwrap();
    let out = shipgate_testkit::cli::command(shipgate_bin("smoke-tester"), dir.path())
        .args(["config"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let outputs = std::fs::read_to_string(&output_file).unwrap();
    assert!(outputs.starts_with("tool-version<<ghadelimiter_"), "{outputs}");
    assert!(outputs.contains(&format!("\n{}\n", workspace_version())), "{outputs}");
    assert!(outputs.contains("config<<ghadelimiter_"), "{outputs}");
    assert!(outputs.contains("\"smoke.failure_threshold\""), "{outputs}");
}

#[test]
fn man_pages_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("migrate-runner", dir.path(), &["man", "--out-dir", "man"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.path().join("man/migrate-runner.1").is_file());
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
