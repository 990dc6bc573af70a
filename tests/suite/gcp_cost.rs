//! `wooo_cost::gcp::BillingCatalog` against a scripted Cloud Billing Catalog server (wiremock on 127.0.0.1):
//! three pages of Compute Engine SKUs, each answer checked against the `cloudbilling:v1` discovery document's
//! `ListSkusResponse` schema (so prices carry `units` as int64 strings and `nanos` as int32, as Google defines).

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use wooo_core::ErrorKind;
use wooo_cost::catalog::{GceResource, GceTier};
use wooo_cost::gcp::BillingCatalog;
use wooo_tests::discovery::Discovery;

fn sku(id: &str, description: &str, group: &str, usage: &str, unit: &str, units: &str, nanos: i32) -> Value {
    let base = if unit == "h" { "s" } else { "By.s" };
    json!({
        "name": format!("services/6F81-5844-456A/skus/{id}"),
        "skuId": id,
        "description": description,
        "category": {"serviceDisplayName": "Compute Engine", "resourceFamily": "Compute", "resourceGroup": group, "usageType": usage},
        "serviceRegions": ["europe-west1"],
        "pricingInfo": [{
            "summary": "",
            "pricingExpression": {
                "usageUnit": unit,
                "displayQuantity": 1,
                "baseUnit": base,
                "baseUnitConversionFactor": 3600,
                "tieredRates": [{"startUsageAmount": 0, "unitPrice": {"currencyCode": "USD", "units": units, "nanos": nanos}}],
            },
            "aggregationInfo": {"aggregationLevel": "ACCOUNT", "aggregationInterval": "DAILY", "aggregationCount": 1},
            "currencyConversionRate": 1,
            "effectiveTime": "2026-12-01T09:00:00.000Z",
        }],
        "serviceProviderName": "Google",
        "geoTaxonomy": {"type": "REGIONAL", "regions": ["europe-west1"]},
    })
}

#[derive(Clone)]
struct Billing {
    doc: Arc<Discovery>,
    seen: Arc<Mutex<Vec<String>>>,
    violations: Arc<Mutex<Vec<String>>>,
}

impl Respond for Billing {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let method = self.doc.method(req.method.as_str(), req.url.path());
        let query: std::collections::BTreeMap<String, String> = req.url.query_pairs().into_owned().collect();
        let token = query.get("pageToken").cloned().unwrap_or_default();
        self.seen.lock().unwrap().push(format!("{} {token}", req.url.path()));
        if method.as_ref().map(|m| m.id.as_str()) != Some("cloudbilling.services.skus.list") {
            self.violations.lock().unwrap().push(format!("not services.skus.list: {}", req.url.path()));
        }
        if query.get("currencyCode").map(String::as_str) != Some("USD") {
            self.violations.lock().unwrap().push("no currencyCode=USD".into());
        }
        let (skus, next) = match token.as_str() {
            "" => (
                vec![
                    sku(
                        "9431-52B0-5AD1",
                        "N2 Instance Core running in Belgium",
                        "CPU",
                        "OnDemand",
                        "h",
                        "0",
                        34_773_000,
                    ),
                    sku(
                        "1A3C-2A21-A36E",
                        "N2 Instance Ram running in Belgium",
                        "RAM",
                        "OnDemand",
                        "GiBy.h",
                        "0",
                        4_661_000,
                    ),
                ],
                "page-2",
            ),
            "page-2" => (
                vec![
                    sku(
                        "D4E2-5C2B-B9E0",
                        "Spot Preemptible N2 Instance Core running in Belgium",
                        "CPU",
                        "Preemptible",
                        "h",
                        "0",
                        8_416_000,
                    ),
                    sku(
                        "C2B0-2E52-3A3E",
                        "Spot Preemptible N2 Instance Ram running in Belgium",
                        "RAM",
                        "Preemptible",
                        "GiBy.h",
                        "0",
                        1_128_000,
                    ),
                    sku("0000-1111-2222", "Nvidia L4 GPU running in Belgium", "GPU", "OnDemand", "h", "0", 672_000_000),
                ],
                "page-3",
            ),
            _ => (
                vec![
                    sku(
                        "7D4F-9B2E-1C3A",
                        "Commitment v1: N2 Cpu in Belgium for 1 Year",
                        "CPU",
                        "Commit1Yr",
                        "h",
                        "0",
                        21_907_000,
                    ),
                    sku(
                        "8E5A-0C3F-2D4B",
                        "Commitment v1: N2 Ram in Belgium for 3 Year",
                        "RAM",
                        "Commit3Yr",
                        "GiBy.h",
                        "0",
                        2_097_000,
                    ),
                ],
                "",
            ),
        };
        let body = json!({"skus": skus, "nextPageToken": next});
        let bad = self.doc.check("ListSkusResponse", &body);
        self.violations.lock().unwrap().extend(bad);
        ResponseTemplate::new(200).set_body_json(body)
    }
}

