//! History scans (`scan --git`): every blob reachable from the repository's refs, read
//! and scanned exactly once, each finding named after the commit that introduced it.
//!
//! The work is split in three steps:
//! 1. [`walk`] enumerates commits (all refs, oldest first; or only the commits
//!    a `--range` / `--since` / `--branch` selects) and maps each distinct blob to the
//!    oldest commit and path that carry it. Commit and tag messages are scanned there.
//! 2. While the walk goes on, batches of newly discovered blobs go to a thread pool;
//!    each worker opens its own `git2::Repository` (it is not `Sync`), reads each blob
//!    once and runs the matcher over it.
//! 3. For the few blobs that hold a secret, [`super::walk::count_occurrences`]
//!    counts the other commits and paths that carry them, and each finding gets its
//!    [`CommitInfo`].

pub mod commits;
pub mod count;
pub mod facts;
pub mod ids;
pub mod order;
pub mod packs;
pub mod paths;
pub mod raw_tree;
pub mod refs;
pub mod walk;

use super::tree::Counters;
use super::{ScanError, ScanOutcome};
use crate::blob::{looks_binary, scan_bytes, Origin};
use crate::finding::{CommitInfo, Finding, Location};
use crate::matcher::Matcher;
use anyhow::Context;
use git2::{Oid, Repository};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;
use walk::{BlobEntry, Selection, Walk};

/// Blobs larger than this are skipped (and counted) unless `--max-blob-size` says otherwise.
pub const DEFAULT_MAX_BLOB_SIZE: u64 = 256 << 20;
/// Blobs from this size on are streamed when the object database can (loose objects).
const STREAM_THRESHOLD: usize = 16 << 20;
/// Bytes of blobs read whole (packed ones: libgit2 cannot stream them) that all workers
/// together hold at once. A blob takes its size from this budget (at most all of it)
/// before it is inflated and gives it back once scanned, so the blobs in memory add up
/// to at most max(this, `--max-blob-size`) whatever `-j` is.
pub const IN_FLIGHT_BYTES: u64 = 256 << 20;
/// Blobs handed to a worker at once: large enough to amortise the hand-off, small
/// enough that both cores stay busy while the walk is still discovering blobs.
const BATCH: usize = 128;

/// How a history scan runs: the plain options `scan --git` (and `ci`, `org scan`) set.
#[derive(Debug, Clone, Default)]
pub struct HistoryOptions {
    /// Also scan objects no ref reaches (dangling commits, trees, blobs).
    pub all_objects: bool,
    /// Only blobs introduced by commits not reachable from this revision.
    pub since: Option<String>,
    /// Only blobs introduced by the commits of `A..B`.
    pub range: Option<String>,
    /// Only blobs introduced by commits on this branch.
    pub branch: Option<String>,
    /// Skip (and count) larger blobs; `None` is [`DEFAULT_MAX_BLOB_SIZE`].
    pub max_blob_size: Option<u64>,
    /// Also scan the history of each checked-out submodule.
    pub submodules: bool,
    /// Worker threads (0 = one per core).
    pub threads: usize,
}

/// One blob handed to a worker: its index in the walk's blob table, its id and the path
/// that decides which path-restricted rules apply.
struct BlobJob {
    index: u32,
    oid: Oid,
    path: Option<Arc<str>>,
}

/// What the workers share and add to.
struct Shared<'a> {
    matcher: &'a Matcher,
    git_dir: PathBuf,
    max_blob_size: u64,
    /// (blob index, findings made with the blob's first path)
    findings: Mutex<Vec<(u32, Vec<Finding>)>>,
    errors: Mutex<Vec<ScanError>>,
    /// Archives in blobs not read whole (a limit reached): skips, named in the notes.
    archive_skips: Mutex<Vec<String>>,
    blobs_read: AtomicU64,
    counters: Counters,
    progress: ProgressBar,
    budget: Budget,
}

/// The shared byte budget of [`IN_FLIGHT_BYTES`].
struct Budget {
    left: Mutex<u64>,
    freed: Condvar,
    total: u64,
}

/// Bytes taken from a [`Budget`], given back on drop.
struct Taken<'a> {
    budget: &'a Budget,
    bytes: u64,
}

