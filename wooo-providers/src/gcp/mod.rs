//! Google Cloud: [`Gke`], the GKE [`Provisioner`] (feature `gcp`).
//!
//! ```no_run
//! # async fn demo() -> wooo_core::Result<()> {
//! use wooo_core::prelude::*;
//! use wooo_providers::gcp::GkeBuilder;
//!
//! let gke = GkeBuilder::from_env().project("my-project").location("europe-west1").build().await?;
//! let spec: ClusterSpec = from_yaml(&std::fs::read_to_string("examples/specs/gke-cluster.yaml").unwrap())?;
//! println!("{}", gke.plan(&spec).await?);
//! let cluster = gke.ensure(&spec, &WaitOptions::default(), &Progress::none()).await?;
//! let client = gke.kube_client(&cluster.id).await?; // no gke-gcloud-auth-plugin needed
//! # Ok(()) }
//! ```
//!
//! What [`Gke`] does:
//! - **Location**: a region gives a regional cluster (control plane and nodes over the region's zones, three by
//!   default), a zone a zonal cluster. The spec's `region` is the location's region.
//! - **Network**: the cluster runs in `network.network_id` (else the project's `default` network) and
//!   `network.subnet_ids[0]` when given; `pod_cidr` / `service_cidr` set the alias IP ranges;
//!   `endpoint_access: private` makes a private cluster; `public_access_cidrs` become master authorized
//!   networks. wooo creates no VPC network on Google Cloud.
//! - **Labels**: GKE labels take lower-case letters, digits, `_` and `-` only, so the spec's `tags` are
//!   validated against that charset (an error names the tag) and wooo's own keys are encoded
//!   (`wooo.dev/managed-by` is sent as `wooo-dev_managed-by`, and decoded when read back).
//! - **Node pools** are named `<pool>-<generation>`: the generation digests what wooo does not change in place
//!   (machine type, capacity, disk, zones), so such a change creates the new pool, waits for it, then deletes
//!   the old one. Labels, taints and the autoscaling bounds change in place. `min` / `max` are the pool's total
//!   bounds (`totalMinNodeCount` / `totalMaxNodeCount`); pools made elsewhere with per-zone bounds are read
//!   back as per-zone bounds times their zones. The desired size is set at creation only (per zone, rounded
//!   up): afterwards it belongs to the cluster autoscaler. `capacity: spot` makes a Spot pool (`spot: true`);
//!   a pool made with the older `preemptible: true` reads back as spot. GKE's own node labels
//!   (`cloud.google.com/gke-spot`, …) are reported and kept on every update, never "fixed" by a re-apply.
//! - **Operations**: every write returns a GKE operation that is polled until `DONE`; one that ends in error
//!   surfaces its `google.rpc.Status` as a wooo error (a quota as a non-retryable [`Error::Provider`] saying so).
//!   A write refused because another operation is running on the cluster (`FAILED_PRECONDITION`) waits for
//!   that operation, then is sent again.
//! - **Upgrades** go one minor version at a time: the control plane (`updateMaster`), then each node pool.
//! - **Waits** poll with a growing, jittered interval ([`Gke::DEFAULT_WAIT`]: 15 s up to 45 s), about 15
//!   operation reads for a 10-minute creation.
//! - **Retries**: each call is tried again on throttling and transient failures; a create only after looking
//!   whether the failed attempt took effect, so a lost answer never makes a second cluster or pool. A
//!   cluster an unseen attempt made (a lost answer, then `ALREADY_EXISTS`) is adopted when it carries wooo's
//!   ownership label (its operation waited for, then converged to the spec); one that does not is refused
//!   with [`Error::Conflict`] and left untouched.
//! - **Access**: [`Provisioner::access`] returns the endpoint, the CA and a Google OAuth access token from the
//!   same credentials; [`Gke::kube_client`] a `kube::Client` that refreshes it ([`GkeTokenSource`]).
//!
//! Module shape (as `aws`): `mod.rs` the provider type and its trait impls, `builder.rs` [`GkeBuilder`],
//! `api.rs` the thin seam over the client library that unit tests mock, `sdk.rs` that seam over
//! google-cloud-container-v1, `error.rs` error classification (once), `shape.rs` the pure decisions,
//! `token.rs` the bearer token.

mod api;
mod builder;
mod error;
mod sdk;
mod shape;
mod token;

