//! From bytes to findings: run the matcher over one blob (a file, a git blob, a staged
//! file, a commit message) and give each secret its line, column, snippet and fingerprint.
//!
//! Large inputs are read in fixed-size chunks with an overlap, so memory per worker is
//! bounded whatever the file size, and no secret is split or reported twice at a seam.

use crate::finding::{fingerprint, redact, Finding, Location, Secret, Suppression};
use crate::matcher::{Matcher, RawMatch};
use crate::rules::WINDOW_RADIUS;
use std::io::Read;

pub use crate::archive::Nest;

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
    let mut found = Found::default();
    found.search(matcher, bytes, origin.path);
    let mut lines = LineCounter::default();
    let mut out = Vec::new();
    found.findings(
        matcher,
        bytes,
        0,
        bytes.len(),
        &mut lines,
        &Carried::default(),
        origin,
        &mut out,
    );
    out
}

/// What the matcher and the base64 decoder found in one buffer, reused across chunks.
#[derive(Default)]
struct Found {
    raw: Vec<RawMatch>,
    encoded_hits: Vec<usize>,
    data_blocks: Vec<usize>,
    decoded: Vec<crate::decode::Decoded>,
    /// `raw` and the decoded secrets' encoded spans, by start: what every snippet of
    /// the buffer redacts.
    all: Vec<RawMatch>,
}

impl Found {
    fn search(&mut self, matcher: &Matcher, bytes: &[u8], path: Option<&str>) {
        self.raw.clear();
        self.encoded_hits.clear();
        self.data_blocks.clear();
        self.decoded.clear();
        self.all.clear();
        matcher.find_all(
            bytes,
            path,
            &mut self.raw,
            &mut self.encoded_hits,
            &mut self.data_blocks,
        );
        if !self.encoded_hits.is_empty() || !self.data_blocks.is_empty() {
            crate::decode::find(
                matcher,
                bytes,
                path,
                &self.encoded_hits,
                &self.data_blocks,
                0,
                &mut self.decoded,
            );
            // A span of one line: a wrapped run's secret is shown where it starts, and
            // the rest of its encoded text, on the lines below, is redacted there too.
            for d in &mut self.decoded {
                let span = d.start..d.end;
                let mut pieces =
                    bytes[span.clone()]
                        .split(|&b| b == b'\n')
                        .scan(d.start, |at, piece| {
                            let start = *at;
                            *at += piece.len() + 1;
                            Some((start, start + piece.len()))
                        });
                if let Some((_, first_end)) = pieces.next() {
                    d.end = first_end.max(d.start + 1).min(span.end);
                }
                self.all
                    .extend(pieces.filter(|(a, b)| b > a).map(|(start, end)| RawMatch {
                        rule: d.rule,
                        start,
                        end,
                    }));
            }
            // One secret decoded twice (two hits in one run, or a nested level) is one.
            self.decoded
                .sort_by(|a, b| (a.start, &a.secret, a.rule).cmp(&(b.start, &b.secret, b.rule)));
            self.decoded
                .dedup_by(|a, b| a.start == b.start && a.secret == b.secret);
        }
        if self.decoded.is_empty() {
            return;
        }
        self.all.extend_from_slice(&self.raw);
        self.all.extend(self.decoded.iter().map(|d| RawMatch {
            rule: d.rule,
            start: d.start,
            end: d.end,
        }));
        self.all.sort_by_key(|m| (m.start, m.end));
    }

    /// Findings for the matches starting in `from..until`, in order of position.
    #[allow(clippy::too_many_arguments)]
    fn findings(
        &self,
        matcher: &Matcher,
        bytes: &[u8],
        from: usize,
        until: usize,
        lines: &mut LineCounter,
        carried: &Carried,
        origin: Origin<'_>,
        out: &mut Vec<Finding>,
    ) {
        let all = if self.all.is_empty() {
            &self.raw
        } else {
            &self.all
        };
        let in_range = |start: usize| start >= from && start < until;
        let mut decoded = self.decoded.iter().filter(|d| in_range(d.start)).peekable();
        for m in self.raw.iter().filter(|m| in_range(m.start)) {
            while let Some(d) = decoded.next_if(|d| d.start < m.start) {
                out.push(decoded_finding(
                    matcher, bytes, d, all, lines, carried, origin,
                ));
            }
            out.push(make_finding(matcher, bytes, m, all, lines, carried, origin));
        }
        for d in decoded {
            out.push(decoded_finding(
                matcher, bytes, d, all, lines, carried, origin,
            ));
        }
    }
}

/// A finding for a secret read through base64: placed at the encoded text, identified
/// by the decoded secret.
fn decoded_finding(
    matcher: &Matcher,
    bytes: &[u8],
    d: &crate::decode::Decoded,
    all: &[RawMatch],
    lines: &mut LineCounter,
    carried: &Carried,
    origin: Origin<'_>,
) -> Finding {
    let m = RawMatch {
        rule: d.rule,
        start: d.start,
        end: d.end,
    };
    let mut finding = make_finding(matcher, bytes, &m, all, lines, carried, origin);
    finding.fingerprint = fingerprint(&finding.rule.id, d.secret.expose());
    finding.secret = d.secret.clone();
    finding.url_host.clone_from(&d.url_host);
    finding.encoding = Some(crate::finding::Encoding::Base64);
    finding
}

