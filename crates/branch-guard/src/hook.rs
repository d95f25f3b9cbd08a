//! `branch-guard hook install [--force]` / `hook uninstall`: the `pre-push`
//! and `commit-msg` git hooks.
//!
//! The hooks directory comes from `git rev-parse --git-path hooks`, which
//! honours `core.hooksPath`. A hook that is not ours is kept and chained
//! (renamed to `<hook>.chained`, run first with the same arguments and input)
//! unless `--force`; uninstalling puts it back.

use std::path::{Path, PathBuf};

use serde::Serialize;
use shipgate_core::cli::{GlobalArgs, Ui};
use shipgate_core::exit::{Error, ExitCode, Result};

/// The hooks branch-guard installs.
pub const HOOKS: &[&str] = &["pre-push", "commit-msg"];

/// Marks a hook script as ours.
const MARKER: &str = "# installed by branch-guard (shipgate)";

/// What happened to one hook; part of the `--json` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookChange {
    pub hook: String,
    pub path: PathBuf,
    /// `installed`, `installed-chained`, `replaced`, `reinstalled`, `removed`,
    /// `restored-chained`, `not-ours`, `absent`.
    pub action: &'static str,
}

/// The hooks directory of the repository at `dir`, honouring `core.hooksPath`.
pub fn hooks_dir(dir: &Path) -> Result<PathBuf> {
    let output = shipgate_core::git::git_cli(dir, &["rev-parse", "--git-path", "hooks"])?;
    let relative = PathBuf::from(output.stdout.trim());
    let top = shipgate_core::git::git_cli(dir, &["rev-parse", "--show-toplevel"])
        .map(|out| PathBuf::from(out.stdout.trim()))
        .unwrap_or_else(|_| dir.to_path_buf());
    Ok(if relative.is_absolute() {
        relative
    } else if dir.join(&relative).exists() || !top.join(&relative).exists() {
        dir.join(relative)
    } else {
        top.join(relative)
    })
}

fn is_ours(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| text.contains(MARKER))
}

/// Quotes `text` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The script for `hook`, calling `binary`, chaining `chained` if present.
pub fn script(hook: &str, binary: &Path, chained: bool) -> String {
    let binary = shell_quote(&binary.display().to_string());
    let chained_path = format!("\"$(dirname \"$0\")/{hook}.chained\"");
    match hook {
        "pre-push" => {
            let chain = if chained {
                format!(
                    "# git gives the refs on stdin once; keep them for both hooks.\ninput=$(cat)\nprintf '%s\\n' \"$input\" | {chained_path} \"$@\" || exit $?\nprintf '%s\\n' \"$input\" | exec {binary} pre-push \"$@\"\n"
                )
            } else {
                format!("exec {binary} pre-push \"$@\"\n")
            };
            format!("#!/bin/sh\n{MARKER}; `branch-guard hook uninstall` removes it.\n{chain}")
        }
        _ => {
            let chain = if chained {
                format!("{chained_path} \"$@\" || exit $?\n")
            } else {
                String::new()
            };
            format!(
                "#!/bin/sh\n{MARKER}; `branch-guard hook uninstall` removes it.\n{chain}exec {binary} message \"$1\"\n"
            )
        }
    }
}

fn write_executable(path: &Path, text: &str) -> Result<()> {
    let io = |e: std::io::Error| Error::usage_with(format!("cannot write hook {}", path.display()), e);
    std::fs::write(path, text).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
    }
    Ok(())
}

/// Installs both hooks into `hooks_dir`, calling `binary`.
pub fn install(hooks_dir: &Path, binary: &Path, force: bool, dry_run: bool) -> Result<Vec<HookChange>> {
    if !dry_run {
        std::fs::create_dir_all(hooks_dir)
            .map_err(|e| Error::usage_with(format!("cannot create {}", hooks_dir.display()), e))?;
    }
    let mut changes = Vec::new();
    for hook in HOOKS {
        let path = hooks_dir.join(hook);
        let chained_path = hooks_dir.join(format!("{hook}.chained"));
        let exists = path.exists();
        let action = if !exists {
            "installed"
        } else if is_ours(&path) {
            "reinstalled"
        } else if force {
            "replaced"
        } else {
            if chained_path.exists() {
                return Err(Error::usage(format!(
                    "{} exists and so does {}: cannot chain a second hook; merge them or use --force",
                    path.display(),
                    chained_path.display()
                )));
            }
            "installed-chained"
        };
        if !dry_run {
            if action == "installed-chained" {
                std::fs::rename(&path, &chained_path)
                    .map_err(|e| Error::usage_with(format!("cannot move {} aside", path.display()), e))?;
            }
            let chained = action != "replaced" && chained_path.exists();
            write_executable(&path, &script(hook, binary, chained))?;
        }
        changes.push(HookChange {
            hook: hook.to_string(),
            path,
            action,
        });
    }
    Ok(changes)
}

