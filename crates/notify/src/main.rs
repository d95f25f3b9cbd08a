//! Command-line front end of notify: parse, then call the library.

use clap::{Parser, Subcommand};
use notify::TOOL;
use shipgate_core::cli::{self, CommonCommand, GlobalArgs};

/// Deploy, release and incident notifications.
#[derive(Parser, Debug)]
#[command(name = "notify", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    globals: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    #[command(flatten)]
    Common(CommonCommand),
}

fn main() -> std::process::ExitCode {
    let cli: Cli = cli::parse();
    cli::main_entry(&TOOL, || match &cli.command {
        Command::Common(common) => Ok(cli::run_common::<Cli>(&TOOL, &cli.globals, common)?),
    })
}
