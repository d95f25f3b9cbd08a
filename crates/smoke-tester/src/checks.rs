//! The checks file: what to request and what to assert, with variables from
//! the environment (`{{ env.API_URL }}`) and captures from earlier responses.
//!
//! ```toml
//! base_url = "{{ env.API_URL }}"
//!
//! [[check]]
//! name = "health"
//! url = "/health"
//! status = 200
//! capture = { version = "$.version" }
//! [[check.assert]]
//! jsonpath = "$.status"
//! equals = "healthy"
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;
use shipgate_core::actions::Secret;
use shipgate_core::config::ConfigDuration;
use shipgate_core::exit::{Error, Result};
use shipgate_core::url_redaction::{redact_in_text, redact_str};
use toml::Spanned;

use crate::assertions::{Assertion, Comparison, StatusMatcher, ValueCheck};
use crate::probe::{ProbeFailure, Prober, RequestSpec, shown_url};

/// Per-check defaults when neither the check nor `[defaults]` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// A loaded, validated set of checks.
#[derive(Debug, Clone)]
pub struct CheckSet {
    /// Where the checks came from, for messages.
    pub origin: String,
    pub checks: Vec<Check>,
}

impl CheckSet {
    /// Captures make later checks depend on earlier ones, so such a set runs in order.
    pub fn is_sequential(&self) -> bool {
        self.checks.iter().any(|check| !check.captures.is_empty())
    }

    /// Catches what no retry can fix before any request is sent: an
    /// `{{ env.NAME }}` that is not set, a URL that does not parse, a scheme
    /// other than http(s). URLs that use captures are judged when they are
    /// rendered. The secret parts of every URL are masked here, before
    /// anything can print them.
    pub fn validate(&self, variables: &Variables) -> Result<()> {
        self.checks.iter().try_for_each(|check| check.validate(variables))
    }
}

/// One check, with its templates still unrendered.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub method: reqwest::Method,
    /// Absolute, or relative to the base URL.
    pub url: String,
    pub base_url: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub timeout: Duration,
    pub follow_redirects: bool,
    /// Extra attempts after a failure; None means `failure_threshold - 1`.
    pub retries: Option<u32>,
    pub interval: Duration,
    pub assertions: Vec<Assertion>,
    /// Variable name → where to take its value from in the response.
    pub captures: Vec<(String, CaptureSource)>,
}

/// Where a capture's value comes from.
#[derive(Debug, Clone)]
pub enum CaptureSource {
    JsonPath(serde_json_path::JsonPath),
    Header(String),
}

impl Check {
    /// A check with defaults for `url`, used by the one-URL commands.
    pub fn for_url(url: &str) -> Self {
        Check {
            // The name is printed everywhere: never the URL's secrets.
            name: shipgate_core::url_redaction::redact_str(url),
            method: reqwest::Method::GET,
            url: url.to_owned(),
            base_url: None,
            headers: Vec::new(),
            body: None,
            timeout: DEFAULT_TIMEOUT,
            follow_redirects: true,
            retries: None,
            interval: DEFAULT_INTERVAL,
            assertions: Vec::new(),
            captures: Vec::new(),
        }
    }

    /// The assertions to apply: the declared ones, or "status 2xx" when none
    /// concerns the status, because a 500 must never pass silently.
    pub fn effective_assertions(&self) -> Vec<Assertion> {
        let mut assertions = self.assertions.clone();
        if !assertions.iter().any(|a| matches!(a, Assertion::Status(_))) {
            assertions.insert(0, Assertion::Status(StatusMatcher::Range(200, 399)));
        }
        assertions
    }
}

// ---------------------------------------------------------------------------
// The file format

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    base_url: Option<String>,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default, rename = "check")]
    checks: Vec<Spanned<RawCheck>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    timeout: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    retries: Option<u32>,
    follow_redirects: Option<bool>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    name: String,
    #[serde(default = "default_method")]
    method: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    json: Option<toml::Value>,
    timeout: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    retries: Option<u32>,
    follow_redirects: Option<bool>,
    /// Shorthand for one status assertion.
    status: Option<Spanned<toml::Value>>,
    #[serde(default, rename = "assert")]
    assertions: Vec<Spanned<RawAssertion>>,
    /// `name = "$.json.path"` or `name = "header:X-Request-Id"`.
    #[serde(default)]
    capture: BTreeMap<String, Spanned<String>>,
}

