//! `leakscope schema` and the reports it describes: real reports of a tree, a history, a
//! staged and a verify run, as JSON and JSON lines, are valid against the published
//! schema, and every reader takes the writer's output back.

use crate::support::fake_api::{FakeApi, Reply};
use crate::support::run;
use crate::support::tokens::ghp;
use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn schema() -> Value {
    let out = Command::cargo_bin("leakscope")
        .unwrap()
        .arg("schema")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    serde_json::from_slice(&out.stdout).expect("the schema is JSON")
}

fn assert_valid(schema: &Value, doc: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {}\n{doc:#}", errors.join("\n"));
}

/// The schema of one finding, for JSON lines: the report's `findings` item schema.
fn finding_schema(schema: &Value) -> Value {
    let mut one = schema.clone();
    let obj = one.as_object_mut().unwrap();
    obj.insert("$ref".into(), Value::String("#/$defs/Finding".into()));
    obj.remove("properties");
    obj.remove("required");
    obj.remove("type");
    one
}

fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Alice Example")
        .env("GIT_AUTHOR_EMAIL", "alice@example.test")
        .env("GIT_COMMITTER_NAME", "Alice Example")
        .env("GIT_COMMITTER_EMAIL", "alice@example.test")
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn reports_of_every_kind_validate_against_the_schema() {
    let schema = schema();
    assert_eq!(schema["properties"]["schema_version"]["type"], "integer");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    std::fs::write(root.join("a.env"), format!("GITHUB_TOKEN={}\n", ghp(901))).unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "add a token"]);
    std::fs::write(root.join("b.py"), format!("t = '{}'\n", ghp(902))).unwrap();
    git(root, &["add", "b.py"]);

    for (what, args) in [
        ("tree", vec!["scan", "--format", "json", "."]),
        ("history", vec!["scan", "--git", "--format", "json", "."]),
        ("staged", vec!["scan", "--staged", "--format", "json", "."]),
    ] {
        let (code, doc, stderr) = run::leakscope_json(root, &args);
        assert_eq!(code, 1, "{what}: {stderr}");
        assert_eq!(doc["schema_version"], 1, "{what}");
        assert!(!doc["findings"].as_array().unwrap().is_empty(), "{what}");
        assert_valid(&schema, &doc, what);
    }

    let one = finding_schema(&schema);
    let out = Command::cargo_bin("leakscope")
        .unwrap()
        .current_dir(root)
        .args(["scan", "--git", "--format", "jsonl", "."])
        .output()
        .unwrap();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        assert_eq!(line["schema_version"], 1);
        assert_valid(&one, line, "jsonl line");
    }
}

#[test]
fn a_verify_report_validates_and_verify_reads_the_scan_report_back() {
    let schema = schema();
    let api = FakeApi::start(|_, _| Reply::new(401, r#"{"message":"Bad credentials"}"#));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.env"),
        format!("GITHUB_TOKEN={}\n", ghp(903)),
    )
    .unwrap();
    let (_, scan, _) = run::leakscope_json(dir.path(), ["scan", "--format", "json", "."]);
    std::fs::write(dir.path().join("scan.json"), scan.to_string()).unwrap();
    let out = Command::cargo_bin("leakscope")
        .unwrap()
        .current_dir(dir.path())
        .env("LEAKSCOPE_GITHUB_API_URL", &api.url)
        .env("LEAKSCOPE_ANACONDA_API_URL", "http://127.0.0.1:9")
        .env("LEAKSCOPE_ANACONDA_CLOUD_URL", "http://127.0.0.1:9")
        .env("LEAKSCOPE_ANACONDA_COM_URL", "http://127.0.0.1:9")
        .args(["verify", "--input", "scan.json", "--format", "json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["findings"][0]["verdict"]["status"], "invalid",
        "{doc:#}"
    );
    assert_eq!(
        doc["findings"][0]["fingerprint"],
        scan["findings"][0]["fingerprint"]
    );
    assert_valid(&schema, &doc, "verify");
}
