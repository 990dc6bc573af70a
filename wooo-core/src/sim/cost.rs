//! [`SimCostAnalyzer`]: cost from the simulator's price table, over synthetic or recorded usage.

use async_trait::async_trait;

use super::rollout::desired_replicas;
use super::state::{ClusterRecord, State};
use super::{Ctx, PROVIDER, SimCloud, usage};
use crate::cost::{CostAnalyzer, CostCapabilities, RecommendOptions};
use crate::costing::{self, CostInputs, PriceTable, RecommendInputs};
use crate::error::{Error, Result};
use crate::model::{
    ClusterId, ClusterSpec, CostReport, MoneyError, NodeCost, Recommendation, TimeWindow, UsageSample, WorkloadProfile,
    WorkloadRef,
};
use crate::validate;

/// The app label that names the node pool an app runs on (the cluster's first pool otherwise).
pub const NODE_POOL_LABEL: &str = "wooo.dev/node-pool";
/// The app label that, set to `"false"`, marks an app as not interruptible (not a spot candidate).
pub const INTERRUPTIBLE_LABEL: &str = "wooo.dev/interruptible";

/// The simulated [`CostAnalyzer`]. Get one from [`SimCloud::cost_analyzer`].
///
/// A documented simplification: the cluster's **current** node pools are assumed to have run for the whole
/// window, at their desired size. Each pool costs desired nodes × window hours × the hourly price of its first
/// instance type (the spot price for spot pools); the control-plane fee is the shared cost. Workloads are the
/// apps deployed on the cluster (requests from [`crate::model::AppSpec::effective_resources`], replicas as
/// desired, node pool from the label [`NODE_POOL_LABEL`], interruptible unless [`INTERRUPTIBLE_LABEL`] is
/// `"false"`), with recorded usage where there is some ([`SimCloud::record_usage`]) and synthetic usage
/// otherwise. Allocation and recommendations are [`crate::costing::allocate`] and
/// [`crate::costing::recommend`], the same pure functions the cloud analyzers use.
#[derive(Debug, Clone)]
pub struct SimCostAnalyzer {
    cloud: SimCloud,
}

/// Everything cost analysis reads from the state, for one cluster and window.
struct Snapshot {
    spec: ClusterSpec,
    workloads: Vec<WorkloadProfile>,
    usage: Vec<UsageSample>,
}

fn snapshot(record: &ClusterRecord, window: &TimeWindow, seed: u64) -> Snapshot {
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
    Snapshot { spec: record.spec.clone(), workloads, usage }
}

fn node_costs(spec: &ClusterSpec, prices: &PriceTable, window: &TimeWindow) -> Result<Vec<NodeCost>> {
    spec.node_pools
        .iter()
        .map(|pool| {
            let price = pool.instance_types.first().and_then(|t| prices.get(t)).ok_or_else(|| Error::Provider {
                provider: PROVIDER,
                message: format!("node pool {} has no instance type in the price table", pool.name),
                source: None,
            })?;
            Ok(price.node_cost(pool, window))
        })
        .collect()
}

/// The report for a cluster and window, with the snapshot it was computed from.
fn report(st: &State, ctx: &Ctx<'_>, id: &ClusterId, window: &TimeWindow) -> Result<(CostReport, Snapshot)> {
    validate::time_window(window)?;
    let snap = snapshot(st.cluster(id)?, window, ctx.config.seed);
    let prices = &ctx.config.prices;
    let inputs = CostInputs {
        cluster: id.clone(),
        window: *window,
        nodes: node_costs(&snap.spec, prices, window)?,
        shared: prices.control_plane.over(window.duration()),
        workloads: &snap.workloads,
        usage: &snap.usage,
        source: prices.source.clone(),
    };
    let report = costing::allocate(&inputs).map_err(price_table_error)?;
    Ok((report, snap))
}

/// A price table whose amounts do not add up (prices in two currencies) is the simulator's configuration error.
fn price_table_error(e: MoneyError) -> Error {
    Error::Provider { provider: PROVIDER, message: format!("price table: {e}"), source: Some(Box::new(e)) }
}

impl SimCostAnalyzer {
    pub(crate) fn new(cloud: SimCloud) -> Self {
        Self { cloud }
    }
}

/// The usage samples cost analysis would use (for tests).
#[cfg(test)]
pub(crate) fn usage_for(cloud: &SimCloud, id: &ClusterId, window: &TimeWindow) -> Vec<UsageSample> {
    cloud.with_state(|st, ctx| st.cluster(id).map(|r| snapshot(r, window, ctx.config.seed).usage).unwrap_or_default())
}

