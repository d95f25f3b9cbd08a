//! notify: Sends deploy, release and incident notifications.
//!
//! The binary in `main.rs` only parses arguments; everything it does lives
//! here. A command builds an [`event::Event`], renders one
//! [`message::Message`] from it, resolves its targets ([`target`]) and fans
//! out to them ([`deliver`]), each channel shaping its own payload
//! ([`channels`]).

pub mod channels;
pub mod deliver;
pub mod deploy;
pub mod event;
pub mod incident;
pub mod message;
pub mod release;
pub mod send;
pub mod target;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde_json::json;
use shipgate_core::actions::{Runtime, Summary};
use shipgate_core::cli::{self, CommonCommand, DryRunArg, GlobalArgs, Tool, Ui};
use shipgate_core::config::ChannelKind;
use shipgate_core::exit::{Error, ExitCode, Result};
use shipgate_core::github::GitHubSettings;
use shipgate_core::retry::RetryPolicy;

use crate::deliver::{TargetReport, TargetResult};
use crate::event::{Event, EventKind, RunContext};
use crate::message::TextOptions;

/// Identity and configuration sections of this tool.
pub const TOOL: Tool = Tool {
    name: "notify",
    version: env!("CARGO_PKG_VERSION"),
    sections: &["notify"],
    docs: include_str!("../../../docs/notify.md"),
};

/// Deploy, release and incident notifications to Slack, Discord, Teams,
/// PagerDuty, status pages, email, GitHub and local sinks.
#[derive(Parser, Debug)]
// No `propagate_version`: `--version` is an argument of deploy and release.
#[command(name = "notify", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub globals: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand: notify's own and those every tool has.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// A deployment started, succeeded, failed, was rolled back or cancelled
    Deploy(deploy::DeployArgs),
    /// An incident: routed by severity, PagerDuty and status page follow its status
    Incident(incident::IncidentArgs),
    /// A release is out, with its changelog section
    Release(release::ReleaseArgs),
    /// Free-form text
    Send(send::SendArgs),
    #[command(flatten)]
    Common(CommonCommand),
}

/// Runs the command line `main.rs` parsed: the binary's one call into the library.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let globals = &cli.globals;
    match &cli.command {
        Command::Deploy(args) => deploy::run(globals, args),
        Command::Incident(args) => incident::run(globals, args),
        Command::Release(args) => release::run(globals, args),
        Command::Send(args) => send::run(globals, args),
        Command::Common(common) => cli::run_common::<Cli>(&TOOL, globals, common),
    }
}

/// Limit for one HTTP attempt; the per-target timeout bounds the retries.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where to send and how; every command flattens these.
#[derive(Args, Debug, Clone, Default)]
pub struct DeliveryArgs {
    /// Target URL (repeatable; one per line also works), e.g. slack://T/B/X,
    /// pagerduty://KEY, jsons://host/path, stdout:// — see docs/notify.md
    #[arg(long = "to", value_name = "URL", env = "NOTIFY_TARGETS", hide_env_values = true)]
    pub to: Vec<String>,

    /// A channel named in `[[notify.channels]]` (repeatable)
    #[arg(long = "target", value_name = "NAME")]
    pub target: Vec<String>,

    /// A minijinja template file for the message text
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,

    /// Update this earlier Slack message (the `slack-ts` output) instead of posting
    #[arg(long, value_name = "TS")]
    pub slack_ts: Option<String>,

    /// PagerDuty dedup key [default: shipgate/<repo>/<environment>/<incident>]
    #[arg(long, value_name = "KEY")]
    pub dedup_key: Option<String>,

    /// When the work began, for the message's duration: RFC 3339 or Unix seconds (`date +%s`)
    #[arg(long, value_name = "TIME", env = "SHIPGATE_STARTED_AT")]
    pub started_at: Option<String>,

    #[command(flatten)]
    pub dry_run: DryRunArg,
}

