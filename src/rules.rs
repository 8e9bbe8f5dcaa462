//! Token rules as data: the TOML format, the built-in files, and loading user files.
//!
//! Rules live in `rules/*.toml` so that adding a token form is a data change with its
//! own examples, not a code change. The built-in files are compiled into the binary;
//! `--rules FILE_OR_DIR` adds the user's. Every rule carries `examples` that must match
//! and `negative_examples` that must not, and `leakscope rules check` runs them.

use crate::shape::Shape;
use crate::validators::Validator;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The built-in token rule files, in load order (earlier rules win a tie on the same span).
pub const BUILTIN_FILES: &[(&str, &str)] = &[
    ("rules/github.toml", include_str!("../rules/github.toml")),
    (
        "rules/anaconda.toml",
        include_str!("../rules/anaconda.toml"),
    ),
];

/// The longest match a rule may produce, and how far a prefilter window reaches from a
/// keyword hit. Bounded so that memory and time per hit stay bounded on minified files.
pub const WINDOW_RADIUS: usize = 4096;

/// Which verifier a rule's tokens go to. The HTTP logic (hosts, paths, headers) lives
/// in [`crate::verify`]; a rule file only names the route, so no URL ever comes from
/// a rule file and a token can only reach its own provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyRoute {
    /// `GET api.github.com/user`: classic, OAuth, user-to-server, fine-grained, legacy.
    GithubUser,
    /// `GET api.github.com/installation/repositories`: `ghs_`, both forms.
    GithubInstallation,
    /// `ghr_`: only the app's token endpoint (with its client secret) could tell.
    GithubRefresh,
    /// `GET api.anaconda.org/user` (+ `/authentication(s)`): anaconda.org tokens.
    AnacondaOrg,
    /// `HEAD repo.anaconda.cloud/t/<T>/…/repodata.json`: organisation repo tokens.
    AnacondaRepo,
    /// `GET anaconda.com/api/account`: anaconda.com API keys (JWT).
    #[serde(rename = "anaconda-com")]
    AnacondaApiKey,
    /// anaconda-auth's keyring blob: the API key inside is checked.
    AnacondaKeyring,
    /// No verifier (a provider we do not know): nothing is sent.
    #[serde(rename = "none")]
    Unsupported,
    /// Issued by a server the finding does not name (a private channel server, GitHub
    /// Enterprise Server, an on-prem Anaconda site): sending it to the public API
    /// would hand it to the wrong host, so nothing is sent.
    ForeignHost,
}

/// What a provider's answer without an expiry means for a rule's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AbsentExpiry {
    /// Nothing can be concluded (the provider does not report expiries for this kind).
    #[default]
    Unknown,
    /// The token never expires (GitHub omits its expiration header for a PAT without one).
    Never,
}

/// A bare token (from `--token`, `--tokens-file`) is recognised by running the rules
/// over it inside this context, for rules that need a context word to match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BareContext {
    #[serde(default)]
    pub before: String,
    #[serde(default)]
    pub after: String,
}

/// The facts about a rule that later stages need, by rule id: which verifier its
/// tokens get, what kind of token it is for a sentence, what a missing expiry means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFacts {
    pub verify: Option<VerifyRoute>,
    pub kind: String,
    pub absent_expiry: AbsentExpiry,
}

static FACTS: std::sync::RwLock<Option<std::collections::HashMap<String, RuleFacts>>> =
    std::sync::RwLock::new(None);

/// The facts of the rule with this id: built-in rules always, user rules once a rule set
/// holding them was loaded. Findings read back from a report carry only the rule id, so
/// the stages after a scan look the rule up here instead of keeping a table of ids.
pub fn facts(id: &str) -> Option<RuleFacts> {
    if let Some(found) = FACTS.read().ok()?.as_ref().and_then(|m| m.get(id)) {
        return Some(found.clone());
    }
    // Not loaded yet in this process: the built-in set answers for built-in ids.
    RuleSet::builtin().ok()?;
    FACTS.read().ok()?.as_ref()?.get(id).cloned()
}

fn remember_facts(rules: &[Rule]) {
    let Ok(mut guard) = FACTS.write() else { return };
    let map = guard.get_or_insert_with(Default::default);
    for rule in rules {
        map.entry(rule.spec.id.clone())
            .or_insert_with(|| RuleFacts {
                verify: rule.spec.verify,
                kind: rule
                    .spec
                    .kind
                    .clone()
                    .unwrap_or_else(|| rule.spec.name.clone()),
                absent_expiry: rule.spec.absent_expiry,
            });
    }
}

