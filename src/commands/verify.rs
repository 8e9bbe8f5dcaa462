//! `leakscope verify`: check tokens without a scan, from findings JSON (`--input`), from
//! `--token` values or from a file of tokens (`--tokens-file`).
//!
//! Findings JSON normally carries redacted secrets. The secret is then read again from
//! the working tree: the finding's file is re-scanned with the same rules and the
//! finding with the same fingerprint supplies it. If none matches (the file changed or
//! is gone), that finding is reported as not recoverable; nothing is guessed or sent.
//! A bare token is recognised by running the rules over it; one that no rule recognises
//! is reported as an error and never sent anywhere.

use super::scan::RulesFlag;
use super::{OutputArgs, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use crate::blob::{scan_bytes, Origin};
use crate::finding::{fingerprint, redact, Finding, Location, Secret};
use crate::input::MAX_INPUT_BYTES;
use crate::matcher::Matcher;
use crate::report::{write_report, Report, ScanKind, ScanMeta, Summary};
use crate::source::ScanError;
use crate::verify::recover::{Place, Recoverer};
use crate::verify::{NetworkFlags, Verdict, VerdictStatus, Verifier};
use anyhow::{bail, Context};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where the secrets come from; shared by `verify` and `revoke`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct InputArgs {
    /// Findings from `leakscope scan --format json` (or `jsonl`); `-` reads stdin.
    #[arg(long, short = 'i', value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// A token to check (repeatable). It shows in the process list and shell history:
    /// prefer --tokens-file.
    #[arg(long = "token", value_name = "VALUE")]
    pub tokens: Vec<String>,
    /// A file with one token per line (blank lines and `#` comments skipped); `-` reads
    /// stdin.
    #[arg(long, value_name = "FILE")]
    pub tokens_file: Option<PathBuf>,
    /// Directory the paths in --input findings are relative to (default: current).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub root: PathBuf,
    /// Repository to read history findings' blobs from (default: the one the report
    /// names, else the one around --root).
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Only the secret with this fingerprint from --input (repeatable).
    #[arg(long = "fingerprint", value_name = "F", requires = "input")]
    pub fingerprints: Vec<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub rules: RulesFlag,
    #[command(flatten)]
    pub network: NetworkFlags,
}

/// The findings to check, and what could not be turned into one.
#[derive(Debug, Default)]
pub struct Inputs {
    pub findings: Vec<Finding>,
    pub errors: Vec<ScanError>,
    /// Files re-read to recover redacted secrets.
    pub files_read: u64,
    pub bytes_read: u64,
}

pub fn run(args: VerifyArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let matcher = args.rules.matcher()?;
    let policy = args.network.policy()?;
    let mut inputs = load_inputs(&args.input, &matcher)?;
    let verifier = Verifier::new(policy)?;
    let checked = crate::verify::verify_with(&verifier, &mut inputs.findings);
    let redactor = crate::redact::for_findings(&inputs.findings);
    crate::redact::scrub_report(&redactor, &mut inputs.findings, &mut inputs.errors, &mut []);
    let exit = exit_code(&inputs);
    let mut report = into_report(inputs, started, checked);
    report.recount();
    let (mut out, options) = args.output.open()?;
    write_report(&mut out, &report, matcher.rules(), options).context("cannot write the report")?;
    out.flush().context("cannot write the report")?;
    Ok(exit)
}

/// 1 if any token is live (an incident comes first), else 2 if some input could not be
/// used, else 0.
pub fn exit_code(inputs: &Inputs) -> i32 {
    let live = inputs
        .findings
        .iter()
        .any(|f| f.verdict.as_ref().is_some_and(|v| v.is_live()));
    if live {
        EXIT_FINDINGS
    } else if !inputs.errors.is_empty() {
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    }
}

pub fn into_report(inputs: Inputs, started: Instant, checked: usize) -> Report {
    let mut counts = [0usize; 3];
    for f in &inputs.findings {
        if let Some(v) = &f.verdict {
            let slot = match v.status {
                VerdictStatus::Live => 0,
                VerdictStatus::Invalid => 1,
                VerdictStatus::Unknown => 2,
            };
            counts[slot] += 1;
        }
    }
    let mut summary = Summary {
        duration_ms: started.elapsed().as_millis() as u64,
        ..Summary::default()
    };
    summary.stats.files_scanned = inputs.files_read;
    summary.stats.bytes_scanned = inputs.bytes_read;
    summary.notes.push(format!(
        "{checked} distinct secrets checked; findings: {} live, {} invalid, {} unknown",
        counts[0], counts[1], counts[2]
    ));
    Report {
        findings: inputs.findings,
        summary,
        errors: inputs.errors,
        meta: ScanMeta {
            kind: ScanKind::Verify,
            started: crate::source::git::commits::rfc3339(crate::report::incidents::now(), 0),
            version: env!("CARGO_PKG_VERSION").to_string(),
            ..ScanMeta::default()
        },
        history: Default::default(),
        skipped: Vec::new(),
    }
}

/// Reads every input the user gave. Bad flags and unreadable input files are errors
/// (exit 2); a single bad token or unrecoverable finding is recorded and the rest goes on.
pub fn load_inputs(args: &InputArgs, matcher: &Matcher) -> anyhow::Result<Inputs> {
    if args.input.is_none() && args.tokens.is_empty() && args.tokens_file.is_none() {
        bail!("nothing to check: give --input FILE, --token VALUE or --tokens-file FILE");
    }
    let stdin_twice = args.input.as_deref() == Some(Path::new("-"))
        && args.tokens_file.as_deref() == Some(Path::new("-"));
    if stdin_twice {
        bail!("--input and --tokens-file cannot both read stdin (-)");
    }
    let mut inputs = Inputs::default();
    if let Some(path) = &args.input {
        let text = crate::input::read_text(path, "--input", MAX_INPUT_BYTES)?;
        let (mut parsed, repository) =
            parse_findings(&text).with_context(|| format!("--input {}", path.display()))?;
        if !args.fingerprints.is_empty() {
            for wanted in &args.fingerprints {
                if !parsed.iter().any(|f| &f.fingerprint == wanted) {
                    bail!(
                        "--fingerprint {}: no secret with this fingerprint in --input {}",
                        crate::finding::redact(wanted),
                        path.display()
                    );
                }
            }
            parsed.retain(|f| args.fingerprints.contains(&f.fingerprint));
        }
        let repo = args.repo.clone().or(repository.map(PathBuf::from));
        recover_secrets(parsed, matcher, &args.root, repo, &mut inputs);
    }
    for (n, token) in args.tokens.iter().enumerate() {
        let label = format!("--token #{}", n + 1);
        match recognise(matcher, token, None, 1, Location::Argument) {
            Some(f) => inputs.findings.push(f),
            None => inputs
                .errors
                .push(ScanError::at_object(label, unrecognised(token))),
        }
    }
    if let Some(path) = &args.tokens_file {
        let text = crate::input::read_text(path, "--tokens-file", MAX_INPUT_BYTES)?;
        let display = path.display().to_string();
        for (n, line) in text.lines().enumerate() {
            let token = line.trim();
            if token.is_empty() || token.starts_with('#') {
                continue;
            }
            match recognise(matcher, token, Some(&display), n + 1, Location::TokensFile) {
                Some(f) => inputs.findings.push(f),
                None => inputs.errors.push(ScanError::at_path(
                    display.clone(),
                    format!("line {}: {}", n + 1, unrecognised(token)),
                )),
            }
        }
    }
    Ok(inputs)
}

fn unrecognised(token: &str) -> String {
    format!(
        "{} is not recognised by any rule as a GitHub or Anaconda token; nothing was sent",
        redact(token.trim())
    )
}

/// A finding for a bare token, or `None` if no rule recognises it whole.
pub fn recognise(
    matcher: &Matcher,
    token: &str,
    path: Option<&str>,
    line: usize,
    location: Location,
) -> Option<Finding> {
    let token = token.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return None;
    }
    // Rules that need a context word (40-hex GitHub tokens, Anaconda tokens and API
    // keys) name the context a bare token is tried in; the token must be the whole
    // secret the rule finds.
    for ctx in crate::rules::bare_contexts(matcher.rules()) {
        let text = format!("{}{token}{}", ctx.before, ctx.after);
        let origin = Origin {
            path: None,
            location,
        };
        let found = scan_bytes(matcher, text.as_bytes(), origin)
            .into_iter()
            .find(|f| f.secret.expose() == token);
        if let Some(mut f) = found {
            f.path = path.map(String::from);
            f.line = line;
            f.column = 1;
            f.end_column = token.chars().count() + 1;
            f.snippet = redact(token);
            f.suppressed = None;
            return Some(f);
        }
    }
    None
}

