//! For the few blobs that hold secrets: how many of the visited commits carry each one
//! (at any path), and at how many distinct paths it appears in their trees.
//!
//! The history walk reads every distinct tree once; while it does, it records each
//! tree's entries in a compact [`TreeDag`] (child index and name hash, 16 bytes an
//! entry), so this count needs no second read of the repository. Past a memory budget
//! the DAG is dropped and the trees are read again instead (from libgit2), only when
//! there is something to count.

use super::ids::{fnv, key, IdBuild, Key};
use super::paths::MAX_TREE_DEPTH;
use git2::{ObjectType, Oid, Repository};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// Entries the DAG may hold before it gives up: 4 Mi entries of 16 bytes is 64 MiB,
/// inside the scan's memory budget beside the blobs in flight.
pub const DAG_BUDGET_ENTRIES: usize = 4 << 20;

/// A child in the DAG: a subtree (by tree index) or a blob (by the walk's blob index).
#[derive(Debug, Clone, Copy)]
struct Child {
    /// FNV-1a hash of the entry's name: paths are told apart by their names' hashes.
    name: u64,
    /// High bit set: a tree index; otherwise a blob index.
    node: u32,
}

const TREE_BIT: u32 = 1 << 31;

/// Trees as the walk met them: which subtrees and blobs each holds, under which name.
#[derive(Debug, Default)]
pub struct TreeDag {
    index: HashMap<Key, u32, IdBuild>,
    /// Entries of each tree; `None` until the tree was read (or if it could not be).
    children: Vec<Option<Box<[Child]>>>,
    entries: usize,
    /// Set once the budget is exceeded: the DAG is then empty and unused.
    pub overflowed: bool,
    /// The tree being recorded, between [`TreeDag::begin`] and [`TreeDag::finish`].
    pending: Vec<Child>,
    current: Option<u32>,
}

impl TreeDag {
    fn tree_index(&mut self, oid: Key) -> u32 {
        if let Some(&i) = self.index.get(&oid) {
            return i;
        }
        let i = self.children.len() as u32;
        self.children.push(None);
        self.index.insert(oid, i);
        i
    }

    /// Starts recording `tree`; false if it is recorded already or the DAG gave up.
    pub fn begin(&mut self, tree: Key) -> bool {
        if self.overflowed {
            return false;
        }
        let i = self.tree_index(tree);
        if self.children[i as usize].is_some() {
            return false;
        }
        self.current = Some(i);
        self.pending.clear();
        true
    }

    /// A subtree entry; `name` is the [`fnv`] hash of its name.
    pub fn subtree(&mut self, name: u64, tree: Key) {
        let node = self.tree_index(tree) | TREE_BIT;
        self.pending.push(Child { name, node });
    }

    /// A blob entry; `name` is the [`fnv`] hash of its name.
    pub fn blob(&mut self, name: u64, blob_index: u32) {
        self.pending.push(Child {
            name,
            node: blob_index,
        });
    }

    pub fn finish(&mut self) {
        let Some(i) = self.current.take() else {
            return;
        };
        self.entries += self.pending.len();
        if self.entries > DAG_BUDGET_ENTRIES || self.children.len() as u32 >= TREE_BIT {
            *self = TreeDag {
                overflowed: true,
                ..TreeDag::default()
            };
            return;
        }
        self.children[i as usize] = Some(self.pending.as_slice().into());
    }
}

/// Paths of one target blob under one tree beyond which they are counted, not listed:
/// a git bomb (one blob reached through 10 subtrees per level) puts 10^10 paths under
/// its root, which can be counted but never enumerated.
pub const PATHS_LISTED: u64 = 1024;

/// How many of the visited commits hold a blob (at any path), and at how many distinct
/// paths it appears in their trees.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Occurrences {
    pub commits: usize,
    pub paths: usize,
    /// The roots (indices into the `roots` given) whose tree holds a blob of the group,
    /// in order: what an incident needs to say where a secret still is.
    pub holders: Vec<u32>,
    /// Some tree held more than [`PATHS_LISTED`] paths of the group: those were
    /// counted, not listed, so `paths` is the largest count in one commit (a lower
    /// bound of the distinct paths across commits).
    pub counted: bool,
}

