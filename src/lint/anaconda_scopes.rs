//! anaconda.org token requests: `anaconda auth --create` (also `-c`, `anaconda org auth`,
//! the old `binstar auth`) and `POST https://api.anaconda.org/authentications` calls,
//! judged for scope breadth and lifetime against `rules/scopes.toml` and the policy.
//!
//! anaconda-client gives a token full access to the account when `--scopes` is left out,
//! and the server expires it after a year when `--max-age` (seconds) is left out; the
//! scopes a CI job needs are far narrower (`conda:download` to install, `api:read
//! api:write` to upload).

use super::shell::{self, Word};
use super::{Context, Example, LintDoc, LintFinding, Severity, SourceFile};

pub static TOO_BROAD: LintDoc = LintDoc {
    id: "anaconda-scope-too-broad",
    title: "anaconda.org token requested with broader scopes than the job needs",
    severity: Severity::Warning,
    checks: "`anaconda auth --create` / `anaconda auth -c` / `anaconda org auth --create` command lines and \
POST calls to api.anaconda.org/authentications in scripts, CI files, Dockerfiles and docs. Flags a request \
with no `--scopes` (full access: error), `all` (error), `api`, `conda`, `pypi` or `repos` where a download \
or read/write scope would do (warning), and any scope outside the policy's `[scopes] anaconda` list (error).",
    why: "A token with no scopes or `all` is as good as the account password: whoever finds it in a log, an \
image layer or a fork can upload, delete and mint new tokens. A CI job that installs private packages needs \
only `conda:download`; one that uploads needs only `api:read api:write`.",
    example: Example {
        path: "ci/release.sh",
        text: "anaconda auth --create --name ci-upload --scopes all --max-age 7776000\n",
    },
    negative: Example {
        path: "ci/release.sh",
        text: "anaconda auth --create --name ci-upload --scopes 'api:read api:write' --max-age 7776000\nanaconda upload dist/*.conda\n",
    },
    fix: "Ask for the job's scopes only: `anaconda auth --create --name ci-upload --scopes 'api:read api:write' \
--max-age 7776000` to upload, `--scopes 'conda:download'` to install private packages. Revoke the broad \
token (`anaconda auth --remove NAME`).",
};

pub static LIFETIME: LintDoc = LintDoc {
    id: "anaconda-token-lifetime",
    title: "anaconda.org token requested without --max-age, or for longer than the policy allows",
    severity: Severity::Warning,
    checks: "`anaconda auth --create` without `--max-age` (the server then keeps the token a year), or with \
a `--max-age` (seconds) longer than the policy's `max_lifetime_days` (default 365).",
    why: "A token that outlives its job is a token someone forgets to revoke. Short lifetimes bound the damage \
of a leak nobody noticed.",
    example: Example {
        path: "ci/token.sh",
        text: "anaconda auth --create --name nightly --scopes conda:download\n",
    },
    negative: Example {
        path: "ci/token.sh",
        text: "anaconda auth --create --name nightly --scopes conda:download --max-age 7776000\n",
    },
    fix: "Add `--max-age SECONDS` sized to the job, e.g. `--max-age 7776000` (90 days), and rotate on a \
schedule.",
};

pub static DOCS: [&LintDoc; 2] = [&TOO_BROAD, &LIFETIME];

/// What the token is for, guessed from the request's name and the rest of the file, so
/// the suggestion can name the exact scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Upload,
    Download,
    PypiDownload,
    Unknown,
}

fn guess_job(name: Option<&str>, text: &str) -> Job {
    let lower_name = name.unwrap_or("").to_ascii_lowercase();
    if ["upload", "publish", "release", "deploy"]
        .iter()
        .any(|w| lower_name.contains(w))
    {
        return Job::Upload;
    }
    if lower_name.contains("download") || lower_name.contains("install") {
        return Job::Download;
    }
    static UPLOAD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)\b(?:anaconda|binstar)\b[^\n]*\bupload\b").unwrap()
    });
    static PYPI: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)pypi\.anaconda\.org|\bpip\s+install\b").unwrap()
    });
    static DOWNLOAD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)\b(?:conda|mamba|micromamba)\s+(?:install|create|env\s+create)\b|conda[ -]token\s+set|channel_alias|\bchannels:").unwrap()
    });
    if UPLOAD.is_match(text) {
        Job::Upload
    } else if DOWNLOAD.is_match(text) {
        Job::Download
    } else if PYPI.is_match(text) {
        Job::PypiDownload
    } else {
        Job::Unknown
    }
}

fn least_scopes(job: Job, ctx: &Context<'_>) -> Option<String> {
    let needle = match job {
        Job::Upload => "upload",
        Job::Download => "conda packages",
        Job::PypiDownload => "PyPI",
        Job::Unknown => return None,
    };
    ctx.facts.anaconda_job(needle).map(|j| j.scopes.join(" "))
}

