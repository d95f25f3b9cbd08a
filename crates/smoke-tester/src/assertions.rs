//! What a response must satisfy, and the verdict for each assertion with
//! the expected and the actual value side by side.

use std::fmt;
use std::time::Duration;

use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;

use crate::probe::Exchange;

/// Which status codes pass: `200`, `"2xx"`, `"200-299"`, `[200, 204]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusMatcher {
    Exact(u16),
    Range(u16, u16),
    Set(Vec<u16>),
}

impl StatusMatcher {
    /// Parses `200`, `2xx`, `200-299` or `200,204`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let code = |part: &str| -> Result<u16, String> {
            part.trim()
                .parse::<u16>()
                .ok()
                .filter(|code| (100..=599).contains(code))
                .ok_or_else(|| format!("`{part}` is not an HTTP status code (100-599)"))
        };
        if let Some(class) = text.strip_suffix("xx").or_else(|| text.strip_suffix("XX")) {
            let digit = code(&format!("{class}00"))?;
            return Ok(StatusMatcher::Range(digit, digit + 99));
        }
        if let Some((low, high)) = text.split_once('-') {
            let (low, high) = (code(low)?, code(high)?);
            if low > high {
                return Err(format!("status range `{text}` is empty"));
            }
            return Ok(StatusMatcher::Range(low, high));
        }
        if text.contains(',') {
            return Ok(StatusMatcher::Set(text.split(',').map(code).collect::<Result<_, _>>()?));
        }
        Ok(StatusMatcher::Exact(code(text)?))
    }

    /// Parses the TOML forms: an integer, a string, or an array of integers.
    pub fn from_toml(value: &toml::Value) -> Result<Self, String> {
        match value {
            toml::Value::Integer(code) => StatusMatcher::parse(&code.to_string()),
            toml::Value::String(text) => StatusMatcher::parse(text),
            toml::Value::Array(items) => {
                let codes = items
                    .iter()
                    .map(|item| match item {
                        toml::Value::Integer(code) => u16::try_from(*code)
                            .ok()
                            .filter(|code| (100..=599).contains(code))
                            .ok_or_else(|| format!("`{code}` is not an HTTP status code (100-599)")),
                        other => Err(format!("status set entries must be integers, not `{other}`")),
                    })
                    .collect::<Result<Vec<u16>, String>>()?;
                if codes.is_empty() {
                    return Err("status set is empty".into());
                }
                Ok(StatusMatcher::Set(codes))
            }
            other => Err(format!(
                "status must be 200, \"2xx\", \"200-299\" or [200, 204], not `{other}`"
            )),
        }
    }

    pub fn matches(&self, status: u16) -> bool {
        match self {
            StatusMatcher::Exact(code) => *code == status,
            StatusMatcher::Range(low, high) => (*low..=*high).contains(&status),
            StatusMatcher::Set(codes) => codes.contains(&status),
        }
    }
}

impl fmt::Display for StatusMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusMatcher::Exact(code) => write!(f, "{code}"),
            StatusMatcher::Range(low, high) if high - low == 99 && low % 100 == 0 => write!(f, "{}xx", low / 100),
            StatusMatcher::Range(low, high) => write!(f, "{low}-{high}"),
            StatusMatcher::Set(codes) => {
                let codes: Vec<String> = codes.iter().map(u16::to_string).collect();
                write!(f, "one of {}", codes.join(", "))
            }
        }
    }
}

/// A numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Comparison {
    fn symbol(self) -> &'static str {
        match self {
            Comparison::Less => "<",
            Comparison::LessOrEqual => "<=",
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => ">=",
        }
    }

    fn holds(self, actual: f64, bound: f64) -> bool {
        match self {
            Comparison::Less => actual < bound,
            Comparison::LessOrEqual => actual <= bound,
            Comparison::Greater => actual > bound,
            Comparison::GreaterOrEqual => actual >= bound,
        }
    }
}

/// What is checked about a selected value (a JSON node, a header, an element's text).
#[derive(Debug, Clone)]
pub enum ValueCheck {
    Exists(bool),
    Equals(Value),
    NotEquals(Value),
    Contains(String),
    Matches(Regex),
    Compare(Comparison, f64),
}

