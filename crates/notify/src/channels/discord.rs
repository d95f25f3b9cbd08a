//! Discord webhooks: one embed. Limits: title 256, description 4,096,
//! 25 fields of name 256 / value 1,024, and 6,000 characters per embed in
//! total. Mentions are disabled so a commit message cannot ping @everyone.
//!
//! Discord's 429s say how long to wait in three places: the body's
//! `retry_after` and the `X-RateLimit-Reset-After` header (fractional
//! seconds) and `Retry-After` (whole seconds, rounded up; the only one a
//! Cloudflare-level 429 carries). The shared retry policy only reads
//! `Retry-After`, so sends go through the shared loop with a hook of their
//! own here ([`verdict`]).

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use shipgate_core::exit::{Error, Result};
use shipgate_core::http::{describe_transport_error, status_text};
use shipgate_core::retry::{self, GaveUp, GiveUpReason, Outcome, Verdict, attempts_text};
use shipgate_core::url_redaction;

use super::{Answer, Context, Delivered, service_error_text};
use crate::message::{Message, truncate_chars};

const TITLE_LIMIT: usize = 256;
const DESCRIPTION_LIMIT: usize = 4096;
const FIELD_NAME_LIMIT: usize = 256;
const FIELD_VALUE_LIMIT: usize = 1024;
const MAX_FIELDS: usize = 25;
const EMBED_TOTAL_LIMIT: usize = 6000;

pub fn payload(message: &Message) -> Value {
    let title = truncate_chars(&message.title, TITLE_LIMIT);
    let fields: Vec<(String, String)> = message
        .fields
        .iter()
        .take(MAX_FIELDS)
        .map(|field| {
            (
                truncate_chars(&field.name, FIELD_NAME_LIMIT),
                truncate_chars(&field.value, FIELD_VALUE_LIMIT),
            )
        })
        .collect();
    let links: Vec<String> = message
        .links
        .iter()
        .map(|link| format!("[{}]({})", link.text, link.url))
        .collect();
    let links = links.join(" · ");
    let used = title.chars().count()
        + fields
            .iter()
            .map(|(n, v)| n.chars().count() + v.chars().count())
            .sum::<usize>()
        + links.chars().count();
    let room = DESCRIPTION_LIMIT.min(EMBED_TOTAL_LIMIT.saturating_sub(used + 2));
    let mut description = message.text.clone();
    if !links.is_empty() {
        description = format!("{description}\n\n{links}");
    }
    let mut embed = json!({
        "title": title,
        "description": truncate_chars(&description, room),
        "color": message.tone.rgb(),
        "fields": fields
            .iter()
            .map(|(name, value)| json!({ "name": name, "value": value, "inline": true }))
            .collect::<Vec<_>>(),
    });
    if let Some(link) = message.links.first() {
        embed["url"] = Value::String(link.url.clone());
    }
    json!({
        "embeds": [embed],
        "allowed_mentions": { "parse": [] },
    })
}

pub async fn send(context: &Context, url: &str, message: &Message) -> Result<Delivered> {
    let answer = post_within_rate_limits(context, url, &payload(message)).await?;
    Ok(Delivered::detail(format!("{}", answer.status.as_u16())))
}

/// How long a Discord 429 asks to wait: the body's `retry_after`, else
/// `X-RateLimit-Reset-After`, else `Retry-After`. The body comes first
/// because it is the most precise and the only one global limits set.
pub fn rate_limit_wait(headers: &HeaderMap, body: &str, now: SystemTime) -> Option<Duration> {
    let seconds = |value: f64| (value.is_finite() && value >= 0.0).then(|| Duration::from_secs_f64(value));
    let from_body = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|json| json.get("retry_after").and_then(Value::as_f64))
        .and_then(seconds);
    let from_reset_after = || {
        headers
            .get("x-ratelimit-reset-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<f64>().ok())
            .and_then(seconds)
    };
    from_body
        .or_else(from_reset_after)
        .or_else(|| shipgate_core::retry::retry_after(headers, now))
}

/// How the shared retry loop reads a Discord answer: a 429 waits as long
/// as Discord says ([`rate_limit_wait`]); anything else is judged like any
/// other HTTP answer.
pub fn verdict(status: StatusCode, headers: &HeaderMap, body: &str, now: SystemTime) -> Verdict {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Verdict::Transient {
            wait: rate_limit_wait(headers, body, now),
        };
    }
    retry::judge_at(
        Outcome::Response {
            status,
            headers,
            body: Some(body),
        },
        now,
    )
}

