//! `release-tagger cut`: the seeds' release and hotfix branches.
//!
//! Release: `git checkout -b release/v1.2.0 develop`, version files and
//! changelog updated and committed as `chore: prepare release v1.2.0`,
//! optionally pushed and proposed to main. Hotfix: `hotfix/NAME` from main.

use git2::Oid;
use semver::Version;
use serde_json::json;
use shipgate_core::actions::Runtime;
use shipgate_core::cli::DryRunArg;
use shipgate_core::exit::{Error, ExitCode, Result};
use shipgate_core::git::{PushOptions, git_cli, short};

use crate::Project;
use crate::changelog::{Renderer, build_section, prepend_section, repository_url};
use crate::publish::repository_slug;
use crate::pulls::{PullRequestSpec, open_pull, with_client};
use crate::tag::PushArgs;

/// Flags of `cut`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CutArgs {
    /// Release this version instead of the one computed from the development branch
    #[arg(value_name = "VERSION", value_parser = crate::tag::parse_version)]
    pub release_version: Option<Version>,
    /// Cut `hotfix/NAME` from the production branch instead (NAME: a purpose like
    /// `critical-fix` or a version like `v1.2.1`)
    #[arg(long, value_name = "NAME", conflicts_with = "release_version")]
    pub hotfix: Option<String>,
    #[command(flatten)]
    pub push: PushArgs,
    /// Open the pull request from the release branch to the production branch
    #[arg(long, conflicts_with = "hotfix")]
    pub pr: bool,
    /// The repository as owner/name [default: $GITHUB_REPOSITORY, else the origin remote]
    #[arg(long = "repo", alias = "repository", value_name = "OWNER/NAME")]
    pub repository: Option<String>,
    /// GitHub token [default: $GITHUB_TOKEN, else $GH_TOKEN]
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    #[command(flatten)]
    pub dry_run: DryRunArg,
}

/// A local branch's tip, else the remote-tracking one (a fresh CI clone has
/// only `origin/develop`).
pub fn branch_tip(project: &Project, branch: &str, remote: &str) -> Result<Oid> {
    project
        .repo
        .resolve(&format!("refs/heads/{branch}"))
        .or_else(|_| project.repo.resolve(&format!("refs/remotes/{remote}/{branch}")))
        .map_err(|_| Error::usage(format!("branch `{branch}` does not exist here or on {remote}")))
}

pub(crate) fn require_clean(project: &Project) -> Result<()> {
    if project.repo.status_clean()? {
        Ok(())
    } else {
        Err(Error::usage(
            "the working tree has uncommitted changes: commit or stash them first",
        ))
    }
}

/// Commits `paths` (relative to the root) on HEAD with `message`, as the
/// configured identity or the Actions bot.
fn commit_files(project: &Project, paths: &[String], message: &str) -> Result<Oid> {
    let git = project.repo.git2();
    let fail = |what: &str, e: git2::Error| Error::usage(format!("cannot {what}: {}", e.message()));
    let mut index = git.index().map_err(|e| fail("read the index", e))?;
    // `git checkout` ran in a child process: reload what it wrote, or the
    // commit would carry the tree of the branch we came from.
    index.read(true).map_err(|e| fail("read the index", e))?;
    for path in paths {
        index
            .add_path(std::path::Path::new(path))
            .map_err(|e| fail(&format!("stage {path}"), e))?;
    }
    index.write().map_err(|e| fail("write the index", e))?;
    let tree_id = index.write_tree().map_err(|e| fail("write the tree", e))?;
    let tree = git.find_tree(tree_id).map_err(|e| fail("read the tree", e))?;
    let parent = git
        .find_commit(project.repo.head_commit()?)
        .map_err(|e| fail("read HEAD", e))?;
    let signature = git
        .signature()
        .or_else(|_| {
            git2::Signature::now(
                "github-actions[bot]",
                "41898282+github-actions[bot]@users.noreply.github.com",
            )
        })
        .map_err(|e| fail("build a committer identity", e))?;
    git.commit(Some("HEAD"), &signature, &signature, message, &tree, &[&parent])
        .map_err(|e| fail("commit", e))
}

/// Runs `cut`.
pub fn run(project: &Project, args: &CutArgs) -> Result<ExitCode> {
    match &args.hotfix {
        Some(name) => cut_hotfix(project, name, args),
        None => cut_release(project, args),
    }
}

fn cut_hotfix(project: &Project, name: &str, args: &CutArgs) -> Result<ExitCode> {
    let config = &project.config;
    let branch = if name.starts_with(&config.hotfix_branch_prefix) {
        name.to_owned()
    } else {
        format!("{}{name}", config.hotfix_branch_prefix)
    };
    if !git2::Reference::is_valid_name(&format!("refs/heads/{branch}")) || !config.is_hotfix_branch(&branch) {
        return Err(Error::usage(format!("`{branch}` is not a valid branch name")));
    }
    require_clean(project)?;
    let from = branch_tip(project, &config.production_branch, &args.push.remote)?;
    if args.dry_run.dry_run {
        project.ui.info(&format!(
            "dry run: would create {branch} from {} ({})",
            config.production_branch,
            short(from)
        ));
    } else {
        project.repo.create_branch(&branch, from)?;
        git_cli(project.repo.dir(), &["checkout", "--quiet", &branch])?;
        project.ui.info(&format!(
            "created {branch} from {} ({})",
            config.production_branch,
            short(from)
        ));
        if args.push.push {
            push_branch(project, &branch, &args.push.remote)?;
        }
    }
    report(project, &branch, None, None, args)
}

