//! Snapshots (insta) of what a user reads: the human report and the SARIF document of
//! one scan over every kind of finding (plain, base64, archive member, low confidence,
//! inline-allowed). A change to either output shows up as a reviewed diff
//! (`cargo insta review`), not as a silent drift.

use crate::support::tokens::{anaconda_org_token_v4, ghp};
use assert_cmd::Command;
use base64::Engine;
use std::io::Write;

/// A tree whose tokens are generated from fixed seeds, so the outputs are stable.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("deploy.sh"),
        format!("#!/bin/sh\nexport GITHUB_TOKEN={}\n", ghp(1401)),
    )
    .unwrap();
    std::fs::write(
        root.join("allowed.env"),
        format!("GH={} # leakscope:allow (test fixture)\n", ghp(1402)),
    )
    .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(ghp(1403));
    std::fs::write(
        root.join("secret.yaml"),
        format!("kind: Secret\ndata:\n  token: {b64}\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("notes.txt"),
        format!("handed over: {}\n", anaconda_org_token_v4(1404)),
    )
    .unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        zip.start_file("conf/.env", zip::write::SimpleFileOptions::default())
            .unwrap();
        writeln!(zip, "# prod\nGH_TOKEN={}", ghp(1405)).unwrap();
        zip.finish().unwrap();
    }
    std::fs::write(root.join("bundle.zip"), out.into_inner()).unwrap();
    dir
}

fn run(dir: &std::path::Path, format: &str) -> String {
    let out = Command::cargo_bin("leakscope")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(["scan", ".", "--format", format, "--color", "never"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8(out.stdout).unwrap()
}

/// Replaces what changes from run to run (durations, the version) with placeholders.
fn stable(text: &str) -> String {
    let ms = regex::Regex::new(r"\b\d+ ms\b").unwrap();
    let version = env!("CARGO_PKG_VERSION");
    ms.replace_all(text, "[N] ms")
        .replace(&format!("\"{version}\""), "\"[VERSION]\"")
}

#[test]
fn human_report_snapshot() {
    let dir = fixture();
    insta::assert_snapshot!("human_report", stable(&run(dir.path(), "human")));
}

#[test]
fn sarif_report_snapshot() {
    let dir = fixture();
    let sarif: serde_json::Value = serde_json::from_str(&run(dir.path(), "sarif")).unwrap();
    // The rule descriptors are the rule files' text (covered by the rules tests); the
    // snapshot keeps the results and the run's shape.
    let run = &sarif["runs"][0];
    let shape = serde_json::json!({
        "version": sarif["version"],
        "automationDetails": run["automationDetails"],
        "rules": run["tool"]["driver"]["rules"].as_array().unwrap().iter()
            .map(|r| serde_json::json!({"id": r["id"], "level": r["defaultConfiguration"]["level"]}))
            .collect::<Vec<_>>(),
        "results": run["results"],
    });
    insta::assert_snapshot!(
        "sarif_results",
        stable(&serde_json::to_string_pretty(&shape).unwrap())
    );
}
