//! Completing a CI checkout before `leakscope ci` scans it.
//!
//! CI checkouts are shallow by default (actions/checkout fetches one commit, GitLab 20 or
//! 50), so the base of a pull request, a push's `before` or the other branches a first
//! push is compared with may not be there. A range that reaches the shallow boundary is
//! worse than short: the boundary commits have no parent here, so all their content
//! would count as added. When the repository has a remote (and `--no-fetch` was not
//! given) this runs the `git` command-line client, which the CI's own credentials are
//! set up for (actions/checkout puts its token in `http.extraheader`, which libgit2 does
//! not read): missing commits are fetched by id, a range is deepened step by step until
//! it no longer reaches the boundary, and a whole-history scan unshallows. Each fetch is
//! said on stderr. Without a remote, the report's notes say the scan is partial.

use super::ci::Scope;
use crate::source::git::walk::Selection;
use git2::{Oid, Repository};
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Deepening steps for a range before giving up and unshallowing.
const DEEPEN_STEPS: [u32; 2] = [50, 500];

/// Runs `git fetch` in the repository, when allowed and a remote exists.
pub struct Fetcher {
    dir: PathBuf,
    /// `origin` if it exists, else the first remote.
    remote: Option<String>,
    enabled: bool,
}

impl Fetcher {
    pub fn new(repo: &Repository, enabled: bool) -> Fetcher {
        let mut remotes: Vec<String> = Vec::new();
        if let Ok(names) = repo.remotes() {
            remotes.extend(names.iter().flatten().flatten().map(String::from));
        }
        let remote = if remotes.iter().any(|r| r == "origin") {
            Some("origin".to_string())
        } else {
            remotes.into_iter().next()
        };
        Fetcher {
            dir: repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf(),
            remote,
            enabled,
        }
    }

    fn can(&self) -> bool {
        self.enabled && self.remote.is_some()
    }

    /// `git fetch --no-tags --quiet REMOTE ARGS...`; on failure, git's last line of
    /// stderr (credentials in remote URLs are git's to hide; tokens are redacted here).
    fn fetch(&self, args: &[&str], say: &dyn Fn(&str)) -> Result<(), String> {
        let Some(remote) = &self.remote else {
            return Err("no remote".into());
        };
        let (options, rest): (Vec<&str>, Vec<&str>) = args.iter().partition(|a| a.starts_with('-'));
        let mut shown = vec!["git", "fetch", "--no-tags", "--quiet"];
        shown.extend(options.iter().copied());
        shown.push(remote);
        shown.extend(rest.iter().copied());
        say(&format!("completing the checkout: {}", shown.join(" ")));
        let mut command = Command::new("git");
        command
            .arg("-C")
            .arg(&self.dir)
            .args(["fetch", "--no-tags", "--quiet"]);
        command
            .args(options)
            .arg(remote)
            .args(rest)
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let output = command
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        Err(format!(
            "git fetch failed ({}): {}",
            output.status,
            hide_userinfo(last)
        ))
    }
}

/// `https://user:token@host/…` → `https://***@host/…`: a remote URL may carry a token,
/// and git's error lines quote the URL. Control characters are dropped.
fn hide_userinfo(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("://") {
        out.push_str(&rest[..at + 3]);
        rest = &rest[at + 3..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(rest.len());
        if let Some(user_end) = rest[..end].rfind('@') {
            out.push_str("***");
            rest = &rest[user_end..];
        }
    }
    out.push_str(rest);
    out.chars().filter(|c| !c.is_control()).collect()
}

/// Whether `text` is a full hexadecimal object id: the only revisions passed to
/// `git fetch` (never a string that git could read as an option).
fn is_object_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The shallow boundary commits (the `shallow` file), empty for a complete repository.
fn shallow_commits(repo: &Repository) -> HashSet<Oid> {
    let path = repo.commondir().join("shallow");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| Oid::from_str(l.trim()).ok())
        .collect()
}

/// How many commits of the range `tips` minus `hide` sit on the shallow boundary.
fn boundary_commits_in(repo: &Repository, tips: &[Oid], hide: &[Oid]) -> usize {
    let shallow = shallow_commits(repo);
    if shallow.is_empty() {
        return 0;
    }
    let Ok(mut walk) = repo.revwalk() else {
        return 0;
    };
    for t in tips {
        if walk.push(*t).is_err() {
            return 0;
        }
    }
    for h in hide {
        let _ = walk.hide(*h);
    }
    walk.flatten().filter(|oid| shallow.contains(oid)).count()
}

