//! [`GkeBuilder`]: where a [`Gke`] gets its project, location, credentials, endpoint and waits.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use google_cloud_auth::credentials::{AccessTokenCredentials, Credentials};
use google_cloud_container_v1::client::ClusterManager;
use wooo_core::{Error, Result, WaitOptions};

use super::error::PROVIDER;
use super::sdk::SdkApi;
use super::token::GkeTokenSource;
use super::{Gke, shape};

/// The OAuth scope of every Google Cloud API (GKE's API servers accept its tokens too).
pub(crate) const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// The GKE release channel new clusters are enrolled in ([`GkeBuilder::release_channel`]). With a channel
/// GKE upgrades clusters itself; wooo then reports the newer version and plans no downgrade of a kept cluster.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReleaseChannel {
    /// Send none: GKE's default for new clusters (the Regular channel).
    #[default]
    Default,
    /// Not enrolled: versions change only when asked (`UNSPECIFIED`).
    Unspecified,
    /// The Rapid channel.
    Rapid,
    /// The Regular channel.
    Regular,
    /// The Stable channel.
    Stable,
    /// The Extended channel.
    Extended,
}

impl ReleaseChannel {
    /// The channel's API name (`REGULAR`), empty for [`ReleaseChannel::Default`].
    pub(crate) fn api_name(self) -> &'static str {
        match self {
            ReleaseChannel::Default => "",
            ReleaseChannel::Unspecified => "UNSPECIFIED",
            ReleaseChannel::Rapid => "RAPID",
            ReleaseChannel::Regular => "REGULAR",
            ReleaseChannel::Stable => "STABLE",
            ReleaseChannel::Extended => "EXTENDED",
        }
    }
}

/// Where credentials come from.
#[derive(Clone, Default)]
enum Auth {
    /// Application Default Credentials, loaded by `build()`.
    #[default]
    Adc,
    /// Credentials the host program made.
    Given(AccessTokenCredentials),
    /// None at all (a local test server): requests carry no `Authorization`, `access()` has no token.
    Anonymous,
}

/// Builds a [`Gke`].
///
/// ```no_run
/// # async fn demo() -> wooo_core::Result<()> {
/// use wooo_providers::gcp::GkeBuilder;
/// let gke = GkeBuilder::from_env().project("my-project").location("europe-west1").build().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct GkeBuilder {
    project: Option<String>,
    location: Option<String>,
    auth: Auth,
    endpoint_url: Option<String>,
    release_channel: ReleaseChannel,
    wait: Option<WaitOptions>,
    attempts: Option<u32>,
}

