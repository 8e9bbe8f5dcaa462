//! Where tokens are kept: in `.condarc` channel URLs, on command lines in scripts and
//! CI configs, in credential files that end up committed, and printed to CI logs by
//! `echo` or `set -x`. Literal tokens are found by the scan matcher (the same rules as
//! `leakscope scan`), never by regexes of our own, and are only ever shown redacted.

use super::{Context, LintDoc, LintFinding, Severity, SourceFile};
use crate::finding::Finding;

pub static CONDA_CONFIG: LintDoc = LintDoc {
    id: "token-in-conda-config",
    title: "Token inside a conda configuration file (.condarc channel URL or channel_alias)",
    severity: Severity::Error,
    checks: "Tokens in `.condarc` (and `condarc`, `*.condarc`, `environment.yml`) channel URLs, `channel_alias` \
or `custom_channels` (`https://conda.anaconda.org/t/<token>/...`).",
    why: "conda prints channel URLs in logs, error messages and `conda info`; the file gets copied into images \
and committed. Tools such as setup-miniconda have logged such URLs in CI.",
    example: "channels:\n  - https://conda.anaconda.org/t/<token>/acme-private\nchannel_alias: https://conda.anaconda.org/t/<token>",
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
    example: "anaconda -t <token> upload dist/*.conda\ngit clone https://<token>@github.com/acme/private.git",
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
    example: ".netrc:\nmachine github.com login octocat password <token>",
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
    example: "- run: |\n    set -x\n    anaconda -t \"$ANACONDA_TOKEN\" upload dist/*.conda",
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

/// Scripts and CI configs: where `echo` and `set -x` end up in a log.
pub fn is_ci_or_script(path: &str, name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    matches!(ext, "sh" | "bash" | "zsh" | "ps1" | "bat" | "cmd" | "mk")
        || lower.starts_with("dockerfile")
        || lower.ends_with(".dockerfile")
        || matches!(
            lower.as_str(),
            "makefile"
                | "gnumakefile"
                | "jenkinsfile"
                | ".gitlab-ci.yml"
                | ".travis.yml"
                | "azure-pipelines.yml"
                | "appveyor.yml"
                | ".appveyor.yml"
                | "bitbucket-pipelines.yml"
                | ".drone.yml"
                | "cloudbuild.yaml"
                | "build.sh"
                | "bld.bat"
        )
        || ((path.contains(".github/workflows/")
            || path.contains(".github/actions/")
            || path.contains(".circleci/")
            || path.contains(".buildkite/"))
            && (ext == "yml" || ext == "yaml"))
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
    crate::rules::facts(&token.rule).map_or_else(|| token.rule_name.clone(), |f| f.kind)
}

fn env_var_for(token: &Finding) -> &'static str {
    if token.provider == "anaconda" {
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
            out.push(file.finding_at_line(
                &CONDA_CONFIG,
                Severity::Error,
                token.line,
                token.column,
                &token.fingerprint,
                format!(
                    "{} {label} in {place} of a conda config file",
                    token_kind(token)
                ),
                "revoke it; keep the new one out of the file: `anaconda login` or `conda token set` (keyring), \
or `/t/${ANACONDA_TOKEN}/` in the URL with ANACONDA_TOKEN from a CI secret"
                    .into(),
            ));
        } else if let Some(how) = command_line_use(line_text, token) {
            let var = env_var_for(token);
            out.push(file.finding_at_line(
                &COMMAND_LINE,
                Severity::Error,
                token.line,
                token.column,
                &token.fingerprint,
                format!("{} {label} {how}", token_kind(token)),
                format!(
                    "revoke it; pass the new one as ${var} from a CI secret (for git: `git -c http.extraHeader=\"Authorization: Bearer ${var}\" clone ...`, never the URL)"
                ),
            ));
        }
    }
}

static NETRC_PASSWORD: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"(?m)\bpassword\s+(\S+)").unwrap());
static PYPIRC_PASSWORD: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"(?m)^\s*password\s*[=:]\s*(\S+)").unwrap());
static URL_CREDENTIALS: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"(?m)[a-z]+://[^:/\s@]*:([^@\s]+)@").unwrap());

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
                out.push(file.finding_redacting(
                    &CREDENTIAL_FILE,
                    Severity::Error,
                    1,
                    1,
                    "keyring",
                    "anaconda-auth's plain-file keyring (API key and repo tokens, base64, unencrypted) is in the tree".into(),
                    "revoke the API key (log out and back in) and delete .anaconda/keyring from the repository; set `preferred_token_storage = \"system\"` to use the OS keyring".into(),
                    Some(file.text.lines().next().unwrap_or("")),
                ));
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
        out.push(file.finding_redacting(
            &CREDENTIAL_FILE,
            Severity::Error,
            line,
            column,
            &crate::finding::fingerprint("credential-file", value.as_str()),
            format!("{what} ({}) is in a file that would be committed", crate::finding::redact(value.as_str())),
            format!(
                "revoke the credential, remove {} from the repository and its history, add it to .gitignore, and write it in CI from a secret",
                file.name()
            ),
            Some(value.as_str()),
        ));
    }
}