/// Counts, for each group of target blobs (`groups[g]` lists indices into `targets`,
/// which are `(blob index in the walk, blob id)`), the commits among `roots` (each
/// visited commit's root tree) whose tree holds any blob of the group, and the distinct
/// paths the group's blobs appear at. Paths are interned as (name hash, rest) pairs: no
/// path string is built. Each tree is visited once by id, whatever the number of paths
/// it sits at, and trees are walked with an explicit stack (no recursion), to
/// [`MAX_TREE_DEPTH`] levels.
pub fn count_occurrences(
    repo: &Repository,
    dag: Option<&TreeDag>,
    roots: &[Oid],
    targets: &[(u32, Oid)],
    groups: &[Vec<usize>],
) -> Vec<Occurrences> {
    let mut result = vec![Occurrences::default(); groups.len()];
    if targets.is_empty() {
        return result;
    }
    let mut of_target: Vec<Vec<usize>> = vec![Vec::new(); targets.len()];
    for (g, members) in groups.iter().enumerate() {
        for &t in members {
            of_target[t].push(g);
        }
    }
    let mut counter = Counter {
        repo,
        dag: dag.filter(|d| !d.overflowed),
        by_index: {
            let len = targets
                .iter()
                .map(|(i, _)| *i as usize + 1)
                .max()
                .unwrap_or(0);
            let mut v = vec![u32::MAX; len];
            for (t, (i, _)) in targets.iter().enumerate() {
                v[*i as usize] = t as u32;
            }
            v
        },
        by_oid: targets
            .iter()
            .enumerate()
            .map(|(t, (_, o))| (*o, t as u32))
            .collect(),
        memo: HashMap::default(),
        dag_memo: vec![None; dag.map_or(0, |d| d.children.len())],
        paths: HashMap::default(),
        empty: Rc::new(Found::default()),
    };
    let mut last_hit = vec![usize::MAX; groups.len()];
    let mut listed: HashSet<u64, IdBuild> = HashSet::default();
    let mut listed_count = vec![0u64; groups.len()];
    let mut largest = vec![0u64; groups.len()];
    let mut in_root = vec![0u64; groups.len()];
    for (i, root) in roots.iter().enumerate() {
        let found = counter.under_oid(*root);
        for &(t, n) in &found.totals {
            for &g in &of_target[t as usize] {
                if last_hit[g] != i {
                    last_hit[g] = i;
                    in_root[g] = 0;
                    result[g].commits += 1;
                    result[g].holders.push(i as u32);
                }
                // Within one tree a path holds one blob: the group's paths add up.
                in_root[g] = in_root[g].saturating_add(n);
                largest[g] = largest[g].max(in_root[g]);
                if n > PATHS_LISTED {
                    result[g].counted = true;
                }
            }
        }
        for &(t, path) in &found.listed {
            for &g in &of_target[t as usize] {
                if listed.insert((g as u64) << 32 | u64::from(path)) {
                    listed_count[g] += 1;
                }
            }
        }
    }
    for (g, r) in result.iter_mut().enumerate() {
        let paths = listed_count[g].max(largest[g]);
        r.paths = usize::try_from(paths).unwrap_or(usize::MAX);
    }
    result
}

/// The target blobs under one tree: for each target its number of paths there
/// (`totals`, sorted by target), and the paths themselves (`listed`, as path ids) for
/// the targets with at most [`PATHS_LISTED`] of them.
#[derive(Debug, Default)]
struct Found {
    totals: Vec<(u32, u64)>,
    listed: Vec<(u32, u32)>,
}

/// A tree in the DAG the walk recorded, or one read again from the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Dag(u32),
    Repo(Oid),
}

/// One entry of a tree: a target blob (or another blob: `None`), or a subtree.
#[derive(Debug, Clone, Copy)]
enum Kid {
    Blob { name: u64, target: Option<u32> },
    Tree { name: u64, node: Node },
}

/// A tree on the walk's stack, with the entry to look at next.
struct Frame {
    node: Node,
    kids: Vec<Kid>,
    next: usize,
    depth: usize,
}

/// Occurrences of target blobs under trees, memoised per tree.
struct Counter<'a> {
    repo: &'a Repository,
    dag: Option<&'a TreeDag>,
    /// Target number by the walk's blob index (DAG) and by blob id (trees read again).
    by_index: Vec<u32>,
    by_oid: HashMap<Oid, u32, IdBuild>,
    memo: HashMap<Oid, Rc<Found>, IdBuild>,
    /// Per tree index of the DAG.
    dag_memo: Vec<Option<Rc<Found>>>,
    /// Path ids: (first component's name hash, id of the rest or `u32::MAX`).
    paths: HashMap<(u64, u32), u32, IdBuild>,
    empty: Rc<Found>,
}

