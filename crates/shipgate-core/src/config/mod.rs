//! `shipgate.toml`: one optional file shared by the five tools.
//!
//! With no file at all the configuration reproduces the deployment flow of
//! the seed guides (`main` → production, `develop` → staging, `feature/*` →
//! `develop`, `release/vX.Y.Z` and `hotfix/*` → `main`). Each default below
//! names the seed it comes from. Values are layered default < file < env
//! (`SHIPGATE_<SECTION>_<KEY>`) < flag, and every leaf remembers which layer
//! set it (see [`LoadedConfig::source_of`]).
//!
//! Keys are snake_case; enum values are kebab-case.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

mod duration;
mod load;
mod pattern;
#[cfg(test)]
mod tests;

pub use duration::{ConfigDuration, DurationError};
pub use load::{ConfigEntry, FlagOverride, LoadOptions, LoadedConfig, Source, entries_json, load, render_entries_text};
pub use pattern::{BranchPattern, PatternError, ReleaseBranch};

/// The sections of `shipgate.toml`, which are also the `SECTION` part of
/// `SHIPGATE_<SECTION>_<KEY>` environment overrides.
pub const SECTIONS: &[&str] = &["flow", "release", "guard", "migrate", "smoke", "notify"];

/// The file name looked for at the repository root and in `.github/`.
pub const FILE_NAME: &str = "shipgate.toml";

/// The whole configuration. `Config::default()` is the seed flow.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Branches and where they deploy and merge; used by branch-guard and release-tagger.
    pub flow: FlowConfig,
    /// How releases are cut and tagged; used by release-tagger.
    pub release: ReleaseConfig,
    /// Commit message rules; used by branch-guard.
    pub guard: GuardConfig,
    /// Database migrations; used by migrate-runner.
    pub migrate: MigrateConfig,
    /// Post-deploy checks and rollback thresholds; used by smoke-tester.
    pub smoke: SmokeConfig,
    /// Where notifications go; used by notify.
    pub notify: NotifyConfig,
}

/// `[flow]`: the branch model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlowConfig {
    /// One rule per branch kind, `[[flow.branches]]`; the first rule whose
    /// pattern matches a branch applies. Seed 000 "Branch Rules" table plus
    /// the release branch of its "Release Process".
    pub branches: Vec<BranchRule>,
    /// Where pull requests deploy. Seed 000 "Pull Requests → Preview URLs".
    pub preview_environment: String,
}

/// `[[flow.branches]]`: what applies to branches matching `pattern`.
///
/// Omitted fields take the least restrictive value (unprotected, no
/// environment, no reviews, tests `none`, no targets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchRule {
    /// `*` matches one or more characters including `/`; `{version}` matches `X.Y.Z[-pre]`.
    pub pattern: BranchPattern,
    /// Whether direct pushes are refused (changes arrive by pull request).
    #[serde(default)]
    pub protected: bool,
    /// The environment a push to this branch deploys to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Approving reviews required on pull requests INTO this branch.
    #[serde(default)]
    pub reviews: u32,
    /// How strictly tests gate pull requests into this branch.
    #[serde(default)]
    pub tests: TestRequirement,
    /// Branch patterns this branch may be merged into.
    #[serde(default)]
    pub targets: Vec<BranchPattern>,
}

/// The "Tests Required" column of seed 000's branch rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestRequirement {
    /// Every check must pass.
    AllPass,
    /// The required checks must pass.
    Required,
    /// Failures are reported but do not block.
    Recommended,
    /// Tests are not considered.
    #[default]
    None,
}

impl BranchRule {
    fn seed(
        pattern: &str,
        protected: bool,
        environment: Option<&str>,
        reviews: u32,
        tests: TestRequirement,
        targets: &[&str],
    ) -> Self {
        let compile = |p: &str| BranchPattern::new(p).expect("seed branch patterns are valid");
        BranchRule {
            pattern: compile(pattern),
            protected,
            environment: environment.map(str::to_string),
            reviews,
            tests,
            targets: targets.iter().map(|t| compile(t)).collect(),
        }
    }
}