fn default_method() -> String {
    "GET".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssertion {
    status: Option<toml::Value>,
    jsonpath: Option<String>,
    header: Option<String>,
    selector: Option<String>,
    body_contains: Option<String>,
    body_matches: Option<String>,
    max_latency: Option<String>,
    cert_days_min: Option<i64>,
    exists: Option<bool>,
    equals: Option<toml::Value>,
    not_equals: Option<toml::Value>,
    contains: Option<String>,
    matches: Option<String>,
    lt: Option<f64>,
    le: Option<f64>,
    gt: Option<f64>,
    ge: Option<f64>,
}

/// Reads and validates a checks file; every mistake is exit 2 with `file:line`.
pub fn load_file(path: &Path) -> Result<CheckSet> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage_with(format!("cannot read checks file {}", path.display()), e))?;
    parse(&text, &path.display().to_string())
}

/// `shipgate.toml` seen only for its `[smoke]` checks; the rest of the file
/// is the configuration loader's business.
#[derive(Debug, Deserialize)]
struct ShipgateToml {
    #[serde(default)]
    smoke: SmokeSection,
}

#[derive(Debug, Default, Deserialize)]
struct SmokeSection {
    base_url: Option<String>,
    #[serde(default)]
    check: Vec<Spanned<RawCheck>>,
}

/// An error at byte `offset` of `text`, as `origin:line: message`.
fn located(text: &str, origin: &str, offset: usize, message: String) -> Error {
    let line = text[..offset.min(text.len())].matches('\n').count() + 1;
    Error::usage(format!("{origin}:{line}: {message}"))
}

fn syntax_error(text: &str, origin: &str, err: &toml::de::Error) -> Error {
    let offset = err.span().map_or(0, |span| span.start);
    located(text, origin, offset, err.message().trim().to_owned())
}

/// Parses checks file text; `origin` names it in messages.
pub fn parse(text: &str, origin: &str) -> Result<CheckSet> {
    let raw: RawFile = toml::from_str(text).map_err(|err| syntax_error(text, origin, &err))?;
    build(raw, text, origin)
}

/// The `[[smoke.check]]` tables of a `shipgate.toml`'s text.
pub fn parse_shipgate_toml(text: &str, origin: &str) -> Result<CheckSet> {
    let raw: ShipgateToml = toml::from_str(text).map_err(|err| syntax_error(text, origin, &err))?;
    let smoke = raw.smoke;
    build(
        RawFile {
            base_url: smoke.base_url,
            defaults: RawDefaults::default(),
            checks: smoke.check,
        },
        text,
        origin,
    )
}

