//! `leakscope hook install`: a git pre-commit hook that runs `leakscope scan --staged`.
//!
//! The hook goes where git looks for it: `core.hooksPath` when set (relative to the
//! working tree's top, as git reads it), otherwise `hooks/` in the repository's common
//! directory, which linked worktrees share (`git rev-parse --git-path hooks`). A hook
//! leakscope did not write is never replaced without `--force`, or chained with
//! `--chain` (kept aside and run first, so both must pass); leakscope recognises its own
//! by the marker line, and records the kept-aside hook's name in it so `hook uninstall`
//! can put that hook back. A pre-commit path that is a FIFO, socket or device is refused
//! (reading one would block forever).

use super::EXIT_CLEAN;
use git2::Repository;
use std::path::{Path, PathBuf};

/// The line that marks a hook as leakscope's own (safe to overwrite on reinstall).
pub const HOOK_MARKER: &str = "# leakscope-managed-hook";
/// `# leakscope-chained: NAME`: the foreign hook (in the hooks directory) run first.
const CHAINED: &str = "# leakscope-chained: ";
/// `# leakscope-replaced: NAME`: the foreign hook `--force` kept aside.
const REPLACED: &str = "# leakscope-replaced: ";

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
        #[arg(long, conflicts_with = "chain")]
        force: bool,
        /// Keep a pre-commit hook leakscope did not write and run it first: the commit
        /// goes through only when both pass (`hook uninstall` puts it back).
        #[arg(long)]
        chain: bool,
        /// A directory inside the repository (default: the current directory).
        #[arg(long, value_name = "PATH", default_value = ".")]
        repo: PathBuf,
    },
    /// Remove leakscope's pre-commit hook and put back the hook it chained or replaced.
    Uninstall {
        /// A directory inside the repository (default: the current directory).
        #[arg(long, value_name = "PATH", default_value = ".")]
        repo: PathBuf,
    },
}

/// What to do with a pre-commit hook leakscope did not write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Foreign {
    Refuse,
    /// `--force`: keep it aside, do not run it.
    Replace,
    /// `--chain`: keep it aside and run it first.
    Chain,
}

pub fn run(args: HookArgs) -> anyhow::Result<i32> {
    match args.action {
        HookAction::Install { force, chain, repo } => {
            let foreign = match (force, chain) {
                (_, true) => Foreign::Chain,
                (true, false) => Foreign::Replace,
                _ => Foreign::Refuse,
            };
            let path = install(&repo, foreign)?;
            crate::ui::print(&format!(
                "installed the leakscope pre-commit hook: {}\n",
                path.display()
            ))?;
            Ok(EXIT_CLEAN)
        }
        HookAction::Uninstall { repo } => {
            crate::ui::print(&format!("{}\n", uninstall(&repo)?))?;
            Ok(EXIT_CLEAN)
        }
    }
}

/// Refuses a pre-commit path that is not a regular file (or a link to one): opening a
/// FIFO blocks until a writer comes, which would hang `hook install` forever.
fn check_regular(hook: &Path) -> anyhow::Result<bool> {
    match std::fs::metadata(hook) {
        Ok(meta) if meta.is_file() => Ok(true),
        Ok(meta) => {
            let kind = special_kind(&meta);
            anyhow::bail!(
                "{}: is {kind}, not a hook script; leakscope will not read or replace it",
                hook.display()
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if hook.symlink_metadata().is_ok() {
                anyhow::bail!(
                    "{}: is a symbolic link to nothing; remove it or point it at a hook",
                    hook.display()
                );
            }
            Ok(false)
        }
        Err(e) => anyhow::bail!("{}: cannot read: {e}", hook.display()),
    }
}

#[cfg(unix)]
fn special_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(meta: &std::fs::Metadata) -> &'static str {
    if meta.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// The value of a `# leakscope-…: NAME` line of our hook.
fn recorded<'a>(script: &'a str, key: &str) -> Option<&'a str> {
    script
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
        .filter(|name| !name.is_empty() && !name.contains(['/', '\\']))
}

