//! `check` and `run` against real local services on 127.0.0.1 and ::1,
//! misbehaving on purpose, and HTTPS with a test CA.

mod support;

use shipgate_testkit::tls::{LOCALHOST, TestCa, self_signed};
use support::{Servers, all_output, code, smoke_tester, smoke_tester_command, stdout};

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn a_healthy_service_passes_on_ipv4_and_ipv6_loopback() {
    let servers = Servers::new();
    let dir = temp();
    for bind in ["127.0.0.1:0", "[::1]:0"] {
        let base = servers.service(bind);
        let output = smoke_tester(
            dir.path(),
            &[
                "check",
                &format!("{base}/health"),
                "--status",
                "200",
                "--jsonpath",
                r#"$.status == "healthy""#,
                "--jsonpath",
                "$.version =~ ^1\\.",
                "--max-latency",
                "2s",
            ],
            &[],
        );
        assert_eq!(code(&output), 0, "{bind}: {}", all_output(&output));
        assert!(stdout(&output).starts_with("PASS  "), "{}", stdout(&output));
    }
}

#[test]
fn a_200_saying_unhealthy_fails_with_expected_and_actual() {
    let servers = Servers::new();
    let base = servers.service("127.0.0.1:0");
    let dir = temp();
    let output = smoke_tester(
        dir.path(),
        &[
            "check",
            &format!("{base}/health/unhealthy"),
            "--retries",
            "0",
            "--jsonpath",
            r#"$.status == "healthy""#,
        ],
        &[],
    );
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    insta::assert_snapshot!("unhealthy_verdict", stable(&stdout(&output)));
}

#[test]
fn faults_each_get_a_clear_verdict() {
    let servers = Servers::new();
    let base = servers.service("127.0.0.1:0");
    let huge = servers.huge_body();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}/health")
    };
    let dir = temp();
    // Each fault with the flags that make it fail, and its own verdict.
    let cases: Vec<(String, Vec<&str>)> = vec![
        (format!("{base}/slow"), vec!["--request-timeout", "500ms"]),
        (closed, vec![]),
        (format!("{base}/invalid-json"), vec!["--jsonpath", "$.status"]),
        (format!("{base}/flap"), vec![]),
        (format!("{base}/health/detailed"), vec!["--status", "2xx"]),
        (format!("{huge}/big"), vec![]),
        (format!("{base}/loop-a"), vec![]),
    ];
    let mut verdicts = String::new();
    for (url, flags) in cases {
        let mut args = vec!["check", url.as_str(), "--retries", "0"];
        args.extend(flags);
        let output = smoke_tester(dir.path(), &args, &[]);
        assert_eq!(code(&output), 1, "{url}: {}", all_output(&output));
        verdicts.push_str(&stdout(&output));
    }
    insta::assert_snapshot!("fault_verdicts", stable(&verdicts));
}

#[test]
fn flapping_passes_on_retry_and_redirects_can_be_judged_unfollowed() {
    let servers = Servers::new();
    let base = servers.service("127.0.0.1:0");
    let dir = temp();
    let output = smoke_tester(
        dir.path(),
        &["check", &format!("{base}/flap"), "--retries", "2", "--interval", "50ms"],
        &[],
    );
    assert_eq!(code(&output), 0, "{}", all_output(&output));
    assert!(stdout(&output).contains("(2 attempts)"), "{}", stdout(&output));

    let output = smoke_tester(
        dir.path(),
        &[
            "check",
            &format!("{base}/moved"),
            "--no-follow-redirects",
            "--status",
            "308",
        ],
        &[],
    );
    assert_eq!(code(&output), 0, "{}", all_output(&output));
    let output = smoke_tester(
        dir.path(),
        &[
            "check",
            &format!("{base}/moved"),
            "--jsonpath",
            r#"$.status == "healthy""#,
        ],
        &[],
    );
    assert_eq!(code(&output), 0, "followed: {}", all_output(&output));
}

