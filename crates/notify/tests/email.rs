//! Email against a real SMTP server on 127.0.0.1: a small tokio SMTP sink
//! speaking RFC 5321 with STARTTLS (RFC 3207), implicit TLS and AUTH PLAIN
//! (RFC 4954), using certificates from a throwaway test CA.

mod common;

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use common::Runner;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_rustls::TlsAcceptor;

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// One message the sink accepted.
#[derive(Debug, Clone, Default)]
struct Received {
    from: String,
    to: Vec<String>,
    data: String,
    /// Whether the message travelled over TLS.
    tls: bool,
    /// `user:password` from AUTH PLAIN.
    auth: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Security {
    Plain,
    StartTls,
    Implicit,
}

/// A certificate for 127.0.0.1 and the CA that issued it.
struct TestPki {
    ca_pem: String,
    acceptor: TlsAcceptor,
}

impl TestPki {
    fn new() -> TestPki {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "shipgate notify test CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(leaf.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .unwrap();
        TestPki {
            ca_pem: ca_cert.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        }
    }
}

/// The SMTP sink, on its own runtime in a background thread.
struct SmtpSink {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    _runtime: tokio::runtime::Runtime,
}

impl SmtpSink {
    fn start(security: Security, acceptor: Option<TlsAcceptor>) -> SmtpSink {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        runtime.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let store = Arc::clone(&store);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let (stream, tls): (Box<dyn Stream>, bool) = match (security, &acceptor) {
                        (Security::Implicit, Some(acceptor)) => match acceptor.accept(tcp).await {
                            Ok(tls) => (Box::new(tls), true),
                            Err(_) => return,
                        },
                        _ => (Box::new(tcp), false),
                    };
                    let starttls = if security == Security::StartTls { acceptor } else { None };
                    let _ = session(stream, tls, starttls, store).await;
                });
            }
        });
        SmtpSink {
            port,
            received,
            _runtime: runtime,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn session(
    stream: Box<dyn Stream>,
    mut tls: bool,
    starttls: Option<TlsAcceptor>,
    store: Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut current = Received::default();
    reader.get_mut().write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            let mut reply = String::from("250-sink.test\r\n");
            if starttls.is_some() && !tls {
                reply.push_str("250-STARTTLS\r\n");
            }
            reply.push_str("250-AUTH PLAIN\r\n250 8BITMIME\r\n");
            reply
        } else if upper == "STARTTLS" {
            let Some(acceptor) = &starttls else {
                reader.get_mut().write_all(b"502 not offered\r\n").await?;
                continue;
            };
            reader.get_mut().write_all(b"220 go ahead\r\n").await?;
            let plain = reader.into_inner();
            let upgraded = acceptor.accept(plain).await?;
            reader = BufReader::new(Box::new(upgraded));
            tls = true;
            continue;
        } else if let Some(encoded) = command.strip_prefix("AUTH PLAIN ") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .unwrap_or_default();
            let parts: Vec<String> = decoded
                .split(|byte| *byte == 0)
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect();
            current.auth = Some(format!(
                "{}:{}",
                parts.get(1).cloned().unwrap_or_default(),
                parts.get(2).cloned().unwrap_or_default()
            ));
            "235 2.7.0 accepted\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            current.from = command[10..].trim().trim_matches(['<', '>']).to_string();
            "250 2.1.0 ok\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            current
                .to
                .push(command[8..].trim().trim_matches(['<', '>']).to_string());
            "250 2.1.5 ok\r\n".into()
        } else if upper == "DATA" {
            reader.get_mut().write_all(b"354 end with .\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(&line);
            }
            current.data = data;
            current.tls = tls;
            store.lock().unwrap().push(std::mem::take(&mut current));
            "250 2.0.0 queued as 1\r\n".into()
        } else if upper == "QUIT" {
            reader.get_mut().write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            "250 ok\r\n".into()
        } else {
            "502 5.5.2 unknown command\r\n".into()
        };
        reader.get_mut().write_all(reply.as_bytes()).await?;
    }
}

fn deploy_to(runner: &Runner, url: &str) -> common::Run {
    runner.run(&[
        "deploy",
        "--status",
        "failed",
        "--version",
        "2.0.0",
        "--message",
        "Rolled back: <5xx> & \"timeouts\"",
        "--to",
        url,
    ])
}

