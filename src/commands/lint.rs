//! `leakscope lint`: walk → file → lints (+ token matcher for storage and live-token
//! lints) → policy → inline allow / baseline → report. See [`crate::lint`].

use super::{BaselineArgs, OutputArgs, WalkArgs, EXIT_CLEAN, EXIT_FINDINGS};
use crate::blob::{looks_binary, scan_bytes, Origin};
use crate::finding::{Finding, Location};
use crate::lint::live_tokens::{self, LiveToken};
use crate::lint::policy::Policy;
use crate::lint::report::{LintReport, LintSummary};
use crate::lint::{self, Context, Data, LintFinding, Severity, SourceFile};
use crate::matcher::Matcher;
use crate::rules::RuleSet;
use crate::source::tree::{walk, Counters, TreeOptions};
use crate::source::ScanError;
use crate::verify::{FailOn, VerifyFlags};
use anyhow::{bail, Context as _};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Instant;

/// Files larger than this are not linted (configs and scripts are small; this keeps a
/// stray data file from costing seconds). Counted in the summary.
const MAX_LINT_FILE: u64 = 2 << 20;

#[derive(Debug, Clone, clap::Args)]
pub struct LintArgs {
    /// Files or directories to lint.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    #[command(flatten, next_help_heading = "Working tree")]
    pub walk: WalkArgs,
    #[command(flatten, next_help_heading = "Policy")]
    pub config: crate::config::ConfigArgs,
    /// Exit 1 when a finding at or above this severity is reported.
    #[arg(long, value_enum, default_value_t = Severity::Warning, help_heading = "Policy")]
    pub fail_level: Severity,
    /// Print a lint's documentation (what it checks, why, an example, the fix) and exit.
    #[arg(long, value_name = "ID", help_heading = "Policy")]
    pub explain: Option<String>,
    /// List the lint ids and exit.
    #[arg(long, help_heading = "Policy")]
    pub list: bool,
    #[command(flatten, next_help_heading = "Output")]
    pub output: OutputArgs,
    #[command(flatten, next_help_heading = "Suppression")]
    pub baselines: BaselineArgs,
    /// Ask each found token's provider whether it is live and judge live ones (network
    /// calls only to the token's own provider: api.github.com, api.anaconda.org,
    /// repo.anaconda.cloud or anaconda.com, or the LEAKSCOPE_*_URL overrides).
    #[arg(long, help_heading = "Verify")]
    pub verify: bool,
    /// Judge the live tokens in a `leakscope scan --verify --format json` report.
    #[arg(long, value_name = "FILE", help_heading = "Verify")]
    pub scan_report: Option<PathBuf>,
    #[command(flatten, next_help_heading = "Verify")]
    pub network: crate::verify::NetworkFlags,
}

/// Examples shown after `lint --help`.
pub const EXAMPLES: &str = "\
Examples:
  leakscope lint                         lint the working tree under the current directory
  leakscope lint --list                  the lint ids, with their default severity
  leakscope lint --explain token-echoed-in-ci   what a lint checks, why, and the fix
  leakscope lint --verify                also judge live tokens (scopes, expiry, owner)
  leakscope lint --format sarif -o lint.sarif   a report for code scanning
  leakscope lint --fail-level error      exit 1 only for errors

Policy: lint's tables of leakscope.toml, found from the linted root upwards (see --config).
Exit status: 0 clean, 1 findings at or above --fail-level, 2 error.";

