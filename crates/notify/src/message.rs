//! The human text of a notification, rendered once from an [`Event`] with
//! minijinja templates and then shaped per channel.
//!
//! Templates only ever produce *text*. Channel payloads are JSON values built
//! in code from that text, so quotes, newlines, emoji or `<>&` in a commit
//! message can never break a payload (the classic bug of shell-templated
//! Slack JSON).

use minijinja::{Environment, Value, context};
use serde::Serialize;
use shipgate_core::config::IncidentTemplates;
use shipgate_core::exit::{Error, Result};

use crate::event::{DeployStatus, Event, EventKind, IncidentStatus, Tone};

/// What every channel starts from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// One line.
    pub title: String,
    /// Plain text, may span lines.
    pub text: String,
    /// Short facts shown as a table or field list.
    pub fields: Vec<Field>,
    pub links: Vec<Link>,
    pub tone: Tone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub text: String,
    pub url: String,
}

impl Message {
    /// Title and text on one line each, for SMS-like sinks and fallbacks.
    pub fn plain_text(&self) -> String {
        let mut out = format!("{}\n{}", self.title, self.text);
        for field in &self.fields {
            out.push_str(&format!("\n{}: {}", field.name, field.value));
        }
        for link in &self.links {
            out.push_str(&format!("\n{}: {}", link.text, link.url));
        }
        out
    }
}

/// What a command lets the user change about the text.
#[derive(Debug, Clone, Default)]
pub struct TextOptions {
    /// Replaces the default title.
    pub title: Option<String>,
    /// Extra text (or the whole text for `send`).
    pub message: Option<String>,
    /// A minijinja template replacing the default text.
    pub template: Option<String>,
}

const DEPLOY_TITLE: &str =
    "{{ emoji }} Deploy {{ status_text }}: {% if version %}{{ version }} to {% endif %}{{ environment }}";
const DEPLOY_TEXT: &str = "{% if repository %}{{ repository }}{% else %}The application{% endif %}\
{% if version %} {{ version }}{% endif %} {{ outcome }} {{ environment }}{% if actor %} by {{ actor }}{% endif %}\
{% if duration and status != 'started' %} after {{ duration }}{% endif %}.\
{% if message %}\n\n{{ message }}{% endif %}";
const RELEASE_TITLE: &str = "🚀 Released {% if repository %}{{ repository }} {% endif %}{{ version }}";
const RELEASE_TEXT: &str = "{% if notes %}{{ notes }}{% else %}Version {{ version }} is out.{% endif %}{% if message %}\n\n{{ message }}{% endif %}";
const INCIDENT_TITLE: &str = "{{ emoji }} [{{ severity }}] {{ service }}: {{ status }}";
const MESSAGE_TEXT: &str = "{{ message }}";

/// Renders the text of `event`.
pub fn render(event: &Event, options: &TextOptions, incident_templates: &IncidentTemplates) -> Result<Message> {
    let tone = event.tone();
    let variables = variables(event, options, tone);
    let (title_template, text_template): (&str, String) = match &event.kind {
        EventKind::Deploy { .. } => (DEPLOY_TITLE, DEPLOY_TEXT.to_string()),
        EventKind::Release { .. } => (RELEASE_TITLE, RELEASE_TEXT.to_string()),
        EventKind::Incident { status, .. } => {
            let public = match status {
                IncidentStatus::Investigating => &incident_templates.investigating,
                IncidentStatus::Identified => &incident_templates.identified,
                IncidentStatus::Monitoring => &incident_templates.monitoring,
                IncidentStatus::Resolved => &incident_templates.resolved,
            };
            (
                INCIDENT_TITLE,
                format!("{public}{{% if message %}}\n\n{{{{ message }}}}{{% endif %}}"),
            )
        }
        EventKind::Message => ("{{ title }}", MESSAGE_TEXT.to_string()),
    };
    let title = match &options.title {
        Some(title) => title.clone(),
        None => render_template("the title", title_template, &variables)?,
    };
    let text = match &options.template {
        Some(custom) => render_template("--template", custom, &variables)?,
        None => render_template("the message", &text_template, &variables)?,
    };
    Ok(Message {
        title: one_line(&title),
        text: text.trim().to_string(),
        fields: fields(event),
        links: links(event),
        tone,
    })
}

fn render_template(what: &str, source: &str, variables: &Value) -> Result<String> {
    let environment = Environment::new();
    environment
        .render_str(source, variables)
        .map_err(|err| Error::usage_with(format!("cannot render {what}"), err))
}

