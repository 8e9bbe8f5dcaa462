//! `org merge`: shard outputs (JSON lines or JSON) joined into one audit. Findings keep
//! their repository as the first part of their path (`owner/name/path`), so one secret
//! leaked into three repositories is one incident with locations in each; history facts
//! are joined per secret (in HEAD anywhere, first and last commit over all, refs named
//! `owner/name:ref`); failed and incomplete repositories become report errors.

use crate::finding::Finding;
use crate::report::{Report, ScanKind, ScanMeta};
use crate::source::git::facts::{CommitRef, SecretHistory};
use crate::source::ScanError;
use anyhow::bail;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Largest shard output read: far above any real shard.
const MAX_SHARD_BYTES: u64 = 1 << 30;

/// One merged audit.
pub struct Merged {
    pub report: Report,
    /// Coverage lines of every repository, sorted by repository.
    pub coverage: Vec<Value>,
    pub totals: Totals,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Totals {
    pub shards: usize,
    pub repositories: usize,
    pub ok: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Scanned, but some objects or refs could not be read.
    pub incomplete: usize,
    pub incremental: usize,
    pub blobs_read: u64,
    pub bytes_read: u64,
    pub findings: usize,
    pub secrets: usize,
}

/// The lines of one shard output, whichever format it was written in.
fn read_lines(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text = crate::input::read_text(path, "SHARD", MAX_SHARD_BYTES)?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        if let Ok(doc) = serde_json::from_str::<Value>(trimmed) {
            if doc["type"] == "org-shard" {
                let mut lines = Vec::new();
                for (list, kind) in [
                    ("findings", "finding"),
                    ("history", "history"),
                    ("coverage", "coverage"),
                ] {
                    for mut line in doc[list].as_array().cloned().unwrap_or_default() {
                        line["type"] = Value::from(kind);
                        lines.push(line);
                    }
                }
                return Ok(lines);
            }
        }
    }
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| {
            anyhow::anyhow!("SHARD {}:{}: not a JSON line ({e})", path.display(), n + 1)
        })?;
        lines.push(v);
    }
    Ok(lines)
}

pub fn merge(paths: &[PathBuf], rules: &[crate::rules::Rule]) -> anyhow::Result<Merged> {
    if paths.is_empty() {
        bail!("org merge: give at least one shard output");
    }
    let mut findings = Vec::new();
    let mut coverage: BTreeMap<String, (Value, PathBuf)> = BTreeMap::new();
    let mut history: BTreeMap<String, SecretHistory> = BTreeMap::new();
    for path in paths {
        let lines = read_lines(path)?;
        for line in lines {
            let repository = line["repository"].as_str().unwrap_or("").to_string();
            match line["type"].as_str() {
                Some("coverage") => {
                    if let Some((_, other)) = coverage.get(&repository) {
                        bail!(
                            "SHARD {}: repository {repository:?} is also in {}: shards of different manifests or the same shard twice",
                            path.display(),
                            other.display()
                        );
                    }
                    coverage.insert(repository, (line, path.clone()));
                }
                Some("finding") => {
                    let mut f: Finding = serde_json::from_value(line.clone()).map_err(|e| {
                        anyhow::anyhow!(
                            "SHARD {}: a finding that does not read back ({e})",
                            path.display()
                        )
                    })?;
                    if let Some(p) = &f.path {
                        f.path = Some(format!("{repository}/{p}"));
                    }
                    findings.push(f);
                }
                Some("history") => {
                    let Some(fp) = line["fingerprint"].as_str() else {
                        continue;
                    };
                    join_history(
                        history.entry(fp.to_string()).or_default(),
                        &repository,
                        &line,
                    );
                }
                _ => {}
            }
        }
    }
    let mut totals = Totals {
        shards: paths.len(),
        repositories: coverage.len(),
        ..Totals::default()
    };
    let mut errors = Vec::new();
    let mut stats = crate::source::Stats::default();
    for (repo, (c, _)) in &coverage {
        let reason = c["reason"].as_str().unwrap_or("").to_string();
        match c["status"].as_str() {
            Some("failed") => {
                totals.failed += 1;
                errors.push(ScanError::at_object(
                    repo.clone(),
                    format!("not scanned: {reason}"),
                ));
            }
            Some("skipped") => totals.skipped += 1,
            _ if c["errors"].as_u64().unwrap_or(0) > 0 => {
                totals.incomplete += 1;
                errors.push(ScanError::at_object(
                    repo.clone(),
                    format!("incomplete: {reason}"),
                ));
            }
            _ => totals.ok += 1,
        }
        if c["incremental"] == true {
            totals.incremental += 1;
        }
        let n = |k: &str| c[k].as_u64().unwrap_or(0);
        stats.blobs_read += n("blobs_read");
        stats.files_scanned += n("blobs_read");
        stats.bytes_scanned += n("bytes_read");
        stats.commits_scanned += n("commits_scanned");
    }
    totals.blobs_read = stats.blobs_read;
    totals.bytes_read = stats.bytes_scanned;
    findings.sort_by_key(|f| f.sort_key());
    let mut meta = ScanMeta::new(
        ScanKind::History,
        paths.iter().map(|p| p.display().to_string()).collect(),
        rules,
    );
    meta.repository = None;
    let mut report = Report {
        findings,
        summary: crate::report::Summary {
            stats,
            ..Default::default()
        },
        errors,
        meta,
        history,
        skipped: Vec::new(),
    };
    report.recount();
    totals.findings = report.summary.findings;
    totals.secrets = report.incidents(false).len();
    Ok(Merged {
        report,
        coverage: coverage.into_values().map(|(v, _)| v).collect(),
        totals,
    })
}

