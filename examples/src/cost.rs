//! The `cost_report` example's code: the inventory file, the composition of the cost analyzer, and the text
//! report.
//!
//! **Inventory** (YAML, see `examples/specs/cost-inventory.yaml`): the cluster's name and region, its node pools
//! (as in a ClusterSpec: `name`, `instance_types`, `min`, `max`, `desired`, `capacity: on_demand | spot`) and
//! its workloads (`namespace`, `name`, `replicas`, per-replica `cpu_request` and `memory_request`, optional
//! `memory_limit`, `interruptible`, `node_pool`). Unknown fields are errors.
//!
//! **Usage**: a CSV or JSON file ([`wooo_cost::sources::UsageFile`]), or a Prometheus server
//! ([`wooo_cost::prometheus::PrometheusUsage`]).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use wooo_core::model::{
    ClusterId, ClusterSnapshot, CostReport, Cpu, Memory, NodePoolSpec, PriceTable, Recommendation, TimeWindow,
    WorkloadProfile, WorkloadRef,
};
use wooo_core::{CostAnalyzer, Error, RecommendOptions, Result};
use wooo_cost::ComposedAnalyzer;
use wooo_cost::engine::{ComposedSavings, compose_savings};
use wooo_cost::sources::{ListPriceBilling, UsageSource};

/// A cluster inventory file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// The cluster's name.
    pub cluster: String,
    /// The region the prices are read for (default `us-east-1`).
    #[serde(default = "default_region")]
    pub region: String,
    /// The node pools.
    pub node_pools: Vec<NodePoolSpec>,
    /// The workloads.
    #[serde(default)]
    pub workloads: Vec<InventoryWorkload>,
}

fn default_region() -> String {
    "us-east-1".into()
}

/// A workload of an inventory file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryWorkload {
    /// Namespace.
    pub namespace: String,
    /// Name (Deployment, StatefulSet, …).
    pub name: String,
    /// Replicas (average).
    pub replicas: f64,
    /// CPU request per replica.
    pub cpu_request: Cpu,
    /// Memory request per replica.
    pub memory_request: Memory,
    /// Memory limit per replica.
    #[serde(default)]
    pub memory_limit: Option<Memory>,
    /// Whether it tolerates interruption (a spot candidate; default false).
    #[serde(default)]
    pub interruptible: bool,
    /// The node pool it runs on.
    pub node_pool: String,
}

impl Inventory {
    /// Reads and checks an inventory file.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] naming the field at fault (its path in the file): a value that does not parse, a
    /// replica count that is negative
    /// or not finite, or a workload on a node pool the inventory does not have.
    pub fn from_yaml(text: &str) -> Result<Self> {
        let inventory: Inventory = wooo_core::model::from_yaml(text)?;
        for (i, w) in inventory.workloads.iter().enumerate() {
            if !w.replicas.is_finite() || w.replicas < 0.0 {
                return Err(Error::invalid_spec(format!("workloads[{i}].replicas"), "must be a finite number >= 0"));
            }
            if !inventory.node_pools.iter().any(|p| p.name == w.node_pool) {
                return Err(Error::invalid_spec(
                    format!("workloads[{i}].node_pool"),
                    format!("no node pool `{}` in the inventory", w.node_pool),
                ));
            }
        }
        Ok(inventory)
    }

    /// Reads an inventory file from disk.
    ///
    /// # Errors
    /// As [`Inventory::from_yaml`]; a file that cannot be read is [`Error::InvalidSpec`] of field `inventory`.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::invalid_spec("inventory", format!("cannot read {}: {e}", path.display())))?;
        Self::from_yaml(&text)
    }

    /// The inventory as the engine reads it (no usage: that comes from the usage source).
    pub fn snapshot(&self) -> ClusterSnapshot {
        ClusterSnapshot {
            node_pools: self.node_pools.clone(),
            workloads: self
                .workloads
                .iter()
                .map(|w| WorkloadProfile {
                    workload: WorkloadRef::new(w.namespace.clone(), w.name.clone()),
                    replicas: w.replicas,
                    cpu_request: w.cpu_request,
                    memory_request: w.memory_request,
                    memory_limit: w.memory_limit,
                    interruptible: w.interruptible,
                    node_pool: w.node_pool.clone(),
                })
                .collect(),
            usage: Vec::new(),
        }
    }
}

