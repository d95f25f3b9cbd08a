//! One severity per finding, as GitHub code scanning ranks SARIF results:
//! the rule's `security-severity` score when it has one, else the result's
//! `level`, else the rule's `defaultConfiguration.level`, else SARIF's
//! default level, `warning`.

use serde::Serialize;
use shipgate_core::config::ScanThreshold;

use super::sarif::Level;

/// A finding's normalised severity: a security severity, or a SARIF level
/// for results whose rule has no `security-severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Error,
    Warning,
    Note,
    None,
}

impl Severity {
    /// GitHub's mapping of a `security-severity` score ("over 9.0 is
    /// critical, 7.0 to 8.9 is high, 4.0 to 6.9 is medium and 3.9 or less is
    /// low"); `None` for a score of 0 or less, which carries no severity.
    pub fn from_score(score: f64) -> Option<Severity> {
        if score >= 9.0 {
            Some(Severity::Critical)
        } else if score >= 7.0 {
            Some(Severity::High)
        } else if score >= 4.0 {
            Some(Severity::Medium)
        } else if score > 0.0 {
            Some(Severity::Low)
        } else {
            None
        }
    }

    pub fn from_level(level: Level) -> Severity {
        match level {
            Level::Error => Severity::Error,
            Level::Warning => Severity::Warning,
            Level::Note => Severity::Note,
            Level::None => Severity::None,
        }
    }

    /// The one scale both kinds share: a level ranks with the security
    /// severity GitHub shows next to it in the same alert list.
    pub fn rank(self) -> u8 {
        match self {
            Severity::Critical => 4,
            Severity::High | Severity::Error => 3,
            Severity::Medium | Severity::Warning => 2,
            Severity::Low | Severity::Note => 1,
            Severity::None => 0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
            Severity::None => "none",
        }
    }

    /// Whether this severity reaches `threshold`.
    pub fn fails(self, threshold: ScanThreshold) -> bool {
        self.rank() >= Severity::from(threshold).rank()
    }
}

/// A threshold is the lowest severity that fails.
impl From<ScanThreshold> for Severity {
    fn from(threshold: ScanThreshold) -> Severity {
        match threshold {
            ScanThreshold::Critical => Severity::Critical,
            ScanThreshold::High => Severity::High,
            ScanThreshold::Medium => Severity::Medium,
            ScanThreshold::Low => Severity::Low,
            ScanThreshold::Error => Severity::Error,
            ScanThreshold::Warning => Severity::Warning,
        }
    }
}

/// The severity of a result: `security-severity` first, then the levels.
pub fn normalise(security_severity: Option<f64>, result_level: Option<Level>, rule_level: Option<Level>) -> Severity {
    security_severity
        .and_then(Severity::from_score)
        .unwrap_or_else(|| Severity::from_level(result_level.or(rule_level).unwrap_or(Level::Warning)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_map_as_github_code_scanning_maps_them() {
        let cases = [
            (10.0, Some(Severity::Critical)),
            (9.0, Some(Severity::Critical)),
            (8.9, Some(Severity::High)),
            (7.0, Some(Severity::High)),
            (6.9, Some(Severity::Medium)),
            (4.0, Some(Severity::Medium)),
            (3.9, Some(Severity::Low)),
            (0.1, Some(Severity::Low)),
            (0.0, None),
        ];
        for (score, expected) in cases {
            assert_eq!(Severity::from_score(score), expected, "{score}");
        }
    }

    #[test]
    fn the_score_wins_over_levels_and_the_result_level_over_the_rule_default() {
        assert_eq!(
            normalise(Some(9.8), Some(Level::Note), Some(Level::Note)),
            Severity::Critical
        );
        assert_eq!(
            normalise(Some(0.0), Some(Level::Error), Some(Level::Note)),
            Severity::Error
        );
        assert_eq!(normalise(None, None, Some(Level::Note)), Severity::Note);
        assert_eq!(normalise(None, None, None), Severity::Warning);
    }

    #[test]
    fn levels_rank_with_the_matching_security_severity() {
        assert!(Severity::Error.fails(ScanThreshold::High));
        assert!(!Severity::Warning.fails(ScanThreshold::High));
        assert!(Severity::Warning.fails(ScanThreshold::Medium));
        assert!(Severity::High.fails(ScanThreshold::Error));
        assert!(!Severity::Medium.fails(ScanThreshold::Error));
        assert!(Severity::Critical.fails(ScanThreshold::Critical));
        assert!(!Severity::High.fails(ScanThreshold::Critical));
        assert!(Severity::Note.fails(ScanThreshold::Low));
        assert!(!Severity::None.fails(ScanThreshold::Low));
    }
}
