//! Baselines: fingerprints of accepted findings, so a CI gate fails only on new ones.
//!
//! A baseline must survive what breaks the peers' (line moves, renames, rebases,
//! squashes), so entries are keyed by fingerprint alone (rule + secret hash), sorted,
//! without timestamps or paths: regenerating on an unchanged tree gives the same bytes,
//! and the file never holds a secret.

use crate::finding::{Finding, Suppression};
use crate::lint::LintFinding;
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

/// What a baseline needs of a finding, so scan's and lint's findings share one file
/// format, one writer and one `apply` (the fingerprint already carries what makes the
/// finding itself: the secret for scan, the judged content for lint).
pub trait Baselined {
    fn fingerprint(&self) -> &str;
    fn rule_id(&self) -> &str;
    fn suppressed(&self) -> Option<Suppression>;
    fn set_suppressed(&mut self, how: Suppression);
}

impl Baselined for Finding {
    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
    fn rule_id(&self) -> &str {
        &self.rule.id
    }
    fn suppressed(&self) -> Option<Suppression> {
        self.suppressed
    }
    fn set_suppressed(&mut self, how: Suppression) {
        self.suppressed = Some(how);
    }
}

impl Baselined for LintFinding {
    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
    fn rule_id(&self) -> &str {
        &self.rule
    }
    fn suppressed(&self) -> Option<Suppression> {
        self.suppressed
    }
    fn set_suppressed(&mut self, how: Suppression) {
        self.suppressed = Some(how);
    }
}

/// Writes every finding that is not suppressed inline (baselined ones stay baselined).
pub fn write<T: Baselined>(path: &Path, findings: &[T]) -> anyhow::Result<()> {
    let entries: BTreeMap<&str, &str> = findings
        .iter()
        .filter(|f| f.suppressed() != Some(Suppression::InlineAllow))
        .map(|f| (f.fingerprint(), f.rule_id()))
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
pub fn apply<T: Baselined>(findings: &mut [T], baseline: &HashSet<String>) {
    for f in findings.iter_mut() {
        if f.suppressed().is_none() && baseline.contains(f.fingerprint()) {
            f.set_suppressed(Suppression::Baseline);
        }
    }
}
