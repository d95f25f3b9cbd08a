//! `release-tagger stats`: DORA metrics from release tags and history.
//!
//! * deployment frequency: stable releases per week between the first and
//!   the last one;
//! * lead time for changes: commit time → release time, median over every
//!   commit released; the release time is the annotated tag's date (when it
//!   was tagged, which is when it shipped), else the tagged commit's time;
//! * change failure rate: hotfix releases / releases, where a hotfix
//!   release is a patch release (x.y.z with z > 0), as git-flow hotfixes are;
//! * time to restore (MTTR): median time from the release a hotfix repairs
//!   (the one before it) to the hotfix release.

use std::collections::BTreeMap;

use serde_json::json;
use shipgate_core::actions::{Runtime, Summary};
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::Project;
use crate::history::split_at_releases;

/// Flags of `stats`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StatsArgs {}

/// The four metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Dora {
    pub releases: usize,
    /// Seconds since the epoch of the first and last release.
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub per_week: Option<f64>,
    pub lead_time_median: Option<i64>,
    pub hotfix_releases: usize,
    pub change_failure_rate: Option<f64>,
    pub mttr_median: Option<i64>,
    /// Releases per calendar month (UTC), for the chart; months without a
    /// release between the first and the last are there with 0.
    pub per_month: BTreeMap<String, usize>,
}

fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[values.len() / 2])
}

/// Computes the metrics from the stable releases reachable from HEAD, with
/// one walk of the history (not one per release).
pub fn compute(project: &Project) -> Result<Dora> {
    let head = project.repo.head_commit()?;
    let git = project.repo.git2();
    let history = split_at_releases(&project.repo, head, &project.config, |_, commit| {
        commit.time().seconds()
    })?;
    let line = &history.line;
    let mut release_times = Vec::with_capacity(line.len());
    let mut lead_times = Vec::new();
    // `members[k]` for k < line.len() are what release k shipped; the last
    // entry, the unreleased commits, has no release time.
    for (tag, released) in line.iter().zip(&history.members) {
        let released_at = match tagger_time(git, &tag.name) {
            Some(time) => time,
            None => git
                .find_commit(tag.commit)
                .map(|c| c.time().seconds())
                .map_err(|e| Error::usage(format!("cannot read commit: {}", e.message())))?,
        };
        release_times.push(released_at);
        lead_times.extend(
            released
                .iter()
                .map(|&at| (released_at - history.commits[at as usize].1).max(0)),
        );
    }
    let mut restore_times = Vec::new();
    let mut hotfix_releases = 0;
    for (at, tag) in line.iter().enumerate() {
        if tag.version.patch > 0 {
            hotfix_releases += 1;
            if at > 0 {
                restore_times.push((release_times[at] - release_times[at - 1]).max(0));
            }
        }
    }
    let first = release_times.iter().min().copied();
    let last = release_times.iter().max().copied();
    let mut per_month = BTreeMap::new();
    if let (Some(first), Some(last)) = (first, last) {
        for month in months_between(first, last) {
            per_month.insert(month, 0);
        }
    }
    for time in &release_times {
        if let Some(date) = chrono::DateTime::from_timestamp(*time, 0) {
            *per_month.entry(date.format("%Y-%m").to_string()).or_insert(0) += 1;
        }
    }
    let per_week = match (first, last) {
        (Some(first), Some(last)) if line.len() > 1 && last > first => {
            Some(line.len() as f64 / ((last - first) as f64 / (7.0 * 86_400.0)))
        }
        _ => None,
    };
    Ok(Dora {
        releases: line.len(),
        first,
        last,
        per_week,
        lead_time_median: median(&mut lead_times),
        hotfix_releases,
        change_failure_rate: (!line.is_empty()).then(|| hotfix_releases as f64 / line.len() as f64),
        mttr_median: median(&mut restore_times),
        per_month,
    })
}

/// When an annotated tag was made; `None` for a lightweight tag.
fn tagger_time(git: &git2::Repository, name: &str) -> Option<i64> {
    let reference = git.find_reference(&format!("refs/tags/{name}")).ok()?;
    let tag = reference.peel(git2::ObjectType::Tag).ok()?.into_tag().ok()?;
    Some(tag.tagger()?.when().seconds())
}