impl Counter<'_> {
    fn under_oid(&mut self, tree: Oid) -> Rc<Found> {
        let node = self
            .dag
            .and_then(|dag| {
                let &i = dag.index.get(&key(&tree))?;
                dag.children[i as usize].is_some().then_some(Node::Dag(i))
            })
            .unwrap_or(Node::Repo(tree));
        self.under(node)
    }

    fn memoised(&self, node: Node) -> Option<Rc<Found>> {
        match node {
            Node::Dag(i) => self.dag_memo.get(i as usize).cloned().flatten(),
            Node::Repo(oid) => self.memo.get(&oid).cloned(),
        }
    }

    /// Post-order over the trees below `root` not memoised yet, with an explicit stack:
    /// a tree is combined once all its subtrees are.
    fn under(&mut self, root: Node) -> Rc<Found> {
        if let Some(found) = self.memoised(root) {
            return found;
        }
        let mut stack = vec![self.frame(root, 0)];
        loop {
            let Some(top) = stack.last_mut() else {
                return self.empty.clone();
            };
            if let Some(&kid) = top.kids.get(top.next) {
                if let Kid::Tree { node, .. } = kid {
                    // Deeper than the walk goes: the walk reported it, and it counts
                    // as empty here.
                    if top.depth < MAX_TREE_DEPTH && self.memoised(node).is_none() {
                        let depth = top.depth + 1;
                        let frame = self.frame(node, depth);
                        stack.push(frame);
                        continue;
                    }
                }
                top.next += 1;
                continue;
            }
            let Some(frame) = stack.pop() else {
                return self.empty.clone();
            };
            let found = self.combine(&frame.kids);
            match frame.node {
                Node::Dag(i) => {
                    if let Some(slot) = self.dag_memo.get_mut(i as usize) {
                        *slot = Some(found.clone());
                    }
                }
                Node::Repo(oid) => {
                    self.memo.insert(oid, found.clone());
                }
            }
            if stack.is_empty() {
                return found;
            }
        }
    }

    /// The entries of a tree. Unreadable trees were reported by the walk already and
    /// count as empty here.
    fn frame(&self, node: Node, depth: usize) -> Frame {
        let mut kids = Vec::new();
        match node {
            Node::Dag(i) => {
                let dag = self.dag.expect("DAG nodes come from a DAG");
                for child in dag.children[i as usize].as_deref().unwrap_or_default() {
                    if child.node & TREE_BIT != 0 {
                        let sub = child.node & !TREE_BIT;
                        if dag.children[sub as usize].is_some() {
                            kids.push(Kid::Tree {
                                name: child.name,
                                node: Node::Dag(sub),
                            });
                        }
                    } else {
                        let target = self
                            .by_index
                            .get(child.node as usize)
                            .copied()
                            .filter(|t| *t != u32::MAX);
                        kids.push(Kid::Blob {
                            name: child.name,
                            target,
                        });
                    }
                }
            }
            Node::Repo(oid) => {
                if let Ok(tree) = self.repo.find_tree(oid) {
                    for entry in tree.iter() {
                        let name = fnv(entry.name_bytes());
                        match entry.kind() {
                            Some(ObjectType::Blob) => kids.push(Kid::Blob {
                                name,
                                target: self.by_oid.get(&entry.id()).copied(),
                            }),
                            Some(ObjectType::Tree) => kids.push(Kid::Tree {
                                name,
                                node: Node::Repo(entry.id()),
                            }),
                            _ => {}
                        }
                    }
                }
            }
        }
        Frame {
            node,
            kids,
            next: 0,
            depth,
        }
    }

    /// A tree's [`Found`] from its entries (whose subtrees are memoised, or too deep).
    /// Paths are counted first, and listed only for the targets that stay within
    /// [`PATHS_LISTED`]: the cost per tree is bounded whatever sits below it.
    fn combine(&mut self, kids: &[Kid]) -> Rc<Found> {
        let mut totals: HashMap<u32, u64, IdBuild> = HashMap::default();
        // (name, the target blob itself or the subtree's targets), for the listing pass.
        let mut below: Vec<(u64, Result<u32, Rc<Found>>)> = Vec::with_capacity(kids.len());
        for kid in kids {
            match *kid {
                Kid::Blob {
                    name,
                    target: Some(t),
                } => {
                    *totals.entry(t).or_default() += 1;
                    below.push((name, Ok(t)));
                }
                Kid::Blob { target: None, .. } => {}
                Kid::Tree { name, node } => {
                    let Some(found) = self.memoised(node) else {
                        continue;
                    };
                    if found.totals.is_empty() {
                        continue;
                    }
                    for &(t, n) in &found.totals {
                        let total = totals.entry(t).or_default();
                        *total = total.saturating_add(n);
                    }
                    below.push((name, Err(found)));
                }
            }
        }
        if totals.is_empty() {
            return self.empty.clone();
        }
        let mut listed = Vec::new();
        for (name, what) in below {
            match what {
                Ok(t) => {
                    if totals[&t] <= PATHS_LISTED {
                        let path = self.path_id(name, u32::MAX);
                        listed.push((t, path));
                    }
                }
                Err(found) => {
                    for &(t, rest) in &found.listed {
                        if totals[&t] <= PATHS_LISTED {
                            let path = self.path_id(name, rest);
                            listed.push((t, path));
                        }
                    }
                }
            }
        }
        let mut totals: Vec<(u32, u64)> = totals.into_iter().collect();
        totals.sort_unstable();
        Rc::new(Found { totals, listed })
    }

    fn path_id(&mut self, name: u64, rest: u32) -> u32 {
        let next = self.paths.len() as u32;
        *self.paths.entry((name, rest)).or_insert(next)
    }
}
