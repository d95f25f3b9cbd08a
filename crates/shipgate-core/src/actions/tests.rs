//! Tests of the Actions runtime I/O, through the `actions` module's public face.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::exit::Result;

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/events")
        .join(name)
}

struct ActionsFiles {
    _dir: tempfile::TempDir,
    output: PathBuf,
    summary: PathBuf,
    runtime: Runtime,
    captured: CapturedOutput,
}

fn actions_runtime() -> ActionsFiles {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    let summary = dir.path().join("summary");
    let (runtime, captured) = Runtime::from_env_map([
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_OUTPUT", output.to_str().unwrap()),
        ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
    ])
    .capture_output();
    ActionsFiles {
        _dir: dir,
        output,
        summary,
        runtime,
        captured,
    }
}

fn delimiter_of(line: &str) -> &str {
    line.split_once("<<").unwrap().1
}

#[test]
fn outputs_use_the_heredoc_syntax_with_a_random_delimiter() {
    let files = actions_runtime();
    files.runtime.set_output("version", "1.2.3").unwrap();
    files
        .runtime
        .set_output("notes", "line one\nline two\n\nline four")
        .unwrap();
    let text = std::fs::read_to_string(&files.output).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let first = delimiter_of(lines[0]);
    assert!(first.starts_with("ghadelimiter_"), "{first}");
    assert_eq!(first.len(), "ghadelimiter_".len() + 32);
    let second = delimiter_of(lines[3]);
    assert_ne!(first, second);
    assert_eq!(
        text,
        format!("version<<{first}\n1.2.3\n{first}\nnotes<<{second}\nline one\nline two\n\nline four\n{second}\n")
    );
}

#[test]
fn outputs_are_dropped_outside_actions() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    let runtime = Runtime::from_env_map([("GITHUB_OUTPUT", output.to_str().unwrap())]);
    runtime.set_output("version", "1.2.3").unwrap();
    runtime.append_summary("# nothing").unwrap();
    assert!(!output.exists());
}

#[test]
fn actions_without_an_output_file_is_a_usage_error() {
    let runtime = Runtime::from_env_map([("GITHUB_ACTIONS", "true")]);
    let err = runtime.set_output("version", "1").unwrap_err();
    assert_eq!(err.exit_code(), crate::exit::ExitCode::Usage);
    assert!(err.to_string().contains("GITHUB_OUTPUT"), "{err}");
}

#[test]
fn summary_appends_markdown() {
    let files = actions_runtime();
    let mut summary = Summary::new();
    summary
        .heading(2, "Release v1.2.0")
        .table(
            &["Kind", "Message"],
            &[vec!["feat".into(), "pipes | and\nnewlines".into()]],
        )
        .code_block("sh", "echo ```\n")
        .details("Commits <3>", "- abc123 fix")
        .mermaid("graph LR\n  a --> b");
    files.runtime.append_summary(summary.as_markdown()).unwrap();
    files.runtime.append_summary("done").unwrap();
    let text = std::fs::read_to_string(&files.summary).unwrap();
    assert_eq!(
        text,
        "## Release v1.2.0\n\n\
         | Kind | Message |\n|---|---|\n| feat | pipes \\| and<br>newlines |\n\n\
         ````sh\necho ```\n````\n\n\
         <details>\n<summary>Commits &lt;3&gt;</summary>\n\n- abc123 fix\n\n</details>\n\n\
         ```mermaid\ngraph LR\n  a --> b\n```\n\
         done\n"
    );
}

#[test]
fn annotations_escape_data_and_properties() {
    let files = actions_runtime();
    files.runtime.error(
        &Annotation::new("100% broken\r\nsecond line")
            .title("a: b, c")
            .file("src/we,ird:name.rs")
            .line(3)
            .end_line(5)
            .col(7),
    );
    files.runtime.warning(&Annotation::new("plain"));
    files.runtime.notice(&Annotation::new("n").file("README.md"));
    assert_eq!(
        files.captured.stdout(),
        "::error file=src/we%2Cird%3Aname.rs,line=3,endLine=5,col=7,title=a%3A b%2C c::100%25 broken%0D%0Asecond line\n\
         ::warning::plain\n\
         ::notice file=README.md::n\n"
    );
    assert_eq!(files.captured.stderr(), "");
}

#[test]
fn annotations_outside_actions_are_plain_stderr_lines() {
    let (runtime, captured) = Runtime::from_env_map([("CI", "true")]).capture_output();
    runtime.error(&Annotation::new("version went backwards").file("Cargo.toml").line(3));
    runtime.warning(&Annotation::new("no tags yet").title("release-tagger"));
    runtime.debug("invisible");
    let group = runtime.group("ignored");
    drop(group);
    assert_eq!(captured.stdout(), "");
    assert_eq!(
        captured.stderr(),
        "error: Cargo.toml:3: version went backwards\nwarning: release-tagger: no tags yet\n"
    );
}

