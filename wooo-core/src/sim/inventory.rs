//! What cost analysis reads from the simulator: its inventory (node pools and the deployed apps as workloads)
//! and their usage (recorded, or synthetic), as a [`ClusterSnapshot`]. The simulator does no cost maths: the
//! cost engine of `wooo-cost` composes this snapshot with the simulator's price table
//! (`wooo_cost::sim::cost_analyzer`).

use super::rollout::desired_replicas;
use super::state::ClusterRecord;
use super::{SimCloud, usage};
use crate::error::Result;
use crate::model::{ClusterId, ClusterSnapshot, PriceTable, TimeWindow, UsageSample, WorkloadProfile, WorkloadRef};
use crate::validate;

/// The app label that names the node pool an app runs on (the cluster's first pool otherwise).
pub const NODE_POOL_LABEL: &str = "wooo.dev/node-pool";
/// The app label that, set to `"false"`, marks an app as not interruptible (not a spot candidate).
pub const INTERRUPTIBLE_LABEL: &str = "wooo.dev/interruptible";

fn snapshot(record: &ClusterRecord, window: &TimeWindow, seed: u64) -> ClusterSnapshot {
    let first_pool = record.spec.node_pools.first().map(|p| p.name.clone()).unwrap_or_default();
    let mut workloads = Vec::new();
    let mut usage: Vec<UsageSample> = Vec::new();
    for (app, deployed) in &record.apps {
        let spec = &deployed.spec;
        let resources = spec.effective_resources();
        let profile = WorkloadProfile {
            workload: WorkloadRef::new(app.namespace.clone(), app.name.clone()),
            replicas: f64::from(desired_replicas(spec)),
            cpu_request: resources.cpu_request,
            memory_request: resources.memory_request,
            memory_limit: Some(resources.memory_limit),
            interruptible: spec.labels.get(INTERRUPTIBLE_LABEL).is_none_or(|v| v != "false"),
            node_pool: spec.labels.get(NODE_POOL_LABEL).cloned().unwrap_or_else(|| first_pool.clone()),
        };
        let recorded = record.usage.samples.iter().any(|s| s.workload == profile.workload);
        if !recorded {
            let (cpu, memory) = record.usage.fractions.get(app).copied().unwrap_or_else(|| {
                (usage::default_fraction(seed, app, "cpu"), usage::default_fraction(seed, app, "memory"))
            });
            usage.extend(usage::synthetic(&profile, cpu, memory, window, seed));
        }
        workloads.push(profile);
    }
    usage.extend(record.usage.samples.iter().filter(|s| window.contains(s.at)).cloned());
    ClusterSnapshot { node_pools: record.spec.node_pools.clone(), workloads, usage }
}

