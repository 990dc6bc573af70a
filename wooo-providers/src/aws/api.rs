//! The thin seam between [`super::Eks`] and the AWS SDKs: every AWS call the provisioner makes, in wooo's own
//! types. [`super::sdk::SdkApi`] implements it over aws-sdk-eks, -ec2, -iam and -sts; unit tests mock it
//! (`MockAwsApi`). No SDK type crosses it, and no decision is taken below it: it sends one request (following
//! pages where a call lists) and classifies the answer (`super::error`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::Timestamp;
use wooo_core::Result;
use wooo_core::model::{Capacity, Taint};

/// Tags / labels as AWS keeps them.
pub(crate) type Tags = BTreeMap<String, String>;

/// An EKS cluster's lifecycle state (`Cluster.status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClusterState {
    Creating,
    Active,
    Updating,
    Deleting,
    Failed,
    Pending,
    Other(String),
}

/// An EKS cluster as DescribeCluster reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ClusterInfo {
    pub name: String,
    pub arn: String,
    pub status: Option<ClusterState>,
    pub version: Option<String>,
    pub platform_version: Option<String>,
    pub endpoint: Option<String>,
    /// Base64 PEM of the cluster CA.
    pub ca_data: Option<String>,
    pub role_arn: String,
    pub vpc_id: Option<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub endpoint_public: bool,
    pub endpoint_private: bool,
    pub public_access_cidrs: Vec<String>,
    pub service_cidr: Option<String>,
    pub tags: Tags,
    pub created_at: Option<Timestamp>,
    /// `health.issues`, as `code: message`.
    pub health_issues: Vec<String>,
}

/// The API endpoint exposure of a cluster (`resourcesVpcConfig` endpoint fields).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct EndpointConfig {
    pub public: bool,
    pub private: bool,
    /// Empty: anywhere (`0.0.0.0/0`).
    pub public_access_cidrs: Vec<String>,
}

/// CreateCluster's input.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct CreateCluster {
    pub name: String,
    /// Minor version, `1.33`.
    pub version: String,
    pub role_arn: String,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub endpoint: EndpointConfig,
    pub service_cidr: Option<String>,
    pub tags: Tags,
    /// Idempotency token: the same create retried is one cluster.
    pub client_request_token: String,
}

/// A managed node group's lifecycle state (`Nodegroup.status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NodeGroupState {
    Creating,
    Active,
    Updating,
    Deleting,
    CreateFailed,
    DeleteFailed,
    Degraded,
    Other(String),
}

/// Min, max and desired size of a node group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Scaling {
    pub min: u32,
    pub max: u32,
    pub desired: u32,
}

/// A managed node group as DescribeNodegroup reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct NodeGroupInfo {
    pub cluster: String,
    pub name: String,
    pub arn: String,
    pub status: Option<NodeGroupState>,
    pub capacity: Capacity,
    pub instance_types: Vec<String>,
    /// `AL2023_x86_64_STANDARD`, `AL2023_ARM_64_STANDARD`, …
    pub ami_type: Option<String>,
    pub disk_size_gib: Option<u32>,
    pub labels: Tags,
    pub taints: Vec<Taint>,
    pub scaling: Scaling,
    pub subnet_ids: Vec<String>,
    pub node_role_arn: String,
    /// Kubernetes minor version of the nodes.
    pub version: Option<String>,
    pub release_version: Option<String>,
    pub tags: Tags,
    /// `health.issues`, as `code: message`.
    pub health_issues: Vec<String>,
}

/// CreateNodegroup's input.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct CreateNodeGroup {
    pub cluster: String,
    pub name: String,
    pub node_role_arn: String,
    pub subnet_ids: Vec<String>,
    pub capacity: Capacity,
    pub instance_types: Vec<String>,
    pub ami_type: String,
    pub disk_size_gib: u32,
    pub labels: Tags,
    pub taints: Vec<Taint>,
    pub scaling: Scaling,
    pub version: String,
    pub tags: Tags,
    pub client_request_token: String,
}

