//! Token-hygiene lints: requests for broader token scopes than a job needs, workflows
//! whose `GITHUB_TOKEN` can do more than their steps use, tokens stored where tools
//! print them, and live tokens that are over-scoped or never expire.
//!
//! The pipeline mirrors scan's: the same walker ([`crate::source::tree::walk`]) yields
//! files, each file becomes a [`SourceFile`] (its text plus the tokens the scan matcher
//! found in it), every file lint looks at it and pushes [`LintFinding`]s, then the policy
//! ([`policy::Policy`]) turns lints off or raises them, inline allows and baselines mark
//! findings suppressed, and [`report`] prints them. One module per lint family; each
//! carries the [`LintDoc`]s of its lint ids, which `leakscope lint --explain ID` prints.
//! The scope and permission facts are data (`rules/scopes.toml`, `rules/actions.toml`),
//! not code.

pub mod actions_permissions;
pub mod actions_secrets;
pub mod actions_table;
pub mod anaconda_cli;
pub mod anaconda_scopes;
pub mod ci;
pub mod git_remote;
pub mod github_scopes;
pub mod live_tokens;
pub mod policy;
pub mod report;
pub mod scopes;
pub mod shell;
pub mod token_storage;

use crate::finding::{Finding, Suppression};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How bad a lint finding is. Ordered: `Note < Warning < Error`, so `--fail-level`
/// compares with `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; least privilege could be tighter, or a judgement needs a human.
    Note,
    /// Broader or riskier than the job needs: fix it.
    Warning,
    /// Full account access, a token in a file, a live high-risk token: fix it now.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "note" => Some(Severity::Note),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// A sample a lint must flag (a doc's `example`) or must leave alone (its `negative`),
/// with the path it is linted at. `<github-token>` and `<anaconda-token>` stand for
/// literal tokens: the doc-example test puts well-formed, never-issued ones there. For
/// the live-token lints the text is one line of a `scan --verify --format jsonl` report.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub path: &'static str,
    pub text: &'static str,
}

/// The documentation of one lint id: what `--explain` prints and what SARIF's rule
/// descriptors and the README's lint table are made from.
#[derive(Debug, Clone, Copy)]
pub struct LintDoc {
    pub id: &'static str,
    /// One line, for tables and SARIF `shortDescription`.
    pub title: &'static str,
    /// The severity most findings of this lint get (some findings may differ).
    pub severity: Severity,
    pub checks: &'static str,
    pub why: &'static str,
    /// Flagged by this lint (run by the doc-example test, as rule examples are).
    pub example: Example,
    /// Close to the example but fine: not flagged by this lint.
    pub negative: Example,
    pub fix: &'static str,
}

