//! Conventional Commits 1.0.0 messages, parsed without copying.
//!
//! This runs in pre-push hooks over thousands of commits, so parsing is a few
//! linear scans over borrowed text and one `Vec` (for the footers); no regex.
//! It is lenient where a linter needs to explain a problem (see
//! [`MessageLayout`]) and [`is_conventional`] is as strict as the spec.
//!
//! Lines may end in `\n` or `\r\n`. Columns are 1-based and count characters.

use std::borrow::Cow;
use std::fmt;

pub mod ignore;
pub mod js;

/// The most characters of a header that messages, reports and annotations
/// show; linting always sees the whole header.
pub const SHOWN_HEADER_CHARS: usize = 200;

/// `header` as shown to people: cut after [`SHOWN_HEADER_CHARS`]
/// characters, saying how many more there were, so a megabyte-long header
/// never floods a terminal, a job summary or an annotation.
pub fn shown_header(header: &str) -> Cow<'_, str> {
    match header.char_indices().nth(SHOWN_HEADER_CHARS) {
        None => Cow::Borrowed(header),
        Some((cut, _)) => Cow::Owned(format!(
            "{}… ({} more characters)",
            &header[..cut],
            header[cut..].chars().count()
        )),
    }
}

/// A parsed conventional commit message. All text borrows from the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConventionalCommit<'a> {
    /// The type, as written (`feat`, `Fix`, ...); see [`ConventionalCommit::kind_is`].
    pub kind: &'a str,
    /// The text between the parentheses, as written.
    pub scope: Option<&'a str>,
    /// Whether the header has `!` before the colon.
    pub breaking_bang: bool,
    /// The text after `: `, trimmed.
    pub description: &'a str,
    /// The paragraphs between the header and the footers, without the
    /// surrounding blank lines. Inner line endings are kept as written.
    pub body: Option<&'a str>,
    /// The trailer lines at the end of the message, in order.
    pub footers: Vec<Footer<'a>>,
    /// The first line, without its line ending.
    pub header: &'a str,
}

/// A `Token: value` or `Token #value` trailer line (plus continuation lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer<'a> {
    /// `Refs`, `Reviewed-by`, `BREAKING CHANGE`, ...
    pub token: &'a str,
    /// The text after the separator, trimmed; may span lines until the next footer.
    pub value: &'a str,
    /// Whether the footer was written `Token: value` or `Token #value`.
    pub separator: FooterSeparator,
}

/// How a footer's token is separated from its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FooterSeparator {
    /// `Token: value`.
    ColonSpace,
    /// `Token #value`, as in `Closes #42` (the value is `42`).
    SpaceHash,
}

impl FooterSeparator {
    /// The separator as written between token and value: `": "` or `" #"`.
    pub fn as_str(self) -> &'static str {
        match self {
            FooterSeparator::ColonSpace => ": ",
            FooterSeparator::SpaceHash => " #",
        }
    }
}

impl Footer<'_> {
    /// `BREAKING CHANGE` or its synonym `BREAKING-CHANGE` (uppercase, per the spec).
    pub fn is_breaking_change(&self) -> bool {
        self.token == "BREAKING CHANGE" || self.token == "BREAKING-CHANGE"
    }
}

impl<'a> ConventionalCommit<'a> {
    /// `!` in the header or a `BREAKING CHANGE` footer.
    pub fn is_breaking(&self) -> bool {
        self.breaking_bang || self.footers.iter().any(Footer::is_breaking_change)
    }

    /// What breaks: the `BREAKING CHANGE` footer, or with only `!` the
    /// description (the spec says the description then describes the break).
    pub fn breaking_description(&self) -> Option<&'a str> {
        match self.footers.iter().find(|f| f.is_breaking_change()) {
            Some(footer) => Some(footer.value),
            None if self.breaking_bang => Some(self.description),
            None => None,
        }
    }

    /// Whether the type is `name`, ignoring ASCII case (`Feat` is `feat`).
    pub fn kind_is(&self, name: &str) -> bool {
        self.kind.eq_ignore_ascii_case(name)
    }

    /// Whether the type is written in lowercase, as commitlint's `type-case` wants.
    pub fn kind_is_lowercase(&self) -> bool {
        !self.kind.bytes().any(|b| b.is_ascii_uppercase())
    }

    /// The footers with `token`, compared ignoring ASCII case (`Refs`, `refs`).
    pub fn footers_named<'s>(&'s self, token: &'s str) -> impl Iterator<Item = &'s Footer<'a>> + 's {
        self.footers.iter().filter(move |f| f.token.eq_ignore_ascii_case(token))
    }
}

