use mockall::Sequence;
use wooo_core::ErrorKind;

use super::api::MockCatalogApi;
use super::skus::money;
use super::*;
use crate::catalog::{GceResource, GceTier};

fn sku(id: &str, description: &str, group: &str, usage: &str, regions: &[&str], nanos: i32) -> Sku {
    Sku {
        sku_id: id.into(),
        description: description.into(),
        resource_family: "Compute".into(),
        resource_group: group.into(),
        usage_type: usage.into(),
        regions: regions.iter().map(|r| r.to_string()).collect(),
        usage_unit: if group == "RAM" { "GiBy.h".into() } else { "h".into() },
        unit_price: money("USD", "0", nanos),
    }
}

/// Three pages: on-demand n2, spot n2 plus noise, commitments; the last page has no token.
fn paged() -> MockCatalogApi {
    let mut api = MockCatalogApi::new();
    let mut seq = Sequence::new();
    let pages = [
        (
            "",
            "t1",
            vec![
                sku(
                    "A",
                    "N2 Instance Core running in Americas",
                    "CPU",
                    "OnDemand",
                    &["us-central1", "us-east1"],
                    31_611_000,
                ),
                sku(
                    "B",
                    "N2 Instance Ram running in Americas",
                    "RAM",
                    "OnDemand",
                    &["us-central1", "us-east1"],
                    4_237_000,
                ),
            ],
        ),
        (
            "t1",
            "t2",
            vec![
                sku(
                    "C",
                    "Spot Preemptible N2 Instance Core running in Americas",
                    "CPU",
                    "Preemptible",
                    &["us-central1"],
                    7_650_000,
                ),
                sku(
                    "D",
                    "Spot Preemptible N2 Instance Ram running in Americas",
                    "RAM",
                    "Preemptible",
                    &["us-central1"],
                    1_025_000,
                ),
                sku("E", "Nvidia Tesla T4 GPU running in Americas", "GPU", "OnDemand", &["us-central1"], 350_000_000),
                sku(
                    "F",
                    "N2 Instance Core running in Americas (again)",
                    "CPU",
                    "OnDemand",
                    &["us-central1"],
                    99_000_000,
                ),
            ],
        ),
        (
            "t2",
            "",
            vec![
                sku(
                    "G",
                    "Commitment v1: N2 Cpu in Americas for 1 Year",
                    "CPU",
                    "Commit1Yr",
                    &["us-central1"],
                    19_915_000,
                ),
                sku(
                    "H",
                    "Commitment v1: N2 Ram in Americas for 1 Year",
                    "RAM",
                    "Commit1Yr",
                    &["us-central1"],
                    2_669_000,
                ),
            ],
        ),
    ];
    for (token, next, skus) in pages {
        api.expect_list_skus()
            .withf(move |service, currency, t| service == COMPUTE_ENGINE_SERVICE && currency == "USD" && t == token)
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |_, _, _| Ok(SkuPage { skus: skus.clone(), next_page_token: next.to_string() }));
    }
    api
}

#[tokio::test]
async fn every_page_is_read_and_rates_are_typed_filtered_and_deduplicated() {
    let catalog = BillingCatalog::with_api(Arc::new(paged()), "USD");
    let rates = catalog.rates(&["us-central1"]).await.expect("rates");
    let keys: Vec<(GceResource, GceTier, String)> =
        rates.iter().map(|r| (r.resource, r.tier, r.price.decimal_string())).collect();
    assert_eq!(
        keys,
        [
            (GceResource::Cpu, GceTier::OnDemand, "0.031611".to_string()),
            (GceResource::Cpu, GceTier::Preemptible, "0.00765".to_string()),
            (GceResource::Cpu, GceTier::Commit1Yr, "0.019915".to_string()),
            (GceResource::Ram, GceTier::OnDemand, "0.004237".to_string()),
            (GceResource::Ram, GceTier::Preemptible, "0.001025".to_string()),
            (GceResource::Ram, GceTier::Commit1Yr, "0.002669".to_string()),
        ],
        "the GPU is left out, the second n2 on-demand core SKU is a duplicate, us-east1 is filtered"
    );
    assert!(rates.iter().all(|r| r.region == "us-central1" && r.family == "n2"));
}

#[tokio::test]
async fn the_rates_price_machines_for_the_engine() {
    let catalog = BillingCatalog::with_api(Arc::new(paged()), "USD");
    let table = catalog.price_table("us-central1", &[("n2-standard-4", "n2", 4.0, 16.0)]).await.expect("table");
    let n2 = table.get("n2-standard-4").expect("priced");
    // 4 × 0.031611 + 16 × 0.004237 and 4 × 0.00765 + 16 × 0.001025.
    assert_eq!(n2.on_demand.amount().decimal_string(), "0.194236");
    assert_eq!(n2.spot.expect("spot").amount().decimal_string(), "0.047");
    assert!(table.source.contains("Cloud Billing Catalog"), "{}", table.source);
}

#[tokio::test]
async fn errors_propagate_and_an_unknown_family_is_not_found() {
    let mut api = MockCatalogApi::new();
    api.expect_list_skus().times(1).returning(|_, _, _| {
        Err(Error::PermissionDenied { provider: PROVIDER, message: "billing.skus.list".into(), source: None })
    });
    let catalog = BillingCatalog::with_api(Arc::new(api), "USD");
    assert_eq!(catalog.rates(&[]).await.unwrap_err().kind(), ErrorKind::PermissionDenied);
    let catalog = BillingCatalog::with_api(Arc::new(paged()), "USD");
    let err = catalog.price_table("us-central1", &[("c3-standard-4", "c3", 4.0, 16.0)]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("c3"), "{err}");
}

#[test]
fn google_rpc_status_bodies_classify() {
    let body = br#"{"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}"#;
    assert_eq!(rest::classify(429, body, None).kind(), ErrorKind::Throttled);
    let body = br#"{"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}"#;
    assert_eq!(rest::classify(403, body, None).kind(), ErrorKind::PermissionDenied);
    assert_eq!(rest::classify(503, b"", None).kind(), ErrorKind::Transient);
    let body = br#"{"error": {"code": 400, "message": "bad token", "status": "INVALID_ARGUMENT"}}"#;
    assert_eq!(rest::classify(400, body, None).violations()[0].field, "page_token");
}

#[test]
fn build_checks_its_fields() {
    let field = |r: Result<BillingCatalog>| r.unwrap_err().violations()[0].field.clone();
    assert_eq!(field(BillingCatalog::builder().anonymous().endpoint_url("ftp://x").build()), "endpoint_url");
    assert_eq!(field(BillingCatalog::builder().anonymous().currency("dollars").build()), "currency");
    assert!(BillingCatalog::builder().anonymous().endpoint_url("http://127.0.0.1:1").build().is_ok());
}
