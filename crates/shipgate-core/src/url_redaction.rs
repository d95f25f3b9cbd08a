//! URLs as every shipgate tool shows and stores them.
//!
//! One rule for all five tools, for every URL that reaches a terminal, a
//! report file, a job summary, a step output or an annotation:
//!
//! - the password of the userinfo becomes `***` (`postgres://app:***@db:5432/prod`);
//!   a user name alone stays, unless it looks like a token
//!   (`https://ghp_…@github.com` becomes `https://***@github.com`);
//! - scheme, host, port and path stay, so errors stay readable, except for
//!   webhook-like URLs whose path *is* the credential (Slack, Discord,
//!   Teams, long random segments): their path becomes `/***`;
//! - every query value becomes `***` and the keys stay
//!   (`?token=***&page=***`); the fragment is dropped.
//!
//! [`mask`] registers the secret parts of a URL (and only those: password,
//! token-like user name, query values under credential-like keys or that look
//! like tokens, token-like path segments) for redaction, which in Actions
//! also announces each of them with `::add-mask::`.
//!
//! The URLs the tools build go through here too: [`encode_component`] is
//! the one percent-encoding of a path segment or query value (a branch name
//! may hold `/`, `#`, `&` or `+`).

use std::sync::LazyLock;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use url::Url;

use crate::actions::{Runtime, Secret};

/// What a password or query value is replaced with.
const HIDDEN: &str = "***";

/// Everything but RFC 3986's unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `text` percent-encoded as one path segment or query value: every byte
/// but RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ . ~`) becomes
/// `%XX`, so `/`, `#`, `&`, `+` and spaces cannot change the URL's shape.
pub fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// A URL safe to print or store (see the module documentation).
pub fn redact(url: &Url) -> String {
    let mut shown = String::with_capacity(url.as_str().len());
    shown.push_str(url.scheme());
    shown.push(':');
    if url.has_authority() {
        shown.push_str("//");
        let user = url.username();
        match url.password() {
            Some(_) => {
                shown.push_str(if looks_like_token(user) { HIDDEN } else { user });
                shown.push(':');
                shown.push_str(HIDDEN);
                shown.push('@');
            }
            None if !user.is_empty() => {
                shown.push_str(if looks_like_token(user) { HIDDEN } else { user });
                shown.push('@');
            }
            None => {}
        }
        shown.push_str(url.host_str().unwrap_or_default());
        if let Some(port) = url.port() {
            shown.push(':');
            shown.push_str(&port.to_string());
        }
    }
    if looks_like_webhook(url) {
        shown.push_str("/***");
    } else {
        shown.push_str(url.path());
    }
    if let Some(query) = url.query() {
        shown.push('?');
        shown.push_str(&redact_query(query));
    }
    shown
}

/// [`redact`] for text that may not be a valid URL. Text that does not
/// parse keeps its scheme, host and path; userinfo and query are cut the
/// same way as far as they can be told apart.
pub fn redact_str(text: &str) -> String {
    match Url::parse(text) {
        Ok(url) => redact(&url),
        Err(_) => redact_unparsable(text),
    }
}

/// Replaces every `scheme://…` URL inside free text (an error message, a
/// git line) with its [`redact_str`] form.
pub fn redact_in_text(text: &str) -> String {
    static URL: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r#"[A-Za-z][A-Za-z0-9+.-]*://[^\s'"<>()`]*[^\s'"<>().,;:!?`]"#).expect("valid regex")
    });
    if !text.contains("://") {
        return text.to_owned();
    }
    URL.replace_all(text, |captures: &regex::Captures<'_>| redact_str(&captures[0]))
        .into_owned()
}

/// The secret parts of `url`, each as written and percent-decoded: the
/// password, a token-like user name, query values under credential-like
/// keys or that look like tokens, and token-like path segments.
pub fn secret_parts(url: &Url) -> Vec<String> {
    let mut parts = Vec::new();
    let mut add = |raw: &str| {
        for candidate in [raw.to_owned(), decoded(raw)] {
            if !candidate.trim().is_empty() && !parts.contains(&candidate) {
                parts.push(candidate);
            }
        }
    };
    if let Some(password) = url.password() {
        add(password);
    }
    if looks_like_token(url.username()) {
        add(url.username());
    }
    if let Some(query) = url.query() {
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some((key, value)) if looks_like_credential_key(&decoded(key)) || looks_like_token(value) => add(value),
                Some(_) => {}
                None if looks_like_token(pair) => add(pair),
                None => {}
            }
        }
    }
    for segment in url.path_segments().into_iter().flatten() {
        if looks_like_token(segment) {
            add(segment);
        }
    }
    parts
}