/// What is wrong with a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Nothing but whitespace.
    EmptyMessage,
    /// The header starts with `(`, `!` or `:` instead of a type.
    MissingType,
    /// No `:` after the type (e.g. `feat add x`).
    MissingColon,
    /// `feat:x`.
    MissingSpaceAfterColon,
    /// Nothing after `type: `.
    EmptyDescription,
    /// `feat(): x`.
    EmptyScope,
    /// `feat(api: x`.
    UnclosedScope,
    /// The type contains something other than letters, digits, `-` and `_`.
    InvalidTypeChar,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseErrorKind::EmptyMessage => "the message is empty",
            ParseErrorKind::MissingType => "the header does not start with a type (like `feat`)",
            ParseErrorKind::MissingColon => "the type is not followed by `:` (like `feat: add x`)",
            ParseErrorKind::MissingSpaceAfterColon => "`:` must be followed by a space",
            ParseErrorKind::EmptyDescription => "the description after `: ` is empty",
            ParseErrorKind::EmptyScope => "the scope in `()` is empty",
            ParseErrorKind::UnclosedScope => "the scope's `(` is never closed",
            ParseErrorKind::InvalidTypeChar => "the type may only contain letters, digits, `-` and `_`",
        })
    }
}

/// Why a message is not a conventional commit, and where in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (column {column})")]
pub struct ParseError {
    /// What is wrong with the header.
    pub kind: ParseErrorKind,
    /// 1-based character column in the header.
    pub column: usize,
}

/// How a message is laid out, for linters: where the header, body and footer
/// are and whether the blank lines the spec asks for are there. Computed
/// for any message, conventional or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLayout<'a> {
    /// The first non-blank line, without its line ending, untrimmed.
    pub header: &'a str,
    /// The header's length in characters, as `header-max-length` counts it.
    pub header_chars: usize,
    /// False when text follows the header on the very next line.
    pub blank_line_after_header: bool,
    /// See [`ConventionalCommit::body`].
    pub body: Option<&'a str>,
    /// The footer block: trailing paragraphs that each start with a footer
    /// line, after a blank line.
    pub footer: Option<&'a str>,
    /// Footer-looking lines at the very end of the body with no blank line
    /// before them (`footer-leading-blank`). They stay part of the body.
    pub unseparated_footer: Option<&'a str>,
}

impl<'a> MessageLayout<'a> {
    /// The body's lines, without line endings.
    pub fn body_lines(&self) -> impl Iterator<Item = &'a str> {
        self.body.unwrap_or_default().lines()
    }

    /// The footer block's lines, without line endings.
    pub fn footer_lines(&self) -> impl Iterator<Item = &'a str> {
        self.footer.unwrap_or_default().lines()
    }

    /// Whether the body is followed by footers with a blank line between them;
    /// true when either is missing.
    pub fn blank_line_before_footer(&self) -> bool {
        self.unseparated_footer.is_none()
    }
}

/// A line of the message with its byte range (excluding the line ending).
#[derive(Clone, Copy)]
struct Line<'a> {
    text: &'a str,
    start: usize,
    end: usize,
}

impl Line<'_> {
    fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }
}

/// Iterates lines with their byte offsets, handling `\n` and `\r\n`.
fn lines_with_offsets(message: &str) -> impl Iterator<Item = Line<'_>> {
    let mut offset = 0;
    std::iter::from_fn(move || {
        if offset >= message.len() {
            return None;
        }
        let rest = &message[offset..];
        let (raw_len, next) = match rest.find('\n') {
            Some(i) => (i, offset + i + 1),
            None => (rest.len(), message.len()),
        };
        let raw = &rest[..raw_len];
        let text = raw.strip_suffix('\r').unwrap_or(raw);
        let line = Line {
            text,
            start: offset,
            end: offset + text.len(),
        };
        offset = next;
        Some(line)
    })
}

