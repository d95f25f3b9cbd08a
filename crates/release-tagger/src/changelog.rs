//! `release-tagger changelog`: the Markdown section of a release, grouped by
//! commit type, with links to commits, pull requests and the compare view.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use git2::Oid;
use regex::Regex;
use serde::Serialize;
use serde_json::json;
use shipgate_core::actions::{Runtime, Summary};
use shipgate_core::cli::DryRunArg;
use shipgate_core::exit::{Error, ExitCode, Result};
use shipgate_core::git::short;

use crate::Project;
use crate::history::{Bump, Change, ReleaseTag, TagIndex, release_history, scan_range};
use crate::next::{apply_bump, effective_bump, plan};

/// The built-in section template: Keep a Changelog headings, one bullet
/// per commit.
pub const DEFAULT_TEMPLATE: &str = r#"## {% if compare_url %}[{{ version }}]({{ compare_url }}){% else %}{{ version }}{% endif %} - {{ date }}
{% for group in groups %}
### {{ group.title }}

{% for entry in group.entries -%}
- {% if entry.scope %}**{{ entry.scope }}:** {% endif %}{{ entry.text }}{% if entry.url %} ([{{ entry.short_sha }}]({{ entry.url }})){% else %} ({{ entry.short_sha }}){% endif %}
{% endfor %}{% endfor %}"#;

const TITLE: &str = "# Changelog\n";

/// Flags of `changelog`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ChangelogArgs {
    /// Render the section of this released tag instead of the next release
    #[arg(long, value_name = "TAG", conflicts_with = "all")]
    pub tag: Option<String>,
    /// Regenerate the whole changelog from history, newest release first
    #[arg(long)]
    pub all: bool,
    /// Make the next release a pre-release with this identifier (see `next --pre`)
    #[arg(long, value_name = "ID")]
    pub pre: Option<String>,
    /// Write into this file (the section is prepended, replacing an earlier copy of itself)
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub dry_run: DryRunArg,
}

/// One line of a group.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entry {
    pub sha: String,
    pub short_sha: String,
    pub kind: String,
    pub scope: Option<String>,
    /// The description with `#123` turned into pull request links.
    pub text: String,
    pub breaking: bool,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Group {
    pub title: String,
    pub entries: Vec<Entry>,
}

/// Everything the template sees.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Section {
    pub version: String,
    pub tag: String,
    pub previous_tag: Option<String>,
    /// YYYY-MM-DD of the release commit (UTC), so the text is reproducible.
    pub date: String,
    pub compare_url: Option<String>,
    pub repository_url: Option<String>,
    pub groups: Vec<Group>,
}

