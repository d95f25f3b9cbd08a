//! A message split the way commitlint 20 splits it before its rules run:
//! `@commitlint/parse` with `conventional-changelog-conventionalcommits`'
//! parser options on `conventional-commits-parser` 6.
//!
//! This is not the Conventional Commits grammar of `shipgate_core::commit`:
//! commitlint's footer starts at the first line after the header that holds
//! an issue reference (`#12`, outside a URL) or a `BREAKING CHANGE` note,
//! and everything from there on is footer. The rules look at these parts, so
//! the linter uses this split to give the verdicts commitlint gives.

use shipgate_core::commit::js;

/// The parts of a message commitlint's rules read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<'a> {
    /// The first line; `None` when it is empty (possible once comments are removed).
    pub header: Option<&'a str>,
    /// `(\w*)` of the header pattern; `None` when empty or unmatched.
    pub kind: Option<&'a str>,
    pub scope: Option<&'a str>,
    /// Everything after `: `, untrimmed; `None` when empty or unmatched.
    pub subject: Option<&'a str>,
    /// Body lines joined with `\n`; `Some("")` counts as no body, as in commitlint.
    pub body: Option<String>,
    pub footer: Option<String>,
}

impl Parsed<'_> {
    /// `lint()` passes a message whose header, body and footer are all absent.
    pub fn is_empty(&self) -> bool {
        self.header.is_none() && self.body.is_none() && self.footer.is_none()
    }

    /// The body, when the rules consider there is one.
    pub fn body(&self) -> Option<&str> {
        self.body.as_deref().filter(|body| !body.is_empty())
    }

    /// The footer, when the rules consider there is one.
    pub fn footer(&self) -> Option<&str> {
        self.footer.as_deref().filter(|footer| !footer.is_empty())
    }
}

const SCISSORS: &str = "------------------------ >8 ------------------------";

/// Splits `raw`. With `comment_char` (`commitlint --edit`, the `commit-msg`
/// hook), lines starting with it and everything below the scissors line are
/// dropped first, as git does.
pub fn parse(raw: &str, comment_char: Option<char>) -> Parsed<'_> {
    let mut lines: Vec<&str> = js::split_lines(trim_newlines(raw)).collect();
    if let Some(comment) = comment_char {
        let scissors = format!("{comment} {SCISSORS}");
        if let Some(cut) = lines.iter().position(|line| *line == scissors) {
            lines.truncate(cut);
        }
        lines.retain(|line| !line.starts_with(comment));
    }
    // gpgFilter: `/^\s*gpg:/`.
    lines.retain(|line| !line.trim_start_matches(js::is_space).starts_with("gpg:"));

    let mut lines = lines.into_iter();
    let header = lines.next().filter(|line| !line.is_empty());
    let (kind, scope, subject) = header.map(split_header).unwrap_or_default();

    let mut body: Option<String> = None;
    let mut footer: Option<String> = None;
    for line in lines {
        if footer.is_none() && !is_note(line) && !has_reference(line) {
            append_line(&mut body, line);
        } else {
            append_line(&mut footer, line);
        }
    }
    for part in [&mut body, &mut footer].into_iter().flatten() {
        let trimmed = trim_newlines(part);
        if trimmed.len() != part.len() {
            *part = trimmed.to_string();
        }
    }
    Parsed {
        header,
        kind,
        scope,
        subject,
        body,
        footer,
    }
}

/// `appendLine`: `src ? src + "\n" + line : line`, so leading empty lines collapse.
fn append_line(target: &mut Option<String>, line: &str) {
    match target {
        Some(text) if !text.is_empty() => {
            text.push('\n');
            text.push_str(line);
        }
        _ => *target = Some(line.to_string()),
    }
}

/// `trimNewLines`: removes leading and trailing `\r` and `\n` only.
pub fn trim_newlines(text: &str) -> &str {
    text.trim_matches(['\r', '\n'])
}

type HeaderParts<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);

