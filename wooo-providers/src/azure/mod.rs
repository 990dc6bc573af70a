//! Azure: [`Aks`], the AKS [`Provisioner`] (feature `azure`).
//!
//! ```no_run
//! # async fn demo() -> wooo_core::Result<()> {
//! use wooo_core::prelude::*;
//! use wooo_providers::azure::AksBuilder;
//!
//! let aks = AksBuilder::from_env().resource_group("platform").location("westeurope").build()?;
//! let spec: ClusterSpec = from_yaml(&std::fs::read_to_string("examples/specs/aks-cluster.yaml").unwrap())?;
//! println!("{}", aks.plan(&spec).await?);
//! let cluster = aks.ensure(&spec, &WaitOptions::default(), &Progress::none()).await?;
//! let client = wooo_providers::kube::client(&aks.access(&cluster.id).await?).await?;
//! # Ok(()) }
//! ```
//!
//! **API version.** The ARM calls go through `azure_mgmt_containerservice` 0.10 (azure_core 0.10, its
//! `package-preview-2023-01` tag), which speaks Microsoft.ContainerService **2023-01-02-preview**; resource
//! groups use Microsoft.Resources 2021-04-01. The SDK sits behind a private seam (`api.rs`), so a direct ARM
//! client could replace it. The SDK does not follow long-running operations ("only the first response will be
//! fetched"), so wooo follows `Azure-AsyncOperation` (status bodies `InProgress` → `Succeeded` | `Failed` |
//! `Canceled`, the ARM error surfaced) or, without it, `Location` (202 until done) itself.
//!
//! What [`Aks`] does:
//! - **Resource group**: the builder's group is created with the ownership tag
//!   [`OWNER_TAG`](wooo_core::model::OWNER_TAG) and [`CLUSTER_TAG`] when absent, and deleted with the cluster
//!   only when wooo created it for that cluster and no other cluster is left in it.
//! - **Managed cluster** with a system-assigned identity; AKS creates its own VNet and node resource group.
//!   `network.pod_cidr` / `service_cidr` go into the network profile; `endpoint_access: private` makes a
//!   private cluster; `public_access_cidrs` are the authorized IP ranges.
//! - **Agent pools**: the spec's first pool is the System pool (always kept: on-demand, at least one node),
//!   the others User pools; one VM size each, `min < max` turns the cluster autoscaler on (and then owns the
//!   count, [`PlanRules`]), labels, taints, OS disk size and type, zones, the Kubernetes version. Spot pools
//!   are `scaleSetPriority: Spot`, eviction policy Delete, max price −1 (up to the on-demand price); the taint
//!   AKS puts on them, [`SPOT_TAINT`], is reported in the observed spec and never "fixed" by a re-apply. What
//!   cannot change in place (VM size, capacity, disk, zones) replaces a User pool (delete, then create); the
//!   System pool is never replaced.
//! - **Plans and applies** are idempotent: an unchanged spec makes no write. A write that fails with 409 (an
//!   operation in progress) waits for the resource to settle and is sent again; ARM PUTs are declarative, so a
//!   PUT retried after a lost answer converges on the same resource.
//! - **Upgrades** go one minor version at a time: the control plane (a cluster PUT that keeps every pool's
//!   version), then each pool, waiting in between.
//! - **Waits** poll the operation status with a growing, jittered interval ([`Aks::DEFAULT_WAIT`]).
//! - **Errors**: 404 → `NotFound`, 409 → `Conflict`, 429 → `Throttled` with `Retry-After` honoured, 401 →
//!   `Unauthenticated`, 403 → `PermissionDenied`, 400 → `InvalidSpec`; the ARM error code and message are kept.
//! - **Access**: [`Provisioner::access`] returns the kubeconfig of `listClusterUserCredential` (or the admin one,
//!   [`AksBuilder::admin_credentials`]), parsed into a [`ClusterAccess`] that `wooo_providers::kube::client`
//!   uses as it is (a token or client certificate for local-account clusters). For a cluster with managed AAD
//!   (`aadProfile`), whose kubeconfig user is the `kubelogin` exec plugin, the plugin is replaced by a bearer
//!   token for the AKS server application ([`AKS_SERVER_APP`]) from the provisioner's own credential
//!   ([`AksTokenSource`]), so no plugin is needed; that token lives about an hour. [`Aks::kube_client`] gives a
//!   client whose token is refreshed before it expires.
//!
//! Module shape (as `aws/`): `mod.rs` the provider and its trait impl, `builder.rs` [`AksBuilder`], `api.rs`
//! the seam unit tests mock, `sdk.rs` that seam over the SDK, `error.rs` classification, `shape.rs` the pure
//! decisions.

