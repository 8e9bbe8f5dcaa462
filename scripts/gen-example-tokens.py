#!/usr/bin/env python3
"""Generate well-formed, NEVER-ISSUED example tokens for leakscope's rule files.

Every token this script prints is random (or derived from a fixed seed) and was
never issued by GitHub or Anaconda. The shapes and checksums follow
../shared/token-facts.md so that the examples in rules/*.toml pass leakscope's
validators:

  * ghp_/gho_/ghu_/ghs_ (legacy) and 36-char ghr_: 30 base62 random chars +
    6-char base62(CRC32 IEEE of the 30 random chars), '0'-padded.
  * 76-char ghr_: 70 random chars + base62(CRC32 of those 70).
  * github_pat_: 22 + '_' + 43 + 8 + 8, where the 8 after the 43 are the first 8
    chars of base32(SHA-256(everything before them, prefix included)).
  * ghs_<APPID>_<JWT>: the new stateless installation-token shape (no checksum).
  * anaconda.org token: 2 chars, '-', UUID v4 (39 chars).
  * repo.anaconda.cloud token: 48 letters/digits.
  * anaconda.com API key: an RS256-shaped JWT with a random (invalid) signature.

Usage:
  scripts/gen-example-tokens.py --self-test
  scripts/gen-example-tokens.py [--seed N] KIND [COUNT]
  KIND: ghp gho ghu ghs ghr36 ghr76 github_pat ghs_stateless hex40
        anaconda_org anaconda_repo anaconda_jwt anaconda_keyring
  scripts/gen-example-tokens.py --check TOKEN    (validate a GitHub checksum)
"""

import argparse
import base64
import hashlib
import json
import random
import sys
import uuid
import zlib

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ALNUM = BASE62


def base62(n: int, width: int = 6) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = BASE62[r] + out
    return out.rjust(width, "0")


def crc_suffix(body: str) -> str:
    return base62(zlib.crc32(body.encode("ascii")) & 0xFFFFFFFF)


def rand_str(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def classic(rng: random.Random, prefix: str, random_len: int = 30) -> str:
    body = rand_str(rng, random_len)
    return prefix + body + crc_suffix(body)


def check_classic(token: str) -> bool:
    prefix, _, rest = token.partition("_")
    if prefix not in ("ghp", "gho", "ghu", "ghs", "ghr") or len(rest) not in (36, 76):
        return False
    return crc_suffix(rest[:-6]) == rest[-6:]


def pat_checksum(head: str) -> str:
    return base64.b32encode(hashlib.sha256(head.encode("ascii")).digest()).decode()[:8]


def fine_grained(rng: random.Random) -> str:
    head = "github_pat_" + rand_str(rng, 22) + "_" + rand_str(rng, 43)
    return head + pat_checksum(head) + rand_str(rng, 8)


def check_fine_grained(token: str) -> bool:
    if not token.startswith("github_pat_") or len(token) != 93 or token[33] != "_":
        return False
    return pat_checksum(token[:77]) == token[77:85]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(rng: random.Random, claims: dict, sig_bytes: int = 256) -> str:
    header = {"alg": "RS256", "typ": "JWT", "kid": rand_str(rng, 16)}
    sig = bytes(rng.getrandbits(8) for _ in range(sig_bytes))
    return ".".join(
        [
            b64url(json.dumps(header, separators=(",", ":")).encode()),
            b64url(json.dumps(claims, separators=(",", ":")).encode()),
            b64url(sig),
        ]
    )


def ghs_stateless(rng: random.Random) -> str:
    app_id = str(rng.randint(100000, 9999999))
    claims = {
        "iss": "made-up-example-issuer",
        "iat": 1777000000,
        "exp": 1777003600,
        "aid": int(app_id),
        "iid": rng.randint(10_000_000, 99_999_999),
        "nonce": rand_str(rng, 24),
        "note": "leakscope example, never issued",
    }
    # A 128-byte signature keeps the whole token near GitHub's ~520 chars.
    return "ghs_" + app_id + "_" + jwt(rng, claims, sig_bytes=128)


def anaconda_api_key(rng: random.Random) -> str:
    claims = {
        "sub": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "exp": 1798761600,
        "iat": 1767225600,
        "scopes": ["cloud:read", "cloud:write"],
        "note": "leakscope example, never issued",
    }
    return jwt(rng, claims)


def anaconda_keyring_blob(rng: random.Random) -> str:
    info = {
        "domain": "anaconda.com",
        "api_key": anaconda_api_key(rng),
        "username": "example-user",
        "repo_tokens": [],
        "version": 1,
    }
    return base64.b64encode(json.dumps(info, separators=(",", ":")).encode()).decode()


def anaconda_org(rng: random.Random) -> str:
    prefix = rand_str(rng, 2, "abcdefghijklmnopqrstuvwxyz")
    return prefix + "-" + str(uuid.UUID(int=rng.getrandbits(128), version=4))


GENERATORS = {
    "ghp": lambda r: classic(r, "ghp_"),
    "gho": lambda r: classic(r, "gho_"),
    "ghu": lambda r: classic(r, "ghu_"),
    "ghs": lambda r: classic(r, "ghs_"),
    "ghr36": lambda r: classic(r, "ghr_"),
    "ghr76": lambda r: classic(r, "ghr_", 70),
    "github_pat": fine_grained,
    "ghs_stateless": ghs_stateless,
    "hex40": lambda r: rand_str(r, 40, "0123456789abcdef"),
    "anaconda_org": anaconda_org,
    "anaconda_repo": lambda r: rand_str(r, 48),
    "anaconda_jwt": anaconda_api_key,
    "anaconda_keyring": anaconda_keyring_blob,
}


def self_test() -> None:
    # Known-good public samples quoted in token-facts.md (used only to test the
    # checksum code here; never as rule examples).
    for good in ("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", "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"):  # leakscope:allow (public samples)
        assert check_classic(good), good
        bad = good[:10] + ("A" if good[10] != "A" else "B") + good[11:]
        assert not check_classic(bad), bad
    assert base62(0) == "000000" and base62(61) == "00000z" and base62(62) == "000010"
    rng = random.Random(1)
    for _ in range(200):
        assert check_classic(classic(rng, "ghp_"))
        assert check_classic(classic(rng, "ghr_", 70))
        assert check_fine_grained(fine_grained(rng))
    print("self-test ok")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--check", metavar="TOKEN")
    ap.add_argument("kind", nargs="?", choices=sorted(GENERATORS))
    ap.add_argument("count", nargs="?", type=int, default=1)
    args = ap.parse_args()
    if args.self_test:
        self_test()
        return
    if args.check:
        t = args.check
        ok = check_fine_grained(t) if t.startswith("github_pat_") else check_classic(t)
        print("checksum ok" if ok else "checksum FAILS")
        sys.exit(0 if ok else 1)
    if not args.kind:
        ap.error("KIND is required")
    # Mix the kind into the seed so different kinds never share a random part.
    rng = random.Random(None if args.seed is None else f"{args.seed}:{args.kind}")
    for _ in range(args.count):
        print(GENERATORS[args.kind](rng))


if __name__ == "__main__":
    main()
