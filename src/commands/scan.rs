//! `leakscope scan`: source → blob → matcher → finding → verdict → report.

use super::{BaselineArgs, OutputArgs, WalkArgs, EXIT_CLEAN, EXIT_FINDINGS};
use crate::baseline;
use crate::matcher::Matcher;
use crate::report::{write_report, Report, ScanKind, ScanMeta, Summary};
use crate::rules::RuleSet;
use crate::source::git::GitArgs;
use crate::source::tree::{scan_tree, TreeOptions};
use crate::source::{git, staged, ScanOutcome};
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
    let started_at = crate::source::git_walk::rfc3339(crate::report::incidents::now(), 0);
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
    let outcome = if args.git.git {
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
    let kind = if args.git.git {
        ScanKind::History
    } else if args.git.staged {
        ScanKind::Staged
    } else {
        ScanKind::Tree
    };
    let targets = args.paths.iter().map(|p| p.display().to_string()).collect();
    let mut meta = ScanMeta::new(kind, targets, matcher.rules());
    meta.started = started_at;
    let report = finish(
        outcome,
        meta,
        baseline_set.as_ref(),
        &args.baselines,
        &args.verify,
        started,
    )?;
    let (mut out, options) = args.output.open()?;
    write_report(&mut out, &report, matcher.rules(), options).context("cannot write the report")?;
    out.flush().context("cannot write the report")?;
    Ok(exit_code(&report, &args.verify, &args.baselines))
}

/// What every history or tree scan does after its source ran (`scan`, and `ci` with
/// the range its CI names): apply the baseline, verify when asked, write the new
/// baseline, and count.
pub fn finish(
    mut outcome: ScanOutcome,
    mut meta: ScanMeta,
    baseline_set: Option<&std::collections::HashSet<String>>,
    baselines: &BaselineArgs,
    verify: &VerifyFlags,
    started: Instant,
) -> anyhow::Result<Report> {
    if let Some(set) = baseline_set {
        baseline::apply(&mut outcome.findings, set);
    }
    let verify_wanted = verify.verify || verify.fail_on == FailOn::Live;
    if verify_wanted {
        crate::verify::verify_findings(&mut outcome.findings, verify)?;
    }
    if let Some(path) = &baselines.write_baseline {
        baseline::write(path, &outcome.findings)?;
    }
    meta.repository = outcome.repository.as_ref().map(|p| p.display().to_string());
    let mut report = Report {
        findings: outcome.findings,
        summary: Summary {
            stats: outcome.stats,
            notes: outcome.notes,
            duration_ms: started.elapsed().as_millis() as u64,
            ..Summary::default()
        },
        errors: outcome.errors,
        meta,
        history: outcome.history,
    };
    report.recount();
    Ok(report)
}

/// The exit code of a finished scan: 1 when a finding counts (any, or only live ones
/// with `--fail-on live`) unless `--exit-zero`, else 0.
pub fn exit_code(report: &Report, verify: &VerifyFlags, baselines: &BaselineArgs) -> i32 {
    let failing = match verify.fail_on {
        FailOn::Any => report.summary.findings,
        FailOn::Live => report.summary.live.unwrap_or(0),
    };
    if failing > 0 && !baselines.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}

use std::io::Write as _;
