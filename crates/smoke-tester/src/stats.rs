//! The significance tests behind `compare`: is the canary really worse, or
//! did a handful of slow or failed requests at low volume just look so?
//!
//! - Latency: the Mann–Whitney U test (canary latencies greater than the
//!   baseline's), in its normal approximation with the tie correction and
//!   the continuity correction. That is scipy's `mannwhitneyu(...,
//!   method='asymptotic')`, and also what its default `method='auto'` picks
//!   whenever either sample has more than 8 values or there are ties, which
//!   the minimum sample size guarantees. The effect size is the
//!   common-language effect size `U / (n₁·n₂)`: the probability that a
//!   canary request is slower than a baseline request (ties count half).
//! - Errors: the one-sided two-proportion z-test with the pooled standard
//!   error; the effect size is the difference in error rates.
//!
//! The normal distribution comes from `statrs`.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

/// The significance tests of one canary comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Fewer samples on either side make the comparison inconclusive.
    pub min_samples: usize,
    /// The significance level: a difference counts when p is below it.
    pub alpha: f64,
    pub canary_samples: usize,
    pub baseline_samples: usize,
    /// Mann–Whitney U on the latencies; effect size P(canary slower).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<TestResult>,
    /// Two-proportion z-test on the error counts; effect size the difference in error rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<TestResult>,
}

impl Comparison {
    /// Runs both tests on latencies (any unit) and error counts.
    pub fn of(
        canary_latencies: &[f64],
        canary_errors: usize,
        baseline_latencies: &[f64],
        baseline_errors: usize,
        min_samples: usize,
        alpha: f64,
    ) -> Comparison {
        Comparison {
            min_samples,
            alpha,
            canary_samples: canary_latencies.len(),
            baseline_samples: baseline_latencies.len(),
            latency: mann_whitney_greater(canary_latencies, baseline_latencies),
            errors: proportions_greater(
                canary_errors,
                canary_latencies.len(),
                baseline_errors,
                baseline_latencies.len(),
            ),
        }
    }

    /// Whether either side has fewer samples than the minimum.
    pub fn too_few_samples(&self) -> bool {
        self.canary_samples < self.min_samples || self.baseline_samples < self.min_samples
    }

    /// Whether the canary's latencies are significantly greater.
    pub fn latency_significant(&self) -> bool {
        self.latency.is_some_and(|test| test.p_value < self.alpha)
    }

    /// Whether the canary's error rate is significantly greater.
    pub fn errors_significant(&self) -> bool {
        self.errors.is_some_and(|test| test.p_value < self.alpha)
    }
}

/// A one-sided test's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TestResult {
    /// U for Mann–Whitney, z for the proportions.
    pub statistic: f64,
    /// The z score the p-value comes from.
    pub z: f64,
    pub p_value: f64,
    /// See the module documentation for each test's measure.
    pub effect_size: f64,
}

fn upper_tail(z: f64) -> f64 {
    let standard = Normal::standard();
    standard.sf(z)
}

