//! Google Cloud cost sources (feature `gcp`).
//!
//! - [`BillingCatalog`]: Compute Engine list prices from the Cloud Billing Catalog API (`services.skus.list` of
//!   the Compute Engine service, every page): typed [`SkuRate`]s per region, machine family, resource (vCPU,
//!   RAM) and tier (on-demand, Spot, 1- and 3-year committed use), turned into a
//!   [`GceCatalog`] and so into the engine's [`PriceTable`] of GKE machine types. The table carries the
//!   committed-use discount of the machine types in use, derived from the catalogue's committed-use and
//!   on-demand rates ([`commitment_discount`]; 1-year unless
//!   [`BillingCatalogBuilder::commitment_term_years`] says 3), and none when the catalogue has no such rates,
//!   so the engine recommends a commitment only at a discount Google lists.
//!   The repo's `gce.csv` ([`GceCatalog::from_dir`](crate::catalog::GceCatalog::from_dir)) is the offline
//!   fallback with the same shape.
//!
//! - [`GkeCostAnalyzer`]: the [`CostAnalyzer`](wooo_core::CostAnalyzer) of GKE clusters at list prices: an
//!   [`ClusterInventory`](crate::sources::ClusterInventory) priced with such a table, allocated and recommended on by the engine.
//!
//! Errors are [`wooo_core::Error`]s with provider [`PROVIDER`] (`"gcp-cost"`), read from the `google.rpc.Status`
//! body: `RESOURCE_EXHAUSTED` is [`Throttled`](wooo_core::Error::Throttled), `PERMISSION_DENIED`
//! [`PermissionDenied`](wooo_core::Error::PermissionDenied), 5xx and lost answers
//! [`Transient`](wooo_core::Error::Transient).
//!
//! Module shape (as `aws`): `api.rs` the seam (one page of SKUs, in wooo's types; unit tests mock it),
//! `rest.rs` that seam over HTTPS, `skus.rs` the pure step from a SKU to a typed rate, `commitment.rs` the
//! pure committed-use discount of a table.

mod analyzer;
mod api;
mod commitment;
mod rest;
mod skus;

use std::sync::Arc;

use google_cloud_auth::credentials::Credentials;
use wooo_core::model::PriceTable;
use wooo_core::{Error, Result};

pub use self::analyzer::GkeCostAnalyzer;
pub use self::api::{CatalogApi, SkuPage};
pub use self::commitment::{commitment_discount, commitment_tier};
pub use self::skus::{Sku, SkuRate, family, rates};
use crate::catalog::GceCatalog;

/// The provider name in this module's errors.
pub const PROVIDER: &str = "gcp-cost";
/// The Cloud Billing service id of Compute Engine.
pub const COMPUTE_ENGINE_SERVICE: &str = "6F81-5844-456A";
/// Most pages read before giving up on a catalogue that never ends.
const MAX_PAGES: usize = 200;

/// Compute Engine prices from the Cloud Billing Catalog API. Build it with [`BillingCatalog::builder`].
#[derive(Debug, Clone)]
pub struct BillingCatalog {
    api: Arc<dyn CatalogApi>,
    currency: String,
    commitment_term_years: u32,
}

/// Builds a [`BillingCatalog`].
#[derive(Clone, Default)]
pub struct BillingCatalogBuilder {
    endpoint: Option<String>,
    credentials: Option<Credentials>,
    anonymous: bool,
    currency: Option<String>,
    commitment_term_years: Option<u32>,
}

impl std::fmt::Debug for BillingCatalogBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingCatalogBuilder")
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.credentials.is_some())
            .field("currency", &self.currency)
            .field("commitment_term_years", &self.commitment_term_years)
            .finish()
    }
}

impl BillingCatalogBuilder {
    /// Another endpoint (a local test server).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Credentials the host program made (else Application Default Credentials).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// No credentials (a local test server).
    pub fn anonymous(mut self) -> Self {
        self.anonymous = true;
        self
    }

    /// The currency prices are asked in (`USD` otherwise).
    pub fn currency(mut self, code: impl Into<String>) -> Self {
        self.currency = Some(code.into());
        self
    }

    /// The term (1 or 3 years) of the committed-use discount [`BillingCatalog::price_table`] derives; 1 year
    /// unless set.
    pub fn commitment_term_years(mut self, years: u32) -> Self {
        self.commitment_term_years = Some(years);
        self
    }

    /// The catalog. Installs rustls' ring provider as the process default unless one is installed.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] naming `endpoint_url`, `currency` or `commitment_term_years` (not 1 or 3);
    /// [`Error::Unauthenticated`] when Application
    /// Default Credentials cannot be loaded.
    pub fn build(self) -> Result<BillingCatalog> {
        let endpoint = self.endpoint.unwrap_or_else(|| rest::DEFAULT_ENDPOINT.to_string());
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            return Err(Error::invalid_spec("endpoint_url", format!("`{endpoint}` is not an http(s) URL")));
        }
        let currency = self.currency.unwrap_or_else(|| "USD".to_string());
        if currency.parse::<wooo_core::model::Currency>().is_err() {
            return Err(Error::invalid_spec("currency", format!("`{currency}` is not a three-letter currency code")));
        }
        let term = self.commitment_term_years.unwrap_or(1);
        if commitment_tier(term).is_none() {
            return Err(Error::invalid_spec(
                "commitment_term_years",
                format!("Compute Engine commitments last 1 or 3 years, not {term}"),
            ));
        }
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let credentials = match (self.credentials, self.anonymous) {
            (_, true) => None,
            (Some(c), false) => Some(c),
            (None, false) => Some(
                google_cloud_auth::credentials::Builder::default()
                    .with_scopes(["https://www.googleapis.com/auth/cloud-billing.readonly"])
                    .build()
                    .map_err(|e| Error::Unauthenticated {
                        provider: PROVIDER,
                        message: format!("no Application Default Credentials: {e}"),
                        source: Some(Box::new(e)),
                    })?,
            ),
        };
        let client = reqwest::Client::builder().build().map_err(|e| Error::Provider {
            provider: PROVIDER,
            message: format!("the HTTPS client cannot be built: {e}"),
            source: Some(Box::new(e)),
        })?;
        let catalog = BillingCatalog::with_api(Arc::new(rest::HttpApi { client, endpoint, credentials }), &currency);
        Ok(BillingCatalog { commitment_term_years: term, ..catalog })
    }
}

