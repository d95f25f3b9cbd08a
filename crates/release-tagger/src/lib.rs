//! release-tagger: Computes versions from conventional commits and cuts, tags and publishes releases the git-flow way.
//!
//! The binary in `main.rs` only parses arguments; everything it does lives here.
//! Modules follow the subcommands; `history` holds the tag scan and commit
//! walk they share.

use std::path::Path;

use clap::{Parser, Subcommand};
use shipgate_core::actions::Runtime;
use shipgate_core::cli::{self, CommonCommand, GlobalArgs, Tool, Ui};
use shipgate_core::config::ReleaseConfig;
use shipgate_core::exit::{ExitCode, Result};
use shipgate_core::git::Repo;

pub mod backmerge;
pub mod bump;
pub mod changelog;
pub mod cut;
pub mod history;
pub mod next;
pub mod publish;
pub mod pulls;
pub mod release;
pub mod stats;
pub mod tag;

/// Identity and configuration sections of this tool.
pub const TOOL: Tool = Tool {
    name: "release-tagger",
    version: env!("CARGO_PKG_VERSION"),
    sections: &["flow", "release"],
    docs: include_str!("../../../docs/release-tagger.md"),
};

/// Semver releases from conventional commits, git-flow aware.
#[derive(Parser, Debug)]
#[command(name = "release-tagger", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub globals: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand: release-tagger's own and those every tool has.
#[derive(Subcommand, Debug)]
pub enum Command {
    #[command(flatten)]
    Release(ReleaseCommand),
    #[command(flatten)]
    Common(CommonCommand),
}

/// The release-tagger subcommands.
#[derive(Subcommand, Debug)]
pub enum ReleaseCommand {
    /// Print the next version computed from conventional commits since the last release tag
    Next(next::NextArgs),
    /// Render the changelog section of the next (or a given) release
    Changelog(changelog::ChangelogArgs),
    /// Write the version into Cargo.toml, package.json, pyproject.toml, VERSION and configured files
    Bump(bump::BumpArgs),
    /// Cut release/vX.Y.Z from the development branch (or --hotfix NAME from the production branch)
    Cut(cut::CutArgs),
    /// Merge the production branch back into the development branch (a pull request, or --push)
    Backmerge(backmerge::BackmergeArgs),
    /// Create the annotated release tag on HEAD
    Tag(tag::TagArgs),
    /// Create or update the GitHub Release for a tag
    Publish(publish::PublishArgs),
    /// One-shot for CI on the production branch: next, changelog, tag, push, publish
    Release(release::ReleaseArgs),
    /// DORA metrics from release tags: deployment frequency, lead time, change failure rate, time to restore
    Stats(stats::StatsArgs),
}

/// A repository with its release configuration: what every command works on.
#[derive(Debug)]
pub struct Project {
    pub repo: Repo,
    pub config: ReleaseConfig,
    pub flow: shipgate_core::config::FlowConfig,
    pub ui: Ui,
}

impl Project {
    /// Opens the repository at `dir` and makes sure its history is complete:
    /// versions computed from a shallow clone would be silently wrong.
    pub fn open(dir: &Path, loaded: shipgate_core::config::Config, ui: Ui) -> Result<Project> {
        let mut repo = Repo::discover(dir)?;
        if repo.is_shallow() {
            repo.ensure_full_history(loaded.release.deepen_shallow)?;
            // libgit2 caches the shallow grafts of an open repository, so
            // only a fresh handle sees the deepened history.
            repo = Repo::discover(dir)?;
        }
        Ok(Project {
            repo,
            config: loaded.release,
            flow: loaded.flow,
            ui,
        })
    }
}

/// Runs the command line `main.rs` parsed: the binary's one call into the library.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Release(command) => run_release(&cli.globals, command),
        Command::Common(common) => cli::run_common::<Cli>(&TOOL, &cli.globals, common),
    }
}

/// Runs one release subcommand from the current directory.
fn run_release(globals: &GlobalArgs, command: &ReleaseCommand) -> Result<ExitCode> {
    let loaded = shipgate_core::cli::load_config(globals)?;
    let cwd = std::env::current_dir()
        .map_err(|e| shipgate_core::exit::Error::usage_with("cannot read the current directory", e))?;
    let project = Project::open(&cwd, loaded.config, Ui::new(globals))?;
    match command {
        ReleaseCommand::Next(args) => next::run(&project, args),
        ReleaseCommand::Changelog(args) => changelog::run(&project, args),
        ReleaseCommand::Bump(args) => bump::run(&project, args),
        ReleaseCommand::Cut(args) => cut::run(&project, args),
        ReleaseCommand::Backmerge(args) => backmerge::run(&project, args),
        ReleaseCommand::Tag(args) => tag::run(&project, args),
        ReleaseCommand::Publish(args) => publish::run(&project, args),
        ReleaseCommand::Release(args) => release::run(&project, args),
        ReleaseCommand::Stats(args) => stats::run(&project, args),
    }
}

/// The action outputs every version-computing command sets.
pub(crate) fn set_version_outputs(runtime: &Runtime, plan: &next::Plan) -> Result<()> {
    let version = plan.next.as_ref().map(ToString::to_string).unwrap_or_default();
    let previous = plan.current.as_ref().map(|t| t.version.to_string()).unwrap_or_default();
    runtime.set_output("version", &version)?;
    runtime.set_output("previous-version", &previous)?;
    runtime.set_output("tag", plan.tag.as_deref().unwrap_or_default())?;
    runtime.set_output("bump", plan.bump.as_str())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcommands_are_a_valid_clap_interface() {
        use clap::CommandFactory;
        // The binary propagates `--version` to subcommands, so flags must not reuse it.
        Cli::command().debug_assert();
    }

    #[test]
    fn reads_only_known_config_sections() {
        for section in TOOL.sections {
            assert!(shipgate_core::config::SECTIONS.contains(section), "{section}");
        }
    }
}
