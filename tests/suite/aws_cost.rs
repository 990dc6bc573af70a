//! The AWS cost sources of `wooo-cost` (feature `aws`) against a real moto server: Cost Explorer results preset
//! through moto's `/moto-api/static/ce/cost-and-usage-results` (two pages, linked by `NextPageToken`), EC2
//! instance types and spot price history as moto serves them.
//!
//! moto does not implement GetSavingsPlansPurchaseRecommendation, and serves DescribeInstanceTypes and
//! DescribeSpotPriceHistory in one page with placeholder spot prices: those parts are covered by the unit tests
//! of `wooo-cost` against the mocked seam.

#[cfg(feature = "aws")]
mod with_moto {
    use std::path::Path;
    use std::sync::Arc;

    use jiff::Timestamp;
    use wooo_core::CostAnalyzer;
    use wooo_core::model::{
        Capacity, ClusterId, Cpu, Currency, Memory, Money, NodePoolSpec, TimeWindow, WorkloadProfile, WorkloadRef,
    };
    use wooo_cost::aws::{
        ClusterSnapshot, CostExplorer, Ec2Facts, EksCostAnalyzer, Granularity, GroupBy, NODE_SERVICE,
    };
    use wooo_cost::catalog::{Arch, Ec2Catalog};
    use wooo_providers::aws::testing::{ACCESS_KEY, Moto, SECRET_KEY};

    const EKS: &str = "Amazon Elastic Container Service for Kubernetes";

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn window() -> TimeWindow {
        TimeWindow::new(ts("2025-06-01T00:00:00Z"), ts("2025-06-03T00:00:00Z"))
    }

    async fn explorer(moto: &Moto) -> CostExplorer {
        CostExplorer::from_env()
            .region("us-east-1")
            .endpoint_url(moto.endpoint())
            .static_credentials(ACCESS_KEY, SECRET_KEY)
            .build()
            .await
    }

    async fn ec2(moto: &Moto) -> Ec2Facts {
        Ec2Facts::from_env()
            .region("us-east-1")
            .endpoint_url(moto.endpoint())
            .static_credentials(ACCESS_KEY, SECRET_KEY)
            .build()
            .await
    }

