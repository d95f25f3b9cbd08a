//! The `GITHUB_*` variables describing the run ([`Context`]), with
//! GitHub.com's defaults for the server and API URLs.

use super::runtime::Runtime;

/// The `GITHUB_*` variables describing the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// `owner/name`.
    pub repository: Option<String>,
    /// `GITHUB_SHA`: the commit the workflow runs on.
    pub sha: Option<String>,
    /// Full ref, e.g. `refs/heads/main`.
    pub git_ref: Option<String>,
    /// Short ref name, e.g. `main` or `42/merge`.
    pub ref_name: Option<String>,
    /// `GITHUB_ACTOR`: the login of the user or app that started the run.
    pub actor: Option<String>,
    /// `GITHUB_RUN_ID`: the run's unique id, as in its URL.
    pub run_id: Option<String>,
    /// Defaults to `https://github.com`.
    pub server_url: String,
    /// Defaults to `https://api.github.com`.
    pub api_url: String,
}

impl Context {
    /// Reads the context from `runtime`'s variables.
    pub fn from_runtime(runtime: &Runtime) -> Self {
        let owned = |name: &str| runtime.var(name).map(str::to_owned);
        Context {
            repository: owned("GITHUB_REPOSITORY"),
            sha: owned("GITHUB_SHA"),
            git_ref: owned("GITHUB_REF"),
            ref_name: owned("GITHUB_REF_NAME"),
            actor: owned("GITHUB_ACTOR"),
            run_id: owned("GITHUB_RUN_ID"),
            server_url: owned("GITHUB_SERVER_URL")
                .map(|url| url.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| "https://github.com".to_owned()),
            api_url: owned("GITHUB_API_URL")
                .map(|url| url.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| "https://api.github.com".to_owned()),
        }
    }

    /// The link to this workflow run, when repository and run id are known.
    pub fn run_url(&self) -> Option<String> {
        Some(format!(
            "{}/{}/actions/runs/{}",
            self.server_url,
            self.repository.as_deref()?,
            self.run_id.as_deref()?
        ))
    }

    /// `(owner, name)` from `GITHUB_REPOSITORY`.
    pub fn owner_and_repo(&self) -> Option<(&str, &str)> {
        self.repository.as_deref()?.split_once('/')
    }
}

// Here rather than in `runtime`, so that `runtime` does not depend on
// `context`: the context is read from a runtime, never the other way round.
impl Runtime {
    /// The workflow run's context variables.
    pub fn context(&self) -> Context {
        Context::from_runtime(self)
    }
}
