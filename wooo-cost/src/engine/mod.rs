//! The cost engine: pure cost decisions over prices, capacity and usage.
//!
//! - [`node_cost`] / [`node_costs`]: what node pools cost over a window at a [`PriceTable`]'s list prices;
//! - [`split_node_bill`]: a billed node cost split over node pools in proportion to their list-price cost,
//!   exactly (the billing sources of EKS and AKS use it);
//! - [`allocate`]: a [`CostReport`](wooo_core::model::CostReport) allocating node cost to workloads, with idle
//!   and shared cost (see the `allocate` model below);
//! - [`recommend`]: idle, right-size, commitment and spot recommendations over that report;
//! - [`order_recommendations`]: the one order every analyzer returns recommendations in;
//! - [`compose_savings`]: what the recommendations save together, applied in order (right-size → idle → spot →
//!   commitment) on the remaining cost.
//!
//! Every function here is pure: no I/O, no clock, no randomness. The sources ([`crate::sources`]) fetch the
//! inputs; the analyzers ([`crate::ComposedAnalyzer`], and `aws::EksCostAnalyzer` with
//! feature `aws`) call the engine. The price types ([`PriceTable`], [`InstancePrice`]) are data of
//! `wooo_core::model`, re-exported here so the engine's inputs are found next to it.

mod allocate;
mod compose;
mod recommend;

pub use allocate::{CostInputs, allocate};
pub use compose::{ComposedSavings, STAGES as SAVING_STAGES, compose_savings};
pub use recommend::{RecommendInputs, order as order_recommendations, recommend};
pub use wooo_core::model::{InstancePrice, PriceTable};

use wooo_core::model::{Money, MoneyError, NodeCost, NodePoolSpec, TimeWindow};

/// What `pool`'s desired nodes of `price`'s type cost over `window`: nodes × the hourly price for the pool's
/// capacity type (spot price for spot pools, else on demand) × the window's length to the nanosecond, rounded
/// once.
pub fn node_cost(price: &InstancePrice, pool: &NodePoolSpec, window: &TimeWindow) -> NodeCost {
    let hourly_price = price.hourly(pool.capacity);
    let nodes = pool.desired_count();
    NodeCost {
        node_pool: pool.name.clone(),
        instance_type: price.instance_type.clone(),
        capacity: pool.capacity,
        node_hours: f64::from(nodes) * window.hours(),
        hourly_price,
        cost: hourly_price.times(i64::from(nodes)).over(window.duration()),
        cpu_per_node: price.cpu,
        memory_per_node: price.memory,
    }
}

/// [`node_cost`] of every pool, priced by its first instance type.
///
/// # Errors
/// The name of the first pool whose first instance type is not in `prices` (or that has no instance type).
pub fn node_costs(pools: &[NodePoolSpec], prices: &PriceTable, window: &TimeWindow) -> Result<Vec<NodeCost>, String> {
    pools
        .iter()
        .map(|pool| match pool.instance_types.first().and_then(|t| prices.get(t)) {
            Some(price) => Ok(node_cost(price, pool, window)),
            None => Err(pool.name.clone()),
        })
        .collect()
}

