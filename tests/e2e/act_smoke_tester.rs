//! The smoke-tester action under act against a local service: `wait` until
//! it is up, `run` a checks file, and `watch` a deterministic 10% error
//! pattern into a rollback verdict read from the action's outputs.

use shipgate_testkit::act::{ActOptions, ActRepo};
use shipgate_testkit::http::{CannedResponse, ScriptedServer};

const CHECKS: &str = r#"
base_url = "{{ env.SERVICE_URL }}"

[[check]]
name = "health"
url = "/health"
status = 200
[[check.assert]]
jsonpath = "$.status"
equals = "healthy"

[[check]]
name = "ready"
url = "/ready"
status = "2xx"
"#;

#[test]
fn the_smoke_tester_action_waits_runs_and_watches_under_act() {
    let service = ScriptedServer::start();
    let healthy = serde_json::json!({
        "status": "healthy", "database": "connected", "redis": "connected", "version": "1.2.0"
    });
    service.always("GET", "/health", CannedResponse::json(200, &healthy));
    service.always("GET", "/ready", CannedResponse::text(200, "ready"));
    // Every 10th request fails: 10% against a 5% threshold.
    let pattern = (1..=2000).map(|n| {
        if n % 10 == 0 {
            CannedResponse::text(503, "down")
        } else {
            CannedResponse::json(200, &healthy)
        }
    });
    service.enqueue("GET", "/pattern", pattern);

    let repo = ActRepo::new("smoke-tester.yml");
    repo.write_file("smoke-checks.toml", CHECKS);
    let act = repo.run(&ActOptions::event("push").env("SERVICE_URL", service.url()));
    assert!(act.success, "act failed; its output:\n{}", act.log);

    let result = |name: &str| repo.result(name, &act);
    assert_eq!(result("wait.passed"), "true", "act output:\n{}", act.log);
    assert_eq!(result("run.passed"), "true", "act output:\n{}", act.log);
    let report: serde_json::Value = serde_json::from_str(&result("run.report.json")).expect("the report is JSON");
    assert_eq!(report["command"], "run");
    assert_eq!(report["checks"].as_array().map(Vec::len), Some(2));

    assert_eq!(result("watch.outcome"), "failure", "watch exits 1 on a rollback");
    assert_eq!(result("watch.rollback"), "true", "act output:\n{}", act.log);
    let reason = result("watch.reason");
    assert!(
        reason.starts_with("error rate 10.0% (3 of 30 requests) exceeded the 5% over 2s threshold at "),
        "{reason}"
    );
    assert_eq!(result("watch.error-rate"), "10.00");
    assert!(result("watch.p95-ms").parse::<f64>().is_ok());
    assert!(
        service.requests_to("GET", "/pattern").len() < 200,
        "watch must stop early, not sample all 20 s"
    );
}
