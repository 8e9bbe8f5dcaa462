//! The order commits are visited in: parents first, oldest first among the ready ones
//! (all refs), or the commits of a `--range`.

use super::ScanError;
use git2::{ErrorCode, Oid, Repository};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

/// Commits reachable from `tips`, parents before children; among commits whose parents
/// are all emitted, the oldest (committer time) first. A commit that cannot be read is
/// reported and its ancestry skipped; in a shallow clone the missing parents beyond the
/// boundary are expected and not errors.
/// Each commit comes with its root tree, committer time and the positions (in the
/// returned order) of its parents that were read, first parent first.
pub(super) fn topo_order(
    repo: &Repository,
    tips: &[Oid],
    errors: &mut Vec<ScanError>,
) -> Vec<Ordered> {
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
                let parents = stored_parents(&commit);
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
    let mut position = vec![u32::MAX; nodes.len()];
    while let Some(Reverse((_, i))) = ready.pop() {
        position[i] = order.len() as u32;
        let parents = nodes[i]
            .parents
            .iter()
            .filter_map(|p| index.get(p).map(|&n| position[n]))
            .filter(|&n| n != u32::MAX)
            .collect();
        order.push((nodes[i].oid, nodes[i].tree, nodes[i].time, parents));
        for &c in &children[i] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push(Reverse((nodes[c].time, c)));
            }
        }
    }
    order
}

/// (commit, root tree, committer time, parent positions) as [`topo_order`] emits them.
pub(super) type Ordered = (Oid, Oid, i64, Vec<u32>);
/// A commit's parents as its object stores them. libgit2's `parent_ids` applies
/// `info/grafts` (and the shallow file), which can hide history that is still in the
/// object database; the scan reads what is stored. In a shallow clone the parents
/// beyond the boundary are missing, which [`topo_order`] expects.
pub(super) fn stored_parents(commit: &git2::Commit<'_>) -> Vec<Oid> {
    commit
        .raw_header_bytes()
        .split(|b| *b == b'\n')
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.strip_prefix(b"parent "))
        .filter_map(|hex| std::str::from_utf8(hex).ok())
        .filter_map(|hex| Oid::from_str(hex.trim()).ok())
        .collect()
}

pub(super) type RangeItem = Result<Oid, String>;

/// Commits reachable from `tips` and not from `hide`, parents first (libgit2's revwalk,
/// which stops early at the hidden side instead of walking all of it).
pub(super) fn range_order(
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