impl SimCloud {
    /// What ran on `cluster` over `window`, for cost analysis: the cluster's **current** node pools (assumed to
    /// have run for the whole window, at their desired size), the apps deployed on it as workloads (requests from
    /// [`crate::model::AppSpec::effective_resources`], replicas as desired, node pool from the label
    /// [`NODE_POOL_LABEL`] or the cluster's first pool, interruptible unless [`INTERRUPTIBLE_LABEL`] is
    /// `"false"`), and their usage in the window: the samples recorded with [`SimCloud::record_usage`] for a
    /// workload that has some, hourly synthetic samples otherwise. A counted call (`cost.snapshot`), subject to
    /// fault injection like every other.
    ///
    /// # Errors
    /// [`crate::Error::InvalidSpec`] (`window`) for an empty or reversed window; [`crate::Error::NotFound`] for
    /// an unknown cluster; injected faults.
    pub async fn cost_snapshot(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<ClusterSnapshot> {
        validate::time_window(window)?;
        self.call("cost.snapshot", |st, ctx| st.cluster(cluster).map(|r| snapshot(r, window, ctx.config.seed))).await
    }

    /// The price table this cloud checks instance types against and prices its nodes with (see
    /// [`super::SimCloudBuilder::prices`]).
    pub fn prices(&self) -> &PriceTable {
        &self.config.prices
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::Deployer;
    use crate::ErrorKind;
    use crate::model::{AppRef, Cpu, Memory};
    use crate::progress::Progress;

    async fn cluster_with_apps(cloud: &SimCloud) -> ClusterId {
        let cluster = ready_cluster(cloud, "c1").await;
        let deployer = cloud.deployer(&cluster.id).unwrap();
        deployer.apply(&web_app("shop", "web"), &Progress::none()).await.unwrap();
        let mut api = web_app("shop", "api");
        api.labels.insert(INTERRUPTIBLE_LABEL.into(), "false".into());
        deployer.apply(&api, &Progress::none()).await.unwrap();
        cluster.id
    }

    fn window(cloud: &SimCloud, hours: i64) -> TimeWindow {
        TimeWindow::last_hours(cloud.now(), hours)
    }

    #[tokio::test(start_paused = true)]
    async fn workloads_and_usage_come_from_deployed_apps() {
        let cloud = SimCloud::new();
        let id = cluster_with_apps(&cloud).await;
        let w = window(&cloud, 24);
        let snap = cloud.cost_snapshot(&id, &w).await.unwrap();
        assert_eq!(snap.node_pools.len(), 1);
        assert_eq!(snap.node_pools[0].name, "general");
        let names: Vec<(String, bool, String)> =
            snap.workloads.iter().map(|p| (p.workload.name.clone(), p.interruptible, p.node_pool.clone())).collect();
        assert_eq!(names, vec![("api".into(), false, "general".into()), ("web".into(), true, "general".into())]);
        assert_eq!(snap.workloads[0].cpu_request, Cpu::from_millis(500));
        assert_eq!(snap.workloads[0].replicas, 2.0);
        assert_eq!(snap.usage.len(), 48, "24 hourly samples per app");

        // Explicit fractions move the synthetic level; recorded samples replace it.
        cloud.set_usage(&id, &AppRef::new("shop", "web"), 1.0, 1.0).unwrap();
        let usage = cloud.cost_snapshot(&id, &w).await.unwrap().usage;
        let web: Vec<_> = usage.iter().filter(|s| s.workload.name == "web").collect();
        let mean = web.iter().map(|s| s.cpu.millis() as f64).sum::<f64>() / web.len() as f64;
        assert!((mean - 1000.0).abs() < 50.0, "500m × 2 replicas × 1.0, got {mean}");
        let sample = UsageSample {
            workload: WorkloadRef::new("shop", "web"),
            at: w.start,
            cpu: Cpu::from_millis(10),
            memory: Memory::from_mib(10),
        };
        let outside = UsageSample { at: w.end, ..sample.clone() };
        cloud.record_usage(&id, vec![sample.clone(), outside]).unwrap();
        let usage = cloud.cost_snapshot(&id, &w).await.unwrap().usage;
        let web: Vec<_> = usage.iter().filter(|s| s.workload.name == "web").collect();
        assert_eq!(web, vec![&sample], "recorded samples inside the window replace synthetic ones");
        assert_eq!(usage.iter().filter(|s| s.workload.name == "api").count(), 24);
    }

    #[tokio::test(start_paused = true)]
    async fn node_pool_label_places_a_workload() {
        let cloud = SimCloud::new();
        let id = cluster_with_apps(&cloud).await;
        let mut batch = web_app("jobs", "batch");
        batch.labels.insert(NODE_POOL_LABEL.into(), "spot".into());
        cloud.deployer(&id).unwrap().apply(&batch, &Progress::none()).await.unwrap();
        let w = window(&cloud, 1);
        let snap = cloud.cost_snapshot(&id, &w).await.unwrap();
        let batch = snap.workloads.iter().find(|p| p.workload.name == "batch").unwrap();
        assert_eq!(batch.node_pool, "spot");
    }

    #[tokio::test(start_paused = true)]
    async fn snapshot_errors_and_counted_calls() {
        let cloud = SimCloud::new();
        let id = cluster_with_apps(&cloud).await;
        let err = cloud.cost_snapshot(&ClusterId::new("nope"), &window(&cloud, 1)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = cloud.cost_snapshot(&id, &TimeWindow::new(cloud.now(), cloud.now())).await.unwrap_err();
        assert_eq!(err.violations()[0].field, "window");
        let before = cloud.call_count();
        cloud.cost_snapshot(&id, &window(&cloud, 1)).await.unwrap();
        assert_eq!(cloud.call_count(), before + 1, "one counted call");
        cloud.faults().fail_next_of("cost.snapshot", 1, ErrorKind::Transient);
        assert!(cloud.cost_snapshot(&id, &window(&cloud, 1)).await.is_err(), "faults apply to it");
        assert_eq!(cloud.prices().get("m5.large").unwrap().instance_type, "m5.large");
    }
}
