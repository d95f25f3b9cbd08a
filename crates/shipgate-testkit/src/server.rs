//! Background runtimes for the harness servers.
//!
//! Most shipgate tests are plain `#[test]` functions that spawn processes, so
//! every server runs on its own tokio runtime in its own thread and the test
//! talks to it through a blocking API. Dropping the handle stops the server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context as _;
use axum::Router;
use tokio::sync::oneshot;

/// An axum router served on `127.0.0.1:<ephemeral port>` from a background thread.
pub(crate) struct BackgroundServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundServer {
    /// Binds before returning, so the URL is connectable as soon as this returns.
    pub(crate) fn serve(router: Router) -> anyhow::Result<BackgroundServer> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a test server to 127.0.0.1")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (shutdown, stop) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("testkit-server-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("building a tokio runtime for a test server");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("registering the test server listener with tokio");
                    // Racing the server against the stop signal (instead of a
                    // graceful shutdown) means a client that keeps a connection
                    // open can never make Drop hang.
                    tokio::select! {
                        result = axum::serve(listener, router) => {
                            if let Err(error) = result {
                                eprintln!("testkit server on {addr} stopped: {error}");
                            }
                        }
                        _ = stop => {}
                    }
                });
                // Dropping the runtime here cancels the per-connection tasks.
            })
            .context("spawning the test server thread")?;
        Ok(BackgroundServer {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs a future to completion on a fresh runtime in a scoped thread, so the
/// blocking helpers also work when called from inside an async test.
pub(crate) fn block_on<F>(future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("building a tokio runtime for a blocking helper")
                    .block_on(future)
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// A plain-HTTP client for talking to local servers.
///
/// The crypto provider is passed explicitly instead of installing a process
/// default: a default installed by the harness would hide a tool that forgets
/// to install its own.
pub(crate) fn http_client() -> anyhow::Result<reqwest::Client> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("configuring rustls for the harness HTTP client")?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .context("building the harness HTTP client")
}