mod api;
mod builder;
mod error;
mod sdk;
mod shape;
mod token;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use wooo_core::model::{ChangeAction, Cluster, ClusterAccess, ClusterAuth, ClusterId, ClusterPlan, ClusterSpec};
use wooo_core::plan::PlanRules;
use wooo_core::progress::{OperationGuard, Progress};
use wooo_core::{DeleteOptions, Error, ErrorKind, Look, Provisioner, ProvisionerCapabilities, Result, WaitOptions};

use self::api::{AksApi, ClusterInfo, Operation, OperationStatus, PoolInfo, PoolMode, PoolPut, ProvisioningState};
pub use self::builder::{AksBuilder, PUBLIC_CLOUD_ENDPOINT};
use self::error::PROVIDER;
pub use self::token::{AKS_SERVER_APP, AksTokenSource};

/// The tag naming the cluster a resource group wooo created belongs to (its value is the cluster name).
pub const CLUSTER_TAG: &str = "wooo.dev/cluster";
/// The taint AKS puts on the nodes of every spot pool (`key=value:effect`).
pub const SPOT_TAINT: &str = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule";

/// The AKS [`Provisioner`]: managed clusters and their agent pools in one subscription, resource group and
/// location. Build it with [`AksBuilder`]; see the [module docs](self) for what it does.
pub struct Aks {
    api: Arc<dyn AksApi>,
    resource_group: String,
    location: String,
    admin: bool,
    wait: WaitOptions,
    attempts: u32,
    /// First pause between attempts of one call; doubles each attempt.
    pause: Duration,
    /// Tokens for AAD-enabled clusters' API servers, from the builder's credential.
    tokens: Option<AksTokenSource>,
}

impl fmt::Debug for Aks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Aks")
            .field("resource_group", &self.resource_group)
            .field("location", &self.location)
            .field("admin", &self.admin)
            .field("wait", &self.wait)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// A cluster and its agent pools as ARM reports them now.
struct Observed {
    info: ClusterInfo,
    pools: Vec<PoolInfo>,
}

impl Aks {
    /// The waits of an AKS provisioner unless [`AksBuilder::wait`] says otherwise: up to 40 minutes, polling
    /// after 30 s, growing to every 60 s, jittered by 10 %. Clusters take 5 to 10 minutes to create.
    pub const DEFAULT_WAIT: WaitOptions = WaitOptions {
        timeout: Duration::from_secs(40 * 60),
        interval: Duration::from_secs(30),
        max_interval: Duration::from_secs(60),
        jitter_percent: 10,
    };

    /// An [`AksBuilder`].
    pub fn builder() -> AksBuilder {
        AksBuilder::new()
    }

    /// The location (region) this provisioner works in.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The resource group this provisioner's clusters live in.
    pub fn resource_group(&self) -> &str {
        &self.resource_group
    }

    #[cfg(test)]
    fn with_api(api: Arc<dyn AksApi>, group: &str, location: &str, wait: WaitOptions) -> Self {
        Self {
            api,
            resource_group: group.to_string(),
            location: location.to_string(),
            admin: false,
            wait,
            attempts: 4,
            pause: Duration::from_millis(100),
            tokens: None,
        }
    }

    /// A `kube::Client` for the cluster: for a cluster with managed AAD, one that authenticates with an Entra ID
    /// token for the AKS server application from this provisioner's credential, refreshed before it expires
    /// ([`AksTokenSource`], no `kubelogin`); for a local-account cluster (or admin credentials), the kubeconfig's
    /// own token or certificate.
    ///
    /// # Errors
    /// As [`Provisioner::access`].
    pub async fn kube_client(&self, id: &ClusterId) -> Result<::kube::Client> {
        let (access, aad) = self.access_of(id).await?;
        match (aad, &self.tokens) {
            (true, Some(tokens)) => crate::kube::client_with_token_source(&access, Arc::new(tokens.clone())).await,
            _ => crate::kube::client(&access).await,
        }
    }

