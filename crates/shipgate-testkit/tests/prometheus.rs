//! The throwaway Prometheus scrapes the demo service's `/metrics`, and the
//! error ratio it computes follows the faults switched at run time.

use std::time::{Duration, Instant};

use shipgate_testkit::Prometheus;
use shipgate_testkit::demo_service::{DemoService, Faults};

/// Polls `promql` until its single value satisfies `wanted`, or panics after `limit`.
fn wait_for(prometheus: &Prometheus, promql: &str, limit: Duration, wanted: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + limit;
    loop {
        let values = prometheus.query(promql).expect("query runs");
        if let Some(value) = values.first().copied().filter(|v| wanted(*v)) {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{promql} stayed at {values:?} for {limit:?}; log:\n{}",
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn prometheus_scrapes_the_demo_service_and_sees_faults_switched_at_run_time() {
    let prometheus = Prometheus::shared().unwrap_or_else(|error| panic!("{error:#}"));
    let service = DemoService::start("VibeLog", "1.0.0");
    let _traffic = service.traffic(40);
    prometheus
        .scrape("demo", &service.url())
        .expect("the demo service is scraped");

    let ratio = r#"(sum(rate(http_requests_total{job="demo",code=~"5.."}[3s])) or vector(0)) / sum(rate(http_requests_total{job="demo"}[3s]))"#;
    let healthy = wait_for(prometheus, ratio, Duration::from_secs(15), |v| v == 0.0);
    assert_eq!(healthy, 0.0);

    service.set_faults(Faults {
        error_percent: 50,
        latency: Duration::from_millis(120),
    });
    let failing = wait_for(prometheus, ratio, Duration::from_secs(15), |v| v > 0.3);
    assert!(failing <= 0.6, "{failing}");
    let p95 = r#"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="demo"}[3s])))"#;
    let slow = wait_for(prometheus, p95, Duration::from_secs(15), |v| v > 0.1);
    assert!(slow <= 0.25, "p95 {slow}s is in the 100–250 ms bucket");

    assert!(
        prometheus.query(r#"up{job="nothing-here"}"#).unwrap().is_empty(),
        "an unknown job has no series"
    );
}
