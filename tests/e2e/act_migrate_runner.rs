//! The migrate-runner action under act, against a real ephemeral
//! PostgreSQL: wait, plan, up and backup, with the database URL (and its
//! password) passed as a secret.

use shipgate_testkit::act::{ActOptions, ActRepo};
use shipgate_testkit::pg::PgCluster;
use shipgate_testkit::tools::workspace_root;

const PASSWORD: &str = "e2e-Pa55word-3j9";

#[test]
fn migrate_runner_action_applies_migrations_under_act() {
    let cluster = PgCluster::start().expect("starting PostgreSQL");
    cluster.create_database("app").unwrap();
    cluster
        .psql(
            "app",
            &format!("CREATE ROLE deployer LOGIN SUPERUSER PASSWORD '{PASSWORD}'"),
        )
        .unwrap();
    let url = format!("postgres://deployer:{PASSWORD}@127.0.0.1:{}/app", cluster.port());

    let repo = ActRepo::new("migrate-runner.yml");
    let fixtures = workspace_root().join("fixtures/migrate-runner/native");
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        repo.write_file(
            &format!("db/migrations/{name}"),
            &std::fs::read_to_string(entry.path()).unwrap(),
        );
    }
    let act = repo.run(&ActOptions::event("push").secret("DATABASE_URL", url));
    assert!(act.success, "act failed; its output:\n{}", act.log);

    let plan: serde_json::Value = serde_json::from_str(&repo.result("plan.json", &act)).unwrap();
    assert_eq!(plan["operation"], "up");
    assert_eq!(plan["environment"], "staging");
    assert_eq!(plan["steps"].as_array().unwrap().len(), 2, "{plan}");
    assert!(plan["steps"][0]["sql"].as_str().unwrap().contains("CREATE TABLE users"));
    assert_eq!(repo.result("applied", &act), "3");
    assert_eq!(repo.result("pending", &act), "0");
    assert_eq!(repo.result("current-version", &act), "20240103000000");
    assert_eq!(repo.result("backup-file", &act), "backups/after.dump");
    assert_eq!(repo.result("backup-exists", &act).trim(), "yes");
    assert_eq!(repo.result("tool-version", &act), env!("CARGO_PKG_VERSION"));
    assert!(
        !act.log.contains(PASSWORD),
        "the password leaked into the log:\n{}",
        act.log
    );
    assert_eq!(
        cluster
            .psql("app", "SELECT count(*) FROM shipgate_migrations WHERE success")
            .unwrap()
            .trim(),
        "3"
    );
}
