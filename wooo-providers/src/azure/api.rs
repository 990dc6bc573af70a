//! The thin seam between [`super::Aks`] and Azure Resource Manager: every ARM call the provisioner makes, in
//! wooo's own types. [`super::sdk::SdkApi`] implements it over azure_mgmt_containerservice (managed clusters,
//! agent pools, credentials) and plain ARM requests through azure_core's pipeline (resource groups, the status of
//! long-running operations); unit tests mock it (`MockAksApi`). No SDK type crosses it, so a direct ARM client
//! could replace the SDK without touching anything above; no decision is taken below it: it sends one request
//! (following `nextLink` where a call lists) and classifies the answer (`super::error`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use wooo_core::Result;
use wooo_core::model::{SecretString, Taint};

/// Tags / labels as ARM keeps them.
pub(crate) type Tags = BTreeMap<String, String>;

/// A resource group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ResourceGroupInfo {
    pub name: String,
    pub location: String,
    pub tags: Tags,
}

/// ARM `provisioningState` of a managed cluster or an agent pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProvisioningState {
    Succeeded,
    Failed,
    Canceled,
    Creating,
    Updating,
    Upgrading,
    Scaling,
    Deleting,
    Other(String),
}

impl ProvisioningState {
    /// From ARM's word.
    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "Succeeded" => Self::Succeeded,
            "Failed" => Self::Failed,
            "Canceled" => Self::Canceled,
            "Creating" => Self::Creating,
            "Updating" => Self::Updating,
            "Upgrading" => Self::Upgrading,
            "Scaling" => Self::Scaling,
            "Deleting" => Self::Deleting,
            other => Self::Other(other.to_string()),
        }
    }

    /// Whether no operation runs on the resource (another PUT may be sent).
    pub(crate) fn is_terminal(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }
}

/// `System` pools run the cluster's system pods; AKS needs at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum PoolMode {
    #[default]
    System,
    User,
}

/// An agent pool (an `agentPoolProfiles` entry or an `agentPools` resource).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct PoolInfo {
    pub name: String,
    pub mode: PoolMode,
    pub vm_size: String,
    pub count: u32,
    pub autoscaling: bool,
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub labels: Tags,
    /// `nodeTaints`, parsed (the spot taint AKS adds included).
    pub taints: Vec<Taint>,
    pub os_disk_gib: Option<u32>,
    pub os_disk_type: Option<String>,
    /// `orchestratorVersion`.
    pub version: Option<String>,
    /// `currentOrchestratorVersion`.
    pub current_version: Option<String>,
    pub node_image_version: Option<String>,
    pub spot: bool,
    pub spot_max_price: Option<f64>,
    pub zones: Vec<String>,
    pub provisioning_state: Option<ProvisioningState>,
    pub tags: Tags,
}

/// The API server's exposure (`apiServerAccessProfile`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ApiAccess {
    pub private: bool,
    /// `authorizedIPRanges`; empty: anywhere.
    pub authorized_ranges: Vec<String>,
}

/// A managed cluster as ManagedClusters_Get reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ClusterInfo {
    pub name: String,
    pub id: String,
    pub location: String,
    pub provisioning_state: Option<ProvisioningState>,
    /// `kubernetesVersion` (what was asked).
    pub version: Option<String>,
    /// `currentKubernetesVersion` (what runs).
    pub current_version: Option<String>,
    pub dns_prefix: Option<String>,
    pub fqdn: Option<String>,
    pub private_fqdn: Option<String>,
    pub access: ApiAccess,
    pub pod_cidr: Option<String>,
    pub service_cidr: Option<String>,
    pub node_resource_group: Option<String>,
    /// Managed AAD (`aadProfile` present): users authenticate with Entra ID tokens for the AKS server app.
    pub aad: bool,
    pub tags: Tags,
    pub pools: Vec<PoolInfo>,
}

/// An agent pool to create or update (AgentPools_CreateOrUpdate, or an `agentPoolProfiles` entry).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct PoolPut {
    pub name: String,
    pub mode: PoolMode,
    pub vm_size: String,
    /// Sent when the autoscaler is off, or at creation.
    pub count: Option<u32>,
    /// `Some((min, max))`: the cluster autoscaler is on.
    pub autoscale: Option<(u32, u32)>,
    pub labels: Tags,
    pub taints: Vec<Taint>,
    pub os_disk_gib: u32,
    pub os_disk_type: Option<String>,
    pub version: Option<String>,
    /// `Some(max price)`: a spot pool (`-1`: up to the on-demand price), eviction policy Delete.
    pub spot_max_price: Option<f64>,
    pub zones: Vec<String>,
    pub tags: Tags,
}

/// A managed cluster to create or update (ManagedClusters_CreateOrUpdate).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ClusterPut {
    pub name: String,
    pub location: String,
    pub version: String,
    pub dns_prefix: String,
    pub access: ApiAccess,
    pub pod_cidr: Option<String>,
    pub service_cidr: Option<String>,
    pub tags: Tags,
    pub pools: Vec<PoolPut>,
}

/// How to follow a long-running operation ARM accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operation {
    /// Finished with the answer (200, or 204 for a delete).
    Done,
    /// `Azure-AsyncOperation`: a status resource to GET.
    Status(String),
    /// `Location` only: 202 while it runs, 200/204 when it is done.
    Location(String),
}

/// The state of a long-running operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OperationStatus {
    InProgress,
    Succeeded,
    /// The ARM error, as `code: message`.
    Failed(String),
    Canceled(String),
}

/// Every ARM call of the AKS provisioner, in one subscription. Errors are already wooo errors
/// (`super::error::classify`): `NotFound` for 404, `Conflict` for 409, `Throttled` with `Retry-After` for 429.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub(crate) trait AksApi: Send + Sync + std::fmt::Debug + 'static {
    /// ResourceGroups_Get. `NotFound` when there is none.
    async fn get_resource_group(&self, name: &str) -> Result<ResourceGroupInfo>;
    /// ResourceGroups_CreateOrUpdate.
    async fn create_resource_group(&self, name: &str, location: &str, tags: &Tags) -> Result<ResourceGroupInfo>;
    /// ResourceGroups_Delete.
    async fn delete_resource_group(&self, name: &str) -> Result<Operation>;
    /// ManagedClusters_Get. `NotFound` when there is none.
    async fn get_cluster(&self, group: &str, name: &str) -> Result<ClusterInfo>;
    /// ManagedClusters_ListByResourceGroup, every page.
    async fn list_clusters(&self, group: &str) -> Result<Vec<ClusterInfo>>;
    /// ManagedClusters_CreateOrUpdate.
    async fn put_cluster(&self, group: &str, cluster: &ClusterPut) -> Result<Operation>;
    /// ManagedClusters_Delete.
    async fn delete_cluster(&self, group: &str, name: &str) -> Result<Operation>;
    /// AgentPools_CreateOrUpdate.
    async fn put_pool(&self, group: &str, cluster: &str, pool: &PoolPut) -> Result<Operation>;
    /// AgentPools_Delete.
    async fn delete_pool(&self, group: &str, cluster: &str, name: &str) -> Result<Operation>;
    /// One look at a long-running operation.
    async fn operation(&self, operation: &Operation) -> Result<OperationStatus>;
    /// ManagedClusters_ListClusterUserCredential (or ListClusterAdminCredential): the first kubeconfig (YAML).
    async fn kubeconfig(&self, group: &str, name: &str, admin: bool) -> Result<SecretString>;
}
