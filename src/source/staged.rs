//! Staged scans (`scan --staged`): what the next commit would add, before it exists.
//!
//! The index is compared with HEAD's tree (or with nothing, before the first commit).
//! Each added, modified or renamed file is read from the index, not the working tree, so
//! unstaged edits neither hide nor invent anything, and its findings are kept only on
//! the lines the index adds. Line numbers are those of the staged file, as committed.
//!
//! A rename is a new path: without rename detection every line of a renamed file counts
//! as added, so a token moved to a new place is caught before it is committed there.
//!
//! File arguments come from the pre-commit framework, which passes file names. Each is
//! checked: a file that is part of the staged change is judged by its added lines; any
//! other file (the `pre-commit run --all-files` case, where nothing is staged) is
//! scanned whole as a file. So the hook never passes because it looked at nothing.

use super::git::{MODE_GITLINK, MODE_LINK};
use super::index_diff::{self, Status};
use super::{ScanError, ScanOutcome};
use crate::blob::{looks_binary, scan_bytes, scan_reader, Origin};
use crate::finding::{Finding, Location};
use crate::matcher::Matcher;
use anyhow::Context;
use git2::ErrorCode;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Scans the staged change of the repository that holds `repo_path`. With `files`, only
/// those files are checked (relative to the current directory), as described above.
pub fn scan_staged(
    matcher: &Matcher,
    repo_path: &Path,
    files: &[PathBuf],
) -> anyhow::Result<ScanOutcome> {
    let repo = crate::source::git::discover_repo(repo_path)?;
    crate::source::git::skip_object_rehash();
    let Some(workdir) = repo.workdir().map(Path::to_path_buf) else {
        anyhow::bail!(
            "{}: --staged needs a working tree (this is a bare repository)",
            repo_path.display()
        );
    };
    let head_tree = match repo.head() {
        Ok(head) => Some(
            head.peel_to_tree()
                .map_err(|e| anyhow::anyhow!("HEAD: cannot read its tree ({})", e.message()))?,
        ),
        // Before the first commit everything in the index is new.
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => None,
        Err(e) => anyhow::bail!("HEAD: cannot resolve ({})", e.message()),
    };
    let index_file = index_diff::index_file_override()?;
    let changes =
        index_diff::staged_changes(&repo, &workdir, head_tree.as_ref(), index_file.as_deref())?;

    // Repository-relative path of each file argument → the argument as given.
    let wanted: HashMap<String, PathBuf> = files
        .iter()
        .map(|f| (relative_to(&workdir, f), f.clone()))
        .collect();
    let mut handled: BTreeSet<String> = BTreeSet::new();
    let mut outcome = ScanOutcome {
        repository: Some(std::fs::canonicalize(&workdir).unwrap_or_else(|_| workdir.clone())),
        ..ScanOutcome::default()
    };
    let mut staged_files = 0u64;

    for change in &changes {
        let path = change.path.clone();
        if !files.is_empty() && !wanted.contains_key(&path) {
            continue;
        }
        handled.insert(path.clone());
        // A new name (added, renamed, copied) is committed too: a token in it is a
        // finding, whatever the content.
        if change.status != Status::Modified {
            outcome
                .findings
                .extend(super::tree::path_findings(matcher, &path));
        }
        match change.new_mode {
            MODE_LINK => {
                outcome.stats.skipped_symlinks += 1;
                continue;
            }
            MODE_GITLINK => continue, // a submodule pointer, not content
            _ => {}
        }
        staged_files += 1;
        let blob = match repo.find_blob(change.new) {
            Ok(b) => b,
            Err(e) => {
                outcome.errors.push(ScanError::at_path(
                    path,
                    format!(
                        "cannot read the staged blob {}: {}",
                        change.new,
                        e.message()
                    ),
                ));
                continue;
            }
        };
        let content = blob.content();
        let origin = Origin {
            path: Some(&path),
            location: Location::Staged,
        };
        // An archive staged whole: every member is new.
        if let Some(scanned) = crate::archive::scan_blob(matcher, content, origin) {
            outcome.add_stream(scanned);
            continue;
        }
        if looks_binary(content) {
            outcome.stats.skipped_binary += 1;
            continue;
        }
        outcome.stats.files_scanned += 1;
        outcome.stats.bytes_scanned += content.len() as u64;
        let mut found = scan_bytes(matcher, content, origin);
        if found.is_empty() {
            continue;
        }
        // Only a modified file has lines that were there before; an added, renamed or
        // copied path is new in full.
        if let Some((old, old_mode)) = change.old {
            if old_mode != MODE_LINK {
                match super::git::commits::added_lines(&repo, old, change.new) {
                    Ok(added) => found.retain(|f| added.contains(&f.line)),
                    Err(e) => outcome.errors.push(ScanError::at_path(
                        path.clone(),
                        format!(
                            "cannot diff with HEAD ({}); every line was kept",
                            e.message()
                        ),
                    )),
                }
            }
        }
        outcome.findings.append(&mut found);
    }

    // File arguments outside the staged change: scanned whole, from the working tree.
    let mut buffer = Vec::new();
    let mut extra_files = 0u64;
    for (relative, given) in &wanted {
        if handled.contains(relative) {
            continue;
        }
        extra_files += 1;
        scan_file(matcher, given, relative, &mut buffer, &mut outcome);
    }

    outcome.findings.sort_by_key(Finding::sort_key);
    if outcome.stats.files_scanned == 0 {
        outcome.notes.push(if files.is_empty() {
            if staged_files == 0 {
                format!(
                    "nothing was scanned: the index adds no file relative to {} (stage changes with `git add`)",
                    if head_tree.is_some() { "HEAD" } else { "the empty repository" }
                )
            } else {
                format!("nothing was scanned: the {staged_files} staged file(s) are binary or unreadable")
            }
        } else {
            format!(
                "nothing was scanned: none of the {} file(s) given holds text that could be read",
                files.len()
            )
        });
    } else if extra_files > 0 {
        outcome.notes.push(format!(
            "{extra_files} file(s) given are not part of the staged change and were scanned whole"
        ));
    }
    Ok(outcome)
}

