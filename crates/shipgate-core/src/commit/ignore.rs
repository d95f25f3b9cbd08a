//! commitlint's default ignore list (`@commitlint/is-ignored` 20.x,
//! `defaults.ts`), pattern for pattern: the messages git, GitHub, Azure
//! DevOps, `npm version` and `git rebase --autosquash` write, which
//! commitlint's `lint()` passes without applying any rule.
//!
//! Each pattern is written out by hand from its regular expression, with
//! JavaScript's meaning of `^`, `$`, `.` and the `m` flag, so that the same
//! messages are ignored here as there. [`default_ignore`] is the only place
//! the list lives; branch-guard's linter applies it on every path that lints
//! a message (`message`, `commits`, `pre-push`, the pull request title and the
//! `commit-msg` hook).

use super::js;

/// What kind of message a default pattern recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoredKind {
    /// `Merge pull request`, `Merge branch`, `Merge X into Y`, `Merge tag`,
    /// `Merged ... in/into ...`, `Merged PR N: ...`, `Merge remote-tracking branch`,
    /// `Automatic merge`, `Auto-merged X into Y`.
    Merge,
    /// `Revert ...` and `Reapply ...` (either case of the first letter).
    Revert,
    /// `fixup!`, `squash!`, `amend!`.
    Fixup,
    /// A first line that is only a semantic version, optionally after
    /// `chore:`/`chore(scope):` and with `[skip ci]`/`(ci skip)` removed.
    Version,
}

/// The default pattern `message` matches, if any; `message` is the whole
/// raw message, as `lint()` receives it.
pub fn default_ignore(message: &str) -> Option<IgnoredKind> {
    let first_line = first_line(message);
    if message.split(js::is_line_terminator).any(is_merge_line) || starts_merge_line(message, "Merge tag ") {
        return Some(IgnoredKind::Merge);
    }
    if ["Revert ", "revert ", "Reapply ", "reapply "]
        .iter()
        .any(|prefix| message.starts_with(prefix))
    {
        return Some(IgnoredKind::Revert);
    }
    if ["amend!", "fixup!", "squash!"]
        .iter()
        .any(|prefix| message.starts_with(prefix))
    {
        return Some(IgnoredKind::Fixup);
    }
    if is_semver_header(message) {
        return Some(IgnoredKind::Version);
    }
    // /^(Merged (.*?)(in|into) (.*)|Merged PR (.*): (.*))/
    if let Some(rest) = first_line.strip_prefix("Merged ")
        && (rest.contains("in ")
            || rest.contains("into ")
            || rest.strip_prefix("PR ").is_some_and(|pr| pr.contains(": ")))
    {
        return Some(IgnoredKind::Merge);
    }
    // /^Merge remote-tracking branch(\s*)(.*)/, /^Automatic merge(.*)/
    if message.starts_with("Merge remote-tracking branch") || message.starts_with("Automatic merge") {
        return Some(IgnoredKind::Merge);
    }
    // /^Auto-merged (.*?) into (.*)/
    if first_line
        .strip_prefix("Auto-merged ")
        .is_some_and(|rest| rest.contains(" into "))
    {
        return Some(IgnoredKind::Merge);
    }
    None
}

/// The text up to the first line terminator: how far `.*` reaches from the start.
fn first_line(message: &str) -> &str {
    message.split(js::is_line_terminator).next().unwrap_or_default()
}

/// `/^((Merge pull request)|(Merge (.*?) into (.*?)|(Merge branch (.*?)))(?:\r?\n)*$)/m`
/// for one line: the `m` flag lets `^` match at the start of any line.
fn is_merge_line(line: &str) -> bool {
    line.starts_with("Merge pull request")
        || line.starts_with("Merge branch ")
        || line.strip_prefix("Merge").is_some_and(|rest| {
            // `Merge (.*?) into `: a space, anything, then ` into `.
            rest.starts_with(' ') && rest[1..].contains(" into ")
        })
}

/// `/^(Merge tag (.*?))(?:\r?\n)*$/m`: any line starting with the prefix.
fn starts_merge_line(message: &str, prefix: &str) -> bool {
    message
        .split(js::is_line_terminator)
        .any(|line| line.starts_with(prefix))
}

/// commitlint's `isSemver`: the first line (split on `\n` only), without a
/// leading `chore:`/`chore(scope):` and one `[skip ci]`-style and one
/// `(skip ci)`-style marker, trimmed, is a valid semver version (`semver.valid`).
fn is_semver_header(message: &str) -> bool {
    let line = message.split('\n').next().unwrap_or_default();
    let mut text = strip_chore_prefix(line).to_string();
    for (open, close) in [('[', ']'), ('(', ')')] {
        if let Some((start, end)) = find_skip_marker(&text, open, close) {
            text.replace_range(start..end, "");
        }
    }
    is_valid_semver(js::trim(&text))
}

/// `.replace(/^chore(\([^)]+\))?:/, "")`.
fn strip_chore_prefix(line: &str) -> &str {
    let Some(rest) = line.strip_prefix("chore") else {
        return line;
    };
    if let Some(scoped) = rest.strip_prefix('(')
        && let Some(close) = scoped.find(')')
        && close > 0
        && let Some(tail) = scoped[close + 1..].strip_prefix(':')
    {
        return tail;
    }
    rest.strip_prefix(':').unwrap_or(line)
}

