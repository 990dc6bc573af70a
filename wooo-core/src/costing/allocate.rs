//! Allocation of node cost to workloads, in the spirit of OpenCost.
//!
//! # Model
//! 1. **Pools.** Each [`NodeCost`] row's cost over the window is split into a CPU part and a memory part. Cloud
//!    bills price a node, not its resources, so the split uses a fixed relative weighting: OpenCost's default
//!    prices of [`CPU_CORE_HOUR_WEIGHT`] per core-hour and [`GIB_HOUR_WEIGHT`] per GiB-hour. A node with `c`
//!    vCPUs and `m` GiB pays `c·0.031611 / (c·0.031611 + m·0.004237)` of its price for CPU and the rest for
//!    memory. Rows with the same `node_pool` add up into one pool. The pool's capacity is `cpu_per_node ×
//!    node_hours` core-hours and `memory_per_node × node_hours` GiB-hours.
//! 2. **Workloads.** A workload on a pool is allocated `max(request × replicas, average usage)` of CPU and of
//!    memory (OpenCost's rule: what it reserved, or more if it used more), times the window's hours. Each
//!    resource part of the pool cost is then split in proportion to those core-hours (GiB-hours) plus the
//!    pool's unallocated capacity, so each workload pays exactly the pool's per-core-hour (per-GiB-hour) rate
//!    for what it was allocated. When the workloads ask more than the pool holds, there is no unallocated
//!    capacity and they share the whole part in proportion: allocations are scaled down and never exceed the
//!    pool's cost.
//! 3. **Idle** is what no workload was allocated: the unallocated share of every pool, plus the whole cost of
//!    rows whose capacity is unknown (zero node-hours, or a node shape of zero CPU and zero memory), since
//!    nothing can be allocated against them. It is never negative for non-negative costs.
//! 4. **Shared** (control plane and other cluster-wide fees) is reported as given and not spread over workloads.
//!
//! Every split goes through [`Money::split_proportionally`], so the report's invariant
//! `sum(allocations.total) + idle + shared == total` holds exactly, to the nano-unit; any rounding remainder a
//! split hands back is counted as idle.
//!
//! Usage is the average of the workload's samples inside the window (samples outside it are ignored; a workload
//! with no sample has zero usage). Efficiency is average usage over `request × replicas`, and 0 when nothing is
//! requested.
//!
//! A workload whose `node_pool` matches no [`NodeCost`] row cannot be priced: it is still listed, with zero cost
//! and its usage and efficiencies, so a report shows it rather than hiding it; the totals are unaffected.

use std::collections::BTreeMap;

use crate::model::{
    Allocation, ClusterId, CostReport, Cpu, HourlyRate, Memory, Money, NodeCost, TimeWindow, UsageSample,
    WorkloadProfile, WorkloadRef,
};

/// OpenCost's default price of one CPU core-hour (USD), used only as a relative weight against
/// [`GIB_HOUR_WEIGHT`].
pub(crate) const CPU_CORE_HOUR_WEIGHT: f64 = 0.031611;
/// OpenCost's default price of one GiB-hour of memory (USD), used only as a relative weight against
/// [`CPU_CORE_HOUR_WEIGHT`].
pub(crate) const GIB_HOUR_WEIGHT: f64 = 0.004237;