/// `breakingHeaderPattern` `/^(\w*)(?:\((.*)\))?!: (.*)$/`, then
/// `headerPattern` `/^(\w*)(?:\((.*)\))?!?: (.*)$/`, with the regular
/// expressions' backtracking: the scope runs to the last `)` that is
/// followed by the separator.
fn split_header(header: &str) -> HeaderParts<'_> {
    // `.` matches no line terminator and `$` is the end of the input.
    if header.contains(js::is_line_terminator) {
        return (None, None, None);
    }
    let type_end = header.find(|c: char| !js::is_word(c)).unwrap_or(header.len());
    let kind = &header[..type_end];
    let after_type = &header[type_end..];
    let separators: [&[&str]; 2] = [&["!: "], &["!: ", ": "]];
    for allowed in separators {
        fn subject_after<'t>(allowed: &[&str], text: &'t str) -> Option<&'t str> {
            allowed.iter().find_map(|separator| text.strip_prefix(separator))
        }
        if let Some(inner) = after_type.strip_prefix('(') {
            let closes = inner.char_indices().rev().filter(|&(_, c)| c == ')');
            for (close, _) in closes {
                if let Some(subject) = subject_after(allowed, &inner[close + 1..]) {
                    return (non_empty(kind), non_empty(&inner[..close]), non_empty(subject));
                }
            }
        }
        if let Some(subject) = subject_after(allowed, after_type) {
            return (non_empty(kind), None, non_empty(subject));
        }
    }
    (None, None, None)
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

/// The notes pattern `/^[\s|*]*(BREAKING CHANGE|BREAKING-CHANGE)[:\s]+(.*)/i`.
fn is_note(line: &str) -> bool {
    let rest = line.trim_start_matches(|c: char| js::is_space(c) || c == '|' || c == '*');
    ["BREAKING CHANGE", "BREAKING-CHANGE"].iter().any(|keyword| {
        rest.get(..keyword.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(keyword))
            && rest[keyword.len()..]
                .chars()
                .next()
                .is_some_and(|c| c == ':' || js::is_space(c))
    })
}

const ACTIONS: &[&str] = &[
    "close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved",
];

/// The action keyword starting at `at` (any case), if any.
fn action_at(line: &str, at: usize) -> Option<usize> {
    ACTIONS.iter().find_map(|action| {
        line.get(at..at + action.len())
            .filter(|text| text.eq_ignore_ascii_case(action))
            .map(|_| action.len())
    })
}

/// An action keyword at `at` followed by whitespace; returns where the whitespace ends.
fn action_with_space_at(line: &str, at: usize) -> Option<usize> {
    ACTIONS.iter().find_map(|action| {
        let text = line.get(at..at + action.len())?;
        if !text.eq_ignore_ascii_case(action) {
            return None;
        }
        let rest = &line[at + action.len()..];
        let spaces = rest.len() - rest.trim_start_matches(js::is_space).len();
        (spaces > 0).then_some(at + action.len() + spaces)
    })
}

/// `parseReferences(line).length > 0`: with an action keyword in the line
/// (`/(close|...|resolved)(?:\s+(.*?))(?=(?:close|...)|$)/gi`) only the text
/// after each keyword up to the next one is searched; otherwise the whole
/// line. A part that contains a URL holds no reference.
pub fn has_reference(line: &str) -> bool {
    let boundaries: Vec<usize> = line.char_indices().map(|(i, _)| i).collect();
    let first_action = boundaries
        .iter()
        .position(|&at| action_with_space_at(line, at).is_some());
    let Some(mut index) = first_action else {
        return line
            .split(['\r', '\u{2028}', '\u{2029}'])
            .filter(|part| !part.is_empty())
            .any(sentence_has_reference);
    };
    while index < boundaries.len() {
        let at = boundaries[index];
        let Some(sentence_start) = action_with_space_at(line, at) else {
            index += 1;
            continue;
        };
        let end = boundaries
            .iter()
            .copied()
            .filter(|&position| position >= sentence_start)
            .find(|&position| action_at(line, position).is_some())
            .unwrap_or(line.len());
        if sentence_has_reference(&line[sentence_start..end]) {
            return true;
        }
        index = boundaries.partition_point(|&position| position < end.max(at + 1));
    }
    false
}

/// `parseReference`: no URL, and `#` followed by `[\w-]+` and then
/// whitespace, the end, or one of `,;)]`.
fn sentence_has_reference(sentence: &str) -> bool {
    if has_url(sentence) {
        return false;
    }
    sentence.match_indices('#').any(|(at, _)| {
        let rest = &sentence[at + 1..];
        let run = rest.len() - rest.trim_start_matches(|c: char| js::is_word(c) || c == '-').len();
        run > 0
            && rest[run..]
                .chars()
                .next()
                .is_none_or(|c| js::is_space(c) || matches!(c, ',' | ';' | ')' | ']'))
    })
}

