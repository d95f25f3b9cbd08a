//! `branch-guard scan` over SARIF: hand-written logs for the shapes real
//! scanners write (several runs, `security-severity`, fingerprints, rules in
//! extensions, suppressions, a malformed file), and the output of two real
//! scanners, Bandit (PyPI) and ESLint with the SARIF formatter (npm), run
//! over the fixture apps in fixtures/scan/. Every hand-written log is also
//! checked against the official SARIF 2.1.0 JSON schema.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{both, isolated, text};
use shipgate_testkit::tools::{eslint_sarif_formatter, sarif_schema, venv_python};
use shipgate_testkit::{find_tool, workspace_root};

/// The head commit of the pull request in `pull_request.json`.
const HEAD_SHA: &str = "4f6c0b0a5e2d41c7a9e8b3f21d07c6a58e9b1d20";

fn scan_fixture(relative: &str) -> PathBuf {
    workspace_root().join("fixtures/scan").join(relative)
}

/// A git repository in a temp dir, where `scan` runs.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().expect("temp dir");
        let status = isolated("git", dir.path())
            .args(["init", "--quiet"])
            .status()
            .expect("git init");
        assert!(status.success());
        Repo { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, relative: &str, contents: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&path, contents).expect("write");
    }

    /// Copies `fixtures/scan/sarif/NAME` to the repository root.
    fn sarif(&self, name: &str) {
        let contents = std::fs::read_to_string(scan_fixture(&format!("sarif/{name}"))).expect("fixture");
        self.write(name, &contents);
    }

    /// Copies a fixture directory into the repository at `to`.
    fn copy_dir(&self, from: &Path, to: &str) {
        let status = Command::new("cp")
            .arg("-R")
            .arg(from)
            .arg(self.path().join(to))
            .status()
            .expect("cp");
        assert!(status.success());
    }

    /// `branch-guard scan ARGS` in `dir` (relative to the repository).
    fn scan_in(&self, dir: &str, args: &[&str], env: &[(&str, String)]) -> Output {
        let mut command = isolated(common::bin(), &self.path().join(dir));
        command.arg("scan").args(args);
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().expect("run branch-guard scan")
    }

    fn scan(&self, args: &[&str]) -> Output {
        self.scan_in(".", args, &[])
    }

    /// The variables of a GitHub Actions job on a pull request, with the
    /// output and summary files in the temp dir.
    fn actions_env(&self) -> Vec<(&'static str, String)> {
        let files = self.path().join(".actions");
        std::fs::create_dir_all(&files).expect("mkdir");
        let event = files.join("pull_request.json");
        std::fs::write(
            &event,
            serde_json::json!({
                "action": "opened",
                "number": 7,
                "pull_request": {
                    "number": 7,
                    "title": "feat: jobs",
                    "user": { "login": "dev" },
                    "head": { "ref": "feature/jobs", "sha": HEAD_SHA, "repo": { "full_name": "acme/app" } },
                    "base": { "ref": "develop", "sha": "0000000000000000000000000000000000000001", "repo": { "full_name": "acme/app" } },
                },
                "repository": { "full_name": "acme/app" },
            })
            .to_string(),
        )
        .expect("write event");
        vec![
            ("GITHUB_ACTIONS", "true".to_string()),
            ("GITHUB_OUTPUT", files.join("output").display().to_string()),
            ("GITHUB_STEP_SUMMARY", files.join("summary.md").display().to_string()),
            ("GITHUB_REPOSITORY", "acme/app".to_string()),
            ("GITHUB_SERVER_URL", "https://github.com".to_string()),
            // The merge commit a pull_request job checks out: links must not use it.
            ("GITHUB_SHA", "9999999999999999999999999999999999999999".to_string()),
            ("GITHUB_EVENT_NAME", "pull_request".to_string()),
            ("GITHUB_EVENT_PATH", event.display().to_string()),
        ]
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.path().join(".actions/summary.md")).unwrap_or_default()
    }

    fn outputs(&self) -> String {
        std::fs::read_to_string(self.path().join(".actions/output")).unwrap_or_default()
    }
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("--json printed no JSON ({e}):\n{}", both(output)))
}

fn code(output: &Output) -> Option<i32> {
    output.status.code()
}

