//! Allocation of node cost to workloads, in the spirit of OpenCost.
//!
//! # Model
//! 1. **Pools.** Each [`NodeCost`] row's cost over the window is split into a CPU part and a memory part. Cloud
//!    bills price a node, not its resources, so the split uses a fixed relative weighting: OpenCost's default
//!    prices of 0.031611 USD per core-hour and 0.004237 USD per GiB-hour. A node with `c` vCPUs and `m` GiB pays
//!    `c·0.031611 / (c·0.031611 + m·0.004237)` of its price for CPU and the rest for memory. Rows with the same
//!    `node_pool` add up into one pool. The pool's capacity is `cpu_per_node × average nodes` of CPU and
//!    `memory_per_node × average nodes` of memory, where average nodes is `node_hours / window hours`.
//! 2. **Workloads.** A workload on a pool is allocated `max(request × replicas, average usage)` of CPU and of
//!    memory (OpenCost's rule: what it reserved, or more if it used more) for the whole window. Each resource
//!    part of the pool cost is then split in proportion to those amounts plus the pool's unallocated capacity,
//!    so each workload pays exactly the pool's per-core (per-GiB) rate for what it was allocated. When the
//!    workloads ask more than the pool holds, there is no unallocated capacity and they share the whole part in
//!    proportion: allocations are scaled down and never exceed the pool's cost.
//! 3. **Idle** is what no workload was allocated: the unallocated share of every pool, plus the whole cost of
//!    rows whose capacity is unknown (zero node-hours, or a node shape of zero CPU and zero memory), since
//!    nothing can be allocated against them. It is never negative for non-negative costs.
//! 4. **Shared** (control plane and other cluster-wide fees) is reported as given and not spread over workloads.
//!
//! # Exactness
//! Money never goes through floating point here. Every split is [`Money::split_proportionally`] over integer
//! weights (largest remainder), so the report's invariant `sum(allocations.total) + idle + shared == total` holds
//! exactly, to the nano-unit, and so does `cpu_cost + memory_cost == total` for every allocation. The weights are
//! integers too: CPU in millicores and memory in bytes, times counts in millionths. The two quantities a
//! [`WorkloadProfile`] and a [`NodeCost`] carry as floats, average replicas and node-hours (as average nodes over
//! the window), are read to a millionth (rounded halves away from zero) before they weigh anything. The
//! CPU/memory weighting is `millicores × 31611 × 2³⁰ : bytes × 4237 × 1000`, the OpenCost ratio above in integers.
//!
//! # Currency
//! Every amount of the inputs must be in the currency of `shared`; a node row's cost or hourly price in another
//! currency is [`MoneyError::CurrencyMismatch`], never a silent sum of two currencies.
//!
//! Usage is the average of the workload's samples inside the window (samples outside it are ignored; a workload
//! with no sample has zero usage). Efficiency is average usage over `request × replicas`, and 0 when nothing is
//! requested.
//!
//! A workload whose `node_pool` matches no [`NodeCost`] row cannot be priced: it is still listed, with zero cost
//! and its usage and efficiencies, so a report shows it rather than hiding it; the totals are unaffected.

use std::collections::BTreeMap;

use wooo_core::model::{
    Allocation, ClusterId, CostReport, Cpu, HourlyRate, Memory, Money, MoneyError, NodeCost, TimeWindow, UsageSample,
    WorkloadProfile, WorkloadRef,
};

/// OpenCost's default price of one CPU core-hour, in micro-dollars, used only as a relative weight against
/// [`GIB_HOUR_WEIGHT`].
const CPU_CORE_HOUR_WEIGHT: u128 = 31_611;
/// OpenCost's default price of one GiB-hour of memory, in micro-dollars, used only as a relative weight against
/// [`CPU_CORE_HOUR_WEIGHT`].
const GIB_HOUR_WEIGHT: u128 = 4_237;
const GIB: u128 = 1 << 30;
/// Counts (replicas, nodes) are weighed in millionths.
pub(crate) const MILLIONTH: u128 = 1_000_000;

