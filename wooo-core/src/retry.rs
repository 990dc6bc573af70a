//! Retry decorators: [`Retrying`] wraps any implementation of the four traits and retries what
//! [`Error::is_retryable`] says is worth retrying, with exponential backoff, jitter, a maximum number of attempts
//! and an overall deadline.
//!
//! Only calls that are safe to repeat are retried after a passing failure:
//! - reads (`get`, `list`, `status`, `history`, `diff`, `plan`, `access`, `cost`, …) and declarative writes
//!   (`apply`, `scale`, `scale_node_pool`, `set_traffic`) are idempotent: repeating them converges on the same state;
//! - `delete` is idempotent too, and a `NotFound` on a later attempt means an earlier attempt took effect, so it
//!   counts as success;
//! - `rollback(Some(n))` is idempotent: a rollback to the spec already in force records nothing (see
//!   [Revisions](crate::Deployer#revisions)), so a retry after a lost response leaves one `rollback to n`;
//! - `rollback(None)` ("the revision before the current") would go back one step further each time it is
//!   repeated, so the decorator first resolves it to an explicit revision number ([`crate::previous_revision`]
//!   of the history it reads), then retries `rollback(Some(n))`;
//! - `restart` draws one [`RestartToken`] before the first attempt and retries `restart_with` that token, which
//!   restarts once however often it is repeated.
//!
//! An implementation that does not keep these promises of the [`Deployer`] docs must not be wrapped.
//!
//! ```
//! use std::time::Duration;
//! use wooo_core::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> wooo_core::Result<()> {
//! let cloud = SimCloud::builder().build();
//! cloud.faults().fail_next(2, ErrorKind::Throttled);
//! let provisioner = Retrying::new(cloud.provisioner(), RetryConfig::default());
//! assert!(provisioner.list().await?.is_empty()); // two throttled attempts, then success
//! # Ok(()) }
//! ```

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::cost::{CostAnalyzer, CostCapabilities, RecommendOptions};
use crate::deployer::{Deployer, DeployerCapabilities, RestartToken, previous_revision};
use crate::error::{Error, Result};
use crate::mesh::{MeshCapabilities, MeshConfigurator};
use crate::model::{
    AppDiff, AppRef, AppSpec, AppStatus, Cluster, ClusterAccess, ClusterId, ClusterPlan, ClusterSpec, CostReport,
    MeshPolicy, MeshStatus, Recommendation, Revision, TimeWindow, TrafficSplit,
};
use crate::progress::{Progress, ProgressEvent};
use crate::provisioner::{DeleteOptions, Provisioner, ProvisionerCapabilities, WaitOptions};
use crate::render::Object;

/// How to retry.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryConfig {
    /// Attempts in all, the first included (1 disables retrying).
    pub max_attempts: u32,
    /// Backoff before the second attempt.
    pub initial_backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
    /// Growth factor of the backoff per attempt.
    pub multiplier: f64,
    /// Full jitter: each backoff is drawn uniformly from zero to its exponential value, so many clients that
    /// failed together do not retry together.
    pub jitter: bool,
    /// Give up when the next backoff would end after this much time since the first attempt.
    pub deadline: Option<Duration>,
    /// Seed of the jitter generator, for reproducible tests; random when `None`.
    pub seed: Option<u64>,
}

impl Default for RetryConfig {
    /// 5 attempts, 100 ms doubling up to 20 s, full jitter, 2-minute deadline.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(20),
            multiplier: 2.0,
            jitter: true,
            deadline: Some(Duration::from_secs(120)),
            seed: None,
        }
    }
}

impl RetryConfig {
    /// The exponential backoff before attempt `attempt + 1` (attempt is 1-based), before jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.multiplier.max(1.0).powi(attempt.saturating_sub(1).min(64) as i32);
        let secs = (self.initial_backoff.as_secs_f64() * exp).min(self.max_backoff.as_secs_f64());
        Duration::from_secs_f64(secs.max(0.0))
    }
}

/// A decorator that retries calls of the wrapped implementation. See the module docs for what is retried.
#[derive(Debug, Clone)]
pub struct Retrying<T> {
    inner: T,
    config: RetryConfig,
    rng: Arc<Mutex<fastrand::Rng>>,
    progress: Progress,
}

