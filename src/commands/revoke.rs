//! `leakscope revoke`: verify, confirm, revoke the live tokens, verify again.
//!
//! The order matters. Nothing is sent before the user can confirm: without a terminal
//! and without `--yes` the command refuses before any request (only `--dry-run` may go
//! ahead, and it sends no revocation). A token counts as `revoked` only when its provider,
//! asked again after the revocation, rejects it.

use super::scan::RulesFlag;
use super::verify::{load_inputs, InputArgs};
use super::{OutputArgs, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use crate::finding::Finding;
use crate::report::escape::terminal as esc;
use crate::report::Format;
use crate::source::ScanError;
use crate::verify::http::{now_epoch, rfc3339};
use crate::verify::revoke::{self as provider, method_for, Attempt, RevokeMethod};
use crate::verify::{Check, NetworkFlags, Verdict, VerdictStatus, Verifier};
use anyhow::{bail, Context};
use colored::Colorize;
use serde::Serialize;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub output: RevokeOutputArgs,
    #[command(flatten)]
    pub rules: RulesFlag,
    #[command(flatten)]
    pub network: NetworkFlags,
    /// Revoke without asking (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Verify and list what would be revoked; send no revocation.
    #[arg(long)]
    pub dry_run: bool,
    /// Append an audit record per action (JSON lines, never the secret) to FILE.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Seconds to wait after revoking before verifying again (GitHub's 202 means
    /// "accepted", not "done").
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub recheck_delay: f64,
}

/// The report formats of revoke: its report lists tokens and actions, which SARIF (a
/// list of results at places in files) has no form for, so `--help` offers only these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RevokeFormat {
    /// One block per token, colored on a terminal.
    #[default]
    Human,
    /// One JSON object: tokens, summary, errors.
    Json,
    /// One JSON object per token, one per line.
    Jsonl,
}

/// The output flags of scan and verify, with revoke's own formats.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RevokeOutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = RevokeFormat::Human)]
    pub format: RevokeFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print secrets whole instead of redacted (in every format).
    #[arg(long)]
    pub show_secrets: bool,
    /// When to use colors in the human format.
    #[arg(long, value_enum, default_value_t = super::ColorChoice::Auto)]
    pub color: super::ColorChoice,
}

impl RevokeOutputArgs {
    fn open(&self) -> anyhow::Result<(Box<dyn Write>, crate::report::ReportOptions)> {
        OutputArgs {
            format: match self.format {
                RevokeFormat::Human => Format::Human,
                RevokeFormat::Json => Format::Json,
                RevokeFormat::Jsonl => Format::Jsonl,
            },
            output: self.output.clone(),
            show_secrets: self.show_secrets,
            color: self.color,
        }
        .open()
    }
}

/// What happened to one distinct secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevokeResult {
    /// Revoked, and the provider now rejects it.
    Revoked,
    /// The provider accepted the request but still does not reject the token.
    RevokeRequested,
    /// The provider refused the request, or no answer came.
    Failed,
    /// The provider has no revocation API; the detail says what to do.
    Manual,
    /// `--dry-run`: would be revoked.
    WouldRevoke,
    /// Not live (invalid or unknown): left alone.
    Skipped,
    /// The user said no at the prompt.
    NotConfirmed,
}

impl RevokeResult {
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeResult::Revoked => "revoked",
            RevokeResult::RevokeRequested => "revoke-requested",
            RevokeResult::Failed => "failed",
            RevokeResult::Manual => "manual",
            RevokeResult::WouldRevoke => "would-revoke",
            RevokeResult::Skipped => "skipped",
            RevokeResult::NotConfirmed => "not-confirmed",
        }
    }
}

/// One distinct secret: where it was found, what verify said, what revoke did.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub fingerprint: String,
    pub rule: String,
    pub provider: String,
    /// The redacted secret (whole only with --show-secrets).
    pub secret: String,
    /// `path:line` of every finding with this secret.
    pub found_at: Vec<String>,
    pub verdict: Verdict,
    pub result: RevokeResult,
    /// The revocation request, e.g. `POST api.github.com/credentials/revoke`.
    pub request: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    pub detail: String,
    /// The verdict after revoking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recheck: Option<Verdict>,
    #[serde(skip)]
    check: Check,
    /// The secret itself, for the provider's API: redacted in `Debug` like any other.
    #[serde(skip)]
    value: crate::finding::Secret,
}

