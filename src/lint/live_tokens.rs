//! Live tokens (`lint --verify`, or the verdicts in a `scan --verify --format json`
//! report given with `--scan-report`): a token the provider confirmed live is judged by
//! what the provider said it can do and how long it lives. Pure functions of the
//! [`Verdict`], so they are tested without the network.

use super::{Example, FindingBuilder, LintDoc, LintFinding, Severity};
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
    example: Example {
        path: "scan-report.jsonl",
        text: "{\"rule\":\"github.classic-pat\",\"provider\":\"github\",\"path\":\"ci/deploy.sh\",\"line\":3,\"column\":7,\"secret\":\"ghp_M7…(40 chars)\",\"fingerprint\":\"5f0e\",\"snippet\":\"TOKEN=ghp_M7…(40 chars)\",\"verdict\":{\"status\":\"live\",\"owner\":\"octocat\",\"scopes\":[\"repo\",\"workflow\"]}}\n",
    },
    negative: Example {
        path: "scan-report.jsonl",
        text: "{\"rule\":\"github.classic-pat\",\"provider\":\"github\",\"path\":\"ci/deploy.sh\",\"line\":3,\"column\":7,\"secret\":\"ghp_M7…(40 chars)\",\"fingerprint\":\"5f0e\",\"snippet\":\"TOKEN=ghp_M7…(40 chars)\",\"verdict\":{\"status\":\"live\",\"owner\":\"octocat\",\"scopes\":[\"read:packages\"]}}\n",
    },
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
    example: Example {
        path: "scan-report.jsonl",
        text: "{\"rule\":\"github.fine-grained-pat\",\"provider\":\"github\",\"path\":\"config/settings.py\",\"line\":12,\"column\":9,\"secret\":\"github_pat_11…(93 chars)\",\"fingerprint\":\"77ab\",\"snippet\":\"TOKEN = \\\"github_pat_11…(93 chars)\\\"\",\"verdict\":{\"status\":\"live\",\"owner\":\"octocat\"}}\n",
    },
    negative: Example {
        path: "scan-report.jsonl",
        text: "{\"rule\":\"anaconda.org-token-url\",\"provider\":\"anaconda\",\"path\":\".condarc\",\"line\":2,\"column\":34,\"secret\":\"zz-5…(39 chars)\",\"fingerprint\":\"91cd\",\"snippet\":\"- https://conda.anaconda.org/t/zz-5…(39 chars)/acme\",\"verdict\":{\"status\":\"live\",\"owner\":\"acme\",\"scopes\":[\"conda:download\"]}}\n",
    },
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
            rule: f.rule.id.clone(),
            provider: f.rule.provider.clone(),
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

/// Seconds since the epoch for `2026-05-01`, `2026-05-01T12:00:00Z`,
/// `2026-05-01 12:00:00 UTC` and the like (the offset is ignored: days matter here).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    let date = text.get(..10)?;
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    // jiff's calendar: a day that does not exist (`2026-02-30`) is no date.
    let date = jiff::civil::Date::new(
        i16::try_from(y).ok()?,
        i8::try_from(m).ok()?,
        i8::try_from(d).ok()?,
    )
    .ok()?;
    let mut seconds = jiff::tz::TimeZone::UTC
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .ok()?
        .as_second();
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

/// What one live token's provider answer says is wrong with it.
struct Judgement {
    /// Each flagged scope with the reason.
    flagged: Vec<(String, String)>,
    /// The least scopes that would do, when the flagged ones have replacements.
    least: Vec<String>,
    /// "never expires", "expires in 732 days (...), more than the 365-day maximum".
    lifetime_problem: Option<String>,
    /// The expiry as the provider gave it, for the message.
    expiry: String,
}