fn build(raw: RawFile, text: &str, origin: &str) -> Result<CheckSet> {
    let at = |offset: usize, message: String| located(text, origin, offset, message);
    let templates = minijinja::Environment::new();
    let check_template = |offset: usize, source: &str| -> Result<()> {
        templates
            .template_from_str(source)
            .map(|_| ())
            .map_err(|e| at(offset, format!("invalid template `{source}`: {e}")))
    };
    if let Some(base) = &raw.base_url {
        check_template(0, base)?;
    }
    let duration = |value: &Option<Spanned<String>>, fallback: Duration| -> Result<Duration> {
        match value {
            None => Ok(fallback),
            Some(spanned) => ConfigDuration::parse(spanned.get_ref())
                .map(|d| d.as_duration())
                .map_err(|e| at(spanned.span().start, e.to_string())),
        }
    };
    let default_timeout = duration(&raw.defaults.timeout, DEFAULT_TIMEOUT)?;
    let default_interval = duration(&raw.defaults.interval, DEFAULT_INTERVAL)?;
    let mut names = std::collections::HashSet::new();
    let mut checks = Vec::with_capacity(raw.checks.len());
    for spanned in raw.checks {
        let offset = spanned.span().start;
        let raw_check = spanned.into_inner();
        let fail = |message: String| at(offset, format!("check `{}`: {message}", raw_check.name));
        if !names.insert(raw_check.name.clone()) {
            return Err(fail("the name is used twice".into()));
        }
        let method = reqwest::Method::from_bytes(raw_check.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| fail(format!("invalid method `{}`", raw_check.method)))?;
        check_template(offset, &raw_check.url)?;
        let mut headers: BTreeMap<String, String> = raw.defaults.headers.clone();
        headers.extend(raw_check.headers.clone());
        for (name, value) in &headers {
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| fail(format!("invalid header name `{name}`")))?;
            check_template(offset, value)?;
        }
        let body = match (&raw_check.body, &raw_check.json) {
            (Some(_), Some(_)) => return Err(fail("give either `body` or `json`, not both".into())),
            (Some(body), None) => Some(body.clone()),
            (None, Some(json)) => {
                headers
                    .entry("content-type".into())
                    .or_insert_with(|| "application/json".into());
                Some(serde_json::to_string(json).map_err(|e| fail(format!("`json` cannot be encoded: {e}")))?)
            }
            (None, None) => None,
        };
        if let Some(body) = &body {
            check_template(offset, body)?;
        }
        let mut assertions = Vec::new();
        if let Some(status) = &raw_check.status {
            assertions.push(Assertion::Status(
                StatusMatcher::from_toml(status.get_ref()).map_err(|e| at(status.span().start, e))?,
            ));
        }
        for assertion in &raw_check.assertions {
            assertions.push(
                build_assertion(assertion.get_ref())
                    .map_err(|e| at(assertion.span().start, format!("check `{}`: {e}", raw_check.name)))?,
            );
        }
        let mut captures = Vec::new();
        for (name, source) in &raw_check.capture {
            let text = source.get_ref();
            let parsed = match text.strip_prefix("header:") {
                Some(header) => CaptureSource::Header(header.trim().to_ascii_lowercase()),
                None => CaptureSource::JsonPath(
                    serde_json_path::JsonPath::parse(text)
                        .map_err(|e| at(source.span().start, format!("invalid JSONPath `{text}`: {e}")))?,
                ),
            };
            if name == "env" {
                return Err(at(source.span().start, "a capture cannot be named `env`".into()));
            }
            captures.push((name.clone(), parsed));
        }
        checks.push(Check {
            name: raw_check.name.clone(),
            method,
            url: raw_check.url.clone(),
            base_url: raw.base_url.clone(),
            headers: headers.into_iter().collect(),
            body,
            timeout: duration(&raw_check.timeout, default_timeout)?,
            follow_redirects: raw_check
                .follow_redirects
                .or(raw.defaults.follow_redirects)
                .unwrap_or(true),
            retries: raw_check.retries.or(raw.defaults.retries),
            interval: duration(&raw_check.interval, default_interval)?,
            assertions,
            captures,
        });
    }
    if checks.is_empty() {
        return Err(Error::usage(format!(
            "{origin}: no checks: add at least one [[check]] table"
        )));
    }
    Ok(CheckSet {
        origin: origin.to_owned(),
        checks,
    })
}

fn build_assertion(raw: &RawAssertion) -> std::result::Result<Assertion, String> {
    let subjects = [
        raw.status.is_some(),
        raw.jsonpath.is_some(),
        raw.header.is_some(),
        raw.selector.is_some(),
        raw.body_contains.is_some(),
        raw.body_matches.is_some(),
        raw.max_latency.is_some(),
        raw.cert_days_min.is_some(),
    ];
    if subjects.iter().filter(|s| **s).count() != 1 {
        return Err(
            "an assertion needs exactly one of status, jsonpath, header, selector, body_contains, \
                    body_matches, max_latency, cert_days_min"
                .into(),
        );
    }
    if let Some(status) = &raw.status {
        return Ok(Assertion::Status(StatusMatcher::from_toml(status)?));
    }
    if let Some(text) = &raw.body_contains {
        return Ok(Assertion::BodyContains(text.clone()));
    }
    if let Some(pattern) = &raw.body_matches {
        return Ok(Assertion::BodyMatches(
            Regex::new(pattern).map_err(|e| format!("invalid regex: {e}"))?,
        ));
    }
    if let Some(limit) = &raw.max_latency {
        return Ok(Assertion::MaxLatency(
            ConfigDuration::parse(limit).map_err(|e| e.to_string())?.as_duration(),
        ));
    }
    if let Some(days) = raw.cert_days_min {
        return Ok(Assertion::CertDaysMin(days));
    }
    let check = value_check(raw)?;
    if let Some(path) = &raw.jsonpath {
        return Assertion::json_path(path, check);
    }
    if let Some(name) = &raw.header {
        reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name `{name}`"))?;
        return Ok(Assertion::Header {
            name: name.to_ascii_lowercase(),
            check,
        });
    }
    match &raw.selector {
        Some(selector) => Assertion::selector(selector, check),
        None => Err("an assertion needs a subject".into()),
    }
}

