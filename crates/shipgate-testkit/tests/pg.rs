//! The ephemeral PostgreSQL cluster really runs, stays on loopback and cleans up.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use shipgate_testkit::PgCluster;

fn accepts_connections(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

#[test]
fn cluster_stores_data_and_disappears_on_drop() {
    let cluster = PgCluster::start().expect("start PostgreSQL");
    let port = cluster.port();
    let data_dir = cluster.data_dir();
    assert!(
        data_dir.join("PG_VERSION").is_file(),
        "initdb created the data directory"
    );

    cluster.create_database("app_test").expect("create database");
    cluster
        .psql(
            "app_test",
            "CREATE TABLE deploys (id int PRIMARY KEY, tag text NOT NULL);
             INSERT INTO deploys VALUES (1, 'v1.0.0'), (2, 'v1.1.0');",
        )
        .expect("create and fill a table");
    let rows = cluster
        .psql("app_test", "SELECT id, tag FROM deploys ORDER BY id")
        .expect("select");
    assert_eq!(rows, "1|v1.0.0\n2|v1.1.0\n");
    assert_eq!(
        cluster.url("app_test"),
        format!("postgres://postgres@127.0.0.1:{port}/app_test")
    );

    drop(cluster);
    assert!(!data_dir.exists(), "data directory removed on drop");
    assert!(
        !accepts_connections(SocketAddr::from(([127, 0, 0, 1], port))),
        "server stopped on drop"
    );
}

#[test]
fn cluster_listens_on_loopback_only() {
    let cluster = PgCluster::start().expect("start PostgreSQL");
    let listen = cluster
        .psql("postgres", "SHOW listen_addresses")
        .expect("show listen_addresses");
    assert_eq!(listen.trim(), "127.0.0.1");
    assert!(accepts_connections(SocketAddr::from(([127, 0, 0, 1], cluster.port()))));
    // Linux routes all of 127/8 to lo, so a server bound to 0.0.0.0 would
    // answer on 127.0.0.2 as well; ours must not.
    assert!(
        !accepts_connections(SocketAddr::from(([127, 0, 0, 2], cluster.port()))),
        "server must not accept connections on other addresses"
    );
}

#[test]
fn parallel_clusters_are_independent() {
    let first = PgCluster::start().expect("start first cluster");
    let second = PgCluster::start().expect("start second cluster");
    assert_ne!(first.port(), second.port());
    assert_ne!(first.data_dir(), second.data_dir());
    first.create_database("only_in_first").expect("create database");
    let listed = |cluster: &PgCluster| {
        cluster
            .psql("postgres", "SELECT datname FROM pg_database ORDER BY datname")
            .expect("list databases")
    };
    assert!(listed(&first).lines().any(|db| db == "only_in_first"));
    assert!(!listed(&second).lines().any(|db| db == "only_in_first"));
}

#[test]
fn psql_reports_sql_errors() {
    let cluster = PgCluster::start().expect("start PostgreSQL");
    let error = cluster
        .psql("postgres", "SELECT * FROM no_such_table")
        .expect_err("a missing table is an error");
    assert!(
        error.to_string().contains("no_such_table"),
        "error names the problem: {error}"
    );
}
