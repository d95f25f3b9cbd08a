//! What happened: the event model every command builds and every channel
//! renders. Channels never see command-line flags, only an [`Event`] and the
//! [`Message`] rendered from it.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use clap::ValueEnum;
use serde::Serialize;
use shipgate_core::actions::Runtime;

/// The outcome of a deployment, as `--status` spells it.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployStatus {
    Started,
    Succeeded,
    Failed,
    RolledBack,
    Cancelled,
}

impl DeployStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployStatus::Started => "started",
            DeployStatus::Succeeded => "succeeded",
            DeployStatus::Failed => "failed",
            DeployStatus::RolledBack => "rolled-back",
            DeployStatus::Cancelled => "cancelled",
        }
    }

    /// `${{ job.status }}` is `success`, `failure` or `cancelled`; accepting
    /// it lets `status: ${{ job.status }}` work in `if: always()` steps.
    pub fn parse_lenient(text: &str) -> Option<DeployStatus> {
        match text.trim().to_ascii_lowercase().as_str() {
            "started" | "start" | "in_progress" | "in-progress" => Some(DeployStatus::Started),
            "succeeded" | "success" | "successful" => Some(DeployStatus::Succeeded),
            "failed" | "failure" => Some(DeployStatus::Failed),
            "rolled-back" | "rolled_back" | "rollback" => Some(DeployStatus::RolledBack),
            "cancelled" | "canceled" => Some(DeployStatus::Cancelled),
            _ => None,
        }
    }
}

/// Seed 003 "Incident Classification".
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Severity {
    /// Complete service outage.
    #[value(name = "P0", alias = "p0")]
    P0,
    /// Major feature broken.
    #[value(name = "P1", alias = "p1")]
    P1,
    /// Minor feature degraded.
    #[value(name = "P2", alias = "p2")]
    P2,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::P0 => "P0",
            Severity::P1 => "P1",
            Severity::P2 => "P2",
        }
    }

    /// Seed 003's description of the severity.
    pub fn description(self) -> &'static str {
        match self {
            Severity::P0 => "Complete service outage",
            Severity::P1 => "Major feature broken",
            Severity::P2 => "Minor feature degraded",
        }
    }
}

/// Where an incident stands (Statuspage's statuses).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncidentStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "investigating",
            IncidentStatus::Identified => "identified",
            IncidentStatus::Monitoring => "monitoring",
            IncidentStatus::Resolved => "resolved",
        }
    }
}

/// The kind-specific part of an event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    Deploy {
        status: DeployStatus,
        environment: String,
        version: Option<String>,
    },
    Release {
        version: String,
        notes: Option<String>,
    },
    Incident {
        severity: Severity,
        status: IncidentStatus,
        service: String,
        environment: String,
    },
    /// `notify send`: free-form text.
    Message,
}

impl EventKind {
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Deploy { .. } => "deploy",
            EventKind::Release { .. } => "release",
            EventKind::Incident { .. } => "incident",
            EventKind::Message => "message",
        }
    }
}

/// Where the run happened, from the GitHub Actions environment when present.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunContext {
    pub repository: Option<String>,
    pub git_ref: Option<String>,
    pub ref_name: Option<String>,
    pub sha: Option<String>,
    pub actor: Option<String>,
    pub workflow: Option<String>,
    pub run_url: Option<String>,
    /// The pull request number when the run is for one.
    pub pull_request: Option<u64>,
    pub server_url: String,
    /// When the work being reported on began (RFC 3339, UTC): `--started-at`,
    /// else a `workflow_run` event's `run_started_at`.
    pub started_at: Option<String>,
    /// Whole seconds from `started_at` to the notification.
    pub duration_secs: Option<u64>,
}

impl RunContext {
    pub fn from_runtime(runtime: &Runtime) -> RunContext {
        let context = runtime.context();
        let payload = runtime
            .var("GITHUB_EVENT_PATH")
            .and_then(|path| std::fs::read_to_string(path).ok())
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
        let pull_request = payload.as_ref().and_then(|event| {
            event
                .pointer("/pull_request/number")
                .or_else(|| event.pointer("/issue/number"))
                .and_then(serde_json::Value::as_u64)
        });
        // A job triggered by `workflow_run` reports on that run, whose start
        // the event carries; other events say nothing about when work began.
        let run_started_at = payload
            .as_ref()
            .and_then(|event| event.pointer("/workflow_run/run_started_at"))
            .and_then(serde_json::Value::as_str)
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|time| time.with_timezone(&Utc));
        let mut run = RunContext {
            run_url: context.run_url(),
            repository: context.repository,
            git_ref: context.git_ref,
            ref_name: context.ref_name,
            sha: context.sha,
            actor: context.actor,
            workflow: runtime.var("GITHUB_WORKFLOW").map(str::to_owned),
            pull_request,
            server_url: context.server_url,
            started_at: None,
            duration_secs: None,
        };
        if let Some(started) = run_started_at {
            run.set_start(started, Utc::now());
        }
        run
    }

    /// Records when the work began, and so how long it has taken by `now`.
    /// A start in the future (clock skew between machines) counts as now.
    pub fn set_start(&mut self, started: DateTime<Utc>, now: DateTime<Utc>) {
        self.started_at = Some(started.to_rfc3339_opts(SecondsFormat::Secs, true));
        self.duration_secs = Some(u64::try_from((now - started).num_seconds()).unwrap_or(0));
    }

    /// The duration for people: `42s`, `4m 12s`, `1h 3m 5s`.
    pub fn duration_text(&self) -> Option<String> {
        self.duration_secs.map(format_duration)
    }

    pub fn short_sha(&self) -> Option<&str> {
        self.sha.as_deref().map(|sha| &sha[..sha.len().min(7)])
    }

    pub fn commit_url(&self) -> Option<String> {
        Some(format!(
            "{}/{}/commit/{}",
            self.server_url,
            self.repository.as_deref()?,
            self.sha.as_deref()?
        ))
    }
}

