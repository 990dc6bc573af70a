//! The [`Provisioner`] trait: cluster lifecycle on one cloud, and [`ProvisionerExt`], its conveniences.

use std::fmt::Debug;
use std::future::Future;
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
    /// Each sleep is moved by up to this share of the interval, earlier or later (0 to 50 %), so that many
    /// waiters started together do not poll in step.
    pub jitter_percent: u8,
}

impl Default for WaitOptions {
    /// 30 minutes, polling from every 2 s up to every 30 s (cloud cluster creation takes 5 to 20 minutes),
    /// each sleep jittered by up to 10 %.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30 * 60),
            interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(30),
            jitter_percent: 10,
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

    /// `interval` moved by a random share of at most [`WaitOptions::jitter_percent`] (capped at 50 %).
    pub fn jittered(&self, interval: Duration) -> Duration {
        let percent = u64::from(self.jitter_percent.min(50));
        if percent == 0 {
            return interval;
        }
        let span = interval.as_millis() as u64 * percent / 100;
        let offset = fastrand::u64(0..=2 * span);
        (interval + Duration::from_millis(offset)).saturating_sub(Duration::from_millis(span))
    }

    /// Calls `look` until it reports [`Look::Done`], reporting each [`Look::Pending`] status through `op` and
    /// sleeping the growing, jittered interval in between. The one polling loop every wait of wooo uses.
    ///
    /// # Errors
    /// What `look` returns; [`Error::Timeout`] (naming `provider` and `what`) when the next look would come
    /// after `timeout`.
    pub async fn poll<T, F, Fut>(
        &self,
        provider: &'static str,
        what: &str,
        op: &OperationGuard<'_>,
        mut look: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<Look<T>>> + Send,
        T: Send,
    {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut interval = self.interval;
        loop {
            match look().await? {
                Look::Done(result) => return result,
                Look::Pending(status) => op.waiting(status),
            }
            let sleep = self.jittered(interval);
            if tokio::time::Instant::now() + sleep > deadline {
                return Err(Error::Timeout { provider, operation: what.to_string(), after: self.timeout });
            }
            tokio::time::sleep(sleep).await;
            interval = self.next_interval(interval);
        }
    }
}

/// What one look of [`WaitOptions::poll`] found.
#[derive(Debug)]
pub enum Look<T> {
    /// The wait is over, with this outcome.
    Done(Result<T>),
    /// Not yet; the status to report.
    Pending(String),
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
        let what = format!("cluster {id} to become available");
        let result = wait
            .poll(self.provider(), &what, &op, || async move {
                let cluster = self.get(id).await?;
                if let Some(failed) = cluster.failure() {
                    let message = format!("cluster {id} failed: {}: {}", failed.reason, failed.message);
                    return Ok(Look::Done(Err(Error::Provider { provider: self.provider(), message, source: None })));
                }
                if cluster.is_ready() {
                    return Ok(Look::Done(Ok(cluster)));
                }
                let status = cluster
                    .status
                    .condition(ConditionType::Provisioning)
                    .map(|c| format!("{}: {}", c.reason, c.message))
                    .unwrap_or_else(|| "pending".to_string());
                Ok(Look::Pending(status))
            })
            .await;
        op.finish(result)
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
        let what = format!("cluster {id} to be deleted");
        let result = wait
            .poll(self.provider(), &what, &op, || async move {
                match self.get(id).await {
                    Err(Error::NotFound { .. }) => Ok(Look::Done(Ok(()))),
                    Err(e) => Err(e),
                    Ok(_) => Ok(Look::Pending("deleting".to_string())),
                }
            })
            .await;
        op.finish(result)
    }
}

impl<T: Provisioner + ?Sized> ProvisionerExt for T {}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::error::ErrorKind;
    use crate::progress::ProgressEvent;

    fn wait(timeout_secs: u64) -> WaitOptions {
        WaitOptions {
            timeout: Duration::from_secs(timeout_secs),
            interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(4),
            jitter_percent: 0,
        }
    }

    #[test]
    fn jitter_stays_within_its_share_and_varies() {
        let w = WaitOptions { jitter_percent: 20, ..WaitOptions::default() };
        let base = Duration::from_secs(10);
        let seen: std::collections::BTreeSet<Duration> = (0..200).map(|_| w.jittered(base)).collect();
        assert!(seen.iter().all(|d| *d >= Duration::from_secs(8) && *d <= Duration::from_secs(12)), "{seen:?}");
        assert!(seen.len() > 10, "jitter varies: {seen:?}");
        let capped = WaitOptions { jitter_percent: 200, ..w };
        assert!((0..200).all(|_| capped.jittered(base) >= Duration::from_secs(5)), "jitter is capped at 50 %");
        assert_eq!(WaitOptions { jitter_percent: 0, ..w }.jittered(base), base);
    }

    #[tokio::test(start_paused = true)]
    async fn poll_reports_pending_looks_and_grows_the_interval_until_done() {
        let (progress, mut rx) = Progress::channel();
        let op = OperationGuard::start(&progress, "test.wait", "x");
        let looks = AtomicU32::new(0);
        let start = tokio::time::Instant::now();
        let out = wait(60)
            .poll("test", "x", &op, || async {
                let n = looks.fetch_add(1, Ordering::SeqCst);
                Ok(if n < 3 { Look::Pending(format!("look {n}")) } else { Look::Done(Ok(n)) })
            })
            .await;
        assert_eq!(out.unwrap(), 3);
        // Sleeps of 2 s, 3 s, then 4 s (capped).
        assert_eq!(start.elapsed(), Duration::from_secs(9));
        let waits =
            std::iter::from_fn(|| rx.try_recv().ok()).filter(|e| matches!(e, ProgressEvent::Waiting { .. })).count();
        assert_eq!(waits, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn poll_times_out_and_passes_errors_through() {
        let progress = Progress::none();
        let op = OperationGuard::start(&progress, "test.wait", "x");
        let err =
            wait(5).poll::<(), _, _>("test", "x to settle", &op, || async { Ok(Look::Pending("no".into())) }).await;
        let err = err.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.to_string().contains("x to settle"), "{err}");
        let err = wait(5)
            .poll::<(), _, _>("test", "x", &op, || async { Err(Error::not_found("test", "thing")) })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
}
