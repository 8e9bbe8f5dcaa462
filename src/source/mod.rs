//! Where blobs come from: a working tree, git history, or the staged index.
//! Each source turns its input into findings with [`crate::blob`] and counts what it
//! read, skipped and could not read, so nothing is lost silently.

pub mod git;
pub mod index_diff;
pub mod skips;
pub mod staged;
pub mod tree;

use crate::finding::Finding;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Something that could not be read. The scan goes on; the report lists it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ScanError {
    /// The file, or `None` when the error is about a git object or ref.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A git object id or ref, when that is what failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    pub message: String,
}

impl ScanError {
    pub fn at_path(path: impl Into<String>, message: impl Into<String>) -> Self {
        ScanError {
            path: Some(path.into()),
            object: None,
            message: message.into(),
        }
    }

    pub fn at_object(object: impl Into<String>, message: impl Into<String>) -> Self {
        ScanError {
            path: None,
            object: Some(object.into()),
            message: message.into(),
        }
    }
}

/// Counters every source fills in.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(default)]
pub struct Stats {
    /// Files (or blobs, or staged files) whose content was scanned.
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    /// Skipped because the content looked binary (a NUL byte near the start).
    pub skipped_binary: u64,
    /// Skipped because larger than the size limit.
    pub skipped_too_large: u64,
    /// Symbolic links not followed (pass `--follow` to follow them).
    pub skipped_symlinks: u64,
    /// FIFOs, devices and sockets met in a walked directory: never read (a FIFO can
    /// block forever, /dev/zero never ends).
    pub skipped_special: u64,
    /// Untracked paths a `.gitignore` matches (a pruned directory counts once).
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped_gitignore: u64,
    /// Untracked paths `.git/info/exclude` or git's global excludes file matches.
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped_git_exclude: u64,
    /// Paths a `.leakscopeignore` matches, tracked or not.
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped_leakscopeignore: u64,
    /// Paths `.ignore` or `.rgignore` matches (with `--respect-dot-ignore`).
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped_dot_ignore: u64,
    /// Paths `--exclude` (or `[scan] exclude`) matches.
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped_excluded: u64,
    /// Of the ignored paths above, directories not entered (each counted once, the
    /// files under it not at all).
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped_ignored_dirs: u64,
    /// Commits walked (history scans only).
    #[serde(skip_serializing_if = "is_zero")]
    pub commits_scanned: u64,
    /// Git blobs read from the object database (history scans only): each distinct blob
    /// is read once, however many commits and paths share it.
    #[serde(skip_serializing_if = "is_zero")]
    pub blobs_read: u64,
    /// Members of archives and compressed files scanned (their files count once in
    /// `files_scanned`, their decompressed bytes in `bytes_scanned`).
    #[serde(skip_serializing_if = "is_zero")]
    pub archive_members: u64,
    /// Archive members skipped because their content looked binary.
    #[serde(skip_serializing_if = "is_zero")]
    pub archive_members_binary: u64,
    /// Archives not read whole: past `--max-decompressed-size` or nested deeper than
    /// `--max-archive-depth` (each named in the notes).
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped_archives: u64,
}

