//! [`GkeApi`] over google-cloud-container-v1 (REST transport): builds each request from wooo's types, sends
//! it once (the client library's own retries are off: [`super::Gke`] decides what to retry), and reads the
//! answer back into wooo's types. Errors go through `super::error::classify`.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use google_cloud_container_v1::client::ClusterManager;
use google_cloud_container_v1::model;
use wooo_core::model::{Taint, TaintEffect};
use wooo_core::{Error, Result};

use super::api::{
    Autoscaling, ClusterInfo, GkeApi, Labels, NewCluster, NewNodePool, NodePoolInfo, NodePoolUpdate, OperationError,
    OperationInfo, OperationState, State,
};
use super::error::{Failure, classify};

/// The GKE API of one project and location.
#[derive(Debug, Clone)]
pub(crate) struct SdkApi {
    client: ClusterManager,
    /// `projects/<project>/locations/<location>`.
    parent: String,
}

impl SdkApi {
    pub(crate) fn new(client: ClusterManager, project: &str, location: &str) -> Self {
        Self { client, parent: format!("projects/{project}/locations/{location}") }
    }

    fn cluster_path(&self, name: &str) -> String {
        format!("{}/clusters/{name}", self.parent)
    }

    fn pool_path(&self, cluster: &str, name: &str) -> String {
        format!("{}/clusters/{cluster}/nodePools/{name}", self.parent)
    }
}

/// A client-library error as a wooo error.
pub(crate) fn from_gax(e: google_cloud_gax::error::Error, what: &str, field: &str) -> Error {
    let failure = failure(&e);
    classify(failure, what, field, Some(Box::new(e)))
}

/// What a client-library error says happened.
pub(crate) fn failure(e: &google_cloud_gax::error::Error) -> Failure {
    let status = e.http_status_code();
    let retry_after = e
        .http_headers()
        .and_then(|h| h.get("retry-after"))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    if let Some(s) = e.status() {
        return Failure::Service { code: Some(s.code as i32), status, message: s.message.clone(), retry_after };
    }
    if e.is_authentication() {
        return Failure::Credentials { message: e.to_string() };
    }
    if e.is_timeout() || e.is_io() || e.is_connect() || e.is_transport() || e.is_exhausted() {
        return Failure::NoResponse { message: e.to_string() };
    }
    if let Some(code) = status {
        return Failure::Service { code: None, status: Some(code), message: e.to_string(), retry_after };
    }
    Failure::Construction { message: e.to_string() }
}

fn state(s: Option<&str>) -> Option<State> {
    Some(match s? {
        "PROVISIONING" => State::Provisioning,
        "RUNNING" => State::Running,
        "RECONCILING" => State::Reconciling,
        "STOPPING" => State::Stopping,
        "ERROR" => State::Error,
        "DEGRADED" => State::Degraded,
        "RUNNING_WITH_ERROR" => State::RunningWithError,
        "STATUS_UNSPECIFIED" => return None,
        other => State::Other(other.to_string()),
    })
}

