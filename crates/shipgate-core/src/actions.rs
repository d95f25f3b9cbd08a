//! GitHub Actions runtime I/O.
//!
//! This is the only module in the workspace that writes workflow commands
//! (`::error::`, `::add-mask::`, ...) or the `GITHUB_OUTPUT` and
//! `GITHUB_STEP_SUMMARY` files, so escaping and secret redaction are done
//! once, here. Every text it writes passes through [`redact`].

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, RwLock};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::exit::{Error, Result};

// ---------------------------------------------------------------------------
// Secrets and redaction

/// Every secret registered in this process, longest first so a secret that
/// contains another is replaced whole.
static SECRETS: LazyLock<RwLock<Vec<String>>> = LazyLock::new(|| RwLock::new(Vec::new()));

/// Secrets already announced with `::add-mask::` on the real stdout.
static MASKED_ON_STDOUT: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

/// The parts of `secret` worth redacting: the whole value and each line of
/// a multi-line one (the runner masks line by line too). Blank parts are
/// skipped because "replace every empty string" would wreck all output.
fn secret_parts(secret: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    if !secret.trim().is_empty() {
        parts.push(secret);
    }
    if secret.contains('\n') || secret.contains('\r') {
        for line in secret.lines() {
            let line = line.trim_end_matches('\r');
            if !line.trim().is_empty() && !parts.contains(&line) {
                parts.push(line);
            }
        }
    }
    parts
}

/// Adds `secret` to the process-wide redaction list without emitting any
/// workflow command. Returns whether it was new.
pub fn register_secret(secret: &str) -> bool {
    let parts = secret_parts(secret);
    let mut secrets = SECRETS.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut added = false;
    for part in parts {
        if !secrets.iter().any(|known| known == part) {
            secrets.push(part.to_owned());
            added = true;
        }
    }
    secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    added
}

/// Replaces every registered secret in `text` with `***`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut result = Cow::Borrowed(text);
    for secret in secrets.iter() {
        if result.contains(secret.as_str()) {
            result = Cow::Owned(result.replace(secret.as_str(), "***"));
        }
    }
    result
}

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

// ---------------------------------------------------------------------------
// Where workflow commands go

/// Text written to stdout/stderr by a [`Runtime`] made with
/// [`Runtime::capture_output`].
#[derive(Debug, Clone, Default)]
pub struct CapturedOutput {
    inner: Arc<Mutex<CapturedText>>,
}

#[derive(Debug, Default)]
struct CapturedText {
    stdout: String,
    stderr: String,
    masked: HashSet<String>,
}

impl CapturedOutput {
    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        self.lock().stdout.clone()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        self.lock().stderr.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CapturedText> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Debug, Clone)]
enum Sink {
    Process,
    Captured(CapturedOutput),
}

impl Sink {
    fn stdout_line(&self, line: &str) {
        match self {
            Sink::Process => {
                let mut out = std::io::stdout().lock();
                // A closed stdout (e.g. piped into `head`) must not crash the
                // tool; the annotation is lost either way.
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            Sink::Captured(captured) => {
                let mut text = captured.lock();
                text.stdout.push_str(line);
                text.stdout.push('\n');
            }
        }
    }

    fn stderr_line(&self, line: &str) {
        match self {
            Sink::Process => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
            Sink::Captured(captured) => {
                let mut text = captured.lock();
                text.stderr.push_str(line);
                text.stderr.push('\n');
            }
        }
    }

    /// Records that `part` was announced; true the first time.
    fn first_mask(&self, part: &str) -> bool {
        match self {
            Sink::Process => MASKED_ON_STDOUT
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .insert(part.to_owned()),
            Sink::Captured(captured) => captured.lock().masked.insert(part.to_owned()),
        }
    }
}

fn mask_on(sink: &Sink, in_actions: bool, secret: &str) {
    register_secret(secret);
    if !in_actions {
        return;
    }
    for part in secret_parts(secret) {
        // `::add-mask::` works per line, so a multi-line secret is announced
        // line by line rather than as one (unmaskable) escaped value.
        if part.contains('\n') || part.contains('\r') {
            continue;
        }
        if sink.first_mask(part) {
            sink.stdout_line(&format!("::add-mask::{}", escape_data(part)));
        }
    }
}

// ---------------------------------------------------------------------------
// Runtime

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

