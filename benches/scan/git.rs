//! The git-history corpus (built with `git fast-import`) and its bench against
//! `git cat-file --batch-all-objects --batch`.

use crate::corpus::Truth;
use crate::corpus::{value_for, Item};
use crate::measure::leakscope_bin;
use crate::measure::{have, run_once, table_header, verdict, Stats};
use crate::opts::Opts;
use crate::rng::Rng;
use crate::score::{print_score, score};
use crate::text::*;
use crate::tokens::*;
use crate::{GEN_VERSION, SEED};
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

pub(crate) struct GitTruth {
    pub(crate) path: String,
    pub(crate) line: usize,
    pub(crate) kind: String,
    pub(crate) decoy: bool,
    pub(crate) deleted: bool,
}

pub(crate) struct GitRepo {
    pub(crate) repo: PathBuf,
    pub(crate) commits: usize,
    pub(crate) objects: usize,
    pub(crate) object_bytes: u64,
    pub(crate) truth: Vec<GitTruth>,
}

pub(crate) fn git(repo: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .expect("run git")
}

pub(crate) fn build_git(o: &Opts, base: &Path) -> GitRepo {
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
pub(crate) fn fast_import(o: &Opts, repo: &Path) -> Vec<GitTruth> {
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

pub(crate) fn bench_git(o: &Opts, target_dir: &Path) {
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
    let ls_out = base.join("leakscope.json");
    let mut tools: Vec<(Vec<String>, PathBuf, Stats, Option<PathBuf>)> = vec![
        (ls, ls_out.clone(), Stats::new("leakscope scan --git"), None),
        (
            cf,
            PathBuf::from("/dev/null"),
            Stats::new("git cat-file --batch-all-objects --batch"),
            None,
        ),
    ];
    match std::env::var("NOSEYPARKER") {
        Ok(np) if !np.is_empty() => {
            let store = base.join("np-datastore");
            let argv = vec![
                np,
                "scan".into(),
                "--datastore".into(),
                store.display().to_string(),
                repo.clone(),
            ];
            tools.push((
                argv,
                base.join("np.out"),
                Stats::new("noseyparker scan"),
                Some(store),
            ));
        }
        _ => println!("Nosey Parker: not measured (set NOSEYPARKER=/path/to/noseyparker)"),
    }
    for (argv, out, ..) in &tools {
        println!("  {} > {}", argv.join(" "), out.display());
    }
    println!(
        "{} timed runs each after one warm-up run, interleaved; MB/s = object data / wall\n",
        o.reps
    );
    for rep in 0..=o.reps {
        for (argv, out, stats, fresh) in &mut tools {
            if let Some(dir) = fresh {
                let _ = fs::remove_dir_all(dir);
            }
            let r = run_once(argv, out, &base);
            if rep > 0 {
                stats.add(&r);
            }
        }
        if tools[0].2.failed.is_some() {
            break;
        }
    }
    table_header("MB/s");
    for (_, _, stats, _) in &tools {
        stats.print(mb);
    }
    let ls_stats = &tools[0].2;
    if let Some(f) = &ls_stats.failed {
        println!(
            "\n  !! `leakscope scan --git` failed ({f})\n  leakscope git figures not measured"
        );
        return;
    }
    let ratio = ls_stats.wall().median / tools[1].2.wall().median;
    println!(
        "\n  ratio leakscope/cat-file (median wall): {:.2}x   target <= 0.60x: {}",
        ratio,
        verdict(ratio <= 0.6)
    );
    if let Some((_, _, np, _)) = tools.get(2) {
        let ratio = ls_stats.wall().median / np.wall().median;
        println!(
            "  ratio leakscope/Nosey Parker (median wall): {:.2}x   target <= 0.50x: {}",
            ratio,
            verdict(ratio <= 0.5)
        );
    }
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
            via: crate::extras::PLAIN,
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
