//! Property tests (a fixed-seed fuzzer that runs on stable, in CI) for the matcher and
//! the blob scanner: random bytes around planted tokens, cut into chunks at random
//! seams. No panic; every planted token found once, at its line and column; spans
//! within the haystack; the chunked scan agrees with the whole-buffer scan.
//!
//! `LEAKSCOPE_FUZZ_CASES=N cargo test --lib fuzz` runs longer.

use super::{count_chars, scan_bytes, scan_top, Origin, Utf16Reader, OVERLAP};
use crate::matcher::Matcher;
use crate::rules::RuleSet;
use crate::validators::github_checksum;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::io::Read;
use std::sync::OnceLock;

fn cases(default: u32) -> u32 {
    std::env::var("LEAKSCOPE_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn runner(default_cases: u32) -> TestRunner {
    let config = Config {
        cases: cases(default_cases),
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &[42u8; 32]),
    )
}

fn matcher() -> &'static Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| Matcher::new(RuleSet::builtin().unwrap()).unwrap())
}

const ORIGIN: Origin<'static> = Origin {
    path: Some("fuzz.txt"),
    location: crate::finding::Location::File,
};

/// Filler that no built-in rule can match (no keyword can be spelled from it) but that
/// has what trips scanners: newlines, CR, tabs, multi-byte and invalid UTF-8.
fn filler(seed: u64, len: usize) -> Vec<u8> {
    const PIECES: &[&[u8]] = &[
        b"a",
        b"b",
        b"c",
        b"X",
        b"Y",
        b"Z",
        b"0",
        b"1",
        b"9",
        b" ",
        b"=",
        b"_",
        b"-",
        b"\n",
        b"\r\n",
        b"\t",
        b".",
        b":",
        b"/",
        "é".as_bytes(),
        "漢".as_bytes(),
        b"\xff",
    ];
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 4);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Long runs without a newline sometimes, to cross windows on one line.
        let piece = PIECES[(x % PIECES.len() as u64) as usize];
        if piece.starts_with(b"\n") && x % 7 == 0 {
            continue;
        }
        out.extend_from_slice(piece);
    }
    out
}

/// A made-up, never-issued classic token with a valid checksum.
fn token(random: &str) -> String {
    format!("ghp_{random}{}", github_checksum(random))
}

/// `(line, column, secret)` of each finding, sorted.
fn places(findings: &[crate::finding::Finding]) -> Vec<(usize, usize, String)> {
    let mut out: Vec<_> = findings
        .iter()
        .map(|f| (f.line, f.column, f.secret.expose().to_string()))
        .collect();
    out.sort();
    out
}

fn segments() -> impl Strategy<Value = Vec<(u64, usize, String, u8)>> {
    prop::collection::vec(
        (
            any::<u64>(),
            0usize..12_000,
            "[A-Za-z0-9]{30}",
            prop::sample::select(vec![b' ', b'\n', b'"', b'=', b'\t']),
        ),
        1..6,
    )
}

#[test]
fn planted_tokens_are_found_across_chunk_seams() {
    runner(48)
        .run(
            &(segments(), OVERLAP + 1..OVERLAP + 6_000),
            |(segments, chunk)| {
                let mut data = Vec::new();
                let mut expected = Vec::new();
                for (seed, len, random, sep) in &segments {
                    data.extend(filler(*seed, *len));
                    data.push(*sep);
                    let t = token(random);
                    if crate::validators::is_placeholder(&t) {
                        continue;
                    }
                    let line_start = memchr::memrchr(b'\n', &data).map(|i| i + 1).unwrap_or(0);
                    let line = memchr::memchr_iter(b'\n', &data).count() + 1;
                    let column = count_chars(&data[line_start..]) + 1;
                    expected.push((line, column, t.clone()));
                    data.extend(t.as_bytes());
                    data.push(*sep);
                }
                expected.sort();
                let whole = scan_bytes(matcher(), &data, ORIGIN);
                prop_assert_eq!(&places(&whole), &expected);
                let mut buffer = Vec::new();
                let chunked =
                    scan_top(matcher(), &mut &data[..], ORIGIN, &mut buffer, chunk).unwrap();
                prop_assert!(!chunked.binary);
                prop_assert_eq!(chunked.bytes, data.len() as u64);
                prop_assert_eq!(places(&chunked.findings), expected);
                for f in &chunked.findings {
                    prop_assert!(f.end_column > f.column);
                    prop_assert!(!f.snippet.contains(f.secret.expose()));
                }
                Ok(())
            },
        )
        .unwrap();
}

/// Any bytes at all (NULs, invalid UTF-8, keywords cut in half): no panic, spans in
/// bounds, in order, never overlapping.
#[test]
fn matcher_spans_stay_in_bounds_on_any_bytes() {
    let keywordish = prop::collection::vec(
        prop_oneof![
            any::<u8>().prop_map(|b| vec![b]),
            prop::sample::select(vec![
                &b"ghp_"[..],
                b"github_pat_",
                b"ghs_",
                b"anaconda.org/t/",
                b"/t/",
                b"ANACONDA_API_TOKEN=",
                b"GITHUB_TOKEN=",
                b"eyJ",
                b"\n",
                b"-",
            ])
            .prop_map(<[u8]>::to_vec),
            "[A-Za-z0-9]{1,40}".prop_map(String::into_bytes),
        ],
        0..200,
    )
    .prop_map(|parts| parts.concat());
    runner(1500)
        .run(&keywordish, |data| {
            let mut raw = Vec::new();
            matcher().find(&data, Some("a/.env"), &mut raw);
            let mut end = 0;
            for m in &raw {
                prop_assert!(m.start < m.end && m.end <= data.len());
                prop_assert!(m.start >= end, "overlapping or unsorted: {:?}", raw);
                end = m.end;
            }
            let findings = scan_bytes(matcher(), &data, ORIGIN);
            prop_assert_eq!(findings.len(), raw.len());
            let mut buffer = Vec::new();
            let streamed =
                scan_top(matcher(), &mut &data[..], ORIGIN, &mut buffer, OVERLAP + 1).unwrap();
            if !streamed.binary
                && !data.starts_with(&[0xFF, 0xFE])
                && !data.starts_with(&[0xFE, 0xFF])
            {
                prop_assert_eq!(places(&streamed.findings), places(&findings));
            }
            Ok(())
        })
        .unwrap();
}

/// The streaming UTF-16 decoder gives what decoding the whole input at once gives, for
/// any bytes (odd lengths, lone and split surrogates), whatever the read sizes.
#[test]
fn utf16_streaming_matches_whole_decoding() {
    runner(1500)
        .run(
            &(
                prop::collection::vec(any::<u8>(), 0..400),
                any::<bool>(),
                1usize..9,
            ),
            |(data, big_endian, step)| {
                let units: Vec<u16> = data
                    .chunks_exact(2)
                    .map(|p| {
                        if big_endian {
                            u16::from_be_bytes([p[0], p[1]])
                        } else {
                            u16::from_le_bytes([p[0], p[1]])
                        }
                    })
                    .collect();
                let mut want: String = char::decode_utf16(units)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect();
                if data.len() % 2 == 1 {
                    want.push(char::REPLACEMENT_CHARACTER);
                }
                let mut reader = Utf16Reader::new(Trickle { data: &data, step }, big_endian);
                let mut got = Vec::new();
                reader.read_to_end(&mut got).unwrap();
                prop_assert_eq!(String::from_utf8(got).unwrap(), want);
                Ok(())
            },
        )
        .unwrap();
}

/// A reader that hands out at most `step` bytes per read, to put seams everywhere.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}
