//! The command-line conventions all five tools share.
//!
//! Every binary is a thin clap front end: it flattens [`GlobalArgs`] and
//! [`CommonCommand`] into its own parser, calls [`parse`], and hands its
//! command to [`main_entry`]. That keeps flags, exit codes, error lines, the
//! `config`/`completions`/`man` subcommands and colour handling identical
//! across the toolkit.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::actions;
use crate::config::{self, ConfigEntry, LoadOptions};
use crate::exit::{Error, ExitCode, Result};

/// What a binary tells the shared layer about itself.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    /// The binary's name, used in error lines, annotations, completions and JSON output.
    pub name: &'static str,
    /// The version reported in JSON output and the `tool-version` step output.
    pub version: &'static str,
    /// The `shipgate.toml` sections this tool reads, in the order `config` prints them.
    pub sections: &'static [&'static str],
    /// The tool's page in docs/; its `## Examples` become the man pages' EXAMPLES.
    pub docs: &'static str,
}

/// Flags every tool accepts, before or after the subcommand.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Configuration file [default: shipgate.toml or .github/shipgate.toml at the repository root]
    #[arg(long, global = true, value_name = "FILE", env = "SHIPGATE_CONFIG")]
    pub config: Option<PathBuf>,

    /// Print one stable JSON document on stdout instead of text
    #[arg(long, global = true)]
    pub json: bool,

    /// Print less (errors only)
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,

    /// Print more (repeat for more detail)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// When to use colour; `auto` means only on a terminal and never when NO_COLOR is set
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
}

/// `--dry-run`, flattened into every subcommand that changes state.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct DryRunArg {
    /// Show what would change without changing anything
    #[arg(long, env = "SHIPGATE_DRY_RUN")]
    pub dry_run: bool,
}

/// The values of `--color`.
#[derive(ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ColorWhen {
    // `help = None` keeps these docs out of `--help`, which lists the bare values
    // and leaves explaining them to the argument's own help.
    /// Colour only on a terminal, and never when `NO_COLOR` is set; the default.
    #[value(help = None::<&str>)]
    #[default]
    Auto,
    /// Colour even when the output is not a terminal.
    #[value(help = None::<&str>)]
    Always,
    /// No colour at all.
    #[value(help = None::<&str>)]
    Never,
}

/// Subcommands every tool has.
#[derive(Subcommand, Debug, Clone)]
pub enum CommonCommand {
    /// Print the effective configuration and where each value came from
    Config(ConfigArgs),
    /// Print a shell completion script
    Completions {
        /// The shell to generate completions for
        shell: clap_complete::Shell,
    },
    /// Write the man pages for this tool and its subcommands
    Man {
        /// Directory to write the pages to
        #[arg(long, value_name = "DIR", default_value = ".")]
        out_dir: PathBuf,
    },
}

/// The arguments of the shared `config` subcommand.
#[derive(Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// Only print these sections (repeatable) [default: the sections this tool reads]
    #[arg(long, value_name = "SECTION")]
    pub section: Vec<String>,
}

/// How a command should talk to the person or program running it.
#[derive(Debug, Clone)]
pub struct Ui {
    /// `--json`: stdout carries one JSON document, so [`Ui::info`] stays silent.
    pub json: bool,
    /// `--quiet` was given: print errors only.
    pub quiet: bool,
    /// How many times `--verbose` was given; [`Ui::detail`] prints when it is above 0.
    pub verbose: u8,
}

impl Ui {
    /// Reads the global flags and applies `--color` to all later output.
    pub fn new(globals: &GlobalArgs) -> Self {
        apply_color_choice(globals.color);
        Ui {
            json: globals.json,
            quiet: globals.quiet > 0,
            verbose: globals.verbose,
        }
    }

    /// Human-facing progress text goes to stderr so stdout stays parseable.
    pub fn info(&self, message: &str) {
        if !self.quiet && !self.json {
            write_stderr_line(&actions::redact(message));
        }
    }

