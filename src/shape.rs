//! Secret shapes: how the matcher finds candidates for rules whose secrets have no fixed
//! literal (a legacy 40-hex GitHub token, an Anaconda `xx-<uuid>` token).
//!
//! Such a rule's only literals are case-insensitive context words (`ANACONDA_API_TOKEN`,
//! `github_token`, ...), and a case-insensitive search over every byte is what made the
//! prefilter slow. A run of, say, 40 lowercase hex digits is instead found by sampling
//! one byte in 40: any run at least that long contains a sampled byte, and only a sampled
//! byte of the class is widened to its run. The context words are then checked only in
//! the window around a run long enough to hold the secret.

use serde::{Deserialize, Serialize};

/// A run of bytes of one class, at least as long as the secret it must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// 40 lowercase hex digits: GitHub's legacy (pre-2021) tokens.
    Hex40,
    /// A UUID's 36 bytes of lowercase hex and `-`: Anaconda.org's `xx-<uuid>` tokens.
    Uuid,
    /// 48 ASCII letters or digits: Anaconda's repository tokens.
    Alnum48,
    /// 52 characters of the standard base64 alphabet: the shortest encoding of a token
    /// (39 bytes). Not a rule shape: the matcher's trigger for [`crate::decode`].
    #[serde(skip)]
    Base64,
}

/// A byte-class table: `CLASS[b]` says whether byte `b` belongs.
type Class = [bool; 256];

const fn base64_class() -> Class {
    let mut table = class(false, false, true);
    table[b'+' as usize] = true;
    table[b'/' as usize] = true;
    table
}

const fn class(hex: bool, dash: bool, alnum: bool) -> Class {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = (hex && (c.is_ascii_digit() || (c >= b'a' && c <= b'f')))
            || (dash && c == b'-')
            || (alnum && c.is_ascii_alphanumeric());
        b += 1;
    }
    table
}

const HEX: Class = class(true, false, false);
const HEX_DASH: Class = class(true, true, false);
const ALNUM: Class = class(false, false, true);
const BASE64: Class = base64_class();

impl Shape {
    pub const ALL: [Shape; 3] = [Shape::Hex40, Shape::Uuid, Shape::Alnum48];

