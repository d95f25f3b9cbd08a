//! smoke-tester: Runs post-deploy health and smoke checks and decides when to roll back.
//!
//! The binary in `main.rs` only parses arguments; everything it does lives here.
//! One module per subcommand (`run`, `check`, `wait`, `watch`, `compare`);
//! `checks` is the checks file and its variables, `assertions` what a
//! response must satisfy, `probe` the HTTP side, `window` the sliding-window
//! statistics, `stats` the significance tests behind `compare`,
//! `prometheus` the PromQL triggers and their client, `analysis` the
//! Argo-style judgement of metrics over time, and `report` every output format.

use std::num::NonZeroU32;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use shipgate_core::cli::{self, CommonCommand, GlobalArgs, Tool};
use shipgate_core::config::{ConfigDuration, SmokeConfig};
use shipgate_core::exit::{Error, ExitCode, Result};
use shipgate_core::url_redaction::{redact_in_text, redact_str};

pub mod analysis;
pub mod assertions;
pub mod chart;
pub mod check;
pub mod checks;
pub mod compare;
pub mod probe;
pub mod prometheus;
pub mod report;
pub mod run;
pub mod stats;
pub mod wait;
pub mod watch;
pub mod window;

use assertions::{Assertion, StatusMatcher, ValueCheck};
use checks::{Check, CheckSet};
use probe::ClientOptions;

/// Identity and configuration sections of this tool.
pub const TOOL: Tool = Tool {
    name: "smoke-tester",
    version: env!("CARGO_PKG_VERSION"),
    sections: &["smoke"],
    docs: include_str!("../../../docs/smoke-tester.md"),
};

/// Health and smoke checks, wait-until-ready and rollback triggers.
#[derive(Parser, Debug)]
#[command(name = "smoke-tester", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub globals: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand: smoke-tester's own and those every tool has.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run every check of a checks file (concurrently); exit 1 if any fails
    Run(run::RunArgs),
    /// Check one URL with assertions given as flags
    Check(check::CheckArgs),
    /// Poll a URL or checks file until healthy, or give up at --timeout
    Wait(wait::WaitArgs),
    /// Sample for --duration and decide on a rollback over sliding windows
    Watch(watch::WatchArgs),
    /// Compare a canary with its baseline under the same requests
    Compare(compare::CompareArgs),
    #[command(flatten)]
    Common(CommonCommand),
}

/// Runs the command line `main.rs` parsed: the binary's one call into the library.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let globals = &cli.globals;
    match &cli.command {
        Command::Run(args) => run::run(globals, args),
        Command::Check(args) => check::run(globals, args),
        Command::Wait(args) => wait::run(globals, args),
        Command::Watch(args) => watch::run(globals, args),
        Command::Compare(args) => compare::run(globals, args),
        Command::Common(common) => cli::run_common::<Cli>(&TOOL, globals, common),
    }
}

/// HTTP settings shared by every subcommand.
#[derive(Args, Debug, Clone, Default)]
pub struct HttpArgs {
    /// Also trust this CA certificate (PEM), e.g. an internal CA (repeatable)
    #[arg(long = "ca-cert", value_name = "FILE")]
    pub ca_certs: Vec<PathBuf>,
    /// Stop reading a response body after this many bytes and fail the check [default: 10 MiB]
    #[arg(long, value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Consecutive failures before a check counts as failed [default: [smoke] failure_threshold, 3]
    #[arg(long, value_name = "N")]
    pub failure_threshold: Option<NonZeroU32>,
}

impl HttpArgs {
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            ca_certs: self.ca_certs.clone(),
            max_body_bytes: self.max_body_bytes,
        }
    }
}

/// What to check: one URL with ad-hoc assertions, or a checks file.
#[derive(Args, Debug, Clone, Default)]
pub struct TargetArgs {
    /// The URL to check (instead of --checks)
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    /// A checks file (TOML with [[check]] tables)
    #[arg(long, value_name = "FILE", conflicts_with = "url")]
    pub checks: Option<PathBuf>,
    /// Base URL for relative check URLs, overriding the file's `base_url`
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    #[command(flatten)]
    pub adhoc: AdhocArgs,
}

