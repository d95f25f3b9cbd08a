//! The GitHub Actions environment a process runs in: step outputs
//! (`$GITHUB_OUTPUT`), the job summary (`$GITHUB_STEP_SUMMARY`), masks,
//! groups and annotations, all written through one [`Runtime`].

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::exit::{Error, Result};

use super::annotation::{Annotation, AnnotationLevel, escape_data};
use super::redact::redact;
use super::secret::Secret;
use super::sink::{CapturedOutput, Sink, mask_on};

/// The GitHub Actions environment this process runs in (or not).
#[derive(Debug, Clone)]
pub struct Runtime {
    in_actions: bool,
    vars: BTreeMap<String, String>,
    sink: Sink,
}

impl Runtime {
    /// Reads the process environment; in Actions when `GITHUB_ACTIONS=true`.
    pub fn detect() -> Self {
        Runtime::from_env_map(
            std::env::vars_os().filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?))),
        )
    }

    /// A runtime built from the given variables instead of the process
    /// environment, so tests never mutate global state.
    pub fn from_env_map<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: BTreeMap<String, String> = vars
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .collect();
        let in_actions = vars.get("GITHUB_ACTIONS").is_some_and(|v| v == "true");
        Runtime {
            in_actions,
            vars,
            sink: Sink::Process,
        }
    }

    /// Sends this runtime's stdout/stderr lines to memory instead of the
    /// process streams; the returned handle reads them.
    pub fn capture_output(mut self) -> (Self, CapturedOutput) {
        let captured = CapturedOutput::default();
        self.sink = Sink::Captured(captured.clone());
        (self, captured)
    }

    /// Whether this is a GitHub Actions job.
    pub fn in_actions(&self) -> bool {
        self.in_actions
    }

    /// An environment variable, treating empty as unset.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    fn file_var(&self, name: &str, purpose: &str) -> Result<Option<PathBuf>> {
        if !self.in_actions {
            return Ok(None);
        }
        match self.var(name) {
            Some(path) => Ok(Some(PathBuf::from(path))),
            None => Err(Error::usage(format!(
                "GITHUB_ACTIONS is true but {name} is not set, so the {purpose} cannot be written"
            ))),
        }
    }

    /// Sets step output `name`. Outside Actions it is dropped.
    pub fn set_output(&self, name: &str, value: &str) -> Result<()> {
        if name.is_empty() || name.contains(['\n', '\r']) || name.contains("<<") {
            return Err(Error::usage(format!("invalid step output name {:?}", redact(name))));
        }
        let Some(path) = self.file_var("GITHUB_OUTPUT", &format!("output `{name}`"))? else {
            return Ok(());
        };
        let value = redact(value);
        let delimiter = loop {
            let candidate = random_delimiter();
            if !value.contains(&candidate) && !name.contains(&candidate) {
                break candidate;
            }
        };
        append_to(&path, &format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
    }

    /// Appends markdown to the job summary. Outside Actions it is dropped.
    pub fn append_summary(&self, markdown: &str) -> Result<()> {
        let Some(path) = self.file_var("GITHUB_STEP_SUMMARY", "job summary")? else {
            return Ok(());
        };
        let mut text = redact(markdown).into_owned();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        append_to(&path, &text)
    }

    /// Reports an error: an annotation in Actions, a plain line on stderr
    /// elsewhere.
    pub fn error(&self, annotation: &Annotation) {
        self.annotate(AnnotationLevel::Error, annotation)
    }

    /// Reports a warning.
    pub fn warning(&self, annotation: &Annotation) {
        self.annotate(AnnotationLevel::Warning, annotation)
    }

    /// Reports a notice.
    pub fn notice(&self, annotation: &Annotation) {
        self.annotate(AnnotationLevel::Notice, annotation)
    }

    /// A debug message, shown in Actions only when step debugging is on.
    pub fn debug(&self, message: &str) {
        if self.in_actions {
            self.sink
                .stdout_line(&format!("::debug::{}", escape_data(&redact(message))));
        }
    }

    /// Prints `annotation` at `level`.
    pub fn annotate(&self, level: AnnotationLevel, annotation: &Annotation) {
        if self.in_actions {
            self.sink.stdout_line(&annotation.to_workflow_command(level));
        } else {
            self.sink.stderr_line(&annotation.to_plain_line(level));
        }
    }

    /// Starts a collapsible log group that ends when the guard drops.
    pub fn group(&self, name: &str) -> GroupGuard {
        if self.in_actions {
            self.sink
                .stdout_line(&format!("::group::{}", escape_data(&redact(name))));
        }
        GroupGuard {
            sink: self.in_actions.then(|| self.sink.clone()),
        }
    }

    /// Registers `secret` for redaction and, in Actions, tells the runner to
    /// mask it (once per secret, line by line).
    pub fn mask(&self, secret: &str) {
        mask_on(&self.sink, self.in_actions, secret);
    }

    /// A [`Secret`] masked through this runtime.
    pub fn secret(&self, value: impl Into<String>) -> Secret {
        let value = value.into();
        self.mask(&value);
        Secret::with_masked_parts(value)
    }
}

fn random_delimiter() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap_or_else(|_| {
        // Without OS randomness a time-based value still makes a collision
        // with the value (checked by the caller) practically impossible.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = nanos.to_le_bytes();
    });
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("ghadelimiter_{hex}")
}

fn append_to(path: &Path, text: &str) -> Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|err| Error::external_with(format!("cannot open {}", path.display()), err))?;
    file.write_all(text.as_bytes())
        .map_err(|err| Error::external_with(format!("cannot write {}", path.display()), err))
}

/// Ends a log group when dropped.
#[must_use = "the group ends when this guard is dropped"]
#[derive(Debug)]
pub struct GroupGuard {
    sink: Option<Sink>,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(sink) = &self.sink {
            sink.stdout_line("::endgroup::");
        }
    }
}
