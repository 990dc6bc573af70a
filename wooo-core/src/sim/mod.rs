//! An in-memory **simulated** cloud (clusters, apps, mesh, cost inputs), for tests, examples, doctests and dry runs.
//!
//! [`SimCloud`] is a simulator, not a cloud and not a Kubernetes cluster: nothing here starts a VM, a container or
//! a network listener. One shared in-memory state sits behind a [`SimProvisioner`], any number of
//! [`SimDeployer`]s and [`SimMesh`]es (each bound to one cluster) and the cost inventory
//! ([`SimCloud::cost_snapshot`]), so a host program can run its whole flow offline and deterministically. The
//! simulator's [`crate::CostAnalyzer`] is a composition in `wooo-cost` (`wooo_cost::sim::cost_analyzer`): the
//! cost engine over this inventory and the simulator's price table, so core holds no cost maths.
//!
//! ## What it simulates
//! - **Clusters**: the same spec validation as the real provisioners (plus: every instance type must be in the
//!   price table), plans from [`crate::plan::cluster`], conditions (`Provisioning`, `Available`, `Deleting`)
//!   that change after a configurable delay, in-place updates (half the delay) versus replacements (the full
//!   delay), the ownership tag and the refusal to touch unowned clusters, node pool sizes, and access data.
//! - **Applications**: rendering with [`crate::render::app`], objects stored by `Kind/name` and pruned,
//!   revisions (at most 10 kept), rollouts in which one replica becomes ready per
//!   [`SimCloudBuilder::rollout_step`], images whose tag contains `crashloop` that never become ready and fail
//!   after the 600 s progress deadline, scale, restart, rollback and dry-run diffs.
//! - **Mesh**: validated policies per app and the names of the objects the real configurator would write.
//! - **Cost inputs**: a [`PriceTable`] (default [`PriceTable::sim_default`]) and, per cluster and window, the
//!   node pools, the deployed apps as workloads and their synthetic (or recorded) usage
//!   ([`SimCloud::cost_snapshot`]); `wooo-cost` turns them into reports and recommendations.
//! - **Faults**: a [`FaultInjector`] that fails, throttles, loses responses or slows down any call.
//!
//! ## What it does not simulate
//! No Kubernetes API server runs: objects are stored, never scheduled; no pod runs, so no probe, no autoscaler
//! and no disruption budget acts. Endpoints (`https://<name>.<region>.sim.invalid`), CA data and tokens are
//! fake and reach nothing. Regions, quotas, networks and IAM are not checked. Costs assume that the cluster's
//! *current* node pools ran for the whole window, and usage is synthetic unless recorded with
//! [`SimCloud::record_usage`]. Timing is a model, not a measurement of any cloud.
//!
//! ## Time and determinism
//! Every delay uses `tokio::time`, and every timestamp comes from a simulated clock: `2026-01-01T00:00:00Z`
//! plus the `tokio::time::Instant` time elapsed since the [`SimCloud`] was built. Under a paused tokio clock
//! (`#[tokio::test(start_paused = true)]`) waits finish at once and two clouds built the same way produce the
//! same ids, endpoints, CA data, tokens, revision numbers, timestamps and usage. Change the outputs with
//! [`SimCloudBuilder::seed`].
//!
//! ```
//! use std::time::Duration;
//! use wooo_core::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> wooo_core::Result<()> {
//! tokio::time::pause(); // virtual time: the simulated delays take no real time
//! let cloud = SimCloud::builder().provisioning_delay(Duration::from_secs(600)).build();
//! let spec: ClusterSpec = wooo_core::model::from_yaml(
//!     "name: demo\nprovider: sim\nregion: us-east-1\nkubernetes_version: \"1.33\"\n\
//!      node_pools:\n  - name: general\n    instance_types: [m5.large]\n    min: 2\n    max: 5\n",
//! )?;
//! let cluster = cloud.provisioner().ensure(&spec, &WaitOptions::default(), &Progress::none()).await?;
//! assert!(cluster.is_ready());
//! assert_eq!(cluster.status.endpoint.as_deref(), Some("https://demo.us-east-1.sim.invalid"));
//!
//! let deployer = cloud.deployer(&cluster.id)?;
//! let app = AppSpec::new("shop", "web", "nginx:1.27", Framework::Static);
//! let status = deployer.deploy(&app, &WaitOptions::default(), &Progress::none()).await?;
//! assert_eq!(status.health, Health::Current);
//! # Ok(()) }
//! ```

