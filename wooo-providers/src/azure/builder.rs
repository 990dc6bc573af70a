//! [`AksBuilder`]: the subscription, resource group, location, credential and endpoint of an [`Aks`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use azure_core::auth::TokenCredential;
use wooo_core::{Error, Result, WaitOptions};

use super::Aks;
use super::sdk::SdkApi;
use super::token::AksTokenSource;

/// The public Azure Resource Manager endpoint.
pub const PUBLIC_CLOUD_ENDPOINT: &str = "https://management.azure.com";

/// Builds an [`Aks`].
///
/// ```no_run
/// # fn demo() -> wooo_core::Result<()> {
/// use wooo_providers::azure::AksBuilder;
/// let aks = AksBuilder::from_env() // AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP, AZURE_LOCATION, credentials
///     .location("westeurope")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct AksBuilder {
    subscription_id: Option<String>,
    resource_group: Option<String>,
    location: Option<String>,
    endpoint: Option<String>,
    credential: Option<Arc<dyn TokenCredential>>,
    admin: bool,
    wait: Option<WaitOptions>,
    attempts: Option<u32>,
}

impl fmt::Debug for AksBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AksBuilder")
            .field("subscription_id", &self.subscription_id)
            .field("resource_group", &self.resource_group)
            .field("location", &self.location)
            .field("endpoint", &self.endpoint)
            .field("credential", &self.credential.as_ref().map(|_| "<credential>"))
            .field("admin", &self.admin)
            .field("wait", &self.wait)
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl AksBuilder {
    /// An empty builder: subscription, resource group and location must be set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder from the environment:
    /// - `AZURE_SUBSCRIPTION_ID`, `AZURE_RESOURCE_GROUP`, `AZURE_LOCATION`;
    /// - `AZURE_RESOURCE_MANAGER_ENDPOINT` (default [`PUBLIC_CLOUD_ENDPOINT`]; set it for sovereign clouds or a
    ///   local mock);
    /// - `AZURE_ACCESS_TOKEN`: a bearer token for ARM used as it is (`az account get-access-token --query
    ///   accessToken -o tsv`; it expires after about an hour), which also points the provisioner at a local mock;
    /// - otherwise, credentials as azure_identity 0.10's `DefaultAzureCredential` finds them, in this order: a client
    ///   secret (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`), the managed identity of the host
    ///   (IMDS), the Azure CLI's login (`az account get-access-token`). A credential set with
    ///   [`AksBuilder::credential`] replaces them.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Self {
            subscription_id: var("AZURE_SUBSCRIPTION_ID"),
            resource_group: var("AZURE_RESOURCE_GROUP"),
            location: var("AZURE_LOCATION"),
            endpoint: var("AZURE_RESOURCE_MANAGER_ENDPOINT"),
            credential: var("AZURE_ACCESS_TOKEN")
                .map(|t| Arc::new(StaticToken(wooo_core::model::SecretString::new(t))) as Arc<dyn TokenCredential>),
            ..Self::default()
        }
    }

    /// The subscription id.
    pub fn subscription_id(mut self, id: impl Into<String>) -> Self {
        self.subscription_id = Some(id.into());
        self
    }

    /// The resource group the clusters live in (created when absent, see [`Aks`]).
    pub fn resource_group(mut self, name: impl Into<String>) -> Self {
        self.resource_group = Some(name.into());
        self
    }

    /// The location (`westeurope`, `eastus`, …) of the clusters; a spec's `region` must name it.
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// The ARM endpoint (sovereign clouds, tests).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// A credential of the host program's (any azure_core 0.10 `TokenCredential`: client secret, managed
    /// identity, CLI, or its own).
    pub fn credential(mut self, credential: Arc<dyn TokenCredential>) -> Self {
        self.credential = Some(credential);
        self
    }

    /// [`Provisioner::access`](wooo_core::Provisioner::access) returns the admin kubeconfig
    /// (`listClusterAdminCredential`) instead of the user one.
    pub fn admin_credentials(mut self, admin: bool) -> Self {
        self.admin = admin;
        self
    }

    /// How long and how often to wait for operations ([`Aks::DEFAULT_WAIT`] by default).
    pub fn wait(mut self, wait: WaitOptions) -> Self {
        self.wait = Some(wait);
        self
    }

    /// Attempts per ARM call on throttling and transient failures (default 5).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = Some(attempts);
        self
    }

    /// The provisioner.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] naming the builder field that is missing or malformed (`subscription_id`,
    /// `resource_group`, `location`, `endpoint`, `attempts`).
    pub fn build(self) -> Result<Aks> {
        let subscription = self
            .subscription_id
            .ok_or_else(|| Error::invalid_spec("subscription_id", "set it or AZURE_SUBSCRIPTION_ID"))?;
        if subscription.is_empty() || subscription.contains(['/', '?', '#']) {
            return Err(Error::invalid_spec("subscription_id", format!("`{subscription}` is not a subscription id")));
        }
        let group = self
            .resource_group
            .ok_or_else(|| Error::invalid_spec("resource_group", "set it or AZURE_RESOURCE_GROUP"))?;
        let group_ok = (1..=90).contains(&group.len())
            && !group.ends_with('.')
            && group.chars().all(|c| c.is_alphanumeric() || "-_.()".contains(c));
        if !group_ok {
            return Err(Error::invalid_spec(
                "resource_group",
                format!("`{group}`: 1 to 90 letters, digits, `-_.()`, not ending in `.`"),
            ));
        }
        let location = self.location.ok_or_else(|| Error::invalid_spec("location", "set it or AZURE_LOCATION"))?;
        if location.is_empty() || !location.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::invalid_spec("location", format!("`{location}` is not an Azure location name")));
        }
        let endpoint = self.endpoint.unwrap_or_else(|| PUBLIC_CLOUD_ENDPOINT.to_string());
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            return Err(Error::invalid_spec("endpoint", format!("`{endpoint}` is not an http(s) URL")));
        }
        let attempts = self.attempts.unwrap_or(5);
        if attempts == 0 {
            return Err(Error::invalid_spec("attempts", "at least 1"));
        }
        let credential = match self.credential {
            Some(c) => c,
            None => Arc::new(azure_identity::DefaultAzureCredential::default()),
        };
        Ok(Aks {
            api: Arc::new(SdkApi::new(&endpoint, &subscription, credential.clone())),
            tokens: Some(AksTokenSource::new(credential)),
            resource_group: group,
            location,
            admin: self.admin,
            wait: self.wait.unwrap_or(Aks::DEFAULT_WAIT),
            attempts,
            pause: Duration::from_millis(500),
        })
    }
}