    /// Extra detail on stderr, printed only with `--verbose`.
    pub fn detail(&self, message: &str) {
        if self.verbose > 0 {
            write_stderr_line(&actions::redact(message));
        }
    }

    /// A `warning:` line on stderr, silenced only by `--quiet`.
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            let style = anstyle::AnsiColor::Yellow.on_default().bold();
            write_stderr_line(&format!("{style}warning:{style:#} {}", actions::redact(message)));
        }
    }

    /// A progress bar for long work, drawn only for a person at a terminal.
    /// While it is drawn, [`Ui::info`], [`Ui::warn`] and the error line are
    /// printed above it, never onto it.
    pub fn progress(&self, len: u64) -> indicatif::ProgressBar {
        if self.quiet || self.json || !std::io::stderr().is_terminal() || actions::Runtime::detect().in_actions() {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new(len);
        if let Ok(mut active) = ACTIVE_BAR.lock() {
            *active = Some(bar.clone());
        }
        bar
    }

    /// The `--json` contract. Under [`main_entry`] the document's fields go
    /// into the one envelope printed when the command ends (see
    /// [`json_envelope`]); called from a library alone, it prints `value`.
    pub fn print_json(&self, value: &serde_json::Value) -> Result<()> {
        if let Ok(mut pending) = PENDING_JSON.lock()
            && let Some(fields) = pending.as_mut()
        {
            match value {
                serde_json::Value::Object(map) => fields.extend(map.clone()),
                other => {
                    fields.insert("result".to_owned(), other.clone());
                }
            }
            return Ok(());
        }
        print_json_document(value)
    }

    /// Writes text to stdout (redacted), honouring `--quiet`.
    pub fn print(&self, text: &str) -> Result<()> {
        if self.quiet {
            return Ok(());
        }
        print_stdout(text)
    }
}

fn print_json_document(value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::usage_with("cannot encode JSON", e))?;
    print_stdout(&format!("{text}\n"))
}

/// The fields `--json` documents collect until [`main_entry`] prints the
/// envelope; `None` outside `main_entry`.
static PENDING_JSON: std::sync::Mutex<Option<serde_json::Map<String, serde_json::Value>>> = std::sync::Mutex::new(None);

/// What [`parse_from`] saw on the command line, for the envelope.
#[derive(Debug, Clone, Default)]
struct Invocation {
    /// The subcommand path after the tool's name: `next`, `hook install`.
    command: String,
    json: bool,
}

static INVOCATION: std::sync::OnceLock<Invocation> = std::sync::OnceLock::new();

/// The one JSON document every tool prints under `--json`:
/// `{tool, version, command, ok, …the command's fields}`, where `ok` is
/// true exactly when the exit code is 0, and a failure adds
/// `error: {code, message}` with the exit code and the one-line cause.
pub fn json_envelope(
    tool: &str,
    version: &str,
    command: &str,
    code: ExitCode,
    fields: serde_json::Map<String, serde_json::Value>,
    error: Option<&str>,
) -> serde_json::Value {
    let mut document = serde_json::Map::new();
    document.insert("tool".to_owned(), tool.into());
    document.insert("version".to_owned(), version.into());
    document.insert("command".to_owned(), command.into());
    document.insert("ok".to_owned(), (code == ExitCode::Ok).into());
    for (key, value) in fields {
        document.entry(key).or_insert(value);
    }
    if let Some(message) = error {
        document.insert(
            "error".to_owned(),
            serde_json::json!({ "code": code.code(), "message": actions::redact(message) }),
        );
    }
    serde_json::Value::Object(document)
}

/// The bar [`Ui::progress`] drew last; a process draws at most one at a time.
static ACTIVE_BAR: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);

