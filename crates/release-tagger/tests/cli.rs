//! The release-tagger binary against scripted fixture repositories, bare
//! remotes and the stateful fake GitHub.

mod common;

use std::process::Command;

use common::*;
use shipgate_testkit::FakeGitHub;
use shipgate_testkit::cli::step_outputs;
use shipgate_testkit::git::GitFixture;

#[test]
fn next_prints_the_version_and_json_and_explains() {
    let fixture = released_repo();
    let out = ok(run(&fixture, &["next"]));
    assert_eq!(stdout(&out), "1.3.0\n");

    let out = ok(run(&fixture, &["next", "--json"]));
    let doc = json(&out);
    assert_eq!(doc["current"], "1.2.0");
    assert_eq!(doc["next"], "1.3.0");
    assert_eq!(doc["bump"], "minor");
    assert_eq!(doc["tag"], "v1.3.0");
    let commits = doc["commits"].as_array().unwrap();
    assert_eq!(commits.len(), 2, "chore does not drive the release: {doc}");
    assert_eq!(commits[0]["type"], "feat");
    assert_eq!(commits[0]["scope"], "api");
    assert_eq!(commits[0]["summary"], "add the export endpoint");
    assert_eq!(commits[0]["breaking"], false);
    assert_eq!(commits[0]["sha"].as_str().unwrap().len(), 40);

    let out = ok(run(&fixture, &["next", "--explain"]));
    assert_eq!(stdout(&out), "1.3.0\n", "the explanation stays off stdout");
    insta::assert_snapshot!("next_explain", stderr(&out));
}

#[test]
fn nothing_releasable_is_empty_stdout_and_bump_none() {
    let fixture = GitFixture::new();
    fixture.commit("feat: first");
    fixture.tag_annotated("v1.0.0", "Release version 1.0.0");
    fixture.commit("docs: readme");
    fixture.commit("ci: cache");
    let out = ok(run(&fixture, &["next"]));
    assert_eq!(stdout(&out), "");
    let doc = json(&ok(run(&fixture, &["next", "--json"])));
    assert_eq!(doc["bump"], "none");
    assert_eq!(doc["next"], serde_json::Value::Null);
    assert_eq!(doc["current"], "1.0.0");
    assert_eq!(doc["commits"], serde_json::json!([]));
}

