//! Command-line front end of migrate-runner: parse, then call the library.

use clap::{Parser, Subcommand};
use migrate_runner::TOOL;
use shipgate_core::cli::{self, CommonCommand, GlobalArgs};

/// Database migrations with locking and per-environment policy.
#[derive(Parser, Debug)]
#[command(name = "migrate-runner", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    globals: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    #[command(flatten)]
    Migrate(Box<migrate_runner::Command>),
    #[command(flatten)]
    Common(CommonCommand),
}

fn main() -> std::process::ExitCode {
    let cli: Cli = cli::parse();
    cli::main_entry(&TOOL, || match &cli.command {
        Command::Migrate(command) => Ok(migrate_runner::run(&cli.globals, command)?),
        Command::Common(common) => Ok(cli::run_common::<Cli>(&TOOL, &cli.globals, common)?),
    })
}
