//! Checks a candidate secret must pass before it becomes a finding.
//!
//! GitHub's token formats carry checksums, so a string that has the right shape but a
//! wrong checksum is a typo, a placeholder or a made-up example, never a live token.
//! Checking them is the cheapest false-positive filter there is.

use sha2::{Digest, Sha256};

/// The validators a rule file may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// Last 6 characters after the `gh?_` prefix are base62(CRC32) of the rest.
    GithubCrc32,
    /// `github_pat_` fine-grained checksum: see [`github_pat_checksum_ok`].
    GithubPatSha256,
    /// Three base64url parts whose first two decode to JSON objects, the first with `alg`.
    Jwt,
}

impl Validator {
    pub const NAMES: &'static [&'static str] = &["github-crc32", "github-pat-sha256", "jwt"];

    pub fn from_name(name: &str) -> Option<Validator> {
        match name {
            "github-crc32" => Some(Validator::GithubCrc32),
            "github-pat-sha256" => Some(Validator::GithubPatSha256),
            "jwt" => Some(Validator::Jwt),
            _ => None,
        }
    }

    pub fn check(self, secret: &str) -> bool {
        match self {
            Validator::GithubCrc32 => github_crc32_ok(secret),
            Validator::GithubPatSha256 => github_pat_checksum_ok(secret),
            Validator::Jwt => jwt_ok(secret),
        }
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// base62 (`0-9A-Za-z`) of `n`, most significant digit first, left-padded with `0` to
/// six characters. The padding matters: about 1 checksum in 62 starts with `0`.
pub fn base62_6(mut n: u32) -> String {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).expect("base62 alphabet is ASCII")
}

/// The 6-character checksum GitHub appends to the random part of a token.
pub fn github_checksum(random: &str) -> String {
    base62_6(crc32fast::hash(random.as_bytes()))
}

/// `gh?_` + body, where body's last 6 characters are the checksum of the rest of the
/// body. Works for the 36-character forms and the 76-character `ghr_`.
pub fn github_crc32_ok(token: &str) -> bool {
    let Some(body) = token.get(4..) else {
        return false;
    };
    if body.len() < 7 || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (random, checksum) = body.split_at(body.len() - 6);
    github_checksum(random) == checksum
}

/// RFC 4648 base32 (`A-Z2-7`, no padding) of `bytes`.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut buffer: u64 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | b as u64;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The 8-character check of a fine-grained token: the first 8 characters of the base32
/// of SHA-256 over everything before it (`github_pat_` + 22 + `_` + 43).
pub fn github_pat_checksum(head: &str) -> String {
    let digest = Sha256::digest(head.as_bytes());
    base32(&digest)[..8].to_string()
}

/// `github_pat_` + 22 + `_` + 43 + 8 (checked) + 8 (not checked).
pub fn github_pat_checksum_ok(token: &str) -> bool {
    const PREFIX: &str = "github_pat_";
    let Some(rest) = token.strip_prefix(PREFIX) else {
        return false;
    };
    let bytes = rest.as_bytes();
    if bytes.len() != 82 || bytes[22] != b'_' {
        return false;
    }
    let ok_chars = bytes
        .iter()
        .enumerate()
        .all(|(i, b)| i == 22 || b.is_ascii_alphanumeric());
    if !ok_chars {
        return false;
    }
    let head_len = PREFIX.len() + 22 + 1 + 43;
    github_pat_checksum(&token[..head_len]) == token[head_len..head_len + 8]
}

/// Structure check for a JWT: decodable header and payload that are JSON objects,
/// the header naming an `alg`. Says nothing about the signature.
pub fn jwt_ok(token: &str) -> bool {
    jwt_claims(token).is_some()
}

/// The decoded payload of a structurally valid JWT.
pub fn jwt_claims(token: &str) -> Option<serde_json::Value> {
    use base64::Engine;
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || signature.is_empty() {
        return None;
    }
    let decode = |part: &str| -> Option<serde_json::Value> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .ok()?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        value.is_object().then_some(value)
    };
    let header = decode(header)?;
    header.get("alg")?;
    decode(payload)
}

