//! Release tags and the conventional commits between them.
//!
//! Reads go through git2 directly rather than `Repo::commits_between`:
//! `next` runs on every CI push over thousands of commits and tags, so the
//! walk borrows each message instead of copying it and skips merges before
//! decoding anything.

use std::collections::HashMap;

use git2::{ObjectType, Oid, Sort};
use semver::Version;
use serde::Serialize;
use shipgate_core::commit;
use shipgate_core::config::ReleaseConfig;
use shipgate_core::exit::{Error, Result};
use shipgate_core::git::{Repo, short};

/// A tag that names a release: the configured prefix plus a full semver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseTag {
    pub name: String,
    pub version: Version,
    /// The commit the tag marks, through any tag objects, once peeled
    /// (see [`TagIndex::peel`]); before that, the ref's own target.
    pub commit: Oid,
    peeled: bool,
}

/// Every release tag of the repository, highest version first, plus the
/// tags that carry the prefix but are not a full semver (kept for `--explain`).
///
/// Tags are peeled lazily: with thousands of releases `next` only needs
/// the few at the top, and peeling is an object read per annotated tag.
#[derive(Debug, Default)]
pub struct TagIndex {
    pub releases: Vec<ReleaseTag>,
    pub ignored: Vec<String>,
}

fn git_error(context: &str, err: git2::Error) -> Error {
    Error::usage(format!("{context}: {}", err.message()))
}

impl TagIndex {
    /// Reads `refs/tags/*` once (one pass over packed and loose refs),
    /// keeping names that parse as versions. Nothing is peeled yet.
    pub fn scan(repo: &Repo, config: &ReleaseConfig) -> Result<TagIndex> {
        let mut index = TagIndex::default();
        let mut add = |name: &str, target: Oid, peeled: Option<Oid>| {
            let Some(rest) = name.strip_prefix(config.tag_prefix.as_str()) else {
                return;
            };
            match Version::parse(rest) {
                Ok(version) => index.releases.push(ReleaseTag {
                    name: name.to_owned(),
                    version,
                    commit: peeled.unwrap_or(target),
                    peeled: peeled.is_some(),
                }),
                // Floating tags (`v1`, `v1.2`) and typos share the prefix;
                // other tags (`latest`) are not even mentioned.
                Err(_) if rest.starts_with(|c: char| c.is_ascii_digit()) => index.ignored.push(name.to_owned()),
                Err(_) => {}
            }
        };
        match read_tag_refs(repo) {
            Some(refs) => {
                for (name, (target, peeled)) in &refs {
                    add(name, *target, *peeled);
                }
            }
            None => {
                repo.git2()
                    .tag_foreach(|oid, raw_name| {
                        if let Ok(full_name) = std::str::from_utf8(raw_name) {
                            add(full_name.strip_prefix("refs/tags/").unwrap_or(full_name), oid, None);
                        }
                        true
                    })
                    .map_err(|e| git_error("cannot list tags", e))?;
            }
        }
        index
            .releases
            .sort_by(|a, b| b.version.cmp(&a.version).then_with(|| a.name.cmp(&b.name)));
        index.ignored.sort();
        Ok(index)
    }

    /// The commit release `at` marks; `None` for a tag of a tree or blob,
    /// which names no release.
    pub fn peel(&mut self, repo: &Repo, at: usize) -> Result<Option<Oid>> {
        let tag = &mut self.releases[at];
        if !tag.peeled {
            let target = peel_to_commit(repo.git2(), tag.commit)
                .map_err(|e| git_error(&format!("cannot read tag `{}`", tag.name), e))?;
            tag.commit = target.unwrap_or(Oid::ZERO_SHA1);
            tag.peeled = true;
        }
        Ok((!tag.commit.is_zero()).then_some(tag.commit))
    }

    /// Peels every tag and drops those that mark no commit.
    pub fn peel_all(&mut self, repo: &Repo) -> Result<()> {
        for at in 0..self.releases.len() {
            self.peel(repo, at)?;
        }
        self.releases.retain(|tag| !tag.commit.is_zero());
        Ok(())
    }

