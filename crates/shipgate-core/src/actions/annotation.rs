//! Annotations (`::error file=…,line=…::message`) and the escaping of
//! workflow command data and properties.

use super::redact::redact;

/// Severity of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotationLevel {
    /// Written as `::error`, or `error:` outside Actions.
    Error,
    /// Written as `::warning`, or `warning:` outside Actions.
    Warning,
    /// Written as `::notice`, or `notice:` outside Actions.
    Notice,
}

impl AnnotationLevel {
    fn command(self) -> &'static str {
        match self {
            AnnotationLevel::Error => "error",
            AnnotationLevel::Warning => "warning",
            AnnotationLevel::Notice => "notice",
        }
    }
}

/// A message optionally attached to a place in a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotation {
    /// Heading shown above the message (`title=`).
    pub title: Option<String>,
    /// Path relative to the repository root (`file=`); `None` for an annotation on the run only.
    pub file: Option<String>,
    /// 1-based line in `file` (`line=`).
    pub line: Option<u32>,
    /// Last line of a multi-line range (`endLine=`).
    pub end_line: Option<u32>,
    /// 1-based column in `line` (`col=`).
    pub col: Option<u32>,
    /// The text shown; redacted, and escaped in workflow commands.
    pub message: String,
}

impl Annotation {
    /// An annotation with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        Annotation {
            message: message.into(),
            ..Annotation::default()
        }
    }

    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Attaches the annotation to `file` (relative to the repository root).
    pub fn file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Sets the (1-based) line.
    pub fn line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }

    /// Sets the last line of a multi-line range.
    pub fn end_line(mut self, end_line: u32) -> Self {
        self.end_line = Some(end_line);
        self
    }

    /// Sets the (1-based) column.
    pub fn col(mut self, col: u32) -> Self {
        self.col = Some(col);
        self
    }

    /// The `::level key=value,...::message` workflow command.
    pub fn to_workflow_command(&self, level: AnnotationLevel) -> String {
        let mut properties = Vec::new();
        if let Some(file) = &self.file {
            properties.push(format!("file={}", escape_property(&redact(file))));
        }
        if let Some(line) = self.line {
            properties.push(format!("line={line}"));
        }
        if let Some(end_line) = self.end_line {
            properties.push(format!("endLine={end_line}"));
        }
        if let Some(col) = self.col {
            properties.push(format!("col={col}"));
        }
        if let Some(title) = &self.title {
            properties.push(format!("title={}", escape_property(&redact(title))));
        }
        let separator = if properties.is_empty() { "" } else { " " };
        format!(
            "::{}{separator}{}::{}",
            level.command(),
            properties.join(","),
            escape_data(&redact(&self.message))
        )
    }

    /// The `level: file:line: title: message` line used outside Actions.
    pub fn to_plain_line(&self, level: AnnotationLevel) -> String {
        let mut line = format!("{}: ", level.command());
        if let Some(file) = &self.file {
            line.push_str(file);
            if let Some(number) = self.line {
                line.push_str(&format!(":{number}"));
                if let Some(col) = self.col {
                    line.push_str(&format!(":{col}"));
                }
            }
            line.push_str(": ");
        }
        if let Some(title) = &self.title {
            line.push_str(title);
            line.push_str(": ");
        }
        line.push_str(&self.message);
        redact(&line).into_owned()
    }
}

/// Escapes a workflow command's message.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow command property value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}
