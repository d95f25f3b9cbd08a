//! The fake GitHub answers like GitHub: shapes, errors, faults, pagination.

use serde_json::{Value, json};
use shipgate_testkit::FakeGitHub;
use shipgate_testkit::fake_github::Fault;
use shipgate_testkit::http::{self, FetchedResponse};

fn call(fake: &FakeGitHub, method: &str, path: &str, body: Option<Value>) -> FetchedResponse {
    let auth = format!("Bearer {}", fake.token());
    http::request(
        method,
        &format!("{}{path}", fake.url()),
        &[
            ("authorization", auth.as_str()),
            ("accept", "application/vnd.github+json"),
            ("content-type", "application/json"),
        ],
        body.map(|body| body.to_string().into_bytes()),
    )
    .expect("request reaches the fake")
}

fn json_of(response: &FetchedResponse) -> Value {
    response.json().expect("JSON body")
}

#[test]
fn repository_has_githubs_shape() {
    let fake = FakeGitHub::with_repo("acme", "widgets");
    let response = call(&fake, "GET", "/repos/acme/widgets", None);
    assert_eq!(response.status, 200);
    let repo = json_of(&response);
    assert_eq!(repo["full_name"], "acme/widgets");
    assert_eq!(repo["default_branch"], "main");
    assert_eq!(repo["private"], false);
    assert_eq!(repo["owner"]["login"], "acme");
}

#[test]
fn authentication_is_required_and_checked() {
    let fake = FakeGitHub::with_repo("acme", "widgets");
    let url = format!("{}/repos/acme/widgets", fake.url());

    let anonymous = http::get(&url).expect("get");
    assert_eq!(anonymous.status, 401);
    assert_eq!(json_of(&anonymous)["message"], "Requires authentication");

    let wrong = http::request("GET", &url, &[("authorization", "Bearer nope")], None).expect("get");
    assert_eq!(wrong.status, 401);
    let body = json_of(&wrong);
    assert_eq!(body["message"], "Bad credentials");
    assert!(body["documentation_url"].is_string());

    let legacy_scheme = format!("token {}", fake.token());
    let accepted = http::request("GET", &url, &[("authorization", legacy_scheme.as_str())], None).expect("get");
    assert_eq!(accepted.status, 200);
}

#[test]
fn unknown_repositories_and_routes_are_not_found() {
    let fake = FakeGitHub::with_repo("acme", "widgets");
    for path in ["/repos/acme/nope", "/repos/acme/widgets/no-such-endpoint"] {
        let response = call(&fake, "GET", path, None);
        assert_eq!(response.status, 404, "{path}");
        assert_eq!(json_of(&response)["message"], "Not Found");
    }
}

#[test]
fn releases_are_created_found_updated_and_validated() {
    let fake = FakeGitHub::with_repo("acme", "widgets");
    let created = call(
        &fake,
        "POST",
        "/repos/acme/widgets/releases",
        Some(json!({"tag_name": "v1.0.0", "name": "v1.0.0", "body": "notes", "draft": true})),
    );
    assert_eq!(created.status, 201);
    let release = json_of(&created);
    let id = release["id"].as_u64().expect("id");
    assert_eq!(release["draft"], true);
    assert_eq!(release["author"]["login"], "shipgate-bot");
    assert_eq!(release["target_commitish"], "main");
    assert_eq!(created.header("location"), release["url"].as_str());

    // Like GitHub, a draft is not found by its tag.
    let by_tag = call(&fake, "GET", "/repos/acme/widgets/releases/tags/v1.0.0", None);
    assert_eq!(by_tag.status, 404);

    let duplicate = call(
        &fake,
        "POST",
        "/repos/acme/widgets/releases",
        Some(json!({"tag_name": "v1.0.0"})),
    );
    assert_eq!(duplicate.status, 422);
    let error = json_of(&duplicate);
    assert_eq!(error["message"], "Validation Failed");
    assert_eq!(error["errors"][0]["code"], "already_exists");

    let wrong_type = call(
        &fake,
        "POST",
        "/repos/acme/widgets/releases",
        Some(json!({"tag_name": 5})),
    );
    assert_eq!(wrong_type.status, 422);
    let not_json = http::request(
        "POST",
        &format!("{}/repos/acme/widgets/releases", fake.url()),
        &[("authorization", &format!("Bearer {}", fake.token()))],
        Some(b"{".to_vec()),
    )
    .expect("post");
    assert_eq!(not_json.status, 400);
    assert_eq!(json_of(&not_json)["message"], "Problems parsing JSON");

    let published = call(
        &fake,
        "PATCH",
        &format!("/repos/acme/widgets/releases/{id}"),
        Some(json!({"draft": false})),
    );
    assert_eq!(published.status, 200);
    assert!(json_of(&published)["published_at"].is_string());
    let by_tag = call(&fake, "GET", "/repos/acme/widgets/releases/tags/v1.0.0", None);
    assert_eq!(by_tag.status, 200);
    assert_eq!(json_of(&by_tag)["body"], "notes");
    let latest = call(&fake, "GET", "/repos/acme/widgets/releases/latest", None);
    assert_eq!(json_of(&latest)["tag_name"], "v1.0.0");

    let state = fake.state();
    let stored = &state.repo("acme", "widgets").expect("repo").releases;
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].draft);
}