/// The analyzer of the example: list-price billing of the inventory's node pools at `prices`, usage from `usage`,
/// and the engine.
pub fn analyzer(inventory: &Inventory, prices: PriceTable, usage: Arc<dyn UsageSource>) -> ComposedAnalyzer {
    ComposedAnalyzer::new(
        "cost-report",
        Arc::new(ListPriceBilling::new("cost-report", "list prices")),
        Arc::new(inventory.snapshot()),
        Arc::new(prices),
    )
    .with_usage(usage)
}

/// What the example prints: the report, every recommendation, and what they save together.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The cost report.
    pub report: CostReport,
    /// Every recommendation, highest savings first.
    pub recommendations: Vec<Recommendation>,
    /// What they save applied in order on the remaining cost ([`wooo_cost::engine::compose_savings`]).
    pub together: ComposedSavings,
}

/// The report, every recommendation over `window` and what they save together.
///
/// # Errors
/// The analyzer's errors.
pub async fn analyse(analyzer: &ComposedAnalyzer, inventory: &Inventory, window: &TimeWindow) -> Result<Analysis> {
    let cluster = ClusterId::new(inventory.cluster.clone());
    let report = analyzer.cost(&cluster, window).await?;
    let recommendations = analyzer.recommend(&cluster, window, &RecommendOptions::default()).await?;
    let together = compose_savings(&report, &inventory.snapshot().workloads, &recommendations)
        .map_err(|e| Error::invalid_spec("prices", e.to_string()))?;
    Ok(Analysis { report, recommendations, together })
}

/// The analysis as JSON: `{"report": …, "recommendations": […], "potential_savings": {"monthly_node_cost": …,
/// "stages": {"right_size": …, …}, "total": …}}`.
pub fn to_json(analysis: &Analysis) -> String {
    let stages: serde_json::Map<String, serde_json::Value> =
        analysis.together.stages.iter().map(|(k, m)| (k.to_string(), serde_json::json!(m))).collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "report": analysis.report,
        "recommendations": analysis.recommendations,
        "potential_savings": {
            "monthly_node_cost": analysis.together.monthly_node_cost,
            "stages": stages,
            "total": analysis.together.total,
        },
    }))
    .unwrap_or_default()
}

/// The report as text: node pools, allocation per workload, idle and shared cost, then every recommendation
/// with its savings, confidence and evidence.
pub fn to_text(analysis: &Analysis) -> String {
    let (report, recommendations) = (&analysis.report, &analysis.recommendations);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Cost of {} from {} to {} ({})",
        report.cluster, report.window.start, report.window.end, report.source
    );
    for node in &report.nodes {
        let _ = writeln!(
            out,
            "  pool {:<10} {:>7.1} node-hours of {} ({}) at {:#} = {}",
            node.node_pool, node.node_hours, node.instance_type, node.capacity, node.hourly_price, node.cost
        );
    }
    let _ = writeln!(out, "\nAllocation (max(request, usage) × time):");
    for a in &report.allocations {
        let _ = writeln!(
            out,
            "  {:<28} {:>14}  cpu {:>3.0}% used of request, memory {:>3.0}%",
            a.workload.to_string(),
            a.total.to_string(),
            a.cpu_efficiency * 100.0,
            a.memory_efficiency * 100.0
        );
    }
    let _ = writeln!(out, "  {:<28} {:>14}", "idle capacity", report.idle.to_string());
    let _ = writeln!(out, "  {:<28} {:>14}", "shared (control plane)", report.shared.to_string());
    let _ = writeln!(out, "  {:<28} {:>14}", "total", report.total.to_string());
    let _ = writeln!(out, "\n{} recommendation(s), highest savings first:", recommendations.len());
    for r in recommendations {
        let _ = writeln!(
            out,
            "- [{}] saves {} (confidence {:.0}%): {}",
            r.action.kind(),
            r.estimated_monthly_savings,
            r.confidence.value() * 100.0,
            r.summary
        );
        for e in &r.evidence {
            let _ = writeln!(out, "    {} = {}: {}", e.metric, e.value, e.detail);
        }
    }
    let t = &analysis.together;
    let stages: Vec<String> = t.stages.iter().map(|(k, m)| format!("{k} {m}")).collect();
    let _ = writeln!(
        out,
        "\nTogether, applied in order on what remains: {} per month of {} node cost ({})",
        t.total,
        t.monthly_node_cost,
        stages.join(", ")
    );
    out
}