/// Accepts a JSON report (`{"findings": [...]}`), a JSON array of findings, or JSON lines
/// (incident lines, `"type": "secret"`, are skipped: the findings carry the places).
/// Also returns the repository a history or staged report names.
fn parse_findings(text: &str) -> anyhow::Result<(Vec<Finding>, Option<String>)> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Ok((Vec::new(), None));
    }
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let mut repository = None;
        let list = match value {
            serde_json::Value::Object(mut doc) if doc.contains_key("findings") => {
                repository = doc
                    .get("scan")
                    .and_then(|s| s.get("repository"))
                    .and_then(|r| r.as_str())
                    .map(String::from);
                doc.remove("findings").unwrap_or_default()
            }
            value @ serde_json::Value::Object(_) => serde_json::Value::Array(vec![value]),
            value => value,
        };
        let list = serde_json::from_value(list)
            .context("not a list of leakscope findings (expected `scan --format json` output)")?;
        return Ok((list, repository));
    }
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("line {}: not a leakscope finding in JSON", n + 1))?;
        if value.get("type").and_then(|t| t.as_str()) == Some("secret") {
            continue;
        }
        let finding = serde_json::from_value(value)
            .with_context(|| format!("line {}: not a leakscope finding in JSON", n + 1))?;
        out.push(finding);
    }
    Ok((out, None))
}

