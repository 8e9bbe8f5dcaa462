//! The network side of verify and revoke: where each provider lives, the HTTP client,
//! and the retry loop.
//!
//! Everything a provider says is turned into a plain [`Answer`] (status, lower-cased
//! headers, body) so the code that maps answers to verdicts is pure and easy to test.
//! Safety rules live here, in one place:
//! - base URLs come only from built-in defaults or the `LEAKSCOPE_*_URL` environment
//!   variables, and an override must be https or http on a loopback address;
//! - redirects are never followed (the token would travel with them);
//! - error texts never carry the request URL (a repo.anaconda.cloud URL holds the token).

use anyhow::bail;
use reqwest::blocking::Client;
use reqwest::Url;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `User-Agent` on every request.
pub const USER_AGENT: &str = concat!("leakscope/", env!("CARGO_PKG_VERSION"));

/// The base URL of each API we may talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// GitHub REST API (`https://api.github.com`).
    pub github: String,
    /// anaconda.org API (`https://api.anaconda.org`).
    pub anaconda_api: String,
    /// The repository server for organisation tokens (`https://repo.anaconda.cloud`).
    pub anaconda_cloud: String,
    /// anaconda.com, for API keys (`https://anaconda.com`).
    pub anaconda_com: String,
}

pub const GITHUB_API_VAR: &str = "LEAKSCOPE_GITHUB_API_URL";
pub const ANACONDA_API_VAR: &str = "LEAKSCOPE_ANACONDA_API_URL";
pub const ANACONDA_CLOUD_VAR: &str = "LEAKSCOPE_ANACONDA_CLOUD_URL";
pub const ANACONDA_COM_VAR: &str = "LEAKSCOPE_ANACONDA_COM_URL";

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            github: "https://api.github.com".into(),
            anaconda_api: "https://api.anaconda.org".into(),
            anaconda_cloud: "https://repo.anaconda.cloud".into(),
            anaconda_com: "https://anaconda.com".into(),
        }
    }
}

impl Endpoints {
    /// The defaults, overridden by the environment variables. Nothing else can move an
    /// endpoint: not a flag, not a file in the scanned tree.
    pub fn from_env() -> anyhow::Result<Endpoints> {
        let mut endpoints = Endpoints::default();
        for (var, slot) in [
            (GITHUB_API_VAR, &mut endpoints.github),
            (ANACONDA_API_VAR, &mut endpoints.anaconda_api),
            (ANACONDA_CLOUD_VAR, &mut endpoints.anaconda_cloud),
            (ANACONDA_COM_VAR, &mut endpoints.anaconda_com),
        ] {
            match std::env::var(var) {
                Ok(value) => *slot = check_base_url(var, &value)?,
                Err(std::env::VarError::NotPresent) => {}
                Err(std::env::VarError::NotUnicode(_)) => bail!("{var}: not valid UTF-8"),
            }
        }
        Ok(endpoints)
    }
}

/// Accepts `https://…`, or `http://` on a literal loopback address, 127.0.0.0/8 or
/// `[::1]` (a local test server); returns the URL without a trailing `/`. The error
/// names `var`. `localhost` is refused for http: it is a name the resolver (or
/// /etc/hosts) may map anywhere, and the token would then cross the network in clear.
pub fn check_base_url(var: &str, value: &str) -> anyhow::Result<String> {
    let url = match Url::parse(value.trim()) {
        Ok(url) => url,
        Err(err) => bail!("{var}: {value:?} is not a URL ({err})"),
    };
    if !url.username().is_empty() || url.password().is_some() {
        bail!("{var}: a base URL must not carry a user name or password");
    }
    if url.query().is_some() || url.fragment().is_some() {
        bail!("{var}: a base URL must not have a query or fragment");
    }
    match url.scheme() {
        "https" if url.host().is_some() => {}
        "http" if is_loopback(&url) => {}
        "http" => bail!(
            "{var}: {value:?} refused: plain http is allowed only on loopback \
             addresses (127.0.0.0/8, [::1]), not names such as localhost; use https"
        ),
        _ => bail!("{var}: {value:?} refused: only https URLs (or http on loopback) are allowed"),
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// The URL's host is an IP address (not a name to resolve) on the loopback network.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        _ => false,
    }
}

/// How hard to try: per-request timeout, retries, and caps on waiting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    pub timeout: Duration,
    /// Extra attempts after the first, on 5xx, rate limits and network errors.
    pub retries: u32,
    /// The longest single wait; a rate limit that resets later than this is not
    /// waited for (the verdict is `unknown`).
    pub max_wait: Duration,
    /// First backoff step; doubles on each retry (capped by `max_wait`).
    pub backoff: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timeout: Duration::from_secs(10),
            retries: 3,
            max_wait: Duration::from_secs(60),
            backoff: Duration::from_millis(500),
            concurrency: 8,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Delete,
}

