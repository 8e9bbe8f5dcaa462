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

use super::git_count::TreeDag;
use super::ScanError;
use crate::blob::{scan_bytes, Origin};
use crate::finding::{redact, CommitInfo, Finding, Location};
use crate::matcher::Matcher;
use git2::{ErrorCode, ObjectType, Oid, Repository};
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Git's mode for a symbolic link: its blob holds the link target, not content.
const SYMLINK_MODE: i32 = 0o120000;

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
}

/// Every ref under `refs/` (branches, tags, remotes, stash, notes, ...) and HEAD, peeled
/// through annotated tags.
pub fn ref_tips(repo: &Repository) -> Result<Tips, git2::Error> {
    let mut tips = Tips::default();
    let mut starts: Vec<(String, Oid)> = Vec::new();
    if let Ok(head) = repo.head() {
        if let Some(oid) = head.target() {
            starts.push(("HEAD".into(), oid));
        }
    }
    for reference in repo.references()? {
        let reference = match reference {
            Ok(r) => r,
            Err(e) => {
                tips.errors.push(ScanError::at_object(
                    "refs",
                    format!("cannot read a ref: {}", e.message()),
                ));
                continue;
            }
        };
        let name = String::from_utf8_lossy(reference.name_bytes()).into_owned();
        // A symbolic ref whose target is gone (a deleted remote HEAD) keeps nothing alive.
        if let Some(oid) = reference.resolve().ok().and_then(|r| r.target()) {
            starts.push((name, oid));
        }
    }
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
    Ok(tips)
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
    blob_index: HashMap<Key, u32, IdBuild>,
    /// Hash of the path each blob was first met at (same index as `walk.entries`), and
    /// of the other paths for the few blobs met at several: met again at a known path,
    /// a blob needs no further look.
    first_path: Vec<u64>,
    other_paths: HashMap<u32, Vec<u64>>,
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
        blob_index: HashMap::default(),
        first_path: Vec::new(),
        other_paths: HashMap::new(),
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
        let mut tips = match ref_tips(self.repo) {
            Ok(t) => t,
            Err(e) => {
                self.walk.errors.push(ScanError::at_object(
                    "refs",
                    format!("cannot list refs: {}", e.message()),
                ));
                Tips::default()
            }
        };
        self.walk.errors.append(&mut tips.errors);
        let mut loose_blobs = Vec::new();
        if all_objects {
            let (commits, blobs, tags) = self.all_objects();
            tips.commits.extend(commits);
            tips.tags.extend(tags);
            loose_blobs = blobs;
        }
        let order = topo_order(self.repo, &tips.commits, &mut self.walk.errors);
        for (oid, tree) in order {
            let index = self.walk.commits.len() as u32;
            self.walk.commits.push(oid);
            self.walk.trees.push(tree);
            self.scan_commit_message(oid);
            self.walk_tree(tree, "", ROOT_PATH_HASH, Some(index));
        }
        for tree in tips.trees {
            self.walk_tree(tree, "", ROOT_PATH_HASH, None);
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
                self.walk_tree(tree, "", ROOT_PATH_HASH, Some(index));
                continue;
            };
            let mut introduced = Vec::new();
            self.diff_trees(Some(*first), tree, "", &mut introduced);
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
    fn diff_trees(
        &mut self,
        old: Option<Oid>,
        new: Oid,
        prefix: &str,
        out: &mut Vec<(String, Oid, Option<Oid>)>,
    ) {
        if old == Some(new) {
            return;
        }
        let new_tree = match self.repo.find_tree(new) {
            Ok(t) => t,
            Err(e) => {
                self.error(
                    new,
                    format!("cannot read tree{}: {}", at(prefix), e.message()),
                );
                return;
            }
        };
        let old_tree = match old.map(|o| self.repo.find_tree(o)) {
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => {
                let oid = old.unwrap_or(new);
                self.error(
                    oid,
                    format!("cannot read tree{}: {}", at(prefix), e.message()),
                );
                None
            }
            None => None,
        };
        let mut subtrees = Vec::new();
        for entry in new_tree.iter() {
            let path = join(prefix, entry.name_bytes());
            let before = old_tree
                .as_ref()
                .and_then(|t| t.get_name_bytes(entry.name_bytes()))
                .map(|e| (e.kind(), e.id()));
            match entry.kind() {
                Some(ObjectType::Tree) => {
                    let old_sub = before
                        .filter(|(k, _)| *k == Some(ObjectType::Tree))
                        .map(|(_, id)| id);
                    subtrees.push((old_sub, entry.id(), path));
                }
                Some(ObjectType::Blob) => {
                    if before == Some((Some(ObjectType::Blob), entry.id())) {
                        continue;
                    }
                    if entry.filemode() == SYMLINK_MODE {
                        self.walk.symlinks += 1;
                    } else {
                        let base = before
                            .filter(|(k, _)| *k == Some(ObjectType::Blob))
                            .map(|(_, id)| id);
                        out.push((path, entry.id(), base));
                    }
                }
                Some(ObjectType::Commit) => {
                    self.walk.gitlinks.insert(path);
                }
                _ => {}
            }
        }
        drop(new_tree);
        drop(old_tree);
        for (old_sub, new_sub, path) in subtrees {
            self.diff_trees(old_sub, new_sub, &path, out);
        }
    }

    /// Registers every blob under `tree`, skipping subtrees already walked at this path.
    /// `prefix_hash` is [`path_hash`] of `prefix`, passed down so no path is hashed
    /// twice.
    fn walk_tree(&mut self, tree_oid: Oid, prefix: &str, prefix_hash: u64, commit: Option<u32>) {
        let tree_key = key(&tree_oid);
        if !self.seen_trees.insert((tree_key, prefix_hash)) {
            return;
        }
        let object = match self.odb.map(|odb| odb.read(tree_oid)) {
            Some(Ok(o)) if o.kind() == ObjectType::Tree => o,
            Some(Ok(o)) => {
                let kind = o.kind();
                drop(o);
                self.error(
                    tree_oid,
                    format!("expected a tree{}, found a {kind}", at(prefix)),
                );
                return;
            }
            Some(Err(e)) => {
                self.error(
                    tree_oid,
                    format!("cannot read tree{}: {}", at(prefix), e.message()),
                );
                return;
            }
            None => {
                self.error(tree_oid, "cannot open the object database".into());
                return;
            }
        };
        let id_len = tree_oid.as_bytes().len();
        let mut subtrees = Vec::new();
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
                        let hash = path_hash(prefix_hash, name);
                        subtrees.push((oid, join(prefix, entry.name), hash));
                    }
                }
                0o120000 => self.walk.symlinks += 1,
                0o160000 => {
                    self.walk.gitlinks.insert(join(prefix, entry.name));
                }
                _ => {
                    let name = fnv(entry.name);
                    let hash = path_hash(prefix_hash, name);
                    let index = self.add_tree_blob(entry.id, prefix, hash, entry.name, commit);
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
            self.error(tree_oid, format!("malformed tree{}", at(prefix)));
        }
        for (oid, path, hash) in subtrees {
            self.walk_tree(oid, &path, hash, commit);
        }
    }

    /// A blob met in a tree at `prefix/name` (whose hash is `hash`). Most blobs met
    /// again sit at a path they were met at before; that case is settled without
    /// building the path.
    fn add_tree_blob(
        &mut self,
        id: &[u8],
        prefix: &str,
        hash: u64,
        name: &[u8],
        commit: Option<u32>,
    ) -> u32 {
        let Some(&index) = self.blob_index.get(&key_of(id)) else {
            let Ok(oid) = Oid::from_bytes(id) else {
                return u32::MAX;
            };
            let index = self.add_blob(oid, Some(join(prefix, name)), commit, None);
            self.first_path[index as usize] = hash;
            return index;
        };
        if self.restricted.is_empty() || self.first_path[index as usize] == hash {
            return index;
        }
        let others = self.other_paths.entry(index).or_default();
        if !others.contains(&hash) {
            others.push(hash);
            self.note_other_path(index, join(prefix, name), commit);
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
        let found = scan_message(self.matcher, commit.message_bytes());
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

/// Commits reachable from `tips`, parents before children; among commits whose parents
/// are all emitted, the oldest (committer time) first. A commit that cannot be read is
/// reported and its ancestry skipped; in a shallow clone the missing parents beyond the
/// boundary are expected and not errors.
fn topo_order(repo: &Repository, tips: &[Oid], errors: &mut Vec<ScanError>) -> Vec<(Oid, Oid)> {
    struct Node {
        oid: Oid,
        tree: Oid,
        time: i64,
        parents: Vec<Oid>,
    }
    let shallow = repo.is_shallow();
    let mut index: HashMap<Oid, usize> = HashMap::new();
    let mut failed: HashSet<Oid> = HashSet::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut stack: Vec<Oid> = tips.to_vec();
    while let Some(oid) = stack.pop() {
        if index.contains_key(&oid) || failed.contains(&oid) {
            continue;
        }
        match repo.find_commit(oid) {
            Ok(commit) => {
                let parents: Vec<Oid> = commit.parent_ids().collect();
                stack.extend(parents.iter().copied());
                index.insert(oid, nodes.len());
                nodes.push(Node {
                    oid,
                    tree: commit.tree_id(),
                    time: commit.time().seconds(),
                    parents,
                });
            }
            Err(e) => {
                failed.insert(oid);
                if !(shallow && e.code() == ErrorCode::NotFound) {
                    errors.push(ScanError::at_object(
                        oid.to_string(),
                        format!("cannot read commit: {}", e.message()),
                    ));
                }
            }
        }
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut waiting: Vec<usize> = vec![0; nodes.len()];
    for (i, node) in nodes.iter().enumerate() {
        let mut parents: Vec<usize> = node
            .parents
            .iter()
            .filter_map(|p| index.get(p).copied())
            .collect();
        parents.sort_unstable();
        parents.dedup();
        waiting[i] = parents.len();
        for p in parents {
            children[p].push(i);
        }
    }
    let mut ready: BinaryHeap<Reverse<(i64, usize)>> = (0..nodes.len())
        .filter(|&i| waiting[i] == 0)
        .map(|i| Reverse((nodes[i].time, i)))
        .collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(Reverse((_, i))) = ready.pop() {
        order.push((nodes[i].oid, nodes[i].tree));
        for &c in &children[i] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push(Reverse((nodes[c].time, c)));
            }
        }
    }
    order
}

type RangeItem = Result<Oid, String>;

/// Commits reachable from `tips` and not from `hide`, parents first (libgit2's revwalk,
/// which stops early at the hidden side instead of walking all of it).
fn range_order(
    repo: &Repository,
    tips: &[Oid],
    hide: &[Oid],
) -> Result<Vec<RangeItem>, git2::Error> {
    let mut revwalk = repo.revwalk()?;
    revwalk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME | git2::Sort::REVERSE)?;
    for tip in tips {
        revwalk.push(*tip)?;
    }
    for h in hide {
        revwalk.hide(*h)?;
    }
    let mut out = Vec::new();
    for item in revwalk {
        match item {
            Ok(oid) => out.push(Ok(oid)),
            Err(e) => {
                out.push(Err(format!("cannot walk commits: {}", e.message())));
                break;
            }
        }
    }
    Ok(out)
}