/// `--started-at` / `SHIPGATE_STARTED_AT`: an RFC 3339 time
/// (`2024-05-01T12:00:00Z`) or Unix seconds (what `date +%s` prints).
pub fn parse_started_at(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return DateTime::from_timestamp(seconds, 0);
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// `42s`, `4m 12s`, `1h 3m 5s`, `2d 1h 0m 0s`.
pub fn format_duration(total_secs: u64) -> String {
    let (days, hours, minutes, seconds) = (
        total_secs / 86_400,
        total_secs % 86_400 / 3600,
        total_secs % 3600 / 60,
        total_secs % 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, _) => format!("{minutes}m {seconds}s"),
        (0, _, _) => format!("{hours}h {minutes}m {seconds}s"),
        _ => format!("{days}d {hours}h {minutes}m {seconds}s"),
    }
}

/// One notification: what happened and where, before any channel renders it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    #[serde(flatten)]
    pub kind: EventKind,
    pub context: RunContext,
    /// The PagerDuty dedup key: the same repository, environment and
    /// incident always give the same key, so a later job resolves what an
    /// earlier one opened without shared state.
    pub dedup_key: String,
    /// The status-page incident this event belongs to: the same name
    /// updates the same incident.
    pub incident_name: String,
}

impl Event {
    pub fn new(kind: EventKind, context: RunContext, dedup_key_override: Option<String>) -> Event {
        let dedup_key = dedup_key_override.unwrap_or_else(|| default_dedup_key(&kind, &context));
        let incident_name = match &kind {
            EventKind::Deploy { environment, .. } => format!("Deployment to {environment}"),
            EventKind::Incident { service, .. } => format!("Issues with {service}"),
            EventKind::Release { version, .. } => format!("Release {version}"),
            EventKind::Message => "Notice".to_string(),
        };
        Event {
            kind,
            context,
            dedup_key,
            incident_name,
        }
    }

    /// How good or bad the news is; channels turn it into colours.
    pub fn tone(&self) -> Tone {
        match &self.kind {
            EventKind::Deploy { status, .. } => match status {
                DeployStatus::Started => Tone::Info,
                DeployStatus::Succeeded => Tone::Good,
                DeployStatus::Failed => Tone::Bad,
                DeployStatus::RolledBack | DeployStatus::Cancelled => Tone::Warning,
            },
            EventKind::Release { .. } => Tone::Good,
            EventKind::Incident { status, severity, .. } => match status {
                IncidentStatus::Resolved => Tone::Good,
                IncidentStatus::Monitoring => Tone::Info,
                _ if *severity == Severity::P2 => Tone::Warning,
                _ => Tone::Bad,
            },
            EventKind::Message => Tone::Info,
        }
    }

    /// The status word of this event, if it has one.
    pub fn status(&self) -> Option<&'static str> {
        match &self.kind {
            EventKind::Deploy { status, .. } => Some(status.as_str()),
            EventKind::Incident { status, .. } => Some(status.as_str()),
            EventKind::Release { .. } | EventKind::Message => None,
        }
    }

    pub fn environment(&self) -> Option<&str> {
        match &self.kind {
            EventKind::Deploy { environment, .. } | EventKind::Incident { environment, .. } => Some(environment),
            _ => None,
        }
    }

    pub fn version(&self) -> Option<&str> {
        match &self.kind {
            EventKind::Deploy { version, .. } => version.as_deref(),
            EventKind::Release { version, .. } => Some(version),
            _ => None,
        }
    }
}

/// `shipgate/<repo>/<environment>/<incident>`: readable in PagerDuty's UI
/// and stable across jobs and runs.
fn default_dedup_key(kind: &EventKind, context: &RunContext) -> String {
    let repository = context.repository.as_deref().unwrap_or("local");
    let key = match kind {
        EventKind::Deploy { environment, .. } => format!("shipgate/{repository}/{environment}/deploy"),
        EventKind::Incident {
            service, environment, ..
        } => format!("shipgate/{repository}/{environment}/{service}"),
        EventKind::Release { version, .. } => format!("shipgate/{repository}/release/{version}"),
        EventKind::Message => format!("shipgate/{repository}/message"),
    };
    // PagerDuty rejects keys over 255 characters.
    key.chars().take(255).collect()
}

