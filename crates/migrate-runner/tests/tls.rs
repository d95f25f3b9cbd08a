//! TLS to PostgreSQL with rustls: a server with a certificate from a
//! self-signed CA, and libpq's sslmode meanings (verify-full checks chain
//! and host name, verify-ca only the chain, require only encrypts).

mod common;

use std::path::Path;
use std::process::Command;

use common::run;
use shipgate_testkit::pg::PgCluster;
use shipgate_testkit::tls::TestCa;

/// Writes `name` into the data directory, owned by the server's user.
fn install(cluster: &PgCluster, name: &str, contents: &str) {
    let path = cluster.data_dir().join(name);
    std::fs::write(&path, contents).unwrap();
    Command::new("chmod").arg("600").arg(&path).status().unwrap();
    let owner = Command::new("stat")
        .args(["-c", "%U"])
        .arg(cluster.data_dir())
        .output()
        .unwrap();
    let owner = String::from_utf8_lossy(&owner.stdout).trim().to_string();
    Command::new("chown").arg(&owner).arg(&path).status().unwrap();
}

/// A cluster serving TLS with a certificate for `localhost` only (not
/// 127.0.0.1) from `ca`.
fn tls_cluster(ca: &TestCa) -> PgCluster {
    let cluster = PgCluster::start().expect("starting PostgreSQL");
    cluster.create_database("app").unwrap();
    let server = ca.issue_for(&["localhost"]);
    install(&cluster, "server.crt", &server.certificate_pem);
    install(&cluster, "server.key", &server.key_pem);
    // ALTER SYSTEM refuses to share a transaction, so one statement per call.
    for setting in [
        "ssl_cert_file = 'server.crt'",
        "ssl_key_file = 'server.key'",
        "ssl = on",
    ] {
        cluster
            .psql("postgres", &format!("ALTER SYSTEM SET {setting}"))
            .unwrap();
    }
    cluster.psql("postgres", "SELECT pg_reload_conf()").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    cluster
}

fn migrations(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("1_tls.sql"),
        "CREATE TABLE connection_tls AS SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid();\n",
    )
    .unwrap();
}

#[test]
fn verify_full_checks_the_ca_and_the_host_name() {
    let trusted = TestCa::new("shipgate test CA");
    let cluster = tls_cluster(&trusted);
    let work = tempfile::tempdir().unwrap();
    migrations(&work.path().join("migrations"));
    let ca_file = work.path().join("ca.pem");
    std::fs::write(&ca_file, &trusted.pem).unwrap();
    let other = TestCa::new("someone else's CA");
    let other_file = work.path().join("other.pem");
    std::fs::write(&other_file, &other.pem).unwrap();
    let port = cluster.port();
    let url = |host: &str, mode: &str, root: &Path| {
        format!(
            "postgres://postgres@{host}:{port}/app?sslmode={mode}&sslrootcert={}",
            root.display()
        )
    };

    // The wrong CA: refused before anything is sent.
    let wrong_ca = run(
        work.path(),
        &[
            "status",
            "--database-url",
            &url("localhost", "verify-full", &other_file),
        ],
        &[],
    );
    assert_eq!(wrong_ca.code, 3, "{wrong_ca:?}");
    assert!(wrong_ca.stderr.contains("cannot connect"), "{wrong_ca:?}");
    // The right CA but a name the certificate does not carry.
    let wrong_name = run(
        work.path(),
        &["status", "--database-url", &url("127.0.0.1", "verify-full", &ca_file)],
        &[],
    );
    assert_eq!(wrong_name.code, 3, "{wrong_name:?}");
    // verify-ca does not check the name.
    run(
        work.path(),
        &["status", "--database-url", &url("127.0.0.1", "verify-ca", &ca_file)],
        &[],
    )
    .ok();
    // require encrypts without checking anything.
    run(
        work.path(),
        &[
            "status",
            "--database-url",
            &format!("postgres://postgres@127.0.0.1:{port}/app?sslmode=require"),
        ],
        &[],
    )
    .ok();

    run(
        work.path(),
        &["up", "--database-url", &url("localhost", "verify-full", &ca_file)],
        &[],
    )
    .ok();
    let seen = cluster
        .psql("app", "SELECT ssl, version LIKE 'TLSv1.%' FROM connection_tls")
        .unwrap();
    assert_eq!(seen.trim(), "t|t", "the migration did not run over TLS");
}

#[test]
fn verify_full_without_a_ca_is_a_usage_error() {
    let work = tempfile::tempdir().unwrap();
    migrations(&work.path().join("migrations"));
    let missing = run(
        work.path(),
        &[
            "status",
            "--database-url",
            "postgres://postgres@localhost:1/app?sslmode=verify-full",
        ],
        &[],
    );
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(missing.stderr.contains("sslrootcert"), "{missing:?}");
}
