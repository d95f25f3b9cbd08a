//! Migration versions: `20240101120000`, `0003`, Flyway's `1.2.3` or `1_2`.

use std::cmp::Ordering;
use std::fmt;

/// A migration version, ordered by its numeric parts so `10` sorts after
/// `9` and `0003` equals `3`; the text is kept as written for display.
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    parts: Vec<u128>,
}

impl Version {
    /// Parses dot- or underscore-separated numbers.
    pub fn parse(text: &str) -> Option<Version> {
        let parts: Option<Vec<u128>> = text
            .split(['.', '_'])
            .map(|part| {
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    part.parse().ok()
                }
            })
            .collect();
        Some(Version {
            text: text.to_string(),
            parts: parts?,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        // Trailing zero parts do not count: Flyway's 1.0 is 1.
        let trim = |parts: &[u128]| -> usize { parts.iter().rposition(|p| *p != 0).map_or(0, |at| at + 1) };
        self.parts[..trim(&self.parts)].cmp(&other.parts[..trim(&other.parts)])
    }
}

impl std::hash::Hash for Version {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let end = self.parts.iter().rposition(|p| *p != 0).map_or(0, |at| at + 1);
        self.parts[..end].hash(state);
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_numerically() {
        let v = |text| Version::parse(text).unwrap();
        assert!(v("9") < v("10"));
        assert_eq!(v("0003"), v("3"));
        assert_eq!(v("1.0"), v("1"));
        assert!(v("1.2") < v("1.10"));
        assert!(v("20240101000000") > v("20231231235959"));
        assert!(Version::parse("1a").is_none());
        assert!(Version::parse("").is_none());
    }
}
