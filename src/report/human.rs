//! The human report: one block per finding, most urgent first, then a summary line.

use super::escape::terminal as esc;
use super::{short, Report, ReportOptions};
use crate::finding::Finding;
use crate::source::ScanError;
use colored::Colorize;
use std::io::Write;

pub fn write(out: &mut dyn Write, report: &Report, options: ReportOptions) -> std::io::Result<()> {
    colored::control::set_override(options.color);
    write_incidents(out, report, options)?;
    let mut active: Vec<&Finding> = report.active().collect();
    // Live tokens are incidents: they go first.
    active.sort_by_key(|f| !f.verdict.as_ref().is_some_and(|v| v.is_live()));
    for f in &active {
        write_finding(out, f, options.show_secrets)?;
    }
    write_errors_and_notes(out, &report.errors, &report.summary.notes)?;
    for skipped in &report.skipped {
        writeln!(
            out,
            "{} {} ({})",
            "skipped:".dimmed(),
            esc(&skipped.path),
            skipped.reason.describe()
        )?;
    }
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
    let suppressed = s.suppressed_inline + s.suppressed_baseline + s.suppressed_allowlist;
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
        (s.stats.skipped_special, "FIFOs, devices or sockets"),
        (s.stats.skipped_gitignore, "untracked, .gitignore"),
        (s.stats.skipped_git_exclude, "untracked, git exclude"),
        (s.stats.skipped_leakscopeignore, ".leakscopeignore"),
        (s.stats.skipped_dot_ignore, ".ignore"),
        (s.stats.skipped_excluded, "--exclude"),
    ] {
        if count > 0 {
            line.push_str(&format!(", {count} skipped ({what})"));
        }
    }
    if s.stats.skipped_ignored_dirs > 0 {
        line.push_str(&format!(
            " (directories not entered: {})",
            s.stats.skipped_ignored_dirs
        ));
    }
    if s.low_confidence > 0 {
        line.push_str(&format!(
            ", {} of low confidence (not failing without --fail-on low)",
            s.low_confidence
        ));
    }
    if s.errors > 0 {
        line.push_str(&format!(", {} unreadable", s.errors));
    }
    let line = if s.findings > s.low_confidence {
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
        writeln!(
            out,
            "{} {}: {}",
            "error:".red().bold(),
            esc(what),
            esc(&e.message)
        )?;
    }
    for note in notes {
        writeln!(out, "{} {}", "note:".yellow().bold(), esc(note))?;
    }
    Ok(())
}

fn write_finding(out: &mut dyn Write, f: &Finding, show_secrets: bool) -> std::io::Result<()> {
    let place = match &f.path {
        Some(path) => format!("{}:{}:{}", esc(path), f.line, f.column),
        None => match &f.commit {
            Some(c) => format!("{} ({})", f.location, esc(short(&c.commit))),
            None => f.location.to_string(),
        },
    };
    let mut tags = String::new();
    if let Some(encoding) = f.encoding {
        tags.push_str(&format!("  [decoded from {}]", encoding.as_str()));
    }
    if f.confidence == crate::finding::Confidence::Low {
        tags.push_str("  [low confidence]");
    }
    writeln!(
        out,
        "{} {}  {}{}",
        place.bold(),
        esc(&f.rule.id).cyan(),
        esc(&f.rule.name).dimmed(),
        tags.yellow()
    )?;
    let mut snippet = f.snippet.clone();
    if show_secrets {
        snippet = snippet.replacen(&f.secret.redacted(), f.secret.expose(), 1);
    }
    writeln!(
        out,
        "  {} {}",
        format!("{} |", f.line).dimmed(),
        esc(&snippet)
    )?;
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
            esc(short(&c.commit)).yellow(),
            esc(&c.author),
            esc(&c.date),
            esc(&c.summary),
            extra
        )?;
    }
    if let Some(v) = &f.verdict {
        let text = esc(&v.describe()).into_owned();
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

pub use crate::ui::human_bytes;

/// The incidents first, one block per secret (live ones first when verified): where it
/// is now, since when, how many places, and what to do next, in words.
fn write_incidents(
    out: &mut dyn Write,
    report: &Report,
    options: ReportOptions,
) -> std::io::Result<()> {
    let incidents = report.incidents(options.show_secrets);
    if incidents.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{}",
        format!(
            "{} ({} below)",
            plural(incidents.len(), "distinct secret"),
            plural(report.summary.findings, "finding")
        )
        .bold()
    )?;
    writeln!(out)?;
    for (n, incident) in incidents.iter().enumerate() {
        let verdict = match &incident.verdict {
            Some(v) if v.is_live() => format!("  LIVE: {}", escape(&v.describe())).red().bold(),
            Some(v) => format!("  {}", escape(&v.describe())).normal(),
            None => "".normal(),
        };
        writeln!(
            out,
            "{} {}  {}  {}{}",
            format!("secret {}/{}", n + 1, incidents.len()).bold(),
            incident.rule.cyan(),
            escape(&incident.secret),
            incident.fingerprint.dimmed(),
            verdict
        )?;
        writeln!(out, "  where: {}", escape(&incident.whereabouts()))?;
        if let Some(h) = &incident.history {
            if let (Some(c), Some(d)) = (&h.first_commit, &h.first_date) {
                let exposed = h
                    .exposure_days
                    .map(|d| format!(", exposed {}", plural(d as usize, "day")))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "  first commit {} on {}{}",
                    short(c).yellow(),
                    escape(d),
                    exposed
                )?;
            }
            if !h.reachable_from.is_empty() {
                let refs: Vec<String> = h.reachable_from.iter().map(|r| escape(r)).collect();
                writeln!(out, "  reachable from {}", refs.join(", "))?;
            }
        }
        writeln!(out, "  {}", plural(incident.locations.len(), "location"))?;
        let in_history = incident.history.is_some();
        writeln!(
            out,
            "  next: revoke it (leakscope revoke --input REPORT.json --fingerprint {}), then rotate it wherever it is used",
            incident.fingerprint
        )?;
        if in_history {
            writeln!(
                out,
                "        deleting the file does not unleak it: every clone keeps the history; revoking is what ends the exposure"
            )?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "{}",
        "REPORT.json: this scan written with --format json -o REPORT.json; the findings follow."
            .dimmed()
    )?;
    writeln!(out)
}

/// Text from scanned input (paths, refs, verdict details from a server) with control
/// characters escaped, so a crafted file name cannot drive the terminal.
pub fn escape(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
