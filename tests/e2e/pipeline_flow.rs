//! The seeds' git flow end to end under act: shipgate's reusable pr-checks,
//! release and hotfix workflows, called the way `examples/django` calls them,
//! against a bare git remote as `origin`, the stateful fake GitHub
//! (`GITHUB_API_URL`) and a local webhook receiver for `notify`.
//!
//! Merging a pull request is what a person does on GitHub; here the test
//! does it between two act runs: a merge commit pushed to the bare remote,
//! and the pull request marked merged in the fake.

use std::path::{Path, PathBuf};

use shipgate_testkit::act::{ActOptions, ActRepo, ActRun, git};
use shipgate_testkit::fake_github::pulls::PullState;
use shipgate_testkit::git::BareRemote;
use shipgate_testkit::{CannedResponse, FakeGitHub, ScriptedServer, workspace_root};

const OWNER: &str = "acme";
const NAME: &str = "app";
const REPOSITORY: &str = "acme/app";

fn example(file: &str) -> PathBuf {
    workspace_root().join("examples/django/.github/workflows").join(file)
}

fn read_example(file: &str) -> String {
    std::fs::read_to_string(example(file)).unwrap_or_else(|e| panic!("reading the {file} example: {e}"))
}

/// An app repository holding the django example callers, its bare `origin`,
/// the fake GitHub that serves `acme/app`, and every run's environment.
struct App {
    repo: ActRepo,
    origin: BareRemote,
    github: FakeGitHub,
}

impl App {
    /// The repository with `pr-checks.yml`, `release.yml` and `hotfix.yml`
    /// from `examples/django` beside the actions, committed on `main` as
    /// `chore: start the app` and tagged `v{first_release}`; `develop` starts
    /// there too. Both branches and the tag are pushed.
    fn new(first_release: &str) -> App {
        let repo = ActRepo::from_workflow_file(&example("pr-checks.yml"));
        for caller in ["release.yml", "hotfix.yml"] {
            repo.write_file(&format!(".github/workflows/{caller}"), &read_example(caller));
        }
        repo.write_file("app/views.py", "def health():\n    return {\"status\": \"ok\"}\n");
        let app = App {
            repo,
            origin: BareRemote::new(),
            github: FakeGitHub::start(),
        };
        app.github.state().add_repo(OWNER, NAME);
        app.git(&["add", "--all"]);
        app.git(&["commit", "--quiet", "-m", "chore: start the app"]);
        let tag = format!("v{first_release}");
        app.git(&["tag", "-a", &tag, "-m", &format!("Release version {first_release}")]);
        app.git(&["branch", "develop"]);
        app.git(&["remote", "add", "origin", &app.origin.url()]);
        app.git(&["push", "--quiet", "origin", "main", "develop", &tag]);
        app.sync_branches();
        app
    }

    fn path(&self) -> &Path {
        self.repo.path()
    }

    fn git(&self, args: &[&str]) -> String {
        git(self.path(), args)
    }

