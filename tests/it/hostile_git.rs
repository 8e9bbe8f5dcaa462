//! Hostile git input for `scan --git` (issue 10): trees too deep for a recursive walk,
//! git bombs, damaged packs, indexes and refs, grafts and replace refs. Every repository
//! is built at test time, most of it as raw loose objects written through libgit2's
//! object database, so the shapes git's own porcelain refuses to make can be made.

use crate::support::tokens::ghp;

use assert_cmd::Command;
use git2::{ObjectType, Oid, Repository};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A repository in a temporary directory.
struct Repo {
    _dir: tempfile::TempDir,
    path: PathBuf,
    repo: Repository,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repo");
        let repo = Repository::init(&path).unwrap();
        Repo {
            _dir: dir,
            path,
            repo,
        }
    }

    fn blob(&self, content: &str) -> Oid {
        self.repo.blob(content.as_bytes()).unwrap()
    }

    /// A tree object from `(mode, name, id)` entries, written raw (git wants them
    /// sorted by name; callers pass them so).
    fn tree(&self, entries: &[(&str, &str, Oid)]) -> Oid {
        let mut data = Vec::new();
        for (mode, name, oid) in entries {
            data.extend_from_slice(mode.as_bytes());
            data.push(b' ');
            data.extend_from_slice(name.as_bytes());
            data.push(0);
            data.extend_from_slice(oid.as_bytes());
        }
        self.repo
            .odb()
            .unwrap()
            .write(ObjectType::Tree, &data)
            .unwrap()
    }

    /// A commit of `tree` with `parents`, not moving any ref.
    fn commit(&self, tree: Oid, parents: &[Oid], message: &str) -> Oid {
        let sig = git2::Signature::new(
            "Alice Example",
            "alice@example.test",
            &git2::Time::new(1_700_000_000 + parents.len() as i64 * 3600, 0),
        )
        .unwrap();
        let tree = self.repo.find_tree(tree).unwrap();
        let parents: Vec<git2::Commit<'_>> = parents
            .iter()
            .map(|p| self.repo.find_commit(*p).unwrap())
            .collect();
        let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
        self.repo
            .commit(None, &sig, &sig, message, &tree, &parents)
            .unwrap()
    }

    /// Points `refs/heads/main` and HEAD at `commit`.
    fn set_main(&self, commit: Oid) {
        self.repo
            .reference("refs/heads/main", commit, true, "test")
            .unwrap();
        self.repo.set_head("refs/heads/main").unwrap();
    }

    /// A commit with one file `name` holding `content` on top of `parents`.
    fn commit_file(&self, parents: &[Oid], name: &str, content: &str) -> Oid {
        let blob = self.blob(content);
        let tree = self.tree(&[("100644", name, blob)]);
        self.commit(tree, parents, &format!("add {name}"))
    }
}