/// Sums two sources' counts (a repository and its submodules, shards of an audit). The
/// destructuring is exhaustive: a counter added to [`Stats`] cannot be forgotten here.
impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, other: Stats) {
        let Stats {
            files_scanned,
            bytes_scanned,
            skipped_binary,
            skipped_too_large,
            skipped_symlinks,
            skipped_special,
            skipped_gitignore,
            skipped_git_exclude,
            skipped_leakscopeignore,
            skipped_dot_ignore,
            skipped_excluded,
            skipped_ignored_dirs,
            commits_scanned,
            blobs_read,
            archive_members,
            archive_members_binary,
            skipped_archives,
        } = other;
        self.files_scanned += files_scanned;
        self.bytes_scanned += bytes_scanned;
        self.skipped_binary += skipped_binary;
        self.skipped_too_large += skipped_too_large;
        self.skipped_symlinks += skipped_symlinks;
        self.skipped_special += skipped_special;
        self.skipped_gitignore += skipped_gitignore;
        self.skipped_git_exclude += skipped_git_exclude;
        self.skipped_leakscopeignore += skipped_leakscopeignore;
        self.skipped_dot_ignore += skipped_dot_ignore;
        self.skipped_excluded += skipped_excluded;
        self.skipped_ignored_dirs += skipped_ignored_dirs;
        self.commits_scanned += commits_scanned;
        self.blobs_read += blobs_read;
        self.archive_members += archive_members;
        self.archive_members_binary += archive_members_binary;
        self.skipped_archives += skipped_archives;
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What a source gives back.
#[derive(Debug, Default)]
pub struct ScanOutcome {
    pub findings: Vec<Finding>,
    pub stats: Stats,
    pub errors: Vec<ScanError>,
    /// Facts the user must know to read the result right (e.g. "shallow clone: history
    /// is partial", "nothing was scanned").
    pub notes: Vec<String>,
    /// History scans: what the history says about each secret as a whole (where it is
    /// now, which refs still reach it), by fingerprint.
    pub history: std::collections::BTreeMap<String, git::facts::SecretHistory>,
    /// History and staged scans: the repository scanned (its working tree, or its git
    /// directory when bare), so verify and revoke can read secrets back from its blobs.
    pub repository: Option<std::path::PathBuf>,
    /// Tree scans with `--explain-skips`: each path left out, with its reason.
    pub skipped: Vec<skips::Skipped>,
}

impl ScanOutcome {
    /// Counts an archive read whole in memory or from one stream (a staged file, stdin),
    /// keeps its findings and files its issues: unreadable members are errors, limits
    /// reached are skips named in the notes.
    pub fn add_archive(&mut self, scanned: crate::blob::StreamScan) {
        debug_assert!(scanned.archive);
        self.stats.files_scanned += 1;
        self.stats.bytes_scanned += scanned.bytes;
        self.stats.archive_members += scanned.members;
        self.stats.archive_members_binary += scanned.binary_members;
        let (mut errors, skips) = crate::archive::sort_issues(scanned.issues);
        self.stats.skipped_archives += skips.len() as u64;
        self.errors.append(&mut errors);
        self.notes.extend(skips);
        self.findings.extend(scanned.findings);
    }

    /// Counts one blob streamed outside a tree walk (a staged file, stdin) as the tree
    /// walker counts a file: an archive as [`ScanOutcome::add_archive`]; a binary blob as
    /// a binary skip, and an archive too deep to open (`--max-archive-depth 0`) as an
    /// archive skip too, named in the notes; text as scanned, with its findings.
    pub fn add_stream(&mut self, mut scanned: crate::blob::StreamScan) {
        if scanned.archive {
            return self.add_archive(scanned);
        }
        if scanned.binary {
            self.stats.skipped_binary += 1;
            let (mut errors, skips) = crate::archive::sort_issues(scanned.issues);
            self.stats.skipped_archives += skips.len() as u64;
            self.errors.append(&mut errors);
            self.notes.extend(skips);
            return;
        }
        self.stats.files_scanned += 1;
        self.stats.bytes_scanned += scanned.bytes;
        self.findings.append(&mut scanned.findings);
    }
}

#[cfg(test)]
mod tests {
    use super::Stats;

    #[test]
    fn stats_add_every_counter() {
        // Every field of the schema set to 1, so a new counter is covered without a line
        // here; the sum must show 2 for each.
        let schema = serde_json::to_value(schemars::schema_for!(Stats)).unwrap();
        let names: Vec<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert!(names.len() >= 17, "{names:?}");
        let ones: serde_json::Map<String, serde_json::Value> =
            names.iter().map(|n| (n.clone(), 1.into())).collect();
        let one: Stats = serde_json::from_value(serde_json::Value::Object(ones)).unwrap();
        let mut sum = one.clone();
        sum += one;
        let summed = serde_json::to_value(&sum).unwrap();
        for name in &names {
            assert_eq!(summed[name], 2, "{name}");
        }
    }
}
