//! migrate-runner against real SQLite files, through the built binary.

mod common;

use common::{copy_fixture, fixture, run};

fn query(db: &std::path::Path, sql: &str) -> Vec<Vec<String>> {
    let connection = rusqlite::Connection::open(db).unwrap();
    let mut statement = connection.prepare(sql).unwrap();
    let columns = statement.column_count();
    statement
        .query_map([], |row| {
            (0..columns)
                .map(|index| {
                    Ok(match row.get_ref(index)? {
                        rusqlite::types::ValueRef::Null => "NULL".to_string(),
                        rusqlite::types::ValueRef::Integer(value) => value.to_string(),
                        rusqlite::types::ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
                        other => format!("{other:?}"),
                    })
                })
                .collect()
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn development_defaults_to_a_local_sqlite_file_and_round_trips() {
    let work = tempfile::tempdir().unwrap();
    copy_fixture("sqlite", &work.path().join("migrations"));
    let status = run(work.path(), &["status", "--json"], &[]).ok().json();
    assert_eq!(status["database"], "sqlite:./shipgate-dev.db");
    assert_eq!(status["counts"]["pending"], 3);
    assert_eq!(status["current_version"], serde_json::Value::Null);

    let up = run(work.path(), &["up", "--json"], &[]).ok().json();
    assert_eq!(up["applied"].as_array().unwrap().len(), 3, "{up}");
    assert_eq!(up["current_version"], "0003");
    let db = work.path().join("shipgate-dev.db");
    let rows = query(
        &db,
        "SELECT version, name, applied_by, success, statements_done, length(checksum) FROM shipgate_migrations ORDER BY version",
    );
    assert_eq!(
        rows,
        [
            ["0001", "create_users", "tester", "1", "1", "64"],
            ["0002", "create_posts", "tester", "1", "2", "64"],
            ["0003", "index_users_email", "tester", "1", "2", "64"],
        ]
    );
    assert_eq!(query(&db, "SELECT count(*) FROM users"), [["1"]]);
    // Writes go through a TRUNCATE journal, but the file keeps its DELETE
    // mode and no journal file is left behind.
    assert_eq!(query(&db, "PRAGMA journal_mode"), [["delete"]]);
    assert!(!work.path().join("shipgate-dev.db-journal").exists());

    // Nothing left to do: a second run is a no-op.
    let again = run(work.path(), &["up", "--json"], &[]).ok().json();
    assert_eq!(again["applied"].as_array().unwrap().len(), 0);

    let down = run(work.path(), &["down", "--steps", "2"], &[]).ok();
    assert!(down.stderr.contains("rolled back 0003"), "{down:?}");
    assert_eq!(
        query(&db, "SELECT version FROM shipgate_migrations ORDER BY version"),
        [["0001"]]
    );
    assert_eq!(
        query(
            &db,
            "SELECT command, version, actor FROM shipgate_migrations_events ORDER BY rowid"
        ),
        [["down", "0003", "tester"], ["down", "0002", "tester"]]
    );
    run(work.path(), &["down", "--to", "0"], &[]).ok();
    assert_eq!(
        query(
            &db,
            "SELECT count(*) FROM sqlite_master WHERE name IN ('users', 'posts')"
        ),
        [["0"]]
    );
    run(work.path(), &["up", "--to", "0002"], &[]).ok();
    let status = run(work.path(), &["status", "--json"], &[]).ok().json();
    assert_eq!(status["current_version"], "0002");
    assert_eq!(status["counts"]["pending"], 1);
}

#[test]
fn line_endings_are_not_drift_but_edits_are() {
    let work = tempfile::tempdir().unwrap();
    let dir = copy_fixture("sqlite", &work.path().join("migrations"));
    let url = format!("sqlite:{}", work.path().join("app.db").display());
    let args = |command: &str| vec![command.to_string(), "--database-url".to_string(), url.clone()];
    let call = |extra: &[&str], command: &str| {
        let mut all = args(command);
        all.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        run(work.path(), &refs, &[])
    };
    call(&[], "up").ok();
    let first = dir.join("0001_create_users.up.sql");
    let text = std::fs::read_to_string(&first).unwrap();
    std::fs::write(&first, format!("\u{feff}{}", text.replace('\n', "\r\n"))).unwrap();
    call(&[], "verify").ok();

    std::fs::write(&first, text.replace("email", "mail")).unwrap();
    let verify = call(&["--json"], "verify");
    assert_eq!(verify.code, 1, "{verify:?}");
    assert_eq!(verify.json()["drifted"][0]["version"], "0001");
    let status = call(&["--json"], "status").ok().json();
    assert_eq!(status["counts"]["drifted"], 1);

    // A new migration cannot be applied over drift...
    std::fs::write(dir.join("0004_more.sql"), "CREATE TABLE more (id INTEGER);\n").unwrap();
    let refused = call(&[], "up");
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("checksum drift"), "{refused:?}");
    // ...unless the operator says so.
    call(&["--allow-drift"], "up").ok();
}

#[test]
fn out_of_order_files_need_a_flag() {
    let work = tempfile::tempdir().unwrap();
    let dir = copy_fixture("sqlite", &work.path().join("migrations"));
    std::fs::rename(dir.join("0002_create_posts.up.sql"), work.path().join("held.up.sql")).unwrap();
    std::fs::rename(
        dir.join("0002_create_posts.down.sql"),
        work.path().join("held.down.sql"),
    )
    .unwrap();
    run(work.path(), &["up"], &[]).ok();
    std::fs::rename(work.path().join("held.up.sql"), dir.join("0002_create_posts.up.sql")).unwrap();
    std::fs::rename(
        work.path().join("held.down.sql"),
        dir.join("0002_create_posts.down.sql"),
    )
    .unwrap();
    let status = run(work.path(), &["status"], &[]).ok();
    assert!(status.stdout.contains("0002     out-of-order"), "{status:?}");
    let refused = run(work.path(), &["up"], &[]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("--allow-out-of-order"), "{refused:?}");
    run(work.path(), &["up", "--allow-out-of-order"], &[]).ok();
    let status = run(work.path(), &["status", "--json"], &[]).ok().json();
    assert_eq!(status["counts"]["applied"], 3);
}

#[test]
fn a_failing_migration_leaves_nothing_behind() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("migrations");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("1_ok.sql"), "CREATE TABLE ok (id INTEGER);\n").unwrap();
    std::fs::write(
        dir.join("2_bad.sql"),
        "CREATE TABLE half (id INTEGER);\n\nINSERT INTO nowhere VALUES (1);\n",
    )
    .unwrap();
    let failed = run(work.path(), &["up"], &[]);
    assert_eq!(failed.code, 2, "{failed:?}");
    assert!(failed.stderr.contains("2_bad.sql"), "{failed:?}");
    assert!(failed.stderr.contains("no such table: nowhere"), "{failed:?}");
    let db = work.path().join("shipgate-dev.db");
    assert_eq!(query(&db, "SELECT version FROM shipgate_migrations"), [["1"]]);
    assert_eq!(
        query(&db, "SELECT count(*) FROM sqlite_master WHERE name = 'half'"),
        [["0"]]
    );
}

