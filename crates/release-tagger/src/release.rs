//! `release-tagger release`: the one-shot for CI on the production branch:
//! next → changelog → tag → push → publish. It never commits: protected
//! branches only ever receive tags from CI.

use serde_json::json;
use shipgate_core::actions::{Runtime, Summary};
use shipgate_core::cli::DryRunArg;
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::Project;
use crate::changelog::{Renderer, Section, next_section, repository_url, section_of};
use crate::publish::{PublishArgs, publish_tag};
use crate::tag::{PushArgs, TagArgs, remote_lacks, tag_version};

/// Flags of `release`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReleaseArgs {
    /// Make a pre-release with this identifier (see `next --pre`)
    #[arg(long, value_name = "ID")]
    pub pre: Option<String>,
    #[command(flatten)]
    pub push: PushArgs,
    /// Tag only; do not create the GitHub Release
    #[arg(long)]
    pub no_publish: bool,
    /// Create the GitHub Release as a draft
    #[arg(long)]
    pub draft: bool,
    /// Attach this file or glob to the GitHub Release, with a `NAME.sha256` file (repeatable; see `publish`)
    #[arg(long = "asset", value_name = "PATH")]
    pub assets: Vec<String>,
    /// Also move the floating tags vX and vX.Y
    #[arg(long)]
    pub floating: bool,
    /// Exit 1 instead of 0 when HEAD is not on a branch releases are made from
    #[arg(long)]
    pub strict: bool,
    /// GitHub token [default: $GITHUB_TOKEN, else $GH_TOKEN]
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    #[command(flatten)]
    pub dry_run: DryRunArg,
}

/// The branch HEAD is on: the checked-out branch, else (detached, as in
/// many workflows) `GITHUB_REF_NAME` of a branch push.
fn current_branch(project: &Project, runtime: &Runtime) -> Result<Option<String>> {
    if let Some(branch) = project.repo.head_branch()? {
        return Ok(Some(branch));
    }
    let is_branch_ref = runtime.var("GITHUB_REF").is_some_and(|r| r.starts_with("refs/heads/"));
    Ok(runtime
        .var("GITHUB_REF_NAME")
        .filter(|_| is_branch_ref)
        .map(str::to_owned))
}

/// The release an earlier run started but could not finish: its tag marks
/// HEAD locally and is missing on the remote (the push failed). It is
/// planned again as it was before its tag existed, so this run pushes the
/// same tag and publishes the same notes.
fn unfinished_release(
    project: &Project,
    args: &ReleaseArgs,
    url: Option<&str>,
) -> Result<Option<(crate::next::Plan, Section)>> {
    let head = project.repo.head_commit()?;
    let current = crate::next::plan_at(project, head, args.pre.as_deref())?.current;
    let Some(tag) = current.filter(|t| t.commit == head) else {
        return Ok(None);
    };
    if !remote_lacks(project, &args.push.remote, &tag.name)? {
        return Ok(None);
    }
    let plan = crate::next::plan_before(project, head, args.pre.as_deref(), &tag.name)?;
    if plan.next.as_ref() != Some(&tag.version) {
        return Err(Error::check(format!(
            "{} marks HEAD but {} lacks it, and the commits since the previous release now make {}: \
             push the tag with `release-tagger tag --push {}` or delete it (`git tag -d {}`) and release again",
            tag.name,
            args.push.remote,
            plan.next.map_or_else(|| "no release".to_owned(), |v| v.to_string()),
            tag.version,
            tag.name
        )));
    }
    project.ui.info(&format!(
        "{} marks HEAD but {} lacks it: finishing that release",
        tag.name, args.push.remote
    ));
    section_of(project, plan, url)
}

