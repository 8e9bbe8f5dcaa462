//! Reports: the same findings as a human-readable listing, JSON, JSON lines or SARIF.
//!
//! Every format redacts secrets unless `--show-secrets` was given; the redaction is done
//! by [`crate::finding::Secret`] itself, and only [`finding_json`] swaps the value back in.

pub mod escape;
pub mod human;
pub mod sarif;

use crate::finding::{Finding, Suppression};
use crate::rules::Rule;
use crate::source::{ScanError, Stats};
use serde::Serialize;
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
}

/// Totals for the report's summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    #[serde(flatten)]
    pub stats: Stats,
    /// Findings that count (not suppressed).
    pub findings: usize,
    pub suppressed_inline: usize,
    pub suppressed_baseline: usize,
    pub errors: usize,
    /// Verified-live findings, when `--verify` ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<usize>,
    pub duration_ms: u64,
    pub notes: Vec<String>,
}

/// Everything a scan produced, ready to print.
#[derive(Debug, Default)]
pub struct Report {
    /// All findings, suppressed ones included (SARIF keeps them; other formats count them).
    pub findings: Vec<Finding>,
    pub summary: Summary,
    pub errors: Vec<ScanError>,
}

impl Report {
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.is_suppressed())
    }

    /// Recomputes the finding counters from the findings and errors.
    pub fn recount(&mut self) {
        self.summary.findings = self.active().count();
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

pub fn write_report(
    out: &mut dyn Write,
    report: &Report,
    rules: &[Rule],
    options: ReportOptions,
) -> std::io::Result<()> {
    match options.format {
        Format::Human => human::write(out, report, options),
        Format::Json => {
            let doc = json!({
                "findings": report.active().map(|f| finding_json(f, options.show_secrets)).collect::<Vec<_>>(),
                "summary": report.summary,
                "errors": report.errors,
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        }
        Format::Jsonl => {
            for f in report.active() {
                serde_json::to_writer(&mut *out, &finding_json(f, options.show_secrets))?;
                writeln!(out)?;
            }
            Ok(())
        }
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
            sarif::write_sarif(out, "leakscope", &sarif_rules, &results)
        }
    }
}

fn sarif_rule(rule: &Rule) -> sarif::SarifRule {
    sarif::SarifRule {
        id: rule.spec.id.clone(),
        name: rule.spec.name.clone(),
        short_description: rule.spec.name.clone(),
        full_description: if rule.spec.description.is_empty() {
            rule.spec.name.clone()
        } else {
            rule.spec.description.clone()
        },
        help_uri: rule.spec.references.first().cloned(),
        level: "error".into(),
    }
}

fn sarif_result(f: &Finding, show_secrets: bool) -> sarif::SarifResult {
    let secret = if show_secrets {
        f.secret.expose().to_string()
    } else {
        f.secret.redacted()
    };
    let mut message = format!("{} found: {}", f.rule_name, secret);
    if let Some(c) = &f.commit {
        message.push_str(&format!(
            " (introduced in commit {} by {} on {})",
            short(&c.commit),
            c.author,
            c.date
        ));
    }
    if let Some(v) = &f.verdict {
        message.push_str(&format!(" [{}]", v.describe()));
    }
    let mut properties = json!({"provider": f.provider, "location": f.location});
    if let Some(c) = &f.commit {
        properties["commit"] = json!(c.commit);
    }
    sarif::SarifResult {
        rule_id: f.rule.clone(),
        level: "error".into(),
        message,
        path: f.path.clone(),
        line: f.line,
        column: f.column,
        end_column: Some(f.end_column),
        fingerprint: f.fingerprint.clone(),
        suppression: f.suppressed.map(|s| match s {
            Suppression::Baseline => ("external", "in the leakscope baseline".to_string()),
            Suppression::InlineAllow => ("inSource", "leakscope:allow comment".to_string()),
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
