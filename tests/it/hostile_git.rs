//! Hostile git input for `scan --git` (issue 10): trees too deep for a recursive walk,
//! git bombs, damaged packs, indexes and refs, grafts and replace refs. Every repository
//! is built at test time, most of it as raw loose objects written through libgit2's
//! object database, so the shapes git's own porcelain refuses to make can be made.

use crate::support::repo::{git_at as git, Repo};
use crate::support::tokens::ghp;

use assert_cmd::Command;
use git2::Oid;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A repository in a temporary directory.
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
    let second = repo.raw_commit(root, &[first], "add a very deep tree");
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
    let commit = repo.raw_commit(tree, &[], "ten to the ten paths");
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

/// A repository whose one commit holds `secret`, packed by `git gc`; returns it and
/// the pack's file stem (`objects/pack/pack-<id>`).
fn packed_repo(secret: &str) -> (Repo, PathBuf) {
    let repo = Repo::new();
    let commit = repo.commit_file(&[], "a.txt", &format!("token = {secret}\n"));
    repo.set_main(commit);
    git(&repo.path, &["gc", "-q"]);
    let pack_dir = repo.path.join(".git/objects/pack");
    let pack = std::fs::read_dir(&pack_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .expect("gc wrote a pack");
    (repo, pack.with_extension(""))
}

fn make_writable(path: &Path) {
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(path, perms).unwrap();
}

/// The error naming `file` (by its full path's end), or a panic listing them all.
fn error_about(json: &Value, file: &str) -> String {
    errors(json)
        .iter()
        .find(|e| e["path"].as_str().is_some_and(|p| p.ends_with(file)))
        .and_then(|e| e["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no error names {file}: {}", error_text(json)))
}

#[test]
fn damaged_packs_and_indexes_are_errors_naming_the_file_and_the_scan_exits_2() {
    type Damage = fn(&Path);
    let cases: [(&str, &str, Damage, &str); 3] = [
        (
            "truncated pack",
            ".pack",
            |stem| {
                let pack = stem.with_extension("pack");
                make_writable(&pack);
                let len = std::fs::metadata(&pack).unwrap().len();
                let file = std::fs::OpenOptions::new().write(true).open(&pack).unwrap();
                file.set_len(len / 2).unwrap();
            },
            "damaged pack",
        ),
        (
            "missing index",
            ".pack",
            |stem| {
                std::fs::remove_file(stem.with_extension("idx")).unwrap();
            },
            "pack without its index",
        ),
        (
            "corrupt index",
            ".idx",
            |stem| {
                let idx = stem.with_extension("idx");
                make_writable(&idx);
                std::fs::write(&idx, b"\xfftOc\0\0\0\x02 not an index").unwrap();
            },
            "corrupt pack index",
        ),
    ];
    for (seed, (what, file, damage, message)) in (10_010u64..).zip(cases) {
        let secret = ghp(seed);
        let (repo, stem) = packed_repo(&secret);
        damage(&stem);
        let (code, json, stderr) = scan_git(&repo.path, &[]);
        assert_eq!(
            code, 2,
            "{what}: nothing found and something unreadable; {stderr}"
        );
        let stem_name = stem.file_name().unwrap().to_string_lossy().into_owned();
        let error = error_about(&json, &format!("{stem_name}{file}"));
        assert!(error.starts_with(message), "{what}: {error}");
        let count = json["summary"]["errors"].as_u64().unwrap();
        assert!(
            stderr.contains(&format!(
                "incomplete scan: {count} item(s) could not be read"
            )),
            "{what}: the count on stderr: {stderr}"
        );
        let (code, _, _) = scan_git(&repo.path, &["--allow-incomplete"]);
        assert_eq!(code, 0, "{what}: --allow-incomplete accepts it");
        assert_redacted(&json, &stderr, &[&secret]);
    }
}

#[test]
fn a_bad_packed_refs_line_keeps_the_other_refs_and_loose_refs() {
    let repo = Repo::new();
    let (on_main, on_tag, on_loose) = (ghp(10_020), ghp(10_021), ghp(10_022));
    let main = repo.commit_file(&[], "main.txt", &format!("{on_main}\n"));
    repo.set_main(main);
    let tagged = repo.commit_file(&[], "tag.txt", &format!("{on_tag}\n"));
    repo.git2()
        .reference("refs/tags/v1", tagged, true, "t")
        .unwrap();
    git(&repo.path, &["pack-refs", "--all"]);
    let loose = repo.commit_file(&[], "loose.txt", &format!("{on_loose}\n"));
    let packed = repo.git_dir().join("packed-refs");
    let mut text = std::fs::read_to_string(&packed).unwrap();
    assert!(text.contains("refs/tags/v1"), "{text}");
    text.push_str("zzzz refs/heads/bad\n");
    std::fs::write(&packed, text).unwrap();
    std::fs::write(
        repo.git_dir().join("refs/heads/loose"),
        format!("{loose}\n"),
    )
    .unwrap();

    let (code, json, stderr) = scan_git(&repo.path, &[]);
    assert_eq!(code, 1, "{stderr}");
    for secret in [&on_main, &on_tag, &on_loose] {
        assert_eq!(about(&json, secret).len(), 1, "{json:#}");
    }
    let error = error_about(&json, "packed-refs");
    assert!(
        error.starts_with("corrupt packed refs: line(s) 4 "),
        "{error}"
    );

    // A packed-refs file that is garbage throughout: the loose refs are still read.
    std::fs::write(&packed, "garbage\n").unwrap();
    let (code, json, _) = scan_git(&repo.path, &[]);
    assert_eq!(code, 1);
    assert_eq!(about(&json, &on_loose).len(), 1, "{json:#}");
    assert!(
        about(&json, &on_main).is_empty(),
        "main lived in packed-refs"
    );
    assert!(error_about(&json, "packed-refs").contains("line(s) 1 "));
}

#[test]
fn garbage_refs_and_a_garbage_head_are_errors_naming_them() {
    let repo = Repo::new();
    let secret = ghp(10_030);
    let commit = repo.commit_file(&[], "a.txt", &format!("{secret}\n"));
    repo.set_main(commit);
    std::fs::write(repo.git_dir().join("refs/heads/junk"), "not a ref at all\n").unwrap();
    let (code, json, _) = scan_git(&repo.path, &[]);
    assert_eq!(code, 1, "the good refs are scanned");
    assert_eq!(about(&json, &secret).len(), 1);
    let error = error_about(&json, "refs/heads/junk");
    assert!(error.starts_with("ref refs/heads/junk: neither"), "{error}");

    // Only a garbage HEAD, nothing else: an error and exit 2.
    std::fs::remove_file(repo.git_dir().join("refs/heads/junk")).unwrap();
    std::fs::remove_file(repo.git_dir().join("refs/heads/main")).unwrap();
    std::fs::write(repo.git_dir().join("HEAD"), format!("{}\n", "g".repeat(40))).unwrap();
    let (code, json, stderr) = scan_git(&repo.path, &[]);
    assert_eq!(code, 2, "{json:#} {stderr}");
    assert!(error_about(&json, "HEAD").starts_with("HEAD: neither"));
    assert!(stderr.contains("incomplete scan: 1 item(s)"), "{stderr}");
}

#[test]
fn tokens_behind_grafts_and_replace_refs_are_found_with_a_note() {
    // Grafts: B's graft says it has no parent, which hides A (and its token) from git.
    let repo = Repo::new();
    let secret = ghp(10_040);
    let a = repo.commit_file(&[], "a.txt", &format!("{secret}\n"));
    let b = repo.commit_file(&[a], "b.txt", "clean\n");
    repo.set_main(b);
    std::fs::create_dir_all(repo.git_dir().join("info")).unwrap();
    std::fs::write(repo.git_dir().join("info/grafts"), format!("{b}\n")).unwrap();
    let (code, json, _) = scan_git(&repo.path, &[]);
    assert_eq!(code, 1, "{json:#}");
    let found = about(&json, &secret);
    assert_eq!(found.len(), 1, "{json:#}");
    assert_eq!(found[0]["commit"], a.to_string().as_str());
    assert!(
        notes(&json).iter().any(|n| n.starts_with("info/grafts")),
        "{:#?}",
        notes(&json)
    );

    // Replace refs: git shows A' in place of A.
    let repo = Repo::new();
    let secret = ghp(10_041);
    let a = repo.commit_file(&[], "a.txt", &format!("{secret}\n"));
    let b = repo.commit_file(&[a], "b.txt", "clean\n");
    repo.set_main(b);
    let stand_in = repo.commit_file(&[], "a.txt", "nothing here\n");
    repo.git2()
        .reference(&format!("refs/replace/{a}"), stand_in, true, "t")
        .unwrap();
    let (code, json, _) = scan_git(&repo.path, &[]);
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(about(&json, &secret).len(), 1, "{json:#}");
    assert!(
        notes(&json).iter().any(|n| n.contains("refs/replace/")),
        "{:#?}",
        notes(&json)
    );
}

#[test]
fn a_corrupt_shallow_file_is_named_and_a_partial_clone_gets_a_note() {
    let repo = Repo::new();
    let secret = ghp(10_050);
    let commit = repo.commit_file(&[], "a.txt", &format!("{secret}\n"));
    repo.set_main(commit);
    let shallow = repo.git_dir().join("shallow");
    std::fs::write(&shallow, "not an object id\n").unwrap();
    let (code, _, stderr) = scan_git(&repo.path, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("corrupt shallow file"), "{stderr}");
    assert!(stderr.contains(".git/shallow"), "{stderr}");
    assert!(!stderr.contains("not in a git repository"), "{stderr}");
    std::fs::remove_file(&shallow).unwrap();

    let dir = repo.path.as_path();
    git(dir, &["config", "core.repositoryformatversion", "1"]);
    git(dir, &["config", "extensions.partialClone", "origin"]);
    git(dir, &["config", "remote.origin.url", "/nonexistent/origin"]);
    git(dir, &["config", "remote.origin.promisor", "true"]);
    let (code, json, stderr) = scan_git(&repo.path, &[]);
    assert_eq!(code, 1, "a partial clone opens and is scanned: {stderr}");
    assert_eq!(about(&json, &secret).len(), 1);
    assert!(
        notes(&json).iter().any(|n| n.starts_with("partial clone")),
        "{:#?}",
        notes(&json)
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_tree_scan_with_an_unreadable_file_and_no_finding_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("clean.txt"), "nothing here\n").unwrap();
    // /proc/self/mem opens but fails to read at offset 0 (EIO), even as root.
    let run = |extra: &[&str]| {
        Command::cargo_bin("leakscope")
            .unwrap()
            .current_dir(dir.path())
            .args(["scan", "--quiet", "--format", "json", ".", "/proc/self/mem"])
            .args(extra)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    };
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("incomplete scan: 1 item(s)"), "{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["errors"][0]["path"], "/proc/self/mem",
        "the report is still written"
    );
    assert_eq!(run(&["--allow-incomplete"]).status.code(), Some(0));
}
