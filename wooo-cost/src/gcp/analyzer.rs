//! [`GkeCostAnalyzer`]: the [`CostAnalyzer`] of GKE clusters at list prices, composed as the simulator's is —
//! an inventory, a price table (from [`super::BillingCatalog`] or the repo's `gce.csv`) and the pure engine.

use std::sync::Arc;

use async_trait::async_trait;
use wooo_core::costing::{self, CostInputs, PriceTable, RecommendInputs};
use wooo_core::model::{ClusterId, CostReport, MoneyError, NodeCost, Recommendation, TimeWindow};
use wooo_core::{CostAnalyzer, CostCapabilities, Error, RecommendOptions, Result};

use super::PROVIDER;
use crate::inventory::{ClusterInventory, ClusterSnapshot};

/// The [`CostAnalyzer`] of GKE clusters at list prices: each node pool costs its desired nodes × the price
/// table's price of its machine type (the Spot price for spot pools) over the window, the GKE cluster fee is
/// shared, and allocation and recommendations are the engine's ([`costing::allocate`], [`costing::recommend`]).
/// Billed cost (a BigQuery billing export) is not read: the report is what the list prices say.
#[derive(Debug, Clone)]
pub struct GkeCostAnalyzer {
    inventory: Arc<dyn ClusterInventory>,
    prices: PriceTable,
}

impl GkeCostAnalyzer {
    /// An analyzer pricing `inventory`'s pools with `prices` (e.g. [`super::BillingCatalog::price_table`]).
    pub fn new(inventory: Arc<dyn ClusterInventory>, prices: PriceTable) -> Self {
        Self { inventory, prices }
    }

    async fn report(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<(CostReport, ClusterSnapshot)> {
        wooo_core::validate::time_window(window)?;
        let snap = self.inventory.snapshot(cluster, window).await?;
        let mut nodes: Vec<NodeCost> = Vec::new();
        for (i, pool) in snap.node_pools.iter().enumerate() {
            let machine = pool.instance_types.first().map(String::as_str).unwrap_or_default();
            let price = self.prices.get(machine).ok_or_else(|| {
                Error::invalid_spec(
                    format!("node_pools[{i}].instance_types[0]"),
                    format!("no price for `{machine}` in {} ({})", self.prices.region, self.prices.source),
                )
            })?;
            nodes.push(price.node_cost(pool, window));
        }
        let inputs = CostInputs {
            cluster: cluster.clone(),
            window: *window,
            nodes,
            shared: self.prices.control_plane.over(window.duration()),
            workloads: &snap.workloads,
            usage: &snap.usage,
            source: self.prices.source.clone(),
        };
        let report = costing::allocate(&inputs).map_err(money_error)?;
        Ok((report, snap))
    }
}

fn money_error(e: MoneyError) -> Error {
    Error::Provider { provider: PROVIDER, message: format!("price table: {e}"), source: Some(Box::new(e)) }
}

#[async_trait]
impl CostAnalyzer for GkeCostAnalyzer {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> CostCapabilities {
        let mut capabilities = CostCapabilities::default();
        capabilities.billing_source = "Cloud Billing Catalog list prices";
        capabilities.allocation = true;
        capabilities.recommendation_kinds = vec!["idle", "right_size", "commitment", "spot"];
        capabilities
    }

    async fn cost(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<CostReport> {
        Ok(self.report(cluster, window).await?.0)
    }

    async fn recommend(
        &self,
        cluster: &ClusterId,
        window: &TimeWindow,
        options: &RecommendOptions,
    ) -> Result<Vec<Recommendation>> {
        let (report, snap) = self.report(cluster, window).await?;
        let inputs = RecommendInputs {
            report: &report,
            node_pools: &snap.node_pools,
            workloads: &snap.workloads,
            usage: &snap.usage,
            prices: &self.prices,
        };
        costing::recommend(&inputs, options).map_err(money_error)
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use wooo_core::model::{Capacity, Cpu, Currency, HourlyRate, Memory, Money, NodePoolSpec};

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
        assert_eq!(err.unwrap_err().violations()[0].field, "node_pools[0].instance_types[0]");
    }
}
