//! Redaction of text that is not a finding's own secret: snippets (which may hold a
//! secret found on another line, or one no rule reported there), provider answers
//! (which may echo the token or list others), error messages.
//!
//! One pass, [`Redactor::text`], replaces every secret the run knows (all of them, not
//! only the one a text belongs to) and every bare token of a known, self-checking shape
//! (`ghp_` and the other classic GitHub forms with a valid checksum, `github_pat_`) by
//! its redacted form, and cuts the text to [`MAX_SERVER_TEXT`] characters when asked.

use crate::finding::redact;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;
use std::sync::OnceLock;

/// The most characters of a provider's text kept for a report.
pub const MAX_SERVER_TEXT: usize = 300;

/// Secrets shorter than this are not searched for in free text: they would match
/// ordinary words (no built-in rule finds one that short).
const MIN_SECRET_LEN: usize = 8;

/// Every secret of a run, ready to be searched for in any text.
pub struct Redactor {
    secrets: Vec<String>,
    automaton: Option<AhoCorasick>,
}

impl Redactor {
    pub fn new<I, S>(secrets: I) -> Redactor
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .map(|s| s.as_ref().to_string())
            .filter(|s| s.len() >= MIN_SECRET_LEN)
            .collect();
        secrets.sort();
        secrets.dedup();
        let automaton = if secrets.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&secrets)
                .ok()
        };
        Redactor { secrets, automaton }
    }

    /// `text` with every known secret and every bare token of a known shape redacted.
    pub fn text(&self, text: &str) -> String {
        let known = match &self.automaton {
            Some(ac) => {
                let mut out = String::with_capacity(text.len());
                let mut last = 0;
                for m in ac.find_iter(text) {
                    out.push_str(&text[last..m.start()]);
                    out.push_str(&redact(&self.secrets[m.pattern().as_usize()]));
                    last = m.end();
                }
                out.push_str(&text[last..]);
                out
            }
            None => text.to_string(),
        };
        redact_token_shapes(&known)
    }

    /// [`Redactor::text`], then cut to [`MAX_SERVER_TEXT`] characters: for what a
    /// server said, which may be long and is never ours.
    pub fn server_text(&self, text: &str) -> String {
        let text = self.text(text);
        if text.chars().count() <= MAX_SERVER_TEXT {
            text
        } else {
            let cut: String = text.chars().take(MAX_SERVER_TEXT).collect();
            format!("{cut}…")
        }
    }
}

/// Bare tokens whose shape proves what they are, whatever surrounds them: classic
/// GitHub tokens (checked by their CRC32, so random text is left alone) and
/// fine-grained `github_pat_` tokens.
pub fn redact_token_shapes(text: &str) -> String {
    static SHAPES: OnceLock<Regex> = OnceLock::new();
    let shapes = SHAPES.get_or_init(|| {
        Regex::new(r"gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}")
            .expect("valid regex")
    });
    if !text.contains("gh") {
        return text.to_string();
    }
    shapes
        .replace_all(text, |caps: &regex::Captures<'_>| {
            let token = &caps[0];
            let checked = token.starts_with("github_pat_")
                || crate::validators::github_checksum(&token[4..34]) == token[34..];
            if checked {
                redact(token)
            } else {
                token.to_string()
            }
        })
        .into_owned()
}

/// A redactor for every secret of `findings`.
pub fn for_findings(findings: &[crate::finding::Finding]) -> Redactor {
    Redactor::new(findings.iter().map(|f| f.secret.expose()))
}

/// Redacts every secret an outcome's findings hold from everything else it shows:
/// [`scrub_report`] for its findings, errors and notes, and the paths of what it skipped
/// (file names from the scanned input, like any other path).
pub fn scrub_outcome(outcome: &mut crate::source::ScanOutcome) {
    let r = for_findings(&outcome.findings);
    scrub_report(
        &r,
        &mut outcome.findings,
        &mut outcome.errors,
        &mut outcome.notes,
    );
    for skipped in &mut outcome.skipped {
        skipped.path = r.text(&skipped.path);
    }
}

/// Applies `r` to everything a report shows of the findings and errors that comes from
/// the scanned input: snippets, paths (a file may be named after a token), commit
/// authors, emails and summaries, error paths and messages.
pub fn scrub_report(
    r: &Redactor,
    findings: &mut [crate::finding::Finding],
    errors: &mut [crate::source::ScanError],
    notes: &mut [String],
) {
    for f in findings {
        f.snippet = r.text(&f.snippet);
        if let Some(path) = &mut f.path {
            *path = r.text(path);
        }
        if let Some(c) = &mut f.commit {
            for field in [&mut c.author, &mut c.email, &mut c.summary] {
                *field = r.text(field);
            }
        }
    }
    for e in errors {
        for field in [&mut e.path, &mut e.object].into_iter().flatten() {
            *field = r.text(field);
        }
        e.message = r.text(&e.message);
    }
    for note in notes {
        *note = r.text(note);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made up, never issued: a right-shaped classic token with its checksum.
    fn ghp() -> String {
        let random = "Q9w8E7r6T5y4U3i2O1p0AsDfGhJkLz";
        format!("ghp_{random}{}", crate::validators::github_checksum(random))
    }

    #[test]
    fn every_known_secret_goes_whatever_text_it_is_in() {
        let r = Redactor::new(["co-made-up-secret-value", "tiny"]);
        let out = r.text("Bad credentials for co-made-up-secret-value (and tiny)");
        assert!(!out.contains("co-made-up-secret-value"), "{out}");
        assert!(out.contains("co-m…(23 chars)"), "{out}");
        assert!(
            out.contains("tiny"),
            "short values are not searched for: {out}"
        );
    }

    #[test]
    fn bare_classic_tokens_with_a_checksum_are_redacted() {
        let token = ghp();
        let out = redact_token_shapes(&format!("x{token}y"));
        assert!(!out.contains(&token), "{out}");
        let wrong = format!("ghp_{}000000", "Q9w8E7r6T5y4U3i2O1p0AsDfGhJkLz");
        assert_eq!(
            redact_token_shapes(&wrong),
            wrong,
            "a failed checksum is not a token"
        );
    }

    #[test]
    fn server_text_is_cut() {
        let r = Redactor::new(Vec::<String>::new());
        let long = "a".repeat(1000);
        assert_eq!(r.server_text(&long).chars().count(), MAX_SERVER_TEXT + 1);
    }
}