    fn class(self) -> &'static Class {
        match self {
            Shape::Hex40 => &HEX,
            Shape::Uuid => &HEX_DASH,
            Shape::Alnum48 => &ALNUM,
            Shape::Base64 => &BASE64,
        }
    }

    /// The shortest run that can hold the secret.
    pub fn min_len(self) -> usize {
        match self {
            Shape::Hex40 => 40,
            Shape::Uuid => 36,
            Shape::Alnum48 => 48,
            Shape::Base64 => 52,
        }
    }

    /// [`Shape::runs`] of [`Shape::Alnum48`] and of [`Shape::Base64`] in one pass: the
    /// base64 class holds the alphanumerics, so every alphanumeric run of 48 lies in a
    /// base64 run, which the same sampling (one byte in 48) finds. `alnum` gets the
    /// alphanumeric runs of 48 or more, `base64` the base64 runs of 52 or more.
    pub fn alnum_and_base64_runs(
        haystack: &[u8],
        mut alnum: impl FnMut(usize, usize),
        mut base64: impl FnMut(usize, usize),
    ) {
        let n = Shape::Alnum48.min_len();
        let base64_min = Shape::Base64.min_len();
        Shape::Base64.runs_every(haystack, n, |start, end| {
            // Most runs are a word or two: too short for either, and not walked again.
            if end - start < n {
                return;
            }
            if end - start >= base64_min {
                base64(start, end);
            }
            let mut piece = start;
            for i in start..=end {
                if i == end || !ALNUM[haystack[i] as usize] {
                    if i - piece >= n {
                        alnum(piece, i);
                    }
                    piece = i + 1;
                }
            }
        });
    }

    /// [`Shape::runs`] of [`Shape::Hex40`] and of [`Shape::Uuid`] in one pass: the UUID
    /// class is the hex class plus `-`, so every hex run of 40 lies in a hex-and-dash run
    /// of 36 or more, which the UUID's sampling (one byte in 36) finds; its hex runs are
    /// the pieces between its dashes. It reports the hex runs of 40 or more and the
    /// hex-and-dash runs of 36 or more, each shape's in order (`found(shape, start, end)`).
    /// One sampling pass instead of two: it cuts the matcher's instructions by 6 % on
    /// generated source code, where hex letters and digits are common.
    pub fn hex_and_uuid_runs(haystack: &[u8], mut found: impl FnMut(Shape, usize, usize)) {
        let n = Shape::Uuid.min_len();
        let hex_min = Shape::Hex40.min_len();
        Shape::Uuid.runs_every(haystack, n, |start, end| {
            if end - start < n {
                return;
            }
            found(Shape::Uuid, start, end);
            if end - start < hex_min {
                return;
            }
            let mut piece = start;
            for dash in memchr::memchr_iter(b'-', &haystack[start..end])
                .map(|i| start + i)
                .chain(std::iter::once(end))
            {
                if dash - piece >= hex_min {
                    found(Shape::Hex40, piece, dash);
                }
                piece = dash + 1;
            }
        });
    }

    /// Calls `found(start, end)` for every maximal run of the class at least
    /// [`Shape::min_len`] long, in order.
    pub fn runs(self, haystack: &[u8], mut found: impl FnMut(usize, usize)) {
        let n = self.min_len();
        self.runs_every(haystack, n, |start, end| {
            if end - start >= n {
                found(start, end);
            }
        });
    }

    /// Every maximal run of the class that holds a sampled byte (one in `n`), in order:
    /// each run of `n` or more is among them.
    fn runs_every(self, haystack: &[u8], n: usize, mut found: impl FnMut(usize, usize)) {
        let table = self.class();
        // No run starts before `floor`: the byte before it is known not to be in the class.
        let mut floor = 0;
        // Sample every n-th byte: a run of n or more bytes always holds a sampled one.
        let mut i = n - 1;
        while i < haystack.len() {
            if !table[haystack[i] as usize] {
                i += n;
                continue;
            }
            let mut start = i;
            while start > floor && table[haystack[start - 1] as usize] {
                start -= 1;
            }
            let mut end = i + 1;
            while end < haystack.len() && table[haystack[end] as usize] {
                end += 1;
            }
            found(start, end);
            // haystack[end] is not in the class: the next run starts after it, and if it
            // is long enough it holds byte end + n.
            floor = end + 1;
            i = end + n;
        }
    }
}