/// One line on stderr. With a bar on screen, indicatif clears it, the line is
/// written, and the bar is drawn again below it.
fn write_stderr_line(line: &str) {
    let write = || {
        let mut err = anstream::stderr();
        let _ = writeln!(err, "{line}");
    };
    let bar = ACTIVE_BAR
        .lock()
        .ok()
        .and_then(|active| active.clone())
        .filter(|bar| !bar.is_finished());
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

fn print_stdout(text: &str) -> Result<()> {
    let mut out = anstream::stdout();
    match out.write_all(actions::redact(text).as_bytes()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is the reader's choice, not our failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::external_with("cannot write to stdout", e)),
    }
}

fn apply_color_choice(color: ColorWhen) {
    let choice = match color {
        // anstream's auto mode already checks for a terminal, NO_COLOR and CLICOLOR.
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

/// Parses the command line. Help and version exit 0; any usage error keeps
/// clap's detail (the missing argument names, the "did you mean" tip, the
/// valid values, the usage line), points to the subcommand's `--help`, and
/// exits 2, the usage-error code. In Actions it also writes one `::error`.
pub fn parse<C: Parser>() -> C {
    parse_from(std::env::args_os())
}

/// [`parse`] on `args` (the binary name first) instead of the process's arguments.
pub fn parse_from<C, I, T>(args: I) -> C
where
    C: Parser,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let color = color_from_args(&args);
    apply_color_choice(color);
    // `--color` has to reach clap before parsing, or `--help` ignores it.
    let mut command = C::command().color(match color {
        ColorWhen::Auto => clap::ColorChoice::Auto,
        ColorWhen::Always => clap::ColorChoice::Always,
        ColorWhen::Never => clap::ColorChoice::Never,
    });
    let parsed = command
        .try_get_matches_from_mut(args.iter().cloned())
        .and_then(|mut matches| C::from_arg_matches_mut(&mut matches))
        .map_err(|err| err.format(&mut command));
    let _ = INVOCATION.set(Invocation {
        command: subcommand_path(&command, &args)[1..].join(" "),
        json: json_requested(&args),
    });
    match parsed {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = err.print();
                    std::process::exit(0);
                }
                _ => {
                    let report = UsageError::new(&command, &args, &err);
                    let mut stderr = anstream::stderr();
                    let _ = stderr.write_all(report.text.as_bytes());
                    if json_requested(&args) {
                        let path = subcommand_path(&command, &args);
                        let document = json_envelope(
                            &report.tool,
                            command.get_version().unwrap_or_default(),
                            &path[1..].join(" "),
                            ExitCode::Usage,
                            serde_json::Map::new(),
                            Some(&report.cause),
                        );
                        let _ = print_json_document(&document);
                    }
                    let runtime = actions::Runtime::detect();
                    if runtime.in_actions() {
                        runtime
                            .error(&actions::Annotation::new(&report.cause).title(format!("{} failed", report.tool)));
                    }
                    std::process::exit(ExitCode::Usage.code().into());
                }
            }
        }
    }
}

/// Whether `--json` is on a command line that may not parse.
fn json_requested(args: &[std::ffi::OsString]) -> bool {
    args.iter().skip(1).take_while(|a| *a != "--").any(|a| a == "--json")
}

/// The `--color` choice on a command line that may not parse.
fn color_from_args(args: &[std::ffi::OsString]) -> ColorWhen {
    let mut choice = ColorWhen::Auto;
    let mut words = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(word) = words.next() {
        let value = match word.as_ref() {
            "--" => break,
            "--color" => words.next().map(|w| w.into_owned()),
            other => other.strip_prefix("--color=").map(str::to_owned),
        };
        if let Some(parsed) = value.and_then(|v| ColorWhen::from_str(&v, true).ok()) {
            choice = parsed;
        }
    }
    choice
}

/// A clap error, reworded for shipgate: the tool's name in front, the
/// subcommand's `--help` at the end, and the cause on one line for `::error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    /// The tool's name, which starts the error line and titles the `::error`.
    pub tool: String,
    /// What the user sees on stderr: clap's detail, reworded.
    pub text: String,
    /// The one-line cause, tips included.
    pub cause: String,
}

