//! [`AksCostAnalyzer`] with the Cost Management seam mocked.

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use serde_json::{Value, json};
use wooo_core::ErrorKind;
use wooo_core::model::{
    Capacity, ClusterSnapshot, Cpu, Currency, HourlyRate, Memory, NodePoolSpec, WorkloadProfile, WorkloadRef,
};

use super::super::api::MockCostApi;
use super::*;
use crate::engine::InstancePrice;

const SUB: &str = "s1";
const CLUSTER_ID: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/prod";

fn usd(nanos: i128) -> Money {
    Money::from_nanos(nanos, Currency::USD)
}

fn prices() -> PriceTable {
    let rate = |nanos| HourlyRate::new(usd(nanos));
    let mut t = PriceTable::new("westeurope", rate(100_000_000), "test prices");
    t.insert(InstancePrice {
        instance_type: "Standard_D4s_v5".into(),
        cpu: Cpu::from_cores(4),
        memory: Memory::from_gib(16),
        on_demand: rate(192_000_000),
        spot: Some(rate(38_400_000)),
        interruption_bucket: None,
    });
    t
}

fn pool(name: &str, nodes: u32, capacity: Capacity) -> NodePoolSpec {
    NodePoolSpec {
        name: name.into(),
        instance_types: vec!["Standard_D4s_v5".into()],
        min: 1,
        max: 10,
        desired: Some(nodes),
        capacity,
        labels: Default::default(),
        taints: Vec::new(),
        disk: Default::default(),
        zones: Vec::new(),
    }
}

fn snapshot() -> ClusterSnapshot {
    let workload = |name: &str, pool: &str| WorkloadProfile {
        workload: WorkloadRef::new("shop", name),
        replicas: 2.0,
        cpu_request: Cpu::from_millis(1000),
        memory_request: Memory::from_mib(1024),
        memory_limit: None,
        interruptible: true,
        node_pool: pool.into(),
    };
    ClusterSnapshot {
        node_pools: vec![pool("system", 3, Capacity::OnDemand), pool("spot", 2, Capacity::Spot)],
        workloads: vec![workload("web", "system"), workload("batch", "spot")],
        usage: Vec::new(),
    }
}

fn page(group_column: &str, rows: Value) -> Value {
    json!({"properties": {
        "nextLink": null,
        "columns": [{"name": "Cost", "type": "Number"}, {"name": "UsageDate", "type": "Number"},
                    {"name": group_column, "type": "String"}, {"name": "Currency", "type": "String"}],
        "rows": rows,
    }})
}

/// Answers the node resource group's query by meter category and the cluster group's by resource, in
/// `currency`; records the URLs and bodies.
fn mock(currency: &'static str, seen: Arc<Mutex<Vec<(String, Value)>>>) -> MockCostApi {
    let mut api = MockCostApi::new();
    api.expect_post().returning(move |url, body| {
        seen.lock().unwrap().push((url.to_string(), body.clone()));
        if url.contains("/resourceGroups/MC_rg_prod_westeurope/") {
            Ok(page(
                "MeterCategory",
                json!([
                    [10.123456789, 20250601, "Virtual Machines", currency],
                    [5.5, 20250602, "virtual machines", currency],
                    [1.25, 20250601, "Storage", currency],
                    [0.5, 20250602, "Load Balancer", currency],
                ]),
            ))
        } else {
            Ok(page(
                "ResourceId",
                json!([
                    [4.8, 20250601, CLUSTER_ID.to_ascii_lowercase(), currency],
                    [
                        99.0,
                        20250601,
                        "/subscriptions/s1/resourcegroups/rg/providers/microsoft.sql/servers/db",
                        currency
                    ],
                ]),
            ))
        }
    });
    api
}

fn cost_management(api: MockCostApi) -> CostManagement {
    CostManagement { api: Arc::new(api), endpoint: "https://arm".into(), attempts: 1 }
}

