//! The human report: one block per finding, most urgent first, then a summary line.

use super::{short, Report, ReportOptions};
use crate::finding::Finding;
use crate::source::ScanError;
use colored::Colorize;
use std::io::Write;

pub fn write(out: &mut dyn Write, report: &Report, options: ReportOptions) -> std::io::Result<()> {
    colored::control::set_override(options.color);
    let mut active: Vec<&Finding> = report.active().collect();
    // Live tokens are incidents: they go first.
    active.sort_by_key(|f| !f.verdict.as_ref().is_some_and(|v| v.is_live()));
    for f in &active {
        write_finding(out, f, options.show_secrets)?;
    }
    write_errors_and_notes(out, &report.errors, &report.summary.notes)?;
    let s = &report.summary;
    // History scans count blobs, the rest files.
    let unit = if s.stats.commits_scanned > 0 {
        "blob"
    } else {
        "file"
    };
    let mut line = format!(
        "{} in {} ({}), {} ms",
        plural(s.findings, "finding"),
        plural(s.stats.files_scanned as usize, unit),
        human_bytes(s.stats.bytes_scanned),
        s.duration_ms
    );
    let suppressed = s.suppressed_inline + s.suppressed_baseline;
    if suppressed > 0 {
        line.push_str(&format!(", {suppressed} suppressed"));
    }
    if let Some(live) = s.live {
        line.push_str(&format!(", {live} live"));
    }
    for (count, what) in [
        (s.stats.skipped_binary, "binary"),
        (s.stats.skipped_too_large, "too large"),
        (s.stats.skipped_symlinks, "symlinks not followed"),
    ] {
        if count > 0 {
            line.push_str(&format!(", {count} skipped ({what})"));
        }
    }
    if s.errors > 0 {
        line.push_str(&format!(", {} unreadable", s.errors));
    }
    let line = if s.findings > 0 {
        line.red().bold()
    } else {
        line.green()
    };
    writeln!(out, "{line}")
}

/// The lines after the findings that scan and lint share: what could not be read, and
/// what the reader must know to read the result right.
pub fn write_errors_and_notes(
    out: &mut dyn Write,
    errors: &[ScanError],
    notes: &[String],
) -> std::io::Result<()> {
    for e in errors {
        let what = e.path.as_deref().or(e.object.as_deref()).unwrap_or("-");
        writeln!(out, "{} {}: {}", "error:".red().bold(), what, e.message)?;
    }
    for note in notes {
        writeln!(out, "{} {}", "note:".yellow().bold(), note)?;
    }
    Ok(())
}

fn write_finding(out: &mut dyn Write, f: &Finding, show_secrets: bool) -> std::io::Result<()> {
    let place = match &f.path {
        Some(path) => format!("{}:{}:{}", path, f.line, f.column),
        None => match &f.commit {
            Some(c) => format!("{} ({})", f.location, short(&c.commit)),
            None => f.location.to_string(),
        },
    };
    writeln!(
        out,
        "{} {}  {}",
        place.bold(),
        f.rule.cyan(),
        f.rule_name.dimmed()
    )?;
    let mut snippet = f.snippet.clone();
    if show_secrets {
        snippet = snippet.replacen(&f.secret.redacted(), f.secret.expose(), 1);
    }
    writeln!(out, "  {} {}", format!("{} |", f.line).dimmed(), snippet)?;
    if let Some(c) = &f.commit {
        let mut extra = String::new();
        if c.other_commits > 0 || c.other_paths > 0 {
            extra = format!(
                " (also in {} other {}, {} other {})",
                c.other_commits,
                if c.other_commits == 1 {
                    "commit"
                } else {
                    "commits"
                },
                c.other_paths,
                if c.other_paths == 1 { "path" } else { "paths" }
            );
        }
        writeln!(
            out,
            "  commit {} by {} on {}: {}{}",
            short(&c.commit).yellow(),
            c.author,
            c.date,
            c.summary,
            extra
        )?;
    }
    if let Some(v) = &f.verdict {
        let text = v.describe();
        let text = if v.is_live() {
            text.red().bold()
        } else {
            text.normal()
        };
        writeln!(out, "  verdict: {text}")?;
    }
    writeln!(out, "  fingerprint {}", f.fingerprint.dimmed())?;
    writeln!(out)
}

/// `1 finding`, `2 findings`.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: &[&str] = &["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
