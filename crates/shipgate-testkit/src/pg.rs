//! Ephemeral PostgreSQL clusters: one private data directory and port per test.
//!
//! The server listens on 127.0.0.1 only, trusts every local connection and
//! runs with `fsync=off`; dropping the [`PgCluster`] stops it immediately and
//! deletes its directory.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context as _, bail};

use crate::tools;

const MISSING_BINARIES: &str = "PostgreSQL server binaries not found: install Debian's `postgresql` package (`apt-get update && apt-get install -y postgresql`; `cargo xtask test` does this)";

/// The OS account the server runs as when the tests run as root, because
/// initdb and postgres refuse to run as root.
const SERVER_USER: &str = "postgres";

/// A running PostgreSQL server owned by the test that started it.
#[derive(Debug)]
pub struct PgCluster {
    bin_dir: PathBuf,
    port: u16,
    /// Holds the data, socket and log directories; deleted on drop.
    root: Option<tempfile::TempDir>,
    run_as: Option<&'static str>,
}

impl PgCluster {
    /// Initialises and starts a new cluster on a free port.
    pub fn start() -> anyhow::Result<PgCluster> {
        let bin_dir = server_bin_dir()?;
        let run_as = if running_as_root()? {
            ensure_server_user()?;
            Some(SERVER_USER)
        } else {
            None
        };
        let root = tempfile::Builder::new()
            .prefix("shipgate-pg-")
            .tempdir_in(std::env::temp_dir())
            .context("creating the cluster directory")?;
        let mut cluster = PgCluster {
            bin_dir,
            port: 0,
            root: Some(root),
            run_as,
        };
        cluster.init()?;
        // Another process may grab the port between our probe and the
        // server's bind; one retry on a fresh port covers that race.
        let mut attempts_left = 2;
        loop {
            attempts_left -= 1;
            cluster.port = free_port()?;
            match cluster.start_server() {
                Ok(()) => return Ok(cluster),
                Err(_) if attempts_left > 0 && cluster.log().contains("could not bind") => continue,
                Err(error) => return Err(error),
            }
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for database `db` as the `postgres` superuser (no password).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The directory holding initdb, pg_ctl, postgres and (usually) psql.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.root_dir().join("data")
    }

    /// Creates a database owned by `postgres`.
    pub fn create_database(&self, name: &str) -> anyhow::Result<()> {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        self.psql("postgres", &format!("CREATE DATABASE {quoted}"))?;
        Ok(())
    }

    /// Runs SQL through `psql -X -A -t -v ON_ERROR_STOP=1` and returns its stdout
    /// (unaligned, tuples only: one row per line, columns separated by `|`).
    pub fn psql(&self, db: &str, sql: &str) -> anyhow::Result<String> {
        let output = Command::new(self.client_binary("psql")?)
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
            .args(["-p", &self.port.to_string(), "-U", "postgres", "-d", db])
            .args(["-c", sql])
            .env_remove("PGPASSWORD")
            .env_remove("PGSERVICE")
            .output()
            .context("running psql")?;
        if !output.status.success() {
            bail!(
                "psql failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The server log so far, for diagnosing a failing test.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root_dir().join("server.log")).unwrap_or_default()
    }

    fn root_dir(&self) -> &Path {
        self.root
            .as_ref()
            .expect("the cluster directory exists until drop")
            .path()
    }

    fn init(&self) -> anyhow::Result<()> {
        let root = self.root_dir();
        std::fs::create_dir(root.join("sock")).context("creating the socket directory")?;
        if let Some(user) = self.run_as {
            run_checked(
                Command::new("chown").args(["-R", &format!("{user}:{user}")]).arg(root),
                "chown the cluster directory",
            )?;
            // initdb fails obscurely when it cannot reach its own directory,
            // e.g. when TMPDIR lives under /root.
            let reachable = Command::new("runuser")
                .args(["-u", user, "--", "test", "-w"])
                .arg(root)
                .status()
                .context("running runuser")?;
            if !reachable.success() {
                bail!(
                    "the `{user}` user cannot write {}: point TMPDIR at a directory every user can traverse (e.g. /tmp)",
                    root.display()
                );
            }
        }
        let mut initdb = self.server_command("initdb");
        initdb
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(root.join("data"));
        run_checked(&mut initdb, "initdb")?;
        Ok(())
    }

    fn start_server(&self) -> anyhow::Result<()> {
        let root = self.root_dir();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            root.join("sock").display()
        );
        let mut pg_ctl = self.server_command("pg_ctl");
        pg_ctl
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(root.join("data"))
            // Without -l the server inherits our pipes and output() never sees EOF.
            .arg("-l")
            .arg(root.join("server.log"))
            .args(["-o", &options]);
        run_checked(&mut pg_ctl, "pg_ctl start")
            .map(drop)
            .map_err(|error| anyhow::anyhow!("{error:#}\nserver log:\n{}", self.log()))
    }

    fn server_command(&self, program: &str) -> Command {
        let binary = self.bin_dir.join(program);
        let mut command = match self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        // The test's working directory may not be readable by the server user.
        command.current_dir(self.root_dir());
        command
    }

    fn client_binary(&self, program: &str) -> anyhow::Result<PathBuf> {
        let beside_server = self.bin_dir.join(program);
        if tools::is_executable(&beside_server) {
            return Ok(beside_server);
        }
        tools::find_on_path(program).with_context(|| format!("{program} not found: {}", tools::install_hint(program)))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.port != 0 {
            let mut stop = self.server_command("pg_ctl");
            stop.args(["stop", "-m", "immediate", "-w", "-D"]).arg(self.data_dir());
            if let Err(error) = run_checked(&mut stop, "pg_ctl stop") {
                eprintln!("stopping the test PostgreSQL cluster: {error:#}");
            }
        }
        if let Some(root) = self.root.take()
            && let Err(error) = root.close()
        {
            eprintln!("removing the test PostgreSQL directory: {error}");
        }
    }
}

/// Finds the directory with initdb, pg_ctl and postgres: PATH first, then the
/// highest version under /usr/lib/postgresql.
pub fn server_bin_dir() -> anyhow::Result<PathBuf> {
    const NEEDED: [&str; 3] = ["initdb", "pg_ctl", "postgres"];
    let has_all = |dir: &Path| NEEDED.iter().all(|bin| tools::is_executable(&dir.join(bin)));
    if let Some(initdb) = tools::find_on_path("initdb") {
        // Debian links initdb into PATH; follow the link to find its siblings.
        let resolved = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        if let Some(dir) = resolved.parent()
            && has_all(dir)
        {
            return Ok(dir.to_path_buf());
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_all(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir).context(MISSING_BINARIES)
}

fn running_as_root() -> anyhow::Result<bool> {
    let output = Command::new("id").arg("-u").output().context("running `id -u`")?;
    Ok(String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn ensure_server_user() -> anyhow::Result<()> {
    let exists = Command::new("id")
        .arg(SERVER_USER)
        .output()
        .context("running `id`")?
        .status
        .success();
    if exists {
        return Ok(());
    }
    let created = Command::new("useradd")
        .args(["--system", "--user-group", "--no-create-home", SERVER_USER])
        .output()
        .context("running useradd")?;
    // A parallel test may have created it in between.
    let exists_now = Command::new("id").arg(SERVER_USER).output()?.status.success();
    if !exists_now {
        bail!(
            "creating the `{SERVER_USER}` user failed: {}",
            String::from_utf8_lossy(&created.stderr).trim()
        );
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("probing for a free port")?;
    Ok(listener.local_addr()?.port())
}

fn run_checked(command: &mut Command, what: &str) -> anyhow::Result<Output> {
    let output = command.output().with_context(|| format!("running {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}
