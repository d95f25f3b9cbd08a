//! The demo service on its own, for the benchmarks (bench/smoke-tester.sh):
//! `demo-service [REQUESTS_PER_SECOND]` starts a good build, drives steady
//! `/api/...` traffic at that rate (default 20) so its `/metrics` have rates
//! to query, prints its base URL on one line and serves until killed.

use std::io::Write;

use shipgate_testkit::demo_service::DemoService;

fn main() {
    let per_second = match std::env::args().nth(1) {
        None => 20,
        Some(text) => text.parse().unwrap_or_else(|_| {
            eprintln!("demo-service: `{text}` is not a number of requests per second");
            std::process::exit(2);
        }),
    };
    let service = DemoService::start("shop", "1.0.0");
    let _traffic = service.traffic(per_second);
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{}", service.url());
    let _ = stdout.flush();
    loop {
        std::thread::park();
    }
}
