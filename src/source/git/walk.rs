//! Enumerating history for `scan --git`: which commits to look at, and for each distinct
//! blob the oldest commit and path that carry it.
//!
//! Blobs are enumerated by object id, never by replaying `git log -p`: each commit's tree
//! is walked, but a subtree already walked at the same path is skipped (its blobs are
//! already known, from an older commit), so the cost follows the number of distinct
//! trees, not commits × files. Commits are visited parents first, so the first commit in
//! which a blob is met at a path is the one that introduced it there.
//!
//! With a selection (`--range`, `--since`, `--branch`) only the selected commits are
//! visited, and from each only the (path, blob) pairs it introduces: those that differ
//! from every parent (for a merge, a blob that one side already had is not the merge's).

use super::commits::*;
use super::count::TreeDag;
use super::ids::*;
use super::order::*;
use super::paths::*;
use super::raw_tree::*;
use super::{ScanError, MODE_GITLINK, MODE_LINK};
use crate::blob::{scan_bytes, Origin};
use crate::finding::{CommitInfo, Finding, Location};
use crate::matcher::Matcher;
use git2::{ObjectType, Oid, Repository};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// Which commits a history scan visits.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Every commit reachable from any ref (and HEAD); with `all_objects`, also commits
    /// and blobs that nothing reaches.
    All { all_objects: bool },
    /// Commits reachable from `tips` but not from `hide`; only the blobs they introduce.
    Introduced { tips: Vec<Oid>, hide: Vec<Oid> },
}

/// A place where a blob was met: the path, and the commit (index into [`Walk::commits`]).
/// Both are `None` for a blob no commit reaches (`--all-objects`, or a ref to a blob).
#[derive(Debug, Clone)]
pub struct Placement {
    pub path: Option<Arc<str>>,
    pub commit: Option<u32>,
    /// With a selection: the blob the commit's first parent had at this path. Only
    /// lines added relative to it are reported (a pull request that edits a file with
    /// an old token in it did not add that token).
    pub base: Option<Oid>,
}

