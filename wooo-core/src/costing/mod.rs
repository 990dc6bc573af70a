//! Pure cost decision logic: allocation of node cost to workloads, and recommendations (idle, right-size,
//! commitment, spot). Every function here is pure: prices, capacity and usage in, figures out. The simulator's
//! analyzer and the cloud analyzers in `wooo-cost` feed them their own data.

mod allocate;
mod prices;
mod recommend;

pub use allocate::{CostInputs, allocate};
pub use prices::{InstancePrice, PriceTable};
pub use recommend::{RecommendInputs, order as order_recommendations, recommend};

/// Fixtures shared by the allocation and recommendation tests.
#[cfg(test)]
mod fixtures {
    use jiff::Timestamp;

    use crate::model::{Cpu, Memory, WorkloadProfile, WorkloadRef};

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