impl fmt::Display for ValueCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueCheck::Exists(true) => f.write_str("exists"),
            ValueCheck::Exists(false) => f.write_str("does not exist"),
            ValueCheck::Equals(value) => write!(f, "== {value}"),
            ValueCheck::NotEquals(value) => write!(f, "!= {value}"),
            ValueCheck::Contains(text) => write!(f, "contains {text:?}"),
            ValueCheck::Matches(regex) => write!(f, "=~ /{}/", regex.as_str()),
            ValueCheck::Compare(op, bound) => write!(f, "{} {bound}", op.symbol()),
        }
    }
}

impl ValueCheck {
    /// Judges `actual` (None when nothing was selected); returns the expected
    /// and actual values as text when it fails.
    fn judge(&self, actual: Option<&Value>) -> Result<(), (String, String)> {
        let shown = |value: Option<&Value>| match value {
            None => "nothing (not found)".to_owned(),
            Some(value) => truncate(&value.to_string(), 200),
        };
        let as_text = |value: &Value| match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let passed = match (self, actual) {
            (ValueCheck::Exists(wanted), found) => *wanted == found.is_some(),
            (_, None) => false,
            (ValueCheck::Equals(expected), Some(value)) => values_equal(expected, value),
            (ValueCheck::NotEquals(expected), Some(value)) => !values_equal(expected, value),
            (ValueCheck::Contains(needle), Some(value)) => as_text(value).contains(needle.as_str()),
            (ValueCheck::Matches(regex), Some(value)) => regex.is_match(&as_text(value)),
            (ValueCheck::Compare(op, bound), Some(value)) => match number_of(value) {
                Some(number) => op.holds(number, *bound),
                None => {
                    return Err((self.to_string(), format!("{} (not a number)", shown(Some(value)))));
                }
            },
        };
        if passed {
            Ok(())
        } else {
            let expected = match self {
                ValueCheck::Equals(value) => truncate(&value.to_string(), 200),
                other => other.to_string(),
            };
            Err((expected, shown(actual)))
        }
    }
}

fn number_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// JSON equality where `200` equals `200.0` and a string equals its text.
fn values_equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => expected == actual,
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max_chars).collect();
        format!("{cut}…")
    }
}

/// One assertion about a response.
#[derive(Debug, Clone)]
pub enum Assertion {
    Status(StatusMatcher),
    JsonPath {
        path: String,
        compiled: JsonPath,
        check: ValueCheck,
    },
    BodyContains(String),
    BodyMatches(Regex),
    Header {
        name: String,
        check: ValueCheck,
    },
    /// The whitespace-normalised text of the first element matching a CSS selector.
    Selector {
        selector: String,
        check: ValueCheck,
    },
    MaxLatency(Duration),
    /// The server certificate must stay valid for at least this many days.
    CertDaysMin(i64),
}

/// The verdict on one assertion.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    /// What was asserted, e.g. `jsonpath $.status == "healthy"`.
    pub assertion: String,
    pub passed: bool,
    pub expected: String,
    pub actual: String,
}

impl Assertion {
    pub fn json_path(path: &str, check: ValueCheck) -> Result<Self, String> {
        let compiled = JsonPath::parse(path).map_err(|e| format!("invalid JSONPath `{path}`: {e}"))?;
        Ok(Assertion::JsonPath {
            path: path.to_owned(),
            compiled,
            check,
        })
    }

