//! Exit code 3 end to end: a real HTTP call to a service that is down fails
//! after the retry policy's attempts, is classified as external, and the
//! shared CLI layer turns it into exit code 3 without printing the secret URL.

use std::net::TcpListener;
use std::time::Duration;

use shipgate_core::actions::Runtime;
use shipgate_core::cli::{self, Tool};
use shipgate_core::exit::ExitCode;
use shipgate_core::http;
use shipgate_core::retry::RetryPolicy;

const TOOL: Tool = Tool {
    name: "exit-code-test",
    version: "0.0.0",
    sections: &[],
    docs: "",
};

/// A loopback port with nothing listening: connections are refused at once.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[tokio::test]
async fn an_unreachable_service_after_retries_is_exit_3() {
    let port = closed_port();
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = attempts.clone();
    let policy = RetryPolicy::with_sleeper(move |_| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async {}
    });
    let client = http::client(Duration::from_secs(2)).unwrap();
    let secret_url = format!("http://127.0.0.1:{port}/services/T000/B000/very-secret-token");
    // Tools register every secret they handle; the CLI layer redacts on output.
    shipgate_core::actions::register_secret(&secret_url);
    let result = http::send_with_retry(&policy, || client.post(&secret_url).body("{}")).await;
    let error = result.expect_err("nothing listens on the port");
    assert_eq!(error.exit_code(), ExitCode::External);
    assert_eq!(
        attempts.load(std::sync::atomic::Ordering::SeqCst),
        policy.max_attempts - 1,
        "slept between attempts"
    );
    let line = cli::error_line(&anyhow::Error::new(error));
    let shown = shipgate_core::actions::redact(&line);
    assert!(!shown.contains("very-secret-token"), "{shown}");

    let error = http::send_with_retry(&policy, || client.get(&secret_url))
        .await
        .unwrap_err();
    let code = cli::finish(
        &TOOL,
        &Runtime::from_env_map(Vec::<(String, String)>::new()),
        Err(error.into()),
    );
    assert_eq!(code, ExitCode::External);
    assert_eq!(std::process::ExitCode::from(code), std::process::ExitCode::from(3));
}