/// Everything allocation needs.
#[derive(Debug, Clone)]
pub struct CostInputs<'a> {
    /// The cluster.
    pub cluster: ClusterId,
    /// The window.
    pub window: TimeWindow,
    /// Node cost per pool over the window.
    pub nodes: Vec<NodeCost>,
    /// Cluster-wide fees over the window.
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
/// # Panics
/// When the node costs and `shared` are in different currencies, as adding [`Money`] of two currencies does.
pub fn allocate(inputs: &CostInputs<'_>) -> CostReport {
    let currency = inputs.shared.currency();
    let zero = Money::zero(currency);
    let total = inputs.nodes.iter().fold(inputs.shared, |sum, n| sum + n.cost);
    let samples = samples_by_workload(inputs.usage, &inputs.window);
    let hours = inputs.window.hours();

    let (pools, mut idle) = pools_of(&inputs.nodes, zero);
    let mut allocations: Vec<Allocation> =
        inputs.workloads.iter().map(|w| usage_only_allocation(w, samples.get(&w.workload), zero)).collect();

    for (name, pool) in &pools {
        let members: Vec<usize> =
            inputs.workloads.iter().enumerate().filter(|(_, w)| w.node_pool == *name).map(|(i, _)| i).collect();
        let cpu_hours: Vec<f64> = members
            .iter()
            .map(|&i| {
                let requested = inputs.workloads[i].cpu_request.cores() * replicas(&inputs.workloads[i]);
                requested.max(allocations[i].cpu_used.cores()) * hours
            })
            .collect();
        let gib_hours: Vec<f64> = members
            .iter()
            .map(|&i| {
                let requested = inputs.workloads[i].memory_request.gib() * replicas(&inputs.workloads[i]);
                requested.max(allocations[i].memory_used.gib()) * hours
            })
            .collect();
        let (cpu_parts, cpu_idle) = split_with_idle(pool.cpu_cost, &cpu_hours, pool.core_hours);
        let (mem_parts, mem_idle) = split_with_idle(pool.memory_cost, &gib_hours, pool.gib_hours);
        idle += cpu_idle + mem_idle;
        for (k, &i) in members.iter().enumerate() {
            allocations[i].cpu_cost += cpu_parts[k];
            allocations[i].memory_cost += mem_parts[k];
            allocations[i].total = allocations[i].cpu_cost + allocations[i].memory_cost;
        }
    }

    allocations.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.workload.cmp(&b.workload)));
    CostReport {
        cluster: inputs.cluster.clone(),
        window: inputs.window,
        currency,
        total,
        nodes: inputs.nodes.clone(),
        shared: inputs.shared,
        idle,
        allocations,
        source: inputs.source.clone(),
    }
}

/// The CPU and memory parts of one node pool's cost, and its capacity over the window.
#[derive(Debug, Clone, Copy)]
struct PoolCost {
    cpu_cost: Money,
    memory_cost: Money,
    core_hours: f64,
    gib_hours: f64,
}

/// Folds node rows into pools; returns the pools and the cost of rows that cannot be allocated against.
fn pools_of(nodes: &[NodeCost], zero: Money) -> (BTreeMap<&str, PoolCost>, Money) {
    let mut pools: BTreeMap<&str, PoolCost> = BTreeMap::new();
    let mut unallocatable = zero;
    for row in nodes {
        let shares = resource_shares(row.cpu_per_node, row.memory_per_node);
        let node_hours = if row.node_hours.is_finite() { row.node_hours.max(0.0) } else { 0.0 };
        let Some((cpu_share, mem_share)) = shares.filter(|_| node_hours > 0.0) else {
            unallocatable += row.cost;
            continue;
        };
        let (parts, rest) = row.cost.split_proportionally(&[cpu_share, mem_share]);
        unallocatable += rest;
        let pool = pools.entry(row.node_pool.as_str()).or_insert(PoolCost {
            cpu_cost: zero,
            memory_cost: zero,
            core_hours: 0.0,
            gib_hours: 0.0,
        });
        pool.cpu_cost += parts[0];
        pool.memory_cost += parts[1];
        pool.core_hours += row.cpu_per_node.cores() * node_hours;
        pool.gib_hours += row.memory_per_node.gib() * node_hours;
    }
    (pools, unallocatable)
}

