//! Verify: ask each token's own provider whether it is live. (Being built: issue 5.)
//! The types here are used by findings and reports; keep their names and meaning.

use crate::finding::Finding;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictStatus {
    Live,
    Invalid,
    Unknown,
}

/// What the provider said about one secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub status: VerdictStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Verdict {
    pub fn is_live(&self) -> bool {
        self.status == VerdictStatus::Live
    }

    /// One line for reports, e.g. `live: octocat, scopes repo, gist, never expires`.
    pub fn describe(&self) -> String {
        let status = match self.status {
            VerdictStatus::Live => "live",
            VerdictStatus::Invalid => "invalid",
            VerdictStatus::Unknown => "unknown",
        };
        let mut parts = vec![status.to_string()];
        if let Some(owner) = &self.owner {
            parts.push(format!("owner {owner}"));
        }
        if let Some(scopes) = &self.scopes {
            parts.push(format!("scopes {}", scopes.join(" ")));
        }
        if let Some(detail) = &self.detail {
            parts.push(detail.clone());
        }
        parts.join(", ")
    }
}

/// When a scan fails the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FailOn {
    /// Any finding that is not suppressed.
    #[default]
    Any,
    /// Only findings verified live.
    Live,
}

/// The scan flags for verification.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct VerifyFlags {
    /// Ask each token's provider whether it is live (network calls to api.github.com /
    /// api.anaconda.org only; off by default).
    #[arg(long)]
    pub verify: bool,
    /// Exit 1 on any finding, or only on live ones (implies --verify).
    #[arg(long, value_enum, default_value_t = FailOn::Any)]
    pub fail_on: FailOn,
}

/// Adds a verdict to each finding, asking once per distinct secret.
pub fn verify_findings(_findings: &mut [Finding], _flags: &VerifyFlags) -> anyhow::Result<()> {
    anyhow::bail!("--verify is not available yet")
}
