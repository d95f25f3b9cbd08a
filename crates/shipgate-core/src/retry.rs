//! When to retry a request, how long to wait first, and the one loop that
//! does it.
//!
//! The policy is pure: [`RetryPolicy::decide`] looks at one outcome and says
//! "retry after this long" or "give up". [`RetryPolicy::run`] is the only
//! retry loop in shipgate: [`crate::http`] (reqwest), [`crate::github`]
//! (octocrab) and the notify channels hand it one attempt as an async
//! closure and a hook that reads the service's verdict and wait hint
//! (`Retry-After`, GitHub's rate-limit headers, Discord's `retry_after`).
//! It sleeps through [`RetryPolicy::sleep`] so tests can swap the clock out
//! and never really wait.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

/// GitHub asks clients that hit a secondary rate limit without any
/// `retry-after` or reset header to wait "at least one minute".
pub const SECONDARY_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type Sleeper = Arc<dyn Fn(Duration) -> SleepFuture + Send + Sync>;

/// How often and how patiently to retry a request.
#[derive(Clone)]
pub struct RetryPolicy {
    /// Total attempts including the first one.
    pub max_attempts: u32,
    /// Backoff before the second attempt; it doubles for each further one.
    pub initial_backoff: Duration,
    /// Upper bound for the exponential backoff.
    pub max_backoff: Duration,
    /// A server asking us to wait longer than this makes us give up at once:
    /// hanging a CI job for an hour is worse than failing with a clear message.
    pub max_retry_after: Duration,
    sleeper: Sleeper,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            sleeper: Arc::new(|duration| Box::pin(tokio::time::sleep(duration))),
        }
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("max_retry_after", &self.max_retry_after)
            .finish_non_exhaustive()
    }
}

/// What happened to one attempt.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// The request never got an answer: timeout, connection refused or reset,
    /// DNS failure.
    Transport,
    /// The server answered.
    Response {
        /// The answer's status.
        status: StatusCode,
        /// The answer's headers, where the wait hints are.
        headers: &'a HeaderMap,
        /// The response body if the caller read it; only used to recognise
        /// GitHub's secondary rate limit on a 403 without rate-limit headers.
        body: Option<&'a str>,
    },
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Sleep this long, then try again.
    Retry(Duration),
    /// Stop; the reason says why.
    GiveUp(GiveUpReason),
}

/// What a service hook makes of one attempt, for [`RetryPolicy::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to retry: a success, an answer a retry cannot change (most
    /// 4xx), or a request that can never work.
    Final,
    /// Worth another attempt: a transport failure, a 5xx, a rate limit.
    Transient {
        /// How long the service asked us to wait, if it said; `None` means
        /// the policy's backoff.
        wait: Option<Duration>,
    },
}

/// How [`RetryPolicy::run`] ended when it stopped without a final answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaveUp<T> {
    /// What the last attempt produced.
    pub last: T,
    /// How many attempts were made, the last included.
    pub attempts: u32,
    /// [`GiveUpReason::AttemptsExhausted`] or [`GiveUpReason::WaitTooLong`].
    pub reason: GiveUpReason,
}

/// "1 attempt", "4 attempts": how the give-up messages count.
pub fn attempts_text(count: u32) -> String {
    if count == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{count} attempts")
    }
}

/// The HTTP verdict on one outcome: transport failures and retryable
/// statuses are transient, with the wait the server asked for
/// (`Retry-After`, GitHub's rate-limit reset, its secondary rate limit);
/// everything else is final.
pub fn judge(outcome: Outcome<'_>) -> Verdict {
    judge_at(outcome, SystemTime::now())
}

/// [`judge`] with an explicit clock, for HTTP-date and epoch headers.
pub fn judge_at(outcome: Outcome<'_>, now: SystemTime) -> Verdict {
    match outcome {
        Outcome::Transport => Verdict::Transient { wait: None },
        Outcome::Response { status, headers, body } if is_retryable(status, headers, body) => Verdict::Transient {
            wait: server_requested_wait(status, headers, body, now),
        },
        Outcome::Response { .. } => Verdict::Final,
    }
}