impl UsageError {
    /// Rewords `err`, which clap raised parsing `args` against `command`.
    pub fn new(command: &clap::Command, args: &[std::ffi::OsString], err: &clap::Error) -> Self {
        let tool = command.get_name().to_owned();
        let help = format!("{} --help", subcommand_path(command, args).join(" "));
        let rendered = err.render().to_string();
        let style = anstyle::AnsiColor::Red.on_default().bold();
        if err.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            // clap rendered the help: keep it, then say what was wrong.
            let cause = "a subcommand is required".to_owned();
            let text = format!(
                "{}\n\n{tool}: {style}error:{style:#} {cause}\nFor more information, try `{help}`.\n",
                rendered.trim_end()
            );
            let cause = format!("{cause} (see `{help}`)");
            return UsageError { tool, text, cause };
        }
        let mut causes: Vec<String> = Vec::new();
        let mut text = String::new();
        for (index, paragraph) in rendered.trim_end().split("\n\n").enumerate() {
            if paragraph.starts_with("For more information") {
                continue;
            }
            let body = paragraph.strip_prefix("error: ").unwrap_or(paragraph);
            if index == 0 {
                text.push_str(&format!("{tool}: {style}error:{style:#} {body}\n\n"));
            } else {
                text.push_str(paragraph);
                text.push_str("\n\n");
            }
            if index == 0 || body.trim_start().starts_with("tip:") {
                // "were not provided:" is followed by the names, one a line.
                let lines: Vec<&str> = body.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
                causes.push(lines.join(" "));
            }
        }
        text.push_str(&format!("For more information, try `{help}`.\n"));
        let cause = format!("{} (see `{help}`)", causes.join("; "));
        UsageError { tool, text, cause }
    }
}

/// The subcommands named on the command line, for the `--help` pointer.
fn subcommand_path(command: &clap::Command, args: &[std::ffi::OsString]) -> Vec<String> {
    let mut path = vec![command.get_name().to_owned()];
    let mut current = command;
    for word in args.iter().skip(1).map(|a| a.to_string_lossy()) {
        if word == "--" {
            break;
        }
        if word.starts_with('-') {
            continue;
        }
        if let Some(sub) = current.find_subcommand(word.as_ref()) {
            path.push(sub.get_name().to_owned());
            current = sub;
        }
    }
    path
}

/// Runs a tool's command and turns its outcome into the process exit code.
///
/// In GitHub Actions it records `tool-version` first, so every step that used
/// a shipgate action can tell which build ran, even when the command fails.
///
/// Under `--json` it prints exactly one document on stdout when the command
/// ends, success or failure: [`json_envelope`] around what the command gave
/// [`Ui::print_json`].
pub fn main_entry(tool: &Tool, run: impl FnOnce() -> anyhow::Result<ExitCode>) -> std::process::ExitCode {
    let invocation = INVOCATION.get().cloned().unwrap_or_default();
    if invocation.json
        && let Ok(mut pending) = PENDING_JSON.lock()
    {
        *pending = Some(serde_json::Map::new());
    }
    let runtime = actions::Runtime::detect();
    let result = match runtime.set_output("tool-version", tool.version) {
        Ok(()) => run(),
        Err(e) => Err(anyhow::Error::new(e)),
    };
    // A verdict the command already reported adds no `error` to the envelope.
    let error = result
        .as_ref()
        .err()
        .filter(|error| !is_reported(error))
        .map(error_line);
    let code = finish(tool, &runtime, result);
    let fields = PENDING_JSON.lock().ok().and_then(|mut pending| pending.take());
    if let Some(fields) = fields {
        let document = json_envelope(
            tool.name,
            tool.version,
            &invocation.command,
            code,
            fields,
            error.as_deref(),
        );
        if let Err(e) = print_json_document(&document) {
            report_error(tool, &runtime, &anyhow::Error::new(e));
            return ExitCode::External.into();
        }
    }
    code.into()
}

/// The exit code for a command's result, after reporting any error: one
/// line on stderr and, in Actions, one `::error`, unless the command has
/// already reported its verdict ([`Error::check_reported`]).
pub fn finish(tool: &Tool, runtime: &actions::Runtime, result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(error) => {
            if !is_reported(&error) {
                report_error(tool, runtime, &error);
            }
            exit_code_of(&error)
        }
    }
}

