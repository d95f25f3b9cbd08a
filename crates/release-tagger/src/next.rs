//! `release-tagger next`: the next version from the commits since the last
//! release reachable from HEAD.

use git2::Oid;
use semver::{Prerelease, Version};
use serde_json::{Value, json};
use shipgate_core::config::ReleaseConfig;
use shipgate_core::exit::{Error, Result};
use shipgate_core::git::short;

use crate::Project;
use crate::history::{Bump, Change, RangeScan, Reachability, ReleaseTag, TagIndex, scan_range};

/// Flags of `next` (shared by the commands that compute a version).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct NextArgs {
    /// Make a pre-release with this identifier: 1.3.0-rc.1, then rc.2 on the next run
    #[arg(long, value_name = "ID", value_parser = parse_pre_id)]
    pub pre: Option<String>,
    /// Print why this bump was chosen (to stderr; stdout keeps only the version)
    #[arg(long)]
    pub explain: bool,
}

fn parse_pre_id(text: &str) -> std::result::Result<String, String> {
    let valid = !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid && Prerelease::new(text).is_ok() {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not a pre-release identifier (letters, digits and `-`, e.g. rc)"
        ))
    }
}

/// Where the release stands and what comes next.
#[derive(Debug)]
pub struct Plan {
    /// The highest release tag reachable from HEAD, pre-releases included.
    pub current: Option<ReleaseTag>,
    /// The highest stable release tag reachable from HEAD; the bump counts
    /// commits since this one.
    pub base: Option<ReleaseTag>,
    pub head: Oid,
    /// The bump applied to the version: a breaking change before 1.0.0 is
    /// `minor` when `breaking_before_1_bumps_minor` is set.
    pub bump: Bump,
    /// Why `bump` was chosen, one line, e.g. "feat in 1a2b3c4".
    pub bump_reason: String,
    /// `None` when nothing is releasable.
    pub next: Option<Version>,
    pub tag: Option<String>,
    pub scan: RangeScan,
    /// Tags with the prefix that are not a full semver.
    pub ignored_tags: Vec<String>,
    pub explanation: Vec<String>,
}

impl Plan {
    /// The commits that drove the bump.
    pub fn driving(&self) -> impl Iterator<Item = &Change> {
        self.scan.changes.iter().filter(|c| c.bump != Bump::None)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "current": self.current.as_ref().map(|t| t.version.to_string()),
            "current_tag": self.current.as_ref().map(|t| t.name.clone()),
            "next": self.next.as_ref().map(Version::to_string),
            "bump": self.bump.as_str(),
            "bump_reason": self.bump_reason,
            "tag": self.tag,
            "commits": self.driving().map(change_json).collect::<Vec<_>>(),
            "explanation": self.explanation,
        })
    }
}

pub fn change_json(change: &Change) -> Value {
    json!({
        "sha": change.id.to_string(),
        "type": change.kind,
        "scope": change.scope,
        "summary": change.description,
        "breaking": change.breaking,
    })
}

/// Computes the plan at HEAD.
pub fn plan(project: &Project, pre: Option<&str>) -> Result<Plan> {
    let head = project.repo.head_commit()?;
    plan_at(project, head, pre)
}

/// Computes the plan for `head`.
pub fn plan_at(project: &Project, head: Oid, pre: Option<&str>) -> Result<Plan> {
    plan_with(project, head, pre, None)
}

/// The plan for `head` as it was before the release tag `unpublished` was
/// created: a release whose tag never reached the remote is finished with
/// the version and notes it was started with.
pub fn plan_before(project: &Project, head: Oid, pre: Option<&str>, unpublished: &str) -> Result<Plan> {
    plan_with(project, head, pre, Some(unpublished))
}

