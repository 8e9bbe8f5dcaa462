//! CLI manners: closed pipes, standard input, completions and man pages, `-q`, sizes
//! with suffixes and sane thread counts, grouped help, leakscope.toml for scan, and
//! revoke's formats.

use crate::support::run::leakscope_json;
use crate::support::tokens::ghp;
use assert_cmd::cargo::CommandCargoExt;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut cmd = Command::cargo_bin("leakscope").unwrap();
    cmd.env_remove("NO_COLOR");
    cmd
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    bin().current_dir(cwd).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `leakscope ARGS` with standard output a pipe whose reading end is closed before
/// the process starts, so its first write meets EPIPE: the exit code and stderr.
/// (`std::io::pipe` needs Rust 1.87; only the tests use it, the crate keeps its MSRV.)
#[allow(clippy::incompatible_msrv)]
fn run_into_closed_pipe(cwd: &Path, args: &[&str]) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = bin()
        .current_dir(cwd)
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), stderr(&out))
}

/// A directory with one file holding a token (so scan has a report to write).
fn tree_with_token(seed: u64) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let token = ghp(seed);
    fs::write(
        dir.path().join("app.env"),
        format!("GITHUB_TOKEN={token}\n"),
    )
    .unwrap();
    (dir, token)
}

fn git_init(dir: &Path) {
    let ok = Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git init");
}

#[test]
fn a_closed_pipe_is_never_a_panic_or_an_error_for_any_subcommand() {
    let (dir, _) = tree_with_token(1201);
    git_init(dir.path());
    let cases: &[&[&str]] = &[
        &["rules", "list"],
        &["rules", "list", "--json"],
        &["rules", "check"],
        &["scan", "."],
        &["scan", ".", "--format", "json"],
        &["scan", ".", "--format", "jsonl"],
        &["scan", ".", "--format", "sarif"],
        &["lint", "."],
        &["lint", "--list"],
        &["lint", "--explain", "token-echoed-in-ci"],
        &["verify", "--token", "not-a-token-at-all"],
        &["revoke", "--dry-run", "--token", "not-a-token-at-all"],
        &["hook", "install", "--repo", "."],
        &["completions", "bash"],
        &["man"],
        &["man", "scan"],
        &["--help"],
        &["scan", "--help"],
        &["--version"],
    ];
    for args in cases {
        // The same run with a reader: the exit code a closed pipe must not change.
        let open = run(dir.path(), args);
        assert!(!open.stdout.is_empty(), "{args:?} wrote nothing");
        let (code, err) = run_into_closed_pipe(dir.path(), args);
        assert_ne!(code, 101, "{args:?} panicked: {err}");
        assert_eq!(
            Some(code),
            open.status.code(),
            "{args:?}: a closed pipe changed the exit code: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe") && !err.contains("error"),
            "{args:?} complained about the closed pipe: {err}"
        );
    }
}

#[test]
fn scan_dash_reads_standard_input_as_stdin_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let token = ghp(1202);
    // 20 MB of text before the token: more than two 8 MiB chunks, so the token is
    // found only if the input is streamed chunk by chunk with the right line count.
    let mut input = "x = 1 # padding line of text\n".repeat(700_000);
    let lines_before = 700_000;
    input.push_str(&format!("export GITHUB_TOKEN={token}\n"));
    let mut child = bin()
        .current_dir(dir.path())
        .args(["scan", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{json}");
    assert_eq!(findings[0]["path"], "<stdin>");
    assert_eq!(findings[0]["line"], lines_before + 1);
    assert_eq!(json["summary"]["files_scanned"], 1);
    assert!(json["summary"]["bytes_scanned"].as_u64().unwrap() > 20_000_000);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&token));
}

