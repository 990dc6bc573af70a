//! The simulator's composed analyzer ([`crate::sim::cost_analyzer`]): the engine over the simulator's inventory.

use std::time::Duration;

use wooo_core::model::{
    AppRef, AppSpec, Capacity, ClusterId, ClusterSpec, Cpu, Currency, Framework, HourlyRate, Memory, Money, PriceTable,
    RecommendedAction, TimeWindow,
};
use wooo_core::progress::Progress;
use wooo_core::sim::{INTERRUPTIBLE_LABEL, SimCloud};
use wooo_core::{CostAnalyzer, Deployer, ErrorKind, Provisioner, ProvisionerExt, RecommendOptions, WaitOptions};

use crate::sim::{SIM_BILLING, cost_analyzer};

fn spec(name: &str) -> ClusterSpec {
    wooo_core::model::from_yaml(&format!(
        "name: {name}\nprovider: sim\nregion: us-east-1\nkubernetes_version: \"1.33\"\n\
         node_pools:\n  - name: general\n    instance_types: [m5.large]\n    min: 2\n    max: 5\n"
    ))
    .unwrap()
}

async fn cluster_with_apps(cloud: &SimCloud) -> ClusterId {
    let cluster = cloud.provisioner().ensure(&spec("c1"), &WaitOptions::default(), &Progress::none()).await.unwrap();
    let deployer = cloud.deployer(&cluster.id).unwrap();
    deployer.apply(&AppSpec::new("shop", "web", "nginx:1.27", Framework::Static), &Progress::none()).await.unwrap();
    let mut api = AppSpec::new("shop", "api", "nginx:1.27", Framework::Static);
    api.labels.insert(INTERRUPTIBLE_LABEL.into(), "false".into());
    deployer.apply(&api, &Progress::none()).await.unwrap();
    cluster.id
}

fn window(cloud: &SimCloud, hours: i64) -> TimeWindow {
    TimeWindow::last_hours(cloud.now(), hours)
}

#[tokio::test(start_paused = true)]
async fn report_prices_nodes_and_control_plane_and_is_consistent() {
    let cloud = SimCloud::new();
    let id = cluster_with_apps(&cloud).await;
    let report = cost_analyzer(&cloud).cost(&id, &window(&cloud, 24)).await.unwrap();
    assert!(report.is_consistent(), "{report:?}");
    assert_eq!(report.nodes.len(), 1);
    let node = &report.nodes[0];
    assert_eq!((node.instance_type.as_str(), node.node_hours), ("m5.large", 48.0));
    assert_eq!(node.hourly_price, HourlyRate::usd(96, 3));
    assert_eq!(node.cost, Money::usd(4608, 3), "2 nodes × 24 h × 0.096");
    assert_eq!((node.cpu_per_node, node.memory_per_node), (Cpu::from_cores(2), Memory::from_gib(8)));
    assert_eq!(report.shared, Money::usd(24, 1));
    assert_eq!(report.total, Money::usd(7008, 3));
    assert_eq!(report.cluster, id);
    assert_eq!(report.source, PriceTable::sim_default().source);
}

#[tokio::test(start_paused = true)]
async fn cost_is_proportional_to_the_window() {
    let cloud = SimCloud::new();
    let id = cluster_with_apps(&cloud).await;
    let analyzer = cost_analyzer(&cloud);
    let day = analyzer.cost(&id, &window(&cloud, 24)).await.unwrap();
    let week = analyzer.cost(&id, &window(&cloud, 168)).await.unwrap();
    assert_eq!(week.total.nanos(), day.total.nanos() * 7);
    assert_eq!(week.shared.nanos(), day.shared.nanos() * 7);
    assert!(week.is_consistent());
}

#[tokio::test(start_paused = true)]
async fn spot_pools_use_the_spot_price() {
    let cloud = SimCloud::builder().provisioning_delay(Duration::ZERO).build();
    let mut spec = spec("c1");
    spec.node_pools[0].capacity = Capacity::Spot;
    cloud.provisioner().apply(&spec, &Progress::none()).await.unwrap();
    let report = cost_analyzer(&cloud).cost(&spec.id(), &window(&cloud, 10)).await.unwrap();
    let spot = PriceTable::sim_default().get("m5.large").unwrap().spot.unwrap();
    assert_eq!(report.nodes[0].hourly_price, spot);
    assert!(report.nodes[0].hourly_price < HourlyRate::usd(96, 3));
}

