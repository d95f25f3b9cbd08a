//! `smoke-tester run`: every check of a checks file, concurrently (bounded),
//! one table, exit 1 if any check fails.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use shipgate_core::actions::Runtime;
use shipgate_core::cli::{GlobalArgs, Ui};
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::checks::{CheckOutcome, CheckSet, Variables, run_with_retries};
use crate::probe::Prober;
use crate::report::{Report, ReportArgs};
use crate::{HttpArgs, TargetArgs};

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The checks file (TOML with [[check]] tables) [default: the [[smoke.check]] tables of shipgate.toml]
    #[arg(long, value_name = "FILE")]
    pub checks: Option<PathBuf>,
    /// Base URL for relative check URLs, overriding the file's `base_url`
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Checks in flight at once (a file with captures runs in order)
    #[arg(long, value_name = "N", default_value = "8")]
    pub concurrency: NonZeroUsize,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub reports: ReportArgs,
}

pub fn run(globals: &GlobalArgs, args: &RunArgs) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let set = match &args.checks {
        Some(path) => TargetArgs {
            checks: Some(path.clone()),
            base_url: args.base_url.clone(),
            ..TargetArgs::default()
        }
        .load()?,
        None => {
            let set = checks_from_config(globals, args.base_url.as_deref())?;
            set.validate(&crate::process_variables())?;
            set
        }
    };
    let config = crate::smoke_config(globals, &args.http)?;
    let prober = Prober::new(&args.http.client_options())?;
    let retries = config.failure_threshold.get() - 1;
    // One check at a time gains nothing from worker threads, and pays for
    // every response with a cross-thread wake-up.
    let runtime = if args.concurrency.get() == 1 {
        crate::single_thread_runtime()?
    } else {
        crate::runtime()?
    };
    let outcomes = runtime.block_on(run_checks(
        &prober,
        &set,
        crate::process_variables(),
        retries,
        args.concurrency.get(),
    ));
    let report = Report {
        command: "run".into(),
        passed: outcomes.iter().all(|o| o.passed),
        checks: outcomes,
        decision: None,
        prometheus: None,
        series: Vec::new(),
    };
    report.emit(&ui, &Runtime::detect(), &args.reports)
}

/// The `[[smoke.check]]` tables of the configuration file.
fn checks_from_config(globals: &GlobalArgs, base_url: Option<&str>) -> Result<CheckSet> {
    let loaded = shipgate_core::cli::load_config(globals)?;
    let Some(file) = loaded.file.filter(|_| !loaded.config.smoke.check.is_empty()) else {
        return Err(Error::usage(
            "no checks: give --checks FILE or add [[smoke.check]] tables to shipgate.toml",
        ));
    };
    let text =
        std::fs::read_to_string(&file).map_err(|e| Error::usage_with(format!("cannot read {}", file.display()), e))?;
    let mut set = crate::checks::parse_shipgate_toml(&text, &file.display().to_string())?;
    if let Some(base) = base_url {
        reqwest::Url::parse(base).map_err(|e| {
            Error::usage_with(
                format!("--base-url: `{}`", shipgate_core::url_redaction::redact_str(base)),
                e,
            )
        })?;
        for check in &mut set.checks {
            check.base_url = Some(base.to_owned());
        }
    }
    Ok(set)
}

/// Runs every check of `set` once (with its retries), in file order when
/// captures link them, else at most `concurrency` at a time. Outcomes keep
/// the file's order.
pub async fn run_checks(
    prober: &Prober,
    set: &CheckSet,
    mut variables: Variables,
    default_retries: u32,
    concurrency: usize,
) -> Vec<CheckOutcome> {
    if set.is_sequential() || concurrency <= 1 {
        let mut outcomes = Vec::with_capacity(set.checks.len());
        for check in &set.checks {
            let (outcome, captured) = run_with_retries(prober, check, &variables, default_retries).await;
            variables.add_captures(captured);
            outcomes.push(outcome);
        }
        return outcomes;
    }
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let variables = Arc::new(variables);
    let mut tasks = tokio::task::JoinSet::new();
    for (index, check) in set.checks.iter().cloned().enumerate() {
        let (prober, permits, variables) = (prober.clone(), permits.clone(), variables.clone());
        tasks.spawn(async move {
            // The semaphore is never closed, so acquiring cannot fail.
            let _permit = permits.acquire_owned().await.ok();
            let (outcome, _) = run_with_retries(&prober, &check, &variables, default_retries).await;
            (index, outcome)
        });
    }
    let mut slots: Vec<Option<CheckOutcome>> = vec![None; set.checks.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, outcome)) = joined {
            slots[index] = Some(outcome);
        }
    }
    slots
        .into_iter()
        .zip(&set.checks)
        .map(|(slot, check)| {
            slot.unwrap_or_else(|| CheckOutcome {
                name: check.name.clone(),
                method: check.method.to_string(),
                url: check.url.clone(),
                passed: false,
                attempts: 0,
                status: None,
                latency_ms: 0,
                error: Some("the check did not finish (internal task failure)".into()),
                assertions: Vec::new(),
            })
        })
        .collect()
}