/// The variables templates see; documented in docs/notify.md.
fn variables(event: &Event, options: &TextOptions, tone: Tone) -> Value {
    let run = &event.context;
    let (status_text, outcome) = match &event.kind {
        EventKind::Deploy { status, .. } => match status {
            DeployStatus::Started => ("started", "is being deployed to"),
            DeployStatus::Succeeded => ("succeeded", "was deployed to"),
            DeployStatus::Failed => ("failed", "failed to deploy to"),
            DeployStatus::RolledBack => ("rolled back", "was rolled back on"),
            DeployStatus::Cancelled => ("cancelled", "was not deployed (cancelled) to"),
        },
        _ => ("", ""),
    };
    let (severity, service, notes) = match &event.kind {
        EventKind::Incident { severity, service, .. } => (Some(severity.as_str()), Some(service.as_str()), None),
        EventKind::Release { notes, .. } => (None, None, notes.as_deref()),
        _ => (None, None, None),
    };
    context! {
        event => event.kind.name(),
        emoji => tone.emoji(),
        status => event.status(),
        status_text => status_text,
        outcome => outcome,
        environment => event.environment(),
        version => event.version(),
        severity => severity,
        service => service,
        notes => notes,
        title => options.title.as_deref(),
        message => options.message.as_deref(),
        repository => run.repository.as_deref(),
        ref => run.git_ref.as_deref(),
        ref_name => run.ref_name.as_deref(),
        sha => run.sha.as_deref(),
        short_sha => run.short_sha(),
        actor => run.actor.as_deref(),
        workflow => run.workflow.as_deref(),
        run_url => run.run_url.as_deref(),
        started_at => run.started_at.as_deref(),
        duration => run.duration_text(),
        duration_seconds => run.duration_secs,
        dedup_key => event.dedup_key.as_str(),
    }
}

fn fields(event: &Event) -> Vec<Field> {
    let run = &event.context;
    let mut fields = Vec::new();
    let mut push = |name: &str, value: Option<&str>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            fields.push(Field {
                name: name.to_string(),
                value: value.to_string(),
            });
        }
    };
    if let EventKind::Incident { severity, .. } = &event.kind {
        push(
            "Severity",
            Some(&format!("{} ({})", severity.as_str(), severity.description())),
        );
    }
    push("Status", event.status());
    push("Environment", event.environment());
    push("Version", event.version());
    push("Repository", run.repository.as_deref());
    push("Ref", run.ref_name.as_deref());
    push("Commit", run.short_sha());
    push("Actor", run.actor.as_deref());
    push("Workflow", run.workflow.as_deref());
    // Time since a deploy started is not yet its duration.
    let starting = matches!(
        event.kind,
        EventKind::Deploy {
            status: DeployStatus::Started,
            ..
        }
    );
    if !starting {
        push("Duration", run.duration_text().as_deref());
    }
    fields
}

