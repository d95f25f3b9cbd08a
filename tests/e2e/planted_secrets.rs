//! A password, a token and a query secret planted in every input of every
//! tool (URLs with userinfo and query, bearer headers, GitHub tokens,
//! database and target URLs, git remotes) must come out of no output format:
//! result lines, `--json`, `--junit`, `--tap`, `--report`, job summaries,
//! step outputs, annotations and error lines, in and out of Actions. The only
//! place they may appear is an `::add-mask::` line carrying the secret alone.

use std::path::Path;
use std::process::Command;

use shipgate_testkit::git::GitFixture;
use shipgate_testkit::http::{CannedResponse, ScriptedServer};
use shipgate_testkit::planted::{self, ActionsFiles, Outcome, PASSWORD, QUERY_SECRET, TOKEN};
use shipgate_testkit::shipgate_bin;

/// One tool invocation of the sweep.
struct Case<'a> {
    label: String,
    tool: &'static str,
    args: Vec<String>,
    env: Vec<(String, String)>,
    reports: Vec<&'static str>,
    /// The exit code that shows the path meant (failure, bad input) was taken.
    code: i32,
    /// Runs before each invocation, so both take the same path.
    before: Option<Box<dyn Fn() + 'a>>,
}

fn case<'a>(label: &str, tool: &'static str, args: &[&str], code: i32) -> Case<'a> {
    Case {
        label: label.to_owned(),
        tool,
        args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        env: Vec::new(),
        reports: Vec::new(),
        code,
        before: None,
    }
}

impl<'a> Case<'a> {
    fn env(mut self, name: &str, value: &str) -> Case<'a> {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    fn reports(mut self, reports: &[&'static str]) -> Case<'a> {
        self.reports.extend(reports);
        self
    }

    fn run(&self, dir: &Path, actions: Option<&ActionsFiles>) -> Outcome {
        if let Some(before) = &self.before {
            before();
        }
        let mut command = Command::new(shipgate_bin(self.tool));
        command.args(&self.args).env("GIT_TERMINAL_PROMPT", "0");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        planted::run(
            &format!("{} {}", self.tool, self.label),
            command,
            dir,
            actions,
            &self.reports,
        )
    }
}

/// `http://user:PASSWORD@host:port/path?token=QUERY_SECRET&page=1` on `base`.
fn with_credentials(base: &str, path: &str) -> String {
    format!(
        "{}{path}?token={QUERY_SECRET}&page=1",
        base.replacen("://", &format!("://deployer:{PASSWORD}@"), 1)
    )
}

fn smoke_tester_cases<'a>(service: &str, dir: &Path) -> Vec<Case<'a>> {
    let url = with_credentials(service, "/health");
    let healthy = with_credentials(service, "/ok");
    let bearer = format!("Authorization: Bearer {TOKEN}");
    std::fs::write(
        dir.join("checks.toml"),
        "[[check]]\nname = \"health\"\nurl = \"{{ env.SMOKE_URL }}\"\nretries = 0\n\
         headers = { Authorization = \"Bearer {{ env.SMOKE_TOKEN }}\" }\n",
    )
    .expect("checks file");
    let reports = ["out/junit.xml", "out/report.tap", "out/report.json"];
    let report_flags = ["--junit", reports[0], "--tap", reports[1], "--report", reports[2]];
    let with_reports = |label: &str, args: &[&str], code: i32| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(report_flags);
        case(label, "smoke-tester", &all, code).reports(&reports)
    };
    let closed = with_credentials("http://127.0.0.1:1", "/health");
    let bad_scheme = with_credentials("ftp://127.0.0.1:1", "/file");
    let unparsable = with_credentials("http://[bad", "/health");
    vec![
        with_reports("check", &["check", &url, "-H", &bearer, "--retries", "0"], 1),
        with_reports(
            "check --json",
            &["check", &url, "-H", &bearer, "--retries", "0", "--json"],
            1,
        ),
        with_reports("check refused", &["check", &closed, "--retries", "0"], 1),
        with_reports(
            "wait",
            &[
                "wait",
                &url,
                "-H",
                &bearer,
                "--timeout",
                "1s",
                "--poll-interval",
                "200ms",
            ],
            1,
        ),
        with_reports(
            "watch",
            &["watch", &url, "-H", &bearer, "--duration", "1s", "--rate", "10/s"],
            1,
        ),
        with_reports(
            "compare",
            &[
                "compare",
                "--canary",
                &url,
                "--baseline",
                &healthy,
                "--duration",
                "1s",
                "--rate",
                "5/s",
            ],
            1,
        ),
        with_reports("run", &["run", "--checks", "checks.toml"], 1)
            .env("SMOKE_URL", &url)
            .env("SMOKE_TOKEN", TOKEN),
        case("check bad scheme", "smoke-tester", &["check", &bad_scheme], 2),
        case("check unparsable URL", "smoke-tester", &["check", &unparsable], 2),
    ]
}