/// Scans one file argument that is not part of the staged change, from the working tree.
fn scan_file(
    matcher: &Matcher,
    given: &Path,
    relative: &str,
    buffer: &mut Vec<u8>,
    outcome: &mut ScanOutcome,
) {
    let shown = super::tree::display_path(given);
    let meta = match std::fs::symlink_metadata(given) {
        Ok(m) => m,
        Err(e) => {
            outcome
                .errors
                .push(ScanError::at_path(shown, format!("cannot scan: {e}")));
            return;
        }
    };
    if meta.file_type().is_symlink() {
        outcome.stats.skipped_symlinks += 1;
        return;
    }
    if !meta.is_file() {
        outcome.errors.push(ScanError::at_path(
            shown,
            "not a file (with --staged, arguments are files to check)",
        ));
        return;
    }
    let result = std::fs::File::open(given)
        .with_context(|| "cannot open".to_string())
        .and_then(|mut file| {
            let origin = Origin {
                path: Some(relative),
                location: Location::File,
            };
            scan_reader(matcher, &mut file, origin, buffer).context("cannot read")
        });
    match result {
        Ok(scanned) => outcome.add_stream(scanned),
        Err(e) => outcome
            .errors
            .push(ScanError::at_path(shown, format!("{e:#}"))),
    }
}

/// `file` (relative to the current directory, or absolute) as a path relative to the
/// repository's working tree, `/`-separated, the way the index names it.
fn relative_to(workdir: &Path, file: &Path) -> String {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let canonical_root = workdir
        .canonicalize()
        .unwrap_or_else(|_| workdir.to_path_buf());
    let canonical_file = absolute
        .parent()
        .and_then(|p| p.canonicalize().ok())
        .and_then(|p| absolute.file_name().map(|n| p.join(n)))
        .unwrap_or_else(|| absolute.clone());
    let relative = canonical_file
        .strip_prefix(&canonical_root)
        .or_else(|_| absolute.strip_prefix(workdir))
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| file.to_path_buf());
    display(&relative)
}

fn display(path: &Path) -> String {
    super::tree::display_path(path)
}
