//! The Markdown job summary `leakscope ci` appends to `$GITHUB_STEP_SUMMARY`.
//!
//! Annotations stop at 10 errors per step on a pull request; the summary shows every
//! incident. One row per secret (fingerprint), not per place: a token committed in
//! three files is one token to revoke. The secret is always redacted here, whatever
//! `--show-secrets` says: job summaries are readable by everyone who can see the run.
//! Every cell is a code span with `|` escaped, so a path from the scanned repository
//! cannot break the table or inject Markdown or HTML.

use crate::finding::Finding;
use crate::report::human::plural;
use crate::report::{short, Report};
use std::fmt::Write as _;

/// Places listed per secret before "and N more".
const PLACES_SHOWN: usize = 5;

/// `text` as a Markdown code span that is safe inside a table cell.
pub fn code(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('|', "\\|");
    let longest_run = clean.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad = if clean.starts_with('`') || clean.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{clean}{pad}{fence}")
}

fn place(f: &Finding) -> String {
    match &f.path {
        Some(path) => code(&format!("{path}:{}", f.line)),
        None => "a commit or tag message".to_string(),
    }
}

/// The summary for one run.
pub fn markdown(report: &Report, event: &str, what: &str) -> String {
    let s = &report.summary;
    let mut groups: Vec<(&str, Vec<&Finding>)> = Vec::new();
    for f in report.active() {
        match groups.iter_mut().find(|(fp, _)| *fp == f.fingerprint) {
            Some((_, places)) => places.push(f),
            None => groups.push((f.fingerprint.as_str(), vec![f])),
        }
    }
    let mut md = String::new();
    if groups.is_empty() {
        let _ = writeln!(md, "### leakscope: no tokens found\n");
    } else {
        let _ = writeln!(
            md,
            "### leakscope: {} found ({})\n",
            plural(groups.len(), "token"),
            plural(s.findings, "place")
        );
    }
    let _ = writeln!(
        md,
        "{event}: scanned {what}: {}, {} ({}).",
        plural(s.stats.commits_scanned as usize, "commit"),
        plural(s.stats.files_scanned as usize, "blob"),
        crate::ui::human_bytes(s.stats.bytes_scanned)
    );
    let suppressed = s.suppressed_inline + s.suppressed_baseline;
    if suppressed > 0 {
        let _ = writeln!(
            md,
            "{suppressed} suppressed ({} by `leakscope:allow`, {} by the baseline).",
            s.suppressed_inline, s.suppressed_baseline
        );
    }
    if let Some(live) = s.live {
        let _ = writeln!(md, "**{live} verified live.**");
    }
    if !groups.is_empty() {
        md.push_str("\n| Token | Rule | Where | Introduced |\n|---|---|---|---|\n");
        for (fingerprint, places) in &groups {
            let first = places[0];
            let mut token = code(&first.secret.redacted());
            if let Some(v) = &first.verdict {
                token.push_str(&format!("<br>{}", code(&v.describe())));
            }
            let mut wheres: Vec<String> =
                places.iter().take(PLACES_SHOWN).map(|f| place(f)).collect();
            if places.len() > PLACES_SHOWN {
                wheres.push(format!("and {} more", places.len() - PLACES_SHOWN));
            }
            let introduced = match &first.commit {
                Some(c) => format!(
                    "{} by {} on {}",
                    code(short(&c.commit)),
                    code(&c.author),
                    code(c.date.get(..10).unwrap_or(&c.date))
                ),
                None => "-".into(),
            };
            let _ = writeln!(
                md,
                "| {token}<br>fingerprint {} | {} | {} | {introduced} |",
                code(fingerprint),
                code(&first.rule.id),
                wheres.join("<br>")
            );
        }
    }
    if s.errors > 0 {
        let _ = writeln!(
            md,
            "\n**{} could not be read** (listed in the log): this scan is incomplete.",
            plural(s.errors, "object")
        );
    }
    if !s.notes.is_empty() {
        md.push_str("\nNotes:\n");
        for note in &s.notes {
            let _ = writeln!(md, "- {}", code(note));
        }
    }
    if !groups.is_empty() {
        md.push_str(
            "\n#### Next steps\n\
             1. **Revoke each token now**, before anything else: it is in the repository's \
             history, and deleting the line does not make it safe. `leakscope verify` tells \
             which are live; `leakscope revoke` revokes them through their provider.\n\
             2. Remove it from the change (rewrite the branch if it was never merged) and give \
             the code its secret from the CI's secret store or the environment instead.\n\
             3. A test fixture or a false positive? Put `leakscope:allow` on its line, or add \
             its fingerprint to the baseline (`--write-baseline`).\n",
        );
    }
    md.push('\n');
    md
}

#[cfg(test)]
mod tests {
    use super::code;

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x`y"), "``x`y``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("line\nbreak<b>"), "`line break<b>`");
    }
}
