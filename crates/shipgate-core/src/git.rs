//! Git access: libgit2 for reading and local writes, the `git` CLI for
//! talking to remotes.
//!
//! Push and fetch shell out on purpose: actions/checkout configures
//! credentials as `http.extraheader`, and developers rely on credential
//! helpers and SSH agents; only the real CLI honours all of them.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use git2::Oid;
use git2::{ObjectType, Repository, Sort, StatusOptions};

use crate::actions::redact;
use crate::exit::{Error, Result};

/// One commit, as release notes and policy checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The commit's object id, its SHA.
    pub id: Oid,
    /// First line of the message.
    pub summary: String,
    /// Full message, decoded as git shows it (see [`decode_message`]).
    pub message: String,
    /// Whether the raw message was valid in its encoding (if not, `message`
    /// has replacement characters and policy checks may want to flag it).
    pub message_is_utf8: bool,
    /// The author's name, decoded like `message`.
    pub author_name: String,
    /// The author's email, decoded like `message`.
    pub author_email: String,
    /// Seconds since the Unix epoch.
    pub author_time: i64,
    /// Seconds since the Unix epoch.
    pub committer_time: i64,
    /// How many parents the commit has: 0 for a root commit, 2 or more for a merge.
    pub parent_count: usize,
}

impl CommitInfo {
    fn from_commit(commit: &git2::Commit<'_>) -> Self {
        // An encoding name that is not even UTF-8 is unknown: read as UTF-8.
        let encoding = commit.message_encoding().ok().flatten();
        let (message, message_is_utf8) = decode(commit.message_bytes(), encoding);
        let message = message.into_owned();
        let summary = message.lines().next().unwrap_or_default().trim().to_owned();
        let author = commit.author();
        CommitInfo {
            id: commit.id(),
            summary,
            message,
            message_is_utf8,
            author_name: decode_message(author.name_bytes(), encoding).into_owned(),
            author_email: decode_message(author.email_bytes(), encoding).into_owned(),
            author_time: author.when().seconds(),
            committer_time: commit.committer().when().seconds(),
            parent_count: commit.parent_count(),
        }
    }
}

/// Commit text (message, author) decoded as `git log` shows it: in the
/// encoding the commit's `encoding` header names (`i18n.commitEncoding`
/// when it was made), else as UTF-8, with U+FFFD for bytes that are not.
pub fn decode_message<'a>(raw: &'a [u8], encoding: Option<&str>) -> Cow<'a, str> {
    decode(raw, encoding).0
}

/// [`decode_message`], and whether the bytes were valid in that encoding.
fn decode<'a>(raw: &'a [u8], encoding: Option<&str>) -> (Cow<'a, str>, bool) {
    let label = encoding.map(str::trim).unwrap_or_default();
    match encoding_rs::Encoding::for_label_no_replacement(label.as_bytes()) {
        Some(other) if other != encoding_rs::UTF_8 => {
            // The WHATWG labels encoding_rs follows map ISO-8859-1 and its
            // aliases to windows-1252; git decodes them with iconv, as true
            // Latin-1, where 0x80-0x9F are control characters.
            if other == encoding_rs::WINDOWS_1252
                && !["windows-1252", "cp1252", "x-cp1252"]
                    .iter()
                    .any(|name| label.eq_ignore_ascii_case(name))
            {
                return (encoding_rs::mem::decode_latin1(raw), true);
            }
            let (text, had_errors) = other.decode_without_bom_handling(raw);
            (text, !had_errors)
        }
        _ => {
            let text = String::from_utf8_lossy(raw);
            let valid = matches!(text, Cow::Borrowed(_));
            (text, valid)
        }
    }
}

/// A tag, peeled to the commit it marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRef {
    /// Name without `refs/tags/`.
    pub name: String,
    /// The commit the tag points at, through any tag objects.
    pub target: Oid,
    /// Whether this is an annotated tag (a tag object) rather than a bare ref.
    pub annotated: bool,
    /// The annotated tag's message.
    pub message: Option<String>,
}

/// Options for [`Repo::push`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushOptions {
    /// `--force-with-lease`: overwrite only if the remote still has what we
    /// last fetched.
    pub force_with_lease: bool,
    /// `--dry-run`: check everything, change nothing.
    pub dry_run: bool,
}

/// Captured output of a successful `git` run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitOutput {
    /// What git wrote to stdout, lossily decoded as UTF-8.
    pub stdout: String,
    /// What git wrote to stderr, lossily decoded as UTF-8.
    pub stderr: String,
}

