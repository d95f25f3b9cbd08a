//! Release tags and the conventional commits between them.
//!
//! Reads go through git2 directly rather than `Repo::commits_between`:
//! `next` runs on every CI push over thousands of commits and tags, so the
//! walk borrows each message instead of copying it and skips merges before
//! decoding anything.

use std::collections::{BinaryHeap, HashMap, HashSet};

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

    /// The highest-version tag reachable from the walk's start among those
    /// `accept` keeps. Checking from the top down stops at the first
    /// reachable tag, and each check only advances the one shared walk (see
    /// [`Reachability`]), so a parallel pre-release line above the answer
    /// costs a commit read per tag, not a walk of history per tag.
    pub fn highest_reachable(
        &mut self,
        repo: &Repo,
        reachable: &mut Reachability<'_>,
        accept: impl Fn(&ReleaseTag) -> bool,
    ) -> Result<Option<ReleaseTag>> {
        for at in 0..self.releases.len() {
            if !accept(&self.releases[at]) {
                continue;
            }
            if let Some(commit) = self.peel(repo, at)?
                && reachable.reaches(commit)?
            {
                return Ok(Some(self.releases[at].clone()));
            }
        }
        Ok(None)
    }

    /// The stable releases on commits `reached` keeps, lowest version
    /// first; call [`TagIndex::peel_all`] first.
    pub fn stable_line(self, reached: impl Fn(&Oid) -> bool) -> Vec<ReleaseTag> {
        let mut line: Vec<ReleaseTag> = self
            .releases
            .into_iter()
            .filter(|t| t.version.pre.is_empty() && reached(&t.commit))
            .collect();
        line.reverse();
        line
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

/// How far a committer clock may run behind its parent's: a commit newer
/// than everything left to walk by more than this is taken as unreachable.
/// Git's own date-ordered walks assume the same; without the allowance a
/// skewed commit would hide the tags below it.
const CLOCK_SKEW_SECONDS: i64 = 24 * 60 * 60;

/// "Is this commit an ancestor of the start?", answered by one newest-first
/// walk (by committer time) from the start that advances only as far as the
/// questions need and is shared by all of them.
///
/// A commit is reachable once the walk has seen it. It is unreachable once
/// every commit left to walk is older than it (beyond [`CLOCK_SKEW_SECONDS`]):
/// ancestors are never newer than their descendants, so the walk can stop
/// there rather than exhaust history. A release on a parallel line, tagged
/// after the last commit the answer needs, so costs nothing beyond reading
/// its commit's date.
pub struct Reachability<'r> {
    git: &'r git2::Repository,
    /// Commits found but not yet expanded, newest first.
    queue: BinaryHeap<(i64, Oid)>,
    /// Every commit found so far: all reachable from the start.
    seen: HashSet<Oid>,
    /// Commits whose parents were read.
    walked: usize,
}

impl std::fmt::Debug for Reachability<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reachability")
            .field("seen", &self.seen.len())
            .field("queued", &self.queue.len())
            .field("walked", &self.walked)
            .finish_non_exhaustive()
    }
}

