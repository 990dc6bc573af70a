//! [`AksApi`] over azure_mgmt_containerservice 0.10 (API 2023-01-02-preview) and azure_core 0.10.
//!
//! Managed clusters, agent pools and credentials go through the generated client; resource groups
//! (Microsoft.Resources 2021-04-01) and the status of long-running operations are plain ARM requests through
//! the same HTTP client and credential. The HTTP client is wrapped ([`ArmTransport`]) so that every error
//! status becomes an [`ArmFailure`] carrying the status, the ARM error code and message and `Retry-After`
//! (azure_core's own error keeps no headers), and azure_core's retry policy is off: wooo retries itself,
//! honouring `Retry-After`.

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::auth::TokenCredential;
use azure_core::headers::HeaderName;
use azure_core::{HttpClient, Method, Request, Response, Url};
use azure_mgmt_containerservice::package_preview_2023_01::models;
use futures::StreamExt;
use serde_json::{Value, json};
use wooo_core::model::SecretString;
use wooo_core::{Error, Result};

use super::api::{
    AksApi, ApiAccess, ClusterInfo, ClusterPut, Operation, OperationStatus, PoolInfo, PoolMode, PoolPut,
    ProvisioningState, ResourceGroupInfo, Tags,
};
use super::error::{Failure, arm_error, classify, retry_after};
use super::shape;

/// The API version the SDK's `package-preview-2023-01` speaks (used for the requests wooo sends itself).
pub(crate) const AKS_API: &str = "2023-01-02-preview";
/// The API version of resource group requests.
const RESOURCES_API: &str = "2021-04-01";
const ASYNC_OPERATION: HeaderName = HeaderName::from_static("azure-asyncoperation");
const RETRY_AFTER: HeaderName = HeaderName::from_static("retry-after");
const ERROR_CODE: HeaderName = HeaderName::from_static("x-ms-error-code");

/// An ARM answer with an error status.
#[derive(Debug)]
pub(crate) struct ArmFailure {
    status: u16,
    code: Option<String>,
    message: Option<String>,
    retry_after: Option<std::time::Duration>,
}

impl std::fmt::Display for ArmFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ArmFailure {}

/// The HTTP client under the SDK: error statuses become [`ArmFailure`] errors, with their headers read.
#[derive(Debug)]
pub(crate) struct ArmTransport {
    inner: Arc<dyn HttpClient>,
}

impl ArmTransport {
    pub(crate) fn new(inner: Arc<dyn HttpClient>) -> Self {
        Self { inner }
    }
}

#[async_trait]
impl HttpClient for ArmTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<Response> {
        let response = self.inner.execute_request(request).await?;
        let status = u16::from(response.status());
        if status < 400 {
            return Ok(response);
        }
        let (_, headers, body) = response.deconstruct();
        let body = body.collect().await.unwrap_or_default();
        let (code, message) = arm_error(&body);
        let failure = ArmFailure {
            status,
            code: code.or_else(|| headers.get_optional_string(&ERROR_CODE)),
            message,
            retry_after: retry_after(headers.get_optional_str(&RETRY_AFTER)),
        };
        let kind = azure_core::error::ErrorKind::http_response(response_status(status), failure.code.clone());
        let text = failure.to_string();
        Err(azure_core::Error::full(kind, failure, text))
    }
}

fn response_status(status: u16) -> azure_core::StatusCode {
    azure_core::StatusCode::try_from(status).unwrap_or(azure_core::StatusCode::InternalServerError)
}

/// What went wrong in azure_core terms, as a [`Failure`].
fn failure_of(e: &azure_core::Error) -> Failure {
    if let Some(f) = e.downcast_ref::<ArmFailure>() {
        return Failure::Service {
            status: f.status,
            code: f.code.clone(),
            message: f.message.clone(),
            retry_after: f.retry_after,
        };
    }
    match e.kind() {
        azure_core::error::ErrorKind::Credential => Failure::Credentials { message: e.to_string() },
        azure_core::error::ErrorKind::HttpResponse { status, error_code } => Failure::Service {
            status: u16::from(*status),
            code: error_code.clone(),
            message: Some(e.to_string()),
            retry_after: None,
        },
        _ => Failure::NoResponse { message: e.to_string() },
    }
}

fn wooo_error(e: azure_core::Error, what: &str, field: &str) -> Error {
    classify(failure_of(&e), what, field, Some(Box::new(e)))
}

