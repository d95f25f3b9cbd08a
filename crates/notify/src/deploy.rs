//! `notify deploy`: a deployment started, succeeded, failed, was rolled
//! back or cancelled.

use clap::Args;
use shipgate_core::cli::GlobalArgs;
use shipgate_core::exit::{ExitCode, Result};

use crate::event::{DeployStatus, EventKind};
use crate::message::TextOptions;
use crate::{DeliveryArgs, Notification};

#[derive(Args, Debug, Clone)]
pub struct DeployArgs {
    /// started | succeeded | failed | rolled-back | cancelled (also `${{ job.status }}`: success, failure, cancelled)
    #[arg(long, value_parser = parse_status)]
    pub status: DeployStatus,

    /// The environment deployed to
    #[arg(long, alias = "env", default_value = "production")]
    pub environment: String,

    /// The version deployed
    #[arg(long)]
    pub version: Option<String>,

    /// Extra text after the default message
    #[arg(long)]
    pub message: Option<String>,

    /// Replaces the default title
    #[arg(long)]
    pub title: Option<String>,

    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

fn parse_status(text: &str) -> Result<DeployStatus, String> {
    DeployStatus::parse_lenient(text)
        .ok_or_else(|| format!("`{text}` is not a deploy status (started, succeeded, failed, rolled-back, cancelled)"))
}

pub fn run(globals: &GlobalArgs, args: &DeployArgs) -> Result<ExitCode> {
    let notification = Notification {
        kind: EventKind::Deploy {
            status: args.status,
            environment: args.environment.clone(),
            version: args.version.clone().filter(|v| !v.is_empty()),
        },
        text: TextOptions {
            title: args.title.clone(),
            message: args.message.clone().filter(|m| !m.is_empty()),
            template: None,
        },
        routed: Vec::new(),
    };
    crate::send_notification(globals, &args.delivery, notification)
}