#[test]
fn single_transaction_applies_all_or_none() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("migrations");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("1_ok.sql"), "CREATE TABLE ok (id INTEGER);\n").unwrap();
    std::fs::write(dir.join("2_bad.sql"), "INSERT INTO nowhere VALUES (1);\n").unwrap();
    let db = work.path().join("shipgate-dev.db");
    let failed = run(work.path(), &["up", "--single-transaction"], &[]);
    assert_eq!(failed.code, 2, "{failed:?}");
    assert!(failed.stderr.contains("no such table: nowhere"), "{failed:?}");
    // The first migration ran, then rolled back with the second.
    assert_eq!(query(&db, "SELECT count(*) FROM shipgate_migrations"), [["0"]]);
    assert_eq!(
        query(&db, "SELECT count(*) FROM sqlite_master WHERE name = 'ok'"),
        [["0"]]
    );

    // The config key turns the mode on as the flag does; a file that must run
    // outside a transaction commits the group before it and starts another.
    std::fs::write(dir.join("2_bad.sql"), "CREATE TABLE second (id INTEGER);\n").unwrap();
    std::fs::write(
        dir.join("3_apart.sql"),
        "-- no-transaction\nCREATE TABLE apart (id INTEGER);\n",
    )
    .unwrap();
    std::fs::write(dir.join("4_last.sql"), "CREATE TABLE last (id INTEGER);\n").unwrap();
    std::fs::write(
        work.path().join("shipgate.toml"),
        "[migrate]\nsingle_transaction = true\n",
    )
    .unwrap();
    let applied = run(work.path(), &["up", "--json"], &[]).ok();
    assert_eq!(
        applied.json()["applied"].as_array().map(Vec::len),
        Some(4),
        "{applied:?}"
    );
    assert_eq!(
        query(&db, "SELECT version, success FROM shipgate_migrations ORDER BY version"),
        [["1", "1"], ["2", "1"], ["3", "1"], ["4", "1"]]
    );
    // Nothing of the mode stays in the file: the journal is back to DELETE.
    assert_eq!(query(&db, "PRAGMA journal_mode"), [["delete"]]);
}

