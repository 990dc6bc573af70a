//! Specs and helpers shared by the simulator's tests.

use super::SimCloud;
use crate::model::{AppSpec, CloudKind, Cluster, ClusterSpec, Framework, NodePoolSpec};
use crate::progress::Progress;
use crate::{ProvisionerExt, WaitOptions};

/// A valid spec with one on-demand pool of 2 to 5 `m5.large` (2 desired).
pub(crate) fn cluster_spec(name: &str) -> ClusterSpec {
    ClusterSpec {
        name: name.to_string(),
        provider: CloudKind::Sim,
        region: "us-east-1".to_string(),
        kubernetes_version: "1.33".to_string(),
        node_pools: vec![pool("general", "m5.large", 2, 5)],
        network: Default::default(),
        tags: Default::default(),
    }
}

/// A node pool.
pub(crate) fn pool(name: &str, instance_type: &str, min: u32, max: u32) -> NodePoolSpec {
    NodePoolSpec {
        name: name.to_string(),
        instance_types: vec![instance_type.to_string()],
        min,
        max,
        desired: None,
        capacity: Default::default(),
        labels: Default::default(),
        taints: Vec::new(),
        disk: Default::default(),
        zones: Vec::new(),
    }
}

/// Creates [`cluster_spec`]`(name)` and waits until it is available.
pub(crate) async fn ready_cluster(cloud: &SimCloud, name: &str) -> Cluster {
    cloud
        .provisioner()
        .ensure(&cluster_spec(name), &WaitOptions::default(), &Progress::none())
        .await
        .expect("cluster becomes ready")
}

/// A static web app with 2 replicas (the standard tier).
pub(crate) fn web_app(namespace: &str, name: &str) -> AppSpec {
    AppSpec::new(namespace, name, "nginx:1.27", Framework::Static)
}