/// A local repository.
pub struct Repo {
    repo: Repository,
    dir: PathBuf,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo").field("dir", &self.dir).finish()
    }
}

fn git_error(context: &str, err: git2::Error) -> Error {
    Error::usage(format!("{context}: {}", redact(err.message())))
}

/// A short sha for messages.
pub fn short(oid: Oid) -> String {
    oid.to_string()[..7].to_owned()
}

impl Repo {
    /// Opens the repository containing `path` (searching parent directories).
    pub fn discover(path: impl AsRef<Path>) -> Result<Repo> {
        let path = path.as_ref();
        // libgit2 hashes every object it reads to check it against its
        // name; git does not (that is `git fsck`'s job), and on a history
        // walk the hashing is a few percent of the time.
        static READ_LIKE_GIT: std::sync::Once = std::sync::Once::new();
        READ_LIKE_GIT.call_once(|| git2::opts::strict_hash_verification(false));
        let repo = Repository::discover(path).map_err(|err| {
            Error::usage(format!(
                "{} is not inside a git repository: {}",
                path.display(),
                err.message()
            ))
        })?;
        let dir = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
        Ok(Repo { repo, dir })
    }

    /// The working tree (or the git dir of a bare repository).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The libgit2 handle, for what this wrapper does not cover.
    pub fn git2(&self) -> &Repository {
        &self.repo
    }

    /// The checked-out branch, `None` when HEAD is detached (as in most
    /// pull request workflows) or unborn.
    pub fn head_branch(&self) -> Result<Option<String>> {
        if self
            .repo
            .head_detached()
            .map_err(|e| git_error("cannot read HEAD", e))?
        {
            return Ok(None);
        }
        let head = match self.repo.find_reference("HEAD") {
            Ok(head) => head,
            Err(err) => return Err(git_error("cannot read HEAD", err)),
        };
        Ok(head
            .symbolic_target_bytes()
            .map(String::from_utf8_lossy)
            .and_then(|target| target.strip_prefix("refs/heads/").map(str::to_owned)))
    }

    /// The commit HEAD points at.
    pub fn head_commit(&self) -> Result<Oid> {
        let head = self
            .repo
            .head()
            .map_err(|e| git_error("HEAD does not point at a commit (empty repository?)", e))?;
        head.peel_to_commit()
            .map(|commit| commit.id())
            .map_err(|e| git_error("HEAD does not point at a commit", e))
    }

