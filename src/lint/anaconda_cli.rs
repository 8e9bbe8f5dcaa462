//! How CI hands anaconda-client its token: on the command line (`anaconda -t "$X"
//! upload`), where process lists and `set -x` traces show it, and by logging in on every
//! run (`anaconda login`, `anaconda auth --create`, `ana login`), which mints a new
//! token or API key each time without revoking the last.

use super::shell::{self, Word};
use super::{Context, Example, LintDoc, LintFinding, Severity, SourceFile};

pub static TOKEN_FLAG: LintDoc = LintDoc {
    id: "anaconda-token-on-command-line",
    title: "anaconda-client given its token with -t/--token (even from a variable)",
    severity: Severity::Warning,
    checks: "`anaconda -t VALUE ...` / `anaconda --token VALUE ...` in scripts and CI configs where VALUE is a \
variable or expression (`\"$ANACONDA_TOKEN\"`, `${{ secrets.ANACONDA_TOKEN }}`). A literal token there is \
`token-on-command-line`'s (an error).",
    why: "A command line is readable by every process on the machine (`ps`, /proc/PID/cmdline) and is printed \
whole by `set -x`, `bash -x` and CI runners that echo commands; log masking only hides the exact secret \
string. anaconda-client reads the token from the `ANACONDA_API_TOKEN` environment variable without any flag.",
    example: Example {
        path: "ci/upload.sh",
        text: "#!/bin/sh\nanaconda -t \"$ANACONDA_TOKEN\" upload --user acme dist/*.conda\n",
    },
    negative: Example {
        path: "ci/upload.sh",
        text: "#!/bin/sh\n# ANACONDA_API_TOKEN comes from the CI secret store\nanaconda upload --user acme dist/*.conda\n",
    },
    fix: "Put the token in the environment instead: in a workflow step\n\
env:\n  ANACONDA_API_TOKEN: ${{ secrets.ANACONDA_TOKEN }}\nrun: anaconda upload --user acme dist/*.conda",
};

pub static LOGIN_IN_CI: LintDoc = LintDoc {
    id: "anaconda-login-in-ci",
    title: "CI logs in to Anaconda on every run (anaconda login, anaconda auth --create, ana login)",
    severity: Severity::Warning,
    checks: "`anaconda login`, `anaconda auth --create` / `-c`, `anaconda org auth --create`, `anaconda auth \
login` and `ana login` / `ana auth login` in CI configs (workflow `run:` steps, .gitlab-ci.yml, ...) and in \
the repository scripts they run.",
    why: "Each login creates a new anaconda.org token or a new anaconda.com API key that lives a year, and \
logging in again does not revoke the previous one (Anaconda's CLI documentation): a CI job that logs in \
accumulates live keys, one per run, none of which anyone rotates. It also needs the account password in CI.",
    example: Example {
        path: ".github/workflows/upload.yml",
        text: "on: push\npermissions: {}\njobs:\n  up:\n    runs-on: ubuntu-latest\n    steps:\n      - run: anaconda login --username \"$ANACONDA_USER\" --password \"$ANACONDA_PASSWORD\"\n",
    },
    negative: Example {
        path: "docs/release.md",
        text: "Create the upload token once, on your machine:\n\n    anaconda login\n    anaconda auth --create --name ci-upload --scopes 'api:read api:write' --max-age 7776000\n",
    },
    fix: "Create one token once, outside CI (`anaconda auth --create --name ci-upload --scopes 'api:read \
api:write' --max-age 7776000`), store it as a CI secret, and hand it to the job as `ANACONDA_API_TOKEN`; \
rotate it on a schedule.",
};

pub static DOCS: [&LintDoc; 2] = [&TOKEN_FLAG, &LOGIN_IN_CI];

/// Options of `anaconda` itself that take a value (before the subcommand).
const GLOBAL_WITH_VALUE: &[&str] = &["-t", "--token", "-s", "--site"];

