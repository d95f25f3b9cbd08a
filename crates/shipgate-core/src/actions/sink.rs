//! Where workflow commands go: the real stdout and stderr, or a buffer a
//! test reads back ([`CapturedOutput`]); and [`mask_on`], the one place a
//! secret is registered and announced with `::add-mask::`, once per sink.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, LazyLock, Mutex};

use super::annotation::escape_data;
use super::redact::{register_secret, secret_parts};

/// Secrets already announced with `::add-mask::` on the real stdout.
static MASKED_ON_STDOUT: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

/// Text written to stdout/stderr by a [`Runtime`](super::Runtime) made with
/// [`Runtime::capture_output`](super::Runtime::capture_output).
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
pub(super) enum Sink {
    Process,
    Captured(CapturedOutput),
}

impl Sink {
    pub(super) fn stdout_line(&self, line: &str) {
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

    pub(super) fn stderr_line(&self, line: &str) {
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

pub(super) fn mask_on(sink: &Sink, in_actions: bool, secret: &str) {
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
