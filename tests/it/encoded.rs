//! Tokens in base64 (issue 13): Kubernetes Secrets, docker `auth`, `Basic` headers, a
//! whole encoded env file; and bare anaconda.org token shapes at low confidence.

use crate::support::run::leakscope_json;
use crate::support::tokens::{anaconda_org_token_v4, ghp};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

fn findings(report: &Value) -> Vec<&Value> {
    report["findings"].as_array().unwrap().iter().collect()
}

fn scan(files: &[(&str, String)], extra: &[&str]) -> (i32, Value, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let mut args = vec!["scan", ".", "--format", "json"];
    args.extend_from_slice(extra);
    let (code, json, stderr) = leakscope_json(dir.path(), args);
    (code, json, stderr, dir)
}

#[test]
fn base64_forms_are_found_at_the_encoded_text_with_the_decoded_fingerprint() {
    let token = ghp(1301);
    let anaconda = anaconda_org_token_v4(1302);
    let b64 = |s: &str| STANDARD.encode(s);
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ci\ndata:\n  GITHUB_TOKEN: {}\n  ANACONDA_TOKEN: {}\n",
        b64(&token),
        b64(&anaconda)
    );
    let docker = format!(
        "{{\"auths\":{{\"ghcr.io\":{{\"auth\":\"{}\"}}}}}}\n",
        b64(&format!("bot:{token}"))
    );
    let curl = format!(
        "curl -H \"Authorization: Basic {}\" https://api.github.com\n",
        b64(&format!("x-access-token:{token}"))
    );
    let env_lines: String = (0..30)
        .map(|i| format!("SETTING_{i}=value {i}\n"))
        .collect();
    let env = format!("{env_lines}ANACONDA_API_TOKEN={anaconda}\nGH={token}\n");
    // Wrapped at 76 columns, as `base64` writes it.
    let wrapped: String = b64(&env)
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let plain = format!("GH_TOKEN={token}\n");
    // An Anaconda token alone in an encoded file: its context word's encoded forms open
    // the window.
    let conda = b64(&format!(
        "{env_lines}export ANACONDA_API_TOKEN={anaconda}\n"
    ));
    // Two levels: a docker `auth` inside a Kubernetes `.dockerconfigjson` value.
    let pull_secret = format!(
        "kind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {}\n",
        b64(&format!(
            "{{\"auths\":{{\"ghcr.io\":{{\"auth\":\"{}\"}}}}}}",
            b64(&format!("bot:{token}"))
        ))
    );
    let npmrc = format!(
        "//npm.pkg.github.com/:_auth={}\n",
        b64(&format!("bot:{token}"))
    );
    let (code, report, stderr, _dir) = scan(
        &[
            ("pull-secret.yaml", pull_secret),
            (".npmrc", npmrc),
            ("secret.yaml", manifest),
            ("config.json", docker),
            ("call.sh", curl),
            ("env.b64", wrapped.clone()),
            ("plain.env", plain),
            ("conda.b64", conda),
        ],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    let all = findings(&report);
    let at =
        |path: &str| -> Vec<&Value> { all.iter().copied().filter(|f| f["path"] == path).collect() };
    let yaml = at("secret.yaml");
    assert_eq!(yaml.len(), 2, "{yaml:?}");
    assert_eq!(
        (yaml[0]["line"].as_u64(), yaml[0]["column"].as_u64()),
        (Some(6), Some(17))
    );
    assert_eq!(yaml[0]["rule"], "github.classic-pat");
    assert_eq!(yaml[0]["encoding"], "base64");
    assert_eq!(
        yaml[1]["rule"], "anaconda.org-token-env",
        "the key is the context word"
    );
    assert_eq!(at("config.json")[0]["encoding"], "base64");
    assert_eq!(at("call.sh")[0]["rule"], "github.classic-pat");
    let env_found = at("env.b64");
    assert_eq!(env_found.len(), 2, "{env_found:?}");
    let conda_found = at("conda.b64");
    assert_eq!(conda_found.len(), 1, "{conda_found:?}");
    assert_eq!(conda_found[0]["rule"], "anaconda.org-token-env");
    // One secret, one fingerprint, whether plain or encoded.
    let plain = &at("plain.env")[0];
    assert!(plain.get("encoding").is_none());
    let nested = at("pull-secret.yaml");
    assert_eq!(nested.len(), 1, "{nested:?}");
    assert_eq!(nested[0]["line"], 4);
    for f in [
        yaml[0],
        at("config.json")[0],
        at("call.sh")[0],
        at(".npmrc")[0],
        nested[0],
    ] {
        assert_eq!(f["fingerprint"], plain["fingerprint"]);
    }
    let incidents = report["secrets"].as_array().unwrap();
    assert_eq!(
        incidents.len(),
        2,
        "a GitHub token and an Anaconda token: {incidents:?}"
    );
    // Neither the decoded token nor its encoded form is printed.
    let text = report.to_string();
    assert!(!text.contains(&token) && !text.contains(&anaconda));
    for secret in [&token, &anaconda] {
        for align in 0..3 {
            let encoded = b64(&format!("{}{secret}", "x".repeat(align)));
            let bits = &encoded[4..28];
            assert!(!text.contains(bits), "encoded secret shown: {bits}");
        }
    }
}

