//! `watch --prometheus` and `compare --prometheus` against a real Prometheus
//! (one per test binary) scraping the testkit's demo service every second,
//! with traffic driven at it and faults switched on while it is watched.

mod support;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use shipgate_testkit::cli::step_outputs;
use shipgate_testkit::demo_service::{DemoService, Faults};
use shipgate_testkit::tls::{LOCALHOST, TestCa};
use shipgate_testkit::{CannedResponse, Prometheus, ScriptedServer};
use support::{all_output, code, smoke_tester, smoke_tester_command};

fn prometheus() -> &'static Prometheus {
    Prometheus::shared().unwrap_or_else(|error| panic!("{error:#}"))
}

/// A demo service with steady traffic, scraped as `job`.
fn scraped_service(job: &str) -> (DemoService, shipgate_testkit::demo_service::Traffic) {
    let service = DemoService::start("VibeLog", "1.0.0");
    let traffic = service.traffic(40);
    prometheus()
        .scrape(job, &service.url())
        .expect("the demo service is scraped");
    (service, traffic)
}

/// The report file, outputs and summary of one run in (simulated) Actions.
struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new() -> Run {
        Run {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("GITHUB_ACTIONS", "true".to_owned()),
            ("GITHUB_OUTPUT", self.path("outputs")),
            ("GITHUB_STEP_SUMMARY", self.path("summary.md")),
        ]
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn outputs(&self) -> BTreeMap<String, String> {
        step_outputs(&self.dir.path().join("outputs"))
    }

    fn report(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.path("report.json")).expect("the report was written");
        serde_json::from_str(&text).expect("the report is JSON")
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.path("summary.md")).unwrap_or_default()
    }

    fn smoke_tester(&self, args: &[&str], extra_env: &[(&str, &str)]) -> std::process::Output {
        let env = self.env();
        let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(extra_env);
        let report = self.path("report.json");
        let mut args = args.to_vec();
        args.extend(["--report", report.as_str()]);
        smoke_tester(self.dir.path(), &args, &all)
    }
}

/// The measurements of one trigger in the JSON report, as outcome names.
fn outcomes(report: &serde_json::Value, trigger: &str) -> Vec<String> {
    report["prometheus"]["triggers"]
        .as_array()
        .expect("triggers")
        .iter()
        .find(|run| run["name"] == trigger)
        .expect("the trigger")["measurements"]
        .as_array()
        .expect("measurements")
        .iter()
        .map(|m| m["outcome"].as_str().expect("outcome").to_owned())
        .collect()
}

#[test]
fn watch_calls_a_rollback_within_the_failure_limit_once_the_service_goes_bad() {
    let (service, _traffic) = scraped_service("watch-bad");
    let run = Run::new();
    let report = run.path("report.json");
    let env = run.env();
    let started = Instant::now();
    let child = smoke_tester_command(run.dir.path())
        .args([
            "watch",
            "--prometheus",
            prometheus().url(),
            "--selector",
            r#"{job="watch-bad"}"#,
        ])
        .args(["--query-window", "3s", "--interval", "1s", "--failure-limit", "2"])
        .args(["--duration", "40s", "--report", &report])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start smoke-tester");
    std::thread::sleep(Duration::from_secs(2));
    service.set_faults(Faults {
        error_percent: 40,
        latency: Duration::ZERO,
    });
    let output = child.wait_with_output().expect("smoke-tester ends");
    let elapsed = started.elapsed();
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    assert!(elapsed < Duration::from_secs(20), "rollback took {elapsed:?}");

    let outputs = run.outputs();
    assert_eq!(outputs["rollback"], "true");
    assert_eq!(outputs["verdict"], "rollback");
    assert!(
        outputs["reason"].starts_with("Prometheus: error rate ")
            && outputs["reason"].contains(" above 5.0% in 2 consecutive measurements"),
        "{}",
        outputs["reason"]
    );
    let report = run.report();
    assert_eq!(report["decision"]["verdict"], "rollback");
    let errors = outcomes(&report, "error rate");
    // Healthy before the flip, then exactly failure-limit breaches in a row.
    assert_eq!(errors.first().map(String::as_str), Some("pass"), "{errors:?}");
    assert_eq!(errors[errors.len() - 2..], ["breach", "breach"], "{errors:?}");
    assert_eq!(errors.iter().filter(|o| *o == "breach").count(), 2, "{errors:?}");
    let summary = run.summary();
    assert!(summary.starts_with("### smoke-tester watch: rollback\n"), "{summary}");
    assert!(
        summary.contains("xychart-beta\n    title \"error rate (blue) vs threshold (red)\""),
        "{summary}"
    );
    assert_eq!(shipgate_testkit::mermaid::assert_charts_parse(&summary), 2);
}

