//! The thin seam between [`super::CostManagement`] and ARM: one POST of a Query body to a URL (the scope's query
//! URL, or a page's `nextLink`), in JSON. [`ArmQuery`] implements it over azure_core 0.10's HTTP client and a
//! token credential; unit tests mock it. Errors are classified here, once.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use azure_core::auth::TokenCredential;
use azure_core::{HttpClient, Method, Request, Url};
use serde_json::Value;
use wooo_core::{Error, Result};

/// The provider name in the errors of the Azure cost sources.
pub const PROVIDER: &str = "azure-cost";

/// One Query call.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub(crate) trait CostApi: Send + Sync + std::fmt::Debug + 'static {
    /// POSTs `body` to `url`; the answer's JSON (`Null` for 204: no data).
    async fn post(&self, url: &str, body: &Value) -> Result<Value>;
}

/// [`CostApi`] over azure_core.
pub(crate) struct ArmQuery {
    http: Arc<dyn HttpClient>,
    credential: Arc<dyn TokenCredential>,
    scope: String,
}

impl std::fmt::Debug for ArmQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmQuery").field("scope", &self.scope).finish_non_exhaustive()
    }
}

impl ArmQuery {
    pub(crate) fn new(endpoint: &str, credential: Arc<dyn TokenCredential>) -> Self {
        Self {
            http: azure_core::new_http_client(),
            credential,
            // azure_identity 0.10's credentials take a resource and ask for its `/.default` scope themselves.
            scope: endpoint.trim_end_matches('/').to_string(),
        }
    }
}

/// Classifies a Query answer with an error status, keeping the ARM code and message.
pub(crate) fn classify(status: u16, body: &[u8], retry_after: Option<&str>) -> Error {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let inner = json.get("error").unwrap_or(&json);
    let code = inner.get("code").and_then(Value::as_str).unwrap_or_default();
    let message = format!(
        "cost query: {}: {}",
        if code.is_empty() { format!("HTTP {status}") } else { code.to_string() },
        inner.get("message").and_then(Value::as_str).unwrap_or_default()
    );
    match status {
        429 => Error::Throttled {
            provider: PROVIDER,
            message,
            retry_after: retry_after.and_then(|v| v.trim().parse().ok()).map(Duration::from_secs),
            source: None,
        },
        401 => Error::Unauthenticated { provider: PROVIDER, message, source: None },
        403 => Error::PermissionDenied { provider: PROVIDER, message, source: None },
        404 => Error::NotFound { provider: PROVIDER, resource: message, source: None },
        400 => Error::invalid_spec("query", message),
        s if s >= 500 || s == 408 => Error::Transient { provider: PROVIDER, message, source: None },
        _ => Error::Provider { provider: PROVIDER, message, source: None },
    }
}

#[async_trait]
impl CostApi for ArmQuery {
    async fn post(&self, url: &str, body: &Value) -> Result<Value> {
        let fail = |m: String| Error::Transient { provider: PROVIDER, message: m, source: None };
        let url = Url::parse(url).map_err(|e| Error::invalid_spec("scope", format!("not a URL: {e}")))?;
        let token = self.credential.get_token(&self.scope).await.map_err(|e| Error::Unauthenticated {
            provider: PROVIDER,
            message: format!("no Azure token: {e}"),
            source: None,
        })?;
        let mut req = Request::new(url, Method::Post);
        req.insert_header(azure_core::headers::AUTHORIZATION, format!("Bearer {}", token.token.secret()));
        req.insert_header("content-type", "application/json");
        req.set_body(azure_core::to_json(body).map_err(|e| fail(e.to_string()))?);
        let response = self.http.execute_request(&req).await.map_err(|e| fail(format!("cost query: {e}")))?;
        let (status, headers, body) = response.deconstruct();
        let status = u16::from(status);
        let retry = headers.get_optional_string(&azure_core::headers::HeaderName::from_static("retry-after"));
        let bytes = body.collect().await.map_err(|e| fail(format!("cost query: {e}")))?;
        if status >= 400 {
            return Err(classify(status, &bytes, retry.as_deref()));
        }
        if status == 204 || bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| Error::Provider {
            provider: PROVIDER,
            message: format!("cost query: unreadable answer: {e}"),
            source: None,
        })
    }
}
