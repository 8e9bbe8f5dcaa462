//! A finding: one secret found at one place, and what we know about it.
//!
//! The secret itself lives in [`Secret`], whose `Debug`, `Display` and `Serialize` all
//! redact. Code that really needs the value (verify, revoke, `--show-secrets`) must call
//! [`Secret::expose`], so a forgotten `{:?}` in a log line can never leak a token.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;

/// A secret value that refuses to print itself.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The whole secret. Call only where the value must leave the process on purpose:
    /// to its provider's API, or to the user who passed `--show-secrets`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `ghp_Ab…(40 chars)`: enough to recognise a token, too little to use it.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }

    pub fn len(&self) -> usize {
        self.0.chars().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

/// Known token prefixes, longest first, so redaction can keep the prefix readable.
const KNOWN_PREFIXES: &[&str] = &["github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_"];

/// Keeps a known prefix plus two characters (or the first four characters otherwise),
/// then the total length. Short strings keep at most a quarter of their characters.
pub fn redact(value: &str) -> String {
    let total = value.chars().count();
    let prefix_len = KNOWN_PREFIXES
        .iter()
        .find(|p| value.starts_with(*p))
        .map(|p| p.len() + 2)
        .unwrap_or(4);
    let keep = prefix_len.min(total / 4);
    let shown: String = value.chars().take(keep).collect();
    format!("{shown}…({total} chars)")
}

/// A stable identity for a finding that never contains the secret: the first 128 bits
/// of SHA-256 over the rule id and the secret. It survives line moves, renames, rebases
/// and squashes, which is what baselines and SARIF `partialFingerprints` need.
pub fn fingerprint(rule_id: &str, secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(rule_id.as_bytes());
    hasher.update([0u8]);
    hasher.update(secret.as_bytes());
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Where in git history a finding was introduced (filled by `scan --git`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CommitInfo {
    /// The oldest commit in which this blob appears at this path.
    pub commit: String,
    pub author: String,
    pub email: String,
    /// Author date, RFC 3339.
    pub date: String,
    /// The first line of the commit message.
    pub summary: String,
    /// Other commits that carry the same blob (at any path), not counting `commit`.
    pub other_commits: usize,
    /// Other paths at which the same blob appears.
    pub other_paths: usize,
}

/// Why a finding does not count against the exit code.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Suppression {
    /// A `leakscope:allow` comment on the same line.
    InlineAllow,
    /// The fingerprint is in the `--baseline` file.
    Baseline,
}

/// One secret at one place.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Rule id, e.g. `github.classic-pat`.
    pub rule: String,
    pub rule_name: String,
    pub provider: String,
    /// Path relative to the scan root (or as given), `/`-separated; `None` for a
    /// commit message.
    pub path: Option<String>,
    /// The path's bytes in hex, when they are not UTF-8 (`path` then shows U+FFFD in
    /// their place): a file name is never silently changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<String>,
    /// `"file"`, `"blob"`, `"staged"`, `"commit-message"`, `"path"` (a secret in a file
    /// name) or `"author"` (in a commit's author name or email).
    pub location: String,
    /// 1-based line of the secret's first character.
    pub line: usize,
    /// 1-based column, counted in Unicode code points.
    pub column: usize,
    /// 1-based column just past the secret's last character.
    pub end_column: usize,
    pub secret: Secret,
    pub fingerprint: String,
    /// The line, cut to a readable width, with the secret redacted.
    pub snippet: String,
    /// The host of the channel URL the secret sits in (`https://HOST/t/<token>/…`), when
    /// it sits in one: verification sends a `/t/` token only to its provider's hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_host: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<crate::verify::Verdict>,
}

impl Finding {
    pub fn is_suppressed(&self) -> bool {
        self.suppressed.is_some()
    }

    /// Order for reports: path, then position; commit messages last.
    pub fn sort_key(&self) -> (bool, String, usize, usize, String) {
        (
            self.path.is_none(),
            self.path.clone().unwrap_or_default(),
            self.line,
            self.column,
            self.rule.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_prefix_and_length_only() {
        // The public sample from token-facts.md: published by scanners' docs, not live.
        let s = Secret::new("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"); // leakscope:allow (public sample, not live)
        assert_eq!(s.redacted(), "ghp_M7…(40 chars)");
        assert_eq!(format!("{s:?}"), "Secret(ghp_M7…(40 chars))");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"ghp_M7…(40 chars)\"");
        assert_eq!(
            redact("co-143399b8-276e-48db-b43f-4a3de839a024"),
            "co-1…(39 chars)"
        );
        assert_eq!(redact("abc"), "…(3 chars)");
    }

    #[test]
    fn fingerprint_is_stable_and_secret_free() {
        let a = fingerprint("github.classic-pat", "ghp_abc");
        assert_eq!(a, fingerprint("github.classic-pat", "ghp_abc"));
        assert_ne!(a, fingerprint("github.oauth", "ghp_abc"));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("abc"));
    }
}
