//! Sending one request and reading its answer, with the limits a smoke test
//! needs: a bounded body, redirects on or off with loop detection, the TLS
//! certificate's expiry, and `localhost` meaning both loopback addresses.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::HeaderMap;
use rustls::client::danger::ServerCertVerifier;
use shipgate_core::exit::{Error, Result};
use shipgate_core::http::{client_builder_with_roots, describe_transport_error};

/// Bodies larger than this are not read to the end: a health endpoint that
/// streams 100 MB is broken, and reading it all would risk the runner's memory.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Redirects followed before giving up (curl and browsers use similar limits).
const MAX_REDIRECTS: usize = 10;

/// One request, fully rendered.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub method: reqwest::Method,
    pub url: reqwest::Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout: Duration,
    pub follow_redirects: bool,
}

/// A response read within the limits.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// From sending the request to the last byte of the body.
    pub latency: Duration,
    /// Unix time the server's certificate expires, for HTTPS.
    pub certificate_not_after: Option<i64>,
}

impl Exchange {
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whole days until the certificate expires (negative once expired).
    pub fn certificate_days_left(&self) -> Option<i64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.certificate_not_after
            .map(|not_after| (not_after - now).div_euclid(86_400))
    }
}

/// Why no response could be judged: the verdict text for the check.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeFailure {
    pub message: String,
    pub latency: Duration,
    /// No complete answer came within the request timeout.
    pub timed_out: bool,
}

/// Settings of the HTTP clients.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Extra CA certificates (PEM files) to trust, e.g. an internal CA.
    pub ca_certs: Vec<PathBuf>,
    pub max_body_bytes: Option<usize>,
}

/// Sends requests; keeps one pooled client per redirect policy. The client
/// that does not follow redirects is built on first use: loading the system
/// roots is a good part of a one-check run's time.
#[derive(Debug, Clone)]
pub struct Prober {
    inner: Arc<ProberClients>,
}

#[derive(Debug)]
struct ProberClients {
    extra_roots: Vec<Vec<u8>>,
    following: reqwest::Client,
    not_following: OnceLock<std::result::Result<reqwest::Client, String>>,
    max_body_bytes: usize,
}

fn build_client(extra_roots: &[Vec<u8>], policy: reqwest::redirect::Policy) -> Result<reqwest::Client> {
    // Per-request timeouts are set on each request; this is the ceiling.
    let mut builder = client_builder_with_roots(Duration::from_secs(3600), extra_roots)?;
    if !extra_roots.is_empty() {
        builder = builder.tls_backend_preconfigured(pinning_tls_config(extra_roots)?);
    }
    builder
        .redirect(policy)
        .tls_info(true)
        .dns_resolver(LoopbackAwareResolver)
        .build()
        .map_err(|e| Error::usage_with("cannot set up the HTTP client", e))
}

impl Prober {
    pub fn new(options: &ClientOptions) -> Result<Self> {
        let mut extra_roots = Vec::new();
        for path in &options.ca_certs {
            let pem = std::fs::read(path)
                .map_err(|e| Error::usage_with(format!("cannot read CA certificate {}", path.display()), e))?;
            extra_roots.push(pem);
        }
        let following = build_client(&extra_roots, redirect_policy())?;
        Ok(Prober {
            inner: Arc::new(ProberClients {
                extra_roots,
                following,
                not_following: OnceLock::new(),
                max_body_bytes: options.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            }),
        })
    }