/// Lays out a message; never fails (an empty message has an empty header).
pub fn layout(message: &str) -> MessageLayout<'_> {
    let mut lines = lines_with_offsets(message).skip_while(Line::is_blank);
    let Some(header) = lines.next() else {
        return MessageLayout {
            header: "",
            header_chars: 0,
            blank_line_after_header: true,
            body: None,
            footer: None,
            unseparated_footer: None,
        };
    };

    let mut blank_line_after_header = true;
    // Byte ranges: first and last non-blank line after the header.
    let mut content: Option<(usize, usize)> = None;
    // Start of the trailing run of paragraphs that each begin with a footer line.
    let mut footer_start: Option<usize> = None;
    // Start of trailing footer lines glued to the previous paragraph.
    let mut glued_start: Option<usize> = None;
    // End of the last non-blank line before the footer run.
    let mut end_before_footer: Option<usize> = None;
    let mut last_content_end: Option<usize> = None;
    let mut at_paragraph_start = true;

    for (index, line) in lines.enumerate() {
        if line.is_blank() {
            at_paragraph_start = true;
            continue;
        }
        if index == 0 {
            blank_line_after_header = false;
        }
        let footer_line = footer_at(line.text).is_some();
        if at_paragraph_start {
            if footer_line {
                if footer_start.is_none() {
                    footer_start = Some(line.start);
                    end_before_footer = last_content_end;
                }
            } else {
                footer_start = None;
            }
            glued_start = None;
        } else if footer_start.is_none() {
            if footer_line {
                glued_start.get_or_insert(line.start);
            } else {
                glued_start = None;
            }
        }
        at_paragraph_start = false;
        content = Some((content.map_or(line.start, |(start, _)| start), line.end));
        last_content_end = Some(line.end);
    }

    let (body, footer) = match (content, footer_start) {
        (None, _) => (None, None),
        (Some((start, end)), None) => (Some(&message[start..end]), None),
        (Some((start, end)), Some(footer_start)) => {
            let body = end_before_footer.map(|body_end| &message[start..body_end]);
            (body, Some(&message[footer_start..end]))
        }
    };
    let unseparated_footer = match (footer_start, glued_start, content) {
        (None, Some(glued), Some((_, end))) => Some(&message[glued..end]),
        _ => None,
    };

    MessageLayout {
        header: header.text,
        header_chars: header.text.chars().count(),
        blank_line_after_header,
        body,
        footer,
        unseparated_footer,
    }
}

/// If `line` starts a footer, its token, separator and the byte offset of the value.
fn footer_at(line: &str) -> Option<(&str, FooterSeparator, usize)> {
    const BREAKING: &str = "BREAKING CHANGE";
    let token_len = if line.starts_with(BREAKING) {
        BREAKING.len()
    } else {
        let bytes = line.as_bytes();
        if !bytes.first()?.is_ascii_alphanumeric() {
            return None;
        }
        bytes
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-'))
            .unwrap_or(bytes.len())
    };
    let rest = &line[token_len..];
    let (separator, value_offset) = if rest.starts_with(": ") {
        (FooterSeparator::ColonSpace, token_len + 2)
    } else if rest.starts_with(" #") {
        (FooterSeparator::SpaceHash, token_len + 2)
    } else {
        return None;
    };
    Some((&line[..token_len], separator, value_offset))
}

/// Parses a commit message. Leading blank lines are skipped; comment lines
/// are not (call [`strip_comments`] first for `commit-msg` hooks).
pub fn parse(message: &str) -> Result<ConventionalCommit<'_>, ParseError> {
    let layout = layout(message);
    let header = parse_header(layout.header)?;
    let footers = match layout.footer {
        Some(block) => parse_footers(block),
        None => Vec::new(),
    };
    Ok(ConventionalCommit {
        kind: header.kind,
        scope: header.scope,
        breaking_bang: header.breaking_bang,
        description: header.description,
        body: layout.body,
        footers,
        header: layout.header,
    })
}