/// 1-based line numbers of blob `new` that its diff from blob `old` adds (the `+`
/// lines of `git diff`, with no context).
pub fn added_lines(repo: &Repository, old: Oid, new: Oid) -> Result<BTreeSet<usize>, git2::Error> {
    let old = repo.find_blob(old)?;
    let new = repo.find_blob(new)?;
    let mut options = git2::DiffOptions::new();
    options.context_lines(0).force_text(true);
    let patch = git2::Patch::from_blobs(&old, None, &new, None, Some(&mut options))?;
    let mut added = BTreeSet::new();
    for hunk in 0..patch.num_hunks() {
        for n in 0..patch.num_lines_in_hunk(hunk)? {
            let line = patch.line_in_hunk(hunk, n)?;
            if line.origin() == '+' {
                if let Some(number) = line.new_lineno() {
                    added.insert(number as usize);
                }
            }
        }
    }
    Ok(added)
}

/// The [`CommitInfo`] of a commit (counts zero), or `None` if it cannot be read.
pub fn commit_info(repo: &Repository, matcher: &Matcher, oid: Oid) -> Option<CommitInfo> {
    repo.find_commit(oid)
        .ok()
        .map(|c| commit_info_of(matcher, &c))
}

fn commit_info_of(matcher: &Matcher, commit: &git2::Commit<'_>) -> CommitInfo {
    let (author, email, date) = signature_parts(&commit.author());
    CommitInfo {
        commit: commit.id().to_string(),
        author,
        email,
        date,
        summary: redact_secrets(matcher, commit.summary_bytes().unwrap_or_default()),
        other_commits: 0,
        other_paths: 0,
    }
}

