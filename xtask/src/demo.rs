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

    for (number, tool, issue, what) in [
        (
            3,
            "release-tagger",
            3,
            "compute v1.3.0 from the conventional commits, tag it and write the changelog",
        ),
        (
            4,
            "migrate-runner",
            5,
            "migrate a SQLite database (sqlite:./shipgate-dev.db)",
        ),
        (5, "smoke-tester", 6, "check a local demo service's /health"),
        (6, "notify", 7, "send the deploy notification to a local stdout:// sink"),
    ] {
        stage(number, &format!("{tool}: {what}"));
        let version = Command::new(bins.join(tool)).arg("--version").output()?;
        println!(
            "  {} is installed; this stage is not built yet (issue #{issue}).",
            String::from_utf8_lossy(&version.stdout).trim()
        );
    }

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
        "\ndemo finished: {} tools built, stages 3-6 arrive with issues #3-#7.",
        TOOLS.len()
    );
    Ok(())
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