impl LintDoc {
    /// The text `leakscope lint --explain ID` prints.
    pub fn explain(&self) -> String {
        format!(
            "{id}: {title}\n(default severity: {sev})\n\nWhat it checks\n{checks}\n\nWhy it matters\n{why}\n\nExample ({path})\n{example}\n\nNot flagged ({npath})\n{negative}\n\nFix\n{fix}\n",
            id = self.id,
            title = self.title,
            sev = self.severity.as_str(),
            checks = indent(self.checks.trim(), "  "),
            why = indent(self.why.trim(), "  "),
            path = self.example.path,
            example = indent(self.example.text.trim_matches('\n'), "  "),
            npath = self.negative.path,
            negative = indent(self.negative.text.trim_matches('\n'), "  "),
            fix = indent(self.fix.trim(), "  "),
        )
    }
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A lint that judges one text file at a time. One that cannot read its input (a
/// workflow that is not valid YAML) returns the reason, reported as an error.
pub type FileCheck = fn(&SourceFile<'_>, &Context<'_>, &mut Vec<LintFinding>) -> Result<(), String>;

/// What a lint family looks at.
#[derive(Clone, Copy)]
pub enum Judges {
    /// Every text file the walk yields (each check decides for itself which it reads).
    Files(FileCheck),
    /// Tokens their provider confirmed live (`--verify`, `--scan-report`):
    /// [`live_tokens::check`].
    LiveTokens,
}

/// One module's lints: their docs and what runs them.
pub struct Family {
    pub docs: &'static [&'static LintDoc],
    pub judges: Judges,
}

/// Every lint, once, in report order: `--list`, `--explain`, the policy's id check,
/// SARIF's rule list and the per-file run all read this list.
pub static REGISTRY: &[Family] = &[
    Family {
        docs: &anaconda_scopes::DOCS,
        judges: Judges::Files(anaconda_scopes::check),
    },
    Family {
        docs: &anaconda_cli::DOCS,
        judges: Judges::Files(anaconda_cli::check),
    },
    Family {
        docs: &github_scopes::DOCS,
        judges: Judges::Files(github_scopes::check),
    },
    Family {
        docs: &actions_permissions::DOCS,
        judges: Judges::Files(actions_permissions::check),
    },
    Family {
        docs: &actions_secrets::DOCS,
        judges: Judges::Files(actions_secrets::check),
    },
    Family {
        docs: &token_storage::DOCS,
        judges: Judges::Files(token_storage::check),
    },
    Family {
        docs: &git_remote::DOCS,
        judges: Judges::Files(git_remote::check),
    },
    Family {
        docs: &live_tokens::DOCS,
        judges: Judges::LiveTokens,
    },
];

/// Every lint's documentation, in report order.
pub fn all_docs() -> impl Iterator<Item = &'static LintDoc> {
    REGISTRY.iter().flat_map(|f| f.docs.iter().copied())
}

pub fn doc(id: &str) -> Option<&'static LintDoc> {
    all_docs().find(|d| d.id == id)
}

/// One lint finding. Never holds a secret: messages name tokens by their redacted form
/// and snippets have every token the matcher found replaced by its redaction.
#[derive(Debug, Clone, Serialize)]
pub struct LintFinding {
    /// Lint id, e.g. `anaconda-scope-too-broad`.
    pub rule: String,
    pub path: String,
    /// 1-based line of the offending key, flag or value.
    pub line: usize,
    /// 1-based column, in Unicode code points.
    pub column: usize,
    pub severity: Severity,
    pub message: String,
    /// The least-privilege alternative: an exact command, flag or `permissions:` block.
    pub suggestion: String,
    /// Stable across line moves: rule + path + normalized content.
    pub fingerprint: String,
    /// The offending line, trimmed, tokens redacted.
    pub snippet: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
    /// Under a test or fixture directory (relative to the linted root): the policy's
    /// `[lints] skip_test_paths` drops these.
    #[serde(skip)]
    pub test_path: bool,
}

impl LintFinding {
    pub fn is_suppressed(&self) -> bool {
        self.suppressed.is_some()
    }
}

/// Stable identity of a lint finding: the first 128 bits of SHA-256 over the lint id,
/// the path and the content the lint judged (whitespace collapsed), so it survives
/// line moves and re-indentation but not a fix.
pub fn lint_fingerprint(rule: &str, path: &str, content: &str) -> String {
    let normalized: Vec<&str> = content.split_whitespace().collect();
    let mut hasher = Sha256::new();
    for part in [rule, path, &normalized.join(" ")] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Longest snippet kept, in characters.
const SNIPPET_WIDTH: usize = 160;

/// One text file as the file lints see it.
pub struct SourceFile<'a> {
    /// The path as reports show it (`/`-separated, relative as given).
    pub path: &'a str,
    pub text: &'a str,
    /// Tokens the scan matcher found in this file (for storage lints and redaction).
    pub tokens: &'a [Finding],
    /// Under a test or fixture directory, judged on the path relative to the linted
    /// root (so linting `fixtures/x/` does not make everything a test path).
    pub test_path: bool,
    line_starts: Vec<usize>,
}

