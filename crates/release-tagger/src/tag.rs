//! `release-tagger tag`: the annotated release tag on HEAD, the seeds'
//! `git tag -a v1.2.0 -m "Release version 1.2.0"` + `git push origin v1.2.0`.

use git2::Oid;
use semver::Version;
use serde_json::json;
use shipgate_core::actions::Runtime;
use shipgate_core::cli::DryRunArg;
use shipgate_core::exit::{Error, ExitCode, Result};
use shipgate_core::git::{PushOptions, short};

use crate::Project;

/// Flags of `tag`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TagArgs {
    /// Tag this version instead of the computed next one
    #[arg(value_name = "VERSION", value_parser = parse_version)]
    pub release_version: Option<Version>,
    /// Make a pre-release with this identifier (see `next --pre`)
    #[arg(long, value_name = "ID", conflicts_with = "release_version")]
    pub pre: Option<String>,
    #[command(flatten)]
    pub push: PushArgs,
    /// Also move the floating tags vX and vX.Y to HEAD (for GitHub Action repositories)
    #[arg(long)]
    pub floating: bool,
    /// Sign the tag with the key git is configured with (`git tag --sign`)
    #[arg(long)]
    pub sign: bool,
    #[command(flatten)]
    pub dry_run: DryRunArg,
}

/// `--push` and the remote it goes to.
#[derive(clap::Args, Debug, Clone)]
pub struct PushArgs {
    /// Push what was created to the remote
    #[arg(long)]
    pub push: bool,
    /// The remote to push to
    #[arg(long, default_value = "origin", value_name = "NAME")]
    pub remote: String,
}

impl Default for PushArgs {
    fn default() -> Self {
        PushArgs {
            push: false,
            remote: "origin".to_owned(),
        }
    }
}

pub(crate) fn parse_version(text: &str) -> std::result::Result<Version, String> {
    Version::parse(text.trim_start_matches('v')).map_err(|e| format!("`{text}` is not a semver version: {e}"))
}

/// What `tag` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagOutcome {
    pub name: String,
    pub version: Version,
    pub commit: Oid,
    /// False when the tag already existed on this commit.
    pub created: bool,
    pub pushed: bool,
    pub floating: Vec<String>,
}

impl TagOutcome {
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "tag": self.name,
            "release_version": self.version.to_string(),
            "commit": self.commit.to_string(),
            "created": self.created,
            "pushed": self.pushed,
            "floating": self.floating,
        })
    }
}

/// Tags `head` as `version`. A tag that already marks `head` is success
/// (re-running a job must not fail); one that marks another commit is a
/// failed check, since moving a release tag rewrites history for everyone.
pub fn tag_version(project: &Project, version: &Version, head: Oid, args: &TagArgs) -> Result<TagOutcome> {
    let config = &project.config;
    let git = project.repo.git2();
    let name = config.tag_name(version);
    let existing = match git.find_reference(&format!("refs/tags/{name}")) {
        Ok(reference) => Some(
            reference
                .peel_to_commit()
                .map_err(|e| Error::usage(format!("tag `{name}` does not mark a commit: {}", e.message())))?
                .id(),
        ),
        Err(_) => None,
    };
    let created = match existing {
        Some(commit) if commit == head => {
            project
                .ui
                .info(&format!("{name} already marks {}: nothing to create", short(head)));
            false
        }
        Some(commit) => {
            return Err(Error::check(format!(
                "tag `{name}` already exists on {}, not on HEAD ({}); release a new version instead of moving it",
                short(commit),
                short(head)
            )));
        }
        None => {
            if args.dry_run.dry_run {
                project
                    .ui
                    .info(&format!("dry run: would create {name} on {}", short(head)));
            } else {
                project
                    .repo
                    .create_annotated_tag(&name, head, &config.tag_message_for(version), args.sign)?;
                project.ui.info(&format!("created {name} on {}", short(head)));
            }
            true
        }
    };
    let floating = if args.floating && version.pre.is_empty() {
        let names = vec![
            format!("{}{}", config.tag_prefix, version.major),
            format!("{}{}.{}", config.tag_prefix, version.major, version.minor),
        ];
        if !args.dry_run.dry_run {
            for floating in &names {
                git.reference(
                    &format!("refs/tags/{floating}"),
                    head,
                    true,
                    &format!("release-tagger: move {floating} to {name}"),
                )
                .map_err(|e| Error::usage(format!("cannot move tag `{floating}`: {}", e.message())))?;
            }
        }
        names
    } else {
        Vec::new()
    };
    let mut pushed = false;
    if args.push.push {
        // A dry run created nothing locally, so it pushes the commit under
        // the tag names: git still checks access and conflicting remote tags.
        let source = |tag: &str| {
            if args.dry_run.dry_run {
                format!("{head}:refs/tags/{tag}")
            } else {
                format!("refs/tags/{tag}")
            }
        };
        let mut refspecs = vec![source(&name)];
        // Floating tags move by design, so they are force-pushed; the
        // release tag itself never is.
        refspecs.extend(floating.iter().map(|f| format!("+{}", source(f))));
        let refspecs: Vec<&str> = refspecs.iter().map(String::as_str).collect();
        project.repo.push(
            &args.push.remote,
            &refspecs,
            PushOptions {
                dry_run: args.dry_run.dry_run,
                ..PushOptions::default()
            },
        )?;
        pushed = !args.dry_run.dry_run;
        project.ui.info(&format!(
            "{} {} to {}",
            if pushed { "pushed" } else { "dry run: would push" },
            refspecs.join(" "),
            args.push.remote
        ));
    }
    Ok(TagOutcome {
        name,
        version: version.clone(),
        commit: head,
        created,
        pushed,
        floating,
    })
}

