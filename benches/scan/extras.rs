//! The share of the working-tree corpus that plain-text search cannot read (issue 13):
//! archives (zip, jar, whl, tgz, tar.gz, Helm chart tgz, one tgz > tar > zip nesting)
//! holding source-like members, and tokens in base64 (Kubernetes Secret `data:` values,
//! docker `config.json` `auth`, `Authorization: Basic` headers, whole `.env` files
//! encoded, wrapped at 76 columns or on one line).
//!
//! Deterministic: everything comes from its own seed, independent of the plain-text
//! files, so the plain-text part of the corpus is the same bytes as without it.
//!
//! Truth: an archive member's plant is `ARCHIVE!member` (a gzip's inner tar named as
//! leakscope names it, `x.tgz!x.tar!member`) at the member's line; a base64 plant is at
//! the file's line where the token's encoded text starts.

use crate::corpus::{gen_file, FileSpec, Item, Truth};
use crate::opts::Opts;
use crate::rng::Rng;
use crate::text::*;
use crate::tokens::*;
use crate::SEED;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::fmt::Write as _;
use std::io::Write as _;

/// How a plant is stored: plain text, base64 in a text file, in an archive member, or
/// base64 in an archive member (a Helm chart's Secret).
pub(crate) const PLAIN: &str = "plain";
pub(crate) const BASE64: &str = "base64";
pub(crate) const ARCHIVE: &str = "archive";
pub(crate) const ARCHIVE_BASE64: &str = "archive+base64";
pub(crate) const VIAS: &[&str] = &[PLAIN, BASE64, ARCHIVE, ARCHIVE_BASE64];

pub(crate) fn via_of(s: &str) -> &'static str {
    VIAS.iter().copied().find(|v| *v == s).unwrap_or(PLAIN)
}

/// One generated file of this share.
pub(crate) struct ExtraFile {
    pub(crate) path: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) truth: Vec<Truth>,
    /// Bytes of text inside (archives: all members decompressed; else the file's size).
    pub(crate) inner_bytes: u64,
    pub(crate) archive: bool,
}

fn b64(s: &str) -> String {
    STANDARD.encode(s)
}

/// GitHub-ish kinds (docker `auth`, Basic headers carry no Anaconda token).
const GH_KINDS: &[&str] = &[
    "ghp",
    "gho",
    "ghu",
    "ghs",
    "ghr36",
    "ghr76",
    "github_pat",
    "ghs_jwt",
];
/// Decoys that keep their shape when encoded (a checksum that fails).
const ENC_DECOYS: &[&str] = &["bad_crc", "bad_pat_sum"];

#[derive(Clone, Copy, PartialEq)]
enum Fmt {
    Zip,
    Jar,
    Whl,
    Tgz,
    TarGz,
    Chart,
    Nested,
}

struct Member {
    /// Name inside the archive (for Nested: inside the inner zip when `inner`).
    name: String,
    spec: FileSpec,
    /// A Helm chart's templates/secret.yaml: base64 items, not gen_file's.
    secret: bool,
    /// Nested only: in the inner zip (lib/NAME.zip) rather than the tar.
    inner: bool,
}

struct ArchivePlan {
    path: String,
    fmt: Fmt,
    members: Vec<Member>,
}

fn member_size(r: &mut Rng) -> usize {
    ((5000.0 * r.normal().exp()) as usize).clamp(200, 120_000)
}

/// The path prefix leakscope gives a member of the archive at `path`.
fn member_prefix(path: &str, fmt: Fmt) -> String {
    let name = path.rsplit('/').next().unwrap();
    match fmt {
        Fmt::Tgz | Fmt::Chart | Fmt::Nested => {
            format!("{path}!{}.tar!", &name[..name.len() - 4])
        }
        Fmt::TarGz => format!("{path}!{}!", &name[..name.len() - 3]),
        _ => format!("{path}!"),
    }
}

