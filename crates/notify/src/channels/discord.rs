//! Discord webhooks: one embed. Limits: title 256, description 4,096,
//! 25 fields of name 256 / value 1,024, and 6,000 characters per embed in
//! total. Mentions are disabled so a commit message cannot ping @everyone.

use serde_json::{Value, json};
use shipgate_core::exit::Result;

use super::{Context, Delivered, send_json};
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
    let answer = send_json(context, reqwest::Method::POST, url, &[], Some(&payload(message))).await?;
    Ok(Delivered::detail(format!("{}", answer.status.as_u16())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Tone;
    use crate::message::{Field, TRUNCATED};

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
