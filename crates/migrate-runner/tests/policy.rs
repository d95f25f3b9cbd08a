//! Seed 003's per-environment policy, end to end: the run's environment
//! approvals come from the stateful fake GitHub, the database is real, and
//! the binary runs as it would in a GitHub Actions job.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{copy_fixture, run, run_at_terminal};
use shipgate_testkit::FakeGitHub;
use shipgate_testkit::cli::step_outputs;
use shipgate_testkit::pg::PgCluster;

struct Job {
    github: FakeGitHub,
    work: tempfile::TempDir,
    output: PathBuf,
    summary: PathBuf,
}

impl Job {
    fn new() -> Job {
        let github = FakeGitHub::with_repo("acme", "app");
        let work = tempfile::tempdir().unwrap();
        copy_fixture("sqlite", &work.path().join("migrations"));
        let output = work.path().join("github_output");
        let summary = work.path().join("step_summary");
        Job {
            github,
            work,
            output,
            summary,
        }
    }

    fn approve(&self, reviewer: &str, state: &str) {
        self.github
            .state()
            .seed_run_approval("acme", "app", 42, reviewer, state, "production");
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("GITHUB_ACTIONS", "true".into()),
            ("GITHUB_API_URL", self.github.url()),
            ("GITHUB_TOKEN", self.github.token().into()),
            ("GITHUB_REPOSITORY", "acme/app".into()),
            ("GITHUB_RUN_ID", "42".into()),
            ("GITHUB_ACTOR", "alice".into()),
            ("GITHUB_OUTPUT", self.output.display().to_string()),
            ("GITHUB_STEP_SUMMARY", self.summary.display().to_string()),
            (
                "DATABASE_URL",
                format!("sqlite:{}", self.work.path().join("prod.db").display()),
            ),
        ]
    }

    fn run(&self, args: &[&str]) -> common::Run {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
        run(self.work.path(), args, &env)
    }

    fn outputs(&self) -> BTreeMap<String, String> {
        step_outputs(&self.output)
    }

    fn ledger(&self, sql: &str) -> String {
        let connection = rusqlite::Connection::open(self.work.path().join("prod.db")).unwrap();
        connection
            .query_row(sql, [], |row| row.get::<_, String>(0))
            .unwrap_or_else(|error| format!("error: {error}"))
    }
}