/// Whether `message` follows the spec to the letter: a valid header, a
/// blank line before the body, footers in a blank-line separated block.
pub fn is_conventional(message: &str) -> bool {
    let layout = layout(message);
    layout.blank_line_after_header && parse_header(layout.header).is_ok_and(|header| header.spaces_after_colon == 1)
}

struct Header<'a> {
    kind: &'a str,
    scope: Option<&'a str>,
    breaking_bang: bool,
    description: &'a str,
    /// The spec wants exactly one; the parser accepts more so a linter can say so.
    spaces_after_colon: usize,
}

fn is_type_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// 1-based character column of byte offset `at` in `text`.
fn column(text: &str, at: usize) -> usize {
    text[..at].chars().count() + 1
}

fn parse_header(header: &str) -> Result<Header<'_>, ParseError> {
    let error = |kind, at: usize| ParseError {
        kind,
        column: column(header, at),
    };
    if header.trim().is_empty() {
        return Err(error(ParseErrorKind::EmptyMessage, 0));
    }
    let bytes = header.as_bytes();
    let type_end = bytes.iter().position(|&b| !is_type_byte(b)).unwrap_or(bytes.len());
    if type_end == 0 {
        return Err(match bytes[0] {
            b'(' | b'!' | b':' => error(ParseErrorKind::MissingType, 0),
            _ => error(ParseErrorKind::InvalidTypeChar, 0),
        });
    }
    let kind = &header[..type_end];
    let mut at = type_end;

    let mut scope = None;
    if bytes.get(at) == Some(&b'(') {
        let close = header[at..]
            .find(')')
            .map(|i| at + i)
            .ok_or_else(|| error(ParseErrorKind::UnclosedScope, at))?;
        let inner = &header[at + 1..close];
        if inner.trim().is_empty() {
            return Err(error(ParseErrorKind::EmptyScope, at + 1));
        }
        scope = Some(inner);
        at = close + 1;
    }

    let breaking_bang = bytes.get(at) == Some(&b'!');
    if breaking_bang {
        at += 1;
    }

    match bytes.get(at) {
        Some(b':') => {}
        None => return Err(error(ParseErrorKind::MissingColon, at)),
        Some(_) => {
            // `fe.at: x` has a stray character in the type; `feat add x` has no colon.
            let stray_in_type = scope.is_none()
                && !breaking_bang
                && header[at..]
                    .find(':')
                    .is_some_and(|colon| !header[at..at + colon].contains(char::is_whitespace));
            let kind = if stray_in_type {
                ParseErrorKind::InvalidTypeChar
            } else {
                ParseErrorKind::MissingColon
            };
            return Err(error(kind, at));
        }
    }
    at += 1;

    let rest = &header[at..];
    if rest.trim().is_empty() {
        return Err(error(ParseErrorKind::EmptyDescription, at));
    }
    if !rest.starts_with(' ') {
        return Err(error(ParseErrorKind::MissingSpaceAfterColon, at));
    }
    Ok(Header {
        kind,
        scope,
        breaking_bang,
        description: rest.trim(),
        spaces_after_colon: rest.len() - rest.trim_start().len(),
    })
}

/// Splits a footer block; a line that does not start a footer continues the previous one.
fn parse_footers<'a>(block: &'a str) -> Vec<Footer<'a>> {
    let mut footers: Vec<Footer<'a>> = Vec::new();
    // The current footer's value range, extended by continuation lines.
    let mut open: Option<(usize, usize)> = None;
    let close = |footers: &mut Vec<Footer<'a>>, open: Option<(usize, usize)>| {
        if let (Some(footer), Some((start, end))) = (footers.last_mut(), open) {
            footer.value = block[start..end.max(start)].trim();
        }
    };
    for line in lines_with_offsets(block) {
        if let Some((token, separator, value_offset)) = footer_at(line.text) {
            close(&mut footers, open);
            footers.push(Footer {
                token,
                value: "",
                separator,
            });
            let value_start = line.start + value_offset;
            open = Some((value_start, line.end));
        } else if let Some((_, end)) = open.as_mut()
            && !line.is_blank()
        {
            *end = line.end;
        }
    }
    close(&mut footers, open);
    footers
}

