//! Verify: ask each token's own provider whether it is live, whose it is and what it can
//! do. The stage between findings and the report.
//!
//! - [`check_for`] decides, from the rule and the token's shape, which single check a
//!   secret gets ([`Check`]); the check fixes the provider, so a GitHub token can only
//!   ever go to the GitHub API and an Anaconda token only to Anaconda's.
//! - [`Verifier`] runs the checks on a bounded pool of threads, once per distinct secret.
//! - [`github`] and [`anaconda`] turn each provider's answers into a [`Verdict`]; the
//!   network plumbing (endpoints, client, retries) is in [`http`]; [`revoke`] kills tokens.
//!
//! A verdict is `invalid` only when the provider itself rejected the token. Rate limits,
//! timeouts, server errors and answers we cannot read are `unknown`.

pub mod anaconda;
pub mod github;
pub mod http;
pub mod recover;
pub mod revoke;

use crate::finding::{Finding, Secret};
pub use crate::verdict::{Verdict, VerdictStatus};
use http::{Answer, Endpoints, Outcome, Policy};
use std::collections::HashMap;

use std::time::Duration;

/// When a scan fails the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FailOn {
    /// Any finding that is not suppressed.
    #[default]
    Any,
    /// Only findings verified live.
    Live,
    /// Any finding, low-confidence ones (a bare token shape with no context word) too.
    Low,
}

/// Timeouts, retries and concurrency for provider API calls (scan --verify, verify,
/// revoke). Unset flags take [`Policy::default`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NetworkFlags {
    /// Seconds before one API request is given up (default 10).
    #[arg(long, value_name = "SECS")]
    pub verify_timeout: Option<f64>,
    /// Extra attempts on server errors, rate limits and network errors (default 3).
    #[arg(long, value_name = "N")]
    pub verify_retries: Option<u32>,
    /// Longest wait for a rate limit or backoff, in seconds (default 60); a limit that
    /// resets later leaves the verdict `unknown`.
    #[arg(long, value_name = "SECS")]
    pub verify_max_wait: Option<f64>,
    /// API requests in flight at once (default 8).
    #[arg(long, value_name = "N")]
    pub verify_jobs: Option<usize>,
}

impl NetworkFlags {
    pub fn policy(&self) -> anyhow::Result<Policy> {
        let mut policy = Policy::default();
        if let Some(secs) = self.verify_timeout {
            policy.timeout = seconds("--verify-timeout", secs)?;
            if policy.timeout.is_zero() {
                anyhow::bail!("--verify-timeout: must be more than 0");
            }
        }
        if let Some(n) = self.verify_retries {
            policy.retries = n;
        }
        if let Some(secs) = self.verify_max_wait {
            policy.max_wait = seconds("--verify-max-wait", secs)?;
        }
        if let Some(n) = self.verify_jobs {
            if n == 0 {
                anyhow::bail!("--verify-jobs: must be at least 1");
            }
            policy.concurrency = n;
        }
        Ok(policy)
    }
}

