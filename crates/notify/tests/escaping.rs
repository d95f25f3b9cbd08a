//! Property-style: arbitrary text goes in, every channel's payload must be
//! valid JSON and give the text back unchanged (after the service's own
//! documented escaping, for Slack's mrkdwn).

use notify::channels::{discord, pagerduty, slack, teams, webhook};
use notify::event::{Event, EventKind, RunContext, Tone};
use notify::message::{Message, TRUNCATED};
use serde_json::Value;

/// Characters that break hand-built JSON, shells, Slack or HTML.
const AWKWARD: &[&str] = &[
    "\"",
    "\\",
    "\n",
    "\r",
    "\t",
    "\u{0}",
    "\u{1}",
    "\u{1f}",
    "\u{7f}",
    "<",
    ">",
    "&",
    "'",
    "`",
    "${{",
    "}}",
    "{%",
    "*",
    "_",
    "~",
    "|",
    "@everyone",
    "<!channel>",
    "🚀",
    "👩‍👩‍👧",
    "é",
    "\u{301}",
    "\u{202e}",
    "\u{2028}",
    "\u{feff}",
    "中文",
    "\\u0000",
    "</script>",
    "a",
    " ",
    "0",
];

/// xorshift64*: deterministic, so a failure names a reproducible case.
struct Cases(u64);

impl Cases {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn text(&mut self) -> String {
        let pieces = (self.next() % 60) as usize;
        let mut text = String::new();
        for _ in 0..pieces {
            let roll = self.next();
            if roll.is_multiple_of(4) {
                // Any scalar value, not only the curated ones.
                if let Some(c) = char::from_u32((self.next() % 0x10_ffff) as u32) {
                    text.push(c);
                }
            } else {
                text.push_str(AWKWARD[(roll % AWKWARD.len() as u64) as usize]);
            }
        }
        text
    }
}

fn message(text: &str) -> Message {
    Message {
        title: text.replace(['\n', '\r'], " "),
        text: text.to_string(),
        fields: vec![],
        links: vec![],
        tone: Tone::Bad,
    }
}

fn reparse(value: &Value) -> Value {
    let wire = serde_json::to_string(value).expect("payloads serialise");
    serde_json::from_str(&wire).expect("payloads are valid JSON")
}

#[test]
fn arbitrary_text_round_trips_through_every_payload() {
    let mut cases = Cases(0x5eed_1234_abcd_ef01);
    let event = Event::new(EventKind::Message, RunContext::default(), None);
    for case in 0..2000 {
        let text = cases.text();
        let message = message(&text);

        let slack = reparse(&slack::webhook_payload(&message));
        if !text.is_empty() {
            let shown = slack["blocks"][1]["text"]["text"].as_str().unwrap();
            if !shown.ends_with(TRUNCATED) {
                let unescaped = shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
                assert_eq!(unescaped, text, "case {case}");
            }
        }

        let discord = reparse(&discord::payload(&message));
        assert_eq!(
            discord["embeds"][0]["description"].as_str().unwrap(),
            text,
            "case {case}"
        );

        let teams = reparse(&teams::payload(&message));
        assert_eq!(
            teams["attachments"][0]["content"]["body"][1]["text"].as_str().unwrap(),
            text,
            "case {case}"
        );

        let hook = reparse(&webhook::payload(&event, &message));
        assert_eq!(hook["message"].as_str().unwrap(), text, "case {case}");
        assert_eq!(hook["title"].as_str().unwrap(), message.title, "case {case}");

        let page = reparse(&pagerduty::payload(&event, &message, "K").unwrap());
        assert_eq!(
            page["payload"]["custom_details"]["message"].as_str().unwrap(),
            text,
            "case {case}"
        );
    }
}
