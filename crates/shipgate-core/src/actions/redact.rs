//! The process-wide secret list and redaction: every secret shipgate
//! handles is registered once ([`register_secret`], or a
//! [`Secret`](super::Secret)) and every text the `cli` and `actions`
//! modules print passes through [`redact`].

use std::borrow::Cow;
use std::sync::{LazyLock, RwLock};

/// Every secret registered in this process, longest first so a secret that
/// contains another is replaced whole.
static SECRETS: LazyLock<RwLock<Vec<String>>> = LazyLock::new(|| RwLock::new(Vec::new()));

/// The parts of `secret` worth redacting: the whole value and each line of
/// a multi-line one (the runner masks line by line too). Blank parts are
/// skipped because "replace every empty string" would wreck all output.
pub(super) fn secret_parts(secret: &str) -> Vec<&str> {
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
