//! A throwaway certificate authority for TLS tests (HTTPS, SMTP with
//! STARTTLS, PostgreSQL): a CA certificate to trust, and leaf certificates
//! for the names and the validity window a test needs.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAY: Duration = Duration::from_secs(86_400);

/// The names a local test server answers to.
pub const LOCALHOST: [&str; 2] = ["localhost", "127.0.0.1"];

/// A CA valid from 30 days ago for ten years, and the certificates it issues.
pub struct TestCa {
    /// The CA certificate, PEM: what a client is told to trust.
    pub pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

/// A certificate and its private key, PEM.
pub struct Issued {
    pub certificate_pem: String,
    pub key_pem: String,
}

impl Issued {
    /// Writes `dir/<stem>.pem` (the certificate) and `dir/<stem>.key`; returns both paths.
    pub fn write(&self, dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let certificate = dir.join(format!("{stem}.pem"));
        let key = dir.join(format!("{stem}.key"));
        std::fs::write(&certificate, &self.certificate_pem).expect("write the certificate");
        std::fs::write(&key, &self.key_pem).expect("write the key");
        (certificate, key)
    }
}

/// `now` shifted by `days` (negative: into the past).
fn shift<T>(now: T, days: i64) -> T
where
    T: std::ops::Add<Duration, Output = T> + std::ops::Sub<Duration, Output = T>,
{
    let by = DAY * u32::try_from(days.unsigned_abs()).expect("days fit in u32");
    if days >= 0 { now + by } else { now - by }
}

/// Sets the validity of `params` from `from_days` to `until_days` (plus
/// `extra`) relative to now.
fn set_validity(params: &mut rcgen::CertificateParams, from_days: i64, until_days: i64, extra: Duration) {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970");
    let now = rcgen::date_time_ymd(1970, 1, 1) + since_epoch;
    params.not_before = shift(now, from_days);
    params.not_after = shift(now, until_days) + extra;
}

impl TestCa {
    /// A new CA whose certificate is named `common_name`.
    pub fn new(common_name: &str) -> TestCa {
        let key = rcgen::KeyPair::generate().expect("CA key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        set_validity(&mut params, -30, 3650, Duration::ZERO);
        let certificate = params.self_signed(&key).expect("CA certificate");
        TestCa {
            pem: certificate.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A certificate for `names` valid from `from_days` to `until_days` and
    /// a half, relative to now (negative is the past): the extra half day
    /// keeps "days left" a whole number however long the test takes.
    pub fn issue(&self, names: &[&str], from_days: i64, until_days: i64) -> Issued {
        let key = rcgen::KeyPair::generate().expect("leaf key");
        let certificate = leaf_params(names, from_days, until_days)
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        Issued {
            certificate_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A certificate for `names`, valid from yesterday for a year.
    pub fn issue_for(&self, names: &[&str]) -> Issued {
        self.issue(names, -1, 365)
    }

    /// Writes the CA certificate to `dir/ca.pem` and returns the path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.pem).expect("write the CA certificate");
        path
    }
}

fn leaf_params(names: &[&str], from_days: i64, until_days: i64) -> rcgen::CertificateParams {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let mut params = rcgen::CertificateParams::new(names.clone()).expect("leaf params");
    if let Some(first) = names.first() {
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, first.as_str());
    }
    set_validity(&mut params, from_days, until_days, DAY / 2);
    params
}

/// A self-signed certificate for `names` (no CA vouches for it), valid from
/// yesterday for 30 days.
pub fn self_signed(names: &[&str]) -> Issued {
    let key = rcgen::KeyPair::generate().expect("key");
    let certificate = leaf_params(names, -1, 30)
        .self_signed(&key)
        .expect("self-signed certificate");
    Issued {
        certificate_pem: certificate.pem(),
        key_pem: key.serialize_pem(),
    }
}