fn seconds(flag: &str, secs: f64) -> anyhow::Result<Duration> {
    if !secs.is_finite() || !(0.0..=86_400.0).contains(&secs) {
        anyhow::bail!("{flag}: {secs} is not a number of seconds between 0 and 86400");
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The scan flags for verification.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct VerifyFlags {
    /// Ask each token's provider whether it is live (network calls to api.github.com /
    /// api.anaconda.org / repo.anaconda.cloud / anaconda.com only; off by default).
    #[arg(long)]
    pub verify: bool,
    /// Exit 1 on any finding, or only on live ones (implies --verify).
    #[arg(long, value_enum, default_value_t = FailOn::Any)]
    pub fail_on: FailOn,
    #[command(flatten)]
    pub network: NetworkFlags,
}

/// The one check a secret gets; each talks to one provider only. Which check a rule's
/// tokens get is data: the rule's `verify` field (see [`crate::rules::VerifyRoute`]).
pub use crate::rules::VerifyRoute as Check;

impl Check {
    pub fn provider(self) -> &'static str {
        match self {
            Check::GithubUser | Check::GithubInstallation | Check::GithubRefresh => "github",
            Check::AnacondaOrg
            | Check::AnacondaRepo
            | Check::AnacondaApiKey
            | Check::AnacondaKeyring => "anaconda",
            Check::Unsupported | Check::ForeignHost => "other",
        }
    }
}

/// Which check a secret found by `rule` gets: the route its rule file names (`verify`),
/// refined by shape only where one rule finds two kinds of token (a token file holds an
/// anaconda.org token or a 48-character repo token). A user rule that names no route
/// falls back on its provider and the token's shape.
pub fn check_for(rule: &str, provider: &str, secret: &str) -> Check {
    let by_shape = |s: &str| s.len() == 48 && s.bytes().all(|b| b.is_ascii_alphanumeric());
    match crate::rules::facts(rule).and_then(|f| f.verify) {
        Some(Check::AnacondaOrg) if by_shape(secret) => Check::AnacondaRepo,
        Some(route) => route,
        None => match provider {
            "github" if secret.starts_with("ghs_") => Check::GithubInstallation,
            "github" if secret.starts_with("ghr_") => Check::GithubRefresh,
            "github" => Check::GithubUser,
            "anaconda" if secret.starts_with("eyJ") && secret.matches('.').count() == 2 => {
                Check::AnacondaApiKey
            }
            "anaconda" if by_shape(secret) => Check::AnacondaRepo,
            "anaconda" => Check::AnacondaOrg,
            _ => Check::Unsupported,
        },
    }
}

/// The check a finding gets: [`check_for`], then the host guard. A token that sits in
/// a `/t/` channel URL is sent only when the URL's host belongs to the provider the
/// check talks to; otherwise it was issued by another server (a mirror, a look-alike
/// host) and nothing is sent.
pub fn check_of(finding: &Finding) -> Check {
    let check = check_for(
        &finding.rule.id,
        &finding.rule.provider,
        finding.secret.expose(),
    );
    host_guard(check, &finding.rule.id, finding.url_host.as_deref())
}

/// Rules that find a token by its channel URL's host: without a host (an old findings
/// file), the token cannot be shown to be the provider's.
const URL_RULES: &[&str] = &["anaconda.org-token-url", "anaconda.repo-token-url"];

/// [`Check::ForeignHost`] when a `/t/` URL host is not one the check's provider owns.
pub fn host_guard(check: Check, rule: &str, url_host: Option<&str>) -> Check {
    let Some(domains) = provider_domains(check) else {
        return check;
    };
    match url_host {
        Some(host) if host_in(host, domains) => check,
        Some(_) => Check::ForeignHost,
        None if URL_RULES.contains(&rule) => Check::ForeignHost,
        None => check,
    }
}

/// The registered domains whose hosts (the domain or any subdomain: only the owner of
/// a domain can name its subdomains) may issue a `/t/` token that `check` sends on.
fn provider_domains(check: Check) -> Option<&'static [&'static str]> {
    match check {
        Check::AnacondaOrg => Some(&["anaconda.org", "binstar.org"]),
        Check::AnacondaRepo => Some(&["anaconda.cloud", "anaconda.com"]),
        _ => None,
    }
}

/// `host` is one of `domains` or a subdomain of one, compared exactly (label by label):
/// `conda.myanaconda.org` is not under `anaconda.org`.
pub fn host_in(host: &str, domains: &[&str]) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    domains.iter().any(|d| {
        host == *d
            || host
                .strip_suffix(d)
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1)
    })
}

/// Runs checks: one client, the endpoints from the environment, the retry policy.
pub struct Verifier {
    pub client: reqwest::blocking::Client,
    pub endpoints: Endpoints,
    pub policy: Policy,
}

impl Verifier {
    /// Reads the endpoint overrides (an invalid one is an error naming its variable).
    pub fn new(policy: Policy) -> anyhow::Result<Verifier> {
        Ok(Verifier {
            client: http::client(&policy)?,
            endpoints: Endpoints::from_env()?,
            policy,
        })
    }

