//! One module per subcommand. Each exposes its clap `Args` and a `run` that returns
//! the process exit code (0 clean, 1 findings, 2 error).

pub mod ci;
mod ci_fetch;
mod ci_summary;
pub mod custom_patterns;
pub mod diff;
pub mod hook;
pub mod lint;
pub mod org;
pub mod revoke;
pub mod rules;
pub mod scan;
pub mod schema;
pub mod values;
pub mod verify;

use crate::report::{Format, ReportOptions};
use crate::source::tree::TreeOptions;
use anyhow::Context;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

pub const EXIT_CLEAN: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Color when writing to a terminal and NO_COLOR is unset.
    #[default]
    Auto,
    Always,
    Never,
}

/// Output flags shared by scan, lint, verify and revoke.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print secrets whole instead of redacted (in every format).
    #[arg(long)]
    pub show_secrets: bool,
    /// When to use colors in the human format.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

impl OutputArgs {
    /// Where the report goes, and whether colors apply there.
    pub fn open(&self) -> anyhow::Result<(Box<dyn Write>, ReportOptions)> {
        let (writer, is_tty): (Box<dyn Write>, bool) = match &self.output {
            Some(path) => (
                Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("--output {}: cannot create", path.display()))?,
                )),
                false,
            ),
            // A closed pipe (`leakscope scan . | head`) ends the report quietly.
            None => (
                Box::new(crate::ui::stdout()),
                std::io::stdout().is_terminal(),
            ),
        };
        let color = match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_tty && std::env::var_os("NO_COLOR").is_none(),
        };
        Ok((
            writer,
            ReportOptions {
                format: self.format,
                show_secrets: self.show_secrets,
                color,
            },
        ))
    }
}

/// How a working tree is walked: flags shared by scan and lint.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WalkArgs {
    /// Honour no ignore file at all: also read untracked files that .gitignore, git's
    /// excludes or .leakscopeignore match (.git/ is still never entered).
    #[arg(long)]
    pub no_ignore: bool,
    /// Also skip what .ignore and .rgignore match (search-tool files; by default they
    /// are not honoured, since they can hide committed secrets).
    #[arg(long)]
    pub respect_dot_ignore: bool,
    /// Follow symbolic links (loops are reported, not followed forever).
    #[arg(long, short = 'L')]
    pub follow: bool,
    /// Leave out paths matching this gitignore-style glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Worker threads (0 = one per core; more than 4 per core is capped).
    #[arg(long, short = 'j', default_value_t = 0, value_name = "N",
          value_parser = values::parse_threads)]
    pub threads: usize,
}

impl WalkArgs {
    /// `-j` as the pools get it: capped at a sane multiple of the cores (with a note).
    pub fn threads(&self) -> usize {
        values::effective_threads(self.threads)
    }

    pub fn tree_options(&self) -> TreeOptions {
        TreeOptions {
            no_ignore: self.no_ignore,
            respect_dot_ignore: self.respect_dot_ignore,
            follow_links: self.follow,
            threads: self.threads(),
            exclude: self.exclude.clone(),
            ..TreeOptions::default()
        }
    }
}

/// Baselines and the exit-code override: flags shared by scan and lint.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BaselineArgs {
    /// Ignore findings whose fingerprint is in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write the fingerprints of this run's findings to FILE (sorted, secret-free).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Exit 0 even when findings are reported (audits).
    #[arg(long)]
    pub exit_zero: bool,
}

impl BaselineArgs {
    /// The fingerprints of `--baseline`, if given.
    pub fn load(&self) -> anyhow::Result<Option<std::collections::HashSet<String>>> {
        self.baseline
            .as_deref()
            .map(crate::baseline::load)
            .transpose()
    }
}
