//! [`ComposedAnalyzer`]: a [`CostAnalyzer`] composed of a billing source, an inventory, a usage source, a price
//! source and the engine.

use std::sync::Arc;

use async_trait::async_trait;
use wooo_core::model::{ClusterId, ClusterSnapshot, CostReport, MoneyError, PriceTable, Recommendation, TimeWindow};
use wooo_core::{CostAnalyzer, CostCapabilities, Error, RecommendOptions, Result};

use crate::engine::{self, CostInputs, RecommendInputs};
use crate::sources::{BillingSource, ClusterInventory, PriceSource, UsageSource};

/// The [`CostAnalyzer`] made of sources and the engine:
///
/// **`cost`.** The window is validated; the [`BillingSource`] says which window it bills
/// ([`BillingSource::billed_window`]); the [`ClusterInventory`] says what ran over it (its usage replaced by the
/// [`UsageSource`]'s, when one is set with [`ComposedAnalyzer::with_usage`]); the [`BillingSource`] bills the
/// inventory's node pools at the [`PriceSource`]'s prices; [`engine::allocate`] allocates the bill to the
/// workloads.
///
/// **`recommend`.** [`engine::recommend`] over that report, the inventory and the prices; when the billing source
/// has its own commitments ([`BillingSource::commitments`]), they replace the engine's. Ordered by
/// [`engine::order_recommendations`].
///
/// Errors carry the analyzer's `provider`; amounts in two currencies are a [`Error::Provider`] error saying so.
#[derive(Debug, Clone)]
pub struct ComposedAnalyzer {
    provider: &'static str,
    billing: Arc<dyn BillingSource>,
    inventory: Arc<dyn ClusterInventory>,
    usage: Option<Arc<dyn UsageSource>>,
    prices: Arc<dyn PriceSource>,
}

impl ComposedAnalyzer {
    /// An analyzer named `provider` over these sources; usage from the inventory's snapshot.
    pub fn new(
        provider: &'static str,
        billing: Arc<dyn BillingSource>,
        inventory: Arc<dyn ClusterInventory>,
        prices: Arc<dyn PriceSource>,
    ) -> Self {
        Self { provider, billing, inventory, usage: None, prices }
    }

    /// Reads usage from `usage` instead of the inventory's snapshot.
    pub fn with_usage(mut self, usage: Arc<dyn UsageSource>) -> Self {
        self.usage = Some(usage);
        self
    }

    fn money_error(&self, e: MoneyError) -> Error {
        Error::Provider { provider: self.provider, message: format!("cost report: {e}"), source: Some(Box::new(e)) }
    }

    /// The report, with the snapshot and prices it was computed from.
    async fn report(
        &self,
        cluster: &ClusterId,
        window: &TimeWindow,
    ) -> Result<(CostReport, ClusterSnapshot, PriceTable)> {
        wooo_core::validate::time_window(window)?;
        let prices = self.prices.price_table().await?;
        let billed_window = self.billing.billed_window(window);
        let mut snapshot = self.inventory.snapshot(cluster, &billed_window).await?;
        if let Some(usage) = &self.usage {
            snapshot.usage = usage.usage(cluster, &billed_window).await?;
        }
        let bill = self.billing.bill(cluster, &billed_window, &snapshot.node_pools, &prices).await?;
        let inputs = CostInputs {
            cluster: cluster.clone(),
            window: bill.window,
            nodes: bill.nodes,
            shared: bill.shared,
            workloads: &snapshot.workloads,
            usage: &snapshot.usage,
            source: bill.source,
        };
        let report = engine::allocate(&inputs).map_err(|e| self.money_error(e))?;
        Ok((report, snapshot, prices))
    }
}

#[async_trait]
impl CostAnalyzer for ComposedAnalyzer {
    fn provider(&self) -> &'static str {
        self.provider
    }

    fn capabilities(&self) -> CostCapabilities {
        let mut capabilities = CostCapabilities::default();
        capabilities.billing_source = self.billing.name();
        capabilities.allocation = true;
        capabilities.recommendation_kinds = vec!["idle", "right_size", "commitment", "spot"];
        capabilities
    }

    async fn cost(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<CostReport> {
        self.report(cluster, window).await.map(|(report, _, _)| report)
    }

    async fn recommend(
        &self,
        cluster: &ClusterId,
        window: &TimeWindow,
        options: &RecommendOptions,
    ) -> Result<Vec<Recommendation>> {
        let (report, snapshot, prices) = self.report(cluster, window).await?;
        if let Some(min) = options.min_monthly_savings.filter(|m| m.currency() != report.currency) {
            return Err(Error::invalid_spec(
                "min_monthly_savings",
                format!("{} is not in the report's currency, {}", min, report.currency),
            ));
        }
        let wants = |kind: &str| options.kinds.is_empty() || options.kinds.contains(&kind);
        let billed_commitments =
            if wants("commitment") { self.billing.commitments(cluster, options).await? } else { None };
        let engine_kinds: Vec<&'static str> = ["idle", "right_size", "commitment", "spot"]
            .into_iter()
            .filter(|k| wants(k) && !(*k == "commitment" && billed_commitments.is_some()))
            .collect();
        let mut out = if engine_kinds.is_empty() {
            Vec::new()
        } else {
            let inputs = RecommendInputs {
                report: &report,
                node_pools: &snapshot.node_pools,
                workloads: &snapshot.workloads,
                usage: &snapshot.usage,
                prices: &prices,
            };
            let engine_options = RecommendOptions { kinds: engine_kinds, ..options.clone() };
            engine::recommend(&inputs, &engine_options).map_err(|e| self.money_error(e))?
        };
        for plan in billed_commitments.into_iter().flatten() {
            let amount = plan.estimated_monthly_savings.amount();
            wooo_core::model::Money::zero(report.currency).checked_add(amount).map_err(|e| self.money_error(e))?;
            if options.min_monthly_savings.is_none_or(|min| amount >= min) {
                out.push(plan);
            }
        }
        // One currency, checked above.
        engine::order_recommendations(&mut out);
        Ok(out)
    }
}
