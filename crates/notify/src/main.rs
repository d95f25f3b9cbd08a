//! Command-line front end of notify: parse, then call the library.

use clap::{Parser, Subcommand};
use notify::TOOL;
use shipgate_core::cli::{self, CommonCommand, GlobalArgs};

/// Deploy, release and incident notifications to Slack, Discord, Teams,
/// PagerDuty, status pages, email, GitHub and local sinks.
#[derive(Parser, Debug)]
// No `propagate_version`: `--version` is an argument of deploy and release.
#[command(name = "notify", version, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    globals: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// A deployment started, succeeded, failed, was rolled back or cancelled
    Deploy(notify::deploy::DeployArgs),
    /// An incident: routed by severity, PagerDuty and status page follow its status
    Incident(notify::incident::IncidentArgs),
    /// A release is out, with its changelog section
    Release(notify::release::ReleaseArgs),
    /// Free-form text
    Send(notify::send::SendArgs),
    #[command(flatten)]
    Common(CommonCommand),
}

fn main() -> std::process::ExitCode {
    let cli: Cli = cli::parse();
    cli::main_entry(&TOOL, || match &cli.command {
        Command::Deploy(args) => Ok(notify::deploy::run(&cli.globals, args)?),
        Command::Incident(args) => Ok(notify::incident::run(&cli.globals, args)?),
        Command::Release(args) => Ok(notify::release::run(&cli.globals, args)?),
        Command::Send(args) => Ok(notify::send::run(&cli.globals, args)?),
        Command::Common(common) => Ok(cli::run_common::<Cli>(&TOOL, &cli.globals, common)?),
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
