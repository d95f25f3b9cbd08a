//! Keeps docs/configuration.md true: every key of
//! fixtures/config/shipgate.full.toml is documented with the same default and
//! an environment variable the loader really accepts, the fields of every
//! table match what the configuration types accept (both ways), and the
//! defaults documented for fields of list entries are the ones the types
//! fill in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use shipgate_core::config::{Config, LoadOptions, Source, load};
use toml::{Table, Value};

fn workspace_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

fn read(relative: &str) -> String {
    let path = workspace_file(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// One row of a key table in the reference.
#[derive(Debug)]
struct Row {
    key: String,
    kind: String,
    default: String,
    env: String,
    line: usize,
}

/// Splits a Markdown table row into cells, keeping `\|` inside a cell.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut cells = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cells.last_mut().expect("one cell").push('|');
                chars.next();
            }
            '|' => cells.push(String::new()),
            c => cells.last_mut().expect("one cell").push(c),
        }
    }
    cells.into_iter().map(|cell| cell.trim().to_string()).collect()
}

fn unquote(cell: &str) -> Option<&str> {
    cell.strip_prefix('`')?.strip_suffix('`')
}

/// The rows of every table whose header starts `| key | type | default | env |`.
fn key_rows(doc: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut in_key_table = false;
    for (index, line) in doc.lines().enumerate() {
        if !line.trim_start().starts_with('|') {
            in_key_table = false;
            continue;
        }
        let cells = cells(line);
        if cells.len() >= 4 && cells[..4] == ["key", "type", "default", "env"] {
            in_key_table = true;
            continue;
        }
        if !in_key_table || cells.iter().all(|cell| cell.chars().all(|c| c == '-' || c == ':')) {
            continue;
        }
        assert_eq!(
            cells.len(),
            5,
            "docs/configuration.md:{}: a key row has 5 cells",
            index + 1
        );
        let key = unquote(&cells[0])
            .unwrap_or_else(|| panic!("docs/configuration.md:{}: the key is not in backticks", index + 1));
        rows.push(Row {
            key: key.to_string(),
            kind: cells[1].clone(),
            default: cells[2].clone(),
            env: cells[3].clone(),
            line: index + 1,
        });
    }
    rows
}

/// ```toml blocks preceded by `<!-- default: KEY -->`, by key.
fn default_blocks(doc: &str) -> BTreeMap<String, Table> {
    let mut blocks = BTreeMap::new();
    let lines: Vec<&str> = doc.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        let Some(key) = line
            .trim()
            .strip_prefix("<!-- default: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        assert_eq!(
            lines.get(index + 1).map(|l| l.trim()),
            Some("```toml"),
            "the block for {key}"
        );
        let body: Vec<&str> = lines[index + 2..]
            .iter()
            .take_while(|l| l.trim() != "```")
            .copied()
            .collect();
        let table: Table = body
            .join("\n")
            .parse()
            .unwrap_or_else(|e| panic!("the default block of {key} is not TOML: {e}"));
        blocks.insert(key.to_string(), table);
    }
    blocks
}

/// Leaves as the loader sees them: tables recurse, anything else (arrays of
/// tables included) is one leaf.
fn leaves(table: &Table, prefix: &str, out: &mut BTreeMap<String, Value>) {
    for (key, value) in table {
        let dotted = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Table(inner) => leaves(inner, &dotted, out),
            leaf => {
                out.insert(dotted, leaf.clone());
            }
        }
    }
}

fn get<'t>(table: &'t Table, dotted: &str) -> Option<&'t Value> {
    let mut parts = dotted.split('.');
    let mut current = table.get(parts.next()?)?;
    for part in parts {
        current = current.as_table()?.get(part)?;
    }
    Some(current)
}

/// The documented default as a TOML value: a backticked literal, or the
/// `<!-- default: KEY -->` block for "see below".
fn documented_default(row: &Row, blocks: &BTreeMap<String, Table>) -> Value {
    if row.default == "see below" {
        let block = blocks
            .get(&row.key)
            .unwrap_or_else(|| panic!("docs/configuration.md:{}: no default block for {}", row.line, row.key));
        return get(block, &row.key)
            .unwrap_or_else(|| panic!("the default block of {} does not set it", row.key))
            .clone();
    }
    let literal = unquote(&row.default).unwrap_or_else(|| {
        panic!(
            "docs/configuration.md:{}: the default of {} is not a backticked TOML value: {}",
            row.line, row.key, row.default
        )
    });
    let parsed: Table = format!("value = {literal}").parse().unwrap_or_else(|e| {
        panic!(
            "docs/configuration.md:{}: the default of {} is not TOML: {e}",
            row.line, row.key
        )
    });
    parsed["value"].clone()
}

