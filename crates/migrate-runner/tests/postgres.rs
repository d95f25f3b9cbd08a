//! migrate-runner against a real, ephemeral PostgreSQL (testkit PgCluster),
//! through the built binary.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{command, copy_fixture, finish, fixture, run};
use shipgate_testkit::pg::PgCluster;

fn cluster_with(db: &str) -> PgCluster {
    let cluster = PgCluster::start().expect("starting PostgreSQL");
    cluster.create_database(db).unwrap();
    cluster
}

fn schema(cluster: &PgCluster, db: &str) -> String {
    let pg_dump = cluster.bin_dir().join("pg_dump");
    let output = Command::new(pg_dump)
        .args([
            "--schema-only",
            "--no-owner",
            "--exclude-table=shipgate_migrations*",
            "-h",
            "127.0.0.1",
        ])
        .args(["-p", &cluster.port().to_string(), "-U", "postgres", db])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // pg_dump 15.14+ brackets the dump with a random `\restrict` key.
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with("\\restrict") && !line.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_format_goes_up_down_and_up_again_to_the_same_schema() {
    let cluster = PgCluster::start().expect("starting PostgreSQL");
    let work = tempfile::tempdir().unwrap();
    for format in ["native", "golang-migrate", "dbmate", "goose", "flyway", "diesel"] {
        let db = format.replace('-', "_");
        cluster.create_database(&db).unwrap();
        let url = cluster.url(&db);
        let dir = fixture(format);
        let args = |command: &'static str, extra: &[&'static str]| {
            let mut all = vec![
                command,
                "--database-url",
                &url,
                "--dir",
                dir.to_str().unwrap(),
                "--format",
                format,
            ];
            all.extend_from_slice(extra);
            run(work.path(), &all, &[])
        };
        let up = args("up", &["--json"]).ok().json();
        assert_eq!(up["applied"].as_array().unwrap().len(), 3, "{format}: {up}");
        let before = schema(&cluster, &db);
        assert!(before.contains("CREATE INDEX users_email_idx"), "{format}: {before}");
        assert!(before.contains("FUNCTION public.post_count"), "{format}: {before}");
        let ledger = cluster
            .psql(
                &db,
                "SELECT string_agg(statements_done::text, ',' ORDER BY version) FROM shipgate_migrations",
            )
            .unwrap();
        assert_eq!(ledger.trim(), "1,2,1", "{format}");

        args("down", &["--to", "0"]).ok();
        let empty = schema(&cluster, &db);
        assert!(!empty.contains("users"), "{format}: {empty}");
        assert_eq!(
            cluster
                .psql(&db, "SELECT count(*) FROM shipgate_migrations")
                .unwrap()
                .trim(),
            "0"
        );

        args("up", &[]).ok();
        assert_eq!(
            schema(&cluster, &db),
            before,
            "{format}: schema differs after down and up"
        );
        let status = args("status", &["--json"]).ok().json();
        assert_eq!(status["counts"]["applied"], 3, "{format}: {status}");
        assert_eq!(status["format"], format);
    }
}

#[test]
fn ledger_rows_and_masked_passwords() {
    let cluster = cluster_with("app");
    cluster
        .psql("app", "CREATE ROLE deployer LOGIN SUPERUSER PASSWORD 'pa55-w0rd-xyz'")
        .unwrap();
    let url = format!(
        "postgres://deployer:pa55-w0rd-xyz@127.0.0.1:{}/app?sslmode=disable",
        cluster.port()
    );
    let work = tempfile::tempdir().unwrap();
    copy_fixture("native", &work.path().join("migrations"));
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("GITHUB_ACTOR", "octocat"),
        ("GITHUB_REPOSITORY", "acme/app"),
        ("GITHUB_RUN_ID", "77"),
    ];
    let mut outputs = Vec::new();
    for args in [
        &["up", "-v"][..],
        &["status"],
        &["status", "--json"],
        &["plan", "--down", "--steps", "2"],
    ] {
        let result = run(work.path(), args, &env).ok();
        outputs.push(format!("{}{}", result.stdout, result.stderr));
    }
    let all = outputs.join("\n");
    assert!(all.contains("postgres://deployer:***@127.0.0.1"), "{all}");
    assert!(!all.contains("pa55-w0rd-xyz"), "the password leaked: {all}");
    assert!(all.contains("DROP INDEX CONCURRENTLY users_email_idx"), "{all}");

    let rows = cluster
        .psql(
            "app",
            "SELECT version, name, applied_by, run_url, success, statements_done, execution_ms >= 0, checksum ~ '^[0-9a-f]{64}$', applied_at LIKE '20%Z' FROM shipgate_migrations ORDER BY version",
        )
        .unwrap();
    assert_eq!(
        rows.trim(),
        "20240101000000|create_users|octocat|https://github.com/acme/app/actions/runs/77|t|1|t|t|t\n\
         20240102000000|create_posts|octocat|https://github.com/acme/app/actions/runs/77|t|2|t|t|t\n\
         20240103000000|index_users_email|octocat|https://github.com/acme/app/actions/runs/77|t|1|t|t|t"
    );
}

