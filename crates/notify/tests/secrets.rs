//! Secrets (webhook paths, routing keys, tokens, passwords, signing keys)
//! never appear in stdout, stderr, step outputs or the job summary: not on
//! success, not in errors, not in dry runs, not in `--json`.

mod common;

use common::{ROUTING_KEY, Run, Runner, kind_url};
use shipgate_testkit::http::{CannedResponse, ScriptedServer};

const SLACK_TOKEN: &str = "SlackWebhookSecretPart0001";
const DISCORD_TOKEN: &str = "DiscordWebhookTokenSecret0002";
const BOT_TOKEN: &str = "xoxb-4242-4242-BotTokenSecret0003";
const STATUSPAGE_KEY: &str = "StatuspageApiKeySecret0004";
const HMAC_SECRET: &str = "HmacSigningSecret0005";
const SMTP_PASSWORD: &str = "SmtpPasswordSecret0006";
const TEAMS_SIG: &str = "TeamsSignatureSecret0007";

const SECRETS: &[&str] = &[
    SLACK_TOKEN,
    DISCORD_TOKEN,
    BOT_TOKEN,
    STATUSPAGE_KEY,
    HMAC_SECRET,
    SMTP_PASSWORD,
    TEAMS_SIG,
    ROUTING_KEY,
];

fn assert_no_secret(what: &str, run: &Run) {
    let everything = run.everything();
    for secret in SECRETS {
        assert!(!everything.contains(secret), "{what}: `{secret}` leaked:\n{everything}");
    }
}

fn targets(base: &str) -> Vec<String> {
    let host = base.trim_start_matches("http://");
    vec![
        kind_url("slack", base, &format!("/services/T0/B0/{SLACK_TOKEN}")),
        kind_url("discord", base, &format!("/api/webhooks/1/{DISCORD_TOKEN}")),
        format!("slack+http://{BOT_TOKEN}@{host}/api?channel=C1"),
        format!("pagerduty+http://{ROUTING_KEY}@{host}/v2/enqueue"),
        format!("statuspage+http://{STATUSPAGE_KEY}@{host}/v1/pages/pg"),
        format!("json://{host}/signed?hmac_env=HOOK_SECRET"),
        kind_url("teams", base, &format!("/teams?sig={TEAMS_SIG}")),
        // Nobody listens on port 9: the SMTP attempt fails with its URL in hand.
        format!("smtp://bot:{SMTP_PASSWORD}@127.0.0.1:9?tls=none&from=ci@acme.test&to=ops@acme.test"),
    ]
}

fn run_with(server_url: &str, extra: &[&str]) -> Run {
    let urls = targets(server_url);
    let mut args: Vec<&str> = vec![
        "incident",
        "--severity",
        "P0",
        "--status",
        "investigating",
        "--service",
        "api",
    ];
    for url in &urls {
        args.extend(["--to", url.as_str()]);
    }
    args.extend(extra);
    Runner::in_actions()
        .env("HOOK_SECRET", HMAC_SECRET)
        .env("SHIPGATE_NOTIFY_TIMEOUT", "3s")
        .run(&args)
}

#[test]
fn secrets_stay_hidden_when_services_refuse_and_echo_them_back() {
    let server = ScriptedServer::start();
    // Hostile answers: each service quotes the credential it refused.
    let echo = |secret: &str| CannedResponse::text(400, format!("invalid credential {secret} for this hook"));
    server.always("POST", &format!("/services/T0/B0/{SLACK_TOKEN}"), echo(SLACK_TOKEN));
    server.always("POST", &format!("/api/webhooks/1/{DISCORD_TOKEN}"), echo(DISCORD_TOKEN));
    server.always("POST", "/api/chat.postMessage", echo(BOT_TOKEN));
    server.always("POST", "/v2/enqueue", echo(ROUTING_KEY));
    server.always("GET", "/v1/pages/pg/incidents/unresolved", echo(STATUSPAGE_KEY));
    server.always("POST", "/signed", echo(HMAC_SECRET));
    server.always("POST", "/teams", echo(TEAMS_SIG));
    for mode in [&[][..], &["--json"][..]] {
        let run = run_with(&server.url(), mode);
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(
            run.stderr.contains("invalid credential *** for this hook")
                || run.stdout.contains("invalid credential *** for this hook"),
            "{run:#?}"
        );
        assert_no_secret(&format!("refused {mode:?}"), &run);
    }
}

