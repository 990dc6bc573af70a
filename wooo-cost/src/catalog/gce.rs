//! GCE: per-vCPU-hour and per-GiB-hour prices per machine family, region and tier, composed into machine prices.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use wooo_core::model::{Cpu, Currency, HourlyRate, Money, MoneyError};
use wooo_core::model::{InstancePrice, PriceTable};

use super::csv::{CsvTable, SeenKeys};
use super::{CatalogError, CatalogFile, memory_from_gib, open_in, region_entry};

/// The GKE cluster management fee: 0.10 USD per cluster-hour (Google's public GKE pricing, Standard edition,
/// zonal and regional clusters alike). The free tier's monthly credit is per billing account, not per cluster,
/// so it is not taken off here.
const GKE_CONTROL_PLANE_NANOS: i128 = 100_000_000;

/// A pricing tier of `gce.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GceTier {
    /// On-demand.
    OnDemand,
    /// Preemptible (the price Spot VMs inherited); the price tables' spot price.
    Preemptible,
    /// One-year committed use (the source has it for `c2` only).
    #[serde(rename = "commit_1yr")]
    Commit1Yr,
    /// Three-year committed use (the source has it for `c2` only).
    #[serde(rename = "commit_3yr")]
    Commit3Yr,
}

/// What a `gce.csv` price is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GceResource {
    /// vCPUs (or, for shared-core `f1`/`g1`, the whole instance).
    Cpu,
    /// Memory.
    Ram,
    /// Persistent or local disk (family `disk:<name>`).
    Disk,
}

/// The unit a `gce.csv` price is per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GceUnit {
    /// Per vCPU per hour.
    VcpuHour,
    /// Per GiB per hour.
    GibHour,
    /// Per instance per hour (shared-core `f1`, `g1`).
    InstanceHour,
}

