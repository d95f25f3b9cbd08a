//! mermaid's own parser over the charts the tools write: the npm `mermaid`
//! package (the library GitHub renders job summaries with), run by
//! `scripts/mermaid-parse.mjs` under node.

use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::tools::{find_tool, tools_dir, workspace_root};

/// The diagrams of every ```` ```mermaid ```` block in `markdown`.
pub fn mermaid_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```mermaid") => current = Some(String::new()),
            Some(block) if line.trim_start().starts_with("```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// Parses each diagram with mermaid; the error names the diagram and
/// quotes mermaid's message.
pub fn parse(diagrams: &[String]) -> Result<()> {
    let node = find_tool("node")?;
    let scratch = tempfile::tempdir()?;
    let mut files = Vec::new();
    for (index, diagram) in diagrams.iter().enumerate() {
        let file = scratch.path().join(format!("chart-{index}.mmd"));
        std::fs::write(&file, diagram)?;
        files.push(file);
    }
    let output = Command::new(node)
        .arg(workspace_root().join("scripts").join("mermaid-parse.mjs"))
        .args(&files)
        .env("SHIPGATE_NODE_TOOLS", tools_dir().join("node"))
        .output()
        .context("running node scripts/mermaid-parse.mjs")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match output.status.code() {
        Some(0) => Ok(()),
        Some(2) => bail!(
            "mermaid is not installed: run `cargo xtask install-tools` (installs npm mermaid and jsdom into .tools/node): {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        _ => {
            let mut report = String::new();
            for (line, diagram) in stdout.lines().zip(diagrams) {
                if line.starts_with("error ") {
                    report.push_str(&format!("{line}\n--- diagram\n{diagram}\n"));
                }
            }
            bail!(
                "mermaid cannot parse a chart:\n{report}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        }
    }
}

/// Parses every mermaid block of a job summary and panics with mermaid's
/// error if one does not parse. Returns how many charts there were.
pub fn assert_charts_parse(markdown: &str) -> usize {
    let blocks = mermaid_blocks(markdown);
    if let Err(error) = parse(&blocks) {
        panic!("{error:#}");
    }
    blocks.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_chart_is_reported_and_a_good_one_passes() {
        let good = "xychart-beta\n    x-axis \"s\" 1 --> 3\n    line [1, 2, 3]\n".to_owned();
        let bad = "xychart-beta\n    x-axis [a, b\n    line [1, 2]\n".to_owned();
        assert_eq!(assert_charts_parse(&format!("# t\n\n```mermaid\n{good}```\n")), 1);
        let error = parse(&[good, bad]).unwrap_err().to_string();
        assert!(error.contains("error ") && error.contains("Parse error"), "{error}");
    }
}