/// The node rows and the shared cost of a bill of `total`, of which `node_bill` is what the nodes cost:
/// `node_bill` split over the `pools` that `prices` can price ([`node_cost`] over `window`), in proportion to
/// their list-price cost and exactly (the rows add up to `node_bill` to the nano-unit), and the rest of `total`
/// shared. A row keeps its list `hourly_price`; only its `cost` is the billed one. With no pool that can be
/// priced (or list costs of zero), nothing can be split: no row claims any of the bill and all of `total` is
/// shared.
///
/// # Errors
/// [`MoneyError`] when `node_bill`, `total` and the list prices are not all in one currency.
pub fn split_node_bill(
    total: Money,
    node_bill: Money,
    pools: &[NodePoolSpec],
    prices: &PriceTable,
    window: &TimeWindow,
) -> Result<(Vec<NodeCost>, Money), MoneyError> {
    let rest = total.checked_sub(node_bill)?;
    let mut rows = Vec::new();
    for pool in pools {
        let Some(price) = pool.instance_types.first().and_then(|t| prices.get(t)) else { continue };
        rows.push(node_cost(price, pool, window));
    }
    for row in &rows {
        total.checked_add(row.cost)?;
    }
    let weights: Vec<u128> = rows.iter().map(|r| r.cost.nanos().max(0).unsigned_abs()).collect();
    match node_bill.split_proportionally(&weights) {
        Some(parts) => {
            for (row, part) in rows.iter_mut().zip(parts) {
                row.cost = part;
            }
            Ok((rows, rest))
        }
        None => {
            for row in &mut rows {
                row.cost = Money::zero(total.currency());
            }
            Ok((rows, total))
        }
    }
}

/// Fixtures shared by the allocation and recommendation tests.
#[cfg(test)]
mod fixtures {
    use jiff::Timestamp;

    use wooo_core::model::{Cpu, Memory, WorkloadProfile, WorkloadRef};

    /// The start of every test window.
    pub(super) fn start() -> Timestamp {
        Timestamp::from_second(1_750_000_000).expect("timestamp")
    }

    /// A workload of namespace `shop` with per-replica requests and no memory limit.
    pub(super) fn workload(
        name: &str,
        pool: &str,
        replicas: f64,
        cpu_m: u64,
        mem_mib: u64,
        interruptible: bool,
    ) -> WorkloadProfile {
        WorkloadProfile {
            workload: WorkloadRef::new("shop", name),
            replicas,
            cpu_request: Cpu::from_millis(cpu_m),
            memory_request: Memory::from_mib(mem_mib),
            memory_limit: None,
            interruptible,
            node_pool: pool.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;
    use wooo_core::model::{Capacity, Cpu, HourlyRate, Memory, Money};

    use super::*;

    fn pool(name: &str, instance: &str, desired: u32, capacity: Capacity) -> NodePoolSpec {
        NodePoolSpec {
            name: name.into(),
            instance_types: vec![instance.into()],
            min: 1,
            max: 10,
            desired: Some(desired),
            capacity,
            labels: Default::default(),
            taints: Vec::new(),
            disk: Default::default(),
            zones: Vec::new(),
        }
    }

    #[test]
    fn node_cost_is_nodes_times_price_times_window() {
        let prices = PriceTable::sim_default();
        let window = TimeWindow::new(fixtures::start(), fixtures::start() + SignedDuration::from_mins(90));
        let row =
            node_cost(prices.get("m5.large").unwrap(), &pool("general", "m5.large", 3, Capacity::OnDemand), &window);
        assert_eq!(row.node_hours, 4.5);
        assert_eq!(row.hourly_price, HourlyRate::usd(96, 3));
        assert_eq!(row.cost, Money::usd(432, 3), "3 × 1.5 h × 0.096");
        assert_eq!((row.cpu_per_node, row.memory_per_node), (Cpu::from_cores(2), Memory::from_gib(8)));
        let spot = node_cost(prices.get("m5.large").unwrap(), &pool("s", "m5.large", 1, Capacity::Spot), &window);
        assert_eq!(spot.hourly_price, HourlyRate::usd(3264, 5), "the spot price for a spot pool");
    }

    #[test]
    fn node_costs_names_the_pool_it_cannot_price() {
        let prices = PriceTable::sim_default();
        let window = TimeWindow::new(fixtures::start(), fixtures::start() + SignedDuration::from_hours(1));
        let pools = [pool("a", "m5.large", 1, Capacity::OnDemand), pool("b", "x9.huge", 1, Capacity::OnDemand)];
        assert_eq!(node_costs(&pools, &prices, &window).unwrap_err(), "b");
        assert_eq!(node_costs(&pools[..1], &prices, &window).unwrap().len(), 1);
    }
}
