//! Command-line front end of branch-guard: parse, then call the library.

use branch_guard::{Cli, TOOL};
use shipgate_core::cli;

fn main() -> std::process::ExitCode {
    let cli: Cli = cli::parse();
    cli::main_entry(&TOOL, || Ok(branch_guard::run(cli)?))
}
