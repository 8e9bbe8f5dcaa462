//! From bytes to findings: run the matcher over one blob (a file, a git blob, a staged
//! file, a commit message) and give each secret its line, column, snippet and fingerprint.
//!
//! Large inputs are read in fixed-size chunks with an overlap, so memory per worker is
//! bounded whatever the file size, and no secret is split or reported twice at a seam.

use crate::finding::{fingerprint, redact, Finding, Location, Secret, Suppression};
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
    pub location: Location,
}

/// True if the start of the content holds a NUL byte, the way git and ripgrep decide.
pub fn looks_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(BINARY_PROBE)]).is_some()
}

/// Finds every secret in an in-memory blob.
pub fn scan_bytes(matcher: &Matcher, bytes: &[u8], origin: Origin<'_>) -> Vec<Finding> {
    let mut raw = Vec::new();
    matcher.find(bytes, origin.path, &mut raw);
    let mut lines = LineCounter::default();
    raw.iter()
        .map(|m| {
            make_finding(
                matcher,
                bytes,
                m,
                &raw,
                &mut lines,
                &Carried::default(),
                origin,
            )
        })
        .collect()
}

/// What streaming one reader gave.
#[derive(Debug, Default)]
pub struct StreamScan {
    pub findings: Vec<Finding>,
    pub bytes: u64,
    /// The content looked binary and was not scanned.
    pub binary: bool,
}

/// What the findings in a buffer need to know of the bytes before it: the line number
/// of its first byte, and of the line it starts inside (a long line, or a line cut by a
/// chunk seam) how many characters came before and whether they held an allow comment.
#[derive(Debug, Default, Clone, Copy)]
struct Carried {
    base_line: usize,
    line_prefix_chars: usize,
    line_prefix_allow: bool,
}

/// Scans a reader chunk by chunk, reusing `buffer` (callers keep one per thread).
///
/// Each chunk reports the matches that start before its last [`OVERLAP`] bytes; the next
/// chunk starts at the beginning of the line holding that point (at most a window back),
/// so a match just past the seam still sees the context, column and allow comment
/// before it, and nothing is reported twice.
pub fn scan_reader(
    matcher: &Matcher,
    reader: &mut dyn Read,
    origin: Origin<'_>,
    buffer: &mut Vec<u8>,
) -> std::io::Result<StreamScan> {
    let mut result = StreamScan::default();
    let mut raw = Vec::new();
    buffer.clear();
    let mut carried = Carried::default();
    // Matches starting before this offset were reported by the previous chunk.
    let mut reported_before = 0usize;
    let mut first_chunk = true;
    loop {
        let filled_before = buffer.len();
        let eof = fill(reader, buffer, CHUNK_SIZE + filled_before)?;
        result.bytes += (buffer.len() - filled_before) as u64;
        if first_chunk {
            first_chunk = false;
            if let Some(big_endian) = utf16_bom(buffer) {
                return scan_utf16(matcher, reader, origin, buffer, big_endian, result);
            }
            if looks_binary(buffer) {
                result.binary = true;
                return Ok(result);
            }
        }
        let report_until = if eof {
            buffer.len()
        } else {
            buffer.len().saturating_sub(OVERLAP)
        };
        raw.clear();
        matcher.find(buffer, origin.path, &mut raw);
        let mut lines = LineCounter::default();
        for m in raw
            .iter()
            .filter(|m| m.start >= reported_before && m.start < report_until)
        {
            result.findings.push(make_finding(
                matcher, buffer, m, &raw, &mut lines, &carried, origin,
            ));
        }
        if eof {
            return Ok(result);
        }
        let lower = report_until.saturating_sub(WINDOW_RADIUS);
        let carry_from = memchr::memrchr(b'\n', &buffer[lower..report_until])
            .map(|i| lower + i + 1)
            .unwrap_or(lower);
        let dropped = &buffer[..carry_from];
        match memchr::memrchr(b'\n', dropped) {
            Some(k) => {
                let tail = &dropped[k + 1..];
                carried.line_prefix_chars = count_chars(tail);
                carried.line_prefix_allow = memchr::memmem::find(tail, INLINE_ALLOW).is_some();
            }
            None => {
                carried.line_prefix_chars += count_chars(dropped);
                carried.line_prefix_allow |= memchr::memmem::find(dropped, INLINE_ALLOW).is_some();
            }
        }
        carried.base_line += memchr::memchr_iter(b'\n', dropped).count();
        reported_before = report_until - carry_from;
        buffer.drain(..carry_from);
    }
}

/// UTF-16 text files (what Windows PowerShell 5 writes with `>`) are full of NUL bytes
/// but are text: their byte order mark says so. `Some(true)` for big-endian.
fn utf16_bom(bytes: &[u8]) -> Option<bool> {
    match bytes {
        [0xFF, 0xFE, ..] => Some(false),
        [0xFE, 0xFF, ..] => Some(true),
        _ => None,
    }
}

/// Largest UTF-16 file decoded whole; larger ones are skipped as binary.
const MAX_UTF16: u64 = 64 << 20;

