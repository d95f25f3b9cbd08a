//! migrate-runner: Applies database migrations with locking, checksums and per-environment policy.
//!
//! The binary in `main.rs` only parses arguments; everything it does lives
//! here. Each subcommand has its module; [`Session`] holds what they share:
//! the resolved database URL, migrations directory, ledger table and
//! environment.

pub mod backup;
pub mod baseline;
pub mod database;
pub mod down;
pub mod exec;
pub mod formats;
pub mod import;
pub mod ledger;
pub mod lint;
pub mod lock;
pub mod new;
pub mod plan;
pub mod policy;
pub mod refusal;
pub mod repair;
pub mod sql;
pub mod status;
pub mod up;
pub mod verify;
pub mod version;
pub mod wait;

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use regex::Regex;
use shipgate_core::actions::Runtime;
use shipgate_core::cli::{self, CommonCommand, DryRunArg, GlobalArgs, Tool, Ui};
use shipgate_core::config::{ConfigDuration, LoadedConfig};
use shipgate_core::exit::{Error, ExitCode, Result};

use crate::database::DatabaseUrl;
use crate::formats::{Format, MigrationSet};
use crate::ledger::{Actor, Ledger};
use crate::lock::LockMode;

/// Identity and configuration sections of this tool.
pub const TOOL: Tool = Tool {
    name: "migrate-runner",
    version: env!("CARGO_PKG_VERSION"),
    sections: &["migrate"],
    docs: include_str!("../../../docs/migrate-runner.md"),
};

/// The environment used when neither `--env`, `SHIPGATE_ENVIRONMENT` nor the
/// branch says otherwise.
pub const DEFAULT_ENVIRONMENT: &str = "development";

/// Where the database and the migrations are; shared by every database command.
#[derive(Args, Debug, Clone, Default)]
pub struct TargetArgs {
    /// Database URL: postgres://user:pass@host/db?sslmode=verify-full&sslrootcert=ca.pem, or sqlite:path.db
    /// [default: `[migrate] default_database_url` in development]
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Migrations directory [default: `[migrate] dir`, i.e. migrations/]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Migration file format [default: detected from the files]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Ledger table, `table` or `schema.table` [default: `[migrate] table`]
    #[arg(long, value_name = "TABLE")]
    pub table: Option<String>,
    /// Deployment environment whose policy applies [default: the branch's environment in Actions, else development]
    #[arg(
        long = "environment",
        alias = "env",
        env = "SHIPGATE_ENVIRONMENT",
        value_name = "ENV"
    )]
    pub environment: Option<String>,
    /// How long to wait for another run's lock (e.g. 30s, 5m)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
    /// Run-wide lock: `advisory` (PostgreSQL advisory lock) or `none` (for PgBouncer transaction pooling)
    #[arg(long, value_enum, default_value_t = LockMode::Advisory)]
    pub lock: LockMode,
    /// How long one connection attempt may take
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
}

