//! `wait`, `watch` and `compare` against real local services, including a
//! deterministic error pattern whose rollback decision is known in advance.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use shipgate_testkit::cli::step_outputs;
use support::{Servers, all_output, code, smoke_tester, stdout};

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn actions_env<'a>(outputs: &'a Path, summary: &'a Path) -> Vec<(&'static str, &'a str)> {
    vec![
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
        ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
    ]
}

#[test]
fn wait_returns_once_a_refusing_service_comes_up() {
    let servers = Servers::new();
    let base = servers.service_later(Duration::from_secs(2));
    let dir = temp();
    let started = Instant::now();
    let output = smoke_tester(
        dir.path(),
        &[
            "wait",
            &format!("{base}/ready"),
            "--timeout",
            "20s",
            "--poll-interval",
            "200ms",
            "--successes",
            "2",
        ],
        &[],
    );
    let elapsed = started.elapsed();
    assert_eq!(code(&output), 0, "{}", all_output(&output));
    assert!(elapsed >= Duration::from_millis(1800), "ready too early: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
    assert!(
        support::stderr(&output).contains("ready after"),
        "{}",
        all_output(&output)
    );
}

#[test]
fn wait_gives_up_at_the_deadline_with_the_last_failure() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        port
    };
    let dir = temp();
    let started = Instant::now();
    let output = smoke_tester(
        dir.path(),
        &[
            "wait",
            &format!("http://127.0.0.1:{closed}/health"),
            "--timeout",
            "1s",
            "--poll-interval",
            "100ms",
        ],
        &[],
    );
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    assert!(started.elapsed() < Duration::from_secs(5));
    let stderr = support::stderr(&output);
    assert!(
        stderr.contains("not ready after") && stderr.contains("could not connect"),
        "{stderr}"
    );
}

#[test]
fn wait_finds_localhost_on_either_loopback_family() {
    let servers = Servers::new();
    let dir = temp();
    // /etc/hosts here maps localhost to 127.0.0.1 only; a service on ::1 alone must still be found.
    for bind in ["[::1]:0", "127.0.0.1:0"] {
        let base = servers.service(bind);
        let port = base.rsplit(':').next().unwrap();
        let output = smoke_tester(
            dir.path(),
            &[
                "wait",
                &format!("http://localhost:{port}/health"),
                "--timeout",
                "5s",
                "--jsonpath",
                r#"$.status == "healthy""#,
            ],
            &[],
        );
        assert_eq!(code(&output), 0, "{bind}: {}", all_output(&output));
    }
}

#[test]
fn watch_rolls_back_on_a_known_error_pattern_and_stops_early() {
    let servers = Servers::new();
    let base = servers.service("127.0.0.1:0");
    let dir = temp();
    let outputs = dir.path().join("outputs");
    let summary = dir.path().join("summary.md");
    let started = Instant::now();
    // Every 10th request fails (10%). At 20/s a 2 s window holds at most 40
    // requests, 5% of which is 2: the 3rd error (request 30) makes the
    // breach certain, long before the 10 s run ends.
    let output = smoke_tester(
        dir.path(),
        &[
            "watch",
            &format!("{base}/pattern"),
            "--duration",
            "10s",
            "--rate",
            "20/s",
            "--max-error-rate",
            "5%",
            "--error-rate-window",
            "2s",
            "--max-p95",
            "5s",
            "--p95-window",
            "2s",
        ],
        &actions_env(&outputs, &summary),
    );
    let elapsed = started.elapsed();
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    assert!(elapsed < Duration::from_secs(6), "did not stop early: {elapsed:?}");
    // One `::error` with the decision, so the failed step says why.
    let printed = stdout(&output);
    let errors: Vec<&str> = printed.lines().filter(|line| line.starts_with("::error")).collect();
    assert_eq!(errors.len(), 1, "{printed}");
    assert!(
        errors[0]
            .starts_with("::error title=smoke-tester watch::ROLLBACK: error rate 10.0%25 (3 of 30 requests) exceeded"),
        "{printed}"
    );
    let outputs = step_outputs(&outputs);
    assert_eq!(outputs["rollback"], "true");
    assert_eq!(outputs["passed"], "false");
    assert!(
        outputs["reason"].starts_with("error rate 10.0% (3 of 30 requests) exceeded the 5% over 2s threshold at "),
        "{}",
        outputs["reason"]
    );
    assert_eq!(outputs["error-rate"], "10.00");
    assert!(outputs["p95-ms"].parse::<f64>().unwrap() < 5000.0);
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(shipgate_testkit::mermaid::assert_charts_parse(&summary), 1);
    // The error pattern is fixed, so the counts are; latencies, the breach
    // time and the chart's data are not.
    insta::with_settings!({ filters => vec![
        (r"\d+(\.\d+)? ms", "[N] ms"),
        (r"threshold at \d+(\.\d+)?m?s", "threshold at [ELAPSED]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", "[TIMESTAMP]"),
        (r"(?m)^(\s*)(line|bar) \[.*\]$", "$1$2 [DATA]"),
        (r"(?m)^(\s*)(x-axis|y-axis) (.*?)(\[.*\]|-?\d+(\.\d+)? --> -?\d+(\.\d+)?)$", "$1$2 $3[RANGE]"),
    ]}, {
        insta::assert_snapshot!("watch_rollback_summary", summary);
    });
}

