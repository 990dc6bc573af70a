//! The thin seam between [`super::Gke`] and the GKE API: every call the provisioner makes, in wooo's own types.
//! [`super::sdk::SdkApi`] implements it over google-cloud-container-v1 (REST); unit tests mock it
//! (`MockGkeApi`). No client-library type crosses it and no decision is taken below it: it sends one request and
//! classifies the answer (`super::error`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use wooo_core::Result;
use wooo_core::model::Taint;

/// Labels as GKE keeps them (resource labels of a cluster, Kubernetes labels of a node pool).
pub(crate) type Labels = BTreeMap<String, String>;

/// A cluster's or node pool's lifecycle state (`Cluster.status`, `NodePool.status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    Provisioning,
    Running,
    Reconciling,
    Stopping,
    Error,
    Degraded,
    RunningWithError,
    Other(String),
}

/// A GKE cluster as `projects.locations.clusters.get` reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ClusterInfo {
    pub name: String,
    pub status: Option<State>,
    pub status_message: String,
    /// `currentMasterVersion`, `1.33.5-gke.1200`.
    pub master_version: String,
    /// The API server's IP address or host (`endpoint`).
    pub endpoint: String,
    /// Base64 PEM of the cluster CA (`masterAuth.clusterCaCertificate`).
    pub ca_data: String,
    pub network: String,
    pub subnetwork: String,
    /// `ipAllocationPolicy.clusterIpv4CidrBlock`.
    pub pod_cidr: String,
    /// `ipAllocationPolicy.servicesIpv4CidrBlock`.
    pub service_cidr: String,
    /// `privateClusterConfig.enablePrivateEndpoint`.
    pub private_endpoint: bool,
    /// `masterAuthorizedNetworksConfig.cidrBlocks` when enabled.
    pub authorized_cidrs: Vec<String>,
    pub resource_labels: Labels,
    /// `labelFingerprint`, needed to change the resource labels.
    pub label_fingerprint: String,
    /// The cluster's zones (`locations`).
    pub locations: Vec<String>,
    /// `createTime`, RFC 3339.
    pub create_time: String,
    /// `releaseChannel.channel`, `REGULAR`, … (empty when none).
    pub release_channel: String,
}

/// Autoscaling bounds of a node pool: per zone (`minNodeCount`, `maxNodeCount`) or for the whole pool
/// (`totalMinNodeCount`, `totalMaxNodeCount`). wooo writes totals; pools made elsewhere may use per-zone bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Autoscaling {
    pub enabled: bool,
    pub min_per_zone: u32,
    pub max_per_zone: u32,
    pub total_min: u32,
    pub total_max: u32,
}

/// A node pool as `nodePools.get` reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct NodePoolInfo {
    pub name: String,
    pub status: Option<State>,
    pub status_message: String,
    pub machine_type: String,
    pub disk_size_gb: u32,
    pub disk_type: String,
    pub image_type: String,
    /// `config.spot`.
    pub spot: bool,
    /// `config.preemptible` (the older form of spot capacity).
    pub preemptible: bool,
    /// Kubernetes labels of the nodes (`config.labels`), including those GKE sets.
    pub labels: Labels,
    pub taints: Vec<Taint>,
    /// Labels of the Compute Engine VMs (`config.resourceLabels`): wooo's pool label lives here.
    pub resource_labels: Labels,
    pub autoscaling: Autoscaling,
    /// Nodes per zone at creation (`initialNodeCount`).
    pub initial_node_count: u32,
    /// The pool's zones.
    pub locations: Vec<String>,
    /// Kubernetes version of the nodes.
    pub version: String,
}

/// What a new node pool is made of.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct NewNodePool {
    pub name: String,
    pub machine_type: String,
    pub disk_size_gb: u32,
    /// Empty: GKE's default (`pd-balanced`).
    pub disk_type: String,
    pub spot: bool,
    pub labels: Labels,
    pub taints: Vec<Taint>,
    pub resource_labels: Labels,
    pub total_min: u32,
    pub total_max: u32,
    /// Nodes per zone at creation.
    pub initial_node_count: u32,
    /// Empty: the cluster's zones.
    pub locations: Vec<String>,
    /// Empty: the control plane's version.
    pub version: String,
}

