//! Hostile inputs outside git (issue 10, items 3-6 and 9): unbounded reads, terminal
//! injection, secrets in server answers, file names and snippets, tokens bound for the
//! wrong host, quadratic rule loading, file names that are not UTF-8, UTF-16 files.
//!
//! Every input is generated here; every token is well-formed but never issued. Each test
//! searches every output (all formats, stdout and stderr) for every planted token.

use crate::support::fake_api::{FakeApi, Reply};
use crate::support::tokens::{anaconda_org_token, anaconda_repo_token, github_token};

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// A hang is the bug some of these tests guard against: generous, never a speed test.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// A loopback address where nothing listens.
const NOWHERE: &str = "http://127.0.0.1:9";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or(Value::Null)
    }
}

fn leakscope(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("leakscope").unwrap();
    cmd.current_dir(cwd)
        .args(args)
        .env_remove("NO_COLOR")
        .env("LEAKSCOPE_GITHUB_API_URL", NOWHERE)
        .env("LEAKSCOPE_ANACONDA_API_URL", NOWHERE)
        .env("LEAKSCOPE_ANACONDA_CLOUD_URL", NOWHERE)
        .env("LEAKSCOPE_ANACONDA_COM_URL", NOWHERE)
        .timeout(HANG_GUARD);
    cmd
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `args` once per report format (`--format F` appended) and returns the runs.
fn every_format(cwd: &Path, args: &[&str], formats: &[&str]) -> Vec<(String, Run)> {
    formats
        .iter()
        .map(|format| {
            let mut all = args.to_vec();
            all.extend(["--format", format]);
            (format.to_string(), run(&mut leakscope(cwd, &all)))
        })
        .collect()
}

fn assert_no_token(runs: &[(String, Run)], tokens: &[&str]) {
    for (format, r) in runs {
        for token in tokens {
            assert!(
                !r.text().contains(token),
                "--format {format} printed a planted token whole: {}",
                r.text()
            );
        }
    }
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

// ---------------------------------------------------------------------------------
// Item 3: unbounded reads.
// ---------------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn verify_inputs_from_dev_zero_stop_at_the_stated_cap() {
    let dir = tempfile::tempdir().unwrap();
    // An endless input stops at the stated cap, naming the input.
    let r = run(&mut leakscope(
        dir.path(),
        &["verify", "--input", "/dev/zero"],
    ));
    assert_eq!(r.code, 2, "{}", r.text());
    assert!(
        r.stderr
            .contains("--input /dev/zero: cannot read: larger than 256 MiB"),
        "{}",
        r.stderr
    );
    let r = run(&mut leakscope(
        dir.path(),
        &["verify", "--tokens-file", "/dev/zero"],
    ));
    assert_eq!(r.code, 2, "{}", r.text());
    assert!(
        r.stderr.contains("--tokens-file /dev/zero") && r.stderr.contains("256 MiB"),
        "the error names the input and the cap: {}",
        r.stderr
    );
    let r = run(&mut leakscope(
        dir.path(),
        &["scan", ".", "--rules", "/dev/zero"],
    ));
    assert_eq!(r.code, 2, "{}", r.text());
    assert!(
        r.stderr.contains("/dev/zero") && r.stderr.contains("256 MiB"),
        "{}",
        r.stderr
    );
}

/// 270 MB of JSON whitespace on stdin: an error at the cap, not 2.9 GB of memory.
#[cfg(unix)]
#[test]
fn verify_input_from_a_huge_stdin_stops_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("leakscope");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "head -c 270000000 /dev/zero | tr '\\0' ' ' | '{}' verify --input -",
            bin.display()
        ))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--input -") && stderr.contains("256 MiB"),
        "{stderr}"
    );
}

