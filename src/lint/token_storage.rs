//! Where tokens are kept: in `.condarc` channel URLs, on command lines in scripts and
//! CI configs, in credential files that end up committed, and printed to CI logs by
//! `echo` or `set -x`. Literal tokens are found by the scan matcher (the same rules as
//! `leakscope scan`), never by regexes of our own, and are only ever shown redacted.

use super::{Context, Example, LintDoc, LintFinding, Severity, SourceFile};
use crate::finding::Finding;

pub static CONDA_CONFIG: LintDoc = LintDoc {
    id: "token-in-conda-config",
    title: "Token inside a conda configuration file (.condarc channel URL or channel_alias)",
    severity: Severity::Error,
    checks: "Tokens in `.condarc` (and `condarc`, `*.condarc`, `environment.yml`) channel URLs, `channel_alias` \
or `custom_channels` (`https://conda.anaconda.org/t/<token>/...`).",
    why: "conda prints channel URLs in logs, error messages and `conda info`; the file gets copied into images \
and committed. Tools such as setup-miniconda have logged such URLs in CI.",
    example: Example {
        path: ".condarc",
        text: "channels:\n  - https://conda.anaconda.org/t/<anaconda-token>/acme-private\n",
    },
    negative: Example {
        path: ".condarc",
        text: "channels:\n  - https://conda.anaconda.org/t/${ANACONDA_TOKEN}/acme-private\n",
    },
    fix: "Revoke the token. Store the new one with `anaconda login` / `conda token set` (kept out of the file), or \
reference an environment variable from a CI secret in the URL (`https://conda.anaconda.org/t/${ANACONDA_TOKEN}/acme-private`), \
or use `channel_settings` with `auth: anaconda-auth`.",
};

pub static COMMAND_LINE: LintDoc = LintDoc {
    id: "token-on-command-line",
    title: "Literal token passed on a command line or in a URL in a script, CI config or doc",
    severity: Severity::Error,
    checks: "A token the scan rules recognise written as a command argument (`anaconda -t <token>`, \
`--token <token>`), as URL credentials (`git clone https://<token>@github.com/...`, \
`https://x-access-token:<token>@...`), in an `Authorization:` header of a `curl` line, or in a `/t/<token>/` \
channel URL in a script.",
    why: "Command lines end up in shell history, process lists (`ps`), CI logs and `set -x` traces, and the file \
itself is committed. `git` also stores clone URLs in `.git/config`.",
    example: Example {
        path: "ci/publish.sh",
        text: "anaconda -t <anaconda-token> upload dist/*.conda\ngit clone https://<github-token>@github.com/acme/private.git\n",
    },
    negative: Example {
        path: "ci/publish.sh",
        text: "GH_TOKEN=<github-token>\nanaconda upload dist/*.conda\n",
    },
    fix: "Revoke the token; pass the new one through an environment variable from a CI secret: \
`ANACONDA_API_TOKEN` for anaconda-client, `GH_TOKEN` for gh, and for git \
`git -c http.extraHeader=\"Authorization: Bearer $TOKEN\"` or a credential helper, never the URL.",
};

pub static CREDENTIAL_FILE: LintDoc = LintDoc {
    id: "credential-file-committed",
    title: "Credential file with a password or token in the tree (.netrc, .pypirc, .git-credentials, keyring)",
    severity: Severity::Error,
    checks: "`.netrc` / `_netrc` with a `password`, `.pypirc` with a `password`, `.git-credentials` with \
credentials in a URL, and anaconda-auth's plain-file keyring (`.anaconda/keyring`), in files the walk does \
not ignore (that is: files that would be committed).",
    why: "These files exist to hold secrets in a home directory. In a repository they hand the secret to everyone \
with read access, forever (history keeps it after deletion).",
    example: Example {
        path: ".netrc",
        text: "machine github.com login octocat password made-up-not-a-token\n",
    },
    negative: Example {
        path: ".netrc",
        text: "machine github.com login octocat password $NETRC_PASSWORD\n",
    },
    fix: "Revoke the credential, delete the file from the repository (and its history), add it to .gitignore, \
and let CI write it at run time from a secret.",
};

