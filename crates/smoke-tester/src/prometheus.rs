//! The rollback triggers as PromQL, and the Prometheus HTTP API client that
//! evaluates them (`GET /api/v1/query`, instant queries).
//!
//! The default queries are built from a series selector such as
//! `{job="api"}` and the metric and label names of `[smoke.prometheus]`:
//! the share of requests answered with an error status, and the p95 of the
//! request duration histogram, both over one window. A query that matches
//! no series, or yields NaN (no traffic: 0/0), has no value; the analysis
//! treats that as inconclusive, never as a pass.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde::Deserialize;
use shipgate_core::actions::{Runtime, Secret};
use shipgate_core::config::{SmokeConfig, SmokePrometheus};
use shipgate_core::exit::{Error, Result};
use shipgate_core::http::{client_with_roots, send_with_retry, status_text};
use shipgate_core::retry::RetryPolicy;
use shipgate_core::url_redaction::redact as redact_url;

use crate::parse_duration;

/// Bearer token for Prometheus (or a proxy in front of it).
pub const TOKEN_ENV: &str = "PROMETHEUS_TOKEN";
/// Basic auth user and password for Prometheus.
pub const USERNAME_ENV: &str = "PROMETHEUS_USERNAME";
pub const PASSWORD_ENV: &str = "PROMETHEUS_PASSWORD";

/// How long one query may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The Argo-style analysis flags shared by `watch` and `compare`.
#[derive(Args, Debug, Clone, Default)]
pub struct AnalysisArgs {
    /// Judge from this Prometheus' metrics as well (credentials: PROMETHEUS_TOKEN, or PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD)
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// Consecutive breaching measurements of one query that call a rollback [default: [smoke] failure_threshold, 3]
    #[arg(long, value_name = "N", requires = "prometheus")]
    pub failure_limit: Option<u32>,
    /// Consecutive measurements of one query without data that end the analysis as inconclusive
    #[arg(long, value_name = "N", default_value_t = 3, requires = "prometheus")]
    pub inconclusive_limit: u32,
    /// Range of the default queries' rate() [default: [smoke] error_rate_window, 5m]
    #[arg(long, value_name = "DURATION", requires = "prometheus")]
    pub query_window: Option<String>,
}

impl AnalysisArgs {
    /// The consecutive breaches that call a rollback.
    pub fn failure_limit(&self, config: &SmokeConfig) -> Result<u32> {
        match self.failure_limit {
            Some(0) => Err(Error::usage("--failure-limit: at least 1")),
            Some(limit) => Ok(limit),
            None => Ok(config.failure_threshold.get()),
        }
    }

    /// The consecutive measurements without data that end the analysis.
    pub fn inconclusive_limit(&self) -> Result<u32> {
        match self.inconclusive_limit {
            0 => Err(Error::usage("--inconclusive-limit: at least 1")),
            limit => Ok(limit),
        }
    }

    /// The `rate()` range of the default queries.
    pub fn window(&self, config: &SmokeConfig) -> Result<Duration> {
        match &self.query_window {
            Some(text) => parse_duration("query-window", text),
            None => Ok(config.error_rate_window.as_duration()),
        }
    }
}

/// `watch`'s queries: defaults from a selector, or given whole.
#[derive(Args, Debug, Clone, Default)]
pub struct WatchQueryArgs {
    /// Series selector of the service's metrics, for the default queries, e.g. '{job="api"}'
    #[arg(long, value_name = "SELECTOR", requires = "prometheus")]
    pub selector: Option<String>,
    /// PromQL giving the error ratio (0 to 1), instead of the default from --selector
    #[arg(long, value_name = "PROMQL", requires = "prometheus")]
    pub error_rate_query: Option<String>,
    /// PromQL giving the p95 latency in seconds, instead of the default from --selector
    #[arg(long, value_name = "PROMQL", requires = "prometheus")]
    pub p95_query: Option<String>,
}

/// A selector's matchers without braces: `{job="api"}` → `job="api"`.
pub fn matchers(flag: &str, selector: &str) -> Result<String> {
    let trimmed = selector.trim();
    let inner = match trimmed.strip_prefix('{') {
        Some(rest) => rest
            .strip_suffix('}')
            .ok_or_else(|| Error::usage(format!("--{flag}: `{selector}` opens a brace it does not close")))?,
        None => trimmed,
    };
    let inner = inner.trim().trim_end_matches(',').trim();
    if inner.contains(['{', '}']) {
        return Err(Error::usage(format!(
            "--{flag}: `{selector}` is not a series selector like '{{job=\"api\"}}'"
        )));
    }
    Ok(inner.to_owned())
}

fn with_matchers(metric: &str, matchers: &[&str]) -> String {
    let joined: Vec<&str> = matchers.iter().copied().filter(|m| !m.is_empty()).collect();
    if joined.is_empty() {
        return metric.to_owned();
    }
    format!("{metric}{{{}}}", joined.join(","))
}

