//! GitHub Actions `permissions:`: what the workflow's `GITHUB_TOKEN` may do, against
//! what its steps need per the table in `rules/actions.toml`.
//!
//! Parsed with saphyr's `MarkedYaml` so every finding points at the offending key. A job
//! is judged only when every one of its steps is in the table; anything else (an unknown
//! action, `actions/github-script`, a script using the token for something unlisted, a
//! reusable workflow) leaves the job unjudged rather than guessed at.

use super::actions_table::{merge, Level, Need, Permissions};
use super::{Context, Example, LintDoc, LintFinding, Severity, SourceFile};
use saphyr::{LoadableYamlNode, MarkedYaml};
use std::collections::BTreeMap;

pub static WRITE_ALL: LintDoc = LintDoc {
    id: "actions-write-all",
    title: "Workflow or job grants GITHUB_TOKEN `permissions: write-all`",
    severity: Severity::Error,
    checks: "`permissions: write-all` at workflow or job level in .github/workflows/*.yml.",
    why: "write-all lets every step (and every third-party action the job runs) push code, publish releases \
and packages, change issues and pull requests and request OIDC tokens. One compromised action is then a \
compromised repository.",
    example: Example {
        path: ".github/workflows/ci.yml",
        text: "on: push\npermissions: write-all\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n",
    },
    negative: Example {
        path: ".github/workflows/ci.yml",
        text: "on: push\npermissions:\n  contents: read\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n",
    },
    fix: "Replace it with the block leakscope suggests: the scopes the job's steps need, e.g.\npermissions:\n  contents: read",
};

pub static MISSING: LintDoc = LintDoc {
    id: "actions-missing-permissions",
    title: "Workflow has no top-level `permissions:` block",
    severity: Severity::Warning,
    checks: "Workflows with no top-level `permissions:` block that have at least one job without its own.",
    why: "Without a block the token gets the repository's or organisation's default, which is read-write for \
older repositories and organisations: every step can push and publish.",
    example: Example {
        path: ".github/workflows/ci.yml",
        text: "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n",
    },
    negative: Example {
        path: ".github/workflows/ci.yml",
        text: "on: push\npermissions:\n  contents: read\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n",
    },
    fix: "Add a top-level block with what the jobs need (leakscope computes it when it knows every step), \
e.g.\npermissions:\n  contents: read",
};

pub static EXCESS: LintDoc = LintDoc {
    id: "actions-excess-permissions",
    title: "Job's token has write scopes its steps do not need",
    severity: Severity::Warning,
    checks: "For each job whose every step is in the actions table (rules/actions.toml), the write scopes \
granted by its `permissions:` block (or inherited from the workflow's) that no step needs.",
    why: "A job that only builds and tests should not be able to push, release or publish: a compromised \
dependency or action in that job would inherit the write access.",
    example: Example {
        path: ".github/workflows/ci.yml",
        text: "on: push\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: write\n    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n",
    },
    negative: Example {
        path: ".github/workflows/ci.yml",
        text: "on: push\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n",
    },
    fix: "Use the exact block leakscope suggests for the job, e.g.\npermissions:\n  contents: read",
};

pub static DOCS: [&LintDoc; 3] = [&WRITE_ALL, &MISSING, &EXCESS];

/// `.github/workflows/*.yml` (or `.yaml`) at any depth, or any YAML file with the
/// top-level `on:` and `jobs:` keys of a workflow (a workflows directory linted from
/// inside, a workflow template).
pub fn is_workflow(path: &str, text: &str) -> bool {
    if !(path.ends_with(".yml") || path.ends_with(".yaml")) {
        return false;
    }
    if path.starts_with(".github/workflows/") || path.contains("/.github/workflows/") {
        return true;
    }
    // A top-level key, bare or quoted (`on:`, `"on":`, `'on':`).
    let top_key = |key: &str| {
        text.lines().any(|l| {
            let rest = l.trim_start_matches(['"', '\'']);
            !l.starts_with([' ', '\t'])
                && rest
                    .strip_prefix(key)
                    .is_some_and(|r| r.trim_start_matches(['"', '\'']).starts_with(':'))
        })
    };
    top_key("jobs") && top_key("on")
}

/// A `permissions:` value as written.
enum Declared {
    WriteAll,
    ReadAll,
    /// Each key with its level and position; `{}` is an empty map.
    Map(Vec<(String, Level, usize, usize)>),
    /// Something else (an expression): not judged.
    Other,
}

/// 1-based line and column of a node.
pub(super) fn pos(node: &MarkedYaml<'_>) -> (usize, usize) {
    (node.span.start.line(), node.span.start.col() + 1)
}

