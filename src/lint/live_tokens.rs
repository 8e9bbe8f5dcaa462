//! Live tokens (`lint --verify`, or the verdicts in a `scan --verify --format json`
//! report given with `--scan-report`): a token the provider confirmed live is judged by
//! what the provider said it can do and how long it lives. Pure functions of the
//! [`Verdict`], so they are tested without the network.

use super::{lint_fingerprint, LintDoc, LintFinding, Severity};
use crate::finding::Finding;
use crate::verify::Verdict;

pub static HIGH_RISK: LintDoc = LintDoc {
    id: "live-token-high-risk-scope",
    title: "Live token holds a high-risk scope (or anaconda.org `all`)",
    severity: Severity::Error,
    checks: "Tokens found in the tree that the provider confirms live (`lint --verify`, or a scan report made \
with `scan --verify --format json` given as `--scan-report`), whose scopes include a GitHub high-risk scope \
(`repo`, `workflow`, `delete_repo`, `admin:*`, ...) or an anaconda.org broad scope (`all`, `api`, ...), or a \
scope outside the policy's allowed list.",
    why: "This is not a hygiene problem any more: a working, powerful credential sits in a file. Anyone with \
read access to the repository, its forks or its history can use it now.",
    example: "ci/deploy.sh:3  ghp_… live, owner octocat, scopes repo, workflow",
    fix: "Revoke it (`leakscope revoke`), create a replacement with only the scopes the job needs, and keep it \
in a CI secret or the keyring, not in a file.",
};

pub static LIFETIME: LintDoc = LintDoc {
    id: "live-token-lifetime",
    title: "Live token never expires, or expires later than the policy allows",
    severity: Severity::Warning,
    checks: "Live tokens whose provider reports no expiry (GitHub classic and fine-grained PATs without an \
expiration header, anaconda.org tokens with `expires: null`), or an expiry further out than the policy's \
`max_lifetime_days` (default 365).",
    why: "A token that never expires stays useful to whoever copied it, years after everyone forgot it existed.",
    example: "config/settings.py:12  github_pat_… live, never expires",
    fix: "Revoke it and issue one with an expiry (GitHub: set an expiration; anaconda.org: `--max-age`).",
};

pub static DOCS: [&LintDoc; 2] = [&HIGH_RISK, &LIFETIME];

/// A verified token as the live-token lints see it: where it is, a redacted label and
/// what its provider said. Built from a [`Finding`] or from a scan JSON report.
#[derive(Debug, Clone)]
pub struct LiveToken {
    pub path: String,
    pub line: usize,
    pub column: usize,
    /// Token rule id, e.g. `github.classic-pat`.
    pub rule: String,
    pub provider: String,
    /// The token, redacted (`ghp_M7…(40 chars)`).
    pub label: String,
    /// Scan's fingerprint of the token (secret-free).
    pub token_fingerprint: String,
    pub snippet: String,
    pub verdict: Verdict,
}

impl LiveToken {
    pub fn from_finding(f: &Finding) -> Option<LiveToken> {
        let verdict = f.verdict.clone()?;
        Some(LiveToken {
            path: f.path.clone().unwrap_or_else(|| f.location.to_string()),
            line: f.line,
            column: f.column,
            rule: f.rule.clone(),
            provider: f.provider.clone(),
            label: f.secret.redacted(),
            token_fingerprint: f.fingerprint.clone(),
            snippet: f.snippet.clone(),
            verdict,
        })
    }

    /// One finding of a `scan --format json` report, read with the report's own type
    /// (the secret there is redacted unless `--show-secrets` was used; it is redacted
    /// here either way).
    pub fn from_report_json(value: &serde_json::Value) -> Option<LiveToken> {
        let f: Finding = serde_json::from_value(value.clone()).ok()?;
        let shown = f.secret.expose();
        let whole = !shown.is_empty() && !shown.contains('…');
        let mut token = LiveToken::from_finding(&f)?;
        if whole {
            token.snippet = token.snippet.replace(shown, &token.label);
        } else {
            token.label = shown.to_string();
        }
        token.line = token.line.max(1);
        token.column = token.column.max(1);
        Some(token)
    }
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the epoch for `2026-05-01`, `2026-05-01T12:00:00Z`,
/// `2026-05-01 12:00:00 UTC` and the like (the offset is ignored: days matter here).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    let date = text.get(..10)?;
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut seconds = days_from_civil(y, m, d) * 86_400;
    if let Some(time) = text.get(11..19) {
        let mut hms = time.split(':');
        if let (Some(h), Some(mi), Some(s)) = (hms.next(), hms.next(), hms.next()) {
            if let (Ok(h), Ok(mi), Ok(s)) = (h.parse::<i64>(), mi.parse::<i64>(), s.parse::<i64>())
            {
                seconds += h * 3600 + mi * 60 + s;
            }
        }
    }
    Some(seconds)
}