/// One parsed `anaconda auth --create` request.
struct Request {
    /// Offset of the `--create` / `-c` flag.
    create_at: usize,
    name: Option<String>,
    org: Option<String>,
    /// Each requested scope and the offset of the value it came from.
    scopes: Vec<(String, usize)>,
    scopes_given: bool,
    max_age: Option<(String, usize)>,
}

/// Options of `anaconda` itself that take a value (before the subcommand).
const GLOBAL_WITH_VALUE: &[&str] = &["-t", "--token", "-s", "--site"];

fn parse_request(cmd: &[Word]) -> Option<Request> {
    let args = &cmd[1..];
    let mut i = 0;
    while i < args.len() && args[i].text.starts_with('-') {
        i += if GLOBAL_WITH_VALUE.contains(&args[i].text.as_str()) {
            2
        } else {
            1
        };
    }
    if args.get(i).map(|w| w.text.as_str()) == Some("org") {
        i += 1;
    }
    if args.get(i).map(|w| w.text.as_str()) != Some("auth") {
        return None;
    }
    i += 1;
    let mut request = Request {
        create_at: 0,
        name: None,
        org: None,
        scopes: Vec::new(),
        scopes_given: false,
        max_age: None,
    };
    let mut create = false;
    while i < args.len() {
        let w = &args[i];
        if w.text == "-c" || w.text == "--create" {
            create = true;
            request.create_at = w.start;
            i += 1;
        } else if let Some((value, at, used)) = shell::flag_value(args, i, &["--scopes"], &["-s"]) {
            request.scopes_given = true;
            let mut offset = 0;
            for part in value.split([' ', ',', '\t']) {
                if !part.is_empty() && !shell::is_dynamic(part) {
                    // The offset of a scope inside a quoted value: close enough to point
                    // at (quotes shift it by one).
                    let inner = value[offset..].find(part).map(|p| p + offset).unwrap_or(0);
                    request.scopes.push((part.to_string(), at + inner));
                }
                offset += part.len() + 1;
            }
            i += used;
        } else if let Some((value, at, used)) = shell::flag_value(args, i, &["--max-age"], &[]) {
            request.max_age = Some((value, at));
            i += used;
        } else if let Some((value, _, used)) = shell::flag_value(args, i, &["--name"], &["-n"]) {
            request.name = Some(value);
            i += used;
        } else if let Some((value, _, used)) =
            shell::flag_value(args, i, &["--org", "--organization"], &["-o"])
        {
            request.org = Some(value);
            i += used;
        } else {
            i += 1;
        }
    }
    create.then_some(request)
}

fn suggested_command(request: &Request, scopes: &str, max_age_seconds: u64) -> String {
    let mut cmd = String::from("anaconda auth --create");
    if let Some(name) = &request.name {
        cmd.push_str(&format!(" --name {name}"));
    }
    if let Some(org) = &request.org {
        cmd.push_str(&format!(" --org {org}"));
    }
    cmd.push_str(&format!(" --scopes '{scopes}' --max-age {max_age_seconds}"));
    cmd
}

/// The suggested lifetime: 90 days, or the policy's maximum if shorter.
fn suggested_max_age(ctx: &Context<'_>) -> u64 {
    ctx.policy.max_lifetime_days.min(90) * 86_400
}

