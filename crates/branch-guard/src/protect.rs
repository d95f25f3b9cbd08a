//! `branch-guard protect [--apply]`: branch protection as code.
//!
//! For every protected branch of the flow with a literal name (`main`,
//! `develop`) the config implies a protection: its required reviews, its
//! required status checks, admins included, no force pushes or deletions.
//! Without `--apply` it prints the plan (the difference from what GitHub has
//! now) and exits 1 when they differ. With `--apply` it PUTs every branch
//! that differs, with every top-level key of the payload set explicitly
//! (GitHub silently resets omitted settings), then reads each back to verify.

use serde::Serialize;
use serde_json::{Value, json};
use shipgate_core::actions::{Runtime, Summary};
use shipgate_core::cli::{self, GlobalArgs, Ui};
use shipgate_core::config::{Config, TestRequirement};
use shipgate_core::exit::{self, Error, ExitCode, Result};

use crate::api::{self, RepoApi};

/// The settings compared between config and GitHub, flattened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectionSettings {
    pub required_approving_review_count: Option<u8>,
    pub dismiss_stale_reviews: bool,
    /// `None`: no status checks required.
    pub required_status_checks: Option<Vec<String>>,
    pub strict_status_checks: bool,
    pub enforce_admins: bool,
    pub allow_force_pushes: bool,
    pub allow_deletions: bool,
}

/// One changed setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub setting: &'static str,
    pub current: String,
    pub desired: String,
}

/// The plan for one branch.
#[derive(Debug, Clone, Serialize)]
pub struct BranchPlan {
    pub branch: String,
    pub protected_now: bool,
    pub changes: Vec<Change>,
    /// Set by `--apply`: `applied`, `unchanged`, or `dry-run`.
    pub applied: Option<&'static str>,
}

/// The protection the config implies for `branch`'s rule.
pub fn desired_settings(config: &Config, reviews: u32, tests: TestRequirement) -> ProtectionSettings {
    let checks = matches!(tests, TestRequirement::AllPass | TestRequirement::Required);
    let mut contexts = config.guard.required_checks.clone();
    contexts.sort();
    ProtectionSettings {
        required_approving_review_count: Some(reviews.min(6) as u8),
        dismiss_stale_reviews: true,
        required_status_checks: checks.then_some(contexts),
        strict_status_checks: checks,
        enforce_admins: true,
        allow_force_pushes: false,
        allow_deletions: false,
    }
}

/// The full PUT body: all top-level keys, nullable ones as explicit nulls.
pub fn payload(settings: &ProtectionSettings) -> Value {
    json!({
        "required_status_checks": settings.required_status_checks.as_ref().map(|contexts| json!({
            "strict": settings.strict_status_checks,
            "contexts": contexts,
        })),
        "enforce_admins": settings.enforce_admins,
        "required_pull_request_reviews": settings.required_approving_review_count.map(|count| json!({
            "dismiss_stale_reviews": settings.dismiss_stale_reviews,
            "require_code_owner_reviews": false,
            "required_approving_review_count": count,
            "require_last_push_approval": false,
        })),
        "restrictions": null,
        "required_linear_history": false,
        "allow_force_pushes": settings.allow_force_pushes,
        "allow_deletions": settings.allow_deletions,
        "block_creations": false,
        "required_conversation_resolution": false,
        "lock_branch": false,
        "allow_fork_syncing": false,
    })
}

