//! From bytes to findings: run the matcher over one blob (a file, a git blob, a staged
//! file, a commit message) and give each secret its line, column, snippet and fingerprint.
//!
//! Large inputs are read in fixed-size chunks with an overlap, so memory per worker is
//! bounded whatever the file size, and no secret is split or reported twice at a seam.

use crate::finding::{fingerprint, redact, Finding, Secret, Suppression};
use crate::matcher::{Matcher, RawMatch};
use crate::rules::WINDOW_RADIUS;
use std::io::Read;

/// The marker that suppresses a finding on its own line.
pub const INLINE_ALLOW: &[u8] = b"leakscope:allow";

/// Bytes read per chunk when streaming a file.
pub const CHUNK_SIZE: usize = 8 << 20;
/// Bytes carried from one chunk to the next: a full window on each side of a keyword.
const OVERLAP: usize = 4 * WINDOW_RADIUS;
/// How far into a file we look for a NUL byte to call it binary.
const BINARY_PROBE: usize = 8 << 10;
/// Longest snippet we print, in characters.
const SNIPPET_WIDTH: usize = 160;

/// Where the bytes came from, for the findings made from them.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// Path used for reports and for path-restricted rules.
    pub path: Option<&'a str>,
    /// `"file"`, `"blob"`, `"staged"` or `"commit-message"`.
    pub location: &'static str,
}

/// True if the start of the content holds a NUL byte, the way git and ripgrep decide.
pub fn looks_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(BINARY_PROBE)]).is_some()
}

/// Finds every secret in an in-memory blob.
pub fn scan_bytes(matcher: &Matcher, bytes: &[u8], origin: Origin<'_>) -> Vec<Finding> {
    let mut raw = Vec::new();
    matcher.find(bytes, origin.path, &mut raw);
    let mut findings = Vec::with_capacity(raw.len());
    let mut lines = LineCounter::default();
    for m in &raw {
        findings.push(make_finding(matcher, bytes, m, &mut lines, 0, origin));
    }
    findings
}

/// What streaming one reader gave.
#[derive(Debug, Default)]
pub struct StreamScan {
    pub findings: Vec<Finding>,
    pub bytes: u64,
    /// The content looked binary and was not scanned.
    pub binary: bool,
}

/// Scans a reader chunk by chunk, reusing `buffer` (callers keep one per thread).
pub fn scan_reader(
    matcher: &Matcher,
    reader: &mut dyn Read,
    origin: Origin<'_>,
    buffer: &mut Vec<u8>,
) -> std::io::Result<StreamScan> {
    let mut result = StreamScan::default();
    let mut raw = Vec::new();
    buffer.clear();
    // Absolute line number of buffer[0], minus one.
    let mut base_line = 0usize;
    let mut first_chunk = true;
    loop {
        let filled_before = buffer.len();
        let eof = fill(reader, buffer, CHUNK_SIZE + filled_before)?;
        result.bytes += (buffer.len() - filled_before) as u64;
        if first_chunk {
            first_chunk = false;
            if looks_binary(buffer) {
                result.binary = true;
                return Ok(result);
            }
        }
        // Matches starting in the carried tail are left for the next chunk, which sees
        // them with their full window.
        let report_until = if eof {
            buffer.len()
        } else {
            buffer.len().saturating_sub(OVERLAP)
        };
        raw.clear();
        matcher.find(buffer, origin.path, &mut raw);
        let mut lines = LineCounter::default();
        for m in raw.iter().filter(|m| m.start < report_until) {
            result.findings.push(make_finding(
                matcher, buffer, m, &mut lines, base_line, origin,
            ));
        }
        if eof {
            return Ok(result);
        }
        base_line += memchr::memchr_iter(b'\n', &buffer[..report_until]).count();
        buffer.drain(..report_until);
    }
}

/// Reads until `buffer` holds `target` bytes or the reader ends; true at end of input.
/// `read_to_end` on a `Take` grows the buffer as data arrives, so a small file never
/// costs a chunk-sized allocation or memset.
fn fill(reader: &mut dyn Read, buffer: &mut Vec<u8>, target: usize) -> std::io::Result<bool> {
    let want = target.saturating_sub(buffer.len()) as u64;
    let got = reader.take(want).read_to_end(buffer)? as u64;
    Ok(got < want)
}

/// Counts newlines forward through a buffer, for matches visited in order.
#[derive(Default)]
struct LineCounter {
    pos: usize,
    newlines: usize,
}

impl LineCounter {
    /// Zero-based line of `offset` within the buffer.
    fn line_of(&mut self, bytes: &[u8], offset: usize) -> usize {
        if offset < self.pos {
            self.pos = 0;
            self.newlines = 0;
        }
        self.newlines += memchr::memchr_iter(b'\n', &bytes[self.pos..offset]).count();
        self.pos = offset;
        self.newlines
    }
}

fn make_finding(
    matcher: &Matcher,
    bytes: &[u8],
    m: &RawMatch,
    lines: &mut LineCounter,
    base_line: usize,
    origin: Origin<'_>,
) -> Finding {
    let rule = &matcher.rules()[m.rule];
    let line = base_line + lines.line_of(bytes, m.start) + 1;
    let line_start = memchr::memrchr(b'\n', &bytes[..m.start])
        .map(|i| i + 1)
        .unwrap_or(0);
    let line_end = memchr::memchr(b'\n', &bytes[m.end..])
        .map(|i| m.end + i)
        .unwrap_or(bytes.len());
    let line_bytes = &bytes[line_start..line_end];
    let secret = String::from_utf8_lossy(&bytes[m.start..m.end]).into_owned();
    let column = String::from_utf8_lossy(&bytes[line_start..m.start])
        .chars()
        .count()
        + 1;
    let end_column = column + secret.chars().count();
    let suppressed =
        memchr::memmem::find(line_bytes, INLINE_ALLOW).map(|_| Suppression::InlineAllow);
    let snippet = snippet(bytes, line_start, line_end, m.start, m.end, &secret);
    Finding {
        rule: rule.spec.id.clone(),
        rule_name: rule.spec.name.clone(),
        provider: rule.spec.provider.clone(),
        path: origin.path.map(str::to_string),
        location: origin.location.to_string(),
        line,
        column,
        end_column,
        fingerprint: fingerprint(&rule.spec.id, &secret),
        secret: Secret::new(secret),
        snippet,
        commit: None,
        suppressed,
        verdict: None,
    }
}

/// The line with the secret redacted, trimmed to [`SNIPPET_WIDTH`] characters around it.
fn snippet(
    bytes: &[u8],
    line_start: usize,
    line_end: usize,
    start: usize,
    end: usize,
    secret: &str,
) -> String {
    let before = String::from_utf8_lossy(&bytes[line_start..start]);
    let after = String::from_utf8_lossy(&bytes[end..line_end]);
    let after = after.trim_end_matches('\r');
    let redacted = redact(secret);
    let room = SNIPPET_WIDTH.saturating_sub(redacted.chars().count()) / 2;
    let before_chars: Vec<char> = before.chars().collect();
    let before: String = if before_chars.len() > room {
        let cut: String = before_chars[before_chars.len() - room..].iter().collect();
        format!("…{cut}")
    } else {
        before_chars.iter().collect()
    };
    let after: String = if after.chars().count() > room {
        let cut: String = after.chars().take(room).collect();
        format!("{cut}…")
    } else {
        after.to_string()
    };
    format!("{}{}{}", before.trim_start(), redacted, after)
}
