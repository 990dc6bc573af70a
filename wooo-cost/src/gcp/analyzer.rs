//! [`GkeCostAnalyzer`]: the [`CostAnalyzer`] of GKE clusters at list prices, a [`ComposedAnalyzer`] — an
//! inventory, a price table (from [`super::BillingCatalog`] or the repo's `gce.csv`), [`ListPriceBilling`] and
//! the pure engine, composed as the simulator's is.

use std::sync::Arc;

use async_trait::async_trait;
use wooo_core::model::{ClusterId, CostReport, PriceTable, Recommendation, TimeWindow};
use wooo_core::{CostAnalyzer, CostCapabilities, RecommendOptions, Result};

use super::PROVIDER;
use crate::ComposedAnalyzer;
use crate::sources::{ClusterInventory, ListPriceBilling, UsageSource};

/// The [`CostAnalyzer`] of GKE clusters at list prices: each node pool costs its desired nodes × the price
/// table's price of its machine type (the Spot price for spot pools) over the window, the GKE cluster fee is
/// shared ([`ListPriceBilling`]), and allocation and recommendations are the engine's
/// ([`crate::engine::allocate`], [`crate::engine::recommend`]). Billed cost (a BigQuery billing export) is not
/// read: the report is what the list prices say.
#[derive(Debug, Clone)]
pub struct GkeCostAnalyzer {
    composed: ComposedAnalyzer,
}

impl GkeCostAnalyzer {
    /// An analyzer pricing `inventory`'s pools with `prices` (e.g. [`super::BillingCatalog::price_table`]).
    pub fn new(inventory: Arc<dyn ClusterInventory>, prices: PriceTable) -> Self {
        let billing = Arc::new(ListPriceBilling::new(PROVIDER, "Cloud Billing Catalog list prices"));
        Self { composed: ComposedAnalyzer::new(PROVIDER, billing, inventory, Arc::new(prices)) }
    }

    /// Reads usage from `usage` (e.g. Prometheus) instead of the inventory's snapshot.
    pub fn with_usage(mut self, usage: Arc<dyn UsageSource>) -> Self {
        self.composed = self.composed.with_usage(usage);
        self
    }
}

#[async_trait]
impl CostAnalyzer for GkeCostAnalyzer {
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
    use wooo_core::model::{Capacity, ClusterSnapshot, Cpu, Currency, HourlyRate, Memory, Money, NodePoolSpec};

    use super::*;
    use crate::engine::InstancePrice;

    fn prices() -> PriceTable {
        let usd = |nanos| HourlyRate::new(Money::from_nanos(nanos, Currency::USD));
        let mut t = PriceTable::new("europe-west1", usd(100_000_000), "test");
        t.insert(InstancePrice {
            instance_type: "n2-standard-4".into(),
            cpu: Cpu::from_cores(4),
            memory: Memory::from_gib(16),
            on_demand: usd(213_668_000),
            spot: Some(usd(51_712_000)),
            interruption_bucket: None,
        });
        t
    }

    fn pool(name: &str, nodes: u32, capacity: Capacity) -> NodePoolSpec {
        NodePoolSpec {
            name: name.into(),
            instance_types: vec!["n2-standard-4".into()],
            min: 0,
            max: 10,
            desired: Some(nodes),
            capacity,
            labels: Default::default(),
            taints: Vec::new(),
            disk: Default::default(),
            zones: Vec::new(),
        }
    }

    #[tokio::test]
    async fn pools_cost_list_prices_and_the_fee_is_shared() {
        let snap = ClusterSnapshot {
            node_pools: vec![pool("web", 3, Capacity::OnDemand), pool("batch", 2, Capacity::Spot)],
            ..ClusterSnapshot::default()
        };
        let a = GkeCostAnalyzer::new(Arc::new(snap), prices());
        let end: Timestamp = "2026-12-03T00:00:00Z".parse().unwrap();
        let window = TimeWindow::last_hours(end, 10);
        let report = a.cost(&ClusterId::new("shop"), &window).await.unwrap();
        // 10 h × (3 × 0.213668 + 2 × 0.051712) + 10 h × 0.10.
        assert_eq!(report.total.decimal_string(), "8.44428");
        assert!(report.is_consistent(), "{report:?}");
        let unknown = ClusterSnapshot {
            node_pools: vec![NodePoolSpec {
                instance_types: vec!["c3-standard-4".into()],
                ..pool("x", 1, Capacity::OnDemand)
            }],
            ..ClusterSnapshot::default()
        };
        let err = GkeCostAnalyzer::new(Arc::new(unknown), prices()).cost(&ClusterId::new("shop"), &window).await;
        let message = err.unwrap_err().to_string();
        assert!(message.contains("node pool x has no instance type in the price table"), "{message}");
    }
}
