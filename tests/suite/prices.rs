//! The price catalogues over the real price snapshot kept in the repository (`wooo-cost/data/prices`, see its
//! README for source, licence and the counts checked here).

use std::path::{Path, PathBuf};

use wooo_core::model::{Cpu, Currency, HourlyRate, Memory, Money};
use wooo_cost::catalog::{Arch, AzureCatalog, Ec2Catalog, GceCatalog, GceTier};

const EC2_REGIONS: [&str; 4] = ["ap-northeast-1", "eu-west-1", "us-east-1", "us-west-2"];

/// The snapshot's folder. It is part of the repository, so it is always there.
fn prices_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../wooo-cost/data/prices")
}

/// The `usd` column of one `gce.csv` row, read without the catalogue.
fn gce_usd(dir: &Path, region: &str, family: &str, resource: &str, tier: &str) -> Money {
    let text = std::fs::read_to_string(dir.join("gce.csv")).unwrap();
    let row = text
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f[0] == region && f[1] == family && f[2] == resource && f[4] == tier)
        .unwrap_or_else(|| panic!("no gce.csv row {region} {family} {resource} {tier}"));
    Money::from_decimal_str(row[5], Currency::USD).unwrap()
}

#[test]
fn ec2_us_east_1_m5_large_joins_price_spec_and_spot() {
    let dir = prices_dir();
    let catalog = Ec2Catalog::from_dir(&dir).unwrap();
    assert_eq!(catalog.regions().collect::<Vec<_>>(), EC2_REGIONS);
    let table = catalog.price_table("us-east-1").unwrap();
    assert_eq!(table.control_plane, HourlyRate::usd(10, 2));
    let m5 = table.get("m5.large").unwrap();
    assert_eq!(m5.on_demand, HourlyRate::usd(96, 3));
    assert_eq!((m5.cpu, m5.memory), (Cpu::from_cores(2), Memory::from_gib(8)));
    let spot = m5.spot.expect("m5.large is in the Spot Advisor");
    assert!(spot < m5.on_demand);
    let advice = catalog.spot_advice("us-east-1", "m5.large").unwrap();
    assert_eq!(spot.amount(), advice.spot_price(m5.on_demand.amount()));
    assert_eq!(m5.interruption_bucket, Some(advice.interruption_bucket));
    assert_eq!(catalog.spec("m5.large").unwrap().arch, Arch::X86_64);
    assert_eq!(catalog.spec("m6g.large").unwrap().arch, Arch::Arm64);

    // README: 739 us-east-1 prices; the awk join of the two files gives 682 with a spec.
    let coverage = catalog.coverage("us-east-1").unwrap();
    assert_eq!((coverage.priced, coverage.in_table), (739, 682));
    assert_eq!(table.iter().count(), coverage.in_table);
    assert_eq!(coverage.skipped_no_spec.len(), 739 - 682);
    assert!(coverage.skipped_no_spec.iter().all(|t| table.get(t).is_none() && catalog.spec(t).is_none()));
}

#[test]
fn ec2_every_price_is_positive_and_spot_never_above_on_demand() {
    let dir = prices_dir();
    let catalog = Ec2Catalog::from_dir(&dir).unwrap();
    for region in EC2_REGIONS {
        let table = catalog.price_table(region).unwrap();
        assert!(table.iter().count() > 500, "{region}");
        for p in table.iter() {
            assert!(p.on_demand.amount().nanos() > 0, "{region} {}", p.instance_type);
            assert!(p.cpu.millis() > 0 && p.memory.bytes() > 0, "{region} {}", p.instance_type);
            if let Some(spot) = p.spot {
                assert!(spot.amount().nanos() > 0 && spot <= p.on_demand, "{region} {}", p.instance_type);
            }
        }
    }
}

#[test]
fn ec2_eu_west_1_has_no_m7i_large() {
    let dir = prices_dir();
    let catalog = Ec2Catalog::from_dir(&dir).unwrap();
    // The README: its price is 0.0 ("not scraped") in pricing.json, so the row was dropped...
    assert!(catalog.price_table("eu-west-1").unwrap().get("m7i.large").is_none());
    assert!(catalog.price_table("us-east-1").unwrap().get("m7i.large").is_some());
    // ...while the Spot Advisor still lists it: an advisor row that cannot be priced.
    let coverage = catalog.coverage("eu-west-1").unwrap();
    assert!(coverage.advisor_without_price.iter().any(|t| t == "m7i.large"));
}

