//! What history says about one secret as a whole, beyond where it was introduced:
//! whether HEAD still holds it, the commit on HEAD's first-parent line that dropped it,
//! the newest commit that still holds it and which refs still reach it.
//!
//! Everything comes from what the walk already has: the commits whose trees hold the
//! secret's blobs (counted anyway for `other_commits`, see [`super::count`]) and the
//! parent links the walk recorded. Only the handful of commits named in the result are
//! read again, for their dates; no tree is read twice.

use super::walk::Walk;
use git2::{Oid, Repository};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One commit an incident names.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CommitRef {
    pub commit: String,
    /// Author date, RFC 3339.
    pub date: String,
    /// Author time, seconds since the epoch (for the exposure window).
    #[serde(skip)]
    pub seconds: i64,
}

/// One secret's place in history.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SecretHistory {
    /// The oldest visited commit (parents first) whose tree or message holds it.
    pub first: Option<CommitRef>,
    /// The newest visited commit (author date, then walk order) that still holds it.
    pub last: Option<CommitRef>,
    /// HEAD's tree holds it (at any path).
    pub in_head: bool,
    /// For a secret not in HEAD: the first commit on HEAD's first-parent line whose tree
    /// no longer holds it (after the last one that did); `None` if the line never held it.
    pub removed_in: Option<CommitRef>,
    /// Refs (full names; `HEAD` when detached) whose history holds it.
    pub reachable_from: Vec<String>,
}

/// The commits (indices into `walk.commits`, ascending) that hold each secret, by
/// fingerprint; `head_holds` lists fingerprints HEAD's tree holds when HEAD was not
/// among the visited commits (a `--since` / `--range` scan).
pub struct Holders<'a> {
    pub by_fingerprint: &'a BTreeMap<String, Vec<u32>>,
    pub head_holds: &'a dyn Fn(&str) -> bool,
}

/// Works out the [`SecretHistory`] of every fingerprint in `holders`.
pub fn secret_histories(
    repo: &Repository,
    walk: &Walk,
    holders: &Holders<'_>,
) -> BTreeMap<String, SecretHistory> {
    if holders.by_fingerprint.is_empty() {
        return BTreeMap::new();
    }
    let index: HashMap<Oid, u32> = walk
        .commits
        .iter()
        .enumerate()
        .map(|(i, oid)| (*oid, i as u32))
        .collect();
    let head = repo.head().ok().and_then(|h| h.target());
    let head_index = head.and_then(|oid| index.get(&oid).copied());
    let line = head_index
        .map(|h| first_parent_line(walk, h))
        .unwrap_or_default();
    let refs = ref_tips(repo, &index);
    let mut dates: HashMap<u32, Option<CommitRef>> = HashMap::new();
    let mut date_of = |i: u32| {
        dates
            .entry(i)
            .or_insert_with(|| commit_ref(repo, walk.commits[i as usize]))
            .clone()
    };
    let mut out = BTreeMap::new();
    for (fp, held) in holders.by_fingerprint {
        let holds = |i: u32| held.binary_search(&i).is_ok();
        let mut history = SecretHistory {
            in_head: match head_index {
                Some(h) => holds(h),
                None => (holders.head_holds)(fp),
            },
            ..SecretHistory::default()
        };
        if let Some(&first) = held.first() {
            history.first = date_of(first);
        }
        // Newest by author date; among equal dates the later in the walk.
        let mut last: Option<(i64, u32, CommitRef)> = None;
        for &i in held {
            if let Some(c) = date_of(i) {
                if last
                    .as_ref()
                    .is_none_or(|(s, j, _)| (c.seconds, i) > (*s, *j))
                {
                    last = Some((c.seconds, i, c));
                }
            }
        }
        history.last = last.map(|(_, _, c)| c);
        if !history.in_head {
            // The line runs from HEAD back; the commit after the newest holder on it
            // is where HEAD's history dropped the secret.
            if let Some(k) = line.iter().position(|&i| holds(i)) {
                if k > 0 {
                    history.removed_in = date_of(line[k - 1]);
                }
            }
        }
        history.reachable_from = reaching_refs(walk, held, &refs);
        out.insert(fp.clone(), history);
    }
    out
}

/// HEAD, its first parent, its first parent, ... as far as the walk went.
fn first_parent_line(walk: &Walk, head: u32) -> Vec<u32> {
    let mut line = vec![head];
    let mut at = head;
    while let Some(&p) = walk.parents.get(at as usize).and_then(|ps| ps.first()) {
        // Parents come before children in the walk, so this always goes down.
        if p >= at {
            break;
        }
        line.push(p);
        at = p;
    }
    line
}

/// Every ref that peels to a visited commit, with that commit's index; a detached HEAD
/// counts as a ref of its own (a symbolic HEAD is its branch).
fn ref_tips(repo: &Repository, index: &HashMap<Oid, u32>) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    if repo.head_detached().unwrap_or(false) {
        if let Some(i) = repo
            .head()
            .ok()
            .and_then(|h| h.target())
            .and_then(|o| index.get(&o))
        {
            out.push(("HEAD".to_string(), *i));
        }
    }
    if let Ok(references) = repo.references() {
        for reference in references.flatten() {
            let name = String::from_utf8_lossy(reference.name_bytes()).into_owned();
            let Ok(commit) = reference.peel_to_commit() else {
                continue;
            };
            if let Some(&i) = index.get(&commit.id()) {
                out.push((name, i));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The refs whose tip has a holder among its ancestors (or is one): one pass over the
/// commits, parents first, carrying "reaches a holder" down to the children.
fn reaching_refs(walk: &Walk, held: &[u32], refs: &[(String, u32)]) -> Vec<String> {
    if held.is_empty() || refs.is_empty() {
        return Vec::new();
    }
    let n = walk.commits.len();
    let mut reach = vec![false; n];
    let start = held[0] as usize;
    let mut next_held = 0usize;
    for i in start..n {
        if held.get(next_held) == Some(&(i as u32)) {
            reach[i] = true;
            next_held += 1;
            continue;
        }
        reach[i] = walk
            .parents
            .get(i)
            .is_some_and(|ps| ps.iter().any(|&p| reach[p as usize]));
    }
    refs.iter()
        .filter(|(_, i)| reach.get(*i as usize).copied().unwrap_or(false))
        .map(|(name, _)| name.clone())
        .collect()
}

fn commit_ref(repo: &Repository, oid: Oid) -> Option<CommitRef> {
    let commit = repo.find_commit(oid).ok()?;
    let when = commit.author().when();
    Some(CommitRef {
        commit: oid.to_string(),
        date: super::commits::rfc3339(when.seconds(), when.offset_minutes()),
        seconds: when.seconds(),
    })
}
