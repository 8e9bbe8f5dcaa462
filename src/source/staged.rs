//! Staged scans (`scan --staged`). (Being built: issue 4.)

use super::git::GitArgs;
use super::ScanOutcome;
use crate::matcher::Matcher;
use std::path::Path;

pub fn scan_staged(
    _matcher: &Matcher,
    _repo: &Path,
    _args: &GitArgs,
) -> anyhow::Result<ScanOutcome> {
    anyhow::bail!("--staged is not available yet")
}
