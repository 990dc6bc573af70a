//! [`CatalogApi`] over HTTPS: reqwest (the client google-cloud-auth already brings, on rustls with ring) and a
//! Google access token, with the answer read as the discovery document's `ListSkusResponse` and errors read
//! as `google.rpc.Status`.

use std::fmt;

use async_trait::async_trait;
use google_cloud_auth::credentials::{CacheableResource, Credentials};
use serde::Deserialize;
use wooo_core::{Error, Result};

use super::PROVIDER;
use super::api::{CatalogApi, SkuPage};
use super::skus::{Sku, money};

/// The Cloud Billing API.
pub(crate) const DEFAULT_ENDPOINT: &str = "https://cloudbilling.googleapis.com";
/// SKUs per page (the API's maximum is 5000).
const PAGE_SIZE: &str = "5000";

pub(crate) struct HttpApi {
    pub(crate) client: reqwest::Client,
    pub(crate) endpoint: String,
    pub(crate) credentials: Option<Credentials>,
}

impl fmt::Debug for HttpApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpApi").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ListSkusResponse {
    skus: Vec<RawSku>,
    next_page_token: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawSku {
    sku_id: String,
    description: String,
    category: RawCategory,
    service_regions: Vec<String>,
    pricing_info: Vec<RawPricingInfo>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawCategory {
    resource_family: String,
    resource_group: String,
    usage_type: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawPricingInfo {
    pricing_expression: RawExpression,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawExpression {
    usage_unit: String,
    tiered_rates: Vec<RawTier>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawTier {
    start_usage_amount: f64,
    unit_price: RawMoney,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawMoney {
    currency_code: String,
    units: String,
    nanos: i32,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorBody {
    error: RawStatus,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawStatus {
    message: String,
    status: String,
}

fn sku(raw: RawSku) -> Sku {
    let expression = raw.pricing_info.into_iter().next().map(|p| p.pricing_expression).unwrap_or_default();
    let tier = expression.tiered_rates.iter().max_by(|a, b| a.start_usage_amount.total_cmp(&b.start_usage_amount));
    Sku {
        sku_id: raw.sku_id,
        description: raw.description,
        resource_family: raw.category.resource_family,
        resource_group: raw.category.resource_group,
        usage_type: raw.category.usage_type,
        regions: raw.service_regions,
        usage_unit: expression.usage_unit,
        unit_price: tier.and_then(|t| money(&t.unit_price.currency_code, &t.unit_price.units, t.unit_price.nanos)),
    }
}

/// A refused call as a wooo error, from the HTTP status and the `google.rpc.Status` body.
pub(crate) fn classify(status: u16, body: &[u8], retry_after: Option<std::time::Duration>) -> Error {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let message = format!("list SKUs: HTTP {status} {}: {}", parsed.error.status, parsed.error.message);
    match (status, parsed.error.status.as_str()) {
        (_, "NOT_FOUND") | (404, _) => Error::NotFound { provider: PROVIDER, resource: message, source: None },
        (_, "PERMISSION_DENIED") | (403, _) => Error::PermissionDenied { provider: PROVIDER, message, source: None },
        (_, "UNAUTHENTICATED") | (401, _) => Error::Unauthenticated { provider: PROVIDER, message, source: None },
        (_, "RESOURCE_EXHAUSTED") | (429, _) => {
            Error::Throttled { provider: PROVIDER, message, retry_after, source: None }
        }
        (_, "INVALID_ARGUMENT") | (400, _) => Error::invalid_spec("page_token", message),
        (s, _) if s >= 500 => Error::Transient { provider: PROVIDER, message, source: None },
        _ => Error::Provider { provider: PROVIDER, message, source: None },
    }
}

#[async_trait]
impl CatalogApi for HttpApi {
    async fn list_skus(&self, service: &str, currency: &str, page_token: &str) -> Result<SkuPage> {
        let url = format!("{}/v1/services/{service}/skus", self.endpoint.trim_end_matches('/'));
        let mut query: Vec<(&str, &str)> = vec![("currencyCode", currency), ("pageSize", PAGE_SIZE)];
        if !page_token.is_empty() {
            query.push(("pageToken", page_token));
        }
        let mut request = self.client.get(url).query(&query);
        if let Some(c) = &self.credentials {
            let headers = c.headers(http::Extensions::new()).await.map_err(|e| Error::Unauthenticated {
                provider: PROVIDER,
                message: format!("no access token for the Cloud Billing API: {e}"),
                source: Some(Box::new(e)),
            })?;
            if let CacheableResource::New { data, .. } = headers {
                request = request.headers(data);
            }
        }
        let response = request.send().await.map_err(|e| Error::Transient {
            provider: PROVIDER,
            message: format!("list SKUs: no response: {e}"),
            source: Some(Box::new(e)),
        })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .map(std::time::Duration::from_secs);
        let body = response.bytes().await.map_err(|e| Error::Transient {
            provider: PROVIDER,
            message: format!("list SKUs: the answer was cut: {e}"),
            source: Some(Box::new(e)),
        })?;
        if status != 200 {
            return Err(classify(status, &body, retry_after));
        }
        let page: ListSkusResponse = serde_json::from_slice(&body).map_err(|e| Error::Provider {
            provider: PROVIDER,
            message: format!("list SKUs: the answer is not a ListSkusResponse: {e}"),
            source: Some(Box::new(e)),
        })?;
        Ok(SkuPage { skus: page.skus.into_iter().map(sku).collect(), next_page_token: page.next_page_token })
    }
}
