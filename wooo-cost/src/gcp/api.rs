//! The seam between [`super::BillingCatalog`] and the Cloud Billing Catalog API: one page of
//! `services.skus.list`, in wooo's types. `super::rest::HttpApi` implements it over HTTPS with a Google access
//! token; unit tests mock it (`MockCatalogApi`).

use async_trait::async_trait;
use wooo_core::Result;

use super::skus::Sku;

/// One page of `services.skus.list`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SkuPage {
    /// The page's SKUs.
    pub skus: Vec<Sku>,
    /// `nextPageToken`: empty on the last page.
    pub next_page_token: String,
}

/// The Cloud Billing Catalog calls of [`super::BillingCatalog`].
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait CatalogApi: Send + Sync + std::fmt::Debug + 'static {
    /// `GET v1/services/{service}/skus?currencyCode=…&pageSize=…&pageToken=…`: one page.
    ///
    /// # Errors
    /// The call's error, classified (`Throttled`, `Transient`, `PermissionDenied`, …).
    async fn list_skus(&self, service: &str, currency: &str, page_token: &str) -> Result<SkuPage>;
}
