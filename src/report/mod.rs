//! Reports: the same findings as a human-readable listing, JSON, JSON lines, SARIF or
//! GitHub Actions annotations.
//!
//! Every format redacts secrets unless `--show-secrets` was given; the redaction is done
//! by [`crate::finding::Secret`] itself, and only [`finding_json`] swaps the value back in.

pub mod diff;
pub mod escape;
pub mod github;
pub mod html;
pub mod human;
pub mod incidents;
pub mod sarif;

use crate::finding::{Finding, Suppression};
use crate::rules::Rule;
use crate::source::skips::Skipped;
use crate::source::{ScanError, Stats};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// One block per finding, colored on a terminal.
    #[default]
    Human,
    /// One JSON object: findings, summary, errors.
    Json,
    /// One JSON object per finding, one per line.
    Jsonl,
    /// SARIF 2.1.0 for GitHub code scanning.
    Sarif,
    /// One self-contained HTML page (no network): incidents, timelines, next steps (scan and verify reports; lint has none).
    Html,
    /// GitHub Actions workflow commands: one `::error file=…,line=…::` annotation per finding.
    Github,
}

/// What kind of scan made a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ScanKind {
    /// Files of a working tree (or paths given).
    #[default]
    Tree,
    /// Git history (`scan --git`).
    History,
    /// The staged change (`scan --staged`).
    Staged,
    /// Tokens checked by `verify`.
    Verify,
}

/// What was scanned, when and with what: the report's header.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ScanMeta {
    pub kind: ScanKind,
    /// The paths (or repository) given on the command line.
    pub targets: Vec<String>,
    /// The repository of a history or staged scan, absolute: where verify and revoke
    /// read blobs back from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// When the scan started, RFC 3339 UTC.
    pub started: String,
    pub version: String,
    /// Ids of the rules that ran.
    pub rules: Vec<String>,
}

impl ScanMeta {
    pub fn new(kind: ScanKind, targets: Vec<String>, rules: &[Rule]) -> Self {
        ScanMeta {
            kind,
            targets,
            repository: None,
            started: crate::source::git::commits::rfc3339(incidents::now(), 0),
            version: env!("CARGO_PKG_VERSION").to_string(),
            rules: rules.iter().map(|r| r.spec.id.clone()).collect(),
        }
    }
}

/// The version of the report schema (`leakscope schema`) in every JSON report and
/// JSON line. Raised when a field changes meaning or goes away; added fields do not.
pub const SCHEMA_VERSION: u32 = 1;

/// Totals for the report's summary.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Summary {
    #[serde(flatten)]
    pub stats: Stats,
    /// Findings that count (not suppressed).
    pub findings: usize,
    /// Of `findings`, those of low confidence (a token's shape alone): they fail a
    /// gate only with `--fail-on low`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub low_confidence: usize,
    pub suppressed_inline: usize,
    pub suppressed_baseline: usize,
    /// Accepted by an `[[allow]]` entry of leakscope.toml.
    pub suppressed_allowlist: usize,
    pub errors: usize,
    /// Verified-live findings, when `--verify` ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<usize>,
    pub duration_ms: u64,
    pub notes: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A JSON report of `scan` or `verify` as written (`--format json`) and as read back by
/// `verify --input`, `revoke --input` and `lint --scan-report`. `--format jsonl` writes
/// the findings alone, one per line, each with its own `schema_version`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ReportDoc {
    /// [`SCHEMA_VERSION`] of the writer.
    #[serde(default)]
    pub schema_version: u32,
    /// What was scanned, when, with which version and rules.
    #[serde(default)]
    pub scan: ScanMeta,
    /// Findings that count (suppressed ones are left out; SARIF keeps them).
    pub findings: Vec<Finding>,
    /// One incident per distinct secret (by fingerprint), with its places and, for
    /// history scans, its timeline.
    #[serde(default)]
    pub secrets: Vec<incidents::Incident>,
    #[serde(default)]
    pub summary: Summary,
    /// What could not be read; the scan went on.
    #[serde(default)]
    pub errors: Vec<ScanError>,
    /// With `--explain-skips`: each path a tree scan left out, and why (a directory not
    /// entered ends with `/` and stands for everything under it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

/// The JSON Schema of [`ReportDoc`], for `leakscope schema`.
pub fn report_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(ReportDoc)).unwrap_or(Value::Null)
}

/// Everything a scan produced, ready to print.
#[derive(Debug, Default)]
pub struct Report {
    /// All findings, suppressed ones included (SARIF keeps them; other formats count them).
    pub findings: Vec<Finding>,
    pub summary: Summary,
    pub errors: Vec<ScanError>,
    pub meta: ScanMeta,
    /// History facts by fingerprint (history scans).
    pub history: std::collections::BTreeMap<String, crate::source::git::facts::SecretHistory>,
    /// Paths left out, with `--explain-skips` (tree scans).
    pub skipped: Vec<Skipped>,
}