/// One request. Deliberately not `Debug`: `authorization` holds a token.
pub struct Request {
    pub method: Method,
    pub url: String,
    /// The whole `Authorization` header value, e.g. `token ghp_…`.
    pub authorization: Option<String>,
    pub json: Option<serde_json::Value>,
    /// `Accept` header (GitHub asks for `application/vnd.github+json`).
    pub accept: &'static str,
    /// Secrets that may appear in `url` (repo.anaconda.cloud) and must be scrubbed
    /// from any error text.
    pub scrub: Vec<String>,
}

impl Request {
    pub fn new(method: Method, url: String) -> Request {
        Request {
            method,
            url,
            authorization: None,
            json: None,
            accept: "application/json",
            scrub: Vec::new(),
        }
    }
}

/// What a server said, as plain data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// Header names lower-cased; the last value wins.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(|s| s.as_str())
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// GitHub's and most APIs' rate-limit answers: 429, or 403 with
    /// `X-RateLimit-Remaining: 0` or a `Retry-After` (GitHub's secondary limit).
    pub fn is_rate_limited(&self) -> bool {
        self.status == 429
            || (self.status == 403
                && (self.header("x-ratelimit-remaining").map(str::trim) == Some("0")
                    || self.header("retry-after").is_some()))
    }

    /// How long the server asks us to wait: `Retry-After` (seconds), else
    /// `X-RateLimit-Reset` (epoch seconds) minus now.
    pub fn requested_wait(&self, now_epoch: u64) -> Option<Duration> {
        if let Some(value) = self.header("retry-after") {
            if let Ok(secs) = value.trim().parse::<u64>() {
                return Some(Duration::from_secs(secs));
            }
            if let Some(when) = parse_http_date(value) {
                return Some(Duration::from_secs(when.saturating_sub(now_epoch)));
            }
        }
        let reset = self
            .header("x-ratelimit-reset")?
            .trim()
            .parse::<u64>()
            .ok()?;
        Some(Duration::from_secs(reset.saturating_sub(now_epoch)))
    }
}

/// Why no answer came back (after retries). Never holds the URL or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub detail: String,
}

/// The end of the retry loop: a final answer, or a failure.
pub type Outcome = Result<Answer, Failure>;

/// The blocking client: rustls, no redirects, our User-Agent, the policy's timeout.
pub fn client(policy: &Policy) -> anyhow::Result<Client> {
    Ok(Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(policy.timeout)
        .connect_timeout(policy.timeout)
        .build()?)
}

pub fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Sends `request`, retrying with exponential backoff on 5xx and network errors and
/// waiting as asked on rate limits (up to `policy.max_wait` per wait). The answer
/// returned may still be a 5xx or a rate limit when retries ran out.
pub fn send(client: &Client, request: &Request, policy: &Policy) -> Outcome {
    let mut attempt = 0u32;
    loop {
        let result = send_once(client, request);
        let wait = match &result {
            Ok(answer) if answer.is_rate_limited() => {
                match answer.requested_wait(now_epoch()) {
                    // A reset further away than the cap: waiting cannot help.
                    Some(wait) if wait > policy.max_wait => return result,
                    Some(wait) => wait,
                    None => backoff(policy, attempt),
                }
            }
            Ok(answer) if answer.status >= 500 => backoff(policy, attempt),
            Ok(_) => return result,
            Err(_) => backoff(policy, attempt),
        };
        if attempt >= policy.retries {
            return result;
        }
        attempt += 1;
        std::thread::sleep(wait);
    }
}

fn backoff(policy: &Policy, attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
    policy.backoff.saturating_mul(factor).min(policy.max_wait)
}

/// Longest body we keep from an answer: enough for any JSON these APIs return.
const MAX_BODY: usize = 256 << 10;

