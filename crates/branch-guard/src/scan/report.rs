//! How a scan is shown: text lines, `--json`, the job summary (a table by
//! tool, severity and rule, linking each location on the commit that was
//! scanned) and line annotations, capped as GitHub caps them.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use serde_json::json;
use shipgate_core::actions::{Annotation, AnnotationLevel, Runtime, Summary};

use super::sarif::SourceLocation;
use super::severity::Severity;
use super::{Assessed, Outcome, Status};
use crate::report::plural;

/// GitHub shows at most 10 error and 10 warning annotations per step; the
/// rest are listed in the summary instead of being lost.
pub const ANNOTATIONS_PER_LEVEL: usize = 10;

/// Locations listed per row of the summary table before "+N more".
const LOCATIONS_PER_ROW: usize = 5;

/// Where locations link to: `{server}/{owner}/{repo}/blob/{sha}/`.
#[derive(Debug, Clone, Default)]
pub struct Links {
    blob_base: Option<String>,
}

impl Links {
    /// From `GITHUB_SERVER_URL`, `GITHUB_REPOSITORY` and the commit scanned.
    pub fn from_runtime(runtime: &Runtime, sha: Option<String>) -> Links {
        let context = runtime.context();
        let blob_base = match (context.repository, sha) {
            (Some(repository), Some(sha)) => Some(format!("{}/{repository}/blob/{sha}/", context.server_url)),
            _ => None,
        };
        Links { blob_base }
    }

    /// The link to a location's lines, when it is a file of the repository.
    pub fn url(&self, location: &SourceLocation) -> Option<String> {
        let base = self.blob_base.as_ref()?;
        if location.path.starts_with('/') || location.path.contains("://") {
            return None;
        }
        let path: String = location
            .path
            .split('/')
            .map(shipgate_core::url_redaction::encode_component)
            .collect::<Vec<_>>()
            .join("/");
        let lines = match (location.start_line, location.end_line) {
            (Some(start), Some(end)) if end > start => format!("#L{start}-L{end}"),
            (Some(start), _) => format!("#L{start}"),
            _ => String::new(),
        };
        Some(format!("{base}{path}{lines}"))
    }

    /// `[path:line](url)`, or the location in backticks without a link.
    fn markdown(&self, location: Option<&SourceLocation>) -> String {
        match location {
            Some(location) => match self.url(location) {
                Some(url) => format!("[{}]({url})", location.display().replace(['[', ']'], "")),
                None => format!("`{}`", location.display()),
            },
            None => "(no location)".to_string(),
        }
    }
}

fn status_counts(outcome: &Outcome) -> String {
    let mut text = format!(
        "{} at or above {}, {} below",
        plural(outcome.count(Status::Failing), "finding"),
        Severity::from(outcome.threshold).as_str(),
        outcome.count(Status::Below)
    );
    if outcome.baseline.is_some() {
        text.push_str(&format!(
            ", {} accepted by the baseline",
            outcome.count(Status::Accepted)
        ));
    }
    if outcome.suppressed_in_source > 0 {
        text.push_str(&format!(", {} suppressed in the source", outcome.suppressed_in_source));
    }
    text
}

fn location_text(assessed: &Assessed) -> String {
    assessed
        .finding
        .location
        .as_ref()
        .map(SourceLocation::display)
        .unwrap_or_else(|| "(no location)".to_string())
}

/// Lines for a terminal: one per finding, the expired baseline entries, and the totals.
pub fn text(outcome: &Outcome) -> String {
    let mut out = String::new();
    for assessed in &outcome.findings {
        let finding = &assessed.finding;
        let mark = match assessed.status {
            Status::Failing => "✖",
            Status::Below => "⚠",
            Status::Accepted => "✔",
        };
        out.push_str(&format!(
            "{mark} {:<8} {}  {} [{}]  {}",
            finding.severity.as_str(),
            location_text(assessed),
            finding.rule,
            finding.tool,
            first_line(&finding.message)
        ));
        if let Some(number) = assessed.accepted_by {
            out.push_str(&format!("  (accepted by baseline entry {number})"));
        }
        out.push('\n');
    }
    if let Some(baseline) = &outcome.baseline {
        for expired in &baseline.expired {
            out.push_str(&format!("⚠ {}\n", expired_line(expired)));
        }
    }
    let mark = if outcome.passed() { "✔" } else { "✖" };
    out.push_str(&format!("{mark} {}\n", status_counts(outcome)));
    out
}

