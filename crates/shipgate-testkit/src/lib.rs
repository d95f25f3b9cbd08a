//! Test harness shared by the shipgate crates.
//!
//! Everything here is real: PostgreSQL clusters ([`pg`]), Prometheus ([`prometheus`]), Prism serving
//! GitHub's OpenAPI description ([`prism`]), an in-memory GitHub
//! ([`fake_github`]), local HTTP servers ([`http`]) and git fixtures
//! ([`git`]), a throwaway certificate authority ([`tls`]), a pseudo-terminal ([`terminal`]), and workflows run under act ([`act`]). Servers bind 127.0.0.1 only, run on their own runtime in a
//! background thread (so plain `#[test]`s can use them) and stop on drop.
//! A missing external tool is an error naming its install step, never a skip.
//! [`cli`] runs the tool binaries isolated from the caller's environment
//! and reads their step outputs.

pub mod act;
pub mod cli;
pub mod demo_service;
pub mod fake_github;
pub mod git;
pub mod http;
pub mod mermaid;
pub mod pg;
pub mod planted;
pub mod prism;
pub mod prometheus;
mod server;
pub mod terminal;
pub mod tls;
pub mod tools;

pub use fake_github::FakeGitHub;
pub use http::{CannedResponse, ScriptedServer, StaticServer};
pub use pg::PgCluster;
pub use prism::{ContractSession, Prism};
pub use prometheus::Prometheus;
pub use tools::{find_tool, shipgate_bin, tools_dir, workspace_root};