impl Default for FlowConfig {
    fn default() -> Self {
        use TestRequirement as T;
        FlowConfig {
            branches: vec![
                // Seed 000: main | protected | production | 2 reviews | all pass.
                BranchRule::seed("main", true, Some("production"), 2, T::AllPass, &[]),
                // Seed 000: develop | protected | staging | 1 review | all pass.
                // develop reaches main only through release branches.
                BranchRule::seed("develop", true, Some("staging"), 1, T::AllPass, &[]),
                // Seed 000: feature/* | no | none | 0 | recommended; "Create PR to develop".
                BranchRule::seed("feature/*", false, None, 0, T::Recommended, &["develop"]),
                // Seed 000: hotfix/* | no | none | 1 | required; "Create PR to main AND develop".
                BranchRule::seed("hotfix/*", false, None, 1, T::Required, &["main", "develop"]),
                // Seed 000 "Release Process": release/v1.2.0 cut from develop, "Create PR to main".
                // Its reviews are those of PRs into it; the PR into main needs main's 2.
                BranchRule::seed("release/v{version}", false, None, 0, T::Required, &["main"]),
            ],
            preview_environment: "preview".to_string(),
        }
    }
}

impl FlowConfig {
    /// The first rule whose pattern matches `branch`.
    pub fn rule_for(&self, branch: &str) -> Option<&BranchRule> {
        self.branches.iter().find(|rule| rule.pattern.matches(branch))
    }

    /// The environment a push to `branch` deploys to, if any.
    pub fn environment_for_branch(&self, branch: &str) -> Option<&str> {
        self.rule_for(branch)?.environment.as_deref()
    }

    /// Whether a pull request from `head` into `base` follows the flow.
    pub fn may_merge(&self, head: &str, base: &str) -> bool {
        self.rule_for(head)
            .is_some_and(|rule| rule.targets.iter().any(|target| target.matches(base)))
    }

    /// Where pull requests deploy.
    pub fn environment_for_pull_request(&self) -> &str {
        &self.preview_environment
    }
}

/// `[release]`: how release-tagger cuts, names and tags releases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReleaseConfig {
    /// Put before the version in tag names. Seed 000: `git tag -a v1.2.0`.
    pub tag_prefix: String,
    /// Annotated tag message; `{version}` is replaced. Seed 000: `-m "Release version 1.2.0"`.
    pub tag_message: String,
    /// Release branch name; must contain `{version}`. Seed 000: `git checkout -b release/v1.2.0`.
    pub release_branch: ReleaseBranch,
    /// Hotfix branches start with this. Seed 000: `git checkout -b hotfix/critical-fix`.
    pub hotfix_branch_prefix: String,
    /// Changelog file, relative to the repository root. Seed 000: "Update version numbers, changelog".
    pub changelog: PathBuf,
    /// Message of the release preparation commit; `{version}` is replaced.
    /// Seed 000: `git commit -m "chore: prepare release v1.2.0"`.
    pub commit_message: String,
    /// Release branches are cut from here. Seed 000: `git checkout develop` before `-b release/...`.
    pub development_branch: String,
    /// Release branches merge and are tagged here. Seed 000: "Create PR to main / After merge, tag".
    pub production_branch: String,
    /// Commit types that release a minor version (semantic-release's default rules).
    pub minor_types: Vec<String>,
    /// Commit types that release a patch version (semantic-release's default rules).
    /// Types in neither list (chore, docs, ci, ...) release nothing.
    pub patch_types: Vec<String>,
    /// Before 1.0.0 a breaking change bumps the minor version, not the major
    /// (semver item 4: 0.y.z is initial development).
    pub breaking_before_1_bumps_minor: bool,
    /// A shallow clone (actions/checkout's `fetch-depth: 1`) is deepened with
    /// `git fetch --unshallow`; when false it is an error naming `fetch-depth: 0`.
    pub deepen_shallow: bool,
    /// Base URL of the repository for changelog links, e.g. `https://github.com/o/r`.
    /// Empty: `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY`, else the `origin` remote.
    pub repository_url: String,
    /// A minijinja template for one changelog section, relative to the
    /// repository root. Empty: the built-in Keep a Changelog style template.
    pub changelog_template: String,
    /// Changelog groups in order, `[[release.changelog_groups]]`. Breaking
    /// changes always come first under "Breaking Changes"; commit types in no
    /// group are left out of the changelog.
    pub changelog_groups: Vec<ChangelogGroup>,
    /// Files beyond the ones `release-tagger bump` knows (Cargo.toml,
    /// package.json, pyproject.toml, VERSION), `[[release.version_files]]`.
    pub version_files: Vec<VersionFile>,
}

