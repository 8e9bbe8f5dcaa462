//! leakscope throughput benchmark: `leakscope scan` beside ripgrep, on a generated corpus.
//!
//! Speed is measured here, never by timed tests. This target is `harness = false` and
//! `test = false`: `cargo test` neither builds nor runs it, and it refuses to run unless
//! cargo passed `--bench` (so `cargo test --all-targets` cannot start a 500 MB run).
//!
//! # Usage
//!
//! ```text
//! cargo bench --bench scan                      # working-tree bench (default 520 MB corpus)
//! cargo bench --bench scan -- --git             # git-history bench (or LEAKSCOPE_BENCH=git)
//! cargo bench --bench scan -- --reps 7 --mb 600 --plants 400 --regen
//! ```
//!
//! Options (after `--`): `--git`, `--reps N` (timed runs per tool, median reported; one
//! untimed warm-up run each precedes them), `--mb N` (corpus size), `--plants N` (planted
//! tokens per kind), `--commits N` (git mode), `--regen` (rebuild the corpus even if the
//! parameters match), `--stop-on-fail` (stop timing once a leakscope run fails).
//! `LEAKSCOPE_BENCH_BIN=/path` replaces the leakscope binary (e.g. a stand-in while
//! `scan` is unfinished); by default it is the release binary cargo builds for this bench
//! (target/release/leakscope).
//!
//! Needs `rg` (ripgrep; `apt-get install -y ripgrep`), `/usr/bin/time` (peak RSS, GNU time;
//! `apt-get install -y time`) and, for `--git`, `git`.
//!
//! # What it does
//!
//! 1. Generates, deterministically from a fixed seed and without network, a corpus under
//!    `target/bench-corpus/` (reused when `params` there matches): tens of thousands of
//!    realistic-looking Python, JS, YAML, Markdown, JSON, shell, TOML and `.env` files in
//!    nested directories, a few lock-file-like and minified-like large files, `.gitignore`
//!    files (the ignored paths hold no tokens), planted tokens of every GitHub and Anaconda
//!    form and decoys that must not be reported. Ground truth is `truth.tsv` beside `tree/`.
//!    Every planted token is random, generated here, and was never issued by GitHub or
//!    Anaconda: the classic and fine-grained checksums are computed so they are
//!    well-formed, nothing more. Never commit the corpus.
//! 2. Runs `leakscope scan tree --format json --exit-zero` and
//!    `rg -c -F -i --hidden -e KW ... tree` (the literal `keywords` of rules/*.toml, the
//!    near-limit yardstick), interleaved, warm cache, both on all cores.
//! 3. Prints MB, files, median wall, MB/s, files/s, the leakscope/rg ratio, peak RSS, and
//!    recall / decoy false positives from leakscope's JSON (matched by path and line).
//!
//! Git mode builds `target/bench-git/repo` with `git fast-import` (thousands of commits,
//! in-place edits and appends so a planted line keeps its number; tokens added, some deleted
//! later) and times `leakscope scan --git REPO --format json --exit-zero` beside
//! `git cat-file --batch-all-objects --batch > /dev/null`, the single-threaded
//! decompression floor.
//!
//! Targets (issues): working tree: leakscope wall <= 1.5x rg, peak RSS < 100 MB.
//! Git history: leakscope wall <= the cat-file floor, peak RSS < 300 MB.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SEED: u64 = 0x1ea6_5c0f_e5ee_d001;
const GEN_VERSION: u32 = 4;

// ---------------------------------------------------------------- options

struct Opts {
    git: bool,
    reps: usize,
    mb: u64,
    plants: usize,
    commits: usize,
    regen: bool,
    stop_on_fail: bool,
}

fn parse_opts() -> Option<Opts> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("benches/scan.rs: not run (start it with `cargo bench --bench scan`)");
        return None;
    }
    let mut o = Opts {
        git: std::env::var("LEAKSCOPE_BENCH").is_ok_and(|v| v == "git"),
        reps: 5,
        mb: 520,
        plants: 300,
        commits: 4000,
        regen: false,
        stop_on_fail: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |name: &str| -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match a.as_str() {
            "--bench" => {}
            "--git" => o.git = true,
            "--reps" => o.reps = num("--reps").max(1) as usize,
            "--mb" => o.mb = num("--mb").max(1),
            "--plants" => o.plants = num("--plants").max(1) as usize,
            "--commits" => o.commits = num("--commits").max(10) as usize,
            "--regen" => o.regen = true,
            "--stop-on-fail" => o.stop_on_fail = true,
            other => eprintln!("ignoring unknown argument {other:?}"),
        }
    }
    Some(o)
}

// ---------------------------------------------------------------- rng

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }
    fn f64(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.f64().max(1e-12);
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    fn chars(&mut self, alphabet: &[u8], n: usize, out: &mut String) {
        for _ in 0..n {
            out.push(alphabet[self.below(alphabet.len())] as char);
        }
    }
}

// ---------------------------------------------------------------- tokens