    pub fn send(&self, request: &http::Request) -> Outcome {
        http::send(&self.client, request, &self.policy)
    }

    /// One check of one secret.
    pub fn verify(&self, check: Check, secret: &str) -> Verdict {
        match check {
            Check::GithubUser => github::verify_user(self, secret),
            Check::GithubInstallation => github::verify_installation(self, secret),
            Check::GithubRefresh => Verdict::unknown(
                "GitHub App refresh tokens cannot be checked without the app's client secret; \
                 nothing was sent",
            ),
            Check::AnacondaOrg => anaconda::verify_org(self, secret),
            Check::AnacondaRepo => anaconda::verify_repo(self, secret),
            Check::AnacondaApiKey => anaconda::verify_api_key(self, secret),
            Check::AnacondaKeyring => anaconda::verify_keyring(self, secret),
            Check::Unsupported => {
                Verdict::unknown("no verifier for this provider; nothing was sent")
            }
            Check::ForeignHost => Verdict::unknown(
                "issued by a server the finding does not name, or found in a channel URL \
                 whose host is not its provider's (private channel server, mirror, GitHub \
                 Enterprise Server, on-prem Anaconda site); nothing was sent",
            ),
        }
    }

    /// Checks each `(check, secret)` pair on at most `policy.concurrency` threads;
    /// verdicts come back in input order.
    pub fn verify_all(&self, jobs: &[(Check, Secret)]) -> Vec<Verdict> {
        run_pool(jobs, self.policy.concurrency, |(check, secret)| {
            self.verify(*check, secret.expose())
        })
    }
}

/// Applies `work` to every item on a pool of `workers` threads (rayon's, sized for
/// network calls rather than cores); results in order.
pub fn run_pool<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    use rayon::prelude::*;
    let workers = workers.clamp(1, items.len().max(1));
    match rayon::ThreadPoolBuilder::new().num_threads(workers).build() {
        Ok(pool) => pool.install(|| items.par_iter().map(&work).collect()),
        // No thread could be started: the work still gets done, one item at a time.
        Err(_) => items.iter().map(work).collect(),
    }
}

/// The distinct `(check, secret)` pairs of `findings` (suppressed findings and findings
/// without a secret are left out), and for each finding the index of its pair.
pub fn distinct_secrets(findings: &[Finding]) -> (Vec<(Check, Secret)>, Vec<Option<usize>>) {
    let mut jobs: Vec<(Check, Secret)> = Vec::new();
    let mut seen: HashMap<(Check, Secret), usize> = HashMap::new();
    let mut index = Vec::with_capacity(findings.len());
    for f in findings {
        if f.is_suppressed() || f.secret.is_empty() {
            index.push(None);
            continue;
        }
        let check = check_of(f);
        let key = (check, f.secret.clone());
        let i = *seen.entry(key.clone()).or_insert_with(|| {
            jobs.push(key);
            jobs.len() - 1
        });
        index.push(Some(i));
    }
    (jobs, index)
}

/// Adds a verdict to each finding, asking once per distinct secret. Suppressed findings
/// (inline allow, baseline) are not checked.
pub fn verify_findings(findings: &mut [Finding], flags: &VerifyFlags) -> anyhow::Result<()> {
    let verifier = Verifier::new(flags.network.policy()?)?;
    verify_with(&verifier, findings);
    Ok(())
}

/// [`verify_findings`] with a ready verifier; returns how many requests-worth of
/// distinct secrets were checked.
pub fn verify_with(verifier: &Verifier, findings: &mut [Finding]) -> usize {
    let (jobs, index) = distinct_secrets(findings);
    let mut verdicts = verifier.verify_all(&jobs);
    let redactor = crate::redact::for_findings(findings);
    for v in &mut verdicts {
        scrub_verdict(v, &redactor);
    }
    for (f, i) in findings.iter_mut().zip(index) {
        if let Some(i) = i {
            f.verdict = Some(verdicts[i].clone());
        }
    }
    jobs.len()
}