impl Budget {
    fn new(total: u64) -> Budget {
        Budget {
            left: Mutex::new(total),
            freed: Condvar::new(),
            total,
        }
    }

    /// Waits until `bytes` (at most the whole budget) are free and takes them. No
    /// worker holds two grants, so every wait ends when some other blob is scanned.
    fn take(&self, bytes: u64) -> Taken<'_> {
        let bytes = bytes.min(self.total);
        let mut left = self.left.lock().unwrap_or_else(|e| e.into_inner());
        while *left < bytes {
            left = self.freed.wait(left).unwrap_or_else(|e| e.into_inner());
        }
        *left -= bytes;
        Taken {
            budget: self,
            bytes,
        }
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        let mut left = self.budget.left.lock().unwrap_or_else(|e| e.into_inner());
        *left += self.bytes;
        self.budget.freed.notify_all();
    }
}

thread_local! {
    /// One repository handle per worker thread: `git2::Repository` is `Send` but not
    /// `Sync`. The pool is built per scan, so the handle dies with its thread.
    static WORKER_REPO: RefCell<Option<(PathBuf, Repository)>> = const { RefCell::new(None) };
}

/// The repository at or above `path` (as git itself finds it), or an error naming `path`.
/// A repository that is found but cannot be opened (a corrupt `shallow` or
/// `info/grafts` file) is named as such, not as "not in a git repository".
pub fn discover_repo(path: &Path) -> anyhow::Result<Repository> {
    allow_partial_clones();
    Repository::discover(path).map_err(|e| {
        let Ok(git_dir) = Repository::discover_path(path, std::iter::empty::<&Path>()) else {
            return anyhow::anyhow!(
                "{}: not in a git repository ({})",
                path.display(),
                e.message()
            );
        };
        if e.message().contains("graft") {
            let common = common_dir(&git_dir);
            for file in [git_dir.join("shallow"), common.join("info/grafts")] {
                if file.is_file() {
                    return anyhow::anyhow!(
                        "{}: corrupt {} file, cannot open the repository ({})",
                        file.display(),
                        if file.ends_with("shallow") {
                            "shallow"
                        } else {
                            "grafts"
                        },
                        e.message()
                    );
                }
            }
        }
        anyhow::anyhow!(
            "{}: cannot open the repository ({})",
            git_dir.display(),
            e.message()
        )
    })
}

/// libgit2 refuses to open a repository that declares an extension it does not know,
/// and a partial clone declares `extensions.partialClone`. Its objects are ordinary
/// objects (the missing ones are missing, and reported so), so the scan can read it:
/// the extension is added to libgit2's list once, before any repository is opened.
/// git's modes for a symbolic link (its blob holds the link target, not content) and
/// a submodule (a gitlink: a commit of another repository, no blob at all).
pub const MODE_LINK: u32 = 0o120000;
pub const MODE_GITLINK: u32 = 0o160000;

/// Objects are checked by zlib's checksum as they are inflated; re-hashing every object
/// with SHA-1 on top (libgit2's default, a process-wide option) costs a fifth of a
/// history scan and a tenth of a staged one, and `git cat-file` does not do it either.
pub fn skip_object_rehash() {
    git2::opts::strict_hash_verification(false);
}

fn allow_partial_clones() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: libgit2's extension list is global; `Once` makes this the only
        // write, and it happens before this process opens any repository.
        let _ = unsafe { git2::opts::set_extensions(&["partialclone"]) };
    });
}

/// The common directory of a git directory (a linked worktree's `commondir` file
/// points at the main repository's).
fn common_dir(git_dir: &Path) -> PathBuf {
    match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(target) => git_dir.join(target.trim()),
        Err(_) => git_dir.to_path_buf(),
    }
}

