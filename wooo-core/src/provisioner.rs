//! The [`Provisioner`] trait: cluster lifecycle on one cloud, and [`ProvisionerExt`], its conveniences.

use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::model::{Cluster, ClusterAccess, ClusterId, ClusterPlan, ClusterSpec, ConditionType};
use crate::progress::{OperationGuard, Progress};

/// What a provisioner can do. Conformance tests run only what a provisioner declares.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProvisionerCapabilities {
    /// Spot / preemptible node pools.
    pub spot: bool,
    /// Node pools with several instance types.
    pub multiple_instance_types: bool,
    /// Kubernetes version upgrades in place.
    pub in_place_upgrade: bool,
    /// Private API endpoints.
    pub private_endpoint: bool,
    /// Most node pools per cluster, when limited.
    pub max_node_pools: Option<u32>,
}

/// Options for deleting a cluster.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// Delete even a cluster without wooo's ownership tag. Off by default: wooo does not delete what it did
    /// not create.
    pub force_unowned: bool,
    /// Progress events.
    pub progress: Progress,
}

/// How long to wait and how often to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// Give up after this long ([`Error::Timeout`]).
    pub timeout: Duration,
    /// First poll interval; grows by half each poll up to `max_interval`.
    pub interval: Duration,
    /// Longest poll interval.
    pub max_interval: Duration,
}

impl Default for WaitOptions {
    /// 30 minutes, polling from every 2 s up to every 30 s (cloud cluster creation takes 5 to 20 minutes).
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30 * 60),
            interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(30),
        }
    }
}

impl WaitOptions {
    /// Waits up to `timeout` with the default intervals.
    pub fn timeout(timeout: Duration) -> Self {
        Self { timeout, ..Self::default() }
    }

    /// The poll interval after `current`: half again as long, at most `max_interval`.
    pub fn next_interval(&self, current: Duration) -> Duration {
        (current + current / 2).min(self.max_interval).max(Duration::from_millis(1))
    }
}

/// Cluster lifecycle on one cloud.
///
/// Every method validates its input before the first API call ([`Error::InvalidSpec`] naming the field, nothing
/// created). Clusters are identified by name ([`ClusterId`]) within the provider instance (one account and
/// region, resource group or project).
///
/// Use the conveniences of [`ProvisionerExt`] (`ensure`, `wait_ready`, `wait_deleted`) rather than polling.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Provisioner: Send + Sync + Debug + 'static {
    /// Short provider name used in errors (`sim`, `eks`, `aks`, `gke`, `k3s`).
    fn provider(&self) -> &'static str;

    /// What this provisioner supports.
    fn capabilities(&self) -> ProvisionerCapabilities;

    /// What [`Provisioner::apply`] would change, without changing anything.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] for an invalid spec or one asking for an unsupported capability; provider errors
    /// reading current state.
    async fn plan(&self, spec: &ClusterSpec) -> Result<ClusterPlan>;

    /// Creates the cluster, or updates it to match `spec` (idempotent: applying the same spec twice changes
    /// nothing the second time). Returns once the changes are accepted; wait with
    /// [`ProvisionerExt::wait_ready`].
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] before any call; [`Error::Conflict`] when an operation is already in progress or
    /// the existing cluster is not owned by wooo; provider errors.
    async fn apply(&self, spec: &ClusterSpec, progress: &Progress) -> Result<Cluster>;

    /// The cluster as the provider reports it now.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such cluster; provider errors.
    async fn get(&self, id: &ClusterId) -> Result<Cluster>;

    /// Every cluster visible to this provider instance, sorted by id.
    ///
    /// # Errors
    /// Provider errors.
    async fn list(&self) -> Result<Vec<Cluster>>;

    /// Deletes the cluster: node pools first, then the control plane, then what wooo created for it. Refuses
    /// clusters without wooo's ownership tag unless [`DeleteOptions::force_unowned`]. Returns once deletion is
    /// accepted; wait with [`ProvisionerExt::wait_deleted`].
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Conflict`] for an unowned cluster; provider errors.
    async fn delete(&self, id: &ClusterId, options: &DeleteOptions) -> Result<()>;

    /// Sets a node pool's desired size (within its min and max).
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] (field `desired`) when outside min..=max; [`Error::NotFound`] for an unknown
    /// cluster or pool; provider errors.
    async fn scale_node_pool(&self, id: &ClusterId, node_pool: &str, desired: u32) -> Result<Cluster>;

    /// How to reach the cluster's API server (kubeconfig data).
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Conflict`] when the cluster is not ready yet; provider errors.
    async fn access(&self, id: &ClusterId) -> Result<ClusterAccess>;
}

