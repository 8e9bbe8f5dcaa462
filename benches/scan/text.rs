//! Source-like filler text in several languages, and the lines that carry a token.

use crate::rng::Rng;
use crate::tokens::*;
use std::io::Write as _;

pub(crate) const IDENTS: &[&str] = &[
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

pub(crate) const WORDS: &[&str] = &[
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

pub(crate) const TYPES: &[&str] = &[
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

pub(crate) const CHANNELS: &[&str] = &[
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

pub(crate) fn ident<'a>(r: &mut Rng) -> &'a str {
    IDENTS[r.below(IDENTS.len())]
}

pub(crate) fn sentence(r: &mut Rng, out: &mut Vec<u8>) {
    let n = r.range(4, 14);
    for i in 0..n {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(r.pick(WORDS).as_bytes());
    }
    out.push(b'.');
}

pub(crate) fn camel(r: &mut Rng, out: &mut Vec<u8>) {
    out.extend_from_slice(r.pick(TYPES).as_bytes());
    out.extend_from_slice(r.pick(TYPES).as_bytes());
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Lang {
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

pub(crate) fn ext(l: Lang) -> &'static str {
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

pub(crate) fn header(l: Lang, r: &mut Rng, o: &mut Vec<u8>) {
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

pub(crate) fn footer(l: Lang, o: &mut Vec<u8>) {
    match l {
        Lang::Json => o.extend_from_slice(b"  \"_end\": true\n}\n"),
        Lang::NpmLock => o.extend_from_slice(b"    \"\": {}\n  }\n}\n"),
        Lang::MinJs => o.extend_from_slice(b"}();\n"),
        Lang::Py => o.extend_from_slice(b"\nif __name__ == \"__main__\":\n    main()\n"),
        _ => {}
    }
}

/// Appends one block of whole lines (ends with '\n'), except MinJs (one long line).
pub(crate) fn block(l: Lang, r: &mut Rng, o: &mut Vec<u8>) {
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

pub(crate) const LOWER_ID: &[&str] = &["e", "t", "n", "r", "o", "i", "a", "s", "u", "c", "l"];

pub(crate) const GHVARS: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_PAT",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_API_TOKEN",
];

pub(crate) fn ghvar(r: &mut Rng) -> &'static str {
    GHVARS[r.below(GHVARS.len())]
}

/// One line (no '\n') carrying `val` in the idiom of `l`. `anaconda` picks the context:
/// None = a GitHub-ish value, Some(true) = channel URL, Some(false) = ANACONDA_API_TOKEN=.
pub(crate) fn carrier(l: Lang, r: &mut Rng, val: &str, anaconda: Option<bool>) -> String {
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