fn send_once(client: &Client, request: &Request) -> Outcome {
    let mut builder = match request.method {
        Method::Get => client.get(&request.url),
        Method::Head => client.head(&request.url),
        Method::Post => client.post(&request.url),
        Method::Delete => client.delete(&request.url),
    };
    builder = builder.header("Accept", request.accept);
    if let Some(auth) = &request.authorization {
        builder = builder.header("Authorization", auth);
    }
    if let Some(json) = &request.json {
        builder = builder
            .header("Content-Type", "application/json")
            .body(json.to_string());
    }
    let response = builder.send().map_err(|e| failure(e, request))?;
    let status = response.status().as_u16();
    let mut headers = BTreeMap::new();
    for (name, value) in response.headers() {
        headers.insert(
            name.as_str().to_ascii_lowercase(),
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        );
    }
    let mut body = Vec::new();
    use std::io::Read;
    let read = response.take(MAX_BODY as u64).read_to_end(&mut body);
    if let Err(err) = read {
        return Err(Failure {
            detail: scrub(&format!("reading the answer failed: {err}"), request),
        });
    }
    Ok(Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn failure(err: reqwest::Error, request: &Request) -> Failure {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "network error"
    };
    // `without_url`: reqwest's message would otherwise quote the URL. The causes
    // (connection refused, DNS, TLS) say what went wrong.
    let err = err.without_url();
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(inner) = cause {
        text.push_str(&format!(": {inner}"));
        cause = inner.source();
    }
    Failure {
        detail: scrub(&format!("{kind}: {text}"), request),
    }
}

/// Replaces any secret of the request that found its way into `text`.
fn scrub(text: &str, request: &Request) -> String {
    let mut text = text.to_string();
    for secret in &request.scrub {
        if !secret.is_empty() {
            text = text.replace(secret.as_str(), &crate::finding::redact(secret));
        }
    }
    if let Some(auth) = &request.authorization {
        text = text.replace(auth.as_str(), "[authorization]");
    }
    text
}

/// `2026-11-23T16:36:32Z` for a Unix time (clamped to the years jiff represents).
pub fn rfc3339(epoch_secs: i64) -> String {
    let at = jiff::Timestamp::from_second(epoch_secs).unwrap_or(if epoch_secs < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    });
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// An IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`, the form `Retry-After` uses) as Unix
/// seconds. The calendar is jiff's; only the `GMT` zone that RFC 9110 requires is taken.
pub fn parse_http_date(value: &str) -> Option<u64> {
    let value = value.trim();
    if !value.ends_with(" GMT") {
        return None;
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    u64::try_from(at.as_second()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_accept_https_and_loopback_http_only() {
        let v = "LEAKSCOPE_GITHUB_API_URL";
        assert_eq!(
            check_base_url(v, "https://ghe.example.com/api/v3/").unwrap(),
            "https://ghe.example.com/api/v3"
        );
        assert_eq!(
            check_base_url(v, "http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(check_base_url(v, "http://127.8.9.10:1").is_ok());
        assert!(check_base_url(v, "http://[::1]:9").is_ok());
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "http://192.168.1.1:80",
            "http://[::2]:9",
            "http://localhost.example.com",
            "http://localhost:9",
            "http://LOCALHOST",
            "http://127.0.0.1.nip.io",
            "http://[::ffff:127.0.0.1]:9",
            "ftp://127.0.0.1",
            "file:///etc/passwd",
            "https://user:pw@api.github.com",
            "not a url",
        ] {
            let err = check_base_url(v, bad).unwrap_err().to_string();
            assert!(err.starts_with(v), "{bad}: {err}");
        }
    }

    #[test]
    fn rate_limit_detection_and_wait() {
        let mut a = Answer {
            status: 403,
            ..Answer::default()
        };
        assert!(!a.is_rate_limited(), "a plain 403 is not a rate limit");
        a.headers.insert("x-ratelimit-remaining".into(), "0".into());
        a.headers.insert("x-ratelimit-reset".into(), "1000".into());
        assert!(a.is_rate_limited());
        assert_eq!(a.requested_wait(990), Some(Duration::from_secs(10)));
        assert_eq!(a.requested_wait(2000), Some(Duration::ZERO));
        a.headers.insert("retry-after".into(), "3".into());
        assert_eq!(a.requested_wait(990), Some(Duration::from_secs(3)));
        let b = Answer {
            status: 429,
            ..Answer::default()
        };
        assert!(b.is_rate_limited());
        assert_eq!(b.requested_wait(0), None);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = Policy {
            backoff: Duration::from_millis(100),
            max_wait: Duration::from_millis(350),
            ..Policy::default()
        };
        assert_eq!(backoff(&p, 0), Duration::from_millis(100));
        assert_eq!(backoff(&p, 1), Duration::from_millis(200));
        assert_eq!(backoff(&p, 2), Duration::from_millis(350));
        assert_eq!(backoff(&p, 40), Duration::from_millis(350));
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
        assert_eq!(
            parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(1_445_412_480)
        );
        assert_eq!(
            parse_http_date("Thu, 31 Dec 2026 23:59:59 GMT"),
            Some(1_798_761_599)
        );
        assert_eq!(parse_http_date("soon"), None);
        // RFC 9110 dates are GMT; a numeric zone or a day that does not exist is no date.
        assert_eq!(parse_http_date("Wed, 21 Oct 2015 07:28:00 +0000"), None);
        assert_eq!(parse_http_date("Sun, 29 Feb 2015 07:28:00 GMT"), None);
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT"),
            Some(1_709_164_800)
        );
        assert_eq!(rfc3339(i64::MAX).len(), 20);
        let a = Answer {
            status: 429,
            headers: [(
                "retry-after".to_string(),
                "Wed, 21 Oct 2015 07:28:10 GMT".to_string(),
            )]
            .into_iter()
            .collect(),
            body: String::new(),
        };
        assert_eq!(
            a.requested_wait(1_445_412_480),
            Some(Duration::from_secs(10))
        );
    }
}