/// UpdateNodegroupConfig's input: only what is set changes.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct NodeGroupConfigUpdate {
    pub add_labels: Tags,
    pub remove_labels: Vec<String>,
    pub add_taints: Vec<Taint>,
    pub remove_taints: Vec<Taint>,
    /// `desired` is sent only when `Some`: the cluster autoscaler owns it after creation.
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub desired: Option<u32>,
    pub client_request_token: String,
}

/// The state of an EKS update (UpdateClusterVersion, UpdateClusterConfig, UpdateNodegroupConfig, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UpdateState {
    InProgress,
    Successful,
    Failed,
    Cancelled,
    Other(String),
}

/// An EKS update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpdateInfo {
    pub id: String,
    pub state: UpdateState,
    /// `errors`, as `code: message`.
    pub errors: Vec<String>,
}

/// An EC2 instance type's facts the provisioner checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InstanceTypeInfo {
    pub name: String,
    /// `x86_64`, `arm64`, `i386`, …
    pub architectures: Vec<String>,
    pub vcpus: u32,
    pub memory_mib: u64,
    /// Whether it has GPUs (an accelerated AMI is needed).
    pub gpus: bool,
}

/// An EC2 subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SubnetInfo {
    pub id: String,
    pub vpc_id: String,
    pub zone: String,
    pub cidr: String,
    pub tags: Tags,
}

/// The kinds of EC2 resources wooo creates for a cluster's network, in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum NetworkKind {
    Vpc,
    InternetGateway,
    Subnet,
    RouteTable,
    ElasticIp,
    NatGateway,
}

/// One EC2 resource carrying the cluster tag [`super::CLUSTER_TAG`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NetworkResource {
    pub kind: NetworkKind,
    pub id: String,
    /// Its `wooo.dev/role` tag: `vpc`, `igw`, `public-<zone>`, `private-<zone>`, `rt-public`, `rt-private`,
    /// `eip-nat`, `nat`.
    pub role: String,
    /// Live state where EC2 reports one (`available`, `pending`, `deleted`, …).
    pub state: Option<String>,
    /// What it is attached to or associated with: an internet gateway's VPCs, a route table's subnets.
    pub attachments: Vec<String>,
}

/// What to create in EC2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NetworkCreate {
    /// A VPC with DNS support and hostnames on.
    Vpc { cidr: String },
    /// An internet gateway attached to the VPC.
    InternetGateway { vpc_id: String },
    /// A subnet; `public` ones map public IPs on launch.
    Subnet { vpc_id: String, cidr: String, zone: String, public: bool },
    /// A route table with a default route (to the internet gateway or NAT gateway `via`), associated with the
    /// subnets.
    RouteTable { vpc_id: String, via: String, subnet_ids: Vec<String> },
    /// An Elastic IP for a NAT gateway.
    ElasticIp,
    /// A NAT gateway in a public subnet with an Elastic IP allocation.
    NatGateway { subnet_id: String, allocation_id: String },
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoleInfo {
    pub name: String,
    pub arn: String,
    pub tags: Tags,
    pub attached_policy_arns: Vec<String>,
}

