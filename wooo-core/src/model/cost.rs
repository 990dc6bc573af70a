//! Cost: windows, usage samples, reports with allocation, and recommendations with savings and evidence.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::cluster::Capacity;
use super::common::ClusterId;
use super::units::{Cpu, Currency, HourlyRate, Memory, Money, MoneyError, MonthlyRate};

/// A half-open time window `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeWindow {
    /// Start (inclusive).
    pub start: Timestamp,
    /// End (exclusive).
    pub end: Timestamp,
}

impl TimeWindow {
    /// A window.
    pub fn new(start: Timestamp, end: Timestamp) -> Self {
        Self { start, end }
    }

    /// The `hours` hours ending at `end`.
    pub fn last_hours(end: Timestamp, hours: i64) -> Self {
        Self { start: end - SignedDuration::from_hours(hours), end }
    }

    /// Length in hours (0 when `end` is not after `start`).
    pub fn hours(&self) -> f64 {
        let d = self.end.duration_since(self.start);
        (d.as_secs_f64() / 3600.0).max(0.0)
    }

    /// Length, exact to the nanosecond (zero when `end` is not after `start`): what rates are priced over.
    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::try_from(self.end.duration_since(self.start)).unwrap_or_default()
    }

    /// Whether `t` is in the window.
    pub fn contains(&self, t: Timestamp) -> bool {
        t >= self.start && t < self.end
    }

    /// The overlap of two windows, if any.
    pub fn intersect(&self, other: &TimeWindow) -> Option<TimeWindow> {
        let start = self.start.max(other.start);
        let end = self.end.min(other.end);
        (start < end).then_some(TimeWindow { start, end })
    }
}

/// A workload (the unit costs are allocated to).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WorkloadRef {
    /// Namespace.
    pub namespace: String,
    /// Workload (Deployment, StatefulSet, …) name.
    pub name: String,
}

impl WorkloadRef {
    /// A workload reference.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), name: name.into() }
    }
}

impl fmt::Display for WorkloadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// What a workload asks for and how it is run: the input of allocation and right-sizing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadProfile {
    /// The workload.
    pub workload: WorkloadRef,
    /// Replicas (average over the window).
    pub replicas: f64,
    /// CPU request per replica.
    pub cpu_request: Cpu,
    /// Memory request per replica.
    pub memory_request: Memory,
    /// Memory limit per replica, if any.
    pub memory_limit: Option<Memory>,
    /// Whether replicas can be stopped and rescheduled at any time (no local state, tolerates restarts): a
    /// spot candidate.
    pub interruptible: bool,
    /// The node pool it runs on.
    pub node_pool: String,
}

/// One usage sample of a workload (summed over its replicas).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageSample {
    /// The workload.
    pub workload: WorkloadRef,
    /// When.
    pub at: Timestamp,
    /// CPU used, all replicas.
    pub cpu: Cpu,
    /// Memory working set, all replicas.
    pub memory: Memory,
}

/// What ran on a cluster over a window, as cost analysis reads it: the node pools (as specified: desired size,
/// instance types, capacity type), the workloads with their requests, and usage samples. The simulator returns
/// one ([`crate::sim::SimCloud::cost_snapshot`]); the sources of `wooo-cost` produce one per cloud.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClusterSnapshot {
    /// The node pools.
    pub node_pools: Vec<super::cluster::NodePoolSpec>,
    /// The workloads and their requests.
    pub workloads: Vec<WorkloadProfile>,
    /// Usage samples in the window (empty when usage comes from elsewhere).
    pub usage: Vec<UsageSample>,
}

/// What a node pool costs over a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeCost {
    /// Node pool.
    pub node_pool: String,
    /// Instance type.
    pub instance_type: String,
    /// Capacity type.
    pub capacity: Capacity,
    /// Node-hours in the window.
    pub node_hours: f64,
    /// Price per node-hour.
    pub hourly_price: HourlyRate,
    /// Cost in the window.
    pub cost: Money,
    /// CPU per node.
    pub cpu_per_node: Cpu,
    /// Memory per node.
    pub memory_per_node: Memory,
}

/// A workload's share of the cluster's cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    /// The workload.
    pub workload: WorkloadRef,
    /// CPU part.
    pub cpu_cost: Money,
    /// Memory part.
    pub memory_cost: Money,
    /// `cpu_cost + memory_cost`.
    pub total: Money,
    /// Average CPU used over the window.
    pub cpu_used: Cpu,
    /// Average memory used over the window.
    pub memory_used: Memory,
    /// Used over requested CPU (0 to 1+).
    pub cpu_efficiency: f64,
    /// Used over requested memory (0 to 1+).
    pub memory_efficiency: f64,
}

/// A cluster's cost over a window.
///
/// Invariant, checked by the conformance suite: `sum(allocations.total) + idle + shared == total`, to the nano-unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostReport {
    /// The cluster.
    pub cluster: ClusterId,
    /// The window.
    pub window: TimeWindow,
    /// Currency of every amount.
    pub currency: Currency,
    /// Everything the cluster cost.
    pub total: Money,
    /// Node cost per pool.
    pub nodes: Vec<NodeCost>,
    /// Cluster-wide fees not tied to nodes (control plane, load balancers).
    pub shared: Money,
    /// Node capacity paid for but requested by no workload.
    pub idle: Money,
    /// Per workload allocation of the requested node capacity.
    pub allocations: Vec<Allocation>,
    /// Where the numbers came from (`sim price table`, `Cost Explorer`, …).
    pub source: String,
}

