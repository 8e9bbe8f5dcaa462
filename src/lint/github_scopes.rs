//! GitHub token requests: `gh auth login/refresh --scopes` (`-s`, comma-separated or
//! repeated), classic-token creation links (`github.com/settings/tokens/new?scopes=...`)
//! and GitHub App manifests' `default_permissions`, judged against the high-risk list
//! in `rules/scopes.toml` and the policy's allowed scopes.

use super::shell;
use super::{Context, LintDoc, LintFinding, Severity, SourceFile};

pub static HIGH_RISK: LintDoc = LintDoc {
    id: "github-scope-high-risk",
    title: "GitHub token requested with a high-risk scope or permission",
    severity: Severity::Warning,
    checks: "`gh auth login --scopes/-s`, `gh auth refresh -s`, token-creation links \
(`https://github.com/settings/tokens/new?scopes=...`) and GitHub App manifests' `default_permissions`. Flags \
`delete_repo`, `admin:org`, `admin:enterprise`, `site_admin` (error) and `repo`, `workflow`, `admin:repo_hook`, \
`admin:org_hook`, `delete:packages` (warning); in app manifests, write access to administration, members, \
workflows, secrets and hooks; and any scope outside the policy's `[scopes] github` list (error).",
    why: "A leaked token is worth what its scopes allow. `repo` opens every private repository the user can \
reach, `workflow` lets the holder rewrite CI and read its secrets, `delete_repo` and `admin:*` are \
irreversible. Most jobs need `public_repo`, `read:packages` or `read:org`, or a fine-grained token limited to \
a few repositories.",
    example: "gh auth login --scopes \"repo,workflow,admin:org\"",
    fix: "Request only what the job needs (e.g. `gh auth login -s read:org`, `public_repo` instead of `repo`) \
or, for anything touching a few repositories, create a fine-grained token at \
https://github.com/settings/personal-access-tokens/new.",
};

pub static CLASSIC: LintDoc = LintDoc {
    id: "github-classic-token-requested",
    title: "Docs or scripts send users to create a classic personal access token",
    severity: Severity::Note,
    checks: "Links to `https://github.com/settings/tokens/new` (the classic token form).",
    why: "Classic tokens reach every repository the user can, with coarse scopes. Fine-grained tokens are \
limited to chosen repositories and permissions and must have an expiry by default.",
    example: "Create a token at https://github.com/settings/tokens/new?scopes=repo&description=deploy",
    fix: "Link to https://github.com/settings/personal-access-tokens/new and list the repository permissions \
the job needs (e.g. Contents: read).",
};

pub static DOCS: [&LintDoc; 2] = [&HIGH_RISK, &CLASSIC];

const FINE_GRAINED_URL: &str = "https://github.com/settings/personal-access-tokens/new";

/// Findings for each requested scope; `at` gives each scope's offset.
fn judge_scopes(
    file: &SourceFile<'_>,
    ctx: &Context<'_>,
    scopes: &[(String, usize)],
    flag: &str,
    out: &mut Vec<LintFinding>,
) {
    let requested: Vec<&str> = scopes.iter().map(|(s, _)| s.as_str()).collect();
    for (scope, at) in scopes {
        if let Some(allowed) = &ctx.policy.github_scopes {
            if !allowed.contains(scope) {
                out.push(file.finding_at(
                    &HIGH_RISK,
                    Severity::Error,
                    *at,
                    scope,
                    format!(
                        "scope `{scope}` is not allowed by the policy (allowed: {})",
                        allowed.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                    suggest_without(&requested, scope, allowed.iter().map(|s| s.as_str()), flag),
                ));
            }
            continue;
        }
        if let Some(risky) = ctx.facts.github_risk(scope) {
            out.push(file.finding_at(
                &HIGH_RISK,
                risky.severity(),
                *at,
                scope,
                format!("requests `{scope}`: {}", risky.why),
                format!(
                    "{}; instead: {}",
                    suggest_without(&requested, scope, std::iter::empty(), flag),
                    risky.instead
                ),
            ));
        }
    }
}

/// `-s a,b` without `scope` (and, from the policy, only allowed scopes).
fn suggest_without<'a>(
    requested: &[&str],
    scope: &str,
    allowed: impl Iterator<Item = &'a str>,
    flag: &str,
) -> String {
    let allowed: Vec<&str> = allowed.collect();
    let kept: Vec<&str> = requested
        .iter()
        .copied()
        .filter(|s| *s != scope && (allowed.is_empty() || allowed.contains(s)))
        .collect();
    if kept.is_empty() {
        format!("drop `{scope}`")
    } else {
        format!("drop `{scope}`: {flag}{}", kept.join(","))
    }
}

