//! Contract tests: the requests `publish` sends, against Prism serving
//! GitHub's official OpenAPI description.

use std::time::Duration;

use http::Method;
use release_tagger::publish::{
    AssetFile, GitHubRelease, ReleaseRequest, list_assets, publish_release, release_body, upload_assets,
};
use shipgate_core::actions::Secret;
use shipgate_core::github::{GitHubClient, GitHubSettings};
use shipgate_core::retry::RetryPolicy;
use shipgate_testkit::ContractSession;
use shipgate_testkit::prism::contract_session;

fn client(session: &ContractSession) -> GitHubClient {
    let mut retry = RetryPolicy::with_sleeper(|_| async {});
    retry.max_attempts = 2;
    GitHubClient::new(GitHubSettings {
        api_url: session.url(),
        token: Some(Secret::new("ghs_contractTestToken000000000000000000")),
        timeout: Duration::from_secs(30),
        retry,
    })
    .expect("client builds")
}

fn request(draft: bool) -> ReleaseRequest {
    ReleaseRequest {
        owner: "acme".into(),
        repo: "widgets".into(),
        tag: "v1.3.0-rc.1".into(),
        name: "v1.3.0-rc.1".into(),
        notes: "## 1.3.0-rc.1 - 2024-01-14\n\n### Features\n\n- add the export endpoint (abc1234)\n".into(),
        draft,
        prerelease: true,
    }
}

#[tokio::test]
async fn publish_conforms_to_githubs_spec() {
    let session = contract_session();
    let client = client(&session);
    publish_release(&client, &request(true))
        .await
        .expect("Prism answers valid requests");
    session.assert_conforms();
    let exchanges = session.exchanges();
    assert_eq!(exchanges[0].method, "GET");
    assert!(
        exchanges[0]
            .path
            .starts_with("/repos/acme/widgets/releases?per_page=100&page=1"),
        "{}",
        exchanges[0].path
    );
    let last = exchanges.last().unwrap();
    assert!(
        matches!(last.method.as_str(), "POST" | "PATCH"),
        "the last request writes the release: {} {}",
        last.method,
        last.path
    );
}

#[tokio::test]
async fn create_and_update_bodies_conform_to_githubs_spec() {
    let session = contract_session();
    let client = client(&session);
    let body = release_body(&request(false));
    let _: GitHubRelease = client
        .request_json(Method::POST, "/repos/acme/widgets/releases", Some(&body))
        .await
        .expect("create conforms");
    let _: GitHubRelease = client
        .request_json(Method::PATCH, "/repos/acme/widgets/releases/42", Some(&body))
        .await
        .expect("update conforms");
    session.assert_conforms();
    let methods: Vec<String> = session.exchanges().into_iter().map(|e| e.method).collect();
    assert_eq!(methods, vec!["POST", "PATCH"]);
}

#[tokio::test]
async fn cut_pr_conforms_to_githubs_spec() {
    let session = contract_session();
    let client = client(&session);
    let spec = release_tagger::pulls::PullRequestSpec {
        owner: "acme".into(),
        repo: "widgets".into(),
        head: "release/v1.3.0".into(),
        base: "main".into(),
        title: "Release v1.3.0".into(),
        body: "## 1.3.0\n".into(),
    };
    release_tagger::pulls::open_pull(&client, &spec)
        .await
        .expect("Prism answers valid requests");
    let body = serde_json::json!({ "title": spec.title, "head": spec.head, "base": spec.base, "body": spec.body });
    let _: release_tagger::pulls::PullInfo = client
        .request_json(Method::POST, "/repos/acme/widgets/pulls", Some(&body))
        .await
        .expect("create conforms");
    session.assert_conforms();
    let exchanges = session.exchanges();
    assert_eq!(exchanges[0].method, "GET");
    // `owner:branch` is one query value: its `:` and `/` are percent-encoded.
    assert_eq!(
        exchanges[0].path,
        "/repos/acme/widgets/pulls?state=open&head=acme%3Arelease%2Fv1.3.0&base=main"
    );
    assert_eq!(exchanges.last().unwrap().method, "POST");
}

#[tokio::test]
async fn asset_upload_list_and_delete_conform_to_githubs_spec() {
    let session = contract_session();
    let client = client(&session);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("widgets-x86_64-linux.tar.gz");
    std::fs::write(&path, b"\x1f\x8b archive").unwrap();
    let release = GitHubRelease {
        id: 42,
        tag_name: "v1.3.0".into(),
        html_url: "https://github.com/acme/widgets/releases/tag/v1.3.0".into(),
        draft: false,
        prerelease: false,
        // What GitHub answers, with the uploads host replaced by the proxy.
        upload_url: format!("{}/repos/acme/widgets/releases/42/assets{{?name,label}}", session.url()),
    };
    let file = AssetFile {
        path,
        name: "widgets-x86_64-linux.tar.gz".into(),
        with_checksum: true,
    };
    let uploaded = upload_assets(&client, &request(false), &release, &[file])
        .await
        .expect("Prism answers valid requests");
    assert_eq!(uploaded.len(), 2);
    list_assets(&client, "acme", "widgets", 42)
        .await
        .expect("list conforms");
    client
        .request_json::<()>(Method::DELETE, "/repos/acme/widgets/releases/assets/7", None)
        .await
        .expect("delete conforms");
    session.assert_conforms();
    let exchanges = session.exchanges();
    let uploads: Vec<_> = exchanges.iter().filter(|e| e.method == "POST").collect();
    assert_eq!(uploads.len(), 2, "the asset and its checksum file");
    assert_eq!(
        uploads[0].path,
        "/repos/acme/widgets/releases/42/assets?name=widgets-x86_64-linux.tar.gz"
    );
    assert_eq!(
        uploads[1].path,
        "/repos/acme/widgets/releases/42/assets?name=widgets-x86_64-linux.tar.gz.sha256"
    );
    assert_eq!(exchanges.last().unwrap().method, "DELETE");
}
