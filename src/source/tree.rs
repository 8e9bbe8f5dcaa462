//! The working-tree source: a parallel, ignore-aware walk that reads each file once.
//!
//! Recall comes first. Hidden files (`.env`, `.condarc`) are scanned, `vendor/`, lock
//! files and minified files are scanned, and binary files are recognised by content,
//! not by name. Only `.git/` is never entered. What is left out is decided in
//! [`super::skips`]: untracked files that `.gitignore`, `.git/info/exclude` or git's
//! global excludes match, whatever `.leakscopeignore` matches, `.ignore`/`.rgignore`
//! only with `--respect-dot-ignore`, nothing with `--no-ignore`; every skip is counted
//! by reason, and listed with `--explain-skips`.

use super::skips::{Rules, SkipLog, SkipReason};
use super::{ScanError, ScanOutcome, Stats};
use crate::blob::{scan_reader, Origin};
use crate::finding::{Finding, Location};
use crate::matcher::Matcher;
use ignore::{WalkBuilder, WalkState};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct TreeOptions {
    /// Honour no ignore file at all (`.git/` is still never entered).
    pub no_ignore: bool,
    /// Also honour `.ignore` and `.rgignore` (search-tool files, not git's).
    pub respect_dot_ignore: bool,
    /// Keep each skipped path with its reason (`--explain-skips`), not only counts.
    pub explain_skips: bool,
    /// Follow symbolic links (loops are detected and reported).
    pub follow_links: bool,
    /// Worker threads; 0 = one per core.
    pub threads: usize,
    /// Paths to leave out, as gitignore-style globs.
    pub exclude: Vec<String>,
    /// Files larger than this are skipped and counted (None = no limit).
    pub max_file_size: Option<u64>,
    /// Show files and bytes scanned on stderr while the scan runs.
    pub progress: bool,
}

/// A root that cannot be scanned at all: the whole command fails (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RootError {
    pub path: String,
    pub message: String,
}

/// One file the walk yielded.
pub struct WalkedFile<'a> {
    pub path: &'a Path,
    /// The path as reports show it: relative to the working directory as given, `/`
    /// separated, without a leading `./`.
    pub display: String,
}

/// Every error a walk met (unreadable directory, symlink loop, bad glob), per path.
#[derive(Default)]
pub struct WalkErrors(pub Mutex<Vec<ScanError>>);

/// Walks `roots` in parallel, calling `visit` for each regular file (and, with
/// `follow_links`, each file behind a link). Explicit file roots are always visited,
/// even when an ignore file would skip them, as ripgrep does. Symbolic links not
/// followed and special files (FIFOs, devices, sockets: reading them could block or
/// never end) met in a directory are counted in `counters`; a special file named as a
/// root is an error.
pub fn walk<F>(
    roots: &[PathBuf],
    options: &TreeOptions,
    counters: &Counters,
    visit: F,
) -> Result<Vec<ScanError>, RootError>
where
    F: Fn(WalkedFile<'_>) + Sync,
{
    for root in roots {
        match std::fs::metadata(root) {
            Err(e) => {
                return Err(RootError {
                    path: root.display().to_string(),
                    message: format!("cannot scan: {e}"),
                })
            }
            Ok(meta) if !meta.is_file() && !meta.is_dir() => {
                return Err(RootError {
                    path: root.display().to_string(),
                    message: format!(
                        "cannot scan: {}, not a file or directory (special files are not read)",
                        crate::input::file_kind(&meta.file_type())
                    ),
                })
            }
            Ok(_) => {}
        }
    }
    let Some((first, rest)) = roots.split_first() else {
        return Ok(Vec::new());
    };
    let mut builder = WalkBuilder::new(first);
    for root in rest {
        builder.add(root);
    }
    builder
        .hidden(false)
        .follow_links(options.follow_links)
        .threads(options.threads)
        // Every ignore decision is ours (skips.rs), so that each skip is counted.
        .git_ignore(false)
        .git_global(false)
        .git_exclude(false)
        .ignore(false)
        .parents(false)
        .require_git(false);
    let exclude = if options.exclude.is_empty() {
        None
    } else {
        let mut overrides = ignore::overrides::OverrideBuilder::new(".");
        for glob in &options.exclude {
            overrides.add(&format!("!{glob}")).map_err(|e| RootError {
                path: format!("--exclude {glob}"),
                message: e.to_string(),
            })?;
        }
        Some(overrides.build().map_err(|e| RootError {
            path: "--exclude".into(),
            message: e.to_string(),
        })?)
    };
    let rules = Arc::new(Rules::new(
        roots,
        options.no_ignore,
        options.respect_dot_ignore,
        exclude,
        counters.skips.clone(),
    ));
    let filter = rules.clone();
    builder.filter_entry(move |entry| filter.admit(entry));
    let errors = WalkErrors::default();
    builder.build_parallel().run(|| {
        Box::new(|entry| {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    record_walk_error(&errors, err);
                    return WalkState::Continue;
                }
            };
            let Some(file_type) = entry.file_type() else {
                return WalkState::Continue;
            };
            if file_type.is_symlink() {
                // Only reached without --follow: the walker resolves links otherwise.
                counters.skip(SkipReason::Symlink, entry.path());
                return WalkState::Continue;
            }
            if !file_type.is_file() {
                if !file_type.is_dir() {
                    counters.skip(SkipReason::Special, entry.path());
                }
                return WalkState::Continue;
            }
            visit(WalkedFile {
                path: entry.path(),
                display: display_path(entry.path()),
            });
            WalkState::Continue
        })
    });
    let mut errors = errors.0.into_inner().unwrap_or_else(|e| e.into_inner());
    errors.extend(rules.take_errors());
    Ok(errors)
}

