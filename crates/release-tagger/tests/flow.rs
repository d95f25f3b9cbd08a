//! The git-flow commands: bump, cut, backmerge, stats.

mod common;

use common::*;
use shipgate_testkit::git::GitFixture;

fn read(fixture: &GitFixture, path: &str) -> String {
    std::fs::read_to_string(fixture.path().join(path)).unwrap()
}

const WORKSPACE_TOML: &str = r#"[workspace]
members = ["crates/*"]

[workspace.package]
version = "1.2.0" # kept in sync by release-tagger
edition = "2024"

[workspace.dependencies]
alpha = { path = "crates/alpha", version = "1.2.0" }
serde = "1"
"#;

const LOCK: &str = r#"version = 4

[[package]]
name = "alpha"
version = "1.2.0"

[[package]]
name = "beta"
version = "1.2.0"
dependencies = [
 "alpha",
]

[[package]]
name = "serde"
version = "1.2.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

const PACKAGE_JSON: &str = "{\n  \"name\": \"widgets\",\n  \"version\": \"1.2.0\",\n  \"dependencies\": {\n    \"left-pad\": \"1.2.0\"\n  }\n}\n";

const PACKAGE_LOCK: &str = "{\n  \"name\": \"widgets\",\n  \"version\": \"1.2.0\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\n      \"name\": \"widgets\",\n      \"version\": \"1.2.0\"\n    },\n    \"node_modules/left-pad\": {\n      \"version\": \"1.2.0\"\n    }\n  }\n}\n";

fn versioned_repo() -> GitFixture {
    let fixture = GitFixture::new();
    fixture.write_file("Cargo.toml", WORKSPACE_TOML);
    fixture.write_file(
        "crates/alpha/Cargo.toml",
        "[package]\nname = \"alpha\"\nversion.workspace = true\n",
    );
    fixture.write_file(
        "crates/beta/Cargo.toml",
        "[package]\nname = \"beta\"\nversion = \"1.2.0\"  # its own\n\n[dependencies]\nalpha.workspace = true\n",
    );
    fixture.write_file("Cargo.lock", LOCK);
    fixture.write_file("package.json", PACKAGE_JSON);
    fixture.write_file("package-lock.json", PACKAGE_LOCK);
    fixture.write_file(
        "pyproject.toml",
        "[project]\nname = \"widgets\"\nversion = \"1.2.0\"\n\n[tool.other]\nversion = \"9\"\n",
    );
    fixture.write_file("VERSION", "1.2.0\n");
    fixture.write_file("src/version.h", "#define WIDGETS_VERSION \"1.2.0\"\n");
    fixture.write_file(
        "shipgate.toml",
        "[[release.version_files]]\npath = \"src/version.h\"\npattern = 'WIDGETS_VERSION \"([^\"]+)\"'\n",
    );
    fixture.run_git(&["add", "--all"]);
    fixture.commit("feat: first");
    fixture.tag_annotated("v1.2.0", "Release version 1.2.0");
    fixture.commit("feat: more");
    fixture
}

#[test]
fn bump_writes_every_version_file_and_keeps_formatting() {
    let fixture = versioned_repo();
    let doc = json(&ok(run(&fixture, &["bump", "--json"])));
    assert_eq!(doc["release_version"], "1.3.0");
    let mut files: Vec<String> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "Cargo.lock",
            "Cargo.toml",
            "VERSION",
            "crates/beta/Cargo.toml",
            "package-lock.json",
            "package.json",
            "pyproject.toml",
            "src/version.h"
        ]
    );
    assert_eq!(read(&fixture, "Cargo.toml"), WORKSPACE_TOML.replace("1.2.0", "1.3.0"));
    assert_eq!(
        read(&fixture, "crates/beta/Cargo.toml"),
        "[package]\nname = \"beta\"\nversion = \"1.3.0\"  # its own\n\n[dependencies]\nalpha.workspace = true\n"
    );
    let lock = read(&fixture, "Cargo.lock");
    assert_eq!(lock.matches("version = \"1.3.0\"").count(), 2, "{lock}");
    assert!(
        lock.contains("name = \"serde\"\nversion = \"1.2.0\""),
        "registry crates keep theirs: {lock}"
    );
    assert_eq!(
        read(&fixture, "package.json"),
        PACKAGE_JSON.replacen("\"version\": \"1.2.0\"", "\"version\": \"1.3.0\"", 1)
    );
    let package_lock = read(&fixture, "package-lock.json");
    assert_eq!(
        package_lock.matches("\"version\": \"1.3.0\"").count(),
        2,
        "{package_lock}"
    );
    assert!(package_lock.contains("\"node_modules/left-pad\": {\n      \"version\": \"1.2.0\""));
    assert_eq!(
        read(&fixture, "pyproject.toml"),
        "[project]\nname = \"widgets\"\nversion = \"1.3.0\"\n\n[tool.other]\nversion = \"9\"\n"
    );
    assert_eq!(read(&fixture, "VERSION"), "1.3.0\n");
    assert_eq!(read(&fixture, "src/version.h"), "#define WIDGETS_VERSION \"1.3.0\"\n");

    // Nothing left to change: a second run writes nothing.
    let doc = json(&ok(run(&fixture, &["bump", "1.3.0", "--json"])));
    assert_eq!(doc["files"], serde_json::json!([]));
}