/// `[[release.version_files]]`: a file whose version `bump` rewrites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionFile {
    /// Relative to the repository root.
    pub path: String,
    /// A regular expression whose first capture group is the version, e.g.
    /// `VERSION = "([^"]+)"`; every match is rewritten.
    pub pattern: String,
}

/// `[[release.changelog_groups]]`: one heading of a changelog section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangelogGroup {
    /// The heading, e.g. `Features`.
    pub title: String,
    /// The conventional commit types listed under it.
    pub types: Vec<String>,
}

impl Default for ReleaseConfig {
    fn default() -> Self {
        ReleaseConfig {
            tag_prefix: "v".to_string(),
            tag_message: "Release version {version}".to_string(),
            release_branch: ReleaseBranch::new("release/v{version}").expect("seed release branch is valid"),
            hotfix_branch_prefix: "hotfix/".to_string(),
            changelog: PathBuf::from("CHANGELOG.md"),
            commit_message: "chore: prepare release v{version}".to_string(),
            development_branch: "develop".to_string(),
            production_branch: "main".to_string(),
            minor_types: vec!["feat".to_string()],
            patch_types: ["fix", "perf", "revert"].into_iter().map(str::to_string).collect(),
            breaking_before_1_bumps_minor: true,
            deepen_shallow: true,
            repository_url: String::new(),
            changelog_template: String::new(),
            changelog_groups: [
                ("Features", &["feat"][..]),
                ("Bug Fixes", &["fix"][..]),
                ("Performance", &["perf"][..]),
                ("Reverts", &["revert"][..]),
            ]
            .into_iter()
            .map(|(title, types)| ChangelogGroup {
                title: title.to_string(),
                types: types.iter().map(|t| t.to_string()).collect(),
            })
            .collect(),
            version_files: Vec::new(),
        }
    }
}

impl ReleaseConfig {
    /// The tag name for `version`, e.g. `v1.2.0`.
    pub fn tag_name(&self, version: &semver::Version) -> String {
        format!("{}{version}", self.tag_prefix)
    }

    /// The version a tag names, if it has the prefix and a valid semver after it.
    pub fn version_of_tag(&self, tag: &str) -> Option<semver::Version> {
        semver::Version::parse(tag.strip_prefix(&self.tag_prefix)?).ok()
    }

    /// The annotated tag message for `version`.
    pub fn tag_message_for(&self, version: &semver::Version) -> String {
        self.tag_message.replace("{version}", &version.to_string())
    }

    /// The release preparation commit message for `version`.
    pub fn commit_message_for(&self, version: &semver::Version) -> String {
        self.commit_message.replace("{version}", &version.to_string())
    }

    /// Whether `branch` is a hotfix branch.
    pub fn is_hotfix_branch(&self, branch: &str) -> bool {
        branch.len() > self.hotfix_branch_prefix.len() && branch.starts_with(&self.hotfix_branch_prefix)
    }
}