/// A findings file is anyone's text: its `path` may name /dev/zero or a FIFO. Only
/// regular files are re-read; the others are errors naming the kind, and nothing hangs.
#[cfg(unix)]
#[test]
fn a_finding_whose_path_is_a_device_or_fifo_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("pipe"));
    let finding = |path: &str| {
        serde_json::json!({
            "rule": "github.classic-pat", "provider": "github", "path": path, "line": 1,
            "secret": "ghp_Ab…(40 chars)", "fingerprint": "00112233445566778899aabbccddeeff"
        })
    };
    let input = serde_json::json!({"findings": [finding("/dev/zero"), finding("pipe")]});
    std::fs::write(dir.path().join("in.json"), input.to_string()).unwrap();
    let r = run(&mut leakscope(
        dir.path(),
        &["verify", "--input", "in.json", "--format", "json"],
    ));
    assert_eq!(r.code, 2, "{}", r.text());
    let errors = r.json()["errors"].to_string();
    assert!(
        errors.contains("/dev/zero is a character device, not a regular file"),
        "{errors}"
    );
    assert!(
        errors.contains("pipe is a FIFO, not a regular file"),
        "{errors}"
    );
}

/// Special files named on the command line are an error (exit 2) naming them; met in
/// a directory they are counted as `skipped_special`, never read and never silent.
#[cfg(unix)]
#[test]
fn special_files_are_reported_not_silently_skipped() {
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("pipe"));
    std::fs::write(dir.path().join("plain.txt"), "nothing here\n").unwrap();
    let r = run(&mut leakscope(dir.path(), &["scan", "pipe", "-q"]));
    assert_eq!(r.code, 2, "{}", r.text());
    assert!(
        r.stderr.contains("pipe") && r.stderr.contains("a FIFO"),
        "{}",
        r.stderr
    );
    let r = run(&mut leakscope(dir.path(), &["scan", "/dev/zero", "-q"]));
    assert_eq!(r.code, 2, "{}", r.text());
    assert!(r.stderr.contains("character device"), "{}", r.stderr);

    let r = run(&mut leakscope(
        dir.path(),
        &["scan", ".", "-q", "--format", "json"],
    ));
    assert_eq!(r.code, 0, "{}", r.text());
    assert_eq!(r.json()["summary"]["skipped_special"], 1, "{}", r.stdout);
    assert_eq!(r.json()["summary"]["files_scanned"], 1, "{}", r.stdout);
    let r = run(&mut leakscope(
        dir.path(),
        &["scan", ".", "-q", "--color", "never"],
    ));
    assert!(
        r.stdout.contains("1 skipped (FIFOs, devices or sockets)"),
        "{}",
        r.stdout
    );
}

// ---------------------------------------------------------------------------------
// Item 4: terminal injection.
// ---------------------------------------------------------------------------------

