use std::path::{Path, PathBuf};

use semver::Version;
use toml::Value;

use super::load::{env_var_for, line_of};
use super::*;
use crate::exit::{Error, ExitCode};

/// A repository root (with a `.git` directory) and a nested start directory.
struct Repo {
    dir: tempfile::TempDir,
    nested: PathBuf,
}

impl Repo {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("create temp dir");
        std::fs::create_dir(dir.path().join(".git")).expect("create .git");
        let nested = dir.path().join("src/deep");
        std::fs::create_dir_all(&nested).expect("create nested dir");
        Repo { dir, nested }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("create parent");
        std::fs::write(&path, text).expect("write file");
        path
    }

    fn load(&self, env: &[(&str, &str)], flags: Vec<FlagOverride>) -> Result<LoadedConfig, Error> {
        load(&LoadOptions {
            explicit_path: None,
            start_dir: &self.nested,
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            flags,
        })
    }
}

fn usage_message(result: Result<LoadedConfig, Error>) -> String {
    match result {
        Ok(loaded) => panic!("expected a usage error, loaded {:?}", loaded.config),
        Err(error) => {
            assert_eq!(error.exit_code(), ExitCode::Usage, "{error}");
            let message = error.to_string();
            assert!(!message.contains('\n'), "error must be one line: {message:?}");
            message
        }
    }
}

fn file_source(rel: &str) -> Source {
    Source::File(PathBuf::from(rel))
}

#[test]
fn defaults_reproduce_the_seed_branch_table() {
    let flow = Config::default().flow;
    type Row<'a> = (&'a str, bool, Option<&'a str>, u32, TestRequirement, Vec<&'a str>);
    let rows: Vec<Row<'_>> = flow
        .branches
        .iter()
        .map(|rule| {
            (
                rule.pattern.as_str(),
                rule.protected,
                rule.environment.as_deref(),
                rule.reviews,
                rule.tests,
                rule.targets.iter().map(BranchPattern::as_str).collect(),
            )
        })
        .collect();
    use TestRequirement as T;
    assert_eq!(
        rows,
        vec![
            ("main", true, Some("production"), 2, T::AllPass, vec![]),
            ("develop", true, Some("staging"), 1, T::AllPass, vec![]),
            ("feature/*", false, None, 0, T::Recommended, vec!["develop"]),
            ("hotfix/*", false, None, 1, T::Required, vec!["main", "develop"]),
            ("release/v{version}", false, None, 0, T::Required, vec!["main"]),
        ]
    );
    assert_eq!(flow.preview_environment, "preview");
    assert_eq!(flow.environment_for_pull_request(), "preview");
}