/// `[guard]`: branch-guard's commit message rules and merge gate.
///
/// The message rules default to commitlint's `@commitlint/config-conventional`
/// (seed 000: "Commits follow conventional commits"); rule names are
/// commitlint's, so its documentation applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Allowed conventional commit types: commitlint's config-conventional
    /// `type-enum` (seed 000 commits `feat:`, `fix:`, `chore:`).
    pub commit_types: Vec<String>,
    /// Longest header allowed, in characters: config-conventional's `header-max-length`.
    pub header_max_length: u32,
    /// Longest body line, in characters: config-conventional's `body-max-line-length`.
    pub body_max_line_length: u32,
    /// Longest footer line, in characters: config-conventional's `footer-max-line-length`.
    pub footer_max_line_length: u32,
    /// Cases the subject must not be in: config-conventional's `subject-case`
    /// (`never`). Any of `sentence-case`, `start-case`, `pascal-case`, `upper-case`, `lower-case`.
    pub subject_case_never: Vec<String>,
    /// The subject must not end with this: config-conventional's `subject-full-stop`.
    pub subject_full_stop: String,
    /// Rules that only warn: config-conventional has `body-leading-blank` and
    /// `footer-leading-blank` at level 1 (warning).
    pub warning_rules: Vec<String>,
    /// Rules that are not checked at all.
    pub disabled_rules: Vec<String>,
    /// commitlint's default ignore list (`defaultIgnores`): merge, revert,
    /// reapply, `fixup!`/`squash!`/`amend!` and bare-version messages are not
    /// linted. `false` lints them (merge commits recognised by their parents
    /// still follow `merge_commits`).
    pub default_ignores: bool,
    /// Regular expressions (Rust `regex` syntax) matched against the whole
    /// message; a message any of them matches is not linted (commitlint's `ignores`).
    pub ignores: Vec<String>,
    /// Merge commits (two or more parents, a merge in progress in the hook, or
    /// a merge message of the default ignore list): skipped, as commitlint's default ignores do.
    pub merge_commits: SpecialCommitPolicy,
    /// git's `Revert "..."` and `Reapply "..."` commits: skipped, as commitlint's default ignores do.
    pub revert_commits: SpecialCommitPolicy,
    /// `fixup!`, `squash!` and `amend!` commits: skipped, as commitlint's default ignores do.
    pub fixup_commits: SpecialCommitPolicy,
    /// Commit authors (name, or login in a `users.noreply.github.com` email) treated as bots.
    pub bot_authors: Vec<String>,
    /// What happens to bot commits: skipped, since bots' generated bodies
    /// (long release-note lines) break `body-max-line-length` and cannot be reworded.
    pub bot_commits: SpecialCommitPolicy,
    /// A hotfix PR into the production branch with no back-merge PR into the
    /// development branch: a reminder, or a failure. Seed 000 "Create PR to main AND develop".
    pub hotfix_back_merge: BackMergePolicy,
    /// Check names that must pass on a PR's head before merging, and that
    /// `protect` requires; empty means every check on the head must pass
    /// for "all-pass" branches. Seed 000 "Tests Required".
    pub required_checks: Vec<String>,
    /// Minimum line coverage for `gate --coverage`. Seed 001 "Unit tests with >80% coverage".
    #[serde(deserialize_with = "percent")]
    pub min_coverage_percent: f64,
    /// Branch names may only use `a-z`, `0-9`, `-`, `_`, `.` and `/`, on top
    /// of matching a flow pattern. Seed 000 names every branch that way
    /// (`feature/user-authentication`, `hotfix/critical-bug-fix`).
    pub lowercase_branch_names: bool,
    /// `[guard.scan]`: the SARIF security gate, `branch-guard scan`.
    pub scan: ScanConfig,
}

/// `[guard.scan]`: which SARIF findings fail `branch-guard scan`, and the
/// accepted ones. Seed 000 "Security scanning (Bandit, npm audit)" before a
/// merge; seed 001 "Security scans (Snyk, CodeQL)".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScanConfig {
    /// The lowest severity that fails the gate. `high`: GitHub code
    /// scanning's default for security alerts ("High or higher").
    pub fail_on: ScanThreshold,
    /// Baseline file of accepted findings, relative to the repository root;
    /// empty for none.
    pub baseline: String,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            fail_on: ScanThreshold::High,
            baseline: String::new(),
        }
    }
}

/// `--fail-on` and `guard.scan.fail_on`: the security severities of GitHub
/// code scanning and the SARIF levels of tools without them. A level ranks
/// with a severity: `error` with `high`, `warning` with `medium`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ScanThreshold {
    // `help = None` keeps these docs out of `--help`, which lists the bare values
    // and leaves explaining them to the argument's own help.
    /// Fail on critical findings only.
    #[value(help = None::<&str>)]
    Critical,
    /// Fail on high or critical findings, and on SARIF `error`; the default.
    #[value(help = None::<&str>)]
    High,
    /// Fail on medium or worse, and on SARIF `warning` or `error`.
    #[value(help = None::<&str>)]
    Medium,
    /// Fail on any security severity, and on any SARIF level but `none`.
    #[value(help = None::<&str>)]
    Low,
    /// The SARIF level that ranks with `high`, for tools without security severities.
    #[value(help = None::<&str>)]
    Error,
    /// The SARIF level that ranks with `medium`, for tools without security severities.
    #[value(help = None::<&str>)]
    Warning,
}

/// How `commits` and `pre-push` treat a kind of commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpecialCommitPolicy {
    /// Not linted.
    Skip,
    /// Linted like any other commit.
    Lint,
    /// Always a violation.
    Reject,
}

