//! GitHub token requests: `gh auth login/refresh --scopes` (`-s`, comma-separated or
//! repeated), classic-token creation links (`github.com/settings/tokens/new?scopes=...`)
//! and GitHub App manifests' `default_permissions`, judged against the high-risk list
//! in `rules/scopes.toml` and the policy's allowed scopes.

use super::shell;
use super::{Context, Example, LintDoc, LintFinding, Severity, SourceFile};

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
    example: Example {
        path: "scripts/setup.sh",
        text: "gh auth login --scopes \"repo,workflow,admin:org\"\n",
    },
    negative: Example {
        path: "scripts/setup.sh",
        text: "gh auth login --scopes read:org\n",
    },
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
    example: Example {
        path: "CONTRIBUTING.md",
        text: "Create a token at https://github.com/settings/tokens/new?scopes=repo&description=deploy\n",
    },
    negative: Example {
        path: "CONTRIBUTING.md",
        text: "Create a token at https://github.com/settings/personal-access-tokens/new (Contents: read).\n",
    },
    fix: "Link to https://github.com/settings/personal-access-tokens/new and list the repository permissions \
the job needs (e.g. Contents: read).",
};

pub static NO_EXPIRY: LintDoc = LintDoc {
    id: "github-token-link-without-expiry",
    title: "Fine-grained token link pre-fills no expiry (`expires_in=none`) or a longer one than the policy allows",
    severity: Severity::Warning,
    checks: "Links to the fine-grained token form (`https://github.com/settings/personal-access-tokens/new?...`) \
whose `expires_in` is `none`, or a number of days above the policy's `max_lifetime_days` (default 365). A link \
without `expires_in` gets the form's own default and is not flagged.",
    why: "Whoever follows the link gets a token that never expires (or outlives the policy) unless they change the \
field by hand, and a token nobody rotates stays useful to whoever copies it, years later.",
    example: Example {
        path: "docs/setup.md",
        text: "[Create the token](https://github.com/settings/personal-access-tokens/new?name=deploy&contents=write&expires_in=none)\n",
    },
    negative: Example {
        path: "docs/setup.md",
        text: "[Create the token](https://github.com/settings/personal-access-tokens/new?name=deploy&contents=write&expires_in=90)\n",
    },
    fix: "Pre-fill an expiry sized to the job, e.g. `expires_in=90`, and rotate the token before it ends.",
};

pub static DOCS: [&LintDoc; 3] = [&HIGH_RISK, &CLASSIC, &NO_EXPIRY];

/// A fine-grained token form link with its query.
static FINE_GRAINED_LINK: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r#"github\.com/settings/personal-access-tokens/new\?[^\s)\]"'<>`]*"#).unwrap()
});

fn fine_grained_links(file: &SourceFile<'_>, ctx: &Context<'_>, out: &mut Vec<LintFinding>) {
    let limit = ctx.policy.max_lifetime_days;
    for link in FINE_GRAINED_LINK.find_iter(file.text) {
        let url = link.as_str();
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let mut pos = link.start() + url.len() - query.len();
        for pair in query.split('&') {
            if let Some(value) = pair.strip_prefix("expires_in=") {
                let problem = match value.parse::<u64>() {
                    Ok(days) if days > limit => Some(format!(
                        "pre-fills a {days}-day expiry, more than the {limit}-day maximum"
                    )),
                    Ok(_) => None,
                    Err(_) if value.eq_ignore_ascii_case("none") => {
                        Some("pre-fills `expires_in=none`: the token never expires".to_string())
                    }
                    Err(_) => None,
                };
                if let Some(problem) = problem {
                    out.push(
                        file.finding_at(&NO_EXPIRY, pos + "expires_in=".len())
                            .key(pair)
                            .message(format!("this fine-grained token link {problem}"))
                            .suggestion(format!(
                                "use `expires_in={}` (days) or less",
                                limit.min(90)
                            ))
                            .build(),
                    );
                }
            }
            pos += pair.len() + 1;
        }
    }
}

const FINE_GRAINED_URL: &str = "https://github.com/settings/personal-access-tokens/new";

/// True if `scope` is `other` or contains it (directly or through a scope it contains).
fn contains_scope(ctx: &Context<'_>, scope: &str, other: &str) -> bool {
    scope == other
        || ctx.facts.github.scopes.get(scope).is_some_and(|children| {
            children
                .iter()
                .any(|child| contains_scope(ctx, child, other))
        })
}