/// ESC, OSC, BEL, CR, backspace, C1, NUL and newlines from file names, snippets, rule
/// names and provider answers never reach the terminal raw in human output.
#[test]
fn control_characters_from_input_are_escaped_in_human_output() {
    let dir = tempfile::tempdir().unwrap();
    let token = github_token("ghp_", 9101);
    // A file name with an OSC title sequence, a BEL and a newline that forges a line.
    let name = "evil\x1b]0;pwned\x07\nFAKE.env";
    std::fs::write(
        dir.path().join(name),
        format!("TOKEN={token} \x1b[2J\r\x08\u{9b}31m\x7fx\n"),
    )
    .unwrap();
    // A user rule whose name carries an escape sequence, and its finding.
    std::fs::write(
        dir.path().join("rule.toml"),
        "[[rule]]\nid = \"user.demo\"\nname = \"demo \\u001b[5mblink\"\nprovider = \"test\"\n\
         keywords = [\"demo_\"]\nregex = '''(demo_[a-z]{12})'''\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("b.txt"), "x = demo_qzxwvkjmtrpl\n").unwrap();
    let r = run(&mut leakscope(
        dir.path(),
        &[
            "scan",
            ".",
            "-q",
            "--rules",
            "rule.toml",
            "--color",
            "never",
        ],
    ));
    assert_eq!(r.code, 1, "{}", r.text());
    for raw in ['\x1b', '\x07', '\r', '\x08', '\u{9b}', '\x7f'] {
        assert!(!r.stdout.contains(raw), "raw {raw:?} in {:?}", r.stdout);
    }
    assert!(
        r.stdout.contains("evil\\x1b]0;pwned\\x07\\nFAKE.env:1:7"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("\\x1b[2J\\r\\x08\\u{9b}31m\\x7fx"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("demo \\x1b[5mblink"), "{}", r.stdout);
    assert!(
        !r.stdout.lines().any(|l| l.starts_with("FAKE.env")),
        "a newline in a name forged a line: {}",
        r.stdout
    );
    assert!(!r.text().contains(&token));
}

// ---------------------------------------------------------------------------------
// Item 5: whole secrets without --show-secrets.
// ---------------------------------------------------------------------------------

/// A provider answer that echoes the token, lists another of the run's secrets, embeds
/// an escape sequence and runs for kilobytes is shown redacted, escaped and short.
#[test]
fn provider_answers_are_redacted_escaped_and_cut() {
    let dir = tempfile::tempdir().unwrap();
    let first = github_token("ghp_", 9201);
    let second = github_token("ghp_", 9202);
    let stranger = github_token("gho_", 9203);
    let echo = format!(
        "Bad credentials: {first} and {second}; also {stranger} \x1b]0;x\x07{}",
        "y".repeat(5000)
    );
    let body = serde_json::json!({ "message": echo }).to_string();
    let github = FakeApi::start(move |_, _| Reply::new(401, &body));
    std::fs::write(dir.path().join("t"), format!("{first}\n{second}\n")).unwrap();
    for format in ["human", "json", "jsonl"] {
        let r = run(leakscope(
            dir.path(),
            &[
                "verify",
                "--tokens-file",
                "t",
                "--format",
                format,
                "--color",
                "never",
            ],
        )
        .env("LEAKSCOPE_GITHUB_API_URL", &github.url));
        assert_eq!(r.code, 0, "{}", r.text());
        for token in [&first, &second, &stranger] {
            assert!(!r.text().contains(token.as_str()), "{format}: {}", r.text());
        }
        assert!(
            !r.stdout.contains(&"y".repeat(400)),
            "{format}: server text is cut"
        );
        if format == "human" {
            assert!(!r.stdout.contains('\x1b'), "{}", r.stdout);
            assert!(
                r.stdout.contains("GitHub: Bad credentials: ghp_"),
                "{}",
                r.stdout
            );
        }
    }
}

/// A token in a file name is a finding (location `path`) and is redacted from every
/// path every format shows. A token reported on one line is redacted from the snippet
/// of another finding, and a bare checksummed token no rule reported (glued to a
/// word) is redacted from a snippet too.
#[test]
fn tokens_in_file_names_and_neighbouring_snippets_are_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let in_name = github_token("ghp_", 9301);
    let reported = github_token("ghp_", 9302);
    let glued = github_token("ghp_", 9303);
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join(format!("keys/{in_name}.txt")), "nothing\n").unwrap();
    // The second line's snippet holds `reported` (found on line 1) and `glued`
    // (no rule reports it: a word character before it breaks the rule's boundary).
    std::fs::write(
        dir.path().join("a.env"),
        format!(
            "TOKEN={reported}\nOTHER={} copy={reported} x{glued}\n",
            github_token("ghp_", 9304)
        ),
    )
    .unwrap();
    let runs = every_format(
        dir.path(),
        &["scan", ".", "-q"],
        &["human", "json", "jsonl", "sarif"],
    );
    assert_no_token(&runs, &[&in_name, &reported, &glued]);
    let json = runs[1].1.json();
    let findings = json["findings"].as_array().unwrap();
    let by_name: Vec<&Value> = findings
        .iter()
        .filter(|f| f["location"] == "path")
        .collect();
    assert_eq!(by_name.len(), 1, "{json}");
    assert_eq!(by_name[0]["rule"], "github.classic-pat");
    assert!(
        by_name[0]["path"]
            .as_str()
            .unwrap()
            .starts_with("keys/ghp_"),
        "{json}"
    );
    assert_eq!(runs[1].1.code, 1);
}

// ---------------------------------------------------------------------------------
// Item 6: tokens sent to the wrong host.
// ---------------------------------------------------------------------------------

/// Only a URL whose host is exactly an Anaconda host (or a subdomain of its domains)
/// sends its `/t/` token; look-alike hosts and paths that merely contain the name do
/// not.
#[test]
fn channel_tokens_go_only_to_exact_provider_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let good = anaconda_org_token(9401);
    let lookalike = anaconda_org_token(9402);
    let in_path = anaconda_org_token(9403);
    let repo_good = anaconda_repo_token(9404);
    let repo_bad = anaconda_repo_token(9405);
    let backslash = anaconda_org_token(9406);
    std::fs::write(
        dir.path().join(".condarc"),
        format!(
            "channels:\n  - https://conda.anaconda.org/t/{good}/acme\n  \
             - https://conda.myanaconda.org/t/{lookalike}/acme\n  \
             - https://mirror.example.com/anaconda.org/t/{in_path}/acme\n  \
             - https://repo.anaconda.cloud/t/{repo_good}/repo/main\n  \
             - https://repo.notanaconda.cloud/t/{repo_bad}/repo/main\n  \
             - https://evil.example\\@conda.anaconda.org/t/{backslash}/acme\n"
        ),
    )
    .unwrap();
    let api = FakeApi::start(|_, _| Reply::new(401, r#"{"error":"Invalid token"}"#));
    let r = run(leakscope(
        dir.path(),
        &["scan", ".", "-q", "--verify", "--format", "json"],
    )
    .env("LEAKSCOPE_ANACONDA_API_URL", &api.url)
    .env("LEAKSCOPE_ANACONDA_CLOUD_URL", &api.url));
    let sent = api.all_raw();
    assert!(
        sent.contains(&good),
        "the anaconda.org token was checked: {sent}"
    );
    assert!(
        sent.contains(&repo_good),
        "the repo token was checked: {sent}"
    );
    for never in [&lookalike, &in_path, &repo_bad, &backslash] {
        assert!(
            !sent.contains(never.as_str()),
            "{never} went to the provider: {sent}"
        );
    }
    let findings = r.json()["findings"].as_array().unwrap().clone();
    assert_eq!(findings.len(), 6, "{}", r.stdout);
    let unsent = findings
        .iter()
        .filter(|f| {
            f["verdict"]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("nothing was sent"))
        })
        .count();
    assert_eq!(unsent, 4, "{}", r.stdout);
    for token in [
        &good, &lookalike, &in_path, &repo_good, &repo_bad, &backslash,
    ] {
        assert!(!r.text().contains(token.as_str()));
    }
}

/// `http://localhost` is a name the resolver may map anywhere: http overrides take
/// literal loopback addresses only.
#[test]
fn http_overrides_must_be_literal_loopback_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let token = github_token("ghp_", 9501);
    for url in [
        "http://localhost:9",
        "http://LocalHost.:9",
        "http://[::ffff:127.0.0.1]:9",
    ] {
        let r = run(leakscope(dir.path(), &["verify", "--token", &token])
            .env("LEAKSCOPE_GITHUB_API_URL", url));
        assert_eq!(r.code, 2, "{url}: {}", r.text());
        assert!(
            r.stderr.contains("LEAKSCOPE_GITHUB_API_URL")
                && r.stderr.contains("not names such as localhost"),
            "{url}: {}",
            r.stderr
        );
        assert!(!r.text().contains(&token));
    }
}

