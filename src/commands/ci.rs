//! `leakscope ci`: the CI gate that knows which CI it runs in.
//!
//! A CI recipe that builds a `--range` from the CI's variables breaks on the events
//! the recipe did not think of (a push has no base branch, a branch's first push has no
//! `before`). This command reads the event itself and turns it into a [`Scope`]:
//!
//! | CI, event | what is scanned |
//! |---|---|
//! | GitHub `pull_request`, `pull_request_target` | what `base.sha..head.sha` adds |
//! | GitHub `merge_group` | what `base_sha..head_sha` adds |
//! | GitHub `push` | what `before..after` adds |
//! | GitHub `push` of a new branch or tag | what `after` has that no other branch has |
//! | GitHub `schedule`, `workflow_dispatch`, others | the whole history |
//! | GitLab merge request | what `CI_MERGE_REQUEST_DIFF_BASE_SHA..CI_COMMIT_SHA` adds |
//! | GitLab push | what `CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA` adds (new branch: as GitHub) |
//! | `--base REF`, any CI | what `REF..HEAD` adds |
//!
//! "Adds" means the added lines only, exactly as `scan --git --range` reads them: the
//! scan itself is [`crate::source::git::scan_selection`], not a copy of it. CI checkouts
//! are usually shallow; [`super::ci_fetch`] completes them with `git fetch` when a
//! remote exists, and otherwise the report says the scan is partial.

use super::ci_fetch::{self, Fetcher};
use super::ci_summary;
use super::scan::{exit_code, finish, RulesFlag};
use super::{BaselineArgs, EXIT_CLEAN};
use crate::report::{write_report, Format, ReportOptions};
use crate::source::git::walk::Selection;
use crate::source::git::{self, HistoryOptions};
use crate::verify::VerifyFlags;
use anyhow::{bail, Context};
use git2::{Oid, Repository};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone, clap::Args)]
pub struct CiArgs {
    /// The repository (any directory inside its working tree).
    #[arg(default_value = ".")]
    pub repo: PathBuf,
    /// Scan what REF..HEAD adds, whatever the CI's event says (for any CI, or none).
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// Also write the findings as SARIF to FILE (for github/codeql-action/upload-sarif).
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// Report format on stdout [default: github on GitHub Actions, human elsewhere].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Print secrets whole on stdout (never in the job summary, which others can read).
    #[arg(long)]
    pub show_secrets: bool,
    /// Never run `git fetch` to complete a shallow checkout or fetch a missing commit
    /// (the scan is then reported as partial).
    #[arg(long)]
    pub no_fetch: bool,
    #[command(flatten)]
    pub rules: RulesFlag,
    #[command(flatten)]
    pub baselines: BaselineArgs,
    #[command(flatten)]
    pub verify: VerifyFlags,
    /// Skip (and count) blobs larger than BYTES [default: 268435456].
    #[arg(long, value_name = "BYTES")]
    pub max_blob_size: Option<u64>,
    /// Worker threads (0 = one per core).
    #[arg(long, short = 'j', default_value_t = 0)]
    pub threads: usize,
    /// Say nothing on stderr but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The CI leakscope found itself in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ci {
    GithubActions,
    GitlabCi,
    /// No CI recognised (or `--base` on any CI).
    Other,
}

/// Which commits the CI event asks to be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// What `head` adds over `base` (added lines only).
    Range {
        base: String,
        head: String,
        /// Where `base` came from, for error messages (`pull_request.base.sha`).
        base_from: &'static str,
    },
    /// What `tip` has that no other branch has: a branch's first push, or a new tag.
    /// `pushed_ref` (e.g. `refs/heads/feature`) is not "another branch".
    New {
        tip: String,
        pushed_ref: Option<String>,
    },
    /// The whole history.
    All,
    /// Nothing (a deleted branch or tag).
    Nothing,
}

/// What to scan and why, in words for the log and the job summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub ci: Ci,
    pub scope: Scope,
    /// E.g. "GitHub Actions pull_request".
    pub event: String,
}