/// A bearer token given as it is (`AZURE_ACCESS_TOKEN`); redacted in `Debug`.
struct StaticToken(wooo_core::model::SecretString);

#[async_trait::async_trait]
impl TokenCredential for StaticToken {
    async fn get_token(&self, _resource: &str) -> azure_core::Result<azure_core::auth::TokenResponse> {
        // ARM tokens live about an hour; the real expiry is the token's own and ARM answers 401 past it.
        let expires = time::OffsetDateTime::now_utc() + time::Duration::minutes(50);
        Ok(azure_core::auth::TokenResponse::new(
            azure_core::auth::AccessToken::new(self.0.expose().to_string()),
            expires,
        ))
    }
}

#[cfg(test)]
mod tests {
    use wooo_core::ErrorKind;

    use super::*;

    fn full() -> AksBuilder {
        AksBuilder::new()
            .subscription_id("00000000-0000-0000-0000-000000000000")
            .resource_group("rg1")
            .location("westeurope")
    }

    #[test]
    fn build_names_the_missing_or_bad_field() {
        let cases = [
            (AksBuilder::new().resource_group("rg").location("westeurope"), "subscription_id"),
            (full().resource_group("bad/group"), "resource_group"),
            (full().location("West Europe"), "location"),
            (full().endpoint("management.azure.com"), "endpoint"),
            (full().attempts(0), "attempts"),
        ];
        for (builder, field) in cases {
            let err = builder.build().expect_err(field);
            assert_eq!(err.kind(), ErrorKind::InvalidSpec);
            assert_eq!(err.violations()[0].field, field);
        }
        let aks = full().endpoint("http://127.0.0.1:1").build().expect("builds");
        assert_eq!(aks.location(), "westeurope");
        assert_eq!(aks.resource_group(), "rg1");
    }
}