    fn client(&self, follow_redirects: bool) -> std::result::Result<&reqwest::Client, String> {
        if follow_redirects {
            return Ok(&self.inner.following);
        }
        self.inner
            .not_following
            .get_or_init(|| {
                build_client(&self.inner.extra_roots, reqwest::redirect::Policy::none()).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Sends `spec` once. A transport failure, a timeout, a TLS error, a
    /// redirect loop or an oversized body is a [`ProbeFailure`].
    pub async fn send(&self, spec: &RequestSpec) -> std::result::Result<Exchange, ProbeFailure> {
        let client = self.client(spec.follow_redirects).map_err(|message| ProbeFailure {
            message,
            latency: Duration::ZERO,
            timed_out: false,
        })?;
        let mut request = client
            .request(spec.method.clone(), spec.url.clone())
            .timeout(spec.timeout);
        for (name, value) in &spec.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &spec.body {
            request = request.body(body.clone());
        }
        let started = Instant::now();
        let fail = |message: String, timed_out: bool| ProbeFailure {
            message,
            latency: started.elapsed(),
            timed_out,
        };
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(err) => return Err(fail(describe_failure(&err, spec.timeout), err.is_timeout())),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let certificate_not_after = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .and_then(certificate_not_after);
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.inner.max_body_bytes {
                        return Err(fail(
                            format!(
                                "{status}: response body larger than the {} limit; stopped reading",
                                human_bytes(self.inner.max_body_bytes)
                            ),
                            false,
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(err) => {
                    return Err(fail(
                        format!("{status}: {}", describe_failure(&err, spec.timeout)),
                        err.is_timeout(),
                    ));
                }
            }
        }
        Ok(Exchange {
            status,
            headers,
            body,
            latency: started.elapsed(),
            certificate_not_after,
        })
    }
}

/// The TLS settings reqwest would use with `--ca-cert` (the platform
/// verifier with those extra roots, HTTP/2 and 1.1), with the verifier
/// wrapped in [`PinnedCertificates`].
fn pinning_tls_config(extra_roots: &[Vec<u8>]) -> Result<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut pinned = Vec::new();
    for (index, pem) in extra_roots.iter().enumerate() {
        for certificate in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
            pinned.push(
                certificate
                    .map_err(|e| Error::usage_with(format!("--ca-cert #{}: not a PEM certificate", index + 1), e))?,
            );
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let platform = rustls_platform_verifier::Verifier::new_with_extra_roots(pinned.clone(), provider.clone())
        .map_err(|e| Error::usage_with("--ca-cert: cannot use the certificates", e))?;
    let verifier = PinnedCertificates {
        platform: Arc::new(platform),
        pinned,
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::usage_with("cannot set up TLS", e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Trusts what the platform verifier trusts, and also a server certificate
/// that is byte for byte one the user gave with `--ca-cert`, as long as it
/// names the host and is within its validity period. `openssl req -x509`
/// makes self-signed certificates with CA:TRUE, which webpki refuses as a
/// server's own certificate (`CaUsedAsEndEntity`) while curl's `--cacert`
/// accepts them; pinning that exact certificate is at least as strict.
#[derive(Debug)]
struct PinnedCertificates {
    platform: Arc<rustls_platform_verifier::Verifier>,
    pinned: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl ServerCertVerifier for PinnedCertificates {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let refused = match self
            .platform
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Ok(verified) => return Ok(verified),
            Err(refused) => refused,
        };
        if !self.pinned.iter().any(|pinned| pinned.as_ref() == end_entity.as_ref()) {
            return Err(refused);
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        let (_, certificate) = x509_parser::parse_x509_certificate(end_entity.as_ref())
            .map_err(|_| rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding))?;
        let now = now.as_secs() as i64;
        let validity = certificate.validity();
        if now < validity.not_before.timestamp() {
            return Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidYet));
        }
        if now > validity.not_after.timestamp() {
            return Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Expired));
        }
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &rustls::pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.platform.verify_tls12_signature(message, certificate, signature)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &rustls::pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.platform.verify_tls13_signature(message, certificate, signature)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.platform.supported_verify_schemes()
    }
}

/// Follows up to [`MAX_REDIRECTS`] redirects and names a loop as such.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().contains(attempt.url()) {
            let path: Vec<String> = attempt
                .previous()
                .iter()
                .chain(std::iter::once(attempt.url()))
                .map(|url| url.path().to_owned())
                .collect();
            let message = format!("redirect loop: {}", path.join(" -> "));
            attempt.error(message)
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else {
            attempt.follow()
        }
    })
}

fn describe_failure(err: &reqwest::Error, timeout: Duration) -> String {
    if err.is_timeout() {
        return format!("timed out after {} ms", timeout.as_millis());
    }
    if err.is_redirect() {
        return innermost(err);
    }
    let detail = describe_transport_error(err);
    let lower = detail.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        format!("TLS error: {}", innermost(err))
    } else {
        detail
    }
}

fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(source) = current.source() {
        current = source;
    }
    shipgate_core::url_redaction::redact_in_text(&shipgate_core::actions::redact(&current.to_string()))
}

fn certificate_not_after(der: &[u8]) -> Option<i64> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(certificate.validity().not_after.timestamp())
}

fn human_bytes(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{bytes} bytes")
    }
}

/// A URL as it may be printed.
pub fn shown_url(url: &reqwest::Url) -> String {
    shipgate_core::url_redaction::redact(url)
}

/// Resolves `localhost` (and `*.localhost`, RFC 6761) to both ::1 and
/// 127.0.0.1 whatever the hosts file says, and every other name through the
/// system resolver with all its addresses: a service listening on only one
/// loopback family is then still found (wait-on's classic hang).
#[derive(Debug, Clone, Copy)]
struct LoopbackAwareResolver;

impl Resolve for LoopbackAwareResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let lower = host.to_ascii_lowercase();
            if lower == "localhost" || lower.ends_with(".localhost") {
                let both: Vec<SocketAddr> = vec![
                    SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
                    SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                ];
                return Ok(Box::new(both.into_iter()) as Addrs);
            }
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}