    /// Whether this is a shallow clone (e.g. actions/checkout's default
    /// `fetch-depth: 1`).
    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow()
    }

    /// The commit `rev` names (`main`, `v1.2.0`, `HEAD~2`, a sha), peeled
    /// through tags.
    pub fn resolve(&self, rev: &str) -> Result<Oid> {
        let object = self
            .repo
            .revparse_single(rev)
            .map_err(|err| Error::usage(format!("unknown revision `{rev}`: {}", err.message())))?;
        object
            .peel_to_commit()
            .map(|commit| commit.id())
            .map_err(|err| Error::usage(format!("`{rev}` is not a commit: {}", err.message())))
    }

    /// Commits reachable from `to` but not from `from_exclusive`, newest
    /// first, parents after all their children.
    pub fn commits_between(
        &self,
        from_exclusive: Option<Oid>,
        to: Oid,
    ) -> Result<impl Iterator<Item = Result<CommitInfo>> + '_> {
        let mut walk = self.repo.revwalk().map_err(|e| git_error("cannot walk history", e))?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)
            .map_err(|e| git_error("cannot walk history", e))?;
        walk.push(to)
            .map_err(|e| git_error(&format!("cannot walk from {}", short(to)), e))?;
        if let Some(from) = from_exclusive {
            walk.hide(from)
                .map_err(|e| git_error(&format!("cannot exclude {}", short(from)), e))?;
        }
        Ok(walk.map(move |next| {
            let oid = next.map_err(|e| git_error("cannot walk history", e))?;
            let commit = self
                .repo
                .find_commit(oid)
                .map_err(|e| git_error(&format!("cannot read commit {}", short(oid)), e))?;
            Ok(CommitInfo::from_commit(&commit))
        }))
    }

    /// All tags peeled to commits, sorted by name. Tags pointing at
    /// something other than a commit (a tree or blob) are skipped.
    pub fn tags(&self) -> Result<Vec<TagRef>> {
        let mut tags = Vec::new();
        let mut failure = None;
        // tag_foreach reads packed and loose refs in one pass; each tag then
        // costs one object header lookup (plus the tag object if annotated).
        self.repo
            .tag_foreach(|oid, name| {
                let name = String::from_utf8_lossy(name);
                let name = name.strip_prefix("refs/tags/").unwrap_or(&name).to_owned();
                match self.peel_tag(oid, name) {
                    Ok(Some(tag)) => tags.push(tag),
                    Ok(None) => {}
                    Err(err) => {
                        failure = Some(err);
                        return false;
                    }
                }
                true
            })
            .or_else(|err| {
                // libgit2 reports the early stop as a user error; the real
                // failure is in `failure`.
                if failure.is_some() {
                    Ok(())
                } else {
                    Err(git_error("cannot list tags", err))
                }
            })?;
        if let Some(err) = failure {
            return Err(err);
        }
        tags.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(tags)
    }

    fn peel_tag(&self, oid: Oid, name: String) -> Result<Option<TagRef>> {
        let odb = self
            .repo
            .odb()
            .map_err(|e| git_error("cannot open the object database", e))?;
        let (_, kind) = odb
            .read_header(oid)
            .map_err(|e| git_error(&format!("tag `{name}` points at a missing object"), e))?;
        match kind {
            ObjectType::Commit => Ok(Some(TagRef {
                name,
                target: oid,
                annotated: false,
                message: None,
            })),
            ObjectType::Tag => {
                let tag = self
                    .repo
                    .find_tag(oid)
                    .map_err(|e| git_error(&format!("cannot read tag `{name}`"), e))?;
                let message = tag
                    .message_bytes()
                    .map(|bytes| String::from_utf8_lossy(bytes).into_owned());
                match tag.as_object().peel(ObjectType::Commit) {
                    Ok(commit) => Ok(Some(TagRef {
                        name,
                        target: commit.id(),
                        annotated: true,
                        message,
                    })),
                    Err(_) => Ok(None),
                }
            }
            _ => Ok(None),
        }
    }

    /// Whether `ancestor` is reachable from `descendant`. A commit counts as
    /// its own ancestor, as with `git merge-base --is-ancestor`.
    pub fn is_ancestor(&self, ancestor: Oid, descendant: Oid) -> Result<bool> {
        if ancestor == descendant {
            return Ok(true);
        }
        self.repo
            .graph_descendant_of(descendant, ancestor)
            .map_err(|e| git_error("cannot compare commits", e))
    }

    /// The best common ancestor, `None` for unrelated histories.
    pub fn merge_base(&self, one: Oid, two: Oid) -> Result<Option<Oid>> {
        match self.repo.merge_base(one, two) {
            Ok(base) => Ok(Some(base)),
            Err(err) if err.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(err) => Err(git_error("cannot compute the merge base", err)),
        }
    }

    /// Creates annotated tag `name` on `target`. With `sign` the `git` CLI
    /// signs it with the user's configured key.
    pub fn create_annotated_tag(&self, name: &str, target: Oid, message: &str, sign: bool) -> Result<Oid> {
        if let Ok(existing) = self.repo.find_reference(&format!("refs/tags/{name}")) {
            let at = existing
                .peel_to_commit()
                .map(|commit| format!(" at {}", short(commit.id())))
                .unwrap_or_default();
            return Err(Error::usage(format!("tag `{name}` already exists{at}")));
        }
        if sign {
            let target = target.to_string();
            git_cli(&self.dir, &["tag", "--sign", "--message", message, name, &target])?;
            let reference = self
                .repo
                .find_reference(&format!("refs/tags/{name}"))
                .map_err(|e| git_error(&format!("signed tag `{name}` is missing"), e))?;
            return reference
                .target()
                .ok_or_else(|| Error::usage(format!("tag `{name}` is symbolic")));
        }
        let object = self
            .repo
            .find_object(target, None)
            .map_err(|e| git_error(&format!("cannot find {}", short(target)), e))?;
        let tagger = self.signature()?;
        // `git tag -m` ends messages with a newline; match it so tags look
        // the same whichever way they were made.
        let message = format!("{}\n", message.trim_end());
        self.repo
            .tag(name, &object, &tagger, &message, false)
            .map_err(|e| git_error(&format!("cannot create tag `{name}`"), e))
    }

    /// The configured identity, or the GitHub Actions bot when none is set
    /// (fresh CI runners have no `user.name`).
    fn signature(&self) -> Result<git2::Signature<'static>> {
        match self.repo.signature() {
            Ok(signature) => Ok(signature.to_owned()),
            Err(_) => git2::Signature::now(
                "github-actions[bot]",
                "41898282+github-actions[bot]@users.noreply.github.com",
            )
            .map_err(|e| git_error("cannot build a tagger identity", e)),
        }
    }

    /// Creates branch `name` at `from`; fails if it exists.
    pub fn create_branch(&self, name: &str, from: Oid) -> Result<()> {
        let commit = self
            .repo
            .find_commit(from)
            .map_err(|e| git_error(&format!("cannot find commit {}", short(from)), e))?;
        self.repo.branch(name, &commit, false).map(|_| ()).map_err(|err| {
            if err.code() == git2::ErrorCode::Exists {
                Error::usage(format!("branch `{name}` already exists"))
            } else {
                git_error(&format!("cannot create branch `{name}`"), err)
            }
        })
    }

    /// Whether tracked files match HEAD. Untracked files are ignored: they
    /// change nothing a tag or push points at.
    pub fn status_clean(&self) -> Result<bool> {
        let mut options = StatusOptions::new();
        options
            .include_untracked(false)
            .include_ignored(false)
            .exclude_submodules(true);
        let statuses = self
            .repo
            .statuses(Some(&mut options))
            .map_err(|e| git_error("cannot read the working tree status", e))?;
        Ok(statuses.is_empty())
    }

    /// `git push [--force-with-lease] [--dry-run] <remote> <refspecs>...`.
    pub fn push(&self, remote: &str, refspecs: &[&str], options: PushOptions) -> Result<GitOutput> {
        let mut args = vec!["push", "--porcelain"];
        if options.force_with_lease {
            args.push("--force-with-lease");
        }
        if options.dry_run {
            args.push("--dry-run");
        }
        args.push(remote);
        args.extend_from_slice(refspecs);
        git_cli_explained(&self.dir, &args, rejected_refs)
    }

    /// The object `refs/tags/<name>` names on `remote` (`git ls-remote`),
    /// `None` when the remote has no such tag. An unreachable remote is
    /// [`Error::external`].
    pub fn remote_tag(&self, remote: &str, name: &str) -> Result<Option<Oid>> {
        let reference = format!("refs/tags/{name}");
        let output = git_cli(&self.dir, &["ls-remote", "--tags", "--refs", remote, &reference])?;
        output
            .stdout
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .find(|(_, name)| *name == reference)
            .map(|(sha, _)| {
                Oid::from_str(sha.trim()).map_err(|e| {
                    Error::external(format!(
                        "git ls-remote printed `{sha}`, not an object id: {}",
                        e.message()
                    ))
                })
            })
            .transpose()
    }

    /// `git fetch <remote> <refspecs>...`.
    pub fn fetch(&self, remote: &str, refspecs: &[&str]) -> Result<GitOutput> {
        let mut args = vec!["fetch", "--quiet", remote];
        args.extend_from_slice(refspecs);
        git_cli(&self.dir, &args)
    }

    /// Makes sure all history and tags are present. A shallow clone is
    /// deepened from `origin` when `allow_deepen`, and is a usage error
    /// otherwise, because versions and changelogs computed from a truncated
    /// history are silently wrong.
    pub fn ensure_full_history(&self, allow_deepen: bool) -> Result<()> {
        if !self.is_shallow() {
            return Ok(());
        }
        if !allow_deepen {
            return Err(Error::usage(
                "this is a shallow clone (fetch-depth: 1): set `fetch-depth: 0` on actions/checkout, \
                 or allow shipgate to fetch the full history",
            ));
        }
        // A partial clone (`--filter=blob:none`) keeps its filter on this
        // fetch through `remote.origin.partialclonefilter`, so blobs are still
        // fetched lazily; only commits and tags arrive now.
        git_cli(&self.dir, &["fetch", "--quiet", "--unshallow", "--tags", "origin"])?;
        if self.repo.is_shallow() {
            return Err(Error::external(
                "`git fetch --unshallow` finished but the clone is still shallow",
            ));
        }
        Ok(())
    }
}

