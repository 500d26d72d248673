//! Registry credentials and the two login flows the OCI Distribution Spec's registries use.
//!
//! - **Bearer tokens** (GHCR, ECR Public, Docker Hub): a request without a token answers 401
//!   with `WWW-Authenticate: Bearer realm="…",service="…",scope="…"`; the client asks the
//!   realm for a token (`GET realm?service=…&scope=repository:<name>:pull[,push]`, anonymous
//!   or with basic credentials) and repeats the request with `Authorization: Bearer <token>`
//!   (the Docker "token authentication specification", which the Distribution Spec defers to).
//! - **Basic** (ECR, htpasswd registries): the 401 says `WWW-Authenticate: Basic realm="…"`
//!   and every request carries `Authorization: Basic`. ECR's password comes from its
//!   `GetAuthorizationToken` API: a base64 `AWS:<password>` valid for 12 hours, for the
//!   registry at `proxyEndpoint` ([`ecr_login`]).
//!
//! Credentials never appear in `Debug` output or error messages.

use std::fmt;
use std::time::SystemTime;

use base64::Engine as _;

use super::{ImageError, Registry};

/// How to log in to a registry.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// No login: public images (the token flow still runs, anonymously).
    #[default]
    Anonymous,
    /// A user name and password: sent as HTTP basic auth, or to the token realm.
    Basic { username: String, password: String },
}

impl Credentials {
    pub fn basic(username: &str, password: &str) -> Credentials {
        Credentials::Basic {
            username: username.to_string(),
            password: password.to_string(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<hidden>")
                .finish(),
        }
    }
}

/// A login to the account's private ECR registry.
#[derive(Debug, Clone)]
pub struct EcrLogin {
    /// The registry the token is for (`https://<account>.dkr.ecr.<region>.amazonaws.com`).
    pub registry: Registry,
    /// `AWS` and the token's password, for HTTP basic auth.
    pub credentials: Credentials,
    /// When the token stops working (12 hours after it was issued).
    pub expires_at: Option<SystemTime>,
}

/// Turns ECR's `GetAuthorizationToken` answer into basic credentials for its registry. The
/// first authorization entry is the caller's own registry (the one Pier asked for).
pub fn ecr_login(
    output: &aws_sdk_ecr::operation::get_authorization_token::GetAuthorizationTokenOutput,
) -> Result<EcrLogin, ImageError> {
    let bad = |detail: &str| ImageError::EcrLogin {
        detail: detail.to_string(),
    };
    let data = output
        .authorization_data()
        .first()
        .ok_or_else(|| bad("the answer has no authorization data"))?;
    let token = data
        .authorization_token()
        .ok_or_else(|| bad("the answer has no authorization token"))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| bad("the authorization token is not base64"))?;
    let decoded =
        String::from_utf8(decoded).map_err(|_| bad("the authorization token is not text"))?;
    let Some((username, password)) = decoded.split_once(':') else {
        return Err(bad("the authorization token is not `user:password`"));
    };
    if username.is_empty() || password.is_empty() {
        return Err(bad("the authorization token has an empty user or password"));
    }
    let endpoint = data
        .proxy_endpoint()
        .ok_or_else(|| bad("the answer names no registry (proxyEndpoint)"))?;
    let registry =
        Registry::parse(endpoint).map_err(|_| bad("the registry address is not a URL"))?;
    let expires_at = data
        .expires_at()
        .and_then(|at| SystemTime::try_from(*at).ok());
    Ok(EcrLogin {
        registry,
        credentials: Credentials::basic(username, password),
        expires_at,
    })
}

/// Asks ECR for a login to the account's registry ([`ecr_login`] on the answer).
pub async fn ecr_login_from(ecr: &aws_sdk_ecr::Client) -> Result<EcrLogin, ImageError> {
    let output = ecr
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| ImageError::EcrLogin {
            detail: aws_sdk_ecr::error::DisplayErrorContext(&e).to_string(),
        })?;
    ecr_login(&output)
}

/// A `WWW-Authenticate` challenge (RFC 9110 §11.6.1), the first one in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    Other(String),
}

