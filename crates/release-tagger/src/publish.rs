//! `release-tagger publish`: create or update the GitHub Release of a tag,
//! with the changelog section as its notes.

use http::Method;
use serde::Deserialize;
use serde_json::json;
use shipgate_core::actions::Runtime;
use shipgate_core::cli::DryRunArg;
use shipgate_core::exit::{Error, ExitCode, Result};
use shipgate_core::github::{GitHubClient, GitHubSettings};

use crate::Project;
use crate::changelog::{Renderer, repository_url, tag_section};

/// Flags of `publish`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PublishArgs {
    /// The release tag [default: the highest release tag on HEAD]
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Create the release as a draft
    #[arg(long)]
    pub draft: bool,
    /// Mark it as a pre-release (automatic for versions like 1.3.0-rc.1)
    #[arg(long)]
    pub prerelease: bool,
    /// The repository as owner/name [default: $GITHUB_REPOSITORY, else the origin remote]
    #[arg(long, value_name = "OWNER/NAME")]
    pub repository: Option<String>,
    /// GitHub token [default: $GITHUB_TOKEN, else $GH_TOKEN]
    #[arg(long, value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[command(flatten)]
    pub dry_run: DryRunArg,
}

/// The release as GitHub returns it (the fields we use).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct GitHubRelease {
    /// Signed because GitHub's description only says "integer".
    pub id: i64,
    pub tag_name: String,
    pub html_url: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub prerelease: bool,
}

/// What to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRequest {
    pub owner: String,
    pub repo: String,
    pub tag: String,
    pub name: String,
    pub notes: String,
    pub draft: bool,
    pub prerelease: bool,
}

/// What `publish` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub release: GitHubRelease,
    /// False when an existing release was updated.
    pub created: bool,
}

/// Creates the release, or updates the one that already exists for the tag
/// (drafts included, which `GET /releases/tags/{tag}` does not return), so
/// a re-run never makes a second release.
pub async fn publish_release(client: &GitHubClient, request: &ReleaseRequest) -> Result<Published> {
    let base = format!("/repos/{}/{}/releases", request.owner, request.repo);
    let mut existing = None;
    let mut page = 1;
    while existing.is_none() {
        let listed: Vec<GitHubRelease> = client
            .request_json(Method::GET, &format!("{base}?per_page=100&page={page}"), None)
            .await?;
        let last_page = listed.len() < 100;
        existing = listed.into_iter().find(|r| r.tag_name == request.tag);
        if last_page {
            break;
        }
        page += 1;
    }
    let body = release_body(request);
    match existing {
        Some(release) => {
            let release = client
                .request_json(Method::PATCH, &format!("{base}/{}", release.id), Some(&body))
                .await?;
            Ok(Published {
                release,
                created: false,
            })
        }
        None => {
            let release = client.request_json(Method::POST, &base, Some(&body)).await?;
            Ok(Published { release, created: true })
        }
    }
}

/// The JSON body of both `POST /releases` and `PATCH /releases/{id}`.
pub fn release_body(request: &ReleaseRequest) -> serde_json::Value {
    json!({
        "tag_name": request.tag,
        "name": request.name,
        "body": request.notes,
        "draft": request.draft,
        "prerelease": request.prerelease,
    })
}

/// `owner/name` from the flag, the workflow, or the origin remote.
pub fn repository_slug(project: &Project, runtime: &Runtime, flag: Option<&str>) -> Result<(String, String)> {
    let slug = match flag.or_else(|| runtime.var("GITHUB_REPOSITORY")) {
        Some(slug) => slug.to_owned(),
        None => repository_url(project, runtime)
            .and_then(|url| {
                let mut parts = url.rsplitn(3, '/');
                let name = parts.next()?.to_owned();
                let owner = parts.next()?.to_owned();
                Some(format!("{owner}/{name}"))
            })
            .ok_or_else(|| {
                Error::usage("cannot tell which GitHub repository to publish to: pass --repository OWNER/NAME")
            })?,
    };
    match slug.split_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((owner.to_owned(), name.to_owned()))
        }
        _ => Err(Error::usage(format!(
            "`{slug}` is not a repository (expected OWNER/NAME)"
        ))),
    }
}

/// Publishes `tag` with its changelog section as notes.
pub fn publish_tag(project: &Project, runtime: &Runtime, tag: &str, args: &PublishArgs) -> Result<Option<Published>> {
    let (owner, repo) = repository_slug(project, runtime, args.repository.as_deref())?;
    let url = repository_url(project, runtime);
    let section = tag_section(project, tag, url.as_deref())?;
    let notes = Renderer::new(project)?.render(&section)?;
    let prerelease = args.prerelease || section.version.contains('-');
    let request = ReleaseRequest {
        owner,
        repo,
        tag: tag.to_owned(),
        name: tag.to_owned(),
        notes,
        draft: args.draft,
        prerelease,
    };
    if args.dry_run.dry_run {
        project.ui.info(&format!(
            "dry run: would publish the GitHub Release {tag} in {}/{}",
            request.owner, request.repo
        ));
        return Ok(None);
    }
    let settings = GitHubSettings::from_runtime(runtime, args.token.clone());
    if settings.token.is_none() {
        return Err(Error::usage(
            "publishing needs a GitHub token: set GITHUB_TOKEN (with `contents: write`) or pass --token",
        ));
    }
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::external(format!("cannot start the async runtime: {e}")))?;
    let published = tokio.block_on(async {
        let client = GitHubClient::new(settings)?;
        publish_release(&client, &request).await
    })?;
    project.ui.info(&format!(
        "{} the GitHub Release {tag}: {}",
        if published.created { "created" } else { "updated" },
        published.release.html_url
    ));
    Ok(Some(published))
}

/// The release tag on HEAD, highest version first.
pub fn tag_on_head(project: &Project) -> Result<String> {
    let head = project.repo.head_commit()?;
    let mut tags = crate::history::TagIndex::scan(&project.repo, &project.config)?;
    tags.peel_all(&project.repo)?;
    tags.on_commit(head)
        .next()
        .map(|t| t.name.clone())
        .ok_or_else(|| Error::usage("HEAD has no release tag: run `release-tagger tag` first or pass --tag"))
}

/// Runs `publish`.
pub fn run(project: &Project, args: &PublishArgs) -> Result<ExitCode> {
    let runtime = Runtime::detect();
    let tag = match &args.tag {
        Some(tag) => tag.clone(),
        None => tag_on_head(project)?,
    };
    let published = publish_tag(project, &runtime, &tag, args)?;
    let url = published
        .as_ref()
        .map(|p| p.release.html_url.clone())
        .unwrap_or_default();
    runtime.set_output("release-url", &url)?;
    if project.ui.json {
        project.ui.print_json(&json!({
            "tag": tag,
            "release_url": published.as_ref().map(|p| p.release.html_url.clone()),
            "release_id": published.as_ref().map(|p| p.release.id),
            "created": published.as_ref().map(|p| p.created),
            "dry_run": args.dry_run.dry_run,
        }))?;
    } else if !url.is_empty() {
        project.ui.print(&format!("{url}\n"))?;
    }
    Ok(ExitCode::Ok)
}
