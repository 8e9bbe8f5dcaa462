//! End-to-end tests of `leakscope scan` over working trees: formats, exit codes,
//! ignore rules, hidden/binary/unreadable files, symlinks, encodings, huge files,
//! baselines and inline allows.
//!
//! Tokens here are generated at test time with the real checksum: well-formed, never
//! issued. `fixtures/scan/` holds static ones made the same way (see its README).

use crate::support::run;
use crate::support::tokens;

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::Path;
use tokens::ghp;

fn leakscope() -> Command {
    let mut cmd = Command::cargo_bin("leakscope").unwrap();
    cmd.env_remove("NO_COLOR");
    cmd
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scan")
}

fn scan_json(args: &[&str], dir: &Path) -> (i32, Value) {
    let (code, json, stderr) =
        run::leakscope_json(dir, ["scan", "--format", "json"].iter().chain(args));
    assert!(!json.is_null(), "no JSON report; stderr: {stderr}");
    (code, json)
}

fn paths(json: &Value) -> Vec<String> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn leaky_fixture_tree_finds_every_token_and_exits_1() {
    let (code, json) = scan_json(&["leaky"], &fixtures());
    assert_eq!(code, 1);
    let mut found = paths(&json);
    found.sort();
    assert_eq!(
        found,
        [
            "leaky/.condarc",
            "leaky/.env",
            "leaky/deploy.sh",
            "leaky/src/settings.py",
            "leaky/vendor/app.min.js"
        ]
    );
    let summary = &json["summary"];
    assert_eq!(summary["findings"], 5);
    assert_eq!(summary["suppressed_inline"], 1);
    assert_eq!(summary["skipped_binary"], 1);
    assert_eq!(summary["errors"], 0);
    for f in json["findings"].as_array().unwrap() {
        for key in ["rule", "path", "line", "column", "secret", "fingerprint"] {
            assert!(!f[key].is_null(), "missing {key} in {f}");
        }
        assert!(
            f["secret"].as_str().unwrap().contains('…'),
            "secret not redacted: {f}"
        );
        assert_eq!(f["fingerprint"].as_str().unwrap().len(), 32);
    }
}

#[test]
fn clean_tree_exits_0_and_exit_zero_overrides_findings() {
    leakscope()
        .current_dir(fixtures())
        .args(["scan", "clean"])
        .assert()
        .code(0);
    leakscope()
        .current_dir(fixtures())
        .args(["scan", "leaky", "--exit-zero"])
        .assert()
        .code(0);
}

#[test]
fn positions_are_one_based_and_crlf_safe() {
    let (_, json) = scan_json(&["leaky"], &fixtures());
    let by_path = |p: &str| {
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == p)
            .unwrap()
            .clone()
    };
    let crlf = by_path("leaky/deploy.sh");
    assert_eq!(
        (crlf["line"].as_u64(), crlf["column"].as_u64()),
        (Some(2), Some(17))
    );
    assert!(!crlf["snippet"].as_str().unwrap().contains('\r'));
    let py = by_path("leaky/src/settings.py");
    assert_eq!(
        (
            py["line"].as_u64(),
            py["column"].as_u64(),
            py["end_column"].as_u64()
        ),
        (Some(2), Some(17), Some(57))
    );
}

#[test]
fn human_output_redacts_and_show_secrets_reveals() {
    let dir = tempfile::tempdir().unwrap();
    let token = ghp(1);
    fs::write(dir.path().join("a.txt"), format!("key = {token}\n")).unwrap();
    let out = leakscope()
        .current_dir(dir.path())
        .args(["scan", "."])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text.contains("a.txt:1:7"), "{text}");
    assert!(
        text.contains(&format!("{}…(40 chars)", &token[..6])),
        "{text}"
    );
    assert!(!text.contains(&token));
    assert!(!text.contains("\u{1b}["), "no color when not a terminal");
    for format in ["human", "json", "jsonl", "sarif"] {
        let hidden = leakscope()
            .current_dir(dir.path())
            .args(["scan", ".", "--format", format])
            .output()
            .unwrap();
        assert!(
            !String::from_utf8_lossy(&hidden.stdout).contains(&token),
            "{format} leaks the secret"
        );
        let shown = leakscope()
            .current_dir(dir.path())
            .args(["scan", ".", "--show-secrets", "--format", format])
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&shown.stdout).contains(&token),
            "{format} --show-secrets"
        );
    }
}