/// Reads GitHub's `branch-protection` answer (`None`: unprotected).
pub fn current_settings(answer: Option<&Value>) -> ProtectionSettings {
    let Some(answer) = answer else {
        return ProtectionSettings {
            required_approving_review_count: None,
            dismiss_stale_reviews: false,
            required_status_checks: None,
            strict_status_checks: false,
            enforce_admins: false,
            allow_force_pushes: true,
            allow_deletions: true,
        };
    };
    let enabled = |key: &str| answer[key]["enabled"].as_bool().unwrap_or(false);
    let reviews = answer.get("required_pull_request_reviews").filter(|v| v.is_object());
    let checks = answer.get("required_status_checks").filter(|v| v.is_object());
    ProtectionSettings {
        required_approving_review_count: reviews.map(|r| {
            r["required_approving_review_count"]
                .as_u64()
                .unwrap_or(0)
                .min(u64::from(u8::MAX)) as u8
        }),
        dismiss_stale_reviews: reviews.is_some_and(|r| r["dismiss_stale_reviews"].as_bool().unwrap_or(false)),
        required_status_checks: checks.map(|c| {
            let mut contexts: Vec<String> = c["contexts"]
                .as_array()
                .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            contexts.sort();
            contexts.dedup();
            contexts
        }),
        strict_status_checks: checks.is_some_and(|c| c["strict"].as_bool().unwrap_or(false)),
        enforce_admins: enabled("enforce_admins"),
        allow_force_pushes: enabled("allow_force_pushes"),
        allow_deletions: enabled("allow_deletions"),
    }
}

/// What differs between `current` and `desired`.
pub fn diff(current: &ProtectionSettings, desired: &ProtectionSettings) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut compare = |setting: &'static str, current: String, desired: String| {
        if current != desired {
            changes.push(Change {
                setting,
                current,
                desired,
            });
        }
    };
    let reviews = |count: Option<u8>| count.map_or("not required".to_string(), |c| c.to_string());
    let checks = |checks: &Option<Vec<String>>| match checks {
        None => "not required".to_string(),
        Some(list) if list.is_empty() => "[] (branch must be up to date)".to_string(),
        Some(list) => format!("[{}]", list.join(", ")),
    };
    compare(
        "required_approving_review_count",
        reviews(current.required_approving_review_count),
        reviews(desired.required_approving_review_count),
    );
    compare(
        "dismiss_stale_reviews",
        current.dismiss_stale_reviews.to_string(),
        desired.dismiss_stale_reviews.to_string(),
    );
    compare(
        "required_status_checks",
        checks(&current.required_status_checks),
        checks(&desired.required_status_checks),
    );
    compare(
        "strict_status_checks",
        current.strict_status_checks.to_string(),
        desired.strict_status_checks.to_string(),
    );
    compare(
        "enforce_admins",
        current.enforce_admins.to_string(),
        desired.enforce_admins.to_string(),
    );
    compare(
        "allow_force_pushes",
        current.allow_force_pushes.to_string(),
        desired.allow_force_pushes.to_string(),
    );
    compare(
        "allow_deletions",
        current.allow_deletions.to_string(),
        desired.allow_deletions.to_string(),
    );
    changes
}

/// The protected branches with literal names, and their rules' reviews and tests.
pub fn protected_branches(config: &Config) -> Vec<(String, u32, TestRequirement)> {
    config
        .flow
        .branches
        .iter()
        .filter(|rule| rule.protected && rule.pattern.is_literal())
        .map(|rule| (rule.pattern.as_str().to_string(), rule.reviews, rule.tests))
        .collect()
}

async fn plan_and_apply(
    runtime: &Runtime,
    config: &Config,
    repo: Option<&str>,
    apply: bool,
    dry_run: bool,
) -> Result<Vec<BranchPlan>> {
    let client = RepoApi::from_runtime(runtime, repo)?;
    let mut plans = Vec::new();
    for (branch, reviews, tests) in protected_branches(config) {
        let desired = desired_settings(config, reviews, tests);
        let answer = client.protection(&branch).await?;
        let changes = diff(&current_settings(answer.as_ref()), &desired);
        let mut plan = BranchPlan {
            branch: branch.clone(),
            protected_now: answer.is_some(),
            changes,
            applied: None,
        };
        if apply {
            plan.applied = Some(if plan.changes.is_empty() {
                "unchanged"
            } else if dry_run {
                "dry-run"
            } else {
                client.put_protection(&branch, &payload(&desired)).await?;
                let reread = client.protection(&branch).await?;
                let left = diff(&current_settings(reread.as_ref()), &desired);
                if !left.is_empty() {
                    let settings: Vec<&str> = left.iter().map(|c| c.setting).collect();
                    return Err(Error::external(format!(
                        "GitHub accepted the protection for `{branch}` but reading it back shows {} still different",
                        settings.join(", ")
                    )));
                }
                "applied"
            });
        }
        plans.push(plan);
    }
    Ok(plans)
}

