//! Microsoft Teams through a Workflows webhook ("Post to a channel when a
//! webhook request is received"): a message with one Adaptive Card 1.4
//! attachment. Teams refuses cards over about 28 KB, so the text shrinks
//! until the whole payload fits.

use serde_json::{Value, json};
use shipgate_core::exit::Result;

use super::{Context, Delivered, send_json};
use crate::event::Tone;
use crate::message::{Message, truncate_bytes};

/// Teams' documented message size limit, with room for the envelope.
pub const CARD_BYTE_LIMIT: usize = 27_000;

pub fn payload(message: &Message) -> Value {
    let mut text = message.text.clone();
    loop {
        let body = card(message, &text);
        let size = body.to_string().len();
        if size <= CARD_BYTE_LIMIT || text.is_empty() {
            return body;
        }
        let excess = size - CARD_BYTE_LIMIT;
        // JSON escaping can make the text larger on the wire than in
        // memory; cut a little extra so the loop ends quickly.
        text = truncate_bytes(&text, text.len().saturating_sub(excess + 64));
    }
}

fn card(message: &Message, text: &str) -> Value {
    let colour = match message.tone {
        Tone::Good => "Good",
        Tone::Warning => "Warning",
        Tone::Bad => "Attention",
        Tone::Info => "Accent",
    };
    let mut body = vec![
        json!({
            "type": "TextBlock",
            "text": message.title,
            "weight": "Bolder",
            "size": "Medium",
            "color": colour,
            "wrap": true,
        }),
        json!({ "type": "TextBlock", "text": text, "wrap": true }),
    ];
    if !message.fields.is_empty() {
        body.push(json!({
            "type": "FactSet",
            "facts": message
                .fields
                .iter()
                .map(|field| json!({ "title": field.name, "value": field.value }))
                .collect::<Vec<_>>(),
        }));
    }
    let actions: Vec<Value> = message
        .links
        .iter()
        .map(|link| json!({ "type": "Action.OpenUrl", "title": link.text, "url": link.url }))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": actions,
            },
        }],
    })
}

pub async fn send(context: &Context, url: &str, message: &Message) -> Result<Delivered> {
    let answer = send_json(context, reqwest::Method::POST, url, &[], Some(&payload(message))).await?;
    Ok(Delivered::detail(format!("{}", answer.status.as_u16())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::TRUNCATED;

    #[test]
    fn cards_are_adaptive_card_1_4_and_fit_the_size_limit() {
        let message = Message {
            title: "🚨 Deploy failed".into(),
            text: "\"quoted\" <b>".repeat(10_000),
            fields: vec![],
            links: vec![],
            tone: Tone::Bad,
        };
        let payload = payload(&message);
        assert!(payload.to_string().len() <= CARD_BYTE_LIMIT);
        let card = &payload["attachments"][0];
        assert_eq!(card["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(card["content"]["type"], "AdaptiveCard");
        assert_eq!(card["content"]["version"], "1.4");
        assert_eq!(card["content"]["body"][0]["color"], "Attention");
        assert!(
            card["content"]["body"][1]["text"]
                .as_str()
                .unwrap()
                .ends_with(TRUNCATED)
        );
    }
}
