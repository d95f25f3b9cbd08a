//! Command-line front end of release-tagger: parse, then call the library.

use clap::{Parser, Subcommand};
use release_tagger::{ReleaseCommand, TOOL};
use shipgate_core::cli::{self, CommonCommand, GlobalArgs};

/// Semver releases from conventional commits, git-flow aware.
#[derive(Parser, Debug)]
#[command(name = "release-tagger", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    globals: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    #[command(flatten)]
    Release(ReleaseCommand),
    #[command(flatten)]
    Common(CommonCommand),
}

fn main() -> std::process::ExitCode {
    let cli: Cli = cli::parse();
    cli::main_entry(&TOOL, || match &cli.command {
        Command::Release(command) => Ok(release_tagger::run(&cli.globals, command)?),
        Command::Common(common) => Ok(cli::run_common::<Cli>(&TOOL, &cli.globals, common)?),
    })
}
