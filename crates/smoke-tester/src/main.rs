//! Command-line front end of smoke-tester: parse, then call the library.

use shipgate_core::cli;
use smoke_tester::{Cli, TOOL};

fn main() -> std::process::ExitCode {
    let cli: Cli = cli::parse();
    cli::main_entry(&TOOL, || Ok(smoke_tester::run(cli)?))
}