    /// The workflow run's context variables.
    pub fn context(&self) -> Context {
        Context::from_runtime(self)
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
        Secret(value)
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
        .map_err(|err| Error::external(format!("cannot open {}: {err}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|err| Error::external(format!("cannot write {}: {err}", path.display())))
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

// ---------------------------------------------------------------------------
// Annotations

/// Severity of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotationLevel {
    Error,
    Warning,
    Notice,
}

impl AnnotationLevel {
    fn command(self) -> &'static str {
        match self {
            AnnotationLevel::Error => "error",
            AnnotationLevel::Warning => "warning",
            AnnotationLevel::Notice => "notice",
        }
    }
}

/// A message optionally attached to a place in a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotation {
    pub title: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub end_line: Option<u32>,
    pub col: Option<u32>,
    pub message: String,
}

impl Annotation {
    /// An annotation with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        Annotation {
            message: message.into(),
            ..Annotation::default()
        }
    }

    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Attaches the annotation to `file` (relative to the repository root).
    pub fn file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Sets the (1-based) line.
    pub fn line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }

    /// Sets the last line of a multi-line range.
    pub fn end_line(mut self, end_line: u32) -> Self {
        self.end_line = Some(end_line);
        self
    }

    /// Sets the (1-based) column.
    pub fn col(mut self, col: u32) -> Self {
        self.col = Some(col);
        self
    }

    /// The `::level key=value,...::message` workflow command.
    pub fn to_workflow_command(&self, level: AnnotationLevel) -> String {
        let mut properties = Vec::new();
        if let Some(file) = &self.file {
            properties.push(format!("file={}", escape_property(&redact(file))));
        }
        if let Some(line) = self.line {
            properties.push(format!("line={line}"));
        }
        if let Some(end_line) = self.end_line {
            properties.push(format!("endLine={end_line}"));
        }
        if let Some(col) = self.col {
            properties.push(format!("col={col}"));
        }
        if let Some(title) = &self.title {
            properties.push(format!("title={}", escape_property(&redact(title))));
        }
        let separator = if properties.is_empty() { "" } else { " " };
        format!(
            "::{}{separator}{}::{}",
            level.command(),
            properties.join(","),
            escape_data(&redact(&self.message))
        )
    }

    /// The `level: file:line: title: message` line used outside Actions.
    pub fn to_plain_line(&self, level: AnnotationLevel) -> String {
        let mut line = format!("{}: ", level.command());
        if let Some(file) = &self.file {
            line.push_str(file);
            if let Some(number) = self.line {
                line.push_str(&format!(":{number}"));
                if let Some(col) = self.col {
                    line.push_str(&format!(":{col}"));
                }
            }
            line.push_str(": ");
        }
        if let Some(title) = &self.title {
            line.push_str(title);
            line.push_str(": ");
        }
        line.push_str(&self.message);
        redact(&line).into_owned()
    }
}

/// Escapes a workflow command's message.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow command property value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

// ---------------------------------------------------------------------------
// Job summary builder

/// Builds job-summary markdown; write it with [`Runtime::append_summary`].
#[derive(Debug, Clone, Default)]
pub struct Summary {
    markdown: String,
}

impl Summary {
    /// An empty summary.
    pub fn new() -> Self {
        Summary::default()
    }

    fn block(&mut self, text: &str) -> &mut Self {
        if !self.markdown.is_empty() && !self.markdown.ends_with("\n\n") {
            if !self.markdown.ends_with('\n') {
                self.markdown.push('\n');
            }
            self.markdown.push('\n');
        }
        self.markdown.push_str(text);
        if !text.ends_with('\n') {
            self.markdown.push('\n');
        }
        self
    }

    /// A heading of `level` 1–6.
    pub fn heading(&mut self, level: u8, text: &str) -> &mut Self {
        let level = usize::from(level.clamp(1, 6));
        let text = text.replace(['\r', '\n'], " ");
        self.block(&format!("{} {text}", "#".repeat(level)))
    }