/// Why [`RetryPolicy::decide`] said to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GiveUpReason {
    /// The outcome is final: a success, or an error that a retry cannot fix
    /// (most 4xx). The caller handles the response as it is.
    NotRetryable,
    /// The outcome was transient but this was the last allowed attempt.
    AttemptsExhausted,
    /// The server asked us to wait longer than [`RetryPolicy::max_retry_after`].
    WaitTooLong(Duration),
}

impl RetryPolicy {
    /// The default policy, sleeping through `sleeper` instead of the tokio
    /// clock; tests pass a sleeper that records the durations and returns
    /// at once.
    pub fn with_sleeper<F, Fut>(sleeper: F) -> Self
    where
        F: Fn(Duration) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        RetryPolicy::default().sleeper(sleeper)
    }

    /// Replaces how this policy sleeps between attempts.
    pub fn sleeper<F, Fut>(mut self, sleeper: F) -> Self
    where
        F: Fn(Duration) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.sleeper = Arc::new(move |duration| Box::pin(sleeper(duration)));
        self
    }

    /// A policy that never retries.
    pub fn no_retries() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Waits `duration` using this policy's sleeper.
    pub async fn sleep(&self, duration: Duration) {
        (self.sleeper)(duration).await
    }

    /// Decides what to do after attempt number `attempt` (1 for the first)
    /// ended with `outcome`.
    pub fn decide(&self, attempt: u32, outcome: Outcome<'_>) -> Decision {
        self.decide_at(attempt, outcome, SystemTime::now())
    }

    /// [`RetryPolicy::decide`] with an explicit clock, for HTTP-date and
    /// epoch headers.
    pub fn decide_at(&self, attempt: u32, outcome: Outcome<'_>, now: SystemTime) -> Decision {
        self.decide_on(attempt, judge_at(outcome, now))
    }

    /// Decides what to do after attempt number `attempt` that a service
    /// hook judged `verdict`: a final answer stops; a transient one is
    /// retried after the service's wait hint, else the backoff, unless the
    /// attempts are used up or the hint is longer than
    /// [`RetryPolicy::max_retry_after`].
    pub fn decide_on(&self, attempt: u32, verdict: Verdict) -> Decision {
        let Verdict::Transient { wait: requested_wait } = verdict else {
            return Decision::GiveUp(GiveUpReason::NotRetryable);
        };
        if attempt >= self.max_attempts {
            return Decision::GiveUp(GiveUpReason::AttemptsExhausted);
        }
        match requested_wait {
            Some(wait) if wait > self.max_retry_after => Decision::GiveUp(GiveUpReason::WaitTooLong(wait)),
            Some(wait) => Decision::Retry(wait),
            None => Decision::Retry(self.backoff(attempt)),
        }
    }

    /// The retry loop every request in shipgate goes through.
    ///
    /// `attempt` makes one attempt and returns what happened (an answer, or
    /// why there was none); `judge` reads it as the service means it: is it
    /// final, and if not, how long did the service ask us to wait? The loop
    /// sleeps and tries again as [`RetryPolicy::decide_on`] says, and hands
    /// back the last attempt either as final (`Ok`) or with the reason it
    /// gave up and how many attempts were made (`Err`), so each caller words
    /// its own error.
    pub async fn run<T, F, Fut, J>(&self, mut attempt: F, mut judge: J) -> std::result::Result<T, GaveUp<T>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = T>,
        J: FnMut(&T) -> Verdict,
    {
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let last = attempt().await;
            match self.decide_on(attempts, judge(&last)) {
                Decision::Retry(wait) => self.sleep(wait).await,
                Decision::GiveUp(GiveUpReason::NotRetryable) => return Ok(last),
                Decision::GiveUp(reason) => return Err(GaveUp { last, attempts, reason }),
            }
        }
    }

    /// Exponential backoff with "equal jitter": half of the step is fixed so
    /// retries never come back too fast, the other half is random so many CI
    /// jobs hitting the same outage do not retry in lockstep.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        let step = self
            .initial_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        let half = step / 2;
        let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if jitter_nanos == 0 {
            0
        } else {
            random_u64() % (jitter_nanos + 1)
        };
        half + Duration::from_nanos(jitter)
    }
}