    fn group(key: &str, amount: &str) -> serde_json::Value {
        serde_json::json!({"Keys": [key], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}})
    }

    fn day(start: &str, end: &str, groups: Vec<serde_json::Value>) -> serde_json::Value {
        serde_json::json!({"TimePeriod": {"Start": start, "End": end}, "Total": {}, "Groups": groups, "Estimated": false})
    }

    /// Queues Cost Explorer answers: moto hands the next one to each request body it has not seen, so the first
    /// page answers the request without a token and the second the request carrying the first page's token.
    fn preset(moto: &Moto, results: Vec<serde_json::Value>) {
        let body = serde_json::json!({ "results": results }).to_string();
        let (status, text) = moto.request("POST", "/moto-api/static/ce/cost-and-usage-results", &body);
        assert_eq!(status, 201, "preset Cost Explorer results: {text}");
    }

    fn two_pages_by_service() -> Vec<serde_json::Value> {
        vec![
            serde_json::json!({
                "ResultsByTime": [day("2025-06-01", "2025-06-02", vec![group(NODE_SERVICE, "2.3040000001"), group(EKS, "2.4")])],
                "NextPageToken": "page-2",
                "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}],
                "DimensionValueAttributes": []
            }),
            serde_json::json!({
                "ResultsByTime": [day("2025-06-02", "2025-06-03", vec![group(NODE_SERVICE, "0.1234567890"), group(EKS, "2.4")])],
                "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}],
                "DimensionValueAttributes": []
            }),
        ]
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cost_explorer_reads_both_pages_and_parses_exact_money() {
        let Some(moto) = Moto::start() else { return };
        preset(&moto, two_pages_by_service());
        let got = explorer(&moto)
            .await
            .cluster_cost(&ClusterId::new("prod"), &window(), Granularity::Daily, GroupBy::Service)
            .await
            .unwrap();
        assert_eq!(got.periods.len(), 2, "the second page was followed: {got:?}");
        assert_eq!(got.currency, Currency::USD);
        // 2.3040000001 has ten decimals: rounded once to 2.304000000.
        assert_eq!(got.group(NODE_SERVICE), Money::from_nanos(2_304_000_000 + 123_456_789, Currency::USD));
        assert_eq!(got.group(EKS), Money::from_nanos(4_800_000_000, Currency::USD));
        assert_eq!(got.total, Money::from_nanos(7_227_456_789, Currency::USD));
        assert_eq!(got.periods[1].total, Money::from_nanos(2_523_456_789, Currency::USD));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cost_explorer_groups_by_tag_values() {
        let Some(moto) = Moto::start() else { return };
        let tag = |value: &str, amount: &str| group(&format!("kubernetes.io/namespace${value}"), amount);
        preset(
            &moto,
            vec![serde_json::json!({
                "ResultsByTime": [day("2025-06-01", "2025-06-03", vec![tag("shop", "10.000000001"), tag("", "0.5")])],
                "GroupDefinitions": [{"Type": "TAG", "Key": "kubernetes.io/namespace"}],
                "DimensionValueAttributes": []
            })],
        );
        let by_namespace = GroupBy::Tag("kubernetes.io/namespace".into());
        let got = explorer(&moto)
            .await
            .cluster_cost(&ClusterId::new("prod"), &window(), Granularity::Monthly, by_namespace)
            .await
            .unwrap();
        let groups = got.by_group();
        assert_eq!(groups.keys().collect::<Vec<_>>(), ["", "shop"]);
        assert_eq!(groups["shop"], Money::from_nanos(10_000_000_001, Currency::USD));
        assert_eq!(got.total, Money::from_nanos(10_500_000_001, Currency::USD));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ec2_describes_m5_and_m6g_exactly() {
        let Some(moto) = Moto::start() else { return };
        let facts = ec2(&moto).await;
        let got = facts.instance_types(&["m5.large", "m6g.large"]).await.unwrap();
        let shape: Vec<(&str, u32, Memory, Option<Arch>, u32)> =
            got.iter().map(|f| (f.instance_type.as_str(), f.vcpu, f.memory, f.arch, f.gpus)).collect();
        assert_eq!(
            shape,
            [
                ("m5.large", 2, Memory::from_mib(8192), Some(Arch::X86_64), 0),
                ("m6g.large", 2, Memory::from_mib(8192), Some(Arch::Arm64), 0)
            ]
        );
        let err = facts.instance_types(&["x9.notatype"]).await.unwrap_err();
        assert_eq!(err.kind(), wooo_core::ErrorKind::InvalidSpec, "{err}");
        // All types: moto's whole list, read to its last page.
        let all = facts.instance_types(&[]).await.unwrap();
        assert!(all.len() > 100, "{} types", all.len());
        assert!(all.iter().any(|f| f.instance_type == "g4dn.12xlarge" && f.gpus == 4), "GPUs are counted");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spot_price_history_has_one_latest_price_per_type_in_the_zone() {
        let Some(moto) = Moto::start() else { return };
        let facts = ec2(&moto).await;
        // moto's prices are placeholders: shapes only.
        let got = facts.spot_prices("us-east-1a", &["m5.large", "m6g.large"]).await.unwrap();
        let types: Vec<&str> = got.iter().map(|p| p.instance_type.as_str()).collect();
        assert_eq!(types, ["m5.large", "m6g.large"]);
        for price in &got {
            assert_eq!(price.availability_zone, "us-east-1a");
            assert_eq!(price.price.amount().currency(), Currency::USD);
            assert!(price.price.amount().nanos() > 0, "{price:?}");
        }
        let zone = facts.spot_prices("us-east-1b", &[]).await.unwrap();
        assert!(zone.len() > 10, "every type of the zone: {}", zone.len());
        assert!(zone.iter().all(|p| p.availability_zone == "us-east-1b"));
        let mut names: Vec<&str> = zone.iter().map(|p| p.instance_type.as_str()).collect();
        names.dedup();
        assert_eq!(names.len(), zone.len(), "one price per type");

        let catalog =
            Ec2Catalog::from_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../wooo-cost/data/prices")).unwrap();
        let table =
            facts.price_table(&catalog, "us-east-1", &["us-east-1a"], &["m5.large", "m6g.large"]).await.unwrap();
        let m5 = table.get("m5.large").unwrap();
        assert_eq!(m5.spot, Some(got[0].price), "the live price replaces the advisor's estimate");
        assert_eq!((m5.cpu, m5.memory), (Cpu::from_cores(2), Memory::from_gib(8)));
        assert!(table.source.contains("us-east-1a"), "{}", table.source);
    }

    fn one_pool() -> ClusterSnapshot {
        let pool: NodePoolSpec = serde_json::from_value(serde_json::json!({
            "name": "general", "instance_types": ["m5.large"], "min": 1, "max": 3, "desired": 1
        }))
        .unwrap();
        assert_eq!(pool.capacity, Capacity::OnDemand);
        ClusterSnapshot {
            node_pools: vec![pool],
            workloads: vec![WorkloadProfile {
                workload: WorkloadRef::new("shop", "web"),
                replicas: 2.0,
                cpu_request: Cpu::from_millis(500),
                memory_request: Memory::from_mib(1024),
                memory_limit: None,
                interruptible: true,
                node_pool: "general".into(),
            }],
            usage: Vec::new(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_eks_analyzer_reports_and_allocates_the_moto_bill() {
        let Some(moto) = Moto::start() else { return };
        preset(&moto, two_pages_by_service());
        let catalog =
            Ec2Catalog::from_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../wooo-cost/data/prices")).unwrap();
        let analyzer = EksCostAnalyzer::new(
            explorer(&moto).await,
            Arc::new(one_pool()),
            catalog.price_table("us-east-1").unwrap(),
        );
        let report = analyzer.cost(&ClusterId::new("prod"), &window()).await.unwrap();
        assert!(report.is_consistent(), "{report:?}");
        assert_eq!(report.total, Money::from_nanos(7_227_456_789, Currency::USD));
        assert_eq!(report.nodes[0].cost, Money::from_nanos(2_427_456_789, Currency::USD), "the EC2 compute bill");
        assert_eq!(report.shared, Money::from_nanos(4_800_000_000, Currency::USD), "the control plane");
        assert_eq!(report.allocations[0].workload, WorkloadRef::new("shop", "web"));
        assert!(report.allocations[0].total.nanos() > 0);
    }
}

/// Without the feature the AWS suites are not compiled: say so, and fail where every suite must run.
#[cfg(not(feature = "aws"))]
#[test]
fn aws_suites_need_the_aws_feature() {
    assert!(
        std::env::var("WOOO_REQUIRE_PEERS").as_deref() != Ok("1"),
        "the aws suites need --features aws, and WOOO_REQUIRE_PEERS=1 requires them"
    );
    eprintln!("SKIPPING: the aws suites need --features aws");
}
