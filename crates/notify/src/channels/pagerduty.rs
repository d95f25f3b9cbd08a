//! PagerDuty Events API v2 (`POST /v2/enqueue`).
//!
//! Incidents open on `investigating`, are acknowledged on `identified` and
//! `monitoring` and resolve on `resolved`; a failed or rolled-back deploy
//! triggers and a later successful one resolves. The deterministic
//! `dedup_key` of the [`Event`] ties them together across jobs.

use serde_json::{Value, json};
use shipgate_core::exit::Result;

use super::{Context, Delivered, send_json};
use crate::event::{DeployStatus, Event, EventKind, IncidentStatus, Severity};
use crate::message::{Message, truncate_chars};

/// PagerDuty cuts summaries at 1,024 characters.
const SUMMARY_LIMIT: usize = 1024;

/// `trigger`, `acknowledge` or `resolve`; `None` when the event means
/// nothing to an on-call engineer (a deploy starting).
pub fn action(event: &Event) -> Option<&'static str> {
    match &event.kind {
        EventKind::Incident { status, .. } => Some(match status {
            IncidentStatus::Investigating => "trigger",
            IncidentStatus::Identified | IncidentStatus::Monitoring => "acknowledge",
            IncidentStatus::Resolved => "resolve",
        }),
        EventKind::Deploy { status, .. } => match status {
            DeployStatus::Failed | DeployStatus::RolledBack => Some("trigger"),
            DeployStatus::Succeeded => Some("resolve"),
            DeployStatus::Started | DeployStatus::Cancelled => None,
        },
        EventKind::Release { .. } => None,
        EventKind::Message => Some("trigger"),
    }
}

fn severity(event: &Event) -> &'static str {
    match &event.kind {
        EventKind::Incident { severity, .. } => match severity {
            Severity::P0 => "critical",
            Severity::P1 => "error",
            Severity::P2 => "warning",
        },
        EventKind::Deploy { status, .. } if *status == DeployStatus::Failed => "error",
        EventKind::Deploy { .. } => "warning",
        _ => "info",
    }
}

/// The event body, or `None` when nothing should be sent.
pub fn payload(event: &Event, message: &Message, routing_key: &str) -> Option<Value> {
    let action = action(event)?;
    let mut body = json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": event.dedup_key,
    });
    if action == "trigger" {
        let details: serde_json::Map<String, Value> = message
            .fields
            .iter()
            .map(|field| (field.name.clone(), Value::String(field.value.clone())))
            .chain(std::iter::once((
                "message".to_string(),
                Value::String(message.text.clone()),
            )))
            .collect();
        let component = match &event.kind {
            EventKind::Incident { service, .. } => Some(service.clone()),
            _ => None,
        };
        body["payload"] = json!({
            "summary": truncate_chars(&message.title, SUMMARY_LIMIT),
            "source": event.context.repository.as_deref().unwrap_or("shipgate notify"),
            "severity": severity(event),
            "component": component,
            "group": event.environment(),
            "class": event.kind.name(),
            "custom_details": details,
        });
        if let Some(payload) = body["payload"].as_object_mut() {
            // PagerDuty's optional fields are strings when present, never null.
            payload.retain(|_, value| !value.is_null());
        }
        body["links"] = Value::Array(
            message
                .links
                .iter()
                .map(|link| json!({ "href": link.url, "text": link.text }))
                .collect(),
        );
        body["client"] = Value::String("shipgate notify".into());
        if let Some(run) = &event.context.run_url {
            body["client_url"] = Value::String(run.clone());
        }
    }
    Some(body)
}

pub async fn send(
    context: &Context,
    url: &str,
    routing_key: &str,
    event: &Event,
    message: &Message,
) -> Result<Delivered> {
    let Some(body) = payload(event, message, routing_key) else {
        return Ok(Delivered::skipped("nothing to page for this event"));
    };
    let answer = send_json(context, reqwest::Method::POST, url, &[], Some(&body)).await?;
    let key = answer
        .json()
        .get("dedup_key")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| event.dedup_key.clone());
    Ok(Delivered {
        detail: format!("{} {key}", body["event_action"].as_str().unwrap_or_default()),
        dedup_key: Some(key),
        ..Delivered::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::RunContext;
    use crate::message::TextOptions;
    use shipgate_core::config::IncidentTemplates;

    fn incident(status: IncidentStatus) -> (Event, Message) {
        let event = Event::new(
            EventKind::Incident {
                severity: Severity::P0,
                status,
                service: "api".into(),
                environment: "production".into(),
            },
            RunContext {
                repository: Some("acme/shop".into()),
                ..RunContext::default()
            },
            None,
        );
        let message = crate::message::render(&event, &TextOptions::default(), &IncidentTemplates::default()).unwrap();
        (event, message)
    }

    #[test]
    fn incidents_trigger_acknowledge_and_resolve_one_alert() {
        let (event, message) = incident(IncidentStatus::Investigating);
        let trigger = payload(&event, &message, "KEY").unwrap();
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(trigger["routing_key"], "KEY");
        assert_eq!(trigger["dedup_key"], "shipgate/acme/shop/production/api");
        assert_eq!(trigger["payload"]["severity"], "critical");
        assert_eq!(trigger["payload"]["source"], "acme/shop");
        assert_eq!(trigger["payload"]["component"], "api");
        let (event, message) = incident(IncidentStatus::Identified);
        assert_eq!(payload(&event, &message, "KEY").unwrap()["event_action"], "acknowledge");
        let (event, message) = incident(IncidentStatus::Resolved);
        let resolve = payload(&event, &message, "KEY").unwrap();
        assert_eq!(resolve["event_action"], "resolve");
        assert_eq!(resolve["dedup_key"], trigger["dedup_key"]);
        assert!(resolve.get("payload").is_none());
    }
}