/// Every calendar month (UTC, `YYYY-MM`) from `first` to `last`, inclusive.
fn months_between(first: i64, last: i64) -> Vec<String> {
    use chrono::Datelike as _;
    let (Some(start), Some(end)) = (
        chrono::DateTime::from_timestamp(first, 0),
        chrono::DateTime::from_timestamp(last, 0),
    ) else {
        return Vec::new();
    };
    let mut months = Vec::new();
    let (mut year, mut month) = (start.year(), start.month());
    while (year, month) <= (end.year(), end.month()) {
        months.push(format!("{year:04}-{month:02}"));
        (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    }
    months
}

/// `3d 4h`, `5h 12m`, `42m`, `10s`.
pub fn human_duration(seconds: i64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3_600, seconds % 3_600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

fn rows(dora: &Dora) -> Vec<Vec<String>> {
    let none = || "n/a".to_owned();
    vec![
        vec!["releases".into(), dora.releases.to_string()],
        vec![
            "deployment frequency".into(),
            dora.per_week.map_or_else(none, |f| format!("{f:.2} per week")),
        ],
        vec![
            "lead time for changes (median)".into(),
            dora.lead_time_median.map_or_else(none, human_duration),
        ],
        vec![
            "change failure rate".into(),
            dora.change_failure_rate.map_or_else(none, |rate| {
                format!(
                    "{:.0}% ({} hotfix of {})",
                    rate * 100.0,
                    dora.hotfix_releases,
                    dora.releases
                )
            }),
        ],
        vec![
            "time to restore (median)".into(),
            dora.mttr_median.map_or_else(none, human_duration),
        ],
    ]
}

/// The mermaid chart of releases per month for the job summary. Every month
/// from the first release to the last has a bar, so gaps show as zeros; the
/// y axis starts at 0 so a zero bar reads as zero; the bars are a dark blue
/// (mermaid's default is too pale on a white page).
pub fn mermaid(dora: &Dora) -> String {
    let months: Vec<String> = dora.per_month.keys().map(|m| format!("\"{m}\"")).collect();
    let counts: Vec<String> = dora.per_month.values().map(ToString::to_string).collect();
    let highest = dora.per_month.values().copied().max().unwrap_or(0).max(1);
    format!(
        "---\nconfig:\n  themeVariables:\n    xyChart:\n      plotColorPalette: \"#0550ae\"\n---\nxychart-beta\n    title \"Releases per month\"\n    x-axis \"month\" [{}]\n    y-axis \"releases\" 0 --> {highest}\n    bar [{}]",
        months.join(", "),
        counts.join(", ")
    )
}

/// Runs `stats`.
pub fn run(project: &Project, _args: &StatsArgs) -> Result<ExitCode> {
    let dora = compute(project)?;
    let runtime = Runtime::detect();
    let table = rows(&dora);
    let mut summary = Summary::new();
    summary.heading(2, "DORA metrics");
    summary.table(&["metric", "value"], &table);
    if !dora.per_month.is_empty() {
        summary.mermaid(&mermaid(&dora));
    }
    runtime.append_summary(summary.as_markdown())?;
    if project.ui.json {
        project.ui.print_json(&json!({
            "releases": dora.releases,
            "first_release_at": dora.first,
            "last_release_at": dora.last,
            "deployment_frequency_per_week": dora.per_week,
            "lead_time_median_seconds": dora.lead_time_median,
            "hotfix_releases": dora.hotfix_releases,
            "change_failure_rate": dora.change_failure_rate,
            "mttr_median_seconds": dora.mttr_median,
            "releases_per_month": dora.per_month,
        }))?;
    } else {
        let width = table.iter().map(|row| row[0].len()).max().unwrap_or(0);
        let text: String = table
            .iter()
            .map(|row| format!("{:<width$}  {}\n", row[0], row[1]))
            .collect();
        project.ui.print(&text)?;
    }
    Ok(ExitCode::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(date: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(date).unwrap().timestamp()
    }

    #[test]
    fn months_without_a_release_are_in_the_chart() {
        let months = months_between(at("2026-09-30T23:00:00Z"), at("2027-02-01T00:00:00Z"));
        assert_eq!(
            months,
            ["2026-09", "2026-10", "2026-11", "2026-12", "2027-01", "2027-02"]
        );
        let dora = Dora {
            releases: 3,
            first: Some(at("2026-09-30T23:00:00Z")),
            last: Some(at("2027-02-01T00:00:00Z")),
            per_week: None,
            lead_time_median: None,
            hotfix_releases: 0,
            change_failure_rate: None,
            mttr_median: None,
            per_month: months
                .iter()
                .map(|m| (m.clone(), usize::from(m == "2026-09") * 2 + usize::from(m == "2027-02")))
                .collect(),
        };
        insta::assert_snapshot!(mermaid(&dora));
        shipgate_testkit::mermaid::parse(&[mermaid(&dora)]).unwrap();
    }
}