fn record_walk_error(errors: &WalkErrors, err: ignore::Error) {
    let (path, message) = split_walk_error(&err);
    let mut list = errors.0.lock().unwrap_or_else(|e| e.into_inner());
    list.push(ScanError {
        path,
        object: None,
        message,
    });
}

/// ignore's errors wrap the path and line around the cause; pull the path out so
/// reports can list it as a field.
fn split_walk_error(err: &ignore::Error) -> (Option<String>, String) {
    match err {
        ignore::Error::WithPath { path, err } => {
            (Some(display_path(path)), split_walk_error(err).1)
        }
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            split_walk_error(err)
        }
        ignore::Error::Loop { child, ancestor } => (
            Some(display_path(child)),
            format!(
                "symbolic link loop (points back to {})",
                display_path(ancestor)
            ),
        ),
        other => (None, other.to_string()),
    }
}

/// The bytes of a path that is not valid UTF-8, in hex (as shown, without a leading
/// `./`), so a report can name the file exactly; `None` for a UTF-8 path.
pub fn path_bytes(path: &Path) -> Option<String> {
    if path.to_str().is_some() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        let bytes = bytes.strip_prefix(b"./").unwrap_or(bytes);
        Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

pub fn display_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let text = text.strip_prefix("./").unwrap_or(&text);
    if std::path::MAIN_SEPARATOR == '\\' {
        text.replace('\\', "/")
    } else {
        text.to_string()
    }
}

/// Scans every file under `roots`.
pub fn scan_tree(
    matcher: &Matcher,
    roots: &[PathBuf],
    options: &TreeOptions,
) -> Result<ScanOutcome, RootError> {
    let findings: Mutex<Vec<Finding>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<ScanError>> = Mutex::new(Vec::new());
    let archive_notes: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let counters = Counters::new(options.explain_skips);
    let spinner = options.progress.then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    });
    let walk_errors = walk(roots, options, &counters, |file| {
        thread_local! {
            static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let raw_path = path_bytes(file.path);
        let mut in_name = path_findings(matcher, &file.display);
        for f in &mut in_name {
            f.path_bytes.clone_from(&raw_path);
        }
        if !in_name.is_empty() {
            findings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .append(&mut in_name);
        }
        BUFFER.with(|buffer| {
            let mut buffer = buffer.borrow_mut();
            match scan_file(matcher, &file, options, &mut buffer, &counters) {
                Ok((mut found, issues)) => {
                    if !issues.is_empty() {
                        let (mut unreadable, mut skips) = crate::archive::sort_issues(issues);
                        lock(&errors).append(&mut unreadable);
                        lock(&archive_notes).append(&mut skips);
                    }
                    if !found.is_empty() {
                        for f in &mut found {
                            f.path_bytes.clone_from(&raw_path);
                        }
                        lock(&findings).append(&mut found);
                    }
                }
                Err(message) => errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(ScanError::at_path(file.display.clone(), message)),
            }
            if let Some(bar) = &spinner {
                let files = counters.files.load(Ordering::Relaxed);
                if files % 256 == 0 {
                    let bytes = counters.bytes.load(Ordering::Relaxed);
                    bar.set_message(format!("{files} files, {}", crate::ui::human_bytes(bytes)));
                }
            }
            // Do not keep a huge buffer alive after one huge file.
            if buffer.capacity() > 2 * crate::blob::CHUNK_SIZE {
                *buffer = Vec::new();
            }
        });
    })?;
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    let mut errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
    errors.extend(walk_errors);
    errors.sort_by(|a, b| a.path.cmp(&b.path).then(a.message.cmp(&b.message)));
    let mut findings = findings.into_inner().unwrap_or_else(|e| e.into_inner());
    findings.sort_by_key(|f| f.sort_key());
    let mut notes = archive_notes
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    notes.sort();
    let skipped = counters.skips.take_list();
    let stats = counters.into_stats();
    if stats.files_scanned == 0 {
        notes.push("no file was scanned".to_string());
    }
    Ok(ScanOutcome {
        findings,
        stats,
        errors,
        notes,
        skipped,
        ..ScanOutcome::default()
    })
}

/// What a walk read and skipped, counted from every worker thread.
#[derive(Default)]
pub struct Counters {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
    pub binary: AtomicU64,
    pub too_large: AtomicU64,
    pub skipped_symlinks: AtomicU64,
    pub skipped_special: AtomicU64,
    pub archive_members: AtomicU64,
    pub archive_members_binary: AtomicU64,
    pub skipped_archives: AtomicU64,
    /// Every skip of a tree walk, by reason (and by path with `--explain-skips`).
    pub skips: Arc<SkipLog>,
}