#[test]
fn jsonl_is_one_finding_per_line_then_one_line_per_secret() {
    let out = leakscope()
        .current_dir(fixtures())
        .args(["scan", "leaky", "--format", "jsonl"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let findings = lines.iter().take_while(|v| v.get("type").is_none()).count();
    assert_eq!(findings, 5);
    assert!(lines.len() > findings, "incident lines follow: {text}");
    for v in &lines[findings..] {
        assert_eq!(v["type"], "secret", "{v}");
        assert!(v["fingerprint"].is_string());
    }
    for v in &lines {
        assert!(v["rule"].is_string());
    }
}

#[test]
fn sarif_has_the_fields_code_scanning_requires() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("dir with space")).unwrap();
    fs::write(
        dir.path().join("dir with space/x.env"),
        format!("T={}\n", ghp(2)),
    )
    .unwrap();
    fs::write(
        dir.path().join("ok.txt"),
        format!("T={} # leakscope:allow\n", ghp(3)),
    )
    .unwrap();
    let out = leakscope()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Required by the SARIF 2.1.0 schema: version, runs[].tool.driver.name,
    // results[].message.text; GitHub also wants ruleId, locations, partialFingerprints.
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "leakscope");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "each rule once");
    for r in rules {
        assert!(r["shortDescription"]["text"].is_string());
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        2,
        "the allowed finding is kept, as suppressed"
    );
    for r in results {
        assert!(r["message"]["text"].is_string());
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        assert!(r["partialFingerprints"]["leakscope/v1"].is_string());
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    }
    let uris: Vec<&str> = results
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(uris.contains(&"dir%20with%20space/x.env"), "{uris:?}");
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "inSource");
}

#[test]
fn gitignore_is_honoured_hidden_files_scanned_and_no_ignore_scans_all() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join(".gitignore"), "build/\n").unwrap();
    fs::write(root.join(".ignore"), "secret-notes.txt\n").unwrap();
    fs::create_dir_all(root.join("build")).unwrap();
    fs::create_dir_all(root.join(".git")).unwrap();
    fs::write(root.join("build/out.txt"), ghp(4)).unwrap();
    fs::write(root.join("secret-notes.txt"), ghp(5)).unwrap();
    fs::write(root.join(".git/config"), ghp(6)).unwrap();
    fs::write(root.join(".env"), format!("GH={}\n", ghp(7))).unwrap();
    let (code, json) = scan_json(&["."], root);
    assert_eq!(code, 1);
    // .ignore is a search tool's file, honoured only when asked.
    assert_eq!(paths(&json), [".env", "secret-notes.txt"]);
    let (_, json) = scan_json(&[".", "--respect-dot-ignore"], root);
    assert_eq!(paths(&json), [".env"]);
    let (_, json) = scan_json(&[".", "--no-ignore"], root);
    let mut all = paths(&json);
    all.sort();
    assert_eq!(
        all,
        [".env", "build/out.txt", "secret-notes.txt"],
        ".git/ is never entered"
    );
    // An explicitly named file is scanned even if ignored, as in ripgrep.
    let (_, json) = scan_json(&["build/out.txt"], root);
    assert_eq!(paths(&json), ["build/out.txt"]);
    // --exclude leaves paths out.
    let (_, json) = scan_json(&[".", "--no-ignore", "--exclude", "build/**"], root);
    assert!(!paths(&json).contains(&"build/out.txt".to_string()));
}

#[test]
fn binary_files_are_skipped_by_content_not_name() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("image.png"),
        format!("not really a png {}\n", ghp(8)),
    )
    .unwrap();
    fs::write(dir.path().join("data.txt"), format!("\0\0{}\n", ghp(9))).unwrap();
    let (_, json) = scan_json(&["."], dir.path());
    assert_eq!(paths(&json), ["image.png"]);
    assert_eq!(json["summary"]["skipped_binary"], 1);
}

