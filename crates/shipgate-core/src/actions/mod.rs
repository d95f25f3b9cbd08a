//! GitHub Actions runtime I/O.
//!
//! This is the only module in the workspace that writes workflow commands
//! (`::error::`, `::add-mask::`, ...) or the `GITHUB_OUTPUT` and
//! `GITHUB_STEP_SUMMARY` files, so escaping and secret redaction are done
//! once, here. Every text it writes passes through [`redact`].
//!
//! One concern per submodule, all re-exported here so callers write
//! `shipgate_core::actions::…` and nothing outside this module can reach
//! the writers another way: `redact` (the secret list), `secret` (a value
//! registered when created), `sink` (stdout and stderr, or a captured
//! buffer, and the mask announcements), `runtime` (outputs, summary, masks,
//! groups, annotations), `annotation`, `summary`, `context` (the
//! `GITHUB_*` variables) and `event` (the event payload).

mod annotation;
mod context;
mod event;
mod redact;
mod runtime;
mod secret;
mod sink;
mod summary;

pub use annotation::*;
pub use context::*;
pub use event::*;
pub use redact::*;
pub use runtime::*;
pub use secret::*;
pub use sink::*;
pub use summary::*;

#[cfg(test)]
mod tests;
