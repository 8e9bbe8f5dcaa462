//! `org scan`: every repository of one shard, cloned or fetched into the cache's bare
//! mirrors with the system `git`, scanned with the history scanner (only what is new
//! since the last recorded scan, when the rules and version are the same), written as
//! JSON lines: the findings of each repository, its history facts, and one coverage
//! line. A repository that cannot be cloned or scanned is a `failed` coverage line and
//! the run goes on.

use super::cache::{self, Cache, Record};
use super::shard::Shard;
use super::RepoEntry;
use crate::matcher::Matcher;
use crate::source::git::walk::{self, Selection};
use crate::source::git::{self, HistoryOptions};
use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Where git over https may receive the GitHub token (`http.extraHeader`): GitHub
/// itself unless this variable names another base (https, or http on loopback).
pub const GITHUB_GIT_VAR: &str = "LEAKSCOPE_GITHUB_GIT_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
    Skipped,
}

/// One repository's coverage line.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub repository: String,
    pub id: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Ref tips the scan started from.
    pub tips: usize,
    /// Blobs read from the object database by this run (0 when nothing was new).
    pub blobs_read: u64,
    pub bytes_read: u64,
    pub commits_scanned: u64,
    /// Findings in this repository's lines (carried-forward ones included).
    pub findings: usize,
    /// Findings of an earlier run carried forward (their commits were not read again).
    pub carried_forward: usize,
    /// Objects or refs that could not be read (the repository then counts as incomplete).
    pub errors: usize,
    pub seconds: f64,
    /// Only objects reachable from new tips and not from the recorded ones were read.
    pub incremental: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ShardFormat {
    /// One JSON object per line: findings, history, then a coverage line per repository.
    #[default]
    Jsonl,
    /// One JSON object with `coverage`, `findings` and `history` lists.
    Json,
}

pub struct Options {
    pub shard: Shard,
    pub cache: PathBuf,
    pub jobs: usize,
    pub format: ShardFormat,
    pub output: PathBuf,
    pub max_blob_size: Option<u64>,
}

/// What one repository produced.
struct RepoResult {
    entry: RepoEntry,
    lines: Vec<Value>,
    coverage: Coverage,
    record: Option<Record>,
}

/// Totals of a shard run, for the exit code.
#[derive(Debug, Default)]
pub struct Totals {
    pub repositories: usize,
    pub findings: usize,
    pub failed: usize,
    pub incomplete: usize,
}

struct Context<'a> {
    matcher: &'a Matcher,
    cache: &'a Cache,
    rules_hash: String,
    auth: Auth,
    history: HistoryOptions,
}

/// The GitHub token and where it may go.
struct Auth {
    token: Option<String>,
    git_base: String,
}

