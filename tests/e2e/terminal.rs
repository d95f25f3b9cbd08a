//! What a person sees at a terminal: every command that draws a progress bar
//! runs on a real pseudo-terminal, and the screen, replayed through a
//! terminal emulator, holds only whole lines: the bar is gone and no line
//! was written on top of it.

use std::path::Path;
use std::process::Command;

use shipgate_testkit::http::{CannedResponse, ScriptedServer};
use shipgate_testkit::terminal::run_in_terminal;
use shipgate_testkit::tools::shipgate_bin;

const MIGRATIONS: usize = 1000;

fn tool(name: &str, dir: &Path) -> Command {
    let mut command = shipgate_testkit::cli::command(shipgate_bin(name), dir);
    command.env("TERM", "xterm-256color");
    command
}

#[test]
fn migrate_runner_up_prints_each_applied_line_above_the_bar() {
    let work = tempfile::tempdir().unwrap();
    let migrations = work.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    for n in 1..=MIGRATIONS {
        std::fs::write(
            migrations.join(format!("{n:04}_table_{n}.up.sql")),
            format!("CREATE TABLE t{n} (id INTEGER PRIMARY KEY);\n"),
        )
        .unwrap();
    }
    let mut up = tool("migrate-runner", work.path());
    up.args(["up", "--color", "never"]);
    let run = run_in_terminal(up, MIGRATIONS as u16 + 50, 100).unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.bytes));
    let applied: Vec<&String> = run.screen.iter().filter(|row| row.starts_with("applied ")).collect();
    assert_eq!(
        applied.len(),
        MIGRATIONS,
        "one line per migration:\n{}",
        run.screen.join("\n")
    );
    for (n, row) in applied.iter().enumerate() {
        let prefix = format!("applied {:04} table_{} (", n + 1, n + 1);
        assert!(
            row.starts_with(&prefix) && row.ends_with(" ms)"),
            "row {n} is not a whole line: {row:?}"
        );
    }
    let others: Vec<&String> = run.screen.iter().filter(|row| !row.starts_with("applied ")).collect();
    assert_eq!(
        others,
        [&format!(
            "{MIGRATIONS} migration(s) applied; current version {MIGRATIONS:04}; 0 pending"
        )],
        "nothing but whole lines on the screen"
    );
}

#[test]
fn smoke_tester_watch_leaves_no_bar_behind() {
    let server = ScriptedServer::start();
    server.always("GET", "/health", CannedResponse::text(200, "ok"));
    let work = tempfile::tempdir().unwrap();
    let url = format!("{}/health", server.url());
    let mut watch = tool("smoke-tester", work.path());
    watch.args(["watch", &url, "--duration", "3s", "--rate", "20/s", "--color", "never"]);
    let run = run_in_terminal(watch, 200, 100).unwrap();
    let text = String::from_utf8_lossy(&run.bytes);
    assert!(run.status.success(), "{text}");
    assert!(text.contains("watching ["), "the bar was drawn on the terminal: {text}");
    let screen = run.screen.join("\n");
    assert!(!screen.contains("watching ["), "the bar is cleared:\n{screen}");
    assert!(
        run.screen
            .iter()
            .all(|row| !row.contains('[') && !row.contains("s left")),
        "no fragment of the bar on any line:\n{screen}"
    );
}