#[test]
fn bump_pre_releases_use_pep440_for_python_and_dry_run_writes_nothing() {
    let fixture = versioned_repo();
    ok(run(&fixture, &["bump", "--pre", "rc", "--dry-run"]));
    assert_eq!(read(&fixture, "VERSION"), "1.2.0\n");
    ok(run(&fixture, &["bump", "--pre", "rc"]));
    assert_eq!(read(&fixture, "VERSION"), "1.3.0-rc.1\n");
    assert!(read(&fixture, "pyproject.toml").contains("version = \"1.3.0rc1\""));
}

#[test]
fn bump_with_a_version_that_is_not_a_string_is_exit_2_and_writes_nothing() {
    let fixture = GitFixture::new();
    fixture.write_file("pyproject.toml", "[project]\nname = \"widgets\"\nversion = 5\n");
    fixture.write_file("VERSION", "1.2.0\n");
    fixture.run_git(&["add", "--all"]);
    fixture.commit("feat: first");
    fixture.tag_annotated("v1.2.0", "Release version 1.2.0");
    fixture.commit("feat: more");
    let out = run(&fixture, &["bump"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    insta::assert_snapshot!("bump_version_not_a_string", stderr(&out));
    assert_eq!(read(&fixture, "VERSION"), "1.2.0\n", "nothing half-written");
    assert_eq!(
        read(&fixture, "pyproject.toml"),
        "[project]\nname = \"widgets\"\nversion = 5\n"
    );
}

#[test]
fn bump_with_a_bad_pattern_is_exit_2_and_writes_nothing() {
    let fixture = versioned_repo();
    fixture.write_file(
        "shipgate.toml",
        "[[release.version_files]]\npath = \"src/version.h\"\npattern = 'NOT_THERE \"([^\"]+)\"'\n",
    );
    let out = run(&fixture, &["bump"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("matches nothing in src/version.h"),
        "{}",
        stderr(&out)
    );
    assert_eq!(read(&fixture, "VERSION"), "1.2.0\n", "nothing half-written");
}

/// main: v1.2.0; develop: two features on top.
fn flow_repo() -> GitFixture {
    let fixture = GitFixture::new();
    fixture.commit_file("VERSION", "1.2.0\n", "feat: first");
    fixture.tag_annotated("v1.2.0", "Release version 1.2.0");
    fixture.branch("develop");
    fixture.checkout("develop");
    fixture.commit("feat(api): add export (#5)");
    fixture.commit("fix: typo");
    fixture.checkout("main");
    fixture
}

fn fake_env(fake: &shipgate_testkit::FakeGitHub) -> Vec<(&'static str, String)> {
    vec![
        ("GITHUB_API_URL", fake.url()),
        ("GITHUB_TOKEN", fake.token().to_owned()),
        ("GITHUB_REPOSITORY", "acme/widgets".to_owned()),
    ]
}

fn run_env(fixture: &GitFixture, args: &[&str], env: &[(&'static str, String)]) -> std::process::Output {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run_in(fixture.path(), args, &pairs)
}

#[test]
fn cut_creates_the_release_branch_with_the_prepare_commit_pushes_and_opens_the_pr() {
    let fixture = flow_repo();
    let remote = fixture.bare_remote();
    let fake = shipgate_testkit::FakeGitHub::with_repo("acme", "widgets");
    let env = fake_env(&fake);
    let doc = json(&ok(run_env(&fixture, &["cut", "--push", "--pr", "--json"], &env)));
    assert_eq!(doc["branch"], "release/v1.3.0");
    assert_eq!(doc["release_version"], "1.3.0");
    assert_eq!(doc["pull_request"]["number"], 1);
    assert_eq!(fixture.run_git(&["branch", "--show-current"]).trim(), "release/v1.3.0");
    assert_eq!(
        fixture.run_git(&["log", "-1", "--format=%s"]).trim(),
        "chore: prepare release v1.3.0"
    );
    assert_eq!(
        fixture.rev_parse("HEAD~1"),
        fixture.rev_parse("develop"),
        "cut from develop"
    );
    assert_eq!(read(&fixture, "VERSION"), "1.3.0\n");
    insta::assert_snapshot!("cut_changelog", read(&fixture, "CHANGELOG.md"));
    assert_eq!(
        fixture
            .run_git(&["show", "--name-only", "--format=", "HEAD"])
            .lines()
            .collect::<Vec<_>>(),
        vec!["CHANGELOG.md", "VERSION"]
    );
    assert_eq!(remote.resolve("refs/heads/release/v1.3.0"), Some(fixture.head()));
    let state = fake.state();
    let pulls = &state.repo("acme", "widgets").unwrap().pulls;
    assert_eq!(pulls.len(), 1);
    assert_eq!(
        (pulls[0].head_ref.as_str(), pulls[0].base_ref.as_str()),
        ("release/v1.3.0", "main")
    );
    assert_eq!(pulls[0].title, "Release v1.3.0");
    drop(state);

    // Cutting the same release again is refused; nothing changes.
    fixture.checkout("main");
    let out = run(&fixture, &["cut"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("branch `release/v1.3.0` already exists"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn cut_dry_run_and_nothing_to_release() {
    let fixture = flow_repo();
    let out = ok(run(&fixture, &["cut", "--dry-run"]));
    assert_eq!(stdout(&out), "release/v1.3.0\n");
    assert!(fixture.run_git(&["branch", "--list", "release/*"]).is_empty());

    let quiet = GitFixture::new();
    quiet.commit("feat: first");
    quiet.tag_annotated("v1.0.0", "Release version 1.0.0");
    quiet.branch("develop");
    let out = run(&quiet, &["cut"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing to release on develop"),
        "{}",
        stderr(&out)
    );

    fixture.write_file("VERSION", "dirty\n");
    let out = run(&fixture, &["cut"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("uncommitted changes"), "{}", stderr(&out));
}

#[test]
fn cut_hotfix_accepts_purpose_and_version_names() {
    let fixture = flow_repo();
    fixture.checkout("develop");
    let out = ok(run(&fixture, &["cut", "--hotfix", "critical-fix"]));
    assert_eq!(stdout(&out), "hotfix/critical-fix\n");
    assert_eq!(
        fixture.run_git(&["branch", "--show-current"]).trim(),
        "hotfix/critical-fix"
    );
    assert_eq!(fixture.head(), fixture.rev_parse("main"), "hotfixes start from main");

    ok(run(&fixture, &["cut", "--hotfix", "v1.2.1"]));
    assert_eq!(fixture.run_git(&["branch", "--show-current"]).trim(), "hotfix/v1.2.1");
    ok(run(&fixture, &["cut", "--hotfix", "hotfix/login-crash"]));
    assert_eq!(
        fixture.run_git(&["branch", "--show-current"]).trim(),
        "hotfix/login-crash"
    );

    let out = run(&fixture, &["cut", "--hotfix", "bad..name"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("not a valid branch name"), "{}", stderr(&out));
}

/// main got a hotfix that develop lacks.
fn hotfixed_repo() -> GitFixture {
    let fixture = flow_repo();
    fixture.branch("hotfix/critical-fix");
    fixture.checkout("hotfix/critical-fix");
    fixture.commit("fix: resolve critical issue");
    fixture.checkout("main");
    fixture.merge_no_ff("hotfix/critical-fix", "Merge branch 'hotfix/critical-fix'");
    fixture
}

#[test]
fn backmerge_push_merges_main_into_develop() {
    let fixture = hotfixed_repo();
    let remote = fixture.bare_remote();
    let doc = json(&ok(run(&fixture, &["backmerge", "--push", "--json"])));
    assert_eq!(doc["outcome"], "merged");
    assert_eq!(
        fixture.run_git(&["branch", "--show-current"]).trim(),
        "main",
        "back where it started"
    );
    let develop = remote.resolve("refs/heads/develop").unwrap();
    assert_eq!(develop, fixture.rev_parse("develop"));
    let contains = fixture.run_git(&["merge-base", "--is-ancestor", "main", "develop"]);
    assert_eq!(contains, "");
    assert_eq!(
        fixture.run_git(&["log", "-1", "--format=%s", "develop"]).trim(),
        "chore: merge main into develop"
    );
    let doc = json(&ok(run(&fixture, &["backmerge", "--push", "--json"])));
    assert_eq!(doc["outcome"], "up-to-date");
}

#[test]
fn backmerge_conflicts_are_reported_and_leave_nothing_behind() {
    let fixture = flow_repo();
    fixture.checkout("develop");
    fixture.commit_file("VERSION", "1.3.0-dev\n", "chore: dev version");
    fixture.checkout("main");
    fixture.commit_file("VERSION", "1.2.1\n", "fix: hotfix version");
    let _remote = fixture.bare_remote();
    let before = fixture.rev_parse("develop");
    let out = run(&fixture, &["backmerge", "--push"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("merging main into develop conflicts in VERSION"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fixture.rev_parse("develop"), before);
    assert_eq!(fixture.run_git(&["branch", "--show-current"]).trim(), "main");
    assert_eq!(fixture.run_git(&["status", "--porcelain", "--untracked-files=no"]), "");
}

#[test]
fn backmerge_opens_one_pull_request() {
    let fixture = hotfixed_repo();
    let fake = shipgate_testkit::FakeGitHub::with_repo("acme", "widgets");
    let env = fake_env(&fake);
    let first = json(&ok(run_env(&fixture, &["backmerge", "--json"], &env)));
    assert_eq!(first["outcome"], "pull-request");
    let second = json(&ok(run_env(&fixture, &["backmerge", "--json"], &env)));
    assert_eq!(second["pull_request"]["number"], first["pull_request"]["number"]);
    let state = fake.state();
    let pulls = &state.repo("acme", "widgets").unwrap().pulls;
    assert_eq!(pulls.len(), 1, "re-running finds the open pull request");
    assert_eq!(
        (pulls[0].head_ref.as_str(), pulls[0].base_ref.as_str()),
        ("main", "develop")
    );
}

#[test]
fn stats_reports_dora_metrics_from_tags() {
    let fixture = GitFixture::new();
    fixture.commit("feat: a");
    fixture.tag_annotated("v1.0.0", "Release version 1.0.0");
    fixture.commit("fix: b");
    fixture.commit("fix: c");
    fixture.tag_annotated("v1.0.1", "Release version 1.0.1");
    fixture.commit("feat: d");
    fixture.tag_annotated("v1.1.0", "Release version 1.1.0");
    // Not a release: a pre-release and a tag off the line.
    fixture.tag("v1.2.0-rc.1");
    let doc = json(&ok(run(&fixture, &["stats", "--json"])));
    assert_eq!(doc["releases"], 3);
    assert_eq!(doc["hotfix_releases"], 1);
    let rate = doc["change_failure_rate"].as_f64().unwrap();
    assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{rate}");
    // Tagged at steps 2, 5 and 7: 300 s apart end to end.
    let per_week = doc["deployment_frequency_per_week"].as_f64().unwrap();
    assert!((per_week - 3.0 * 604_800.0 / 300.0).abs() < 1e-6, "{per_week}");
    // Measured to the tag's date, one step after its commit: 60, 60, 60, 120, 120.
    assert_eq!(doc["lead_time_median_seconds"], 60);
    assert_eq!(doc["mttr_median_seconds"], 180, "v1.0.1 came 3 minutes after v1.0.0");
    assert_eq!(doc["releases_per_month"], serde_json::json!({"2024-01": 3}));

    let dir = tempfile::tempdir().unwrap();
    let (output, summary) = actions_env(dir.path());
    let out = ok(run_in(
        fixture.path(),
        &["stats"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", output.to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
    ));
    insta::assert_snapshot!("stats_table", stdout(&out));
    let markdown = std::fs::read_to_string(summary).unwrap();
    insta::assert_snapshot!(markdown);
    assert_eq!(shipgate_testkit::mermaid::assert_charts_parse(&markdown), 1);
}
