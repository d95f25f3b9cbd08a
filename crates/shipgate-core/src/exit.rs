//! Exit codes and the error type every shipgate library returns.
//!
//! The codes are the contract with workflows and hooks: a script can tell a
//! failed verdict (1) from a mistake in how it called us (2) from an outage
//! somewhere else (3) without parsing text.
//!
//! One way to say "no": every failed check is an `Err(Error::CheckFailed)`
//! that reaches [`crate::cli::main_entry`], the single exit path; a command
//! that printed its own report ends with [`verdict`] (see [`Error`]).

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
    /// The number the process exits with.
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

/// What went wrong and, when something else caused it, that cause.
///
/// Its text is the message, then `": "` and the cause's text when there is
/// a cause (`cannot read x.toml: No such file or directory`), or only the
/// cause's text when the message is empty; [`std::error::Error::source`]
/// gives the cause itself, so callers can inspect it instead of parsing
/// text.
#[derive(Debug)]
pub struct Failure {
    message: String,
    source: Option<Source>,
    reported: bool,
}

/// A cause an [`Error`] carries.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

impl Failure {
    fn new(message: String, source: Option<Source>) -> Self {
        Failure {
            message,
            source,
            reported: false,
        }
    }

    /// The message without its cause's text.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.source, self.message.is_empty()) {
            (None, _) => f.write_str(&self.message),
            (Some(source), true) => write!(f, "{source}"),
            (Some(source), false) => write!(f, "{}: {source}", self.message),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// An error that knows which exit code it deserves, and keeps its cause.
///
/// # Saying "the check failed"
///
/// Every "no" is an `Err(Error::CheckFailed(..))` that travels up to
/// [`crate::cli::main_entry`], the one exit path, which prints the error
/// line and writes the one `::error` annotation. A command that has
/// already reported its verdict itself (its table, one annotation per
/// finding, its outputs) returns [`Error::check_reported`] instead, so the
/// exit path adds nothing to what the command printed. Commands return
/// `Ok(ExitCode::Ok)` only when they succeed; `Ok` with any other code is
/// never used.
///
/// # Keeping the cause
///
/// Wrap a lower-level error with [`Error::usage_with`] and its siblings, or
/// the [`Context`] methods on a `Result`, instead of formatting it into the
/// message: the text stays the same (`message: cause`), and
/// [`std::error::Error::source`] and [`Error::find`] still reach the cause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A check or policy said no.
    #[error(transparent)]
    CheckFailed(Failure),
    /// The caller gave us something we cannot use: flags, config, input files.
    #[error(transparent)]
    Usage(Failure),
    /// Something outside us failed, after the retries the policy allows.
    #[error(transparent)]
    External(Failure),
}

impl Error {
    /// A check or policy said no, for the reason `message`.
    pub fn check(message: impl Into<String>) -> Self {
        Error::CheckFailed(Failure::new(message.into(), None))
    }

    /// The caller gave us something we cannot use, as `message` says.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(Failure::new(message.into(), None))
    }

    /// Something outside us failed, as `message` says.
    pub fn external(message: impl Into<String>) -> Self {
        Error::External(Failure::new(message.into(), None))
    }

    /// [`Error::check`] caused by `source`; reads `message: source`.
    pub fn check_with(message: impl Into<String>, source: impl Into<Source>) -> Self {
        Error::CheckFailed(Failure::new(message.into(), Some(source.into())))
    }

    /// [`Error::usage`] caused by `source`; reads `message: source`.
    pub fn usage_with(message: impl Into<String>, source: impl Into<Source>) -> Self {
        Error::Usage(Failure::new(message.into(), Some(source.into())))
    }

    /// [`Error::external`] caused by `source`; reads `message: source`.
    pub fn external_with(message: impl Into<String>, source: impl Into<Source>) -> Self {
        Error::External(Failure::new(message.into(), Some(source.into())))
    }

    /// A check failed for a typed reason (one callers can [`Error::find`]);
    /// reads as `reason` alone.
    pub fn check_from(reason: impl Into<Source>) -> Self {
        Error::check_with(String::new(), reason)
    }

    /// The command has already reported its "no" (its report, annotations
    /// and outputs), so the exit path only sets the exit code: no error
    /// line, no further `::error`, no `error` in the `--json` envelope.
    pub fn check_reported() -> Self {
        Error::CheckFailed(Failure {
            message: "the check failed; the report above says why".to_owned(),
            source: None,
            reported: true,
        })
    }

    /// Whether this is [`Error::check_reported`].
    pub fn is_reported(&self) -> bool {
        self.failure().reported
    }

    /// The exit code this error deserves.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::CheckFailed(_) => ExitCode::CheckFailed,
            Error::Usage(_) => ExitCode::Usage,
            Error::External(_) => ExitCode::External,
        }
    }

    /// The message and cause, whatever the kind.
    pub fn failure(&self) -> &Failure {
        match self {
            Error::CheckFailed(failure) | Error::Usage(failure) | Error::External(failure) => failure,
        }
    }

    /// The message without its cause's text.
    pub fn message(&self) -> &str {
        self.failure().message()
    }

    /// The first cause of type `T` in this error's chain, for callers that
    /// branch on what went wrong rather than on the text.
    pub fn find<T: std::error::Error + 'static>(&self) -> Option<&T> {
        let mut current = std::error::Error::source(self.failure());
        while let Some(cause) = current {
            if let Some(found) = cause.downcast_ref::<T>() {
                return Some(found);
            }
            current = cause.source();
        }
        None
    }

    /// The same error with its message rewritten by `rewrite` (for example
    /// redacted); the kind and the cause stay.
    pub fn map_message(self, rewrite: impl FnOnce(&str) -> String) -> Self {
        let remake = |failure: Failure| Failure {
            message: rewrite(&failure.message),
            ..failure
        };
        match self {
            Error::CheckFailed(failure) => Error::CheckFailed(remake(failure)),
            Error::Usage(failure) => Error::Usage(remake(failure)),
            Error::External(failure) => Error::External(remake(failure)),
        }
    }
}

