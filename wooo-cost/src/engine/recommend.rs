//! Recommendations: right-size workloads, shrink idle node pools, commit to a steady baseline, move
//! interruptible workloads to spot. Pure: a cost report, specs, usage and prices in; recommendations out.
//!
//! Each right-size, idle and spot recommendation is computed against the current spend, independently of the
//! others: applying one lowers what the others would save, so their savings overlap and must not be summed;
//! [`super::compose_savings`] applies them in order on the remaining cost. The commitment is sized last, on
//! what they leave.
//!
//! # Prices of resources
//! A pool's CPU and memory are priced as in allocation: its node's hourly price split by
//! OpenCost's relative weights, then divided by the node's vCPUs and GiB.
//!
//! # Right-size (VPA-like)
//! Per replica, from the workload's samples in the window (a sample sums all replicas, so it is divided by the
//! replica count): target CPU request = p90 of CPU use × 1.15, target memory request = p98 of memory use × 1.15
//! (nearest-rank percentiles, so below 50 samples p98 is the maximum). Floors of 10m and 32Mi; CPU is rounded up
//! to 5m and memory to 1Mi. A resource is changed only when its target differs from the current request by at
//! least 20% (a resource with no request always changes); the other keeps its request, so small differences do
//! not churn pods. No samples, no recommendation. Savings are the requests' price difference × replicas × 730 h;
//! when that is negative (under-provisioned), the increase is still recommended with zero savings and the
//! summary says what it costs, since memory below use means OOM kills.
//!
//! # Idle
//! Per node pool, the demand is each workload's `max(request × replicas, peak usage)`, so a shrink never cuts
//! below what was seen in use. When the demand fills less than 50% of the pool's CPU and less than 50% of its
//! memory, the smallest node count that keeps the demand at or under 80% of capacity on both resources is
//! recommended (never below the spec's `min`, never below 1). Savings: removed nodes × node price × 730 h. The
//! node count is the window's average (`node_hours / window hours`), rounded.
//!
//! # Commitment
//! Only for a window of at least 7 days (168 h). The steady baseline is the lowest hourly on-demand node spend
//! over the window **that remains after the right-size, idle and spot recommendations** (each pool's spend ×
//! the share of it those leave, as [`super::compose_savings`] composes them), so a commitment never covers
//! capacity the other recommendations remove. A report carries node-hours per pool, not an hourly series, so it is estimated per
//! on-demand pool as `min(average node count, spec's desired count)` × node price: a pool whose node count
//! stayed flat gives its current spend; one that scaled above its desired count is credited only the desired
//! count. 80% of the baseline is covered by a compute commitment at the discount and term of the price source
//! ([`PriceTable::commitment_discount`]); a price table without one gets no commitment recommendation (cloud
//! analyzers may bring the cloud's own, e.g. AWS's Savings Plans). The `hourly_commitment` is what the
//! commitment bills per hour, as clouds quote it:
//! `covered on-demand spend × (1 − discount)`. Savings: `covered × discount × 730`.
//!
//! # Spot
//! Per on-demand pool, workloads with `interruptible` are candidates; the others stay on on-demand ("not
//! interruptible"). When the candidates' requests fill at least one node (on CPU or memory), a pool
//! `<pool>-spot` is planned with up to 3 instance types of the **same CPU architecture** as the pool's current
//! type ([`PriceTable::arch`]: an x86 pool is never offered Graviton types, nor the reverse) and **at least its
//! vCPUs and memory**, that have a spot price, lowest interruption bucket first, then lowest cost of the
//! candidates' requests on them (diversification lowers the odds of losing every node at once). Types in bucket
//! 4 (>20% interruptions) are skipped; types of unknown bucket come last and are treated as bucket 3. Savings
//! compare what the candidates' requests cost on each side: `share` nodes of the pool's type on demand against
//! the nodes of the first spot type they fill (fewer when it is larger), × 730 h. The plan's steps create the pool with a taint and label (`wooo.dev/capacity-type=spot`), add a
//! toleration and a *preferred* node affinity to the moved workloads (so they fall back to on-demand when spot
//! capacity is reclaimed), drain gradually with PodDisruptionBudgets respected, then scale the on-demand pool
//! down.
//!
//! # Money
//! Savings are computed in exact integer arithmetic ([`Money::mul_ratio`], [`Money::times`]); the quantities that
//! are floats (average replicas and node counts, node shares) are read to a millionth
//! ([`Money::mul_quantity`]), and percentages (coverage, discount) are exact ratios. Every amount must be in the
//! report's currency: a node price, a price-table entry or `min_monthly_savings` in another currency is
//! [`MoneyError::CurrencyMismatch`].
//!
//! # Confidence
//! `confidence = base + (1 − base) × n / (n + h) / (1 + cv)`, clamped to 0..=1, where `n` is the amount of
//! evidence, `h` the amount that earns half of it, and `cv` the coefficient of variation (population standard
//! deviation over mean) of the usage behind the recommendation, so more data raises confidence and jumpier
//! usage lowers it.
//! - right-size: base 0, `n` = the workload's samples, `h` = 24, `cv` = the larger of its CPU and memory `cv`;
//! - idle: base 0.3 (requests are known without any sample), `n` = distinct sample times of the pool's workloads,
//!   `h` = 24, `cv` of their summed usage (larger of CPU and memory);
//! - commitment: base 0.3, `n` = days in the window, `h` = 7, `cv` = (average − baseline) / average spend;
//! - spot: as idle over the candidates, then × `(1 − 2 × interruption rate)` of the first instance type (0.9 for
//!   bucket 0, 0.56 for bucket 3).

use std::collections::BTreeMap;

use jiff::Timestamp;

use wooo_core::RecommendOptions;
use wooo_core::model::{
    Arch, Capacity, Confidence, Cpu, Currency, Evidence, HourlyRate, Memory, Money, MoneyError, MonthlyRate,
    NodePoolSpec, Recommendation, RecommendedAction, SpotMigrationPlan, UsageSample, WorkloadProfile, WorkloadRef,
};

use super::allocate::{replicas, resource_rates, samples_by_workload};
use super::{InstancePrice, PriceTable};

/// Everything recommendations need.
#[derive(Debug, Clone)]
pub struct RecommendInputs<'a> {
    /// The report for the window (allocations, node cost).
    pub report: &'a wooo_core::model::CostReport,
    /// Node pools as specified.
    pub node_pools: &'a [NodePoolSpec],
    /// Workloads and their requests.
    pub workloads: &'a [WorkloadProfile],
    /// Usage samples in the window.
    pub usage: &'a [UsageSample],
    /// Prices of the cluster's region.
    pub prices: &'a PriceTable,
}

/// The node label and taint key of planned spot pools.
const SPOT_CAPACITY_LABEL: &str = "wooo.dev/capacity-type";

const SAFETY_MARGIN: f64 = 1.15;
const CPU_PERCENTILE: f64 = 0.90;
const MEMORY_PERCENTILE: f64 = 0.98;
const MIN_CPU_MILLIS: u64 = 10;
const CPU_STEP_MILLIS: u64 = 5;
const MIB: u64 = 1024 * 1024;
const MIN_MEMORY_BYTES: u64 = 32 * MIB;
const MIN_RELATIVE_CHANGE: f64 = 0.20;
const IDLE_TRIGGER_FILL: f64 = 0.5;
const IDLE_TARGET_FILL: f64 = 0.8;
const COMMITMENT_MIN_WINDOW_HOURS: f64 = 168.0;
/// Share of the steady baseline a commitment covers, in percent.
const COMMITMENT_COVERAGE_PERCENT: i128 = 80;
const MAX_SPOT_TYPES: usize = 3;
const EXCLUDED_BUCKET: u8 = 4;
/// The interruption rate assumed for a type whose bucket is unknown: the worst bucket still accepted.
const UNKNOWN_INTERRUPTION_RATE: f64 = 0.22;
const HALF_CONFIDENCE_SAMPLES: f64 = 24.0;
const HALF_CONFIDENCE_DAYS: f64 = 7.0;
/// Confidence floor of recommendations that rest on known requests and prices rather than on usage alone.
const STRUCTURAL_BASE: f64 = 0.3;
/// Slack for float noise before rounding up (`100 × 1.15` is `114.99999999999999`).
const EPSILON: f64 = 1e-6;

