//! The seam over the AWS SDKs (aws-sdk-eks, -ec2, -iam): [`api::AwsApi`](super::api::AwsApi) for real.
//!
//! Every method sends its request (following every page where a call lists), maps the SDK's types to the
//! seam's own both ways, and classifies a failure once ([`aws_error`] → [`super::error::classify`]). No SDK
//! type leaves this file, and no decision is taken here beyond what one call needs (an internet gateway is
//! detached before it is deleted, a route table disassociated, …).
//!
//! The SDKs' own retries are off: the provisioner retries at the seam after observing again, because EC2
//! creates carry no idempotency token and an SDK retry after a lost answer would create a second VPC.

// Until `EksBuilder` constructs an `SdkApi`, only this module's tests use it.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types as ec2;
use aws_sdk_eks::types as eks;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use jiff::Timestamp;
use wooo_core::model::{Capacity, Taint, TaintEffect};
use wooo_core::{Error, Result};

use super::api::{
    AwsApi, ClusterInfo, ClusterState, CreateCluster, CreateNodeGroup, EndpointConfig, InstanceTypeInfo, NetworkCreate,
    NetworkKind, NetworkResource, NodeGroupConfigUpdate, NodeGroupInfo, NodeGroupState, RoleInfo, Scaling, SubnetInfo,
    Tags, UpdateInfo, UpdateState,
};
use super::error::{Failure, PROVIDER, classify};
use super::{CLUSTER_TAG, ROLE_TAG};

/// The HTTPS client the SDKs use: hyper with rustls on ring (the crypto kube-rs uses too), trusting the
/// platform's roots. It speaks plain HTTP to an `http://` endpoint (a local AWS such as moto).
pub(crate) fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// How many times the SDK sends one read.
const READ_ATTEMPTS: u32 = 3;

/// [`AwsApi`] over the AWS SDKs: one client per service, all from one [`aws_config::SdkConfig`].
#[derive(Debug, Clone)]
pub(crate) struct SdkApi {
    /// EKS: clusters, node groups, updates, tags.
    eks: aws_sdk_eks::Client,
    /// EC2: the cluster's network and instance type facts.
    ec2: aws_sdk_ec2::Client,
    /// IAM: the cluster and node roles.
    iam: aws_sdk_iam::Client,
    /// The same three with the SDK's standard retries, for reads only (Describe*, List*, Get*): a read is
    /// always safe to repeat, and one seam call may make several.
    eks_read: aws_sdk_eks::Client,
    ec2_read: aws_sdk_ec2::Client,
    iam_read: aws_sdk_iam::Client,
    /// The region the clients talk to (for messages).
    region: String,
}

impl SdkApi {
    /// The clients for `config` (its region, credentials, endpoint and HTTP client): writes with the SDKs' own
    /// retries disabled (the provisioner retries a write only after looking whether it took effect), reads with
    /// the SDKs' standard retries (3 attempts, exponential backoff with jitter).
    pub(crate) fn new(config: &aws_config::SdkConfig) -> Self {
        let off = RetryConfig::disabled;
        let standard = || RetryConfig::standard().with_max_attempts(READ_ATTEMPTS);
        let eks = |r: RetryConfig| {
            aws_sdk_eks::Client::from_conf(aws_sdk_eks::config::Builder::from(config).retry_config(r).build())
        };
        let ec2 = |r: RetryConfig| {
            aws_sdk_ec2::Client::from_conf(aws_sdk_ec2::config::Builder::from(config).retry_config(r).build())
        };
        let iam = |r: RetryConfig| {
            aws_sdk_iam::Client::from_conf(aws_sdk_iam::config::Builder::from(config).retry_config(r).build())
        };
        SdkApi {
            eks: eks(off()),
            ec2: ec2(off()),
            iam: iam(off()),
            eks_read: eks(standard()),
            ec2_read: ec2(standard()),
            iam_read: iam(standard()),
            region: config.region().map(ToString::to_string).unwrap_or_default(),
        }
    }
}

// --- Error glue ---------------------------------------------------------------------------------------------

/// What went wrong with one SDK call, before classification: the service's answer (code, HTTP status,
/// message, `Retry-After` in seconds) or why there was none.
fn failure<E>(err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let raw = service.raw();
            Failure::Service {
                code: service.err().code().map(str::to_string),
                status: raw.status().as_u16(),
                message: service.err().message().map(str::to_string),
                retry_after: raw
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs),
            }
        }
        SdkError::ConstructionFailure(_) => Failure::Construction { message: DisplayErrorContext(err).to_string() },
        SdkError::DispatchFailure(_) if mentions_credentials(err) => {
            Failure::Credentials { message: DisplayErrorContext(err).to_string() }
        }
        _ => Failure::NoResponse { message: DisplayErrorContext(err).to_string() },
    }
}

/// Whether an error's chain is about credentials (none could be loaded, the provider failed): the SDK
/// reports that as a dispatch failure, before anything is sent.
fn mentions_credentials(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>().is_some() {
            return true;
        }
        let text = format!("{e} {e:?}").to_ascii_lowercase();
        if text.contains("credential") {
            return true;
        }
        next = e.source();
    }
    false
}

/// One failed SDK call made while doing `what` (`describe cluster "prod"`), its input from spec field `field`,
/// as a wooo error; the SDK error stays its source.
fn aws_error<E>(err: SdkError<E, HttpResponse>, what: &str, field: &str) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let failure = failure(&err);
    classify(failure, what, field, Some(Box::new(err)))
}

/// An answer without the part the call exists for (a create without the created resource).
fn incomplete(what: &str, missing: &str) -> Error {
    Error::Provider { provider: PROVIDER, message: format!("{what}: the answer has no {missing}"), source: None }
}

/// `what` is gone (an EC2 describe that answers with nothing rather than a `.NotFound` code).
fn not_found(what: &str) -> Error {
    Error::NotFound { provider: PROVIDER, resource: what.to_string(), source: None }
}

/// Whether EKS refused a create because the name is taken: `ResourceInUseException` "… already exists …"
/// (other in-use refusals stay conflicts).
fn names_taken<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    err.code() == Some("ResourceInUseException")
        && err.message().is_some_and(|m| m.to_ascii_lowercase().contains("already exists"))
}