/// Request settings and assertions for a single URL given on the command line.
#[derive(Args, Debug, Clone, Default)]
pub struct AdhocArgs {
    /// Expected status: 200, 2xx, 200-299 or 200,204 [default: 200-399]
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// JSONPath assertion, e.g. '$.status == "healthy"' (==, !=, <, <=, >, >=, =~, contains; repeatable)
    #[arg(long = "jsonpath", value_name = "EXPR")]
    pub jsonpaths: Vec<String>,
    /// Fail when the response takes longer, e.g. 500ms
    #[arg(long, value_name = "DURATION")]
    pub max_latency: Option<String>,
    /// Fail unless the body contains this text
    #[arg(long, value_name = "TEXT")]
    pub contains: Option<String>,
    /// Fail unless the first element matching the CSS selector contains the text: 'h1=VibeLog' (repeatable)
    #[arg(long = "css", value_name = "SELECTOR=TEXT")]
    pub css: Vec<String>,
    /// Fail unless the TLS certificate stays valid this many more days
    #[arg(long, value_name = "DAYS")]
    pub cert_days_min: Option<i64>,
    /// Request method
    #[arg(long, value_name = "METHOD", default_value = "GET")]
    pub method: String,
    /// Request header 'Name: value' (repeatable); values of credential headers are redacted
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Request body
    #[arg(long, value_name = "TEXT")]
    pub body: Option<String>,
    /// Per-request timeout
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub request_timeout: String,
    /// Do not follow redirects (a 3xx is then the response judged)
    #[arg(long)]
    pub no_follow_redirects: bool,
    /// Extra attempts after a failure [default: failure threshold - 1]
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
    /// Pause between attempts [default: 1s]; with --prometheus, between measurements [default: [smoke.prometheus] interval, 30s]
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
}

/// Parses a duration flag (`500ms`, `5s`, `5m`, `1h`) as a usage error when wrong.
pub fn parse_duration(flag: &str, text: &str) -> Result<std::time::Duration> {
    ConfigDuration::parse(text)
        .map(|d| d.as_duration())
        .map_err(|e| Error::usage_with(format!("--{flag}"), e))
}

/// Parses a percentage flag: `5%` or `5`.
pub fn parse_percent(flag: &str, text: &str) -> Result<f64> {
    let number = text.trim().trim_end_matches('%').trim();
    number
        .parse::<f64>()
        .ok()
        .filter(|value| (0.0..=100.0).contains(value))
        .ok_or_else(|| Error::usage(format!("--{flag}: `{text}` is not a percentage between 0 and 100")))
}

impl AdhocArgs {
    /// Whether any assertion or request flag was given (they need a URL).
    fn any_given(&self) -> bool {
        self.status.is_some()
            || !self.jsonpaths.is_empty()
            || self.max_latency.is_some()
            || self.contains.is_some()
            || !self.css.is_empty()
            || self.cert_days_min.is_some()
            || !self.headers.is_empty()
            || self.body.is_some()
    }

    /// The check these flags describe for `url`.
    pub fn to_check(&self, url: &str) -> Result<Check> {
        let mut check = Check::for_url(url);
        check.method = reqwest::Method::from_bytes(self.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| Error::usage(format!("--method: invalid method `{}`", self.method)))?;
        for header in &self.headers {
            let (name, value) = header
                .split_once(':')
                .ok_or_else(|| Error::usage("--header: write it as 'Name: value'".to_owned()))?;
            let name = name.trim();
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::usage(format!("--header: invalid header name `{name}`")))?;
            check.headers.push((name.to_owned(), value.trim().to_owned()));
        }
        check.body = self.body.clone();
        check.timeout = parse_duration("request-timeout", &self.request_timeout)?;
        check.interval = parse_duration("interval", self.interval.as_deref().unwrap_or("1s"))?;
        check.follow_redirects = !self.no_follow_redirects;
        check.retries = self.retries;
        if let Some(status) = &self.status {
            check.assertions.push(Assertion::Status(
                StatusMatcher::parse(status).map_err(|e| Error::usage_with("--status", e))?,
            ));
        }
        for expression in &self.jsonpaths {
            check.assertions.push(
                assertions::parse_json_path_expression(expression).map_err(|e| Error::usage_with("--jsonpath", e))?,
            );
        }
        if let Some(limit) = &self.max_latency {
            check
                .assertions
                .push(Assertion::MaxLatency(parse_duration("max-latency", limit)?));
        }
        if let Some(text) = &self.contains {
            check.assertions.push(Assertion::BodyContains(text.clone()));
        }
        for css in &self.css {
            let (selector, text) = css
                .split_once('=')
                .ok_or_else(|| Error::usage(format!("--css: write it as 'SELECTOR=TEXT', not `{css}`")))?;
            check.assertions.push(
                Assertion::selector(selector.trim(), ValueCheck::Contains(text.to_owned()))
                    .map_err(|e| Error::usage_with("--css", e))?,
            );
        }
        if let Some(days) = self.cert_days_min {
            check.assertions.push(Assertion::CertDaysMin(days));
        }
        // Templates are rendered later; reject broken ones now, before any request.
        let templates = minijinja::Environment::new();
        for text in std::iter::once(url).chain(check.headers.iter().map(|(_, v)| v.as_str())) {
            templates
                .template_from_str(text)
                .map_err(|e| Error::usage_with(format!("invalid template `{}`", redact_in_text(text)), e))?;
        }
        check.validate(&process_variables())?;
        Ok(check)
    }
}