/// How an environment variable spells `value`: lists and tables as TOML,
/// strings as they are, scalars as text.
fn env_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The fields the configuration types accept in the table at `path`
/// (`flow`, `flow.branches[]`, `migrate.environments.staging`), learned
/// from the error an unknown field gets. `None` for free-form maps.
fn accepted_fields(path: &str) -> Option<BTreeSet<String>> {
    const PROBE: &str = "zz_not_a_key";
    let header = match path.strip_suffix("[]") {
        Some(array) => format!("[[{array}]]"),
        None => format!("[{path}]"),
    };
    let text = format!("{header}\n{PROBE} = 1\n");
    let error = toml::from_str::<Config>(&text)
        .expect_err("an unknown field is refused")
        .to_string();
    let message = error.split_whitespace().collect::<Vec<_>>().join(" ");
    let rest = message.split(&format!("unknown field `{PROBE}`, ")).nth(1)?;
    Some(expected_fields(rest))
}

/// The backticked names in serde's "expected `a`", "expected `a` or `b`"
/// and "expected one of `a`, `b`, `c`".
fn expected_fields(text: &str) -> BTreeSet<String> {
    text.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

fn to_table(config: &Config) -> Table {
    match Value::try_from(config) {
        Ok(Value::Table(table)) => table,
        other => panic!("the configuration serializes to a table, not {other:?}"),
    }
}

/// The table path and field name of a documented key.
fn split_key(key: &str) -> (&str, &str) {
    key.rsplit_once('.').expect("documented keys have a section")
}

#[test]
fn every_key_of_the_full_example_is_documented_with_its_default_and_env_var() {
    let doc = read("docs/configuration.md");
    let rows = key_rows(&doc);
    let blocks = default_blocks(&doc);
    let full: Table = read("fixtures/config/shipgate.full.toml")
        .parse()
        .expect("shipgate.full.toml is TOML");
    let mut full_leaves = BTreeMap::new();
    leaves(&full, "", &mut full_leaves);
    assert!(
        full_leaves.len() > 40,
        "the full example lost its keys: {full_leaves:?}"
    );

    let mut documented: BTreeMap<&str, &Row> = BTreeMap::new();
    for row in &rows {
        assert!(
            documented.insert(&row.key, row).is_none(),
            "docs/configuration.md:{}: {} is documented twice",
            row.line,
            row.key
        );
    }

    let scratch = tempfile::tempdir().expect("a temp dir");
    for (key, expected) in &full_leaves {
        let row = documented
            .get(key.as_str())
            .unwrap_or_else(|| panic!("docs/configuration.md does not document `{key}`"));
        assert_eq!(
            &documented_default(row, &blocks),
            expected,
            "docs/configuration.md:{}: the default of {key} differs from shipgate.full.toml",
            row.line
        );
        // The documented variable must be the one the loader applies to this key.
        let var = unquote(&row.env)
            .unwrap_or_else(|| panic!("docs/configuration.md:{}: {key} needs its env variable", row.line));
        let loaded = load(&LoadOptions {
            explicit_path: None,
            start_dir: scratch.path(),
            env: vec![(var.to_string(), env_text(expected))],
            flags: vec![],
        })
        .unwrap_or_else(|e| panic!("{var} is refused: {e}"));
        assert_eq!(
            loaded.source_of(key),
            Some(&Source::Env(var.to_string())),
            "{var} does not set {key}"
        );
        assert_eq!(
            loaded.config,
            Config::default(),
            "{var}={} changed the value",
            env_text(expected)
        );
    }

    for row in &rows {
        if full_leaves.contains_key(&row.key) {
            continue;
        }
        // Not in the full example: a field of list entries, or an optional
        // key with no default; neither can be set from the environment.
        assert_eq!(
            row.env, "—",
            "docs/configuration.md:{}: {} has no env variable",
            row.line, row.key
        );
        if !row.key.contains("[]") {
            assert_eq!(
                row.default, "none",
                "docs/configuration.md:{}: {} is not in shipgate.full.toml, so it has no default",
                row.line, row.key
            );
            let defaults = to_table(&Config::default());
            assert!(
                get(&defaults, &row.key).is_none(),
                "{} has a default after all",
                row.key
            );
        }
    }
}

#[test]
fn documented_fields_are_exactly_the_accepted_ones() {
    let doc = read("docs/configuration.md");
    let rows = key_rows(&doc);

    // Every table that has a documented key, and each parent of it.
    let mut children: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in &rows {
        let mut key = row.key.as_str();
        while let Some((parent, field)) = key.rsplit_once('.') {
            children
                .entry(parent.to_string())
                .or_default()
                .insert(field.trim_end_matches("[]").to_string());
            key = parent;
        }
        children.entry(String::new()).or_default().insert(key.to_string());
    }

    let mut checked = 0;
    for (path, documented) in &children {
        let accepted = if path.is_empty() {
            // The top level: the sections themselves.
            accepted_fields_top_level()
        } else {
            match accepted_fields(path) {
                Some(fields) => fields,
                // A map such as `migrate.environments`: any name is a key.
                None => continue,
            }
        };
        assert_eq!(
            documented, &accepted,
            "fields of `{path}`: documented in docs/configuration.md (left), accepted by the configuration (right)"
        );
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} tables were compared");
}

fn accepted_fields_top_level() -> BTreeSet<String> {
    let error = toml::from_str::<Config>("zz_not_a_key = 1\n")
        .expect_err("an unknown section is refused")
        .to_string();
    let rest = error
        .split("unknown field `zz_not_a_key`, ")
        .nth(1)
        .expect("serde lists the sections");
    expected_fields(rest)
}

/// A placeholder value of the documented type, for required fields.
fn placeholder(row: &Row) -> Value {
    let kind = row.kind.as_str();
    if kind.starts_with("list") {
        Value::Array(vec![Value::String("feat".into())])
    } else if kind.starts_with("branch pattern") {
        Value::String("feature/*".into())
    } else if kind.starts_with("regular expression") {
        Value::String(r#"VERSION = "([^"]+)""#.into())
    } else if kind.starts_with("string") {
        Value::String("EXAMPLE".into())
    } else {
        panic!("docs/configuration.md:{}: no placeholder for type `{kind}`", row.line)
    }
}

#[test]
fn list_entry_fields_have_the_documented_defaults_and_required_ones() {
    let doc = read("docs/configuration.md");
    let rows = key_rows(&doc);
    let mut lists: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for row in &rows {
        if let Some((list, _)) = row.key.split_once("[]") {
            lists.entry(list).or_default().push(row);
        }
    }
    assert!(lists.len() >= 4, "list tables documented: {:?}", lists.keys());

    for (list, fields) in &lists {
        let required: Vec<&&Row> = fields.iter().filter(|row| row.default == "required").collect();
        let entry = |without: Option<&str>| {
            let mut entry = Table::new();
            for row in &required {
                let (_, field) = split_key(&row.key);
                if Some(field) != without {
                    entry.insert(field.to_string(), placeholder(row));
                }
            }
            let mut config = Table::new();
            let mut parent = &mut config;
            let parts: Vec<&str> = list.split('.').collect();
            for part in &parts[..parts.len() - 1] {
                parent = parent
                    .entry(part.to_string())
                    .or_insert_with(|| Value::Table(Table::new()))
                    .as_table_mut()
                    .expect("a table");
            }
            parent.insert(
                parts[parts.len() - 1].to_string(),
                Value::Array(vec![Value::Table(entry)]),
            );
            toml::to_string(&config).expect("serializes")
        };

        // The required fields are enough...
        let text = entry(None);
        let config: Config =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{list} with only its required fields: {e}\n{text}"));
        let back = to_table(&config);
        let first = get(&back, list)
            .and_then(Value::as_array)
            .and_then(|entries| entries.first())
            .and_then(Value::as_table)
            .unwrap_or_else(|| panic!("{list} came back without its entry"));
        // ...each of them is needed...
        for row in &required {
            let (_, field) = split_key(&row.key);
            assert!(
                toml::from_str::<Config>(&entry(Some(field))).is_err(),
                "docs/configuration.md:{}: {} is documented as required but may be left out",
                row.line,
                row.key
            );
        }
        // ...and the others get the documented default.
        for row in fields.iter().filter(|row| row.default != "required") {
            let (_, field) = split_key(&row.key);
            let actual = first.get(field);
            if row.default == "none" {
                assert_eq!(
                    actual, None,
                    "docs/configuration.md:{}: {} defaults to a value",
                    row.line, row.key
                );
            } else {
                let blocks = BTreeMap::new();
                assert_eq!(
                    actual,
                    Some(&documented_default(row, &blocks)),
                    "docs/configuration.md:{}: the default of {} differs",
                    row.line,
                    row.key
                );
            }
        }
    }
}