pub fn run(args: RevokeArgs) -> anyhow::Result<i32> {
    let matcher = args.rules.matcher()?;
    let policy = args.network.policy()?;
    if !args.recheck_delay.is_finite() || !(0.0..=600.0).contains(&args.recheck_delay) {
        bail!(
            "--recheck-delay: {} is not between 0 and 600 seconds",
            args.recheck_delay
        );
    }
    let mut log = match &args.log {
        Some(path) => Some(AuditLog::open(path)?),
        None => None,
    };
    let interactive = std::io::stdin().is_terminal() && !input_uses_stdin(&args.input);
    // Refuse before sending anything at all, verification included.
    if !args.dry_run && !args.yes && !interactive {
        bail!(
            "refusing to revoke without confirmation: standard input is not a terminal; \
             pass --yes to revoke without asking, or --dry-run to see what would be revoked"
        );
    }
    let mut inputs = load_inputs(&args.input, &matcher)?;
    let verifier = Verifier::new(policy)?;
    crate::verify::verify_with(&verifier, &mut inputs.findings);
    // Paths, snippets and errors may hold secrets (a file named after a token): every
    // secret of the run is redacted from them before the prompt shows any.
    let redactor = crate::redact::for_findings(&inputs.findings);
    crate::redact::scrub_report(&redactor, &mut inputs.findings, &mut inputs.errors, &mut []);
    let mut targets = group(&inputs.findings, args.output.show_secrets);
    if let Some(log) = &mut log {
        for t in &targets {
            log.write(
                t,
                "verify",
                t.verdict.http_status,
                t.verdict.status.as_str(),
            )?;
        }
    }
    let live: Vec<usize> = (0..targets.len())
        .filter(|&i| targets[i].verdict.is_live())
        .collect();
    if args.dry_run {
        for &i in &live {
            let t = &mut targets[i];
            t.result = match method_for(t.check) {
                RevokeMethod::Manual(how) => {
                    t.detail = how.to_string();
                    RevokeResult::Manual
                }
                _ => {
                    t.detail = "dry run: nothing sent".into();
                    RevokeResult::WouldRevoke
                }
            };
        }
    } else if !live.is_empty() {
        let confirmed = args.yes || {
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            confirm(&mut std::io::stderr(), &mut input, &targets, &live)?
        };
        if confirmed {
            revoke(&verifier, &mut targets, &live, log.as_mut())?;
            let delay = Duration::from_secs_f64(args.recheck_delay);
            recheck(&verifier, &mut targets, &live, delay, log.as_mut())?;
        } else {
            for &i in &live {
                targets[i].result = RevokeResult::NotConfirmed;
                targets[i].detail = "not confirmed: nothing sent".into();
            }
        }
    }
    // What providers said (revocation answers, re-verify verdicts) may echo a token.
    for t in &mut targets {
        t.detail = redactor.server_text(&t.detail);
        if let Some(v) = &mut t.recheck {
            crate::verify::scrub_verdict(v, &redactor);
        }
    }
    let (mut out, options) = args.output.open()?;
    write(
        &mut out,
        &targets,
        &inputs.errors,
        options.format,
        options.color,
    )
    .context("cannot write the report")?;
    out.flush().context("cannot write the report")?;
    Ok(exit_code(&targets, &inputs.errors))
}

fn input_uses_stdin(input: &InputArgs) -> bool {
    let dash = |p: &Option<PathBuf>| p.as_deref() == Some(std::path::Path::new("-"));
    dash(&input.input) || dash(&input.tokens_file)
}

/// 0 when no live token is left, 1 when one is (failed, requested, manual, dry run, not
/// confirmed), 2 when nothing live was found but some input could not be used.
pub fn exit_code(targets: &[Target], errors: &[ScanError]) -> i32 {
    let still_live = targets
        .iter()
        .any(|t| t.verdict.is_live() && t.result != RevokeResult::Revoked);
    if still_live {
        EXIT_FINDINGS
    } else if !errors.is_empty() {
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    }
}

