//! `kube::Client` construction from a cluster's access data.

use kube::config::{KubeConfigOptions, Kubeconfig};
use wooo_core::model::ClusterAccess;
use wooo_core::{Error, Result};

use super::error::{PROVIDER, classify};

pub use self::token_source::{BearerTokenSource, client_with_token_source};

/// A client for the cluster described by `access` (its endpoint, CA and credentials), built through the same
/// kubeconfig path `kubectl` uses, so exec plugins (`aws eks get-token`, `kubelogin`, `gke-gcloud-auth-plugin`)
/// work as they do there.
///
/// # Errors
/// [`Error::InvalidSpec`] (field `endpoint`) for an endpoint that is not an `http(s)://` URL;
/// [`Error::Provider`] when the kubeconfig cannot be turned into a client configuration (bad CA data, bad
/// credentials format).
pub async fn client(access: &ClusterAccess) -> Result<kube::Client> {
    kube::Client::try_from(config(access).await?).map_err(classify)
}

/// The kube-rs configuration of `access`, built from its kubeconfig.
async fn config(access: &ClusterAccess) -> Result<kube::Config> {
    if !(access.endpoint.starts_with("https://") || access.endpoint.starts_with("http://")) {
        return Err(Error::invalid_spec("endpoint", format!("`{}` is not an http(s) URL", access.endpoint)));
    }
    // kube-rs builds its TLS configuration from rustls' process-wide crypto provider. When a build links two
    // providers (cloud SDKs bring aws-lc-rs, wooo's kube layer uses ring) rustls cannot choose and panics, so
    // ring is installed unless the host program installed a provider already (then this is a no-op).
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let yaml = access.to_kubeconfig_yaml()?;
    let kubeconfig = Kubeconfig::from_yaml(&yaml).map_err(|e| provider_error("kubeconfig", e))?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| provider_error("client configuration", e))
}

mod token_source {
    //! A client whose bearer token a [`BearerTokenSource`] refreshes.

    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use async_trait::async_trait;
    use http::header::{AUTHORIZATION, HeaderValue};
    use kube::config::AuthInfo;
    use tokio::sync::Mutex;
    use tower::{BoxError, Layer, Service};
    use wooo_core::Result;
    use wooo_core::model::{ClusterAccess, ClusterAuth, SecretString};

    use super::{classify, config};

    /// Where bearer tokens come from for [`client_with_token_source`]: a short-lived token made in-process (the EKS
    /// token `wooo_providers::aws::EksTokenSource` presigns, a cloud's OAuth access token), asked for before every
    /// request. An implementation caches: it hands out the same token while that is fresh and makes a new one
    /// shortly before it expires.
    #[async_trait]
    pub trait BearerTokenSource: Send + Sync + std::fmt::Debug {
        /// A token the API server accepts now.
        ///
        /// # Errors
        /// Whatever kept the source from making a token (typically [`wooo_core::Error::Unauthenticated`]: no
        /// usable credentials).
        async fn bearer_token(&self) -> Result<SecretString>;
    }

    /// A client for the cluster described by `access` (its endpoint and CA, through the same kubeconfig path as
    /// [`client`](super::client)) that authenticates every request with `Authorization: Bearer <token>`, the
    /// token asked of `tokens` for that request, so a client kept for hours stays authenticated as the source
    /// refreshes its token. `access.auth` is ignored.
    ///
    /// A request whose token cannot be had fails with a `kube::Error::Auth`, which [`classify`] makes
    /// [`wooo_core::Error::Unauthenticated`]; the source's error is in its message.
    ///
    /// # Errors
    /// As [`client`](super::client): [`wooo_core::Error::InvalidSpec`] (field `endpoint`) for an endpoint that
    /// is not an `http(s)://` URL, [`wooo_core::Error::Provider`] for bad CA data.
    pub async fn client_with_token_source(
        access: &ClusterAccess,
        tokens: Arc<dyn BearerTokenSource>,
    ) -> Result<kube::Client> {
        // No credentials of `access` reach the configuration: no exec plugin runs, no certificate is loaded, and
        // kube-rs adds no authentication of its own that would overwrite the layer's header.
        let anonymous = ClusterAccess { auth: ClusterAuth::Token(SecretString::default()), ..access.clone() };
        let mut config = config(&anonymous).await?;
        config.auth_info = AuthInfo::default();
        let builder = kube::client::ClientBuilder::try_from(config).map_err(classify)?;
        Ok(builder.with_layer(&BearerLayer { tokens }).build())
    }

