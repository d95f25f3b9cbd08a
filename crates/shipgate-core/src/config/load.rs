//! Finding, layering and reporting the configuration.
//!
//! The layers are merged as TOML tables, leaf by leaf, before the single
//! typed deserialization: that way a file can set one field of a nested
//! table and keep the defaults of the others, and every leaf's source is
//! known. The file is also deserialized on its own first, because only
//! errors found in the original text carry a line number.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::{Config, FILE_NAME, SECTIONS};
use crate::exit::Error;

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The built-in (seed) default.
    Default,
    /// A configuration file, as displayed (relative to the repository root when discovered).
    File(PathBuf),
    /// An environment variable, by name.
    Env(String),
    /// A command-line flag, e.g. `--tag-prefix`.
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Env(var) => write!(f, "env {var}"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A value a command-line flag sets, e.g. `("release.tag_prefix", "release-", "--tag-prefix")`.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagOverride {
    /// Dotted key, like `release.tag_prefix`.
    pub key: String,
    /// The value the flag sets, as a TOML value.
    pub value: Value,
    /// The flag as the user typed it, for provenance and errors.
    pub flag: String,
}

impl FlagOverride {
    /// An override of `key` to `value`, set by `flag`.
    pub fn new(key: impl Into<String>, value: impl Into<Value>, flag: impl Into<String>) -> Self {
        FlagOverride {
            key: key.into(),
            value: value.into(),
            flag: flag.into(),
        }
    }
}

/// What [`load`] needs to know about the invocation.
#[derive(Debug, Clone)]
pub struct LoadOptions<'a> {
    /// `--config PATH`; when set, discovery is skipped and the file must exist.
    pub explicit_path: Option<&'a Path>,
    /// Where to start looking for the repository root (usually the current directory).
    pub start_dir: &'a Path,
    /// Environment variables; only `SHIPGATE_<SECTION>_*` ones are used.
    pub env: Vec<(String, String)>,
    /// Overrides from command-line flags, applied last.
    pub flags: Vec<FlagOverride>,
}

impl<'a> LoadOptions<'a> {
    /// Options for a real run: the process environment, no flag overrides.
    pub fn from_process(explicit_path: Option<&'a Path>, start_dir: &'a Path) -> Self {
        let env = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .filter(|(name, _)| name.starts_with(ENV_PREFIX))
            .collect();
        LoadOptions {
            explicit_path,
            start_dir,
            env,
            flags: Vec::new(),
        }
    }
}

/// One leaf of the effective configuration, for `config` output.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigEntry {
    /// Dotted key, like `release.tag_prefix`.
    pub key: String,
    /// The effective value.
    pub value: Value,
    /// Where the value came from: the default, the file, an environment variable or a flag.
    pub source: Source,
}

/// The effective configuration and where each of its values came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The defaults, overlaid by the file, then the environment, then flags.
    pub config: Config,
    /// The file that was read, if any.
    pub file: Option<PathBuf>,
    /// The repository root paths in the configuration are relative to.
    pub repo_root: PathBuf,
    sources: BTreeMap<String, Source>,
}

impl LoadedConfig {
    /// The seed defaults, as if no file, environment or flag said anything.
    pub fn from_defaults(repo_root: impl Into<PathBuf>) -> Self {
        let config = Config::default();
        let sources = leaf_keys(&to_table(&config))
            .into_iter()
            .map(|key| (key, Source::Default))
            .collect();
        LoadedConfig {
            config,
            file: None,
            repo_root: repo_root.into(),
            sources,
        }
    }

    /// The leaves of one section (`Some("release")`) or of all sections, sorted by key.
    ///
    /// URLs in values are shown redacted ([`crate::url_redaction`]): this is what `config` prints.
    pub fn entries(&self, section: Option<&str>) -> Vec<ConfigEntry> {
        let table = to_table(&self.config);
        let mut leaves = Vec::new();
        flatten(&table, "", &mut leaves);
        leaves
            .into_iter()
            .filter(|(key, _)| match section {
                Some(section) => key.strip_prefix(section).is_some_and(|rest| rest.starts_with('.')),
                None => true,
            })
            .map(|(key, value)| {
                let source = self.sources.get(&key).cloned().unwrap_or(Source::Default);
                ConfigEntry {
                    key,
                    value: redact(value.clone()),
                    source,
                }
            })
            .collect()
    }