/// One target per distinct `(check, secret)`, in input order.
fn group(findings: &[Finding], show_secrets: bool) -> Vec<Target> {
    let mut targets: Vec<Target> = Vec::new();
    let mut seen: HashMap<(Check, String), usize> = HashMap::new();
    for f in findings {
        let place = match &f.path {
            Some(p) => format!("{p}:{}", f.line),
            None => f.location.to_string(),
        };
        if f.secret.is_empty() {
            continue;
        }
        let check = crate::verify::check_of(f);
        let key = (check, f.secret.expose().to_string());
        if let Some(&i) = seen.get(&key) {
            targets[i].found_at.push(place);
            continue;
        }
        seen.insert(key, targets.len());
        let verdict = f
            .verdict
            .clone()
            .unwrap_or_else(|| Verdict::unknown("not verified"));
        let (result, detail) = if verdict.is_live() {
            (RevokeResult::Skipped, String::new())
        } else {
            (
                RevokeResult::Skipped,
                format!("not live ({}): left alone", verdict.status.as_str()),
            )
        };
        targets.push(Target {
            fingerprint: f.fingerprint.clone(),
            rule: f.rule.id.clone(),
            provider: f.rule.provider.clone(),
            secret: if show_secrets {
                f.secret.expose().to_string()
            } else {
                f.secret.redacted()
            },
            found_at: vec![place],
            verdict,
            result,
            request: method_for(check).describe().to_string(),
            http_status: None,
            detail,
            recheck: None,
            check,
            value: f.secret.clone(),
        });
    }
    targets
}

/// Lists the live tokens on `out` and asks once for the batch; true on `y` / `yes`.
pub fn confirm(
    out: &mut dyn Write,
    input: &mut dyn BufRead,
    targets: &[Target],
    live: &[usize],
) -> anyhow::Result<bool> {
    writeln!(out, "These live tokens will be revoked:")?;
    for &i in live {
        let t = &targets[i];
        let v = &t.verdict;
        let scopes = match &v.scopes {
            Some(s) if s.is_empty() => "no scopes".to_string(),
            Some(s) => s.join(" "),
            None => "scopes unknown".to_string(),
        };
        writeln!(
            out,
            "  {}  {}  owner {}, {}  via {}",
            t.value.redacted(),
            esc(&t.rule),
            esc(v.owner.as_deref().unwrap_or("unknown")),
            esc(&scopes),
            t.request
        )?;
        writeln!(out, "      found at {}", esc(&t.found_at.join(", ")))?;
    }
    write!(out, "Revoke {} token(s)? [y/N] ", live.len())?;
    out.flush()?;
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    let answer = answer.trim().to_ascii_lowercase();
    Ok(answer == "y" || answer == "yes")
}

/// Sends the revocations: GitHub credentials in batches, the others one by one.
fn revoke(
    verifier: &Verifier,
    targets: &mut [Target],
    live: &[usize],
    mut log: Option<&mut AuditLog>,
) -> anyhow::Result<()> {
    let batch: Vec<usize> = live
        .iter()
        .copied()
        .filter(|&i| method_for(targets[i].check) == RevokeMethod::GithubCredentials)
        .collect();
    let mut attempts: Vec<(usize, Attempt)> = Vec::new();
    for chunk in batch.chunks(provider::GITHUB_BATCH) {
        let tokens: Vec<&str> = chunk.iter().map(|&i| targets[i].value.expose()).collect();
        let attempt = provider::github_credentials(verifier, &tokens);
        attempts.extend(chunk.iter().map(|&i| (i, attempt.clone())));
    }
    let singles: Vec<usize> = live
        .iter()
        .copied()
        .filter(|i| !batch.contains(i))
        .collect();
    let jobs: Vec<(RevokeMethod, crate::finding::Secret)> = singles
        .iter()
        .map(|&i| (method_for(targets[i].check), targets[i].value.clone()))
        .collect();
    let results =
        crate::verify::run_pool(
            &jobs,
            verifier.policy.concurrency,
            |(method, value)| match method {
                RevokeMethod::GithubInstallation => {
                    Some(provider::github_installation(verifier, value.expose()))
                }
                RevokeMethod::AnacondaOrg => Some(provider::anaconda_org(verifier, value.expose())),
                _ => None,
            },
        );
    for (&i, result) in singles.iter().zip(results) {
        match result {
            Some(attempt) => attempts.push((i, attempt)),
            None => {
                let t = &mut targets[i];
                t.result = RevokeResult::Manual;
                if let RevokeMethod::Manual(how) = method_for(t.check) {
                    t.detail = how.to_string();
                }
            }
        }
    }
    for (i, attempt) in attempts {
        let t = &mut targets[i];
        t.http_status = attempt.http_status;
        t.detail = attempt.detail;
        t.result = if attempt.accepted {
            RevokeResult::RevokeRequested
        } else {
            RevokeResult::Failed
        };
        if let Some(log) = log.as_deref_mut() {
            let result = if attempt.accepted {
                "accepted"
            } else {
                "failed"
            };
            log.write(t, "revoke", attempt.http_status, result)?;
        }
    }
    Ok(())
}

