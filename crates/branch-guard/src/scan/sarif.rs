//! The parts of SARIF 2.1.0 the gate reads, and the findings they make.
//!
//! Only what the gate uses is modelled; every other property is ignored, so
//! any valid SARIF log parses. A value of the wrong type where the gate
//! looks is an error naming its JSON path.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use percent_encoding::percent_decode_str;
use serde::Deserialize;
use shipgate_core::exit::{Error, Result};

use super::severity::{self, Severity};

/// `sarifLog`.
#[derive(Debug, Deserialize)]
pub struct Log {
    pub version: String,
    pub runs: Vec<Run>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub tool: Tool,
    /// `null` when the tool failed before producing results.
    #[serde(default)]
    pub results: Option<Vec<SarifResult>>,
    #[serde(default)]
    pub original_uri_base_ids: BTreeMap<String, ArtifactLocation>,
}

#[derive(Debug, Deserialize)]
pub struct Tool {
    pub driver: ToolComponent,
    #[serde(default)]
    pub extensions: Vec<ToolComponent>,
}

#[derive(Debug, Deserialize)]
pub struct ToolComponent {
    pub name: String,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// `reportingDescriptor`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub default_configuration: Option<RuleConfiguration>,
    #[serde(default)]
    pub properties: Option<RuleProperties>,
    #[serde(default)]
    pub message_strings: BTreeMap<String, MessageString>,
}

#[derive(Debug, Deserialize)]
pub struct RuleConfiguration {
    #[serde(default)]
    pub level: Option<Level>,
}

#[derive(Debug, Deserialize)]
pub struct RuleProperties {
    /// GitHub's property: a CVSS-like score, written as a string ("8.8").
    #[serde(default, rename = "security-severity")]
    pub security_severity: Option<Score>,
}

/// `security-severity` as tools write it: a string, sometimes a number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Score {
    Number(f64),
    Text(String),
}

impl Score {
    fn value(&self) -> Option<f64> {
        match self {
            Score::Number(number) => Some(*number),
            Score::Text(text) => text.trim().parse().ok(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct MessageString {
    pub text: String,
}

/// SARIF's `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    None,
    Note,
    Warning,
    Error,
}

/// SARIF's `kind`: only `fail` results are findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    Pass,
    Open,
    Informational,
    NotApplicable,
    Review,
    Fail,
}

/// `result`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    #[serde(default)]
    pub rule_id: Option<String>,
    #[serde(default)]
    pub rule_index: Option<i64>,
    #[serde(default)]
    pub rule: Option<RuleReference>,
    #[serde(default)]
    pub kind: Option<Kind>,
    #[serde(default)]
    pub level: Option<Level>,
    pub message: Message,
    #[serde(default)]
    pub locations: Vec<Location>,
    #[serde(default)]
    pub partial_fingerprints: BTreeMap<String, String>,
    #[serde(default)]
    pub fingerprints: BTreeMap<String, String>,
    #[serde(default)]
    pub suppressions: Vec<Suppression>,
    #[serde(default)]
    pub baseline_state: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleReference {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub index: Option<i64>,
    #[serde(default)]
    pub tool_component: Option<ToolComponentReference>,
}

#[derive(Debug, Deserialize)]
pub struct ToolComponentReference {
    #[serde(default)]
    pub index: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub arguments: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[serde(default)]
    pub physical_location: Option<PhysicalLocation>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    #[serde(default)]
    pub artifact_location: Option<ArtifactLocation>,
    #[serde(default)]
    pub region: Option<Region>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactLocation {
    #[serde(default)]
    pub uri: Option<String>,
    #[serde(default)]
    pub uri_base_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    #[serde(default)]
    pub start_line: Option<u32>,
    #[serde(default)]
    pub end_line: Option<u32>,
    #[serde(default)]
    pub start_column: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct Suppression {
    #[serde(default)]
    pub status: Option<String>,
}

/// Reads and parses one SARIF file; a malformed one is a usage error naming
/// the file and the JSON path of the first problem.
pub fn read(path: &Path) -> Result<Log> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::usage_with(format!("cannot read {}", path.display()), e))?;
    parse(&text).map_err(|message| Error::usage_with(format!("{}", path.display()), message))
}

/// Parses SARIF text; the error says where (`runs[0].results[2].level`) and what.
pub fn parse(text: &str) -> std::result::Result<Log, String> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let log: Log = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            format!("not valid JSON: {inner}")
        } else if path == "." {
            format!("malformed SARIF: {inner}")
        } else {
            format!("malformed SARIF at `{path}`: {inner}")
        }
    })?;
    if log.version != "2.1.0" {
        return Err(format!(
            "malformed SARIF at `version`: expected \"2.1.0\", found {:?}",
            log.version
        ));
    }
    Ok(log)
}