#[test]
fn invalid_utf8_and_latin1_text_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"caf\xe9 \xff\xfe token=".to_vec();
    bytes.extend_from_slice(ghp(10).as_bytes());
    bytes.push(b'\n');
    fs::write(dir.path().join("latin1.txt"), bytes).unwrap();
    let (_, json) = scan_json(&["."], dir.path());
    let f = &json["findings"][0];
    assert_eq!(f["path"], "latin1.txt");
    assert_eq!(
        f["column"], 15,
        "columns count code points, invalid bytes as one each"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed_by_default_and_loops_are_reported_with_follow() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir(root.join("sub")).unwrap();
    fs::write(root.join("sub/real.txt"), format!("{}\n", ghp(11))).unwrap();
    symlink("..", root.join("sub/loop")).unwrap();
    symlink("real.txt", root.join("sub/link.txt")).unwrap();
    symlink("missing-target", root.join("dangling")).unwrap();
    let (code, json) = scan_json(&["."], root);
    assert_eq!(code, 1);
    assert_eq!(paths(&json), ["sub/real.txt"]);
    assert_eq!(json["summary"]["skipped_symlinks"], 3);
    let (_, json) = scan_json(&[".", "--follow"], root);
    let errors = json["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains("loop")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e["path"].as_str().unwrap_or("").contains("dangling")),
        "{errors:?}"
    );
    assert_eq!(
        json["summary"]["errors"].as_u64().unwrap() as usize,
        errors.len()
    );
    assert!(paths(&json).contains(&"sub/link.txt".to_string()));
}

#[cfg(target_os = "linux")]
#[test]
fn an_unreadable_file_is_reported_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.txt"), format!("{}\n", ghp(12))).unwrap();
    // /proc/self/mem opens but fails to read at offset 0 (EIO), even as root, which
    // a chmod 000 file would not.
    let (code, json) = scan_json(&[".", "/proc/self/mem"], dir.path());
    assert_eq!(code, 1);
    assert_eq!(paths(&json), ["a.txt"]);
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], "/proc/self/mem");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("cannot read"));
    assert_eq!(json["summary"]["errors"], 1);
}

