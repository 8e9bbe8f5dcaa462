//! `leakscope rules export --format github-custom-patterns` end to end: the Anaconda and
//! user rules come out as GitHub custom patterns whose joined form (run here with the
//! `regex` crate) still finds every example, and a rule Hyperscan cannot take is refused
//! with the reason.

use serde_json::Value;
use std::process::Command;

fn export(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(["rules", "export", "--format", "github-custom-patterns"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), value, stderr)
}

fn joined(p: &Value) -> regex::Regex {
    let part = |k: &str| p[k].as_str().unwrap_or("").to_string();
    regex::Regex::new(&format!(
        "(?:{})({})(?:{})",
        part("before_secret"),
        part("secret_format"),
        part("after_secret")
    ))
    .unwrap()
}

#[test]
fn anaconda_rules_export_as_custom_patterns_that_match_their_test_strings() {
    let (code, out, stderr) = export(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["format"], "github-custom-patterns");
    let patterns = out["patterns"].as_array().unwrap();
    assert!(patterns.len() >= 10, "{out}");
    assert!(out["refused"].as_array().unwrap().is_empty());
    // GitHub detects its own tokens: its rules stay out unless --all.
    assert!(patterns
        .iter()
        .all(|p| !p["rule_id"].as_str().unwrap().starts_with("github.")));
    for p in patterns {
        let re = joined(p);
        assert!(re.is_match(p["test_string"].as_str().unwrap()), "{p}");
        let secret = p["secret_format"].as_str().unwrap();
        assert!(!secret.contains("(?P<") && !secret.contains("(?<"), "{p}");
    }
    let (code, all, _) = export(&["--all"]);
    assert_eq!(code, 0);
    assert!(all["patterns"].as_array().unwrap().len() > patterns.len());
}

#[test]
fn user_rules_are_exported_or_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("acme.toml");
    std::fs::write(
        &rules,
        r#"
[[rule]]
id = "acme.deploy-key"
name = "Acme deploy key"
provider = "acme"
keywords = ["acmedk_"]
regex = '''\b(acmedk_[a-z0-9]{24})\b'''
examples = ["key = acmedk_0123456789abcdefghijklmn"]

[[rule]]
id = "acme.angle"
name = "Acme key with a Rust-only word boundary"
provider = "acme"
keywords = ["acmeak_"]
regex = '''\<(acmeak_[a-z0-9]{24})\>'''
examples = ["key = acmeak_0123456789abcdefghijklmn"]
"#,
    )
    .unwrap();
    let out_file = dir.path().join("patterns.json");
    let (code, _, stderr) = export(&[
        "--rules",
        rules.to_str().unwrap(),
        "--output",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "a refused rule fails the export: {stderr}");
    assert!(stderr.contains("rule acme.angle: not exported"), "{stderr}");
    let out: Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    let acme = out["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["rule_id"] == "acme.deploy-key")
        .unwrap();
    assert_eq!(acme["secret_format"], "acmedk_[a-z0-9]{24}");
    assert_eq!(acme["before_secret"], r"\b");
    assert!(joined(acme)
        .captures("key = acmedk_0123456789abcdefghijklmn")
        .is_some_and(|c| &c[1] == "acmedk_0123456789abcdefghijklmn"));
    let refused = &out["refused"][0];
    assert_eq!(refused["rule_id"], "acme.angle");
    assert!(refused["reason"].as_str().unwrap().contains("Hyperscan"));
}