/// Facts about the repository that change what a history scan can see, and damaged
/// pack files (see [`packs`]).
fn repository_checks(repo: &Repository) -> (Vec<ScanError>, Vec<String>) {
    let common = repo.commondir();
    let errors = packs::check_packs(&common.join("objects"));
    let mut notes = Vec::new();
    let grafts = common.join("info/grafts");
    if std::fs::metadata(&grafts).is_ok_and(|m| m.len() > 0) {
        notes.push(
            "info/grafts rewrites the parents of some commits: git shows the grafted history; the commits were scanned with their parents as stored, so what the grafts hide was scanned too"
                .into(),
        );
    }
    let partial = repo.config().ok().is_some_and(|config| {
        config.get_string("extensions.partialclone").is_ok()
            || config
                .entries(Some(r"remote\..*\.promisor"))
                .is_ok_and(|mut entries| {
                    let mut any = false;
                    while let Some(Ok(entry)) = entries.next() {
                        any |= entry.value().is_ok_and(|v| v.eq_ignore_ascii_case("true"));
                    }
                    any
                })
    });
    if partial {
        notes.push(
            "partial clone (promisor remote): objects not fetched yet are not in this repository; each one that is missing is listed as an error"
                .into(),
        );
    }
    (errors, notes)
}

/// Scans the history of the repository at or above `repo_path` (a working tree or any
/// directory in it, its `.git`, or a bare repository), found as git finds it. Finding
/// paths are relative to the repository's root, wherever `repo_path` points into it.
pub fn scan_history(
    matcher: &Matcher,
    repo_path: &Path,
    args: &HistoryOptions,
    progress: bool,
) -> anyhow::Result<ScanOutcome> {
    let repo = discover_repo(repo_path)?;
    let mut ref_errors = Vec::new();
    let selection = select(&repo, args, &mut ref_errors)?;
    let mut outcome = scan_selection(matcher, &repo, &selection, args, progress)?;
    outcome.errors.extend(ref_errors);
    Ok(outcome)
}

/// Scans the commits `selection` chooses in `repo` (the flags of `args` other than the
/// selection ones apply): what `scan --git` does once its flags are turned into a
/// selection, and what `leakscope ci` calls with the range its CI event names.
pub fn scan_selection(
    matcher: &Matcher,
    repo: &Repository,
    selection: &Selection,
    args: &HistoryOptions,
    progress: bool,
) -> anyhow::Result<ScanOutcome> {
    skip_object_rehash();
    let mut outcome = scan_repo(matcher, repo, selection, args, progress, "")?;
    let root = repo.workdir().unwrap_or_else(|| repo.path());
    outcome.repository = Some(std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf()));
    if args.submodules {
        scan_submodules(matcher, repo, args, progress, &mut outcome);
    }
    // Path and position first; the same place in several blobs, oldest commit first.
    outcome.findings.sort_by(|a, b| {
        let when = |f: &Finding| {
            f.commit
                .as_ref()
                .map(|c| (c.date.clone(), c.commit.clone()))
        };
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| when(a).cmp(&when(b)))
    });
    outcome.errors.sort_by(|a, b| {
        a.object
            .cmp(&b.object)
            .then(a.path.cmp(&b.path))
            .then(a.message.cmp(&b.message))
    });
    if outcome.stats.files_scanned == 0 && outcome.stats.commits_scanned == 0 {
        outcome.notes.push("no commit or blob was scanned".into());
    }
    Ok(outcome)
}

/// Turns `--range`, `--since`, `--branch` into the commits to scan. A revision that does
/// not resolve is an error naming the flag and the revision (exit 2).
fn select(
    repo: &Repository,
    args: &HistoryOptions,
    errors: &mut Vec<ScanError>,
) -> anyhow::Result<Selection> {
    if let Some(range) = &args.range {
        if range.contains("...") {
            anyhow::bail!("--range {range}: symmetric ranges (A...B) are not supported; use A..B");
        }
        let Some((from, to)) = range.split_once("..") else {
            anyhow::bail!("--range {range}: expected A..B (e.g. origin/main..HEAD)");
        };
        let from = if from.is_empty() { "HEAD" } else { from };
        let to = if to.is_empty() { "HEAD" } else { to };
        return Ok(Selection::Introduced {
            tips: vec![resolve(repo, "--range", to)?],
            hide: vec![resolve(repo, "--range", from)?],
        });
    }
    if args.since.is_none() && args.branch.is_none() {
        return Ok(Selection::All {
            all_objects: args.all_objects,
        });
    }
    let tips = match &args.branch {
        Some(name) => vec![resolve_branch(repo, name)?],
        None => {
            let tips = walk::ref_tips(repo);
            errors.extend(tips.errors);
            tips.commits
        }
    };
    let hide = match &args.since {
        Some(rev) => vec![resolve(repo, "--since", rev)?],
        None => Vec::new(),
    };
    Ok(Selection::Introduced { tips, hide })
}