pub fn run(matcher: &Matcher, manifest: &[RepoEntry], options: &Options) -> anyhow::Result<Totals> {
    let cache = Cache::open(&options.cache)?;
    let git_base = match std::env::var(GITHUB_GIT_VAR) {
        Ok(v) => crate::verify::http::check_base_url(GITHUB_GIT_VAR, &v)?,
        Err(_) => "https://github.com".to_string(),
    };
    let mine: Vec<&RepoEntry> = manifest
        .iter()
        .filter(|e| options.shard.owns(&e.id))
        .collect();
    let file = std::fs::File::create(&options.output).map_err(|e| {
        anyhow::anyhow!("--output {}: cannot create: {e}", options.output.display())
    })?;
    let mut out = std::io::BufWriter::new(file);
    let ctx = Context {
        matcher,
        cache: &cache,
        rules_hash: cache::rules_hash(matcher.rules()),
        auth: Auth {
            token: super::plan::github_token(),
            git_base: git_base.trim_end_matches('/').to_string(),
        },
        history: HistoryOptions {
            // Parallelism comes from the clone jobs; one scan thread each past one job.
            threads: if options.jobs > 1 { 1 } else { 0 },
            max_blob_size: options.max_blob_size,
            ..HistoryOptions::default()
        },
    };
    let jobs = options.jobs.clamp(1, 64).min(mine.len().max(1));
    let next = AtomicUsize::new(0);
    let mut totals = Totals::default();
    let mut collected: Vec<RepoResult> = Vec::new();
    let write_error = |e: std::io::Error| {
        anyhow::anyhow!("--output {}: cannot write: {e}", options.output.display())
    };
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (tx, rx) = std::sync::mpsc::channel::<RepoResult>();
        for _ in 0..jobs {
            let tx = tx.clone();
            let (ctx, mine, next) = (&ctx, &mine, &next);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(entry) = mine.get(i) else { break };
                if tx.send(scan_one(ctx, entry)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for result in rx {
            totals.repositories += 1;
            totals.findings += result
                .lines
                .iter()
                .filter(|l| {
                    l["type"] == "finding" && l.get("suppressed").is_none_or(Value::is_null)
                })
                .count();
            match result.coverage.status {
                Status::Failed => totals.failed += 1,
                _ if result.coverage.errors > 0 => totals.incomplete += 1,
                _ => {}
            }
            if options.format == ShardFormat::Jsonl {
                for line in result
                    .lines
                    .iter()
                    .chain(std::iter::once(&coverage_line(&result.coverage)))
                {
                    serde_json::to_writer(&mut out, line)
                        .map_err(std::io::Error::from)
                        .map_err(write_error)?;
                    out.write_all(b"\n").map_err(write_error)?;
                }
                // The record only once its lines are on disk: a run killed before
                // this point scans the repository again.
                out.flush().map_err(write_error)?;
                if let Some(record) = &result.record {
                    cache.write_record(&result.entry, record).map_err(|e| {
                        anyhow::anyhow!(
                            "--cache {}: cannot write a record: {e}",
                            cache.root.display()
                        )
                    })?;
                }
            } else {
                collected.push(result);
            }
        }
        Ok(())
    })?;
    if options.format == ShardFormat::Json {
        let mut doc = json!({
            "schema_version": crate::report::SCHEMA_VERSION,
            "type": "org-shard",
            "shard": format!("{}/{}", options.shard.index, options.shard.total),
            "coverage": [], "findings": [], "history": [],
        });
        for r in &collected {
            for line in &r.lines {
                let list = if line["type"] == "history" {
                    "history"
                } else {
                    "findings"
                };
                if let Some(a) = doc[list].as_array_mut() {
                    a.push(line.clone());
                }
            }
            if let Some(a) = doc["coverage"].as_array_mut() {
                a.push(coverage_line(&r.coverage));
            }
        }
        serde_json::to_writer_pretty(&mut out, &doc)
            .map_err(std::io::Error::from)
            .map_err(write_error)?;
        out.write_all(b"\n")
            .and_then(|_| out.flush())
            .map_err(write_error)?;
        for r in &collected {
            if let Some(record) = &r.record {
                cache.write_record(&r.entry, record).map_err(|e| {
                    anyhow::anyhow!(
                        "--cache {}: cannot write a record: {e}",
                        cache.root.display()
                    )
                })?;
            }
        }
    }
    Ok(totals)
}

fn coverage_line(c: &Coverage) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
    v["type"] = json!("coverage");
    v["schema_version"] = json!(crate::report::SCHEMA_VERSION);
    v
}

