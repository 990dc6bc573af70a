//! EC2: on-demand list prices joined with instance specs and, optionally, Spot Instance Advisor savings.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use wooo_core::model::{Cpu, Currency, HourlyRate, Memory, Money};
use wooo_core::model::{InstancePrice, PriceTable};

use super::csv::{CsvTable, SeenKeys};
use super::{CatalogError, CatalogFile, open_in, region_entry};

/// The EKS control-plane fee: 0.10 USD per cluster-hour, AWS's public EKS pricing for a cluster on a Kubernetes
/// version in standard support (extended support costs 0.60 USD/h; set [`PriceTable::control_plane`] for those).
const EKS_CONTROL_PLANE_NANOS: i128 = 100_000_000;

/// CPU architecture of an EC2 instance type (the type of `wooo_core::model`, recorded in the price tables).
pub use wooo_core::model::Arch;

/// What an EC2 instance type holds, from `ec2_instance_types.csv`.
///
/// The descriptive columns stay here, not in [`InstancePrice`], which is shared by every cloud; look them up
/// with [`Ec2Catalog::spec`]. The architecture is also recorded in the price table ([`PriceTable::arch`]).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ec2InstanceSpec {
    /// Instance type, e.g. `m5.large`.
    pub instance_type: String,
    /// vCPUs.
    pub vcpu: u32,
    /// Memory.
    pub memory: Memory,
    /// CPU architecture (derived in the source data: `arm64` for AWS Graviton processors).
    pub arch: Arch,
    /// AWS's family description, e.g. `General purpose`.
    pub instance_family: String,
    /// Whether AWS lists the type as current generation.
    pub current_generation: bool,
    /// GPUs (0 when none).
    pub gpu: u32,
    /// Size relative to a `.small` for reservation and savings-plan normalisation, when the source gives it.
    pub normalization_size_factor: Option<f64>,
    /// AWS's network performance text, e.g. `Up to 10 Gigabit`.
    pub network_performance: String,
    /// Processor description, e.g. `Intel Xeon Platinum 8175`.
    pub physical_processor: String,
}

/// One AWS Spot Instance Advisor entry: how much spot saves versus on-demand, and how often it is interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SpotAdvice {
    /// Savings of spot over on-demand, in whole percent (0 to 99).
    pub savings_pct: u8,
    /// Interruption frequency bucket: 0 is <5%, 1 is 5-10%, 2 is 10-15%, 3 is 15-20%, 4 is >20%.
    pub interruption_bucket: u8,
}

impl SpotAdvice {
    /// The typical spot price for an on-demand price: `on_demand × (1 − savings_pct / 100)`, exact to the nano
    /// (integer arithmetic, rounded halves away from zero as all money is).
    pub fn spot_price(self, on_demand: Money) -> Money {
        on_demand.mul_ratio(100 - i128::from(self.savings_pct), 100)
    }
}

/// How well the three EC2 files join for one region: what a [`Ec2Catalog::price_table`] keeps and drops.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ec2Coverage {
    /// The region.
    pub region: String,
    /// Instance types with an on-demand price.
    pub priced: usize,
    /// Priced types with a spec: the rows of the price table.
    pub in_table: usize,
    /// Priced types without a spec, sorted: skipped, since a price without a size cannot be allocated.
    pub skipped_no_spec: Vec<String>,
    /// Linux Spot Advisor rows for the region (0 without an advisor file).
    pub advisor_rows: usize,
    /// Advisor rows whose type has an on-demand price.
    pub advisor_with_price: usize,
    /// Advisor rows whose type has no on-demand price, sorted (their spot price cannot be derived).
    pub advisor_without_price: Vec<String>,
    /// Price-table rows that carry a spot price.
    pub with_spot: usize,
}