#[async_trait]
impl CostAnalyzer for SimCostAnalyzer {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> CostCapabilities {
        CostCapabilities {
            billing_source: "sim price table",
            allocation: true,
            recommendation_kinds: vec!["idle", "right_size", "commitment", "spot"],
        }
    }

    async fn cost(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<CostReport> {
        self.cloud.call("cost.cost", |st, ctx| report(st, ctx, cluster, window).map(|(r, _)| r)).await
    }

    async fn recommend(
        &self,
        cluster: &ClusterId,
        window: &TimeWindow,
        options: &RecommendOptions,
    ) -> Result<Vec<Recommendation>> {
        self.cloud
            .call("cost.recommend", |st, ctx| {
                let (report, snap) = report(st, ctx, cluster, window)?;
                if let Some(min) = options.min_monthly_savings.filter(|m| m.currency() != report.currency) {
                    return Err(Error::InvalidSpec {
                        field: "min_monthly_savings".into(),
                        reason: format!("{} is not in the report's currency, {}", min, report.currency),
                        more: Vec::new(),
                    });
                }
                let inputs = RecommendInputs {
                    report: &report,
                    node_pools: &snap.spec.node_pools,
                    workloads: &snap.workloads,
                    usage: &snap.usage,
                    prices: &ctx.config.prices,
                };
                costing::recommend(&inputs, options).map_err(price_table_error)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::fixtures::*;
    use super::*;
    use crate::ErrorKind;
    use crate::model::{AppRef, Capacity, Cpu, HourlyRate, Memory, Money, RecommendedAction};
    use crate::progress::Progress;
    use crate::{Deployer, Provisioner};

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
    async fn report_prices_nodes_and_control_plane_and_is_consistent() {
        let cloud = SimCloud::new();
        let id = cluster_with_apps(&cloud).await;
        let report = cloud.cost_analyzer().cost(&id, &window(&cloud, 24)).await.unwrap();
        assert!(report.is_consistent(), "{report:?}");
        assert_eq!(report.nodes.len(), 1);
        let node = &report.nodes[0];
        assert_eq!((node.instance_type.as_str(), node.node_hours), ("m5.large", 48.0));
        assert_eq!(node.hourly_price, HourlyRate::usd(96, 3));
        assert_eq!(node.cost, Money::usd(4608, 3), "2 nodes × 24 h × 0.096");
        assert_eq!((node.cpu_per_node, node.memory_per_node), (Cpu::from_cores(2), Memory::from_gib(8)));
        assert_eq!(report.shared, Money::usd(24, 1));
        assert_eq!(report.total, Money::usd(7008, 3));
        assert_eq!(report.cluster, id);
    }

    #[tokio::test(start_paused = true)]
    async fn cost_is_proportional_to_the_window() {
        let cloud = SimCloud::new();
        let id = cluster_with_apps(&cloud).await;
        let analyzer = cloud.cost_analyzer();
        let day = analyzer.cost(&id, &window(&cloud, 24)).await.unwrap();
        let week = analyzer.cost(&id, &window(&cloud, 168)).await.unwrap();
        assert_eq!(week.total.nanos(), day.total.nanos() * 7);
        assert_eq!(week.shared.nanos(), day.shared.nanos() * 7);
        assert!(week.is_consistent());
    }

    #[tokio::test(start_paused = true)]
    async fn spot_pools_use_the_spot_price() {
        let cloud = SimCloud::builder().provisioning_delay(Duration::ZERO).build();
        let mut spec = cluster_spec("c1");
        spec.node_pools[0].capacity = Capacity::Spot;
        cloud.provisioner().apply(&spec, &Progress::none()).await.unwrap();
        let report = cloud.cost_analyzer().cost(&spec.id(), &window(&cloud, 10)).await.unwrap();
        let spot = PriceTable::sim_default().get("m5.large").unwrap().spot.unwrap();
        assert_eq!(report.nodes[0].hourly_price, spot);
        assert!(report.nodes[0].hourly_price < HourlyRate::usd(96, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn currencies_that_do_not_match_are_errors() {
        let eur: crate::model::Currency = "EUR".parse().unwrap();
        // Node prices in EUR, the control-plane fee in USD: the report cannot add them up.
        let mut prices = PriceTable::sim_default();
        let mut m5 = prices.get("m5.large").unwrap().clone();
        m5.on_demand = HourlyRate::new(Money::new(9, 2, eur));
        m5.spot = None;
        prices.insert(m5);
        let cloud = SimCloud::builder().prices(prices).build();
        let id = cluster_with_apps(&cloud).await;
        let err = cloud.cost_analyzer().cost(&id, &window(&cloud, 24)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Provider);
        assert!(err.to_string().contains("cannot combine USD and EUR amounts"), "{err}");

        let cloud = SimCloud::new();
        let id = cluster_with_apps(&cloud).await;
        let options = RecommendOptions { min_monthly_savings: Some(Money::new(5, 0, eur)), ..Default::default() };
        let err = cloud.cost_analyzer().recommend(&id, &window(&cloud, 24), &options).await.unwrap_err();
        assert_eq!(err.violations()[0].field, "min_monthly_savings");
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_cluster_is_not_found() {
        let cloud = SimCloud::new();
        let analyzer = cloud.cost_analyzer();
        let err = analyzer.cost(&ClusterId::new("nope"), &window(&cloud, 1)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = analyzer.recommend(&ClusterId::new("nope"), &window(&cloud, 1), &Default::default()).await;
        assert_eq!(err.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(analyzer.capabilities().billing_source, "sim price table");
    }

    #[tokio::test(start_paused = true)]
    async fn workloads_and_usage_come_from_deployed_apps() {
        let cloud = SimCloud::new();
        let id = cluster_with_apps(&cloud).await;
        let w = window(&cloud, 24);
        let snap = cloud.with_state(|st, ctx| snapshot(st.cluster(&id).unwrap(), &w, ctx.config.seed));
        let names: Vec<(String, bool, String)> =
            snap.workloads.iter().map(|p| (p.workload.name.clone(), p.interruptible, p.node_pool.clone())).collect();
        assert_eq!(names, vec![("api".into(), false, "general".into()), ("web".into(), true, "general".into())]);
        assert_eq!(snap.workloads[0].cpu_request, Cpu::from_millis(500));
        assert_eq!(snap.workloads[0].replicas, 2.0);
        assert_eq!(snap.usage.len(), 48, "24 hourly samples per app");

        // Explicit fractions move the synthetic level; recorded samples replace it.
        cloud.set_usage(&id, &AppRef::new("shop", "web"), 1.0, 1.0).unwrap();
        let usage = usage_for(&cloud, &id, &w);
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
        let usage = usage_for(&cloud, &id, &w);
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
        let snap = cloud.with_state(|st, ctx| snapshot(st.cluster(&id).unwrap(), &w, ctx.config.seed));
        let batch = snap.workloads.iter().find(|p| p.workload.name == "batch").unwrap();
        assert_eq!(batch.node_pool, "spot");
    }

    #[tokio::test(start_paused = true)]
    async fn allocation_covers_every_app_and_reflects_usage() {
        let cloud = SimCloud::new();
        let id = cluster_with_apps(&cloud).await;
        cloud.set_usage(&id, &AppRef::new("shop", "web"), 0.5, 0.5).unwrap();
        let report = cloud.cost_analyzer().cost(&id, &window(&cloud, 24)).await.unwrap();
        assert!(report.is_consistent());
        assert_eq!(report.allocations.len(), 2);
        let web = report.allocations.iter().find(|a| a.workload.name == "web").unwrap();
        assert!((web.cpu_efficiency - 0.5).abs() < 0.05, "{web:?}");
        assert!(web.total.nanos() > 0);
        let err = cloud.cost_analyzer().cost(&id, &TimeWindow::new(cloud.now(), cloud.now())).await.unwrap_err();
        assert_eq!(err.violations()[0].field, "window");
    }

    #[tokio::test(start_paused = true)]
    async fn over_provisioned_apps_get_recommendations() {
        let cloud = SimCloud::new();
        let id = cluster_with_apps(&cloud).await;
        for name in ["web", "api"] {
            cloud.set_usage(&id, &AppRef::new("shop", name), 0.05, 0.05).unwrap();
        }
        let analyzer = cloud.cost_analyzer();
        let recs = analyzer.recommend(&id, &window(&cloud, 24 * 14), &Default::default()).await.unwrap();
        assert!(!recs.is_empty());
        let savings: Vec<i128> = recs.iter().map(|r| r.estimated_monthly_savings.amount().nanos()).collect();
        assert!(savings.windows(2).all(|w| w[0] >= w[1]), "highest savings first");
        let only = RecommendOptions { kinds: vec!["right_size"], ..Default::default() };
        let recs = analyzer.recommend(&id, &window(&cloud, 24 * 14), &only).await.unwrap();
        assert!(!recs.is_empty() && recs.iter().all(|r| matches!(r.action, RecommendedAction::RightSize { .. })));
    }
}