pub static ECHOED: LintDoc = LintDoc {
    id: "token-echoed-in-ci",
    title: "CI config or script prints a token variable (echo, set -x)",
    severity: Severity::Warning,
    checks: "In CI configs and shell scripts: `echo`/`printf`/`Write-Host` of a token variable (`$ANACONDA_TOKEN`, \
`${{ secrets.X }}`, `%GH_TOKEN%`, `$env:API_KEY`) that is not piped or redirected, and `set -x` (or `-o xtrace`, \
`bash -x`) in a block that later uses a token variable.",
    why: "CI logs are widely readable (public projects: by everyone) and kept for months. Log masking only hides \
exact registered secrets, not derived or re-encoded values, and not every CI system masks.",
    example: Example {
        path: ".github/workflows/publish.yml",
        text: "on: push\njobs:\n  up:\n    runs-on: ubuntu-latest\n    env:\n      ANACONDA_TOKEN: ${{ secrets.ANACONDA_TOKEN }}\n    steps:\n      - run: |\n          set -x\n          anaconda -t \"$ANACONDA_TOKEN\" upload x.conda\n",
    },
    negative: Example {
        path: "test/integration/targets/pull/runme.sh",
        text: "#!/usr/bin/env bash\nset -eux\nPASSWORD='test'\necho \"${PASSWORD}\"\n",
    },
    fix: "Drop the echo (or pipe it into the command that needs it: `echo \"$TOKEN\" | docker login --password-stdin`); \
turn tracing off around token use (`set +x`) or do not enable it in that step.",
};

pub static DOCS: [&LintDoc; 4] = [&CONDA_CONFIG, &COMMAND_LINE, &CREDENTIAL_FILE, &ECHOED];

fn is_conda_config(path: &str, name: &str) -> bool {
    name == ".condarc"
        || name == "condarc"
        || name.ends_with(".condarc")
        || path.contains("/.condarc.d/")
        || name == "environment.yml"
        || name == "environment.yaml"
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CredentialFile {
    Netrc,
    Pypirc,
    GitCredentials,
    Keyring,
}

fn credential_file(path: &str, name: &str) -> Option<CredentialFile> {
    match name {
        ".netrc" | "_netrc" | "netrc" => Some(CredentialFile::Netrc),
        ".pypirc" => Some(CredentialFile::Pypirc),
        ".git-credentials" => Some(CredentialFile::GitCredentials),
        "keyring" if path.ends_with(".anaconda/keyring") => Some(CredentialFile::Keyring),
        _ => None,
    }
}

/// Scripts and CI configs: where `echo` and `set -x` end up in a log. CI configs are
/// [`super::ci::is_ci_config`]'s, so the two lists cannot drift apart.
pub fn is_ci_or_script(path: &str, name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    matches!(ext, "sh" | "bash" | "zsh" | "ps1" | "bat" | "cmd" | "mk")
        || lower.starts_with("dockerfile")
        || lower.ends_with(".dockerfile")
        || matches!(lower.as_str(), "makefile" | "gnumakefile" | "bld.bat")
        || super::ci::is_ci_config(path)
}

static ARG_BEFORE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r#"(?i)(?:^|\s)(?:-t|--token|--password|-p|--api-key|--auth-token)(?:\s+|=)["']?$"#,
    )
    .unwrap()
});
static HEADER_BEFORE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r#"(?i)authorization:\s*(?:token|bearer|basic)\s+$"#).unwrap()
});
static URL_CRED_BEFORE: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r#"[a-z+]+://(?:[^\s:/@"']*:)?$"#).unwrap());