    /// Where the leaf `dotted_key` (e.g. `release.tag_prefix`, `flow.branches`) came from.
    pub fn source_of(&self, dotted_key: &str) -> Option<&Source> {
        self.sources.get(dotted_key)
    }
}

/// `key = value  # source` lines, one per entry.
pub fn render_entries_text(entries: &[ConfigEntry]) -> String {
    let mut out = String::new();
    for entry in entries {
        out.push_str(&format!("{} = {}  # {}\n", entry.key, entry.value, entry.source));
    }
    out
}

/// `{"<key>": {"value": <json>, "source": "<source>"}}`, keys sorted.
pub fn entries_json(entries: &[ConfigEntry]) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = entries
        .iter()
        .map(|entry| {
            let value = serde_json::to_value(&entry.value).unwrap_or(serde_json::Value::Null);
            (
                entry.key.clone(),
                serde_json::json!({ "value": value, "source": entry.source.to_string() }),
            )
        })
        .collect();
    serde_json::Value::Object(map)
}

const ENV_PREFIX: &str = "SHIPGATE_";

/// Finds, reads and layers the configuration. Every failure is a usage error
/// with one line naming the file and line, the variable or the flag at fault.
pub fn load(options: &LoadOptions<'_>) -> Result<LoadedConfig, Error> {
    let start_dir = std::path::absolute(options.start_dir).unwrap_or_else(|_| options.start_dir.to_path_buf());
    let repo_root = find_repo_root(&start_dir);
    let found = match options.explicit_path {
        Some(path) => {
            if !path.exists() {
                return Err(Error::usage(format!("config file {} not found", path.display())));
            }
            if !path.is_file() {
                return Err(Error::usage(format!("config file {} is not a file", path.display())));
            }
            Some((path.to_path_buf(), path.to_path_buf()))
        }
        None => discover(&repo_root)?,
    };

    let defaults = to_table(&Config::default());
    let mut sources: BTreeMap<String, Source> = leaf_keys(&defaults)
        .into_iter()
        .map(|key| (key, Source::Default))
        .collect();
    let mut merged = defaults;

    if let Some((path, display)) = &found {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::usage_with(format!("cannot read config file {}", display.display()), e))?;
        let file_table = parse_file(&text, display)?;
        for key in leaf_keys(&file_table) {
            sources.insert(key, Source::File(display.clone()));
        }
        merge(&mut merged, file_table);
    }

    apply_env(&mut merged, &mut sources, &options.env)?;
    apply_flags(&mut merged, &mut sources, &options.flags)?;

    let config = deserialize_merged(merged, &sources)?;
    Ok(LoadedConfig {
        config,
        file: found.map(|(path, _)| path),
        repo_root,
        sources,
    })
}

/// The nearest ancestor holding `.git` (a directory, or a file in worktrees
/// and submodules); the start directory itself when there is none.
fn find_repo_root(start_dir: &Path) -> PathBuf {
    start_dir
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .unwrap_or(start_dir)
        .to_path_buf()
}

/// The configuration file under `repo_root`, as (path to read, path to display).
fn discover(repo_root: &Path) -> Result<Option<(PathBuf, PathBuf)>, Error> {
    let candidates = [PathBuf::from(FILE_NAME), Path::new(".github").join(FILE_NAME)];
    let existing: Vec<&PathBuf> = candidates.iter().filter(|rel| repo_root.join(rel).is_file()).collect();
    match existing.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((repo_root.join(one), (*one).clone()))),
        _ => Err(Error::usage(format!(
            "both {} and {} exist in {}; keep one of them",
            candidates[0].display(),
            candidates[1].display(),
            repo_root.display()
        ))),
    }
}