    /// The highest-version tag reachable from `head` among those `accept`
    /// keeps. Checking from the top down stops at the first reachable tag,
    /// so a parallel pre-release line costs one ancestry check per tag above
    /// the answer, not a walk of all history.
    pub fn highest_reachable(
        &mut self,
        repo: &Repo,
        head: Oid,
        reachable: &mut Reachability,
        accept: impl Fn(&ReleaseTag) -> bool,
    ) -> Result<Option<ReleaseTag>> {
        for at in 0..self.releases.len() {
            if !accept(&self.releases[at]) {
                continue;
            }
            if let Some(commit) = self.peel(repo, at)?
                && reachable.check(repo, commit, head)?
            {
                return Ok(Some(self.releases[at].clone()));
            }
        }
        Ok(None)
    }

    /// The release tags on `commit`; call [`TagIndex::peel_all`] first.
    pub fn on_commit(&self, commit: Oid) -> impl Iterator<Item = &ReleaseTag> {
        self.releases
            .iter()
            .filter(move |tag| tag.peeled && tag.commit == commit)
    }
}

/// Tag names (without `refs/tags/`) with their target and, when
/// `packed-refs` records it, the commit an annotated tag peels to.
type TagRefs = HashMap<String, (Oid, Option<Oid>)>;

/// Reads tags from `packed-refs` and the loose files under `refs/tags`
/// directly. libgit2's iterator stats a loose path for every packed ref,
/// which dominates `next` with tens of thousands of tags; `packed-refs`
/// also carries the peeled commits git wrote, sparing an object read per
/// tag. `None` (use libgit2) for the reftable format or anything unexpected.
fn read_tag_refs(repo: &Repo) -> Option<TagRefs> {
    let common = repo.git2().commondir();
    if common.join("reftable").exists() {
        return None;
    }
    let mut refs = TagRefs::with_capacity(1024);
    match std::fs::read_to_string(common.join("packed-refs")) {
        Ok(text) => {
            let mut last: Option<String> = None;
            for line in text.lines() {
                if line.starts_with('#') || line.is_empty() {
                    continue;
                }
                if let Some(peeled) = line.strip_prefix('^') {
                    let peeled = Oid::from_str(peeled.trim()).ok()?;
                    if let Some(entry) = last.as_ref().and_then(|name| refs.get_mut(name)) {
                        entry.1 = Some(peeled);
                    }
                    continue;
                }
                let (sha, name) = line.split_once(' ')?;
                last = None;
                if let Some(tag) = name.strip_prefix("refs/tags/") {
                    refs.insert(tag.to_owned(), (Oid::from_str(sha).ok()?, None));
                    last = Some(tag.to_owned());
                }
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(_) => return None,
    }
    // Loose refs win over packed ones, as in git.
    let root = common.join("refs/tags");
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(_) => return None,
        };
        for entry in entries {
            let path = entry.ok()?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let content = std::fs::read_to_string(&path).ok()?;
            let content = content.trim();
            if content.starts_with("ref: ") {
                continue;
            }
            let name = path.strip_prefix(&root).ok()?.to_str()?.to_owned();
            refs.insert(name, (Oid::from_str(content).ok()?, None));
        }
    }
    Some(refs)
}

/// Memoised "is this commit an ancestor of HEAD", since many tags can share
/// a commit.
#[derive(Debug, Default)]
pub struct Reachability(HashMap<Oid, bool>);

impl Reachability {
    pub fn check(&mut self, repo: &Repo, commit: Oid, head: Oid) -> Result<bool> {
        if let Some(known) = self.0.get(&commit) {
            return Ok(*known);
        }
        let answer = repo.is_ancestor(commit, head)?;
        self.0.insert(commit, answer);
        Ok(answer)
    }
}

