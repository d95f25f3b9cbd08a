//! Conventional-commit lint with commitlint's `@commitlint/config-conventional`
//! rules (20.x), configured by `[guard]`.
//!
//! Shared by `message`, `commits`, `pre-push`, the pull request title check
//! and the `commit-msg` hook, so it is synchronous and allocation-light: one
//! message must lint in well under a millisecond. Rule names and messages
//! are commitlint's, so its documentation applies. Messages are split as
//! commitlint splits them ([`parse`]), and commitlint's default ignore list
//! (`shipgate_core::commit::ignore`) is applied before any rule, on every path.

mod parse;

use regex::Regex;
use serde::Serialize;
use shipgate_core::commit::ignore::{self, IgnoredKind};
use shipgate_core::commit::js;
use shipgate_core::config::{GuardConfig, SpecialCommitPolicy};
use shipgate_core::exit::{Error, Result};

pub use parse::{Parsed, parse};

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

/// git's comment character in a `commit-msg` hook's message file.
const COMMENT_CHAR: char = '#';

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
    /// Two or more parents, a merge in progress (the hook), or a merge message
    /// of commitlint's default ignore list.
    Merge,
    /// `Revert ...` / `Reapply ...`, as git writes them.
    Revert,
    Fixup,
    Bot,
    /// A bare version header (`1.2.3`, `chore: 1.2.3`), as `npm version` writes; commitlint ignores these.
    Version,
    /// Matched one of the `[guard] ignores` patterns.
    Ignored,
}

impl SpecialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SpecialKind::Merge => "merge commit",
            SpecialKind::Revert => "git revert commit",
            SpecialKind::Fixup => "fixup!/squash!/amend! commit",
            SpecialKind::Bot => "bot commit",
            SpecialKind::Version => "version commit",
            SpecialKind::Ignored => "ignored message",
        }
    }

    /// The `[guard]` key that decides what happens to this kind.
    pub fn config_key(self) -> &'static str {
        match self {
            SpecialKind::Merge => "guard.merge_commits",
            SpecialKind::Revert => "guard.revert_commits",
            SpecialKind::Fixup => "guard.fixup_commits",
            SpecialKind::Bot => "guard.bot_commits",
            SpecialKind::Version => "guard.default_ignores",
            SpecialKind::Ignored => "guard.ignores",
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

/// Where a message comes from, which decides how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A commit of history (`commits`, `pre-push`): taken verbatim, as
    /// `commitlint --from/--to` reads `git log`.
    History,
    /// A message being written (`message`, the `commit-msg` hook): git's
    /// `#` comment lines and everything below the scissors line are not part
    /// of it, as with `commitlint --edit`.
    Edit,
}

/// The configured rules, validated once.
#[derive(Debug, Clone)]
pub struct Linter {
    config: GuardConfig,
    ignores: Vec<Regex>,
}

