//! The working-tree corpus: which files, what they hold, where the tokens are (truth.tsv).

use crate::opts::Opts;
use crate::rng::Rng;
use crate::text::*;
use crate::tokens::*;
use crate::{GEN_VERSION, SEED};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub(crate) struct FileSpec {
    pub(crate) path: String,
    pub(crate) lang: Lang,
    pub(crate) size: usize,
    pub(crate) ignored: bool,
    pub(crate) items: Vec<Item>,
}

#[derive(Clone)]
pub(crate) struct Item {
    pub(crate) kind: &'static str,
    pub(crate) decoy: bool,
}

pub(crate) struct Truth {
    pub(crate) path: String,
    pub(crate) line: usize,
    pub(crate) kind: String,
    pub(crate) decoy: bool,
    /// How the plant is stored: plain text, base64, in an archive ([`crate::extras`]).
    pub(crate) via: &'static str,
}

pub(crate) struct Corpus {
    pub(crate) root: PathBuf,
    pub(crate) files: usize,
    pub(crate) bytes: u64,
    pub(crate) scanned_files: usize,
    pub(crate) scanned_bytes: u64,
    pub(crate) truth: Vec<Truth>,
    /// Archives among the files: how many, their bytes on disk, their members' bytes.
    pub(crate) archives: (u64, u64, u64),
}

pub(crate) fn project_names() -> Vec<String> {
    (0..24)
        .map(|i| {
            format!(
                "{}-{}",
                IDENTS[(i * 7 + 3) % IDENTS.len()].replace('_', "-"),
                TYPES[i % TYPES.len()].to_lowercase()
            )
        })
        .collect()
}

pub(crate) fn plan_corpus(o: &Opts) -> Vec<FileSpec> {
    let mut r = Rng::new(SEED);
    let target = o.mb * 1_000_000;
    let mut specs: Vec<FileSpec> = Vec::new();
    let mut total = 0u64;
    let mut seen: HashSet<String> = HashSet::new();
    let projects = project_names();
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

pub(crate) fn gitignore_text(root: bool) -> &'static str {
    if root {
        "# generated bench corpus\n*.log\n__pycache__/\n*.pyc\nnode_modules/\n.venv/\n"
    } else {
        "build/\ndist/\n*.log\ncoverage/\n"
    }
}

/// Generates one file into `buf`; returns (path, line, kind, decoy) of its items.
pub(crate) fn gen_file(spec: &FileSpec, idx: usize, buf: &mut Vec<u8>) -> Vec<Truth> {
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
                via: crate::extras::PLAIN,
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
pub(crate) fn value_for(it: &Item, r: &mut Rng) -> (String, Option<bool>) {
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

pub(crate) fn corpus_params(o: &Opts) -> String {
    format!(
        "v{GEN_VERSION} seed={SEED:x} mb={} plants={}{}\n",
        o.mb,
        o.plants,
        if o.plain_only { " plain-only" } else { "" }
    )
}

pub(crate) fn build_corpus(o: &Opts, base: &Path) -> Corpus {
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
            if v.len() == 7 {
                println!("corpus: reusing {} ({})", root.display(), want.trim());
                return Corpus {
                    root,
                    files: v[0] as usize,
                    bytes: v[1],
                    scanned_files: v[2] as usize,
                    scanned_bytes: v[3],
                    truth: parse_truth(&t),
                    archives: (v[4], v[5], v[6]),
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
    // Archives and base64 plants (issue 13), from their own seed: the files above are
    // the same bytes with or without them.
    let extras = if o.plain_only {
        Vec::new()
    } else {
        crate::extras::gen_extras(o, &project_names())
    };
    let mut archives = (0u64, 0u64, 0u64);
    for f in &extras {
        let p = root.join(&f.path);
        fs::create_dir_all(p.parent().unwrap()).expect("mkdir");
        assert!(!p.exists(), "extras path taken: {}", f.path);
        fs::write(&p, &f.bytes).expect("write corpus file");
        bytes += f.bytes.len() as u64;
        sbytes += f.bytes.len() as u64;
        sfiles += 1;
        if f.archive {
            archives.0 += 1;
            archives.1 += f.bytes.len() as u64;
            archives.2 += f.inner_bytes;
        }
    }
    let files = specs.len() + extras.len();
    truth.extend(extras.into_iter().flat_map(|f| f.truth));
    truth.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    let dup = truth
        .windows(2)
        .filter(|w| w[0].path == w[1].path && w[0].line == w[1].line)
        .count();
    if dup > 0 {
        println!("corpus: !! {dup} truth lines hold two items (scored as one)");
    }
    let mut tsv = String::from(
        "# path\tline\tkind\tclass (plant = must be found, decoy = must not)\tvia (plain, base64, archive, archive+base64)\n",
    );
    for t in &truth {
        let _ = writeln!(
            tsv,
            "{}\t{}\t{}\t{}\t{}",
            t.path,
            t.line,
            t.kind,
            if t.decoy { "decoy" } else { "plant" },
            t.via
        );
    }
    fs::write(&truth_path, tsv).unwrap();
    fs::write(
        &stats_path,
        format!(
            "{} {} {} {} {} {} {}\n",
            files, bytes, sfiles, sbytes, archives.0, archives.1, archives.2
        ),
    )
    .unwrap();
    fs::write(&params_path, &want).unwrap();
    println!(
        "corpus: generated {} files, {:.1} MB in {:.1}s at {}",
        files,
        bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64(),
        root.display()
    );
    Corpus {
        root,
        files,
        bytes,
        scanned_files: sfiles,
        scanned_bytes: sbytes,
        truth,
        archives,
    }
}

pub(crate) fn parse_truth(t: &str) -> Vec<Truth> {
    t.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 4 || f.len() == 5).then(|| Truth {
                path: f[0].to_string(),
                line: f[1].parse().unwrap_or(0),
                kind: f[2].to_string(),
                decoy: f[3] == "decoy",
                via: crate::extras::via_of(f.get(4).copied().unwrap_or("plain")),
            })
        })
        .collect()
}