    /// A paragraph of markdown.
    pub fn paragraph(&mut self, markdown: &str) -> &mut Self {
        self.block(markdown)
    }

    /// A table; cells are plain text, `|` and newlines are escaped.
    pub fn table<S: AsRef<str>>(&mut self, headers: &[S], rows: &[Vec<String>]) -> &mut Self {
        fn row<S: AsRef<str>>(cells: &[S]) -> String {
            let cells: Vec<String> = cells.iter().map(|c| escape_cell(c.as_ref())).collect();
            format!("| {} |", cells.join(" | "))
        }
        let mut text = row(headers);
        text.push('\n');
        text.push_str(&format!("|{}|", vec!["---"; headers.len().max(1)].join("|")));
        for cells in rows {
            text.push('\n');
            text.push_str(&row(cells));
        }
        self.block(&text)
    }

    /// A fenced code block; the fence outgrows any backticks in `code`.
    pub fn code_block(&mut self, language: &str, code: &str) -> &mut Self {
        let fence = "`".repeat(longest_backtick_run(code).max(2) + 1);
        let code = code.strip_suffix('\n').unwrap_or(code);
        self.block(&format!("{fence}{language}\n{code}\n{fence}"))
    }

    /// The banner of a `--dry-run` summary, so it cannot pass for a real run:
    /// `what` says what did not happen ("nothing was tagged or pushed").
    pub fn dry_run(&mut self, what: &str) -> &mut Self {
        self.block(&format!("> [!NOTE]\n> **Dry run:** {what}."))
    }

    /// A mermaid diagram.
    pub fn mermaid(&mut self, diagram: &str) -> &mut Self {
        self.code_block("mermaid", diagram)
    }

    /// A collapsed `<details>` section with markdown `body`.
    pub fn details(&mut self, summary: &str, body_markdown: &str) -> &mut Self {
        let body = body_markdown.strip_suffix('\n').unwrap_or(body_markdown);
        self.block(&format!(
            "<details>\n<summary>{}</summary>\n\n{body}\n\n</details>",
            escape_html(summary)
        ))
    }

    /// Markdown added as is.
    pub fn raw(&mut self, markdown: &str) -> &mut Self {
        self.block(markdown)
    }

    /// The markdown built so far.
    pub fn as_markdown(&self) -> &str {
        &self.markdown
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.markdown.is_empty()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.markdown)
    }
}

fn escape_cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut current = 0;
    for ch in text.chars() {
        if ch == '`' {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest
}

// ---------------------------------------------------------------------------
// Context

/// The `GITHUB_*` variables describing the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// `owner/name`.
    pub repository: Option<String>,
    pub sha: Option<String>,
    /// Full ref, e.g. `refs/heads/main`.
    pub git_ref: Option<String>,
    /// Short ref name, e.g. `main` or `42/merge`.
    pub ref_name: Option<String>,
    pub actor: Option<String>,
    pub run_id: Option<String>,
    /// Defaults to `https://github.com`.
    pub server_url: String,
    /// Defaults to `https://api.github.com`.
    pub api_url: String,
}

impl Context {
    /// Reads the context from `runtime`'s variables.
    pub fn from_runtime(runtime: &Runtime) -> Self {
        let owned = |name: &str| runtime.var(name).map(str::to_owned);
        Context {
            repository: owned("GITHUB_REPOSITORY"),
            sha: owned("GITHUB_SHA"),
            git_ref: owned("GITHUB_REF"),
            ref_name: owned("GITHUB_REF_NAME"),
            actor: owned("GITHUB_ACTOR"),
            run_id: owned("GITHUB_RUN_ID"),
            server_url: owned("GITHUB_SERVER_URL")
                .map(|url| url.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| "https://github.com".to_owned()),
            api_url: owned("GITHUB_API_URL")
                .map(|url| url.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| "https://api.github.com".to_owned()),
        }
    }

    /// The link to this workflow run, when repository and run id are known.
    pub fn run_url(&self) -> Option<String> {
        Some(format!(
            "{}/{}/actions/runs/{}",
            self.server_url,
            self.repository.as_deref()?,
            self.run_id.as_deref()?
        ))
    }

