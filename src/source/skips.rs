//! What a tree walk leaves out, and why.
//!
//! ignore's walker cannot say what it skipped, so its own ignore filters are off and
//! [`Rules::admit`] decides every entry in the walker's `filter_entry`:
//!
//! - `--exclude` globs first (also with `--no-ignore`);
//! - `.leakscopeignore` (the user's explicit "do not scan": tracked files too), then
//!   `.ignore` / `.rgignore` with `--respect-dot-ignore` (tracked files too);
//! - then `.gitignore` files, `.git/info/exclude` and git's global excludes file, which
//!   say "not committed": they skip only files the repository's index does not track.
//!
//! Within one family the deepest file that says ignore or whitelist wins (gitignore
//! precedence); the repository-wide excludes come last. A git-ignored directory with no
//! tracked file under it is pruned and counted once; one with tracked files is entered
//! and only its tracked files are scanned. Per directory one chain of matchers is built
//! lazily and cached; a directory without ignore files shares its parent's chain, and
//! an entry under a chain with no matcher costs one lookup and no allocation.

use super::ScanError;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::overrides::Override;
use ignore::Match;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Why a path was not scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// An untracked file matched by a `.gitignore`.
    Gitignore,
    /// An untracked file matched by `.git/info/exclude` or git's global excludes file.
    GitExclude,
    /// A file matched by a `.leakscopeignore` (tracked or not).
    Leakscopeignore,
    /// A file matched by `.ignore` or `.rgignore` (with `--respect-dot-ignore`).
    DotIgnore,
    /// A file matched by `--exclude` or `[scan] exclude`.
    Exclude,
    /// A directory matched by a `.gitignore`, with no tracked file under it: not entered.
    GitignoreDir,
    /// A directory matched by `.git/info/exclude` or the global excludes file, with no
    /// tracked file under it: not entered.
    GitExcludeDir,
    /// A directory matched by a `.leakscopeignore`: not entered.
    LeakscopeignoreDir,
    /// A directory matched by `.ignore` or `.rgignore`: not entered.
    DotIgnoreDir,
    /// A directory matched by `--exclude`: not entered.
    ExcludeDir,
    /// Larger than `--max-file-size`.
    TooLarge,
    /// The content looked binary.
    Binary,
    /// A symbolic link not followed.
    Symlink,
    /// A FIFO, device or socket.
    Special,
}

const REASONS: usize = 14;

impl SkipReason {
    /// The directory form of a file reason (ignore reasons only).
    fn for_dir(self, is_dir: bool) -> SkipReason {
        use SkipReason::*;
        match (self, is_dir) {
            (_, false) => self,
            (Gitignore, true) => GitignoreDir,
            (GitExclude, true) => GitExcludeDir,
            (Leakscopeignore, true) => LeakscopeignoreDir,
            (DotIgnore, true) => DotIgnoreDir,
            (Exclude, true) => ExcludeDir,
            (other, true) => other,
        }
    }

    /// What the human report says.
    pub fn describe(self) -> &'static str {
        use SkipReason::*;
        match self {
            Gitignore => "untracked, matched by .gitignore",
            GitExclude => "untracked, matched by git's exclude file",
            Leakscopeignore => "matched by .leakscopeignore",
            DotIgnore => "matched by .ignore/.rgignore",
            Exclude => "matched by --exclude",
            GitignoreDir => "directory not entered: matched by .gitignore, nothing tracked in it",
            GitExcludeDir => {
                "directory not entered: matched by git's exclude file, nothing tracked in it"
            }
            LeakscopeignoreDir => "directory not entered: matched by .leakscopeignore",
            DotIgnoreDir => "directory not entered: matched by .ignore/.rgignore",
            ExcludeDir => "directory not entered: matched by --exclude",
            TooLarge => "too large",
            Binary => "binary",
            Symlink => "symbolic link not followed",
            Special => "FIFO, device or socket",
        }
    }
}

/// One path left out, for `--explain-skips`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Skipped {
    /// As reports show paths (a directory ends with `/`); redacted like every path.
    pub path: String,
    pub reason: SkipReason,
}