#[cfg(feature = "testing")]
pub mod testing;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use wooo_core::model::{
    ChangeAction, Cluster, ClusterAccess, ClusterAuth, ClusterId, ClusterPlan, ClusterSpec, NodePoolSpec,
};
use wooo_core::plan::PlanRules;
use wooo_core::progress::{OperationGuard, Progress};
use wooo_core::{DeleteOptions, Error, ErrorKind, Look, Provisioner, ProvisionerCapabilities, Result, WaitOptions};

use self::api::{ClusterInfo, GkeApi, NodePoolInfo, OperationInfo, OperationState, State};
pub use self::builder::{GkeBuilder, ReleaseChannel};
use self::error::PROVIDER;
use self::shape::Location;
pub use self::token::GkeTokenSource;

/// The label (decoded; sent as `wooo-dev_cluster`) naming the wooo cluster a GKE resource belongs to.
pub const CLUSTER_LABEL: &str = "wooo.dev/cluster";

/// The GKE [`Provisioner`]: clusters and node pools in one project and location. Build it with
/// [`GkeBuilder`]; see the [module docs](self) for what it does.
pub struct Gke {
    api: Arc<dyn GkeApi>,
    project: String,
    location: Location,
    release_channel: ReleaseChannel,
    tokens: Option<GkeTokenSource>,
    wait: WaitOptions,
    attempts: u32,
    /// First pause between attempts of one call; doubles each attempt.
    pause: Duration,
}

impl fmt::Debug for Gke {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gke")
            .field("project", &self.project)
            .field("location", &self.location.name)
            .field("release_channel", &self.release_channel)
            .field("wait", &self.wait)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// How a create ended: a cluster of this attempt, or one an earlier attempt made unseen, adopted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Created {
    New,
    Adopted,
}

/// A cluster and its node pools as GKE reports them now.
struct Observed {
    info: ClusterInfo,
    pools: Vec<NodePoolInfo>,
}

impl Gke {
    /// The waits of a GKE provisioner unless [`GkeBuilder::wait`] says otherwise: up to 45 minutes, polling
    /// after 15 s, growing to every 45 s, jittered by 10 %. Clusters take 5 to 10 minutes to create, node pools
    /// 2 to 5, an upgrade of the control plane 10 to 20.
    pub const DEFAULT_WAIT: WaitOptions = WaitOptions {
        timeout: Duration::from_secs(45 * 60),
        interval: Duration::from_secs(15),
        max_interval: Duration::from_secs(45),
        jitter_percent: 10,
    };

    /// A [`GkeBuilder`].
    pub fn builder() -> GkeBuilder {
        GkeBuilder::new()
    }

    /// The project this provisioner works in.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The location (region or zone) this provisioner works in.
    pub fn location(&self) -> &str {
        &self.location.name
    }

    /// A `kube::Client` for the cluster that authenticates with a Google OAuth access token from this
    /// provisioner's credentials, refreshed before it expires ([`GkeTokenSource`]): no
    /// `gke-gcloud-auth-plugin` is needed.
    ///
    /// # Errors
    /// As [`Provisioner::access`].
    pub async fn kube_client(&self, id: &ClusterId) -> Result<::kube::Client> {
        let access = self.access(id).await?;
        crate::kube::client_with_token_source(&access, Arc::new(self.token_source()?)).await
    }

