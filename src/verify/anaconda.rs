//! Anaconda: anaconda.org tokens, repo.anaconda.cloud organisation tokens and
//! anaconda.com API keys, each checked against its own service.
//!
//! - anaconda.org (`api.anaconda.org`, header `Authorization: token <T>`): `GET /user`
//!   200 is live (owner `login`); then `GET /authentication` names the token
//!   (`application`, `id`) and `GET /authentications` gives its `scopes` and `expires`.
//!   A 401 is either a dead token or a live one without the `api:read` scope: the second
//!   names the missing scope in its error, and is `live` with scopes unknown.
//! - repo.anaconda.cloud: `HEAD /t/<T>/repo/main/noarch/repodata.json`, 200 is live (as
//!   conda-token validates); the answer names no owner or expiry.
//! - anaconda.com API key (a JWT): `GET /api/account` with `Bearer <key>`; 200 is live
//!   (owner `user.email`), 401/403 is rejected; the expiry is the JWT's `exp`.

use super::http::{rfc3339, Answer, Method, Request};
use super::{error_message, unexpected, Verdict, VerdictStatus, Verifier};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

const ORG: &str = "anaconda.org";
const CLOUD: &str = "repo.anaconda.cloud";
const COM: &str = "anaconda.com";

fn org_request(verifier: &Verifier, method: Method, path: &str, secret: &str) -> Request {
    let mut request = Request::new(method, format!("{}{path}", verifier.endpoints.anaconda_api));
    request.authorization = Some(format!("token {secret}"));
    request
}

pub fn verify_org(verifier: &Verifier, secret: &str) -> Verdict {
    let outcome = verifier.send(&org_request(verifier, Method::Get, "/user", secret));
    let answer = match &outcome {
        Ok(answer) => answer,
        Err(_) => return unexpected(ORG, &outcome),
    };
    let mut v = org_user_verdict(answer);
    if v.is_live() && answer.status == 200 {
        // Name, scopes and expiry: best effort, a failure here leaves them unset.
        let current = verifier
            .send(&org_request(
                verifier,
                Method::Get,
                "/authentication",
                secret,
            ))
            .ok()
            .filter(|a| a.status == 200)
            .and_then(|a| a.json());
        let list = verifier
            .send(&org_request(
                verifier,
                Method::Get,
                "/authentications",
                secret,
            ))
            .ok()
            .filter(|a| a.status == 200)
            .and_then(|a| a.json());
        add_token_info(&mut v, current.as_ref(), list.as_ref());
    }
    v
}

/// The verdict for an answer of anaconda.org `GET /user`.
pub fn org_user_verdict(answer: &Answer) -> Verdict {
    match answer.status {
        200 => {
            let mut v = Verdict::new(VerdictStatus::Live).with_status(200);
            v.token_type = Some("anaconda.org token".into());
            v.owner = answer
                .json()
                .and_then(|j| j.get("login").and_then(|l| l.as_str()).map(String::from));
            v
        }
        401 => {
            let message = error_message(answer).unwrap_or_else(|| answer.body.clone());
            if message.to_ascii_lowercase().contains("scope") {
                // Authenticated, but not allowed to read the account: a live token.
                let mut v = Verdict::new(VerdictStatus::Live).with_status(401);
                v.token_type = Some("anaconda.org token".into());
                v.detail = Some(format!(
                    "valid, but without the scope to read the account, so its scopes are unknown \
                     (anaconda.org: {})",
                    message.chars().take(200).collect::<String>()
                ));
                v
            } else {
                Verdict::new(VerdictStatus::Invalid)
                    .with_status(401)
                    .with_detail(format!("anaconda.org: {}", short(&message, "rejected")))
            }
        }
        _ => unexpected(ORG, &Ok(answer.clone())),
    }
}