fn judge(
    token: &LiveToken,
    facts: &super::scopes::ScopeFacts,
    policy: &super::policy::Policy,
    now: i64,
) -> Judgement {
    let scopes: &[String] = token.verdict.scopes.as_deref().unwrap_or(&[]);
    let mut flagged = Vec::new();
    let mut replacements: Vec<String> = Vec::new();
    for scope in scopes {
        let (allowed, risk) = match token.provider.as_str() {
            "github" => (&policy.github_scopes, facts.github_risk(scope)),
            "anaconda" => (&policy.anaconda_scopes, facts.anaconda_broad(scope)),
            _ => continue,
        };
        let reason = match (allowed, risk) {
            (Some(allowed), _) if !allowed.contains(scope) => {
                "the policy does not allow it".to_string()
            }
            (Some(_), _) => continue,
            (None, Some(risk)) => risk.why.clone(),
            (None, None) => continue,
        };
        if let Some(risk) = risk {
            replacements.extend(risk.replace.iter().cloned());
        }
        flagged.push((scope.clone(), reason));
    }
    let is_flagged = |s: &str| flagged.iter().any(|(f, _)| f == s);
    let mut least: Vec<String> = scopes.iter().filter(|s| !is_flagged(s)).cloned().collect();
    for r in replacements {
        if !is_flagged(&r) && !least.contains(&r) {
            least.push(r);
        }
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
    let (lifetime_problem, expiry) = if never {
        (
            Some("never expires".to_string()),
            "never expires".to_string(),
        )
    } else if let Some(text) = expires {
        match parse_timestamp(text) {
            Some(at) if (at - now) / 86_400 > limit_days => (
                Some(format!(
                    "expires in {} days ({text}), more than the {limit_days}-day maximum",
                    (at - now) / 86_400
                )),
                format!("expires {text}"),
            ),
            _ => (None, format!("expires {text}")),
        }
    } else {
        (None, "expiry unknown".to_string())
    };
    Judgement {
        flagged,
        least,
        lifetime_problem,
        expiry,
    }
}

/// Judges each live token once: the same token found in several places (same scan
/// fingerprint) is one finding at its first place, listing its scopes, the flagged ones
/// with the reason, the least scopes that would do and its expiry, so that the count
/// of findings is the count of tokens. `now` is seconds since the epoch.
pub fn check(
    tokens: &[LiveToken],
    facts: &super::scopes::ScopeFacts,
    policy: &super::policy::Policy,
    now: i64,
) -> Vec<LintFinding> {
    let mut groups: Vec<(&LiveToken, Vec<&LiveToken>)> = Vec::new();
    for token in tokens.iter().filter(|t| t.verdict.is_live()) {
        match groups
            .iter_mut()
            .find(|(first, _)| first.token_fingerprint == token.token_fingerprint)
        {
            Some((_, more)) => more.push(token),
            None => groups.push((token, Vec::new())),
        }
    }
    let mut out = Vec::new();
    for (token, elsewhere) in groups {
        let j = judge(token, facts, policy, now);
        if j.flagged.is_empty() && j.lifetime_problem.is_none() {
            continue;
        }
        let who = token
            .verdict
            .owner
            .as_deref()
            .map(|o| format!(" (owner {o})"))
            .unwrap_or_default();
        let scopes = match token.verdict.scopes.as_deref() {
            Some([]) => "no scopes".to_string(),
            Some(list) => format!("scopes {}", list.join(", ")),
            None => "scopes not reported".to_string(),
        };
        let mut problems: Vec<String> = j
            .flagged
            .iter()
            .map(|(scope, why)| format!("`{scope}`: {why}"))
            .collect();
        if let Some(lifetime) = &j.lifetime_problem {
            problems.push(lifetime.clone());
        } else {
            problems.push(j.expiry.clone());
        }
        let also = if elsewhere.is_empty() {
            String::new()
        } else {
            let places: Vec<String> = elsewhere
                .iter()
                .take(5)
                .map(|t| format!("{}:{}", t.path, t.line))
                .collect();
            format!(
                "; also found at {}{}",
                places.join(", "),
                if elsewhere.len() > 5 { ", ..." } else { "" }
            )
        };
        let (doc, severity) = if j.flagged.is_empty() {
            (&LIFETIME, Severity::Warning)
        } else {
            (&HIGH_RISK, Severity::Error)
        };
        let limit_days = policy.max_lifetime_days;
        let replacement = if j.flagged.is_empty() {
            format!("issue one with an expiry of at most {limit_days} days")
        } else if j.least.is_empty() {
            let hint = if token.provider == "anaconda" {
                "`conda:download` to install, `api:read api:write` to upload"
            } else {
                "a fine-grained token for a few repositories"
            };
            format!(
                "issue one with only the job's scopes (none of {}; {hint}) and an expiry of at most {limit_days} days",
                j.flagged.iter().map(|(s, _)| format!("`{s}`")).collect::<Vec<_>>().join(", ")
            )
        } else {
            format!(
                "issue one with at most `{}` and an expiry of at most {limit_days} days",
                j.least.join(" ")
            )
        };
        out.push(
            FindingBuilder::new(doc, &token.path, token.line, token.column, token.snippet.clone())
                .severity(severity)
                .identity(token.token_fingerprint.clone())
                .key("live")
                .message(format!(
                    "live {} token {}{who}, {scopes}: {}{also}",
                    token.provider,
                    token.label,
                    problems.join("; ")
                ))
                .suggestion(format!(
                    "revoke it (`leakscope revoke`), {replacement}, and keep it in a CI secret or the keyring"
                ))
                .build(),
        );
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
    fn live_github_token_with_repo_and_no_expiry_is_one_finding() {
        let t = token(
            "github.classic-pat",
            "github",
            verdict(VerdictStatus::Live, &["repo", "read:org", "workflow"], None),
        );
        let f = run(&[t], &Default::default());
        assert_eq!(rules_of(&f), ["live-token-high-risk-scope"], "{f:#?}");
        let m = &f[0].message;
        assert!(m.contains("scopes repo, read:org, workflow"), "{m}");
        assert!(m.contains("`repo`: ") && m.contains("`workflow`: "), "{m}");
        assert!(m.contains("never expires") && m.contains("octocat"), "{m}");
        // The least scopes that would do: read:org kept, repo -> public_repo, workflow dropped.
        assert!(
            f[0].suggestion.contains("at most `read:org public_repo`"),
            "{}",
            f[0].suggestion
        );
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!((f[0].path.as_str(), f[0].line), ("ci/deploy.sh", 3));
        assert!(!m.contains("M7H4"), "never the whole token");
    }

    #[test]
    fn one_token_in_several_places_is_one_finding() {
        let v = verdict(VerdictStatus::Live, &["repo"], None);
        let a = token("github.classic-pat", "github", v.clone());
        let mut b = token("github.classic-pat", "github", v.clone());
        b.path = "docs/setup.md".into();
        b.line = 40;
        let mut other = token("github.classic-pat", "github", v);
        other.token_fingerprint = "4567".into();
        let f = run(&[a, b, other], &Default::default());
        assert_eq!(f.len(), 2, "{f:#?}");
        assert!(
            f[0].message.contains("also found at docs/setup.md:40"),
            "{}",
            f[0].message
        );
        assert!(!f[1].message.contains("also found"));
        assert_ne!(f[0].fingerprint, f[1].fingerprint);
    }

    fn rules_of(f: &[LintFinding]) -> Vec<&str> {
        f.iter().map(|f| f.rule.as_str()).collect()
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
        assert_eq!(rules_of(&f), ["live-token-high-risk-scope"]);
        assert!(f[0].message.contains("`all`") && f[0].message.contains("never expires"));
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
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0]
            .message
            .contains("`gist`: the policy does not allow it"));
        assert!(f[0].message.contains("30-day maximum"));
        assert!(
            f[0].suggestion.contains("at most `repo`"),
            "{}",
            f[0].suggestion
        );
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
        // The calendar is jiff's: leap days exist only in leap years.
        assert_eq!(parse_timestamp("2024-02-29"), Some(1_709_164_800));
        assert!(parse_timestamp("2023-02-29").is_none());
        assert!(parse_timestamp("2026-13-01").is_none());
    }
}