impl<T> Retrying<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, config: RetryConfig) -> Self {
        let rng = match config.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        Self { inner, config, rng: Arc::new(Mutex::new(rng)), progress: Progress::none() }
    }

    /// Reports [`ProgressEvent::Retrying`] for calls that take no progress handle of their own.
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// The wrapped implementation.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The configuration.
    pub fn config(&self) -> &RetryConfig {
        &self.config
    }

    fn delay(&self, attempt: u32, err: &Error) -> Duration {
        let exp = self.config.backoff(attempt);
        let jittered = if self.config.jitter {
            // A poisoned lock only means another task panicked mid-draw; the generator is still usable.
            let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
            exp.mul_f64(rng.f64())
        } else {
            exp
        };
        jittered.max(err.retry_after().unwrap_or_default())
    }

    async fn call<R, F, Fut>(&self, operation: &'static str, progress: &Progress, mut f: F) -> Result<R>
    where
        F: FnMut(u32) -> Fut + Send,
        Fut: Future<Output = Result<R>> + Send,
        R: Send,
    {
        let started = tokio::time::Instant::now();
        let mut attempt = 1;
        loop {
            let err = match f(attempt).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if !err.is_retryable() || attempt >= self.config.max_attempts {
                return Err(err);
            }
            let delay = self.delay(attempt, &err);
            if self.config.deadline.is_some_and(|d| started.elapsed() + delay > d) {
                return Err(err);
            }
            tracing::debug!(operation, attempt, ?delay, error = %err, "retrying");
            progress.emit(ProgressEvent::Retrying { operation, attempt, delay, error: err.to_string() });
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// A delete that found nothing on a later attempt was done by an earlier attempt whose answer was lost.
    async fn delete_call<F, Fut>(&self, operation: &'static str, progress: &Progress, f: F) -> Result<()>
    where
        F: FnMut(u32) -> Fut + Send,
        Fut: Future<Output = Result<()>> + Send,
    {
        let mut f = f;
        self.call(operation, progress, move |attempt| {
            let fut = f(attempt);
            async move {
                match fut.await {
                    Err(Error::NotFound { .. }) if attempt > 1 => Ok(()),
                    other => other,
                }
            }
        })
        .await
    }
}

#[async_trait]
impl<T: Provisioner> Provisioner for Retrying<T> {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }
    fn capabilities(&self) -> ProvisionerCapabilities {
        self.inner.capabilities()
    }
    async fn plan(&self, spec: &ClusterSpec) -> Result<ClusterPlan> {
        self.call("cluster.plan", &self.progress, |_| self.inner.plan(spec)).await
    }
    async fn apply(&self, spec: &ClusterSpec, progress: &Progress) -> Result<Cluster> {
        self.call("cluster.apply", progress, |_| self.inner.apply(spec, progress)).await
    }
    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        self.call("cluster.get", &self.progress, |_| self.inner.get(id)).await
    }
    async fn list(&self) -> Result<Vec<Cluster>> {
        self.call("cluster.list", &self.progress, |_| self.inner.list()).await
    }
    async fn delete(&self, id: &ClusterId, options: &DeleteOptions) -> Result<()> {
        self.delete_call("cluster.delete", &options.progress, |_| self.inner.delete(id, options)).await
    }
    async fn scale_node_pool(&self, id: &ClusterId, node_pool: &str, desired: u32) -> Result<Cluster> {
        self.call("cluster.scale_node_pool", &self.progress, |_| self.inner.scale_node_pool(id, node_pool, desired))
            .await
    }
    async fn access(&self, id: &ClusterId) -> Result<ClusterAccess> {
        self.call("cluster.access", &self.progress, |_| self.inner.access(id)).await
    }
}

#[async_trait]
impl<T: Deployer> Deployer for Retrying<T> {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }
    fn capabilities(&self) -> DeployerCapabilities {
        self.inner.capabilities()
    }
    fn render(&self, app: &AppSpec) -> Result<Vec<Object>> {
        self.inner.render(app)
    }
    async fn apply(&self, app: &AppSpec, progress: &Progress) -> Result<AppStatus> {
        self.call("app.apply", progress, |_| self.inner.apply(app, progress)).await
    }
    async fn status(&self, app: &AppRef) -> Result<AppStatus> {
        self.call("app.status", &self.progress, |_| self.inner.status(app)).await
    }
    async fn wait(&self, app: &AppRef, wait: &WaitOptions, progress: &Progress) -> Result<AppStatus> {
        // Waiting is a read: a wait cut short by a passing failure is simply resumed.
        self.call("app.wait", progress, |_| self.inner.wait(app, wait, progress)).await
    }
    async fn scale(&self, app: &AppRef, replicas: u32) -> Result<AppStatus> {
        self.call("app.scale", &self.progress, |_| self.inner.scale(app, replicas)).await
    }
    // `restart` is the trait's: it draws one token, then calls this, so every attempt carries that token and an
    // attempt whose answer was lost is found done by the next.
    async fn restart_with(&self, app: &AppRef, token: &RestartToken) -> Result<AppStatus> {
        self.call("app.restart", &self.progress, |_| self.inner.restart_with(app, token)).await
    }
    async fn rollback(&self, app: &AppRef, revision: Option<u64>) -> Result<AppStatus> {
        let target = match revision {
            Some(n) => n,
            None => {
                let history = self.history(app).await?;
                let previous = previous_revision(&history).ok_or_else(|| {
                    Error::not_found(self.provider(), format!("a revision before the current of {app}"))
                })?;
                previous.number
            }
        };
        self.call("app.rollback", &self.progress, |_| self.inner.rollback(app, Some(target))).await
    }
    async fn history(&self, app: &AppRef) -> Result<Vec<Revision>> {
        self.call("app.history", &self.progress, |_| self.inner.history(app)).await
    }
    async fn list(&self) -> Result<Vec<AppRef>> {
        self.call("app.list", &self.progress, |_| self.inner.list()).await
    }
    async fn delete(&self, app: &AppRef) -> Result<()> {
        self.delete_call("app.delete", &self.progress, |_| self.inner.delete(app)).await
    }
    async fn diff(&self, app: &AppSpec) -> Result<AppDiff> {
        self.call("app.diff", &self.progress, |_| self.inner.diff(app)).await
    }
}