fn value_check(raw: &RawAssertion) -> std::result::Result<ValueCheck, String> {
    let to_json = |value: &toml::Value| serde_json::to_value(value).map_err(|e| e.to_string());
    let mut checks = Vec::new();
    if let Some(exists) = raw.exists {
        checks.push(ValueCheck::Exists(exists));
    }
    if let Some(value) = &raw.equals {
        checks.push(ValueCheck::Equals(to_json(value)?));
    }
    if let Some(value) = &raw.not_equals {
        checks.push(ValueCheck::NotEquals(to_json(value)?));
    }
    if let Some(text) = &raw.contains {
        checks.push(ValueCheck::Contains(text.clone()));
    }
    if let Some(pattern) = &raw.matches {
        checks.push(ValueCheck::Matches(
            Regex::new(pattern).map_err(|e| format!("invalid regex: {e}"))?,
        ));
    }
    for (bound, comparison) in [
        (raw.lt, Comparison::Less),
        (raw.le, Comparison::LessOrEqual),
        (raw.gt, Comparison::Greater),
        (raw.ge, Comparison::GreaterOrEqual),
    ] {
        if let Some(bound) = bound {
            checks.push(ValueCheck::Compare(comparison, bound));
        }
    }
    match checks.len() {
        0 => Ok(ValueCheck::Exists(true)),
        1 => Ok(checks.remove(0)),
        _ => Err("use one of exists, equals, not_equals, contains, matches, lt, le, gt, ge per assertion".into()),
    }
}

// ---------------------------------------------------------------------------
// Rendering and running

/// Variables visible to templates: `env` and the captures so far.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    env: BTreeMap<String, String>,
    captures: BTreeMap<String, Value>,
}

impl Variables {
    pub fn from_env(env: impl IntoIterator<Item = (String, String)>) -> Self {
        Variables {
            env: env.into_iter().collect(),
            captures: BTreeMap::new(),
        }
    }

    fn render(&self, template: &str) -> std::result::Result<String, String> {
        // Most URLs and headers are literal; skip building a template engine for them.
        if !template.contains("{{") && !template.contains("{%") && !template.contains("{#") {
            return Ok(template.to_owned());
        }
        let mut environment = minijinja::Environment::new();
        environment.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let mut context: BTreeMap<String, Value> = self.captures.clone();
        context.insert("env".into(), serde_json::to_value(&self.env).unwrap_or(Value::Null));
        environment
            .render_str(template, minijinja::Value::from(minijinja::value::Serde(&context)))
            .map_err(|e| format!("cannot render `{}`: {e}", redact_in_text(template)))
    }

    /// The first `env.NAME` that `template` uses and the environment lacks.
    fn undefined_env<'t>(&self, template: &'t str) -> Option<&'t str> {
        ENV_REFERENCE
            .captures_iter(template)
            .filter_map(|reference| reference.get(1))
            .map(|name| name.as_str())
            .find(|name| !self.env.contains_key(*name))
    }

    /// Whether `template` uses anything but `env` (captures, known only once
    /// earlier checks have run).
    fn uses_captures(&self, template: &str) -> bool {
        static VARIABLE: std::sync::LazyLock<Regex> =
            std::sync::LazyLock::new(|| Regex::new(r"\{[{%][^}]*?\b([A-Za-z_][A-Za-z0-9_]*)\b").expect("valid regex"));
        VARIABLE
            .captures_iter(template)
            .filter_map(|found| found.get(1))
            .any(|name| name.as_str() != "env")
    }

    /// Registers the values of environment variables a template uses whose
    /// names look secret, so they are redacted wherever they end up.
    fn register_env_secrets(&self, template: &str) {
        for reference in ENV_REFERENCE.captures_iter(template) {
            let name = &reference[1];
            if looks_secret(name)
                && let Some(value) = self.env.get(name)
            {
                let _ = Secret::new(value.clone());
            }
        }
    }
}

/// How long past a latency bound an attempt still waits: a fifth of the
/// bound, at least 100 ms, so a response that only just misses the bound is
/// still measured and reported with its latency.
pub fn latency_margin(bound: Duration) -> Duration {
    (bound / 5).max(Duration::from_millis(100))
}

