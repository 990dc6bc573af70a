//! Price tables: what an instance type costs per hour, on demand and on spot, and what it holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Capacity, Cpu, HourlyRate, Memory, Money, NodeCost, NodePoolSpec, TimeWindow};

/// One instance type's size and prices in a region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstancePrice {
    /// Instance type (VM size, machine type).
    pub instance_type: String,
    /// vCPUs.
    pub cpu: Cpu,
    /// Memory.
    pub memory: Memory,
    /// On-demand price.
    pub on_demand: HourlyRate,
    /// Typical spot price, when known.
    pub spot: Option<HourlyRate>,
    /// Spot interruption frequency bucket (AWS Spot Advisor: 0 is <5%, 1 is 5-10%, 2 is 10-15%, 3 is 15-20%,
    /// 4 is >20%), when known.
    pub interruption_bucket: Option<u8>,
}

impl InstancePrice {
    /// The price per node-hour for `capacity`: the spot price, else on-demand.
    pub fn hourly(&self, capacity: Capacity) -> HourlyRate {
        match capacity {
            Capacity::Spot => self.spot.unwrap_or(self.on_demand),
            Capacity::OnDemand => self.on_demand,
        }
    }

    /// What `pool`'s desired nodes of this type cost over `window`: nodes × price × the window's length to the
    /// nanosecond, rounded once.
    pub fn node_cost(&self, pool: &NodePoolSpec, window: &TimeWindow) -> NodeCost {
        let hourly_price = self.hourly(pool.capacity);
        let nodes = pool.desired_count();
        NodeCost {
            node_pool: pool.name.clone(),
            instance_type: self.instance_type.clone(),
            capacity: pool.capacity,
            node_hours: f64::from(nodes) * window.hours(),
            hourly_price,
            cost: hourly_price.times(i64::from(nodes)).over(window.duration()),
            cpu_per_node: self.cpu,
            memory_per_node: self.memory,
        }
    }

    /// The upper bound of the interruption frequency bucket, as a share (0.05 for bucket 0), when known.
    pub fn interruption_rate(&self) -> Option<f64> {
        self.interruption_bucket.map(|b| match b {
            0 => 0.05,
            1 => 0.11,
            2 => 0.16,
            3 => 0.22,
            _ => 1.0,
        })
    }
}

/// Prices of one region, plus the cluster fee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    /// Region the prices are for.
    pub region: String,
    /// Control-plane fee per cluster.
    pub control_plane: HourlyRate,
    /// Where the numbers come from, for reports.
    pub source: String,
    instances: BTreeMap<String, InstancePrice>,
}

impl PriceTable {
    /// An empty table.
    pub fn new(region: impl Into<String>, control_plane: HourlyRate, source: impl Into<String>) -> Self {
        Self { region: region.into(), control_plane, source: source.into(), instances: BTreeMap::new() }
    }

    /// Adds or replaces an instance type.
    pub fn insert(&mut self, price: InstancePrice) {
        self.instances.insert(price.instance_type.clone(), price);
    }

    /// An instance type's price.
    pub fn get(&self, instance_type: &str) -> Option<&InstancePrice> {
        self.instances.get(instance_type)
    }

    /// Every instance type, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &InstancePrice> {
        self.instances.values()
    }

    /// The simulator's built-in table: real AWS us-east-1 Linux on-demand prices (Apache Libcloud 3.9.1
    /// `pricing.json`, scraped 2025-03-02), instance sizes, and spot prices derived from the AWS Spot Instance
    /// Advisor savings and interruption buckets (snapshot of 2025-06-28), plus the EKS control-plane fee of
    /// 0.10 USD/h. Small on purpose: enough for examples, doctests and tests to run offline.
    pub fn sim_default() -> Self {
        // (type, vCPU, GiB, on-demand USD/h, spot savings %, interruption bucket)
        const ROWS: &[(&str, u64, u64, &str, u32, u8)] = &[
            ("c5.large", 2, 4, "0.085", 59, 0),
            ("c5.xlarge", 4, 8, "0.17", 56, 0),
            ("c6i.large", 2, 4, "0.085", 63, 1),
            ("m5.2xlarge", 8, 32, "0.384", 54, 2),
            ("m5.large", 2, 8, "0.096", 66, 3),
            ("m6g.large", 2, 8, "0.077", 60, 2),
            ("m6i.large", 2, 8, "0.096", 63, 2),
            ("m6i.xlarge", 4, 16, "0.2112", 55, 1),
            ("r5.large", 2, 16, "0.134", 60, 0),
            ("t3.large", 2, 8, "0.0882", 62, 1),
        ];
        let mut table =
            PriceTable::new("us-east-1", HourlyRate::usd(10, 2), "sim price table (AWS us-east-1 list prices, 2025)");
        for &(name, vcpu, gib, price, savings, bucket) in ROWS {
            let on_demand = Money::from_decimal_str(price, crate::model::Currency::USD)
                .map(HourlyRate::new)
                .unwrap_or_else(|_| HourlyRate::zero(crate::model::Currency::USD));
            table.insert(InstancePrice {
                instance_type: name.to_string(),
                cpu: Cpu::from_cores(vcpu),
                memory: Memory::from_gib(gib),
                on_demand,
                spot: Some(on_demand.mul_ratio(100 - i128::from(savings), 100)),
                interruption_bucket: Some(bucket),
            });
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_table_has_real_prices_and_cheaper_spot() {
        let t = PriceTable::sim_default();
        let m5 = t.get("m5.large").expect("m5.large");
        assert_eq!(m5.on_demand, HourlyRate::usd(96, 3));
        assert_eq!(m5.cpu, Cpu::from_cores(2));
        assert_eq!(m5.memory, Memory::from_gib(8));
        let spot = m5.spot.expect("spot price");
        assert!(spot < m5.on_demand);
        assert_eq!(spot, HourlyRate::usd(3264, 5), "0.096 × (1 − 66%), exactly");
        assert_eq!(m5.interruption_rate(), Some(0.22));
        assert!(t.get("x9.huge").is_none());
        assert_eq!(t.iter().count(), 10);
    }
}
