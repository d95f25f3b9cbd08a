//! TLS for PostgreSQL with rustls, following libpq's `sslmode` meanings:
//! `prefer`/`require` encrypt without verifying (unless `sslrootcert` is
//! given, then like `verify-ca`), `verify-ca` checks the chain,
//! `verify-full` checks the chain and the host name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use shipgate_core::exit::{Error, Result};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsMode {
    pub fn parse(text: &str) -> Result<TlsMode> {
        Ok(match text {
            "disable" => TlsMode::Disable,
            // Without a plaintext-first mode in the driver, `allow` encrypts when it can, like `prefer`.
            "allow" | "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            other => {
                return Err(Error::usage(format!(
                    "unknown sslmode `{other}` (expected disable, allow, prefer, require, verify-ca or verify-full)"
                )));
            }
        })
    }

    pub fn ssl_mode(self) -> SslMode {
        match self {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The CA file: `sslrootcert`, else libpq's `~/.postgresql/root.crt`.
fn root_cert_file(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    let home = std::env::var_os("HOME")?;
    let default = PathBuf::from(home).join(".postgresql").join("root.crt");
    default.is_file().then_some(default)
}

fn load_roots(path: &Path) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|error| Error::usage_with(format!("cannot read sslrootcert {}", path.display()), error))?;
    for certificate in certificates {
        let certificate = certificate
            .map_err(|error| Error::usage_with(format!("cannot read sslrootcert {}", path.display()), error))?;
        roots
            .add(certificate)
            .map_err(|error| Error::usage_with(format!("bad certificate in {}", path.display()), error))?;
    }
    if roots.is_empty() {
        return Err(Error::usage(format!(
            "sslrootcert {} holds no certificate",
            path.display()
        )));
    }
    Ok(roots)
}

pub(super) fn connector(mode: TlsMode, root_cert: Option<&Path>) -> Result<MakeRustlsConnect> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| Error::usage_with("TLS setup failed", error))?;
    let roots = root_cert_file(root_cert);
    let verify = match (mode, &roots) {
        (TlsMode::VerifyFull, _) => Some(true),
        (TlsMode::VerifyCa, _) => Some(false),
        // libpq: with a root certificate, `require` verifies the chain.
        (TlsMode::Require | TlsMode::Prefer, Some(_)) if root_cert.is_some() => Some(false),
        _ => None,
    };
    let config = match verify {
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider().signature_verification_algorithms)))
            .with_no_client_auth(),
        Some(check_host) => {
            let path = roots.ok_or_else(|| {
                Error::usage(
                    "sslmode=verify-ca/verify-full needs the CA: add sslrootcert=FILE to the URL (or ~/.postgresql/root.crt)",
                )
            })?;
            let roots = Arc::new(load_roots(&path)?);
            if check_host {
                builder.with_root_certificates(roots).with_no_client_auth()
            } else {
                let inner = WebPkiServerVerifier::builder_with_provider(roots, provider())
                    .build()
                    .map_err(|error| Error::usage_with("TLS setup failed", error))?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
                    .with_no_client_auth()
            }
        }
    };
    Ok(MakeRustlsConnect::new(config))
}

/// `sslmode=require` without a CA: encrypted, identity unchecked (libpq's meaning).
#[derive(Debug)]
struct EncryptOnly(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// `sslmode=verify-ca`: the chain must lead to the CA; the name may differ.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
