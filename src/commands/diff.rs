//! `leakscope diff OLD.json NEW.json`: new, fixed, still open and regressed secrets
//! between two audits (see [`crate::report::diff`]). Exit 1 when anything is new or
//! came back, 0 otherwise, 2 when a report cannot be read.

use super::{OutputArgs, EXIT_CLEAN, EXIT_FINDINGS};
use crate::report::diff::{self, Audit};
use crate::report::Format;
use anyhow::{bail, Context};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// The earlier audit: a `scan --format json` report or an earlier `diff --format json`.
    pub old: PathBuf,
    /// The later audit.
    pub new: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Largest report accepted: far above any real audit, small enough to never exhaust memory.
const MAX_REPORT_BYTES: u64 = 512 << 20;

pub fn run(args: DiffArgs) -> anyhow::Result<i32> {
    if !matches!(args.output.format, Format::Human | Format::Json) {
        bail!("--format: diff writes human or json");
    }
    let old = load(&args.old, "OLD")?;
    let new = load(&args.new, "NEW")?;
    let d = diff::diff(&old, &new);
    let (mut out, options) = args.output.open()?;
    colored::control::set_override(options.color);
    match options.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &d).context("cannot write the diff")?;
            writeln!(out).context("cannot write the diff")?;
        }
        _ => diff::write_human(&mut out, &d).context("cannot write the diff")?,
    }
    out.flush().context("cannot write the diff")?;
    Ok(if d.is_worse() {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

fn load(path: &Path, which: &str) -> anyhow::Result<Audit> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("{which} {}: cannot read", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_REPORT_BYTES {
        bail!(
            "{which} {}: {size} bytes is larger than a report can be ({MAX_REPORT_BYTES})",
            path.display()
        );
    }
    let doc: serde_json::Value = serde_json::from_reader(std::io::BufReader::new(file))
        .with_context(|| format!("{which} {}: not JSON", path.display()))?;
    diff::parse(&doc).map_err(|e| anyhow::anyhow!("{which} {}: {e}", path.display()))
}
