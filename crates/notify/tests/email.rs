//! Email against a real SMTP server on 127.0.0.1: Python's aiosmtpd (PyPI,
//! installed into .tools/venv by `cargo xtask test`) driven by
//! `smtp_server.py`, with plain SMTP, STARTTLS (RFC 3207), implicit TLS and
//! AUTH (RFC 4954), using certificates from a throwaway test CA.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use common::Runner;
use serde::Deserialize;
use shipgate_testkit::tls::TestCa;
use tempfile::TempDir;

const AIOSMTPD_HINT: &str = "run `cargo xtask test` (installs PyPI aiosmtpd==1.4.6 into .tools/venv)";

/// One message the server accepted, as `smtp_server.py` records it.
#[derive(Debug, Clone, Deserialize)]
struct Received {
    from: String,
    to: Vec<String>,
    data: String,
    /// Whether the message travelled over TLS.
    tls: bool,
    /// The login that authenticated, if any.
    auth: Option<String>,
}

#[derive(Clone, Copy)]
enum Security {
    Plain,
    StartTls,
    Implicit,
}

/// A certificate for 127.0.0.1 and the CA that issued it, as PEM files.
struct TestPki {
    dir: TempDir,
    ca_pem: String,
}

impl TestPki {
    fn new() -> TestPki {
        let ca = TestCa::new("shipgate notify test CA");
        let dir = tempfile::tempdir().unwrap();
        ca.issue_for(&["127.0.0.1"]).write(dir.path(), "server");
        TestPki { dir, ca_pem: ca.pem }
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }
}

/// The aiosmtpd server; stopped (stdin closed, then killed) when dropped.
struct SmtpServer {
    port: u16,
    child: Child,
    stdin: Option<ChildStdin>,
    received_file: PathBuf,
    _dir: TempDir,
}

fn venv_python() -> PathBuf {
    let python = shipgate_testkit::tools::venv_bin_dir().join("python");
    assert!(
        python.is_file(),
        "{} is missing, so aiosmtpd cannot run: {AIOSMTPD_HINT}",
        python.display()
    );
    let has_aiosmtpd = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        has_aiosmtpd,
        "aiosmtpd is not installed in .tools/venv: {AIOSMTPD_HINT}"
    );
    python
}