/// What a hotfix PR without a back-merge PR gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackMergePolicy {
    /// A warning; the verdict still passes.
    Warn,
    /// A failed verdict.
    Fail,
}

impl Default for GuardConfig {
    fn default() -> Self {
        let strings = |items: &[&str]| items.iter().map(|item| item.to_string()).collect();
        GuardConfig {
            commit_types: strings(&[
                "build", "chore", "ci", "docs", "feat", "fix", "perf", "refactor", "revert", "style", "test",
            ]),
            header_max_length: 100,
            body_max_line_length: 100,
            footer_max_line_length: 100,
            subject_case_never: strings(&["sentence-case", "start-case", "pascal-case", "upper-case"]),
            subject_full_stop: ".".to_string(),
            warning_rules: strings(&["body-leading-blank", "footer-leading-blank"]),
            disabled_rules: Vec::new(),
            default_ignores: true,
            ignores: Vec::new(),
            merge_commits: SpecialCommitPolicy::Skip,
            revert_commits: SpecialCommitPolicy::Skip,
            fixup_commits: SpecialCommitPolicy::Skip,
            bot_authors: strings(&["dependabot[bot]", "renovate[bot]"]),
            bot_commits: SpecialCommitPolicy::Skip,
            hotfix_back_merge: BackMergePolicy::Warn,
            required_checks: Vec::new(),
            min_coverage_percent: 80.0,
            lowercase_branch_names: true,
            scan: ScanConfig::default(),
        }
    }
}

/// `[migrate]`: migrate-runner's files, bookkeeping table and per-environment policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MigrateConfig {
    /// Migration files, relative to the repository root.
    pub dir: PathBuf,
    /// The table recording applied migrations; a plain or schema-qualified SQL identifier.
    #[serde(deserialize_with = "sql_table_name")]
    pub table: String,
    /// Used when no database URL is given. Seed 000 "Local Development: SQLite".
    pub default_database_url: String,
    /// `up` applies all pending migrations in one transaction (all or none,
    /// one commit) instead of one transaction per migration.
    pub single_transaction: bool,
    /// Policy per deployment environment, `[migrate.environments.<name>]`.
    /// Seed 003 "Migration Strategy". Environments not listed get [`MigrationPolicy::default`].
    pub environments: BTreeMap<String, MigrationPolicy>,
}

impl Default for MigrateConfig {
    fn default() -> Self {
        use ApplyMode::*;
        use RollbackMode::*;
        let policy = |apply, rollback, backup_before_apply| MigrationPolicy {
            apply,
            rollback,
            backup_before_apply,
        };
        MigrateConfig {
            dir: PathBuf::from("migrations"),
            table: "shipgate_migrations".to_string(),
            default_database_url: "sqlite:./shipgate-dev.db".to_string(),
            single_transaction: false,
            environments: BTreeMap::from([
                // Seed 003: development { apply: automatic, rollback: manual }.
                ("development".to_string(), policy(Automatic, Manual, false)),
                // Seed 003: staging { apply: automatic_on_deploy, rollback: manual_with_approval }.
                (
                    "staging".to_string(),
                    policy(AutomaticOnDeploy, ManualWithApproval, false),
                ),
                // Seed 003: production { manual_with_review, two_person_approval, pre_migration_backup }.
                (
                    "production".to_string(),
                    policy(ManualWithReview, TwoPersonApproval, true),
                ),
            ]),
        }
    }
}

impl MigrateConfig {
    /// The policy for `environment`; an environment the configuration does
    /// not name gets the strictest policy rather than none.
    pub fn policy_for(&self, environment: &str) -> MigrationPolicy {
        self.environments.get(environment).copied().unwrap_or_default()
    }
}

/// How migrations may be applied and rolled back in one environment.
///
/// The default (for environments the configuration does not list, and for
/// fields a listed environment omits) is the production policy: the
/// strictest, so forgetting to configure an environment never loosens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MigrationPolicy {
    /// When migrations may be applied; `manual-with-review` by default.
    pub apply: ApplyMode,
    /// Who may roll migrations back; `two-person-approval` by default.
    pub rollback: RollbackMode,
    /// Take a backup before applying. Seed 003 production "pre_migration_backup".
    pub backup_before_apply: bool,
}