fn gh_requests(file: &SourceFile<'_>, ctx: &Context<'_>, out: &mut Vec<LintFinding>) {
    let joined = shell::join_continuations(file.text);
    for (offset, line) in shell::lines_with_offsets(&joined) {
        if !line.contains("auth") {
            continue;
        }
        let words = shell::words(line, offset);
        for cmd in shell::commands(&words, &["gh"]) {
            let sub = cmd.get(2).map(|w| w.text.as_str());
            if cmd.get(1).map(|w| w.text.as_str()) != Some("auth")
                || !matches!(sub, Some("login") | Some("refresh"))
            {
                continue;
            }
            let args = &cmd[3..];
            let mut scopes = Vec::new();
            let mut i = 0;
            while i < args.len() {
                if let Some((value, at, used)) = shell::flag_value(args, i, &["--scopes"], &["-s"])
                {
                    if !shell::is_dynamic(&value) {
                        let mut pos = 0;
                        for part in value.split(',') {
                            let trimmed = part.trim();
                            if !trimmed.is_empty() {
                                scopes.push((trimmed.to_string(), at + pos));
                            }
                            pos += part.len() + 1;
                        }
                    }
                    i += used;
                } else {
                    i += 1;
                }
            }
            judge_scopes(file, ctx, &scopes, "--scopes ", out);
        }
    }
}

static TOKEN_LINK: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r#"github\.com/settings/tokens/new(?:\?[^\s"'<>)\]`]*)?"#).unwrap()
});

fn token_links(file: &SourceFile<'_>, ctx: &Context<'_>, out: &mut Vec<LintFinding>) {
    for link in TOKEN_LINK.find_iter(file.text) {
        let url = link.as_str();
        out.push(file.finding_at(
            &CLASSIC,
            Severity::Note,
            link.start(),
            url,
            "links to the classic personal access token form".into(),
            format!("link to {FINE_GRAINED_URL} and name the repository permissions the job needs"),
        ));
        let Some(query_at) = url.find('?') else {
            continue;
        };
        let mut pos = query_at + 1;
        for pair in url[query_at + 1..].split('&') {
            if let Some(value) = pair.strip_prefix("scopes=") {
                let decoded = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
                let value_at = link.start() + pos + "scopes=".len();
                let scopes: Vec<(String, usize)> = decoded
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| (s.to_string(), value_at))
                    .collect();
                judge_scopes(file, ctx, &scopes, "scopes=", out);
            }
            pos += pair.len() + 1;
        }
    }
}

static APP_PERMISSION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r#"["']?([a-z_]+)["']?\s*:\s*["']?(write|admin)\b"#).unwrap()
});

/// `default_permissions` blocks of GitHub App manifests (JSON or YAML).
fn app_manifests(file: &SourceFile<'_>, ctx: &Context<'_>, out: &mut Vec<LintFinding>) {
    let Some(start) = file.text.find("default_permissions") else {
        return;
    };
    // The block: up to the closing brace (JSON) or the first less-indented line (YAML).
    let after = &file.text[start..];
    let end = match after.find('{') {
        Some(open) if !after[..open].contains('\n') => after[open..]
            .find('}')
            .map(|c| open + c)
            .unwrap_or(after.len()),
        _ => {
            let line_start = file.text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
            let indent = start - line_start;
            let mut end = after.len();
            let mut offset = after.find('\n').map(|i| i + 1).unwrap_or(after.len());
            while offset < after.len() {
                let line = &after[offset..];
                let line = &line[..line.find('\n').unwrap_or(line.len())];
                let this_indent = line.len() - line.trim_start().len();
                if !line.trim().is_empty() && this_indent <= indent {
                    end = offset;
                    break;
                }
                offset += line.len() + 1;
            }
            end
        }
    };
    for cap in APP_PERMISSION.captures_iter(&after[..end]) {
        let name = &cap[1];
        if let Some(why) = ctx.facts.github.app_high_risk.get(name) {
            let at = start + cap.get(1).unwrap().start();
            out.push(file.finding_at(
                &HIGH_RISK,
                Severity::Warning,
                at,
                name,
                format!("GitHub App manifest asks for `{name}: {}`: {why}", &cap[2]),
                format!("`{name}: read`, or leave `{name}` out unless the app's job needs it"),
            ));
        }
    }
}

