//! The one shared state of a [`super::SimCloud`], and how clusters move through their lifecycle.
//!
//! Cluster operations are lazy: an operation stores the instant it completes, and every access first "settles"
//! the state against the simulated clock, completing what is due with the timestamp of the moment it was due.
//! So nothing runs in the background and reads at the same simulated time always agree.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::deployer::AppRecord;
use super::faults::{CallEntry, FaultState};
use super::{Ctx, PROVIDER, ident};
use crate::error::{Error, Result};
use crate::model::{
    AppRef, ChangeAction, Cluster, ClusterId, ClusterSpec, ClusterStatus, ConditionType, MANAGED_BY_VALUE, MeshPolicy,
    NodePoolStatus, OWNER_TAG, PlannedChange, UsageSample,
};

/// The platform version every simulated cluster reports.
const PLATFORM_VERSION: &str = "sim.1";

/// Everything the simulated cloud holds.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Clusters by id, with what runs on them.
    pub(crate) clusters: BTreeMap<ClusterId, ClusterRecord>,
    /// Fault injection settings and counters.
    pub(crate) faults: FaultState,
    /// Counted trait calls so far.
    pub(crate) calls: u64,
}

/// One cluster and everything on it.
#[derive(Debug)]
pub(crate) struct ClusterRecord {
    /// The spec in force (with the ownership tag when owned).
    pub(crate) spec: ClusterSpec,
    /// Status as of the last settle.
    pub(crate) status: ClusterStatus,
    /// The operation in progress, if any.
    pub(crate) op: Option<ClusterOp>,
    /// Deployed apps.
    pub(crate) apps: BTreeMap<AppRef, AppRecord>,
    /// Mesh policies by app.
    pub(crate) mesh: BTreeMap<AppRef, MeshPolicy>,
    /// Usage settings for cost analysis.
    pub(crate) usage: UsageConfig,
}

/// Usage settings of one cluster's workloads.
#[derive(Debug, Default)]
pub(crate) struct UsageConfig {
    /// `(cpu, memory)` fractions of requests used, per app, overriding the defaults.
    pub(crate) fractions: BTreeMap<AppRef, (f64, f64)>,
    /// Recorded samples, sorted by workload and time; they replace synthetic usage for their workloads.
    pub(crate) samples: Vec<UsageSample>,
}

/// A cluster operation in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClusterOp {
    /// What it does.
    pub(crate) kind: OpKind,
    /// When it completes.
    pub(crate) done_at: Instant,
}

/// The kinds of cluster operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    /// Creating the cluster.
    Create,
    /// Updating it (in place or by replacing node pools).
    Update,
    /// Deleting it.
    Delete,
}

/// `spec` as wooo would tag it: with the ownership tag.
pub(crate) fn with_owner_tag(spec: &ClusterSpec) -> ClusterSpec {
    let mut spec = spec.clone();
    spec.tags.insert(OWNER_TAG.to_string(), MANAGED_BY_VALUE.to_string());
    spec
}

impl State {
    /// Counts a call and decides its injected fault.
    pub(crate) fn enter_call(&mut self, operation: &'static str) -> CallEntry {
        self.calls += 1;
        self.faults.enter(operation)
    }

    /// Completes every cluster operation due by `ctx.now`.
    pub(crate) fn settle(&mut self, ctx: &Ctx<'_>) {
        let mut gone = Vec::new();
        for (id, record) in &mut self.clusters {
            if record.settle(ctx) {
                gone.push(id.clone());
            }
        }
        for id in gone {
            self.clusters.remove(&id);
        }
    }

    /// A cluster.
    pub(crate) fn cluster(&self, id: &ClusterId) -> Result<&ClusterRecord> {
        self.clusters.get(id).ok_or_else(|| cluster_not_found(id))
    }

    /// A cluster, to change.
    pub(crate) fn cluster_mut(&mut self, id: &ClusterId) -> Result<&mut ClusterRecord> {
        self.clusters.get_mut(id).ok_or_else(|| cluster_not_found(id))
    }

    /// A cluster that must be available, as mutating app and mesh calls need.
    pub(crate) fn available_cluster_mut(&mut self, id: &ClusterId) -> Result<&mut ClusterRecord> {
        let record = self.cluster_mut(id)?;
        if !record.is_available() {
            let state = record.phase();
            return Err(Error::conflict(PROVIDER, format!("cluster {id} is not available ({state})")));
        }
        Ok(record)
    }

    /// Inserts an available cluster without the ownership tag.
    pub(crate) fn adopt_unowned(&mut self, mut spec: ClusterSpec, ctx: &Ctx<'_>) -> Result<Cluster> {
        spec.tags.remove(OWNER_TAG);
        super::provisioner::check_spec(&spec, &ctx.config.prices)?;
        let id = spec.id();
        if self.clusters.contains_key(&id) {
            return Err(Error::already_exists(PROVIDER, format!("cluster {id}")));
        }
        let mut record = ClusterRecord::creating(spec, false, ctx);
        record.op = Some(ClusterOp { kind: OpKind::Create, done_at: ctx.now });
        record.settle(ctx);
        let cluster = record.view();
        self.clusters.insert(id, record);
        Ok(cluster)
    }
}

pub(crate) fn cluster_not_found(id: &ClusterId) -> Error {
    Error::not_found(PROVIDER, format!("cluster {id}"))
}

