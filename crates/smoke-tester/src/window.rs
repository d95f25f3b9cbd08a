//! Sliding-window statistics and the rollback decision.
//!
//! k6 evaluates thresholds over the whole run; seed 003's triggers are over
//! windows ("error rate > 5% over 5 minutes", "p95 > 5 s over 10 minutes"),
//! so each threshold here looks only at the samples of its own window.
//!
//! A breach is *certain* before a window has filled when the bad samples
//! already seen exceed the allowed share of the most samples that window can
//! ever hold at the sampling rate: whatever comes next, the window ending
//! when it first fills will still be over the threshold. That is when
//! `watch` stops early.

use std::collections::VecDeque;
use std::time::Duration;

/// One request: when it started (since the run began), how long it took and
/// whether it passed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at: Duration,
    pub latency: Duration,
    pub ok: bool,
}

/// Error rate and latency percentiles over some samples.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Stats {
    pub requests: usize,
    pub errors: usize,
    pub error_rate_percent: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

impl Stats {
    pub fn of<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Stats {
        let mut latencies = Vec::new();
        let mut errors = 0;
        for sample in samples {
            latencies.push(sample.latency.as_secs_f64() * 1000.0);
            if !sample.ok {
                errors += 1;
            }
        }
        let requests = latencies.len();
        latencies.sort_by(f64::total_cmp);
        Stats {
            requests,
            errors,
            error_rate_percent: if requests == 0 {
                0.0
            } else {
                errors as f64 * 100.0 / requests as f64
            },
            p50_ms: percentile(&latencies, 50.0),
            p95_ms: percentile(&latencies, 95.0),
            p99_ms: percentile(&latencies, 99.0),
        }
    }
}

/// Nearest-rank percentile of sorted values (0 for none).
pub fn percentile(sorted: &[f64], percent: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The rollback thresholds of seed 003 (and seed 004's consecutive failures).
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub max_error_rate_percent: f64,
    pub error_rate_window: Duration,
    pub max_p95: Duration,
    pub p95_window: Duration,
    /// Consecutive failures that count as down.
    pub failure_threshold: u32,
    /// Requests per second, to know how many samples a window can hold.
    pub rate_per_second: f64,
}

/// Which trigger fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    ErrorRate,
    P95,
    ConsecutiveFailures,
}

/// Why a rollback is called for: the threshold, what was observed and when.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Breach {
    pub trigger: Trigger,
    pub threshold: String,
    pub observed: String,
    /// Time since the start of the run.
    pub at_ms: u64,
    /// True when decided before the window filled.
    pub early: bool,
}

impl Breach {
    pub fn reason(&self) -> String {
        let at = format_seconds(Duration::from_millis(self.at_ms));
        match self.trigger {
            Trigger::ErrorRate => format!(
                "error rate {} exceeded the {} threshold at {at}",
                self.observed, self.threshold
            ),
            Trigger::P95 => format!(
                "p95 latency {} exceeded the {} threshold at {at}",
                self.observed, self.threshold
            ),
            Trigger::ConsecutiveFailures => {
                format!(
                    "{} consecutive failed checks (threshold {}) at {at}",
                    self.observed, self.threshold
                )
            }
        }
    }
}

fn format_seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

