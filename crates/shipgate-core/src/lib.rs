//! What two or more shipgate tools share, and nothing else.
//!
//! Each module follows one concern; see ARCHITECTURE.md for the invariants
//! (for example: only [`actions`] writes GitHub Actions workflow commands).

#![warn(missing_docs)]

pub mod actions;
pub mod cli;
pub mod commit;
pub mod config;
pub mod exit;
pub mod git;
pub mod github;
pub mod http;
pub mod retry;
pub mod url_redaction;
