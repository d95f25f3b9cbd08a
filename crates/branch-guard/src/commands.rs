//! The subcommands as clap parses them; [`crate::run`] dispatches them.

use std::path::PathBuf;

use clap::Subcommand;
use shipgate_core::cli::{CommonCommand, DryRunArg};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a branch name against the flow [default: the event's branch, else HEAD]
    Branch {
        /// The branch name to check
        name: Option<String>,
    },
    /// Is this pull request's source → target allowed by the flow? [default: the event's PR]
    Pr {
        /// Target branch
        #[arg(long, value_name = "BRANCH")]
        base: Option<String>,
        /// Source branch
        #[arg(long, value_name = "BRANCH")]
        head: Option<String>,
        /// Repository for API lookups [default: GITHUB_REPOSITORY]
        #[arg(long, alias = "repository", value_name = "OWNER/NAME")]
        repo: Option<String>,
    },
    /// Lint every commit in a range [default: the event's before..after or base..head]
    Commits {
        /// FROM..TO (TO defaults to HEAD), or one revision for its whole history
        range: Option<String>,
    },
    /// Lint one commit message (for the commit-msg hook) or a pull request title
    Message {
        /// File holding the message, or `-` for stdin [default with --pr-title: the event's PR title]
        #[arg(required_unless_present = "pr_title")]
        file: Option<PathBuf>,
        /// Lint the input as a pull request title (the header of a squash merge)
        #[arg(long)]
        pr_title: bool,
    },
    /// branch + pr + commits (+ the PR title) for the current GitHub event
    Check {
        /// Repository for API lookups [default: GITHUB_REPOSITORY]
        #[arg(long, alias = "repository", value_name = "OWNER/NAME")]
        repo: Option<String>,
    },
    /// The merge gate: approvals, required checks and coverage of a pull request
    Gate {
        /// Pull request number [default: the event's]
        #[arg(long, value_name = "N")]
        pr: Option<u64>,
        /// Repository [default: GITHUB_REPOSITORY]
        #[arg(long, alias = "repository", value_name = "OWNER/NAME")]
        repo: Option<String>,
        /// lcov tracefile or Cobertura XML report
        #[arg(long, value_name = "FILE")]
        coverage: Option<PathBuf>,
        /// Minimum line coverage in percent [default: guard.min_coverage_percent]
        #[arg(long, value_name = "PERCENT", requires = "coverage")]
        min: Option<f64>,
        /// A check not to wait for (repeatable); the gate's own job is always ignored
        #[arg(long, value_name = "NAME")]
        ignore_check: Vec<String>,
    },
    /// Branch protection as code: plan the difference, or --apply it
    Protect {
        /// Repository [default: GITHUB_REPOSITORY]
        #[arg(long, alias = "repository", value_name = "OWNER/NAME")]
        repo: Option<String>,
        /// Apply the plan, then read it back to verify
        #[arg(long)]
        apply: bool,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
    /// The security gate over SARIF 2.1.0 files: fail on findings at or above a severity
    Scan {
        /// SARIF files, directories (every *.sarif below) or glob patterns
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
        /// Lowest severity that fails [default: guard.scan.fail_on, else high]
        #[arg(long, value_enum, value_name = "SEVERITY")]
        fail_on: Option<shipgate_core::config::ScanThreshold>,
        /// Accepted findings with expiry dates [default: guard.scan.baseline]
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
    },
    /// Which environment a ref deploys to [default: the event's ref]
    Env {
        /// A branch, refs/heads/..., refs/pull/N/merge or refs/tags/...
        #[arg(value_name = "REF")]
        git_ref: Option<String>,
    },
    /// git pre-push hook: reads `<local ref> <local sha> <remote ref> <remote sha>` lines on stdin
    PrePush {
        /// The remote's name, as git passes it [default: PRE_COMMIT_REMOTE_NAME]
        #[arg(env = "PRE_COMMIT_REMOTE_NAME")]
        remote: String,
        /// The remote's URL, as git passes it [default: PRE_COMMIT_REMOTE_URL]
        #[arg(env = "PRE_COMMIT_REMOTE_URL")]
        url: String,
    },
    /// Install or remove the pre-push and commit-msg git hooks
    #[command(subcommand)]
    Hook(HookCommand),
    #[command(flatten)]
    Common(CommonCommand),
}

#[derive(Subcommand, Debug)]
pub enum HookCommand {
    /// Install the hooks (honours core.hooksPath; an existing hook is chained)
    Install {
        /// Replace existing hooks instead of chaining them
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
    /// Remove the hooks and restore chained ones
    Uninstall {
        #[command(flatten)]
        dry_run: DryRunArg,
    },
}
