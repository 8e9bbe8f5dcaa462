//! The scope facts (`rules/scopes.toml`): every GitHub classic scope and anaconda.org
//! scope, what each contains, which are high risk and what to ask for instead. Kept as
//! data so a reviewer can check them against the providers' docs without reading code;
//! checked at load time so a typo in the data fails loudly instead of silently never
//! matching.

use anyhow::{bail, Context as _};
use serde::Deserialize;
use std::collections::BTreeMap;

pub const BUILTIN: &str = include_str!("../../rules/scopes.toml");

/// A scope that is flagged when requested, with the reason and the alternative.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskyScope {
    pub scope: String,
    pub why: String,
    pub instead: String,
    /// Scopes a suggested request gets in this one's place (never high-risk ones); empty
    /// when the answer is to leave it out or is not a scope (a fine-grained token).
    #[serde(default)]
    pub replace: Vec<String>,
    /// `error` or `warning` (default warning).
    #[serde(default)]
    pub level: Option<String>,
}

impl RiskyScope {
    pub fn severity(&self) -> super::Severity {
        self.level
            .as_deref()
            .and_then(super::Severity::parse)
            .unwrap_or(super::Severity::Warning)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    pub job: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubFacts {
    pub high_risk: Vec<RiskyScope>,
    /// Scope → the scopes it contains.
    pub scopes: BTreeMap<String, Vec<String>>,
    pub jobs: Vec<Job>,
    /// GitHub App permission → what its write level allows.
    pub app_high_risk: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnacondaFacts {
    pub default_expiry_days: u64,
    pub broad: Vec<RiskyScope>,
    pub scopes: BTreeMap<String, Vec<String>>,
    pub jobs: Vec<Job>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeFacts {
    pub github: GithubFacts,
    pub anaconda: AnacondaFacts,
}

impl ScopeFacts {
    /// The embedded `rules/scopes.toml`, parsed and checked.
    pub fn builtin() -> anyhow::Result<ScopeFacts> {
        ScopeFacts::parse(BUILTIN).context("rules/scopes.toml (built in)")
    }

    pub fn parse(text: &str) -> anyhow::Result<ScopeFacts> {
        let facts: ScopeFacts = toml::from_str(text)?;
        facts.validate()?;
        Ok(facts)
    }

    /// Every scope named anywhere must be a known scope; levels must be valid.
    fn validate(&self) -> anyhow::Result<()> {
        let check = |provider: &str,
                     known: &BTreeMap<String, Vec<String>>,
                     risky: &[RiskyScope],
                     jobs: &[Job]|
         -> anyhow::Result<()> {
            for (parent, children) in known {
                for child in children {
                    if !known.contains_key(child) {
                        bail!("{provider}: scope {parent} contains unknown scope {child}");
                    }
                }
            }
            for r in risky {
                if !known.contains_key(&r.scope) {
                    bail!(
                        "{provider}: high-risk scope {} is not a known scope",
                        r.scope
                    );
                }
                for s in &r.replace {
                    if !known.contains_key(s) {
                        bail!("{provider}: {} is replaced by unknown scope {s}", r.scope);
                    }
                    if risky.iter().any(|other| &other.scope == s) {
                        bail!(
                            "{provider}: {} is replaced by {s}, which is itself high risk",
                            r.scope
                        );
                    }
                }
                if let Some(level) = &r.level {
                    if super::Severity::parse(level).is_none() {
                        bail!(
                            "{provider}: scope {}: level {level:?} is not error, warning or note",
                            r.scope
                        );
                    }
                }
            }
            for job in jobs {
                for s in &job.scopes {
                    if !known.contains_key(s) {
                        bail!("{provider}: job {:?} needs unknown scope {s}", job.job);
                    }
                }
            }
            Ok(())
        };
        check(
            "github",
            &self.github.scopes,
            &self.github.high_risk,
            &self.github.jobs,
        )?;
        check(
            "anaconda",
            &self.anaconda.scopes,
            &self.anaconda.broad,
            &self.anaconda.jobs,
        )?;
        if self.anaconda.default_expiry_days == 0 {
            bail!("anaconda: default_expiry_days must be positive");
        }
        Ok(())
    }

    pub fn github_risk(&self, scope: &str) -> Option<&RiskyScope> {
        self.github.high_risk.iter().find(|r| r.scope == scope)
    }

    pub fn anaconda_broad(&self, scope: &str) -> Option<&RiskyScope> {
        self.anaconda.broad.iter().find(|r| r.scope == scope)
    }

    pub fn anaconda_job(&self, needle: &str) -> Option<&Job> {
        self.anaconda.jobs.iter().find(|j| j.job.contains(needle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_scope_facts_load_and_validate() {
        let facts = ScopeFacts::builtin().unwrap();
        for s in [
            "repo",
            "workflow",
            "delete_repo",
            "admin:org",
            "admin:enterprise",
            "admin:repo_hook",
            "admin:org_hook",
            "delete:packages",
            "site_admin",
        ] {
            assert!(facts.github_risk(s).is_some(), "{s} must be high risk");
        }
        assert!(facts.github_risk("public_repo").is_none());
        assert_eq!(facts.github_risk("repo").unwrap().replace, ["public_repo"]);
        assert!(facts.github.scopes["repo"].contains(&"public_repo".to_string()));
        for s in ["all", "api", "conda", "pypi", "repos"] {
            assert!(facts.anaconda_broad(s).is_some(), "{s} is never least");
        }
        assert!(facts.anaconda_broad("conda:download").is_none());
        assert_eq!(facts.anaconda.default_expiry_days, 365);
        assert_eq!(
            facts.anaconda_job("upload").unwrap().scopes,
            vec!["api:read", "api:write"]
        );
        assert_eq!(
            facts.github_risk("delete_repo").unwrap().severity(),
            super::super::Severity::Error
        );
    }

    #[test]
    fn a_typo_in_the_data_is_an_error() {
        let bad = BUILTIN.replace("scope = \"delete_repo\"", "scope = \"delete_repos\"");
        let err = ScopeFacts::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("delete_repos"), "{err}");
        let bad = BUILTIN.replace(
            "scopes = [\"read:packages\"]",
            "scopes = [\"read:package\"]",
        );
        assert!(ScopeFacts::parse(&bad).is_err());
        let bad = BUILTIN.replace("replace = [\"public_repo\"]", "replace = [\"workflow\"]");
        let err = ScopeFacts::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("itself high risk"), "{err}");
    }
}