fn random_u64() -> u64 {
    // Jitter only spreads load; if the OS has no randomness a fixed value is
    // still a valid (if less spread) backoff.
    getrandom::u64().unwrap_or(0x9e37_79b9_7f4a_7c15)
}

/// Whether a response is worth another attempt.
pub fn is_retryable(status: StatusCode, headers: &HeaderMap, body: Option<&str>) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504) || is_secondary_rate_limit(status, headers, body)
}

/// Whether a 403 is GitHub's (secondary or primary) rate limit rather than a
/// permission problem.
pub fn is_secondary_rate_limit(status: StatusCode, headers: &HeaderMap, body: Option<&str>) -> bool {
    if status != StatusCode::FORBIDDEN {
        return false;
    }
    let exhausted_with_reset =
        header_str(headers, "x-ratelimit-remaining") == Some("0") && header_str(headers, "x-ratelimit-reset").is_some();
    headers.contains_key(http::header::RETRY_AFTER) || exhausted_with_reset || body.is_some_and(mentions_rate_limit)
}

fn mentions_rate_limit(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    lower.contains("secondary rate limit") || lower.contains("api rate limit exceeded")
}

/// How long the server asked us to wait, if it said.
fn server_requested_wait(
    status: StatusCode,
    headers: &HeaderMap,
    body: Option<&str>,
    now: SystemTime,
) -> Option<Duration> {
    if let Some(wait) = retry_after(headers, now) {
        return Some(wait);
    }
    if header_str(headers, "x-ratelimit-remaining") == Some("0")
        && let Some(reset) = header_str(headers, "x-ratelimit-reset").and_then(|value| value.trim().parse::<u64>().ok())
    {
        let reset_at = SystemTime::UNIX_EPOCH + Duration::from_secs(reset);
        // The reset second itself may still be limited; one more second
        // avoids a wasted attempt.
        return Some(
            reset_at
                .duration_since(now)
                .unwrap_or(Duration::ZERO)
                .saturating_add(Duration::from_secs(1)),
        );
    }
    if status == StatusCode::FORBIDDEN && body.is_some_and(mentions_rate_limit) {
        return Some(SECONDARY_RATE_LIMIT_WAIT);
    }
    None
}