/// Verifies again every token whose revocation was accepted; `revoked` only if the
/// provider now rejects it.
fn recheck(
    verifier: &Verifier,
    targets: &mut [Target],
    live: &[usize],
    delay: Duration,
    mut log: Option<&mut AuditLog>,
) -> anyhow::Result<()> {
    let accepted: Vec<usize> = live
        .iter()
        .copied()
        .filter(|&i| targets[i].result == RevokeResult::RevokeRequested)
        .collect();
    if accepted.is_empty() {
        return Ok(());
    }
    std::thread::sleep(delay);
    let jobs: Vec<(Check, crate::finding::Secret)> = accepted
        .iter()
        .map(|&i| (targets[i].check, targets[i].value.clone()))
        .collect();
    let verdicts = verifier.verify_all(&jobs);
    for (&i, verdict) in accepted.iter().zip(verdicts) {
        let t = &mut targets[i];
        if verdict.status == VerdictStatus::Invalid {
            t.result = RevokeResult::Revoked;
        } else {
            t.detail = format!(
                "{}; asked again, the provider says {} (it may take a moment: check later)",
                t.detail,
                verdict.status.as_str()
            );
        }
        if let Some(log) = log.as_deref_mut() {
            log.write(t, "re-verify", verdict.http_status, t.result.as_str())?;
        }
        t.recheck = Some(verdict);
    }
    Ok(())
}

/// `--log FILE`: one JSON object per action, appended. Holds fingerprints, never secrets.
struct AuditLog {
    file: File,
    path: PathBuf,
}

impl AuditLog {
    fn open(path: &std::path::Path) -> anyhow::Result<AuditLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("--log {}: cannot open for appending", path.display()))?;
        Ok(AuditLog {
            file,
            path: path.to_path_buf(),
        })
    }

    fn write(
        &mut self,
        t: &Target,
        action: &str,
        http_status: Option<u16>,
        result: &str,
    ) -> anyhow::Result<()> {
        let record = serde_json::json!({
            "time": rfc3339(now_epoch() as i64),
            "fingerprint": t.fingerprint,
            "rule": t.rule,
            "provider": t.provider,
            "action": action,
            "http_status": http_status,
            "result": result,
        });
        writeln!(self.file, "{record}")
            .with_context(|| format!("--log {}: cannot write", self.path.display()))
    }
}

