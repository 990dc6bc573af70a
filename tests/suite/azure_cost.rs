//! `wooo_cost::azure::CostManagement` against a wiremock server answering the Query API with Azure's official
//! example body (`ResourceGroupQuery.json`, its `nextLink` pointed at a second page), every request body
//! validated against the official Cost Management definition (2023-07-01-preview).

use std::sync::{Arc, Mutex};

use jiff::civil::date;
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use wooo_cost::azure::{CostGroupBy, CostManagement};
use wooo_tests::azure_arm::cost_openapi;

const QUERY: &str = "/{scope}/providers/Microsoft.CostManagement/query";

struct Token;

#[async_trait::async_trait]
impl azure_core::auth::TokenCredential for Token {
    async fn get_token(&self, _resource: &str) -> azure_core::Result<azure_core::auth::TokenResponse> {
        Ok(azure_core::auth::TokenResponse::new(
            azure_core::auth::AccessToken::new("fake"),
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

struct Pages {
    base: String,
    bodies: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Respond for Pages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = request.body_json().unwrap_or(Value::Null);
        let mut seen = self.bodies.lock().expect("bodies");
        seen.push((request.url.to_string(), body));
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("data/azure/costmanagement/2023-07-01-preview/examples/ResourceGroupQuery.json"),
        )
        .expect("example");
        let example: Value = serde_json::from_str(&text).expect("json");
        let mut page = example["responses"]["200"]["body"].clone();
        if seen.len() == 1 {
            page["properties"]["nextLink"] = json!(format!(
                "{}/subscriptions/s1/resourceGroups/rg/providers/Microsoft.CostManagement/query?api-version=2023-07-01-preview&$skiptoken=AQAAAA%3D%3D",
                self.base
            ));
        }
        ResponseTemplate::new(200).set_body_json(page)
    }
}

#[tokio::test]
async fn every_page_through_next_link_with_bodies_valid_against_the_definition() {
    let server = MockServer::start().await;
    let bodies = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path_regex("/providers/Microsoft.CostManagement/query$"))
        .respond_with(Pages { base: server.uri(), bodies: bodies.clone() })
        .mount(&server)
        .await;
    let cm = CostManagement::new(server.uri(), Arc::new(Token));
    let rows = cm
        .actual_cost(
            "subscriptions/s1/resourceGroups/rg",
            date(2018, 4, 1),
            date(2018, 4, 30),
            &CostGroupBy::ResourceGroup,
        )
        .await
        .expect("cost");
    // Two pages of the official example: two rows each.
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].date, date(2018, 4, 17));
    assert_eq!(rows[0].group, "ScreenSharingTest-peer");
    assert_eq!(rows[0].cost.currency().code(), "USD");
    assert_eq!(rows[1].cost.decimal_string(), "20.103333071");
    let bodies = bodies.lock().expect("bodies");
    assert_eq!(bodies.len(), 2);
    assert!(bodies[1].0.contains("skiptoken"), "the second request follows nextLink: {}", bodies[1].0);
    let api = cost_openapi();
    for (url, body) in bodies.iter() {
        assert_eq!(api.validate_request(QUERY, "post", body), Vec::<String>::new(), "{url}");
    }
    // The validator is not lenient: a field wooo might invent fails.
    let mut invented = bodies[0].1.clone();
    invented["dataset"]["granularity"] = json!("Hourly");
    invented["dataset"]["currency"] = json!("EUR");
    let errors = api.validate_request(QUERY, "post", &invented);
    assert!(errors.iter().any(|e| e.contains("currency") && e.contains("unknown property")), "{errors:?}");
}

/// The official example's answer, its group column renamed to what `group` asks and its two rows' group values
/// set to `values` (adjusted only in names).
fn example_grouped_by(group: &str, values: [&str; 2]) -> Value {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data/azure/costmanagement/2023-07-01-preview/examples/ResourceGroupQuery.json"),
    )
    .expect("example");
    let example: Value = serde_json::from_str(&text).expect("json");
    let mut page = example["responses"]["200"]["body"].clone();
    page["properties"]["columns"][1]["name"] = json!(group);
    for (i, v) in values.iter().enumerate() {
        page["properties"]["rows"][i][1] = json!(v);
    }
    page
}

