//! Seed 003's migration strategy, per environment:
//!
//! | env | apply | rollback | testing |
//! |---|---|---|---|
//! | development | automatic | manual | seed data reset |
//! | staging | automatic on deploy | manual with approval | full test suite |
//! | production | manual with review | two-person approval | pre-migration backup |
//!
//! "Review" and "approval" in GitHub Actions are the run's environment
//! approvals (`GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`);
//! outside Actions a person confirms on a terminal by typing the database name.
//!
//! This module is the one gate every command goes through: `plan`, `up`,
//! `down` and `exec` all call [`decide`], so what `plan` shows is what `up`
//! does. [`enforce`] turns the decision into go or no-go and
//! [`record_override`] writes an override into the events table.

use std::io::IsTerminal;

use http::Method;
use serde::{Deserialize, Serialize};
use shipgate_core::actions::{Annotation, Runtime};
use shipgate_core::config::{ApplyMode, MigrationPolicy, RollbackMode};
use shipgate_core::exit::{Error, ExitCode, Result};
use shipgate_core::github::{GitHubClient, GitHubSettings};

use crate::database::Connection;
use crate::formats::Migration;
use crate::refusal::Refusal;
use crate::{OverrideArgs, Session};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    Apply,
    Rollback,
}

/// One environment approval of the workflow run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Approval {
    pub login: String,
    pub state: String,
}

/// What the policy needs to see before saying yes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Requirement {
    /// Nothing.
    None,
    /// At least `count` distinct approvers of this run, other than `actor`
    /// when `exclude_actor`; in Actions only unless `terminal_ok`.
    Approvals {
        count: usize,
        exclude_actor: bool,
        terminal_ok: bool,
    },
}

/// The verdict, with everything `plan` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub environment: String,
    pub operation: Operation,
    pub rule: String,
    pub requirement: Requirement,
    pub allowed: bool,
    pub reason: String,
    pub backup_required: bool,
    /// The approvers that counted.
    pub approvers: Vec<String>,
    /// A person must type this (the database name) on a terminal first.
    pub confirm_on_terminal: Option<String>,
    /// Allowed only because of `--override-policy`.
    pub overridden: Option<String>,
}

/// The facts a decision is made from.
#[derive(Debug, Clone)]
pub struct Facts {
    pub environment: String,
    pub policy: MigrationPolicy,
    pub operation: Operation,
    pub in_actions: bool,
    /// Whether a person could answer a prompt: stdin is a terminal.
    pub terminal: bool,
    pub actor: String,
    /// `None` when they were not (or could not be) fetched.
    pub approvals: Option<Vec<Approval>>,
    pub database_name: String,
    pub override_reason: Option<String>,
}

pub fn requirement(policy: &MigrationPolicy, operation: Operation) -> (String, Requirement) {
    match operation {
        Operation::Apply => match policy.apply {
            ApplyMode::Automatic => ("apply: automatic".into(), Requirement::None),
            ApplyMode::AutomaticOnDeploy => ("apply: automatic-on-deploy".into(), Requirement::None),
            ApplyMode::ManualWithReview => (
                "apply: manual-with-review".into(),
                Requirement::Approvals {
                    count: 1,
                    exclude_actor: false,
                    terminal_ok: true,
                },
            ),
        },
        Operation::Rollback => match policy.rollback {
            RollbackMode::Manual => ("rollback: manual".into(), Requirement::None),
            RollbackMode::ManualWithApproval => (
                "rollback: manual-with-approval".into(),
                Requirement::Approvals {
                    count: 1,
                    exclude_actor: true,
                    terminal_ok: true,
                },
            ),
            RollbackMode::TwoPersonApproval => (
                "rollback: two-person-approval".into(),
                Requirement::Approvals {
                    count: 2,
                    exclude_actor: true,
                    terminal_ok: false,
                },
            ),
        },
    }
}