fn plan_with(project: &Project, head: Oid, pre: Option<&str>, ignored: Option<&str>) -> Result<Plan> {
    let config = &project.config;
    let repo = &project.repo;
    let mut tags = TagIndex::scan(repo, config)?;
    if let Some(ignored) = ignored {
        tags.releases.retain(|tag| tag.name != ignored);
    }
    let mut reachable = Reachability::from(repo, head)?;
    let current = tags.highest_reachable(repo, &mut reachable, |_| true)?;
    let base = match &current {
        Some(tag) if tag.version.pre.is_empty() => Some(tag.clone()),
        _ => tags.highest_reachable(repo, &mut reachable, |t| t.version.pre.is_empty())?,
    };
    let scan = scan_range(repo, base.as_ref().map(|t| t.commit), head, config)?;
    let mut explanation = Vec::new();
    match &base {
        Some(tag) => explanation.push(format!(
            "previous release: {} at {} (the highest release tag reachable from HEAD)",
            tag.name,
            short(tag.commit)
        )),
        None => explanation.push(format!(
            "no `{}X.Y.Z` release tag is reachable from HEAD: this is the first release",
            config.tag_prefix
        )),
    }
    if let Some(tag) = current.as_ref().filter(|t| !t.version.pre.is_empty()) {
        explanation.push(format!("latest pre-release reachable from HEAD: {}", tag.name));
    }
    if !tags.ignored.is_empty() {
        explanation.push(format!(
            "ignored tags that are not a full semver: {}",
            tags.ignored.join(", ")
        ));
    }
    explanation.push(format!(
        "{} commits since then: {} conventional, {} merges skipped, {} not conventional",
        scan.total,
        scan.changes.len(),
        scan.merges,
        scan.unconventional.len()
    ));
    for (revert, original) in &scan.cancelled {
        explanation.push(format!(
            "{} reverts {} in the same range: neither is released",
            short(*revert),
            short(*original)
        ));
    }
    for change in scan.changes.iter().filter(|c| c.bump != Bump::None) {
        let why = if change.breaking {
            "breaking change"
        } else {
            change.kind.as_str()
        };
        explanation.push(format!(
            "  {:<5} {} {} ({why})",
            change.bump.as_str(),
            short(change.id),
            change.description
        ));
    }
    let asked = scan.bump();
    let base_version = base.as_ref().map(|t| t.version.clone());
    let (mut bump, mut bump_reason) = effective_bump(base_version.as_ref(), asked, config, &scan);
    if asked != bump {
        explanation.push(format!("{bump_reason} (breaking_before_1_bumps_minor)"));
    }
    let mut next = match bump {
        Bump::None => None,
        _ => Some(apply_bump(base_version.as_ref(), bump)),
    };
    if let (Some(id), Some(target)) = (pre, next.clone()) {
        let numbered = tags.highest_reachable(repo, &mut reachable, |t| {
            same_core(&t.version, &target) && pre_number(&t.version, id).is_some()
        })?;
        match numbered {
            Some(last) => {
                let since_last = scan_range(repo, Some(last.commit), head, config)?;
                if since_last.bump() == Bump::None {
                    explanation.push(format!("nothing releasable since {}: no new pre-release", last.name));
                    bump = Bump::None;
                    bump_reason = format!("nothing releasable since {}", last.name);
                    next = None;
                } else {
                    let number = pre_number(&last.version, id).unwrap_or(0) + 1;
                    next = Some(with_pre(&target, id, number)?);
                    explanation.push(format!(
                        "{} is the last {id} of {target}: next is {id}.{number}",
                        last.name
                    ));
                }
            }
            None => next = Some(with_pre(&target, id, 1)?),
        }
    }
    match &next {
        Some(version) => explanation.push(format!("bump: {} → {version}", bump.as_str())),
        None => explanation.push("bump: none (no feat, fix, perf, revert or breaking change since)".to_owned()),
    }
    Ok(Plan {
        tag: next.as_ref().map(|v| config.tag_name(v)),
        current,
        base,
        head,
        bump,
        bump_reason,
        next,
        scan,
        ignored_tags: tags.ignored,
        explanation,
    })
}

fn same_core(a: &Version, b: &Version) -> bool {
    a.major == b.major && a.minor == b.minor && a.patch == b.patch
}

