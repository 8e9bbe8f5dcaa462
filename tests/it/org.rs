//! `leakscope org plan|scan|merge`: the GitHub listing against a fake API on 127.0.0.1
//! (pages by `Link`, one rate-limit answer, the token in a header only), and shards of
//! local repositories built at test time (`--repos` lists paths, so no network at all).

use crate::support::fake_api::{FakeApi, Reply};
use crate::support::repo::Repo;
use crate::support::tokens::ghp;

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// Runs `leakscope org ARGS` in `cwd` with `env`: exit code, stdout, stderr.
fn org(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::cargo_bin("leakscope").unwrap();
    cmd.current_dir(cwd).arg("org").args(args);
    cmd.env_remove("GITHUB_TOKEN").env_remove("GH_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `org plan --repos list -o m.jsonl` in `d`: its exit code.
fn plan_list(d: &Path) -> i32 {
    org(d, &["plan", "--repos", "list", "-o", "m.jsonl"], &[]).0
}

/// `org scan --manifest m.jsonl --cache CACHE -o OUT` in `d` with `env`.
fn scan_all(d: &Path, cache: &str, out: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    org(
        d,
        &["scan", "--manifest", "m.jsonl", "--cache", cache, "-o", out],
        env,
    )
}

/// The JSON lines of `path`.
fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn coverage(path: &Path) -> Vec<Value> {
    lines(path)
        .into_iter()
        .filter(|v| v["type"] == "coverage")
        .collect()
}

/// `n` repositories under `dir`, each with one committed token, and `list` naming them.
fn repos(dir: &Path, n: u64) -> Vec<Repo> {
    let repos: Vec<Repo> = (0..n)
        .map(|i| {
            let r = Repo::new();
            r.write("config.env", &format!("TOKEN={}\n", ghp(100 + i)));
            r.commit("add config");
            r
        })
        .collect();
    let list: String = repos
        .iter()
        .map(|r| format!("{}\n", r.path.display()))
        .collect();
    std::fs::write(dir.join("list"), list).unwrap();
    repos
}

/// Fingerprints and location counts of a merged audit's secrets.
fn incidents(audit: &Path) -> BTreeSet<(String, usize)> {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(audit).unwrap()).unwrap();
    doc["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["fingerprint"].as_str().unwrap().to_string(),
                s["locations"].as_array().map_or(0, Vec::len),
            )
        })
        .collect()
}

