//! The GitHub endpoints branch-guard calls (pulls, reviews, check runs,
//! commit statuses, branch protection), typed down to the fields it reads.
//!
//! Only `pr`, `gate` and `protect` use this; they build a small tokio
//! runtime for it, so `message`, `commits` and `pre-push` never start one.

use http::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use shipgate_core::actions::Runtime;
use shipgate_core::exit::{Error, Result};
use shipgate_core::github::{GitHubClient, GitHubSettings};
use shipgate_core::url_redaction::encode_component;

/// Items per page for list endpoints (GitHub's maximum).
const PER_PAGE: usize = 100;
/// Lists longer than this are cut: no real pull request has 1,000 reviews.
const MAX_PAGES: usize = 10;

/// A user as GitHub embeds it.
#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    pub login: String,
}

/// One end of a pull request.
#[derive(Debug, Clone, Deserialize)]
pub struct PullEnd {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub sha: String,
}

/// A pull request, as `GET /repos/{o}/{r}/pulls[/{n}]` answer it.
#[derive(Debug, Clone, Deserialize)]
pub struct Pull {
    pub number: u64,
    pub state: String,
    pub title: String,
    pub user: Option<Login>,
    pub head: PullEnd,
    pub base: PullEnd,
}

/// A pull request review.
#[derive(Debug, Clone, Deserialize)]
pub struct Review {
    pub id: u64,
    pub user: Option<Login>,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`, `PENDING`.
    pub state: String,
    #[serde(default)]
    pub submitted_at: Option<String>,
}

/// A check run on a commit.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckRun {
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CheckRuns {
    total_count: usize,
    check_runs: Vec<CheckRun>,
}

/// A commit status (the older API some CI systems still use).
#[derive(Debug, Clone, Deserialize)]
pub struct Status {
    pub context: String,
    pub state: String,
}

#[derive(Debug, Deserialize)]
struct CombinedStatus {
    statuses: Vec<Status>,
}

/// One repository's API.
#[derive(Debug)]
pub struct RepoApi {
    client: GitHubClient,
    owner: String,
    repo: String,
}

impl RepoApi {
    pub fn new(client: GitHubClient, owner: &str, repo: &str) -> Self {
        RepoApi {
            client,
            owner: owner.to_string(),
            repo: repo.to_string(),
        }
    }

    /// From the environment: `GITHUB_API_URL`, a token, and `repository`
    /// (`owner/name`, else `GITHUB_REPOSITORY`). Must run inside a tokio runtime.
    pub fn from_runtime(runtime: &Runtime, repository: Option<&str>) -> Result<Self> {
        let context = runtime.context();
        let full_name = repository.or(context.repository.as_deref()).ok_or_else(|| {
            Error::usage("no repository: pass --repo OWNER/NAME or run in GitHub Actions (GITHUB_REPOSITORY)")
        })?;
        let (owner, repo) = full_name
            .split_once('/')
            .filter(|(owner, repo)| !owner.is_empty() && !repo.is_empty() && !repo.contains('/'))
            .ok_or_else(|| Error::usage(format!("`{full_name}` is not OWNER/NAME")))?;
        let settings = GitHubSettings::from_runtime(runtime, None);
        if settings.token.is_none() {
            return Err(Error::usage(
                "no GitHub token: set GITHUB_TOKEN (in Actions: `token: ${{ github.token }}`)",
            ));
        }
        Ok(RepoApi::new(GitHubClient::new(settings)?, owner, repo))
    }

    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    fn path(&self, rest: &str) -> String {
        format!(
            "/repos/{}/{}{rest}",
            encode_component(&self.owner),
            encode_component(&self.repo)
        )
    }

    async fn get<T: DeserializeOwned>(&self, rest: &str) -> Result<T> {
        self.client.request_json(Method::GET, &self.path(rest), None).await
    }

    /// Every page of a list endpoint (`rest` already has a `?`).
    async fn get_all<T: DeserializeOwned>(&self, rest: &str) -> Result<Vec<T>> {
        let mut items = Vec::new();
        for page in 1..=MAX_PAGES {
            let batch: Vec<T> = self.get(&format!("{rest}&per_page={PER_PAGE}&page={page}")).await?;
            let done = batch.len() < PER_PAGE;
            items.extend(batch);
            if done {
                break;
            }
        }
        Ok(items)
    }

    /// `GET /repos/{o}/{r}/pulls/{n}`.
    pub async fn pull(&self, number: u64) -> Result<Pull> {
        self.get(&format!("/pulls/{number}")).await
    }

    /// Pull requests (open and closed) from branch `head` of this repository into `base`.
    pub async fn pulls_between(&self, head: &str, base: &str) -> Result<Vec<Pull>> {
        let head = encode_component(&format!("{}:{head}", self.owner));
        self.get_all(&format!("/pulls?state=all&head={head}&base={}", encode_component(base)))
            .await
    }

    /// `GET /repos/{o}/{r}/pulls/{n}/reviews`, oldest first.
    pub async fn reviews(&self, number: u64) -> Result<Vec<Review>> {
        self.get_all(&format!("/pulls/{number}/reviews?")).await
    }

    /// Check runs on `sha` (the newest per name).
    pub async fn check_runs(&self, sha: &str) -> Result<Vec<CheckRun>> {
        let mut runs = Vec::new();
        for page in 1..=MAX_PAGES {
            let batch: CheckRuns = self
                .get(&format!(
                    "/commits/{}/check-runs?filter=latest&per_page={PER_PAGE}&page={page}",
                    encode_component(sha)
                ))
                .await?;
            let count = batch.check_runs.len();
            runs.extend(batch.check_runs);
            if count < PER_PAGE || runs.len() >= batch.total_count {
                break;
            }
        }
        Ok(runs)
    }

    /// Commit statuses on `sha` (the newest per context).
    pub async fn statuses(&self, sha: &str) -> Result<Vec<Status>> {
        let combined: CombinedStatus = self
            .get(&format!(
                "/commits/{}/status?per_page={PER_PAGE}",
                encode_component(sha)
            ))
            .await?;
        Ok(combined.statuses)
    }

    /// `GET .../branches/{b}/protection`: `None` when the branch is not protected.
    pub async fn protection(&self, branch: &str) -> Result<Option<serde_json::Value>> {
        let path = self.path(&format!("/branches/{}/protection", encode_component(branch)));
        let shown = format!("GET {path}");
        let response = self.client.request(Method::GET, &path, None).await?;
        match response.status {
            status if status.is_success() => serde_json::from_slice(&response.body)
                .map(Some)
                .map_err(|e| Error::external_with(format!("{shown}: unexpected answer"), e)),
            StatusCode::NOT_FOUND if response.github_message().is_some_and(|m| m.contains("not protected")) => Ok(None),
            _ => Err(protection_error(&response, &shown, &self.full_name())),
        }
    }

    /// `PUT .../branches/{b}/protection` with a full body.
    pub async fn put_protection(&self, branch: &str, body: &serde_json::Value) -> Result<()> {
        let path = self.path(&format!("/branches/{}/protection", encode_component(branch)));
        let shown = format!("PUT {path}");
        let response = self.client.request(Method::PUT, &path, Some(body)).await?;
        if response.status.is_success() {
            Ok(())
        } else {
            Err(protection_error(&response, &shown, &self.full_name()))
        }
    }
}

/// Branch protection failures in words people can act on.
fn protection_error(response: &shipgate_core::github::ApiResponse, shown: &str, repo: &str) -> Error {
    let said = response.github_message().unwrap_or_default();
    match response.status.as_u16() {
        403 if said.contains("Upgrade to GitHub Pro") || said.contains("make this repository public") => {
            Error::usage(format!(
                "branch protection is not available for {repo} on its plan (GitHub said: {said}); make the repository public or upgrade the plan"
            ))
        }
        403 | 404 => Error::usage(format!(
            "{shown}: the token cannot administer {repo} ({}{}); branch protection needs a token with admin rights (a fine-grained token with \"Administration: write\", or a classic token with `repo`) — the workflow's GITHUB_TOKEN never has them",
            response.status.as_u16(),
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        )),
        _ => response.to_error(shown),
    }
}

/// Runs `future` on a current-thread tokio runtime.
pub fn block_on<T>(future: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::external_with("cannot start the async runtime", e))?
        .block_on(future)
}