/// Counts per reason, and each path when asked (`--explain-skips`).
#[derive(Default)]
pub struct SkipLog {
    explain: bool,
    counts: [AtomicU64; REASONS],
    list: Mutex<Vec<Skipped>>,
}

impl SkipLog {
    pub fn new(explain: bool) -> SkipLog {
        SkipLog {
            explain,
            ..SkipLog::default()
        }
    }

    pub fn skip(&self, reason: SkipReason, path: &Path) {
        self.counts[reason as usize].fetch_add(1, Ordering::Relaxed);
        if self.explain {
            let mut path = super::tree::display_path(path);
            if is_dir_reason(reason) {
                path.push('/');
            }
            self.list
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Skipped { path, reason });
        }
    }

    pub fn count(&self, reason: SkipReason) -> u64 {
        self.counts[reason as usize].load(Ordering::Relaxed)
    }

    /// The paths listed so far, sorted; the log keeps none after.
    pub fn take_list(&self) -> Vec<Skipped> {
        let mut list = std::mem::take(&mut *self.list.lock().unwrap_or_else(|e| e.into_inner()));
        list.sort_by(|a, b| a.path.cmp(&b.path));
        list
    }
}

fn is_dir_reason(reason: SkipReason) -> bool {
    use SkipReason::*;
    matches!(
        reason,
        GitignoreDir | GitExcludeDir | LeakscopeignoreDir | DotIgnoreDir | ExcludeDir
    )
}

/// Which rules a matcher belongs to: one decision per family.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Leakscope,
    Dot,
    Git,
}

fn family(kind: SkipReason) -> Family {
    match kind {
        SkipReason::Leakscopeignore => Family::Leakscope,
        SkipReason::DotIgnore => Family::Dot,
        _ => Family::Git,
    }
}

/// One ignore file's matcher.
struct Layer {
    matcher: Gitignore,
    /// The file reason it gives (`Gitignore`, `GitExclude`, `Leakscopeignore`, `DotIgnore`).
    kind: SkipReason,
    /// Matched with the path relative to the repository's work tree (files at or above
    /// the walk root: excludes, ancestors' ignore files), not with the walked path.
    repo_relative: bool,
}

/// What the index tracks, read once, when an ignore rule first matches.
struct Tracked {
    files: HashSet<PathBuf>,
    dirs: HashSet<PathBuf>,
}

/// A repository the walk is in.
struct RepoCtx {
    git_dir: PathBuf,
    /// The walked path this context starts at (a walk root, or a nested repository).
    base: PathBuf,
    /// `base` relative to the work tree (empty when `base` is the work tree).
    prefix: PathBuf,
    tracked: OnceLock<Tracked>,
}

impl RepoCtx {
    /// `path` (walked, under `base`) relative to the work tree.
    fn relative<'p>(&self, path: &'p Path) -> Option<Cow<'p, Path>> {
        let rest = path.strip_prefix(&self.base).ok()?;
        Some(if self.prefix.as_os_str().is_empty() {
            Cow::Borrowed(rest)
        } else {
            Cow::Owned(self.prefix.join(rest))
        })
    }

    fn tracked(&self, errors: &Mutex<Vec<ScanError>>) -> &Tracked {
        self.tracked.get_or_init(|| match read_index(&self.git_dir) {
            Ok(t) => t,
            Err(e) => {
                errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(ScanError::at_path(
                        super::tree::display_path(&self.git_dir),
                        format!("cannot read the index (tracked files under ignore rules are skipped): {e}"),
                    ));
                Tracked {
                    files: HashSet::new(),
                    dirs: HashSet::new(),
                }
            }
        })
    }
}

fn read_index(git_dir: &Path) -> Result<Tracked, git2::Error> {
    let repo = git2::Repository::open(git_dir)?;
    let index = repo.index()?;
    let mut files = HashSet::with_capacity(index.len());
    let mut dirs = HashSet::new();
    for entry in index.iter() {
        let path = bytes_path(&entry.path);
        let mut parent = path.parent();
        while let Some(dir) = parent.filter(|d| !d.as_os_str().is_empty()) {
            if !dirs.insert(dir.to_path_buf()) {
                break;
            }
            parent = dir.parent();
        }
        // A submodule (gitlink) is a directory whose files its own index tracks.
        if entry.mode == crate::source::git::MODE_GITLINK {
            dirs.insert(path.clone());
        }
        files.insert(path);
    }
    Ok(Tracked { files, dirs })
}