#[test]
fn a_failing_migration_names_its_line_and_leaves_nothing() {
    let cluster = cluster_with("app");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("migrations");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("1_ok.sql"), "CREATE TABLE ok (id int);\n").unwrap();
    std::fs::write(
        dir.join("2_bad.sql"),
        "CREATE TABLE half (id int);\n\nSELECT * FROM nowhere;\n",
    )
    .unwrap();
    let url = cluster.url("app");
    let failed = run(work.path(), &["up", "--database-url", &url], &[]);
    assert_eq!(failed.code, 2, "{failed:?}");
    assert!(failed.stderr.contains("2_bad.sql:3"), "{failed:?}");
    assert!(
        failed.stderr.contains("relation \"nowhere\" does not exist (42P01)"),
        "{failed:?}"
    );
    assert_eq!(
        cluster
            .psql("app", "SELECT string_agg(version, ',') FROM shipgate_migrations")
            .unwrap()
            .trim(),
        "1"
    );
    assert_eq!(
        cluster
            .psql("app", "SELECT to_regclass('half') IS NULL")
            .unwrap()
            .trim(),
        "t"
    );
}

/// A set where every migration also bumps a counter, so applying one twice shows.
fn counting_set(dir: &std::path::Path, count: usize) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("0000_counter.sql"),
        "CREATE TABLE applied_count (version int PRIMARY KEY, times int NOT NULL);\n",
    )
    .unwrap();
    for version in 1..=count {
        std::fs::write(
            dir.join(format!("{version:04}_step.sql")),
            format!(
                "CREATE TABLE t{version} (id int);\nINSERT INTO applied_count VALUES ({version}, 1) ON CONFLICT (version) DO UPDATE SET times = applied_count.times + 1;\nSELECT pg_sleep(0.01);\n"
            ),
        )
        .unwrap();
    }
}

#[test]
fn concurrent_runs_apply_each_migration_exactly_once() {
    let cluster = PgCluster::start().expect("starting PostgreSQL");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("migrations");
    counting_set(&dir, 30);
    for (db, processes) in [("two", 2), ("eight", 8)] {
        cluster.create_database(db).unwrap();
        let url = cluster.url(db);
        let children: Vec<_> = (0..processes)
            .map(|_| {
                command(
                    work.path(),
                    &["up", "--database-url", &url, "--lock-timeout", "120s"],
                    &[],
                )
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
            })
            .collect();
        for child in children {
            finish(child.wait_with_output().unwrap()).ok();
        }
        let counts = cluster
            .psql(db, "SELECT count(*), sum(times), max(times) FROM applied_count")
            .unwrap();
        assert_eq!(counts.trim(), "30|30|1", "{db}");
        let ledger = cluster.psql(db, "SELECT count(*) FROM shipgate_migrations").unwrap();
        assert_eq!(ledger.trim(), "31", "{db}");
    }
}

