//! [`AksTokenSource`]: the bearer token of an AAD-enabled AKS cluster's API server.
//!
//! A cluster with managed AAD (`aadProfile`) hands out kubeconfigs whose user is the `kubelogin` exec plugin.
//! All `kubelogin` does is get an Entra ID access token for the AKS server application
//! ([`AKS_SERVER_APP`], scope `6dae42f8-4368-4678-94ff-3960e28e3630/.default`), which the API server accepts as
//! the Kubernetes bearer token; this source gets the same token from the provisioner's own credential, so no
//! plugin is needed.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use azure_core::auth::TokenCredential;
use time::OffsetDateTime;
use tokio::sync::Mutex;
use wooo_core::model::SecretString;
use wooo_core::{Error, Result};

use super::error::PROVIDER;
use crate::kube::BearerTokenSource;

/// The application id of the AKS AAD server (the same in every cloud and tenant). azure_identity 0.10's
/// credentials take a resource and ask for its `/.default` scope.
pub const AKS_SERVER_APP: &str = "6dae42f8-4368-4678-94ff-3960e28e3630";

/// A token is made anew when less than this is left of its life.
const REFRESH_BEFORE: time::Duration = time::Duration::minutes(5);

/// Entra ID access tokens for the AKS server application from an azure_core 0.10 [`TokenCredential`] (the
/// provisioner's: client secret, workload or managed identity, Azure CLI, or the host's), cached until five
/// minutes before they expire. The token never appears in `Debug` output.
#[derive(Clone)]
pub struct AksTokenSource {
    credential: Arc<dyn TokenCredential>,
    cached: Arc<Mutex<Option<(SecretString, OffsetDateTime)>>>,
}

impl fmt::Debug for AksTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AksTokenSource").field("resource", &AKS_SERVER_APP).finish_non_exhaustive()
    }
}

impl AksTokenSource {
    /// A token source over `credential`.
    pub fn new(credential: Arc<dyn TokenCredential>) -> Self {
        Self { credential, cached: Arc::new(Mutex::new(None)) }
    }

    /// A token valid now: the cached one while more than five minutes of it are left, else a new one from the
    /// credential.
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] when the credential cannot make one (its message kept, never a token).
    pub async fn token(&self) -> Result<SecretString> {
        let mut cached = self.cached.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && *expires - OffsetDateTime::now_utc() > REFRESH_BEFORE
        {
            return Ok(token.clone());
        }
        let response = self.credential.get_token(AKS_SERVER_APP).await.map_err(|e| Error::Unauthenticated {
            provider: PROVIDER,
            message: format!("no Entra ID token for the AKS server application: {e}"),
            source: None,
        })?;
        let token = SecretString::new(response.token.secret().to_string());
        *cached = Some((token.clone(), response.expires_on));
        Ok(token)
    }
}

#[async_trait]
impl BearerTokenSource for AksTokenSource {
    async fn bearer_token(&self) -> Result<SecretString> {
        self.token().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use azure_core::auth::{AccessToken, TokenResponse};
    use wooo_core::ErrorKind;

    use super::*;

    /// Hands out `aad-token-1`, `aad-token-2`, … living `life`, recording the resources asked for; or fails.
    #[derive(Debug)]
    struct Fake {
        asked: StdMutex<Vec<String>>,
        life: time::Duration,
        fail: bool,
    }

    #[async_trait]
    impl TokenCredential for Fake {
        async fn get_token(&self, resource: &str) -> azure_core::Result<TokenResponse> {
            let mut asked = self.asked.lock().unwrap();
            asked.push(resource.to_string());
            if self.fail {
                return Err(azure_core::Error::message(azure_core::error::ErrorKind::Credential, "AADSTS7000215"));
            }
            Ok(TokenResponse::new(
                AccessToken::new(format!("aad-token-{}", asked.len())),
                OffsetDateTime::now_utc() + self.life,
            ))
        }
    }

    fn source(life: time::Duration, fail: bool) -> (AksTokenSource, Arc<Fake>) {
        let fake = Arc::new(Fake { asked: StdMutex::new(Vec::new()), life, fail });
        (AksTokenSource::new(fake.clone()), fake)
    }

    #[tokio::test]
    async fn a_token_is_cached_until_near_expiry_and_asked_for_the_aks_server_app() {
        let (s, fake) = source(time::Duration::hours(1), false);
        assert_eq!(s.bearer_token().await.unwrap().expose(), "aad-token-1");
        assert_eq!(s.bearer_token().await.unwrap().expose(), "aad-token-1", "cached");
        assert_eq!(*fake.asked.lock().unwrap(), [AKS_SERVER_APP.to_string()]);
        let debug = format!("{s:?}");
        assert!(!debug.contains("aad-token") && debug.contains(AKS_SERVER_APP), "{debug}");
    }

    #[tokio::test]
    async fn a_token_near_expiry_is_replaced() {
        let (s, fake) = source(time::Duration::minutes(4), false);
        assert_eq!(s.token().await.unwrap().expose(), "aad-token-1");
        assert_eq!(s.token().await.unwrap().expose(), "aad-token-2", "4 minutes left: refreshed");
        assert_eq!(fake.asked.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_credential_failure_is_unauthenticated() {
        let (s, _) = source(time::Duration::hours(1), true);
        let err = s.token().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.to_string().contains("AADSTS7000215"), "{err}");
    }
}
