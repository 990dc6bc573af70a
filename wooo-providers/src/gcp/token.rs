//! [`GkeTokenSource`]: the bearer token of a GKE cluster's API server, a Google OAuth access token.
//!
//! GKE's API servers accept the caller's OAuth 2.0 access token (scope `cloud-platform`) as the Kubernetes
//! bearer token; `gke-gcloud-auth-plugin` does nothing more than fetch one. google-cloud-auth caches the token
//! and refreshes it in the background before it expires, so asking for one per request costs nothing.

use std::fmt;

use async_trait::async_trait;
use google_cloud_auth::credentials::AccessTokenCredentials;
use wooo_core::Result;
use wooo_core::model::SecretString;

use super::error::{Failure, classify};
use crate::kube::BearerTokenSource;

/// Google OAuth access tokens for GKE API servers, from Application Default Credentials or credentials the
/// host program built (any `google_cloud_auth` [`AccessTokenCredentials`]). The token never appears in
/// `Debug` output.
#[derive(Clone)]
pub struct GkeTokenSource {
    credentials: AccessTokenCredentials,
}

impl fmt::Debug for GkeTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GkeTokenSource").finish_non_exhaustive()
    }
}

impl GkeTokenSource {
    /// A token source over these credentials.
    pub fn new(credentials: AccessTokenCredentials) -> Self {
        Self { credentials }
    }

    /// An access token valid now (cached by the credentials until shortly before it expires).
    ///
    /// # Errors
    /// [`wooo_core::Error::Unauthenticated`] when no token can be had (no credentials, a refused key);
    /// [`wooo_core::Error::Transient`] when the token endpoint or metadata server did not answer.
    pub async fn token(&self) -> Result<SecretString> {
        match self.credentials.access_token().await {
            Ok(t) => Ok(SecretString::new(t.token)),
            Err(e) => {
                let failure = if e.is_transient() {
                    Failure::NoResponse { message: e.to_string() }
                } else {
                    Failure::Credentials { message: e.to_string() }
                };
                Err(classify(failure, "get an access token", "credentials", Some(Box::new(e))))
            }
        }
    }
}

#[async_trait]
impl BearerTokenSource for GkeTokenSource {
    async fn bearer_token(&self) -> Result<SecretString> {
        self.token().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use google_cloud_auth::credentials::{
        AccessToken, AccessTokenCredentialsProvider, CacheableResource, CredentialsProvider, EntityTag,
    };
    use google_cloud_auth::errors::CredentialsError;
    use http::{Extensions, HeaderMap};
    use wooo_core::ErrorKind;

    use super::*;

    /// Hands out `token-1`, `token-2`, … or fails.
    #[derive(Debug)]
    struct Counting {
        calls: Arc<AtomicU32>,
        fail: Option<bool>,
    }

    impl CredentialsProvider for Counting {
        async fn headers(&self, _: Extensions) -> std::result::Result<CacheableResource<HeaderMap>, CredentialsError> {
            Ok(CacheableResource::New { entity_tag: EntityTag::new(), data: HeaderMap::new() })
        }
        async fn universe_domain(&self) -> Option<String> {
            None
        }
    }

    impl AccessTokenCredentialsProvider for Counting {
        async fn access_token(&self) -> std::result::Result<AccessToken, CredentialsError> {
            if let Some(transient) = self.fail {
                return Err(CredentialsError::from_msg(transient, "metadata server said no"));
            }
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(AccessToken { token: format!("ya29.token-{n}") })
        }
    }

    fn source(fail: Option<bool>) -> (GkeTokenSource, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        let creds = AccessTokenCredentials::from(Counting { calls: calls.clone(), fail });
        (GkeTokenSource::new(creds), calls)
    }

    #[tokio::test]
    async fn each_request_asks_the_credentials_so_a_refreshed_token_is_used() {
        let (s, calls) = source(None);
        assert_eq!(s.bearer_token().await.unwrap().expose(), "ya29.token-1");
        assert_eq!(s.bearer_token().await.unwrap().expose(), "ya29.token-2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(!format!("{s:?}").contains("ya29"));
    }

    #[tokio::test]
    async fn failures_are_unauthenticated_or_transient() {
        let err = source(Some(false)).0.token().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.to_string().contains("metadata server said no"), "{err}");
        assert_eq!(source(Some(true)).0.token().await.unwrap_err().kind(), ErrorKind::Transient);
    }
}
