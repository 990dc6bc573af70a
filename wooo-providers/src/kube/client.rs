//! `kube::Client` construction from a cluster's access data.

use kube::config::{KubeConfigOptions, Kubeconfig};
use wooo_core::model::ClusterAccess;
use wooo_core::{Error, Result};

use super::error::{PROVIDER, classify};

/// A client for the cluster described by `access` (its endpoint, CA and credentials), built through the same
/// kubeconfig path `kubectl` uses, so exec plugins (`aws eks get-token`, `kubelogin`, `gke-gcloud-auth-plugin`)
/// work as they do there.
///
/// # Errors
/// [`Error::InvalidSpec`] (field `endpoint`) for an endpoint that is not an `http(s)://` URL;
/// [`Error::Provider`] when the kubeconfig cannot be turned into a client configuration (bad CA data, bad
/// credentials format).
pub async fn client(access: &ClusterAccess) -> Result<kube::Client> {
    if !(access.endpoint.starts_with("https://") || access.endpoint.starts_with("http://")) {
        return Err(Error::invalid_spec("endpoint", format!("`{}` is not an http(s) URL", access.endpoint)));
    }
    // kube-rs builds its TLS configuration from rustls' process-wide crypto provider. When a build links two
    // providers (cloud SDKs bring aws-lc-rs, wooo's kube layer uses ring) rustls cannot choose and panics, so
    // ring is installed unless the host program installed a provider already (then this is a no-op).
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let yaml = access.to_kubeconfig_yaml()?;
    let kubeconfig = Kubeconfig::from_yaml(&yaml).map_err(|e| provider_error("kubeconfig", e))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| provider_error("client configuration", e))?;
    kube::Client::try_from(config).map_err(classify)
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