/// Decides from the facts alone; pure, so every path is unit-tested.
pub fn decide_on(facts: &Facts) -> Decision {
    let (rule, requirement) = requirement(&facts.policy, facts.operation);
    let backup_required = facts.operation == Operation::Apply && facts.policy.backup_before_apply;
    let mut decision = Decision {
        environment: facts.environment.clone(),
        operation: facts.operation,
        rule,
        requirement: requirement.clone(),
        allowed: true,
        reason: String::new(),
        backup_required,
        approvers: Vec::new(),
        confirm_on_terminal: None,
        overridden: None,
    };
    match requirement {
        Requirement::None => decision.reason = "no approval needed".into(),
        Requirement::Approvals {
            count,
            exclude_actor,
            terminal_ok,
        } => {
            if facts.in_actions {
                let mut approvers: Vec<String> = facts
                    .approvals
                    .iter()
                    .flatten()
                    .filter(|approval| approval.state == "approved")
                    .filter(|approval| !exclude_actor || !approval.login.eq_ignore_ascii_case(&facts.actor))
                    .map(|approval| approval.login.clone())
                    .collect();
                approvers.sort_by_key(|login| login.to_ascii_lowercase());
                approvers.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
                let who = if exclude_actor {
                    format!(" other than {}", facts.actor)
                } else {
                    String::new()
                };
                decision.allowed = approvers.len() >= count;
                decision.reason = if facts.approvals.is_none() {
                    "the run's environment approvals could not be read".into()
                } else if decision.allowed {
                    format!("approved by {}", approvers.join(", "))
                } else {
                    format!(
                        "needs {count} distinct environment approver(s){who} of this run, found {}: run the job in a GitHub Environment with required reviewers",
                        approvers.len()
                    )
                };
                decision.approvers = approvers;
            } else if terminal_ok && facts.terminal {
                decision.confirm_on_terminal = Some(facts.database_name.clone());
                decision.reason = format!(
                    "needs a person to confirm on a terminal by typing `{}`",
                    facts.database_name
                );
            } else if terminal_ok {
                // Decided here rather than at the prompt, so `plan` says
                // "refused" exactly when `up` would refuse.
                decision.allowed = false;
                decision.reason = format!(
                    "needs a person to confirm on a terminal (type the database name `{}`), and none is attached: run it in GitHub Actions with an environment approval, or at a terminal",
                    facts.database_name
                );
            } else {
                decision.allowed = false;
                decision.reason = format!(
                    "{} needs {count} approvers other than the actor and is refused outside GitHub Actions",
                    decision.rule
                );
            }
        }
    }
    if !decision.allowed
        && let Some(reason) = &facts.override_reason
    {
        decision.allowed = true;
        decision.overridden = Some(reason.clone());
        decision.reason = format!("POLICY OVERRIDDEN ({}): {reason}", decision.reason);
    }
    decision
}

/// Fetches the run's environment approvals from GitHub.
pub async fn fetch_approvals(runtime: &Runtime) -> Result<Vec<Approval>> {
    let context = runtime.context();
    let (owner, repo) = context
        .owner_and_repo()
        .ok_or_else(|| Error::usage("GITHUB_REPOSITORY is not set, so the run's approvals cannot be read"))?;
    let run_id = context
        .run_id
        .as_deref()
        .ok_or_else(|| Error::usage("GITHUB_RUN_ID is not set, so the run's approvals cannot be read"))?;
    let client = GitHubClient::new(GitHubSettings::from_runtime(runtime, None))?;
    #[derive(Deserialize)]
    struct User {
        login: String,
    }
    #[derive(Deserialize)]
    struct RawApproval {
        state: String,
        user: User,
    }
    let raw: Vec<RawApproval> = client
        .request_json(
            Method::GET,
            &format!("/repos/{owner}/{repo}/actions/runs/{run_id}/approvals"),
            None,
        )
        .await?;
    Ok(raw
        .into_iter()
        .map(|approval| Approval {
            login: approval.user.login,
            state: approval.state,
        })
        .collect())
}