/// Where a push's base comes from: a `before` that may be gone after a force push.
const PUSH_BEFORE: &str = "push event's before";

/// The environment variables the detection reads, so tests can pass their own.
pub type Env = HashMap<String, String>;

/// All-zero object id: GitHub's and GitLab's "no commit" (a new or deleted ref).
fn is_zero(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

fn var<'e>(env: &'e Env, name: &str) -> Option<&'e str> {
    env.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

/// Turns the CI's variables (and GitHub's event file) into a plan. `--base` wins over
/// any event. Errors name the variable or event field that is missing or unreadable.
pub fn detect(env: &Env, base: Option<&str>) -> anyhow::Result<Plan> {
    let ci = if var(env, "GITHUB_ACTIONS") == Some("true") {
        Ci::GithubActions
    } else if var(env, "GITLAB_CI") == Some("true") {
        Ci::GitlabCi
    } else {
        Ci::Other
    };
    if let Some(base) = base {
        return Ok(Plan {
            ci,
            scope: Scope::Range {
                base: base.to_string(),
                head: "HEAD".into(),
                base_from: "--base",
            },
            event: "--base".into(),
        });
    }
    match ci {
        Ci::GithubActions => github_plan(env),
        Ci::GitlabCi => Ok(gitlab_plan(env)),
        Ci::Other => Ok(Plan {
            ci,
            scope: Scope::All,
            event: "no CI detected".into(),
        }),
    }
}

fn github_plan(env: &Env) -> anyhow::Result<Plan> {
    let Some(name) = var(env, "GITHUB_EVENT_NAME") else {
        bail!("GITHUB_ACTIONS is true but GITHUB_EVENT_NAME is not set: pass --base REF");
    };
    let plan = |scope| Plan {
        ci: Ci::GithubActions,
        scope,
        event: format!("GitHub Actions {name}"),
    };
    let needs_event = matches!(
        name,
        "pull_request" | "pull_request_target" | "merge_group" | "push"
    );
    if !needs_event {
        // schedule, workflow_dispatch, release, ...: no range to speak of.
        return Ok(plan(Scope::All));
    }
    let Some(path) = var(env, "GITHUB_EVENT_PATH") else {
        bail!("GITHUB_EVENT_PATH is not set: cannot tell what the {name} event changed (pass --base REF)");
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("GITHUB_EVENT_PATH {path}: cannot read the event"))?;
    let event: Value = serde_json::from_str(&text)
        .with_context(|| format!("GITHUB_EVENT_PATH {path}: not JSON"))?;
    let field = |pointer: &str, label: &str| -> anyhow::Result<String> {
        match event.pointer(pointer).and_then(Value::as_str) {
            Some(v) if !v.is_empty() => Ok(v.to_string()),
            _ => bail!("GITHUB_EVENT_PATH {path}: the {name} event has no {label}"),
        }
    };
    let scope = match name {
        "pull_request" | "pull_request_target" => Scope::Range {
            base: field("/pull_request/base/sha", "pull_request.base.sha")?,
            head: field("/pull_request/head/sha", "pull_request.head.sha")?,
            base_from: "pull_request.base.sha",
        },
        "merge_group" => Scope::Range {
            base: field("/merge_group/base_sha", "merge_group.base_sha")?,
            head: field("/merge_group/head_sha", "merge_group.head_sha")?,
            base_from: "merge_group.base_sha",
        },
        _ => {
            let after = field("/after", "after")?;
            let before = event
                .pointer("/before")
                .and_then(Value::as_str)
                .unwrap_or("");
            let pushed_ref = event
                .pointer("/ref")
                .and_then(Value::as_str)
                .map(str::to_string);
            let created = event.pointer("/created").and_then(Value::as_bool) == Some(true);
            let is_tag = pushed_ref
                .as_deref()
                .is_some_and(|r| r.starts_with("refs/tags/"));
            if is_zero(&after) || event.pointer("/deleted").and_then(Value::as_bool) == Some(true) {
                Scope::Nothing
            } else if before.is_empty() || is_zero(before) || (created && is_tag) {
                Scope::New {
                    tip: after,
                    pushed_ref,
                }
            } else {
                Scope::Range {
                    base: before.to_string(),
                    head: after,
                    base_from: PUSH_BEFORE,
                }
            }
        }
    };
    Ok(plan(scope))
}