fn links(event: &Event) -> Vec<Link> {
    let mut links = Vec::new();
    if let Some(url) = &event.context.run_url {
        links.push(Link {
            text: "Workflow run".into(),
            url: url.clone(),
        });
    }
    if let Some(url) = event.context.commit_url() {
        links.push(Link {
            text: "Commit".into(),
            url,
        });
    }
    links
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The visible marker of a cut message.
pub const TRUNCATED: &str = "… (truncated)";

/// `text` cut to at most `max_chars` characters, ending in [`TRUNCATED`]
/// when anything was cut.
pub fn truncate_chars(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let keep = max_chars.saturating_sub(TRUNCATED.chars().count());
    let mut cut: String = text.chars().take(keep).collect();
    cut.push_str(TRUNCATED);
    cut
}

/// `text` cut to at most `max_bytes` UTF-8 bytes (on a character boundary),
/// ending in [`TRUNCATED`] when anything was cut.
pub fn truncate_bytes(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let mut end = max_bytes.saturating_sub(TRUNCATED.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{TRUNCATED}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{RunContext, Severity};

    fn context() -> RunContext {
        RunContext {
            repository: Some("acme/shop".into()),
            sha: Some("0123456789abcdef0123".into()),
            ref_name: Some("main".into()),
            actor: Some("octocat".into()),
            run_url: Some("https://github.com/acme/shop/actions/runs/42".into()),
            server_url: "https://github.com".into(),
            ..RunContext::default()
        }
    }

    #[test]
    fn deploy_messages_read_as_sentences() {
        let event = Event::new(
            EventKind::Deploy {
                status: DeployStatus::Succeeded,
                environment: "production".into(),
                version: Some("1.2.0".into()),
            },
            context(),
            None,
        );
        let message = render(&event, &TextOptions::default(), &IncidentTemplates::default()).unwrap();
        assert_eq!(message.title, "✅ Deploy succeeded: 1.2.0 to production");
        assert_eq!(message.text, "acme/shop 1.2.0 was deployed to production by octocat.");
        assert!(message.fields.contains(&Field {
            name: "Commit".into(),
            value: "0123456".into()
        }));
        assert_eq!(message.links[0].url, "https://github.com/acme/shop/actions/runs/42");
        assert_eq!(
            message.links[1].url,
            "https://github.com/acme/shop/commit/0123456789abcdef0123"
        );
    }

    #[test]
    fn durations_appear_in_the_text_fields_and_templates() {
        let start = crate::event::parse_started_at("2024-05-01T12:00:00Z").unwrap();
        let mut run = context();
        run.set_start(start, start + chrono::Duration::seconds(252));
        let deploy = |status| {
            Event::new(
                EventKind::Deploy {
                    status,
                    environment: "production".into(),
                    version: Some("1.2.0".into()),
                },
                run.clone(),
                None,
            )
        };
        let duration_field = Field {
            name: "Duration".into(),
            value: "4m 12s".into(),
        };
        let failed = render(
            &deploy(DeployStatus::Failed),
            &TextOptions::default(),
            &IncidentTemplates::default(),
        )
        .unwrap();
        assert_eq!(
            failed.text,
            "acme/shop 1.2.0 failed to deploy to production by octocat after 4m 12s."
        );
        assert!(failed.fields.contains(&duration_field));
        let started = render(
            &deploy(DeployStatus::Started),
            &TextOptions::default(),
            &IncidentTemplates::default(),
        )
        .unwrap();
        assert_eq!(
            started.text,
            "acme/shop 1.2.0 is being deployed to production by octocat."
        );
        assert!(!started.fields.contains(&duration_field));
        let options = TextOptions {
            template: Some("took {{ duration }} ({{ duration_seconds }}s) since {{ started_at }}".into()),
            ..TextOptions::default()
        };
        let custom = render(
            &deploy(DeployStatus::Succeeded),
            &options,
            &IncidentTemplates::default(),
        )
        .unwrap();
        assert_eq!(custom.text, "took 4m 12s (252s) since 2024-05-01T12:00:00Z");
        // Without a start, nothing about duration is said.
        let event = Event::new(EventKind::Message, context(), None);
        let message = render(&event, &TextOptions::default(), &IncidentTemplates::default()).unwrap();
        assert!(message.fields.iter().all(|f| f.name != "Duration"));
    }

    #[test]
    fn incidents_use_the_seed_templates() {
        let event = Event::new(
            EventKind::Incident {
                severity: Severity::P1,
                status: IncidentStatus::Investigating,
                service: "checkout".into(),
                environment: "production".into(),
            },
            context(),
            None,
        );
        let message = render(&event, &TextOptions::default(), &IncidentTemplates::default()).unwrap();
        assert_eq!(message.title, "🚨 [P1] checkout: investigating");
        assert_eq!(
            message.text,
            "We're investigating reports of issues with checkout. We'll provide updates as we learn more."
        );
    }

    #[test]
    fn custom_templates_see_the_context_and_bad_ones_are_usage_errors() {
        let event = Event::new(EventKind::Message, context(), None);
        let options = TextOptions {
            title: Some("hello".into()),
            template: Some("{{ repository }}@{{ short_sha }} by {{ actor }}".into()),
            ..TextOptions::default()
        };
        let message = render(&event, &options, &IncidentTemplates::default()).unwrap();
        assert_eq!(message.text, "acme/shop@0123456 by octocat");
        let broken = TextOptions {
            template: Some("{% if %}".into()),
            ..options
        };
        let error = render(&event, &broken, &IncidentTemplates::default()).unwrap_err();
        assert_eq!(error.exit_code(), shipgate_core::exit::ExitCode::Usage);
        assert!(error.to_string().contains("--template"), "{error}");
    }

    #[test]
    fn truncation_is_visible_and_respects_the_limit() {
        assert_eq!(truncate_chars("short", 10), "short");
        let cut = truncate_chars(&"é".repeat(100), 20);
        assert_eq!(cut.chars().count(), 20);
        assert!(cut.ends_with(TRUNCATED));
        let cut = truncate_bytes(&"😀".repeat(100), 50);
        assert!(cut.len() <= 50);
        assert!(cut.ends_with(TRUNCATED));
    }
}
