//! `release-tagger publish`: create or update the GitHub Release of a tag,
//! with the changelog section as its notes, and attach assets with their
//! sha256 files.

use std::path::PathBuf;

use bytes::Bytes;
use http::Method;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use shipgate_core::actions::Runtime;
use shipgate_core::cli::DryRunArg;
use shipgate_core::exit::{Error, ExitCode, Result};
use shipgate_core::github::{GitHubClient, GitHubSettings, ReleaseAsset};

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
    /// Attach this file (or every file a glob such as `dist/*.tar.gz` matches), with a
    /// `NAME.sha256` file beside it; an asset of the same name is replaced (repeatable)
    #[arg(long = "asset", value_name = "PATH")]
    pub assets: Vec<String>,
    /// The repository as owner/name [default: $GITHUB_REPOSITORY, else the origin remote]
    #[arg(long = "repo", alias = "repository", value_name = "OWNER/NAME")]
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
    /// Where assets go: an RFC 6570 template on GitHub's uploads host.
    #[serde(default)]
    pub upload_url: String,
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
    /// The assets uploaded, checksum files included, in upload order.
    pub assets: Vec<UploadedAsset>,
}

/// A file `--asset` named, checked to exist before anything is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetFile {
    pub path: PathBuf,
    /// The asset's name on the release: the file name.
    pub name: String,
    /// Whether `publish` writes `NAME.sha256` for it. Files that are
    /// themselves `.sha256` files are uploaded as they are.
    pub with_checksum: bool,
}

/// One asset as uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedAsset {
    pub name: String,
    pub size: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    pub url: String,
    /// True when an asset of the same name was deleted to make room.
    pub replaced: bool,
}

/// The suffix of the checksum file written beside each asset.
const CHECKSUM_SUFFIX: &str = ".sha256";

/// Expands the `--asset` values (paths or globs, relative to the current
/// directory) into files. Any value that names no file is exit 2, so a
/// typo never leaves a release without its assets.
pub fn resolve_assets(patterns: &[String]) -> Result<Vec<AssetFile>> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for pattern in patterns.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let is_glob = glob::Pattern::escape(pattern) != pattern;
        let matched: Vec<PathBuf> = if is_glob {
            let options = glob::MatchOptions {
                require_literal_leading_dot: true,
                ..glob::MatchOptions::new()
            };
            let entries = glob::glob_with(pattern, options)
                .map_err(|err| Error::usage_with(format!("--asset `{pattern}` is not a valid glob"), err))?;
            let mut files = Vec::new();
            for entry in entries {
                let path = entry.map_err(|err| Error::usage_with(format!("--asset `{pattern}`"), err))?;
                if path.is_file() {
                    files.push(path);
                }
            }
            if files.is_empty() {
                return Err(Error::usage(format!("--asset `{pattern}` matches no file")));
            }
            files
        } else {
            let path = PathBuf::from(pattern);
            if !path.exists() {
                return Err(Error::usage(format!("--asset `{pattern}`: no such file")));
            }
            if !path.is_file() {
                return Err(Error::usage(format!("--asset `{pattern}` is not a file")));
            }
            vec![path]
        };
        for path in matched {
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    let mut files: Vec<AssetFile> = Vec::new();
    for path in paths {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| Error::usage(format!("asset `{}` has no UTF-8 file name", path.display())))?
            .to_owned();
        if let Some(other) = files.iter().find(|file| file.name == name) {
            return Err(Error::usage(format!(
                "two assets are named `{name}` ({} and {}): release assets need unique names",
                other.path.display(),
                path.display()
            )));
        }
        files.push(AssetFile {
            with_checksum: !name.ends_with(CHECKSUM_SUFFIX),
            path,
            name,
        });
    }
    // A checksum file the user made for an asset gives way to the one
    // publish writes, which always matches what was uploaded.
    let generated: Vec<String> = files
        .iter()
        .filter(|file| file.with_checksum)
        .map(|file| format!("{}{CHECKSUM_SUFFIX}", file.name))
        .collect();
    files.retain(|file| file.with_checksum || !generated.contains(&file.name));
    Ok(files)
}

/// The sha256sum line for `content` named `name`.
pub fn checksum_line(content: &[u8], name: &str) -> String {
    format!("{}  {name}\n", hex::encode(Sha256::digest(content)))
}

/// Every asset of the release, all pages.
pub async fn list_assets(client: &GitHubClient, owner: &str, repo: &str, release_id: i64) -> Result<Vec<ReleaseAsset>> {
    let mut assets = Vec::new();
    for page in 1.. {
        let listed: Vec<ReleaseAsset> = client
            .request_json(
                Method::GET,
                &format!("/repos/{owner}/{repo}/releases/{release_id}/assets?per_page=100&page={page}"),
                None,
            )
            .await?;
        let last_page = listed.len() < 100;
        assets.extend(listed);
        if last_page {
            break;
        }
    }
    Ok(assets)
}

/// Uploads `content` as `name`, first deleting an asset of that name:
/// GitHub refuses duplicates, and a re-run must replace, not fail.
async fn replace_asset(
    client: &GitHubClient,
    request: &ReleaseRequest,
    release: &GitHubRelease,
    existing: &[ReleaseAsset],
    name: &str,
    content: Bytes,
) -> Result<UploadedAsset> {
    let old = existing.iter().find(|asset| asset.name == name);
    if let Some(old) = old {
        client
            .request_json::<()>(
                Method::DELETE,
                &format!("/repos/{}/{}/releases/assets/{}", request.owner, request.repo, old.id),
                None,
            )
            .await?;
    }
    let sha256 = hex::encode(Sha256::digest(&content));
    let size = content.len() as u64;
    let uploaded = client.upload_release_asset(&release.upload_url, name, content).await?;
    Ok(UploadedAsset {
        name: uploaded.name,
        size,
        sha256,
        url: uploaded.browser_download_url,
        replaced: old.is_some(),
    })
}