    pub fn selector(selector: &str, check: ValueCheck) -> Result<Self, String> {
        scraper::Selector::parse(selector).map_err(|e| format!("invalid CSS selector `{selector}`: {e}"))?;
        Ok(Assertion::Selector {
            selector: selector.to_owned(),
            check,
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Assertion::Status(matcher) => format!("status {matcher}"),
            Assertion::JsonPath { path, check, .. } => format!("jsonpath {path} {check}"),
            Assertion::BodyContains(text) => format!("body contains {text:?}"),
            Assertion::BodyMatches(regex) => format!("body =~ /{}/", regex.as_str()),
            Assertion::Header { name, check } => format!("header {name} {check}"),
            Assertion::Selector { selector, check } => format!("css {selector} {check}"),
            Assertion::MaxLatency(limit) => format!("latency <= {} ms", limit.as_millis()),
            Assertion::CertDaysMin(days) => format!("certificate valid >= {days} days"),
        }
    }

    /// Judges this assertion against one response.
    pub fn evaluate(&self, exchange: &Exchange) -> Verdict {
        let result: Result<(), (String, String)> = match self {
            Assertion::Status(matcher) => {
                if matcher.matches(exchange.status) {
                    Ok(())
                } else {
                    Err((matcher.to_string(), exchange.status.to_string()))
                }
            }
            Assertion::JsonPath { compiled, check, .. } => match serde_json::from_slice::<Value>(&exchange.body) {
                Err(err) => Err((
                    check_text(check),
                    format!("body is not JSON ({err}): {}", truncate(&exchange.body_text(), 80)),
                )),
                Ok(document) => {
                    let nodes = compiled.query(&document).all();
                    check.judge(nodes.first().copied())
                }
            },
            Assertion::BodyContains(needle) => {
                let body = exchange.body_text();
                if body.contains(needle.as_str()) {
                    Ok(())
                } else {
                    Err((
                        format!("body containing {needle:?}"),
                        format!("body {:?}", truncate(&body, 120)),
                    ))
                }
            }
            Assertion::BodyMatches(regex) => {
                let body = exchange.body_text();
                if regex.is_match(&body) {
                    Ok(())
                } else {
                    Err((
                        format!("body matching /{}/", regex.as_str()),
                        format!("body {:?}", truncate(&body, 120)),
                    ))
                }
            }
            Assertion::Header { name, check } => {
                let value = exchange
                    .headers
                    .get(name.as_str())
                    .map(|value| Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()));
                check.judge(value.as_ref())
            }
            Assertion::Selector { selector, check } => {
                let text = selected_text(&exchange.body_text(), selector);
                check.judge(text.map(Value::String).as_ref())
            }
            Assertion::MaxLatency(limit) => {
                if exchange.latency <= *limit {
                    Ok(())
                } else {
                    Err((
                        format!("<= {} ms", limit.as_millis()),
                        format!("{} ms", exchange.latency.as_millis()),
                    ))
                }
            }
            Assertion::CertDaysMin(days) => match exchange.certificate_days_left() {
                None => Err((format!(">= {days} days"), "no TLS certificate (plain HTTP)".to_owned())),
                Some(left) if left >= *days => Ok(()),
                Some(left) => Err((format!(">= {days} days"), format!("{left} days"))),
            },
        };
        let (passed, expected, actual) = match result {
            Ok(()) => (true, String::new(), String::new()),
            Err((expected, actual)) => (false, expected, actual),
        };
        Verdict {
            assertion: self.describe(),
            passed,
            expected,
            actual,
        }
    }
}

fn check_text(check: &ValueCheck) -> String {
    match check {
        ValueCheck::Equals(value) => value.to_string(),
        other => other.to_string(),
    }
}

