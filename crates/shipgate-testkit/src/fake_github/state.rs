//! What the fake GitHub knows: repositories and their resources, accepted
//! tokens, queued faults and the request log. Tests seed and inspect it
//! through [`super::FakeGitHub::state`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::actions::Approval;
use super::checks::{CheckRun, CommitStatus};
use super::deployments::Deployment;
use super::issues::{CommitComment, IssueComment};
use super::protection::BranchProtection;
use super::pulls::{PullRequest, PullState, Review};
use super::releases::Release;

/// A failure the fake serves instead of the real answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A bare status with GitHub's generic error body (e.g. 502 "Server Error").
    Status(u16),
    /// 403 "You have exceeded a secondary rate limit" with `retry-after`.
    SecondaryRateLimit {
        /// Value of the `retry-after` header, in seconds.
        retry_after_secs: u64,
    },
    /// 403 "API rate limit exceeded" with `x-ratelimit-remaining: 0` and a reset time.
    PrimaryRateLimit {
        /// Seconds from now until `x-ratelimit-reset`.
        reset_in_secs: u64,
    },
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Upper-case HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Header names are lower-case.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, when it is JSON.
    pub body: Option<serde_json::Value>,
    /// The status the fake answered with.
    pub status: u16,
}

impl RecordedRequest {
    /// The first value of a header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// One repository and everything stored under it.
#[derive(Debug, Clone)]
pub struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub private: bool,
    pub default_branch: String,
    /// Branch name to head commit SHA; used to resolve refs in commit endpoints.
    pub branches: BTreeMap<String, String>,
    pub releases: Vec<Release>,
    pub pulls: Vec<PullRequest>,
    /// Issue numbers that exist besides pull requests (they share numbering).
    pub issues: BTreeSet<u64>,
    pub comments: Vec<IssueComment>,
    pub check_runs: Vec<CheckRun>,
    pub statuses: Vec<CommitStatus>,
    /// Branch name to its protection, as last PUT.
    pub protections: BTreeMap<String, BranchProtection>,
    /// Workflow run id to the deployment reviews given for it.
    pub run_approvals: BTreeMap<u64, Vec<Approval>>,
    pub deployments: Vec<Deployment>,
    pub commit_comments: Vec<CommitComment>,
    pub(crate) next_number: u64,
}

impl Repo {
    /// `owner/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// The SHA a ref names: a branch's head, else the ref itself (taken as a SHA).
    pub fn resolve_ref(&self, git_ref: &str) -> String {
        let branch = git_ref
            .strip_prefix("refs/heads/")
            .or_else(|| git_ref.strip_prefix("heads/"))
            .unwrap_or(git_ref);
        self.branches
            .get(branch)
            .cloned()
            .unwrap_or_else(|| git_ref.to_string())
    }

    /// The pull request with this number.
    pub fn pull(&self, number: u64) -> Option<&PullRequest> {
        self.pulls.iter().find(|pull| pull.number == number)
    }

    /// The pull request with this number, mutable.
    pub fn pull_mut(&mut self, number: u64) -> Option<&mut PullRequest> {
        self.pulls.iter_mut().find(|pull| pull.number == number)
    }

    /// The release with this tag.
    pub fn release_by_tag(&self, tag: &str) -> Option<&Release> {
        self.releases.iter().find(|release| release.tag_name == tag)
    }

    pub(crate) fn take_number(&mut self) -> u64 {
        self.next_number += 1;
        self.next_number
    }
}

/// The whole fake: seed it before running the code under test, inspect it after.
#[derive(Debug)]
pub struct State {
    /// Accepted tokens and the login each one authenticates as.
    pub tokens: BTreeMap<String, String>,
    /// Keyed by `owner/name`, lower-case (GitHub names are case-insensitive).
    pub repos: BTreeMap<String, Repo>,
    pub(crate) faults: Vec<(String, VecDeque<Fault>)>,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) api_url: String,
    next_id: u64,
    clock: u64,
}

impl State {
    pub(crate) fn new(api_url: String) -> State {
        State {
            tokens: BTreeMap::new(),
            repos: BTreeMap::new(),
            faults: Vec::new(),
            requests: Vec::new(),
            api_url,
            next_id: 1000,
            clock: 0,
        }
    }

