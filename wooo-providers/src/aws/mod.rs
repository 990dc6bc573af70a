//! AWS: [`Eks`], the EKS [`Provisioner`] (feature `aws`).
//!
//! ```no_run
//! # async fn demo() -> wooo_core::Result<()> {
//! use wooo_core::prelude::*;
//! use wooo_providers::aws::EksBuilder;
//!
//! let eks = EksBuilder::from_env().await.region("eu-west-1").build()?;
//! let spec: ClusterSpec = from_yaml(&std::fs::read_to_string("examples/specs/eks-cluster.yaml").unwrap())?;
//! println!("{}", eks.plan(&spec).await?);
//! let cluster = eks.ensure(&spec, &WaitOptions::default(), &Progress::none()).await?;
//! let client = eks.kube_client(&cluster.id).await?; // no `aws eks get-token` plugin needed
//! # Ok(()) }
//! ```
//!
//! What [`Eks`] does, eksctl-style:
//! - **Networking**: with `network.subnet_ids` it uses them (checked: they exist, span two zones, lie in
//!   `network.network_id` when given). Without, it creates a VPC (`network.vpc_cidr`, default
//!   `192.168.0.0/16`) over the region's first two or three zones with a public and a private subnet in each,
//!   an internet gateway, one NAT gateway and the route tables; nodes run in the private subnets.
//! - **IAM**: the cluster role `wooo-<cluster>-cluster` (AmazonEKSClusterPolicy) and the node role
//!   `wooo-<cluster>-node` (AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy,
//!   AmazonEC2ContainerRegistryReadOnly).
//! - Everything it creates carries the ownership tag [`OWNER_TAG`](wooo_core::model::OWNER_TAG) and
//!   [`CLUSTER_TAG`], and [`Provisioner::delete`] removes it in reverse order.
//! - **Node pools** are managed node groups named `<pool>-<generation>`: the generation digests what cannot
//!   change in place (instance types, capacity, disk, zones, AMI type), so such a change creates the new group,
//!   waits for it, then deletes the old one. Labels, taints, min and max change in place. The desired size is
//!   set at creation only: afterwards it belongs to the cluster autoscaler ([`PlanRules`]). Instance types are
//!   checked against the region's offerings and one CPU architecture per pool before any write.
//! - **Upgrades** go one minor version at a time: the control plane, then each node group, waiting in between.
//! - **Waits** poll with a growing, jittered interval ([`Eks::DEFAULT_WAIT`]: 30 s up to 60 s), about 20
//!   describe calls for a 15-minute creation.
//! - **Retries**: each AWS call is tried again on throttling and transient failures; a write only after
//!   looking whether the failed attempt took effect (EC2 creates have no idempotency token), so a lost answer
//!   never duplicates a VPC, a role, a cluster or a node group.
//! - **Access**: [`Provisioner::access`] returns a bearer token made in-process ([`EksTokenSource`]), and
//!   [`Eks::kube_client`] a `kube::Client` that refreshes it.
//!
//! Module shape (the pattern every cloud follows): `mod.rs` the provider type and its trait impls,
//! `builder.rs` [`EksBuilder`], `api.rs` the thin seam over the SDKs that unit tests mock, `sdk.rs` that seam
//! over aws-sdk-eks/-ec2/-iam, `error.rs` error classification (once), `shape.rs` the pure decisions,
//! `token.rs` the EKS bearer token.

mod api;
mod builder;
mod error;
mod sdk;
mod shape;
mod token;

#[cfg(feature = "testing")]
pub mod testing;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_credential_types::provider::SharedCredentialsProvider;
use wooo_core::model::{
    ChangeAction, Cluster, ClusterAccess, ClusterAuth, ClusterId, ClusterPlan, ClusterSpec, NodePoolSpec,
};
use wooo_core::plan::PlanRules;
use wooo_core::progress::{OperationGuard, Progress};
use wooo_core::{DeleteOptions, Error, ErrorKind, Look, Provisioner, ProvisionerCapabilities, Result, WaitOptions};

use self::api::{
    AwsApi, ClusterInfo, ClusterState, CreateCluster, CreateNodeGroup, NetworkCreate, NetworkKind, NetworkResource,
    NodeGroupInfo, NodeGroupState, Scaling, Tags, UpdateInfo, UpdateState,
};
pub use self::builder::EksBuilder;
use self::error::PROVIDER;
use self::shape::SubnetPlan;
pub use self::token::EksTokenSource;

/// The EC2 / IAM tag naming the cluster a resource wooo created belongs to (its value is the cluster name).
pub const CLUSTER_TAG: &str = "wooo.dev/cluster";
/// The EC2 tag naming a network resource's role in the cluster's network (`vpc`, `public-<zone>`, …).
pub const ROLE_TAG: &str = "wooo.dev/role";
/// The EKS node group tag naming the wooo node pool it implements.
pub const NODE_POOL_TAG: &str = "wooo.dev/node-pool";

/// The EKS [`Provisioner`]: clusters, managed node groups, their network and IAM roles in one account and
/// region. Build it with [`EksBuilder`]; see the [module docs](self) for what it does.
pub struct Eks {
    api: Arc<dyn AwsApi>,
    region: String,
    credentials: Option<SharedCredentialsProvider>,
    sts_endpoint: String,
    wait: WaitOptions,
    attempts: u32,
    /// First pause between attempts of one call; doubles each attempt.
    pause: Duration,
}

impl fmt::Debug for Eks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Eks")
            .field("region", &self.region)
            .field("sts_endpoint", &self.sts_endpoint)
            .field("wait", &self.wait)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// A cluster and its node groups as EKS reports them now.
struct Observed {
    info: ClusterInfo,
    groups: Vec<NodeGroupInfo>,
}

/// The subnets a cluster's control plane and node groups use.
struct Subnets {
    /// Every subnet of the cluster (the control plane's ENIs go in all of them).
    all: Vec<String>,
    /// The subnets nodes go in, with their zones.
    nodes: Vec<(String, String)>,
}

