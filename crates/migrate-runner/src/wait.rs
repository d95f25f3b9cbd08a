//! `wait`: poll until the database accepts connections (a service
//! container that is still starting, a database being restored).

use std::time::{Duration, Instant};

use serde_json::json;
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::Session;

pub async fn run(session: &Session, timeout: Duration) -> Result<ExitCode> {
    let started = Instant::now();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let attempt = async {
            let mut connection = session.connect().await?;
            connection.ping().await
        };
        let remaining = timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(100));
        let error = match tokio::time::timeout(remaining, attempt).await {
            Ok(Ok(())) => break,
            Ok(Err(error)) => error.to_string(),
            Err(_) => "connection attempt timed out".to_string(),
        };
        if started.elapsed() >= timeout {
            return Err(Error::external(format!(
                "{} did not accept connections within {}s ({attempts} attempts): {error}",
                session.url.shown(),
                timeout.as_secs()
            )));
        }
        session.ui.detail(&format!("not ready yet: {error}"));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let waited_ms = started.elapsed().as_millis();
    if session.ui.json {
        session.ui.print_json(
            &json!({"database": session.url.shown(), "ready": true, "waited_ms": waited_ms, "attempts": attempts}),
        )?;
    } else {
        session
            .ui
            .info(&format!("{} is ready ({waited_ms} ms)", session.url.shown()));
    }
    Ok(ExitCode::Ok)
}