fn peel_to_commit(git: &git2::Repository, oid: Oid) -> std::result::Result<Option<Oid>, git2::Error> {
    let odb = git.odb()?;
    let (_, kind) = odb.read_header(oid)?;
    match kind {
        ObjectType::Commit => Ok(Some(oid)),
        ObjectType::Tag => {
            let object = git.find_object(oid, Some(ObjectType::Tag))?;
            match object.peel(ObjectType::Commit) {
                Ok(commit) => Ok(Some(commit.id())),
                Err(_) => Ok(None),
            }
        }
        _ => Ok(None),
    }
}

/// How much a commit asks the version to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    None,
    Patch,
    Minor,
    Major,
}

impl Bump {
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::None => "none",
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        }
    }
}

/// One commit of the range, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: Oid,
    /// The conventional type, lower-cased; `revert` for git's `Revert "..."`.
    pub kind: String,
    pub scope: Option<String>,
    /// The description after `type(scope): `, or the whole header for git reverts.
    pub description: String,
    pub breaking: bool,
    /// The `BREAKING CHANGE:` footer text, else the description for `!`.
    pub breaking_description: Option<String>,
    pub bump: Bump,
    /// The sha (possibly abbreviated) this commit reverts.
    pub reverts: Option<String>,
    /// Committer time, seconds since the epoch.
    pub time: i64,
}

/// What a walk over a range found.
#[derive(Debug, Default)]
pub struct RangeScan {
    /// Conventional commits (and reverts), newest first, after reverts
    /// cancelled what they revert within the range.
    pub changes: Vec<Change>,
    /// Commits with a message that is not a conventional commit.
    pub unconventional: Vec<(Oid, String)>,
    /// Merge commits: skipped, their changes arrive through their parents.
    pub merges: usize,
    /// Pairs of (revert, reverted) that cancelled each other.
    pub cancelled: Vec<(Oid, Oid)>,
    pub total: usize,
}

impl RangeScan {
    pub fn bump(&self) -> Bump {
        self.changes
            .iter()
            .map(|change| change.bump)
            .max()
            .unwrap_or(Bump::None)
    }
}

/// Classifies one message against the configured rules; `None` when it is
/// not a conventional commit or a revert.
pub fn classify(id: Oid, message: &str, time: i64, config: &ReleaseConfig) -> Option<Change> {
    let revert = commit::is_revert(message);
    let parsed = commit::parse(message).ok();
    let (kind, scope, description, breaking, breaking_description) = match (&parsed, revert) {
        (Some(parsed), _) => (
            parsed.kind.to_ascii_lowercase(),
            parsed.scope.map(str::to_owned),
            parsed.description.trim().to_owned(),
            parsed.is_breaking(),
            parsed.is_breaking().then(|| {
                parsed
                    .breaking_description()
                    .unwrap_or(parsed.description)
                    .trim()
                    .to_owned()
            }),
        ),
        (None, Some(revert)) => (
            "revert".to_owned(),
            None,
            format!("revert \"{}\"", revert.reverted_header),
            false,
            None,
        ),
        (None, None) => return None,
    };
    let is_type = |list: &[String]| list.iter().any(|t| t.eq_ignore_ascii_case(&kind));
    let bump = if breaking {
        Bump::Major
    } else if is_type(&config.minor_types) {
        Bump::Minor
    } else if is_type(&config.patch_types) {
        Bump::Patch
    } else {
        Bump::None
    };
    Some(Change {
        id,
        kind,
        scope,
        description,
        breaking,
        breaking_description,
        bump,
        reverts: revert.and_then(|r| r.reverted_commit.map(str::to_owned)),
        time,
    })
}

