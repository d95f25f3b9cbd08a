//! String predicates as JavaScript defines them, for matching commitlint
//! (a Node program) character for character.

/// JavaScript's `\s` and what `String.prototype.trim` removes: WhiteSpace
/// (tab, vertical tab, form feed, U+FEFF and every `Zs` space) and
/// LineTerminator (LF, CR, U+2028, U+2029). Unlike Rust's
/// `char::is_whitespace`, U+0085 is not a space and U+FEFF is.
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}'
    )
}

/// What a regular expression's `.` does not match, and where `^`/`$` match in multiline mode.
pub fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// `String.prototype.trim`.
pub fn trim(text: &str) -> &str {
    text.trim_matches(is_space)
}

/// `\w`: ASCII letters, digits and `_`.
pub fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `string.length`: UTF-16 code units.
pub fn length(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// `text.split(/\r?\n/)`.
pub fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find('\n') {
            Some(end) => {
                rest = Some(&current[end + 1..]);
                let line = &current[..end];
                Some(line.strip_suffix('\r').unwrap_or(line))
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn javascript_whitespace_and_lengths() {
        assert_eq!(trim("\u{feff} x \u{3000}"), "x");
        assert_eq!(trim("\u{85}x"), "\u{85}x");
        assert_eq!(length("a😀"), 3);
        assert_eq!(split_lines("a\r\nb\nc\r").collect::<Vec<_>>(), ["a", "b", "c\r"]);
        assert_eq!(split_lines("a\n").collect::<Vec<_>>(), ["a", ""]);
        assert_eq!(split_lines("").collect::<Vec<_>>(), [""]);
        assert!(is_line_terminator('\u{2028}') && !is_line_terminator('\t'));
        assert!(is_word('_') && !is_word('é'));
    }
}
