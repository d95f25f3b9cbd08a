//! Conventional-commit lint with commitlint's `@commitlint/config-conventional`
//! rules, configured by `[guard]`.
//!
//! Shared by `message`, `commits` and `pre-push`, so it is synchronous and
//! allocation-light: one message must lint in well under a millisecond.
//! Rule names and messages are commitlint's, so its documentation applies.

use serde::Serialize;
use shipgate_core::commit::{self, MessageLayout};
use shipgate_core::config::{GuardConfig, SpecialCommitPolicy};
use shipgate_core::exit::{Error, Result};

/// Every rule this linter knows, as named in `[guard]` `warning_rules`/`disabled_rules`.
pub const RULES: &[&str] = &[
    "type-empty",
    "type-case",
    "type-enum",
    "subject-empty",
    "subject-case",
    "subject-full-stop",
    "header-max-length",
    "header-trim",
    "body-leading-blank",
    "body-max-line-length",
    "footer-leading-blank",
    "footer-max-line-length",
];

const CASES: &[&str] = &["sentence-case", "start-case", "pascal-case", "upper-case", "lower-case"];

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails the verdict.
    Error,
    /// Reported only.
    Warning,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
}

/// Why a commit was not linted, or why it is refused outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpecialKind {
    Merge,
    Revert,
    Fixup,
    Bot,
    /// A bare version header (`1.2.3`, `chore: 1.2.3`), as `npm version` writes; commitlint ignores these.
    Version,
}

impl SpecialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SpecialKind::Merge => "merge commit",
            SpecialKind::Revert => "git revert commit",
            SpecialKind::Fixup => "fixup!/squash!/amend! commit",
            SpecialKind::Bot => "bot commit",
            SpecialKind::Version => "version commit",
        }
    }

    /// The `[guard]` key that decides what happens to this kind.
    pub fn config_key(self) -> &'static str {
        match self {
            SpecialKind::Merge => "guard.merge_commits",
            SpecialKind::Revert => "guard.revert_commits",
            SpecialKind::Fixup => "guard.fixup_commits",
            SpecialKind::Bot => "guard.bot_commits",
            SpecialKind::Version => "(commitlint's default ignores)",
        }
    }
}

/// What the linter decided about one commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitVerdict {
    /// Set when the commit is of a special kind (merge, revert, ...).
    pub special: Option<SpecialKind>,
    /// True when the commit was not linted because of `special`.
    pub skipped: bool,
    pub findings: Vec<Finding>,
}

impl CommitVerdict {
    /// No error-level finding.
    pub fn passed(&self) -> bool {
        !self.findings.iter().any(|finding| finding.severity == Severity::Error)
    }
}

/// The author of a commit, for the bot rule.
#[derive(Debug, Clone, Copy)]
pub struct Author<'a> {
    pub name: &'a str,
    pub email: &'a str,
}

/// The configured rules, validated once.
#[derive(Debug, Clone)]
pub struct Linter {
    config: GuardConfig,
}

impl Linter {
    /// Validates rule and case names in `config`.
    pub fn new(config: &GuardConfig) -> Result<Linter> {
        for (key, names) in [
            ("guard.warning_rules", &config.warning_rules),
            ("guard.disabled_rules", &config.disabled_rules),
        ] {
            if let Some(unknown) = names.iter().find(|name| !RULES.contains(&name.as_str())) {
                return Err(Error::usage(format!(
                    "{key}: unknown rule `{unknown}` (known: {})",
                    RULES.join(", ")
                )));
            }
        }
        if let Some(unknown) = config
            .subject_case_never
            .iter()
            .find(|name| !CASES.contains(&name.as_str()))
        {
            return Err(Error::usage(format!(
                "guard.subject_case_never: unknown case `{unknown}` (known: {})",
                CASES.join(", ")
            )));
        }
        if config.commit_types.is_empty() {
            return Err(Error::usage("guard.commit_types is empty: no commit could pass"));
        }
        Ok(Linter { config: config.clone() })
    }