/// Fills name, scopes and expiry from `/authentication` (this token) and
/// `/authentications` (all the owner's tokens; ours has the same `id`).
pub fn add_token_info(
    v: &mut Verdict,
    current: Option<&serde_json::Value>,
    list: Option<&serde_json::Value>,
) {
    let Some(current) = current else {
        return;
    };
    v.name = current
        .get("application")
        .and_then(|a| a.as_str())
        .map(String::from);
    let id = current.get("id").cloned();
    let mine = list.and_then(|l| l.as_array()).and_then(|items| {
        items
            .iter()
            .find(|item| id.is_some() && item.get("id") == id.as_ref())
    });
    let source = mine.unwrap_or(current);
    if let Some(scopes) = source.get("scopes") {
        v.scopes = match scopes {
            serde_json::Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect(),
            ),
            serde_json::Value::String(s) => Some(s.split_whitespace().map(String::from).collect()),
            _ => None,
        };
    }
    match source.get("expires") {
        Some(serde_json::Value::String(when)) => v.expires_at = Some(when.clone()),
        Some(serde_json::Value::Null) => v.detail = Some("never expires".into()),
        _ => {}
    }
}

pub fn verify_repo(verifier: &Verifier, secret: &str) -> Verdict {
    let token = utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string();
    let mut request = Request::new(
        Method::Head,
        format!(
            "{}/t/{token}/repo/main/noarch/repodata.json",
            verifier.endpoints.anaconda_cloud
        ),
    );
    request.scrub = vec![secret.to_string(), token];
    let outcome = verifier.send(&request);
    match &outcome {
        Ok(answer) => repo_verdict(answer),
        Err(_) => unexpected(CLOUD, &outcome),
    }
}

/// The verdict for a `HEAD` of the token's `repodata.json`.
pub fn repo_verdict(answer: &Answer) -> Verdict {
    match answer.status {
        200 => {
            let mut v = Verdict::new(VerdictStatus::Live).with_status(200);
            v.token_type = Some("repo.anaconda.cloud organisation token".into());
            v.detail = Some("repo.anaconda.cloud names no owner or expiry".into());
            v
        }
        401 | 403 => Verdict::new(VerdictStatus::Invalid)
            .with_status(answer.status)
            .with_detail(format!(
                "repo.anaconda.cloud refused the token (HTTP {})",
                answer.status
            )),
        _ => unexpected(CLOUD, &Ok(answer.clone())),
    }
}

pub fn verify_api_key(verifier: &Verifier, secret: &str) -> Verdict {
    let mut request = Request::new(
        Method::Get,
        format!("{}/api/account", verifier.endpoints.anaconda_com),
    );
    request.authorization = Some(format!("Bearer {secret}"));
    let outcome = verifier.send(&request);
    match &outcome {
        Ok(answer) => api_key_verdict(answer, secret),
        Err(_) => unexpected(COM, &outcome),
    }
}

/// The verdict for anaconda.com `GET /api/account`.
pub fn api_key_verdict(answer: &Answer, secret: &str) -> Verdict {
    if answer.is_rate_limited() {
        return unexpected(COM, &Ok(answer.clone()));
    }
    match answer.status {
        200 => {
            let mut v = Verdict::new(VerdictStatus::Live).with_status(200);
            v.token_type = Some("anaconda.com API key".into());
            if let Some(body) = answer.json() {
                v.owner = body
                    .pointer("/user/email")
                    .or_else(|| body.pointer("/user/username"))
                    .and_then(|e| e.as_str())
                    .map(String::from);
            }
            if let Some(claims) = crate::validators::jwt_claims(secret) {
                v.expires_at = claims.get("exp").and_then(|e| e.as_i64()).map(rfc3339);
                v.scopes = claims
                    .get("scopes")
                    .and_then(|s| s.as_array())
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|s| s.as_str().map(String::from))
                            .collect()
                    });
            }
            v
        }
        401 | 403 => {
            let message = error_message(answer).unwrap_or_default();
            Verdict::new(VerdictStatus::Invalid)
                .with_status(answer.status)
                .with_detail(format!(
                    "anaconda.com: {}",
                    short(&message, "auth_required")
                ))
        }
        _ => unexpected(COM, &Ok(answer.clone())),
    }
}

/// anaconda-auth's keyring value is base64 of JSON holding `api_key`: check that key.
pub fn verify_keyring(verifier: &Verifier, secret: &str) -> Verdict {
    if let Some(domain) = keyring_domain(secret).filter(|d| !is_anaconda_com(d)) {
        return Verdict::unknown(format!(
            "the keyring entry is for {domain}, not anaconda.com; nothing was sent"
        ));
    }
    match keyring_api_key(secret) {
        Some(key) => {
            let mut v = verify_api_key(verifier, &key);
            let note =
                "checked the api_key inside the keyring entry (its repo tokens were not checked)";
            v.detail = Some(match v.detail.take() {
                Some(d) => format!("{d}; {note}"),
                None => note.to_string(),
            });
            v
        }
        None => Verdict::unknown("the keyring entry holds no readable api_key; nothing was sent"),
    }
}