    /// Puts `Authorization: Bearer <token>` on every request, the token asked of the source per request.
    #[derive(Clone)]
    struct BearerLayer {
        tokens: Arc<dyn BearerTokenSource>,
    }

    impl<S> Layer<S> for BearerLayer {
        type Service = BearerService<S>;

        fn layer(&self, inner: S) -> Self::Service {
            BearerService { inner: Arc::new(Mutex::new(inner)), tokens: Arc::clone(&self.tokens) }
        }
    }

    /// [`BearerLayer`]'s service. The token is awaited inside the response future, so the inner service (kube-rs'
    /// stack, which is not `Clone`) is shared behind a lock taken only to wait for its readiness and call it.
    struct BearerService<S> {
        inner: Arc<Mutex<S>>,
        tokens: Arc<dyn BearerTokenSource>,
    }

    impl<S, B> Service<http::Request<B>> for BearerService<S>
    where
        S: Service<http::Request<B>> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Send + 'static,
    {
        type Response = S::Response;
        type Error = BoxError;
        type Future = Pin<Box<dyn Future<Output = std::result::Result<S::Response, BoxError>> + Send>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<std::result::Result<(), BoxError>> {
            // Readiness of the inner service is awaited per request, in the response future.
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
            let inner = Arc::clone(&self.inner);
            let tokens = Arc::clone(&self.tokens);
            Box::pin(async move {
                let token = tokens.bearer_token().await.map_err(|e| {
                    kube::Error::Auth(kube::client::AuthError::AuthExec(format!(
                        "no bearer token from {tokens:?}: {e}"
                    )))
                })?;
                let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose()))
                    .map_err(|e| kube::Error::Auth(kube::client::AuthError::InvalidBearerToken(e)))?;
                value.set_sensitive(true);
                request.headers_mut().insert(AUTHORIZATION, value);
                let response = {
                    let mut inner = inner.lock().await;
                    std::future::poll_fn(|cx| inner.poll_ready(cx)).await.map_err(Into::into)?;
                    inner.call(request)
                };
                response.await.map_err(Into::into)
            })
        }
    }
}