/// A message line with every secret in it redacted: summaries are printed in every
/// report, and a token pasted into a subject line must not leak through them.
pub fn redact_secrets(matcher: &Matcher, text: &[u8]) -> String {
    let mut raw = Vec::new();
    matcher.find(text, None, &mut raw);
    let mut out = String::new();
    let mut at = 0;
    for m in raw {
        if m.start < at {
            continue;
        }
        out.push_str(&String::from_utf8_lossy(&text[at..m.start]));
        out.push_str(&redact(&String::from_utf8_lossy(&text[m.start..m.end])));
        at = m.end;
    }
    out.push_str(&String::from_utf8_lossy(&text[at..]));
    out
}

fn signature_parts(sig: &git2::Signature<'_>) -> (String, String, String) {
    (
        String::from_utf8_lossy(sig.name_bytes()).into_owned(),
        String::from_utf8_lossy(sig.email_bytes()).into_owned(),
        rfc3339(sig.when().seconds(), sig.when().offset_minutes()),
    )
}

/// `2024-05-06T07:08:09+02:00`: the local time as the author's clock showed it, and
/// the offset, so the instant and the author's time zone both survive.
pub fn rfc3339(seconds: i64, offset_minutes: i32) -> String {
    let local = seconds + i64::from(offset_minutes) * 60;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        off / 60,
        off % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's
/// algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn join(prefix: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    let mut path = String::with_capacity(prefix.len() + 1 + name.len());
    if !prefix.is_empty() {
        path.push_str(prefix);
        path.push('/');
    }
    path.push_str(&name);
    path
}

