//! The reusable deploy workflow (`.github/workflows/deploy.yml`) under act,
//! called by examples/django's caller exactly as written except for its
//! service URLs, which point at local demo services. Real parts: an
//! ephemeral PostgreSQL, the stateful fake GitHub (the run's environment
//! approvals), three demo services (staging, production, production's
//! canary), a Slack-compatible webhook receiver and, for the watch from
//! metrics, a Prometheus scraping production.
//!
//! The app's own scripts (scripts/*.sh, which deploy with Railway in the
//! example) are replaced by scripts that deploy to the demo services and
//! record each stage under $RESULT_DIR.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use serde_json::Value;
use shipgate_testkit::act::{ActOptions, ActRepo, ActRun};
use shipgate_testkit::demo_service::{Build, DemoService, DeployEvent};
use shipgate_testkit::fake_github::FakeGitHub;
use shipgate_testkit::http::{CannedResponse, RecordedRequest, ScriptedServer};
use shipgate_testkit::pg::PgCluster;
use shipgate_testkit::prometheus::Prometheus;
use shipgate_testkit::tools::workspace_root;

const OWNER: &str = "acme";
const REPO: &str = "videoplanet";
const RUN_ID: u64 = 424_242;
const ACTOR: &str = "dev-alice";
const DB_PASSWORD: &str = "e2e-Deploy-Pa55-7q2";
const WEBHOOK_SECRET: &str = "DeployHookSecret0123abcd";
const RAILWAY_TOKEN: &str = "railway-e2e-token-5f1c9a";
const EXAMPLE: &str = "examples/django";

/// The URLs in the example caller, and which demo service stands in for each.
const STAGING_URL: &str = "https://api-staging.videoplanet.example";
const PRODUCTION_URL: &str = "https://api.videoplanet.example";
const CANARY_URL: &str = "https://canary.api.videoplanet.example";

/// The app's scripts: the example's names, the demo services as targets.
const BUILD_SCRIPT: &str = r#"#!/usr/bin/env bash
set -euo pipefail
echo "build $DEPLOY_ENVIRONMENT $DEPLOY_VERSION" >>"$RESULT_DIR/stages.log"
if [[ -n "$DEPLOY_TOKEN" ]]; then echo yes >"$RESULT_DIR/deploy-token-set"; fi
"#;

const DEPLOY_SCRIPT: &str = r#"#!/usr/bin/env bash
set -euo pipefail
target="$DEPLOY_URL"
if [[ "$DEPLOY_ENVIRONMENT" == production ]]; then target="$DEMO_CANARY_URL"; fi
echo "deploy $DEPLOY_ENVIRONMENT $DEPLOY_VERSION" >>"$RESULT_DIR/stages.log"
curl -fsS -X POST "$target/deploy?build=$DEMO_BUILD&version=$DEPLOY_VERSION"
"#;

const PROMOTE_SCRIPT: &str = r#"#!/usr/bin/env bash
set -euo pipefail
echo "promote $DEPLOY_ENVIRONMENT $DEPLOY_VERSION" >>"$RESULT_DIR/stages.log"
curl -fsS -X POST "$DEPLOY_URL/deploy?build=$DEMO_BUILD&version=$DEPLOY_VERSION"
"#;

const ROLLBACK_SCRIPT: &str = r#"#!/usr/bin/env bash
set -euo pipefail
echo "rollback $DEPLOY_ENVIRONMENT promoted=$DEPLOY_PROMOTED" >>"$RESULT_DIR/stages.log"
printf '%s' "$DEPLOY_FAILURE_REASON" >"$RESULT_DIR/rollback-reason"
if [[ "$DEPLOY_ENVIRONMENT" == production ]]; then
  curl -fsS -X POST "$DEMO_CANARY_URL/rollback"
  if [[ "$DEPLOY_PROMOTED" != true ]]; then exit 0; fi
fi
curl -fsS -X POST "$DEPLOY_URL/rollback"
"#;

