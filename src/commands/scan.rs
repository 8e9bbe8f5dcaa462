//! `leakscope scan`: source → blob → matcher → finding → verdict → report.

use super::{values, BaselineArgs, OutputArgs, WalkArgs, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use crate::baseline;
use crate::blob::{scan_reader, Origin};
use crate::config::{ConfigArgs, ScanConfig};
use crate::finding::Suppression;
use crate::matcher::Matcher;
use crate::report::{write_report, Report, ScanKind, ScanMeta, Summary};
use crate::rules::RuleSet;
use crate::source::git::HistoryOptions;
use crate::source::tree::{scan_tree, TreeOptions};
use crate::source::{git, staged, ScanError, ScanOutcome};
use crate::verify::{FailOn, VerifyFlags};
use anyhow::Context;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone, clap::Args)]
pub struct ScanArgs {
    /// Files or directories to scan (`-` reads standard input; a repository with --git
    /// / --staged).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    #[command(flatten, next_help_heading = "Working tree")]
    pub walk: WalkArgs,
    /// Skip files larger than SIZE (bytes, or with a suffix: 512k, 10M, 1G; counted in
    /// the summary).
    #[arg(long, value_name = "SIZE", value_parser = values::parse_size, help_heading = "Working tree")]
    pub max_file_size: Option<u64>,
    #[command(flatten, next_help_heading = "Archives")]
    pub archives: ArchiveArgs,
    /// List each path left out with its reason (ignore rule, size, binary, link,
    /// special file): in the JSON report's `skipped`, and in the human report.
    #[arg(long, help_heading = "Working tree")]
    pub explain_skips: bool,
    #[command(flatten, next_help_heading = "History")]
    pub git: GitArgs,
    #[command(flatten, next_help_heading = "Rules and config")]
    pub rules: RulesFlag,
    #[command(flatten, next_help_heading = "Rules and config")]
    pub config: ConfigArgs,
    #[command(flatten, next_help_heading = "Output")]
    pub output: OutputArgs,
    #[command(flatten, next_help_heading = "Suppression")]
    pub baselines: BaselineArgs,
    #[command(flatten, next_help_heading = "Verify")]
    pub verify: VerifyFlags,
    /// Exit 0 (not 2) when nothing was found but something could not be read (a file,
    /// blob, object or ref; each is listed in the report): for audits that accept an
    /// incomplete scan.
    #[arg(long)]
    pub allow_incomplete: bool,
}

/// Flags of `leakscope scan` for git sources.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GitArgs {
    /// Scan every blob reachable from all refs of the repository at PATH.
    #[arg(long)]
    pub git: bool,
    /// Scan only what the index adds relative to HEAD (the pre-commit case). File
    /// arguments (as the pre-commit framework passes them) limit the check to those
    /// files; a file that is not part of the staged change is scanned whole.
    #[arg(long, conflicts_with = "git")]
    pub staged: bool,
    /// With --git: also scan objects no ref reaches (dangling commits, trees, blobs).
    #[arg(long, requires = "git", conflicts_with_all = ["since", "range", "branch"])]
    pub all_objects: bool,
    /// With --git: only blobs introduced by commits not reachable from REV (e.g. the
    /// commit your last audit covered).
    #[arg(long, value_name = "REV", requires = "git", conflicts_with = "range")]
    pub since: Option<String>,
    /// With --git: only blobs introduced by the commits of A..B (reachable from B, not
    /// from A), e.g. `origin/main..HEAD` for a pull request.
    #[arg(long, value_name = "A..B", requires = "git")]
    pub range: Option<String>,
    /// With --git: only blobs introduced by commits on branch NAME (all of its history,
    /// or since --since REV).
    #[arg(long, value_name = "NAME", requires = "git", conflicts_with = "range")]
    pub branch: Option<String>,
    /// With --git: skip (and count) blobs larger than SIZE (bytes, or 512k, 10M, 1G)
    /// [default: 256M].
    #[arg(long, value_name = "SIZE", requires = "git",
          value_parser = values::parse_size)]
    pub max_blob_size: Option<u64>,
    /// With --git: also scan the history of each checked-out submodule.
    #[arg(long, requires = "git")]
    pub submodules: bool,
}

impl GitArgs {
    /// The history source's options; `threads` and the size limit come from other flags.
    pub fn history(&self, threads: usize, max_file_size: Option<u64>) -> HistoryOptions {
        HistoryOptions {
            all_objects: self.all_objects,
            since: self.since.clone(),
            range: self.range.clone(),
            branch: self.branch.clone(),
            max_blob_size: self.max_blob_size.or(max_file_size),
            submodules: self.submodules,
            threads,
        }
    }
}