#[test]
fn ec2_join_coverage_matches_the_readme() {
    let dir = prices_dir();
    let catalog = Ec2Catalog::from_dir(&dir).unwrap();
    let coverage: Vec<_> = EC2_REGIONS.iter().map(|r| catalog.coverage(r).unwrap()).collect();
    let priced: Vec<usize> = coverage.iter().map(|c| c.priced).collect();
    let advisor: Vec<usize> = coverage.iter().map(|c| c.advisor_rows).collect();
    // README row counts, in EC2_REGIONS order.
    assert_eq!(priced, [647, 652, 739, 734]);
    assert_eq!(priced.iter().sum::<usize>(), 2772);
    assert_eq!(advisor, [825, 791, 894, 893]);
    assert_eq!(advisor.iter().sum::<usize>(), 3403);
    // "2,685 of the rows have an on-demand price in ec2_ondemand.csv."
    assert_eq!(coverage.iter().map(|c| c.advisor_with_price).sum::<usize>(), 2685);
    for c in &coverage {
        assert_eq!(c.advisor_with_price + c.advisor_without_price.len(), c.advisor_rows);
        assert!(c.with_spot <= c.advisor_with_price.min(c.in_table));
        let table = catalog.price_table(&c.region).unwrap();
        assert_eq!(table.iter().filter(|p| p.spot.is_some()).count(), c.with_spot);
    }
    // "71 priced types (mostly *.metal) have no spec."
    let skipped = catalog.skipped();
    assert_eq!(skipped.len(), 71);
    assert!(skipped.iter().filter(|t| t.ends_with(".metal")).count() * 2 > skipped.len());
}

#[test]
fn azure_standard_d2s_v3_in_eastus_has_a_cheaper_low_priority_price() {
    let dir = prices_dir();
    let catalog = AzureCatalog::from_dir(&dir).unwrap();
    assert_eq!(catalog.regions().collect::<Vec<_>>(), ["eastus", "japaneast", "westeurope", "westus2"]);
    let table = catalog.price_table("eastus", &[("Standard_D2s_v3", 2, 8.0), ("Standard_B2s", 2, 4.0)]).unwrap();
    assert!(table.control_plane.amount().is_zero());
    let d2 = table.get("Standard_D2s_v3").unwrap();
    assert!(d2.on_demand.amount().nanos() > 0);
    let low = d2.spot.expect("D2s_v3 has a low-priority price");
    assert!(low < d2.on_demand);
    assert_eq!(Some(low), catalog.low_priority("eastus", "Standard_D2s_v3").unwrap());
    assert!(table.get("Standard_B2s").is_some());
    // 2020 prices: no v5 sizes.
    assert!(catalog.price_table("eastus", &[("Standard_D2s_v5", 2, 8.0)]).is_err());
}

#[test]
fn gce_n2_in_us_central1_is_vcpus_times_cpu_plus_gib_times_ram() {
    let dir = prices_dir();
    let catalog = GceCatalog::from_dir(&dir).unwrap();
    assert_eq!(catalog.regions().collect::<Vec<_>>(), ["asia-northeast1", "europe-west1", "us-central1", "us-east4"]);
    let cpu = gce_usd(&dir, "us-central1", "n2", "cpu", "on_demand");
    let ram = gce_usd(&dir, "us-central1", "n2", "ram", "on_demand");
    let expected = cpu.times(2) + ram.times(8);
    let n2 = catalog.machine_price("us-central1", "n2", 2.0, 8.0, GceTier::OnDemand).unwrap();
    assert_eq!(n2.amount(), expected);

    let table =
        catalog.price_table("us-central1", &[("n2-standard-2", "n2", 2.0, 8.0), ("f1-micro", "f1", 0.2, 0.6)]).unwrap();
    let row = table.get("n2-standard-2").unwrap();
    assert_eq!(row.on_demand.amount(), expected);
    let pre = gce_usd(&dir, "us-central1", "n2", "cpu", "preemptible").times(2)
        + gce_usd(&dir, "us-central1", "n2", "ram", "preemptible").times(8);
    assert_eq!(row.spot.map(|s| s.amount()), Some(pre));
    assert!(pre < expected);
    let f1 = table.get("f1-micro").unwrap();
    assert_eq!(f1.on_demand.amount(), gce_usd(&dir, "us-central1", "f1", "cpu", "on_demand"));
    // Commitment prices exist for c2 only.
    assert!(catalog.machine_price("us-central1", "c2", 4.0, 16.0, GceTier::Commit1Yr).is_ok());
    assert!(catalog.machine_price("us-central1", "n2", 2.0, 8.0, GceTier::Commit1Yr).is_err());
}