pub fn resolve(repo: &Repository, flag: &str, rev: &str) -> anyhow::Result<Oid> {
    let object = repo
        .revparse_single(rev)
        .map_err(|e| anyhow::anyhow!("{flag} {rev}: unknown revision ({})", e.message()))?;
    let commit = object
        .peel_to_commit()
        .map_err(|e| anyhow::anyhow!("{flag} {rev}: not a commit ({})", e.message()))?;
    Ok(commit.id())
}

fn resolve_branch(repo: &Repository, name: &str) -> anyhow::Result<Oid> {
    for kind in [git2::BranchType::Local, git2::BranchType::Remote] {
        if let Ok(branch) = repo.find_branch(name, kind) {
            if let Ok(commit) = branch.get().peel_to_commit() {
                return Ok(commit.id());
            }
        }
    }
    anyhow::bail!("--branch {name}: no such branch (local or remote-tracking)")
}

/// Walks one repository and scans what the walk finds. `prefix` is put before paths (a
/// submodule's path inside its superproject).
fn scan_repo(
    matcher: &Matcher,
    repo: &Repository,
    selection: &Selection,
    args: &HistoryOptions,
    progress: bool,
    prefix: &str,
) -> anyhow::Result<ScanOutcome> {
    let bar = if progress {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} history: {pos}/{len} blobs, {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    } else {
        ProgressBar::hidden()
    };
    let shared = Shared {
        matcher,
        git_dir: repo.path().to_path_buf(),
        max_blob_size: args.max_blob_size.unwrap_or(DEFAULT_MAX_BLOB_SIZE),
        findings: Mutex::new(Vec::new()),
        errors: Mutex::new(Vec::new()),
        archive_skips: Mutex::new(Vec::new()),
        blobs_read: AtomicU64::new(0),
        counters: Counters::default(),
        progress: bar,
        budget: Budget::new(IN_FLIGHT_BYTES),
    };
    let threads = if args.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        args.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("leakscope-git-{i}"))
        .build()
        .context("cannot start worker threads")?;
    let (repo_errors, repo_notes) = repository_checks(repo);
    let started = Instant::now();
    let walk: Walk = pool.in_place_scope(|scope| {
        let mut batch: Vec<BlobJob> = Vec::with_capacity(BATCH);
        let shared = &shared;
        let walk = walk::walk(repo, matcher, selection, |index, entry: &BlobEntry| {
            batch.push(BlobJob {
                index,
                oid: entry.oid,
                path: entry.first.path.clone(),
            });
            shared.progress.inc_length(1);
            if batch.len() == BATCH {
                let jobs = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                scope.spawn(move |_| scan_batch(shared, jobs, started));
            }
        });
        if !batch.is_empty() {
            scan_batch(shared, batch, started);
        }
        walk
    });
    shared.progress.finish_and_clear();
    let Shared {
        findings,
        errors,
        archive_skips,
        blobs_read,
        counters,
        ..
    } = shared;
    let mut archive_skips = archive_skips
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    archive_skips.sort();
    let blob_findings = findings.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut blobs_read = blobs_read.into_inner();
    // A blob also met at a path where other path-restricted rules apply (rare): run
    // those rules on it too, keeping only what its earlier placements did not allow.
    let mut extra_findings: Vec<(u32, usize, Vec<Finding>)> = Vec::new();
    for (index, entry) in walk.entries.iter().enumerate() {
        for (n, extra) in entry.extra.iter().enumerate() {
            blobs_read += 1;
            match read_blob(repo, entry.oid) {
                Ok(data) if !looks_binary(&data) => {
                    let origin = Origin {
                        path: extra.path.as_deref(),
                        location: Location::Blob,
                    };
                    let found: Vec<Finding> = scan_bytes(matcher, &data, origin)
                        .into_iter()
                        .filter(|f| new_at_extra_placement(matcher, f, entry, n))
                        .collect();
                    if !found.is_empty() {
                        extra_findings.push((index as u32, n, found));
                    }
                }
                Ok(_) => {}
                Err(e) => errors.push(ScanError::at_object(entry.oid.to_string(), e)),
            }
        }
    }
    let mut outcome = ScanOutcome {
        stats: counters.into_stats(),
        ..ScanOutcome::default()
    };
    outcome.stats.skipped_symlinks = walk.symlinks;
    outcome.stats.commits_scanned = walk.commits.len() as u64;
    outcome.stats.blobs_read = blobs_read;
    if outcome.stats.skipped_too_large > 0 {
        outcome.notes.push(format!(
            "{} blob(s) larger than --max-blob-size ({} bytes) were not scanned",
            outcome.stats.skipped_too_large,
            args.max_blob_size.unwrap_or(DEFAULT_MAX_BLOB_SIZE)
        ));
    }
    (outcome.findings, outcome.history) = attach_commits(
        repo,
        matcher,
        &walk,
        blob_findings,
        extra_findings,
        &mut errors,
        &mut outcome.notes,
    );
    errors.extend(walk.errors.iter().cloned());
    errors.extend(repo_errors);
    outcome.errors = errors;
    outcome.notes.extend(walk.notes.iter().cloned());
    outcome.notes.extend(archive_skips);
    outcome.notes.extend(repo_notes);
    if !walk.gitlinks.is_empty() && !args.submodules {
        let list: Vec<&str> = walk.gitlinks.iter().map(String::as_str).collect();
        outcome.notes.push(format!(
            "submodules not followed: {} (pass --submodules to scan checked-out ones)",
            list.join(", ")
        ));
    }
    if !prefix.is_empty() {
        for f in &mut outcome.findings {
            if let Some(path) = &f.path {
                f.path = Some(format!("{prefix}/{path}"));
            }
        }
    }
    Ok(outcome)
}

