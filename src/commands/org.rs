//! `leakscope org plan|scan|merge`: organisation audits (see [`crate::org`]).

use super::scan::RulesFlag;
use super::{values, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use crate::org::plan::{self, Filter, Limits, Owner};
use crate::org::scan::{self as org_scan, ShardFormat};
use crate::org::shard::Shard;
use crate::report::{write_report, Format, ReportOptions};
use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct OrgArgs {
    #[command(subcommand)]
    pub command: OrgCommand,
}

/// Examples shown after `org --help`.
pub const EXAMPLES: &str = "\
Examples:
  leakscope org plan --github-org acme -o manifest.jsonl
  leakscope org scan --manifest manifest.jsonl --shard 2/8 --cache /cache -o shard-2.jsonl
  leakscope org merge shard-*.jsonl --format html -o audit.html

Shards count from 1: GitHub Actions `--shard ${{ matrix.shard }}/N`, a Kubernetes
Indexed Job `--shard $((JOB_COMPLETION_INDEX + 1))/N`.
Token: GITHUB_TOKEN or GH_TOKEN (sent to the GitHub API and, as an HTTP header, to
github.com clones; never written).";

#[derive(Debug, clap::Subcommand)]
pub enum OrgCommand {
    /// List the repositories to audit, one JSON line each (the manifest).
    Plan(PlanArgs),
    /// Clone or fetch and scan every repository of one shard of a manifest.
    Scan(ScanArgs),
    /// Join shard outputs into one audit (incidents across repositories, coverage).
    Merge(MergeArgs),
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).multiple(false)))]
pub struct PlanArgs {
    /// List the repositories of this GitHub organisation.
    #[arg(long, value_name = "ORG", group = "source")]
    pub github_org: Option<String>,
    /// List the repositories of this GitHub user.
    #[arg(long, value_name = "NAME", group = "source")]
    pub user: Option<String>,
    /// A file of clone URLs or local paths, one a line (any host, or a mixed set).
    #[arg(long, value_name = "FILE", group = "source")]
    pub repos: Option<PathBuf>,
    /// Keep forks (left out by default).
    #[arg(long)]
    pub include_forks: bool,
    /// Keep archived repositories (left out by default).
    #[arg(long)]
    pub include_archived: bool,
    /// Leave out repositories whose full name matches GLOB (`*`, `?`; repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Keep only repositories of this visibility.
    #[arg(long, value_enum)]
    pub visibility: Option<Visibility>,
    /// The longest rate-limit wait, in seconds, before the plan stops with an error.
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    pub max_wait: u64,
    /// Write the manifest to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Visibility {
    Public,
    Private,
    Internal,
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// The manifest `org plan` wrote.
    #[arg(long, value_name = "FILE")]
    pub manifest: PathBuf,
    /// Scan only shard I of N (1-based).
    #[arg(long, value_name = "I/N", value_parser = Shard::parse, default_value = "1/1")]
    pub shard: Shard,
    /// Where bare mirrors and scan records are kept between runs.
    #[arg(long, value_name = "DIR", default_value = "leakscope-org-cache")]
    pub cache: PathBuf,
    /// Repositories cloned and scanned at once.
    #[arg(long, short = 'j', value_name = "K", default_value_t = 4)]
    pub jobs: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ShardFormat::Jsonl)]
    pub format: ShardFormat,
    /// The shard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// Skip (and count) blobs larger than SIZE [default: 256M].
    #[arg(long, value_name = "SIZE", value_parser = values::parse_size)]
    pub max_blob_size: Option<u64>,
    #[command(flatten)]
    pub rules: RulesFlag,
    /// Exit 0 (not 2) when nothing was found but a repository failed or was incomplete.
    #[arg(long)]
    pub allow_incomplete: bool,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Shard outputs of `org scan` (JSON lines or JSON).
    #[arg(required = true, value_name = "SHARD")]
    pub shards: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the audit to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub rules: RulesFlag,
    /// Exit 0 (not 2) when nothing was found but a repository failed or was incomplete.
    #[arg(long)]
    pub allow_incomplete: bool,
}

pub fn run(args: OrgArgs) -> anyhow::Result<i32> {
    match args.command {
        OrgCommand::Plan(a) => run_plan(a),
        OrgCommand::Scan(a) => run_scan(a),
        OrgCommand::Merge(a) => run_merge(a),
    }
}

