//! Revoke: the provider calls that kill a token, and what their answers mean.
//!
//! - GitHub `ghp_`, `gho_`, `ghu_`, `ghr_`, `github_pat_`, legacy hex:
//!   `POST /credentials/revoke` with `{"credentials": [...]}`, sent *without*
//!   authentication (GitHub refuses an authenticated call), up to 1,000 per request;
//!   202 means accepted, not done.
//! - GitHub `ghs_` (both forms): `DELETE /installation/token` authenticated with the
//!   token itself; 204 = revoked.
//! - anaconda.org: `DELETE /authentications` authenticated with the token itself (what
//!   `anaconda logout` does); 201 per anaconda-client, 200/204 accepted too.
//! - repo.anaconda.cloud tokens and anaconda.com API keys have no revocation call.
//!
//! Whatever the answer, the caller verifies again: only a provider that then rejects the
//! token makes the result `revoked`.

use super::http::{Method, Outcome, Request};
use super::{error_message, Check, Verifier};
use serde::Serialize;

/// GitHub takes at most this many credentials per revocation request.
pub const GITHUB_BATCH: usize = 1000;

/// How a token of a given check is revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeMethod {
    GithubCredentials,
    GithubInstallation,
    AnacondaOrg,
    /// No API: the text says what the user must do instead.
    Manual(&'static str),
}

pub fn method_for(check: Check) -> RevokeMethod {
    match check {
        Check::GithubUser | Check::GithubRefresh => RevokeMethod::GithubCredentials,
        Check::GithubInstallation => RevokeMethod::GithubInstallation,
        Check::AnacondaOrg => RevokeMethod::AnacondaOrg,
        Check::AnacondaRepo => RevokeMethod::Manual(
            "repo.anaconda.cloud has no revocation call: reissue the organisation token at \
             anaconda.com (the old one then stops working)",
        ),
        Check::AnacondaApiKey | Check::AnacondaKeyring => RevokeMethod::Manual(
            "anaconda.com API keys have no revocation call: revoke the key in the anaconda.com \
             account settings",
        ),
        Check::Unsupported => RevokeMethod::Manual("no revocation API known for this provider"),
        Check::ForeignHost => RevokeMethod::Manual(
            "issued by another server: revoke it there (the channel server's admin, the \
             GitHub Enterprise Server, the on-prem Anaconda site)",
        ),
    }
}

impl RevokeMethod {
    /// The request line for reports and the audit log (never the token).
    pub fn describe(self) -> &'static str {
        match self {
            RevokeMethod::GithubCredentials => "POST api.github.com/credentials/revoke",
            RevokeMethod::GithubInstallation => "DELETE api.github.com/installation/token",
            RevokeMethod::AnacondaOrg => "DELETE api.anaconda.org/authentications",
            RevokeMethod::Manual(_) => "none",
        }
    }
}

/// What one revocation request got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// The provider took the request (202 / 204 / 201 ...).
    pub accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    pub detail: String,
}

/// Asks GitHub to revoke `tokens` (one request; at most [`GITHUB_BATCH`]).
pub fn github_credentials(verifier: &Verifier, tokens: &[&str]) -> Attempt {
    let mut request = Request::new(
        Method::Post,
        format!("{}/credentials/revoke", verifier.endpoints.github),
    );
    request.accept = "application/vnd.github+json";
    request.json = Some(serde_json::json!({ "credentials": tokens }));
    request.scrub = tokens.iter().map(|t| t.to_string()).collect();
    attempt("GitHub", &verifier.send(&request), &[202])
}

pub fn github_installation(verifier: &Verifier, token: &str) -> Attempt {
    let mut request = Request::new(
        Method::Delete,
        format!("{}/installation/token", verifier.endpoints.github),
    );
    request.accept = "application/vnd.github+json";
    request.authorization = Some(format!("token {token}"));
    attempt("GitHub", &verifier.send(&request), &[204])
}

pub fn anaconda_org(verifier: &Verifier, token: &str) -> Attempt {
    let mut request = Request::new(
        Method::Delete,
        format!("{}/authentications", verifier.endpoints.anaconda_api),
    );
    request.authorization = Some(format!("token {token}"));
    attempt("anaconda.org", &verifier.send(&request), &[200, 201, 204])
}

/// Maps an answer to an [`Attempt`]: `ok` statuses are accepted, anything else failed
/// with the provider's message.
pub fn attempt(provider: &str, outcome: &Outcome, ok: &[u16]) -> Attempt {
    match outcome {
        Err(failure) => Attempt {
            accepted: false,
            http_status: None,
            detail: format!("{provider}: {}", failure.detail),
        },
        Ok(answer) if ok.contains(&answer.status) => Attempt {
            accepted: true,
            http_status: Some(answer.status),
            detail: format!(
                "{provider} accepted the revocation (HTTP {})",
                answer.status
            ),
        },
        Ok(answer) => {
            let message = error_message(answer)
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            let limited = if answer.is_rate_limited() {
                " (rate limited)"
            } else {
                ""
            };
            Attempt {
                accepted: false,
                http_status: Some(answer.status),
                detail: format!(
                    "{provider} refused the revocation: HTTP {}{limited}{message}",
                    answer.status
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::http::Answer;
    use super::*;

    #[test]
    fn every_check_has_a_method() {
        assert_eq!(
            method_for(Check::GithubUser),
            RevokeMethod::GithubCredentials
        );
        assert_eq!(
            method_for(Check::GithubInstallation),
            RevokeMethod::GithubInstallation
        );
        assert_eq!(method_for(Check::AnacondaOrg), RevokeMethod::AnacondaOrg);
        assert!(matches!(
            method_for(Check::AnacondaRepo),
            RevokeMethod::Manual(_)
        ));
    }

    #[test]
    fn attempts() {
        let ok = Answer {
            status: 202,
            ..Answer::default()
        };
        assert!(attempt("GitHub", &Ok(ok), &[202]).accepted);
        let refused = Answer {
            status: 422,
            body: r#"{"message":"Validation Failed"}"#.into(),
            ..Answer::default()
        };
        let a = attempt("GitHub", &Ok(refused), &[202]);
        assert!(!a.accepted);
        assert_eq!(a.http_status, Some(422));
        assert!(a.detail.contains("Validation Failed"));
    }
}