fn plan_archives(o: &Opts, r: &mut Rng, projects: &[String]) -> Vec<ArchivePlan> {
    // ~1.2 % of the corpus as archive bytes on disk; text compresses about 4x.
    let budget_raw = o.mb * 1_000_000 * 12 / 1000 * 4;
    let mut raw = 0u64;
    let mut plans = Vec::new();
    let order = [
        Fmt::Zip,
        Fmt::Tgz,
        Fmt::Jar,
        Fmt::TarGz,
        Fmt::Whl,
        Fmt::Chart,
        Fmt::Zip,
        Fmt::Tgz,
    ];
    let mut n = 0usize;
    while raw < budget_raw {
        let fmt = if n % 40 == 17 {
            Fmt::Nested
        } else {
            order[n % order.len()]
        };
        let p = r.pick(projects).clone();
        let id = ident(r).replace('_', "-");
        let path = match fmt {
            Fmt::Zip => format!("{p}/vendor/{id}-{n}.zip"),
            Fmt::Jar => format!("{p}/libs/{id}-1.{n}.jar"),
            Fmt::Whl => format!(
                "{p}/wheels/{}-0.{n}.0-py3-none-any.whl",
                id.replace('-', "_")
            ),
            Fmt::Tgz => format!("{p}/release/{id}-{n}.tgz"),
            Fmt::TarGz => format!("{p}/release/{id}-src-{n}.tar.gz"),
            Fmt::Chart => format!("{p}/charts/{id}-0.{n}.0.tgz"),
            Fmt::Nested => format!("{p}/release/{id}-bundle-{n}.tgz"),
        };
        let num = n;
        n += 1;
        let prefix = member_prefix(&path, fmt);
        let count = r.range(4, 30);
        let mut members = Vec::new();
        let pkg = id.replace('-', "_");
        for m in 0..count {
            let (lang, name) = match fmt {
                Fmt::Jar => {
                    let (l, e) = *r.pick(&[
                        (Lang::Yaml, "yaml"),
                        (Lang::Toml, "toml"),
                        (Lang::Json, "json"),
                        (Lang::Env, "properties"),
                        (Lang::Md, "md"),
                    ]);
                    (l, format!("BOOT-INF/classes/{}{m}.{e}", ident(r)))
                }
                Fmt::Whl => {
                    if m == 0 {
                        (Lang::Md, format!("{pkg}-0.{num}.0.dist-info/METADATA"))
                    } else {
                        (Lang::Py, format!("{pkg}/{}_{m}.py", ident(r)))
                    }
                }
                Fmt::Chart => {
                    let name = match m {
                        0 => "Chart.yaml".to_string(),
                        1 => "values.yaml".to_string(),
                        _ => format!("templates/{}-{m}.yaml", ident(r)),
                    };
                    (Lang::Yaml, format!("{id}/{name}"))
                }
                _ => {
                    let l = *r.pick(&[
                        Lang::Py,
                        Lang::Py,
                        Lang::Js,
                        Lang::Js,
                        Lang::Json,
                        Lang::Yaml,
                        Lang::Sh,
                        Lang::Md,
                        Lang::Toml,
                        Lang::Env,
                    ]);
                    let dir = *r.pick(&["src", "lib", "app", "config", "docs"]);
                    let name = if l == Lang::Env {
                        format!("{id}/{dir}/.env.{}{m}", ident(r))
                    } else {
                        format!("{id}/{dir}/{}_{m}.{}", ident(r), ext(l))
                    };
                    (l, name)
                }
            };
            let inner = fmt == Fmt::Nested && m % 2 == 1;
            let truth_path = if inner {
                format!("{prefix}lib/{pkg}.zip!{name}")
            } else {
                format!("{prefix}{name}")
            };
            let size = member_size(r);
            raw += size as u64;
            members.push(Member {
                name,
                spec: FileSpec {
                    path: truth_path,
                    lang,
                    size,
                    ignored: false,
                    items: vec![],
                },
                secret: false,
                inner,
            });
        }
        if fmt == Fmt::Chart {
            let name = format!("{id}/templates/secret.yaml");
            members.push(Member {
                spec: FileSpec {
                    path: format!("{prefix}{name}"),
                    lang: Lang::Yaml,
                    size: 0,
                    ignored: false,
                    items: vec![],
                },
                name,
                secret: true,
                inner: false,
            });
        }
        plans.push(ArchivePlan { path, fmt, members });
    }
    // Plants in about half of the archives (the other half hold none), decoys in a few.
    // (by thirds, so every format, Helm charts too, gets some with and some without)
    let with: Vec<usize> = (0..plans.len()).filter(|i| (i / 3) % 2 == 0).collect();
    let put = |item: Item, r: &mut Rng, plans: &mut Vec<ArchivePlan>| {
        let a = &mut plans[with[r.below(with.len())]];
        // A chart's plants go to its Secret, base64-encoded, when they fit one.
        let m = if a.fmt == Fmt::Chart && r.chance(0.5) {
            a.members.len() - 1
        } else {
            r.below(a.members.len() - usize::from(a.fmt == Fmt::Chart))
        };
        if a.members[m].secret && item.decoy && !ENC_DECOYS.contains(&item.kind) {
            return;
        }
        a.members[m].spec.items.push(item);
    };
    // The nested one always holds a plant in its inner zip.
    if let Some(a) = plans.iter_mut().find(|a| a.fmt == Fmt::Nested) {
        if let Some(m) = a.members.iter_mut().find(|m| m.inner) {
            m.spec.items.push(Item {
                kind: "ghp",
                decoy: false,
            });
        }
    }
    for i in 0..(o.plants / 3).max(KINDS.len()) {
        let kind = KINDS[i % KINDS.len()];
        put(Item { kind, decoy: false }, r, &mut plans);
    }
    for i in 0..(o.plants / 30).max(DECOYS.len()) {
        let kind = DECOYS[i % DECOYS.len()];
        put(Item { kind, decoy: true }, r, &mut plans);
    }
    plans
}

