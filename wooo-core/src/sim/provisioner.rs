//! [`SimProvisioner`]: the simulated cluster lifecycle.

use async_trait::async_trait;

use super::state::{ClusterRecord, State, cluster_not_found, with_owner_tag};
use super::{Ctx, PROVIDER, SimCloud, ident};
use crate::error::{Error, FieldViolation, Result};
use crate::model::PriceTable;
use crate::model::{
    ChangeAction, Cluster, ClusterAccess, ClusterAuth, ClusterId, ClusterPlan, ClusterSpec, PlannedChange, SecretString,
};
use crate::progress::{OperationGuard, Progress};
use crate::provisioner::{DeleteOptions, Provisioner, ProvisionerCapabilities};
use crate::{plan, validate};

/// Most node pools a simulated cluster accepts.
const MAX_NODE_POOLS: u32 = 10;

/// The simulated [`Provisioner`]: clusters that become available after
/// [`super::SimCloudBuilder::provisioning_delay`]. Accepts specs of any `provider`, so real specs can be
/// dry-run. Get one from [`SimCloud::provisioner`].
#[derive(Debug, Clone)]
pub struct SimProvisioner {
    cloud: SimCloud,
}

impl SimProvisioner {
    pub(crate) fn new(cloud: SimCloud) -> Self {
        Self { cloud }
    }
}

/// Validates a spec as every mutating call does: the shared validation plus what the simulator supports, every
/// violation reported at once.
pub(crate) fn check_spec(spec: &ClusterSpec, prices: &PriceTable) -> Result<()> {
    let mut violations = match validate::cluster_spec(spec) {
        Ok(_) => Vec::new(),
        Err(e @ Error::InvalidSpec { .. }) => e.violations(),
        Err(e) => return Err(e),
    };
    if spec.node_pools.len() > MAX_NODE_POOLS as usize {
        violations.push(FieldViolation {
            field: "node_pools".to_string(),
            reason: format!(
                "the simulator supports at most {MAX_NODE_POOLS} node pools, got {}",
                spec.node_pools.len()
            ),
        });
    }
    for (i, pool) in spec.node_pools.iter().enumerate() {
        for (j, instance_type) in pool.instance_types.iter().enumerate() {
            if prices.get(instance_type).is_none() {
                violations.push(FieldViolation {
                    field: format!("node_pools[{i}].instance_types[{j}]"),
                    reason: format!("instance type `{instance_type}` is not in the price table of {}", prices.region),
                });
            }
        }
    }
    Error::from_violations(violations).map_or(Ok(()), Err)
}

/// The spec as it would be stored: with the ownership tag, unless the cluster exists unowned.
fn desired_for(spec: &ClusterSpec, current: Option<&ClusterRecord>) -> ClusterSpec {
    match current {
        Some(record) if !record.owned() => spec.clone(),
        _ => with_owner_tag(spec),
    }
}

/// The changes that take effect; when the plan lists none but something changes, the change as a whole.
fn effective_changes(plan: ClusterPlan, fallback: ChangeAction, reason: &str) -> Vec<PlannedChange> {
    let changes: Vec<PlannedChange> = plan.changes.into_iter().filter(|c| c.action != ChangeAction::NoOp).collect();
    if !changes.is_empty() {
        return changes;
    }
    vec![PlannedChange { target: "cluster".to_string(), action: fallback, fields: Vec::new(), reason: reason.into() }]
}

fn apply_locked(st: &mut State, ctx: &Ctx<'_>, spec: &ClusterSpec) -> Result<(Cluster, Vec<PlannedChange>)> {
    check_spec(spec, &ctx.config.prices)?;
    let id = spec.id();
    if !st.clusters.contains_key(&id) {
        let desired = with_owner_tag(spec);
        let plan = plan::cluster(&desired, None)?;
        let changes = effective_changes(plan, ChangeAction::Create, "create the cluster");
        st.clusters.insert(id.clone(), ClusterRecord::creating(desired, true, ctx));
        // A zero delay completes at once: settle so the caller sees it.
        st.settle(ctx);
        return Ok((st.cluster(&id)?.view(), changes));
    }
    let record = st.cluster_mut(&id)?;
    if record.is_deleting() {
        return Err(Error::conflict(PROVIDER, format!("cluster {id} is being deleted")));
    }
    let desired = desired_for(spec, Some(record));
    if desired == record.spec {
        return Ok((record.view(), Vec::new()));
    }
    if !record.owned() {
        return Err(not_owned(&id, "update"));
    }
    if record.op.is_some() {
        let phase = record.phase();
        return Err(Error::conflict(PROVIDER, format!("cluster {id} is {phase}; apply again when it is done")));
    }
    let plan = plan::cluster(&desired, Some(&record.view()))?;
    let changes = effective_changes(plan, ChangeAction::UpdateInPlace, "the spec changed");
    let replaces = changes.iter().any(|c| matches!(c.action, ChangeAction::Create | ChangeAction::Replace));
    let delay = if replaces { ctx.config.provisioning_delay } else { ctx.config.provisioning_delay / 2 };
    record.start_update(desired, &changes, delay, ctx);
    st.settle(ctx);
    Ok((st.cluster(&id)?.view(), changes))
}

