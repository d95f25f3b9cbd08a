//! The baseline: findings a team accepted, each until a date and for a
//! reason. An entry names a finding by one of its fingerprints (SARIF
//! `partialFingerprints`, which survive line moves), or by rule and
//! location (`path:line`, or `path` for the whole file). From the day after
//! `expires` an entry no longer suppresses anything, and the report says so.
//!
//! ```toml
//! [[accepted]]
//! fingerprint = "4a1c2e9f0b7d3a65:1"
//! expires = 2026-06-30
//! reason = "internal tool, input is trusted; ticket SEC-12"
//!
//! [[accepted]]
//! rule = "B101"
//! location = "app/views.py:26"
//! expires = 2026-03-31
//! reason = "asserts are stripped only with -O; rewrite planned"
//! ```

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use shipgate_core::exit::{Error, Result};

use super::sarif::Finding;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    accepted: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    tool: Option<String>,
    expires: DateValue,
    reason: String,
}

/// `expires = 2026-06-30` (a TOML date) or `expires = "2026-06-30"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DateValue {
    Date(toml::value::Datetime),
    Text(String),
}

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// 1-based position in the file, for messages.
    pub number: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub expires: NaiveDate,
    pub reason: String,
}

impl Entry {
    /// Whether this entry names `finding`.
    pub fn matches(&self, finding: &Finding) -> bool {
        if self
            .tool
            .as_ref()
            .is_some_and(|tool| !tool.eq_ignore_ascii_case(&finding.tool))
        {
            return false;
        }
        if let Some(fingerprint) = &self.fingerprint {
            return finding.fingerprints.iter().any(|f| f == fingerprint);
        }
        let (Some(rule), Some(location)) = (&self.rule, &self.location) else {
            return false;
        };
        if *rule != finding.rule {
            return false;
        }
        let Some(found) = &finding.location else {
            return false;
        };
        *location == found.display() || *location == found.path
    }

    /// Still suppressing on `today`: through the day it expires.
    pub fn active(&self, today: NaiveDate) -> bool {
        today <= self.expires
    }

    /// How the entry names its finding, for the report.
    pub fn describe(&self) -> String {
        match (&self.fingerprint, &self.rule, &self.location) {
            (Some(fingerprint), _, _) => format!("fingerprint {fingerprint}"),
            (None, Some(rule), Some(location)) => format!("{rule} at {location}"),
            _ => String::new(),
        }
    }
}

/// A loaded baseline file.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

impl Baseline {
    /// Reads `path`; every problem is a usage error naming the file and the entry.
    pub fn load(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::usage_with(format!("cannot read the baseline {}", path.display()), e))?;
        Baseline::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Baseline> {
        let file: File = toml::from_str(text).map_err(|e| {
            let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
            let line = e
                .span()
                .map(|span| format!(":{}", text[..span.start.min(text.len())].lines().count().max(1)))
                .unwrap_or_default();
            Error::usage(format!("baseline {}{line}: {message}", path.display()))
        })?;
        let entries = file
            .accepted
            .into_iter()
            .enumerate()
            .map(|(index, raw)| entry(index + 1, raw, path))
            .collect::<Result<Vec<_>>>()?;
        Ok(Baseline {
            path: path.to_path_buf(),
            entries,
        })
    }
}

fn entry(number: usize, raw: RawEntry, path: &Path) -> Result<Entry> {
    let fail = |message: String| Error::usage_with(format!("baseline {}: entry {number}", path.display()), message);
    if raw.fingerprint.is_none() && (raw.rule.is_none() || raw.location.is_none()) {
        return Err(fail(
            "name the finding with `fingerprint`, or with `rule` and `location`".into(),
        ));
    }
    if raw.reason.trim().is_empty() {
        return Err(fail("`reason` is empty: say why the finding is accepted".into()));
    }
    let text = match &raw.expires {
        DateValue::Date(date) => date.to_string(),
        DateValue::Text(text) => text.clone(),
    };
    let expires = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| fail(format!("`expires` must be a date like 2026-06-30, not `{text}`")))?;
    Ok(Entry {
        number,
        fingerprint: raw.fingerprint,
        rule: raw.rule,
        location: raw.location,
        tool: raw.tool,
        expires,
        reason: raw.reason.trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<Baseline, String> {
        Baseline::parse(text, Path::new("scan-baseline.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn an_entry_needs_what_it_names_a_reason_and_a_date() {
        assert_eq!(
            parse("[[accepted]]\nrule = \"B101\"\nexpires = 2026-01-01\nreason = \"x\"\n").unwrap_err(),
            "baseline scan-baseline.toml: entry 1: name the finding with `fingerprint`, or with `rule` and `location`"
        );
        assert_eq!(
            parse("[[accepted]]\nfingerprint = \"a\"\nexpires = 2026-01-01\nreason = \" \"\n").unwrap_err(),
            "baseline scan-baseline.toml: entry 1: `reason` is empty: say why the finding is accepted"
        );
        assert_eq!(
            parse("[[accepted]]\nfingerprint = \"a\"\nexpires = \"soon\"\nreason = \"r\"\n").unwrap_err(),
            "baseline scan-baseline.toml: entry 1: `expires` must be a date like 2026-06-30, not `soon`"
        );
        let error = parse("[[accepted]]\nfingerprint = \"a\"\nreason = \"r\"\n").unwrap_err();
        assert!(
            error.starts_with("baseline scan-baseline.toml:1: missing field `expires`"),
            "{error}"
        );
    }

    #[test]
    fn an_entry_suppresses_through_its_expiry_day() {
        let baseline = parse("[[accepted]]\nfingerprint = \"a\"\nexpires = \"2026-06-30\"\nreason = \"r\"\n").unwrap();
        let entry = &baseline.entries[0];
        let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
        assert!(entry.active(day("2026-06-30")));
        assert!(!entry.active(day("2026-07-01")));
    }
}