/// Keeps a finding made at a blob's extra placement `n` only if its rule is
/// path-restricted and applied at none of the blob's earlier placements (the rest was
/// found there already).
fn new_at_extra_placement(matcher: &Matcher, f: &Finding, entry: &BlobEntry, n: usize) -> bool {
    let Some(rule) = matcher.rules().iter().find(|r| r.identity == f.rule) else {
        return false;
    };
    rule.path.is_some()
        && std::iter::once(&entry.first)
            .chain(&entry.extra[..n])
            .all(|p| !rule.applies_to(p.path.as_deref()))
}

/// Reads and scans one batch of blobs on a worker thread.
fn scan_batch(shared: &Shared<'_>, jobs: Vec<BlobJob>, started: Instant) {
    WORKER_REPO.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|(dir, _)| *dir != shared.git_dir) {
            match Repository::open(&shared.git_dir) {
                Ok(repo) => *cell = Some((shared.git_dir.clone(), repo)),
                Err(e) => {
                    let mut errors = shared.errors.lock().unwrap_or_else(|e| e.into_inner());
                    for job in &jobs {
                        errors.push(ScanError::at_object(
                            job.oid.to_string(),
                            format!("cannot open the repository: {}", e.message()),
                        ));
                    }
                    return;
                }
            }
        }
        let Some((_, repo)) = cell.as_ref() else {
            return;
        };
        let mut found = Vec::new();
        for job in &jobs {
            match scan_one(shared, repo, job) {
                Ok(list) if !list.is_empty() => found.push((job.index, list)),
                Ok(_) => {}
                Err(message) => shared
                    .errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(ScanError::at_object(job.oid.to_string(), message)),
            }
            shared.progress.inc(1);
        }
        if !found.is_empty() {
            shared
                .findings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .append(&mut found);
        }
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        let mb = shared.counters.bytes.load(Ordering::Relaxed) as f64 / 1e6;
        shared
            .progress
            .set_message(format!("{mb:.0} MB, {:.0} MB/s", mb / secs));
    });
}