impl<'a> SourceFile<'a> {
    pub fn new(path: &'a str, text: &'a str, tokens: &'a [Finding]) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        SourceFile {
            path,
            text,
            tokens,
            test_path: ci::is_test_path(path),
            line_starts,
        }
    }

    /// The same file, with its path relative to the linted root given: test paths are
    /// judged on that.
    pub fn relative_to_root(mut self, relative: &str) -> Self {
        self.test_path = ci::is_test_path(relative);
        self
    }

    /// The file name (last path component).
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(self.path)
    }

    /// 1-based line and column (in code points) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_index = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line_index];
        let column = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0);
        (line_index + 1, column + 1)
    }

    /// Byte offset where a 1-based line starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len())
    }

    /// A 1-based line without its end-of-line.
    pub fn line_text(&self, line: usize) -> &'a str {
        let start = self.line_start(line);
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        let text: &'a str = self.text;
        text.get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }

    /// The line, trimmed and cut, with every token found in the file redacted.
    pub fn snippet(&self, line: usize) -> String {
        self.snippet_redacting(line, None)
    }

    /// As [`Self::snippet`], also redacting `secret` (before cutting the line short,
    /// so no part of it survives the cut).
    pub fn snippet_redacting(&self, line: usize, secret: Option<&str>) -> String {
        let mut text = self.line_text(line).trim().to_string();
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            text = text.replace(secret, &crate::finding::redact(secret));
        }
        for token in self.tokens {
            let value = token.secret.expose();
            if !value.is_empty() && text.contains(value) {
                text = text.replace(value, &token.secret.redacted());
            }
        }
        cut(text)
    }

    /// Starts a finding of `doc` at a byte offset of this file.
    pub fn finding_at(&self, doc: &'static LintDoc, offset: usize) -> FindingBuilder<'_> {
        let (line, column) = self.position(offset);
        self.finding_on(doc, line, column)
    }

    /// Starts a finding of `doc` at a 1-based line and column of this file: the snippet
    /// is that line (tokens redacted), an inline `leakscope:allow` on it suppresses the
    /// finding, and a path under a test directory is recorded.
    pub fn finding_on(
        &self,
        doc: &'static LintDoc,
        line: usize,
        column: usize,
    ) -> FindingBuilder<'_> {
        let mut builder = FindingBuilder::new(doc, self.path, line, column, self.snippet(line));
        builder.finding.test_path = self.test_path;
        if self.line_text(line).contains("leakscope:allow") {
            builder.finding.suppressed = Some(Suppression::InlineAllow);
        }
        builder.source = Some(self);
        builder
    }
}

/// Builds one [`LintFinding`]: place and doc up front, then what differs per finding.
/// The severity defaults to the doc's; the fingerprint is the lint id, the path and the
/// finding's identity (its snippet unless [`Self::identity`] says otherwise) plus its
/// [`Self::key`].
pub struct FindingBuilder<'f> {
    finding: LintFinding,
    key: String,
    identity: Option<String>,
    /// The file, for [`Self::redacting`].
    source: Option<&'f SourceFile<'f>>,
}

impl<'f> FindingBuilder<'f> {
    pub fn new(
        doc: &'static LintDoc,
        path: &str,
        line: usize,
        column: usize,
        snippet: String,
    ) -> FindingBuilder<'f> {
        FindingBuilder {
            finding: LintFinding {
                rule: doc.id.to_string(),
                path: path.to_string(),
                line,
                column,
                severity: doc.severity,
                message: String::new(),
                suggestion: String::new(),
                fingerprint: String::new(),
                snippet,
                suppressed: None,
                test_path: false,
            },
            key: String::new(),
            identity: None,
            source: None,
        }
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.finding.severity = severity;
        self
    }

    /// What makes this finding distinct from others of the same lint on the same line
    /// (a scope name, a permission key, a variable).
    pub fn key(mut self, key: impl AsRef<str>) -> Self {
        self.key = key.as_ref().to_string();
        self
    }

    /// What the fingerprint rests on instead of the snippet (a live token's own
    /// fingerprint: the same token is the same finding wherever its line moves).
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = Some(identity.into());
        self
    }

    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.finding.message = message.into();
        self
    }

    pub fn suggestion(mut self, suggestion: impl Into<String>) -> Self {
        self.finding.suggestion = suggestion.into();
        self
    }

    /// Also redacts `secret` (a password the token matcher does not know, e.g. in
    /// `.netrc`) in the snippet, before it is cut short so no part of it survives.
    pub fn redacting(mut self, secret: Option<&str>) -> Self {
        if let Some(source) = self.source {
            self.finding.snippet = source.snippet_redacting(self.finding.line, secret);
        }
        self
    }

    pub fn build(mut self) -> LintFinding {
        let identity = self.identity.as_deref().unwrap_or(&self.finding.snippet);
        self.finding.fingerprint = lint_fingerprint(
            &self.finding.rule,
            &self.finding.path,
            &format!("{identity}\0{}", self.key),
        );
        self.finding
    }
}