impl Eks {
    /// The waits of an EKS provisioner unless [`EksBuilder::wait`] says otherwise: up to 40 minutes, polling
    /// after 30 s, growing to every 60 s, jittered by 10 %. Clusters take 10 to 15 minutes to create, node
    /// groups 2 to 5.
    pub const DEFAULT_WAIT: WaitOptions = WaitOptions {
        timeout: Duration::from_secs(40 * 60),
        interval: Duration::from_secs(30),
        max_interval: Duration::from_secs(60),
        jitter_percent: 10,
    };

    /// An [`EksBuilder`].
    pub fn builder() -> EksBuilder {
        EksBuilder::new()
    }

    /// The region this provisioner works in.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// A `kube::Client` for the cluster that authenticates with an [`EksTokenSource`] (refreshed before it
    /// expires), so no `aws eks get-token` exec plugin is needed.
    ///
    /// # Errors
    /// As [`Provisioner::access`].
    pub async fn kube_client(&self, id: &ClusterId) -> Result<::kube::Client> {
        let access = self.access(id).await?;
        crate::kube::client_with_token_source(&access, Arc::new(self.token_source(id)?)).await
    }

    /// The token source for a cluster's API server, from this provisioner's credentials.
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] when the configuration has no credentials provider.
    pub fn token_source(&self, id: &ClusterId) -> Result<EksTokenSource> {
        let Some(credentials) = self.credentials.clone() else {
            return Err(Error::Unauthenticated {
                provider: PROVIDER,
                message: "the AWS configuration has no credentials provider".into(),
                source: None,
            });
        };
        EksTokenSource::new(credentials, self.region.clone(), id.as_str()).with_sts_endpoint(&self.sts_endpoint)
    }

    #[cfg(test)]
    fn with_api(api: Arc<dyn AwsApi>, region: &str, wait: WaitOptions) -> Self {
        Self {
            api,
            region: region.to_string(),
            credentials: None,
            sts_endpoint: "http://127.0.0.1:1/".into(),
            wait,
            attempts: 5,
            pause: Duration::from_millis(200),
        }
    }

    // --- calls ------------------------------------------------------------------------------------------

    /// Sleeps before attempt `attempt + 1`: what AWS asked for, else a doubling pause, jittered.
    async fn pause_after(&self, attempt: u32, e: &Error) {
        let backoff = self.pause.saturating_mul(1 << attempt.min(6)).min(Duration::from_secs(20));
        let wait = WaitOptions { jitter_percent: 20, ..self.wait };
        tokio::time::sleep(e.retry_after().unwrap_or_else(|| wait.jittered(backoff))).await;
    }

    /// A read, tried again on retryable failures.
    async fn read<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: Fn() -> Fut + Send + Sync,
        Fut: Future<Output = Result<T>> + Send,
        T: Send,
    {
        let mut attempt = 1;
        loop {
            match f().await {
                Err(e) if e.is_retryable() && attempt < self.attempts => {
                    self.pause_after(attempt, &e).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// A create that must happen once: looks first (`observe`, unless the caller just saw it is absent),
    /// creates when nothing is there, and after a retryable failure or an "already exists" looks again before
    /// trying again, so an attempt whose answer was lost is found rather than repeated.
    async fn create_once<T, O, OF, A, AF>(&self, known_absent: bool, observe: O, create: A) -> Result<T>
    where
        O: Fn() -> OF + Send + Sync,
        OF: Future<Output = Result<Option<T>>> + Send,
        A: Fn() -> AF + Send + Sync,
        AF: Future<Output = Result<T>> + Send,
        T: Send,
    {
        let mut attempt = 1;
        let mut look = !known_absent;
        loop {
            if look && let Some(found) = self.read(&observe).await? {
                return Ok(found);
            }
            look = true;
            match create().await {
                Ok(made) => return Ok(made),
                Err(e) if (e.is_retryable() || e.kind() == ErrorKind::AlreadyExists) && attempt < self.attempts => {
                    self.pause_after(attempt, &e).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A delete: `NotFound` means done (also on a later attempt, when an earlier one took effect unseen).
    async fn delete_once<F, Fut>(&self, f: F) -> Result<()>
    where
        F: Fn() -> Fut + Send + Sync,
        Fut: Future<Output = Result<()>> + Send,
    {
        match self.read(f).await {
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// An update: tried, and after a retryable failure tried again only if `still_needed` says the failed
    /// attempt did not take effect.
    async fn update_once<T, A, AF, N, NF>(&self, update: A, still_needed: N) -> Result<Option<T>>
    where
        A: Fn() -> AF + Send + Sync,
        AF: Future<Output = Result<T>> + Send,
        N: Fn() -> NF + Send + Sync,
        NF: Future<Output = Result<bool>> + Send,
        T: Send,
    {
        let mut attempt = 1;
        loop {
            match update().await {
                Ok(done) => return Ok(Some(done)),
                Err(e) if e.is_retryable() && attempt < self.attempts => {
                    self.pause_after(attempt, &e).await;
                    attempt += 1;
                    if !self.read(&still_needed).await? {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    // --- observation ------------------------------------------------------------------------------------

    async fn observe(&self, name: &str) -> Result<Option<Observed>> {
        let info = match self.read(|| self.api.describe_cluster(name)).await {
            Ok(info) => info,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let groups = self.node_groups(name).await?;
        Ok(Some(Observed { info, groups }))
    }

    async fn node_groups(&self, cluster: &str) -> Result<Vec<NodeGroupInfo>> {
        let names = self.read(|| self.api.list_node_groups(cluster)).await?;
        let mut groups = Vec::with_capacity(names.len());
        for name in &names {
            match self.read(|| self.api.describe_node_group(cluster, name)).await {
                Ok(g) => groups.push(g),
                // Deleted between the list and the describe.
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(groups)
    }

    fn plan_rules() -> PlanRules {
        PlanRules { autoscaler_owns_desired: true }
    }

    /// The plan from an observation, plus the node groups whose Kubernetes version lags the control plane.
    fn plan_from(&self, spec: &ClusterSpec, observed: Option<&Observed>) -> Result<ClusterPlan> {
        let current = observed.map(|o| {
            let mut c = shape::cluster(&self.region, &o.info, &o.groups, jiff::Timestamp::now());
            shape::normalize(&mut c.spec, spec);
            c
        });
        let mut plan = wooo_core::plan::cluster_with(spec, current.as_ref(), &Self::plan_rules())?;
        if let Some(o) = observed {
            let control_plane = o.info.version.clone().unwrap_or_default();
            for change in &mut plan.changes {
                let Some(pool) = change.target.strip_prefix("node_pool/") else { continue };
                let lags = o
                    .groups
                    .iter()
                    .any(|g| shape::pool_name(g) == pool && g.version.as_deref().is_some_and(|v| v != control_plane));
                if lags && matches!(change.action, ChangeAction::NoOp | ChangeAction::UpdateInPlace) {
                    let field = format!("{}.kubernetes_version", change.target);
                    if change.action == ChangeAction::NoOp {
                        change.reason = format!("nodes lag the control plane's Kubernetes {control_plane}");
                        change.action = ChangeAction::UpdateInPlace;
                    }
                    change.fields.push(field);
                }
            }
        }
        Ok(plan)
    }

    /// Checks instance types against the region (reads only); each pool's AMI type.
    async fn preflight(&self, spec: &ClusterSpec) -> Result<Vec<String>> {
        let mut types: Vec<String> = spec.node_pools.iter().flat_map(|p| p.instance_types.clone()).collect();
        types.sort();
        types.dedup();
        let offered = self.read(|| self.api.offered_instance_types(&types)).await?;
        let facts = self.read(|| self.api.describe_instance_types(&types)).await?;
        shape::ami_types(spec, &offered, &facts)
    }

    // --- waits ------------------------------------------------------------------------------------------

    async fn wait_cluster_active(&self, name: &str, op: &OperationGuard<'_>) -> Result<ClusterInfo> {
        let what = format!("cluster {name} to become active");
        self.wait
            .poll(PROVIDER, &what, op, || async {
                let info = self.read(|| self.api.describe_cluster(name)).await?;
                Ok(match &info.status {
                    Some(ClusterState::Active) => Look::Done(Ok(info)),
                    Some(ClusterState::Failed) => Look::Done(Err(Error::Provider {
                        provider: PROVIDER,
                        message: format!("cluster {name} failed: {}", shape::issues(&info.health_issues)),
                        source: None,
                    })),
                    other => Look::Pending(format!("cluster {name}: {}", shape::state_word(other))),
                })
            })
            .await
    }

    async fn wait_cluster_gone(&self, name: &str, op: &OperationGuard<'_>) -> Result<()> {
        let what = format!("cluster {name} to be deleted");
        self.wait
            .poll(PROVIDER, &what, op, || async {
                match self.read(|| self.api.describe_cluster(name)).await {
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(Look::Done(Ok(()))),
                    Err(e) => Err(e),
                    Ok(info) => Ok(Look::Pending(format!("cluster {name}: {}", shape::state_word(&info.status)))),
                }
            })
            .await
    }

    async fn wait_group_active(&self, cluster: &str, group: &str, op: &OperationGuard<'_>) -> Result<NodeGroupInfo> {
        let what = format!("node group {group} to become active");
        self.wait
            .poll(PROVIDER, &what, op, || async {
                let g = self.read(|| self.api.describe_node_group(cluster, group)).await?;
                Ok(match &g.status {
                    Some(NodeGroupState::Active) => Look::Done(Ok(g)),
                    Some(NodeGroupState::CreateFailed | NodeGroupState::Degraded | NodeGroupState::DeleteFailed) => {
                        Look::Done(Err(Error::Provider {
                            provider: PROVIDER,
                            message: format!(
                                "node group {group} is {}: {}",
                                shape::state_word(&g.status),
                                shape::issues(&g.health_issues)
                            ),
                            source: None,
                        }))
                    }
                    other => Look::Pending(format!("node group {group}: {}", shape::state_word(other))),
                })
            })
            .await
    }

    async fn wait_group_gone(&self, cluster: &str, group: &str, op: &OperationGuard<'_>) -> Result<()> {
        let what = format!("node group {group} to be deleted");
        self.wait
            .poll(PROVIDER, &what, op, || async {
                match self.read(|| self.api.describe_node_group(cluster, group)).await {
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(Look::Done(Ok(()))),
                    Err(e) => Err(e),
                    Ok(g) if g.status == Some(NodeGroupState::DeleteFailed) => Ok(Look::Done(Err(Error::Provider {
                        provider: PROVIDER,
                        message: format!("node group {group} failed to delete: {}", shape::issues(&g.health_issues)),
                        source: None,
                    }))),
                    Ok(g) => Ok(Look::Pending(format!("node group {group}: {}", shape::state_word(&g.status)))),
                }
            })
            .await
    }

    async fn wait_update(
        &self,
        cluster: &str,
        group: Option<&str>,
        update: &UpdateInfo,
        op: &OperationGuard<'_>,
    ) -> Result<()> {
        let what = format!("update {} of {}", update.id, group.unwrap_or(cluster));
        self.wait
            .poll(PROVIDER, &what, op, || async {
                let u = self.read(|| self.api.describe_update(cluster, group.map(str::to_string), &update.id)).await?;
                Ok(match u.state {
                    UpdateState::Successful => Look::Done(Ok(())),
                    UpdateState::Failed | UpdateState::Cancelled => Look::Done(Err(Error::Provider {
                        provider: PROVIDER,
                        message: format!("{what} ended {:?}: {}", u.state, shape::issues(&u.errors)),
                        source: None,
                    })),
                    _ => Look::Pending(format!("{what}: in progress")),
                })
            })
            .await
    }

    // --- apply ------------------------------------------------------------------------------------------

    async fn apply_inner(&self, spec: &ClusterSpec, op: &OperationGuard<'_>) -> Result<Cluster> {
        let name = spec.name.as_str();
        let observed = self.observe(name).await?;
        if let Some(o) = &observed
            && !shape::owned(&o.info.tags)
        {
            return Err(Error::conflict(PROVIDER, format!("cluster {name} exists and was not created by wooo")));
        }
        let amis = self.preflight(spec).await?;
        let plan = self.plan_from(spec, observed.as_ref())?;
        let cluster_change = &plan.changes[0];
        if cluster_change.action == ChangeAction::Replace {
            return Err(Error::conflict(
                PROVIDER,
                format!(
                    "cluster {name} would be replaced ({}): {}; delete it and apply again",
                    cluster_change.fields.join(", "),
                    cluster_change.reason
                ),
            ));
        }
        if plan.is_noop() {
            let o = observed.expect("a no-op plan has a cluster");
            return Ok(shape::cluster(&self.region, &o.info, &o.groups, jiff::Timestamp::now()));
        }
        // A new cluster's network and node role are made with it; an existing cluster's are looked up only when
        // a node group is created.
        let (info, for_groups) = match observed {
            None => {
                let subnets = self.ensure_network(spec, op).await?;
                let (cluster_role, node_role) = self.ensure_roles(spec, op).await?;
                let info = self.create_cluster(spec, &cluster_role, &subnets, op).await?;
                (info, Some((node_role, subnets)))
            }
            Some(o) => {
                self.update_cluster(spec, &o, &plan, op).await?;
                (self.read(|| self.api.describe_cluster(name)).await?, None)
            }
        };
        self.apply_pools(spec, &info, &plan, &amis, for_groups, op).await?;
        let groups = self.node_groups(name).await?;
        let info = self.read(|| self.api.describe_cluster(name)).await?;
        Ok(shape::cluster(&self.region, &info, &groups, jiff::Timestamp::now()))
    }

    /// Checks given subnets (they exist, lie in the given VPC, span two zones); their ids and zones.
    async fn given_subnets(&self, spec: &ClusterSpec) -> Result<Subnets> {
        let ids = &spec.network.subnet_ids;
        let found = match self.read(|| self.api.describe_subnets(ids)).await {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::invalid_spec("network.subnet_ids", format!("a subnet does not exist: {e}")));
            }
            other => other?,
        };
        if let Some(vpc) = &spec.network.network_id
            && let Some(s) = found.iter().find(|s| &s.vpc_id != vpc)
        {
            return Err(Error::invalid_spec(
                "network.subnet_ids",
                format!("subnet {} is in {}, not in network_id {vpc}", s.id, s.vpc_id),
            ));
        }
        let zones: std::collections::BTreeSet<&str> = found.iter().map(|s| s.zone.as_str()).collect();
        if zones.len() < 2 {
            return Err(Error::invalid_spec(
                "network.subnet_ids",
                format!("EKS needs subnets in two availability zones; these are all in {:?}", zones),
            ));
        }
        Ok(Subnets {
            all: found.iter().map(|s| s.id.clone()).collect(),
            nodes: found.iter().map(|s| (s.id.clone(), s.zone.clone())).collect(),
        })
    }

    /// The subnets of an existing cluster: the given ones, or the private ones of the network wooo made.
    async fn subnets_of(&self, spec: &ClusterSpec, info: &ClusterInfo) -> Result<Subnets> {
        if !spec.network.subnet_ids.is_empty() {
            return self.given_subnets(spec).await;
        }
        let resources = self.read(|| self.api.network_resources(&spec.name)).await?;
        let nodes: Vec<(String, String)> = resources
            .iter()
            .filter(|r| r.kind == NetworkKind::Subnet)
            .filter_map(|r| r.role.strip_prefix("private-").map(|zone| (r.id.clone(), zone.to_string())))
            .collect();
        Ok(Subnets { all: info.subnet_ids.clone(), nodes })
    }

    /// The network of a new cluster: the given subnets, or a VPC wooo creates (each resource once).
    async fn ensure_network(&self, spec: &ClusterSpec, op: &OperationGuard<'_>) -> Result<Subnets> {
        if !spec.network.subnet_ids.is_empty() {
            return self.given_subnets(spec).await;
        }
        let zones = self.read(|| self.api.availability_zones()).await?;
        let cidr = spec.network.vpc_cidr.clone().unwrap_or_else(|| shape::DEFAULT_VPC_CIDR.to_string());
        let layout = shape::network_layout(&cidr, &zones)?;
        check_pool_zones(spec, &layout)?;
        let name = spec.name.as_str();
        let base = shape::owned_tags(spec);
        let tags_for = |role: &str| {
            let mut t = base.clone();
            t.insert(ROLE_TAG.to_string(), role.to_string());
            t.insert("Name".to_string(), format!("{name}-{role}"));
            t
        };
        let existing = self.read(|| self.api.network_resources(name)).await?;
        let ensure = |role: String, create: NetworkCreate| {
            let tags = tags_for(&role);
            let known = existing.iter().find(|r| r.role == role).map(|r| r.id.clone());
            async move {
                if let Some(id) = known {
                    return Ok::<String, Error>(id);
                }
                let id = self
                    .create_once(
                        true,
                        || async {
                            let all = self.api.network_resources(name).await?;
                            Ok(all.into_iter().find(|r| r.role == role).map(|r| r.id))
                        },
                        || self.api.create_network_resource(&create, &tags),
                    )
                    .await?;
                op.step(format!("network: {role} {id}"), 0, None);
                Ok::<String, Error>(id)
            }
        };
        let vpc = ensure("vpc".into(), NetworkCreate::Vpc { cidr: cidr.clone() }).await?;
        let igw = ensure("igw".into(), NetworkCreate::InternetGateway { vpc_id: vpc.clone() }).await?;
        let mut ids: BTreeMap<String, String> = BTreeMap::new();
        for s in &layout {
            let create = NetworkCreate::Subnet {
                vpc_id: vpc.clone(),
                cidr: s.cidr.clone(),
                zone: s.zone.clone(),
                public: s.public,
            };
            ids.insert(s.role.clone(), ensure(s.role.clone(), create).await?);
        }
        let of = |public: bool| -> Vec<String> {
            layout.iter().filter(|s| s.public == public).map(|s| ids[&s.role].clone()).collect()
        };
        let first_public = of(true)[0].clone();
        let eip = ensure("eip-nat".into(), NetworkCreate::ElasticIp).await?;
        let nat =
            ensure("nat".into(), NetworkCreate::NatGateway { subnet_id: first_public, allocation_id: eip }).await?;
        ensure("rt-public".into(), NetworkCreate::RouteTable { vpc_id: vpc.clone(), via: igw, subnet_ids: of(true) })
            .await?;
        ensure("rt-private".into(), NetworkCreate::RouteTable { vpc_id: vpc, via: nat, subnet_ids: of(false) }).await?;
        Ok(Subnets {
            all: layout.iter().map(|s| ids[&s.role].clone()).collect(),
            nodes: layout.iter().filter(|s| !s.public).map(|s| (ids[&s.role].clone(), s.zone.clone())).collect(),
        })
    }

    /// The cluster role and the node role, each created once with its policies attached; their ARNs.
    async fn ensure_roles(&self, spec: &ClusterSpec, op: &OperationGuard<'_>) -> Result<(String, String)> {
        let tags = shape::owned_tags(spec);
        let mut arns = Vec::new();
        for (role, principal, policies) in [
            (shape::cluster_role_name(&spec.name), "eks.amazonaws.com", shape::CLUSTER_POLICIES),
            (shape::node_role_name(&spec.name), "ec2.amazonaws.com", shape::NODE_POLICIES),
        ] {
            let info = self
                .create_once(
                    false,
                    || async {
                        match self.api.get_role(&role).await {
                            Ok(r) => Ok(Some(r)),
                            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                            Err(e) => Err(e),
                        }
                    },
                    || self.api.create_role(&role, principal, &tags),
                )
                .await?;
            for policy in policies.iter().filter(|p| !info.attached_policy_arns.iter().any(|a| a == *p)) {
                // Attaching is idempotent in IAM: a retry after a lost answer attaches nothing twice.
                self.read(|| self.api.attach_role_policy(&role, policy)).await?;
            }
            op.step(format!("iam: role {role}"), 0, None);
            arns.push(info.arn);
        }
        let node = arns.pop().expect("two roles");
        let cluster = arns.pop().expect("two roles");
        Ok((cluster, node))
    }

    async fn create_cluster(
        &self,
        spec: &ClusterSpec,
        role_arn: &str,
        subnets: &Subnets,
        op: &OperationGuard<'_>,
    ) -> Result<ClusterInfo> {
        let mut tags = shape::owned_tags(spec);
        let managed = spec.network.subnet_ids.is_empty();
        tags.insert(shape::NETWORK_TAG.into(), if managed { "managed" } else { "given" }.into());
        if managed {
            let cidr = spec.network.vpc_cidr.clone().unwrap_or_else(|| shape::DEFAULT_VPC_CIDR.to_string());
            tags.insert(shape::VPC_CIDR_TAG.into(), cidr);
        }
        let input = CreateCluster {
            name: spec.name.clone(),
            version: spec.kubernetes_version.clone(),
            role_arn: role_arn.to_string(),
            subnet_ids: subnets.all.clone(),
            security_group_ids: Vec::new(),
            endpoint: shape::endpoint_config(&spec.network),
            service_cidr: spec.network.service_cidr.clone(),
            tags,
            client_request_token: request_token(&["create-cluster", &spec.name]),
        };
        op.step(format!("eks: creating cluster {}", spec.name), 0, None);
        let name = spec.name.as_str();
        self.create_once(
            true,
            || async {
                match self.api.describe_cluster(name).await {
                    Ok(info) => Ok(Some(info)),
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            },
            || self.api.create_cluster(&input),
        )
        .await?;
        // Just created: the first look can wait a poll interval.
        tokio::time::sleep(self.wait.interval).await;
        self.wait_cluster_active(name, op).await
    }

    /// In-place changes of the control plane: endpoint access, tags, then version steps (each followed by the
    /// node groups).
    async fn update_cluster(
        &self,
        spec: &ClusterSpec,
        o: &Observed,
        plan: &ClusterPlan,
        op: &OperationGuard<'_>,
    ) -> Result<()> {
        let name = spec.name.as_str();
        let fields = &plan.changes[0].fields;
        if fields.iter().any(|f| f.starts_with("network.")) {
            let endpoint = shape::endpoint_config(&spec.network);
            let token = request_token(&["endpoint", name, &format!("{endpoint:?}")]);
            self.settle_cluster(name, op).await?;
            let done = self
                .update_once(
                    || self.api.update_cluster_endpoint(name, &endpoint, &token),
                    || async {
                        let info = self.api.describe_cluster(name).await?;
                        Ok(info.status != Some(ClusterState::Updating))
                    },
                )
                .await?;
            if let Some(update) = done {
                self.wait_update(name, None, &update, op).await?;
            }
            op.step(format!("eks: endpoint access of {name} updated"), 0, None);
        }
        if fields.iter().any(|f| f.starts_with("tags")) {
            let want = shape::owned_tags(spec);
            let add: Tags = want
                .iter()
                .filter(|(k, v)| o.info.tags.get(*k) != Some(v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let remove: Vec<String> =
                o.info.tags.keys().filter(|k| !want.contains_key(*k) && !k.starts_with("wooo.dev/")).cloned().collect();
            if !add.is_empty() {
                self.read(|| self.api.tag_resource(&o.info.arn, &add)).await?;
            }
            if !remove.is_empty() {
                self.read(|| self.api.untag_resource(&o.info.arn, &remove)).await?;
            }
        }
        let running = o.info.version.clone().unwrap_or_default();
        for step in shape::upgrade_steps(&running, &spec.kubernetes_version) {
            self.settle_cluster(name, op).await?;
            let token = request_token(&["version", name, &step]);
            op.step(format!("eks: upgrading control plane of {name} to {step}"), 0, None);
            let done = self
                .update_once(
                    || self.api.update_cluster_version(name, &step, &token),
                    || async {
                        let info = self.api.describe_cluster(name).await?;
                        Ok(info.version.as_deref() != Some(step.as_str())
                            && info.status != Some(ClusterState::Updating))
                    },
                )
                .await?;
            if let Some(update) = done {
                self.wait_update(name, None, &update, op).await?;
            }
            self.wait_cluster_active(name, op).await?;
            self.upgrade_groups(name, &step, op).await?;
        }
        Ok(())
    }

    /// Waits out an update already in progress on the cluster before starting another (EKS allows one).
    async fn settle_cluster(&self, name: &str, op: &OperationGuard<'_>) -> Result<()> {
        let info = self.read(|| self.api.describe_cluster(name)).await?;
        if info.status != Some(ClusterState::Active) {
            self.wait_cluster_active(name, op).await?;
        }
        Ok(())
    }

    /// Brings every node group to the control plane's minor version, one group at a time.
    async fn upgrade_groups(&self, cluster: &str, version: &str, op: &OperationGuard<'_>) -> Result<()> {
        for g in self.node_groups(cluster).await? {
            if g.version.as_deref() == Some(version) {
                continue;
            }
            if g.status != Some(NodeGroupState::Active) {
                self.wait_group_active(cluster, &g.name, op).await?;
            }
            op.step(format!("eks: upgrading node group {} to {version}", g.name), 0, None);
            let token = request_token(&["ng-version", cluster, &g.name, version]);
            let group = g.name.as_str();
            let done = self
                .update_once(
                    || self.api.update_node_group_version(cluster, group, version, &token),
                    || async {
                        let now = self.api.describe_node_group(cluster, group).await?;
                        Ok(now.version.as_deref() != Some(version) && now.status == Some(NodeGroupState::Active))
                    },
                )
                .await?;
            if let Some(update) = done {
                self.wait_update(cluster, Some(group), &update, op).await?;
            }
            self.wait_group_active(cluster, group, op).await?;
        }
        Ok(())
    }

    /// Creates, updates, replaces and deletes node groups as the plan says; waits for them.
    async fn apply_pools(
        &self,
        spec: &ClusterSpec,
        info: &ClusterInfo,
        plan: &ClusterPlan,
        amis: &[String],
        for_groups: Option<(String, Subnets)>,
        op: &OperationGuard<'_>,
    ) -> Result<()> {
        let cluster = spec.name.as_str();
        let version = info.version.clone().unwrap_or_else(|| spec.kubernetes_version.clone());
        let live = self.node_groups(cluster).await?;
        let creates_a_group = spec
            .node_pools
            .iter()
            .zip(amis)
            .any(|(p, ami)| !live.iter().any(|g| g.name == shape::node_group_name(p, ami)));
        // The node role and the subnets a new group needs (what the cluster's creation made, or looked up).
        let for_groups = match for_groups {
            Some(known) => Some(known),
            None if creates_a_group => Some((self.ensure_roles(spec, op).await?.1, self.subnets_of(spec, info).await?)),
            None => None,
        };
        // Creations first, all of them, then the waits: EKS builds node groups in parallel.
        let mut created = Vec::new();
        let mut retired = Vec::new();
        let mut removed = Vec::new();
        for change in &plan.changes[1..] {
            let Some(pool_name) = change.target.strip_prefix("node_pool/") else { continue };
            if change.action == ChangeAction::Delete {
                removed.extend(live.iter().filter(|g| shape::pool_name(g) == pool_name).map(|g| g.name.clone()));
                continue;
            }
            let index = spec.node_pools.iter().position(|p| p.name == pool_name).expect("planned pools exist");
            let pool = &spec.node_pools[index];
            let wanted = shape::node_group_name(pool, &amis[index]);
            if !live.iter().any(|g| g.name == wanted) {
                let (role, subnets) = for_groups.as_ref().expect("a node role and subnets when a group is created");
                self.create_group(spec, pool, &wanted, &amis[index], role, &version, subnets, op).await?;
                created.push(wanted.clone());
            } else if change.action != ChangeAction::NoOp {
                self.update_group(cluster, &wanted, pool, op).await?;
            }
            // Older generations of the pool go once the new one is active.
            retired.extend(
                live.iter().filter(|g| shape::pool_name(g) == pool_name && g.name != wanted).map(|g| g.name.clone()),
            );
        }
        if !created.is_empty() {
            tokio::time::sleep(self.wait.interval).await;
        }
        for group in &created {
            self.wait_group_active(cluster, group, op).await?;
        }
        for group in retired.iter().chain(&removed) {
            self.delete_group(cluster, group, op).await?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn create_group(
        &self,
        spec: &ClusterSpec,
        pool: &NodePoolSpec,
        name: &str,
        ami: &str,
        node_role: &str,
        version: &str,
        subnets: &Subnets,
        op: &OperationGuard<'_>,
    ) -> Result<()> {
        let cluster = spec.name.as_str();
        let subnet_ids: Vec<String> = subnets
            .nodes
            .iter()
            .filter(|(_, zone)| pool.zones.is_empty() || pool.zones.contains(zone))
            .map(|(id, _)| id.clone())
            .collect();
        if subnet_ids.is_empty() {
            let index = spec.node_pools.iter().position(|p| p.name == pool.name).unwrap_or(0);
            return Err(Error::invalid_spec(
                format!("node_pools[{index}].zones"),
                format!("no subnet of the cluster is in {:?}", pool.zones),
            ));
        }
        let mut tags = shape::owned_tags(spec);
        tags.insert(NODE_POOL_TAG.into(), pool.name.clone());
        if !pool.zones.is_empty() {
            let mut zones = pool.zones.clone();
            zones.sort();
            tags.insert(shape::ZONES_TAG.into(), zones.join(" "));
        }
        let input = CreateNodeGroup {
            cluster: cluster.to_string(),
            name: name.to_string(),
            node_role_arn: node_role.to_string(),
            subnet_ids,
            capacity: pool.capacity,
            instance_types: pool.instance_types.clone(),
            ami_type: ami.to_string(),
            disk_size_gib: pool.disk.size_gib,
            labels: pool.labels.clone(),
            taints: pool.taints.clone(),
            scaling: Scaling { min: pool.min, max: pool.max, desired: pool.desired_count() },
            version: version.to_string(),
            tags,
            client_request_token: request_token(&["create-ng", cluster, name]),
        };
        op.step(format!("eks: creating node group {name} ({})", pool.capacity), 0, None);
        self.create_once(
            true,
            || async {
                match self.api.describe_node_group(cluster, name).await {
                    Ok(g) => Ok(Some(g)),
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            },
            || self.api.create_node_group(&input),
        )
        .await?;
        Ok(())
    }

    /// Labels, taints, min and max in place, when they differ (waiting out an update already running).
    async fn update_group(
        &self,
        cluster: &str,
        group: &str,
        pool: &NodePoolSpec,
        op: &OperationGuard<'_>,
    ) -> Result<()> {
        let live = self.read(|| self.api.describe_node_group(cluster, group)).await?;
        let Some(mut update) = shape::node_group_update(&live, pool) else { return Ok(()) };
        if live.status != Some(NodeGroupState::Active) {
            self.wait_group_active(cluster, group, op).await?;
        }
        update.client_request_token = request_token(&["ng-config", cluster, group, &format!("{update:?}")]);
        op.step(format!("eks: updating node group {group}"), 0, None);
        let mut conflicts = 0;
        loop {
            let result = self
                .update_once(
                    || self.api.update_node_group_config(cluster, group, &update),
                    || async {
                        let now = self.api.describe_node_group(cluster, group).await?;
                        Ok(shape::node_group_update(&now, pool).is_some() && now.status == Some(NodeGroupState::Active))
                    },
                )
                .await;
            match result {
                Ok(Some(u)) => {
                    self.wait_update(cluster, Some(group), &u, op).await?;
                    break;
                }
                Ok(None) => break,
                // Another update is running: wait for it, then send ours (once more at most, twice in all).
                Err(e) if e.kind() == ErrorKind::Conflict && conflicts < 2 => {
                    conflicts += 1;
                    op.waiting(format!("node group {group}: another update is in progress"));
                    self.wait_group_active(cluster, group, op).await?;
                }
                Err(e) => return Err(e),
            }
        }
        self.wait_group_active(cluster, group, op).await?;
        Ok(())
    }

    async fn delete_group(&self, cluster: &str, group: &str, op: &OperationGuard<'_>) -> Result<()> {
        op.step(format!("eks: deleting node group {group}"), 0, None);
        self.delete_once(|| self.api.delete_node_group(cluster, group)).await?;
        self.wait_group_gone(cluster, group, op).await
    }

    // --- delete -----------------------------------------------------------------------------------------

    /// Deletes what wooo created for `name` besides the cluster: network (reverse order) and roles. Whether
    /// anything was there.
    async fn delete_leftovers(&self, name: &str, op: &OperationGuard<'_>) -> Result<bool> {
        let mut found = false;
        let resources = self.read(|| self.api.network_resources(name)).await?;
        found |= !resources.is_empty();
        // NAT gateways first and waited on (their addresses and subnets are in use until they are gone).
        let mut by_kind: Vec<NetworkResource> = resources;
        by_kind.sort_by_key(|r| std::cmp::Reverse(r.kind));
        for r in &by_kind {
            op.step(format!("network: deleting {} {}", r.role, r.id), 0, None);
            self.delete_network(r, op).await?;
            if r.kind == NetworkKind::NatGateway {
                self.wait_nat_gone(name, &r.id, op).await?;
            }
        }
        for role in [shape::node_role_name(name), shape::cluster_role_name(name)] {
            let info = match self.read(|| self.api.get_role(&role)).await {
                Ok(info) => info,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if info.tags.get(CLUSTER_TAG).map(String::as_str) != Some(name) {
                continue; // not ours, whatever its name says
            }
            found = true;
            op.step(format!("iam: deleting role {role}"), 0, None);
            self.delete_once(|| self.api.delete_role(&role)).await?;
        }
        Ok(found)
    }

    /// One network resource; a dependency still in use (ENIs EKS leaves for a while) is waited out.
    async fn delete_network(&self, r: &NetworkResource, op: &OperationGuard<'_>) -> Result<()> {
        let what = format!("{} {} to be deletable", r.role, r.id);
        self.wait
            .poll(PROVIDER, &what, op, || async {
                match self.delete_once(|| self.api.delete_network_resource(r)).await {
                    Ok(()) => Ok(Look::Done(Ok(()))),
                    Err(e) if e.kind() == ErrorKind::Conflict => Ok(Look::Pending(format!("{} in use: {e}", r.id))),
                    Err(e) => Err(e),
                }
            })
            .await
    }

    async fn wait_nat_gone(&self, cluster: &str, id: &str, op: &OperationGuard<'_>) -> Result<()> {
        let what = format!("NAT gateway {id} to be deleted");
        self.wait
            .poll(PROVIDER, &what, op, || async {
                let all = self.read(|| self.api.network_resources(cluster)).await?;
                Ok(match all.iter().find(|r| r.id == id) {
                    None => Look::Done(Ok(())),
                    Some(r) => Look::Pending(format!("NAT gateway {id}: {}", r.state.as_deref().unwrap_or("deleting"))),
                })
            })
            .await
    }

    async fn delete_inner(&self, id: &ClusterId, options: &DeleteOptions, op: &OperationGuard<'_>) -> Result<()> {
        let name = id.as_str();
        let Some(o) = self.observe(name).await? else {
            // Gone: an earlier delete may have stopped half-way; finish it, or say there was nothing.
            return if self.delete_leftovers(name, op).await? {
                Ok(())
            } else {
                Err(Error::not_found(PROVIDER, format!("cluster {name:?}")))
            };
        };
        if !shape::owned(&o.info.tags) && !options.force_unowned {
            return Err(Error::conflict(
                PROVIDER,
                format!(
                    "cluster {name} was not created by wooo (no {} tag); use force_unowned",
                    wooo_core::model::OWNER_TAG
                ),
            ));
        }
        for g in &o.groups {
            op.step(format!("eks: deleting node group {}", g.name), 0, None);
            self.delete_once(|| self.api.delete_node_group(name, &g.name)).await?;
        }
        for g in &o.groups {
            self.wait_group_gone(name, &g.name, op).await?;
        }
        op.step(format!("eks: deleting cluster {name}"), 0, None);
        self.delete_once(|| self.api.delete_cluster(name)).await?;
        self.wait_cluster_gone(name, op).await?;
        self.delete_leftovers(name, op).await?;
        Ok(())
    }
}

fn check_pool_zones(spec: &ClusterSpec, layout: &[SubnetPlan]) -> Result<()> {
    for (i, p) in spec.node_pools.iter().enumerate() {
        for (j, z) in p.zones.iter().enumerate() {
            if !layout.iter().any(|s| &s.zone == z) {
                let zones: Vec<&str> = layout.iter().filter(|s| s.public).map(|s| s.zone.as_str()).collect();
                return Err(Error::invalid_spec(
                    format!("node_pools[{i}].zones[{j}]"),
                    format!("`{z}` is not one of the cluster's zones {zones:?}"),
                ));
            }
        }
    }
    Ok(())
}

/// An idempotency token from what a request does: the same request retried carries the same token.
fn request_token(parts: &[&str]) -> String {
    shape::digest_hex(&parts.join("\u{1f}"), 16)
}

#[async_trait]
impl Provisioner for Eks {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> ProvisionerCapabilities {
        let mut caps = ProvisionerCapabilities::default();
        caps.spot = true;
        caps.multiple_instance_types = true;
        caps.in_place_upgrade = true;
        caps.private_endpoint = true;
        caps.max_node_pools = Some(shape::MAX_NODE_GROUPS);
        caps
    }

    async fn plan(&self, spec: &ClusterSpec) -> Result<ClusterPlan> {
        shape::validate(spec, &self.region)?;
        let observed = self.observe(&spec.name).await?;
        self.preflight(spec).await?;
        self.plan_from(spec, observed.as_ref())
    }

    /// Creates or updates the cluster and waits as EKS requires: the control plane is active before node
    /// groups are created, each upgrade step finishes before the next, a replaced node group's successor is
    /// active before it is deleted. Returns with every node group active. An unchanged spec makes no write.
    async fn apply(&self, spec: &ClusterSpec, progress: &Progress) -> Result<Cluster> {
        shape::validate(spec, &self.region)?;
        let op = OperationGuard::start(progress, "cluster.apply", format!("cluster/{}", spec.name));
        let result = self.apply_inner(spec, &op).await;
        op.finish(result)
    }

    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        let Some(o) = self.observe(id.as_str()).await? else {
            return Err(Error::not_found(PROVIDER, format!("cluster {:?}", id.as_str())));
        };
        Ok(shape::cluster(&self.region, &o.info, &o.groups, jiff::Timestamp::now()))
    }

    async fn list(&self) -> Result<Vec<Cluster>> {
        let mut names = self.read(|| self.api.list_clusters()).await?;
        names.sort();
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            match self.get(&ClusterId::new(name)).await {
                Ok(c) => out.push(c),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Deletes node groups (waited on), then the cluster (waited on), then the network and roles wooo
    /// created for it, in reverse order. Returns when all of it is gone. A delete that stopped half-way is
    /// finished by the next one.
    async fn delete(&self, id: &ClusterId, options: &DeleteOptions) -> Result<()> {
        let op = OperationGuard::start(&options.progress, "cluster.delete", format!("cluster/{id}"));
        let result = self.delete_inner(id, options, &op).await;
        op.finish(result)
    }

    async fn scale_node_pool(&self, id: &ClusterId, node_pool: &str, desired: u32) -> Result<Cluster> {
        let name = id.as_str();
        let Some(o) = self.observe(name).await? else {
            return Err(Error::not_found(PROVIDER, format!("cluster {name:?}")));
        };
        let Some(group) = o.groups.iter().find(|g| shape::pool_name(g) == node_pool) else {
            return Err(Error::not_found(PROVIDER, format!("node pool {node_pool:?} of cluster {name:?}")));
        };
        let pool = shape::observed_pool(group);
        wooo_core::validate::node_pool_scale(&pool, desired)?;
        if group.scaling.desired != desired {
            let update = api::NodeGroupConfigUpdate {
                desired: Some(desired),
                client_request_token: request_token(&["scale", name, &group.name, &desired.to_string()]),
                ..Default::default()
            };
            self.update_once(
                || self.api.update_node_group_config(name, &group.name, &update),
                || async {
                    let now = self.api.describe_node_group(name, &group.name).await?;
                    Ok(now.scaling.desired != desired)
                },
            )
            .await?;
        }
        self.get(id).await
    }

    async fn access(&self, id: &ClusterId) -> Result<ClusterAccess> {
        let name = id.as_str();
        let info = match self.read(|| self.api.describe_cluster(name)).await {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::not_found(PROVIDER, format!("cluster {name:?}")));
            }
            other => other?,
        };
        let (Some(endpoint), Some(ClusterState::Active | ClusterState::Updating)) = (&info.endpoint, &info.status)
        else {
            return Err(Error::conflict(
                PROVIDER,
                format!("cluster {name} is {} and has no endpoint yet", shape::state_word(&info.status)),
            ));
        };
        let token = self.token_source(id)?.token().await?;
        Ok(ClusterAccess {
            cluster: id.clone(),
            endpoint: endpoint.clone(),
            ca_data: info.ca_data.clone(),
            auth: ClusterAuth::Token(token),
        })
    }
}

#[cfg(test)]
#[path = "eks_tests.rs"]
mod tests;