macro_rules! names {
    ($ty:ty { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The name used in `gce.csv`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }
            /// The value called `name` in `gce.csv`, if any.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}
names!(GceTier { OnDemand = "on_demand", Preemptible = "preemptible", Commit1Yr = "commit_1yr", Commit3Yr = "commit_3yr" });
names!(GceResource { Cpu = "cpu", Ram = "ram", Disk = "disk" });
names!(GceUnit { VcpuHour = "vcpu_hour", GibHour = "gib_hour", InstanceHour = "instance_hour" });

/// One `gce.csv` price: an amount in US dollars per [`GceUnit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GceRate {
    /// What the price is per.
    pub unit: GceUnit,
    /// US dollars per unit.
    pub usd: Money,
}

type FamilyRates = BTreeMap<(GceResource, GceTier), GceRate>;

/// GCE price catalogue, read from `gce.csv` (`region,family,resource,unit,tier,usd,sku,description`).
///
/// GCE prices a predefined or custom machine by its parts: vCPUs × the family's per-vCPU-hour price plus GiB ×
/// its per-GiB-hour price; only shared-core `f1` and `g1` have a whole-instance price. So, as with Azure, the
/// caller names the machines it uses with their family, vCPUs and memory.
///
/// ```
/// use wooo_cost::catalog::{GceCatalog, GceTier};
///
/// let csv = "region,family,resource,unit,tier,usd,sku,description\n\
///            us-central1,n2,cpu,vcpu_hour,on_demand,0.031611,BB77,n2 core\n\
///            us-central1,n2,ram,gib_hour,on_demand,0.004237,5B01,n2 ram\n";
/// let catalog = GceCatalog::from_reader(csv.as_bytes()).unwrap();
/// let n2 = catalog.machine_price("us-central1", "n2", 2.0, 8.0, GceTier::OnDemand).unwrap();
/// assert_eq!(n2.amount().decimal_string(), "0.097118"); // 2 × 0.031611 + 8 × 0.004237
/// ```
#[derive(Debug, Clone)]
pub struct GceCatalog {
    rates: BTreeMap<String, BTreeMap<String, FamilyRates>>,
    source: String,
}

impl GceCatalog {
    /// Reads `gce.csv`. The `sku` and `description` columns are not needed and may be absent.
    ///
    /// # Errors
    /// A [`CatalogError`] naming the line and column of the first malformed row: a missing column, a quoted
    /// field, a wrong field count, an unknown resource, unit or tier, a unit that does not fit the resource
    /// (`ram` and `disk` are per `gib_hour`; `cpu` per `vcpu_hour` or `instance_hour`), a zero, negative or
    /// non-numeric price, or a second row for the same region, family, resource and tier.
    pub fn from_reader(reader: impl Read) -> Result<Self, CatalogError> {
        let file = CatalogFile::Gce;
        let table = CsvTable::read(file, reader, &["region", "family", "resource", "unit", "tier", "usd"])?;
        let mut seen = SeenKeys::new(file);
        let mut rates: BTreeMap<String, BTreeMap<String, FamilyRates>> = BTreeMap::new();
        for row in table.rows() {
            let (region, family) = (row.text("region")?, row.text("family")?);
            let resource = GceResource::from_name(row.text("resource")?)
                .ok_or_else(|| row.bad("resource", "expected `cpu`, `ram` or `disk`"))?;
            let unit = GceUnit::from_name(row.text("unit")?)
                .ok_or_else(|| row.bad("unit", "expected `vcpu_hour`, `gib_hour` or `instance_hour`"))?;
            let fits = match resource {
                GceResource::Cpu => matches!(unit, GceUnit::VcpuHour | GceUnit::InstanceHour),
                GceResource::Ram | GceResource::Disk => unit == GceUnit::GibHour,
            };
            if !fits {
                return Err(
                    row.bad("unit", format!("a `{}` price cannot be per `{}`", resource.as_str(), unit.as_str()))
                );
            }
            let tier = GceTier::from_name(row.text("tier")?)
                .ok_or_else(|| row.bad("tier", "expected `on_demand`, `preemptible`, `commit_1yr` or `commit_3yr`"))?;
            let usd = row.price("usd")?;
            seen.check(format!("{region} {family} {} {}", resource.as_str(), tier.as_str()), row.line())?;
            rates
                .entry(region.to_string())
                .or_default()
                .entry(family.to_string())
                .or_default()
                .insert((resource, tier), GceRate { unit, usd });
        }
        let source = format!("GCE per-vCPU and per-GiB list prices ({file}); spot = preemptible; GKE fee 0.10 USD/h");
        Ok(Self { rates, source })
    }

    /// Reads `gce.csv` from a folder laid out like `wooo-cost/data/prices`.
    ///
    /// # Errors
    /// [`CatalogError::Read`] when the file cannot be opened, and whatever [`GceCatalog::from_reader`] returns.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, CatalogError> {
        Self::from_reader(open_in(dir.as_ref(), CatalogFile::Gce)?)
    }

    /// Replaces the provenance text the price tables carry in [`PriceTable::source`].
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// Regions with prices, sorted.
    pub fn regions(&self) -> impl Iterator<Item = &str> + '_ {
        self.rates.keys().map(String::as_str)
    }

    /// One raw price of the file (e.g. a disk's per-GiB-hour price: family `disk:SSD`, resource
    /// [`GceResource::Disk`]), when it has it.
    pub fn rate(&self, region: &str, family: &str, resource: GceResource, tier: GceTier) -> Option<GceRate> {
        self.rates.get(region)?.get(family)?.get(&(resource, tier)).copied()
    }

    /// The hourly price of a machine of `family` with `vcpu` vCPUs and `memory_gib` GiB: vCPUs × the family's
    /// vCPU price + GiB × its RAM price, each rounded to the nano-dollar. When the family's CPU price is per
    /// instance (shared-core `f1`, `g1`), that price is the machine's and the sizes are not used. Extended memory
    /// of custom machines (`*_custom_extended`) is priced separately by Google; ask [`GceCatalog::rate`] for it.
    ///
    /// # Errors
    /// [`CatalogError::UnknownRegion`] listing the known regions; [`CatalogError::NoPrice`] when the region has
    /// no such family (the error lists the families it has) or the family no CPU or RAM price at that tier;
    /// [`CatalogError::InvalidSize`] when the vCPUs or the memory are not positive finite numbers.
    pub fn machine_price(
        &self,
        region: &str,
        family: &str,
        vcpu: f64,
        memory_gib: f64,
        tier: GceTier,
    ) -> Result<HourlyRate, CatalogError> {
        let file = CatalogFile::Gce;
        let families = region_entry(file, &self.rates, region)?;
        let no_price = |what: String| CatalogError::NoPrice { file, region: region.to_string(), what };
        let rates = families.get(family).ok_or_else(|| {
            let known: Vec<&str> = families.keys().map(String::as_str).collect();
            no_price(format!("machine family `{family}` (families: {})", known.join(", ")))
        })?;
        let part = |resource: GceResource| {
            rates
                .get(&(resource, tier))
                .copied()
                .ok_or_else(|| no_price(format!("`{family}` {} at tier `{}`", resource.as_str(), tier.as_str())))
        };
        let cpu = part(GceResource::Cpu)?;
        if cpu.unit == GceUnit::InstanceHour {
            return Ok(HourlyRate::new(cpu.usd));
        }
        check_vcpu(family, vcpu)?;
        memory_from_gib(file, family, memory_gib)?;
        let ram = part(GceResource::Ram)?;
        // Sizes are read to a millionth of a vCPU and of a GiB, then priced exactly.
        let invalid = |e: MoneyError| CatalogError::InvalidSize {
            file,
            name: family.to_string(),
            reason: format!("{vcpu} vCPUs and {memory_gib} GiB cannot be priced: {e}"),
        };
        let price = cpu.usd.mul_quantity(vcpu).and_then(|c| c.checked_add(ram.usd.mul_quantity(memory_gib)?));
        price.map(HourlyRate::new).map_err(invalid)
    }

    /// The price table of a region for the given machines, each `(machine type, family, vCPUs, memory in GiB)`
    /// (e.g. `("n2-standard-2", "n2", 2.0, 8.0)`), keyed by machine type: the on-demand price, the preemptible
    /// price as the spot price when the family has one (the file has no preemption rates, so the interruption
    /// bucket stays unknown), and the GKE cluster fee of 0.10 USD/h (Google's public GKE pricing).
    ///
    /// # Errors
    /// Whatever [`GceCatalog::machine_price`] returns for a machine's on-demand price (unknown region or family,
    /// missing price, invalid size), and [`CatalogError::InvalidSize`] for vCPUs that are not positive.
    pub fn price_table(&self, region: &str, machines: &[(&str, &str, f64, f64)]) -> Result<PriceTable, CatalogError> {
        let file = CatalogFile::Gce;
        let families = region_entry(file, &self.rates, region)?;
        let control_plane = HourlyRate::new(Money::from_nanos(GKE_CONTROL_PLANE_NANOS, Currency::USD));
        let mut table = PriceTable::new(region, control_plane, self.source.clone());
        for &(machine_type, family, vcpu, memory_gib) in machines {
            check_vcpu(machine_type, vcpu)?;
            let on_demand = self.machine_price(region, family, vcpu, memory_gib, GceTier::OnDemand)?;
            let has_preemptible = families.get(family).is_some_and(|rates| {
                [GceResource::Cpu, GceResource::Ram].iter().any(|r| rates.contains_key(&(*r, GceTier::Preemptible)))
            });
            let spot = if has_preemptible {
                Some(self.machine_price(region, family, vcpu, memory_gib, GceTier::Preemptible)?)
            } else {
                None
            };
            table.insert(InstancePrice {
                instance_type: machine_type.to_string(),
                cpu: Cpu::from_millis((vcpu * 1000.0).round() as u64),
                memory: memory_from_gib(file, machine_type, memory_gib)?,
                on_demand,
                spot,
                interruption_bucket: None,
            });
        }
        Ok(table)
    }
}