/// `--override-policy --reason`.
#[derive(Args, Debug, Clone, Default)]
pub struct OverrideArgs {
    /// Proceed even though the environment's policy says no; loud, and recorded in the ledger
    #[arg(long, requires = "reason")]
    pub override_policy: bool,
    /// Why the policy is overridden (required with --override-policy)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

/// `up`/`down` selection flags shared with `plan`.
#[derive(Args, Debug, Clone, Default)]
pub struct UpArgs {
    /// Apply up to and including this version
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    /// Apply even though applied migrations' files changed (checksum drift)
    #[arg(long)]
    pub allow_drift: bool,
    /// Apply pending migrations older than the newest applied one
    #[arg(long)]
    pub allow_out_of_order: bool,
    /// Write the pre-migration backup here (taken when the policy requires one, or with --backup)
    #[arg(long, value_name = "FILE")]
    pub backup_path: Option<PathBuf>,
    /// Take a backup before applying even when the policy does not require one
    #[arg(long)]
    pub backup: bool,
    /// Apply the pending migrations in one transaction: all or none, one commit ([migrate] single_transaction)
    #[arg(long)]
    pub single_transaction: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct DownArgs {
    /// Roll back this many migrations [default: 1]
    #[arg(long, value_name = "N", conflicts_with = "to")]
    pub steps: Option<usize>,
    /// Roll back every migration newer than this version
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
}

/// Database migrations with locking and per-environment policy.
#[derive(Parser, Debug)]
#[command(name = "migrate-runner", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub globals: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand: migrate-runner's own and those every tool has.
#[derive(Subcommand, Debug)]
pub enum Command {
    #[command(flatten)]
    Migrate(Box<MigrateCommand>),
    #[command(flatten)]
    Common(CommonCommand),
}

/// migrate-runner's own subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum MigrateCommand {
    /// Show applied, pending, drifted, missing and out-of-order migrations
    Status {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Apply pending migrations in version order, each in its own transaction with its ledger row
    Up {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        select: UpArgs,
        #[command(flatten)]
        policy: OverrideArgs,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
    /// Roll back applied migrations, newest first, under the environment's rollback policy
    Down {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        select: DownArgs,
        #[command(flatten)]
        policy: OverrideArgs,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
    /// Print the exact SQL `up` (or `down` with --down) would run and the policy decision; writes nothing
    Plan {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        select: UpArgs,
        /// Plan a rollback instead (with --steps N or --to V)
        #[arg(long)]
        down: bool,
        /// With --down: roll back this many migrations [default: 1]
        #[arg(long, value_name = "N", requires = "down")]
        steps: Option<usize>,
        #[command(flatten)]
        policy: OverrideArgs,
    },
    /// Check applied migrations' checksums against their files
    Verify {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Create the next migration file in the directory's format
    New {
        /// What the migration does, e.g. add_users_email
        name: String,
        /// Migrations directory [default: `[migrate] dir`]
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Format for a new directory [default: detected, native when empty]
        #[arg(long, value_enum)]
        format: Option<Format>,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
    /// Back up the database: pg_dump custom format, or SQLite VACUUM INTO
    Backup {
        #[command(flatten)]
        target: TargetArgs,
        /// Backup file [default: shipgate-backup-<db>-<time>.dump or .db]
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
    /// Accept an applied migration's changed file (checksum drift), recording who and why
    Repair {
        #[command(flatten)]
        target: TargetArgs,
        /// The version whose new checksum is accepted
        #[arg(long, value_name = "VERSION")]
        accept_checksum: String,
        /// Why the change is accepted (recorded in the ledger)
        #[arg(long, value_name = "TEXT")]
        reason: String,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
    /// Record every migration up to VERSION as applied without running it (adopt an existing schema)
    Baseline {
        /// The newest version the database already has
        #[arg(value_name = "VERSION")]
        baseline_version: String,
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
    /// Adopt a database another tool migrated by reading that tool's ledger table
    Import {
        /// The tool that migrated the database
        #[arg(long, value_enum)]
        from: import::Source,
        /// Its ledger table [default: the tool's own default]
        #[arg(long, value_name = "TABLE")]
        source_table: Option<String>,
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
    /// Offline safety lint for PostgreSQL migrations (squawk/Atlas rules); exit 1 on unacknowledged errors
    Lint {
        /// Migrations directory [default: `[migrate] dir`]
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Migration file format [default: detected]
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Only lint migrations newer than this version
        #[arg(long, value_name = "VERSION")]
        since: Option<String>,
    },
    /// Run a framework's migrator (alembic, django, prisma, rails) under the same lock, policy, backup and audit
    Exec {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        policy: OverrideArgs,
        /// Where the pre-migration backup goes when the policy requires one
        #[arg(long, value_name = "FILE")]
        backup_path: Option<PathBuf>,
        #[command(flatten)]
        dry_run: DryRunArg,
        /// The command and its arguments, after `--`
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// Wait until the database accepts connections
    Wait {
        #[command(flatten)]
        target: TargetArgs,
        /// Give up after this long (e.g. 60s)
        #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
        timeout: Duration,
    },
}

fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    ConfigDuration::parse(text)
        .map(|duration| duration.as_duration())
        .map_err(|error| error.to_string())
}

/// Runs the command line `main.rs` parsed: the binary's one call into the library.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Migrate(command) => run_migrate(&cli.globals, command),
        Command::Common(common) => cli::run_common::<Cli>(&TOOL, &cli.globals, common),
    }
}

/// Runs one of migrate-runner's own subcommands.
fn run_migrate(globals: &GlobalArgs, command: &MigrateCommand) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let runtime = Runtime::detect();
    let config = cli::load_config(globals)?;
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Error::external_with("cannot start the async runtime", error))?;
    match command {
        MigrateCommand::New {
            name,
            dir,
            format,
            dry_run,
        } => new::run(&ui, &config, dir.as_deref(), *format, name, dry_run.dry_run),
        MigrateCommand::Lint { dir, format, since } => {
            let dir = dir
                .clone()
                .unwrap_or_else(|| config.repo_root.join(&config.config.migrate.dir));
            let set = formats::load(&dir, *format)?;
            let since = match since {
                Some(text) => Some(
                    version::Version::parse(text)
                        .ok_or_else(|| Error::usage(format!("--since `{text}` is not a version")))?,
                ),
                None => None,
            };
            let chosen = set.migrations.iter().filter(|migration| {
                since
                    .as_ref()
                    .is_none_or(|since| migration.repeatable || migration.version > *since)
            });
            lint::report(&ui, &runtime, &lint::lint_migrations(chosen))
        }
        MigrateCommand::Status { target } => {
            let session = Session::resolve(ui, runtime, config, target)?;
            tokio.block_on(status::run(&session))
        }
        MigrateCommand::Verify { target } => {
            let session = Session::resolve(ui, runtime, config, target)?;
            tokio.block_on(verify::run(&session))
        }
        MigrateCommand::Up {
            target,
            select,
            policy,
            dry_run,
        } => {
            let session = Session::resolve(ui, runtime, config, target)?;
            // A dry run is `plan`: one code path, so both always agree.
            if dry_run.dry_run {
                return tokio.block_on(plan::run(&session, select, false, &DownArgs::default(), policy));
            }
            tokio.block_on(up::run(&session, select, policy))
        }
        MigrateCommand::Down {
            target,
            select,
            policy,
            dry_run,
        } => {
            let session = Session::resolve(ui, runtime, config, target)?;
            if dry_run.dry_run {
                return tokio.block_on(plan::run(&session, &UpArgs::default(), true, select, policy));
            }
            tokio.block_on(down::run(&session, select, policy))
        }
        MigrateCommand::Plan {
            target,
            select,
            down,
            steps,
            policy,
        } => {
            let session = Session::resolve(ui, runtime, config, target)?;
            let down_select = DownArgs {
                steps: *steps,
                to: if steps.is_some() { None } else { select.to.clone() },
            };
            tokio.block_on(plan::run(&session, select, *down, &down_select, policy))
        }
        MigrateCommand::Backup {
            target,
            output,
            dry_run,
        } => {
            let session = Session::resolve(ui, runtime, config, target)?;
            tokio.block_on(backup::run(&session, output.as_deref(), dry_run.dry_run))
        }
        MigrateCommand::Repair {
            target,
            accept_checksum,
            reason,
            dry_run,
        } => {
            let session = Session::resolve(ui, runtime, config, target)?;
            tokio.block_on(repair::run(&session, accept_checksum, reason, dry_run.dry_run))
        }
        MigrateCommand::Baseline {
            baseline_version,
            target,
            dry_run,
        } => {
            let session = Session::resolve(ui, runtime, config, target)?;
            tokio.block_on(baseline::run(&session, baseline_version, dry_run.dry_run))
        }
        MigrateCommand::Import {
            from,
            source_table,
            target,
            dry_run,
        } => {
            let session = Session::resolve(ui, runtime, config, target)?;
            tokio.block_on(import::run(&session, *from, source_table.as_deref(), dry_run.dry_run))
        }
        MigrateCommand::Exec {
            target,
            policy,
            backup_path,
            dry_run,
            command,
        } => {
            let session = Session::resolve(ui, runtime, config, target)?;
            tokio.block_on(exec::run(
                &session,
                command,
                policy,
                backup_path.as_deref(),
                dry_run.dry_run,
            ))
        }
        MigrateCommand::Wait { target, timeout } => {
            let session = Session::resolve(ui, runtime, config, target)?;
            tokio.block_on(wait::run(&session, *timeout))
        }
    }
}

static TABLE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$").expect("valid regex"));

/// Everything a database command needs, resolved and validated up front.
pub struct Session {
    pub ui: Ui,
    pub runtime: Runtime,
    pub config: LoadedConfig,
    pub url: DatabaseUrl,
    pub dir: PathBuf,
    pub format: Option<Format>,
    pub ledger: Ledger,
    pub environment: String,
    pub lock_mode: LockMode,
    pub lock_timeout: Duration,
    pub connect_timeout: Duration,
    pub actor: Actor,
}

impl Session {
    /// Takes the run-wide migration lock every state-changing command holds,
    /// telling the person waiting why nothing happens yet.
    pub async fn lock(&self) -> Result<crate::lock::MigrationLock> {
        crate::lock::acquire(
            &self.url,
            &self.ledger,
            self.lock_mode,
            self.lock_timeout,
            self.connect_timeout,
            || self.ui.info("waiting for another migration run to finish (lock held)"),
        )
        .await
    }

    pub fn resolve(ui: Ui, runtime: Runtime, config: LoadedConfig, target: &TargetArgs) -> Result<Session> {
        let migrate = &config.config.migrate;
        let environment = match &target.environment {
            Some(environment) => environment.clone(),
            None => environment_from_branch(&runtime, &config).unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_string()),
        };
        if !TABLE_NAME.is_match(&environment.replace('-', "_")) {
            return Err(Error::usage(format!("invalid environment name `{environment}`")));
        }
        let url_text = match target.database_url.as_deref().filter(|url| !url.trim().is_empty()) {
            Some(url) => url.to_string(),
            None if environment == DEFAULT_ENVIRONMENT => migrate.default_database_url.clone(),
            None => {
                return Err(Error::usage(format!(
                    "no database URL for environment `{environment}`: pass --database-url or set DATABASE_URL (the SQLite default is for development only)"
                )));
            }
        };
        let url = DatabaseUrl::parse(&url_text)?;
        let table = target.table.clone().unwrap_or_else(|| migrate.table.clone());
        if !TABLE_NAME.is_match(&table) {
            return Err(Error::usage(format!(
                "invalid ledger table `{table}` (letters, digits and `_`, optionally `schema.table`)"
            )));
        }
        let dir = match &target.dir {
            Some(dir) => dir.clone(),
            None => config.repo_root.join(&migrate.dir),
        };
        let actor = Actor::detect(&runtime);
        Ok(Session {
            ui,
            runtime,
            config,
            url,
            dir,
            format: target.format,
            ledger: Ledger::new(&table),
            environment,
            lock_mode: target.lock,
            lock_timeout: target.lock_timeout,
            connect_timeout: target.connect_timeout,
            actor,
        })
    }

    pub fn load_migrations(&self) -> Result<MigrationSet> {
        formats::load(&self.dir, self.format)
    }

    pub async fn connect(&self) -> Result<database::Connection> {
        database::Connection::open(&self.url, self.connect_timeout).await
    }

    pub fn policy(&self) -> shipgate_core::config::MigrationPolicy {
        self.config.config.migrate.policy_for(&self.environment)
    }
}

/// In Actions, the environment the branch deploys to (branch-guard's flow table).
fn environment_from_branch(runtime: &Runtime, config: &LoadedConfig) -> Option<String> {
    if !runtime.in_actions() {
        return None;
    }
    let branch = runtime.context().ref_name?;
    config.config.flow.environment_for_branch(&branch).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn reads_only_known_config_sections() {
        for section in TOOL.sections {
            assert!(shipgate_core::config::SECTIONS.contains(section), "{section}");
        }
    }

    fn resolve(target: TargetArgs, vars: &[(&str, &str)]) -> Result<Session> {
        let runtime = Runtime::from_env_map(vars.iter().copied());
        let ui = Ui {
            json: false,
            quiet: true,
            verbose: 0,
        };
        Session::resolve(ui, runtime, LoadedConfig::from_defaults("/repo"), &target)
    }

    #[test]
    fn development_defaults_to_the_sqlite_file() {
        let session = resolve(TargetArgs::default(), &[]).unwrap();
        assert_eq!(session.environment, "development");
        assert_eq!(session.url.shown(), "sqlite:./shipgate-dev.db");
        assert_eq!(session.dir, PathBuf::from("/repo/migrations"));
        assert_eq!(session.ledger.table, "shipgate_migrations");
    }

    #[test]
    fn other_environments_need_an_explicit_url() {
        let target = TargetArgs {
            environment: Some("production".into()),
            ..TargetArgs::default()
        };
        let error = resolve(target, &[]).err().unwrap();
        assert_eq!(error.exit_code(), ExitCode::Usage);
        assert!(error.to_string().contains("no database URL"), "{error}");
    }

    #[test]
    fn the_branch_picks_the_environment_in_actions() {
        let target = TargetArgs {
            database_url: Some("sqlite:x.db".into()),
            ..TargetArgs::default()
        };
        let session = resolve(target, &[("GITHUB_ACTIONS", "true"), ("GITHUB_REF_NAME", "main")]).unwrap();
        assert_eq!(session.environment, "production");
    }

    #[test]
    fn bad_table_names_are_refused() {
        let target = TargetArgs {
            table: Some("x; DROP TABLE y".into()),
            ..TargetArgs::default()
        };
        assert!(resolve(target, &[]).is_err());
    }
}