fn scan_one(shared: &Shared<'_>, repo: &Repository, job: &BlobJob) -> Result<Vec<Finding>, String> {
    let odb = repo
        .odb()
        .map_err(|e| format!("cannot open the object database: {}", e.message()))?;
    let (size, _) = odb
        .read_header(job.oid)
        .map_err(|e| format!("cannot read blob: {}", e.message()))?;
    if size as u64 > shared.max_blob_size {
        shared.counters.too_large.fetch_add(1, Ordering::Relaxed);
        return Ok(Vec::new());
    }
    let origin = Origin {
        path: job.path.as_deref(),
        location: Location::Blob,
    };
    // Large loose blobs are streamed in bounded windows; libgit2 cannot stream packed
    // objects, which are inflated whole below (bounded by --max-blob-size).
    if size >= STREAM_THRESHOLD {
        if let Ok((mut reader, _, _)) = odb.reader(job.oid) {
            shared.blobs_read.fetch_add(1, Ordering::Relaxed);
            let mut buffer = Vec::new();
            let scanned =
                crate::blob::scan_reader(shared.matcher, &mut reader, origin, &mut buffer)
                    .map_err(|e| format!("cannot read blob: {e}"))?;
            return Ok(archive_scanned(shared, job, scanned));
        }
    }
    // Read once; the object is dropped as soon as it is scanned, and its bytes given
    // back to the budget after that.
    let _taken = shared.budget.take(size as u64);
    let object = odb
        .read(job.oid)
        .map_err(|e| format!("cannot read blob: {}", e.message()))?;
    shared.blobs_read.fetch_add(1, Ordering::Relaxed);
    let data = object.data();
    if let Some(scanned) = crate::archive::scan_blob(shared.matcher, data, origin) {
        return Ok(archive_scanned(shared, job, scanned));
    }
    let binary = looks_binary(data);
    shared.counters.record(binary, data.len() as u64);
    if binary {
        return Ok(Vec::new());
    }
    Ok(scan_bytes(shared.matcher, data, origin))
}

/// Counts a streamed blob (an archive's members too) and files what its archives could
/// not read: errors name the blob and the member.
fn archive_scanned(
    shared: &Shared<'_>,
    job: &BlobJob,
    scanned: crate::blob::StreamScan,
) -> Vec<Finding> {
    shared.counters.record_scan(&scanned);
    if !scanned.issues.is_empty() {
        let (unreadable, mut skips) = crate::archive::sort_issues(scanned.issues);
        let mut errors = shared.errors.lock().unwrap_or_else(|e| e.into_inner());
        for mut e in unreadable {
            e.object = Some(job.oid.to_string());
            errors.push(e);
        }
        drop(errors);
        shared
            .archive_skips
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(&mut skips);
    }
    scanned.findings
}

fn read_blob(repo: &Repository, oid: Oid) -> Result<Vec<u8>, String> {
    let odb = repo
        .odb()
        .map_err(|e| format!("cannot open the object database: {}", e.message()))?;
    odb.read(oid)
        .map(|o| o.data().to_vec())
        .map_err(|e| format!("cannot read blob: {}", e.message()))
}