/// EKS's answer to a create whose name is taken (`ResourceInUseException`, where the same create retried with
/// the same token would have answered the existing resource): the name exists already.
fn already_exists<E>(err: SdkError<E, HttpResponse>, what: &str) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    Error::AlreadyExists { provider: PROVIDER, resource: what.to_string(), source: Some(Box::new(err)) }
}

/// A request the SDK refused to build (a required field missing).
fn build_error(err: aws_smithy_types::error::operation::BuildError, what: &str, field: &str) -> Error {
    classify(Failure::Construction { message: err.to_string() }, what, field, Some(Box::new(err)))
}

// --- Small conversions --------------------------------------------------------------------------------------

/// An SDK timestamp as a jiff one.
fn timestamp(t: Option<&aws_smithy_types::DateTime>) -> Option<Timestamp> {
    t.and_then(|t| Timestamp::new(t.secs(), t.subsec_nanos().try_into().ok()?).ok())
}

/// A non-negative SDK count as a `u32` (negative ones, which AWS never sends, as 0).
fn count(n: Option<i32>) -> u32 {
    n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

/// A count as the SDK's `i32` (saturating).
fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// An SDK tag map as [`Tags`].
fn tag_map(tags: Option<&HashMap<String, String>>) -> Tags {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

/// [`Tags`] as the SDK's map.
fn hash_map(tags: &Tags) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// EC2 tags as [`Tags`].
fn ec2_tags(tags: &[ec2::Tag]) -> Tags {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect()
}

/// [`Tags`] as an EC2 tag specification for a resource of `kind`, so the tags are atomic with the creation.
fn tag_spec(kind: ec2::ResourceType, tags: &Tags) -> ec2::TagSpecification {
    let tags = tags.iter().map(|(k, v)| ec2::Tag::builder().key(k).value(v).build()).collect();
    ec2::TagSpecification::builder().resource_type(kind).set_tags(Some(tags)).build()
}

/// An EC2 filter on the cluster tag.
fn cluster_filter(cluster: &str) -> ec2::Filter {
    ec2::Filter::builder().name(format!("tag:{CLUSTER_TAG}")).values(cluster).build()
}

/// An EC2 filter `name` = `values`.
fn filter(name: &str, values: &[String]) -> ec2::Filter {
    ec2::Filter::builder().name(name).set_values(Some(values.to_vec())).build()
}

/// An EC2 boolean attribute value.
fn yes() -> ec2::AttributeBooleanValue {
    ec2::AttributeBooleanValue::builder().value(true).build()
}

/// `code: message` of an issue or error.
fn issue(code: Option<&str>, message: Option<&str>) -> String {
    format!("{}: {}", code.unwrap_or("Unknown"), message.unwrap_or_default())
}

/// A wooo taint as an EKS one.
fn eks_taint(taint: &Taint) -> eks::Taint {
    let effect = match taint.effect {
        TaintEffect::NoSchedule => eks::TaintEffect::NoSchedule,
        TaintEffect::NoExecute => eks::TaintEffect::NoExecute,
        TaintEffect::PreferNoSchedule => eks::TaintEffect::PreferNoSchedule,
    };
    eks::Taint::builder().key(&taint.key).set_value(taint.value.clone()).effect(effect).build()
}

/// An EKS taint as a wooo one; `None` for an effect wooo does not know (logged).
fn wooo_taint(taint: &eks::Taint) -> Option<Taint> {
    let effect = match taint.effect()?.as_str() {
        "NO_SCHEDULE" => TaintEffect::NoSchedule,
        "NO_EXECUTE" => TaintEffect::NoExecute,
        "PREFER_NO_SCHEDULE" => TaintEffect::PreferNoSchedule,
        other => {
            tracing::warn!(key = taint.key(), effect = other, "EKS taint with an unknown effect left out");
            return None;
        }
    };
    Some(Taint { key: taint.key()?.to_string(), value: taint.value().map(str::to_string), effect })
}

/// An EKS cluster in the seam's types.
fn cluster_info(c: &eks::Cluster) -> ClusterInfo {
    let vpc = c.resources_vpc_config();
    let mut security_group_ids: Vec<String> = vpc.map(|v| v.security_group_ids().to_vec()).unwrap_or_default();
    if let Some(sg) = vpc.and_then(|v| v.cluster_security_group_id())
        && !security_group_ids.iter().any(|s| s == sg)
    {
        security_group_ids.push(sg.to_string());
    }
    ClusterInfo {
        name: c.name().unwrap_or_default().to_string(),
        arn: c.arn().unwrap_or_default().to_string(),
        status: c.status().map(|s| match s.as_str() {
            "CREATING" => ClusterState::Creating,
            "ACTIVE" => ClusterState::Active,
            "UPDATING" => ClusterState::Updating,
            "DELETING" => ClusterState::Deleting,
            "FAILED" => ClusterState::Failed,
            "PENDING" => ClusterState::Pending,
            other => ClusterState::Other(other.to_string()),
        }),
        version: c.version().map(str::to_string),
        platform_version: c.platform_version().map(str::to_string),
        endpoint: c.endpoint().filter(|e| !e.is_empty()).map(str::to_string),
        ca_data: c.certificate_authority().and_then(|ca| ca.data()).filter(|d| !d.is_empty()).map(str::to_string),
        role_arn: c.role_arn().unwrap_or_default().to_string(),
        vpc_id: vpc.and_then(|v| v.vpc_id()).map(str::to_string),
        subnet_ids: vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
        security_group_ids,
        endpoint_public: vpc.is_some_and(|v| v.endpoint_public_access()),
        endpoint_private: vpc.is_some_and(|v| v.endpoint_private_access()),
        public_access_cidrs: vpc.map(|v| v.public_access_cidrs().to_vec()).unwrap_or_default(),
        service_cidr: c.kubernetes_network_config().and_then(|k| k.service_ipv4_cidr()).map(str::to_string),
        tags: tag_map(c.tags()),
        created_at: timestamp(c.created_at()),
        health_issues: c
            .health()
            .map(|h| h.issues().iter().map(|i| issue(i.code().map(|c| c.as_str()), i.message())).collect())
            .unwrap_or_default(),
    }
}

/// An EKS node group in the seam's types.
fn node_group_info(n: &eks::Nodegroup) -> NodeGroupInfo {
    let scaling = n.scaling_config();
    NodeGroupInfo {
        cluster: n.cluster_name().unwrap_or_default().to_string(),
        name: n.nodegroup_name().unwrap_or_default().to_string(),
        arn: n.nodegroup_arn().unwrap_or_default().to_string(),
        status: n.status().map(|s| match s.as_str() {
            "CREATING" => NodeGroupState::Creating,
            "ACTIVE" => NodeGroupState::Active,
            "UPDATING" => NodeGroupState::Updating,
            "DELETING" => NodeGroupState::Deleting,
            "CREATE_FAILED" => NodeGroupState::CreateFailed,
            "DELETE_FAILED" => NodeGroupState::DeleteFailed,
            "DEGRADED" => NodeGroupState::Degraded,
            other => NodeGroupState::Other(other.to_string()),
        }),
        capacity: match n.capacity_type() {
            Some(eks::CapacityTypes::Spot) => Capacity::Spot,
            _ => Capacity::OnDemand,
        },
        instance_types: n.instance_types().to_vec(),
        ami_type: n.ami_type().map(|a| a.as_str().to_string()),
        disk_size_gib: n.disk_size().and_then(|d| u32::try_from(d).ok()),
        labels: tag_map(n.labels()),
        taints: n.taints().iter().filter_map(wooo_taint).collect(),
        scaling: Scaling {
            min: count(scaling.and_then(|s| s.min_size())),
            max: count(scaling.and_then(|s| s.max_size())),
            desired: count(scaling.and_then(|s| s.desired_size())),
        },
        subnet_ids: n.subnets().to_vec(),
        node_role_arn: n.node_role().unwrap_or_default().to_string(),
        version: n.version().map(str::to_string),
        release_version: n.release_version().map(str::to_string),
        tags: tag_map(n.tags()),
        health_issues: n
            .health()
            .map(|h| h.issues().iter().map(|i| issue(i.code().map(|c| c.as_str()), i.message())).collect())
            .unwrap_or_default(),
    }
}

/// An EKS update in the seam's types.
fn update_info(u: &eks::Update) -> UpdateInfo {
    UpdateInfo {
        id: u.id().unwrap_or_default().to_string(),
        state: match u.status().map(|s| s.as_str()) {
            Some("InProgress") => UpdateState::InProgress,
            Some("Successful") => UpdateState::Successful,
            Some("Failed") => UpdateState::Failed,
            Some("Cancelled") => UpdateState::Cancelled,
            other => UpdateState::Other(other.unwrap_or_default().to_string()),
        },
        errors: u.errors().iter().map(|e| issue(e.error_code().map(|c| c.as_str()), e.error_message())).collect(),
    }
}

/// The endpoint exposure as an EKS VPC config request. A public endpoint always sends its CIDRs (empty:
/// `0.0.0.0/0`), so an update back to "anywhere" does not leave an earlier restriction in place.
fn endpoint_request(endpoint: &EndpointConfig) -> eks::builders::VpcConfigRequestBuilder {
    let cidrs = endpoint.public.then(|| match endpoint.public_access_cidrs.as_slice() {
        [] => vec!["0.0.0.0/0".to_string()],
        cidrs => cidrs.to_vec(),
    });
    eks::VpcConfigRequest::builder()
        .endpoint_public_access(endpoint.public)
        .endpoint_private_access(endpoint.private)
        .set_public_access_cidrs(cidrs)
}

/// An EC2 instance type in the seam's types.
fn instance_type_info(t: &ec2::InstanceTypeInfo) -> Option<InstanceTypeInfo> {
    Some(InstanceTypeInfo {
        name: t.instance_type()?.as_str().to_string(),
        architectures: t
            .processor_info()
            .map(|p| p.supported_architectures().iter().map(|a| a.as_str().to_string()).collect())
            .unwrap_or_default(),
        vcpus: count(t.v_cpu_info().and_then(|v| v.default_v_cpus())),
        memory_mib: t.memory_info().and_then(|m| m.size_in_mib()).and_then(|m| u64::try_from(m).ok()).unwrap_or(0),
        gpus: t.gpu_info().is_some_and(|g| !g.gpus().is_empty()),
    })
}

/// Whether an EC2 error says an instance type does not exist.
fn is_invalid_instance_type<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    err.as_service_error().and_then(|e| e.code()).is_some_and(|c| c.starts_with("InvalidInstanceType"))
}

/// The network resource of `kind` with `id` and EC2 `tags`, when the tags say it belongs to `cluster`.
fn network_resource(
    cluster: &str,
    kind: NetworkKind,
    id: Option<&str>,
    tags: &[ec2::Tag],
    state: Option<String>,
    mut attachments: Vec<String>,
) -> Option<NetworkResource> {
    attachments.sort();
    attachments.dedup();
    let tags = ec2_tags(tags);
    // Filtered by the tag already; checked again as not every EC2 implementation filters every kind by tag.
    if tags.get(CLUSTER_TAG).map(String::as_str) != Some(cluster) {
        return None;
    }
    Some(NetworkResource {
        kind,
        id: id?.to_string(),
        role: tags.get(ROLE_TAG).cloned().unwrap_or_default(),
        state,
        attachments,
    })
}

/// The spec field a refused CreateCluster input most likely came from, by what EKS says about it: the version
/// (`unsupported Kubernetes version`), the subnets (`Subnets specified must be in at least two different AZs`,
/// an unsupported zone), the security groups, or else the name.
fn create_cluster_field(message: Option<&str>) -> &'static str {
    let message = message.unwrap_or_default().to_ascii_lowercase();
    if message.contains("version") {
        "kubernetes_version"
    } else if message.contains("subnet") || message.contains("availability zone") || message.contains(" az") {
        "network.subnet_ids"
    } else if message.contains("security group") {
        "network"
    } else if message.contains("cidr") {
        "network.service_cidr"
    } else {
        "name"
    }
}