/// The error ratio (0–1) of the selected series over `window`. A service
/// without any error series has ratio 0 (`or vector(0)`); one without
/// traffic has none (0/0 is NaN).
pub fn error_ratio_query(names: &SmokePrometheus, matchers: &str, window: Duration) -> String {
    let range = promql_duration(window);
    let errors = format!("{}=~\"{}\"", names.status_label, names.error_status);
    format!(
        "(sum(rate({}[{range}])) or vector(0)) / sum(rate({}[{range}]))",
        with_matchers(&names.requests_metric, &[matchers, &errors]),
        with_matchers(&names.requests_metric, &[matchers]),
    )
}

/// The p95 request duration in seconds of the selected series over `window`.
pub fn p95_query(names: &SmokePrometheus, matchers: &str, window: Duration) -> String {
    format!(
        "histogram_quantile(0.95, sum by (le) (rate({}[{}])))",
        with_matchers(&format!("{}_bucket", names.duration_metric), &[matchers]),
        promql_duration(window)
    )
}

/// A PromQL duration: whole milliseconds, seconds or minutes.
pub fn promql_duration(duration: Duration) -> String {
    let millis = duration.as_millis().max(1);
    if millis.is_multiple_of(60_000) {
        format!("{}m", millis / 60_000)
    } else if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{millis}ms")
    }
}

enum Auth {
    None,
    Bearer(Secret),
    Basic(String, Secret),
}

/// A client for one Prometheus server.
#[derive(Clone)]
pub struct Prometheus {
    base: reqwest::Url,
    client: reqwest::Client,
    auth: std::sync::Arc<Auth>,
    policy: RetryPolicy,
}

impl std::fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prometheus")
            .field("url", &redact_url(&self.base))
            .finish_non_exhaustive()
    }
}

