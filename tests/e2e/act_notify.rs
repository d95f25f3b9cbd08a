//! The notify action under act, posting to a local receiver: inputs reach
//! the binary through the environment, secrets stay out of the log, and the
//! outputs come back.

use serde_json::json;
use shipgate_testkit::act::{ActOptions, ActRepo};
use shipgate_testkit::http::{CannedResponse, ScriptedServer};

const WEBHOOK_SECRET: &str = "ActWebhookPathSecret0123";
const ROUTING_KEY: &str = "ActRoutingKey0123456789abcdefABC";

#[test]
fn the_notify_action_posts_to_a_local_receiver_under_act() {
    let receiver = ScriptedServer::start();
    let hook_path = format!("/hooks/{WEBHOOK_SECRET}");
    receiver.always("POST", &hook_path, CannedResponse::status(200));
    receiver.always(
        "POST",
        "/v2/enqueue",
        CannedResponse::json(202, &json!({"status": "success", "dedup_key": "from-receiver"})),
    );
    let host = receiver.url().trim_start_matches("http://").to_string();

    let repo = ActRepo::new("notify.yml");
    let act = repo.run(
        &ActOptions::event("push")
            .secret("WEBHOOK_URL", format!("json://{host}{hook_path}"))
            .secret(
                "PAGERDUTY_URL",
                format!("pagerduty+http://{ROUTING_KEY}@{host}/v2/enqueue"),
            ),
    );
    assert!(act.success, "act failed; its output:\n{}", act.log);

    let hooks = receiver.requests_to("POST", &hook_path);
    assert_eq!(hooks.len(), 1, "act output:\n{}", act.log);
    let body = hooks[0].body_json().unwrap();
    assert_eq!(body["event"], "deploy");
    assert_eq!(body["status"], "succeeded");
    assert_eq!(body["version"], "1.2.0");
    assert_eq!(body["environment"], "production");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .ends_with("Shipped \"fast\" <and> safely & soundly"),
        "{body}"
    );

    let pages = receiver.requests_to("POST", "/v2/enqueue");
    // The deploy succeeded (PagerDuty resolves) and the incident triggers.
    assert_eq!(pages.len(), 2, "act output:\n{}", act.log);
    let actions: Vec<String> = pages
        .iter()
        .map(|p| p.body_json().unwrap()["event_action"].as_str().unwrap().to_string())
        .collect();
    assert!(actions.contains(&"trigger".to_string()), "{actions:?}");

    assert_eq!(repo.result("deploy.delivered", &act), "2");
    assert_eq!(repo.result("deploy.failed", &act), "0");
    assert_eq!(repo.result("incident.dedup-key", &act), "from-receiver");
    for line in act.log.lines().filter(|line| !line.contains("::add-mask::")) {
        assert!(!line.contains(WEBHOOK_SECRET), "secret in act's log: {line}");
        assert!(!line.contains(ROUTING_KEY), "secret in act's log: {line}");
    }
}
