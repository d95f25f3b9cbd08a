//! `smoke-tester check URL`: one URL, assertions as flags, for scripts.

use clap::Args;
use shipgate_core::actions::Runtime;
use shipgate_core::cli::{GlobalArgs, Ui};
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::checks::run_with_retries;
use crate::probe::Prober;
use crate::report::{Report, ReportArgs};
use crate::{AdhocArgs, HttpArgs};

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// The URL to check; `{{ env.NAME }}` is replaced from the environment
    #[arg(value_name = "URL")]
    pub url: String,
    #[command(flatten)]
    pub adhoc: AdhocArgs,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub reports: ReportArgs,
}

pub fn run(globals: &GlobalArgs, args: &CheckArgs) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let check = args.adhoc.to_check(&args.url)?;
    // Loading the system roots and finding the configuration each take a few
    // milliseconds, a good part of a one-check run: do them side by side.
    let (config, prober) = std::thread::scope(|scope| {
        let prober = scope.spawn(|| Prober::new(&args.http.client_options()));
        let config = crate::smoke_config(globals, &args.http);
        (config, prober.join())
    });
    let config = config?;
    let prober = prober.map_err(|_| Error::external("setting up the HTTP client panicked"))??;
    let variables = crate::process_variables();
    let retries = config.failure_threshold.get() - 1;
    let (outcome, _) = crate::single_thread_runtime()?.block_on(run_with_retries(&prober, &check, &variables, retries));
    let report = Report {
        command: "check".into(),
        passed: outcome.passed,
        checks: vec![outcome],
        decision: None,
        prometheus: None,
        series: Vec::new(),
    };
    report.emit(&ui, &Runtime::detect(), &args.reports)
}
