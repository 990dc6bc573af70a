//! [`EksCostAnalyzer`]: the [`CostAnalyzer`] of EKS clusters, a [`ComposedAnalyzer`] — an inventory of node
//! pools, workloads and usage, a price table, and the engine — billed by Cost Explorer ([`CostExplorerBilling`]).

use std::sync::Arc;

use async_trait::async_trait;
use wooo_core::model::{
    ClusterId, CostReport, Money, MoneyError, NodeCost, NodePoolSpec, PriceTable, Recommendation, TimeWindow,
};
use wooo_core::{CostAnalyzer, CostCapabilities, RecommendOptions};
use wooo_core::{Error, Result};

use super::error::PROVIDER;
use super::explorer::{CostBreakdown, CostExplorer, Granularity, GroupBy, SavingsPlansOptions, billed_days};
use crate::ComposedAnalyzer;
use crate::engine;
use crate::sources::{Bill, BillingSource, ClusterInventory, UsageSource};

/// The Cost Explorer service whose cost is the cluster's nodes: EC2 instance hours. Every other service billed
/// under the cluster's tag (the EKS control plane, `EC2 - Other` for volumes and NAT, load balancers, …) is
/// reported as shared cost.
pub const NODE_SERVICE: &str = "Amazon Elastic Compute Cloud - Compute";

/// Cost Explorer as a [`BillingSource`].
///
/// **Bill.** What Cost Explorer billed under the cluster's cost allocation tag ([`CostExplorer::cluster_cost`]
/// grouped by service), over the window widened to whole UTC days. The [`NODE_SERVICE`] part is the node cost:
/// it is split over the inventory's node pools in proportion to their list-price cost (desired nodes × the price
/// table's price, spot price for spot pools, × the window), exactly, so the rows add up to the bill; every other
/// service is shared. With no node pool that can be priced, the node cost is shared too. A row's `hourly_price`
/// stays the list price: the engine's recommendations compare list prices.
///
/// **Commitments.** The compute Savings Plans AWS recommends ([`CostExplorer::savings_plans_recommendations`]),
/// which replace the engine's. AWS rates Savings Plans for the whole account, not one cluster.
#[derive(Debug, Clone)]
pub struct CostExplorerBilling {
    explorer: CostExplorer,
    savings_plans: SavingsPlansOptions,
}

impl CostExplorerBilling {
    /// Billing through `explorer`, asking about the Savings Plans of `savings_plans`.
    pub fn new(explorer: CostExplorer, savings_plans: SavingsPlansOptions) -> Self {
        Self { explorer, savings_plans }
    }
}

#[async_trait]
impl BillingSource for CostExplorerBilling {
    fn name(&self) -> &'static str {
        "AWS Cost Explorer"
    }

    fn billed_window(&self, window: &TimeWindow) -> TimeWindow {
        billed_days(window)
    }

    async fn bill(
        &self,
        cluster: &ClusterId,
        window: &TimeWindow,
        pools: &[NodePoolSpec],
        prices: &PriceTable,
    ) -> Result<Bill> {
        let billed = self.explorer.cluster_cost(cluster, window, Granularity::Monthly, GroupBy::Service).await?;
        let (nodes, shared) = split_bill(&billed, pools, prices).map_err(money_error)?;
        Ok(Bill {
            window: billed.window(),
            nodes,
            shared,
            source: format!(
                "AWS Cost Explorer ({}, tag `{}`); node split and allocation by {}",
                self.explorer.metric().as_str(),
                self.explorer.cost_allocation_tag(),
                prices.source
            ),
        })
    }

    async fn commitments(
        &self,
        _cluster: &ClusterId,
        _options: &RecommendOptions,
    ) -> Result<Option<Vec<Recommendation>>> {
        self.explorer.savings_plans_recommendations(&self.savings_plans).await.map(Some)
    }
}