impl CostReport {
    /// Sum of all allocations.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] when an allocation is not in the report's currency (a report built or
    /// deserialized by hand; the cost engine never produces one).
    pub fn allocated(&self) -> Result<Money, MoneyError> {
        Money::checked_sum(self.allocations.iter().map(|a| a.total), self.currency)
    }

    /// Whether `allocated + idle + shared == total` exactly, every amount in the report's currency.
    pub fn is_consistent(&self) -> bool {
        let sum = self.allocated().and_then(|m| m.checked_add(self.idle)).and_then(|m| m.checked_add(self.shared));
        sum == Ok(self.total) && self.total.currency() == self.currency
    }

    /// Allocation per namespace, sorted by cost, highest first.
    ///
    /// # Errors
    /// As [`CostReport::allocated`].
    pub fn by_namespace(&self) -> Result<Vec<(String, Money)>, MoneyError> {
        let mut map: std::collections::BTreeMap<String, Money> = Default::default();
        for a in &self.allocations {
            let e = map.entry(a.workload.namespace.clone()).or_insert(Money::zero(self.currency));
            *e = e.checked_add(a.total)?;
        }
        let mut out: Vec<_> = map.into_iter().collect();
        // One currency, checked above: the nano-units order the amounts.
        out.sort_by(|a, b| b.1.nanos().cmp(&a.1.nanos()).then(a.0.cmp(&b.0)));
        Ok(out)
    }
}

/// How sure a recommendation is (0 to 1).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Confidence(f64);

impl Confidence {
    /// A confidence, clamped to 0..=1 (NaN becomes 0).
    pub fn new(value: f64) -> Self {
        Self(if value.is_nan() { 0.0 } else { value.clamp(0.0, 1.0) })
    }
    /// The value.
    pub fn value(self) -> f64 {
        self.0
    }
}

/// One fact a recommendation rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// What was measured (`cpu_p95_millicores`, `node_utilization`, …).
    pub metric: String,
    /// The value.
    pub value: f64,
    /// In words, with units.
    pub detail: String,
}

impl Evidence {
    /// One piece of evidence.
    pub fn new(metric: impl Into<String>, value: f64, detail: impl Into<String>) -> Self {
        Self { metric: metric.into(), value, detail: detail.into() }
    }
}

/// A cost recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// What to do.
    pub action: RecommendedAction,
    /// What it would save per month.
    pub estimated_monthly_savings: MonthlyRate,
    /// How sure (0 to 1): more data, steadier usage, higher confidence.
    pub confidence: Confidence,
    /// What it rests on.
    pub evidence: Vec<Evidence>,
    /// One line for people.
    pub summary: String,
}

/// The kinds of recommendation.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecommendedAction {
    /// A node pool is mostly idle: shrink it.
    Idle {
        /// The pool.
        node_pool: String,
        /// Nodes now.
        current_nodes: u32,
        /// Nodes recommended.
        recommended_nodes: u32,
    },
    /// A workload's requests do not match its usage.
    RightSize {
        /// The workload.
        workload: WorkloadRef,
        /// Current CPU request per replica.
        current_cpu: Cpu,
        /// Recommended CPU request per replica.
        recommended_cpu: Cpu,
        /// Current memory request per replica.
        current_memory: Memory,
        /// Recommended memory request per replica.
        recommended_memory: Memory,
    },
    /// Commit to a steady baseline (savings plan, reservation, committed use).
    Commitment {
        /// Hourly spend to commit.
        hourly_commitment: HourlyRate,
        /// Term in years (1 or 3).
        term_years: u32,
        /// Discount assumed versus on-demand (0 to 1).
        discount: f64,
    },
    /// Move interruptible workloads to spot capacity.
    Spot(SpotMigrationPlan),
}

impl RecommendedAction {
    /// Short kind name (`idle`, `right_size`, `commitment`, `spot`).
    pub fn kind(&self) -> &'static str {
        match self {
            RecommendedAction::Idle { .. } => "idle",
            RecommendedAction::RightSize { .. } => "right_size",
            RecommendedAction::Commitment { .. } => "commitment",
            RecommendedAction::Spot(_) => "spot",
        }
    }
}

/// A plan to move workloads to spot capacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpotMigrationPlan {
    /// The on-demand pool the workloads leave.
    pub from_node_pool: String,
    /// The spot pool to create (or grow).
    pub to_node_pool: String,
    /// Instance types for the spot pool, diversified.
    pub instance_types: Vec<String>,
    /// Workloads to move.
    pub workloads: Vec<WorkloadRef>,
    /// Workloads that stay, with the reason.
    pub kept_on_demand: Vec<(WorkloadRef, String)>,
    /// Ordered steps.
    pub steps: Vec<String>,
}