impl Counters {
    /// Counters that also keep each skipped path when `explain`.
    pub fn new(explain: bool) -> Counters {
        Counters {
            skips: Arc::new(SkipLog::new(explain)),
            ..Counters::default()
        }
    }

    /// One path left out of a tree walk, for `reason`.
    pub fn skip(&self, reason: SkipReason, path: &Path) {
        self.skips.skip(reason, path);
    }

    /// One file or blob read: counted as skipped-binary, or as scanned with its bytes.
    pub fn record(&self, binary: bool, bytes: u64) {
        if binary {
            self.binary.fetch_add(1, Ordering::Relaxed);
        } else {
            self.files.fetch_add(1, Ordering::Relaxed);
            self.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// One streamed file or blob: [`Counters::record`], and [`Counters::record_archive`].
    pub fn record_scan(&self, scanned: &crate::blob::StreamScan) {
        self.record(scanned.binary && !scanned.archive, scanned.bytes);
        self.record_archive(scanned);
    }

    /// A streamed file's archive members, and the archives it holds that a limit kept
    /// from being read whole (nothing for a plain file).
    pub fn record_archive(&self, scanned: &crate::blob::StreamScan) {
        self.archive_members
            .fetch_add(scanned.members, Ordering::Relaxed);
        self.archive_members_binary
            .fetch_add(scanned.binary_members, Ordering::Relaxed);
        let skipped = scanned.issues.iter().filter(|i| i.kind.is_skip()).count();
        self.skipped_archives
            .fetch_add(skipped as u64, Ordering::Relaxed);
    }

    pub fn into_stats(self) -> Stats {
        use SkipReason::*;
        let log = &self.skips;
        let both = |file: SkipReason, dir: SkipReason| log.count(file) + log.count(dir);
        Stats {
            files_scanned: self.files.into_inner(),
            bytes_scanned: self.bytes.into_inner(),
            archive_members: self.archive_members.into_inner(),
            archive_members_binary: self.archive_members_binary.into_inner(),
            skipped_archives: self.skipped_archives.into_inner(),
            skipped_binary: self.binary.into_inner() + log.count(Binary),
            skipped_too_large: self.too_large.into_inner() + log.count(TooLarge),
            skipped_symlinks: self.skipped_symlinks.into_inner() + log.count(Symlink),
            skipped_special: self.skipped_special.into_inner() + log.count(Special),
            skipped_gitignore: both(Gitignore, GitignoreDir),
            skipped_git_exclude: both(GitExclude, GitExcludeDir),
            skipped_leakscopeignore: both(Leakscopeignore, LeakscopeignoreDir),
            skipped_dot_ignore: both(DotIgnore, DotIgnoreDir),
            skipped_excluded: both(Exclude, ExcludeDir),
            skipped_ignored_dirs: [
                GitignoreDir,
                GitExcludeDir,
                LeakscopeignoreDir,
                DotIgnoreDir,
                ExcludeDir,
            ]
            .into_iter()
            .map(|r| log.count(r))
            .sum(),
            ..Stats::default()
        }
    }
}

/// Secrets in a file's name (`keys/ghp_….txt`): a path is shown in every report, so a
/// token in it is a finding of its own, at location `path`, and every report redacts it.
/// Path-restricted rules do not run on names: they are about a file's content.
pub fn path_findings(matcher: &Matcher, display: &str) -> Vec<Finding> {
    let origin = Origin {
        path: None,
        location: crate::finding::Location::Path,
    };
    let mut found = crate::blob::scan_bytes(matcher, display.as_bytes(), origin);
    for f in &mut found {
        f.path = Some(display.to_string());
    }
    found
}

fn scan_file(
    matcher: &Matcher,
    file: &WalkedFile<'_>,
    options: &TreeOptions,
    buffer: &mut Vec<u8>,
    counters: &Counters,
) -> Result<(Vec<Finding>, Vec<crate::archive::Issue>), String> {
    let mut handle = std::fs::File::open(file.path).map_err(|e| format!("cannot open: {e}"))?;
    if let Some(limit) = options.max_file_size {
        let len = handle
            .metadata()
            .map_err(|e| format!("cannot stat: {e}"))?
            .len();
        if len > limit {
            counters.skip(SkipReason::TooLarge, file.path);
            return Ok((Vec::new(), Vec::new()));
        }
    }
    let origin = Origin {
        path: Some(&file.display),
        location: Location::File,
    };
    let scanned = scan_reader(matcher, &mut handle, origin, buffer)
        .map_err(|e| format!("cannot read: {e}"))?;
    if scanned.binary && !scanned.archive {
        counters.skip(SkipReason::Binary, file.path);
    } else {
        counters.record(false, scanned.bytes);
    }
    // An archive too deep to open is a binary skip and an archive skip, as it is inside
    // another archive.
    counters.record_archive(&scanned);
    Ok((scanned.findings, scanned.issues))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