/// Everything allocation needs.
#[derive(Debug, Clone)]
pub struct CostInputs<'a> {
    /// The cluster.
    pub cluster: ClusterId,
    /// The window.
    pub window: TimeWindow,
    /// Node cost per pool over the window.
    pub nodes: Vec<NodeCost>,
    /// Cluster-wide fees over the window; its currency is the report's.
    pub shared: Money,
    /// Workloads and their requests.
    pub workloads: &'a [WorkloadProfile],
    /// Usage samples in the window.
    pub usage: &'a [UsageSample],
    /// Where the prices came from.
    pub source: String,
}

/// Allocates node cost to workloads (see the module documentation for the model).
///
/// The report's allocations are sorted by total cost, highest first, then by workload.
///
/// # Errors
/// [`MoneyError::CurrencyMismatch`] when a node row's cost or hourly price is not in the currency of `shared`;
/// [`MoneyError::Overflow`] when the total is out of the range of money.
pub fn allocate(inputs: &CostInputs<'_>) -> Result<CostReport, MoneyError> {
    let currency = inputs.shared.currency();
    let zero = Money::zero(currency);
    for row in &inputs.nodes {
        zero.checked_add(row.hourly_price.amount())?;
    }
    let total = Money::checked_sum(inputs.nodes.iter().map(|n| n.cost).chain([inputs.shared]), currency)?;
    let samples = samples_by_workload(inputs.usage, &inputs.window);

    let (pools, mut idle) = pools_of(&inputs.nodes, inputs.window.hours(), zero);
    let mut allocations: Vec<Allocation> =
        inputs.workloads.iter().map(|w| usage_only_allocation(w, samples.get(&w.workload), zero)).collect();

    for (name, pool) in &pools {
        let members: Vec<usize> =
            inputs.workloads.iter().enumerate().filter(|(_, w)| w.node_pool == *name).map(|(i, _)| i).collect();
        let cpu: Vec<u128> = members
            .iter()
            .map(|&i| {
                let requested =
                    weigh(inputs.workloads[i].cpu_request.millis(), replica_millionths(&inputs.workloads[i]));
                requested.max(weigh(allocations[i].cpu_used.millis(), MILLIONTH))
            })
            .collect();
        let memory: Vec<u128> = members
            .iter()
            .map(|&i| {
                let requested =
                    weigh(inputs.workloads[i].memory_request.bytes(), replica_millionths(&inputs.workloads[i]));
                requested.max(weigh(allocations[i].memory_used.bytes(), MILLIONTH))
            })
            .collect();
        let (cpu_parts, cpu_idle) = split_with_idle(pool.cpu_cost, &cpu, pool.cpu_capacity);
        let (mem_parts, mem_idle) = split_with_idle(pool.memory_cost, &memory, pool.memory_capacity);
        idle += cpu_idle + mem_idle;
        for (k, &i) in members.iter().enumerate() {
            allocations[i].cpu_cost += cpu_parts[k];
            allocations[i].memory_cost += mem_parts[k];
            allocations[i].total = allocations[i].cpu_cost + allocations[i].memory_cost;
        }
    }

    // One currency, checked above: the nano-units order the amounts.
    allocations.sort_by(|a, b| b.total.nanos().cmp(&a.total.nanos()).then_with(|| a.workload.cmp(&b.workload)));
    Ok(CostReport {
        cluster: inputs.cluster.clone(),
        window: inputs.window,
        currency,
        total,
        nodes: inputs.nodes.clone(),
        shared: inputs.shared,
        idle,
        allocations,
        source: inputs.source.clone(),
    })
}

/// The CPU and memory parts of one node pool's cost, and its capacity: millicores and bytes times average
/// nodes in millionths, the units of the workloads' weights.
#[derive(Debug, Clone, Copy)]
struct PoolCost {
    cpu_cost: Money,
    memory_cost: Money,
    cpu_capacity: u128,
    memory_capacity: u128,
}