fn check_vcpu(name: &str, vcpu: f64) -> Result<(), CatalogError> {
    if vcpu.is_finite() && vcpu > 0.0 && vcpu < 1e6 {
        Ok(())
    } else {
        let reason = format!("vCPUs must be a positive number, got {vcpu}");
        Err(CatalogError::InvalidSize { file: CatalogFile::Gce, name: name.to_string(), reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wooo_core::model::Memory;

    const CSV: &str = "region,family,resource,unit,tier,usd,sku,description\n\
                       us-central1,n2,cpu,vcpu_hour,on_demand,0.031611,BB77-5FDA-69D9,n2 instance core\n\
                       us-central1,n2,ram,gib_hour,on_demand,0.004237,5B01-D157-A097,n2 instance ram\n\
                       us-central1,n2,cpu,vcpu_hour,preemptible,0.007649,2856-91B1-406A,n2 instance core\n\
                       us-central1,n2,ram,gib_hour,preemptible,0.001025,6276-ABCE-E764,n2 instance ram\n\
                       us-central1,c2,cpu,vcpu_hour,commit_1yr,0.021409,x,compute optimized core\n\
                       us-central1,c2,cpu,vcpu_hour,on_demand,0.033982,x,compute optimized core\n\
                       us-central1,c2,ram,gib_hour,on_demand,0.004555,x,compute optimized ram\n\
                       us-central1,f1,cpu,instance_hour,on_demand,0.0076,5CE5-087B-6C3C,micro instance\n\
                       us-central1,f1,cpu,instance_hour,preemptible,0.0035,D04B-B3CA-49CB,micro instance\n\
                       us-central1,disk:SSD,disk,gib_hour,on_demand,0.00023611111111111112,B188,ssd backed pd\n\
                       us-east4,n2,cpu,vcpu_hour,on_demand,0.035605,5571-8F21-9137,n2 instance core\n";

    fn catalog() -> GceCatalog {
        GceCatalog::from_reader(CSV.as_bytes()).unwrap()
    }

    #[test]
    fn machine_price_is_vcpus_times_cpu_plus_gib_times_ram() {
        let c = catalog();
        let n2 = c.machine_price("us-central1", "n2", 4.0, 16.0, GceTier::OnDemand).unwrap();
        // 4 × 0.031611 + 16 × 0.004237 = 0.126444 + 0.067792
        assert_eq!(n2.amount().nanos(), 194_236_000);
        let pre = c.machine_price("us-central1", "n2", 4.0, 16.0, GceTier::Preemptible).unwrap();
        assert_eq!(pre.amount().nanos(), 4 * 7_649_000 + 16 * 1_025_000);
        // Fractional sizes (custom machines, e2 shared cores) are allowed.
        let half = c.machine_price("us-central1", "n2", 0.5, 1.5, GceTier::OnDemand).unwrap();
        assert_eq!(half.amount().nanos(), 15_805_500 + 6_355_500);
    }

    #[test]
    fn shared_core_families_use_the_instance_price() {
        let c = catalog();
        let f1 = c.machine_price("us-central1", "f1", 0.2, 0.6, GceTier::OnDemand).unwrap();
        assert_eq!(f1, HourlyRate::usd(76, 4));
        // The sizes do not enter an instance price, so they are not checked either.
        assert_eq!(
            c.machine_price("us-central1", "f1", 0.0, 0.0, GceTier::Preemptible).unwrap(),
            HourlyRate::usd(35, 4)
        );
    }

    #[test]
    fn missing_family_tier_or_region_are_errors() {
        let c = catalog();
        let err = c.machine_price("us-central1", "n9", 2.0, 8.0, GceTier::OnDemand).unwrap_err();
        assert_eq!(
            err.to_string(),
            "gce.csv: no price for machine family `n9` (families: c2, disk:SSD, f1, n2) in `us-central1`"
        );
        let err = c.machine_price("us-central1", "c2", 2.0, 8.0, GceTier::Commit1Yr).unwrap_err();
        assert!(err.to_string().contains("`c2` ram at tier `commit_1yr`"), "{err}");
        let err = c.machine_price("us-east4", "n2", 2.0, 8.0, GceTier::OnDemand).unwrap_err();
        assert!(err.to_string().contains("`n2` ram at tier `on_demand`"), "{err}");
        let err = c.machine_price("us-east1", "n2", 2.0, 8.0, GceTier::OnDemand).unwrap_err();
        assert_eq!(err.to_string(), "gce.csv: unknown region `us-east1` (known regions: us-central1, us-east4)");
        for (vcpu, gib) in [(0.0, 8.0), (-2.0, 8.0), (f64::NAN, 8.0), (2.0, 0.0)] {
            assert!(matches!(
                c.machine_price("us-central1", "n2", vcpu, gib, GceTier::OnDemand),
                Err(CatalogError::InvalidSize { .. })
            ));
        }
    }

    #[test]
    fn price_table_takes_preemptible_as_spot() {
        let c = catalog();
        let t = c
            .price_table("us-central1", &[("n2-standard-2", "n2", 2.0, 8.0), ("c2-standard-4", "c2", 4.0, 16.0)])
            .unwrap();
        assert_eq!(t.control_plane, HourlyRate::usd(10, 2));
        let n2 = t.get("n2-standard-2").unwrap();
        assert_eq!((n2.cpu, n2.memory), (Cpu::from_cores(2), Memory::from_gib(8)));
        assert_eq!(n2.on_demand.amount().nanos(), 2 * 31_611_000 + 8 * 4_237_000);
        assert_eq!(n2.spot.map(|s| s.amount().nanos()), Some(2 * 7_649_000 + 8 * 1_025_000));
        assert_eq!(t.get("c2-standard-4").unwrap().spot, None, "this c2 has no preemptible rows");
        assert!(c.price_table("us-central1", &[("bad", "n2", 0.0, 8.0)]).is_err());
        assert!(c.price_table("nowhere", &[]).is_err());
    }

    #[test]
    fn raw_rates_are_kept_with_their_unit() {
        let c = catalog();
        let ssd = c.rate("us-central1", "disk:SSD", GceResource::Disk, GceTier::OnDemand).unwrap();
        assert_eq!(ssd.unit, GceUnit::GibHour);
        assert_eq!(ssd.usd.nanos(), 236_111);
        assert_eq!(
            c.rate("us-central1", "f1", GceResource::Cpu, GceTier::OnDemand).unwrap().unit,
            GceUnit::InstanceHour
        );
        assert!(c.rate("us-central1", "disk:SSD", GceResource::Disk, GceTier::Preemptible).is_none());
        assert_eq!(GceTier::from_name("commit_3yr"), Some(GceTier::Commit3Yr));
        assert_eq!(GceTier::Commit1Yr.as_str(), "commit_1yr");
    }

    #[test]
    fn malformed_rows_name_line_and_column() {
        let read = |row: &str| {
            GceCatalog::from_reader(format!("region,family,resource,unit,tier,usd\n{row}\n").as_bytes()).unwrap_err()
        };
        let cases = [
            ("us-central1,n2,gpu,vcpu_hour,on_demand,0.1", 3),
            ("us-central1,n2,cpu,hour,on_demand,0.1", 4),
            ("us-central1,n2,ram,vcpu_hour,on_demand,0.1", 4),
            ("us-central1,n2,cpu,vcpu_hour,spot,0.1", 5),
            ("us-central1,n2,cpu,vcpu_hour,on_demand,0", 6),
            ("us-central1,n2,cpu,vcpu_hour,on_demand,-1e-3", 6),
            ("us-central1,n2,cpu,vcpu_hour,on_demand,\"0.1\"", 6),
        ];
        for (row, column) in cases {
            let err = read(row);
            assert_eq!((err.line(), err.column()), (Some(2), Some(column)), "{row}: {err}");
        }
        let err = read("us-central1,n2,cpu,vcpu_hour,on_demand,0.1\nus-central1,n2,cpu,vcpu_hour,on_demand,0.2");
        assert!(matches!(err, CatalogError::Duplicate { line: 3, first_line: 2, .. }), "{err}");
    }
}