mod deployer;
mod faults;
mod ident;
mod inventory;
mod mesh;
mod provisioner;
mod rollout;
mod state;
mod usage;

#[cfg(test)]
mod fixtures;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use tokio::time::Instant;

pub use deployer::SimDeployer;
pub use faults::FaultInjector;
pub use inventory::{INTERRUPTIBLE_LABEL, NODE_POOL_LABEL};
pub use mesh::SimMesh;
pub use provisioner::SimProvisioner;

use crate::error::{Error, Result};
use crate::model::PriceTable;
use crate::model::{AppRef, Cluster, ClusterId, ClusterSpec, UsageSample};
use state::State;

/// The provider name every simulator error and trait implementation reports.
pub(crate) const PROVIDER: &str = "sim";

/// The simulated clock's epoch: `2026-01-01T00:00:00Z`.
const EPOCH: Timestamp = Timestamp::constant(1_767_225_600, 0);

/// A simulated cloud: one shared in-memory state behind the Provisioner, Deployer and MeshConfigurator and the cost inventory. Cheap to clone; clones share the state.
///
/// It is a simulator: see the [module documentation](self) for what it models and what it does not.
#[derive(Clone)]
pub struct SimCloud {
    state: Arc<Mutex<State>>,
    config: Arc<SimConfig>,
}

/// Settings fixed when the cloud is built.
#[derive(Debug)]
pub(crate) struct SimConfig {
    pub(crate) provisioning_delay: Duration,
    pub(crate) deletion_delay: Duration,
    pub(crate) rollout_step: Duration,
    pub(crate) prices: PriceTable,
    pub(crate) seed: u64,
    /// When the cloud was built: the simulated clock's zero.
    pub(crate) started: Instant,
}

/// What every state operation sees: the moment it runs at and the settings.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub(crate) now: Instant,
    pub(crate) config: &'a SimConfig,
}

impl Ctx<'_> {
    /// The simulated wall-clock time of an instant.
    pub(crate) fn timestamp(&self, at: Instant) -> Timestamp {
        let elapsed = at.saturating_duration_since(self.config.started);
        EPOCH.checked_add(elapsed).unwrap_or(Timestamp::MAX)
    }

    /// The simulated wall-clock time now.
    pub(crate) fn now_ts(&self) -> Timestamp {
        self.timestamp(self.now)
    }
}

impl SimCloud {
    /// A builder, to set delays, prices and the seed.
    pub fn builder() -> SimCloudBuilder {
        SimCloudBuilder::default()
    }

    /// A cloud with the default settings (see [`SimCloudBuilder`]).
    pub fn new() -> Self {
        SimCloudBuilder::default().build()
    }

    /// The cluster lifecycle of this cloud.
    pub fn provisioner(&self) -> SimProvisioner {
        SimProvisioner::new(self.clone())
    }

    /// A deployer bound to a cluster of this cloud.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the cluster does not exist.
    pub fn deployer(&self, cluster: &ClusterId) -> Result<SimDeployer> {
        self.with_state(|st, _| st.cluster(cluster).map(|_| ()))?;
        Ok(SimDeployer::new(self.clone(), cluster.clone()))
    }

    /// A mesh configurator bound to a cluster of this cloud.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the cluster does not exist.
    pub fn mesh(&self, cluster: &ClusterId) -> Result<SimMesh> {
        self.with_state(|st, _| st.cluster(cluster).map(|_| ()))?;
        Ok(SimMesh::new(self.clone(), cluster.clone()))
    }

    /// Fault injection for every call of the four traits on this cloud.
    pub fn faults(&self) -> FaultInjector {
        FaultInjector::new(self.state.clone())
    }

    /// Sets the share of its requests an app uses in synthetic usage (CPU and memory, `0.0..`), replacing the
    /// default derived from the app's name (between 0.15 and 0.6).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown cluster; [`Error::InvalidSpec`] (`cpu_fraction` or
    /// `memory_fraction`) for a negative or non-finite fraction.
    pub fn set_usage(&self, cluster: &ClusterId, app: &AppRef, cpu_fraction: f64, memory_fraction: f64) -> Result<()> {
        for (field, value) in [("cpu_fraction", cpu_fraction), ("memory_fraction", memory_fraction)] {
            if !value.is_finite() || value < 0.0 {
                return Err(Error::invalid_spec(field, format!("must be a finite number >= 0, got {value}")));
            }
        }
        self.with_state(|st, _| {
            let record = st.cluster_mut(cluster)?;
            record.usage.fractions.insert(app.clone(), (cpu_fraction, memory_fraction));
            Ok(())
        })
    }

