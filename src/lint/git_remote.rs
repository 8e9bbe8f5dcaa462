//! A token variable written into a git remote URL: `git clone https://$GH_TOKEN@github.com/...`,
//! `git remote set-url origin https://x-access-token:${TOKEN}@...`, or a
//! `url.<base>.insteadOf` rewrite carrying one. The literal-token form is
//! `token-on-command-line`'s; this lint is about the habit, whatever the token's value.

use super::{Context, Example, LintDoc, LintFinding, Severity, SourceFile};
use std::sync::LazyLock;

pub static REMOTE_URL: LintDoc = LintDoc {
    id: "token-in-git-remote-url",
    title: "Token variable written into a git remote URL (clone, remote set-url, insteadOf)",
    severity: Severity::Warning,
    checks: "In scripts and CI configs: `git clone`, `git remote add`/`set-url`, `git push`/`fetch`/`pull`, \
`git submodule add` and `git config url.<base>.insteadOf` with a URL whose credentials are a variable or \
expression (`https://$GH_TOKEN@github.com/...`, `https://x-access-token:${{ secrets.PAT }}@github.com/...`).",
    why: "git stores a clone's or remote's URL in `.git/config` in clear, where every later step, cached \
workspace and uploaded artifact of the checkout holds the token; git and tools print remote URLs in errors \
and `set -x` traces; `insteadOf` rewrites land in the global git config.",
    example: Example {
        path: ".github/workflows/docs.yml",
        text: "on: push\njobs:\n  docs:\n    runs-on: ubuntu-latest\n    steps:\n      - run: git clone https://x-access-token:${{ secrets.DOCS_TOKEN }}@github.com/acme/docs.git\n",
    },
    negative: Example {
        path: ".github/workflows/docs.yml",
        text: "on: push\njobs:\n  docs:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          git -c http.extraHeader=\"Authorization: Basic ${AUTH}\" clone https://github.com/acme/docs.git\n",
    },
    fix: "Keep the token out of the URL: `actions/checkout` with `token: ${{ secrets.X }}` (and \
`persist-credentials: false` when later steps need no push), `git -c http.extraHeader=\"Authorization: Basic \
$(printf 'x-access-token:%s' \"$TOKEN\" | base64 -w0)\" clone https://github.com/...` for one command, or a \
credential helper (`gh auth setup-git`, `git credential-store` in a temp HOME) for several.",
};

pub static DOCS: [&LintDoc; 1] = [&REMOTE_URL];

/// `git` (with `-c k=v` or `-C dir` options) running one of the commands that store or
/// print a remote URL.
static GIT_COMMAND: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"(?:^|[\s;&|(`])git(?:\s+-[cC]\s+\S+)*\s+(clone|remote\s+(?:add|set-url)|push|pull|fetch|submodule\s+add|config)\b",
    )
    .unwrap()
});

/// A URL whose user-info holds a variable or `${{ }}` expression.
static URL_WITH_VAR: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r#"[A-Za-z][A-Za-z0-9+.-]*://((?:[^\s/@"'$%{}]|\$\{\{[^}]*\}\}|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%[A-Za-z_][A-Za-z0-9_]*%)*(?:\$\{\{[^}]*\}\}|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%[A-Za-z_][A-Za-z0-9_]*%)(?:[^\s/@"'$%{}]|\$\{\{[^}]*\}\}|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%[A-Za-z_][A-Za-z0-9_]*%)*)@"#,
    )
    .unwrap()
});

pub fn check(
    file: &SourceFile<'_>,
    _ctx: &Context<'_>,
    out: &mut Vec<LintFinding>,
) -> Result<(), String> {
    if !file.text.contains("git") || !file.text.contains('@') {
        return Ok(());
    }
    if !super::token_storage::is_ci_or_script(file.path, file.name()) {
        return Ok(());
    }
    let joined = super::shell::join_continuations(file.text);
    for (offset, line) in super::shell::lines_with_offsets(&joined) {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let Some(git) = GIT_COMMAND.captures(line) else {
            continue;
        };
        let command = git.get(1).map_or("", |m| m.as_str());
        let rest_at = git.get(0).map_or(0, |m| m.end());
        let Some(url) = URL_WITH_VAR.captures(&line[rest_at..]) else {
            continue;
        };
        let userinfo = url.get(1).map_or("", |m| m.as_str());
        if command == "config" && !line.contains("insteadOf") && !line.contains(".url") {
            continue;
        }
        let at = offset + rest_at + url.get(1).map_or(0, |m| m.start());
        let stored = match command.split_whitespace().next().unwrap_or("") {
            "clone" | "remote" | "submodule" | "config" => "stored in .git/config and",
            _ => "",
        };
        out.push(
            file.finding_at(&REMOTE_URL, at)
            .key(userinfo)
            .message(format!(
                    "`git {}` puts {userinfo} in the remote URL: the token is {stored} printed in errors and traces",
                    command.split_whitespace().collect::<Vec<_>>().join(" ")
                ))
            .suggestion(
                    "use actions/checkout's `token:` input, or `git -c http.extraHeader=\"Authorization: Basic ...\"` / a credential helper (`gh auth setup-git`), and a URL without credentials",
                )
            .build(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{lint_text, rules_of};

    #[test]
    fn variables_in_remote_urls() {
        let text = "#!/bin/sh\ngit clone https://$GH_TOKEN@github.com/acme/x.git\ngit remote set-url origin https://x-access-token:${TOKEN}@github.com/acme/x\ngit config --global url.\"https://${PAT}@github.com/\".insteadOf \"https://github.com/\"\ngit push https://oauth2:%CI_TOKEN%@gitlab.com/acme/x.git HEAD\n";
        let f = lint_text("ci/publish.sh", text);
        assert_eq!(rules_of(&f), ["token-in-git-remote-url"; 4], "{f:#?}");
        assert_eq!((f[0].line, f[0].column), (2, 19));
        assert!(
            f[0].message.contains("stored in .git/config"),
            "{}",
            f[0].message
        );
        assert!(f[1].message.contains("x-access-token:${TOKEN}"));
    }

    #[test]
    fn urls_without_credentials_and_non_scripts_pass() {
        let ok = "git clone https://github.com/acme/x.git\ngit clone git@github.com:acme/x.git\ngit -c http.extraHeader=\"Authorization: Bearer $TOKEN\" clone https://github.com/acme/x\ngit config user.email bot@example.com\n";
        assert!(
            lint_text("ci/publish.sh", ok).is_empty(),
            "{:#?}",
            lint_text("ci/publish.sh", ok)
        );
        // Docs describing the habit are not scripts.
        assert!(lint_text(
            "README.md",
            "git clone https://$GH_TOKEN@github.com/acme/x\n"
        )
        .is_empty());
    }
}
