//! What a commit says: who, when, its first line (secrets redacted), and which lines of
//! a blob it added (for the staged and range scans).

use crate::finding::{redact, CommitInfo};
use crate::matcher::Matcher;
use git2::{Oid, Repository};
use std::collections::BTreeSet;

/// 1-based line numbers of blob `new` that its diff from blob `old` adds (the `+`
/// lines of `git diff`, with no context).
pub fn added_lines(repo: &Repository, old: Oid, new: Oid) -> Result<BTreeSet<usize>, git2::Error> {
    let old = repo.find_blob(old)?;
    let new = repo.find_blob(new)?;
    let mut options = git2::DiffOptions::new();
    options.context_lines(0).force_text(true);
    let patch = git2::Patch::from_blobs(&old, None, &new, None, Some(&mut options))?;
    let mut added = BTreeSet::new();
    for hunk in 0..patch.num_hunks() {
        for n in 0..patch.num_lines_in_hunk(hunk)? {
            let line = patch.line_in_hunk(hunk, n)?;
            if line.origin() == '+' {
                if let Some(number) = line.new_lineno() {
                    added.insert(number as usize);
                }
            }
        }
    }
    Ok(added)
}

/// The [`CommitInfo`] of a commit (counts zero), or `None` if it cannot be read.
pub fn commit_info(repo: &Repository, matcher: &Matcher, oid: Oid) -> Option<CommitInfo> {
    repo.find_commit(oid)
        .ok()
        .map(|c| commit_info_of(matcher, &c))
}

pub(super) fn commit_info_of(matcher: &Matcher, commit: &git2::Commit<'_>) -> CommitInfo {
    let (author, email, date) = signature_parts(&commit.author());
    CommitInfo {
        commit: commit.id().to_string(),
        author,
        email,
        date,
        summary: redact_secrets(matcher, commit.summary_bytes().unwrap_or_default()),
        other_commits: 0,
        other_paths: 0,
    }
}

/// A message line with every secret in it redacted: summaries are printed in every
/// report, and a token pasted into a subject line must not leak through them.
pub fn redact_secrets(matcher: &Matcher, text: &[u8]) -> String {
    let mut raw = Vec::new();
    matcher.find(text, None, &mut raw);
    let mut out = String::new();
    let mut at = 0;
    for m in raw {
        if m.start < at {
            continue;
        }
        out.push_str(&String::from_utf8_lossy(&text[at..m.start]));
        out.push_str(&redact(&String::from_utf8_lossy(&text[m.start..m.end])));
        at = m.end;
    }
    out.push_str(&String::from_utf8_lossy(&text[at..]));
    out
}

pub(super) fn signature_parts(sig: &git2::Signature<'_>) -> (String, String, String) {
    (
        String::from_utf8_lossy(sig.name_bytes()).into_owned(),
        String::from_utf8_lossy(sig.email_bytes()).into_owned(),
        rfc3339(sig.when().seconds(), sig.when().offset_minutes()),
    )
}

/// `2024-05-06T07:08:09+02:00`: the local time as the author's clock showed it, and
/// the offset, so the instant and the author's time zone both survive. A date or
/// offset outside what RFC 3339 can write (git stores any integer) is shown raw, as git
/// stores it (`@<seconds> <offset in minutes>`), rather than wrapped into a wrong date.
pub fn rfc3339(seconds: i64, offset_minutes: i32) -> String {
    let local = jiff::tz::Offset::from_seconds(offset_minutes.saturating_mul(60))
        .ok()
        .zip(jiff::Timestamp::from_second(seconds).ok())
        .map(|(offset, at)| offset.to_datetime(at))
        .filter(|dt| (0..=9999).contains(&dt.year()));
    let Some(local) = local else {
        return format!("@{seconds} {offset_minutes:+}");
    };
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    format!(
        "{}{sign}{:02}:{:02}",
        local.strftime("%Y-%m-%dT%H:%M:%S"),
        off / 60,
        off % 60
    )
}