#[test]
fn plan_prints_the_sql_and_writes_nothing() {
    let work = tempfile::tempdir().unwrap();
    copy_fixture("sqlite", &work.path().join("migrations"));
    let plan = run(work.path(), &["plan"], &[]).ok();
    // The SQL of each step, how it runs, and the policy verdict.
    insta::with_settings!({ filters => vec![(r"(?:/[^\s(/]+)*/\.tmp[0-9A-Za-z]{6}", "[TMP]")] }, {
        insta::assert_snapshot!("plan", plan.stdout);
    });
    let json = run(work.path(), &["up", "--dry-run", "--json"], &[]).ok().json();
    assert_eq!(json["operation"], "up");
    assert_eq!(json["steps"].as_array().unwrap().len(), 3);
    assert_eq!(json["policy"]["allowed"], true);
    let db = work.path().join("shipgate-dev.db");
    assert_eq!(query(&db, "SELECT count(*) FROM sqlite_master"), [["0"]]);
}

#[test]
fn new_continues_each_format() {
    let work = tempfile::tempdir().unwrap();
    let dir = copy_fixture("dbmate", &work.path().join("db"));
    let created = run(work.path(), &["new", "Add posts body", "--dir", "db", "--json"], &[])
        .ok()
        .json();
    assert_eq!(created["format"], "dbmate");
    let file = created["files"][0].as_str().unwrap();
    assert!(file.ends_with("_add_posts_body.sql"), "{file}");
    let text = std::fs::read_to_string(work.path().join(file)).unwrap();
    assert!(text.starts_with("-- migrate:up"));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 4);

    copy_fixture("flyway", &work.path().join("fly"));
    let created = run(work.path(), &["new", "x", "--dir", "fly", "--json"], &[])
        .ok()
        .json();
    assert_eq!(created["files"][0], "fly/V4__x.sql");

    let dry = run(work.path(), &["new", "y", "--dir", "fresh", "--dry-run"], &[]).ok();
    assert!(dry.stdout.contains("would create fresh/"), "{dry:?}");
    assert!(!work.path().join("fresh").exists());
}