#[test]
fn plan_lists_every_page_waits_out_a_rate_limit_and_keeps_the_token_in_a_header() {
    let token = format!("ghp_{}", "T".repeat(36));
    let base = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let origin = base.clone();
    let api = FakeApi::start(move |req, nth| {
        let repo = |id: u64, name: &str| {
            serde_json::json!({
                "id": id, "full_name": format!("acme/{name}"),
                "clone_url": format!("https://github.example/acme/{name}.git"),
                "default_branch": "main", "size": 1, "fork": false, "archived": false,
                "visibility": "private", "pushed_at": "2026-11-01T00:00:00Z"
            })
        };
        if req.path.starts_with("/orgs/acme/repos") && req.path.contains("page=2") {
            Reply::new(200, &serde_json::json!([repo(3, "three")]).to_string())
        } else if req.path.starts_with("/orgs/acme/repos") && nth == 0 {
            Reply::new(403, r#"{"message":"API rate limit exceeded"}"#)
                .header("x-ratelimit-remaining", "0")
                .header("retry-after", "1")
        } else if req.path.starts_with("/orgs/acme/repos") {
            Reply::new(
                200,
                &serde_json::json!([repo(1, "one"), repo(2, "two")]).to_string(),
            )
            .header(
                "link",
                &format!(
                    "<{}/orgs/acme/repos?per_page=100&type=all&page=2>; rel=\"next\"",
                    origin.get().unwrap()
                ),
            )
        } else {
            Reply::new(404, "{}")
        }
    });
    base.set(api.url.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = org(
        dir.path(),
        &["plan", "--github-org", "acme"],
        &[
            ("LEAKSCOPE_GITHUB_API_URL", &api.url),
            ("GITHUB_TOKEN", &token),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let names: Vec<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["full_name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(names, ["acme/one", "acme/two", "acme/three"], "{stderr}");
    assert!(stderr.contains("rate limit"), "{stderr}");
    let seen = api.requests();
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(seen
        .iter()
        .all(|r| r.header("authorization") == Some(&format!("Bearer {token}"))));
    assert!(seen.iter().all(|r| !r.path.contains(&token)));
    assert!(!stdout.contains(&token) && !stderr.contains(&token));
}

#[test]
fn shards_partition_the_repositories_and_their_merge_equals_one_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let _repos = repos(d, 6);
    let (code, _, stderr) = org(d, &["plan", "--repos", "list", "-o", "manifest.jsonl"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(lines(&d.join("manifest.jsonl")).len(), 6);

    let (code, _, stderr) = org(
        d,
        &[
            "scan",
            "--manifest",
            "manifest.jsonl",
            "--cache",
            "c1",
            "-o",
            "all.jsonl",
        ],
        &[],
    );
    assert_eq!(code, 1, "findings exist: {stderr}");
    let mut seen = BTreeSet::new();
    let mut shard_files = Vec::new();
    for i in 1..=3 {
        let out = format!("s{i}.jsonl");
        let shard = format!("{i}/3");
        let (code, _, stderr) = org(
            d,
            &[
                "scan",
                "--manifest",
                "manifest.jsonl",
                "--shard",
                &shard,
                "--cache",
                "c3",
                "-o",
                &out,
            ],
            &[],
        );
        assert!(code == 0 || code == 1, "{stderr}");
        for c in coverage(&d.join(&out)) {
            assert_eq!(c["status"], "ok", "{c}");
            let id = c["id"].as_str().unwrap().to_string();
            assert!(seen.insert(id), "a repository in two shards: {c}");
        }
        shard_files.push(out);
    }
    assert_eq!(seen.len(), 6, "every repository in exactly one shard");

    let (code, _, stderr) = org(
        d,
        &["merge", "all.jsonl", "--format", "json", "-o", "one.json"],
        &[],
    );
    assert!(code <= 1, "{stderr}");
    let mut args = vec!["merge"];
    args.extend(shard_files.iter().map(String::as_str));
    args.extend(["--format", "json", "-o", "three.json"]);
    let (code, _, stderr) = org(d, &args, &[]);
    assert!(code <= 1, "{stderr}");
    let one = incidents(&d.join("one.json"));
    assert_eq!(one.len(), 6, "{one:?}");
    assert_eq!(one, incidents(&d.join("three.json")));
}

#[test]
fn one_secret_in_three_repositories_is_one_incident_with_three_locations() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let repos: Vec<Repo> = (0..3)
        .map(|_| {
            let r = Repo::new();
            r.write("a.env", &format!("T={}\n", ghp(7)));
            r.commit("add");
            r
        })
        .collect();
    let list: String = repos
        .iter()
        .map(|r| format!("{}\n", r.path.display()))
        .collect();
    std::fs::write(d.join("list"), list).unwrap();
    assert_eq!(plan_list(d), 0);
    scan_all(d, "c", "s.jsonl", &[]);
    let (_, _, stderr) = org(
        d,
        &["merge", "s.jsonl", "--format", "json", "-o", "a.json"],
        &[],
    );
    let all = incidents(&d.join("a.json"));
    assert_eq!(all.len(), 1, "{stderr}");
    assert_eq!(all.iter().next().unwrap().1, 3, "{all:?}");
}

#[test]
fn a_second_run_reads_only_the_new_objects_and_finds_the_new_token() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let repos = repos(d, 2);
    assert_eq!(plan_list(d), 0);
    let scan = |out: &str| scan_all(d, "cache", out, &[]);
    let (code, _, stderr) = scan("first.jsonl");
    assert_eq!(code, 1, "{stderr}");
    assert!(coverage(&d.join("first.jsonl"))
        .iter()
        .all(|c| c["incremental"] == false));

    repos[0].write("later.env", &format!("NEW={}\n", ghp(999)));
    repos[0].commit("add another");
    let (code, _, stderr) = scan("second.jsonl");
    assert_eq!(code, 1, "{stderr}");
    let cov = coverage(&d.join("second.jsonl"));
    let by_id = |p: &Path| {
        cov.iter()
            .find(|c| c["id"].as_str() == Some(&p.display().to_string()))
            .unwrap()
            .clone()
    };
    let changed = by_id(&repos[0].path);
    let same = by_id(&repos[1].path);
    assert_eq!(changed["incremental"], true, "{changed}");
    assert_eq!(changed["blobs_read"], 1, "only the new blob: {changed}");
    assert_eq!(same["blobs_read"], 0, "nothing new: {same}");
    let text = std::fs::read_to_string(d.join("second.jsonl")).unwrap();
    let new_fp = leakscope::finding::fingerprint("github.classic-pat", &ghp(999));
    assert!(text.contains(&new_fp), "the new token is reported");
}

#[test]
fn a_repository_that_cannot_be_cloned_is_recorded_as_failed_and_the_others_complete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let _repos = repos(d, 2);
    assert_eq!(plan_list(d), 0);
    // A manifest line whose repository is gone by the time the shard runs.
    let gone = d.join("no-such-repo").display().to_string();
    let mut manifest = std::fs::read_to_string(d.join("m.jsonl")).unwrap();
    manifest.push_str(
        &serde_json::json!({"id": gone, "full_name": "x/gone", "clone_url": gone}).to_string(),
    );
    manifest.push('\n');
    std::fs::write(d.join("m.jsonl"), manifest).unwrap();
    let (code, _, stderr) = scan_all(d, "c", "s.jsonl", &[]);
    // As for `scan`: findings exit 1; nothing found but something unread exits 2.
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("1 failed"), "{stderr}");
    let cov = coverage(&d.join("s.jsonl"));
    assert_eq!(cov.len(), 3);
    assert_eq!(
        cov.iter().filter(|c| c["status"] == "ok").count(),
        2,
        "{cov:?}"
    );
    assert_eq!(
        cov.iter().filter(|c| c["status"] == "failed").count(),
        1,
        "{cov:?}"
    );
}

#[test]
fn a_bad_shard_is_an_error_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.jsonl"), "").unwrap();
    let (code, _, stderr) = org(
        dir.path(),
        &["scan", "--manifest", "m.jsonl", "--shard", "0/3", "-o", "x"],
        &[],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("--shard"), "{stderr}");
}

#[test]
fn a_shard_whose_only_repository_failed_does_not_pass_as_clean() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gone = d.join("no-such-repo").display().to_string();
    let line = serde_json::json!({"id": gone, "full_name": "x/gone", "clone_url": gone});
    std::fs::write(d.join("m.jsonl"), format!("{line}\n")).unwrap();
    let (code, _, stderr) = scan_all(d, "c", "s.jsonl", &[]);
    assert_eq!(code, 2, "{stderr}");
    let cov = coverage(&d.join("s.jsonl"));
    assert_eq!(cov[0]["status"], "failed", "{cov:?}");
}