pub fn run(args: LintArgs) -> anyhow::Result<i32> {
    if args.output.format == crate::report::Format::Html {
        bail!("--format html: lint writes human, json, jsonl, sarif or github (html is for scan and verify reports)");
    }
    if let Some(id) = &args.explain {
        let Some(doc) = lint::doc(id) else {
            bail!("--explain {id}: unknown lint id (`leakscope lint --list` lists them)");
        };
        crate::ui::print(&doc.explain())?;
        return Ok(EXIT_CLEAN);
    }
    if args.list {
        let mut out = crate::ui::stdout();
        for d in lint::all_docs() {
            writeln!(out, "{:<32} {:<8} {}", d.id, d.severity.as_str(), d.title)?;
        }
        out.flush()?;
        return Ok(EXIT_CLEAN);
    }
    let started = Instant::now();
    let data = Data::builtin()?;
    let config = args.config.locate(&args.paths)?;
    let policy = Policy::from_config(config.as_ref(), &data.facts)?;
    if let Some(file) = &config {
        // One file for both commands: scan's tables are checked here too.
        crate::config::ScanConfig::parse(file)?;
    }
    let matcher =
        Matcher::new(RuleSet::builtin()?).context("cannot build the keyword prefilter")?;
    let ci = lint::ci::CiFacts::collect(&args.paths);
    let ctx = Context {
        facts: &data.facts,
        actions: &data.actions,
        policy: &policy,
        ci: &ci,
    };
    let baseline_set = args.baselines.load()?;

    let mut options = TreeOptions {
        max_file_size: Some(MAX_LINT_FILE),
        ..args.walk.tree_options()
    };
    // `[paths] exclude` is relative to the config file, as scan's excludes are.
    if let Some(file) = &config {
        options.exclude.extend(file.rebase_globs(&policy.exclude));
    }
    let collected = lint_tree(&matcher, &ctx, &args.paths, &options, args.verify)?;
    let mut findings = collected.findings;
    let mut errors = collected.errors;
    let mut summary = collected.summary;

    let mut live = Vec::new();
    if args.verify {
        let mut tokens = collected.tokens;
        let flags = VerifyFlags {
            verify: true,
            fail_on: FailOn::Any,
            network: args.network.clone(),
        };
        crate::verify::verify_findings(&mut tokens, &flags)?;
        summary.verified_tokens = Some(tokens.iter().filter(|t| t.verdict.is_some()).count());
        live.extend(tokens.iter().filter_map(LiveToken::from_finding));
    }
    if let Some(path) = &args.scan_report {
        live.extend(read_scan_report(path)?);
    }
    findings.extend(live_tokens::check(
        &live,
        &data.facts,
        &policy,
        live_tokens::now(),
    ));

    lint::apply_policy(&mut findings, &policy);
    if let Some(set) = &baseline_set {
        crate::baseline::apply(&mut findings, set);
    }
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.rule, &a.fingerprint).cmp(&(
            &b.path,
            b.line,
            b.column,
            &b.rule,
            &b.fingerprint,
        ))
    });
    findings.dedup_by(|a, b| a.fingerprint == b.fingerprint && a.line == b.line);
    if let Some(path) = &args.baselines.write_baseline {
        crate::baseline::write(path, &findings)?;
    }
    errors.sort_by(|a, b| a.path.cmp(&b.path).then(a.message.cmp(&b.message)));
    summary.policy = policy
        .source
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned());
    if summary.stats.files_scanned == 0 {
        summary.notes.push("no file was linted".into());
    }
    summary.duration_ms = started.elapsed().as_millis() as u64;
    let mut report = LintReport {
        findings,
        summary,
        errors,
    };
    report.recount();
    let (mut out, options) = args.output.open()?;
    lint::report::write(&mut out, &report, options).context("cannot write the report")?;
    out.flush().context("cannot write the report")?;
    Ok(
        if report.fails(args.fail_level) && !args.baselines.exit_zero {
            EXIT_FINDINGS
        } else {
            EXIT_CLEAN
        },
    )
}

struct Collected {
    findings: Vec<LintFinding>,
    errors: Vec<ScanError>,
    summary: LintSummary,
    /// Every token the matcher found (kept only for `--verify`).
    tokens: Vec<Finding>,
}

/// Walks the roots and runs the file lints on every text file.
fn lint_tree(
    matcher: &Matcher,
    ctx: &Context<'_>,
    roots: &[PathBuf],
    options: &TreeOptions,
    keep_tokens: bool,
) -> anyhow::Result<Collected> {
    let findings = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let tokens = Mutex::new(Vec::new());
    let counters = Counters::default();
    let walk_errors = walk(roots, options, &counters, |file| {
        let push_error = |message: String| {
            errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(ScanError::at_path(file.display.clone(), message));
        };
        match std::fs::metadata(file.path) {
            Ok(meta) if meta.len() > MAX_LINT_FILE => {
                counters.too_large.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(_) => {}
            Err(e) => return push_error(format!("cannot stat: {e}")),
        }
        let content = match std::fs::read(file.path) {
            Ok(c) => c,
            Err(e) => return push_error(format!("cannot read: {e}")),
        };
        let binary = looks_binary(&content);
        counters.record(binary, content.len() as u64);
        if binary {
            return;
        }
        let text = String::from_utf8_lossy(&content);
        let found = scan_bytes(
            matcher,
            &content,
            Origin {
                path: Some(&file.display),
                location: Location::File,
            },
        );
        let relative = roots
            .iter()
            .find_map(|root| file.path.strip_prefix(root).ok())
            .filter(|rel| !rel.as_os_str().is_empty())
            .map(|rel| rel.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.display.clone());
        let source = SourceFile::new(&file.display, &text, &found).relative_to_root(&relative);
        let mut out = Vec::new();
        if let Err(message) = lint::lint_file(&source, ctx, &mut out) {
            push_error(message);
        }
        if !out.is_empty() {
            findings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .append(&mut out);
        }
        if keep_tokens && !found.is_empty() {
            tokens
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(found);
        }
    })?;
    let mut errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
    errors.extend(walk_errors);
    Ok(Collected {
        findings: findings.into_inner().unwrap_or_else(|e| e.into_inner()),
        errors,
        summary: LintSummary {
            stats: counters.into_stats(),
            ..LintSummary::default()
        },
        tokens: tokens.into_inner().unwrap_or_else(|e| e.into_inner()),
    })
}

/// The verified findings of a `scan --verify --format json` (or jsonl) report.
fn read_scan_report(path: &Path) -> anyhow::Result<Vec<LiveToken>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--scan-report {}: cannot read", path.display()))?;
    let values: Vec<serde_json::Value> = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(doc) => match doc.get("findings").and_then(|f| f.as_array()) {
            Some(list) => list.clone(),
            None => bail!(
                "--scan-report {}: not a leakscope scan JSON report (no \"findings\" list)",
                path.display()
            ),
        },
        Err(_) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| {
                    anyhow::anyhow!("--scan-report {}:{}: not JSON: {e}", path.display(), i + 1)
                })
            })
            .collect::<anyhow::Result<_>>()?,
    };
    Ok(values
        .iter()
        .filter_map(LiveToken::from_report_json)
        .collect())
}