// ---------------------------------------------------------------------------------
// Item 9: quadratic keywords, non-UTF-8 names, UTF-16 files.
// ---------------------------------------------------------------------------------

/// 200 000 keywords in one user rule loaded in quadratic time (35 s); the hang guard
/// catches a return of that, far above what a linear load takes.
#[test]
fn a_rule_with_200k_keywords_loads() {
    let dir = tempfile::tempdir().unwrap();
    let mut rule = String::from(
        "[[rule]]\nid = \"user.many\"\nname = \"many keywords\"\nprovider = \"test\"\nregex = '''(kw[0-9]{6}_[a-z]{10})'''\nkeywords = [\n",
    );
    for i in 0..200_000 {
        rule.push_str(&format!("\"kw{i:06}\",\n"));
    }
    rule.push_str("]\n");
    std::fs::write(dir.path().join("many.toml"), rule).unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/a.txt"), "x kw123456_qzxwvkjmtr\n").unwrap();
    let r = run(&mut leakscope(
        dir.path(),
        &[
            "scan",
            "src",
            "-q",
            "--rules",
            "many.toml",
            "--format",
            "json",
        ],
    ));
    assert_eq!(r.code, 1, "{}", r.text());
    assert_eq!(r.json()["findings"][0]["rule"], "user.many");
}