    /// Accepts `token` as authenticating `login`.
    pub fn add_token(&mut self, token: &str, login: &str) {
        self.tokens.insert(token.to_string(), login.to_string());
    }

    /// Creates (or replaces) a public repository whose default branch `main`
    /// points at a fake SHA.
    pub fn add_repo(&mut self, owner: &str, name: &str) -> &mut Repo {
        let id = self.next_id();
        let mut branches = BTreeMap::new();
        branches.insert("main".to_string(), fake_sha(&format!("{owner}/{name}@main")));
        let repo = Repo {
            id,
            owner: owner.to_string(),
            name: name.to_string(),
            private: false,
            default_branch: "main".to_string(),
            branches,
            releases: Vec::new(),
            pulls: Vec::new(),
            issues: BTreeSet::new(),
            comments: Vec::new(),
            check_runs: Vec::new(),
            statuses: Vec::new(),
            protections: BTreeMap::new(),
            run_approvals: BTreeMap::new(),
            deployments: Vec::new(),
            commit_comments: Vec::new(),
            next_number: 0,
        };
        let key = repo_key(owner, name);
        self.repos.insert(key.clone(), repo);
        self.repos.get_mut(&key).expect("just inserted")
    }

    /// A repository, if it exists.
    pub fn repo(&self, owner: &str, name: &str) -> Option<&Repo> {
        self.repos.get(&repo_key(owner, name))
    }

    /// A repository, mutable. Panics if it was never added: seeding a missing
    /// repository is a bug in the test.
    pub fn repo_mut(&mut self, owner: &str, name: &str) -> &mut Repo {
        self.repos
            .get_mut(&repo_key(owner, name))
            .unwrap_or_else(|| panic!("fake GitHub has no repository {owner}/{name}"))
    }

    /// Serves `statuses` (e.g. `[502, 502]`) to the next requests whose path
    /// starts with `path_prefix`, one per request, before answering normally.
    pub fn fail_next(&mut self, path_prefix: &str, statuses: Vec<u16>) {
        self.queue_faults(path_prefix, statuses.into_iter().map(Fault::Status));
    }

    /// Answers the next `times` matching requests with a secondary rate limit.
    pub fn secondary_rate_limit_next(&mut self, path_prefix: &str, times: usize, retry_after_secs: u64) {
        self.queue_faults(
            path_prefix,
            std::iter::repeat_n(Fault::SecondaryRateLimit { retry_after_secs }, times),
        );
    }

    /// Queues arbitrary faults for matching requests.
    pub fn queue_faults(&mut self, path_prefix: &str, faults: impl IntoIterator<Item = Fault>) {
        match self.faults.iter_mut().find(|(prefix, _)| prefix == path_prefix) {
            Some((_, queue)) => queue.extend(faults),
            None => self
                .faults
                .push((path_prefix.to_string(), faults.into_iter().collect())),
        }
    }

    /// Every request received so far, faulted ones included.
    pub fn requests(&self) -> &[RecordedRequest] {
        &self.requests
    }