/// Parses `Scheme k=v, k="quoted, with \" escapes", …`. Returns `None` for an empty header
/// or a bearer challenge with no realm.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, mut rest) = match header.find(char::is_whitespace) {
        Some(at) => (&header[..at], header[at..].trim_start()),
        None => (header, ""),
    };
    if scheme.is_empty() {
        return None;
    }
    let mut params: Vec<(String, String)> = Vec::new();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_ascii_lowercase();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((at, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            out.push(escaped);
                        }
                    }
                    '"' => {
                        end = at + 1;
                        break;
                    }
                    c => out.push(c),
                }
            }
            value = out;
            rest = &quoted[end.min(quoted.len())..];
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        params.push((key, value));
        rest = rest.trim_start().trim_start_matches(',').trim_start();
    }
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    if scheme.eq_ignore_ascii_case("basic") {
        Some(Challenge::Basic)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some(Challenge::Bearer {
            realm: param("realm")?,
            service: param("service"),
            scope: param("scope"),
        })
    } else {
        Some(Challenge::Other(scheme.to_string()))
    }
}

/// A token endpoint's answer: `token` (Docker) or `access_token` (OAuth2); either will do.
#[derive(serde::Deserialize)]
pub(crate) struct TokenAnswer {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
}

impl TokenAnswer {
    pub fn into_token(self) -> Option<String> {
        self.token
            .filter(|t| !t.is_empty())
            .or(self.access_token.filter(|t| !t.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_parse_with_quotes_and_commas() {
        let header = r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:pier-dev/pier-proxy:pull""#;
        assert_eq!(
            parse_challenge(header),
            Some(Challenge::Bearer {
                realm: "https://ghcr.io/token".into(),
                service: Some("ghcr.io".into()),
                scope: Some("repository:pier-dev/pier-proxy:pull".into()),
            })
        );
        let spaced = r#"bearer  realm = "https://auth.example/t?a=1,b=2" , scope="repository:a:pull,push", service=reg"#;
        assert_eq!(
            parse_challenge(spaced),
            Some(Challenge::Bearer {
                realm: "https://auth.example/t?a=1,b=2".into(),
                service: Some("reg".into()),
                scope: Some("repository:a:pull,push".into()),
            })
        );
        let escaped = r#"Bearer realm="https://x/\"t\"""#;
        assert!(matches!(
            parse_challenge(escaped),
            Some(Challenge::Bearer { realm, .. }) if realm == r#"https://x/"t""#
        ));
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Bearer service=x"), None);
        assert_eq!(parse_challenge(""), None);
        assert_eq!(
            parse_challenge("Negotiate"),
            Some(Challenge::Other("Negotiate".into()))
        );
    }

    #[test]
    fn credentials_never_print_the_password() {
        let debug = format!("{:?}", Credentials::basic("AWS", "s3cr3t-token"));
        assert!(
            debug.contains("AWS") && !debug.contains("s3cr3t"),
            "{debug}"
        );
    }

    #[test]
    fn ecr_tokens_become_basic_credentials() {
        use aws_sdk_ecr::operation::get_authorization_token::GetAuthorizationTokenOutput;
        use aws_sdk_ecr::types::AuthorizationData;
        let token = base64::engine::general_purpose::STANDARD.encode("AWS:pass:with:colons");
        let output = GetAuthorizationTokenOutput::builder()
            .authorization_data(
                AuthorizationData::builder()
                    .authorization_token(token)
                    .proxy_endpoint("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com")
                    .build(),
            )
            .build();
        let login = ecr_login(&output).unwrap();
        assert_eq!(
            login.credentials,
            Credentials::basic("AWS", "pass:with:colons")
        );
        assert_eq!(
            login.registry.host(),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );

        let garbage = GetAuthorizationTokenOutput::builder()
            .authorization_data(
                AuthorizationData::builder()
                    .authorization_token("%%%")
                    .proxy_endpoint("https://x")
                    .build(),
            )
            .build();
        assert!(matches!(
            ecr_login(&garbage),
            Err(ImageError::EcrLogin { .. })
        ));
        let empty = GetAuthorizationTokenOutput::builder().build();
        assert!(matches!(
            ecr_login(&empty),
            Err(ImageError::EcrLogin { .. })
        ));
    }
}