/// EC2 price catalogue: Linux on-demand prices per region, instance specs, and Spot Advisor savings.
///
/// ```
/// use wooo_cost::catalog::{Arch, Ec2Catalog};
///
/// let ondemand = "region,instance_type,usd_per_hour\nus-east-1,m6g.large,0.077\nus-east-1,m5.metal,4.608\n";
/// let specs = "instance_type,vcpu,memory_gib,arch,instance_family,current_generation,gpu,\
///              normalization_size_factor,network_performance,physical_processor\n\
///              m6g.large,2,8,arm64,General purpose,true,0,4,Up to 10 Gigabit,AWS Graviton2 Processor\n";
/// let advisor = "region,instance_type,os,interruption_bucket,savings_pct\nus-east-1,m6g.large,Linux,2,60\n";
/// let catalog = Ec2Catalog::from_readers(ondemand.as_bytes(), specs.as_bytes(), Some(advisor.as_bytes())).unwrap();
///
/// let table = catalog.price_table("us-east-1").unwrap();
/// let m6g = table.get("m6g.large").unwrap();
/// assert_eq!(m6g.on_demand.amount().decimal_string(), "0.077");
/// assert_eq!(m6g.spot.unwrap().amount().decimal_string(), "0.0308");
/// assert_eq!(catalog.spec("m6g.large").unwrap().arch, Arch::Arm64);
/// // m5.metal has a price but no spec: skipped, and reported.
/// assert!(table.get("m5.metal").is_none());
/// assert_eq!(catalog.coverage("us-east-1").unwrap().skipped_no_spec, ["m5.metal"]);
///
/// // Without the advisor file, pass a typed `None`.
/// let no_spot = Ec2Catalog::from_readers(ondemand.as_bytes(), specs.as_bytes(), None::<&[u8]>).unwrap();
/// assert!(no_spot.price_table("us-east-1").unwrap().get("m6g.large").unwrap().spot.is_none());
/// ```
#[derive(Debug, Clone)]
pub struct Ec2Catalog {
    on_demand: BTreeMap<String, BTreeMap<String, Money>>,
    specs: BTreeMap<String, Ec2InstanceSpec>,
    spot: BTreeMap<String, BTreeMap<String, SpotAdvice>>,
    source: String,
}

impl Ec2Catalog {
    /// Reads `ec2_ondemand.csv` (`region,instance_type,usd_per_hour`), `ec2_instance_types.csv` (`instance_type,
    /// vcpu,memory_gib,arch,instance_family,current_generation,gpu,normalization_size_factor,network_performance,
    /// physical_processor`) and, when given, `aws_spot_advisor.csv` (`region,instance_type,os,interruption_bucket,
    /// savings_pct`; only `Linux` rows are used, since the on-demand prices are Linux prices).
    ///
    /// # Errors
    /// A [`CatalogError`] naming the file, line and column of the first malformed row: a missing column, a
    /// quoted field, a wrong field count, a zero, negative or non-numeric price, a vCPU count or memory that is
    /// not a positive number, an unknown `arch`, a bucket above 4 or a saving of 100% or more, or a second row
    /// for the same key.
    pub fn from_readers(
        ondemand: impl Read,
        instance_types: impl Read,
        spot_advisor: Option<impl Read>,
    ) -> Result<Self, CatalogError> {
        let on_demand = read_on_demand(ondemand)?;
        let specs = read_specs(instance_types)?;
        let spot = spot_advisor.map(read_spot_advisor).transpose()?;
        let source = format!(
            "EC2 Linux on-demand list prices ({}) and instance specs ({}){}; EKS control plane 0.10 USD/h (AWS EKS \
             pricing, standard support)",
            CatalogFile::Ec2OnDemand,
            CatalogFile::Ec2InstanceTypes,
            if spot.is_some() {
                format!(
                    "; spot = on-demand × (1 − savings) from the AWS Spot Instance Advisor ({})",
                    CatalogFile::AwsSpotAdvisor
                )
            } else {
                String::new()
            },
        );
        Ok(Self { on_demand, specs, spot: spot.unwrap_or_default(), source })
    }

