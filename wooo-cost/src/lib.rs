//! wooo's cost analysis.
//!
//! This crate is the home of two things:
//!
//! - **the cloud cost analyzers**: the [`wooo_core::CostAnalyzer`] implementations that read each cloud's billing
//!   source (AWS Cost Explorer, Azure Cost Management, GCP billing export) and K3s' node prices. They land with
//!   the cost issues, one folder per cloud;
//! - **the AWS cost sources** (`aws`, feature `aws`): `aws::CostExplorer` reads what a cluster was billed from
//!   AWS Cost Explorer (filtered by its cost allocation tag, grouped by service or tag, every page, amounts
//!   parsed exactly) and the compute Savings Plans AWS recommends; `aws::Ec2Facts` reads EC2 instance specs and
//!   live spot prices, cached, and `aws::live_price_table` lays them over the EC2 catalogue; `aws::EksCostAnalyzer`
//!   is the [`wooo_core::CostAnalyzer`] of EKS clusters, composed like the simulator's (an inventory, a price
//!   table and the engine) with the billed cost from Cost Explorer;
//! - **the Google Cloud cost sources** (`gcp`, feature `gcp`): `gcp::BillingCatalog` reads Compute Engine
//!   prices from the Cloud Billing Catalog API (every page of SKUs) as typed on-demand, Spot and committed-use
//!   rates per vCPU and GiB-hour, per region, and turns them into the engine's price tables of GKE machines;
//! - **the price catalogues** ([`catalog`]): readers that turn public list-price data (EC2, Azure and GCE list
//!   prices, EC2 instance specs, the AWS Spot Instance Advisor) into [`engine::PriceTable`]s, per cloud and
//!   region, for the analyzers and for host programs that plan or compare costs offline.
//!
//! The pure cost decisions — allocation of node cost to workloads, and the idle, right-size, commitment and spot
//! recommendations — live in [`wooo_core::costing`] so the simulator can use them too; they are re-exported here
//! as [`engine`] so a user of this crate finds them next to the catalogues:
//!
//! ```
//! use wooo_cost::catalog::AzureCatalog;
//! use wooo_cost::engine::PriceTable;
//!
//! let csv = "region,vm_size,usd_per_hour\neastus,standardd2sv3,0.096\neastus,lowpriorityd2sv3,0.019\n";
//! let catalog = AzureCatalog::from_reader(csv.as_bytes()).unwrap();
//! let table: PriceTable = catalog.price_table("eastus", &[("Standard_D2s_v3", 2, 8.0)]).unwrap();
//! let d2 = table.get("Standard_D2s_v3").unwrap();
//! assert!(d2.spot.unwrap() < d2.on_demand);
//! ```

#[cfg(feature = "aws")]
pub mod aws;
pub mod catalog;
#[cfg(feature = "gcp")]
pub mod gcp;
#[cfg(any(feature = "aws", feature = "gcp"))]
pub mod inventory;

/// The pure cost engine of [`wooo_core::costing`]: [`engine::allocate`], [`engine::recommend`] and the
/// [`engine::PriceTable`] the catalogues produce.
pub use wooo_core::costing as engine;