#[test]
fn production_apply_needs_an_environment_approval_and_takes_a_backup() {
    let job = Job::new();
    // No approvals recorded for the run at all: GitHub cannot vouch for a review.
    let unreadable = job.run(&["up", "--env", "production"]);
    assert_eq!(unreadable.code, 1, "{unreadable:?}");
    assert!(
        unreadable.stderr.contains("approvals could not be read"),
        "{unreadable:?}"
    );
    job.approve("bob", "rejected");
    let refused = job.run(&["up", "--env", "production"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stdout.contains("::error"), "{refused:?}");
    assert!(
        refused.stderr.contains("needs 1 distinct environment approver"),
        "{refused:?}"
    );
    assert!(
        !job.work.path().join("prod.db").exists()
            || job
                .ledger("SELECT count(*) FROM shipgate_migrations")
                .starts_with("error")
    );

    job.approve("bob", "approved");
    let applied = job
        .run(&["up", "--env", "production", "--backup-path", "backups/pre.db"])
        .ok();
    assert!(
        applied.stderr.contains("backup written to backups/pre.db"),
        "{applied:?}"
    );
    let outputs = job.outputs();
    assert_eq!(outputs.get("applied").map(String::as_str), Some("3"), "{outputs:?}");
    assert_eq!(outputs.get("pending").map(String::as_str), Some("0"));
    assert_eq!(outputs.get("current-version").map(String::as_str), Some("0003"));
    assert_eq!(outputs.get("backup-file").map(String::as_str), Some("backups/pre.db"));
    assert!(job.work.path().join("backups/pre.db").is_file());
    let summary = std::fs::read_to_string(&job.summary).unwrap();
    insta::with_settings!({ filters => vec![
        (r"\| \d+ ms \|", "| [N] ms |"),
        (r"(?:/[^\s(/]+)*/\.tmp[0-9A-Za-z]{6}", "[TMP]"),
    ]}, {
        insta::assert_snapshot!("production_apply_summary", summary);
    });
    let requests = job.github.requests();
    assert!(
        requests
            .iter()
            .any(|request| request.path == "/repos/acme/app/actions/runs/42/approvals"),
        "{requests:?}"
    );
}

#[test]
fn production_rollback_needs_two_approvers_besides_the_actor() {
    let job = Job::new();
    job.approve("bob", "approved");
    job.run(&["up", "--env", "production"]).ok();
    job.approve("alice", "approved");
    let refused = job.run(&["down", "--env", "production"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("2 distinct environment approver(s) other than alice"),
        "{refused:?}"
    );
    assert_eq!(job.ledger("SELECT count(*) || '' FROM shipgate_migrations"), "3");

    job.approve("carol", "approved");
    job.run(&["down", "--env", "production"]).ok();
    assert_eq!(job.ledger("SELECT count(*) || '' FROM shipgate_migrations"), "2");
    assert_eq!(
        job.ledger(
            "SELECT actor || ' ' || command || ' ' || version || ': ' || detail FROM shipgate_migrations_events"
        ),
        "alice down 0003: rolled back index_users_email (approved by bob, carol)"
    );
}

/// A scratch directory with the SQLite migrations, and the URL of its
/// `prod.db`, for runs outside GitHub Actions.
fn outside_actions() -> (tempfile::TempDir, String) {
    let work = tempfile::tempdir().unwrap();
    copy_fixture("sqlite", &work.path().join("migrations"));
    let url = format!("sqlite:{}", work.path().join("prod.db").display());
    (work, url)
}

#[test]
fn production_rollback_is_refused_outside_actions_unless_overridden() {
    let (work, url) = outside_actions();
    let env = [("DATABASE_URL", url.as_str())];
    // Outside Actions with no terminal there is nobody to confirm an apply.
    let unconfirmed = run(work.path(), &["up", "--env", "production"], &env);
    assert_eq!(unconfirmed.code, 1, "{unconfirmed:?}");
    assert!(
        unconfirmed.stderr.contains("type the database name `prod`"),
        "{unconfirmed:?}"
    );
    run(work.path(), &["up", "--env", "staging"], &env).ok();
    assert!(
        std::fs::read_dir(work.path()).unwrap().all(|entry| !entry
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("shipgate-backup")),
        "staging takes no backup"
    );

    let refused = run(work.path(), &["down", "--env", "production"], &env);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("refused outside GitHub Actions"), "{refused:?}");
    let no_reason = run(work.path(), &["down", "--env", "production", "--override-policy"], &env);
    assert_eq!(no_reason.code, 2, "{no_reason:?}");

    let overridden = run(
        work.path(),
        &[
            "down",
            "--env",
            "production",
            "--override-policy",
            "--reason",
            "INC-7 hotfix",
        ],
        &env,
    )
    .ok();
    assert!(
        overridden
            .stderr
            .contains("POLICY OVERRIDE by tester for production: INC-7 hotfix"),
        "{overridden:?}"
    );
    let connection = rusqlite::Connection::open(work.path().join("prod.db")).unwrap();
    let events: Vec<String> = connection
        .prepare("SELECT command || ': ' || detail FROM shipgate_migrations_events ORDER BY rowid")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        events,
        [
            "down: policy override in production: INC-7 hotfix (rollback: two-person-approval)",
            "down: rolled back index_users_email (policy override: INC-7 hotfix)",
        ]
    );
}

