//! SARIF 2.1.0, shaped for GitHub code scanning.
//!
//! What GitHub needs and peers get wrong: each rule once in `tool.driver.rules`; URIs
//! relative to the checkout and percent-encoded (a path with a space must still
//! resolve); `partialFingerprints` so an alert follows a secret across line moves;
//! at most 25 000 results per run, so larger result sets are split into runs; and
//! suppressed findings kept with `suppressions` rather than dropped, so alerts a user
//! closed by baseline or inline allow stay closed instead of reappearing.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Value};
use std::io::Write;

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// GitHub code scanning's limit of results per run.
pub const MAX_RESULTS_PER_RUN: usize = 25_000;

/// A rule as SARIF's `reportingDescriptor` needs it. GitHub's ingestion requires `help`
/// and `fullDescription` on every rule; `security_severity` (a number as a string) sets
/// the alert's Critical/High/Medium/Low.
#[derive(Debug, Clone)]
pub struct SarifRule {
    pub id: String,
    pub name: String,
    pub short_description: String,
    pub full_description: String,
    pub help_uri: Option<String>,
    /// `error`, `warning` or `note`.
    pub level: String,
    /// Plain-text help: what it is, what to do, how to allow a false positive.
    pub help_text: String,
    /// The same help in Markdown (GitHub shows this one).
    pub help_markdown: String,
    pub security_severity: String,
    pub tags: Vec<String>,
}

/// One result, independent of whether it came from scan or lint.
#[derive(Debug, Clone)]
pub struct SarifResult {
    pub rule_id: String,
    pub level: String,
    pub message: String,
    /// `None` for results without a file (a commit message).
    pub path: Option<String>,
    pub line: usize,
    pub column: usize,
    pub end_column: Option<usize>,
    pub fingerprint: String,
    /// `Some("external")` for a baseline, `Some("inSource")` for an inline allow.
    pub suppression: Option<(&'static str, String)>,
    pub properties: Value,
}

/// Characters left as they are in a relative URI path: RFC 3986 unreserved plus `/`.
const PATH_ENCODE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b':')
    .add(b'@')
    .add(b'!')
    .add(b'$')
    .add(b'&')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'*')
    .add(b'+')
    .add(b',')
    .add(b';')
    .add(b'=');

/// A path as a SARIF artifact URI: relative paths stay relative (resolved against
/// `%SRCROOT%`), absolute ones become `file://` URIs.
pub fn path_to_uri(path: &str) -> (String, bool) {
    let encoded = utf8_percent_encode(path, PATH_ENCODE).to_string();
    if path.starts_with('/') {
        (format!("file://{encoded}"), true)
    } else {
        (encoded, false)
    }
}

/// Writes one SARIF log. `category` (`scan`, `lint`) becomes each run's
/// `automationDetails.id`: GitHub rejects an upload holding two runs of one tool with
/// one category, so the runs a large result set is split into get one each.
pub fn write_sarif(
    out: &mut dyn Write,
    category: &str,
    rules: &[SarifRule],
    results: &[SarifResult],
) -> std::io::Result<()> {
    let descriptors: Vec<Value> = rules
        .iter()
        .map(|r| {
            let mut d = json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": {"text": r.short_description},
                "fullDescription": {"text": r.full_description},
                "defaultConfiguration": {"level": r.level},
                "help": {"text": r.help_text, "markdown": r.help_markdown},
                "properties": {
                    "tags": r.tags,
                    "security-severity": r.security_severity,
                },
            });
            if let Some(uri) = &r.help_uri {
                d["helpUri"] = json!(uri);
            }
            d
        })
        .collect();
    let index: std::collections::HashMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let index_of = |id: &str| index.get(id).copied();
    let chunks: Vec<&[SarifResult]> = if results.is_empty() {
        vec![&[]]
    } else {
        results.chunks(MAX_RESULTS_PER_RUN).collect()
    };
    let runs: Vec<Value> = chunks
        .into_iter()
        .enumerate()
        .map(|(n, chunk)| {
            let automation_id = match n {
                0 => format!("leakscope/{category}/"),
                n => format!("leakscope/{category}-part{}/", n + 1),
            };
            let results: Vec<Value> = chunk
                .iter()
                .map(|r| result_json(r, index_of(&r.rule_id)))
                .collect();
            json!({
                "automationDetails": {"id": automation_id},
                "tool": {"driver": {
                    "name": "leakscope",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": descriptors,
                }},
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The scanned root."}}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            })
        })
        .collect();
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": runs,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn result_json(r: &SarifResult, rule_index: Option<usize>) -> Value {
    let mut region = json!({"startLine": r.line.max(1), "startColumn": r.column.max(1)});
    if let Some(end) = r.end_column {
        region["endColumn"] = json!(end);
    }
    let mut result = json!({
        "ruleId": r.rule_id,
        "level": r.level,
        "message": {"text": r.message},
        "partialFingerprints": {"leakscope/v1": r.fingerprint},
        "properties": r.properties,
    });
    if let Some(index) = rule_index {
        result["ruleIndex"] = json!(index);
    }
    if let Some(path) = &r.path {
        let (uri, absolute) = path_to_uri(path);
        let mut artifact = json!({"uri": uri});
        if !absolute {
            artifact["uriBaseId"] = json!("%SRCROOT%");
        }
        result["locations"] =
            json!([{"physicalLocation": {"artifactLocation": artifact, "region": region}}]);
    } else {
        result["locations"] = json!([]);
    }
    if let Some((kind, justification)) = &r.suppression {
        result["suppressions"] = json!([{"kind": kind, "justification": justification}]);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded_and_relative() {
        assert_eq!(
            path_to_uri("dir with space/a#b.txt"),
            ("dir%20with%20space/a%23b.txt".into(), false)
        );
        assert_eq!(path_to_uri("/abs/x y"), ("file:///abs/x%20y".into(), true));
        assert_eq!(path_to_uri("ünï/ok.txt").0, "%C3%BCn%C3%AF/ok.txt");
    }

    #[test]
    fn results_are_split_into_runs_past_the_limit() {
        let r = SarifResult {
            rule_id: "x".into(),
            level: "error".into(),
            message: "m".into(),
            path: Some("a".into()),
            line: 1,
            column: 1,
            end_column: None,
            fingerprint: "f".into(),
            suppression: None,
            properties: json!({}),
        };
        let results = vec![r; MAX_RESULTS_PER_RUN + 1];
        let mut out = Vec::new();
        write_sarif(&mut out, "scan", &[], &results).unwrap();
        let doc: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["runs"].as_array().unwrap().len(), 2);
        assert_eq!(doc["runs"][0]["automationDetails"]["id"], "leakscope/scan/");
        assert_eq!(
            doc["runs"][1]["automationDetails"]["id"],
            "leakscope/scan-part2/"
        );
        assert_eq!(doc["runs"][1]["results"].as_array().unwrap().len(), 1);
    }
}
