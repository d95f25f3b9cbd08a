//! Branch name patterns such as `feature/*` and `release/v{version}`.

use std::fmt;
use std::sync::OnceLock;

use regex::Regex;
use semver::Version;

/// Why a branch pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid branch pattern `{pattern}`: {reason}")]
pub struct PatternError {
    /// The rejected pattern, as written.
    pub pattern: String,
    /// Why it was rejected.
    pub reason: String,
}

impl PatternError {
    fn new(pattern: &str, reason: impl Into<String>) -> Self {
        PatternError {
            pattern: pattern.to_string(),
            reason: reason.into(),
        }
    }
}

const VERSION_PLACEHOLDER: &str = "{version}";

/// A semver `X.Y.Z` with an optional `-pre` part, as a capture group. Build
/// metadata is left out on purpose: release branches never carry it.
const VERSION_REGEX: &str =
    r"(?P<version>(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)";

/// A branch name pattern: `*` matches one or more characters (slashes
/// included, so `feature/*` covers `feature/a/b`), `{version}` matches a
/// semver `X.Y.Z[-pre]`, everything else matches itself.
///
/// Patterns are checked when the configuration is loaded, but their regex is
/// compiled on the first match: every command loads the whole configuration
/// (the seeds' branch table alone has a dozen patterns), and compiling them
/// all was most of a start-up that matches no branch. Once compiled, matching
/// in a loop costs one regex match and no allocation; a pattern without `*`
/// or `{version}` is a string comparison.
#[derive(Clone)]
pub struct BranchPattern {
    source: String,
    /// The anchored regex `new` translated the pattern into.
    regex_source: String,
    regex: OnceLock<Regex>,
    has_wildcard: bool,
    has_version: bool,
}

impl BranchPattern {
    /// Compiles a pattern, rejecting what git would not accept in a branch
    /// name so that typos fail at load time rather than never matching.
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        if pattern.is_empty() {
            return Err(PatternError::new(pattern, "it is empty"));
        }
        let mut regex = String::with_capacity(pattern.len() + 16);
        regex.push('^');
        let mut has_wildcard = false;
        let mut has_version = false;
        let mut rest = pattern;
        while let Some(c) = rest.chars().next() {
            match c {
                '*' => {
                    if rest.starts_with("**") {
                        return Err(PatternError::new(
                            pattern,
                            "use a single `*`; it already matches across `/`",
                        ));
                    }
                    regex.push_str(".+");
                    has_wildcard = true;
                    rest = &rest[1..];
                }
                '{' => {
                    if !rest.starts_with(VERSION_PLACEHOLDER) {
                        return Err(PatternError::new(pattern, "the only placeholder is `{version}`"));
                    }
                    if has_version {
                        return Err(PatternError::new(pattern, "`{version}` may appear only once"));
                    }
                    regex.push_str(VERSION_REGEX);
                    has_version = true;
                    rest = &rest[VERSION_PLACEHOLDER.len()..];
                }
                '}' => return Err(PatternError::new(pattern, "unmatched `}`")),
                c if c.is_whitespace() || c.is_control() || "~^:?[\\".contains(c) => {
                    return Err(PatternError::new(
                        pattern,
                        format!("{c:?} cannot appear in a git branch name"),
                    ));
                }
                c => {
                    let mut buf = [0u8; 4];
                    regex.push_str(&regex::escape(c.encode_utf8(&mut buf)));
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        if pattern.contains("..") || pattern.contains("//") || pattern.starts_with('/') || pattern.ends_with('/') {
            return Err(PatternError::new(
                pattern,
                "git does not allow `..`, `//` or a leading or trailing `/`",
            ));
        }
        regex.push('$');
        Ok(BranchPattern {
            source: pattern.to_string(),
            regex_source: regex,
            regex: OnceLock::new(),
            has_wildcard,
            has_version,
        })
    }

    fn regex(&self) -> &Regex {
        self.regex.get_or_init(|| {
            // Built above from escaped characters, `.+` and the fixed version
            // group only, so it always compiles.
            Regex::new(&self.regex_source).expect("a branch pattern's regex is valid by construction")
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `branch` (a short name like `feature/x`, not `refs/heads/...`) matches.
    pub fn matches(&self, branch: &str) -> bool {
        if self.is_literal() {
            return branch == self.source;
        }
        self.regex().is_match(branch)
    }

    /// The version a `{version}` pattern captured from `branch`, if it matches.
    pub fn version_in(&self, branch: &str) -> Option<Version> {
        if !self.has_version {
            return None;
        }
        let captures = self.regex().captures(branch)?;
        Version::parse(captures.name("version")?.as_str()).ok()
    }

    /// Whether the pattern contains `*`.
    pub fn has_wildcard(&self) -> bool {
        self.has_wildcard
    }

    /// Whether the pattern contains `{version}`.
    pub fn has_version(&self) -> bool {
        self.has_version
    }

    /// Whether the pattern names exactly one branch (no `*`, no `{version}`).
    pub fn is_literal(&self) -> bool {
        !self.has_wildcard && !self.has_version
    }
}

impl PartialEq for BranchPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for BranchPattern {}

impl fmt::Debug for BranchPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BranchPattern({:?})", self.source)
    }
}

impl fmt::Display for BranchPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for BranchPattern {
    type Err = PatternError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BranchPattern::new(s)
    }
}

impl serde::Serialize for BranchPattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> serde::Deserialize<'de> for BranchPattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        BranchPattern::new(&source).map_err(serde::de::Error::custom)
    }
}

/// The name of a release branch for a version, like `release/v{version}`:
/// a [`BranchPattern`] with exactly one `{version}` and no `*`, so it can be
/// both rendered (to cut the branch) and matched (to recognise one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseBranch(BranchPattern);

impl ReleaseBranch {
    /// Parses `template`, which must contain `{version}` and no `*`.
    pub fn new(template: &str) -> Result<Self, PatternError> {
        let pattern = BranchPattern::new(template)?;
        if !pattern.has_version() {
            return Err(PatternError::new(template, "a release branch must contain `{version}`"));
        }
        if pattern.has_wildcard() {
            return Err(PatternError::new(template, "a release branch cannot contain `*`"));
        }
        Ok(ReleaseBranch(pattern))
    }

    /// The branch name for `version`, e.g. `release/v1.2.0`.
    pub fn render(&self, version: &Version) -> String {
        self.0.as_str().replacen(VERSION_PLACEHOLDER, &version.to_string(), 1)
    }

    /// The version of a release branch, or `None` if `branch` is not one.
    pub fn version_of(&self, branch: &str) -> Option<Version> {
        self.0.version_in(branch)
    }

    /// The template as a [`BranchPattern`], for matching.
    pub fn pattern(&self) -> &BranchPattern {
        &self.0
    }

    /// The template as written, e.g. `release/v{version}`.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for ReleaseBranch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl serde::Serialize for ReleaseBranch {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for ReleaseBranch {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        ReleaseBranch::new(&source).map_err(serde::de::Error::custom)
    }
}
