//! `release-tagger bump`: writes the version into the files that carry it,
//! preserving their formatting (toml_edit for TOML; targeted replacements
//! for JSON, since re-serialising would reorder and reindent it).

use std::path::{Path, PathBuf};

use regex::Regex;
use semver::Version;
use serde_json::json;
use shipgate_core::cli::DryRunArg;
use shipgate_core::exit::{Error, ExitCode, Result};
use toml_edit::{DocumentMut, Item, value};

use crate::Project;

/// Flags of `bump`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BumpArgs {
    /// Write this version instead of the computed next one
    #[arg(value_name = "VERSION", value_parser = crate::tag::parse_version)]
    pub release_version: Option<Version>,
    /// Make a pre-release with this identifier (see `next --pre`)
    #[arg(long, value_name = "ID", conflicts_with = "release_version")]
    pub pre: Option<String>,
    #[command(flatten)]
    pub dry_run: DryRunArg,
}

/// One file and its new content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Relative to the repository root.
    pub path: PathBuf,
    pub content: String,
}

fn read(root: &Path, relative: &str) -> Result<Option<String>> {
    match std::fs::read_to_string(root.join(relative)) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::usage_with(format!("cannot read {relative}"), err)),
    }
}

fn parse_toml(relative: &str, text: &str) -> Result<DocumentMut> {
    text.parse::<DocumentMut>()
        .map_err(|e| Error::usage(format!("{relative} is not valid TOML: {}", e.to_string().trim())))
}

/// Sets `table.key` in the file `relative` when it holds a literal string;
/// false when it is absent or inherited (`version.workspace = true`). Any
/// other value (`version = 5`) is bad input: skipping it would release a
/// version the file does not carry.
fn set_string(relative: &str, doc: &mut DocumentMut, path: &[&str], new: &str) -> Result<bool> {
    let mut item: &mut Item = doc.as_item_mut();
    for part in path {
        // `Item::get_mut` would insert missing tables; this never adds any.
        match item.as_table_like_mut().and_then(|table| table.get_mut(part)) {
            Some(next) => item = next,
            None => return Ok(false),
        }
    }
    if item.as_str().is_some() {
        let decor = item.as_value().map(|v| v.decor().clone());
        *item = value(new);
        if let (Some(decor), Some(v)) = (decor, item.as_value_mut()) {
            *v.decor_mut() = decor;
        }
        Ok(true)
    } else if item.is_table_like() {
        Ok(false)
    } else {
        let found = item.as_value().map(|v| v.to_string()).unwrap_or_default();
        Err(Error::usage(format!(
            "{relative}: `{}` is `{}`, not a version string like \"{new}\"",
            path.join("."),
            found.trim()
        )))
    }
}