#[async_trait]
impl<T: MeshConfigurator> MeshConfigurator for Retrying<T> {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }
    fn capabilities(&self) -> MeshCapabilities {
        self.inner.capabilities()
    }
    async fn apply(&self, policy: &MeshPolicy) -> Result<MeshStatus> {
        self.call("mesh.apply", &self.progress, |_| self.inner.apply(policy)).await
    }
    async fn get(&self, app: &AppRef) -> Result<MeshPolicy> {
        self.call("mesh.get", &self.progress, |_| self.inner.get(app)).await
    }
    async fn set_traffic(&self, app: &AppRef, split: &TrafficSplit) -> Result<MeshStatus> {
        self.call("mesh.set_traffic", &self.progress, |_| self.inner.set_traffic(app, split)).await
    }
    async fn delete(&self, app: &AppRef) -> Result<()> {
        self.delete_call("mesh.delete", &self.progress, |_| self.inner.delete(app)).await
    }
}

#[async_trait]
impl<T: CostAnalyzer> CostAnalyzer for Retrying<T> {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }
    fn capabilities(&self) -> CostCapabilities {
        self.inner.capabilities()
    }
    async fn cost(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<CostReport> {
        self.call("cost.report", &self.progress, |_| self.inner.cost(cluster, window)).await
    }
    async fn recommend(
        &self,
        cluster: &ClusterId,
        window: &TimeWindow,
        options: &RecommendOptions,
    ) -> Result<Vec<Recommendation>> {
        self.call("cost.recommend", &self.progress, |_| self.inner.recommend(cluster, window, options)).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::error::ErrorKind;

    /// A counter-driven fake: fails the first `fail` calls with `kind`, then succeeds.
    struct Flaky {
        calls: AtomicU32,
        fail: u32,
        kind: ErrorKind,
    }

    impl Flaky {
        fn new(fail: u32, kind: ErrorKind) -> Self {
            Self { calls: AtomicU32::new(0), fail, kind }
        }
        async fn call(&self) -> Result<u32> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if n <= self.fail { Err(Error::of_kind(self.kind, "test", format!("call {n}"))) } else { Ok(n) }
        }
    }

    fn fast() -> RetryConfig {
        RetryConfig { seed: Some(7), ..RetryConfig::default() }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_retryable_errors_until_success() {
        let r = Retrying::new((), fast());
        let flaky = Flaky::new(3, ErrorKind::Transient);
        let (progress, mut rx) = Progress::channel();
        let out = r.call("t", &progress, |_| flaky.call()).await.unwrap();
        assert_eq!(out, 4);
        let mut retries = 0;
        while let Ok(ev) = rx.try_recv() {
            assert!(matches!(ev, ProgressEvent::Retrying { operation: "t", .. }));
            retries += 1;
        }
        assert_eq!(retries, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn stops_at_max_attempts_and_returns_last_error() {
        let r = Retrying::new((), RetryConfig { max_attempts: 3, ..fast() });
        let flaky = Flaky::new(10, ErrorKind::Throttled);
        let err = r.call("t", &Progress::none(), |_| flaky.call()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Throttled);
        assert!(err.to_string().contains("call 3"), "{err}");
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn never_retries_non_retryable_errors() {
        for kind in [ErrorKind::NotFound, ErrorKind::InvalidSpec, ErrorKind::Conflict, ErrorKind::PermissionDenied] {
            let r = Retrying::new((), fast());
            let flaky = Flaky::new(1, kind);
            let err = r.call("t", &Progress::none(), |_| flaky.call()).await.unwrap_err();
            assert_eq!(err.kind(), kind);
            assert_eq!(flaky.calls.load(Ordering::SeqCst), 1);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_bounds_total_time() {
        let config = RetryConfig {
            max_attempts: 100,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(1),
            jitter: false,
            deadline: Some(Duration::from_millis(3500)),
            ..fast()
        };
        let r = Retrying::new((), config);
        let flaky = Flaky::new(1000, ErrorKind::Transient);
        let start = tokio::time::Instant::now();
        assert!(r.call("t", &Progress::none(), |_| flaky.call()).await.is_err());
        // Attempts at 0 s, 1 s, 2 s, 3 s; a fifth would start at 4 s, past the deadline.
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 4);
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after_and_delete_not_found_on_retry() {
        let r = Retrying::new((), RetryConfig { jitter: false, initial_backoff: Duration::from_millis(1), ..fast() });
        let calls = AtomicU32::new(0);
        let start = tokio::time::Instant::now();
        let out = r
            .delete_call("d", &Progress::none(), |attempt| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if attempt == 1 {
                        Err(Error::Throttled {
                            provider: "test",
                            message: "slow down".into(),
                            retry_after: Some(Duration::from_secs(2)),
                            source: None,
                        })
                    } else {
                        Err(Error::not_found("test", "thing"))
                    }
                }
            })
            .await;
        assert!(out.is_ok(), "NotFound after a lost response counts as deleted");
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        let first = r.delete_call("d", &Progress::none(), |_| async { Err(Error::not_found("test", "x")) }).await;
        assert_eq!(first.unwrap_err().kind(), ErrorKind::NotFound, "NotFound on the first attempt is real");
    }

    #[test]
    fn backoff_grows_and_caps() {
        let c =
            RetryConfig { initial_backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(1), ..fast() };
        assert_eq!(c.backoff(1), Duration::from_millis(100));
        assert_eq!(c.backoff(2), Duration::from_millis(200));
        assert_eq!(c.backoff(4), Duration::from_millis(800));
        assert_eq!(c.backoff(5), Duration::from_secs(1));
        assert_eq!(c.backoff(60), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_within_the_exponential_bound() {
        let r = Retrying::new((), fast());
        let err = Error::of_kind(ErrorKind::Transient, "t", "x");
        for attempt in 1..8 {
            let d = r.delay(attempt, &err);
            assert!(d <= r.config.backoff(attempt), "attempt {attempt}: {d:?}");
        }
        let draws: std::collections::BTreeSet<Duration> = (0..20).map(|_| r.delay(3, &err)).collect();
        assert!(draws.len() > 10, "jitter spreads the delays");
    }
}