/// Runs `git args...` in `repo_dir` and captures its output.
///
/// Prompts are disabled (a CI job must fail, not hang), and messages are
/// forced to English so the error line is predictable. A failure becomes
/// [`Error::external`] carrying git's last meaningful stderr line, with
/// credentials stripped from any URL and registered secrets redacted.
pub fn git_cli(repo_dir: &Path, args: &[&str]) -> Result<GitOutput> {
    git_cli_explained(repo_dir, args, |_| None)
}

/// [`git_cli`] where `explain` may find a better reason than the last
/// stderr line in the captured output of a failed run.
fn git_cli_explained(
    repo_dir: &Path,
    args: &[&str],
    explain: impl Fn(&GitOutput) -> Option<String>,
) -> Result<GitOutput> {
    let subcommand = args.first().copied().unwrap_or("git");
    let output = Command::new("git")
        .args(args)
        .current_dir(repo_dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .output()
        .map_err(|err| {
            Error::usage(format!(
                "cannot run `git {subcommand}`: {err}; is git installed and on PATH?"
            ))
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if output.status.success() {
        return Ok(GitOutput { stdout, stderr });
    }
    let captured = GitOutput { stdout, stderr };
    let reason = explain(&captured)
        .or_else(|| last_meaningful_line(&captured.stderr))
        .or_else(|| last_meaningful_line(&captured.stdout))
        .unwrap_or_else(|| match output.status.code() {
            Some(code) => format!("exited with status {code}"),
            None => "killed by a signal".to_owned(),
        });
    Err(Error::external(format!(
        "git {subcommand} failed: {}",
        clean_message(&reason)
    )))
}

/// `--porcelain` lists each rejected ref on stdout as
/// `!<TAB>from:to<TAB>[rejected] (reason)`, which says more than stderr's
/// closing "failed to push some refs".
fn rejected_refs(output: &GitOutput) -> Option<String> {
    let rejected: Vec<String> = output
        .stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.strip_prefix('!')?.trim_start().split('\t');
            let refspec = fields.next()?;
            let summary = fields.next().unwrap_or("rejected").trim();
            let destination = refspec.rsplit(':').next().unwrap_or(refspec);
            Some(format!("{destination} {summary}"))
        })
        .collect();
    (!rejected.is_empty()).then(|| rejected.join("; "))
}

/// git ends with the real cause (`fatal:`/`error:`), often followed by
/// `hint:` lines; prefer the last fatal/error line, else the last non-hint.
fn last_meaningful_line(text: &str) -> Option<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("hint:"))
        .collect();
    lines
        .iter()
        .rev()
        .find(|line| line.starts_with("fatal:") || line.starts_with("error:"))
        .or_else(|| lines.last())
        .map(|line| line.to_string())
}