/// `N` of a `<id>.N` pre-release.
fn pre_number(version: &Version, id: &str) -> Option<u64> {
    version.pre.as_str().strip_prefix(id)?.strip_prefix('.')?.parse().ok()
}

fn with_pre(target: &Version, id: &str, number: u64) -> Result<Version> {
    let mut version = Version::new(target.major, target.minor, target.patch);
    version.pre = Prerelease::new(&format!("{id}.{number}"))
        .map_err(|e| Error::usage_with(format!("invalid pre-release `{id}.{number}`"), e))?;
    Ok(version)
}

/// The bump the version gets, and why: the commits ask for `asked`, but
/// before 1.0.0 a breaking change is a minor bump when the config says so.
pub fn effective_bump(base: Option<&Version>, asked: Bump, config: &ReleaseConfig, scan: &RangeScan) -> (Bump, String) {
    let before_1 = base.is_none_or(|v| v.major == 0);
    if asked == Bump::Major && before_1 && config.breaking_before_1_bumps_minor {
        return (
            Bump::Minor,
            "a breaking change before 1.0.0 bumps the minor version".to_owned(),
        );
    }
    let driver = scan.changes.iter().find(|c| c.bump == asked && asked != Bump::None);
    let reason = match (asked, driver) {
        (Bump::None, _) | (_, None) => "no feat, fix, perf, revert or breaking change".to_owned(),
        (Bump::Major, Some(change)) => format!("breaking change in {}", short(change.id)),
        (_, Some(change)) => format!("{} in {}", change.kind, short(change.id)),
    };
    (asked, reason)
}

/// The stable version after `base` for `bump` (already made effective by
/// [`effective_bump`]). The first release is 0.1.0, or 1.0.0 for a major.
pub fn apply_bump(base: Option<&Version>, bump: Bump) -> Version {
    let Some(base) = base else {
        return if bump == Bump::Major {
            Version::new(1, 0, 0)
        } else {
            Version::new(0, 1, 0)
        };
    };
    match bump {
        Bump::Major => Version::new(base.major + 1, 0, 0),
        Bump::Minor => Version::new(base.major, base.minor + 1, 0),
        Bump::Patch | Bump::None => Version::new(base.major, base.minor, base.patch + 1),
    }
}

/// The job summary of `next`: the version, the bump and why, and the
/// commits that drove it.
pub fn summary(plan: &Plan) -> String {
    let mut summary = shipgate_core::actions::Summary::new();
    let current = plan
        .current
        .as_ref()
        .map_or_else(|| "none".to_owned(), |t| t.name.clone());
    match (&plan.next, &plan.tag) {
        (Some(next), Some(tag)) => {
            summary.heading(2, &format!("Next release: {tag}"));
            summary.table(
                &["current", "next", "bump", "why"],
                &[vec![
                    current,
                    next.to_string(),
                    plan.bump.as_str().to_owned(),
                    plan.bump_reason.clone(),
                ]],
            );
            let rows: Vec<Vec<String>> = plan
                .driving()
                .map(|change| {
                    vec![
                        short(change.id),
                        change.kind.clone(),
                        change.bump.as_str().to_owned(),
                        change.description.clone(),
                    ]
                })
                .collect();
            summary.table(&["commit", "type", "asks for", "summary"], &rows);
        }
        _ => {
            summary.heading(2, "Next release: nothing to release");
            summary.paragraph(&format!(
                "No feat, fix, perf, revert or breaking change since {current}."
            ));
        }
    }
    summary.as_markdown().to_owned()
}