#[test]
fn watch_passes_a_healthy_service_on_both_signals() {
    let (service, _traffic) = scraped_service("watch-healthy");
    let run = Run::new();
    let output = run.smoke_tester(
        &[
            "watch",
            &format!("{}/api/items", service.url()),
            "--rate",
            "5/s",
            "--prometheus",
            prometheus().url(),
            "--selector",
            r#"{job="watch-healthy"}"#,
            "--query-window",
            "3s",
            "--interval",
            "1s",
            "--duration",
            "3s",
        ],
        &[],
    );
    assert_eq!(code(&output), 0, "{}", all_output(&output));
    let outputs = run.outputs();
    assert_eq!(outputs["rollback"], "false");
    assert_eq!(outputs["verdict"], "pass");
    let report = run.report();
    assert_eq!(report["passed"], true);
    // The probes' own statistics and the metrics' judgement, in one report.
    assert!(
        report["decision"]["stats"]["overall"]["requests"].as_u64().unwrap() >= 10,
        "{report}"
    );
    let errors = outcomes(&report, "error rate");
    assert!(errors.len() >= 3 && errors.iter().all(|o| o == "pass"), "{errors:?}");
    let p95 = outcomes(&report, "p95");
    assert!(p95.iter().all(|o| o == "pass"), "{p95:?}");
}

#[test]
fn a_query_without_data_is_inconclusive_never_a_pass() {
    let run = Run::new();
    let started = Instant::now();
    let output = run.smoke_tester(
        &[
            "watch",
            "--prometheus",
            prometheus().url(),
            "--selector",
            r#"{job="nothing-scrapes-this"}"#,
            "--interval",
            "200ms",
            "--inconclusive-limit",
            "3",
            "--duration",
            "30s",
        ],
        &[],
    );
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let outputs = run.outputs();
    assert_eq!(outputs["verdict"], "inconclusive");
    assert_eq!(outputs["rollback"], "false");
    let report = run.report();
    assert_eq!(outcomes(&report, "error rate"), ["inconclusive"; 3]);

    // Below the limit at the end, but no value ever: still inconclusive.
    let run = Run::new();
    let output = run.smoke_tester(
        &[
            "watch",
            "--prometheus",
            prometheus().url(),
            "--error-rate-query",
            "vector(0.01)",
            "--p95-query",
            r#"histogram_quantile(0.95, rate(nothing_bucket[1m]))"#,
            "--duration",
            "1s",
        ],
        &[],
    );
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    assert_eq!(run.outputs()["verdict"], "inconclusive");
}

#[test]
fn exit_codes_for_bad_queries_and_an_unreachable_prometheus() {
    let run = Run::new();
    let bad_query = run.smoke_tester(
        &[
            "watch",
            "--prometheus",
            prometheus().url(),
            "--error-rate-query",
            "sum((",
            "--p95-query",
            "vector(0)",
            "--duration",
            "1s",
        ],
        &[],
    );
    assert_eq!(code(&bad_query), 2, "{}", all_output(&bad_query));
    assert!(
        all_output(&bad_query).contains("Prometheus rejected `sum((`: bad_data"),
        "{}",
        all_output(&bad_query)
    );

    let no_selector = run.smoke_tester(&["watch", "--prometheus", prometheus().url()], &[]);
    assert_eq!(code(&no_selector), 2, "{}", all_output(&no_selector));

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = run.smoke_tester(
        &[
            "watch",
            "--prometheus",
            &format!("http://127.0.0.1:{closed}"),
            "--selector",
            r#"{job="api"}"#,
            "--duration",
            "1s",
        ],
        &[],
    );
    assert_eq!(code(&unreachable), 3, "{}", all_output(&unreachable));
    assert!(
        all_output(&unreachable).contains("could not connect") && all_output(&unreachable).contains("after 4 attempts"),
        "{}",
        all_output(&unreachable)
    );
}

#[test]
fn compare_judges_the_canary_from_its_metrics_against_the_baseline() {
    let (_baseline, _baseline_traffic) = scraped_service("compare-baseline");
    let (canary, _canary_traffic) = scraped_service("compare-canary");
    canary.set_faults(Faults {
        error_percent: 30,
        latency: Duration::ZERO,
    });
    std::thread::sleep(Duration::from_secs(2));
    let run = Run::new();
    let output = run.smoke_tester(
        &[
            "compare",
            "--prometheus",
            prometheus().url(),
            "--canary-selector",
            r#"{job="compare-canary"}"#,
            "--baseline-selector",
            r#"{job="compare-baseline"}"#,
            "--query-window",
            "3s",
            "--interval",
            "500ms",
            "--failure-limit",
            "2",
            "--duration",
            "10s",
        ],
        &[],
    );
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    let outputs = run.outputs();
    assert_eq!(outputs["verdict"], "rollback");
    let report = run.report();
    let trigger = &report["prometheus"]["triggers"][0];
    assert_eq!(trigger["name"], "error rate");
    assert_eq!(
        trigger["baseline"]["query"],
        r#"(sum(rate(http_requests_total{job="compare-baseline",code=~"5.."}[3s])) or vector(0)) / sum(rate(http_requests_total{job="compare-baseline"}[3s]))"#
    );
    // The threshold is the baseline's error rate (0) plus the 1 point tolerance.
    let last = trigger["measurements"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["threshold"], 0.01);
    assert_eq!(last["outcome"], "breach");
}