/// Turns the blobs' findings into the report's: one finding per secret and path, from
/// the oldest commit that holds it there, with the counts of other commits and paths.
///
/// A file edited after a token was added to it is a new blob that still holds the
/// token; each such later version is folded into the finding for the commit that
/// introduced the token at that path (and counted in a note), so an audit lists each
/// leak once. `other_commits` counts the visited commits whose tree holds any of the
/// folded blobs (at any path), minus the introducing one; `other_paths` the distinct
/// paths those blobs appear at, minus the finding's own. Message findings came with
/// their commit or tag already.
fn attach_commits(
    repo: &Repository,
    matcher: &Matcher,
    walk: &Walk,
    first: Vec<(u32, Vec<Finding>)>,
    extra: Vec<(u32, usize, Vec<Finding>)>,
    errors: &mut Vec<ScanError>,
    notes: &mut Vec<String>,
) -> (Vec<Finding>, BTreeMap<String, facts::SecretHistory>) {
    // Every finding with its blob and the placement (commit, path) it was made at.
    let mut candidates: Vec<(u32, Option<u32>, Finding)> = Vec::new();
    let all = first
        .into_iter()
        .map(|(i, list)| (i, None, list))
        .chain(extra.into_iter().map(|(i, n, list)| (i, Some(n), list)));
    for (index, n, mut list) in all {
        let entry = &walk.entries[index as usize];
        let placement = n.map_or(&entry.first, |n| &entry.extra[n]);
        if let Some(base) = placement.base {
            match commits::added_lines(repo, base, entry.oid) {
                Ok(added) => list.retain(|f| added.contains(&f.line)),
                Err(e) => errors.push(ScanError::at_object(
                    entry.oid.to_string(),
                    format!(
                        "cannot diff with the parent's blob {base} ({}); every line was kept",
                        e.message()
                    ),
                )),
            }
        }
        candidates.extend(list.into_iter().map(|f| (index, placement.commit, f)));
    }
    // Group by secret and path; the oldest commit (then the first line) leads.
    candidates.sort_by(|a, b| {
        (
            &a.2.fingerprint,
            &a.2.path,
            a.1.unwrap_or(u32::MAX),
            a.2.line,
            a.2.column,
        )
            .cmp(&(
                &b.2.fingerprint,
                &b.2.path,
                b.1.unwrap_or(u32::MAX),
                b.2.line,
                b.2.column,
            ))
    });
    let mut groups: Vec<(Option<u32>, Finding, Vec<u32>)> = Vec::new();
    let mut folded = 0usize;
    for (index, commit, f) in candidates {
        if let Some((_, lead, blobs)) = groups.last_mut() {
            if lead.fingerprint == f.fingerprint && lead.path == f.path {
                if !blobs.contains(&index) {
                    blobs.push(index);
                    folded += 1;
                }
                continue;
            }
        }
        groups.push((commit, f, vec![index]));
    }
    if folded > 0 {
        notes.push(format!(
            "{folded} later version(s) of files still holding an already reported secret at the same path were folded into the finding for the commit that introduced it"
        ));
    }
    let mut targets: Vec<(u32, Oid)> = groups
        .iter()
        .flat_map(|(_, _, blobs)| blobs.iter())
        .map(|&i| (i, walk.entries[i as usize].oid))
        .collect();
    targets.sort();
    targets.dedup();
    let members: Vec<Vec<usize>> = groups
        .iter()
        .map(|(_, _, blobs)| {
            blobs
                .iter()
                .filter_map(|i| targets.binary_search_by_key(i, |(t, _)| *t).ok())
                .collect()
        })
        .collect();
    let counts = count::count_occurrences(repo, Some(&walk.dag), &walk.trees, &targets, &members);
    // The commits holding each secret, whatever its path: the incident's facts.
    let mut held: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for ((_, f, _), count) in groups.iter().zip(&counts) {
        held.entry(f.fingerprint.clone())
            .or_default()
            .extend(&count.holders);
    }
    let commit_index: HashMap<Oid, u32> = if walk.message_findings.is_empty() {
        HashMap::new()
    } else {
        walk.commits
            .iter()
            .enumerate()
            .map(|(i, o)| (*o, i as u32))
            .collect()
    };
    for f in &walk.message_findings {
        let list = held.entry(f.fingerprint.clone()).or_default();
        let at = f
            .commit
            .as_ref()
            .and_then(|c| Oid::from_str(&c.commit).ok());
        if let Some(&i) = at.and_then(|o| commit_index.get(&o)) {
            list.push(i);
        }
    }
    for list in held.values_mut() {
        list.sort_unstable();
        list.dedup();
    }
    let head_holds = head_holds_unvisited(repo, walk, &targets, &groups, &members);
    let holders = facts::Holders {
        by_fingerprint: &held,
        head_holds: &|fp| head_holds.contains(fp),
    };
    let history = facts::secret_histories(repo, walk, &holders);
    let counted = counts.iter().filter(|c| c.counted).count();
    if counted > 0 {
        notes.push(format!(
            "{counted} secret(s) sit at more than {} paths of one tree: their paths were counted, not listed, and other_paths is the largest count in one commit",
            count::PATHS_LISTED
        ));
    }
    let mut infos: HashMap<u32, Option<CommitInfo>> = HashMap::new();
    let mut out = Vec::with_capacity(groups.len());
    for ((commit, mut f, blobs), count) in groups.into_iter().zip(counts) {
        f.blob = blobs
            .first()
            .map(|&i| walk.entries[i as usize].oid.to_string());
        f.commit = commit.and_then(|commit| {
            let info = infos
                .entry(commit)
                .or_insert_with(|| {
                    commits::commit_info(repo, matcher, walk.commits[commit as usize])
                })
                .clone()?;
            Some(CommitInfo {
                other_commits: count.commits.saturating_sub(1),
                other_paths: count.paths.saturating_sub(1),
                ..info
            })
        });
        out.push(f);
    }
    out.extend(walk.message_findings.iter().cloned());
    (out, history)
}