impl fmt::Debug for GkeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match self.auth {
            Auth::Adc => "application-default",
            Auth::Given(_) => "given",
            Auth::Anonymous => "anonymous",
        };
        f.debug_struct("GkeBuilder")
            .field("project", &self.project)
            .field("location", &self.location)
            .field("credentials", &auth)
            .field("endpoint_url", &self.endpoint_url)
            .field("release_channel", &self.release_channel)
            .field("wait", &self.wait)
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl GkeBuilder {
    /// A builder with nothing set; credentials default to Application Default Credentials.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder that takes its project and location from the environment, and whose credentials are
    /// Application Default Credentials (loaded by [`GkeBuilder::build`], refreshed as they expire):
    ///
    /// | variable | what |
    /// |---|---|
    /// | `GOOGLE_CLOUD_PROJECT`, else `CLOUDSDK_CORE_PROJECT` | the project |
    /// | `GOOGLE_CLOUD_LOCATION`, else `CLOUDSDK_COMPUTE_REGION`, else `CLOUDSDK_COMPUTE_ZONE` | the location |
    /// | `GOOGLE_APPLICATION_CREDENTIALS` | a service-account key file, an external-account (workload identity federation) or authorized-user file |
    /// | (none) | `~/.config/gcloud/application_default_credentials.json` (`gcloud auth application-default login`), else the metadata server (GCE, GKE workload identity, Cloud Run) |
    /// | `GOOGLE_CLOUD_QUOTA_PROJECT` | the quota project of the credentials |
    ///
    /// Values set on the builder afterwards win.
    pub fn from_env() -> Self {
        let var = |names: &[&str]| names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()));
        Self {
            project: var(&["GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"]),
            location: var(&["GOOGLE_CLOUD_LOCATION", "CLOUDSDK_COMPUTE_REGION", "CLOUDSDK_COMPUTE_ZONE"]),
            ..Self::default()
        }
    }

    /// The project id (`my-project`).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// The location: a region (`europe-west1`: regional clusters) or a zone (`europe-west1-b`: zonal ones).
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// The location, unless one is set already (by [`GkeBuilder::from_env`] or [`GkeBuilder::location`]).
    pub fn default_location(mut self, location: impl Into<String>) -> Self {
        self.location.get_or_insert_with(|| location.into());
        self
    }

    /// Credentials the host program made (a service-account key with `google_cloud_auth`'s
    /// `service_account::Builder`, impersonation, its own provider), used for the GKE API and for cluster
    /// access tokens. Give them the `cloud-platform` scope.
    pub fn credentials(mut self, credentials: AccessTokenCredentials) -> Self {
        self.auth = Auth::Given(credentials);
        self
    }

    /// No credentials: for a local test server. [`Gke::kube_client`] and `access()` then fail with
    /// `Unauthenticated`.
    pub fn anonymous(mut self) -> Self {
        self.auth = Auth::Anonymous;
        self
    }

    /// Another API endpoint (`http://127.0.0.1:8080` for a test server, a Private Service Connect endpoint).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// The release channel new clusters are enrolled in.
    pub fn release_channel(mut self, channel: ReleaseChannel) -> Self {
        self.release_channel = channel;
        self
    }

    /// How long and how often to wait for operations ([`Gke::DEFAULT_WAIT`] otherwise).
    pub fn wait(mut self, wait: WaitOptions) -> Self {
        self.wait = Some(wait);
        self
    }

    /// Attempts per call on throttling and transient failures (5 otherwise).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = Some(attempts);
        self
    }

    /// Checks the settings, loads the credentials and builds the client. Nothing is sent to Google yet.
    ///
    /// This installs rustls' ring crypto provider as the process default unless one is installed already: the
    /// Google crates are built without their aws-lc-rs default, as kube-rs is.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] naming `project`, `location`, `endpoint_url` or `attempts`;
    /// [`Error::Unauthenticated`] when Application Default Credentials cannot be loaded.
    pub async fn build(self) -> Result<Gke> {
        let project = self.project.clone().ok_or_else(|| {
            Error::invalid_spec("project", "no Google Cloud project: set GOOGLE_CLOUD_PROJECT or GkeBuilder::project")
        })?;
        check_project(&project)?;
        let location = self.location.clone().ok_or_else(|| {
            Error::invalid_spec("location", "no location: set GOOGLE_CLOUD_LOCATION or GkeBuilder::location")
        })?;
        let location = shape::location(&location)?;
        if let Some(url) = &self.endpoint_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(Error::invalid_spec("endpoint_url", format!("`{url}` is not an http(s) URL")));
        }
        let attempts = self.attempts.unwrap_or(5);
        if attempts == 0 {
            return Err(Error::invalid_spec("attempts", "at least one attempt"));
        }
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let tokens = match &self.auth {
            Auth::Adc => Some(
                google_cloud_auth::credentials::Builder::default()
                    .with_scopes([CLOUD_PLATFORM_SCOPE])
                    .build_access_token_credentials()
                    .map_err(|e| Error::Unauthenticated {
                        provider: PROVIDER,
                        message: format!("no Application Default Credentials: {e}"),
                        source: Some(Box::new(e)),
                    })?,
            ),
            Auth::Given(c) => Some(c.clone()),
            Auth::Anonymous => None,
        };
        let credentials: Credentials = match &tokens {
            Some(t) => t.clone().into(),
            None => google_cloud_auth::credentials::anonymous::Builder::new().build(),
        };
        let mut client = ClusterManager::builder()
            .with_credentials(credentials)
            .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry);
        if let Some(url) = &self.endpoint_url {
            client = client.with_endpoint(url.trim_end_matches('/'));
        }
        let client = client.build().await.map_err(|e| Error::Provider {
            provider: PROVIDER,
            message: format!("the GKE client cannot be built: {e}"),
            source: Some(Box::new(e)),
        })?;
        Ok(Gke {
            api: Arc::new(SdkApi::new(client, &project, &location.name)),
            project,
            location,
            release_channel: self.release_channel,
            tokens: tokens.map(GkeTokenSource::new),
            wait: self.wait.unwrap_or(Gke::DEFAULT_WAIT),
            attempts,
            pause: Duration::from_millis(500),
        })
    }
}

/// Google Cloud project ids: 6 to 30 lower-case letters, digits and hyphens, a letter first, no hyphen last.
fn check_project(project: &str) -> Result<()> {
    let ok = (6..=30).contains(&project.len())
        && project.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && !project.ends_with('-')
        && project.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_spec("project", format!("`{project}` is not a Google Cloud project id")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(r: Result<Gke>) -> String {
        r.expect_err("should fail").violations()[0].field.clone()
    }

    #[tokio::test]
    async fn build_checks_every_field_and_names_it() {
        let b = || GkeBuilder::new().anonymous();
        assert_eq!(field(b().location("europe-west1").build().await), "project");
        assert_eq!(field(b().project("Bad_Project").location("europe-west1").build().await), "project");
        assert_eq!(field(b().project("my-project").build().await), "location");
        assert_eq!(field(b().project("my-project").location("europe").build().await), "location");
        let ok = || b().project("my-project").location("europe-west1-b");
        assert_eq!(field(ok().endpoint_url("ftp://x").build().await), "endpoint_url");
        assert_eq!(field(ok().attempts(0).build().await), "attempts");
        let gke = ok().endpoint_url("http://127.0.0.1:1/").build().await.expect("builds");
        assert_eq!((gke.project(), gke.location()), ("my-project", "europe-west1-b"));
        assert!(gke.location.zonal);
        assert_eq!(gke.token_source().unwrap_err().kind(), wooo_core::ErrorKind::Unauthenticated);
    }

    #[test]
    fn project_ids_and_debug() {
        for ok in ["my-project", "abcdef", "prod-123456"] {
            assert!(check_project(ok).is_ok(), "{ok}");
        }
        for bad in ["", "short", "1project", "my-project-", "My-Project", "a".repeat(31).as_str()] {
            assert!(check_project(bad).is_err(), "{bad}");
        }
        let text = format!("{:?}", GkeBuilder::new().project("p").anonymous());
        assert!(text.contains("anonymous"), "{text}");
    }
}