    /// Requests with this method whose path starts with `path_prefix`.
    pub fn requests_to(&self, method: &str, path_prefix: &str) -> Vec<RecordedRequest> {
        self.requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(path_prefix))
            .cloned()
            .collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&mut self) {
        self.requests.clear();
    }

    /// Seeds a published (or draft) release; returns its id.
    pub fn seed_release(&mut self, owner: &str, name: &str, tag: &str, draft: bool) -> u64 {
        let id = self.next_id();
        let now = self.now();
        let repo = self.repo_mut(owner, name);
        let target_commitish = repo.default_branch.clone();
        repo.releases.push(Release {
            id,
            tag_name: tag.to_string(),
            target_commitish,
            name: Some(tag.to_string()),
            body: None,
            draft,
            prerelease: false,
            author_login: "shipgate-bot".to_string(),
            created_at: now.clone(),
            published_at: (!draft).then_some(now),
            assets: Vec::new(),
        });
        id
    }

    /// Seeds an open pull request from `head` into `base`; returns its number.
    pub fn seed_pull(&mut self, owner: &str, name: &str, head: &str, base: &str, title: &str) -> u64 {
        let id = self.next_id();
        let now = self.now();
        let repo = self.repo_mut(owner, name);
        let number = repo.take_number();
        let head_sha = repo.resolve_ref(head);
        let head_sha = if head_sha == head { fake_sha(head) } else { head_sha };
        let base_sha = repo.resolve_ref(base);
        repo.pulls.push(PullRequest {
            id,
            number,
            title: title.to_string(),
            body: None,
            state: PullState::Open,
            draft: false,
            merged: false,
            head_ref: head.to_string(),
            head_sha,
            base_ref: base.to_string(),
            base_sha,
            author_login: "contributor".to_string(),
            created_at: now.clone(),
            updated_at: now,
            reviews: Vec::new(),
        });
        number
    }

    /// Seeds a review (`APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, ...) on a pull request.
    pub fn seed_review(&mut self, owner: &str, name: &str, number: u64, reviewer: &str, state: &str) -> u64 {
        let id = self.next_id();
        let now = self.now();
        let pull = self
            .repo_mut(owner, name)
            .pull_mut(number)
            .unwrap_or_else(|| panic!("fake GitHub has no pull request #{number}"));
        let commit_id = pull.head_sha.clone();
        pull.reviews.push(Review {
            id,
            user_login: reviewer.to_string(),
            state: state.to_string(),
            body: String::new(),
            commit_id,
            submitted_at: now,
        });
        id
    }

    /// Seeds a check run on a commit; `conclusion` is `None` unless completed.
    pub fn seed_check_run(
        &mut self,
        owner: &str,
        name: &str,
        head_sha: &str,
        check_name: &str,
        status: &str,
        conclusion: Option<&str>,
    ) -> u64 {
        let id = self.next_id();
        let now = self.now();
        self.repo_mut(owner, name).check_runs.push(CheckRun {
            id,
            head_sha: head_sha.to_string(),
            name: check_name.to_string(),
            status: status.to_string(),
            conclusion: conclusion.map(str::to_string),
            started_at: now.clone(),
            completed_at: (status == "completed").then_some(now),
        });
        id
    }

    /// Seeds a commit status (`error`, `failure`, `pending` or `success`).
    pub fn seed_status(&mut self, owner: &str, name: &str, sha: &str, context: &str, state: &str) -> u64 {
        let id = self.next_id();
        let now = self.now();
        self.repo_mut(owner, name).statuses.push(CommitStatus {
            id,
            sha: sha.to_string(),
            context: context.to_string(),
            state: state.to_string(),
            description: None,
            target_url: None,
            created_at: now,
        });
        id
    }

    /// Seeds a deployment review (`approved` or `rejected`) for a workflow run.
    pub fn seed_run_approval(
        &mut self,
        owner: &str,
        name: &str,
        run_id: u64,
        reviewer: &str,
        state: &str,
        environment: &str,
    ) {
        self.repo_mut(owner, name)
            .run_approvals
            .entry(run_id)
            .or_default()
            .push(Approval {
                user_login: reviewer.to_string(),
                state: state.to_string(),
                comment: String::new(),
                environments: vec![environment.to_string()],
            });
    }

    /// A fresh id, unique across resources.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A deterministic timestamp that advances one second per call.
    pub fn now(&mut self) -> String {
        self.clock += 1;
        let seconds = self.clock;
        format!(
            "2024-01-{:02}T{:02}:{:02}:{:02}Z",
            1 + (seconds / 86_400) % 28,
            (seconds / 3600) % 24,
            (seconds / 60) % 60,
            seconds % 60
        )
    }

    pub(crate) fn take_fault(&mut self, path: &str) -> Option<Fault> {
        self.faults
            .iter_mut()
            .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
            .find_map(|(_, queue)| queue.pop_front())
    }
}

pub(crate) fn repo_key(owner: &str, name: &str) -> String {
    format!("{owner}/{name}").to_ascii_lowercase()
}

/// A stable 40-hex-digit stand-in for a commit SHA.
pub fn fake_sha(seed: &str) -> String {
    use std::hash::{DefaultHasher, Hash as _, Hasher as _};
    (0..3u8)
        .map(|round| {
            let mut hasher = DefaultHasher::new();
            (round, seed).hash(&mut hasher);
            format!("{:016x}", hasher.finish())
        })
        .collect::<String>()[..40]
        .to_string()
}