impl Default for MigrationPolicy {
    fn default() -> Self {
        MigrationPolicy {
            apply: ApplyMode::ManualWithReview,
            rollback: RollbackMode::TwoPersonApproval,
            backup_before_apply: true,
        }
    }
}

/// When migrations are applied (seed 003 `apply`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApplyMode {
    /// Whenever migrate-runner runs.
    Automatic,
    /// As part of a deployment.
    AutomaticOnDeploy,
    /// Only with an explicit, reviewed confirmation.
    ManualWithReview,
}

/// Who may roll migrations back (seed 003 `rollback`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RollbackMode {
    /// Anyone, by running the command.
    Manual,
    /// With one approval.
    ManualWithApproval,
    /// With approvals from two people.
    TwoPersonApproval,
}

/// `[smoke]`: smoke-tester's failure and rollback thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmokeConfig {
    /// Consecutive failed health checks before the target counts as down.
    /// Seed 004 "Health check fails (3 consecutive checks)".
    pub failure_threshold: NonZeroU32,
    /// Error rate (percent of requests) above which a rollback is triggered.
    /// Seed 003 rollback trigger `error_rate: 5%`.
    #[serde(deserialize_with = "percent")]
    pub max_error_rate_percent: f64,
    /// Window the error rate is measured over. Seed 003 `window: 5 minutes`.
    pub error_rate_window: ConfigDuration,
    /// p95 response time above which a rollback is triggered. Seed 003 `p95 > 5 seconds`.
    pub max_p95: ConfigDuration,
    /// Window the p95 is measured over. Seed 003 `window: 10 minutes`.
    pub p95_window: ConfigDuration,
    /// Fewer requests to either side make a canary comparison inconclusive.
    pub min_samples: u32,
    /// Base URL of relative `[[smoke.check]]` URLs; may use `{{ env.NAME }}`.
    /// None by default: seed 003 checks `https://vibelog.io`, which is no default for anyone else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// `[smoke.prometheus]`: the metric and label names behind
    /// `smoke-tester watch --prometheus`'s default queries.
    pub prometheus: SmokePrometheus,
    /// `[[smoke.check]]`: the checks `smoke-tester run` runs when no
    /// `--checks` file is given. smoke-tester validates them (with file and
    /// line); their format is in docs/smoke-tester.md. None by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check: Vec<toml::Table>,
}

impl Default for SmokeConfig {
    fn default() -> Self {
        let duration = |text| ConfigDuration::parse(text).expect("seed durations are valid");
        SmokeConfig {
            failure_threshold: NonZeroU32::new(3).expect("3 is not zero"),
            max_error_rate_percent: 5.0,
            error_rate_window: duration("5m"),
            max_p95: duration("5s"),
            p95_window: duration("10m"),
            min_samples: 10,
            base_url: None,
            prometheus: SmokePrometheus::default(),
            check: Vec::new(),
        }
    }
}

/// `[smoke.prometheus]`: what the application's metrics are called. The
/// defaults are the Prometheus client libraries' HTTP conventions, which the
/// seeds' Prometheus + Grafana monitoring scrapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmokePrometheus {
    /// Counter of HTTP requests, labelled with the status code.
    pub requests_metric: String,
    /// Histogram of request durations in seconds (the `_bucket` series is queried).
    pub duration_metric: String,
    /// The label of `requests_metric` holding the HTTP status code.
    pub status_label: String,
    /// Regular expression of the status codes that count as errors.
    pub error_status: String,
    /// Time between two measurements of the queries (Argo's `interval`).
    pub interval: ConfigDuration,
}

impl Default for SmokePrometheus {
    fn default() -> Self {
        SmokePrometheus {
            requests_metric: "http_requests_total".to_owned(),
            duration_metric: "http_request_duration_seconds".to_owned(),
            status_label: "code".to_owned(),
            error_status: "5..".to_owned(),
            interval: ConfigDuration::parse("30s").expect("a valid duration"),
        }
    }
}