    /// `(owner, name)` from `GITHUB_REPOSITORY`.
    pub fn owner_and_repo(&self) -> Option<(&str, &str)> {
        self.repository.as_deref()?.split_once('/')
    }
}

// ---------------------------------------------------------------------------
// Event payloads

/// The event that triggered the workflow, with the fields shipgate uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Push(PushEvent),
    /// `pull_request` or `pull_request_target` (see [`PullRequestEvent::target`]).
    PullRequest(PullRequestEvent),
    MergeGroup(MergeGroupEvent),
    WorkflowDispatch(WorkflowDispatchEvent),
    /// Any other event; its payload is not parsed.
    Other {
        name: String,
    },
}

/// `repository` in event payloads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EventRepository {
    pub full_name: String,
    #[serde(default)]
    pub default_branch: Option<String>,
}

/// A commit listed in a push payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PushCommit {
    pub id: String,
    pub message: String,
}

/// `push` payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PushEvent {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub before: String,
    pub after: String,
    #[serde(default)]
    pub created: bool,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub forced: bool,
    #[serde(default)]
    pub commits: Vec<PushCommit>,
    pub repository: EventRepository,
}

impl PushEvent {
    /// The pushed branch name if a branch was pushed.
    pub fn branch(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/heads/")
    }

    /// The pushed tag name if a tag was pushed.
    pub fn tag(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/tags/")
    }
}

/// A branch end of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRequestBranch {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub sha: String,
    /// `None` when the head fork was deleted.
    #[serde(default)]
    pub repo: Option<EventRepository>,
}

/// A GitHub user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    pub login: String,
}

/// `pull_request` in a pull request payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub draft: bool,
    pub base: PullRequestBranch,
    pub head: PullRequestBranch,
    pub user: User,
}

/// `pull_request` / `pull_request_target` payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRequestEvent {
    #[serde(default)]
    pub action: String,
    pub number: u64,
    pub pull_request: PullRequest,
    pub repository: EventRepository,
    /// True for `pull_request_target`, which runs with the base repository's
    /// token and secrets: never check out and run the head's code.
    #[serde(skip)]
    pub target: bool,
}

impl PullRequestEvent {
    /// Whether the head branch lives in another repository (a fork).
    pub fn is_from_fork(&self) -> bool {
        match &self.pull_request.head.repo {
            Some(repo) => repo.full_name != self.repository.full_name,
            None => true,
        }
    }
}

/// `merge_group` in a merge queue payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MergeGroup {
    pub head_sha: String,
    pub head_ref: String,
    pub base_sha: String,
    pub base_ref: String,
}

/// `merge_group` payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MergeGroupEvent {
    #[serde(default)]
    pub action: String,
    pub merge_group: MergeGroup,
    pub repository: EventRepository,
}

/// `workflow_dispatch` payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WorkflowDispatchEvent {
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Inputs as sent; booleans and numbers may arrive typed.
    #[serde(default, deserialize_with = "null_as_empty_map")]
    pub inputs: BTreeMap<String, serde_json::Value>,
    pub repository: EventRepository,
}

impl WorkflowDispatchEvent {
    /// An input as text (`true`, `3`, `staging`), `None` if absent or null.
    pub fn input(&self, name: &str) -> Option<String> {
        match self.inputs.get(name)? {
            serde_json::Value::Null => None,
            serde_json::Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        }
    }
}

fn null_as_empty_map<'de, D>(deserializer: D) -> std::result::Result<BTreeMap<String, serde_json::Value>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::<BTreeMap<String, serde_json::Value>>::deserialize(deserializer)?.unwrap_or_default())
}