/// The scope list to suggest for one request, shared by all its findings: the requested
/// scopes minus every flagged one, plus the flagged ones' replacements (`replace` in
/// rules/scopes.toml) that are not flagged themselves nor already covered. Never contains
/// a flagged scope.
fn suggested_scopes<'a>(
    ctx: &'a Context<'_>,
    requested: &'a [(String, usize)],
    flagged: &dyn Fn(&str) -> bool,
) -> Vec<&'a str> {
    let mut kept: Vec<&str> = Vec::new();
    for (scope, _) in requested {
        if !flagged(scope) && !kept.contains(&scope.as_str()) {
            kept.push(scope);
        }
    }
    let mut added: Vec<&str> = Vec::new();
    for (scope, _) in requested.iter().filter(|(s, _)| flagged(s)) {
        let Some(risky) = ctx.facts.github_risk(scope) else {
            continue;
        };
        for replacement in &risky.replace {
            let covered = kept
                .iter()
                .chain(added.iter())
                .any(|k| contains_scope(ctx, k, replacement));
            if !flagged(replacement) && !covered {
                added.push(replacement);
            }
        }
    }
    kept.extend(added);
    kept
}

/// Findings for each requested scope; each scope comes with its offset in the file.
fn judge_scopes(
    file: &SourceFile<'_>,
    ctx: &Context<'_>,
    scopes: &[(String, usize)],
    flag: &str,
    out: &mut Vec<LintFinding>,
) {
    let allowed = ctx.policy.github_scopes.as_ref();
    let flagged = |scope: &str| match allowed {
        Some(allowed) => !allowed.contains(scope),
        None => ctx.facts.github_risk(scope).is_some(),
    };
    let mut dropped: Vec<String> = Vec::new();
    for (scope, _) in scopes {
        let quoted = format!("`{scope}`");
        if flagged(scope) && !dropped.contains(&quoted) {
            dropped.push(quoted);
        }
    }
    if dropped.is_empty() {
        return;
    }
    let suggested = suggested_scopes(ctx, scopes, &flagged);
    let request = if suggested.is_empty() {
        format!("drop {}", dropped.join(", "))
    } else {
        format!("drop {}: {flag}{}", dropped.join(", "), suggested.join(","))
    };
    for (scope, at) in scopes {
        if let Some(allowed) = allowed {
            if !allowed.contains(scope) {
                out.push(
                    file.finding_at(&HIGH_RISK, *at)
                        .severity(Severity::Error)
                        .key(scope)
                        .message(format!(
                            "scope `{scope}` is not allowed by the policy (allowed: {})",
                            allowed.iter().cloned().collect::<Vec<_>>().join(", ")
                        ))
                        .suggestion(request.clone())
                        .build(),
                );
            }
            continue;
        }
        if let Some(risky) = ctx.facts.github_risk(scope) {
            out.push(
                file.finding_at(&HIGH_RISK, *at)
                    .severity(risky.severity())
                    .key(scope)
                    .message(format!("requests `{scope}`: {}", risky.why))
                    .suggestion(format!(
                        "{request}; instead of `{scope}`: {}",
                        risky.instead
                    ))
                    .build(),
            );
        }
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
        out.push(
            file.finding_at(&CLASSIC, link.start())
                .severity(Severity::Note)
                .key(url)
                .message("links to the classic personal access token form")
                .suggestion(format!(
                    "link to {FINE_GRAINED_URL} and name the repository permissions the job needs"
                ))
                .build(),
        );
        let Some(query_at) = url.find('?') else {
            continue;
        };
        let mut pos = query_at + 1;
        for pair in url[query_at + 1..].split('&') {
            if let Some(value) = pair.strip_prefix("scopes=") {
                let value_at = link.start() + pos + "scopes=".len();
                judge_scopes(file, ctx, &query_scopes(value, value_at), "scopes=", out);
            }
            pos += pair.len() + 1;
        }
    }
}

/// The scopes of a `scopes=` query value (separated by `,` or `%2C`), each with the
/// offset of its own first character.
fn query_scopes(value: &str, value_at: usize) -> Vec<(String, usize)> {
    let bytes = value.as_bytes();
    let mut scopes = Vec::new();
    let mut part_start = 0;
    let mut i = 0;
    while i <= bytes.len() {
        let sep = if i == bytes.len() || bytes[i] == b',' {
            Some(1)
        } else if bytes[i..].len() >= 3 && bytes[i..i + 3].eq_ignore_ascii_case(b"%2C") {
            Some(3)
        } else {
            None
        };
        match sep {
            Some(len) => {
                let part = percent_encoding::percent_decode_str(&value[part_start..i])
                    .decode_utf8_lossy()
                    .to_string();
                if !part.is_empty() {
                    scopes.push((part, value_at + part_start));
                }
                i += len;
                part_start = i;
            }
            None => i += 1,
        }
    }
    scopes
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
            out.push(
                file.finding_at(&HIGH_RISK, at)
                    .severity(Severity::Warning)
                    .key(name)
                    .message(format!(
                        "GitHub App manifest asks for `{name}: {}`: {why}",
                        &cap[2]
                    ))
                    .suggestion(format!(
                        "`{name}: read`, or leave `{name}` out unless the app's job needs it"
                    ))
                    .build(),
            );
        }
    }
}

