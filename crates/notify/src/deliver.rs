//! Fan-out: every target at once, each under its own timeout, and the
//! verdict over all of them.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use shipgate_core::config::ChannelKind;
use shipgate_core::exit::{Error, ExitCode};

use crate::channels::{self, Context, Delivered, Request};
use crate::event::Event;
use crate::message::Message;
use crate::target::{Target, kind_name};

/// What happened at one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetReport {
    pub target: String,
    #[serde(serialize_with = "serialize_kind")]
    pub kind: ChannelKind,
    pub optional: bool,
    #[serde(flatten)]
    pub result: TargetResult,
}

fn serialize_kind<S: serde::Serializer>(kind: &ChannelKind, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(kind_name(*kind))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum TargetResult {
    Delivered(Delivered),
    /// Nothing applied (PagerDuty for a deploy start) or the target is not configured.
    Skipped {
        detail: String,
    },
    /// `--dry-run`: what would have been sent.
    DryRun {
        requests: Vec<Request>,
    },
    Failed {
        error: String,
        /// Failed for network reasons (after retries), as opposed to being refused.
        network: bool,
    },
}

impl TargetReport {
    pub fn failed(&self) -> bool {
        matches!(self.result, TargetResult::Failed { .. })
    }

    pub fn detail(&self) -> String {
        match &self.result {
            TargetResult::Delivered(delivered) => delivered.detail.clone(),
            TargetResult::Skipped { detail } => detail.clone(),
            TargetResult::DryRun { requests } => requests
                .iter()
                .map(|r| format!("{} {}", r.method, shipgate_core::url_redaction::redact_str(&r.url)))
                .collect::<Vec<_>>()
                .join("; "),
            TargetResult::Failed { error, .. } => error.clone(),
        }
    }

    pub fn result_word(&self) -> &'static str {
        match &self.result {
            TargetResult::Delivered(_) => "delivered",
            TargetResult::Skipped { .. } => "skipped",
            TargetResult::DryRun { .. } => "dry-run",
            TargetResult::Failed { .. } => "failed",
        }
    }
}

/// Delivers to every target concurrently; reports keep the targets' order.
pub async fn deliver_all(
    targets: &[Target],
    event: &Event,
    message: &Message,
    context: &Context,
    timeout: Duration,
    dry_run: bool,
) -> Vec<TargetReport> {
    let shared = Arc::new((event.clone(), message.clone(), context.clone()));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, target) in targets.iter().cloned().enumerate() {
        let shared = Arc::clone(&shared);
        tasks.spawn(async move {
            let (event, message, context) = &*shared;
            let result = if dry_run {
                match channels::preview(&target, event, message, context) {
                    Ok(requests) => TargetResult::DryRun { requests },
                    Err(err) => failure(&err),
                }
            } else {
                match tokio::time::timeout(timeout, channels::deliver(&target, event, message, context)).await {
                    Ok(Ok(delivered)) if delivered.skipped => TargetResult::Skipped {
                        detail: delivered.detail,
                    },
                    Ok(Ok(delivered)) => TargetResult::Delivered(delivered),
                    Ok(Err(err)) => failure(&err),
                    Err(_) => TargetResult::Failed {
                        error: format!("no answer within {}s", timeout.as_secs_f64()),
                        network: true,
                    },
                }
            };
            (
                index,
                TargetReport {
                    target: target.name.clone(),
                    kind: target.kind,
                    optional: target.optional,
                    result,
                },
            )
        });
    }
    let mut reports: Vec<Option<TargetReport>> = vec![None; targets.len()];
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, report)) => reports[index] = Some(report),
            // A panicking channel is a bug; report it where it happened.
            Err(err) => eprintln!("notify: a delivery task failed: {err}"),
        }
    }
    reports
        .into_iter()
        .zip(targets)
        .map(|(report, target)| {
            report.unwrap_or_else(|| TargetReport {
                target: target.name.clone(),
                kind: target.kind,
                optional: target.optional,
                result: TargetResult::Failed {
                    error: "internal error while delivering".into(),
                    network: false,
                },
            })
        })
        .collect()
}

fn failure(err: &Error) -> TargetResult {
    TargetResult::Failed {
        error: shipgate_core::actions::redact(&err.to_string()).into_owned(),
        network: err.exit_code() == ExitCode::External,
    }
}

/// 0 when every required target got the message (or was skipped); 3 when
/// every failure of a required target was a network failure and nothing
/// required got through; 1 otherwise.
pub fn verdict(reports: &[TargetReport]) -> ExitCode {
    let required: Vec<&TargetReport> = reports.iter().filter(|r| !r.optional).collect();
    let failed: Vec<&&TargetReport> = required.iter().filter(|r| r.failed()).collect();
    if failed.is_empty() {
        return ExitCode::Ok;
    }
    let all_network = failed
        .iter()
        .all(|r| matches!(r.result, TargetResult::Failed { network: true, .. }));
    if all_network && failed.len() == required.len() {
        ExitCode::External
    } else {
        ExitCode::CheckFailed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(optional: bool, result: TargetResult) -> TargetReport {
        TargetReport {
            target: "t".into(),
            kind: ChannelKind::Webhook,
            optional,
            result,
        }
    }

    fn failed(network: bool) -> TargetResult {
        TargetResult::Failed {
            error: "x".into(),
            network,
        }
    }

    #[test]
    fn the_verdict_follows_required_targets() {
        let ok = || TargetResult::Delivered(Delivered::detail("200"));
        assert_eq!(verdict(&[report(false, ok())]), ExitCode::Ok);
        assert_eq!(
            verdict(&[report(false, ok()), report(true, failed(false))]),
            ExitCode::Ok
        );
        assert_eq!(
            verdict(&[report(false, ok()), report(false, failed(true))]),
            ExitCode::CheckFailed
        );
        assert_eq!(
            verdict(&[report(false, failed(true)), report(false, failed(true))]),
            ExitCode::External
        );
        assert_eq!(
            verdict(&[report(false, failed(true)), report(false, failed(false))]),
            ExitCode::CheckFailed
        );
        assert_eq!(verdict(&[report(true, failed(true))]), ExitCode::Ok);
    }
}