/// Parses and validates the file on its own so errors can point at a line.
fn parse_file(text: &str, display: &Path) -> Result<Table, Error> {
    let located = |span: Option<std::ops::Range<usize>>| match span {
        Some(span) => format!("{}:{}", display.display(), line_of(text, span.start)),
        None => display.display().to_string(),
    };
    // The parser recovers and goes on after a syntax error, and the error
    // it keeps is not always the first in the file; the one a person fixes
    // first is the one nearest the top.
    let (root, errors) = toml::de::DeTable::parse_recoverable(text);
    if let Some(first) = errors
        .iter()
        .min_by_key(|e| e.span().map_or(usize::MAX, |span| span.start))
    {
        return Err(Error::usage(format!(
            "{}: invalid TOML: {}",
            located(first.span()),
            one_line(first.message())
        )));
    }
    let deserializer = toml::Deserializer::from(root);
    if let Err(error) = serde_path_to_error::deserialize::<_, Config>(deserializer) {
        let key = error.path().to_string();
        let inner = error.inner();
        return Err(Error::usage(format!(
            "{}: {}",
            located(inner.span()),
            describe(&key, inner.message())
        )));
    }
    text.parse::<Table>().map_err(|e| {
        Error::usage(format!(
            "{}: invalid TOML: {}",
            located(e.span()),
            one_line(e.message())
        ))
    })
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Turns serde's message into ours: unknown keys are named in full with the
/// keys that would have been accepted; other errors are prefixed by the key.
fn describe(key: &str, message: &str) -> String {
    let message = one_line(message);
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((field, expected)) = rest.split_once('`')
    {
        let full_key = if key.ends_with(field) {
            key.to_string()
        } else if key == "." || key.is_empty() {
            field.to_string()
        } else {
            format!("{key}.{field}")
        };
        let expected = expected.trim_start_matches(',').trim();
        let accepted = if let Some(list) = expected.strip_prefix("expected one of ") {
            list.replace('`', "")
        } else if let Some(one) = expected.strip_prefix("expected ") {
            one.replace('`', "")
        } else {
            String::new()
        };
        return if accepted.is_empty() {
            format!("unknown key `{full_key}` (this table takes no keys)")
        } else {
            format!("unknown key `{full_key}` (expected one of: {accepted})")
        };
    }
    if key == "." || key.is_empty() {
        message
    } else {
        format!("`{key}`: {message}")
    }
}

/// Applies `SHIPGATE_<SECTION>_<KEY>` variables. Variables whose SECTION is
/// not a config section (`SHIPGATE_CONFIG`, `SHIPGATE_DRY_RUN`, ...) belong
/// to other layers and are ignored; a known section with an unknown key is
/// almost always a typo, so it is an error.
fn apply_env(
    merged: &mut Table,
    sources: &mut BTreeMap<String, Source>,
    env: &[(String, String)],
) -> Result<(), Error> {
    let by_var: HashMap<String, String> = leaf_keys(merged)
        .into_iter()
        .map(|key| (env_var_for(&key), key))
        .collect();
    let mut vars: Vec<&(String, String)> = env
        .iter()
        .filter(|(name, _)| {
            name.strip_prefix(ENV_PREFIX).is_some_and(|rest| {
                let section = rest.split('_').next().unwrap_or_default();
                SECTIONS.iter().any(|known| known.eq_ignore_ascii_case(section))
            })
        })
        .collect();
    vars.sort();
    for (name, raw) in vars {
        let Some(key) = by_var.get(name) else {
            let section = name[ENV_PREFIX.len()..]
                .split('_')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            return Err(Error::usage(format!(
                "environment variable {name} does not name a configuration key (see `config --section {section}` for the keys)"
            )));
        };
        let current = get_leaf(merged, key).expect("env keys come from the merged table");
        let value = value_from_env(current, raw)
            .map_err(|expected| Error::usage(format!("environment variable {name}: `{key}` expects {expected}")))?;
        set_leaf(merged, key, value);
        sources.insert(key.clone(), Source::Env(name.clone()));
    }
    Ok(())
}

/// `release.tag_prefix` → `SHIPGATE_RELEASE_TAG_PREFIX`.
pub(super) fn env_var_for(key: &str) -> String {
    let mut name = String::from(ENV_PREFIX);
    name.extend(key.chars().map(|c| match c {
        '.' | '-' => '_',
        c => c.to_ascii_uppercase(),
    }));
    name
}

/// Environment values are text; the type of the value being replaced
/// decides how to read them, so `SHIPGATE_RELEASE_TAG_PREFIX=1` stays a
/// string and `SHIPGATE_GUARD_COMMIT_TYPES=feat,fix` becomes a list.
fn value_from_env(current: &Value, raw: &str) -> Result<Value, &'static str> {
    let trimmed = raw.trim();
    match current {
        Value::String(_) => Ok(Value::String(raw.to_string())),
        Value::Integer(_) => trimmed.parse().map(Value::Integer).map_err(|_| "an integer"),
        Value::Float(_) => trimmed.parse().map(Value::Float).map_err(|_| "a number"),
        Value::Boolean(_) => match trimmed {
            "true" => Ok(Value::Boolean(true)),
            "false" => Ok(Value::Boolean(false)),
            _ => Err("`true` or `false`"),
        },
        Value::Array(items) => {
            if trimmed.starts_with('[') {
                let parsed: Table = format!("value = {trimmed}").parse().map_err(|_| "a TOML array")?;
                return parsed.get("value").cloned().ok_or("a TOML array");
            }
            let strings = items.iter().all(Value::is_str);
            if strings {
                Ok(Value::Array(
                    trimmed
                        .split(',')
                        .map(str::trim)
                        .filter(|item| !item.is_empty())
                        .map(|item| Value::String(item.to_string()))
                        .collect(),
                ))
            } else {
                Err("a TOML array like `[{ ... }]`")
            }
        }
        Value::Datetime(_) | Value::Table(_) => Err("a value that cannot be set from the environment"),
    }
}