/// How a token on a line is being passed, if it is a command-line use.
fn command_line_use(line: &str, token: &Finding) -> Option<&'static str> {
    let secret = token.secret.expose();
    let at = line.find(secret)?;
    let before = &line[..at];
    let after = &line[at + secret.len()..];
    if ARG_BEFORE.is_match(before) {
        Some("passed as a command-line argument")
    } else if HEADER_BEFORE.is_match(before) {
        Some("written into an Authorization header on a command line")
    } else if URL_CRED_BEFORE.is_match(before) && after.starts_with('@') {
        Some("embedded as credentials in a URL")
    } else if before.ends_with("/t/") {
        Some("embedded in a /t/ channel or index URL")
    } else {
        None
    }
}

/// What kind of token a scan rule found, for a sentence (`anaconda.org token`, where the
/// rule's name also says where it was found): the rule file's `kind`.
fn token_kind(token: &Finding) -> String {
    crate::rules::facts(&token.rule.id).map_or_else(|| token.rule.name.clone(), |f| f.kind)
}

fn env_var_for(token: &Finding) -> &'static str {
    if token.rule.provider == "anaconda" {
        "ANACONDA_API_TOKEN"
    } else {
        "GH_TOKEN"
    }
}

fn tokens_in_files(file: &SourceFile<'_>, out: &mut Vec<LintFinding>) {
    let name = file.name();
    let conda = is_conda_config(file.path, name);
    if credential_file(file.path, name).is_some() {
        return; // reported as a credential file
    }
    for token in file.tokens {
        let line_text = file.line_text(token.line);
        let label = token.secret.redacted();
        if conda {
            let place = if line_text.contains("channel_alias") {
                "`channel_alias`"
            } else {
                "a channel URL"
            };
            out.push(file.finding_on(&CONDA_CONFIG, token.line, token.column)
                .severity(Severity::Error)
                .key(&token.fingerprint)
                .message(format!(
                    "{} {label} in {place} of a conda config file",
                    token_kind(token)
                ))
                .suggestion("revoke it; keep the new one out of the file: `anaconda login` or `conda token set` (keyring), \
or `/t/${ANACONDA_TOKEN}/` in the URL with ANACONDA_TOKEN from a CI secret"
                    )
                .build());
        } else if let Some(how) = command_line_use(line_text, token) {
            let var = env_var_for(token);
            out.push(file.finding_on(&COMMAND_LINE, token.line, token.column)
                .severity(Severity::Error)
                .key(&token.fingerprint)
                .message(format!("{} {label} {how}", token_kind(token)))
                .suggestion(format!(
                    "revoke it; pass the new one as ${var} from a CI secret (for git: `git -c http.extraHeader=\"Authorization: Bearer ${var}\" clone ...`, never the URL)"
                ))
                .build());
        }
    }
}

static NETRC_PASSWORD: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"(?m)\bpassword\s+(\S+)").unwrap());
static PYPIRC_PASSWORD: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"(?m)^\s*password\s*[=:]\s*(\S+)").unwrap());
static URL_CREDENTIALS: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"(?m)[a-z]+://[^:/\s@]*:([^@\s]+)@").unwrap());