#[test]
fn watch_keeps_a_healthy_service_and_catches_a_slow_p95() {
    let servers = Servers::new();
    let base = servers.service("127.0.0.1:0");
    let dir = temp();
    let output = smoke_tester(
        dir.path(),
        &[
            "watch",
            &format!("{base}/health"),
            "--duration",
            "1500ms",
            "--rate",
            "20/s",
            "--max-error-rate",
            "5%",
            "--error-rate-window",
            "1s",
            "--json",
        ],
        &[],
    );
    assert_eq!(code(&output), 0, "{}", all_output(&output));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["decision"]["rollback"], false);
    assert!(document["decision"]["stats"]["overall"]["requests"].as_u64().unwrap() >= 25);
    assert_eq!(document["decision"]["stats"]["overall"]["errors"], 0);

    // Every 5th request takes 300 ms: 20% slow, so p95 > 200 ms. A 2 s
    // window at 20/s holds 40 requests and allows 2 slow ones; the 3rd is certain.
    let output = smoke_tester(
        dir.path(),
        &[
            "watch",
            &format!("{base}/slow-pattern"),
            "--duration",
            "10s",
            "--rate",
            "20/s",
            "--max-p95",
            "200ms",
            "--p95-window",
            "2s",
            "--json",
        ],
        &[],
    );
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["decision"]["rollback"], true);
    assert_eq!(document["decision"]["breach"]["trigger"], "p95");
    assert_eq!(document["decision"]["breach"]["threshold"], "200 ms over 2s");
    assert_eq!(document["decision"]["breach"]["early"], true);
}

#[test]
fn watch_rolls_back_after_consecutive_failures() {
    let servers = Servers::new();
    let base = servers.service("127.0.0.1:0");
    let dir = temp();
    let output = smoke_tester(
        dir.path(),
        &[
            "watch",
            &format!("{base}/health/detailed"),
            "--duration",
            "10s",
            "--rate",
            "10/s",
        ],
        &[],
    );
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    let text = stdout(&output);
    assert!(
        text.contains("ROLLBACK: 3 consecutive failed checks (threshold 3) at "),
        "{text}"
    );
}

#[test]
fn compare_fails_a_canary_worse_than_its_baseline() {
    let servers = Servers::new();
    let base = servers.service("127.0.0.1:0");
    let dir = temp();
    let outputs = dir.path().join("outputs");
    let summary = dir.path().join("summary.md");
    let output = smoke_tester(
        dir.path(),
        &[
            "compare",
            "--canary",
            &format!("{base}/pattern"),
            "--baseline",
            &format!("{base}/health"),
            "--duration",
            "2s",
            "--rate",
            "20/s",
        ],
        &actions_env(&outputs, &summary),
    );
    assert_eq!(code(&output), 1, "{}", all_output(&output));
    let outputs = step_outputs(&outputs);
    assert_eq!(outputs["rollback"], "true");
    assert_eq!(outputs["verdict"], "rollback");
    assert!(
        // 4 of 40 or 41 requests, depending on whether a tick lands on the deadline;
        // against none of the baseline's, that is significant (p ≈ 0.02).
        outputs["reason"].starts_with("canary error rate ")
            && outputs["reason"]
                .contains("% exceeds the baseline's 0.0% by more than 1 points (two-proportion z-test p = 0.0"),
        "{}",
        outputs["reason"]
    );
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(shipgate_testkit::mermaid::assert_charts_parse(&summary), 1);
    assert!(
        summary.contains("title \"p95 latency: canary (blue), baseline (orange), limit "),
        "{summary}"
    );

    let output = smoke_tester(
        dir.path(),
        &[
            "compare",
            "--canary",
            &format!("{base}/health"),
            "--baseline",
            &format!("{base}/health"),
            "--duration",
            "1s",
            "--rate",
            "10/s",
            "--p95-slack",
            "100ms",
        ],
        &[],
    );
    assert_eq!(code(&output), 0, "{}", all_output(&output));
    assert!(
        stdout(&output).contains("OK: canary within tolerance"),
        "{}",
        stdout(&output)
    );
}