    /// Reads the files from a folder laid out like `wooo-cost/data/prices`; `aws_spot_advisor.csv` is read when it
    /// is there (without it the tables have no spot prices).
    ///
    /// # Errors
    /// [`CatalogError::Read`] when a required file cannot be opened, and whatever
    /// [`Ec2Catalog::from_readers`] returns.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, CatalogError> {
        let dir = dir.as_ref();
        let advisor = dir.join(CatalogFile::AwsSpotAdvisor.file_name());
        let advisor = if advisor.exists() { Some(open_in(dir, CatalogFile::AwsSpotAdvisor)?) } else { None };
        Self::from_readers(
            open_in(dir, CatalogFile::Ec2OnDemand)?,
            open_in(dir, CatalogFile::Ec2InstanceTypes)?,
            advisor,
        )
    }

    /// Replaces the provenance text the price tables carry in [`PriceTable::source`] (e.g. to name the snapshot
    /// the files were taken from).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// Regions with on-demand prices, sorted.
    pub fn regions(&self) -> impl Iterator<Item = &str> + '_ {
        self.on_demand.keys().map(String::as_str)
    }

    /// The spec of an instance type, when `ec2_instance_types.csv` has it.
    pub fn spec(&self, instance_type: &str) -> Option<&Ec2InstanceSpec> {
        self.specs.get(instance_type)
    }

    /// The Spot Advisor entry of an instance type in a region, when the advisor file was given and has it.
    pub fn spot_advice(&self, region: &str, instance_type: &str) -> Option<SpotAdvice> {
        self.spot.get(region)?.get(instance_type).copied()
    }

    /// The price table of a region: every type with both an on-demand price and a spec, its spot price and
    /// interruption bucket when the advisor has it, and the EKS control-plane fee (0.10 USD/h, AWS's public EKS
    /// pricing for standard support). Types with a price but no spec are left out; [`Ec2Catalog::coverage`]
    /// lists them.
    ///
    /// # Errors
    /// [`CatalogError::UnknownRegion`], listing the known regions, when the on-demand file has no such region.
    pub fn price_table(&self, region: &str) -> Result<PriceTable, CatalogError> {
        let prices = region_entry(CatalogFile::Ec2OnDemand, &self.on_demand, region)?;
        let advice = self.spot.get(region);
        let control_plane = HourlyRate::new(Money::from_nanos(EKS_CONTROL_PLANE_NANOS, Currency::USD));
        let mut table = PriceTable::new(region, control_plane, self.source.clone());
        for (instance_type, &price) in prices {
            let Some(spec) = self.specs.get(instance_type) else { continue };
            let advice = advice.and_then(|a| a.get(instance_type));
            table.set_arch(instance_type.clone(), spec.arch);
            table.insert(InstancePrice {
                instance_type: instance_type.clone(),
                cpu: Cpu::from_cores(u64::from(spec.vcpu)),
                memory: spec.memory,
                on_demand: HourlyRate::new(price),
                spot: advice.map(|a| HourlyRate::new(a.spot_price(price))),
                interruption_bucket: advice.map(|a| a.interruption_bucket),
            });
        }
        Ok(table)
    }

    /// How the files join in a region: priced types, those skipped for want of a spec, and the advisor rows
    /// with and without an on-demand price.
    ///
    /// # Errors
    /// [`CatalogError::UnknownRegion`] when the on-demand file has no such region.
    pub fn coverage(&self, region: &str) -> Result<Ec2Coverage, CatalogError> {
        let prices = region_entry(CatalogFile::Ec2OnDemand, &self.on_demand, region)?;
        let empty = BTreeMap::new();
        let advice = self.spot.get(region).unwrap_or(&empty);
        let skipped_no_spec: Vec<String> = prices.keys().filter(|t| !self.specs.contains_key(*t)).cloned().collect();
        let advisor_without_price: Vec<String> = advice.keys().filter(|t| !prices.contains_key(*t)).cloned().collect();
        Ok(Ec2Coverage {
            region: region.to_string(),
            priced: prices.len(),
            in_table: prices.len() - skipped_no_spec.len(),
            skipped_no_spec,
            advisor_rows: advice.len(),
            advisor_with_price: advice.len() - advisor_without_price.len(),
            advisor_without_price,
            with_spot: advice.keys().filter(|t| prices.contains_key(*t) && self.specs.contains_key(*t)).count(),
        })
    }

    /// Every instance type priced in some region but without a spec, sorted: the types no price table has.
    pub fn skipped(&self) -> BTreeSet<&str> {
        self.on_demand
            .values()
            .flat_map(BTreeMap::keys)
            .filter(|t| !self.specs.contains_key(*t))
            .map(String::as_str)
            .collect()
    }
}

