//! `notify send`: free-form text to any targets.

use clap::Args;
use shipgate_core::cli::GlobalArgs;
use shipgate_core::exit::{ExitCode, Result};

use crate::event::EventKind;
use crate::message::TextOptions;
use crate::{DeliveryArgs, Notification};

#[derive(Args, Debug, Clone)]
pub struct SendArgs {
    /// The title (one line)
    #[arg(long)]
    pub title: String,

    /// The text
    #[arg(long, default_value = "")]
    pub message: String,

    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

pub fn run(globals: &GlobalArgs, args: &SendArgs) -> Result<ExitCode> {
    let notification = Notification {
        kind: EventKind::Message,
        text: TextOptions {
            title: Some(args.title.clone()),
            message: Some(args.message.clone()),
            template: None,
        },
        routed: Vec::new(),
    };
    crate::send_notification(globals, &args.delivery, notification)
}