/// Recommendations, highest estimated monthly savings first (see the module documentation for each rule).
///
/// `options.kinds`, when not empty, keeps only those kinds (`idle`, `right_size`, `commitment`, `spot`);
/// `options.min_monthly_savings` drops recommendations saving less.
///
/// # Errors
/// [`MoneyError::CurrencyMismatch`] when a node row's price, a price-table entry or
/// `options.min_monthly_savings` is not in the report's currency.
pub fn recommend(inputs: &RecommendInputs<'_>, options: &RecommendOptions) -> Result<Vec<Recommendation>, MoneyError> {
    check_currency(inputs, options)?;
    let ctx = Ctx::new(inputs);
    let mut out: Vec<Recommendation> = Vec::new();
    for w in inputs.workloads {
        out.extend(right_size(&ctx, w)?);
    }
    out.extend(ctx.pools.values().filter_map(|p| idle(&ctx, p)));
    for p in ctx.pools.values() {
        out.extend(spot(&ctx, p)?);
    }
    // Sized on the baseline the other recommendations leave.
    let shares = super::compose::remaining_shares(inputs.report, inputs.workloads, &out)?;
    out.extend(commitment(&ctx, &shares)?);

    out.retain(|r| options.kinds.is_empty() || options.kinds.contains(&r.action.kind()));
    if let Some(min) = options.min_monthly_savings {
        out.retain(|r| r.estimated_monthly_savings.amount() >= min);
    }
    // One currency, checked above: the nano-units order the savings.
    order(&mut out);
    Ok(out)
}

/// Orders recommendations as [`recommend`] returns them: highest estimated monthly savings first, then by kind
/// and summary. The savings must be in one currency (their nano-units are compared).
pub fn order(recommendations: &mut [Recommendation]) {
    recommendations.sort_by(|a, b| {
        let savings = |r: &Recommendation| r.estimated_monthly_savings.amount().nanos();
        savings(b)
            .cmp(&savings(a))
            .then_with(|| a.action.kind().cmp(b.action.kind()))
            .then_with(|| a.summary.cmp(&b.summary))
    });
}

/// Every amount recommendations read is in the report's currency.
fn check_currency(inputs: &RecommendInputs<'_>, options: &RecommendOptions) -> Result<(), MoneyError> {
    let zero = Money::zero(inputs.report.currency);
    let prices = inputs.prices.iter().flat_map(|p| [Some(p.on_demand), p.spot]).flatten();
    let rates = inputs.report.nodes.iter().map(|n| n.hourly_price).chain([inputs.prices.control_plane]).chain(prices);
    for amount in rates.map(HourlyRate::amount).chain(options.min_monthly_savings) {
        zero.checked_add(amount)?;
    }
    Ok(())
}

/// The inputs, indexed.
struct Ctx<'a> {
    node_pools: &'a [NodePoolSpec],
    workloads: &'a [WorkloadProfile],
    prices: &'a PriceTable,
    hours: f64,
    currency: Currency,
    samples: BTreeMap<&'a WorkloadRef, Vec<&'a UsageSample>>,
    pools: BTreeMap<&'a str, Pool<'a>>,
}

/// A node pool as billed in the window. A pool billed under several instance types is seen through the type
/// with the most node-hours.
struct Pool<'a> {
    name: &'a str,
    instance_type: &'a str,
    capacity: Capacity,
    node_hours: f64,
    dominant_hours: f64,
    hourly_price: HourlyRate,
    cpu: Cpu,
    memory: Memory,
    spec: Option<&'a NodePoolSpec>,
}

impl<'a> Ctx<'a> {
    fn new(inputs: &RecommendInputs<'a>) -> Self {
        let report = inputs.report;
        let mut pools: BTreeMap<&'a str, Pool<'a>> = BTreeMap::new();
        for row in &report.nodes {
            let hours = if row.node_hours.is_finite() { row.node_hours.max(0.0) } else { 0.0 };
            let pool = pools.entry(row.node_pool.as_str()).or_insert_with(|| Pool {
                name: &row.node_pool,
                instance_type: &row.instance_type,
                capacity: row.capacity,
                node_hours: 0.0,
                dominant_hours: -1.0,
                hourly_price: row.hourly_price,
                cpu: row.cpu_per_node,
                memory: row.memory_per_node,
                spec: inputs.node_pools.iter().find(|s| s.name == row.node_pool),
            });
            pool.node_hours += hours;
            if hours > pool.dominant_hours {
                pool.dominant_hours = hours;
                pool.instance_type = &row.instance_type;
                pool.capacity = row.capacity;
                pool.hourly_price = row.hourly_price;
                pool.cpu = row.cpu_per_node;
                pool.memory = row.memory_per_node;
            }
        }
        Self {
            node_pools: inputs.node_pools,
            workloads: inputs.workloads,
            prices: inputs.prices,
            hours: report.window.hours(),
            currency: report.currency,
            samples: samples_by_workload(inputs.usage, &report.window),
            pools,
        }
    }

    /// Per core-hour and per GiB-hour prices on a pool: as billed, else from its spec's first instance type.
    fn resource_rates(&self, pool: &str) -> Option<(HourlyRate, HourlyRate)> {
        if let Some(p) = self.pools.get(pool) {
            return Some(resource_rates(p.hourly_price, p.cpu, p.memory));
        }
        let spec = self.node_pools.iter().find(|s| s.name == pool)?;
        let price = self.prices.get(spec.instance_types.first()?)?;
        let node_price = match spec.capacity {
            Capacity::Spot => price.spot.unwrap_or(price.on_demand),
            Capacity::OnDemand => price.on_demand,
        };
        Some(resource_rates(node_price, price.cpu, price.memory))
    }

    fn workloads_on<'s>(&'s self, pool: &'s str) -> impl Iterator<Item = &'a WorkloadProfile> + 's {
        self.workloads.iter().filter(move |w| w.node_pool == pool)
    }

    /// How many distinct sample times the workloads have, and the variability of their summed usage.
    fn series_evidence<'w>(&self, workloads: impl Iterator<Item = &'w WorkloadProfile>) -> (usize, f64) {
        let mut by_time: BTreeMap<Timestamp, (f64, f64)> = BTreeMap::new();
        for w in workloads {
            for s in self.samples.get(&w.workload).into_iter().flatten() {
                let e = by_time.entry(s.at).or_default();
                e.0 += s.cpu.millis() as f64;
                e.1 += s.memory.bytes() as f64;
            }
        }
        let cpu: Vec<f64> = by_time.values().map(|v| v.0).collect();
        let mem: Vec<f64> = by_time.values().map(|v| v.1).collect();
        (by_time.len(), variation(&cpu).max(variation(&mem)))
    }

    /// A workload's largest sample in the window (CPU millicores, memory bytes), all replicas.
    fn peak_usage(&self, w: &WorkloadRef) -> (f64, f64) {
        self.samples
            .get(w)
            .into_iter()
            .flatten()
            .fold((0.0, 0.0), |(c, m), s| (c.max(s.cpu.millis() as f64), m.max(s.memory.bytes() as f64)))
    }
}