fn apply_flags(
    merged: &mut Table,
    sources: &mut BTreeMap<String, Source>,
    flags: &[FlagOverride],
) -> Result<(), Error> {
    for flag in flags {
        let Some(current) = get_leaf(merged, &flag.key) else {
            return Err(Error::usage(format!(
                "{}: unknown configuration key `{}`",
                flag.flag, flag.key
            )));
        };
        let value = match (current, &flag.value) {
            // Flags parsed as integers must still fit float keys.
            (Value::Float(_), Value::Integer(i)) => Value::Float(*i as f64),
            (_, value) => value.clone(),
        };
        set_leaf(merged, &flag.key, value);
        sources.insert(flag.key.clone(), Source::Flag(flag.flag.clone()));
    }
    Ok(())
}

/// The typed configuration; errors here come from env or flag values (the
/// file was already checked) and name the layer that set the bad value.
fn deserialize_merged(merged: Table, sources: &BTreeMap<String, Source>) -> Result<Config, Error> {
    serde_path_to_error::deserialize::<_, Config>(Value::Table(merged)).map_err(|error| {
        let path = error.path().to_string();
        let leaf = sources
            .keys()
            .filter(|key| path == **key || path.starts_with(&format!("{key}.")) || path.starts_with(&format!("{key}[")))
            .max_by_key(|key| key.len());
        let source = leaf.and_then(|key| sources.get(key));
        let message = describe(&path, error.inner().message());
        match source {
            Some(source) => Error::usage(format!("{source}: {message}")),
            None => Error::usage(message),
        }
    })
}

fn to_table(config: &Config) -> Table {
    match Value::try_from(config) {
        Ok(Value::Table(table)) => table,
        other => unreachable!("Config serializes to a TOML table, got {other:?}"),
    }
}

/// Leaves are everything that is not a table; an array (even of tables) is one leaf.
fn flatten<'t>(table: &'t Table, prefix: &str, out: &mut Vec<(String, &'t Value)>) {
    for (key, value) in table {
        let dotted = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Table(inner) => flatten(inner, &dotted, out),
            leaf => out.push((dotted, leaf)),
        }
    }
}

fn leaf_keys(table: &Table) -> Vec<String> {
    let mut leaves = Vec::new();
    flatten(table, "", &mut leaves);
    leaves.into_iter().map(|(key, _)| key).collect()
}

fn merge(base: &mut Table, overlay: Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(base_inner)), Value::Table(overlay_inner)) => merge(base_inner, overlay_inner),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn get_leaf<'t>(table: &'t Table, dotted: &str) -> Option<&'t Value> {
    let (parents, last) = match dotted.rsplit_once('.') {
        Some((parents, last)) => (Some(parents), last),
        None => (None, dotted),
    };
    let mut current = table;
    if let Some(parents) = parents {
        for part in parents.split('.') {
            current = current.get(part)?.as_table()?;
        }
    }
    current.get(last).filter(|value| !value.is_table())
}

/// Only called for keys [`get_leaf`] found, so every parent table exists.
fn set_leaf(table: &mut Table, dotted: &str, value: Value) {
    let mut parts = dotted.split('.').peekable();
    let mut current = table;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.insert(part.to_string(), value);
            return;
        }
        current = match current.get_mut(part) {
            Some(Value::Table(inner)) => inner,
            _ => return,
        };
    }
}

/// Hides the secret parts of URL-shaped strings (passwords, query values,
/// webhook paths), wherever they are.
fn redact(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(crate::url_redaction::redact_in_text(&text)),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        Value::Table(table) => Value::Table(table.into_iter().map(|(k, v)| (k, redact(v))).collect()),
        other => other,
    }
}
