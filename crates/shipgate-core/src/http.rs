//! The shared reqwest client and the retry loop around it.
//!
//! Every HTTP client in shipgate is built here so TLS (rustls with the ring
//! provider), the user agent and timeouts are the same everywhere, and so
//! every error message shows URLs only after
//! [`crate::url_redaction::redact`].

use std::sync::Once;
use std::time::Duration;

use reqwest::ResponseBuilderExt;

use crate::actions::redact;
use crate::exit::{Error, Result};
use crate::retry::{
    GaveUp, GiveUpReason, Outcome, RetryPolicy, Verdict, attempts_text, is_secondary_rate_limit, judge,
};
use crate::url_redaction;

/// The user agent every shipgate request sends.
pub const USER_AGENT: &str = concat!("shipgate/", env!("CARGO_PKG_VERSION"));

/// Connecting should be quick even when the whole request may take long.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Installs rustls' ring crypto provider as the process default, once.
/// reqwest is built with `rustls-no-provider`, so nothing TLS works before
/// this runs.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means another provider is already the default, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client with the system's root certificates.
pub fn client(timeout: Duration) -> Result<reqwest::Client> {
    client_with_roots(timeout, &[])
}

/// A client that also trusts the PEM certificates in `extra_root_pems`,
/// e.g. a test CA.
pub fn client_with_roots(timeout: Duration, extra_root_pems: &[Vec<u8>]) -> Result<reqwest::Client> {
    client_builder_with_roots(timeout, extra_root_pems)?
        .build()
        .map_err(|err| Error::usage(format!("cannot set up the HTTP client: {}", innermost_message(&err))))
}

/// The configured builder behind [`client_with_roots`], for callers that need
/// settings of their own on top (redirect policy, TLS info, a DNS resolver)
/// while keeping the shared TLS backend, user agent and timeouts.
pub fn client_builder_with_roots(timeout: Duration, extra_root_pems: &[Vec<u8>]) -> Result<reqwest::ClientBuilder> {
    install_crypto_provider();
    let mut certificates = Vec::with_capacity(extra_root_pems.len());
    for (index, pem) in extra_root_pems.iter().enumerate() {
        let parsed = reqwest::Certificate::from_pem_bundle(pem).map_err(|err| {
            Error::usage(format!(
                "extra root certificate #{} is not valid PEM: {}",
                index + 1,
                innermost_message(&err)
            ))
        })?;
        if parsed.is_empty() {
            return Err(Error::usage(format!(
                "extra root certificate #{} contains no PEM certificate",
                index + 1
            )));
        }
        certificates.extend(parsed);
    }
    let mut builder = reqwest::Client::builder()
        .tls_backend_rustls()
        .user_agent(USER_AGENT)
        .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
        .timeout(timeout);
    if !certificates.is_empty() {
        builder = builder.tls_certs_merge(certificates);
    }
    Ok(builder)
}

