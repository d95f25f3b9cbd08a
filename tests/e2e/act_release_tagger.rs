//! The release-tagger action under act: a repository with a release and two
//! releasable commits, `origin` a local bare repository. `next` reports the
//! version, `release` pushes the tag, and the outputs say so.

use shipgate_testkit::act::{ActOptions, ActRepo, git};

#[test]
fn release_action_pushes_the_tag_and_sets_outputs() {
    let repo = ActRepo::new("release-tagger.yml");
    repo.git(&["commit", "--quiet", "--allow-empty", "-m", "feat: first"]);
    repo.git(&["tag", "-a", "v1.4.0", "-m", "Release version 1.4.0"]);
    repo.git(&[
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        "fix(cli): handle empty input (#12)",
    ]);
    repo.git(&[
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        "feat(api): add the export endpoint",
    ]);
    let remote = repo.scratch_dir().join("origin.git");
    git(repo.scratch_dir(), &["init", "--quiet", "--bare", "origin.git"]);
    let remote_url = format!("file://{}", remote.display());
    repo.git(&["remote", "add", "origin", &remote_url]);
    repo.git(&["push", "--quiet", "origin", "main", "--tags"]);

    let act = repo.run(&ActOptions::event("push"));
    assert!(act.success, "act failed; its output:\n{}", act.log);

    assert_eq!(repo.result("next.version", &act), "1.5.0", "{}", act.log);
    assert_eq!(repo.result("next.bump", &act), "minor");
    assert_eq!(repo.result("release.version", &act), "1.5.0");
    assert_eq!(repo.result("release.previous-version", &act), "1.4.0");
    assert_eq!(repo.result("release.tag", &act), "v1.5.0");
    assert_eq!(repo.result("release.bump", &act), "minor");
    assert_eq!(repo.result("release.released", &act), "true");
    let changelog = repo.result("release.changelog", &act);
    assert!(changelog.contains("### Features"), "{changelog}");
    assert!(changelog.contains("add the export endpoint"), "{changelog}");

    // The tag reached the remote, on the commit act ran for, annotated with the seeds' message.
    let tagged = git(&remote, &["rev-parse", "v1.5.0^{commit}"]);
    assert_eq!(tagged, git(repo.path(), &["rev-parse", "HEAD"]));
    assert_eq!(git(&remote, &["cat-file", "-t", "v1.5.0"]), "tag");
    assert_eq!(
        git(&remote, &["tag", "-l", "--format=%(contents:subject)", "v1.5.0"]),
        "Release version 1.5.0"
    );
}