#[test]
fn the_failure_threshold_decides_how_many_attempts_a_failing_check_gets() {
    let servers = Servers::new();
    let base = servers.service("127.0.0.1:0");
    let dir = temp();
    // Seed 004: 3 consecutive failures by default.
    let output = smoke_tester(
        dir.path(),
        &["check", &format!("{base}/health/detailed"), "--interval", "10ms"],
        &[],
    );
    assert_eq!(code(&output), 1);
    assert!(stdout(&output).contains("(3 attempts)"), "{}", stdout(&output));
    let output = smoke_tester(
        dir.path(),
        &[
            "check",
            &format!("{base}/health/detailed"),
            "--interval",
            "10ms",
            "--failure-threshold",
            "1",
        ],
        &[],
    );
    assert_eq!(code(&output), 1);
    assert!(!stdout(&output).contains("attempts)"), "{}", stdout(&output));
}

#[test]
fn https_with_a_test_ca_checks_certificate_expiry() {
    let servers = Servers::new();
    let ca = TestCa::new("shipgate smoke-tester test CA");
    let dir = temp();
    let ca_path = ca.write(dir.path());
    let ca_flag = ca_path.to_str().unwrap();

    let ten_days = ca.issue(&LOCALHOST, -1, 10);
    let valid = servers.tls(&ten_days.certificate_pem, &ten_days.key_pem);
    let output = smoke_tester(
        dir.path(),
        &[
            "check",
            &format!("{valid}/health"),
            "--ca-cert",
            ca_flag,
            "--cert-days-min",
            "7",
        ],
        &[],
    );
    assert_eq!(code(&output), 0, "{}", all_output(&output));
    let output = smoke_tester(
        dir.path(),
        &[
            "check",
            &format!("{valid}/health"),
            "--ca-cert",
            ca_flag,
            "--cert-days-min",
            "30",
            "--retries",
            "0",
        ],
        &[],
    );
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    assert!(
        stdout(&output).contains("✗ certificate valid >= 30 days: expected >= 30 days, actual 10 days"),
        "{}",
        stdout(&output)
    );

    let expired = ca.issue(&LOCALHOST, -30, -1);
    let expired = servers.tls(&expired.certificate_pem, &expired.key_pem);
    let output = smoke_tester(
        dir.path(),
        &[
            "check",
            &format!("{expired}/health"),
            "--ca-cert",
            ca_flag,
            "--retries",
            "0",
        ],
        &[],
    );
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    assert!(
        stdout(&output).contains("TLS error: invalid peer certificate: certificate expired"),
        "{}",
        stdout(&output)
    );

    let untrusted = self_signed(&LOCALHOST);
    let untrusted = servers.tls(&untrusted.certificate_pem, &untrusted.key_pem);
    let output = smoke_tester(
        dir.path(),
        &["check", &format!("{untrusted}/health"), "--retries", "0"],
        &[],
    );
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    assert!(
        stdout(&output).contains("TLS error: invalid peer certificate"),
        "{}",
        stdout(&output)
    );
}

const SEED_CHECKS: &str = r#"
base_url = "{{ env.API_URL }}"

[defaults]
timeout = "2s"
retries = 0

# Seed 003 smoke tests: the homepage's h1 names the product...
[[check]]
name = "homepage"
url = "/"
status = 200
[[check.assert]]
selector = "h1"
contains = "VibeLog"

# ...the health endpoint is 200 and healthy (seed 000)...
[[check]]
name = "health"
url = "/health"
status = 200
[[check.assert]]
jsonpath = "$.status"
equals = "healthy"
[[check.assert]]
jsonpath = "$.version"
matches = "^1\\.2\\."
[[check.assert]]
header = "content-type"
contains = "json"
[[check.assert]]
max_latency = "2s"

# ...and an API endpoint answers below 500.
[[check]]
name = "api below 500"
url = "/health/unhealthy"
status = "200-499"

[[check]]
name = "login"
method = "POST"
url = "/login"
json = { user = "smoke" }
capture = { token = "$.token" }

[[check]]
name = "me"
url = "/me"
headers = { Authorization = "Bearer {{ token }}" }
[[check.assert]]
jsonpath = "$.id"
ge = 42
"#;

#[test]
fn run_executes_a_checks_file_with_env_variables_and_captures() {
    let servers = Servers::new();
    let base = servers.service("127.0.0.1:0");
    let dir = temp();
    std::fs::write(dir.path().join("checks.toml"), SEED_CHECKS).unwrap();
    let output = smoke_tester(
        dir.path(),
        &["run", "--checks", "checks.toml"],
        &[("API_URL", base.as_str())],
    );
    assert_eq!(code(&output), 0, "{}", all_output(&output));
    let text = stdout(&output);
    assert!(text.contains("5 checks, 5 passed, 0 failed"), "{text}");
    // The captured session token went out in an Authorization header: never printed.
    assert!(!all_output(&output).contains("session-token-from-login-77"));
}