/// A verdict's texts come from a server (an error body may echo the token, or list
/// other credentials): every secret of the run is redacted from them, bare tokens of
/// known shapes too, and each is cut short.
pub fn scrub_verdict(v: &mut Verdict, redactor: &crate::redact::Redactor) {
    for field in [
        &mut v.owner,
        &mut v.token_type,
        &mut v.expires_at,
        &mut v.name,
        &mut v.detail,
    ]
    .into_iter()
    .flatten()
    {
        *field = redactor.server_text(field);
    }
    if let Some(scopes) = &mut v.scopes {
        scopes.truncate(100);
        for scope in scopes {
            *scope = redactor.server_text(scope);
        }
    }
}

/// The verdict for an answer no specific rule explained: never `invalid`.
pub fn unexpected(provider: &str, outcome: &Outcome) -> Verdict {
    match outcome {
        Err(failure) => Verdict::unknown(format!("{provider}: {}", failure.detail)),
        Ok(answer) => unexpected_answer(provider, answer),
    }
}

fn unexpected_answer(provider: &str, answer: &Answer) -> Verdict {
    let status = answer.status;
    let detail = if answer.is_rate_limited() {
        let reset = answer
            .requested_wait(http::now_epoch())
            .map(|w| format!("; try again in {} s", w.as_secs()))
            .unwrap_or_default();
        format!("rate limited by {provider} (HTTP {status}){reset}")
    } else if status >= 500 {
        format!("{provider} answered HTTP {status} (server error), retries exhausted")
    } else if (300..400).contains(&status) {
        format!("{provider} answered HTTP {status} (a redirect, not followed)")
    } else {
        let message = error_message(answer)
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        format!("unexpected answer from {provider}: HTTP {status}{message}")
    };
    Verdict::unknown(detail).with_status(status)
}