    pub fn config(&self) -> &GuardConfig {
        &self.config
    }

    fn severity(&self, rule: &str) -> Option<Severity> {
        if self.config.disabled_rules.iter().any(|r| r == rule) {
            None
        } else if self.config.warning_rules.iter().any(|r| r == rule) {
            Some(Severity::Warning)
        } else {
            Some(Severity::Error)
        }
    }

    /// Lints a commit of history: special kinds first, then the message rules.
    pub fn check_commit(&self, message: &str, parent_count: usize, author: Option<Author<'_>>) -> CommitVerdict {
        let special = self.special_kind(message, parent_count, author);
        let policy = special.map(|kind| self.policy_for(kind));
        match (special, policy) {
            (Some(kind), Some(SpecialCommitPolicy::Skip)) => CommitVerdict {
                special: Some(kind),
                skipped: true,
                findings: Vec::new(),
            },
            (Some(kind), Some(SpecialCommitPolicy::Reject)) => CommitVerdict {
                special: Some(kind),
                skipped: false,
                findings: vec![Finding {
                    rule: "special-commit",
                    severity: Severity::Error,
                    message: format!(
                        "{} is not allowed here ({} = \"reject\")",
                        kind.as_str(),
                        kind.config_key()
                    ),
                }],
            },
            _ => CommitVerdict {
                special,
                skipped: false,
                findings: self.lint_message(message),
            },
        }
    }

    fn policy_for(&self, kind: SpecialKind) -> SpecialCommitPolicy {
        match kind {
            SpecialKind::Merge => self.config.merge_commits,
            SpecialKind::Revert => self.config.revert_commits,
            SpecialKind::Fixup => self.config.fixup_commits,
            SpecialKind::Bot => self.config.bot_commits,
            SpecialKind::Version => SpecialCommitPolicy::Skip,
        }
    }

    /// Which special kind a commit is, if any; bots win over the message's kind.
    pub fn special_kind(&self, message: &str, parent_count: usize, author: Option<Author<'_>>) -> Option<SpecialKind> {
        if let Some(author) = author
            && self.is_bot(author)
        {
            return Some(SpecialKind::Bot);
        }
        let header = commit::layout(message).header;
        if parent_count > 1 || is_merge_header(header) {
            return Some(SpecialKind::Merge);
        }
        if commit::is_fixup(header) {
            return Some(SpecialKind::Fixup);
        }
        // Conventional `revert: x` commits are linted like any other type;
        // git's `Revert "x"` (and `Reapply "x"`) are what commitlint ignores.
        let git_revert = commit::is_revert(message).is_some() && commit::parse(message).is_err();
        if git_revert || header.starts_with("revert ") || header.starts_with("Reapply ") {
            return Some(SpecialKind::Revert);
        }
        if is_version_header(header) {
            return Some(SpecialKind::Version);
        }
        None
    }

    fn is_bot(&self, author: Author<'_>) -> bool {
        self.config.bot_authors.iter().any(|bot| {
            author.name == bot
                || author.email.starts_with(&format!("{bot}@"))
                || author.email.contains(&format!("+{bot}@"))
        })
    }

    /// Lints a message (after removing git comment lines) with every rule.
    pub fn lint_message(&self, message: &str) -> Vec<Finding> {
        let stripped = commit::strip_comments(message);
        let layout = commit::layout(&stripped);
        let mut findings = Vec::new();
        self.lint_header(layout.header, &mut findings);
        self.lint_body_and_footer(&layout, &mut findings);
        findings
    }

    /// Lints a pull request title, which becomes the header of a squash merge.
    pub fn lint_title(&self, title: &str) -> Vec<Finding> {
        let mut findings = Vec::new();
        self.lint_header(title.lines().next().unwrap_or_default(), &mut findings);
        findings
    }

