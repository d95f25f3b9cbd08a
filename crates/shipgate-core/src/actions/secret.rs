//! [`Secret`]: a value registered for redaction (and masked in Actions)
//! when it is created, and never printed.

use std::fmt;

use super::sink::{Sink, mask_on};

/// A secret value: registered for redaction when created, printed as `***`
/// by `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value` and registers it for redaction. When this process runs
    /// in GitHub Actions the runner is told to mask it as well.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        let in_actions = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
        mask_on(&Sink::Process, in_actions, &value);
        Secret(value)
    }

    /// Wraps a value whose secret parts were registered on their own (a
    /// database URL whose password is masked): it prints as `***`, but the
    /// value as a whole is not redacted, so its other parts stay readable.
    pub fn with_masked_parts(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it somewhere.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