/// Everything one deploy run talks to.
struct Pipeline {
    cluster: PgCluster,
    github: FakeGitHub,
    receiver: ScriptedServer,
    staging: DemoService,
    production: DemoService,
    canary: DemoService,
    repo: ActRepo,
    branch: String,
}

impl Pipeline {
    /// The example app at `branch`, its services at version 1.0.0.
    fn new(branch: &str) -> Pipeline {
        let cluster = PgCluster::start().expect("starting PostgreSQL");
        cluster.create_database("videoplanet").unwrap();
        cluster
            .psql(
                "videoplanet",
                &format!("CREATE ROLE deployer LOGIN SUPERUSER PASSWORD '{DB_PASSWORD}'"),
            )
            .unwrap();
        // The server log then shows who connected: pg_dump for the backup.
        cluster
            .psql("postgres", "ALTER SYSTEM SET log_connections = on")
            .unwrap();
        cluster.psql("postgres", "SELECT pg_reload_conf()").unwrap();
        let github = FakeGitHub::start();
        github.state().add_repo(OWNER, REPO);
        let receiver = ScriptedServer::start();
        receiver.always("POST", &hook_path(), CannedResponse::text(200, "ok"));
        let staging = DemoService::start("VideoPlanet", "1.0.0");
        let production = DemoService::start("VideoPlanet", "1.0.0");
        let canary = DemoService::start("VideoPlanet", "1.0.0");

        let example = workspace_root().join(EXAMPLE);
        let caller = example.join(".github/workflows/deploy.yml");
        let repo = ActRepo::from_workflow_file(&caller);
        // Only the URLs change: every other line runs as users copy it.
        let mut workflow = fs::read_to_string(&caller).unwrap();
        for (example_url, service) in [
            (CANARY_URL, &canary),
            (STAGING_URL, &staging),
            (PRODUCTION_URL, &production),
        ] {
            assert!(workflow.contains(example_url), "{example_url} is gone from the example");
            workflow = workflow.replace(example_url, &service.url());
        }
        repo.write_file(".github/workflows/e2e.yml", &workflow);
        copy_app_files(&example, &example, repo.path());
        for (name, script) in [
            ("build", BUILD_SCRIPT),
            ("deploy", DEPLOY_SCRIPT),
            ("promote", PROMOTE_SCRIPT),
            ("rollback", ROLLBACK_SCRIPT),
        ] {
            let relative = format!("scripts/{name}.sh");
            repo.write_file(&relative, script);
            fs::set_permissions(repo.path().join(&relative), fs::Permissions::from_mode(0o755)).unwrap();
        }
        repo.git(&["checkout", "--quiet", "-b", branch]);
        Pipeline {
            cluster,
            github,
            receiver,
            staging,
            production,
            canary,
            repo,
            branch: branch.to_string(),
        }
    }

    /// Runs the caller on a push, the app scripts deploying `build`.
    fn push(&self, build: Build) -> ActRun {
        self.push_with(build, &[])
    }

    /// The caller as the app's team would set it up with the production
    /// Prometheus: `prometheus-url` and `prometheus-selector` in the caller,
    /// production scraped as `job`. Its smoke checks, though, look at
    /// `/health/` only, so probes alone would never see a broken API.
    fn watched_by_prometheus(&self, prometheus: &Prometheus, job: &str) {
        let path = self.repo.path().join(".github/workflows/e2e.yml");
        let workflow = fs::read_to_string(&path).unwrap();
        let anchor = "      smoke-checks: smoke-checks.toml\n";
        assert!(
            workflow.contains(anchor),
            "the example caller lost its smoke-checks input"
        );
        let with_prometheus = workflow.replace(
            anchor,
            &format!(
                "{anchor}      prometheus-url: {}\n      prometheus-selector: '{{job=\"{job}\"}}'\n",
                prometheus.url()
            ),
        );
        self.repo.write_file(".github/workflows/e2e.yml", &with_prometheus);
        self.repo.write_file(
            "smoke-checks.toml",
            "[[check]]\nname = \"health\"\nurl = \"/health/\"\nstatus = 200\n",
        );
        prometheus
            .scrape(job, &self.production.url())
            .expect("Prometheus scrapes production");
    }