pub fn check(file: &SourceFile<'_>, ctx: &Context<'_>, out: &mut Vec<LintFinding>) {
    if file.text.contains("gh") && file.text.contains("auth") {
        gh_requests(file, ctx, out);
    }
    if file.text.contains("settings/tokens/new") {
        token_links(file, ctx, out);
    }
    app_manifests(file, ctx, out);
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{lint_text, lint_text_with, rules_of};
    use super::*;

    #[test]
    fn gh_auth_high_risk_scopes_are_flagged_each() {
        let f = lint_text(
            "setup.sh",
            "gh auth login --hostname github.com --scopes \"repo,read:org,delete_repo\"\n",
        );
        assert_eq!(
            rules_of(&f),
            ["github-scope-high-risk", "github-scope-high-risk"]
        );
        assert!(f[0].message.contains("`repo`"));
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].suggestion.contains("--scopes read:org,delete_repo"),
            "{}",
            f[0].suggestion
        );
        assert!(f[0].suggestion.contains("public_repo"));
        assert_eq!(f[1].severity, Severity::Error);
        assert_eq!(f[0].column, 47);
        let r = lint_text(
            "x.sh",
            "gh auth refresh -h github.com -s admin:org -s workflow\n",
        );
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn narrow_requests_pass() {
        for text in [
            "gh auth login -s read:org,read:packages\n",
            "gh auth refresh --remove-scopes repo\n",
            "gh auth token\n",
            "gh auth login -s \"${{ inputs.scopes }}\"\n",
            "echo gh is great; auth login -s repo\n",
        ] {
            assert!(lint_text("x.sh", text).is_empty(), "{text}");
        }
    }

    #[test]
    fn token_links_recommend_fine_grained_and_judge_scopes() {
        let text = "Create one at https://github.com/settings/tokens/new?scopes=repo%2Cworkflow&description=ci\n";
        let f = lint_text("CONTRIBUTING.md", text);
        assert_eq!(
            rules_of(&f),
            [
                "github-classic-token-requested",
                "github-scope-high-risk",
                "github-scope-high-risk"
            ]
        );
        assert!(f[0].suggestion.contains("personal-access-tokens/new"));
        let ok = lint_text(
            "README.md",
            "https://github.com/settings/tokens/new?scopes=read:packages\n",
        );
        assert_eq!(rules_of(&ok), ["github-classic-token-requested"]);
    }

    #[test]
    fn app_manifest_write_permissions() {
        let json = "{\n  \"name\": \"acme-bot\",\n  \"default_permissions\": {\n    \"contents\": \"read\",\n    \"administration\": \"write\",\n    \"issues\": \"write\"\n  }\n}\n";
        let f = lint_text("app-manifest.json", json);
        assert_eq!(rules_of(&f), ["github-scope-high-risk"]);
        assert_eq!(f[0].line, 5);
        let yaml =
            "default_permissions:\n  workflows: write\n  contents: read\nname: x\nmembers: write\n";
        let f = lint_text("app.yml", yaml);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].line, 2);
    }

    #[test]
    fn policy_allowed_list() {
        let facts = super::super::scopes::ScopeFacts::builtin().unwrap();
        let policy = super::super::policy::Policy::parse(
            "[scopes]\ngithub = [\"repo\", \"read:org\"]\n",
            "p",
            &facts,
        )
        .unwrap();
        let f = lint_text_with("x.sh", "gh auth login -s repo,gist\n", &policy);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("`gist`"));
    }
}