fn gitlab_plan(env: &Env) -> Plan {
    let head = var(env, "CI_COMMIT_SHA").unwrap_or("HEAD").to_string();
    let plan = |scope, what: &str| Plan {
        ci: Ci::GitlabCi,
        scope,
        event: format!("GitLab CI {what}"),
    };
    if let Some(base) = var(env, "CI_MERGE_REQUEST_DIFF_BASE_SHA") {
        return plan(
            Scope::Range {
                base: base.to_string(),
                head,
                base_from: "CI_MERGE_REQUEST_DIFF_BASE_SHA",
            },
            "merge request",
        );
    }
    let source = var(env, "CI_PIPELINE_SOURCE").unwrap_or("push");
    if matches!(source, "schedule" | "web" | "api" | "trigger") {
        return plan(Scope::All, source);
    }
    if let Some(tag) = var(env, "CI_COMMIT_TAG") {
        return plan(
            Scope::New {
                tip: head,
                pushed_ref: Some(format!("refs/tags/{tag}")),
            },
            "tag",
        );
    }
    match var(env, "CI_COMMIT_BEFORE_SHA") {
        Some(before) if !is_zero(before) => plan(
            Scope::Range {
                base: before.to_string(),
                head,
                base_from: "CI_COMMIT_BEFORE_SHA",
            },
            "push",
        ),
        _ => plan(
            Scope::New {
                tip: head,
                pushed_ref: var(env, "CI_COMMIT_BRANCH").map(|b| format!("refs/heads/{b}")),
            },
            "push of a new branch",
        ),
    }
}

/// The short name of a pushed ref: `refs/heads/feature` → `feature`.
fn branch_name(pushed_ref: &str) -> Option<&str> {
    pushed_ref.strip_prefix("refs/heads/")
}

/// The tips of every branch but the pushed one: local branches and `origin`'s
/// remote-tracking branches. Symbolic refs (`origin/HEAD`) are skipped: they name a
/// branch already counted, and may name the pushed one.
pub fn other_branch_tips(repo: &Repository, pushed_ref: Option<&str>) -> anyhow::Result<Vec<Oid>> {
    let pushed = pushed_ref.and_then(branch_name);
    let mut tips = Vec::new();
    for reference in repo
        .references()
        .context("cannot list the repository's refs")?
    {
        let Ok(reference) = reference else { continue };
        if reference.kind() != Some(git2::ReferenceType::Direct) {
            continue;
        }
        let Ok(name) = reference.name() else { continue };
        let short = name
            .strip_prefix("refs/heads/")
            .or_else(|| name.strip_prefix("refs/remotes/origin/"));
        let Some(short) = short else { continue };
        if Some(short) == pushed || short == "HEAD" {
            continue;
        }
        if let Ok(commit) = reference.peel_to_commit() {
            tips.push(commit.id());
        }
    }
    tips.sort();
    tips.dedup();
    Ok(tips)
}

/// Words for what the scope scans, for stderr and the summary.
fn describe(scope: &Scope, hidden: usize) -> String {
    match scope {
        Scope::Range { base, head, .. } => {
            format!(
                "what {}..{} adds",
                crate::report::short(base),
                crate::report::short(head)
            )
        }
        Scope::New { tip, .. } if hidden == 0 => format!(
            "the whole history of {} (no other branch to compare with)",
            crate::report::short(tip)
        ),
        Scope::New { tip, .. } => format!(
            "what {} has that no other branch has ({hidden} other branch tip(s))",
            crate::report::short(tip)
        ),
        Scope::All => "the whole history".into(),
        Scope::Nothing => "nothing (the ref was deleted)".into(),
    }
}