/// `env.NAME` inside a template.
static ENV_REFERENCE: std::sync::LazyLock<Regex> =
    std::sync::LazyLock::new(|| Regex::new(r"env\.([A-Za-z_][A-Za-z0-9_]*)").expect("valid regex"));

/// Header and variable names whose values are credentials.
fn looks_secret(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "authorization",
        "cookie",
        "token",
        "secret",
        "password",
        "api-key",
        "api_key",
        "apikey",
        "auth",
    ]
    .iter()
    .any(|marker| lower.contains(marker))
}

impl Check {
    /// Renders the templates into a request; sensitive header values are
    /// registered as secrets before anything can print them.
    pub fn render(&self, variables: &Variables) -> std::result::Result<RequestSpec, String> {
        let url = self.render_url(variables)?;
        let mut headers = Vec::with_capacity(self.headers.len());
        for (name, template) in &self.headers {
            variables.register_env_secrets(template);
            let value = variables.render(template)?;
            if looks_secret(name) {
                let _ = Secret::new(value.clone());
                // `Bearer <token>`: the token alone must not leak either.
                if let Some((_, credential)) = value.split_once(' ') {
                    let _ = Secret::new(credential.trim().to_owned());
                }
            }
            headers.push((name.clone(), value));
        }
        let body = match &self.body {
            Some(template) => {
                variables.register_env_secrets(template);
                Some(variables.render(template)?.into_bytes())
            }
            None => None,
        };
        Ok(RequestSpec {
            method: self.method.clone(),
            url,
            headers,
            body,
            timeout: self.request_timeout(),
            follow_redirects: self.follow_redirects,
        })
    }
}

impl Check {
    /// The tightest `max_latency` assertion of this check.
    pub fn latency_bound(&self) -> Option<Duration> {
        self.assertions
            .iter()
            .filter_map(|assertion| match assertion {
                Assertion::MaxLatency(bound) => Some(*bound),
                _ => None,
            })
            .min()
    }

    /// How long one attempt waits for its answer: the check's timeout, or,
    /// with a latency bound, the bound plus [`latency_margin`] when that is
    /// shorter. Past it the latency assertion has clearly failed and waiting
    /// longer only delays the verdict.
    pub fn request_timeout(&self) -> Duration {
        match self.latency_bound() {
            Some(bound) => self.timeout.min(bound + latency_margin(bound)),
            None => self.timeout,
        }
    }

    /// [`CheckSet::validate`] for one check.
    pub fn validate(&self, variables: &Variables) -> Result<()> {
        let fail = |message: String| Error::usage_with(format!("check `{}`", self.name), message);
        let templates = std::iter::once(self.url.as_str())
            .chain(self.base_url.as_deref())
            .chain(self.headers.iter().map(|(_, value)| value.as_str()))
            .chain(self.body.as_deref());
        for template in templates {
            if let Some(name) = variables.undefined_env(template) {
                return Err(fail(format!("`{{{{ env.{name} }}}}` is not set in the environment")));
            }
        }
        if variables.uses_captures(&self.url) {
            return Ok(());
        }
        self.render_url(variables).map(|_| ()).map_err(fail)
    }

    /// The absolute http(s) URL this check requests, its secret parts masked.
    fn render_url(&self, variables: &Variables) -> std::result::Result<reqwest::Url, String> {
        let url_text = variables.render(&self.url)?;
        let url = match reqwest::Url::parse(&url_text) {
            Ok(url) => url,
            Err(error) if error != url::ParseError::RelativeUrlWithoutBase => {
                return Err(format!("invalid URL `{}`: {error}", redact_str(&url_text)));
            }
            Err(_) => {
                let shown = redact_str(&url_text);
                let base = match &self.base_url {
                    Some(base) => variables.render(base)?,
                    None => return Err(format!("`{shown}` is not an absolute URL and no base URL is set")),
                };
                let base =
                    reqwest::Url::parse(&base).map_err(|e| format!("invalid base URL `{}`: {e}", redact_str(&base)))?;
                base.join(url_text.trim_start_matches('/'))
                    .map_err(|e| format!("invalid URL `{shown}`: {e}"))?
            }
        };
        shipgate_core::url_redaction::mask(&url);
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "`{}` is not an http(s) URL (scheme `{}`)",
                shown_url(&url),
                url.scheme()
            ));
        }
        Ok(url)
    }
}