/// Whether a run of hex digits and dashes holds a UUID's dashes where a UUID has them
/// (8-4-4-4-12). The rules' regexes check the rest.
pub fn holds_uuid(run: &[u8]) -> bool {
    memchr::memchr_iter(b'-', run).any(|dash| {
        dash >= 8
            && run.len() >= dash + 28
            && !run[dash - 8..dash].contains(&b'-')
            && run[dash + 5] == b'-'
            && run[dash + 10] == b'-'
            && run[dash + 15] == b'-'
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_is_told_from_a_hash() {
        assert!(holds_uuid(b"1b4e28ba-2fa1-41d2-883f-0016d3cca427"));
        assert!(holds_uuid(
            b"ab-1b4e28ba-2fa1-41d2-883f-0016d3cca427"[3..].as_ref()
        ));
        assert!(!holds_uuid(
            b"9f3c2a71e0b84d56c1a7e3f09b2d4c8e71a05f3b9f3c2a71"
        ));
        assert!(!holds_uuid(b"1b4e28ba-2fa1-41d2-883f0016d3cca427aaaa"));
        assert!(!holds_uuid(b"1b4e28ba-2fa1-41d2-883f-0016d3c"));
    }

    #[test]
    fn the_fused_pass_finds_the_alnum_runs_and_the_base64_runs() {
        let mut text = Vec::new();
        for i in 0..400u32 {
            // Runs of every length up to 80, joined by `+`, `/`, spaces and newlines.
            let len = (i * 37 % 81) as usize;
            text.extend((0..len).map(|k| b"aZ9q"[(k + i as usize) % 4]));
            text.push(b" +/\n"[i as usize % 4]);
        }
        let mut alnum = Vec::new();
        let mut base64 = Vec::new();
        Shape::alnum_and_base64_runs(&text, |s, e| alnum.push((s, e)), |s, e| base64.push((s, e)));
        assert_eq!(alnum, runs(Shape::Alnum48, &text));
        assert_eq!(base64, runs(Shape::Base64, &text));
        assert!(!base64.is_empty() && !alnum.is_empty());
    }

    fn runs(shape: Shape, text: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        shape.runs(text, |s, e| out.push((s, e)));
        out
    }

    /// The plain definition: every maximal run of the class at least min_len long.
    fn naive(shape: Shape, text: &[u8]) -> Vec<(usize, usize)> {
        let table = shape.class();
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if !table[text[i] as usize] {
                i += 1;
                continue;
            }
            let start = i;
            while i < text.len() && table[text[i] as usize] {
                i += 1;
            }
            if i - start >= shape.min_len() {
                out.push((start, i));
            }
        }
        out
    }

    #[test]
    fn a_run_is_found_at_every_offset_and_every_length_around_the_minimum() {
        for shape in Shape::ALL {
            let n = shape.min_len();
            for offset in 0..(2 * n + 3) {
                for len in [n - 1, n, n + 1, 2 * n + 5] {
                    let mut text = vec![b' '; offset];
                    text.extend(std::iter::repeat_n(b'a', len));
                    text.extend_from_slice(b" x");
                    let want = if len >= n {
                        vec![(offset, offset + len)]
                    } else {
                        vec![]
                    };
                    assert_eq!(
                        runs(shape, &text),
                        want,
                        "{shape:?} offset {offset} len {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn sampling_finds_what_a_byte_by_byte_scan_finds() {
        // Stretches of 0 to 119 bytes from one of three alphabets, each followed by a
        // separator, so runs of every class and length start at every sampling phase.
        let alphabets: [&[u8]; 3] = [b"0a9f4e", b"0a9f-", b"Zq0aX"];
        let separators = b" _.-Z";
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut text = Vec::new();
        while text.len() < 300_000 {
            let alphabet = alphabets[(next() % 3) as usize];
            for _ in 0..next() % 120 {
                text.push(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
            text.push(separators[(next() % separators.len() as u64) as usize]);
        }
        for shape in Shape::ALL {
            assert_eq!(runs(shape, &text), naive(shape, &text), "{shape:?}");
        }
        let (mut hex, mut uuid) = (Vec::new(), Vec::new());
        Shape::hex_and_uuid_runs(&text, |shape, s, e| match shape {
            Shape::Hex40 => hex.push((s, e)),
            _ => uuid.push((s, e)),
        });
        assert_eq!(hex, naive(Shape::Hex40, &text), "fused Hex40");
        assert_eq!(uuid, naive(Shape::Uuid, &text), "fused Uuid");
    }

    #[test]
    fn classes_are_the_secret_alphabets() {
        let hex = b"0123456789abcdef0123456789abcdef01234567";
        assert_eq!(runs(Shape::Hex40, hex), vec![(0, 40)]);
        assert!(runs(Shape::Hex40, &hex.to_ascii_uppercase()).is_empty());
        let uuid = b"ab-1b4e28ba-2fa1-41d2-883f-0016d3cca427";
        assert_eq!(runs(Shape::Uuid, uuid), vec![(0, 39)]);
        let alnum = b"Zx9".repeat(16);
        assert_eq!(runs(Shape::Alnum48, &alnum), vec![(0, 48)]);
    }
}