    /// Writes `path` and commits it with `message` on the current branch.
    fn commit(&self, path: &str, contents: &str, message: &str) -> String {
        self.repo.write_file(path, contents);
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Tells the fake GitHub where the remote's branches point now.
    fn sync_branches(&self) {
        let heads = self
            .origin
            .run_git(&["for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads"]);
        let mut state = self.github.state();
        let repo = state.repo_mut(OWNER, NAME);
        for line in heads.lines() {
            if let Some((branch, sha)) = line.split_once(' ') {
                repo.branches.insert(branch.to_owned(), sha.to_owned());
            }
        }
    }

    /// What every run gets: the fake GitHub as the API, with its token.
    fn options(&self, event: &str, workflow: &str) -> ActOptions {
        ActOptions::event(event)
            .workflow(&format!(".github/workflows/{workflow}"))
            .env("GITHUB_API_URL", self.github.url())
            .env("GITHUB_REPOSITORY", REPOSITORY)
            .secret("GITHUB_TOKEN", self.github.token())
    }

    fn run(&self, options: &ActOptions) -> ActRun {
        let run = self.repo.run(options);
        self.sync_branches();
        run
    }

    /// The open pull request from `head` into `base`: its number and title.
    fn open_pull(&self, head: &str, base: &str) -> Option<(u64, String)> {
        let state = self.github.state();
        state
            .repo(OWNER, NAME)
            .expect("the fake serves acme/app")
            .pulls
            .iter()
            .find(|pull| pull.state == PullState::Open && pull.head_ref == head && pull.base_ref == base)
            .map(|pull| (pull.number, pull.title.clone()))
    }

    /// Merges pull request `number` (`head` into `base`) as GitHub's merge
    /// button does: a merge commit on `base`, pushed, and the pull request
    /// closed as merged. Leaves `base` checked out.
    fn merge_pull(&self, number: u64, head: &str, base: &str) {
        self.git(&["fetch", "--quiet", "origin"]);
        self.git(&["checkout", "--quiet", base]);
        self.git(&["merge", "--quiet", "--ff-only", &format!("origin/{base}")]);
        self.git(&[
            "merge",
            "--quiet",
            "--no-ff",
            "-m",
            &format!("Merge pull request #{number} from {OWNER}/{head}"),
            &format!("origin/{head}"),
        ]);
        self.git(&["push", "--quiet", "origin", base]);
        {
            let mut state = self.github.state();
            let pull = state
                .repo_mut(OWNER, NAME)
                .pull_mut(number)
                .unwrap_or_else(|| panic!("the fake has no pull request #{number}"));
            pull.state = PullState::Closed;
            pull.merged = true;
        }
        self.sync_branches();
    }

    /// The commit a ref of the remote names, peeled.
    fn remote_commit(&self, reference: &str) -> Option<String> {
        self.origin.resolve(reference)
    }
}

fn assert_ran(run: &ActRun, what: &str) {
    assert!(run.success, "{what}: act failed; its output:\n{}", run.log);
}

/// The pull request payload act hands to pr-checks (`act -e`).
fn pull_request_payload(head_ref: &str, head: &str, base: &str, title: &str) -> serde_json::Value {
    serde_json::json!({
        "action": "opened",
        "number": 7,
        "pull_request": {
            "number": 7,
            "title": title,
            "draft": false,
            "user": { "login": "dev" },
            "head": { "ref": head_ref, "sha": head, "repo": { "full_name": REPOSITORY } },
            "base": { "ref": "develop", "sha": base, "repo": { "full_name": REPOSITORY } },
        },
        "repository": { "full_name": REPOSITORY, "default_branch": "main" },
    })
}

/// A repository with the caller `workflow` on a pull request into develop
/// from `branch`: `files` are committed first (on develop), then the branch
/// adds one commit with `message`. Returns it with the base and head commits.
fn pull_request_repo(
    workflow: &Path,
    files: &[(String, String)],
    branch: &str,
    message: &str,
) -> (ActRepo, String, String) {
    let repo = ActRepo::from_workflow_file(workflow);
    for (path, contents) in files {
        repo.write_file(path, contents);
    }
    let dir = repo.path().to_path_buf();
    git(&dir, &["add", "--all"]);
    git(&dir, &["commit", "--quiet", "-m", "chore: start the app"]);
    git(&dir, &["switch", "--quiet", "-c", "develop"]);
    let base = git(&dir, &["rev-parse", "HEAD"]);
    git(&dir, &["switch", "--quiet", "-c", branch]);
    repo.write_file("app/upload.py", "RETRIES = 3\n");
    git(&dir, &["add", "--all"]);
    git(&dir, &["commit", "--quiet", "-m", message]);
    let head = git(&dir, &["rev-parse", "HEAD"]);
    (repo, base, head)
}

/// Runs the repository's caller for the pull request `branch` → develop
/// titled `title`, against a fresh fake GitHub; `configure` adds the run's
/// own environment.
fn run_pull_request(
    repo: &ActRepo,
    (branch, base, head): (&str, &str, &str),
    title: &str,
    configure: impl FnOnce(ActOptions) -> ActOptions,
) -> ActRun {
    let github = FakeGitHub::start();
    github.state().add_repo(OWNER, NAME);
    let options = ActOptions::event("pull_request")
        .payload(pull_request_payload(branch, head, base, title))
        .env("GITHUB_API_URL", github.url())
        .env("GITHUB_REPOSITORY", REPOSITORY)
        .secret("GITHUB_TOKEN", github.token());
    repo.run(&configure(options))
}

/// The caller `fixtures/pipeline_flow/<caller>` on a pull request into
/// develop from `branch` (see [`pull_request_repo`]), with `env` added to
/// the run. Returns the head commit too.
fn pull_request_run(
    caller: &str,
    files: &[(String, String)],
    branch: &str,
    message: &str,
    title: &str,
    env: &[(&str, String)],
) -> (ActRepo, ActRun, String) {
    let workflow = workspace_root().join("fixtures/pipeline_flow").join(caller);
    let (repo, base, head) = pull_request_repo(&workflow, files, branch, message);
    let run = run_pull_request(&repo, (branch, &base, &head), title, |mut options| {
        for (name, value) in env {
            options = options.env(name, value.clone());
        }
        options
    });
    (repo, run, head)
}

/// pr-checks on a pull request into develop from `branch` with one commit,
/// through fixtures/pipeline_flow/pr-checks.yml (the django caller, with a
/// test command that writes an lcov report covering `covered` of 10 lines).
fn pr_checks(branch: &str, message: &str, title: &str, covered: u32) -> (ActRepo, ActRun, String) {
    pull_request_run(
        "pr-checks.yml",
        &[],
        branch,
        message,
        title,
        &[("COVERED_LINES", covered.to_string())],
    )
}

#[test]
fn a_feature_pull_request_into_develop_passes_every_check() {
    let (repo, run, _) = pr_checks(
        "feature/upload",
        "feat(upload): resume uploads",
        "feat(upload): resume uploads",
        9,
    );
    assert_ran(&run, "pr-checks on feature/upload");
    assert_eq!(repo.result("result", &run), "success", "{}", run.log);
    assert_eq!(repo.result("passed", &run), "true", "{}", run.log);
    assert_eq!(repo.result("violations", &run), "[]", "{}", run.log);
    assert_eq!(repo.result("coverage", &run), "90.0", "{}", run.log);
    assert!(!run.log.contains("::error"), "no annotations expected:\n{}", run.log);
}

/// Whether act's log line comes from `job` of the called workflow: act
/// labels each line `[<workflow>/<caller job>/<job>]`, padded with spaces.
fn from_job(line: &str, job: &str) -> bool {
    line.strip_prefix('[')
        .and_then(|rest| rest.split(']').next())
        .is_some_and(|label| label.trim_end().ends_with(&format!("/{job}")))
}

/// The last value `job` set for `output`, from act's log (`⚙ ::set-output:: name=value`).
fn output_in_log(log: &str, job: &str, output: &str) -> Option<String> {
    let marker = format!("::set-output:: {output}=");
    log.lines()
        .rev()
        .filter(|line| from_job(line, job))
        .find_map(|line| line.split_once(&marker).map(|(_, value)| value.to_owned()))
}

#[test]
fn a_bad_branch_name_a_bad_commit_and_low_coverage_fail_the_final_check() {
    let (_repo, run, head) = pr_checks("Feature/Upload", "Added retries.", "Added retries", 5);
    assert!(!run.success, "pr-checks must fail; act output:\n{}", run.log);
    // act skips the caller's jobs after a failed reusable workflow, `if:
    // always()` or not, so the outputs come from its log.
    assert_eq!(
        output_in_log(&run.log, "branch-guard", "passed").as_deref(),
        Some("false"),
        "{}",
        run.log
    );
    assert_eq!(
        output_in_log(&run.log, "tests", "percent").as_deref(),
        Some("50.0"),
        "{}",
        run.log
    );

    let violations: serde_json::Value =
        serde_json::from_str(&output_in_log(&run.log, "branch-guard", "violations").unwrap_or_default())
            .expect("the violations output is JSON");
    let rules: Vec<&str> = violations
        .as_array()
        .expect("an array of violations")
        .iter()
        .filter_map(|violation| violation["rule"].as_str())
        .collect();
    for rule in ["branch-name", "type-empty"] {
        assert!(rules.contains(&rule), "{rule} in {violations:#}");
    }

    // Each finding is an annotation in the job's log.
    let errors: Vec<&str> = run.log.lines().filter(|line| line.contains("::error")).collect();
    assert!(
        errors.iter().any(|line| line.contains("Feature/Upload")),
        "an annotation names the branch:\n{}",
        errors.join("\n")
    );
    assert!(
        errors.iter().any(|line| line.contains(&head[..7])),
        "an annotation names the commit {}:\n{}",
        &head[..7],
        errors.join("\n")
    );
    assert!(
        errors
            .iter()
            .any(|line| line.contains("line coverage 50.0% is below the minimum 80%")),
        "the coverage gate annotates:\n{}",
        errors.join("\n")
    );
    // The one required check reports the failures of the jobs before it.
    assert!(
        run.log
            .lines()
            .any(|line| from_job(line, "checks") && line.contains("branch-guard: failure")),
        "the final checks job fails naming branch-guard:\n{}",
        errors.join("\n")
    );
    assert!(
        errors
            .iter()
            .any(|line| from_job(line, "checks") && line.contains("tests: failure")),
        "the final checks job fails naming the tests:\n{}",
        errors.join("\n")
    );
}

#[test]
fn a_release_is_cut_merged_tagged_published_announced_and_merged_back() {
    let app = App::new("1.2.0");
    app.git(&["switch", "--quiet", "develop"]);
    app.commit(
        "app/export.py",
        "FORMATS = [\"csv\"]\n",
        "feat(api): add the export endpoint",
    );
    app.commit(
        "app/views.py",
        "def health():\n    return {}\n",
        "fix: handle empty input",
    );
    app.git(&["push", "--quiet", "origin", "develop"]);
    app.git(&["switch", "--quiet", "main"]);
    app.sync_branches();

    // Actions > release > Run workflow, from main.
    let cut = app.run(
        &app.options("workflow_dispatch", "release.yml")
            .payload(serde_json::json!({ "inputs": { "version": "" } })),
    );
    assert_ran(&cut, "release cut");
    let branch_tip = app
        .remote_commit("release/v1.3.0")
        .unwrap_or_else(|| panic!("release/v1.3.0 was not pushed; act output:\n{}", cut.log));
    assert_eq!(
        app.origin.run_git(&["log", "-1", "--format=%s", &branch_tip]).trim(),
        "chore: prepare release v1.3.0"
    );
    let changelog = app.origin.run_git(&["show", "release/v1.3.0:CHANGELOG.md"]);
    assert!(changelog.contains("add the export endpoint"), "{changelog}");
    let (number, title) = app
        .open_pull("release/v1.3.0", "main")
        .unwrap_or_else(|| panic!("no pull request release/v1.3.0 -> main; act output:\n{}", cut.log));
    assert_eq!(title, "Release v1.3.0");

    app.merge_pull(number, "release/v1.3.0", "main");
    let main = app.git(&["rev-parse", "HEAD"]);

    // An action repository's caller sets `floating: true`; the example
    // leaves it false for an app.
    let as_action_repo = read_example("release.yml").replace("floating: false", "floating: true");
    assert!(
        as_action_repo.contains("floating: true"),
        "the release example sets `floating`"
    );
    app.repo.write_file(".github/workflows/release.yml", &as_action_repo);
    app.git(&["add", "--all"]);
    app.git(&["commit", "--quiet", "-m", "ci: publish floating tags"]);
    app.git(&["push", "--quiet", "origin", "main"]);
    let main_with_ci = app.git(&["rev-parse", "HEAD"]);
    assert_ne!(main, main_with_ci);

    let receiver = ScriptedServer::start();
    receiver.always("POST", "/releases", CannedResponse::status(200));
    let target = format!("{}/releases", receiver.url().replacen("http://", "json://", 1));
    let release = app.run(
        &app.options("push", "release.yml")
            .secret("RELEASE_NOTIFY_TARGETS", &target),
    );
    assert_ran(&release, "release on main");

    // The tag, annotated with the seeds' message, and the floating tags.
    assert_eq!(app.remote_commit("v1.3.0").as_deref(), Some(main_with_ci.as_str()));
    assert_eq!(app.origin.run_git(&["cat-file", "-t", "v1.3.0"]).trim(), "tag");
    assert_eq!(
        app.origin
            .run_git(&["tag", "-l", "--format=%(contents:subject)", "v1.3.0"])
            .trim(),
        "Release version 1.3.0"
    );
    assert_eq!(
        app.remote_commit("v1").as_deref(),
        Some(main_with_ci.as_str()),
        "floating v1"
    );
    assert_eq!(
        app.remote_commit("v1.3").as_deref(),
        Some(main_with_ci.as_str()),
        "floating v1.3"
    );

    // The GitHub Release with the changelog section, and the back-merge.
    {
        let state = app.github.state();
        let repo = state.repo(OWNER, NAME).expect("acme/app");
        let published = repo
            .release_by_tag("v1.3.0")
            .unwrap_or_else(|| panic!("no GitHub Release v1.3.0; act output:\n{}", release.log));
        assert!(!published.draft);
        let notes = published.body.clone().unwrap_or_default();
        assert!(notes.contains("add the export endpoint"), "{notes}");
        assert!(notes.contains("handle empty input"), "{notes}");
    }
    let (_, backmerge_title) = app
        .open_pull("main", "develop")
        .unwrap_or_else(|| panic!("no back-merge pull request; act output:\n{}", release.log));
    assert_eq!(backmerge_title, "chore: merge main into develop");

    // One release announcement.
    let announcements = receiver.requests_to("POST", "/releases");
    assert_eq!(announcements.len(), 1, "{announcements:?}\n{}", release.log);
    let body = announcements[0].body_text();
    assert!(body.contains("1.3.0"), "{body}");
}

#[test]
fn a_hotfix_is_cut_proposed_merged_and_released_as_a_patch() {
    let app = App::new("1.3.0");

    // Actions > hotfix > Run workflow, name: critical-fix.
    let start = app.run(
        &app.options("workflow_dispatch", "hotfix.yml")
            .payload(serde_json::json!({ "inputs": { "name": "critical-fix" } })),
    );
    assert_ran(&start, "hotfix start");
    let main = app.git(&["rev-parse", "main"]);
    assert_eq!(
        app.remote_commit("hotfix/critical-fix").as_deref(),
        Some(main.as_str()),
        "hotfix/critical-fix starts at main; act output:\n{}",
        start.log
    );

    // The developer pushes the fix; the push opens the pull request into main.
    app.git(&["fetch", "--quiet", "origin"]);
    app.git(&[
        "switch",
        "--quiet",
        "-c",
        "hotfix/critical-fix",
        "origin/hotfix/critical-fix",
    ]);
    app.commit(
        "app/views.py",
        "def health():\n    return {\"status\": \"ok\", \"db\": True}\n",
        "fix: resolve critical issue",
    );
    app.git(&["push", "--quiet", "origin", "hotfix/critical-fix"]);
    app.sync_branches();
    let propose = app.run(&app.options("push", "hotfix.yml"));
    assert_ran(&propose, "hotfix push");
    let (number, title) = app.open_pull("hotfix/critical-fix", "main").unwrap_or_else(|| {
        panic!(
            "no pull request hotfix/critical-fix -> main; act output:\n{}",
            propose.log
        )
    });
    assert_eq!(title, "fix: resolve critical issue");

    // A second push finds the pull request instead of opening another.
    let again = app.run(&app.options("push", "hotfix.yml"));
    assert_ran(&again, "second hotfix push");
    let pulls = app.github.state().repo(OWNER, NAME).expect("acme/app").pulls.len();
    assert_eq!(pulls, 1, "{}", again.log);

    app.merge_pull(number, "hotfix/critical-fix", "main");
    let merged = app.git(&["rev-parse", "HEAD"]);
    let release = app.run(&app.options("push", "release.yml"));
    assert_ran(&release, "release of the hotfix");

    assert_eq!(
        app.remote_commit("v1.3.1").as_deref(),
        Some(merged.as_str()),
        "{}",
        release.log
    );
    assert_eq!(app.remote_commit("v1"), None, "an app's release moves no floating tag");
    {
        let state = app.github.state();
        let repo = state.repo(OWNER, NAME).expect("acme/app");
        let published = repo
            .release_by_tag("v1.3.1")
            .unwrap_or_else(|| panic!("no GitHub Release v1.3.1; act output:\n{}", release.log));
        let notes = published.body.clone().unwrap_or_default();
        assert!(notes.contains("resolve critical issue"), "{notes}");
    }
    assert!(
        app.open_pull("main", "develop").is_some(),
        "the hotfix is merged back into develop; act output:\n{}",
        release.log
    );
}

#[test]
fn protection_drift_is_commented_on_schedule_and_applied_on_dispatch() {
    let app = App::new("1.0.0");
    app.repo
        .write_file(".github/workflows/protect.yml", &read_example("protect.yml"));
    app.git(&["add", "--all"]);
    app.git(&["commit", "--quiet", "-m", "ci: protect the branches"]);
    // The example comments on issue #1, the one tracking repository settings.
    app.github.state().repo_mut(OWNER, NAME).issues.insert(1);

    let plan = app.run(
        &app.options("schedule", "protect.yml")
            .secret("PROTECTION_ADMIN_TOKEN", app.github.token()),
    );
    assert!(
        !plan.success,
        "drift fails the scheduled run; act output:\n{}",
        plan.log
    );
    {
        let state = app.github.state();
        let repo = state.repo(OWNER, NAME).expect("acme/app");
        assert!(repo.protections.is_empty(), "a scheduled run changes nothing");
        let comments: Vec<&str> = repo
            .comments
            .iter()
            .filter(|comment| comment.issue_number == 1)
            .map(|comment| comment.body.as_str())
            .collect();
        assert_eq!(comments.len(), 1, "{comments:?}\n{}", plan.log);
        assert!(comments[0].contains("~ main"), "{}", comments[0]);
        assert!(comments[0].contains("~ develop"), "{}", comments[0]);
    }

    let apply = app.run(
        &app.options("workflow_dispatch", "protect.yml")
            // GitHub's workflow_dispatch payload carries every input as a string.
            .payload(serde_json::json!({ "inputs": { "apply": "true" } }))
            .secret("PROTECTION_ADMIN_TOKEN", app.github.token()),
    );
    assert_ran(&apply, "protect --apply");
    let state = app.github.state();
    let repo = state.repo(OWNER, NAME).expect("acme/app");
    let reviews = |branch: &str| {
        repo.protections
            .get(branch)
            .and_then(|protection| protection.required_pull_request_reviews.as_ref())
            .map(|reviews| reviews.required_approving_review_count)
    };
    assert_eq!(reviews("main"), Some(2), "seed 000: main needs 2 reviews");
    assert_eq!(reviews("develop"), Some(1), "seed 000: develop needs 1 review");
    assert_eq!(repo.comments.len(), 1, "nothing more to comment once in sync");
}

/// pr-checks with a lint command and Bandit as the security command, over
/// fixtures/scan/python-app, which has two high findings.
#[test]
fn high_bandit_findings_fail_the_security_scan_and_the_final_check() {
    let files = fixture_files(&workspace_root().join("fixtures/scan/python-app/app"), "app");
    let bandit = shipgate_testkit::find_tool("bandit").expect("bandit");
    let (repo, run, _) = pull_request_run(
        "pr-checks-scan.yml",
        &files,
        "feature/upload",
        "feat(upload): resume uploads",
        "feat(upload): resume uploads",
        &[("BANDIT", bandit.display().to_string())],
    );
    assert!(!run.success, "pr-checks must fail; act output:\n{}", run.log);
    assert_eq!(
        output_in_log(&run.log, "security scan", "findings").as_deref(),
        Some("2"),
        "{}",
        run.log
    );
    assert_eq!(
        output_in_log(&run.log, "security scan", "passed").as_deref(),
        Some("false"),
        "{}",
        run.log
    );
    // The two high findings are annotated on their lines; the medium and
    // low ones are warnings.
    let annotations: Vec<&str> = run
        .log
        .lines()
        .filter(|line| from_job(line, "security scan") && (line.contains("::error") || line.contains("::warning")))
        .collect();
    for expected in [
        "::error file=app/jobs.py,line=12,",
        "::error file=app/jobs.py,line=17,",
        "::warning file=app/jobs.py,line=22,",
        "::warning file=app/jobs.py,line=32,",
    ] {
        assert!(
            annotations.iter().any(|line| line.contains(expected)),
            "{expected} among:\n{}",
            annotations.join("\n")
        );
    }
    // The SARIF is kept as the `sarif` artifact whatever the verdict.
    let kept = repo.results_dir().join("artifacts/sarif/bandit.sarif");
    let sarif = std::fs::read_to_string(&kept).unwrap_or_else(|e| panic!("{} ({e}):\n{}", kept.display(), run.log));
    assert!(sarif.contains("\"B602\""), "{sarif}");

    // The lint job passed, the branch and commits follow the flow, and the
    // final check fails with the scan. Read from act's own job lines: the
    // verdict step's last output lines can be lost under act when it fails.
    insta::assert_snapshot!("bandit_scan_jobs", job_outcomes(&run.log).join("\n"));
}

/// Every file under `dir`, as (`prefix/relative path`, contents).
fn fixture_files(dir: &Path, prefix: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())) {
        let path = entry.expect("a fixture entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("a file name");
        let relative = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}/{name}")
        };
        if path.is_dir() {
            files.extend(fixture_files(&path, &relative));
        } else {
            let contents = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            files.push((relative, contents));
        }
    }
    files
}