/// The workflow commands a run printed, without `::set-output`-style noise.
fn annotations(output: &Output) -> String {
    text(&output.stdout)
        .lines()
        .filter(|line| line.starts_with("::error") || line.starts_with("::warning") || line.starts_with("::notice"))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Findings by status, from `--json`.
fn statuses(document: &serde_json::Value) -> Vec<(String, String, String)> {
    document["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let place = match (f["file"].as_str(), f["line"].as_u64()) {
                (Some(file), Some(line)) => format!("{file}:{line}"),
                (Some(file), None) => file.to_string(),
                _ => "-".to_string(),
            };
            (
                f["status"].as_str().unwrap_or_default().to_string(),
                f["severity"].as_str().unwrap_or_default().to_string(),
                format!("{} {place}", f["rule"].as_str().unwrap_or_default()),
            )
        })
        .collect()
}

fn failing(document: &serde_json::Value) -> u64 {
    document["totals"]["failing"].as_u64().expect("totals.failing")
}

/// For each threshold: the exit code and how many findings failed.
fn verdicts<'t>(repo: &Repo, dir: &str, file: &str, thresholds: &[&'t str]) -> Vec<(&'t str, Option<i32>, u64)> {
    thresholds
        .iter()
        .map(|threshold| {
            let output = repo.scan_in(dir, &[file, "--json", "--fail-on", threshold], &[]);
            (*threshold, code(&output), failing(&json(&output)))
        })
        .collect()
}

#[test]
fn several_runs_are_normalised_the_way_code_scanning_ranks_them() {
    let repo = Repo::new();
    repo.sarif("multi-run.sarif");
    let output = repo.scan(&["multi-run.sarif", "--json"]);
    assert_eq!(code(&output), Some(1), "{}", both(&output));
    insta::assert_json_snapshot!("multi_run_json", json(&output));

    let output = repo.scan(&["multi-run.sarif"]);
    assert_eq!(code(&output), Some(1), "{}", both(&output));
    insta::assert_snapshot!("multi_run_text", text(&output.stdout));
}

#[test]
fn each_threshold_fails_on_what_reaches_it() {
    let repo = Repo::new();
    repo.sarif("multi-run.sarif");
    let verdicts = verdicts(
        &repo,
        ".",
        "multi-run.sarif",
        &["critical", "high", "error", "medium", "warning", "low"],
    );
    // multi-run.sarif: 2 critical (9.8, 9.3), 1 high (7.5), 1 error (Trivy's
    // DS002 without a score), 2 medium (5.3, 5.6), 1 low (2.0), 3 notes (a
    // 0.0 score falls back to the rule's note; Trivy's DS026 by its rule's
    // default level; CodeQL's unused variable).
    assert_eq!(
        verdicts,
        [
            ("critical", Some(1), 2),
            ("high", Some(1), 4),
            ("error", Some(1), 4),
            ("medium", Some(1), 6),
            ("warning", Some(1), 6),
            ("low", Some(1), 10),
        ]
    );
}

#[test]
fn the_threshold_and_the_baseline_come_from_shipgate_toml_and_the_environment() {
    let repo = Repo::new();
    repo.sarif("multi-run.sarif");
    repo.write(
        "shipgate.toml",
        "[guard.scan]\nfail_on = \"critical\"\nbaseline = \".github/scan-baseline.toml\"\n",
    );
    repo.write(
        ".github/scan-baseline.toml",
        "[[accepted]]\nfingerprint = \"7d0b2b1f3c6e9a41:1\"\nexpires = 2099-12-31\nreason = \"hooks come from our own config\"\n\n\
         [[accepted]]\nrule = \"js/code-injection\"\nlocation = \"web/src/widgets.js:10\"\nexpires = 2099-12-31\nreason = \"the string is a constant\"\n",
    );
    let output = repo.scan(&["multi-run.sarif", "--json"]);
    assert_eq!(code(&output), Some(0), "{}", both(&output));
    let document = json(&output);
    assert_eq!(document["fail_on"], "critical");
    assert_eq!(document["totals"]["accepted"], 2);

    let mut command = isolated(common::bin(), repo.path());
    command
        .args(["scan", "multi-run.sarif", "--json"])
        .env("SHIPGATE_GUARD_SCAN_FAIL_ON", "medium");
    let output = command.output().expect("run");
    assert_eq!(code(&output), Some(1), "{}", both(&output));
    assert_eq!(failing(&json(&output)), 4, "medium, minus the two accepted criticals");
}

