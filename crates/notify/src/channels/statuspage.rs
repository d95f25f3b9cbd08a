//! Atlassian Statuspage incidents API: create the incident named
//! [`Event::incident_name`], or update it while it is unresolved, so a run
//! of `notify incident` commands moves one incident through
//! investigating → identified → monitoring → resolved.

use serde_json::{Value, json};
use shipgate_core::exit::{Error, Result};

use super::{Context, Delivered, Request, send_json};
use crate::event::{DeployStatus, Event, EventKind, Severity};
use crate::message::Message;

/// The Statuspage status for an event, if it concerns the status page.
pub fn status(event: &Event) -> Option<&'static str> {
    match &event.kind {
        EventKind::Incident { status, .. } => Some(status.as_str()),
        // Seed 003 posts `investigating` after a rollback.
        EventKind::Deploy { status, .. } => match status {
            DeployStatus::Failed | DeployStatus::RolledBack => Some("investigating"),
            DeployStatus::Succeeded => Some("resolved"),
            DeployStatus::Started | DeployStatus::Cancelled => None,
        },
        EventKind::Release { .. } => None,
        EventKind::Message => Some("investigating"),
    }
}

fn impact(event: &Event) -> &'static str {
    match &event.kind {
        EventKind::Incident { severity, .. } => match severity {
            Severity::P0 => "critical",
            Severity::P1 => "major",
            Severity::P2 => "minor",
        },
        _ => "minor",
    }
}

fn create_body(event: &Event, message: &Message, status: &str) -> Value {
    json!({
        "incident": {
            "name": event.incident_name,
            "status": status,
            "body": message.text,
            "impact_override": impact(event),
        }
    })
}

fn update_body(message: &Message, status: &str) -> Value {
    json!({ "incident": { "status": status, "body": message.text } })
}

pub fn preview(page: &str, event: &Event, message: &Message) -> Vec<Request> {
    let Some(status) = status(event) else {
        return Vec::new();
    };
    vec![
        Request {
            method: "GET".into(),
            url: format!("{page}/incidents/unresolved"),
            body: Value::Null,
        },
        Request {
            method: "POST (or PATCH /incidents/{id} when an unresolved incident has this name)".into(),
            url: format!("{page}/incidents"),
            body: create_body(event, message, status),
        },
    ]
}

pub async fn send(context: &Context, page: &str, api_key: &str, event: &Event, message: &Message) -> Result<Delivered> {
    let Some(status) = status(event) else {
        return Ok(Delivered::skipped("nothing to post on the status page for this event"));
    };
    let headers = [("authorization", format!("OAuth {api_key}"))];
    let open = send_json(
        context,
        reqwest::Method::GET,
        &format!("{page}/incidents/unresolved"),
        &headers,
        None,
    )
    .await?
    .json();
    let existing = open.as_array().and_then(|incidents| {
        incidents
            .iter()
            .find(|incident| incident.get("name").and_then(Value::as_str) == Some(event.incident_name.as_str()))
            .and_then(|incident| incident.get("id").and_then(Value::as_str))
            .map(str::to_string)
    });
    let (verb, answer) = match existing {
        Some(id) => (
            "updated",
            send_json(
                context,
                reqwest::Method::PATCH,
                &format!("{page}/incidents/{id}"),
                &headers,
                Some(&update_body(message, status)),
            )
            .await?,
        ),
        None if status == "resolved" => {
            return Ok(Delivered::skipped(format!(
                "no unresolved incident named `{}` to resolve",
                event.incident_name
            )));
        }
        None => (
            "created",
            send_json(
                context,
                reqwest::Method::POST,
                &format!("{page}/incidents"),
                &headers,
                Some(&create_body(event, message, status)),
            )
            .await?,
        ),
    };
    let incident = answer.json();
    let id = incident
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::external("Statuspage answered without an incident id"))?;
    Ok(Delivered::detail(format!("{verb} incident {id} ({status})")))
}