/// Every file that needs to change to carry `version`, in a stable order.
pub fn plan_edits(project: &Project, version: &Version) -> Result<Vec<Edit>> {
    let root = project.repo.dir().to_path_buf();
    let new = version.to_string();
    let mut edits = Vec::new();
    let mut crates = Vec::new();
    if let Some(text) = read(&root, "Cargo.toml")? {
        cargo_edits(&root, &text, &new, &mut edits, &mut crates)?;
    }
    if !crates.is_empty()
        && let Some(text) = read(&root, "Cargo.lock")?
    {
        let mut doc = parse_toml("Cargo.lock", &text)?;
        if let Some(packages) = doc.get_mut("package").and_then(Item::as_array_of_tables_mut) {
            for package in packages.iter_mut() {
                let local = package.get("source").is_none();
                let ours = package
                    .get("name")
                    .and_then(Item::as_str)
                    .is_some_and(|n| crates.iter().any(|c| c == n));
                if local && ours {
                    package["version"] = value(new.as_str());
                }
            }
        }
        edits.push(Edit {
            path: "Cargo.lock".into(),
            content: doc.to_string(),
        });
    }
    if let Some(text) = read(&root, "package.json")? {
        edits.push(Edit {
            path: "package.json".into(),
            content: json_version_edit("package.json", &text, &new, &[&["version"]])?,
        });
        if let Some(lock) = read(&root, "package-lock.json")? {
            edits.push(Edit {
                path: "package-lock.json".into(),
                content: json_version_edit(
                    "package-lock.json",
                    &lock,
                    &new,
                    &[&["version"], &["packages", "", "version"]],
                )?,
            });
        }
    }
    if let Some(text) = read(&root, "pyproject.toml")? {
        let mut doc = parse_toml("pyproject.toml", &text)?;
        let pep440 = pep440(version);
        let changed = set_string("pyproject.toml", &mut doc, &["project", "version"], &pep440)?
            | set_string("pyproject.toml", &mut doc, &["tool", "poetry", "version"], &pep440)?;
        if changed {
            edits.push(Edit {
                path: "pyproject.toml".into(),
                content: doc.to_string(),
            });
        }
    }
    if read(&root, "VERSION")?.is_some() {
        edits.push(Edit {
            path: "VERSION".into(),
            content: format!("{new}\n"),
        });
    }
    for file in &project.config.version_files {
        let pattern = Regex::new(&file.pattern)
            .map_err(|e| Error::usage_with(format!("release.version_files pattern for {}", file.path), e))?;
        if pattern.captures_len() < 2 {
            return Err(Error::usage(format!(
                "release.version_files pattern for {} needs a capture group around the version",
                file.path
            )));
        }
        let text = read(&root, &file.path)?
            .ok_or_else(|| Error::usage(format!("release.version_files: {} does not exist", file.path)))?;
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut matched = false;
        for caps in pattern.captures_iter(&text) {
            if let Some(group) = caps.get(1) {
                out.push_str(&text[last..group.start()]);
                out.push_str(&new);
                last = group.end();
                matched = true;
            }
        }
        if !matched {
            return Err(Error::usage(format!(
                "release.version_files: `{}` matches nothing in {}",
                file.pattern, file.path
            )));
        }
        out.push_str(&text[last..]);
        edits.push(Edit {
            path: file.path.clone().into(),
            content: out,
        });
    }
    edits.retain(|edit| read(&root, &edit.path.to_string_lossy()).ok().flatten().as_deref() != Some(&edit.content));
    Ok(edits)
}

/// Python's spelling of a pre-release: 1.3.0-rc.1 → 1.3.0rc1.
fn pep440(version: &Version) -> String {
    if version.pre.is_empty() {
        return version.to_string();
    }
    let core = format!("{}.{}.{}", version.major, version.minor, version.patch);
    let pre = version
        .pre
        .as_str()
        .replace("alpha", "a")
        .replace("beta", "b")
        .replace('.', "");
    format!("{core}{pre}")
}

fn cargo_edits(root: &Path, text: &str, new: &str, edits: &mut Vec<Edit>, crates: &mut Vec<String>) -> Result<()> {
    let mut doc = parse_toml("Cargo.toml", text)?;
    let mut inherit = false;
    if set_string("Cargo.toml", &mut doc, &["workspace", "package", "version"], new)? {
        inherit = true;
    }
    if let Some(name) = doc.get("package").and_then(|p| p.get("name")).and_then(Item::as_str) {
        let name = name.to_owned();
        let literal = set_string("Cargo.toml", &mut doc, &["package", "version"], new)?;
        if literal || inherit {
            crates.push(name);
        }
    }
    let members: Vec<String> = doc
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(Item::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let mut member_dirs = Vec::new();
    for member in members {
        // Cargo's member globs are almost always `dir/*`.
        if let Some(parent) = member.strip_suffix("/*") {
            let Ok(entries) = std::fs::read_dir(root.join(parent)) else {
                continue;
            };
            let mut found: Vec<String> = entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().join("Cargo.toml").is_file())
                .map(|e| format!("{parent}/{}", e.file_name().to_string_lossy()))
                .collect();
            found.sort();
            member_dirs.extend(found);
        } else {
            member_dirs.push(member);
        }
    }
    let mut member_names = Vec::new();
    for dir in &member_dirs {
        let relative = format!("{dir}/Cargo.toml");
        let Some(member_text) = read(root, &relative)? else {
            continue;
        };
        let mut member = parse_toml(&relative, &member_text)?;
        let Some(name) = member.get("package").and_then(|p| p.get("name")).and_then(Item::as_str) else {
            continue;
        };
        let name = name.to_owned();
        let inherits = member
            .get("package")
            .and_then(|p| p.get("version"))
            .and_then(|v| v.get("workspace"))
            .and_then(Item::as_bool)
            .unwrap_or(false);
        if set_string(&relative, &mut member, &["package", "version"], new)? {
            edits.push(Edit {
                path: relative.into(),
                content: member.to_string(),
            });
            member_names.push(name);
        } else if inherits && inherit {
            member_names.push(name);
        }
    }
    // Path dependencies between members pin each other's version.
    if let Some(deps) = doc
        .get_mut("workspace")
        .and_then(|w| w.get_mut("dependencies"))
        .and_then(Item::as_table_like_mut)
    {
        for (name, dep) in deps.iter_mut() {
            let is_member = member_names.iter().any(|m| m == name.get());
            if is_member
                && dep.get("path").is_some()
                && dep.get("version").is_some_and(|v| v.as_str().is_some())
                && let Some(table) = dep.as_table_like_mut()
            {
                table.insert("version", value(new));
            }
        }
    }
    crates.extend(member_names);
    edits.insert(
        0,
        Edit {
            path: "Cargo.toml".into(),
            content: doc.to_string(),
        },
    );
    Ok(())
}