/// The first `\[(skip|ci)(-|\s)(ci|skip)\]` (or with parentheses), case-insensitive.
fn find_skip_marker(text: &str, open: char, close: char) -> Option<(usize, usize)> {
    let starts = text.char_indices().filter(|&(_, c)| c == open).map(|(i, _)| i);
    for start in starts {
        let rest = &text[start + open.len_utf8()..];
        for first in ["skip", "ci"] {
            let Some(after_first) = strip_prefix_ignore_ascii_case(rest, first) else {
                continue;
            };
            let mut chars = after_first.chars();
            let Some(separator) = chars.next() else { continue };
            if separator != '-' && !js::is_space(separator) {
                continue;
            }
            let after_separator = chars.as_str();
            for second in ["ci", "skip"] {
                if let Some(tail) = strip_prefix_ignore_ascii_case(after_separator, second)
                    && tail.starts_with(close)
                {
                    let end = text.len() - tail.len() + close.len_utf8();
                    return Some((start, end));
                }
            }
        }
    }
    None
}

fn strip_prefix_ignore_ascii_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// `semver.valid(text) !== null` for an already trimmed string (node-semver 7,
/// strict mode): `v?MAJOR.MINOR.PATCH(-PRERELEASE)?(+BUILD)?`, at most 256
/// characters, no leading zeros in numbers, each number a safe integer.
pub fn is_valid_semver(text: &str) -> bool {
    if js::length(text) > 256 {
        return false;
    }
    let text = text.strip_prefix('v').unwrap_or(text);
    let (rest, build) = match text.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (text, None),
    };
    let (core, prerelease) = match rest.split_once('-') {
        Some((core, prerelease)) => (core, Some(prerelease)),
        None => (rest, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    let numeric = |part: &str| {
        !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) && (part == "0" || !part.starts_with('0'))
    };
    let safe_integer = |part: &str| part.len() < 16 || part.parse::<u64>().is_ok_and(|n| n < (1 << 53));
    if numbers.len() != 3 || !numbers.iter().all(|part| numeric(part) && safe_integer(part)) {
        return false;
    }
    let identifier_chars = |part: &str| part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if let Some(prerelease) = prerelease {
        let valid = prerelease.split('.').all(|part| {
            !part.is_empty() && identifier_chars(part) && (part.bytes().any(|b| !b.is_ascii_digit()) || numeric(part))
        });
        if !valid {
            return false;
        }
    }
    match build {
        Some(build) => build.split('.').all(|part| !part.is_empty() && identifier_chars(part)),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(message: &str) -> Option<IgnoredKind> {
        default_ignore(message)
    }

    #[test]
    fn merges_as_git_github_and_azure_write_them() {
        for message in [
            "Merge pull request #12 from org/feature/x",
            "Merge pull request",
            "Merge branch 'feature/b' into feature/a",
            "Merge branch 'develop'",
            "Merge branch 'develop'\n\n# Conflicts:\n#\tsrc/app.rs\n",
            "Merge tag 'v1.2.0'",
            "Merge 'a' into b",
            "Merge commit 'abc1234' into feature/x",
            "Merge remote-tracking branch 'origin/main'",
            "Merge remote-tracking branches 'origin/a' and 'origin/b'",
            "Merged PR 42: add login",
            "Merged in feature/x (pull request #7)",
            "Merged main into develop",
            "Automatic merge from release/1.2 -> main",
            "Auto-merged feature/x into main",
            // The `m` flag: any line may start a merge.
            "feat: x\n\nMerge branch 'y'",
            "feat: x\n\nMerge pull request #1 from a/b",
            "feat: x\r\rMerge tag 'v1'",
        ] {
            assert_eq!(kind(message), Some(IgnoredKind::Merge), "{message:?}");
        }
        for message in [
            "Merge commit 'abc1234'",
            "Merge branches 'a' and 'b'",
            "Merge into x",
            "merge branch 'x'",
            "Merged",
            "Merged stuff",
            "Merged PR 42 add login",
            "Auto-merged x",
            " Merge branch 'x'",
            "feat: x\n\n Merge branch 'y'",
        ] {
            assert_eq!(kind(message), None, "{message:?}");
        }
    }

    #[test]
    fn reverts_fixups_and_versions() {
        for message in [
            "Revert \"feat: x\"",
            "revert x",
            "Reapply \"feat: x\"",
            "reapply y",
            "Revert ",
        ] {
            assert_eq!(kind(message), Some(IgnoredKind::Revert), "{message:?}");
        }
        for message in ["revert: feat: x", "Revert", "\nRevert \"x\"", "Reverted x"] {
            assert_eq!(kind(message), None, "{message:?}");
        }
        for message in ["fixup! feat: x", "squash!x", "amend! docs: y"] {
            assert_eq!(kind(message), Some(IgnoredKind::Fixup), "{message:?}");
        }
        assert_eq!(kind("feat: fixup! x"), None);
        for message in [
            "1.2.3",
            "v1.2.3",
            "1.2.3-rc.1+build.5",
            "chore: 1.2.3",
            "chore(release): v2.0.0",
            "chore(release): 2.0.0 [skip ci]",
            "2.0.0 (ci skip)",
            "  1.0.0  \n\nbody",
            "0.0.0-0",
            "1.2.3\r\n",
        ] {
            assert_eq!(kind(message), Some(IgnoredKind::Version), "{message:?}");
        }
        for message in [
            "=1.2.3",
            "1.2",
            "01.2.3",
            "1.2.3-01",
            "chore(): 1.2.3",
            "chore:1.2.3-",
            "feat: 1.2.3",
            "release 1.2.3",
            "9007199254740992.0.0",
        ] {
            assert_eq!(kind(message), None, "{message:?}");
        }
        assert!(is_valid_semver("9007199254740991.0.0"));
    }
}