/// One Discord answer, read whole.
struct Answered {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

/// An attempt that got no usable answer.
enum Unanswered {
    /// No answer at all; worth retrying.
    Transport(reqwest::Error),
    /// The answer's body could not be read; final.
    Unreadable(Error),
}

/// POSTs `body` as JSON, retrying like every other channel except that
/// 429s wait as long as Discord says (see the module docs).
async fn post_within_rate_limits(context: &Context, url: &str, body: &Value) -> Result<Answer> {
    let bytes = serde_json::to_vec(body).map_err(|e| Error::usage_with("cannot encode payload", e))?;
    let url = reqwest::Url::parse(url).map_err(|_| Error::usage("the Discord webhook URL is not a valid URL"))?;
    let shown = format!("POST {}", url_redaction::redact(&url));
    let policy = &context.retry;
    let client = context.client.get()?;
    let attempt = || async {
        let response = client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
            .body(bytes.clone())
            .send()
            .await
            .map_err(Unanswered::Transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(|err| {
            Unanswered::Unreadable(Error::external(format!(
                "reading the answer: {}",
                url_redaction::redact_in_text(&err.to_string())
            )))
        })?;
        Ok(Answered { status, headers, text })
    };
    let judge = |last: &std::result::Result<Answered, Unanswered>| match last {
        Ok(answer) if answer.status.is_success() => Verdict::Final,
        Ok(answer) => verdict(answer.status, &answer.headers, &answer.text, SystemTime::now()),
        Err(Unanswered::Transport(_)) => Verdict::Transient { wait: None },
        Err(Unanswered::Unreadable(_)) => Verdict::Final,
    };
    match policy.run(attempt, judge).await {
        Ok(Ok(answer)) if answer.status.is_success() => Ok(Answer {
            status: answer.status,
            body: answer.text,
        }),
        Ok(Ok(answer)) => Err(Error::check(format!(
            "{}: {}",
            status_text(answer.status),
            service_error_text(&answer.text)
        ))),
        Ok(Err(Unanswered::Unreadable(error))) => Err(error),
        // A transport failure is never final, so it only ends the loop as a give-up.
        Ok(Err(Unanswered::Transport(err))) => {
            Err(Error::external(format!("{shown}: {}", describe_transport_error(&err))))
        }
        Err(GaveUp { last, attempts, reason }) => Err(match (last, reason) {
            (Err(Unanswered::Unreadable(error)), _) => error,
            (Err(Unanswered::Transport(err)), _) => Error::external(format!(
                "{shown}: {} after {}",
                describe_transport_error(&err),
                attempts_text(attempts)
            )),
            (Ok(answer), GiveUpReason::WaitTooLong(wait)) => Error::external(format!(
                "{shown}: {}; Discord asked to wait {:.1}s, longer than the {}s limit; try again later",
                status_text(answer.status),
                wait.as_secs_f64(),
                policy.max_retry_after.as_secs()
            )),
            (Ok(answer), _) => Error::external(format!(
                "{shown}: {} after {}",
                status_text(answer.status),
                attempts_text(attempts)
            )),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Tone;
    use crate::message::{Field, TRUNCATED};
    use shipgate_core::retry::{Decision, RetryPolicy};

    #[test]
    fn embeds_fit_discords_limits() {
        let message = Message {
            title: "t".repeat(300),
            text: "d".repeat(10_000),
            fields: vec![
                Field {
                    name: "Environment".into(),
                    value: "v".repeat(2000),
                };
                30
            ],
            links: vec![],
            tone: Tone::Bad,
        };
        let payload = payload(&message);
        let embed = &payload["embeds"][0];
        assert_eq!(embed["title"].as_str().unwrap().chars().count(), TITLE_LIMIT);
        assert_eq!(embed["color"], 0xa30200);
        assert_eq!(embed["fields"].as_array().unwrap().len(), MAX_FIELDS);
        let total: usize = embed["title"].as_str().unwrap().chars().count()
            + embed["description"].as_str().unwrap().chars().count()
            + embed["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap().chars().count() + f["value"].as_str().unwrap().chars().count())
                .sum::<usize>();
        // 25 long fields alone exceed 6,000; the description then shrinks to its marker.
        assert!(embed["description"].as_str().unwrap().ends_with(TRUNCATED) || total <= EMBED_TOTAL_LIMIT);
        assert_eq!(payload["allowed_mentions"]["parse"], json!([]));
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn rate_limit_waits_prefer_the_body_then_reset_after_then_retry_after() {
        let now = SystemTime::now();
        let all = headers(&[("retry-after", "2"), ("x-ratelimit-reset-after", "1.337")]);
        let body = r#"{"message": "You are being rate limited.", "retry_after": 0.642, "global": false}"#;
        assert_eq!(rate_limit_wait(&all, body, now), Some(Duration::from_millis(642)));
        assert_eq!(
            rate_limit_wait(&all, "error code: 1015", now),
            Some(Duration::from_millis(1337))
        );
        let only_retry_after = headers(&[("retry-after", "2")]);
        assert_eq!(
            rate_limit_wait(&only_retry_after, "{}", now),
            Some(Duration::from_secs(2))
        );
        let nonsense = headers(&[("x-ratelimit-reset-after", "soon")]);
        assert_eq!(
            rate_limit_wait(&nonsense, r#"{"retry_after": -1}"#, now),
            None,
            "unusable values fall back to the backoff"
        );
    }

    #[test]
    fn rate_limits_longer_than_the_policy_allows_give_up() {
        let policy = RetryPolicy::default();
        let after_rate_limit = |attempt: u32, body: &str| {
            let judged = verdict(
                StatusCode::TOO_MANY_REQUESTS,
                &HeaderMap::new(),
                body,
                SystemTime::now(),
            );
            policy.decide_on(attempt, judged)
        };
        assert_eq!(
            after_rate_limit(1, r#"{"retry_after": 3600.5, "global": true}"#),
            Decision::GiveUp(GiveUpReason::WaitTooLong(Duration::from_secs_f64(3600.5)))
        );
        assert_eq!(
            after_rate_limit(policy.max_attempts, r#"{"retry_after": 0.1}"#),
            Decision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
    }

    #[tokio::test]
    async fn every_discord_rate_limit_signal_is_waited_for_exactly() {
        use shipgate_testkit::http::{CannedResponse, ScriptedServer};
        use std::sync::{Arc, Mutex};

        let server = ScriptedServer::start();
        let path = "/api/webhooks/1234/RateLimitedToken000000000000";
        server.enqueue(
            "POST",
            path,
            [
                CannedResponse::json(
                    429,
                    &json!({"message": "You are being rate limited.", "retry_after": 0.25, "global": false}),
                )
                .header("retry-after", "1")
                .header("x-ratelimit-reset-after", "0.250"),
                CannedResponse::text(429, "rate limited").header("x-ratelimit-reset-after", "0.125"),
                CannedResponse::text(429, "error code: 1015").header("retry-after", "3"),
            ],
        );
        server.always("POST", path, CannedResponse::status(204));
        let slept = Arc::new(Mutex::new(Vec::new()));
        let recorder = slept.clone();
        let mut retry = RetryPolicy::with_sleeper(move |wait| {
            recorder.lock().unwrap().push(wait);
            async {}
        });
        retry.max_attempts = 5;
        let context = Context {
            client: crate::channels::HttpClient::new(Duration::from_secs(5)),
            retry,
            slack_ts: None,
            json: false,
            github: None,
            smtp_timeout: Duration::from_secs(5),
        };
        let message = Message {
            title: "Deploy succeeded".into(),
            text: "v1.2.0 is live".into(),
            fields: vec![],
            links: vec![],
            tone: Tone::Good,
        };
        let delivered = send(&context, &format!("{}{path}", server.url()), &message)
            .await
            .unwrap();
        assert_eq!(delivered.detail, "204");
        assert_eq!(
            *slept.lock().unwrap(),
            [
                Duration::from_millis(250),
                Duration::from_millis(125),
                Duration::from_secs(3)
            ]
        );
        let requests = server.requests_to("POST", path);
        assert_eq!(requests.len(), 4, "delivered exactly once after three 429s");
        assert!(requests.iter().all(|r| r.body == requests[0].body));
    }

    #[test]
    fn descriptions_stop_at_4096() {
        let message = Message {
            title: "t".into(),
            text: "d".repeat(10_000),
            fields: vec![],
            links: vec![],
            tone: Tone::Good,
        };
        let description = payload(&message)["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(description.chars().count(), DESCRIPTION_LIMIT);
        assert!(description.ends_with(TRUNCATED));
    }
}