    /// The token source for AAD-enabled clusters' API servers, from this provisioner's credential.
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] when the provisioner has no credential of its own.
    pub fn token_source(&self) -> Result<AksTokenSource> {
        self.tokens.clone().ok_or_else(|| Error::Unauthenticated {
            provider: PROVIDER,
            message: "this AKS provisioner has no credential to make tokens with".into(),
            source: None,
        })
    }

    /// The cluster's access (the kubeconfig's user replaced by an AKS token when the cluster has managed AAD and
    /// the kubeconfig an exec plugin) and whether it has managed AAD.
    async fn access_of(&self, id: &ClusterId) -> Result<(ClusterAccess, bool)> {
        let (group, name) = (self.resource_group.as_str(), id.as_str());
        let info = match self.call(|| self.api.get_cluster(group, name)).await {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::not_found(PROVIDER, format!("cluster {name:?}")));
            }
            other => other?,
        };
        if shape::endpoint(&info).is_none() {
            return Err(Error::conflict(
                PROVIDER,
                format!("cluster {name} is {} and has no endpoint yet", shape::state_word(&info.provisioning_state)),
            ));
        }
        let kubeconfig = self.call(|| self.api.kubeconfig(group, name, self.admin)).await?;
        let mut access = shape::access_from_kubeconfig(id, &kubeconfig)?;
        if info.aad
            && matches!(access.auth, ClusterAuth::Exec { .. })
            && let Some(tokens) = &self.tokens
        {
            access.auth = ClusterAuth::Token(tokens.token().await?);
        }
        Ok((access, info.aad))
    }

    // --- calls ------------------------------------------------------------------------------------------

    /// Sleeps before attempt `attempt + 1`: what ARM asked for (`Retry-After`), else a doubling pause, jittered.
    async fn pause_after(&self, attempt: u32, e: &Error) {
        let backoff = self.pause.saturating_mul(1 << attempt.min(6)).min(Duration::from_secs(20));
        let wait = WaitOptions { jitter_percent: 20, ..self.wait };
        tokio::time::sleep(e.retry_after().unwrap_or_else(|| wait.jittered(backoff))).await;
    }

    /// A call, tried again on retryable failures. Used for reads and for ARM's declarative writes (a PUT of the
    /// same body, a DELETE), which are safe to repeat after a failure that came after their effect.
    async fn call<T, F, Fut>(&self, f: F) -> Result<T>
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

    /// A write that ARM may refuse with 409 while another operation runs on `settle`'s resource: waits for it
    /// to settle, then sends the write again (twice more at most).
    async fn write<F, Fut, S, SF>(&self, what: &str, f: F, settle: S, op: &OperationGuard<'_>) -> Result<Operation>
    where
        F: Fn() -> Fut + Send + Sync,
        Fut: Future<Output = Result<Operation>> + Send,
        S: Fn() -> SF + Send + Sync,
        SF: Future<Output = Result<Option<ProvisioningState>>> + Send,
    {
        let mut conflicts = 0;
        loop {
            match self.call(&f).await {
                Err(e) if e.kind() == ErrorKind::Conflict && conflicts < 2 => {
                    conflicts += 1;
                    op.waiting(format!("{what}: another operation is in progress"));
                    self.wait_settled(what, &settle, op).await?;
                }
                other => return other,
            }
        }
    }

    /// A delete: `NotFound` means done (also on a later attempt, when an earlier one took effect unseen).
    async fn delete_call<F, Fut>(&self, f: F) -> Result<Operation>
    where
        F: Fn() -> Fut + Send + Sync,
        Fut: Future<Output = Result<Operation>> + Send,
    {
        match self.call(f).await {
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Operation::Done),
            other => other,
        }
    }

    // --- waits ------------------------------------------------------------------------------------------

    /// Follows a long-running operation to its end; a failed or canceled one is an error with ARM's message.
    async fn follow(&self, what: &str, operation: Operation, op: &OperationGuard<'_>) -> Result<()> {
        if operation == Operation::Done {
            return Ok(());
        }
        tokio::time::sleep(self.wait.jittered(self.wait.interval)).await;
        self.wait
            .poll(PROVIDER, what, op, || async {
                Ok(match self.call(|| self.api.operation(&operation)).await? {
                    OperationStatus::InProgress => Look::Pending(format!("{what}: in progress")),
                    OperationStatus::Succeeded => Look::Done(Ok(())),
                    OperationStatus::Failed(message) => Look::Done(Err(Error::Provider {
                        provider: PROVIDER,
                        message: format!("{what} failed: {message}"),
                        source: None,
                    })),
                    OperationStatus::Canceled(message) => Look::Done(Err(Error::Provider {
                        provider: PROVIDER,
                        message: format!("{what} was canceled: {message}"),
                        source: None,
                    })),
                })
            })
            .await
    }

    /// Waits until `state` reports a terminal provisioning state (or the resource is gone).
    async fn wait_settled<S, SF>(&self, what: &str, state: &S, op: &OperationGuard<'_>) -> Result<()>
    where
        S: Fn() -> SF + Send + Sync,
        SF: Future<Output = Result<Option<ProvisioningState>>> + Send,
    {
        self.wait
            .poll(PROVIDER, &format!("{what} to settle"), op, || async {
                Ok(match self.call(state).await {
                    Err(e) if e.kind() == ErrorKind::NotFound => Look::Done(Ok(())),
                    Err(e) => return Err(e),
                    Ok(s) if s.as_ref().is_some_and(ProvisioningState::is_terminal) => Look::Done(Ok(())),
                    Ok(s) => Look::Pending(format!("{what}: {}", shape::state_word(&s))),
                })
            })
            .await
    }

    /// A look at the cluster's provisioning state, for [`Aks::write`].
    fn cluster_state(
        &self,
        name: &str,
    ) -> impl Fn() -> futures::future::BoxFuture<'static, Result<Option<ProvisioningState>>> + Send + Sync + use<> {
        let (api, group, name) = (self.api.clone(), self.resource_group.clone(), name.to_string());
        move || {
            let (api, group, name) = (api.clone(), group.clone(), name.clone());
            Box::pin(async move { Ok(api.get_cluster(&group, &name).await?.provisioning_state) })
        }
    }

    async fn wait_cluster_gone(&self, name: &str, op: &OperationGuard<'_>) -> Result<()> {
        let group = self.resource_group.as_str();
        self.wait
            .poll(PROVIDER, &format!("cluster {name} to be deleted"), op, || async {
                match self.call(|| self.api.get_cluster(group, name)).await {
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(Look::Done(Ok(()))),
                    Err(e) => Err(e),
                    Ok(info) => {
                        Ok(Look::Pending(format!("cluster {name}: {}", shape::state_word(&info.provisioning_state))))
                    }
                }
            })
            .await
    }

    // --- observation ------------------------------------------------------------------------------------

    async fn observe(&self, name: &str) -> Result<Option<Observed>> {
        let group = self.resource_group.as_str();
        let info = match self.call(|| self.api.get_cluster(group, name)).await {
            Ok(info) => info,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        // The cluster's own `agentPoolProfiles` carry every pool: no further call is needed.
        let pools = info.pools.clone();
        Ok(Some(Observed { info, pools }))
    }

    fn plan_rules() -> PlanRules {
        PlanRules { autoscaler_owns_desired: true }
    }

    /// The plan from an observation, with pools whose Kubernetes version lags the control plane marked.
    fn plan_from(&self, spec: &ClusterSpec, observed: Option<&Observed>) -> Result<ClusterPlan> {
        let current = observed.map(|o| {
            let mut c = shape::cluster(&o.info, &o.pools, jiff::Timestamp::now());
            shape::normalize(&mut c.spec, spec);
            c
        });
        let mut plan = wooo_core::plan::cluster_with(spec, current.as_ref(), &Self::plan_rules())?;
        if let Some(o) = observed {
            let control_plane = o.info.current_version.clone().or_else(|| o.info.version.clone()).unwrap_or_default();
            for change in &mut plan.changes {
                let Some(pool) = change.target.strip_prefix("node_pool/") else { continue };
                let lags = o.pools.iter().any(|p| {
                    p.name == pool && shape::lags(p.current_version.as_deref().or(p.version.as_deref()), &control_plane)
                });
                if lags && matches!(change.action, ChangeAction::NoOp | ChangeAction::UpdateInPlace) {
                    if change.action == ChangeAction::NoOp {
                        change.reason = format!("nodes lag the control plane's Kubernetes {control_plane}");
                        change.action = ChangeAction::UpdateInPlace;
                    }
                    change.fields.push(format!("{}.kubernetes_version", change.target));
                }
            }
        }
        Ok(plan)
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
        if let Some(o) = &observed
            && plan.is_noop()
        {
            return Ok(shape::cluster(&o.info, &o.pools, jiff::Timestamp::now()));
        }
        match observed {
            None => {
                self.ensure_group(spec, op).await?;
                self.create_cluster(spec, op).await?;
            }
            Some(o) => {
                self.update_cluster(spec, &o, &plan, op).await?;
                self.apply_pools(spec, &plan, op).await?;
            }
        }
        let o = self.observe(name).await?.ok_or_else(|| Error::not_found(PROVIDER, format!("cluster {name:?}")))?;
        Ok(shape::cluster(&o.info, &o.pools, jiff::Timestamp::now()))
    }

    /// The resource group: used when it exists, else created with the ownership and cluster tags.
    async fn ensure_group(&self, spec: &ClusterSpec, op: &OperationGuard<'_>) -> Result<()> {
        let group = self.resource_group.as_str();
        match self.call(|| self.api.get_resource_group(group)).await {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        op.step(format!("aks: creating resource group {group}"), 0, None);
        let tags = shape::owned_tags(spec);
        self.call(|| self.api.create_resource_group(group, &self.location, &tags)).await?;
        Ok(())
    }

    async fn create_cluster(&self, spec: &ClusterSpec, op: &OperationGuard<'_>) -> Result<()> {
        let put = shape::cluster_put(spec);
        let (group, name) = (self.resource_group.as_str(), spec.name.as_str());
        op.step(format!("aks: creating cluster {name} with {} agent pools", put.pools.len()), 0, None);
        let state = self.cluster_state(name);
        let operation =
            self.write(&format!("cluster {name}"), || self.api.put_cluster(group, &put), &state, op).await?;
        self.follow(&format!("creation of cluster {name}"), operation, op).await
    }

    /// The cluster PUT that keeps the live pools as they are, with `version` for the control plane.
    fn keep_pools_put(&self, spec: &ClusterSpec, o: &Observed, version: &str) -> api::ClusterPut {
        let mut put = shape::cluster_put(spec);
        put.version = version.to_string();
        put.dns_prefix = o.info.dns_prefix.clone().unwrap_or_else(|| spec.name.clone());
        put.pools = o.pools.iter().map(shape::live_put).collect();
        put
    }

    /// In-place changes of the cluster: tags and API access (one PUT), then version steps, each followed by the
    /// pools.
    async fn update_cluster(
        &self,
        spec: &ClusterSpec,
        o: &Observed,
        plan: &ClusterPlan,
        op: &OperationGuard<'_>,
    ) -> Result<()> {
        let (group, name) = (self.resource_group.as_str(), spec.name.as_str());
        let fields = &plan.changes[0].fields;
        let running = o.info.current_version.clone().or_else(|| o.info.version.clone()).unwrap_or_default();
        let state = self.cluster_state(name);
        if fields.iter().any(|f| f.starts_with("tags") || f.starts_with("network.")) {
            let put = self.keep_pools_put(spec, o, &running);
            op.step(format!("aks: updating cluster {name}"), 0, None);
            let operation =
                self.write(&format!("cluster {name}"), || self.api.put_cluster(group, &put), &state, op).await?;
            self.follow(&format!("update of cluster {name}"), operation, op).await?;
        }
        let mut current = Observed { info: o.info.clone(), pools: o.pools.clone() };
        for step in shape::upgrade_steps(&running, &spec.kubernetes_version) {
            let put = self.keep_pools_put(spec, &current, &step);
            op.step(format!("aks: upgrading control plane of {name} to {step}"), 0, None);
            let operation =
                self.write(&format!("cluster {name}"), || self.api.put_cluster(group, &put), &state, op).await?;
            self.follow(&format!("upgrade of cluster {name} to {step}"), operation, op).await?;
            current =
                self.observe(name).await?.ok_or_else(|| Error::not_found(PROVIDER, format!("cluster {name:?}")))?;
            for pool in current.pools.clone() {
                if !shape::lags(pool.current_version.as_deref().or(pool.version.as_deref()), &step) {
                    continue;
                }
                let mut put = shape::live_put(&pool);
                put.version = Some(step.clone());
                op.step(format!("aks: upgrading agent pool {} to {step}", pool.name), 0, None);
                self.put_pool(name, &put, op).await?;
            }
            current =
                self.observe(name).await?.ok_or_else(|| Error::not_found(PROVIDER, format!("cluster {name:?}")))?;
        }
        Ok(())
    }

    async fn put_pool(&self, cluster: &str, put: &PoolPut, op: &OperationGuard<'_>) -> Result<()> {
        let group = self.resource_group.as_str();
        let state = self.cluster_state(cluster);
        let what = format!("agent pool {}", put.name);
        let operation = self.write(&what, || self.api.put_pool(group, cluster, put), &state, op).await?;
        self.follow(&format!("{what} of cluster {cluster}"), operation, op).await
    }

    async fn delete_pool(&self, cluster: &str, pool: &str, op: &OperationGuard<'_>) -> Result<()> {
        let group = self.resource_group.as_str();
        op.step(format!("aks: deleting agent pool {pool}"), 0, None);
        let operation = self.delete_call(|| self.api.delete_pool(group, cluster, pool)).await?;
        self.follow(&format!("deletion of agent pool {pool}"), operation, op).await
    }

    /// Creates, updates, replaces and deletes agent pools as the plan says, each waited on.
    async fn apply_pools(&self, spec: &ClusterSpec, plan: &ClusterPlan, op: &OperationGuard<'_>) -> Result<()> {
        let name = spec.name.as_str();
        let live =
            self.observe(name).await?.ok_or_else(|| Error::not_found(PROVIDER, format!("cluster {name:?}")))?.pools;
        let version_of = |pool: &str| {
            live.iter()
                .find(|p| p.name == pool)
                .and_then(|p| p.version.clone())
                .unwrap_or(spec.kubernetes_version.clone())
        };
        for change in &plan.changes[1..] {
            let Some(pool) = change.target.strip_prefix("node_pool/") else { continue };
            let index = spec.node_pools.iter().position(|p| p.name == pool);
            match (change.action, index) {
                (ChangeAction::Delete, _) => {
                    let is_system = live.iter().any(|p| p.name == pool && p.mode == PoolMode::System);
                    let systems = live.iter().filter(|p| p.mode == PoolMode::System).count();
                    if is_system && systems <= 1 {
                        return Err(Error::conflict(
                            PROVIDER,
                            format!("agent pool {pool} is the cluster's only system pool"),
                        ));
                    }
                    self.delete_pool(name, pool, op).await?;
                }
                (ChangeAction::Create, Some(i)) => {
                    let put = shape::pool_put(spec, i, &version_of(pool), true);
                    op.step(format!("aks: creating agent pool {pool}"), 0, None);
                    self.put_pool(name, &put, op).await?;
                }
                (ChangeAction::Replace, Some(i)) => {
                    if i == 0 || live.iter().any(|p| p.name == pool && p.mode == PoolMode::System) {
                        return Err(Error::conflict(
                            PROVIDER,
                            format!(
                                "the system pool {pool} would be replaced ({}); AKS keeps it",
                                change.fields.join(", ")
                            ),
                        ));
                    }
                    self.delete_pool(name, pool, op).await?;
                    op.step(format!("aks: creating agent pool {pool} again"), 0, None);
                    self.put_pool(name, &shape::pool_put(spec, i, &version_of(pool), true), op).await?;
                }
                (ChangeAction::UpdateInPlace, Some(i)) => {
                    let Some(have) = live.iter().find(|p| p.name == pool) else { continue };
                    let mut put = shape::pool_put(spec, i, &version_of(pool), false);
                    put.mode = have.mode;
                    if !shape::pool_differs(have, &put) {
                        continue; // only the version lagged, and the upgrade steps saw to it
                    }
                    op.step(format!("aks: updating agent pool {pool}"), 0, None);
                    self.put_pool(name, &put, op).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    // --- delete -----------------------------------------------------------------------------------------

    /// Deletes the resource group when wooo made it for `name` and no cluster is left in it. Whether it did.
    async fn delete_group_if_ours(&self, name: &str, op: &OperationGuard<'_>) -> Result<bool> {
        let group = self.resource_group.as_str();
        let info = match self.call(|| self.api.get_resource_group(group)).await {
            Ok(info) => info,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        if !shape::group_made_for(&info.tags, name) {
            return Ok(false);
        }
        if !self.call(|| self.api.list_clusters(group)).await?.is_empty() {
            op.step(format!("aks: keeping resource group {group}: other clusters are in it"), 0, None);
            return Ok(false);
        }
        op.step(format!("aks: deleting resource group {group}"), 0, None);
        let operation = self.delete_call(|| self.api.delete_resource_group(group)).await?;
        self.follow(&format!("deletion of resource group {group}"), operation, op).await?;
        Ok(true)
    }

    async fn delete_inner(&self, id: &ClusterId, options: &DeleteOptions, op: &OperationGuard<'_>) -> Result<()> {
        let (group, name) = (self.resource_group.as_str(), id.as_str());
        let Some(o) = self.observe(name).await? else {
            // Gone: an earlier delete may have stopped before the resource group; finish it, or say there was nothing.
            return if self.delete_group_if_ours(name, op).await? {
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
        // User pools first (their nodes drain while the system pool still runs), then the cluster with its
        // system pools, then the resource group wooo made for it.
        for p in o.pools.iter().filter(|p| p.mode == PoolMode::User) {
            self.delete_pool(name, &p.name, op).await?;
        }
        op.step(format!("aks: deleting cluster {name}"), 0, None);
        let operation = self.delete_call(|| self.api.delete_cluster(group, name)).await?;
        self.follow(&format!("deletion of cluster {name}"), operation, op).await?;
        self.wait_cluster_gone(name, op).await?;
        self.delete_group_if_ours(name, op).await?;
        Ok(())
    }
}

#[async_trait]
impl Provisioner for Aks {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> ProvisionerCapabilities {
        let mut caps = ProvisionerCapabilities::default();
        caps.spot = true;
        caps.multiple_instance_types = false;
        caps.in_place_upgrade = true;
        caps.private_endpoint = true;
        caps.max_node_pools = Some(shape::MAX_POOLS);
        caps
    }

    async fn plan(&self, spec: &ClusterSpec) -> Result<ClusterPlan> {
        shape::validate(spec, &self.location)?;
        let observed = self.observe(&spec.name).await?;
        self.plan_from(spec, observed.as_ref())
    }

    /// Creates or updates the cluster and waits for each operation ARM runs. Returns with every pool
    /// provisioned. An unchanged spec makes no write.
    async fn apply(&self, spec: &ClusterSpec, progress: &Progress) -> Result<Cluster> {
        shape::validate(spec, &self.location)?;
        let op = OperationGuard::start(progress, "cluster.apply", format!("cluster/{}", spec.name));
        let result = self.apply_inner(spec, &op).await;
        op.finish(result)
    }

    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        let Some(o) = self.observe(id.as_str()).await? else {
            return Err(Error::not_found(PROVIDER, format!("cluster {:?}", id.as_str())));
        };
        Ok(shape::cluster(&o.info, &o.pools, jiff::Timestamp::now()))
    }

    async fn list(&self) -> Result<Vec<Cluster>> {
        let group = self.resource_group.as_str();
        let mut infos = match self.call(|| self.api.list_clusters(group)).await {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()), // no resource group yet
            other => other?,
        };
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(infos.iter().map(|i| shape::cluster(i, &i.pools, jiff::Timestamp::now())).collect())
    }

    /// Deletes User pools, then the cluster (waited on until it is gone), then the resource group when wooo
    /// created it for this cluster and it is empty. A delete that stopped half-way is finished by the next one.
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
        let Some(pool) = o.pools.iter().find(|p| p.name == node_pool) else {
            return Err(Error::not_found(PROVIDER, format!("node pool {node_pool:?} of cluster {name:?}")));
        };
        wooo_core::validate::node_pool_scale(&shape::observed_pool(pool), desired)?;
        if pool.count != desired {
            let mut put = shape::live_put(pool);
            put.count = Some(desired);
            let progress = Progress::none();
            let op = OperationGuard::start(&progress, "cluster.scale", format!("cluster/{name}"));
            let result = self.put_pool(name, &put, &op).await;
            op.finish(result)?;
        }
        self.get(id).await
    }

    async fn access(&self, id: &ClusterId) -> Result<ClusterAccess> {
        self.access_of(id).await.map(|(access, _)| access)
    }
}

#[cfg(test)]
#[path = "aks_tests.rs"]
mod tests;
