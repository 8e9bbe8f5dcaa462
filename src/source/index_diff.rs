//! What the index changes relative to HEAD's tree: the files a staged scan reads.
//!
//! git itself is asked first (`git diff --cached --raw`): it keeps a cache of the tree
//! of every directory in the index (the cache-tree), so it reads only the trees of the
//! directories the change touches, where libgit2's tree-to-index diff reads every tree
//! of HEAD. In a 5 000-file repository that diff was 57 % of a hook's instructions. git
//! is always there when a git hook runs; where it is missing or fails, libgit2's diff
//! gives the same list. Both read the index `GIT_INDEX_FILE` names, as git's hooks
//! expect (`git commit -a` stages into a temporary index).
//!
//! git is run so that nothing in the repository's configuration executes: no external
//! diff or text conversion, no fsmonitor hook, no pager.

use git2::{Delta, DiffOptions, Oid, Repository, Tree};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How a path changes in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Added,
    Modified,
    /// File ↔ symlink ↔ submodule.
    Typechange,
}

/// One staged path: its new blob, and the blob HEAD had (a modified file only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub status: Status,
    pub path: String,
    pub new: Oid,
    pub new_mode: u32,
    pub old: Option<(Oid, u32)>,
}

/// The index file `GIT_INDEX_FILE` names, made absolute against the working directory
/// (as git reads it); `None` when unset. A name that is not a file is an error: libgit2
/// would open it as an empty index, which stages nothing and passes.
pub fn index_file_override() -> anyhow::Result<Option<PathBuf>> {
    let Some(path) = std::env::var_os("GIT_INDEX_FILE").filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let path = std::path::absolute(PathBuf::from(&path)).unwrap_or_else(|_| PathBuf::from(path));
    if !path.is_file() {
        anyhow::bail!(
            "GIT_INDEX_FILE={}: no such index file",
            crate::report::escape::terminal(&path.to_string_lossy())
        );
    }
    Ok(Some(path))
}

/// The staged changes of the repository whose working tree is `workdir`, against
/// `head_tree` (`None` before the first commit): added, modified and type-changed paths,
/// in path order. Deleted and unmerged paths add nothing and are left out.
pub fn staged_changes(
    repo: &Repository,
    workdir: &Path,
    head_tree: Option<&Tree<'_>>,
    index_file: Option<&Path>,
) -> anyhow::Result<Vec<Change>> {
    let base = head_tree.map_or(EMPTY_TREE.to_string(), |t| t.id().to_string());
    if let Some(changes) = from_git(workdir, &base, index_file) {
        return Ok(changes);
    }
    from_libgit2(repo, head_tree, index_file)
}

/// The id of the empty tree, which git knows without storing it.
const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/// `git diff --cached --raw -z` against `base`; `None` if git cannot be run, fails, or
/// says something this parser does not know (the libgit2 diff is used then).
fn from_git(workdir: &Path, base: &str, index_file: Option<&Path>) -> Option<Vec<Change>> {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(workdir)
        .args([
            "-c",
            "core.fsmonitor=false",
            "--no-pager",
            "diff",
            "--cached",
            "--raw",
            "-z",
            "--no-renames",
            "--no-ext-diff",
            "--no-textconv",
            "--ignore-submodules=none",
            "--no-abbrev",
            base,
            "--",
        ])
        .env_remove("GIT_EXTERNAL_DIFF")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    match index_file {
        Some(path) => command.env("GIT_INDEX_FILE", path),
        None => command.env_remove("GIT_INDEX_FILE"),
    };
    let output = command.output().ok()?;
    if !output.status.success() {
        return None;
    }
    parse_raw(&output.stdout)
}