    /// Records explicit usage samples. For every workload that has recorded samples, cost analysis uses them
    /// (those inside the window) instead of synthetic usage.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown cluster.
    pub fn record_usage(&self, cluster: &ClusterId, samples: Vec<UsageSample>) -> Result<()> {
        self.with_state(|st, _| {
            let record = st.cluster_mut(cluster)?;
            record.usage.samples.extend(samples);
            record.usage.samples.sort_by(|a, b| a.workload.cmp(&b.workload).then(a.at.cmp(&b.at)));
            Ok(())
        })
    }

    /// Inserts an available cluster that does **not** carry wooo's ownership tag (the tag is removed from
    /// `spec.tags` if present), as if someone else had created it: to test that updates and deletes refuse it.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] as for [`crate::Provisioner::apply`]; [`Error::AlreadyExists`] when a cluster
    /// of that name exists.
    pub fn adopt_unowned(&self, spec: ClusterSpec) -> Result<Cluster> {
        self.with_state(|st, ctx| st.adopt_unowned(spec, ctx))
    }

    /// How many trait calls this cloud has served (or failed), counting every method but `provider`,
    /// `capabilities` and `render`.
    pub fn call_count(&self) -> u64 {
        self.with_state(|st, _| st.calls)
    }

    /// The simulated clock's time now: `2026-01-01T00:00:00Z` plus the tokio time since the cloud was built.
    pub fn now(&self) -> Timestamp {
        self.with_state(|_, ctx| ctx.now_ts())
    }

    /// Runs `f` on the state, brought up to date with the simulated clock first. The lock is never held across
    /// an await.
    pub(crate) fn with_state<T>(&self, f: impl FnOnce(&mut State, &Ctx<'_>) -> T) -> T {
        let ctx = Ctx { now: Instant::now(), config: &self.config };
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.settle(&ctx);
        f(&mut st, &ctx)
    }

    /// Runs one counted trait call: fault injection (before or after the effect, latency), then `f` on the
    /// state.
    pub(crate) async fn call<T>(
        &self,
        operation: &'static str,
        f: impl FnOnce(&mut State, &Ctx<'_>) -> Result<T>,
    ) -> Result<T> {
        let entry = self.with_state(|st, _| st.enter_call(operation));
        if !entry.latency.is_zero() {
            tokio::time::sleep(entry.latency).await;
        }
        if let Some(err) = entry.before {
            return Err(err);
        }
        let result = self.with_state(f);
        match entry.after {
            Some(err) => Err(err),
            None => result,
        }
    }
}

impl Default for SimCloud {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SimCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SimCloud");
        d.field("provisioning_delay", &self.config.provisioning_delay)
            .field("deletion_delay", &self.config.deletion_delay)
            .field("rollout_step", &self.config.rollout_step)
            .field("seed", &self.config.seed);
        // try_lock: Debug may run while the state is locked (e.g. from a progress callback).
        match self.state.try_lock() {
            Ok(st) => d.field("clusters", &st.clusters.keys().collect::<Vec<_>>()).field("calls", &st.calls),
            Err(_) => d.field("clusters", &"<locked>"),
        };
        d.finish()
    }
}

/// Builds a [`SimCloud`]. Every setting has a default.
#[derive(Debug, Clone, Default)]
pub struct SimCloudBuilder {
    provisioning_delay: Option<Duration>,
    deletion_delay: Option<Duration>,
    rollout_step: Option<Duration>,
    prices: Option<PriceTable>,
    seed: Option<u64>,
}

impl SimCloudBuilder {
    /// How long a new cluster takes to become available (default 3 s). In-place updates take half of it,
    /// replacements all of it.
    pub fn provisioning_delay(mut self, d: Duration) -> Self {
        self.provisioning_delay = Some(d);
        self
    }

    /// How long a deleted cluster takes to disappear (default 1 s).
    pub fn deletion_delay(mut self, d: Duration) -> Self {
        self.deletion_delay = Some(d);
        self
    }

    /// How long each replica of a rollout takes to become ready (default 200 ms).
    pub fn rollout_step(mut self, d: Duration) -> Self {
        self.rollout_step = Some(d);
        self
    }

    /// The price table used to check instance types and to compute cost (default
    /// [`PriceTable::sim_default`]).
    pub fn prices(mut self, p: PriceTable) -> Self {
        self.prices = Some(p);
        self
    }