/// One `[[rule]]` table, as written in a rule file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub name: String,
    pub provider: String,
    /// Context words, matched ASCII case-insensitively. For a rule with `prefixes` or
    /// `shapes` they must appear in the window around a candidate; for a rule with
    /// neither, the windows open around them (a case-insensitive search of every byte,
    /// the slow path, kept for user rules).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Case-sensitive literals, one of which is in every match (a token's fixed prefix
    /// such as `ghp_`). They open the windows, found with a SIMD literal search.
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// For secrets with no fixed literal: the runs of bytes that can hold them (see
    /// [`Shape`]). They open the windows, like `prefixes`.
    #[serde(default)]
    pub shapes: Vec<Shape>,
    pub regex: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub validator: Option<String>,
    /// Which verifier gets this rule's tokens (`none` or absent: nothing is sent).
    #[serde(default)]
    pub verify: Option<VerifyRoute>,
    /// What kind of token this is, for a sentence (`GitHub classic personal access
    /// token`); the name says where it was found, the kind says what it is.
    #[serde(default)]
    pub kind: Option<String>,
    /// What a live answer without an expiry means for this rule's tokens.
    #[serde(default)]
    pub absent_expiry: AbsentExpiry,
    /// The context a bare token is tried in (rules that need a context word).
    #[serde(default)]
    pub bare_context: Option<BareContext>,
    /// `low` for a rule that matches a token's shape alone: its findings are shown but
    /// fail a gate only with `--fail-on low`.
    #[serde(default)]
    pub confidence: crate::finding::Confidence,
    /// Literals (case-sensitive) whose base64 forms (at each byte alignment) join the
    /// literal search and open a decoding window: a token's own prefix (`ghp_`), or a
    /// context word for a token with none (`ANACONDA_`).
    #[serde(default)]
    pub encoded_keywords: Vec<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub example_path: Option<String>,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleSpec>,
}

/// A rule ready to run.
#[derive(Debug, Clone)]
pub struct Rule {
    pub spec: RuleSpec,
    /// Compiled on first use: most scans (a pre-commit hook above all) never reach most
    /// rules' regexes, and compiling all of them up front costs more than the whole scan
    /// of a small change. The syntax and capture count were checked at load time.
    regex: std::sync::OnceLock<Option<regex::bytes::Regex>>,
    pub path: Option<regex::Regex>,
    pub validator: Option<Validator>,
    /// What its findings say of it, made once and shared by all of them.
    pub identity: crate::finding::RuleRef,
    /// The file the rule came from (`rules/github.toml` for built-ins).
    pub source: String,
}

impl Rule {
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// The compiled regex; `None` only if it passed the syntax check but exceeds the
    /// compiled-size limit, which [`Rule::compile_now`] reports for user rules and the
    /// test suite rules out for built-in ones.
    pub fn regex(&self) -> Option<&regex::bytes::Regex> {
        self.regex
            .get_or_init(|| build_regex(&self.spec.regex).ok())
            .as_ref()
    }

    /// Compiles the regex now, for errors at load time rather than mid-scan.
    pub fn compile_now(&self) -> Result<(), String> {
        let compiled = build_regex(&self.spec.regex);
        let error = compiled.as_ref().err().cloned();
        let _ = self.regex.set(compiled.ok());
        error.map_or(Ok(()), Err)
    }

    /// Whether the rule applies to a file at `path` (`None`: no path, e.g. a commit message).
    pub fn applies_to(&self, path: Option<&str>) -> bool {
        match (&self.path, path) {
            (None, _) => true,
            (Some(re), Some(p)) => re.is_match(p),
            (Some(_), None) => false,
        }
    }
}

/// A rule file that could not be used, with the file and (where known) the rule and line.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{file}: cannot read rule file: {error}")]
    Read { file: String, error: std::io::Error },
    #[error("{file}:{line}: invalid rule file: {message}")]
    Parse {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: rule {id}: {message}")]
    Invalid {
        file: String,
        id: String,
        message: String,
    },
}

/// All rules in load order.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// The rules compiled into the binary.
    pub fn builtin() -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::default();
        for (file, text) in BUILTIN_FILES {
            set.extend(parse_rules(text, file)?)?;
        }
        remember_facts(&set.rules);
        Ok(set)
    }

    /// Built-in rules plus every `*.toml` file named (directories are read, sorted).
    pub fn with_user_rules(extra: &[PathBuf]) -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::builtin()?;
        for path in extra {
            for file in rule_files(path)? {
                let rules = load_rule_file(&file)?;
                for rule in &rules {
                    rule.compile_now().map_err(|message| RuleError::Invalid {
                        file: rule.source.clone(),
                        id: rule.spec.id.clone(),
                        message: format!("bad regex: {message}"),
                    })?;
                }
                set.extend(rules)?;
            }
        }
        remember_facts(&set.rules);
        Ok(set)
    }

    /// The rule with this id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.spec.id == id)
    }

    fn extend(&mut self, rules: Vec<Rule>) -> Result<(), RuleError> {
        // Id -> index, so that many user rules do not cost a scan of all rules each.
        let mut known: std::collections::HashMap<String, usize> = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.spec.id.clone(), i))
            .collect();
        for rule in rules {
            if let Some(existing) = known.get(&rule.spec.id).map(|&i| &self.rules[i]) {
                return Err(RuleError::Invalid {
                    file: rule.source.clone(),
                    id: rule.spec.id.clone(),
                    message: format!("duplicate rule id (already defined in {})", existing.source),
                });
            }
            known.insert(rule.spec.id.clone(), self.rules.len());
            self.rules.push(rule);
        }
        Ok(())
    }
}

