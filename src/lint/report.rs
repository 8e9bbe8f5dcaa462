//! Lint reports in scan's four formats. JSON and JSON lines carry every field of
//! [`LintFinding`]; SARIF goes through scan's writer ([`crate::report::sarif`]) so both
//! commands upload to GitHub code scanning the same way; the human format follows
//! scan's layout (place, rule, snippet, then what to do).

use super::{all_docs, LintFinding, Severity};
use crate::finding::Suppression;
use crate::report::sarif::{write_sarif, SarifResult, SarifRule};
use crate::report::{Format, ReportOptions};
use crate::source::{ScanError, Stats};
use colored::Colorize;
use serde::Serialize;
use serde_json::json;
use std::io::Write;

/// Totals for the lint report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LintSummary {
    #[serde(flatten)]
    pub stats: Stats,
    /// Findings that count (not suppressed).
    pub findings: usize,
    pub error: usize,
    pub warning: usize,
    pub note: usize,
    pub suppressed_inline: usize,
    pub suppressed_baseline: usize,
    /// Files or inputs that could not be read or parsed.
    pub errors: usize,
    /// The policy file applied, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Tokens verified (with `--verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_tokens: Option<usize>,
    pub duration_ms: u64,
    pub notes: Vec<String>,
}

#[derive(Debug, Default)]
pub struct LintReport {
    /// All findings, suppressed ones included (SARIF keeps them).
    pub findings: Vec<LintFinding>,
    pub summary: LintSummary,
    pub errors: Vec<ScanError>,
}

impl LintReport {
    pub fn active(&self) -> impl Iterator<Item = &LintFinding> {
        self.findings.iter().filter(|f| !f.is_suppressed())
    }

    pub fn recount(&mut self) {
        let mut counts = [0usize; 3];
        let (mut inline, mut baseline) = (0, 0);
        for f in &self.findings {
            match f.suppressed {
                Some(Suppression::InlineAllow) => inline += 1,
                Some(Suppression::Baseline) => baseline += 1,
                None => counts[f.severity as usize] += 1,
            }
        }
        let s = &mut self.summary;
        s.note = counts[Severity::Note as usize];
        s.warning = counts[Severity::Warning as usize];
        s.error = counts[Severity::Error as usize];
        s.findings = counts.iter().sum();
        s.suppressed_inline = inline;
        s.suppressed_baseline = baseline;
        s.errors = self.errors.len();
    }

    /// True when an active finding is at or above `level`.
    pub fn fails(&self, level: Severity) -> bool {
        self.active().any(|f| f.severity >= level)
    }
}

