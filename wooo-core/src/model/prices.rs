//! Price tables: what an instance type costs per hour, on demand and on spot, and what it holds.
//!
//! These are data (rates per instance type), not cost maths: the simulator checks instance types against its
//! table, and the cost engine in `wooo-cost` (`wooo_cost::engine`) prices node pools with them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Capacity, Cpu, Currency, HourlyRate, Memory, Money};

/// CPU architecture of an instance type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Arch {
    /// 64-bit x86 (Intel, AMD).
    #[serde(rename = "x86_64")]
    X86_64,
    /// 64-bit ARM (AWS Graviton, Azure Cobalt and Ampere, Google Axion and Ampere).
    #[serde(rename = "arm64")]
    Arm64,
}

impl Arch {
    /// The name EC2 uses (`x86_64`, `arm64`). Kubernetes' `kubernetes.io/arch` label calls `x86_64` `amd64`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The architecture called `name` (`x86_64` or `arm64`), if any.
    pub fn from_name(name: &str) -> Option<Arch> {
        match name {
            "x86_64" => Some(Arch::X86_64),
            "arm64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// The architecture an instance type's name says, by each cloud's naming rules: EC2 families with a `g`
    /// after the generation digit (`m6g`, `c7gn`, `t4g`, `x2gd`, `im4gn`), `a1` and the `mac2` families are
    /// ARM; Azure sizes with a `p` among the feature letters after the vCPU count (`Standard_D2ps_v5`) are ARM;
    /// GCE's `t2a`, `c4a` and `n4a` families are ARM; everything else is x86. Prefer a catalogue's value
    /// ([`PriceTable::arch`] does).
    pub fn infer(instance_type: &str) -> Arch {
        let t = instance_type.to_ascii_lowercase();
        let after_generation = |family: &str| -> bool {
            let rest = family.trim_start_matches(|c: char| c.is_ascii_alphabetic());
            rest.trim_start_matches(|c: char| c.is_ascii_digit()).contains(['g'])
        };
        let arm = if let Some(size) = t.strip_prefix("standard_") {
            let size = size.split('_').next().unwrap_or("");
            let rest = size.trim_start_matches(|c: char| c.is_ascii_alphabetic());
            rest.trim_start_matches(|c: char| c.is_ascii_digit()).contains('p')
        } else if let Some((family, _)) = t.split_once('.') {
            family == "a1" || family.starts_with("mac2") || after_generation(family)
        } else {
            matches!(t.split('-').next(), Some("t2a" | "c4a" | "n4a"))
        };
        if arm { Arch::Arm64 } else { Arch::X86_64 }
    }
}

/// A commitment discount offered by a price source: what a commitment of `term_years` saves on on-demand
/// prices, in percent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentDiscount {
    /// Term of the commitment, in years.
    pub term_years: u32,
    /// Discount on on-demand prices, in percent (0..100).
    pub percent: u32,
    /// Where the figure comes from, for the recommendation's evidence.
    pub source: String,
}

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
    /// The compute commitment (savings plan, committed use) discount the source offers, when it knows one; the
    /// engine sizes commitments with it and recommends none without it.
    #[serde(default)]
    pub commitment_discount: Option<CommitmentDiscount>,
    instances: BTreeMap<String, InstancePrice>,
    #[serde(default)]
    archs: BTreeMap<String, Arch>,
}

impl PriceTable {
    /// An empty table.
    pub fn new(region: impl Into<String>, control_plane: HourlyRate, source: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            control_plane,
            source: source.into(),
            commitment_discount: None,
            instances: BTreeMap::new(),
            archs: BTreeMap::new(),
        }
    }

    /// Records an instance type's CPU architecture (a catalogue knows it; otherwise it is read from the name).
    pub fn set_arch(&mut self, instance_type: impl Into<String>, arch: Arch) {
        self.archs.insert(instance_type.into(), arch);
    }

    /// An instance type's CPU architecture: as recorded with [`PriceTable::set_arch`], else [`Arch::infer`].
    pub fn arch(&self, instance_type: &str) -> Arch {
        self.archs.get(instance_type).copied().unwrap_or_else(|| Arch::infer(instance_type))
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
    /// 0.10 USD/h, and a 1-year compute commitment discount of 28% (the simulator's assumption, a typical
    /// 1-year no-upfront Compute Savings Plan rate for these families; not a quote). Small on purpose: enough for
    /// examples, doctests and tests to run offline.
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
        table.commitment_discount = Some(CommitmentDiscount {
            term_years: 1,
            percent: 28,
            source: "the simulator's assumed 1-year compute savings plan discount".into(),
        });
        for &(name, vcpu, gib, price, savings, bucket) in ROWS {
            let on_demand = Money::from_decimal_str(price, Currency::USD)
                .map(HourlyRate::new)
                .unwrap_or_else(|_| HourlyRate::zero(Currency::USD));
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
        assert_eq!(t.commitment_discount.as_ref().map(|d| (d.term_years, d.percent)), Some((1, 28)));
    }

    #[test]
    fn architectures_are_recorded_or_read_from_the_name() {
        for arm in [
            "m6g.large",
            "c7gn.xlarge",
            "t4g.micro",
            "x2gd.metal",
            "im4gn.large",
            "g5g.xlarge",
            "a1.large",
            "mac2-m2.metal",
            "Standard_D2ps_v5",
            "Standard_E4pds_v5",
            "t2a-standard-4",
            "c4a-highmem-8",
        ] {
            assert_eq!(Arch::infer(arm), Arch::Arm64, "{arm}");
        }
        for x86 in [
            "m5.large",
            "m7i-flex.large",
            "g4dn.xlarge",
            "inf2.xlarge",
            "u-6tb1.metal",
            "Standard_D2s_v3",
            "Standard_NP10s",
            "n2-standard-4",
            "t2d-standard-2",
            "e2-medium",
        ] {
            assert_eq!(Arch::infer(x86), Arch::X86_64, "{x86}");
        }
        let mut t = PriceTable::sim_default();
        assert_eq!(t.arch("m6g.large"), Arch::Arm64);
        t.set_arch("m6g.large", Arch::X86_64);
        assert_eq!(t.arch("m6g.large"), Arch::X86_64, "a recorded value wins");
        assert_eq!(Arch::from_name(Arch::Arm64.as_str()), Some(Arch::Arm64));
    }
}