/// A Kubernetes Secret manifest with base64 `data:` values; its items' lines.
fn k8s_secret(r: &mut Rng, items: &[Item]) -> (String, Vec<(usize, Item)>) {
    let mut s = String::new();
    let _ = write!(
        s,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {}-credentials\n  namespace: {}\n  labels:\n    app: {}\ntype: Opaque\ndata:\n",
        ident(r).replace('_', "-"),
        r.pick(&["default", "ci", "prod", "staging"]),
        ident(r)
    );
    let mut line = 9;
    let mut out = Vec::new();
    let filler = |r: &mut Rng, s: &mut String, line: &mut usize| {
        let _ = writeln!(
            s,
            "  {}: {}",
            ident(r).to_uppercase(),
            b64(&format!("{}-{}", ident(r), r.below(100_000)))
        );
        *line += 1;
    };
    for it in items {
        for _ in 0..r.below(3) {
            filler(r, &mut s, &mut line);
        }
        let (v, ctx) = crate::corpus::value_for(it, r);
        let (key, val) = match ctx {
            Some(true) => (
                "CONDA_CHANNEL_URL".to_string(),
                format!("https://conda.anaconda.org/t/{v}/{}", r.pick(CHANNELS)),
            ),
            Some(false) => (
                r.pick(&["ANACONDA_TOKEN", "ANACONDA_API_TOKEN"])
                    .to_string(),
                v,
            ),
            None => (ghvar(r).to_string(), v),
        };
        let _ = writeln!(s, "  {key}: {}", b64(&val));
        line += 1;
        out.push((line, it.clone()));
    }
    filler(r, &mut s, &mut line);
    (s, out)
}

fn truth(path: &str, line: usize, it: &Item, via: &'static str) -> Truth {
    Truth {
        path: path.to_string(),
        line,
        kind: it.kind.to_string(),
        decoy: it.decoy,
        via,
    }
}

fn zip_bytes(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            // A fixed date: the same bytes on every run.
            .last_modified_time(zip::DateTime::from_date_and_time(2024, 6, 1, 12, 0, 0).unwrap());
        for (name, content) in members {
            zip.start_file(*name, options).unwrap();
            zip.write_all(content).unwrap();
        }
        zip.finish().unwrap();
    }
    out.into_inner()
}