#[test]
fn backup_uses_vacuum_into() {
    let work = tempfile::tempdir().unwrap();
    copy_fixture("sqlite", &work.path().join("migrations"));
    run(work.path(), &["up"], &[]).ok();
    let backup = run(work.path(), &["backup", "--output", "backups/dev.db", "--json"], &[])
        .ok()
        .json();
    assert_eq!(backup["backup_file"], "backups/dev.db");
    assert_eq!(
        query(
            &work.path().join("backups/dev.db"),
            "SELECT count(*) FROM shipgate_migrations"
        ),
        [["3"]]
    );
    let again = run(work.path(), &["backup", "--output", "backups/dev.db"], &[]);
    assert_eq!(again.code, 2, "{again:?}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let work = tempfile::tempdir().unwrap();
    let missing = run(work.path(), &["status"], &[]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(
        missing.stderr.contains("cannot read the migrations directory"),
        "{missing:?}"
    );
    assert_eq!(missing.stderr.trim().lines().count(), 1, "{missing:?}");
    let scheme = run(
        work.path(),
        &["status", "--database-url", "mysql://u:hunter2@h/db"],
        &[],
    );
    assert_eq!(scheme.code, 2);
    assert!(!scheme.stderr.contains("hunter2"), "{scheme:?}");
    let production = run(
        work.path(),
        &[
            "up",
            "--env",
            "production",
            "--dir",
            fixture("sqlite").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(production.code, 2);
    assert!(production.stderr.contains("no database URL"), "{production:?}");
}

#[test]
fn exec_wraps_another_migrator_with_an_audit_row() {
    let work = tempfile::tempdir().unwrap();
    let script = "sqlite_db=${DATABASE_URL#sqlite:}; test -n \"$sqlite_db\" && echo migrated-by-framework";
    let ran = run(work.path(), &["exec", "--", "sh", "-c", script], &[]).ok();
    assert!(ran.stdout.contains("migrated-by-framework"), "{ran:?}");
    let db = work.path().join("shipgate-dev.db");
    let events = query(
        &db,
        "SELECT command, detail LIKE '`sh -c %` succeeded in % ms', actor FROM shipgate_migrations_events",
    );
    assert_eq!(events, [["exec", "1", "tester"]]);
    let failed = run(work.path(), &["exec", "--", "sh", "-c", "exit 4"], &[]);
    assert_eq!(failed.code, 1, "{failed:?}");
    assert!(failed.stderr.contains("failed (exit status: 4)"), "{failed:?}");
    assert_eq!(query(&db, "SELECT count(*) FROM shipgate_migrations_events"), [["2"]]);
    let missing = run(work.path(), &["exec"], &[]);
    assert_eq!(missing.code, 2, "{missing:?}");
}

#[test]
fn the_environment_variable_picks_the_policy() {
    let work = tempfile::tempdir().unwrap();
    copy_fixture("sqlite", &work.path().join("migrations"));
    let plan = run(
        work.path(),
        &["plan", "--json", "--database-url", "sqlite:staging.db"],
        &[("SHIPGATE_ENVIRONMENT", "staging")],
    )
    .ok()
    .json();
    assert_eq!(plan["environment"], "staging", "{plan}");
    assert_eq!(plan["operation"], "up", "{plan}");
}

#[test]
fn a_damaged_or_foreign_database_file_is_named() {
    let work = tempfile::tempdir().unwrap();
    copy_fixture("sqlite", &work.path().join("migrations"));
    std::fs::write(
        work.path().join("notes.db"),
        "not a database, only text that happens to end in .db\n".repeat(40),
    )
    .unwrap();
    let foreign = run(work.path(), &["status", "--database-url", "sqlite:notes.db"], &[]);
    assert_eq!(foreign.code, 2, "{foreign:?}");
    assert_eq!(foreign.stderr.trim().lines().count(), 1, "{foreign:?}");
    assert!(
        foreign.stderr.contains("notes.db: file is not a database"),
        "{foreign:?}"
    );

    // A real database whose ledger page was overwritten.
    run(work.path(), &["up", "--database-url", "sqlite:app.db"], &[]).ok();
    let db = work.path().join("app.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    assert!(bytes.len() > 2 * page_size, "several pages: {}", bytes.len());
    for byte in &mut bytes[page_size..] {
        *byte = 0xA5;
    }
    std::fs::write(&db, bytes).unwrap();
    let damaged = run(work.path(), &["status", "--database-url", "sqlite:app.db"], &[]);
    assert_eq!(damaged.code, 2, "{damaged:?}");
    assert!(
        damaged.stderr.contains("app.db: database disk image is malformed"),
        "{damaged:?}"
    );
    assert!(damaged.stderr.contains("restore it from a backup"), "{damaged:?}");
}
