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
//! parameters match), `--stop-on-fail` (stop timing once a leakscope run fails),
//! `--plain-only` (tree corpus without the archives and base64 plants of [`extras`]: the
//! plain-text files alone, for plain-text speed).
//! `LEAKSCOPE_BENCH_BIN=/path` replaces the leakscope binary (e.g. a stand-in while
//! `scan` is unfinished); by default it is the release binary cargo builds for this bench
//! (target/release/leakscope). `LEAKSCOPE_BENCH_BIN2=/path` adds a second leakscope
//! binary to the tree bench's interleaved loop (before/after a change on one machine
//! state), with its own recall.
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
//!    well-formed, nothing more. About 1.4 % of the bytes are archives (zip, jar, whl,
//!    tgz, tar.gz, Helm chart tgz, one tgz > tar > zip nesting; about half hold plants)
//!    and about 200 plants are in base64 (Kubernetes Secrets, docker `auth`, `Basic`
//!    headers, encoded `.env` files) or archive members: [`extras`]. truth.tsv's fifth
//!    column says which (plain, base64, archive, archive+base64); ripgrep cannot read
//!    those, so its recall line counts them apart. Never commit the corpus.
//! 2. Runs `leakscope scan tree --format json --exit-zero`, `rg -c --hidden -e REGEX tree`
//!    (the regex a user would write for the same token forms, [`tree::RG_REGEX`]) and
//!    `rg -c -F -i --hidden -e KW ... tree` (every rule keyword as a case-insensitive
//!    literal), plus Nosey Parker when `NOSEYPARKER=/path` is set; interleaved, warm
//!    cache, all on all cores.
//! 3. Prints wall and user CPU (min/median/max), system CPU, MB/s and peak RSS of each,
//!    the ratios the targets name, and recall / decoy false positives from leakscope's
//!    JSON (matched by path and line).
//!
//! Git mode builds `target/bench-git/repo` with `git fast-import` (thousands of commits,
//! in-place edits and appends so a planted line keeps its number; tokens added, some deleted
//! later) and times `leakscope scan --git REPO --format json --exit-zero` beside
//! `git cat-file --batch-all-objects --batch > /dev/null`, the single-threaded
//! decompression floor.
//!
//! Targets (issue 16): working tree: leakscope wall <= 1.0x rg with the regex, peak RSS
//! < 100 MB. Git history: leakscope wall <= 0.6x the cat-file floor (and <= 0.5x Nosey
//! Parker), peak RSS < 300 MB.
//!
//! Modules: [`opts`] (arguments), [`rng`], [`tokens`] (planted tokens and decoys, with
//! checksums from `leakscope::validators`), [`text`] (source-like filler), [`corpus`]
//! (the working tree and its truth), [`extras`] (archives and base64 plants), [`git`]
//! (the history corpus and its bench),
//! [`measure`] (running and timing), [`score`] (recall), [`tree`] (the tree bench).

mod corpus;
mod extras;
mod git;
mod measure;
mod opts;
mod rng;
mod score;
mod text;
mod tokens;
mod tree;

use opts::parse_opts;
use std::path::{Path, PathBuf};

/// Seed of every generated corpus: the same parameters give the same bytes.
pub(crate) const SEED: u64 = 0x1ea6_5c0f_e5ee_d001;
/// Bumped when the generator changes, so a cached corpus is rebuilt.
pub(crate) const GEN_VERSION: u32 = 5;

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
        measure::leakscope_bin()
    );
    if o.git {
        git::bench_git(&o, &target_dir);
    } else {
        tree::bench_tree(&o, &target_dir);
    }
}