impl Report {
    /// One incident per distinct secret among the active findings.
    pub fn incidents(&self, show_secrets: bool) -> Vec<incidents::Incident> {
        incidents::incidents(
            self.active(),
            &self.history,
            self.meta.kind == ScanKind::History,
            incidents::now(),
            show_secrets,
        )
    }

    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.is_suppressed())
    }

    /// Recomputes the finding counters from the findings and errors.
    pub fn recount(&mut self) {
        self.summary.findings = self.active().count();
        self.summary.low_confidence = self
            .active()
            .filter(|f| f.confidence == crate::finding::Confidence::Low)
            .count();
        self.summary.suppressed_inline = self
            .findings
            .iter()
            .filter(|f| f.suppressed == Some(Suppression::InlineAllow))
            .count();
        self.summary.suppressed_baseline = self
            .findings
            .iter()
            .filter(|f| f.suppressed == Some(Suppression::Baseline))
            .count();
        self.summary.suppressed_allowlist = self
            .findings
            .iter()
            .filter(|f| matches!(f.suppressed, Some(Suppression::Allowlist { .. })))
            .count();
        self.summary.errors = self.errors.len();
        if self.findings.iter().any(|f| f.verdict.is_some()) {
            self.summary.live = Some(
                self.findings
                    .iter()
                    .filter(|f| {
                        !f.is_suppressed() && f.verdict.as_ref().is_some_and(|v| v.is_live())
                    })
                    .count(),
            );
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ReportOptions {
    pub format: Format,
    pub show_secrets: bool,
    pub color: bool,
}

/// A finding as JSON; the secret stays redacted unless `show_secrets`.
pub fn finding_json(finding: &Finding, show_secrets: bool) -> Value {
    let mut value = serde_json::to_value(finding).unwrap_or(Value::Null);
    if show_secrets {
        value["secret"] = json!(finding.secret.expose());
    }
    if finding.path.is_none() {
        value["path"] = Value::Null;
    }
    value
}

/// A finding as one JSON line: the finding and the schema version it follows.
pub fn finding_line(finding: &Finding, show_secrets: bool) -> Value {
    let mut value = finding_json(finding, show_secrets);
    value["schema_version"] = json!(SCHEMA_VERSION);
    value
}

pub fn write_report(
    out: &mut dyn Write,
    report: &Report,
    rules: &[Rule],
    options: ReportOptions,
) -> std::io::Result<()> {
    match options.format {
        Format::Human => human::write(out, report, options),
        Format::Github => github::write(out, report, options),
        Format::Json => {
            let mut doc = json!({
                "schema_version": SCHEMA_VERSION,
                "scan": report.meta,
                "findings": report.active().map(|f| finding_json(f, options.show_secrets)).collect::<Vec<_>>(),
                "secrets": report.incidents(options.show_secrets),
                "summary": report.summary,
                "errors": report.errors,
            });
            if !report.skipped.is_empty() {
                doc["skipped"] = json!(report.skipped);
            }
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        }
        Format::Jsonl => {
            for f in report.active() {
                serde_json::to_writer(&mut *out, &finding_line(f, options.show_secrets))?;
                writeln!(out)?;
            }
            // Then one line per incident, told apart from findings by `"type": "secret"`.
            for incident in report.incidents(options.show_secrets) {
                let mut line = serde_json::to_value(&incident).unwrap_or(Value::Null);
                line["type"] = json!("secret");
                line["schema_version"] = json!(SCHEMA_VERSION);
                serde_json::to_writer(&mut *out, &line)?;
                writeln!(out)?;
            }
            Ok(())
        }
        Format::Html => html::write(out, report, options),
        Format::Sarif => {
            let sarif_rules: Vec<sarif::SarifRule> = rules.iter().map(sarif_rule).collect();
            let mut seen: std::collections::HashMap<(&str, Option<&str>), usize> =
                std::collections::HashMap::new();
            let results: Vec<sarif::SarifResult> = report
                .findings
                .iter()
                .map(|f| {
                    // Code scanning merges results that share a fingerprint: the same
                    // secret twice in one file needs two, stable across line moves.
                    let n = seen
                        .entry((f.fingerprint.as_str(), f.path.as_deref()))
                        .or_default();
                    *n += 1;
                    let mut result = sarif_result(f, options.show_secrets);
                    if *n > 1 {
                        result.fingerprint = format!("{}:{}", f.fingerprint, *n);
                    }
                    result
                })
                .collect();
            sarif::write_sarif(out, "scan", &sarif_rules, &results)
        }
    }
}

/// A leaked credential is a critical alert in code scanning (CVSS-style 9.0).
const TOKEN_SECURITY_SEVERITY: &str = "9.0";

fn sarif_rule(rule: &Rule) -> sarif::SarifRule {
    let spec = &rule.spec;
    let about = if spec.description.is_empty() {
        spec.name.clone()
    } else {
        spec.description.trim().to_string()
    };
    let references: String = spec.references.iter().map(|r| format!("- {r}\n")).collect();
    let help_markdown = format!(
        "**{name}** ({provider})\n\n{about}\n\n\
         **What to do**\n\n\
         1. Revoke the token now: `leakscope revoke --input REPORT --fingerprint FINGERPRINT` \
         (asks first), or in the provider's settings.\n\
         2. Issue a new one with the least scope and an expiry, and keep it in a secret store \
         (a CI secret, a vault), never in a file.\n\
         3. Deleting the file does not unleak it: the token stays in git history and in every \
         clone until it is revoked.\n\n\
         **A false positive?** Add a `leakscope:allow` comment on the line, or record the \
         finding's fingerprint in a baseline (`leakscope scan --write-baseline FILE`).\n{refs}",
        name = spec.name,
        provider = spec.provider,
        refs = if references.is_empty() {
            String::new()
        } else {
            format!("\n**References**\n\n{references}")
        },
    );
    sarif::SarifRule {
        id: spec.id.clone(),
        name: spec.name.clone(),
        short_description: spec.name.clone(),
        full_description: about.clone(),
        help_uri: spec.references.first().cloned(),
        level: sarif_level(spec.confidence).into(),
        help_text: format!(
            "{about}\n\nRevoke the token (leakscope revoke --input REPORT), issue a new one \
             with the least scope and keep it in a secret store; deleting the file does not \
             unleak it. A false positive: add a leakscope:allow comment on the line or use a \
             baseline (--write-baseline)."
        ),
        help_markdown,
        security_severity: TOKEN_SECURITY_SEVERITY.into(),
        tags: vec![
            "security".into(),
            "secret".into(),
            spec.provider.clone(),
            "external/cwe/cwe-798".into(),
        ],
    }
}

/// `RULE found: SECRET (introduced in commit C by A on D)`: the start of a finding's
/// message in SARIF and in GitHub annotations; the secret redacted unless `show_secrets`.
pub fn found_message(f: &Finding, show_secrets: bool) -> String {
    let secret = if show_secrets {
        f.secret.expose().to_string()
    } else {
        f.secret.redacted()
    };
    let mut message = format!("{} found: {}", f.rule.name, secret);
    if let Some(c) = &f.commit {
        message.push_str(&format!(
            " (introduced in commit {} by {} on {})",
            short(&c.commit),
            c.author,
            c.date
        ));
    }
    message
}

/// A token is an error; a token's shape alone (low confidence) a warning.
fn sarif_level(confidence: crate::finding::Confidence) -> &'static str {
    match confidence {
        crate::finding::Confidence::High => "error",
        crate::finding::Confidence::Low => "warning",
    }
}

fn sarif_result(f: &Finding, show_secrets: bool) -> sarif::SarifResult {
    let mut message = found_message(f, show_secrets);
    if let Some(v) = &f.verdict {
        message.push_str(&format!(" [{}]", v.describe()));
    }
    let mut properties = json!({"provider": f.rule.provider, "location": f.location});
    if let Some(c) = &f.commit {
        properties["commit"] = json!(c.commit);
    }
    if let Some(encoding) = f.encoding {
        properties["encoding"] = json!(encoding);
    }
    sarif::SarifResult {
        rule_id: f.rule.id.clone(),
        level: sarif_level(f.confidence).into(),
        message,
        path: f.path.clone(),
        line: f.line,
        column: f.column,
        end_column: Some(f.end_column),
        fingerprint: f.fingerprint.clone(),
        suppression: f.suppressed.map(|s| match s {
            Suppression::Baseline => ("external", "in the leakscope baseline".to_string()),
            Suppression::InlineAllow => ("inSource", "leakscope:allow comment".to_string()),
            Suppression::Allowlist { reason } => (
                "external",
                format!("allowed in leakscope.toml: {}", reason.0),
            ),
        }),
        properties,
    }
}

/// The first 12 characters of a commit id (whole if shorter, or if it is not ASCII:
/// ids read back from a findings file are user data).
pub fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_never_splits_a_character() {
        assert_eq!(super::short("0123456789abcdef"), "0123456789ab");
        assert_eq!(super::short("abc"), "abc");
        assert_eq!(super::short("aéééééééé"), "aéééééééé");
    }
}