/// The text of the first element `selector` matches, whitespace collapsed.
fn selected_text(html: &str, selector: &str) -> Option<String> {
    let selector = scraper::Selector::parse(selector).ok()?;
    let document = scraper::Html::parse_document(html);
    let element = document.select(&selector).next()?;
    let text: String = element.text().collect::<Vec<_>>().join(" ");
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Parses `--jsonpath '$.status == "healthy"'`: a path, optionally followed
/// by `==`, `!=`, `<`, `<=`, `>`, `>=`, `=~` (regex) or `contains` and a
/// value. The value is JSON when it parses as JSON, else plain text. A bare
/// path asserts the node exists.
pub fn parse_json_path_expression(expression: &str) -> Result<Assertion, String> {
    let (path, operator, value) = split_expression(expression);
    let path = path.trim();
    let value = value.trim();
    let json_value = || serde_json::from_str::<Value>(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    let text_value = || match json_value() {
        Value::String(text) => text,
        other => other.to_string(),
    };
    let number = || {
        value
            .parse::<f64>()
            .map_err(|_| format!("`{value}` in `{expression}` is not a number"))
    };
    let check = match operator {
        None => ValueCheck::Exists(true),
        Some("==") => ValueCheck::Equals(json_value()),
        Some("!=") => ValueCheck::NotEquals(json_value()),
        Some("=~") => {
            ValueCheck::Matches(Regex::new(&text_value()).map_err(|e| format!("invalid regex in `{expression}`: {e}"))?)
        }
        Some("contains") => ValueCheck::Contains(text_value()),
        Some("<") => ValueCheck::Compare(Comparison::Less, number()?),
        Some("<=") => ValueCheck::Compare(Comparison::LessOrEqual, number()?),
        Some(">") => ValueCheck::Compare(Comparison::Greater, number()?),
        Some(">=") => ValueCheck::Compare(Comparison::GreaterOrEqual, number()?),
        Some(other) => return Err(format!("unknown operator `{other}` in `{expression}`")),
    };
    Assertion::json_path(path, check)
}

/// Splits at the first operator outside brackets and quotes, so filter
/// expressions like `$[?@.a == 1]` stay part of the path.
fn split_expression(expression: &str) -> (&str, Option<&'static str>, &str) {
    const OPERATORS: [&str; 8] = ["==", "!=", "=~", "<=", ">=", "<", ">", " contains "];
    let bytes = expression.as_bytes();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        match quote {
            Some(open) if byte == open => quote = None,
            Some(_) => {}
            None => match byte {
                b'\'' | b'"' => quote = Some(byte),
                b'[' | b'(' => depth += 1,
                b']' | b')' => depth -= 1,
                _ if depth == 0 => {
                    for operator in OPERATORS {
                        if expression[index..].starts_with(operator) {
                            let name = operator.trim();
                            return (&expression[..index], Some(name), &expression[index + operator.len()..]);
                        }
                    }
                }
                _ => {}
            },
        }
        index += 1;
    }
    (expression, None, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(status: u16, body: &str) -> Exchange {
        Exchange {
            status,
            headers: reqwest::header::HeaderMap::new(),
            body: body.as_bytes().to_vec(),
            latency: Duration::from_millis(12),
            certificate_not_after: None,
        }
    }

    #[test]
    fn status_matchers_cover_exact_range_and_set() {
        assert!(StatusMatcher::parse("200").unwrap().matches(200));
        assert!(StatusMatcher::parse("2xx").unwrap().matches(204));
        assert!(!StatusMatcher::parse("2xx").unwrap().matches(301));
        assert!(StatusMatcher::parse("200-499").unwrap().matches(404));
        assert!(StatusMatcher::parse("200,204").unwrap().matches(204));
        assert!(!StatusMatcher::parse("200,204").unwrap().matches(201));
        assert_eq!(StatusMatcher::parse("2xx").unwrap().to_string(), "2xx");
        assert!(StatusMatcher::parse("999").is_err());
        let set = StatusMatcher::from_toml(&toml::Value::Array(vec![200.into(), 204.into()])).unwrap();
        assert_eq!(set, StatusMatcher::Set(vec![200, 204]));
    }

    #[test]
    fn json_path_expressions_say_expected_and_actual() {
        let healthy = exchange(200, r#"{"status":"unhealthy","uptime":12.5}"#);
        let verdict = parse_json_path_expression(r#"$.status == "healthy""#)
            .unwrap()
            .evaluate(&healthy);
        assert!(!verdict.passed);
        assert_eq!(verdict.expected, r#""healthy""#);
        assert_eq!(verdict.actual, r#""unhealthy""#);
        assert!(
            parse_json_path_expression("$.uptime > 10")
                .unwrap()
                .evaluate(&healthy)
                .passed
        );
        assert!(
            parse_json_path_expression("$.uptime")
                .unwrap()
                .evaluate(&healthy)
                .passed
        );
        let missing = parse_json_path_expression("$.version").unwrap().evaluate(&healthy);
        assert_eq!(missing.actual, "nothing (not found)");
        assert!(
            parse_json_path_expression("$.status =~ ^un")
                .unwrap()
                .evaluate(&healthy)
                .passed
        );
        let filtered = parse_json_path_expression(r#"$[?@.status == "unhealthy"].uptime >= 12.5"#).unwrap();
        assert_eq!(
            filtered.describe(),
            r#"jsonpath $[?@.status == "unhealthy"].uptime >= 12.5"#
        );
    }

    #[test]
    fn invalid_json_is_a_clear_failure() {
        let verdict = parse_json_path_expression("$.status")
            .unwrap()
            .evaluate(&exchange(200, "<html>oops</html>"));
        assert!(!verdict.passed);
        assert!(verdict.actual.starts_with("body is not JSON"), "{}", verdict.actual);
    }

    #[test]
    fn css_selector_text_is_matched() {
        let page = exchange(200, "<html><body><h1>  Welcome to\n VibeLog </h1></body></html>");
        let contains = Assertion::selector("h1", ValueCheck::Contains("VibeLog".into())).unwrap();
        assert!(contains.evaluate(&page).passed);
        let verdict = Assertion::selector("h1", ValueCheck::Equals(Value::String("VibeLog".into())))
            .unwrap()
            .evaluate(&page);
        assert_eq!(verdict.actual, r#""Welcome to VibeLog""#);
        assert!(Assertion::selector("h1[", ValueCheck::Exists(true)).is_err());
    }
}
