//! For the few blobs that hold secrets: how many of the visited commits carry each one
//! (at any path), and at how many distinct paths it appears in their trees.
//!
//! The history walk reads every distinct tree once; while it does, it records each
//! tree's entries in a compact [`TreeDag`] (child index and name hash, 16 bytes an
//! entry), so this count needs no second read of the repository. Past a memory budget
//! the DAG is dropped and the trees are read again instead (from libgit2), only when
//! there is something to count.

use super::git_walk::{fnv, key, IdBuild, Key};
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

/// How many of the visited commits hold a blob (at any path), and at how many distinct
/// paths it appears in their trees.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Occurrences {
    pub commits: usize,
    pub paths: usize,
    /// The roots (indices into the `roots` given) whose tree holds a blob of the group,
    /// in order: what an incident needs to say where a secret still is.
    pub holders: Vec<u32>,
}

/// Counts, for each group of target blobs (`groups[g]` lists indices into `targets`,
/// which are `(blob index in the walk, blob id)`), the commits among `roots` (each
/// visited commit's root tree) whose tree holds any blob of the group, and the distinct
/// paths the group's blobs appear at. Paths are interned as (name hash, rest) pairs: no
/// path string is built.
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
        empty: Rc::new(Vec::new()),
    };
    let mut last_hit = vec![usize::MAX; groups.len()];
    let mut paths: HashSet<u64, IdBuild> = HashSet::default();
    for (i, root) in roots.iter().enumerate() {
        let found = counter.under_oid(*root);
        for &(t, path) in found.iter() {
            for &g in &of_target[t as usize] {
                if last_hit[g] != i {
                    last_hit[g] = i;
                    result[g].commits += 1;
                    result[g].holders.push(i as u32);
                }
                if paths.insert((g as u64) << 32 | u64::from(path)) {
                    result[g].paths += 1;
                }
            }
        }
    }
    result
}

type Found = Rc<Vec<(u32, u32)>>;

/// Occurrences of target blobs under trees, memoised per tree.
struct Counter<'a> {
    repo: &'a Repository,
    dag: Option<&'a TreeDag>,
    /// Target number by the walk's blob index (DAG) and by blob id (trees read again).
    by_index: Vec<u32>,
    by_oid: HashMap<Oid, u32, IdBuild>,
    memo: HashMap<Oid, Found, IdBuild>,
    /// Per tree index of the DAG.
    dag_memo: Vec<Option<Found>>,
    /// Path ids: (first component's name hash, id of the rest or `u32::MAX`).
    paths: HashMap<(u64, u32), u32, IdBuild>,
    empty: Found,
}

impl Counter<'_> {
    fn under_oid(&mut self, tree: Oid) -> Found {
        if let Some(dag) = self.dag {
            if let Some(&i) = dag.index.get(&key(&tree)) {
                if dag.children[i as usize].is_some() {
                    return self.under_dag(dag, i);
                }
            }
        }
        self.under_repo(tree)
    }

    /// From the DAG the walk recorded.
    fn under_dag(&mut self, dag: &TreeDag, tree: u32) -> Found {
        if let Some(Some(found)) = self.dag_memo.get(tree as usize) {
            return found.clone();
        }
        let mut found = Vec::new();
        for child in dag.children[tree as usize].as_deref().unwrap_or_default() {
            if child.node & TREE_BIT != 0 {
                let sub = child.node & !TREE_BIT;
                let below = if dag.children[sub as usize].is_some() {
                    self.under_dag(dag, sub)
                } else {
                    self.empty.clone()
                };
                for &(t, rest) in below.iter() {
                    let path = self.path_id(child.name, rest);
                    found.push((t, path));
                }
            } else if let Some(&t) = self
                .by_index
                .get(child.node as usize)
                .filter(|t| **t != u32::MAX)
            {
                let path = self.path_id(child.name, u32::MAX);
                found.push((t, path));
            }
        }
        let found = self.share(found);
        if let Some(slot) = self.dag_memo.get_mut(tree as usize) {
            *slot = Some(found.clone());
        }
        found
    }

    /// By reading the tree again. Unreadable trees were reported by the walk already
    /// and count as empty here.
    fn under_repo(&mut self, tree_oid: Oid) -> Found {
        if let Some(found) = self.memo.get(&tree_oid) {
            return found.clone();
        }
        let mut found = Vec::new();
        let repo = self.repo;
        if let Ok(tree) = repo.find_tree(tree_oid) {
            for entry in tree.iter() {
                match entry.kind() {
                    Some(ObjectType::Blob) => {
                        if let Some(&t) = self.by_oid.get(&entry.id()) {
                            let path = self.path_id(fnv(entry.name_bytes()), u32::MAX);
                            found.push((t, path));
                        }
                    }
                    Some(ObjectType::Tree) => {
                        let below = self.under_repo(entry.id());
                        for &(t, rest) in below.iter() {
                            let path = self.path_id(fnv(entry.name_bytes()), rest);
                            found.push((t, path));
                        }
                    }
                    _ => {}
                }
            }
        }
        let found = self.share(found);
        self.memo.insert(tree_oid, found.clone());
        found
    }

    fn share(&self, found: Vec<(u32, u32)>) -> Found {
        if found.is_empty() {
            self.empty.clone()
        } else {
            Rc::new(found)
        }
    }

    fn path_id(&mut self, name: u64, rest: u32) -> u32 {
        let next = self.paths.len() as u32;
        *self.paths.entry((name, rest)).or_insert(next)
    }
}
