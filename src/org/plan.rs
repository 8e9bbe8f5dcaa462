//! `org plan`: the repositories to audit, as a manifest. From GitHub's REST API
//! (`GET /orgs/{org}/repos` or `/users/{user}/repos`, paginated by the `Link` header,
//! rate limits waited out with a cap and a message), or from a file of clone URLs and
//! local paths.

use super::RepoEntry;
use crate::verify::http::{self, Method, Policy, Request};
use anyhow::{bail, Context};
use std::path::Path;
use std::time::Duration;

/// Whose repositories to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Org(String),
    User(String),
}

/// Which listed repositories to keep.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub include_forks: bool,
    pub include_archived: bool,
    pub exclude: Vec<String>,
    /// `public`, `private` or `internal`; `None` keeps all.
    pub visibility: Option<String>,
}

impl Filter {
    pub fn keeps(&self, r: &RepoEntry) -> bool {
        (self.include_forks || !r.fork)
            && (self.include_archived || !r.archived)
            && !self
                .exclude
                .iter()
                .any(|g| super::glob::matches(g, &r.full_name))
            && self
                .visibility
                .as_deref()
                .is_none_or(|v| r.visibility.as_deref() == Some(v))
    }
}

/// How long one rate-limit wait may be before the plan gives up (with a message).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_wait: Duration,
    /// Rate-limit answers in a row before giving up.
    pub max_rate_limited: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_wait: Duration::from_secs(15 * 60),
            max_rate_limited: 8,
        }
    }
}

/// The token for GitHub: `GITHUB_TOKEN`, else `GH_TOKEN`; none lists public
/// repositories only (and at a lower rate limit).
pub fn github_token() -> Option<String> {
    ["GITHUB_TOKEN", "GH_TOKEN"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|t| t.trim().to_string())
        .find(|t| !t.is_empty())
}

/// Every repository of `owner`, page by page, filtered.
pub fn list_github(
    owner: &Owner,
    filter: &Filter,
    limits: Limits,
) -> anyhow::Result<Vec<RepoEntry>> {
    let base = http::Endpoints::from_env()?.github;
    let base = base.trim_end_matches('/').to_string();
    let token = github_token();
    let policy = Policy {
        retries: 2,
        ..Policy::default()
    };
    let client = http::client(&policy)?;
    let (path, name) = match owner {
        Owner::Org(o) => ("orgs", o),
        Owner::User(u) => ("users", u),
    };
    check_name(name)?;
    let mut url = format!("{base}/{path}/{name}/repos?per_page=100&type=all");
    let mut out = Vec::new();
    let mut pages = 0u32;
    loop {
        let answer = get_page(&client, &url, token.as_deref(), &policy, limits)?;
        pages += 1;
        let list = answer
            .json()
            .and_then(|v| v.as_array().cloned())
            .with_context(|| format!("{path}/{name}/repos page {pages}: not a JSON list"))?;
        for item in &list {
            let entry = entry_of(item).with_context(|| {
                format!("{path}/{name}/repos page {pages}: a repository without id, full_name or clone_url")
            })?;
            if filter.keeps(&entry) {
                out.push(entry);
            }
        }
        match answer.header("link").and_then(next_link) {
            // The token goes to the API's own origin only, whatever a Link header says.
            Some(next) if next.starts_with(&format!("{base}/")) => url = next,
            Some(_) => bail!(
                "{path}/{name}/repos page {pages}: the next page is on another host; not followed"
            ),
            None => break,
        }
    }
    crate::ui::note(format!(
        "org plan: {} repositories from {pages} page(s)",
        out.len()
    ));
    Ok(out)
}

/// One page, with rate limits waited out: `Retry-After`, or `X-RateLimit-Remaining: 0`
/// with `X-RateLimit-Reset`; a secondary limit without either backs off exponentially.
/// A wait beyond `limits.max_wait` is an error, never a silent stop.
fn get_page(
    client: &reqwest::blocking::Client,
    url: &str,
    token: Option<&str>,
    policy: &Policy,
    limits: Limits,
) -> anyhow::Result<http::Answer> {
    let mut limited = 0u32;
    loop {
        let mut request = Request::new(Method::Get, url.to_string());
        request.accept = "application/vnd.github+json";
        request.authorization = token.map(|t| format!("Bearer {t}"));
        if let Some(t) = token {
            request.scrub.push(t.to_string());
        }
        let answer = http::send(
            client,
            &request,
            &Policy {
                retries: 0,
                ..*policy
            },
        )
        .map_err(|f| anyhow::anyhow!("GitHub API: {}", f.detail))?;
        if answer.is_rate_limited() {
            limited += 1;
            let wait = answer.requested_wait(http::now_epoch()).unwrap_or_else(|| {
                Duration::from_secs(1u64 << limited.min(8)).min(limits.max_wait)
            });
            if wait > limits.max_wait || limited > limits.max_rate_limited {
                bail!(
                    "GitHub API: rate limited (HTTP {}); the limit resets in {}s, more than the {}s this plan waits; run again later",
                    answer.status,
                    wait.as_secs(),
                    limits.max_wait.as_secs()
                );
            }
            // Never spin: at least one second between tries.
            let wait = wait.max(Duration::from_secs(1));
            eprintln!(
                "leakscope: GitHub API rate limit (HTTP {}): waiting {}s",
                answer.status,
                wait.as_secs()
            );
            std::thread::sleep(wait);
            continue;
        }
        match answer.status {
            200 => return Ok(answer),
            401 => bail!("GitHub API: 401 Unauthorized: GITHUB_TOKEN / GH_TOKEN was refused"),
            403 => bail!("GitHub API: 403 Forbidden: the token cannot list these repositories"),
            404 => bail!(
                "GitHub API: 404: no such organisation or user (or not visible to this token)"
            ),
            s => bail!("GitHub API: HTTP {s}"),
        }
    }
}