pub fn run(args: CiArgs) -> anyhow::Result<i32> {
    let env: Env = std::env::vars().collect();
    run_with_env(args, &env)
}

fn run_with_env(args: CiArgs, env: &Env) -> anyhow::Result<i32> {
    let started = Instant::now();
    let plan = detect(env, args.base.as_deref())?;
    let matcher = args.rules.matcher()?;
    let baseline_set = args.baselines.load()?;
    let say = |text: &str| {
        if !args.quiet {
            eprintln!("leakscope ci: {text}");
        }
    };
    let mut repo = git::discover_repo(&args.repo)?;
    let fetcher = Fetcher::new(&repo, !args.no_fetch);
    let mut notes: Vec<String> = Vec::new();
    let scope = plan.scope.clone();
    // Complete the checkout for what the scope needs (fetching when it can).
    if scope != Scope::Nothing {
        if let Some(new_repo) = ci_fetch::complete(&repo, &fetcher, &scope, &say, &mut notes) {
            repo = new_repo;
        }
    }
    let (selection, hidden, scope) = match resolve_scope(&repo, &scope) {
        Ok(resolved) => resolved,
        // A push whose `before` is gone (a force push over commits nobody fetched):
        // scan what no other branch has rather than fail the gate on a missing commit.
        Err(e) if matches!(&scope, Scope::Range { base_from, .. } if *base_from == PUSH_BEFORE || *base_from == "CI_COMMIT_BEFORE_SHA") =>
        {
            let Scope::Range { head, .. } = &scope else {
                unreachable!()
            };
            notes.push(format!(
                "{e:#}; scanned what {} has that no other branch has instead",
                crate::report::short(head)
            ));
            let fallback = Scope::New {
                tip: head.clone(),
                pushed_ref: env.get("GITHUB_REF").cloned(),
            };
            resolve_scope(&repo, &fallback)?
        }
        Err(e) => return Err(e),
    };
    let what = describe(&scope, hidden);
    say(&format!("{}: scanning {what}", plan.event));
    let history = HistoryOptions {
        max_blob_size: args.max_blob_size,
        threads: args.threads,
        ..HistoryOptions::default()
    };
    let mut outcome = match &selection {
        Some(selection) => git::scan_selection(&matcher, &repo, selection, &history, false)?,
        None => crate::source::ScanOutcome::default(),
    };
    if let Some(note) = ci_fetch::range_partial_note(&repo, &selection) {
        outcome.notes.push(note);
    }
    outcome.notes.splice(0..0, notes);
    let meta = crate::report::ScanMeta::new(
        crate::report::ScanKind::History,
        vec![what.clone()],
        matcher.rules(),
    );
    let report = finish(
        outcome,
        meta,
        baseline_set.as_ref(),
        &args.baselines,
        &args.verify,
        started,
    )?;

    let format = args.format.unwrap_or(match plan.ci {
        Ci::GithubActions => Format::Github,
        _ => Format::Human,
    });
    let options = ReportOptions {
        format,
        show_secrets: args.show_secrets,
        color: false,
    };
    {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        write_report(&mut out, &report, matcher.rules(), options)
            .and_then(|()| out.flush())
            .context("cannot write the report")?;
    }
    if let Some(path) = &args.sarif {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("--sarif {}: cannot create", path.display()))?,
        );
        let sarif = ReportOptions {
            format: Format::Sarif,
            show_secrets: args.show_secrets,
            color: false,
        };
        write_report(&mut file, &report, matcher.rules(), sarif)
            .and_then(|()| file.flush())
            .with_context(|| format!("--sarif {}: cannot write", path.display()))?;
    }
    if let Some(path) = var(env, "GITHUB_STEP_SUMMARY") {
        let text = ci_summary::markdown(&report, &plan.event, &what);
        append(Path::new(path), &text).with_context(|| {
            format!("GITHUB_STEP_SUMMARY {path}: cannot append the job summary")
        })?;
    }
    if let Some(path) = var(env, "GITHUB_OUTPUT") {
        let mut text = format!("findings={}\n", report.summary.findings);
        if let Some(sarif) = &args.sarif {
            let sarif = sarif.to_string_lossy();
            if !sarif.contains(['\n', '\r']) {
                text.push_str(&format!("sarif={sarif}\n"));
            }
        }
        append(Path::new(path), &text)
            .with_context(|| format!("GITHUB_OUTPUT {path}: cannot append the step outputs"))?;
    }
    if scope == Scope::Nothing {
        return Ok(EXIT_CLEAN);
    }
    Ok(exit_code(&report, &args.verify, &args.baselines, false))
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// The selection a scope resolves to in `repo` (`None` for nothing to scan), with the
/// number of other-branch tips hidden. A revision that does not resolve is an error
/// naming where it came from.
fn resolve_scope(
    repo: &Repository,
    scope: &Scope,
) -> anyhow::Result<(Option<Selection>, usize, Scope)> {
    Ok(match scope {
        Scope::Range {
            base,
            head,
            base_from,
        } => {
            let base_oid = git::resolve(repo, base_from, base)?;
            let head_oid = git::resolve(repo, "head", head)?;
            (
                Some(Selection::Introduced {
                    tips: vec![head_oid],
                    hide: vec![base_oid],
                }),
                0,
                scope.clone(),
            )
        }
        Scope::New { tip, pushed_ref } => {
            let tip_oid = git::resolve(repo, "the pushed commit", tip)?;
            let hide = other_branch_tips(repo, pushed_ref.as_deref())?;
            let hidden = hide.len();
            (
                Some(Selection::Introduced {
                    tips: vec![tip_oid],
                    hide,
                }),
                hidden,
                scope.clone(),
            )
        }
        Scope::All => (Some(Selection::All { all_objects: false }), 0, Scope::All),
        Scope::Nothing => (None, 0, Scope::Nothing),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn gitlab_variables_pick_the_range() {
        let mr = env(&[
            ("GITLAB_CI", "true"),
            ("CI_MERGE_REQUEST_DIFF_BASE_SHA", "aaa"),
            ("CI_COMMIT_SHA", "bbb"),
            (
                "CI_COMMIT_BEFORE_SHA",
                "0000000000000000000000000000000000000000",
            ),
        ]);
        let plan = detect(&mr, None).unwrap();
        assert_eq!(plan.ci, Ci::GitlabCi);
        assert_eq!(
            plan.scope,
            Scope::Range {
                base: "aaa".into(),
                head: "bbb".into(),
                base_from: "CI_MERGE_REQUEST_DIFF_BASE_SHA"
            }
        );
        let new_branch = env(&[
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_SHA", "bbb"),
            ("CI_COMMIT_BRANCH", "feature"),
            (
                "CI_COMMIT_BEFORE_SHA",
                "0000000000000000000000000000000000000000",
            ),
        ]);
        assert_eq!(
            detect(&new_branch, None).unwrap().scope,
            Scope::New {
                tip: "bbb".into(),
                pushed_ref: Some("refs/heads/feature".into())
            }
        );
        let scheduled = env(&[("GITLAB_CI", "true"), ("CI_PIPELINE_SOURCE", "schedule")]);
        assert_eq!(detect(&scheduled, None).unwrap().scope, Scope::All);
    }

    #[test]
    fn base_flag_wins_and_no_ci_means_whole_history() {
        let gh = env(&[("GITHUB_ACTIONS", "true"), ("GITHUB_EVENT_NAME", "push")]);
        assert_eq!(
            detect(&gh, Some("main")).unwrap().scope,
            Scope::Range {
                base: "main".into(),
                head: "HEAD".into(),
                base_from: "--base"
            }
        );
        assert_eq!(detect(&env(&[]), None).unwrap().scope, Scope::All);
        // A push event needs its event file.
        let err = detect(&gh, None).unwrap_err().to_string();
        assert!(err.contains("GITHUB_EVENT_PATH"), "{err}");
    }
}