/// `[notify]`: where notifications go and what incidents say. No channel
/// is configured by default: the seeds name Slack, PagerDuty, email and a
/// status page, but their secret URLs only exist in each deployment's
/// environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// `[[notify.channels]]`: named targets, usable with `--target NAME` and in `incident_routes`.
    pub channels: Vec<NotifyChannel>,
    /// Channel names each incident severity goes to. Seed 003 "Communication
    /// Plan": internal plus external channels per severity (twitter, in-app
    /// banners and customer email are outside notify's reach).
    pub incident_routes: IncidentRoutes,
    /// minijinja text per incident status; `service` is the affected service.
    /// Seed 003 "Communication Plan" templates (`monitoring` is ours: the seed has none).
    pub incident_templates: IncidentTemplates,
    /// Limit for delivering to one target, retries included.
    pub timeout: ConfigDuration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            channels: Vec::new(),
            incident_routes: IncidentRoutes::default(),
            incident_templates: IncidentTemplates::default(),
            timeout: ConfigDuration::parse("30s").expect("a valid duration"),
        }
    }
}

/// One place notifications are sent to. The secret URL itself never lives
/// in the file: `url_env` names the environment variable holding it (which
/// must not start with `SHIPGATE_NOTIFY_`, the prefix of config overrides).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyChannel {
    /// How this channel is referred to in output, flags and routes.
    pub name: String,
    /// The payload format; omitted, it is detected from the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ChannelKind>,
    /// The environment variable holding the target URL, e.g. `SLACK_WEBHOOK_URL` (seed 000).
    pub url_env: String,
    /// A failure to deliver here is reported but does not fail the run.
    #[serde(default)]
    pub optional: bool,
}

/// What kind of endpoint a notification channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChannelKind {
    /// A Slack incoming webhook, or `chat.postMessage` with a bot token.
    Slack,
    /// A Discord webhook.
    Discord,
    /// A Microsoft Teams Workflows webhook (Adaptive Card).
    Teams,
    /// PagerDuty Events API v2.
    Pagerduty,
    /// Atlassian Statuspage incidents API.
    Statuspage,
    /// A generic JSON webhook, optionally HMAC-signed.
    Webhook,
    /// SMTP email.
    Email,
    /// GitHub deployments and comments.
    Github,
    /// Standard output, for local runs.
    Stdout,
    /// JSON lines appended to a file.
    File,
}

/// `[notify.incident_routes]`: channel names per severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentRoutes {
    /// Seed 003: "Complete service outage" → slack_alert, pagerduty, email_leadership; status_page.
    #[serde(rename = "P0")]
    pub p0: Vec<String>,
    /// Seed 003: "Major feature broken" → slack_alert, email_team; status_page.
    #[serde(rename = "P1")]
    pub p1: Vec<String>,
    /// Seed 003: "Minor feature degraded" → slack_alert; status_page.
    #[serde(rename = "P2")]
    pub p2: Vec<String>,
}

impl Default for IncidentRoutes {
    fn default() -> Self {
        let names = |list: &[&str]| list.iter().map(|name| name.to_string()).collect();
        IncidentRoutes {
            p0: names(&["slack_alert", "pagerduty", "email_leadership", "status_page"]),
            p1: names(&["slack_alert", "email_team", "status_page"]),
            p2: names(&["slack_alert", "status_page"]),
        }
    }
}

/// `[notify.incident_templates]`: the public text for each incident status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentTemplates {
    /// Shown while the cause is being looked for; `{{ service }}` names the service.
    pub investigating: String,
    /// Shown once the cause is known.
    pub identified: String,
    /// Shown while a deployed fix is being watched.
    pub monitoring: String,
    /// Shown when the incident is over.
    pub resolved: String,
}

impl Default for IncidentTemplates {
    fn default() -> Self {
        IncidentTemplates {
            investigating:
                "We're investigating reports of issues with {{ service }}. We'll provide updates as we learn more."
                    .to_string(),
            identified: "We've identified the issue affecting {{ service }} and are working on a fix.".to_string(),
            monitoring: "A fix for {{ service }} has been deployed and we're monitoring the results.".to_string(),
            resolved: "The issue with {{ service }} has been resolved. We apologize for any inconvenience.".to_string(),
        }
    }
}

/// Rejects table names that could not be interpolated into SQL safely, since
/// identifiers cannot be bound as query parameters.
fn sql_table_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let name = String::deserialize(deserializer)?;
    let valid_identifier = |part: &str| {
        let mut chars = part.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() <= 2 && parts.iter().all(|part| valid_identifier(part)) {
        Ok(name)
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid table name `{name}`: use letters, digits and `_`, optionally as `schema.table`"
        )))
    }
}

fn percent<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "{value} is not a percentage between 0 and 100"
        )))
    }
}
