//! The in-process EKS bearer token: a presigned STS `GetCallerIdentity` URL.
//!
//! An EKS API server authenticates a bearer token `k8s-aws-v1.<base64url(url)>` (no padding) by sending the
//! presigned URL inside it to STS with the `x-k8s-aws-id: <cluster name>` header and mapping the caller identity
//! STS answers with to Kubernetes users and groups (aws-iam-authenticator's verifier). The URL is
//! `GET /?Action=GetCallerIdentity&Version=2011-06-15` on the regional STS endpoint, signed with SigV4 in its
//! query parameters, with `x-k8s-aws-id` among the signed headers, so a token made for one cluster is refused by
//! another. This is what `aws eks get-token` prints, made here without running it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::error::display::DisplayErrorContext;
use base64::Engine as _;
use tokio::sync::Mutex;
use wooo_core::model::SecretString;
use wooo_core::{Error, Result};

use super::error::{Failure, classify};
use crate::kube::BearerTokenSource;

/// The prefix of every EKS bearer token (version 1 of aws-iam-authenticator's format).
pub(crate) const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The header naming the cluster the token is for; signed, so the token is valid for that cluster only.
pub(crate) const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// The `X-Amz-Expires` the token carries. STS ignores it for `GetCallerIdentity`; aws-iam-authenticator sends 60
/// and its older servers require a value of at most 60.
pub(crate) const PRESIGN_EXPIRES: Duration = Duration::from_secs(60);
/// How long the API server accepts a token: 15 minutes after its `X-Amz-Date`, whatever `X-Amz-Expires` says
/// (aws-iam-authenticator's `presignedURLExpiration`).
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// How long before a token (or the credentials that signed it) expires a new one is made: the minute of cushion
/// aws-iam-authenticator's own generator keeps, which also absorbs clock skew with the API server.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The STS query the token presigns.
const QUERY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

/// The regional STS endpoint of `region` (`https://sts.<region>.amazonaws.com/`, `.amazonaws.com.cn` in the
/// China regions).
pub(crate) fn default_sts_endpoint(region: &str) -> String {
    let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    format!("https://sts.{region}.{suffix}/")
}

/// `endpoint` as `scheme://authority/`, or why it cannot be an STS endpoint (the token's URL must have the path
/// `/` and no query of its own).
fn normalize_endpoint(endpoint: &str) -> std::result::Result<String, String> {
    let uri: http::Uri = endpoint.parse().map_err(|e| format!("`{endpoint}` is not a URL: {e}"))?;
    let scheme = uri.scheme_str().unwrap_or_default();
    if scheme != "https" && scheme != "http" {
        return Err(format!("`{endpoint}` is not an http(s) URL"));
    }
    let Some(authority) = uri.authority() else { return Err(format!("`{endpoint}` has no host")) };
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(format!("`{endpoint}` has a path or query; an STS endpoint is `scheme://host[:port]/`"));
    }
    Ok(format!("{scheme}://{authority}/"))
}

/// The EKS bearer token for `cluster`: `GET <endpoint>?Action=GetCallerIdentity&Version=2011-06-15` presigned
/// with SigV4 for service `sts` in `region` at time `at` (query-parameter signature, `X-Amz-Expires=60`, the
/// `x-k8s-aws-id` header signed, `X-Amz-Security-Token` when `credentials` have a session token), as
/// `k8s-aws-v1.` + base64url without padding. Pure: the same inputs give the same token.
///
/// # Errors
/// [`Error::InvalidSpec`] when the request cannot be signed: an `endpoint` that is not `http(s)://host[:port]/`
/// (field `sts_endpoint`), a cluster name that is no valid header value (field `name`).
pub(crate) fn presign_token(
    credentials: &Credentials,
    region: &str,
    cluster: &str,
    endpoint: &str,
    at: SystemTime,
) -> Result<SecretString> {
    let what = format!("sign the EKS token of cluster \"{cluster}\"");
    let endpoint = normalize_endpoint(endpoint).map_err(|reason| Error::invalid_spec("sts_endpoint", reason))?;
    let construction = |e: Box<dyn std::error::Error + Send + Sync>| {
        classify(Failure::Construction { message: e.to_string() }, &what, "name", Some(e))
    };
    let url = format!("{endpoint}?{QUERY}");
    let identity: Identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(PRESIGN_EXPIRES);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(at)
        .settings(settings)
        .build()
        .map_err(|e| construction(Box::new(e)))?
        .into();
    let signable = SignableRequest::new(
        "GET",
        url.as_str(),
        std::iter::once((CLUSTER_ID_HEADER, cluster)),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| construction(Box::new(e)))?;
    let (instructions, _signature) = sign(signable, &params).map_err(|e| construction(Box::new(e)))?.into_parts();
    let mut request = http::Request::get(url.as_str()).body(()).map_err(|e| construction(Box::new(e)))?;
    instructions.apply_to_request_http1x(&mut request);
    let presigned = request.uri().to_string();
    Ok(SecretString::new(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(presigned.as_bytes())
    )))
}

/// The clock a source reads (the system clock outside tests).
type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// A token and when to stop handing it out.
struct Cached {
    token: SecretString,
    refresh_at: SystemTime,
}

