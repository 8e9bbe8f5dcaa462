//! The lint policy: lint's tables of `leakscope.toml` (found as [`crate::config`] says,
//! or `--config FILE`):
//!
//! ```toml
//! [scopes]                     # scopes a token request may ask for; others are errors
//! github = ["public_repo", "read:org"]
//! anaconda = ["conda:download", "api:read", "api:write"]
//!
//! [tokens]
//! max_lifetime_days = 90       # default 365, the anaconda.org default expiry
//!
//! [lints]
//! disable = ["actions-missing-permissions"]
//! error = ["token-echoed-in-ci"]   # raise to error
//! skip_test_paths = true       # drop findings under test/, tests/, fixtures/, testdata/ ...
//!
//! [paths]
//! exclude = ["docs/archive/**"]
//! ```
//!
//! A bad policy is an error naming the file, the line and the reason (exit 2): a
//! policy that silently failed to apply would be worse than none.

use anyhow::anyhow;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::PathBuf;
use toml::Spanned;

use crate::config::line_col;
pub use crate::config::FILE_NAME;
pub const DEFAULT_MAX_LIFETIME_DAYS: u64 = 365;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Where it came from (None = defaults).
    pub source: Option<PathBuf>,
    /// Allowed GitHub scopes; `None` = judge by the built-in high-risk list.
    pub github_scopes: Option<BTreeSet<String>>,
    pub anaconda_scopes: Option<BTreeSet<String>>,
    pub max_lifetime_days: u64,
    pub disabled: BTreeSet<String>,
    pub raised: BTreeSet<String>,
    /// `[lints] skip_test_paths = true`: drop findings under test and fixture paths.
    pub skip_test_paths: bool,
    pub exclude: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            source: None,
            github_scopes: None,
            anaconda_scopes: None,
            max_lifetime_days: DEFAULT_MAX_LIFETIME_DAYS,
            disabled: BTreeSet::new(),
            raised: BTreeSet::new(),
            skip_test_paths: false,
            exclude: Vec::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    scopes: RawScopes,
    #[serde(default)]
    tokens: RawTokens,
    #[serde(default)]
    lints: RawLints,
    #[serde(default)]
    paths: RawPaths,
    // Scan's tables of the same file: read and checked by crate::config.
    #[serde(default, rename = "scan")]
    _scan: serde::de::IgnoredAny,
    #[serde(default, rename = "allow")]
    _allow: serde::de::IgnoredAny,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScopes {
    github: Option<Vec<Spanned<String>>>,
    anaconda: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTokens {
    max_lifetime_days: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLints {
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    #[serde(default)]
    error: Vec<Spanned<String>>,
    #[serde(default)]
    skip_test_paths: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPaths {
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
}

impl Policy {
    /// Parses policy text; `name` is used in error messages (`FILE:LINE:COL: reason`).
    pub fn parse(
        text: &str,
        name: &str,
        facts: &super::scopes::ScopeFacts,
    ) -> anyhow::Result<Policy> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            anyhow!("{name}:{line}:{col}: {}", e.message().trim())
        })?;
        let at = |span: std::ops::Range<usize>, reason: String| {
            let (line, col) = line_col(text, span.start);
            anyhow!("{name}:{line}:{col}: {reason}")
        };
        let scopes = |list: Option<Vec<Spanned<String>>>,
                      known: &std::collections::BTreeMap<String, Vec<String>>,
                      provider: &str|
         -> anyhow::Result<Option<BTreeSet<String>>> {
            let Some(list) = list else { return Ok(None) };
            let mut out = BTreeSet::new();
            for s in list {
                if !known.contains_key(s.get_ref()) {
                    return Err(at(
                        s.span(),
                        format!("unknown {provider} scope {:?}", s.get_ref()),
                    ));
                }
                out.insert(s.into_inner());
            }
            Ok(Some(out))
        };
        let github_scopes = scopes(raw.scopes.github, &facts.github.scopes, "GitHub")?;
        let anaconda_scopes = scopes(raw.scopes.anaconda, &facts.anaconda.scopes, "anaconda.org")?;
        let max_lifetime_days = match raw.tokens.max_lifetime_days {
            None => DEFAULT_MAX_LIFETIME_DAYS,
            Some(days) if *days.get_ref() > 0 => *days.get_ref() as u64,
            Some(days) => {
                return Err(at(
                    days.span(),
                    format!(
                        "max_lifetime_days must be a positive number of days, not {}",
                        days.get_ref()
                    ),
                ))
            }
        };
        let ids: Vec<&str> = super::all_docs().map(|d| d.id).collect();
        let lint_ids =
            |list: Vec<Spanned<String>>, key: &str| -> anyhow::Result<BTreeSet<String>> {
                let mut out = BTreeSet::new();
                for id in list {
                    if !ids.contains(&id.get_ref().as_str()) {
                        return Err(at(
                            id.span(),
                            format!(
                                "lints.{key}: unknown lint id {:?} (see `leakscope lint --list`)",
                                id.get_ref()
                            ),
                        ));
                    }
                    out.insert(id.into_inner());
                }
                Ok(out)
            };
        let file = crate::config::ConfigFile {
            path: PathBuf::from(name),
            name: name.to_string(),
            text: text.to_string(),
        };
        for glob in &raw.paths.exclude {
            crate::config::check_glob(&file, "paths.exclude", glob)?;
        }
        let disabled = lint_ids(raw.lints.disable, "disable")?;
        let raised = lint_ids(raw.lints.error, "error")?;
        Ok(Policy {
            source: Some(PathBuf::from(name)),
            github_scopes,
            anaconda_scopes,
            max_lifetime_days,
            disabled,
            raised,
            skip_test_paths: raw.lints.skip_test_paths,
            exclude: raw
                .paths
                .exclude
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
        })
    }

    /// The policy of a config file (see [`crate::config`]), or the defaults without one.
    pub fn from_config(
        file: Option<&crate::config::ConfigFile>,
        facts: &super::scopes::ScopeFacts,
    ) -> anyhow::Result<Policy> {
        match file {
            Some(file) => Policy::parse(&file.text, &file.name, facts),
            None => Ok(Policy::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> super::super::scopes::ScopeFacts {
        super::super::scopes::ScopeFacts::builtin().unwrap()
    }

    #[test]
    fn a_full_policy_parses() {
        let text = r#"
[scopes]
github = ["public_repo", "read:org"]
anaconda = ["conda:download"]

[tokens]
max_lifetime_days = 90

[lints]
disable = ["actions-missing-permissions"]
error = ["token-echoed-in-ci"]

[paths]
exclude = ["docs/archive/**"]
"#;
        let p = Policy::parse(text, "leakscope.toml", &facts()).unwrap();
        assert_eq!(p.max_lifetime_days, 90);
        assert!(p.github_scopes.unwrap().contains("read:org"));
        assert!(p.disabled.contains("actions-missing-permissions"));
        assert!(p.raised.contains("token-echoed-in-ci"));
        assert_eq!(p.exclude, vec!["docs/archive/**"]);
        let empty = Policy::parse("", "x", &facts()).unwrap();
        assert_eq!(empty.max_lifetime_days, 365);
        assert!(empty.github_scopes.is_none());
    }

    #[test]
    fn errors_name_the_file_line_and_reason() {
        let err = Policy::parse(
            "[lints]\ndisable = [\"no-such-lint\"]\n",
            "p.toml",
            &facts(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("p.toml:2:"), "{err}");
        assert!(err.contains("no-such-lint"), "{err}");

        let err = Policy::parse(
            "[scopes]\ngithub = [\n  \"repo\",\n  \"repos\"]\n",
            "p.toml",
            &facts(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("p.toml:4:3:"), "{err}");
        assert!(err.contains("unknown GitHub scope \"repos\""), "{err}");

        let err = Policy::parse("[tokens]\nmax_lifetime_days = -5\n", "p.toml", &facts())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.toml:2:"), "{err}");

        let err = Policy::parse("[token]\nmax = 1\n", "p.toml", &facts())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.toml:1:"), "{err}");
        assert!(err.contains("unknown field"), "{err}");

        let err = Policy::parse("[tokens\n", "p.toml", &facts())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.toml:1:"), "{err}");
    }
}