/// Every AWS call of the EKS provisioner. Errors are already wooo errors (`super::error::classify`):
/// `NotFound` for a missing resource, `Conflict` for one in use, and so on.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub(crate) trait AwsApi: Send + Sync + std::fmt::Debug + 'static {
    // --- EKS clusters -------------------------------------------------------------------------------------
    /// DescribeCluster. `NotFound` when there is none.
    async fn describe_cluster(&self, name: &str) -> Result<ClusterInfo>;
    /// ListClusters, every page.
    async fn list_clusters(&self) -> Result<Vec<String>>;
    /// CreateCluster.
    async fn create_cluster(&self, input: &CreateCluster) -> Result<ClusterInfo>;
    /// UpdateClusterVersion to a minor version.
    async fn update_cluster_version(&self, name: &str, version: &str, token: &str) -> Result<UpdateInfo>;
    /// UpdateClusterConfig of the endpoint exposure.
    async fn update_cluster_endpoint(&self, name: &str, endpoint: &EndpointConfig, token: &str) -> Result<UpdateInfo>;
    /// DescribeUpdate of a cluster update (`node_group: None`) or a node group update.
    async fn describe_update(&self, cluster: &str, node_group: Option<String>, id: &str) -> Result<UpdateInfo>;
    /// TagResource.
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<()>;
    /// UntagResource.
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<()>;
    /// DeleteCluster. `NotFound` when it is gone; `Conflict` while node groups remain.
    async fn delete_cluster(&self, name: &str) -> Result<()>;

    // --- EKS managed node groups --------------------------------------------------------------------------
    /// ListNodegroups, every page.
    async fn list_node_groups(&self, cluster: &str) -> Result<Vec<String>>;
    /// DescribeNodegroup.
    async fn describe_node_group(&self, cluster: &str, name: &str) -> Result<NodeGroupInfo>;
    /// CreateNodegroup.
    async fn create_node_group(&self, input: &CreateNodeGroup) -> Result<NodeGroupInfo>;
    /// UpdateNodegroupConfig.
    async fn update_node_group_config(
        &self,
        cluster: &str,
        name: &str,
        update: &NodeGroupConfigUpdate,
    ) -> Result<UpdateInfo>;
    /// UpdateNodegroupVersion to the cluster's minor version.
    async fn update_node_group_version(
        &self,
        cluster: &str,
        name: &str,
        version: &str,
        token: &str,
    ) -> Result<UpdateInfo>;
    /// DeleteNodegroup. `NotFound` when it is gone.
    async fn delete_node_group(&self, cluster: &str, name: &str) -> Result<()>;

    // --- EC2 ----------------------------------------------------------------------------------------------
    /// DescribeInstanceTypes of these types (unknown ones are left out, not an error).
    async fn describe_instance_types(&self, types: &[String]) -> Result<Vec<InstanceTypeInfo>>;
    /// DescribeInstanceTypeOfferings in the region, of these types: the ones offered.
    async fn offered_instance_types(&self, types: &[String]) -> Result<Vec<String>>;
    /// DescribeAvailabilityZones: the region's available zones, sorted.
    async fn availability_zones(&self) -> Result<Vec<String>>;
    /// DescribeSubnets of these ids. `NotFound` when one does not exist.
    async fn describe_subnets(&self, ids: &[String]) -> Result<Vec<SubnetInfo>>;
    /// Every VPC, internet gateway, subnet, route table, Elastic IP and NAT gateway tagged with the cluster tag
    /// for `cluster` (deleted NAT gateways left out).
    async fn network_resources(&self, cluster: &str) -> Result<Vec<NetworkResource>>;
    /// Creates one network resource tagged with `tags` (which include its role); its id.
    async fn create_network_resource(&self, create: &NetworkCreate, tags: &Tags) -> Result<String>;
    /// Deletes one network resource (detaching an internet gateway and disassociating a route table first).
    /// `NotFound` when it is gone.
    async fn delete_network_resource(&self, resource: &NetworkResource) -> Result<()>;

    // --- IAM ----------------------------------------------------------------------------------------------
    /// GetRole with its attached managed policies. `NotFound` when there is none.
    async fn get_role(&self, name: &str) -> Result<RoleInfo>;
    /// CreateRole with a trust policy for `service_principal` (`eks.amazonaws.com`, `ec2.amazonaws.com`).
    async fn create_role(&self, name: &str, service_principal: &str, tags: &Tags) -> Result<RoleInfo>;
    /// AttachRolePolicy.
    async fn attach_role_policy(&self, role: &str, policy_arn: &str) -> Result<()>;
    /// DetachRolePolicy of every attached policy, then DeleteRole. `NotFound` when it is gone.
    async fn delete_role(&self, name: &str) -> Result<()>;
}