/// The seam over the SDK.
pub(crate) struct SdkApi {
    client: azure_mgmt_containerservice::package_preview_2023_01::Client,
    credential: Arc<dyn TokenCredential>,
    http: Arc<dyn HttpClient>,
    endpoint: String,
    subscription: String,
}

impl std::fmt::Debug for SdkApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkApi").field("endpoint", &self.endpoint).field("subscription", &self.subscription).finish()
    }
}

impl SdkApi {
    pub(crate) fn new(endpoint: &str, subscription: &str, credential: Arc<dyn TokenCredential>) -> Self {
        let endpoint = endpoint.trim_end_matches('/').to_string();
        let http: Arc<dyn HttpClient> = Arc::new(ArmTransport::new(azure_core::new_http_client()));
        let client = azure_mgmt_containerservice::package_preview_2023_01::ClientBuilder::new(credential.clone())
            .endpoint(endpoint.clone())
            .scopes(&[&scope_of(&endpoint)])
            .retry(azure_core::RetryOptions::none())
            .transport(azure_core::TransportOptions::new(http.clone()))
            .build();
        Self { client, credential, http, endpoint, subscription: subscription.to_string() }
    }

    /// One plain ARM request with a bearer token.
    async fn raw(&self, method: Method, url: &str, body: Option<&Value>) -> azure_core::Result<(u16, Response)> {
        let url = Url::parse(url).map_err(|e| azure_core::Error::new(azure_core::error::ErrorKind::Other, e))?;
        let mut req = Request::new(url, method);
        let token = self.credential.get_token(&scope_of(&self.endpoint)).await?;
        req.insert_header(azure_core::headers::AUTHORIZATION, format!("Bearer {}", token.token.secret()));
        if let Some(body) = body {
            req.insert_header("content-type", "application/json");
            req.set_body(azure_core::to_json(body)?);
        }
        let response = self.http.execute_request(&req).await?;
        Ok((u16::from(response.status()), response))
    }

    fn group_url(&self, name: &str) -> String {
        format!(
            "{}/subscriptions/{}/resourcegroups/{name}?api-version={RESOURCES_API}",
            self.endpoint, self.subscription
        )
    }

    fn provider_url(&self, group: &str) -> String {
        format!(
            "{}/subscriptions/{}/resourceGroups/{group}/providers/Microsoft.ContainerService",
            self.endpoint, self.subscription
        )
    }

    fn clusters(&self) -> azure_mgmt_containerservice::package_preview_2023_01::managed_clusters::Client {
        self.client.managed_clusters_client()
    }

    fn pools(&self) -> azure_mgmt_containerservice::package_preview_2023_01::agent_pools::Client {
        self.client.agent_pools_client()
    }
}

/// The OAuth scope of an ARM endpoint.
/// The resource whose token ARM calls carry: azure_identity 0.10's credentials take a resource (the endpoint)
/// and ask for its `/.default` scope themselves.
fn scope_of(endpoint: &str) -> String {
    endpoint.trim_end_matches('/').to_string()
}

/// How to follow the operation a write answered with.
fn operation_of(response: &Response) -> Operation {
    let headers = response.headers();
    if let Some(url) = headers.get_optional_string(&ASYNC_OPERATION) {
        return Operation::Status(url);
    }
    match (u16::from(response.status()), headers.get_optional_string(&azure_core::headers::LOCATION)) {
        (202, Some(url)) => Operation::Location(url),
        _ => Operation::Done,
    }
}

async fn json_body(response: Response) -> azure_core::Result<Value> {
    let body = response.into_body().collect().await?;
    if body.is_empty() {
        return Ok(Value::Null);
    }
    Ok(serde_json::from_slice(&body)?)
}