fn format_window(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 60 && seconds.is_multiple_of(60) {
        format!("{}m", seconds / 60)
    } else if duration.subsec_millis() == 0 {
        format!("{seconds}s")
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// The samples of a run, judged as they arrive.
#[derive(Debug, Clone)]
pub struct Monitor {
    thresholds: Thresholds,
    /// Samples still inside the longer of the two windows.
    recent: VecDeque<Sample>,
    consecutive_failures: u32,
    /// Every sample's (time, latency, ok), for the summary chart.
    pub history: Vec<Sample>,
}

impl Monitor {
    pub fn new(thresholds: Thresholds) -> Self {
        Monitor {
            thresholds,
            recent: VecDeque::new(),
            consecutive_failures: 0,
            history: Vec::new(),
        }
    }

    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// Most samples a window of `span` can hold at the sampling rate.
    fn capacity(&self, span: Duration) -> f64 {
        (span.as_secs_f64() * self.thresholds.rate_per_second).max(1.0)
    }

    fn in_window(&self, now: Duration, span: Duration) -> impl Iterator<Item = &Sample> {
        let start = now.saturating_sub(span);
        self.recent.iter().filter(move |s| s.at >= start)
    }

    /// Adds a sample (in start order) and returns a breach if one is now certain.
    pub fn record(&mut self, sample: Sample) -> Option<Breach> {
        self.history.push(sample);
        self.recent.push_back(sample);
        let longest = self.thresholds.error_rate_window.max(self.thresholds.p95_window);
        while self
            .recent
            .front()
            .is_some_and(|s| s.at < sample.at.saturating_sub(longest))
        {
            self.recent.pop_front();
        }
        let now = sample.at;
        let at_ms = now.as_millis() as u64;

        self.consecutive_failures = if sample.ok { 0 } else { self.consecutive_failures + 1 };
        if self.consecutive_failures >= self.thresholds.failure_threshold {
            return Some(Breach {
                trigger: Trigger::ConsecutiveFailures,
                threshold: self.thresholds.failure_threshold.to_string(),
                observed: self.consecutive_failures.to_string(),
                at_ms,
                early: false,
            });
        }

        let window = self.thresholds.error_rate_window;
        let stats = Stats::of(self.in_window(now, window));
        let filled = now >= window;
        let allowed = self.thresholds.max_error_rate_percent / 100.0 * self.capacity(window);
        let breached = if filled {
            stats.error_rate_percent > self.thresholds.max_error_rate_percent
        } else {
            stats.errors as f64 > allowed
        };
        if breached {
            return Some(Breach {
                trigger: Trigger::ErrorRate,
                threshold: format!(
                    "{}% over {}",
                    self.thresholds.max_error_rate_percent,
                    format_window(window)
                ),
                observed: format!(
                    "{:.1}% ({} of {} requests)",
                    stats.error_rate_percent, stats.errors, stats.requests
                ),
                at_ms,
                early: !filled,
            });
        }

        let window = self.thresholds.p95_window;
        let limit_ms = self.thresholds.max_p95.as_secs_f64() * 1000.0;
        let slow = self
            .in_window(now, window)
            .filter(|s| s.latency.as_secs_f64() * 1000.0 > limit_ms)
            .count();
        let filled = now >= window;
        let stats = Stats::of(self.in_window(now, window));
        // p95 exceeds the limit exactly when more than 5% of samples exceed it.
        let breached = if filled {
            stats.p95_ms > limit_ms
        } else {
            slow as f64 > 0.05 * self.capacity(window)
        };
        if breached {
            return Some(Breach {
                trigger: Trigger::P95,
                threshold: format!("{} ms over {}", limit_ms.round(), format_window(window)),
                observed: format!("{:.0} ms ({slow} of {} requests slower)", stats.p95_ms, stats.requests),
                at_ms,
                early: !filled,
            });
        }
        None
    }

    /// At the end of a run shorter than a window, the whole run is the window.
    pub fn final_verdict(&self, elapsed: Duration) -> Option<Breach> {
        let at_ms = elapsed.as_millis() as u64;
        let window = self.thresholds.error_rate_window;
        let stats = Stats::of(self.in_window(elapsed, window));
        if stats.requests > 0 && stats.error_rate_percent > self.thresholds.max_error_rate_percent {
            return Some(Breach {
                trigger: Trigger::ErrorRate,
                threshold: format!(
                    "{}% over {}",
                    self.thresholds.max_error_rate_percent,
                    format_window(window)
                ),
                observed: format!(
                    "{:.1}% ({} of {} requests)",
                    stats.error_rate_percent, stats.errors, stats.requests
                ),
                at_ms,
                early: false,
            });
        }
        let window = self.thresholds.p95_window;
        let stats = Stats::of(self.in_window(elapsed, window));
        let limit_ms = self.thresholds.max_p95.as_secs_f64() * 1000.0;
        if stats.requests > 0 && stats.p95_ms > limit_ms {
            return Some(Breach {
                trigger: Trigger::P95,
                threshold: format!("{} ms over {}", limit_ms.round(), format_window(window)),
                observed: format!("{:.0} ms", stats.p95_ms),
                at_ms,
                early: false,
            });
        }
        None
    }

    /// Statistics over all samples of the run.
    pub fn overall(&self) -> Stats {
        Stats::of(&self.history)
    }

    /// Statistics over the error-rate window ending at the last sample.
    pub fn current_window(&self) -> Stats {
        let now = self.history.last().map_or(Duration::ZERO, |s| s.at);
        Stats::of(self.in_window(now, self.thresholds.error_rate_window))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thresholds(rate: f64) -> Thresholds {
        Thresholds {
            max_error_rate_percent: 5.0,
            error_rate_window: Duration::from_secs(10),
            max_p95: Duration::from_millis(500),
            p95_window: Duration::from_secs(10),
            failure_threshold: 3,
            rate_per_second: rate,
        }
    }

    fn sample(index: u64, rate_hz: u64, ok: bool, latency_ms: u64) -> Sample {
        Sample {
            at: Duration::from_millis(index * 1000 / rate_hz),
            latency: Duration::from_millis(latency_ms),
            ok,
        }
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 50.0);
        assert_eq!(percentile(&values, 95.0), 95.0);
        assert_eq!(percentile(&values, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
        assert_eq!(percentile(&[], 95.0), 0.0);
    }

    #[test]
    fn ten_percent_errors_are_certain_before_the_window_fills() {
        // 10 requests/s, window 10 s → at most 100 samples, 5 errors allowed.
        let mut monitor = Monitor::new(thresholds(10.0));
        let mut breach = None;
        for index in 0..200 {
            // Every 10th request fails: 10%.
            if let Some(found) = monitor.record(sample(index, 10, index % 10 != 9, 20)) {
                breach = Some((index, found));
                break;
            }
        }
        let (index, breach) = breach.expect("a 10% error rate must breach 5%");
        // The 6th error is request #59, at 5.9 s: certain, although the window is not full.
        assert_eq!(index, 59);
        assert_eq!(breach.trigger, Trigger::ErrorRate);
        assert!(breach.early);
        assert_eq!(breach.observed, "10.0% (6 of 60 requests)");
        assert_eq!(
            breach.reason(),
            "error rate 10.0% (6 of 60 requests) exceeded the 5% over 10s threshold at 5.9s"
        );
    }

    #[test]
    fn errors_leaving_the_window_no_longer_count() {
        // 4% errors spread evenly never breach; a burst that slid out does not either.
        let mut monitor = Monitor::new(thresholds(10.0));
        for index in 0..400 {
            let ok = index % 25 != 0;
            assert_eq!(monitor.record(sample(index, 10, ok, 20)), None, "request {index}");
        }
        assert_eq!(monitor.final_verdict(Duration::from_secs(40)), None);
        let window = monitor.current_window();
        assert_eq!(window.requests, 101);
        assert_eq!(window.errors, 4);
    }

    #[test]
    fn slow_p95_and_consecutive_failures_trigger() {
        let mut monitor = Monitor::new(thresholds(10.0));
        let mut breach = None;
        for index in 0..200 {
            let latency = if index % 5 == 0 { 900 } else { 20 };
            if let Some(found) = monitor.record(sample(index, 10, true, latency)) {
                breach = Some(found);
                break;
            }
        }
        let breach = breach.unwrap();
        assert_eq!(breach.trigger, Trigger::P95);
        assert_eq!(breach.threshold, "500 ms over 10s");

        let mut monitor = Monitor::new(thresholds(10.0));
        assert_eq!(monitor.record(sample(0, 10, false, 20)), None);
        assert_eq!(monitor.record(sample(1, 10, false, 20)), None);
        let breach = monitor.record(sample(2, 10, false, 20)).unwrap();
        assert_eq!(breach.trigger, Trigger::ConsecutiveFailures);
        assert_eq!(breach.reason(), "3 consecutive failed checks (threshold 3) at 0.2s");
    }

    #[test]
    fn a_short_run_is_judged_over_all_its_samples() {
        let mut monitor = Monitor::new(thresholds(10.0));
        // 3 errors in 20 requests (15%): not certain for a 10 s window of 100, but over at the end.
        for index in 0..20 {
            let ok = !matches!(index, 3 | 9 | 15);
            assert_eq!(monitor.record(sample(index, 10, ok, 20)), None);
        }
        let breach = monitor.final_verdict(Duration::from_secs(2)).unwrap();
        assert_eq!(breach.trigger, Trigger::ErrorRate);
        assert_eq!(breach.observed, "15.0% (3 of 20 requests)");
    }
}
