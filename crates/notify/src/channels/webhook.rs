//! Generic JSON webhooks (`json://`, `jsons://`, any other https URL): the
//! event as one flat JSON document, with the `status` and `message` keys of
//! seed 003's status-page call. With a secret, the body is signed like
//! GitHub's webhooks: `X-Shipgate-Signature-256: sha256=<hex HMAC-SHA256>`.

use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use shipgate_core::exit::{Error, Result};

use super::{Context, Delivered, send_bytes};
use crate::event::{Event, EventKind};
use crate::message::Message;

pub const SIGNATURE_HEADER: &str = "x-shipgate-signature-256";

pub fn payload(event: &Event, message: &Message) -> Value {
    let run = &event.context;
    let (severity, service) = match &event.kind {
        EventKind::Incident { severity, service, .. } => (Some(severity.as_str()), Some(service.as_str())),
        _ => (None, None),
    };
    let fields: Map<String, Value> = message
        .fields
        .iter()
        .map(|field| (field.name.clone(), Value::String(field.value.clone())))
        .collect();
    json!({
        "event": event.kind.name(),
        "status": event.status(),
        "title": message.title,
        "message": message.text,
        "tone": message.tone,
        "environment": event.environment(),
        "version": event.version(),
        "severity": severity,
        "service": service,
        "repository": run.repository,
        "ref": run.git_ref,
        "sha": run.sha,
        "actor": run.actor,
        "workflow": run.workflow,
        "run_url": run.run_url,
        "started_at": run.started_at,
        "duration_seconds": run.duration_secs,
        "dedup_key": event.dedup_key,
        "fields": fields,
        "links": message.links,
    })
}

/// `sha256=<hex>` of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub async fn send(
    context: &Context,
    url: &str,
    hmac_secret: Option<&str>,
    event: &Event,
    message: &Message,
) -> Result<Delivered> {
    let body =
        serde_json::to_vec(&payload(event, message)).map_err(|err| Error::usage_with("cannot encode payload", err))?;
    let headers: Vec<(&str, String)> = hmac_secret
        .map(|secret| vec![(SIGNATURE_HEADER, signature(secret, &body))])
        .unwrap_or_default();
    let answer = send_bytes(context, reqwest::Method::POST, url, &headers, Some(body)).await?;
    Ok(Delivered::detail(format!("{}", answer.status.as_u16())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_published_hmac_sha256_example() {
        // GitHub's webhook docs: secret "It's a Secret to Everybody", payload "Hello, World!".
        assert_eq!(
            signature("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}
