//! GitHub: which endpoint each token form is checked against, and what the answers mean.
//!
//! - `GET /user` for `ghp_`, `gho_`, `ghu_`, `github_pat_` and legacy 40-hex tokens:
//!   200 is live (`login` in the body, scopes in `X-OAuth-Scopes`, expiry in
//!   `github-authentication-token-expiration`), 401 is GitHub rejecting the token.
//! - `GET /installation/repositories` for `ghs_` installation tokens, which cannot call
//!   `/user`.
//! - 403 with `X-RateLimit-Remaining: 0`, or 429, is a rate limit: `unknown`.

use super::http::{Answer, Method, Request};
use super::{unexpected, Verdict, VerdictStatus, Verifier};

const PROVIDER: &str = "GitHub";
const MEDIA_TYPE: &str = "application/vnd.github+json";

/// What kind of GitHub token a secret is, from its prefix.
pub fn token_type(secret: &str) -> &'static str {
    match secret.get(..4) {
        Some("ghp_") => "classic personal access token",
        Some("gho_") => "OAuth app token",
        Some("ghu_") => "GitHub App user-to-server token",
        Some("ghs_") => "GitHub App installation token",
        Some("ghr_") => "GitHub App refresh token",
        _ if secret.starts_with("github_pat_") => "fine-grained personal access token",
        _ => "legacy token (pre-2021 format)",
    }
}

fn request(verifier: &Verifier, method: Method, path: &str, secret: &str) -> Request {
    let mut request = Request::new(method, format!("{}{path}", verifier.endpoints.github));
    request.authorization = Some(format!("token {secret}"));
    request.accept = MEDIA_TYPE;
    request
}

pub fn verify_user(verifier: &Verifier, secret: &str) -> Verdict {
    let outcome = verifier.send(&request(verifier, Method::Get, "/user", secret));
    match &outcome {
        Ok(answer) => user_verdict(answer, secret),
        Err(_) => unexpected(PROVIDER, &outcome),
    }
}

/// The verdict for an answer of `GET /user`.
pub fn user_verdict(answer: &Answer, secret: &str) -> Verdict {
    match answer.status {
        200 => {
            let mut v = live(answer, secret);
            v.owner = answer
                .json()
                .and_then(|j| j.get("login").and_then(|l| l.as_str()).map(String::from));
            if secret.starts_with("github_pat_") && v.scopes.is_none() {
                v.detail = Some(join_detail(
                    v.detail.take(),
                    "fine-grained: permissions are set per repository",
                ));
            }
            v
        }
        401 => rejected(answer),
        _ => unexpected(PROVIDER, &Ok(answer.clone())),
    }
}

pub fn verify_installation(verifier: &Verifier, secret: &str) -> Verdict {
    let outcome = verifier.send(&request(
        verifier,
        Method::Get,
        "/installation/repositories?per_page=1",
        secret,
    ));
    match &outcome {
        Ok(answer) => installation_verdict(answer, secret),
        Err(_) => unexpected(PROVIDER, &outcome),
    }
}

/// The verdict for an answer of `GET /installation/repositories`.
pub fn installation_verdict(answer: &Answer, secret: &str) -> Verdict {
    match answer.status {
        200 => {
            let mut v = live(answer, secret);
            if let Some(body) = answer.json() {
                v.owner = body
                    .pointer("/repositories/0/owner/login")
                    .and_then(|l| l.as_str())
                    .map(String::from);
                if let Some(n) = body.get("total_count").and_then(|n| n.as_u64()) {
                    v.detail = Some(join_detail(
                        v.detail.take(),
                        &format!("reaches {n} repositories"),
                    ));
                }
            }
            v
        }
        401 => rejected(answer),
        _ => unexpected(PROVIDER, &Ok(answer.clone())),
    }
}

/// The parts of a 200 that every endpoint shares: scopes and expiry headers.
fn live(answer: &Answer, secret: &str) -> Verdict {
    let mut v = Verdict::new(VerdictStatus::Live).with_status(answer.status);
    v.token_type = Some(token_type(secret).to_string());
    v.scopes = answer.header("x-oauth-scopes").map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    });
    match answer.header("github-authentication-token-expiration") {
        Some(expiry) => v.expires_at = Some(expiry.trim().to_string()),
        None => v.detail = Some("never expires".into()),
    }
    v
}

fn rejected(answer: &Answer) -> Verdict {
    let message = super::error_message(answer).unwrap_or_else(|| "rejected".into());
    Verdict::new(VerdictStatus::Invalid)
        .with_status(answer.status)
        .with_detail(format!("GitHub: {message}"))
}

fn join_detail(old: Option<String>, new: &str) -> String {
    match old {
        Some(old) => format!("{old}; {new}"),
        None => new.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
        Answer {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
                .collect(),
            body: body.into(),
        }
    }

    #[test]
    fn user_200_is_live_with_owner_scopes_expiry() {
        let a = answer(
            200,
            &[
                ("X-OAuth-Scopes", "repo, gist, read:org"),
                (
                    "github-authentication-token-expiration",
                    "2026-12-31 00:00:00 UTC",
                ),
            ],
            r#"{"login":"octo-example","id":1,"type":"User"}"#,
        );
        let v = user_verdict(&a, "ghp_made_up");
        assert_eq!(v.status, VerdictStatus::Live);
        assert_eq!(v.owner.as_deref(), Some("octo-example"));
        assert_eq!(
            v.scopes,
            Some(vec!["repo".into(), "gist".into(), "read:org".into()])
        );
        assert_eq!(v.expires_at.as_deref(), Some("2026-12-31 00:00:00 UTC"));
        assert_eq!(
            v.token_type.as_deref(),
            Some("classic personal access token")
        );
    }

    #[test]
    fn fine_grained_has_no_scope_header() {
        let a = answer(200, &[], r#"{"login":"octo-example"}"#);
        let v = user_verdict(&a, "github_pat_made_up");
        assert!(v.is_live());
        assert_eq!(v.scopes, None);
        let detail = v.detail.unwrap();
        assert!(detail.contains("never expires") && detail.contains("fine-grained"));
    }

    #[test]
    fn empty_scope_header_means_no_scopes() {
        let a = answer(200, &[("X-OAuth-Scopes", "")], r#"{"login":"o"}"#);
        assert_eq!(user_verdict(&a, "ghp_x").scopes, Some(vec![]));
    }

    #[test]
    fn rejections_and_limits() {
        let bad = answer(401, &[], r#"{"message":"Bad credentials","status":"401"}"#);
        let v = user_verdict(&bad, "ghp_x");
        assert_eq!(v.status, VerdictStatus::Invalid);
        assert!(v.detail.unwrap().contains("Bad credentials"));
        let limited = answer(
            403,
            &[("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "1")],
            r#"{"message":"API rate limit exceeded"}"#,
        );
        assert_eq!(
            user_verdict(&limited, "ghp_x").status,
            VerdictStatus::Unknown
        );
        let forbidden = answer(403, &[], r#"{"message":"Resource not accessible"}"#);
        assert_eq!(
            user_verdict(&forbidden, "ghp_x").status,
            VerdictStatus::Unknown
        );
    }

    #[test]
    fn installation_200_counts_repositories() {
        let a = answer(
            200,
            &[],
            r#"{"total_count":3,"repositories":[{"owner":{"login":"acme"}}]}"#,
        );
        let v = installation_verdict(&a, "ghs_x");
        assert!(v.is_live());
        assert_eq!(v.owner.as_deref(), Some("acme"));
        assert!(v.detail.unwrap().contains("reaches 3 repositories"));
    }
}