/// Walks commits reachable from `to` and not from `from`, classifying each.
pub fn scan_range(repo: &Repo, from: Option<Oid>, to: Oid, config: &ReleaseConfig) -> Result<RangeScan> {
    let git = repo.git2();
    let mut walk = git.revwalk().map_err(|e| git_error("cannot walk history", e))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)
        .map_err(|e| git_error("cannot walk history", e))?;
    walk.push(to)
        .map_err(|e| git_error(&format!("cannot walk from {}", short(to)), e))?;
    if let Some(from) = from {
        walk.hide(from)
            .map_err(|e| git_error(&format!("cannot exclude {}", short(from)), e))?;
    }
    let mut scan = RangeScan::default();
    for next in walk {
        let oid = next.map_err(|e| git_error("cannot walk history", e))?;
        let found = git
            .find_commit(oid)
            .map_err(|e| git_error(&format!("cannot read commit {}", short(oid)), e))?;
        scan.total += 1;
        if found.parent_count() > 1 {
            scan.merges += 1;
            continue;
        }
        // Decoding only allocates for messages that are not UTF-8: those
        // with an `encoding` header (Latin-1 from old tooling) read as git
        // shows them, others with U+FFFD in place of the bad bytes.
        let message =
            shipgate_core::git::decode_message(found.message_bytes(), found.message_encoding().ok().flatten());
        match classify(oid, &message, found.time().seconds(), config) {
            Some(change) => scan.changes.push(change),
            None => {
                let header = message.lines().next().unwrap_or_default().trim().to_owned();
                scan.unconventional.push((oid, header));
            }
        }
    }
    cancel_reverts(&mut scan);
    Ok(scan)
}

/// A revert of a commit in the same unreleased range undoes it: neither is
/// released. Reverts of already-released commits stay and count as a patch.
fn cancel_reverts(scan: &mut RangeScan) {
    let mut cancelled = Vec::new();
    for revert in scan.changes.iter().filter(|c| c.reverts.is_some()) {
        let target = revert.reverts.as_deref().unwrap_or_default();
        if let Some(original) = scan
            .changes
            .iter()
            .find(|c| c.id != revert.id && c.id.to_string().starts_with(target))
        {
            cancelled.push((revert.id, original.id));
        }
    }
    if cancelled.is_empty() {
        return;
    }
    scan.changes.retain(|c| {
        !cancelled
            .iter()
            .any(|(revert, original)| c.id == *revert || c.id == *original)
    });
    scan.cancelled = cancelled;
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipgate_testkit::git::GitFixture;

    fn scanned(fixture: &GitFixture) -> Vec<(String, String)> {
        let repo = Repo::discover(fixture.path()).unwrap();
        let mut index = TagIndex::scan(&repo, &ReleaseConfig::default()).unwrap();
        index.peel_all(&repo).unwrap();
        index
            .releases
            .iter()
            .map(|t| (t.name.clone(), t.commit.to_string()))
            .collect()
    }

    #[test]
    fn packed_and_loose_tags_read_the_same_and_peel_to_commits() {
        let fixture = GitFixture::new();
        let first = fixture.commit("feat: one");
        fixture.tag_annotated("v1.0.0", "Release version 1.0.0");
        fixture.tag("v0.9.0");
        let second = fixture.commit("fix: two");
        fixture.tag_annotated("v1.0.1", "Release version 1.0.1");
        fixture.run_git(&["tag", "-a", "nested/v9", "-m", "not ours"]);
        let expected = vec![
            ("v1.0.1".to_owned(), second.clone()),
            ("v1.0.0".to_owned(), first.clone()),
            ("v0.9.0".to_owned(), first.clone()),
        ];
        assert_eq!(scanned(&fixture), expected, "loose refs");
        fixture.run_git(&["pack-refs", "--all"]);
        assert_eq!(scanned(&fixture), expected, "packed refs with peeled lines");
        // A loose ref overrides its packed copy.
        fixture.run_git(&["tag", "--force", "v0.9.0", &second]);
        let repo = Repo::discover(fixture.path()).unwrap();
        let index = TagIndex::scan(&repo, &ReleaseConfig::default()).unwrap();
        let moved = index.releases.iter().find(|t| t.name == "v0.9.0").unwrap();
        assert_eq!(moved.commit.to_string(), second);
        let packed = index.releases.iter().find(|t| t.name == "v1.0.0").unwrap();
        assert!(packed.peeled, "packed-refs supplied the peeled commit");
        assert_eq!(packed.commit.to_string(), first);
    }
}
