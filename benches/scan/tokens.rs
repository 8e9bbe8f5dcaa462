//! Planted tokens and decoys. Checksums come from leakscope's own validators, so the
//! corpus is well-formed by the same definition the scanner checks; every token is
//! random and was never issued.

use crate::rng::Rng;
use leakscope::validators;

pub(crate) const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub(crate) const HEX: &[u8] = b"0123456789abcdef";
pub(crate) const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";

/// `prefix` + random body of `len` base62 + CRC32/base62 checksum (GitHub's classic form).
pub(crate) fn classic(rng: &mut Rng, prefix: &str, len: usize) -> String {
    let mut body = String::new();
    rng.chars(B62, len, &mut body);
    let checksum = validators::github_checksum(&body);
    format!("{prefix}{body}{checksum}")
}

/// `github_pat_` + 22 + `_` + 43 + base32(sha256(all before))[..8] + 8 unchecked.
pub(crate) fn fine_grained(rng: &mut Rng) -> String {
    let mut s = String::from("github_pat_");
    rng.chars(B62, 22, &mut s);
    s.push('_');
    rng.chars(B62, 43, &mut s);
    let checksum = validators::github_pat_checksum(&s);
    s.push_str(&checksum);
    rng.chars(B62, 8, &mut s);
    s
}

/// Unpadded base64url, as JWTs use.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// New stateless installation token: `ghs_<APPID>_<JWT>`.
pub(crate) fn ghs_jwt(rng: &mut Rng) -> String {
    let app = rng.range(100_000, 9_999_999);
    let exp = 1_780_000_000 + rng.below(10_000_000);
    let header = b64url(br#"{"alg":"RS256","typ":"JWT"}"#);
    let payload = b64url(
        format!(
            r#"{{"iss":"{app}","iat":{},"exp":{exp},"installation_id":{}}}"#,
            exp - 3600,
            rng.range(10_000_000, 99_999_999)
        )
        .as_bytes(),
    );
    let sig: Vec<u8> = (0..256).map(|_| rng.next() as u8).collect();
    format!("ghs_{app}_{header}.{payload}.{}", b64url(&sig))
}

pub(crate) fn uuid4(rng: &mut Rng) -> String {
    let mut h = String::new();
    rng.chars(HEX, 32, &mut h);
    let b = h.as_bytes();
    let variant = b"89ab"[rng.below(4)] as char;
    format!(
        "{}-{}-4{}-{}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        variant,
        &h[17..20],
        std::str::from_utf8(&b[20..32]).unwrap()
    )
}

pub(crate) fn anaconda_token(rng: &mut Rng) -> String {
    let mut p = String::new();
    rng.chars(LOWER, 2, &mut p);
    format!("{p}-{}", uuid4(rng))
}

/// Planted (must be found) kinds.
pub(crate) const KINDS: &[&str] = &[
    "ghp",
    "gho",
    "ghu",
    "ghs",
    "ghr36",
    "ghr76",
    "github_pat",
    "ghs_jwt",
    "anaconda_url",
    "anaconda_env",
];
/// Decoy (must not be found) kinds.
pub(crate) const DECOYS: &[&str] = &[
    "bad_crc",
    "bad_pat_sum",
    "placeholder_x",
    "placeholder_angle",
    "placeholder_var",
    "sequence",
    "bare_uuid",
];

pub(crate) fn make_token(rng: &mut Rng, kind: &str) -> String {
    match kind {
        "ghp" | "gho" | "ghu" | "ghs" => classic(rng, &format!("{kind}_"), 30),
        "ghr36" => classic(rng, "ghr_", 30),
        "ghr76" => classic(rng, "ghr_", 70),
        "github_pat" => fine_grained(rng),
        "ghs_jwt" => ghs_jwt(rng),
        _ => anaconda_token(rng),
    }
}

pub(crate) fn flip_one(rng: &mut Rng, s: &str, from: usize, to: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    let i = rng.range(from, to - 1);
    let old = b[i];
    while b[i] == old {
        b[i] = *rng.pick(B62);
    }
    String::from_utf8(b).unwrap()
}

/// Decoy text (a whole value that must not be reported) and whether it is GitHub-ish.
pub(crate) fn make_decoy(rng: &mut Rng, kind: &str) -> (String, bool) {
    let gh = *rng.pick(&["ghp_", "gho_", "ghu_", "ghs_"]);
    match kind {
        "bad_crc" => {
            let t = classic(rng, gh, 30);
            (flip_one(rng, &t, 4, 34), true)
        }
        "bad_pat_sum" => {
            let t = fine_grained(rng);
            (flip_one(rng, &t, 34, 77), true)
        }
        "placeholder_x" => {
            let c = *rng.pick(&["x", "X", "*", "0"]);
            (format!("{gh}{}", c.repeat(36)), true)
        }
        "placeholder_angle" => (
            rng.pick(&[
                "<your-github-token>",
                "github_pat_<REDACTED>",
                "ghp_<YOUR_TOKEN_HERE>",
                "<ANACONDA_TOKEN>",
            ])
            .to_string(),
            rng.chance(0.7),
        ),
        "placeholder_var" => (
            rng.pick(&[
                "${GITHUB_TOKEN}",
                "${{ secrets.GITHUB_TOKEN }}",
                "$ANACONDA_API_TOKEN",
                "${ANACONDA_API_TOKEN}",
                "$(gh auth token)",
            ])
            .to_string(),
            rng.chance(0.5),
        ),
        "sequence" => (
            rng.pick(&[
                "ghp_1234567890abcdefghijklmnopqrstuvwxyz",
                "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                "gho_16C7e42F292c6912E7710c838347Ae178B4a",
                "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456",
            ])
            .to_string(),
            true,
        ),
        _ => (uuid4(rng), false), // bare_uuid: a UUID with no `xx-` owner prefix
    }
}
