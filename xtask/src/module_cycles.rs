//! "Modules depend one way": no import cycle between the top-level modules
//! of any workspace crate.
//!
//! A module's dependencies are the `crate::<module>` paths its files name
//! (in `use` lines, grouped `use crate::{a, b::c}` imports and inline paths),
//! comment lines excepted. The crate root (`lib.rs`, `main.rs`) is not a
//! module here: it declares the modules and holds the entry point, so it may
//! use them all. `super::` paths are not followed: the code names other
//! modules with `crate::` paths, and `super::` from a top-level module's
//! files stays inside it. Test modules count too: a cycle through a test
//! helper still ties two modules together.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The top-level modules of one crate and the modules each one names.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// Fails with every cycle found in the crates under `crates/` and in xtask.
pub fn check(root: &Path) -> Result<()> {
    let mut problems = Vec::new();
    for src in source_dirs(root)? {
        let graph = graph_of(&src)?;
        for cycle in cycles(&graph) {
            let shown = src.strip_prefix(root).unwrap_or(&src).display().to_string();
            problems.push(format!("{shown}: {}", cycle.join(" -> ")));
        }
    }
    if !problems.is_empty() {
        bail!("module import cycles:\n  {}", problems.join("\n  "));
    }
    Ok(())
}

/// `crates/*/src` and `xtask/src`.
fn source_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).context("reading crates/")? {
        let src = entry?.path().join("src");
        if src.is_dir() {
            dirs.push(src);
        }
    }
    dirs.push(root.join("xtask/src"));
    dirs.sort();
    Ok(dirs)
}

/// The module graph of the crate whose sources are in `src`.
pub fn graph_of(src: &Path) -> Result<Graph> {
    let mut files = Vec::new();
    collect_rs(src, &mut files)?;
    let mut sources = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap_or(&file).to_path_buf();
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        sources.push((relative, text));
    }
    Ok(graph_from(&sources))
}

fn collect_rs(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_rs(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// The graph of files given by their path under `src/` and their text.
pub fn graph_from(sources: &[(PathBuf, String)]) -> Graph {
    let mut named: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in sources {
        let Some(module) = top_module(path) else { continue };
        named.entry(module.clone()).or_default().extend(crate_paths(text));
    }
    let modules: BTreeSet<String> = named.keys().cloned().collect();
    named
        .into_iter()
        .map(|(module, names)| {
            let deps = names
                .into_iter()
                .filter(|name| *name != module && modules.contains(name))
                .collect();
            (module, deps)
        })
        .collect()
}

/// `actions.rs` and `actions/…` belong to `actions`; the crate roots to none.
fn top_module(path: &Path) -> Option<String> {
    let first = path.components().next()?.as_os_str().to_str()?;
    let is_file = path.components().count() == 1;
    let name = if is_file { first.strip_suffix(".rs")? } else { first };
    (!(is_file && matches!(name, "lib" | "main"))).then(|| name.to_string())
}

/// The first segment of every `crate::` path in `text`, outside comment lines.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut names = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let preceded_by_ident = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[at + "crate::".len()..];
        if preceded_by_ident {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            names.extend(group[..end].split(',').filter_map(|item| leading_ident(item.trim())));
        } else if let Some(name) = leading_ident(rest) {
            names.insert(name);
        }
    }
    names
}

fn leading_ident(text: &str) -> Option<String> {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    (end > 0).then(|| text[..end].to_string())
}

/// Every cycle, one per strongly connected component of two or more
/// modules, shown as a path that comes back to its start.
pub fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for start in graph.keys() {
        if done.contains(start.as_str()) {
            continue;
        }
        if let Some(cycle) = cycle_through(graph, start) {
            for module in &cycle {
                if let Some((name, _)) = graph.get_key_value(module) {
                    done.insert(name.as_str());
                }
            }
            found.push(cycle);
        }
    }
    found
}

/// A shortest path from `start` back to itself, by breadth-first search.
fn cycle_through(graph: &Graph, start: &str) -> Option<Vec<String>> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(module) = queue.pop_front() {
        for next in graph.get(module).into_iter().flatten() {
            if next == start {
                let mut path = vec![start.to_string()];
                let mut at = module;
                while at != start {
                    path.push(at.to_string());
                    at = came_from[at];
                }
                path.push(start.to_string());
                path.reverse();
                return Some(path);
            }
            if !came_from.contains_key(next.as_str()) && next != start {
                came_from.insert(next, module);
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(files: &[(&str, &str)]) -> Vec<(PathBuf, String)> {
        files
            .iter()
            .map(|(path, text)| (PathBuf::from(path), (*text).to_string()))
            .collect()
    }

    #[test]
    fn reads_use_lines_groups_and_inline_paths() {
        let graph = graph_from(&sources(&[
            ("lib.rs", "pub mod a; pub mod b; use crate::a::X;"),
            (
                "a.rs",
                "use crate::{b::Y, c};\nfn f() { crate::d::g(); }\n// crate::e is only a comment\n",
            ),
            ("b.rs", "/// [`crate::a`] in a doc comment\nuse std::fmt;"),
            ("c/mod.rs", "pub mod inner;"),
            ("c/inner.rs", "use crate::b;"),
            ("d.rs", "let s = \"not_crate::a\";"),
            ("e.rs", ""),
        ]));
        let deps = |m: &str| graph[m].iter().cloned().collect::<Vec<_>>();
        assert_eq!(graph.keys().cloned().collect::<Vec<_>>(), ["a", "b", "c", "d", "e"]);
        assert_eq!(deps("a"), ["b", "c", "d"]);
        assert!(deps("b").is_empty());
        assert_eq!(deps("c"), ["b"]);
        assert!(deps("d").is_empty());
    }

    #[test]
    fn finds_a_cycle_through_three_modules_and_none_in_a_chain() {
        let cyclic = graph_from(&sources(&[
            ("a.rs", "use crate::b::X;"),
            ("b.rs", "use crate::c::Y;"),
            ("c.rs", "use crate::a::Z;"),
            ("d.rs", "use crate::a::Z;"),
        ]));
        assert_eq!(cycles(&cyclic), [["a", "b", "c", "a"]]);
        let chain = graph_from(&sources(&[
            ("a.rs", "use crate::b::X;"),
            ("b.rs", "use crate::c::Y;"),
            ("c.rs", ""),
        ]));
        assert!(cycles(&chain).is_empty());
    }

    #[test]
    fn the_workspace_has_no_module_cycle() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        check(root).unwrap();
    }
}