/// Gathers the facts (approvals from GitHub when they matter) and decides.
pub async fn decide(session: &Session, operation: Operation, overrides: &OverrideArgs) -> Result<Decision> {
    let policy = session.policy();
    let (_, requirement) = requirement(&policy, operation);
    let in_actions = session.runtime.in_actions();
    let override_reason = if overrides.override_policy {
        let reason = overrides.reason.clone().unwrap_or_default();
        if reason.trim().is_empty() {
            return Err(Error::usage("--override-policy needs a non-empty --reason"));
        }
        Some(reason)
    } else {
        None
    };
    let approvals = if in_actions && requirement != Requirement::None {
        match fetch_approvals(&session.runtime).await {
            Ok(approvals) => Some(approvals),
            // GitHub could not be reached after the retries: an outside
            // failure (exit 3), not a refusal, unless an override was asked
            // for, which is what an override is for.
            Err(error) if error.exit_code() == ExitCode::External && override_reason.is_none() => {
                return Err(Error::external(format!(
                    "cannot read the run's environment approvals: {error}"
                )));
            }
            Err(error) => {
                session.ui.warn(&format!("cannot read the run's approvals: {error}"));
                None
            }
        }
    } else {
        Some(Vec::new())
    };
    Ok(decide_on(&Facts {
        environment: session.environment.clone(),
        policy,
        operation,
        in_actions,
        terminal: std::io::stdin().is_terminal(),
        actor: session.actor.name.clone(),
        approvals,
        database_name: session.url.database_name(),
        override_reason,
    }))
}

/// Turns a decision into go or no-go, asking on the terminal when it must.
pub fn enforce(session: &Session, decision: &Decision) -> Result<()> {
    if !decision.allowed {
        return Err(Refusal::Policy {
            environment: decision.environment.clone(),
            operation: match decision.operation {
                Operation::Apply => "apply",
                Operation::Rollback => "roll back",
            },
            reason: decision.reason.clone(),
        }
        .into());
    }
    if let Some(reason) = &decision.overridden {
        let message = format!(
            "POLICY OVERRIDE by {} for {}: {reason} (recorded in the ledger)",
            session.actor.name, decision.environment
        );
        session
            .runtime
            .warning(&Annotation::new(message.clone()).title("migrate-runner policy override"));
        session.ui.warn(&message);
        return Ok(());
    }
    if let Some(expected) = &decision.confirm_on_terminal {
        // `decide` only asks for a confirmation when stdin is a terminal.
        let stdin = std::io::stdin();
        eprint!(
            "{} on {}: type the database name `{expected}` to continue: ",
            decision.rule,
            session.url.shown()
        );
        let mut answer = String::new();
        stdin
            .read_line(&mut answer)
            .map_err(|error| Error::usage_with("reading the confirmation", error))?;
        if answer.trim() != expected {
            return Err(Refusal::ConfirmationMismatch.into());
        }
    }
    Ok(())
}

/// Records a policy override in the events table.
pub async fn record_override(
    session: &Session,
    connection: &mut Connection,
    decision: &Decision,
    command: &str,
) -> Result<()> {
    if let Some(reason) = &decision.overridden {
        let detail = format!(
            "policy override in {}: {} ({})",
            decision.environment, reason, decision.rule
        );
        connection
            .execute_ledger(&session.ledger.event_sql(&session.actor, command, None, &detail))
            .await?;
    }
    Ok(())
}