/// The `api_key` inside an anaconda-auth keyring value, if it is there.
pub fn keyring_api_key(blob: &str) -> Option<String> {
    keyring_field(blob, "api_key")
}

/// The site a keyring value belongs to (`domain`), if it says.
pub fn keyring_domain(blob: &str) -> Option<String> {
    keyring_field(blob, "domain")
}

fn keyring_field(blob: &str, field: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(blob.trim())
        .ok()?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let value = json.get(field)?.as_str()?;
    (!value.is_empty()).then(|| value.to_string())
}

/// `anaconda.com` or one of its subdomains.
fn is_anaconda_com(domain: &str) -> bool {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    domain == "anaconda.com" || domain.ends_with(".anaconda.com")
}

fn short(message: &str, fallback: &str) -> String {
    let message = message.trim();
    if message.is_empty() {
        fallback.to_string()
    } else {
        message.chars().take(200).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.into(),
            ..Answer::default()
        }
    }

    #[test]
    fn org_answers() {
        let v = org_user_verdict(&answer(200, r#"{"login":"example-user"}"#));
        assert!(v.is_live());
        assert_eq!(v.owner.as_deref(), Some("example-user"));
        let dead = org_user_verdict(&answer(401, r#"{"error":"Invalid token"}"#));
        assert_eq!(dead.status, VerdictStatus::Invalid);
        // The answer anaconda.org gives a live token that lacks api:read.
        let scoped = org_user_verdict(&answer(
            401,
            r#"{"error":"Authentication token does not have the sufficent scope to perform this action expected: api:read"}"#,
        ));
        assert_eq!(scoped.status, VerdictStatus::Live);
        assert_eq!(scoped.scopes, None);
        assert!(scoped.detail.unwrap().contains("scopes are unknown"));
        assert_eq!(
            org_user_verdict(&answer(500, "")).status,
            VerdictStatus::Unknown
        );
    }

    #[test]
    fn org_token_info_from_authentications() {
        let mut v = Verdict::new(VerdictStatus::Live);
        let current = json!({"id": "abc", "application": "ci-upload"});
        let list = json!([
            {"id": "other", "scopes": ["all"], "expires": null},
            {"id": "abc", "scopes": ["api:read", "api:write"], "expires": "2027-01-01T00:00:00+00:00"}
        ]);
        add_token_info(&mut v, Some(&current), Some(&list));
        assert_eq!(v.name.as_deref(), Some("ci-upload"));
        assert_eq!(
            v.scopes,
            Some(vec!["api:read".to_string(), "api:write".to_string()])
        );
        assert_eq!(v.expires_at.as_deref(), Some("2027-01-01T00:00:00+00:00"));
    }

    #[test]
    fn repo_and_api_key_answers() {
        assert!(repo_verdict(&answer(200, "")).is_live());
        assert_eq!(
            repo_verdict(&answer(403, "")).status,
            VerdictStatus::Invalid
        );
        assert_eq!(
            repo_verdict(&answer(404, "")).status,
            VerdictStatus::Unknown
        );
        assert_eq!(
            api_key_verdict(&answer(401, r#"{"error":{"code":"auth_required"}}"#), "x").status,
            VerdictStatus::Invalid
        );
    }

    #[test]
    fn keyring_blob_yields_api_key() {
        use base64::Engine;
        let blob = base64::engine::general_purpose::STANDARD
            .encode(br#"{"domain":"anaconda.com","api_key":"eyJ.made.up","repo_tokens":[]}"#);
        assert_eq!(keyring_api_key(&blob).as_deref(), Some("eyJ.made.up"));
        assert_eq!(keyring_api_key("eyJub3QganNvbg"), None);
        assert_eq!(keyring_domain(&blob).as_deref(), Some("anaconda.com"));
    }

    #[test]
    fn only_anaconda_com_keyring_entries_are_sent() {
        assert!(is_anaconda_com("anaconda.com"));
        assert!(is_anaconda_com("Auth.Anaconda.com."));
        assert!(!is_anaconda_com("anaconda.example.internal"));
        assert!(!is_anaconda_com("notanaconda.com"));
    }
}
