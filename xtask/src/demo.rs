//! `cargo xtask demo`: the seeds' pipeline, stage by stage, on this machine
//! with embedded defaults only (a throwaway git repo, SQLite, local services).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{TOOLS, cargo, run, step};

/// Fixed dates make the demo's commit shas the same on every machine.
const EPOCH: i64 = 1_705_226_400; // 2024-01-14T10:00:00Z, the seeds' "Last Updated"

pub fn run_demo(root: &Path) -> Result<()> {
    step("build the five binaries");
    run(cargo().args(["build", "--workspace", "--bins", "--quiet"]))?;
    let bins = target_dir(root).join("debug");
    let work = std::env::temp_dir().join(format!("shipgate-demo-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(work.clone());
    std::fs::create_dir_all(&work)?;
    let repo = work.join("videoplanet");

    stage(1, "a throwaway repository with the seeds' git flow");
    let mut history = History::init(&repo)?;
    history.commit("chore: initial commit")?;
    history.git(&["branch", "develop"])?;
    history.feature(
        "develop",
        "feature/user-authentication",
        &["feat(auth): add login with Google OAuth"],
    )?;
    history.feature(
        "develop",
        "feature/video-upload",
        &["feat(upload): upload videos to S3", "fix(upload): retry on timeouts"],
    )?;
    history.git(&["checkout", "-q", "-b", "release/v1.2.0", "develop"])?;
    history.commit("chore: prepare release v1.2.0")?;
    history.merge_into("main", "release/v1.2.0")?;
    history.git(&["checkout", "-q", "-b", "hotfix/critical-fix", "main"])?;
    history.commit("fix: resolve critical issue")?;
    history.git(&["checkout", "-q", "main"])?;
    println!(
        "{}",
        history.git(&["log", "--graph", "--oneline", "--all", "--decorate=short"])?
    );

    stage(2, "branch-guard: branch names against the seeds' branch table");
    let branch_guard = bins.join("branch-guard");
    for name in [
        "main",
        "develop",
        "feature/user-authentication",
        "release/v1.2.0",
        "hotfix/critical-fix",
        "Feature/Login",
    ] {
        let out = Command::new(&branch_guard)
            .current_dir(&repo)
            .args(["branch", name])
            .output()?;
        let verdict = if out.status.success() { "allowed" } else { "rejected" };
        let text = String::from_utf8_lossy(if out.stdout.is_empty() {
            &out.stderr
        } else {
            &out.stdout
        })
        .trim()
        .to_string();
        println!(
            "  {name:<30} {verdict:<9} exit {}  {text}",
            out.status.code().unwrap_or(-1)
        );
    }

    stage(
        3,
        "release-tagger: the next version from conventional commits, the changelog and the tag",
    );
    history.git(&["tag", "-a", "v1.1.0", "-m", "Release version 1.1.0", "HEAD~1"])?;
    show(&repo, &bins, "release-tagger", &["next", "--explain"])?;
    show(
        &repo,
        &bins,
        "release-tagger",
        &["changelog", "--output", "CHANGELOG.md"],
    )?;
    show(&repo, &bins, "release-tagger", &["tag"])?;
    println!("{}", history.git(&["tag", "-n1", "--list", "v*"])?.trim_end());
    history.git(&["checkout", "-q", "hotfix/critical-fix"])?;
    print!("  on hotfix/critical-fix, next is ");
    show(&repo, &bins, "release-tagger", &["next"])?;
    history.git(&["checkout", "-q", "main"])?;

    stage(4, "migrate-runner: migrate the embedded SQLite database");
    let migrations = repo.join("migrations");
    std::fs::create_dir_all(&migrations)?;
    std::fs::write(
        migrations.join("20240114100000_create_users.sql"),
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);\n",
    )?;
    std::fs::write(
        migrations.join("20240114110000_create_videos.sql"),
        "CREATE TABLE videos (id INTEGER PRIMARY KEY, owner INTEGER NOT NULL REFERENCES users(id), title TEXT);\n",
    )?;
    show(&repo, &bins, "migrate-runner", &["up", "--env", "development"])?;
    show(&repo, &bins, "migrate-runner", &["status"])?;

    stage(
        5,
        "smoke-tester: check the local demo service's /health (seed 000's health payload)",
    );
    let service = DemoService::start()?;
    let health = format!("{}/health", service.url);
    show(
        &repo,
        &bins,
        "smoke-tester",
        &[
            "check",
            &health,
            "--status",
            "200",
            "--jsonpath",
            "$.status == \"healthy\"",
        ],
    )?;

    stage(6, "notify: the deploy notification, to the local stdout:// sink");
    show(
        &repo,
        &bins,
        "notify",
        &[
            "deploy",
            "--status",
            "succeeded",
            "--environment",
            "production",
            "--version",
            "1.2.0",
            "--to",
            "stdout://",
        ],
    )?;

    stage(7, "the zero-config flow every tool shares (from the seeds)");
    let out = Command::new(bins.join("branch-guard"))
        .current_dir(&repo)
        .args(["config", "--section", "flow"])
        .output()?;
    if !out.status.success() {
        bail!("branch-guard config failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    print!("{}", String::from_utf8_lossy(&out.stdout));
    println!(
        "\ndemo finished: the {} tools ran every stage on embedded defaults.",
        TOOLS.len()
    );
    Ok(())
}

/// Runs a tool in the demo repository, shows what it printed, and stops the demo if it failed.
fn show(repo: &Path, bins: &Path, tool: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(bins.join(tool))
        .current_dir(repo)
        .args(args)
        .env("NO_COLOR", "1")
        .output()?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        bail!("{tool} {} failed with {}", args.join(" "), out.status);
    }
    Ok(())
}

/// A stand-in for the app the seeds deploy: answers `/health` like seed 000.
struct DemoService {
    url: String,
}

impl DemoService {
    fn start() -> Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}", listener.local_addr()?);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer_health(stream);
            }
        });
        Ok(DemoService { url })
    }
}