impl Event {
    /// Reads `GITHUB_EVENT_NAME` and the payload at `GITHUB_EVENT_PATH`.
    pub fn load(runtime: &Runtime) -> Result<Event> {
        let name = runtime
            .var("GITHUB_EVENT_NAME")
            .ok_or_else(|| Error::usage("GITHUB_EVENT_NAME is not set: this needs a GitHub Actions event"))?;
        if !is_parsed_event(name) {
            return Ok(Event::Other { name: name.to_owned() });
        }
        let path = runtime.var("GITHUB_EVENT_PATH").ok_or_else(|| {
            Error::usage(format!(
                "GITHUB_EVENT_PATH is not set, so the `{name}` event payload cannot be read"
            ))
        })?;
        Event::from_file(name, Path::new(path))
    }

    /// Parses the payload file of event `name`.
    pub fn from_file(name: &str, path: &Path) -> Result<Event> {
        let json = std::fs::read_to_string(path).map_err(|err| {
            Error::usage(format!(
                "cannot read the `{name}` event payload {}: {err}",
                path.display()
            ))
        })?;
        Event::from_json(name, &json)
            .map_err(|err| Error::usage(format!("malformed `{name}` event payload {}: {err}", path.display())))
    }

    /// Parses a payload of event `name` from JSON text; the error names the
    /// offending field.
    pub fn from_json(name: &str, json: &str) -> std::result::Result<Event, String> {
        fn parse<T: DeserializeOwned>(json: &str) -> std::result::Result<T, String> {
            let mut deserializer = serde_json::Deserializer::from_str(json);
            serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
                let path = err.path().to_string();
                if path == "." {
                    err.into_inner().to_string()
                } else {
                    format!("at `{path}`: {}", err.into_inner())
                }
            })
        }
        Ok(match name {
            "push" => Event::Push(parse(json)?),
            "pull_request" | "pull_request_target" => {
                let mut event: PullRequestEvent = parse(json)?;
                event.target = name == "pull_request_target";
                Event::PullRequest(event)
            }
            "merge_group" => Event::MergeGroup(parse(json)?),
            "workflow_dispatch" => Event::WorkflowDispatch(parse(json)?),
            other => Event::Other { name: other.to_owned() },
        })
    }

    /// The event name as GitHub spells it.
    pub fn name(&self) -> &str {
        match self {
            Event::Push(_) => "push",
            Event::PullRequest(event) if event.target => "pull_request_target",
            Event::PullRequest(_) => "pull_request",
            Event::MergeGroup(_) => "merge_group",
            Event::WorkflowDispatch(_) => "workflow_dispatch",
            Event::Other { name } => name,
        }
    }
}