/// A place in the repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceLocation {
    /// Relative to the repository root, `/`-separated; or the URI as given
    /// when it points outside the repository.
    pub path: String,
    pub start_line: Option<u32>,
    pub end_line: Option<u32>,
    pub column: Option<u32>,
}

impl SourceLocation {
    /// `path:line`, or `path` without a line: what baseline entries name.
    pub fn display(&self) -> String {
        match self.start_line {
            Some(line) => format!("{}:{line}", self.path),
            None => self.path.clone(),
        }
    }
}

/// One failing result of one run, normalised.
#[derive(Debug, Clone)]
pub struct Finding {
    pub tool: String,
    pub rule: String,
    pub rule_name: Option<String>,
    pub severity: Severity,
    pub security_severity: Option<f64>,
    pub message: String,
    pub location: Option<SourceLocation>,
    /// The values of `partialFingerprints`, then of `fingerprints`, each by name.
    pub fingerprints: Vec<String>,
    /// The SARIF file it came from, as given.
    pub file: String,
}

/// How a run's paths are made relative to the repository.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Where relative URIs without a base are resolved: the directory the
    /// scanner ran in, which is where `scan` runs.
    pub cwd: PathBuf,
    pub repo_root: PathBuf,
}

/// What a log holds, in file order: the findings, and how many results were
/// suppressed in the source or are gone since the scanner's own baseline.
#[derive(Debug, Default)]
pub struct Extracted {
    pub findings: Vec<Finding>,
    pub suppressed_in_source: usize,
}

pub fn findings(log: &Log, file: &str, paths: &Paths, out: &mut Extracted) {
    for run in &log.runs {
        for result in run.results.iter().flatten() {
            if result.kind.is_some_and(|kind| kind != Kind::Fail) || result.baseline_state.as_deref() == Some("absent")
            {
                continue;
            }
            // GitHub treats a result with an accepted (or status-less)
            // suppression as dismissed; so does the gate.
            if result
                .suppressions
                .iter()
                .any(|s| s.status.as_deref().is_none_or(|status| status == "accepted"))
            {
                out.suppressed_in_source += 1;
                continue;
            }
            out.findings.push(finding(run, result, file, paths));
        }
    }
}

fn finding(run: &Run, result: &SarifResult, file: &str, paths: &Paths) -> Finding {
    let rule = find_rule(run, result);
    let rule_id = result
        .rule_id
        .clone()
        .or_else(|| result.rule.as_ref().and_then(|r| r.id.clone()))
        .or_else(|| rule.map(|r| r.id.clone()))
        .unwrap_or_else(|| "(no rule)".to_string());
    let security_severity = rule
        .and_then(|r| r.properties.as_ref())
        .and_then(|p| p.security_severity.as_ref())
        .and_then(Score::value);
    let rule_level = rule
        .and_then(|r| r.default_configuration.as_ref())
        .and_then(|c| c.level);
    let severity = severity::normalise(security_severity, result.level, rule_level);
    let location = result
        .locations
        .iter()
        .find_map(|location| location.physical_location.as_ref())
        .and_then(|physical| {
            let artifact = physical.artifact_location.as_ref()?;
            let path = resolve_uri(artifact, &run.original_uri_base_ids, paths)?;
            let region = physical.region.as_ref();
            Some(SourceLocation {
                path,
                start_line: region.and_then(|r| r.start_line),
                end_line: region.and_then(|r| r.end_line),
                column: region.and_then(|r| r.start_column),
            })
        });
    let mut fingerprints: Vec<String> = result.partial_fingerprints.values().cloned().collect();
    fingerprints.extend(result.fingerprints.values().cloned());
    Finding {
        tool: run.tool.driver.name.clone(),
        rule: rule_id,
        rule_name: rule.and_then(|r| r.name.clone()),
        severity,
        security_severity: security_severity.filter(|score| *score > 0.0),
        message: message_text(&result.message, rule),
        location,
        fingerprints,
        file: file.to_string(),
    }
}