    /// [`Pipeline::push`] with more environment variables for the run.
    fn push_with(&self, build: Build, extra_env: &[(&str, &str)]) -> ActRun {
        let database_url = format!(
            "postgres://deployer:{DB_PASSWORD}@127.0.0.1:{}/videoplanet",
            self.cluster.port()
        );
        let slack_url = format!("slack+{}{}", self.receiver.url(), hook_path());
        // What GitHub sends for a push of one commit to the branch.
        let payload = serde_json::json!({
            "ref": format!("refs/heads/{}", self.branch),
            "before": "0000000000000000000000000000000000000000",
            "after": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            "created": false,
            "deleted": false,
            "forced": false,
            "commits": [],
            "repository": {"full_name": format!("{OWNER}/{REPO}"), "name": REPO, "default_branch": "main"},
            "pusher": {"name": ACTOR},
        });
        // The caller picks the secret by branch; the other one names a
        // database that does not exist, so a wrong pick fails the run.
        let wrong_url = database_url.replace("/videoplanet", "/no_such_database");
        let (production_url, staging_url) = if self.branch == "main" {
            (database_url, wrong_url)
        } else {
            (wrong_url, database_url)
        };
        let options = ActOptions::event("push")
            .payload(payload)
            .env("GITHUB_API_URL", self.github.url())
            .env("GITHUB_REPOSITORY", format!("{OWNER}/{REPO}"))
            .env("GITHUB_RUN_ID", RUN_ID.to_string())
            .env("GITHUB_ACTOR", ACTOR)
            // One error-rate window is how long the canary is compared and
            // production watched: a few seconds here instead of 5 minutes.
            .env("SHIPGATE_SMOKE_ERROR_RATE_WINDOW", "3s")
            .env("SHIPGATE_SMOKE_P95_WINDOW", "3s")
            // At 2 requests a second, 3 s gives 6 samples a side.
            .env("SHIPGATE_SMOKE_MIN_SAMPLES", "5")
            .env("DEMO_BUILD", if build == Build::Good { "good" } else { "bad" })
            .env("DEMO_CANARY_URL", self.canary.url())
            .secret("GITHUB_TOKEN", self.github.token())
            .secret("PRODUCTION_DATABASE_URL", production_url)
            .secret("STAGING_DATABASE_URL", staging_url)
            .secret("RAILWAY_TOKEN", RAILWAY_TOKEN)
            .secret("SLACK_WEBHOOK_URL", slack_url);
        let options = extra_env
            .iter()
            .fold(options, |options, (name, value)| options.env(name, *value));
        self.repo.run(&options)
    }

    /// The production environment's reviewers approved this run.
    fn approve(&self, reviewers: &[&str]) {
        let mut state = self.github.state();
        for reviewer in reviewers {
            state.seed_run_approval(OWNER, REPO, RUN_ID, reviewer, "approved", "production");
        }
    }

    /// `(event, status, environment)` of every notification, in order.
    fn notifications(&self) -> Vec<(String, String, String)> {
        self.receiver
            .requests_to("POST", &hook_path())
            .iter()
            .map(|request| {
                let fields = slack_fields(request);
                let event = if fields.contains_key("Severity") {
                    "incident"
                } else {
                    "deploy"
                };
                (
                    event.to_string(),
                    fields.get("Status").cloned().unwrap_or_default(),
                    fields.get("Environment").cloned().unwrap_or_default(),
                )
            })
            .collect()
    }

    fn applied_migrations(&self) -> String {
        self.cluster
            .psql(
                "videoplanet",
                "SELECT string_agg(version, ',' ORDER BY version) FROM shipgate_migrations WHERE success",
            )
            .unwrap()
            .trim()
            .to_string()
    }

