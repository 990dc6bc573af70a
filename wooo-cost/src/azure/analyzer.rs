//! [`AksCostAnalyzer`]: the [`CostAnalyzer`] of AKS clusters, a [`ComposedAnalyzer`] — an inventory of node
//! pools, workloads and usage, a price table, and the engine — billed by Cost Management
//! ([`CostManagementBilling`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use wooo_core::model::{
    ClusterId, CostReport, Money, MoneyError, NodePoolSpec, PriceTable, Recommendation, TimeWindow,
};
use wooo_core::{CostAnalyzer, CostCapabilities, Error, RecommendOptions, Result};

use super::{CostGroupBy, CostManagement, DailyCost, PROVIDER};
use crate::ComposedAnalyzer;
use crate::engine;
use crate::sources::{Bill, BillingSource, ClusterInventory, UsageSource};

/// The meter category whose cost is the cluster's nodes: the VM hours of its scale sets.
pub const NODE_METER_CATEGORY: &str = "Virtual Machines";

/// Cost Management as a [`BillingSource`] for the AKS clusters of one resource group.
///
/// **Scope.** An AKS cluster's cost lies in two resource groups, and the bill reads both (two Query calls,
/// every page, over the window widened to whole UTC days):
/// - its **node resource group**, which AKS creates for the cluster and owns (scale sets, their VMs and disks,
///   load balancers, public IPs): all of its cost is the cluster's, grouped by meter category. The
///   [`NODE_METER_CATEGORY`] part is the node cost; every other category (storage, bandwidth, load balancer,
///   …) is shared. The group is named `MC_<resource group>_<cluster>_<location>`, AKS's default; a cluster
///   created with another `nodeResourceGroup` (what ManagedClusters_Get reports as
///   `properties.nodeResourceGroup`) is told with [`CostManagementBilling::node_resource_group`];
/// - the cluster's own **resource group**, grouped by resource: only the managed cluster resource's cost is
///   the cluster's (the Standard / Premium tier's control-plane fee), shared; the group's other resources are
///   not the cluster's and are left out.
///
/// **Node split.** The node cost is split over the inventory's node pools in proportion to their list-price
/// cost (desired nodes × the price table's price, spot price for spot pools, × the window), exactly
/// ([`engine::split_node_bill`]), so the rows add up to the bill; with no pool that can be priced the node cost
/// is shared too. A row's `hourly_price` stays the list price.
///
/// Amounts in another currency than the price table's cannot be combined: a [`Error::Provider`] error.
#[derive(Debug, Clone)]
pub struct CostManagementBilling {
    cost: CostManagement,
    subscription: String,
    resource_group: String,
    location: String,
    node_resource_groups: BTreeMap<String, String>,
}

impl CostManagementBilling {
    /// Billing through `cost` for the clusters in `resource_group` of `subscription`, at `location` (the
    /// `AksBuilder`'s three).
    pub fn new(
        cost: CostManagement,
        subscription: impl Into<String>,
        resource_group: impl Into<String>,
        location: impl Into<String>,
    ) -> Self {
        Self {
            cost,
            subscription: subscription.into(),
            resource_group: resource_group.into(),
            location: location.into(),
            node_resource_groups: BTreeMap::new(),
        }
    }

    /// The node resource group of `cluster` when it is not AKS's default (`MC_<group>_<cluster>_<location>`):
    /// the cluster's `nodeResourceGroup`.
    #[must_use]
    pub fn node_resource_group(mut self, cluster: impl Into<String>, group: impl Into<String>) -> Self {
        self.node_resource_groups.insert(cluster.into(), group.into());
        self
    }

    /// The node resource group the bill of `cluster` reads.
    pub fn node_resource_group_of(&self, cluster: &str) -> String {
        self.node_resource_groups
            .get(cluster)
            .cloned()
            .unwrap_or_else(|| format!("MC_{}_{}_{}", self.resource_group, cluster, self.location))
    }

    /// The ARM id of `cluster`'s managed cluster resource.
    fn cluster_resource_id(&self, cluster: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerService/managedClusters/{cluster}",
            self.subscription, self.resource_group
        )
    }
}

/// The whole UTC days covering `window`: the first day and the last (inclusive).
fn days(window: &TimeWindow) -> Result<(Date, Date)> {
    wooo_core::validate::time_window(window)?;
    let bad = |e: jiff::Error| Error::invalid_spec("window", format!("out of range: {e}"));
    let first = window.start.to_zoned(TimeZone::UTC).date();
    let end = window.end.to_zoned(TimeZone::UTC);
    let last = if end.time() == Time::midnight() { end.date().yesterday().map_err(bad)? } else { end.date() };
    Ok((first, last))
}

