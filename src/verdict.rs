//! A verdict: what a token's provider said about it (live, invalid, unknown; whose it
//! is, what it can do, when it expires). It lives beside the finding it qualifies, not
//! in [`crate::verify`], so reading a report needs no network code.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VerdictStatus {
    Live,
    Invalid,
    Unknown,
}

impl VerdictStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictStatus::Live => "live",
            VerdictStatus::Invalid => "invalid",
            VerdictStatus::Unknown => "unknown",
        }
    }
}

/// What the provider said about one secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    pub status: VerdictStatus,
    /// The owner's login (GitHub, anaconda.org) or e-mail (anaconda.com).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// `None`: the provider did not say (e.g. fine-grained PATs, scoped anaconda.org
    /// tokens); `Some([])`: it said "no scopes".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The HTTP status of the answer the verdict rests on (none if nothing was sent or
    /// no answer came).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

impl Verdict {
    pub fn new(status: VerdictStatus) -> Verdict {
        Verdict {
            status,
            owner: None,
            token_type: None,
            scopes: None,
            expires_at: None,
            name: None,
            detail: None,
            http_status: None,
        }
    }

    pub fn unknown(detail: impl Into<String>) -> Verdict {
        Verdict::new(VerdictStatus::Unknown).with_detail(detail)
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Verdict {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_status(mut self, status: u16) -> Verdict {
        self.http_status = Some(status);
        self
    }

    pub fn is_live(&self) -> bool {
        self.status == VerdictStatus::Live
    }

    /// One line for reports, e.g. `live: octocat, scopes repo, gist, never expires`.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.status.as_str().to_string()];
        if let Some(owner) = &self.owner {
            parts.push(format!("owner {owner}"));
        }
        if let Some(kind) = &self.token_type {
            parts.push(kind.clone());
        }
        if let Some(name) = &self.name {
            parts.push(format!("name {name:?}"));
        }
        if let Some(scopes) = &self.scopes {
            if scopes.is_empty() {
                parts.push("no scopes".into());
            } else {
                parts.push(format!("scopes {}", scopes.join(" ")));
            }
        }
        if let Some(expires) = &self.expires_at {
            parts.push(format!("expires {expires}"));
        }
        if let Some(detail) = &self.detail {
            parts.push(detail.clone());
        }
        parts.join(", ")
    }
}