#[test]
fn defaults_reproduce_the_seed_release_guard_migrate_smoke_and_notify_values() {
    let config = Config::default();
    let release = &config.release;
    assert_eq!(release.tag_prefix, "v");
    assert_eq!(release.tag_message, "Release version {version}");
    assert_eq!(release.release_branch.as_str(), "release/v{version}");
    assert_eq!(release.hotfix_branch_prefix, "hotfix/");
    assert_eq!(release.changelog, PathBuf::from("CHANGELOG.md"));
    assert_eq!(release.commit_message, "chore: prepare release v{version}");
    assert_eq!(release.development_branch, "develop");
    assert_eq!(release.production_branch, "main");

    // Seed 000 "Release Process", rendered for 1.2.0.
    let version = Version::new(1, 2, 0);
    assert_eq!(release.release_branch.render(&version), "release/v1.2.0");
    assert_eq!(release.tag_name(&version), "v1.2.0");
    assert_eq!(release.tag_message_for(&version), "Release version 1.2.0");
    assert_eq!(release.commit_message_for(&version), "chore: prepare release v1.2.0");
    assert_eq!(release.version_of_tag("v1.2.0"), Some(version.clone()));
    assert_eq!(release.version_of_tag("1.2.0"), None);
    assert_eq!(release.release_branch.version_of("release/v1.2.0"), Some(version));
    assert!(release.is_hotfix_branch("hotfix/critical-fix"));
    assert!(!release.is_hotfix_branch("hotfix/"));
    assert!(!release.is_hotfix_branch("feature/hotfix"));

    assert_eq!(
        config.guard.commit_types,
        [
            "build", "chore", "ci", "docs", "feat", "fix", "perf", "refactor", "revert", "style", "test"
        ]
    );
    assert_eq!(config.guard.header_max_length, 100);

    let migrate = &config.migrate;
    assert_eq!(migrate.dir, PathBuf::from("migrations"));
    assert_eq!(migrate.table, "shipgate_migrations");
    assert_eq!(migrate.default_database_url, "sqlite:./shipgate-dev.db");
    let policies: Vec<(&str, ApplyMode, RollbackMode, bool)> = migrate
        .environments
        .iter()
        .map(|(name, p)| (name.as_str(), p.apply, p.rollback, p.backup_before_apply))
        .collect();
    assert_eq!(
        policies,
        vec![
            ("development", ApplyMode::Automatic, RollbackMode::Manual, false),
            (
                "production",
                ApplyMode::ManualWithReview,
                RollbackMode::TwoPersonApproval,
                true
            ),
            (
                "staging",
                ApplyMode::AutomaticOnDeploy,
                RollbackMode::ManualWithApproval,
                false
            ),
        ]
    );
    assert_eq!(migrate.policy_for("qa"), migrate.environments["production"]);

    let smoke = &config.smoke;
    assert_eq!(smoke.failure_threshold.get(), 3);
    assert_eq!(smoke.max_error_rate_percent, 5.0);
    assert_eq!(smoke.error_rate_window.as_duration().as_secs(), 300);
    assert_eq!(smoke.max_p95.as_duration().as_secs(), 5);
    assert_eq!(smoke.p95_window.as_duration().as_secs(), 600);

    assert!(config.notify.channels.is_empty());
}

#[test]
fn without_a_file_everything_is_default() {
    let repo = Repo::new();
    let loaded = repo.load(&[], vec![]).expect("load defaults");
    assert_eq!(loaded.config, Config::default());
    assert_eq!(loaded.file, None);
    assert_eq!(loaded.repo_root, repo.root());
    let entries = loaded.entries(None);
    assert!(entries.len() > 20, "{entries:?}");
    assert!(entries.iter().all(|e| e.source == Source::Default));
    let sections: std::collections::BTreeSet<&str> = entries
        .iter()
        .map(|e| e.key.split('.').next().expect("dotted key"))
        .collect();
    assert_eq!(sections, SECTIONS.iter().copied().collect());
}

