//! The working-tree bench: `leakscope scan` beside ripgrep (and Nosey Parker when
//! `NOSEYPARKER=path` names it) on the generated corpus.

use crate::corpus::build_corpus;
use crate::measure::{
    have, leakscope_bin, rule_keywords, run_once, shorten, table_header, verdict, Stats,
};
use crate::opts::Opts;
use crate::score::{print_score, score};
use std::fs;
use std::path::Path;
use std::process::Command;

/// The regex a user would give ripgrep to find the same token forms: the literal
/// prefixes go through ripgrep's SIMD literal search. The issue's yardstick.
pub(crate) const RG_REGEX: &str = r"(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82}|(conda|pypi|repo)\.anaconda\.(org|cloud)/t/[A-Za-z0-9-]+)";

fn strings(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

/// One tool in the interleaved loop.
struct Tool {
    argv: Vec<String>,
    out: std::path::PathBuf,
    stats: Stats,
    /// Removed before each run (Nosey Parker's datastore), so every run does the full work.
    fresh_dir: Option<std::path::PathBuf>,
}

pub(crate) fn bench_tree(o: &Opts, target_dir: &Path) {
    let base = target_dir.join("bench-corpus");
    fs::create_dir_all(&base).unwrap();
    let c = build_corpus(o, &base);
    let root = c.root.display().to_string();
    let kws = rule_keywords();
    let rg_ok = have("rg");
    if !rg_ok {
        println!("!! rg (ripgrep) not found: install it with `apt-get install -y ripgrep`; the yardstick is skipped");
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
    let plants_via = |via: &str| c.truth.iter().filter(|t| !t.decoy && t.via == via).count();
    println!(
        "corpus: of the plants {} plain, {} base64 in text files, {} in archive members, {} base64 in archive members; {} archives, {:.1} MB on disk ({:.2}% of the scanned bytes) holding {:.1} MB of members",
        plants_via(crate::extras::PLAIN),
        plants_via(crate::extras::BASE64),
        plants_via(crate::extras::ARCHIVE),
        plants_via(crate::extras::ARCHIVE_BASE64),
        c.archives.0,
        c.archives.1 as f64 / 1e6,
        100.0 * c.archives.1 as f64 / c.scanned_bytes.max(1) as f64,
        c.archives.2 as f64 / 1e6
    );
    let mut tools = vec![Tool {
        argv: vec![
            leakscope_bin(),
            "scan".into(),
            root.clone(),
            "--format".into(),
            "json".into(),
            "--exit-zero".into(),
        ],
        out: base.join("leakscope.json"),
        stats: Stats::new("leakscope scan --format json"),
        fresh_dir: None,
    }];
    // A second leakscope binary (e.g. a build from before a change), timed in the same
    // interleaved loop so both see the same machine: LEAKSCOPE_BENCH_BIN2=/path.
    let second = std::env::var("LEAKSCOPE_BENCH_BIN2")
        .ok()
        .filter(|b| !b.is_empty());
    if let Some(bin) = &second {
        tools.push(Tool {
            argv: vec![
                bin.clone(),
                "scan".into(),
                root.clone(),
                "--format".into(),
                "json".into(),
                "--exit-zero".into(),
            ],
            out: base.join("leakscope2.json"),
            stats: Stats::new("leakscope (BIN2) --format json"),
            fresh_dir: None,
        });
    }
    if rg_ok {
        let mut regex = strings(&["rg", "-c", "--hidden", "--no-messages", "-e", RG_REGEX]);
        regex.push(root.clone());
        tools.push(Tool {
            argv: regex,
            out: base.join("rg-regex.out"),
            stats: Stats::new("rg -c --hidden REGEX"),
            fresh_dir: None,
        });
        let mut literals = strings(&["rg", "-c", "-F", "-i", "--hidden", "--no-messages"]);
        for k in &kws {
            literals.push("-e".into());
            literals.push(k.clone());
        }
        literals.push(root.clone());
        tools.push(Tool {
            argv: literals,
            out: base.join("rg-literals.out"),
            stats: Stats::new(&format!("rg -c -F -i --hidden ({} keywords)", kws.len())),
            fresh_dir: None,
        });
    }
    match std::env::var("NOSEYPARKER") {
        Ok(np) if !np.is_empty() => {
            let store = base.join("np-datastore");
            tools.push(Tool {
                argv: vec![
                    np,
                    "scan".into(),
                    "--datastore".into(),
                    store.display().to_string(),
                    root.clone(),
                ],
                out: base.join("np.out"),
                stats: Stats::new("noseyparker scan"),
                fresh_dir: Some(store),
            });
        }
        _ => println!("Nosey Parker: not measured (set NOSEYPARKER=/path/to/noseyparker)"),
    }
    for t in &tools {
        println!("  {}", shorten(&t.argv.join(" ")));
    }
    println!(
        "{} timed runs each after one warm-up run, interleaved (a, b, c, a, b, c, ...); MB = 10^6 bytes of not-ignored files\n",
        o.reps
    );
    for rep in 0..=o.reps {
        for t in &mut tools {
            if let Some(dir) = &t.fresh_dir {
                let _ = fs::remove_dir_all(dir);
            }
            let r = run_once(&t.argv, &t.out, &base);
            if rep > 0 {
                t.stats.add(&r);
            }
        }
        if o.stop_on_fail && tools[0].stats.failed.is_some() {
            break;
        }
    }
    let mb = c.scanned_bytes as f64 / 1e6;
    table_header("MB/s");
    for t in &tools {
        t.stats.print(mb);
    }
    let ls = &tools[0].stats;
    println!();
    for t in tools.iter().skip(1) {
        let wall = ls.wall().median / t.stats.wall().median;
        let user = ls.user().median / t.stats.user().median;
        let target = if t.stats.label.contains("REGEX") {
            format!("   target <= 1.00x: {}", verdict(wall <= 1.0))
        } else {
            String::new()
        };
        println!(
            "  leakscope / {}: wall {wall:.2}x, user CPU {user:.2}x (medians){target}",
            t.stats.label
        );
    }
    for t in tools.iter().skip(1).filter(|t| t.argv[0] == "rg") {
        let lines: u64 = fs::read_to_string(&t.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.rsplit(':').next()?.parse::<u64>().ok())
            .sum();
        println!("  {} matched {lines} lines", t.stats.label);
    }
    let rss_mb = ls.rss_kb as f64 / 1024.0;
    println!(
        "  leakscope peak RSS {:.1} MB   target < 100 MB: {}",
        rss_mb,
        verdict(ls.rss_kb > 0 && rss_mb < 100.0)
    );
    if let Some(f) = &ls.failed {
        println!("\n  !! leakscope scan failed ({f})\n  its figures above time a failing run; recall not measured");
        return;
    }
    let sc = score(
        &fs::read(&tools[0].out).unwrap_or_default(),
        &c.truth,
        &c.root,
    );
    print_score(&sc);
    if let Some(t) = tools.iter().find(|t| t.stats.label.contains("BIN2")) {
        println!("  leakscope (BIN2 = {}):", second.as_deref().unwrap_or(""));
        let rss = t.stats.rss_kb as f64 / 1024.0;
        println!("  BIN2 peak RSS {rss:.1} MB");
        match &t.stats.failed {
            Some(f) => println!("  !! BIN2 scan failed ({f}); recall not measured"),
            None => print_score(&score(
                &fs::read(&t.out).unwrap_or_default(),
                &c.truth,
                &c.root,
            )),
        }
    }
    if rg_ok {
        rg_recall(&c.root, &c.truth);
    }
}

/// How many planted tokens and decoys the ripgrep regex line flags, for the record: it
/// checks no checksum, so it flags decoys that leakscope must not.
fn rg_recall(root: &Path, truth: &[crate::corpus::Truth]) {
    let Ok(out) = Command::new("rg")
        .args([
            "-n",
            "--hidden",
            "--no-messages",
            "--no-heading",
            "-e",
            RG_REGEX,
        ])
        .arg(root)
        .output()
    else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut hit = std::collections::HashSet::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        if let (Some(path), Some(n)) = (parts.next(), parts.next()) {
            if let Ok(n) = n.parse::<usize>() {
                hit.insert((crate::score::norm_path(path, root), n));
            }
        }
    }
    let plain = crate::extras::PLAIN;
    let found = |decoy: bool, in_plain: bool| {
        let all: Vec<_> = truth
            .iter()
            .filter(|t| t.decoy == decoy && (t.via == plain) == in_plain)
            .collect();
        let n = all
            .iter()
            .filter(|t| hit.contains(&(t.path.clone(), t.line)))
            .count();
        (n, all.len())
    };
    let (tokens, total) = found(false, true);
    let (decoys, decoy_total) = found(true, true);
    let (enc, enc_total) = found(false, false);
    let (enc_decoys, enc_decoy_total) = found(true, false);
    println!(
        "  rg REGEX for comparison: {tokens}/{total} plain-text planted tokens on a matched line, {decoys}/{decoy_total} plain-text decoys flagged; \
         base64/archived plants (rg cannot read them): {enc}/{enc_total} tokens, {enc_decoys}/{enc_decoy_total} decoys"
    );
}
