//! SKUs of the Cloud Billing Catalog as wooo reads them, and the pure step from a SKU to a typed rate: which
//! machine family, resource (vCPU or RAM) and pricing tier (on-demand, Spot, 1- or 3-year commitment) a Compute
//! Engine SKU prices, in which regions, at what price per vCPU-hour or GiB-hour.

use wooo_core::model::{Currency, Money};

use crate::catalog::{GceResource, GceTier, GceUnit};

/// A SKU of `services.skus.list`, reduced to what pricing needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sku {
    /// `skuId` (`CF4E-A0C7-E3BF`).
    pub sku_id: String,
    /// `description` (`N2 Instance Core running in Americas`).
    pub description: String,
    /// `category.resourceFamily` (`Compute`).
    pub resource_family: String,
    /// `category.resourceGroup` (`CPU`, `RAM`, `N1Standard`, …).
    pub resource_group: String,
    /// `category.usageType` (`OnDemand`, `Preemptible`, `Commit1Yr`, `Commit3Yr`).
    pub usage_type: String,
    /// `serviceRegions`.
    pub regions: Vec<String>,
    /// `pricingInfo[0].pricingExpression.usageUnit` (`h`, `GiBy.h`).
    pub usage_unit: String,
    /// The unit price of the steady-state tier (the tier with the highest `startUsageAmount`).
    pub unit_price: Option<Money>,
}

/// One typed Compute Engine price of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuRate {
    /// The region (`us-central1`).
    pub region: String,
    /// The machine family (`n2`, `e2`, `c3`, …).
    pub family: String,
    /// vCPU or RAM.
    pub resource: GceResource,
    /// On-demand, Spot (`Preemptible`), or a commitment.
    pub tier: GceTier,
    /// Per vCPU-hour or per GiB-hour.
    pub unit: GceUnit,
    /// The price per unit.
    pub price: Money,
    /// The SKU it came from.
    pub sku_id: String,
}

/// The typed rates a SKU gives (one per region), or none when it is not a per-vCPU or per-GiB price of a
/// machine family (sole-tenant, custom, extended memory, GPUs, licences, disks, network, …).
pub fn rates(sku: &Sku) -> Vec<SkuRate> {
    let Some(price) = sku.unit_price.filter(|p| p.nanos() > 0) else {
        return Vec::new();
    };
    if sku.resource_family != "Compute" {
        return Vec::new();
    }
    let (resource, unit) = match (sku.resource_group.as_str(), sku.usage_unit.as_str()) {
        ("CPU", "h") => (GceResource::Cpu, GceUnit::VcpuHour),
        ("RAM", "GiBy.h") => (GceResource::Ram, GceUnit::GibHour),
        _ => return Vec::new(),
    };
    let tier = match sku.usage_type.as_str() {
        "OnDemand" => GceTier::OnDemand,
        "Preemptible" => GceTier::Preemptible,
        "Commit1Yr" => GceTier::Commit1Yr,
        "Commit3Yr" => GceTier::Commit3Yr,
        _ => return Vec::new(),
    };
    let Some(family) = family(&sku.description) else { return Vec::new() };
    sku.regions
        .iter()
        .map(|region| SkuRate {
            region: region.clone(),
            family: family.clone(),
            resource,
            tier,
            unit,
            price,
            sku_id: sku.sku_id.clone(),
        })
        .collect()
}

/// The machine family a SKU description names: `N2 Instance Core running in Americas` → `n2`,
/// `Spot Preemptible E2 Instance Ram running in Iowa` → `e2`, `Commitment v1: N2D AMD Cpu in Americas for 1 Year`
/// → `n2d`. `None` for descriptions of something else (custom or sole-tenant machines, extended memory, GPUs).
pub fn family(description: &str) -> Option<String> {
    let d = description.to_ascii_lowercase();
    const SKIP: &[&str] = &["custom", "sole tenancy", "sole-tenant", "extended", "gpu", "premium", "licen", "reserved"];
    if SKIP.iter().any(|s| d.contains(s)) {
        return None;
    }
    let rest = d.strip_prefix("commitment v1:").or_else(|| d.strip_prefix("commitment:")).unwrap_or(&d);
    let rest = rest
        .trim_start()
        .strip_prefix("spot preemptible ")
        .or_else(|| rest.trim_start().strip_prefix("preemptible "))
        .unwrap_or(rest.trim_start());
    let word = rest.split_whitespace().next()?;
    let kind = rest.split_whitespace().skip(1).collect::<Vec<_>>().join(" ");
    let names_a_part = kind.contains("core") || kind.contains("cpu") || kind.contains("ram");
    // Family names: a letter, a digit, then letters or digits (`e2`, `n2d`, `c3`, `t2a`, `c4a`).
    let b = word.as_bytes();
    let shaped = b.len() >= 2
        && b.len() <= 4
        && b[0].is_ascii_lowercase()
        && b[1].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_alphanumeric());
    (shaped && names_a_part).then(|| word.to_string())
}