/// Sends the request `make_request` builds, retrying per `policy`.
///
/// Returns the first response that is a success or not worth retrying
/// (e.g. 404: the caller decides what it means). A transient failure that
/// outlasts the policy becomes [`Error::external`], e.g.
/// `POST https://hooks.slack.com/***: 503 Service Unavailable after 4 attempts`.
pub async fn send_with_retry<F>(policy: &RetryPolicy, make_request: F) -> Result<reqwest::Response>
where
    F: Fn() -> reqwest::RequestBuilder,
{
    let attempt = || async {
        let (client, request) = make_request().build_split();
        let request = request.map_err(|err| {
            let url = err.url().map(url_redaction::redact).unwrap_or_default();
            Unsent::Invalid(Error::usage(format!(
                "invalid HTTP request {url}: {}",
                innermost_message(&err)
            )))
        })?;
        let shown = format!("{} {}", request.method(), url_redaction::redact(request.url()));
        let url = request.url().clone();
        let response = client
            .execute(request)
            .await
            .map_err(|err| Unsent::Transport(format!("{shown}: {}", describe_transport_error(&err))))?;
        let status = response.status();
        if status.is_success() || status.is_redirection() {
            return Ok(Sent {
                shown,
                response,
                body: None,
            });
        }
        let (response, body) = read_body_if_needed(response, &url).await;
        Ok(Sent { shown, response, body })
    };
    let verdict = |last: &std::result::Result<Sent, Unsent>| match last {
        Ok(sent) => judge(Outcome::Response {
            status: sent.response.status(),
            headers: sent.response.headers(),
            body: sent.body.as_deref(),
        }),
        Err(Unsent::Invalid(_)) => Verdict::Final,
        Err(Unsent::Transport(_)) => Verdict::Transient { wait: None },
    };
    match policy.run(attempt, verdict).await {
        Ok(Ok(sent)) => Ok(sent.response),
        Ok(Err(Unsent::Invalid(error))) => Err(error),
        // A transport failure is never final, so it only ends the loop as a give-up.
        Ok(Err(Unsent::Transport(failure))) => Err(Error::external(failure)),
        Err(GaveUp { last, attempts, reason }) => Err(match (last, reason) {
            (Err(Unsent::Invalid(error)), _) => error,
            (Err(Unsent::Transport(failure)), _) => {
                Error::external(format!("{failure} after {}", attempts_text(attempts)))
            }
            (Ok(sent), GiveUpReason::WaitTooLong(wait)) => Error::external(format!(
                "{}: {}; the server asked to wait {}s, longer than the {}s limit; try again later",
                sent.shown,
                status_text(sent.response.status()),
                wait.as_secs(),
                policy.max_retry_after.as_secs()
            )),
            (Ok(sent), _) => Error::external(format!(
                "{}: {} after {}",
                sent.shown,
                status_text(sent.response.status()),
                attempts_text(attempts)
            )),
        }),
    }
}

/// An answer, whatever its status, with the body when the retry decision
/// needed it.
struct Sent {
    /// `GET https://host/***`, for messages.
    shown: String,
    response: reqwest::Response,
    body: Option<String>,
}

/// An attempt that got no answer.
enum Unsent {
    /// The request cannot be built; retrying will not help.
    Invalid(Error),
    /// No answer (timeout, refused, reset): `METHOD url: what happened`.
    Transport(String),
}

/// A 403 without rate-limit headers may still be GitHub's secondary rate
/// limit, which only the body tells; read it and hand back an equivalent
/// response so the caller can still use it.
async fn read_body_if_needed(response: reqwest::Response, url: &reqwest::Url) -> (reqwest::Response, Option<String>) {
    let status = response.status();
    if status != reqwest::StatusCode::FORBIDDEN || is_secondary_rate_limit(status, response.headers(), None) {
        return (response, None);
    }
    let version = response.version();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let mut builder = http::Response::builder()
        .status(status)
        .version(version)
        .url(url.clone());
    if let Some(map) = builder.headers_mut() {
        *map = headers;
    }
    match builder.body(bytes) {
        Ok(rebuilt) => (reqwest::Response::from(rebuilt), Some(text)),
        // Unreachable with a status and headers taken from a real response;
        // an empty 403 still reports the right status.
        Err(_) => (
            reqwest::Response::from(http::Response::new(Vec::<u8>::new())),
            Some(text),
        ),
    }
}

/// `503 Service Unavailable`.
pub fn status_text(status: reqwest::StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// What went wrong on the wire, in words, without the URL reqwest puts in
/// its own message.
pub fn describe_transport_error(err: &reqwest::Error) -> String {
    let detail = innermost_message(err);
    if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        format!("could not connect ({detail})")
    } else {
        detail
    }
}

