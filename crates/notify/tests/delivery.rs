//! Fan-out behaviour against real local servers: retries and 429s,
//! refusals, partial failure, optional targets, timeouts, dry runs,
//! severity routing and secret masking.

mod common;

use std::time::{Duration, Instant};

use common::{ROUTING_KEY, Runner, kind_url};
use serde_json::json;
use shipgate_testkit::http::{CannedResponse, ScriptedServer};

fn closed_port_url(path: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}{path}")
}

#[test]
fn server_errors_are_retried_until_delivered() {
    let server = ScriptedServer::start();
    server.enqueue(
        "POST",
        "/hook",
        [
            CannedResponse::text(503, "busy"),
            CannedResponse::text(502, "bad gateway"),
        ],
    );
    server.always("POST", "/hook", CannedResponse::status(200));
    let run = Runner::local().run(&["send", "--title", "t", "--to", &format!("{}/hook", server.url())]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(server.requests_to("POST", "/hook").len(), 3);
}

#[test]
fn a_429_waits_for_retry_after_and_delivers_once() {
    let server = ScriptedServer::start();
    server.enqueue(
        "POST",
        "/services/T0/B0/RateLimited0000000000",
        [CannedResponse::text(429, "rate_limited").header("retry-after", "1")],
    );
    server.always(
        "POST",
        "/services/T0/B0/RateLimited0000000000",
        CannedResponse::text(200, "ok"),
    );
    let started = Instant::now();
    let run = Runner::local().run(&[
        "send",
        "--title",
        "t",
        "--to",
        &kind_url("slack", &server.url(), "/services/T0/B0/RateLimited0000000000"),
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    let requests = server.requests_to("POST", "/services/T0/B0/RateLimited0000000000");
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
}

#[test]
fn a_discord_429_waits_for_the_retry_after_of_its_body() {
    let server = ScriptedServer::start();
    let path = "/api/webhooks/1234/DiscordRateLimited000000000";
    // The shape of Discord's per-route limit answer, without `Retry-After`:
    // only the body (and X-RateLimit-Reset-After) say how long.
    server.enqueue(
        "POST",
        path,
        [CannedResponse::json(
            429,
            &json!({"message": "You are being rate limited.", "retry_after": 1.5, "global": false}),
        )
        .header("x-ratelimit-bucket", "41f9cd5d28af77da04563bcb1d67fdfd")
        .header("x-ratelimit-limit", "5")
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-scope", "user")],
    );
    server.always("POST", path, CannedResponse::status(204));
    let started = Instant::now();
    let run = Runner::local().run(&[
        "send",
        "--title",
        "t",
        "--to",
        &kind_url("discord", &server.url(), path),
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "retry_after was not honoured: {:?}",
        started.elapsed()
    );
    assert_eq!(server.requests_to("POST", path).len(), 2);
}

#[test]
fn client_errors_are_not_retried_and_show_the_services_text() {
    let server = ScriptedServer::start();
    server.always(
        "POST",
        "/api/webhooks/1/Token",
        CannedResponse::json(400, &json!({"message": "Cannot send an empty message", "code": 50006})),
    );
    let run = Runner::local().run(&[
        "send",
        "--title",
        "t",
        "--to",
        &kind_url("discord", &server.url(), "/api/webhooks/1/Token"),
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(server.requests().len(), 1);
    assert!(
        run.stderr.contains("400 Bad Request: Cannot send an empty message"),
        "{}",
        run.stderr
    );
}

#[test]
fn one_failed_required_target_fails_the_run_but_the_others_still_get_it() {
    let server = ScriptedServer::start();
    server.always("POST", "/good", CannedResponse::status(200));
    server.always("POST", "/gone", CannedResponse::text(404, "no_service"));
    let runner = Runner::in_actions();
    let run = runner.run(&[
        "deploy",
        "--status",
        "succeeded",
        "--to",
        &format!("{}/good", server.url()),
        "--to",
        &format!("{}/gone", server.url()),
        "--json",
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    let json = run.json();
    assert_eq!(json["delivered"], 1);
    assert_eq!(json["failed"], 1);
    assert_eq!(json["targets"][0]["result"], "delivered");
    assert_eq!(json["targets"][1]["result"], "failed");
    assert_eq!(json["targets"][1]["network"], false);
    assert!(json["targets"][1]["error"].as_str().unwrap().contains("no_service"));
    assert_eq!(run.output("delivered").as_deref(), Some("1"));
    assert_eq!(run.output("failed").as_deref(), Some("1"));
    // The hint after the masked URL is a digest of the whole URL, port included.
    let ports = vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"),
        (r"/\*\*\* #[0-9a-f]{6}", "/*** #HINT"),
    ];
    insta::with_settings!({ filters => ports }, {
        insta::assert_snapshot!("one_failed_target_summary", run.summary);
    });
    assert_eq!(
        run.stdout.lines().filter(|line| line.starts_with("::error")).count(),
        1,
        "{}",
        run.stdout
    );

    // The same failure on an optional target is only a warning.
    let optional = runner.run(&[
        "deploy",
        "--status",
        "succeeded",
        "--to",
        &format!("{}/good", server.url()),
        "--to",
        &format!("{}/gone?optional=yes", server.url()),
    ]);
    assert_eq!(optional.code, 0, "{optional:#?}");
    assert!(optional.stderr.contains("optional target"), "{}", optional.stderr);
    assert_eq!(server.requests_to("POST", "/gone").len(), 2);
    assert!(server.requests_to("POST", "/gone").iter().all(|r| r.query.is_none()));
}

#[test]
fn a_failed_run_prints_the_table_then_one_error_line_like_every_tool() {
    let server = ScriptedServer::start();
    server.always("POST", "/good", CannedResponse::status(200));
    server.always("POST", "/gone", CannedResponse::text(404, "no_service"));
    let good = format!("{}/good", server.url());
    let gone = format!("{}/gone", server.url());
    let args = ["send", "--title", "t", "--to", good.as_str(), "--to", gone.as_str()];
    // The port, and so each target's hint, changes from run to run.
    let ports = vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"),
        (r"/\*\*\* #[0-9a-f]{6}", "/*** #HINT"),
    ];

    let local = Runner::local().run(&args);
    assert_eq!(local.code, 1, "{local:#?}");
    let hints: Vec<&str> = local
        .stderr
        .lines()
        .take(2)
        .filter_map(|line| line.split(" #").nth(1))
        .collect();
    assert_eq!(hints.len(), 2, "{}", local.stderr);
    assert_ne!(
        hints[0][..6],
        hints[1][..6],
        "two targets on one host get different hints"
    );
    insta::with_settings!({ filters => ports.clone() }, {
        insta::assert_snapshot!("failed_run_stderr", local.stderr);
    });

    let in_actions = Runner::in_actions().run(&args);
    assert_eq!(in_actions.code, 1, "{in_actions:#?}");
    let errors: Vec<&str> = in_actions
        .stdout
        .lines()
        .filter(|line| line.starts_with("::error"))
        .collect();
    insta::with_settings!({ filters => ports }, {
        insta::assert_debug_snapshot!("failed_run_annotations", errors);
    });
}

#[test]
fn targets_that_never_answer_time_out_and_exit_3() {
    let slow = ScriptedServer::start();
    slow.always(
        "POST",
        "/slow",
        CannedResponse::status(200).delayed(Duration::from_secs(30)),
    );
    let started = Instant::now();
    let run = Runner::local().env("SHIPGATE_NOTIFY_TIMEOUT", "1s").run(&[
        "send",
        "--title",
        "t",
        "--to",
        &format!("{}/slow", slow.url()),
        "--to",
        &closed_port_url("/refused"),
    ]);
    assert_eq!(run.code, 3, "{run:#?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(run.stderr.contains("no answer within 1s"), "{}", run.stderr);
}

#[test]
fn deliveries_run_concurrently() {
    let server = ScriptedServer::start();
    for index in 0..5 {
        server.always(
            "POST",
            &format!("/slow{index}"),
            CannedResponse::status(200).delayed(Duration::from_millis(800)),
        );
    }
    let urls: Vec<String> = (0..5).map(|i| format!("{}/slow{i}", server.url())).collect();
    let mut args = vec!["send", "--title", "t"];
    for url in &urls {
        args.extend(["--to", url.as_str()]);
    }
    let started = Instant::now();
    let run = Runner::local().run(&args);
    assert_eq!(run.code, 0, "{run:#?}");
    // Five 0.8 s answers one after another would take 4 s.
    assert!(
        started.elapsed() < Duration::from_millis(3000),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn dry_runs_show_every_payload_and_send_nothing() {
    let server = ScriptedServer::start();
    let run = Runner::in_actions().run(&[
        "deploy",
        "--status",
        "failed",
        "--dry-run",
        "--json",
        "--to",
        &kind_url("slack", &server.url(), "/services/T0/B0/DryRunSecret0000000"),
        "--to",
        &format!(
            "pagerduty+http://{ROUTING_KEY}@{}/v2/enqueue",
            server.url().trim_start_matches("http://")
        ),
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(server.requests().is_empty());
    let json = run.json();
    assert_eq!(json["dry_run"], true);
    let slack = &json["targets"][0];
    assert_eq!(slack["result"], "dry-run");
    assert_eq!(slack["requests"][0]["method"], "POST");
    assert_eq!(slack["requests"][0]["body"]["attachments"][0]["color"], "#a30200");
    let pagerduty = &json["targets"][1]["requests"][0]["body"];
    assert_eq!(pagerduty["event_action"], "trigger");
    assert_eq!(pagerduty["routing_key"], "***");
    assert!(!run.everything().contains("DryRunSecret0000000"));
    assert!(!run.everything().contains(ROUTING_KEY));
}

#[test]
fn incidents_follow_the_severity_routes_of_the_config() {
    let server = ScriptedServer::start();
    server.always(
        "POST",
        "/services/T0/B0/AlertChannel00000000",
        CannedResponse::text(200, "ok"),
    );
    server.always(
        "POST",
        "/v2/enqueue",
        CannedResponse::json(202, &json!({"status": "success", "dedup_key": "k"})),
    );
    server.always("POST", "/status", CannedResponse::status(200));
    let runner = Runner::in_actions()
        .env(
            "SLACK_WEBHOOK_URL",
            &kind_url("slack", &server.url(), "/services/T0/B0/AlertChannel00000000"),
        )
        .env(
            "PAGERDUTY_URL",
            &format!(
                "{}/v2/enqueue",
                server.url().replace("http://", &format!("http://{ROUTING_KEY}@"))
            ),
        )
        .env("STATUS_PAGE_WEBHOOK", &format!("{}/status", server.url()));
    runner.write(
        "shipgate.toml",
        r#"
[[notify.channels]]
name = "slack_alert"
url_env = "SLACK_WEBHOOK_URL"

[[notify.channels]]
name = "pagerduty"
kind = "pagerduty"
url_env = "PAGERDUTY_URL"

[[notify.channels]]
name = "status_page"
kind = "webhook"
url_env = "STATUS_PAGE_WEBHOOK"
"#,
    );
    let p2 = runner.run(&[
        "incident",
        "--severity",
        "P2",
        "--status",
        "investigating",
        "--service",
        "search",
        "--json",
    ]);
    assert_eq!(p2.code, 0, "{p2:#?}");
    let p2_json = p2.json();
    let names: Vec<&str> = p2_json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["slack_alert", "status_page"]);
    assert!(server.requests_to("POST", "/v2/enqueue").is_empty());

    let p0 = runner.run(&[
        "incident",
        "--severity",
        "P0",
        "--status",
        "investigating",
        "--service",
        "search",
        "--json",
    ]);
    assert_eq!(p0.code, 0, "{p0:#?}");
    let json = p0.json();
    let results: Vec<(String, String)> = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["target"].as_str().unwrap().to_string(),
                t["result"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("slack_alert", "delivered"),
        ("pagerduty", "delivered"),
        ("status_page", "delivered"),
        ("email_leadership", "skipped"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(results, expected);
    assert_eq!(server.requests_to("POST", "/v2/enqueue").len(), 1);
}

#[test]
fn missing_targets_and_bad_input_are_one_line_usage_errors() {
    let runner = Runner::local();
    let cases: [&[&str]; 5] = [
        &["send", "--title", "t"],
        &["deploy", "--status", "exploded", "--to", "stdout://"],
        &[
            "incident",
            "--severity",
            "P0",
            "--status",
            "investigating",
            "--service",
            "api",
        ],
        &["send", "--title", "t", "--target", "nope"],
        &["send", "--title", "t", "--to", "stdout://", "--template", "missing.j2"],
    ];
    for args in cases {
        let run = runner.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:#?}");
        // One error line; clap's usage errors may add its tips and the
        // pointer to `--help` after it.
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("notify: error: "), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.matches("error:").count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
}

#[test]
fn awkward_text_survives_the_trip_to_every_receiver() {
    let server = ScriptedServer::start();
    server.always("POST", "/json", CannedResponse::status(200));
    server.always(
        "POST",
        "/services/T/B/AwkwardText000000000",
        CannedResponse::text(200, "ok"),
    );
    server.always("POST", "/api/webhooks/1/Awkward", CannedResponse::status(204));
    server.always("POST", "/teams", CannedResponse::status(202));
    let awkward = "fix: handle \"quotes\", back\\slashes & <tags>\nsecond line\ttab 🚀 ünïcødé }{ ${{ secrets.X }}";
    let run = Runner::in_actions().run(&[
        "send",
        "--title",
        "awkward",
        "--message",
        awkward,
        "--to",
        &format!("{}/json", server.url()),
        "--to",
        &kind_url("slack", &server.url(), "/services/T/B/AwkwardText000000000"),
        "--to",
        &kind_url("discord", &server.url(), "/api/webhooks/1/Awkward"),
        "--to",
        &kind_url("teams", &server.url(), "/teams"),
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    let body = |path: &str| server.requests_to("POST", path)[0].body_json().unwrap();
    assert_eq!(body("/json")["message"], awkward);
    let slack = body("/services/T/B/AwkwardText000000000");
    let slack_text = slack["blocks"][1]["text"]["text"].as_str().unwrap();
    assert_eq!(
        slack_text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
        awkward
    );
    let description = body("/api/webhooks/1/Awkward")["embeds"][0]["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        description.starts_with(&format!("{awkward}\n\n[Workflow run](")),
        "{description}"
    );
    assert_eq!(body("/teams")["attachments"][0]["content"]["body"][1]["text"], awkward);
}
