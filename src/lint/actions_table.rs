//! The Actions permissions table (`rules/actions.toml`): the minimum `GITHUB_TOKEN`
//! permissions common actions and `run:` commands need. Data, so that adding an action
//! is a reviewable two-line change, and checked at load time (known permission keys,
//! levels `read`/`write`/`none`, valid regexes).

use anyhow::{bail, Context as _};
use serde::Deserialize;
use std::collections::BTreeMap;

pub const BUILTIN: &str = include_str!("../../rules/actions.toml");

/// The permission keys a workflow `permissions:` block may set.
pub const PERMISSION_KEYS: &[&str] = &[
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "id-token",
    "issues",
    "models",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
];

/// A permission level; ordered so the larger need wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    None,
    Read,
    Write,
}

impl Level {
    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "none" => Some(Level::None),
            "read" => Some(Level::Read),
            "write" => Some(Level::Write),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Read => "read",
            Level::Write => "write",
        }
    }
}

/// Permission key → level. Keys left out are `none`.
pub type Permissions = BTreeMap<String, Level>;

/// What the table says about one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// The step needs exactly these permissions (possibly none).
    Known(Permissions),
    /// The table cannot judge this step.
    Unknown(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    uses: String,
    #[serde(default)]
    with_contains: BTreeMap<String, String>,
    #[serde(default)]
    permissions: Option<BTreeMap<String, String>>,
    #[serde(default)]
    judgement: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommand {
    name: String,
    regex: String,
    #[serde(default)]
    permissions: Option<BTreeMap<String, String>>,
    #[serde(default)]
    judgement: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    action: Vec<RawAction>,
    command: Vec<RawCommand>,
}

#[derive(Debug, Clone)]
pub struct ActionEntry {
    /// `owner/repo[/path]`, or a prefix ending in `*`.
    pub uses: String,
    pub with_contains: BTreeMap<String, String>,
    /// `None` = judgement "unknown".
    pub permissions: Option<Permissions>,
}

#[derive(Debug, Clone)]
pub struct CommandEntry {
    pub name: String,
    pub regex: regex::Regex,
    pub permissions: Option<Permissions>,
}

#[derive(Debug, Clone)]
pub struct ActionsTable {
    pub actions: Vec<ActionEntry>,
    pub commands: Vec<CommandEntry>,
}

fn parse_permissions(
    what: &str,
    permissions: Option<BTreeMap<String, String>>,
    judgement: Option<String>,
) -> anyhow::Result<Option<Permissions>> {
    match (permissions, judgement.as_deref()) {
        (Some(_), Some(_)) => bail!("{what}: give `permissions` or `judgement`, not both"),
        (None, Some("unknown")) => Ok(None),
        (None, Some(other)) => bail!("{what}: judgement {other:?} is not \"unknown\""),
        (None, None) => bail!("{what}: needs `permissions` (use {{}} for none) or `judgement`"),
        (Some(map), None) => {
            let mut out = Permissions::new();
            for (key, level) in map {
                if !PERMISSION_KEYS.contains(&key.as_str()) {
                    bail!("{what}: unknown permission key {key:?}");
                }
                let Some(level) = Level::parse(&level) else {
                    bail!("{what}: {key}: level {level:?} is not read, write or none");
                };
                out.insert(key, level);
            }
            Ok(Some(out))
        }
    }
}

impl ActionsTable {
    pub fn builtin() -> anyhow::Result<ActionsTable> {
        ActionsTable::parse(BUILTIN).context("rules/actions.toml (built in)")
    }

    pub fn parse(text: &str) -> anyhow::Result<ActionsTable> {
        let raw: RawTable = toml::from_str(text)?;
        let mut actions = Vec::new();
        for a in raw.action {
            let what = format!("action {}", a.uses);
            if a.uses.contains('@') || a.uses.is_empty() {
                bail!("{what}: give the action without @ref");
            }
            if a.uses.contains('*') && !a.uses.ends_with('*') {
                bail!("{what}: `*` may only end the pattern");
            }
            actions.push(ActionEntry {
                permissions: parse_permissions(&what, a.permissions, a.judgement)?,
                uses: a.uses,
                with_contains: a.with_contains,
            });
        }
        let mut commands = Vec::new();
        for c in raw.command {
            let what = format!("command {}", c.name);
            let regex =
                regex::Regex::new(&c.regex).with_context(|| format!("{what}: bad regex"))?;
            commands.push(CommandEntry {
                permissions: parse_permissions(&what, c.permissions, c.judgement)?,
                name: c.name,
                regex,
            });
        }
        Ok(ActionsTable { actions, commands })
    }

    /// What a `uses:` step needs. `with` gives the step's inputs (for conditional
    /// entries such as docker/login-action to ghcr.io).
    pub fn action_need(&self, uses: &str, with: &BTreeMap<String, String>) -> Need {
        let name = uses.split('@').next().unwrap_or(uses).trim();
        if name.starts_with("./") || name.starts_with("docker://") {
            return Need::Unknown(format!("`{name}` is a local or container action"));
        }
        let name_lower = name.to_ascii_lowercase();
        for entry in &self.actions {
            let matches = match entry.uses.strip_suffix('*') {
                Some(prefix) => name_lower.starts_with(&prefix.to_ascii_lowercase()),
                None => name_lower == entry.uses.to_ascii_lowercase(),
            };
            if !matches {
                continue;
            }
            let conditions_hold = entry.with_contains.iter().all(|(k, v)| {
                with.get(k)
                    .is_some_and(|actual| actual.contains(v.as_str()))
            });
            if !conditions_hold {
                continue;
            }
            return match &entry.permissions {
                Some(p) => Need::Known(p.clone()),
                None => Need::Unknown(format!("`{name}` needs whatever its script does")),
            };
        }
        Need::Unknown(format!("`{name}` is not in the actions table"))
    }

    /// What a `run:` script needs: the union of its known commands. Unknown when it runs
    /// a command the table marks unknown, an unlisted `gh` command, a repository script
    /// leakscope cannot read (`./ci/publish.sh` may well `git push`), or uses the token
    /// (in the script, or handed to it through `env:` when `token_in_env`) without
    /// running any listed command.
    pub fn script_need(&self, script: &str, token_in_env: bool) -> Need {
        let mut need = Permissions::new();
        let mut matched_any = false;
        for line in script.lines() {
            let mut matched_line = false;
            for cmd in &self.commands {
                if cmd.regex.is_match(line) {
                    matched_line = true;
                    match &cmd.permissions {
                        Some(p) => merge(&mut need, p),
                        None => {
                            return Need::Unknown(format!(
                                "`{}` needs what it is asked to do",
                                cmd.name
                            ))
                        }
                    }
                }
            }
            matched_any |= matched_line;
            if !matched_line && GH_COMMAND.is_match(line) {
                return Need::Unknown("a `gh` command that is not in the actions table".into());
            }
            if let Some(m) = LOCAL_SCRIPT.find(line) {
                return Need::Unknown(format!(
                    "runs `{}`, a script leakscope cannot read",
                    m.as_str().trim_start_matches([' ', ';', '&', '|', '('])
                ));
            }
        }
        if !matched_any && (token_in_env || TOKEN_MENTION.is_match(script)) {
            return Need::Unknown(
                "the step uses the token for something the table does not list".into(),
            );
        }
        Need::Known(need)
    }
}

/// Running a script file from the repository: `./x`, `../x`, `bash x.sh`, `python x.py`,
/// `node x.js`, or a path ending in a script extension.
static LOCAL_SCRIPT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"(?:(?:^|[;&|(])\s*(?:\.{1,2}/[\w.\-/]+|[\w.\-]+(?:/[\w.\-]+)+\.(?:sh|py|m?js|ps1|rb|pl)\b)|(?:^|[\s;&|(])(?:(?:ba|z|da)?sh\s+[\w.\-/]+\.sh\b|(?:python3?|node|ruby|perl|pwsh|powershell)\s+[\w.\-/]+\.(?:py|m?js|rb|pl|ps1)\b))",
    )
    .unwrap()
});

