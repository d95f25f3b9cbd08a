//! `notify incident`: seed 003's incident communication. Without `--to` or
//! `--target`, the severity picks the channels (`[notify.incident_routes]`).

use clap::Args;
use shipgate_core::cli::{self, GlobalArgs};
use shipgate_core::exit::{ExitCode, Result};

use crate::event::{EventKind, IncidentStatus, Severity};
use crate::message::TextOptions;
use crate::{DeliveryArgs, Notification};

#[derive(Args, Debug, Clone)]
pub struct IncidentArgs {
    /// P0 (complete outage) | P1 (major feature broken) | P2 (minor feature degraded)
    #[arg(long, value_enum)]
    pub severity: Severity,

    /// investigating | identified | monitoring | resolved
    #[arg(long, value_enum)]
    pub status: IncidentStatus,

    /// The affected service
    #[arg(long)]
    pub service: String,

    /// The environment affected (part of the PagerDuty dedup key)
    #[arg(long, alias = "env", default_value = "production")]
    pub environment: String,

    /// The incident's name on the status page and the message title
    #[arg(long)]
    pub title: Option<String>,

    /// Extra text after the status template
    #[arg(long)]
    pub message: Option<String>,

    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

pub fn run(globals: &GlobalArgs, args: &IncidentArgs) -> Result<ExitCode> {
    let routed = if args.delivery.to.is_empty() && args.delivery.target.is_empty() {
        let routes = cli::load_config(globals)?.config.notify.incident_routes;
        match args.severity {
            Severity::P0 => routes.p0,
            Severity::P1 => routes.p1,
            Severity::P2 => routes.p2,
        }
    } else {
        Vec::new()
    };
    let notification = Notification {
        kind: EventKind::Incident {
            severity: args.severity,
            status: args.status,
            service: args.service.clone(),
            environment: args.environment.clone(),
        },
        text: TextOptions {
            title: args.title.clone(),
            message: args.message.clone().filter(|m| !m.is_empty()),
            template: None,
        },
        routed,
    };
    crate::send_notification_with(globals, &args.delivery, notification, |event| {
        if let Some(title) = &args.title {
            event.incident_name = title.clone();
        }
    })
}
