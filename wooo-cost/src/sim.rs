//! The simulator's cost analyzer: the engine over [`SimCloud`]'s inventory and price table, billed at list
//! prices. The simulator (in `wooo-core`) holds no cost maths; it exposes its inputs as sources here.

use std::sync::Arc;

use async_trait::async_trait;
use wooo_core::Result;
use wooo_core::model::{ClusterId, ClusterSnapshot, PriceTable, TimeWindow, UsageSample};
use wooo_core::sim::SimCloud;

use crate::ComposedAnalyzer;
use crate::sources::{ClusterInventory, ListPriceBilling, PriceSource, UsageSource};

/// The name of the simulator's billing source in [`wooo_core::CostCapabilities::billing_source`].
pub const SIM_BILLING: &str = "sim price table";

/// The simulator's inventory: [`SimCloud::cost_snapshot`] (node pools, deployed apps, their usage).
#[async_trait]
impl ClusterInventory for SimCloud {
    async fn snapshot(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<ClusterSnapshot> {
        self.cost_snapshot(cluster, window).await
    }
}

/// The simulator's usage: the samples of [`SimCloud::cost_snapshot`].
#[async_trait]
impl UsageSource for SimCloud {
    async fn usage(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<Vec<UsageSample>> {
        Ok(self.cost_snapshot(cluster, window).await?.usage)
    }
}

/// The simulator's prices: [`SimCloud::prices`].
#[async_trait]
impl PriceSource for SimCloud {
    async fn price_table(&self) -> Result<PriceTable> {
        Ok(self.prices().clone())
    }
}

/// The [`CostAnalyzer`](wooo_core::CostAnalyzer) of the simulated cloud: provider `"sim"`, billing
/// [`SIM_BILLING`] ([`ListPriceBilling`]: each pool's desired nodes × its first instance type's price, spot
/// price for spot pools, × the window; the control-plane fee shared), the cloud as inventory (and usage) and
/// price source, and the engine. A documented simplification: the cluster's **current** node pools are assumed
/// to have run for the whole window.
///
/// ```
/// use wooo_core::prelude::*;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> wooo_core::Result<()> {
/// let cloud = SimCloud::builder().provisioning_delay(std::time::Duration::ZERO).build();
/// let spec: ClusterSpec = wooo_core::model::from_yaml(
///     "name: demo\nprovider: sim\nregion: us-east-1\nkubernetes_version: \"1.33\"\n\
///      node_pools:\n  - name: general\n    instance_types: [m5.large]\n    min: 2\n    max: 5\n",
/// )?;
/// let cluster = cloud.provisioner().ensure(&spec, &WaitOptions::default(), &Progress::none()).await?;
/// let analyzer = wooo_cost::sim::cost_analyzer(&cloud);
/// let report = analyzer.cost(&cluster.id, &TimeWindow::last_hours(cloud.now(), 24)).await?;
/// assert!(report.is_consistent());
/// assert_eq!(report.nodes[0].cost, Money::usd(4608, 3)); // 2 × m5.large × 24 h × 0.096 USD
/// # Ok(()) }
/// ```
pub fn cost_analyzer(cloud: &SimCloud) -> ComposedAnalyzer {
    ComposedAnalyzer::new(
        "sim",
        Arc::new(ListPriceBilling::new("sim", SIM_BILLING)),
        Arc::new(cloud.clone()),
        Arc::new(cloud.clone()),
    )
}