/// The rule a result names: by `rule.index` in its tool component, by
/// `ruleIndex` in the driver, else by id in the driver and extensions.
fn find_rule<'r>(run: &'r Run, result: &SarifResult) -> Option<&'r Rule> {
    let reference = result.rule.as_ref();
    let component = match reference.and_then(|r| r.tool_component.as_ref()).and_then(|c| c.index) {
        Some(index) => usize::try_from(index).ok().and_then(|i| run.tool.extensions.get(i)),
        None => Some(&run.tool.driver),
    };
    let index = reference.and_then(|r| r.index).or(result.rule_index);
    if let Some(rule) = index
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| component?.rules.get(i))
    {
        return Some(rule);
    }
    let id = result.rule_id.as_deref().or(reference.and_then(|r| r.id.as_deref()))?;
    std::iter::once(&run.tool.driver)
        .chain(&run.tool.extensions)
        .flat_map(|component| &component.rules)
        .find(|rule| rule.id == id)
}

/// The message text, or the rule's message string it names with its
/// `{0}`-style arguments filled in.
fn message_text(message: &Message, rule: Option<&Rule>) -> String {
    if let Some(text) = &message.text {
        return text.trim().to_string();
    }
    let template = message
        .id
        .as_ref()
        .and_then(|id| rule?.message_strings.get(id))
        .map(|string| string.text.clone())
        .unwrap_or_default();
    message
        .arguments
        .iter()
        .enumerate()
        .fold(template, |text, (index, argument)| {
            text.replace(&format!("{{{index}}}"), argument)
        })
        .trim()
        .to_string()
}

/// An artifact URI as a repository-relative path: `file://` URIs and paths
/// relative to a `uriBaseId` or to the working directory are made relative
/// to the repository root. Other URIs are kept as they are.
fn resolve_uri(
    artifact: &ArtifactLocation,
    bases: &BTreeMap<String, ArtifactLocation>,
    paths: &Paths,
) -> Option<String> {
    let uri = artifact.uri.as_deref()?;
    let mut full = uri.to_string();
    if let Some(base) = artifact
        .uri_base_id
        .as_ref()
        .and_then(|id| bases.get(id))
        .and_then(|base| base.uri.as_deref())
    {
        full = format!("{}/{}", base.trim_end_matches('/'), uri.trim_start_matches('/'));
    }
    let decoded = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
    let absolute = if let Some(rest) = full.strip_prefix("file://") {
        // `file:///abs/path` or `file://localhost/abs/path`.
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        PathBuf::from(decoded(rest))
    } else if let Some(rest) = full.strip_prefix("file:") {
        PathBuf::from(decoded(rest))
    } else if has_scheme(&full) {
        return Some(full);
    } else {
        paths.cwd.join(decoded(&full))
    };
    let absolute = normalise(&absolute);
    let root = normalise(&paths.repo_root);
    match absolute.strip_prefix(&root) {
        Ok(relative) => Some(
            relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/"),
        ),
        Err(_) => Some(absolute.display().to_string()),
    }
}

fn has_scheme(uri: &str) -> bool {
    uri.split_once(':').is_some_and(|(scheme, _)| {
        scheme.len() > 1 && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        Paths {
            cwd: PathBuf::from("/repo/backend"),
            repo_root: PathBuf::from("/repo"),
        }
    }

    fn artifact(uri: &str, base: Option<&str>) -> ArtifactLocation {
        ArtifactLocation {
            uri: Some(uri.to_string()),
            uri_base_id: base.map(str::to_string),
        }
    }

    #[test]
    fn uris_become_repository_relative_paths() {
        let mut bases = BTreeMap::new();
        bases.insert("SRCROOT".to_string(), artifact("file:///repo/", None));
        let cases = [
            (artifact("app/views.py", None), "backend/app/views.py"),
            (artifact("./app/../app/views.py", None), "backend/app/views.py"),
            (artifact("file:///repo/web/pages/a%20b.js", None), "web/pages/a b.js"),
            (artifact("src/main.rs", Some("SRCROOT")), "src/main.rs"),
            (artifact("file:///elsewhere/x.py", None), "/elsewhere/x.py"),
            (artifact("https://example.com/x.js", None), "https://example.com/x.js"),
        ];
        for (location, expected) in cases {
            assert_eq!(
                resolve_uri(&location, &bases, &paths()).as_deref(),
                Some(expected),
                "{location:?}"
            );
        }
    }

    #[test]
    fn a_wrong_type_is_reported_with_its_json_path() {
        let text = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[
            {"message":{"text":"ok"}},
            {"message":{"text":"bad"},"level":"critical"}]}]}"#;
        let error = parse(text).expect_err("an unknown level");
        assert!(
            error.starts_with("malformed SARIF at `runs[0].results[1].level`: unknown variant `critical`"),
            "{error}"
        );
        let error = parse(r#"{"version":"2.0.0","runs":[]}"#).expect_err("an old version");
        assert_eq!(
            error,
            "malformed SARIF at `version`: expected \"2.1.0\", found \"2.0.0\""
        );
    }
}