/// What one `anaconda`/`ana` command line does, as far as these lints care.
enum Use {
    /// `-t VALUE` before the subcommand: the value word.
    TokenFlag(usize),
    /// A command that mints a token or key: what to call it.
    Login(&'static str),
}

fn uses(cmd: &[Word]) -> Vec<Use> {
    let program = cmd[0].text.rsplit(['/', '\\']).next().unwrap_or("");
    let args = &cmd[1..];
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() && args[i].text.starts_with('-') {
        let text = args[i].text.as_str();
        if (text == "-t" || text == "--token") && program != "ana" {
            if args.get(i + 1).is_some() {
                out.push(Use::TokenFlag(i + 2));
            }
        } else if text.starts_with("--token=") && program != "ana" {
            out.push(Use::TokenFlag(i + 1));
        }
        i += if GLOBAL_WITH_VALUE.contains(&text) {
            2
        } else {
            1
        };
    }
    let rest: Vec<&str> = args[i.min(args.len())..]
        .iter()
        .map(|w| w.text.as_str())
        .collect();
    let login = match rest.as_slice() {
        ["login", ..] => Some(if program == "ana" {
            "`ana login` (a new anaconda.com API key)"
        } else {
            "`anaconda login` (a new anaconda.org token)"
        }),
        ["auth", "login", ..] => Some("`auth login` (a new anaconda.com API key)"),
        ["auth", tail @ ..] | ["org", "auth", tail @ ..]
            if tail.iter().any(|a| *a == "-c" || *a == "--create") =>
        {
            Some("`anaconda auth --create` (a new anaconda.org token)")
        }
        _ => None,
    };
    out.extend(login.map(Use::Login));
    out
}

pub fn check(
    file: &SourceFile<'_>,
    ctx: &Context<'_>,
    out: &mut Vec<LintFinding>,
) -> Result<(), String> {
    if !file.text.contains("anaconda") && !file.text.contains("ana ") {
        return Ok(());
    }
    let script = super::token_storage::is_ci_or_script(file.path, file.name());
    let in_ci = super::ci::is_ci_config(file.path) || ctx.ci.runs(file.path);
    if !script && !in_ci {
        return Ok(());
    }
    let joined = shell::join_continuations(file.text);
    for (offset, line) in shell::lines_with_offsets(&joined) {
        let words = shell::words(line, offset);
        for cmd in shell::commands(&words, &["anaconda", "ana"]) {
            for found in uses(cmd) {
                match found {
                    Use::TokenFlag(at) => {
                        let Some(value) = cmd.get(at) else { continue };
                        let flag = &cmd[at - 1];
                        let (flag_text, shown) = match flag.text.strip_prefix("--token=") {
                            Some(v) => ("--token", v.to_string()),
                            None => (flag.text.as_str(), value.text.clone()),
                        };
                        if !shell::is_dynamic(&shown) {
                            // A literal token is token-on-command-line's; a file path is fine.
                            continue;
                        }
                        let shown = if shown == "${{" {
                            let start = value.start - offset;
                            line[start..]
                                .find("}}")
                                .map(|end| line[start..start + end + 2].to_string())
                                .unwrap_or(shown)
                        } else {
                            shown
                        };
                        out.push(
                            file.finding_at(&TOKEN_FLAG, flag.start)
                            .key(&shown)
                            .message(format!(
                                    "`anaconda {flag_text} {shown}` puts the token on the command line, where `ps` and `set -x` traces show it"
                                ))
                            .suggestion(
                                    "drop the flag and set ANACONDA_API_TOKEN in the step's environment from the CI secret (anaconda-client reads it)",
                                )
                            .build(),
                        );
                    }
                    Use::Login(what) if in_ci => {
                        out.push(
                            file.finding_at(&LOGIN_IN_CI, cmd[0].start)
                            .key(what)
                            .message(format!(
                                    "CI runs {what} on every run; earlier ones are not revoked, so live keys pile up"
                                ))
                            .suggestion(
                                    "create one token once outside CI (`anaconda auth --create --name ci --scopes 'api:read api:write' --max-age 7776000`), store it as a CI secret and pass it as ANACONDA_API_TOKEN",
                                )
                            .build(),
                        );
                    }
                    Use::Login(_) => {}
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{lint_text, lint_text_in_ci, rules_of};

    #[test]
    fn token_flags_from_variables() {
        let text = "anaconda -t \"$ANACONDA_TOKEN\" upload x.conda\nanaconda --token ${{ secrets.ANACONDA_TOKEN }} upload x.conda\nanaconda --token=$T upload x\nanaconda -t ~/.anaconda-token upload x\nanaconda upload -t conda x\n";
        let f = lint_text(".github/workflows/up.yml", text);
        let ours: Vec<_> = f
            .iter()
            .filter(|f| f.rule == "anaconda-token-on-command-line")
            .collect();
        assert_eq!(ours.len(), 3, "{f:#?}");
        assert_eq!((ours[0].line, ours[0].column), (1, 10));
        assert!(
            ours[1].message.contains("${{ secrets.ANACONDA_TOKEN }}"),
            "{}",
            ours[1].message
        );
    }

    #[test]
    fn logins_only_inside_ci() {
        let text = "anaconda login --username u --password \"$P\"\nana login\nanaconda auth --create --name x --scopes api:read --max-age 86400\nanaconda auth --list\n";
        let f = lint_text_in_ci("ci/release.sh", text);
        let ours: Vec<_> = f
            .iter()
            .filter(|f| f.rule == "anaconda-login-in-ci")
            .collect();
        assert_eq!(ours.len(), 3, "{f:#?}");
        assert!(ours[1].message.contains("ana login"));
        // The same script, not run by CI: no finding.
        assert!(rules_of(&lint_text("ci/release.sh", text))
            .iter()
            .all(|r| *r != "anaconda-login-in-ci"));
    }
}
