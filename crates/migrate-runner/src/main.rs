//! Command-line front end of migrate-runner: parse, then call the library.

use migrate_runner::{Cli, TOOL};
use shipgate_core::cli;

fn main() -> std::process::ExitCode {
    let cli: Cli = cli::parse();
    cli::main_entry(&TOOL, || Ok(migrate_runner::run(cli)?))
}