/// What streaming one reader gave.
#[derive(Debug, Default)]
pub struct StreamScan {
    pub findings: Vec<Finding>,
    /// Bytes scanned: an archive's are those of its members, decompressed.
    pub bytes: u64,
    /// The content looked binary and was not scanned.
    pub binary: bool,
    /// The content was an archive or compressed file, read member by member.
    pub archive: bool,
    /// Archive members scanned, and skipped as binary.
    pub members: u64,
    pub binary_members: u64,
    /// What an archive held that was not read whole.
    pub issues: Vec<crate::archive::Issue>,
}

impl StreamScan {
    /// Adds what one archive member gave.
    pub fn absorb(&mut self, member: StreamScan) {
        if member.archive {
            self.members += member.members;
            self.binary_members += member.binary_members;
        } else if member.binary {
            self.binary_members += 1;
        } else {
            self.members += 1;
        }
        self.bytes += member.bytes;
        self.findings.extend(member.findings);
        self.issues.extend(member.issues);
    }
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
    scan_top(matcher, reader, origin, buffer, CHUNK_SIZE)
}

/// A top-level blob in `chunk`-sized reads: its archives get the whole decompressed
/// budget.
fn scan_top(
    matcher: &Matcher,
    reader: &mut dyn Read,
    origin: Origin<'_>,
    buffer: &mut Vec<u8>,
    chunk: usize,
) -> std::io::Result<StreamScan> {
    let left = std::cell::Cell::new(matcher.archive_limits().max_decompressed);
    let nest = Nest {
        depth: 0,
        left: &left,
    };
    scan_chunks(matcher, reader, origin, buffer, Some(nest), chunk)
}

/// [`scan_reader`] for an archive member, `nest` deep.
pub fn scan_nested(
    matcher: &Matcher,
    reader: &mut dyn Read,
    origin: Origin<'_>,
    buffer: &mut Vec<u8>,
    nest: Nest<'_>,
) -> std::io::Result<StreamScan> {
    scan_chunks(matcher, reader, origin, buffer, Some(nest), CHUNK_SIZE)
}

/// [`scan_reader`] for text already known to be text (decoded UTF-16).
fn scan_text(
    matcher: &Matcher,
    reader: &mut dyn Read,
    origin: Origin<'_>,
    buffer: &mut Vec<u8>,
) -> std::io::Result<StreamScan> {
    scan_chunks(matcher, reader, origin, buffer, None, CHUNK_SIZE)
}