fn scan_one(ctx: &Context, entry: &RepoEntry) -> RepoResult {
    let started = Instant::now();
    let old = ctx.cache.record(entry);
    let mut coverage = Coverage {
        repository: entry.full_name.clone(),
        id: entry.id.clone(),
        status: Status::Ok,
        reason: None,
        tips: 0,
        blobs_read: 0,
        bytes_read: 0,
        commits_scanned: 0,
        findings: 0,
        carried_forward: 0,
        errors: 0,
        seconds: 0.0,
        incremental: false,
    };
    let fail = |mut coverage: Coverage, reason: String, old: Option<Record>| {
        // What an earlier run found is still reported: a failed fetch unleaks nothing.
        let lines: Vec<Value> = old.map(|r| r.findings).unwrap_or_default();
        coverage.status = Status::Failed;
        coverage.reason = Some(reason);
        coverage.carried_forward = lines.len();
        coverage.findings = lines.len();
        coverage.seconds = started.elapsed().as_secs_f64();
        RepoResult {
            entry: entry.clone(),
            lines,
            coverage,
            record: None,
        }
    };
    let mirror = ctx.cache.mirror(entry);
    if let Err(reason) = sync_mirror(&ctx.auth, entry, &mirror) {
        return fail(coverage, reason, old);
    }
    let repo = match git2::Repository::open_bare(&mirror) {
        Ok(r) => r,
        Err(e) => {
            return fail(
                coverage,
                format!("cannot open the mirror: {}", e.message()),
                old,
            )
        }
    };
    let tips = walk::ref_tips(&repo);
    let refs: BTreeMap<String, String> = crate::source::git::refs::read_refs(&repo)
        .refs
        .into_iter()
        .map(|(name, oid)| (name, oid.to_string()))
        .collect();
    coverage.tips = refs.len();
    if tips.commits.is_empty() && tips.blobs.is_empty() && tips.trees.is_empty() {
        coverage.status = Status::Skipped;
        coverage.reason = Some("empty repository (no commit)".into());
        coverage.seconds = started.elapsed().as_secs_f64();
        let record = Record {
            id: entry.id.clone(),
            full_name: entry.full_name.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            rules_hash: ctx.rules_hash.clone(),
            ..Record::default()
        };
        return RepoResult {
            entry: entry.clone(),
            lines: Vec::new(),
            coverage,
            record: Some(record),
        };
    }
    let commits: Vec<String> = tips.commits.iter().map(|o| o.to_string()).collect();
    let reusable =
        old.filter(|r| r.rules_hash == ctx.rules_hash && r.version == env!("CARGO_PKG_VERSION"));
    let mut carried: Vec<Value> = Vec::new();
    let mut old_history: Vec<Value> = Vec::new();
    let selection = match &reusable {
        Some(r) => {
            let hide: Vec<git2::Oid> = r
                .commits
                .iter()
                .filter_map(|c| git2::Oid::from_str(c).ok())
                .filter(|o| repo.find_commit(*o).is_ok())
                .collect();
            carried = r.findings.clone();
            old_history = r.history.clone();
            coverage.incremental = true;
            if r.refs == refs {
                None
            } else {
                Some(Selection::Introduced {
                    tips: tips.commits.clone(),
                    hide,
                })
            }
        }
        None => Some(Selection::All { all_objects: false }),
    };
    let mut new_lines = Vec::new();
    let mut history_lines = old_history;
    if let Some(selection) = selection {
        let mut outcome =
            match git::scan_selection(ctx.matcher, &repo, &selection, &ctx.history, false) {
                Ok(o) => o,
                Err(e) => return fail(coverage, format!("cannot scan: {e:#}"), reusable),
            };
        outcome.errors.extend(tips.errors);
        crate::redact::scrub_outcome(&mut outcome);
        coverage.blobs_read = outcome.stats.blobs_read;
        coverage.bytes_read = outcome.stats.bytes_scanned;
        coverage.commits_scanned = outcome.stats.commits_scanned;
        coverage.errors = outcome.errors.len();
        if let Some(first) = outcome.errors.first() {
            coverage.reason = Some(format!(
                "{} item(s) could not be read, first: {}",
                outcome.errors.len(),
                crate::redact::redact_token_shapes(&first.message)
            ));
        }
        for f in &outcome.findings {
            let mut line = crate::report::finding_line(f, false);
            line["type"] = json!("finding");
            line["repository"] = json!(entry.full_name);
            new_lines.push(line);
        }
        let fresh: BTreeSet<&String> = outcome.history.keys().collect();
        history_lines.retain(|h| {
            h["fingerprint"]
                .as_str()
                .is_none_or(|f| !fresh.contains(&f.to_string()))
        });
        for (fingerprint, h) in &outcome.history {
            history_lines.push(history_line(&entry.full_name, fingerprint, h));
        }
    }
    // Carried-forward findings first, then the new ones; the same place twice once.
    let mut seen = BTreeSet::new();
    let mut lines = Vec::new();
    for line in carried.iter().chain(new_lines.iter()) {
        let key = (
            line["fingerprint"].to_string(),
            line["path"].to_string(),
            line["line"].to_string(),
            line["commit"].to_string(),
            line["location"].to_string(),
        );
        if seen.insert(key) {
            lines.push(line.clone());
        }
    }
    coverage.carried_forward = lines.len() - new_lines.len().min(lines.len());
    coverage.findings = lines.len();
    coverage.seconds = started.elapsed().as_secs_f64();
    // An incomplete scan leaves no record: the next run reads the repository whole.
    let record = (coverage.errors == 0).then(|| Record {
        id: entry.id.clone(),
        full_name: entry.full_name.clone(),
        version: env!("CARGO_PKG_VERSION").into(),
        rules_hash: ctx.rules_hash.clone(),
        refs,
        commits,
        findings: lines.clone(),
        history: history_lines.clone(),
    });
    if record.is_none() {
        ctx.cache.forget(entry);
    }
    lines.extend(history_lines);
    RepoResult {
        entry: entry.clone(),
        lines,
        coverage,
        record,
    }
}

