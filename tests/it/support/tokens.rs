//! Generators for well-formed tokens that were never issued: right prefix, length and
//! checksum, random parts derived from a seed so each test's tokens differ. Shared by
//! every integration test (included with `#[path = "support/tokens.rs"] mod tokens;`).

#![allow(dead_code)]

/// Deterministic pseudo-random alphanumerics (xorshift), so tokens differ per seed.
pub fn alnum(seed: u64, n: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % 62) as usize] as char
        })
        .collect()
}

/// A classic PAT (`ghp_`) that was never issued.
pub fn ghp(seed: u64) -> String {
    github_token("ghp_", seed)
}

/// A GitHub token of the classic form (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`): right
/// prefix, length and CRC32 checksum, but made up here and never issued by GitHub.
pub fn github_token(prefix: &str, seed: u64) -> String {
    let random = alnum(seed, 30);
    let checksum = leakscope::validators::github_checksum(&random);
    format!("{prefix}{random}{checksum}")
}

/// An anaconda.org-shaped token (2 chars, `-`, UUID): made up, never issued.
pub fn anaconda_org_token(seed: u64) -> String {
    let hex: String = alnum(seed, 64)
        .bytes()
        .map(|b| char::from_digit(u32::from(b) % 16, 16).unwrap())
        .take(32)
        .collect();
    format!(
        "xy-{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A repo.anaconda.cloud-shaped token (48 alphanumerics): made up, never issued.
pub fn anaconda_repo_token(seed: u64) -> String {
    alnum(seed, 48)
}

/// An anaconda.com-shaped API key: a JWT with made-up claims and random signature
/// bytes, never issued.
pub fn anaconda_api_key(exp: i64) -> String {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let header = b64(r#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = b64(&format!(
        r#"{{"sub":"made-up-subject","exp":{exp},"scopes":["cloud:read"],"note":"leakscope test, never issued"}}"#
    ));
    format!("{header}.{claims}.{}", alnum(7, 86))
}

/// An anaconda.org-shaped token whose UUID is version 4 (what a bare-shape rule needs):
/// made up, never issued.
pub fn anaconda_org_token_v4(seed: u64) -> String {
    let t = anaconda_org_token(seed);
    let mut chars: Vec<char> = t.chars().collect();
    // "xy-" 3 + 8 + "-" + 4 + "-" = 17: the version digit; 22: the variant digit.
    chars[17] = '4';
    chars[22] = '9';
    chars.into_iter().collect()
}
