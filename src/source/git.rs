//! History scans (`scan --git`). (Being built: issue 4.)

use super::ScanOutcome;
use crate::matcher::Matcher;
use std::path::Path;

/// Flags of `leakscope scan` for git sources.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GitArgs {
    /// Scan every blob reachable from all refs of the repository at PATH.
    #[arg(long)]
    pub git: bool,
    /// Scan only what the index adds relative to HEAD (the pre-commit case).
    #[arg(long, conflicts_with = "git")]
    pub staged: bool,
}

pub fn scan_history(
    _matcher: &Matcher,
    _repo: &Path,
    _args: &GitArgs,
    _progress: bool,
) -> anyhow::Result<ScanOutcome> {
    anyhow::bail!("--git is not available yet")
}