/// [`secret_parts`] for text that may not parse; then only the password
/// of `scheme://user:password@host` can be told apart.
pub fn secret_parts_str(text: &str) -> Vec<String> {
    match Url::parse(text.trim()) {
        Ok(url) => secret_parts(&url),
        Err(_) => match unparsable_userinfo(text).and_then(|userinfo| userinfo.split_once(':')) {
            Some((_, password)) if !password.is_empty() => vec![password.to_owned(), decoded(password)],
            _ => Vec::new(),
        },
    }
}

/// `text` with the password of its userinfo removed (`postgres://app@db/prod`),
/// for a program that takes the password separately (`PGPASSWORD`).
pub fn without_password(text: &str) -> String {
    match Url::parse(text) {
        Ok(mut url) if url.password().is_some() => match url.set_password(None) {
            Ok(()) => url.into(),
            Err(()) => text.to_owned(),
        },
        _ => text.to_owned(),
    }
}

/// Registers the [`secret_parts`] of `url`: redacted from everything
/// shipgate prints, and announced with `::add-mask::` when this process runs
/// in Actions. The rest of the URL stays readable.
pub fn mask(url: &Url) {
    for part in secret_parts(url) {
        let _ = Secret::new(part);
    }
}

/// [`mask`] for text that may not parse as a URL.
pub fn mask_str(text: &str) {
    for part in secret_parts_str(text) {
        let _ = Secret::new(part);
    }
}

/// [`mask`] for every URL inside `text` (a URL given on the command line, a
/// template before rendering), announced through `runtime`.
pub fn mask_in_text(runtime: &Runtime, text: &str) {
    static URL: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r#"[A-Za-z][A-Za-z0-9+.-]*:[^\s'"<>`]+"#).expect("valid regex"));
    for found in URL.find_iter(text) {
        if let Ok(url) = Url::parse(found.as_str()) {
            for part in secret_parts(&url) {
                runtime.mask(&part);
            }
        }
    }
}

fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, "")) => format!("{key}="),
            Some((key, _)) => format!("{key}={HIDDEN}"),
            None if is_plain_word(pair) => pair.to_owned(),
            None => HIDDEN.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Best effort for text the URL parser refuses (`http://[bad`, a template):
/// the userinfo before the last `@` of the authority loses its password, and
/// the query its values.
fn redact_unparsable(text: &str) -> String {
    let without_fragment = text.split('#').next().unwrap_or_default();
    let (before_query, query) = match without_fragment.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (without_fragment, None),
    };
    let mut shown = match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            let authority = match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split(':').next().unwrap_or_default();
                    let user = if looks_like_token(user) { HIDDEN } else { user };
                    if userinfo.contains(':') {
                        format!("{user}:{HIDDEN}@{host}")
                    } else {
                        format!("{user}@{host}")
                    }
                }
                None => authority.to_owned(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => before_query.to_owned(),
    };
    if let Some(query) = query {
        shown.push('?');
        shown.push_str(&redact_query(query));
    }
    shown
}

/// The userinfo of `scheme://userinfo@host/...` in text the parser refused.
fn unparsable_userinfo(text: &str) -> Option<&str> {
    let rest = text.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(authority.rsplit_once('@')?.0)
}

fn decoded(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// Query keys whose values are credentials (`token`, `sig`, `api_key`,
/// `X-Amz-Signature`, `password`, `code`...).
fn looks_like_credential_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    [
        "token",
        "secret",
        "pass",
        "pwd",
        "key",
        "sig",
        "auth",
        "credential",
        "session",
        "code",
        "access",
    ]
    .iter()
    .any(|marker| lower.contains(marker))
}

/// A bare query word such as `?debug` or `?wait-for-it`.
fn is_plain_word(text: &str) -> bool {
    text.len() <= 32 && text.chars().all(|c| c.is_ascii_alphabetic() || c == '-' || c == '_')
}

/// Webhook-like URLs carry their credential in the path (Slack, Discord,
/// Teams webhooks, signed ids).
fn looks_like_webhook(url: &Url) -> bool {
    if url.cannot_be_a_base() {
        return false;
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let path = url.path().to_ascii_lowercase();
    host.starts_with("hooks.")
        || host.contains("webhook")
        || path.contains("hook")
        || url.path_segments().into_iter().flatten().any(looks_like_token)
}

/// Long values mixing letters and digits, or starting with a well-known
/// token prefix, are credentials or signed ids rather than names.
fn looks_like_token(text: &str) -> bool {
    const PREFIXES: [&str; 7] = ["ghp_", "gho_", "ghs_", "ghu_", "github_pat_", "glpat-", "xox"];
    if PREFIXES.iter().any(|prefix| text.starts_with(prefix)) {
        return true;
    }
    text.len() >= 20
        && text.chars().any(|c| c.is_ascii_digit())
        && text.chars().any(|c| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '%' | '~' | '+' | '/' | '='))
}

