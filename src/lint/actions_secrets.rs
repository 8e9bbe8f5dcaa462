//! Where a workflow's secrets go: every secret handed to a reusable workflow with
//! `secrets: inherit`, and the `GITHUB_TOKEN` or a personal access token handed (in
//! `with:` or `env:`) to a third-party action that is not pinned to a commit.

use super::actions_permissions::{entry, is_workflow, pos};
use super::{Context, Example, LintDoc, LintFinding, Severity, SourceFile};
use saphyr::{LoadableYamlNode, MarkedYaml};
use std::sync::LazyLock;

pub static INHERIT: LintDoc = LintDoc {
    id: "actions-secrets-inherit",
    title: "Reusable-workflow call passes every secret with `secrets: inherit`",
    severity: Severity::Warning,
    checks: "Jobs that call a reusable workflow (`uses: owner/repo/.github/workflows/x.yml@ref` or \
`./.github/workflows/x.yml`) with `secrets: inherit`.",
    why: "`inherit` hands the called workflow every secret the caller can read (organisation, repository and \
environment secrets), not the one or two it uses: a compromised or careless callee, or a later change to it, \
reaches them all. zizmor flags the same pattern (secrets-inherit).",
    example: Example {
        path: ".github/workflows/release.yml",
        text: "on: push\npermissions: {}\njobs:\n  publish:\n    uses: acme/shared/.github/workflows/publish.yml@v2\n    secrets: inherit\n",
    },
    negative: Example {
        path: ".github/workflows/release.yml",
        text: "on: push\npermissions: {}\njobs:\n  publish:\n    uses: acme/shared/.github/workflows/publish.yml@v2\n    secrets:\n      PYPI_TOKEN: ${{ secrets.PYPI_TOKEN }}\n",
    },
    fix: "Pass only the secrets the called workflow declares under `on.workflow_call.secrets`, e.g.\n\
secrets:\n  PYPI_TOKEN: ${{ secrets.PYPI_TOKEN }}",
};

pub static UNPINNED: LintDoc = LintDoc {
    id: "actions-token-to-unpinned-action",
    title: "GITHUB_TOKEN or a secret token passed to a third-party action not pinned to a commit SHA",
    severity: Severity::Warning,
    checks: "Steps whose `uses:` is a third-party action (not `actions/*`, `github/*` or a local `./` action) \
at a tag or branch instead of a full 40-hex commit SHA, and whose `with:` or `env:` hands it \
`${{ secrets.GITHUB_TOKEN }}`, `${{ github.token }}` or another `${{ secrets.* }}`.",
    why: "A tag or branch is whatever its owner (or whoever compromises the owner) points it at next; the \
tj-actions/changed-files compromise (March 2025) retagged every version to code that dumped the runner's \
secrets into public logs. A commit SHA cannot be moved.",
    example: Example {
        path: ".github/workflows/pr.yml",
        text: "on: pull_request\npermissions:\n  contents: read\njobs:\n  files:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: tj-actions/changed-files@v45\n        with:\n          token: ${{ secrets.GITHUB_TOKEN }}\n",
    },
    negative: Example {
        path: ".github/workflows/pr.yml",
        text: "on: pull_request\npermissions:\n  contents: read\njobs:\n  files:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: tj-actions/changed-files@0123456789abcdef0123456789abcdef01234567 # the reviewed release\n        with:\n          token: ${{ secrets.GITHUB_TOKEN }}\n",
    },
    fix: "Pin the action to the full commit SHA of the release you reviewed, with the tag in a comment \
(`uses: owner/action@<40-hex sha> # v1.2.3`); Dependabot and Renovate keep such pins up to date.",
};

pub static DOCS: [&LintDoc; 2] = [&INHERIT, &UNPINNED];

/// `${{ secrets.NAME }}` or `${{ github.token }}` inside a value.
static SECRET_EXPRESSION: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"\$\{\{\s*(secrets\.[A-Za-z0-9_]+|github\.token)\s*\}\}").unwrap()
});

/// Owners whose actions GitHub publishes.
const FIRST_PARTY: &[&str] = &["actions", "github"];

/// `owner/repo[/path]@ref` split into the owner and the ref; `None` for local
/// (`./...`) and `docker://` actions.
fn action_ref(uses: &str) -> Option<(&str, &str)> {
    if uses.starts_with("./") || uses.starts_with("docker://") {
        return None;
    }
    let (name, reference) = uses.split_once('@')?;
    let owner = name.split('/').next()?;
    Some((owner, reference))
}