#[test]
fn plain_smtp_delivers_a_text_and_html_message() {
    let sink = SmtpSink::start(Security::Plain, None);
    let url = format!(
        "smtp://127.0.0.1:{}?tls=none&from=ci@acme.test&to=ops@acme.test,lead@acme.test",
        sink.port
    );
    let run = deploy_to(&Runner::in_actions(), &url);
    assert_eq!(run.code, 0, "{run:#?}");
    let received = sink.received();
    assert_eq!(received.len(), 1, "{received:#?}");
    let mail = &received[0];
    assert_eq!(mail.from, "ci@acme.test");
    assert_eq!(mail.to, ["ops@acme.test", "lead@acme.test"]);
    assert!(!mail.tls);
    assert!(
        mail.data.contains("Content-Type: multipart/alternative"),
        "{}",
        mail.data
    );
    assert!(
        mail.data.contains("Content-Type: text/plain; charset=utf-8"),
        "{}",
        mail.data
    );
    assert!(
        mail.data.contains("Content-Type: text/html; charset=utf-8"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("To: ops@acme.test, lead@acme.test"), "{}", mail.data);
    // The subject carries an emoji, so it is RFC 2047 encoded.
    assert!(
        mail.data
            .contains("Subject: =?utf-8?b?8J+aqA==?= Deploy failed: 2.0.0 to production"),
        "{}",
        mail.data
    );
    // Both parts are quoted-printable; undo its soft line breaks and `=3D`.
    let decoded = mail.data.replace("=\r\n", "").replace("=3D", "=");
    assert!(decoded.contains("Rolled back: <5xx> & \"timeouts\""), "{decoded}");
    assert!(
        decoded.contains("Rolled back: &lt;5xx&gt; &amp; &quot;timeouts&quot;"),
        "{decoded}"
    );
}

#[test]
fn starttls_with_auth_uses_the_configured_ca() {
    let pki = TestPki::new();
    let sink = SmtpSink::start(Security::StartTls, Some(pki.acceptor.clone()));
    let runner = Runner::in_actions();
    let ca = runner.write("ca.pem", &pki.ca_pem);
    let password = "SmtpP@ss:word-0042";
    let url = format!(
        "smtp://ci%40acme.test:{}@127.0.0.1:{}?to=ops@acme.test&ca={}",
        "SmtpP%40ss%3Aword-0042",
        sink.port,
        ca.display()
    );
    let run = deploy_to(&runner, &url);
    assert_eq!(run.code, 0, "{run:#?}");
    let received = sink.received();
    assert_eq!(received.len(), 1, "{run:#?}");
    assert!(received[0].tls, "the message went in clear text");
    assert_eq!(
        received[0].auth.as_deref(),
        Some(format!("ci@acme.test:{password}").as_str())
    );
    assert_eq!(received[0].from, "ci@acme.test");
    assert!(!run.everything().contains(password), "{run:#?}");
    assert!(!run.everything().contains("SmtpP%40ss%3Aword-0042"), "{run:#?}");
}

#[test]
fn implicit_tls_is_used_for_smtps() {
    let pki = TestPki::new();
    let sink = SmtpSink::start(Security::Implicit, Some(pki.acceptor.clone()));
    let runner = Runner::local();
    let ca = runner.write("ca.pem", &pki.ca_pem);
    let url = format!(
        "smtps://127.0.0.1:{}?from=ci@acme.test&to=ops@acme.test&ca={}",
        sink.port,
        ca.display()
    );
    let run = deploy_to(&runner, &url);
    assert_eq!(run.code, 0, "{run:#?}");
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].tls);
}

#[test]
fn a_server_without_starttls_or_with_an_unknown_certificate_gets_nothing() {
    // STARTTLS is required by default: a server that does not offer it is refused.
    let plain = SmtpSink::start(Security::Plain, None);
    let url = format!("smtp://127.0.0.1:{}?from=ci@acme.test&to=ops@acme.test", plain.port);
    let run = deploy_to(&Runner::local(), &url);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(plain.received().is_empty());

    // A certificate from a CA we were not told about is refused.
    let pki = TestPki::new();
    let untrusted = SmtpSink::start(Security::Implicit, Some(pki.acceptor.clone()));
    let url = format!(
        "smtps://127.0.0.1:{}?from=ci@acme.test&to=ops@acme.test",
        untrusted.port
    );
    let run = deploy_to(&Runner::local(), &url);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(untrusted.received().is_empty());
}
