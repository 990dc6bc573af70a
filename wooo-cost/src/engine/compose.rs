//! Savings that compose: the recommendations applied in order — right-size → idle → spot → commitment — each on
//! the cost that remains after the ones before it, never the sum of overlapping savings.
//!
//! # Model
//! Per node pool, the monthly cost is its list price × its average node count over the report's window × 730 h.
//! A right-size, idle or spot recommendation saves a share of the pool it acts on (a right-size acts on its
//! workload's pool): its saving over the pool's monthly cost. The stages apply in order, each taking its
//! share (the sum of that stage's shares on the pool, at most 1) of what remains of the pool after the earlier
//! stages: a right-size saving 30% and an idle shrink saving 40% of a pool save `30% + 40% × 70% = 58%`, not
//! 70%. Commitments come last on what remains of the on-demand pools (the engine already sizes its commitment
//! on that remaining baseline), capped at it. A recommendation's own `estimated_monthly_savings` stays what it
//! saves applied alone; [`ComposedSavings`] says what they save together.

use std::collections::BTreeMap;

use wooo_core::model::{Capacity, Currency, Money, MoneyError, Recommendation, RecommendedAction, WorkloadProfile};

/// The stages, in the order they apply.
pub const STAGES: [&str; 4] = ["right_size", "idle", "spot", "commitment"];

/// What the recommendations save together (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct ComposedSavings {
    /// The node cost per month before any recommendation.
    pub monthly_node_cost: Money,
    /// What each stage saves per month on what the earlier stages left, in [`STAGES`] order.
    pub stages: Vec<(&'static str, Money)>,
    /// The sum of the stages: the potential saving per month.
    pub total: Money,
    /// The node cost per month after every stage.
    pub remaining: Money,
}

/// Per pool: its monthly cost and whether it runs on demand.
fn pool_costs(report: &wooo_core::model::CostReport) -> Result<BTreeMap<String, (Money, bool)>, MoneyError> {
    let hours = report.window.hours();
    let mut pools: BTreeMap<String, (Money, bool)> = BTreeMap::new();
    for row in &report.nodes {
        let nodes = if hours > 0.0 && row.node_hours.is_finite() { (row.node_hours / hours).max(0.0) } else { 0.0 };
        let monthly: Money = row.hourly_price.mul_quantity(nodes)?.convert::<wooo_core::model::PerMonth>().amount();
        let entry = pools.entry(row.node_pool.clone()).or_insert((Money::zero(report.currency), false));
        entry.0 = entry.0.checked_add(monthly)?;
        entry.1 |= row.capacity == Capacity::OnDemand;
    }
    Ok(pools)
}

/// The pool a recommendation acts on, if it acts on one.
fn pool_of<'a>(r: &'a Recommendation, workloads: &'a [WorkloadProfile]) -> Option<&'a str> {
    match &r.action {
        RecommendedAction::Idle { node_pool, .. } => Some(node_pool),
        RecommendedAction::Spot(plan) => Some(&plan.from_node_pool),
        RecommendedAction::RightSize { workload, .. } => {
            workloads.iter().find(|w| &w.workload == workload).map(|w| w.node_pool.as_str())
        }
        _ => None,
    }
}

/// The share of each pool that remains after the right-size, idle and spot stages (1 when untouched).
pub(crate) fn remaining_shares(
    report: &wooo_core::model::CostReport,
    workloads: &[WorkloadProfile],
    recommendations: &[Recommendation],
) -> Result<BTreeMap<String, f64>, MoneyError> {
    let pools = pool_costs(report)?;
    let mut out = BTreeMap::new();
    for (name, (monthly, _)) in &pools {
        let mut remaining = 1.0;
        for stage in &STAGES[..3] {
            let saved: f64 = recommendations
                .iter()
                .filter(|r| r.action.kind() == *stage && pool_of(r, workloads) == Some(name.as_str()))
                .map(|r| r.estimated_monthly_savings.amount().as_f64().max(0.0))
                .sum();
            let share = if monthly.as_f64() > 0.0 { (saved / monthly.as_f64()).min(1.0) } else { 0.0 };
            remaining *= 1.0 - share;
        }
        out.insert(name.clone(), remaining);
    }
    Ok(out)
}

/// What `recommendations` (made for `report`, over `workloads`) save together.
///
/// # Errors
/// [`MoneyError::CurrencyMismatch`] when a saving or a node price is not in the report's currency.
pub fn compose_savings(
    report: &wooo_core::model::CostReport,
    workloads: &[WorkloadProfile],
    recommendations: &[Recommendation],
) -> Result<ComposedSavings, MoneyError> {
    let currency: Currency = report.currency;
    let zero = Money::zero(currency);
    for r in recommendations {
        zero.checked_add(r.estimated_monthly_savings.amount())?;
    }
    let pools = pool_costs(report)?;
    let monthly_node_cost = Money::checked_sum(pools.values().map(|(m, _)| *m), currency)?;
    let mut remaining: BTreeMap<&str, Money> = pools.iter().map(|(k, (m, _))| (k.as_str(), *m)).collect();
    let mut stages = Vec::new();
    for stage in &STAGES[..3] {
        let mut stage_total = zero;
        for (name, (monthly, _)) in &pools {
            let saved: Money = Money::checked_sum(
                recommendations
                    .iter()
                    .filter(|r| r.action.kind() == *stage && pool_of(r, workloads) == Some(name.as_str()))
                    .map(|r| r.estimated_monthly_savings.amount().max_zero()),
                currency,
            )?;
            if monthly.nanos() <= 0 || saved.nanos() <= 0 {
                continue;
            }
            let left = remaining[name.as_str()];
            // left × min(1, saved / monthly), exactly.
            let applied = if saved >= *monthly { left } else { left.mul_ratio(saved.nanos(), monthly.nanos()) };
            remaining.insert(name.as_str(), left - applied);
            stage_total = stage_total.checked_add(applied)?;
        }
        stages.push((*stage, stage_total));
    }
    let on_demand_left =
        Money::checked_sum(pools.iter().filter(|(_, (_, od))| *od).map(|(k, _)| remaining[k.as_str()]), currency)?;
    let commitment = Money::checked_sum(
        recommendations
            .iter()
            .filter(|r| r.action.kind() == "commitment")
            .map(|r| r.estimated_monthly_savings.amount().max_zero()),
        currency,
    )?;
    let commitment = if commitment > on_demand_left { on_demand_left } else { commitment };
    stages.push(("commitment", commitment));
    let total = Money::checked_sum(stages.iter().map(|(_, m)| *m), currency)?;
    Ok(ComposedSavings { monthly_node_cost, stages, total, remaining: monthly_node_cost - total })
}
