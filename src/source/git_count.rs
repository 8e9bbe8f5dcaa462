//! For the few blobs that hold secrets: how many of the visited commits carry each one
//! (at any path), and at how many distinct paths it appears in their trees.
//!
//! The history walk reads every distinct tree once; while it does, it records each
//! tree's entries in a compact [`TreeDag`] (ids and interned names, about 8 bytes an
//! entry), so this count needs no second read of the repository. Past a memory budget
//! the DAG is dropped and the trees are read again instead (from libgit2), only when
//! there is something to count.

use super::git_walk::{key, FnvBuild, IdBuild, Key};
use git2::{ObjectType, Oid, Repository};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// Entries the DAG may hold before it gives up (8 bytes each: 256 MiB would be too
/// much beside the blobs in flight; 8 M entries is 64 MiB).
pub const DAG_BUDGET_ENTRIES: usize = 8 << 20;

/// A child in the DAG: a subtree (by tree index) or a blob (by the walk's blob index).
#[derive(Debug, Clone, Copy)]
struct Child {
    name: u32,
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
    names: HashMap<Box<[u8]>, u32, FnvBuild>,
    name_bytes: Vec<Box<[u8]>>,
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

    fn name_id(&mut self, name: &[u8]) -> u32 {
        if let Some(&id) = self.names.get(name) {
            return id;
        }
        let id = self.name_bytes.len() as u32;
        self.name_bytes.push(name.into());
        self.names.insert(name.into(), id);
        id
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

    pub fn subtree(&mut self, name: &[u8], tree: Key) {
        let name = self.name_id(name);
        let node = self.tree_index(tree) | TREE_BIT;
        self.pending.push(Child { name, node });
    }

    pub fn blob(&mut self, name: &[u8], blob_index: u32) {
        let name = self.name_id(name);
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Occurrences {
    pub commits: usize,
    pub paths: usize,
}

/// Counts, for each target blob (`(blob index in the walk, blob id)`), the commits among
/// `roots` (each visited commit's root tree) whose tree holds it and the distinct paths
/// it appears at. Paths are interned as (name, rest) pairs: no path string is built.
pub fn count_occurrences(
    repo: &Repository,
    dag: Option<&TreeDag>,
    roots: &[Oid],
    targets: &[(u32, Oid)],
) -> HashMap<Oid, Occurrences> {
    let mut result = HashMap::new();
    if targets.is_empty() {
        return result;
    }
    let mut counter = Counter {
        repo,
        dag: dag.filter(|d| !d.overflowed),
        by_index: targets
            .iter()
            .enumerate()
            .map(|(t, (i, _))| (*i, t as u32))
            .collect(),
        by_oid: targets
            .iter()
            .enumerate()
            .map(|(t, (_, o))| (*o, t as u32))
            .collect(),
        memo: HashMap::default(),
        dag_memo: HashMap::new(),
        names: HashMap::default(),
        paths: HashMap::new(),
        empty: Rc::new(Vec::new()),
    };
    let mut commits = vec![0usize; targets.len()];
    let mut last_hit = vec![usize::MAX; targets.len()];
    let mut paths: HashSet<(u32, u32)> = HashSet::new();
    for (i, root) in roots.iter().enumerate() {
        let found = counter.under_oid(*root);
        for &(t, path) in found.iter() {
            if last_hit[t as usize] != i {
                last_hit[t as usize] = i;
                commits[t as usize] += 1;
            }
            paths.insert((t, path));
        }
    }
    let mut distinct = vec![0usize; targets.len()];
    for (t, _) in paths {
        distinct[t as usize] += 1;
    }
    for (t, (_, oid)) in targets.iter().enumerate() {
        result.insert(
            *oid,
            Occurrences {
                commits: commits[t],
                paths: distinct[t],
            },
        );
    }
    result
}

type Found = Rc<Vec<(u32, u32)>>;

/// Occurrences of target blobs under trees, memoised per tree.
struct Counter<'a> {
    repo: &'a Repository,
    dag: Option<&'a TreeDag>,
    /// Target number by the walk's blob index (DAG) and by blob id (trees read again).
    by_index: HashMap<u32, u32>,
    by_oid: HashMap<Oid, u32, IdBuild>,
    memo: HashMap<Oid, Found, IdBuild>,
    dag_memo: HashMap<u32, Found>,
    names: HashMap<Vec<u8>, u32, FnvBuild>,
    /// Path ids: (first component's name id, id of the rest or `u32::MAX`).
    paths: HashMap<(u32, u32), u32>,
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
        if let Some(found) = self.dag_memo.get(&tree) {
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
                    let path = self.path_id(&dag.name_bytes[child.name as usize], rest);
                    found.push((t, path));
                }
            } else if let Some(&t) = self.by_index.get(&child.node) {
                let path = self.path_id(&dag.name_bytes[child.name as usize], u32::MAX);
                found.push((t, path));
            }
        }
        let found = self.share(found);
        self.dag_memo.insert(tree, found.clone());
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
                            let path = self.path_id(entry.name_bytes(), u32::MAX);
                            found.push((t, path));
                        }
                    }
                    Some(ObjectType::Tree) => {
                        let below = self.under_repo(entry.id());
                        for &(t, rest) in below.iter() {
                            let path = self.path_id(entry.name_bytes(), rest);
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

    fn path_id(&mut self, name: &[u8], rest: u32) -> u32 {
        let name = match self.names.get(name) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.names.insert(name.to_vec(), id);
                id
            }
        };
        let next = self.paths.len() as u32;
        *self.paths.entry((name, rest)).or_insert(next)
    }
}