/// One distinct blob.
#[derive(Debug, Clone)]
pub struct BlobEntry {
    pub oid: Oid,
    /// Where it was met first: the oldest commit, at that commit's path.
    pub first: Placement,
    /// Later placements at a path where path-restricted rules (e.g. `.netrc`) apply
    /// differently than at every earlier one; the blob is matched again for those.
    pub extra: Vec<Placement>,
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct Walk {
    /// The commits visited, parents before children.
    pub commits: Vec<Oid>,
    /// Root tree of each commit in `commits` (same index).
    pub trees: Vec<Oid>,
    /// Parents of each commit in `commits` that were visited too (indices into
    /// `commits`, first parent first; same index). Incidents follow them to tell which
    /// refs still reach a secret and where HEAD's first-parent line dropped it.
    pub parents: Vec<Vec<u32>>,
    /// Committer time of each commit (seconds since the epoch; same index).
    pub times: Vec<i64>,
    pub entries: Vec<BlobEntry>,
    /// Secrets in commit and tag messages, with their commit or tag already attached.
    pub message_findings: Vec<Finding>,
    pub errors: Vec<ScanError>,
    pub notes: Vec<String>,
    /// Symbolic links met (their blobs are link targets, not scanned).
    pub symlinks: u64,
    /// Paths of submodules (gitlinks) met in trees; their commits live elsewhere.
    pub gitlinks: BTreeSet<String>,
    /// The trees met, for counting other commits and paths without reading them again.
    pub dag: TreeDag,
}

/// Starting points found in the refs.
#[derive(Debug, Default)]
pub struct Tips {
    pub commits: Vec<Oid>,
    /// Annotated tag objects met on the way (their messages are scanned).
    pub tags: Vec<Oid>,
    /// Refs that end at a tree or a blob instead of a commit (rare, but they keep
    /// content alive).
    pub trees: Vec<Oid>,
    pub blobs: Vec<Oid>,
    pub errors: Vec<ScanError>,
    /// Refs under `refs/replace/`: git shows the replacements instead of the objects
    /// they replace; the walk reads objects as stored, so it scans both.
    pub replaced: usize,
}

/// Every ref under `refs/` (branches, tags, remotes, stash, notes, replace refs, ...)
/// and HEAD, peeled through annotated tags. Refs are read from their files (see
/// [`super::refs`]): a bad ref or `packed-refs` line is an error, and the others
/// are still followed.
pub fn ref_tips(repo: &Repository) -> Tips {
    let list = super::refs::read_refs(repo);
    let mut tips = Tips {
        errors: list.errors,
        replaced: list.replaced,
        ..Tips::default()
    };
    let starts = list.refs;
    let mut seen = HashSet::new();
    for (name, mut oid) in starts {
        while seen.insert(oid) {
            let object = match repo.find_object(oid, None) {
                Ok(o) => o,
                Err(e) => {
                    tips.errors.push(ScanError::at_object(
                        oid.to_string(),
                        format!("{name}: cannot read object: {}", e.message()),
                    ));
                    break;
                }
            };
            match object.kind() {
                Some(ObjectType::Tag) => {
                    tips.tags.push(oid);
                    match object.as_tag() {
                        Some(tag) => oid = tag.target_id(),
                        None => break,
                    }
                }
                Some(ObjectType::Commit) => {
                    tips.commits.push(oid);
                    break;
                }
                Some(ObjectType::Tree) => {
                    tips.trees.push(oid);
                    break;
                }
                Some(ObjectType::Blob) => {
                    tips.blobs.push(oid);
                    break;
                }
                _ => break,
            }
        }
    }
    tips
}

/// The walk's working state.
struct Walker<'r, 'o, F> {
    repo: &'r Repository,
    /// Trees are read straight from the object database and parsed here: libgit2's
    /// tree objects cost an allocation per entry and a cache insert each.
    odb: Option<&'o git2::Odb<'r>>,
    matcher: &'r Matcher,
    /// Rules with a path restriction: the only ones whose outcome depends on the path.
    restricted: Vec<usize>,
    /// (tree id, hash of the path it sits at) already walked.
    seen_trees: HashSet<(Key, u64), IdBuild>,
    /// How many times each tree (or compared pair of trees) was walked; see
    /// [`Walker::expand`].
    expansions: HashMap<(Option<Key>, Key), u32, IdBuild>,
    /// Trees met at a path where they were not walked again because they had been at
    /// [`TREE_PATHS_CHECKED`] others: path-restricted rules were not checked there.
    unchecked_paths: u64,
    /// Trees too deep to walk, reported once each.
    too_deep: HashSet<Key, IdBuild>,
    /// The directory paths of the tree being walked.
    paths: PathArena,
    blob_index: HashMap<Key, u32, IdBuild>,
    /// Hash of the path each blob was first met at (same index as `walk.entries`), and
    /// of the other paths for the few blobs met at several: met again at a known path,
    /// a blob needs no further look.
    first_path: Vec<u64>,
    other_paths: HashSet<(u32, u64), IdBuild>,
    walk: Walk,
    on_new_blob: F,
}

/// Walks the history `selection` chooses. `on_new_blob` is called once per distinct blob,
/// as soon as it is discovered, so the caller can scan while the walk goes on.
pub fn walk<F>(repo: &Repository, matcher: &Matcher, selection: &Selection, on_new_blob: F) -> Walk
where
    F: FnMut(u32, &BlobEntry),
{
    let restricted = matcher
        .rules()
        .iter()
        .enumerate()
        .filter(|(_, r)| r.path.is_some())
        .map(|(i, _)| i)
        .collect();
    let odb = repo.odb().ok();
    let mut w = Walker {
        repo,
        odb: odb.as_ref(),
        matcher,
        restricted,
        seen_trees: HashSet::default(),
        expansions: HashMap::default(),
        unchecked_paths: 0,
        too_deep: HashSet::default(),
        paths: PathArena::default(),
        blob_index: HashMap::default(),
        first_path: Vec::new(),
        other_paths: HashSet::default(),
        walk: Walk::default(),
        on_new_blob,
    };
    if repo.is_shallow() {
        w.walk.notes.push(
            "shallow clone: history is partial (commits beyond the shallow boundary are not in this repository)"
                .into(),
        );
    }
    match selection {
        Selection::All { all_objects } => w.walk_all(*all_objects),
        Selection::Introduced { tips, hide } => w.walk_introduced(tips, hide),
    }
    if w.unchecked_paths > 0 {
        w.walk.notes.push(format!(
            "{} tree(s) met again at other paths after being walked at {TREE_PATHS_CHECKED} were not walked there (their blobs were scanned): path-restricted rules (e.g. .netrc) were not checked at those paths",
            w.unchecked_paths
        ));
    }
    w.walk
}

impl<F> Walker<'_, '_, F>
where
    F: FnMut(u32, &BlobEntry),
{
    fn error(&mut self, oid: Oid, message: String) {
        self.walk
            .errors
            .push(ScanError::at_object(oid.to_string(), message));
    }

    fn walk_all(&mut self, all_objects: bool) {
        let mut tips = ref_tips(self.repo);
        self.walk.errors.append(&mut tips.errors);
        if tips.replaced > 0 {
            self.walk.notes.push(format!(
                "{} replace ref(s) under refs/replace/: git shows the replacements in place of the objects they replace; both the replaced objects and their replacements were scanned",
                tips.replaced
            ));
        }
        let mut loose_blobs = Vec::new();
        if all_objects {
            let (commits, blobs, tags) = self.all_objects();
            tips.commits.extend(commits);
            tips.tags.extend(tags);
            loose_blobs = blobs;
        }
        let order = topo_order(self.repo, &tips.commits, &mut self.walk.errors);
        for (oid, tree, time, parents) in order {
            let index = self.walk.commits.len() as u32;
            self.walk.commits.push(oid);
            self.walk.trees.push(tree);
            self.walk.times.push(time);
            self.walk.parents.push(parents);
            self.scan_commit_message(oid);
            self.walk_tree(tree, Some(index));
        }
        for tree in tips.trees {
            self.walk_tree(tree, None);
        }
        for blob in tips.blobs.into_iter().chain(loose_blobs) {
            self.add_blob(blob, None, None, None);
        }
        tips.tags.sort();
        tips.tags.dedup();
        for tag in tips.tags {
            self.scan_tag_message(tag);
        }
    }

    /// `--all-objects`: every commit, blob and tag in the object database, reachable or
    /// not (blobs already reached through a tree keep their path).
    fn all_objects(&mut self) -> (Vec<Oid>, Vec<Oid>, Vec<Oid>) {
        let mut ids = Vec::new();
        let listed = self.repo.odb().and_then(|odb| {
            odb.foreach(|oid| {
                ids.push(*oid);
                true
            })?;
            Ok(odb)
        });
        let odb = match listed {
            Ok(odb) => odb,
            Err(e) => {
                self.walk.errors.push(ScanError::at_object(
                    "objects",
                    format!("cannot list objects: {}", e.message()),
                ));
                return Default::default();
            }
        };
        let (mut commits, mut blobs, mut tags) = (Vec::new(), Vec::new(), Vec::new());
        for oid in ids {
            match odb.read_header(oid) {
                Ok((_, ObjectType::Commit)) => commits.push(oid),
                Ok((_, ObjectType::Blob)) => blobs.push(oid),
                Ok((_, ObjectType::Tag)) => tags.push(oid),
                Ok(_) => {}
                Err(e) => self.error(oid, format!("cannot read object: {}", e.message())),
            }
        }
        (commits, blobs, tags)
    }

    fn walk_introduced(&mut self, tips: &[Oid], hide: &[Oid]) {
        let order = match range_order(self.repo, tips, hide) {
            Ok(order) => order,
            Err(e) => {
                self.walk.errors.push(ScanError::at_object(
                    "revwalk",
                    format!("cannot walk the selected commits: {}", e.message()),
                ));
                return;
            }
        };
        let mut visited: HashMap<Oid, u32> = HashMap::new();
        for result in order {
            let oid = match result {
                Ok(oid) => oid,
                Err(message) => {
                    self.walk
                        .errors
                        .push(ScanError::at_object("revwalk", message));
                    continue;
                }
            };
            let commit = match self.repo.find_commit(oid) {
                Ok(c) => c,
                Err(e) => {
                    self.error(oid, format!("cannot read commit: {}", e.message()));
                    continue;
                }
            };
            let index = self.walk.commits.len() as u32;
            self.walk.commits.push(oid);
            self.walk.trees.push(commit.tree_id());
            self.walk.times.push(commit.time().seconds());
            let parents = commit
                .parent_ids()
                .filter_map(|p| visited.get(&p).copied())
                .collect();
            self.walk.parents.push(parents);
            visited.insert(oid, index);
            self.scan_commit_message(oid);
            let parent_trees: Vec<Oid> = commit
                .parent_ids()
                .filter_map(|p| self.repo.find_commit(p).ok().map(|c| c.tree_id()))
                .collect();
            let tree = commit.tree_id();
            drop(commit);
            let Some((first, others)) = parent_trees.split_first() else {
                // A root commit (or one whose parents are beyond a shallow boundary)
                // introduces its whole tree.
                self.walk_tree(tree, Some(index));
                continue;
            };
            let mut introduced = Vec::new();
            self.diff_trees(Some(*first), tree, &mut introduced);
            for other in others {
                let Ok(other_tree) = self.repo.find_tree(*other) else {
                    continue;
                };
                introduced.retain(|(path, oid, _)| {
                    other_tree
                        .get_path(std::path::Path::new(path))
                        .map_or(true, |e| e.id() != *oid)
                });
            }
            for (path, oid, base) in introduced {
                self.add_blob(oid, Some(path), Some(index), base);
            }
        }
    }

    /// The (path, blob) pairs of `new` that `old` does not have at the same path.
    /// Walked with an explicit stack (no recursion) to [`MAX_TREE_DEPTH`] levels; a
    /// pair of trees already compared is not compared again beyond what path-restricted
    /// rules need (see [`Walker::expand`]).
    fn diff_trees(
        &mut self,
        old: Option<Oid>,
        new: Oid,
        out: &mut Vec<(String, Oid, Option<Oid>)>,
    ) {
        self.paths.reset();
        let mut stack = vec![(old, new, ROOT_NODE)];
        let mut subtrees = Vec::new();
        while let Some((old, new, node)) = stack.pop() {
            if old == Some(new) {
                continue;
            }
            let pair = (old.map(|o| key(&o)), key(&new));
            if !self.expand_pair(pair) {
                continue;
            }
            let new_tree = match self.repo.find_tree(new) {
                Ok(t) => t,
                Err(e) => {
                    let at = self.paths.at(node);
                    self.error(new, format!("cannot read tree{at}: {}", e.message()));
                    continue;
                }
            };
            let old_tree = match old.map(|o| self.repo.find_tree(o)) {
                Some(Ok(t)) => Some(t),
                Some(Err(e)) => {
                    let oid = old.unwrap_or(new);
                    let at = self.paths.at(node);
                    self.error(oid, format!("cannot read tree{at}: {}", e.message()));
                    None
                }
                None => None,
            };
            for entry in new_tree.iter() {
                let name = entry.name_bytes();
                let before = old_tree
                    .as_ref()
                    .and_then(|t| t.get_name_bytes(name))
                    .map(|e| (e.kind(), e.id()));
                match entry.kind() {
                    Some(ObjectType::Tree) => {
                        let old_sub = before
                            .filter(|(k, _)| *k == Some(ObjectType::Tree))
                            .map(|(_, id)| id);
                        if let Some(child) = self.descend(node, name, entry.id()) {
                            subtrees.push((old_sub, entry.id(), child));
                        }
                    }
                    Some(ObjectType::Blob) => {
                        if before == Some((Some(ObjectType::Blob), entry.id())) {
                            continue;
                        }
                        if entry.filemode() == MODE_LINK as i32 {
                            self.walk.symlinks += 1;
                        } else {
                            let base = before
                                .filter(|(k, _)| *k == Some(ObjectType::Blob))
                                .map(|(_, id)| id);
                            out.push((self.paths.path(node, Some(name)), entry.id(), base));
                        }
                    }
                    Some(ObjectType::Commit) => {
                        let path = self.paths.path(node, Some(name));
                        self.walk.gitlinks.insert(path);
                    }
                    _ => {}
                }
            }
            drop(new_tree);
            drop(old_tree);
            stack.extend(subtrees.drain(..).rev());
        }
    }

    /// Whether tree `tree` met at the path whose hash is `path_hash` is to be walked:
    /// not if it was walked at that path already (an older commit had it), nor if it
    /// was walked at [`TREE_PATHS_CHECKED`] other paths (once when no rule is
    /// path-restricted). Its blobs are known after the first walk; walking it at other
    /// paths only serves path-restricted rules, and a git bomb (one tree reached
    /// through 10 subtrees per level) must not be walked once per path.
    fn expand(&mut self, tree: Key, path_hash: u64) -> bool {
        if !self.seen_trees.insert((tree, path_hash)) {
            return false;
        }
        self.expand_pair((None, tree))
    }

    /// Counts one more walk of a tree (or a compared pair of trees) against the limit
    /// [`Walker::expand`] describes.
    fn expand_pair(&mut self, pair: (Option<Key>, Key)) -> bool {
        let limit = if self.restricted.is_empty() {
            1
        } else {
            TREE_PATHS_CHECKED
        };
        let walked = self.expansions.entry(pair).or_insert(0);
        if *walked >= limit {
            if limit > 1 {
                self.unchecked_paths += 1;
            }
            return false;
        }
        *walked += 1;
        true
    }

    /// The path node of subtree `name` (id `oid`) under `node`, or `None` (and an
    /// error, once per tree) when it would nest deeper than [`MAX_TREE_DEPTH`] levels or
    /// make a path longer than [`MAX_PATH_BYTES`].
    fn descend(&mut self, node: u32, name: &[u8], oid: Oid) -> Option<u32> {
        let depth = self.paths.depth(node) + 1;
        let len = self.paths.child_len(node, name);
        if depth <= MAX_TREE_DEPTH && len <= MAX_PATH_BYTES {
            return Some(self.paths.push(node, name));
        }
        if self.too_deep.insert(key(&oid)) {
            let prefix = shorten(&self.paths.path(node, None));
            self.error(
                oid,
                format!(
                    "tree nested too deep at {prefix} ({depth} levels, {len}-byte path; the limits are {MAX_TREE_DEPTH} levels and {MAX_PATH_BYTES} bytes): not walked further, the rest of the history is scanned"
                ),
            );
        }
        None
    }

    /// Registers every blob under `root`, skipping subtrees already walked (see
    /// [`Walker::expand`]). Walked with an explicit stack, not recursion, so no tree is
    /// too deep for the thread's stack; paths are kept as parent links, so a deep tree
    /// costs memory linear in its depth.
    fn walk_tree(&mut self, root: Oid, commit: Option<u32>) {
        self.paths.reset();
        let mut stack = vec![(root, ROOT_NODE, ROOT_PATH_HASH)];
        let mut subtrees = Vec::new();
        while let Some((tree_oid, node, prefix_hash)) = stack.pop() {
            let tree_key = key(&tree_oid);
            if !self.expand(tree_key, prefix_hash) {
                continue;
            }
            let object = match self.odb.map(|odb| odb.read(tree_oid)) {
                Some(Ok(o)) if o.kind() == ObjectType::Tree => o,
                Some(Ok(o)) => {
                    let kind = o.kind();
                    drop(o);
                    let at = self.paths.at(node);
                    self.error(tree_oid, format!("expected a tree{at}, found a {kind}"));
                    continue;
                }
                Some(Err(e)) => {
                    let at = self.paths.at(node);
                    self.error(tree_oid, format!("cannot read tree{at}: {}", e.message()));
                    continue;
                }
                None => {
                    self.error(tree_oid, "cannot open the object database".into());
                    continue;
                }
            };
            let id_len = tree_oid.as_bytes().len();
            let record = self.walk.dag.begin(tree_key);
            let mut malformed = false;
            for entry in RawTree::new(object.data(), id_len) {
                let Some(entry) = entry else {
                    malformed = true;
                    break;
                };
                match entry.mode & 0o170000 {
                    0o040000 => {
                        let name = fnv(entry.name);
                        if record {
                            self.walk.dag.subtree(name, key_of(entry.id));
                        }
                        if let Ok(oid) = Oid::from_bytes(entry.id) {
                            if let Some(child) = self.descend(node, entry.name, oid) {
                                subtrees.push((oid, child, path_hash(prefix_hash, name)));
                            }
                        }
                    }
                    MODE_LINK => self.walk.symlinks += 1,
                    MODE_GITLINK => {
                        let path = self.paths.path(node, Some(entry.name));
                        self.walk.gitlinks.insert(path);
                    }
                    _ => {
                        let name = fnv(entry.name);
                        let hash = path_hash(prefix_hash, name);
                        let index = self.add_tree_blob(entry.id, node, hash, entry.name, commit);
                        if record {
                            self.walk.dag.blob(name, index);
                        }
                    }
                }
            }
            if record {
                self.walk.dag.finish();
            }
            drop(object);
            if malformed {
                let at = self.paths.at(node);
                self.error(tree_oid, format!("malformed tree{at}"));
            }
            stack.extend(subtrees.drain(..).rev());
        }
    }

    /// A blob met in a tree at `node/name` (whose path hash is `hash`). Most blobs met
    /// again sit at a path they were met at before; that case is settled without
    /// building the path, and every other in O(1) (a set of (blob, path hash)).
    fn add_tree_blob(
        &mut self,
        id: &[u8],
        node: u32,
        hash: u64,
        name: &[u8],
        commit: Option<u32>,
    ) -> u32 {
        let Some(&index) = self.blob_index.get(&key_of(id)) else {
            let Ok(oid) = Oid::from_bytes(id) else {
                return u32::MAX;
            };
            let path = self.paths.path(node, Some(name));
            let index = self.add_blob(oid, Some(path), commit, None);
            self.first_path[index as usize] = hash;
            return index;
        };
        if self.restricted.is_empty() || self.first_path[index as usize] == hash {
            return index;
        }
        if self.other_paths.insert((index, hash)) {
            let path = self.paths.path(node, Some(name));
            self.note_other_path(index, path, commit);
        }
        index
    }

    fn add_blob(
        &mut self,
        oid: Oid,
        path: Option<String>,
        commit: Option<u32>,
        base: Option<Oid>,
    ) -> u32 {
        if let Some(&index) = self.blob_index.get(&key(&oid)) {
            if let Some(path) = path {
                if !self.restricted.is_empty() {
                    self.note_other_path(index, path, commit);
                }
            }
            return index;
        }
        let index = self.walk.entries.len() as u32;
        self.walk.entries.push(BlobEntry {
            oid,
            first: Placement {
                path: path.map(Arc::from),
                commit,
                base,
            },
            extra: Vec::new(),
        });
        self.blob_index.insert(key(&oid), index);
        self.first_path.push(0);
        (self.on_new_blob)(index, &self.walk.entries[index as usize]);
        index
    }

    /// A known blob met at another path: keep the placement if path-restricted rules
    /// apply there differently than at every placement kept so far.
    fn note_other_path(&mut self, index: u32, path: String, commit: Option<u32>) {
        let entry = &self.walk.entries[index as usize];
        if entry.first.path.as_deref() == Some(path.as_str())
            || entry
                .extra
                .iter()
                .any(|e| e.path.as_deref() == Some(path.as_str()))
        {
            return;
        }
        let rules = self.matcher.rules();
        let signature = |p: Option<&str>| -> Vec<bool> {
            self.restricted
                .iter()
                .map(|&r| rules[r].applies_to(p))
                .collect()
        };
        let wanted = signature(Some(&path));
        let known = std::iter::once(&entry.first)
            .chain(entry.extra.iter())
            .any(|e| signature(e.path.as_deref()) == wanted);
        if !known {
            self.walk.entries[index as usize].extra.push(Placement {
                path: Some(Arc::from(path)),
                commit,
                base: None,
            });
        }
    }

    fn scan_commit_message(&mut self, oid: Oid) {
        let Ok(commit) = self.repo.find_commit(oid) else {
            return;
        };
        let mut found = scan_message(self.matcher, commit.message_bytes());
        // The author's name and email are shown beside every finding of the commit: a
        // token pasted there is a finding too (location `author`), and is redacted.
        let author = commit.author();
        let mut ident = author.name_bytes().to_vec();
        ident.extend_from_slice(b" <");
        ident.extend_from_slice(author.email_bytes());
        ident.push(b'>');
        let origin = Origin {
            path: None,
            location: crate::finding::Location::Author,
        };
        found.extend(scan_bytes(self.matcher, &ident, origin));
        if found.is_empty() {
            return;
        }
        let info = commit_info_of(self.matcher, &commit);
        for mut f in found {
            f.commit = Some(info.clone());
            self.walk.message_findings.push(f);
        }
    }

    fn scan_tag_message(&mut self, oid: Oid) {
        let tag = match self.repo.find_tag(oid) {
            Ok(t) => t,
            Err(e) => {
                self.error(oid, format!("cannot read tag: {}", e.message()));
                return;
            }
        };
        let Some(message) = tag.message_bytes() else {
            return;
        };
        let found = scan_message(self.matcher, message);
        if found.is_empty() {
            return;
        }
        let name = String::from_utf8_lossy(tag.name_bytes()).into_owned();
        let first_line = message.split(|b| *b == b'\n').next().unwrap_or_default();
        let first_line = redact_secrets(self.matcher, first_line);
        let (author, email, date) = match tag.tagger() {
            Some(s) => signature_parts(&s),
            None => (String::new(), String::new(), String::new()),
        };
        let info = CommitInfo {
            commit: oid.to_string(),
            author,
            email,
            date,
            summary: format!("tag {name}: {first_line}"),
            other_commits: 0,
            other_paths: 0,
        };
        for mut f in found {
            f.commit = Some(info.clone());
            self.walk.message_findings.push(f);
        }
    }
}

fn scan_message(matcher: &Matcher, message: &[u8]) -> Vec<Finding> {
    scan_bytes(
        matcher,
        message,
        Origin {
            path: None,
            location: Location::CommitMessage,
        },
    )
}

#[cfg(test)]
#[path = "walk_fuzz.rs"]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_trees_parse_and_malformed_ones_stop() {
        let mut data = b"100644 a.txt\0".to_vec();
        data.extend([1u8; 20]);
        data.extend(b"40000 dir\0");
        data.extend([2u8; 20]);
        let entries: Vec<_> = RawTree::new(&data, 20).collect();
        assert_eq!(entries.len(), 2);
        let first = entries[0].as_ref().unwrap();
        assert_eq!(
            (first.mode, first.name, first.id),
            (0o100644, &b"a.txt"[..], &[1u8; 20][..])
        );
        let second = entries[1].as_ref().unwrap();
        assert_eq!((second.mode, second.name), (0o40000, &b"dir"[..]));
        // Truncated id, then a bad mode: one `None` each, and nothing after it.
        let truncated: Vec<_> = RawTree::new(&data[..data.len() - 3], 20).collect();
        assert!(truncated[0].is_some() && truncated[1].is_none() && truncated.len() == 2);
        let bad: Vec<_> = RawTree::new(b"10x644 a\0aaaaaaaaaaaaaaaaaaaa", 20).collect();
        assert_eq!(bad.len(), 1);
        assert!(bad[0].is_none());
    }

    #[test]
    fn path_hashes_tell_paths_apart() {
        let ab = path_hash(path_hash(ROOT_PATH_HASH, fnv(b"a")), fnv(b"b"));
        let ba = path_hash(path_hash(ROOT_PATH_HASH, fnv(b"b")), fnv(b"a"));
        assert_ne!(ab, ba);
        assert_ne!(path_hash(ROOT_PATH_HASH, fnv(b"ab")), ab);
    }

    #[test]
    fn rfc3339_keeps_the_authors_offset() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00+00:00");
        // 2020-02-29T12:34:56Z seen from UTC+02:00 and UTC-05:30.
        assert_eq!(rfc3339(1_582_979_696, 120), "2020-02-29T14:34:56+02:00");
        assert_eq!(rfc3339(1_582_979_696, -330), "2020-02-29T07:04:56-05:30");
        assert_eq!(rfc3339(-1, 0), "1969-12-31T23:59:59+00:00");
        // Hostile dates and offsets: shown raw, never wrapped or a panic.
        assert_eq!(rfc3339(i64::MAX, 0), format!("@{} +0", i64::MAX));
        assert_eq!(rfc3339(0, i32::MIN), format!("@0 {}", i32::MIN));
    }
}