#[test]
fn plan_shows_the_policy_decision_without_writing() {
    let job = Job::new();
    let plan = job.run(&["plan", "--env", "production", "--json"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    // In Actions, stdout also carries the runner's `::add-mask::` commands.
    let json: String = plan.stdout.lines().filter(|line| !line.starts_with("::")).collect();
    let document: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(document["policy"]["allowed"], false);
    assert_eq!(document["policy"]["backup_required"], true);
    assert_eq!(document["policy"]["rule"], "apply: manual-with-review");
    let outputs = job.outputs();
    let recorded: serde_json::Value = serde_json::from_str(outputs.get("plan").map(String::as_str).unwrap()).unwrap();
    assert_eq!(recorded["steps"].as_array().unwrap().len(), 3);
    assert!(
        !job.work.path().join("prod.db").exists()
            || job
                .ledger("SELECT count(*) FROM shipgate_migrations")
                .starts_with("error")
    );
}

#[test]
fn production_backup_on_postgres_is_a_pg_dump_archive() {
    let cluster = PgCluster::start().expect("starting PostgreSQL");
    cluster.create_database("app").unwrap();
    let job = Job::new();
    job.approve("bob", "approved");
    let dir = job.work.path().join("pg");
    copy_fixture("native", &dir);
    let url = cluster.url("app");
    let mut env = job.env();
    env.retain(|(name, _)| *name != "DATABASE_URL");
    env.push(("DATABASE_URL", url));
    let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let applied = run(
        job.work.path(),
        &["up", "--env", "production", "--dir", "pg", "--backup-path", "pre.dump"],
        &env,
    )
    .ok();
    let backup = job.work.path().join("pre.dump");
    assert!(backup.is_file(), "{applied:?}");
    let list = std::process::Command::new(cluster.bin_dir().join("pg_restore"))
        .arg("--list")
        .arg(&backup)
        .output()
        .unwrap();
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    // Taken before the migrations: the archive has no users table yet.
    assert!(!String::from_utf8_lossy(&list.stdout).contains("TABLE public users"));
    assert_eq!(
        cluster
            .psql("app", "SELECT count(*) FROM shipgate_migrations")
            .unwrap()
            .trim(),
        "3"
    );
}

#[test]
fn production_apply_needs_a_clean_lint() {
    let cluster = PgCluster::start().expect("starting PostgreSQL");
    cluster.create_database("app").unwrap();
    let job = Job::new();
    job.approve("bob", "approved");
    let dir = job.work.path().join("pg");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("1_users.sql"), "CREATE TABLE users (id int, email text);\n").unwrap();
    std::fs::write(dir.join("2_index.sql"), "CREATE INDEX users_email ON users (email);\n").unwrap();
    let mut env = job.env();
    env.retain(|(name, _)| *name != "DATABASE_URL");
    env.push(("DATABASE_URL", cluster.url("app")));
    let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let args = ["up", "--env", "production", "--dir", "pg", "--backup-path", "pre.dump"];
    let refused = run(job.work.path(), &args, &env);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("2_index.sql:1 [require-concurrent-index-creation]"),
        "{refused:?}"
    );
    assert!(!job.work.path().join("pre.dump").exists(), "refused before the backup");

    let lint = run(job.work.path(), &["lint", "--dir", "pg"], &env);
    assert_eq!(lint.code, 1, "{lint:?}");
    assert!(
        lint.stdout.contains("::error file="),
        "annotations in Actions: {lint:?}"
    );

    std::fs::write(
        dir.join("2_index.sql"),
        "-- shipgate:lint-ignore require-concurrent-index-creation\nCREATE INDEX users_email ON users (email);\n",
    )
    .unwrap();
    run(job.work.path(), &["lint", "--dir", "pg"], &env).ok();
    run(job.work.path(), &args, &env).ok();
}