/// `units` (an int64 carried as a decimal string) and `nanos` of a `Money` as wooo's money.
pub(crate) fn money(currency: &str, units: &str, nanos: i32) -> Option<Money> {
    let currency: Currency = currency.parse().ok()?;
    let units: i128 = if units.is_empty() { 0 } else { units.parse().ok()? };
    Some(Money::from_nanos(units * 1_000_000_000 + i128::from(nanos), currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku(description: &str, group: &str, usage: &str, unit: &str, nanos: i32) -> Sku {
        Sku {
            sku_id: "A-B-C".into(),
            description: description.into(),
            resource_family: "Compute".into(),
            resource_group: group.into(),
            usage_type: usage.into(),
            regions: vec!["us-central1".into(), "us-east1".into()],
            usage_unit: unit.into(),
            unit_price: money("USD", "0", nanos),
        }
    }

    #[test]
    fn families_come_from_descriptions() {
        let cases = [
            ("N2 Instance Core running in Americas", Some("n2")),
            ("E2 Instance Ram running in Iowa", Some("e2")),
            ("Spot Preemptible N2D AMD Instance Core running in Belgium", Some("n2d")),
            ("Commitment v1: C3 Cpu in Americas for 1 Year", Some("c3")),
            ("Commitment v1: N2 Ram in Belgium for 3 Year", Some("n2")),
            ("N2 Custom Instance Core running in Americas", None),
            ("N2 Sole Tenancy Instance Core running in Americas", None),
            ("N1 Predefined Instance Extended Ram", None),
            ("Nvidia Tesla T4 GPU running in Americas", None),
            ("Storage PD Capacity", None),
        ];
        for (d, want) in cases {
            assert_eq!(family(d).as_deref(), want, "{d}");
        }
    }

    #[test]
    fn a_sku_gives_one_typed_rate_per_region() {
        let r = rates(&sku("N2 Instance Core running in Americas", "CPU", "OnDemand", "h", 31_611_000));
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].region.as_str(), r[0].family.as_str()), ("us-central1", "n2"));
        assert_eq!((r[0].resource, r[0].tier, r[0].unit), (GceResource::Cpu, GceTier::OnDemand, GceUnit::VcpuHour));
        assert_eq!(r[0].price.decimal_string(), "0.031611");
        let spot = rates(&sku(
            "Spot Preemptible E2 Instance Ram running in Americas",
            "RAM",
            "Preemptible",
            "GiBy.h",
            1_100_000,
        ));
        assert_eq!(
            (spot[0].resource, spot[0].tier, spot[0].unit),
            (GceResource::Ram, GceTier::Preemptible, GceUnit::GibHour)
        );
        let commit = rates(&sku("Commitment v1: N2 Cpu in Americas for 3 Year", "CPU", "Commit3Yr", "h", 14_000_000));
        assert_eq!(commit[0].tier, GceTier::Commit3Yr);
        // Not a per-part machine price, a zero price, an unknown tier or unit: nothing.
        assert!(rates(&sku("N1 Predefined Instance Core", "N1Standard", "OnDemand", "h", 1)).is_empty());
        assert!(rates(&sku("N2 Instance Core", "CPU", "OnDemand", "h", 0)).is_empty());
        assert!(rates(&sku("N2 Instance Core", "CPU", "Reserved", "h", 5)).is_empty());
        assert!(rates(&sku("N2 Instance Ram", "RAM", "OnDemand", "h", 5)).is_empty());
    }

    #[test]
    fn money_reads_int64_units_as_strings() {
        assert_eq!(money("USD", "1", 500_000_000).unwrap().decimal_string(), "1.5");
        assert_eq!(money("USD", "", 31_611_000).unwrap().decimal_string(), "0.031611");
        assert!(money("USD", "x", 0).is_none());
    }
}