    fn push(&self, findings: &mut Vec<Finding>, rule: &'static str, message: impl FnOnce() -> String) {
        if let Some(severity) = self.severity(rule) {
            findings.push(Finding {
                rule,
                severity,
                message: message(),
            });
        }
    }

    fn lint_header(&self, header: &str, findings: &mut Vec<Finding>) {
        let config = &self.config;
        let max = config.header_max_length as usize;
        let length = js_length(header);
        if length > max {
            self.push(findings, "header-max-length", || {
                format!("header must not be longer than {max} characters, current length is {length}")
            });
        }
        if header.len() != header.trim().len() {
            self.push(findings, "header-trim", || {
                "header must not be surrounded by whitespace".into()
            });
        }
        let parsed = commit::parse(header.trim_start()).ok();
        let (kind, subject) = match &parsed {
            Some(parsed) => (parsed.kind, parsed.description),
            None => ("", ""),
        };
        if kind.is_empty() {
            self.push(findings, "type-empty", || {
                let why = match commit::parse(header.trim_start()) {
                    Err(error) => format!(" ({})", error.kind),
                    Ok(_) => String::new(),
                };
                format!("type may not be empty: write `type(scope): subject`{why}")
            });
        } else {
            if !kind.chars().all(|c| !c.is_uppercase()) {
                self.push(findings, "type-case", || "type must be lower-case".into());
            }
            if !config.commit_types.iter().any(|t| t == kind) {
                self.push(findings, "type-enum", || {
                    format!("type must be one of [{}]", config.commit_types.join(", "))
                });
            }
        }
        if subject.is_empty() {
            self.push(findings, "subject-empty", || "subject may not be empty".into());
        } else if let Some(case) = forbidden_case(subject, &config.subject_case_never) {
            self.push(findings, "subject-case", || {
                format!(
                    "subject must not be {} (found {case}); start it with a lower-case letter",
                    config.subject_case_never.join(", ")
                )
            });
        }
        let stop = config.subject_full_stop.as_str();
        if !stop.is_empty() && !header.ends_with("...") && !header.ends_with(':') && header.ends_with(stop) {
            self.push(findings, "subject-full-stop", || {
                format!("subject may not end with full stop `{stop}`")
            });
        }
    }

    fn lint_body_and_footer(&self, layout: &MessageLayout<'_>, findings: &mut Vec<Finding>) {
        let config = &self.config;
        if layout.body.is_some() || layout.footer.is_some() {
            if !layout.blank_line_after_header {
                let rule = if layout.body.is_some() {
                    "body-leading-blank"
                } else {
                    "footer-leading-blank"
                };
                self.push(findings, rule, || {
                    format!("{} must have leading blank line", &rule[..rule.find('-').unwrap_or(0)])
                });
            }
            if !layout.blank_line_before_footer() {
                self.push(findings, "footer-leading-blank", || {
                    "footer must have leading blank line".into()
                });
            }
        }
        let body_max = config.body_max_line_length as usize;
        if let Some(line) = layout.body_lines().find(|line| js_length(line) > body_max) {
            self.push(findings, "body-max-line-length", || {
                format!(
                    "body's lines must not be longer than {body_max} characters (a line has {})",
                    js_length(line)
                )
            });
        }
        let footer_max = config.footer_max_line_length as usize;
        if let Some(line) = layout.footer_lines().find(|line| js_length(line) > footer_max) {
            self.push(findings, "footer-max-line-length", || {
                format!(
                    "footer's lines must not be longer than {footer_max} characters (a line has {})",
                    js_length(line)
                )
            });
        }
    }
}