/// Whether the first shipgate [`Error`] in the chain is a verdict its
/// command has already reported.
fn is_reported(error: &anyhow::Error) -> bool {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<Error>())
        .is_some_and(Error::is_reported)
}

/// Which exit code an error chain deserves.
pub fn exit_code_of(error: &anyhow::Error) -> ExitCode {
    for cause in error.chain() {
        if let Some(ours) = cause.downcast_ref::<Error>() {
            return ours.exit_code();
        }
    }
    crate::exit::exit_code_for(error.as_ref())
}

/// One line on stderr, redacted, plus an error annotation in Actions.
fn report_error(tool: &Tool, runtime: &actions::Runtime, error: &anyhow::Error) {
    let line = error_line(error);
    let style = anstyle::AnsiColor::Red.on_default().bold();
    write_stderr_line(&format!(
        "{}: {style}error:{style:#} {}",
        tool.name,
        actions::redact(&line)
    ));
    if runtime.in_actions() {
        runtime.error(&actions::Annotation::new(line).title(format!("{} failed", tool.name)));
    }
}

/// The error chain joined on one line: "reading shipgate.toml: line 3: ...".
///
/// The chain ends at the first shipgate [`Error`]: its text already says
/// what its cause contributes (`message: cause`), and the cause's own
/// causes (a reqwest error's hyper and socket layers) would only repeat it
/// in other words.
pub fn error_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut chain = error.chain();
    let mut ended = false;
    while !ended && let Some(cause) = chain.next() {
        ended = cause.downcast_ref::<Error>().is_some();
        let text = cause.to_string();
        let text = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        // Wrapped errors often repeat their source's text; print it once.
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// Runs one of the [`CommonCommand`]s for `C`, the tool's top-level parser.
pub fn run_common<C: CommandFactory>(tool: &Tool, globals: &GlobalArgs, command: &CommonCommand) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    match command {
        CommonCommand::Config(args) => print_config(tool, globals, args, &ui),
        CommonCommand::Completions { shell } => {
            let mut cmd = C::command();
            let mut buffer = Vec::new();
            clap_complete::generate(*shell, &mut cmd, tool.name, &mut buffer);
            print_stdout(&String::from_utf8_lossy(&buffer))?;
            Ok(ExitCode::Ok)
        }
        CommonCommand::Man { out_dir } => {
            write_man_pages(tool, C::command(), out_dir)?;
            ui.info(&format!("man pages written to {}", out_dir.display()));
            Ok(ExitCode::Ok)
        }
    }
}

/// Loads the configuration the way every tool command does.
pub fn load_config(globals: &GlobalArgs) -> Result<config::LoadedConfig> {
    let cwd = std::env::current_dir().map_err(|e| Error::usage_with("cannot read the current directory", e))?;
    config::load(&LoadOptions::from_process(globals.config.as_deref(), &cwd))
}

fn print_config(tool: &Tool, globals: &GlobalArgs, args: &ConfigArgs, ui: &Ui) -> Result<ExitCode> {
    let loaded = load_config(globals)?;
    let sections: Vec<&str> = if args.section.is_empty() {
        tool.sections.to_vec()
    } else {
        for section in &args.section {
            if !config::SECTIONS.contains(&section.as_str()) {
                return Err(Error::usage(format!(
                    "unknown config section `{section}` (expected one of: {})",
                    config::SECTIONS.join(", ")
                )));
            }
        }
        args.section.iter().map(String::as_str).collect()
    };
    let entries: Vec<ConfigEntry> = sections.iter().flat_map(|s| loaded.entries(Some(s))).collect();
    let document = serde_json::json!({
        "tool": tool.name,
        "version": tool.version,
        "file": loaded.file.as_ref().map(|p| p.display().to_string()),
        "entries": config::entries_json(&entries),
    });
    let runtime = actions::Runtime::detect();
    runtime.set_output("config", &document.to_string())?;
    if ui.json {
        ui.print_json(&document)?;
    } else {
        let origin = match &loaded.file {
            Some(path) => format!("# configuration file: {}\n", path.display()),
            None => "# no configuration file: seed defaults\n".to_string(),
        };
        ui.print(&format!("{origin}{}", config::render_entries_text(&entries)))?;
    }
    Ok(ExitCode::Ok)
}