/// `projects.locations.clusters.create`'s cluster.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct NewCluster {
    pub name: String,
    /// `initialClusterVersion`, a minor version (`1.33`): GKE picks the patch.
    pub version: String,
    /// Empty: the project's `default` network.
    pub network: String,
    pub subnetwork: String,
    pub pod_cidr: String,
    pub service_cidr: String,
    pub private_endpoint: bool,
    pub authorized_cidrs: Vec<String>,
    pub resource_labels: Labels,
    /// Empty: GKE's default channel.
    pub release_channel: String,
    /// Empty: the location's default zones.
    pub locations: Vec<String>,
    pub node_pools: Vec<NewNodePool>,
}

/// `nodePools.update`: the version and image type are sent every time (the API requires them); labels and
/// taints replace the pool's whole set when `Some`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct NodePoolUpdate {
    pub version: String,
    pub image_type: String,
    pub labels: Option<Labels>,
    pub taints: Option<Vec<Taint>>,
}

/// The state of a GKE operation (`Operation.status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OperationState {
    Pending,
    Running,
    Done,
    Aborting,
    Other(String),
}

/// A GKE long-running operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OperationInfo {
    /// Its short name (`operation-1700000000000-abcd`).
    pub name: String,
    /// `CREATE_CLUSTER`, `UPGRADE_MASTER`, …
    pub kind: String,
    pub state: OperationState,
    /// `error` (a `google.rpc.Status`) of a finished operation that failed, as a wooo error.
    pub error: Option<OperationError>,
    /// `statusMessage` / `detail`.
    pub detail: String,
}

/// The `google.rpc.Status` an operation ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OperationError {
    /// The canonical code (`google.rpc.Code`), a number.
    pub code: i32,
    pub message: String,
}

/// Every GKE call of the provisioner, in one project and location. Errors are already wooo errors
/// (`super::error::classify`): `NotFound` for a missing resource, `Conflict` while another operation runs, …
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub(crate) trait GkeApi: Send + Sync + std::fmt::Debug + 'static {
    /// `clusters.get`. `NotFound` when there is none.
    async fn get_cluster(&self, name: &str) -> Result<ClusterInfo>;
    /// `clusters.list` (one answer: the API does not page it).
    async fn list_clusters(&self) -> Result<Vec<ClusterInfo>>;
    /// `clusters.create` with its first node pools.
    async fn create_cluster(&self, cluster: &NewCluster) -> Result<OperationInfo>;
    /// `clusters.updateMaster` to a minor version.
    async fn update_master(&self, name: &str, version: &str) -> Result<OperationInfo>;
    /// `clusters.setResourceLabels`, replacing the whole set.
    async fn set_resource_labels(&self, name: &str, labels: &Labels, fingerprint: &str) -> Result<OperationInfo>;
    /// `clusters.delete`. `NotFound` when it is gone.
    async fn delete_cluster(&self, name: &str) -> Result<OperationInfo>;
    /// `operations.get`.
    async fn get_operation(&self, name: &str) -> Result<OperationInfo>;
    /// `operations.list` of the location (to find one already running on a cluster).
    async fn list_operations(&self) -> Result<Vec<(OperationInfo, String)>>;

    /// `nodePools.list`.
    async fn list_node_pools(&self, cluster: &str) -> Result<Vec<NodePoolInfo>>;
    /// `nodePools.get`. `NotFound` when there is none.
    async fn get_node_pool(&self, cluster: &str, name: &str) -> Result<NodePoolInfo>;
    /// `nodePools.create`.
    async fn create_node_pool(&self, cluster: &str, pool: &NewNodePool) -> Result<OperationInfo>;
    /// `nodePools.update` (version, labels, taints).
    async fn update_node_pool(&self, cluster: &str, name: &str, update: &NodePoolUpdate) -> Result<OperationInfo>;
    /// `nodePools.setAutoscaling` with total bounds.
    async fn set_autoscaling(&self, cluster: &str, name: &str, total_min: u32, total_max: u32)
    -> Result<OperationInfo>;
    /// `nodePools.setSize` (nodes per zone).
    async fn set_size(&self, cluster: &str, name: &str, per_zone: u32) -> Result<OperationInfo>;
    /// `nodePools.delete`. `NotFound` when it is gone.
    async fn delete_node_pool(&self, cluster: &str, name: &str) -> Result<OperationInfo>;
}