#[test]
fn file_values_override_defaults_and_remember_the_file() {
    let repo = Repo::new();
    repo.write(
        "shipgate.toml",
        r#"
[release]
tag_prefix = "release-"

[migrate.environments.production]
backup_before_apply = false

[migrate.environments.qa]
apply = "automatic-on-deploy"

[[flow.branches]]
pattern = "trunk"
protected = true
environment = "production"
reviews = 1
"#,
    );
    let loaded = repo.load(&[], vec![]).expect("load");
    assert_eq!(loaded.file, Some(repo.root().join("shipgate.toml")));
    let config = &loaded.config;
    assert_eq!(config.release.tag_prefix, "release-");
    assert_eq!(config.release.tag_message, "Release version {version}");
    let production = config.migrate.environments["production"];
    assert!(!production.backup_before_apply);
    // The other fields of a partially set table keep their defaults.
    assert_eq!(production.apply, ApplyMode::ManualWithReview);
    let qa = config.migrate.environments["qa"];
    assert_eq!(qa.apply, ApplyMode::AutomaticOnDeploy);
    assert_eq!(qa.rollback, RollbackMode::TwoPersonApproval);
    assert_eq!(config.flow.branches.len(), 1);
    assert_eq!(config.flow.environment_for_branch("trunk"), Some("production"));

    assert_eq!(
        loaded.source_of("release.tag_prefix"),
        Some(&file_source("shipgate.toml"))
    );
    assert_eq!(loaded.source_of("release.tag_message"), Some(&Source::Default));
    assert_eq!(
        loaded.source_of("migrate.environments.production.backup_before_apply"),
        Some(&file_source("shipgate.toml"))
    );
    assert_eq!(
        loaded.source_of("migrate.environments.production.apply"),
        Some(&Source::Default)
    );
    assert_eq!(loaded.source_of("flow.branches"), Some(&file_source("shipgate.toml")));
    assert_eq!(loaded.source_of("release.nope"), None);

    let release = loaded.entries(Some("release"));
    assert!(release.iter().all(|e| e.key.starts_with("release.")));
    let keys: Vec<&str> = release.iter().map(|e| e.key.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let prefix = release
        .iter()
        .find(|e| e.key == "release.tag_prefix")
        .expect("tag_prefix entry");
    assert_eq!(prefix.value, Value::String("release-".into()));
    assert_eq!(prefix.source.to_string(), "file shipgate.toml");
}

#[test]
fn the_file_may_live_in_dot_github() {
    let repo = Repo::new();
    repo.write(".github/shipgate.toml", "[guard]\nheader_max_length = 72\n");
    let loaded = repo.load(&[], vec![]).expect("load");
    assert_eq!(loaded.config.guard.header_max_length, 72);
    assert_eq!(loaded.file, Some(repo.root().join(".github/shipgate.toml")));
    let source = loaded.source_of("guard.header_max_length").expect("source");
    assert_eq!(
        source.to_string(),
        format!("file {}", Path::new(".github").join("shipgate.toml").display())
    );
}

#[test]
fn both_locations_at_once_is_an_error_naming_both() {
    let repo = Repo::new();
    repo.write("shipgate.toml", "");
    repo.write(".github/shipgate.toml", "");
    let message = usage_message(repo.load(&[], vec![]));
    assert!(message.contains("shipgate.toml and .github/shipgate.toml"), "{message}");
}

#[test]
fn an_explicit_path_wins_and_must_exist() {
    let repo = Repo::new();
    repo.write("shipgate.toml", "[release]\ntag_prefix = \"root-\"\n");
    repo.write(".github/shipgate.toml", "");
    let explicit = repo.write("ci/other.toml", "[release]\ntag_prefix = \"explicit-\"\n");
    let loaded = load(&LoadOptions {
        explicit_path: Some(&explicit),
        start_dir: &repo.nested,
        env: vec![],
        flags: vec![],
    })
    .expect("load explicit");
    assert_eq!(loaded.config.release.tag_prefix, "explicit-");
    assert_eq!(
        loaded.source_of("release.tag_prefix"),
        Some(&Source::File(explicit.clone()))
    );

    let missing = repo.root().join("missing.toml");
    let message = usage_message(load(&LoadOptions {
        explicit_path: Some(&missing),
        start_dir: &repo.nested,
        env: vec![],
        flags: vec![],
    }));
    assert!(
        message.contains("missing.toml") && message.contains("not found"),
        "{message}"
    );
}

#[test]
fn without_a_repository_the_start_dir_is_the_root() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("shipgate.toml"), "[smoke]\nfailure_threshold = 5\n").expect("write");
    let loaded = load(&LoadOptions::from_process(None, dir.path())).expect("load");
    assert_eq!(loaded.repo_root, dir.path());
    assert_eq!(loaded.config.smoke.failure_threshold.get(), 5);
}

