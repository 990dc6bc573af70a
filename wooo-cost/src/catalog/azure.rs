//! Azure: Linux pay-as-you-go and low-priority VM prices per region, keyed by Libcloud's VM size keys.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use wooo_core::model::{Cpu, Currency, HourlyRate, Money};
use wooo_core::model::{InstancePrice, PriceTable};

use super::csv::{CsvTable, SeenKeys};
use super::{CatalogError, CatalogFile, memory_from_gib, open_in, region_entry};

/// The key `azure_ondemand.csv` uses for an ARM VM size: lower-cased with every `_` removed, so
/// `Standard_D2s_v3` is `standardd2sv3` and `Basic_A1` is `basica1`. Keys are returned unchanged, so the function
/// can be applied twice.
///
/// ```
/// use wooo_cost::catalog::normalize_vm_size;
/// assert_eq!(normalize_vm_size("Standard_D2s_v3"), "standardd2sv3");
/// assert_eq!(normalize_vm_size("standardd2sv3"), "standardd2sv3");
/// ```
pub fn normalize_vm_size(arm_vm_size: &str) -> String {
    arm_vm_size.trim().chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

/// The key of a size's low-priority price: the Standard tier's key with `standard` replaced by `lowpriority`
/// (Basic sizes have none).
fn low_priority_key(key: &str) -> Option<String> {
    key.strip_prefix("standard").map(|rest| format!("lowpriority{rest}"))
}

/// Azure price catalogue, read from `azure_ondemand.csv` (`region,vm_size,usd_per_hour`).
///
/// The file has prices only, no vCPU or memory per size: Libcloud scrapes Azure's price pages, which list sizes
/// under keys that drop the underscores, and a size's vCPUs and memory cannot be read reliably from its name
/// (constrained-core sizes such as `Standard_E4-2s_v3` have fewer vCPUs than the name suggests, and memory never
/// appears in it). So [`AzureCatalog::price_table`] takes the sizes the caller uses, with their vCPUs and
/// memory, as ARM's "list VM sizes" call or the node pool spec gives them.
#[derive(Debug, Clone)]
pub struct AzureCatalog {
    prices: BTreeMap<String, BTreeMap<String, Money>>,
    source: String,
}

impl AzureCatalog {
    /// Reads `azure_ondemand.csv`.
    ///
    /// # Errors
    /// A [`CatalogError`] naming the line and column of the first malformed row: a missing column, a quoted
    /// field, a wrong field count, an empty key, a zero, negative or non-numeric price, or a second row for the
    /// same region and size.
    pub fn from_reader(reader: impl Read) -> Result<Self, CatalogError> {
        let file = CatalogFile::AzureOnDemand;
        let table = CsvTable::read(file, reader, &["region", "vm_size", "usd_per_hour"])?;
        let mut seen = SeenKeys::new(file);
        let mut prices: BTreeMap<String, BTreeMap<String, Money>> = BTreeMap::new();
        for row in table.rows() {
            let (region, vm_size) = (row.text("region")?, row.text("vm_size")?);
            let price = row.price("usd_per_hour")?;
            seen.check(format!("{region} {vm_size}"), row.line())?;
            prices.entry(region.to_string()).or_default().insert(vm_size.to_string(), price);
        }
        let source = format!(
            "Azure Linux pay-as-you-go list prices ({file}); spot = low-priority price; AKS control plane free tier"
        );
        Ok(Self { prices, source })
    }

    /// Reads `azure_ondemand.csv` from a folder laid out like `wooo-cost/data/prices`.
    ///
    /// # Errors
    /// [`CatalogError::Read`] when the file cannot be opened, and whatever [`AzureCatalog::from_reader`] returns.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, CatalogError> {
        Self::from_reader(open_in(dir.as_ref(), CatalogFile::AzureOnDemand)?)
    }

    /// Replaces the provenance text the price tables carry in [`PriceTable::source`].
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// Regions with prices, sorted.
    pub fn regions(&self) -> impl Iterator<Item = &str> + '_ {
        self.prices.keys().map(String::as_str)
    }

    /// The pay-as-you-go price of an ARM VM size (`Standard_D2s_v3`, or its key `standardd2sv3`) in a region.
    ///
    /// # Errors
    /// [`CatalogError::UnknownRegion`] listing the known regions, or [`CatalogError::NoPrice`] when the region
    /// has no price for the size.
    pub fn on_demand(&self, region: &str, vm_size: &str) -> Result<HourlyRate, CatalogError> {
        let prices = region_entry(CatalogFile::AzureOnDemand, &self.prices, region)?;
        let key = normalize_vm_size(vm_size);
        prices.get(&key).map(|&p| HourlyRate::new(p)).ok_or_else(|| CatalogError::NoPrice {
            file: CatalogFile::AzureOnDemand,
            region: region.to_string(),
            what: format!("VM size `{vm_size}` (key `{key}`)"),
        })
    }

    /// The low-priority price of a Standard-tier VM size in a region, when the file has one.
    ///
    /// # Errors
    /// [`CatalogError::UnknownRegion`] listing the known regions.
    pub fn low_priority(&self, region: &str, vm_size: &str) -> Result<Option<HourlyRate>, CatalogError> {
        let prices = region_entry(CatalogFile::AzureOnDemand, &self.prices, region)?;
        let key = low_priority_key(&normalize_vm_size(vm_size));
        Ok(key.and_then(|k| prices.get(&k)).map(|&p| HourlyRate::new(p)))
    }

    /// The price table of a region for the given sizes, each `(ARM VM size, vCPUs, memory in GiB)`, keyed by the
    /// ARM name as given. The low-priority price, when the file has one, becomes the spot price (Azure's
    /// low-priority VMs are the evictable, discounted capacity Spot VMs replaced; the file has no eviction
    /// rates, so the interruption bucket stays unknown). The control-plane fee is 0: the AKS free tier, which
    /// charges nothing for cluster management (the Standard tier's 0.10 USD/h per cluster is a choice the caller
    /// makes; set [`PriceTable::control_plane`] for it).
    ///
    /// # Errors
    /// [`CatalogError::UnknownRegion`] listing the known regions, [`CatalogError::NoPrice`] for a size the region
    /// has no price for (better than a table silently missing a node pool's size), and
    /// [`CatalogError::InvalidSize`] for a size with no vCPUs or a memory that is not a positive number.
    pub fn price_table(&self, region: &str, sizes: &[(&str, u32, f64)]) -> Result<PriceTable, CatalogError> {
        let file = CatalogFile::AzureOnDemand;
        // Checked first so a mistyped region is reported as such even when no sizes are asked for.
        region_entry(file, &self.prices, region)?;
        let mut table = PriceTable::new(region, HourlyRate::zero(Currency::USD), self.source.clone());
        for &(vm_size, vcpu, memory_gib) in sizes {
            if vcpu == 0 {
                let reason = "a VM size has at least one vCPU".to_string();
                return Err(CatalogError::InvalidSize { file, name: vm_size.to_string(), reason });
            }
            table.insert(InstancePrice {
                instance_type: vm_size.to_string(),
                cpu: Cpu::from_cores(u64::from(vcpu)),
                memory: memory_from_gib(file, vm_size, memory_gib)?,
                on_demand: self.on_demand(region, vm_size)?,
                spot: self.low_priority(region, vm_size)?,
                interruption_bucket: None,
            });
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wooo_core::model::Memory;

    const CSV: &str = "region,vm_size,usd_per_hour\n\
                       eastus,basica1,0.023\n\
                       eastus,lowpriorityd2sv3,0.019\n\
                       eastus,standardd2sv3,0.096\n\
                       eastus,standardb1ls,0.0052\n\
                       westeurope,standardd2sv3,0.12\n";

    fn catalog() -> AzureCatalog {
        AzureCatalog::from_reader(CSV.as_bytes()).unwrap()
    }

    #[test]
    fn arm_names_are_normalized_to_libcloud_keys() {
        assert_eq!(normalize_vm_size("Standard_D2s_v3"), "standardd2sv3");
        assert_eq!(normalize_vm_size("Basic_A1"), "basica1");
        assert_eq!(normalize_vm_size(" Standard_H16m_Promo "), "standardh16mpromo");
        assert_eq!(low_priority_key("standardd2sv3").as_deref(), Some("lowpriorityd2sv3"));
        assert_eq!(low_priority_key("basica1"), None);
    }

    #[test]
    fn price_table_uses_caller_sizes_and_low_priority_as_spot() {
        let c = catalog();
        assert_eq!(c.regions().collect::<Vec<_>>(), ["eastus", "westeurope"]);
        let t = c.price_table("eastus", &[("Standard_D2s_v3", 2, 8.0), ("Standard_B1ls", 1, 0.5)]).unwrap();
        assert_eq!(t.control_plane, HourlyRate::zero(Currency::USD));
        let d2 = t.get("Standard_D2s_v3").unwrap();
        assert_eq!((d2.cpu, d2.memory), (Cpu::from_cores(2), Memory::from_gib(8)));
        assert_eq!(d2.on_demand, HourlyRate::usd(96, 3));
        assert_eq!(d2.spot, Some(HourlyRate::usd(19, 3)));
        let b1 = t.get("Standard_B1ls").unwrap();
        assert_eq!((b1.memory, b1.spot), (Memory::from_mib(512), None));
        assert_eq!(t.iter().count(), 2);

        let eu = c.price_table("westeurope", &[("Standard_D2s_v3", 2, 8.0)]).unwrap();
        assert_eq!(eu.get("Standard_D2s_v3").unwrap().spot, None, "no low-priority row in westeurope");
        assert_eq!(c.on_demand("eastus", "Basic_A1").unwrap(), HourlyRate::usd(23, 3));
        assert_eq!(c.low_priority("eastus", "Basic_A1").unwrap(), None);
    }

    #[test]
    fn unknown_sizes_regions_and_bad_shapes_are_errors() {
        let c = catalog();
        let err = c.price_table("eastus", &[("Standard_D2s_v5", 2, 8.0)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "azure_ondemand.csv: no price for VM size `Standard_D2s_v5` (key `standardd2sv5`) in `eastus`"
        );
        let err = c.price_table("eastus2", &[]).unwrap_err();
        assert_eq!(err.to_string(), "azure_ondemand.csv: unknown region `eastus2` (known regions: eastus, westeurope)");
        assert!(matches!(c.low_priority("eastus2", "Standard_D2s_v3"), Err(CatalogError::UnknownRegion { .. })));
        assert!(matches!(
            c.price_table("eastus", &[("Standard_D2s_v3", 0, 8.0)]),
            Err(CatalogError::InvalidSize { .. })
        ));
        assert!(matches!(
            c.price_table("eastus", &[("Standard_D2s_v3", 2, -1.0)]),
            Err(CatalogError::InvalidSize { .. })
        ));
    }

    #[test]
    fn malformed_rows_name_the_line() {
        let read = |row: &str| AzureCatalog::from_reader(format!("region,vm_size,usd_per_hour\n{row}\n").as_bytes());
        let err = read("eastus,standardd2sv3,0.0").unwrap_err();
        assert!(matches!(err, CatalogError::BadValue { line: 2, column: 3, .. }), "{err}");
        assert!(matches!(read("eastus,\"Standard_D2s_v3\",0.1"), Err(CatalogError::Quoted { line: 2, column: 2, .. })));
        assert!(matches!(read("eastus,standardd2sv3,0.1,x"), Err(CatalogError::FieldCount { found: 4, .. })));
        assert!(matches!(
            read("eastus,standardd2sv3,0.1\neastus,standardd2sv3,0.2"),
            Err(CatalogError::Duplicate { line: 3, first_line: 2, .. })
        ));
    }
}