/// Good news, bad news, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tone {
    Good,
    Warning,
    Bad,
    Info,
}

impl Tone {
    /// `#rrggbb`, Slack's attachment colours.
    pub fn hex(self) -> &'static str {
        match self {
            Tone::Good => "#2eb886",
            Tone::Warning => "#daa038",
            Tone::Bad => "#a30200",
            Tone::Info => "#1d9bd1",
        }
    }

    /// Discord's integer colour.
    pub fn rgb(self) -> u32 {
        u32::from_str_radix(&self.hex()[1..], 16).unwrap_or(0)
    }

    pub fn emoji(self) -> &'static str {
        match self {
            Tone::Good => "✅",
            Tone::Warning => "⚠️",
            Tone::Bad => "🚨",
            Tone::Info => "🚀",
        }
    }
}

impl fmt::Display for Tone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> RunContext {
        RunContext {
            repository: Some("acme/shop".into()),
            sha: Some("0123456789abcdef".into()),
            server_url: "https://github.com".into(),
            ..RunContext::default()
        }
    }

    #[test]
    fn dedup_keys_are_stable_per_repository_environment_and_incident() {
        let incident = |status| EventKind::Incident {
            severity: Severity::P0,
            status,
            service: "checkout".into(),
            environment: "production".into(),
        };
        let opened = Event::new(incident(IncidentStatus::Investigating), context(), None);
        let resolved = Event::new(incident(IncidentStatus::Resolved), context(), None);
        assert_eq!(opened.dedup_key, "shipgate/acme/shop/production/checkout");
        assert_eq!(opened.dedup_key, resolved.dedup_key);
        let custom = Event::new(incident(IncidentStatus::Resolved), context(), Some("mine".into()));
        assert_eq!(custom.dedup_key, "mine");
    }

    #[test]
    fn start_times_are_rfc_3339_or_unix_seconds() {
        let expected = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_started_at("2024-05-01T12:00:00Z"), Some(expected));
        assert_eq!(parse_started_at("2024-05-01T14:00:00+02:00"), Some(expected));
        assert_eq!(parse_started_at(" 1714564800\n"), Some(expected));
        assert_eq!(parse_started_at("yesterday"), None);
        assert_eq!(parse_started_at("2024-05-01 12:00"), None);
    }

    #[test]
    fn durations_read_like_a_stopwatch() {
        let mut run = context();
        let start = parse_started_at("2024-05-01T12:00:00Z").unwrap();
        run.set_start(start, start + chrono::Duration::seconds(252));
        assert_eq!(run.started_at.as_deref(), Some("2024-05-01T12:00:00Z"));
        assert_eq!(run.duration_secs, Some(252));
        assert_eq!(run.duration_text().as_deref(), Some("4m 12s"));
        run.set_start(start, start - chrono::Duration::seconds(5));
        assert_eq!(run.duration_secs, Some(0), "a start in the future is now");
        assert_eq!(format_duration(42), "42s");
        assert_eq!(format_duration(3785), "1h 3m 5s");
        assert_eq!(format_duration(176_400), "2d 1h 0m 0s");
    }

    #[test]
    fn workflow_run_events_carry_the_start_of_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(
            &path,
            r#"{"action": "completed", "workflow_run": {"id": 1, "run_started_at": "2024-05-01T12:00:00Z"}}"#,
        )
        .unwrap();
        let runtime = Runtime::from_env_map([("GITHUB_EVENT_PATH", path.to_str().unwrap())]);
        let run = RunContext::from_runtime(&runtime);
        assert_eq!(run.started_at.as_deref(), Some("2024-05-01T12:00:00Z"));
        assert!(run.duration_secs.unwrap() > 3600, "{:?}", run.duration_secs);
        std::fs::write(&path, r#"{"pull_request": {"number": 7}}"#).unwrap();
        let run = RunContext::from_runtime(&runtime);
        assert_eq!(
            (run.started_at, run.duration_secs, run.pull_request),
            (None, None, Some(7))
        );
    }

    #[test]
    fn job_status_words_are_accepted() {
        assert_eq!(DeployStatus::parse_lenient("success"), Some(DeployStatus::Succeeded));
        assert_eq!(DeployStatus::parse_lenient("failure"), Some(DeployStatus::Failed));
        assert_eq!(DeployStatus::parse_lenient("cancelled"), Some(DeployStatus::Cancelled));
        assert_eq!(
            DeployStatus::parse_lenient("rolled-back"),
            Some(DeployStatus::RolledBack)
        );
        assert_eq!(DeployStatus::parse_lenient("exploded"), None);
    }

    #[test]
    fn tones_follow_the_outcome() {
        let deploy = |status| {
            Event::new(
                EventKind::Deploy {
                    status,
                    environment: "production".into(),
                    version: None,
                },
                context(),
                None,
            )
            .tone()
        };
        assert_eq!(deploy(DeployStatus::Succeeded), Tone::Good);
        assert_eq!(deploy(DeployStatus::Failed), Tone::Bad);
        assert_eq!(deploy(DeployStatus::RolledBack), Tone::Warning);
        assert_eq!(Tone::Good.rgb(), 0x2eb886);
    }
}