fn judge(file: &SourceFile<'_>, ctx: &Context<'_>, request: &Request, out: &mut Vec<LintFinding>) {
    let job = guess_job(request.name.as_deref(), file.text);
    let least = least_scopes(job, ctx);
    let max_age = suggested_max_age(ctx);
    let for_job = |least: &Option<String>| match least {
        Some(s) => format!(
            "{} (this file {})",
            suggested_command(request, s, max_age),
            match job {
                Job::Upload => "uploads packages",
                _ => "installs packages",
            }
        ),
        None => format!(
            "{}  to install private packages, or  {}  to upload",
            suggested_command(request, "conda:download", max_age),
            suggested_command(request, "api:read api:write", max_age)
        ),
    };
    if !request.scopes_given {
        out.push(file.finding_at(&TOO_BROAD, request.create_at)
            .severity(Severity::Error)
            .key("no-scopes")
            .message("`anaconda auth --create` without --scopes: anaconda.org gives the token full access to the account")
            .suggestion(for_job(&least))
            .build());
    }
    for (scope, at) in &request.scopes {
        if let Some(allowed) = &ctx.policy.anaconda_scopes {
            if !allowed.contains(scope) {
                out.push(
                    file.finding_at(&TOO_BROAD, *at)
                        .severity(Severity::Error)
                        .key(scope)
                        .message(format!(
                            "scope `{scope}` is not allowed by the policy (allowed: {})",
                            allowed.iter().cloned().collect::<Vec<_>>().join(" ")
                        ))
                        .suggestion(for_job(&least))
                        .build(),
                );
            }
            continue;
        }
        if let Some(risky) = ctx.facts.anaconda_broad(scope) {
            out.push(
                file.finding_at(&TOO_BROAD, *at)
                    .severity(risky.severity())
                    .key(scope)
                    .message(format!(
                        "requests scope `{scope}`: {}; never least privilege",
                        risky.why
                    ))
                    .suggestion(match &least {
                        Some(_) => for_job(&least),
                        None => format!("use {}", risky.instead),
                    })
                    .build(),
            );
        } else if !ctx.facts.anaconda.scopes.contains_key(scope) {
            out.push(
                file.finding_at(&TOO_BROAD, *at)
                    .severity(Severity::Note)
                    .key(scope)
                    .message(format!(
                    "`{scope}` is not an anaconda.org scope (see `anaconda auth --list-scopes`)"
                ))
                    .suggestion(for_job(&least))
                    .build(),
            );
        }
    }
    let limit_days = ctx.policy.max_lifetime_days;
    match &request.max_age {
        None => out.push(
            file.finding_at(&LIFETIME, request.create_at)
                .severity(Severity::Warning)
                .key("no-max-age")
                .message(format!(
                    "no --max-age: the token lives the server default ({} days)",
                    ctx.facts.anaconda.default_expiry_days
                ))
                .suggestion(format!(
                    "add --max-age {max_age} ({} days) or what the job needs",
                    max_age / 86_400
                ))
                .build(),
        ),
        Some((value, at)) => {
            if let Ok(seconds) = value.trim().parse::<u64>() {
                if seconds > limit_days * 86_400 {
                    out.push(
                        file.finding_at(&LIFETIME, *at)
                            .severity(Severity::Warning)
                            .key("max-age")
                            .message(format!(
                                "--max-age {seconds} is {} days, over the {limit_days}-day maximum",
                                seconds / 86_400
                            ))
                            .suggestion(format!("--max-age {max_age}"))
                            .build(),
                    );
                }
            }
        }
    }
}

/// Every `anaconda auth --create` request in the file.
fn command_requests(file: &SourceFile<'_>, ctx: &Context<'_>, out: &mut Vec<LintFinding>) {
    let joined = shell::join_continuations(file.text);
    for (offset, line) in shell::lines_with_offsets(&joined) {
        if !line.contains("auth") {
            continue;
        }
        let words = shell::words(line, offset);
        for cmd in shell::commands(&words, &["anaconda", "binstar"]) {
            if let Some(request) = parse_request(cmd) {
                judge(file, ctx, &request, out);
            }
        }
    }
}

static API_CALL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)api\.anaconda\.org/authentications\b").unwrap()
});
static SCOPES_FIELD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r#"["']?scopes["']?\s*[:=]\s*(\[[^\]]*\]|"[^"]*"|'[^']*')"#).unwrap()
});
static QUOTED: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r#""([^"]*)"|'([^']*)'"#).unwrap());

/// `POST .../authentications` with a `scopes` field in the next few lines.
fn api_requests(file: &SourceFile<'_>, ctx: &Context<'_>, out: &mut Vec<LintFinding>) {
    for call in API_CALL.find_iter(file.text) {
        let mut end = (call.end() + 600).min(file.text.len());
        while !file.text.is_char_boundary(end) {
            end -= 1;
        }
        let window = &file.text[call.end()..end];
        let Some(field) = SCOPES_FIELD.captures(window) else {
            continue;
        };
        let value = field.get(1).unwrap();
        let base = call.end() + value.start();
        let mut scopes = Vec::new();
        for q in QUOTED.captures_iter(value.as_str()) {
            let m = q.get(1).or_else(|| q.get(2)).unwrap();
            let mut offset = 0;
            for part in m.as_str().split([' ', ',']) {
                if !part.is_empty() {
                    scopes.push((part.to_string(), base + m.start() + offset));
                }
                offset += part.len() + 1;
            }
        }
        let request = Request {
            create_at: base,
            name: None,
            org: None,
            scopes_given: !scopes.is_empty(),
            scopes,
            // The API takes max_age in the body too; judge lifetime on the CLI only.
            max_age: Some(("0".into(), base)),
        };
        judge(file, ctx, &request, out);
    }
}