/// An organisation or user name goes into a URL path: GitHub's characters only.
fn check_name(name: &str) -> anyhow::Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        bail!("{name:?}: not a GitHub organisation or user name");
    }
    Ok(())
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

fn entry_of(item: &serde_json::Value) -> Option<RepoEntry> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Some(RepoEntry {
        id: item
            .get("id")?
            .as_u64()
            .map(|n| n.to_string())
            .or_else(|| text("id"))?,
        full_name: text("full_name")?,
        clone_url: text("clone_url")?,
        default_branch: text("default_branch"),
        size: item.get("size").and_then(|v| v.as_u64()),
        pushed_at: text("pushed_at"),
        fork: item.get("fork").and_then(|v| v.as_bool()).unwrap_or(false),
        archived: item
            .get("archived")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        visibility: text("visibility"),
    })
}

/// `--repos FILE`: one clone URL or local path per line (`#` comments, blank lines
/// ignored). Local paths are made absolute so a manifest works from any directory.
pub fn list_file(path: &Path, filter: &Filter) -> anyhow::Result<Vec<RepoEntry>> {
    let text = crate::input::read_text(path, "--repos", 64 << 20)?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let is_url = line.contains("://");
        if is_url
            && !(line.starts_with("https://")
                || line.starts_with("http://")
                || line.starts_with("ssh://")
                || line.starts_with("file://"))
        {
            bail!(
                "--repos {}:{}: {:?} is not an https, http, ssh or file URL",
                path.display(),
                n + 1,
                crate::finding::redact(line)
            );
        }
        if is_url
            && url::Url::parse(line)
                .is_ok_and(|u| !u.username().is_empty() || u.password().is_some())
        {
            bail!("--repos {}:{}: a URL with credentials in it; give the token in GITHUB_TOKEN instead", path.display(), n + 1);
        }
        let clone_url = if is_url {
            line.to_string()
        } else {
            let p = Path::new(line);
            std::fs::canonicalize(p)
                .with_context(|| {
                    format!(
                        "--repos {}:{}: {line}: no such directory",
                        path.display(),
                        n + 1
                    )
                })?
                .display()
                .to_string()
        };
        if !seen.insert(clone_url.clone()) {
            continue;
        }
        let full_name = name_of(&clone_url);
        let entry = RepoEntry {
            id: clone_url.clone(),
            full_name,
            clone_url,
            default_branch: None,
            size: None,
            pushed_at: None,
            fork: false,
            archived: false,
            visibility: None,
        };
        if filter.keeps(&entry) {
            out.push(entry);
        }
    }
    Ok(out)
}

/// `owner/name` from the last two path components, `.git` dropped.
pub fn name_of(url_or_path: &str) -> String {
    let trimmed = url_or_path.trim_end_matches('/');
    let parts: Vec<&str> = trimmed.rsplit(['/', ':']).take(2).collect();
    let name = |s: &str| s.strip_suffix(".git").unwrap_or(s).to_string();
    match parts.as_slice() {
        [repo, owner] if !owner.is_empty() => format!("{}/{}", name(owner), name(repo)),
        [repo, ..] => name(repo),
        [] => trimmed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_finds_rel_next() {
        let h = "<https://api.github.com/orgs/a/repos?page=2>; rel=\"next\", <https://api.github.com/orgs/a/repos?page=5>; rel=\"last\"";
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://api.github.com/orgs/a/repos?page=2")
        );
        assert_eq!(next_link("<https://x/?page=1>; rel=\"prev\""), None);
    }

    #[test]
    fn names_from_urls_and_paths() {
        assert_eq!(name_of("https://github.com/acme/api.git"), "acme/api");
        assert_eq!(name_of("/srv/git/acme/web/"), "acme/web");
        assert_eq!(name_of("git@host:acme/x.git"), "acme/x");
    }
}