/// Everything one command resolved before sending.
pub struct Notification {
    pub kind: EventKind,
    pub text: TextOptions,
    /// Channel names from severity routing (incidents).
    pub routed: Vec<String>,
}

/// Sends one notification end to end: the body of every notify subcommand.
pub fn send_notification(
    globals: &GlobalArgs,
    delivery: &DeliveryArgs,
    notification: Notification,
) -> Result<ExitCode> {
    send_notification_with(globals, delivery, notification, |_| {})
}

/// [`send_notification`], letting the command adjust the event before it is rendered.
pub fn send_notification_with(
    globals: &GlobalArgs,
    delivery: &DeliveryArgs,
    notification: Notification,
    customize: impl FnOnce(&mut Event),
) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let runtime = Runtime::detect();
    let config = cli::load_config(globals)?.config.notify;
    let mut text = notification.text;
    if let Some(path) = &delivery.template {
        text.template = Some(
            std::fs::read_to_string(path)
                .map_err(|err| Error::usage_with(format!("cannot read --template {}", path.display()), err))?,
        );
    }
    let mut run = RunContext::from_runtime(&runtime);
    if let Some(text) = delivery.started_at.as_deref().filter(|t| !t.trim().is_empty()) {
        let started = event::parse_started_at(text).ok_or_else(|| {
            Error::usage(format!(
                "--started-at `{}` is not a time: use RFC 3339 (2024-05-01T12:00:00Z) or Unix seconds (`date +%s`)",
                text.trim()
            ))
        })?;
        run.set_start(started, chrono::Utc::now());
    }
    let mut event = Event::new(notification.kind, run, delivery.dedup_key.clone());
    customize(&mut event);
    let message = message::render(&event, &text, &config.incident_templates)?;
    let env = |name: &str| std::env::var(name).ok();
    let selection = target::select(&delivery.to, &delivery.target, &notification.routed, &config, &env)?;
    if selection.targets.is_empty() {
        let hint = if selection.unconfigured.is_empty() {
            String::new()
        } else {
            format!(
                " (the routed channels {} are not configured in [[notify.channels]])",
                selection.unconfigured.join(", ")
            )
        };
        return Err(Error::usage(format!(
            "no targets: pass --to URL or --target NAME{hint}"
        )));
    }
    let github = if selection.targets.iter().any(|t| t.kind == ChannelKind::Github) {
        let settings = GitHubSettings::from_runtime(&runtime, None);
        if settings.token.is_none() && !delivery.dry_run.dry_run {
            return Err(Error::usage("the github target needs a token: set GITHUB_TOKEN"));
        }
        Some(
            channels::github::GitHubTarget::from_event(settings, &event).ok_or_else(|| {
                Error::usage(
                    "the github target needs GITHUB_REPOSITORY and GITHUB_SHA (it runs inside a GitHub Actions job)",
                )
            })?,
        )
    } else {
        None
    };
    let timeout = config.timeout.as_duration();
    let context = channels::Context {
        client: channels::HttpClient::new(timeout.min(ATTEMPT_TIMEOUT)),
        retry: RetryPolicy::default(),
        slack_ts: delivery.slack_ts.clone(),
        json: ui.json,
        github,
        smtp_timeout: timeout.min(ATTEMPT_TIMEOUT),
    };
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Error::external_with("cannot start the async runtime", err))?;
    let mut reports = tokio.block_on(deliver::deliver_all(
        &selection.targets,
        &event,
        &message,
        &context,
        timeout,
        delivery.dry_run.dry_run,
    ));
    for name in &selection.unconfigured {
        reports.push(TargetReport {
            target: name.clone(),
            kind: ChannelKind::Webhook,
            optional: true,
            result: TargetResult::Skipped {
                detail: format!("not configured (no [[notify.channels]] named `{name}`)"),
            },
        });
    }
    report(&ui, &runtime, &event, &message, &reports, delivery.dry_run.dry_run)?;
    // Warnings and the error line follow the results table.
    for r in reports.iter().filter(|r| r.failed() && r.optional) {
        ui.warn(&format!("{}: {} (optional target)", r.target, r.detail()));
    }
    match deliver::verdict(&reports) {
        ExitCode::Ok => Ok(ExitCode::Ok),
        code => Err(not_delivered(code, &reports)),
    }
}