#[cfg(unix)]
fn bytes_path(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn bytes_path(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

/// The matchers in force in one directory, deepest first.
#[derive(Default)]
struct Chain {
    layers: Vec<Arc<Layer>>,
    repo: Option<Arc<RepoCtx>>,
    /// Inside a git-ignored directory entered for its tracked files: everything
    /// untracked here is ignored for this reason.
    ignored_dir: Option<SkipReason>,
}

impl Chain {
    fn trivial(&self) -> bool {
        self.layers.is_empty() && self.ignored_dir.is_none()
    }

    /// The first decisive answer of each family: Some(Some(kind)) ignore,
    /// Some(None) whitelisted, None no rule.
    fn matches(&self, path: &Path, is_dir: bool) -> [Option<Option<SkipReason>>; 3] {
        let mut decided = [None, None, None];
        let mut relative: Option<Option<Cow<'_, Path>>> = None;
        for layer in &self.layers {
            let slot = family(layer.kind) as usize;
            if decided[slot].is_some() {
                continue;
            }
            let m = if layer.repo_relative {
                let rel = relative
                    .get_or_insert_with(|| self.repo.as_ref().and_then(|r| r.relative(path)));
                match rel {
                    Some(rel) => layer.matcher.matched(rel, is_dir),
                    None => Match::None,
                }
            } else {
                layer.matcher.matched(path, is_dir)
            };
            match m {
                Match::Ignore(_) => decided[slot] = Some(Some(layer.kind)),
                Match::Whitelist(_) => decided[slot] = Some(None),
                Match::None => {}
            }
        }
        decided
    }

    fn git_ignored(&self, path: &Path, is_dir: bool) -> Option<SkipReason> {
        self.ignored_dir
            .or_else(|| self.matches(path, is_dir)[Family::Git as usize].flatten())
    }

    fn is_tracked(&self, path: &Path, is_dir: bool, errors: &Mutex<Vec<ScanError>>) -> bool {
        let Some(repo) = &self.repo else {
            return false;
        };
        let Some(rel) = repo.relative(path) else {
            return false;
        };
        let tracked = repo.tracked(errors);
        if is_dir {
            tracked.dirs.contains(rel.as_ref())
        } else {
            tracked.files.contains(rel.as_ref())
        }
    }
}

/// Ignore files honoured in every directory, by name, family order within a directory.
const LOCAL_FILES: [(&str, SkipReason, bool); 4] = [
    (".leakscopeignore", SkipReason::Leakscopeignore, false),
    (".rgignore", SkipReason::DotIgnore, true),
    (".ignore", SkipReason::DotIgnore, true),
    (".gitignore", SkipReason::Gitignore, false),
];

/// Every rule of one walk, shared by its threads.
pub struct Rules {
    id: u64,
    no_ignore: bool,
    respect_dot_ignore: bool,
    exclude: Option<Override>,
    cache: Mutex<HashMap<PathBuf, Arc<Chain>>>,
    log: Arc<SkipLog>,
    errors: Mutex<Vec<ScanError>>,
    /// Git's global excludes file, read once (`None` when absent or empty).
    global: OnceLock<Option<Arc<Layer>>>,
}

static WALK_IDS: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The last directory this thread looked up, by walk: a directory's entries come
    /// one after another, so most lookups take no lock.
    static LAST: RefCell<Option<(u64, PathBuf, Arc<Chain>)>> = const { RefCell::new(None) };
}

impl Rules {
    /// Rules for walking `roots` (directories among them get their chains now).
    pub fn new(
        roots: &[PathBuf],
        no_ignore: bool,
        respect_dot_ignore: bool,
        exclude: Option<Override>,
        log: Arc<SkipLog>,
    ) -> Rules {
        let rules = Rules {
            id: WALK_IDS.fetch_add(1, Ordering::Relaxed),
            no_ignore,
            respect_dot_ignore,
            exclude,
            cache: Mutex::default(),
            log,
            errors: Mutex::default(),
            global: OnceLock::new(),
        };
        if !no_ignore {
            for root in roots.iter().filter(|r| r.is_dir()) {
                let base = rules.root_base(root);
                let chain = rules.with_own_files(&base, root, base.repo.clone());
                rules
                    .cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(root.clone(), chain);
            }
        }
        rules
    }

    /// Errors met reading ignore files or the index.
    pub fn take_errors(&self) -> Vec<ScanError> {
        std::mem::take(&mut *self.errors.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Whether the walk goes into (or yields) `entry`; what it leaves out is counted.
    pub fn admit(&self, entry: &ignore::DirEntry) -> bool {
        if entry.file_name() == ".git" {
            return false;
        }
        let path = entry.path();
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        if let Some(exclude) = &self.exclude {
            if exclude.matched(path, is_dir).is_ignore() {
                self.log.skip(SkipReason::Exclude.for_dir(is_dir), path);
                return false;
            }
        }
        if self.no_ignore {
            return true;
        }
        let Some(dir) = path.parent() else {
            return true;
        };
        let chain = self.chain(dir);
        if chain.trivial() {
            return true;
        }
        match self.decide(&chain, path, is_dir) {
            Some(reason) => {
                self.log.skip(reason, path);
                false
            }
            None => true,
        }
    }

    fn decide(&self, chain: &Chain, path: &Path, is_dir: bool) -> Option<SkipReason> {
        let decided = chain.matches(path, is_dir);
        for family in [Family::Leakscope, Family::Dot] {
            if let Some(Some(kind)) = decided[family as usize] {
                return Some(kind.for_dir(is_dir));
            }
        }
        let git = chain
            .ignored_dir
            .or(decided[Family::Git as usize].flatten())?;
        if chain.is_tracked(path, is_dir, &self.errors) {
            None
        } else {
            Some(git.for_dir(is_dir))
        }
    }

    /// The chain of directory `dir` (walked path), built once.
    fn chain(&self, dir: &Path) -> Arc<Chain> {
        let hit = LAST.with(|last| {
            last.borrow().as_ref().and_then(|(id, path, chain)| {
                (*id == self.id && path.as_os_str() == dir.as_os_str()).then(|| chain.clone())
            })
        });
        if let Some(chain) = hit {
            return chain;
        }
        let chain = self.chain_uncached(dir);
        LAST.with(|last| *last.borrow_mut() = Some((self.id, dir.to_path_buf(), chain.clone())));
        chain
    }

    fn chain_uncached(&self, dir: &Path) -> Arc<Chain> {
        if let Some(chain) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(dir)
        {
            return chain.clone();
        }
        let built = match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => {
                let parent_chain = self.chain_uncached(parent);
                self.child(&parent_chain, dir)
            }
            _ => Arc::new(Chain::default()),
        };
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(dir.to_path_buf())
            .or_insert(built)
            .clone()
    }

    /// The chain of `dir`, a directory the walk entered, from its parent's.
    fn child(&self, parent: &Arc<Chain>, dir: &Path) -> Arc<Chain> {
        if dir.join(".git").exists() {
            if let Ok(repo) = git2::Repository::open(dir) {
                // A repository of its own: the outer repository's git rules stop here.
                let ctx = Arc::new(RepoCtx {
                    git_dir: repo.path().to_path_buf(),
                    base: dir.to_path_buf(),
                    prefix: PathBuf::new(),
                    tracked: OnceLock::new(),
                });
                let mut base = Chain {
                    layers: parent
                        .layers
                        .iter()
                        .filter(|l| family(l.kind) != Family::Git && !l.repo_relative)
                        .cloned()
                        .collect(),
                    repo: Some(ctx.clone()),
                    ignored_dir: None,
                };
                base.layers.extend(self.repo_excludes(repo.path()));
                return self.with_own_files(&base, dir, Some(ctx));
            }
        }
        let ignored_dir = if parent.trivial() {
            None
        } else {
            parent.git_ignored(dir, true)
        };
        let base = Chain {
            layers: parent.layers.clone(),
            repo: parent.repo.clone(),
            ignored_dir,
        };
        let own = self.own_layers(dir, false);
        if own.is_empty() && ignored_dir.is_none() {
            return parent.clone();
        }
        let mut layers = own;
        layers.extend(base.layers);
        Arc::new(Chain {
            layers,
            repo: base.repo,
            ignored_dir,
        })
    }

    fn with_own_files(&self, base: &Chain, dir: &Path, repo: Option<Arc<RepoCtx>>) -> Arc<Chain> {
        let mut layers = self.own_layers(dir, false);
        layers.extend(base.layers.iter().cloned());
        Arc::new(Chain {
            layers,
            repo,
            ignored_dir: None,
        })
    }

    /// The ignore files in `dir` itself: matched with walked paths, or (`repo_relative`,
    /// for directories above a walk root) with paths relative to the work tree, `dir`
    /// then being relative to it too.
    fn own_layers(&self, dir: &Path, repo_relative: bool) -> Vec<Arc<Layer>> {
        self.own_layers_at(dir, dir, repo_relative)
    }

    fn own_layers_at(&self, on_disk: &Path, root: &Path, repo_relative: bool) -> Vec<Arc<Layer>> {
        let mut layers = Vec::new();
        for (name, kind, dot) in LOCAL_FILES {
            if dot && !self.respect_dot_ignore {
                continue;
            }
            if let Some(matcher) = self.load(root, &on_disk.join(name)) {
                layers.push(Arc::new(Layer {
                    matcher,
                    kind,
                    repo_relative,
                }));
            }
        }
        layers
    }

    /// One ignore file as a matcher rooted at `root`; `None` when absent or empty.
    fn load(&self, root: &Path, file: &Path) -> Option<Gitignore> {
        let mut builder = GitignoreBuilder::new(root);
        if let Some(err) = builder.add(file) {
            if is_not_found(&err) {
                return None;
            }
            self.record(file, &err);
        }
        match builder.build() {
            Ok(matcher) if !matcher.is_empty() => Some(matcher),
            Ok(_) => None,
            Err(err) => {
                self.record(file, &err);
                None
            }
        }
    }

    fn record(&self, file: &Path, err: &ignore::Error) {
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(ScanError::at_path(
                super::tree::display_path(file),
                format!("ignore file: {err}"),
            ));
    }

    /// `.git/info/exclude` and the global excludes file, matched relative to the work tree.
    fn repo_excludes(&self, git_dir: &Path) -> Vec<Arc<Layer>> {
        let mut layers = Vec::new();
        if let Some(matcher) = self.load(Path::new(""), &git_dir.join("info").join("exclude")) {
            layers.push(Arc::new(Layer {
                matcher,
                kind: SkipReason::GitExclude,
                repo_relative: true,
            }));
        }
        let global = self.global.get_or_init(|| {
            let (global, _) = GitignoreBuilder::new("").build_global();
            (!global.is_empty()).then(|| {
                Arc::new(Layer {
                    matcher: global,
                    kind: SkipReason::GitExclude,
                    repo_relative: true,
                })
            })
        });
        layers.extend(global.iter().cloned());
        layers
    }

    /// What is in force at a walk root before its own ignore files: the ignore files of
    /// the directories between the work tree and the root, then the repository's
    /// excludes.
    fn root_base(&self, root: &Path) -> Chain {
        let Ok(repo) = git2::Repository::discover(root) else {
            return Chain::default();
        };
        let Some(workdir) = repo.workdir() else {
            return Chain::default();
        };
        let (Ok(abs_root), Ok(abs_work)) = (root.canonicalize(), workdir.canonicalize()) else {
            return Chain::default();
        };
        let Ok(prefix) = abs_root.strip_prefix(&abs_work) else {
            return Chain::default();
        };
        let ctx = Arc::new(RepoCtx {
            git_dir: repo.path().to_path_buf(),
            base: root.to_path_buf(),
            prefix: prefix.to_path_buf(),
            tracked: OnceLock::new(),
        });
        let mut layers = Vec::new();
        // From the directory just above the root up to the work tree: deepest first.
        let mut above = prefix.parent();
        while let Some(rel) = above {
            layers.extend(self.own_layers_at(&abs_work.join(rel), rel, true));
            above = rel.parent();
        }
        layers.extend(self.repo_excludes(repo.path()));
        Chain {
            layers,
            repo: Some(ctx),
            ignored_dir: None,
        }
    }
}

fn is_not_found(err: &ignore::Error) -> bool {
    match err {
        ignore::Error::Io(e) => e.kind() == std::io::ErrorKind::NotFound,
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => is_not_found(err),
        ignore::Error::Partial(errs) => errs.iter().all(is_not_found),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::tree::{walk, Counters, TreeOptions};

    fn write(root: &Path, path: &str, content: &str) {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    /// The files a walk of `root` yields (relative, sorted) and its skips.
    fn walked(root: &Path, options: &TreeOptions) -> (Vec<String>, Vec<Skipped>, Counters) {
        let counters = Counters::new(true);
        let seen = Mutex::new(Vec::new());
        let roots = [root.to_path_buf()];
        let errors = walk(&roots, options, &counters, |file| {
            let rel = file.path.strip_prefix(root).unwrap();
            seen.lock()
                .unwrap()
                .push(rel.to_string_lossy().into_owned());
        })
        .unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        let skipped = counters.skips.take_list();
        (seen, skipped, counters)
    }

    #[test]
    fn the_deepest_ignore_file_decides_and_families_are_apart() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, ".gitignore", "*.txt\n");
        write(root, "keep/.gitignore", "!*.txt\n");
        write(root, "keep/.leakscopeignore", "private.txt\n");
        write(root, "a.txt", "");
        write(root, "c.md", "");
        write(root, "keep/b.txt", "");
        write(root, "keep/private.txt", "");
        let (seen, skipped, counters) = walked(root, &TreeOptions::default());
        assert_eq!(
            seen,
            [
                ".gitignore",
                "c.md",
                "keep/.gitignore",
                "keep/.leakscopeignore",
                "keep/b.txt"
            ]
        );
        let reasons: Vec<SkipReason> = skipped.iter().map(|s| s.reason).collect();
        assert_eq!(
            reasons,
            [SkipReason::Gitignore, SkipReason::Leakscopeignore],
            "{skipped:?}"
        );
        let stats = counters.into_stats();
        assert_eq!(
            (stats.skipped_gitignore, stats.skipped_leakscopeignore),
            (1, 1)
        );
    }

    #[test]
    fn no_ignore_honours_no_file_but_exclude_still_counts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, ".gitignore", "*.txt\n");
        write(root, ".leakscopeignore", "*.md\n");
        write(root, "a.txt", "");
        write(root, "b.md", "");
        write(root, "gen/c.rs", "");
        let options = TreeOptions {
            no_ignore: true,
            exclude: vec!["gen".into()],
            ..TreeOptions::default()
        };
        let (seen, skipped, _) = walked(root, &options);
        assert_eq!(seen, [".gitignore", ".leakscopeignore", "a.txt", "b.md"]);
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].reason, SkipReason::ExcludeDir);
        assert!(skipped[0].path.ends_with("gen/"), "{skipped:?}");
    }

    #[test]
    fn reasons_are_kebab_case_and_new_counts_stay_out_of_old_reports() {
        assert_eq!(
            serde_json::to_value(SkipReason::GitignoreDir).unwrap(),
            "gitignore-dir"
        );
        assert_eq!(
            serde_json::to_value(SkipReason::DotIgnore).unwrap(),
            "dot-ignore"
        );
        let stats = serde_json::to_value(crate::source::Stats::default()).unwrap();
        assert!(stats.get("skipped_gitignore").is_none(), "{stats}");
        let old: crate::source::Stats =
            serde_json::from_str(r#"{"files_scanned": 2, "skipped_binary": 1}"#).unwrap();
        assert_eq!((old.files_scanned, old.skipped_gitignore), (2, 0));
    }
}