/// The result of one check after all its attempts.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckOutcome {
    pub name: String,
    pub method: String,
    /// Redacted: no query, no userinfo.
    pub url: String,
    pub passed: bool,
    pub attempts: u32,
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// Why no response could be judged (timeout, TLS, refused...).
    pub error: Option<String>,
    pub assertions: Vec<crate::assertions::Verdict>,
}

impl CheckOutcome {
    /// The first reason this check failed, in one line.
    pub fn failure_reason(&self) -> Option<String> {
        if self.passed {
            return None;
        }
        if let Some(error) = &self.error {
            return Some(error.clone());
        }
        self.assertions
            .iter()
            .find(|v| !v.passed)
            .map(|v| format!("{}: expected {}, actual {}", v.assertion, v.expected, v.actual))
    }
}

/// Runs one attempt of `check`: render, send, judge, capture.
pub async fn attempt(prober: &Prober, check: &Check, variables: &Variables) -> (CheckOutcome, Vec<(String, Value)>) {
    let mut outcome = CheckOutcome {
        name: check.name.clone(),
        method: check.method.to_string(),
        url: check.url.clone(),
        passed: false,
        attempts: 1,
        status: None,
        latency_ms: 0,
        error: None,
        assertions: Vec::new(),
    };
    let spec = match check.render(variables) {
        Ok(spec) => spec,
        Err(message) => {
            outcome.error = Some(message);
            return (outcome, Vec::new());
        }
    };
    outcome.url = shown_url(&spec.url);
    match prober.send(&spec).await {
        Err(ProbeFailure {
            message,
            latency,
            timed_out,
        }) => {
            outcome.latency_ms = latency.as_millis() as u64;
            match check.latency_bound() {
                // Cut short by the latency bound: that assertion is the verdict.
                Some(bound) if timed_out && spec.timeout < check.timeout => {
                    outcome.assertions = vec![crate::assertions::Verdict {
                        assertion: Assertion::MaxLatency(bound).describe(),
                        passed: false,
                        expected: format!("<= {} ms", bound.as_millis()),
                        actual: format!("no response within {} ms", spec.timeout.as_millis()),
                    }];
                }
                _ => outcome.error = Some(message),
            }
            (outcome, Vec::new())
        }
        Ok(exchange) => {
            outcome.status = Some(exchange.status);
            outcome.latency_ms = exchange.latency.as_millis() as u64;
            outcome.assertions = check
                .effective_assertions()
                .iter()
                .map(|assertion| assertion.evaluate(&exchange))
                .collect();
            outcome.passed = outcome.assertions.iter().all(|v| v.passed);
            let mut captured = Vec::new();
            if outcome.passed {
                let document = serde_json::from_slice::<Value>(&exchange.body).ok();
                for (name, source) in &check.captures {
                    let value = match source {
                        CaptureSource::Header(header) => exchange
                            .headers
                            .get(header.as_str())
                            .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned())),
                        CaptureSource::JsonPath(path) => document
                            .as_ref()
                            .and_then(|doc| path.query(doc).all().first().map(|v| (*v).clone())),
                    };
                    match value {
                        Some(value) => captured.push((name.clone(), value)),
                        None => {
                            outcome.passed = false;
                            outcome.error = Some(format!("capture `{name}` found nothing in the response"));
                        }
                    }
                }
            }
            (outcome, captured)
        }
    }
}

/// Runs `check` until it passes or has failed `retries + 1` times in a row,
/// `interval` apart; a pass after failures reports the attempts it took.
pub async fn run_with_retries(
    prober: &Prober,
    check: &Check,
    variables: &Variables,
    default_retries: u32,
) -> (CheckOutcome, Vec<(String, Value)>) {
    let retries = check.retries.unwrap_or(default_retries);
    let mut attempt_number = 1;
    loop {
        let (mut outcome, captured) = attempt(prober, check, variables).await;
        outcome.attempts = attempt_number;
        if outcome.passed || attempt_number > retries {
            return (outcome, captured);
        }
        attempt_number += 1;
        tokio::time::sleep(check.interval).await;
    }
}