/// A snippet cut to [`SNIPPET_WIDTH`] characters.
fn cut(text: String) -> String {
    if text.chars().count() > SNIPPET_WIDTH {
        text.chars().take(SNIPPET_WIDTH).collect::<String>() + "…"
    } else {
        text
    }
}

/// What every file lint needs besides the file.
pub struct Context<'a> {
    pub facts: &'a scopes::ScopeFacts,
    pub actions: &'a actions_table::ActionsTable,
    pub policy: &'a policy::Policy,
    /// Which scripts CI runs and which variables CI fills from secrets.
    pub ci: &'a ci::CiFacts,
}

/// Runs every file lint of the [`REGISTRY`] on one file. Every lint runs even when one
/// fails; the reasons are joined.
pub fn lint_file(
    file: &SourceFile<'_>,
    ctx: &Context<'_>,
    out: &mut Vec<LintFinding>,
) -> Result<(), String> {
    let mut problems = Vec::new();
    for family in REGISTRY {
        if let Judges::Files(check) = family.judges {
            if let Err(reason) = check(file, ctx, out) {
                problems.push(reason);
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Applies the policy's `[lints]` table: drops disabled lints (and, with
/// `skip_test_paths`, findings under test paths), raises listed ones to error.
pub fn apply_policy(findings: &mut Vec<LintFinding>, policy: &policy::Policy) {
    findings.retain(|f| !policy.disabled.contains(&f.rule));
    if policy.skip_test_paths {
        findings.retain(|f| !f.test_path);
    }
    for f in findings.iter_mut() {
        if policy.raised.contains(&f.rule) {
            f.severity = Severity::Error;
        }
    }
}

/// The data files, loaded and checked once per run.
pub struct Data {
    pub facts: scopes::ScopeFacts,
    pub actions: actions_table::ActionsTable,
}

impl Data {
    pub fn builtin() -> anyhow::Result<Data> {
        Ok(Data {
            facts: scopes::ScopeFacts::builtin()?,
            actions: actions_table::ActionsTable::builtin()?,
        })
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// Runs every file lint over `text` at `path` with the built-in data, the default
    /// policy, and the token matcher, as `leakscope lint` does.
    pub fn lint_text(path: &str, text: &str) -> Vec<LintFinding> {
        lint_text_with(path, text, &policy::Policy::default())
    }

    pub fn lint_text_with(path: &str, text: &str, policy: &policy::Policy) -> Vec<LintFinding> {
        lint_with(path, text, policy, &ci::CiFacts::default())
    }

    /// As [`lint_text`], with `path` one of the scripts CI runs.
    pub fn lint_text_in_ci(path: &str, text: &str) -> Vec<LintFinding> {
        let mut ci = ci::CiFacts::default();
        ci.scripts.insert(path.to_string());
        lint_with(path, text, &policy::Policy::default(), &ci)
    }

    pub fn lint_with(
        path: &str,
        text: &str,
        policy: &policy::Policy,
        ci: &ci::CiFacts,
    ) -> Vec<LintFinding> {
        let data = Data::builtin().unwrap();
        let matcher =
            crate::matcher::Matcher::new(crate::rules::RuleSet::builtin().unwrap()).unwrap();
        let tokens = crate::blob::scan_bytes(
            &matcher,
            text.as_bytes(),
            crate::blob::Origin {
                path: Some(path),
                location: crate::finding::Location::File,
            },
        );
        let file = SourceFile::new(path, text, &tokens);
        let ctx = Context {
            facts: &data.facts,
            actions: &data.actions,
            policy,
            ci,
        };
        let mut out = Vec::new();
        lint_file(&file, &ctx, &mut out).unwrap();
        out
    }

    pub fn rules_of(findings: &[LintFinding]) -> Vec<&str> {
        findings.iter().map(|f| f.rule.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lint_id_is_unique_and_documented() {
        let docs: Vec<&LintDoc> = all_docs().collect();
        let mut ids: Vec<&str> = docs.iter().map(|d| d.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), docs.len(), "duplicate lint id");
        for d in docs {
            for (what, text) in [
                ("title", d.title),
                ("checks", d.checks),
                ("why", d.why),
                ("example", d.example.text),
                ("negative example", d.negative.text),
                ("fix", d.fix),
            ] {
                assert!(!text.trim().is_empty(), "{}: empty {what}", d.id);
            }
            assert!(d.explain().contains("Why it matters"));
            assert!(d.explain().contains("Not flagged"));
        }
    }

    /// A doc example with its placeholders filled by well-formed, never-issued tokens.
    fn fill(text: &str) -> String {
        let random = "Zq3LmN8pRt5VwX2yB7cD9eF1gH4jK6";
        let ghp = format!("ghp_{random}{}", crate::validators::github_checksum(random));
        text.replace("<github-token>", &ghp).replace(
            "<anaconda-token>",
            "zz-5b0c8f0e-9d3a-4c1e-8f7b-2a6d4e9c1b30",
        )
    }

    /// The lint ids one doc sample raises, through the same path as `leakscope lint`
    /// (or `lint --scan-report` for the live-token lints).
    fn sample_ids(family: &Family, sample: &Example) -> Vec<String> {
        let text = fill(sample.text);
        let findings = match family.judges {
            Judges::Files(_) => test_support::lint_text(sample.path, &text),
            Judges::LiveTokens => {
                let tokens: Vec<live_tokens::LiveToken> = text
                    .lines()
                    .map(|l| {
                        let value: serde_json::Value = serde_json::from_str(l).unwrap();
                        live_tokens::LiveToken::from_report_json(&value).unwrap()
                    })
                    .collect();
                let facts = scopes::ScopeFacts::builtin().unwrap();
                live_tokens::check(
                    &tokens,
                    &facts,
                    &policy::Policy::default(),
                    live_tokens::now(),
                )
            }
        };
        findings.into_iter().map(|f| f.rule).collect()
    }

    /// Every lint's doc example is flagged by that lint and its negative example is
    /// not, as every token rule's examples are run by `rules check`.
    #[test]
    fn every_doc_example_and_negative_behave_as_documented() {
        let mut failures = Vec::new();
        for family in REGISTRY {
            for doc in family.docs {
                let found = sample_ids(family, &doc.example);
                if !found.iter().any(|id| id == doc.id) {
                    failures.push(format!("{}: example not flagged (found {found:?})", doc.id));
                }
                let found = sample_ids(family, &doc.negative);
                if found.iter().any(|id| id == doc.id) {
                    failures.push(format!("{}: negative example flagged", doc.id));
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn positions_are_one_based_code_points() {
        let text = "ab\nçd x\n";
        let file = SourceFile::new("f", text, &[]);
        assert_eq!(file.position(0), (1, 1));
        let x = text.find('x').unwrap();
        assert_eq!(file.position(x), (2, 4));
        assert_eq!(file.line_text(2), "çd x");
    }

    #[test]
    fn fingerprints_ignore_whitespace_but_not_content() {
        let a = lint_fingerprint("r", "p", "gh auth login  -s repo");
        assert_eq!(a, lint_fingerprint("r", "p", "  gh auth login -s repo"));
        assert_ne!(
            a,
            lint_fingerprint("r", "p", "gh auth login -s public_repo")
        );
        assert_ne!(a, lint_fingerprint("r", "q", "gh auth login -s repo"));
    }

    #[test]
    fn severities_order_for_fail_level() {
        assert!(Severity::Error > Severity::Warning);
        assert!(Severity::Warning > Severity::Note);
        assert_eq!(Severity::parse("warning"), Some(Severity::Warning));
    }
}