#[test]
fn env_overrides_known_keys_and_ignores_other_shipgate_variables() {
    let repo = Repo::new();
    repo.write("shipgate.toml", "[release]\ntag_prefix = \"file-\"\n");
    let loaded = repo
        .load(
            &[
                ("SHIPGATE_RELEASE_TAG_PREFIX", "release-"),
                ("SHIPGATE_SMOKE_FAILURE_THRESHOLD", "7"),
                ("SHIPGATE_SMOKE_MAX_ERROR_RATE_PERCENT", "2"),
                ("SHIPGATE_GUARD_COMMIT_TYPES", "feat, fix"),
                ("SHIPGATE_MIGRATE_ENVIRONMENTS_STAGING_BACKUP_BEFORE_APPLY", "true"),
                ("SHIPGATE_RELEASE_DEVELOPMENT_BRANCH", "1"),
                ("SHIPGATE_BIN_DIR", "/usr/local/bin"),
                ("SHIPGATE_CONFIG", "elsewhere.toml"),
                ("PATH", "/bin"),
            ],
            vec![],
        )
        .expect("load");
    let config = &loaded.config;
    assert_eq!(config.release.tag_prefix, "release-");
    assert_eq!(config.smoke.failure_threshold.get(), 7);
    assert_eq!(config.smoke.max_error_rate_percent, 2.0);
    assert_eq!(config.guard.commit_types, ["feat", "fix"]);
    assert!(config.migrate.environments["staging"].backup_before_apply);
    // The replaced value's type decides: a string key keeps "1" as a string.
    assert_eq!(config.release.development_branch, "1");
    assert_eq!(
        loaded.source_of("release.tag_prefix"),
        Some(&Source::Env("SHIPGATE_RELEASE_TAG_PREFIX".into()))
    );
    assert_eq!(
        loaded
            .source_of("release.tag_prefix")
            .map(ToString::to_string)
            .as_deref(),
        Some("env SHIPGATE_RELEASE_TAG_PREFIX")
    );

    let branches = repo
        .load(
            &[("SHIPGATE_FLOW_BRANCHES", r#"[{ pattern = "trunk", targets = [] }]"#)],
            vec![],
        )
        .expect("array of tables from env");
    assert_eq!(branches.config.flow.branches.len(), 1);
    assert_eq!(
        env_var_for("migrate.environments.pre-prod.apply"),
        "SHIPGATE_MIGRATE_ENVIRONMENTS_PRE_PROD_APPLY"
    );
}

#[test]
fn an_unknown_key_in_a_known_env_section_is_an_error_naming_the_variable() {
    let repo = Repo::new();
    let message = usage_message(repo.load(&[("SHIPGATE_RELEASE_TAG_PREFX", "x")], vec![]));
    assert!(message.contains("SHIPGATE_RELEASE_TAG_PREFX"), "{message}");
    assert!(!message.contains("x\""), "{message}");

    let message = usage_message(repo.load(&[("SHIPGATE_SMOKE_FAILURE_THRESHOLD", "three")], vec![]));
    assert_eq!(
        message,
        "environment variable SHIPGATE_SMOKE_FAILURE_THRESHOLD: `smoke.failure_threshold` expects an integer"
    );

    let message = usage_message(repo.load(&[("SHIPGATE_SMOKE_FAILURE_THRESHOLD", "0")], vec![]));
    assert!(
        message.starts_with("env SHIPGATE_SMOKE_FAILURE_THRESHOLD: `smoke.failure_threshold`:"),
        "{message}"
    );

    let message = usage_message(repo.load(&[("SHIPGATE_SMOKE_MAX_P95", "5 seconds")], vec![]));
    assert!(
        message.starts_with("env SHIPGATE_SMOKE_MAX_P95: `smoke.max_p95`: invalid duration `5 seconds`"),
        "{message}"
    );
}

#[test]
fn flags_win_over_env_which_wins_over_the_file() {
    let repo = Repo::new();
    repo.write(
        "shipgate.toml",
        "[release]\ntag_prefix = \"file-\"\ntag_message = \"file message\"\nchangelog = \"HISTORY.md\"\n",
    );
    let env = [
        ("SHIPGATE_RELEASE_TAG_PREFIX", "env-"),
        ("SHIPGATE_RELEASE_TAG_MESSAGE", "env message"),
    ];
    let flags = vec![
        FlagOverride::new("release.tag_prefix", "flag-", "--tag-prefix"),
        FlagOverride::new("smoke.max_error_rate_percent", 3, "--max-error-rate"),
    ];
    let loaded = repo.load(&env, flags).expect("load");
    let release = &loaded.config.release;
    assert_eq!(release.tag_prefix, "flag-");
    assert_eq!(release.tag_message, "env message");
    assert_eq!(release.changelog, PathBuf::from("HISTORY.md"));
    assert_eq!(loaded.config.smoke.max_error_rate_percent, 3.0);
    assert_eq!(
        loaded
            .source_of("release.tag_prefix")
            .map(ToString::to_string)
            .as_deref(),
        Some("flag --tag-prefix")
    );
    assert_eq!(
        loaded.source_of("release.tag_message"),
        Some(&Source::Env("SHIPGATE_RELEASE_TAG_MESSAGE".into()))
    );
    assert_eq!(
        loaded.source_of("release.changelog"),
        Some(&file_source("shipgate.toml"))
    );

    let message = usage_message(repo.load(&[], vec![FlagOverride::new("release.nope", "x", "--nope")]));
    assert_eq!(message, "--nope: unknown configuration key `release.nope`");
    let message = usage_message(repo.load(&[], vec![FlagOverride::new("guard.header_max_length", "long", "--max")]));
    assert_eq!(
        message,
        "flag --max: `guard.header_max_length`: invalid type: string \"long\", expected u32"
    );
}

#[test]
fn an_unknown_key_names_file_line_key_and_the_accepted_keys() {
    let repo = Repo::new();
    repo.write("shipgate.toml", "# shipgate\n\n[release]\ntag_prefx = \"v\"\n");
    let message = usage_message(repo.load(&[], vec![]));
    assert!(
        message
            .starts_with("shipgate.toml:4: unknown key `release.tag_prefx` (expected one of: tag_prefix, tag_message,"),
        "{message}"
    );

    let repo = Repo::new();
    repo.write(
        "shipgate.toml",
        "[flow]\n[[flow.branches]]\npattern = \"main\"\nreviewz = 2\n",
    );
    let message = usage_message(repo.load(&[], vec![]));
    assert!(
        message.starts_with("shipgate.toml:4: unknown key `flow.branches[0].reviewz` (expected one of: pattern,"),
        "{message}"
    );

    let repo = Repo::new();
    repo.write("shipgate.toml", "[releases]\ntag_prefix = \"v\"\n");
    let message = usage_message(repo.load(&[], vec![]));
    assert!(
        message.starts_with("shipgate.toml:1: unknown key `releases` (expected one of: flow, release,"),
        "{message}"
    );
}

#[test]
fn a_type_error_names_file_line_and_key() {
    let repo = Repo::new();
    repo.write(
        ".github/shipgate.toml",
        "[guard]\ncommit_types = [\"feat\"]\nheader_max_length = \"x\"\n",
    );
    let message = usage_message(repo.load(&[], vec![]));
    let file = Path::new(".github").join("shipgate.toml");
    assert_eq!(
        message,
        format!(
            "{}:3: `guard.header_max_length`: invalid type: string \"x\", expected u32",
            file.display()
        )
    );

    let repo = Repo::new();
    repo.write(
        "shipgate.toml",
        "[migrate.environments.staging]\napply = \"sometimes\"\n",
    );
    let message = usage_message(repo.load(&[], vec![]));
    assert!(
        message.starts_with("shipgate.toml:2: `migrate.environments.staging.apply`: unknown variant `sometimes`"),
        "{message}"
    );
}

#[test]
fn unparseable_toml_names_file_and_line() {
    let repo = Repo::new();
    repo.write("shipgate.toml", "[release]\ntag_prefix = \"v\"\ntag_message = \n");
    let message = usage_message(repo.load(&[], vec![]));
    assert!(message.starts_with("shipgate.toml:3: invalid TOML:"), "{message}");
}

#[test]
fn of_two_toml_syntax_errors_the_first_line_is_named() {
    let repo = Repo::new();
    for (text, line) in [
        ("[release]\ntag_prefix = \"v\nbranch = \"main\"\n[flow]\nkey = = 1\n", 2),
        ("[release]\ntag_prefix = \n\n[flow\n", 2),
        ("[release\n[flow]\nx = \"unterminated\n", 1),
    ] {
        repo.write("shipgate.toml", text);
        let message = usage_message(repo.load(&[], vec![]));
        assert!(
            message.starts_with(&format!("shipgate.toml:{line}: invalid TOML:")),
            "{text:?}: {message}"
        );
    }
}

#[test]
fn bad_durations_and_values_are_rejected_at_load_time() {
    let repo = Repo::new();
    repo.write("shipgate.toml", "[smoke]\nmax_p95 = \"5 sec\"\n");
    let message = usage_message(repo.load(&[], vec![]));
    assert!(
        message.starts_with("shipgate.toml:2: `smoke.max_p95`: invalid duration `5 sec`"),
        "{message}"
    );

    for (text, reason) in [
        ("", "does not start"),
        ("5", "unit is missing"),
        ("m5", "does not start"),
        ("5d", "unknown unit"),
        ("99999999999999999999s", "too large"),
    ] {
        let error = ConfigDuration::parse(text).expect_err(text);
        assert!(error.to_string().contains(reason), "{text}: {error}");
    }
    assert_eq!(
        ConfigDuration::parse("250ms").expect("ms").as_duration().as_millis(),
        250
    );
    assert_eq!(ConfigDuration::parse("2h").expect("h").as_duration().as_secs(), 7200);
    assert_eq!(
        ConfigDuration::parse("300s").expect("s"),
        ConfigDuration::parse("5m").expect("m")
    );

    let repo = Repo::new();
    repo.write("shipgate.toml", "[smoke]\nmax_error_rate_percent = 120.0\n");
    let message = usage_message(repo.load(&[], vec![]));
    assert!(
        message.starts_with("shipgate.toml:2: `smoke.max_error_rate_percent`:"),
        "{message}"
    );

    let repo = Repo::new();
    repo.write("shipgate.toml", "[migrate]\ntable = \"migrations; DROP TABLE users\"\n");
    let message = usage_message(repo.load(&[], vec![]));
    assert!(
        message.starts_with("shipgate.toml:2: `migrate.table`: invalid table name"),
        "{message}"
    );
}

#[test]
fn bad_branch_patterns_are_config_errors_with_the_key() {
    let repo = Repo::new();
    repo.write(
        "shipgate.toml",
        "[[flow.branches]]\npattern = \"main\"\n\n[[flow.branches]]\npattern = \"feature/{name}\"\n",
    );
    let message = usage_message(repo.load(&[], vec![]));
    assert!(
        message.starts_with("shipgate.toml:5: `flow.branches[1].pattern`: invalid branch pattern `feature/{name}`"),
        "{message}"
    );

    let repo = Repo::new();
    repo.write(
        "shipgate.toml",
        "[[flow.branches]]\npattern = \"feature/*\"\ntargets = [\"dev elop\"]\n",
    );
    let message = usage_message(repo.load(&[], vec![]));
    assert!(
        message.starts_with("shipgate.toml:3: `flow.branches[0].targets[0]`:"),
        "{message}"
    );

    let repo = Repo::new();
    repo.write("shipgate.toml", "[release]\nrelease_branch = \"release/*\"\n");
    let message = usage_message(repo.load(&[], vec![]));
    assert!(
        message.contains("`release.release_branch`") && message.contains("{version}"),
        "{message}"
    );

    for bad in [
        "",
        "feature/**",
        "a..b",
        "/main",
        "main/",
        "x~1",
        "a b",
        "v{version}{version}",
        "a}",
    ] {
        assert!(BranchPattern::new(bad).is_err(), "{bad:?} should be rejected");
    }
}

#[test]
fn branch_patterns_match_like_the_seed_flow_needs() {
    let pattern = |p: &str| BranchPattern::new(p).expect(p);
    let release = pattern("release/v{version}");
    assert!(release.matches("release/v1.2.0"));
    assert!(release.matches("release/v1.2.0-rc.1"));
    assert!(!release.matches("release/v1.2"));
    assert!(!release.matches("release/1.2.0"));
    assert!(!release.matches("release/v1.2.0/extra"));
    assert!(!release.matches("release/v01.2.0"));
    assert_eq!(
        release.version_in("release/v1.2.0-rc.1"),
        Some(Version::parse("1.2.0-rc.1").expect("semver"))
    );
    assert_eq!(release.version_in("release/v1.2"), None);

    let feature = pattern("feature/*");
    assert!(feature.matches("feature/a"));
    assert!(feature.matches("feature/a/b"));
    assert!(!feature.matches("feature/"));
    assert!(!feature.matches("feature"));
    assert!(!feature.matches("my-feature/a"));

    let main = pattern("main");
    assert!(main.matches("main") && main.is_literal());
    assert!(!main.matches("main2") && !main.matches("xmain"));
    // Regex metacharacters are literal.
    assert!(pattern("v1.x").matches("v1.x") && !pattern("v1.x").matches("v1-x"));

    let flow = Config::default().flow;
    assert_eq!(
        flow.rule_for("feature/a/b").map(|r| r.pattern.as_str()),
        Some("feature/*")
    );
    assert_eq!(
        flow.rule_for("release/v1.2.0").map(|r| r.pattern.as_str()),
        Some("release/v{version}")
    );
    assert_eq!(flow.rule_for("release/v1.2").map(|r| r.pattern.as_str()), None);
    assert_eq!(flow.environment_for_branch("main"), Some("production"));
    assert_eq!(flow.environment_for_branch("develop"), Some("staging"));
    assert_eq!(flow.environment_for_branch("feature/x"), None);
    assert_eq!(flow.environment_for_branch("random"), None);
}

#[test]
fn may_merge_follows_the_seed_flow() {
    let flow = Config::default().flow;
    let cases = [
        ("feature/user-authentication", "develop", true),
        ("feature/a/b", "develop", true),
        ("feature/video-upload", "main", false),
        ("feature/x", "release/v1.2.0", false),
        ("hotfix/critical-fix", "main", true),
        ("hotfix/critical-fix", "develop", true),
        ("hotfix/critical-fix", "feature/x", false),
        ("release/v1.2.0", "main", true),
        ("release/v1.2.0", "develop", false),
        ("release/v1.2", "main", false),
        ("develop", "main", false),
        ("main", "develop", false),
        ("random", "main", false),
    ];
    for (head, base, expected) in cases {
        assert_eq!(flow.may_merge(head, base), expected, "{head} -> {base}");
    }
}

#[test]
fn the_full_example_file_lists_every_default() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/config/shipgate.full.toml");
    let loaded = load(&LoadOptions {
        explicit_path: Some(&path),
        start_dir: Path::new(env!("CARGO_MANIFEST_DIR")),
        env: vec![],
        flags: vec![],
    })
    .expect("the example file loads");
    assert_eq!(loaded.config, Config::default());
    // Every leaf is written out, so the example stays a complete reference.
    let defaulted: Vec<String> = loaded
        .entries(None)
        .into_iter()
        .filter(|e| e.source == Source::Default)
        .map(|e| e.key)
        .collect();
    assert!(defaulted.is_empty(), "keys missing from the example: {defaulted:?}");
}

#[test]
fn entries_render_as_text_and_json_without_secrets() {
    let repo = Repo::new();
    repo.write(
        "shipgate.toml",
        "[migrate]\ndefault_database_url = \"postgres://app:hunter2@db.internal:5432/app\"\n",
    );
    let loaded = repo
        .load(&[("SHIPGATE_RELEASE_TAG_PREFIX", "rel-")], vec![])
        .expect("load");
    let mut entries = loaded.entries(Some("migrate"));
    entries.extend(loaded.entries(Some("release")));
    let text = render_entries_text(&entries);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.contains(
            "migrate.default_database_url = \"postgres://app:***@db.internal:5432/app\"  # file shipgate.toml\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("release.tag_prefix = \"rel-\"  # env SHIPGATE_RELEASE_TAG_PREFIX\n"),
        "{text}"
    );
    assert!(
        text.contains("migrate.environments.production.backup_before_apply = true  # default\n"),
        "{text}"
    );

    let json = entries_json(&entries);
    assert_eq!(
        json["release.tag_prefix"],
        serde_json::json!({"value": "rel-", "source": "env SHIPGATE_RELEASE_TAG_PREFIX"})
    );
    assert_eq!(json["migrate.dir"]["value"], "migrations");
    assert!(!json.to_string().contains("hunter2"));

    let flow = entries_json(&loaded.entries(Some("flow")));
    let branches = flow["flow.branches"]["value"].as_array().expect("branches array");
    assert_eq!(branches[0]["pattern"], "main");
    assert_eq!(branches[0]["environment"], "production");
    assert_eq!(branches[3]["targets"], serde_json::json!(["main", "develop"]));
}

#[test]
fn line_numbers_count_from_one() {
    assert_eq!(line_of("a\nb\nc", 0), 1);
    assert_eq!(line_of("a\nb\nc", 2), 2);
    assert_eq!(line_of("a\nb\nc", 4), 3);
    assert_eq!(line_of("a", 99), 1);
}
