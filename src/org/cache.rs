//! The `--cache DIR` of `org scan`: one bare mirror per repository
//! (`DIR/mirrors/KEY.git`) and one scan record per repository (`DIR/records/KEY.json`).
//!
//! A record says what the last complete scan of a repository covered: its ref tips, the
//! rule-set hash and leakscope's version, and the (redacted) findings it made, which a
//! later run carries forward. It is written only after the repository's lines were
//! written to the output, atomically (temporary file, then rename): a run killed in
//! between leaves no record, and the next run scans that repository again.

use super::RepoEntry;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the last complete scan of one repository covered.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub full_name: String,
    pub version: String,
    pub rules_hash: String,
    /// Ref name to the object it named.
    pub refs: BTreeMap<String, String>,
    /// The commits those refs reach first (tags peeled): the next run hides these.
    pub commits: Vec<String>,
    /// Finding lines of every scan so far (redacted, with `repository`).
    pub findings: Vec<serde_json::Value>,
    /// History lines of the latest scan.
    #[serde(default)]
    pub history: Vec<serde_json::Value>,
}

/// The file-name key of a repository: its name made safe, and a hash of its id.
pub fn key(entry: &RepoEntry) -> String {
    let safe: String = entry
        .full_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let digest = Sha256::digest(entry.id.as_bytes());
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", safe.trim_start_matches('.'))
}

pub struct Cache {
    pub root: PathBuf,
}

impl Cache {
    pub fn open(root: &Path) -> anyhow::Result<Cache> {
        for sub in ["mirrors", "records"] {
            std::fs::create_dir_all(root.join(sub)).map_err(|e| {
                anyhow::anyhow!("--cache {}: cannot create {sub}/: {e}", root.display())
            })?;
        }
        Ok(Cache {
            root: root.to_path_buf(),
        })
    }

    pub fn mirror(&self, entry: &RepoEntry) -> PathBuf {
        self.root
            .join("mirrors")
            .join(format!("{}.git", key(entry)))
    }

    fn record_path(&self, entry: &RepoEntry) -> PathBuf {
        self.root
            .join("records")
            .join(format!("{}.json", key(entry)))
    }

    /// The record, if one was written and reads back (a damaged one means a full scan).
    pub fn record(&self, entry: &RepoEntry) -> Option<Record> {
        let text = std::fs::read_to_string(self.record_path(entry)).ok()?;
        serde_json::from_str::<Record>(&text)
            .ok()
            .filter(|r| r.id == entry.id)
    }

    pub fn write_record(&self, entry: &RepoEntry, record: &Record) -> std::io::Result<()> {
        let path = self.record_path(entry);
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(record)?)?;
        std::fs::rename(&tmp, &path)
    }

    pub fn forget(&self, entry: &RepoEntry) {
        let _ = std::fs::remove_file(self.record_path(entry));
    }
}

/// What makes an old scan reusable: the rules (every field of every rule) and the
/// version of leakscope that ran them.
pub fn rules_hash(rules: &[crate::rules::Rule]) -> String {
    let mut h = Sha256::new();
    for r in rules {
        h.update(format!("{:?}\n", r.spec).as_bytes());
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
