//! Command-line front end of branch-guard: parse, then call the library.

use branch_guard::TOOL;
use branch_guard::commands::{self, Command};
use clap::Parser;
use shipgate_core::cli::{self, GlobalArgs};

/// Git-flow rules, commit lint, merge gate, protection-as-code and a pre-push hook.
#[derive(Parser, Debug)]
#[command(name = "branch-guard", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    globals: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

fn main() -> std::process::ExitCode {
    let cli: Cli = cli::parse();
    cli::main_entry(&TOOL, || commands::dispatch::<Cli>(&cli.globals, &cli.command))
}
