//! branch-guard: enforces the git flow: branch names, PR source and target,
//! commit messages, merge gates and branch protection.
//!
//! The binary in `main.rs` only parses arguments; everything it does lives here.

pub mod api;
pub mod branch;
pub mod check;
pub mod commands;
pub mod commits;
pub mod env;
pub mod gate;
pub mod hook;
pub mod lint;
pub mod message;
pub mod pr;
pub mod pre_push;
pub mod protect;
pub mod report;
pub mod scan;

use shipgate_core::cli::Tool;

/// Identity and configuration sections of this tool.
pub const TOOL: Tool = Tool {
    name: "branch-guard",
    version: env!("CARGO_PKG_VERSION"),
    sections: &["flow", "guard"],
    docs: include_str!("../../../docs/branch-guard.md"),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_known_config_sections() {
        for section in TOOL.sections {
            assert!(shipgate_core::config::SECTIONS.contains(section), "{section}");
        }
    }
}
