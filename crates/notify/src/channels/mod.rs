//! One module per service. Each builds its payload in code from the
//! [`Message`] (never by templating JSON text), can show it for `--dry-run`
//! ([`Request`]) and sends it through the shared retrying HTTP client.

pub mod discord;
pub mod email;
pub mod github;
pub mod pagerduty;
pub mod slack;
pub mod statuspage;
pub mod stdout;
pub mod teams;
pub mod webhook;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use shipgate_core::actions::redact;
use shipgate_core::exit::{Error, Result};
use shipgate_core::http::{send_with_retry, status_text};
use shipgate_core::retry::RetryPolicy;
use shipgate_core::url_redaction::redact_in_text;

use crate::event::Event;
use crate::message::Message;
use crate::target::{Endpoint, Target};

/// The HTTP client, built on first use: a run whose targets are all local
/// (`stdout://`, `file://`) or SMTP never loads the system's TLS roots,
/// which is most of such a run's start-up.
#[derive(Debug, Clone)]
pub struct HttpClient {
    timeout: Duration,
    built: Arc<OnceLock<reqwest::Client>>,
}

impl HttpClient {
    pub fn new(timeout: Duration) -> HttpClient {
        HttpClient {
            timeout,
            built: Arc::default(),
        }
    }

    /// The client, built now if no delivery needed it before.
    pub fn get(&self) -> Result<&reqwest::Client> {
        if let Some(client) = self.built.get() {
            return Ok(client);
        }
        let client = shipgate_core::http::client(self.timeout)?;
        Ok(self.built.get_or_init(|| client))
    }
}

/// What a delivery needs besides the target and the message.
#[derive(Debug, Clone)]
pub struct Context {
    pub client: HttpClient,
    pub retry: RetryPolicy,
    /// `--slack-ts`: update this earlier Slack message instead of posting a new one.
    pub slack_ts: Option<String>,
    /// `stdout://` text goes into the JSON result instead of onto stdout.
    pub json: bool,
    pub github: Option<github::GitHubTarget>,
    /// Limit for one SMTP attempt.
    pub smtp_timeout: Duration,
}

/// A request as `--dry-run` shows it. Secrets are redacted when printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub body: Value,
}

/// What a successful delivery reports back.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Delivered {
    /// One line for the result table.
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack_ts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    /// Text a local sink produced (stdout:// under `--json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Whether nothing applied to this target (e.g. PagerDuty for a deploy start).
    #[serde(skip)]
    pub skipped: bool,
}

impl Delivered {
    pub fn detail(detail: impl Into<String>) -> Delivered {
        Delivered {
            detail: detail.into(),
            ..Delivered::default()
        }
    }

    pub fn skipped(reason: impl Into<String>) -> Delivered {
        Delivered {
            detail: reason.into(),
            skipped: true,
            ..Delivered::default()
        }
    }
}

/// The requests a delivery would make.
pub fn preview(target: &Target, event: &Event, message: &Message, context: &Context) -> Result<Vec<Request>> {
    match &target.endpoint {
        Endpoint::SlackWebhook { url } => Ok(vec![post(url.expose(), slack::webhook_payload(message))]),
        Endpoint::SlackBot { api, channel, .. } => Ok(vec![slack::bot_request(
            api,
            channel,
            context.slack_ts.as_deref(),
            message,
        )]),
        Endpoint::Discord { url } => Ok(vec![post(url.expose(), discord::payload(message))]),
        Endpoint::Teams { url } => Ok(vec![post(url.expose(), teams::payload(message))]),
        Endpoint::PagerDuty { url, routing_key } => Ok(pagerduty::payload(event, message, routing_key.expose())
            .map(|body| post(url, body))
            .into_iter()
            .collect()),
        Endpoint::Statuspage { page, .. } => Ok(statuspage::preview(page, event, message)),
        Endpoint::Webhook { url, .. } => Ok(vec![post(url.expose(), webhook::payload(event, message))]),
        Endpoint::Email(email) => Ok(vec![email::preview(email, message)]),
        Endpoint::GitHub(mode) => github::preview(*mode, context.github.as_ref(), event, message),
        Endpoint::Stdout => Ok(vec![Request {
            method: "PRINT".into(),
            url: "stdout://".into(),
            body: Value::String(stdout::text(message)),
        }]),
        Endpoint::File { path } => Ok(vec![Request {
            method: "APPEND".into(),
            url: format!("file://{}", path.display()),
            body: webhook::payload(event, message),
        }]),
    }
}

