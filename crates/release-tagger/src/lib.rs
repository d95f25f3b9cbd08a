//! release-tagger: Computes versions from conventional commits and cuts, tags and publishes releases the git-flow way.
//!
//! The binary in `main.rs` only parses arguments; everything it does lives here.

use shipgate_core::cli::Tool;

/// Identity and configuration sections of this tool.
pub const TOOL: Tool = Tool {
    name: "release-tagger",
    version: env!("CARGO_PKG_VERSION"),
    sections: &["flow", "release"],
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