/// Conveniences over any [`Provisioner`]. Implemented for every provisioner; do not implement it.
#[async_trait]
pub trait ProvisionerExt: Provisioner {
    /// Waits until the cluster is available.
    ///
    /// # Errors
    /// [`Error::Timeout`] after `wait.timeout`; [`Error::Provider`] when the cluster reports `Failed` (with
    /// its reason and message); errors from [`Provisioner::get`].
    async fn wait_ready(&self, id: &ClusterId, wait: &WaitOptions, progress: &Progress) -> Result<Cluster> {
        let op = OperationGuard::start(progress, "cluster.wait_ready", format!("cluster/{id}"));
        let deadline = tokio::time::Instant::now() + wait.timeout;
        let mut interval = wait.interval;
        loop {
            let cluster = self.get(id).await?;
            if let Some(failed) = cluster.failure() {
                let err = Error::Provider {
                    provider: self.provider(),
                    message: format!("cluster {id} failed: {}: {}", failed.reason, failed.message),
                    source: None,
                };
                return op.finish(Err(err));
            }
            if cluster.is_ready() {
                return op.finish(Ok(cluster));
            }
            let status = cluster
                .status
                .condition(ConditionType::Provisioning)
                .map(|c| format!("{}: {}", c.reason, c.message))
                .unwrap_or_else(|| "pending".to_string());
            op.waiting(status);
            if tokio::time::Instant::now() + interval > deadline {
                let after = wait.timeout;
                return op.finish(Err(Error::Timeout {
                    provider: self.provider(),
                    operation: format!("cluster {id} to become available"),
                    after,
                }));
            }
            tokio::time::sleep(interval).await;
            interval = wait.next_interval(interval);
        }
    }

    /// Applies `spec` and waits until the cluster is available: the one call a host usually needs.
    ///
    /// # Errors
    /// As [`Provisioner::apply`] and [`ProvisionerExt::wait_ready`].
    async fn ensure(&self, spec: &ClusterSpec, wait: &WaitOptions, progress: &Progress) -> Result<Cluster> {
        let cluster = self.apply(spec, progress).await?;
        self.wait_ready(&cluster.id, wait, progress).await
    }

    /// Waits until the cluster is gone.
    ///
    /// # Errors
    /// [`Error::Timeout`]; errors from [`Provisioner::get`] other than `NotFound`.
    async fn wait_deleted(&self, id: &ClusterId, wait: &WaitOptions, progress: &Progress) -> Result<()> {
        let op = OperationGuard::start(progress, "cluster.wait_deleted", format!("cluster/{id}"));
        let deadline = tokio::time::Instant::now() + wait.timeout;
        let mut interval = wait.interval;
        loop {
            match self.get(id).await {
                Err(Error::NotFound { .. }) => return op.finish(Ok(())),
                Err(e) => return op.finish(Err(e)),
                Ok(_) => op.waiting("deleting"),
            }
            if tokio::time::Instant::now() + interval > deadline {
                return op.finish(Err(Error::Timeout {
                    provider: self.provider(),
                    operation: format!("cluster {id} to be deleted"),
                    after: wait.timeout,
                }));
            }
            tokio::time::sleep(interval).await;
            interval = wait.next_interval(interval);
        }
    }
}

impl<T: Provisioner + ?Sized> ProvisionerExt for T {}