/// The key node and value node of `key` in a mapping node.
pub(super) fn entry<'a, 'i>(
    node: &'a MarkedYaml<'i>,
    key: &str,
) -> Option<(&'a MarkedYaml<'i>, &'a MarkedYaml<'i>)> {
    node.data
        .as_mapping()?
        .iter()
        .find(|(k, _)| k.data.as_str() == Some(key))
}

fn declared(value: &MarkedYaml<'_>) -> Declared {
    if let Some(text) = value.data.as_str() {
        return match text {
            "write-all" => Declared::WriteAll,
            "read-all" => Declared::ReadAll,
            _ => Declared::Other,
        };
    }
    if let Some(map) = value.data.as_mapping() {
        let mut keys = Vec::new();
        for (k, v) in map {
            let (Some(key), Some(level)) =
                (k.data.as_str(), v.data.as_str().and_then(Level::parse))
            else {
                continue;
            };
            let (line, col) = pos(k);
            keys.push((key.to_string(), level, line, col));
        }
        return Declared::Map(keys);
    }
    Declared::Other
}

/// True when an `env:` mapping on this node hands the token over
/// (`${{ secrets.GITHUB_TOKEN }}`, `${{ github.token }}`).
fn env_has_token(node: &MarkedYaml<'_>) -> bool {
    let Some((_, env)) = entry(node, "env") else {
        return false;
    };
    env.data.as_mapping().is_some_and(|map| {
        map.iter().any(|(_, v)| {
            v.data
                .as_str()
                .is_some_and(|s| super::actions_table::TOKEN_EXPRESSION.is_match(s))
        })
    })
}

/// What a job's steps need, or why the table cannot say. `token_in_env`: the workflow's
/// `env:` already hands the token to every step.
fn job_need(job: &MarkedYaml<'_>, ctx: &Context<'_>, token_in_env: bool) -> Need {
    let token_in_env = token_in_env || env_has_token(job);
    if entry(job, "uses").is_some() {
        return Need::Unknown("calls a reusable workflow".into());
    }
    let Some((_, steps)) = entry(job, "steps") else {
        return Need::Unknown("has no steps".into());
    };
    let Some(steps) = steps.data.as_sequence() else {
        return Need::Unknown("its steps are not a list".into());
    };
    let mut need = Permissions::new();
    for step in steps {
        let step_need = if let Some((_, uses)) = entry(step, "uses") {
            let Some(uses) = uses.data.as_str() else {
                return Need::Unknown("a step's `uses` is not text".into());
            };
            let mut with = BTreeMap::new();
            if let Some((_, inputs)) = entry(step, "with") {
                if let Some(map) = inputs.data.as_mapping() {
                    for (k, v) in map {
                        if let (Some(k), Some(v)) = (k.data.as_str(), v.data.as_str()) {
                            with.insert(k.to_string(), v.to_string());
                        }
                    }
                }
            }
            ctx.actions.action_need(uses, &with)
        } else if let Some((_, run)) = entry(step, "run") {
            match run.data.as_str() {
                Some(script) => ctx
                    .actions
                    .script_need(script, token_in_env || env_has_token(step)),
                None => Need::Unknown("a `run` that is not text".into()),
            }
        } else {
            Need::Unknown("a step with neither `uses` nor `run`".into())
        };
        match step_need {
            Need::Known(p) => merge(&mut need, &p),
            unknown => return unknown,
        }
    }
    Need::Known(need)
}

/// A `permissions:` block as YAML, indented by `indent` spaces.
pub fn block(need: &Permissions, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let keys: Vec<(&String, &Level)> = need.iter().filter(|(_, l)| **l != Level::None).collect();
    if keys.is_empty() {
        return format!("{pad}permissions: {{}}");
    }
    let mut out = format!("{pad}permissions:");
    for (k, l) in keys {
        out.push_str(&format!("\n{pad}  {k}: {}", l.as_str()));
    }
    out
}

struct Job<'a> {
    name: String,
    permissions: Option<(&'a MarkedYaml<'a>, Declared)>,
    need: Need,
}

