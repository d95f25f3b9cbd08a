//! `lint`: offline safety checks for PostgreSQL migrations, the rules
//! squawk and Atlas are known for, on statements parsed by sqlparser's
//! PostgreSQL dialect. A statement the parser cannot read is a finding of
//! its own, never a silent pass. `-- shipgate:lint-ignore <rule>` on a line
//! before a statement acknowledges a finding: it is still reported, but no
//! longer fails the lint.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::json;
use shipgate_core::actions::{Annotation, AnnotationLevel, Runtime};
use shipgate_core::cli::Ui;
use shipgate_core::exit::{self, ExitCode, Result};
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOption, Expr, ObjectType, Statement as Ast, TableConstraint,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::formats::{Migration, Script};
use crate::sql::SqlDialect;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    pub safe_alternative: &'static str,
    pub acknowledged: bool,
}

const VOLATILE: [&str; 7] = [
    "random",
    "gen_random_uuid",
    "uuid_generate_v4",
    "uuid_generate_v1",
    "clock_timestamp",
    "timeofday",
    "nextval",
];

fn name_of(name: &sqlparser::ast::ObjectName) -> String {
    name.to_string().to_ascii_lowercase().replace('"', "")
}

fn is_volatile(expr: &Expr) -> bool {
    let text = expr.to_string().to_ascii_lowercase();
    VOLATILE.iter().any(|function| text.contains(&format!("{function}(")))
}