/// Mann–Whitney U test of H₁: values in `x` tend to be greater than in `y`.
/// `None` when either sample is empty.
pub fn mann_whitney_greater(x: &[f64], y: &[f64]) -> Option<TestResult> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut all: Vec<(f64, bool)> = x
        .iter()
        .map(|v| (*v, true))
        .chain(y.iter().map(|v| (*v, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Average ranks over runs of ties; Σ(t³ − t) feeds the tie correction.
    let n = all.len();
    let mut rank_sum_x = 0.0;
    let mut tie_term = 0.0;
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && all[end].0 == all[start].0 {
            end += 1;
        }
        let average_rank = (start + 1 + end) as f64 / 2.0;
        rank_sum_x += average_rank * all[start..end].iter().filter(|(_, from_x)| *from_x).count() as f64;
        let t = (end - start) as f64;
        tie_term += t * t * t - t;
        start = end;
    }
    let (n1f, n2f, nf) = (n1 as f64, n2 as f64, n as f64);
    let u1 = rank_sum_x - n1f * (n1f + 1.0) / 2.0;
    let mean = n1f * n2f / 2.0;
    let variance = n1f * n2f / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    let z = if variance > 0.0 {
        (u1 - mean - 0.5) / variance.sqrt()
    } else {
        // Every value tied: no evidence either way.
        0.0
    };
    let p_value = if variance > 0.0 { upper_tail(z) } else { 1.0 };
    Some(TestResult {
        statistic: u1,
        z,
        p_value,
        effect_size: u1 / (n1f * n2f),
    })
}

/// Two-proportion z-test of H₁: the first error rate is greater than the
/// second. `None` when either side has no requests.
pub fn proportions_greater(errors1: usize, total1: usize, errors2: usize, total2: usize) -> Option<TestResult> {
    if total1 == 0 || total2 == 0 {
        return None;
    }
    let (n1, n2) = (total1 as f64, total2 as f64);
    let (p1, p2) = (errors1 as f64 / n1, errors2 as f64 / n2);
    let pooled = (errors1 + errors2) as f64 / (n1 + n2);
    let standard_error = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let (z, p_value) = if standard_error > 0.0 {
        let z = (p1 - p2) / standard_error;
        (z, upper_tail(z))
    } else {
        // No errors anywhere (or nothing but errors): the rates are equal.
        (0.0, 1.0)
    };
    Some(TestResult {
        statistic: z,
        z,
        p_value,
        effect_size: p1 - p2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Equal to 10 significant digits: scipy and statrs compute the normal
    /// tail with different algorithms.
    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= 1e-10 * expected.abs()
    }

    /// Latency samples (ms) with ties within and across the two samples.
    const CANARY: [f64; 12] = [12.0, 15.0, 15.0, 18.0, 21.0, 22.0, 22.0, 25.0, 30.0, 31.0, 40.0, 45.0];
    const BASELINE: [f64; 14] = [
        10.0, 11.0, 12.0, 12.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 24.0,
    ];
    /// scipy 1.17.1: `mannwhitneyu(CANARY, BASELINE, alternative='greater')`
    /// (its default method='auto' resolves to 'asymptotic': there are ties).
    const SCIPY_TIED_U: f64 = 129.0;
    const SCIPY_TIED_P: f64 = 0.01088576626070875;

    /// Distinct values, 20 against 25.
    const CANARY_DISTINCT: [f64; 20] = [
        31.0, 35.0, 38.0, 40.0, 42.0, 44.0, 47.0, 49.0, 52.0, 55.0, 58.0, 61.0, 63.0, 66.0, 70.0, 74.0, 79.0, 85.0,
        92.0, 101.0,
    ];
    const BASELINE_DISTINCT: [f64; 25] = [
        20.0, 22.0, 23.0, 25.0, 26.0, 28.0, 29.0, 30.0, 32.0, 33.0, 34.0, 36.0, 37.0, 39.0, 41.0, 43.0, 45.0, 46.0,
        48.0, 50.0, 53.0, 56.0, 60.0, 64.0, 71.0,
    ];
    /// scipy 1.17.1, `alternative='greater'`: 'auto' and 'asymptotic' agree
    /// here (both samples have more than 8 values); 'exact' would give 0.000300783753059774.
    const SCIPY_DISTINCT_U: f64 = 396.0;
    const SCIPY_DISTINCT_P: f64 = 0.00044455010437987664;
    /// The same with the samples swapped.
    const SCIPY_DISTINCT_P_REVERSED: f64 = 0.9995905051307665;

    #[test]
    fn mann_whitney_matches_scipy() {
        let tied = mann_whitney_greater(&CANARY, &BASELINE).unwrap();
        assert_eq!(tied.statistic, SCIPY_TIED_U);
        assert!(close(tied.p_value, SCIPY_TIED_P), "{tied:?}");
        assert!(close(tied.effect_size, SCIPY_TIED_U / (12.0 * 14.0)), "{tied:?}");

        let distinct = mann_whitney_greater(&CANARY_DISTINCT, &BASELINE_DISTINCT).unwrap();
        assert_eq!(distinct.statistic, SCIPY_DISTINCT_U);
        assert!(close(distinct.p_value, SCIPY_DISTINCT_P), "{distinct:?}");
        let reversed = mann_whitney_greater(&BASELINE_DISTINCT, &CANARY_DISTINCT).unwrap();
        assert!(close(reversed.p_value, SCIPY_DISTINCT_P_REVERSED), "{reversed:?}");

        assert!(mann_whitney_greater(&[], &BASELINE).is_none());
        let all_tied = mann_whitney_greater(&[5.0; 10], &[5.0; 10]).unwrap();
        assert_eq!(all_tied.p_value, 1.0);
    }

    /// `z = (p1 - p2) / sqrt(p(1-p)(1/n1 + 1/n2))`, p-value `scipy.stats.norm.sf(z)`,
    /// computed with scipy 1.17.1 for 9 of 120 against 3 of 150.
    const SCIPY_Z: f64 = 2.1791159931559188;
    const SCIPY_P_PROPORTIONS: f64 = 0.014661526228521623;

    #[test]
    fn two_proportions_match_scipy() {
        let result = proportions_greater(9, 120, 3, 150).unwrap();
        assert!(close(result.z, SCIPY_Z), "{result:?}");
        assert!(close(result.p_value, SCIPY_P_PROPORTIONS), "{result:?}");
        assert!(close(result.effect_size, 9.0 / 120.0 - 3.0 / 150.0));
        let none = proportions_greater(0, 50, 0, 50).unwrap();
        assert_eq!((none.z, none.p_value), (0.0, 1.0));
        assert!(proportions_greater(1, 0, 0, 10).is_none());
    }
}