#[test]
fn release_lists_paginate_with_link_headers() {
    let fake = FakeGitHub::with_repo("acme", "widgets");
    for minor in 0..5 {
        fake.state()
            .seed_release("acme", "widgets", &format!("v1.{minor}.0"), false);
    }
    let first = call(&fake, "GET", "/repos/acme/widgets/releases?per_page=2", None);
    let tags: Vec<Value> = json_of(&first)
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["tag_name"].clone())
        .collect();
    assert_eq!(tags, vec![json!("v1.4.0"), json!("v1.3.0")], "newest first");
    let link = first.header("link").expect("link header");
    assert!(link.contains("per_page=2&page=2>; rel=\"next\""), "{link}");
    assert!(link.contains("page=3>; rel=\"last\""), "{link}");

    let last = call(&fake, "GET", "/repos/acme/widgets/releases?per_page=2&page=3", None);
    assert_eq!(json_of(&last).as_array().expect("array").len(), 1);
    assert!(!last.header("link").unwrap_or_default().contains("rel=\"next\""));
}

#[test]
fn pull_requests_are_created_filtered_and_reviewed() {
    let fake = FakeGitHub::with_repo("acme", "widgets");
    let created = call(
        &fake,
        "POST",
        "/repos/acme/widgets/pulls",
        Some(json!({"title": "Release v1.1.0", "head": "release/v1.1.0", "base": "main"})),
    );
    assert_eq!(created.status, 201);
    let pull = json_of(&created);
    let number = pull["number"].as_u64().expect("number");
    assert_eq!(pull["state"], "open");
    assert_eq!(pull["head"]["ref"], "release/v1.1.0");
    assert_eq!(pull["base"]["repo"]["full_name"], "acme/widgets");

    let duplicate = call(
        &fake,
        "POST",
        "/repos/acme/widgets/pulls",
        Some(json!({"title": "again", "head": "acme:release/v1.1.0", "base": "main"})),
    );
    assert_eq!(duplicate.status, 422);
    assert_eq!(
        json_of(&duplicate)["errors"][0]["message"],
        "A pull request already exists for acme:release/v1.1.0."
    );

    let missing_field = call(
        &fake,
        "POST",
        "/repos/acme/widgets/pulls",
        Some(json!({"title": "no head", "base": "main"})),
    );
    assert_eq!(missing_field.status, 422);

    let found = call(
        &fake,
        "GET",
        "/repos/acme/widgets/pulls?head=acme:release/v1.1.0&base=main&state=open",
        None,
    );
    assert_eq!(json_of(&found).as_array().expect("array").len(), 1);
    let other_head = call(&fake, "GET", "/repos/acme/widgets/pulls?head=acme:nope", None);
    assert_eq!(json_of(&other_head), json!([]));
    let closed = call(&fake, "GET", "/repos/acme/widgets/pulls?state=closed", None);
    assert_eq!(json_of(&closed), json!([]));

    fake.state().seed_review("acme", "widgets", number, "alice", "APPROVED");
    let reviews = call(
        &fake,
        "GET",
        &format!("/repos/acme/widgets/pulls/{number}/reviews"),
        None,
    );
    let reviews = json_of(&reviews);
    assert_eq!(reviews[0]["state"], "APPROVED");
    assert_eq!(reviews[0]["user"]["login"], "alice");
    assert_eq!(reviews[0]["commit_id"], pull["head"]["sha"]);

    let single = call(&fake, "GET", &format!("/repos/acme/widgets/pulls/{number}"), None);
    assert_eq!(json_of(&single)["title"], "Release v1.1.0");
    assert_eq!(call(&fake, "GET", "/repos/acme/widgets/pulls/999", None).status, 404);
}