/// The [`CostAnalyzer`] of EKS clusters: a [`ComposedAnalyzer`] billed by [`CostExplorerBilling`], over an
/// inventory and a price table, with provider [`PROVIDER`].
///
/// **`cost`.** The bill of [`CostExplorerBilling`] (the report's window is the billed one, whole UTC days),
/// allocated to workloads by [`engine::allocate`], the simulator's.
///
/// **`recommend`.** [`engine::recommend`]'s idle, right-size and spot recommendations over that report, plus the
/// compute Savings Plans AWS recommends instead of the engine's commitment, which rests on an assumed discount.
#[derive(Debug, Clone)]
pub struct EksCostAnalyzer {
    explorer: CostExplorer,
    inventory: Arc<dyn ClusterInventory>,
    usage: Option<Arc<dyn UsageSource>>,
    prices: PriceTable,
    savings_plans: SavingsPlansOptions,
    composed: ComposedAnalyzer,
}

impl EksCostAnalyzer {
    /// An analyzer billing through `explorer`, with `inventory` for what runs and `prices` (e.g.
    /// [`live_price_table`](super::live_price_table)) for the cluster's region.
    pub fn new(explorer: CostExplorer, inventory: Arc<dyn ClusterInventory>, prices: PriceTable) -> Self {
        let savings_plans = SavingsPlansOptions::default();
        let composed = compose(&explorer, &inventory, None, &prices, &savings_plans);
        Self { explorer, inventory, usage: None, prices, savings_plans, composed }
    }

    /// The Savings Plans asked about (default: one year, no upfront, 30 days of history).
    pub fn savings_plans(mut self, options: SavingsPlansOptions) -> Self {
        self.savings_plans = options;
        self.recompose()
    }

    /// Reads usage from `usage` (e.g. Prometheus) instead of the inventory's snapshot.
    pub fn with_usage(mut self, usage: Arc<dyn UsageSource>) -> Self {
        self.usage = Some(usage);
        self.recompose()
    }

    fn recompose(mut self) -> Self {
        self.composed = compose(&self.explorer, &self.inventory, self.usage.clone(), &self.prices, &self.savings_plans);
        self
    }
}

fn compose(
    explorer: &CostExplorer,
    inventory: &Arc<dyn ClusterInventory>,
    usage: Option<Arc<dyn UsageSource>>,
    prices: &PriceTable,
    savings_plans: &SavingsPlansOptions,
) -> ComposedAnalyzer {
    let billing = CostExplorerBilling::new(explorer.clone(), *savings_plans);
    let composed = ComposedAnalyzer::new(PROVIDER, Arc::new(billing), inventory.clone(), Arc::new(prices.clone()));
    match usage {
        Some(usage) => composed.with_usage(usage),
        None => composed,
    }
}

fn money_error(e: MoneyError) -> Error {
    Error::Provider { provider: PROVIDER, message: format!("cost report: {e}"), source: Some(Box::new(e)) }
}

/// The node rows and the shared cost of a bill: the node service's cost split over the pools by list-price
/// cost ([`engine::split_node_bill`]), the rest shared.
fn split_bill(
    billed: &CostBreakdown,
    pools: &[NodePoolSpec],
    prices: &PriceTable,
) -> Result<(Vec<NodeCost>, Money), MoneyError> {
    engine::split_node_bill(billed.total, billed.group(NODE_SERVICE), pools, prices, &billed.window())
}

#[async_trait]
impl CostAnalyzer for EksCostAnalyzer {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> CostCapabilities {
        self.composed.capabilities()
    }