fn midnight(d: Date) -> jiff::Timestamp {
    d.to_zoned(TimeZone::UTC).map(|z| z.timestamp()).unwrap_or(jiff::Timestamp::MIN)
}

fn billed(first: Date, last: Date) -> TimeWindow {
    TimeWindow::new(midnight(first), midnight(last.tomorrow().unwrap_or(last)))
}

fn money_error(e: MoneyError) -> Error {
    Error::Provider { provider: PROVIDER, message: format!("cost report: {e}"), source: Some(Box::new(e)) }
}

/// The total, node and shared cost of the two answers, in one currency (`currency` when there are no rows).
pub(crate) fn sum_bill(
    node_rows: &[DailyCost],
    cluster_rows: &[DailyCost],
    cluster_id: &str,
    currency: wooo_core::model::Currency,
) -> Result<(Money, Money), MoneyError> {
    let currency = node_rows.iter().chain(cluster_rows).map(|r| r.cost.currency()).next().unwrap_or(currency);
    let mut total = Money::zero(currency);
    let mut nodes = Money::zero(currency);
    for row in node_rows {
        total = total.checked_add(row.cost)?;
        if row.group.eq_ignore_ascii_case(NODE_METER_CATEGORY) {
            nodes = nodes.checked_add(row.cost)?;
        }
    }
    for row in cluster_rows.iter().filter(|r| r.group.eq_ignore_ascii_case(cluster_id)) {
        total = total.checked_add(row.cost)?;
    }
    Ok((total, nodes))
}

#[async_trait]
impl BillingSource for CostManagementBilling {
    fn name(&self) -> &'static str {
        "Azure Cost Management"
    }

    fn billed_window(&self, window: &TimeWindow) -> TimeWindow {
        days(window).map(|(first, last)| billed(first, last)).unwrap_or(*window)
    }

    async fn bill(
        &self,
        cluster: &ClusterId,
        window: &TimeWindow,
        pools: &[NodePoolSpec],
        prices: &PriceTable,
    ) -> Result<Bill> {
        let (first, last) = days(window)?;
        let node_group = self.node_resource_group_of(cluster.as_str());
        let node_scope = format!("subscriptions/{}/resourceGroups/{node_group}", self.subscription);
        let node_rows = self.cost.actual_cost(&node_scope, first, last, &CostGroupBy::MeterCategory).await?;
        let cluster_scope = format!("subscriptions/{}/resourceGroups/{}", self.subscription, self.resource_group);
        let cluster_rows = self.cost.actual_cost(&cluster_scope, first, last, &CostGroupBy::Resource).await?;
        let window = billed(first, last);
        let currency = prices.control_plane.amount().currency();
        let (total, node_bill) =
            sum_bill(&node_rows, &cluster_rows, &self.cluster_resource_id(cluster.as_str()), currency)
                .map_err(money_error)?;
        let (nodes, shared) = engine::split_node_bill(total, node_bill, pools, prices, &window).map_err(money_error)?;
        Ok(Bill {
            window,
            nodes,
            shared,
            source: format!(
                "Azure Cost Management (ActualCost of resource groups `{node_group}` and `{}`); node split and \
                 allocation by {}",
                self.resource_group, prices.source
            ),
        })
    }
}

/// The [`CostAnalyzer`] of AKS clusters: a [`ComposedAnalyzer`] billed by [`CostManagementBilling`], over an
/// inventory and a price table (e.g. [`crate::catalog::AzureCatalog`]'s), with provider [`PROVIDER`].
///
/// **`cost`.** The bill of [`CostManagementBilling`] (the report's window is the billed one, whole UTC days),
/// allocated to workloads by [`engine::allocate`].
///
/// **`recommend`.** [`engine::recommend`]'s idle, right-size, spot and commitment recommendations over that
/// report (Azure reservation recommendations are not read: the commitment rests on the price table's discount).
#[derive(Debug, Clone)]
pub struct AksCostAnalyzer {
    composed: ComposedAnalyzer,
}

impl AksCostAnalyzer {
    /// An analyzer billing through `billing`, with `inventory` for what runs and `prices` for the cluster's
    /// region.
    pub fn new(billing: CostManagementBilling, inventory: Arc<dyn ClusterInventory>, prices: PriceTable) -> Self {
        Self { composed: ComposedAnalyzer::new(PROVIDER, Arc::new(billing), inventory, Arc::new(prices)) }
    }

    /// Reads usage from `usage` (e.g. Prometheus) instead of the inventory's snapshot.
    pub fn with_usage(mut self, usage: Arc<dyn UsageSource>) -> Self {
        self.composed = self.composed.with_usage(usage);
        self
    }
}

#[async_trait]
impl CostAnalyzer for AksCostAnalyzer {
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
#[path = "analyzer_tests.rs"]
mod tests;