fn analyzer(api: MockCostApi) -> AksCostAnalyzer {
    let billing = CostManagementBilling::new(cost_management(api), SUB, "rg", "westeurope");
    AksCostAnalyzer::new(billing, Arc::new(snapshot()), prices())
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[tokio::test]
async fn vm_cost_is_split_over_the_pools_exactly_and_the_rest_is_shared() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let a = analyzer(mock("USD", seen.clone()));
    // Mid-day to mid-day: billed as the whole days 1 and 2 June.
    let window = TimeWindow::new(ts("2025-06-01T06:00:00Z"), ts("2025-06-02T18:00:00Z"));
    let report = a.cost(&ClusterId::new("prod"), &window).await.unwrap();
    assert!(report.is_consistent(), "{report:?}");
    assert_eq!(report.window, TimeWindow::new(ts("2025-06-01T00:00:00Z"), ts("2025-06-03T00:00:00Z")));
    // 10.123456789 + 5.5 + 1.25 + 0.5 (node group) + 4.8 (the managed cluster); the SQL server is not the
    // cluster's.
    assert_eq!(report.total, usd(22_173_456_789));
    assert_eq!(report.shared, usd(6_550_000_000), "storage, load balancer, the cluster resource");
    // List cost 3 × 0.192 against 2 × 0.0384 an hour: 15/17 and 2/17 of the VM bill, the nano left over to
    // the larger remainder.
    assert_eq!(report.nodes[0].cost, usd(13_785_403_049));
    assert_eq!(report.nodes[1].cost, usd(1_838_053_740));
    let nodes: Money = report.nodes.iter().map(|n| n.cost).sum();
    assert_eq!(nodes, usd(15_623_456_789), "the split sums to the VM bill");
    assert_eq!(report.nodes[1].hourly_price, HourlyRate::new(usd(38_400_000)), "list price kept");
    assert_eq!(report.nodes[0].node_hours, 3.0 * 48.0);
    assert!(report.source.contains("`MC_rg_prod_westeurope` and `rg`"), "{}", report.source);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "one query per resource group");
    assert!(seen[0].0.starts_with("https://arm/subscriptions/s1/resourceGroups/MC_rg_prod_westeurope/providers/"));
    assert_eq!(seen[0].1["dataset"]["grouping"][0], json!({"type": "Dimension", "name": "MeterCategory"}));
    assert!(seen[1].0.starts_with("https://arm/subscriptions/s1/resourceGroups/rg/providers/"));
    assert_eq!(seen[1].1["dataset"]["grouping"][0], json!({"type": "Dimension", "name": "ResourceId"}));
    for (_, body) in seen.iter() {
        assert_eq!(body["timePeriod"], json!({"from": "2025-06-01T00:00:00Z", "to": "2025-06-02T23:59:59Z"}));
    }
}

#[tokio::test]
async fn a_custom_node_resource_group_is_queried_instead() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let billing = CostManagementBilling::new(cost_management(mock("USD", seen.clone())), SUB, "rg", "westeurope")
        .node_resource_group("prod", "prod-nodes");
    assert_eq!(billing.node_resource_group_of("prod"), "prod-nodes");
    assert_eq!(billing.node_resource_group_of("other"), "MC_rg_other_westeurope");
    let a = AksCostAnalyzer::new(billing, Arc::new(snapshot()), prices());
    let window = TimeWindow::new(ts("2025-06-01T00:00:00Z"), ts("2025-06-02T00:00:00Z"));
    let report = a.cost(&ClusterId::new("prod"), &window).await.unwrap();
    assert!(seen.lock().unwrap()[0].0.contains("/resourceGroups/prod-nodes/"));
    // The mock answers a group other than MC_… with its by-resource page: everything in the node group is the
    // cluster's (4.8 + 99), none of it a VM meter, so all is shared, with the cluster resource's 4.8.
    assert_eq!((report.total, report.shared), (usd(108_600_000_000), usd(108_600_000_000)));
    assert_eq!(report.window, window, "a window of whole days is billed as it is");
}

#[tokio::test]
async fn a_bill_in_another_currency_than_the_prices_is_a_typed_error() {
    let err = analyzer(mock("EUR", Arc::default()))
        .cost(&ClusterId::new("prod"), &TimeWindow::new(ts("2025-06-01T00:00:00Z"), ts("2025-06-03T00:00:00Z")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert!(err.to_string().contains("cannot combine"), "{err}");

    // Two currencies in one answer cannot be summed either.
    let node = DailyCost { date: jiff::civil::date(2025, 6, 1), group: "Virtual Machines".into(), cost: usd(1) };
    let other = DailyCost { cost: Money::from_nanos(1, "EUR".parse().unwrap()), ..node.clone() };
    assert!(super::sum_bill(&[node, other], &[], CLUSTER_ID, Currency::USD).is_err());
}

#[tokio::test]
async fn bad_windows_fail_before_any_call_and_capabilities_name_the_source() {
    let a = analyzer(MockCostApi::new());
    let t = ts("2025-06-01T00:00:00Z");
    let err = a.cost(&ClusterId::new("prod"), &TimeWindow::new(t, t)).await.unwrap_err();
    assert_eq!(err.violations()[0].field, "window");
    assert_eq!((a.provider(), a.capabilities().billing_source), (PROVIDER, "Azure Cost Management"));
}

#[tokio::test]
async fn with_no_priced_pool_the_vm_cost_is_shared() {
    let mut snap = snapshot();
    snap.node_pools =
        vec![NodePoolSpec { instance_types: vec!["Standard_X1".into()], ..pool("odd", 2, Capacity::OnDemand) }];
    let billing = CostManagementBilling::new(cost_management(mock("USD", Arc::default())), SUB, "rg", "westeurope");
    let a = AksCostAnalyzer::new(billing, Arc::new(snap), prices());
    let window = TimeWindow::new(ts("2025-06-01T00:00:00Z"), ts("2025-06-03T00:00:00Z"));
    let report = a.cost(&ClusterId::new("prod"), &window).await.unwrap();
    assert!(report.is_consistent());
    assert_eq!((report.total, report.shared), (usd(22_173_456_789), usd(22_173_456_789)));
    assert!(report.nodes.is_empty());
}
