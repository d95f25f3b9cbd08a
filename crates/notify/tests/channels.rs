//! Every channel against a real local HTTP server that records what it got:
//! the payload shape each service documents, auth headers and signatures.

mod common;

use common::{ROUTING_KEY, Runner, kind_url};
use serde_json::{Value, json};
use shipgate_testkit::http::{CannedResponse, ScriptedServer};

/// Snapshots a payload as a service receives it, pretty-printed, with
/// timestamps and ports replaced.
fn payload_snapshot(name: &str, payload: &Value) {
    insta::with_settings!({ filters => vec![
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", "[TIMESTAMP]"),
        (r#""(ts|timestamp)": \d+"#, r#""$1": "[EPOCH]""#),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
    ]}, {
        insta::assert_snapshot!(name, serde_json::to_string_pretty(payload).unwrap());
    });
}

fn only_request(server: &ScriptedServer, method: &str, path: &str) -> shipgate_testkit::http::RecordedRequest {
    let requests = server.requests_to(method, path);
    assert_eq!(requests.len(), 1, "requests: {:#?}", server.requests());
    requests.into_iter().next().unwrap()
}

#[test]
fn slack_webhooks_get_block_kit_with_a_text_fallback_and_status_colour() {
    let server = ScriptedServer::start();
    server.always(
        "POST",
        "/services/T000/B000/XXXXXXXXXXXXXXXXXXXX",
        CannedResponse::text(200, "ok"),
    );
    let run = Runner::in_actions().run(&[
        "deploy",
        "--status",
        "success",
        "--environment",
        "production",
        "--version",
        "1.2.0",
        "--to",
        &kind_url("slack", &server.url(), "/services/T000/B000/XXXXXXXXXXXXXXXXXXXX"),
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    let body = only_request(&server, "POST", "/services/T000/B000/XXXXXXXXXXXXXXXXXXXX")
        .body_json()
        .unwrap();
    // Block Kit with the text fallback, the status colour, fields and links.
    payload_snapshot("slack_webhook", &body);
    assert_eq!(run.output("delivered").as_deref(), Some("1"));
    assert_eq!(run.output("failed").as_deref(), Some("0"));
}

#[test]
fn slack_bot_tokens_post_then_update_the_same_message() {
    let server = ScriptedServer::start();
    server.always(
        "POST",
        "/api/chat.postMessage",
        CannedResponse::json(200, &json!({"ok": true, "channel": "C0123", "ts": "1700000000.000100"})),
    );
    server.always(
        "POST",
        "/api/chat.update",
        CannedResponse::json(200, &json!({"ok": true, "channel": "C0123", "ts": "1700000000.000100"})),
    );
    let token = "xoxb-1111-2222-SlackBotTokenValue";
    let url = format!(
        "slack+http://{token}@{}/api?channel=C0123",
        server.url().trim_start_matches("http://")
    );
    let runner = Runner::in_actions();
    let started = runner.run(&["deploy", "--status", "started", "--to", &url]);
    assert_eq!(started.code, 0, "{started:#?}");
    let ts = started.output("slack-ts").expect("slack-ts output");
    assert_eq!(ts, "1700000000.000100");
    let posted = only_request(&server, "POST", "/api/chat.postMessage");
    assert_eq!(posted.header("authorization"), Some(format!("Bearer {token}").as_str()));
    let body = posted.body_json().unwrap();
    assert_eq!(body["channel"], "C0123");
    assert_eq!(body["attachments"][0]["color"], "#1d9bd1");

    let finished = runner.run(&[
        "deploy",
        "--status",
        "succeeded",
        "--slack-ts",
        &ts,
        "--to",
        &url,
        "--json",
    ]);
    assert_eq!(finished.code, 0, "{finished:#?}");
    assert_eq!(finished.json()["slack_ts"], "1700000000.000100");
    let updated = only_request(&server, "POST", "/api/chat.update").body_json().unwrap();
    assert_eq!(updated["ts"], "1700000000.000100");
    assert_eq!(updated["channel"], "C0123");
    assert_eq!(updated["attachments"][0]["color"], "#2eb886");
    assert!(!finished.everything().contains(token));
}

#[test]
fn slack_api_errors_are_reported_with_slacks_error_code() {
    let server = ScriptedServer::start();
    server.always(
        "POST",
        "/api/chat.postMessage",
        CannedResponse::json(200, &json!({"ok": false, "error": "channel_not_found"})),
    );
    let url = format!(
        "slack+http://xoxb-9-9-abc@{}/api?channel=C404",
        server.url().trim_start_matches("http://")
    );
    let run = Runner::local().run(&["send", "--title", "hi", "--to", &url]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("channel_not_found"), "{}", run.stderr);
}

#[test]
fn discord_gets_one_embed_without_mentions() {
    let server = ScriptedServer::start();
    server.always("POST", "/api/webhooks/1234/DiscordToken", CannedResponse::status(204));
    let run = Runner::in_actions().run(&[
        "deploy",
        "--status",
        "failed",
        "--message",
        "@everyone the build broke",
        "--to",
        &kind_url("discord", &server.url(), "/api/webhooks/1234/DiscordToken"),
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    let body = only_request(&server, "POST", "/api/webhooks/1234/DiscordToken")
        .body_json()
        .unwrap();
    // One embed; the message's @everyone is shown but mentions nobody.
    payload_snapshot("discord_embed", &body);
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));
}

#[test]
fn teams_gets_an_adaptive_card_1_4() {
    let server = ScriptedServer::start();
    server.always(
        "POST",
        "/workflows/abc/triggers/manual/paths/invoke",
        CannedResponse::status(202),
    );
    let url = kind_url(
        "teams",
        &server.url(),
        "/workflows/abc/triggers/manual/paths/invoke?sig=SignatureValue123",
    );
    let run = Runner::in_actions().run(&["deploy", "--status", "rolled-back", "--to", &url]);
    assert_eq!(run.code, 0, "{run:#?}");
    let request = only_request(&server, "POST", "/workflows/abc/triggers/manual/paths/invoke");
    assert_eq!(request.query.as_deref(), Some("sig=SignatureValue123"));
    let body = request.body_json().unwrap();
    payload_snapshot("teams_adaptive_card", &body);
    assert!(!run.everything().contains("SignatureValue123"), "{run:#?}");
}

#[test]
fn teams_office_365_connectors_are_refused_with_the_reason() {
    let run = Runner::local().run(&[
        "send",
        "--title",
        "x",
        "--to",
        "https://acme.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456",
    ]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("retired"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn pagerduty_triggers_and_a_later_job_resolves_with_the_same_dedup_key() {
    let server = ScriptedServer::start();
    let accepted = |key: &str| {
        CannedResponse::json(
            202,
            &json!({"status": "success", "message": "Event processed", "dedup_key": key}),
        )
    };
    server.enqueue(
        "POST",
        "/v2/enqueue",
        [
            accepted("shipgate/acme/shop/production/checkout"),
            accepted("shipgate/acme/shop/production/checkout"),
        ],
    );
    let url = format!(
        "pagerduty+http://{ROUTING_KEY}@{}/v2/enqueue",
        server.url().trim_start_matches("http://")
    );
    let incident = |status: &str| {
        Runner::in_actions().run(&[
            "incident",
            "--severity",
            "P0",
            "--status",
            status,
            "--service",
            "checkout",
            "--to",
            &url,
        ])
    };
    let opened = incident("investigating");
    assert_eq!(opened.code, 0, "{opened:#?}");
    assert_eq!(
        opened.output("pagerduty-dedup-key").as_deref(),
        Some("shipgate/acme/shop/production/checkout")
    );
    let resolved = incident("resolved");
    assert_eq!(resolved.code, 0, "{resolved:#?}");

    let requests = server.requests_to("POST", "/v2/enqueue");
    assert_eq!(requests.len(), 2);
    let trigger = requests[0].body_json().unwrap();
    payload_snapshot("pagerduty_trigger", &trigger);
    let resolve = requests[1].body_json().unwrap();
    assert_eq!(
        resolve,
        json!({"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": "shipgate/acme/shop/production/checkout"})
    );
    assert!(!opened.everything().contains(ROUTING_KEY));
}

#[test]
fn pagerduty_is_left_alone_when_a_deploy_starts() {
    let server = ScriptedServer::start();
    let url = format!(
        "pagerduty+http://{ROUTING_KEY}@{}/v2/enqueue",
        server.url().trim_start_matches("http://")
    );
    let run = Runner::in_actions().run(&["deploy", "--status", "started", "--to", &url, "--json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json()["targets"][0]["result"], "skipped");
    assert!(server.requests().is_empty());
}

#[test]
fn statuspage_creates_the_incident_then_updates_it_by_name() {
    let server = ScriptedServer::start();
    server.enqueue(
        "GET",
        "/v1/pages/pg42/incidents/unresolved",
        [
            CannedResponse::json(200, &json!([])),
            CannedResponse::json(
                200,
                &json!([{"id": "other", "name": "Issues with search", "status": "investigating"},
                        {"id": "inc1", "name": "Issues with checkout", "status": "investigating"}]),
            ),
        ],
    );
    server.always(
        "POST",
        "/v1/pages/pg42/incidents",
        CannedResponse::json(
            201,
            &json!({"id": "inc1", "name": "Issues with checkout", "status": "investigating"}),
        ),
    );
    server.always(
        "PATCH",
        "/v1/pages/pg42/incidents/inc1",
        CannedResponse::json(
            200,
            &json!({"id": "inc1", "name": "Issues with checkout", "status": "identified"}),
        ),
    );
    let api_key = "StatusPageApiKey0123456789";
    let url = format!(
        "statuspage+http://{api_key}@{}/v1/pages/pg42",
        server.url().trim_start_matches("http://")
    );
    let incident = |status: &str| {
        Runner::in_actions().run(&[
            "incident",
            "--severity",
            "P1",
            "--status",
            status,
            "--service",
            "checkout",
            "--to",
            &url,
        ])
    };
    let created = incident("investigating");
    assert_eq!(created.code, 0, "{created:#?}");
    let updated = incident("identified");
    assert_eq!(updated.code, 0, "{updated:#?}");

    let post = only_request(&server, "POST", "/v1/pages/pg42/incidents");
    assert_eq!(post.header("authorization"), Some(format!("OAuth {api_key}").as_str()));
    assert_eq!(
        post.body_json().unwrap(),
        json!({"incident": {
            "name": "Issues with checkout",
            "status": "investigating",
            "body": "We're investigating reports of issues with checkout. We'll provide updates as we learn more.",
            "impact_override": "major",
        }})
    );
    let patch = only_request(&server, "PATCH", "/v1/pages/pg42/incidents/inc1");
    assert_eq!(
        patch.body_json().unwrap(),
        json!({"incident": {
            "status": "identified",
            "body": "We've identified the issue affecting checkout and are working on a fix.",
        }})
    );
    assert!(!updated.everything().contains(api_key));
}

#[test]
fn generic_webhooks_carry_the_event_and_an_hmac_signature() {
    use hmac::{Hmac, Mac};
    let server = ScriptedServer::start();
    server.always("POST", "/status", CannedResponse::status(200));
    let secret = "WebhookSigningSecret-42";
    let url = format!(
        "json://{}/status?hmac_env=STATUS_HMAC_SECRET&team=ops",
        server.url().trim_start_matches("http://")
    );
    let run = Runner::in_actions().env("STATUS_HMAC_SECRET", secret).run(&[
        "deploy",
        "--status",
        "rolled-back",
        "--message",
        "Rolled back due to: error rate 7%",
        "--to",
        &url,
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    let request = only_request(&server, "POST", "/status");
    assert_eq!(request.query.as_deref(), Some("team=ops"));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&request.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(request.header("x-shipgate-signature-256"), Some(expected.as_str()));
    let body = request.body_json().unwrap();
    // Seed 003's status-page call: {"status": ..., "message": "Rolled back due to: ..."}.
    payload_snapshot("generic_webhook", &body);
    assert!(!run.everything().contains(secret));
}

#[test]
fn file_targets_append_json_lines_and_stdout_prints_the_message() {
    let runner = Runner::local();
    let log = runner.dir.path().join("notifications.jsonl");
    let file_url = format!("file://{}", log.display());
    for version in ["1.0.0", "1.1.0"] {
        let run = runner.run(&["release", "--version", version, "--to", &file_url, "--to", "stdout://"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(
            run.stdout.starts_with(&format!("🚀 Released {version}\n")),
            "{}",
            run.stdout
        );
    }
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["event"], "release");
    assert_eq!(lines[1]["version"], "1.1.0");
}

#[test]
fn releases_carry_their_changelog_section() {
    let server = ScriptedServer::start();
    server.always("POST", "/hook", CannedResponse::status(200));
    let runner = Runner::local();
    runner.write(
        "CHANGELOG.md",
        "# Changelog\n\n## [1.3.0] - 2024-06-01\n\n### Features\n\n- **api:** add \"search\" <beta>\n\n## [1.2.0] - 2024-05-01\n\n- old\n",
    );
    let run = runner.run(&[
        "release",
        "--version",
        "v1.3.0",
        "--to",
        &format!("{}/hook", server.url()),
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    let body = only_request(&server, "POST", "/hook").body_json().unwrap();
    assert_eq!(body["message"], "### Features\n\n- **api:** add \"search\" <beta>");
    assert_eq!(body["title"], "🚀 Released v1.3.0");
}

#[test]
fn custom_templates_replace_the_text_for_every_channel() {
    let runner = Runner::in_actions();
    let template = runner.write(
        "notify.j2",
        "{{ repository }}@{{ short_sha }}: {{ status_text }} on {{ environment }}{% if version %} ({{ version }}){% endif %}",
    );
    let run = runner.run(&[
        "deploy",
        "--status",
        "rolled-back",
        "--version",
        "3.1.4",
        "--template",
        template.to_str().unwrap(),
        "--to",
        "stdout://",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    let json = run.json();
    assert_eq!(json["message"], "acme/shop@0123456: rolled back on production (3.1.4)");
    let printed = json["targets"][0]["output"].as_str().unwrap();
    assert!(
        printed.starts_with(
            "⚠️ Deploy rolled back: 3.1.4 to production\nacme/shop@0123456: rolled back on production (3.1.4)\n"
        ),
        "{printed}"
    );
}

#[test]
fn deploys_say_how_long_they_took_from_the_start_time() {
    // What a workflow's first step records with `date +%s` into $GITHUB_ENV.
    let started = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 252)
        .to_string();
    let runner = Runner::in_actions().env("SHIPGATE_STARTED_AT", &started);
    let log = runner.dir.path().join("notifications.jsonl");
    let file_url = format!("file://{}", log.display());
    let run = runner.run(&[
        "deploy",
        "--status",
        "succeeded",
        "--version",
        "1.2.0",
        "--to",
        &file_url,
        "--to",
        "stdout://",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    let json = run.json();
    let message = json["message"].as_str().unwrap();
    // One second of slack for a slow test machine.
    assert!(
        message == "acme/shop 1.2.0 was deployed to production by octocat after 4m 12s."
            || message == "acme/shop 1.2.0 was deployed to production by octocat after 4m 13s.",
        "{message}"
    );
    let line: Value = serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim()).unwrap();
    let seconds = line["duration_seconds"].as_u64().unwrap();
    assert!((252..=253).contains(&seconds), "{line}");
    assert!(line["started_at"].as_str().unwrap().ends_with('Z'), "{line}");
    assert!(
        line["fields"]["Duration"].as_str().unwrap().starts_with("4m 1"),
        "{line}"
    );

    let run = Runner::in_actions().run(&[
        "deploy",
        "--status",
        "failed",
        "--started-at",
        "half past nine",
        "--to",
        "stdout://",
    ]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains("--started-at `half past nine` is not a time"),
        "{}",
        run.stderr
    );
}
