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
    pub name: &'static str,
    pub version: &'static str,
    /// The `shipgate.toml` sections this tool reads, in the order `config` prints them.
    pub sections: &'static [&'static str],
}

/// Flags every tool accepts, before or after the subcommand.
#[derive(Args, Debug, Clone, Default)]
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

#[derive(ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ColorWhen {
    #[default]
    Auto,
    Always,
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

#[derive(Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// Only print these sections (repeatable) [default: the sections this tool reads]
    #[arg(long, value_name = "SECTION")]
    pub section: Vec<String>,
}

/// How a command should talk to the person or program running it.
#[derive(Debug, Clone)]
pub struct Ui {
    pub json: bool,
    pub quiet: bool,
    pub verbose: u8,
}

impl Ui {
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
            let mut err = anstream::stderr();
            let _ = writeln!(err, "{}", actions::redact(message));
        }
    }

    pub fn detail(&self, message: &str) {
        if self.verbose > 0 {
            let mut err = anstream::stderr();
            let _ = writeln!(err, "{}", actions::redact(message));
        }
    }

    pub fn warn(&self, message: &str) {
        if !self.quiet {
            let style = anstyle::AnsiColor::Yellow.on_default().bold();
            let mut err = anstream::stderr();
            let _ = writeln!(err, "{style}warning:{style:#} {}", actions::redact(message));
        }
    }

    /// A progress bar for long work, drawn only for a person at a terminal.
    pub fn progress(&self, len: u64) -> indicatif::ProgressBar {
        if self.quiet || self.json || !std::io::stderr().is_terminal() || actions::Runtime::detect().in_actions() {
            return indicatif::ProgressBar::hidden();
        }
        indicatif::ProgressBar::new(len)
    }

    /// Writes a JSON document to stdout, the `--json` contract.
    pub fn print_json(&self, value: &serde_json::Value) -> Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(|e| Error::usage(format!("cannot encode JSON: {e}")))?;
        print_stdout(&format!("{text}\n"))
    }

    /// Writes text to stdout (redacted), honouring `--quiet`.
    pub fn print(&self, text: &str) -> Result<()> {
        if self.quiet {
            return Ok(());
        }
        print_stdout(text)
    }
}

fn print_stdout(text: &str) -> Result<()> {
    let mut out = anstream::stdout();
    match out.write_all(actions::redact(text).as_bytes()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is the reader's choice, not our failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::external(format!("cannot write to stdout: {e}"))),
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

/// Parses the command line. Help and version exit 0; any usage error prints
/// one line and exits 2, the usage-error code.
pub fn parse<C: Parser>() -> C {
    parse_from(std::env::args_os())
}

pub fn parse_from<C, I, T>(args: I) -> C
where
    C: Parser,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    match C::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = err.print();
                    std::process::exit(0);
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = err.print();
                    std::process::exit(ExitCode::Usage.code().into());
                }
                _ => {
                    let name = C::command().get_name().to_string();
                    let rendered = err.render().to_string();
                    let first = rendered.lines().next().unwrap_or("invalid usage");
                    let first = first.strip_prefix("error: ").unwrap_or(first);
                    eprintln!("{name}: error: {first} (see `{name} --help`)");
                    std::process::exit(ExitCode::Usage.code().into());
                }
            }
        }
    }
}

/// Runs a tool's command and turns its outcome into the process exit code.
///
/// In GitHub Actions it records `tool-version` first, so every step that used
/// a shipgate action can tell which build ran, even when the command fails.
pub fn main_entry(tool: &Tool, run: impl FnOnce() -> anyhow::Result<ExitCode>) -> std::process::ExitCode {
    let runtime = actions::Runtime::detect();
    if let Err(e) = runtime.set_output("tool-version", tool.version) {
        report_error(tool, &runtime, &anyhow::Error::new(e));
        return ExitCode::Usage.into();
    }
    finish(tool, &runtime, run()).into()
}

/// The exit code for a command's result, after reporting any error.
pub fn finish(tool: &Tool, runtime: &actions::Runtime, result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(error) => {
            report_error(tool, runtime, &error);
            exit_code_of(&error)
        }
    }
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
    let mut err = anstream::stderr();
    let _ = writeln!(err, "{}: {style}error:{style:#} {}", tool.name, actions::redact(&line));
    if runtime.in_actions() {
        runtime.error(&actions::Annotation::new(line).title(format!("{} failed", tool.name)));
    }
}

/// The error chain joined on one line: "reading shipgate.toml: line 3: ...".
pub fn error_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
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
            write_man_pages(C::command(), out_dir)?;
            ui.info(&format!("man pages written to {}", out_dir.display()));
            Ok(ExitCode::Ok)
        }
    }
}

/// Loads the configuration the way every tool command does.
pub fn load_config(globals: &GlobalArgs) -> Result<config::LoadedConfig> {
    let cwd = std::env::current_dir().map_err(|e| Error::usage(format!("cannot read the current directory: {e}")))?;
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

fn write_man_pages(command: clap::Command, out_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::usage(format!("cannot create {}: {e}", out_dir.display())))?;
    clap_mangen::generate_to(command, out_dir)
        .map_err(|e| Error::usage(format!("cannot write man pages to {}: {e}", out_dir.display())))
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
        write_man_pages(DemoCli::command(), dir.path()).unwrap();
        let page = std::fs::read_to_string(dir.path().join("demo-tool.1")).unwrap();
        assert!(page.contains("demo\\-tool"), "{page}");
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
