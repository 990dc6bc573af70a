//! `wooo_cost::gcp::BillingCatalog` against a scripted Cloud Billing Catalog server (wiremock on 127.0.0.1):
//! three pages of Compute Engine SKUs, each answer checked against the `cloudbilling:v1` discovery document's
//! `ListSkusResponse` schema (so prices carry `units` as int64 strings and `nanos` as int32, as Google defines).

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use wooo_core::model::{
    Capacity, ClusterId, ClusterSnapshot, CommitmentDiscount, NodePoolSpec, PriceTable, Recommendation,
    RecommendedAction, TimeWindow,
};
use wooo_core::{CostAnalyzer, ErrorKind, RecommendOptions};
use wooo_cost::catalog::{GceResource, GceTier};
use wooo_cost::gcp::{BillingCatalog, GkeCostAnalyzer};
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
    /// Whether the last page also lists N2's 1-year committed-use RAM SKU (so 1-year commitments of n2 have
    /// both a vCPU and a RAM rate).
    ram_1yr: bool,
}

impl Billing {
    fn new(ram_1yr: bool) -> Self {
        Self { doc: Arc::new(Discovery::cloudbilling()), seen: Arc::default(), violations: Arc::default(), ram_1yr }
    }
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
                ]
                .into_iter()
                .chain(self.ram_1yr.then(|| {
                    sku(
                        "3B7E-6A1D-9F0C",
                        "Commitment v1: N2 Ram in Belgium for 1 Year",
                        "RAM",
                        "Commit1Yr",
                        "GiBy.h",
                        "0",
                        2_936_000,
                    )
                }))
                .collect(),
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
    let billing = Billing::new(false);
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
    // A 1-year vCPU rate and a 3-year RAM rate price no whole commitment: no discount is invented.
    assert_eq!(table.commitment_discount, None);
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

fn steady_n2_pool() -> ClusterSnapshot {
    ClusterSnapshot {
        node_pools: vec![NodePoolSpec {
            name: "web".into(),
            instance_types: vec!["n2-standard-4".into()],
            min: 3,
            max: 6,
            desired: Some(3),
            capacity: Capacity::OnDemand,
            labels: Default::default(),
            taints: Vec::new(),
            disk: Default::default(),
            zones: Vec::new(),
        }],
        ..ClusterSnapshot::default()
    }
}

async fn commitments(table: PriceTable) -> Vec<Recommendation> {
    let analyzer = GkeCostAnalyzer::new(Arc::new(steady_n2_pool()), table);
    let week = TimeWindow::last_hours("2026-12-03T00:00:00Z".parse().unwrap(), 168);
    let options = RecommendOptions { kinds: vec!["commitment"], min_monthly_savings: None };
    analyzer.recommend(&ClusterId::new("shop"), &week, &options).await.expect("recommendations")
}

#[tokio::test]
async fn the_commitment_recommended_is_at_the_discount_of_the_catalogues_committed_use_skus() {
    let billing = Billing::new(true);
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(billing.clone()).mount(&server).await;
    let catalog = BillingCatalog::builder().anonymous().endpoint_url(server.uri()).build().unwrap();
    let machines = [("n2-standard-4", "n2", 4.0, 16.0)];
    let table = catalog.price_table("europe-west1", &machines).await.expect("table");
    let discount = table.commitment_discount.clone().expect("1-year vCPU and RAM rates of n2");
    // On demand 4 × 0.034773 + 16 × 0.004661 = 0.213668; 1-year 4 × 0.021907 + 16 × 0.002936 = 0.134604:
    // 37.003…% off, rounded down.
    assert_eq!((discount.term_years, discount.percent), (1, 37));
    assert!(discount.source.contains("n2-standard-4 0.134604 vs 0.213668 USD/h (37.00%)"), "{}", discount.source);

    let recs = commitments(table).await;
    assert_eq!(recs.len(), 1, "{recs:?}");
    let RecommendedAction::Commitment { hourly_commitment, term_years, discount } = &recs[0].action else {
        panic!("not a commitment: {:?}", recs[0].action)
    };
    assert_eq!((*term_years, *discount), (1, 0.37));
    // 3 nodes × 0.213668 = 0.641004/h steady; 80% covered = 0.5128032; billed at 63% = 0.323066016/h;
    // saved 0.5128032 × 37% × 730 h.
    assert_eq!(hourly_commitment.amount().decimal_string(), "0.323066016");
    assert_eq!(recs[0].estimated_monthly_savings.amount().decimal_string(), "138.50814432");
    let evidence = recs[0].evidence.iter().find(|e| e.metric == "discount").expect("discount evidence");
    assert!(evidence.detail.contains("Compute Engine 1-year committed-use rates"), "{evidence:?}");

    // A 3-year commitment: the catalogue lists N2's 3-year RAM but not its 3-year vCPU rate, so no discount
    // and no commitment; an impossible term is refused when built.
    let three = BillingCatalog::builder().anonymous().endpoint_url(server.uri()).commitment_term_years(3).build();
    let table = three.unwrap().price_table("europe-west1", &machines).await.unwrap();
    assert_eq!(table.commitment_discount, None);
    assert!(commitments(table).await.is_empty(), "no commitment without the catalogue's rates");
    let err = BillingCatalog::builder().anonymous().commitment_term_years(2).build().unwrap_err();
    assert!(err.to_string().contains("commitment_term_years"), "{err}");
    assert!(billing.violations.lock().unwrap().is_empty(), "{:?}", billing.violations.lock().unwrap());
}

#[tokio::test]
async fn without_committed_use_skus_no_commitment_is_recommended() {
    let billing = Billing::new(false);
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(billing.clone()).mount(&server).await;
    let catalog = BillingCatalog::builder().anonymous().endpoint_url(server.uri()).build().unwrap();
    let table = catalog.price_table("europe-west1", &[("n2-standard-4", "n2", 4.0, 16.0)]).await.unwrap();
    assert_eq!(table.commitment_discount, None);
    assert!(commitments(table.clone()).await.is_empty());
    // The same steady pool does get one once the table knows a discount (so the empty answer above is the
    // missing discount's doing, not the pool's).
    let mut known = table;
    known.commitment_discount =
        Some(CommitmentDiscount { term_years: 1, percent: 20, source: "a test's figure".into() });
    assert_eq!(commitments(known).await.len(), 1);
}