impl Variables {
    pub fn add_captures(&mut self, captured: Vec<(String, Value)>) {
        self.captures.extend(captured);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage_message(text: &str) -> String {
        match parse(text, "checks.toml") {
            Err(err) => {
                assert_eq!(err.exit_code(), shipgate_core::exit::ExitCode::Usage);
                err.to_string()
            }
            Ok(_) => panic!("expected an error for:\n{text}"),
        }
    }

    #[test]
    fn a_full_checks_file_loads() {
        let set = parse(
            r#"
base_url = "{{ env.API_URL }}"
[defaults]
timeout = "2s"
retries = 1

[[check]]
name = "health"
url = "/health"
status = "2xx"
capture = { version = "$.version", request_id = "header:X-Request-Id" }
[[check.assert]]
jsonpath = "$.status"
equals = "healthy"
[[check.assert]]
max_latency = "500ms"

[[check]]
name = "login"
method = "post"
url = "/api/login"
json = { user = "smoke" }
headers = { Authorization = "Bearer {{ env.API_TOKEN }}" }
follow_redirects = false
"#,
            "checks.toml",
        )
        .unwrap();
        assert_eq!(set.checks.len(), 2);
        assert!(set.is_sequential());
        let health = &set.checks[0];
        assert_eq!(health.timeout, Duration::from_secs(2));
        assert_eq!(health.retries, Some(1));
        assert_eq!(health.assertions.len(), 3);
        let login = &set.checks[1];
        assert_eq!(login.method, reqwest::Method::POST);
        assert!(!login.follow_redirects);
        assert!(
            login
                .headers
                .iter()
                .any(|(n, v)| n == "content-type" && v == "application/json")
        );
    }

    #[test]
    fn the_seed_checks_fixture_loads() {
        let text = include_str!("../../../fixtures/smoke-tester/seed-checks.toml");
        let set = parse(text, "seed-checks.toml").unwrap();
        let names: Vec<&str> = set.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["homepage", "health", "api", "ready"]);
        assert!(!set.is_sequential());
        assert_eq!(set.checks[1].assertions.len(), 4);
    }

    #[test]
    fn mistakes_name_the_file_and_line() {
        let message = usage_message("[[check]]\nname = \"a\"\nurl = \"/\"\nstatus = 999\n");
        assert!(message.starts_with("checks.toml:4: "), "{message}");
        let message = usage_message("[[check]]\nname = \"a\"\nurl = \"/\"\n\n[[check.assert]]\njsonpath = \"$[\"\n");
        assert!(
            message.starts_with("checks.toml:5: ") && message.contains("JSONPath"),
            "{message}"
        );
        let message = usage_message("[[check]]\nname = \"a\"\nurl = \"/\"\nbogus = 1\n");
        assert!(
            message.starts_with("checks.toml:4: ") && message.contains("bogus"),
            "{message}"
        );
        let message = usage_message("[[check]]\nname = \"a\"\nurl = \"/\nstatus = 1\n");
        assert!(message.starts_with("checks.toml:3: "), "{message}");
        let message = usage_message("[[check]]\nname = \"a\"\nurl = \"/{{ oops \"\n");
        assert!(message.contains("invalid template"), "{message}");
        assert!(usage_message("").contains("no checks"));
    }

    #[test]
    fn templates_render_env_and_captures_and_register_secrets() {
        let set = parse(
            r#"
base_url = "{{ env.API_URL }}"
[[check]]
name = "me"
url = "/users/{{ user_id }}"
headers = { Authorization = "Bearer {{ env.SMOKE_TEST_TOKEN_UNIT }}" }
"#,
            "checks.toml",
        )
        .unwrap();
        let mut variables = Variables::from_env([
            ("API_URL".to_owned(), "http://127.0.0.1:8080/".to_owned()),
            ("SMOKE_TEST_TOKEN_UNIT".to_owned(), "tok-unit-4242".to_owned()),
        ]);
        let missing = set.checks[0].render(&variables).unwrap_err();
        assert!(
            missing.contains("user_id") || missing.contains("undefined"),
            "{missing}"
        );
        variables.add_captures(vec![("user_id".into(), Value::from(7))]);
        let spec = set.checks[0].render(&variables).unwrap();
        assert_eq!(spec.url.as_str(), "http://127.0.0.1:8080/users/7");
        assert_eq!(shipgate_core::actions::redact("sent Bearer tok-unit-4242"), "sent ***");
        assert_eq!(shipgate_core::actions::redact("token=tok-unit-4242"), "token=***");
    }
}