/// The bearer token of one EKS cluster, made in-process from AWS credentials (no `aws eks get-token` exec
/// plugin) and cached until shortly before it expires. Plug it into
/// [`client_with_token_source`](crate::kube::client_with_token_source) for a `kube::Client` that stays
/// authenticated for as long as the credentials can be refreshed.
///
/// Validity follows aws-iam-authenticator, which EKS runs: the API server accepts a token for 15 minutes after
/// its signing time (`X-Amz-Date`), whatever its `X-Amz-Expires` (always 60, which STS ignores, as
/// aws-iam-authenticator sends it) says. A token is reused for 14 minutes (one minute of margin, as
/// aws-iam-authenticator's own generator keeps), or until one minute before the credentials that signed it expire
/// when that is sooner: a presigned URL dies with its temporary credentials.
///
/// ```no_run
/// # async fn demo() -> wooo_core::Result<()> {
/// use aws_credential_types::Credentials;
/// use aws_credential_types::provider::SharedCredentialsProvider;
/// use wooo_providers::aws::EksTokenSource;
///
/// let credentials = SharedCredentialsProvider::new(Credentials::new("AKID", "SECRET", None, None, "static"));
/// let tokens = EksTokenSource::new(credentials, "eu-west-1", "prod");
/// let token = tokens.token().await?;
/// assert!(token.expose().starts_with("k8s-aws-v1."));
/// # Ok(()) }
/// ```
pub struct EksTokenSource {
    credentials: SharedCredentialsProvider,
    region: String,
    cluster: String,
    endpoint: String,
    now: Clock,
    cache: Mutex<Option<Cached>>,
}

impl EksTokenSource {
    /// Tokens for the EKS cluster named `cluster` in `region`, signed with the credentials `credentials`
    /// provides (for example `SdkConfig::credentials_provider`), against the regional STS endpoint
    /// `https://sts.<region>.amazonaws.com/`.
    pub fn new(credentials: SharedCredentialsProvider, region: impl Into<String>, cluster: impl Into<String>) -> Self {
        let region = region.into();
        Self {
            credentials,
            endpoint: default_sts_endpoint(&region),
            region,
            cluster: cluster.into(),
            now: Arc::new(SystemTime::now),
            cache: Mutex::new(None),
        }
    }

    /// Presigns against `endpoint` (`scheme://host[:port]/`) instead of the regional STS endpoint: another
    /// partition's STS, a VPC endpoint, or a local STS (moto) in tests. The API server only accepts tokens whose
    /// host is an STS host it knows.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] (field `sts_endpoint`) when `endpoint` is not an `http(s)://host[:port]/` URL.
    pub fn with_sts_endpoint(mut self, endpoint: impl AsRef<str>) -> Result<Self> {
        self.endpoint =
            normalize_endpoint(endpoint.as_ref()).map_err(|reason| Error::invalid_spec("sts_endpoint", reason))?;
        self.cache = Mutex::new(None);
        Ok(self)
    }

    /// Reads the time from `now` instead of the system clock.
    #[cfg(test)]
    pub(crate) fn with_clock(mut self, now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.now = Arc::new(now);
        self
    }

    /// The cluster the tokens are for.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// A token the cluster's API server accepts now: the cached one while it is fresh, otherwise a new one
    /// signed with the credentials the provider gives now (see the type's documentation for when that is).
    /// Concurrent callers share one signing.
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] when no credentials can be loaded; [`Error::InvalidSpec`] when the request
    /// cannot be signed (a cluster name that is no valid header value).
    pub async fn token(&self) -> Result<SecretString> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref()
            && (self.now)() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let credentials = self.credentials.provide_credentials().await.map_err(|e| {
            let message = DisplayErrorContext(&e).to_string();
            classify(
                Failure::Credentials { message },
                &format!("sign the EKS token of cluster \"{}\"", self.cluster),
                "name",
                Some(Box::new(e)),
            )
        })?;
        let signed_at = (self.now)();
        let token = presign_token(&credentials, &self.region, &self.cluster, &self.endpoint, signed_at)?;
        let mut valid_until = signed_at + TOKEN_LIFETIME;
        if let Some(expiry) = credentials.expiry() {
            valid_until = valid_until.min(expiry);
        }
        // Credentials about to expire give a token that is made anew on the next call.
        let refresh_at = valid_until.checked_sub(REFRESH_MARGIN).unwrap_or(signed_at).max(signed_at);
        *cache = Some(Cached { token: token.clone(), refresh_at });
        Ok(token)
    }
}

impl fmt::Debug for EksTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let refresh_at = self.cache.try_lock().ok().and_then(|c| c.as_ref().map(|c| c.refresh_at));
        f.debug_struct("EksTokenSource")
            .field("cluster", &self.cluster)
            .field("region", &self.region)
            .field("sts_endpoint", &self.endpoint)
            .field("cached_until", &refresh_at)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl BearerTokenSource for EksTokenSource {
    async fn bearer_token(&self) -> Result<SecretString> {
        self.token().await
    }
}

#[cfg(test)]
#[path = "token_tests.rs"]
mod tests;
