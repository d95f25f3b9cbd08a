//! notify: Sends deploy, release and incident notifications.
//!
//! The binary in `main.rs` only parses arguments; everything it does lives here.

use shipgate_core::cli::Tool;

/// Identity and configuration sections of this tool.
pub const TOOL: Tool = Tool {
    name: "notify",
    version: env!("CARGO_PKG_VERSION"),
    sections: &["notify"],
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