#[cfg(unix)]
#[test]
fn a_permission_denied_file_is_reported() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let locked = dir.path().join("locked.txt");
    fs::write(&locked, ghp(13)).unwrap();
    fs::write(dir.path().join("open.txt"), "nothing here\n").unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let root = fs::read(&locked).is_ok();
    let mut binary = assert_cmd::cargo::cargo_bin("leakscope");
    let bin_dir = tempfile::tempdir().unwrap();
    if root {
        // The binary's own directory may be closed to `nobody` (a checkout under /root).
        fs::set_permissions(bin_dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let copy = bin_dir.path().join("leakscope");
        fs::copy(&binary, &copy).unwrap();
        binary = copy;
    }
    let mut cmd = std::process::Command::new(binary);
    cmd.current_dir(dir.path())
        .args(["scan", ".", "--format", "json"]);
    if root {
        // Running as root, permissions do not apply to us: the scan runs as `nobody`,
        // for whom they do (CI containers run as root).
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(json["errors"][0]["path"], "locked.txt", "{json}");
    assert!(json["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("ermission denied"));
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unreadable file fails the gate"
    );
}

#[test]
fn missing_root_bad_flag_and_bad_rule_file_exit_2() {
    leakscope()
        .args(["scan", "does/not/exist"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("does/not/exist"));
    leakscope()
        .args(["scan", "--no-such-flag"])
        .assert()
        .code(2);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("bad.toml");
    fs::write(&rules, "[[rule]]\nid = \"x.y\"\nname = \"n\"\nprovider = \"p\"\nkeywords = [\"k\"]\nregex = '''(unclosed'''\n").unwrap();
    leakscope()
        .args(["scan", ".", "--rules"])
        .arg(&rules)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("bad.toml: rule x.y: bad regex"));
}

#[test]
fn user_rules_extend_the_builtin_set() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("mine.toml"),
        r#"
[[rule]]
id = "acme.deploy-key"
name = "ACME deploy key"
provider = "acme"
keywords = ["acme_"]
regex = '''\b(acme_[a-z0-9]{16})\b'''
examples = ["acme_0123abcd4567efgh"]
negative_examples = ["acme_short"]
"#,
    )
    .unwrap();
    fs::write(dir.path().join("app.cfg"), "key=acme_9a8b7c6d5e4f3a2b\n").unwrap();
    let (code, json) = scan_json(&[".", "--rules", "mine.toml"], dir.path());
    assert_eq!(code, 1);
    assert_eq!(json["findings"][0]["rule"], "acme.deploy-key");
    leakscope()
        .current_dir(dir.path())
        .args(["rules", "check", "mine.toml"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("1 rule ok"));
    leakscope()
        .current_dir(dir.path())
        .args(["rules", "list", "--rules", "mine.toml"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("acme.deploy-key"))
        .stdout(predicates::str::contains("github.classic-pat"));
}

#[test]
fn baseline_suppresses_known_findings_survives_moves_and_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let old = ghp(14);
    fs::write(root.join("a.txt"), format!("x\n{old}\n")).unwrap();
    leakscope()
        .current_dir(root)
        .args(["scan", ".", "--write-baseline", "base.json", "--exit-zero"])
        .assert()
        .code(0);
    let first = fs::read(root.join("base.json")).unwrap();
    assert!(
        !String::from_utf8_lossy(&first).contains(&old),
        "baseline holds no secret"
    );
    leakscope()
        .current_dir(root)
        .args(["scan", ".", "--write-baseline", "base2.json", "--exit-zero"])
        .assert()
        .code(0);
    assert_eq!(
        first,
        fs::read(root.join("base2.json")).unwrap(),
        "same tree, same bytes"
    );
    fs::remove_file(root.join("base2.json")).unwrap();
    // Move the token to another line and file: still baselined.
    fs::remove_file(root.join("a.txt")).unwrap();
    fs::create_dir(root.join("moved")).unwrap();
    fs::write(root.join("moved/b.txt"), format!("one\ntwo\nthree {old}\n")).unwrap();
    let (code, json) = scan_json(&[".", "--baseline", "base.json"], root);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["summary"]["suppressed_baseline"], 1);
    // A new token is not.
    fs::write(root.join("new.txt"), ghp(15)).unwrap();
    let (code, json) = scan_json(&[".", "--baseline", "base.json"], root);
    assert_eq!(code, 1);
    assert_eq!(paths(&json), ["new.txt"]);
    // A broken baseline is an error naming the file.
    fs::write(root.join("broken.json"), "{").unwrap();
    leakscope()
        .current_dir(root)
        .args(["scan", ".", "--baseline", "broken.json"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("broken.json"));
}

#[test]
fn output_file_gets_the_report() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.txt"), ghp(16)).unwrap();
    leakscope()
        .current_dir(dir.path())
        .args([
            "scan",
            "a.txt",
            "--format",
            "json",
            "--output",
            "report.json",
        ])
        .assert()
        .code(1)
        .stdout("");
    let json: Value =
        serde_json::from_slice(&fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(json["summary"]["findings"], 1);
}

/// Tokens at the very end of a 200 MB file and across the streaming chunk seams are
/// found once each, and the line numbers stay right.
#[test]
fn a_200_mb_file_is_streamed_and_seams_lose_nothing() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    let mut file = std::io::BufWriter::new(fs::File::create(&path).unwrap());
    let line = "2026-11-23T10:00:00Z INFO request served path=/api/v1/items status=200 bytes=5120 anaconda\n";
    let chunk = leakscope::blob::CHUNK_SIZE;
    let mut written = 0usize;
    let mut lines = 0usize;
    let mut planted = Vec::new();
    let mut seed = 100;
    while written < 200_000_000 {
        // Plant a token so that it straddles each chunk seam.
        let next_seam = (written / chunk + 1) * chunk;
        if next_seam - written < line.len() + 60 && next_seam - written > 20 {
            let token = ghp(seed);
            seed += 1;
            let pad = next_seam - written - 21;
            let text = format!("{} {token}\n", "p".repeat(pad));
            file.write_all(text.as_bytes()).unwrap();
            written += text.len();
            lines += 1;
            planted.push(lines);
            continue;
        }
        file.write_all(line.as_bytes()).unwrap();
        written += line.len();
        lines += 1;
    }
    file.write_all(format!("last {}", ghp(99)).as_bytes())
        .unwrap();
    lines += 1;
    planted.push(lines);
    file.flush().unwrap();
    drop(file);
    let (code, json) = scan_json(&["big.log"], dir.path());
    assert_eq!(code, 1);
    let found: Vec<usize> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["line"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(found, planted);
    assert!(json["summary"]["bytes_scanned"].as_u64().unwrap() > 200_000_000);
}

#[test]
fn placeholders_and_env_references_are_not_findings() {
    let (code, json) = scan_json(&["clean"], &fixtures());
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["summary"]["files_scanned"], 2);
}