/// Where applying needs a review (production), the PostgreSQL lint must
/// pass, or its findings be acknowledged, first.
pub fn lint_gate<'a>(
    session: &Session,
    migrations: impl IntoIterator<Item = &'a Migration>,
    decision: &Decision,
) -> Result<()> {
    let reviewed = session.policy().apply == shipgate_core::config::ApplyMode::ManualWithReview;
    if !reviewed || session.url.dialect() != crate::sql::SqlDialect::Postgres {
        return Ok(());
    }
    let findings = crate::lint::lint_migrations(migrations);
    let blocking = crate::lint::blocking(&findings);
    if blocking == 0 {
        return Ok(());
    }
    let first = findings
        .iter()
        .find(|finding| finding.severity == crate::lint::Severity::Error && !finding.acknowledged)
        .map(|finding| format!("{}:{} [{}]", finding.file, finding.line, finding.rule))
        .unwrap_or_default();
    if decision.overridden.is_some() {
        session.ui.warn(&format!(
            "{blocking} blocking lint finding(s) overridden, first {first}"
        ));
        return Ok(());
    }
    Err(Refusal::LintGate {
        environment: decision.environment.clone(),
        blocking,
        first,
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipgate_core::config::MigrateConfig;

    fn facts(environment: &str, operation: Operation, in_actions: bool, approvals: &[(&str, &str)]) -> Facts {
        Facts {
            environment: environment.into(),
            policy: MigrateConfig::default().policy_for(environment),
            operation,
            in_actions,
            terminal: true,
            actor: "alice".into(),
            approvals: Some(
                approvals
                    .iter()
                    .map(|(login, state)| Approval {
                        login: (*login).into(),
                        state: (*state).into(),
                    })
                    .collect(),
            ),
            database_name: "app_prod".into(),
            override_reason: None,
        }
    }

    #[test]
    fn development_and_staging_apply_automatically() {
        for environment in ["development", "staging"] {
            let decision = decide_on(&facts(environment, Operation::Apply, true, &[]));
            assert!(decision.allowed && !decision.backup_required, "{decision:?}");
        }
        assert!(decide_on(&facts("development", Operation::Rollback, false, &[])).allowed);
    }

    #[test]
    fn production_apply_needs_one_approver_and_a_backup() {
        let denied = decide_on(&facts("production", Operation::Apply, true, &[("bob", "rejected")]));
        assert!(!denied.allowed && denied.backup_required, "{denied:?}");
        let allowed = decide_on(&facts("production", Operation::Apply, true, &[("bob", "approved")]));
        assert!(allowed.allowed, "{allowed:?}");
        assert_eq!(allowed.approvers, ["bob"]);
        let local = decide_on(&facts("production", Operation::Apply, false, &[]));
        assert!(local.allowed, "{local:?}");
        assert_eq!(local.confirm_on_terminal.as_deref(), Some("app_prod"));
    }

    #[test]
    fn production_apply_without_a_terminal_is_refused_by_the_decision_itself() {
        let mut input = facts("production", Operation::Apply, false, &[]);
        input.terminal = false;
        let refused = decide_on(&input);
        assert!(!refused.allowed, "{refused:?}");
        assert_eq!(refused.confirm_on_terminal, None);
        assert!(refused.reason.contains("none is attached"), "{}", refused.reason);
        input.override_reason = Some("INC-9".into());
        assert!(decide_on(&input).allowed, "an override still lets it through");
    }

    #[test]
    fn production_rollback_needs_two_people_besides_the_actor() {
        let one = decide_on(&facts(
            "production",
            Operation::Rollback,
            true,
            &[("alice", "approved"), ("bob", "approved"), ("BOB", "approved")],
        ));
        assert!(!one.allowed, "{one:?}");
        let two = decide_on(&facts(
            "production",
            Operation::Rollback,
            true,
            &[("alice", "approved"), ("bob", "approved"), ("carol", "approved")],
        ));
        assert!(two.allowed, "{two:?}");
        assert_eq!(two.approvers, ["bob", "carol"]);
        let local = decide_on(&facts("production", Operation::Rollback, false, &[]));
        assert!(
            !local.allowed && local.reason.contains("refused outside GitHub Actions"),
            "{local:?}"
        );
    }

    #[test]
    fn staging_rollback_needs_one_approver_other_than_the_actor() {
        assert!(!decide_on(&facts("staging", Operation::Rollback, true, &[("alice", "approved")])).allowed);
        assert!(decide_on(&facts("staging", Operation::Rollback, true, &[("bob", "approved")])).allowed);
    }

    #[test]
    fn unknown_environments_get_the_production_policy() {
        assert!(!decide_on(&facts("qa", Operation::Rollback, true, &[])).allowed);
    }

    #[test]
    fn an_override_allows_and_says_so() {
        let mut input = facts("production", Operation::Rollback, false, &[]);
        input.override_reason = Some("incident 42".into());
        let decision = decide_on(&input);
        assert!(decision.allowed);
        assert_eq!(decision.overridden.as_deref(), Some("incident 42"));
        assert!(decision.reason.starts_with("POLICY OVERRIDDEN"), "{}", decision.reason);
    }
}