fn provider_error(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Provider { provider: PROVIDER, message: format!("cannot build the {what}: {e}"), source: Some(Box::new(e)) }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use wooo_core::model::{ClusterAuth, ClusterId, SecretString};

    use super::*;

    /// Serves one HTTP request with `body`, returning the request's head as received.
    async fn serve_once(listener: TcpListener, body: &'static str) -> String {
        serve_once_on(&listener, body).await
    }

    /// Serves one HTTP request on a connection `listener` accepts, then closes it.
    async fn serve_once_on(listener: &TcpListener, body: &'static str) -> String {
        let (mut sock, _) = listener.accept().await.expect("accept");
        let mut buf = vec![0u8; 8192];
        let mut head = String::new();
        while !head.contains("\r\n\r\n") {
            let n = sock.read(&mut buf).await.expect("read");
            assert!(n > 0, "client closed early");
            head.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        sock.write_all(resp.as_bytes()).await.expect("write");
        head
    }

    #[tokio::test]
    async fn client_talks_to_the_endpoint_with_the_token() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let version = r#"{"major":"1","minor":"33","gitVersion":"v1.33.2","gitCommit":"","gitTreeState":"clean","buildDate":"2025-06-17T00:00:00Z","goVersion":"go1.24","compiler":"gc","platform":"linux/amd64"}"#;
        let server = tokio::spawn(serve_once(listener, version));
        let access = ClusterAccess {
            cluster: ClusterId::new("local"),
            endpoint: format!("http://{addr}"),
            ca_data: None,
            auth: ClusterAuth::Token(SecretString::new("s3cret-token")),
        };
        let client = client(&access).await.expect("client");
        let info = client.apiserver_version().await.expect("version");
        assert_eq!(info.git_version, "v1.33.2");
        let head = server.await.expect("server");
        assert!(head.starts_with("GET /version"), "{head}");
        assert!(head.to_ascii_lowercase().contains("authorization: bearer s3cret-token"), "{head}");
    }

    /// A source handing out `token-1`, `token-2`, … (one per call), or failing when `fail` is set.
    #[derive(Debug, Default)]
    struct Counting {
        calls: std::sync::atomic::AtomicUsize,
        fail: bool,
    }

    #[async_trait::async_trait]
    impl BearerTokenSource for Counting {
        async fn bearer_token(&self) -> Result<SecretString> {
            let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            if self.fail {
                return Err(Error::Unauthenticated {
                    provider: "test",
                    message: "no credentials".into(),
                    source: None,
                });
            }
            Ok(SecretString::new(format!("token-{n}")))
        }
    }

    /// The `authorization` header lines of `head` (lowercased).
    fn authorization(head: &str) -> Vec<String> {
        head.lines().map(str::to_ascii_lowercase).filter(|l| l.starts_with("authorization:")).collect()
    }

    #[tokio::test]
    async fn token_source_client_asks_the_source_per_request_and_ignores_the_access_auth() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let version = r#"{"major":"1","minor":"33","gitVersion":"v1.33.2","gitCommit":"","gitTreeState":"clean","buildDate":"2025-06-17T00:00:00Z","goVersion":"go1.24","compiler":"gc","platform":"linux/amd64"}"#;
        let server = tokio::spawn(async move {
            let first = serve_once_on(&listener, version).await;
            let second = serve_once_on(&listener, version).await;
            (first, second)
        });
        let access = ClusterAccess {
            cluster: ClusterId::new("local"),
            endpoint: format!("http://{addr}"),
            ca_data: None,
            auth: ClusterAuth::Token(SecretString::new("static-token-from-access")),
        };
        let source = std::sync::Arc::new(Counting::default());
        let client = client_with_token_source(&access, source.clone()).await.expect("client");
        client.apiserver_version().await.expect("first request");
        client.apiserver_version().await.expect("second request");
        let (first, second) = server.await.expect("server");
        assert_eq!(authorization(&first), ["authorization: bearer token-1"], "{first}");
        assert_eq!(authorization(&second), ["authorization: bearer token-2"], "{second}");
        assert_eq!(source.calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failing_token_source_fails_the_request_as_unauthenticated_without_sending_it() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let access = ClusterAccess {
            cluster: ClusterId::new("local"),
            endpoint: format!("http://{addr}"),
            ca_data: None,
            auth: ClusterAuth::Token(SecretString::new("t")),
        };
        let source = std::sync::Arc::new(Counting { fail: true, ..Counting::default() });
        let client = client_with_token_source(&access, source).await.expect("client");
        let err = client.apiserver_version().await.expect_err("no token, no request");
        let err = crate::kube::classify(err);
        assert_eq!(err.kind(), wooo_core::ErrorKind::Unauthenticated, "{err}");
        assert!(err.to_string().contains("no credentials"), "{err}");
        let accepted = tokio::time::timeout(std::time::Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "a request was sent without a token");
    }

    #[tokio::test]
    async fn bad_endpoint_is_an_invalid_spec() {
        let access = ClusterAccess {
            cluster: ClusterId::new("x"),
            endpoint: "ftp://nowhere".into(),
            ca_data: None,
            auth: ClusterAuth::Token(SecretString::new("t")),
        };
        let Err(err) = client(&access).await else { panic!("expected an error") };
        assert_eq!(err.violations()[0].field, "endpoint");
    }

    #[tokio::test]
    async fn bad_ca_data_is_a_provider_error() {
        let access = ClusterAccess {
            cluster: ClusterId::new("x"),
            endpoint: "https://127.0.0.1:1".into(),
            ca_data: Some("not base64 !!".into()),
            auth: ClusterAuth::Token(SecretString::new("t")),
        };
        let Err(err) = client(&access).await else { panic!("expected an error") };
        assert_eq!(err.kind(), wooo_core::ErrorKind::Provider, "{err}");
    }
}