const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";
const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base62_6(mut n: u32) -> String {
    let mut d = [b'0'; 6];
    for slot in d.iter_mut().rev() {
        *slot = B62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(d.to_vec()).unwrap()
}

/// `prefix` + random body of `len` base62 + CRC32/base62 checksum (GitHub's classic form).
fn classic(rng: &mut Rng, prefix: &str, len: usize) -> String {
    let mut body = String::new();
    rng.chars(B62, len, &mut body);
    format!(
        "{prefix}{body}{}",
        base62_6(crc32fast::hash(body.as_bytes()))
    )
}

fn base32_8(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let v = bytes[..5].iter().fold(0u64, |acc, &b| acc << 8 | b as u64);
    (0..8)
        .map(|i| A[(v >> (35 - 5 * i) & 31) as usize] as char)
        .collect()
}

/// `github_pat_` + 22 + `_` + 43 + base32(sha256(all before))[..8] + 8 unchecked.
fn fine_grained(rng: &mut Rng) -> String {
    use sha2::Digest;
    let mut s = String::from("github_pat_");
    rng.chars(B62, 22, &mut s);
    s.push('_');
    rng.chars(B62, 43, &mut s);
    let sum = sha2::Sha256::digest(s.as_bytes());
    s.push_str(&base32_8(&sum));
    rng.chars(B62, 8, &mut s);
    s
}

fn b64url(bytes: &[u8]) -> String {
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let v = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..=c.len() {
            out.push(B64URL[(v >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// New stateless installation token: `ghs_<APPID>_<JWT>`.
fn ghs_jwt(rng: &mut Rng) -> String {
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

fn uuid4(rng: &mut Rng) -> String {
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

fn anaconda_token(rng: &mut Rng) -> String {
    let mut p = String::new();
    rng.chars(LOWER, 2, &mut p);
    format!("{p}-{}", uuid4(rng))
}

/// Planted (must be found) kinds.
const KINDS: &[&str] = &[
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
const DECOYS: &[&str] = &[
    "bad_crc",
    "bad_pat_sum",
    "placeholder_x",
    "placeholder_angle",
    "placeholder_var",
    "sequence",
    "bare_uuid",
];

fn make_token(rng: &mut Rng, kind: &str) -> String {
    match kind {
        "ghp" | "gho" | "ghu" | "ghs" => classic(rng, &format!("{kind}_"), 30),
        "ghr36" => classic(rng, "ghr_", 30),
        "ghr76" => classic(rng, "ghr_", 70),
        "github_pat" => fine_grained(rng),
        "ghs_jwt" => ghs_jwt(rng),
        _ => anaconda_token(rng),
    }
}

fn flip_one(rng: &mut Rng, s: &str, from: usize, to: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    let i = rng.range(from, to - 1);
    let old = b[i];
    while b[i] == old {
        b[i] = *rng.pick(B62);
    }
    String::from_utf8(b).unwrap()
}

/// Decoy text (a whole value that must not be reported) and whether it is GitHub-ish.
fn make_decoy(rng: &mut Rng, kind: &str) -> (String, bool) {
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

// ---------------------------------------------------------------- text generation

const IDENTS: &[&str] = &[
    "user",
    "account",
    "session",
    "request",
    "response",
    "client",
    "server",
    "config",
    "settings",
    "cache",
    "store",
    "handler",
    "manager",
    "service",
    "router",
    "queue",
    "worker",
    "job",
    "task",
    "event",
    "message",
    "payload",
    "buffer",
    "stream",
    "reader",
    "writer",
    "parser",
    "token_count",
    "index",
    "offset",
    "limit",
    "page",
    "cursor",
    "result",
    "error",
    "status",
    "state",
    "context",
    "options",
    "params",
    "headers",
    "body",
    "path",
    "url",
    "host",
    "port",
    "timeout",
    "retries",
    "backoff",
    "logger",
    "metrics",
    "counter",
    "histogram",
    "registry",
    "plugin",
    "module",
    "package",
    "version",
    "release",
    "build",
    "artifact",
    "deploy",
    "cluster",
    "node",
    "pod",
    "volume",
    "secret_ref",
    "namespace",
    "label",
    "selector",
    "policy",
    "role",
    "permission",
    "scope",
    "owner",
    "member",
    "team",
    "project",
    "issue",
    "comment",
    "review",
    "commit",
    "branch",
    "tag",
    "diff",
    "patch",
    "file_name",
    "directory",
    "archive",
    "checksum",
    "digest",
    "schema",
    "table",
    "column",
    "row",
    "query",
    "filter",
    "order",
    "group",
    "items",
    "values",
    "keys",
    "mapping",
    "entries",
    "record",
    "snapshot",
    "batch",
    "chunk",
    "window",
    "interval",
    "deadline",
    "started_at",
    "updated_at",
    "created_by",
    "enabled",
    "visible",
    "width",
    "height",
    "color",
    "theme",
    "locale",
    "region",
    "zone",
    "tenant",
    "invoice",
    "price",
    "amount",
    "currency",
    "total",
    "score",
    "rank",
    "weight",
    "threshold",
    "sample",
    "model",
    "dataset",
    "feature",
    "vector",
    "matrix",
    "tensor",
    "epoch",
    "learning_rate",
    "optimizer",
    "loss",
    "accuracy",
    "channel",
    "environment",
    "dependency",
    "requirement",
    "lockfile",
    "manifest",
];

const WORDS: &[&str] = &[
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "for",
    "that",
    "with",
    "on",
    "as",
    "this",
    "be",
    "by",
    "it",
    "from",
    "we",
    "when",
    "if",
    "not",
    "are",
    "or",
    "returns",
    "value",
    "list",
    "current",
    "new",
    "old",
    "default",
    "optional",
    "required",
    "should",
    "must",
    "may",
    "handle",
    "handles",
    "update",
    "updates",
    "remove",
    "create",
    "fetch",
    "load",
    "save",
    "parse",
    "validate",
    "render",
    "compute",
    "merge",
    "split",
    "sort",
    "check",
    "ensure",
    "retry",
    "log",
    "skip",
    "ignore",
    "keep",
    "use",
    "uses",
    "call",
    "calls",
    "wrap",
    "see",
    "note",
    "because",
    "otherwise",
    "before",
    "after",
    "until",
    "while",
    "each",
    "every",
    "all",
    "none",
    "some",
    "first",
    "last",
    "next",
    "previous",
    "empty",
    "missing",
    "invalid",
    "stale",
    "cached",
    "pending",
    "running",
    "failed",
    "done",
    "request",
    "response",
    "file",
    "line",
    "user",
    "config",
    "build",
    "test",
    "release",
    "deploy",
    "server",
    "client",
    "database",
    "cache",
    "queue",
    "workflow",
    "package",
    "environment",
    "channel",
    "access",
    "permissions",
    "scope",
];

const TYPES: &[&str] = &[
    "Client",
    "Server",
    "Config",
    "Handler",
    "Manager",
    "Service",
    "Router",
    "Worker",
    "Parser",
    "Reader",
    "Writer",
    "Store",
    "Cache",
    "Registry",
    "Session",
    "Request",
    "Response",
    "Event",
    "Queue",
    "Pipeline",
    "Scheduler",
    "Resolver",
    "Builder",
    "Factory",
    "Adapter",
    "Validator",
];

const CHANNELS: &[&str] = &[
    "internal",
    "private-forge",
    "acme",
    "ml-team",
    "research",
    "prod-pkgs",
    "data-eng",
    "bioinfo",
    "nightly",
    "vendor",
];

fn ident<'a>(r: &mut Rng) -> &'a str {
    IDENTS[r.below(IDENTS.len())]
}

fn sentence(r: &mut Rng, out: &mut Vec<u8>) {
    let n = r.range(4, 14);
    for i in 0..n {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(r.pick(WORDS).as_bytes());
    }
    out.push(b'.');
}

fn camel(r: &mut Rng, out: &mut Vec<u8>) {
    out.extend_from_slice(r.pick(TYPES).as_bytes());
    out.extend_from_slice(r.pick(TYPES).as_bytes());
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lang {
    Py,
    Js,
    Yaml,
    Md,
    Json,
    Sh,
    Toml,
    Env,
    Log,
    NpmLock,
    YarnLock,
    CondaLock,
    MinJs,
}

fn ext(l: Lang) -> &'static str {
    match l {
        Lang::Py => "py",
        Lang::Js => "js",
        Lang::Yaml => "yaml",
        Lang::Md => "md",
        Lang::Json => "json",
        Lang::Sh => "sh",
        Lang::Toml => "toml",
        Lang::Env => "env",
        Lang::Log => "log",
        Lang::NpmLock | Lang::YarnLock | Lang::CondaLock | Lang::MinJs => "",
    }
}

fn header(l: Lang, r: &mut Rng, o: &mut Vec<u8>) {
    match l {
        Lang::Py => {
            o.extend_from_slice(b"\"\"\"");
            sentence(r, o);
            o.extend_from_slice(b"\"\"\"\n\nimport json\nimport logging\nimport os\n");
            for _ in 0..r.range(1, 4) {
                let _ = writeln!(o, "from {}.{} import {}", ident(r), ident(r), ident(r));
            }
            o.extend_from_slice(b"\nlog = logging.getLogger(__name__)\n\n");
        }
        Lang::Js => {
            o.extend_from_slice(b"'use strict';\n\n");
            for _ in 0..r.range(1, 4) {
                let a = ident(r);
                let _ = writeln!(o, "const {a} = require('./{a}');");
            }
            o.push(b'\n');
        }
        Lang::Json => o.extend_from_slice(b"{\n"),
        Lang::Sh => o.extend_from_slice(b"#!/usr/bin/env bash\nset -euo pipefail\n\n"),
        Lang::Yaml => {
            if r.chance(0.4) {
                o.extend_from_slice(b"name: ci\non:\n  push:\n    branches: [main]\npermissions:\n  contents: read\njobs:\n");
            } else {
                o.extend_from_slice(b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ");
                o.extend_from_slice(ident(r).as_bytes());
                o.extend_from_slice(b"\nspec:\n");
            }
        }
        Lang::Md => {
            o.extend_from_slice(b"# ");
            camel(r, o);
            o.extend_from_slice(b"\n\n");
        }
        Lang::NpmLock => o.extend_from_slice(
            b"{\n  \"name\": \"app\",\n  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {\n",
        ),
        Lang::YarnLock => o.extend_from_slice(
            b"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n",
        ),
        Lang::CondaLock => o.extend_from_slice(
            b"# This file may be used to create an environment using:\n# $ conda create --name <env> --file <this file>\n# platform: linux-64\n@EXPLICIT\n",
        ),
        _ => {}
    }
}

fn footer(l: Lang, o: &mut Vec<u8>) {
    match l {
        Lang::Json => o.extend_from_slice(b"  \"_end\": true\n}\n"),
        Lang::NpmLock => o.extend_from_slice(b"    \"\": {}\n  }\n}\n"),
        Lang::MinJs => o.extend_from_slice(b"}();\n"),
        Lang::Py => o.extend_from_slice(b"\nif __name__ == \"__main__\":\n    main()\n"),
        _ => {}
    }
}

/// Appends one block of whole lines (ends with '\n'), except MinJs (one long line).
fn block(l: Lang, r: &mut Rng, o: &mut Vec<u8>) {
    match l {
        Lang::Py => {
            if r.chance(0.3) {
                o.extend_from_slice(b"class ");
                camel(r, o);
                o.extend_from_slice(b"(object):\n    \"\"\"");
                sentence(r, o);
                o.extend_from_slice(b"\"\"\"\n\n");
            }
            let (f, a, b) = (ident(r), ident(r), ident(r));
            let _ = writeln!(o, "    def {f}(self, {a}, {b}=None):");
            o.extend_from_slice(b"        # ");
            sentence(r, o);
            o.push(b'\n');
            for _ in 0..r.range(2, 9) {
                let (x, y, z) = (ident(r), ident(r), ident(r));
                match r.below(6) {
                    0 => {
                        let _ = writeln!(o, "        if {a} is None:\n            raise ValueError(\"{x} must be set for {y}\")");
                    }
                    1 => {
                        let _ = writeln!(
                            o,
                            "        {x} = [{z} for {z} in self.{y} if {z}.{b} > {}]",
                            r.below(1000)
                        );
                    }
                    2 => {
                        let _ = writeln!(o, "        log.debug(\"{x} %s -> %s\", {a}, self.{y})");
                    }
                    3 => {
                        let _ = writeln!(
                            o,
                            "        self.{x} = {{\"{y}\": {a}, \"{z}\": {}}}",
                            r.below(65536)
                        );
                    }
                    4 => {
                        let _ = writeln!(
                            o,
                            "        for {z} in {a}:\n            self.{x}.append({z}.{y})"
                        );
                    }
                    _ => {
                        let _ = writeln!(
                            o,
                            "        {x} = os.environ.get(\"{}\", \"{y}\")",
                            x.to_uppercase()
                        );
                    }
                }
            }
            let _ = writeln!(o, "        return self.{}\n", ident(r));
        }
        Lang::Js => {
            let (f, a, b) = (ident(r), ident(r), ident(r));
            o.extend_from_slice(b"/**\n * ");
            sentence(r, o);
            let _ = writeln!(o, "\n */\nasync function {f}({a}, {b} = {{}}) {{");
            for _ in 0..r.range(2, 9) {
                let (x, y) = (ident(r), ident(r));
                match r.below(5) {
                    0 => {
                        let _ = writeln!(o, "  const {x} = await {a}.{y}({b});");
                    }
                    1 => {
                        let _ = writeln!(
                            o,
                            "  if (!{x}) {{\n    throw new Error(`missing {y}: ${{{a}}}`);\n  }}"
                        );
                    }
                    2 => {
                        let _ = writeln!(o, "  const {x} = {b}.{y} ?? {};", r.below(10000));
                    }
                    3 => {
                        let _ = writeln!(o, "  logger.info('{x} updated', {{ {y}: {a}.{y} }});");
                    }
                    _ => {
                        let _ = writeln!(
                            o,
                            "  for (const item of {a}.{x}) {{\n    {b}[item.{y}] = item;\n  }}"
                        );
                    }
                }
            }
            let _ = writeln!(o, "  return {b};\n}}\n\nmodule.exports.{f} = {f};\n");
        }
        Lang::Yaml => {
            let n = ident(r);
            let _ = writeln!(o, "  {n}:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - name: {} {}", r.pick(WORDS), ident(r));
            for _ in 0..r.range(1, 5) {
                let _ = writeln!(
                    o,
                    "        run: make {} {}={}",
                    ident(r),
                    ident(r).to_uppercase(),
                    r.below(100)
                );
                let _ = writeln!(o, "      - name: {} {}", r.pick(WORDS), r.pick(WORDS));
            }
            let _ = writeln!(
                o,
                "        env:\n          {}: \"{}\"\n          LOG_LEVEL: info",
                ident(r).to_uppercase(),
                r.below(1 << 20)
            );
        }
        Lang::Md => {
            let _ = write!(o, "## {} {}\n\n", r.pick(TYPES), ident(r));
            for _ in 0..r.range(1, 4) {
                for _ in 0..r.range(2, 6) {
                    sentence(r, o);
                    o.push(b' ');
                }
                o.extend_from_slice(b"\n\n");
            }
            if r.chance(0.4) {
                let _ = write!(o, "```bash\npip install {}\nconda install -c conda-forge {}\ngit clone https://github.com/{}/{}.git\n```\n\n", ident(r), ident(r), ident(r), ident(r));
            }
            if r.chance(0.3) {
                let _ = write!(
                    o,
                    "- [{}](https://github.com/{}/{}/blob/main/docs/{}.md)\n\n",
                    r.pick(WORDS),
                    ident(r),
                    ident(r),
                    ident(r)
                );
            }
        }
        Lang::Json => {
            for _ in 0..r.range(3, 12) {
                let k = ident(r);
                match r.below(4) {
                    0 => {
                        let _ = writeln!(o, "  \"{k}\": {},", r.below(100000));
                    }
                    1 => {
                        let _ = writeln!(o, "  \"{k}\": \"{}-{}\",", ident(r), ident(r));
                    }
                    2 => {
                        let _ = writeln!(
                            o,
                            "  \"{k}\": [\"{}\", \"{}\", \"{}\"],",
                            ident(r),
                            ident(r),
                            ident(r)
                        );
                    }
                    _ => {
                        let _ = writeln!(
                            o,
                            "  \"{k}\": {{ \"{}\": {}, \"{}\": \"{}\" }},",
                            ident(r),
                            r.chance(0.5),
                            ident(r),
                            ident(r)
                        );
                    }
                }
            }
        }
        Lang::Sh => {
            o.extend_from_slice(b"# ");
            sentence(r, o);
            let f = ident(r);
            let _ = writeln!(o, "\n{f}() {{\n  local {}=\"$1\"", ident(r));
            for _ in 0..r.range(2, 7) {
                match r.below(4) {
                    0 => {
                        let _ = writeln!(o, "  echo \"{} ${{{}}}\" >&2", r.pick(WORDS), ident(r));
                    }
                    1 => {
                        let _ = writeln!(
                            o,
                            "  if [ -z \"${{{}:-}}\" ]; then\n    return 1\n  fi",
                            ident(r).to_uppercase()
                        );
                    }
                    2 => {
                        let _ = writeln!(
                            o,
                            "  curl -fsSL \"https://example.com/{}/{}\" -o \"/tmp/{}\"",
                            ident(r),
                            ident(r),
                            ident(r)
                        );
                    }
                    _ => {
                        let _ = writeln!(
                            o,
                            "  conda run -n {} python -m {} --{} {}",
                            ident(r),
                            ident(r),
                            ident(r),
                            r.below(64)
                        );
                    }
                }
            }
            o.extend_from_slice(b"}\n\n");
        }
        Lang::Toml => {
            let _ = writeln!(o, "[{}.{}]", ident(r), ident(r));
            for _ in 0..r.range(2, 8) {
                let _ = writeln!(o, "{} = \"{}\"", ident(r), ident(r));
            }
            o.push(b'\n');
        }
        Lang::Env => {
            let _ = writeln!(o, "{}={}", ident(r).to_uppercase(), ident(r));
        }
        Lang::Log => {
            let _ = writeln!(
                o,
                "2024-0{}-1{}T0{}:{}{}:00Z INFO {} {} {} {}ms",
                r.range(1, 9),
                r.below(10),
                r.below(10),
                r.below(6),
                r.below(10),
                ident(r),
                r.pick(WORDS),
                ident(r),
                r.below(5000)
            );
        }
        Lang::NpmLock => {
            let (p, s) = (ident(r).replace('_', "-"), ident(r).replace('_', "-"));
            let v = format!("{}.{}.{}", r.below(20), r.below(30), r.below(50));
            let mut integ = Vec::with_capacity(64);
            for _ in 0..64 {
                integ.push(r.next() as u8);
            }
            let _ = write!(o, "    \"node_modules/{p}-{s}\": {{\n      \"version\": \"{v}\",\n      \"resolved\": \"https://registry.npmjs.org/{p}-{s}/-/{p}-{s}-{v}.tgz\",\n      \"integrity\": \"sha512-{}\",\n      \"dev\": {},\n      \"dependencies\": {{\n        \"{}\": \"^{}.0.0\"\n      }}\n    }},\n", b64url(&integ).replace(['-', '_'], "+"), r.chance(0.3), ident(r).replace('_', "-"), r.below(9));
        }
        Lang::YarnLock => {
            let p = ident(r).replace('_', "-");
            let v = format!("{}.{}.{}", r.below(20), r.below(30), r.below(50));
            let mut sha = String::new();
            r.chars(HEX, 40, &mut sha);
            let _ = write!(o, "{p}@^{v}:\n  version \"{v}\"\n  resolved \"https://registry.yarnpkg.com/{p}/-/{p}-{v}.tgz#{sha}\"\n  dependencies:\n    {} \"^{}.0\"\n\n", ident(r).replace('_', "-"), r.below(9));
        }
        Lang::CondaLock => {
            let mut md5 = String::new();
            r.chars(HEX, 32, &mut md5);
            let _ = writeln!(
                o,
                "https://conda.anaconda.org/conda-forge/linux-64/{}-{}.{}.{}-h{}_0.conda#{md5}",
                ident(r).replace('_', "-"),
                r.below(9),
                r.below(30),
                r.below(20),
                &md5[..7]
            );
        }
        Lang::MinJs => {
            for _ in 0..8 {
                let (a, b) = (r.pick(LOWER_ID), r.pick(LOWER_ID));
                let _ = write!(
                    o,
                    "function {a}{}({b}){{return {b}.{}?{a}.{}({b}):void 0}}var {b}{}={};",
                    r.below(99),
                    ident(r),
                    ident(r),
                    r.below(99),
                    r.below(1 << 16)
                );
            }
        }
    }
}

const LOWER_ID: &[&str] = &["e", "t", "n", "r", "o", "i", "a", "s", "u", "c", "l"];

const GHVARS: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_PAT",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_API_TOKEN",
];

fn ghvar(r: &mut Rng) -> &'static str {
    GHVARS[r.below(GHVARS.len())]
}

/// One line (no '\n') carrying `val` in the idiom of `l`. `anaconda` picks the context:
/// None = a GitHub-ish value, Some(true) = channel URL, Some(false) = ANACONDA_API_TOKEN=.
fn carrier(l: Lang, r: &mut Rng, val: &str, anaconda: Option<bool>) -> String {
    let ch = r.pick(CHANNELS);
    match anaconda {
        Some(true) => {
            let url = format!("https://conda.anaconda.org/t/{val}/{ch}");
            match l {
                Lang::Py => format!("    CONDA_CHANNEL = \"{url}\""),
                Lang::Js => format!("const condaChannel = '{url}';"),
                Lang::Yaml => format!("  - {url}"),
                Lang::Md => format!("    conda config --add channels {url}"),
                Lang::Json | Lang::NpmLock => format!("  \"channel_url\": \"{url}\","),
                Lang::Sh => format!("conda install -y -c {url} {}", ident(r)),
                Lang::Toml => format!("channel = \"{url}\""),
                Lang::Env => format!("CONDA_CHANNEL_URL={url}"),
                Lang::CondaLock => format!("{url}/linux-64/{}-1.{}.0-py311_0.conda#{}", ident(r).replace('_', "-"), r.below(20), "0".repeat(32)),
                _ => format!("channels: [{url}]"),
            }
        }
        Some(false) => match l {
            Lang::Py => format!("    subprocess.run(\"ANACONDA_API_TOKEN={val} anaconda upload dist/*.conda\", shell=True, check=True)"),
            Lang::Js => format!("execSync('ANACONDA_API_TOKEN={val} anaconda upload build/pkg.tar.bz2');"),
            Lang::Yaml => format!("        run: ANACONDA_API_TOKEN={val} anaconda upload --user {ch} dist/*.conda"),
            Lang::Md => format!("    ANACONDA_API_TOKEN={val} anaconda upload dist/*.tar.bz2"),
            Lang::Json => format!("  \"upload\": \"ANACONDA_API_TOKEN={val} anaconda upload dist/*.conda\","),
            Lang::Sh => format!("export ANACONDA_API_TOKEN={val}"),
            Lang::Toml => format!("upload-cmd = \"ANACONDA_API_TOKEN={val} anaconda upload\""),
            _ => format!("ANACONDA_API_TOKEN={val}"),
        },
        None => {
            let v = ghvar(r);
            match (l, r.below(3)) {
                (Lang::Py, 0) => format!("{v} = \"{val}\""),
                (Lang::Py, 1) => format!("        headers = {{\"Authorization\": \"token {val}\"}}"),
                (Lang::Py, _) => format!("    os.environ[\"{v}\"] = \"{val}\""),
                (Lang::Js, 0) => format!("const githubToken = '{val}';"),
                (Lang::Js, 1) => format!("  headers: {{ Authorization: `Bearer {val}` }},"),
                (Lang::Js, _) => format!("process.env.{v} = \"{val}\";"),
                (Lang::Yaml, 0) => format!("          {v}: {val}"),
                (Lang::Yaml, 1) => format!("    password: \"{val}\""),
                (Lang::Yaml, _) => format!("        run: gh auth login --with-token <<< {val}"),
                (Lang::Md, 0) => format!("    export {v}={val}"),
                (Lang::Md, 1) => format!("Use the token `{val}` for the mirror."),
                (Lang::Md, _) => format!("    git clone https://{val}@github.com/acme/{}.git", ident(r)),
                (Lang::Json, _) | (Lang::NpmLock, _) => format!("  \"github_token\": \"{val}\","),
                (Lang::Sh, 0) => format!("export {v}=\"{val}\""),
                (Lang::Sh, 1) => format!("curl -H \"Authorization: token {val}\" https://api.github.com/user"),
                (Lang::Sh, _) => format!("git remote set-url origin https://x-access-token:{val}@github.com/acme/{}.git", ident(r)),
                (Lang::Toml, _) => format!("github_token = \"{val}\""),
                (Lang::YarnLock, _) => format!("  resolved \"https://{val}@github.com/acme/{}.git\"", ident(r)),
                (Lang::CondaLock, _) => format!("# GITHUB_TOKEN={val}"),
                _ => format!("{v}={val}"),
            }
        }
    }
}

// ---------------------------------------------------------------- working-tree corpus

struct FileSpec {
    path: String,
    lang: Lang,
    size: usize,
    ignored: bool,
    items: Vec<Item>,
}

#[derive(Clone)]
struct Item {
    kind: &'static str,
    decoy: bool,
}

struct Truth {
    path: String,
    line: usize,
    kind: String,
    decoy: bool,
}

struct Corpus {
    root: PathBuf,
    files: usize,
    bytes: u64,
    scanned_files: usize,
    scanned_bytes: u64,
    truth: Vec<Truth>,
}

fn plan_corpus(o: &Opts) -> Vec<FileSpec> {
    let mut r = Rng::new(SEED);
    let target = o.mb * 1_000_000;
    let mut specs: Vec<FileSpec> = Vec::new();
    let mut total = 0u64;
    let mut seen: HashSet<String> = HashSet::new();
    let projects: Vec<String> = (0..24)
        .map(|i| {
            format!(
                "{}-{}",
                IDENTS[(i * 7 + 3) % IDENTS.len()].replace('_', "-"),
                TYPES[i % TYPES.len()].to_lowercase()
            )
        })
        .collect();
    // Root .gitignore plus one per project; the ignored paths (build/, *.log) hold no tokens.
    specs.push(FileSpec {
        path: ".gitignore".into(),
        lang: Lang::Env,
        size: 0,
        ignored: false,
        items: vec![],
    });
    for p in &projects {
        specs.push(FileSpec {
            path: format!("{p}/.gitignore"),
            lang: Lang::Env,
            size: 0,
            ignored: false,
            items: vec![],
        });
    }
    // Large files: lock-file-like (~12%) and minified-like (~6%).
    let mut big = 0u64;
    let mut n = 0;
    while big < target * 18 / 100 {
        let p = r.pick(&projects).clone();
        let (lang, path, size) = match n % 5 {
            0 => (
                Lang::NpmLock,
                format!("{p}/web/package-lock.json"),
                r.range(2_000_000, 8_000_000),
            ),
            1 => (
                Lang::YarnLock,
                format!("{p}/frontend/yarn.lock"),
                r.range(1_000_000, 5_000_000),
            ),
            2 => (
                Lang::CondaLock,
                format!("{p}/conda-linux-64.lock"),
                r.range(200_000, 1_000_000),
            ),
            _ => (
                Lang::MinJs,
                format!(
                    "{p}/static/js/{}.{}.min.js",
                    ident(&mut r),
                    r.below(1 << 24)
                ),
                r.range(300_000, 3_000_000),
            ),
        };
        n += 1;
        if !seen.insert(path.clone()) {
            continue;
        }
        big += size as u64;
        specs.push(FileSpec {
            path,
            lang,
            size,
            ignored: false,
            items: vec![],
        });
    }
    total += big;
    let langs: &[(Lang, u32)] = &[
        (Lang::Py, 25),
        (Lang::Js, 20),
        (Lang::Yaml, 12),
        (Lang::Md, 12),
        (Lang::Json, 12),
        (Lang::Sh, 7),
        (Lang::Toml, 5),
        (Lang::Env, 2),
        (Lang::Log, 2),
    ];
    let wsum: u32 = langs.iter().map(|x| x.1).sum();
    let mut i = 0usize;
    while total < target {
        let mut w = r.below(wsum as usize) as u32;
        let mut lang = Lang::Py;
        for &(l, lw) in langs {
            if w < lw {
                lang = l;
                break;
            }
            w -= lw;
        }
        let p = r.pick(&projects).clone();
        let mut dir = p.clone();
        let ignored = lang == Lang::Log || r.chance(0.02);
        let top = match lang {
            Lang::Yaml if r.chance(0.3) => ".github/workflows",
            Lang::Md => "docs",
            Lang::Sh => "scripts",
            Lang::Env | Lang::Toml => "config",
            _ if ignored => "build",
            _ => *r.pick(&["src", "src", "lib", "tests", "app", "pkg"]),
        };
        dir.push('/');
        dir.push_str(top);
        if ignored && lang != Lang::Log {
            dir = format!("{p}/build/{}", r.pick(&["lib", "gen", "out"]));
        }
        for _ in 0..r.below(3) {
            dir.push('/');
            dir.push_str(IDENTS[r.below(8)]);
        }
        let name = if lang == Lang::Env {
            format!("{dir}/.env.{}{i}", ident(&mut r))
        } else {
            format!("{dir}/{}_{}{i}.{}", ident(&mut r), r.below(100), ext(lang))
        };
        i += 1;
        // log-normal sizes: median ~6 KB, mean ~10 KB, cap 400 KB
        let size = ((6000.0 * r.normal().exp()) as usize).clamp(200, 400_000);
        total += size as u64;
        specs.push(FileSpec {
            path: name,
            lang,
            size,
            ignored,
            items: vec![],
        });
    }
    // Assign planted tokens and decoys to eligible (non-ignored, generated) files.
    let eligible: Vec<usize> = (0..specs.len())
        .filter(|&k| !specs[k].ignored && !specs[k].path.ends_with(".gitignore"))
        .collect();
    let assign = |item: Item, r: &mut Rng, specs: &mut Vec<FileSpec>| loop {
        let k = eligible[r.below(eligible.len())];
        let s = &mut specs[k];
        if s.lang == Lang::MinJs && (!s.items.is_empty() || item.kind.starts_with("anaconda")) {
            continue;
        }
        s.items.push(item);
        return;
    };
    for kind in KINDS {
        let count = if *kind == "ghs_jwt" {
            o.plants / 3
        } else {
            o.plants
        };
        for _ in 0..count {
            assign(Item { kind, decoy: false }, &mut r, &mut specs);
        }
    }
    for kind in DECOYS {
        for _ in 0..o.plants / 3 {
            assign(Item { kind, decoy: true }, &mut r, &mut specs);
        }
    }
    specs
}

fn gitignore_text(root: bool) -> &'static str {
    if root {
        "# generated bench corpus\n*.log\n__pycache__/\n*.pyc\nnode_modules/\n.venv/\n"
    } else {
        "build/\ndist/\n*.log\ncoverage/\n"
    }
}

/// Generates one file into `buf`; returns (path, line, kind, decoy) of its items.
fn gen_file(spec: &FileSpec, idx: usize, buf: &mut Vec<u8>) -> Vec<Truth> {
    let mut r = Rng::new(SEED ^ (idx as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
    buf.clear();
    if spec.path.ends_with(".gitignore") {
        buf.extend_from_slice(gitignore_text(!spec.path.contains('/')).as_bytes());
        return vec![];
    }
    let mut at: Vec<(usize, Item)> = spec
        .items
        .iter()
        .map(|it| (r.below(spec.size.max(1)), it.clone()))
        .collect();
    at.sort_by_key(|x| x.0);
    let mut truth = Vec::new();
    let mut lines = 0usize;
    header(spec.lang, &mut r, buf);
    let mut counted = 0;
    let mut next = 0;
    loop {
        while next < at.len() && (at[next].0 <= buf.len() || buf.len() >= spec.size) {
            lines += buf[counted..].iter().filter(|&&b| b == b'\n').count();
            let it = &at[next].1;
            let line = if spec.lang == Lang::MinJs {
                let (v, _) = value_for(it, &mut r);
                let _ = write!(buf, "var _cfg={{auth:\"{v}\"}};");
                1
            } else {
                let (v, ctx) = value_for(it, &mut r);
                let text = carrier(spec.lang, &mut r, &v, ctx);
                buf.extend_from_slice(text.as_bytes());
                buf.push(b'\n');
                lines += 1;
                lines
            };
            counted = buf.len();
            truth.push(Truth {
                path: spec.path.clone(),
                line,
                kind: it.kind.to_string(),
                decoy: it.decoy,
            });
            next += 1;
        }
        if buf.len() >= spec.size {
            break;
        }
        block(spec.lang, &mut r, buf);
    }
    footer(spec.lang, buf);
    truth
}

/// The value to plant for an item and its carrier context.
fn value_for(it: &Item, r: &mut Rng) -> (String, Option<bool>) {
    if !it.decoy {
        let ctx = match it.kind {
            "anaconda_url" => Some(true),
            "anaconda_env" => Some(false),
            _ => None,
        };
        return (make_token(r, it.kind), ctx);
    }
    let (v, gh) = make_decoy(r, it.kind);
    let ctx = if it.kind == "bare_uuid" {
        // a UUID in an innocuous place: the carrier is GitHub-ish text, never `xx-`
        None
    } else if gh {
        None
    } else {
        Some(r.chance(0.5))
    };
    (v, ctx)
}

fn corpus_params(o: &Opts) -> String {
    format!(
        "v{GEN_VERSION} seed={SEED:x} mb={} plants={}\n",
        o.mb, o.plants
    )
}

fn build_corpus(o: &Opts, base: &Path) -> Corpus {
    let root = base.join("tree");
    let params_path = base.join("params");
    let truth_path = base.join("truth.tsv");
    let stats_path = base.join("stats");
    let want = corpus_params(o);
    if !o.regen && fs::read_to_string(&params_path).ok().as_deref() == Some(want.as_str()) {
        if let (Ok(t), Ok(s)) = (
            fs::read_to_string(&truth_path),
            fs::read_to_string(&stats_path),
        ) {
            let v: Vec<u64> = s
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            if v.len() == 4 {
                println!("corpus: reusing {} ({})", root.display(), want.trim());
                return Corpus {
                    root,
                    files: v[0] as usize,
                    bytes: v[1],
                    scanned_files: v[2] as usize,
                    scanned_bytes: v[3],
                    truth: parse_truth(&t),
                };
            }
        }
    }
    let t0 = Instant::now();
    let _ = fs::remove_file(&params_path);
    if root.exists() {
        fs::remove_dir_all(&root).expect("remove old corpus");
    }
    let specs = plan_corpus(o);
    // Two writer threads; each file's content depends only on (SEED, index).
    let threads = 2;
    let results: Vec<(Vec<Truth>, u64, u64, usize)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let specs = &specs;
                let root = &root;
                s.spawn(move || {
                    let mut buf = Vec::with_capacity(1 << 20);
                    let mut truth = Vec::new();
                    let (mut bytes, mut sbytes, mut sfiles) = (0u64, 0u64, 0usize);
                    let mut made: HashSet<PathBuf> = HashSet::new();
                    for (i, spec) in specs.iter().enumerate().skip(t).step_by(threads) {
                        truth.extend(gen_file(spec, i, &mut buf));
                        let p = root.join(&spec.path);
                        let dir = p.parent().unwrap().to_path_buf();
                        if !made.contains(&dir) {
                            fs::create_dir_all(&dir).expect("mkdir");
                            made.insert(dir);
                        }
                        fs::write(&p, &buf).expect("write corpus file");
                        bytes += buf.len() as u64;
                        if !spec.ignored {
                            sbytes += buf.len() as u64;
                            sfiles += 1;
                        }
                    }
                    (truth, bytes, sbytes, sfiles)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut truth = Vec::new();
    let (mut bytes, mut sbytes, mut sfiles) = (0, 0, 0);
    for (t, b, sb, sf) in results {
        truth.extend(t);
        bytes += b;
        sbytes += sb;
        sfiles += sf;
    }
    truth.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    let mut tsv =
        String::from("# path\tline\tkind\tclass (plant = must be found, decoy = must not)\n");
    for t in &truth {
        let _ = writeln!(
            tsv,
            "{}\t{}\t{}\t{}",
            t.path,
            t.line,
            t.kind,
            if t.decoy { "decoy" } else { "plant" }
        );
    }
    fs::write(&truth_path, tsv).unwrap();
    fs::write(
        &stats_path,
        format!("{} {} {} {}\n", specs.len(), bytes, sfiles, sbytes),
    )
    .unwrap();
    fs::write(&params_path, &want).unwrap();
    println!(
        "corpus: generated {} files, {:.1} MB in {:.1}s at {}",
        specs.len(),
        bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64(),
        root.display()
    );
    Corpus {
        root,
        files: specs.len(),
        bytes,
        scanned_files: sfiles,
        scanned_bytes: sbytes,
        truth,
    }
}

fn parse_truth(t: &str) -> Vec<Truth> {
    t.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 4).then(|| Truth {
                path: f[0].to_string(),
                line: f[1].parse().unwrap_or(0),
                kind: f[2].to_string(),
                decoy: f[3] == "decoy",
            })
        })
        .collect()
}

// ---------------------------------------------------------------- measuring

struct Run {
    wall: Duration,
    rss_kb: Option<u64>,
    ok: bool,
    code: Option<i32>,
    stderr: String,
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs `argv` under `/usr/bin/time -f %M` (peak RSS in KB), stdout to `out`.
fn run_once(argv: &[String], out: &Path, work: &Path) -> Run {
    let time_out = work.join("time.out");
    let use_time = Path::new("/usr/bin/time").exists();
    let mut cmd = if use_time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg("-o").arg(&time_out).args(argv);
        c
    } else {
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]);
        c
    };
    let stdout = fs::File::create(out).expect("create output file");
    let err_path = work.join("stderr.out");
    let stderr = fs::File::create(&err_path).expect("create stderr file");
    let t0 = Instant::now();
    let status = cmd
        .stdout(stdout)
        .stderr(stderr)
        .stdin(Stdio::null())
        .status();
    let wall = t0.elapsed();
    let rss_kb = if use_time {
        fs::read_to_string(&time_out)
            .ok()
            .and_then(|s| s.lines().filter_map(|l| l.trim().parse().ok()).next_back())
    } else {
        None
    };
    let mut err = fs::read_to_string(&err_path).unwrap_or_default();
    err = err
        .lines()
        .filter(|l| !l.starts_with("Command exited with non-zero status"))
        .collect::<Vec<_>>()
        .join("\n");
    match status {
        Ok(s) => Run {
            wall,
            rss_kb,
            ok: s.success(),
            code: s.code(),
            stderr: err,
        },
        Err(e) => Run {
            wall,
            rss_kb: None,
            ok: false,
            code: None,
            stderr: format!("cannot start: {e}"),
        },
    }
}

struct Stats {
    label: String,
    walls: Vec<f64>,
    rss_kb: u64,
    failed: Option<String>,
}

impl Stats {
    fn new(label: &str) -> Stats {
        Stats {
            label: label.into(),
            walls: vec![],
            rss_kb: 0,
            failed: None,
        }
    }
    fn add(&mut self, r: &Run) {
        if !r.ok && self.failed.is_none() {
            let head: String = r.stderr.lines().take(6).collect::<Vec<_>>().join("\n    ");
            self.failed = Some(format!("exit {:?}: {head}", r.code));
        }
        self.walls.push(r.wall.as_secs_f64());
        self.rss_kb = self.rss_kb.max(r.rss_kb.unwrap_or(0));
    }
    fn median(&self) -> f64 {
        let mut w = self.walls.clone();
        w.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if w.is_empty() {
            return f64::NAN;
        }
        let n = w.len();
        if n % 2 == 1 {
            w[n / 2]
        } else {
            (w[n / 2 - 1] + w[n / 2]) / 2.0
        }
    }
    fn min(&self) -> f64 {
        self.walls.iter().cloned().fold(f64::INFINITY, f64::min)
    }
    fn print(&self, mb: f64, files: Option<usize>) {
        let m = self.median();
        let rss = if self.rss_kb > 0 {
            format!("{:.1} MB", self.rss_kb as f64 / 1024.0)
        } else {
            "n/a".into()
        };
        let fps = files
            .map(|f| format!("{:>10.0}", f as f64 / m))
            .unwrap_or_else(|| format!("{:>10}", "-"));
        println!(
            "  {:<34} {:>8.3} {:>8.3} {:>9.1} {} {:>10}{}",
            self.label,
            m,
            self.min(),
            mb / m,
            fps,
            rss,
            if self.failed.is_some() {
                "  (FAILED, see below)"
            } else {
                ""
            }
        );
    }
}

fn table_header(unit: &str) {
    println!(
        "  {:<34} {:>8} {:>8} {:>9} {:>10} {:>10}",
        "tool", "median s", "min s", unit, "files/s", "peak RSS"
    );
}

/// The `keywords` arrays of rules/*.toml (any table, any depth); a fallback if none.
fn rule_keywords(dir: &Path) -> (Vec<String>, String) {
    fn walk(v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    if k == "keywords" {
                        if let toml::Value::Array(a) = v {
                            out.extend(a.iter().filter_map(|x| x.as_str().map(str::to_string)));
                        }
                    } else {
                        walk(v, out);
                    }
                }
            }
            toml::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut kws = Vec::new();
    let mut files = 0;
    let mut bad = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        {
            match fs::read_to_string(p).map(|s| s.parse::<toml::Table>()) {
                Ok(Ok(t)) => {
                    files += 1;
                    walk(&toml::Value::Table(t), &mut kws);
                }
                _ => bad.push(p.display().to_string()),
            }
        }
    }
    let mut seen = HashSet::new();
    kws.retain(|k| !k.is_empty() && seen.insert(k.to_lowercase()));
    if kws.is_empty() {
        let fb = [
            "ghp_",
            "gho_",
            "ghu_",
            "ghs_",
            "ghr_",
            "github_pat_",
            "anaconda",
            "/t/",
        ];
        return (
            fb.iter().map(|s| s.to_string()).collect(),
            format!(
                "FALLBACK list (no keywords found in {} of rules/*.toml; unparsable: {bad:?})",
                files
            ),
        );
    }
    let note = if bad.is_empty() {
        String::new()
    } else {
        format!(", unparsable: {bad:?}")
    };
    (kws, format!("from {files} rules/*.toml{note}"))
}

fn leakscope_bin() -> String {
    std::env::var("LEAKSCOPE_BENCH_BIN").unwrap_or_else(|_| {
        option_env!("CARGO_BIN_EXE_leakscope")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}/target/release/leakscope", env!("CARGO_MANIFEST_DIR")))
    })
}

// ---------------------------------------------------------------- scoring

struct Score {
    findings: usize,
    plants: usize,
    found: usize,
    per_kind: BTreeMap<String, (usize, usize)>,
    decoys: usize,
    decoy_hits: usize,
    decoy_kinds: BTreeMap<String, usize>,
    other: usize,
    other_samples: Vec<String>,
    missed_samples: Vec<String>,
    errors: usize,
    parse_error: Option<String>,
    /// Findings on a truth line already matched (e.g. one token in several blob versions).
    repeats: usize,
    hit: Vec<bool>,
}

fn norm_path(p: &str, root: &Path) -> String {
    let rs = root.display().to_string();
    let mut s = p.strip_prefix(rs.as_str()).unwrap_or(p);
    if let Ok(abs) = root.canonicalize() {
        let a = abs.display().to_string();
        if let Some(x) = p.strip_prefix(a.as_str()) {
            s = x;
        }
    }
    s.trim_start_matches("./")
        .trim_start_matches('/')
        .to_string()
}

fn score(json: &[u8], truth: &[Truth], root: &Path) -> Score {
    let mut sc = Score {
        findings: 0,
        plants: 0,
        found: 0,
        per_kind: BTreeMap::new(),
        decoys: 0,
        decoy_hits: 0,
        decoy_kinds: BTreeMap::new(),
        other: 0,
        other_samples: vec![],
        missed_samples: vec![],
        errors: 0,
        parse_error: None,
        repeats: 0,
        hit: vec![],
    };
    let mut idx: HashMap<(String, usize), usize> = HashMap::new();
    for (i, t) in truth.iter().enumerate() {
        idx.insert((t.path.clone(), t.line), i);
        if t.decoy {
            sc.decoys += 1;
        } else {
            sc.plants += 1;
            sc.per_kind.entry(t.kind.clone()).or_default().1 += 1;
        }
    }
    let v: serde_json::Value = match serde_json::from_slice(json) {
        Ok(v) => v,
        Err(e) => {
            let head = String::from_utf8_lossy(&json[..json.len().min(300)]).to_string();
            sc.parse_error = Some(format!("{e}; output starts: {head:?}"));
            return sc;
        }
    };
    sc.errors = v["errors"].as_array().map_or(0, |a| a.len());
    let mut hit = vec![false; truth.len()];
    if let Some(fs) = v["findings"].as_array() {
        sc.findings = fs.len();
        for f in fs {
            let path = norm_path(f["path"].as_str().unwrap_or(""), root);
            let line = f["line"].as_u64().unwrap_or(0) as usize;
            match idx.get(&(path.clone(), line)) {
                Some(&i) => {
                    if hit[i] {
                        sc.repeats += 1;
                    }
                    hit[i] = true
                }
                None => {
                    sc.other += 1;
                    if sc.other_samples.len() < 5 {
                        sc.other_samples
                            .push(format!("{}:{} rule={}", path, line, f["rule"]));
                    }
                }
            }
        }
    } else {
        sc.parse_error = Some("no `findings` array in the output".into());
    }
    for (i, t) in truth.iter().enumerate() {
        if t.decoy {
            if hit[i] {
                sc.decoy_hits += 1;
                *sc.decoy_kinds.entry(t.kind.clone()).or_default() += 1;
            }
        } else if hit[i] {
            sc.found += 1;
            sc.per_kind.get_mut(&t.kind).unwrap().0 += 1;
        } else if sc.missed_samples.len() < 8 {
            sc.missed_samples
                .push(format!("{}:{} ({})", t.path, t.line, t.kind));
        }
    }
    sc.hit = hit;
    sc
}

fn print_score(sc: &Score) {
    if let Some(e) = &sc.parse_error {
        println!("  recall: not measured, leakscope's JSON could not be read: {e}");
        return;
    }
    println!(
        "  recall: {}/{} planted tokens found = {:.2}%   (findings: {}, scan errors reported: {})",
        sc.found,
        sc.plants,
        100.0 * sc.found as f64 / sc.plants.max(1) as f64,
        sc.findings,
        sc.errors
    );
    let parts: Vec<String> = sc
        .per_kind
        .iter()
        .map(|(k, (f, n))| format!("{k} {f}/{n}"))
        .collect();
    println!("    by kind: {}", parts.join(", "));
    println!(
        "  decoy false positives: {}/{} decoy lines reported{}",
        sc.decoy_hits,
        sc.decoys,
        if sc.decoy_kinds.is_empty() {
            String::new()
        } else {
            format!(" {:?}", sc.decoy_kinds)
        }
    );
    println!(
        "  findings on no planted/decoy line (unexpected): {}",
        sc.other
    );
    for s in &sc.other_samples {
        println!("    e.g. {s}");
    }
    println!(
        "  repeated findings of an already matched line: {}",
        sc.repeats
    );
    if sc.found < sc.plants {
        for s in &sc.missed_samples {
            println!("    missed e.g. {s}");
        }
    }
}

// ---------------------------------------------------------------- working-tree bench

fn bench_tree(o: &Opts, target_dir: &Path) {
    let base = target_dir.join("bench-corpus");
    fs::create_dir_all(&base).unwrap();
    let c = build_corpus(o, &base);
    let (kws, note) = rule_keywords(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("rules")
            .as_path(),
    );
    println!("rg literals ({}): {}", note, kws.join(" "));
    let root = c.root.display().to_string();
    let mut rg: Vec<String> = ["rg", "-c", "-F", "-i", "--hidden", "--no-messages"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for k in &kws {
        rg.push("-e".into());
        rg.push(k.clone());
    }
    rg.push(root.clone());
    let ls: Vec<String> = vec![
        leakscope_bin(),
        "scan".into(),
        root.clone(),
        "--format".into(),
        "json".into(),
        "--exit-zero".into(),
    ];
    let rg_ok = have("rg");
    if !rg_ok {
        println!("!! rg (ripgrep) not found: install it with `apt-get install -y ripgrep` (or `cargo install ripgrep`); the yardstick is skipped");
    }
    // What rg actually walks (ignore rules, hidden): for the record.
    let rg_files = if rg_ok {
        Command::new("rg")
            .args(["--files", "--hidden", &root])
            .output()
            .map(|o| o.stdout.iter().filter(|&&b| b == b'\n').count())
            .unwrap_or(0)
    } else {
        0
    };
    println!(
        "corpus: {:.1} MB in {} files; not .gitignored: {:.1} MB in {} files (rg --files --hidden lists {}); planted {} tokens, {} decoys",
        c.bytes as f64 / 1e6,
        c.files,
        c.scanned_bytes as f64 / 1e6,
        c.scanned_files,
        rg_files,
        c.truth.iter().filter(|t| !t.decoy).count(),
        c.truth.iter().filter(|t| t.decoy).count()
    );
    println!("leakscope: {}", ls.join(" "));
    println!("rg:        {}", shorten(&rg.join(" ")));
    println!("{} timed runs each after one warm-up run, interleaved; MB = 10^6 bytes of not-ignored files\n", o.reps);
    let (ls_out, rg_out) = (base.join("leakscope.json"), base.join("rg.out"));
    let mut ls_stats = Stats::new("leakscope scan --format json");
    let mut rg_stats = Stats::new("rg -c -F -i --hidden (literals)");
    for rep in 0..=o.reps {
        if rg_ok {
            let r = run_once(&rg, &rg_out, &base);
            if rep > 0 {
                rg_stats.add(&r);
            }
        }
        let r = run_once(&ls, &ls_out, &base);
        if rep > 0 {
            ls_stats.add(&r);
        }
        if !r.ok && o.stop_on_fail {
            break;
        }
    }
    let mb = c.scanned_bytes as f64 / 1e6;
    table_header("MB/s");
    ls_stats.print(mb, Some(c.scanned_files));
    if rg_ok {
        rg_stats.print(mb, Some(c.scanned_files));
        let rg_matches: u64 = fs::read_to_string(&rg_out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.rsplit(':').next()?.parse::<u64>().ok())
            .sum();
        let ratio = ls_stats.median() / rg_stats.median();
        println!(
            "\n  ratio leakscope/rg (median wall): {:.2}x   target <= 1.50x: {}",
            ratio,
            verdict(ratio <= 1.5)
        );
        println!(
            "  rg matched {rg_matches} lines with the literals (candidate lines for the rules)"
        );
    }
    let rss_mb = ls_stats.rss_kb as f64 / 1024.0;
    println!(
        "  leakscope peak RSS {:.1} MB   target < 100 MB: {}",
        rss_mb,
        verdict(ls_stats.rss_kb > 0 && rss_mb < 100.0)
    );
    if let Some(f) = &ls_stats.failed {
        println!("\n  !! leakscope scan failed ({f})\n  its figures above time a failing run; recall not measured");
        return;
    }
    let sc = score(&fs::read(&ls_out).unwrap_or_default(), &c.truth, &c.root);
    print_score(&sc);
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

fn shorten(s: &str) -> String {
    if s.len() > 400 {
        format!("{}...", &s[..400])
    } else {
        s.to_string()
    }
}

// ---------------------------------------------------------------- git-history bench

struct GitTruth {
    path: String,
    line: usize,
    kind: String,
    decoy: bool,
    deleted: bool,
}

struct GitRepo {
    repo: PathBuf,
    commits: usize,
    objects: usize,
    object_bytes: u64,
    truth: Vec<GitTruth>,
}

fn git(repo: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .expect("run git")
}

fn build_git(o: &Opts, base: &Path) -> GitRepo {
    let repo = base.join("repo");
    let want = format!(
        "v{GEN_VERSION} seed={SEED:x} commits={} plants={}\n",
        o.commits, o.plants
    );
    let params = base.join("params");
    let truth_path = base.join("truth.tsv");
    let ready = !o.regen && fs::read_to_string(&params).ok().as_deref() == Some(want.as_str());
    let truth = if ready {
        println!("git repo: reusing {} ({})", repo.display(), want.trim());
        fs::read_to_string(&truth_path)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f.len() == 5).then(|| GitTruth {
                    path: f[0].into(),
                    line: f[1].parse().unwrap_or(0),
                    kind: f[2].into(),
                    decoy: f[3] == "decoy",
                    deleted: f[4] == "deleted",
                })
            })
            .collect()
    } else {
        let t0 = Instant::now();
        let _ = fs::remove_file(&params);
        if repo.exists() {
            fs::remove_dir_all(&repo).unwrap();
        }
        fs::create_dir_all(&repo).unwrap();
        let init = git(&repo, &["init", "-q", "-b", "main"]);
        assert!(init.status.success(), "git init failed");
        let truth = fast_import(o, &repo);
        let mut tsv = String::from("# path\tline\tkind\tclass\tstate at HEAD\n");
        for t in &truth {
            let _ = writeln!(
                tsv,
                "{}\t{}\t{}\t{}\t{}",
                t.path,
                t.line,
                t.kind,
                if t.decoy { "decoy" } else { "plant" },
                if t.deleted { "deleted" } else { "live" }
            );
        }
        fs::write(&truth_path, tsv).unwrap();
        println!(
            "git repo: fast-import done in {:.1}s; repacking (git repack -adq) ...",
            t0.elapsed().as_secs_f64()
        );
        let rp = git(&repo, &["repack", "-a", "-d", "-q"]);
        if !rp.status.success() {
            println!("  repack failed: {}", String::from_utf8_lossy(&rp.stderr));
        }
        let _ = git(&repo, &["checkout", "-q", "-f", "main"]);
        fs::write(&params, &want).unwrap();
        println!(
            "git repo: generated in {:.1}s at {}",
            t0.elapsed().as_secs_f64(),
            repo.display()
        );
        truth
    };
    let sizes = git(
        &repo,
        &[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objectsize)",
        ],
    );
    let (mut objects, mut object_bytes) = (0, 0u64);
    for l in String::from_utf8_lossy(&sizes.stdout).lines() {
        objects += 1;
        object_bytes += l.trim().parse::<u64>().unwrap_or(0);
    }
    let commits = String::from_utf8_lossy(&git(&repo, &["rev-list", "--count", "--all"]).stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    GitRepo {
        repo,
        commits,
        objects,
        object_bytes,
        truth,
    }
}

/// Streams a history into `git fast-import`. Edits replace lines in place or append, so a
/// planted line keeps its number in every later version until it is overwritten.
fn fast_import(o: &Opts, repo: &Path) -> Vec<GitTruth> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["fast-import", "--quiet", "--done"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start git fast-import");
    let mut w = std::io::BufWriter::with_capacity(1 << 20, child.stdin.take().unwrap());
    let mut r = Rng::new(SEED ^ 0x6769_7400);
    let langs = [
        Lang::Py,
        Lang::Py,
        Lang::Js,
        Lang::Js,
        Lang::Yaml,
        Lang::Md,
        Lang::Json,
        Lang::Sh,
        Lang::Toml,
    ];
    let mut files: Vec<(String, Lang, Vec<String>)> = Vec::new();
    let mut buf = Vec::new();
    let new_file =
        |r: &mut Rng, files: &mut Vec<(String, Lang, Vec<String>)>, buf: &mut Vec<u8>| {
            let lang = *r.pick(&langs);
            let mut dir = r
                .pick(&["src", "lib", "tests", "docs", "scripts", "config", "app"])
                .to_string();
            for _ in 0..r.below(3) {
                dir.push('/');
                dir.push_str(IDENTS[r.below(8)]);
            }
            let path = format!("{dir}/{}_{}.{}", ident(r), files.len(), ext(lang));
            let size = ((4000.0 * r.normal().exp()) as usize).clamp(200, 120_000);
            buf.clear();
            header(lang, r, buf);
            while buf.len() < size {
                block(lang, r, buf);
            }
            let lines = String::from_utf8_lossy(buf)
                .lines()
                .map(str::to_string)
                .collect();
            files.push((path, lang, lines));
            files.len() - 1
        };
    let initial = 2500;
    for _ in 0..initial {
        new_file(&mut r, &mut files, &mut buf);
    }
    let n_items = o.plants + o.plants / 4;
    // Commits at which an item is planted; some are deleted a few to a few hundred commits later.
    let mut plan: Vec<(usize, Item)> = Vec::new();
    for i in 0..n_items {
        let decoy = i >= o.plants;
        let kind = if decoy {
            DECOYS[i % DECOYS.len()]
        } else {
            KINDS[i % KINDS.len()]
        };
        plan.push((1 + r.below(o.commits - 1), Item { kind, decoy }));
    }
    plan.sort_by_key(|p| p.0);
    let mut truth: Vec<GitTruth> = Vec::new();
    let mut live: Vec<(usize, usize, usize, usize)> = Vec::new(); // (delete_at, file, line, truth idx)
    let mut pi = 0;
    let mut time = 1_600_000_000u64;
    for c in 0..o.commits {
        let mut touched: Vec<usize> = Vec::new();
        if c == 0 {
            touched.extend(0..files.len());
        } else {
            for _ in 0..r.range(1, 4) {
                let f = r.below(files.len());
                let (_, lang, lines) = &mut files[f];
                let lang = *lang;
                buf.clear();
                block(lang, &mut r, &mut buf);
                let fresh: Vec<String> = String::from_utf8_lossy(&buf)
                    .lines()
                    .map(str::to_string)
                    .collect();
                if r.chance(0.5) && !lines.is_empty() {
                    // in-place rewrite of a run of lines, same count
                    let start = r.below(lines.len());
                    for (k, l) in fresh.into_iter().enumerate() {
                        if start + k < lines.len()
                            && !live.iter().any(|x| x.1 == f && x.2 == start + k + 1)
                        {
                            lines[start + k] = l;
                        }
                    }
                } else {
                    lines.extend(fresh);
                }
                touched.push(f);
            }
            if r.chance(0.05) {
                touched.push(new_file(&mut r, &mut files, &mut buf));
            }
            while pi < plan.len() && plan[pi].0 <= c {
                let it = plan[pi].1.clone();
                pi += 1;
                let f = r.below(files.len());
                let lang = files[f].1;
                let (v, ctx) = value_for(&it, &mut r);
                let text = carrier(lang, &mut r, &v, ctx);
                files[f].2.push(text);
                let line = files[f].2.len();
                let delete_at = if !it.decoy && r.chance(0.6) {
                    c + r.range(1, 300)
                } else {
                    usize::MAX
                };
                truth.push(GitTruth {
                    path: files[f].0.clone(),
                    line,
                    kind: it.kind.into(),
                    decoy: it.decoy,
                    deleted: false,
                });
                live.push((delete_at, f, line, truth.len() - 1));
                touched.push(f);
            }
            let mut k = 0;
            while k < live.len() {
                if live[k].0 <= c {
                    let (_, f, line, ti) = live.swap_remove(k);
                    files[f].2[line - 1] =
                        format!("# token rotated on commit {c}; read it from the CI secret store");
                    truth[ti].deleted = true;
                    touched.push(f);
                } else {
                    k += 1;
                }
            }
        }
        touched.sort_unstable();
        touched.dedup();
        time += 600 + r.below(20_000) as u64;
        let msg = format!(
            "{} {} {}\n",
            r.pick(&["fix", "feat", "chore", "refactor", "docs"]),
            ident(&mut r),
            ident(&mut r)
        );
        let _ = write!(w, "commit refs/heads/main\ncommitter Bench Dev <dev@example.com> {time} +0000\ndata {}\n{msg}", msg.len());
        for f in touched {
            let (path, _, lines) = &files[f];
            let mut content = lines.join("\n");
            content.push('\n');
            let _ = write!(w, "M 100644 inline {path}\ndata {}\n", content.len());
            w.write_all(content.as_bytes()).unwrap();
            w.write_all(b"\n").unwrap();
        }
    }
    w.write_all(b"done\n").unwrap();
    drop(w);
    let st = child.wait().expect("wait fast-import");
    assert!(st.success(), "git fast-import failed");
    truth
}

fn bench_git(o: &Opts, target_dir: &Path) {
    if !have("git") {
        println!("!! git not found; the git-history bench needs it (apt-get install -y git)");
        return;
    }
    let base = target_dir.join("bench-git");
    fs::create_dir_all(&base).unwrap();
    let g = build_git(o, &base);
    let repo = g.repo.display().to_string();
    let mb = g.object_bytes as f64 / 1e6;
    println!(
        "git repo: {} commits, {} objects, {:.1} MB of object data (uncompressed), {} planted tokens ({} deleted later), {} decoys",
        g.commits,
        g.objects,
        mb,
        g.truth.iter().filter(|t| !t.decoy).count(),
        g.truth.iter().filter(|t| !t.decoy && t.deleted).count(),
        g.truth.iter().filter(|t| t.decoy).count()
    );
    let ls: Vec<String> = vec![
        leakscope_bin(),
        "scan".into(),
        "--git".into(),
        repo.clone(),
        "--format".into(),
        "json".into(),
        "--exit-zero".into(),
    ];
    let cf: Vec<String> = [
        "git",
        "-C",
        &repo,
        "cat-file",
        "--batch-all-objects",
        "--batch",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    println!("leakscope: {}", ls.join(" "));
    println!("floor:     {} > /dev/null", cf.join(" "));
    println!(
        "{} timed runs each after one warm-up run, interleaved; MB/s = object data / wall\n",
        o.reps
    );
    let ls_out = base.join("leakscope.json");
    let mut ls_stats = Stats::new("leakscope scan --git");
    let mut cf_stats = Stats::new("git cat-file --batch-all-objects");
    for rep in 0..=o.reps {
        let r = run_once(&cf, Path::new("/dev/null"), &base);
        if rep > 0 {
            cf_stats.add(&r);
        }
        let r = run_once(&ls, &ls_out, &base);
        if rep > 0 {
            ls_stats.add(&r);
        }
        if !r.ok && rep == 0 {
            // a failing command is reported once; no point timing it again
            ls_stats.add(&r);
            for _ in 0..o.reps {
                let r = run_once(&cf, Path::new("/dev/null"), &base);
                cf_stats.add(&r);
            }
            break;
        }
    }
    table_header("MB/s");
    if ls_stats.failed.is_none() {
        ls_stats.print(mb, None);
    }
    cf_stats.print(mb, None);
    if let Some(f) = &ls_stats.failed {
        println!(
            "\n  !! `leakscope scan --git` failed ({f})\n  leakscope git figures not measured"
        );
        return;
    }
    let ratio = ls_stats.median() / cf_stats.median();
    println!(
        "\n  ratio leakscope/cat-file floor (median wall): {:.2}x   target <= 1.00x: {}",
        ratio,
        verdict(ratio <= 1.0)
    );
    let rss_mb = ls_stats.rss_kb as f64 / 1024.0;
    println!(
        "  leakscope peak RSS {:.1} MB   target < 300 MB: {}",
        rss_mb,
        verdict(ls_stats.rss_kb > 0 && rss_mb < 300.0)
    );
    let truth: Vec<Truth> = g
        .truth
        .iter()
        .map(|t| Truth {
            path: t.path.clone(),
            line: t.line,
            kind: t.kind.clone(),
            decoy: t.decoy,
        })
        .collect();
    let sc = score(&fs::read(&ls_out).unwrap_or_default(), &truth, &g.repo);
    print_score(&sc);
    if sc.parse_error.is_none() {
        let del: Vec<usize> = (0..g.truth.len())
            .filter(|&i| !g.truth[i].decoy && g.truth[i].deleted)
            .collect();
        let found = del.iter().filter(|&&i| sc.hit[i]).count();
        println!(
            "  recall on tokens deleted before HEAD (history only): {}/{}",
            found,
            del.len()
        );
    }
    println!("  (history findings matched by path and line where the token was added; lines never shift in this history)");
}

fn main() {
    let Some(o) = parse_opts() else { return };
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let target_dir = if target_dir.is_absolute() {
        target_dir
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(target_dir)
    };
    println!(
        "leakscope bench ({} mode), binary {}",
        if o.git { "git" } else { "working-tree" },
        leakscope_bin()
    );
    if o.git {
        bench_git(&o, &target_dir);
    } else {
        bench_tree(&o, &target_dir);
    }
}