/// A workflow, job or step `env:` value that hands the token over.
pub static TOKEN_EXPRESSION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"secrets\.GITHUB_TOKEN\b|github\.token\b").unwrap()
});

static GH_COMMAND: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"(?:^|[\s;&|(`])gh\s+[a-z]").unwrap());
static TOKEN_MENTION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)\bGITHUB_TOKEN\b|\bGH_TOKEN\b|github\.token\b").unwrap()
});

/// Adds `more` to `need`, keeping the larger level per key.
pub fn merge(need: &mut Permissions, more: &Permissions) {
    for (k, v) in more {
        let entry = need.entry(k.clone()).or_insert(Level::None);
        if *v > *entry {
            *entry = *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(pairs: &[(&str, Level)]) -> Need {
        Need::Known(pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect())
    }

    #[test]
    fn builtin_actions_table_loads_and_answers() {
        let t = ActionsTable::builtin().unwrap();
        let none = BTreeMap::new();
        assert_eq!(
            t.action_need("actions/checkout@v4", &none),
            perms(&[("contents", Level::Read)])
        );
        assert_eq!(t.action_need("actions/setup-python@v5", &none), perms(&[]));
        assert_eq!(
            t.action_need("actions/deploy-pages@v4", &none),
            perms(&[("id-token", Level::Write), ("pages", Level::Write)])
        );
        let ghcr: BTreeMap<String, String> =
            [("registry".to_string(), "ghcr.io".to_string())].into();
        assert_eq!(
            t.action_need("docker/login-action@v3", &ghcr),
            perms(&[("packages", Level::Write)])
        );
        assert_eq!(t.action_need("docker/login-action@v3", &none), perms(&[]));
        assert!(matches!(
            t.action_need("actions/github-script@v7", &none),
            Need::Unknown(_)
        ));
        assert!(matches!(
            t.action_need("acme/unknown@v1", &none),
            Need::Unknown(_)
        ));
        assert!(matches!(
            t.action_need("./.github/actions/x", &none),
            Need::Unknown(_)
        ));
        assert_eq!(
            t.action_need("github/codeql-action/upload-sarif@v3", &none),
            perms(&[("security-events", Level::Write)])
        );
    }

    #[test]
    fn scripts_are_judged_by_their_commands() {
        let t = ActionsTable::builtin().unwrap();
        assert_eq!(t.script_need("make test\npytest -q", false), perms(&[]));
        assert_eq!(
            t.script_need("gh release create v1 dist/*", true),
            perms(&[("contents", Level::Write)])
        );
        assert_eq!(
            t.script_need("docker push ghcr.io/acme/app:1", false),
            perms(&[("packages", Level::Write)])
        );
        assert!(matches!(
            t.script_need("gh pr comment 1 -b hi", false),
            Need::Unknown(_)
        ));
        for script in [
            "./ci/publish.sh",
            "bash scripts/release.sh --tag v1",
            "cd docs && python tools/deploy.py",
            "script/api-docs/api-generator.js --validate-only",
        ] {
            assert!(
                matches!(t.script_need(script, false), Need::Unknown(_)),
                "{script}"
            );
        }
        assert!(matches!(
            t.script_need("npx semantic-release", true),
            Need::Unknown(_)
        ));
        assert_eq!(
            t.script_need("pip install -e .[test] && pytest ./tests", false),
            perms(&[])
        );
        assert!(matches!(
            t.script_need("gh workflow run x", false),
            Need::Unknown(_)
        ));
        assert!(matches!(
            t.script_need(
                "curl -H \"Authorization: Bearer $GITHUB_TOKEN\" https://api.github.com/x",
                false
            ),
            Need::Unknown(_)
        ));
    }

    #[test]
    fn a_bad_table_is_an_error() {
        let bad = BUILTIN.replace(
            "permissions = { contents = \"read\" }",
            "permissions = { content = \"read\" }",
        );
        let err = ActionsTable::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("content"), "{err}");
        let bad = BUILTIN.replace("pages = \"write\"", "pages = \"admin\"");
        assert!(ActionsTable::parse(&bad).is_err());
    }
}