/// Decodes a UTF-16 file to UTF-8 and scans that, so lines and columns are those of
/// the text a user sees.
fn scan_utf16(
    matcher: &Matcher,
    reader: &mut dyn Read,
    origin: Origin<'_>,
    buffer: &mut Vec<u8>,
    big_endian: bool,
    mut result: StreamScan,
) -> std::io::Result<StreamScan> {
    let more = reader.take(MAX_UTF16).read_to_end(buffer)?;
    result.bytes += more as u64;
    if buffer.len() as u64 >= MAX_UTF16 {
        result.binary = true;
        return Ok(result);
    }
    let units = buffer[2..].chunks_exact(2).map(|pair| {
        let pair = [pair[0], pair[1]];
        if big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    });
    let text: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    result.findings = scan_bytes(matcher, text.as_bytes(), origin);
    Ok(result)
}

/// Characters as reports count them: code points, an invalid byte sequence as one.
fn count_chars(bytes: &[u8]) -> usize {
    String::from_utf8_lossy(bytes).chars().count()
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
    all: &[RawMatch],
    lines: &mut LineCounter,
    carried: &Carried,
    origin: Origin<'_>,
) -> Finding {
    const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
    let rule = &matcher.rules()[m.rule];
    let line = carried.base_line + lines.line_of(bytes, m.start) + 1;
    let newline_before = memchr::memrchr(b'\n', &bytes[..m.start]);
    let line_start = newline_before.map(|i| i + 1).unwrap_or(0);
    let line_end = memchr::memchr(b'\n', &bytes[m.end..])
        .map(|i| m.end + i)
        .unwrap_or(bytes.len());
    // The line may have begun before this buffer (a long line, a chunk seam).
    let (prefix_chars, prefix_allow) = match newline_before {
        Some(_) => (0, false),
        None => (carried.line_prefix_chars, carried.line_prefix_allow),
    };
    // A UTF-8 byte order mark at the start of a file is not a column.
    let bom = newline_before.is_none()
        && carried.base_line == 0
        && carried.line_prefix_chars == 0
        && bytes.starts_with(UTF8_BOM);
    let secret = String::from_utf8_lossy(&bytes[m.start..m.end]).into_owned();
    let column = prefix_chars + count_chars(&bytes[line_start..m.start]) + 1 - usize::from(bom);
    let end_column = column + secret.chars().count();
    let allowed =
        prefix_allow || memchr::memmem::find(&bytes[line_start..line_end], INLINE_ALLOW).is_some();
    Finding {
        rule: rule.spec.id.clone(),
        rule_name: rule.spec.name.clone(),
        provider: rule.spec.provider.clone(),
        path: origin.path.map(str::to_string),
        location: origin.location,
        line,
        column,
        end_column,
        fingerprint: fingerprint(&rule.spec.id, &secret),
        snippet: snippet(bytes, line_start, line_end, m, all),
        secret: Secret::new(secret),
        commit: None,
        suppressed: allowed.then_some(Suppression::InlineAllow),
        verdict: None,
    }
}

/// The line around a secret, at most [`SNIPPET_WIDTH`] characters, with this secret
/// and every other secret found on the line redacted: a snippet must never carry the
/// neighbour its own redaction left out.
fn snippet(
    bytes: &[u8],
    line_start: usize,
    line_end: usize,
    m: &RawMatch,
    all: &[RawMatch],
) -> String {
    // Enough bytes either side for the width, even in multi-byte text.
    let reach = 4 * SNIPPET_WIDTH;
    let from = line_start.max(m.start.saturating_sub(reach));
    let to = line_end.min(m.end + reach);
    let (mut before, mut ours, mut after) = (String::new(), String::new(), String::new());
    let mut pos = from;
    for other in all.iter().filter(|o| o.start < to && o.end > from) {
        let part = match other.start.cmp(&m.start) {
            std::cmp::Ordering::Less => &mut before,
            std::cmp::Ordering::Equal => &mut ours,
            std::cmp::Ordering::Greater => &mut after,
        };
        if other.start > pos {
            part.push_str(&String::from_utf8_lossy(&bytes[pos..other.start]));
        }
        part.push_str(&redact(&String::from_utf8_lossy(
            &bytes[other.start..other.end],
        )));
        pos = pos.max(other.end);
    }
    if to > pos {
        after.push_str(&String::from_utf8_lossy(&bytes[pos..to]));
    }
    let after = after.trim_end_matches('\r');
    let room = SNIPPET_WIDTH.saturating_sub(ours.chars().count()) / 2;
    let before_count = before.chars().count();
    let before = if before_count > room || from > line_start {
        let cut: String = before
            .chars()
            .skip(before_count.saturating_sub(room))
            .collect();
        format!("…{cut}")
    } else {
        before
    };
    let after = if after.chars().count() > room || to < line_end {
        let cut: String = after.chars().take(room).collect();
        format!("{cut}…")
    } else {
        after.to_string()
    };
    format!("{}{}{}", before.trim_start(), ours, after)
}