/// Splits `cost` over `demands` and the unrequested rest of `capacity`; returns the demands' parts and the idle
/// part (which includes any rounding remainder).
fn split_with_idle(cost: Money, demands: &[f64], capacity: f64) -> (Vec<Money>, Money) {
    let requested: f64 = demands.iter().sum();
    let mut weights = demands.to_vec();
    weights.push((capacity - requested).max(0.0));
    let (mut parts, rest) = cost.split_proportionally(&weights);
    let idle = parts.pop().unwrap_or(Money::zero(cost.currency())) + rest;
    (parts, idle)
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

/// The shares (summing to 1) of a node's price that pay for its CPU and for its memory, from OpenCost's default
/// relative prices; `None` for a node of zero CPU and zero memory.
pub(crate) fn resource_shares(cpu: Cpu, memory: Memory) -> Option<(f64, f64)> {
    let c = cpu.cores() * CPU_CORE_HOUR_WEIGHT;
    let m = memory.gib() * GIB_HOUR_WEIGHT;
    let sum = c + m;
    (sum > 0.0).then(|| (c / sum, m / sum))
}

/// What one core and one GiB of a node cost per hour, when the node costs `node_price` per hour.
pub(crate) fn resource_rates(node_price: HourlyRate, cpu: Cpu, memory: Memory) -> (HourlyRate, HourlyRate) {
    let zero = HourlyRate::zero(node_price.amount().currency());
    let Some((cpu_share, mem_share)) = resource_shares(cpu, memory) else {
        return (zero, zero);
    };
    let per_core = if cpu.millis() > 0 { node_price * (cpu_share / cpu.cores()) } else { zero };
    let per_gib = if memory.bytes() > 0 { node_price * (mem_share / memory.gib()) } else { zero };
    (per_core, per_gib)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Capacity, Currency};
    use jiff::SignedDuration;

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

    use crate::costing::fixtures::start;

    fn window(hours: i64) -> TimeWindow {
        TimeWindow::new(start(), start() + SignedDuration::from_hours(hours))
    }

    fn node(pool: &str, instance: &str, nodes: f64, hours: f64) -> NodeCost {
        let p = crate::costing::PriceTable::sim_default();
        let price = p.get(instance).unwrap();
        NodeCost {
            node_pool: pool.into(),
            instance_type: instance.into(),
            capacity: Capacity::OnDemand,
            node_hours: nodes * hours,
            hourly_price: price.on_demand,
            cost: price.on_demand.over_hours(nodes * hours),
            cpu_per_node: price.cpu,
            memory_per_node: price.memory,
        }
    }

    fn workload(name: &str, pool: &str, replicas: f64, cpu_m: u64, mem_mib: u64) -> WorkloadProfile {
        crate::costing::fixtures::workload(name, pool, replicas, cpu_m, mem_mib, false)
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
            shared: HourlyRate::usd(0.10).over_hours(hours as f64),
            workloads,
            usage,
            source: "test".into(),
        }
    }

    fn find<'r>(r: &'r CostReport, name: &str) -> &'r Allocation {
        r.allocations.iter().find(|a| a.workload.name == name).unwrap()
    }

    #[test]
    fn resource_shares_follow_opencost_weights() {
        let (c, m) = resource_shares(Cpu::from_cores(2), Memory::from_gib(8)).unwrap();
        let expected_cpu = 2.0 * 0.031611 / (2.0 * 0.031611 + 8.0 * 0.004237);
        assert!((c - expected_cpu).abs() < 1e-12);
        assert!((c + m - 1.0).abs() < 1e-12);
        // A memory-heavy shape puts more of its price on memory.
        let (c16, _) = resource_shares(Cpu::from_cores(2), Memory::from_gib(16)).unwrap();
        assert!(c16 < c);
        assert!(resource_shares(Cpu::default(), Memory::default()).is_none());
        let (per_core, per_gib) = resource_rates(HourlyRate::usd(0.096), Cpu::from_cores(2), Memory::from_gib(8));
        let rebuilt = per_core.amount().as_f64() * 2.0 + per_gib.amount().as_f64() * 8.0;
        assert!((rebuilt - 0.096).abs() < 1e-8, "{rebuilt}");
    }

    #[test]
    fn workloads_pay_their_share_and_the_rest_is_idle() {
        // One m5.large (2 vCPU, 8 GiB) for 10 hours; one workload requesting half of both.
        let w = [workload("web", "general", 2.0, 500, 2048)];
        let r = allocate(&inputs(10, vec![node("general", "m5.large", 1.0, 10.0)], &w, &[]));
        assert!(r.is_consistent());
        let node_cost = Money::usd(0.96);
        assert_eq!(r.total, node_cost + Money::usd(1.0));
        let a = find(&r, "web");
        let (cpu_share, mem_share) = resource_shares(Cpu::from_cores(2), Memory::from_gib(8)).unwrap();
        assert!((a.cpu_cost.as_f64() - 0.96 * cpu_share * 0.5).abs() < 1e-8, "{:?}", a.cpu_cost);
        assert!((a.memory_cost.as_f64() - 0.96 * mem_share * 0.5).abs() < 1e-8, "{:?}", a.memory_cost);
        assert!((r.idle.as_f64() - 0.48).abs() < 1e-8, "{:?}", r.idle);
        assert_eq!(r.shared, Money::usd(1.0));
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
        let r = allocate(&inputs(10, vec![node("general", "m5.large", 1.0, 10.0)], &w, &usage));
        assert!(r.is_consistent());
        let a = find(&r, "api");
        assert_eq!(a.cpu_used, Cpu::from_millis(800));
        assert_eq!(a.memory_used, Memory::from_gib(1));
        assert!((a.cpu_efficiency - 4.0).abs() < 1e-12);
        assert!((a.memory_efficiency - 1.0).abs() < 1e-12);
        // CPU allocated at the 800m average usage, not the 200m request: 0.4 of the pool's CPU part.
        let (cpu_share, _) = resource_shares(Cpu::from_cores(2), Memory::from_gib(8)).unwrap();
        assert!((a.cpu_cost.as_f64() - 0.96 * cpu_share * 0.4).abs() < 1e-8, "{:?}", a.cpu_cost);
    }

    #[test]
    fn oversubscribed_pool_is_scaled_down_to_its_cost() {
        // 2 vCPU and 8 GiB of capacity; the workloads ask for 6 vCPU and 16 GiB.
        let w = [workload("a", "general", 2.0, 1000, 4096), workload("b", "general", 1.0, 2000, 0)];
        let nodes = vec![node("general", "m5.large", 1.0, 24.0)];
        let pool_cost = nodes[0].cost;
        let r = allocate(&inputs(24, nodes, &w, &[]));
        assert!(r.is_consistent());
        assert_eq!(r.allocated(), pool_cost);
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
        let r = allocate(&inputs(5, vec![node("general", "m5.large", 2.0, 5.0)], &w, &usage));
        assert!(r.is_consistent());
        let g = find(&r, "ghost");
        assert!(g.total.is_zero());
        assert!((g.cpu_efficiency - 0.5).abs() < 1e-12);
        assert_eq!(r.allocations.last().unwrap().workload.name, "ghost");
        assert!(!find(&r, "web").total.is_zero());
    }

    #[test]
    fn rows_without_capacity_are_idle_and_rows_of_one_pool_add_up() {
        let mut empty = node("general", "m5.large", 0.0, 10.0);
        empty.cost = Money::usd(3.0);
        let w = [workload("web", "general", 1.0, 1000, 2048)];
        let r = allocate(&inputs(
            10,
            vec![empty, node("general", "m5.large", 1.0, 10.0), node("general", "c5.large", 1.0, 10.0)],
            &w,
            &[],
        ));
        assert!(r.is_consistent());
        // Capacity is 4 vCPU over both rows, so the workload takes a quarter of the pool's CPU part.
        let cpu_part = |n: &NodeCost| {
            let (c, _) = resource_shares(n.cpu_per_node, n.memory_per_node).unwrap();
            n.cost.as_f64() * c
        };
        let expected = (cpu_part(&r.nodes[1]) + cpu_part(&r.nodes[2])) * 0.25;
        assert!((find(&r, "web").cpu_cost.as_f64() - expected).abs() < 1e-8);
        assert!(r.idle > Money::usd(3.0));
    }

    #[test]
    fn invariant_holds_exactly_on_randomized_inputs() {
        let table = crate::costing::PriceTable::sim_default();
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
                let mut n = node(&format!("pool{p}"), t, count, hours as f64);
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
            let r = allocate(&inputs(hours, nodes, &workloads, &usage));
            assert!(r.is_consistent(), "case {case}: {r:?}");
            assert!(r.idle >= Money::zero_usd(), "case {case}");
            assert_eq!(r.allocations.len(), workloads.len());
            for pair in r.allocations.windows(2) {
                let ordered = pair[0].total > pair[1].total
                    || (pair[0].total == pair[1].total && pair[0].workload <= pair[1].workload);
                assert!(ordered, "case {case}");
            }
            for a in &r.allocations {
                assert_eq!(a.total, a.cpu_cost + a.memory_cost);
                assert!(a.total >= Money::zero_usd());
            }
        }
    }
}