fn commit_of(v: &Value) -> Option<CommitRef> {
    Some(CommitRef {
        commit: v.get("commit")?.as_str()?.to_string(),
        date: v.get("date")?.as_str()?.to_string(),
        seconds: v.get("seconds").and_then(Value::as_i64).unwrap_or(0),
    })
}

/// One repository's facts about a secret added to what other repositories said.
fn join_history(into: &mut SecretHistory, repository: &str, line: &Value) {
    if let Some(first) = commit_of(&line["first"]) {
        if into
            .first
            .as_ref()
            .is_none_or(|f| first.seconds < f.seconds)
        {
            into.first = Some(first);
        }
    }
    if let Some(last) = commit_of(&line["last"]) {
        if into.last.as_ref().is_none_or(|l| last.seconds > l.seconds) {
            into.last = Some(last);
        }
    }
    into.in_head |= line["in_head"] == true;
    if into.in_head {
        into.removed_in = None;
    } else if let Some(removed) = commit_of(&line["removed_in"]) {
        if into
            .removed_in
            .as_ref()
            .is_none_or(|r| removed.seconds > r.seconds)
        {
            into.removed_in = Some(removed);
        }
    }
    let mut refs: BTreeSet<String> = into.reachable_from.drain(..).collect();
    for r in line["reachable_from"].as_array().into_iter().flatten() {
        if let Some(r) = r.as_str() {
            refs.insert(format!("{repository}:{r}"));
        }
    }
    into.reachable_from = refs.into_iter().collect();
}

/// The coverage table of the human format.
pub fn write_coverage_human(out: &mut dyn std::io::Write, merged: &Merged) -> std::io::Result<()> {
    let t = &merged.totals;
    writeln!(out, "\nCoverage: {} repositories in {} shard(s): {} ok, {} failed, {} skipped, {} incomplete; {} incremental; {} blobs read",
        t.repositories, t.shards, t.ok, t.failed, t.skipped, t.incomplete, t.incremental, t.blobs_read)?;
    for c in &merged.coverage {
        let text = |k: &str| c[k].as_str().unwrap_or("").to_string();
        let line = format!(
            "  {:<7} {} blobs={} findings={} {}{}",
            text("status"),
            text("repository"),
            c["blobs_read"].as_u64().unwrap_or(0),
            c["findings"].as_u64().unwrap_or(0),
            if c["incremental"] == true {
                "incremental "
            } else {
                ""
            },
            text("reason")
        );
        writeln!(out, "{}", crate::report::escape::terminal(line.trim_end()))?;
    }
    Ok(())
}