fn tar_bytes(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, content) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_717_243_200);
        header.set_cksum();
        builder.append_data(&mut header, name, *content).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    // GzBuilder without a name or mtime: deterministic.
    let mut enc = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn build_archive(a: &ArchivePlan, idx: usize) -> ExtraFile {
    let mut r = Rng::new(SEED ^ 0xa7c4_1e00 ^ (idx as u64).wrapping_mul(0x9e37_79b9));
    let mut truth_all = Vec::new();
    let mut contents: Vec<(String, Vec<u8>, bool)> = Vec::new();
    let mut inner_bytes = 0u64;
    let mut buf = Vec::new();
    for (k, m) in a.members.iter().enumerate() {
        if m.secret {
            let (text, lines) = k8s_secret(&mut r, &m.spec.items);
            for (line, it) in &lines {
                truth_all.push(truth(&m.spec.path, *line, it, ARCHIVE_BASE64));
            }
            contents.push((m.name.clone(), text.into_bytes(), m.inner));
            continue;
        }
        let t = gen_file(&m.spec, (1usize << 40) + idx * 1000 + k, &mut buf);
        truth_all.extend(t.into_iter().map(|mut t| {
            t.via = ARCHIVE;
            t
        }));
        contents.push((m.name.clone(), buf.clone(), m.inner));
    }
    for c in &contents {
        inner_bytes += c.1.len() as u64;
    }
    let list = |inner: bool| -> Vec<(&str, &[u8])> {
        contents
            .iter()
            .filter(|c| c.2 == inner)
            .map(|c| (c.0.as_str(), c.1.as_slice()))
            .collect()
    };
    let bytes = match a.fmt {
        Fmt::Zip | Fmt::Jar | Fmt::Whl => zip_bytes(&list(false)),
        Fmt::Tgz | Fmt::TarGz | Fmt::Chart => gzip_bytes(&tar_bytes(&list(false))),
        Fmt::Nested => {
            let zip = zip_bytes(&list(true));
            let pkg = a
                .members
                .iter()
                .find(|m| m.inner)
                .map(|m| {
                    let p = &m.spec.path;
                    let s = &p[..p.rfind(".zip!").unwrap()];
                    s[s.rfind("lib/").unwrap()..].to_string() + ".zip"
                })
                .unwrap_or_else(|| "lib/empty.zip".into());
            let mut outer = list(false);
            outer.push((pkg.as_str(), zip.as_slice()));
            gzip_bytes(&tar_bytes(&outer))
        }
    };
    ExtraFile {
        path: a.path.clone(),
        bytes,
        truth: truth_all,
        inner_bytes,
        archive: true,
    }
}

