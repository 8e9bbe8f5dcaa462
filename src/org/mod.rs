//! Organisation audits (`leakscope org plan|scan|merge`): list an organisation's
//! repositories into a manifest, scan one shard of it into a cache of bare mirrors
//! (incrementally, resumable), and merge the shards' outputs into one audit.
//!
//! One job per module: `plan.rs` (listing, GitHub REST API and files), `shard.rs` (which
//! shard owns a repository), `cache.rs` (mirrors and the per-repository scan records),
//! `scan.rs` (clone or fetch, scan, coverage lines), `merge.rs` (shard outputs to one
//! report), `glob.rs` (the `--exclude` pattern).

pub mod cache;
pub mod glob;
pub mod merge;
pub mod plan;
pub mod scan;
pub mod shard;

use serde::{Deserialize, Serialize};

/// One repository of a manifest (one JSON line of `org plan`'s output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoEntry {
    /// Stable identity: GitHub's numeric id (as text), or the URL or path for a
    /// `--repos` list. Shards are assigned by its hash, so renames do not reshuffle.
    pub id: String,
    /// `owner/name` (or the last path components of a URL or directory).
    pub full_name: String,
    /// What `git clone --mirror` is given: an https URL or a local path.
    pub clone_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    /// Kilobytes, as GitHub reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_at: Option<String>,
    #[serde(default)]
    pub fork: bool,
    #[serde(default)]
    pub archived: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
}

/// Reads a manifest: one [`RepoEntry`] per line, blank lines ignored. A bad line is an
/// error naming the file and line; a repeated id too (it would be scanned twice).
pub fn read_manifest(path: &std::path::Path) -> anyhow::Result<Vec<RepoEntry>> {
    let text = crate::input::read_text(path, "--manifest", MAX_MANIFEST_BYTES)?;
    let mut entries = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let entry: RepoEntry = serde_json::from_str(line).map_err(|e| {
            anyhow::anyhow!(
                "--manifest {}:{}: not a repository line ({e})",
                path.display(),
                n + 1
            )
        })?;
        if !seen.insert(entry.id.clone()) {
            anyhow::bail!(
                "--manifest {}:{}: repository id {:?} listed twice",
                path.display(),
                n + 1,
                entry.id
            );
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// Far above any organisation's manifest (a line is about 300 bytes).
const MAX_MANIFEST_BYTES: u64 = 256 << 20;