impl ClusterRecord {
    /// A cluster being created: provisioning, not available, no pool ready yet.
    pub(crate) fn creating(spec: ClusterSpec, owned: bool, ctx: &Ctx<'_>) -> Self {
        let now = ctx.now_ts();
        let mut status = ClusterStatus { created_at: Some(now), owned, ..ClusterStatus::default() };
        status.set_condition(ConditionType::Provisioning, true, "Creating", "creating the cluster", now);
        status.set_condition(ConditionType::Available, false, "Creating", "the cluster is being created", now);
        status.node_pools = spec
            .node_pools
            .iter()
            .map(|p| NodePoolStatus {
                name: p.name.clone(),
                ready_nodes: 0,
                desired_nodes: p.desired_count(),
                updating: true,
            })
            .collect();
        let op = ClusterOp { kind: OpKind::Create, done_at: ctx.now + ctx.config.provisioning_delay };
        Self { spec, status, op: Some(op), apps: BTreeMap::new(), mesh: BTreeMap::new(), usage: UsageConfig::default() }
    }

    /// The cluster as a caller sees it.
    pub(crate) fn view(&self) -> Cluster {
        Cluster { id: self.spec.id(), spec: self.spec.clone(), status: self.status.clone() }
    }

    /// Whether the `Available` condition holds.
    pub(crate) fn is_available(&self) -> bool {
        self.status.condition(ConditionType::Available).is_some_and(|c| c.status)
    }

    /// Whether wooo owns the cluster.
    pub(crate) fn owned(&self) -> bool {
        self.status.owned
    }

    /// Whether a delete is in progress.
    pub(crate) fn is_deleting(&self) -> bool {
        matches!(self.op, Some(ClusterOp { kind: OpKind::Delete, .. }))
    }

    /// A word for error messages: what the cluster is doing.
    pub(crate) fn phase(&self) -> &'static str {
        match self.op.map(|o| o.kind) {
            Some(OpKind::Create) => "being created",
            Some(OpKind::Update) => "being updated",
            Some(OpKind::Delete) => "being deleted",
            None if self.is_available() => "available",
            None => "not ready",
        }
    }

    /// Starts an update to `spec` made of `changes`, taking `delay`.
    pub(crate) fn start_update(
        &mut self,
        spec: ClusterSpec,
        changes: &[PlannedChange],
        delay: Duration,
        ctx: &Ctx<'_>,
    ) {
        let now = ctx.now_ts();
        let targets: Vec<&str> = changes.iter().map(|c| c.target.as_str()).collect();
        let message = format!("updating {}", targets.join(", "));
        self.status.set_condition(ConditionType::Provisioning, true, "Updating", message, now);
        self.status.set_condition(ConditionType::Available, false, "Updating", "the cluster is being updated", now);
        let old: BTreeMap<String, NodePoolStatus> =
            self.status.node_pools.drain(..).map(|p| (p.name.clone(), p)).collect();
        self.status.node_pools = spec
            .node_pools
            .iter()
            .map(|p| {
                let desired = p.desired_count();
                let target = format!("node_pool/{}", p.name);
                let change = changes.iter().find(|c| c.target == target).map(|c| c.action);
                let old_ready = old.get(&p.name).map_or(0, |s| s.ready_nodes);
                let ready = match change {
                    Some(ChangeAction::Create | ChangeAction::Replace) => 0,
                    _ => old_ready.min(desired),
                };
                let updating = matches!(change, Some(a) if a != ChangeAction::NoOp);
                NodePoolStatus { name: p.name.clone(), ready_nodes: ready, desired_nodes: desired, updating }
            })
            .collect();
        self.spec = spec;
        self.op = Some(ClusterOp { kind: OpKind::Update, done_at: ctx.now + delay });
    }

    /// Starts deleting: conditions, and what ran on the cluster is dropped at once.
    pub(crate) fn start_delete(&mut self, ctx: &Ctx<'_>) {
        let now = ctx.now_ts();
        self.status.set_condition(ConditionType::Deleting, true, "Deleting", "deleting the cluster", now);
        self.status.set_condition(ConditionType::Provisioning, false, "Deleting", "the cluster is being deleted", now);
        self.status.set_condition(ConditionType::Available, false, "Deleting", "the cluster is being deleted", now);
        for pool in &mut self.status.node_pools {
            pool.updating = true;
        }
        self.apps.clear();
        self.mesh.clear();
        self.usage = UsageConfig::default();
        self.op = Some(ClusterOp { kind: OpKind::Delete, done_at: ctx.now + ctx.config.deletion_delay });
    }

    /// Completes the operation if it is due. Returns true when the cluster is gone.
    fn settle(&mut self, ctx: &Ctx<'_>) -> bool {
        let Some(op) = self.op else { return false };
        if op.done_at > ctx.now {
            return false;
        }
        self.op = None;
        // The transition happened when the operation was due, not when someone looked.
        let at = ctx.timestamp(op.done_at);
        let (reason, message) = match op.kind {
            OpKind::Delete => return true,
            OpKind::Create => ("Created", "the cluster was created"),
            OpKind::Update => ("Updated", "the cluster was updated"),
        };
        let status = &mut self.status;
        status.set_condition(ConditionType::Provisioning, false, reason, message, at);
        status.set_condition(ConditionType::Available, true, "Ready", "the cluster serves its API", at);
        let created_at = status.created_at.unwrap_or(at);
        status.endpoint = Some(ident::endpoint(&self.spec.name, &self.spec.region));
        status.ca_data = Some(ident::ca_data(ctx.config.seed, &self.spec.name, created_at));
        status.kubernetes_version = Some(self.spec.kubernetes_version.clone());
        status.platform_version = Some(PLATFORM_VERSION.to_string());
        for pool in &mut status.node_pools {
            pool.ready_nodes = pool.desired_nodes;
            pool.updating = false;
        }
        false
    }
}
