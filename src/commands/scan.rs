//! `leakscope scan`: source → blob → matcher → finding → verdict → report.

use super::{BaselineArgs, OutputArgs, WalkArgs, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use crate::baseline;
use crate::matcher::Matcher;
use crate::report::{write_report, Report, Summary};
use crate::rules::RuleSet;
use crate::source::git::GitArgs;
use crate::source::tree::{scan_tree, TreeOptions};
use crate::source::{git, staged};
use crate::verify::{FailOn, VerifyFlags};
use anyhow::Context;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone, clap::Args)]
pub struct ScanArgs {
    /// Files or directories to scan (a repository with --git / --staged).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub rules: RulesFlag,
    #[command(flatten)]
    pub walk: WalkArgs,
    /// Skip files larger than this many bytes (counted in the summary).
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
    #[command(flatten)]
    pub baselines: BaselineArgs,
    /// No progress on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub git: GitArgs,
    #[command(flatten)]
    pub verify: VerifyFlags,
    /// Exit 0 (not 2) when nothing was found but something could not be read (a file,
    /// blob, object or ref; each is listed in the report): for audits that accept an
    /// incomplete scan.
    #[arg(long)]
    pub allow_incomplete: bool,
}

/// `--rules FILE_OR_DIR`, shared by the commands that load token rules.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RulesFlag {
    /// Add rules from a TOML file, or every *.toml in a directory (repeatable).
    #[arg(long = "rules", id = "rules", value_name = "FILE_OR_DIR")]
    pub rule_paths: Vec<PathBuf>,
}

impl RulesFlag {
    pub fn load(&self) -> anyhow::Result<RuleSet> {
        Ok(RuleSet::with_user_rules(&self.rule_paths)?)
    }

    pub fn matcher(&self) -> anyhow::Result<Matcher> {
        Matcher::new(self.load()?).context("cannot build the keyword prefilter")
    }
}

pub fn run(args: ScanArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let matcher = args.rules.matcher()?;
    let baseline_set = args.baselines.load()?;
    let progress = !args.quiet && std::io::stderr().is_terminal();
    if (args.git.git || args.git.staged)
        && (!args.walk.exclude.is_empty() || args.walk.follow || args.walk.no_ignore)
    {
        anyhow::bail!(
            "--exclude, --follow and --no-ignore apply to working-tree scans, not to --git or --staged"
        );
    }
    let mut outcome = if args.git.git {
        let repo = match args.paths.as_slice() {
            [one] => one.clone(),
            _ => anyhow::bail!("--git takes one repository path"),
        };
        let mut git_args = args.git.clone();
        git_args.threads = args.walk.threads;
        if git_args.max_blob_size.is_none() {
            git_args.max_blob_size = args.max_file_size;
        }
        git::scan_history(&matcher, &repo, &git_args, progress)?
    } else if args.git.staged {
        // One directory: the repository to check. Files (what the pre-commit framework
        // passes): check those, in the repository around the current directory.
        match args.paths.as_slice() {
            [one] if one.is_dir() => staged::scan_staged(&matcher, one, &[])?,
            files => staged::scan_staged(&matcher, std::path::Path::new("."), files)?,
        }
    } else {
        let options = TreeOptions {
            max_file_size: args.max_file_size,
            progress,
            ..args.walk.tree_options()
        };
        scan_tree(&matcher, &args.paths, &options)?
    };
    if let Some(set) = &baseline_set {
        baseline::apply(&mut outcome.findings, set);
    }
    let verify_wanted = args.verify.verify || args.verify.fail_on == FailOn::Live;
    if verify_wanted {
        crate::verify::verify_findings(&mut outcome.findings, &args.verify)?;
    }
    if let Some(path) = &args.baselines.write_baseline {
        baseline::write(path, &outcome.findings)?;
    }
    let mut report = Report {
        findings: outcome.findings,
        summary: Summary {
            stats: outcome.stats,
            notes: outcome.notes,
            duration_ms: started.elapsed().as_millis() as u64,
            ..Summary::default()
        },
        errors: outcome.errors,
    };
    report.recount();
    let (mut out, options) = args.output.open()?;
    write_report(&mut out, &report, matcher.rules(), options).context("cannot write the report")?;
    out.flush().context("cannot write the report")?;
    let failing = match args.verify.fail_on {
        FailOn::Any => report.summary.findings,
        FailOn::Live => report.summary.live.unwrap_or(0),
    };
    Ok(if failing > 0 && !args.baselines.exit_zero {
        EXIT_FINDINGS
    } else {
        incomplete_exit(report.summary.errors, args.allow_incomplete)
    })
}

/// An incomplete scan never passes: with nothing found but `unreadable` things not
/// read, the exit is 2 (as ripgrep's), with the count on stderr, unless
/// `--allow-incomplete`.
fn incomplete_exit(unreadable: usize, allow_incomplete: bool) -> i32 {
    if unreadable == 0 || allow_incomplete {
        return EXIT_CLEAN;
    }
    eprintln!(
        "leakscope: incomplete scan: {unreadable} item(s) could not be read (listed in the report); exit 2 (pass --allow-incomplete to accept an incomplete scan)"
    );
    EXIT_ERROR
}

use std::io::Write as _;