/// The one error line for required targets that were not delivered, so a
/// failed run reads `notify: error: …` (and writes one `::error` in
/// Actions) like every other tool, after the results table.
fn not_delivered(code: ExitCode, reports: &[TargetReport]) -> Error {
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| r.failed() && !r.optional)
        .map(|r| format!("{}: {}", r.target, r.detail()))
        .collect();
    let message = format!(
        "{} of {} target(s) not delivered: {}",
        failed.len(),
        reports.len(),
        failed.join("; ")
    );
    if code == ExitCode::External {
        Error::external(message)
    } else {
        Error::check(message)
    }
}

fn report(
    ui: &Ui,
    runtime: &Runtime,
    event: &Event,
    message: &message::Message,
    reports: &[TargetReport],
    dry_run: bool,
) -> Result<()> {
    let delivered = reports
        .iter()
        .filter(|r| matches!(r.result, TargetResult::Delivered(_)))
        .count();
    let failed = reports.iter().filter(|r| r.failed()).count();
    let slack_ts = reports.iter().find_map(|r| match &r.result {
        TargetResult::Delivered(d) => d.slack_ts.clone(),
        _ => None,
    });
    let dedup_key = reports.iter().find_map(|r| match &r.result {
        TargetResult::Delivered(d) => d.dedup_key.clone(),
        _ => None,
    });
    runtime.set_output("delivered", &delivered.to_string())?;
    runtime.set_output("failed", &failed.to_string())?;
    runtime.set_output("slack-ts", slack_ts.as_deref().unwrap_or_default())?;
    runtime.set_output("pagerduty-dedup-key", dedup_key.as_deref().unwrap_or_default())?;

    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            vec![
                r.target.clone(),
                target::kind_name(r.kind).to_string(),
                r.result_word().to_string(),
                r.detail(),
            ]
        })
        .collect();
    let mut summary = Summary::new();
    summary
        .heading(3, &format!("notify: {}", message.title))
        .table(&["target", "kind", "result", "detail"], &rows);
    runtime.append_summary(summary.as_markdown())?;

    if ui.json {
        return ui.print_json(&json!({
            "event": event.kind.name(),
            "status": event.status(),
            "dedup_key": event.dedup_key,
            "title": message.title,
            "message": message.text,
            "dry_run": dry_run,
            "delivered": delivered,
            "failed": failed,
            "slack_ts": slack_ts,
            "targets": reports,
        }));
    }
    if dry_run {
        for r in reports {
            ui.print(&format!("── {} ({})\n", r.target, target::kind_name(r.kind)))?;
            if let TargetResult::DryRun { requests } = &r.result {
                for request in requests {
                    let body = serde_json::to_string_pretty(&request.body).unwrap_or_default();
                    ui.print(&format!(
                        "{} {}\n{body}\n",
                        request.method,
                        shipgate_core::url_redaction::redact_str(&request.url)
                    ))?;
                }
            } else {
                ui.print(&format!("{}\n", r.detail()))?;
            }
        }
        return Ok(());
    }
    let width = reports
        .iter()
        .map(|r| r.target.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut table = String::new();
    for r in reports {
        table.push_str(&format!(
            "{:<width$}  {:<10}  {:<9}  {}\n",
            r.target,
            target::kind_name(r.kind),
            r.result_word(),
            r.detail()
        ));
    }
    ui.info(table.trim_end());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn reads_only_known_config_sections() {
        for section in TOOL.sections {
            assert!(shipgate_core::config::SECTIONS.contains(section), "{section}");
        }
    }
}