/// How archives and compressed files are read (zip, tar, gzip, bzip2, xz, zstd).
#[derive(Debug, Clone, clap::Args)]
pub struct ArchiveArgs {
    /// Open archives nested this deep (an archive in an archive is 2; 0 opens none).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_archive_depth: usize,
    /// Stop reading a file's archives after they decompressed SIZE in all (a zip bomb is
    /// a counted skip, named in the notes).
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = values::parse_size)]
    pub max_decompressed_size: u64,
}

impl ArchiveArgs {
    pub fn limits(&self) -> crate::archive::Limits {
        crate::archive::Limits {
            max_depth: self.max_archive_depth,
            max_decompressed: self.max_decompressed_size,
        }
    }
}

/// Examples shown after `scan --help`.
pub const EXAMPLES: &str = "\
Examples:
  leakscope scan                        the working tree under the current directory
  leakscope scan --git .                every blob in the history of this repository
  leakscope scan --git --range origin/main..HEAD .   what a pull request adds
  leakscope scan --staged               what `git commit` would record now
  cat build.log | leakscope scan -      standard input, shown as <stdin>
  leakscope scan --format sarif -o leakscope.sarif   a report for code scanning
  leakscope scan --verify --fail-on live   exit 1 only for tokens that still work
  leakscope scan --write-baseline .leakscope-baseline.json   accept what is there today

Configuration: leakscope.toml, found from the scanned root upwards (see --config).
Exit status: 0 clean, 1 findings, 2 error.";

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
    let started_at = crate::source::git::commits::rfc3339(crate::report::incidents::now(), 0);
    let config = match args.config.locate(&args.paths)? {
        Some(file) => {
            // One file for both commands: lint's tables are checked here too.
            let facts = crate::lint::scopes::ScopeFacts::builtin()?;
            crate::lint::policy::Policy::from_config(Some(&file), &facts)?;
            ScanConfig::parse(&file)?
        }
        None => ScanConfig::default(),
    };
    let mut rules = args.rules.clone();
    rules.rule_paths.extend(config.rules.iter().cloned());
    let matcher = rules.matcher()?.with_archive_limits(args.archives.limits());
    let baseline_set = args.baselines.load()?;
    let progress = !crate::ui::quiet() && std::io::stderr().is_terminal();
    let stdin = args.paths.iter().any(|p| p.as_os_str() == STDIN_ARG);
    if stdin && (args.git.git || args.git.staged) {
        anyhow::bail!("-: standard input cannot be scanned with --git or --staged");
    }
    if (args.git.git || args.git.staged)
        && (!args.walk.exclude.is_empty()
            || args.walk.follow
            || args.walk.no_ignore
            || args.walk.respect_dot_ignore
            || args.explain_skips)
    {
        anyhow::bail!(
            "--exclude, --follow, --no-ignore, --respect-dot-ignore and --explain-skips apply to working-tree scans, not to --git or --staged"
        );
    }
    let mut outcome = if args.git.git {
        let repo = match args.paths.as_slice() {
            [one] => one.clone(),
            _ => anyhow::bail!("--git takes one repository path"),
        };
        let options = args.git.history(args.walk.threads(), args.max_file_size);
        git::scan_history(&matcher, &repo, &options, progress)?
    } else if args.git.staged {
        // One directory: the repository to check. Files (what the pre-commit framework
        // passes): check those, in the repository around the current directory.
        match args.paths.as_slice() {
            [one] if one.is_dir() => staged::scan_staged(&matcher, one, &[])?,
            files => staged::scan_staged(&matcher, std::path::Path::new("."), files)?,
        }
    } else {
        let mut options = TreeOptions {
            max_file_size: args.max_file_size,
            progress,
            explain_skips: args.explain_skips,
            ..args.walk.tree_options()
        };
        options.exclude.extend(config.exclude.iter().cloned());
        let files: Vec<PathBuf> = args
            .paths
            .iter()
            .filter(|p| p.as_os_str() != STDIN_ARG)
            .cloned()
            .collect();
        let mut outcome = if files.is_empty() {
            Default::default()
        } else {
            scan_tree(&matcher, &files, &options)?
        };
        if stdin {
            scan_stdin(&matcher, args.max_file_size, &mut outcome);
        }
        outcome
    };
    apply_config(&config, &args, &mut outcome)?;
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
    // The human and JSON reports hold the list; the other formats have no place for it.
    if !matches!(
        options.format,
        crate::report::Format::Human | crate::report::Format::Json
    ) {
        for skipped in &report.skipped {
            eprintln!(
                "leakscope: skipped: {} ({})",
                crate::report::escape::terminal(&skipped.path),
                skipped.reason.describe()
            );
        }
    }
    Ok(exit_code(
        &report,
        &args.verify,
        &args.baselines,
        args.allow_incomplete,
    ))
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
    // Every secret of the scan is redacted from every snippet, path, commit field and
    // error, not only the one a snippet was cut for.
    crate::redact::scrub_outcome(&mut outcome);
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
        skipped: outcome.skipped,
    };
    report.recount();
    Ok(report)
}