/// Fingerprints whose blobs HEAD's tree holds, when HEAD was not among the visited
/// commits (a `--since` / `--range` / `--branch` scan): its tree is looked at alone.
fn head_holds_unvisited(
    repo: &Repository,
    walk: &Walk,
    targets: &[(u32, Oid)],
    groups: &[(Option<u32>, Finding, Vec<u32>)],
    members: &[Vec<usize>],
) -> HashSet<String> {
    let Some(head) = repo.head().ok().and_then(|h| h.peel_to_commit().ok()) else {
        return HashSet::new();
    };
    if walk.commits.contains(&head.id()) || targets.is_empty() {
        return HashSet::new();
    }
    let counts =
        count::count_occurrences(repo, Some(&walk.dag), &[head.tree_id()], targets, members);
    groups
        .iter()
        .zip(counts)
        .filter(|(_, c)| c.commits > 0)
        .map(|((_, f, _), _)| f.fingerprint.clone())
        .collect()
}

/// `--submodules`: scans each submodule that is checked out (has a repository on disk),
/// with the same selection flags, and puts its path before each finding's path.
fn scan_submodules(
    matcher: &Matcher,
    repo: &Repository,
    args: &HistoryOptions,
    progress: bool,
    outcome: &mut ScanOutcome,
) {
    let Ok(submodules) = repo.submodules() else {
        return;
    };
    for sub in submodules {
        let name = sub.path().to_string_lossy().replace('\\', "/");
        let sub_repo = match sub.open() {
            Ok(r) => r,
            Err(e) => {
                outcome.notes.push(format!(
                    "submodule {name} not scanned: not checked out ({})",
                    e.message()
                ));
                continue;
            }
        };
        let selection = match select(&sub_repo, args, &mut outcome.errors) {
            Ok(s) => s,
            Err(e) => {
                outcome
                    .errors
                    .push(ScanError::at_path(name.clone(), format!("{e:#}")));
                continue;
            }
        };
        match scan_repo(matcher, &sub_repo, &selection, args, progress, &name) {
            Ok(sub_outcome) => merge(outcome, sub_outcome),
            Err(e) => outcome
                .errors
                .push(ScanError::at_path(name.clone(), format!("{e:#}"))),
        }
    }
}

fn merge(into: &mut ScanOutcome, from: ScanOutcome) {
    into.findings.extend(from.findings);
    into.errors.extend(from.errors);
    into.notes.extend(from.notes);
    into.history.extend(from.history);
    into.stats += from.stats;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn the_byte_budget_bounds_what_all_workers_hold_at_once() {
        let budget = Budget::new(100);
        let held = AtomicU64::new(0);
        let most = AtomicU64::new(0);
        std::thread::scope(|scope| {
            for size in [60u64, 60, 30, 250, 10, 90] {
                let (budget, held, most) = (&budget, &held, &most);
                scope.spawn(move || {
                    let taken = budget.take(size);
                    let now = held.fetch_add(taken.bytes, Ordering::SeqCst) + taken.bytes;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    held.fetch_sub(taken.bytes, Ordering::SeqCst);
                });
            }
        });
        // A blob larger than the whole budget takes all of it, and waits for it.
        assert!(most.load(Ordering::SeqCst) <= 100);
        assert_eq!(*budget.left.lock().unwrap(), 100, "every grant given back");
    }
}