/// The idempotency token of a NAT gateway create: the same subnet and Elastic IP are the same NAT gateway.
fn nat_client_token(subnet_id: &str, allocation_id: &str) -> String {
    let mut token = format!("wooo-{subnet_id}-{allocation_id}");
    token.truncate(64);
    token
}

/// The standard trust policy letting `service_principal` assume a role.
fn trust_policy(service_principal: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": service_principal },
            "Action": "sts:AssumeRole",
        }],
    })
    .to_string()
}

impl SdkApi {
    /// ListAttachedRolePolicies of `role`, every page.
    async fn attached_policies(&self, role: &str) -> Result<Vec<String>> {
        let what = format!("list policies attached to IAM role {role:?}");
        let policies = self
            .iam_read
            .list_attached_role_policies()
            .role_name(role)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_error(e, &what, "name"))?;
        Ok(policies.iter().filter_map(|p| p.policy_arn().map(str::to_string)).collect())
    }

    /// An IAM role with its attached policies.
    async fn role_info(&self, role: &aws_sdk_iam::types::Role) -> Result<RoleInfo> {
        Ok(RoleInfo {
            name: role.role_name().to_string(),
            arn: role.arn().to_string(),
            tags: role.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect(),
            attached_policy_arns: self.attached_policies(role.role_name()).await?,
        })
    }

    /// DescribeInstanceTypes of `types` in one request.
    async fn instance_types_request(
        &self,
        types: &[String],
    ) -> std::result::Result<
        Vec<ec2::InstanceTypeInfo>,
        SdkError<aws_sdk_ec2::operation::describe_instance_types::DescribeInstanceTypesError, HttpResponse>,
    > {
        self.ec2_read
            .describe_instance_types()
            .set_instance_types(Some(types.iter().map(|t| ec2::InstanceType::from(t.as_str())).collect()))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
    }

    /// Creates one network resource; its id.
    async fn create_network(&self, create: &NetworkCreate, tags: &Tags) -> Result<String> {
        match create {
            NetworkCreate::Vpc { cidr } => {
                let what = format!("create VPC {cidr}");
                let out = self
                    .ec2
                    .create_vpc()
                    .cidr_block(cidr)
                    .tag_specifications(tag_spec(ec2::ResourceType::Vpc, tags))
                    .send()
                    .await
                    .map_err(|e| aws_error(e, &what, "network.vpc_cidr"))?;
                let id = out.vpc().and_then(|v| v.vpc_id()).ok_or_else(|| incomplete(&what, "VPC id"))?;
                // One attribute per ModifyVpcAttribute call.
                let what = format!("enable DNS on VPC {id}");
                self.ec2
                    .modify_vpc_attribute()
                    .vpc_id(id)
                    .enable_dns_support(yes())
                    .send()
                    .await
                    .map_err(|e| aws_error(e, &what, "network.vpc_cidr"))?;
                self.ec2
                    .modify_vpc_attribute()
                    .vpc_id(id)
                    .enable_dns_hostnames(yes())
                    .send()
                    .await
                    .map_err(|e| aws_error(e, &what, "network.vpc_cidr"))?;
                Ok(id.to_string())
            }
            NetworkCreate::InternetGateway { vpc_id } => {
                let what = format!("create internet gateway for VPC {vpc_id}");
                let out = self
                    .ec2
                    .create_internet_gateway()
                    .tag_specifications(tag_spec(ec2::ResourceType::InternetGateway, tags))
                    .send()
                    .await
                    .map_err(|e| aws_error(e, &what, "network.vpc_cidr"))?;
                let id = out
                    .internet_gateway()
                    .and_then(|g| g.internet_gateway_id())
                    .ok_or_else(|| incomplete(&what, "internet gateway id"))?;
                let what = format!("attach internet gateway {id} to VPC {vpc_id}");
                self.ec2
                    .attach_internet_gateway()
                    .internet_gateway_id(id)
                    .vpc_id(vpc_id)
                    .send()
                    .await
                    .map_err(|e| aws_error(e, &what, "network.vpc_cidr"))?;
                Ok(id.to_string())
            }
            NetworkCreate::Subnet { vpc_id, cidr, zone, public } => {
                let what = format!("create subnet {cidr} in {zone}");
                let out = self
                    .ec2
                    .create_subnet()
                    .vpc_id(vpc_id)
                    .cidr_block(cidr)
                    .availability_zone(zone)
                    .tag_specifications(tag_spec(ec2::ResourceType::Subnet, tags))
                    .send()
                    .await
                    .map_err(|e| aws_error(e, &what, "network.vpc_cidr"))?;
                let id = out.subnet().and_then(|s| s.subnet_id()).ok_or_else(|| incomplete(&what, "subnet id"))?;
                if *public {
                    let what = format!("map public IPs on launch in subnet {id}");
                    self.ec2
                        .modify_subnet_attribute()
                        .subnet_id(id)
                        .map_public_ip_on_launch(yes())
                        .send()
                        .await
                        .map_err(|e| aws_error(e, &what, "network.vpc_cidr"))?;
                }
                Ok(id.to_string())
            }
            NetworkCreate::RouteTable { vpc_id, via, subnet_ids } => {
                let what = format!("create route table in VPC {vpc_id}");
                let out = self
                    .ec2
                    .create_route_table()
                    .vpc_id(vpc_id)
                    .tag_specifications(tag_spec(ec2::ResourceType::RouteTable, tags))
                    .send()
                    .await
                    .map_err(|e| aws_error(e, &what, "network.vpc_cidr"))?;
                let id = out
                    .route_table()
                    .and_then(|r| r.route_table_id())
                    .ok_or_else(|| incomplete(&what, "route table id"))?;
                let what = format!("add default route via {via} to route table {id}");
                let route = self.ec2.create_route().route_table_id(id).destination_cidr_block("0.0.0.0/0");
                let route = if via.starts_with("nat-") { route.nat_gateway_id(via) } else { route.gateway_id(via) };
                route.send().await.map_err(|e| aws_error(e, &what, "network.vpc_cidr"))?;
                for subnet in subnet_ids {
                    let what = format!("associate route table {id} with subnet {subnet}");
                    self.ec2
                        .associate_route_table()
                        .route_table_id(id)
                        .subnet_id(subnet)
                        .send()
                        .await
                        .map_err(|e| aws_error(e, &what, "network.subnet_ids"))?;
                }
                Ok(id.to_string())
            }
            NetworkCreate::ElasticIp => {
                let what = "allocate Elastic IP";
                let out = self
                    .ec2
                    .allocate_address()
                    .domain(ec2::DomainType::Vpc)
                    .tag_specifications(tag_spec(ec2::ResourceType::ElasticIp, tags))
                    .send()
                    .await
                    .map_err(|e| aws_error(e, what, "network"))?;
                Ok(out.allocation_id().ok_or_else(|| incomplete(what, "allocation id"))?.to_string())
            }
            NetworkCreate::NatGateway { subnet_id, allocation_id } => {
                let what = format!("create NAT gateway in subnet {subnet_id}");
                let out = self
                    .ec2
                    .create_nat_gateway()
                    .subnet_id(subnet_id)
                    .allocation_id(allocation_id)
                    .client_token(nat_client_token(subnet_id, allocation_id))
                    .tag_specifications(tag_spec(ec2::ResourceType::Natgateway, tags))
                    .send()
                    .await
                    .map_err(|e| aws_error(e, &what, "network"))?;
                Ok(out
                    .nat_gateway()
                    .and_then(|n| n.nat_gateway_id())
                    .ok_or_else(|| incomplete(&what, "NAT gateway id"))?
                    .to_string())
            }
        }
    }

    /// Detaches an internet gateway from every VPC it is attached to (as EC2 reports now), then deletes it.
    async fn delete_internet_gateway(&self, id: &str) -> Result<()> {
        let what = format!("delete internet gateway {id}");
        let igws = self
            .ec2_read
            .describe_internet_gateways()
            .internet_gateway_ids(id)
            .send()
            .await
            .map_err(|e| aws_error(e, &what, "network"))?;
        let igw = igws.internet_gateways().first().ok_or_else(|| not_found(&what))?;
        for vpc in igw.attachments().iter().filter_map(|a| a.vpc_id()) {
            let what = format!("detach internet gateway {id} from VPC {vpc}");
            let detached = self.ec2.detach_internet_gateway().internet_gateway_id(id).vpc_id(vpc).send().await;
            match detached {
                Ok(_) => {}
                // Detached meanwhile: what was wanted.
                Err(e) if e.code() == Some("Gateway.NotAttached") => {}
                Err(e) => return Err(aws_error(e, &what, "network")),
            }
        }
        self.ec2
            .delete_internet_gateway()
            .internet_gateway_id(id)
            .send()
            .await
            .map_err(|e| aws_error(e, &what, "network"))?;
        Ok(())
    }

    /// Disassociates a route table's explicit (non-main) associations, then deletes it.
    async fn delete_route_table(&self, id: &str) -> Result<()> {
        let what = format!("delete route table {id}");
        let tables = self
            .ec2_read
            .describe_route_tables()
            .route_table_ids(id)
            .send()
            .await
            .map_err(|e| aws_error(e, &what, "network"))?;
        let table = tables.route_tables().first().ok_or_else(|| not_found(&what))?;
        for association in table.associations().iter().filter(|a| a.main() != Some(true)) {
            let Some(association_id) = association.route_table_association_id() else { continue };
            let what = format!("disassociate route table {id} ({association_id})");
            match self.ec2.disassociate_route_table().association_id(association_id).send().await {
                Ok(_) => {}
                // Disassociated meanwhile: what was wanted.
                Err(e) if e.code() == Some("InvalidAssociationID.NotFound") => {}
                Err(e) => return Err(aws_error(e, &what, "network")),
            }
        }
        self.ec2.delete_route_table().route_table_id(id).send().await.map_err(|e| aws_error(e, &what, "network"))?;
        Ok(())
    }

    /// Deletes a NAT gateway that exists and is not deleted already (EC2 keeps deleted ones visible for a
    /// while, and an unknown id answers `NatGatewayNotFound`, which is not one of the `.NotFound` codes).
    async fn delete_nat_gateway(&self, id: &str) -> Result<()> {
        let what = format!("delete NAT gateway {id}");
        let nats: Vec<ec2::NatGateway> = self
            .ec2_read
            .describe_nat_gateways()
            .filter(filter("nat-gateway-id", &[id.to_string()]))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_error(e, &what, "network"))?;
        let live = nats.iter().any(|n| {
            n.nat_gateway_id() == Some(id)
                && !matches!(n.state(), Some(ec2::NatGatewayState::Deleted | ec2::NatGatewayState::Deleting))
        });
        if !live {
            return Err(not_found(&what));
        }
        self.ec2.delete_nat_gateway().nat_gateway_id(id).send().await.map_err(|e| aws_error(e, &what, "network"))?;
        Ok(())
    }
}