    /// Whether pg_dump connected to the app's database (the server's log).
    fn backed_up(&self) -> bool {
        self.cluster
            .log()
            .lines()
            .any(|line| line.contains("connection authorized") && line.contains("application_name=pg_dump"))
    }

    fn approval_lookups(&self) -> usize {
        self.github
            .state()
            .requests_to("GET", &format!("/repos/{OWNER}/{REPO}/actions/runs/{RUN_ID}/approvals"))
            .len()
    }

    fn stages(&self, run: &ActRun) -> Vec<String> {
        self.repo
            .result("stages.log", run)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// No secret reached act's log (lines registering masks aside).
    fn assert_no_secret_leaked(&self, run: &ActRun) {
        for line in run.log.lines().filter(|line| !line.contains("::add-mask::")) {
            for secret in [DB_PASSWORD, WEBHOOK_SECRET, RAILWAY_TOKEN] {
                assert!(!line.contains(secret), "a secret reached act's log: {line}");
            }
        }
    }
}

fn hook_path() -> String {
    format!("/services/T0VIDEO/B0DEPLOY/{WEBHOOK_SECRET}")
}

/// The example app's files (shipgate.toml, checks, migrations), not its
/// workflows or scripts.
fn copy_app_files(root: &Path, dir: &Path, repo: &Path) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let relative = path.strip_prefix(root).unwrap();
        if relative.starts_with(".github") || relative.starts_with("scripts") {
            continue;
        }
        if path.is_dir() {
            copy_app_files(root, &path, repo);
        } else {
            let target = repo.join(relative);
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::copy(&path, &target).unwrap();
        }
    }
}

/// The `*Name*\nvalue` fields of a Slack message's attachment.
fn slack_fields(request: &RecordedRequest) -> std::collections::BTreeMap<String, String> {
    let body: Value = request.body_json().unwrap();
    body["attachments"][0]["blocks"][0]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no fields in the Slack message: {body}"))
        .iter()
        .filter_map(|field| {
            let (name, value) = field["text"].as_str()?.split_once('\n')?;
            Some((name.trim_matches('*').to_string(), value.to_string()))
        })
        .collect()
}

fn deploy_notification(status: &str, environment: &str) -> (String, String, String) {
    ("deploy".into(), status.into(), environment.into())
}

#[test]
fn a_develop_push_migrates_deploys_and_smoke_tests_staging() {
    let pipeline = Pipeline::new("develop");
    let run = pipeline.push(Build::Good);
    assert!(run.success, "act failed; its output:\n{}", run.log);

    let stages = pipeline.stages(&run);
    assert_eq!(stages.len(), 2, "{stages:?}");
    assert!(stages[0].starts_with("build staging "), "{stages:?}");
    assert!(stages[1].starts_with("deploy staging "), "{stages:?}");
    assert_eq!(pipeline.repo.result("deploy-token-set", &run).trim(), "yes");
    // Seed 003: staging applies automatically, without approvals or backup.
    assert_eq!(pipeline.applied_migrations(), "0001,0002");
    assert_eq!(pipeline.approval_lookups(), 0);
    assert!(!pipeline.backed_up(), "{}", pipeline.cluster.log());
    assert!(!run.log.contains("backup written to"), "{}", run.log);
    assert!(
        run.log.contains("smoke-tester") && run.log.contains("ready after"),
        "{}",
        run.log
    );

    assert!(matches!(
        pipeline.staging.events()[..],
        [DeployEvent::Deployed { build: Build::Good, .. }]
    ));
    assert!(pipeline.production.events().is_empty());
    assert!(pipeline.canary.events().is_empty());
    assert_eq!(
        pipeline.notifications(),
        [
            deploy_notification("started", "staging"),
            deploy_notification("succeeded", "staging"),
        ]
    );
    pipeline.assert_no_secret_leaked(&run);
}

