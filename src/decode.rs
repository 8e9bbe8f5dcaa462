//! Tokens inside base64: Kubernetes `Secret` data, docker `config.json` `auth`,
//! `Authorization: Basic`, `.npmrc` `_auth`, a whole env file committed encoded.
//!
//! Decoding every base64-looking run would cost more than the rest of the scan. Instead a
//! token prefix (or context word) has fixed base64 forms at each of the three byte
//! alignments (`ghp_` is `Z2hwX`, `docF` or `naHBf`: [`encoded_literals`]). The matcher
//! finds runs of 52 or more base64 characters (the shortest encoded token) in the pass
//! that samples for alphanumeric tokens, and [`note_run`] looks for those forms inside
//! each; only the run around a hit is decoded. A Kubernetes `data:` block is decoded by
//! its context instead, found from its values ([`data_block_above`]): an Anaconda token
//! there is a bare UUID-shaped value with no literal of its own, and the key
//! (`ANACONDA_TOKEN: …`) is its context word.
//!
//! Decoded text goes through the same matcher (and this module again, a few levels
//! deep). A secret found there is reported at the encoded text that holds it, spans
//! rounded out to whole base64 quanta so the snippet shows none of its bits.

use crate::matcher::Matcher;
use aho_corasick::AhoCorasick;
use base64::engine::{general_purpose, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

/// How many encodings deep a secret is looked for (a docker `auth` inside a Kubernetes
/// `.dockerconfigjson` inside a base64-encoded manifest is three).
pub const MAX_DEPTH: usize = 3;

/// Encoded bytes decoded either side of a literal hit: enough for the longest token
/// (a fine-grained PAT is 93 characters) and its context words, not a 1 MB data URI.
const REACH: usize = 2048;

/// Shortest base64 run worth decoding: shorter than the shortest token's encoding.
const MIN_RUN: usize = 16;

/// The line that opens a Kubernetes `data:` (or Helm/kustomize) block of base64 values.
pub const DATA_BLOCK: &str = "data:";

/// Files what a base64 run `start..end` of `hay` may hold: each hit of an encoded form
/// inside it (in `encoded`), or else the `data:` block it is a value of (in
/// `data_blocks`). A run wrapped at a fixed width is searched on into its next line,
/// which may be the shorter last one.
pub fn note_run(
    forms: &AhoCorasick,
    hay: &[u8],
    start: usize,
    end: usize,
    encoded: &mut Vec<usize>,
    data_blocks: &mut Vec<usize>,
) {
    let mut to = end;
    if ends_wrapped_line(hay, start, end) {
        let next = memchr::memchr(b'\n', &hay[end..]).map_or(end, |i| end + i + 1);
        to = memchr::memchr(b'\n', &hay[next..]).map_or(hay.len(), |i| next + i);
    }
    let before = encoded.len();
    encoded.extend(forms.find_iter(&hay[start..to]).map(|m| start + m.start()));
    if encoded.len() == before {
        if let Some(at) = data_block_above(hay, start) {
            if !data_blocks.contains(&at) {
                data_blocks.push(at);
            }
        }
    }
}

/// Whether the base64 run `start..end` is a whole line of a fixed-width wrapping (alone
/// on its line, a multiple of 4 long): the run goes on at the next line.
fn ends_wrapped_line(hay: &[u8], start: usize, end: usize) -> bool {
    let line_start = start == 0 || hay[start - 1] == b'\n';
    let at_eol = hay.get(end) == Some(&b'\n') || hay[end..].starts_with(b"\r\n");
    line_start && at_eol && (end - start) % 4 == 0
}

/// When the base64 run at `start` is the value of a `key: value` line inside a `data:`
/// block, the offset of that block's `data:`.
fn data_block_above(hay: &[u8], start: usize) -> Option<usize> {
    let line_start = memchr::memrchr(b'\n', &hay[..start]).map_or(0, |i| i + 1);
    let indent_of = |from: usize| {
        hay[from..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count()
    };
    let indent = indent_of(line_start);
    let key = &hay[line_start + indent..start];
    let key = key
        .strip_suffix(b"\"")
        .or(key.strip_suffix(b"'"))
        .unwrap_or(key);
    let key = key.trim_ascii_end().strip_suffix(b":")?;
    if indent == 0 || key.is_empty() || !key.iter().all(|&b| is_b64(b) || b == b'.') {
        return None;
    }
    // Up through the block's other keys (and blank lines) to a `data:` line less indented.
    let mut end = line_start;
    for _ in 0..512 {
        let above_end = end.checked_sub(1)?;
        let above = memchr::memrchr(b'\n', &hay[..above_end]).map_or(0, |i| i + 1);
        let line = &hay[above..above_end];
        let ind = indent_of(above);
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            end = above;
            continue;
        }
        if ind < indent {
            let body = line[ind..].trim_ascii_end();
            return (body == DATA_BLOCK.as_bytes()).then_some(above + ind);
        }
        end = above;
    }
    None
}

/// The base64 forms of `literal` at each byte alignment, keeping only the characters
/// the literal's bytes determine alone (a partial character depends on its neighbours).
/// Forms shorter than four characters are dropped: they would match everywhere.
pub fn encoded_literals(literal: &str) -> Vec<String> {
    let bytes = literal.as_bytes();
    let mut out = Vec::new();
    for align in 0..3 {
        let mut padded = vec![0u8; align];
        padded.extend_from_slice(bytes);
        let encoded = general_purpose::STANDARD_NO_PAD.encode(&padded);
        // Character i carries bits 6i..6i+6 of the stream; the literal holds bits
        // 8*align..8*(align+len).
        let first = (8 * align).div_ceil(6);
        let last = (8 * (align + bytes.len())) / 6; // exclusive
        if last > first && last - first >= 4 {
            let form = &encoded[first..last];
            for variant in [form.to_string(), form.replace('+', "-").replace('/', "_")] {
                if !out.contains(&variant) {
                    out.push(variant);
                }
            }
        }
    }
    out
}

/// A secret found in decoded text, with its span in the text that was decoded from
/// (rounded out to whole base64 quanta).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
    pub secret: crate::finding::Secret,
    /// The `/t/` URL host around the secret in the decoded text (see
    /// [`crate::blob::url_host`]).
    pub url_host: Option<String>,
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

/// A base64 run: its characters (line breaks of a wrapped run removed) and where each
/// piece of them sits in the haystack.
struct Run {
    text: Vec<u8>,
    /// (offset in `text`, offset in the haystack), ascending.
    pieces: Vec<(usize, usize)>,
}

impl Run {
    fn hay(&self, t: usize) -> usize {
        let i = self.pieces.partition_point(|&(tt, _)| tt <= t) - 1;
        let (tt, h) = self.pieces[i];
        h + (t - tt)
    }
}

/// The base64 run around `at` in `hay`, at most [`REACH`] characters either side of it,
/// starting on a quantum boundary of the whole run. A run wrapped at a fixed width (what
/// `base64` writes) continues across its line breaks.
fn run_around(hay: &[u8], at: usize) -> Option<(Run, std::ops::Range<usize>)> {
    let mut start = at;
    while start > 0 && is_b64(hay[start - 1]) {
        start -= 1;
    }
    let mut end = at;
    while end < hay.len() && is_b64(hay[end]) {
        end += 1;
    }
    let mut pieces = vec![(start, end)];
    // A wrapped run: this line is base64 alone and so are its neighbours, all of the
    // same length (a multiple of 4) but the last.
    let line_start = |s: usize| {
        let mut p = s;
        while p > 0 && matches!(hay[p - 1], b' ' | b'\t') {
            p -= 1;
        }
        p == 0 || hay[p - 1] == b'\n'
    };
    let line_end = |e: usize| {
        let mut p = e;
        while p < hay.len() && hay[p] == b'=' {
            p += 1;
        }
        if p < hay.len() && hay[p] == b'\r' {
            p += 1;
        }
        (p == hay.len() || hay[p] == b'\n').then_some(p)
    };
    // The base64 of the line above the one starting at `s`, when that line holds
    // nothing else: its (start, end).
    let line_above = |s: usize| {
        let nl = s.checked_sub(1).filter(|&p| hay[p] == b'\n')?;
        let pe = if nl > 0 && hay[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        let mut ps = pe;
        while ps > 0 && is_b64(hay[ps - 1]) {
            ps -= 1;
        }
        line_start(ps).then_some((ps, pe))
    };
    // The wrap width: this line's, or (on the last, shorter line) the line above's.
    let full = |w: usize| w >= 40 && w % 4 == 0;
    let width = if full(end - start) {
        end - start
    } else {
        line_above(start)
            .map(|(ps, pe)| pe - ps)
            .filter(|&w| full(w) && w >= end - start)
            .unwrap_or(0)
    };
    if width > 0 && line_start(start) && line_end(end).is_some() {
        // Lines before.
        let mut s = start;
        let mut budget = REACH;
        while budget > 0 {
            let Some((ps, pe)) = line_above(s).filter(|(ps, pe)| pe - ps == width) else {
                break;
            };
            pieces.insert(0, (ps, pe));
            s = ps;
            budget = budget.saturating_sub(width);
        }
        // Lines after, while the line before was full.
        let mut e = end;
        let mut budget = REACH;
        while budget > 0 && pieces.last().is_some_and(|&(a, b)| b - a == width) {
            let Some(nl) = line_end(e) else { break };
            if nl >= hay.len() {
                break;
            }
            let mut ns = nl + 1;
            while ns < hay.len() && matches!(hay[ns], b' ' | b'\t') {
                ns += 1;
            }
            let mut ne = ns;
            while ne < hay.len() && is_b64(hay[ne]) {
                ne += 1;
            }
            if ne == ns || ne - ns > width || line_end(ne).is_none() {
                break;
            }
            pieces.push((ns, ne));
            e = ne;
            budget = budget.saturating_sub(width);
        }
    }
    let mut text = Vec::new();
    let mut map = Vec::with_capacity(pieces.len());
    for &(a, b) in &pieces {
        map.push((text.len(), a));
        text.extend_from_slice(&hay[a..b]);
    }
    let run = Run { text, pieces: map };
    // Where `at` sits in the run's text, and the window around it.
    let at_text = run
        .pieces
        .iter()
        .zip(&pieces)
        .find(|(_, &(a, b))| (a..=b).contains(&at))
        .map(|((t, _), &(a, _))| t + (at - a))?;
    let from = at_text.saturating_sub(REACH) / 4 * 4;
    let to = (at_text + REACH).min(run.text.len());
    if to - from < MIN_RUN {
        return None;
    }
    Some((run, from..to))
}

/// Lenient base64: padding optional, trailing bits allowed, either alphabet.
fn decode(text: &[u8]) -> Option<Vec<u8>> {
    const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CONFIG);
    let mut len = text.len();
    if len % 4 == 1 {
        len -= 1;
    }
    let text = &text[..len];
    let url_safe = text.iter().any(|b| matches!(b, b'-' | b'_'));
    let standard = text.iter().any(|b| matches!(b, b'+' | b'/'));
    if url_safe && standard {
        return None;
    }
    let engine = if url_safe { &URL_SAFE } else { &STANDARD };
    engine.decode(text).ok()
}

/// Mostly printable: what encoded configuration and credentials decode to.
fn looks_textual(bytes: &[u8]) -> bool {
    let printable = bytes
        .iter()
        .filter(|&&b| b >= 0x20 || matches!(b, b'\n' | b'\r' | b'\t'))
        .count();
    printable * 10 >= bytes.len() * 9
}

/// Every secret in the base64 text of `hay` that a literal hit at one of `hits` points
/// into, or that a Kubernetes `data:` block at one of `blocks` holds. Spans are in
/// `hay`; `depth` is how many decodings deep `hay` already is.
pub fn find(
    matcher: &Matcher,
    hay: &[u8],
    path: Option<&str>,
    hits: &[usize],
    blocks: &[usize],
    depth: usize,
    out: &mut Vec<Decoded>,
) {
    if depth >= MAX_DEPTH {
        return;
    }
    let mut done: Vec<(usize, usize)> = Vec::new();
    for &at in hits {
        if done.iter().any(|&(a, b)| (a..b).contains(&at)) {
            continue;
        }
        let Some((run, window)) = run_around(hay, at) else {
            continue;
        };
        done.push((run.hay(window.start), run.hay(window.end - 1) + 1));
        let Some(decoded) = decode(&run.text[window.clone()]) else {
            continue;
        };
        if !looks_textual(&decoded) {
            continue;
        }
        let map = |d: usize, end: bool| {
            // Decoded byte d sits in quantum d / 3 of the window.
            let q = if end { d.div_ceil(3) } else { d / 3 };
            let t = (window.start + 4 * q).min(window.end);
            if end {
                run.hay(t.max(window.start + 1) - 1) + 1
            } else {
                run.hay(t.min(window.end - 1))
            }
        };
        found_in(matcher, &decoded, path, depth, out, |s, e| {
            (map(s, false), map(e, true))
        });
    }
    for &at in blocks {
        data_block(matcher, hay, path, at, depth, out);
    }
}

/// Runs the matcher (and, a level deeper, this module) over decoded text, and pushes
/// what it finds with spans mapped back by `to_outer`.
fn found_in(
    matcher: &Matcher,
    decoded: &[u8],
    path: Option<&str>,
    depth: usize,
    out: &mut Vec<Decoded>,
    to_outer: impl Fn(usize, usize) -> (usize, usize),
) {
    let mut raw = Vec::new();
    let mut hits = Vec::new();
    let mut blocks = Vec::new();
    matcher.find_all(decoded, path, &mut raw, &mut hits, &mut blocks);
    for m in &raw {
        let (start, end) = to_outer(m.start, m.end);
        let line_start = memchr::memrchr(b'\n', &decoded[..m.start]).map_or(0, |i| i + 1);
        out.push(Decoded {
            rule: m.rule,
            start,
            end,
            secret: crate::finding::Secret::new(String::from_utf8_lossy(&decoded[m.start..m.end])),
            url_host: crate::blob::url_host(&decoded[line_start..m.start]),
        });
    }
    if hits.is_empty() && blocks.is_empty() {
        return;
    }
    let mut inner = Vec::new();
    find(
        matcher,
        decoded,
        path,
        &hits,
        &blocks,
        depth + 1,
        &mut inner,
    );
    for mut d in inner {
        let (start, end) = to_outer(d.start, d.end);
        d.start = start;
        d.end = end;
        out.push(d);
    }
}

/// A `data:` line with nothing after it opens a block of `key: base64` lines indented
/// deeper (a Kubernetes Secret, a Helm values file, kustomize output). Each value is
/// decoded and scanned as `key: decoded`, so the key is the decoded token's context.
fn data_block(
    matcher: &Matcher,
    hay: &[u8],
    path: Option<&str>,
    at: usize,
    depth: usize,
    out: &mut Vec<Decoded>,
) {
    let line_start = memchr::memrchr(b'\n', &hay[..at]).map_or(0, |i| i + 1);
    let indent = |from: usize| {
        hay[from..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count()
    };
    let base = indent(line_start);
    // `data:` must start its line (after indentation) and end it.
    if line_start + base != at {
        return;
    }
    let after = at + DATA_BLOCK.len();
    let Some(eol) = memchr::memchr(b'\n', &hay[after..]).map(|i| after + i) else {
        return;
    };
    if !hay[after..eol].iter().all(|b| b.is_ascii_whitespace()) {
        return;
    }
    let mut pos = eol + 1;
    // A block is not endless: a few hundred keys at most.
    for _ in 0..512 {
        if pos >= hay.len() {
            break;
        }
        let end = memchr::memchr(b'\n', &hay[pos..]).map_or(hay.len(), |i| pos + i);
        let line = &hay[pos..end];
        let ind = indent(pos);
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            pos = end + 1;
            continue;
        }
        if ind <= base {
            break;
        }
        let body = &line[ind..];
        if let Some(colon) = memchr::memchr(b':', body) {
            let key = &body[..colon];
            let mut v = colon + 1;
            while v < body.len() && body[v] == b' ' {
                v += 1;
            }
            let value_start = v;
            let mut value = &body[value_start..];
            let quoted = value.first().is_some_and(|&q| q == b'"' || q == b'\'');
            if quoted {
                value = &value[1..];
            }
            let len = value
                .iter()
                .take_while(|&&b| is_b64(b) || b == b'=')
                .count();
            let value = &value[..len];
            let value_at = pos + ind + value_start + usize::from(quoted);
            if len >= 8 && key.iter().all(|&b| is_b64(b) || b == b'.') {
                if let Some(decoded) = decode(value).filter(|d| looks_textual(d)) {
                    let mut text = key.to_vec();
                    text.extend_from_slice(b": ");
                    let offset = text.len();
                    text.extend_from_slice(&decoded);
                    text.push(b'\n');
                    let decoded_len = decoded.len();
                    let map = |d: usize, end: bool| {
                        let d = d.saturating_sub(offset).min(decoded_len);
                        let q = if end { d.div_ceil(3) } else { d / 3 };
                        value_at + (4 * q).min(len)
                    };
                    found_in(matcher, &text, path, depth, out, |s, e| {
                        (map(s, false), map(e, true).max(map(s, false) + 1))
                    });
                }
            }
        }
        pos = end + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_forms_are_those_of_the_prefix_at_each_alignment() {
        let forms = encoded_literals("ghp_");
        assert_eq!(forms.len(), 3, "{forms:?}");
        for (align, form) in forms.iter().enumerate() {
            let mut text = vec![b'x'; align];
            text.extend_from_slice(b"ghp_rest of it");
            let encoded = general_purpose::STANDARD.encode(&text);
            assert!(
                encoded.contains(form.as_str()),
                "{align}: {form} in {encoded}"
            );
        }
        // Every alignment of a three-byte literal leaves fewer than four whole characters
        // but the first.
        assert_eq!(encoded_literals("/t/").len(), 1);
    }

    #[test]
    fn lenient_decoding_takes_either_alphabet_and_no_padding() {
        assert_eq!(decode(b"aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode(b"aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode(b"-_-_").unwrap(), decode(b"+/+/").unwrap());
        assert!(decode(b"+_+_").is_none());
    }

    #[test]
    fn wrapped_runs_continue_across_their_line_breaks() {
        let long = general_purpose::STANDARD.encode(vec![b'a'; 200]);
        let wrapped: Vec<u8> = long
            .as_bytes()
            .chunks(76)
            .flat_map(|c| c.iter().copied().chain(std::iter::once(b'\n')))
            .collect();
        let (run, window) = run_around(&wrapped, 80).unwrap();
        let unpadded = long.trim_end_matches('=');
        assert_eq!(run.text, unpadded.as_bytes());
        assert_eq!(window, 0..unpadded.len());
        assert_eq!(run.hay(76), 77, "the second line starts after the break");
    }
}