#[test]
fn the_baseline_suppresses_only_what_it_lists_and_only_until_it_expires() {
    let repo = Repo::new();
    repo.sarif("multi-run.sarif");
    // The four findings at or above high, accepted until far in the future.
    let accept_all = "[[accepted]]\nfingerprint = \"7d0b2b1f3c6e9a41:1\"\nexpires = 2099-12-31\nreason = \"hooks come from our own config\"\n\n\
        [[accepted]]\nfingerprint = \"2f9c0a7e5b13d846:1\"\nexpires = 2099-12-31\nreason = \"cache keys, not passwords\"\n\n\
        [[accepted]]\nfingerprint = \"9e3f51c0d7a2b684:1\"\nexpires = \"2099-12-31\"\nreason = \"the string is a constant\"\n\n\
        [[accepted]]\nrule = \"DS002\"\nlocation = \"Dockerfile:1\"\ntool = \"Trivy\"\nexpires = 2099-12-31\nreason = \"the base image drops root\"\n";
    repo.write("baseline.toml", accept_all);
    let output = repo.scan(&["multi-run.sarif", "--baseline", "baseline.toml", "--json"]);
    assert_eq!(code(&output), Some(0), "{}", both(&output));
    let document = json(&output);
    assert_eq!(document["totals"]["accepted"], 4, "{document:#}");
    assert_eq!(failing(&document), 0);

    // Only what is listed: the same entries do not hide the medium findings.
    let output = repo.scan(&[
        "multi-run.sarif",
        "--baseline",
        "baseline.toml",
        "--fail-on",
        "medium",
        "--json",
    ]);
    assert_eq!(code(&output), Some(1), "{}", both(&output));
    assert_eq!(failing(&json(&output)), 2);

    // One entry has expired, and an unused one names nothing: the expired
    // one's finding fails the gate again, and the report says why.
    let expired = accept_all.replacen(
        "expires = 2099-12-31\nreason = \"cache keys",
        "expires = 2020-01-31\nreason = \"cache keys",
        1,
    ) + "\n[[accepted]]\nrule = \"B101\"\nlocation = \"app/jobs.py\"\nexpires = 2099-12-31\nreason = \"asserts are for tests only\"\n";
    repo.write("baseline.toml", &expired);
    let output = repo.scan_in(
        ".",
        &["multi-run.sarif", "--baseline", "baseline.toml"],
        &repo.actions_env(),
    );
    assert_eq!(code(&output), Some(1), "{}", both(&output));
    insta::assert_snapshot!("baseline_expired_text", non_command_lines(&output));
    insta::assert_snapshot!("baseline_expired_summary", repo.summary());
}

/// stdout without workflow commands.
fn non_command_lines(output: &Output) -> String {
    text(&output.stdout)
        .lines()
        .filter(|line| !line.starts_with("::"))
        .map(|line| format!("{line}\n"))
        .collect()
}

#[test]
fn in_actions_the_summary_links_the_head_commit_and_findings_are_annotated_on_their_lines() {
    let repo = Repo::new();
    repo.sarif("multi-run.sarif");
    let output = repo.scan_in(".", &["multi-run.sarif"], &repo.actions_env());
    assert_eq!(code(&output), Some(1), "{}", both(&output));
    insta::assert_snapshot!("multi_run_summary", repo.summary());
    insta::assert_snapshot!("multi_run_annotations", annotations(&output));
    let outputs = repo.outputs();
    assert!(
        outputs.contains("passed<<") && outputs.contains("\nfalse\n"),
        "{outputs}"
    );
    assert!(outputs.contains("findings<<") && outputs.contains("\n4\n"), "{outputs}");
}