#[tokio::test(start_paused = true)]
async fn currencies_that_do_not_match_are_errors() {
    let eur: Currency = "EUR".parse().unwrap();
    // Node prices in EUR, the control-plane fee in USD: the report cannot add them up.
    let mut prices = PriceTable::sim_default();
    let mut m5 = prices.get("m5.large").unwrap().clone();
    m5.on_demand = HourlyRate::new(Money::new(9, 2, eur));
    m5.spot = None;
    prices.insert(m5);
    let cloud = SimCloud::builder().prices(prices).build();
    let id = cluster_with_apps(&cloud).await;
    let err = cost_analyzer(&cloud).cost(&id, &window(&cloud, 24)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert!(err.to_string().contains("cannot combine USD and EUR amounts"), "{err}");

    let cloud = SimCloud::new();
    let id = cluster_with_apps(&cloud).await;
    let options = RecommendOptions { min_monthly_savings: Some(Money::new(5, 0, eur)), ..Default::default() };
    let err = cost_analyzer(&cloud).recommend(&id, &window(&cloud, 24), &options).await.unwrap_err();
    assert_eq!(err.violations()[0].field, "min_monthly_savings");
}

#[tokio::test(start_paused = true)]
async fn unknown_cluster_is_not_found_and_empty_windows_are_refused() {
    let cloud = SimCloud::new();
    let analyzer = cost_analyzer(&cloud);
    let err = analyzer.cost(&ClusterId::new("nope"), &window(&cloud, 1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = analyzer.recommend(&ClusterId::new("nope"), &window(&cloud, 1), &Default::default()).await;
    assert_eq!(err.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!((analyzer.provider(), analyzer.capabilities().billing_source), ("sim", SIM_BILLING));
    let id = cluster_with_apps(&cloud).await;
    let err = analyzer.cost(&id, &TimeWindow::new(cloud.now(), cloud.now())).await.unwrap_err();
    assert_eq!(err.violations()[0].field, "window");
}

#[tokio::test(start_paused = true)]
async fn a_pool_whose_type_has_no_price_is_named() {
    // Built with the default table (which checks the spec), analysed with one that lacks the type.
    let cloud = SimCloud::new();
    let id = cluster_with_apps(&cloud).await;
    let analyzer = crate::ComposedAnalyzer::new(
        "sim",
        std::sync::Arc::new(crate::sources::ListPriceBilling::new("sim", SIM_BILLING)),
        std::sync::Arc::new(cloud.clone()),
        std::sync::Arc::new(PriceTable::new("us-east-1", HourlyRate::usd(1, 1), "empty")),
    );
    let err = analyzer.cost(&id, &window(&cloud, 1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert!(err.to_string().contains("node pool general has no instance type in the price table"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn allocation_covers_every_app_and_reflects_usage() {
    let cloud = SimCloud::new();
    let id = cluster_with_apps(&cloud).await;
    cloud.set_usage(&id, &AppRef::new("shop", "web"), 0.5, 0.5).unwrap();
    let report = cost_analyzer(&cloud).cost(&id, &window(&cloud, 24)).await.unwrap();
    assert!(report.is_consistent());
    assert_eq!(report.allocations.len(), 2);
    let web = report.allocations.iter().find(|a| a.workload.name == "web").unwrap();
    assert!((web.cpu_efficiency - 0.5).abs() < 0.05, "{web:?}");
    assert!(web.total.nanos() > 0);
}

#[tokio::test(start_paused = true)]
async fn a_usage_source_replaces_the_inventorys_usage() {
    let cloud = SimCloud::new();
    let id = cluster_with_apps(&cloud).await;
    let w = window(&cloud, 24);
    // No sample at all: efficiencies drop to zero, the node cost and the totals do not change.
    let analyzer = cost_analyzer(&cloud).with_usage(std::sync::Arc::new(Vec::new()));
    let report = analyzer.cost(&id, &w).await.unwrap();
    assert!(report.allocations.iter().all(|a| a.cpu_efficiency == 0.0), "{:?}", report.allocations);
    assert_eq!(report.total, cost_analyzer(&cloud).cost(&id, &w).await.unwrap().total);
}

#[tokio::test(start_paused = true)]
async fn over_provisioned_apps_get_recommendations() {
    let cloud = SimCloud::new();
    let id = cluster_with_apps(&cloud).await;
    for name in ["web", "api"] {
        cloud.set_usage(&id, &AppRef::new("shop", name), 0.05, 0.05).unwrap();
    }
    let analyzer = cost_analyzer(&cloud);
    let recs = analyzer.recommend(&id, &window(&cloud, 24 * 14), &Default::default()).await.unwrap();
    assert!(!recs.is_empty());
    let savings: Vec<i128> = recs.iter().map(|r| r.estimated_monthly_savings.amount().nanos()).collect();
    assert!(savings.windows(2).all(|w| w[0] >= w[1]), "highest savings first");
    let only = RecommendOptions { kinds: vec!["right_size"], ..Default::default() };
    let recs = analyzer.recommend(&id, &window(&cloud, 24 * 14), &only).await.unwrap();
    assert!(!recs.is_empty() && recs.iter().all(|r| matches!(r.action, RecommendedAction::RightSize { .. })));
}
