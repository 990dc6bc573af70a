//! What runs on a cluster over a window, for the cloud cost analyzers (`aws::EksCostAnalyzer`,
//! `gcp::GkeCostAnalyzer`): the inventory they allocate cost over.

use std::fmt::Debug;

use async_trait::async_trait;
use wooo_core::Result;
use wooo_core::model::{ClusterId, NodePoolSpec, TimeWindow, UsageSample, WorkloadProfile};

/// What runs on a cluster over a window: the input of allocation and recommendations, as the simulator keeps it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClusterSnapshot {
    /// The node pools, as specified (desired size, instance types, capacity type).
    pub node_pools: Vec<NodePoolSpec>,
    /// The workloads and their requests.
    pub workloads: Vec<WorkloadProfile>,
    /// Usage samples in the window.
    pub usage: Vec<UsageSample>,
}

/// Where a cost analyzer learns what runs on a cluster: the node pools (from EKS, or the spec the cluster was
/// applied with), the workloads (from the Kubernetes API) and their usage (from metrics). A host program
/// implements it over its own sources.
#[async_trait]
pub trait ClusterInventory: Send + Sync + Debug + 'static {
    /// What ran on `cluster` over `window`.
    ///
    /// # Errors
    /// [`wooo_core::Error::NotFound`] for an unknown cluster; the source's errors.
    async fn snapshot(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<ClusterSnapshot>;
}

/// A fixed snapshot is an inventory: the same node pools, workloads and usage for every cluster and window (the
/// spec a cluster was applied with and recorded usage, say).
#[async_trait]
impl ClusterInventory for ClusterSnapshot {
    async fn snapshot(&self, _cluster: &ClusterId, window: &TimeWindow) -> Result<ClusterSnapshot> {
        let mut snapshot = self.clone();
        snapshot.usage.retain(|s| window.contains(s.at));
        Ok(snapshot)
    }
}