/// Length as JavaScript (and so commitlint) counts it: UTF-16 code units.
fn js_length(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// Merge headers git, GitHub and other tools write; commitlint's default ignores.
fn is_merge_header(header: &str) -> bool {
    commit::is_merge_message(header)
        || header.starts_with("Merged ")
        || header.starts_with("Automatic merge")
        || header.starts_with("Auto-merged ")
}

/// `1.2.3` or `chore: 1.2.3` / `chore(release): v1.2.3`, as commitlint's `isSemver` ignore.
fn is_version_header(header: &str) -> bool {
    let mut rest = header;
    if let Some(after) = rest.strip_prefix("chore") {
        let after = match after.strip_prefix('(') {
            Some(scoped) => scoped.split_once(')').map_or(after, |(_, tail)| tail),
            None => after,
        };
        if let Some(tail) = after.strip_prefix(':') {
            rest = tail;
        }
    }
    let version = rest.trim();
    let version = version
        .strip_prefix('v')
        .or_else(|| version.strip_prefix('='))
        .unwrap_or(version);
    semver_like(version)
}

fn semver_like(text: &str) -> bool {
    let core = text.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// Removes `` `...` ``, `"..."` and `'...'` spans as commitlint's `ensureCase` does
/// (quoted text may be a proper name), then trims.
fn without_quoted(subject: &str) -> String {
    let mut kept = String::with_capacity(subject.len());
    let mut rest = subject;
    while let Some(position) = rest.find(['`', '"', '\'']) {
        let quote = rest[position..].chars().next().unwrap_or('`');
        let after = &rest[position + 1..];
        match after.find(quote) {
            Some(close) => {
                kept.push_str(&rest[..position]);
                rest = &after[close + 1..];
            }
            None => {
                kept.push_str(&rest[..position + 1]);
                rest = after;
            }
        }
    }
    kept.push_str(rest);
    kept.trim().to_string()
}

/// The first case in `forbidden` the subject is written in, commitlint-style.
/// Subjects that do not start with a cased letter are never checked.
fn forbidden_case<'c>(subject: &str, forbidden: &'c [String]) -> Option<&'c str> {
    let first = subject.chars().next()?;
    if !(first.is_lowercase() || first.is_uppercase()) {
        return None;
    }
    let input = without_quoted(subject);
    forbidden
        .iter()
        .find(|case| is_in_case(&input, case))
        .map(String::as_str)
}

