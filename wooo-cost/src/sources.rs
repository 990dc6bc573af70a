//! The sources a cost analyzer reads, behind small traits, so one analyzer ([`crate::ComposedAnalyzer`]) works
//! over any mix of them:
//!
//! | trait | answers | implementations |
//! |---|---|---|
//! | [`PriceSource`] | what instance types cost (a [`PriceTable`]) | a fixed [`PriceTable`] (e.g. from [`crate::catalog`]), the simulator, `aws::live_price_table` |
//! | [`ClusterInventory`] | what ran: node pools, workloads (and maybe usage) | a fixed [`ClusterSnapshot`], the simulator |
//! | [`UsageSource`] | what the workloads used | [`UsageFile`] (CSV or JSON), a fixed list of samples, the simulator, `prometheus::PrometheusUsage` |
//! | [`BillingSource`] | what the cluster cost, as node rows and shared cost | [`ListPriceBilling`] (list prices × node-hours); Cost Explorer behind `aws::EksCostAnalyzer`; Cost Management behind `azure::AksCostAnalyzer` |
//!
//! Sources do the I/O; the [`crate::engine`] does the maths.

use std::fmt::Debug;

use async_trait::async_trait;
use wooo_core::model::{
    ClusterId, ClusterSnapshot, Money, NodeCost, NodePoolSpec, PriceTable, Recommendation, TimeWindow, UsageSample,
};
use wooo_core::{Error, RecommendOptions, Result};

use crate::engine;
pub use crate::usage_file::{USAGE_CSV_HEADER, UsageFile};

/// Where prices come from: a catalogue read from the repo's price files, a cloud's live prices, the simulator's
/// table.
#[async_trait]
pub trait PriceSource: Send + Sync + Debug + 'static {
    /// The price table to cost and plan with.
    ///
    /// # Errors
    /// The source's errors (a price list that cannot be read, an API failure).
    async fn price_table(&self) -> Result<PriceTable>;
}

/// A fixed table is a price source.
#[async_trait]
impl PriceSource for PriceTable {
    async fn price_table(&self) -> Result<PriceTable> {
        Ok(self.clone())
    }
}

/// Where an analyzer learns what runs on a cluster: the node pools (from the cloud, or the spec the cluster was
/// applied with) and the workloads (from the Kubernetes API), and, for sources that have it, their usage. A host
/// program implements it over its own sources.
#[async_trait]
pub trait ClusterInventory: Send + Sync + Debug + 'static {
    /// What ran on `cluster` over `window`.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown cluster; the source's errors.
    async fn snapshot(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<ClusterSnapshot>;
}

/// A fixed snapshot is an inventory: the same node pools, workloads and usage for every cluster and window (the
/// spec a cluster was applied with and recorded usage, say); only the samples inside the window are returned.
#[async_trait]
impl ClusterInventory for ClusterSnapshot {
    async fn snapshot(&self, _cluster: &ClusterId, window: &TimeWindow) -> Result<ClusterSnapshot> {
        let mut snapshot = self.clone();
        snapshot.usage.retain(|s| window.contains(s.at));
        Ok(snapshot)
    }
}

/// Where usage comes from: a metrics server (Prometheus), a file of samples, the simulator.
#[async_trait]
pub trait UsageSource: Send + Sync + Debug + 'static {
    /// The usage samples of `cluster`'s workloads inside `window` (one per workload and sample time, summed over
    /// replicas).
    ///
    /// # Errors
    /// The source's errors.
    async fn usage(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<Vec<UsageSample>>;
}

/// A fixed list of samples is a usage source (the samples inside the window, for every cluster).
#[async_trait]
impl UsageSource for Vec<UsageSample> {
    async fn usage(&self, _cluster: &ClusterId, window: &TimeWindow) -> Result<Vec<UsageSample>> {
        Ok(self.iter().filter(|s| window.contains(s.at)).cloned().collect())
    }
}

/// What a billing source says a cluster cost: node rows and shared cost over the billed window.
#[derive(Debug, Clone, PartialEq)]
pub struct Bill {
    /// The window billed (a bill may widen the asked window, e.g. to whole days).
    pub window: TimeWindow,
    /// What each node pool cost; `hourly_price`, `cpu_per_node` and `memory_per_node` are list values the engine
    /// weighs by.
    pub nodes: Vec<NodeCost>,
    /// Cluster-wide cost not spread over workloads (control plane, network, …).
    pub shared: Money,
    /// Where the numbers come from, for the report.
    pub source: String,
}

/// Where the cost of a cluster comes from: a cloud bill, or list prices × what ran.
#[async_trait]
pub trait BillingSource: Send + Sync + Debug + 'static {
    /// A short name for [`wooo_core::CostCapabilities::billing_source`].
    fn name(&self) -> &'static str;

    /// The window a bill for `window` covers (default: `window` itself). The inventory is read over it.
    fn billed_window(&self, window: &TimeWindow) -> TimeWindow {
        *window
    }

    /// The bill of `cluster` over `window` (already [`BillingSource::billed_window`]), for the inventory's
    /// `pools` at `prices`.
    ///
    /// # Errors
    /// The source's errors; amounts that cannot be combined.
    async fn bill(
        &self,
        cluster: &ClusterId,
        window: &TimeWindow,
        pools: &[NodePoolSpec],
        prices: &PriceTable,
    ) -> Result<Bill>;

    /// The commitments the billing side itself recommends (e.g. the Savings Plans AWS rates), which then replace
    /// the engine's; `None` (the default) keeps the engine's.
    ///
    /// # Errors
    /// The source's errors.
    async fn commitments(
        &self,
        _cluster: &ClusterId,
        _options: &RecommendOptions,
    ) -> Result<Option<Vec<Recommendation>>> {
        Ok(None)
    }
}

/// Billing at list prices: each node pool costs desired nodes × its first instance type's price (spot price for
/// spot pools) × the window ([`engine::node_costs`]), and the price table's control-plane fee × the window is
/// the shared cost. For clouds without a bill to read (the simulator, K3s on owned machines) and for planning.
#[derive(Debug, Clone)]
pub struct ListPriceBilling {
    provider: &'static str,
    name: &'static str,
}

impl ListPriceBilling {
    /// List-price billing whose errors carry `provider`, named `name` in capabilities.
    pub fn new(provider: &'static str, name: &'static str) -> Self {
        Self { provider, name }
    }
}

#[async_trait]
impl BillingSource for ListPriceBilling {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn bill(
        &self,
        _cluster: &ClusterId,
        window: &TimeWindow,
        pools: &[NodePoolSpec],
        prices: &PriceTable,
    ) -> Result<Bill> {
        let nodes = engine::node_costs(pools, prices, window).map_err(|pool| Error::Provider {
            provider: self.provider,
            message: format!("node pool {pool} has no instance type in the price table"),
            source: None,
        })?;
        let shared = prices.control_plane.over(window.duration());
        Ok(Bill { window: *window, nodes, shared, source: prices.source.clone() })
    }
}