    async fn cost(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<CostReport> {
        self.composed.cost(cluster, window).await
    }

    async fn recommend(
        &self,
        cluster: &ClusterId,
        window: &TimeWindow,
        options: &RecommendOptions,
    ) -> Result<Vec<Recommendation>> {
        self.composed.recommend(cluster, window, options).await
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use wooo_core::ErrorKind;
    use wooo_core::model::{Cpu, Currency, HourlyRate, Memory, RecommendedAction, WorkloadRef};

    use super::super::api::{
        CostPage, MockCostExplorerApi, RawAmount, RawGroup, RawPeriod, RawSavingsPlan, SavingsPlansPage,
    };
    use wooo_core::model::{Capacity, ClusterSnapshot, UsageSample, WorkloadProfile};

    use super::*;

    #[derive(Debug)]
    struct Fixed(ClusterSnapshot);

    #[async_trait]
    impl ClusterInventory for Fixed {
        async fn snapshot(&self, cluster: &ClusterId, _: &TimeWindow) -> Result<ClusterSnapshot> {
            if cluster.as_str() == "prod" {
                Ok(self.0.clone())
            } else {
                Err(Error::NotFound { provider: PROVIDER, resource: format!("cluster {cluster}"), source: None })
            }
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn pool(name: &str, ty: &str, nodes: u32, capacity: Capacity) -> NodePoolSpec {
        NodePoolSpec {
            name: name.into(),
            instance_types: vec![ty.into()],
            min: 1,
            max: nodes * 2,
            desired: Some(nodes),
            capacity,
            labels: Default::default(),
            taints: Vec::new(),
            disk: Default::default(),
            zones: Vec::new(),
        }
    }

    fn workload(name: &str, pool: &str, cpu_m: u64, mib: u64) -> WorkloadProfile {
        WorkloadProfile {
            workload: WorkloadRef::new("shop", name),
            replicas: 2.0,
            cpu_request: Cpu::from_millis(cpu_m),
            memory_request: Memory::from_mib(mib),
            memory_limit: None,
            interruptible: true,
            node_pool: pool.into(),
        }
    }

    /// 14 days of hourly samples at a tenth of the requests.
    fn usage(w: &WorkloadProfile, start: Timestamp) -> Vec<UsageSample> {
        (0..24 * 14)
            .map(|h| UsageSample {
                workload: w.workload.clone(),
                at: start + jiff::SignedDuration::from_hours(h),
                cpu: Cpu::from_millis(w.cpu_request.millis() / 5),
                memory: Memory::from_bytes(w.memory_request.bytes() / 5),
            })
            .collect()
    }

    fn snapshot() -> ClusterSnapshot {
        let web = workload("web", "general", 1000, 512);
        let batch = workload("batch", "spot", 250, 256);
        let start = ts("2025-06-01T00:00:00Z");
        ClusterSnapshot {
            node_pools: vec![
                pool("general", "m5.large", 3, Capacity::OnDemand),
                pool("spot", "c5.large", 1, Capacity::Spot),
            ],
            usage: [usage(&web, start), usage(&batch, start)].concat(),
            workloads: vec![web, batch],
        }
    }

    fn bill(compute: &str, eks: &str) -> CostPage {
        let group = |k: &str, a: &str| RawGroup {
            keys: vec![k.into()],
            amount: Some(RawAmount { amount: a.into(), unit: "USD".into() }),
        };
        CostPage {
            periods: vec![RawPeriod {
                start: "2025-06-01".into(),
                end: "2025-06-15".into(),
                estimated: false,
                total: None,
                groups: vec![
                    group(NODE_SERVICE, compute),
                    group("Amazon Elastic Container Service for Kubernetes", eks),
                    group("EC2 - Other", "1.000000001"),
                ],
            }],
            next_page_token: None,
        }
    }

    fn analyzer(mock: MockCostExplorerApi) -> EksCostAnalyzer {
        EksCostAnalyzer::new(
            CostExplorer::from_api(Arc::new(mock)),
            Arc::new(Fixed(snapshot())),
            PriceTable::sim_default(),
        )
    }

    fn two_weeks() -> TimeWindow {
        TimeWindow::new(ts("2025-06-01T00:00:00Z"), ts("2025-06-15T00:00:00Z"))
    }

    #[tokio::test]
    async fn the_billed_total_is_split_over_pools_and_allocated_exactly() {
        let mut mock = MockCostExplorerApi::new();
        mock.expect_cost_and_usage()
            .withf(|q| q.group_by == ("DIMENSION", "SERVICE".to_string()) && q.filter_tag_value == "prod")
            .times(1)
            .return_once(|_| Ok(bill("100.123456789", "33.6")));
        let report = analyzer(mock).cost(&ClusterId::new("prod"), &two_weeks()).await.unwrap();
        assert!(report.is_consistent(), "{report:?}");
        assert_eq!(report.total, Money::from_nanos(134_723_456_790, Currency::USD), "the bill, to the nano-unit");
        assert_eq!(report.shared, Money::from_nanos(34_600_000_001, Currency::USD), "EKS + EC2 - Other");
        let nodes: Money = report.nodes.iter().map(|n| n.cost).sum();
        assert_eq!(nodes, Money::from_nanos(100_123_456_789, Currency::USD));
        // Split by list cost: 3 × 0.096 on demand against 1 × c5.large spot (0.085 × 41%).
        let prices = PriceTable::sim_default();
        let spot = prices.get("c5.large").unwrap().spot.unwrap();
        assert_eq!(report.nodes[1].hourly_price, spot);
        let (w0, w1) = (288_000_000u128 * 336, spot.amount().nanos() as u128 * 336);
        let expected = Money::from_nanos(100_123_456_789, Currency::USD).split_proportionally(&[w0, w1]).unwrap();
        assert_eq!((report.nodes[0].cost, report.nodes[1].cost), (expected[0], expected[1]));
        assert_eq!(report.nodes[0].node_hours, 3.0 * 336.0);
        assert_eq!(report.allocations.len(), 2);
        assert!(
            report.source.contains("AWS Cost Explorer (UnblendedCost, tag `eks:cluster-name`)"),
            "{}",
            report.source
        );
        assert_eq!(report.window, two_weeks());
    }

    #[tokio::test]
    async fn with_no_priced_pool_the_bill_is_shared() {
        let mut mock = MockCostExplorerApi::new();
        mock.expect_cost_and_usage().return_once(|_| Ok(bill("10", "1")));
        let mut snap = snapshot();
        snap.node_pools = vec![pool("odd", "x9.unknown", 2, Capacity::OnDemand)];
        let a = EksCostAnalyzer::new(
            CostExplorer::from_api(Arc::new(mock)),
            Arc::new(Fixed(snap)),
            PriceTable::sim_default(),
        );
        let report = a.cost(&ClusterId::new("prod"), &two_weeks()).await.unwrap();
        assert!(report.is_consistent());
        assert_eq!((report.total, report.shared), (Money::from_nanos(12_000_000_001, Currency::USD), report.total));
        assert!(report.nodes.is_empty());
    }

    #[tokio::test]
    async fn recommendations_use_aws_savings_plans_and_the_engine() {
        let mut mock = MockCostExplorerApi::new();
        mock.expect_cost_and_usage().times(1).return_once(|_| Ok(bill("100", "33.6")));
        mock.expect_savings_plans_purchase_recommendation().times(1).return_once(|_| {
            Ok(SavingsPlansPage {
                details: vec![RawSavingsPlan {
                    currency_code: Some("USD".into()),
                    hourly_commitment_to_purchase: Some("0.2".into()),
                    estimated_monthly_savings_amount: Some("42.5".into()),
                    estimated_savings_percentage: Some("31".into()),
                    current_average_hourly_on_demand_spend: Some("0.3".into()),
                    current_minimum_hourly_on_demand_spend: Some("0.29".into()),
                    ..Default::default()
                }],
                next_page_token: None,
            })
        });
        let recs = analyzer(mock).recommend(&ClusterId::new("prod"), &two_weeks(), &Default::default()).await.unwrap();
        let kinds: Vec<&str> = recs.iter().map(|r| r.action.kind()).collect();
        for kind in ["idle", "right_size", "spot"] {
            assert!(kinds.contains(&kind), "{kind} missing: {kinds:?}");
        }
        let commitments: Vec<&Recommendation> = recs.iter().filter(|r| r.action.kind() == "commitment").collect();
        assert_eq!(commitments.len(), 1, "AWS's plan replaces the engine's assumed one");
        let RecommendedAction::Commitment { hourly_commitment, discount, .. } = &commitments[0].action else {
            unreachable!()
        };
        assert_eq!((*hourly_commitment, *discount), (HourlyRate::usd(2, 1), 0.31));
        let savings: Vec<i128> = recs.iter().map(|r| r.estimated_monthly_savings.amount().nanos()).collect();
        assert!(savings.windows(2).all(|w| w[0] >= w[1]), "highest savings first: {savings:?}");
    }

    #[tokio::test]
    async fn kinds_and_minimum_savings_filter_and_commitments_only_ask_aws() {
        let mut mock = MockCostExplorerApi::new();
        mock.expect_cost_and_usage().times(2).returning(|_| Ok(bill("100", "33.6")));
        mock.expect_savings_plans_purchase_recommendation().times(1).returning(|_| {
            Ok(SavingsPlansPage {
                details: vec![RawSavingsPlan {
                    hourly_commitment_to_purchase: Some("0.2".into()),
                    estimated_monthly_savings_amount: Some("4.5".into()),
                    ..Default::default()
                }],
                next_page_token: None,
            })
        });
        let a = analyzer(mock);
        let id = ClusterId::new("prod");
        let only = RecommendOptions { kinds: vec!["right_size"], ..Default::default() };
        let recs = a.recommend(&id, &two_weeks(), &only).await.unwrap();
        assert!(!recs.is_empty() && recs.iter().all(|r| r.action.kind() == "right_size"));
        let big = RecommendOptions { kinds: vec!["commitment"], min_monthly_savings: Some(Money::usd(5, 0)) };
        assert!(a.recommend(&id, &two_weeks(), &big).await.unwrap().is_empty(), "4.5 < 5 left out");
        let eur = RecommendOptions {
            min_monthly_savings: Some(Money::new(5, 0, "EUR".parse().unwrap())),
            ..Default::default()
        };
        let mut mock = MockCostExplorerApi::new();
        mock.expect_cost_and_usage().return_once(|_| Ok(bill("100", "33.6")));
        let err = analyzer(mock).recommend(&id, &two_weeks(), &eur).await.unwrap_err();
        assert_eq!(err.violations()[0].field, "min_monthly_savings");
    }

    #[tokio::test]
    async fn errors_are_classified_and_unknown_clusters_not_found() {
        let mut mock = MockCostExplorerApi::new();
        mock.expect_cost_and_usage().return_once(|_| Ok(bill("1", "1")));
        let err = analyzer(mock).cost(&ClusterId::new("nope"), &two_weeks()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);

        let t = ts("2025-06-01T00:00:00Z");
        let err = analyzer(MockCostExplorerApi::new()).cost(&ClusterId::new("prod"), &TimeWindow::new(t, t)).await;
        assert_eq!(err.unwrap_err().violations()[0].field, "window");

        // A bill in EUR against USD list prices cannot be combined.
        let mut mock = MockCostExplorerApi::new();
        mock.expect_cost_and_usage().return_once(|_| {
            let mut page = bill("1", "1");
            for g in &mut page.periods[0].groups {
                g.amount.as_mut().unwrap().unit = "EUR".into();
            }
            Ok(page)
        });
        let err = analyzer(mock).cost(&ClusterId::new("prod"), &two_weeks()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Provider);
        assert!(err.to_string().contains("cannot combine"), "{err}");
        let a = analyzer(MockCostExplorerApi::new());
        assert_eq!((a.provider(), a.capabilities().billing_source), (PROVIDER, "AWS Cost Explorer"));
    }
}