/// The `message` / `error` text of a JSON error body, cut short.
pub fn error_message(answer: &Answer) -> Option<String> {
    let json = answer.json()?;
    let text = json
        .get("message")
        .or_else(|| json.get("error"))
        .or_else(|| json.get("detail"))?;
    let text = match text {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some(text.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{fingerprint, Secret};

    fn finding(rule: &str, provider: &str, secret: &str) -> Finding {
        Finding {
            rule: crate::finding::RuleRef::new(rule, rule, provider),
            path: Some("a".into()),
            path_bytes: None,
            location: crate::finding::Location::File,
            line: 1,
            column: 1,
            end_column: 2,
            secret: Secret::new(secret),
            fingerprint: fingerprint(rule, secret),
            snippet: String::new(),
            url_host: None,
            commit: None,
            blob: None,
            suppressed: None,
            verdict: None,
            confidence: Default::default(),
            encoding: None,
        }
    }

    #[test]
    fn checks_follow_rule_and_shape() {
        assert_eq!(
            check_for("github.classic-pat", "github", "ghp_x"),
            Check::GithubUser
        );
        assert_eq!(
            check_for("github.installation-token-stateless", "github", "ghs_1_a"),
            Check::GithubInstallation
        );
        assert_eq!(
            check_for("github.refresh-token", "github", "ghr_x"),
            Check::GithubRefresh
        );
        assert_eq!(
            check_for("anaconda.org-token-env", "anaconda", "co-x"),
            Check::AnacondaOrg
        );
        assert_eq!(
            check_for("anaconda.client-token-file", "anaconda", &"a".repeat(48)),
            Check::AnacondaRepo
        );
        assert_eq!(
            check_for("anaconda.api-key-env", "anaconda", "eyJ.a.b"),
            Check::AnacondaApiKey
        );
        assert_eq!(
            check_for("user.custom", "github", "ghs_abc"),
            Check::GithubInstallation
        );
        assert_eq!(
            check_for("user.custom", "gitlab", "glpat-x"),
            Check::Unsupported
        );
        for check in [Check::GithubUser, Check::GithubInstallation] {
            assert_eq!(check.provider(), "github");
        }
        assert_eq!(Check::AnacondaRepo.provider(), "anaconda");
    }

    #[test]
    fn url_tokens_go_only_to_their_provider_hosts() {
        let org =
            |host: Option<&str>| host_guard(Check::AnacondaOrg, "anaconda.org-token-url", host);
        assert_eq!(org(Some("conda.anaconda.org")), Check::AnacondaOrg);
        assert_eq!(org(Some("pypi.anaconda.org")), Check::AnacondaOrg);
        assert_eq!(org(Some("anaconda.org")), Check::AnacondaOrg);
        for bad in [
            "conda.myanaconda.org",
            "mirror.example.com",
            "anaconda.org.evil.com",
            "",
            ".anaconda.org",
        ] {
            assert_eq!(org(Some(bad)), Check::ForeignHost, "{bad}");
        }
        assert_eq!(org(None), Check::ForeignHost, "a URL rule without a host");
        let repo = |host| host_guard(Check::AnacondaRepo, "anaconda.repo-token-url", Some(host));
        assert_eq!(repo("repo.anaconda.cloud"), Check::AnacondaRepo);
        assert_eq!(repo("repo.notanaconda.cloud"), Check::ForeignHost);
        // Not from a URL: the check stands.
        assert_eq!(
            host_guard(Check::AnacondaOrg, "anaconda.org-token-env", None),
            Check::AnacondaOrg
        );
        assert_eq!(
            host_guard(Check::GithubUser, "github.classic-pat", Some("example.com")),
            Check::GithubUser
        );
    }

    #[test]
    fn distinct_secrets_dedup_and_skip_suppressed() {
        // Made-up values, never issued; shape does not matter here.
        let mut findings = vec![
            finding("github.classic-pat", "github", "ghp_one"),
            finding("github.classic-pat", "github", "ghp_one"),
            finding("github.classic-pat", "github", "ghp_two"),
            finding("github.classic-pat", "github", "ghp_three"),
        ];
        findings[3].suppressed = Some(crate::finding::Suppression::Baseline);
        let (jobs, index) = distinct_secrets(&findings);
        assert_eq!(jobs.len(), 2);
        assert_eq!(index, vec![Some(0), Some(0), Some(1), None]);
    }

    #[test]
    fn pool_keeps_order_and_bounds_threads() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let items: Vec<usize> = (0..50).collect();
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out = run_pool(&items, 3, |i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(1));
            running.fetch_sub(1, Ordering::SeqCst);
            i * 2
        });
        assert_eq!(out, (0..50).map(|i| i * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }

    #[test]
    fn unknown_is_never_invalid() {
        let mut a = Answer {
            status: 429,
            ..Answer::default()
        };
        assert_eq!(
            unexpected("GitHub", &Ok(a.clone())).status,
            VerdictStatus::Unknown
        );
        a.status = 503;
        assert_eq!(
            unexpected("GitHub", &Ok(a.clone())).status,
            VerdictStatus::Unknown
        );
        a.status = 302;
        assert!(unexpected("GitHub", &Ok(a))
            .detail
            .unwrap()
            .contains("not followed"));
        let failed: Outcome = Err(http::Failure {
            detail: "timed out".into(),
        });
        assert_eq!(unexpected("GitHub", &failed).status, VerdictStatus::Unknown);
    }

    #[test]
    fn flags_are_validated() {
        let flags = NetworkFlags {
            verify_timeout: Some(-1.0),
            ..NetworkFlags::default()
        };
        assert!(flags
            .policy()
            .unwrap_err()
            .to_string()
            .contains("--verify-timeout"));
        let flags = NetworkFlags {
            verify_jobs: Some(0),
            ..NetworkFlags::default()
        };
        assert!(flags.policy().is_err());
        let flags = NetworkFlags {
            verify_timeout: Some(0.5),
            verify_max_wait: Some(2.0),
            ..NetworkFlags::default()
        };
        let p = flags.policy().unwrap();
        assert_eq!(p.timeout, Duration::from_millis(500));
        assert_eq!(p.max_wait, Duration::from_secs(2));
    }
}