/// Removes leakscope's hook and restores the hook it chained or replaced; returns what
/// was done, in words.
pub fn uninstall(repo_path: &Path) -> anyhow::Result<String> {
    let repo = crate::source::git::discover_repo(repo_path)?;
    let dir = hooks_dir(&repo)?;
    let hook = dir.join("pre-commit");
    if !check_regular(&hook)? {
        return Ok(format!(
            "no pre-commit hook at {}: nothing to remove",
            hook.display()
        ));
    }
    let text = std::fs::read_to_string(&hook)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", hook.display()))?;
    if !text.lines().any(|l| l.trim_end() == HOOK_MARKER) {
        anyhow::bail!(
            "{}: this pre-commit hook was not written by leakscope; left as it is",
            hook.display()
        );
    }
    let kept = recorded(&text, CHAINED).or_else(|| recorded(&text, REPLACED));
    std::fs::remove_file(&hook)
        .map_err(|e| anyhow::anyhow!("{}: cannot remove: {e}", hook.display()))?;
    match kept {
        Some(name) if dir.join(name).is_file() => {
            std::fs::rename(dir.join(name), &hook).map_err(|e| {
                anyhow::anyhow!("{}: cannot restore {name}: {e}", hook.display())
            })?;
            Ok(format!(
                "removed the leakscope pre-commit hook and restored the earlier hook ({name}) at {}",
                hook.display()
            ))
        }
        Some(name) => Ok(format!(
            "removed the leakscope pre-commit hook at {}; the earlier hook {name} is no longer there",
            hook.display()
        )),
        None => Ok(format!(
            "removed the leakscope pre-commit hook at {}",
            hook.display()
        )),
    }
}

/// Installs the hook and returns its path.
pub fn install(repo_path: &Path, foreign: Foreign) -> anyhow::Result<PathBuf> {
    let repo = crate::source::git::discover_repo(repo_path)?;
    let dir = hooks_dir(&repo)?;
    std::fs::create_dir_all(&dir).map_err(|e| {
        anyhow::anyhow!("{}: cannot create the hooks directory: {e}", dir.display())
    })?;
    let hook = dir.join("pre-commit");
    // The hook this one runs first (--chain) or replaced (--force), by file name.
    let mut kept: Option<(&str, String)> = None;
    if check_regular(&hook)? {
        let existing = std::fs::read(&hook)
            .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", hook.display()))?;
        let text = String::from_utf8_lossy(&existing);
        let ours = text.lines().any(|l| l.trim_end() == HOOK_MARKER);
        if ours {
            // A reinstall keeps what the earlier install chained or replaced.
            kept = recorded(&text, CHAINED)
                .map(|n| (CHAINED, n.to_string()))
                .or_else(|| recorded(&text, REPLACED).map(|n| (REPLACED, n.to_string())));
        } else {
            if foreign == Foreign::Refuse {
                anyhow::bail!(
                    "{}: a pre-commit hook leakscope did not write is already there; \
                     pass --chain to run it before leakscope, or --force to replace it (either \
                     way it is kept as pre-commit.leakscope-backup, or .1, .2, ... if that name \
                     is taken)",
                    hook.display()
                );
            }
            let backup = keep_aside(&hook, &dir)
                .map_err(|e| anyhow::anyhow!("{}: cannot move it aside: {e}", hook.display()))?;
            let name = backup
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if foreign == Foreign::Chain {
                crate::ui::note(format!(
                    "the previous hook was kept as {} and runs before leakscope",
                    backup.display()
                ));
                kept = Some((CHAINED, name));
            } else {
                crate::ui::note(format!(
                    "the previous hook was kept as {}",
                    backup.display()
                ));
                kept = Some((REPLACED, name));
            }
        }
    }
    std::fs::write(&hook, script(kept.as_ref().map(|(k, n)| (*k, n.as_str()))))
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
fn script(kept: Option<(&str, &str)>) -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .map(|p| shell_quote(&p.to_string_lossy()))
        .unwrap_or_else(|| "''".into());
    let (record, chained) = match kept {
        Some((key, name)) if key == CHAINED => (
            format!("{key}{name}\n"),
            format!(
                "# The hook that was here before runs first; both must pass.\n\
                 CHAINED=\"$(dirname \"$0\")\"/{}\n\
                 if [ -x \"$CHAINED\" ]; then \"$CHAINED\" \"$@\" || exit $?; fi\n",
                shell_quote(name)
            ),
        ),
        Some((key, name)) => (format!("{key}{name}\n"), String::new()),
        None => (String::new(), String::new()),
    };
    format!(
        "#!/bin/sh\n\
         {HOOK_MARKER}\n\
         {record}\
         # Written by `leakscope hook install`. It blocks a commit that would add a GitHub or\n\
         # Anaconda token (exit 1) and one it could not check (exit 2). Skip it once with\n\
         # `git commit --no-verify`; remove it with `leakscope hook uninstall`.\n\
         LEAKSCOPE={binary}\n\
         if [ ! -x \"$LEAKSCOPE\" ]; then LEAKSCOPE=leakscope; fi\n\
         {chained}\
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