#[test]
fn an_approved_main_push_backs_up_migrates_and_canaries_production() {
    let pipeline = Pipeline::new("main");
    pipeline.approve(&["release-manager"]);
    let run = pipeline.push(Build::Good);
    assert!(run.success, "act failed; its output:\n{}", run.log);

    let stages = pipeline.stages(&run);
    assert_eq!(stages.len(), 3, "{stages:?}");
    assert!(stages[0].starts_with("build production "), "{stages:?}");
    assert!(stages[1].starts_with("deploy production "), "{stages:?}");
    assert!(stages[2].starts_with("promote production "), "{stages:?}");
    // Seed 003: production applies with a review, after a backup.
    assert!(pipeline.approval_lookups() >= 1);
    assert_eq!(pipeline.applied_migrations(), "0001,0002");
    assert!(
        pipeline.backed_up(),
        "pg_dump never connected:\n{}",
        pipeline.cluster.log()
    );
    assert!(run.log.contains("backup written to"), "{}", run.log);
    // compare sampled the canary's health endpoint (nothing else reads it);
    // watch then sampled production's checks for the window.
    assert!(pipeline.canary.served("/health/") >= 3, "{}", run.log);
    assert!(pipeline.production.served("/api/v1/projects/") >= 3, "{}", run.log);

    // The canary got the build first, then production.
    assert!(matches!(
        pipeline.canary.events()[..],
        [DeployEvent::Deployed { build: Build::Good, .. }]
    ));
    assert!(matches!(
        pipeline.production.events()[..],
        [DeployEvent::Deployed { build: Build::Good, .. }]
    ));
    assert!(pipeline.staging.events().is_empty());
    // Once per stage: started, then succeeded; no incident.
    assert_eq!(
        pipeline.notifications(),
        [
            deploy_notification("started", "production"),
            deploy_notification("succeeded", "production"),
        ]
    );
    pipeline.assert_no_secret_leaked(&run);
}

#[test]
fn a_bad_production_build_is_rolled_back_and_reported_while_the_migrations_stay() {
    let pipeline = Pipeline::new("main");
    // One approval is the production review; rolling migrations back needs
    // two approvers other than the actor (seed 003), so they stay.
    pipeline.approve(&["release-manager"]);
    let run = pipeline.push(Build::Bad);
    assert!(!run.success, "the deploy should have failed; act output:\n{}", run.log);

    let stages = pipeline.stages(&run);
    assert_eq!(stages.len(), 4, "{stages:?}");
    assert!(stages[2].starts_with("promote production "), "{stages:?}");
    // The health endpoint of the bad build is fine, so the canary comparison
    // passes; the watch over every smoke check catches the API errors.
    assert_eq!(stages[3], "rollback production promoted=true", "{stages:?}");
    let reason = pipeline.repo.result("rollback-reason", &run);
    assert!(reason.starts_with("the watch called for a rollback: "), "{reason}");
    assert!(
        reason.contains("error rate") || reason.contains("consecutive"),
        "{reason}"
    );

    assert_eq!(pipeline.production.build(), Build::Good);
    assert_eq!(pipeline.production.version(), "1.0.0");
    assert!(matches!(
        pipeline.production.events()[..],
        [
            DeployEvent::Deployed { build: Build::Bad, .. },
            DeployEvent::RolledBack { build: Build::Good, .. }
        ]
    ));
    assert_eq!(pipeline.canary.build(), Build::Good);

    // The policy refused `down`: both migrations and their rows are still there.
    assert_eq!(pipeline.applied_migrations(), "0001,0002");
    assert_eq!(
        pipeline
            .cluster
            .psql(
                "videoplanet",
                "SELECT count(*) FROM information_schema.columns WHERE table_name = 'projects' AND column_name = 'status'"
            )
            .unwrap()
            .trim(),
        "1"
    );
    assert!(
        run.log.contains("rollback policy refused migrate-runner down"),
        "{}",
        run.log
    );

    let notifications = pipeline.notifications();
    assert_eq!(
        notifications,
        [
            deploy_notification("started", "production"),
            deploy_notification("rolled-back", "production"),
            ("incident".into(), "investigating".into(), "production".into()),
        ]
    );
    let incident = pipeline.receiver.requests_to("POST", &hook_path())[2]
        .body_json()
        .unwrap();
    let text = incident["text"].as_str().unwrap();
    assert!(text.contains("[P1] videoplanet"), "{text}");
    assert!(text.contains("the watch called for a rollback"), "{text}");
    pipeline.assert_no_secret_leaked(&run);
}

