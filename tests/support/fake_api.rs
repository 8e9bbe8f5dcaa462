//! A tiny HTTP/1.1 server on 127.0.0.1 that plays a provider API in tests: it records
//! every request (method, path, headers, body) and answers with whatever the test's
//! handler returns. Nothing here reaches the internet.
//!
//! Also: generators for well-formed, never-issued tokens.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, e.g. `/user` or `/installation/repositories?per_page=1`.
    pub path: String,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }

    /// The whole request as text, to check that a secret is (not) in it anywhere.
    pub fn raw(&self) -> String {
        let mut s = format!("{} {}\n", self.method, self.path);
        for (n, v) in &self.headers {
            s.push_str(&format!("{n}: {v}\n"));
        }
        s.push_str(&self.body);
        s
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Wait this long before answering (to test timeouts).
    pub delay: Duration,
}

impl Reply {
    pub fn new(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

type Handler = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

/// A running fake API. The handler gets the request and how many earlier requests had
/// the same method and path (0 for the first), for "500, then 200" scripts.
pub struct FakeApi {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeApi {
    pub fn start(handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let seen = seen.clone();
                let handler = handler.clone();
                std::thread::spawn(move || serve(stream, &seen, &*handler));
            }
        });
        FakeApi { url, requests }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Every request as text, joined: for "the secret never reached this server".
    pub fn all_raw(&self) -> String {
        self.requests()
            .iter()
            .map(Recorded::raw)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Recorded>>, handler: &Handler) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    let request = Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let nth = {
        let mut seen = seen.lock().unwrap();
        let nth = seen
            .iter()
            .filter(|r| r.method == request.method && r.path == request.path)
            .count();
        seen.push(request.clone());
        nth
    };
    let reply = handler(&request, nth);
    std::thread::sleep(reply.delay);
    let mut out = format!("HTTP/1.1 {} Fake\r\n", reply.status);
    for (n, v) in &reply.headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    let body = if request.method == "HEAD" {
        ""
    } else {
        reply.body.as_str()
    };
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        if request.method == "HEAD" {
            reply.body.len()
        } else {
            body.len()
        }
    ));
    let _ = writer.write_all(out.as_bytes());
    let _ = writer.flush();
}

/// Deterministic pseudo-random alphanumerics (xorshift), so tokens differ per seed.
pub fn alnum(seed: u64, n: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % 62) as usize] as char
        })
        .collect()
}

/// A GitHub token of the classic form (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`): right
/// prefix, length and CRC32 checksum, but made up here and never issued by GitHub.
pub fn github_token(prefix: &str, seed: u64) -> String {
    let random = alnum(seed, 30);
    let checksum = leakscope::validators::github_checksum(&random);
    format!("{prefix}{random}{checksum}")
}

/// An anaconda.org-shaped token (2 chars, `-`, UUID): made up, never issued.
pub fn anaconda_org_token(seed: u64) -> String {
    let hex: String = alnum(seed, 64)
        .bytes()
        .map(|b| char::from_digit(u32::from(b) % 16, 16).unwrap())
        .take(32)
        .collect();
    format!(
        "xy-{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A repo.anaconda.cloud-shaped token (48 alphanumerics): made up, never issued.
pub fn anaconda_repo_token(seed: u64) -> String {
    alnum(seed, 48)
}

/// An anaconda.com-shaped API key: a JWT with made-up claims and random signature
/// bytes, never issued.
pub fn anaconda_api_key(exp: i64) -> String {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let header = b64(r#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = b64(&format!(
        r#"{{"sub":"made-up-subject","exp":{exp},"scopes":["cloud:read"],"note":"leakscope test, never issued"}}"#
    ));
    format!("{header}.{claims}.{}", alnum(7, 86))
}
