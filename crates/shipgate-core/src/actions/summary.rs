//! The job summary builder: markdown headings, tables, lists and details,
//! with cells and code escaped; [`Runtime::append_summary`](super::Runtime::append_summary) writes it.

use std::fmt;

/// Builds job-summary markdown; write it with [`Runtime::append_summary`](super::Runtime::append_summary).
#[derive(Debug, Clone, Default)]
pub struct Summary {
    markdown: String,
}

impl Summary {
    /// An empty summary.
    pub fn new() -> Self {
        Summary::default()
    }

    fn block(&mut self, text: &str) -> &mut Self {
        if !self.markdown.is_empty() && !self.markdown.ends_with("\n\n") {
            if !self.markdown.ends_with('\n') {
                self.markdown.push('\n');
            }
            self.markdown.push('\n');
        }
        self.markdown.push_str(text);
        if !text.ends_with('\n') {
            self.markdown.push('\n');
        }
        self
    }

    /// A heading of `level` 1–6.
    pub fn heading(&mut self, level: u8, text: &str) -> &mut Self {
        let level = usize::from(level.clamp(1, 6));
        let text = text.replace(['\r', '\n'], " ");
        self.block(&format!("{} {text}", "#".repeat(level)))
    }

    /// A paragraph of markdown.
    pub fn paragraph(&mut self, markdown: &str) -> &mut Self {
        self.block(markdown)
    }

    /// A table; cells are plain text, `|` and newlines are escaped.
    pub fn table<S: AsRef<str>>(&mut self, headers: &[S], rows: &[Vec<String>]) -> &mut Self {
        fn row<S: AsRef<str>>(cells: &[S]) -> String {
            let cells: Vec<String> = cells.iter().map(|c| escape_cell(c.as_ref())).collect();
            format!("| {} |", cells.join(" | "))
        }
        let mut text = row(headers);
        text.push('\n');
        text.push_str(&format!("|{}|", vec!["---"; headers.len().max(1)].join("|")));
        for cells in rows {
            text.push('\n');
            text.push_str(&row(cells));
        }
        self.block(&text)
    }

    /// A fenced code block; the fence outgrows any backticks in `code`.
    pub fn code_block(&mut self, language: &str, code: &str) -> &mut Self {
        let fence = "`".repeat(longest_backtick_run(code).max(2) + 1);
        let code = code.strip_suffix('\n').unwrap_or(code);
        self.block(&format!("{fence}{language}\n{code}\n{fence}"))
    }

    /// The banner of a `--dry-run` summary, so it cannot pass for a real run:
    /// `what` says what did not happen ("nothing was tagged or pushed").
    pub fn dry_run(&mut self, what: &str) -> &mut Self {
        self.block(&format!("> [!NOTE]\n> **Dry run:** {what}."))
    }

    /// A mermaid diagram.
    pub fn mermaid(&mut self, diagram: &str) -> &mut Self {
        self.code_block("mermaid", diagram)
    }

    /// A collapsed `<details>` section with markdown `body`.
    pub fn details(&mut self, summary: &str, body_markdown: &str) -> &mut Self {
        let body = body_markdown.strip_suffix('\n').unwrap_or(body_markdown);
        self.block(&format!(
            "<details>\n<summary>{}</summary>\n\n{body}\n\n</details>",
            escape_html(summary)
        ))
    }

    /// Markdown added as is.
    pub fn raw(&mut self, markdown: &str) -> &mut Self {
        self.block(markdown)
    }

    /// The markdown built so far.
    pub fn as_markdown(&self) -> &str {
        &self.markdown
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.markdown.is_empty()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.markdown)
    }
}

fn escape_cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut current = 0;
    for ch in text.chars() {
        if ch == '`' {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest
}