/// Runs `next`: the version on stdout (nothing when nothing is releasable).
pub fn run(project: &Project, args: &NextArgs) -> Result<shipgate_core::exit::ExitCode> {
    let plan = plan(project, args.pre.as_deref())?;
    let runtime = shipgate_core::actions::Runtime::detect();
    crate::set_version_outputs(&runtime, &plan)?;
    runtime.append_summary(&summary(&plan))?;
    if args.explain {
        for line in &plan.explanation {
            project.ui.info(line);
        }
    }
    if project.ui.json {
        project.ui.print_json(&plan.to_json())?;
    } else if let Some(next) = &plan.next {
        project.ui.print(&format!("{next}\n"))?;
    } else {
        project.ui.info("nothing to release");
    }
    Ok(shipgate_core::exit::ExitCode::Ok)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use shipgate_core::cli::Ui;
    use shipgate_core::config::Config;
    use shipgate_testkit::git::GitFixture;

    use crate::history::tests::released;

    pub(crate) fn project(fixture: &GitFixture) -> Project {
        project_with(fixture, Config::default())
    }

    pub(crate) fn project_with(fixture: &GitFixture, config: Config) -> Project {
        let ui = Ui {
            json: false,
            quiet: true,
            verbose: 0,
        };
        Project::open(fixture.path(), config, ui).unwrap()
    }

    fn next_of(fixture: &GitFixture, pre: Option<&str>) -> Option<String> {
        plan(&project(fixture), pre).unwrap().next.map(|v| v.to_string())
    }

    #[test]
    fn feat_fix_and_breaking_follow_semantic_release_rules() {
        let fixture = GitFixture::new();
        fixture.commit("feat: first");
        released(&fixture, "1.2.0");
        fixture.commit("fix: a bug");
        fixture.commit("docs: explain");
        assert_eq!(next_of(&fixture, None).as_deref(), Some("1.2.1"));
        fixture.commit("perf(db): faster");
        assert_eq!(next_of(&fixture, None).as_deref(), Some("1.2.1"));
        let feat = fixture.commit("feat(api): add endpoint (#12)");
        let plan = plan(&project(&fixture), None).unwrap();
        assert_eq!(plan.next.as_ref().map(ToString::to_string).as_deref(), Some("1.3.0"));
        assert_eq!(plan.bump, Bump::Minor);
        assert_eq!(plan.tag.as_deref(), Some("v1.3.0"));
        assert_eq!(plan.current.as_ref().unwrap().name, "v1.2.0");
        let driving: Vec<String> = plan.driving().map(|c| c.id.to_string()).collect();
        assert_eq!(driving.len(), 3, "docs does not drive the release");
        assert_eq!(driving[0], feat);

        fixture.commit("refactor!: drop the v1 API");
        assert_eq!(next_of(&fixture, None).as_deref(), Some("2.0.0"));
    }

    #[test]
    fn breaking_change_footers_are_major_too() {
        for footer in ["BREAKING CHANGE: config moved", "BREAKING-CHANGE: config moved"] {
            let fixture = GitFixture::new();
            fixture.commit("feat: first");
            released(&fixture, "1.0.0");
            fixture.commit(&format!("fix: move config\n\n{footer}"));
            let plan = plan(&project(&fixture), None).unwrap();
            assert_eq!(plan.next.unwrap().to_string(), "2.0.0", "{footer}");
            let change = plan.scan.changes.first().unwrap();
            assert!(change.breaking);
            assert_eq!(change.breaking_description.as_deref(), Some("config moved"));
        }
    }

    #[test]
    fn before_1_0_breaking_bumps_minor_unless_configured() {
        let fixture = GitFixture::new();
        fixture.commit("feat: first");
        released(&fixture, "0.4.2");
        fixture.commit("feat!: new storage format");
        let minor = plan(&project(&fixture), None).unwrap();
        assert_eq!(minor.next.as_ref().map(ToString::to_string).as_deref(), Some("0.5.0"));
        // The reported kind is the one applied: 0.4.2 → 0.5.0 is a minor bump.
        assert_eq!(minor.bump, Bump::Minor);
        assert_eq!(
            minor.bump_reason,
            "a breaking change before 1.0.0 bumps the minor version"
        );
        assert_eq!(minor.to_json()["bump"], "minor");

        let mut config = Config::default();
        config.release.breaking_before_1_bumps_minor = false;
        let plan = plan(&project_with(&fixture, config), None).unwrap();
        assert_eq!(plan.next.unwrap().to_string(), "1.0.0");
        assert_eq!(plan.bump, Bump::Major);
        assert!(
            plan.bump_reason.starts_with("breaking change in "),
            "{}",
            plan.bump_reason
        );
    }

    #[test]
    fn the_first_release_is_0_1_0_and_nothing_releasable_is_none() {
        let fixture = GitFixture::new();
        fixture.commit("chore: scaffold");
        let plan = plan(&project(&fixture), None).unwrap();
        assert_eq!(plan.bump, Bump::None);
        assert_eq!(plan.next, None);
        assert_eq!(plan.current, None);
        fixture.commit("fix: first fix");
        assert_eq!(next_of(&fixture, None).as_deref(), Some("0.1.0"));
    }

    #[test]
    fn other_types_release_only_when_configured() {
        let fixture = GitFixture::new();
        fixture.commit("feat: first");
        released(&fixture, "1.0.0");
        fixture.commit("build(deps): bump serde");
        assert_eq!(next_of(&fixture, None), None);
        let mut config = Config::default();
        config.release.patch_types.push("build".to_owned());
        let plan = plan(&project_with(&fixture, config), None).unwrap();
        assert_eq!(plan.next.unwrap().to_string(), "1.0.1");
    }

    #[test]
    fn rc_sequence_then_the_final_release() {
        let fixture = GitFixture::new();
        fixture.commit("feat: first");
        released(&fixture, "1.2.0");
        fixture.commit("feat: new thing");
        assert_eq!(next_of(&fixture, Some("rc")).as_deref(), Some("1.3.0-rc.1"));
        released(&fixture, "1.3.0-rc.1");
        assert_eq!(next_of(&fixture, Some("rc")), None, "nothing new since rc.1");
        fixture.commit("fix: rc feedback");
        assert_eq!(next_of(&fixture, Some("rc")).as_deref(), Some("1.3.0-rc.2"));
        released(&fixture, "1.3.0-rc.2");
        let plan = plan(&project(&fixture), None).unwrap();
        assert_eq!(plan.next.unwrap().to_string(), "1.3.0");
        assert_eq!(
            plan.current.unwrap().name,
            "v1.3.0-rc.2",
            "previous version is the last rc"
        );
        assert_eq!(
            plan.base.unwrap().name,
            "v1.2.0",
            "the bump counts from the last stable release"
        );
        released(&fixture, "1.3.0");
        assert_eq!(next_of(&fixture, None), None);
        fixture.commit("fix: after");
        assert_eq!(next_of(&fixture, Some("beta")).as_deref(), Some("1.3.1-beta.1"));
    }

    #[test]
    fn the_highest_reachable_tag_wins_not_the_newest_or_a_parallel_line() {
        let fixture = GitFixture::new();
        fixture.commit("feat: first");
        released(&fixture, "1.4.0");
        // A pre-release line on `next`, tagged after main's last release.
        fixture.branch("next");
        fixture.checkout("next");
        fixture.commit("feat!: rewrite");
        released(&fixture, "2.0.0-rc.3");
        fixture.checkout("main");
        fixture.commit("fix: on main");
        released(&fixture, "1.4.1");
        // A backport tagged later than 1.4.1 but lower: reachable, not the highest.
        fixture.run_git(&["tag", "v1.3.9", "HEAD~1"]);
        // Not semver or another prefix: ignored.
        fixture.tag("v1.5");
        fixture.tag("latest");
        fixture.tag("release-9.0.0");
        fixture.commit("fix: another");
        let plan = plan(&project(&fixture), None).unwrap();
        assert_eq!(plan.current.as_ref().unwrap().name, "v1.4.1");
        assert_eq!(plan.next.unwrap().to_string(), "1.4.2");
        assert_eq!(plan.ignored_tags, vec!["v1.5".to_owned()]);
        assert_eq!(plan.scan.total, 1);
        assert!(
            plan.explanation.iter().any(|l| l.contains("v1.5")),
            "{:?}",
            plan.explanation
        );
    }

    #[test]
    fn merges_are_skipped_and_their_commits_counted_once() {
        let fixture = GitFixture::new();
        fixture.commit("feat: first");
        released(&fixture, "1.0.0");
        fixture.branch("feature/x");
        fixture.checkout("feature/x");
        fixture.commit("fix: in the branch");
        fixture.checkout("main");
        fixture.merge_no_ff("feature/x", "Merge pull request #7 from o/feature/x");
        let plan = plan(&project(&fixture), None).unwrap();
        assert_eq!(plan.scan.merges, 1);
        assert_eq!(plan.scan.changes.len(), 1);
        assert_eq!(plan.next.unwrap().to_string(), "1.0.1");
    }

    #[test]
    fn reverts_patch_and_cancel_what_they_revert_in_the_same_range() {
        let fixture = GitFixture::new();
        let released_feat = fixture.commit("feat: first");
        released(&fixture, "1.0.0");
        // Reverting a released commit is a fix of the release: patch.
        fixture.commit(&format!(
            "Revert \"feat: first\"\n\nThis reverts commit {released_feat}."
        ));
        let plan1 = plan(&project(&fixture), None).unwrap();
        assert_eq!(plan1.next.unwrap().to_string(), "1.0.1");
        assert_eq!(plan1.scan.changes[0].kind, "revert");

        let fixture = GitFixture::new();
        fixture.commit("fix: first");
        released(&fixture, "1.0.0");
        let unreleased = fixture.commit("feat: risky");
        fixture.commit(&format!("revert: feat: risky\n\nThis reverts commit {unreleased}."));
        let plan2 = plan(&project(&fixture), None).unwrap();
        assert_eq!(plan2.bump, Bump::None, "{:?}", plan2.scan.changes);
        assert_eq!(plan2.scan.cancelled.len(), 1);
        assert_eq!(plan2.scan.cancelled[0].1.to_string(), unreleased);
    }

    #[test]
    fn non_utf8_messages_are_decoded_lossily_and_still_count() {
        let fixture = GitFixture::new();
        fixture.commit("feat: first");
        released(&fixture, "1.0.0");
        let project = project(&fixture);
        let git = project.repo.git2();
        let parent = git.find_commit(project.repo.head_commit().unwrap()).unwrap();
        let signature =
            git2::Signature::new("Latin One", "l1@example.com", &git2::Time::new(1_705_300_000, 0)).unwrap();
        let buffer = git
            .commit_create_buffer(
                &signature,
                &signature,
                "fix: placeholder\n",
                &parent.tree().unwrap(),
                &[&parent],
            )
            .unwrap();
        let mut raw = buffer.to_vec();
        let text_start = raw.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
        raw.truncate(text_start);
        raw.extend_from_slice(b"fix: caf\xe9 encoding\n");
        let id = git.odb().unwrap().write(git2::ObjectType::Commit, &raw).unwrap();
        fixture.run_git(&["update-ref", "refs/heads/main", &id.to_string()]);
        let plan = plan(&project, None).unwrap();
        assert_eq!(plan.next.unwrap().to_string(), "1.0.1");
        assert_eq!(plan.scan.changes[0].description, "caf\u{fffd} encoding");
    }

    #[test]
    fn shallow_clones_are_deepened_or_refused_with_fetch_depth_0() {
        let origin = GitFixture::new();
        origin.commit("feat: first");
        released(&origin, "1.0.0");
        origin.commit("fix: one");
        origin.commit("fix: two");
        let shallow = GitFixture::shallow_clone_of(&origin, 1);
        let mut config = Config::default();
        config.release.deepen_shallow = false;
        let ui = Ui {
            json: false,
            quiet: true,
            verbose: 0,
        };
        let err = Project::open(shallow.path(), config, ui).unwrap_err();
        assert_eq!(err.exit_code(), shipgate_core::exit::ExitCode::Usage);
        assert!(err.to_string().contains("fetch-depth: 0"), "{err}");
        let plan = plan(&project(&shallow), None).unwrap();
        assert_eq!(plan.current.unwrap().name, "v1.0.0");
        assert_eq!(plan.next.unwrap().to_string(), "1.0.1");
    }
}