/// Folds node rows into pools; returns the pools and the cost of rows that cannot be allocated against.
fn pools_of(nodes: &[NodeCost], window_hours: f64, zero: Money) -> (BTreeMap<&str, PoolCost>, Money) {
    let mut pools: BTreeMap<&str, PoolCost> = BTreeMap::new();
    let mut unallocatable = zero;
    for row in nodes {
        let average_nodes = if window_hours > 0.0 { millionths(row.node_hours / window_hours) } else { 0 };
        let weights = resource_weights(row.cpu_per_node, row.memory_per_node);
        let split = weights.filter(|_| average_nodes > 0).and_then(|(c, m)| row.cost.split_proportionally(&[c, m]));
        let Some(parts) = split else {
            unallocatable += row.cost;
            continue;
        };
        let pool = pools.entry(row.node_pool.as_str()).or_insert(PoolCost {
            cpu_cost: zero,
            memory_cost: zero,
            cpu_capacity: 0,
            memory_capacity: 0,
        });
        pool.cpu_cost += parts[0];
        pool.memory_cost += parts[1];
        pool.cpu_capacity = pool.cpu_capacity.saturating_add(weigh(row.cpu_per_node.millis(), average_nodes));
        pool.memory_capacity = pool.memory_capacity.saturating_add(weigh(row.memory_per_node.bytes(), average_nodes));
    }
    (pools, unallocatable)
}

/// Splits `cost` over `demands` and the unrequested rest of `capacity`; returns the demands' parts and the idle
/// part (all of `cost` when there is neither demand nor capacity, or the weights overflow).
fn split_with_idle(cost: Money, demands: &[u128], capacity: u128) -> (Vec<Money>, Money) {
    let requested = demands.iter().fold(0u128, |sum, d| sum.saturating_add(*d));
    let mut weights = demands.to_vec();
    weights.push(capacity.saturating_sub(requested));
    match cost.split_proportionally(&weights) {
        Some(mut parts) => {
            let idle = parts.pop().unwrap_or(Money::zero(cost.currency()));
            (parts, idle)
        }
        None => (vec![Money::zero(cost.currency()); demands.len()], cost),
    }
}

/// A zero-cost allocation carrying the workload's usage and efficiencies.
fn usage_only_allocation(w: &WorkloadProfile, samples: Option<&Vec<&UsageSample>>, zero: Money) -> Allocation {
    let (cpu_used, memory_used) = samples.map(|s| average_usage(s)).unwrap_or_default();
    let r = replicas(w);
    Allocation {
        workload: w.workload.clone(),
        cpu_cost: zero,
        memory_cost: zero,
        total: zero,
        cpu_used,
        memory_used,
        cpu_efficiency: ratio(cpu_used.cores(), w.cpu_request.cores() * r),
        memory_efficiency: ratio(memory_used.gib(), w.memory_request.gib() * r),
    }
}

/// `used / requested`, 0 when nothing is requested.
fn ratio(used: f64, requested: f64) -> f64 {
    if requested > 0.0 { used / requested } else { 0.0 }
}

/// The average of samples, rounded to the nearest millicore and byte.
fn average_usage(samples: &[&UsageSample]) -> (Cpu, Memory) {
    if samples.is_empty() {
        return (Cpu::default(), Memory::default());
    }
    let n = samples.len() as u128;
    let cpu: u128 = samples.iter().map(|s| u128::from(s.cpu.millis())).sum();
    let mem: u128 = samples.iter().map(|s| u128::from(s.memory.bytes())).sum();
    // Averages of u64 values fit in u64.
    let avg = |sum: u128| u64::try_from((sum + n / 2) / n).unwrap_or(u64::MAX);
    (Cpu::from_millis(avg(cpu)), Memory::from_bytes(avg(mem)))
}