#[test]
fn a_wrong_checksum_is_not_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let mut token = ghp(17).into_bytes();
    token[10] = if token[10] == b'a' { b'b' } else { b'a' };
    fs::write(dir.path().join("a.txt"), token).unwrap();
    leakscope()
        .current_dir(dir.path())
        .args(["scan", "."])
        .assert()
        .code(0);
}

#[test]
fn empty_directory_says_nothing_was_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let (code, json) = scan_json(&["."], dir.path());
    assert_eq!(code, 0);
    assert_eq!(json["summary"]["notes"][0], "no file was scanned");
}

/// Two secrets on one line: each finding's snippet redacts both, in every format.
#[test]
fn a_snippet_never_shows_a_neighbouring_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (ghp(31), tokens::github_token("gho_", 32));
    fs::write(
        dir.path().join("x.env"),
        format!("a={a} b={b} url=https://user:{a}@github.com/x\n"),
    )
    .unwrap();
    for format in ["human", "json", "jsonl", "sarif"] {
        let out = leakscope()
            .current_dir(dir.path())
            .args(["scan", ".", "--format", format])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains(&a) && !text.contains(&b), "{format}: {text}");
    }
    let (_, json) = scan_json(&["."], dir.path());
    assert_eq!(json["findings"].as_array().unwrap().len(), 3);
}

/// On a long minified line, a keyword hit inside an earlier (capped) window still gets
/// a window of its own that holds its whole token.
#[test]
fn tokens_far_apart_on_one_long_line_are_all_found() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (ghp(33), ghp(34));
    fs::write(
        dir.path().join("min.js"),
        format!("{a}{}{b}\n", " ".repeat(4040)),
    )
    .unwrap();
    let (_, json) = scan_json(&["."], dir.path());
    let columns: Vec<u64> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["column"].as_u64().unwrap())
        .collect();
    assert_eq!(columns, [1, 41 + 4040]);
}

