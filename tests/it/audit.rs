//! Audits that end in revocation: incidents (one per secret) in every report, verify and
//! revoke straight from a redacted history report, the HTML report in a real browser,
//! and `leakscope diff`.
//!
//! Repositories are built at test time with the git CLI (fixed names and dates); every
//! token comes from `support/tokens.rs`: well-formed, never issued.

use crate::support::fake_api::{FakeApi, Reply};
use crate::support::repo::Repo;
use crate::support::run::leakscope_json;
use crate::support::tokens::ghp;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fp(secret: &str) -> String {
    leakscope::finding::fingerprint("github.classic-pat", secret)
}

/// The commits of the audit story, for assertions.
struct Story {
    repo: Repo,
    /// Added, copied, deleted: only history holds it.
    deleted: String,
    /// Added, deleted, added again: in HEAD.
    readded: String,
    branch_only: String,
    tag_only: String,
    stash_only: String,
    c_add: String,
    c_copy: String,
    c_delete: String,
    c_readd_first: String,
    c_readd_again: String,
    head: String,
}

/// main: add `deleted` (config.py) → copy it to backup.py → 3 days later delete both →
/// add `readded` → delete it → add it again. Plus a branch-only, a tag-only (its branch
/// deleted) and a stash-only secret.
fn story() -> Story {
    let repo = Repo::new();
    let (deleted, readded) = (ghp(9101), ghp(9102));
    let (branch_only, tag_only, stash_only) = (ghp(9103), ghp(9104), ghp(9105));
    repo.write("README.md", "demo\n");
    repo.commit("init");
    repo.write("app/config.py", &format!("TOKEN = \"{deleted}\"\n"));
    let c_add = repo.commit("add config");
    // A copy into a file of its own (an identical file would be the same blob, counted
    // in the finding's `other_paths`).
    repo.write(
        "app/backup.py",
        &format!("# backup\nTOKEN = \"{deleted}\"\n"),
    );
    let c_copy = repo.commit("copy config");
    repo.remove("app/config.py");
    repo.remove("app/backup.py");
    let c_delete = repo.commit_after(72, "remove the token");
    repo.write("settings.ini", &format!("token={readded}\n"));
    let c_readd_first = repo.commit("settings");
    repo.remove("settings.ini");
    repo.commit("drop settings");
    repo.write("settings.ini", &format!("token={readded}\n"));
    let c_readd_again = repo.commit("settings again");
    // A branch that never merged.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("feature.env", &format!("GH={branch_only}\n"));
    repo.commit("feature work");
    // A tagged commit whose branch is gone.
    repo.git(&["checkout", "-q", "-b", "release-tmp", "main"]);
    repo.write("release.env", &format!("GH={tag_only}\n"));
    repo.commit("release");
    repo.git(&["tag", "-a", "v1", "-m", "release v1"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "release-tmp"]);
    // Work in progress put aside.
    repo.write("README.md", &format!("demo\nGH={stash_only}\n"));
    repo.tick(1);
    repo.git(&["stash", "-q"]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    Story {
        repo,
        deleted,
        readded,
        branch_only,
        tag_only,
        stash_only,
        c_add,
        c_copy,
        c_delete,
        c_readd_first,
        c_readd_again,
        head,
    }
}

fn scan_json(repo: &Path, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["scan", "--git", "--quiet", "--format", "json"];
    args.extend_from_slice(extra);
    let repo = repo.to_str().unwrap();
    args.push(repo);
    leakscope_json(Path::new("."), args)
}

fn incident<'a>(report: &'a Value, secret: &str) -> &'a Value {
    let fingerprint = fp(secret);
    report["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["fingerprint"] == fingerprint.as_str())
        .unwrap_or_else(|| panic!("no incident for {fingerprint}: {report:#}"))
}

