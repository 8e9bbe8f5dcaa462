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
pub mod actions_table;
pub mod anaconda_scopes;
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
    pub example: &'static str,
    pub fix: &'static str,
}

impl LintDoc {
    /// The text `leakscope lint --explain ID` prints.
    pub fn explain(&self) -> String {
        format!(
            "{id}: {title}\n(default severity: {sev})\n\nWhat it checks\n{checks}\n\nWhy it matters\n{why}\n\nExample\n{example}\n\nFix\n{fix}\n",
            id = self.id,
            title = self.title,
            sev = self.severity.as_str(),
            checks = indent(self.checks.trim(), "  "),
            why = indent(self.why.trim(), "  "),
            example = indent(self.example.trim_matches('\n'), "  "),
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

/// Every lint's documentation, in report order.
pub fn all_docs() -> Vec<&'static LintDoc> {
    let mut docs: Vec<&'static LintDoc> = Vec::new();
    docs.extend(anaconda_scopes::DOCS.iter());
    docs.extend(github_scopes::DOCS.iter());
    docs.extend(actions_permissions::DOCS.iter());
    docs.extend(token_storage::DOCS.iter());
    docs.extend(live_tokens::DOCS.iter());
    docs
}

pub fn doc(id: &str) -> Option<&'static LintDoc> {
    all_docs().into_iter().find(|d| d.id == id)
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
            line_starts,
        }
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
        if text.chars().count() > SNIPPET_WIDTH {
            text = text.chars().take(SNIPPET_WIDTH).collect::<String>() + "…";
        }
        text
    }

    /// Builds a finding at a byte offset. `key` is what makes this finding distinct from
    /// others of the same lint on the same line (a scope name, a permission key).
    #[allow(clippy::too_many_arguments)]
    pub fn finding_at(
        &self,
        doc: &LintDoc,
        severity: Severity,
        offset: usize,
        key: &str,
        message: String,
        suggestion: String,
    ) -> LintFinding {
        let (line, column) = self.position(offset);
        self.finding_at_line(doc, severity, line, column, key, message, suggestion)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn finding_at_line(
        &self,
        doc: &LintDoc,
        severity: Severity,
        line: usize,
        column: usize,
        key: &str,
        message: String,
        suggestion: String,
    ) -> LintFinding {
        self.finding_redacting(doc, severity, line, column, key, message, suggestion, None)
    }

    /// As [`Self::finding_at_line`], also redacting `secret` (a password the token
    /// matcher does not know, e.g. in `.netrc`) in the snippet.
    #[allow(clippy::too_many_arguments)]
    pub fn finding_redacting(
        &self,
        doc: &LintDoc,
        severity: Severity,
        line: usize,
        column: usize,
        key: &str,
        message: String,
        suggestion: String,
        secret: Option<&str>,
    ) -> LintFinding {
        let snippet = self.snippet_redacting(line, secret);
        let fingerprint = lint_fingerprint(doc.id, self.path, &format!("{snippet}\0{key}"));
        let suppressed = self
            .line_text(line)
            .contains("leakscope:allow")
            .then_some(Suppression::InlineAllow);
        LintFinding {
            rule: doc.id.to_string(),
            path: self.path.to_string(),
            line,
            column,
            severity,
            message,
            suggestion,
            fingerprint,
            snippet,
            suppressed,
        }
    }
}

/// What every file lint needs besides the file.
pub struct Context<'a> {
    pub facts: &'a scopes::ScopeFacts,
    pub actions: &'a actions_table::ActionsTable,
    pub policy: &'a policy::Policy,
}

/// Runs every file lint on one file. A file lint that cannot read its input (a workflow
/// that is not valid YAML) returns the reason, which the caller reports as an error.
pub fn lint_file(
    file: &SourceFile<'_>,
    ctx: &Context<'_>,
    out: &mut Vec<LintFinding>,
) -> Result<(), String> {
    anaconda_scopes::check(file, ctx, out);
    github_scopes::check(file, ctx, out);
    token_storage::check(file, ctx, out)?;
    if actions_permissions::is_workflow(file.path, file.text) {
        actions_permissions::check(file, ctx, out)?;
    }
    Ok(())
}

/// Applies the policy's `[lints]` table: drops disabled lints, raises listed ones to
/// error.
pub fn apply_policy(findings: &mut Vec<LintFinding>, policy: &policy::Policy) {
    findings.retain(|f| !policy.disabled.contains(&f.rule));
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
        let docs = all_docs();
        let mut ids: Vec<&str> = docs.iter().map(|d| d.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), docs.len(), "duplicate lint id");
        for d in docs {
            for (what, text) in [
                ("title", d.title),
                ("checks", d.checks),
                ("why", d.why),
                ("example", d.example),
                ("fix", d.fix),
            ] {
                assert!(!text.trim().is_empty(), "{}: empty {what}", d.id);
            }
            assert!(d.explain().contains("Why it matters"));
        }
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