/// A static file server on 127.0.0.1 for git's dumb HTTP protocol: GET PATH answers the
/// file under `root` (the query is ignored), else 404. Records each request's
/// `Authorization` header (or "-").
fn static_git_server(
    root: std::path::PathBuf,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            let mut auth = "-".to_string();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h
                    .strip_prefix("Authorization: ")
                    .or_else(|| h.strip_prefix("authorization: "))
                {
                    auth = v.trim().to_string();
                }
            }
            log.lock().unwrap().push(auth);
            let path = line.split_whitespace().nth(1).unwrap_or("/");
            let path = path.split('?').next().unwrap().trim_start_matches('/');
            let mut out = stream;
            match std::fs::read(root.join(path))
                .ok()
                .filter(|_| !path.contains(".."))
            {
                Some(body) => {
                    let _ = write!(out, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n", body.len());
                    let _ = out.write_all(&body);
                }
                None => {
                    let _ = out.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
            }
        }
    });
    (url, seen)
}

#[test]
fn repositories_over_http_get_the_token_in_a_header_and_no_output_or_cache_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let srv = d.join("srv");
    std::fs::create_dir(&srv).unwrap();
    let src = Repo::new();
    src.write("a.env", &format!("T={}\n", ghp(41)));
    src.commit("add");
    for name in ["one", "two"] {
        let bare = srv.join(format!("{name}.git"));
        crate::support::repo::git_at(
            d,
            &[
                "clone",
                "-q",
                "--bare",
                src.path.to_str().unwrap(),
                bare.to_str().unwrap(),
            ],
        );
        crate::support::repo::git_at(&bare, &["update-server-info"]);
    }
    let (url, seen) = static_git_server(srv);
    std::fs::write(d.join("list"), format!("{url}/one.git\n{url}/two.git\n")).unwrap();
    assert_eq!(plan_list(d), 0);
    let token = format!("ghp_{}", "Q".repeat(36));
    let env = [
        ("GITHUB_TOKEN", token.as_str()),
        ("LEAKSCOPE_GITHUB_GIT_URL", url.as_str()),
    ];
    let (code, stdout, stderr) = scan_all(d, "cache", "s.jsonl", &env);
    assert_eq!(code, 1, "{stderr}");
    let cov = coverage(&d.join("s.jsonl"));
    assert_eq!(
        cov.iter().filter(|c| c["status"] == "ok").count(),
        2,
        "{cov:?}"
    );
    let auth = seen.lock().unwrap().clone();
    // As GitHub takes it over git's https: Basic, user `x-access-token`.
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"))
    );
    assert!(
        !auth.is_empty() && auth.iter().all(|a| *a == expected),
        "{auth:?}"
    );
    // Nothing written holds the token: outputs, the manifest, every file of the cache.
    assert!(!stdout.contains(&token) && !stderr.contains(&token));
    let mut stack = vec![d.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if let Ok(bytes) = std::fs::read(&p) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(&token), "the token is in {}", p.display());
            assert!(
                !text.contains(&expected[6..]),
                "the encoded token is in {}",
                p.display()
            );
        }
    }
}

#[test]
fn an_interrupted_run_resumes_the_repositories_whose_record_was_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let _repos = repos(d, 3);
    assert_eq!(plan_list(d), 0);
    let scan = |out: &str| scan_all(d, "cache", out, &[]);
    assert_eq!(scan("first.jsonl").0, 1);
    // A run killed before the last repository's record was written: its record is absent.
    let records: Vec<_> = std::fs::read_dir(d.join("cache/records"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(records.len(), 3, "{records:?}");
    std::fs::remove_file(&records[0]).unwrap();
    let (code, _, stderr) = scan("second.jsonl");
    assert_eq!(code, 1, "{stderr}");
    let cov = coverage(&d.join("second.jsonl"));
    assert_eq!(cov.len(), 3);
    assert_eq!(
        cov.iter().filter(|c| c["incremental"] == false).count(),
        1,
        "{cov:?}"
    );
    assert_eq!(
        cov.iter().filter(|c| c["blobs_read"] == 1).count(),
        1,
        "{cov:?}"
    );
}