/// Wraps the error of a `Result` in a shipgate [`Error`] that keeps it as
/// its cause: `fs::read(path).context_usage(format!("cannot read {path}"))?`
/// reads `cannot read x: No such file or directory`, exactly as
/// `format!("cannot read {path}: {e}")` did, and still has the `io::Error`.
pub trait Context<T> {
    /// A usage, config or input error caused by this one.
    fn context_usage(self, message: impl Into<String>) -> Result<T>;
    /// An outside failure caused by this one.
    fn context_external(self, message: impl Into<String>) -> Result<T>;
    /// A "no" caused by this one.
    fn context_check(self, message: impl Into<String>) -> Result<T>;
    /// [`Context::context_usage`] with the message built only on error.
    fn with_context_usage(self, message: impl FnOnce() -> String) -> Result<T>;
    /// [`Context::context_external`] with the message built only on error.
    fn with_context_external(self, message: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E> Context<T> for std::result::Result<T, E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn context_usage(self, message: impl Into<String>) -> Result<T> {
        self.map_err(|source| Error::usage_with(message, source))
    }

    fn context_external(self, message: impl Into<String>) -> Result<T> {
        self.map_err(|source| Error::external_with(message, source))
    }

    fn context_check(self, message: impl Into<String>) -> Result<T> {
        self.map_err(|source| Error::check_with(message, source))
    }

    fn with_context_usage(self, message: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::usage_with(message(), source))
    }

    fn with_context_external(self, message: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::external_with(message(), source))
    }
}

/// How a command that has reported its own verdict (its table, its
/// annotations, its outputs) ends: `Ok(ExitCode::Ok)` when it passed, else
/// [`Error::check_reported`], so the exit path sets code 1 and prints
/// nothing more.
pub fn verdict(passed: bool) -> Result<ExitCode> {
    if passed {
        Ok(ExitCode::Ok)
    } else {
        Err(Error::check_reported())
    }
}

/// A `Result` whose error is shipgate's [`Error`].
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

    #[test]
    fn wrapped_causes_read_as_before_and_stay_reachable() {
        let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let error = Error::usage_with("cannot read shipgate.toml", missing);
        assert_eq!(
            error.to_string(),
            "cannot read shipgate.toml: No such file or directory"
        );
        assert_eq!(error.message(), "cannot read shipgate.toml");
        assert_eq!(error.exit_code(), ExitCode::Usage);
        let cause = error.find::<std::io::Error>().expect("the io::Error is kept");
        assert_eq!(cause.kind(), std::io::ErrorKind::NotFound);
        let source = std::error::Error::source(&error).expect("a source");
        assert_eq!(source.to_string(), "No such file or directory");

        let read: std::result::Result<(), std::io::Error> = Err(std::io::Error::other("connection reset"));
        let error = read.context_external("cannot reach origin").unwrap_err();
        assert_eq!(error.to_string(), "cannot reach origin: connection reset");
        assert_eq!(error.exit_code(), ExitCode::External);
    }

    #[test]
    fn typed_reasons_read_as_themselves_and_can_be_found() {
        #[derive(Debug, thiserror::Error, PartialEq)]
        #[error("applied migration(s) 3 changed")]
        struct Drift(u32);
        let error = Error::check_from(Drift(3));
        assert_eq!(error.to_string(), "applied migration(s) 3 changed");
        assert_eq!(error.find::<Drift>(), Some(&Drift(3)));
        assert_eq!(error.exit_code(), ExitCode::CheckFailed);
        assert!(!error.is_reported());
        assert!(Error::check_reported().is_reported());
        let redacted =
            Error::external_with("token abc", std::io::Error::other("down")).map_message(|m| m.replace("abc", "***"));
        assert_eq!(redacted.to_string(), "token ***: down");
        assert_eq!(redacted.exit_code(), ExitCode::External);
    }
}
