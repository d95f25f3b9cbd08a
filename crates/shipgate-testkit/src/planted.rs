//! Planted secrets: distinctive credentials put into every input a tool
//! reads (URL passwords, tokens, query values), and the search for them in
//! everything the tool wrote afterwards: stdout, stderr, report files, and in
//! Actions the step outputs, the job summary and the workflow commands.
//!
//! The one place a secret may appear is an `::add-mask::` line, which is how
//! the runner learns what to hide; such a line must carry the secret part
//! alone, never a whole URL.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A URL password.
pub const PASSWORD: &str = "PlantedPw-5kQ9rZx2";
/// A bearer token or API token.
pub const TOKEN: &str = "plantedtok_7Hd2Lq9Wm4Xv8Ncz";
/// The value of a `?token=`-style query parameter.
pub const QUERY_SECRET: &str = "PlantedQs-3Jf8Tb6Y";

/// Every planted value, with the forms a tool could write it in.
pub fn needles() -> Vec<(&'static str, String)> {
    let mut needles = Vec::new();
    for (name, value) in [("password", PASSWORD), ("token", TOKEN), ("query secret", QUERY_SECRET)] {
        needles.push((name, value.to_owned()));
        // The distinctive middle survives escaping, truncation at the ends
        // and percent-encoding of the separators.
        needles.push((name, value[3..value.len() - 3].to_owned()));
    }
    needles
}

/// The `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY` files of one simulated
/// Actions step, in a temporary directory.
#[derive(Debug)]
pub struct ActionsFiles {
    dir: tempfile::TempDir,
}

impl ActionsFiles {
    pub fn new() -> Self {
        ActionsFiles {
            dir: tempfile::tempdir().expect("temp dir for the Actions files"),
        }
    }

    pub fn output(&self) -> PathBuf {
        self.dir.path().join("github_output")
    }

    pub fn summary(&self) -> PathBuf {
        self.dir.path().join("step_summary.md")
    }

    /// The variables that make a tool believe it runs in a GitHub Actions step.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("GITHUB_ACTIONS".into(), "true".into()),
            ("GITHUB_OUTPUT".into(), self.output().display().to_string()),
            ("GITHUB_STEP_SUMMARY".into(), self.summary().display().to_string()),
        ]
    }

    /// The files written so far, by name (missing files are empty).
    pub fn contents(&self) -> BTreeMap<String, String> {
        [
            ("GITHUB_OUTPUT", self.output()),
            ("GITHUB_STEP_SUMMARY", self.summary()),
        ]
        .into_iter()
        .map(|(name, path)| (name.to_owned(), std::fs::read_to_string(path).unwrap_or_default()))
        .collect()
    }
}

impl Default for ActionsFiles {
    fn default() -> Self {
        ActionsFiles::new()
    }
}

/// What one run of a tool left behind.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// What ran, for messages: `smoke-tester check (Actions)`.
    pub label: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Report files and Actions files, by name.
    pub files: BTreeMap<String, String>,
}

impl Outcome {
    /// The `::error` workflow commands on stdout.
    pub fn error_annotations(&self) -> Vec<&str> {
        self.stdout.lines().filter(|line| line.starts_with("::error")).collect()
    }

    /// The values announced with `::add-mask::`.
    pub fn masks(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter_map(|line| line.strip_prefix("::add-mask::"))
            .collect()
    }

    /// Every place a planted secret shows up, and every `::add-mask::` that
    /// carries more than a secret part (a whole URL); empty when clean.
    pub fn leaks(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut streams: Vec<(String, String)> = vec![
            (
                "stdout".into(),
                self.stdout
                    .lines()
                    .filter(|line| !line.starts_with("::add-mask::"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            ("stderr".into(), self.stderr.clone()),
        ];
        streams.extend(self.files.iter().map(|(name, text)| (name.clone(), text.clone())));
        for (stream, text) in &streams {
            for (what, needle) in needles() {
                if let Some(at) = text.find(&needle) {
                    let start = text[..at].char_indices().rev().nth(60).map_or(0, |(i, _)| i);
                    let end = (at + needle.len() + 60).min(text.len());
                    let end = (end..=text.len())
                        .find(|i| text.is_char_boundary(*i))
                        .unwrap_or(text.len());
                    found.push(format!(
                        "{}: the planted {what} is in {stream}: …{}…",
                        self.label,
                        &text[start..end]
                    ));
                }
            }
        }
        for mask in self.masks() {
            if mask.contains("://") {
                found.push(format!("{}: `::add-mask::{mask}` announces a whole URL", self.label));
            }
        }
        found
    }
}

/// Runs `command` (a tool binary with its arguments) in `dir`, in Actions
/// when `actions` is given, else with every Actions variable removed, and
/// collects its output and the `report_files` (relative to `dir`).
pub fn run(
    label: &str,
    mut command: Command,
    dir: &Path,
    actions: Option<&ActionsFiles>,
    report_files: &[&str],
) -> Outcome {
    crate::cli::isolate(&mut command, dir);
    if let Some(actions) = actions {
        command.envs(actions.env());
    }
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("{label}: cannot run the binary: {err}"));
    let mut files: BTreeMap<String, String> = report_files
        .iter()
        .map(|name| {
            (
                (*name).to_owned(),
                std::fs::read_to_string(dir.join(name)).unwrap_or_default(),
            )
        })
        .collect();
    if let Some(actions) = actions {
        files.extend(actions.contents());
    }
    Outcome {
        label: format!("{label}{}", if actions.is_some() { " (Actions)" } else { "" }),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        files,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_planted_secret_but_not_its_mask() {
        let outcome = Outcome {
            label: "demo".into(),
            code: Some(1),
            stdout: format!("::add-mask::{PASSWORD}\nok\n::add-mask::http://u:{PASSWORD}@h/\n"),
            stderr: format!("error: token {TOKEN}"),
            files: BTreeMap::from([("summary".to_owned(), format!("?token={QUERY_SECRET}"))]),
        };
        let leaks = outcome.leaks();
        assert_eq!(leaks.len(), 5, "{leaks:#?}");
        assert!(
            leaks[0].starts_with("demo: the planted token is in stderr"),
            "{leaks:#?}"
        );
        assert!(leaks[4].contains("announces a whole URL"), "{leaks:#?}");
        let clean = Outcome {
            stdout: format!("::add-mask::{PASSWORD}\nall good\n"),
            stderr: String::new(),
            files: BTreeMap::new(),
            ..outcome
        };
        assert!(clean.leaks().is_empty());
        assert_eq!(clean.masks(), [PASSWORD]);
    }
}
