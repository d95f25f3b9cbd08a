//! Command-line front end of release-tagger: parse, then call the library.

use release_tagger::{Cli, TOOL};
use shipgate_core::cli;

fn main() -> std::process::ExitCode {
    let cli: Cli = cli::parse();
    cli::main_entry(&TOOL, || Ok(release_tagger::run(cli)?))
}
