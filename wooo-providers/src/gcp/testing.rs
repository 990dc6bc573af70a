//! Test helpers for host programs and wooo's own suites (feature `gcp` + `testing`).

use google_cloud_auth::credentials::{
    AccessToken, AccessTokenCredentials, AccessTokenCredentialsProvider, CacheableResource, CredentialsProvider,
    EntityTag,
};
use google_cloud_auth::errors::CredentialsError;
use http::header::{AUTHORIZATION, HeaderValue};
use http::{Extensions, HeaderMap};

/// Credentials that hand out one fixed access token (and send it as `Authorization: Bearer …`), for a
/// [`super::GkeBuilder`] pointed at a local test server.
pub fn static_token_credentials(token: &str) -> AccessTokenCredentials {
    AccessTokenCredentials::from(StaticToken(token.to_string()))
}

struct StaticToken(String);

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken([redacted])")
    }
}

impl CredentialsProvider for StaticToken {
    async fn headers(&self, _: Extensions) -> Result<CacheableResource<HeaderMap>, CredentialsError> {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(&format!("Bearer {}", self.0))
            .map_err(|e| CredentialsError::from_msg(false, e.to_string()))?;
        headers.insert(AUTHORIZATION, value);
        Ok(CacheableResource::New { entity_tag: EntityTag::new(), data: headers })
    }

    async fn universe_domain(&self) -> Option<String> {
        None
    }
}

impl AccessTokenCredentialsProvider for StaticToken {
    async fn access_token(&self) -> Result<AccessToken, CredentialsError> {
        Ok(AccessToken { token: self.0.clone() })
    }
}