/// Text files with base64 plants: Secrets, docker configs, Basic headers, encoded .env.
fn encoded_files(o: &Opts, r: &mut Rng, projects: &[String]) -> Vec<ExtraFile> {
    let total = (o.plants / 3).max(KINDS.len() * 2);
    let mut out = Vec::new();
    let mut k = 0usize;
    let mut next_kind = |gh_only: bool| loop {
        let kind = KINDS[k % KINDS.len()];
        k += 1;
        if !gh_only || GH_KINDS.contains(&kind) {
            return kind;
        }
    };
    let mut planted = 0;
    let mut n = 0usize;
    let mut decoys_left = (o.plants / 30).max(2);
    while planted < total {
        let p = r.pick(projects).clone();
        let id = ident(r).replace('_', "-");
        let form = n % 8;
        n += 1;
        let f = match form {
            // Kubernetes Secret manifests (3 of 8)
            0 | 3 | 6 => {
                let mut items: Vec<Item> = (0..r.range(1, 3))
                    .map(|_| Item {
                        kind: next_kind(false),
                        decoy: false,
                    })
                    .collect();
                if decoys_left > 0 && r.chance(0.5) {
                    decoys_left -= 1;
                    items.push(Item {
                        kind: ENC_DECOYS[r.below(ENC_DECOYS.len())],
                        decoy: true,
                    });
                }
                let path = format!("{p}/deploy/k8s/{id}-secret-{n}.yaml");
                let (text, lines) = k8s_secret(r, &items);
                ExtraFile {
                    truth: lines
                        .iter()
                        .map(|(l, it)| truth(&path, *l, it, BASE64))
                        .collect(),
                    path,
                    inner_bytes: text.len() as u64,
                    bytes: text.into_bytes(),
                    archive: false,
                }
            }
            // docker config.json auth (user:token)
            1 | 5 => {
                let it = Item {
                    kind: next_kind(true),
                    decoy: false,
                };
                let tok = make_token(r, it.kind);
                let path = format!("{p}/ci/{id}-{n}/.docker/config.json");
                let text = format!(
                    "{{\n  \"auths\": {{\n    \"registry.example.com\": {{\n      \"auth\": \"{}\"\n    }},\n    \"ghcr.io\": {{\n      \"auth\": \"{}\"\n    }}\n  }},\n  \"credsStore\": \"\"\n}}\n",
                    b64(&format!("ci:{}", ident(r))),
                    b64(&format!("{}:{tok}", r.pick(&["bot", "ci-user", "deploy", "x-access-token"])))
                );
                ExtraFile {
                    truth: vec![truth(&path, 7, &it, BASE64)],
                    path,
                    inner_bytes: text.len() as u64,
                    bytes: text.into_bytes(),
                    archive: false,
                }
            }
            // Authorization: Basic in a shell script among filler
            2 | 7 => {
                let path = format!("{p}/scripts/{id}_api_{n}.sh");
                let mut buf = Vec::new();
                header(Lang::Sh, r, &mut buf);
                let mut t = Vec::new();
                for _ in 0..r.range(1, 2) {
                    for _ in 0..r.range(1, 6) {
                        block(Lang::Sh, r, &mut buf);
                    }
                    let it = Item {
                        kind: next_kind(true),
                        decoy: false,
                    };
                    let tok = make_token(r, it.kind);
                    let _ = writeln!(
                        buf,
                        "curl -fsS -H \"Authorization: Basic {}\" https://api.github.com/repos/acme/{}/releases",
                        b64(&format!("x-access-token:{tok}")),
                        ident(r)
                    );
                    let line = buf.iter().filter(|&&b| b == b'\n').count();
                    t.push(truth(&path, line, &it, BASE64));
                }
                for _ in 0..r.range(1, 4) {
                    block(Lang::Sh, r, &mut buf);
                }
                ExtraFile {
                    truth: t,
                    path,
                    inner_bytes: buf.len() as u64,
                    bytes: buf,
                    archive: false,
                }
            }
            // A whole .env encoded: wrapped at 76 (two plants) or one line (one plant)
            _ => {
                let wrapped = r.chance(0.7);
                let path = format!("{p}/config/{id}-{n}.env.b64");
                let mut env = String::new();
                let mut at = Vec::new();
                let plants = if wrapped { r.range(1, 2) } else { 1 };
                for _ in 0..plants {
                    // filler lines: > 57 decoded bytes between two plants (> one 76-column line)
                    for _ in 0..r.range(3, 8) {
                        let _ = writeln!(
                            env,
                            "{}_{}={}-{}",
                            ident(r).to_uppercase(),
                            ident(r).to_uppercase(),
                            ident(r),
                            r.below(1_000_000)
                        );
                    }
                    let it = Item {
                        kind: next_kind(false),
                        decoy: false,
                    };
                    let (v, ctx) = crate::corpus::value_for(&it, r);
                    let line = match ctx {
                        Some(true) => format!(
                            "CONDA_CHANNEL_URL=https://conda.anaconda.org/t/{v}/{}",
                            r.pick(CHANNELS)
                        ),
                        Some(false) => format!("ANACONDA_API_TOKEN={v}"),
                        None => format!("{}={v}", ghvar(r)),
                    };
                    let off = env.len() + line.find(&v).unwrap();
                    at.push((off, it));
                    env.push_str(&line);
                    env.push('\n');
                }
                let _ = writeln!(env, "LOG_LEVEL={}", r.pick(&["info", "debug", "warn"]));
                let enc = b64(&env);
                let mut text = String::new();
                let t = if wrapped {
                    for c in enc.as_bytes().chunks(76) {
                        text.push_str(std::str::from_utf8(c).unwrap());
                        text.push('\n');
                    }
                    at.iter()
                        .map(|(off, it)| truth(&path, off / 3 * 4 / 76 + 1, it, BASE64))
                        .collect()
                } else {
                    text.push_str(&enc);
                    text.push('\n');
                    at.iter()
                        .map(|(_, it)| truth(&path, 1, it, BASE64))
                        .collect()
                };
                ExtraFile {
                    truth: t,
                    path,
                    inner_bytes: text.len() as u64,
                    bytes: text.into_bytes(),
                    archive: false,
                }
            }
        };
        planted += f.truth.iter().filter(|t| !t.decoy).count();
        out.push(f);
    }
    out
}

/// All of this share's files, in a fixed order.
pub(crate) fn gen_extras(o: &Opts, projects: &[String]) -> Vec<ExtraFile> {
    let mut r = Rng::new(SEED ^ 0x0a2c_41e5_b64e_0013);
    let plans = plan_archives(o, &mut r, projects);
    let mut out: Vec<ExtraFile> = plans
        .iter()
        .enumerate()
        .map(|(i, a)| build_archive(a, i))
        .collect();
    out.extend(encoded_files(o, &mut r, projects));
    out
}
