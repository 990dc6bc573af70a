//! Recommendations. (Being written.)

use crate::cost::RecommendOptions;
use crate::model::{CostReport, NodePoolSpec, Recommendation, UsageSample, WorkloadProfile};

use super::PriceTable;

/// Everything recommendations need.
#[derive(Debug, Clone)]
pub struct RecommendInputs<'a> {
    /// The report for the window (allocations, node cost).
    pub report: &'a CostReport,
    /// Node pools as specified.
    pub node_pools: &'a [NodePoolSpec],
    /// Workloads and their requests.
    pub workloads: &'a [WorkloadProfile],
    /// Usage samples in the window.
    pub usage: &'a [UsageSample],
    /// Prices of the cluster's region.
    pub prices: &'a PriceTable,
}

/// Recommendations, highest estimated savings first.
pub fn recommend(_inputs: &RecommendInputs<'_>, _options: &RecommendOptions) -> Vec<Recommendation> {
    Vec::new()
}