fn run_plan(args: PlanArgs) -> anyhow::Result<i32> {
    let filter = Filter {
        include_forks: args.include_forks,
        include_archived: args.include_archived,
        exclude: args.exclude.clone(),
        visibility: args.visibility.map(|v| {
            match v {
                Visibility::Public => "public",
                Visibility::Private => "private",
                Visibility::Internal => "internal",
            }
            .to_string()
        }),
    };
    let limits = Limits {
        max_wait: std::time::Duration::from_secs(args.max_wait),
        ..Limits::default()
    };
    let entries = match (&args.github_org, &args.user, &args.repos) {
        (Some(org), _, _) => plan::list_github(&Owner::Org(org.clone()), &filter, limits)?,
        (_, Some(user), _) => plan::list_github(&Owner::User(user.clone()), &filter, limits)?,
        (_, _, Some(file)) => plan::list_file(file, &filter)?,
        _ => anyhow::bail!("org plan: give --github-org, --user or --repos"),
    };
    let mut text = String::new();
    for e in &entries {
        text.push_str(&serde_json::to_string(e)?);
        text.push('\n');
    }
    match args.output.as_deref().filter(|p| *p != Path::new("-")) {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("--output {}: cannot write", path.display()))?,
        None => crate::ui::print(&text)?,
    }
    Ok(EXIT_CLEAN)
}

fn run_scan(args: ScanArgs) -> anyhow::Result<i32> {
    if args.jobs == 0 {
        anyhow::bail!("--jobs 0: at least one job");
    }
    let manifest = crate::org::read_manifest(&args.manifest)?;
    let matcher = args.rules.matcher()?;
    let options = org_scan::Options {
        shard: args.shard,
        cache: args.cache.clone(),
        jobs: args.jobs,
        format: args.format,
        output: args.output.clone(),
        max_blob_size: args.max_blob_size,
    };
    let totals = org_scan::run(&matcher, &manifest, &options)?;
    crate::ui::note(format!(
        "org scan {}/{}: {} repositories, {} findings, {} failed, {} incomplete",
        args.shard.index,
        args.shard.total,
        totals.repositories,
        totals.findings,
        totals.failed,
        totals.incomplete
    ));
    Ok(exit(
        totals.findings,
        totals.failed + totals.incomplete,
        args.allow_incomplete,
    ))
}

fn exit(findings: usize, not_read: usize, allow_incomplete: bool) -> i32 {
    if findings > 0 {
        EXIT_FINDINGS
    } else if not_read > 0 && !allow_incomplete {
        eprintln!("leakscope: {not_read} repository(ies) failed or could not be read whole (see the coverage lines); exit 2 (pass --allow-incomplete to accept)");
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    }
}

fn run_merge(args: MergeArgs) -> anyhow::Result<i32> {
    let rules = args.rules.load()?;
    let merged = crate::org::merge::merge(&args.shards, &rules.rules)?;
    // `-o -` is standard output, as for `scan`.
    let mut out: Box<dyn Write> = match args.output.as_deref().filter(|p| *p != Path::new("-")) {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("--output {}: cannot create", path.display()))?,
        )),
        None => Box::new(crate::ui::stdout()),
    };
    let options = ReportOptions {
        format: args.format,
        show_secrets: false,
        color: false,
    };
    let wctx = || "cannot write the audit";
    match args.format {
        Format::Json => {
            let mut buf = Vec::new();
            write_report(&mut buf, &merged.report, &rules.rules, options).context(wctx())?;
            let mut doc: serde_json::Value = serde_json::from_slice(&buf)?;
            doc["coverage"] = serde_json::to_value(&merged.coverage)?;
            doc["totals"] = serde_json::to_value(&merged.totals)?;
            serde_json::to_writer_pretty(&mut out, &doc).context(wctx())?;
            writeln!(out).context(wctx())?;
        }
        Format::Human => {
            write_report(&mut out, &merged.report, &rules.rules, options).context(wctx())?;
            crate::org::merge::write_coverage_human(&mut out, &merged).context(wctx())?;
        }
        _ => write_report(&mut out, &merged.report, &rules.rules, options).context(wctx())?,
    }
    out.flush().context(wctx())?;
    Ok(exit(
        merged.totals.findings,
        merged.totals.failed + merged.totals.incomplete,
        args.allow_incomplete,
    ))
}