#[test]
fn scan_dash_mixes_with_paths_and_obeys_the_size_limit() {
    let (dir, _) = tree_with_token(1203);
    let token = ghp(1204);
    let mut child = bin()
        .current_dir(dir.path())
        .args(["scan", ".", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("token: {token}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let paths: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["app.env", "<stdin>"]);

    let mut child = bin()
        .current_dir(dir.path())
        .args(["scan", "-", "--format", "json", "--max-file-size", "1k"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let big = format!("{}token: {token}\n", "y".repeat(4096));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(big.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json["summary"]["skipped_too_large"], 1, "{json}");
    assert_eq!(json["summary"]["files_scanned"], 0);

    let out = run(dir.path(), &["scan", "--git", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("standard input"), "{}", stderr(&out));
}

#[test]
fn completions_for_every_shell_and_man_pages() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef leakscope"),
        ("fish", "complete -c leakscope"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[leakscope]"),
    ] {
        let out = run(dir.path(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}: no {marker:?}");
        assert!(
            text.contains("max-file-size"),
            "{shell}: scan flags missing"
        );
    }
    let out = run(dir.path(), &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));

    let out = run(dir.path(), &["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH leakscope"),
        "{page}"
    );
    assert!(page.contains("completions"), "subcommands listed");
    let out = run(dir.path(), &["man", "scan"]);
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH leakscope-scan 1"), "{page}");
    assert!(
        page.contains("max\\-file\\-size"),
        "scan's flags on its page"
    );
    let out = run(dir.path(), &["man", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("man nosuch"), "{}", stderr(&out));
}

#[test]
fn quiet_is_accepted_everywhere_and_silences_notes_not_errors() {
    let (dir, _) = tree_with_token(1205);
    git_init(dir.path());
    for args in [
        &["scan", "-q", "."][..],
        &["-q", "scan", "."],
        &["lint", "-q", "."],
        &["verify", "-q", "--token", "not-a-token"],
        &["revoke", "--quiet", "--dry-run", "--token", "not-a-token"],
        &["rules", "list", "-q"],
        &["rules", "-q", "check"],
        &["hook", "install", "-q", "--repo", "."],
        &["completions", "-q", "fish"],
        &["man", "-q"],
    ] {
        let out = run(dir.path(), args);
        assert_ne!(out.status.code(), Some(101), "{args:?}");
        assert!(
            !stderr(&out).contains("unexpected argument"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // A note (a capped -j) shows without -q and not with it; errors show with it.
    let out = run(dir.path(), &["scan", ".", "-j", "4000"]);
    assert!(stderr(&out).contains("capped at"), "{}", stderr(&out));
    let out = run(dir.path(), &["scan", ".", "-j", "4000", "-q"]);
    assert_eq!(stderr(&out), "");
    assert_eq!(out.status.code(), Some(1));
    let out = run(dir.path(), &["scan", "-q", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no/such/dir"), "{}", stderr(&out));
}

#[test]
fn sizes_take_suffixes_and_bad_sizes_name_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let token = ghp(1206);
    fs::write(
        dir.path().join("big.txt"),
        format!("{}\nGITHUB_TOKEN={token}\n", "z".repeat(3000)),
    )
    .unwrap();
    for (size, skipped) in [
        ("2k", 1),
        ("2KiB", 1),
        ("2999", 1),
        ("10M", 0),
        ("1G", 0),
        ("4kB", 0),
    ] {
        let (code, json, err) = leakscope_json(
            dir.path(),
            ["scan", ".", "--format", "json", "--max-file-size", size],
        );
        assert_eq!(
            json["summary"]["skipped_too_large"], skipped,
            "{size}: {err}"
        );
        assert_eq!(code, if skipped == 1 { 0 } else { 1 }, "{size}");
    }
    for bad in ["10X", "ten", "-1", "99999999999999T"] {
        let flag = format!("--max-file-size={bad}");
        let out = run(dir.path(), &["scan", ".", &flag]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            stderr(&out).contains("--max-file-size"),
            "{bad}: {}",
            stderr(&out)
        );
    }
    let out = run(
        dir.path(),
        &["scan", "--git", ".", "--max-blob-size", "1 MiB"],
    );
    assert!(!stderr(&out).contains("invalid value"), "{}", stderr(&out));
    let out = run(dir.path(), &["scan", "--git", ".", "--max-blob-size", "1Q"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--max-blob-size"), "{}", stderr(&out));
}

#[test]
fn absurd_thread_counts_are_refused_cleanly_and_quickly() {
    let (dir, _) = tree_with_token(1207);
    for n in [
        "18446744073709551615",
        "4294967296",
        "1000000",
        "99999999999999999999999",
    ] {
        let started = std::time::Instant::now();
        let out = run(dir.path(), &["scan", ".", "-j", n]);
        assert_eq!(out.status.code(), Some(2), "-j {n}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("--threads"),
            "-j {n}: {}",
            stderr(&out)
        );
        assert!(started.elapsed().as_secs() < 60, "-j {n} hung");
        let out = run(dir.path(), &["lint", ".", "-j", n]);
        assert_eq!(out.status.code(), Some(2), "lint -j {n}");
    }
    let out = run(dir.path(), &["scan", ".", "-j", "2000", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("-j 2000: capped at"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn scan_and_lint_help_are_grouped_with_examples() {
    let dir = tempfile::tempdir().unwrap();
    let scan = String::from_utf8(run(dir.path(), &["scan", "--help"]).stdout).unwrap();
    let mut last = 0;
    for heading in [
        "Working tree:",
        "History:",
        "Rules and config:",
        "Output:",
        "Suppression:",
        "Verify:",
        "Examples:",
    ] {
        let at = scan
            .find(heading)
            .unwrap_or_else(|| panic!("no {heading:?} in scan --help:\n{scan}"));
        assert!(at > last, "{heading} out of order");
        last = at;
    }
    let section = |text: &str, from: &str, to: &str| -> String {
        let a = text.find(from).unwrap();
        let b = text[a..].find(to).map(|b| a + b).unwrap_or(text.len());
        text[a..b].to_string()
    };
    assert!(section(&scan, "History:", "Rules and config:").contains("--range"));
    assert!(section(&scan, "Working tree:", "History:").contains("--max-file-size"));
    assert!(section(&scan, "Suppression:", "Verify:").contains("--baseline"));
    assert!(section(&scan, "Verify:", "Examples:").contains("--fail-on"));
    assert!(section(&scan, "Output:", "Suppression:").contains("--format"));
    assert!(scan.contains("leakscope scan --git --range origin/main..HEAD"));

    let lint = String::from_utf8(run(dir.path(), &["lint", "--help"]).stdout).unwrap();
    for heading in [
        "Working tree:",
        "Policy:",
        "Output:",
        "Suppression:",
        "Verify:",
        "Examples:",
    ] {
        assert!(
            lint.contains(heading),
            "no {heading:?} in lint --help:\n{lint}"
        );
    }
    assert!(section(&lint, "Policy:", "Output:").contains("--no-config"));
}

#[test]
fn revoke_format_accepts_exactly_what_its_help_lists() {
    let dir = tempfile::tempdir().unwrap();
    let help = String::from_utf8(run(dir.path(), &["revoke", "--help"]).stdout).unwrap();
    let format_help = &help[help.find("      --format <").unwrap()..];
    let format_help = &format_help[..format_help.find("\n  -").unwrap_or(format_help.len())];
    assert!(!format_help.contains("sarif"), "{format_help}");
    for format in ["human", "json", "jsonl"] {
        assert!(
            format_help.contains(format),
            "{format} not listed: {format_help}"
        );
        let out = run(
            dir.path(),
            &[
                "revoke",
                "--dry-run",
                "--format",
                format,
                "--token",
                "not-a-token",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{format}");
        assert!(
            !stderr(&out).contains("invalid value"),
            "{format}: {}",
            stderr(&out)
        );
    }
    let out = run(
        dir.path(),
        &["revoke", "--dry-run", "--format", "sarif", "--token", "x"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid value 'sarif'"),
        "{}",
        stderr(&out)
    );
}

// ---- leakscope.toml for scan ------------------------------------------------------

fn findings(json: &serde_json::Value) -> Vec<String> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

/// A repository root with a token in `src/app.env`, `tests/fixtures/t.env` and
/// `docs/example.md`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git_init(dir.path());
    for (i, path) in ["src/app.env", "tests/fixtures/t.env", "docs/example.md"]
        .iter()
        .enumerate()
    {
        let full = dir.path().join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, format!("GITHUB_TOKEN={}\n", ghp(1300 + i as u64))).unwrap();
    }
    dir
}

#[test]
fn scan_reads_exclude_rules_and_allow_from_leakscope_toml() {
    let dir = project();
    fs::create_dir_all(dir.path().join("ci")).unwrap();
    fs::write(
        dir.path().join("ci/acme.toml"),
        r#"
[[rule]]
id = "acme.deploy-key"
name = "ACME deploy key"
provider = "acme"
keywords = ["acme_"]
regex = '''\b(acme_[a-z0-9]{16})\b'''
examples = ["acme_0123abcd4567efgh"]
"#,
    )
    .unwrap();
    fs::write(
        dir.path().join("src/deploy.cfg"),
        "key=acme_9a8b7c6d5e4f3a2b\n",
    )
    .unwrap();
    let fingerprint = {
        let (_, json, _) = leakscope_json(dir.path(), ["scan", "src/app.env", "--format", "json"]);
        json["findings"][0]["fingerprint"]
            .as_str()
            .unwrap()
            .to_string()
    };
    fs::write(
        dir.path().join("leakscope.toml"),
        format!(
            r#"
[scan]
exclude = ["tests/fixtures/**", "ci/"]
rules = ["ci/acme.toml"]

[[allow]]
fingerprint = "{fingerprint}"
reason = "revoked in May, kept in history"

[[allow]]
path = "docs/**"
reason = "documentation sample"

[lints]
disable = ["actions-missing-permissions"]
"#
        ),
    )
    .unwrap();
    let (code, json, err) = leakscope_json(dir.path(), ["scan", ".", "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    // Excluded: not read; allowed: suppressed; the extra rule: found.
    assert_eq!(findings(&json), ["src/deploy.cfg"], "{json}");
    assert_eq!(json["findings"][0]["rule"], "acme.deploy-key");
    assert_eq!(json["summary"]["suppressed_allowlist"], 2, "{json}");

    let out = run(dir.path(), &["scan", ".", "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let justifications: Vec<String> = results
        .iter()
        .filter_map(|r| r["suppressions"][0]["justification"].as_str())
        .map(str::to_string)
        .collect();
    assert!(
        justifications.iter().any(|j| j.contains("revoked in May")),
        "{justifications:?}"
    );
    assert!(justifications
        .iter()
        .any(|j| j.contains("documentation sample")));

    // Found from a subdirectory upwards; its globs stay relative to the file.
    let (_, json, err) =
        leakscope_json(&dir.path().join("tests"), ["scan", ".", "--format", "json"]);
    assert_eq!(findings(&json), Vec::<String>::new(), "{err}");
    let (_, json, _) = leakscope_json(dir.path(), ["scan", "docs", "--format", "json"]);
    assert_eq!(json["summary"]["suppressed_allowlist"], 1, "{json}");

    // Standard input alone: the config is found from the working directory.
    let mut child = bin()
        .current_dir(dir.path())
        .args(["scan", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"key=acme_9a8b7c6d5e4f3a2b\n")
        .unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&child.wait_with_output().unwrap().stdout).unwrap();
    assert_eq!(json["findings"][0]["rule"], "acme.deploy-key", "{json}");

    // --no-config: everything; --config: that file.
    let (_, json, _) = leakscope_json(dir.path(), ["scan", ".", "--format", "json", "--no-config"]);
    assert_eq!(findings(&json).len(), 3, "{json}");
    fs::write(
        dir.path().join("other.toml"),
        "[scan]\nexclude = [\"src/\"]\n",
    )
    .unwrap();
    let (_, json, _) = leakscope_json(
        dir.path(),
        ["scan", ".", "--format", "json", "--config", "other.toml"],
    );
    assert_eq!(
        findings(&json),
        ["docs/example.md", "tests/fixtures/t.env"],
        "{json}"
    );

    // The same file still drives lint.
    let (code, _, err) = leakscope_json(dir.path(), ["lint", ".", "--format", "json"]);
    assert_ne!(code, 2, "{err}");
}

#[test]
fn the_search_upwards_stops_at_the_repository_root() {
    let outer = tempfile::tempdir().unwrap();
    fs::write(
        outer.path().join("leakscope.toml"),
        "[scan]\nexclude = [\"**\"]\n",
    )
    .unwrap();
    let repo = outer.path().join("repo");
    fs::create_dir(&repo).unwrap();
    git_init(&repo);
    fs::write(repo.join("a.env"), format!("GITHUB_TOKEN={}\n", ghp(1310))).unwrap();
    let (code, json, err) = leakscope_json(&repo, ["scan", ".", "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(findings(&json), ["a.env"]);
}

#[test]
fn allow_and_exclude_apply_to_history_scans_by_path() {
    let dir = project();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir.path())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "tokens"]);
    fs::write(
        dir.path().join("leakscope.toml"),
        "[scan]\nexclude = [\"tests/fixtures/**\"]\n\n[[allow]]\npath = \"docs/**\"\nreason = \"sample\"\n",
    )
    .unwrap();
    let (code, json, err) = leakscope_json(dir.path(), ["scan", "--git", ".", "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(findings(&json), ["src/app.env"], "{json}");
    assert_eq!(json["summary"]["suppressed_allowlist"], 1);
    let notes = json["summary"]["notes"].to_string();
    assert!(
        notes.contains("1 finding at paths excluded by leakscope.toml"),
        "{notes}"
    );
}

#[test]
fn a_bad_config_is_an_error_naming_the_file_line_and_key() {
    let dir = project();
    let cases = [
        ("[scan]\nexclud = [\"x\"]\n", "leakscope.toml:2:1", "exclud"),
        (
            "[scan]\nexclude = [\"a/[b\"]\n",
            "leakscope.toml:2:",
            "scan.exclude",
        ),
        (
            "[paths]\nexclude = [\"ok\", \"a/[b\"]\n",
            "leakscope.toml:2:",
            "paths.exclude",
        ),
        (
            "[[allow]]\npath = \"docs/**\"\n",
            "leakscope.toml:1:",
            "reason",
        ),
        (
            "[[allow]]\nfingerprint = \"nothex\"\nreason = \"x\"\n",
            "leakscope.toml:2:",
            "fingerprint",
        ),
        (
            "[scan]\nrules = [\"missing.toml\"]\n",
            "leakscope.toml:2:",
            "scan.rules",
        ),
        ("[scna]\n", "leakscope.toml:1:", "scna"),
        (
            "[lints]\ndisable = [\"no-such-lint\"]\n",
            "leakscope.toml:2:",
            "no-such-lint",
        ),
    ];
    for (text, place, key) in cases {
        fs::write(dir.path().join("leakscope.toml"), text).unwrap();
        for command in ["scan", "lint"] {
            let out = run(dir.path(), &[command, "."]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{command} {text:?}: {err}");
            assert!(err.contains(place), "{command} {text:?}: {err}");
            assert!(err.contains(key), "{command} {text:?}: {err}");
            assert!(!err.contains("--exclude"), "{command} {text:?}: {err}");
        }
    }
}

#[test]
fn lint_finds_the_config_upwards_and_reads_its_excludes_relative_to_it() {
    let dir = tempfile::tempdir().unwrap();
    git_init(dir.path());
    for d in ["ignored", "kept"] {
        let wf = dir.path().join("sub").join(d).join(".github/workflows");
        fs::create_dir_all(&wf).unwrap();
        fs::write(
            wf.join("x.yml"),
            "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n",
        )
        .unwrap();
    }
    fs::write(
        dir.path().join("leakscope.toml"),
        "[paths]\nexclude = [\"sub/ignored/**\"]\n\n[scan]\nexclude = [\"nothing/\"]\n",
    )
    .unwrap();
    let paths = |cwd: &Path, extra: &[&str]| -> Vec<String> {
        let mut args = vec!["lint", ".", "--format", "json"];
        args.extend_from_slice(extra);
        let (_, json, err) = leakscope_json(cwd, args);
        let mut out: Vec<String> = json["findings"]
            .as_array()
            .unwrap_or_else(|| panic!("{err}"))
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect();
        out.dedup();
        out
    };
    assert_eq!(paths(dir.path(), &[]), ["sub/kept/.github/workflows/x.yml"]);
    let sub = dir.path().join("sub");
    assert_eq!(paths(&sub, &[]), ["kept/.github/workflows/x.yml"]);
    assert_eq!(
        paths(&sub, &["--no-config"]),
        [
            "ignored/.github/workflows/x.yml",
            "kept/.github/workflows/x.yml"
        ]
    );
}
