//! `cargo xtask demo`: the seeds' pipeline, stage by stage, on this machine
//! with embedded defaults only: a throwaway git repository with a bare
//! `origin`, SQLite databases, a local demo service per environment and
//! `stdout://` notifications. Every line of tool output comes from the real
//! binaries; the demo only plays the parts CI and people play (pushing,
//! merging pull requests, swapping the running build).

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};

use crate::{TOOLS, cargo, run, step};

/// Fixed dates make the demo's commit shas the same on every machine.
const EPOCH: i64 = 1_705_226_400; // 2024-01-14T10:00:00Z, the seeds' "Last Updated"

/// The GitHub identity the production job runs under: the run's environment
/// approvals are what migrate-runner's production policy reads.
const REPOSITORY: &str = "videoplanet/videoplanet";
const RUN_ID: &str = "4242";
const ACTOR: &str = "release-manager";

pub fn run_demo(root: &Path) -> Result<()> {
    step("build the five binaries");
    run(cargo().args(["build", "--workspace", "--bins", "--quiet"]))?;
    let work = std::env::temp_dir().join(format!("shipgate-demo-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(work.clone());
    std::fs::create_dir_all(work.join("db"))?;
    let demo = Demo {
        bins: target_dir(root).join("debug"),
        repo: work.join("videoplanet"),
        work: work.clone(),
    };
    let started = std::time::Instant::now();

    stage(
        1,
        "the repository: main and develop on a bare origin (seed 000 \"Branch Strategy\")",
    );
    let mut history = History::init(&demo.repo)?;
    history.git(&[
        "init",
        "-q",
        "--bare",
        "-b",
        "main",
        work.join("origin.git").to_str().context("utf-8 path")?,
    ])?;
    history.git(&["remote", "add", "origin", "../origin.git"])?;
    std::fs::write(demo.repo.join("VERSION"), "1.1.0\n")?;
    history.git(&["add", "VERSION"])?;
    history.commit("chore: initial commit")?;
    history.git(&["tag", "-a", "v1.1.0", "-m", "Release version 1.1.0"])?;
    history.git(&["branch", "develop"])?;
    history.git(&["push", "-q", "origin", "main", "develop", "v1.1.0"])?;
    println!("  main and develop pushed to origin; v1.1.0 is what production runs today");

    stage(
        2,
        "feature branches: what the pr-checks workflow runs on every pull request",
    );
    history.git(&["checkout", "-q", "-b", "feature/user-authentication", "develop"])?;
    history.add_file(
        "migrations/20240114100000_create_users.up.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);\n",
    )?;
    history.add_file("migrations/20240114100000_create_users.down.sql", "DROP TABLE users;\n")?;
    history.commit("feat(auth): add login with Google OAuth")?;
    history.git(&["checkout", "-q", "-b", "feature/video-upload", "develop"])?;
    history.add_file(
        "migrations/20240114110000_create_videos.up.sql",
        "CREATE TABLE videos (id INTEGER PRIMARY KEY, owner INTEGER NOT NULL, title TEXT NOT NULL);\n",
    )?;
    history.add_file(
        "migrations/20240114110000_create_videos.down.sql",
        "DROP TABLE videos;\n",
    )?;
    history.commit("feat(upload): upload videos to S3")?;
    history.commit("fix(upload): keep the original file name")?;
    for name in ["feature/user-authentication", "hotfix/critical-fix"] {
        demo.tool("branch-guard", &["branch", name])?;
    }
    for name in ["Feature/Login", "video-upload"] {
        demo.tool_allowing_failure("branch-guard", &["branch", name])?;
    }
    demo.tool("branch-guard", &["commits", "develop..feature/video-upload"])?;
    std::fs::write(work.join("bad-message.txt"), "Added the upload page.\n")?;
    demo.tool_allowing_failure("branch-guard", &["message", "../bad-message.txt"])?;
    demo.tool(
        "branch-guard",
        &["pr", "--base", "develop", "--head", "feature/video-upload"],
    )?;
    demo.tool_allowing_failure(
        "branch-guard",
        &["pr", "--base", "main", "--head", "feature/video-upload"],
    )?;
    println!("  both pull requests into develop pass and are merged");
    history.merge_into("develop", "feature/user-authentication")?;
    history.merge_into("develop", "feature/video-upload")?;
    history.git(&["push", "-q", "origin", "develop"])?;

    let github = LocalService::start("github")?;
    let staging = LocalService::start("1.1.0")?;
    let production = LocalService::start("1.1.0")?;
    let canary = LocalService::start("1.1.0")?;
    let smoke_checks = work.join("smoke.toml");
    std::fs::write(&smoke_checks, SMOKE_CHECKS)?;

    stage(
        3,
        "push to develop: the deploy workflow's staging job (migrate, deploy, smoke, notify)",
    );
    demo.tool("branch-guard", &["env", "develop"])?;
    let staging_db = "sqlite:../db/staging.db";
    let dev_version = format!("1.2.0-dev+{}", history.short_head()?);
    demo.notify_deploy("started", "staging", &dev_version)?;
    demo.tool(
        "migrate-runner",
        &["wait", "--database-url", staging_db, "--timeout", "10s"],
    )?;
    demo.tool(
        "migrate-runner",
        &["up", "--environment", "staging", "--database-url", staging_db],
    )?;
    staging.deploy(&dev_version, Build::Good);
    demo.tool(
        "smoke-tester",
        &[
            "wait",
            &staging.health_url(),
            "--timeout",
            "10s",
            "--poll-interval",
            "200ms",
        ],
    )?;
    demo.tool(
        "smoke-tester",
        &["run", "--checks", "../smoke.toml", "--base-url", &staging.url],
    )?;
    demo.notify_deploy("succeeded", "staging", &dev_version)?;

    stage(4, "release cut: release-tagger cut (the release workflow's dispatch)");
    history.git(&["checkout", "-q", "develop"])?;
    demo.tool("release-tagger", &["next", "--explain"])?;
    demo.tool("release-tagger", &["cut", "--push"])?;
    println!("  the release pull request into main is approved and merged");
    history.merge_into("main", "release/v1.2.0")?;
    history.git(&["push", "-q", "origin", "main"])?;

    stage(
        5,
        "push to main: the production job after its environment approval (backup, migrate, canary, watch)",
    );
    let production_db = "sqlite:../db/production.db";
    demo.notify_deploy("started", "production", "1.2.0")?;
    println!("  the job runs in the `production` environment and alice approved the run; migrate-runner");
    println!("  runs as in that job (GITHUB_ACTIONS=true) and reads the run's approvals from a local");
    println!("  stand-in for GitHub's API");
    github.approve("alice");
    let as_production_job = demo.production_job_env(&github)?;
    demo.tool_with_env(
        "migrate-runner",
        &["plan", "--environment", "production", "--database-url", production_db],
        &as_production_job,
    )?;
    demo.tool_with_env(
        "migrate-runner",
        &[
            "up",
            "--environment",
            "production",
            "--database-url",
            production_db,
            "--backup-path",
            "../db/before-v1.2.0.db",
        ],
        &as_production_job,
    )?;
    println!("  deploy the canary (1.2.0) next to production (1.1.0) and compare them");
    canary.deploy("1.2.0", Build::Good);
    demo.tool(
        "smoke-tester",
        &[
            "compare",
            "--canary",
            &canary.api_url(),
            "--baseline",
            &production.api_url(),
            "--duration",
            "2s",
            "--rate",
            "20/s",
        ],
    )?;
    println!("  full rollout: production runs 1.2.0; watch it for the window (3s here, [smoke] windows of 2s)");
    production.deploy("1.2.0", Build::Good);
    demo.tool(
        "smoke-tester",
        &[
            "wait",
            &production.health_url(),
            "--timeout",
            "10s",
            "--poll-interval",
            "200ms",
        ],
    )?;
    demo.watch(&production)?;
    demo.notify_deploy("succeeded", "production", "1.2.0")?;

    stage(
        6,
        "release: tag, changelog, back-merge and notification (the release workflow on main)",
    );
    demo.tool("release-tagger", &["release", "--push", "--no-publish"])?;
    println!("  the workflow opens the back-merge pull request into develop; here it is merged at once");
    demo.tool("release-tagger", &["backmerge", "--push"])?;
    demo.tool("notify", &["release", "--version", "1.2.0", "--to", "stdout://"])?;

    stage(
        7,
        "a bad build: hotfix 1.2.1 reaches production, watch calls for a rollback",
    );
    history.git(&["checkout", "-q", "main"])?;
    demo.tool("release-tagger", &["cut", "--hotfix", "upload-retries"])?;
    history.git(&["checkout", "-q", "hotfix/upload-retries"])?;
    history.add_file(
        "migrations/20240115090000_add_upload_attempts.up.sql",
        "ALTER TABLE videos ADD COLUMN upload_attempts INTEGER NOT NULL DEFAULT 0;\n",
    )?;
    history.add_file(
        "migrations/20240115090000_add_upload_attempts.down.sql",
        "ALTER TABLE videos DROP COLUMN upload_attempts;\n",
    )?;
    history.commit("fix(upload): retry uploads that time out")?;
    println!("  the hotfix pull request into main is approved and merged");
    history.merge_into("main", "hotfix/upload-retries")?;
    history.git(&["push", "-q", "origin", "main"])?;
    println!("  the push to main runs the release workflow (patch tag, back-merge) and the deploy workflow");
    demo.tool("release-tagger", &["release", "--push", "--no-publish"])?;
    demo.tool("release-tagger", &["backmerge", "--push"])?;
    demo.notify_deploy("started", "production", "1.2.1")?;
    demo.tool_with_env(
        "migrate-runner",
        &[
            "up",
            "--environment",
            "production",
            "--database-url",
            production_db,
            "--backup-path",
            "../db/before-v1.2.1.db",
        ],
        &as_production_job,
    )?;
    production.deploy("1.2.1", Build::Bad);
    println!("  1.2.1 starts and reports healthy, so the quick smoke run lets it through...");
    demo.tool(
        "smoke-tester",
        &["run", "--checks", "../smoke.toml", "--base-url", &production.url],
    )?;
    println!("  ...but sustained traffic shows its API failing:");
    if demo.watch(&production)? {
        bail!("watch did not call for a rollback of the bad build");
    }
    println!("  rollback: the app's rollback command brings 1.2.0 back");
    production.rollback();
    demo.tool(
        "smoke-tester",
        &[
            "check",
            &production.health_url(),
            "--jsonpath",
            "$.version == \"1.2.0\"",
        ],
    )?;
    println!("  migrate-runner down only runs when the policy allows it; production needs two approvers:");
    demo.tool_with_env_allowing_failure(
        "migrate-runner",
        &["down", "--environment", "production", "--database-url", production_db],
        &as_production_job,
    )?;
    println!("  the database keeps 1.2.1's additive column, which 1.2.0 ignores:");
    demo.tool(
        "migrate-runner",
        &["status", "--environment", "production", "--database-url", production_db],
    )?;
    demo.notify_deploy("rolled-back", "production", "1.2.1")?;
    demo.tool(
        "notify",
        &[
            "incident",
            "--severity",
            "P1",
            "--status",
            "investigating",
            "--service",
            "videoplanet-api",
            "--environment",
            "production",
            "--to",
            "stdout://",
        ],
    )?;

    stage(8, "where things stand: tags, changelog and history");
    history.git(&["checkout", "-q", "main"])?;
    print_indented(&history.git(&["tag", "-n1", "--list", "v*"])?);
    print_indented(&std::fs::read_to_string(demo.repo.join("CHANGELOG.md"))?);
    print_indented(&history.git(&["log", "--graph", "--oneline", "--all", "--decorate=short", "-n", "20"])?);
    println!(
        "\ndemo finished in {:.1}s: the {} tools ran every stage on embedded defaults.",
        started.elapsed().as_secs_f64(),
        TOOLS.len()
    );
    Ok(())
}

const SMOKE_CHECKS: &str = r#"# The demo service's smoke checks (seed 000's /health payload, seed 003's API check).
[[check]]
name = "health"
url = "/health"
[[check.assert]]
jsonpath = "$.status"
equals = "healthy"

[[check]]
name = "videos api"
url = "/api/videos"
status = 200
"#;

struct Demo {
    bins: PathBuf,
    repo: PathBuf,
    work: PathBuf,
}

impl Demo {
    /// Runs a tool in the repository, shows the command and everything it
    /// printed (stdout and stderr in the order written), and returns whether it
    /// passed.
    fn run_tool(&self, tool: &str, args: &[&str], env: &[(String, String)]) -> Result<bool> {
        println!("\n  $ {tool} {}", shown_args(args));
        let capture_path = self.work.join("tool-output.txt");
        let capture = File::create(&capture_path)?;
        let status = Command::new(self.bins.join(tool))
            .current_dir(&self.repo)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(capture.try_clone()?)
            .stderr(capture)
            .status()
            .with_context(|| format!("starting {tool}"))?;
        print_indented(&std::fs::read_to_string(&capture_path)?);
        if !status.success() {
            println!("    → exit {}", status.code().unwrap_or(-1));
        }
        Ok(status.success())
    }

    fn tool(&self, tool: &str, args: &[&str]) -> Result<()> {
        self.tool_with_env(tool, args, &[])
    }

    fn tool_with_env(&self, tool: &str, args: &[&str], env: &[(String, String)]) -> Result<()> {
        if !self.run_tool(tool, args, env)? {
            bail!("{tool} {} failed", args.join(" "));
        }
        Ok(())
    }

    /// For the verdicts that are meant to say no.
    fn tool_allowing_failure(&self, tool: &str, args: &[&str]) -> Result<()> {
        self.tool_with_env_allowing_failure(tool, args, &[])
    }

    fn tool_with_env_allowing_failure(&self, tool: &str, args: &[&str], env: &[(String, String)]) -> Result<()> {
        if self.run_tool(tool, args, env)? {
            bail!("{tool} {} was expected to refuse", args.join(" "));
        }
        Ok(())
    }

    fn notify_deploy(&self, status: &str, environment: &str, version: &str) -> Result<()> {
        self.tool(
            "notify",
            &[
                "deploy",
                "--status",
                status,
                "--environment",
                environment,
                "--version",
                version,
                "--to",
                "stdout://",
            ],
        )
    }

    /// `smoke-tester watch` over the API with windows short enough for a
    /// demo; true when it found no reason to roll back.
    fn watch(&self, service: &LocalService) -> Result<bool> {
        self.run_tool(
            "smoke-tester",
            &[
                "watch",
                &service.api_url(),
                "--duration",
                "3s",
                "--rate",
                "20/s",
                "--error-rate-window",
                "2s",
                "--p95-window",
                "2s",
            ],
            &[],
        )
    }

    /// What the production job's runner provides: migrate-runner reads the
    /// run's environment approvals from the GitHub API of this run.
    fn production_job_env(&self, github: &LocalService) -> Result<Vec<(String, String)>> {
        let output = self.work.join("github-output");
        let summary = self.work.join("github-step-summary");
        File::create(&output)?;
        File::create(&summary)?;
        let path = |p: &Path| p.to_str().map(str::to_string).context("utf-8 path");
        Ok(vec![
            ("GITHUB_ACTIONS".into(), "true".into()),
            ("GITHUB_API_URL".into(), github.url.clone()),
            ("GITHUB_REPOSITORY".into(), REPOSITORY.into()),
            ("GITHUB_RUN_ID".into(), RUN_ID.into()),
            ("GITHUB_ACTOR".into(), ACTOR.into()),
            ("GITHUB_OUTPUT".into(), path(&output)?),
            ("GITHUB_STEP_SUMMARY".into(), path(&summary)?),
        ])
    }
}

fn shown_args(args: &[&str]) -> String {
    args.iter()
        .map(|arg| {
            if arg.is_empty() || arg.contains([' ', '"', '$', '*']) {
                format!("'{arg}'")
            } else {
                (*arg).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn print_indented(text: &str) {
    for line in text.lines() {
        println!("    {line}");
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Build {
    Good,
    /// Starts and reports healthy, but every third API request fails: the
    /// kind of build a retried smoke check lets through.
    Bad,
}

#[derive(Debug, Clone)]
struct Running {
    version: String,
    build: Build,
}

#[derive(Default)]
struct ServiceState {
    running: Option<Running>,
    previous: Option<Running>,
    approvers: Vec<String>,
}

/// A stand-in on 127.0.0.1 for what the pipeline talks to: the app in one
/// environment (`/health` like seed 000, `/api/videos`), whose "deploy"
/// swaps the running build, and GitHub's run-approvals endpoint.
struct LocalService {
    url: String,
    state: Arc<Mutex<ServiceState>>,
}

impl LocalService {
    fn start(version: &str) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(ServiceState {
            running: Some(Running {
                version: version.to_string(),
                build: Build::Good,
            }),
            ..ServiceState::default()
        }));
        let requests = Arc::new(AtomicUsize::new(0));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                let requests = Arc::clone(&requests);
                std::thread::spawn(move || {
                    let _ = answer(stream, &state, &requests);
                });
            }
        });
        Ok(LocalService { url, state })
    }

    fn health_url(&self) -> String {
        format!("{}/health", self.url)
    }

    fn api_url(&self) -> String {
        format!("{}/api/videos", self.url)
    }

    /// What the app's deploy command does: run a new build, keeping the old one for rollback.
    fn deploy(&self, version: &str, build: Build) {
        let mut state = self.state.lock().expect("service state");
        state.previous = state.running.take();
        state.running = Some(Running {
            version: version.to_string(),
            build,
        });
        println!("  [deploy] {} now runs {version}", self.url);
    }

    /// What the app's rollback command does: run the previous build again.
    fn rollback(&self) {
        let mut state = self.state.lock().expect("service state");
        if let Some(previous) = state.previous.take() {
            println!("  [rollback] {} runs {} again", self.url, previous.version);
            state.running = Some(previous);
        }
    }

    fn approve(&self, login: &str) {
        self.state
            .lock()
            .expect("service state")
            .approvers
            .push(login.to_string());
    }
}

fn answer(mut stream: TcpStream, state: &Mutex<ServiceState>, requests: &AtomicUsize) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // The rest of the head says nothing the service needs; only its end matters.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = {
        let state = state.lock().expect("service state");
        let running = state.running.clone().unwrap_or(Running {
            version: "none".into(),
            build: Build::Good,
        });
        if path.starts_with("/repos/") && path.ends_with("/approvals") {
            let approvals: Vec<String> = state
                .approvers
                .iter()
                .map(|login| format!(r#"{{"state":"approved","user":{{"login":"{login}"}}}}"#))
                .collect();
            ("200 OK", format!("[{}]", approvals.join(",")))
        } else if path == "/health" {
            (
                "200 OK",
                format!(
                    r#"{{"status":"healthy","database":"connected","redis":"connected","version":"{}"}}"#,
                    running.version
                ),
            )
        } else if path.starts_with("/api/videos") {
            let failing = running.build == Build::Bad && requests.fetch_add(1, Ordering::Relaxed) % 3 == 2;
            if failing {
                (
                    "500 Internal Server Error",
                    r#"{"error":"upload queue unavailable"}"#.to_string(),
                )
            } else {
                ("200 OK", r#"[{"id":1,"title":"Welcome to VideoPlanet"}]"#.to_string())
            }
        } else {
            ("404 Not Found", r#"{"error":"not found"}"#.to_string())
        }
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
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

    fn short_head(&self) -> Result<String> {
        Ok(self.git(&["rev-parse", "--short", "HEAD"])?.trim().to_string())
    }

    fn add_file(&self, relative: &str, content: &str) -> Result<()> {
        let path = self.dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, content)?;
        self.git(&["add", relative])?;
        Ok(())
    }

    fn commit(&mut self, message: &str) -> Result<()> {
        self.tick += 1;
        std::fs::write(self.dir.join("CHANGES.txt"), format!("{message}\n{}\n", self.tick))?;
        self.git(&["add", "CHANGES.txt"])?;
        self.git(&["commit", "-q", "-m", message])?;
        Ok(())
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