fn is_parsed_event(name: &str) -> bool {
    matches!(
        name,
        "push" | "pull_request" | "pull_request_target" | "merge_group" | "workflow_dispatch"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/events")
            .join(name)
    }

    struct ActionsFiles {
        _dir: tempfile::TempDir,
        output: PathBuf,
        summary: PathBuf,
        runtime: Runtime,
        captured: CapturedOutput,
    }

    fn actions_runtime() -> ActionsFiles {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("output");
        let summary = dir.path().join("summary");
        let (runtime, captured) = Runtime::from_env_map([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", output.to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ])
        .capture_output();
        ActionsFiles {
            _dir: dir,
            output,
            summary,
            runtime,
            captured,
        }
    }

    fn delimiter_of(line: &str) -> &str {
        line.split_once("<<").unwrap().1
    }

    #[test]
    fn outputs_use_the_heredoc_syntax_with_a_random_delimiter() {
        let files = actions_runtime();
        files.runtime.set_output("version", "1.2.3").unwrap();
        files
            .runtime
            .set_output("notes", "line one\nline two\n\nline four")
            .unwrap();
        let text = std::fs::read_to_string(&files.output).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let first = delimiter_of(lines[0]);
        assert!(first.starts_with("ghadelimiter_"), "{first}");
        assert_eq!(first.len(), "ghadelimiter_".len() + 32);
        let second = delimiter_of(lines[3]);
        assert_ne!(first, second);
        assert_eq!(
            text,
            format!("version<<{first}\n1.2.3\n{first}\nnotes<<{second}\nline one\nline two\n\nline four\n{second}\n")
        );
    }

    #[test]
    fn outputs_are_dropped_outside_actions() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("output");
        let runtime = Runtime::from_env_map([("GITHUB_OUTPUT", output.to_str().unwrap())]);
        runtime.set_output("version", "1.2.3").unwrap();
        runtime.append_summary("# nothing").unwrap();
        assert!(!output.exists());
    }

    #[test]
    fn actions_without_an_output_file_is_a_usage_error() {
        let runtime = Runtime::from_env_map([("GITHUB_ACTIONS", "true")]);
        let err = runtime.set_output("version", "1").unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::Usage);
        assert!(err.to_string().contains("GITHUB_OUTPUT"), "{err}");
    }

    #[test]
    fn summary_appends_markdown() {
        let files = actions_runtime();
        let mut summary = Summary::new();
        summary
            .heading(2, "Release v1.2.0")
            .table(
                &["Kind", "Message"],
                &[vec!["feat".into(), "pipes | and\nnewlines".into()]],
            )
            .code_block("sh", "echo ```\n")
            .details("Commits <3>", "- abc123 fix")
            .mermaid("graph LR\n  a --> b");
        files.runtime.append_summary(summary.as_markdown()).unwrap();
        files.runtime.append_summary("done").unwrap();
        let text = std::fs::read_to_string(&files.summary).unwrap();
        assert_eq!(
            text,
            "## Release v1.2.0\n\n\
             | Kind | Message |\n|---|---|\n| feat | pipes \\| and<br>newlines |\n\n\
             ````sh\necho ```\n````\n\n\
             <details>\n<summary>Commits &lt;3&gt;</summary>\n\n- abc123 fix\n\n</details>\n\n\
             ```mermaid\ngraph LR\n  a --> b\n```\n\
             done\n"
        );
    }

    #[test]
    fn annotations_escape_data_and_properties() {
        let files = actions_runtime();
        files.runtime.error(
            &Annotation::new("100% broken\r\nsecond line")
                .title("a: b, c")
                .file("src/we,ird:name.rs")
                .line(3)
                .end_line(5)
                .col(7),
        );
        files.runtime.warning(&Annotation::new("plain"));
        files.runtime.notice(&Annotation::new("n").file("README.md"));
        assert_eq!(
            files.captured.stdout(),
            "::error file=src/we%2Cird%3Aname.rs,line=3,endLine=5,col=7,title=a%3A b%2C c::100%25 broken%0D%0Asecond line\n\
             ::warning::plain\n\
             ::notice file=README.md::n\n"
        );
        assert_eq!(files.captured.stderr(), "");
    }

    #[test]
    fn annotations_outside_actions_are_plain_stderr_lines() {
        let (runtime, captured) = Runtime::from_env_map([("CI", "true")]).capture_output();
        runtime.error(&Annotation::new("version went backwards").file("Cargo.toml").line(3));
        runtime.warning(&Annotation::new("no tags yet").title("release-tagger"));
        runtime.debug("invisible");
        let group = runtime.group("ignored");
        drop(group);
        assert_eq!(captured.stdout(), "");
        assert_eq!(
            captured.stderr(),
            "error: Cargo.toml:3: version went backwards\nwarning: release-tagger: no tags yet\n"
        );
    }

    #[test]
    fn groups_end_when_the_guard_drops() {
        let files = actions_runtime();
        {
            let _group = files.runtime.group("Fetch tags");
            files.runtime.debug("inside");
        }
        assert_eq!(
            files.captured.stdout(),
            "::group::Fetch tags\n::debug::inside\n::endgroup::\n"
        );
    }

    #[test]
    fn masks_are_announced_once_per_line_and_redacted_everywhere() {
        let files = actions_runtime();
        let secret = "s3cr3t-token-for-actions-test";
        files.runtime.mask(secret);
        files.runtime.mask(secret);
        files.runtime.mask("multi-line-key-A\nmulti-line-key-B");
        files
            .runtime
            .set_output("url", &format!("https://x:{secret}@example.com"))
            .unwrap();
        files
            .runtime
            .append_summary(&format!("token is {secret}; key multi-line-key-B"))
            .unwrap();
        files
            .runtime
            .error(&Annotation::new(format!("auth failed with {secret}")).title(secret.to_string()));
        let stdout = files.captured.stdout();
        assert_eq!(
            stdout.lines().take(3).collect::<Vec<_>>(),
            vec![
                format!("::add-mask::{secret}"),
                "::add-mask::multi-line-key-A".to_owned(),
                "::add-mask::multi-line-key-B".to_owned(),
            ]
        );
        assert_eq!(
            stdout.lines().nth(3).unwrap(),
            "::error title=***::auth failed with ***"
        );
        let output = std::fs::read_to_string(&files.output).unwrap();
        assert!(output.contains("\nhttps://x:***@example.com\n"), "{output}");
        let summary = std::fs::read_to_string(&files.summary).unwrap();
        assert_eq!(summary, "token is ***; key ***\n");
        assert_eq!(stdout.matches(secret).count(), 1, "only the add-mask line names it");
    }

    #[test]
    fn secrets_redact_themselves_and_display_as_stars() {
        let secret = Secret::new("ghp_displaytestvalue1234567890");
        assert_eq!(secret.to_string(), "***");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(secret.expose(), "ghp_displaytestvalue1234567890");
        assert_eq!(
            redact("Authorization: Bearer ghp_displaytestvalue1234567890"),
            "Authorization: Bearer ***"
        );
        assert!(matches!(redact("nothing secret here"), Cow::Borrowed(_)));
    }

    #[test]
    fn blank_secrets_are_not_registered() {
        assert!(!register_secret(""));
        assert!(!register_secret("  \n "));
        assert_eq!(redact("a b"), "a b");
    }

    #[test]
    fn context_reads_variables_and_builds_the_run_url() {
        let runtime = Runtime::from_env_map([
            ("GITHUB_REPOSITORY", "octo-org/shipgate-demo"),
            ("GITHUB_SHA", "ffac537e6cbbf934b08745a378932722df287a53"),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_REF_NAME", "main"),
            ("GITHUB_ACTOR", "octocat"),
            ("GITHUB_RUN_ID", "1658821493"),
            ("GITHUB_SERVER_URL", "https://ghe.example.com/"),
        ]);
        let context = runtime.context();
        assert_eq!(context.api_url, "https://api.github.com");
        assert_eq!(context.ref_name.as_deref(), Some("main"));
        assert_eq!(context.owner_and_repo(), Some(("octo-org", "shipgate-demo")));
        assert_eq!(
            context.run_url().as_deref(),
            Some("https://ghe.example.com/octo-org/shipgate-demo/actions/runs/1658821493")
        );
        assert_eq!(
            Runtime::from_env_map(Vec::<(String, String)>::new())
                .context()
                .run_url(),
            None
        );
    }

    fn load(name: &str, file: &str) -> Result<Event> {
        let path = fixture(file);
        Event::load(&Runtime::from_env_map([
            ("GITHUB_EVENT_NAME", name),
            ("GITHUB_EVENT_PATH", path.to_str().unwrap()),
        ]))
    }

    #[test]
    fn push_payload_parses() {
        let Event::Push(push) = load("push", "push.json").unwrap() else {
            panic!("not a push")
        };
        assert_eq!(push.git_ref, "refs/heads/main");
        assert_eq!(push.branch(), Some("main"));
        assert_eq!(push.before, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
        assert_eq!(push.after, "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
        assert!(!push.created && !push.deleted && !push.forced);
        assert_eq!(push.commits.len(), 2);
        assert_eq!(push.commits[1].id, "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
        assert_eq!(
            push.commits[1].message,
            "feat(api): add pagination\n\nBREAKING CHANGE: `page` is now 1-based"
        );
        assert_eq!(push.repository.full_name, "octo-org/shipgate-demo");
        assert_eq!(push.repository.default_branch.as_deref(), Some("main"));
    }

    #[test]
    fn tag_push_payload_parses() {
        let Event::Push(push) = load("push", "push_tag.json").unwrap() else {
            panic!("not a push")
        };
        assert_eq!(push.tag(), Some("v1.4.0"));
        assert!(push.created);
        assert_eq!(push.before, "0000000000000000000000000000000000000000");
        assert!(push.commits.is_empty());
    }

    #[test]
    fn pull_request_payloads_parse_with_the_target_flag() {
        let Event::PullRequest(pr) = load("pull_request", "pull_request.json").unwrap() else {
            panic!("not a PR")
        };
        assert!(!pr.target);
        assert_eq!(pr.action, "opened");
        assert_eq!(pr.number, 42);
        assert_eq!(pr.pull_request.title, "fix(parser): handle empty bodies");
        assert_eq!(pr.pull_request.base.git_ref, "main");
        assert_eq!(pr.pull_request.base.sha, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
        assert_eq!(pr.pull_request.head.git_ref, "fix/empty-bodies");
        assert_eq!(pr.pull_request.head.sha, "9f2b4d1c5e3a7b8c0d1e2f3a4b5c6d7e8f9a0b1c");
        assert_eq!(
            pr.pull_request.head.repo.as_ref().unwrap().full_name,
            "contributor/shipgate-demo"
        );
        assert!(pr.is_from_fork());
        assert_eq!(pr.pull_request.user.login, "contributor");
        assert!(pr.pull_request.draft);

        let event = load("pull_request_target", "pull_request.json").unwrap();
        assert_eq!(event.name(), "pull_request_target");
        let Event::PullRequest(target) = event else {
            panic!("not a PR")
        };
        assert!(target.target);
    }

    #[test]
    fn merge_group_payload_parses() {
        let Event::MergeGroup(group) = load("merge_group", "merge_group.json").unwrap() else {
            panic!("not a merge group")
        };
        assert_eq!(group.action, "checks_requested");
        assert_eq!(group.merge_group.head_sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
        assert_eq!(
            group.merge_group.head_ref,
            "refs/heads/gh-readonly-queue/main/pr-104-6113728f27ae82c7b1a177c8d03f9e96e0adf246"
        );
        assert_eq!(group.merge_group.base_sha, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
        assert_eq!(group.merge_group.base_ref, "refs/heads/main");
    }

    #[test]
    fn workflow_dispatch_payload_parses_typed_inputs() {
        let Event::WorkflowDispatch(dispatch) = load("workflow_dispatch", "workflow_dispatch.json").unwrap() else {
            panic!("not a dispatch")
        };
        assert_eq!(dispatch.git_ref, "refs/heads/main");
        assert_eq!(dispatch.input("environment").as_deref(), Some("staging"));
        assert_eq!(dispatch.input("dry_run").as_deref(), Some("true"));
        assert_eq!(dispatch.input("retries").as_deref(), Some("3"));
        assert_eq!(dispatch.input("missing"), None);

        let no_inputs = Event::from_json(
            "workflow_dispatch",
            r#"{"ref":"refs/heads/main","inputs":null,"repository":{"full_name":"a/b"}}"#,
        )
        .unwrap();
        let Event::WorkflowDispatch(no_inputs) = no_inputs else {
            panic!("not a dispatch")
        };
        assert!(no_inputs.inputs.is_empty());
    }

    #[test]
    fn other_events_are_not_parsed() {
        let event = Event::load(&Runtime::from_env_map([("GITHUB_EVENT_NAME", "schedule")])).unwrap();
        assert_eq!(
            event,
            Event::Other {
                name: "schedule".into()
            }
        );
    }

    #[test]
    fn a_missing_or_malformed_payload_is_a_usage_error_naming_the_path() {
        let err = load("push", "does-not-exist.json").unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::Usage);
        assert!(err.to_string().contains("does-not-exist.json"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(&path, r#"{"ref":"refs/heads/main","before":"a","after":7}"#).unwrap();
        let err = Event::load(&Runtime::from_env_map([
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_EVENT_PATH", path.to_str().unwrap()),
        ]))
        .unwrap_err();
        let message = err.to_string();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::Usage);
        assert!(message.contains(path.to_str().unwrap()), "{message}");
        assert!(message.contains("at `after`"), "{message}");

        let err = Event::load(&Runtime::from_env_map([("GITHUB_EVENT_NAME", "push")])).unwrap_err();
        assert!(err.to_string().contains("GITHUB_EVENT_PATH"), "{err}");
    }
}