fn notify_cases<'a>(receiver: &str) -> Vec<Case<'a>> {
    let hook = format!(
        "{}/hook/{TOKEN}?sig={QUERY_SECRET}",
        receiver.replacen("http://", "json://", 1)
    );
    let refused = format!("json://127.0.0.1:1/hook/{TOKEN}?sig={QUERY_SECRET}");
    let smtp = format!("smtp://bot:{PASSWORD}@127.0.0.1:9?tls=none&from=ci@acme.test&to=ops@acme.test&optional=yes");
    let deploy = |label: &str, extra: &[&str], code: i32| {
        let mut args = vec!["deploy", "--status", "failed", "--environment", "production"];
        args.extend(extra);
        case(label, "notify", &args, code).env("SHIPGATE_NOTIFY_TIMEOUT", "3s")
    };
    vec![
        deploy("deploy", &["--to", &hook, "--to", &smtp], 1),
        deploy("deploy --json", &["--to", &hook, "--to", &smtp, "--json"], 1),
        deploy("deploy --dry-run", &["--to", &hook, "--to", &smtp, "--dry-run"], 0),
        deploy("deploy refused", &["--to", &refused], 3),
    ]
}

fn migrate_runner_cases<'a>(dir: &Path) -> Vec<Case<'a>> {
    std::fs::create_dir_all(dir.join("migrations")).expect("migrations dir");
    let database = format!("postgres://deployer:{PASSWORD}@127.0.0.1:1/shop?application_name={QUERY_SECRET}");
    std::fs::write(
        dir.join("shipgate.toml"),
        format!("[migrate]\ndefault_database_url = \"{database}\"\n"),
    )
    .expect("shipgate.toml");
    vec![
        case("status", "migrate-runner", &["status"], 3).env("DATABASE_URL", &database),
        case("status --json", "migrate-runner", &["status", "--json"], 3).env("DATABASE_URL", &database),
        case("config", "migrate-runner", &["config"], 0),
        case("config --json", "migrate-runner", &["config", "--json"], 0),
    ]
}

fn branch_guard_cases<'a>() -> Vec<Case<'a>> {
    let api = with_credentials("http://127.0.0.1:1", "/api/v3");
    vec![
        case(
            "pr",
            "branch-guard",
            &["pr", "--repo", "acme/app", "--head", "hotfix/1.2.1", "--base", "main"],
            3,
        )
        .env("GITHUB_API_URL", &api)
        .env("GITHUB_TOKEN", TOKEN),
        case("branch", "branch-guard", &["branch", "Feature/Login"], 1),
    ]
}

fn release_tagger_cases(repo: &GitFixture) -> Vec<Case<'_>> {
    repo.commit("feat: first feature");
    let remote = with_credentials("http://127.0.0.1:1", "/acme/app.git");
    repo.run_git(&["remote", "add", "origin", &remote]);
    let mut push = case("tag --push", "release-tagger", &["tag", "--push"], 3).env("GITHUB_TOKEN", TOKEN);
    // The push fails, so the tag stays local; each run starts without it.
    push.before = Some(Box::new(move || {
        for tag in repo.run_git(&["tag", "--list"]).lines() {
            repo.run_git(&["tag", "--delete", tag.trim()]);
        }
    }));
    vec![push]
}

#[test]
fn no_tool_shows_a_planted_password_token_or_query_secret_anywhere() {
    let service = ScriptedServer::start();
    service.always(
        "GET",
        "/health",
        CannedResponse::text(503, format!("down; your token was {QUERY_SECRET}")),
    );
    service.always("GET", "/ok", CannedResponse::text(200, "ok"));
    let receiver = ScriptedServer::start();
    receiver.always(
        "POST",
        &format!("/hook/{TOKEN}"),
        CannedResponse::text(400, format!("bad signature {QUERY_SECRET} for {TOKEN}")),
    );
    let work = tempfile::tempdir().expect("work dir");
    let repo = GitFixture::new();

    let mut groups: Vec<(&Path, Vec<Case<'_>>)> = vec![
        (work.path(), smoke_tester_cases(&service.url(), work.path())),
        (work.path(), notify_cases(&receiver.url())),
        (work.path(), migrate_runner_cases(work.path())),
        (repo.path(), branch_guard_cases()),
    ];
    groups.push((repo.path(), release_tagger_cases(&repo)));

    let mut leaks = Vec::new();
    let mut ran = 0;
    for (dir, cases) in &groups {
        for case in cases {
            for in_actions in [false, true] {
                let actions = ActionsFiles::new();
                let outcome = case.run(dir, in_actions.then_some(&actions));
                ran += 1;
                assert_eq!(
                    outcome.code,
                    Some(case.code),
                    "{}: the sweep needs this path to run:\n{outcome:#?}",
                    outcome.label
                );
                if in_actions && case.code != 0 {
                    assert_eq!(
                        outcome.error_annotations().len(),
                        1,
                        "{}: one ::error per failure:\n{}",
                        outcome.label,
                        outcome.stdout
                    );
                }
                leaks.extend(outcome.leaks());
            }
        }
    }
    assert_eq!(ran, 2 * groups.iter().map(|(_, cases)| cases.len()).sum::<usize>());
    assert!(leaks.is_empty(), "{} leaks:\n{}", leaks.len(), leaks.join("\n"));
}