#[test]
fn encoded_text_without_a_token_is_not_a_finding() {
    // The encoded prefix literal alone (a base64 string that happens to start like an
    // encoded `ghp_`) and a data block of ordinary values.
    let (code, report, stderr, _dir) = scan(
        &[
            ("noise.txt", format!("x = \"Z2hwX{}\"\n", "A".repeat(60))),
            (
                "cm.yaml",
                format!(
                    "data:\n  greeting: {}\n",
                    STANDARD.encode("hello world, no secret")
                ),
            ),
        ],
        &[],
    );
    assert_eq!(code, 0, "{stderr} {report}");
    assert!(findings(&report).is_empty());
}

#[test]
fn a_bare_anaconda_token_shape_is_low_confidence_and_fails_only_with_fail_on_low() {
    let token = anaconda_org_token_v4(1310);
    let files = [("notes.txt", format!("the token is {token}\n"))];
    let (code, report, stderr, _dir) = scan(&files, &[]);
    assert_eq!(code, 0, "{stderr}");
    let all = findings(&report);
    assert_eq!(all.len(), 1, "{report}");
    assert_eq!(all[0]["rule"], "anaconda.org-token-bare");
    assert_eq!(all[0]["confidence"], "low");
    assert_eq!(report["summary"]["low_confidence"], 1);
    let (code, _, _, _dir) = scan(&files, &["--fail-on", "low"]);
    assert_eq!(code, 1);
    // With a context word it is the context rule's, at full confidence.
    let (code, report, _, _dir) = scan(
        &[("ci.sh", format!("export ANACONDA_API_TOKEN={token}\n"))],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(findings(&report)[0]["rule"], "anaconda.org-token-env");
    assert!(findings(&report)[0].get("confidence").is_none());
}

#[test]
fn annotations_say_decoded_and_warn_for_low_confidence() {
    let token = ghp(1311);
    let anaconda = anaconda_org_token_v4(1312);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("secret.yaml"),
        format!(
            "kind: Secret\ndata:\n  token: {}\n",
            STANDARD.encode(&token)
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), format!("{anaconda}\n")).unwrap();
    let out = assert_cmd::Command::cargo_bin("leakscope")
        .unwrap()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "github"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |file: &str| {
        text.lines()
            .find(|l| l.contains(&format!("file={file}")))
            .unwrap_or_else(|| panic!("no annotation for {file}: {text}"))
            .to_string()
    };
    let encoded = line("secret.yaml");
    assert!(encoded.starts_with("::error "), "{encoded}");
    assert!(encoded.contains("(decoded from base64)"), "{encoded}");
    assert!(line("notes.txt").starts_with("::warning "), "{text}");
    assert!(!text.contains(&token) && !text.contains(&anaconda));
}