fn expired_line(expired: &super::EntryUse) -> String {
    format!(
        "baseline entry {} ({}) expired on {} and no longer suppresses: {} (reason was: {})",
        expired.entry.number,
        expired.entry.describe(),
        expired.entry.expires,
        match expired.matched {
            0 => "it names no finding of this scan".to_string(),
            n => format!("{} counted again", plural(n, "finding")),
        },
        expired.entry.reason
    )
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or_default()
}

/// Which findings get an annotation: the most severe first, at most
/// [`ANNOTATIONS_PER_LEVEL`] errors (failing findings) and as many warnings
/// (findings below the threshold). Accepted findings get none.
pub fn annotated(outcome: &Outcome) -> Vec<bool> {
    let mut errors = 0;
    let mut warnings = 0;
    outcome
        .findings
        .iter()
        .map(|assessed| {
            let counter = match assessed.status {
                Status::Failing => &mut errors,
                Status::Below => &mut warnings,
                Status::Accepted => return false,
            };
            *counter += 1;
            *counter <= ANNOTATIONS_PER_LEVEL
        })
        .collect()
}

/// Annotates the findings on their lines, in Actions only.
pub fn annotate(runtime: &Runtime, outcome: &Outcome) {
    if !runtime.in_actions() {
        return;
    }
    for (assessed, annotate) in outcome.findings.iter().zip(annotated(outcome)) {
        if !annotate {
            continue;
        }
        let finding = &assessed.finding;
        let level = if assessed.status == Status::Failing {
            AnnotationLevel::Error
        } else {
            AnnotationLevel::Warning
        };
        let mut annotation = Annotation::new(finding.message.clone()).title(format!(
            "{} {} ({})",
            finding.severity.as_str(),
            finding.rule,
            finding.tool
        ));
        if let Some(location) = &finding.location {
            annotation = annotation.file(location.path.clone());
            if let Some(line) = location.start_line {
                annotation = annotation.line(line);
                if let Some(end) = location.end_line.filter(|end| *end > line) {
                    annotation = annotation.end_line(end);
                }
                if let Some(col) = location.column {
                    annotation = annotation.col(col);
                }
            }
        }
        runtime.annotate(level, &annotation);
    }
}

