//! `notify release`: a version is out, with its changelog section (the one
//! release-tagger wrote) as the text.

use std::path::{Path, PathBuf};

use clap::Args;
use shipgate_core::cli::{self, GlobalArgs};
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::event::EventKind;
use crate::message::TextOptions;
use crate::{DeliveryArgs, Notification};

#[derive(Args, Debug, Clone)]
pub struct ReleaseArgs {
    /// The released version, e.g. 1.2.0 or v1.2.0
    #[arg(long)]
    pub version: String,

    /// Release notes file used as is [default: the version's section of the changelog]
    #[arg(long, value_name = "FILE", conflicts_with = "changelog")]
    pub notes_file: Option<PathBuf>,

    /// Changelog to take the version's section from [default: `release.changelog`, CHANGELOG.md]
    #[arg(long, value_name = "FILE")]
    pub changelog: Option<PathBuf>,

    /// Extra text after the notes
    #[arg(long)]
    pub message: Option<String>,

    /// Replaces the default title
    #[arg(long)]
    pub title: Option<String>,

    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

pub fn run(globals: &GlobalArgs, args: &ReleaseArgs) -> Result<ExitCode> {
    let notes = match &args.notes_file {
        Some(path) => Some(read(path)?),
        None => {
            let loaded = cli::load_config(globals)?;
            let path = match &args.changelog {
                Some(path) => path.clone(),
                None => loaded.repo_root.join(&loaded.config.release.changelog),
            };
            match std::fs::read_to_string(&path) {
                Ok(text) => changelog_section(&text, &args.version),
                // Without --changelog a missing default file just means no notes.
                Err(_) if args.changelog.is_none() => None,
                Err(err) => return Err(Error::usage_with(format!("cannot read {}", path.display()), err)),
            }
        }
    };
    let notification = Notification {
        kind: EventKind::Release {
            version: args.version.clone(),
            notes,
        },
        text: TextOptions {
            title: args.title.clone(),
            message: args.message.clone().filter(|m| !m.is_empty()),
            template: None,
        },
        routed: Vec::new(),
    };
    crate::send_notification(globals, &args.delivery, notification)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|err| Error::usage_with(format!("cannot read {}", path.display()), err))
}

/// The body of the changelog section whose heading names `version`
/// (`## [1.2.0] - 2024-05-01`, `## v1.2.0`, `# 1.2.0 (…)`), up to the next
/// heading of the same or a higher level.
pub fn changelog_section(changelog: &str, version: &str) -> Option<String> {
    let bare = version.trim_start_matches('v');
    let names_version = |heading: &str| {
        heading
            .split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | '(' | ')'))
            .any(|word| word.trim_start_matches('v') == bare)
    };
    let mut lines = changelog.lines();
    let level = loop {
        let line = lines.next()?;
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if hashes > 0 && names_version(&line[hashes..]) {
            break hashes;
        }
    };
    let mut body = Vec::new();
    for line in lines {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if hashes > 0 && hashes <= level && line[hashes..].starts_with(' ') {
            break;
        }
        body.push(line);
    }
    let text = body.join("\n").trim().to_string();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHANGELOG: &str = "# Changelog\n\n## [1.3.0] - 2024-06-01\n\n### Features\n\n- new thing\n\n## [1.2.0] - 2024-05-01\n\n- old thing\n";

    #[test]
    fn the_versions_section_is_taken_up_to_the_next_release() {
        assert_eq!(
            changelog_section(CHANGELOG, "v1.3.0").as_deref(),
            Some("### Features\n\n- new thing")
        );
        assert_eq!(changelog_section(CHANGELOG, "1.2.0").as_deref(), Some("- old thing"));
        assert_eq!(changelog_section(CHANGELOG, "1.0.0"), None);
        assert_eq!(changelog_section(CHANGELOG, "1.3"), None);
    }
}