#[test]
fn every_incident_field_follows_the_secret_through_history() {
    let s = story();
    let (code, report, stderr) = scan_json(&s.repo.path, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(report["secrets"].as_array().unwrap().len(), 5, "{report:#}");
    let canonical = std::fs::canonicalize(&s.repo.path).unwrap();
    assert_eq!(report["scan"]["repository"], canonical.to_str().unwrap());
    assert_eq!(report["scan"]["kind"], "history");

    // Added, copied, deleted.
    let d = incident(&report, &s.deleted);
    assert_eq!(d["rule"], "github.classic-pat");
    assert_eq!(d["provider"], "github");
    assert!(!d["secret"].as_str().unwrap().contains(&s.deleted[8..]));
    assert_eq!(d["first_commit"], s.c_add.as_str());
    assert_eq!(d["first_date"], "2023-11-15T00:13:20+00:00");
    assert_eq!(d["last_commit"], s.c_copy.as_str());
    assert_eq!(d["in_head"], false);
    assert_eq!(d["removed_in"], s.c_delete.as_str());
    assert_eq!(
        d["exposure_days"], 3,
        "72 hours and one from the add to the removal"
    );
    assert_eq!(
        d["reachable_from"],
        serde_json::json!([
            "refs/heads/feature",
            "refs/heads/main",
            "refs/stash",
            "refs/tags/v1"
        ])
    );
    let paths: Vec<&str> = d["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["app/backup.py", "app/config.py"]);
    for l in d["locations"].as_array().unwrap() {
        assert_eq!(l["author"], "Alice Example");
        assert_eq!(l["blob"].as_str().unwrap().len(), 40);
        assert!(l["commit"] == s.c_add.as_str() || l["commit"] == s.c_copy.as_str());
    }

    // Added, deleted, added again: in HEAD, never "removed".
    let r = incident(&report, &s.readded);
    assert_eq!(r["first_commit"], s.c_readd_first.as_str());
    assert_eq!(r["in_head"], true);
    assert_eq!(r["removed_in"], Value::Null);
    // The newest commit holding it is the stash (made last), or its index commit.
    let stash = s.repo.git(&["rev-parse", "refs/stash"]);
    let stash_index = s.repo.git(&["rev-parse", "refs/stash^2"]);
    assert!(
        r["last_commit"] == stash.as_str() || r["last_commit"] == stash_index.as_str(),
        "{r:#}"
    );
    let _ = &s.head;
    assert!(r["exposure_days"].as_u64().unwrap() > 365, "runs to now");
    assert!(r["reachable_from"]
        .as_array()
        .unwrap()
        .contains(&"refs/heads/main".into()));
    let _ = &s.c_readd_again;

    // Never on HEAD's line: the refs say where it is.
    for (secret, only) in [
        (&s.branch_only, "refs/heads/feature"),
        (&s.tag_only, "refs/tags/v1"),
        (&s.stash_only, "refs/stash"),
    ] {
        let i = incident(&report, secret);
        assert_eq!(i["in_head"], false, "{i:#}");
        assert_eq!(i["removed_in"], Value::Null, "{i:#}");
        assert_eq!(i["reachable_from"], serde_json::json!([only]), "{i:#}");
        assert!(i["first_commit"].is_string());
        assert_eq!(i["last_commit"], i["first_commit"]);
    }
    // Findings keep their fields and gain the blob.
    for f in report["findings"].as_array().unwrap() {
        assert!(f["blob"].is_string(), "{f:#}");
        assert!(f["commit"].is_string());
    }
    // Live and HEAD-held incidents lead.
    assert_eq!(report["secrets"][0]["fingerprint"], fp(&s.readded).as_str());
}

#[test]
fn tree_reports_and_jsonl_carry_incidents_too() {
    let dir = tempfile::tempdir().unwrap();
    let token = ghp(9201);
    std::fs::write(dir.path().join("a.env"), format!("T={token}\n")).unwrap();
    std::fs::write(dir.path().join("b.env"), format!("T={token}\n")).unwrap();
    let (code, report, _) = leakscope_json(dir.path(), ["scan", "--format", "json", "."]);
    assert_eq!(code, 1);
    let secrets = report["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0]["locations"].as_array().unwrap().len(), 2);
    assert!(
        secrets[0].get("in_head").is_none(),
        "no history fields in a tree scan"
    );
    assert_eq!(report["findings"].as_array().unwrap().len(), 2);

    let out = Command::cargo_bin("leakscope")
        .unwrap()
        .current_dir(dir.path())
        .args(["scan", "--format", "jsonl", "."])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        3,
        "two findings, then one incident line: {text}"
    );
    assert_eq!(lines[2]["type"], "secret");
    assert_eq!(lines[2]["fingerprint"], fp(&token).as_str());
    assert!(!text.contains(&token));
}

#[test]
fn human_report_leads_with_incidents_and_next_steps() {
    let s = story();
    let out = Command::cargo_bin("leakscope")
        .unwrap()
        .env("NO_COLOR", "1")
        .args(["scan", "--git", "--quiet", "--color", "never"])
        .arg(&s.repo.path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("5 distinct secrets"), "{text}");
    let first_block = &text[..text.find("\n\n").unwrap()];
    assert!(first_block.contains("5 distinct secrets"));
    assert!(text.contains("where: in HEAD"));
    assert!(text.contains("where: history only (removed from HEAD in"));
    assert!(text.contains("only on refs/tags/v1"));
    assert!(text.contains(&format!(
        "leakscope revoke --input REPORT.json --fingerprint {}",
        fp(&s.deleted)
    )));
    assert!(text.contains("deleting the file does not unleak it"));
    for secret in [&s.deleted, &s.readded, &s.tag_only] {
        assert!(!text.contains(secret.as_str()), "secret printed whole");
    }
    // The incidents come before the per-finding blocks.
    assert!(text.find("secret 1/5").unwrap() < text.find("\n  fingerprint ").unwrap());
}

/// A GitHub that knows `token` as live until `POST /credentials/revoke` carries it.
fn github_knowing(token: &str) -> FakeApi {
    let token = token.to_string();
    let revoked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    FakeApi::start(move |r, _| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/user") => {
            let ours = r.header("authorization") == Some(format!("token {token}").as_str());
            if ours && !revoked.load(std::sync::atomic::Ordering::SeqCst) {
                Reply::new(200, r#"{"login":"octo-example","id":1,"type":"User"}"#)
                    .header("X-OAuth-Scopes", "repo")
            } else {
                Reply::new(401, r#"{"message":"Bad credentials"}"#)
            }
        }
        ("POST", "/credentials/revoke") => {
            if r.body.contains(&token) {
                revoked.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            Reply::new(202, "{}")
        }
        _ => Reply::new(404, r#"{"message":"Not Found"}"#),
    })
}

fn with_fakes(cmd: &mut Command, github: &str) {
    cmd.env("LEAKSCOPE_GITHUB_API_URL", github)
        .env("LEAKSCOPE_ANACONDA_API_URL", "http://127.0.0.1:9")
        .env("LEAKSCOPE_ANACONDA_CLOUD_URL", "http://127.0.0.1:9")
        .env("LEAKSCOPE_ANACONDA_COM_URL", "http://127.0.0.1:9")
        .env("NO_COLOR", "1");
}

#[test]
fn verify_and_revoke_read_a_deleted_secret_back_from_history() {
    let s = story();
    let work = tempfile::tempdir().unwrap();
    let report_path = work.path().join("h.json");
    let (_, _, stderr) = scan_json(&s.repo.path, &["-o", report_path.to_str().unwrap()]);
    let text = std::fs::read_to_string(&report_path).unwrap_or_else(|_| panic!("{stderr}"));
    assert!(!text.contains(&s.deleted), "the report is redacted");
    // One more incident that cannot be read back: its blob and commit are not there.
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    let ghost = ghp(9199);
    doc["findings"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "rule": "github.classic-pat", "provider": "github", "path": "gone.py", "line": 1,
            "location": "blob", "secret": "ghp_xx…(40 chars)", "fingerprint": fp(&ghost),
            "commit": "1111111111111111111111111111111111111111",
            "blob": "2222222222222222222222222222222222222222"
        }));
    std::fs::write(&report_path, serde_json::to_string(&doc).unwrap()).unwrap();
    let github = github_knowing(&s.deleted);

    // From another directory: the repository comes from the report.
    let mut verify = Command::cargo_bin("leakscope").unwrap();
    with_fakes(&mut verify, &github.url);
    let out = verify
        .current_dir(work.path())
        .args(["verify", "--format", "json", "--input", "h.json"])
        .output()
        .unwrap();
    let verified: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "a live token: {verified:#}");
    let live = incident(&verified, &s.deleted);
    assert_eq!(live["verdict"]["status"], "live", "{live:#}");
    assert_eq!(live["verdict"]["owner"], "octo-example");
    assert_eq!(live["locations"].as_array().unwrap().len(), 2);
    let ghost_incident = incident(&verified, &ghost);
    assert!(ghost_incident["verdict"]["detail"]
        .as_str()
        .unwrap()
        .contains("not recoverable"));
    let errors = verified["errors"].as_array().unwrap();
    let about_ghost: Vec<&Value> = errors
        .iter()
        .filter(|e| e["message"].as_str().unwrap().contains(&fp(&ghost)))
        .collect();
    assert_eq!(about_ghost.len(), 1, "one error per incident: {errors:#?}");
    // Each secret checked once; the ghost never sent; the deleted one only to GitHub.
    let user_calls = github
        .requests()
        .iter()
        .filter(|r| r.path == "/user")
        .filter(|r| r.header("authorization") == Some(format!("token {}", s.deleted).as_str()))
        .count();
    assert_eq!(user_calls, 1, "two places, one check");
    assert!(!github.all_raw().contains(&ghost));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(!printed.contains(&s.deleted));

    // --fingerprint picks the incident; revoke reads it back the same way.
    let mut revoke = Command::cargo_bin("leakscope").unwrap();
    with_fakes(&mut revoke, &github.url);
    let out = revoke
        .current_dir(work.path())
        .args([
            "revoke",
            "--format",
            "json",
            "--yes",
            "--recheck-delay",
            "0",
        ])
        .args(["--input", "h.json", "--fingerprint", &fp(&s.deleted)])
        .output()
        .unwrap();
    let revoked: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{revoked:#}");
    let tokens = revoked["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{revoked:#}");
    assert_eq!(tokens[0]["result"], "revoked");
    assert_eq!(tokens[0]["found_at"].as_array().unwrap().len(), 2);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&s.deleted));

    // A fingerprint the report does not have is a bad flag.
    let out = Command::cargo_bin("leakscope")
        .unwrap()
        .current_dir(work.path())
        .args(["verify", "--input", "h.json", "--fingerprint", "00ff"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fingerprint"));

    // --repo points elsewhere: nothing can be read back, nothing is sent.
    let before = github.requests().len();
    let empty = tempfile::tempdir().unwrap();
    let mut verify = Command::cargo_bin("leakscope").unwrap();
    with_fakes(&mut verify, &github.url);
    let out = verify
        .current_dir(work.path())
        .args(["verify", "--format", "json", "--input", "h.json", "--repo"])
        .arg(empty.path())
        .args(["--fingerprint", &fp(&s.deleted)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(github.requests().len(), before);
}

fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = std::process::Command::new("which").arg(name).output() {
            if out.status.success() {
                return Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
            }
        }
    }
    None
}

/// Runs headless Chromium on `page` with `extra` flags; returns stdout.
fn headless(browser: &Path, page: &Path, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(page)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn html_report_renders_every_incident_and_its_timeline_in_chromium() {
    let s = story();
    // A file name that would be markup if it were not escaped.
    s.repo.write(
        "\"><svg onload=alert(1)>.env",
        &format!("GH={}\n", ghp(9106)),
    );
    s.repo.commit("hostile name");
    let work = tempfile::tempdir().unwrap();
    let page = work.path().join("report.html");
    let (_, report, _) = scan_json(&s.repo.path, &[]);
    let out = Command::cargo_bin("leakscope")
        .unwrap()
        .args(["scan", "--git", "--quiet", "--format", "html", "-o"])
        .arg(&page)
        .arg(&s.repo.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<svg onload"), "file names are escaped");
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains(" src="));
    for secret in [&s.deleted, &s.readded, &s.stash_only] {
        assert!(!html.contains(secret.as_str()));
    }
    let Some(browser) = chromium() else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI must have chromium (.ci/run installs it)"
        );
        eprintln!("SKIPPED html_report_renders_in_chromium: no chromium on this machine (apt-get install chromium)");
        return;
    };
    let dom = headless(&browser, &page, &["--dump-dom"]);
    assert!(
        dom.contains("data-ready=\"yes\""),
        "the page's script ran without error"
    );
    assert!(!dom.contains("<svg onload"));
    for incident in report["secrets"].as_array().unwrap() {
        let fingerprint = incident["fingerprint"].as_str().unwrap();
        assert!(dom.contains(fingerprint), "{fingerprint} not on the page");
        for key in ["first_commit", "removed_in"] {
            if let Some(commit) = incident[key].as_str() {
                assert!(
                    dom.contains(&commit[..12]),
                    "{key} {commit} not on the timeline"
                );
            }
        }
    }
    assert!(dom.contains("git filter-repo --replace-text"));
    assert!(dom.contains(&format!(
        "leakscope revoke --input report.json --fingerprint {}",
        fp(&s.deleted)
    )));
}

fn tree_report(dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    let (code, _, stderr) = leakscope_json(
        &dir.join("src"),
        [
            "scan",
            "--quiet",
            "--format",
            "json",
            "-o",
            out.to_str().unwrap(),
            ".",
        ],
    );
    assert!(code == 0 || code == 1, "{stderr}");
    out
}

fn diff(dir: &Path, old: &Path, new: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["diff", "--format", "json"];
    args.push(old.to_str().unwrap());
    args.push(new.to_str().unwrap());
    args.extend_from_slice(extra);
    let (code, json, stderr) = leakscope_json(dir, args);
    assert!(code == 0 || code == 1, "{stderr}");
    (code, json)
}

fn fps(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["fingerprint"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn diff_tells_new_fixed_open_and_regressed() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let (a, b, c) = (ghp(9301), ghp(9302), ghp(9303));
    std::fs::write(src.join("a.env"), format!("T={a}\n")).unwrap();
    std::fs::write(src.join("b.env"), format!("T={b}\n")).unwrap();
    let january = tree_report(dir.path(), "january.json");
    let (code, same) = diff(dir.path(), &january, &january, &[]);
    assert_eq!(code, 0);
    assert_eq!(fps(&same["still_open"]).len(), 2);

    std::fs::remove_file(src.join("a.env")).unwrap();
    std::fs::write(src.join("c.env"), format!("T={c}\n")).unwrap();
    let february = tree_report(dir.path(), "february.json");
    let carried = dir.path().join("february-diff.json");
    let (code, d) = diff(
        dir.path(),
        &january,
        &february,
        &["-o", carried.to_str().unwrap()],
    );
    assert_eq!(code, 1, "something new");
    assert_eq!(d, Value::Null, "written to the file");
    let d: Value = serde_json::from_str(&std::fs::read_to_string(&carried).unwrap()).unwrap();
    assert_eq!(fps(&d["new"]), [fp(&c)]);
    assert_eq!(fps(&d["fixed"]), [fp(&a)]);
    assert_eq!(fps(&d["still_open"]), [fp(&b)]);
    assert!(fps(&d["regressed"]).is_empty());

    // March: `a` is back. Against February's diff, which remembers it as fixed.
    std::fs::write(src.join("a.env"), format!("T={a}\n")).unwrap();
    let march = tree_report(dir.path(), "march.json");
    let (code, d) = diff(dir.path(), &carried, &march, &[]);
    assert_eq!(code, 1);
    assert_eq!(fps(&d["regressed"]), [fp(&a)]);
    assert!(fps(&d["new"]).is_empty());
    assert_eq!(fps(&d["still_open"]).len(), 2);

    // Nothing new, something fixed: exit 0; human form counts.
    std::fs::remove_file(src.join("c.env")).unwrap();
    let april = tree_report(dir.path(), "april.json");
    let out = Command::cargo_bin("leakscope")
        .unwrap()
        .args(["diff", "--color", "never"])
        .arg(&march)
        .arg(&april)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("0 new, 0 regressed, 1 fixed, 2 still open"),
        "{text}"
    );
    assert!(!text.contains(&c));

    // Not a report: exit 2 naming the file.
    std::fs::write(dir.path().join("junk.json"), "[1,2]").unwrap();
    let out = Command::cargo_bin("leakscope")
        .unwrap()
        .arg("diff")
        .arg(dir.path().join("junk.json"))
        .arg(&april)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.json"));
}
