//! What every chart in the job summary shares: dark line colours that read
//! on GitHub's white background, a red limit line, and mermaid's front
//! matter that applies them. mermaid's `xychart-beta` draws no legend, so
//! each chart's title names its lines by these colours.

/// The measured lines, in order, as (hex, the colour's name in the title).
pub const SERIES_COLOURS: [(&str, &str); 2] = [("#0550ae", "blue"), ("#bc4c00", "orange")];
/// The threshold or limit a line is judged against.
pub const LIMIT_COLOUR: (&str, &str) = ("#cf222e", "red");

/// The front matter that gives the chart's lines `palette`, in order.
pub fn front_matter(palette: &[&str]) -> String {
    format!(
        "---\nconfig:\n  themeVariables:\n    xyChart:\n      plotColorPalette: \"{}\"\n---\n",
        palette.join(", ")
    )
}
