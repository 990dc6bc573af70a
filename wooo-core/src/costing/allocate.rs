//! Allocation of node cost to workloads. (Being written.)

use crate::model::{ClusterId, CostReport, Money, NodeCost, TimeWindow, UsageSample, WorkloadProfile};

/// Everything allocation needs.
#[derive(Debug, Clone)]
pub struct CostInputs<'a> {
    /// The cluster.
    pub cluster: ClusterId,
    /// The window.
    pub window: TimeWindow,
    /// Node cost per pool over the window.
    pub nodes: Vec<NodeCost>,
    /// Cluster-wide fees over the window.
    pub shared: Money,
    /// Workloads and their requests.
    pub workloads: &'a [WorkloadProfile],
    /// Usage samples in the window.
    pub usage: &'a [UsageSample],
    /// Where the prices came from.
    pub source: String,
}

/// Allocates node cost to workloads.
pub fn allocate(inputs: &CostInputs<'_>) -> CostReport {
    let total = inputs.nodes.iter().map(|n| n.cost).fold(inputs.shared, |a, b| a + b);
    CostReport {
        cluster: inputs.cluster.clone(),
        window: inputs.window,
        currency: total.currency(),
        total,
        nodes: inputs.nodes.clone(),
        shared: inputs.shared,
        idle: total - inputs.shared,
        allocations: Vec::new(),
        source: inputs.source.clone(),
    }
}