impl TargetArgs {
    /// The checks to run: the file, or the single URL with its flags.
    pub fn load(&self) -> Result<CheckSet> {
        let mut set = match (&self.checks, &self.url) {
            (Some(path), _) => {
                if self.adhoc.any_given() {
                    return Err(Error::usage(
                        "assertion and request flags apply to a URL; with --checks put them in the file",
                    ));
                }
                checks::load_file(path)?
            }
            (None, Some(url)) => CheckSet {
                origin: "command line".into(),
                checks: vec![self.adhoc.to_check(url)?],
            },
            (None, None) => return Err(Error::usage("give a URL or --checks FILE")),
        };
        if let Some(base) = &self.base_url {
            reqwest::Url::parse(base)
                .map_err(|e| Error::usage_with(format!("--base-url: `{}`", redact_str(base)), e))?;
            for check in &mut set.checks {
                check.base_url = Some(base.clone());
            }
        }
        set.validate(&process_variables())?;
        Ok(set)
    }
}

/// The `[smoke]` configuration with `--failure-threshold` applied.
pub fn smoke_config(globals: &GlobalArgs, http: &HttpArgs) -> Result<SmokeConfig> {
    let mut config = cli::load_config(globals)?.config.smoke;
    if let Some(threshold) = http.failure_threshold {
        config.failure_threshold = threshold;
    }
    Ok(config)
}

/// A tokio runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::external_with("cannot start the async runtime", e))
}

/// A runtime on the calling thread, for commands that send one request at a time.
pub fn single_thread_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::external_with("cannot start the async runtime", e))
}

/// The variables templates see: this process's environment.
pub fn process_variables() -> checks::Variables {
    checks::Variables::from_env(
        std::env::vars_os().filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn reads_only_known_config_sections() {
        for section in TOOL.sections {
            assert!(shipgate_core::config::SECTIONS.contains(section), "{section}");
        }
    }

    #[test]
    fn adhoc_flags_become_assertions() {
        let adhoc = AdhocArgs {
            status: Some("200".into()),
            jsonpaths: vec![r#"$.status == "healthy""#.into()],
            max_latency: Some("500ms".into()),
            css: vec!["h1=VibeLog".into()],
            method: "get".into(),
            request_timeout: "2s".into(),
            interval: Some("100ms".into()),
            headers: vec!["Authorization: Bearer abc".into()],
            ..AdhocArgs::default()
        };
        let check = adhoc.to_check("http://127.0.0.1:1/health").unwrap();
        let described: Vec<String> = check.assertions.iter().map(Assertion::describe).collect();
        assert_eq!(
            described,
            [
                "status 200",
                r#"jsonpath $.status == "healthy""#,
                "latency <= 500 ms",
                r#"css h1 contains "VibeLog""#
            ]
        );
        assert_eq!(check.timeout, std::time::Duration::from_secs(2));
        let bad = AdhocArgs {
            status: Some("abc".into()),
            ..adhoc
        };
        let err = bad.to_check("http://x").unwrap_err();
        assert_eq!(err.exit_code(), shipgate_core::exit::ExitCode::Usage);
        assert!(parse_percent("max-error-rate", "5%").unwrap() == 5.0);
        assert!(parse_percent("max-error-rate", "150%").is_err());
    }
}