/// Turns input findings into findings with their real secret, read back from where the
/// report says it is ([`crate::verify::recover`]), once per fingerprint whatever the
/// number of places. An incident that cannot be read back keeps a redacted, empty
/// secret and an `unknown` verdict saying why on each of its findings, and one error
/// entry; nothing is sent for it.
fn recover_secrets(
    parsed: Vec<Finding>,
    matcher: &Matcher,
    root: &Path,
    repo: Option<PathBuf>,
    inputs: &mut Inputs,
) {
    let mut recoverer = Recoverer::new(matcher, root, repo);
    let mut places: HashMap<&str, Vec<Place>> = HashMap::new();
    for input in &parsed {
        places.entry(&input.fingerprint).or_default().push(Place {
            path: input.path.clone(),
            commit: input.commit.as_ref().map(|c| c.commit.clone()),
            blob: input.blob.clone(),
        });
    }
    let mut recovered: HashMap<String, Result<(String, Option<String>), String>> = HashMap::new();
    for input in &parsed {
        let shown = input.secret.expose();
        let whole = !shown.is_empty()
            && !input.fingerprint.is_empty()
            && fingerprint(&input.rule.id, shown) == input.fingerprint;
        if whole {
            // Output of `--show-secrets`: the value is whole (the fingerprint proves it).
            recovered.insert(
                input.fingerprint.clone(),
                Ok((shown.to_string(), input.url_host.clone())),
            );
        }
    }
    for input in &parsed {
        if recovered.contains_key(&input.fingerprint) {
            continue;
        }
        let result = if input.fingerprint.is_empty() {
            Err("the finding has no fingerprint to match".to_string())
        } else {
            let list = places
                .get(input.fingerprint.as_str())
                .map_or(&[][..], Vec::as_slice);
            recoverer.recover(&input.fingerprint, list)
        };
        if let Err(why) = &result {
            let place = format!(
                "{}:{}",
                input.path.as_deref().unwrap_or(input.location.as_str()),
                input.line
            );
            inputs.errors.push(ScanError::at_path(
                place,
                format!(
                    "{} ({}): secret not recoverable: {why}; nothing was sent",
                    input.rule.id, input.fingerprint
                ),
            ));
        }
        // Findings without a fingerprint each stand alone.
        if !input.fingerprint.is_empty() {
            recovered.insert(input.fingerprint.clone(), result);
        }
    }
    inputs.files_read += recoverer.files_read;
    inputs.bytes_read += recoverer.bytes_read;
    for input in parsed {
        let result = recovered
            .get(&input.fingerprint)
            .cloned()
            .unwrap_or_else(|| Err("the finding has no fingerprint to match".into()));
        // What the report said stays; its own suppression and verdict do not carry
        // over into a new check.
        let mut finding = Finding {
            secret: Secret::new(""),
            suppressed: None,
            verdict: None,
            confidence: Default::default(),
            encoding: None,
            ..input
        };
        match result {
            Ok((secret, url_host)) => {
                finding.secret = Secret::new(secret);
                finding.url_host = url_host;
            }
            Err(why) => {
                finding.verdict = Some(Verdict::unknown(format!(
                    "secret not recoverable: {why}; nothing was sent"
                )));
            }
        }
        inputs.findings.push(finding);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSet;
    use crate::validators::github_checksum;

    fn matcher() -> Matcher {
        Matcher::new(RuleSet::builtin().unwrap()).unwrap()
    }

    #[test]
    fn bare_tokens_are_recognised_by_rules() {
        let m = matcher();
        // Made up, never issued: right prefix, length and checksum.
        let random = "AbCdEfGhIjKlMnOpQrStUvWxYz0123";
        let ghp = format!("ghp_{random}{}", github_checksum(random));
        let f = recognise(&m, &ghp, None, 1, Location::Argument).unwrap();
        assert_eq!(f.rule.id, "github.classic-pat");
        assert_eq!(f.rule.provider, "github");
        // Made up, never issued (anaconda.org shape).
        let org = "co-143399b8-276e-48db-b43f-4a3de839a024";
        let f = recognise(&m, org, None, 1, Location::Argument).unwrap();
        assert_eq!(f.rule.provider, "anaconda");
        assert_eq!(f.secret.expose(), org);
        // Made up, never issued: 40 hex.
        let hex = "6c6c2ef234352a90df32236b80219138e0ab4074";
        assert_eq!(
            recognise(&m, hex, None, 1, Location::Argument)
                .unwrap()
                .rule
                .provider,
            "github"
        );
        // A checksum failure, a random word, a token with junk around it: not recognised.
        let bad = format!("ghp_{random}000000");
        assert!(recognise(&m, &bad, None, 1, Location::Argument).is_none());
        assert!(recognise(&m, "hello-world", None, 1, Location::Argument).is_none());
        assert!(recognise(&m, &format!("x{ghp}"), None, 1, Location::Argument).is_none());
    }

    #[test]
    fn parses_json_report_array_and_jsonl() {
        let one = r#"{"rule":"github.classic-pat","fingerprint":"ab","secret":"ghp_Ab…(40 chars)","path":"a.txt","line":2}"#;
        let count = |text: String| parse_findings(&text).unwrap().0.len();
        assert_eq!(
            count(format!("{{\"findings\":[{one}],\"summary\":{{}}}}")),
            1
        );
        assert_eq!(count(format!("[{one},{one}]")), 2);
        assert_eq!(count(format!("{one}\n{one}\n\n")), 2);
        assert!(parse_findings("not json\n").is_err());
    }
}