#[test]
fn credentials_go_to_prometheus_and_nowhere_else() {
    let server = ScriptedServer::start();
    let answer = serde_json::json!({
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1.7e9, "0.001"]}]}
    });
    server.always("GET", "/prom/api/v1/query", CannedResponse::json(200, &answer));
    let token = "prom-token-7f3c9a1e";
    let run = Run::new();
    let output = run.smoke_tester(
        &[
            "watch",
            "--prometheus",
            &format!("{}/prom", server.url()),
            "--selector",
            r#"{job="api"}"#,
            "--duration",
            "1s",
            "--json",
        ],
        &[("PROMETHEUS_TOKEN", token)],
    );
    assert_eq!(code(&output), 0, "{}", all_output(&output));
    let requests = server.requests_to("GET", "/prom/api/v1/query");
    assert_eq!(requests.len(), 2, "one query per trigger");
    for request in &requests {
        assert_eq!(request.header("authorization"), Some("Bearer prom-token-7f3c9a1e"));
    }
    let printed = all_output(&output);
    assert!(printed.contains("::add-mask::prom-token-7f3c9a1e"), "{printed}");
    let everything = format!(
        "{}{}{}",
        printed.replace("::add-mask::prom-token-7f3c9a1e", ""),
        std::fs::read_to_string(run.path("outputs")).unwrap_or_default(),
        run.summary()
    ) + &std::fs::read_to_string(run.path("report.json")).unwrap_or_default();
    assert!(!everything.contains(token), "{everything}");

    // Basic auth from the environment.
    let run = Run::new();
    let output = run.smoke_tester(
        &[
            "watch",
            "--prometheus",
            &format!("{}/prom/", server.url()),
            "--selector",
            r#"{job="api"}"#,
            "--duration",
            "1s",
        ],
        &[
            ("PROMETHEUS_USERNAME", "grafana"),
            ("PROMETHEUS_PASSWORD", "basic-pw-55d1"),
        ],
    );
    assert_eq!(code(&output), 0, "{}", all_output(&output));
    let last = server.requests_to("GET", "/prom/api/v1/query").pop().unwrap();
    assert_eq!(last.header("authorization"), Some("Basic Z3JhZmFuYTpiYXNpYy1wdy01NWQx"));
    assert!(
        !std::fs::read_to_string(run.path("report.json"))
            .unwrap()
            .contains("basic-pw-55d1")
    );
}

#[test]
fn a_prometheus_behind_tls_with_a_private_ca_is_trusted_with_ca_cert() {
    let ca = TestCa::new("shipgate smoke-tester test CA");
    let leaf = ca.issue(&LOCALHOST, -1, 30);
    let run = Run::new();
    std::fs::write(run.dir.path().join("tls.crt"), &leaf.certificate_pem).unwrap();
    std::fs::write(run.dir.path().join("tls.key"), &leaf.key_pem).unwrap();
    let web = format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
        run.path("tls.crt"),
        run.path("tls.key")
    );
    let tls = Prometheus::start_with_web_config(Some(&web)).unwrap_or_else(|error| panic!("{error:#}"));
    let ca_file = ca.write(run.dir.path());
    let args = |ca: Option<&str>| {
        let mut args = vec![
            "watch",
            "--prometheus",
            tls.url(),
            "--error-rate-query",
            "vector(0.01)",
            "--p95-query",
            "vector(0.2)",
            "--duration",
            "1s",
        ];
        if let Some(ca) = ca {
            args.extend(["--ca-cert", ca]);
        }
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let trusted = args(Some(ca_file.to_str().unwrap()));
    let output = run.smoke_tester(&trusted.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert_eq!(code(&output), 0, "{}", all_output(&output));
    assert_eq!(run.outputs()["verdict"], "pass");

    let untrusted = args(None);
    let output = run.smoke_tester(&untrusted.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    assert_eq!(code(&output), 3, "{}", all_output(&output));
    assert!(all_output(&output).contains("certificate"), "{}", all_output(&output));
}