/// Contexts a bare token is tried in: none first, then each rule's own, once.
pub fn bare_contexts(rules: &[Rule]) -> Vec<BareContext> {
    let mut out = vec![BareContext {
        before: String::new(),
        after: String::new(),
    }];
    for ctx in rules.iter().filter_map(|r| r.spec.bare_context.as_ref()) {
        if !out.contains(ctx) {
            out.push(ctx.clone());
        }
    }
    out
}

/// `path` itself if it is a file, else the `*.toml` files directly inside it, sorted.
pub fn rule_files(path: &Path) -> Result<Vec<PathBuf>, RuleError> {
    let read_err = |error| RuleError::Read {
        file: path.display().to_string(),
        error,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let p = entry.path();
        if p.extension().is_some_and(|e| e == "toml") && p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

pub fn load_rule_file(path: &Path) -> Result<Vec<Rule>, RuleError> {
    let read_err = |error| RuleError::Read {
        file: path.display().to_string(),
        error,
    };
    // A rule file is read with the same cap as other inputs: `--rules /dev/zero` is
    // an error, not an endless read.
    let mut text = String::new();
    let file = std::fs::File::open(path).map_err(read_err)?;
    std::io::Read::read_to_string(
        &mut crate::input::Limited::new(file, crate::input::MAX_INPUT_BYTES),
        &mut text,
    )
    .map_err(read_err)?;
    parse_rules(&text, &path.display().to_string())
}

/// Parses and compiles one rule file. Checks what can be checked without running
/// examples: ids, regex syntax, exactly one capture group, known validator, keywords,
/// prefixes and shapes.
pub fn parse_rules(text: &str, file: &str) -> Result<Vec<Rule>, RuleError> {
    let parsed: RuleFile = toml::from_str(text).map_err(|e| RuleError::Parse {
        file: file.to_string(),
        line: e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(0),
        message: e.message().to_string(),
    })?;
    if parsed.rule.is_empty() {
        return Err(RuleError::Parse {
            file: file.to_string(),
            line: 1,
            message: "no [[rule]] tables".into(),
        });
    }
    parsed
        .rule
        .into_iter()
        .map(|spec| compile_rule(spec, file))
        .collect()
}

fn compile_rule(spec: RuleSpec, file: &str) -> Result<Rule, RuleError> {
    let invalid = |message: String| RuleError::Invalid {
        file: file.to_string(),
        id: spec.id.clone(),
        message,
    };
    let id_ok = !spec.id.is_empty()
        && spec.id.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'_'
        });
    if !id_ok {
        return Err(invalid("id must be non-empty lowercase [a-z0-9._-]".into()));
    }
    // Parse only (cheap); compiling waits for first use, see `Rule::regex`.
    let hir = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .build()
        .parse(&spec.regex)
        .map_err(|e| invalid(format!("bad regex: {e}")))?;
    let groups = hir.properties().explicit_captures_len();
    if groups != 1 {
        return Err(invalid(format!(
            "regex must have exactly one capture group (the secret), found {groups}"
        )));
    }
    let path = match &spec.path {
        Some(p) => Some(regex::Regex::new(p).map_err(|e| invalid(format!("bad path regex: {e}")))?),
        None => None,
    };
    let triggers =
        !spec.keywords.is_empty() || !spec.prefixes.is_empty() || !spec.shapes.is_empty();
    if !triggers && path.is_none() {
        return Err(invalid(
            "a rule needs keywords, prefixes or shapes (for the prefilter) or a path (to run on whole files)".into(),
        ));
    }
    if spec.keywords.iter().any(|k| k.is_empty()) {
        return Err(invalid("empty keyword".into()));
    }
    if spec.prefixes.iter().any(|k| k.is_empty()) {
        return Err(invalid("empty prefix".into()));
    }
    let validator = match &spec.validator {
        Some(name) => Some(Validator::from_name(name).ok_or_else(|| {
            invalid(format!(
                "unknown validator {name:?} (known: {})",
                Validator::NAMES.join(", ")
            ))
        })?),
        None => None,
    };
    Ok(Rule {
        source: file.to_string(),
        identity: crate::finding::RuleRef::new(&spec.id, &spec.name, &spec.provider),
        spec,
        regex: std::sync::OnceLock::new(),
        path,
        validator,
    })
}

fn build_regex(pattern: &str) -> Result<regex::bytes::Regex, String> {
    regex::bytes::RegexBuilder::new(pattern)
        .size_limit(32 << 20)
        .build()
        .map_err(|e| e.to_string())
}
