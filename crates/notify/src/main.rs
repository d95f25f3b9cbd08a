//! Command-line front end of notify: parse, then call the library.

use notify::{Cli, TOOL};
use shipgate_core::cli;

fn main() -> std::process::ExitCode {
    let cli: Cli = cli::parse();
    cli::main_entry(&TOOL, || Ok(notify::run(cli)?))
}