/// The job summary.
pub fn summary(outcome: &Outcome, links: &Links) -> String {
    let mut summary = Summary::new();
    let verdict = if outcome.passed() { "passed" } else { "failed" };
    summary.heading(3, &format!("Security scan {verdict}"));
    let files: Vec<String> = outcome.files.iter().map(|f| format!("`{f}`")).collect();
    summary.paragraph(&format!("{}. SARIF: {}.", status_counts(outcome), files.join(", ")));

    let mut groups: BTreeMap<(Reverse<u8>, Severity, String, String), Vec<&Assessed>> = BTreeMap::new();
    for assessed in outcome.findings.iter().filter(|a| a.status != Status::Accepted) {
        let finding = &assessed.finding;
        // Bandit's `B602 subprocess_popen_with_shell_equals_true` says more
        // than `B602`; Semgrep's ids already end with the name.
        let rule = match &finding.rule_name {
            Some(name) if !finding.rule.ends_with(name.as_str()) => format!("{} {name}", finding.rule),
            _ => finding.rule.clone(),
        };
        groups
            .entry((
                Reverse(finding.severity.rank()),
                finding.severity,
                finding.tool.clone(),
                rule,
            ))
            .or_default()
            .push(assessed);
    }
    if !groups.is_empty() {
        let rows: Vec<Vec<String>> = groups
            .iter()
            .map(|((_, severity, tool, rule), members)| {
                let mut locations: Vec<String> = members
                    .iter()
                    .take(LOCATIONS_PER_ROW)
                    .map(|a| links.markdown(a.finding.location.as_ref()))
                    .collect();
                if members.len() > LOCATIONS_PER_ROW {
                    locations.push(format!("+{} more", members.len() - LOCATIONS_PER_ROW));
                }
                let verdict = if members[0].status == Status::Failing {
                    "✖ fails"
                } else {
                    "below"
                };
                vec![
                    tool.clone(),
                    severity.as_str().to_string(),
                    rule.clone(),
                    verdict.to_string(),
                    members.len().to_string(),
                    locations.join(", "),
                ]
            })
            .collect();
        summary.table(&["tool", "severity", "rule", "gate", "findings", "locations"], &rows);
    }

    let unannotated: Vec<Vec<String>> = outcome
        .findings
        .iter()
        .zip(annotated(outcome))
        .filter(|(a, annotated)| a.status != Status::Accepted && !annotated)
        .map(|(a, _)| {
            vec![
                a.finding.severity.as_str().to_string(),
                links.markdown(a.finding.location.as_ref()),
                format!("{} ({})", a.finding.rule, a.finding.tool),
                first_line(&a.finding.message).to_string(),
            ]
        })
        .collect();
    if !unannotated.is_empty() {
        summary.heading(4, "Not annotated");
        summary.paragraph(&format!(
            "GitHub shows {ANNOTATIONS_PER_LEVEL} error and {ANNOTATIONS_PER_LEVEL} warning annotations per step; these {} findings are only listed here.",
            unannotated.len()
        ));
        summary.table(&["severity", "location", "rule", "message"], &unannotated);
    }

    if let Some(baseline) = &outcome.baseline {
        summary.heading(4, &format!("Baseline `{}`", baseline.path));
        let accepted: Vec<Vec<String>> = outcome
            .findings
            .iter()
            .filter(|a| a.status == Status::Accepted)
            .map(|a| {
                let entry = a.accepted_by.unwrap_or_default();
                vec![
                    links.markdown(a.finding.location.as_ref()),
                    format!("{} ({})", a.finding.rule, a.finding.tool),
                    a.finding.severity.as_str().to_string(),
                    format!("entry {entry}"),
                ]
            })
            .collect();
        if accepted.is_empty() {
            summary.paragraph("No finding of this scan is accepted.");
        } else {
            summary.table(&["location", "rule", "severity", "accepted by"], &accepted);
        }
        let notes: Vec<String> = baseline
            .expired
            .iter()
            .map(|expired| format!("- ⚠ {}", expired_line(expired)))
            .chain(baseline.unused.iter().map(|entry| {
                format!(
                    "- entry {} ({}, until {}) names no finding of this scan: remove it once the fix has landed",
                    entry.number,
                    entry.describe(),
                    entry.expires
                )
            }))
            .collect();
        if !notes.is_empty() {
            summary.raw(&notes.join("\n"));
        }
    }
    summary.to_string()
}

/// The `--json` document.
pub fn json(outcome: &Outcome, links: &Links) -> serde_json::Value {
    let findings: Vec<serde_json::Value> = outcome
        .findings
        .iter()
        .map(|a| {
            let finding = &a.finding;
            let location = finding.location.as_ref();
            json!({
                "tool": finding.tool,
                "rule": finding.rule,
                "severity": finding.severity,
                "security_severity": finding.security_severity,
                "status": a.status,
                "file": location.map(|l| l.path.clone()),
                "line": location.and_then(|l| l.start_line),
                "end_line": location.and_then(|l| l.end_line),
                "message": finding.message,
                "fingerprint": finding.fingerprints.first(),
                "url": location.and_then(|l| links.url(l)),
                "sarif": finding.file,
                "accepted_by": a.accepted_by,
                "expired_entry": a.expired_entry,
            })
        })
        .collect();
    let baseline = outcome.baseline.as_ref().map(|baseline| {
        json!({
            "file": baseline.path,
            "expired": baseline.expired.iter().map(|e| json!({"entry": e.entry, "matched": e.matched})).collect::<Vec<_>>(),
            "unused": baseline.unused,
        })
    });
    json!({
        "passed": outcome.passed(),
        "fail_on": Severity::from(outcome.threshold).as_str(),
        "files": outcome.files,
        "totals": {
            "failing": outcome.count(Status::Failing),
            "below": outcome.count(Status::Below),
            "accepted": outcome.count(Status::Accepted),
            "suppressed_in_source": outcome.suppressed_in_source,
        },
        "findings": findings,
        "baseline": baseline,
    })
}