/// Removes git's comment lines (`#` first) and everything below the
/// `# ------------------------ >8 ------------------------` scissors line,
/// as `git commit --cleanup=strip` does. Borrows when there is nothing to remove.
pub fn strip_comments(message: &str) -> Cow<'_, str> {
    if !lines_with_offsets(message).any(|line| line.text.starts_with('#')) {
        return Cow::Borrowed(message);
    }
    let mut kept = String::with_capacity(message.len());
    for line in lines_with_offsets(message) {
        if line.text.starts_with("# ") && line.text.contains(" >8 ") {
            break;
        }
        if line.text.starts_with('#') {
            continue;
        }
        kept.push_str(line.text);
        kept.push('\n');
    }
    Cow::Owned(kept)
}

/// What a revert commit says it reverts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevertInfo<'a> {
    /// The reverted commit's header: `X` in git's `Revert "X"`, or the
    /// description of a conventional `revert: X`.
    pub reverted_header: &'a str,
    /// The hash from git's `This reverts commit <sha>.` line, if present.
    pub reverted_commit: Option<&'a str>,
}

/// Recognises git's `Revert "..."` messages and conventional `revert:` commits.
pub fn is_revert(message: &str) -> Option<RevertInfo<'_>> {
    let layout = layout(message);
    let header = layout.header.trim();
    let reverted_header = if let Some(quoted) = header.strip_prefix("Revert \"") {
        quoted.strip_suffix('"').unwrap_or(quoted)
    } else {
        let parsed = parse_header(layout.header).ok()?;
        if !parsed.kind.eq_ignore_ascii_case("revert") {
            return None;
        }
        parsed.description
    };
    let reverted_commit = lines_with_offsets(message).find_map(|line| {
        let rest = line.text.trim().strip_prefix("This reverts commit ")?;
        let sha_len = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        (sha_len >= 7).then(|| &rest[..sha_len])
    });
    Some(RevertInfo {
        reverted_header,
        reverted_commit,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_headers_are_cut_for_display_only() {
        let short = "feat: résumé uploads";
        assert!(matches!(super::shown_header(short), Cow::Borrowed(_)));
        let exact = "é".repeat(SHOWN_HEADER_CHARS);
        assert_eq!(super::shown_header(&exact), exact);
        let long = format!("feat: {}", "é".repeat(1 << 20));
        let shown = super::shown_header(&long);
        assert_eq!(
            shown.chars().count(),
            SHOWN_HEADER_CHARS + " (1048382 more characters)".len() + 1
        );
        assert!(shown.ends_with("é… (1048382 more characters)"), "{shown}");
    }

    use super::*;

    fn ok(message: &str) -> ConventionalCommit<'_> {
        parse(message).unwrap_or_else(|e| panic!("{message:?}: {e}"))
    }

    fn err(message: &str) -> ParseError {
        match parse(message) {
            Ok(parsed) => panic!("{message:?} parsed as {parsed:?}"),
            Err(error) => error,
        }
    }

    fn footer<'a>(token: &'a str, value: &'a str, separator: FooterSeparator) -> Footer<'a> {
        Footer {
            token,
            value,
            separator,
        }
    }

    #[test]
    fn spec_example_with_breaking_change_footer() {
        let message = "feat: allow provided config object to extend other configs\n\nBREAKING CHANGE: `extends` key in config file is now used for extending other config files\n";
        let commit = ok(message);
        assert_eq!(commit.kind, "feat");
        assert_eq!(commit.scope, None);
        assert!(!commit.breaking_bang);
        assert_eq!(
            commit.description,
            "allow provided config object to extend other configs"
        );
        assert_eq!(commit.body, None);
        assert_eq!(
            commit.footers,
            [footer(
                "BREAKING CHANGE",
                "`extends` key in config file is now used for extending other config files",
                FooterSeparator::ColonSpace
            )]
        );
        assert!(commit.is_breaking());
        assert_eq!(
            commit.breaking_description(),
            Some("`extends` key in config file is now used for extending other config files")
        );
        assert!(is_conventional(message));
    }

    #[test]
    fn spec_example_bang_draws_attention_to_breaking_change() {
        let commit = ok("feat!: send an email to the customer when a product is shipped");
        assert!(commit.breaking_bang && commit.is_breaking());
        assert_eq!(
            commit.breaking_description(),
            Some("send an email to the customer when a product is shipped")
        );
        assert_eq!(
            commit.header,
            "feat!: send an email to the customer when a product is shipped"
        );

        let commit = ok("feat(api)!: send an email to the customer when a product is shipped");
        assert_eq!(
            (commit.kind, commit.scope, commit.breaking_bang),
            ("feat", Some("api"), true)
        );
        assert!(is_conventional(
            "feat(api)!: send an email to the customer when a product is shipped"
        ));
    }

    #[test]
    fn spec_example_bang_and_breaking_change_footer() {
        let commit =
            ok("chore!: drop support for Node 6\n\nBREAKING CHANGE: use JavaScript features not available in Node 6.");
        assert_eq!(commit.kind, "chore");
        assert!(commit.breaking_bang);
        assert_eq!(
            commit.breaking_description(),
            Some("use JavaScript features not available in Node 6.")
        );
    }

    #[test]
    fn spec_examples_without_body_and_with_scope() {
        let commit = ok("docs: correct spelling of CHANGELOG");
        assert_eq!(
            (commit.kind, commit.description, commit.body),
            ("docs", "correct spelling of CHANGELOG", None)
        );
        assert!(commit.footers.is_empty() && !commit.is_breaking());
        assert_eq!(commit.breaking_description(), None);

        let commit = ok("feat(lang): add Polish language");
        assert_eq!(
            (commit.kind, commit.scope, commit.description),
            ("feat", Some("lang"), "add Polish language")
        );
    }

    #[test]
    fn spec_example_multi_paragraph_body_and_footers() {
        let message = "fix: prevent racing of requests\n\nIntroduce a request id and a reference to latest request. Dismiss\nincoming responses other than from latest request.\n\nRemove timeouts which were used to mitigate the racing issue but are\nobsolete now.\n\nReviewed-by: Z\nRefs: #123\n";
        let commit = ok(message);
        assert_eq!(commit.kind, "fix");
        assert_eq!(
            commit.body,
            Some(
                "Introduce a request id and a reference to latest request. Dismiss\nincoming responses other than from latest request.\n\nRemove timeouts which were used to mitigate the racing issue but are\nobsolete now."
            )
        );
        assert_eq!(
            commit.footers,
            [
                footer("Reviewed-by", "Z", FooterSeparator::ColonSpace),
                footer("Refs", "#123", FooterSeparator::ColonSpace),
            ]
        );
        assert!(!commit.is_breaking());
        assert_eq!(commit.footers_named("refs").count(), 1);
        assert!(is_conventional(message));
        let layout = layout(message);
        assert_eq!(layout.body_lines().count(), 5);
        assert_eq!(
            layout.footer_lines().collect::<Vec<_>>(),
            ["Reviewed-by: Z", "Refs: #123"]
        );
        assert!(layout.blank_line_before_footer());
    }

    #[test]
    fn hash_separated_footers_and_multi_line_values() {
        let message = "fix(parser): handle tabs\n\nCloses #42\nBREAKING CHANGE: tabs are now\n  significant in\n  indentation\nFixes #7\n";
        let commit = ok(message);
        assert_eq!(commit.body, None);
        assert_eq!(
            commit.footers,
            [
                footer("Closes", "42", FooterSeparator::SpaceHash),
                footer(
                    "BREAKING CHANGE",
                    "tabs are now\n  significant in\n  indentation",
                    FooterSeparator::ColonSpace
                ),
                footer("Fixes", "7", FooterSeparator::SpaceHash),
            ]
        );
        assert_eq!(
            commit.breaking_description(),
            Some("tabs are now\n  significant in\n  indentation")
        );
        assert_eq!(FooterSeparator::SpaceHash.as_str(), " #");

        let commit = ok("feat: x\n\nBREAKING-CHANGE: also breaking");
        assert!(commit.is_breaking());
        // Only the uppercase token is special.
        let commit = ok("feat: x\n\nbreaking-change: not per the spec");
        assert!(!commit.is_breaking());
    }

    #[test]
    fn footer_paragraphs_separated_by_blank_lines_are_all_footers() {
        let commit = ok("feat: x\n\nbody\n\nRefs: #1\n\nSigned-off-by: A <a@example.com>\n");
        assert_eq!(commit.body, Some("body"));
        assert_eq!(commit.footers.len(), 2);
        assert_eq!(commit.footers[1].value, "A <a@example.com>");
    }

    #[test]
    fn a_footer_looking_body_line_that_is_not_at_the_end_stays_in_the_body() {
        let message =
            "fix: x\n\nNote: this looks like a footer\nbut the paragraph goes on.\n\nAnd another paragraph follows.\n";
        let commit = ok(message);
        assert!(commit.footers.is_empty(), "{:?}", commit.footers);
        assert_eq!(
            commit.body,
            Some("Note: this looks like a footer\nbut the paragraph goes on.\n\nAnd another paragraph follows.")
        );
        // A URL is not a footer token followed by `: `.
        let commit = ok("fix: x\n\nhttps://example.com/issue");
        assert!(commit.footers.is_empty());
        assert_eq!(commit.body, Some("https://example.com/issue"));
        // Tokens have no spaces, except BREAKING CHANGE.
        let commit = ok("fix: x\n\nSee also: the docs");
        assert!(commit.footers.is_empty());
    }

    #[test]
    fn footers_glued_to_the_body_are_reported_by_the_layout() {
        let message = "fix: x\n\nSome explanation.\nRefs: #12\n";
        let commit = ok(message);
        assert!(commit.footers.is_empty());
        assert_eq!(commit.body, Some("Some explanation.\nRefs: #12"));
        let layout = layout(message);
        assert_eq!(layout.unseparated_footer, Some("Refs: #12"));
        assert!(!layout.blank_line_before_footer());
        // Still valid per the spec: the line is simply part of the body.
        assert!(is_conventional(message));
    }

    #[test]
    fn crlf_line_endings() {
        let message = "feat(api): add x\r\n\r\nBody line one\r\nline two\r\n\r\nRefs: #1\r\nCloses #2\r\n";
        let commit = ok(message);
        assert_eq!(commit.header, "feat(api): add x");
        assert_eq!(commit.description, "add x");
        assert_eq!(commit.body, Some("Body line one\r\nline two"));
        assert_eq!(
            commit.footers,
            [
                footer("Refs", "#1", FooterSeparator::ColonSpace),
                footer("Closes", "2", FooterSeparator::SpaceHash)
            ]
        );
        let layout = layout(message);
        assert_eq!(layout.body_lines().collect::<Vec<_>>(), ["Body line one", "line two"]);
        assert!(is_conventional(message));
    }

    #[test]
    fn layout_reports_missing_blank_line_and_header_length() {
        let message = "feat: äöü\nbody right after\n";
        let commit = ok(message);
        assert_eq!(commit.body, Some("body right after"));
        let layout = layout(message);
        assert!(!layout.blank_line_after_header);
        assert_eq!(layout.header_chars, 9);
        assert!(!is_conventional(message));

        let layout = super::layout("\n\n  \nfix: leading blank lines are skipped\n\n\n");
        assert_eq!(layout.header, "fix: leading blank lines are skipped");
        assert!(layout.blank_line_after_header);
        assert_eq!((layout.body, layout.footer), (None, None));

        let layout = super::layout("");
        assert_eq!((layout.header, layout.header_chars), ("", 0));
    }

    #[test]
    fn bad_headers_say_what_is_wrong_and_where() {
        use ParseErrorKind::*;
        let cases: &[(&str, ParseErrorKind, usize)] = &[
            ("", EmptyMessage, 1),
            ("   \n\t\n", EmptyMessage, 1),
            ("feat add", MissingColon, 5),
            ("feat", MissingColon, 5),
            ("feat:", EmptyDescription, 6),
            ("feat:   ", EmptyDescription, 6),
            ("feat:x", MissingSpaceAfterColon, 6),
            ("(scope): x", MissingType, 1),
            (": x", MissingType, 1),
            ("!: x", MissingType, 1),
            ("feat(): x", EmptyScope, 6),
            ("feat( ): x", EmptyScope, 6),
            ("feat(api: x", UnclosedScope, 5),
            ("fe.at: x", InvalidTypeChar, 3),
            ("feat/api: x", InvalidTypeChar, 5),
            ("🎉 feat: x", InvalidTypeChar, 1),
            ("feat(api) x", MissingColon, 10),
            ("feat! x", MissingColon, 6),
            ("Merge branch 'develop'", MissingColon, 6),
        ];
        for &(message, kind, column) in cases {
            assert_eq!(err(message), ParseError { kind, column }, "{message:?}");
            assert!(!is_conventional(message), "{message:?}");
        }
        assert_eq!(
            err("feat add").to_string(),
            "the type is not followed by `:` (like `feat: add x`) (column 5)"
        );
    }

    #[test]
    fn type_case_is_kept_and_checked_separately() {
        let commit = ok("Feat: x");
        assert_eq!(commit.kind, "Feat");
        assert!(commit.kind_is("feat"));
        assert!(!commit.kind_is_lowercase());
        assert!(ok("feat: x").kind_is_lowercase());
        assert!(ok("feat-ure_2: x").kind_is("FEAT-URE_2"));
    }

    #[test]
    fn description_and_scope_edges() {
        let commit = ok("feat(scope/sub-part): trailing spaces   ");
        assert_eq!(commit.scope, Some("scope/sub-part"));
        assert_eq!(commit.description, "trailing spaces");
        // Lenient parse, strict check: more than one space after the colon.
        assert_eq!(ok("feat:  x").description, "x");
        assert!(!is_conventional("feat:  x"));
        assert!(is_conventional("feat: x"));
        // A colon in the description is fine.
        assert_eq!(ok("fix: handle a: b").description, "handle a: b");
    }

    #[test]
    fn comments_are_stripped_for_commit_msg_hooks() {
        let message = "feat: x\n\n# Please enter the commit message for your changes.\nbody\n# On branch main\n";
        assert_eq!(strip_comments(message), "feat: x\n\nbody\n");
        let verbose = "fix: y\n# ------------------------ >8 ------------------------\n# Do not modify or remove the line above.\ndiff --git a/x b/x\n+added\n";
        assert_eq!(strip_comments(verbose), "fix: y\n");
        assert!(matches!(strip_comments("feat: x\n\nCloses #4\n"), Cow::Borrowed(_)));
        let only_comments = strip_comments("# nothing\n# here\n");
        assert_eq!(err(&only_comments).kind, ParseErrorKind::EmptyMessage);
        assert_eq!(strip_comments("feat: z\r\n# c\r\n"), "feat: z\n");
    }

    #[test]
    fn reverts_are_recognised_in_both_forms() {
        let git = "Revert \"feat: add x\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.\n";
        assert_eq!(
            is_revert(git),
            Some(RevertInfo {
                reverted_header: "feat: add x",
                reverted_commit: Some("0123456789abcdef0123456789abcdef01234567"),
            })
        );
        let conventional = "revert: feat: add x\n\nThis reverts commit abc1234, reversing\nchanges made to def5678.\n";
        assert_eq!(
            is_revert(conventional),
            Some(RevertInfo {
                reverted_header: "feat: add x",
                reverted_commit: Some("abc1234"),
            })
        );
        assert_eq!(
            is_revert("revert(api): undo y\n\nRefs: 1234567"),
            Some(RevertInfo {
                reverted_header: "undo y",
                reverted_commit: None,
            })
        );
        assert_eq!(is_revert("feat: add x"), None);
        assert_eq!(is_revert("Reverted the thing"), None);
    }
}