fn is_commit_sha(reference: &str) -> bool {
    reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The secret expressions in a step's `with:` and `env:` values, with the key node.
fn handed_secrets<'a, 'i>(step: &'a MarkedYaml<'i>) -> Vec<(&'a MarkedYaml<'i>, String)> {
    let mut out = Vec::new();
    for block in ["with", "env"] {
        let Some((_, map)) = entry(step, block) else {
            continue;
        };
        for (k, v) in map.data.as_mapping().into_iter().flatten() {
            if let Some(m) = v.data.as_str().and_then(|s| SECRET_EXPRESSION.captures(s)) {
                out.push((k, m[1].to_string()));
            }
        }
    }
    out
}

pub fn check(
    file: &SourceFile<'_>,
    _ctx: &Context<'_>,
    out: &mut Vec<LintFinding>,
) -> Result<(), String> {
    if !is_workflow(file.path, file.text) {
        return Ok(());
    }
    if !(file.text.contains("inherit") || file.text.contains("${{")) {
        return Ok(());
    }
    // A workflow that is not valid YAML is reported once, by actions-permissions.
    let Ok(docs) = MarkedYaml::load_from_str(file.text) else {
        return Ok(());
    };
    let Some((_, jobs)) = docs.first().and_then(|root| entry(root, "jobs")) else {
        return Ok(());
    };
    for (name, job) in jobs.data.as_mapping().into_iter().flatten() {
        let job_name = name.data.as_str().unwrap_or("?");
        if let (Some((_, uses)), Some((key, secrets))) = (entry(job, "uses"), entry(job, "secrets"))
        {
            if secrets.data.as_str() == Some("inherit") {
                let (line, column) = pos(key);
                out.push(
                    file.finding_on(&INHERIT, line, column)
                    .key(job_name)
                    .message(format!(
                            "job `{job_name}` passes every secret of this workflow to `{}`",
                            uses.data.as_str().unwrap_or("a reusable workflow")
                        ))
                    .suggestion(
                            "list only the secrets the called workflow declares under `on.workflow_call.secrets`, e.g.\nsecrets:\n  NAME: ${{ secrets.NAME }}",
                        )
                    .build(),
                );
            }
        }
        let Some((_, steps)) = entry(job, "steps") else {
            continue;
        };
        for step in steps.data.as_sequence().into_iter().flatten() {
            let Some((uses_key, uses)) = entry(step, "uses") else {
                continue;
            };
            let Some(uses) = uses.data.as_str() else {
                continue;
            };
            let Some((owner, reference)) = action_ref(uses) else {
                continue;
            };
            if FIRST_PARTY.contains(&owner.to_ascii_lowercase().as_str())
                || is_commit_sha(reference)
            {
                continue;
            }
            let handed = handed_secrets(step);
            let Some((key, what)) = handed.first() else {
                continue;
            };
            let token = if what == "github.token" || what == "secrets.GITHUB_TOKEN" {
                "the workflow's GITHUB_TOKEN".to_string()
            } else {
                format!("`{what}`")
            };
            let key_name = key.data.as_str().unwrap_or("?");
            let (line, column) = pos(uses_key);
            let more = if handed.len() > 1 {
                format!(" (and {} more)", handed.len() - 1)
            } else {
                String::new()
            };
            out.push(
                file.finding_on(&UNPINNED, line, column)
                .key(format!("{job_name}/{uses}"))
                .message(format!(
                        "`{uses}` gets {token} through `{key_name}`{more}, but `@{reference}` is a tag or branch its owner can move"
                    ))
                .suggestion(format!(
                        "pin it to a full commit SHA: `uses: {}@<40-hex commit sha> # {reference}`",
                        uses.split('@').next().unwrap_or(uses)
                    ))
                .build(),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{lint_text, rules_of};

    const PATH: &str = ".github/workflows/ci.yml";

    fn ours(path: &str, text: &str) -> Vec<super::LintFinding> {
        lint_text(path, text)
            .into_iter()
            .filter(|f| {
                f.rule.starts_with("actions-secrets") || f.rule.starts_with("actions-token")
            })
            .collect()
    }

    #[test]
    fn secrets_inherit_points_at_the_key() {
        let text = "on: push\njobs:\n  call:\n    uses: ./.github/workflows/deploy.yml\n    secrets: inherit\n  named:\n    uses: ./.github/workflows/deploy.yml\n    secrets:\n      TOKEN: ${{ secrets.TOKEN }}\n";
        let f = ours(PATH, text);
        assert_eq!(rules_of(&f), ["actions-secrets-inherit"]);
        assert_eq!((f[0].line, f[0].column), (5, 5));
    }

    #[test]
    fn tokens_to_unpinned_third_party_actions() {
        let text = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          token: ${{ secrets.PAT }}\n      - uses: peter-evans/create-pull-request@v6\n        with:\n          token: ${{ secrets.BOT_PAT }}\n      - uses: softprops/action-gh-release@v2\n        env:\n          GITHUB_TOKEN: ${{ github.token }}\n      - uses: softprops/action-gh-release@c95fe1489396fe8a9eb87c0abf8aa5b2ef267fda\n        env:\n          GITHUB_TOKEN: ${{ github.token }}\n      - uses: codecov/codecov-action@v4\n        with:\n          files: coverage.xml\n";
        let f = ours(PATH, text);
        assert_eq!(
            rules_of(&f),
            ["actions-token-to-unpinned-action"; 2],
            "{f:#?}"
        );
        assert_eq!((f[0].line, f[0].column), (9, 9));
        assert!(
            f[0].message.contains("`secrets.BOT_PAT`"),
            "{}",
            f[0].message
        );
        assert!(f[1].message.contains("GITHUB_TOKEN"), "{}", f[1].message);
        assert!(f[0]
            .suggestion
            .contains("peter-evans/create-pull-request@<40-hex"));
    }
}
