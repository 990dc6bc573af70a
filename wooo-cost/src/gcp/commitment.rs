//! The committed-use discount of a price table, derived from the catalogue's own rates: for each machine type
//! in use, `1 − (its committed-use price ÷ its on-demand price)`, each price the family's vCPU and RAM rates
//! × the machine's vCPUs and GiB ([`GceCatalog::machine_price`]). Pure.

use wooo_core::model::CommitmentDiscount;

use crate::catalog::{GceCatalog, GceTier};

/// The committed-use tier of a term: 1 or 3 years; `None` for any other term (Compute Engine sells none).
pub fn commitment_tier(term_years: u32) -> Option<GceTier> {
    match term_years {
        1 => Some(GceTier::Commit1Yr),
        3 => Some(GceTier::Commit3Yr),
        _ => None,
    }
}

/// The compute commitment discount of a `term_years` (1 or 3) resource-based commitment on `machines`
/// (`(machine type, family, vCPUs, GiB)`) in `region`, from `catalog`'s committed-use and on-demand rates.
///
/// The engine takes one whole-percent discount for the whole table ([`CommitmentDiscount::percent`]), while
/// each machine type has its own exact ratio; the table carries the **smallest** of them, rounded **down** to
/// a whole percent (computed in integer nano-dollars), so a commitment is never sized on a saving some of the
/// machines in use do not get. The exact ratio of each machine, to a hundredth of a percent (also rounded
/// down), is in [`CommitmentDiscount::source`].
///
/// `None` — and so no commitment recommendation — when the term is not 1 or 3 years, `machines` is empty, the
/// catalogue lacks the term's vCPU or RAM rate of a machine's family in the region (no invented figure stands
/// in for it), or a machine's committed price is not below its on-demand price by at least 1%.
pub fn commitment_discount(
    catalog: &GceCatalog,
    region: &str,
    machines: &[(&str, &str, f64, f64)],
    term_years: u32,
) -> Option<CommitmentDiscount> {
    let tier = commitment_tier(term_years)?;
    let mut lowest: Option<i128> = None;
    let mut details = Vec::with_capacity(machines.len());
    for &(machine_type, family, vcpu, gib) in machines {
        let on_demand = catalog.machine_price(region, family, vcpu, gib, GceTier::OnDemand).ok()?.amount();
        let committed = catalog.machine_price(region, family, vcpu, gib, tier).ok()?.amount();
        let (od, cud) = (on_demand.nanos(), committed.nanos());
        if od <= 0 || cud <= 0 || cud >= od {
            return None;
        }
        // Basis points of the saving, rounded down: an exact integer ratio.
        let bp = (od - cud) * 10_000 / od;
        lowest = Some(lowest.map_or(bp, |l| l.min(bp)));
        details.push(format!(
            "{machine_type} {} vs {} USD/h ({}.{:02}%)",
            committed.decimal_string(),
            on_demand.decimal_string(),
            bp / 100,
            bp % 100
        ));
    }
    let percent = u32::try_from(lowest? / 100).ok().filter(|p| *p > 0 && *p < 100)?;
    Some(CommitmentDiscount {
        term_years,
        percent,
        source: format!(
            "Compute Engine {term_years}-year committed-use rates vs on-demand in {region}, the smallest saving of \
             the machine types in use: {}",
            details.join("; ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// n2: on-demand and 1-year rates for vCPU and RAM, a 3-year vCPU rate only; e2: on-demand and 1-year.
    const CSV: &str = "region,family,resource,unit,tier,usd,sku,description\n\
                       europe-west1,n2,cpu,vcpu_hour,on_demand,0.034773,a,\n\
                       europe-west1,n2,ram,gib_hour,on_demand,0.004661,b,\n\
                       europe-west1,n2,cpu,vcpu_hour,commit_1yr,0.021907,c,\n\
                       europe-west1,n2,ram,gib_hour,commit_1yr,0.002936,d,\n\
                       europe-west1,n2,cpu,vcpu_hour,commit_3yr,0.015648,e,\n\
                       europe-west1,e2,cpu,vcpu_hour,on_demand,0.024131,f,\n\
                       europe-west1,e2,ram,gib_hour,on_demand,0.003234,g,\n\
                       europe-west1,e2,cpu,vcpu_hour,commit_1yr,0.015202,h,\n\
                       europe-west1,e2,ram,gib_hour,commit_1yr,0.002038,i,\n\
                       europe-west1,c3,cpu,vcpu_hour,on_demand,0.030000,j,\n\
                       europe-west1,c3,ram,gib_hour,on_demand,0.004000,k,\n\
                       europe-west1,c3,cpu,vcpu_hour,commit_1yr,0.030000,l,\n\
                       europe-west1,c3,ram,gib_hour,commit_1yr,0.004000,m,\n";

    fn catalog() -> GceCatalog {
        GceCatalog::from_reader(CSV.as_bytes()).unwrap()
    }

    #[test]
    fn the_discount_is_the_catalogues_exact_ratio_rounded_down() {
        let n2 = [("n2-standard-4", "n2", 4.0, 16.0)];
        let d = commitment_discount(&catalog(), "europe-west1", &n2, 1).expect("1-year rates of n2");
        // On demand 4 × 0.034773 + 16 × 0.004661 = 0.213668; 1-year 4 × 0.021907 + 16 × 0.002936 = 0.134604;
        // saving 0.079064 / 0.213668 = 37.003…%.
        assert_eq!((d.term_years, d.percent), (1, 37));
        assert!(d.source.contains("n2-standard-4 0.134604 vs 0.213668 USD/h (37.00%)"), "{}", d.source);
        assert!(d.source.contains("1-year committed-use rates"), "{}", d.source);
    }

    #[test]
    fn the_smallest_saving_of_the_machines_in_use_is_the_tables() {
        let both = [("n2-standard-4", "n2", 4.0, 16.0), ("e2-standard-4", "e2", 4.0, 16.0)];
        let d = commitment_discount(&catalog(), "europe-west1", &both, 1).unwrap();
        // e2: on demand 4 × 0.024131 + 16 × 0.003234 = 0.148268; 1-year 4 × 0.015202 + 16 × 0.002038 =
        // 0.093416; saving 0.054852 / 0.148268 = 36.995…% → 36, below n2's 37.
        assert_eq!(d.percent, 36);
        assert!(d.source.contains("e2-standard-4 0.093416 vs 0.148268 USD/h (36.99%)"), "{}", d.source);
    }

    #[test]
    fn no_rate_no_discount() {
        let c = catalog();
        let n2 = [("n2-standard-4", "n2", 4.0, 16.0)];
        assert!(commitment_discount(&c, "europe-west1", &n2, 3).is_none(), "no 3-year RAM rate of n2");
        assert!(commitment_discount(&c, "europe-west1", &n2, 2).is_none(), "no 2-year commitments");
        assert!(commitment_discount(&c, "us-central1", &n2, 1).is_none(), "no rates in the region");
        assert!(commitment_discount(&c, "europe-west1", &[], 1).is_none(), "no machines");
        let with_c3 = [("n2-standard-4", "n2", 4.0, 16.0), ("c3-standard-4", "c3", 4.0, 16.0)];
        assert!(commitment_discount(&c, "europe-west1", &with_c3, 1).is_none(), "a commitment saving nothing");
        let unknown = [("n2-standard-4", "n2", 4.0, 16.0), ("t2d-standard-4", "t2d", 4.0, 16.0)];
        assert!(commitment_discount(&c, "europe-west1", &unknown, 1).is_none(), "a family without rates");
    }
}