/// Whether `remote` lacks the local release tag `name`, so a release that
/// failed to push it is not finished yet. A remote tag of the same name on
/// another object is a failed check: pushing would be refused, and moving a
/// published tag is never done silently. An unreachable remote is exit 3.
pub(crate) fn remote_lacks(project: &Project, remote: &str, name: &str) -> Result<bool> {
    let local = project
        .repo
        .git2()
        .find_reference(&format!("refs/tags/{name}"))
        .ok()
        .and_then(|reference| reference.target());
    match project.repo.remote_tag(remote, name)? {
        None => Ok(true),
        Some(theirs) if Some(theirs) == local => Ok(false),
        Some(theirs) => Err(Error::check(format!(
            "{remote} has another tag named {name} ({}) than this repository{}: \
             fetch it (`git fetch {remote} tag {name}`) and compare before releasing",
            short(theirs),
            local.map(|ours| format!(" ({})", short(ours))).unwrap_or_default()
        ))),
    }
}

/// Runs `tag`.
pub fn run(project: &Project, args: &TagArgs) -> Result<ExitCode> {
    let runtime = Runtime::detect();
    let head = project.repo.head_commit()?;
    let version = match &args.release_version {
        Some(version) => version.clone(),
        None => {
            let plan = crate::next::plan_at(project, head, args.pre.as_deref())?;
            match plan.next {
                Some(version) => version,
                None => {
                    let on_head = plan.current.filter(|t| t.commit == head);
                    match &on_head {
                        // An earlier run tagged HEAD but could not push:
                        // this run finishes it.
                        Some(tag) if args.push.push && remote_lacks(project, &args.push.remote, &tag.name)? => {
                            project.ui.info(&format!(
                                "HEAD is already released as {}, but {} lacks the tag: pushing it",
                                tag.name, args.push.remote
                            ));
                            tag.version.clone()
                        }
                        _ => {
                            let message = match &on_head {
                                Some(tag) if args.push.push => {
                                    format!(
                                        "HEAD is already released as {}, and {} has it",
                                        tag.name, args.push.remote
                                    )
                                }
                                Some(tag) => format!("HEAD is already released as {}", tag.name),
                                None => "nothing to release: no releasable commits since the last release".to_owned(),
                            };
                            project.ui.info(&message);
                            if project.ui.json {
                                project.ui.print_json(
                                    &json!({ "tag": on_head.as_ref().map(|t| &t.name), "created": false }),
                                )?;
                            }
                            return Ok(ExitCode::Ok);
                        }
                    }
                }
            }
        }
    };
    let outcome = tag_version(project, &version, head, args)?;
    runtime.set_output("tag", &outcome.name)?;
    runtime.set_output("version", &outcome.version.to_string())?;
    if project.ui.json {
        project.ui.print_json(&outcome.to_json())?;
    } else {
        project.ui.print(&format!("{}\n", outcome.name))?;
    }
    Ok(ExitCode::Ok)
}