/// The JSON envelope of every Prometheus API answer.
#[derive(Debug, Deserialize)]
struct ApiResponse {
    status: String,
    #[serde(default)]
    data: Option<QueryData>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum QueryData {
    Vector(Vec<VectorSample>),
    Scalar(SampleValue),
    Matrix(serde::de::IgnoredAny),
    String(serde::de::IgnoredAny),
}

#[derive(Debug, Deserialize)]
struct VectorSample {
    value: SampleValue,
}

/// `[unix_time, "value"]`: Prometheus sends values as strings (`"NaN"`, `"+Inf"`).
#[derive(Debug, Deserialize)]
struct SampleValue(#[allow(dead_code)] f64, String);

impl SampleValue {
    fn number(&self) -> Option<f64> {
        match self.1.as_str() {
            "+Inf" => Some(f64::INFINITY),
            "-Inf" => Some(f64::NEG_INFINITY),
            text => text.parse().ok(),
        }
    }
}

impl Prometheus {
    /// A client for `url`, trusting `ca_certs` as well, with credentials
    /// from the environment, registered as secrets (and masked in Actions).
    pub fn new(url: &str, ca_certs: &[PathBuf], runtime: &Runtime) -> Result<Prometheus> {
        Prometheus::with_env(url, ca_certs, runtime, |name| std::env::var(name).ok())
    }

    /// [`Prometheus::new`] with the environment given.
    pub fn with_env(
        url: &str,
        ca_certs: &[PathBuf],
        runtime: &Runtime,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Prometheus> {
        let mut base = reqwest::Url::parse(url).map_err(|e| {
            Error::usage_with(
                format!("--prometheus: `{}`", shipgate_core::url_redaction::redact_str(url)),
                e,
            )
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::usage(format!(
                "--prometheus: `{}` is not an http(s) URL",
                redact_url(&base)
            )));
        }
        let mut auth = Auth::None;
        // Credentials in the URL are secrets like any other.
        if !base.username().is_empty() {
            let user = base.username().to_owned();
            let password = runtime.secret(base.password().unwrap_or_default());
            let _ = base.set_username("");
            let _ = base.set_password(None);
            auth = Auth::Basic(user, password);
        }
        let present = |name: &str| env(name).filter(|value| !value.is_empty());
        if let Some(token) = present(TOKEN_ENV) {
            auth = Auth::Bearer(runtime.secret(token));
        } else if let Some(user) = present(USERNAME_ENV) {
            let password = runtime.secret(present(PASSWORD_ENV).unwrap_or_default());
            auth = Auth::Basic(user, password);
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let mut roots = Vec::new();
        for path in ca_certs {
            roots.push(
                std::fs::read(path)
                    .map_err(|e| Error::usage_with(format!("cannot read CA certificate {}", path.display()), e))?,
            );
        }
        Ok(Prometheus {
            base,
            client: client_with_roots(QUERY_TIMEOUT, &roots)?,
            auth: std::sync::Arc::new(auth),
            policy: RetryPolicy::default(),
        })
    }

    /// Replaces the retry policy (tests shorten the waits).
    pub fn with_policy(mut self, policy: RetryPolicy) -> Prometheus {
        self.policy = policy;
        self
    }

    /// The server's URL, safe to print.
    pub fn shown_url(&self) -> String {
        redact_url(&self.base)
    }

    /// The value of an instant query: the highest of its series, or `None`
    /// when it matches nothing or yields NaN. A query Prometheus rejects is
    /// a usage error; an unreachable or failing server, after the retries,
    /// an external one.
    pub async fn query(&self, promql: &str) -> Result<Option<f64>> {
        let mut url = self
            .base
            .join("api/v1/query")
            .map_err(|e| Error::usage_with("--prometheus", e))?;
        url.query_pairs_mut().append_pair("query", promql);
        let response = send_with_retry(&self.policy, || {
            let request = self.client.get(url.clone());
            match self.auth.as_ref() {
                Auth::None => request,
                Auth::Bearer(token) => request.bearer_auth(token.expose()),
                Auth::Basic(user, password) => request.basic_auth(user, Some(password.expose())),
            }
        })
        .await?;
        let status = response.status();
        let shown = redact_url(&url);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Error::external_with(format!("GET {shown}: reading the answer"), e))?;
        let parsed: std::result::Result<ApiResponse, _> = serde_json::from_slice(&bytes);
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(Error::usage(format!(
                "GET {shown}: {}: check {TOKEN_ENV} or {USERNAME_ENV}/{PASSWORD_ENV}",
                status_text(status)
            )));
        }
        let answer = match parsed {
            Ok(answer) => answer,
            Err(error) => {
                return Err(Error::external(format!(
                    "GET {shown}: {}: not a Prometheus API answer ({error})",
                    status_text(status)
                )));
            }
        };
        if answer.status != "success" {
            let kind = answer.error_type.unwrap_or_default();
            let message = answer.error.unwrap_or_default();
            let text = format!("Prometheus rejected `{promql}`: {kind}: {message}");
            // bad_data is the query's fault; anything else (timeout, execution) the server's.
            return Err(if kind == "bad_data" {
                Error::usage(text)
            } else {
                Error::external(text)
            });
        }
        let value = match answer.data {
            Some(QueryData::Vector(samples)) => samples
                .iter()
                .filter_map(|sample| sample.value.number())
                .filter(|value| !value.is_nan())
                .reduce(f64::max),
            Some(QueryData::Scalar(value)) => value.number().filter(|value| !value.is_nan()),
            Some(QueryData::Matrix(_) | QueryData::String(_)) | None => {
                return Err(Error::usage(format!(
                    "`{promql}` is not an instant vector or scalar query"
                )));
            }
        };
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_queries_come_from_the_selector_and_the_configured_names() {
        let names = SmokePrometheus::default();
        let api = matchers("selector", r#"{job="api"}"#).unwrap();
        assert_eq!(
            error_ratio_query(&names, &api, Duration::from_secs(300)),
            r#"(sum(rate(http_requests_total{job="api",code=~"5.."}[5m])) or vector(0)) / sum(rate(http_requests_total{job="api"}[5m]))"#
        );
        assert_eq!(
            p95_query(&names, &api, Duration::from_secs(30)),
            r#"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="api"}[30s])))"#
        );
        let custom = SmokePrometheus {
            requests_metric: "django_http_responses_total_by_status_total".into(),
            status_label: "status".into(),
            ..SmokePrometheus::default()
        };
        assert_eq!(
            error_ratio_query(&custom, "", Duration::from_millis(1500)),
            r#"(sum(rate(django_http_responses_total_by_status_total{status=~"5.."}[1500ms])) or vector(0)) / sum(rate(django_http_responses_total_by_status_total[1500ms]))"#
        );
        assert_eq!(
            matchers("selector", r#"job="api", env="prod""#).unwrap(),
            r#"job="api", env="prod""#
        );
        assert!(matchers("selector", r#"{job="api""#).is_err());
        assert!(matchers("selector", r#"up{job="api"}"#).is_err());
    }

    #[test]
    fn values_arrive_as_strings_including_nan_and_infinities() {
        let answer: ApiResponse = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{},"value":[1700000000.1,"0.25"]},
                {"metric":{"x":"1"},"value":[1700000000.1,"NaN"]},
                {"metric":{"x":"2"},"value":[1700000000.1,"0.5"]}]}}"#,
        )
        .unwrap();
        let Some(QueryData::Vector(samples)) = answer.data else {
            panic!("a vector")
        };
        let numbers: Vec<Option<f64>> = samples.iter().map(|s| s.value.number()).collect();
        assert_eq!(numbers[0], Some(0.25));
        assert!(numbers[1].unwrap().is_nan());
        assert_eq!(SampleValue(0.0, "+Inf".into()).number(), Some(f64::INFINITY));
    }
}