pub fn check(
    file: &SourceFile<'_>,
    ctx: &Context<'_>,
    out: &mut Vec<LintFinding>,
) -> Result<(), String> {
    if !(file.text.contains("anaconda") || file.text.contains("binstar")) {
        return Ok(());
    }
    command_requests(file, ctx, out);
    api_requests(file, ctx, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{lint_text, lint_text_with, rules_of};
    use super::*;

    fn only<'a>(findings: &'a [LintFinding], id: &str) -> Vec<&'a LintFinding> {
        findings.iter().filter(|f| f.rule == id).collect()
    }

    #[test]
    fn all_scope_is_an_error_with_the_upload_scopes_suggested() {
        let text = "set -e\nanaconda auth --create --name ci-upload --scopes all --max-age 86400\nanaconda upload dist/*.conda\n";
        let f = lint_text("ci/release.sh", text);
        let broad = only(&f, "anaconda-scope-too-broad");
        assert_eq!(broad.len(), 1, "{f:#?}");
        assert_eq!(broad[0].severity, Severity::Error);
        assert_eq!((broad[0].line, broad[0].column), (2, 50));
        assert!(
            broad[0]
                .suggestion
                .contains("--scopes 'api:read api:write'"),
            "{}",
            broad[0].suggestion
        );
        assert!(only(&f, "anaconda-token-lifetime").is_empty());
    }

    #[test]
    fn no_scopes_means_full_access() {
        let text = "anaconda -t $ADMIN auth -c -n nightly \\\n   --max-age 3600\nconda install -c acme-private tool\n";
        let f = lint_text("Makefile", text);
        let broad = only(&f, "anaconda-scope-too-broad");
        assert_eq!(broad.len(), 1, "{f:#?}");
        assert!(broad[0].message.contains("full access"));
        assert!(broad[0].suggestion.contains("--scopes 'conda:download'"));
        assert_eq!(broad[0].line, 1);
        assert!(
            only(&f, "anaconda-token-lifetime").is_empty(),
            "max-age on the continued line"
        );
    }

    #[test]
    fn api_and_missing_max_age_are_warnings() {
        let f = lint_text(
            "README.md",
            "Run `anaconda auth --create --scopes 'api conda:download'`.\n",
        );
        assert_eq!(
            rules_of(&f),
            ["anaconda-scope-too-broad", "anaconda-token-lifetime"]
        );
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].message.contains("`api`"));
        let long = lint_text(
            "x.sh",
            "anaconda auth --create --scopes conda:download --max-age 63072000\n",
        );
        assert_eq!(rules_of(&long), ["anaconda-token-lifetime"]);
        assert!(long[0].message.contains("730 days"));
    }

    #[test]
    fn least_privilege_requests_pass() {
        for text in [
            "anaconda auth --create --name dl --scopes 'conda:download' --max-age 7776000\n",
            "anaconda auth -c -s api:read -s api:write --max-age=86400\n",
            "anaconda auth --list\nanaconda auth --remove old\n",
            "anaconda upload --user acme dist/*.conda\n",
            "# anaconda auth --create --scopes all  (commented out)\n",
            "anaconda auth --create --scopes \"$SCOPES\" --max-age 86400\n",
        ] {
            assert!(
                lint_text("ci.sh", text).is_empty(),
                "{text}: {:?}",
                lint_text("ci.sh", text)
            );
        }
    }

    #[test]
    fn newer_and_older_clis_and_global_flags() {
        // `anaconda org auth` (anaconda-cli-base), `binstar auth`, and the global
        // `-s SITE` before the subcommand, which is not `--scopes`.
        for text in [
            "anaconda org auth --create --name x --scopes all --max-age 60\n",
            "binstar auth -c -n x -s all --max-age 60\n",
            "anaconda -s private-site auth --create -n x --scopes all --max-age 60\n",
        ] {
            let f = lint_text("x.sh", text);
            assert_eq!(rules_of(&f), ["anaconda-scope-too-broad"], "{text}");
            assert!(f[0].message.contains("`all`"), "{text}");
        }
    }

    #[test]
    fn the_api_call_is_judged_too() {
        let text = "requests.post(\n    \"https://api.anaconda.org/authentications\",\n    json={\"scopes\": [\"all\"], \"note\": \"ci\"},\n)\n";
        let f = lint_text("tools/mint.py", text);
        assert_eq!(rules_of(&f), ["anaconda-scope-too-broad"]);
        assert_eq!(f[0].line, 3);
    }

    #[test]
    fn policy_allowed_scopes_are_enforced() {
        let facts = super::super::scopes::ScopeFacts::builtin().unwrap();
        let policy = super::super::policy::Policy::parse(
            "[scopes]\nanaconda = [\"conda:download\", \"api\"]\n",
            "p",
            &facts,
        )
        .unwrap();
        let f = lint_text_with(
            "ci.sh",
            "anaconda auth --create --scopes 'api pypi:upload' --max-age 60\n",
            &policy,
        );
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].message.contains("pypi:upload"));
        assert_eq!(f[0].severity, Severity::Error);
    }
}
