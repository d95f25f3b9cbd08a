//! Command-line front end of branch-guard: parse, then call the library.

use branch_guard::TOOL;
use clap::{Parser, Subcommand};
use shipgate_core::cli::{self, CommonCommand, GlobalArgs};

/// Git-flow rules, commit lint, merge gate, protection-as-code and a pre-push hook.
#[derive(Parser, Debug)]
#[command(name = "branch-guard", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    globals: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a branch name against the flow [default: the event's branch, else HEAD]
    Branch {
        /// The branch name to check
        name: Option<String>,
    },
    #[command(flatten)]
    Common(CommonCommand),
}

fn main() -> std::process::ExitCode {
    let cli: Cli = cli::parse();
    cli::main_entry(&TOOL, || match &cli.command {
        Command::Branch { name } => Ok(branch_guard::branch::run(&cli.globals, name.as_deref())?),
        Command::Common(common) => Ok(cli::run_common::<Cli>(&TOOL, &cli.globals, common)?),
    })
}