#[test]
fn a_bad_build_behind_healthy_probes_is_rolled_back_on_prometheus_metrics() {
    let prometheus = Prometheus::start().unwrap_or_else(|error| panic!("{error:#}"));
    let pipeline = Pipeline::new("main");
    pipeline.approve(&["release-manager"]);
    pipeline.watched_by_prometheus(&prometheus, "videoplanet-api");
    // Users keep using production while it is deployed and watched.
    let _users = pipeline.production.traffic(20);
    let run = pipeline.push_with(Build::Bad, &[("SHIPGATE_SMOKE_PROMETHEUS_INTERVAL", "300ms")]);
    assert!(!run.success, "the deploy should have failed; act output:\n{}", run.log);

    let stages = pipeline.stages(&run);
    assert_eq!(stages.len(), 4, "{stages:?}");
    assert_eq!(stages[3], "rollback production promoted=true", "{stages:?}");
    // /health/ is fine on the bad build: the verdict is Prometheus'.
    let reason = pipeline.repo.result("rollback-reason", &run);
    assert!(
        reason.starts_with("the watch called for a rollback: Prometheus: error rate ")
            && reason.contains(" above 5.0% in 3 consecutive measurements"),
        "{reason}"
    );
    assert_eq!(pipeline.production.build(), Build::Good);
    assert!(matches!(
        pipeline.production.events()[..],
        [
            DeployEvent::Deployed { build: Build::Bad, .. },
            DeployEvent::RolledBack { build: Build::Good, .. }
        ]
    ));
    assert_eq!(
        pipeline.notifications()[1],
        deploy_notification("rolled-back", "production")
    );
    pipeline.assert_no_secret_leaked(&run);
}

#[test]
fn a_main_push_without_the_production_review_changes_nothing() {
    let pipeline = Pipeline::new("main");
    // A `production` environment without required reviewers: the run exists
    // and has no approvals (the fake knows only runs it was told about).
    pipeline
        .github
        .state()
        .repo_mut(OWNER, REPO)
        .run_approvals
        .insert(RUN_ID, Vec::new());
    let run = pipeline.push(Build::Good);
    assert!(
        !run.success,
        "production migrated without a review; act output:\n{}",
        run.log
    );

    // The plan asked GitHub for the run's approvals and found none.
    assert!(pipeline.approval_lookups() >= 1);
    assert!(run.log.contains("needs 1 distinct environment approver"), "{}", run.log);
    let stages = pipeline.stages(&run);
    assert_eq!(stages.len(), 1, "only the build ran: {stages:?}");
    assert!(stages[0].starts_with("build production "), "{stages:?}");
    assert_eq!(
        pipeline
            .cluster
            .psql("videoplanet", "SELECT to_regclass('shipgate_migrations') IS NULL")
            .unwrap()
            .trim(),
        "t"
    );
    assert!(!pipeline.backed_up());
    assert!(pipeline.production.events().is_empty());
    assert!(pipeline.canary.events().is_empty());
    // Nothing was deployed: a failed deploy, but no incident.
    assert_eq!(
        pipeline.notifications(),
        [
            deploy_notification("started", "production"),
            deploy_notification("failed", "production"),
        ]
    );
    pipeline.assert_no_secret_leaked(&run);
}