#[tokio::test]
async fn every_page_of_skus_is_read_into_typed_rates_and_machine_prices() {
    let billing =
        Billing { doc: Arc::new(Discovery::cloudbilling()), seen: Arc::default(), violations: Arc::default() };
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(billing.clone()).mount(&server).await;
    let catalog = BillingCatalog::builder().anonymous().endpoint_url(server.uri()).build().expect("builds");
    let rates = catalog.rates(&["europe-west1"]).await.expect("rates");
    assert_eq!(
        *billing.seen.lock().unwrap(),
        [
            "/v1/services/6F81-5844-456A/skus ",
            "/v1/services/6F81-5844-456A/skus page-2",
            "/v1/services/6F81-5844-456A/skus page-3"
        ]
    );
    let tiers: Vec<(GceResource, GceTier)> = rates.iter().map(|r| (r.resource, r.tier)).collect();
    assert_eq!(
        tiers,
        [
            (GceResource::Cpu, GceTier::OnDemand),
            (GceResource::Cpu, GceTier::Preemptible),
            (GceResource::Cpu, GceTier::Commit1Yr),
            (GceResource::Ram, GceTier::OnDemand),
            (GceResource::Ram, GceTier::Preemptible),
            (GceResource::Ram, GceTier::Commit3Yr),
        ]
    );
    let table = catalog.price_table("europe-west1", &[("n2-standard-4", "n2", 4.0, 16.0)]).await.expect("table");
    let n2 = table.get("n2-standard-4").unwrap();
    // 4 × 0.034773 + 16 × 0.004661 on demand; 4 × 0.008416 + 16 × 0.001128 spot.
    assert_eq!(n2.on_demand.amount().decimal_string(), "0.213668");
    assert_eq!(n2.spot.unwrap().amount().decimal_string(), "0.051712");
    assert!(billing.violations.lock().unwrap().is_empty(), "{:?}", billing.violations.lock().unwrap());
}

#[tokio::test]
async fn an_invented_field_fails_the_schema_and_a_throttled_list_is_typed() {
    let doc = Discovery::cloudbilling();
    // The responder's bodies are what the schema allows; an invented field is not.
    let bad = json!({"skus": [{"skuId": "x", "priceUSD": 1}]});
    assert_eq!(doc.check("ListSkusResponse", &bad), ["$.skus[0].priceUSD: no such field in the schema"]);
    let bad =
        json!({"skus": [{"pricingInfo": [{"pricingExpression": {"tieredRates": [{"unitPrice": {"units": 1}}]}}]}]});
    assert_eq!(doc.check("ListSkusResponse", &bad).len(), 1, "int64 units are strings");
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"error": {"code": 429, "message": "Quota exceeded for quota metric 'Read requests'", "status": "RESOURCE_EXHAUSTED"}})))
        .mount(&server)
        .await;
    let catalog = BillingCatalog::builder().anonymous().endpoint_url(server.uri()).build().unwrap();
    assert_eq!(catalog.rates(&[]).await.unwrap_err().kind(), ErrorKind::Throttled);
}