pub fn check(
    file: &SourceFile<'_>,
    ctx: &Context<'_>,
    out: &mut Vec<LintFinding>,
) -> Result<(), String> {
    if file.text.contains("gh") && file.text.contains("auth") {
        gh_requests(file, ctx, out);
    }
    if file.text.contains("settings/tokens/new") {
        token_links(file, ctx, out);
    }
    if file.text.contains("personal-access-tokens/new?") {
        fine_grained_links(file, ctx, out);
    }
    app_manifests(file, ctx, out);
    Ok(())
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
            f[0].suggestion.contains("--scopes read:org,public_repo"),
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

    /// The scope list after `flag` in a suggestion.
    fn suggested_list<'a>(suggestion: &'a str, flag: &str) -> Vec<&'a str> {
        let after = &suggestion[suggestion.find(flag).expect(suggestion) + flag.len()..];
        after[..after.find(';').unwrap_or(after.len())]
            .split(',')
            .collect()
    }

    #[test]
    fn suggestions_never_recommend_a_flagged_scope() {
        let facts = super::super::scopes::ScopeFacts::builtin().unwrap();
        let f = lint_text("x.sh", "gh auth login -s admin:org,repo\n");
        assert_eq!(f.len(), 2, "{f:#?}");
        for finding in &f {
            let list = suggested_list(&finding.suggestion, "--scopes ");
            assert_eq!(list, ["read:org", "public_repo"], "{}", finding.suggestion);
            assert!(list.iter().all(|s| facts.github_risk(s).is_none()));
        }
        let text = "https://github.com/settings/tokens/new?scopes=repo,workflow\n";
        let f = lint_text("README.md", text);
        assert_eq!(f.len(), 3, "{f:#?}");
        for finding in &f[1..] {
            let list = suggested_list(&finding.suggestion, "scopes=");
            assert_eq!(list, ["public_repo"], "{}", finding.suggestion);
        }
        // Nothing left and no replacement: drop them all, recommend no scope.
        let f = lint_text("x.sh", "gh auth login -s workflow,delete_repo\n");
        assert_eq!(f.len(), 2);
        for finding in &f {
            assert!(
                finding
                    .suggestion
                    .starts_with("drop `workflow`, `delete_repo`;"),
                "{}",
                finding.suggestion
            );
        }
        // A kept scope that already covers the replacement is not repeated.
        let f = lint_text("x.sh", "gh auth login -s write:org,admin:org\n");
        assert_eq!(suggested_list(&f[0].suggestion, "--scopes "), ["write:org"]);
    }

    #[test]
    fn each_scope_finding_points_at_its_own_scope() {
        let f = lint_text("x.sh", "gh auth login -s admin:org,repo\n");
        assert_eq!((f[0].column, f[1].column), (18, 28));
        let text =
            "See https://github.com/settings/tokens/new?scopes=repo%2Cworkflow,delete_repo\n";
        let f = lint_text("README.md", text);
        let cols: Vec<usize> = f[1..].iter().map(|x| x.column).collect();
        let at = |s: &str| text.find(s).unwrap() + 1;
        assert_eq!(cols, [at("repo%"), at("workflow"), at("delete_repo")]);
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
        assert!(
            f[0].suggestion.ends_with("--scopes repo"),
            "{}",
            f[0].suggestion
        );
        // The replacement of a disallowed scope is suggested only if the policy allows it.
        let f = lint_text_with("x.sh", "gh auth login -s admin:org,gist\n", &policy);
        assert_eq!(f.len(), 2);
        for finding in &f {
            assert!(
                finding.suggestion.ends_with("--scopes read:org"),
                "{}",
                finding.suggestion
            );
        }
    }

    #[test]
    fn fine_grained_links_without_expiry() {
        let text = "a https://github.com/settings/personal-access-tokens/new?name=x&expires_in=none&contents=write\nb https://github.com/settings/personal-access-tokens/new?name=x&expires_in=366\nc https://github.com/settings/personal-access-tokens/new?name=x&expires_in=30\nd https://github.com/settings/personal-access-tokens/new?name=x\n";
        let f = lint_text("docs/setup.md", text);
        assert_eq!(
            rules_of(&f),
            ["github-token-link-without-expiry"; 2],
            "{f:#?}"
        );
        assert_eq!((f[0].line, f[0].column), (1, 76));
        assert!(f[0].message.contains("never expires"));
        assert!(f[1].message.contains("366-day"));
    }
}