    /// The token source for clusters' API servers, from this provisioner's credentials.
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] when the provisioner was built without credentials (anonymous, for tests).
    pub fn token_source(&self) -> Result<GkeTokenSource> {
        self.tokens.clone().ok_or_else(|| Error::Unauthenticated {
            provider: PROVIDER,
            message: "this GKE provisioner has no credentials to make access tokens with".into(),
            source: None,
        })
    }

    #[cfg(test)]
    fn with_api(api: Arc<dyn GkeApi>, location: &str, wait: WaitOptions) -> Self {
        Self {
            api,
            project: "p".into(),
            location: shape::location(location).expect("a location"),
            release_channel: ReleaseChannel::Default,
            tokens: None,
            wait,
            attempts: 4,
            pause: Duration::from_millis(100),
        }
    }

    // --- calls ------------------------------------------------------------------------------------------

    /// Sleeps before attempt `attempt + 1`: what Google asked for, else a doubling pause, jittered.
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

    /// A read where `NotFound` is `None`.
    async fn find<T, F, Fut>(&self, f: F) -> Result<Option<T>>
    where
        F: Fn() -> Fut + Send + Sync,
        Fut: Future<Output = Result<T>> + Send,
        T: Send,
    {
        match self.read(f).await {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A write that starts an operation, sent once: after a retryable failure it is sent again only if
    /// `still_needed` says the failed attempt did not take effect; while another operation runs on `cluster`
    /// (`FAILED_PRECONDITION`) that one is waited for first. `None` when an earlier attempt took effect unseen.
    async fn write<A, AF, N, NF>(
        &self,
        cluster: &str,
        op: &OperationGuard<'_>,
        write: A,
        still_needed: N,
    ) -> Result<Option<OperationInfo>>
    where
        A: Fn() -> AF + Send + Sync,
        AF: Future<Output = Result<OperationInfo>> + Send,
        N: Fn() -> NF + Send + Sync,
        NF: Future<Output = Result<bool>> + Send,
    {
        let mut attempt = 1;
        let mut conflicts = 0;
        loop {
            match write().await {
                Ok(started) => return Ok(Some(started)),
                Err(e) if (e.is_retryable() || e.kind() == ErrorKind::AlreadyExists) && attempt < self.attempts => {
                    self.pause_after(attempt, &e).await;
                    attempt += 1;
                }
                Err(e) if e.kind() == ErrorKind::Conflict && conflicts < 3 => {
                    conflicts += 1;
                    op.waiting(format!("cluster {cluster}: another operation is running"));
                    self.wait_running_operations(cluster, op).await?;
                }
                Err(e) => return Err(e),
            }
            if !self.read(&still_needed).await? {
                return Ok(None);
            }
        }
    }

    // --- observation ------------------------------------------------------------------------------------

    async fn observe(&self, name: &str) -> Result<Option<Observed>> {
        let Some(info) = self.find(|| self.api.get_cluster(name)).await? else { return Ok(None) };
        let mut pools = self.read(|| self.api.list_node_pools(name)).await?;
        pools.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Some(Observed { info, pools }))
    }

    fn plan_rules() -> PlanRules {
        PlanRules { autoscaler_owns_desired: true }
    }

    /// The plan from an observation, plus the node pools whose Kubernetes version lags the control plane.
    fn plan_from(&self, spec: &ClusterSpec, observed: Option<&Observed>) -> Result<ClusterPlan> {
        let current = observed.map(|o| {
            let mut c = shape::cluster(&self.location.region, &o.info, &o.pools, jiff::Timestamp::now());
            shape::normalize(&mut c.spec, spec);
            c
        });
        let mut plan = wooo_core::plan::cluster_with(spec, current.as_ref(), &Self::plan_rules())?;
        if let Some(o) = observed {
            let master = shape::minor(&o.info.master_version);
            for change in &mut plan.changes {
                let Some(pool) = change.target.strip_prefix("node_pool/") else { continue };
                let lags = o.pools.iter().any(|p| shape::pool_name(p) == pool && shape::minor(&p.version) != master);
                if lags && matches!(change.action, ChangeAction::NoOp | ChangeAction::UpdateInPlace) {
                    if change.action == ChangeAction::NoOp {
                        change.reason = format!("nodes lag the control plane's Kubernetes {master}");
                        change.action = ChangeAction::UpdateInPlace;
                    }
                    change.fields.push(format!("{}.kubernetes_version", change.target));
                }
            }
        }
        Ok(plan)
    }

    // --- waits ------------------------------------------------------------------------------------------

    /// Polls an operation until `DONE`; its error, if it ended with one, as a wooo error naming `field`.
    async fn wait_operation(&self, started: &OperationInfo, field: &str, op: &OperationGuard<'_>) -> Result<()> {
        let what = format!("operation {} ({})", started.name, started.kind);
        let mut first = Some(started.clone());
        self.wait
            .poll(PROVIDER, &what, op, || {
                let known = first.take();
                async {
                    // The first look is the operation the write returned: no read until a poll interval.
                    let o = match known {
                        Some(o) => o,
                        None => self.read(|| self.api.get_operation(&started.name)).await?,
                    };
                    Ok(match o.state {
                        OperationState::Done => Look::Done(match &o.error {
                            Some(e) => Err(error::operation_error(&what, field, e.code, &e.message)),
                            None => Ok(()),
                        }),
                        state => Look::Pending(format!("{what}: {}", format!("{state:?}").to_lowercase())),
                    })
                }
            })
            .await
    }

    /// Waits for every operation running on `cluster` to finish (whatever their outcome).
    async fn wait_running_operations(&self, cluster: &str, op: &OperationGuard<'_>) -> Result<()> {
        let all = self.read(|| self.api.list_operations()).await?;
        let running = all.into_iter().filter(|(o, target)| {
            o.state != OperationState::Done
                && (target.ends_with(&format!("/clusters/{cluster}"))
                    || target.contains(&format!("/clusters/{cluster}/")))
        });
        for (o, _) in running {
            match self.wait_operation(&o, "name", op).await {
                Err(e) if e.kind() == ErrorKind::Timeout => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Polls a cluster until it is RUNNING (after a create whose operation was not seen).
    async fn wait_cluster_running(&self, name: &str, op: &OperationGuard<'_>) -> Result<ClusterInfo> {
        let what = format!("cluster {name} to be running");
        self.wait
            .poll(PROVIDER, &what, op, || async {
                let info = self.read(|| self.api.get_cluster(name)).await?;
                Ok(match &info.status {
                    Some(State::Running) => Look::Done(Ok(info)),
                    Some(State::Error | State::Degraded) => Look::Done(Err(Error::Provider {
                        provider: PROVIDER,
                        message: format!("cluster {name} failed: {}", info.status_message),
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
                Ok(match self.find(|| self.api.get_cluster(name)).await? {
                    None => Look::Done(Ok(())),
                    Some(info) => Look::Pending(format!("cluster {name}: {}", shape::state_word(&info.status))),
                })
            })
            .await
    }

    // --- apply ------------------------------------------------------------------------------------------

    async fn apply_inner(&self, spec: &ClusterSpec, op: &OperationGuard<'_>) -> Result<Cluster> {
        let name = spec.name.as_str();
        let observed = self.observe(name).await?;
        if let Some(o) = &observed
            && !shape::owned(&shape::decode_labels(&o.info.resource_labels))
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
        if plan.is_noop() {
            let o = observed.expect("a no-op plan has a cluster");
            return Ok(shape::cluster(&self.location.region, &o.info, &o.pools, jiff::Timestamp::now()));
        }
        match observed {
            None => {
                if self.create_cluster(spec, op).await? == Created::Adopted {
                    // The cluster an unseen earlier attempt made: converge it as a re-apply would.
                    let o = self
                        .observe(name)
                        .await?
                        .ok_or_else(|| Error::not_found(PROVIDER, format!("cluster {name:?}")))?;
                    let plan = self.plan_from(spec, Some(&o))?;
                    if !plan.is_noop() {
                        self.update_cluster(spec, &o, &plan, op).await?;
                        self.apply_pools(spec, &plan, op).await?;
                    }
                }
            }
            Some(o) => {
                self.update_cluster(spec, &o, &plan, op).await?;
                self.apply_pools(spec, &plan, op).await?;
            }
        }
        let o = self.observe(name).await?.ok_or_else(|| Error::not_found(PROVIDER, format!("cluster {name:?}")))?;
        Ok(shape::cluster(&self.location.region, &o.info, &o.pools, jiff::Timestamp::now()))
    }

    /// Creates the cluster, or adopts the one an earlier attempt made unseen (a lost answer, then
    /// `ALREADY_EXISTS` on the retry) when it carries wooo's ownership label; a cluster of that name that is
    /// not wooo's (made by someone else between the look and the create) is refused with
    /// [`Error::Conflict`], untouched.
    async fn create_cluster(&self, spec: &ClusterSpec, op: &OperationGuard<'_>) -> Result<Created> {
        let name = spec.name.as_str();
        let input = shape::new_cluster(spec, &self.location, self.release_channel.api_name());
        op.step(format!("gke: creating cluster {name} with {} node pools", input.node_pools.len()), 0, None);
        let started = self
            .write(
                name,
                op,
                || self.api.create_cluster(&input),
                || async {
                    match self.api.get_cluster(name).await {
                        Ok(_) => Ok(false),
                        Err(e) if e.kind() == ErrorKind::NotFound => Ok(true),
                        Err(e) => Err(e),
                    }
                },
            )
            .await?;
        let created = match started {
            Some(started) => {
                self.wait_operation(&started, "node_pools", op).await?;
                Created::New
            }
            None => {
                let found = self.read(|| self.api.get_cluster(name)).await?;
                if !shape::owned(&shape::decode_labels(&found.resource_labels)) {
                    return Err(Error::conflict(
                        PROVIDER,
                        format!(
                            "cluster {name} already exists and was not created by wooo (no {} label); it was \
                             left untouched: delete it or choose another name",
                            shape::encode_key(wooo_core::model::OWNER_TAG)
                        ),
                    ));
                }
                op.step(format!("gke: adopting cluster {name}, made by an earlier attempt"), 0, None);
                self.wait_running_operations(name, op).await?;
                self.wait_cluster_running(name, op).await?;
                Created::Adopted
            }
        };
        op.step(format!("gke: cluster {name} is running"), 1, None);
        Ok(created)
    }

    /// In-place changes of the control plane: labels, then version steps (each followed by the node pools).
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
            return Err(Error::unsupported(
                PROVIDER,
                format!("changing the endpoint or authorized networks of cluster {name} ({})", fields.join(", ")),
            ));
        }
        if fields.iter().any(|f| f.starts_with("tags")) {
            // wooo's bookkeeping labels stay; the user's are the spec's.
            let mut want = shape::owned_labels(spec);
            for (k, v) in shape::decode_labels(&o.info.resource_labels) {
                if k.starts_with("wooo.dev/") && !want.contains_key(&k) {
                    want.insert(k, v);
                }
            }
            let want = shape::encode_labels(&want);
            op.step(format!("gke: labels of cluster {name}"), 0, None);
            let started = self
                .write(
                    name,
                    op,
                    || self.api.set_resource_labels(name, &want, &o.info.label_fingerprint),
                    || async { Ok(self.api.get_cluster(name).await?.resource_labels != want) },
                )
                .await?;
            if let Some(s) = started {
                self.wait_operation(&s, "tags", op).await?;
            }
        }
        for step in shape::upgrade_steps(&o.info.master_version, &spec.kubernetes_version) {
            op.step(format!("gke: upgrading the control plane of {name} to {step}"), 0, None);
            let started = self
                .write(
                    name,
                    op,
                    || self.api.update_master(name, &step),
                    || async { Ok(shape::minor(&self.api.get_cluster(name).await?.master_version) != step) },
                )
                .await?;
            if let Some(s) = started {
                self.wait_operation(&s, "kubernetes_version", op).await?;
            }
            self.upgrade_pools(name, &step, op).await?;
        }
        Ok(())
    }

    /// Brings every node pool of `cluster` to the control plane's minor `version`, one pool after the other.
    async fn upgrade_pools(&self, cluster: &str, version: &str, op: &OperationGuard<'_>) -> Result<()> {
        let pools = self.read(|| self.api.list_node_pools(cluster)).await?;
        for p in pools.iter().filter(|p| shape::minor(&p.version) != version) {
            op.step(format!("gke: upgrading node pool {} to {version}", p.name), 0, None);
            let update = api::NodePoolUpdate {
                version: version.to_string(),
                image_type: p.image_type.clone(),
                labels: None,
                taints: None,
            };
            let started = self
                .write(
                    cluster,
                    op,
                    || self.api.update_node_pool(cluster, &p.name, &update),
                    || async { Ok(shape::minor(&self.api.get_node_pool(cluster, &p.name).await?.version) != version) },
                )
                .await?;
            if let Some(s) = started {
                self.wait_operation(&s, "kubernetes_version", op).await?;
            }
        }
        Ok(())
    }

    /// Creates, updates, replaces and deletes node pools as the plan says (new capacity before old goes).
    async fn apply_pools(&self, spec: &ClusterSpec, plan: &ClusterPlan, op: &OperationGuard<'_>) -> Result<()> {
        let cluster = spec.name.as_str();
        let master = shape::minor(&self.read(|| self.api.get_cluster(cluster)).await?.master_version);
        for change in &plan.changes[1..] {
            let Some(pool_name) = change.target.strip_prefix("node_pool/") else { continue };
            let live: Vec<NodePoolInfo> = self
                .read(|| self.api.list_node_pools(cluster))
                .await?
                .into_iter()
                .filter(|p| shape::pool_name(p) == pool_name)
                .collect();
            let Some(pool) = spec.node_pool(pool_name) else {
                for p in &live {
                    self.delete_pool(cluster, &p.name, op).await?;
                }
                continue;
            };
            if change.action == ChangeAction::NoOp {
                continue;
            }
            let want = shape::gke_pool_name(pool);
            match live.iter().find(|p| p.name == want) {
                None => {
                    let index = spec.node_pools.iter().position(|p| p.name == pool.name).unwrap_or(0);
                    self.create_pool(cluster, (index, pool), &master, op).await?
                }
                Some(current) => self.update_pool(cluster, current, pool, &master, op).await?,
            }
            for old in live.iter().filter(|p| p.name != want) {
                self.delete_pool(cluster, &old.name, op).await?;
            }
        }
        Ok(())
    }

    async fn create_pool(
        &self,
        cluster: &str,
        (index, pool): (usize, &NodePoolSpec),
        version: &str,
        op: &OperationGuard<'_>,
    ) -> Result<()> {
        let input = shape::new_node_pool(pool, &self.location, version);
        let field = format!("node_pools[{index}]");
        op.step(format!("gke: creating node pool {} ({})", input.name, pool.capacity), 0, None);
        let started = self
            .write(
                cluster,
                op,
                || self.api.create_node_pool(cluster, &input),
                || async {
                    match self.api.get_node_pool(cluster, &input.name).await {
                        Ok(_) => Ok(false),
                        Err(e) if e.kind() == ErrorKind::NotFound => Ok(true),
                        Err(e) => Err(e),
                    }
                },
            )
            .await?;
        if let Some(s) = started {
            self.wait_operation(&s, &field, op).await?;
        }
        Ok(())
    }

    /// Labels, taints, autoscaling bounds and the version of a pool, each only when it differs.
    async fn update_pool(
        &self,
        cluster: &str,
        live: &NodePoolInfo,
        pool: &NodePoolSpec,
        master: &str,
        op: &OperationGuard<'_>,
    ) -> Result<()> {
        let name = live.name.as_str();
        if let Some(update) = shape::node_pool_update(live, pool) {
            op.step(format!("gke: updating labels and taints of node pool {name}"), 0, None);
            let started = self
                .write(
                    cluster,
                    op,
                    || self.api.update_node_pool(cluster, name, &update),
                    || async {
                        Ok(shape::node_pool_update(&self.api.get_node_pool(cluster, name).await?, pool).is_some())
                    },
                )
                .await?;
            if let Some(s) = started {
                self.wait_operation(&s, "node_pools", op).await?;
            }
        }
        if let Some((min, max)) = shape::autoscaling_change(live, pool) {
            op.step(format!("gke: autoscaling of node pool {name}: {min} to {max}"), 0, None);
            let started = self
                .write(
                    cluster,
                    op,
                    || self.api.set_autoscaling(cluster, name, min, max),
                    || async {
                        Ok(shape::autoscaling_change(&self.api.get_node_pool(cluster, name).await?, pool).is_some())
                    },
                )
                .await?;
            if let Some(s) = started {
                self.wait_operation(&s, "node_pools", op).await?;
            }
        }
        if shape::minor(&live.version) != master {
            self.upgrade_pools(cluster, master, op).await?;
        }
        Ok(())
    }

    async fn delete_pool(&self, cluster: &str, name: &str, op: &OperationGuard<'_>) -> Result<()> {
        op.step(format!("gke: deleting node pool {name}"), 0, None);
        let started = self
            .write(
                cluster,
                op,
                || self.api.delete_node_pool(cluster, name),
                || async {
                    match self.api.get_node_pool(cluster, name).await {
                        Ok(p) => Ok(p.status != Some(State::Stopping)),
                        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
                        Err(e) => Err(e),
                    }
                },
            )
            .await;
        match started {
            Ok(Some(s)) => self.wait_operation(&s, "node_pools", op).await,
            Ok(None) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    // --- delete -----------------------------------------------------------------------------------------

    async fn delete_inner(&self, id: &ClusterId, options: &DeleteOptions, op: &OperationGuard<'_>) -> Result<()> {
        let name = id.as_str();
        let Some(o) = self.observe(name).await? else {
            return Err(Error::not_found(PROVIDER, format!("cluster {name:?}")));
        };
        if !shape::owned(&shape::decode_labels(&o.info.resource_labels)) && !options.force_unowned {
            return Err(Error::conflict(
                PROVIDER,
                format!(
                    "cluster {name} was not created by wooo (no {} label); use force_unowned",
                    wooo_core::model::OWNER_TAG
                ),
            ));
        }
        // Node pools first, newest capacity last, so a delete that stops half-way leaves a cluster wooo can
        // still see and finish; the last pool goes with the cluster (GKE deletes it and its VMs).
        for p in o.pools.iter().skip(1) {
            self.delete_pool(name, &p.name, op).await?;
        }
        op.step(format!("gke: deleting cluster {name}"), 0, None);
        let started = self
            .write(
                name,
                op,
                || self.api.delete_cluster(name),
                || async {
                    match self.api.get_cluster(name).await {
                        Ok(info) => Ok(info.status != Some(State::Stopping)),
                        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
                        Err(e) => Err(e),
                    }
                },
            )
            .await;
        match started {
            Ok(Some(s)) => self.wait_operation(&s, "name", op).await?,
            Ok(None) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        self.wait_cluster_gone(name, op).await
    }
}

#[async_trait]
impl Provisioner for Gke {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> ProvisionerCapabilities {
        let mut caps = ProvisionerCapabilities::default();
        caps.spot = true;
        caps.multiple_instance_types = false;
        caps.in_place_upgrade = true;
        caps.private_endpoint = true;
        caps
    }

    async fn plan(&self, spec: &ClusterSpec) -> Result<ClusterPlan> {
        shape::validate(spec, &self.location)?;
        let observed = self.observe(&spec.name).await?;
        self.plan_from(spec, observed.as_ref())
    }

    /// Creates or updates the cluster, waiting for every GKE operation to finish: the cluster with its node
    /// pools in one create; afterwards labels, each upgrade step (control plane, then pools), new pools before
    /// the pools they replace are deleted. An unchanged spec makes no write.
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
        Ok(shape::cluster(&self.location.region, &o.info, &o.pools, jiff::Timestamp::now()))
    }

    async fn list(&self) -> Result<Vec<Cluster>> {
        let mut clusters = self.read(|| self.api.list_clusters()).await?;
        clusters.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = Vec::with_capacity(clusters.len());
        for c in clusters {
            match self.get(&ClusterId::new(c.name)).await {
                Ok(c) => out.push(c),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Deletes the node pools but one (each waited on), then the cluster with its last pool (waited on until
    /// GKE no longer reports it). A delete that stopped half-way is finished by the next one.
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
        let Some(live) = o.pools.iter().find(|p| shape::pool_name(p) == node_pool) else {
            return Err(Error::not_found(PROVIDER, format!("node pool {node_pool:?} of cluster {name:?}")));
        };
        let pool = shape::observed_pool(live);
        wooo_core::validate::node_pool_scale(&pool, desired)?;
        let zones = live.locations.len().max(1) as u32;
        let per_zone = desired.div_ceil(zones);
        let progress = Progress::none();
        let op = OperationGuard::start(&progress, "node_pool.scale", format!("cluster/{name}/{node_pool}"));
        let started =
            self.write(name, &op, || self.api.set_size(name, &live.name, per_zone), || async { Ok(true) }).await?;
        if let Some(s) = started {
            self.wait_operation(&s, "desired", &op).await?;
        }
        op.finish(Ok(()))?;
        // GKE's API reports no current size of a pool (Kubernetes does): the answer says the size just set.
        let mut cluster = self.get(id).await?;
        if let Some(p) = cluster.spec.node_pools.iter_mut().find(|p| p.name == node_pool) {
            p.desired = Some(per_zone * zones);
        }
        if let Some(s) = cluster.status.node_pools.iter_mut().find(|p| p.name == node_pool) {
            s.desired_nodes = per_zone * zones;
        }
        Ok(cluster)
    }

    async fn access(&self, id: &ClusterId) -> Result<ClusterAccess> {
        let name = id.as_str();
        let Some(info) = self.find(|| self.api.get_cluster(name)).await? else {
            return Err(Error::not_found(PROVIDER, format!("cluster {name:?}")));
        };
        if info.endpoint.is_empty() || !matches!(info.status, Some(State::Running | State::Reconciling)) {
            return Err(Error::conflict(
                PROVIDER,
                format!("cluster {name} is {} and has no endpoint yet", shape::state_word(&info.status)),
            ));
        }
        let token = self.token_source()?.token().await?;
        Ok(ClusterAccess {
            cluster: id.clone(),
            endpoint: shape::endpoint_url(&info.endpoint),
            ca_data: (!info.ca_data.is_empty()).then(|| info.ca_data.clone()),
            auth: ClusterAuth::Token(token),
        })
    }
}

#[cfg(test)]
#[path = "gke_tests.rs"]
mod tests;