impl SmtpServer {
    /// Starts a server; `login` makes AUTH required with that user and password.
    fn start(security: Security, pki: Option<&TestPki>, login: Option<(&str, &str)>) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let received_file = dir.path().join("received.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_server.py");
        let mode = match security {
            Security::Plain => "plain",
            Security::StartTls => "starttls",
            Security::Implicit => "implicit",
        };
        let mut command = Command::new(venv_python());
        command.arg(&script).arg(mode).arg(&received_file);
        if let Some(pki) = pki {
            command.arg(pki.cert()).arg(pki.key());
        }
        if let Some((user, password)) = login {
            command.env("SMTP_USER", user).env("SMTP_PASSWORD", password);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| panic!("starting {}: {err}", script.display()));
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        let port = first_line
            .trim()
            .strip_prefix("READY ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("smtp_server.py did not start (said {first_line:?}); if aiosmtpd is missing, {AIOSMTPD_HINT}")
            });
        SmtpServer {
            port,
            stdin: child.stdin.take(),
            child,
            received_file,
            _dir: dir,
        }
    }

    fn received(&self) -> Vec<Received> {
        std::fs::read_to_string(&self.received_file)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        // Closing stdin is the server's signal to stop; the kill covers a
        // server stuck in a handshake.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    let server = SmtpServer::start(Security::Plain, None, None);
    let url = format!(
        "smtp://127.0.0.1:{}?tls=none&from=ci@acme.test&to=ops@acme.test,lead@acme.test",
        server.port
    );
    let run = deploy_to(&Runner::in_actions(), &url);
    assert_eq!(run.code, 0, "{run:#?}");
    let received = server.received();
    assert_eq!(received.len(), 1, "{received:#?}");
    let mail = &received[0];
    assert_eq!(mail.from, "ci@acme.test");
    assert_eq!(mail.to, ["ops@acme.test", "lead@acme.test"]);
    assert!(!mail.tls);
    assert_eq!(mail.auth, None);
    // multipart/alternative with a text and an HTML part, both
    // quoted-printable; the emoji subject is RFC 2047 encoded; the message is
    // escaped for HTML only.
    insta::with_settings!({ filters => vec![
        (r"(?m)^Date: .*$", "Date: [DATE]"),
        (r"(?m)^Message-ID: .*$", "Message-ID: [MESSAGE-ID]"),
        (r#"boundary="[^"]+""#, r#"boundary="[BOUNDARY]""#),
        (r"(?m)^--[0-9A-Za-z]{16,}(--)?$", "--[BOUNDARY]$1"),
    ]}, {
        insta::assert_snapshot!("deploy_mail", mail.data.replace("\r\n", "\n"));
    });
}

#[test]
fn starttls_with_auth_uses_the_configured_ca_and_a_wrong_password_is_refused() {
    let pki = TestPki::new();
    let password = "SmtpP@ss:word-0042";
    let server = SmtpServer::start(Security::StartTls, Some(&pki), Some(("ci@acme.test", password)));
    let runner = Runner::in_actions();
    let ca = runner.write("ca.pem", &pki.ca_pem);
    let url = |encoded_password: &str| {
        format!(
            "smtp://ci%40acme.test:{encoded_password}@127.0.0.1:{}?to=ops@acme.test&ca={}",
            server.port,
            ca.display()
        )
    };
    let run = deploy_to(&runner, &url("SmtpP%40ss%3Aword-0042"));
    assert_eq!(run.code, 0, "{run:#?}");
    let received = server.received();
    assert_eq!(received.len(), 1, "{run:#?}");
    assert!(received[0].tls, "the message went in clear text");
    assert_eq!(received[0].auth.as_deref(), Some("ci@acme.test"));
    assert_eq!(received[0].from, "ci@acme.test");
    assert!(!run.everything().contains(password), "{run:#?}");
    assert!(!run.everything().contains("SmtpP%40ss%3Aword-0042"), "{run:#?}");

    let wrong = "Wr0ngPassw0rd-9911";
    let run = deploy_to(&runner, &url(wrong));
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(server.received().len(), 1, "nothing more was accepted");
    assert!(!run.everything().contains(wrong), "{run:#?}");
}

#[test]
fn implicit_tls_is_used_for_smtps() {
    let pki = TestPki::new();
    let server = SmtpServer::start(
        Security::Implicit,
        Some(&pki),
        Some(("ci@acme.test", "Impl1cit-Secret")),
    );
    let runner = Runner::local();
    let ca = runner.write("ca.pem", &pki.ca_pem);
    let url = format!(
        "smtps://ci%40acme.test:Impl1cit-Secret@127.0.0.1:{}?to=ops@acme.test&ca={}",
        server.port,
        ca.display()
    );
    let run = deploy_to(&runner, &url);
    assert_eq!(run.code, 0, "{run:#?}");
    let received = server.received();
    assert_eq!(received.len(), 1, "{run:#?}");
    assert!(received[0].tls);
    assert_eq!(received[0].auth.as_deref(), Some("ci@acme.test"));
}

#[test]
fn a_server_without_starttls_or_with_an_unknown_certificate_gets_nothing() {
    // STARTTLS is required by default: a server that does not offer it is refused.
    let plain = SmtpServer::start(Security::Plain, None, None);
    let url = format!("smtp://127.0.0.1:{}?from=ci@acme.test&to=ops@acme.test", plain.port);
    let run = deploy_to(&Runner::local(), &url);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(plain.received().is_empty());

    // A certificate from a CA we were not told about is refused.
    let pki = TestPki::new();
    let untrusted = SmtpServer::start(Security::Implicit, Some(&pki), None);
    let url = format!(
        "smtps://127.0.0.1:{}?from=ci@acme.test&to=ops@acme.test",
        untrusted.port
    );
    let run = deploy_to(&Runner::local(), &url);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(untrusted.received().is_empty());
}
