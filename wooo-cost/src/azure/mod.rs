//! Azure cost sources (feature `azure`).
//!
//! [`CostManagement`]: the actual cost of a scope (a subscription, a resource group, an AKS cluster's node
//! resource group) over a window, daily, grouped by resource group, resource or a tag, from the Cost Management
//! Query API (`POST {scope}/providers/Microsoft.CostManagement/query`, API 2023-07-01-preview), every page
//! through `nextLink`, amounts parsed exactly into [`Money`] in the currency each row reports.
//!
//! Errors have provider [`PROVIDER`]: 429 is `Throttled` with `Retry-After` (honoured by the retries), 401
//! `Unauthenticated`, 403 `PermissionDenied`, 404 `NotFound`, 400 `InvalidSpec`, 5xx `Transient`.
//!
//! [`AksCostAnalyzer`]: the [`wooo_core::CostAnalyzer`] of AKS clusters, [`CostManagementBilling`] (the
//! actual cost of the cluster's node resource group and of its managed cluster resource, the VM cost split over
//! the node pools by list price) composed with the engine, as `aws::EksCostAnalyzer` is.

mod analyzer;
mod api;

use std::sync::Arc;
use std::time::Duration;

use azure_core::auth::TokenCredential;
use jiff::civil::Date;
use serde_json::{Value, json};
use wooo_core::model::{Currency, Money};
use wooo_core::{Error, Result};

pub use self::analyzer::{AksCostAnalyzer, CostManagementBilling, NODE_METER_CATEGORY};
pub use self::api::PROVIDER;
use self::api::{ArmQuery, CostApi};

/// The Cost Management API version of the queries.
pub const API_VERSION: &str = "2023-07-01-preview";

/// How rows are grouped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CostGroupBy {
    /// By resource group (`ResourceGroupName`).
    ResourceGroup,
    /// By resource id (`ResourceId`).
    Resource,
    /// By the value of a tag.
    Tag(String),
    /// By meter category (`MeterCategory`: `Virtual Machines`, `Storage`, `Bandwidth`, …).
    MeterCategory,
}

/// The actual cost of one group on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyCost {
    /// The day (UTC).
    pub date: Date,
    /// The group's value (a resource group, a resource id, a tag value; empty when untagged).
    pub group: String,
    /// The cost, in the currency the API reported.
    pub cost: Money,
}

/// The Cost Management Query source. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct CostManagement {
    api: Arc<dyn CostApi>,
    endpoint: String,
    attempts: u32,
}

impl CostManagement {
    /// A source for ARM at `endpoint` (`https://management.azure.com`, or a mock) with `credential`.
    pub fn new(endpoint: impl Into<String>, credential: Arc<dyn TokenCredential>) -> Self {
        let endpoint = endpoint.into().trim_end_matches('/').to_string();
        Self { api: Arc::new(ArmQuery::new(&endpoint, credential)), endpoint, attempts: 5 }
    }

    /// Attempts per page on throttling and transient failures (default 5).
    #[must_use]
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// The actual cost of `scope` (`subscriptions/<id>` or `subscriptions/<id>/resourceGroups/<name>`) from
    /// `from` to `to` (inclusive), per day and group, every page.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] for an empty or malformed scope or a window that ends before it starts (before any
    /// call); the classified errors of the API (see the module docs).
    pub async fn actual_cost(
        &self,
        scope: &str,
        from: Date,
        to: Date,
        group_by: &CostGroupBy,
    ) -> Result<Vec<DailyCost>> {
        let scope = scope.trim_matches('/');
        if scope.is_empty() || !scope.to_ascii_lowercase().starts_with("subscriptions/") {
            return Err(Error::invalid_spec(
                "scope",
                format!("`{scope}` is not a subscription or resource group scope"),
            ));
        }
        if to < from {
            return Err(Error::invalid_spec("window", format!("{to} is before {from}")));
        }
        let body = query_body(from, to, group_by);
        let mut url =
            format!("{}/{scope}/providers/Microsoft.CostManagement/query?api-version={API_VERSION}", self.endpoint);
        let mut out = Vec::new();
        let mut pages = 0;
        loop {
            let page = self.post(&url, &body).await?;
            let (rows, next) = parse_page(&page, group_by)?;
            out.extend(rows);
            pages += 1;
            match next {
                Some(next) if pages < 1000 => url = next,
                _ => return Ok(out),
            }
        }
    }