static PULL_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(^|[\s(\[])#(\d+)\b").expect("the pull request pattern is valid"));

/// `https://github.com/owner/repo` for links: the configured URL, else the
/// workflow's server and repository, else the `origin` remote.
pub fn repository_url(project: &Project, runtime: &Runtime) -> Option<String> {
    let configured = project.config.repository_url.trim().trim_end_matches('/');
    if !configured.is_empty() {
        return Some(configured.to_owned());
    }
    if let Some(repository) = runtime.var("GITHUB_REPOSITORY") {
        let server = runtime.var("GITHUB_SERVER_URL").unwrap_or("https://github.com");
        return Some(format!("{}/{repository}", server.trim_end_matches('/')));
    }
    let remote = project.repo.git2().find_remote("origin").ok()?;
    web_url_of_remote(remote.url().ok()?)
}

/// `git@github.com:o/r.git`, `ssh://git@host/o/r`, `https://tok@host/o/r.git`
/// → `https://host/o/r`. Local paths have no web view.
pub fn web_url_of_remote(remote: &str) -> Option<String> {
    let remote = remote.trim().trim_end_matches('/').trim_end_matches(".git");
    let (host, path) = if let Some(rest) = remote
        .strip_prefix("https://")
        .or_else(|| remote.strip_prefix("http://"))
    {
        rest.split_once('/')?
    } else if let Some(rest) = remote.strip_prefix("ssh://") {
        rest.split_once('/')?
    } else if let Some((user_host, path)) = remote.split_once(':')
        && user_host.contains('@')
        && !user_host.contains('/')
    {
        (user_host, path)
    } else {
        return None;
    };
    // Credentials in the URL never reach the changelog.
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    let host = host.split_once(':').map_or(host, |(host, _)| host);
    (!host.is_empty() && path.contains('/')).then(|| format!("https://{host}/{path}"))
}

fn entry(change: &Change, text: &str, url: Option<&str>) -> Entry {
    let text = match url {
        Some(url) => PULL_REF
            .replace_all(text, |caps: &regex::Captures<'_>| {
                format!("{}[#{}]({url}/pull/{})", &caps[1], &caps[2], &caps[2])
            })
            .into_owned(),
        None => text.to_owned(),
    };
    Entry {
        sha: change.id.to_string(),
        short_sha: short(change.id),
        kind: change.kind.clone(),
        scope: change.scope.clone(),
        text,
        breaking: change.breaking,
        url: url.map(|url| format!("{url}/commit/{}", change.id)),
    }
}

/// Groups `changes` (newest first) the configured way, Breaking Changes first.
pub fn build_section(
    project: &Project,
    changes: &[Change],
    version: &str,
    tag: &str,
    previous_tag: Option<&str>,
    release_time: i64,
    url: Option<&str>,
) -> Section {
    let mut groups = Vec::new();
    let breaking: Vec<Entry> = changes
        .iter()
        .filter(|c| c.breaking)
        .map(|c| entry(c, c.breaking_description.as_deref().unwrap_or(&c.description), url))
        .collect();
    if !breaking.is_empty() {
        groups.push(Group {
            title: "Breaking Changes".to_owned(),
            entries: breaking,
        });
    }
    for group in &project.config.changelog_groups {
        let entries: Vec<Entry> = changes
            .iter()
            .filter(|c| group.types.iter().any(|t| t.eq_ignore_ascii_case(&c.kind)))
            .map(|c| entry(c, &c.description, url))
            .collect();
        if !entries.is_empty() {
            groups.push(Group {
                title: group.title.clone(),
                entries,
            });
        }
    }
    let date = chrono::DateTime::from_timestamp(release_time, 0)
        .map(|time| time.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    Section {
        version: version.to_owned(),
        tag: tag.to_owned(),
        previous_tag: previous_tag.map(str::to_owned),
        date,
        compare_url: match (url, previous_tag) {
            (Some(url), Some(previous)) => Some(format!("{url}/compare/{previous}...{tag}")),
            _ => None,
        },
        repository_url: url.map(str::to_owned),
        groups,
    }
}

/// Renders sections with the configured template (compiled once).
pub struct Renderer {
    env: minijinja::Environment<'static>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer").finish_non_exhaustive()
    }
}

impl Renderer {
    pub fn new(project: &Project) -> Result<Renderer> {
        let template = if project.config.changelog_template.trim().is_empty() {
            DEFAULT_TEMPLATE.to_owned()
        } else {
            let path = project.repo.dir().join(&project.config.changelog_template);
            std::fs::read_to_string(&path)
                .map_err(|e| Error::usage_with(format!("cannot read changelog template {}", path.display()), e))?
        };
        let mut env = minijinja::Environment::new();
        env.add_template_owned("section", template)
            .map_err(|e| Error::usage_with("invalid changelog template", e))?;
        Ok(Renderer { env })
    }

    pub fn render(&self, section: &Section) -> Result<String> {
        let template = self
            .env
            .get_template("section")
            .map_err(|e| Error::usage_with("invalid changelog template", e))?;
        let text = template
            .render(minijinja::value::Serde(section))
            .map_err(|e| Error::usage_with("cannot render the changelog template", e))?;
        Ok(format!("{}\n", text.trim_end()))
    }
}

fn commit_time(project: &Project, commit: Oid) -> Result<i64> {
    let found = project
        .repo
        .git2()
        .find_commit(commit)
        .map_err(|e| Error::usage(format!("cannot read commit {}: {}", short(commit), e.message())))?;
    Ok(found.time().seconds())
}

/// The section for the next release, `None` when nothing is releasable.
pub fn next_section(
    project: &Project,
    pre: Option<&str>,
    url: Option<&str>,
) -> Result<Option<(crate::next::Plan, Section)>> {
    section_of(project, plan(project, pre)?, url)
}

/// The section `plan` would release, `None` when nothing is releasable.
pub fn section_of(
    project: &Project,
    plan: crate::next::Plan,
    url: Option<&str>,
) -> Result<Option<(crate::next::Plan, Section)>> {
    let (Some(version), Some(tag)) = (plan.next.clone(), plan.tag.clone()) else {
        return Ok(None);
    };
    let section = build_section(
        project,
        &plan.scan.changes,
        &version.to_string(),
        &tag,
        plan.base.as_ref().map(|t| t.name.as_str()),
        commit_time(project, plan.head)?,
        url,
    );
    Ok(Some((plan, section)))
}

/// The section of an existing release tag: commits since the stable
/// release below it.
pub fn tag_section(project: &Project, name: &str, url: Option<&str>) -> Result<Section> {
    let repo = &project.repo;
    let mut tags = TagIndex::scan(repo, &project.config)?;
    let at = tags.releases.iter().position(|t| t.name == name).ok_or_else(|| {
        Error::usage(format!(
            "`{name}` is not a release tag (`{}X.Y.Z`)",
            project.config.tag_prefix
        ))
    })?;
    let commit = tags
        .peel(repo, at)?
        .ok_or_else(|| Error::usage(format!("`{name}` does not mark a commit")))?;
    let tag = tags.releases[at].clone();
    let mut reachable = crate::history::Reachability::from(repo, commit)?;
    let previous = tags.highest_reachable(repo, &mut reachable, |t| {
        t.version < tag.version && t.version.pre.is_empty()
    })?;
    let scan = scan_range(repo, previous.as_ref().map(|t| t.commit), commit, &project.config)?;
    Ok(build_section(
        project,
        &scan.changes,
        &tag.version.to_string(),
        &tag.name,
        previous.as_ref().map(|t| t.name.as_str()),
        commit_time(project, commit)?,
        url,
    ))
}

/// Every section from history, newest first, plus the unreleased one.
/// Each release gets the commits since the release before it on the line,
/// all from one walk of the history.
pub fn all_sections(project: &Project, url: Option<&str>) -> Result<Vec<Section>> {
    let head = project.repo.head_commit()?;
    let history = release_history(&project.repo, head, &project.config)?;
    let mut sections = Vec::with_capacity(history.ranges.len());
    let mut previous: Option<&ReleaseTag> = None;
    for (tag, scan) in history.line.iter().zip(&history.ranges) {
        sections.push(build_section(
            project,
            &scan.changes,
            &tag.version.to_string(),
            &tag.name,
            previous.map(|t| t.name.as_str()),
            commit_time(project, tag.commit)?,
            url,
        ));
        previous = Some(tag);
    }
    // The next release, as `next` computes it: the bump since the highest
    // stable release reachable from HEAD, which is the line's last.
    let unreleased = history.ranges.last().map(|scan| scan.bump()).unwrap_or(Bump::None);
    if unreleased != Bump::None {
        let scan = &history.ranges[history.line.len()];
        let base = previous.map(|t| &t.version);
        let (bump, _) = effective_bump(base, unreleased, &project.config, scan);
        let version = apply_bump(base, bump);
        let changes = &scan.changes;
        sections.push(build_section(
            project,
            changes,
            &version.to_string(),
            &project.config.tag_name(&version),
            previous.map(|t| t.name.as_str()),
            commit_time(project, head)?,
            url,
        ));
    }
    sections.reverse();
    Ok(sections)
}

/// The first word of a `## ` heading, without link brackets or tag prefix.
fn heading_version<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = line.strip_prefix("## ")?.trim_start().trim_start_matches('[');
    let word = rest.split([']', ' ', '(']).next()?;
    Some(word.strip_prefix(prefix).unwrap_or(word))
}

