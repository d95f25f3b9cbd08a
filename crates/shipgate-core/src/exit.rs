//! Exit codes and the error type every shipgate library returns.
//!
//! The codes are the contract with workflows and hooks: a script can tell a
//! failed verdict (1) from a mistake in how it called us (2) from an outage
//! somewhere else (3) without parsing text.

use std::fmt;

/// The process exit codes shared by all five tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExitCode {
    /// Everything passed.
    Ok = 0,
    /// A check or policy failed: the tool ran fine and its verdict is "no".
    CheckFailed = 1,
    /// Bad usage, configuration or input.
    Usage = 2,
    /// An external system (network, database, GitHub) failed after retries.
    External = 3,
}

impl ExitCode {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The worse of two outcomes, so a command that runs several checks
    /// reports the most serious one.
    pub fn worst(self, other: ExitCode) -> ExitCode {
        self.max(other)
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}

impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ExitCode::Ok => "ok",
            ExitCode::CheckFailed => "check failed",
            ExitCode::Usage => "usage error",
            ExitCode::External => "external failure",
        };
        write!(f, "{} ({name})", self.code())
    }
}

/// An error that knows which exit code it deserves.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A check or policy said no.
    #[error("{0}")]
    CheckFailed(String),
    /// The caller gave us something we cannot use: flags, config, input files.
    #[error("{0}")]
    Usage(String),
    /// Something outside us failed, after the retries the policy allows.
    #[error("{0}")]
    External(String),
}

impl Error {
    pub fn check(message: impl Into<String>) -> Self {
        Error::CheckFailed(message.into())
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    pub fn external(message: impl Into<String>) -> Self {
        Error::External(message.into())
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::CheckFailed(_) => ExitCode::CheckFailed,
            Error::Usage(_) => ExitCode::Usage,
            Error::External(_) => ExitCode::External,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The exit code for any error chain: the first shipgate [`Error`] in the
/// chain decides; anything unclassified is treated as bad input (2), because
/// external calls are always wrapped and classified where they are made.
pub fn exit_code_for(error: &(dyn std::error::Error + 'static)) -> ExitCode {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(err) = current {
        if let Some(ours) = err.downcast_ref::<Error>() {
            return ours.exit_code();
        }
        current = err.source();
    }
    ExitCode::Usage
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_documented_table() {
        assert_eq!(ExitCode::Ok.code(), 0);
        assert_eq!(ExitCode::CheckFailed.code(), 1);
        assert_eq!(ExitCode::Usage.code(), 2);
        assert_eq!(ExitCode::External.code(), 3);
    }

    #[test]
    fn worst_prefers_the_more_serious_outcome() {
        assert_eq!(ExitCode::Ok.worst(ExitCode::CheckFailed), ExitCode::CheckFailed);
        assert_eq!(ExitCode::External.worst(ExitCode::Usage), ExitCode::External);
    }

    #[test]
    fn classified_errors_keep_their_code_through_a_chain() {
        #[derive(Debug, thiserror::Error)]
        #[error("wrapped")]
        struct Wrapper(#[source] Error);
        let wrapped = Wrapper(Error::external("GitHub answered 502 three times"));
        assert_eq!(exit_code_for(&wrapped), ExitCode::External);
        let plain = std::io::Error::other("nope");
        assert_eq!(exit_code_for(&plain), ExitCode::Usage);
    }
}