#[test]
fn groups_end_when_the_guard_drops() {
    let files = actions_runtime();
    {
        let _group = files.runtime.group("Fetch tags");
        files.runtime.debug("inside");
    }
    assert_eq!(
        files.captured.stdout(),
        "::group::Fetch tags\n::debug::inside\n::endgroup::\n"
    );
}

#[test]
fn masks_are_announced_once_per_line_and_redacted_everywhere() {
    let files = actions_runtime();
    let secret = "s3cr3t-token-for-actions-test";
    files.runtime.mask(secret);
    files.runtime.mask(secret);
    files.runtime.mask("multi-line-key-A\nmulti-line-key-B");
    files
        .runtime
        .set_output("url", &format!("https://x:{secret}@example.com"))
        .unwrap();
    files
        .runtime
        .append_summary(&format!("token is {secret}; key multi-line-key-B"))
        .unwrap();
    files
        .runtime
        .error(&Annotation::new(format!("auth failed with {secret}")).title(secret.to_string()));
    let stdout = files.captured.stdout();
    assert_eq!(
        stdout.lines().take(3).collect::<Vec<_>>(),
        vec![
            format!("::add-mask::{secret}"),
            "::add-mask::multi-line-key-A".to_owned(),
            "::add-mask::multi-line-key-B".to_owned(),
        ]
    );
    assert_eq!(
        stdout.lines().nth(3).unwrap(),
        "::error title=***::auth failed with ***"
    );
    let output = std::fs::read_to_string(&files.output).unwrap();
    assert!(output.contains("\nhttps://x:***@example.com\n"), "{output}");
    let summary = std::fs::read_to_string(&files.summary).unwrap();
    assert_eq!(summary, "token is ***; key ***\n");
    assert_eq!(stdout.matches(secret).count(), 1, "only the add-mask line names it");
}

#[test]
fn secrets_redact_themselves_and_display_as_stars() {
    let secret = Secret::new("ghp_displaytestvalue1234567890");
    assert_eq!(secret.to_string(), "***");
    assert_eq!(format!("{secret:?}"), "Secret(***)");
    assert_eq!(secret.expose(), "ghp_displaytestvalue1234567890");
    assert_eq!(
        redact("Authorization: Bearer ghp_displaytestvalue1234567890"),
        "Authorization: Bearer ***"
    );
    assert!(matches!(redact("nothing secret here"), Cow::Borrowed(_)));
}

#[test]
fn blank_secrets_are_not_registered() {
    assert!(!register_secret(""));
    assert!(!register_secret("  \n "));
    assert_eq!(redact("a b"), "a b");
}

#[test]
fn context_reads_variables_and_builds_the_run_url() {
    let runtime = Runtime::from_env_map([
        ("GITHUB_REPOSITORY", "octo-org/shipgate-demo"),
        ("GITHUB_SHA", "ffac537e6cbbf934b08745a378932722df287a53"),
        ("GITHUB_REF", "refs/heads/main"),
        ("GITHUB_REF_NAME", "main"),
        ("GITHUB_ACTOR", "octocat"),
        ("GITHUB_RUN_ID", "1658821493"),
        ("GITHUB_SERVER_URL", "https://ghe.example.com/"),
    ]);
    let context = runtime.context();
    assert_eq!(context.api_url, "https://api.github.com");
    assert_eq!(context.ref_name.as_deref(), Some("main"));
    assert_eq!(context.owner_and_repo(), Some(("octo-org", "shipgate-demo")));
    assert_eq!(
        context.run_url().as_deref(),
        Some("https://ghe.example.com/octo-org/shipgate-demo/actions/runs/1658821493")
    );
    assert_eq!(
        Runtime::from_env_map(Vec::<(String, String)>::new())
            .context()
            .run_url(),
        None
    );
}

fn load(name: &str, file: &str) -> Result<Event> {
    let path = fixture(file);
    Event::load(&Runtime::from_env_map([
        ("GITHUB_EVENT_NAME", name),
        ("GITHUB_EVENT_PATH", path.to_str().unwrap()),
    ]))
}