/// The whole-workflow suggestion: `contents: read` at the top, and a block for each job
/// that needs more (or a comment for jobs the table cannot judge).
fn workflow_suggestion(jobs: &[Job<'_>]) -> String {
    let base: Permissions = [("contents".to_string(), Level::Read)].into();
    let mut out = block(&base, 0);
    let mut job_blocks = String::new();
    for job in jobs {
        match &job.need {
            Need::Known(need) => {
                let mut full = need.clone();
                if full.get("contents").is_none_or(|l| *l == Level::None) {
                    // The top-level block would give it contents: read; say so exactly.
                    full.remove("contents");
                }
                if full
                    .iter()
                    .any(|(k, l)| *l > base.get(k).copied().unwrap_or(Level::None))
                {
                    job_blocks.push_str(&format!("\n  {}:\n{}", job.name, block(need, 4)));
                }
            }
            Need::Unknown(why) => {
                job_blocks.push_str(&format!(
                    "\n  {}:  # not judged: {why}; list only what it needs",
                    job.name
                ));
            }
        }
    }
    // A `jobs:` key only when some job needs its own block: a bare one is no YAML to paste.
    if !job_blocks.is_empty() {
        out.push_str("\njobs:");
        out.push_str(&job_blocks);
    }
    out
}

fn job_suggestion(job: &Job<'_>) -> String {
    match &job.need {
        Need::Known(need) => block(need, 0),
        Need::Unknown(why) => format!(
            "list only the scopes this job needs (leakscope cannot judge it: {why}), e.g.\npermissions:\n  contents: read"
        ),
    }
}

pub fn check(
    file: &SourceFile<'_>,
    ctx: &Context<'_>,
    out: &mut Vec<LintFinding>,
) -> Result<(), String> {
    if !is_workflow(file.path, file.text) {
        return Ok(());
    }
    let docs = MarkedYaml::load_from_str(file.text).map_err(|e| format!("not valid YAML: {e}"))?;
    let Some(root) = docs.first() else {
        return Ok(());
    };
    let Some((jobs_key, jobs_node)) = entry(root, "jobs") else {
        return Ok(());
    };
    let Some(jobs_map) = jobs_node.data.as_mapping() else {
        return Ok(());
    };
    let workflow_env_token = env_has_token(root);
    let mut jobs = Vec::new();
    for (k, v) in jobs_map {
        jobs.push(Job {
            name: k.data.as_str().unwrap_or("?").to_string(),
            permissions: entry(v, "permissions").map(|(key, value)| (key, declared(value))),
            need: job_need(v, ctx, workflow_env_token),
        });
    }
    let top = entry(root, "permissions").map(|(key, value)| (key, declared(value)));
    let workflow_fix = workflow_suggestion(&jobs);

    match &top {
        Some((key, Declared::WriteAll)) => {
            let (line, col) = pos(key);
            out.push(
                file.finding_on(&WRITE_ALL, line, col)
                .severity(Severity::Error)
                .key("workflow")
                .message("`permissions: write-all` gives every job's token write access to everything"
                        )
                .suggestion(workflow_fix.clone())
                .build(),
            );
        }
        None if jobs.iter().any(|j| j.permissions.is_none()) => {
            let (line, col) = pos(jobs_key);
            let bare: Vec<&str> = jobs
                .iter()
                .filter(|j| j.permissions.is_none())
                .map(|j| j.name.as_str())
                .collect();
            out.push(file.finding_on(&MISSING, line, col)
                .severity(Severity::Warning)
                .key("workflow")
                .message(format!(
                    "no top-level `permissions:` block: job{} {} get{} the repository's default token, which may be read-write",
                    if bare.len() == 1 { "" } else { "s" },
                    bare.join(", "),
                    if bare.len() == 1 { "s" } else { "" },
                ))
                .suggestion(workflow_fix.clone())
                .build());
        }
        _ => {}
    }

    for job in &jobs {
        match &job.permissions {
            Some((key, Declared::WriteAll)) => {
                let (line, col) = pos(key);
                out.push(
                    file.finding_on(&WRITE_ALL, line, col)
                        .severity(Severity::Error)
                        .key(&job.name)
                        .message(format!("job `{}` has `permissions: write-all`", job.name))
                        .suggestion(job_suggestion(job))
                        .build(),
                );
            }
            Some((_, Declared::Map(keys))) => {
                let Need::Known(need) = &job.need else {
                    continue;
                };
                for (key, level, line, col) in keys {
                    let needed = need.get(key).copied().unwrap_or(Level::None);
                    if *level == Level::Write && needed < Level::Write {
                        out.push(
                            file.finding_on(&EXCESS, *line, *col)
                                .severity(Severity::Warning)
                                .key(format!("{}/{key}", job.name))
                                .message(format!(
                                    "job `{}` grants `{key}: write` but its steps need {}",
                                    job.name,
                                    if needed == Level::None {
                                        format!("no `{key}` access")
                                    } else {
                                        format!("only `{key}: {}`", needed.as_str())
                                    }
                                ))
                                .suggestion(job_suggestion(job))
                                .build(),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    // Workflow-level writes that reach jobs known not to need them.
    if let Some((_, Declared::Map(keys))) = &top {
        for (key, level, line, col) in keys {
            if *level != Level::Write {
                continue;
            }
            let idle: Vec<&str> = jobs
                .iter()
                .filter(|j| j.permissions.is_none())
                .filter(|j| match &j.need {
                    Need::Known(need) => {
                        need.get(key).copied().unwrap_or(Level::None) < Level::Write
                    }
                    Need::Unknown(_) => false,
                })
                .map(|j| j.name.as_str())
                .collect();
            if idle.is_empty() {
                continue;
            }
            out.push(file.finding_on(&EXCESS, *line, *col)
                .severity(Severity::Warning)
                .key(format!("workflow/{key}"))
                .message(format!(
                    "workflow-level `{key}: write` reaches job{} {} whose steps do not need it; grant it only in the jobs that do",
                    if idle.len() == 1 { "" } else { "s" },
                    idle.join(", ")
                ))
                .suggestion(workflow_fix.clone())
                .build());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{lint_text, rules_of};
    use super::*;

    const PATH: &str = ".github/workflows/ci.yml";

    #[test]
    fn write_all_points_at_the_key() {
        let text = "name: ci\non: push\npermissions: write-all\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n";
        let f = lint_text(PATH, text);
        assert_eq!(rules_of(&f), ["actions-write-all"]);
        assert_eq!((f[0].line, f[0].column), (3, 1));
        assert_eq!(f[0].severity, Severity::Error);
        // One checkout job needs nothing beyond the top-level block: no bare `jobs:`.
        assert_eq!(f[0].suggestion, "permissions:\n  contents: read");
    }

    #[test]
    fn missing_block_suggests_what_the_jobs_need() {
        let text = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/upload-pages-artifact@v3\n        with:\n          path: site\n  deploy:\n    needs: build\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/deploy-pages@v4\n";
        let f = lint_text(PATH, text);
        assert_eq!(rules_of(&f), ["actions-missing-permissions"]);
        assert_eq!(f[0].line, 2);
        assert_eq!(
            f[0].suggestion,
            "permissions:\n  contents: read\njobs:\n  deploy:\n    permissions:\n      id-token: write\n      pages: write"
        );
    }

    #[test]
    fn job_write_scopes_its_steps_do_not_need() {
        let text = "on: push\npermissions:\n  contents: read\njobs:\n  test:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: write\n      packages: write\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-python@v5\n      - run: |\n          pip install .\n          pytest\n";
        let f = lint_text(PATH, text);
        assert_eq!(
            rules_of(&f),
            ["actions-excess-permissions", "actions-excess-permissions"]
        );
        assert_eq!((f[0].line, f[0].column), (8, 7));
        assert!(
            f[0].message.contains("only `contents: read`"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].suggestion, "permissions:\n  contents: read");
        assert_eq!(f[1].line, 9);
    }

    #[test]
    fn needed_writes_and_unknown_jobs_pass() {
        let release = "on: push\npermissions:\n  contents: read\njobs:\n  release:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: write\n    steps:\n      - uses: actions/checkout@v4\n      - run: gh release create v1 dist/*\n        env:\n          GH_TOKEN: ${{ github.token }}\n";
        assert!(
            lint_text(PATH, release).is_empty(),
            "{:?}",
            lint_text(PATH, release)
        );
        let unknown = "on: push\npermissions:\n  contents: read\njobs:\n  bot:\n    runs-on: ubuntu-latest\n    permissions:\n      issues: write\n    steps:\n      - uses: actions/github-script@v7\n        with:\n          script: console.log(1)\n";
        assert!(lint_text(PATH, unknown).is_empty());
        // A repository script may `git push` (git2-rs's publish.sh does): not judged.
        let script = "on: workflow_dispatch\npermissions:\n  contents: write\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: ./ci/publish.sh\n";
        assert!(lint_text(PATH, script).is_empty());
        // The token handed to a tool through env: not judged either.
        let env = "on: push\npermissions:\n  contents: write\njobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: npx semantic-release\n        env:\n          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n";
        assert!(lint_text(PATH, env).is_empty());
        // Not a workflow (no `on:`, not under .github/workflows): not judged.
        assert!(lint_text("ci.yml", "permissions: write-all\njobs: {}\n").is_empty());
        assert_eq!(
            rules_of(&lint_text(
                "ci.yml",
                "on: push\npermissions: write-all\njobs: {}\n"
            )),
            ["actions-write-all"]
        );
    }

    #[test]
    fn workflow_level_write_reaching_idle_jobs() {
        let text = "on: push\npermissions:\n  contents: write\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: make lint\n";
        let f = lint_text(PATH, text);
        assert_eq!(rules_of(&f), ["actions-excess-permissions"]);
        assert_eq!(f[0].line, 3);
        assert!(f[0].message.contains("job lint"));
    }

    #[test]
    fn invalid_yaml_is_an_error_not_a_panic() {
        let data = super::super::Data::builtin().unwrap();
        let policy = super::super::policy::Policy::default();
        let ci = super::super::ci::CiFacts::default();
        let ctx = Context {
            facts: &data.facts,
            actions: &data.actions,
            policy: &policy,
            ci: &ci,
        };
        let file = SourceFile::new(PATH, "jobs: [\n", &[]);
        let mut out = Vec::new();
        let err = check(&file, &ctx, &mut out).unwrap_err();
        assert!(err.contains("not valid YAML"), "{err}");
    }
}