fn innermost_message(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(source) = current.source() {
        current = source;
    }
    url_redaction::redact_in_text(&redact(&current.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::any;

    /// Serves `router` on 127.0.0.1 and returns its base URL.
    async fn serve(router: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        format!("http://{address}")
    }

    /// Status, headers and body of one scripted answer.
    type Reply = (u16, Vec<(&'static str, String)>, &'static str);

    /// A router answering with `script[n]` for the n-th request, repeating
    /// the last entry.
    fn scripted(script: Vec<Reply>) -> (Router, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let script = Arc::new(script);
        let router = Router::new().route(
            "/{*path}",
            any(move || {
                let counter = counter.clone();
                let script = script.clone();
                async move {
                    let index = counter.fetch_add(1, Ordering::SeqCst).min(script.len() - 1);
                    let (status, headers, body) = &script[index];
                    let mut map = HeaderMap::new();
                    for (name, value) in headers {
                        map.insert(*name, value.parse().unwrap());
                    }
                    (StatusCode::from_u16(*status).unwrap(), map, *body)
                }
            }),
        );
        (router, hits)
    }

    fn recording_policy() -> (RetryPolicy, Arc<Mutex<Vec<Duration>>>) {
        let slept = Arc::new(Mutex::new(Vec::new()));
        let recorder = slept.clone();
        let policy = RetryPolicy::with_sleeper(move |duration| {
            recorder.lock().unwrap().push(duration);
            async {}
        });
        (policy, slept)
    }

    #[tokio::test]
    async fn retries_503_until_success() {
        let (router, hits) = scripted(vec![(503, vec![], "down"), (503, vec![], "down"), (200, vec![], "ok")]);
        let base = serve(router).await;
        let client = client(Duration::from_secs(5)).unwrap();
        let (policy, slept) = recording_policy();
        let response = send_with_retry(&policy, || client.get(format!("{base}/health")))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "ok");
        assert_eq!(hits.load(Ordering::SeqCst), 3);
        let slept = slept.lock().unwrap();
        assert_eq!(slept.len(), 2);
        assert!(slept[0] >= Duration::from_millis(250) && slept[0] <= Duration::from_millis(500));
        assert!(slept[1] >= Duration::from_millis(500) && slept[1] <= Duration::from_secs(1));
    }

    #[tokio::test]
    async fn honours_retry_after_for_real() {
        let (router, hits) = scripted(vec![
            (503, vec![("retry-after", "1".into())], "busy"),
            (200, vec![], "ok"),
        ]);
        let base = serve(router).await;
        let client = client(Duration::from_secs(5)).unwrap();
        let started = std::time::Instant::now();
        let response = send_with_retry(&RetryPolicy::default(), || client.get(format!("{base}/x")))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn gives_up_after_the_last_attempt_with_a_redacted_url() {
        let (router, hits) = scripted(vec![(503, vec![], "down")]);
        let base = serve(router).await;
        let client = client(Duration::from_secs(5)).unwrap();
        let (policy, slept) = recording_policy();
        let url = format!("{base}/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX1?token=abc");
        let err = send_with_retry(&policy, || client.post(&url).body("{}"))
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::External);
        assert_eq!(
            err.to_string(),
            format!("POST {base}/***?token=***: 503 Service Unavailable after 4 attempts")
        );
        assert_eq!(hits.load(Ordering::SeqCst), 4);
        assert_eq!(slept.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn client_errors_are_returned_without_retrying() {
        let (router, hits) = scripted(vec![(404, vec![], "missing"), (200, vec![], "ok")]);
        let base = serve(router).await;
        let client = client(Duration::from_secs(5)).unwrap();
        let (policy, _) = recording_policy();
        let response = send_with_retry(&policy, || client.get(format!("{base}/x")))
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_permission_403_is_returned_with_its_body_intact() {
        let (router, hits) = scripted(vec![(
            403,
            vec![("x-accepted-github-permissions", "contents=write".into())],
            r#"{"message":"Resource not accessible by integration"}"#,
        )]);
        let base = serve(router).await;
        let client = client(Duration::from_secs(5)).unwrap();
        let (policy, _) = recording_policy();
        let response = send_with_retry(&policy, || client.get(format!("{base}/x")))
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        assert_eq!(response.url().as_str(), format!("{base}/x"));
        assert_eq!(response.headers()["x-accepted-github-permissions"], "contents=write");
        assert_eq!(
            response.text().await.unwrap(),
            r#"{"message":"Resource not accessible by integration"}"#
        );
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_too_long_retry_after_fails_fast() {
        let (router, hits) = scripted(vec![(429, vec![("retry-after", "7200".into())], "slow down")]);
        let base = serve(router).await;
        let client = client(Duration::from_secs(5)).unwrap();
        let (policy, slept) = recording_policy();
        let err = send_with_retry(&policy, || client.get(format!("{base}/api")))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "GET {base}/api: 429 Too Many Requests; the server asked to wait 7200s, longer than the 60s limit; try again later"
            )
        );
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert!(slept.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn connection_refused_is_retried_then_external() {
        // Bind and drop to get a port nothing listens on.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let client = client(Duration::from_secs(5)).unwrap();
        let (policy, slept) = recording_policy();
        let err = send_with_retry(&policy, || {
            client.get(format!("http://user:pw@127.0.0.1:{port}/ready?key=1"))
        })
        .await
        .unwrap_err();
        let message = err.to_string();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::External);
        assert!(
            message.starts_with(&format!("GET http://127.0.0.1:{port}/ready?key=***: could not connect")),
            "{message}"
        );
        assert!(message.ends_with("after 4 attempts"), "{message}");
        assert!(!message.contains("pw") && !message.contains("key=1"), "{message}");
        assert_eq!(slept.lock().unwrap().len(), 3);
    }

    /// A CA and a leaf for 127.0.0.1 made with the openssl CLI.
    fn test_pki(dir: &std::path::Path) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let openssl = |args: &[&str]| {
            let output = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .unwrap_or_else(|err| panic!("cannot run openssl ({err}); install it with `apt-get install openssl`"));
            assert!(
                output.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec[..],
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=shipgate test CA",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign",
                ][..],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req"][..],
                &ec[..],
                &["-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1"][..],
            ]
            .concat(),
        );
        std::fs::write(
            dir.join("leaf.ext"),
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
        ]);
        let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
        (read("ca.pem"), read("leaf.pem"), read("leaf.key"))
    }

    /// A one-file HTTPS server on rustls answering "ok" to every connection
    /// that completes the handshake.
    fn serve_tls(leaf_pem: &[u8], key_pem: &[u8]) -> u16 {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        use std::io::{Read, Write};

        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(leaf_pem)
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key_pem).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .unwrap(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(tcp) = stream else { continue };
                let connection = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(connection, tcp);
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                if request.is_empty() {
                    continue;
                }
                let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        });
        port
    }

    #[tokio::test]
    async fn extra_roots_are_trusted_and_others_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let (ca, leaf, key) = test_pki(dir.path());
        let port = serve_tls(&leaf, &key);
        let url = format!("https://127.0.0.1:{port}/health");

        let trusting = client_with_roots(Duration::from_secs(5), &[ca]).unwrap();
        let response = send_with_retry(&RetryPolicy::no_retries(), || trusting.get(&url))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "ok");

        let plain = client(Duration::from_secs(5)).unwrap();
        let err = send_with_retry(&RetryPolicy::no_retries(), || plain.get(&url))
            .await
            .unwrap_err();
        let message = err.to_string();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::External);
        assert!(message.starts_with(&format!("GET {url}: ")), "{message}");
        assert!(message.ends_with("after 1 attempt"), "{message}");
        assert!(message.contains("certificate"), "{message}");
    }

    #[test]
    fn invalid_root_certificates_are_a_usage_error() {
        let err = client_with_roots(Duration::from_secs(1), &[b"not a certificate".to_vec()]).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::ExitCode::Usage);
        assert!(err.to_string().contains("#1"), "{err}");
    }
}