#[test]
fn secrets_stay_hidden_on_success_dry_run_and_network_failure() {
    let server = ScriptedServer::start();
    server.always(
        "POST",
        &format!("/services/T0/B0/{SLACK_TOKEN}"),
        CannedResponse::text(200, "ok"),
    );
    server.always(
        "POST",
        &format!("/api/webhooks/1/{DISCORD_TOKEN}"),
        CannedResponse::status(204),
    );
    server.always(
        "POST",
        "/api/chat.postMessage",
        CannedResponse::json(200, &serde_json::json!({"ok": true, "ts": "1.2"})),
    );
    server.always(
        "POST",
        "/v2/enqueue",
        CannedResponse::json(202, &serde_json::json!({"status": "success", "dedup_key": "k"})),
    );
    server.always(
        "GET",
        "/v1/pages/pg/incidents/unresolved",
        CannedResponse::json(200, &serde_json::json!([])),
    );
    server.always(
        "POST",
        "/v1/pages/pg/incidents",
        CannedResponse::json(201, &serde_json::json!({"id": "i1"})),
    );
    server.always("POST", "/signed", CannedResponse::status(200));
    server.always("POST", "/teams", CannedResponse::status(202));

    let delivered = run_with(&server.url(), &["--json"]);
    // Everything but the SMTP target (nobody on port 9) got through.
    assert_eq!(delivered.code, 1, "{delivered:#?}");
    assert_eq!(delivered.json()["delivered"], 7, "{delivered:#?}");
    assert_no_secret("delivered", &delivered);

    for mode in [&["--dry-run"][..], &["--dry-run", "--json"][..]] {
        let dry = run_with(&server.url(), mode);
        assert_eq!(dry.code, 0, "{dry:#?}");
        assert_no_secret(&format!("dry run {mode:?}"), &dry);
    }

    drop(server);
    let unreachable = ScriptedServer::start().url();
    let down = run_with(&unreachable.replace(char::is_numeric, "1"), &[]);
    assert_ne!(down.code, 0, "{down:#?}");
    assert_no_secret("network failure", &down);
}

#[test]
fn targets_on_one_host_are_told_apart_and_masks_carry_only_the_secret_parts() {
    let server = ScriptedServer::start();
    let first_token = "FirstWebhookTokenPart0011";
    let second_token = "SecondWebhookTokenPart0022";
    server.always("POST", &format!("/hook/{first_token}"), CannedResponse::status(200));
    server.always("POST", &format!("/hook/{second_token}"), CannedResponse::status(200));
    let host = server.url().trim_start_matches("http://").to_string();
    let first = format!("json://{host}/hook/{first_token}?sig=FirstSignature0033");
    let second = format!("json://{host}/hook/{second_token}");
    let run = Runner::in_actions().run(&["deploy", "--status", "succeeded", "--to", &first, "--to", &second]);
    assert_eq!(run.code, 0, "{run:#?}");
    let masks: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("::add-mask::"))
        .collect();
    assert_eq!(masks, [first_token, "FirstSignature0033", second_token], "{run:#?}");
    // `| webhook http://127.0.0.1:PORT/*** #3f9a1c | webhook | delivered |`
    let hints: Vec<&str> = run
        .summary
        .match_indices("/*** #")
        .map(|(at, _)| &run.summary[at + 5..at + 12])
        .collect();
    assert!(
        hints
            .iter()
            .all(|hint| hint[1..].chars().all(|c| c.is_ascii_hexdigit())),
        "{}",
        run.summary
    );
    assert_eq!(hints.len(), 2, "{}", run.summary);
    assert_ne!(hints[0], hints[1], "{}", run.summary);
    // Stable: the same target gets the same hint in the next run.
    let again = Runner::in_actions().run(&["deploy", "--status", "succeeded", "--to", &first]);
    assert!(again.summary.contains(hints[0]), "{}", again.summary);
}
