//! `leakscope ci` under simulated CI events: real repositories built at test time, the
//! event JSON GitHub would write, and the exact range scanned (a token only in the base
//! is not reported, one the change adds is). Also `--format github` for scan and lint.
//! Tokens come from `support/tokens.rs`: well-formed, never issued.

use crate::support::repo::{git_at, git_command, Repo, EPOCH};
use crate::support::tokens::ghp;
use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

const ZERO: &str = "0000000000000000000000000000000000000000";

/// `leakscope ci ARGS` in `cwd` with exactly the CI variables `env` (the test process's
/// own CI variables removed).
fn ci(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::cargo_bin("leakscope").unwrap();
    cmd.current_dir(cwd).arg("ci").args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("GITHUB_") || name.starts_with("GITLAB_") || name.starts_with("CI_") {
            cmd.env_remove(name);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The secrets' fingerprints reported in a `--format json` report.
fn reported(stdout: &str) -> Vec<(String, usize)> {
    let json: Value = serde_json::from_str(stdout).unwrap_or_else(|_| panic!("not JSON: {stdout}"));
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap() as usize,
            )
        })
        .collect()
}

fn github_env<'a>(event_name: &'a str, event: &'a Path) -> Vec<(&'a str, &'a str)> {
    vec![
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", event_name),
        ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
    ]
}