    async fn post(&self, url: &str, body: &Value) -> Result<Value> {
        let mut attempt = 1;
        loop {
            match self.api.post(url, body).await {
                Err(e) if e.is_retryable() && attempt < self.attempts => {
                    let backoff = Duration::from_millis(500 * (1 << attempt.min(5)));
                    tokio::time::sleep(e.retry_after().unwrap_or(backoff)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// The column a grouping yields.
fn group_column(group_by: &CostGroupBy) -> (&'static str, String) {
    match group_by {
        CostGroupBy::ResourceGroup => ("Dimension", "ResourceGroupName".into()),
        CostGroupBy::Resource => ("Dimension", "ResourceId".into()),
        CostGroupBy::Tag(key) => ("TagKey", key.clone()),
        CostGroupBy::MeterCategory => ("Dimension", "MeterCategory".into()),
    }
}

/// The Query body: actual cost, a custom window, daily, summed, grouped.
pub(crate) fn query_body(from: Date, to: Date, group_by: &CostGroupBy) -> Value {
    let (kind, name) = group_column(group_by);
    json!({
        "type": "ActualCost",
        "timeframe": "Custom",
        "timePeriod": {"from": format!("{from}T00:00:00Z"), "to": format!("{to}T23:59:59Z")},
        "dataset": {
            "granularity": "Daily",
            "aggregation": {"totalCost": {"name": "Cost", "function": "Sum"}},
            "grouping": [{"type": kind, "name": name}],
        },
    })
}

/// The rows of one answer and its `nextLink`. Columns are found by name (their order is the API's).
pub(crate) fn parse_page(page: &Value, group_by: &CostGroupBy) -> Result<(Vec<DailyCost>, Option<String>)> {
    if page.is_null() {
        return Ok((Vec::new(), None)); // 204: no data for the window
    }
    let bad = |why: String| Error::Provider {
        provider: PROVIDER,
        message: format!("cost query answer: {why}"),
        source: None,
    };
    let props = &page["properties"];
    let columns: Vec<&str> = props["columns"]
        .as_array()
        .ok_or_else(|| bad("no columns".into()))?
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    let find = |names: &[&str]| columns.iter().position(|c| names.iter().any(|n| c.eq_ignore_ascii_case(n)));
    let cost = find(&["Cost", "PreTaxCost", "totalCost", "CostUSD"])
        .ok_or_else(|| bad(format!("no cost column in {columns:?}")))?;
    let date = find(&["UsageDate"]).ok_or_else(|| bad(format!("no UsageDate column in {columns:?}")))?;
    let (_, group_name) = group_column(group_by);
    let group = find(&[group_name.as_str(), "ResourceGroup", "TagValue"]);
    let currency = find(&["Currency"]);
    let mut out = Vec::new();
    for (i, row) in props["rows"].as_array().into_iter().flatten().enumerate() {
        let cell = |j: usize| row.get(j).cloned().unwrap_or(Value::Null);
        let amount = cell(cost).as_number().map(ToString::to_string).ok_or_else(|| bad(format!("row {i}: no cost")))?;
        let currency: Currency = match currency.map(cell) {
            Some(Value::String(c)) => c.parse().map_err(|_| bad(format!("row {i}: currency `{c}`")))?,
            _ => Currency::USD,
        };
        let cost =
            Money::from_decimal_str(&amount, currency).map_err(|e| bad(format!("row {i}: amount {amount}: {e}")))?;
        let day = cell(date).as_u64().ok_or_else(|| bad(format!("row {i}: UsageDate")))?;
        let date = Date::new((day / 10000) as i16, ((day / 100) % 100) as i8, (day % 100) as i8)
            .map_err(|e| bad(format!("row {i}: UsageDate {day}: {e}")))?;
        let group = group.map(cell).and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        out.push(DailyCost { date, group, cost });
    }
    let next = props["nextLink"].as_str().filter(|s| !s.is_empty()).map(str::to_string);
    Ok((out, next))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use jiff::civil::date;
    use wooo_core::ErrorKind;

    use super::api::MockCostApi;
    use super::*;

    fn page(rows: Value, next: Option<&str>) -> Value {
        json!({"properties": {
            "nextLink": next,
            "columns": [{"name": "Cost", "type": "Number"}, {"name": "UsageDate", "type": "Number"},
                        {"name": "ResourceGroupName", "type": "String"}, {"name": "Currency", "type": "String"}],
            "rows": rows,
        }})
    }

    #[test]
    fn pages_are_parsed_by_column_name_into_exact_money() {
        let p = page(json!([[19.545363672276512, 20240301, "mc_rg", "EUR"]]), Some("https://arm/next"));
        let (rows, next) = parse_page(&p, &CostGroupBy::ResourceGroup).expect("parses");
        assert_eq!(next.as_deref(), Some("https://arm/next"));
        assert_eq!(rows[0].date, date(2024, 3, 1));
        assert_eq!(rows[0].group, "mc_rg");
        assert_eq!(rows[0].cost.currency().code(), "EUR");
        assert_eq!(rows[0].cost.decimal_string(), "19.545363672");
        assert!(parse_page(&Value::Null, &CostGroupBy::Resource).expect("204").0.is_empty());
        let no_cost = json!({"properties": {"columns": [{"name": "UsageDate"}], "rows": []}});
        assert_eq!(parse_page(&no_cost, &CostGroupBy::Resource).expect_err("bad").kind(), ErrorKind::Provider);
    }

    #[test]
    fn the_query_asks_for_daily_actual_cost_grouped_as_asked() {
        let body = query_body(date(2024, 3, 1), date(2024, 3, 31), &CostGroupBy::Tag("team".into()));
        assert_eq!(body["type"], "ActualCost");
        assert_eq!(body["timePeriod"]["to"], "2024-03-31T23:59:59Z");
        assert_eq!(body["dataset"]["granularity"], "Daily");
        assert_eq!(body["dataset"]["grouping"][0], json!({"type": "TagKey", "name": "team"}));
    }

    #[tokio::test(start_paused = true)]
    async fn every_page_is_read_and_throttling_is_retried_after_its_delay() {
        let mut api = MockCostApi::new();
        let calls = Arc::new(Mutex::new(Vec::<String>::new()));
        let c = calls.clone();
        api.expect_post().returning(move |url, _| {
            let mut calls = c.lock().unwrap();
            calls.push(url.to_string());
            match calls.len() {
                1 => Ok(page(json!([[1.5, 20240301, "a", "USD"]]), Some("https://arm/page2"))),
                2 => Err(api::classify(429, br#"{"error":{"code":"429","message":"Too many requests"}}"#, Some("30"))),
                _ => Ok(page(json!([[2.25, 20240302, "b", "USD"]]), None)),
            }
        });
        let cm = CostManagement { api: Arc::new(api), endpoint: "https://arm".into(), attempts: 3 };
        let start = tokio::time::Instant::now();
        let rows = cm
            .actual_cost(
                "subscriptions/s1/resourceGroups/rg",
                date(2024, 3, 1),
                date(2024, 3, 2),
                &CostGroupBy::ResourceGroup,
            )
            .await
            .expect("rows");
        assert_eq!(rows.len(), 2);
        assert!(start.elapsed() >= Duration::from_secs(30), "Retry-After honoured");
        let calls = calls.lock().unwrap();
        assert!(calls[0].starts_with("https://arm/subscriptions/s1/resourceGroups/rg/providers/Microsoft.CostManagement/query?api-version=2023-07-01-preview"));
        assert_eq!(calls[1..], ["https://arm/page2".to_string(), "https://arm/page2".to_string()]);
    }

    #[tokio::test]
    async fn bad_scopes_and_windows_fail_before_any_call() {
        let cm = CostManagement { api: Arc::new(MockCostApi::new()), endpoint: "https://arm".into(), attempts: 1 };
        let err =
            cm.actual_cost("", date(2024, 3, 1), date(2024, 3, 2), &CostGroupBy::Resource).await.expect_err("scope");
        assert_eq!(err.violations()[0].field, "scope");
        let err = cm
            .actual_cost("subscriptions/s", date(2024, 3, 2), date(2024, 3, 1), &CostGroupBy::Resource)
            .await
            .expect_err("window");
        assert_eq!(err.violations()[0].field, "window");
    }
}