fn answer_health(mut stream: std::net::TcpStream) -> std::io::Result<()> {
    use std::io::{BufRead, BufReader, Write};
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    // Read the request head; the demo service ignores everything but its end.
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let body = r#"{"status":"healthy","database":"connected","redis":"connected","version":"1.2.0"}"#;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn stage(number: u32, title: &str) {
    println!("\n━━ stage {number}: {title}");
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A scripted history with one commit a minute from [`EPOCH`].
struct History {
    dir: PathBuf,
    tick: i64,
}

impl History {
    fn init(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let history = History {
            dir: dir.to_path_buf(),
            tick: 0,
        };
        history.git(&["init", "-q", "-b", "main"])?;
        history.git(&["config", "user.name", "Demo Developer"])?;
        history.git(&["config", "user.email", "dev@videoplanet.example"])?;
        Ok(history)
    }

    fn git(&self, args: &[&str]) -> Result<String> {
        let date = format!("@{} +0000", EPOCH + self.tick * 60);
        let out = Command::new("git")
            .current_dir(&self.dir)
            .args(args)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .context("running git")?;
        if !out.status.success() {
            bail!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn commit(&mut self, message: &str) -> Result<()> {
        self.tick += 1;
        std::fs::write(self.dir.join("CHANGES.txt"), format!("{message}\n{}\n", self.tick))?;
        self.git(&["add", "CHANGES.txt"])?;
        self.git(&["commit", "-q", "-m", message])?;
        Ok(())
    }

    fn feature(&mut self, base: &str, branch: &str, messages: &[&str]) -> Result<()> {
        self.git(&["checkout", "-q", "-b", branch, base])?;
        for message in messages {
            self.commit(message)?;
        }
        self.merge_into(base, branch)
    }

    fn merge_into(&mut self, target: &str, branch: &str) -> Result<()> {
        self.tick += 1;
        self.git(&["checkout", "-q", target])?;
        self.git(&[
            "merge",
            "-q",
            "--no-ff",
            "-X",
            "theirs",
            "-m",
            &format!("Merge branch '{branch}' into {target}"),
            branch,
        ])?;
        Ok(())
    }
}