#[test]
fn plan_and_up_give_the_same_verdict_without_a_terminal() {
    let (work, url) = outside_actions();
    let env = [("DATABASE_URL", url.as_str())];
    // The tests' stdin is not a terminal: nobody can type the database name.
    let plan = run(work.path(), &["plan", "--env", "production"], &env);
    assert_eq!(plan.code, 1, "{plan:?}");
    let verdict = plan.stdout.lines().last().unwrap_or_default();
    assert!(verdict.contains("REFUSED"), "{plan:?}");
    assert!(verdict.contains("none is attached"), "{plan:?}");
    let document = run(work.path(), &["plan", "--env", "production", "--json"], &env).json();
    assert_eq!(document["policy"]["allowed"], false, "{document}");
    assert_eq!(document["policy"]["confirm_on_terminal"], serde_json::Value::Null);

    let dry_run = run(work.path(), &["up", "--env", "production", "--dry-run"], &env);
    assert_eq!(dry_run.code, 1, "{dry_run:?}");
    assert_eq!(dry_run.stdout, plan.stdout, "`up --dry-run` is `plan`");

    let up = run(work.path(), &["up", "--env", "production"], &env);
    assert_eq!(up.code, 1, "{up:?}");
    let reason = document["policy"]["reason"].as_str().unwrap();
    assert!(
        up.stderr.contains(reason),
        "up refuses for the reason plan gave: {up:?}"
    );

    // An override is allowed by both.
    let overridden = ["--override-policy", "--reason", "INC-12 restore"];
    let plan = run(
        work.path(),
        &[&["plan", "--env", "production"][..], &overridden[..]].concat(),
        &env,
    )
    .ok();
    assert!(plan.stdout.contains("allowed — POLICY OVERRIDDEN"), "{plan:?}");
    run(
        work.path(),
        &[&["up", "--env", "production"][..], &overridden[..]].concat(),
        &env,
    )
    .ok();
}

#[test]
fn at_a_terminal_plan_allows_and_up_asks_for_the_database_name() {
    let (work, url) = outside_actions();
    let env = [("DATABASE_URL", url.as_str())];
    let plan = run_at_terminal(work.path(), &["plan", "--env", "production"], &env, "");
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout
            .contains("allowed — needs a person to confirm on a terminal by typing `prod`"),
        "{plan:?}"
    );

    let args = ["up", "--env", "production", "--backup-path", "pre.db"];
    let mistyped = run_at_terminal(work.path(), &args, &env, "production\n");
    assert_eq!(mistyped.code, 1, "{mistyped:?}");
    assert!(
        mistyped.stdout.contains("type the database name `prod` to continue"),
        "{mistyped:?}"
    );
    assert!(mistyped.stdout.contains("confirmation did not match"), "{mistyped:?}");

    let confirmed = run_at_terminal(work.path(), &args, &env, "prod\n");
    assert_eq!(confirmed.code, 0, "{confirmed:?}");
    assert!(confirmed.stdout.contains("3 migration(s) applied"), "{confirmed:?}");
    let connection = rusqlite::Connection::open(work.path().join("prod.db")).unwrap();
    let applied: i64 = connection
        .query_row("SELECT count(*) FROM shipgate_migrations", [], |row| row.get(0))
        .unwrap();
    assert_eq!(applied, 3);
}

#[test]
fn an_unreachable_approvals_api_is_an_external_failure() {
    let job = Job::new();
    // GitHub answers 5xx for longer than the retries last.
    job.github
        .state()
        .fail_next("/repos/acme/app/actions/runs/42/approvals", vec![502; 8]);
    let up = job.run(&["up", "--env", "production"]);
    assert_eq!(up.code, 3, "{up:?}");
    assert!(
        up.stderr.contains("cannot read the run's environment approvals"),
        "{up:?}"
    );
    assert_eq!(
        up.stdout.lines().filter(|line| line.starts_with("::error")).count(),
        1,
        "{up:?}"
    );
    assert!(
        !job.work.path().join("prod.db").exists()
            || job
                .ledger("SELECT count(*) FROM shipgate_migrations")
                .starts_with("error")
    );

    // Nothing listens on the API's port at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut env = job.env();
    env.retain(|(name, _)| *name != "GITHUB_API_URL");
    env.push(("GITHUB_API_URL", format!("http://127.0.0.1:{port}")));
    let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    for command in ["up", "plan"] {
        let refused = run(job.work.path(), &[command, "--env", "production"], &env);
        assert_eq!(refused.code, 3, "{command}: {refused:?}");
        assert!(
            refused.stderr.contains("cannot read the run's environment approvals"),
            "{command}: {refused:?}"
        );
    }
    // An override is for exactly this: GitHub is down and the fix must ship.
    let overridden = run(
        job.work.path(),
        &[
            "up",
            "--env",
            "production",
            "--override-policy",
            "--reason",
            "GitHub outage",
        ],
        &env,
    )
    .ok();
    assert!(overridden.stderr.contains("POLICY OVERRIDE"), "{overridden:?}");
}