/// Puts `section` at the top of `existing` (under its `# ` title), replacing
/// an earlier section for the same version, so re-running is a no-op.
pub fn prepend_section(existing: &str, section: &str, version: &str, prefix: &str) -> String {
    let mut kept = String::with_capacity(existing.len() + section.len());
    let mut skipping = false;
    for line in existing.split_inclusive('\n') {
        if line.starts_with("## ") {
            skipping = heading_version(line, prefix) == Some(version);
        }
        if !skipping {
            kept.push_str(line);
        }
    }
    let first_section = kept
        .find("\n## ")
        .map(|i| i + 1)
        .or_else(|| kept.starts_with("## ").then_some(0));
    let (head, tail) = match first_section {
        Some(at) => kept.split_at(at),
        None => (kept.as_str(), ""),
    };
    let head = if head.trim().is_empty() { TITLE } else { head };
    let mut out = String::with_capacity(kept.len() + section.len() + 2);
    out.push_str(head.trim_end());
    out.push_str("\n\n");
    out.push_str(section.trim_end());
    out.push('\n');
    if !tail.trim().is_empty() {
        out.push('\n');
        out.push_str(tail.trim_end());
        out.push('\n');
    }
    out
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::usage_with(format!("cannot write {}", path.display()), e))
}

/// Runs `changelog`.
pub fn run(project: &Project, args: &ChangelogArgs) -> Result<ExitCode> {
    let runtime = Runtime::detect();
    let url = repository_url(project, &runtime);
    let renderer = Renderer::new(project)?;
    let output = args
        .output
        .as_ref()
        .map(|path| std::path::absolute(path).unwrap_or_else(|_| path.clone()));
    if args.all {
        let sections = all_sections(project, url.as_deref())?;
        let mut text = String::from(TITLE);
        for section in &sections {
            text.push('\n');
            text.push_str(&renderer.render(section)?);
        }
        return finish(project, &runtime, output.as_deref(), &text, None, args.dry_run.dry_run);
    }
    let section = match &args.tag {
        Some(tag) => tag_section(project, tag, url.as_deref())?,
        None => match next_section(project, args.pre.as_deref(), url.as_deref())? {
            Some((_, section)) => section,
            None => {
                project.ui.info("nothing to release: no changelog section");
                runtime.set_output("changelog", "")?;
                if project.ui.json {
                    project
                        .ui
                        .print_json(&json!({ "release_version": null, "markdown": "", "groups": [] }))?;
                }
                return Ok(ExitCode::Ok);
            }
        },
    };
    let markdown = renderer.render(&section)?;
    let text = match &output {
        Some(path) => {
            let existing = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(err) => return Err(Error::usage_with(format!("cannot read {}", path.display()), err)),
            };
            prepend_section(&existing, &markdown, &section.version, &project.config.tag_prefix)
        }
        None => markdown.clone(),
    };
    finish(
        project,
        &runtime,
        output.as_deref(),
        &text,
        Some((&section, &markdown)),
        args.dry_run.dry_run,
    )
}

