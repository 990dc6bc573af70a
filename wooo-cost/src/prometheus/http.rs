//! The thin seam to a Prometheus server: one form POST, answered with a status and a body.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Sends one request. Unit tests replace it with a fake.
#[async_trait]
pub(crate) trait Transport: Send + Sync + fmt::Debug + 'static {
    /// POSTs `form` (URL-encoded) to `path` of the server: the HTTP status and body, or why no answer came.
    async fn post_form(&self, path: &str, form: &[(&'static str, String)]) -> Result<(u16, Vec<u8>), String>;
}

/// [`Transport`] over hyper (HTTP/1.1, HTTPS with rustls on ring and the system's roots).
pub(crate) struct HyperTransport {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    base: String,
    timeout: Duration,
    bearer_token: Option<String>,
}

impl fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTransport")
            .field("base", &self.base)
            .field("timeout", &self.timeout)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl HyperTransport {
    /// A client of the server at `base` (scheme, host, port and path prefix, no trailing slash).
    ///
    /// # Errors
    /// The TLS configuration cannot be built (ring lacks a safe protocol version; not expected).
    pub(crate) fn new(base: String, timeout: Duration, bearer_token: Option<String>) -> Result<Self, String> {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let builder = match hyper_rustls::HttpsConnectorBuilder::new().with_provider_and_native_roots(provider.clone())
        {
            Ok(b) => b,
            // No usable system roots: HTTPS servers cannot be verified (and fail), plain HTTP still works.
            Err(_) => {
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| format!("TLS configuration: {e}"))?
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
            }
        };
        let connector = builder.https_or_http().enable_http1().build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self { client, base, timeout, bearer_token })
    }
}

#[async_trait]
impl Transport for HyperTransport {
    async fn post_form(&self, path: &str, form: &[(&'static str, String)]) -> Result<(u16, Vec<u8>), String> {
        let body =
            form_urlencoded::Serializer::new(String::new()).extend_pairs(form.iter().map(|(k, v)| (*k, v))).finish();
        let mut request = hyper::Request::post(format!("{}{path}", self.base))
            .header(hyper::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(hyper::header::ACCEPT, "application/json");
        if let Some(token) = &self.bearer_token {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request.body(Full::new(Bytes::from(body))).map_err(|e| format!("request: {e}"))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| format!("no answer: {e}"))?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map_err(|e| format!("answer cut short: {e}"))?;
            Ok((status, body.to_bytes().to_vec()))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| format!("no answer within {:?}", self.timeout))?
    }
}