fn write(
    out: &mut dyn Write,
    targets: &[Target],
    errors: &[ScanError],
    format: Format,
    color: bool,
) -> std::io::Result<()> {
    match format {
        Format::Json => {
            let counts = |r: RevokeResult| targets.iter().filter(|t| t.result == r).count();
            let doc = serde_json::json!({
                "tokens": targets,
                "summary": {
                    "tokens": targets.len(),
                    "live": targets.iter().filter(|t| t.verdict.is_live()).count(),
                    "revoked": counts(RevokeResult::Revoked),
                    "revoke_requested": counts(RevokeResult::RevokeRequested),
                    "failed": counts(RevokeResult::Failed),
                    "manual": counts(RevokeResult::Manual),
                    "would_revoke": counts(RevokeResult::WouldRevoke),
                },
                "errors": errors,
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        }
        Format::Jsonl => {
            for t in targets {
                serde_json::to_writer(&mut *out, t)?;
                writeln!(out)?;
            }
            Ok(())
        }
        // Human; RevokeFormat offers no other format.
        _ => {
            colored::control::set_override(color);
            let mut order: Vec<&Target> = targets.iter().collect();
            order.sort_by_key(|t| !t.verdict.is_live());
            for t in order {
                let result = match t.result {
                    RevokeResult::Revoked => t.result.as_str().green().bold(),
                    RevokeResult::Skipped => t.result.as_str().normal(),
                    _ => t.result.as_str().red().bold(),
                };
                writeln!(
                    out,
                    "{result}  {}  {}",
                    esc(&t.secret).bold(),
                    esc(&t.rule).cyan()
                )?;
                writeln!(out, "  found at {}", esc(&t.found_at.join(", ")))?;
                writeln!(out, "  verdict: {}", esc(&t.verdict.describe()))?;
                if t.result != RevokeResult::Skipped || !t.detail.is_empty() {
                    let status = t
                        .http_status
                        .map(|s| format!(" -> HTTP {s}"))
                        .unwrap_or_default();
                    writeln!(out, "  {}{status}: {}", t.request, esc(&t.detail))?;
                }
                writeln!(out, "  fingerprint {}", t.fingerprint.dimmed())?;
                writeln!(out)?;
            }
            crate::report::human::write_errors_and_notes(out, errors, &[])?;
            let live = targets.iter().filter(|t| t.verdict.is_live()).count();
            let revoked = targets
                .iter()
                .filter(|t| t.result == RevokeResult::Revoked)
                .count();
            writeln!(
                out,
                "{} distinct tokens, {live} live, {revoked} revoked",
                targets.len()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{fingerprint, Secret};

    fn live_target() -> Target {
        // Made up, never issued; only its redacted form may appear in the prompt.
        let value = "ghp_madeUpNeverIssued000000000000000000".to_string();
        let mut verdict = Verdict::new(VerdictStatus::Live);
        verdict.owner = Some("octo-example".into());
        verdict.scopes = Some(vec!["repo".into(), "gist".into()]);
        Target {
            fingerprint: fingerprint("github.classic-pat", &value),
            rule: "github.classic-pat".into(),
            provider: "github".into(),
            secret: Secret::new(value.clone()).redacted(),
            found_at: vec!["src/app.py:3".into()],
            verdict,
            result: RevokeResult::Skipped,
            request: RevokeMethod::GithubCredentials.describe().into(),
            http_status: None,
            detail: String::new(),
            recheck: None,
            check: Check::GithubUser,
            value: Secret::new(value),
        }
    }

    #[test]
    fn prompt_lists_owner_scopes_place_and_needs_yes() {
        let targets = vec![live_target()];
        let mut shown = Vec::new();
        let yes = confirm(&mut shown, &mut &b"y\n"[..], &targets, &[0]).unwrap();
        assert!(yes);
        let shown = String::from_utf8(shown).unwrap();
        assert!(shown.contains("octo-example"));
        assert!(shown.contains("repo gist"));
        assert!(shown.contains("src/app.py:3"));
        assert!(
            !shown.contains(targets[0].value.expose()),
            "the prompt must redact"
        );
        let mut sink = Vec::new();
        assert!(!confirm(&mut sink, &mut &b"\n"[..], &targets, &[0]).unwrap());
        assert!(!confirm(&mut sink, &mut &b"no\n"[..], &targets, &[0]).unwrap());
        assert!(!confirm(&mut sink, &mut &b""[..], &targets, &[0]).unwrap());
    }

    #[test]
    fn exit_codes() {
        let mut t = live_target();
        assert_eq!(exit_code(&[t.clone()], &[]), EXIT_FINDINGS);
        t.result = RevokeResult::Revoked;
        assert_eq!(exit_code(&[t.clone()], &[]), EXIT_CLEAN);
        let err = ScanError::at_object("--token #1", "x");
        assert_eq!(exit_code(&[t], &[err]), EXIT_ERROR);
    }
}