/// Replaces the JSON string at each `path` that holds a version, keeping the
/// file's layout: the n-th `"version": "..."` in file order is the n-th path
/// in document order for npm's files, which list the top-level version first.
fn json_version_edit(relative: &str, text: &str, new: &str, paths: &[&[&str]]) -> Result<String> {
    let parsed: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::usage_with(format!("{relative} is not valid JSON"), e))?;
    let olds: Vec<String> = paths
        .iter()
        .filter_map(|path| {
            let mut node = &parsed;
            for part in path.iter() {
                node = node.get(part)?;
            }
            node.as_str().map(str::to_owned)
        })
        .collect();
    let mut out = text.to_owned();
    let mut search_from = 0;
    for old in olds {
        let pattern = Regex::new(&format!(r#""version"\s*:\s*"{}""#, regex::escape(&old)))
            .map_err(|e| Error::usage_with("cannot build the version pattern", e))?;
        let Some(range) = pattern.find_at(&out, search_from).map(|found| found.range()) else {
            return Err(Error::usage(format!(
                "cannot find \"version\": \"{old}\" in {relative}"
            )));
        };
        let replaced = format!(r#""version": "{new}""#);
        search_from = range.start + replaced.len();
        out.replace_range(range, &replaced);
    }
    Ok(out)
}

/// Writes the edits; nothing is written unless every file could be planned.
pub fn apply(project: &Project, edits: &[Edit]) -> Result<()> {
    for edit in edits {
        let path = project.repo.dir().join(&edit.path);
        std::fs::write(&path, &edit.content)
            .map_err(|e| Error::usage_with(format!("cannot write {}", edit.path.display()), e))?;
    }
    Ok(())
}

/// Runs `bump`.
pub fn run(project: &Project, args: &BumpArgs) -> Result<ExitCode> {
    let version = match &args.release_version {
        Some(version) => version.clone(),
        None => match crate::next::plan(project, args.pre.as_deref())?.next {
            Some(version) => version,
            None => {
                project.ui.info("nothing to release: no version to write");
                if project.ui.json {
                    project
                        .ui
                        .print_json(&json!({ "release_version": null, "files": [] }))?;
                }
                return Ok(ExitCode::Ok);
            }
        },
    };
    let edits = plan_edits(project, &version)?;
    if args.dry_run.dry_run {
        for edit in &edits {
            project
                .ui
                .info(&format!("dry run: would write {}", edit.path.display()));
        }
    } else {
        apply(project, &edits)?;
    }
    let files: Vec<String> = edits.iter().map(|e| e.path.display().to_string()).collect();
    if project.ui.json {
        project
            .ui
            .print_json(&json!({ "release_version": version.to_string(), "files": files }))?;
    } else {
        project.ui.print(&format!("{version}\n"))?;
        for file in &files {
            project.ui.info(&format!("updated {file}"));
        }
    }
    Ok(ExitCode::Ok)
}