    /// The seed of every derived value: CA data, tokens, default usage fractions and usage noise (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Builds the cloud. Its simulated clock starts now.
    pub fn build(self) -> SimCloud {
        let config = SimConfig {
            provisioning_delay: self.provisioning_delay.unwrap_or(Duration::from_secs(3)),
            deletion_delay: self.deletion_delay.unwrap_or(Duration::from_secs(1)),
            rollout_step: self.rollout_step.unwrap_or(Duration::from_millis(200)),
            prices: self.prices.unwrap_or_else(PriceTable::sim_default),
            seed: self.seed.unwrap_or(0),
            started: Instant::now(),
        };
        SimCloud { state: Arc::new(Mutex::new(State::default())), config: Arc::new(config) }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::model::{AppSpec, Framework, TimeWindow};
    use crate::progress::Progress;
    use crate::{Deployer, Provisioner};

    #[tokio::test(start_paused = true)]
    async fn clock_starts_at_the_epoch_and_follows_tokio_time() {
        let cloud = SimCloud::new();
        assert_eq!(cloud.now().to_string(), "2026-01-01T00:00:00Z");
        tokio::time::sleep(Duration::from_secs(90)).await;
        assert_eq!(cloud.now().to_string(), "2026-01-01T00:01:30Z");
    }

    #[tokio::test(start_paused = true)]
    async fn bound_handles_need_an_existing_cluster() {
        let cloud = SimCloud::new();
        let missing = ClusterId::new("nope");
        assert!(matches!(cloud.deployer(&missing), Err(Error::NotFound { provider: "sim", .. })));
        assert!(matches!(cloud.mesh(&missing), Err(Error::NotFound { .. })));
        assert!(matches!(cloud.set_usage(&missing, &AppRef::new("a", "b"), 0.5, 0.5), Err(Error::NotFound { .. })));
        assert!(matches!(cloud.record_usage(&missing, Vec::new()), Err(Error::NotFound { .. })));
    }

    #[tokio::test(start_paused = true)]
    async fn set_usage_rejects_negative_fractions() {
        let cloud = SimCloud::builder().provisioning_delay(Duration::ZERO).build();
        let cluster = ready_cluster(&cloud, "c1").await;
        let err = cloud.set_usage(&cluster.id, &AppRef::new("a", "b"), -0.1, 0.5).unwrap_err();
        assert_eq!(err.violations()[0].field, "cpu_fraction");
        let err = cloud.set_usage(&cluster.id, &AppRef::new("a", "b"), 0.1, f64::NAN).unwrap_err();
        assert_eq!(err.violations()[0].field, "memory_fraction");
    }

    /// Everything observable that is derived from inputs, the seed or the clock, after the same scenario.
    async fn scenario(seed: u64) -> String {
        let cloud = SimCloud::builder().seed(seed).build();
        let prov = cloud.provisioner();
        let cluster = prov.apply(&cluster_spec("det"), &Progress::none()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let cluster = prov.get(&cluster.id).await.unwrap();
        let access = prov.access(&cluster.id).await.unwrap();
        let deployer = cloud.deployer(&cluster.id).unwrap();
        deployer.apply(&AppSpec::new("shop", "web", "nginx:1.27", Framework::Static), &Progress::none()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let history = deployer.history(&AppRef::new("shop", "web")).await.unwrap();
        let window = TimeWindow::last_hours(cloud.now(), 24);
        let usage = cloud.cost_snapshot(&cluster.id, &window).await.unwrap().usage;
        let token = match &access.auth {
            crate::model::ClusterAuth::Token(t) => t.expose().to_string(),
            other => format!("{other:?}"),
        };
        format!(
            "{}|{token}|{}",
            serde_json::to_string(&(cluster, &history)).unwrap(),
            serde_json::to_string(&usage).unwrap()
        )
    }

    #[tokio::test(start_paused = true)]
    async fn two_clouds_built_the_same_way_behave_the_same() {
        let a = scenario(7).await;
        let b = scenario(7).await;
        assert_eq!(a, b);
        assert!(a.contains("2026-01-01T00:00:00Z"), "created at the epoch: {a}");
        assert!(a.contains("2026-01-01T00:00:03Z"), "available after the 3 s default delay: {a}");
        let c = scenario(8).await;
        assert_ne!(a, c, "the seed changes derived values");
    }

    #[tokio::test(start_paused = true)]
    async fn handles_report_sim() {
        let cloud = SimCloud::new();
        assert_eq!(cloud.provisioner().provider(), "sim");
        let dbg = format!("{cloud:?}");
        assert!(dbg.contains("SimCloud") && dbg.contains("calls"), "{dbg}");
    }
}