/// Writes `json` as the CI event file in `r`'s scratch directory.
fn event_file(r: &Repo, json: Value) -> PathBuf {
    let path = r.scratch("event.json");
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

#[test]
fn a_pull_request_reports_what_it_adds_and_not_what_the_base_had() {
    let r = Repo::new();
    r.commit_line("config.env", &format!("OLD={}", ghp(1)));
    let base = r.git(&["rev-parse", "HEAD"]);
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.commit_line("config.env", "UNRELATED=1");
    let head = r.commit_line("config.env", &format!("NEW={}", ghp(2)));
    let event = event_file(
        &r,
        serde_json::json!({
            "pull_request": {"base": {"sha": base}, "head": {"sha": head}}
        }),
    );
    let env = github_env("pull_request", &event);
    let (code, stdout, stderr) = ci(&r.path, &env, &["--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(reported(&stdout), vec![("config.env".to_string(), 3)]);
    assert!(
        stderr.contains(&format!(
            "scanning what {}..{} adds",
            &base[..12],
            &head[..12]
        )),
        "{stderr}"
    );

    // Default format on GitHub Actions: annotations, secret redacted.
    let (code, stdout, _) = ci(&r.path, &env, &[]);
    assert_eq!(code, 1);
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(errors.len(), 1, "{stdout}");
    let expected_start = "::error file=config.env,line=3,col=5,endColumn=45,title=github.classic-pat::GitHub classic personal access token found: ";
    assert!(errors[0].starts_with(expected_start), "{}", errors[0]);
    assert!(errors[0].contains(&format!("{}…(40 chars)", &ghp(2)[..6])));
    assert!(!stdout.contains(&ghp(2)) && !stdout.contains(&ghp(1)));

    // pull_request_target reads the same fields.
    let env = github_env("pull_request_target", &event);
    let (code, stdout, _) = ci(&r.path, &env, &["--format", "json"]);
    assert_eq!((code, reported(&stdout).len()), (1, 1));
}

#[test]
fn a_pull_request_that_adds_nothing_passes_even_over_an_old_token() {
    let r = Repo::new();
    r.commit_line("a.txt", &format!("T={}", ghp(3)));
    let base = r.git(&["rev-parse", "HEAD"]);
    let head = r.commit_line("a.txt", "more");
    let event = event_file(
        &r,
        serde_json::json!({
            "pull_request": {"base": {"sha": base}, "head": {"sha": head}}
        }),
    );
    let (code, stdout, stderr) = ci(&r.path, &github_env("pull_request", &event), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(!stdout.contains("::error"));
}

#[test]
fn a_push_scans_before_to_after() {
    let r = Repo::new();
    let before = r.commit_line("a.txt", &format!("T={}", ghp(4)));
    r.commit_line("b.txt", "x");
    let after = r.commit_line("b.txt", &format!("U={}", ghp(5)));
    let event = event_file(
        &r,
        serde_json::json!({
            "ref": "refs/heads/main", "before": before, "after": after, "created": false
        }),
    );
    let (code, stdout, stderr) = ci(&r.path, &github_env("push", &event), &["--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(reported(&stdout), vec![("b.txt".to_string(), 2)]);
}

#[test]
fn a_first_push_scans_what_no_other_branch_has() {
    let r = Repo::new();
    r.commit_line("a.txt", &format!("T={}", ghp(6)));
    // main is also on the remote, as a checkout of the pushed branch would see it.
    let main = r.git(&["rev-parse", "HEAD"]);
    r.git(&["update-ref", "refs/remotes/origin/main", &main]);
    r.git(&["checkout", "-q", "-b", "feature"]);
    let after = r.commit_line("b.txt", &format!("U={}", ghp(7)));
    r.git(&["update-ref", "refs/remotes/origin/feature", &after]);
    let event = event_file(
        &r,
        serde_json::json!({
            "ref": "refs/heads/feature", "before": ZERO, "after": after, "created": true
        }),
    );
    let env = github_env("push", &event);
    let (code, stdout, stderr) = ci(&r.path, &env, &["--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(reported(&stdout), vec![("b.txt".to_string(), 1)]);
    assert!(stderr.contains("that no other branch has"), "{stderr}");

    // The first push of the only branch: its whole history.
    r.git(&["update-ref", "-d", "refs/remotes/origin/main"]);
    r.git(&["branch", "-q", "-D", "main"]);
    let (code, stdout, stderr) = ci(&r.path, &env, &["--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        reported(&stdout),
        vec![("a.txt".to_string(), 1), ("b.txt".to_string(), 1)]
    );
    assert!(
        stderr.contains("no other branch to compare with"),
        "{stderr}"
    );
}

#[test]
fn a_new_tag_on_a_branch_commit_adds_nothing_and_a_deleted_branch_scans_nothing() {
    let r = Repo::new();
    let head = r.commit_line("a.txt", &format!("T={}", ghp(8)));
    r.git(&["tag", "v1"]);
    let event = event_file(
        &r,
        serde_json::json!({
            "ref": "refs/tags/v1", "before": ZERO, "after": head, "created": true
        }),
    );
    let (code, stdout, stderr) = ci(&r.path, &github_env("push", &event), &["--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(reported(&stdout).is_empty());

    let event = event_file(
        &r,
        serde_json::json!({
            "ref": "refs/heads/gone", "before": head, "after": ZERO, "deleted": true
        }),
    );
    let (code, _, stderr) = ci(&r.path, &github_env("push", &event), &["--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("nothing"), "{stderr}");
}

#[test]
fn a_schedule_scans_the_whole_history_and_writes_the_job_summary_and_outputs() {
    let r = Repo::new();
    let token = ghp(9);
    r.commit_line("a.txt", &format!("T={token}"));
    r.commit_line("b|odd.txt", &format!("X={token}"));
    std::fs::remove_file(r.path.join("a.txt")).unwrap();
    r.git(&["commit", "-qam", "remove"]);
    let summary = r.scratch("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let outputs = r.scratch("outputs.txt");
    let sarif = r.scratch("out.sarif");
    let env = vec![
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_EVENT_NAME", "schedule"),
        ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
    ];
    let (code, stdout, stderr) = ci(&r.path, &env, &["--sarif", sarif.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("::error ")).count(),
        2,
        "{stdout}"
    );
    assert!(stderr.contains("scanning the whole history"), "{stderr}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("earlier step\n### leakscope: 1 token found (2 places)"),
        "{md}"
    );
    // One row for the one token, both places in it; the `|` in the path is escaped.
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| `ghp_")).collect();
    assert_eq!(rows.len(), 1, "{md}");
    assert!(
        rows[0].contains("`a.txt:1`<br>`b\\|odd.txt:1`"),
        "{}",
        rows[0]
    );
    assert!(md.contains("Next steps") && !md.contains(&token));
    let out = std::fs::read_to_string(&outputs).unwrap();
    assert_eq!(out, format!("findings=2\nsarif={}\n", sarif.display()));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(doc["runs"][0]["results"].as_array().unwrap().len(), 2);
}

#[test]
fn gitlab_merge_request_and_push_variables_pick_the_range() {
    let r = Repo::new();
    let base = r.commit_line("a.txt", &format!("T={}", ghp(10)));
    let head = r.commit_line("a.txt", &format!("U={}", ghp(11)));
    let mr = [
        ("GITLAB_CI", "true"),
        ("CI_MERGE_REQUEST_DIFF_BASE_SHA", base.as_str()),
        ("CI_COMMIT_SHA", head.as_str()),
    ];
    let (code, stdout, stderr) = ci(&r.path, &mr, &[]);
    assert_eq!(code, 1, "{stderr}");
    // Not GitHub: the human report, naming the one added token.
    assert!(stdout.contains("a.txt:2:"), "{stdout}");
    assert!(!stdout.contains("a.txt:1:") && !stdout.contains("::error"));
    assert!(stderr.contains("GitLab CI merge request"), "{stderr}");
    let push = [
        ("GITLAB_CI", "true"),
        ("CI_COMMIT_BEFORE_SHA", base.as_str()),
        ("CI_COMMIT_SHA", head.as_str()),
    ];
    let (_, stdout, _) = ci(&r.path, &push, &["--format", "json"]);
    assert_eq!(reported(&stdout), vec![("a.txt".to_string(), 2)]);
}

#[test]
fn base_flag_works_in_any_ci_and_a_bad_base_is_an_error_naming_it() {
    let r = Repo::new();
    r.commit_line("a.txt", &format!("T={}", ghp(12)));
    r.git(&["branch", "base"]);
    r.commit_line("a.txt", &format!("U={}", ghp(13)));
    let (code, stdout, _) = ci(&r.path, &[], &["--base", "base", "--format", "json"]);
    assert_eq!(
        (code, reported(&stdout)),
        (1, vec![("a.txt".to_string(), 2)])
    );
    let (code, _, stderr) = ci(&r.path, &[], &["--base", "nope"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--base nope"), "{stderr}");
    // No CI and no --base: the whole history.
    let (_, stdout, stderr) = ci(&r.path, &[], &["--format", "json"]);
    assert_eq!(reported(&stdout).len(), 2, "{stderr}");
    assert!(stderr.contains("no CI detected"), "{stderr}");
}

#[test]
fn a_shallow_checkout_is_completed_from_its_remote_or_the_base_is_named_missing() {
    let origin = Repo::new();
    let base = origin.commit_line("a.txt", &format!("T={}", ghp(14)));
    origin.commit_line("a.txt", "one");
    origin.commit_line("a.txt", "two");
    let head = origin.commit_line("a.txt", &format!("U={}", ghp(15)));
    let url = format!("file://{}", origin.path.display());
    let clone = origin.scratch("clone");
    git_at(
        &origin.scratch(""),
        &["clone", "-q", "--depth", "1", &url, clone.to_str().unwrap()],
    );
    let event = event_file(
        &origin,
        serde_json::json!({
            "pull_request": {"base": {"sha": base}, "head": {"sha": head}}
        }),
    );
    let env = github_env("pull_request", &event);
    let (code, _, stderr) = ci(&clone, &env, &["--no-fetch"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("pull_request.base.sha {base}")),
        "{stderr}"
    );

    let (code, stdout, stderr) = ci(&clone, &env, &["--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("completing the checkout: git fetch"),
        "{stderr}"
    );
    assert_eq!(reported(&stdout), vec![("a.txt".to_string(), 4)]);
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let notes = json["summary"]["notes"].to_string();
    assert!(!notes.contains("shallow boundary"), "{notes}");
}

#[test]
fn a_shallow_checkout_without_a_remote_is_reported_partial() {
    let origin = Repo::new();
    origin.commit_line("a.txt", "zero");
    origin.commit_line("a.txt", &format!("T={}", ghp(16)));
    let url = format!("file://{}", origin.path.display());
    let clone = origin.scratch("clone");
    git_at(
        &origin.scratch(""),
        &["clone", "-q", "--depth", "1", &url, clone.to_str().unwrap()],
    );
    git_at(&clone, &["remote", "remove", "origin"]);
    let (_, stdout, stderr) = ci(
        &clone,
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "schedule"),
        ],
        &[],
    );
    assert!(
        stdout.contains("::notice title=leakscope::shallow"),
        "{stdout}{stderr}"
    );
    assert!(stdout.contains("the scan is partial"), "{stdout}");
}

#[test]
fn format_github_is_a_report_format_for_scan_and_lint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("k, v.txt"), format!("key = {}\n", ghp(17))).unwrap();
    let out = Command::cargo_bin("leakscope")
        .unwrap()
        .current_dir(dir.path())
        .args(["scan", "--format", "github", "."])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.starts_with(
            "::error file=k%2C v.txt,line=1,col=7,endColumn=47,title=github.classic-pat::"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains(&ghp(17)));

    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(
        workflows.join("ci.yml"),
        "on: push\npermissions: write-all\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n",
    )
    .unwrap();
    let out = Command::cargo_bin("leakscope")
        .unwrap()
        .current_dir(dir.path())
        .args(["lint", "--format", "github", ".github"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap_or("");
    assert!(
        first.starts_with("::error file=.github/workflows/ci.yml,line=2,")
            || first.starts_with("::warning file=.github/workflows/ci.yml,line=2,"),
        "{stdout}"
    );
}

fn hook(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("leakscope")
        .unwrap()
        .current_dir(cwd)
        .arg("hook")
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `git commit` in `dir` with the hooks on; returns whether it went through.
fn commit_with_hooks(dir: &Path, message: &str) -> (bool, String) {
    git_at(dir, &["add", "-A"]);
    let out = git_command(dir, ("A", "a@example.test"), EPOCH, "+0000")
        .args(["commit", "-q", "-m", message])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[cfg(unix)]
#[test]
fn hook_install_chain_runs_the_foreign_hook_first_and_uninstall_restores_it() {
    use std::os::unix::fs::PermissionsExt;
    let r = Repo::new();
    r.commit_line("a.txt", "start");
    let hooks = r.path.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let foreign = "#!/bin/sh\necho foreign-ran >> \"$(git rev-parse --git-dir)/foreign.log\"\n[ ! -e block ]\n";
    std::fs::write(hooks.join("pre-commit"), foreign).unwrap();
    std::fs::set_permissions(
        hooks.join("pre-commit"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();

    let (code, _, stderr) = hook(&r.path, &["install", "--chain"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("runs before leakscope"), "{stderr}");
    let ours = std::fs::read_to_string(hooks.join("pre-commit")).unwrap();
    assert!(ours.contains("# leakscope-chained: pre-commit.leakscope-backup"));

    // Both run: the foreign hook's side effect, and leakscope blocks a token.
    std::fs::write(r.path.join("b.txt"), format!("T={}\n", ghp(20))).unwrap();
    let (ok, output) = commit_with_hooks(&r.path, "token");
    assert!(!ok, "leakscope must block: {output}");
    let log = std::fs::read_to_string(r.path.join(".git/foreign.log")).unwrap();
    assert_eq!(log, "foreign-ran\n");
    // The foreign hook's refusal refuses the commit too.
    std::fs::write(r.path.join("b.txt"), "clean\n").unwrap();
    std::fs::write(r.path.join("block"), "").unwrap();
    let (ok, _) = commit_with_hooks(&r.path, "blocked by the foreign hook");
    assert!(!ok);
    std::fs::remove_file(r.path.join("block")).unwrap();
    let (ok, output) = commit_with_hooks(&r.path, "clean");
    assert!(ok, "{output}");

    // A reinstall keeps the chain; uninstall puts the foreign hook back.
    let (code, _, _) = hook(&r.path, &["install"]);
    assert_eq!(code, 0);
    assert!(std::fs::read_to_string(hooks.join("pre-commit"))
        .unwrap()
        .contains("# leakscope-chained: "));
    let (code, stdout, stderr) = hook(&r.path, &["uninstall"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("restored"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-commit")).unwrap(),
        foreign
    );
    assert!(!hooks.join("pre-commit.leakscope-backup").exists());
    // Uninstalling a hook leakscope did not write is refused.
    let (code, _, stderr) = hook(&r.path, &["uninstall"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not written by leakscope"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn hook_install_force_over_a_fifo_refuses_instead_of_hanging() {
    let r = Repo::new();
    let hooks = r.path.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let fifo = hooks.join("pre-commit");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    for args in [
        &["install", "--force"][..],
        &["install", "--chain"],
        &["uninstall"],
    ] {
        let (code, _, stderr) = hook(&r.path, args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("FIFO") && stderr.contains("pre-commit"),
            "{stderr}"
        );
    }
}

#[test]
fn a_force_push_whose_before_is_gone_scans_what_no_other_branch_has() {
    let r = Repo::new();
    let main = r.commit_line("a.txt", &format!("T={}", ghp(21)));
    r.git(&["update-ref", "refs/remotes/origin/main", &main]);
    r.git(&["checkout", "-q", "-b", "feature"]);
    let after = r.commit_line("b.txt", &format!("U={}", ghp(22)));
    let gone = "1234567890123456789012345678901234567890";
    let event = event_file(
        &r,
        serde_json::json!({
            "ref": "refs/heads/feature", "before": gone, "after": after, "forced": true
        }),
    );
    let mut env = github_env("push", &event);
    env.push(("GITHUB_REF", "refs/heads/feature"));
    let (code, stdout, stderr) = ci(&r.path, &env, &["--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(reported(&stdout), vec![("b.txt".to_string(), 1)]);
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let notes = json["summary"]["notes"].to_string();
    assert!(
        notes.contains(gone) && notes.contains("no other branch has"),
        "{notes}"
    );
}