impl Linter {
    /// Validates rule and case names and the `ignores` patterns in `config`.
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
        let ignores = config
            .ignores
            .iter()
            .map(|pattern| {
                Regex::new(pattern).map_err(|e| {
                    let reason = e.to_string();
                    let reason = reason.lines().last().unwrap_or_default().trim().to_string();
                    Error::usage(format!(
                        "guard.ignores: `{pattern}` is not a regular expression: {reason}"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Linter {
            config: config.clone(),
            ignores,
        })
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
        self.verdict(special, || self.lint(message, Origin::History))
    }

    /// Lints a message being written: `message FILE|-` and the `commit-msg`
    /// hook. `merging` is true when git is concluding a merge (`MERGE_HEAD`
    /// exists), so the commit will have two parents whatever its message says.
    pub fn check_edit(&self, text: &str, merging: bool) -> CommitVerdict {
        let special = self.special_kind(text, if merging { 2 } else { 1 }, None);
        self.verdict(special, || self.lint(text, Origin::Edit))
    }

    /// Lints a pull request title, which becomes the header of a squash merge.
    pub fn check_title(&self, title: &str) -> CommitVerdict {
        let title = title.lines().next().unwrap_or_default();
        let special = self.special_kind(title, 1, None);
        self.verdict(special, || self.lint(title, Origin::History))
    }

    fn verdict(&self, special: Option<SpecialKind>, lint: impl FnOnce() -> Vec<Finding>) -> CommitVerdict {
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
                findings: lint(),
            },
        }
    }

    fn policy_for(&self, kind: SpecialKind) -> SpecialCommitPolicy {
        match kind {
            SpecialKind::Merge => self.config.merge_commits,
            SpecialKind::Revert => self.config.revert_commits,
            SpecialKind::Fixup => self.config.fixup_commits,
            SpecialKind::Bot => self.config.bot_commits,
            SpecialKind::Version | SpecialKind::Ignored => SpecialCommitPolicy::Skip,
        }
    }

    /// Which special kind a commit is, if any: a bot author, then two or
    /// more parents, then commitlint's default ignore list (unless
    /// `default_ignores = false`), then the `ignores` patterns.
    pub fn special_kind(&self, message: &str, parent_count: usize, author: Option<Author<'_>>) -> Option<SpecialKind> {
        if let Some(author) = author
            && self.is_bot(author)
        {
            return Some(SpecialKind::Bot);
        }
        if parent_count > 1 {
            return Some(SpecialKind::Merge);
        }
        if self.config.default_ignores
            && let Some(kind) = ignore::default_ignore(message)
        {
            return Some(match kind {
                IgnoredKind::Merge => SpecialKind::Merge,
                IgnoredKind::Revert => SpecialKind::Revert,
                IgnoredKind::Fixup => SpecialKind::Fixup,
                IgnoredKind::Version => SpecialKind::Version,
            });
        }
        if self.ignores.iter().any(|pattern| pattern.is_match(message)) {
            return Some(SpecialKind::Ignored);
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

    /// Lints a message being written (comments removed) with every rule,
    /// without the ignore list.
    pub fn lint_message(&self, message: &str) -> Vec<Finding> {
        self.lint(message, Origin::Edit)
    }

    /// Every rule on one message, as commitlint's `lint()` runs them once the
    /// message is not ignored. An empty message passes, as there.
    pub fn lint(&self, message: &str, origin: Origin) -> Vec<Finding> {
        // `commitlint --edit` lints the file's text plus a newline.
        let edited;
        let (raw, comment_char) = match origin {
            Origin::History => (message, None),
            Origin::Edit => {
                edited = format!("{message}\n");
                (edited.as_str(), Some(COMMENT_CHAR))
            }
        };
        let mut findings = Vec::new();
        if js::trim(raw).is_empty() {
            return findings;
        }
        let parsed = parse(raw, comment_char);
        if parsed.is_empty() {
            return findings;
        }
        self.lint_header(&parsed, &mut findings);
        self.lint_body_and_footer(raw, &parsed, &mut findings);
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

    fn lint_header(&self, parsed: &Parsed<'_>, findings: &mut Vec<Finding>) {
        let config = &self.config;
        let max = config.header_max_length as usize;
        match parsed.header {
            None => self.push(findings, "header-max-length", || {
                "the first line is empty: the header must be the message's first line".into()
            }),
            Some(header) => {
                let length = js::length(header);
                if length > max {
                    self.push(findings, "header-max-length", || {
                        format!("header must not be longer than {max} characters, current length is {length}")
                    });
                }
                let starts = header.starts_with(js::is_space);
                let ends = header.ends_with(js::is_space);
                if starts || ends {
                    self.push(findings, "header-trim", || {
                        match (starts, ends) {
                            (true, true) => "header must not be surrounded by whitespace",
                            (true, false) => "header must not start with whitespace",
                            _ => "header must not end with whitespace",
                        }
                        .into()
                    });
                }
            }
        }
        match parsed.kind {
            None => self.push(findings, "type-empty", || {
                let why = parsed
                    .header
                    .and_then(|header| shipgate_core::commit::parse(header.trim_start()).err())
                    .map(|error| format!(" ({})", error.kind))
                    .unwrap_or_default();
                format!("type may not be empty: write `type(scope): subject`{why}")
            }),
            Some(kind) => {
                let lower = kind.starts_with(|c: char| c.is_ascii_digit()) || kind.to_lowercase() == kind;
                if !lower {
                    self.push(findings, "type-case", || "type must be lower-case".into());
                }
                if !config.commit_types.iter().any(|t| t == kind) {
                    self.push(findings, "type-enum", || {
                        format!("type must be one of [{}]", config.commit_types.join(", "))
                    });
                }
            }
        }
        match parsed.subject {
            None => self.push(findings, "subject-empty", || "subject may not be empty".into()),
            Some(subject) => {
                if let Some(case) = forbidden_case(subject, &config.subject_case_never) {
                    self.push(findings, "subject-case", || {
                        format!(
                            "subject must not be {} (found {case}); start it with a lower-case letter",
                            config.subject_case_never.join(", ")
                        )
                    });
                }
            }
        }
        let stop = config.subject_full_stop.as_str();
        if let Some(header) = parsed.header
            && has_full_stop(header, stop)
        {
            self.push(findings, "subject-full-stop", || {
                format!("subject may not end with full stop `{stop}`")
            });
        }
    }

    fn lint_body_and_footer(&self, raw: &str, parsed: &Parsed<'_>, findings: &mut Vec<Finding>) {
        let config = &self.config;
        let raw_lines: Vec<&str> = js::split_lines(raw).collect();
        if parsed.body().is_some() && raw_lines.get(1) != Some(&"") {
            self.push(findings, "body-leading-blank", || {
                "body must have leading blank line".into()
            });
        }
        if let Some(footer) = parsed.footer() {
            // commitlint looks the footer's first line up in the raw message
            // and checks the line before the first line equal to it.
            let first = js::split_lines(footer).next().unwrap_or_default();
            let before = match raw_lines.iter().position(|line| *line == first) {
                Some(0) => raw_lines.last(),
                Some(offset) => raw_lines.get(offset - 1),
                None => raw_lines.get(raw_lines.len().saturating_sub(2)),
            };
            if before != Some(&"") {
                self.push(findings, "footer-leading-blank", || {
                    "footer must have leading blank line".into()
                });
            }
        }
        for (rule, part, max, what) in [
            (
                "body-max-line-length",
                parsed.body(),
                config.body_max_line_length,
                "body",
            ),
            (
                "footer-max-line-length",
                parsed.footer(),
                config.footer_max_line_length,
                "footer",
            ),
        ] {
            let max = max as usize;
            let long =
                part.and_then(|text| js::split_lines(text).find(|line| js::length(line) > max && !has_link(line)));
            if let Some(line) = long {
                self.push(findings, rule, || {
                    format!(
                        "{what}'s lines must not be longer than {max} characters (a line has {}; lines with a URL are exempt)",
                        js::length(line)
                    )
                });
            }
        }
    }
}

/// `subject-full-stop`: the header's last character is `stop`, unless the
/// header ends with `...`, or its first `:` is its last character.
fn has_full_stop(header: &str, stop: &str) -> bool {
    if header
        .find(':')
        .is_some_and(|colon| colon > 0 && colon == header.len() - 1)
    {
        return false;
    }
    let mut stop_chars = stop.chars();
    let (Some(stop), None) = (stop_chars.next(), stop_chars.next()) else {
        return false;
    };
    header.ends_with(stop) && !header.ends_with("...")
}

/// The URL exemption of `body-max-line-length` and `footer-max-line-length`
/// (commitlint 20): `/\bhttps?:\/\/\S+/`.
fn has_link(line: &str) -> bool {
    line.match_indices("http").any(|(at, _)| {
        if line[..at].chars().next_back().is_some_and(js::is_word) {
            return false;
        }
        let rest = &line[at + 4..];
        let rest = rest.strip_prefix('s').unwrap_or(rest);
        rest.strip_prefix("://")
            .and_then(|address| address.chars().next())
            .is_some_and(|c| !js::is_space(c))
    })
}

/// Length as JavaScript (and so commitlint) counts it: UTF-16 code units.
#[cfg(test)]
fn js_length(text: &str) -> usize {
    js::length(text)
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
    js::trim(&kept).to_string()
}

/// `/^[\p{Ll}\p{Lu}\p{Lt}]/iu`: subject-case only looks at subjects starting with a cased letter.
fn starts_with_cased_letter(subject: &str) -> bool {
    subject.chars().next().is_some_and(|c| {
        c.is_lowercase() || c.is_uppercase() || (!c.to_uppercase().eq([c]) && !c.to_lowercase().eq([c]))
    })
}

/// The first case in `forbidden` the subject is written in, commitlint-style.
fn forbidden_case<'c>(subject: &str, forbidden: &'c [String]) -> Option<&'c str> {
    if !starts_with_cased_letter(subject) {
        return None;
    }
    let input = without_quoted(subject);
    forbidden
        .iter()
        .find(|case| is_in_case(&input, case))
        .map(String::as_str)
}

/// `ensureCase(input, case)`: converting to the case changes nothing, or
/// the result is empty or starts with a digit.
fn is_in_case(input: &str, case: &str) -> bool {
    let Some(first) = input.chars().next() else {
        return true;
    };
    let words = || input.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty());
    let transformed_matches = match case {
        // upperFirst: the first UTF-16 unit upper-cased; half a surrogate pair stays as it is.
        "sentence-case" => first.len_utf16() > 1 || first.to_uppercase().eq([first]),
        "upper-case" => input.to_uppercase() == input,
        "lower-case" => input.to_lowercase() == input,
        // lodash startCase: words joined by single spaces, each capitalised, no punctuation.
        "start-case" => {
            words().collect::<Vec<_>>().join(" ") == input
                && words().all(|word| word.chars().next().is_some_and(|c| c.to_uppercase().eq([c])))
        }
        // lodash upperFirst(camelCase): one run of capitalised words, nothing between them.
        "pascal-case" => {
            let chars: Vec<char> = input.chars().collect();
            chars.iter().all(|c| c.is_alphanumeric())
                && first.to_uppercase().eq([first])
                && !chars
                    .windows(2)
                    .any(|pair| pair[0].is_uppercase() && pair[1].is_uppercase())
        }
        _ => false,
    };
    // The converted text starting with a digit also counts as "in the case".
    transformed_matches || first.is_ascii_digit()
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
            (" feat: add x", &["header-trim", "type-empty", "subject-empty"]),
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
        // commitlint's footer starts at the first issue reference or BREAKING CHANGE note.
        let long_footer = format!("fix: x\n\nbody\n\nRefs: #{}\n", "1".repeat(100));
        assert_eq!(errors(&long_footer), ["footer-max-line-length"]);
        let not_a_footer = format!("fix: x\n\nbody\n\nRefs: {}\n", "1".repeat(100));
        assert_eq!(errors(&not_a_footer), ["body-max-line-length"]);
        // commitlint 20: a line with a URL may be as long as it needs.
        let link = format!("https://github.com/o/r/compare/v1.0.0...v1.1.0?{}", "x".repeat(80));
        let bump = format!("chore(deps): bump x from 1.0.0 to 1.1.0\n\n- [Commits]({link})\n\nRefs: #4 {link}\n");
        assert!(errors(&bump).is_empty(), "{:?}", errors(&bump));
        assert_eq!(
            errors(&format!("fix: x\n\nhttp:// {}\n", "y".repeat(100))),
            ["body-max-line-length"]
        );
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
    fn the_ignore_list_applies_to_every_path() {
        let linter = linter();
        for message in [
            "Merge branch 'feature/b' into feature/a",
            "Merge pull request #7 from org/feature/x",
            "Merge tag 'v1.2.0'",
            "Revert \"feat: add x\"\n\nThis reverts commit abcdef1.\n",
            "Reapply \"feat: add x\"",
            "fixup! feat: add x",
            "squash! feat: add x",
            "amend! feat: add x",
            "1.2.3",
            "chore(release): v1.2.3 [skip ci]",
            "Merged PR 12: add x",
            "Automatic merge from release",
            "Auto-merged a into b",
            "Merge remote-tracking branch 'origin/main'",
        ] {
            for verdict in [
                linter.check_commit(message, 1, None),
                linter.check_edit(message, false),
                linter.check_title(message),
            ] {
                assert!(verdict.skipped && verdict.passed(), "{message:?}: {verdict:?}");
            }
        }
        // Not on the list: linted like any message.
        for message in ["Merge commit 'abc1234'", "Merge branches 'a' and 'b'", "revert: x"] {
            assert!(!linter.check_edit(message, false).skipped, "{message:?}");
        }
        // The hook during a merge: the commit gets two parents, whatever its message.
        let merging = linter.check_edit("Merge commit 'abc1234'", true);
        assert_eq!((merging.special, merging.skipped), (Some(SpecialKind::Merge), true));
        assert!(!linter.check_edit("bad message", false).passed());

        let own = Linter::new(&GuardConfig {
            default_ignores: false,
            ignores: vec![r"^WIP\b".into(), r"(?m)^Release-As: ".into()],
            ..GuardConfig::default()
        })
        .expect("valid patterns");
        assert!(!own.check_edit("Merge branch 'x'", false).passed());
        assert!(
            own.check_commit("Merge branch 'x'", 2, None).skipped,
            "parents still count"
        );
        let wip = own.check_edit("WIP try things", false);
        assert_eq!((wip.special, wip.skipped), (Some(SpecialKind::Ignored), true));
        assert!(own.check_commit("feat: x\n\nRelease-As: 2.0.0", 1, None).skipped);
        let bad = GuardConfig {
            ignores: vec!["(unclosed".into()],
            ..GuardConfig::default()
        };
        let error = Linter::new(&bad).expect_err("bad pattern").to_string();
        assert!(
            error.contains("guard.ignores") && error.contains("(unclosed"),
            "{error}"
        );
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
        assert!(linter.check_title("feat(upload): resume uploads").findings.is_empty());
        let findings: Vec<_> = linter
            .check_title("Resume uploads")
            .findings
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