/// Remotes configured with tokens must never leak into messages.
fn clean_message(text: &str) -> String {
    redact(&crate::url_redaction::redact_in_text(text)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipgate_testkit::git::{BareRemote, GitFixture};

    fn oid(sha: &str) -> Oid {
        Oid::from_str(sha).unwrap()
    }

    /// main: A - B - M(merge of feature: C - D) - E, tags v0.1.0 (light, A),
    /// v0.2.0 (annotated, M).
    struct History {
        fixture: GitFixture,
        a: String,
        b: String,
        c: String,
        d: String,
        merge: String,
        e: String,
    }

    fn history() -> History {
        let fixture = GitFixture::new();
        let a = fixture.commit("feat: initial");
        fixture.tag("v0.1.0");
        let b = fixture.commit("fix: early bug");
        fixture.branch("feature");
        fixture.checkout("feature");
        let c = fixture.commit("feat(api): add endpoint");
        let d = fixture.commit("test: cover endpoint");
        fixture.checkout("main");
        let merge = fixture.merge_no_ff("feature", "Merge branch 'feature'");
        fixture.tag_annotated("v0.2.0", "Release 0.2.0\n\nNotes here.");
        let e = fixture.commit("chore: bump");
        History {
            fixture,
            a,
            b,
            c,
            d,
            merge,
            e,
        }
    }

    #[test]
    fn reads_head_and_resolves_revisions() {
        let h = history();
        let repo = Repo::discover(h.fixture.path().join("changes")).unwrap();
        assert_eq!(repo.head_branch().unwrap().as_deref(), Some("main"));
        assert_eq!(repo.head_commit().unwrap(), oid(&h.e));
        assert_eq!(repo.resolve("v0.2.0").unwrap(), oid(&h.merge));
        assert_eq!(repo.resolve("HEAD~1").unwrap(), oid(&h.merge));
        assert_eq!(repo.resolve("feature").unwrap(), oid(&h.d));
        let err = repo.resolve("no-such-branch").unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::Usage);
        assert!(err.to_string().contains("`no-such-branch`"), "{err}");
        assert!(!repo.is_shallow());
        assert!(repo.status_clean().unwrap());

        h.fixture.checkout(&h.b);
        assert_eq!(repo.head_branch().unwrap(), None, "detached HEAD");
    }

    #[test]
    fn discover_outside_a_repository_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Repo::discover(dir.path()).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::Usage);
    }

    #[test]
    fn commits_between_walks_topologically_newest_first() {
        let h = history();
        let repo = Repo::discover(h.fixture.path()).unwrap();
        let commits: Vec<CommitInfo> = repo
            .commits_between(Some(oid(&h.a)), oid(&h.e))
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        let ids: Vec<String> = commits.iter().map(|c| c.id.to_string()).collect();
        assert_eq!(ids[0], h.e);
        assert_eq!(ids[1], h.merge);
        assert_eq!(ids.len(), 5);
        let position = |sha: &str| ids.iter().position(|id| id == sha).unwrap();
        assert!(position(&h.d) < position(&h.c), "children before parents");
        assert!(position(&h.merge) < position(&h.b));
        assert!(!ids.contains(&h.a), "the lower bound is exclusive");

        let merge = &commits[1];
        assert_eq!(merge.parent_count, 2);
        assert_eq!(merge.summary, "Merge branch 'feature'");
        assert!(merge.message_is_utf8);
        assert_eq!(commits[0].author_name, "Shipgate Tester");
        assert_eq!(commits[0].author_email, "tester@shipgate.invalid");
        // Step 7 of the script: 2024-01-14T10:07:00Z.
        assert_eq!(commits[0].author_time, 1_705_226_400 + 7 * 60);
        assert_eq!(commits[0].committer_time, commits[0].author_time);

        let all = repo.commits_between(None, oid(&h.e)).unwrap().count();
        assert_eq!(all, 6);
    }

    #[test]
    fn non_utf8_messages_are_decoded_lossily_and_flagged() {
        let fixture = GitFixture::new();
        fixture.commit("feat: first");
        let repo = Repo::discover(fixture.path()).unwrap();
        let git = repo.git2();
        let parent = git.find_commit(repo.head_commit().unwrap()).unwrap();
        let signature = git2::Signature::now("Latin One", "l1@example.com").unwrap();
        let message = b"fix: caf\xe9 encoding\n";
        let buffer = git
            .commit_create_buffer(
                &signature,
                &signature,
                &String::from_utf8_lossy(message),
                &parent.tree().unwrap(),
                &[&parent],
            )
            .unwrap();
        // Swap in the raw Latin-1 message libgit2 would refuse as &str.
        let mut raw = buffer.to_vec();
        let text_start = raw.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
        raw.truncate(text_start);
        raw.extend_from_slice(message);
        let id = git.odb().unwrap().write(git2::ObjectType::Commit, &raw).unwrap();

        let commits: Vec<CommitInfo> = repo
            .commits_between(Some(parent.id()), id)
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(commits.len(), 1);
        assert!(!commits[0].message_is_utf8);
        assert_eq!(commits[0].summary, "fix: caf\u{fffd} encoding");
    }

    #[test]
    fn tags_are_peeled_and_sorted() {
        let h = history();
        let repo = Repo::discover(h.fixture.path()).unwrap();
        let tags = repo.tags().unwrap();
        assert_eq!(
            tags,
            vec![
                TagRef {
                    name: "v0.1.0".into(),
                    target: oid(&h.a),
                    annotated: false,
                    message: None,
                },
                TagRef {
                    name: "v0.2.0".into(),
                    target: oid(&h.merge),
                    annotated: true,
                    message: Some("Release 0.2.0\n\nNotes here.\n".into()),
                },
            ]
        );
    }

    #[test]
    fn thousands_of_tags_are_listed_quickly() {
        let fixture = GitFixture::new();
        let head = fixture.commit("feat: one");
        let mut script = String::new();
        for i in 0..3000 {
            script.push_str(&format!("create refs/tags/v1.{}.{} {head}\n", i / 100, i % 100));
        }
        let mut child = Command::new("git")
            .args(["update-ref", "--stdin"])
            .current_dir(fixture.path())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success());
        fixture.run_git(&["pack-refs", "--all"]);
        fixture.tag_annotated("v9.0.0", "loose annotated tag");

        let repo = Repo::discover(fixture.path()).unwrap();
        let started = std::time::Instant::now();
        let tags = repo.tags().unwrap();
        let elapsed = started.elapsed();
        assert_eq!(tags.len(), 3001);
        assert!(tags.iter().all(|tag| tag.target == oid(&head)));
        assert_eq!(tags.last().unwrap().name, "v9.0.0");
        assert!(elapsed < std::time::Duration::from_secs(3), "took {elapsed:?}");
    }

    #[test]
    fn ancestry_and_merge_base() {
        let h = history();
        let repo = Repo::discover(h.fixture.path()).unwrap();
        assert!(repo.is_ancestor(oid(&h.a), oid(&h.e)).unwrap());
        assert!(repo.is_ancestor(oid(&h.c), oid(&h.merge)).unwrap());
        assert!(repo.is_ancestor(oid(&h.e), oid(&h.e)).unwrap());
        assert!(!repo.is_ancestor(oid(&h.e), oid(&h.a)).unwrap());
        assert_eq!(repo.merge_base(oid(&h.d), oid(&h.b)).unwrap(), Some(oid(&h.b)));

        h.fixture.run_git(&["checkout", "--quiet", "--orphan", "unrelated"]);
        let lonely = h.fixture.commit("unrelated root");
        assert_eq!(repo.merge_base(oid(&lonely), oid(&h.e)).unwrap(), None);
    }

    #[test]
    fn creates_annotated_tags_and_branches() {
        let h = history();
        let repo = Repo::discover(h.fixture.path()).unwrap();
        let tag_oid = repo
            .create_annotated_tag("v0.3.0", oid(&h.e), "Release 0.3.0", false)
            .unwrap();
        assert_eq!(h.fixture.run_git(&["cat-file", "-t", &tag_oid.to_string()]), "tag\n");
        assert_eq!(h.fixture.rev_parse("v0.3.0"), h.e);
        let shown = h
            .fixture
            .run_git(&["tag", "-l", "--format=%(contents)%(taggername)", "v0.3.0"]);
        assert_eq!(shown, "Release 0.3.0\nShipgate Tester\n");

        let err = repo
            .create_annotated_tag("v0.2.0", oid(&h.e), "again", false)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("tag `v0.2.0` already exists at {}", &h.merge[..7])
        );

        repo.create_branch("release/0.3", oid(&h.b)).unwrap();
        assert_eq!(h.fixture.rev_parse("release/0.3"), h.b);
        let err = repo.create_branch("release/0.3", oid(&h.b)).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
    }

    #[test]
    fn status_tracks_modified_files_only() {
        let fixture = GitFixture::new();
        fixture.commit_file("Cargo.toml", "[package]\n", "chore: init");
        let repo = Repo::discover(fixture.path()).unwrap();
        fixture.write_file("notes.txt", "untracked");
        assert!(repo.status_clean().unwrap());
        fixture.write_file("Cargo.toml", "[package]\nname = \"x\"\n");
        assert!(!repo.status_clean().unwrap());
    }

    #[test]
    fn pushes_and_fetches_through_the_cli() {
        let h = history();
        let remote = h.fixture.bare_remote();
        let repo = Repo::discover(h.fixture.path()).unwrap();
        repo.create_annotated_tag("v0.3.0", oid(&h.e), "Release 0.3.0", false)
            .unwrap();

        repo.push(
            "origin",
            &["refs/tags/v0.3.0"],
            PushOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(remote.resolve("refs/tags/v0.3.0"), None, "dry run changes nothing");

        let output = repo
            .push("origin", &["refs/tags/v0.3.0"], PushOptions::default())
            .unwrap();
        assert!(output.stdout.contains("refs/tags/v0.3.0"), "{output:?}");
        assert_eq!(remote.resolve("refs/tags/v0.3.0"), Some(h.e.clone()));

        // Someone else pushes to main; a plain push of our rewritten main is
        // rejected, and the message is git's reason.
        let other = GitFixture::clone_of(&remote);
        let theirs = other.commit("feat: from elsewhere");
        other.run_git(&["push", "--quiet", "origin", "main"]);
        h.fixture.commit("feat: ours");
        let err = repo
            .push("origin", &["refs/heads/main"], PushOptions::default())
            .unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::External);
        assert_eq!(
            err.to_string(),
            "git push failed: refs/heads/main [rejected] (fetch first)"
        );

        // After fetching, the lease matches the remote and the force push wins.
        repo.fetch("origin", &["+refs/heads/main:refs/remotes/origin/main"])
            .unwrap();
        assert_eq!(repo.resolve("origin/main").unwrap(), oid(&theirs));
        repo.push(
            "origin",
            &["+refs/heads/main"],
            PushOptions {
                force_with_lease: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(remote.resolve("refs/heads/main"), Some(h.fixture.head()));
    }

    #[test]
    fn remote_tags_are_read_with_ls_remote() {
        let h = history();
        let remote = h.fixture.bare_remote();
        let repo = Repo::discover(h.fixture.path()).unwrap();
        let local = repo
            .create_annotated_tag("v0.3.0", oid(&h.e), "Release 0.3.0", false)
            .unwrap();
        assert_eq!(repo.remote_tag("origin", "v0.3.0").unwrap(), None);
        repo.push("origin", &["refs/tags/v0.3.0"], PushOptions::default())
            .unwrap();
        assert_eq!(repo.remote_tag("origin", "v0.3.0").unwrap(), Some(local));
        // `v0.3` is not `v0.3.0`: names match exactly, not by prefix.
        assert_eq!(repo.remote_tag("origin", "v0.3").unwrap(), None);
        h.fixture
            .run_git(&["remote", "set-url", "origin", &format!("{}-gone", remote.url())]);
        let err = repo.remote_tag("origin", "v0.3.0").unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::External, "{err}");
    }

    #[test]
    fn messages_are_decoded_in_their_declared_encoding() {
        let latin1 = b"feat: caf\xe9 \x80";
        assert_eq!(decode_message(latin1, Some("ISO-8859-1")), "feat: café \u{80}");
        assert_eq!(decode_message(latin1, Some("latin1")), "feat: café \u{80}");
        // windows-1252 differs from Latin-1 exactly in 0x80-0x9F.
        assert_eq!(decode_message(latin1, Some("windows-1252")), "feat: café €");
        assert_eq!(decode_message(b"fix: \x81\x40", Some("Shift_JIS")), "fix: \u{3000}");
        assert_eq!(decode_message("feat: café".as_bytes(), None), "feat: café");
        assert_eq!(decode_message("feat: café".as_bytes(), Some("UTF-8")), "feat: café");
        assert_eq!(decode_message(latin1, None), "feat: caf\u{fffd} \u{fffd}");
        assert_eq!(
            decode_message(latin1, Some("no-such-encoding")),
            "feat: caf\u{fffd} \u{fffd}"
        );
    }

    #[test]
    fn fetch_failures_never_show_credentials() {
        let fixture = GitFixture::new();
        fixture.commit("feat: one");
        let repo = Repo::discover(fixture.path()).unwrap();
        let err = repo
            .fetch(
                "https://x-access-token:ghs_supersecret123@127.0.0.1:1/o/r.git",
                &["main"],
            )
            .unwrap_err();
        let message = err.to_string();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::External);
        assert!(
            message.starts_with("git fetch failed: fatal: unable to access 'https://127.0.0.1:1/o/r.git/'"),
            "{message}"
        );
        assert!(!message.contains("ghs_supersecret123"), "{message}");
        assert!(!message.contains("x-access-token"), "{message}");
    }

    #[test]
    fn the_last_meaningful_line_skips_hints() {
        let stderr = "To /tmp/remote\n ! [rejected]        main -> main (fetch first)\n\
                      error: failed to push some refs to '/tmp/remote'\n\
                      hint: Updates were rejected because the remote contains work\n\
                      hint: (e.g., 'git pull ...') before pushing again.\n";
        assert_eq!(
            last_meaningful_line(stderr).as_deref(),
            Some("error: failed to push some refs to '/tmp/remote'")
        );
        assert_eq!(last_meaningful_line("\n\n"), None);
    }

    #[test]
    fn shallow_clones_are_detected_and_deepened() {
        let h = history();
        let shallow = GitFixture::shallow_clone_of(&h.fixture, 1);
        let repo = Repo::discover(shallow.path()).unwrap();
        assert!(repo.is_shallow());
        assert_eq!(
            repo.commits_between(None, oid(&h.e)).unwrap().count(),
            1,
            "history is cut at depth 1"
        );

        let err = repo.ensure_full_history(false).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::Usage);
        assert!(err.to_string().contains("fetch-depth: 0"), "{err}");

        repo.ensure_full_history(true).unwrap();
        assert!(!repo.is_shallow());
        let reopened = Repo::discover(shallow.path()).unwrap();
        assert!(!reopened.is_shallow());
        assert_eq!(reopened.commits_between(None, oid(&h.e)).unwrap().count(), 6);
        let names: Vec<String> = reopened.tags().unwrap().into_iter().map(|t| t.name).collect();
        assert_eq!(names, vec!["v0.1.0", "v0.2.0"]);
        repo.ensure_full_history(false).unwrap();
    }

    #[test]
    fn a_missing_remote_is_an_external_error() {
        let fixture = GitFixture::new();
        fixture.commit("one");
        let repo = Repo::discover(fixture.path()).unwrap();
        let gone = BareRemote::new();
        let url = gone.url();
        drop(gone);
        let err = repo
            .push(&url, &["refs/heads/main"], PushOptions::default())
            .unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::External);
        assert!(err.to_string().contains("git push failed:"), "{err}");
    }
}
