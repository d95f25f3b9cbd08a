//! Why migrate-runner refuses to change a database.
//!
//! Each refusal is a "no" (exit 1) that callers can tell apart without
//! reading its text: `plan` turns a lint-gate refusal into the plan's
//! policy verdict, for example. They travel as the cause of an
//! [`Error::CheckFailed`](shipgate_core::exit::Error::CheckFailed), built
//! with [`Refusal::into_error`] and found again with
//! [`Error::find`](shipgate_core::exit::Error::find).

use shipgate_core::exit::Error;

/// A refusal to change the database, with what the user can do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Applied migrations whose files changed since (checksum drift).
    #[error(
        "applied migration(s) {} changed since they were applied (checksum drift): restore the files, `repair --accept-checksum`, or pass --allow-drift",
        versions.join(", ")
    )]
    Drift {
        /// The drifted versions, in order.
        versions: Vec<String>,
    },
    /// Pending migrations older than the newest applied one.
    #[error(
        "pending migration(s) {} are older than the newest applied one ({current}): pass --allow-out-of-order to apply them",
        versions.join(", ")
    )]
    OutOfOrder {
        /// The out-of-order versions, in order.
        versions: Vec<String>,
        /// The newest applied version, `?` when unknown.
        current: String,
    },
    /// The environment's policy says no.
    #[error("policy for {environment} refuses to {operation}: {reason}")]
    Policy {
        /// The environment the policy belongs to.
        environment: String,
        /// `apply` or `roll back`.
        operation: &'static str,
        /// Why, in the policy's words.
        reason: String,
    },
    /// The person at the terminal typed another database name.
    #[error("confirmation did not match the database name; nothing was changed")]
    ConfirmationMismatch,
    /// A reviewed environment needs a clean migration lint first.
    #[error(
        "{environment} needs a clean migration lint: {blocking} blocking finding(s), first {first}; fix them or acknowledge with `-- shipgate:lint-ignore <rule>` (see `migrate-runner lint`)"
    )]
    LintGate {
        /// The environment that asks for the review.
        environment: String,
        /// How many blocking findings the lint has.
        blocking: usize,
        /// The first one, as `file:line [rule]`.
        first: String,
    },
}

impl Refusal {
    /// The "no" this refusal is: exit 1, reading as the refusal itself.
    pub fn into_error(self) -> Error {
        Error::check_from(self)
    }
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        refusal.into_error()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_as_before_and_are_found_by_kind() {
        let error = Refusal::Drift {
            versions: vec!["1".into(), "3".into()],
        }
        .into_error();
        assert_eq!(
            error.to_string(),
            "applied migration(s) 1, 3 changed since they were applied (checksum drift): restore the files, `repair --accept-checksum`, or pass --allow-drift"
        );
        assert_eq!(error.exit_code(), shipgate_core::exit::ExitCode::CheckFailed);
        assert!(matches!(error.find::<Refusal>(), Some(Refusal::Drift { versions }) if versions.len() == 2));
        assert!(Error::check("other").find::<Refusal>().is_none());
    }
}