/// A workload's replica count, with nonsense (negative, NaN, infinite) read as none.
pub(crate) fn replicas(w: &WorkloadProfile) -> f64 {
    if w.replicas.is_finite() && w.replicas > 0.0 { w.replicas } else { 0.0 }
}

/// An amount (millicores, bytes) times a count in millionths: an allocation weight. Saturates rather than
/// overflows for absurd inputs (a weight sum that overflows leaves the cost idle, see [`split_with_idle`]).
fn weigh(amount: u64, count_millionths: u128) -> u128 {
    u128::from(amount).saturating_mul(count_millionths)
}

/// A workload's replica count in millionths (see [`millionths`]).
fn replica_millionths(w: &WorkloadProfile) -> u128 {
    millionths(replicas(w))
}

/// A non-negative count given as a float, in millionths, rounded halves away from zero; nonsense (negative, NaN,
/// infinite) is zero. Counts beyond 2⁶⁴ millionths saturate, far above any node or replica count.
pub(crate) fn millionths(count: f64) -> u128 {
    if count.is_finite() && count > 0.0 { (count * 1e6).round().min(u64::MAX as f64) as u128 } else { 0 }
}

/// Each workload's samples inside `window`, oldest first.
pub(crate) fn samples_by_workload<'u>(
    usage: &'u [UsageSample],
    window: &TimeWindow,
) -> BTreeMap<&'u WorkloadRef, Vec<&'u UsageSample>> {
    let mut out: BTreeMap<&WorkloadRef, Vec<&UsageSample>> = BTreeMap::new();
    for s in usage.iter().filter(|s| window.contains(s.at)) {
        out.entry(&s.workload).or_default().push(s);
    }
    for v in out.values_mut() {
        v.sort_by_key(|s| s.at);
    }
    out
}

/// The integer weights of a node's price that pay for its CPU and for its memory: OpenCost's relative prices
/// with both sides multiplied by `10⁹ × 2³⁰` (`millicores × 31611 × 2³⁰ : bytes × 4237 × 1000`); `None` for a
/// node of zero CPU and zero memory.
pub(crate) fn resource_weights(cpu: Cpu, memory: Memory) -> Option<(u128, u128)> {
    let c = u128::from(cpu.millis()) * CPU_CORE_HOUR_WEIGHT * GIB;
    let m = u128::from(memory.bytes()) * GIB_HOUR_WEIGHT * 1000;
    (c + m > 0).then_some((c, m))
}