impl Pool<'_> {
    /// The average node count over the window, rounded; `None` when no node ran.
    fn current_nodes(&self, window_hours: f64) -> Option<u32> {
        if window_hours <= 0.0 {
            return None;
        }
        let n = (self.node_hours / window_hours).round();
        (n >= 1.0).then_some(n.min(f64::from(u32::MAX)) as u32)
    }

    fn min_nodes(&self) -> u32 {
        self.spec.map_or(1, |s| s.min).max(1)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Right-size
// ---------------------------------------------------------------------------------------------------------------

fn right_size(ctx: &Ctx<'_>, w: &WorkloadProfile) -> Result<Option<Recommendation>, MoneyError> {
    let Some(samples) = ctx.samples.get(&w.workload).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let replicas = replicas(w);
    if replicas <= 0.0 {
        return Ok(None);
    }
    let cpu: Vec<f64> = samples.iter().map(|s| s.cpu.millis() as f64 / replicas).collect();
    let mem: Vec<f64> = samples.iter().map(|s| s.memory.bytes() as f64 / replicas).collect();
    let cpu_p90 = percentile(&cpu, CPU_PERCENTILE);
    let mem_p98 = percentile(&mem, MEMORY_PERCENTILE);
    let target_cpu = Cpu::from_millis(round_up(ceil_u64(cpu_p90 * SAFETY_MARGIN).max(MIN_CPU_MILLIS), CPU_STEP_MILLIS));
    let target_mem = Memory::from_bytes(round_up(ceil_u64(mem_p98 * SAFETY_MARGIN).max(MIN_MEMORY_BYTES), MIB));

    let resize_cpu = relative_change(w.cpu_request.millis(), target_cpu.millis()) >= MIN_RELATIVE_CHANGE;
    let resize_mem = relative_change(w.memory_request.bytes(), target_mem.bytes()) >= MIN_RELATIVE_CHANGE;
    if !resize_cpu && !resize_mem {
        return Ok(None);
    }
    let new_cpu = if resize_cpu { target_cpu } else { w.cpu_request };
    let new_mem = if resize_mem { target_mem } else { w.memory_request };

    let zero = HourlyRate::zero(ctx.currency);
    let (per_core, per_gib) = ctx.resource_rates(&w.node_pool).unwrap_or((zero, zero));
    let cpu_change = i128::from(w.cpu_request.millis()) - i128::from(new_cpu.millis());
    let memory_change = i128::from(w.memory_request.bytes()) - i128::from(new_mem.bytes());
    let hourly_change = per_core.mul_ratio(cpu_change, 1000) + per_gib.mul_ratio(memory_change, 1 << 30);
    let monthly_change: MonthlyRate = hourly_change.mul_quantity(replicas)?.convert();
    let savings = MonthlyRate::new(monthly_change.amount().max_zero());

    let (cpu_cv, mem_cv) = (variation(&cpu), variation(&mem));
    let summary = right_size_summary(w, (resize_cpu, new_cpu), (resize_mem, new_mem), samples.len(), monthly_change);
    Ok(Some(Recommendation {
        action: RecommendedAction::RightSize {
            workload: w.workload.clone(),
            current_cpu: w.cpu_request,
            recommended_cpu: new_cpu,
            current_memory: w.memory_request,
            recommended_memory: new_mem,
        },
        estimated_monthly_savings: savings,
        confidence: confidence(0.0, samples.len() as f64, HALF_CONFIDENCE_SAMPLES, cpu_cv.max(mem_cv)),
        evidence: vec![
            Evidence::new("samples", samples.len() as f64, format!("{} usage samples in the window", samples.len())),
            Evidence::new("cpu_p90_millicores", cpu_p90, format!("p90 CPU use per replica: {cpu_p90:.1}m")),
            Evidence::new(
                "memory_p98_mib",
                mem_p98 / MIB as f64,
                format!("p98 memory use per replica: {:.1}Mi", mem_p98 / MIB as f64),
            ),
            Evidence::new("cpu_request_millicores", w.cpu_request.millis() as f64, format!("{}", w.cpu_request)),
            Evidence::new(
                "memory_request_mib",
                w.memory_request.bytes() as f64 / MIB as f64,
                format!("{}", w.memory_request),
            ),
            Evidence::new("replicas", replicas, format!("{replicas} replicas on average")),
            Evidence::new("cpu_variation", cpu_cv, "coefficient of variation of CPU use"),
            Evidence::new("memory_variation", mem_cv, "coefficient of variation of memory use"),
            Evidence::new(
                "monthly_cost_change",
                monthly_change.amount().as_f64(),
                format!("{monthly_change} (positive is saved, negative is extra cost)"),
            ),
        ],
        summary,
    }))
}

fn right_size_summary(
    w: &WorkloadProfile,
    (resize_cpu, new_cpu): (bool, Cpu),
    (resize_mem, new_mem): (bool, Memory),
    samples: usize,
    monthly_change: MonthlyRate,
) -> String {
    let mut changes = Vec::new();
    if resize_cpu {
        changes.push(format!("CPU {} → {}", w.cpu_request, new_cpu));
    }
    if resize_mem {
        changes.push(format!("memory {} → {}", w.memory_request, new_mem));
    }
    let changes = changes.join(", ");
    let mut line = if !monthly_change.amount().is_negative() {
        format!("right-size {}: {changes} per replica ({samples} samples); saves {monthly_change}", w.workload)
    } else {
        let extra = MonthlyRate::new(-monthly_change.amount());
        format!(
            "raise {}'s requests: {changes} per replica ({samples} samples); costs {extra} more (savings reported as 0)",
            w.workload
        )
    };
    if new_mem > w.memory_request {
        line.push_str("; memory below observed use risks OOM kills");
    }
    line
}

// ---------------------------------------------------------------------------------------------------------------
// Idle
// ---------------------------------------------------------------------------------------------------------------

fn idle(ctx: &Ctx<'_>, pool: &Pool<'_>) -> Option<Recommendation> {
    let current = pool.current_nodes(ctx.hours)?;
    if pool.cpu.millis() == 0 || pool.memory.bytes() == 0 {
        return None;
    }
    let (mut cpu_demand, mut mem_demand) = (0.0, 0.0);
    for w in ctx.workloads_on(pool.name) {
        let (cpu_peak, mem_peak) = ctx.peak_usage(&w.workload);
        cpu_demand += (w.cpu_request.millis() as f64 * replicas(w)).max(cpu_peak);
        mem_demand += (w.memory_request.bytes() as f64 * replicas(w)).max(mem_peak);
    }
    let (node_cpu, node_mem) = (pool.cpu.millis() as f64, pool.memory.bytes() as f64);
    let cpu_fill = cpu_demand / (node_cpu * f64::from(current));
    let mem_fill = mem_demand / (node_mem * f64::from(current));
    if cpu_fill >= IDLE_TRIGGER_FILL || mem_fill >= IDLE_TRIGGER_FILL {
        return None;
    }
    let need = |demand: f64, per_node: f64| ceil_u64(demand / (IDLE_TARGET_FILL * per_node));
    let needed = need(cpu_demand, node_cpu).max(need(mem_demand, node_mem)).max(u64::from(pool.min_nodes()));
    let recommended = u32::try_from(needed).ok().filter(|&n| n < current)?;
    let removed = current - recommended;
    let savings: MonthlyRate = pool.hourly_price.times(i64::from(removed)).convert();
    let (n, cv) = ctx.series_evidence(ctx.workloads_on(pool.name));
    Some(Recommendation {
        action: RecommendedAction::Idle {
            node_pool: pool.name.to_string(),
            current_nodes: current,
            recommended_nodes: recommended,
        },
        estimated_monthly_savings: savings,
        confidence: confidence(STRUCTURAL_BASE, n as f64, HALF_CONFIDENCE_SAMPLES, cv),
        evidence: vec![
            Evidence::new("current_nodes", f64::from(current), format!("{current} × {}", pool.instance_type)),
            Evidence::new("recommended_nodes", f64::from(recommended), "keeps demand at or under 80% of capacity"),
            Evidence::new(
                "cpu_fill",
                cpu_fill,
                format!("{:.1}% of the pool's CPU is requested or used", cpu_fill * 100.0),
            ),
            Evidence::new(
                "memory_fill",
                mem_fill,
                format!("{:.1}% of the pool's memory is requested or used", mem_fill * 100.0),
            ),
            Evidence::new("cpu_demand_cores", cpu_demand / 1000.0, "requests or peak use, whichever is larger"),
            Evidence::new(
                "memory_demand_gib",
                mem_demand / (1024.0 * MIB as f64),
                "requests or peak use, whichever is larger",
            ),
            Evidence::new("node_hourly_price", pool.hourly_price.amount().as_f64(), format!("{}", pool.hourly_price)),
        ],
        summary: format!(
            "shrink node pool {} from {current} to {recommended} × {}: workloads fill {:.0}% of its CPU and {:.0}% of \
             its memory; saves {savings}",
            pool.name,
            pool.instance_type,
            cpu_fill * 100.0,
            mem_fill * 100.0
        ),
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Commitment
// ---------------------------------------------------------------------------------------------------------------

fn commitment(ctx: &Ctx<'_>, shares: &BTreeMap<String, f64>) -> Result<Option<Recommendation>, MoneyError> {
    let Some(offer) = ctx.prices.commitment_discount.as_ref().filter(|d| d.percent > 0 && d.percent < 100) else {
        return Ok(None);
    };
    if ctx.hours < COMMITMENT_MIN_WINDOW_HOURS {
        return Ok(None);
    }
    let percent = i128::from(offer.percent);
    let zero = HourlyRate::zero(ctx.currency);
    let (mut average, mut baseline) = (zero, zero);
    for pool in ctx.pools.values().filter(|p| p.capacity == Capacity::OnDemand) {
        let avg_nodes = pool.node_hours / ctx.hours;
        let steady_nodes = pool.spec.map_or(avg_nodes, |s| avg_nodes.min(f64::from(s.desired_count())));
        let left = shares.get(pool.name).copied().unwrap_or(1.0);
        average = average + pool.hourly_price.mul_quantity(avg_nodes * left)?;
        baseline = baseline + pool.hourly_price.mul_quantity(steady_nodes * left)?;
    }
    if baseline.amount().nanos() <= 0 {
        return Ok(None);
    }
    let covered = baseline.mul_ratio(COMMITMENT_COVERAGE_PERCENT, 100);
    let hourly_commitment = covered.mul_ratio(100 - percent, 100);
    let savings: MonthlyRate = covered.mul_ratio(percent, 100).convert();
    // A ratio of two amounts, for confidence only.
    let cv = (average.amount().as_f64() - baseline.amount().as_f64()).max(0.0) / average.amount().as_f64();
    let days = ctx.hours / 24.0;
    let discount = f64::from(offer.percent) / 100.0;
    let term = offer.term_years;
    Ok(Some(Recommendation {
        action: RecommendedAction::Commitment { hourly_commitment, term_years: term, discount },
        estimated_monthly_savings: savings,
        confidence: confidence(STRUCTURAL_BASE, days, HALF_CONFIDENCE_DAYS, cv),
        evidence: vec![
            Evidence::new("window_hours", ctx.hours, format!("{days:.1} days of node spend")),
            Evidence::new(
                "baseline_hourly_on_demand",
                baseline.amount().as_f64(),
                format!("steady: {}", rate4(baseline)),
            ),
            Evidence::new(
                "average_hourly_on_demand",
                average.amount().as_f64(),
                format!("average: {}", rate4(average)),
            ),
            Evidence::new(
                "covered_hourly_on_demand",
                covered.amount().as_f64(),
                format!("{COMMITMENT_COVERAGE_PERCENT}% of the baseline"),
            ),
            Evidence::new("discount", discount, format!("{}% for {term} year(s): {}", offer.percent, offer.source)),
        ],
        summary: format!(
            "commit {term} year(s) to {} of compute commitment: covers {COMMITMENT_COVERAGE_PERCENT}% of the {} \
             steady on-demand node spend at the price source's {}% discount; saves {savings}",
            rate4(hourly_commitment),
            rate4(baseline),
            offer.percent,
        ),
    }))
}

// ---------------------------------------------------------------------------------------------------------------
// Spot
// ---------------------------------------------------------------------------------------------------------------

fn spot(ctx: &Ctx<'_>, pool: &Pool<'_>) -> Result<Option<Recommendation>, MoneyError> {
    if pool.capacity != Capacity::OnDemand {
        return Ok(None);
    }
    let (candidates, kept): (Vec<&WorkloadProfile>, Vec<&WorkloadProfile>) =
        ctx.workloads_on(pool.name).partition(|w| w.interruptible);
    if candidates.is_empty() {
        return Ok(None);
    }
    let (cpu, memory) = ctx.prices.get(pool.instance_type).map_or((pool.cpu, pool.memory), |p| (p.cpu, p.memory));
    if cpu.millis() == 0 || memory.bytes() == 0 {
        return Ok(None);
    }
    let cpu_requested: f64 = candidates.iter().map(|w| w.cpu_request.millis() as f64 * replicas(w)).sum();
    let mem_requested: f64 = candidates.iter().map(|w| w.memory_request.bytes() as f64 * replicas(w)).sum();
    let share = (cpu_requested / cpu.millis() as f64).max(mem_requested / memory.bytes() as f64);
    if share < 1.0 {
        return Ok(None);
    }
    let arch = ctx.prices.arch(pool.instance_type);
    let types = spot_types(ctx.prices, arch, cpu, memory, (cpu_requested, mem_requested));
    let Some((first, spot_price)) = types.first().and_then(|t| Some((t, t.spot?))) else {
        return Ok(None);
    };
    // The candidates on the spot type need `first_share` of its nodes (fewer than `share` when it is larger):
    // savings compare what the candidates cost on each, not a node of one with a node of the other.
    let first_share = node_share(first, cpu_requested, mem_requested);
    let on_demand_cost = pool.hourly_price.mul_quantity(share)?;
    let spot_cost = spot_price.mul_quantity(first_share)?;
    if spot_cost >= on_demand_cost {
        return Ok(None);
    }
    let savings: MonthlyRate = (on_demand_cost - spot_cost).convert();
    let rate = first.interruption_rate().unwrap_or(UNKNOWN_INTERRUPTION_RATE);
    let (n, cv) = ctx.series_evidence(candidates.iter().copied());
    let base = confidence(STRUCTURAL_BASE, n as f64, HALF_CONFIDENCE_SAMPLES, cv);
    let type_names: Vec<String> = types.iter().map(|t| t.instance_type.clone()).collect();
    let plan = SpotMigrationPlan {
        from_node_pool: pool.name.to_string(),
        to_node_pool: format!("{}-spot", pool.name),
        workloads: candidates.iter().map(|w| w.workload.clone()).collect(),
        kept_on_demand: kept.iter().map(|w| (w.workload.clone(), "not interruptible".to_string())).collect(),
        steps: Vec::new(),
        instance_types: type_names,
    };
    let steps = spot_steps(ctx, pool, &plan, share, (cpu_requested, mem_requested));
    let summary = format!(
        "move {} interruptible workload(s) ({share:.1} nodes of {}) from {} to spot pool {} on {}: {} spot vs {} \
         on-demand; saves {savings}",
        plan.workloads.len(),
        pool.instance_type,
        plan.from_node_pool,
        plan.to_node_pool,
        plan.instance_types.join(", "),
        rate4(spot_price),
        rate4(pool.hourly_price),
    );
    Ok(Some(Recommendation {
        action: RecommendedAction::Spot(SpotMigrationPlan { steps, ..plan }),
        estimated_monthly_savings: savings,
        confidence: Confidence::new(base.value() * (1.0 - 2.0 * rate)),
        evidence: vec![
            Evidence::new("candidate_workloads", candidates.len() as f64, "interruptible workloads on the pool"),
            Evidence::new("kept_workloads", kept.len() as f64, "workloads that stay on on-demand"),
            Evidence::new(
                "node_share",
                share,
                format!("candidates' requests fill {share:.2} × {}", pool.instance_type),
            ),
            Evidence::new("on_demand_hourly", pool.hourly_price.amount().as_f64(), rate4(pool.hourly_price)),
            Evidence::new(
                "spot_hourly",
                spot_price.amount().as_f64(),
                format!("{} on {}", rate4(spot_price), first.instance_type),
            ),
            Evidence::new(
                "interruption_rate",
                rate,
                match first.interruption_bucket {
                    Some(b) => format!("interruption bucket {b} (up to {:.0}%)", rate * 100.0),
                    None => format!("interruption bucket unknown, assumed up to {:.0}%", rate * 100.0),
                },
            ),
        ],
        summary,
    }))
}

/// How many nodes of `t` the requests fill: the larger of the CPU and memory shares.
fn node_share(t: &InstancePrice, cpu_millis: f64, mem_bytes: f64) -> f64 {
    (cpu_millis / t.cpu.millis().max(1) as f64).max(mem_bytes / t.memory.bytes().max(1) as f64)
}

/// Up to three spot instance types of architecture `arch` and at least `cpu` vCPUs and `memory` (the pool's
/// type), lowest interruption bucket first, then lowest cost of the requests on them (spot price × the nodes the
/// requests fill); bucket 4 is skipped, unknown buckets come last.
fn spot_types(
    prices: &PriceTable,
    arch: Arch,
    cpu: Cpu,
    memory: Memory,
    (cpu_millis, mem_bytes): (f64, f64),
) -> Vec<&InstancePrice> {
    let mut types: Vec<&InstancePrice> = prices
        .iter()
        .filter(|p| p.cpu >= cpu && p.memory >= memory && p.spot.is_some())
        .filter(|p| prices.arch(&p.instance_type) == arch)
        .filter(|p| p.interruption_bucket.is_none_or(|b| b < EXCLUDED_BUCKET))
        .collect();
    types.sort_by(|a, b| {
        let bucket = |p: &InstancePrice| p.interruption_bucket.unwrap_or(EXCLUDED_BUCKET);
        // One currency (checked by `recommend`); a float of the cost only to order the candidates.
        let cost = |p: &InstancePrice| {
            p.spot.map_or(f64::INFINITY, |s| s.amount().as_f64() * node_share(p, cpu_millis, mem_bytes))
        };
        bucket(a)
            .cmp(&bucket(b))
            .then_with(|| cost(a).total_cmp(&cost(b)))
            .then_with(|| a.instance_type.cmp(&b.instance_type))
    });
    types.truncate(MAX_SPOT_TYPES);
    types
}

fn spot_steps(
    ctx: &Ctx<'_>,
    pool: &Pool<'_>,
    plan: &SpotMigrationPlan,
    share: f64,
    (cpu_millis, mem_bytes): (f64, f64),
) -> Vec<String> {
    let moved: Vec<String> = plan.workloads.iter().map(ToString::to_string).collect();
    let current = pool.current_nodes(ctx.hours).unwrap_or(0);
    let freed = share.floor().min(f64::from(current)) as u32;
    let floor = pool.spec.map_or(0, |s| s.min).max(u32::from(!plan.kept_on_demand.is_empty()));
    let remaining = current.saturating_sub(freed).max(floor);
    vec![
        format!(
            "create node pool {} on spot capacity with instance types {}, labelled {SPOT_CAPACITY_LABEL}=spot and \
             tainted {SPOT_CAPACITY_LABEL}=spot:NoSchedule, with room for {:.2} vCPU and {:.2} GiB of requests",
            plan.to_node_pool,
            plan.instance_types.join(", "),
            cpu_millis / 1000.0,
            mem_bytes / (1024.0 * MIB as f64)
        ),
        format!(
            "add a toleration for {SPOT_CAPACITY_LABEL}=spot:NoSchedule and a preferred node affinity for \
             {SPOT_CAPACITY_LABEL}=spot to {}",
            moved.join(", ")
        ),
        format!(
            "give each moved workload a PodDisruptionBudget, then cordon and drain {} of {}'s nodes one at a time \
             (evictions respect the budgets), waiting for evicted pods to be ready before the next",
            current.saturating_sub(remaining),
            plan.from_node_pool
        ),
        format!("scale {} down from {current} to {remaining} nodes", plan.from_node_pool),
    ]
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------------------------

/// `base + (1 − base) × n / (n + half) / (1 + cv)` (see the module documentation).
fn confidence(base: f64, n: f64, half: f64, cv: f64) -> Confidence {
    let evidence = if n > 0.0 { n / (n + half) } else { 0.0 };
    let steadiness = 1.0 / (1.0 + cv.max(0.0));
    Confidence::new(base + (1.0 - base) * evidence * steadiness)
}

/// Nearest-rank percentile (`q` in 0..=1) of non-empty values.
fn percentile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied().unwrap_or(0.0)
}

/// Population standard deviation over mean; 0 for fewer than two values or a non-positive mean.
fn variation(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if mean <= 0.0 {
        return 0.0;
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    var.sqrt() / mean
}

/// How far `target` is from `current`, relative to `current`; any change from zero counts as total.
fn relative_change(current: u64, target: u64) -> f64 {
    if current == 0 {
        return if target == 0 { 0.0 } else { f64::INFINITY };
    }
    (target as f64 - current as f64).abs() / current as f64
}

fn ceil_u64(x: f64) -> u64 {
    if x.is_finite() && x > 0.0 { (x - EPSILON).ceil().max(0.0) as u64 } else { 0 }
}

fn round_up(value: u64, step: u64) -> u64 {
    value.div_ceil(step).saturating_mul(step)
}

/// An hourly rate with four decimals (`0.0536 USD/h`): two are too few for node prices.
fn rate4(r: HourlyRate) -> String {
    format!("{} {}/h", r.amount().to_fixed(4), r.amount().currency())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{CostInputs, allocate};
    use jiff::SignedDuration;
    use wooo_core::model::{ClusterId, CostReport, NodeCost, TimeWindow};

    use crate::engine::fixtures::start;

    fn pool(name: &str, instance: &str, min: u32, desired: u32, capacity: Capacity) -> NodePoolSpec {
        NodePoolSpec {
            name: name.into(),
            instance_types: vec![instance.into()],
            min,
            max: 50,
            desired: Some(desired),
            capacity,
            labels: Default::default(),
            taints: Vec::new(),
            disk: Default::default(),
            zones: Vec::new(),
        }
    }

    fn workload(name: &str, replicas: f64, cpu_m: u64, mem_mib: u64, interruptible: bool) -> WorkloadProfile {
        crate::engine::fixtures::workload(name, "general", replicas, cpu_m, mem_mib, interruptible)
    }

    /// A cluster over a window: pools with a node count each, workloads, hourly usage, prices.
    struct Scenario {
        hours: i64,
        pools: Vec<(NodePoolSpec, f64)>,
        workloads: Vec<WorkloadProfile>,
        usage: Vec<UsageSample>,
        prices: PriceTable,
    }

    impl Scenario {
        fn empty(hours: i64) -> Self {
            Self {
                hours,
                pools: vec![(pool("general", "m5.large", 2, 10, Capacity::OnDemand), 10.0)],
                workloads: Vec::new(),
                usage: Vec::new(),
                prices: PriceTable::sim_default(),
            }
        }

        /// Two weeks of hourly samples on ten m5.large nodes: `web` is over-provisioned, `api` short of memory,
        /// `batch` about right; `web` and `batch` can run on spot.
        fn realistic() -> Self {
            let mut s = Self::empty(336);
            s.workloads = vec![
                workload("web", 3.0, 1000, 2048, true),
                workload("api", 2.0, 250, 256, false),
                workload("batch", 4.0, 1000, 4096, true),
            ];
            s.add_usage("web", |h| (3 * (140 + (h % 5) * 5), 3 * (290 + h % 3 * 5)));
            s.add_usage("api", |_| (2 * 200, 2 * 400));
            s.add_usage("batch", |h| (4 * (880 + h % 3 * 10), 4 * 3500));
            s
        }

        /// Adds one sample per hour of the window; `f(hour)` gives (millicores, MiB) over all replicas.
        fn add_usage(&mut self, name: &str, f: impl Fn(u64) -> (u64, u64)) {
            self.add_samples(name, self.hours as u64, f);
        }

        fn add_samples(&mut self, name: &str, count: u64, f: impl Fn(u64) -> (u64, u64)) {
            for h in 0..count {
                let (cpu, mib) = f(h);
                self.usage.push(UsageSample {
                    workload: WorkloadRef::new("shop", name),
                    at: start() + SignedDuration::from_mins(h as i64 * 60 * self.hours / count.max(1) as i64),
                    cpu: Cpu::from_millis(cpu),
                    memory: Memory::from_mib(mib),
                });
            }
        }

        fn report(&self) -> CostReport {
            let hours = self.hours as f64;
            let whole_hours = self.hours as u64;
            let nodes = self
                .pools
                .iter()
                .map(|(spec, count)| {
                    let p = self.prices.get(&spec.instance_types[0]).unwrap();
                    let price = match spec.capacity {
                        Capacity::Spot => p.spot.unwrap(),
                        Capacity::OnDemand => p.on_demand,
                    };
                    NodeCost {
                        node_pool: spec.name.clone(),
                        instance_type: p.instance_type.clone(),
                        capacity: spec.capacity,
                        node_hours: count * hours,
                        hourly_price: price,
                        cost: price.over_hours(whole_hours).mul_quantity(*count).unwrap(),
                        cpu_per_node: p.cpu,
                        memory_per_node: p.memory,
                    }
                })
                .collect();
            allocate(&CostInputs {
                cluster: ClusterId::new("demo"),
                window: TimeWindow::new(start(), start() + SignedDuration::from_hours(self.hours)),
                nodes,
                shared: self.prices.control_plane.over_hours(whole_hours),
                workloads: &self.workloads,
                usage: &self.usage,
                source: self.prices.source.clone(),
            })
            .unwrap()
        }

        fn run(&self, options: &RecommendOptions) -> Vec<Recommendation> {
            self.try_run(options).unwrap()
        }

        fn try_run(&self, options: &RecommendOptions) -> Result<Vec<Recommendation>, MoneyError> {
            let report = self.report();
            let specs: Vec<NodePoolSpec> = self.pools.iter().map(|p| p.0.clone()).collect();
            recommend(
                &RecommendInputs {
                    report: &report,
                    node_pools: &specs,
                    workloads: &self.workloads,
                    usage: &self.usage,
                    prices: &self.prices,
                },
                options,
            )
        }

        fn all(&self) -> Vec<Recommendation> {
            self.run(&RecommendOptions::default())
        }
    }

    fn of_kind<'r>(recs: &'r [Recommendation], kind: &str) -> Vec<&'r Recommendation> {
        recs.iter().filter(|r| r.action.kind() == kind).collect()
    }

    fn right_size_of<'r>(recs: &'r [Recommendation], name: &str) -> Option<&'r Recommendation> {
        recs.iter()
            .find(|r| matches!(&r.action, RecommendedAction::RightSize { workload, .. } if workload.name == name))
    }

    /// A monthly rate from a float hourly figure the tests compute by hand, for approximate comparisons.
    fn monthly(hourly_usd: f64) -> MonthlyRate {
        HourlyRate::new(Money::from_f64(hourly_usd, Currency::USD).unwrap()).convert()
    }

    fn close(a: MonthlyRate, b: MonthlyRate) -> bool {
        (a.amount().as_f64() - b.amount().as_f64()).abs() < 0.01
    }

    #[test]
    fn realistic_cluster_gets_every_kind_sorted_by_savings() {
        let recs = Scenario::realistic().all();
        for kind in ["idle", "right_size", "commitment", "spot"] {
            assert!(!of_kind(&recs, kind).is_empty(), "no {kind} in {recs:#?}");
        }
        for pair in recs.windows(2) {
            assert!(pair[0].estimated_monthly_savings >= pair[1].estimated_monthly_savings);
        }
        for r in &recs {
            assert!(!r.evidence.is_empty(), "{r:?}");
            assert!(r.summary.chars().any(|c| c.is_ascii_digit()), "{}", r.summary);
            assert!(!r.summary.contains('\n'));
            assert!((0.0..=1.0).contains(&r.confidence.value()));
        }
        // `batch` uses what it asks for: no right-size.
        assert!(right_size_of(&recs, "batch").is_none());
    }

    #[test]
    fn right_size_uses_p90_cpu_and_p98_memory_with_margin_and_rounding() {
        let mut s = Scenario::empty(48);
        s.workloads = vec![workload("web", 2.0, 1000, 2048, false)];
        // Per replica: 150m and 300Mi flat.
        s.add_usage("web", |_| (300, 600));
        let recs = s.all();
        let r = right_size_of(&recs, "web").expect("right-size");
        let RecommendedAction::RightSize { recommended_cpu, recommended_memory, .. } = &r.action else {
            unreachable!()
        };
        // 150 × 1.15 = 172.5 → 173m → rounded up to 175m; 300Mi × 1.15 = 345Mi.
        assert_eq!(*recommended_cpu, Cpu::from_millis(175));
        assert_eq!(*recommended_memory, Memory::from_mib(345));
        let (per_core, per_gib) = resource_rates(HourlyRate::usd(96, 3), Cpu::from_cores(2), Memory::from_gib(8));
        let hourly = per_core.amount().as_f64() * 0.825 + per_gib.amount().as_f64() * (2.0 - 345.0 / 1024.0);
        assert!(close(r.estimated_monthly_savings, monthly(hourly * 2.0)), "{:?}", r.estimated_monthly_savings);
        assert!(r.summary.contains("175m") && r.summary.contains("345Mi"), "{}", r.summary);
        assert!(r.summary.contains(&r.estimated_monthly_savings.to_string()), "{}", r.summary);
    }

    #[test]
    fn right_size_needs_a_twenty_percent_change_and_samples() {
        // Targets are 175m and 345Mi (see above).
        let run = |cpu_m: u64, with_samples: bool| {
            let mut s = Scenario::empty(48);
            s.workloads = vec![workload("web", 1.0, cpu_m, 345, false)];
            if with_samples {
                s.add_usage("web", |_| (150, 300));
            }
            right_size_of(&s.all(), "web").cloned()
        };
        assert!(run(210, true).is_none(), "16.7% is under the threshold");
        let r = run(220, true).expect("20.5% is over the threshold");
        let RecommendedAction::RightSize { recommended_cpu, recommended_memory, current_memory, .. } = r.action else {
            unreachable!()
        };
        assert_eq!(recommended_cpu, Cpu::from_millis(175));
        assert_eq!(recommended_memory, current_memory, "memory within 20% keeps its request");
        assert!(run(1000, false).is_none(), "no samples, no recommendation");
    }

    #[test]
    fn right_size_floors_tiny_usage() {
        let mut s = Scenario::empty(24);
        s.workloads = vec![workload("idle", 1.0, 100, 128, false)];
        s.add_usage("idle", |_| (1, 1));
        let recs = s.all();
        let RecommendedAction::RightSize { recommended_cpu, recommended_memory, .. } =
            &right_size_of(&recs, "idle").unwrap().action
        else {
            unreachable!()
        };
        assert_eq!(*recommended_cpu, Cpu::from_millis(10));
        assert_eq!(*recommended_memory, Memory::from_mib(32));
    }

    #[test]
    fn memory_target_is_the_max_with_few_samples_and_p98_with_many() {
        let target = |count: u64| {
            let mut s = Scenario::empty(400);
            s.workloads = vec![workload("web", 1.0, 100, 4096, false)];
            // One spike to 2000Mi in the last sample, 500Mi otherwise.
            s.add_samples("web", count, |h| (100, if h == count - 1 { 2000 } else { 500 }));
            let recs = s.all();
            match &right_size_of(&recs, "web").unwrap().action {
                RecommendedAction::RightSize { recommended_memory, .. } => *recommended_memory,
                _ => unreachable!(),
            }
        };
        assert_eq!(target(10), Memory::from_mib(2300));
        assert_eq!(target(200), Memory::from_mib(575));
    }

    #[test]
    fn under_provisioned_memory_is_raised_with_zero_savings() {
        let recs = Scenario::realistic().all();
        let r = right_size_of(&recs, "api").expect("api is short of memory");
        assert!(r.estimated_monthly_savings.amount().is_zero());
        let RecommendedAction::RightSize { current_cpu, recommended_cpu, recommended_memory, .. } = &r.action else {
            unreachable!()
        };
        assert_eq!(recommended_cpu, current_cpu, "230m is within 20% of 250m");
        assert_eq!(*recommended_memory, Memory::from_mib(460));
        assert!(r.summary.contains("OOM") && r.summary.contains("more"), "{}", r.summary);
        let change = r.evidence.iter().find(|e| e.metric == "monthly_cost_change").unwrap();
        assert!(change.value < 0.0);
    }

    #[test]
    fn idle_pool_shrinks_to_eighty_percent_and_respects_min() {
        let recs = Scenario::realistic().all();
        let idle = of_kind(&recs, "idle");
        assert_eq!(idle.len(), 1);
        // Demand 7.5 vCPU (requests) and 22.8 GiB: 7.5 / (0.8 × 2) → 5 nodes.
        assert_eq!(
            idle[0].action,
            RecommendedAction::Idle { node_pool: "general".into(), current_nodes: 10, recommended_nodes: 5 }
        );
        // 5 nodes × 0.096 × 730, exactly.
        assert_eq!(idle[0].estimated_monthly_savings, MonthlyRate::usd(3504, 1));

        let mut s = Scenario::realistic();
        s.pools[0].0.min = 8;
        let idle = of_kind(&s.all(), "idle")[0].action.clone();
        assert!(matches!(idle, RecommendedAction::Idle { recommended_nodes: 8, .. }), "{idle:?}");

        let mut s = Scenario::realistic();
        s.pools[0].0.min = 10;
        assert!(of_kind(&s.all(), "idle").is_empty(), "cannot go below min");

        // On 7 nodes the requests fill 54% of the CPU: not idle.
        let mut s = Scenario::realistic();
        s.pools[0].1 = 7.0;
        assert!(of_kind(&s.all(), "idle").is_empty());
    }

    #[test]
    fn commitment_needs_a_week_and_covers_eighty_percent_of_the_baseline() {
        let recs = Scenario::empty(168).all();
        let c = of_kind(&recs, "commitment");
        assert_eq!(c.len(), 1);
        let RecommendedAction::Commitment { hourly_commitment, term_years, discount } = &c[0].action else {
            unreachable!()
        };
        assert_eq!((*term_years, *discount), (1, 0.28));
        // Sized after the idle shrink of the empty pool (10 → 2 nodes, 20% left): baseline 10 × 0.096 × 20% =
        // 0.192/h; covered 0.1536/h; billed 0.1536 × 0.72; saved 0.1536 × 0.28 × 730. Exact.
        assert_eq!(of_kind(&recs, "idle").len(), 1);
        assert_eq!(*hourly_commitment, HourlyRate::usd(110592, 6));
        assert_eq!(c[0].estimated_monthly_savings, MonthlyRate::usd(3139584, 5));
        assert!(c[0].summary.contains("0.1106 USD/h") && c[0].summary.contains("80%"), "{}", c[0].summary);
        // Without the idle recommendation to apply first (a pool at its minimum), the whole baseline is covered.
        let mut full = Scenario::empty(168);
        full.pools[0].0.min = 10;
        let c = of_kind(&full.all(), "commitment")[0].clone();
        let RecommendedAction::Commitment { hourly_commitment, .. } = &c.action else { unreachable!() };
        assert_eq!(*hourly_commitment, HourlyRate::usd(55296, 5), "0.96 × 80% × 72%");
        // No discount in the price source: no commitment.
        let mut no_offer = Scenario::empty(168);
        no_offer.prices.commitment_discount = None;
        assert!(of_kind(&no_offer.all(), "commitment").is_empty());

        assert!(of_kind(&Scenario::empty(167).all(), "commitment").is_empty(), "under a week");

        let mut spot_only = Scenario::empty(336);
        spot_only.pools[0].0.capacity = Capacity::Spot;
        assert!(of_kind(&spot_only.all(), "commitment").is_empty(), "spot is not committed");

        // A pool that ran above its desired count is credited only the desired count.
        let mut burst = Scenario::empty(336);
        burst.pools[0].1 = 14.0;
        let c = of_kind(&burst.all(), "commitment")[0].clone();
        // (and the idle shrink to 2 of its 14 average nodes leaves 2/14 of it).
        assert!(
            close(c.estimated_monthly_savings, monthly(0.768 * 0.28 * 2.0 / 14.0)),
            "{:?}",
            c.estimated_monthly_savings
        );
    }

    #[test]
    fn spot_plan_moves_interruptible_workloads_to_diversified_types() {
        let recs = Scenario::realistic().all();
        let spot = of_kind(&recs, "spot");
        assert_eq!(spot.len(), 1);
        let RecommendedAction::Spot(plan) = &spot[0].action else { unreachable!() };
        assert_eq!(plan.from_node_pool, "general");
        assert_eq!(plan.to_node_pool, "general-spot");
        // At least 2 vCPU and 8 GiB: bucket 0 by spot price (r5.large 0.0536, c5.xlarge 0.0748), then the
        // cheapest of bucket 1 (t3.large 0.0335).
        assert_eq!(plan.instance_types, ["r5.large", "c5.xlarge", "t3.large"]);
        assert_eq!(plan.workloads, [WorkloadRef::new("shop", "web"), WorkloadRef::new("shop", "batch")]);
        assert_eq!(plan.kept_on_demand, [(WorkloadRef::new("shop", "api"), "not interruptible".to_string())]);
        assert_eq!(plan.steps.len(), 4);
        assert!(plan.steps[0].contains("NoSchedule") && plan.steps[2].contains("PodDisruptionBudget"));
        assert!(plan.steps[3].contains("from 10 to 7"), "{}", plan.steps[3]);
        // Candidates request 7 vCPU: 3.5 nodes × (0.096 − 0.134 × 0.4).
        assert!(close(spot[0].estimated_monthly_savings, monthly(3.5 * (0.096 - 0.134 * 0.4))));
    }

    #[test]
    fn spot_skips_bucket_four_and_needs_a_node_of_candidates() {
        let mut s = Scenario::realistic();
        s.prices.insert(InstancePrice {
            instance_type: "z9.large".into(),
            cpu: Cpu::from_cores(2),
            memory: Memory::from_gib(8),
            on_demand: HourlyRate::usd(5, 2),
            spot: Some(HourlyRate::usd(1, 3)),
            interruption_bucket: Some(4),
        });
        s.prices.insert(InstancePrice {
            instance_type: "y1.large".into(),
            cpu: Cpu::from_cores(2),
            memory: Memory::from_gib(8),
            on_demand: HourlyRate::usd(5, 2),
            spot: Some(HourlyRate::usd(2, 3)),
            interruption_bucket: None,
        });
        let gib = (1u64 << 30) as f64;
        let types = spot_types(&s.prices, Arch::X86_64, Cpu::from_cores(2), Memory::from_gib(8), (2000.0, 8.0 * gib));
        let names: Vec<&str> = types.iter().map(|t| t.instance_type.as_str()).collect();
        assert!(!names.contains(&"z9.large"));
        let all: Vec<&str> =
            spot_types(&s.prices, Arch::X86_64, Cpu::from_cores(4), Memory::from_gib(16), (4000.0, 16.0 * gib))
                .iter()
                .map(|t| t.instance_type.as_str())
                .collect();
        assert_eq!(all, ["m6i.xlarge", "m5.2xlarge"], "unknown bucket and too-small types are not picked first");

        // Half a node of candidates is not worth a pool.
        let mut small = Scenario::empty(336);
        small.workloads = vec![workload("web", 1.0, 1000, 2048, true), workload("api", 4.0, 1000, 4096, false)];
        assert!(of_kind(&small.all(), "spot").is_empty());
        small.workloads[0].replicas = 2.0;
        assert_eq!(of_kind(&small.all(), "spot").len(), 1, "a whole node of candidates");
        small.pools[0].0.capacity = Capacity::Spot;
        assert!(of_kind(&small.all(), "spot").is_empty(), "already spot");
    }

    #[test]
    fn spot_keeps_the_architecture_and_compares_equal_capacity() {
        // The sim table has Graviton m6g.large; add a cheaper one in the best bucket: neither is offered for
        // the x86 m5.large pool.
        let mut s = Scenario::realistic();
        s.prices.insert(InstancePrice {
            instance_type: "m7g.large".into(),
            cpu: Cpu::from_cores(2),
            memory: Memory::from_gib(8),
            on_demand: HourlyRate::usd(8, 2),
            spot: Some(HourlyRate::usd(1, 3)),
            interruption_bucket: Some(0),
        });
        let recs = s.all();
        let RecommendedAction::Spot(plan) = &of_kind(&recs, "spot")[0].action else { unreachable!() };
        assert!(!plan.instance_types.is_empty());
        for t in &plan.instance_types {
            let p = s.prices.get(t).unwrap();
            assert_eq!(s.prices.arch(t), Arch::X86_64, "{t} offered for an x86 pool");
            assert!(p.cpu >= Cpu::from_cores(2) && p.memory >= Memory::from_gib(8), "{t} smaller than m5.large");
        }
        // An ARM pool gets ARM types only.
        let mut arm = Scenario::realistic();
        arm.pools[0].0.instance_types = vec!["m6g.large".into()];
        let report_nodes = arm.report().nodes;
        assert_eq!(report_nodes[0].instance_type, "m6g.large");
        let recs = arm.all();
        let RecommendedAction::Spot(plan) = &of_kind(&recs, "spot")[0].action else { unreachable!() };
        assert_eq!(plan.instance_types, vec!["m6g.large".to_string()]);

        // Savings compare the candidates' requests on each side: web (3 × 1000m, 2Gi) and batch (4 × 1000m, 4Gi)
        // fill 3.5 m5.large (7 vCPU of 2) but 1.75 m5.xlarge (of 4): (0.096 × 3.5 − 0.08 × 1.75) × 730 = 143.08,
        // not (0.096 − 0.08) × 3.5 × 730 as if a larger node cost what a smaller one does.
        let mut sized = Scenario::realistic();
        let mut table = PriceTable::new("us-east-1", HourlyRate::usd(1, 1), "two types");
        let m5 = PriceTable::sim_default().get("m5.large").cloned().unwrap();
        table.insert(InstancePrice { spot: None, ..m5 });
        table.insert(InstancePrice {
            instance_type: "m5.xlarge".into(),
            cpu: Cpu::from_cores(4),
            memory: Memory::from_gib(16),
            on_demand: HourlyRate::usd(192, 3),
            spot: Some(HourlyRate::usd(8, 2)),
            interruption_bucket: Some(0),
        });
        sized.prices = table;
        let recs = sized.all();
        let spot = of_kind(&recs, "spot")[0];
        assert_eq!(spot.estimated_monthly_savings, MonthlyRate::usd(14308, 2));
    }

    #[test]
    fn savings_compose_in_order_on_the_remaining_cost() {
        let s = Scenario::realistic();
        let recs = s.all();
        let report = s.report();
        let composed = crate::engine::compose_savings(&report, &s.workloads, &recs).unwrap();
        let names: Vec<&str> = composed.stages.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, ["right_size", "idle", "spot", "commitment"]);
        let sum: Money = recs.iter().map(|r| r.estimated_monthly_savings.amount().max_zero()).sum();
        assert!(composed.total < sum, "overlapping savings are not summed: {} vs {sum}", composed.total);
        assert!(composed.total <= composed.monthly_node_cost);
        assert_eq!(composed.total + composed.remaining, composed.monthly_node_cost, "exactly");
        assert_eq!(composed.stages.iter().map(|(_, m)| *m).sum::<Money>(), composed.total);
        // Ten m5.large for a month: 10 × 0.096 × 730 = 700.80.
        assert_eq!(composed.monthly_node_cost, Money::usd(70080, 2));

        // By hand: two recommendations on the pool, right-size 30% then idle 40%: 30% + 40% × 70% = 58%.
        let share = |kind: &str, pct: i128| {
            let mut r = of_kind(&recs, kind)[0].clone();
            r.estimated_monthly_savings = MonthlyRate::new(Money::usd(70080, 2).mul_ratio(pct, 100));
            r
        };
        let two = [share("right_size", 30), share("idle", 40)];
        let c = crate::engine::compose_savings(&report, &s.workloads, &two).unwrap();
        assert_eq!(c.stages[0].1, Money::usd(21024, 2));
        assert_eq!(c.stages[1].1, Money::usd(196224, 3), "40% of the 70% left");
        assert_eq!(c.total, Money::usd(406464, 3));
        // A stage saving more than the pool costs takes what is left, no more.
        let all = [share("idle", 150), share("spot", 50)];
        let c = crate::engine::compose_savings(&report, &s.workloads, &all).unwrap();
        assert_eq!((c.total, c.remaining), (Money::usd(70080, 2), Money::usd(0, 0)));
    }

    /// More usage never lowers a right-size target, on randomized usage levels.
    #[test]
    fn more_usage_never_lowers_a_recommendation() {
        let mut seed = 0x5eed_u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            seed >> 33
        };
        for _ in 0..40 {
            let (cpu, mem, bump) = (50 + next() % 900, 64 + next() % 2000, 1 + next() % 400);
            let target = |extra: u64| {
                let mut s = Scenario::empty(72);
                s.workloads = vec![workload("web", 1.0, 4000, 8192, false)];
                s.add_usage("web", |h| (cpu + h % 7 * extra, mem + h % 5 * extra));
                let recs = s.all();
                match right_size_of(&recs, "web").map(|r| r.action.clone()) {
                    Some(RecommendedAction::RightSize { recommended_cpu, recommended_memory, .. }) => {
                        (recommended_cpu, recommended_memory)
                    }
                    _ => (Cpu::from_millis(4000), Memory::from_mib(8192)),
                }
            };
            let (low, high) = (target(0), target(bump));
            assert!(high.0 >= low.0 && high.1 >= low.1, "usage {cpu}m/{mem}Mi +{bump}: {low:?} → {high:?}");
        }
    }

    #[test]
    fn spot_confidence_falls_with_the_interruption_bucket() {
        let confidence_with_bucket = |bucket: u8| {
            let mut s = Scenario::realistic();
            let mut table = PriceTable::new("test", HourlyRate::usd(1, 1), "test");
            table.insert(s.prices.get("m5.large").unwrap().clone());
            let mut only = s.prices.get("m5.large").unwrap().clone();
            only.interruption_bucket = Some(bucket);
            table.insert(only);
            s.prices = table;
            of_kind(&s.all(), "spot")[0].confidence.value()
        };
        let by_bucket: Vec<f64> = (0..4).map(confidence_with_bucket).collect();
        for pair in by_bucket.windows(2) {
            assert!(pair[0] > pair[1], "{by_bucket:?}");
        }
    }

    #[test]
    fn kinds_and_minimum_savings_filter() {
        let s = Scenario::realistic();
        let all = s.all();
        let only_spot = s.run(&RecommendOptions { kinds: vec!["spot"], ..Default::default() });
        assert_eq!(only_spot, of_kind(&all, "spot").into_iter().cloned().collect::<Vec<_>>());
        let two = s.run(&RecommendOptions { kinds: vec!["right_size", "idle"], ..Default::default() });
        assert_eq!(two.len(), of_kind(&all, "right_size").len() + 1);
        assert_eq!(two[0].action.kind(), "idle");

        let min = Money::usd(100, 0);
        let big = s.run(&RecommendOptions { min_monthly_savings: Some(min), ..Default::default() });
        assert!(!big.is_empty() && big.len() < all.len());
        assert!(big.iter().all(|r| r.estimated_monthly_savings.amount() >= min));
        assert_eq!(big.len(), all.iter().filter(|r| r.estimated_monthly_savings.amount() >= min).count());
    }

    #[test]
    fn confidence_grows_with_samples_and_falls_with_variability() {
        let right_size_confidence = |hours: i64, noisy: bool| {
            let mut s = Scenario::empty(hours);
            s.workloads = vec![workload("web", 1.0, 2000, 4096, false)];
            s.add_usage("web", |h| if noisy { (100 + (h % 4) * 150, 300 + (h % 4) * 200) } else { (400, 600) });
            s.all().iter().find(|r| r.action.kind() == "right_size").unwrap().confidence.value()
        };
        let steady: Vec<f64> = [1, 8, 24, 96, 400].iter().map(|&h| right_size_confidence(h, false)).collect();
        for pair in steady.windows(2) {
            assert!(pair[0] < pair[1], "{steady:?}");
        }
        // The noisy pattern repeats every 4 hours, so its variability is the same at each length.
        let noisy: Vec<f64> = [4, 24, 96, 400].iter().map(|&h| right_size_confidence(h, true)).collect();
        for pair in noisy.windows(2) {
            assert!(pair[0] < pair[1], "{noisy:?}");
        }
        assert!(right_size_confidence(96, true) < right_size_confidence(96, false));
        assert!(steady.iter().all(|c| *c < 1.0));
    }

    #[test]
    fn amounts_in_another_currency_are_an_error_not_ignored() {
        let eur: Currency = "EUR".parse().unwrap();
        let s = Scenario::realistic();
        let min = Money::new(1, 0, eur);
        let err = s.try_run(&RecommendOptions { min_monthly_savings: Some(min), ..Default::default() }).unwrap_err();
        assert_eq!(err, MoneyError::CurrencyMismatch { left: Currency::USD, right: eur });
        let mut s = Scenario::realistic();
        let mut foreign = s.prices.get("r5.large").unwrap().clone();
        foreign.spot = Some(HourlyRate::new(Money::new(1, 2, eur)));
        s.prices.insert(foreign);
        assert!(s.try_run(&RecommendOptions::default()).is_err(), "a EUR spot price must not rank among USD ones");
    }

    #[test]
    fn number_helpers() {
        assert_eq!(percentile(&[5.0, 1.0, 3.0, 2.0, 4.0], 0.9), 5.0);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&hundred, 0.9), 90.0);
        assert_eq!(percentile(&hundred, 0.98), 98.0);
        assert_eq!(variation(&[2.0, 2.0, 2.0]), 0.0);
        assert!((variation(&[1.0, 3.0]) - 0.5).abs() < 1e-12);
        assert_eq!(relative_change(0, 5), f64::INFINITY);
        assert_eq!(round_up(173, 5), 175);
        assert_eq!(ceil_u64(100.0 * 1.15), 115);
        assert!(confidence(0.0, 10.0, 24.0, 0.0).value() < confidence(0.0, 20.0, 24.0, 0.0).value());
        assert_eq!(confidence(0.3, 0.0, 24.0, 0.0).value(), 0.3);
    }
}