/// Removes our hooks from `hooks_dir` and restores chained ones.
pub fn uninstall(hooks_dir: &Path, dry_run: bool) -> Result<Vec<HookChange>> {
    let mut changes = Vec::new();
    for hook in HOOKS {
        let path = hooks_dir.join(hook);
        let chained_path = hooks_dir.join(format!("{hook}.chained"));
        let action = if !path.exists() {
            "absent"
        } else if !is_ours(&path) {
            "not-ours"
        } else if chained_path.exists() {
            "restored-chained"
        } else {
            "removed"
        };
        if !dry_run {
            let io = |e: std::io::Error| Error::usage_with(format!("cannot update {}", path.display()), e);
            match action {
                "removed" => std::fs::remove_file(&path).map_err(io)?,
                "restored-chained" => std::fs::rename(&chained_path, &path).map_err(io)?,
                _ => {}
            }
        }
        changes.push(HookChange {
            hook: hook.to_string(),
            path,
            action,
        });
    }
    Ok(changes)
}

/// Runs `hook install` or `hook uninstall` in the current repository.
pub fn run(globals: &GlobalArgs, install_hooks: bool, force: bool, dry_run: bool) -> Result<ExitCode> {
    let ui = Ui::new(globals);
    let cwd = std::env::current_dir().map_err(|e| Error::usage_with("cannot read the current directory", e))?;
    shipgate_core::git::Repo::discover(&cwd)?;
    let dir = hooks_dir(&cwd)?;
    let changes = if install_hooks {
        let binary =
            std::env::current_exe().map_err(|e| Error::usage_with("cannot find the branch-guard binary", e))?;
        install(&dir, &binary, force, dry_run)?
    } else {
        uninstall(&dir, dry_run)?
    };
    if ui.json {
        ui.print_json(&serde_json::json!({ "dry_run": dry_run, "hooks": changes }))?;
    } else {
        let prefix = if dry_run { "would be " } else { "" };
        let mut text = String::new();
        for change in &changes {
            text.push_str(&format!(
                "{}: {prefix}{} ({})\n",
                change.hook,
                change.action.replace('-', " "),
                change.path.display()
            ));
        }
        ui.print(&text)?;
    }
    Ok(ExitCode::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_chains_foreign_hooks_and_uninstall_restores_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let hooks = dir.path();
        std::fs::write(hooks.join("pre-push"), "#!/bin/sh\necho theirs\n").expect("write");
        let binary = Path::new("/opt/it's here/branch-guard");
        let changes = install(hooks, binary, false, false).expect("install");
        let actions: Vec<_> = changes.iter().map(|c| c.action).collect();
        assert_eq!(actions, ["installed-chained", "installed"]);
        let pre_push = std::fs::read_to_string(hooks.join("pre-push")).expect("read");
        assert!(
            pre_push.contains("pre-push.chained") && pre_push.contains(r"'/opt/it'\''s here/branch-guard'"),
            "{pre_push}"
        );
        assert!(
            std::fs::read_to_string(hooks.join("pre-push.chained"))
                .expect("read")
                .contains("theirs")
        );
        // Installing again keeps the chain.
        let again: Vec<_> = install(hooks, binary, false, false)
            .expect("again")
            .iter()
            .map(|c| c.action)
            .collect();
        assert_eq!(again, ["reinstalled", "reinstalled"]);
        assert!(
            std::fs::read_to_string(hooks.join("pre-push"))
                .expect("read")
                .contains(".chained")
        );

        let removed: Vec<_> = uninstall(hooks, false)
            .expect("uninstall")
            .iter()
            .map(|c| c.action)
            .collect();
        assert_eq!(removed, ["restored-chained", "removed"]);
        assert_eq!(
            std::fs::read_to_string(hooks.join("pre-push")).expect("read"),
            "#!/bin/sh\necho theirs\n"
        );
        assert!(!hooks.join("commit-msg").exists());
        let untouched: Vec<_> = uninstall(hooks, false)
            .expect("again")
            .iter()
            .map(|c| c.action)
            .collect();
        assert_eq!(untouched, ["not-ours", "absent"]);
    }

    #[test]
    fn force_replaces_and_dry_run_changes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let hooks = dir.path();
        std::fs::write(hooks.join("commit-msg"), "#!/bin/sh\nexit 0\n").expect("write");
        let planned = install(hooks, Path::new("/bin/branch-guard"), true, true).expect("dry run");
        assert_eq!(planned[1].action, "replaced");
        assert_eq!(
            std::fs::read_to_string(hooks.join("commit-msg")).expect("read"),
            "#!/bin/sh\nexit 0\n"
        );
        assert!(!hooks.join("pre-push").exists());
        install(hooks, Path::new("/bin/branch-guard"), true, false).expect("install");
        assert!(is_ours(&hooks.join("commit-msg")));
        assert!(!hooks.join("commit-msg.chained").exists());
    }
}
