//! A throwaway Prometheus 2.x (Debian's `prometheus` package) scraping test
//! services every second.
//!
//! Config and TSDB live in a temp dir, the server listens on a free port on
//! 127.0.0.1, and scrape targets are added at run time through a
//! `file_sd_configs` directory, so one instance per test binary can serve
//! every test: each test registers its own services under its own job name
//! and queries with `{job="..."}`.

use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::server::{block_on, http_client};
use crate::tools;

/// How long Prometheus may take to replay an empty TSDB and listen.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running Prometheus owned by whoever started it; stopped on drop.
pub struct Prometheus {
    url: String,
    child: Child,
    /// Config, target files, TSDB and the server log; deleted on drop.
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for Prometheus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prometheus").field("url", &self.url).finish()
    }
}

impl Prometheus {
    /// Starts a private instance with no targets yet.
    pub fn start() -> anyhow::Result<Prometheus> {
        Prometheus::start_with_web_config(None)
    }

    /// Starts a private instance serving its API as `web_config` (Prometheus'
    /// `--web.config.file` YAML: TLS, basic auth) says. With TLS, the URL is
    /// `https://localhost:PORT` and only a client that trusts the
    /// certificate can query it, so readiness is the port accepting.
    pub fn start_with_web_config(web_config: Option<&str>) -> anyhow::Result<Prometheus> {
        let binary = tools::find_tool("prometheus")?;
        // The port is probed then released; losing that race is one retry.
        let mut last_error = None;
        for _ in 0..2 {
            match Self::spawn(&binary, web_config) {
                Ok(instance) => return Ok(instance),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("at least one attempt ran"))
    }

    fn spawn(binary: &std::path::Path, web_config: Option<&str>) -> anyhow::Result<Prometheus> {
        let dir = tempfile::Builder::new()
            .prefix("shipgate-prometheus-")
            .tempdir()
            .context("creating the Prometheus directory")?;
        std::fs::create_dir(dir.path().join("targets"))?;
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: shipgate-tests\n    file_sd_configs:\n      - files: ['{}/*.json']\n        refresh_interval: 1s\n",
            dir.path().join("targets").display()
        );
        std::fs::write(dir.path().join("prometheus.yml"), config)?;
        if let Some(web) = web_config {
            std::fs::write(dir.path().join("web.yml"), web)?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = std::fs::File::create(dir.path().join("prometheus.log"))?;
        let mut command = Command::new("sh");
        command
            .args(["-c", tools::WATCHDOG, "prometheus-watchdog"])
            .arg(std::process::id().to_string())
            .arg(binary)
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(["--storage.tsdb.retention.time=1h", "--log.level=warn"])
            .args(web_config.map(|_| format!("--web.config.file={}", dir.path().join("web.yml").display())))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // Its own process group, so Drop stops the watchdog and Prometheus together.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().context("spawning prometheus")?;
        let tls = web_config.is_some_and(|web| web.contains("tls_server_config"));
        let mut instance = Prometheus {
            url: if tls {
                format!("https://localhost:{port}")
            } else {
                format!("http://127.0.0.1:{port}")
            },
            child,
            dir,
        };
        if tls {
            instance.wait_listening(port)?;
        } else {
            instance.wait_ready()?;
        }
        Ok(instance)
    }

    /// The instance shared by every test in this test binary, started on
    /// first use. A watchdog stops it when the test process exits.
    pub fn shared() -> anyhow::Result<&'static Prometheus> {
        static SHARED: OnceLock<Result<Prometheus, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| Prometheus::start().map_err(|error| format!("{error:#}")))
            .as_ref()
            .map_err(|error| anyhow::anyhow!("{error}"))
    }

    /// Base URL, e.g. `http://127.0.0.1:9090`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Scrapes `base_url` + `/metrics` every second as `job`, until the
    /// instance stops. Returns once two scrapes have landed, so a `rate()`
    /// right after has the two samples it needs.
    pub fn scrape(&self, job: &str, base_url: &str) -> anyhow::Result<()> {
        let address = base_url.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let targets = serde_json::json!([{ "targets": [address], "labels": { "job": job } }]);
        // Written whole then renamed, so the file watcher never reads half a file.
        let final_path = self.dir.path().join("targets").join(format!("{job}.json"));
        let temporary = final_path.with_extension("tmp");
        std::fs::write(&temporary, serde_json::to_vec(&targets)?)?;
        std::fs::rename(&temporary, &final_path)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let result = self.query(&format!("sum_over_time(up{{job=\"{job}\"}}[1m])"))?;
            if result.first().is_some_and(|value| *value >= 2.0) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "Prometheus did not scrape {base_url} as job {job} within 30s (successful scrapes: {result:?}); log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The values of an instant query (one per series; empty when nothing matches).
    pub fn query(&self, promql: &str) -> anyhow::Result<Vec<f64>> {
        let url = reqwest::Url::parse_with_params(&format!("{}/api/v1/query", self.url), &[("query", promql)])?;
        let body: serde_json::Value = block_on(async {
            let client = http_client()?;
            let response = client.get(url).send().await?;
            anyhow::Ok(response.json().await?)
        })
        .with_context(|| format!("querying Prometheus for {promql}"))?;
        if body["status"] != "success" {
            bail!("Prometheus refused {promql}: {body}");
        }
        Ok(body["data"]["result"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|series| series["value"][1].as_str()?.parse().ok())
            .collect())
    }

    /// What the server logged so far, for diagnosing a failing test.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    fn wait_listening(&mut self, port: u16) -> anyhow::Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = self.child.try_wait()? {
                bail!("prometheus exited during startup ({status}):\n{}", self.log());
            }
            if Instant::now() > deadline {
                bail!(
                    "prometheus did not listen within {}s:\n{}",
                    STARTUP_TIMEOUT.as_secs(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let ready = format!("{}/-/ready", self.url);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("prometheus exited during startup ({status}):\n{}", self.log());
            }
            let answered = block_on(async {
                let client = http_client()?;
                anyhow::Ok(client.get(&ready).send().await?.status().is_success())
            });
            if answered.unwrap_or(false) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "prometheus was not ready within {}s:\n{}",
                    STARTUP_TIMEOUT.as_secs(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        tools::stop_process_group(&mut self.child);
    }
}