/// Runs `release`.
pub fn run(project: &Project, args: &ReleaseArgs) -> Result<ExitCode> {
    let runtime = Runtime::detect();
    let config = &project.config;
    let branch = current_branch(project, &runtime)?;
    let on_release_branch = branch.as_deref().is_some_and(|b| {
        b == config.production_branch || (args.pre.is_some() && config.release_branch.version_of(b).is_some())
    });
    if !on_release_branch {
        runtime.set_output("released", "false")?;
        let message = format!(
            "not releasing: HEAD is on {}, releases are made from `{}`{}",
            branch.map_or_else(|| "no branch (detached)".to_owned(), |b| format!("`{b}`")),
            config.production_branch,
            if args.pre.is_some() { " or a release branch" } else { "" }
        );
        if args.strict {
            return Err(Error::check(message));
        }
        project.ui.warn(&message);
        if project.ui.json {
            project
                .ui
                .print_json(&json!({ "released": false, "reason": message }))?;
        }
        return Ok(ExitCode::Ok);
    }
    let url = repository_url(project, &runtime);
    let planned = match next_section(project, args.pre.as_deref(), url.as_deref())? {
        Some(planned) => Some(planned),
        None if args.push.push => unfinished_release(project, args, url.as_deref())?,
        None => None,
    };
    let Some((plan, section)) = planned else {
        crate::set_version_outputs(&runtime, &crate::next::plan(project, args.pre.as_deref())?)?;
        runtime.set_output("released", "false")?;
        runtime.set_output("changelog", "")?;
        project.ui.info("nothing to release since the last release");
        if project.ui.json {
            project.ui.print_json(&json!({ "released": false, "bump": "none" }))?;
        }
        return Ok(ExitCode::Ok);
    };
    let version = plan.next.clone().ok_or_else(|| Error::usage("no version to release"))?;
    // Everything publishing needs is checked before the tag exists, so a
    // missing flag or token never leaves a tag without its release.
    if args.no_publish && !args.assets.is_empty() {
        return Err(Error::usage(
            "--asset attaches files to the GitHub Release, which --no-publish skips: drop one of them",
        ));
    }
    if !args.no_publish {
        crate::publish::resolve_assets(&args.assets)?;
        if !args.push.push && !args.dry_run.dry_run {
            return Err(Error::usage(
                "a GitHub Release needs its tag on GitHub: add --push, or --no-publish to only tag",
            ));
        }
        crate::publish::repository_slug(project, &runtime, None)?;
        let settings = shipgate_core::github::GitHubSettings::from_runtime(&runtime, args.token.clone());
        if settings.token.is_none() && !args.dry_run.dry_run {
            return Err(Error::usage(
                "publishing needs a GitHub token: set GITHUB_TOKEN (with `contents: write`) or pass --token, or add --no-publish",
            ));
        }
    }
    let markdown = Renderer::new(project)?.render(&section)?;
    let tag_args = TagArgs {
        release_version: Some(version.clone()),
        pre: None,
        push: args.push.clone(),
        floating: args.floating,
        sign: false,
        dry_run: args.dry_run,
    };
    let tagged = tag_version(project, &version, plan.head, &tag_args)?;
    let published = if args.no_publish {
        None
    } else {
        let publish_args = PublishArgs {
            tag: Some(tagged.name.clone()),
            draft: args.draft,
            prerelease: !version.pre.is_empty(),
            assets: args.assets.clone(),
            repository: None,
            token: args.token.clone(),
            dry_run: args.dry_run,
        };
        publish_tag(project, &runtime, &tagged.name, &publish_args)?
    };
    let release_url = published
        .as_ref()
        .map(|p| p.release.html_url.clone())
        .unwrap_or_default();
    crate::set_version_outputs(&runtime, &plan)?;
    let released = !args.dry_run.dry_run;
    runtime.set_output("released", if released { "true" } else { "false" })?;
    runtime.set_output("release-url", &release_url)?;
    runtime.set_output("changelog", &markdown)?;
    let mut summary = Summary::new();
    if released {
        summary.heading(2, &format!("Release {}", tagged.name));
    } else {
        summary.heading(2, &format!("Release {} (dry run)", tagged.name));
        summary.dry_run("nothing was tagged, pushed or published; this is what a release would do");
    }
    summary.table(
        &["previous", "version", "bump", "why", "tag"],
        &[vec![
            plan.current
                .as_ref()
                .map(|t| t.name.clone())
                .unwrap_or_else(|| "none".to_owned()),
            version.to_string(),
            plan.bump.as_str().to_owned(),
            plan.bump_reason.clone(),
            tagged.name.clone(),
        ]],
    );
    summary.raw(&markdown);
    runtime.append_summary(summary.as_markdown())?;
    if project.ui.json {
        project.ui.print_json(&json!({
            "released": released,
            "release_version": version.to_string(),
            "previous_version": plan.current.as_ref().map(|t| t.version.to_string()),
            "tag": tagged.name,
            "bump": plan.bump.as_str(),
            "bump_reason": plan.bump_reason,
            "pushed": tagged.pushed,
            "release_url": published.as_ref().map(|p| p.release.html_url.clone()),
            "assets": published.as_ref().map(|p| crate::publish::assets_json(&p.assets)).unwrap_or_default(),
            "changelog": markdown,
        }))?;
    } else {
        project.ui.print(&format!("{version}\n"))?;
    }
    Ok(ExitCode::Ok)
}