impl<'r> Reachability<'r> {
    /// A walk from `start`, not advanced yet.
    pub fn from(repo: &'r Repo, start: Oid) -> Result<Reachability<'r>> {
        let git = repo.git2();
        let mut walk = Reachability {
            git,
            queue: BinaryHeap::new(),
            seen: HashSet::new(),
            walked: 0,
        };
        let time = commit_time(git, start)?;
        walk.seen.insert(start);
        walk.queue.push((time, start));
        Ok(walk)
    }

    /// Whether `commit` is the start or one of its ancestors.
    pub fn reaches(&mut self, commit: Oid) -> Result<bool> {
        if self.seen.contains(&commit) {
            return Ok(true);
        }
        let time = commit_time(self.git, commit)?;
        while let Some(&(newest, _)) = self.queue.peek() {
            if newest.saturating_add(CLOCK_SKEW_SECONDS) < time {
                break;
            }
            self.expand_newest()?;
            if self.seen.contains(&commit) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// How many commits the walk has read the parents of so far.
    pub fn walked(&self) -> usize {
        self.walked
    }

    fn expand_newest(&mut self) -> Result<()> {
        let Some((_, oid)) = self.queue.pop() else {
            return Ok(());
        };
        self.walked += 1;
        let found = self
            .git
            .find_commit(oid)
            .map_err(|e| git_error(&format!("cannot read commit {}", short(oid)), e))?;
        for parent in found.parent_ids() {
            if self.seen.insert(parent) {
                self.queue.push((commit_time(self.git, parent)?, parent));
            }
        }
        Ok(())
    }
}

fn commit_time(git: &git2::Repository, oid: Oid) -> Result<i64> {
    git.find_commit(oid)
        .map(|commit| commit.time().seconds())
        .map_err(|e| git_error(&format!("cannot read commit {}", short(oid)), e))
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

/// The stable releases reachable from a commit and what each one released,
/// from one walk of the history.
#[derive(Debug, Default)]
pub struct ReleaseHistory {
    /// Stable release tags reachable from the start, lowest version first.
    pub line: Vec<ReleaseTag>,
    /// `ranges[k]` are the commits reachable from `line[k]` and not from
    /// `line[k - 1]` (what [`scan_range`] gives for that pair);
    /// `ranges[line.len()]` are those since the last release.
    pub ranges: Vec<RangeScan>,
}

/// What one commit of the walk is.
enum Classified {
    Merge,
    Change(Change),
    Unconventional(String),
}

/// Every commit reachable from a start, read once, and split at the stable
/// release tags it reaches.
#[derive(Debug)]
pub struct SplitHistory<T> {
    /// Stable release tags reachable from the start, lowest version first.
    pub line: Vec<ReleaseTag>,
    /// What the caller read from each commit, in the walk's order.
    pub commits: Vec<(Oid, T)>,
    /// `members[k]` indexes the commits reachable from `line[k]` and not
    /// from `line[k - 1]` (what `git log line[k-1]..line[k]` lists);
    /// `members[line.len()]` those since the last release.
    pub members: Vec<Vec<u32>>,
}

/// Walks every commit reachable from `head` once, newest first, keeping
/// what `read` takes from each, and splits them at the stable release tags
/// as a walk between consecutive releases would, without a walk per release.
///
/// A commit belongs to release `k` when `line[k]` reaches it and `line[k - 1]`
/// does not. Reachability from each release is a bit per commit, pushed
/// from children to parents in the walk's topological order; 64 releases
/// fit one pass over the commits, so thousands of releases cost a few
/// passes over integers, not a walk of history each.
pub fn split_at_releases<T>(
    repo: &Repo,
    head: Oid,
    config: &ReleaseConfig,
    mut read: impl FnMut(Oid, &git2::Commit<'_>) -> T,
) -> Result<SplitHistory<T>> {
    let git = repo.git2();
    let walk_error = |e: git2::Error| git_error("cannot walk history", e);
    let mut walk = git.revwalk().map_err(walk_error)?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME).map_err(walk_error)?;
    walk.push(head)
        .map_err(|e| git_error(&format!("cannot walk from {}", short(head)), e))?;
    let mut commits: Vec<(Oid, T)> = Vec::new();
    let mut position: HashMap<Oid, u32> = HashMap::new();
    let mut parent_ids: Vec<Vec<Oid>> = Vec::new();
    for next in walk {
        let oid = next.map_err(walk_error)?;
        let found = git
            .find_commit(oid)
            .map_err(|e| git_error(&format!("cannot read commit {}", short(oid)), e))?;
        position.insert(oid, commits.len() as u32);
        parent_ids.push(found.parent_ids().collect());
        commits.push((oid, read(oid, &found)));
    }
    // Parents outside the walk (a shallow clone's boundary) are dropped.
    let parents: Vec<Vec<u32>> = parent_ids
        .iter()
        .map(|list| list.iter().filter_map(|p| position.get(p).copied()).collect())
        .collect();

    let mut tags = TagIndex::scan(repo, config)?;
    tags.peel_all(repo)?;
    let line = tags.stable_line(|commit| position.contains_key(commit));

    // Boundaries: the releases, then `head` for the unreleased commits.
    let mut boundaries: Vec<u32> = line.iter().map(|t| position[&t.commit]).collect();
    boundaries.push(0);
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); boundaries.len()];
    // Bit 0 of a block is the release before its first one, so that each
    // range of the block can tell "reached by mine and not by the previous".
    const PER_BLOCK: usize = 63;
    let mut bits = vec![0u64; commits.len()];
    for first in (0..boundaries.len()).step_by(PER_BLOCK) {
        bits.iter_mut().for_each(|b| *b = 0);
        let last = (first + PER_BLOCK).min(boundaries.len());
        if first > 0 {
            bits[boundaries[first - 1] as usize] |= 1;
        }
        for (offset, &commit) in boundaries[first..last].iter().enumerate() {
            bits[commit as usize] |= 1 << (offset + 1);
        }
        // Children come before their parents in a topological walk.
        for at in 0..commits.len() {
            let mine = bits[at];
            if mine != 0 {
                for &parent in &parents[at] {
                    bits[parent as usize] |= mine;
                }
            }
        }
        for (at, &mine) in bits.iter().enumerate() {
            let mut starts = mine & !(mine << 1) & !1;
            while starts != 0 {
                let bit = starts.trailing_zeros() as usize;
                members[first + bit - 1].push(at as u32);
                starts &= starts - 1;
            }
        }
    }
    Ok(SplitHistory { line, commits, members })
}

/// Walks every commit reachable from `head` once and splits them at the
/// stable release tags (see [`split_at_releases`]), classifying each as
/// [`scan_range`] would between consecutive releases.
pub fn release_history(repo: &Repo, head: Oid, config: &ReleaseConfig) -> Result<ReleaseHistory> {
    let split = split_at_releases(repo, head, config, |oid, found| {
        if found.parent_count() > 1 {
            return Classified::Merge;
        }
        let message = String::from_utf8_lossy(found.message_bytes());
        match classify(oid, &message, found.time().seconds(), config) {
            Some(change) => Classified::Change(change),
            None => Classified::Unconventional(message.lines().next().unwrap_or_default().trim().to_owned()),
        }
    })?;
    let ranges = split
        .members
        .iter()
        .map(|commits| {
            let mut scan = RangeScan {
                total: commits.len(),
                ..RangeScan::default()
            };
            for &at in commits {
                let (id, classified) = &split.commits[at as usize];
                match classified {
                    Classified::Merge => scan.merges += 1,
                    Classified::Change(change) => scan.changes.push(change.clone()),
                    Classified::Unconventional(header) => scan.unconventional.push((*id, header.clone())),
                }
            }
            cancel_reverts(&mut scan);
            scan
        })
        .collect();
    Ok(ReleaseHistory {
        line: split.line,
        ranges,
    })
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
pub(crate) mod tests {
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

    const DAY_MINUTES: u64 = 24 * 60;

    /// Tags `v{version}` as a release, the way `release-tagger tag` does.
    pub(crate) fn released(fixture: &GitFixture, version: &str) {
        fixture.tag_annotated(&format!("v{version}"), &format!("Release version {version}"));
    }

    fn highest(repo: &Repo, head: &str, stable: bool) -> (Option<String>, usize) {
        let mut index = TagIndex::scan(repo, &ReleaseConfig::default()).unwrap();
        let mut reachable = Reachability::from(repo, Oid::from_str(head).unwrap()).unwrap();
        let found = index
            .highest_reachable(repo, &mut reachable, |t| !stable || t.version.pre.is_empty())
            .unwrap();
        (found.map(|t| t.name), reachable.walked())
    }

    #[test]
    fn a_pre_release_line_above_stable_and_unreachable_costs_no_walk_of_history() {
        let fixture = GitFixture::new();
        fixture.commit("feat: first");
        // The pre-release line forks at the very start...
        fixture.branch("next");
        for i in 0..40 {
            fixture.commit(&format!("fix: change {i}"));
        }
        released(&fixture, "1.4.0");
        // ...and is tagged days later than every commit of main's history
        // below the answer, so the walk from HEAD rules it out by date.
        fixture.advance_clock(2 * DAY_MINUTES);
        fixture.checkout("next");
        for rc in 1..=3 {
            fixture.commit(&format!("feat!: rewrite, step {rc}"));
            released(&fixture, &format!("2.0.0-beta.{rc}"));
        }
        fixture.advance_clock(2 * DAY_MINUTES);
        fixture.checkout("main");
        fixture.commit("fix: on main");
        let head = fixture.commit("fix: on main again");
        let repo = Repo::discover(fixture.path()).unwrap();
        let (current, walked) = highest(&repo, &head, false);
        assert_eq!(current.as_deref(), Some("v1.4.0"));
        assert!(walked <= 2, "walked {walked} commits to rule out the beta line");

        // The same question from a commit of the line finds its own tags.
        let beta = fixture.rev_parse("v2.0.0-beta.3");
        assert_eq!(highest(&repo, &beta, false).0.as_deref(), Some("v2.0.0-beta.3"));
        assert_eq!(highest(&repo, &beta, true).0, None, "1.4.0 is not on the line");
    }

    #[test]
    fn an_unreachable_higher_tag_older_than_the_answer_is_still_ruled_out() {
        let fixture = GitFixture::new();
        fixture.commit("feat: first");
        fixture.branch("old");
        fixture.checkout("old");
        fixture.commit("fix: a typo tag on a dead branch");
        fixture.tag("v9.0.0");
        fixture.checkout("main");
        fixture.advance_clock(3 * DAY_MINUTES);
        fixture.commit("fix: later");
        released(&fixture, "1.0.0");
        let head = fixture.commit("fix: after");
        let repo = Repo::discover(fixture.path()).unwrap();
        assert_eq!(highest(&repo, &head, true).0.as_deref(), Some("v1.0.0"));
    }

    #[test]
    fn a_commit_dated_before_its_parent_does_not_hide_the_tags_below_it() {
        let fixture = GitFixture::new();
        fixture.commit("feat: first");
        fixture.advance_clock(2 * DAY_MINUTES);
        fixture.commit("fix: tagged");
        released(&fixture, "1.1.0");
        // A commit from a machine whose clock ran hours behind.
        let repo = Repo::discover(fixture.path()).unwrap();
        let git = repo.git2();
        let parent = git.find_commit(repo.head_commit().unwrap()).unwrap();
        let behind = git2::Time::new(parent.time().seconds() - 6 * 3600, 0);
        let signature = git2::Signature::new("Skewed", "skew@example.invalid", &behind).unwrap();
        let head = git
            .commit(
                Some("HEAD"),
                &signature,
                &signature,
                "fix: from a slow clock",
                &parent.tree().unwrap(),
                &[&parent],
            )
            .unwrap();
        assert_eq!(highest(&repo, &head.to_string(), true).0.as_deref(), Some("v1.1.0"));
    }

    /// Commit ids of a range as `scan_range` gives it, in order.
    fn range_ids(scan: &RangeScan) -> (Vec<String>, Vec<String>, usize, usize) {
        (
            scan.changes.iter().map(|c| c.id.to_string()).collect(),
            scan.unconventional.iter().map(|(id, _)| id.to_string()).collect(),
            scan.merges,
            scan.total,
        )
    }

    #[test]
    fn one_walk_splits_history_as_a_walk_per_release_would() {
        let fixture = GitFixture::new();
        fixture.commit("feat: first");
        released(&fixture, "1.0.0");
        // A release branch, fixed, tagged there and merged back.
        fixture.branch("release/v1.1");
        fixture.commit("feat: on main while 1.1 stabilises");
        fixture.checkout("release/v1.1");
        fixture.commit("fix: release fix");
        released(&fixture, "1.1.0");
        fixture.checkout("main");
        fixture.merge_no_ff("release/v1.1", "Merge branch 'release/v1.1'");
        fixture.branch("feature/x");
        fixture.checkout("feature/x");
        fixture.commit("feat(x): topic work");
        fixture.commit("Update the readme");
        fixture.checkout("main");
        fixture.merge_no_ff("feature/x", "Merge pull request #7 from o/feature/x");
        released(&fixture, "1.2.0");
        // A patch of 1.1 tagged after 1.2.0: off the straight line.
        fixture.checkout("release/v1.1");
        fixture.commit("fix: backported");
        released(&fixture, "1.1.1");
        fixture.checkout("main");
        fixture.merge_no_ff("release/v1.1", "Merge branch 'release/v1.1' again");
        // Reverts cancel within a range, and a pre-release is not a boundary.
        let risky = fixture.commit("feat: risky");
        released(&fixture, "1.3.0-rc.1");
        fixture.commit(&format!("revert: feat: risky\n\nThis reverts commit {risky}."));
        released(&fixture, "1.3.0");
        fixture.commit("fix: unreleased");

        let repo = Repo::discover(fixture.path()).unwrap();
        let config = ReleaseConfig::default();
        let head = repo.head_commit().unwrap();
        let history = release_history(&repo, head, &config).unwrap();
        let names: Vec<&str> = history.line.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["v1.0.0", "v1.1.0", "v1.1.1", "v1.2.0", "v1.3.0"]);
        assert_eq!(history.ranges.len(), names.len() + 1);
        let mut previous: Option<Oid> = None;
        let ends = history.line.iter().map(|t| t.commit).chain([head]);
        for (k, end) in ends.enumerate() {
            let expected = scan_range(&repo, previous, end, &config).unwrap();
            assert_eq!(range_ids(&history.ranges[k]), range_ids(&expected), "range {k}");
            assert_eq!(history.ranges[k].cancelled, expected.cancelled, "range {k}");
            previous = Some(end);
        }
        // 1.1.1's fix also arrives in 1.2.0..1.3.0, which 1.2.0 lacked.
        assert!(history.ranges[4].changes.iter().any(|c| c.description == "backported"));
        assert_eq!(history.ranges[4].cancelled.len(), 1);
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