/// The note a credential-file message carries under a test path: likely a fixture, and
/// how the policy leaves those out.
fn under_test_path(file: &SourceFile<'_>) -> &'static str {
    if file.test_path {
        " (under a test path, so likely a fixture; `[lints] skip_test_paths = true` in leakscope.toml leaves test paths out)"
    } else {
        ""
    }
}

fn credential_files(file: &SourceFile<'_>, out: &mut Vec<LintFinding>) {
    let Some(kind) = credential_file(file.path, file.name()) else {
        return;
    };
    let (regex, what): (&regex::Regex, &str) = match kind {
        CredentialFile::Netrc => (&NETRC_PASSWORD, "a .netrc password"),
        CredentialFile::Pypirc => (&PYPIRC_PASSWORD, "a .pypirc password"),
        CredentialFile::GitCredentials => (&URL_CREDENTIALS, "git credentials"),
        CredentialFile::Keyring => {
            if !file.text.trim().is_empty() {
                out.push(file.finding_on(&CREDENTIAL_FILE, 1, 1)
                    .severity(Severity::Error)
                    .key("keyring")
                    .message("anaconda-auth's plain-file keyring (API key and repo tokens, base64, unencrypted) is in the tree")
                    .suggestion("revoke the API key (log out and back in) and delete .anaconda/keyring from the repository; set `preferred_token_storage = \"system\"` to use the OS keyring")
                    .redacting(Some(file.text.lines().next().unwrap_or("")))
                    .build());
            }
            return;
        }
    };
    for cap in regex.captures_iter(file.text) {
        let value = cap.get(1).unwrap();
        if super::shell::is_dynamic(value.as_str()) {
            continue;
        }
        let (line, column) = file.position(value.start());
        out.push(file.finding_on(&CREDENTIAL_FILE, line, column)
            .severity(Severity::Error)
            .key(crate::finding::fingerprint("credential-file", value.as_str()))
            .message(format!(
            "{what} ({}) is in a file that would be committed{}",
            crate::finding::redact(value.as_str()),
            under_test_path(file)
        ))
            .suggestion(format!(
                "revoke the credential, remove {} from the repository and its history, add it to .gitignore, and write it in CI from a secret",
                file.name()
            ))
            .redacting(Some(value.as_str()))
            .build());
    }
}

/// `$NAME`, `${NAME}`, `%NAME%`, `$env:NAME` where NAME looks like a token, or
/// `${{ secrets.X }}`.
static TOKEN_VAR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"(?i)\$\{\{\s*(?:secrets\.[A-Za-z0-9_]+|github\.token)\s*\}\}|\$(?:env:)?\{?[A-Za-z0-9_]*(?:TOKEN|API_?KEY|SECRET|PASSWORD|PASSWD)[A-Za-z0-9_]*\}?|%[A-Za-z0-9_]*(?:TOKEN|API_?KEY|SECRET|PASSWORD)[A-Za-z0-9_]*%",
    )
    .unwrap()
});
static ECHO: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)(?:^|[\s;&|(`])(echo|printf|write-host|write-output)\b").unwrap()
});
static XTRACE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"(?:^|[\s;&|])(?:set\s+-[a-wyz]*x[a-z]*|set\s+-o\s+xtrace|(?:ba)?sh\s+-[a-wyz]*x[a-z]*)\b",
    )
    .unwrap()
});
static XTRACE_OFF: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?:^|[\s;&|])set\s+(?:\+[a-z]*x|\+o\s+xtrace)").unwrap()
});

fn indent_of(line: &str) -> usize {
    let body = line.trim_start_matches([' ', '\t']);
    let body_indent = line.len() - body.len();
    // A YAML list item `- run: ...` starts its block deeper than the dash.
    if body.starts_with("- ") {
        body_indent + 2
    } else {
        body_indent
    }
}

/// The variable name in `$NAME`, `${NAME}`, `%NAME%`, `$env:NAME`; `None` for a
/// `${{ ... }}` expression.
fn var_name(var: &str) -> Option<&str> {
    if var.starts_with("${{") {
        return None;
    }
    let name = var
        .trim_start_matches('$')
        .trim_start_matches("env:")
        .trim_matches(['{', '}', '%']);
    Some(name)
}

/// Names that hold something about a secret rather than the secret.
fn names_no_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "_FILE", "_PATH", "_DIR", "_URL", "_NAME", "_ID", "_LENGTH", "_LEN", "_TYPE", "_ENV",
        "_VAR",
    ]
    .iter()
    .any(|s| upper.ends_with(s))
}

/// Why the variable printed holds a secret, or `None` when nothing says it does: a
/// `${{ secrets.X }}` expression, a variable CI fills from a secret store (mapped in a
/// workflow's `env:`, or one the CI system provides), one assigned a literal token in
/// this file, or, in a CI config other than a GitHub workflow or a script CI runs, a
/// token-named variable the file never assigns (it comes from the CI's secret
/// settings). `PASSWORD='test'` or a `*_PASSWORD` holding a file path is no secret.
fn holds_secret(file: &SourceFile<'_>, ctx: &Context<'_>, var: &str) -> Option<&'static str> {
    let Some(name) = var_name(var) else {
        return Some("a CI secret");
    };
    if ctx.ci.is_secret_var(name) {
        return Some("a variable CI fills from a secret");
    }
    let workflow = super::actions_permissions::is_workflow(file.path, file.text);
    let mut own = super::ci::CiFacts::default();
    own.add_secret_vars(file.text);
    if own.is_secret_var(name) {
        return Some("a variable CI fills from a secret");
    }
    if names_no_secret(name) {
        return None;
    }
    let assignment = regex::Regex::new(&format!(
        r"(?m)^\s*(?:-\s*)?(?:export\s+|declare\s+(?:-\w+\s+)?|local\s+|readonly\s+|set\s+|\$env:)?{}\s*[:=]",
        regex::escape(name)
    ))
    .ok()?;
    let assigned: Vec<usize> = assignment
        .find_iter(file.text)
        .map(|m| file.position(m.end()).0)
        .collect();
    if !assigned.is_empty() {
        let literal_token = file.tokens.iter().any(|t| assigned.contains(&t.line));
        return literal_token.then_some("a variable assigned a literal token");
    }
    if workflow {
        // A workflow declares its env: an unmapped name is nothing CI filled.
        return None;
    }
    Some("a token variable this file never sets (so it comes from the CI's secret store)")
}

fn echoed(file: &SourceFile<'_>, ctx: &Context<'_>, out: &mut Vec<LintFinding>) {
    if !(super::ci::is_ci_config(file.path) || ctx.ci.runs(file.path)) {
        return;
    }
    let severity = if file.test_path {
        Severity::Note
    } else {
        Severity::Warning
    };
    let lines: Vec<&str> = file.text.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        let number = index + 1;
        let code = line.split(" #").next().unwrap_or(line);
        if code.trim_start().starts_with('#') {
            continue;
        }
        if let Some(echo) = ECHO.find(code) {
            let rest = &code[echo.end()..];
            let piped = rest.contains('|') || rest.contains('>');
            if !piped && !rest.contains("::add-mask::") {
                let secret = TOKEN_VAR
                    .find_iter(rest)
                    .find_map(|var| holds_secret(file, ctx, var.as_str()).map(|why| (var, why)));
                if let Some((var, why)) = secret {
                    let column = code[..echo.end() + var.start()].chars().count() + 1;
                    out.push(
                        file.finding_on(&ECHOED, number, column)
                        .severity(severity)
                        .key(var.as_str())
                        .message(format!(
                                "`{}` prints {} ({why}) to the CI log",
                                echo.as_str().trim(),
                                var.as_str()
                            ))
                        .suggestion(format!(
                                "remove the {}; to hand the token to a program use stdin (`printf '%s' \"{}\" | docker login --password-stdin ...`) or an environment variable",
                                echo.as_str().trim(),
                                var.as_str()
                            ))
                        .build(),
                    );
                }
            }
        }
        if let Some(trace) = XTRACE.find(code) {
            let base = indent_of(line);
            let mut used = None;
            let secret_in = |text: &str| {
                TOKEN_VAR
                    .find_iter(text)
                    .find(|var| holds_secret(file, ctx, var.as_str()).is_some())
                    .map(|var| var.as_str().to_string())
            };
            for (later_index, later) in lines.iter().enumerate().skip(index + 1).take(200) {
                if later.trim().is_empty() {
                    continue;
                }
                if indent_of(later) < base {
                    break;
                }
                if XTRACE_OFF.is_match(later) {
                    break;
                }
                if let Some(var) = secret_in(later) {
                    used = Some((later_index + 1, var));
                    break;
                }
            }
            // The same line may use the token after `set -x;`.
            if used.is_none() {
                if let Some(var) = secret_in(&code[trace.end()..]) {
                    used = Some((number, var));
                }
            }
            if let Some((use_line, var)) = used {
                let column = code[..trace.start()].chars().count()
                    + 1
                    + usize::from(code[trace.start()..].starts_with([' ', ';', '&', '|']));
                out.push(
                    file.finding_on(&ECHOED, number, column)
                    .severity(severity)
                    .key(format!("xtrace {var}"))
                    .message(format!(
                            "`{}` traces every command, and line {use_line} expands {var} into the log",
                            trace.as_str().trim()
                        ))
                    .suggestion(format!(
                            "remove `{}` from this block, or wrap the line using {var} in `set +x` ... `set -x`",
                            trace.as_str().trim()
                        ))
                    .build(),
                );
            }
        }
    }
}