#[test]
fn check_runs_and_statuses_resolve_branches_and_keep_the_latest() {
    let fake = FakeGitHub::with_repo("acme", "widgets");
    let sha = {
        let mut state = fake.state();
        let sha = state.repo("acme", "widgets").expect("repo").branches["main"].clone();
        state.seed_check_run("acme", "widgets", &sha, "build", "completed", Some("failure"));
        state.seed_check_run("acme", "widgets", &sha, "build", "completed", Some("success"));
        state.seed_check_run("acme", "widgets", &sha, "lint", "in_progress", None);
        state.seed_check_run("acme", "widgets", "0123abc", "build", "completed", Some("failure"));
        state.seed_status("acme", "widgets", &sha, "ci/legacy", "pending");
        state.seed_status("acme", "widgets", &sha, "ci/legacy", "success");
        state.seed_status("acme", "widgets", &sha, "deploy/preview", "success");
        sha
    };

    let runs = json_of(&call(&fake, "GET", "/repos/acme/widgets/commits/main/check-runs", None));
    assert_eq!(runs["total_count"], 2, "latest run per name");
    let build = runs["check_runs"]
        .as_array()
        .expect("array")
        .iter()
        .find(|run| run["name"] == "build")
        .expect("build run");
    assert_eq!(build["conclusion"], "success");
    assert_eq!(build["head_sha"], sha.as_str());

    let all = json_of(&call(
        &fake,
        "GET",
        &format!("/repos/acme/widgets/commits/{sha}/check-runs?filter=all&check_name=build"),
        None,
    ));
    assert_eq!(all["total_count"], 2);

    let status = json_of(&call(&fake, "GET", "/repos/acme/widgets/commits/main/status", None));
    assert_eq!(status["state"], "success");
    assert_eq!(status["total_count"], 2);
    assert_eq!(status["sha"], sha.as_str());

    fake.state()
        .seed_status("acme", "widgets", &sha, "deploy/preview", "failure");
    let status = json_of(&call(&fake, "GET", "/repos/acme/widgets/commits/main/status", None));
    assert_eq!(status["state"], "failure");
}

#[test]
fn branch_protection_round_trips_in_githubs_response_shape() {
    let fake = FakeGitHub::with_repo("acme", "widgets");
    let path = "/repos/acme/widgets/branches/main/protection";
    let unprotected = call(&fake, "GET", path, None);
    assert_eq!(unprotected.status, 404);
    assert_eq!(json_of(&unprotected)["message"], "Branch not protected");

    let incomplete = call(
        &fake,
        "PUT",
        path,
        Some(json!({"required_status_checks": null, "enforce_admins": true})),
    );
    assert_eq!(incomplete.status, 422);
    assert!(
        json_of(&incomplete)["message"]
            .as_str()
            .expect("message")
            .contains("required_pull_request_reviews")
    );

    let put = call(
        &fake,
        "PUT",
        path,
        Some(json!({
            "required_status_checks": {"strict": true, "contexts": ["ci/build"]},
            "enforce_admins": true,
            "required_pull_request_reviews": {"required_approving_review_count": 2, "dismiss_stale_reviews": true},
            "restrictions": null,
            "required_linear_history": true,
        })),
    );
    assert_eq!(put.status, 200);
    let got = json_of(&call(&fake, "GET", path, None));
    assert_eq!(got, json_of(&put));
    assert_eq!(got["required_status_checks"]["contexts"], json!(["ci/build"]));
    assert_eq!(got["required_status_checks"]["checks"][0]["context"], "ci/build");
    assert_eq!(got["enforce_admins"]["enabled"], true);
    assert_eq!(
        got["required_pull_request_reviews"]["required_approving_review_count"],
        2
    );
    assert_eq!(got["required_linear_history"]["enabled"], true);
    assert_eq!(got["allow_force_pushes"]["enabled"], false);
    assert!(got.get("restrictions").is_none());
}