impl BillingCatalog {
    /// A [`BillingCatalogBuilder`].
    pub fn builder() -> BillingCatalogBuilder {
        BillingCatalogBuilder::default()
    }

    /// A catalog over any [`CatalogApi`] (a host program's own transport, a test double), deriving 1-year
    /// committed-use discounts.
    pub fn with_api(api: Arc<dyn CatalogApi>, currency: &str) -> Self {
        Self { api, currency: currency.to_string(), commitment_term_years: 1 }
    }

    /// Every typed Compute Engine rate of the catalogue, from every page, in `regions` (all regions when
    /// empty), sorted by region, family, resource and tier. A family priced twice at one tier (two SKUs) keeps
    /// the first.
    ///
    /// # Errors
    /// The calls' errors; [`Error::Provider`] when the catalogue does not end after 200 pages.
    pub async fn rates(&self, regions: &[&str]) -> Result<Vec<SkuRate>> {
        let mut out: Vec<SkuRate> = Vec::new();
        let mut token = String::new();
        for _ in 0..MAX_PAGES {
            let page = self.api.list_skus(COMPUTE_ENGINE_SERVICE, &self.currency, &token).await?;
            for sku in &page.skus {
                out.extend(
                    rates(sku).into_iter().filter(|r| regions.is_empty() || regions.contains(&r.region.as_str())),
                );
            }
            if page.next_page_token.is_empty() {
                out.sort_by(|a, b| {
                    (&a.region, &a.family, a.resource, a.tier).cmp(&(&b.region, &b.family, b.resource, b.tier))
                });
                out.dedup_by(|b, a| {
                    (&a.region, &a.family, a.resource, a.tier) == (&b.region, &b.family, b.resource, b.tier)
                });
                return Ok(out);
            }
            token = page.next_page_token;
        }
        Err(Error::Provider {
            provider: PROVIDER,
            message: format!("the SKU list did not end after {MAX_PAGES} pages"),
            source: None,
        })
    }

    /// The rates of `regions` as a [`GceCatalog`], the same shape as the repo's offline `gce.csv`.
    ///
    /// # Errors
    /// As [`BillingCatalog::rates`]; [`Error::Provider`] when the rates are not in US dollars (the catalogue
    /// format is USD).
    pub async fn gce_catalog(&self, regions: &[&str]) -> Result<GceCatalog> {
        let rates = self.rates(regions).await?;
        let mut csv = String::from("region,family,resource,unit,tier,usd,sku,description\n");
        for r in &rates {
            if r.price.currency().code() != "USD" {
                return Err(Error::Provider {
                    provider: PROVIDER,
                    message: format!("SKU {} is priced in {}, not USD", r.sku_id, r.price.currency().code()),
                    source: None,
                });
            }
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},\n",
                r.region,
                r.family,
                r.resource.as_str(),
                r.unit.as_str(),
                r.tier.as_str(),
                r.price.decimal_string(),
                r.sku_id
            ));
        }
        let catalog = GceCatalog::from_reader(csv.as_bytes()).map_err(|e| Error::Provider {
            provider: PROVIDER,
            message: format!("the Cloud Billing rates do not form a price catalogue: {e}"),
            source: Some(Box::new(e)),
        })?;
        Ok(catalog.with_source(
            "Cloud Billing Catalog API (Compute Engine SKUs); spot = Spot/preemptible; GKE fee 0.10 USD/h",
        ))
    }

    /// The engine's price table of `region` for `machines` (`(machine type, family, vCPUs, GiB)`), priced
    /// from the live catalogue, with the committed-use discount of those machines at the catalog's term
    /// ([`commitment_discount`]: the smallest exact saving of their committed-use over on-demand prices,
    /// rounded down to a whole percent), or no discount when the catalogue lists no committed-use rates of a
    /// machine's family at that term.
    ///
    /// # Errors
    /// As [`BillingCatalog::gce_catalog`], and [`Error::NotFound`] when the catalogue has no price for a
    /// machine's family in the region.
    pub async fn price_table(&self, region: &str, machines: &[(&str, &str, f64, f64)]) -> Result<PriceTable> {
        let catalog = self.gce_catalog(&[region]).await?;
        let mut table = catalog.price_table(region, machines).map_err(|e| Error::NotFound {
            provider: PROVIDER,
            resource: format!("Compute Engine prices: {e}"),
            source: Some(Box::new(e)),
        })?;
        table.commitment_discount = commitment_discount(&catalog, region, machines, self.commitment_term_years);
        Ok(table)
    }
}

#[cfg(test)]
#[path = "billing_tests.rs"]
mod tests;
