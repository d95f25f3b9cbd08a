//! How lint verdicts are shown: commitlint-style text lines, `--json`,
//! step outputs (`passed`, `violations`) and annotations carrying the sha.

use serde::Serialize;
use shipgate_core::actions::{Annotation, AnnotationLevel, Runtime};
use shipgate_core::exit::{Error, Result};

use crate::lint::{Finding, Severity};

/// One finding tied to what it was found on, as the `violations` output lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The commit's full sha; `None` for a message or title given directly.
    pub sha: Option<String>,
    /// What was checked: a commit header, `pull request title`, a branch name...
    pub subject: String,
    pub rule: String,
    pub severity: Severity,
    pub message: String,
}

impl Violation {
    pub fn from_finding(sha: Option<&str>, subject: &str, finding: &Finding) -> Self {
        Violation {
            sha: sha.map(str::to_string),
            subject: subject.to_string(),
            rule: finding.rule.to_string(),
            severity: finding.severity,
            message: finding.message.clone(),
        }
    }

    /// A policy failure that is not a lint rule (a branch name, a flow edge...).
    pub fn policy(rule: &str, subject: &str, message: impl Into<String>) -> Self {
        Violation {
            sha: None,
            subject: subject.to_string(),
            rule: rule.to_string(),
            severity: Severity::Error,
            message: message.into(),
        }
    }
}

/// `count` of `noun`: "1 finding", "2 findings".
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// commitlint's line format: `✖ message [rule]` or `⚠ message [rule]`.
pub fn finding_line(finding: &Finding) -> String {
    let mark = match finding.severity {
        Severity::Error => "✖",
        Severity::Warning => "⚠",
    };
    format!("{mark}   {} [{}]", finding.message, finding.rule)
}

/// `found 1 problems, 0 warnings`, counted over `violations`.
pub fn totals_line(violations: &[Violation]) -> String {
    let errors = violations.iter().filter(|v| v.severity == Severity::Error).count();
    let warnings = violations.len() - errors;
    let mark = if errors > 0 { "✖" } else { "⚠" };
    format!("{mark}   found {errors} problems, {warnings} warnings")
}

/// Annotates each violation (errors as errors, warnings as warnings), titled with the short sha.
/// Only in Actions: elsewhere the text report already says it all.
pub fn annotate(runtime: &Runtime, violations: &[Violation]) {
    if !runtime.in_actions() {
        return;
    }
    for violation in violations {
        let level = match violation.severity {
            Severity::Error => AnnotationLevel::Error,
            Severity::Warning => AnnotationLevel::Warning,
        };
        let title = match &violation.sha {
            Some(sha) => format!("commit {} [{}]", &sha[..sha.len().min(7)], violation.rule),
            None => format!("{} [{}]", violation.subject, violation.rule),
        };
        let message = match &violation.sha {
            Some(sha) => format!("{sha} \"{}\": {}", violation.subject, violation.message),
            None => violation.message.clone(),
        };
        runtime.annotate(level, &Annotation::new(message).title(title));
    }
}

/// Sets the `passed` and `violations` step outputs.
pub fn set_outputs(runtime: &Runtime, passed: bool, violations: &[Violation]) -> Result<()> {
    runtime.set_output("passed", if passed { "true" } else { "false" })?;
    let json = serde_json::to_string(violations).map_err(|e| Error::usage_with("cannot encode JSON", e))?;
    runtime.set_output("violations", &json)
}

/// Serialises a `--json` document.
pub fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::usage_with("cannot encode JSON", e))
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn one_is_counted_in_the_singular() {
        assert_eq!(plural(1, "commit"), "1 commit");
        assert_eq!(plural(0, "commit"), "0 commits");
        assert_eq!(plural(110, "finding"), "110 findings");
    }
}