/// The exit code of a finished scan: 1 when a finding counts (any of high confidence,
/// only live ones with `--fail-on live`, low-confidence ones too with `--fail-on low`) unless `--exit-zero`, else 0.
pub fn exit_code(
    report: &Report,
    verify: &VerifyFlags,
    baselines: &BaselineArgs,
    allow_incomplete: bool,
) -> i32 {
    let failing = match verify.fail_on {
        FailOn::Any => report.summary.findings - report.summary.low_confidence,
        FailOn::Live => report.summary.live.unwrap_or(0),
        FailOn::Low => report.summary.findings,
    };
    if failing > 0 && !baselines.exit_zero {
        EXIT_FINDINGS
    } else {
        incomplete_exit(report.summary.errors, allow_incomplete)
    }
}

/// Applies leakscope.toml's `[[allow]]` entries (findings kept, suppressed with the
/// reason) and, for history and staged scans, whose blobs are not walked by path,
/// `[scan] exclude` (findings at excluded paths dropped, and counted in a note).
fn apply_config(
    config: &ScanConfig,
    args: &ScanArgs,
    outcome: &mut ScanOutcome,
) -> anyhow::Result<()> {
    if config.allow.is_empty()
        && (config.exclude_matcher.is_none() || !(args.git.git || args.git.staged))
    {
        return Ok(());
    }
    // Paths in reports are relative to the working directory for tree scans, to the
    // repository's root for history and staged scans.
    let relative_to = if args.git.git || args.git.staged {
        let start = args
            .paths
            .first()
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."));
        let start = if args.git.staged && !start.is_dir() {
            PathBuf::from(".")
        } else {
            start
        };
        let repo = git::discover_repo(&start)?;
        repo.workdir().unwrap_or(repo.path()).to_path_buf()
    } else {
        PathBuf::from(".")
    };
    if args.git.git || args.git.staged {
        if let Some(excluded) = &config.exclude_matcher {
            let before = outcome.findings.len();
            outcome.findings.retain(|f| {
                !f.path
                    .as_deref()
                    .is_some_and(|p| excluded.matches(p, &relative_to))
            });
            let dropped = before - outcome.findings.len();
            if dropped > 0 {
                outcome.notes.push(format!(
                    "{} at paths excluded by {} (scan.exclude) not reported",
                    crate::report::human::plural(dropped, "finding"),
                    config.source.as_deref().unwrap_or(crate::config::FILE_NAME)
                ));
            }
        }
    }
    for f in outcome
        .findings
        .iter_mut()
        .filter(|f| f.suppressed.is_none())
    {
        let path = f.path.as_deref().filter(|p| *p != STDIN_PATH);
        if let Some(allow) = config.allowed(&f.fingerprint, path, &relative_to) {
            f.suppressed = Some(Suppression::Allowlist {
                reason: crate::finding::Reason(allow.reason),
            });
        }
    }
    Ok(())
}

/// The path argument that means standard input.
const STDIN_ARG: &str = "-";
/// How standard input is named in reports.
pub const STDIN_PATH: &str = "<stdin>";

/// Streams standard input through the blob scanner, chunk by chunk (memory stays at
/// one chunk whatever the input's size), as the file `<stdin>`. With `--max-file-size`
/// input beyond the limit is not read: it is counted as too large, as a file would be.
fn scan_stdin(matcher: &Matcher, max_size: Option<u64>, outcome: &mut ScanOutcome) {
    let mut buffer = Vec::new();
    let origin = Origin {
        path: Some(STDIN_PATH),
        location: crate::finding::Location::File,
    };
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    let limit = max_size.map_or(u64::MAX, |m| m.saturating_add(1));
    let mut reader = (&mut lock).take(limit);
    match scan_reader(matcher, &mut reader, origin, &mut buffer) {
        Ok(scanned) if max_size.is_some_and(|m| scanned.bytes > m) => {
            outcome.stats.skipped_too_large += 1;
        }
        Ok(scanned) => outcome.add_stream(scanned),
        Err(e) => outcome
            .errors
            .push(ScanError::at_path(STDIN_PATH, format!("cannot read: {e}"))),
    }
    outcome.notes.retain(|n| n != "no file was scanned");
    if outcome.stats.files_scanned == 0 {
        outcome.notes.push("no file was scanned".to_string());
    }
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

use std::io::{Read as _, Write as _};
