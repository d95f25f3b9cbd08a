//! `smoke-tester wait`: polls until the target is healthy N times in a row,
//! or gives up at the deadline.

use std::time::{Duration, Instant};

use clap::Args;
use shipgate_core::actions::Runtime;
use shipgate_core::cli::{GlobalArgs, Ui};
use shipgate_core::exit::{ExitCode, Result};

use crate::checks::{CheckOutcome, CheckSet, Variables};
use crate::probe::Prober;
use crate::report::{Report, ReportArgs};
use crate::run::run_checks;
use crate::{HttpArgs, TargetArgs, parse_duration};

#[derive(Args, Debug, Clone)]
pub struct WaitArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Give up after this long
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: String,
    /// Consecutive healthy polls needed
    #[arg(long, value_name = "N", default_value = "1")]
    pub successes: std::num::NonZeroU32,
    /// Pause between polls
    #[arg(long, value_name = "DURATION", default_value = "1s")]
    pub poll_interval: String,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub reports: ReportArgs,
}

/// How waiting ended.
#[derive(Debug, Clone)]
pub struct WaitOutcome {
    pub ready: bool,
    pub polls: u32,
    pub elapsed: Duration,
    /// The outcomes of the last poll.
    pub last: Vec<CheckOutcome>,
}

pub fn run(globals: &GlobalArgs, args: &WaitArgs) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let set = args.target.load()?;
    let timeout = parse_duration("timeout", &args.timeout)?;
    let poll_interval = parse_duration("poll-interval", &args.poll_interval)?;
    let prober = Prober::new(&args.http.client_options())?;
    let outcome = crate::runtime()?.block_on(wait_until_ready(
        &prober,
        &set,
        crate::process_variables(),
        timeout,
        poll_interval,
        args.successes.get(),
    ));
    if outcome.ready {
        ui.info(&format!(
            "ready after {:.1}s ({} polls)",
            outcome.elapsed.as_secs_f64(),
            outcome.polls
        ));
    } else {
        let reason = outcome
            .last
            .iter()
            .find_map(CheckOutcome::failure_reason)
            .unwrap_or_else(|| "no healthy poll".into());
        ui.warn(&format!(
            "not ready after {:.1}s ({} polls); last failure: {reason}",
            outcome.elapsed.as_secs_f64(),
            outcome.polls
        ));
    }
    let report = Report {
        command: "wait".into(),
        passed: outcome.ready,
        checks: outcome.last,
        decision: None,
        prometheus: None,
        series: Vec::new(),
    };
    report.emit(&ui, &Runtime::detect(), &args.reports)
}

/// Polls every check of `set` each `poll_interval` until `successes`
/// consecutive polls pass or `timeout` runs out. Requests never outlive the deadline.
pub async fn wait_until_ready(
    prober: &Prober,
    set: &CheckSet,
    variables: Variables,
    timeout: Duration,
    poll_interval: Duration,
    successes: u32,
) -> WaitOutcome {
    let started = Instant::now();
    let deadline = started + timeout;
    let mut streak = 0;
    let mut polls = 0;
    let mut last = Vec::new();
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        let mut bounded = set.clone();
        for check in &mut bounded.checks {
            check.timeout = check.timeout.min(remaining);
            check.retries = Some(0);
        }
        polls += 1;
        last = run_checks(prober, &bounded, variables.clone(), 0, 8).await;
        if last.iter().all(|o| o.passed) {
            streak += 1;
            if streak >= successes {
                return WaitOutcome {
                    ready: true,
                    polls,
                    elapsed: started.elapsed(),
                    last,
                };
            }
        } else {
            streak = 0;
        }
        let pause = poll_interval.min(deadline.saturating_duration_since(Instant::now()));
        tokio::time::sleep(pause).await;
    }
    WaitOutcome {
        ready: false,
        polls,
        elapsed: started.elapsed(),
        last,
    }
}