fn push_branch(project: &Project, branch: &str, remote: &str) -> Result<()> {
    let refspec = format!("refs/heads/{branch}");
    project.repo.push(remote, &[&refspec], PushOptions::default())?;
    project.ui.info(&format!("pushed {branch} to {remote}"));
    Ok(())
}

fn cut_release(project: &Project, args: &CutArgs) -> Result<ExitCode> {
    let config = &project.config;
    let runtime = Runtime::detect();
    require_clean(project)?;
    let from = branch_tip(project, &config.development_branch, &args.push.remote)?;
    let plan = crate::next::plan_at(project, from, None)?;
    let version = match (&args.release_version, &plan.next) {
        (Some(version), _) => version.clone(),
        (None, Some(version)) => version.clone(),
        (None, None) => {
            return Err(Error::check(format!(
                "nothing to release on {}: no feat, fix, perf, revert or breaking change since {}",
                config.development_branch,
                plan.current.as_ref().map_or("the start", |t| t.name.as_str())
            )));
        }
    };
    let branch = config.release_branch.render(&version);
    let tag = config.tag_name(&version);
    let url = repository_url(project, &runtime);
    let section = build_section(
        project,
        &plan.scan.changes,
        &version.to_string(),
        &tag,
        plan.base.as_ref().map(|t| t.name.as_str()),
        project
            .repo
            .git2()
            .find_commit(from)
            .map(|c| c.time().seconds())
            .unwrap_or_default(),
        url.as_deref(),
    );
    let markdown = Renderer::new(project)?.render(&section)?;
    // Plan every file before touching anything: nothing half-written.
    let mut edits = crate::bump::plan_edits(project, &version)?;
    let changelog_path = config.changelog.to_string_lossy().into_owned();
    let existing = std::fs::read_to_string(project.repo.dir().join(&config.changelog)).unwrap_or_default();
    edits.push(crate::bump::Edit {
        path: config.changelog.clone(),
        content: prepend_section(&existing, &markdown, &version.to_string(), &config.tag_prefix),
    });
    let message = config.commit_message_for(&version);
    if args.dry_run.dry_run {
        project.ui.info(&format!(
            "dry run: would create {branch} from {} ({}), update {} and commit \"{message}\"",
            config.development_branch,
            short(from),
            edits
                .iter()
                .map(|e| e.path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return report(project, &branch, Some(&version), None, args);
    }
    project.repo.create_branch(&branch, from)?;
    git_cli(project.repo.dir(), &["checkout", "--quiet", &branch])?;
    // The edits were planned against the working tree, which is the
    // development branch only if it was checked out; re-plan on the branch.
    let mut edits = crate::bump::plan_edits(project, &version)?;
    let existing = std::fs::read_to_string(project.repo.dir().join(&config.changelog)).unwrap_or_default();
    edits.push(crate::bump::Edit {
        path: config.changelog.clone(),
        content: prepend_section(&existing, &markdown, &version.to_string(), &config.tag_prefix),
    });
    crate::bump::apply(project, &edits)?;
    let paths: Vec<String> = edits.iter().map(|e| e.path.to_string_lossy().into_owned()).collect();
    let commit = commit_files(project, &paths, &message)?;
    project.ui.info(&format!(
        "created {branch} with {} \"{message}\" ({changelog_path} updated)",
        short(commit)
    ));
    if args.push.push {
        push_branch(project, &branch, &args.push.remote)?;
    }
    let pull = if args.pr {
        let (owner, repo) = repository_slug(project, &runtime, args.repository.as_deref())?;
        let spec = PullRequestSpec {
            owner,
            repo,
            head: branch.clone(),
            base: config.production_branch.clone(),
            title: format!("Release {tag}"),
            body: markdown.clone(),
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
        Some(pull)
    } else {
        None
    };
    report(project, &branch, Some(&version), pull.as_ref(), args)
}

fn report(
    project: &Project,
    branch: &str,
    version: Option<&Version>,
    pull: Option<&crate::pulls::PullInfo>,
    args: &CutArgs,
) -> Result<ExitCode> {
    let runtime = Runtime::detect();
    runtime.set_output("branch", branch)?;
    if let Some(version) = version {
        runtime.set_output("version", &version.to_string())?;
    }
    if project.ui.json {
        project.ui.print_json(&json!({
            "branch": branch,
            "release_version": version.map(ToString::to_string),
            "pushed": args.push.push && !args.dry_run.dry_run,
            "pull_request": pull.map(|p| json!({ "number": p.number, "url": p.html_url })),
            "dry_run": args.dry_run.dry_run,
        }))?;
    } else {
        project.ui.print(&format!("{branch}\n"))?;
    }
    Ok(ExitCode::Ok)
}