fn labels(m: &HashMap<String, String>) -> Labels {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn hash(m: &Labels) -> HashMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn taint_in(t: &Taint) -> model::NodeTaint {
    let mut out = model::NodeTaint::default();
    out.key = t.key.clone();
    out.value = t.value.clone().unwrap_or_default();
    out.effect = match t.effect {
        TaintEffect::NoSchedule => model::node_taint::Effect::NoSchedule,
        TaintEffect::PreferNoSchedule => model::node_taint::Effect::PreferNoSchedule,
        TaintEffect::NoExecute => model::node_taint::Effect::NoExecute,
    };
    out
}

fn taint_out(t: &model::NodeTaint) -> Option<Taint> {
    let effect = match t.effect {
        model::node_taint::Effect::NoSchedule => TaintEffect::NoSchedule,
        model::node_taint::Effect::PreferNoSchedule => TaintEffect::PreferNoSchedule,
        model::node_taint::Effect::NoExecute => TaintEffect::NoExecute,
        _ => return None,
    };
    Some(Taint { key: t.key.clone(), value: (!t.value.is_empty()).then(|| t.value.clone()), effect })
}

fn u32_of(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn i32_of(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

// `status_message`, `privateClusterConfig` and `masterAuthorizedNetworksConfig` are deprecated in favour of
// `conditions` and `controlPlaneEndpointsConfig` but still served and accepted by container v1; they are the
// fields every GKE version understands.
#[allow(deprecated)]
pub(crate) fn cluster_info(c: &model::Cluster) -> ClusterInfo {
    let ip = c.ip_allocation_policy.as_ref();
    let authorized = c.master_authorized_networks_config.as_ref().filter(|m| m.enabled);
    ClusterInfo {
        name: c.name.clone(),
        status: state(c.status.name()),
        status_message: c.status_message.clone(),
        master_version: c.current_master_version.clone(),
        endpoint: c.endpoint.clone(),
        ca_data: c.master_auth.as_ref().map(|m| m.cluster_ca_certificate.clone()).unwrap_or_default(),
        network: c.network.clone(),
        subnetwork: c.subnetwork.clone(),
        pod_cidr: ip.map(|p| p.cluster_ipv4_cidr_block.clone()).unwrap_or_default(),
        service_cidr: ip.map(|p| p.services_ipv4_cidr_block.clone()).unwrap_or_default(),
        private_endpoint: c.private_cluster_config.as_ref().is_some_and(|p| p.enable_private_endpoint),
        authorized_cidrs: authorized
            .map(|m| m.cidr_blocks.iter().map(|b| b.cidr_block.clone()).collect())
            .unwrap_or_default(),
        resource_labels: labels(&c.resource_labels),
        label_fingerprint: c.label_fingerprint.clone(),
        locations: c.locations.clone(),
        create_time: c.create_time.clone(),
        release_channel: c.release_channel.as_ref().and_then(|r| r.channel.name()).unwrap_or_default().to_string(),
    }
}

#[allow(deprecated)]
pub(crate) fn pool_info(p: &model::NodePool) -> NodePoolInfo {
    let config = p.config.clone().unwrap_or_default();
    let a = p.autoscaling.clone().unwrap_or_default();
    NodePoolInfo {
        name: p.name.clone(),
        status: state(p.status.name()),
        status_message: p.status_message.clone(),
        machine_type: config.machine_type.clone(),
        disk_size_gb: u32_of(config.disk_size_gb),
        disk_type: config.disk_type.clone(),
        image_type: config.image_type.clone(),
        spot: config.spot,
        preemptible: config.preemptible,
        labels: labels(&config.labels),
        taints: config.taints.iter().filter_map(taint_out).collect(),
        resource_labels: labels(&config.resource_labels),
        autoscaling: Autoscaling {
            enabled: a.enabled,
            min_per_zone: u32_of(a.min_node_count),
            max_per_zone: u32_of(a.max_node_count),
            total_min: u32_of(a.total_min_node_count),
            total_max: u32_of(a.total_max_node_count),
        },
        initial_node_count: u32_of(p.initial_node_count),
        locations: p.locations.clone(),
        version: p.version.clone(),
    }
}

#[allow(deprecated)]
fn operation_info(o: &model::Operation) -> OperationInfo {
    let state = match o.status.name() {
        Some("PENDING") => OperationState::Pending,
        Some("RUNNING") => OperationState::Running,
        Some("DONE") => OperationState::Done,
        Some("ABORTING") => OperationState::Aborting,
        other => OperationState::Other(other.unwrap_or("unknown").to_string()),
    };
    let error =
        o.error.as_ref().filter(|e| e.code != 0).map(|e| OperationError { code: e.code, message: e.message.clone() });
    let detail = if o.status_message.is_empty() { o.detail.clone() } else { o.status_message.clone() };
    OperationInfo {
        name: o.name.clone(),
        kind: o.operation_type.name().unwrap_or("unknown").to_string(),
        state,
        error,
        detail,
    }
}

pub(crate) fn node_pool(p: &NewNodePool) -> model::NodePool {
    let mut config = model::NodeConfig::default();
    config.machine_type = p.machine_type.clone();
    config.disk_size_gb = i32_of(p.disk_size_gb);
    config.disk_type = p.disk_type.clone();
    config.spot = p.spot;
    config.labels = hash(&p.labels);
    config.taints = p.taints.iter().map(taint_in).collect();
    config.resource_labels = hash(&p.resource_labels);
    config.oauth_scopes = vec!["https://www.googleapis.com/auth/cloud-platform".to_string()];
    let mut autoscaling = model::NodePoolAutoscaling::default();
    autoscaling.enabled = true;
    autoscaling.total_min_node_count = i32_of(p.total_min);
    autoscaling.total_max_node_count = i32_of(p.total_max);
    autoscaling.location_policy = model::node_pool_autoscaling::LocationPolicy::Balanced;
    let mut out = model::NodePool::default();
    out.name = p.name.clone();
    out.config = Some(config);
    out.initial_node_count = i32_of(p.initial_node_count);
    out.locations = p.locations.clone();
    out.version = p.version.clone();
    out.autoscaling = Some(autoscaling);
    out
}

#[allow(deprecated)]
pub(crate) fn cluster(c: &NewCluster) -> model::Cluster {
    let mut out = model::Cluster::default();
    out.name = c.name.clone();
    out.initial_cluster_version = c.version.clone();
    out.network = c.network.clone();
    out.subnetwork = c.subnetwork.clone();
    out.resource_labels = hash(&c.resource_labels);
    out.locations = c.locations.clone();
    out.node_pools = c.node_pools.iter().map(node_pool).collect();
    let mut ip = model::IPAllocationPolicy::default();
    ip.use_ip_aliases = true;
    ip.cluster_ipv4_cidr_block = c.pod_cidr.clone();
    ip.services_ipv4_cidr_block = c.service_cidr.clone();
    out.ip_allocation_policy = Some(ip);
    if c.private_endpoint {
        let mut p = model::PrivateClusterConfig::default();
        p.enable_private_nodes = true;
        p.enable_private_endpoint = true;
        out.private_cluster_config = Some(p);
    }
    if !c.authorized_cidrs.is_empty() {
        let mut m = model::MasterAuthorizedNetworksConfig::default();
        m.enabled = true;
        m.cidr_blocks = c
            .authorized_cidrs
            .iter()
            .map(|cidr| {
                let mut b = model::master_authorized_networks_config::CidrBlock::default();
                b.cidr_block = cidr.clone();
                b
            })
            .collect();
        out.master_authorized_networks_config = Some(m);
    }
    if !c.release_channel.is_empty() {
        let mut r = model::ReleaseChannel::default();
        r.channel = model::release_channel::Channel::from(c.release_channel.as_str());
        out.release_channel = Some(r);
    }
    out
}

#[async_trait]
impl GkeApi for SdkApi {
    async fn get_cluster(&self, name: &str) -> Result<ClusterInfo> {
        let mut r = model::GetClusterRequest::default();
        r.name = self.cluster_path(name);
        let what = format!("get cluster {name:?}");
        let c = self.client.get_cluster().with_request(r).send().await.map_err(|e| from_gax(e, &what, "name"))?;
        Ok(cluster_info(&c))
    }

    async fn list_clusters(&self) -> Result<Vec<ClusterInfo>> {
        let mut r = model::ListClustersRequest::default();
        r.parent = self.parent.clone();
        let out = self
            .client
            .list_clusters()
            .with_request(r)
            .send()
            .await
            .map_err(|e| from_gax(e, "list clusters", "location"))?;
        Ok(out.clusters.iter().map(cluster_info).collect())
    }

    async fn create_cluster(&self, c: &NewCluster) -> Result<OperationInfo> {
        let mut r = model::CreateClusterRequest::default();
        r.parent = self.parent.clone();
        r.cluster = Some(cluster(c));
        let what = format!("create cluster {:?}", c.name);
        let o =
            self.client.create_cluster().with_request(r).send().await.map_err(|e| from_gax(e, &what, "node_pools"))?;
        Ok(operation_info(&o))
    }

    async fn update_master(&self, name: &str, version: &str) -> Result<OperationInfo> {
        let mut r = model::UpdateMasterRequest::default();
        r.name = self.cluster_path(name);
        r.master_version = version.to_string();
        let what = format!("upgrade the control plane of {name:?} to {version}");
        let o = self
            .client
            .update_master()
            .with_request(r)
            .send()
            .await
            .map_err(|e| from_gax(e, &what, "kubernetes_version"))?;
        Ok(operation_info(&o))
    }

    async fn set_resource_labels(&self, name: &str, labels: &Labels, fingerprint: &str) -> Result<OperationInfo> {
        let mut r = model::SetLabelsRequest::default();
        r.name = self.cluster_path(name);
        r.resource_labels = hash(labels);
        r.label_fingerprint = fingerprint.to_string();
        let what = format!("set the labels of cluster {name:?}");
        let o = self.client.set_labels().with_request(r).send().await.map_err(|e| from_gax(e, &what, "tags"))?;
        Ok(operation_info(&o))
    }

    async fn delete_cluster(&self, name: &str) -> Result<OperationInfo> {
        let mut r = model::DeleteClusterRequest::default();
        r.name = self.cluster_path(name);
        let what = format!("delete cluster {name:?}");
        let o = self.client.delete_cluster().with_request(r).send().await.map_err(|e| from_gax(e, &what, "name"))?;
        Ok(operation_info(&o))
    }

    async fn get_operation(&self, name: &str) -> Result<OperationInfo> {
        let mut r = model::GetOperationRequest::default();
        r.name = format!("{}/operations/{name}", self.parent);
        let what = format!("get operation {name:?}");
        let o = self.client.get_operation().with_request(r).send().await.map_err(|e| from_gax(e, &what, "name"))?;
        Ok(operation_info(&o))
    }

    async fn list_operations(&self) -> Result<Vec<(OperationInfo, String)>> {
        let mut r = model::ListOperationsRequest::default();
        r.parent = self.parent.clone();
        let out = self
            .client
            .list_operations()
            .with_request(r)
            .send()
            .await
            .map_err(|e| from_gax(e, "list operations", "location"))?;
        Ok(out.operations.iter().map(|o| (operation_info(o), o.target_link.clone())).collect())
    }

    async fn list_node_pools(&self, cluster: &str) -> Result<Vec<NodePoolInfo>> {
        let mut r = model::ListNodePoolsRequest::default();
        r.parent = self.cluster_path(cluster);
        let what = format!("list the node pools of {cluster:?}");
        let out = self.client.list_node_pools().with_request(r).send().await.map_err(|e| from_gax(e, &what, "name"))?;
        Ok(out.node_pools.iter().map(pool_info).collect())
    }

    async fn get_node_pool(&self, cluster: &str, name: &str) -> Result<NodePoolInfo> {
        let mut r = model::GetNodePoolRequest::default();
        r.name = self.pool_path(cluster, name);
        let what = format!("get node pool {name:?}");
        let p =
            self.client.get_node_pool().with_request(r).send().await.map_err(|e| from_gax(e, &what, "node_pools"))?;
        Ok(pool_info(&p))
    }

    async fn create_node_pool(&self, cluster: &str, pool: &NewNodePool) -> Result<OperationInfo> {
        let mut r = model::CreateNodePoolRequest::default();
        r.parent = self.cluster_path(cluster);
        r.node_pool = Some(node_pool(pool));
        let what = format!("create node pool {:?}", pool.name);
        let o = self
            .client
            .create_node_pool()
            .with_request(r)
            .send()
            .await
            .map_err(|e| from_gax(e, &what, "node_pools"))?;
        Ok(operation_info(&o))
    }

    async fn update_node_pool(&self, cluster: &str, name: &str, u: &NodePoolUpdate) -> Result<OperationInfo> {
        let mut r = model::UpdateNodePoolRequest::default();
        r.name = self.pool_path(cluster, name);
        r.node_version = u.version.clone();
        r.image_type = u.image_type.clone();
        if let Some(l) = &u.labels {
            let mut labels = model::NodeLabels::default();
            labels.labels = hash(l);
            r.labels = Some(labels);
        }
        if let Some(t) = &u.taints {
            let mut taints = model::NodeTaints::default();
            taints.taints = t.iter().map(taint_in).collect();
            r.taints = Some(taints);
        }
        let what = format!("update node pool {name:?}");
        let o = self
            .client
            .update_node_pool()
            .with_request(r)
            .send()
            .await
            .map_err(|e| from_gax(e, &what, "node_pools"))?;
        Ok(operation_info(&o))
    }

    async fn set_autoscaling(
        &self,
        cluster: &str,
        name: &str,
        total_min: u32,
        total_max: u32,
    ) -> Result<OperationInfo> {
        let mut a = model::NodePoolAutoscaling::default();
        a.enabled = true;
        a.total_min_node_count = i32_of(total_min);
        a.total_max_node_count = i32_of(total_max);
        a.location_policy = model::node_pool_autoscaling::LocationPolicy::Balanced;
        let mut r = model::SetNodePoolAutoscalingRequest::default();
        r.name = self.pool_path(cluster, name);
        r.autoscaling = Some(a);
        let what = format!("set the autoscaling of node pool {name:?}");
        let o = self
            .client
            .set_node_pool_autoscaling()
            .with_request(r)
            .send()
            .await
            .map_err(|e| from_gax(e, &what, "node_pools"))?;
        Ok(operation_info(&o))
    }

    async fn set_size(&self, cluster: &str, name: &str, per_zone: u32) -> Result<OperationInfo> {
        let mut r = model::SetNodePoolSizeRequest::default();
        r.name = self.pool_path(cluster, name);
        r.node_count = i32_of(per_zone);
        let what = format!("resize node pool {name:?}");
        let o =
            self.client.set_node_pool_size().with_request(r).send().await.map_err(|e| from_gax(e, &what, "desired"))?;
        Ok(operation_info(&o))
    }

    async fn delete_node_pool(&self, cluster: &str, name: &str) -> Result<OperationInfo> {
        let mut r = model::DeleteNodePoolRequest::default();
        r.name = self.pool_path(cluster, name);
        let what = format!("delete node pool {name:?}");
        let o = self
            .client
            .delete_node_pool()
            .with_request(r)
            .send()
            .await
            .map_err(|e| from_gax(e, &what, "node_pools"))?;
        Ok(operation_info(&o))
    }
}