fn finding(
    doc: &LintDoc,
    severity: Severity,
    token: &LiveToken,
    key: &str,
    message: String,
    suggestion: String,
) -> LintFinding {
    LintFinding {
        rule: doc.id.to_string(),
        path: token.path.clone(),
        line: token.line,
        column: token.column,
        severity,
        message,
        suggestion,
        fingerprint: lint_fingerprint(
            doc.id,
            &token.path,
            &format!("{}\0{key}", token.token_fingerprint),
        ),
        snippet: token.snippet.clone(),
        suppressed: None,
    }
}

/// Judges each live token; `now` is seconds since the epoch.
pub fn check(
    tokens: &[LiveToken],
    facts: &super::scopes::ScopeFacts,
    policy: &super::policy::Policy,
    now: i64,
) -> Vec<LintFinding> {
    let mut out = Vec::new();
    for token in tokens.iter().filter(|t| t.verdict.is_live()) {
        let who = token
            .verdict
            .owner
            .as_deref()
            .map(|o| format!(" (owner {o})"))
            .unwrap_or_default();
        let revoke = "revoke it (`leakscope revoke`), issue one with only the job's scopes and an expiry, and keep it in a CI secret or the keyring";
        for scope in token.verdict.scopes.iter().flatten() {
            let (allowed, risk) = match token.provider.as_str() {
                "github" => (&policy.github_scopes, facts.github_risk(scope)),
                "anaconda" => (&policy.anaconda_scopes, facts.anaconda_broad(scope)),
                _ => continue,
            };
            let message = match (allowed, risk) {
                (Some(allowed), _) if !allowed.contains(scope) => format!(
                    "live {} token {}{who} holds scope `{scope}`, which the policy does not allow",
                    token.provider, token.label
                ),
                (Some(_), _) => continue,
                (None, Some(risk)) => format!(
                    "live {} token {}{who} holds `{scope}`: {}",
                    token.provider, token.label, risk.why
                ),
                (None, None) => continue,
            };
            let instead = risk
                .map(|r| format!("; the replacement should use {}", r.instead))
                .unwrap_or_default();
            out.push(finding(
                &HIGH_RISK,
                Severity::Error,
                token,
                scope,
                message,
                format!("{revoke}{instead}"),
            ));
        }
        let limit_days = policy.max_lifetime_days as i64;
        let expires = token.verdict.expires_at.as_deref().map(str::trim);
        let never = match expires {
            // What a missing expiry means is a fact of the token's rule (GitHub omits its
            // expiration header for a PAT that has none; elsewhere it means unknown).
            None => crate::rules::facts(&token.rule)
                .is_some_and(|f| f.absent_expiry == crate::rules::AbsentExpiry::Never),
            Some(text) => matches!(text.to_ascii_lowercase().as_str(), "never" | "null" | ""),
        };
        if never {
            out.push(finding(
                &LIFETIME,
                Severity::Warning,
                token,
                "never",
                format!(
                    "live {} token {}{who} never expires",
                    token.provider, token.label
                ),
                format!("{revoke}; give the new one an expiry of at most {limit_days} days"),
            ));
        } else if let Some(at) = expires.and_then(parse_timestamp) {
            let days = (at - now) / 86_400;
            if days > limit_days {
                out.push(finding(
                    &LIFETIME,
                    Severity::Warning,
                    token,
                    "lifetime",
                    format!(
                        "live {} token {}{who} expires in {days} days ({}), more than the {limit_days}-day maximum",
                        token.provider,
                        token.label,
                        expires.unwrap_or("")
                    ),
                    format!("{revoke}; give the new one an expiry of at most {limit_days} days"),
                ));
            }
        }
    }
    out
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::VerdictStatus;

    fn verdict(status: VerdictStatus, scopes: &[&str], expires_at: Option<&str>) -> Verdict {
        Verdict {
            status,
            owner: Some("octocat".into()),
            token_type: Some("classic".into()),
            scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
            expires_at: expires_at.map(str::to_string),
            name: None,
            detail: None,
            http_status: None,
        }
    }

    fn token(rule: &str, provider: &str, v: Verdict) -> LiveToken {
        LiveToken {
            path: "ci/deploy.sh".into(),
            line: 3,
            column: 14,
            rule: rule.into(),
            provider: provider.into(),
            label: "ghp_M7…(40 chars)".into(),
            token_fingerprint: "0123".into(),
            snippet: "TOKEN=ghp_M7…(40 chars)".into(),
            verdict: v,
        }
    }

    const NOW: i64 = 1_795_000_000; // 2026-11-18

    fn run(tokens: &[LiveToken], policy: &super::super::policy::Policy) -> Vec<LintFinding> {
        let facts = super::super::scopes::ScopeFacts::builtin().unwrap();
        check(tokens, &facts, policy, NOW)
    }

    #[test]
    fn live_github_token_with_repo_and_no_expiry() {
        let t = token(
            "github.classic-pat",
            "github",
            verdict(VerdictStatus::Live, &["repo", "read:org", "workflow"], None),
        );
        let f = run(&[t], &Default::default());
        let ids: Vec<&str> = f.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(
            ids,
            [
                "live-token-high-risk-scope",
                "live-token-high-risk-scope",
                "live-token-lifetime"
            ]
        );
        assert!(f[0].message.contains("`repo`") && f[0].message.contains("octocat"));
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[2].message.contains("never expires"));
        assert_eq!((f[0].path.as_str(), f[0].line), ("ci/deploy.sh", 3));
        assert!(!f[0].message.contains("M7H4"), "never the whole token");
    }

    #[test]
    fn expiry_beyond_the_policy_maximum() {
        let two_years = token(
            "github.fine-grained-pat",
            "github",
            verdict(VerdictStatus::Live, &[], Some("2028-11-20 10:00:00 UTC")),
        );
        let f = run(std::slice::from_ref(&two_years), &Default::default());
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("expires in 732 days"),
            "{}",
            f[0].message
        );
        let soon = token(
            "github.fine-grained-pat",
            "github",
            verdict(VerdictStatus::Live, &[], Some("2027-01-01T00:00:00Z")),
        );
        assert!(run(&[soon], &Default::default()).is_empty());
    }

    #[test]
    fn anaconda_all_and_explicit_never() {
        let t = token(
            "anaconda.org-token-url",
            "anaconda",
            verdict(VerdictStatus::Live, &["all"], Some("never")),
        );
        let f = run(&[t], &Default::default());
        assert_eq!(f.len(), 2);
        // Unknown expiry on an anaconda token is not "never".
        let t = token(
            "anaconda.org-token-url",
            "anaconda",
            verdict(VerdictStatus::Live, &["conda:download"], None),
        );
        assert!(run(&[t], &Default::default()).is_empty());
    }

    #[test]
    fn dead_tokens_and_narrow_live_ones_pass() {
        let dead = token(
            "github.classic-pat",
            "github",
            verdict(VerdictStatus::Invalid, &["repo"], None),
        );
        let narrow = token(
            "github.classic-pat",
            "github",
            verdict(VerdictStatus::Live, &["read:packages"], Some("2027-01-01")),
        );
        assert!(run(&[dead, narrow], &Default::default()).is_empty());
    }

    #[test]
    fn policy_allows_and_forbids() {
        let facts = super::super::scopes::ScopeFacts::builtin().unwrap();
        let policy = super::super::policy::Policy::parse(
            "[scopes]\ngithub = [\"repo\"]\n[tokens]\nmax_lifetime_days = 30\n",
            "p",
            &facts,
        )
        .unwrap();
        let t = token(
            "github.classic-pat",
            "github",
            verdict(VerdictStatus::Live, &["repo", "gist"], Some("2027-01-01")),
        );
        let f = run(&[t], &policy);
        let msgs: Vec<&str> = f.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(f.len(), 2, "{msgs:?}");
        assert!(msgs[0].contains("`gist`, which the policy does not allow"));
        assert!(msgs[1].contains("30-day maximum"));
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-02"), Some(86_400));
        assert_eq!(parse_timestamp("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(
            parse_timestamp("2000-03-01 00:00:10 +0000"),
            Some(951_868_810)
        );
        assert!(parse_timestamp("soon").is_none());
    }
}
