//! `release-tagger backmerge`: after a hotfix or release reaches main, bring
//! main back into develop (seed 000: hotfixes go to "main AND develop").
//! By default it opens the pull request; `--push` merges and pushes itself.

use serde_json::json;
use shipgate_core::actions::Runtime;
use shipgate_core::cli::DryRunArg;
use shipgate_core::exit::{Error, ExitCode, Result};
use shipgate_core::git::{PushOptions, git_cli};

use crate::Project;
use crate::cut::{branch_tip, require_clean};
use crate::publish::repository_slug;
use crate::pulls::{PullRequestSpec, open_pull, with_client};
use crate::tag::PushArgs;

/// Flags of `backmerge`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BackmergeArgs {
    /// Merge from this branch [default: the production branch]
    #[arg(long, value_name = "BRANCH")]
    pub from: Option<String>,
    /// Merge into this branch [default: the development branch]
    #[arg(long, value_name = "BRANCH")]
    pub into: Option<String>,
    #[command(flatten)]
    pub push: PushArgs,
    /// The repository as owner/name [default: $GITHUB_REPOSITORY, else the origin remote]
    #[arg(long, value_name = "OWNER/NAME")]
    pub repository: Option<String>,
    /// GitHub token [default: $GITHUB_TOKEN, else $GH_TOKEN]
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    #[command(flatten)]
    pub dry_run: DryRunArg,
}

/// Runs `backmerge`.
pub fn run(project: &Project, args: &BackmergeArgs) -> Result<ExitCode> {
    let runtime = Runtime::detect();
    let from = args
        .from
        .clone()
        .unwrap_or_else(|| project.config.production_branch.clone());
    let into = args
        .into
        .clone()
        .unwrap_or_else(|| project.config.development_branch.clone());
    let from_tip = branch_tip(project, &from, &args.push.remote)?;
    let into_tip = branch_tip(project, &into, &args.push.remote)?;
    if project.repo.is_ancestor(from_tip, into_tip)? {
        project
            .ui
            .info(&format!("{into} already contains {from}: nothing to merge"));
        return report(project, &from, &into, "up-to-date", None, &[]);
    }
    if args.dry_run.dry_run {
        let how = if args.push.push {
            "merge and push"
        } else {
            "open a pull request for"
        };
        project.ui.info(&format!("dry run: would {how} {from} into {into}"));
        return report(project, &from, &into, "dry-run", None, &[]);
    }
    if !args.push.push {
        let (owner, repo) = repository_slug(project, &runtime, args.repository.as_deref())?;
        let spec = PullRequestSpec {
            owner,
            repo,
            head: from.clone(),
            base: into.clone(),
            title: format!("chore: merge {from} into {into}"),
            body: format!("Brings the changes released from `{from}` back into `{into}`."),
        };
        let (pull, created) = with_client(&runtime, args.token.clone(), |client| async move {
            open_pull(&client, &spec).await
        })?;
        project.ui.info(&format!(
            "{} pull request #{}: {}",
            if created { "opened" } else { "already open:" },
            pull.number,
            pull.html_url
        ));
        return report(project, &from, &into, "pull-request", Some(&pull), &[]);
    }
    require_clean(project)?;
    let dir = project.repo.dir();
    let original = project.repo.head_branch()?;
    if project.repo.resolve(&format!("refs/heads/{into}")).is_err() {
        project.repo.create_branch(&into, into_tip)?;
    }
    git_cli(dir, &["checkout", "--quiet", &into])?;
    let message = format!("chore: merge {from} into {into}");
    let from_rev = from_tip.to_string();
    let merged = git_cli(dir, &["merge", "--no-ff", "--no-edit", "-m", &message, &from_rev]);
    if merged.is_err() {
        let conflicts: Vec<String> = git_cli(dir, &["diff", "--name-only", "--diff-filter=U"])
            .map(|out| out.stdout.lines().map(str::to_owned).collect())
            .unwrap_or_default();
        let _ = git_cli(dir, &["merge", "--abort"]);
        if let Some(branch) = &original {
            let _ = git_cli(dir, &["checkout", "--quiet", branch]);
        }
        if conflicts.is_empty() {
            return Err(merged.err().unwrap_or_else(|| Error::external("git merge failed")));
        }
        report(project, &from, &into, "conflict", None, &conflicts)?;
        return Err(Error::check(format!(
            "merging {from} into {into} conflicts in {}: resolve it in a pull request (run without --push)",
            conflicts.join(", ")
        )));
    }
    project.repo.push(
        &args.push.remote,
        &[&format!("refs/heads/{into}")],
        PushOptions::default(),
    )?;
    project.ui.info(&format!(
        "merged {from} into {into} and pushed it to {}",
        args.push.remote
    ));
    if let Some(branch) = &original {
        git_cli(dir, &["checkout", "--quiet", branch])?;
    }
    report(project, &from, &into, "merged", None, &[])
}

fn report(
    project: &Project,
    from: &str,
    into: &str,
    outcome: &str,
    pull: Option<&crate::pulls::PullInfo>,
    conflicts: &[String],
) -> Result<ExitCode> {
    if project.ui.json {
        project.ui.print_json(&json!({
            "from": from,
            "into": into,
            "outcome": outcome,
            "pull_request": pull.map(|p| json!({ "number": p.number, "url": p.html_url })),
            "conflicts": conflicts,
        }))?;
    } else if let Some(pull) = pull {
        project.ui.print(&format!("{}\n", pull.html_url))?;
    }
    Ok(ExitCode::Ok)
}