pub fn check(
    file: &SourceFile<'_>,
    ctx: &Context<'_>,
    out: &mut Vec<LintFinding>,
) -> Result<(), String> {
    tokens_in_files(file, out);
    credential_files(file, out);
    echoed(file, ctx, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{lint_text, lint_text_in_ci, lint_text_with, rules_of};
    use super::is_ci_or_script;
    use crate::validators::github_checksum;

    /// The CI file list was kept twice and had drifted: `.cirrus.yml` and
    /// `.azure-pipelines/` were CI configs for the CI lints but not here.
    #[test]
    fn every_ci_config_is_a_place_where_echo_reaches_a_log() {
        for path in [
            ".cirrus.yml",
            ".azure-pipelines/build.yml",
            ".github/workflows/ci.yml",
            "sub/.gitlab-ci.yml",
            "scripts/deploy.sh",
            "Makefile",
            "Dockerfile.prod",
        ] {
            let name = path.rsplit('/').next().unwrap();
            assert!(is_ci_or_script(path, name), "{path}");
        }
        assert!(!is_ci_or_script("docs/notes.yml", "notes.yml"));
        assert!(!is_ci_or_script("src/main.rs", "main.rs"));
    }

    /// A classic PAT with a valid checksum over made-up random characters: well-formed,
    /// never issued.
    fn fake_ghp() -> String {
        let random = "Zq3LmN8pRt5VwX2yB7cD9eF1gH4jK6";
        format!("ghp_{random}{}", github_checksum(random))
    }

    /// anaconda.org shape (2 chars, UUID); made up, never issued.
    const FAKE_ANACONDA: &str = "zz-5b0c8f0e-9d3a-4c1e-8f7b-2a6d4e9c1b30";

    #[test]
    fn condarc_token_is_an_error_and_never_printed() {
        let text = format!("channels:\n  - https://conda.anaconda.org/t/{FAKE_ANACONDA}/acme-private\n  - conda-forge\nchannel_alias: https://conda.anaconda.org/t/{FAKE_ANACONDA}\n");
        let f = lint_text(".condarc", &text);
        assert_eq!(
            rules_of(&f),
            ["token-in-conda-config", "token-in-conda-config"]
        );
        assert_eq!((f[0].line, f[0].column), (2, 34));
        assert!(f[1].message.contains("channel_alias"));
        assert!(
            f[0].message.starts_with("anaconda.org token zz-5")
                && f[0]
                    .message
                    .ends_with("(39 chars) in a channel URL of a conda config file"),
            "{}",
            f[0].message
        );
        let json = serde_json::to_string(&f).unwrap();
        assert!(!json.contains(FAKE_ANACONDA), "{json}");
        let clean = "channels:\n  - https://conda.anaconda.org/t/${ANACONDA_TOKEN}/acme-private\n  - conda-forge\n";
        assert!(lint_text(".condarc", clean).is_empty());
    }

    #[test]
    fn tokens_on_command_lines() {
        let ghp = fake_ghp();
        let text = format!("#!/bin/sh\nanaconda -t {FAKE_ANACONDA} upload dist/*.conda\ngit clone https://{ghp}@github.com/acme/private.git\ncurl -H \"Authorization: token {ghp}\" https://api.github.com/user\n");
        let f = lint_text("ci/publish.sh", &text);
        assert_eq!(rules_of(&f), ["token-on-command-line"; 3], "{f:#?}");
        assert!(f[0].message.contains("command-line argument"));
        assert!(
            f[0].message.starts_with("anaconda.org token zz-5"),
            "{}",
            f[0].message
        );
        assert_eq!(
            crate::rules::facts("github.legacy-token-api-call")
                .unwrap()
                .kind,
            "GitHub legacy 40-hex token"
        );
        assert!(f[0].suggestion.contains("$ANACONDA_API_TOKEN"));
        assert!(f[1].message.contains("credentials in a URL"));
        let json = serde_json::to_string(&f).unwrap();
        assert!(!json.contains(&ghp) && !json.contains(FAKE_ANACONDA));
        // A token merely assigned (scan's business, not a command line) is not this lint.
        let assigned = format!("GH_TOKEN={ghp}\n");
        assert!(lint_text("ci/env.sh", &assigned).is_empty());
        let var = "anaconda -t \"$ANACONDA_API_TOKEN\" upload dist/*.conda\n";
        assert!(lint_text("ci/publish.sh", var)
            .iter()
            .all(|f| f.rule != "token-on-command-line"));
    }

    #[test]
    fn credential_files_with_secrets() {
        let f = lint_text(
            ".netrc",
            "machine github.com\n  login octocat\n  password hunter2-not-real\n",
        );
        assert_eq!(rules_of(&f), ["credential-file-committed"]);
        assert_eq!((f[0].line, f[0].column), (3, 12));
        assert!(!serde_json::to_string(&f)
            .unwrap()
            .contains("hunter2-not-real"));
        let pypirc = "[distutils]\nindex-servers = pypi\n[pypi]\nusername = __token__\npassword = pypi-made-up-never-issued\n";
        assert_eq!(
            rules_of(&lint_text("sub/.pypirc", pypirc)),
            ["credential-file-committed"]
        );
        let creds = "https://octocat:made-up-not-a-token@github.com\n";
        assert_eq!(
            rules_of(&lint_text(".git-credentials", creds)),
            ["credential-file-committed"]
        );
        // No password: nothing to report.
        assert!(lint_text(".pypirc", "[pypi]\nusername = __token__\n").is_empty());
        assert!(lint_text(".netrc", "machine x login y password $NETRC_PASSWORD\n").is_empty());
    }

    fn echoes(f: &[super::LintFinding]) -> Vec<&super::LintFinding> {
        f.iter()
            .filter(|f| f.rule == "token-echoed-in-ci")
            .collect()
    }

    #[test]
    fn echo_and_xtrace_in_ci() {
        let wf = "jobs:\n  up:\n    env:\n      ANACONDA_TOKEN: ${{ secrets.ANACONDA_TOKEN }}\n    steps:\n      - run: |\n          set -x\n          anaconda -t \"$ANACONDA_TOKEN\" upload x.conda\n      - run: echo \"token is ${{ secrets.ANACONDA_TOKEN }}\"\n      - run: echo \"$GHCR_TOKEN\" | docker login ghcr.io -u x --password-stdin\n      - run: echo \"::add-mask::$DERIVED_TOKEN\"\n      - run: echo \"$UNMAPPED_TOKEN\"\n";
        let f = lint_text(".github/workflows/up.yml", wf);
        let echo = echoes(&f);
        assert_eq!(echo.len(), 2, "{f:#?}");
        assert_eq!((echo[0].line, echo[0].column), (7, 11));
        assert!(echo[0].message.contains("line 8"));
        assert_eq!(echo[1].line, 9);
        assert!(
            echo[1].message.contains("a CI secret"),
            "{}",
            echo[1].message
        );
        // set -x turned off before the token is used, or in a different step: fine.
        let ok = "set -x\nmake build\nset +x\nanaconda upload -t \"$ANACONDA_TOKEN\" x.conda\n";
        assert!(echoes(&lint_text_in_ci("ci/build.sh", ok)).is_empty());
        let steps = "env:\n  ANACONDA_TOKEN: ${{ secrets.A }}\nsteps:\n  - run: |\n      set -x\n      make\n  - run: anaconda -t \"$ANACONDA_TOKEN\" upload x\n";
        assert!(echoes(&lint_text(".github/workflows/a.yml", steps)).is_empty());
        // Not a CI file or script: README examples are not logs.
        assert!(lint_text("README.md", "echo $GH_TOKEN\n").is_empty());
    }

    #[test]
    fn scripts_echo_only_when_ci_runs_them_and_the_variable_holds_a_secret() {
        let script = "#!/bin/sh\necho \"$ANACONDA_TOKEN\"\n";
        assert_eq!(echoes(&lint_text_in_ci("ci/upload.sh", script)).len(), 1);
        // The same script, run by no CI config: not judged.
        assert!(echoes(&lint_text("ci/upload.sh", script)).is_empty());
        // Under a test path: a note, not a warning.
        let f = lint_text_in_ci("tests/ci/upload.sh", script);
        assert_eq!(echoes(&f)[0].severity, super::Severity::Note);
        // A variable assigned a literal token in the file is a secret.
        let literal = format!("MY_TOKEN={}\necho $MY_TOKEN\n", fake_ghp());
        assert_eq!(echoes(&lint_text_in_ci("ci/x.sh", &literal)).len(), 1);
    }

    /// The ansible-style false alarms (ansible/ansible test/integration/targets):
    /// none is a secret printed to a CI log, even when CI runs the script.
    #[test]
    fn ansible_style_scripts_are_not_echo_findings() {
        let runme = "#!/usr/bin/env bash\nset -eux\nset -o pipefail\nPASSWORD='test'\nUSER=${USER:-'broken_docker'}\nJSON_EXTRA_ARGS='{\"docker_password\": \"'\"${PASSWORD}\"'\"}'\necho \"${PASSWORD}\"\nansible-pull -e \"${JSON_EXTRA_ARGS}\"\n";
        let vault = "#!/usr/bin/env bash\nset -eux\nTEST_FILE_ENC_PASSWORD=\"${MYTMPDIR}/test_file_enc_password\"\necho \"This is a test file\" > \"${TEST_FILE_ENC_PASSWORD}\"\nansible-vault encrypt \"${TEST_FILE_ENC_PASSWORD}\"\necho \"${TEST_FILE_ENC_PASSWORD}\"\n";
        let secret_sh = "#!/usr/bin/env bash\nset -eu\ndefault_password=\"foo-bar\"\npassword=\"${default_password}\"\necho \"${password}_${dirname}\"\n";
        for (path, text) in [
            ("test/integration/targets/ansible-pull/runme.sh", runme),
            ("test/integration/targets/ansible-vault/runme.sh", vault),
            (
                "test/integration/targets/ansible-vault/script/vault-secret.sh",
                secret_sh,
            ),
        ] {
            assert!(echoes(&lint_text(path, text)).is_empty(), "{path}");
            assert!(
                echoes(&lint_text_in_ci(path, text)).is_empty(),
                "{path} run by CI"
            );
        }
    }

    #[test]
    fn credential_files_under_test_paths_say_so_and_the_policy_skips_them() {
        let netrc = "machine ansible.com\nlogin user\npassword passwd\n";
        let f = lint_text("test/units/module_utils/urls/fixtures/netrc", netrc);
        assert_eq!(rules_of(&f), ["credential-file-committed"]);
        assert!(
            f[0].message.contains("under a test path"),
            "{}",
            f[0].message
        );
        let facts = crate::lint::scopes::ScopeFacts::builtin().unwrap();
        let policy =
            crate::lint::policy::Policy::parse("[lints]\nskip_test_paths = true\n", "p", &facts)
                .unwrap();
        let mut f = lint_text_with("test/units/fixtures/netrc", netrc, &policy);
        crate::lint::apply_policy(&mut f, &policy);
        assert!(f.is_empty(), "{f:#?}");
        // Outside a test path it is still an error without the note.
        let f = lint_text(".netrc", netrc);
        assert!(!f[0].message.contains("test path"));
    }
}