fn not_owned(id: &ClusterId, what: &str) -> Error {
    Error::conflict(
        PROVIDER,
        format!("cluster {id} does not carry wooo's ownership tag; refusing to {what} a cluster wooo did not create"),
    )
}

fn delete_locked(st: &mut State, ctx: &Ctx<'_>, id: &ClusterId, force_unowned: bool) -> Result<Vec<String>> {
    let record = st.cluster_mut(id)?;
    if !record.owned() && !force_unowned {
        return Err(not_owned(id, "delete"));
    }
    if record.is_deleting() {
        return Ok(Vec::new());
    }
    let mut steps: Vec<String> =
        record.spec.node_pools.iter().map(|p| format!("delete node pool {}", p.name)).collect();
    steps.push("delete control plane".to_string());
    record.start_delete(ctx);
    st.settle(ctx);
    Ok(steps)
}

fn scale_locked(st: &mut State, ctx: &Ctx<'_>, id: &ClusterId, pool: &str, desired: u32) -> Result<Cluster> {
    let record = st.cluster_mut(id)?;
    let index = record
        .spec
        .node_pools
        .iter()
        .position(|p| p.name == pool)
        .ok_or_else(|| Error::not_found(PROVIDER, format!("node pool {pool} in cluster {id}")))?;
    validate::node_pool_scale(&record.spec.node_pools[index], desired)?;
    if record.is_deleting() {
        return Err(Error::conflict(PROVIDER, format!("cluster {id} is being deleted")));
    }
    if record.spec.node_pools[index].desired_count() == desired {
        return Ok(record.view());
    }
    if !record.owned() {
        return Err(not_owned(id, "scale"));
    }
    if record.op.is_some() {
        return Err(Error::conflict(PROVIDER, format!("cluster {id} is {}", record.phase())));
    }
    let mut spec = record.spec.clone();
    spec.node_pools[index].desired = Some(desired);
    let change = PlannedChange {
        target: format!("node_pool/{pool}"),
        action: ChangeAction::UpdateInPlace,
        fields: vec![format!("node_pools[{index}].desired")],
        reason: format!("scale to {desired} nodes"),
    };
    record.start_update(spec, &[change], ctx.config.provisioning_delay / 2, ctx);
    st.settle(ctx);
    Ok(st.cluster(id)?.view())
}

fn access_locked(st: &State, ctx: &Ctx<'_>, id: &ClusterId) -> Result<ClusterAccess> {
    let record = st.clusters.get(id).ok_or_else(|| cluster_not_found(id))?;
    let (Some(endpoint), true) = (&record.status.endpoint, record.is_available()) else {
        return Err(Error::conflict(PROVIDER, format!("cluster {id} is {}, not available", record.phase())));
    };
    let created_at = record.status.created_at.unwrap_or_else(|| ctx.now_ts());
    Ok(ClusterAccess {
        cluster: id.clone(),
        endpoint: endpoint.clone(),
        ca_data: record.status.ca_data.clone(),
        auth: ClusterAuth::Token(SecretString::new(ident::token(ctx.config.seed, id.as_str(), created_at))),
    })
}

#[async_trait]
impl Provisioner for SimProvisioner {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> ProvisionerCapabilities {
        ProvisionerCapabilities {
            spot: true,
            multiple_instance_types: true,
            in_place_upgrade: true,
            private_endpoint: true,
            max_node_pools: Some(MAX_NODE_POOLS),
        }
    }