#[test]
fn push_payload_parses() {
    let Event::Push(push) = load("push", "push.json").unwrap() else {
        panic!("not a push")
    };
    assert_eq!(push.git_ref, "refs/heads/main");
    assert_eq!(push.branch(), Some("main"));
    assert_eq!(push.before, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    assert_eq!(push.after, "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
    assert!(!push.created && !push.deleted && !push.forced);
    assert_eq!(push.commits.len(), 2);
    assert_eq!(push.commits[1].id, "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
    assert_eq!(
        push.commits[1].message,
        "feat(api): add pagination\n\nBREAKING CHANGE: `page` is now 1-based"
    );
    assert_eq!(push.repository.full_name, "octo-org/shipgate-demo");
    assert_eq!(push.repository.default_branch.as_deref(), Some("main"));
}

#[test]
fn tag_push_payload_parses() {
    let Event::Push(push) = load("push", "push_tag.json").unwrap() else {
        panic!("not a push")
    };
    assert_eq!(push.tag(), Some("v1.4.0"));
    assert!(push.created);
    assert_eq!(push.before, "0000000000000000000000000000000000000000");
    assert!(push.commits.is_empty());
}

#[test]
fn pull_request_payloads_parse_with_the_target_flag() {
    let Event::PullRequest(pr) = load("pull_request", "pull_request.json").unwrap() else {
        panic!("not a PR")
    };
    assert!(!pr.target);
    assert_eq!(pr.action, "opened");
    assert_eq!(pr.number, 42);
    assert_eq!(pr.pull_request.title, "fix(parser): handle empty bodies");
    assert_eq!(pr.pull_request.base.git_ref, "main");
    assert_eq!(pr.pull_request.base.sha, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    assert_eq!(pr.pull_request.head.git_ref, "fix/empty-bodies");
    assert_eq!(pr.pull_request.head.sha, "9f2b4d1c5e3a7b8c0d1e2f3a4b5c6d7e8f9a0b1c");
    assert_eq!(
        pr.pull_request.head.repo.as_ref().unwrap().full_name,
        "contributor/shipgate-demo"
    );
    assert!(pr.is_from_fork());
    assert_eq!(pr.pull_request.user.login, "contributor");
    assert!(pr.pull_request.draft);

    let event = load("pull_request_target", "pull_request.json").unwrap();
    assert_eq!(event.name(), "pull_request_target");
    let Event::PullRequest(target) = event else {
        panic!("not a PR")
    };
    assert!(target.target);
}

#[test]
fn merge_group_payload_parses() {
    let Event::MergeGroup(group) = load("merge_group", "merge_group.json").unwrap() else {
        panic!("not a merge group")
    };
    assert_eq!(group.action, "checks_requested");
    assert_eq!(group.merge_group.head_sha, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
    assert_eq!(
        group.merge_group.head_ref,
        "refs/heads/gh-readonly-queue/main/pr-104-6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    );
    assert_eq!(group.merge_group.base_sha, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    assert_eq!(group.merge_group.base_ref, "refs/heads/main");
}

#[test]
fn workflow_dispatch_payload_parses_typed_inputs() {
    let Event::WorkflowDispatch(dispatch) = load("workflow_dispatch", "workflow_dispatch.json").unwrap() else {
        panic!("not a dispatch")
    };
    assert_eq!(dispatch.git_ref, "refs/heads/main");
    assert_eq!(dispatch.input("environment").as_deref(), Some("staging"));
    assert_eq!(dispatch.input("dry_run").as_deref(), Some("true"));
    assert_eq!(dispatch.input("retries").as_deref(), Some("3"));
    assert_eq!(dispatch.input("missing"), None);

    let no_inputs = Event::from_json(
        "workflow_dispatch",
        r#"{"ref":"refs/heads/main","inputs":null,"repository":{"full_name":"a/b"}}"#,
    )
    .unwrap();
    let Event::WorkflowDispatch(no_inputs) = no_inputs else {
        panic!("not a dispatch")
    };
    assert!(no_inputs.inputs.is_empty());
}

#[test]
fn other_events_are_not_parsed() {
    let event = Event::load(&Runtime::from_env_map([("GITHUB_EVENT_NAME", "schedule")])).unwrap();
    assert_eq!(
        event,
        Event::Other {
            name: "schedule".into()
        }
    );
}

#[test]
fn a_missing_or_malformed_payload_is_a_usage_error_naming_the_path() {
    let err = load("push", "does-not-exist.json").unwrap_err();
    assert_eq!(err.exit_code(), crate::exit::ExitCode::Usage);
    assert!(err.to_string().contains("does-not-exist.json"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("event.json");
    std::fs::write(&path, r#"{"ref":"refs/heads/main","before":"a","after":7}"#).unwrap();
    let err = Event::load(&Runtime::from_env_map([
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_EVENT_PATH", path.to_str().unwrap()),
    ]))
    .unwrap_err();
    let message = err.to_string();
    assert_eq!(err.exit_code(), crate::exit::ExitCode::Usage);
    assert!(message.contains(path.to_str().unwrap()), "{message}");
    assert!(message.contains("at `after`"), "{message}");

    let err = Event::load(&Runtime::from_env_map([("GITHUB_EVENT_NAME", "push")])).unwrap_err();
    assert!(err.to_string().contains("GITHUB_EVENT_PATH"), "{err}");
}