fn tags_of(v: Option<&Value>) -> Tags {
    v.and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

fn tags_json(tags: &Tags) -> Option<Value> {
    (!tags.is_empty()).then(|| json!(tags))
}

fn u32_of(v: Option<i32>) -> Option<u32> {
    v.and_then(|n| u32::try_from(n).ok())
}

fn i32_of(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn pool_info(name: String, p: &models::ManagedClusterAgentPoolProfileProperties) -> PoolInfo {
    PoolInfo {
        name,
        mode: match p.mode {
            Some(models::AgentPoolMode::User) => PoolMode::User,
            _ => PoolMode::System,
        },
        vm_size: p.vm_size.clone().unwrap_or_default(),
        count: u32_of(p.count).unwrap_or(0),
        autoscaling: p.enable_auto_scaling.unwrap_or(false),
        min: u32_of(p.min_count),
        max: u32_of(p.max_count),
        labels: tags_of(p.node_labels.as_ref()),
        taints: p.node_taints.iter().filter_map(|t| shape::parse_taint(t)).collect(),
        os_disk_gib: u32_of(p.os_disk_size_gb),
        os_disk_type: p.os_disk_type.as_ref().and_then(|t| serde_json::to_value(t).ok()?.as_str().map(str::to_string)),
        version: p.orchestrator_version.clone(),
        current_version: p.current_orchestrator_version.clone(),
        node_image_version: p.node_image_version.clone(),
        spot: matches!(p.scale_set_priority, Some(models::ScaleSetPriority::Spot)),
        spot_max_price: p.spot_max_price,
        zones: p.availability_zones.clone(),
        provisioning_state: p.provisioning_state.as_deref().map(ProvisioningState::parse),
        tags: tags_of(p.tags.as_ref()),
    }
}

/// The agent pool properties of a PUT, as JSON through the SDK's model (so only fields the model knows are sent).
fn pool_properties(p: &PoolPut) -> models::ManagedClusterAgentPoolProfileProperties {
    let mut v = json!({
        "vmSize": p.vm_size,
        "mode": match p.mode { PoolMode::System => "System", PoolMode::User => "User" },
        "osType": "Linux",
        "type": "VirtualMachineScaleSets",
        "osDiskSizeGB": i32_of(p.os_disk_gib),
        "enableAutoScaling": p.autoscale.is_some(),
    });
    let m = v.as_object_mut().expect("an object");
    if let Some(count) = p.count {
        m.insert("count".into(), json!(i32_of(count)));
    }
    if let Some((min, max)) = p.autoscale {
        m.insert("minCount".into(), json!(i32_of(min)));
        m.insert("maxCount".into(), json!(i32_of(max)));
    }
    if let Some(kind) = &p.os_disk_type {
        m.insert("osDiskType".into(), json!(kind));
    }
    if let Some(version) = &p.version {
        m.insert("orchestratorVersion".into(), json!(version));
    }
    if !p.labels.is_empty() {
        m.insert("nodeLabels".into(), json!(p.labels));
    }
    if !p.taints.is_empty() {
        m.insert("nodeTaints".into(), json!(p.taints.iter().map(shape::format_taint).collect::<Vec<_>>()));
    }
    if !p.zones.is_empty() {
        m.insert("availabilityZones".into(), json!(p.zones));
    }
    if let Some(price) = p.spot_max_price {
        m.insert("scaleSetPriority".into(), json!("Spot"));
        m.insert("scaleSetEvictionPolicy".into(), json!("Delete"));
        m.insert("spotMaxPrice".into(), json!(price));
    }
    if let Some(tags) = tags_json(&p.tags) {
        m.insert("tags".into(), tags);
    }
    serde_json::from_value(v).expect("the agent pool model reads what wooo writes")
}

fn cluster_model(c: &ClusterPut) -> models::ManagedCluster {
    let mut v = json!({
        "location": c.location,
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "kubernetesVersion": c.version,
            "dnsPrefix": c.dns_prefix,
            "enableRBAC": true,
        },
    });
    if let Some(tags) = tags_json(&c.tags) {
        v["tags"] = tags;
    }
    let props = v["properties"].as_object_mut().expect("an object");
    if c.access.private || !c.access.authorized_ranges.is_empty() {
        let mut access = json!({});
        if c.access.private {
            access["enablePrivateCluster"] = json!(true);
        }
        if !c.access.authorized_ranges.is_empty() {
            access["authorizedIPRanges"] = json!(c.access.authorized_ranges);
        }
        props.insert("apiServerAccessProfile".into(), access);
    }
    if c.pod_cidr.is_some() || c.service_cidr.is_some() {
        let mut network = json!({"networkPlugin": "kubenet"});
        if let Some(pod) = &c.pod_cidr {
            network["podCidr"] = json!(pod);
        }
        if let Some(service) = &c.service_cidr {
            network["serviceCidr"] = json!(service);
            if let Some(dns) = dns_service_ip(service) {
                network["dnsServiceIP"] = json!(dns);
            }
        }
        props.insert("networkProfile".into(), network);
    }
    let mut model: models::ManagedCluster =
        serde_json::from_value(v).expect("the cluster model reads what wooo writes");
    if let Some(props) = model.properties.as_mut() {
        props.agent_pool_profiles = c
            .pools
            .iter()
            .map(|p| models::ManagedClusterAgentPoolProfile {
                managed_cluster_agent_pool_profile_properties: pool_properties(p),
                name: p.name.clone(),
            })
            .collect();
    }
    model
}

/// The cluster DNS service address AKS expects inside the service CIDR: its tenth address.
fn dns_service_ip(cidr: &str) -> Option<String> {
    let (ip, _) = wooo_core::validate::parse_ipv4_cidr(cidr).ok()?;
    Some(std::net::Ipv4Addr::from(u32::from(ip) + 10).to_string())
}

fn cluster_info(m: &models::ManagedCluster) -> ClusterInfo {
    let r = &m.tracked_resource;
    let p = m.properties.clone().unwrap_or_default();
    let network = p.network_profile.clone().unwrap_or_default();
    let access = p.api_server_access_profile.clone().unwrap_or_default();
    ClusterInfo {
        name: r.resource.name.clone().unwrap_or_default(),
        id: r.resource.id.clone().unwrap_or_default(),
        location: r.location.clone(),
        provisioning_state: p.provisioning_state.as_deref().map(ProvisioningState::parse),
        version: p.kubernetes_version.clone(),
        current_version: p.current_kubernetes_version.clone(),
        dns_prefix: p.dns_prefix.clone(),
        fqdn: p.fqdn.clone(),
        private_fqdn: p.private_fqdn.clone(),
        access: ApiAccess {
            private: access.enable_private_cluster.unwrap_or(false),
            authorized_ranges: {
                let mut r = access.authorized_ip_ranges.clone();
                r.sort();
                r
            },
        },
        pod_cidr: network.pod_cidr.clone(),
        service_cidr: network.service_cidr.clone(),
        node_resource_group: p.node_resource_group.clone(),
        aad: p.aad_profile.is_some(),
        tags: tags_of(r.tags.as_ref()),
        pools: p
            .agent_pool_profiles
            .iter()
            .map(|a| pool_info(a.name.clone(), &a.managed_cluster_agent_pool_profile_properties))
            .collect(),
    }
}

#[async_trait]
impl AksApi for SdkApi {
    async fn get_resource_group(&self, name: &str) -> Result<ResourceGroupInfo> {
        let what = format!("get resource group {name:?}");
        let e = |e| wooo_error(e, &what, "resource_group");
        let (_, response) = self.raw(Method::Get, &self.group_url(name), None).await.map_err(e)?;
        let v = json_body(response).await.map_err(|x| wooo_error(x, &what, "resource_group"))?;
        Ok(ResourceGroupInfo {
            name: v["name"].as_str().unwrap_or(name).to_string(),
            location: v["location"].as_str().unwrap_or_default().to_string(),
            tags: tags_of(v.get("tags")),
        })
    }

    async fn create_resource_group(&self, name: &str, location: &str, tags: &Tags) -> Result<ResourceGroupInfo> {
        let what = format!("create resource group {name:?}");
        let body = json!({"location": location, "tags": tags});
        self.raw(Method::Put, &self.group_url(name), Some(&body)).await.map_err(|e| wooo_error(e, &what, "region"))?;
        Ok(ResourceGroupInfo { name: name.to_string(), location: location.to_string(), tags: tags.clone() })
    }

    async fn delete_resource_group(&self, name: &str) -> Result<Operation> {
        let what = format!("delete resource group {name:?}");
        let (_, response) =
            self.raw(Method::Delete, &self.group_url(name), None).await.map_err(|e| wooo_error(e, &what, "name"))?;
        Ok(operation_of(&response))
    }

    async fn get_cluster(&self, group: &str, name: &str) -> Result<ClusterInfo> {
        let what = format!("get cluster {name:?}");
        let m = self.clusters().get(&self.subscription, group, name).await.map_err(|e| wooo_error(e, &what, "name"))?;
        Ok(cluster_info(&m))
    }

    async fn list_clusters(&self, group: &str) -> Result<Vec<ClusterInfo>> {
        let what = format!("list clusters of resource group {group:?}");
        let mut pages = self.clusters().list_by_resource_group(&self.subscription, group).into_stream();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| wooo_error(e, &what, "resource_group"))?;
            out.extend(page.value.iter().map(cluster_info));
        }
        Ok(out)
    }

    async fn put_cluster(&self, group: &str, cluster: &ClusterPut) -> Result<Operation> {
        let what = format!("create or update cluster {:?}", cluster.name);
        let response = self
            .clusters()
            .create_or_update(&self.subscription, group, &cluster.name, cluster_model(cluster))
            .send()
            .await
            .map_err(|e| wooo_error(e, &what, "kubernetes_version"))?;
        Ok(operation_of(response.as_raw_response()))
    }

    async fn delete_cluster(&self, group: &str, name: &str) -> Result<Operation> {
        let what = format!("delete cluster {name:?}");
        // The SDK's delete response keeps its headers private, so the `Location` to follow is read from a plain
        // request (the same URL and API version).
        let url = format!("{}/managedClusters/{name}?api-version={AKS_API}", self.provider_url(group));
        let (_, response) = self.raw(Method::Delete, &url, None).await.map_err(|e| wooo_error(e, &what, "name"))?;
        Ok(operation_of(&response))
    }

    async fn put_pool(&self, group: &str, cluster: &str, pool: &PoolPut) -> Result<Operation> {
        let what = format!("create or update agent pool {:?} of cluster {cluster:?}", pool.name);
        let mut model = models::AgentPool::new();
        model.properties = Some(pool_properties(pool));
        let response = self
            .pools()
            .create_or_update(&self.subscription, group, cluster, &pool.name, model)
            .send()
            .await
            .map_err(|e| wooo_error(e, &what, "node_pools"))?;
        Ok(operation_of(response.as_raw_response()))
    }

    async fn delete_pool(&self, group: &str, cluster: &str, name: &str) -> Result<Operation> {
        let what = format!("delete agent pool {name:?} of cluster {cluster:?}");
        let url =
            format!("{}/managedClusters/{cluster}/agentPools/{name}?api-version={AKS_API}", self.provider_url(group));
        let (_, response) =
            self.raw(Method::Delete, &url, None).await.map_err(|e| wooo_error(e, &what, "node_pools"))?;
        Ok(operation_of(&response))
    }

    async fn operation(&self, operation: &Operation) -> Result<OperationStatus> {
        let what = "look at a long-running operation";
        let e = |e| wooo_error(e, what, "name");
        match operation {
            Operation::Done => Ok(OperationStatus::Succeeded),
            Operation::Location(url) => {
                let (status, _) = self.raw(Method::Get, url, None).await.map_err(e)?;
                Ok(if status == 202 { OperationStatus::InProgress } else { OperationStatus::Succeeded })
            }
            Operation::Status(url) => {
                let (_, response) = self.raw(Method::Get, url, None).await.map_err(e)?;
                let v = json_body(response).await.map_err(|x| wooo_error(x, what, "name"))?;
                let error = || {
                    let (code, message) = arm_error(v.to_string().as_bytes());
                    format!("{}: {}", code.unwrap_or_default(), message.unwrap_or_default())
                };
                Ok(match v["status"].as_str().unwrap_or_default() {
                    "Succeeded" => OperationStatus::Succeeded,
                    "Failed" => OperationStatus::Failed(error()),
                    "Canceled" => OperationStatus::Canceled(error()),
                    _ => OperationStatus::InProgress,
                })
            }
        }
    }

    async fn kubeconfig(&self, group: &str, name: &str, admin: bool) -> Result<SecretString> {
        let what = format!("list the credentials of cluster {name:?}");
        let results = if admin {
            self.clusters().list_cluster_admin_credentials(&self.subscription, group, name).await
        } else {
            self.clusters().list_cluster_user_credentials(&self.subscription, group, name).await
        }
        .map_err(|e| wooo_error(e, &what, "name"))?;
        let value = results.kubeconfigs.first().and_then(|k| k.value.clone()).ok_or_else(|| Error::Provider {
            provider: super::error::PROVIDER,
            message: format!("{what}: no kubeconfig in the answer"),
            source: None,
        })?;
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD.decode(value.trim()).map_err(|_| Error::Provider {
            provider: super::error::PROVIDER,
            message: format!("{what}: the kubeconfig is not base64"),
            source: None,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| Error::Provider {
            provider: super::error::PROVIDER,
            message: format!("{what}: the kubeconfig is not UTF-8"),
            source: None,
        })?;
        Ok(SecretString::new(text))
    }
}
