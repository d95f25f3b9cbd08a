//! Adopting databases: `repair`, `baseline`, and `import` from the ledgers
//! of dbmate (the real dbmate binary), sqlx, golang-migrate, Flyway, diesel
//! and goose.

mod common;

use std::process::Command;

use common::{copy_fixture, run};
use shipgate_testkit::pg::PgCluster;
use shipgate_testkit::tools::find_tool;

fn sqlite(db: &std::path::Path, sql: &str) {
    rusqlite::Connection::open(db).unwrap().execute_batch(sql).unwrap();
}

fn single(db: &std::path::Path, sql: &str) -> String {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |row| row.get::<_, String>(0))
        .unwrap()
}

#[test]
fn repair_accepts_a_changed_checksum_with_who_and_why() {
    let work = tempfile::tempdir().unwrap();
    let dir = copy_fixture("sqlite", &work.path().join("migrations"));
    run(work.path(), &["up"], &[]).ok();
    let file = dir.join("0002_create_posts.up.sql");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("-- reviewed\n{text}")).unwrap();
    assert_eq!(run(work.path(), &["verify"], &[]).code, 1);
    let no_reason = run(work.path(), &["repair", "--accept-checksum", "0002"], &[]);
    assert_eq!(no_reason.code, 2, "{no_reason:?}");
    run(
        work.path(),
        &[
            "repair",
            "--accept-checksum",
            "2",
            "--reason",
            "comment only",
            "--dry-run",
        ],
        &[],
    )
    .ok();
    assert_eq!(run(work.path(), &["verify"], &[]).code, 1, "dry-run changed nothing");
    run(
        work.path(),
        &["repair", "--accept-checksum", "0002", "--reason", "comment only"],
        &[],
    )
    .ok();
    run(work.path(), &["verify"], &[]).ok();
    let db = work.path().join("shipgate-dev.db");
    let note = single(&db, "SELECT note FROM shipgate_migrations WHERE version = '0002'");
    assert!(
        note.starts_with("checksum accepted by tester: comment only (was "),
        "{note}"
    );
    assert_eq!(
        single(
            &db,
            "SELECT command || ' ' || version || ' ' || actor FROM shipgate_migrations_events"
        ),
        "repair 0002 tester"
    );
}

#[test]
fn baseline_records_without_running() {
    let work = tempfile::tempdir().unwrap();
    copy_fixture("sqlite", &work.path().join("migrations"));
    let db = work.path().join("shipgate-dev.db");
    // The schema of 0001 exists already, made by hand.
    sqlite(&db, "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);");
    assert_eq!(run(work.path(), &["up"], &[]).code, 2, "0001 would fail: users exists");
    let baseline = run(work.path(), &["baseline", "0001", "--json"], &[]).ok().json();
    assert_eq!(baseline["recorded"], serde_json::json!(["0001"]));
    run(work.path(), &["up"], &[]).ok();
    assert_eq!(
        single(&db, "SELECT note FROM shipgate_migrations WHERE version = '0001'"),
        "baseline 0001 by tester"
    );
    assert_eq!(single(&db, "SELECT count(*) || '' FROM shipgate_migrations"), "3");
    assert_eq!(run(work.path(), &["baseline", "9"], &[]).code, 2);
}

#[test]
fn import_reads_each_tools_ledger() {
    let cases: [(&str, &str); 5] = [
        (
            "sqlx",
            "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT, installed_on TEXT, success BOOLEAN, checksum BLOB, execution_time BIGINT);
             INSERT INTO _sqlx_migrations VALUES (1, 'create users', '', 1, x'00', 1), (2, 'create posts', '', 0, x'00', 1);",
        ),
        (
            "golang-migrate",
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, dirty BOOLEAN NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 0);",
        ),
        (
            "flyway",
            "CREATE TABLE flyway_schema_history (installed_rank INT, version TEXT, description TEXT, type TEXT, script TEXT, checksum INT, installed_by TEXT, installed_on TEXT, execution_time INT, success BOOLEAN);
             INSERT INTO flyway_schema_history VALUES (1, '1', 'create users', 'SQL', 'V1__create_users.sql', 0, 'x', '', 1, 1);",
        ),
        (
            "diesel",
            "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY, run_on TEXT);
             INSERT INTO __diesel_schema_migrations VALUES ('0001', '');",
        ),
        (
            "goose",
            "CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY, version_id BIGINT, is_applied BOOLEAN, tstamp TEXT);
             INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1), (1, 1), (2, 1), (2, 0);",
        ),
    ];
    for (tool, ledger) in cases {
        let work = tempfile::tempdir().unwrap();
        copy_fixture("sqlite", &work.path().join("migrations"));
        let db = work.path().join("shipgate-dev.db");
        sqlite(&db, "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);");
        sqlite(&db, ledger);
        let imported = run(work.path(), &["import", "--from", tool, "--json"], &[]).ok().json();
        assert_eq!(imported["recorded"], serde_json::json!(["0001"]), "{tool}: {imported}");
        run(work.path(), &["up"], &[]).ok();
        assert_eq!(
            single(&db, "SELECT note FROM shipgate_migrations WHERE version = '0001'"),
            format!(
                "imported from {tool} `{}` by tester",
                imported["table"].as_str().unwrap()
            ),
            "{tool}"
        );
    }
    let work = tempfile::tempdir().unwrap();
    copy_fixture("sqlite", &work.path().join("migrations"));
    let missing = run(work.path(), &["import", "--from", "flyway"], &[]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(
        missing.stderr.contains("no `flyway_schema_history` table"),
        "{missing:?}"
    );
}

#[test]
fn import_from_a_database_dbmate_migrated() {
    let cluster = PgCluster::start().expect("starting PostgreSQL");
    cluster.create_database("app").unwrap();
    let dbmate = find_tool("dbmate").expect("dbmate is required");
    let work = tempfile::tempdir().unwrap();
    let dir = copy_fixture("dbmate", &work.path().join("db"));
    let url = format!("{}?sslmode=disable", cluster.url("app"));
    let migrated = Command::new(dbmate)
        .args(["--no-dump-schema", "--migrations-dir"])
        .arg(&dir)
        .args(["--url", &url, "up"])
        .output()
        .unwrap();
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let pending = run(
        work.path(),
        &["status", "--dir", "db", "--database-url", &url, "--json"],
        &[],
    )
    .ok()
    .json();
    assert_eq!(pending["counts"]["pending"], 3);
    let imported = run(
        work.path(),
        &[
            "import",
            "--from",
            "dbmate",
            "--dir",
            "db",
            "--database-url",
            &url,
            "--json",
        ],
        &[],
    )
    .ok()
    .json();
    assert_eq!(imported["recorded"].as_array().unwrap().len(), 3, "{imported}");
    let up = run(
        work.path(),
        &["up", "--dir", "db", "--database-url", &url, "--json"],
        &[],
    )
    .ok()
    .json();
    assert_eq!(up["applied"].as_array().unwrap().len(), 0, "{up}");
}