/// `$NAME`, `${NAME}`, `%NAME%`, `$env:NAME` where NAME looks like a token, or
/// `${{ secrets.X }}`.
static TOKEN_VAR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"(?i)\$\{\{\s*secrets\.[A-Za-z0-9_]+\s*\}\}|\$(?:env:)?\{?[A-Za-z0-9_]*(?:TOKEN|API_?KEY|SECRET|PASSWORD|PASSWD)[A-Za-z0-9_]*\}?|%[A-Za-z0-9_]*(?:TOKEN|API_?KEY|SECRET|PASSWORD)[A-Za-z0-9_]*%",
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

fn echoed(file: &SourceFile<'_>, out: &mut Vec<LintFinding>) {
    if !is_ci_or_script(file.path, file.name()) {
        return;
    }
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
                if let Some(var) = TOKEN_VAR.find(rest) {
                    let column = code[..echo.end() + var.start()].chars().count() + 1;
                    out.push(file.finding_at_line(
                        &ECHOED,
                        Severity::Warning,
                        number,
                        column,
                        var.as_str(),
                        format!("`{}` prints {} to the CI log", echo.as_str().trim(), var.as_str()),
                        format!(
                            "remove the {}; to hand the token to a program use stdin (`printf '%s' \"{}\" | docker login --password-stdin ...`) or an environment variable",
                            echo.as_str().trim(),
                            var.as_str()
                        ),
                    ));
                }
            }
        }
        if let Some(trace) = XTRACE.find(code) {
            let base = indent_of(line);
            let mut used = None;
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
                if let Some(var) = TOKEN_VAR.find(later) {
                    used = Some((later_index + 1, var.as_str().to_string()));
                    break;
                }
            }
            // The same line may use the token after `set -x;`.
            if used.is_none() {
                if let Some(var) = TOKEN_VAR.find(&code[trace.end()..]) {
                    used = Some((number, var.as_str().to_string()));
                }
            }
            if let Some((use_line, var)) = used {
                let column = code[..trace.start()].chars().count()
                    + 1
                    + usize::from(code[trace.start()..].starts_with([' ', ';', '&', '|']));
                out.push(file.finding_at_line(
                    &ECHOED,
                    Severity::Warning,
                    number,
                    column,
                    &format!("xtrace {var}"),
                    format!("`{}` traces every command, and line {use_line} expands {var} into the log", trace.as_str().trim()),
                    format!("remove `{}` from this block, or wrap the line using {var} in `set +x` ... `set -x`", trace.as_str().trim()),
                ));
            }
        }
    }
}

pub fn check(
    file: &SourceFile<'_>,
    _ctx: &Context<'_>,
    out: &mut Vec<LintFinding>,
) -> Result<(), String> {
    tokens_in_files(file, out);
    credential_files(file, out);
    echoed(file, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{lint_text, rules_of};
    use crate::validators::github_checksum;

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
        assert!(lint_text("ci/publish.sh", var).is_empty());
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

    #[test]
    fn echo_and_xtrace_in_ci() {
        let wf = "jobs:\n  up:\n    steps:\n      - run: |\n          set -x\n          anaconda -t \"$ANACONDA_TOKEN\" upload x.conda\n      - run: echo \"token is ${{ secrets.ANACONDA_TOKEN }}\"\n      - run: echo \"$GHCR_TOKEN\" | docker login ghcr.io -u x --password-stdin\n      - run: echo \"::add-mask::$DERIVED_TOKEN\"\n";
        let f = lint_text(".github/workflows/up.yml", wf);
        let echo: Vec<_> = f
            .iter()
            .filter(|f| f.rule == "token-echoed-in-ci")
            .collect();
        assert_eq!(echo.len(), 2, "{f:#?}");
        assert_eq!((echo[0].line, echo[0].column), (5, 11));
        assert!(echo[0].message.contains("line 6"));
        assert_eq!(echo[1].line, 7);
        // set -x turned off before the token is used, or in a different step: fine.
        let ok = "set -x\nmake build\nset +x\nanaconda -t \"$ANACONDA_TOKEN\" upload x.conda\n";
        assert!(lint_text("ci/build.sh", ok).is_empty());
        let steps = "steps:\n  - run: |\n      set -x\n      make\n  - run: anaconda -t \"$ANACONDA_TOKEN\" upload x\n";
        assert!(lint_text(".github/workflows/a.yml", steps)
            .iter()
            .all(|f| f.rule != "token-echoed-in-ci"));
        // Not a CI file or script: README examples are not logs.
        assert!(lint_text("README.md", "echo $GH_TOKEN\n").is_empty());
    }
}
