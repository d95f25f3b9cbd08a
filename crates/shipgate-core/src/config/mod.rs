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

/// `[guard]`: commit message rules for branch-guard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Allowed conventional commit types: commitlint's config-conventional
    /// `type-enum` (seed 000 commits `feat:`, `fix:`, `chore:`).
    pub commit_types: Vec<String>,
    /// Longest header allowed, in characters: config-conventional's `header-max-length`.
    pub header_max_length: u32,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            commit_types: [
                "build", "chore", "ci", "docs", "feat", "fix", "perf", "refactor", "revert", "style", "test",
            ]
            .into_iter()
            .map(str::to_string)
            .collect(),
            header_max_length: 100,
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
    pub apply: ApplyMode,
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
        }
    }
}

/// `[notify]`: notification channels. Empty by default: the seeds name
/// Slack but no webhook is configured until someone provides one.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// `[[notify.channels]]`.
    pub channels: Vec<NotifyChannel>,
}

/// One place notifications are sent to. The secret URL itself never lives
/// in the file: `url_env` names the environment variable holding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyChannel {
    /// How this channel is referred to in output and flags.
    pub name: String,
    pub kind: ChannelKind,
    /// The environment variable holding the webhook URL, e.g. `SLACK_WEBHOOK_URL` (seed 000).
    pub url_env: String,
}

/// What kind of endpoint a notification channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChannelKind {
    /// A Slack incoming webhook.
    Slack,
    /// A generic JSON webhook.
    Webhook,
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