    async fn plan(&self, spec: &ClusterSpec) -> Result<ClusterPlan> {
        self.cloud
            .call("cluster.plan", |st, ctx| {
                check_spec(spec, &ctx.config.prices)?;
                let current = st.clusters.get(&spec.id());
                let desired = desired_for(spec, current);
                plan::cluster(&desired, current.map(ClusterRecord::view).as_ref())
            })
            .await
    }

    async fn apply(&self, spec: &ClusterSpec, progress: &Progress) -> Result<Cluster> {
        let op = OperationGuard::start(progress, "cluster.apply", format!("cluster/{}", spec.name));
        let result = self.cloud.call("cluster.apply", |st, ctx| apply_locked(st, ctx, spec)).await;
        let (cluster, changes) = match result {
            Ok(ok) => ok,
            Err(e) => return op.finish(Err(e)),
        };
        let total = u32::try_from(changes.len()).unwrap_or(u32::MAX);
        for (done, change) in (1..=total).zip(&changes) {
            op.step(change.to_string(), done, Some(total));
        }
        op.finish(Ok(cluster))
    }

    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        self.cloud.call("cluster.get", |st, _| st.cluster(id).map(ClusterRecord::view)).await
    }

    async fn list(&self) -> Result<Vec<Cluster>> {
        self.cloud.call("cluster.list", |st, _| Ok(st.clusters.values().map(ClusterRecord::view).collect())).await
    }

    async fn delete(&self, id: &ClusterId, options: &DeleteOptions) -> Result<()> {
        let op = OperationGuard::start(&options.progress, "cluster.delete", format!("cluster/{id}"));
        let result =
            self.cloud.call("cluster.delete", |st, ctx| delete_locked(st, ctx, id, options.force_unowned)).await;
        let steps = match result {
            Ok(steps) => steps,
            Err(e) => return op.finish(Err(e)),
        };
        let total = u32::try_from(steps.len()).unwrap_or(u32::MAX);
        for (done, step) in (1..=total).zip(steps) {
            op.step(step, done, Some(total));
        }
        op.finish(Ok(()))
    }

    async fn scale_node_pool(&self, id: &ClusterId, node_pool: &str, desired: u32) -> Result<Cluster> {
        self.cloud.call("cluster.scale_node_pool", |st, ctx| scale_locked(st, ctx, id, node_pool, desired)).await
    }

    async fn access(&self, id: &ClusterId) -> Result<ClusterAccess> {
        self.cloud.call("cluster.access", |st, ctx| access_locked(st, ctx, id)).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::fixtures::*;
    use super::*;
    use crate::model::{CloudKind, ConditionType, MANAGED_BY_VALUE, OWNER_TAG};
    use crate::progress::ProgressEvent;
    use crate::{Deployer, ErrorKind, ProvisionerExt, WaitOptions};

    fn condition(cluster: &Cluster, kind: ConditionType) -> (bool, String) {
        let c = cluster.status.condition(kind).unwrap_or_else(|| panic!("{kind:?} condition"));
        (c.status, c.reason.clone())
    }

    fn steps(events: &[ProgressEvent]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                ProgressEvent::Step { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<ProgressEvent>) -> Vec<ProgressEvent> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn new_cluster_provisions_then_becomes_available_after_the_delay() {
        let cloud = SimCloud::new();
        let prov = cloud.provisioner();
        let (progress, mut rx) = Progress::channel();
        let created = prov.apply(&cluster_spec("c1"), &progress).await.unwrap();
        assert!(!created.is_ready());
        assert_eq!(condition(&created, ConditionType::Provisioning), (true, "Creating".into()));
        assert_eq!(condition(&created, ConditionType::Available), (false, "Creating".into()));
        assert!(created.status.owned);
        assert_eq!(created.spec.tags.get(OWNER_TAG).map(String::as_str), Some(MANAGED_BY_VALUE));
        assert_eq!(created.status.created_at.unwrap().to_string(), "2026-01-01T00:00:00Z");
        assert_eq!(created.status.node_pools[0].ready_nodes, 0);
        assert!(created.status.endpoint.is_none());
        let events = drain(&mut rx);
        assert!(matches!(events.first(), Some(ProgressEvent::Started { operation: "cluster.apply", .. })));
        assert!(!steps(&events).is_empty(), "one step per planned change");
        assert!(matches!(events.last(), Some(ProgressEvent::Finished { success: true, .. })));

        tokio::time::sleep(Duration::from_millis(2999)).await;
        assert!(!prov.get(&created.id).await.unwrap().is_ready(), "not ready before the delay");
        tokio::time::sleep(Duration::from_millis(1)).await;
        let ready = prov.get(&created.id).await.unwrap();
        assert!(ready.is_ready());
        assert_eq!(condition(&ready, ConditionType::Provisioning), (false, "Created".into()));
        let available = ready.status.condition(ConditionType::Available).unwrap();
        assert_eq!(available.last_transition.to_string(), "2026-01-01T00:00:03Z");
        assert_eq!(ready.status.endpoint.as_deref(), Some("https://c1.us-east-1.sim.invalid"));
        assert!(ready.status.ca_data.is_some());
        assert_eq!(ready.status.kubernetes_version.as_deref(), Some("1.33"));
        assert_eq!(ready.status.node_pools[0].ready_nodes, 2);
        assert_eq!(ready.status.node_pools[0].desired_nodes, 2);
        assert!(!ready.status.node_pools[0].updating);
    }

    #[tokio::test(start_paused = true)]
    async fn same_spec_again_is_a_no_op() {
        let cloud = SimCloud::new();
        let prov = cloud.provisioner();
        let first = prov.ensure(&cluster_spec("c1"), &WaitOptions::default(), &Progress::none()).await.unwrap();
        let (progress, mut rx) = Progress::channel();
        let again = prov.apply(&cluster_spec("c1"), &progress).await.unwrap();
        assert_eq!(again, first, "same cluster, same conditions and timestamps");
        assert!(again.is_ready(), "no new operation");
        assert!(steps(&drain(&mut rx)).is_empty());
        // While creating, re-applying the same spec is accepted too.
        let c2 = prov.apply(&cluster_spec("c2"), &Progress::none()).await.unwrap();
        assert_eq!(prov.apply(&cluster_spec("c2"), &Progress::none()).await.unwrap(), c2);
    }

    #[tokio::test(start_paused = true)]
    async fn in_place_update_takes_half_the_delay() {
        let cloud = SimCloud::new();
        let prov = cloud.provisioner();
        ready_cluster(&cloud, "c1").await;
        let mut spec = cluster_spec("c1");
        spec.node_pools[0].max = 6;
        let updating = prov.apply(&spec, &Progress::none()).await.unwrap();
        assert_eq!(condition(&updating, ConditionType::Provisioning), (true, "Updating".into()));
        assert!(!updating.is_ready());
        assert_eq!(updating.spec.node_pools[0].max, 6);
        assert_eq!(updating.status.created_at.unwrap().to_string(), "2026-01-01T00:00:00Z");
        tokio::time::sleep(Duration::from_millis(1499)).await;
        assert!(!prov.get(&updating.id).await.unwrap().is_ready());
        tokio::time::sleep(Duration::from_millis(1)).await;
        let done = prov.get(&updating.id).await.unwrap();
        assert!(done.is_ready());
        assert_eq!(condition(&done, ConditionType::Provisioning), (false, "Updated".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn replacing_a_node_pool_takes_the_full_delay() {
        let cloud = SimCloud::new();
        let prov = cloud.provisioner();
        ready_cluster(&cloud, "c1").await;
        let mut spec = cluster_spec("c1");
        spec.node_pools[0].instance_types = vec!["m6i.large".into()];
        let plan = prov.plan(&spec).await.unwrap();
        assert!(plan.is_destructive(), "{plan}");
        let updating = prov.apply(&spec, &Progress::none()).await.unwrap();
        assert_eq!(updating.status.node_pools[0].ready_nodes, 0, "the replaced pool starts from scratch");
        assert!(updating.status.node_pools[0].updating);
        tokio::time::sleep(Duration::from_millis(2999)).await;
        assert!(!prov.get(&updating.id).await.unwrap().is_ready(), "a replacement takes longer than an update");
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(prov.get(&updating.id).await.unwrap().is_ready());
    }

    #[tokio::test(start_paused = true)]
    async fn different_spec_during_an_operation_conflicts() {
        let cloud = SimCloud::new();
        let prov = cloud.provisioner();
        prov.apply(&cluster_spec("c1"), &Progress::none()).await.unwrap();
        let mut spec = cluster_spec("c1");
        spec.node_pools[0].max = 6;
        let err = prov.apply(&spec, &Progress::none()).await.unwrap_err();
        assert!(matches!(err, Error::Conflict { provider: "sim", .. }), "{err:?}");
        assert_eq!(prov.get(&spec.id()).await.unwrap().spec.node_pools[0].max, 5, "unchanged");
    }

    #[tokio::test(start_paused = true)]
    async fn delete_goes_through_deleting_then_disappears() {
        let cloud = SimCloud::new();
        let prov = cloud.provisioner();
        let cluster = ready_cluster(&cloud, "c1").await;
        let deployer = cloud.deployer(&cluster.id).unwrap();
        deployer.apply(&web_app("shop", "web"), &Progress::none()).await.unwrap();
        let (progress, mut rx) = Progress::channel();
        prov.delete(&cluster.id, &DeleteOptions { force_unowned: false, progress }).await.unwrap();
        assert_eq!(steps(&drain(&mut rx)), vec!["delete node pool general", "delete control plane"]);
        let deleting = prov.get(&cluster.id).await.unwrap();
        assert_eq!(condition(&deleting, ConditionType::Deleting), (true, "Deleting".into()));
        assert!(!deleting.is_ready());
        assert!(deployer.list().await.unwrap().is_empty(), "apps go with the cluster");
        let err = prov.apply(&cluster_spec("c1"), &Progress::none()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict, "apply while deleting");
        assert!(prov.access(&cluster.id).await.is_err());
        prov.delete(&cluster.id, &DeleteOptions::default()).await.unwrap();

        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(prov.get(&cluster.id).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(prov.delete(&cluster.id, &DeleteOptions::default()).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(deployer.list().await.unwrap_err().kind(), ErrorKind::NotFound);
        // The name can be used again, and the new cluster starts empty.
        let recreated_at = cloud.now();
        let again = ready_cluster(&cloud, "c1").await;
        assert!(cloud.deployer(&again.id).unwrap().list().await.unwrap().is_empty());
        assert_eq!(again.status.created_at, Some(recreated_at));
        assert_ne!(again.status.ca_data, deleting.status.ca_data, "a new incarnation gets a new CA");
        prov.wait_deleted(&ClusterId::new("never"), &WaitOptions::default(), &Progress::none()).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn unowned_clusters_are_refused_unless_forced() {
        let cloud = SimCloud::new();
        let prov = cloud.provisioner();
        let mut spec = cluster_spec("theirs");
        spec.tags.insert(OWNER_TAG.into(), MANAGED_BY_VALUE.into());
        let adopted = cloud.adopt_unowned(spec.clone()).unwrap();
        assert!(adopted.is_ready());
        assert!(!adopted.status.owned);
        assert!(!adopted.spec.tags.contains_key(OWNER_TAG));
        assert_eq!(cloud.adopt_unowned(spec).unwrap_err().kind(), ErrorKind::AlreadyExists);

        assert_eq!(prov.apply(&cluster_spec("theirs"), &Progress::none()).await.unwrap(), adopted, "no change");
        let mut changed = cluster_spec("theirs");
        changed.node_pools[0].max = 9;
        assert_eq!(prov.apply(&changed, &Progress::none()).await.unwrap_err().kind(), ErrorKind::Conflict);
        assert_eq!(prov.scale_node_pool(&adopted.id, "general", 3).await.unwrap_err().kind(), ErrorKind::Conflict);
        let err = prov.delete(&adopted.id, &DeleteOptions::default()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert!(prov.get(&adopted.id).await.unwrap().is_ready(), "untouched");
        prov.delete(&adopted.id, &DeleteOptions { force_unowned: true, ..Default::default() }).await.unwrap();
        prov.wait_deleted(&adopted.id, &WaitOptions::default(), &Progress::none()).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn scale_node_pool_updates_in_place() {
        let cloud = SimCloud::new();
        let prov = cloud.provisioner();
        let cluster = ready_cluster(&cloud, "c1").await;
        let scaling = prov.scale_node_pool(&cluster.id, "general", 4).await.unwrap();
        assert_eq!(scaling.spec.node_pools[0].desired, Some(4));
        let pool = &scaling.status.node_pools[0];
        assert_eq!((pool.ready_nodes, pool.desired_nodes, pool.updating), (2, 4, true));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let done = prov.get(&cluster.id).await.unwrap();
        assert_eq!(done.status.node_pools[0].ready_nodes, 4);
        assert!(done.is_ready());
        let same = prov.scale_node_pool(&cluster.id, "general", 4).await.unwrap();
        assert_eq!(same, done, "same size: nothing to do");
        let err = prov.scale_node_pool(&cluster.id, "gpu", 1).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = prov.scale_node_pool(&ClusterId::new("nope"), "general", 1).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }

    #[tokio::test(start_paused = true)]
    async fn scale_node_pool_outside_its_range_is_invalid() {
        let cloud = SimCloud::new();
        let prov = cloud.provisioner();
        let cluster = ready_cluster(&cloud, "c1").await;
        for desired in [1, 6] {
            let err = prov.scale_node_pool(&cluster.id, "general", desired).await.unwrap_err();
            assert_eq!(err.violations()[0].field, "desired", "{err}");
        }
        assert_eq!(prov.get(&cluster.id).await.unwrap(), cluster, "nothing changed");
    }

    #[tokio::test(start_paused = true)]
    async fn access_is_refused_until_available() {
        let cloud = SimCloud::new();
        let prov = cloud.provisioner();
        let cluster = prov.apply(&cluster_spec("c1"), &Progress::none()).await.unwrap();
        assert_eq!(prov.access(&cluster.id).await.unwrap_err().kind(), ErrorKind::Conflict);
        assert_eq!(prov.access(&ClusterId::new("nope")).await.unwrap_err().kind(), ErrorKind::NotFound);
        let ready = prov.wait_ready(&cluster.id, &WaitOptions::default(), &Progress::none()).await.unwrap();
        let access = prov.access(&cluster.id).await.unwrap();
        assert_eq!(access.endpoint, "https://c1.us-east-1.sim.invalid");
        assert_eq!(access.ca_data, ready.status.ca_data);
        let ClusterAuth::Token(token) = &access.auth else { panic!("token auth") };
        assert!(token.expose().starts_with("sim-"));
        assert!(!format!("{access:?}").contains(token.expose()), "the token is redacted");
        let kubeconfig = access.to_kubeconfig_yaml().unwrap();
        assert!(kubeconfig.contains("https://c1.us-east-1.sim.invalid"));
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_instance_types_and_too_many_pools_are_invalid() {
        let cloud = SimCloud::new();
        let prov = cloud.provisioner();
        let mut spec = cluster_spec("c1");
        spec.node_pools[0].instance_types.push("x9.huge".into());
        let err = prov.apply(&spec, &Progress::none()).await.unwrap_err();
        assert!(err.violations().iter().any(|v| v.field == "node_pools[0].instance_types[1]"), "{err}");
        assert_eq!(prov.plan(&spec).await.unwrap_err().kind(), ErrorKind::InvalidSpec);

        let mut spec = cluster_spec("c1");
        spec.node_pools = (0..11).map(|i| pool(&format!("p{i}"), "m5.large", 1, 2)).collect();
        let err = prov.apply(&spec, &Progress::none()).await.unwrap_err();
        assert!(err.violations().iter().any(|v| v.field == "node_pools"), "{err}");
        assert!(prov.list().await.unwrap().is_empty(), "nothing created");
        assert_eq!(prov.capabilities().max_node_pools, Some(10));
    }

    #[tokio::test(start_paused = true)]
    async fn any_provider_is_accepted_and_list_is_sorted() {
        let cloud = SimCloud::builder().provisioning_delay(Duration::ZERO).build();
        let prov = cloud.provisioner();
        for name in ["zeta", "alpha", "mid"] {
            let mut spec = cluster_spec(name);
            spec.provider = CloudKind::Aws;
            assert!(prov.apply(&spec, &Progress::none()).await.unwrap().is_ready(), "zero delay: ready at once");
        }
        let names: Vec<String> = prov.list().await.unwrap().into_iter().map(|c| c.id.to_string()).collect();
        assert_eq!(names, vec!["alpha", "mid", "zeta"]);
        let plan = prov.plan(&cluster_spec("alpha")).await.unwrap();
        assert_eq!(plan.cluster, ClusterId::new("alpha"));
    }

    #[tokio::test(start_paused = true)]
    async fn invalid_specs_change_nothing() {
        let cloud = SimCloud::new();
        let prov = cloud.provisioner();
        let mut spec = cluster_spec("c1");
        spec.node_pools[0].min = 9;
        let err = prov.apply(&spec, &Progress::none()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSpec);
        assert!(prov.list().await.unwrap().is_empty());
    }
}
