//! branch-guard: enforces the git flow: branch names, PR source and target,
//! commit messages, merge gates and branch protection.
//!
//! The binary in `main.rs` only parses arguments; everything it does lives here.

pub mod api;
pub mod branch;
pub mod check;
pub mod commands;
pub mod commits;
pub mod env;
pub mod gate;
pub mod hook;
pub mod lint;
pub mod message;
pub mod pr;
pub mod pre_push;
pub mod protect;
pub mod report;
pub mod scan;

use clap::Parser;
use shipgate_core::cli::{self, GlobalArgs, Tool};
use shipgate_core::exit::{ExitCode, Result};

pub use crate::commands::{Command, HookCommand};
use crate::gate::GateArgs;
use crate::message::MessageSource;
use crate::pr::PrArgs;

/// Identity and configuration sections of this tool.
pub const TOOL: Tool = Tool {
    name: "branch-guard",
    version: env!("CARGO_PKG_VERSION"),
    sections: &["flow", "guard"],
    docs: include_str!("../../../docs/branch-guard.md"),
};

/// Git-flow rules, commit lint, merge gate, protection-as-code and a pre-push hook.
#[derive(Parser, Debug)]
#[command(name = "branch-guard", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub globals: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Runs the command line `main.rs` parsed: the binary's one call into the library.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let globals = &cli.globals;
    let code = match &cli.command {
        Command::Branch { name } => crate::branch::run(globals, name.as_deref())?,
        Command::Pr { base, head, repo } => {
            let args = PrArgs {
                base: base.clone(),
                head: head.clone(),
                repo: repo.clone(),
            };
            crate::pr::run(globals, &args)?
        }
        Command::Commits { range } => crate::commits::run(globals, range.as_deref())?,
        Command::Message { file, pr_title } => {
            let source = file.as_deref().map_or(MessageSource::Event, MessageSource::Path);
            crate::message::run(globals, source, *pr_title)?
        }
        Command::Check { repo } => crate::check::run(globals, repo.as_deref())?,
        Command::Gate {
            pr,
            repo,
            coverage,
            min,
            ignore_check,
        } => {
            let args = GateArgs {
                pr: *pr,
                repo: repo.clone(),
                coverage: coverage.clone(),
                min: *min,
                ignore_checks: ignore_check.clone(),
            };
            crate::gate::run(globals, &args)?
        }
        Command::Protect { repo, apply, dry_run } => {
            crate::protect::run(globals, repo.as_deref(), *apply, dry_run.dry_run)?
        }
        Command::Scan {
            files,
            fail_on,
            baseline,
        } => {
            let args = crate::scan::ScanArgs {
                files: files.clone(),
                fail_on: *fail_on,
                baseline: baseline.clone(),
            };
            crate::scan::run(globals, &args)?
        }
        Command::Env { git_ref } => crate::env::run(globals, git_ref.as_deref())?,
        Command::PrePush { remote, url } => crate::pre_push::run(globals, remote, url)?,
        Command::Hook(HookCommand::Install { force, dry_run }) => {
            crate::hook::run(globals, true, *force, dry_run.dry_run)?
        }
        Command::Hook(HookCommand::Uninstall { dry_run }) => crate::hook::run(globals, false, false, dry_run.dry_run)?,
        Command::Common(common) => cli::run_common::<Cli>(&TOOL, globals, common)?,
    };
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn reads_only_known_config_sections() {
        for section in TOOL.sections {
            assert!(shipgate_core::config::SECTIONS.contains(section), "{section}");
        }
    }
}