fn read_on_demand(reader: impl Read) -> Result<BTreeMap<String, BTreeMap<String, Money>>, CatalogError> {
    let file = CatalogFile::Ec2OnDemand;
    let table = CsvTable::read(file, reader, &["region", "instance_type", "usd_per_hour"])?;
    let mut seen = SeenKeys::new(file);
    let mut out: BTreeMap<String, BTreeMap<String, Money>> = BTreeMap::new();
    for row in table.rows() {
        let (region, instance_type) = (row.text("region")?, row.text("instance_type")?);
        let price = row.price("usd_per_hour")?;
        seen.check(format!("{region} {instance_type}"), row.line())?;
        out.entry(region.to_string()).or_default().insert(instance_type.to_string(), price);
    }
    Ok(out)
}

fn read_specs(reader: impl Read) -> Result<BTreeMap<String, Ec2InstanceSpec>, CatalogError> {
    let file = CatalogFile::Ec2InstanceTypes;
    let columns = [
        "instance_type",
        "vcpu",
        "memory_gib",
        "arch",
        "instance_family",
        "current_generation",
        "gpu",
        "normalization_size_factor",
        "network_performance",
        "physical_processor",
    ];
    let table = CsvTable::read(file, reader, &columns)?;
    let mut seen = SeenKeys::new(file);
    let mut out = BTreeMap::new();
    for row in table.rows() {
        let instance_type = row.text("instance_type")?;
        let vcpu: u32 = row.parse("vcpu", "a whole number of vCPUs")?;
        if vcpu == 0 {
            return Err(row.bad("vcpu", "an instance has at least one vCPU"));
        }
        let gib = row.text("memory_gib")?.trim();
        let memory = gib
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.')
            .then(|| format!("{gib}Gi").parse::<Memory>().ok())
            .flatten()
            .filter(|m| m.bytes() > 0)
            .ok_or_else(|| row.bad("memory_gib", "expected a positive decimal number of GiB"))?;
        let arch =
            Arch::from_name(row.text("arch")?.trim()).ok_or_else(|| row.bad("arch", "expected `x86_64` or `arm64`"))?;
        let factor = row.text("normalization_size_factor")?.trim();
        let normalization_size_factor = match factor {
            "NA" => None,
            text => Some(
                text.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && *f > 0.0)
                    .ok_or_else(|| row.bad("normalization_size_factor", "expected a positive number or `NA`"))?,
            ),
        };
        let spec = Ec2InstanceSpec {
            instance_type: instance_type.to_string(),
            vcpu,
            memory,
            arch,
            instance_family: row.text("instance_family")?.to_string(),
            current_generation: row.parse("current_generation", "`true` or `false`")?,
            gpu: row.parse("gpu", "a whole number of GPUs")?,
            normalization_size_factor,
            network_performance: row.text("network_performance")?.to_string(),
            physical_processor: row.text("physical_processor")?.to_string(),
        };
        seen.check(instance_type.to_string(), row.line())?;
        out.insert(instance_type.to_string(), spec);
    }
    Ok(out)
}