fn history_line(
    repository: &str,
    fingerprint: &str,
    h: &crate::source::git::facts::SecretHistory,
) -> Value {
    let commit = |c: &Option<crate::source::git::facts::CommitRef>| {
        c.as_ref()
            .map(|c| json!({"commit": c.commit, "date": c.date, "seconds": c.seconds}))
    };
    json!({
        "type": "history",
        "schema_version": crate::report::SCHEMA_VERSION,
        "repository": repository,
        "fingerprint": fingerprint,
        "first": commit(&h.first),
        "last": commit(&h.last),
        "in_head": h.in_head,
        "removed_in": commit(&h.removed_in),
        "reachable_from": h.reachable_from,
    })
}

/// `git clone --mirror` into the cache (through a temporary directory, so a killed
/// clone never looks like a mirror), or `git fetch --prune` when the mirror is there.
/// The error is git's last line, with the token scrubbed, escaped.
fn sync_mirror(auth: &Auth, entry: &RepoEntry, mirror: &Path) -> Result<(), String> {
    let url = &entry.clone_url;
    if url.starts_with('-') {
        return Err("clone URL starts with '-': refused".into());
    }
    let mut cmd = git_command(auth, url);
    if mirror.join("HEAD").is_file() {
        cmd.arg("-C")
            .arg(mirror)
            .args(["fetch", "--prune", "--quiet", "origin"]);
        return run_git(cmd, auth);
    }
    let partial = mirror.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    cmd.args(["clone", "--mirror", "--quiet", "--"])
        .arg(url)
        .arg(&partial);
    run_git(cmd, auth)?;
    std::fs::rename(&partial, mirror)
        .map_err(|e| format!("cannot move the mirror into the cache: {e}"))
}

/// `git` with no prompt, no credential helper, a stall limit, and, for GitHub URLs
/// only, the token in an `Authorization` header given through `GIT_CONFIG_*`
/// variables: never in the URL, the command line or a config file.
fn git_command(auth: &Auth, url: &str) -> Command {
    let mut cmd = Command::new("git");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GCM_INTERACTIVE", "never")
        .env_remove("GIT_ASKPASS")
        .env_remove("SSH_ASKPASS");
    let mut config: Vec<(&str, String)> = vec![
        ("credential.helper", String::new()),
        ("http.lowSpeedLimit", "1".into()),
        ("http.lowSpeedTime", "120".into()),
        ("protocol.ext.allow", "never".into()),
    ];
    if let Some(token) = auth
        .token
        .as_deref()
        .filter(|_| url.starts_with(&format!("{}/", auth.git_base)))
    {
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
        config.push(("http.extraHeader", format!("Authorization: Basic {basic}")));
    }
    cmd.env("GIT_CONFIG_COUNT", config.len().to_string());
    for (i, (k, v)) in config.into_iter().enumerate() {
        cmd.env(format!("GIT_CONFIG_KEY_{i}"), k);
        cmd.env(format!("GIT_CONFIG_VALUE_{i}"), v);
    }
    cmd
}

fn run_git(mut cmd: Command, auth: &Auth) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let mut last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string();
    if let Some(t) = &auth.token {
        last = last.replace(t.as_str(), "[token]");
    }
    let last = crate::redact::redact_token_shapes(&last);
    let last = crate::report::escape::terminal(&last).into_owned();
    Err(format!(
        "git failed ({}): {}",
        out.status,
        last.chars().take(300).collect::<String>()
    ))
}
