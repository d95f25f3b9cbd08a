//! The approvals request against Prism serving GitHub's OpenAPI description:
//! the policy's only GitHub call must be one GitHub documents.

use migrate_runner::policy::fetch_approvals;
use shipgate_core::actions::Runtime;
use shipgate_testkit::prism::contract_session;

#[tokio::test]
async fn run_approvals_request_conforms_to_githubs_spec() {
    let session = contract_session();
    let runtime = Runtime::from_env_map([
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_API_URL", session.url()),
        ("GITHUB_TOKEN", "ghs_contractTestToken000000000000000000".to_string()),
        ("GITHUB_REPOSITORY", "acme/app".to_string()),
        ("GITHUB_RUN_ID", "42".to_string()),
    ]);
    let approvals = fetch_approvals(&runtime).await.expect("Prism answers a valid request");
    for approval in &approvals {
        assert!(!approval.login.is_empty() && !approval.state.is_empty(), "{approval:?}");
    }
    session.assert_conforms();
    let exchanges = session.exchanges();
    assert_eq!(exchanges.len(), 1);
    assert_eq!(
        (exchanges[0].method.as_str(), exchanges[0].path.as_str()),
        ("GET", "/repos/acme/app/actions/runs/42/approvals")
    );
}