/// Answers the node resource group's query by meter category and the cluster group's by resource.
struct AksGroups {
    bodies: Arc<Mutex<Vec<(String, Value)>>>,
}

const CLUSTER: &str = "/subscriptions/s1/resourcegroups/rg/providers/microsoft.containerservice/managedclusters/shop";

impl Respond for AksGroups {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = request.body_json().unwrap_or(Value::Null);
        self.bodies.lock().expect("bodies").push((request.url.path().to_string(), body));
        let page = if request.url.path().contains("/resourceGroups/MC_rg_shop_westeurope/") {
            example_grouped_by("MeterCategory", ["Virtual Machines", "Storage"])
        } else {
            example_grouped_by(
                "ResourceId",
                [CLUSTER, "/subscriptions/s1/resourcegroups/rg/providers/microsoft.sql/servers/db"],
            )
        };
        ResponseTemplate::new(200).set_body_json(page)
    }
}

#[tokio::test]
async fn the_aks_analyzer_bills_the_node_and_cluster_groups_and_splits_vm_cost_exactly() {
    use wooo_core::CostAnalyzer;
    use wooo_core::model::{
        Capacity, ClusterId, ClusterSnapshot, Cpu, Currency, HourlyRate, InstancePrice, Memory, Money, NodePoolSpec,
        PriceTable, TimeWindow,
    };
    use wooo_cost::azure::{AksCostAnalyzer, CostManagementBilling};

    let server = MockServer::start().await;
    let bodies = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path_regex("/providers/Microsoft.CostManagement/query$"))
        .respond_with(AksGroups { bodies: bodies.clone() })
        .mount(&server)
        .await;
    let usd = |nanos| Money::from_nanos(nanos, Currency::USD);
    let mut prices = PriceTable::new("westeurope", HourlyRate::new(usd(100_000_000)), "test prices");
    prices.insert(InstancePrice {
        instance_type: "Standard_D4s_v5".into(),
        cpu: Cpu::from_cores(4),
        memory: Memory::from_gib(16),
        on_demand: HourlyRate::new(usd(192_000_000)),
        spot: Some(HourlyRate::new(usd(38_400_000))),
        interruption_bucket: None,
    });
    let pool = |name: &str, nodes: u32, capacity| NodePoolSpec {
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
    };
    let snapshot = ClusterSnapshot {
        node_pools: vec![pool("system", 3, Capacity::OnDemand), pool("spot", 2, Capacity::Spot)],
        ..ClusterSnapshot::default()
    };
    let billing =
        CostManagementBilling::new(CostManagement::new(server.uri(), Arc::new(Token)), "s1", "rg", "westeurope");
    let analyzer = AksCostAnalyzer::new(billing, Arc::new(snapshot), prices);
    let window = TimeWindow::new("2018-04-17T00:00:00Z".parse().unwrap(), "2018-04-19T00:00:00Z".parse().unwrap());
    let report = analyzer.cost(&ClusterId::new("shop"), &window).await.expect("cost");
    assert!(report.is_consistent(), "{report:?}");
    // Node group: VMs 2.103333071 + storage 20.103333071; cluster group: the managed cluster's 2.103333071
    // (the SQL server's 20.103333071 is not the cluster's).
    assert_eq!(report.total, usd(24_309_999_213));
    assert_eq!(report.shared, usd(22_206_666_142));
    // 15/17 and 2/17 of the VM cost by list price, the nano left over to the larger remainder.
    assert_eq!((report.nodes[0].cost, report.nodes[1].cost), (usd(1_855_882_121), usd(247_450_950)));
    assert_eq!(report.window, window);

    let bodies = bodies.lock().expect("bodies");
    let paths: Vec<&str> = bodies.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/subscriptions/s1/resourceGroups/MC_rg_shop_westeurope/providers/Microsoft.CostManagement/query",
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.CostManagement/query",
        ]
    );
    let api = cost_openapi();
    for (path, body) in bodies.iter() {
        assert_eq!(api.validate_request(QUERY, "post", body), Vec::<String>::new(), "{path}");
    }
    assert_eq!(bodies[0].1["dataset"]["grouping"][0]["name"], "MeterCategory");
}