/// Lints one script. `created` holds tables created earlier in the same
/// script: changing a table nobody uses yet locks nothing that matters.
pub fn lint_script(script: &Script) -> Vec<Finding> {
    let mut findings = Vec::new();
    let file = script.path.display().to_string();
    let statements = match script.statements(SqlDialect::Postgres) {
        Ok(statements) => statements,
        Err(error) => {
            findings.push(Finding {
                file,
                line: script.first_line,
                rule: "unparseable",
                severity: Severity::Error,
                message: format!("cannot split into statements: {error}"),
                safe_alternative: "fix the SQL; a statement the lint cannot read is reviewed by hand",
                acknowledged: false,
            });
            return findings;
        }
    };
    let lines: Vec<&str> = script.sql.lines().collect();
    let mut created: HashSet<String> = HashSet::new();
    let mut has_lock_timeout = false;
    let mut has_statement_timeout = false;
    let mut risky_line: Option<usize> = None;
    let mut in_explicit_transaction = false;
    let mut concurrent_line: Option<usize> = None;
    let mut statement_count = 0usize;
    for statement in &statements {
        statement_count += 1;
        // Acknowledgements: comment lines just above the statement.
        let mut acknowledged: Vec<String> = Vec::new();
        let mut index = statement.line.saturating_sub(script.first_line);
        while index > 0 {
            index -= 1;
            let above = lines.get(index).map_or("", |line| line.trim());
            if let Some(rest) = above.strip_prefix("-- shipgate:lint-ignore") {
                acknowledged.extend(rest.split([',', ' ']).filter(|r| !r.is_empty()).map(str::to_string));
            } else if !above.starts_with("--") {
                break;
            }
        }
        let mut add = |rule: &'static str, severity: Severity, message: String, safe: &'static str| {
            findings.push(Finding {
                file: file.clone(),
                line: statement.line,
                rule,
                severity,
                message,
                safe_alternative: safe,
                acknowledged: acknowledged.iter().any(|ack| ack == rule),
            });
        };
        let upper = statement.sql.to_ascii_uppercase();
        let parsed = match Parser::parse_sql(&PostgreSqlDialect {}, &statement.sql) {
            Ok(parsed) => parsed,
            Err(error) => {
                add(
                    "unparseable",
                    Severity::Error,
                    format!("the PostgreSQL parser cannot read this statement: {error}"),
                    "review it by hand and acknowledge with `-- shipgate:lint-ignore unparseable`",
                );
                continue;
            }
        };
        for ast in parsed {
            match &ast {
                Ast::StartTransaction { .. } => in_explicit_transaction = true,
                Ast::Commit { .. } | Ast::Rollback { .. } => in_explicit_transaction = false,
                Ast::Set(_) => {}
                Ast::CreateTable(table) => {
                    created.insert(name_of(&table.name));
                }
                Ast::CreateIndex(index) => {
                    let table = name_of(&index.table_name);
                    if index.concurrently {
                        concurrent_line.get_or_insert(statement.line);
                        if in_explicit_transaction {
                            add(
                                "concurrently-in-transaction",
                                Severity::Error,
                                "CREATE INDEX CONCURRENTLY inside BEGIN … COMMIT fails".into(),
                                "remove the explicit transaction; migrate-runner runs CONCURRENTLY files outside one",
                            );
                        }
                    } else if !created.contains(&table) {
                        risky_line.get_or_insert(statement.line);
                        add(
                            "require-concurrent-index-creation",
                            Severity::Error,
                            format!("CREATE INDEX on existing table `{table}` blocks writes while it builds"),
                            "CREATE INDEX CONCURRENTLY (the file then runs outside a transaction)",
                        );
                    }
                }
                Ast::AlterTable { name, operations, .. } => {
                    let table = name_of(name);
                    let new_table = created.contains(&table);
                    if !new_table {
                        risky_line.get_or_insert(statement.line);
                    }
                    for operation in operations {
                        match operation {
                            AlterTableOperation::AddConstraint { constraint, not_valid }
                                if !not_valid
                                    && !new_table
                                    && matches!(
                                        constraint,
                                        TableConstraint::ForeignKey { .. } | TableConstraint::Check { .. }
                                    ) =>
                            {
                                add(
                                    "constraint-missing-not-valid",
                                    Severity::Error,
                                    format!("ADD CONSTRAINT on `{table}` scans the whole table under a lock"),
                                    "ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in a later migration",
                                );
                            }
                            AlterTableOperation::AddColumn { column_def, .. } if !new_table => {
                                let options: Vec<&ColumnOption> =
                                    column_def.options.iter().map(|option| &option.option).collect();
                                let not_null = options.iter().any(|option| matches!(option, ColumnOption::NotNull));
                                let default = options.iter().find_map(|option| match option {
                                    ColumnOption::Default(expr) => Some(expr),
                                    _ => None,
                                });
                                if not_null && default.is_none() {
                                    add(
                                        "adding-required-field",
                                        Severity::Error,
                                        format!(
                                            "ADD COLUMN {} NOT NULL without a default fails on a non-empty `{table}`",
                                            column_def.name
                                        ),
                                        "add the column nullable (or with a constant DEFAULT), backfill, then SET NOT NULL via a NOT VALID check",
                                    );
                                }
                                if let Some(expr) = default
                                    && is_volatile(expr)
                                {
                                    add(
                                        "adding-field-with-volatile-default",
                                        Severity::Error,
                                        format!(
                                            "DEFAULT {expr} is volatile: `{table}` is rewritten under an exclusive lock"
                                        ),
                                        "add the column without a default, set the default, then backfill in batches",
                                    );
                                }
                            }
                            AlterTableOperation::AlterColumn { column_name, op } if !new_table => match op {
                                AlterColumnOperation::SetNotNull => add(
                                    "set-not-null",
                                    Severity::Error,
                                    format!(
                                        "SET NOT NULL on `{table}.{column_name}` scans the table under an exclusive lock"
                                    ),
                                    "ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL (PostgreSQL 12+ skips the scan)",
                                ),
                                AlterColumnOperation::SetDataType { .. } => add(
                                    "changing-column-type",
                                    Severity::Error,
                                    format!("changing the type of `{table}.{column_name}` rewrites the table"),
                                    "add a new column, backfill it, switch the application, then drop the old one",
                                ),
                                _ => {}
                            },
                            AlterTableOperation::RenameColumn { old_column_name, .. } => add(
                                "renaming-column",
                                Severity::Warning,
                                format!(
                                    "renaming `{table}.{old_column_name}` breaks the running application mid-deploy"
                                ),
                                "add the new column, write to both, switch reads, drop the old one later",
                            ),
                            AlterTableOperation::RenameTable { .. } => add(
                                "renaming-table",
                                Severity::Warning,
                                format!("renaming `{table}` breaks the running application mid-deploy"),
                                "create a view with the old name while the application moves over",
                            ),
                            AlterTableOperation::DropColumn { column_names, .. } => add(
                                "ban-drop-column",
                                Severity::Warning,
                                format!(
                                    "dropping {} from `{table}` destroys data and breaks code still reading it",
                                    column_names
                                        .iter()
                                        .map(ToString::to_string)
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                                "stop reading the column in a release first, then drop it",
                            ),
                            _ => {}
                        }
                    }
                }
                Ast::Drop { object_type, names, .. } => {
                    let names = names.iter().map(name_of).collect::<Vec<_>>().join(", ");
                    match object_type {
                        ObjectType::Table | ObjectType::Schema | ObjectType::Database
                            if !names.split(", ").all(|name| created.contains(name)) =>
                        {
                            risky_line.get_or_insert(statement.line);
                            add(
                                "ban-drop-table",
                                Severity::Warning,
                                format!("DROP {object_type} {names} destroys data"),
                                "rename it aside or keep it until a backup is verified, then drop in a later release",
                            );
                        }
                        ObjectType::Index if !upper.contains("CONCURRENTLY") => {
                            risky_line.get_or_insert(statement.line);
                            add(
                                "require-concurrent-index-deletion",
                                Severity::Warning,
                                format!("DROP INDEX {names} blocks reads and writes on its table"),
                                "DROP INDEX CONCURRENTLY",
                            );
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
            if upper.contains("LOCK_TIMEOUT") && upper.starts_with("SET") {
                has_lock_timeout = true;
            }
            if upper.contains("STATEMENT_TIMEOUT") && upper.starts_with("SET") {
                has_statement_timeout = true;
            }
        }
    }
    if let Some(line) = concurrent_line
        && statement_count > 1
    {
        findings.push(Finding {
            file: file.clone(),
            line,
            rule: "concurrently-in-transaction",
            severity: Severity::Warning,
            message: "CONCURRENTLY cannot run in a transaction, so this whole file runs without one".into(),
            safe_alternative: "put the CONCURRENTLY statement in a migration of its own",
            acknowledged: false,
        });
    }
    if let Some(line) = risky_line
        && !(has_lock_timeout && has_statement_timeout)
    {
        let missing: Vec<&str> = [
            ("lock_timeout", has_lock_timeout),
            ("statement_timeout", has_statement_timeout),
        ]
        .iter()
        .filter(|(_, set)| !set)
        .map(|(name, _)| *name)
        .collect();
        findings.push(Finding {
            file,
            line,
            rule: "require-timeout-settings",
            severity: Severity::Warning,
            message: format!(
                "locking DDL without {}: a blocked lock queues every query behind it",
                missing.join(" or ")
            ),
            safe_alternative: "start the file with `SET lock_timeout = '5s'; SET statement_timeout = '5min';`",
            acknowledged: false,
        });
    }
    findings
}

pub fn lint_migrations<'a>(migrations: impl IntoIterator<Item = &'a Migration>) -> Vec<Finding> {
    migrations
        .into_iter()
        .flat_map(|migration| lint_script(&migration.up))
        .collect()
}

/// Findings that fail the lint: unacknowledged errors.
pub fn blocking(findings: &[Finding]) -> usize {
    findings
        .iter()
        .filter(|finding| finding.severity == Severity::Error && !finding.acknowledged)
        .count()
}

pub fn report(ui: &Ui, runtime: &Runtime, findings: &[Finding]) -> Result<ExitCode> {
    for finding in findings {
        let level = match (finding.severity, finding.acknowledged) {
            (_, true) => AnnotationLevel::Notice,
            (Severity::Error, false) => AnnotationLevel::Error,
            (Severity::Warning, false) => AnnotationLevel::Warning,
        };
        if runtime.in_actions() {
            runtime.annotate(
                level,
                &Annotation::new(format!(
                    "{} Safe alternative: {}",
                    finding.message, finding.safe_alternative
                ))
                .title(format!("migration lint: {}", finding.rule))
                .file(finding.file.clone())
                .line(finding.line as u32),
            );
        }
    }
    let failing = blocking(findings);
    if ui.json {
        ui.print_json(&json!({"ok": failing == 0, "findings": findings}))?;
    } else {
        let mut out = String::new();
        for finding in findings {
            out.push_str(&format!(
                "{}:{}: {}{} [{}] {}\n    safe alternative: {}\n",
                finding.file,
                finding.line,
                match finding.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                if finding.acknowledged { " (acknowledged)" } else { "" },
                finding.rule,
                finding.message,
                finding.safe_alternative
            ));
        }
        out.push_str(&format!("{} finding(s), {failing} blocking\n", findings.len()));
        ui.print(&out)?;
    }
    exit::verdict(failing == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn rules(sql: &str) -> Vec<(&'static str, usize, bool)> {
        let script = Script::new(Path::new("m.sql"), sql, 1, None);
        lint_script(&script)
            .into_iter()
            .map(|finding| (finding.rule, finding.line, finding.acknowledged))
            .collect()
    }

    #[test]
    fn flags_each_rule_with_its_line() {
        let sql = "SET lock_timeout = '5s';\nSET statement_timeout = '1min';\nCREATE INDEX i ON users (email);\nALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (org) REFERENCES orgs (id);\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users ALTER COLUMN age TYPE bigint;\nALTER TABLE users ADD COLUMN code text NOT NULL;\nALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();\nALTER TABLE users RENAME COLUMN a TO b;\nALTER TABLE users DROP COLUMN c;\nDROP TABLE old_things;\n";
        assert_eq!(
            rules(sql),
            [
                ("require-concurrent-index-creation", 3, false),
                ("constraint-missing-not-valid", 4, false),
                ("set-not-null", 5, false),
                ("changing-column-type", 6, false),
                ("adding-required-field", 7, false),
                ("adding-field-with-volatile-default", 8, false),
                ("renaming-column", 9, false),
                ("ban-drop-column", 10, false),
                ("ban-drop-table", 11, false),
            ]
        );
    }

    #[test]
    fn safe_forms_pass() {
        let sql = "SET lock_timeout = '5s';\nSET statement_timeout = '1min';\nCREATE TABLE fresh (id int);\nCREATE INDEX ON fresh (id);\nALTER TABLE fresh ADD COLUMN x int NOT NULL;\nALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (org) REFERENCES orgs (id) NOT VALID;\nALTER TABLE users ADD COLUMN created timestamptz DEFAULT now();\n";
        assert_eq!(rules(sql), []);
    }

    #[test]
    fn timeouts_concurrency_and_acknowledgements() {
        assert_eq!(
            rules("ALTER TABLE users ADD COLUMN note text;\n"),
            [("require-timeout-settings", 1, false)]
        );
        assert_eq!(
            rules("BEGIN;\nCREATE INDEX CONCURRENTLY i ON users (email);\nCOMMIT;\n")[0],
            ("concurrently-in-transaction", 2, false)
        );
        let acknowledged = rules(
            "SET lock_timeout = '1s';\nSET statement_timeout = '1s';\n-- shipgate:lint-ignore ban-drop-column\nALTER TABLE users DROP COLUMN c;\n",
        );
        assert_eq!(acknowledged, [("ban-drop-column", 4, true)]);
    }

    #[test]
    fn unparseable_statements_are_findings() {
        let found = rules("CREATE TABLE t (id int);\nTHIS IS NOT SQL;\n");
        assert_eq!(found, [("unparseable", 2, false)]);
    }
}