#[test]
fn run_approvals_and_issue_comments() {
    let fake = FakeGitHub::with_repo("acme", "widgets");
    fake.state()
        .seed_run_approval("acme", "widgets", 77, "carol", "approved", "production");
    let approvals = json_of(&call(
        &fake,
        "GET",
        "/repos/acme/widgets/actions/runs/77/approvals",
        None,
    ));
    assert_eq!(approvals[0]["state"], "approved");
    assert_eq!(approvals[0]["user"]["login"], "carol");
    assert_eq!(approvals[0]["environments"][0]["name"], "production");
    assert_eq!(
        call(&fake, "GET", "/repos/acme/widgets/actions/runs/78/approvals", None).status,
        404
    );

    let number = fake
        .state()
        .seed_pull("acme", "widgets", "feature", "main", "Add feature");
    let comment_path = format!("/repos/acme/widgets/issues/{number}/comments");
    let posted = call(
        &fake,
        "POST",
        &comment_path,
        Some(json!({"body": "Deployed to staging"})),
    );
    assert_eq!(posted.status, 201);
    let comment = json_of(&posted);
    assert_eq!(comment["user"]["login"], "shipgate-bot");
    let id = comment["id"].as_u64().expect("id");

    let edited = call(
        &fake,
        "PATCH",
        &format!("/repos/acme/widgets/issues/comments/{id}"),
        Some(json!({"body": "Deployed to production"})),
    );
    assert_eq!(edited.status, 200);
    let listed = json_of(&call(&fake, "GET", &comment_path, None));
    assert_eq!(listed.as_array().expect("array").len(), 1);
    assert_eq!(listed[0]["body"], "Deployed to production");

    assert_eq!(
        call(
            &fake,
            "POST",
            "/repos/acme/widgets/issues/999/comments",
            Some(json!({"body": "x"}))
        )
        .status,
        404
    );
    assert_eq!(
        call(&fake, "POST", &comment_path, Some(json!({"text": "wrong field"}))).status,
        422
    );
}

#[test]
fn queued_faults_are_served_before_normal_answers_and_recorded() {
    let fake = FakeGitHub::with_repo("acme", "widgets");
    fake.state().fail_next("/repos/acme/widgets", vec![502, 503]);
    let statuses: Vec<u16> = (0..3)
        .map(|_| call(&fake, "GET", "/repos/acme/widgets", None).status)
        .collect();
    assert_eq!(statuses, vec![502, 503, 200]);

    fake.state()
        .secondary_rate_limit_next("/repos/acme/widgets/releases", 1, 1);
    let limited = call(&fake, "GET", "/repos/acme/widgets/releases", None);
    assert_eq!(limited.status, 403);
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert!(
        json_of(&limited)["message"]
            .as_str()
            .expect("message")
            .starts_with("You have exceeded a secondary rate limit")
    );
    // A fault for one prefix leaves other paths alone.
    assert_eq!(call(&fake, "GET", "/repos/acme/widgets", None).status, 200);
    assert_eq!(call(&fake, "GET", "/repos/acme/widgets/releases", None).status, 200);

    fake.state()
        .queue_faults("/repos/acme/widgets", [Fault::PrimaryRateLimit { reset_in_secs: 30 }]);
    let primary = call(&fake, "GET", "/repos/acme/widgets", None);
    assert_eq!(primary.status, 403);
    assert_eq!(primary.header("x-ratelimit-remaining"), Some("0"));

    let state = fake.state();
    let recorded = state.requests_to("GET", "/repos/acme/widgets");
    let recorded_statuses: Vec<u16> = recorded.iter().map(|r| r.status).collect();
    assert_eq!(recorded_statuses, vec![502, 503, 200, 403, 200, 200, 403]);
    assert_eq!(
        recorded[0].header("authorization"),
        Some(format!("Bearer {}", fake.token()).as_str())
    );
}

#[test]
fn request_bodies_are_recorded_as_json() {
    let fake = FakeGitHub::with_repo("acme", "widgets");
    call(
        &fake,
        "POST",
        "/repos/acme/widgets/releases",
        Some(json!({"tag_name": "v2.0.0"})),
    );
    let posts = fake.state().requests_to("POST", "/repos/acme/widgets/releases");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].body, Some(json!({"tag_name": "v2.0.0"})));
    assert_eq!(posts[0].status, 201);
}