/// A match just past a chunk seam keeps the context before it (a rule that needs
/// `GITHUB_TOKEN=`), its column and its inline allow; a token deep in a line longer
/// than a chunk gets its true column.
#[test]
fn chunk_seams_keep_context_columns_and_allow_comments() {
    use std::io::Write;
    let chunk = leakscope::blob::CHUNK_SIZE;
    let seam = chunk - 4 * leakscope::rules::WINDOW_RADIUS; // where the first chunk stops reporting
    let hex: String = tokens::alnum(35, 200)
        .bytes()
        .filter_map(|b| char::from_digit(u32::from(b) % 16, 16))
        .take(40)
        .collect();
    let dir = tempfile::tempdir().unwrap();

    // 1. `GITHUB_TOKEN=<hex>` with the hex starting 2 bytes after the seam.
    let assignment = format!("GITHUB_TOKEN={hex}\n");
    let filler_line = "x".repeat(99) + "\n";
    let mut text = String::new();
    while text.len() + filler_line.len() < seam + 2 - 13 {
        text.push_str(&filler_line);
    }
    let pad = seam + 2 - 13 - text.len();
    text.push_str(&"y".repeat(pad - 1));
    text.push('\n');
    assert_eq!(text.len() + 13, seam + 2);
    let line_of_token = text.matches('\n').count() + 1;
    text.push_str(&assignment);
    // 2. An allowed token 2 bytes after the next seam candidate is not needed: put an
    //    allow comment and a token on one line straddling nothing but far from others.
    text.push_str(&"z".repeat(chunk));
    text.push('\n');
    fs::write(dir.path().join("seam.txt"), &text).unwrap();
    let (_, json) = scan_json(&["seam.txt"], dir.path());
    let f = &json["findings"][0];
    assert_eq!(f["rule"], "github.legacy-token-assignment", "{json}");
    assert_eq!(f["line"].as_u64().unwrap() as usize, line_of_token);
    assert_eq!(f["column"], 14);

    // 3. `# leakscope:allow  T=<token>` with the token starting 2 bytes after the seam.
    let token = ghp(36);
    let head = "# leakscope:allow  T=";
    let mut text = filler_line.repeat((seam - head.len() + 2) / filler_line.len());
    let pad = seam + 2 - head.len() - text.len();
    text.push_str(&"w".repeat(pad - 1));
    text.push('\n');
    text.push_str(head);
    assert_eq!(text.len(), seam + 2);
    text.push_str(&format!("{token}\n"));
    text.push_str(&"z".repeat(chunk));
    fs::write(dir.path().join("allow.txt"), &text).unwrap();
    let (code, json) = scan_json(&["allow.txt"], dir.path());
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["summary"]["suppressed_inline"], 1);

    // 4. One 16 MiB line with a token at byte 12 582 912.
    let mut file = std::io::BufWriter::new(fs::File::create(dir.path().join("long.txt")).unwrap());
    file.write_all(" ".repeat(12_582_912).as_bytes()).unwrap();
    file.write_all(ghp(37).as_bytes()).unwrap();
    file.write_all(" ".repeat(4 << 20).as_bytes()).unwrap();
    file.write_all(b"\n").unwrap();
    file.flush().unwrap();
    drop(file);
    let (_, json) = scan_json(&["long.txt"], dir.path());
    assert_eq!(json["findings"][0]["line"], 1);
    assert_eq!(json["findings"][0]["column"], 12_582_913);
}

/// Code scanning merges results with one fingerprint: the same secret twice in a file
/// gets two distinct, stable ones.
#[test]
fn sarif_fingerprints_differ_for_repeats_of_one_secret_in_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let token = ghp(38);
    fs::write(dir.path().join("a.txt"), format!("{token}\nx\n{token}\n")).unwrap();
    let out = leakscope()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "sarif"])
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let prints: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["partialFingerprints"]["leakscope/v1"].as_str().unwrap())
        .collect();
    assert_eq!(prints.len(), 2);
    assert_ne!(prints[0], prints[1]);
    assert_eq!(prints[1], format!("{}:2", prints[0]));
}

#[test]
fn human_summary_names_every_skip_and_pluralises() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("big.txt"), "x".repeat(100)).unwrap();
    fs::write(dir.path().join("a.txt"), ghp(39)).unwrap();
    let out = leakscope()
        .current_dir(dir.path())
        .args(["scan", ".", "--max-file-size", "50"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("1 finding in 1 file ("), "{text}");
    assert!(text.contains("1 skipped (too large)"), "{text}");
}

/// UTF-16 text (PowerShell's `>`) is decoded and scanned, not skipped as binary.
#[test]
fn utf16_text_with_a_byte_order_mark_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("line one\r\n$env:GH_TOKEN = \"{}\"\r\n", ghp(40));
    let mut le = vec![0xFF, 0xFE];
    let mut be = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        le.extend_from_slice(&unit.to_le_bytes());
        be.extend_from_slice(&unit.to_be_bytes());
    }
    fs::write(dir.path().join("le.txt"), le).unwrap();
    fs::write(dir.path().join("be.txt"), be).unwrap();
    let (code, json) = scan_json(&["."], dir.path());
    assert_eq!(code, 1);
    let found: Vec<(String, u64, u64)> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(found, [("be.txt".into(), 2, 18), ("le.txt".into(), 2, 18)]);
    assert_eq!(json["summary"]["skipped_binary"], 0);
}
