//! Turns the rows the bench scripts write (see bench/lib.sh) into one table,
//! `bench/results.md` and the README's performance section.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// One workload measured against its peer in the same run.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub workload: String,
    /// What the workload runs on: a synthetic shape, or a named real
    /// repository and commit.
    pub data: String,
    pub peer: String,
    pub peer_seconds: f64,
    pub shipgate_seconds: f64,
    pub target: String,
    pub cpu_seconds: f64,
    pub peak_kib: u64,
}

impl Row {
    /// shipgate's time as a fraction of the peer's: below 1 is faster.
    pub fn ratio(&self) -> f64 {
        if self.peer_seconds > 0.0 {
            self.shipgate_seconds / self.peer_seconds
        } else {
            f64::NAN
        }
    }
}

pub fn parse_rows(tsv: &str) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (index, line) in tsv.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 8 {
            bail!(
                "bench row {}: expected 8 tab-separated fields, got {}: {line}",
                index + 1,
                fields.len()
            );
        }
        let number = |i: usize| {
            fields[i]
                .parse::<f64>()
                .with_context(|| format!("bench row {}: field {}", index + 1, i + 1))
        };
        rows.push(Row {
            workload: fields[0].to_string(),
            data: fields[1].to_string(),
            peer: fields[2].to_string(),
            peer_seconds: number(3)?,
            shipgate_seconds: number(4)?,
            target: fields[5].to_string(),
            cpu_seconds: number(6)?,
            peak_kib: fields[7]
                .parse()
                .with_context(|| format!("bench row {}: peak memory", index + 1))?,
        });
    }
    Ok(rows)
}

pub fn markdown(rows: &[Row], no_scripts: bool) -> String {
    let mut out = String::from(
        "Measured by `cargo xtask bench` on a 2-core machine of the kind CI runs on, peer and shipgate in the same run; \
         times are the median of 5 runs after a warm-up. Ratio = shipgate time / peer time (below 1 is faster).\n\n",
    );
    if rows.is_empty() {
        out.push_str(if no_scripts {
            "No peer benchmarks yet: each tool's issue adds its script to `bench/`.\n"
        } else {
            "The bench scripts recorded no rows.\n"
        });
        return out;
    }
    out.push_str(
        "| workload | data | peer or floor | peer time | shipgate time | ratio | target | shipgate CPU | shipgate peak memory |\n",
    );
    out.push_str("|---|---|---|---:|---:|---:|---|---:|---:|\n");
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2}x | {} | {} | {:.1} MiB |\n",
            row.workload,
            row.data,
            row.peer,
            seconds(row.peer_seconds),
            seconds(row.shipgate_seconds),
            row.ratio(),
            row.target,
            seconds(row.cpu_seconds),
            row.peak_kib as f64 / 1024.0
        ));
    }
    out
}

fn seconds(value: f64) -> String {
    if value < 1.0 {
        format!("{:.0} ms", value * 1000.0)
    } else {
        format!("{value:.2} s")
    }
}

const START: &str = "<!-- bench:start -->";
const END: &str = "<!-- bench:end -->";

/// Replaces the README's text between the bench markers with `table`.
pub fn update_readme(readme: &Path, table: &str) -> Result<()> {
    let text = std::fs::read_to_string(readme)?;
    let (Some(start), Some(end)) = (text.find(START), text.find(END)) else {
        bail!("{} lacks the {START} and {END} markers", readme.display());
    };
    let updated = format!("{}{START}\n{table}{}", &text[..start], &text[end..]);
    std::fs::write(readme, updated)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_a_table_with_ratios() {
        let rows = parse_rows(
            "next (7k commits)\tsynthetic: 7,000 commits\tgit-cliff\t0.0170\t0.0040\t<= 10 ms\t0.0030\t5120\n",
        )
        .unwrap();
        assert_eq!(rows[0].peak_kib, 5120);
        let table = markdown(&rows, false);
        assert!(
            table.contains(
                "| next (7k commits) | synthetic: 7,000 commits | git-cliff | 17 ms | 4 ms | 0.24x | <= 10 ms | 3 ms | 5.0 MiB |"
            ),
            "{table}"
        );
    }

    #[test]
    fn malformed_rows_are_errors() {
        assert!(parse_rows("only\ttwo\n").is_err());
        assert!(parse_rows("a\td\tb\tx\t1\tt\t1\t1\n").is_err());
    }

    #[test]
    fn the_readme_section_is_replaced_between_markers() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let readme = dir.join("README.md");
        std::fs::write(
            &readme,
            format!("# x\n## Performance\n{START}\nold\n{END}\n## Layout\n"),
        )
        .unwrap();
        update_readme(&readme, "new table\n").unwrap();
        let text = std::fs::read_to_string(&readme).unwrap();
        assert_eq!(
            text,
            format!("# x\n## Performance\n{START}\nnew table\n{END}\n## Layout\n")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