#[test]
fn next_sets_action_outputs() {
    let fixture = released_repo();
    let dir = tempfile::tempdir().unwrap();
    let (output, summary) = actions_env(dir.path());
    let out = run_in(
        fixture.path(),
        &["next", "--pre", "rc"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", output.to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ],
    );
    let out = ok(out);
    assert_eq!(stdout(&out).lines().last(), Some("1.3.0-rc.1"));
    let values = step_outputs(&output);
    assert_eq!(values["version"], "1.3.0-rc.1");
    assert_eq!(values["previous-version"], "1.2.0");
    assert_eq!(values["tag"], "v1.3.0-rc.1");
    assert_eq!(values["bump"], "minor");
    assert!(values.contains_key("tool-version"));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let fixture = released_repo();
    let out = run(&fixture, &["next", "--pre", "rc.1"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("not a pre-release identifier"),
        "{}",
        stderr(&out)
    );

    let outside = tempfile::tempdir().unwrap();
    let out = run_in(outside.path(), &["next"], &[]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("not inside a git repository"), "{}", stderr(&out));

    let out = run(&fixture, &["tag", "1.x"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn shallow_clone_without_deepening_names_fetch_depth_0() {
    let origin = released_repo();
    let shallow = GitFixture::shallow_clone_of(&origin, 1);
    let out = run_in(
        shallow.path(),
        &["next"],
        &[("SHIPGATE_RELEASE_DEEPEN_SHALLOW", "false")],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("fetch-depth: 0"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "never a silent 0.0.0");
    let out = ok(run(&shallow, &["next"]));
    assert_eq!(stdout(&out), "1.3.0\n");
}

#[test]
fn rc_sequence_through_tag_then_final() {
    let fixture = released_repo();
    let out = ok(run(&fixture, &["tag", "--pre", "rc"]));
    assert_eq!(stdout(&out), "v1.3.0-rc.1\n");
    fixture.commit("fix: rc feedback");
    assert_eq!(stdout(&ok(run(&fixture, &["tag", "--pre", "rc"]))), "v1.3.0-rc.2\n");
    assert_eq!(stdout(&ok(run(&fixture, &["next"]))), "1.3.0\n");
    let doc = json(&ok(run(&fixture, &["next", "--json"])));
    assert_eq!(doc["current"], "1.3.0-rc.2");
}

#[test]
fn tag_is_annotated_idempotent_and_refuses_to_move() {
    let fixture = released_repo();
    let head = fixture.head();
    let out = ok(run(&fixture, &["tag", "--json"]));
    let doc = json(&out);
    assert_eq!(doc["tag"], "v1.3.0");
    assert_eq!(doc["created"], true);
    assert_eq!(fixture.run_git(&["cat-file", "-t", "v1.3.0"]), "tag\n");
    assert_eq!(
        fixture.run_git(&["tag", "-l", "--format=%(contents)", "v1.3.0"]).trim(),
        "Release version 1.3.0"
    );
    assert_eq!(fixture.rev_parse("v1.3.0"), head);

    // Same commit again: success, nothing new.
    let doc = json(&ok(run(&fixture, &["tag", "1.3.0", "--json"])));
    assert_eq!(doc["created"], false);
    let out = ok(run(&fixture, &["tag"]));
    assert!(
        stderr(&out).contains("HEAD is already released as v1.3.0"),
        "{}",
        stderr(&out)
    );

    // Another commit: exit 1, the tag stays where it was.
    fixture.commit("fix: later");
    let out = run(&fixture, &["tag", "1.3.0"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("tag `v1.3.0` already exists on"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fixture.rev_parse("v1.3.0"), head);
}

#[test]
fn tag_dry_run_changes_nothing() {
    let fixture = released_repo();
    let remote = fixture.bare_remote();
    let out = ok(run(&fixture, &["tag", "--push", "--floating", "--dry-run"]));
    assert!(stderr(&out).contains("dry run"), "{}", stderr(&out));
    assert!(fixture.run_git(&["tag", "-l", "v1.3*", "v1", "v1.3"]).is_empty());
    assert_eq!(remote.resolve("refs/tags/v1.3.0"), None);
}

#[test]
fn tag_pushes_to_a_real_remote_and_moves_floating_tags() {
    let fixture = released_repo();
    let remote = fixture.bare_remote();
    ok(run(&fixture, &["tag", "--push", "--floating"]));
    let head = fixture.head();
    assert_eq!(remote.resolve("refs/tags/v1.3.0"), Some(head.clone()));
    assert_eq!(remote.resolve("refs/tags/v1"), Some(head.clone()));
    assert_eq!(remote.resolve("refs/tags/v1.3"), Some(head.clone()));

    fixture.commit("fix: patch it");
    ok(run(&fixture, &["tag", "--push", "--floating"]));
    let head = fixture.head();
    assert_eq!(remote.resolve("refs/tags/v1.3.1"), Some(head.clone()));
    assert_eq!(remote.resolve("refs/tags/v1"), Some(head.clone()), "v1 moved");
    assert_eq!(remote.resolve("refs/tags/v1.3"), Some(head), "v1.3 moved");
    // The floating tags are not semver and never count as releases.
    assert_eq!(stdout(&ok(run(&fixture, &["next"]))), "");
    // Re-running after a successful push is still success.
    ok(run(&fixture, &["tag", "--push", "1.3.1"]));
}

#[test]
fn tag_signs_with_an_ssh_key() {
    let fixture = released_repo();
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("id_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "tester@shipgate.invalid", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen is needed for tag signing tests: apt-get install openssh-client");
    assert!(made.success());
    fixture.run_git(&["config", "gpg.format", "ssh"]);
    fixture.run_git(&["config", "user.signingkey", key.to_str().unwrap()]);
    ok(run(&fixture, &["tag", "--sign"]));
    let raw = fixture.run_git(&["cat-file", "-p", "v1.3.0"]);
    assert!(raw.contains("-----BEGIN SSH SIGNATURE-----"), "{raw}");
    assert!(raw.contains("Release version 1.3.0"), "{raw}");
}

const LINK_ENV: &[(&str, &str)] = &[
    ("GITHUB_SERVER_URL", "https://github.example.com"),
    ("GITHUB_REPOSITORY", "acme/widgets"),
];

#[test]
fn changelog_groups_and_links() {
    let fixture = released_repo();
    fixture.commit("perf: cache lookups");
    fixture.commit("feat!: drop the legacy flag\n\nBREAKING CHANGE: `--legacy` is gone");
    let out = ok(run_in(fixture.path(), &["changelog"], LINK_ENV));
    let text = stdout(&out);
    // Groups in the seeds' order, the breaking note, PR and commit links; the
    // chore is in no group.
    insta::assert_snapshot!("changelog_groups_and_links", text);

    let doc = json(&ok(run_in(fixture.path(), &["changelog", "--json"], LINK_ENV)));
    assert_eq!(doc["release_version"], "2.0.0");
    assert_eq!(doc["groups"][0]["title"], "Breaking Changes");
    assert_eq!(doc["markdown"].as_str().unwrap(), text);
}

#[test]
fn changelog_links_come_from_the_origin_remote() {
    let fixture = released_repo();
    fixture.run_git(&["remote", "add", "origin", "git@github.com:acme/gadgets.git"]);
    let text = stdout(&ok(run(&fixture, &["changelog"])));
    insta::assert_snapshot!("changelog_links_from_origin", text);
}

#[test]
fn changelog_output_prepends_idempotently() {
    let fixture = released_repo();
    fixture.write_file(
        "CHANGELOG.md",
        "# Changelog\n\nAll notable changes.\n\n## [1.2.0] - 2024-01-01\n\n- old entry\n",
    );
    ok(run(&fixture, &["changelog", "--output", "CHANGELOG.md"]));
    let once = std::fs::read_to_string(fixture.path().join("CHANGELOG.md")).unwrap();
    insta::assert_snapshot!("changelog_prepended", once);
    ok(run(&fixture, &["changelog", "--output", "CHANGELOG.md"]));
    let twice = std::fs::read_to_string(fixture.path().join("CHANGELOG.md")).unwrap();
    assert_eq!(once, twice);

    // A new commit replaces the unreleased section instead of adding one.
    fixture.commit("fix: one more");
    ok(run(&fixture, &["changelog", "--output", "CHANGELOG.md"]));
    let updated = std::fs::read_to_string(fixture.path().join("CHANGELOG.md")).unwrap();
    insta::assert_snapshot!("changelog_unreleased_section_replaced", updated);

    ok(run(&fixture, &["changelog", "--output", "OTHER.md", "--dry-run"]));
    assert!(!fixture.path().join("OTHER.md").exists());
}

#[test]
fn changelog_all_regenerates_history_and_tag_renders_one_release() {
    let fixture = released_repo();
    fixture.tag_annotated("v1.3.0", "Release version 1.3.0");
    fixture.commit("fix: after 1.3.0");
    let text = stdout(&ok(run(&fixture, &["changelog", "--all"])));
    insta::assert_snapshot!("changelog_all", text);
    let section_130 = &text[text.find("## 1.3.0").unwrap()..text.find("## 1.2.0").unwrap()];

    let one = stdout(&ok(run(&fixture, &["changelog", "--tag", "v1.3.0"])));
    assert_eq!(one.trim_end(), section_130.trim_end());

    fixture.write_file("CHANGELOG.md", "stale\n");
    ok(run(&fixture, &["changelog", "--all", "--output", "CHANGELOG.md"]));
    assert_eq!(
        std::fs::read_to_string(fixture.path().join("CHANGELOG.md")).unwrap(),
        text
    );
}

#[test]
fn a_latin1_commit_reads_as_git_shows_it() {
    let fixture = GitFixture::new();
    fixture.commit("feat: first");
    fixture.tag_annotated("v1.0.0", "Release version 1.0.0");
    // Old tooling wrote Latin-1 and said so in the commit's `encoding` header.
    let message = fixture.path().join(".git").join("LATIN1_MSG");
    std::fs::write(&message, b"feat(menu): caf\xe9 cr\xe8me br\xfbl\xe9e\n").unwrap();
    fixture.run_git(&[
        "-c",
        "i18n.commitEncoding=ISO-8859-1",
        "commit",
        "--quiet",
        "--allow-empty",
        "--file",
        message.to_str().unwrap(),
    ]);
    assert!(
        fixture
            .run_git(&["cat-file", "-p", "HEAD"])
            .contains("\nencoding ISO-8859-1\n")
    );
    let shown_by_git = fixture.run_git(&["log", "-1", "--format=%s"]);
    assert_eq!(shown_by_git.trim(), "feat(menu): café crème brûlée");
    let changelog = stdout(&ok(run(&fixture, &["changelog"])));
    insta::assert_snapshot!("latin1_changelog", changelog);
}

#[test]
fn changelog_template_is_customisable() {
    let fixture = released_repo();
    fixture.write_file(
        "release.j2",
        "v={{ version }}{% for g in groups %} [{{ g.title }}:{{ g.entries | length }}]{% endfor %}\n",
    );
    fixture.write_file("shipgate.toml", "[release]\nchangelog_template = \"release.j2\"\n");
    let text = stdout(&ok(run(&fixture, &["changelog"])));
    assert_eq!(text, "v=1.3.0 [Features:1] [Bug Fixes:1]\n");

    fixture.write_file("release.j2", "{% for %}");
    let out = run(&fixture, &["changelog"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("invalid changelog template"), "{}", stderr(&out));
}

#[test]
fn release_outside_the_production_branch_says_so() {
    let fixture = released_repo();
    fixture.branch("develop");
    fixture.checkout("develop");
    let out = ok(run(&fixture, &["release"]));
    assert!(
        stderr(&out).contains("not releasing: HEAD is on `develop`, releases are made from `main`"),
        "{}",
        stderr(&out)
    );
    let out = run(&fixture, &["release", "--strict"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(fixture.run_git(&["tag", "-l", "v1.3.0"]).is_empty());
}

fn github_env<'a>(fake_url: &'a str, token: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("GITHUB_API_URL", fake_url),
        ("GITHUB_TOKEN", token),
        ("GITHUB_REPOSITORY", "acme/widgets"),
        ("GITHUB_SERVER_URL", "https://github.com"),
    ]
}

/// A released repository with a bare `origin`, the fake GitHub holding
/// acme/widgets, and the files of an Actions job.
struct ReleaseJob {
    fixture: GitFixture,
    remote: shipgate_testkit::git::BareRemote,
    fake: FakeGitHub,
    url: String,
    output: std::path::PathBuf,
    summary: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl ReleaseJob {
    fn new() -> ReleaseJob {
        let fixture = released_repo();
        let remote = fixture.bare_remote();
        let fake = FakeGitHub::with_repo("acme", "widgets");
        let url = fake.url();
        let dir = tempfile::tempdir().unwrap();
        let (output, summary) = actions_env(dir.path());
        ReleaseJob {
            fixture,
            remote,
            fake,
            url,
            output,
            summary,
            _dir: dir,
        }
    }

    fn env(&self) -> Vec<(&str, &str)> {
        let mut env = github_env(&self.url, self.fake.token());
        env.extend([
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", self.output.to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", self.summary.to_str().unwrap()),
        ]);
        env
    }
}

#[test]
fn release_tags_pushes_publishes_and_sets_outputs() {
    let job = ReleaseJob::new();
    let env = job.env();
    let out = ok(run_in(job.fixture.path(), &["release", "--push"], &env));
    assert_eq!(stdout(&out).lines().last(), Some("1.3.0"), "{}", stdout(&out));
    // The only place the token may appear is the runner's own mask command.
    let shown = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        shown
            .lines()
            .all(|line| line.starts_with("::add-mask::") || !line.contains(job.fake.token())),
        "{shown}"
    );
    assert_eq!(job.remote.resolve("refs/tags/v1.3.0"), Some(job.fixture.head()));
    let values = step_outputs(&job.output);
    assert_eq!(values["version"], "1.3.0");
    assert_eq!(values["previous-version"], "1.2.0");
    assert_eq!(values["tag"], "v1.3.0");
    assert_eq!(values["bump"], "minor");
    assert_eq!(values["released"], "true");
    assert_eq!(
        values["release-url"],
        "https://github.com/acme/widgets/releases/tag/v1.3.0"
    );
    insta::assert_snapshot!("release_changelog_output", values["changelog"]);
    let summary_text = std::fs::read_to_string(&job.summary).unwrap();
    insta::assert_snapshot!("release_summary", summary_text);
    {
        let state = job.fake.state();
        let repo = state.repo("acme", "widgets").unwrap();
        assert_eq!(repo.releases.len(), 1);
        let release = &repo.releases[0];
        assert_eq!(release.tag_name, "v1.3.0");
        assert!(!release.prerelease && !release.draft);
        insta::assert_snapshot!("release_body", release.body.as_deref().unwrap());
    }
    // The second run finds nothing new and says so.
    std::fs::write(&job.output, "").unwrap();
    ok(run_in(job.fixture.path(), &["release", "--push"], &env));
    assert_eq!(step_outputs(&job.output)["released"], "false");
    assert_eq!(job.fake.state().repo("acme", "widgets").unwrap().releases.len(), 1);
}

/// Moves the bare remote away, so `origin` cannot be reached, until the
/// returned guard is dropped.
struct Unreachable<'a> {
    remote: &'a shipgate_testkit::git::BareRemote,
    moved: std::path::PathBuf,
}

impl<'a> Unreachable<'a> {
    fn new(remote: &'a shipgate_testkit::git::BareRemote) -> Self {
        let moved = remote.path().with_extension("moved");
        std::fs::rename(remote.path(), &moved).unwrap();
        Unreachable { remote, moved }
    }
}

impl Drop for Unreachable<'_> {
    fn drop(&mut self) {
        std::fs::rename(&self.moved, self.remote.path()).unwrap();
    }
}

#[test]
fn a_tag_whose_push_failed_is_pushed_by_the_rerun() {
    let fixture = released_repo();
    let remote = fixture.bare_remote();
    let head = fixture.head();
    {
        let _away = Unreachable::new(&remote);
        let out = run(&fixture, &["tag", "--push", "--floating"]);
        assert_eq!(code(&out), 3, "{}", stderr(&out));
        assert_eq!(fixture.rev_parse("v1.3.0"), head, "the local tag stays");
        // Still unreachable: the rerun cannot tell whether origin has the
        // tag, and says so instead of reporting success.
        let out = run(&fixture, &["tag", "--push", "--floating"]);
        assert_eq!(code(&out), 3, "{}", stderr(&out));
        assert!(stderr(&out).contains("git ls-remote failed"), "{}", stderr(&out));
    }
    assert_eq!(remote.resolve("refs/tags/v1.3.0"), None);

    let out = ok(run(&fixture, &["tag", "--push", "--floating"]));
    assert_eq!(stdout(&out), "v1.3.0\n");
    assert!(
        stderr(&out).contains("HEAD is already released as v1.3.0, but origin lacks the tag: pushing it"),
        "{}",
        stderr(&out)
    );
    assert_eq!(remote.resolve("refs/tags/v1.3.0"), Some(head.clone()));
    assert_eq!(remote.resolve("refs/tags/v1"), Some(head.clone()));
    assert_eq!(remote.resolve("refs/tags/v1.3"), Some(head.clone()));

    let doc = json(&ok(run(&fixture, &["tag", "--push", "--json"])));
    assert_eq!(doc["tag"], "v1.3.0");
    assert_eq!(doc["created"], false);
    let out = ok(run(&fixture, &["tag", "--push"]));
    assert!(
        stderr(&out).contains("HEAD is already released as v1.3.0, and origin has it"),
        "{}",
        stderr(&out)
    );

    // A v1.3.0 on origin that is not ours is never overwritten.
    fixture.run_git(&["tag", "-d", "v1.3.0"]);
    fixture.tag_annotated("v1.3.0", "Release version 1.3.0 (made again)");
    let out = run(&fixture, &["tag", "--push"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("origin has another tag named v1.3.0"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_release_whose_push_failed_is_finished_by_the_rerun() {
    let job = ReleaseJob::new();
    let env = job.env();
    {
        let _away = Unreachable::new(&job.remote);
        let out = run_in(job.fixture.path(), &["release", "--push"], &env);
        assert_eq!(code(&out), 3, "{}", stderr(&out));
    }
    assert_eq!(
        job.fixture.rev_parse("v1.3.0"),
        job.fixture.head(),
        "the local tag stays"
    );
    assert_eq!(job.remote.resolve("refs/tags/v1.3.0"), None);
    assert!(job.fake.state().repo("acme", "widgets").unwrap().releases.is_empty());

    std::fs::write(&job.output, "").unwrap();
    let out = ok(run_in(job.fixture.path(), &["release", "--push"], &env));
    assert_eq!(stdout(&out).lines().last(), Some("1.3.0"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("v1.3.0 marks HEAD but origin lacks it: finishing that release"),
        "{}",
        stderr(&out)
    );
    assert_eq!(job.remote.resolve("refs/tags/v1.3.0"), Some(job.fixture.head()));
    let values = step_outputs(&job.output);
    assert_eq!(values["released"], "true");
    assert_eq!(values["version"], "1.3.0");
    assert_eq!(values["previous-version"], "1.2.0");
    assert_eq!(values["bump"], "minor");
    {
        let state = job.fake.state();
        let releases = &state.repo("acme", "widgets").unwrap().releases;
        assert_eq!(releases.len(), 1);
        assert_eq!(releases[0].tag_name, "v1.3.0");
        assert!(releases[0].body.as_deref().unwrap().contains("add the export endpoint"));
    }

    // Finished: the next run has nothing to do.
    std::fs::write(&job.output, "").unwrap();
    ok(run_in(job.fixture.path(), &["release", "--push"], &env));
    assert_eq!(step_outputs(&job.output)["released"], "false");
    assert_eq!(job.fake.state().repo("acme", "widgets").unwrap().releases.len(), 1);
}

#[test]
fn publish_updates_instead_of_duplicating() {
    let fixture = released_repo();
    fixture.tag_annotated("v1.3.0-rc.1", "Release version 1.3.0-rc.1");
    let fake = FakeGitHub::with_repo("acme", "widgets");
    let url = fake.url();
    let env = github_env(&url, fake.token());
    let doc = json(&ok(run_in(fixture.path(), &["publish", "--draft", "--json"], &env)));
    assert_eq!(doc["tag"], "v1.3.0-rc.1");
    assert_eq!(doc["created"], true);
    let doc = json(&ok(run_in(fixture.path(), &["publish", "--json"], &env)));
    assert_eq!(doc["created"], false);
    let state = fake.state();
    let releases = &state.repo("acme", "widgets").unwrap().releases;
    assert_eq!(releases.len(), 1, "re-running updates the release");
    assert!(releases[0].prerelease, "rc versions are pre-releases");
    assert!(!releases[0].draft, "the second run published the draft");
    assert!(releases[0].body.as_deref().unwrap().starts_with("## [1.3.0-rc.1]"));
}

#[test]
fn publish_without_a_token_or_on_an_untagged_head_is_exit_2() {
    let fixture = released_repo();
    let out = run_in(
        fixture.path(),
        &["publish", "--tag", "v1.2.0"],
        &[("GITHUB_REPOSITORY", "acme/widgets")],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("needs a GitHub token"), "{}", stderr(&out));
    let out = run_in(fixture.path(), &["publish"], &[("GITHUB_REPOSITORY", "acme/widgets")]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("HEAD has no release tag"), "{}", stderr(&out));
}

#[test]
fn publish_failures_are_external_and_never_leak_the_token() {
    let fixture = released_repo();
    let fake = FakeGitHub::with_repo("acme", "widgets");
    fake.state()
        .fail_next("/repos/acme/widgets/releases", vec![502, 502, 502, 502, 502, 502]);
    let url = fake.url();
    let env = github_env(&url, fake.token());
    let out = run_in(fixture.path(), &["publish", "--tag", "v1.2.0"], &env);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(!stderr(&out).contains(fake.token()), "{}", stderr(&out));
}

#[test]
fn release_checks_publishing_before_tagging() {
    let fixture = released_repo();
    let _remote = fixture.bare_remote();
    let out = run(&fixture, &["release"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("add --push, or --no-publish"), "{}", stderr(&out));
    let out = run_in(
        fixture.path(),
        &["release", "--push"],
        &[("GITHUB_REPOSITORY", "acme/widgets")],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("needs a GitHub token"), "{}", stderr(&out));
    assert!(
        fixture.run_git(&["tag", "-l", "v1.3.0"]).is_empty(),
        "nothing half-done"
    );

    let out = ok(run(&fixture, &["release", "--push", "--no-publish"]));
    assert_eq!(stdout(&out), "1.3.0\n");
    assert_eq!(fixture.rev_parse("v1.3.0"), fixture.head());
}

fn sha256_hex(content: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(content))
}

/// The assets of the one release on the fake: name to content.
fn release_assets(fake: &FakeGitHub) -> Vec<(String, Vec<u8>)> {
    let state = fake.state();
    let releases = &state.repo("acme", "widgets").unwrap().releases;
    assert_eq!(releases.len(), 1, "one release, never a duplicate");
    releases[0]
        .assets
        .iter()
        .map(|asset| (asset.name.clone(), asset.content.clone()))
        .collect()
}

#[test]
fn publish_uploads_assets_with_sha256_files_and_replaces_them_on_rerun() {
    let fixture = released_repo();
    let dist = fixture.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    std::fs::write(dist.join("widgets-x86_64-linux.tar.gz"), b"\x1f\x8b first build").unwrap();
    std::fs::write(dist.join("widgets-aarch64-linux.tar.gz"), b"\x1f\x8b arm build").unwrap();
    std::fs::write(dist.join("SBOM.json"), br#"{"bomFormat":"CycloneDX"}"#).unwrap();
    // A checksum file of the user's own gives way to the one publish writes.
    std::fs::write(dist.join("SBOM.json.sha256"), b"stale  dist/SBOM.json\n").unwrap();
    let fake = FakeGitHub::with_repo("acme", "widgets");
    let url = fake.url();
    let env = github_env(&url, fake.token());
    let args = [
        "publish",
        "--tag",
        "v1.2.0",
        "--asset",
        "dist/*.tar.gz",
        "--asset",
        "dist/SBOM.json*",
        "--json",
    ];
    let doc = json(&ok(run_in(fixture.path(), &args, &env)));
    assert_eq!(doc["created"], true);
    let names: Vec<&str> = doc["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|asset| asset["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "widgets-aarch64-linux.tar.gz",
            "widgets-aarch64-linux.tar.gz.sha256",
            "widgets-x86_64-linux.tar.gz",
            "widgets-x86_64-linux.tar.gz.sha256",
            "SBOM.json",
            "SBOM.json.sha256",
        ]
    );
    assert_eq!(doc["assets"][2]["sha256"], sha256_hex(b"\x1f\x8b first build"));
    assert_eq!(doc["assets"][2]["replaced"], false);
    assert_eq!(
        doc["assets"][2]["url"],
        "https://github.com/acme/widgets/releases/download/v1.2.0/widgets-x86_64-linux.tar.gz"
    );
    let assets = release_assets(&fake);
    assert_eq!(assets.len(), 6);
    let content = |name: &str| assets.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(content("widgets-x86_64-linux.tar.gz"), b"\x1f\x8b first build");
    assert_eq!(
        String::from_utf8(content("widgets-x86_64-linux.tar.gz.sha256")).unwrap(),
        format!("{}  widgets-x86_64-linux.tar.gz\n", sha256_hex(b"\x1f\x8b first build"))
    );
    assert_eq!(
        String::from_utf8(content("SBOM.json.sha256")).unwrap(),
        format!("{}  SBOM.json\n", sha256_hex(br#"{"bomFormat":"CycloneDX"}"#))
    );
    // Uploads go to the release's upload_url, as raw bytes.
    let uploads: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|request| request.method == "POST" && request.path.ends_with("/assets"))
        .collect();
    assert_eq!(uploads.len(), 6);
    for upload in &uploads {
        assert!(
            upload.path.starts_with("/uploads/repos/acme/widgets/releases/"),
            "{}",
            upload.path
        );
        assert_eq!(upload.header("content-type"), Some("application/octet-stream"));
        assert!(
            upload.query.as_deref().unwrap().starts_with("name="),
            "{:?}",
            upload.query
        );
    }

    // A rebuilt asset replaces the old one: same names, new content.
    std::fs::write(dist.join("widgets-x86_64-linux.tar.gz"), b"\x1f\x8b second build").unwrap();
    let doc = json(&ok(run_in(fixture.path(), &args, &env)));
    assert_eq!(doc["created"], false);
    assert!(doc["assets"].as_array().unwrap().iter().all(|a| a["replaced"] == true));
    let assets = release_assets(&fake);
    assert_eq!(assets.len(), 6, "re-running replaces assets, never duplicates them");
    let content = |name: &str| assets.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(content("widgets-x86_64-linux.tar.gz"), b"\x1f\x8b second build");
    assert_eq!(
        String::from_utf8(content("widgets-x86_64-linux.tar.gz.sha256")).unwrap(),
        format!(
            "{}  widgets-x86_64-linux.tar.gz\n",
            sha256_hex(b"\x1f\x8b second build")
        )
    );
    let deletes = fake
        .requests()
        .into_iter()
        .filter(|request| request.method == "DELETE" && request.status == 204)
        .count();
    assert_eq!(deletes, 6);
}

#[test]
fn a_missing_asset_is_exit_2_before_anything_is_created() {
    let fixture = released_repo();
    let _remote = fixture.bare_remote();
    std::fs::write(fixture.path().join("present.txt"), b"here").unwrap();
    let fake = FakeGitHub::with_repo("acme", "widgets");
    let url = fake.url();
    let env = github_env(&url, fake.token());
    for (asset, said) in [
        ("dist/widgets.tar.gz", "--asset `dist/widgets.tar.gz`: no such file"),
        ("dist/*.zip", "--asset `dist/*.zip` matches no file"),
    ] {
        let out = run_in(
            fixture.path(),
            &["publish", "--tag", "v1.2.0", "--asset", "present.txt", "--asset", asset],
            &env,
        );
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
        assert!(stderr(&out).contains(said), "{}", stderr(&out));
        let out = run_in(fixture.path(), &["release", "--push", "--asset", asset], &env);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(stderr(&out).contains(said), "{}", stderr(&out));
    }
    assert!(fake.requests().is_empty(), "nothing reached GitHub");
    assert!(
        fixture.run_git(&["tag", "-l", "v1.3.0"]).is_empty(),
        "no tag without its assets"
    );
    let out = run_in(
        fixture.path(),
        &["release", "--push", "--no-publish", "--asset", "present.txt"],
        &env,
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));

    // With the files in place, `release` tags, publishes and attaches.
    let out = ok(run_in(
        fixture.path(),
        &["release", "--push", "--asset", "present.txt", "--json"],
        &env,
    ));
    let doc = json(&out);
    assert_eq!(doc["tag"], "v1.3.0");
    assert_eq!(doc["assets"][0]["name"], "present.txt");
    assert_eq!(doc["assets"][1]["name"], "present.txt.sha256");
    let assets = release_assets(&fake);
    assert_eq!(
        assets,
        vec![
            ("present.txt".to_owned(), b"here".to_vec()),
            (
                "present.txt.sha256".to_owned(),
                format!("{}  present.txt\n", sha256_hex(b"here")).into_bytes()
            ),
        ]
    );
}