pub fn write(
    out: &mut dyn Write,
    report: &LintReport,
    options: ReportOptions,
) -> std::io::Result<()> {
    match options.format {
        Format::Human => write_human(out, report, options.color),
        Format::Json => {
            let doc = json!({
                "findings": report.active().collect::<Vec<_>>(),
                "summary": report.summary,
                "errors": report.errors,
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        }
        Format::Jsonl => {
            for f in report.active() {
                serde_json::to_writer(&mut *out, f)?;
                writeln!(out)?;
            }
            Ok(())
        }
        Format::Sarif => {
            let rules: Vec<SarifRule> = all_docs()
                .into_iter()
                .map(|d| SarifRule {
                    id: d.id.to_string(),
                    name: d.id.to_string(),
                    short_description: d.title.to_string(),
                    full_description: format!("{} {}", d.checks.trim(), d.why.trim()),
                    help_uri: None,
                    level: d.severity.as_str().to_string(),
                    help_text: format!(
                        "{}\n\nWhy: {}\n\nFix: {}\n\nA false positive: add a \
                         leakscope:allow comment on the line, or disable the lint in \
                         leakscope.toml ([lints] disable).",
                        d.checks.trim(),
                        d.why.trim(),
                        d.fix.trim()
                    ),
                    help_markdown: format!(
                        "**{}**\n\n{}\n\n**Why it matters**: {}\n\n**Fix**: {}\n\n\
                         **A false positive?** Add a `leakscope:allow` comment on the line, or \
                         disable the lint in `leakscope.toml` (`[lints] disable = [\"{}\"]`). \
                         Details: `leakscope lint --explain {}`.",
                        d.title.trim(),
                        d.checks.trim(),
                        d.why.trim(),
                        d.fix.trim(),
                        d.id,
                        d.id
                    ),
                    security_severity: match d.severity.as_str() {
                        "error" => "7.0",
                        "warning" => "4.0",
                        _ => "1.0",
                    }
                    .into(),
                    tags: vec!["security".into(), "token-hygiene".into()],
                })
                .collect();
            let results: Vec<SarifResult> = report.findings.iter().map(sarif_result).collect();
            write_sarif(out, "lint", &rules, &results)
        }
    }
}

fn sarif_result(f: &LintFinding) -> SarifResult {
    SarifResult {
        rule_id: f.rule.clone(),
        level: f.severity.as_str().to_string(),
        message: format!("{} Suggestion: {}", f.message, f.suggestion),
        path: Some(f.path.clone()),
        line: f.line,
        column: f.column,
        end_column: None,
        fingerprint: f.fingerprint.clone(),
        suppression: f.suppressed.map(|s| match s {
            Suppression::Baseline => ("external", "in the leakscope baseline".to_string()),
            Suppression::InlineAllow => ("inSource", "leakscope:allow comment".to_string()),
        }),
        properties: json!({"severity": f.severity.as_str(), "suggestion": f.suggestion}),
    }
}

fn write_human(out: &mut dyn Write, report: &LintReport, color: bool) -> std::io::Result<()> {
    colored::control::set_override(color);
    let mut active: Vec<&LintFinding> = report.active().collect();
    // Errors first, then by place.
    active.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in active {
        let severity = match f.severity {
            Severity::Error => f.severity.as_str().red().bold(),
            Severity::Warning => f.severity.as_str().yellow().bold(),
            Severity::Note => f.severity.as_str().blue().bold(),
        };
        writeln!(
            out,
            "{} {} {}",
            format!("{}:{}:{}", f.path, f.line, f.column).bold(),
            severity,
            f.rule.cyan()
        )?;
        writeln!(out, "  {} {}", format!("{} |", f.line).dimmed(), f.snippet)?;
        writeln!(out, "  {}", f.message)?;
        let mut lines = f.suggestion.lines();
        if let Some(first) = lines.next() {
            writeln!(out, "  {} {}", "fix:".green(), first)?;
            for line in lines {
                writeln!(out, "       {line}")?;
            }
        }
        writeln!(out, "  fingerprint {}", f.fingerprint.dimmed())?;
        writeln!(out)?;
    }
    crate::report::human::write_errors_and_notes(out, &report.errors, &report.summary.notes)?;
    let s = &report.summary;
    let mut line = format!(
        "{} lint {} ({} error, {} warning, {} note) in {} {}, {} ms",
        s.findings,
        if s.findings == 1 {
            "finding"
        } else {
            "findings"
        },
        s.error,
        s.warning,
        s.note,
        s.stats.files_scanned,
        if s.stats.files_scanned == 1 {
            "file"
        } else {
            "files"
        },
        s.duration_ms
    );
    let suppressed = s.suppressed_inline + s.suppressed_baseline;
    if suppressed > 0 {
        line.push_str(&format!(", {suppressed} suppressed"));
    }
    if s.errors > 0 {
        line.push_str(&format!(", {} unreadable", s.errors));
    }
    if let Some(policy) = &s.policy {
        line.push_str(&format!(", policy {policy}"));
    }
    let line = if s.findings > 0 {
        line.red().bold()
    } else {
        line.green()
    };
    writeln!(out, "{line}")
}