/// Parses `git diff --raw -z` records: `:OLDMODE NEWMODE OLDID NEWID STATUS\0PATH\0`.
fn parse_raw(out: &[u8]) -> Option<Vec<Change>> {
    let mut changes = Vec::new();
    let mut fields = out.split(|&b| b == 0);
    while let Some(head) = fields.next() {
        if head.is_empty() {
            continue;
        }
        let head = std::str::from_utf8(head.strip_prefix(b":")?).ok()?;
        let path = fields.next()?;
        let mut parts = head.split(' ');
        let (old_mode, new_mode, old_id, new_id, status) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        let status = match status {
            "A" => Status::Added,
            "M" => Status::Modified,
            "T" => Status::Typechange,
            "D" | "U" => continue,
            _ => return None,
        };
        let old_mode = u32::from_str_radix(old_mode, 8).ok()?;
        let old_id = Oid::from_str(old_id).ok()?;
        changes.push(Change {
            status,
            path: super::tree::display_path(Path::new(OsStr::from_bytes(path))),
            new: Oid::from_str(new_id).ok()?,
            new_mode: u32::from_str_radix(new_mode, 8).ok()?,
            old: (status == Status::Modified && !old_id.is_zero()).then_some((old_id, old_mode)),
        });
    }
    Some(changes)
}

/// libgit2's tree-to-index diff: the same list, reading every tree of HEAD.
fn from_libgit2(
    repo: &Repository,
    head_tree: Option<&Tree<'_>>,
    index_file: Option<&Path>,
) -> anyhow::Result<Vec<Change>> {
    let index = match index_file {
        Some(path) => git2::Index::open(path).map_err(|e| {
            anyhow::anyhow!(
                "GIT_INDEX_FILE={}: cannot read the index ({})",
                crate::report::escape::terminal(&path.to_string_lossy()),
                e.message()
            )
        })?,
        None => repo
            .index()
            .map_err(|e| anyhow::anyhow!("cannot read the index ({})", e.message()))?,
    };
    let mut options = DiffOptions::new();
    options.include_typechange(true);
    let diff = repo
        .diff_tree_to_index(head_tree, Some(&index), Some(&mut options))
        .map_err(|e| anyhow::anyhow!("cannot compare the index with HEAD ({})", e.message()))?;
    let mut changes = Vec::new();
    for delta in diff.deltas() {
        let status = match delta.status() {
            Delta::Added | Delta::Renamed | Delta::Copied => Status::Added,
            Delta::Modified => Status::Modified,
            Delta::Typechange => Status::Typechange,
            _ => continue,
        };
        let new = delta.new_file();
        let Some(path) = new.path() else { continue };
        let old = delta.old_file();
        changes.push(Change {
            status,
            path: super::tree::display_path(path),
            new: new.id(),
            new_mode: u32::from(new.mode()),
            old: (status == Status::Modified && !old.id().is_zero())
                .then(|| (old.id(), u32::from(old.mode()))),
        });
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_records_are_parsed_and_deletions_left_out() {
        let a = "1".repeat(40);
        let b = "2".repeat(40);
        let z = "0".repeat(40);
        let out = format!(
            ":100644 100644 {a} {b} M\0dir/app.env\0:000000 100644 {z} {b} A\0new file\0\
             :100644 000000 {a} {z} D\0gone\0:100644 120000 {a} {b} T\0link\0"
        );
        let changes = parse_raw(out.as_bytes()).unwrap();
        let paths: Vec<(&str, Status)> = changes
            .iter()
            .map(|c| (c.path.as_str(), c.status))
            .collect();
        assert_eq!(
            paths,
            [
                ("dir/app.env", Status::Modified),
                ("new file", Status::Added),
                ("link", Status::Typechange)
            ]
        );
        assert_eq!(changes[0].old, Some((Oid::from_str(&a).unwrap(), 0o100644)));
        assert_eq!(changes[1].old, None);
        assert_eq!(changes[2].new_mode, crate::source::git::MODE_LINK);
        // Something unknown: the libgit2 diff is used instead.
        assert!(parse_raw(format!(":100644 100644 {a} {b} R100\0x\0y\0").as_bytes()).is_none());
    }
}
