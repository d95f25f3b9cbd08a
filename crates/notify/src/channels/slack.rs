//! Slack: incoming webhooks, or `chat.postMessage` / `chat.update` with a
//! bot token (which returns the message `ts`, so a later "succeeded" can
//! update the "started" message in place).
//!
//! Block Kit limits: header text 150 characters, section text 3,000,
//! 10 fields per section of 2,000 each, top-level `text` 40,000 (Slack
//! recommends 4,000 and truncates beyond).

use serde_json::{Value, json};
use shipgate_core::exit::{Error, Result};

use super::{Context, Delivered, Request, send_json};
use crate::message::{Message, truncate_chars};

const HEADER_LIMIT: usize = 150;
const SECTION_LIMIT: usize = 3000;
const FIELD_LIMIT: usize = 2000;
const MAX_FIELDS: usize = 10;
const TEXT_LIMIT: usize = 4000;

/// Slack's mrkdwn treats `&`, `<` and `>` as control characters.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The Block Kit message: header and text as blocks, the facts and links in
/// an attachment, which is what carries the status colour bar.
pub fn webhook_payload(message: &Message) -> Value {
    let title = truncate_chars(&message.title, HEADER_LIMIT);
    let text = truncate_chars(&escape(&message.text), SECTION_LIMIT);
    let fallback = truncate_chars(&escape(&format!("{}\n{}", message.title, message.text)), TEXT_LIMIT);
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": title, "emoji": true },
    })];
    if !message.text.is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": text },
        }));
    }
    let mut details = Vec::new();
    if !message.fields.is_empty() {
        let fields: Vec<Value> = message
            .fields
            .iter()
            .take(MAX_FIELDS)
            .map(|field| {
                json!({
                    "type": "mrkdwn",
                    "text": truncate_chars(&format!("*{}*\n{}", escape(&field.name), escape(&field.value)), FIELD_LIMIT),
                })
            })
            .collect();
        details.push(json!({ "type": "section", "fields": fields }));
    }
    if !message.links.is_empty() {
        let links: Vec<String> = message
            .links
            .iter()
            .map(|link| format!("<{}|{}>", link.url, escape(&link.text)))
            .collect();
        details.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": links.join(" · ") }],
        }));
    }
    json!({
        "text": fallback,
        "blocks": blocks,
        "attachments": [{ "color": message.tone.hex(), "blocks": details }],
    })
}

/// `chat.postMessage`, or `chat.update` when `ts` names an earlier message.
pub fn bot_request(api: &str, channel: &str, ts: Option<&str>, message: &Message) -> Request {
    let mut body = webhook_payload(message);
    body["channel"] = Value::String(channel.to_string());
    let method = match ts {
        Some(ts) => {
            body["ts"] = Value::String(ts.to_string());
            "chat.update"
        }
        None => "chat.postMessage",
    };
    Request {
        method: "POST".into(),
        url: format!("{api}/{method}"),
        body,
    }
}

pub async fn send_webhook(context: &Context, url: &str, message: &Message) -> Result<Delivered> {
    let body = webhook_payload(message);
    let answer = send_json(context, reqwest::Method::POST, url, &[], Some(&body)).await?;
    // Incoming webhooks answer a plain `ok`; anything else is Slack's error code.
    let text = answer.body.trim();
    if !text.is_empty() && text != "ok" {
        return Err(Error::check(format!(
            "Slack answered `{}`",
            super::service_error_text(text)
        )));
    }
    Ok(Delivered::detail(format!("{}", answer.status.as_u16())))
}

pub async fn send_bot(
    context: &Context,
    api: &str,
    token: &str,
    channel: &str,
    message: &Message,
) -> Result<Delivered> {
    let request = bot_request(api, channel, context.slack_ts.as_deref(), message);
    let headers = [("authorization", format!("Bearer {token}"))];
    let answer = send_json(
        context,
        reqwest::Method::POST,
        &request.url,
        &headers,
        Some(&request.body),
    )
    .await?;
    // The Web API answers 200 with `ok: false` for its errors.
    let json = answer.json();
    if json.get("ok").and_then(Value::as_bool) != Some(true) {
        let error = json.get("error").and_then(Value::as_str).unwrap_or("unexpected answer");
        return Err(Error::check(format!("Slack API error `{error}`")));
    }
    let ts = json.get("ts").and_then(Value::as_str).map(str::to_string);
    let verb = if context.slack_ts.is_some() {
        "updated"
    } else {
        "posted"
    };
    Ok(Delivered {
        detail: format!("{verb} ts {}", ts.as_deref().unwrap_or("?")),
        slack_ts: ts,
        ..Delivered::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Tone;
    use crate::message::{Field, Link, TRUNCATED};

    fn message(text: &str) -> Message {
        Message {
            title: "✅ Deploy succeeded".into(),
            text: text.into(),
            fields: vec![Field {
                name: "Environment".into(),
                value: "production".into(),
            }],
            links: vec![Link {
                text: "Workflow run".into(),
                url: "https://github.com/a/b/actions/runs/1".into(),
            }],
            tone: Tone::Good,
        }
    }

    #[test]
    fn blocks_escape_control_characters_and_carry_the_colour() {
        let payload = webhook_payload(&message("fix <script> & \"quotes\""));
        assert_eq!(payload["blocks"][0]["type"], "header");
        assert_eq!(
            payload["blocks"][1]["text"]["text"],
            "fix &lt;script&gt; &amp; \"quotes\""
        );
        assert_eq!(payload["attachments"][0]["color"], "#2eb886");
        assert_eq!(
            payload["attachments"][0]["blocks"][0]["fields"][0]["text"],
            "*Environment*\nproduction"
        );
        assert_eq!(
            payload["attachments"][0]["blocks"][1]["elements"][0]["text"],
            "<https://github.com/a/b/actions/runs/1|Workflow run>"
        );
        assert!(payload["text"].as_str().unwrap().starts_with("✅ Deploy succeeded\n"));
    }

    #[test]
    fn long_texts_are_cut_at_slacks_limits() {
        let payload = webhook_payload(&message(&"a".repeat(10_000)));
        let section = payload["blocks"][1]["text"]["text"].as_str().unwrap();
        assert_eq!(section.chars().count(), SECTION_LIMIT);
        assert!(section.ends_with(TRUNCATED));
        assert!(payload["text"].as_str().unwrap().chars().count() <= TEXT_LIMIT);
    }

    #[test]
    fn bot_requests_update_when_given_a_ts() {
        let posted = bot_request("https://slack.com/api", "C1", None, &message("x"));
        assert_eq!(posted.url, "https://slack.com/api/chat.postMessage");
        assert_eq!(posted.body["channel"], "C1");
        let updated = bot_request("https://slack.com/api", "C1", Some("1.2"), &message("x"));
        assert_eq!(updated.url, "https://slack.com/api/chat.update");
        assert_eq!(updated.body["ts"], "1.2");
    }
}