fn at(prefix: &str) -> String {
    if prefix.is_empty() {
        String::new()
    } else {
        format!(" {prefix}/")
    }
}

/// Hashes object ids by their leading bytes: they are already uniformly random, so
/// SipHash's work buys nothing on the walk's hottest maps.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.0 = self.0.rotate_left(23) ^ u64::from_le_bytes(word);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(23) ^ n;
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

pub type IdBuild = BuildHasherDefault<IdHasher>;

/// An object id as a plain byte array: compared inline, where `Oid`'s equality is a
/// call into libgit2 (it showed in profiles of the walk's maps).
pub type Key = [u8; 20];

pub fn key(oid: &Oid) -> Key {
    key_of(oid.as_bytes())
}

/// The first 20 bytes of a raw id (all of a SHA-1, and unique enough of a SHA-256).
pub fn key_of(id: &[u8]) -> Key {
    let mut k = [0u8; 20];
    let n = id.len().min(20);
    k[..n].copy_from_slice(&id[..n]);
    k
}

/// FNV-1a for short byte strings (file names) in hash maps.
#[derive(Clone, Copy)]
pub struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> Self {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// One entry of a raw tree object.
struct RawEntry<'a> {
    mode: u32,
    name: &'a [u8],
    id: &'a [u8],
}

/// The entries of a raw tree object: `<octal mode> <name>\0<raw id>`, repeated.
/// Yields `None` (and stops) at malformed data.
struct RawTree<'a> {
    data: &'a [u8],
    id_len: usize,
    failed: bool,
}

impl<'a> RawTree<'a> {
    fn new(data: &'a [u8], id_len: usize) -> Self {
        RawTree {
            data,
            id_len,
            failed: false,
        }
    }
}

impl<'a> Iterator for RawTree<'a> {
    type Item = Option<RawEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() || self.failed {
            return None;
        }
        let parsed = (|| {
            let space = memchr::memchr(b' ', self.data)?;
            let mut mode = 0u32;
            for &b in &self.data[..space] {
                if !(b'0'..=b'7').contains(&b) {
                    return None;
                }
                mode = mode.checked_mul(8)? + u32::from(b - b'0');
            }
            let rest = &self.data[space + 1..];
            let nul = memchr::memchr(0, rest)?;
            let name = &rest[..nul];
            let id = rest.get(nul + 1..nul + 1 + self.id_len)?;
            let consumed = space + 1 + nul + 1 + self.id_len;
            Some((RawEntry { mode, name, id }, consumed))
        })();
        match parsed {
            Some((entry, consumed)) => {
                self.data = &self.data[consumed..];
                Some(Some(entry))
            }
            None => {
                self.failed = true;
                Some(None)
            }
        }
    }
}

/// Hash of the empty path (the root of a tree walk).
const ROOT_PATH_HASH: u64 = 0x51_7cc1_b727_220a;

/// FNV-1a of a file name.
pub fn fnv(name: &[u8]) -> u64 {
    let mut h = FnvHasher::default();
    h.write(name);
    h.finish()
}

/// The hash of `dir/name` from the hash of `dir` and the [`fnv`] of `name`: paths are
/// hashed one component at a time as the walk descends.
fn path_hash(dir: u64, name: u64) -> u64 {
    (dir.rotate_left(29) ^ name).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

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
    }
}