/// Writes one page per command, like `clap_mangen::generate_to`, with the
/// sections clap does not know about: EXIT STATUS, ENVIRONMENT and EXAMPLES.
fn write_man_pages(tool: &Tool, command: clap::Command, out_dir: &Path) -> Result<()> {
    fn write(tool: &Tool, command: clap::Command, out_dir: &Path) -> std::io::Result<()> {
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
            write(tool, sub, out_dir)?;
        }
        let man = clap_mangen::Man::new(command.clone());
        let mut page = Vec::new();
        man.render(&mut page)?;
        page.extend_from_slice(man_sections(tool, &command).as_bytes());
        std::fs::write(out_dir.join(man.get_filename()), page)
    }
    std::fs::create_dir_all(out_dir)
        .map_err(|e| Error::usage_with(format!("cannot create {}", out_dir.display()), e))?;
    let mut command = command.disable_help_subcommand(true);
    command.build();
    write(tool, command, out_dir)
        .map_err(|e| Error::usage_with(format!("cannot write man pages to {}", out_dir.display()), e))
}

/// The EXIT STATUS, ENVIRONMENT and EXAMPLES sections of one page, in roff.
fn man_sections(tool: &Tool, command: &clap::Command) -> String {
    use roff::{Roff, bold, roman};
    let mut page = Roff::new();
    page.control("SH", ["EXIT STATUS"]);
    for code in [ExitCode::Ok, ExitCode::CheckFailed, ExitCode::Usage, ExitCode::External] {
        page.control("TP", []);
        page.text([bold(code.code().to_string())]);
        page.text([roman(exit_code_meaning(code))]);
    }
    page.control("SH", ["ENVIRONMENT"]);
    for (name, meaning) in environment_of(command) {
        page.control("TP", []);
        page.text([bold(name)]);
        page.text([roman(meaning)]);
    }
    // A subcommand's page shows the examples that run it; the tool's page all of them.
    let prefix = command.get_bin_name().unwrap_or(command.get_name()).to_owned();
    let mut examples: Vec<&str> = Vec::new();
    let mut comment = None;
    for line in doc_examples(tool.docs) {
        if line.starts_with('#') {
            comment = Some(line);
        } else if line.starts_with(&prefix) {
            examples.extend(comment.take());
            examples.push(line);
        } else {
            comment = None;
        }
    }
    if !examples.is_empty() {
        page.control("SH", ["EXAMPLES"]);
        page.control("nf", []);
        for line in examples {
            page.text([roman(line)]);
        }
        page.control("fi", []);
    }
    page.to_roff()
}

fn exit_code_meaning(code: ExitCode) -> &'static str {
    match code {
        ExitCode::Ok => "Success: every check passed, or the command did what it was asked.",
        ExitCode::CheckFailed => "A check or policy failed: the tool ran fine and its verdict is no.",
        ExitCode::Usage => {
            "Bad usage, configuration or input: unknown flags, an invalid shipgate.toml, unreadable files."
        }
        ExitCode::External => {
            "An external system (git remote, GitHub, a database, an HTTP service) failed after retries."
        }
    }
}

