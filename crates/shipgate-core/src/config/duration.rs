//! Durations written as text in `shipgate.toml`: `500ms`, `5s`, `10m`, `1h`.

use std::fmt;
use std::time::Duration;

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration `{text}`: {reason} (write a whole number followed by ms, s, m or h, like `5m`)")]
pub struct DurationError {
    /// The rejected text, as written.
    pub text: String,
    /// Why it was rejected, e.g. `unknown unit`.
    pub reason: &'static str,
}

/// A duration parsed from `<whole number><unit>` with unit `ms`, `s`, `m` or
/// `h`. It keeps the text it was written as, so `config` prints `5m` rather
/// than `300s`; equality compares the durations themselves.
#[derive(Debug, Clone)]
pub struct ConfigDuration {
    text: String,
    duration: Duration,
}

impl ConfigDuration {
    /// Parses `<whole number><unit>` such as `5m`, rejecting values too large to count in milliseconds.
    pub fn parse(text: &str) -> Result<Self, DurationError> {
        let fail = |reason| DurationError {
            text: text.to_string(),
            reason,
        };
        let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (number, unit) = text.split_at(digits_end);
        if number.is_empty() {
            return Err(fail("it does not start with a number"));
        }
        let number: u64 = number.parse().map_err(|_| fail("the number is too large"))?;
        let millis_per_unit: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "" => return Err(fail("the unit is missing")),
            _ => return Err(fail("unknown unit")),
        };
        let millis = number
            .checked_mul(millis_per_unit)
            .ok_or_else(|| fail("the number is too large"))?;
        Ok(ConfigDuration {
            text: text.to_string(),
            duration: Duration::from_millis(millis),
        })
    }

    /// The parsed length of time.
    pub fn as_duration(&self) -> Duration {
        self.duration
    }

    /// The duration as written in the configuration.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for ConfigDuration {
    fn eq(&self, other: &Self) -> bool {
        self.duration == other.duration
    }
}

impl Eq for ConfigDuration {}

impl fmt::Display for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for ConfigDuration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConfigDuration::parse(s)
    }
}

impl From<ConfigDuration> for Duration {
    fn from(value: ConfigDuration) -> Self {
        value.duration
    }
}

impl serde::Serialize for ConfigDuration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for ConfigDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ConfigDuration::parse(&text).map_err(serde::de::Error::custom)
    }
}