fn is_in_case(input: &str, case: &str) -> bool {
    let Some(first) = input.chars().next() else {
        // commitlint treats an empty (all-quoted) subject as matching every case.
        return true;
    };
    if first.is_ascii_digit() {
        return true;
    }
    let first_is_upper = !first.is_lowercase();
    let words = || input.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty());
    match case {
        "sentence-case" => first_is_upper,
        "upper-case" => input.to_uppercase() == input,
        "lower-case" => input.to_lowercase() == input,
        // lodash startCase: words joined by single spaces, each capitalised, no punctuation.
        "start-case" => {
            words().collect::<Vec<_>>().join(" ") == input
                && words().all(|word| word.chars().next().is_some_and(|c| !c.is_lowercase()))
        }
        // lodash upperFirst(camelCase): one run of capitalised words, nothing between them.
        "pascal-case" => {
            let chars: Vec<char> = input.chars().collect();
            chars.iter().all(|c| c.is_alphanumeric())
                && first_is_upper
                && !chars
                    .windows(2)
                    .any(|pair| pair[0].is_uppercase() && pair[1].is_uppercase())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linter() -> Linter {
        Linter::new(&GuardConfig::default()).expect("defaults are valid")
    }

    fn rules(message: &str) -> Vec<&'static str> {
        linter().lint_message(message).into_iter().map(|f| f.rule).collect()
    }

    fn errors(message: &str) -> Vec<&'static str> {
        linter()
            .lint_message(message)
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn config_conventional_accepts_the_seed_messages() {
        for message in [
            "feat: add new feature",
            "chore: prepare release v1.2.0",
            "fix: resolve critical issue",
            "feat(api)!: drop v1\n\nBREAKING CHANGE: v1 is gone\n",
            "docs: explain `Eslint` configuration",
            "fix: handle 3 retries",
            "feat: add API v2 endpoint",
            "refactor(parser): split header parsing\n\nLong explanation.\n\nRefs: #12\n",
        ] {
            assert_eq!(rules(message), Vec::<&str>::new(), "{message:?}");
        }
    }

    #[test]
    fn each_header_rule_fires_with_commitlints_name() {
        let cases: &[(&str, &[&str])] = &[
            ("add feature", &["type-empty", "subject-empty"]),
            ("Feat: add x", &["type-case", "type-enum"]),
            ("feature: add x", &["type-enum"]),
            ("feat: Add x", &["subject-case"]),
            ("feat: ADD X", &["subject-case"]),
            ("feat: Add Feature", &["subject-case"]),
            ("feat: add x.", &["subject-full-stop"]),
            ("feat:", &["type-empty", "subject-empty"]),
            (" feat: add x", &["header-trim"]),
            ("feat: add x ", &["header-trim"]),
        ];
        for (message, expected) in cases {
            assert_eq!(errors(message), *expected, "{message:?}");
        }
        assert!(errors("feat: wait...").is_empty(), "an ellipsis is not a full stop");
        let long = format!("feat: {}", "x".repeat(95));
        assert_eq!(errors(&long), ["header-max-length"]);
        assert!(errors(&long[..100]).is_empty());
    }

    #[test]
    fn body_and_footer_rules_with_config_conventional_severities() {
        let glued = linter().lint_message("feat: x\nbody right after the header\n");
        assert_eq!(glued.len(), 1);
        assert_eq!(
            (glued[0].rule, glued[0].severity),
            ("body-leading-blank", Severity::Warning)
        );
        let footer = linter().lint_message("feat: x\n\nbody\nRefs: #1\n");
        assert_eq!(
            footer.iter().map(|f| (f.rule, f.severity)).collect::<Vec<_>>(),
            [("footer-leading-blank", Severity::Warning)]
        );
        let long_body = format!("fix: x\n\n{}\n", "y".repeat(101));
        assert_eq!(errors(&long_body), ["body-max-line-length"]);
        let long_footer = format!("fix: x\n\nbody\n\nRefs: {}\n", "1".repeat(100));
        assert_eq!(errors(&long_footer), ["footer-max-line-length"]);
        // Comment lines (commit-msg hook input) are not part of the message.
        assert!(rules(&format!("fix: x\n\n# {}\n", "z".repeat(200))).is_empty());
    }

    #[test]
    fn lengths_count_utf16_units_like_commitlint() {
        assert_eq!(js_length("a😀"), 3);
        let header = format!("feat: {}", "😀".repeat(48));
        assert_eq!(errors(&header), ["header-max-length"]);
    }

    #[test]
    fn rules_are_configurable() {
        let config = GuardConfig {
            commit_types: vec!["feat".into(), "wip".into()],
            header_max_length: 20,
            subject_case_never: vec!["upper-case".into()],
            subject_full_stop: String::new(),
            disabled_rules: vec!["type-case".into()],
            warning_rules: vec!["type-enum".into()],
            ..GuardConfig::default()
        };
        let linter = Linter::new(&config).expect("valid");
        let findings = linter.lint_message("Fix: Add a thing.");
        let found: Vec<_> = findings.iter().map(|f| (f.rule, f.severity)).collect();
        assert_eq!(found, [("type-enum", Severity::Warning)]);
        assert!(linter.lint_message("wip: x").is_empty());
        assert_eq!(
            linter
                .lint_message("wip: this header is too long")
                .first()
                .map(|f| f.rule),
            Some("header-max-length")
        );

        let bad = GuardConfig {
            disabled_rules: vec!["subject-lenght".into()],
            ..GuardConfig::default()
        };
        let error = Linter::new(&bad).expect_err("unknown rule").to_string();
        assert!(
            error.contains("subject-lenght") && error.contains("subject-case"),
            "{error}"
        );
        let bad_case = GuardConfig {
            subject_case_never: vec!["title-case".into()],
            ..GuardConfig::default()
        };
        assert!(Linter::new(&bad_case).is_err());
    }

    #[test]
    fn special_commits_follow_their_policies() {
        let linter = linter();
        let human = Author {
            name: "Dev",
            email: "dev@example.com",
        };
        let merge = linter.check_commit("Merge branch 'develop' into feature/x", 2, Some(human));
        assert_eq!((merge.special, merge.skipped), (Some(SpecialKind::Merge), true));
        let revert = linter.check_commit(
            "Revert \"feat: add x\"\n\nThis reverts commit abcdef1.\n",
            1,
            Some(human),
        );
        assert_eq!(revert.special, Some(SpecialKind::Revert));
        assert!(revert.skipped);
        let conventional_revert = linter.check_commit("revert: feat: add x", 1, Some(human));
        assert_eq!(conventional_revert.special, None);
        assert!(conventional_revert.passed());
        let fixup = linter.check_commit("fixup! feat: add x", 1, Some(human));
        assert_eq!(fixup.special, Some(SpecialKind::Fixup));
        let version = linter.check_commit("chore(release): 1.2.3", 1, Some(human));
        assert_eq!(version.special, Some(SpecialKind::Version));
        let bot = Author {
            name: "dependabot[bot]",
            email: "49699333+dependabot[bot]@users.noreply.github.com",
        };
        let bumped = linter.check_commit(&format!("Bump x\n\n{}", "y".repeat(300)), 1, Some(bot));
        assert_eq!((bumped.special, bumped.skipped), (Some(SpecialKind::Bot), true));
        let renovate = Author {
            name: "Renovate Bot",
            email: "29139614+renovate[bot]@users.noreply.github.com",
        };
        assert_eq!(linter.special_kind("x", 1, Some(renovate)), Some(SpecialKind::Bot));

        let strict = Linter::new(&GuardConfig {
            fixup_commits: SpecialCommitPolicy::Reject,
            merge_commits: SpecialCommitPolicy::Lint,
            ..GuardConfig::default()
        })
        .expect("valid");
        let fixup = strict.check_commit("fixup! feat: add x", 1, None);
        assert!(!fixup.passed());
        assert!(fixup.findings[0].message.contains("guard.fixup_commits"), "{fixup:?}");
        let merge = strict.check_commit("Merge branch 'develop'", 2, None);
        assert!(!merge.skipped && !merge.passed(), "{merge:?}");
    }

    #[test]
    fn pull_request_titles_are_headers() {
        let linter = linter();
        assert!(linter.lint_title("feat(upload): resume uploads").is_empty());
        let findings: Vec<_> = linter
            .lint_title("Resume uploads")
            .into_iter()
            .map(|f| f.rule)
            .collect();
        assert_eq!(findings, ["type-empty", "subject-empty"]);
    }

    #[test]
    fn case_detection_matches_commitlint() {
        let never: Vec<String> = ["sentence-case", "start-case", "pascal-case", "upper-case"]
            .map(String::from)
            .to_vec();
        assert_eq!(forbidden_case("Add x", &never), Some("sentence-case"));
        assert_eq!(forbidden_case("add x", &never), None);
        assert_eq!(forbidden_case("add `Foo`", &never), None);
        assert_eq!(forbidden_case("`Foo` is added", &never), None, "starts with a quote");
        assert_eq!(forbidden_case("123 things", &never), None);
        assert_eq!(forbidden_case("éclair support", &never), None);
        assert_eq!(forbidden_case("Éclair support", &never), Some("sentence-case"));
        let only_start = ["start-case".to_string()];
        assert_eq!(forbidden_case("Add Feature", &only_start), Some("start-case"));
        assert_eq!(forbidden_case("Add feature", &only_start), None);
        let only_upper = ["upper-case".to_string()];
        assert_eq!(forbidden_case("ADD X", &only_upper), Some("upper-case"));
        assert_eq!(without_quoted("use 'a' and \"b\" now"), "use  and  now");
        assert_eq!(without_quoted("don't stop"), "don't stop");
    }
}
