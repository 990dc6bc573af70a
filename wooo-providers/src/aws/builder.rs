//! [`EksBuilder`]: where an [`Eks`] gets its AWS configuration, region, endpoint and waits.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use wooo_core::{Error, Result, WaitOptions};

use super::Eks;
use super::sdk::SdkApi;

/// Builds an [`Eks`].
///
/// ```no_run
/// # async fn demo() -> wooo_core::Result<()> {
/// use wooo_providers::aws::EksBuilder;
/// let eks = EksBuilder::from_env().await.region("eu-west-1").build()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct EksBuilder {
    config: Option<SdkConfig>,
    region: Option<String>,
    endpoint_url: Option<String>,
    wait: Option<WaitOptions>,
    attempts: Option<u32>,
}

impl fmt::Debug for EksBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SdkConfig's own Debug prints no secret, but say only what this builder decides.
        f.debug_struct("EksBuilder")
            .field("config_loaded", &self.config.is_some())
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("wait", &self.wait)
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl EksBuilder {
    /// A builder with nothing loaded: give it a configuration with [`EksBuilder::with_sdk_config`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads the AWS configuration the way the AWS CLI and SDKs do (aws-config's default chain), reading:
    ///
    /// | variable | what |
    /// |---|---|
    /// | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` | static credentials |
    /// | `AWS_PROFILE`, `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE` | a named profile of `~/.aws/config` and `~/.aws/credentials`, including SSO (`sso_session`, `sso_start_url`, …), `credential_process` and `role_arn` + `source_profile` |
    /// | `AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_SESSION_NAME` | web identity (EKS IRSA, GitHub OIDC) |
    /// | `AWS_CONTAINER_CREDENTIALS_FULL_URI`, `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, `AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)` | ECS task roles and EKS Pod Identity |
    /// | `AWS_EC2_METADATA_DISABLED`, `AWS_EC2_METADATA_SERVICE_ENDPOINT` | the EC2 instance metadata service (IMDSv2), last in the chain |
    /// | `AWS_REGION`, `AWS_DEFAULT_REGION` | the region (else the profile's `region`, else IMDS) |
    /// | `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_EKS`, `…_EC2`, `…_IAM`, `…_STS` | endpoint overrides (a local AWS such as moto, a VPC endpoint) |
    ///
    /// Credentials are resolved lazily, on the first call: a missing chain shows as
    /// [`Error::Unauthenticated`] there, not here. HTTPS uses rustls with ring.
    pub async fn from_env() -> Self {
        let config =
            aws_config::defaults(BehaviorVersion::latest()).http_client(super::sdk::https_client()).load().await;
        Self::with_sdk_config(config)
    }

    /// Uses a configuration the host program loaded itself.
    pub fn with_sdk_config(config: SdkConfig) -> Self {
        Self { config: Some(config), ..Self::default() }
    }

    /// The region, overriding the configuration's.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// One endpoint for every AWS service (a local AWS such as moto), overriding the configuration's.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// How long and how often waits look (default [`Eks::DEFAULT_WAIT`]).
    pub fn wait(mut self, wait: WaitOptions) -> Self {
        self.wait = Some(wait);
        self
    }

    /// How many times one AWS call is tried when it fails in a retryable way (default 5, at least 1). A
    /// write is tried again only after looking whether the failed attempt took effect.
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = Some(attempts);
        self
    }

    /// The provisioner.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] naming the builder field: `config` when none was given, `region` when there is
    /// none or it is not a region name, `endpoint_url` when it is not an `http(s)://` URL, `attempts` when 0.
    pub fn build(self) -> Result<Eks> {
        let Some(config) = self.config else {
            return Err(Error::invalid_spec(
                "config",
                "no AWS configuration: use EksBuilder::from_env or with_sdk_config",
            ));
        };
        let region = self.region.or_else(|| config.region().map(|r| r.to_string()));
        let region = region.ok_or_else(|| {
            Error::invalid_spec("region", "no AWS region: set AWS_REGION, a profile region, or EksBuilder::region")
        })?;
        check_region(&region)?;
        let endpoint = self.endpoint_url.clone().or_else(|| config.endpoint_url().map(str::to_string));
        if let Some(url) = &endpoint
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(Error::invalid_spec("endpoint_url", format!("`{url}` is not an http(s) URL")));
        }
        let attempts = self.attempts.unwrap_or(5);
        if attempts == 0 {
            return Err(Error::invalid_spec("attempts", "at least one attempt"));
        }
        let mut loader = config.to_builder().region(aws_config::Region::new(region.clone()));
        if let Some(url) = &endpoint {
            loader = loader.endpoint_url(url.clone());
        }
        let config = loader.build();
        let sts_endpoint = endpoint.clone().unwrap_or_else(|| super::token::default_sts_endpoint(&region));
        Ok(Eks {
            api: Arc::new(SdkApi::new(&config)),
            region,
            credentials: config.credentials_provider(),
            sts_endpoint,
            wait: self.wait.unwrap_or(Eks::DEFAULT_WAIT),
            attempts,
            pause: Duration::from_millis(200),
        })
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`: lowercase words and a number, dash-separated.
fn check_region(region: &str) -> Result<()> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if ok { Ok(()) } else { Err(Error::invalid_spec("region", format!("`{region}` is not an AWS region name"))) }
}

#[cfg(test)]
mod tests {
    use aws_credential_types::Credentials;

    use super::*;

    fn config(region: Option<&str>) -> SdkConfig {
        let mut b = SdkConfig::builder().behavior_version(BehaviorVersion::latest()).credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::for_tests()),
        );
        if let Some(r) = region {
            b = b.region(aws_config::Region::new(r.to_string()));
        }
        b.build()
    }

    #[test]
    fn build_checks_every_field_and_names_it() {
        let field = |r: Result<Eks>| r.expect_err("should fail").violations()[0].field.clone();
        assert_eq!(field(EksBuilder::new().build()), "config");
        assert_eq!(field(EksBuilder::with_sdk_config(config(None)).build()), "region");
        assert_eq!(field(EksBuilder::with_sdk_config(config(Some("Mars")).clone()).build()), "region");
        assert_eq!(
            field(EksBuilder::with_sdk_config(config(Some("us-east-1"))).endpoint_url("ftp://x").build()),
            "endpoint_url"
        );
        assert_eq!(field(EksBuilder::with_sdk_config(config(Some("us-east-1"))).attempts(0).build()), "attempts");
    }

    #[test]
    fn region_and_endpoint_override_the_configuration() {
        let eks = EksBuilder::with_sdk_config(config(Some("us-east-1")))
            .region("eu-west-1")
            .endpoint_url("http://127.0.0.1:5000")
            .build()
            .expect("builds");
        assert_eq!(eks.region, "eu-west-1");
        assert_eq!(eks.sts_endpoint, "http://127.0.0.1:5000");
        let eks = EksBuilder::with_sdk_config(config(Some("ap-south-1"))).build().expect("builds");
        assert_eq!(eks.sts_endpoint, "https://sts.ap-south-1.amazonaws.com/");
        for ok in ["us-east-1", "us-gov-west-1", "cn-north-1", "eu-central-2"] {
            assert!(check_region(ok).is_ok(), "{ok}");
        }
        for bad in ["", "us-east", "US-EAST-1", "us-east-x", "us--1"] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_shows_no_credentials() {
        let b = EksBuilder::with_sdk_config(config(Some("us-east-1")));
        let text = format!("{b:?}");
        assert!(!text.contains(Credentials::for_tests().secret_access_key()), "{text}");
    }
}