/// The plan as text, one `~ branch.setting: current → desired` line per change.
pub fn render_text(plans: &[BranchPlan]) -> String {
    let mut text = String::new();
    for plan in plans {
        if plan.changes.is_empty() {
            text.push_str(&format!("= {}: protection matches the config\n", plan.branch));
            continue;
        }
        let verb = match plan.applied {
            Some("applied") => "applied",
            Some("dry-run") => "would apply (dry run)",
            _ => "plan",
        };
        let note = if plan.protected_now { "" } else { " (not protected now)" };
        text.push_str(&format!("~ {}{note}: {verb}\n", plan.branch));
        for change in &plan.changes {
            text.push_str(&format!(
                "    {}: {} → {}\n",
                change.setting, change.current, change.desired
            ));
        }
    }
    text
}

/// Runs `protect`.
pub fn run(globals: &GlobalArgs, repo: Option<&str>, apply: bool, dry_run: bool) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let runtime = Runtime::detect();
    let loaded = cli::load_config(globals)?;
    let plans = api::block_on(plan_and_apply(&runtime, &loaded.config, repo, apply, dry_run))?;
    let drift = plans
        .iter()
        .any(|plan| !plan.changes.is_empty() && plan.applied != Some("applied"));
    runtime.set_output("passed", if drift { "false" } else { "true" })?;
    let rows: Vec<Vec<String>> = plans
        .iter()
        .flat_map(|plan| {
            plan.changes.iter().map(move |change| {
                vec![
                    format!("`{}`", plan.branch),
                    change.setting.to_string(),
                    change.current.clone(),
                    change.desired.clone(),
                ]
            })
        })
        .collect();
    let mut summary = Summary::new();
    summary.heading(3, "Branch protection");
    if dry_run {
        summary.dry_run("nothing was changed on GitHub");
    }
    if rows.is_empty() {
        summary.paragraph("Protection matches the config.");
    } else {
        summary.table(&["Branch", "Setting", "Current", "Desired"], &rows);
    }
    runtime.append_summary(summary.as_markdown())?;
    if ui.json {
        ui.print_json(
            &json!({ "apply": apply, "dry_run": dry_run, "drift": drift, "branches": crate::report::to_json(&plans)? }),
        )?;
    } else {
        ui.print(&render_text(&plans))?;
    }
    exit::verdict(!drift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_table_becomes_protection() {
        let config = Config::default();
        let branches = protected_branches(&config);
        let names: Vec<_> = branches.iter().map(|(name, ..)| name.as_str()).collect();
        assert_eq!(names, ["main", "develop"]);
        let main = desired_settings(&config, 2, TestRequirement::AllPass);
        let body = payload(&main);
        for key in [
            "required_status_checks",
            "enforce_admins",
            "required_pull_request_reviews",
            "restrictions",
            "allow_force_pushes",
            "allow_deletions",
        ] {
            assert!(body.get(key).is_some(), "{key} is always set explicitly");
        }
        assert_eq!(
            body["required_pull_request_reviews"]["required_approving_review_count"],
            2
        );
        assert_eq!(body["restrictions"], Value::Null);
        assert_eq!(body["allow_force_pushes"], false);
    }

    #[test]
    fn diff_lists_what_differs() {
        let config = Config::default();
        let desired = desired_settings(&config, 1, TestRequirement::AllPass);
        let unprotected = current_settings(None);
        let changes = diff(&unprotected, &desired);
        assert_eq!(changes.len(), 7, "{changes:?}");
        let answer = json!({
            "required_pull_request_reviews": { "required_approving_review_count": 1, "dismiss_stale_reviews": true },
            "required_status_checks": { "strict": true, "contexts": [] },
            "enforce_admins": { "enabled": true },
            "allow_force_pushes": { "enabled": false },
            "allow_deletions": { "enabled": true },
        });
        let changes = diff(&current_settings(Some(&answer)), &desired);
        assert_eq!(
            changes,
            [Change {
                setting: "allow_deletions",
                current: "true".into(),
                desired: "false".into()
            }]
        );
    }
}