fn read_spot_advisor(reader: impl Read) -> Result<BTreeMap<String, BTreeMap<String, SpotAdvice>>, CatalogError> {
    let file = CatalogFile::AwsSpotAdvisor;
    let table = CsvTable::read(file, reader, &["region", "instance_type", "os", "interruption_bucket", "savings_pct"])?;
    let mut seen = SeenKeys::new(file);
    let mut out: BTreeMap<String, BTreeMap<String, SpotAdvice>> = BTreeMap::new();
    for row in table.rows() {
        let (region, instance_type, os) = (row.text("region")?, row.text("instance_type")?, row.text("os")?);
        let interruption_bucket: u8 = row.parse("interruption_bucket", "a bucket from 0 to 4")?;
        if interruption_bucket > 4 {
            return Err(row.bad("interruption_bucket", "expected a bucket from 0 to 4"));
        }
        let savings_pct: u8 = row.parse("savings_pct", "a whole percentage")?;
        if savings_pct >= 100 {
            return Err(row.bad("savings_pct", "a saving must be below 100% (spot is never free)"));
        }
        seen.check(format!("{region} {instance_type} {os}"), row.line())?;
        if os == "Linux" {
            out.entry(region.to_string())
                .or_default()
                .insert(instance_type.to_string(), SpotAdvice { savings_pct, interruption_bucket });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_HEADER: &str = "instance_type,vcpu,memory_gib,arch,instance_family,current_generation,gpu,\
                               normalization_size_factor,network_performance,physical_processor\n";
    const ONDEMAND: &str = "region,instance_type,usd_per_hour\n\
                            us-east-1,m5.large,0.096\n\
                            us-east-1,m6g.large,0.077\n\
                            us-east-1,m5.metal,4.608\n\
                            eu-west-1,m5.large,0.107\n";
    const ADVISOR: &str = "region,instance_type,os,interruption_bucket,savings_pct\n\
                           us-east-1,m5.large,Linux,3,66\n\
                           us-east-1,m5.large,Windows,1,40\n\
                           us-east-1,m7i.large,Linux,3,68\n\
                           eu-west-1,m5.large,Linux,1,57\n";

    fn specs() -> String {
        format!(
            "{SPEC_HEADER}m5.large,2,8,x86_64,General purpose,true,0,4,Up to 10 Gigabit,Intel Xeon Platinum 8175\n\
             m6g.large,2,8,arm64,General purpose,true,0,4,Up to 10 Gigabit,AWS Graviton2 Processor\n\
             t1.micro,1,0.613,x86_64,Micro instances,false,0,NA,Very Low,Variable\n"
        )
    }

    fn catalog() -> Ec2Catalog {
        Ec2Catalog::from_readers(ONDEMAND.as_bytes(), specs().as_bytes(), Some(ADVISOR.as_bytes())).unwrap()
    }

    #[test]
    fn joins_prices_specs_and_spot_advice() {
        let c = catalog();
        assert_eq!(c.regions().collect::<Vec<_>>(), ["eu-west-1", "us-east-1"]);
        let t = c.price_table("us-east-1").unwrap();
        assert_eq!(t.region, "us-east-1");
        assert_eq!(t.control_plane, HourlyRate::usd(10, 2));
        assert!(t.source.contains("Spot Instance Advisor"));
        let m5 = t.get("m5.large").unwrap();
        assert_eq!((m5.cpu, m5.memory), (Cpu::from_cores(2), Memory::from_gib(8)));
        assert_eq!(m5.on_demand, HourlyRate::usd(96, 3));
        // 0.096 × (1 − 0.66) = 0.03264, from the Linux row (the Windows row's 40% is ignored).
        assert_eq!(m5.spot, Some(HourlyRate::usd(3264, 5)));
        assert_eq!(m5.interruption_bucket, Some(3));
        let m6g = t.get("m6g.large").unwrap();
        assert_eq!((m6g.spot, m6g.interruption_bucket), (None, None), "no advice, no spot price");
        assert_eq!(c.spec("m6g.large").unwrap().arch, Arch::Arm64);
        assert_eq!(c.spec("m5.large").unwrap().arch.as_str(), "x86_64");
        assert_eq!(t.iter().map(|p| p.instance_type.as_str()).collect::<Vec<_>>(), ["m5.large", "m6g.large"]);

        let eu = c.price_table("eu-west-1").unwrap();
        assert_eq!(eu.get("m5.large").unwrap().interruption_bucket, Some(1));
        assert!(eu.get("m6g.large").is_none(), "a spec alone does not make a price");
    }

    #[test]
    fn priced_types_without_spec_are_skipped_and_reported() {
        let c = catalog();
        let cov = c.coverage("us-east-1").unwrap();
        assert_eq!((cov.priced, cov.in_table), (3, 2));
        assert_eq!(cov.skipped_no_spec, ["m5.metal"]);
        assert_eq!((cov.advisor_rows, cov.advisor_with_price, cov.with_spot), (2, 1, 1));
        assert_eq!(cov.advisor_without_price, ["m7i.large"]);
        assert_eq!(c.skipped().into_iter().collect::<Vec<_>>(), ["m5.metal"]);
        assert_eq!(c.coverage("eu-west-1").unwrap().skipped_no_spec, Vec::<String>::new());
    }

    #[test]
    fn specs_keep_fractional_memory_and_missing_factors() {
        let c = catalog();
        let t1 = c.spec("t1.micro").unwrap();
        assert_eq!(t1.memory, "0.613Gi".parse::<Memory>().unwrap());
        assert!(t1.memory < Memory::from_gib(1) && t1.memory > Memory::from_mib(600));
        assert_eq!(t1.normalization_size_factor, None);
        assert!(!t1.current_generation);
        assert_eq!(c.spec("m5.large").unwrap().normalization_size_factor, Some(4.0));
    }

    #[test]
    fn without_advisor_there_is_no_spot() {
        let c = Ec2Catalog::from_readers(ONDEMAND.as_bytes(), specs().as_bytes(), None::<&[u8]>).unwrap();
        let t = c.price_table("us-east-1").unwrap();
        assert!(t.iter().all(|p| p.spot.is_none() && p.interruption_bucket.is_none()));
        assert!(!t.source.contains("Spot"));
        assert_eq!(c.coverage("us-east-1").unwrap().advisor_rows, 0);
        let c = c.with_source("snapshot 2025-03-02");
        assert_eq!(c.price_table("us-east-1").unwrap().source, "snapshot 2025-03-02");
    }

    #[test]
    fn unknown_region_lists_the_known_ones() {
        let err = catalog().price_table("mars-north-1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "ec2_ondemand.csv: unknown region `mars-north-1` (known regions: eu-west-1, us-east-1)"
        );
        assert!(matches!(catalog().coverage("x"), Err(CatalogError::UnknownRegion { .. })));
    }

    fn ondemand_err(body: &str) -> CatalogError {
        let text = format!("region,instance_type,usd_per_hour\nus-east-1,m5.large,0.096\n{body}\n");
        Ec2Catalog::from_readers(text.as_bytes(), specs().as_bytes(), None::<&[u8]>).unwrap_err()
    }

    #[test]
    fn zero_negative_and_non_numeric_prices_name_the_line() {
        for body in
            ["us-east-1,c5.large,0", "us-east-1,c5.large,0.000", "us-east-1,c5.large,-0.085", "us-east-1,c5.large,n/a"]
        {
            let err = ondemand_err(body);
            assert!(matches!(err, CatalogError::BadValue { line: 3, column: 3, .. }), "{body}: {err}");
            assert!(err.to_string().starts_with("ec2_ondemand.csv:3:3: `usd_per_hour`"), "{err}");
        }
        assert!(ondemand_err("us-east-1,c5.large,0").to_string().contains("not scraped"));
    }

    #[test]
    fn malformed_ondemand_rows_are_errors() {
        assert!(matches!(ondemand_err("us-east-1,c5.large"), CatalogError::FieldCount { line: 3, .. }));
        assert!(matches!(
            ondemand_err("us-east-1,\"c5.large\",0.085"),
            CatalogError::Quoted { line: 3, column: 2, .. }
        ));
        assert!(matches!(ondemand_err(",c5.large,0.085"), CatalogError::BadValue { line: 3, column: 1, .. }));
        let err = ondemand_err("us-east-1,m5.large,0.097");
        assert!(matches!(err, CatalogError::Duplicate { line: 3, first_line: 2, .. }), "{err}");
    }

    fn spec_err(row: &str) -> CatalogError {
        let text = format!("{SPEC_HEADER}{row}\n");
        Ec2Catalog::from_readers(ONDEMAND.as_bytes(), text.as_bytes(), None::<&[u8]>).unwrap_err()
    }

    #[test]
    fn malformed_spec_rows_name_the_column() {
        let ok = ["m5.large", "2", "8", "x86_64", "General purpose", "true", "0", "4", "Up to 10 Gigabit", "Intel"];
        for (column, bad) in
            [(2, "0"), (2, "two"), (3, "0"), (3, "8GiB"), (3, "-8"), (4, "riscv"), (6, "yes"), (7, "-1"), (8, "big")]
        {
            let mut fields = ok;
            fields[column - 1] = bad;
            let err = spec_err(&fields.join(","));
            assert_eq!((err.line(), err.column()), (Some(2), Some(column)), "{bad}: {err}");
            assert_eq!(err.file(), CatalogFile::Ec2InstanceTypes);
        }
        let text = format!("{SPEC_HEADER}{}\n", ok.join(","));
        assert!(Ec2Catalog::from_readers(ONDEMAND.as_bytes(), text.as_bytes(), None::<&[u8]>).is_ok());
    }

    #[test]
    fn malformed_advisor_rows_are_errors() {
        let advisor = |row: &str| {
            let text = format!("region,instance_type,os,interruption_bucket,savings_pct\n{row}\n");
            Ec2Catalog::from_readers(ONDEMAND.as_bytes(), specs().as_bytes(), Some(text.as_bytes())).unwrap_err()
        };
        assert!(matches!(advisor("us-east-1,m5.large,Linux,5,66"), CatalogError::BadValue { column: 4, .. }));
        assert!(matches!(advisor("us-east-1,m5.large,Linux,1,100"), CatalogError::BadValue { column: 5, .. }));
        assert!(matches!(advisor("us-east-1,m5.large,Linux,1,-3"), CatalogError::BadValue { column: 5, .. }));
        assert!(matches!(
            advisor("us-east-1,m5.large,Linux,1,10\nus-east-1,m5.large,Linux,2,20"),
            CatalogError::Duplicate { line: 3, first_line: 2, .. }
        ));
    }

    #[test]
    fn spot_price_is_exact_to_the_nano() {
        let advice = SpotAdvice { savings_pct: 66, interruption_bucket: 3 };
        assert_eq!(advice.spot_price(Money::usd(96, 3)).nanos(), 32_640_000);
        // 0.0000001 USD × 0.33 = 33 nanos exactly; half-up rounding only applies to true halves.
        let odd = SpotAdvice { savings_pct: 67, interruption_bucket: 0 };
        assert_eq!(odd.spot_price(Money::from_nanos(100, Currency::USD)).nanos(), 33);
        assert_eq!(odd.spot_price(Money::from_nanos(150, Currency::USD)).nanos(), 50, "49.5 rounds up");
        let none = SpotAdvice { savings_pct: 0, interruption_bucket: 4 };
        assert_eq!(none.spot_price(Money::usd(5, 1)), Money::usd(5, 1));
    }
}