/// Strings with a token's shape that are obviously not tokens: `ghp_xxxx…`, all one
/// character, `<TOKEN>`, `${TOKEN}`, runs of `x`, too few distinct characters.
/// Applied to every rule's secret, built-in or user-written.
pub fn is_placeholder(secret: &str) -> bool {
    let body = strip_known_prefix(secret);
    if body.is_empty() {
        return true;
    }
    if body.contains(['<', '>', '$', '{', '}', '%', '*']) {
        return true;
    }
    let lower = body.to_ascii_lowercase();
    if lower.contains("xxxxx") || lower.contains("00000000-0000") {
        return true;
    }
    let mut seen = [false; 256];
    let mut distinct = 0;
    for b in body.bytes() {
        if !seen[b as usize] {
            seen[b as usize] = true;
            distinct += 1;
        }
    }
    let needed = if body.len() >= 16 { 6 } else { 3 };
    if distinct < needed {
        return true;
    }
    // `1234567890abcdef…`-style sequences.
    let ascending = body
        .as_bytes()
        .windows(2)
        .filter(|w| w[1] == w[0] + 1)
        .count();
    ascending * 3 > body.len() * 2
}

fn strip_known_prefix(secret: &str) -> &str {
    for prefix in ["github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
        if let Some(rest) = secret.strip_prefix(prefix) {
            return rest;
        }
    }
    secret
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known-good samples from public scanners' docs, quoted in token-facts.md; they
    // were published as examples and are not live.
    const GOOD: &[&str] = &[
        "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", // leakscope:allow (public sample)
        "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", // leakscope:allow (public sample)
    ];

    #[test]
    fn crc32_checksum_accepts_known_good() {
        for t in GOOD {
            assert!(github_crc32_ok(t), "{t}");
        }
    }

    #[test]
    fn crc32_checksum_rejects_any_single_change() {
        let t = GOOD[0];
        for i in 4..34 {
            let mut bytes = t.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(!github_crc32_ok(&changed), "{changed}");
        }
    }

    #[test]
    fn base62_pads_leading_zeros() {
        assert_eq!(base62_6(0), "000000");
        assert_eq!(base62_6(61), "00000z");
        assert_eq!(base62_6(62), "000010");
        assert_eq!(base62_6(u32::MAX), "4gfFC3");
    }

    #[test]
    fn generated_tokens_round_trip_including_leading_zero_checksums() {
        // Search for random parts whose checksum starts with '0' to pin the padding.
        let mut found_zero = false;
        for i in 0..20_000u32 {
            let random = format!("{:0>30}", format!("Ab{i}xYz"));
            let token = format!("ghp_{random}{}", github_checksum(&random));
            assert!(github_crc32_ok(&token));
            found_zero |= github_checksum(&random).starts_with('0');
        }
        assert!(found_zero);
    }

    #[test]
    fn long_refresh_token_checksum() {
        let random = "R".repeat(35) + &"s".repeat(35);
        let token = format!("ghr_{random}{}", github_checksum(&random));
        assert_eq!(token.len(), 80);
        assert!(github_crc32_ok(&token));
    }

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
    }

    #[test]
    fn fine_grained_checksum_round_trip() {
        // Generated here; never issued.
        let head = format!(
            "github_pat_{}_{}",
            "A1b2C3d4E5f6G7h8I9j0K1",
            "x".repeat(20) + &"Yz9".repeat(7) + "Q1"
        );
        assert_eq!(head.len(), 11 + 22 + 1 + 43);
        let token = format!("{head}{}{}", github_pat_checksum(&head), "Zz12Yy34");
        assert!(github_pat_checksum_ok(&token));
        let mut broken = token.clone().into_bytes();
        broken[20] = b'Q';
        assert!(!github_pat_checksum_ok(&String::from_utf8(broken).unwrap()));
    }

    #[test]
    fn jwt_structure() {
        // {"alg":"RS256","typ":"JWT"} . {"sub":"x","exp":1} . sig — made up.
        let t = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4IiwiZXhwIjoxfQ.c2lnbmF0dXJl";
        assert!(jwt_ok(t));
        assert_eq!(jwt_claims(t).unwrap()["exp"], 1);
        assert!(!jwt_ok("eyJhbGciOiJSUzI1NiJ9.notjson.sig"));
    }

    #[test]
    fn placeholders() {
        assert!(is_placeholder("ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
        assert!(is_placeholder("ghp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        assert!(is_placeholder("<TOKEN>"));
        assert!(is_placeholder("co-00000000-0000-0000-0000-000000000000"));
        assert!(!is_placeholder("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")); // leakscope:allow
        assert!(!is_placeholder("co-143399b8-276e-48db-b43f-4a3de839a024"));
    }
}