/// Every environment variable a command reads through clap, then the ones
/// every tool reads.
fn environment_of(command: &clap::Command) -> Vec<(String, String)> {
    let mut seen = std::collections::BTreeMap::new();
    for arg in command.get_arguments() {
        if let Some(name) = arg.get_env() {
            let flag = arg
                .get_long()
                .map(|l| format!("--{l}"))
                .unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
            seen.entry(name.to_string_lossy().into_owned())
                .or_insert_with(|| format!("Default for {flag}."));
        }
    }
    let mut variables: Vec<(String, String)> = seen.into_iter().collect();
    variables.extend(
        [
            (
                "SHIPGATE_<SECTION>_<KEY>",
                "Overrides one shipgate.toml key, e.g. SHIPGATE_RELEASE_TAG_PREFIX.",
            ),
            (
                "GITHUB_ACTIONS",
                "When `true`: write outputs, the job summary and annotations (::error) for GitHub Actions.",
            ),
            (
                "GITHUB_TOKEN, GH_TOKEN",
                "The token for GitHub API calls, when the command makes any.",
            ),
            ("NO_COLOR", "When set, never use colour (same as --color never)."),
        ]
        .map(|(name, meaning)| (name.to_owned(), meaning.to_owned())),
    );
    variables
}

/// The command lines of a docs page's `## Examples` section: every line of
/// its fenced code blocks, comments included.
pub fn doc_examples(markdown: &str) -> Vec<&str> {
    let Some(start) = markdown.find("\n## Examples\n") else {
        return Vec::new();
    };
    let section = &markdown[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |end| end + 3)];
    let mut in_code = false;
    let mut lines = Vec::new();
    for line in section.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if in_code && !line.trim().is_empty() {
            lines.push(line);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Parser, Debug)]
    #[command(name = "demo-tool", version)]
    struct DemoCli {
        #[command(flatten)]
        globals: GlobalArgs,
        #[command(subcommand)]
        command: DemoCommand,
    }

    #[derive(Subcommand, Debug)]
    enum DemoCommand {
        #[command(flatten)]
        Common(CommonCommand),
    }

    const DEMO: Tool = Tool {
        name: "demo-tool",
        version: "0.0.0",
        sections: &["flow"],
        docs: "# demo-tool\n\n## Examples\n\n```sh\n# Show the flow section\ndemo-tool config --section flow\n```\n",
    };

    #[test]
    fn global_flags_are_accepted_after_the_subcommand() {
        let cli = DemoCli::try_parse_from(["demo-tool", "config", "--json", "-v"]).unwrap();
        assert!(cli.globals.json);
        assert_eq!(cli.globals.verbose, 1);
        assert!(matches!(cli.command, DemoCommand::Common(CommonCommand::Config(_))));
    }

    #[test]
    fn quiet_and_verbose_conflict() {
        assert!(DemoCli::try_parse_from(["demo-tool", "-q", "-v", "config"]).is_err());
    }

    #[test]
    fn errors_keep_their_exit_code_and_fit_on_one_line() {
        let error = anyhow::Error::new(Error::external("GitHub answered 502 Bad Gateway after 4 attempts"))
            .context("publishing the release");
        assert_eq!(exit_code_of(&error), ExitCode::External);
        assert_eq!(
            error_line(&error),
            "publishing the release: GitHub answered 502 Bad Gateway after 4 attempts"
        );
        let usage = anyhow::Error::new(Error::usage("shipgate.toml:3: unknown key `release.x`\nsecond line"));
        assert_eq!(exit_code_of(&usage), ExitCode::Usage);
        assert!(!error_line(&usage).contains('\n'));
        let verdict = anyhow::Error::new(Error::check("2 commits are not conventional"));
        assert_eq!(exit_code_of(&verdict), ExitCode::CheckFailed);
    }

    #[test]
    fn a_wrapped_cause_prints_as_its_own_text_only() {
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request")]
        struct Transport(#[source] std::io::Error);
        let refused = Transport(std::io::Error::other("tcp connect error: Connection refused"));
        let error = anyhow::Error::new(Error::external_with("cannot reach origin", refused)).context("deploying");
        assert_eq!(
            error_line(&error),
            "deploying: cannot reach origin: error sending request"
        );
        assert_eq!(exit_code_of(&error), ExitCode::External);
    }

    #[test]
    fn a_reported_verdict_adds_no_error_line() {
        let reported = anyhow::Error::new(Error::check_reported());
        assert!(is_reported(&reported));
        assert!(!is_reported(&anyhow::Error::new(Error::check("no"))));
        let (runtime, captured) = actions::Runtime::from_env_map([("GITHUB_ACTIONS", "true")]).capture_output();
        assert_eq!(finish(&DEMO, &runtime, Err(reported)), ExitCode::CheckFailed);
        assert_eq!(captured.stdout(), "", "no ::error for a verdict already reported");
        assert_eq!(
            finish(&DEMO, &runtime, Err(Error::check("no").into())),
            ExitCode::CheckFailed
        );
        assert_eq!(captured.stdout().matches("::error").count(), 1);
    }

    fn usage_error(args: &[&str]) -> UsageError {
        let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        let mut command = DemoCli::command().color(clap::ColorChoice::Never);
        let err = command.try_get_matches_from_mut(args.clone()).unwrap_err();
        UsageError::new(&command, &args, &err)
    }

    #[test]
    fn usage_errors_keep_clap_detail_and_point_to_the_subcommand_help() {
        let missing = usage_error(&["demo-tool", "completions"]);
        insta::assert_snapshot!(missing.text);
        assert_eq!(
            missing.cause,
            "the following required arguments were not provided: <SHELL> (see `demo-tool completions --help`)"
        );
        let values = usage_error(&["demo-tool", "completions", "nushell"]);
        insta::assert_snapshot!(values.text);
        insta::assert_snapshot!(values.cause);
        let typo = usage_error(&["demo-tool", "confg"]);
        insta::assert_snapshot!(typo.cause);
        let flag = usage_error(&["demo-tool", "config", "--sectoin", "flow"]);
        insta::assert_snapshot!(flag.cause);
        let nothing = usage_error(&["demo-tool"]);
        assert_eq!(nothing.cause, "a subcommand is required (see `demo-tool --help`)");
    }

    #[test]
    fn the_color_flag_is_read_before_parsing() {
        let args = |words: &[&str]| words.iter().map(Into::into).collect::<Vec<std::ffi::OsString>>();
        assert_eq!(
            color_from_args(&args(&["t", "--help", "--color", "never"])),
            ColorWhen::Never
        );
        assert_eq!(color_from_args(&args(&["t", "--color=always", "x"])), ColorWhen::Always);
        assert_eq!(color_from_args(&args(&["t", "--", "--color=never"])), ColorWhen::Auto);
    }

    #[test]
    fn finish_maps_results_to_codes() {
        let runtime = actions::Runtime::detect();
        assert_eq!(finish(&DEMO, &runtime, Ok(ExitCode::Ok)), ExitCode::Ok);
        assert_eq!(
            finish(&DEMO, &runtime, Ok(ExitCode::CheckFailed)),
            ExitCode::CheckFailed
        );
        assert_eq!(
            finish(&DEMO, &runtime, Err(Error::usage("bad").into())),
            ExitCode::Usage
        );
        assert_eq!(
            finish(&DEMO, &runtime, Err(Error::external("down").into())),
            ExitCode::External
        );
    }

    #[test]
    fn completions_and_man_pages_are_generated() {
        let dir = tempfile::tempdir().unwrap();
        write_man_pages(&DEMO, DemoCli::command(), dir.path()).unwrap();
        let page = std::fs::read_to_string(dir.path().join("demo-tool.1")).unwrap();
        assert!(page.contains("demo\\-tool"), "{page}");
        let sections: Vec<&str> = page.lines().filter(|l| l.starts_with(".SH")).collect();
        insta::assert_debug_snapshot!(sections);
        let config_page = std::fs::read_to_string(dir.path().join("demo-tool-config.1")).unwrap();
        let tail = &config_page[config_page.find(".SH \"EXIT STATUS\"").expect("EXIT STATUS")..];
        insta::assert_snapshot!(tail);
        let mut buffer = Vec::new();
        clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut DemoCli::command(),
            "demo-tool",
            &mut buffer,
        );
        assert!(String::from_utf8(buffer).unwrap().contains("_demo__tool()"));
    }
}
