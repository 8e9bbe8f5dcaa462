//! Baselines: fingerprints of accepted findings, so a CI gate fails only on new ones.
//!
//! A baseline must survive what breaks the peers' (line moves, renames, rebases,
//! squashes), so entries are keyed by fingerprint alone (rule + secret hash), sorted,
//! without timestamps or paths: regenerating on an unchanged tree gives the same bytes,
//! and the file never holds a secret.

use crate::finding::{Finding, Suppression};
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct BaselineFile {
    leakscope_baseline: u32,
    findings: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    fingerprint: String,
    rule: String,
}

/// Writes every finding that is not suppressed inline (baselined ones stay baselined).
pub fn write(path: &Path, findings: &[Finding]) -> anyhow::Result<()> {
    let entries: BTreeMap<&str, &str> = findings
        .iter()
        .filter(|f| f.suppressed != Some(Suppression::InlineAllow))
        .map(|f| (f.fingerprint.as_str(), f.rule.id.as_str()))
        .collect();
    let file = BaselineFile {
        leakscope_baseline: VERSION,
        findings: entries
            .into_iter()
            .map(|(fingerprint, rule)| Entry {
                fingerprint: fingerprint.to_string(),
                rule: rule.to_string(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&file)?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("{}: cannot write baseline", path.display()))
}

/// The fingerprints in a baseline file.
pub fn load(path: &Path) -> anyhow::Result<HashSet<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read baseline", path.display()))?;
    let file: BaselineFile = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a leakscope baseline", path.display()))?;
    if file.leakscope_baseline != VERSION {
        bail!(
            "{}: baseline version {} is not supported (expected {VERSION})",
            path.display(),
            file.leakscope_baseline
        );
    }
    Ok(file.findings.into_iter().map(|e| e.fingerprint).collect())
}

/// Marks findings whose fingerprint is in the baseline (inline allows take precedence).
pub fn apply(findings: &mut [Finding], baseline: &HashSet<String>) {
    for f in findings.iter_mut() {
        if f.suppressed.is_none() && baseline.contains(&f.fingerprint) {
            f.suppressed = Some(Suppression::Baseline);
        }
    }
}