/// The parser's URL pattern `/\b(?:https?):\/\/(?:www\.)?([-a-zA-Z0-9@:%_+.~#?&//=])+\b/`.
fn has_url(text: &str) -> bool {
    let in_set = |c: char| c.is_ascii_alphanumeric() || "-@:%_+.~#?&/=".contains(c);
    text.match_indices("http").any(|(at, _)| {
        let before_is_word = text[..at].chars().next_back().is_some_and(js::is_word);
        if before_is_word {
            return false;
        }
        let rest = &text[at + 4..];
        let rest = rest.strip_prefix('s').unwrap_or(rest);
        let Some(address) = rest.strip_prefix("://") else {
            return false;
        };
        // Some prefix of the run of URL characters must end at a word boundary.
        let run: Vec<char> = address.chars().take_while(|&c| in_set(c)).collect();
        let after = address.chars().nth(run.len());
        (1..=run.len()).any(|k| {
            let next = if k == run.len() { after } else { Some(run[k]) };
            js::is_word(run[k - 1]) != next.is_some_and(js::is_word)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_split_like_the_conventionalcommits_patterns() {
        let header = |text| {
            let parsed = parse(text, None);
            (parsed.kind, parsed.scope, parsed.subject)
        };
        assert_eq!(header("feat(api): add x"), (Some("feat"), Some("api"), Some("add x")));
        assert_eq!(header("feat(api)!: add x"), (Some("feat"), Some("api"), Some("add x")));
        assert_eq!(header("feat!: add x"), (Some("feat"), None, Some("add x")));
        assert_eq!(header("feat:  x"), (Some("feat"), None, Some(" x")));
        assert_eq!(header("feat: "), (Some("feat"), None, None));
        assert_eq!(header("feat:x"), (None, None, None));
        assert_eq!(header("(api): x"), (None, Some("api"), Some("x")));
        assert_eq!(header(": x"), (None, None, Some("x")));
        assert_eq!(header("feat(): x"), (Some("feat"), None, Some("x")));
        assert_eq!(header("feat(a): b (c): d"), (Some("feat"), Some("a): b (c"), Some("d")));
        assert_eq!(
            header("feat(a): b (c)!: d"),
            (Some("feat"), Some("a): b (c"), Some("d"))
        );
        assert_eq!(header("fé(a): x"), (None, None, None));
        assert_eq!(header("Merge branch 'x'"), (None, None, None));
    }

    #[test]
    fn the_footer_starts_at_the_first_reference_or_note() {
        let parsed = parse("fix: x\n\nsee #12 here\nmore", None);
        assert_eq!(
            (parsed.body.as_deref(), parsed.footer.as_deref()),
            (Some(""), Some("see #12 here\nmore"))
        );
        let parsed = parse("fix: x\n\nprefix the thing\nResolves: #1", None);
        assert_eq!(parsed.body.as_deref(), Some("prefix the thing"));
        assert_eq!(parsed.footer.as_deref(), Some("Resolves: #1"));
        let parsed = parse("feat: x\nbody\n\nBREAKING CHANGE: y\nz", None);
        assert_eq!(parsed.body.as_deref(), Some("body"));
        assert_eq!(parsed.footer.as_deref(), Some("BREAKING CHANGE: y\nz"));
        let parsed = parse("feat: x\n\n\n\nbody\n\n", None);
        assert_eq!((parsed.body.as_deref(), parsed.footer), (Some("body"), None));
    }

    #[test]
    fn references_follow_the_parser() {
        for line in [
            "#12",
            "see #12",
            "(#12)",
            "a#b c",
            "Closes #4",
            "fixes the prefix #12",
            "x #a-b,",
        ] {
            assert!(has_reference(line), "{line}");
        }
        for line in [
            "C# is fine",
            "#1.",
            "## Summary",
            "https://github.com/o/r/issues/12#issuecomment-1 #3",
            "#12 was fixed by this",
            "issue#",
        ] {
            assert!(!has_reference(line), "{line}");
        }
        assert!(has_url("see https://x.org/a"));
        assert!(!has_url("xhttps://x.org"));
        assert!(!has_url("http://."));
        assert!(has_url("(http://a)"));
    }

    #[test]
    fn comments_and_scissors_go_only_in_edit_mode() {
        let text = "feat: x\n# comment\nbody\n# ------------------------ >8 ------------------------\ndiff\n";
        let edited = parse(text, Some('#'));
        assert_eq!(edited.body.as_deref(), Some("body"));
        let raw = parse(text, None);
        assert!(
            raw.body
                .as_deref()
                .is_some_and(|body| body.contains("# comment") && body.contains("diff"))
        );
        let leading = parse("# c\n\nfeat: x", Some('#'));
        assert_eq!(leading.header, None);
        assert_eq!(leading.body.as_deref(), Some("feat: x"));
        assert!(parse("# only\n", Some('#')).is_empty());
        assert_eq!(parse("feat: x\n gpg: signed\nbody", None).body.as_deref(), Some("body"));
    }
}