#[test]
fn annotations_stop_at_githubs_ten_per_level_and_the_rest_are_listed_in_the_summary() {
    let repo = Repo::new();
    repo.sarif("many-findings.sarif");
    let output = repo.scan_in(".", &["many-findings.sarif"], &repo.actions_env());
    assert_eq!(code(&output), Some(1), "{}", both(&output));
    let commands = annotations(&output);
    assert_eq!(
        commands.lines().filter(|l| l.starts_with("::error ")).count(),
        10,
        "{commands}"
    );
    assert_eq!(
        commands.lines().filter(|l| l.starts_with("::warning ")).count(),
        10,
        "{commands}"
    );
    insta::assert_snapshot!("many_findings_summary", repo.summary());
}

#[test]
fn a_malformed_file_is_a_usage_error_naming_the_file_and_the_json_path() {
    let repo = Repo::new();
    repo.sarif("multi-run.sarif");
    repo.sarif("malformed.sarif");
    let output = repo.scan_in(".", &["multi-run.sarif", "malformed.sarif"], &repo.actions_env());
    assert_eq!(code(&output), Some(2), "{}", both(&output));
    assert_eq!(
        text(&output.stderr).trim(),
        "branch-guard: error: malformed.sarif: malformed SARIF at `runs[0].results[0].locations[0].physicalLocation.region.startLine`: invalid type: string \"twelve\", expected u32 at line 16 column 49"
    );
    let errors = text(&output.stdout)
        .lines()
        .filter(|l| l.starts_with("::error"))
        .count();
    assert_eq!(errors, 1, "exactly one ::error:\n{}", both(&output));
    assert_eq!(repo.summary(), "", "nothing half-written");

    repo.write("broken.sarif", "{\"version\": \"2.1.0\", \"runs\": [");
    let output = repo.scan(&["broken.sarif"]);
    assert_eq!(code(&output), Some(2), "{}", both(&output));
    assert_eq!(
        text(&output.stderr).trim(),
        "branch-guard: error: broken.sarif: not valid JSON: EOF while parsing a list at line 1 column 30"
    );
}

#[test]
fn a_missing_file_or_a_pattern_matching_nothing_is_a_usage_error() {
    let repo = Repo::new();
    let output = repo.scan(&["reports/bandit.sarif"]);
    assert_eq!(code(&output), Some(2), "{}", both(&output));
    assert_eq!(
        text(&output.stderr).trim(),
        "branch-guard: error: SARIF file reports/bandit.sarif not found"
    );
    let output = repo.scan(&["reports/*.sarif"]);
    assert_eq!(code(&output), Some(2), "{}", both(&output));
    assert_eq!(
        text(&output.stderr).trim(),
        "branch-guard: error: no SARIF file matches `reports/*.sarif`"
    );

    // A directory stands for every *.sarif below it; a glob for its matches.
    repo.sarif("many-findings.sarif");
    std::fs::create_dir_all(repo.path().join("reports/js")).expect("mkdir");
    std::fs::rename(
        repo.path().join("many-findings.sarif"),
        repo.path().join("reports/js/eslint.sarif"),
    )
    .expect("move");
    for args in [["reports", "--json"], ["reports/**/*.sarif", "--json"]] {
        let output = repo.scan(&args);
        assert_eq!(code(&output), Some(1), "{}", both(&output));
        assert_eq!(json(&output)["files"], serde_json::json!(["reports/js/eslint.sarif"]));
    }
}

/// Checks `file` against the official SARIF 2.1.0 schema with Python's
/// `jsonschema`; returns the errors as `path: message` lines.
fn schema_errors(file: &Path) -> String {
    let python = venv_python().expect("Python with jsonschema");
    let schema = sarif_schema().expect("the SARIF 2.1.0 schema");
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        validator = jsonschema.validators.validator_for(schema)(schema)\n\
        for error in sorted(validator.iter_errors(json.load(open(sys.argv[2]))), key=lambda e: list(e.absolute_path)):\n\
        \x20   print('/'.join(str(p) for p in error.absolute_path) + ': ' + error.message)\n";
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(schema)
        .arg(file)
        .output()
        .expect("run python");
    assert!(output.status.success(), "{}", both(&output));
    text(&output.stdout)
}