#[test]
fn secrets_from_the_environment_are_redacted_in_every_output() {
    let servers = Servers::new();
    let base = servers.service("127.0.0.1:0");
    let dir = temp();
    let secret = "sk-live-0123456789-abcdef";
    std::fs::write(
        dir.path().join("checks.toml"),
        r#"
[[check]]
name = "echo"
url = "{{ env.API_URL }}/echo-headers"
retries = 0
headers = { Authorization = "Bearer {{ env.SMOKE_API_TOKEN }}", X-Api-Key = "{{ env.SMOKE_API_TOKEN }}" }
[[check.assert]]
body_contains = "this is not in the body"
[[check.assert]]
jsonpath = "$.authorization"
equals = "something else"
"#,
    )
    .unwrap();
    let summary = dir.path().join("summary.md");
    let outputs = dir.path().join("outputs.txt");
    for json in [false, true] {
        let mut args = vec![
            "run",
            "--checks",
            "checks.toml",
            "--junit",
            "out/junit.xml",
            "--tap",
            "out/report.tap",
            "--report",
            "out/report.json",
        ];
        if json {
            args.push("--json");
        }
        let output = smoke_tester(
            dir.path(),
            &args,
            &[
                ("API_URL", base.as_str()),
                ("SMOKE_API_TOKEN", secret),
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
                ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ],
        );
        assert_eq!(code(&output), 1, "{}", all_output(&output));
        // `::add-mask::` lines are how the runner learns what to mask; nothing else may show the secret.
        let printed: String = all_output(&output)
            .lines()
            .filter(|line| !line.starts_with("::add-mask::"))
            .map(|line| format!("{line}\n"))
            .collect();
        assert!(printed.contains("actual"), "the failure must be shown: {printed}");
        assert!(printed.contains("***"), "{printed}");
        assert!(!printed.contains(secret), "secret leaked to stdout/stderr:\n{printed}");
        for file in [
            "out/junit.xml",
            "out/report.tap",
            "out/report.json",
            "summary.md",
            "outputs.txt",
        ] {
            let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
            assert!(!text.contains(secret), "secret leaked into {file}:\n{text}");
        }
    }
    // What the failure looks like with the secret masked, in each format.
    for (name, file) in [
        ("masked_summary", "summary.md"),
        ("masked_junit", "out/junit.xml"),
        ("masked_tap", "out/report.tap"),
    ] {
        report_snapshot(name, &std::fs::read_to_string(dir.path().join(file)).unwrap());
    }
}

