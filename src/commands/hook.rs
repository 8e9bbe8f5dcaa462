//! `leakscope hook install`: a git pre-commit hook that runs `leakscope scan --staged`.
//!
//! The hook goes where git looks for it: `core.hooksPath` when set (relative to the
//! working tree's top, as git reads it), otherwise `hooks/` in the repository's common
//! directory, which linked worktrees share (`git rev-parse --git-path hooks`). A hook
//! leakscope did not write is never replaced without `--force`; leakscope recognises its
//! own by the marker line.

use super::EXIT_CLEAN;
use git2::Repository;
use std::path::{Path, PathBuf};

/// The line that marks a hook as leakscope's own (safe to overwrite on reinstall).
pub const HOOK_MARKER: &str = "# leakscope-managed-hook";

#[derive(Debug, Clone, clap::Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub action: HookAction,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum HookAction {
    /// Write the repository's pre-commit hook: `leakscope scan --staged` before each commit.
    Install {
        /// Replace a pre-commit hook leakscope did not write (it is kept as
        /// pre-commit.leakscope-backup, or .1, .2, ... if that name is taken).
        #[arg(long)]
        force: bool,
        /// A directory inside the repository (default: the current directory).
        #[arg(long, value_name = "PATH", default_value = ".")]
        repo: PathBuf,
    },
}

pub fn run(args: HookArgs) -> anyhow::Result<i32> {
    match args.action {
        HookAction::Install { force, repo } => {
            let path = install(&repo, force)?;
            crate::ui::print(&format!(
                "installed the leakscope pre-commit hook: {}\n",
                path.display()
            ))?;
            Ok(EXIT_CLEAN)
        }
    }
}

/// Installs the hook and returns its path.
pub fn install(repo_path: &Path, force: bool) -> anyhow::Result<PathBuf> {
    let repo = crate::source::git::discover_repo(repo_path)?;
    let dir = hooks_dir(&repo)?;
    std::fs::create_dir_all(&dir).map_err(|e| {
        anyhow::anyhow!("{}: cannot create the hooks directory: {e}", dir.display())
    })?;
    let hook = dir.join("pre-commit");
    match std::fs::read(&hook) {
        Ok(existing) => {
            let ours = String::from_utf8_lossy(&existing)
                .lines()
                .any(|l| l.trim_end() == HOOK_MARKER);
            if !ours {
                if !force {
                    anyhow::bail!(
                        "{}: a pre-commit hook leakscope did not write is already there; \
                         pass --force to replace it (it will be kept as pre-commit.leakscope-backup, \
                         or .1, .2, ... if that name is taken)",
                        hook.display()
                    );
                }
                let backup = keep_aside(&hook, &dir).map_err(|e| {
                    anyhow::anyhow!("{}: cannot move it aside: {e}", hook.display())
                })?;
                crate::ui::note(format!(
                    "the previous hook was kept as {}",
                    backup.display()
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => anyhow::bail!("{}: cannot read: {e}", hook.display()),
    }
    std::fs::write(&hook, script())
        .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", hook.display()))?;
    make_executable(&hook)?;
    Ok(hook)
}

/// Moves `hook` to the first free name of `pre-commit.leakscope-backup`,
/// `pre-commit.leakscope-backup.1`, `.2`, ... in `dir` and returns it. An existing backup
/// is never replaced: it may be the user's original hook from an earlier `--force`.
fn keep_aside(hook: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    for n in 0u32.. {
        let backup = match n {
            0 => dir.join("pre-commit.leakscope-backup"),
            n => dir.join(format!("pre-commit.leakscope-backup.{n}")),
        };
        if backup.symlink_metadata().is_ok() {
            continue;
        }
        // A hard link fails rather than replace a file that appeared in the meantime
        // (`rename` would silently overwrite it).
        match std::fs::hard_link(hook, &backup) {
            Ok(()) => {
                std::fs::remove_file(hook)?;
                return Ok(backup);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            // No hard links on this file system: the name was free just above.
            Err(_) => {
                std::fs::rename(hook, &backup)?;
                return Ok(backup);
            }
        }
    }
    Err(std::io::Error::other("no free backup name"))
}

/// Where git runs hooks from for this repository.
fn hooks_dir(repo: &Repository) -> anyhow::Result<PathBuf> {
    let configured = repo
        .config()
        .ok()
        .and_then(|c| c.get_path("core.hooksPath").ok());
    Ok(match configured {
        Some(path) if path.is_absolute() => path,
        Some(path) => {
            // git runs hooks from the top of the working tree (the git dir when bare),
            // and reads a relative core.hooksPath from there.
            let base = repo.workdir().unwrap_or_else(|| repo.path());
            base.join(path)
        }
        None => repo.commondir().join("hooks"),
    })
}

/// The hook: the binary that installed it if it is still there, else `leakscope` on
/// PATH. If neither runs, the shell exits 127 and git refuses the commit: a hook that
/// cannot scan must not pass.
fn script() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .map(|p| shell_quote(&p.to_string_lossy()))
        .unwrap_or_else(|| "''".into());
    format!(
        "#!/bin/sh\n\
         {HOOK_MARKER}\n\
         # Written by `leakscope hook install`. It blocks a commit that would add a GitHub or\n\
         # Anaconda token (exit 1) and one it could not check (exit 2). Skip it once with\n\
         # `git commit --no-verify`; remove it by deleting this file.\n\
         LEAKSCOPE={binary}\n\
         if [ ! -x \"$LEAKSCOPE\" ]; then LEAKSCOPE=leakscope; fi\n\
         exec \"$LEAKSCOPE\" scan --staged --quiet\n"
    )
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(unix)]
fn make_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| anyhow::anyhow!("{}: cannot make it executable: {e}", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}