#[test]
fn a_killed_run_resumes_a_non_transactional_file_where_it_stopped() {
    let cluster = cluster_with("app");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("migrations");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("1_slow.sql"),
        "-- no-transaction\nCREATE TABLE first (id int);\nSELECT pg_sleep(2);\nCREATE TABLE second (id int);\n",
    )
    .unwrap();
    let url = cluster.url("app");
    let mut child = command(work.path(), &["up", "--database-url", &url], &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done = cluster
            .psql(
                "app",
                "SELECT coalesce((SELECT statements_done FROM shipgate_migrations WHERE version = '1'), -1)",
            )
            .unwrap_or_default();
        if done.trim() == "1" {
            break;
        }
        assert!(Instant::now() < deadline, "the first statement never completed");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGKILL: no chance to clean up.
    let killed = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    child.wait().unwrap();
    assert_eq!(
        cluster
            .psql("app", "SELECT success, statements_done FROM shipgate_migrations")
            .unwrap()
            .trim(),
        "f|1"
    );
    let status = run(work.path(), &["status", "--database-url", &url, "--json"], &[])
        .ok()
        .json();
    assert_eq!(status["counts"]["partial"], 1, "{status}");

    // `first` exists; re-running statement 1 would fail, so success proves the resume point.
    let resumed = run(work.path(), &["up", "--database-url", &url], &[]).ok();
    assert!(
        resumed.stderr.contains("resuming 1 slow at statement 2 of 3"),
        "{resumed:?}"
    );
    assert_eq!(
        cluster
            .psql(
                "app",
                "SELECT success, statements_done, to_regclass('second') IS NOT NULL FROM shipgate_migrations"
            )
            .unwrap()
            .trim(),
        "t|3|t"
    );
}

#[test]
fn the_lock_times_out_instead_of_blocking() {
    let cluster = cluster_with("app");
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("migrations");
    counting_set(&dir, 1);
    let url = cluster.url("app");
    let key: i64 = migrate_runner::lock::lock_key("app", "public", "shipgate_migrations");
    // Hold the lock from another session for 3 s.
    let holder = Command::new(cluster.bin_dir().join("psql"))
        .args([
            "-X",
            "-h",
            "127.0.0.1",
            "-p",
            &cluster.port().to_string(),
            "-U",
            "postgres",
            "-d",
            "app",
        ])
        .args(["-c", &format!("SELECT pg_advisory_lock({key}); SELECT pg_sleep(3);")])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let blocked = run(
        work.path(),
        &["up", "--database-url", &url, "--lock-timeout", "1s"],
        &[],
    );
    assert_eq!(blocked.code, 3, "{blocked:?}");
    assert!(blocked.stderr.contains("holds the lock"), "{blocked:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "waited {:?}",
        started.elapsed()
    );
    // The escape hatch for PgBouncer ignores the advisory lock.
    run(work.path(), &["up", "--database-url", &url, "--lock", "none"], &[]).ok();
    finish(holder.wait_with_output().unwrap());
}

#[test]
fn connection_errors_keep_host_port_and_database_and_mask_only_the_password() {
    let work = tempfile::tempdir().unwrap();
    copy_fixture("native", &work.path().join("migrations"));
    let outputs = work.path().join("outputs");
    let summary = work.path().join("summary.md");
    // Nothing listens on port 1: the connection is refused.
    let cases = [
        ("postgres://deployer@127.0.0.1:1/shop", Vec::<&str>::new()),
        (
            "postgres://deployer:Pw-masked-only-42@127.0.0.1:1/shop",
            vec!["Pw-masked-only-42"],
        ),
    ];
    for (url, masks) in cases {
        let result = run(
            work.path(),
            &["status"],
            &[
                ("DATABASE_URL", url),
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
                ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ],
        );
        assert_eq!(result.code, 3, "{result:?}");
        assert!(
            result
                .stderr
                .starts_with("migrate-runner: error: cannot connect to postgres://deployer"),
            "{result:?}"
        );
        assert!(result.stderr.contains("@127.0.0.1:1/shop: "), "{result:?}");
        let announced: Vec<&str> = result
            .stdout
            .lines()
            .filter_map(|line| line.strip_prefix("::add-mask::"))
            .collect();
        assert_eq!(announced, masks, "{result:?}");
        assert!(!result.stderr.contains("Pw-masked-only-42"), "{result:?}");
    }
}