/// The workflow commands (`::error …`, `::warning …`) `job` printed, in order.
fn annotations_of(log: &str, job: &str) -> Vec<String> {
    log.lines()
        .filter(|line| from_job(line, job))
        .filter_map(|line| {
            ["::error", "::warning"]
                .iter()
                .filter_map(|command| line.find(command))
                .min()
                .map(|start| line[start..].to_owned())
        })
        .collect()
}

/// How each job of the run ended, from act's own `🏁  Job succeeded` or
/// `Job failed` line (a failing step's last output lines can be lost under
/// act; these never are), as `<calling job>/<job>: <outcome>`, sorted.
/// Skipped jobs print nothing.
fn job_outcomes(log: &str) -> Vec<String> {
    let mut outcomes: Vec<String> = log
        .lines()
        .filter_map(|line| {
            let (_, outcome) = line.split_once("🏁  Job ")?;
            let label = line.strip_prefix('[')?.split(']').next()?.trim_end();
            let (_, job) = label.split_once('/')?;
            Some(format!("{job}: {}", outcome.trim()))
        })
        .collect();
    outcomes.sort();
    outcomes
}

/// examples/django's pr-checks caller, unchanged, over a Python app with
/// planted Bandit findings (fixtures/scan/python-app) and its unit tests
/// (fixtures/examples/django-app). The caller's commands install with
/// `python -m pip` and run `bandit` and `pytest`: the tools venv comes
/// first on PATH and pip may not reach an index, so they run the installed
/// tools, and a pin that differs from the installed one fails the run.
#[test]
fn the_django_example_fails_on_bandit_findings_until_a_baseline_accepts_them() {
    let example = workspace_root().join("examples/django");
    let mut files = fixture_files(&workspace_root().join("fixtures/examples/django-app"), "");
    files.extend(fixture_files(
        &workspace_root().join("fixtures/scan/python-app/app"),
        "app",
    ));
    let config = std::fs::read_to_string(example.join("shipgate.toml")).expect("the example's shipgate.toml");
    files.push(("shipgate.toml".to_owned(), config.clone()));
    let branch = "feature/upload";
    let (repo, base, head) = pull_request_repo(
        &example.join(".github/workflows/pr-checks.yml"),
        &files,
        branch,
        "feat(upload): resume uploads",
    );
    let tools_venv = shipgate_testkit::find_tool("pytest")
        .expect("pytest")
        .parent()
        .expect("the venv's bin")
        .to_path_buf();
    let offline_python = |options: ActOptions| {
        options
            .path_first(&tools_venv)
            .env("PIP_NO_INDEX", "1")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    };
    let started = std::time::Instant::now();
    let run = run_pull_request(
        &repo,
        (branch, &base, &head),
        "feat(upload): resume uploads",
        offline_python,
    );
    eprintln!("django example, failing run: {:?}", started.elapsed());
    assert!(!run.success, "pr-checks must fail; act output:\n{}", run.log);
    assert_eq!(
        output_in_log(&run.log, "tests", "percent").as_deref(),
        Some("100.0"),
        "the tests ran with coverage:\n{}",
        run.log
    );
    assert_eq!(
        output_in_log(&run.log, "security scan", "findings").as_deref(),
        Some("2"),
        "{}",
        run.log
    );
    insta::assert_snapshot!(
        "django_example_scan_annotations",
        annotations_of(&run.log, "security scan").join("\n")
    );
    let kept = repo.results_dir().join("artifacts/sarif/bandit.sarif");
    let sarif = std::fs::read_to_string(&kept).unwrap_or_else(|e| panic!("{} ({e}):\n{}", kept.display(), run.log));
    assert!(sarif.contains("\"B602\""), "{sarif}");
    insta::assert_snapshot!("django_example_failing_jobs", job_outcomes(&run.log).join("\n"));

    // The team accepts the two high findings until a fix lands.
    repo.write_file(
        "shipgate.toml",
        &format!("{config}\n[guard.scan]\nbaseline = \".github/scan-baseline.toml\"\n"),
    );
    repo.write_file(
        ".github/scan-baseline.toml",
        "[[accepted]]\nrule = \"B602\"\nlocation = \"app/jobs.py:12\"\nexpires = 2099-12-31\nreason = \"hooks are admin-defined\"\n\n\
         [[accepted]]\nrule = \"B324\"\nlocation = \"app/jobs.py:17\"\nexpires = 2099-12-31\nreason = \"cache keys, not passwords\"\n",
    );
    std::fs::remove_dir_all(repo.results_dir().join("artifacts")).expect("clearing the kept artifacts");
    repo.git(&["add", "--all"]);
    repo.git(&[
        "commit",
        "--quiet",
        "-m",
        "chore(security): accept the hook and cache findings",
    ]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    let started = std::time::Instant::now();
    let run = run_pull_request(
        &repo,
        (branch, &base, &head),
        "feat(upload): resume uploads",
        offline_python,
    );
    eprintln!("django example, passing run: {:?}", started.elapsed());
    assert_ran(&run, "pr-checks with the baseline");
    assert_eq!(
        output_in_log(&run.log, "security scan", "findings").as_deref(),
        Some("0"),
        "{}",
        run.log
    );
    insta::assert_snapshot!("django_example_passing_jobs", job_outcomes(&run.log).join("\n"));
    // The example's second job hands the kept SARIF to code scanning.
    let uploaded = repo.results_dir().join("code-scanning");
    assert_eq!(
        std::fs::read_to_string(uploaded.join("category")).unwrap_or_else(|e| panic!("no upload ({e}):\n{}", run.log)),
        "shipgate-scan"
    );
    let uploaded_sarif = std::fs::read_to_string(uploaded.join("files/bandit.sarif")).expect("the uploaded SARIF");
    assert_eq!(
        uploaded_sarif,
        std::fs::read_to_string(repo.results_dir().join("artifacts/sarif/bandit.sarif")).expect("the kept SARIF"),
        "code scanning gets the SARIF pr-checks kept"
    );
}

/// examples/nextjs's pr-checks caller, unchanged, over a JavaScript app
/// whose code ESLint's security rules flag (fixtures/scan/js-app: two
/// `error` and two `warn` rules) with its unit tests and npm lockfile
/// (fixtures/examples/nextjs-app, whose `typecheck` and `test` scripts use
/// Node's own checker and test runner). The caller's `npm ci` installs
/// ESLint and its SARIF formatter from the npm registry, into a cache
/// shared by the run's three jobs.
#[test]
fn the_nextjs_example_fails_on_eslint_errors_through_the_sarif_gate() {
    let example = workspace_root().join("examples/nextjs");
    let mut files = fixture_files(&workspace_root().join("fixtures/examples/nextjs-app"), "");
    files.extend(fixture_files(&workspace_root().join("fixtures/scan/js-app"), ""));
    let config = std::fs::read_to_string(example.join("shipgate.toml")).expect("the example's shipgate.toml");
    files.push(("shipgate.toml".to_owned(), config));
    let branch = "feature/widgets";
    let (repo, base, head) = pull_request_repo(
        &example.join(".github/workflows/pr-checks.yml"),
        &files,
        branch,
        "feat(widgets): evaluate formulas",
    );
    let started = std::time::Instant::now();
    let run = run_pull_request(
        &repo,
        (branch, &base, &head),
        "feat(widgets): evaluate formulas",
        |options| options,
    );
    eprintln!("nextjs example run: {:?}", started.elapsed());
    assert!(!run.success, "pr-checks must fail; act output:\n{}", run.log);
    assert_eq!(
        output_in_log(&run.log, "tests", "percent").as_deref(),
        Some("100.0"),
        "the tests ran with coverage:\n{}",
        run.log
    );
    assert_eq!(
        output_in_log(&run.log, "security scan", "findings").as_deref(),
        Some("2"),
        "{}",
        run.log
    );
    insta::assert_snapshot!(
        "nextjs_example_scan_annotations",
        annotations_of(&run.log, "security scan").join("\n")
    );
    let kept = repo.results_dir().join("artifacts/sarif/eslint.sarif");
    let sarif = std::fs::read_to_string(&kept).unwrap_or_else(|e| panic!("{} ({e}):\n{}", kept.display(), run.log));
    assert!(sarif.contains("\"no-implied-eval\""), "{sarif}");
    // This caller grants no `security-events: write` and so has no
    // code-scanning job: nothing is handed to code scanning.
    assert!(
        !repo.results_dir().join("code-scanning").exists(),
        "no upload without the code-scanning job:\n{}",
        run.log
    );
    // The lint job runs the same rules and fails on the errors too, and the
    // final check fails.
    insta::assert_snapshot!("nextjs_example_failing_jobs", job_outcomes(&run.log).join("\n"));
}