/// Parses `Retry-After` as delay-seconds or as an HTTP-date.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = header_str(headers, http::header::RETRY_AFTER.as_str())?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// One line for a give-up, e.g. "the server asked to wait 3600s, longer
/// than the 60s limit".
impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GiveUpReason::NotRetryable => f.write_str("not retryable"),
            GiveUpReason::AttemptsExhausted => f.write_str("attempts exhausted"),
            GiveUpReason::WaitTooLong(wait) => write!(
                f,
                "the server asked to wait {}s, longer than the limit; try again later",
                wait.as_secs()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn response<'a>(status: u16, headers: &'a HeaderMap, body: Option<&'a str>) -> Outcome<'a> {
        Outcome::Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body,
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
    }

    #[test]
    fn server_errors_and_429_are_retried() {
        let empty = HeaderMap::new();
        for status in [500, 502, 503, 504, 429] {
            match policy().decide(1, response(status, &empty, None)) {
                Decision::Retry(wait) => {
                    assert!(wait >= Duration::from_millis(250), "{status}: {wait:?}");
                    assert!(wait <= Duration::from_millis(500), "{status}: {wait:?}");
                }
                other => panic!("{status} should be retried, got {other:?}"),
            }
        }
    }

    #[test]
    fn transport_errors_are_retried() {
        assert!(matches!(policy().decide(2, Outcome::Transport), Decision::Retry(_)));
    }

    #[test]
    fn other_client_errors_and_successes_are_final() {
        let empty = HeaderMap::new();
        for status in [200, 201, 204, 301, 400, 401, 403, 404, 409, 422, 501] {
            assert_eq!(
                policy().decide(1, response(status, &empty, None)),
                Decision::GiveUp(GiveUpReason::NotRetryable),
                "status {status}"
            );
        }
    }

    #[test]
    fn the_last_attempt_gives_up() {
        let empty = HeaderMap::new();
        let policy = policy();
        assert!(matches!(
            policy.decide(3, response(503, &empty, None)),
            Decision::Retry(_)
        ));
        assert_eq!(
            policy.decide(4, response(503, &empty, None)),
            Decision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
        assert_eq!(
            policy.decide(4, Outcome::Transport),
            Decision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
    }

    #[test]
    fn backoff_grows_exponentially_within_jitter_and_is_capped() {
        let policy = policy();
        for _ in 0..50 {
            let second = policy.backoff(2);
            assert!(second >= Duration::from_millis(500) && second <= Duration::from_secs(1));
            let third = policy.backoff(3);
            assert!(third >= Duration::from_secs(1) && third <= Duration::from_secs(2));
            let huge = policy.backoff(40);
            assert!(huge >= Duration::from_secs(15) && huge <= Duration::from_secs(30));
        }
    }

    #[test]
    fn retry_after_seconds_is_honoured() {
        let map = headers(&[("retry-after", "7")]);
        assert_eq!(
            policy().decide(1, response(503, &map, None)),
            Decision::Retry(Duration::from_secs(7))
        );
    }

    #[test]
    fn retry_after_http_date_is_honoured() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(12));
        let map = headers(&[("retry-after", &later)]);
        assert_eq!(
            policy().decide_at(1, response(429, &map, None), now),
            Decision::Retry(Duration::from_secs(12))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(100));
        let map = headers(&[("retry-after", &past)]);
        assert_eq!(
            policy().decide_at(1, response(429, &map, None), now),
            Decision::Retry(Duration::ZERO)
        );
    }

    #[test]
    fn a_too_long_retry_after_gives_up_at_once() {
        let map = headers(&[("retry-after", "3600")]);
        let decision = policy().decide(1, response(429, &map, None));
        assert_eq!(
            decision,
            Decision::GiveUp(GiveUpReason::WaitTooLong(Duration::from_secs(3600)))
        );
        let Decision::GiveUp(reason) = decision else {
            unreachable!()
        };
        assert!(reason.to_string().contains("3600s"), "{reason}");
    }

    #[test]
    fn forbidden_with_retry_after_is_a_secondary_rate_limit() {
        let map = headers(&[("retry-after", "2")]);
        assert_eq!(
            policy().decide(1, response(403, &map, None)),
            Decision::Retry(Duration::from_secs(2))
        );
    }

    #[test]
    fn forbidden_with_exhausted_quota_waits_until_the_reset() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let map = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1700000020")]);
        assert_eq!(
            policy().decide_at(1, response(403, &map, None), now),
            Decision::Retry(Duration::from_secs(21))
        );
        let far = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1700003600")]);
        assert!(matches!(
            policy().decide_at(1, response(403, &far, None), now),
            Decision::GiveUp(GiveUpReason::WaitTooLong(_))
        ));
    }

    #[test]
    fn forbidden_mentioning_the_secondary_rate_limit_waits_a_minute() {
        let empty = HeaderMap::new();
        let body = r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#;
        assert_eq!(
            policy().decide(1, response(403, &empty, Some(body))),
            Decision::Retry(SECONDARY_RATE_LIMIT_WAIT)
        );
    }

    #[test]
    fn forbidden_for_permissions_is_not_retried() {
        let map = headers(&[
            ("x-ratelimit-remaining", "4999"),
            ("x-accepted-github-permissions", "contents=write"),
        ]);
        let body = r#"{"message":"Resource not accessible by integration"}"#;
        assert_eq!(
            policy().decide(1, response(403, &map, Some(body))),
            Decision::GiveUp(GiveUpReason::NotRetryable)
        );
    }

    #[tokio::test]
    async fn the_sleeper_hook_replaces_real_waiting() {
        let slept = Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorder = slept.clone();
        let policy = RetryPolicy::with_sleeper(move |duration| {
            recorder.lock().unwrap().push(duration);
            async {}
        });
        let started = std::time::Instant::now();
        policy.sleep(Duration::from_secs(3600)).await;
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(*slept.lock().unwrap(), vec![Duration::from_secs(3600)]);
    }

    /// A policy whose sleeps are recorded instead of waited.
    fn recording() -> (RetryPolicy, Arc<std::sync::Mutex<Vec<Duration>>>) {
        let slept = Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorder = slept.clone();
        let policy = RetryPolicy::with_sleeper(move |duration| {
            recorder.lock().unwrap().push(duration);
            async {}
        });
        (policy, slept)
    }

    /// Runs the loop over a script of verdicts, one per attempt; each
    /// attempt returns its own number.
    async fn run_script(policy: &RetryPolicy, script: &[Verdict]) -> std::result::Result<u32, GaveUp<u32>> {
        let calls = std::sync::atomic::AtomicU32::new(0);
        policy
            .run(
                || async { calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 },
                |attempt: &u32| script[(*attempt as usize - 1).min(script.len() - 1)],
            )
            .await
    }

    #[tokio::test]
    async fn the_loop_honours_the_services_wait_hint() {
        let (policy, slept) = recording();
        let hinted = Verdict::Transient {
            wait: Some(Duration::from_millis(1337)),
        };
        let result = run_script(&policy, &[hinted, Verdict::Transient { wait: None }, Verdict::Final]).await;
        assert_eq!(result, Ok(3));
        let slept = slept.lock().unwrap();
        assert_eq!(slept.len(), 2);
        assert_eq!(slept[0], Duration::from_millis(1337));
        assert!(
            slept[1] >= Duration::from_millis(500) && slept[1] <= Duration::from_secs(1),
            "{slept:?}"
        );
    }

    #[tokio::test]
    async fn the_loop_stops_after_max_attempts() {
        let (policy, slept) = recording();
        let result = run_script(&policy, &[Verdict::Transient { wait: None }]).await;
        assert_eq!(
            result,
            Err(GaveUp {
                last: 4,
                attempts: 4,
                reason: GiveUpReason::AttemptsExhausted
            })
        );
        assert_eq!(slept.lock().unwrap().len(), 3);
        assert_eq!(attempts_text(4), "4 attempts");
        assert_eq!(attempts_text(1), "1 attempt");
    }

    #[tokio::test]
    async fn a_final_verdict_stops_the_loop_at_once() {
        let (policy, slept) = recording();
        assert_eq!(run_script(&policy, &[Verdict::Final]).await, Ok(1));
        assert!(slept.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_hint_longer_than_the_limit_gives_up_without_waiting() {
        let (policy, slept) = recording();
        let result = run_script(
            &policy,
            &[Verdict::Transient {
                wait: Some(Duration::from_secs(3600)),
            }],
        )
        .await;
        assert_eq!(
            result,
            Err(GaveUp {
                last: 1,
                attempts: 1,
                reason: GiveUpReason::WaitTooLong(Duration::from_secs(3600))
            })
        );
        assert!(slept.lock().unwrap().is_empty());
    }
}