/// `leakscope scan --git REPO --format json EXTRA`, killed after `limit` (a hang guard,
/// not a speed test): the exit code, the JSON report and stderr.
fn scan(repo: &Path, extra: &[&str], limit: Duration) -> (i32, Value, String) {
    let out = Command::cargo_bin("leakscope")
        .unwrap()
        .args(["scan", "--git", "--quiet", "--format", "json"])
        .arg(repo)
        .args(extra)
        .timeout(limit)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scan_git(repo: &Path, extra: &[&str]) -> (i32, Value, String) {
    scan(repo, extra, Duration::from_secs(60))
}

fn fingerprint_of(secret: &str) -> String {
    leakscope::finding::fingerprint("github.classic-pat", secret)
}

/// The findings whose fingerprint says they are `secret`.
fn about(json: &Value, secret: &str) -> Vec<Value> {
    let fp = fingerprint_of(secret);
    json["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f["fingerprint"] == fp.as_str())
        .collect()
}

fn errors(json: &Value) -> Vec<Value> {
    json["errors"].as_array().cloned().unwrap_or_default()
}

fn notes(json: &Value) -> Vec<String> {
    json["summary"]["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect()
}

/// The error messages, each with the object or path it names.
fn error_text(json: &Value) -> String {
    errors(json)
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts that no output holds a planted secret whole.
fn assert_redacted(json: &Value, stderr: &str, secrets: &[&str]) {
    let raw = json.to_string();
    for s in secrets {
        assert!(!raw.contains(s), "secret leaked into the report");
        assert!(!stderr.contains(s), "secret leaked onto stderr");
    }
}

/// A chain of `depth` trees, each holding only `d/` (the innermost one a file), as loose
/// objects. Returns the outermost tree.
fn deep_chain(repo: &Repo, depth: usize) -> Oid {
    let leaf = repo.blob("the bottom\n");
    let mut tree = repo.tree(&[("100644", "leaf.txt", leaf)]);
    for _ in 0..depth {
        tree = repo.tree(&[("40000", "d", tree)]);
    }
    tree
}

#[test]
fn a_tree_20000_levels_deep_is_reported_and_the_rest_of_history_is_scanned() {
    let repo = Repo::new();
    let (old, new) = (ghp(10_001), ghp(10_002));
    let first = repo.commit_file(&[], "a.txt", &format!("token = {old}\n"));
    let deep = deep_chain(&repo, 20_000);
    let a = repo.blob(&format!("token = {old}\n"));
    let b = repo.blob(&format!("token = {new}\n"));
    let root = repo.tree(&[
        ("100644", "a.txt", a),
        ("100644", "b.txt", b),
        ("40000", "deep", deep),
    ]);
    let second = repo.commit(root, &[first], "add a very deep tree");
    repo.set_main(second);

    for extra in [&[][..], &["--range", &format!("{first}..{second}")][..]] {
        let (code, json, stderr) = scan_git(&repo.path, extra);
        assert_eq!(
            code, 1,
            "findings exit 1, no crash ({extra:?}); stderr: {stderr}"
        );
        assert_eq!(about(&json, &new).len(), 1, "{extra:?}: {json:#}");
        if extra.is_empty() {
            assert_eq!(about(&json, &old).len(), 1, "{json:#}");
        }
        let errs = errors(&json);
        let deep_errors: Vec<&Value> = errs
            .iter()
            .filter(|e| {
                e["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("nested too deep")
            })
            .collect();
        assert_eq!(
            deep_errors.len(),
            1,
            "one error for the deep tree: {}",
            error_text(&json)
        );
        let message = deep_errors[0]["message"].as_str().unwrap();
        assert!(
            message.starts_with("tree nested too deep at deep/d/d/d/"),
            "names the path prefix: {message}"
        );
        assert!(message.contains("4097 levels"), "{message}");
        assert!(message.len() < 400, "the prefix is shortened: {message}");
        assert!(
            deep_errors[0]["object"].as_str().unwrap().len() == 40,
            "names the tree: {:#}",
            deep_errors[0]
        );
        assert_redacted(&json, &stderr, &[&old, &new]);
    }
}

#[test]
fn a_git_bomb_of_ten_levels_is_scanned_and_its_token_reported_once() {
    let repo = Repo::new();
    let secret = ghp(10_003);
    let blob = repo.blob(&format!("password = {secret}\n"));
    let mut tree = repo.tree(&[("100644", "secret.txt", blob)]);
    let names: Vec<String> = (0..10).map(|i| format!("d{i}")).collect();
    for _ in 0..10 {
        let entries: Vec<(&str, &str, Oid)> =
            names.iter().map(|n| ("40000", n.as_str(), tree)).collect();
        tree = repo.tree(&entries);
    }
    let commit = repo.commit(tree, &[], "ten to the ten paths");
    repo.set_main(commit);

    let started = Instant::now();
    let (code, json, stderr) = scan(&repo.path, &[], Duration::from_secs(60));
    let took = started.elapsed();
    assert_eq!(code, 1, "stderr: {stderr}");
    let found = about(&json, &secret);
    assert_eq!(found.len(), 1, "reported once: {json:#}");
    let f = &found[0];
    assert_eq!(
        f["path"], "d0/d0/d0/d0/d0/d0/d0/d0/d0/d0/secret.txt",
        "the first path, in tree order"
    );
    assert_eq!(f["commit"], commit.to_string().as_str());
    assert_eq!(f["other_commits"], 0);
    assert_eq!(
        f["other_paths"].as_u64(),
        Some(10_000_000_000 - 1),
        "every other path counted, none listed"
    );
    assert_eq!(json["summary"]["blobs_read"], 1, "the blob is read once");
    assert!(errors(&json).is_empty(), "{:#?}", errors(&json));
    assert!(
        notes(&json)
            .iter()
            .any(|n| n.contains("counted, not listed")),
        "{:#?}",
        notes(&json)
    );
    assert_redacted(&json, &stderr, &[&secret]);
    eprintln!("10-level git bomb scanned in {took:?}");
}