fn scan_chunks(
    matcher: &Matcher,
    reader: &mut dyn Read,
    origin: Origin<'_>,
    buffer: &mut Vec<u8>,
    detect: Option<Nest<'_>>,
    chunk: usize,
) -> std::io::Result<StreamScan> {
    let mut result = StreamScan::default();
    let mut found = Found::default();
    buffer.clear();
    let mut carried = Carried::default();
    // Matches starting before this offset were reported by the previous chunk.
    let mut reported_before = 0usize;
    let mut first_chunk = detect;
    loop {
        let filled_before = buffer.len();
        let eof = fill(reader, buffer, chunk + filled_before)?;
        result.bytes += (buffer.len() - filled_before) as u64;
        if let Some(nest) = first_chunk.take() {
            if let Some(kind) = crate::archive::sniff(buffer) {
                if nest.depth < matcher.archive_limits().max_depth {
                    let mut result =
                        crate::archive::scan(matcher, kind, reader, origin, buffer, nest)?;
                    result.archive = true;
                    return Ok(result);
                }
                result.binary = true;
                result.issues.push(crate::archive::Issue {
                    path: origin.path.unwrap_or("-").to_string(),
                    kind: crate::archive::IssueKind::TooDeep,
                    message: format!(
                        "archive nested deeper than {} not opened (--max-archive-depth)",
                        matcher.archive_limits().max_depth
                    ),
                });
                return Ok(result);
            }
            if let Some(big_endian) = utf16_bom(buffer) {
                return scan_utf16(matcher, reader, origin, buffer, big_endian);
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
        found.search(matcher, buffer, origin.path);
        let mut lines = LineCounter::default();
        found.findings(
            matcher,
            buffer,
            reported_before,
            report_until,
            &mut lines,
            &carried,
            origin,
            &mut result.findings,
        );
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

/// Decodes a UTF-16 file to UTF-8 on the fly and scans that in chunks like any other
/// text, so lines and columns are those of the text a user sees and memory stays one
/// chunk per worker whatever the file size. `bytes` counts the decoded UTF-8.
fn scan_utf16(
    matcher: &Matcher,
    reader: &mut dyn Read,
    origin: Origin<'_>,
    buffer: &mut Vec<u8>,
    big_endian: bool,
) -> std::io::Result<StreamScan> {
    let head = std::mem::take(buffer).split_off(2);
    let mut decoded = Utf16Reader::new(std::io::Cursor::new(head).chain(reader), big_endian);
    scan_text(matcher, &mut decoded, origin, buffer)
}

/// A reader of UTF-8 over a reader of UTF-16 (lone surrogates and a trailing odd byte
/// become U+FFFD, as `char::decode_utf16` with replacement would).
pub struct Utf16Reader<R> {
    inner: R,
    big_endian: bool,
    /// Decoded bytes not yet handed out.
    out: Vec<u8>,
    out_pos: usize,
    /// Raw bytes read but not yet decoded (an odd byte, or a high surrogate).
    raw: Vec<u8>,
    eof: bool,
}

impl<R: Read> Utf16Reader<R> {
    pub fn new(inner: R, big_endian: bool) -> Self {
        Utf16Reader {
            inner,
            big_endian,
            out: Vec::new(),
            out_pos: 0,
            raw: Vec::new(),
            eof: false,
        }
    }

    /// Reads one block of raw bytes and decodes what is complete of it.
    fn refill(&mut self) -> std::io::Result<()> {
        self.out.clear();
        self.out_pos = 0;
        let mut block = [0u8; 64 << 10];
        let got = loop {
            match self.inner.read(&mut block) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if got == 0 {
            self.eof = true;
        }
        self.raw.extend_from_slice(&block[..got]);
        let raw = &self.raw;
        let big_endian = self.big_endian;
        let unit = |i: usize| {
            let pair = [raw[i], raw[i + 1]];
            if big_endian {
                u16::from_be_bytes(pair)
            } else {
                u16::from_le_bytes(pair)
            }
        };
        // decode_utf16 with replacement, by hand: ASCII (most of such files) costs a
        // byte push, and a high surrogate at the end of the block waits for its pair.
        let mut i = 0;
        let mut utf8 = [0u8; 4];
        while i + 2 <= raw.len() {
            let u = unit(i);
            if u < 0x80 {
                self.out.push(u as u8);
                i += 2;
                continue;
            }
            let c = if (0xD800..0xDC00).contains(&u) {
                if i + 4 <= raw.len() {
                    let low = unit(i + 2);
                    if (0xDC00..0xE000).contains(&low) {
                        i += 2;
                        let code =
                            0x10000 + ((u32::from(u) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                        char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
                    } else {
                        char::REPLACEMENT_CHARACTER
                    }
                } else if !self.eof {
                    break;
                } else {
                    char::REPLACEMENT_CHARACTER
                }
            } else {
                char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER)
            };
            self.out
                .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            i += 2;
        }
        let mut keep_from = i;
        if self.eof && keep_from < raw.len() {
            // A high surrogate or an odd byte at the very end.
            self.out.extend_from_slice(
                char::REPLACEMENT_CHARACTER
                    .encode_utf8(&mut utf8)
                    .as_bytes(),
            );
            keep_from = raw.len();
        }
        self.raw.drain(..keep_from);
        Ok(())
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.out_pos == self.out.len() {
            if self.eof {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
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
        rule: rule.identity.clone(),
        path: origin.path.map(str::to_string),
        path_bytes: None,
        location: origin.location,
        line,
        column,
        end_column,
        fingerprint: fingerprint(&rule.spec.id, &secret),
        snippet: snippet(bytes, line_start, line_end, m, all),
        url_host: url_host(&bytes[line_start..m.start]),
        secret: Secret::new(secret),
        commit: None,
        blob: None,
        suppressed: allowed.then_some(Suppression::InlineAllow),
        verdict: None,
        confidence: rule.spec.confidence,
        encoding: None,
    }
}

/// The host of the URL that ends in `/t/` just before a secret (`before` is the line up
/// to the secret): `conda.anaconda.org` for `https://conda.anaconda.org/t/<T>`,
/// `mirror.example.com` for `https://mirror.example.com/anaconda.org/t/<T>`. `None`
/// when the secret does not follow `/t/`; `Some("")` when it does but no host can be
/// told (the URL began before the line or has no host), which no provider accepts.
pub fn url_host(before: &[u8]) -> Option<String> {
    let before = before.strip_suffix(b"/t/")?;
    // The URL starts after the last character that cannot be part of one.
    let start = before
        .iter()
        .rposition(|&b| b.is_ascii_whitespace() || b"\"'`<>()[]{},;=|^".contains(&b))
        .map(|i| i + 1)
        .unwrap_or(0);
    let url = &before[start..];
    let rest = match memchr::memmem::find(url, b"://") {
        Some(i) => &url[i + 3..],
        None => url,
    };
    // A backslash ends the authority too: URL parsers read it as `/` in http(s) URLs,
    // so `https://evil.com\@conda.anaconda.org/t/` goes to evil.com.
    let authority_end = rest
        .iter()
        .position(|b| b"/?#\\".contains(b))
        .unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_port = match memchr::memrchr(b'@', authority) {
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    let host = match memchr::memrchr(b':', host_port) {
        Some(i) if !host_port.starts_with(b"[") => &host_port[..i],
        _ => host_port,
    };
    let host = String::from_utf8_lossy(host).to_ascii_lowercase();
    Some(host.trim_end_matches('.').to_string())
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

#[cfg(test)]
#[path = "blob_fuzz.rs"]
mod fuzz;
