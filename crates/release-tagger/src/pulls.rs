//! The GitHub calls of `cut --pr` and `backmerge`, and the blocking bridge
//! every command uses: the CLI is synchronous and only these steps talk to
//! the network, so a current-thread runtime per call is all it needs.

use std::future::Future;

use http::Method;
use serde::Deserialize;
use serde_json::json;
use shipgate_core::actions::Runtime;
use shipgate_core::exit::{Error, Result};
use shipgate_core::github::{GitHubClient, GitHubSettings};
use shipgate_core::url_redaction::encode_component;

/// Runs `work` with a client built from the environment (and `token`).
pub fn with_client<T, F, Fut>(runtime: &Runtime, token: Option<String>, work: F) -> Result<T>
where
    F: FnOnce(GitHubClient) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let settings = GitHubSettings::from_runtime(runtime, token);
    if settings.token.is_none() {
        return Err(Error::usage(
            "this needs a GitHub token: set GITHUB_TOKEN (or GH_TOKEN) or pass --token",
        ));
    }
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::external_with("cannot start the async runtime", e))?;
    tokio.block_on(async {
        let client = GitHubClient::new(settings)?;
        work(client).await
    })
}

/// A pull request as GitHub returns it (the fields we use).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PullInfo {
    pub number: i64,
    pub html_url: String,
}

/// What to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestSpec {
    pub owner: String,
    pub repo: String,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
}

/// Opens the pull request, or returns the open one for the same head and
/// base: re-running never opens a second. The bool says whether it is new.
pub async fn open_pull(client: &GitHubClient, spec: &PullRequestSpec) -> Result<(PullInfo, bool)> {
    let base = format!(
        "/repos/{}/{}/pulls",
        encode_component(&spec.owner),
        encode_component(&spec.repo)
    );
    let existing: Vec<PullInfo> = client
        .request_json(Method::GET, &format!("{base}?{}", open_pulls_query(spec)), None)
        .await?;
    if let Some(pull) = existing.into_iter().next() {
        return Ok((pull, false));
    }
    let body = json!({
        "title": spec.title,
        "head": spec.head,
        "base": spec.base,
        "body": spec.body,
    });
    let pull = client.request_json(Method::POST, &base, Some(&body)).await?;
    Ok((pull, true))
}

/// The query that finds the open pull request from `owner:head` into
/// `base`; both are percent-encoded, so a branch name holding `#`, `&` or
/// `+` cannot cut the query short or add a parameter.
fn open_pulls_query(spec: &PullRequestSpec) -> String {
    format!(
        "state=open&head={}&base={}",
        encode_component(&format!("{}:{}", spec.owner, spec.head)),
        encode_component(&spec.base)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(head: &str, base: &str) -> PullRequestSpec {
        PullRequestSpec {
            owner: "acme".into(),
            repo: "app".into(),
            head: head.into(),
            base: base.into(),
            title: "t".into(),
            body: "b".into(),
        }
    }

    #[test]
    fn the_open_pull_query_encodes_branch_names() {
        assert_eq!(
            open_pulls_query(&spec("release/v1.2.0", "main")),
            "state=open&head=acme%3Arelease%2Fv1.2.0&base=main"
        );
        assert_eq!(
            open_pulls_query(&spec("fix/#12&c++", "develop")),
            "state=open&head=acme%3Afix%2F%2312%26c%2B%2B&base=develop"
        );
    }
}