fn revision(repo: &Repository, rev: &str) -> Option<Oid> {
    repo.revparse_single(rev)
        .ok()
        .and_then(|o| o.peel_to_commit().ok())
        .map(|c| c.id())
}

fn reopen(repo: &Repository) -> Option<Repository> {
    Repository::open(repo.path()).ok()
}

/// Fetches what `scope` needs and is missing. Returns the repository reopened when
/// anything was fetched. Failures and the lack of a remote become notes.
pub fn complete(
    repo: &Repository,
    fetcher: &Fetcher,
    scope: &Scope,
    say: &dyn Fn(&str),
    notes: &mut Vec<String>,
) -> Option<Repository> {
    let wanted: Vec<&str> = match scope {
        Scope::Range { base, head, .. } => vec![base.as_str(), head.as_str()],
        Scope::New { tip, .. } => vec![tip.as_str()],
        Scope::All | Scope::Nothing => Vec::new(),
    };
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|rev| revision(repo, rev).is_none() && is_object_id(rev))
        .collect();
    let shallow = repo.is_shallow();
    if missing.is_empty() && !shallow {
        return None;
    }
    if !fetcher.can() {
        if shallow {
            notes.push(format!(
                "shallow checkout not completed ({}): the scan is partial",
                if fetcher.enabled {
                    "no remote to fetch from"
                } else {
                    "--no-fetch"
                }
            ));
        }
        return None;
    }
    let mut fetched = false;
    let failed = |e: String, notes: &mut Vec<String>| {
        say(&e);
        notes.push(format!("{e}: the scan may be partial"));
    };
    if !missing.is_empty() {
        match fetcher.fetch(&missing, say) {
            Ok(()) => fetched = true,
            Err(e) => failed(e, notes),
        }
    }
    let mut current = if fetched { reopen(repo) } else { None };
    if shallow {
        let repo_now = current.as_ref().unwrap_or(repo);
        let result = match scope {
            Scope::Range { base, head, .. } => {
                let mut result = Ok(());
                let ids = |r: &Repository| Some((revision(r, base)?, revision(r, head)?));
                let mut reaches = |r: &Repository| {
                    ids(r).is_some_and(|(b, h)| boundary_commits_in(r, &[h], &[b]) > 0)
                };
                if reaches(repo_now) {
                    let mut done = false;
                    for step in DEEPEN_STEPS {
                        let arg = format!("--deepen={step}");
                        result = fetcher.fetch(&[arg.as_str()], say);
                        if result.is_err() {
                            break;
                        }
                        current = reopen(repo);
                        if !current.as_ref().is_some_and(&mut reaches) {
                            done = true;
                            break;
                        }
                    }
                    if !done && result.is_ok() {
                        result = fetcher.fetch(&["--unshallow"], say);
                    }
                    fetched = true;
                }
                result
            }
            Scope::New { .. } => {
                fetched = true;
                fetcher.fetch(&["--unshallow", "+refs/heads/*:refs/remotes/origin/*"], say)
            }
            Scope::All => {
                fetched = true;
                fetcher.fetch(&["--unshallow"], say)
            }
            Scope::Nothing => Ok(()),
        };
        if let Err(e) = result {
            failed(e, notes);
        }
    }
    if fetched {
        current = reopen(repo);
    }
    current
}

/// A note when the scanned range still reaches the shallow boundary: those commits
/// have no parent here, so everything in them was counted as added.
pub fn range_partial_note(repo: &Repository, selection: &Option<Selection>) -> Option<String> {
    let Some(Selection::Introduced { tips, hide }) = selection else {
        return None;
    };
    let n = boundary_commits_in(repo, tips, hide);
    (n > 0).then(|| {
        format!(
            "the scanned range reaches the shallow boundary ({n} commit(s) without their parents here): \
             their whole content was scanned as added, and older commits were not; fetch the full \
             history (actions/checkout with fetch-depth: 0) for an exact range"
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_full_object_ids_reach_git_fetch() {
        assert!(super::is_object_id(&"a".repeat(40)));
        assert!(!super::is_object_id("--upload-pack=evil"));
        assert!(!super::is_object_id("main"));
    }

    #[test]
    fn credentials_in_remote_urls_are_hidden() {
        assert_eq!(
            super::hide_userinfo(
                "fatal: unable to access 'https://x:tok@example.invalid/r.git/': 403"
            ),
            "fatal: unable to access 'https://***@example.invalid/r.git/': 403"
        );
        assert_eq!(super::hide_userinfo("plain\u{1b}[31m"), "plain[31m");
    }
}
