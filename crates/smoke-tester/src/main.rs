//! Command-line front end of smoke-tester: parse, then call the library.

use clap::{Parser, Subcommand};
use shipgate_core::cli::{self, CommonCommand, GlobalArgs};
use smoke_tester::{TOOL, check, compare, run, wait, watch};

/// Health and smoke checks, wait-until-ready and rollback triggers.
#[derive(Parser, Debug)]
#[command(name = "smoke-tester", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    globals: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run every check of a checks file (concurrently); exit 1 if any fails
    Run(run::RunArgs),
    /// Check one URL with assertions given as flags
    Check(check::CheckArgs),
    /// Poll a URL or checks file until healthy, or give up at --timeout
    Wait(wait::WaitArgs),
    /// Sample for --duration and decide on a rollback over sliding windows
    Watch(watch::WatchArgs),
    /// Compare a canary with its baseline under the same requests
    Compare(compare::CompareArgs),
    #[command(flatten)]
    Common(CommonCommand),
}

fn main() -> std::process::ExitCode {
    let cli: Cli = cli::parse();
    cli::main_entry(&TOOL, || {
        let globals = &cli.globals;
        Ok(match &cli.command {
            Command::Run(args) => run::execute(globals, args)?,
            Command::Check(args) => check::execute(globals, args)?,
            Command::Wait(args) => wait::execute(globals, args)?,
            Command::Watch(args) => watch::execute(globals, args)?,
            Command::Compare(args) => compare::execute(globals, args)?,
            Command::Common(common) => cli::run_common::<Cli>(&TOOL, globals, common)?,
        })
    })
}