/// Delivers to one target.
pub async fn deliver(target: &Target, event: &Event, message: &Message, context: &Context) -> Result<Delivered> {
    match &target.endpoint {
        Endpoint::SlackWebhook { url } => slack::send_webhook(context, url.expose(), message).await,
        Endpoint::SlackBot { api, token, channel } => {
            slack::send_bot(context, api, token.expose(), channel, message).await
        }
        Endpoint::Discord { url } => discord::send(context, url.expose(), message).await,
        Endpoint::Teams { url } => teams::send(context, url.expose(), message).await,
        Endpoint::PagerDuty { url, routing_key } => {
            pagerduty::send(context, url, routing_key.expose(), event, message).await
        }
        Endpoint::Statuspage { page, api_key } => {
            statuspage::send(context, page, api_key.expose(), event, message).await
        }
        Endpoint::Webhook { url, hmac_secret } => {
            webhook::send(
                context,
                url.expose(),
                hmac_secret.as_ref().map(|s| s.expose()),
                event,
                message,
            )
            .await
        }
        Endpoint::Email(email) => email::send(context, email, message).await,
        Endpoint::GitHub(mode) => github::send(context, *mode, event, message).await,
        Endpoint::Stdout => stdout::send_stdout(context, message),
        Endpoint::File { path } => stdout::send_file(path, event, message),
    }
}

fn post(url: &str, body: Value) -> Request {
    Request {
        method: "POST".into(),
        url: url.to_string(),
        body,
    }
}

/// An answer from a service.
pub(crate) struct Answer {
    pub status: reqwest::StatusCode,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends `body` as JSON with the shared retry policy; a final non-success
/// answer becomes an error carrying the service's own error text.
pub(crate) async fn send_json(
    context: &Context,
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, String)],
    body: Option<&Value>,
) -> Result<Answer> {
    let bytes = match body {
        Some(body) => serde_json::to_vec(body).map_err(|e| Error::usage_with("cannot encode payload", e))?,
        None => Vec::new(),
    };
    send_bytes(context, method, url, headers, body.map(|_| bytes)).await
}

pub(crate) async fn send_bytes(
    context: &Context,
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, String)],
    body: Option<Vec<u8>>,
) -> Result<Answer> {
    let client = context.client.get()?;
    let response = send_with_retry(&context.retry, || {
        let mut request = client.request(method.clone(), url);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(bytes) = &body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
                .body(bytes.clone());
        }
        request
    })
    .await?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|err| Error::external(format!("reading the answer: {}", redact_in_text(&err.to_string()))))?;
    if !status.is_success() {
        return Err(Error::check(format!(
            "{}: {}",
            status_text(status),
            service_error_text(&text)
        )));
    }
    Ok(Answer { status, body: text })
}

/// The error text of a service's answer: the JSON `message`/`error`/
/// `errors` field when there is one, else the start of the body.
pub(crate) fn service_error_text(body: &str) -> String {
    let text = match serde_json::from_str::<Value>(body) {
        Ok(json) => ["message", "error", "errors", "error_description"]
            .iter()
            .find_map(|key| json.get(key).filter(|v| !v.is_null()))
            .map(|value| match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .unwrap_or_else(|| json.to_string()),
        Err(_) => body.trim().to_string(),
    };
    let text = if text.is_empty() {
        "(empty answer)".to_string()
    } else {
        text
    };
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    redact_in_text(&redact(&crate::message::truncate_chars(&one_line, 300)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_errors_are_one_short_line() {
        assert_eq!(service_error_text("invalid_payload"), "invalid_payload");
        assert_eq!(
            service_error_text(r#"{"message": "Invalid Webhook Token", "code": 50027}"#),
            "Invalid Webhook Token"
        );
        assert_eq!(
            service_error_text(r#"{"status":"invalid event","errors":["'routing_key' is missing"]}"#),
            r#"["'routing_key' is missing"]"#
        );
        assert_eq!(service_error_text(""), "(empty answer)");
        assert!(service_error_text(&"x".repeat(1000)).chars().count() <= 300);
    }
}