#[test]
fn a_malformed_checks_file_is_exit_2_with_file_and_line() {
    let dir = temp();
    let cases = [
        (
            "[[check]]\nname = \"a\"\nurl = \"/\"\nstatus = \"abc\"\n",
            "bad.toml:4: ",
        ),
        (
            "[[check]]\nname = \"a\"\nurl = \"/\"\n[[check.assert]]\nselector = \"h1[\"\n",
            "bad.toml:4: ",
        ),
        ("[[check]]\nname = \"a\"\n\nurl = [\n", "bad.toml:4: "),
        (
            "[[check]]\nname = \"a\"\nurl = \"/\"\ntimeout = \"5 minutes\"\n",
            "bad.toml:4: ",
        ),
    ];
    for (text, location) in cases {
        std::fs::write(dir.path().join("bad.toml"), text).unwrap();
        let output = smoke_tester(dir.path(), &["run", "--checks", "bad.toml"], &[]);
        assert_eq!(code(&output), 2, "{text}: {}", all_output(&output));
        let stderr = support::stderr(&output);
        assert!(stderr.contains(location), "{text}: wanted {location:?} in {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stdout(&output).is_empty());
    }
    let output = smoke_tester(dir.path(), &["run", "--checks", "missing.toml"], &[]);
    assert_eq!(code(&output), 2);
    let output = smoke_tester(dir.path(), &["check", "http://127.0.0.1:1/", "--status", "9000"], &[]);
    assert_eq!(code(&output), 2, "{}", all_output(&output));
}

#[test]
fn reports_parse_back_as_junit_tap_and_json() {
    let servers = Servers::new();
    let base = servers.service("127.0.0.1:0");
    let dir = temp();
    std::fs::write(
        dir.path().join("checks.toml"),
        r#"
base_url = "{{ env.API_URL }}"
[defaults]
retries = 0
[[check]]
name = "health"
url = "/health"
status = 200
[[check]]
name = "detailed"
url = "/health/detailed"
status = 200
"#,
    )
    .unwrap();
    let output = smoke_tester(
        dir.path(),
        &[
            "run",
            "--checks",
            "checks.toml",
            "--json",
            "--junit",
            "junit.xml",
            "--tap",
            "report.tap",
        ],
        &[("API_URL", base.as_str())],
    );
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    report_snapshot("run_json", &serde_json::to_string_pretty(&document).unwrap());
    report_snapshot(
        "run_junit",
        &std::fs::read_to_string(dir.path().join("junit.xml")).unwrap(),
    );

    let junit = std::fs::File::open(dir.path().join("junit.xml")).unwrap();
    let suites = junit_parser::from_reader(std::io::BufReader::new(junit)).expect("valid JUnit XML");
    assert_eq!(suites.tests, 2);
    assert_eq!(suites.failures, 1);
    let suite = &suites.suites[0];
    assert_eq!(suite.name, "smoke-tester run");
    let failed = suite.cases.iter().find(|c| c.original_name == "detailed").unwrap();
    assert_eq!(failed.classname.as_deref(), Some("smoke-tester.run"));
    match &failed.status {
        junit_parser::TestStatus::Failure(failure) => {
            assert_eq!(failure.message, "status 200: expected 200, actual 503")
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(
        suite
            .cases
            .iter()
            .any(|c| c.original_name == "health" && c.status.is_success())
    );

    let tap = std::fs::read_to_string(dir.path().join("report.tap")).unwrap();
    assert_eq!(
        tap,
        "TAP version 14\n1..2\nok 1 - health\nnot ok 2 - detailed\n  ---\n  message: \"status 200: expected 200, actual 503\"\n  ...\n"
    );
}

#[test]
fn run_without_a_checks_file_uses_the_smoke_section_of_shipgate_toml() {
    let servers = Servers::new();
    let base = servers.service("[::1]:0");
    let dir = temp();
    std::fs::write(
        dir.path().join("shipgate.toml"),
        r#"[smoke]
failure_threshold = 1
base_url = "{{ env.API_URL }}"

[[smoke.check]]
name = "health"
url = "/health"
status = 200

[[smoke.check]]
name = "detailed"
url = "/health/detailed"
status = 503
"#,
    )
    .unwrap();
    let output = smoke_tester(dir.path(), &["run"], &[("API_URL", base.as_str())]);
    assert_eq!(code(&output), 0, "{}", all_output(&output));
    assert!(
        stdout(&output).contains("2 checks, 2 passed, 0 failed"),
        "{}",
        stdout(&output)
    );

    std::fs::write(
        dir.path().join("shipgate.toml"),
        "[smoke]\n\n[[smoke.check]]\nname = \"health\"\nurl = \"/health\"\nstatus = \"5xxx\"\n",
    )
    .unwrap();
    let output = smoke_tester(dir.path(), &["run"], &[]);
    assert_eq!(code(&output), 2, "{}", all_output(&output));
    assert!(
        support::stderr(&output).contains("shipgate.toml:6: "),
        "{}",
        all_output(&output)
    );

    std::fs::remove_file(dir.path().join("shipgate.toml")).unwrap();
    let output = smoke_tester(dir.path(), &["run"], &[]);
    assert_eq!(code(&output), 2);
    assert!(
        support::stderr(&output).contains("no checks"),
        "{}",
        all_output(&output)
    );
}

/// Output with what changes from run to run (port, latency column) replaced.
/// Snapshots a report with what changes from run to run (ports, timings,
/// dates) replaced.
fn report_snapshot(name: &str, report: &str) {
    insta::with_settings!({ filters => vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"\[::1\]:\d+", "[::1]:[PORT]"),
        (r#""(duration_ms|elapsed_ms|latency_ms)": \d+(\.\d+)?"#, r#""$1": "[MS]""#),
        (r#"time="[0-9.]+""#, r#"time="[SECONDS]""#),
        (r"\| \d+ ms \|", "| [N] ms |"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", "[TIMESTAMP]"),
        (r#""version": "\d+\.\d+\.\d+[^"]*""#, r#""version": "[VERSION]""#),
        // The user agent in an echoed body, cut short with an ellipsis.
        (r#"shipgate/[0-9][^"\\ ]*…"#, "shipgate/[VERSION]…"),
    ]}, {
        insta::assert_snapshot!(name, report);
    });
}

fn stable(text: &str) -> String {
    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    let latency = regex::Regex::new(r" +\d+ ms  ([A-Z]+) ").unwrap();
    let text = port.replace_all(text, "127.0.0.1:PORT");
    let text = latency.replace_all(&text, "  N ms  $1 ");
    let mut text = text.into_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

#[test]
fn credentials_in_the_url_never_reach_any_output_and_only_their_parts_are_masked() {
    use shipgate_testkit::planted::{self, ActionsFiles, PASSWORD, QUERY_SECRET};
    let servers = Servers::new();
    let base = servers.service("127.0.0.1:0");
    let url = format!(
        "{}/health/detailed?token={QUERY_SECRET}&page=2",
        base.replacen("http://", &format!("http://smoke:{PASSWORD}@"), 1)
    );
    let dir = temp();
    let reports = ["out/junit.xml", "out/report.tap", "out/report.json"];
    for json in [false, true] {
        for in_actions in [false, true] {
            let actions = ActionsFiles::new();
            let mut command = smoke_tester_command(dir.path());
            command.args([
                "check",
                &url,
                "--retries",
                "0",
                "--junit",
                reports[0],
                "--tap",
                reports[1],
                "--report",
                reports[2],
            ]);
            if json {
                command.arg("--json");
            }
            let outcome = planted::run(
                "smoke-tester check",
                command,
                dir.path(),
                in_actions.then_some(&actions),
                &reports,
            );
            assert_eq!(outcome.code, Some(1), "{outcome:?}");
            assert_eq!(outcome.leaks(), Vec::<String>::new());
            if in_actions {
                assert_eq!(outcome.masks(), [PASSWORD, QUERY_SECRET], "{}", outcome.stdout);
            }
            if !json && !in_actions {
                insta::assert_snapshot!("redacted_result_line", stable(&outcome.stdout));
            }
            if json {
                // Workflow commands (masks, the annotation) come before the document.
                let text: String = outcome.stdout.lines().filter(|line| !line.starts_with("::")).collect();
                let document: serde_json::Value = serde_json::from_str(&text).expect("--json is JSON");
                assert_eq!(
                    stable(document["checks"][0]["url"].as_str().unwrap()),
                    "http://smoke:***@127.0.0.1:PORT/health/detailed?token=***&page=***\n"
                );
            }
        }
    }
}

#[test]
fn a_failed_check_in_actions_writes_exactly_one_error_annotation() {
    use shipgate_testkit::planted::{self, ActionsFiles};
    let servers = Servers::new();
    let base = servers.service("127.0.0.1:0");
    let dir = temp();
    let actions = ActionsFiles::new();
    let mut command = smoke_tester_command(dir.path());
    command.args(["check", &format!("{base}/health/detailed"), "--retries", "0"]);
    let outcome = planted::run("smoke-tester check", command, dir.path(), Some(&actions), &[]);
    assert_eq!(outcome.code, Some(1), "{outcome:?}");
    assert_eq!(
        outcome
            .error_annotations()
            .iter()
            .map(|line| stable(line))
            .collect::<Vec<_>>(),
        [
            "::error title=smoke-tester check::check `http://127.0.0.1:PORT/health/detailed` failed: status 200-399: expected 200-399, actual 503\n"
        ]
    );
    // A passing check writes none.
    let actions = ActionsFiles::new();
    let mut command = smoke_tester_command(dir.path());
    command.args(["check", &format!("{base}/health")]);
    let outcome = planted::run("smoke-tester check", command, dir.path(), Some(&actions), &[]);
    assert_eq!(outcome.code, Some(0), "{outcome:?}");
    assert!(outcome.error_annotations().is_empty(), "{}", outcome.stdout);
}

#[test]
fn bad_urls_and_unset_variables_are_exit_2_before_any_request() {
    let dir = temp();
    std::fs::write(
        dir.path().join("checks.toml"),
        "[[check]]\nname = \"health\"\nurl = \"{{ env.SMOKE_BASE_NEVER_SET }}/health\"\n",
    )
    .unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["check", "ftp://127.0.0.1:1/file"],
            "smoke-tester: error: check `ftp://127.0.0.1:1/file`: `ftp://127.0.0.1:1/file` is not an http(s) URL (scheme `ftp`)",
        ),
        (
            &["check", "http://[bad/health"],
            "smoke-tester: error: check `http://[bad/health`: invalid URL `http://[bad/health`: invalid IPv6 address",
        ),
        (
            &["run", "--checks", "checks.toml"],
            "smoke-tester: error: check `health`: `{{ env.SMOKE_BASE_NEVER_SET }}` is not set in the environment",
        ),
        (
            &["wait", "--checks", "checks.toml", "--timeout", "10s"],
            "smoke-tester: error: check `health`: `{{ env.SMOKE_BASE_NEVER_SET }}` is not set in the environment",
        ),
        (
            &["watch", "ftp://127.0.0.1:1/file", "--duration", "10s"],
            "smoke-tester: error: check `ftp://127.0.0.1:1/file`: `ftp://127.0.0.1:1/file` is not an http(s) URL (scheme `ftp`)",
        ),
    ];
    for (args, expected) in cases {
        let started = std::time::Instant::now();
        let output = smoke_tester(dir.path(), args, &[]);
        assert_eq!(code(&output), 2, "{args:?}: {}", all_output(&output));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{args:?} took {:?}: retried?",
            started.elapsed()
        );
        assert_eq!(support::stderr(&output).trim(), expected, "{args:?}");
        assert!(stdout(&output).is_empty(), "{args:?}: {}", stdout(&output));
    }
}

#[test]
fn max_latency_stops_waiting_once_the_bound_has_clearly_passed() {
    let servers = Servers::new();
    let base = servers.service("127.0.0.1:0");
    let dir = temp();
    let started = std::time::Instant::now();
    // `/slow` answers after 3 s. Three attempts of at most 500 ms + 100 ms,
    // 200 ms apart: 2.2 s at most, where waiting for each answer took 9.4 s.
    let output = smoke_tester(
        dir.path(),
        &[
            "check",
            &format!("{base}/slow"),
            "--max-latency",
            "500ms",
            "--interval",
            "200ms",
        ],
        &[],
    );
    let elapsed = started.elapsed();
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    assert!(elapsed < std::time::Duration::from_millis(2900), "took {elapsed:?}");
    insta::assert_snapshot!("latency_bound_verdict", stable(&stdout(&output)));
}

#[test]
fn a_pinned_self_signed_certificate_with_ca_true_is_accepted() {
    // What `openssl req -x509 -newkey ... -subj /CN=localhost -addext
    // subjectAltName=...` makes: a self-signed certificate whose basic
    // constraints say CA:TRUE, used by the server as its own certificate.
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("params");
    params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let certificate = params.self_signed(&key).expect("self-signed certificate");
    let servers = Servers::new();
    let url = servers.tls(&certificate.pem(), &key.serialize_pem());
    let dir = temp();
    std::fs::write(dir.path().join("server.pem"), certificate.pem()).unwrap();
    let output = smoke_tester(
        dir.path(),
        &[
            "check",
            &format!("{url}/health"),
            "--ca-cert",
            "server.pem",
            "--retries",
            "0",
        ],
        &[],
    );
    assert_eq!(code(&output), 0, "{}", all_output(&output));

    // Another certificate that is not the pinned one is still refused.
    let other = self_signed(&LOCALHOST);
    let other_url = servers.tls(&other.certificate_pem, &other.key_pem);
    let output = smoke_tester(
        dir.path(),
        &[
            "check",
            &format!("{other_url}/health"),
            "--ca-cert",
            "server.pem",
            "--retries",
            "0",
        ],
        &[],
    );
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    assert!(
        stdout(&output).contains("TLS error: invalid peer certificate"),
        "{}",
        stdout(&output)
    );
}