#[async_trait]
impl AwsApi for SdkApi {
    async fn describe_cluster(&self, name: &str) -> Result<ClusterInfo> {
        let what = format!("describe cluster {name:?}");
        let out = self.eks_read.describe_cluster().name(name).send().await.map_err(|e| aws_error(e, &what, "name"))?;
        Ok(cluster_info(out.cluster().ok_or_else(|| incomplete(&what, "cluster"))?))
    }

    async fn list_clusters(&self) -> Result<Vec<String>> {
        let what = format!("list clusters in {}", self.region);
        self.eks_read
            .list_clusters()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_error(e, &what, "name"))
    }

    async fn create_cluster(&self, input: &CreateCluster) -> Result<ClusterInfo> {
        let what = format!("create cluster {:?}", input.name);
        let vpc = endpoint_request(&input.endpoint)
            .set_subnet_ids(Some(input.subnet_ids.clone()))
            .set_security_group_ids((!input.security_group_ids.is_empty()).then(|| input.security_group_ids.clone()))
            .build();
        let network = input
            .service_cidr
            .as_ref()
            .map(|cidr| eks::KubernetesNetworkConfigRequest::builder().service_ipv4_cidr(cidr).build());
        let out = self
            .eks
            .create_cluster()
            .name(&input.name)
            .version(&input.version)
            .role_arn(&input.role_arn)
            .resources_vpc_config(vpc)
            .set_kubernetes_network_config(network)
            .set_tags(Some(hash_map(&input.tags)))
            .client_request_token(&input.client_request_token)
            .send()
            .await
            .map_err(|e| {
                if names_taken(&e) {
                    return already_exists(e, &what);
                }
                let field = create_cluster_field(e.message());
                aws_error(e, &what, field)
            })?;
        Ok(cluster_info(out.cluster().ok_or_else(|| incomplete(&what, "cluster"))?))
    }

    async fn update_cluster_version(&self, name: &str, version: &str, token: &str) -> Result<UpdateInfo> {
        let what = format!("update cluster {name:?} to Kubernetes {version}");
        let out = self
            .eks
            .update_cluster_version()
            .name(name)
            .version(version)
            .client_request_token(token)
            .send()
            .await
            .map_err(|e| aws_error(e, &what, "kubernetes_version"))?;
        Ok(update_info(out.update().ok_or_else(|| incomplete(&what, "update"))?))
    }

    async fn update_cluster_endpoint(&self, name: &str, endpoint: &EndpointConfig, token: &str) -> Result<UpdateInfo> {
        let what = format!("update the endpoint access of cluster {name:?}");
        let out = self
            .eks
            .update_cluster_config()
            .name(name)
            .resources_vpc_config(endpoint_request(endpoint).build())
            .client_request_token(token)
            .send()
            .await
            .map_err(|e| aws_error(e, &what, "network.endpoint_access"))?;
        Ok(update_info(out.update().ok_or_else(|| incomplete(&what, "update"))?))
    }

    async fn describe_update(&self, cluster: &str, node_group: Option<String>, id: &str) -> Result<UpdateInfo> {
        let what = match &node_group {
            Some(ng) => format!("describe update {id} of node group {ng:?} in cluster {cluster:?}"),
            None => format!("describe update {id} of cluster {cluster:?}"),
        };
        let out = self
            .eks_read
            .describe_update()
            .name(cluster)
            .update_id(id)
            .set_nodegroup_name(node_group)
            .send()
            .await
            .map_err(|e| aws_error(e, &what, "name"))?;
        Ok(update_info(out.update().ok_or_else(|| incomplete(&what, "update"))?))
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<()> {
        let what = format!("tag {arn}");
        self.eks
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(hash_map(tags)))
            .send()
            .await
            .map_err(|e| aws_error(e, &what, "tags"))?;
        Ok(())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<()> {
        let what = format!("untag {arn}");
        self.eks
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error(e, &what, "tags"))?;
        Ok(())
    }

    async fn delete_cluster(&self, name: &str) -> Result<()> {
        let what = format!("delete cluster {name:?}");
        self.eks.delete_cluster().name(name).send().await.map_err(|e| aws_error(e, &what, "name"))?;
        Ok(())
    }

    async fn list_node_groups(&self, cluster: &str) -> Result<Vec<String>> {
        let what = format!("list node groups of cluster {cluster:?}");
        self.eks_read
            .list_nodegroups()
            .cluster_name(cluster)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_error(e, &what, "node_pools"))
    }

    async fn describe_node_group(&self, cluster: &str, name: &str) -> Result<NodeGroupInfo> {
        let what = format!("describe node group {name:?} of cluster {cluster:?}");
        let out = self
            .eks_read
            .describe_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
            .map_err(|e| aws_error(e, &what, "node_pools"))?;
        Ok(node_group_info(out.nodegroup().ok_or_else(|| incomplete(&what, "node group"))?))
    }

    async fn create_node_group(&self, input: &CreateNodeGroup) -> Result<NodeGroupInfo> {
        let what = format!("create node group {:?} in cluster {:?}", input.name, input.cluster);
        let scaling = eks::NodegroupScalingConfig::builder()
            .min_size(to_i32(input.scaling.min))
            .max_size(to_i32(input.scaling.max))
            .desired_size(to_i32(input.scaling.desired))
            .build();
        let capacity = match input.capacity {
            Capacity::OnDemand => eks::CapacityTypes::OnDemand,
            Capacity::Spot => eks::CapacityTypes::Spot,
        };
        let out = self
            .eks
            .create_nodegroup()
            .cluster_name(&input.cluster)
            .nodegroup_name(&input.name)
            .node_role(&input.node_role_arn)
            .set_subnets(Some(input.subnet_ids.clone()))
            .capacity_type(capacity)
            .set_instance_types(Some(input.instance_types.clone()))
            .ami_type(eks::AmiTypes::from(input.ami_type.as_str()))
            .disk_size(to_i32(input.disk_size_gib))
            .set_labels((!input.labels.is_empty()).then(|| hash_map(&input.labels)))
            .set_taints((!input.taints.is_empty()).then(|| input.taints.iter().map(eks_taint).collect()))
            .scaling_config(scaling)
            .version(&input.version)
            .set_tags(Some(hash_map(&input.tags)))
            .client_request_token(&input.client_request_token)
            .send()
            .await
            .map_err(|e| if names_taken(&e) { already_exists(e, &what) } else { aws_error(e, &what, "node_pools") })?;
        Ok(node_group_info(out.nodegroup().ok_or_else(|| incomplete(&what, "node group"))?))
    }

    async fn update_node_group_config(
        &self,
        cluster: &str,
        name: &str,
        update: &NodeGroupConfigUpdate,
    ) -> Result<UpdateInfo> {
        let what = format!("update node group {name:?} of cluster {cluster:?}");
        let labels = (!update.add_labels.is_empty() || !update.remove_labels.is_empty()).then(|| {
            eks::UpdateLabelsPayload::builder()
                .set_add_or_update_labels((!update.add_labels.is_empty()).then(|| hash_map(&update.add_labels)))
                .set_remove_labels((!update.remove_labels.is_empty()).then(|| update.remove_labels.clone()))
                .build()
        });
        let taints = (!update.add_taints.is_empty() || !update.remove_taints.is_empty()).then(|| {
            let list = |t: &[Taint]| (!t.is_empty()).then(|| t.iter().map(eks_taint).collect());
            eks::UpdateTaintsPayload::builder()
                .set_add_or_update_taints(list(&update.add_taints))
                .set_remove_taints(list(&update.remove_taints))
                .build()
        });
        let scaling = (update.min.is_some() || update.max.is_some() || update.desired.is_some()).then(|| {
            eks::NodegroupScalingConfig::builder()
                .set_min_size(update.min.map(to_i32))
                .set_max_size(update.max.map(to_i32))
                .set_desired_size(update.desired.map(to_i32))
                .build()
        });
        let out = self
            .eks
            .update_nodegroup_config()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .set_labels(labels)
            .set_taints(taints)
            .set_scaling_config(scaling)
            .client_request_token(&update.client_request_token)
            .send()
            .await
            .map_err(|e| aws_error(e, &what, "node_pools"))?;
        Ok(update_info(out.update().ok_or_else(|| incomplete(&what, "update"))?))
    }

    async fn update_node_group_version(
        &self,
        cluster: &str,
        name: &str,
        version: &str,
        token: &str,
    ) -> Result<UpdateInfo> {
        let what = format!("update node group {name:?} of cluster {cluster:?} to Kubernetes {version}");
        let out = self
            .eks
            .update_nodegroup_version()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .version(version)
            .client_request_token(token)
            .send()
            .await
            .map_err(|e| aws_error(e, &what, "kubernetes_version"))?;
        Ok(update_info(out.update().ok_or_else(|| incomplete(&what, "update"))?))
    }

    async fn delete_node_group(&self, cluster: &str, name: &str) -> Result<()> {
        let what = format!("delete node group {name:?} of cluster {cluster:?}");
        self.eks
            .delete_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
            .map_err(|e| aws_error(e, &what, "node_pools"))?;
        Ok(())
    }

    async fn describe_instance_types(&self, types: &[String]) -> Result<Vec<InstanceTypeInfo>> {
        if types.is_empty() {
            return Ok(Vec::new());
        }
        let what = format!("describe instance types {}", types.join(", "));
        let found = match self.instance_types_request(types).await {
            Ok(found) => found,
            // One unknown type fails the whole request: ask one by one, leaving the unknown ones out.
            Err(e) if is_invalid_instance_type(&e) => {
                let mut found = Vec::new();
                for t in types {
                    match self.instance_types_request(std::slice::from_ref(t)).await {
                        Ok(one) => found.extend(one),
                        Err(e) if is_invalid_instance_type(&e) => {}
                        Err(e) => return Err(aws_error(e, &format!("describe instance type {t}"), "node_pools")),
                    }
                }
                found
            }
            Err(e) => return Err(aws_error(e, &what, "node_pools")),
        };
        let by_name: BTreeMap<String, InstanceTypeInfo> =
            found.iter().filter_map(instance_type_info).map(|i| (i.name.clone(), i)).collect();
        // In the order asked, once each.
        let mut seen = std::collections::BTreeSet::new();
        Ok(types.iter().filter(|t| seen.insert(t.as_str())).filter_map(|t| by_name.get(t).cloned()).collect())
    }

    async fn offered_instance_types(&self, types: &[String]) -> Result<Vec<String>> {
        if types.is_empty() {
            return Ok(Vec::new());
        }
        let what = format!("describe offerings of instance types {} in {}", types.join(", "), self.region);
        let offerings = self
            .ec2_read
            .describe_instance_type_offerings()
            .location_type(ec2::LocationType::Region)
            .filters(filter("instance-type", types))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_error(e, &what, "node_pools"))?;
        let offered: std::collections::BTreeSet<String> =
            offerings.iter().filter_map(|o| o.instance_type().map(|t| t.as_str().to_string())).collect();
        let mut seen = std::collections::BTreeSet::new();
        Ok(types.iter().filter(|t| offered.contains(*t) && seen.insert(t.as_str())).cloned().collect())
    }

    async fn availability_zones(&self) -> Result<Vec<String>> {
        let what = format!("describe availability zones of {}", self.region);
        let out = self
            .ec2_read
            .describe_availability_zones()
            .filters(filter("state", &["available".to_string()]))
            .send()
            .await
            .map_err(|e| aws_error(e, &what, "region"))?;
        let mut zones: Vec<String> = out
            .availability_zones()
            .iter()
            .filter(|z| z.state().is_none_or(|s| *s == ec2::AvailabilityZoneState::Available))
            .filter_map(|z| z.zone_name().map(str::to_string))
            .collect();
        zones.sort();
        zones.dedup();
        Ok(zones)
    }

    async fn describe_subnets(&self, ids: &[String]) -> Result<Vec<SubnetInfo>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let what = format!("describe subnets {}", ids.join(", "));
        let subnets: Vec<ec2::Subnet> = self
            .ec2_read
            .describe_subnets()
            .set_subnet_ids(Some(ids.to_vec()))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_error(e, &what, "network.subnet_ids"))?;
        let subnets: Vec<SubnetInfo> = subnets
            .iter()
            .filter_map(|s| {
                Some(SubnetInfo {
                    id: s.subnet_id()?.to_string(),
                    vpc_id: s.vpc_id().unwrap_or_default().to_string(),
                    zone: s.availability_zone().unwrap_or_default().to_string(),
                    cidr: s.cidr_block().unwrap_or_default().to_string(),
                    tags: ec2_tags(s.tags()),
                })
            })
            .collect();
        if let Some(missing) = ids.iter().find(|id| !subnets.iter().any(|s| &s.id == *id)) {
            return Err(not_found(&format!("subnet {missing}")));
        }
        Ok(subnets)
    }

    async fn network_resources(&self, cluster: &str) -> Result<Vec<NetworkResource>> {
        let what = |kind: &str| format!("describe {kind} of cluster {cluster:?}");
        let field = "network";
        let mut out = Vec::new();

        let vpcs: Vec<ec2::Vpc> = self
            .ec2_read
            .describe_vpcs()
            .filters(cluster_filter(cluster))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_error(e, &what("VPCs"), field))?;
        out.extend(vpcs.iter().filter_map(|v| {
            let state = v.state().map(|s| s.as_str().to_string());
            network_resource(cluster, NetworkKind::Vpc, v.vpc_id(), v.tags(), state, Vec::new())
        }));

        let igws: Vec<ec2::InternetGateway> = self
            .ec2_read
            .describe_internet_gateways()
            .filters(cluster_filter(cluster))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_error(e, &what("internet gateways"), field))?;
        out.extend(igws.iter().filter_map(|g| {
            let vpcs = g.attachments().iter().filter_map(|a| a.vpc_id().map(str::to_string)).collect();
            network_resource(cluster, NetworkKind::InternetGateway, g.internet_gateway_id(), g.tags(), None, vpcs)
        }));

        let subnets: Vec<ec2::Subnet> = self
            .ec2_read
            .describe_subnets()
            .filters(cluster_filter(cluster))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_error(e, &what("subnets"), field))?;
        out.extend(subnets.iter().filter_map(|s| {
            let state = s.state().map(|s| s.as_str().to_string());
            network_resource(cluster, NetworkKind::Subnet, s.subnet_id(), s.tags(), state, Vec::new())
        }));

        let tables: Vec<ec2::RouteTable> = self
            .ec2_read
            .describe_route_tables()
            .filters(cluster_filter(cluster))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_error(e, &what("route tables"), field))?;
        out.extend(tables.iter().filter_map(|t| {
            let subnets = t
                .associations()
                .iter()
                .filter(|a| a.main() != Some(true))
                .filter_map(|a| a.subnet_id().map(str::to_string))
                .collect();
            network_resource(cluster, NetworkKind::RouteTable, t.route_table_id(), t.tags(), None, subnets)
        }));

        let addresses = self
            .ec2_read
            .describe_addresses()
            .filters(cluster_filter(cluster))
            .send()
            .await
            .map_err(|e| aws_error(e, &what("Elastic IPs"), field))?;
        out.extend(addresses.addresses().iter().filter_map(|a| {
            network_resource(cluster, NetworkKind::ElasticIp, a.allocation_id(), a.tags(), None, Vec::new())
        }));

        let nats: Vec<ec2::NatGateway> = self
            .ec2_read
            .describe_nat_gateways()
            .filter(cluster_filter(cluster))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_error(e, &what("NAT gateways"), field))?;
        out.extend(nats.iter().filter(|n| n.state() != Some(&ec2::NatGatewayState::Deleted)).filter_map(|n| {
            let state = n.state().map(|s| s.as_str().to_string());
            network_resource(cluster, NetworkKind::NatGateway, n.nat_gateway_id(), n.tags(), state, Vec::new())
        }));

        Ok(out)
    }

    async fn create_network_resource(&self, create: &NetworkCreate, tags: &Tags) -> Result<String> {
        self.create_network(create, tags).await
    }

    async fn delete_network_resource(&self, resource: &NetworkResource) -> Result<()> {
        let id = resource.id.as_str();
        match resource.kind {
            NetworkKind::Vpc => {
                let what = format!("delete VPC {id}");
                self.ec2.delete_vpc().vpc_id(id).send().await.map_err(|e| aws_error(e, &what, "network"))?;
            }
            NetworkKind::InternetGateway => self.delete_internet_gateway(id).await?,
            NetworkKind::Subnet => {
                let what = format!("delete subnet {id}");
                self.ec2.delete_subnet().subnet_id(id).send().await.map_err(|e| aws_error(e, &what, "network"))?;
            }
            NetworkKind::RouteTable => self.delete_route_table(id).await?,
            NetworkKind::ElasticIp => {
                let what = format!("release Elastic IP {id}");
                self.ec2
                    .release_address()
                    .allocation_id(id)
                    .send()
                    .await
                    .map_err(|e| aws_error(e, &what, "network"))?;
            }
            NetworkKind::NatGateway => self.delete_nat_gateway(id).await?,
        }
        Ok(())
    }

    async fn get_role(&self, name: &str) -> Result<RoleInfo> {
        let what = format!("get IAM role {name:?}");
        let out = self.iam_read.get_role().role_name(name).send().await.map_err(|e| aws_error(e, &what, "name"))?;
        self.role_info(out.role().ok_or_else(|| incomplete(&what, "role"))?).await
    }

    async fn create_role(&self, name: &str, service_principal: &str, tags: &Tags) -> Result<RoleInfo> {
        let what = format!("create IAM role {name:?}");
        let tags = tags
            .iter()
            .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| build_error(e, &what, "tags"))?;
        let out = self
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust_policy(service_principal))
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|e| aws_error(e, &what, "name"))?;
        self.role_info(out.role().ok_or_else(|| incomplete(&what, "role"))?).await
    }

    async fn attach_role_policy(&self, role: &str, policy_arn: &str) -> Result<()> {
        let what = format!("attach policy {policy_arn} to IAM role {role:?}");
        self.iam
            .attach_role_policy()
            .role_name(role)
            .policy_arn(policy_arn)
            .send()
            .await
            .map_err(|e| aws_error(e, &what, "name"))?;
        Ok(())
    }

    async fn delete_role(&self, name: &str) -> Result<()> {
        for policy in self.attached_policies(name).await? {
            let what = format!("detach policy {policy} from IAM role {name:?}");
            match self.iam.detach_role_policy().role_name(name).policy_arn(&policy).send().await {
                Ok(_) => {}
                // Detached meanwhile: what was wanted. (A missing role fails the delete below.)
                Err(e) if e.code() == Some("NoSuchEntity") => {}
                Err(e) => return Err(aws_error(e, &what, "name")),
            }
        }
        let what = format!("delete IAM role {name:?}");
        self.iam.delete_role().role_name(name).send().await.map_err(|e| aws_error(e, &what, "name"))?;
        Ok(())
    }
}

#[cfg(all(test, feature = "testing"))]
#[path = "sdk_tests.rs"]
mod tests;