/// Attaches `files` to the release, each followed by its `.sha256` file.
pub async fn upload_assets(
    client: &GitHubClient,
    request: &ReleaseRequest,
    release: &GitHubRelease,
    files: &[AssetFile],
) -> Result<Vec<UploadedAsset>> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let existing = list_assets(client, &request.owner, &request.repo, release.id).await?;
    let mut uploaded = Vec::new();
    for file in files {
        // Read one at a time: release archives can be large.
        let content = std::fs::read(&file.path)
            .map_err(|err| Error::usage_with(format!("cannot read asset `{}`", file.path.display()), err))?;
        let checksum = checksum_line(&content, &file.name);
        uploaded.push(replace_asset(client, request, release, &existing, &file.name, Bytes::from(content)).await?);
        if file.with_checksum {
            let name = format!("{}{CHECKSUM_SUFFIX}", file.name);
            uploaded.push(replace_asset(client, request, release, &existing, &name, Bytes::from(checksum)).await?);
        }
    }
    Ok(uploaded)
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
                assets: Vec::new(),
            })
        }
        None => {
            let release = client.request_json(Method::POST, &base, Some(&body)).await?;
            Ok(Published {
                release,
                created: true,
                assets: Vec::new(),
            })
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
    let assets = resolve_assets(&args.assets)?;
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
        for asset in &assets {
            let checksum = if asset.with_checksum {
                format!(" and {}{CHECKSUM_SUFFIX}", asset.name)
            } else {
                String::new()
            };
            project.ui.info(&format!(
                "dry run: would upload {} as {}{checksum}",
                asset.path.display(),
                asset.name
            ));
        }
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
        .map_err(|e| Error::external_with("cannot start the async runtime", e))?;
    let published = tokio.block_on(async {
        let client = GitHubClient::new(settings)?;
        let mut published = publish_release(&client, &request).await?;
        published.assets = upload_assets(&client, &request, &published.release, &assets).await?;
        Ok::<_, Error>(published)
    })?;
    project.ui.info(&format!(
        "{} the GitHub Release {tag}: {}",
        if published.created { "created" } else { "updated" },
        published.release.html_url
    ));
    for asset in &published.assets {
        project.ui.info(&format!(
            "{} the asset {} ({} bytes)",
            if asset.replaced { "replaced" } else { "uploaded" },
            asset.name,
            asset.size
        ));
    }
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
            "assets": published.as_ref().map(|p| assets_json(&p.assets)).unwrap_or_default(),
            "dry_run": args.dry_run.dry_run,
        }))?;
    } else if !url.is_empty() {
        project.ui.print(&format!("{url}\n"))?;
    }
    Ok(ExitCode::Ok)
}

/// The `assets` array of `--json`.
pub fn assets_json(assets: &[UploadedAsset]) -> Vec<serde_json::Value> {
    assets
        .iter()
        .map(|asset| {
            json!({
                "name": asset.name,
                "size": asset.size,
                "sha256": asset.sha256,
                "url": asset.url,
                "replaced": asset.replaced,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(files: &[AssetFile]) -> Vec<(&str, bool)> {
        files.iter().map(|f| (f.name.as_str(), f.with_checksum)).collect()
    }

    #[test]
    fn assets_resolve_to_unique_files_and_checksums_are_not_checksummed() {
        let dir = tempfile::tempdir().unwrap();
        let path = |relative: &str| dir.path().join(relative).to_str().unwrap().to_owned();
        std::fs::create_dir_all(dir.path().join("dist/nested")).unwrap();
        std::fs::create_dir_all(dir.path().join("other")).unwrap();
        for file in [
            "dist/a.tar.gz",
            "dist/a.tar.gz.sha256",
            "dist/b.zip.sha256",
            "dist/.hidden",
            "other/a.tar.gz",
        ] {
            std::fs::write(dir.path().join(file), file).unwrap();
        }
        // A directory the glob matches is skipped; the user's a.tar.gz.sha256
        // gives way to the generated one; b.zip.sha256 is kept as it is.
        let files = resolve_assets(&[path("dist/*"), path("dist/a.tar.gz")]).unwrap();
        assert_eq!(names(&files), [("a.tar.gz", true), ("b.zip.sha256", false)]);

        let err = resolve_assets(&[path("dist/a.tar.gz"), path("other/a.tar.gz")]).unwrap_err();
        assert_eq!(err.exit_code(), ExitCode::Usage);
        assert!(err.to_string().contains("two assets are named `a.tar.gz`"), "{err}");
        let err = resolve_assets(&[path("dist/nested")]).unwrap_err();
        assert!(err.to_string().ends_with("is not a file"), "{err}");
        let err = resolve_assets(&[path("dist/[")]).unwrap_err();
        assert!(err.to_string().contains("is not a valid glob"), "{err}");
        assert!(resolve_assets(&["  ".into()]).unwrap().is_empty());
    }

    #[test]
    fn checksum_files_use_the_sha256sum_format() {
        assert_eq!(
            checksum_line(b"", "empty.txt"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty.txt\n"
        );
    }
}