/// What one core and one GiB of a node cost per hour, when the node costs `node_price` per hour: its CPU
/// (memory) share of the price over its cores (GiB), in one exact ratio each.
pub(crate) fn resource_rates(node_price: HourlyRate, cpu: Cpu, memory: Memory) -> (HourlyRate, HourlyRate) {
    let zero = HourlyRate::zero(node_price.amount().currency());
    let Some((c, m)) = resource_weights(cpu, memory) else {
        return (zero, zero);
    };
    // Weights fit easily in i128: millicores and bytes are u64, times constants below 2⁵⁰.
    let total = (c + m) as i128;
    // c / total / cores = millicores × 31611 × 2³⁰ / total / (millicores / 1000).
    let per_core =
        if cpu.millis() > 0 { node_price.mul_ratio((CPU_CORE_HOUR_WEIGHT * GIB * 1000) as i128, total) } else { zero };
    // m / total / GiB = bytes × 4237 × 1000 / total / (bytes / 2³⁰).
    let per_gib =
        if memory.bytes() > 0 { node_price.mul_ratio((GIB_HOUR_WEIGHT * 1000 * GIB) as i128, total) } else { zero };
    (per_core, per_gib)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;
    use wooo_core::model::{Capacity, Currency, PriceTable};

    /// A tiny deterministic generator (SplitMix64) so randomized tests are reproducible without a dependency.
    struct SplitMix(u64);

    impl SplitMix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    use crate::engine::fixtures::start;

    fn window(hours: i64) -> TimeWindow {
        TimeWindow::new(start(), start() + SignedDuration::from_hours(hours))
    }

    /// `nodes` (possibly fractional, an average) nodes of `instance` for `hours` hours, at the sim price.
    fn node(pool: &str, instance: &str, nodes: f64, hours: i64) -> NodeCost {
        let p = PriceTable::sim_default();
        let price = p.get(instance).unwrap();
        NodeCost {
            node_pool: pool.into(),
            instance_type: instance.into(),
            capacity: Capacity::OnDemand,
            node_hours: nodes * hours as f64,
            hourly_price: price.on_demand,
            cost: price.on_demand.over_hours(hours as u64).mul_quantity(nodes).unwrap(),
            cpu_per_node: price.cpu,
            memory_per_node: price.memory,
        }
    }

    fn workload(name: &str, pool: &str, replicas: f64, cpu_m: u64, mem_mib: u64) -> WorkloadProfile {
        crate::engine::fixtures::workload(name, pool, replicas, cpu_m, mem_mib, false)
    }

    fn sample(name: &str, hour: i64, cpu_m: u64, mem_mib: u64) -> UsageSample {
        UsageSample {
            workload: WorkloadRef::new("shop", name),
            at: start() + SignedDuration::from_hours(hour),
            cpu: Cpu::from_millis(cpu_m),
            memory: Memory::from_mib(mem_mib),
        }
    }

    fn inputs<'a>(
        hours: i64,
        nodes: Vec<NodeCost>,
        workloads: &'a [WorkloadProfile],
        usage: &'a [UsageSample],
    ) -> CostInputs<'a> {
        CostInputs {
            cluster: ClusterId::new("demo"),
            window: window(hours),
            nodes,
            shared: HourlyRate::usd(10, 2).over_hours(hours as u64),
            workloads,
            usage,
            source: "test".into(),
        }
    }

    fn find<'r>(r: &'r CostReport, name: &str) -> &'r Allocation {
        r.allocations.iter().find(|a| a.workload.name == name).unwrap()
    }

    /// The invariants every report must meet, checked from the inputs rather than with `is_consistent` alone.
    fn assert_exact(r: &CostReport, nodes: &[NodeCost], shared: Money, what: &str) {
        assert!(r.is_consistent(), "{what}");
        let total = nodes.iter().fold(shared, |sum, n| sum + n.cost);
        assert_eq!(r.total, total, "{what}");
        let allocated: i128 = r.allocations.iter().map(|a| a.total.nanos()).sum();
        assert_eq!(allocated + r.idle.nanos() + r.shared.nanos(), total.nanos(), "{what}: to the nano");
        assert!(r.idle.nanos() >= 0, "{what}");
        for a in &r.allocations {
            assert_eq!(a.total, a.cpu_cost + a.memory_cost, "{what}: {}", a.workload);
            assert!(a.cpu_cost.nanos() >= 0 && a.memory_cost.nanos() >= 0, "{what}: {}", a.workload);
        }
        for pair in r.allocations.windows(2) {
            let ordered = pair[0].total > pair[1].total
                || (pair[0].total == pair[1].total && pair[0].workload <= pair[1].workload);
            assert!(ordered, "{what}: sorted by cost");
        }
    }

    #[test]
    fn resource_weights_and_rates_follow_opencost_prices() {
        // 2 vCPU × 0.031611 : 8 GiB × 0.004237, in integers.
        let (c, m) = resource_weights(Cpu::from_cores(2), Memory::from_gib(8)).unwrap();
        assert_eq!((c / GIB, m / GIB), (63_222_000, 33_896_000));
        let share = c as f64 / (c + m) as f64;
        assert!((share - 2.0 * 0.031611 / (2.0 * 0.031611 + 8.0 * 0.004237)).abs() < 1e-15);
        // A memory-heavy shape puts more of its price on memory.
        let (c16, m16) = resource_weights(Cpu::from_cores(2), Memory::from_gib(16)).unwrap();
        assert!(c16 as f64 / ((c16 + m16) as f64) < share);
        assert!(resource_weights(Cpu::default(), Memory::default()).is_none());
        let (per_core, per_gib) = resource_rates(HourlyRate::usd(96, 3), Cpu::from_cores(2), Memory::from_gib(8));
        // 0.096 × 63222 / 97118 / 2 and 0.096 × 33896 / 97118 / 8, each rounded once to the nano.
        assert_eq!((per_core.amount().nanos(), per_gib.amount().nanos()), (31_247_101, 4_188_225));
        let rebuilt = per_core.times(2) + per_gib.times(8);
        assert!((rebuilt.amount().nanos() - 96_000_000).abs() <= 10, "{rebuilt:?}");
        let zero = HourlyRate::zero(Currency::USD);
        assert_eq!(resource_rates(HourlyRate::usd(1, 0), Cpu::default(), Memory::from_gib(1)).0, zero);
    }

    #[test]
    fn workloads_pay_their_share_and_the_rest_is_idle() {
        // One m5.large (2 vCPU, 8 GiB) for 10 hours; one workload requesting half of both.
        let w = [workload("web", "general", 2.0, 500, 2048)];
        let nodes = vec![node("general", "m5.large", 1.0, 10)];
        let r = allocate(&inputs(10, nodes.clone(), &w, &[])).unwrap();
        assert_exact(&r, &nodes, Money::usd(1, 0), "one node");
        assert_eq!(r.total, Money::usd(196, 2));
        let a = find(&r, "web");
        // The 0.96 splits 624942029.28 : 335057970.72 nano-units, so memory takes the leftover nano; each half
        // then goes to the workload first on equal remainders.
        assert_eq!((a.cpu_cost.nanos(), a.memory_cost.nanos()), (312_471_015, 167_528_986));
        assert_eq!(r.idle.nanos(), 479_999_999);
        assert_eq!(r.shared, Money::usd(1, 0));
        assert_eq!(a.cpu_efficiency, 0.0);
    }

    #[test]
    fn usage_above_request_is_allocated_and_samples_outside_the_window_are_ignored() {
        let w = [workload("api", "general", 1.0, 200, 1024)];
        let usage = [
            sample("api", 1, 1000, 1024),
            sample("api", 2, 600, 1024),
            // Before and after the window: would drag the average far away if counted.
            sample("api", -1, 0, 0),
            sample("api", 10, 2000, 8192),
        ];
        let r = allocate(&inputs(10, vec![node("general", "m5.large", 1.0, 10)], &w, &usage)).unwrap();
        assert!(r.is_consistent());
        let a = find(&r, "api");
        assert_eq!(a.cpu_used, Cpu::from_millis(800));
        assert_eq!(a.memory_used, Memory::from_gib(1));
        assert!((a.cpu_efficiency - 4.0).abs() < 1e-12);
        assert!((a.memory_efficiency - 1.0).abs() < 1e-12);
        // CPU allocated at the 800m average usage, not the 200m request: 0.4 of the pool's 624942029 CPU part.
        assert_eq!(a.cpu_cost.nanos(), 249_976_812);
    }

    #[test]
    fn oversubscribed_pool_is_scaled_down_to_its_cost() {
        // 2 vCPU and 8 GiB of capacity; the workloads ask for 6 vCPU and 16 GiB.
        let w = [workload("a", "general", 2.0, 1000, 4096), workload("b", "general", 1.0, 2000, 0)];
        let nodes = vec![node("general", "m5.large", 1.0, 24)];
        let pool_cost = nodes[0].cost;
        let r = allocate(&inputs(24, nodes, &w, &[])).unwrap();
        assert!(r.is_consistent());
        assert_eq!(r.allocated(), Ok(pool_cost));
        assert!(r.idle.is_zero());
        let (a, b) = (find(&r, "a"), find(&r, "b"));
        // CPU shared in proportion to the asks (2 : 2), memory all to `a`.
        assert!((a.cpu_cost.nanos() - b.cpu_cost.nanos()).abs() <= 1);
        assert!(b.memory_cost.is_zero());
        assert_eq!(a.total + b.total, pool_cost);
        assert_eq!(r.allocations[0].workload.name, "a");
    }

    #[test]
    fn unknown_pool_is_listed_with_zero_cost() {
        let w = [workload("ghost", "nowhere", 1.0, 500, 512), workload("web", "general", 1.0, 500, 512)];
        let usage = [sample("ghost", 0, 250, 256)];
        let r = allocate(&inputs(5, vec![node("general", "m5.large", 2.0, 5)], &w, &usage)).unwrap();
        assert!(r.is_consistent());
        let g = find(&r, "ghost");
        assert!(g.total.is_zero());
        assert!((g.cpu_efficiency - 0.5).abs() < 1e-12);
        assert_eq!(r.allocations.last().unwrap().workload.name, "ghost");
        assert!(!find(&r, "web").total.is_zero());
    }

    #[test]
    fn rows_without_capacity_are_idle_and_rows_of_one_pool_add_up() {
        let mut empty = node("general", "m5.large", 0.0, 10);
        empty.cost = Money::usd(3, 0);
        let w = [workload("web", "general", 1.0, 1000, 2048)];
        let nodes = vec![empty, node("general", "m5.large", 1.0, 10), node("general", "c5.large", 1.0, 10)];
        let r = allocate(&inputs(10, nodes.clone(), &w, &[])).unwrap();
        assert_exact(&r, &nodes, Money::usd(1, 0), "rows of one pool");
        // Capacity is 4 vCPU over both rows, so the workload takes a quarter of the pool's CPU part (checked
        // against the float formula, to a nano).
        let cpu_part = |n: &NodeCost| {
            let (c, m) = resource_weights(n.cpu_per_node, n.memory_per_node).unwrap();
            n.cost.nanos() as f64 * c as f64 / (c + m) as f64
        };
        let expected = (cpu_part(&r.nodes[1]) + cpu_part(&r.nodes[2])) * 0.25;
        assert!((find(&r, "web").cpu_cost.nanos() as f64 - expected).abs() <= 1.5, "{expected}");
        assert!(r.idle > Money::usd(3, 0));
    }

    #[test]
    fn amounts_in_another_currency_are_an_error() {
        let eur: Currency = "EUR".parse().unwrap();
        let w = [workload("web", "general", 1.0, 500, 512)];
        let mut foreign = node("general", "m5.large", 1.0, 10);
        foreign.cost = Money::new(1, 0, eur);
        let err = allocate(&inputs(10, vec![foreign.clone()], &w, &[])).unwrap_err();
        assert_eq!(err, MoneyError::CurrencyMismatch { left: Currency::USD, right: eur });
        // A price in another currency is as wrong as a cost in one, even when the cost matches.
        foreign.cost = Money::usd(1, 0);
        foreign.hourly_price = HourlyRate::new(Money::new(1, 0, eur));
        assert!(allocate(&inputs(10, vec![foreign], &w, &[])).is_err());
    }

    #[test]
    fn invariant_holds_exactly_on_randomized_inputs() {
        let table = PriceTable::sim_default();
        let types: Vec<String> = table.iter().map(|p| p.instance_type.clone()).collect();
        let mut rng = SplitMix(0x5EED);
        for case in 0..200 {
            let hours = 1 + rng.below(24 * 40) as i64;
            let pools = 1 + rng.below(4) as usize;
            let mut nodes = Vec::new();
            for p in 0..pools {
                let t = &types[rng.below(types.len() as u64) as usize];
                // Fractional node counts make the costs awkward decimals.
                let count = 1.0 + rng.below(1000) as f64 / 37.0;
                let mut n = node(&format!("pool{p}"), t, count, hours);
                n.cost += Money::from_nanos(rng.below(1_000) as i128, Currency::USD);
                nodes.push(n);
            }
            let mut workloads = Vec::new();
            let mut usage = Vec::new();
            for i in 0..rng.below(30) {
                let name = format!("w{i}");
                let pool = format!("pool{}", rng.below(pools as u64 + 1));
                let replicas = rng.below(50) as f64 / 7.0;
                workloads.push(workload(&name, &pool, replicas, rng.below(4000), rng.below(16_384)));
                for _ in 0..rng.below(10) {
                    let at = rng.below(hours as u64 + 4) as i64 - 2;
                    usage.push(sample(&name, at, rng.below(8000), rng.below(32_768)));
                }
            }
            let shared = HourlyRate::usd(10, 2).over_hours(hours as u64);
            let r = allocate(&inputs(hours, nodes.clone(), &workloads, &usage)).unwrap();
            assert_exact(&r, &nodes, shared, &format!("case {case}"));
            assert_eq!(r.allocations.len(), workloads.len());
        }
    }

    /// Ten thousand containers on a dozen pools, some oversubscribed, some nearly empty, with fractional
    /// replicas and node counts, odd nano-unit costs and usage above requests: allocations + idle + shared is
    /// the total exactly, no workload on a pool is charged more than the pool cost, and every pool's cost is
    /// accounted for by its workloads and idle.
    #[test]
    fn allocations_idle_and_shared_sum_to_the_total_exactly_for_ten_thousand_containers() {
        let table = PriceTable::sim_default();
        let types: Vec<String> = table.iter().map(|p| p.instance_type.clone()).collect();
        let mut rng = SplitMix(0x00C0_FFEE);
        let hours = 24 * 30 + rng.below(24) as i64;
        let nodes: Vec<NodeCost> = (0..12)
            .map(|p| {
                let t = &types[rng.below(types.len() as u64) as usize];
                let count = rng.below(400) as f64 / 3.0 + if p == 0 { 0.0 } else { 1.0 };
                let mut n = node(&format!("pool{}", p % 9), t, count, hours);
                n.cost += Money::from_nanos(rng.below(1_000_000_007) as i128, Currency::USD);
                n
            })
            .collect();
        let mut workloads = Vec::with_capacity(10_000);
        let mut usage = Vec::new();
        for i in 0..10_000 {
            let name = format!("c{i}");
            // pool9 has no node row: its workloads are listed with zero cost.
            let pool = format!("pool{}", rng.below(10));
            let replicas = rng.below(40) as f64 / 3.0;
            workloads.push(workload(&name, &pool, replicas, rng.below(2000), rng.below(4096)));
            if rng.below(3) == 0 {
                usage.push(sample(&name, rng.below(hours as u64) as i64, rng.below(6000), rng.below(12_288)));
            }
        }
        let shared = HourlyRate::usd(10, 2).over_hours(hours as u64);
        let r = allocate(&inputs(hours, nodes.clone(), &workloads, &usage)).unwrap();
        assert_eq!(r.allocations.len(), 10_000);
        assert_exact(&r, &nodes, shared, "10,000 containers");
        let pool_of: BTreeMap<&WorkloadRef, &str> =
            workloads.iter().map(|w| (&w.workload, w.node_pool.as_str())).collect();
        for p in 0..10 {
            let name = format!("pool{p}");
            let cost: i128 = nodes.iter().filter(|n| n.node_pool == name).map(|n| n.cost.nanos()).sum();
            let charged: i128 =
                r.allocations.iter().filter(|a| pool_of[&a.workload] == name).map(|a| a.total.nanos()).sum();
            assert!(charged <= cost, "{name}: charged {charged} of {cost}");
            if p == 9 {
                assert_eq!(charged, 0, "no node row, no cost");
            }
        }
        assert!(r.allocations.iter().filter(|a| !a.total.is_zero()).count() > 8_000);
    }
}