#[test]
fn the_hand_written_logs_follow_the_official_sarif_schema_and_the_malformed_one_does_not() {
    for name in ["multi-run.sarif", "many-findings.sarif"] {
        assert_eq!(schema_errors(&scan_fixture(&format!("sarif/{name}"))), "", "{name}");
    }
    assert_eq!(
        schema_errors(&scan_fixture("sarif/malformed.sarif")),
        "runs/0/results/0/locations/0/physicalLocation/region/startLine: 'twelve' is not of type 'integer'\n"
    );
}

/// Runs a scanner that exits 1 when it finds something.
fn run_scanner(mut command: Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("starting {what}: {e}"));
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{what} failed:\n{}",
        both(&output)
    );
}

#[test]
fn bandit_findings_fail_and_pass_exactly_as_the_severity_rule_says() {
    let repo = Repo::new();
    repo.copy_dir(&scan_fixture("python-app"), "backend");
    let bandit = find_tool("bandit").expect("bandit");
    let mut command = isolated(bandit.to_str().expect("utf-8 path"), &repo.path().join("backend"));
    command.args([
        "--quiet",
        "--recursive",
        "app",
        "--format",
        "sarif",
        "--output",
        "bandit.sarif",
    ]);
    run_scanner(command, "bandit");
    assert_eq!(
        schema_errors(&repo.path().join("backend/bandit.sarif")),
        "",
        "Bandit's SARIF"
    );

    // Bandit writes no security-severity: HIGH is level error, MEDIUM has
    // no level (SARIF's default, warning), LOW is note.
    assert_eq!(
        verdicts(&repo, "backend", "bandit.sarif", &["critical", "high", "medium", "low"]),
        [
            ("critical", Some(0), 0),
            ("high", Some(1), 2),
            ("medium", Some(1), 4),
            ("low", Some(1), 6)
        ]
    );

    let output = repo.scan_in("backend", &["bandit.sarif", "--json", "--fail-on", "low"], &[]);
    insta::assert_debug_snapshot!("bandit_findings", statuses(&json(&output)));

    // In Actions, each finding is annotated on its line, with the path from
    // the repository root although Bandit ran in backend/.
    let output = repo.scan_in("backend", &["bandit.sarif"], &repo.actions_env());
    assert_eq!(code(&output), Some(1), "{}", both(&output));
    insta::assert_snapshot!("bandit_annotations", annotations(&output));
    insta::assert_snapshot!("bandit_summary", repo.summary());

    // Accepting the two high findings by rule and location passes the gate.
    repo.write(
        "backend/scan-baseline.toml",
        "[[accepted]]\nrule = \"B602\"\nlocation = \"backend/app/jobs.py:12\"\nexpires = 2099-12-31\nreason = \"hooks are admin-defined\"\n\n\
         [[accepted]]\nrule = \"B324\"\nlocation = \"backend/app/jobs.py\"\nexpires = 2099-12-31\nreason = \"cache keys, not passwords\"\n",
    );
    let output = repo.scan_in(
        "backend",
        &["bandit.sarif", "--baseline", "scan-baseline.toml", "--json"],
        &[],
    );
    assert_eq!(code(&output), Some(0), "{}", both(&output));
    assert_eq!(json(&output)["totals"]["accepted"], 2);
}

#[test]
fn eslint_sarif_with_absolute_uris_lands_on_the_right_lines() {
    let repo = Repo::new();
    repo.copy_dir(&scan_fixture("js-app"), "web");
    let eslint = find_tool("eslint").expect("eslint");
    let formatter = eslint_sarif_formatter().expect("the ESLint SARIF formatter");
    let mut command = isolated(eslint.to_str().expect("utf-8 path"), &repo.path().join("web"));
    command
        .args(["--format"])
        .arg(&formatter)
        .args(["--output-file", "eslint.sarif", "src"]);
    run_scanner(command, "eslint");
    assert_eq!(
        schema_errors(&repo.path().join("web/eslint.sarif")),
        "",
        "ESLint's SARIF"
    );

    let output = repo.scan_in("web", &["eslint.sarif"], &repo.actions_env());
    assert_eq!(code(&output), Some(1), "errors rank with high:\n{}", both(&output));
    insta::assert_snapshot!("eslint_annotations", annotations(&output));

    let output = repo.scan_in("web", &["eslint.sarif", "--fail-on", "critical"], &[]);
    assert_eq!(code(&output), Some(0), "{}", both(&output));
}