/// The job summary of `changelog`: the section (or the whole file) as
/// Markdown, and where it was written.
fn summary(output: Option<&Path>, text: &str, section: Option<(&Section, &str)>, dry_run: bool) -> String {
    let mut summary = Summary::new();
    let (heading, markdown) = match section {
        Some((section, markdown)) => (format!("Changelog of {}", section.tag), markdown),
        None => ("Changelog".to_owned(), text),
    };
    summary.heading(2, &heading);
    if dry_run {
        summary.dry_run("nothing was written");
    }
    if let Some(path) = output {
        let verb = if dry_run { "Would write" } else { "Written to" };
        let name = path
            .file_name()
            .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        summary.paragraph(&format!("{verb} `{name}`."));
    }
    summary.raw(markdown);
    summary.as_markdown().to_owned()
}

fn finish(
    project: &Project,
    runtime: &Runtime,
    output: Option<&Path>,
    text: &str,
    section: Option<(&Section, &str)>,
    dry_run: bool,
) -> Result<ExitCode> {
    if let Some((_, markdown)) = section {
        runtime.set_output("changelog", markdown)?;
    }
    runtime.append_summary(&summary(output, text, section, dry_run))?;
    match output {
        Some(path) if dry_run => project.ui.info(&format!("dry run: would write {}", path.display())),
        Some(path) => {
            write_file(path, text)?;
            project.ui.info(&format!("wrote {}", path.display()));
        }
        None => {}
    }
    if project.ui.json {
        let document = match section {
            Some((section, markdown)) => json!({
                "release_version": section.version,
                "tag": section.tag,
                "previous_tag": section.previous_tag,
                "date": section.date,
                "compare_url": section.compare_url,
                "groups": section.groups,
                "markdown": markdown,
            }),
            None => json!({ "markdown": text }),
        };
        project.ui.print_json(&document)?;
    } else if output.is_none() {
        project.ui.print(text)?;
    }
    Ok(ExitCode::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_become_web_urls_without_credentials() {
        let web = |remote| web_url_of_remote(remote);
        assert_eq!(
            web("git@github.com:acme/widgets.git").as_deref(),
            Some("https://github.com/acme/widgets")
        );
        assert_eq!(
            web("https://x-access-token:ghs_secret@github.com/acme/widgets.git").as_deref(),
            Some("https://github.com/acme/widgets")
        );
        assert_eq!(
            web("ssh://git@ghe.example.com:2222/acme/widgets").as_deref(),
            Some("https://ghe.example.com/acme/widgets")
        );
        assert_eq!(web("file:///tmp/remote.git"), None);
        assert_eq!(web("/srv/git/widgets.git"), None);
    }

    #[test]
    fn prepending_replaces_the_same_version_and_keeps_the_rest() {
        let existing =
            "# Changelog\n\nIntro.\n\n## [v1.3.0](x) - 2024-01-01\n\n- draft\n\n## 1.2.0 - 2023-12-01\n\n- old\n";
        let section = "## 1.3.0 - 2024-01-14\n\n- final\n";
        let once = prepend_section(existing, section, "1.3.0", "v");
        assert_eq!(
            once,
            "# Changelog\n\nIntro.\n\n## 1.3.0 - 2024-01-14\n\n- final\n\n## 1.2.0 - 2023-12-01\n\n- old\n"
        );
        assert_eq!(prepend_section(&once, section, "1.3.0", "v"), once);
        assert_eq!(
            prepend_section("", section, "1.3.0", "v"),
            format!("# Changelog\n\n{section}")
        );
    }
}
