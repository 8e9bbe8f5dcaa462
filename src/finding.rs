//! A finding: one secret found at one place, and what we know about it.
//!
//! The secret itself lives in [`Secret`], whose `Debug`, `Display` and `Serialize` all
//! redact. Code that really needs the value (verify, revoke, `--show-secrets`) must call
//! [`Secret::expose`], so a forgotten `{:?}` in a log line can never leak a token.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;

/// A secret value that refuses to print itself.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

/// Read back from a report: the text as written there, redacted (`ghp_Ab…(40 chars)`)
/// unless the report was made with `--show-secrets`; the fingerprint tells which.
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

impl JsonSchema for Secret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "The secret, redacted (prefix, two characters, length: `ghp_Ab…(40 chars)`) unless the report was made with --show-secrets."
        })
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

/// What kind of place a finding is at. Which other fields a finding carries follows
/// from it: a `path` for files, staged files, blobs and tokens files; commit fields for
/// blobs and commit or tag messages; neither for a token passed as an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Location {
    /// A file of a working tree (or a file named on the command line).
    #[default]
    File,
    /// A file as the index stages it (`scan --staged`): only its added lines.
    Staged,
    /// A git blob at a path in the commit that introduced it (`scan --git`).
    Blob,
    /// A commit message, or an annotated tag's message (`summary` starts `tag NAME:`).
    CommitMessage,
    /// A token given to `verify`/`revoke` with `--token`.
    Argument,
    /// A line of a `--tokens-file`.
    TokensFile,
    /// The name of a file (`path` holds the token): a path is shown in every report.
    Path,
    /// A commit's author name or email (`author`, `email` hold the token).
    Author,
}

impl Location {
    pub fn as_str(self) -> &'static str {
        match self {
            Location::File => "file",
            Location::Staged => "staged",
            Location::Blob => "blob",
            Location::CommitMessage => "commit-message",
            Location::Argument => "argument",
            Location::TokensFile => "tokens-file",
            Location::Path => "path",
            Location::Author => "author",
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in git history a finding was introduced (filled by `scan --git`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
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
    #[serde(default)]
    pub other_commits: usize,
    /// Other paths at which the same blob appears.
    #[serde(default)]
    pub other_paths: usize,
}

/// Why a finding does not count against the exit code.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Suppression {
    /// A `leakscope:allow` comment on the same line.
    InlineAllow,
    /// The fingerprint is in the `--baseline` file.
    Baseline,
    /// An `[[allow]]` entry of leakscope.toml accepts it, for this reason.
    Allowlist { reason: Reason },
}

/// Why an `[[allow]]` entry accepts a finding. Reasons live for the whole run (config
/// entries are read once; keeping them `'static` keeps [`Suppression`] `Copy`), so one
/// read back from a report is kept too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Reason(pub &'static str);

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Reason(Box::leak(text.into_boxed_str())))
    }
}

/// One secret at one place. The same type is written by every report and read back by
/// every reader (`verify --input`, `revoke --input`, `lint --scan-report`), so the
/// schema (`leakscope schema`) is defined once, here.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// The rule that found it: shared with the loaded rule set, so a finding costs one
    /// reference count, not three strings.
    #[serde(flatten)]
    pub rule: RuleRef,
    /// Path relative to the scan root (or as given), `/`-separated; `null` for a
    /// commit message or a token given as an argument.
    #[serde(default)]
    pub path: Option<String>,
    /// The path's bytes in hex, when they are not UTF-8 (`path` then shows U+FFFD in
    /// their place): a file name is never silently changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<String>,
    /// What kind of place `path` (and the commit fields) describe.
    #[serde(default)]
    pub location: Location,
    /// 1-based line of the secret's first character.
    #[serde(default)]
    pub line: usize,
    /// 1-based column, counted in Unicode code points.
    #[serde(default)]
    pub column: usize,
    /// 1-based column just past the secret's last character.
    #[serde(default)]
    pub end_column: usize,
    #[serde(default)]
    pub secret: Secret,
    /// SHA-256 over the rule id and the secret, first 128 bits in hex: stable, secret-free.
    #[serde(default)]
    pub fingerprint: String,
    /// The line, cut to a readable width, with the secret redacted.
    #[serde(default)]
    pub snippet: String,
    /// The host of the channel URL the secret sits in (`https://HOST/t/<token>/…`), when
    /// it sits in one: verification sends a `/t/` token only to its provider's hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_host: Option<String>,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitInfo>,
    /// The git blob the secret was read from (history findings): verify and revoke
    /// read the secret back from it, so a redacted report is enough even once the file
    /// is gone from the working tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<crate::verdict::Verdict>,
    /// How sure the rule is that this is a token: `low` for a bare token with no
    /// context word (shown, but failing a gate only with `--fail-on low`).
    #[serde(default, skip_serializing_if = "Confidence::is_high")]
    pub confidence: Confidence,
    /// How the secret was encoded where it was found (`base64`): the position is that
    /// of the encoded text, the secret and fingerprint those of the decoded token, so
    /// one secret is one incident whether it leaked plain or encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
}

/// Which rule found a secret. Made once per rule when the rule set is loaded
/// ([`crate::rules::Rule::identity`]) and shared by every finding of that rule; a
/// finding read back from a report gets one of its own. Written flat into a finding
/// (`rule`, `rule_name`, `provider`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
#[schemars(inline)]
pub struct RuleRef(Arc<RuleIdentity>);

/// A rule's id, name and provider: what a report says of the rule behind a finding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[schemars(inline)]
pub struct RuleIdentity {
    /// Rule id, e.g. `github.classic-pat`.
    #[serde(rename = "rule")]
    pub id: String,
    #[serde(rename = "rule_name", default)]
    pub name: String,
    #[serde(default)]
    pub provider: String,
}

impl RuleRef {
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        provider: impl Into<String>,
    ) -> Self {
        RuleRef(Arc::new(RuleIdentity {
            id: id.into(),
            name: name.into(),
            provider: provider.into(),
        }))
    }
}

impl std::ops::Deref for RuleRef {
    type Target = RuleIdentity;
    fn deref(&self) -> &RuleIdentity {
        &self.0
    }
}

/// How sure a rule is that its match is a token (`confidence` in the rule file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// A checksum, a fixed prefix or a context word backs the match.
    #[default]
    High,
    /// The token's shape alone (an Anaconda `xx-<uuid v4>` with no context word).
    Low,
}

impl Confidence {
    pub fn is_high(&self) -> bool {
        *self == Confidence::High
    }
}

/// An encoding a secret was read through before the matcher saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// Standard or URL-safe base64 (Kubernetes `data:`, docker `auth`, `Basic`, ...),
    /// possibly nested.
    Base64,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
        }
    }
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
            self.rule.id.clone(),
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