/// A file name that is not UTF-8 keeps its bytes: `path_bytes` (hex) beside the lossy
/// `path`, so the report names the file exactly.
#[cfg(unix)]
#[test]
fn non_utf8_file_names_keep_their_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let token = github_token("ghp_", 9601);
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.env");
    std::fs::write(dir.path().join(name), format!("T={token}\n")).unwrap();
    let runs = every_format(
        dir.path(),
        &["scan", ".", "-q"],
        &["json", "jsonl", "human"],
    );
    assert_no_token(&runs, &[&token]);
    let f = &runs[0].1.json()["findings"][0];
    assert_eq!(f["path"], "caf\u{fffd}.env", "{f}");
    assert_eq!(f["path_bytes"], "636166e92e656e76", "{f}");
    let line: Value = serde_json::from_str(runs[1].1.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(line["path_bytes"], "636166e92e656e76");
}

/// A UTF-16 file larger than the old 64 MiB whole-file limit is streamed and scanned,
/// not skipped as binary; the token at its end is found at its line.
#[test]
fn a_large_utf16_file_is_streamed_and_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let token = github_token("ghp_", 9701);
    let lines = 11_500_000; // "a\r\n" x 11.5 M = 69 MB of UTF-16, over the old 64 MiB
    let mut data = vec![0xFF, 0xFE];
    data.extend(b"a\0\r\0\n\0".repeat(lines));
    for unit in format!("T={token}\r\n").encode_utf16() {
        data.extend(unit.to_le_bytes());
    }
    std::fs::write(dir.path().join("big.txt"), data).unwrap();
    let r = run(&mut leakscope(
        dir.path(),
        &["scan", ".", "-q", "--format", "json"],
    ));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let json = r.json();
    assert_eq!(json["summary"]["skipped_binary"], 0);
    assert_eq!(json["findings"][0]["line"], lines + 1);
    assert_eq!(json["findings"][0]["column"], 3);
    assert!(!r.text().contains(&token));
}

/// A token in a commit's author name or email is a finding (location `author`) and is
/// redacted wherever the author is shown.
#[test]
fn tokens_in_commit_authors_are_findings_and_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let token = github_token("ghp_", 9801);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", format!("Mallory {token}"))
            .env("GIT_AUTHOR_EMAIL", "m@example.test")
            .env("GIT_COMMITTER_NAME", "C")
            .env("GIT_COMMITTER_EMAIL", "c@example.test")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(dir.path().join("a.txt"), "hello\n").unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "first"]);
    let runs = every_format(
        dir.path(),
        &["scan", ".", "--git", "-q"],
        &["human", "json", "jsonl", "sarif"],
    );
    assert_no_token(&runs, &[&token]);
    let json = runs[1].1.json();
    let authors: Vec<&Value> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["location"] == "author")
        .collect();
    assert_eq!(authors.len(), 1, "{json}");
    assert!(
        authors[0]["author"]
            .as_str()
            .unwrap()
            .starts_with("Mallory ghp_"),
        "{json}"
    );
    assert_eq!(runs[1].1.code, 1);
}

/// A fatal error quoting the input (here a `.git` file whose gitdir line holds a token
/// and an escape sequence) shows neither whole.
#[test]
fn fatal_errors_redact_tokens_and_escape_controls() {
    let dir = tempfile::tempdir().unwrap();
    let token = github_token("ghp_", 9901);
    std::fs::write(
        dir.path().join(".git"),
        format!("gitdir: /nowhere/{token}/\x1b[2Jrepo\n"),
    )
    .unwrap();
    let r = run(&mut leakscope(dir.path(), &["scan", ".", "--git", "-q"]));
    assert_eq!(r.code, 2, "{}", r.text());
    assert!(!r.text().contains(&token), "{}", r.text());
    assert!(!r.stderr.contains('\x1b'), "{}", r.stderr);
}

/// `scan --staged` reports a token in the name of a staged file, redacted.
#[test]
fn a_staged_file_named_after_a_token_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let token = github_token("ghp_", 9911);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(dir.path().join(format!("{token}.txt")), "hello\n").unwrap();
    git(&["add", "-A"]);
    let runs = every_format(dir.path(), &["scan", "--staged", "-q"], &["human", "json"]);
    assert_no_token(&runs, &[&token]);
    let json = runs[1].1.json();
    assert_eq!(json["findings"][0]["location"], "path", "{json}");
    assert_eq!(runs[1].1.code, 1);
}