#[cfg(test)]
mod tests {
    #[test]
    fn components_keep_only_unreserved_characters() {
        assert_eq!(super::encode_component("hotfix/crash"), "hotfix%2Fcrash");
        assert_eq!(super::encode_component("acme:feature/a b"), "acme%3Afeature%2Fa%20b");
        assert_eq!(
            super::encode_component("fix/#12&c++~v1.2_x-y"),
            "fix%2F%2312%26c%2B%2B~v1.2_x-y"
        );
        assert_eq!(super::encode_component("é"), "%C3%A9");
    }

    use super::*;

    #[test]
    fn passwords_and_query_values_are_hidden_and_the_rest_stays() {
        let cases = [
            (
                "http://user:PASS@host.example/p?token=SECRET&page=2#frag",
                "http://user:***@host.example/p?token=***&page=***",
            ),
            (
                "postgres://app:s3cr%40t@db.internal:5432/prod?sslmode=require",
                "postgres://app:***@db.internal:5432/prod?sslmode=***",
            ),
            (
                "postgres://app@db.internal:5432/prod",
                "postgres://app@db.internal:5432/prod",
            ),
            (
                "https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r.git",
                "https://***@github.com/o/r.git",
            ),
            (
                "https://x-access-token:ghs_supersecret123@github.com/o/r.git",
                "https://x-access-token:***@github.com/o/r.git",
            ),
            (
                "https://api.example.com/v1/health?debug",
                "https://api.example.com/v1/health?debug",
            ),
            (
                "https://api.example.com/v1/health?empty=",
                "https://api.example.com/v1/health?empty=",
            ),
            (
                "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
                "https://hooks.slack.com/***",
            ),
            (
                "https://discord.com/api/webhooks/123456789012345678/abcDEF-ghi_jkl",
                "https://discord.com/***",
            ),
            (
                "https://example.com/notify/a1b2c3d4e5f6a7b8c9d0e1f2",
                "https://example.com/***",
            ),
            ("http://[::1]:8080/health", "http://[::1]:8080/health"),
            ("sqlite:./shipgate-dev.db", "sqlite:./shipgate-dev.db"),
            ("mailto:ops@example.com?subject=x", "mailto:ops@example.com?subject=***"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_str(input), expected, "{input}");
        }
    }

    #[test]
    fn unparsable_urls_lose_their_secrets_too() {
        assert_eq!(
            redact_str("http://user:PASS@[bad/p?token=SECRET"),
            "http://user:***@[bad/p?token=***"
        );
        assert_eq!(redact_str("{{ env.BASE }}/health?k=v"), "{{ env.BASE }}/health?k=***");
    }

    #[test]
    fn urls_inside_text_are_redacted_in_place() {
        assert_eq!(
            redact_in_text("fatal: unable to access 'https://user:p%40ss@github.com/o/r.git/': 403"),
            "fatal: unable to access 'https://user:***@github.com/o/r.git/': 403"
        );
        assert_eq!(
            redact_in_text("failed to reach https://u:p@example.com/a?b=c, giving up"),
            "failed to reach https://u:***@example.com/a?b=***, giving up"
        );
        assert_eq!(redact_in_text("no url here"), "no url here");
    }

    #[test]
    fn only_the_secret_parts_are_masked() {
        let url = Url::parse(
            "https://user:PASS%40word@host.example/p?token=SECRET&page=2&sig=abcdef&q=a1b2c3d4e5f6a7b8c9d0e1",
        )
        .unwrap();
        assert_eq!(
            secret_parts(&url),
            ["PASS%40word", "PASS@word", "SECRET", "abcdef", "a1b2c3d4e5f6a7b8c9d0e1"]
        );
        let plain = Url::parse("postgres://app@db.internal:5432/prod?sslmode=require").unwrap();
        assert!(secret_parts(&plain).is_empty());
    }

    #[test]
    fn masking_announces_each_secret_part_alone() {
        let (runtime, captured) = Runtime::from_env_map([("GITHUB_ACTIONS", "true")]).capture_output();
        mask_in_text(
            &runtime,
            "checking http://maskuser:MaskPass-7f3@127.0.0.1:9/p?token=MaskTok-91x now",
        );
        assert_eq!(captured.stdout(), "::add-mask::MaskPass-7f3\n::add-mask::MaskTok-91x\n");
        assert_eq!(crate::actions::redact("MaskPass-7f3 and MaskTok-91x"), "*** and ***");
    }
}
