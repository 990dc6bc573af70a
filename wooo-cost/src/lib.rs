//! wooo's cost analysis: the cost engine, the sources it reads, and the [`wooo_core::CostAnalyzer`]s composed
//! of them.
//!
//! Three names to tell apart:
//!
//! - **[`wooo_core::CostAnalyzer`]**, the trait host programs call (`cost`, `recommend`), defined in `wooo-core`
//!   with the domain types (money, rates, reports, recommendations, [`PriceTable`](wooo_core::model::PriceTable));
//! - **[`engine`]**, the pure cost maths: node cost, allocation of node cost to workloads
//!   ([`engine::allocate`]), and the idle, right-size, commitment and spot recommendations
//!   ([`engine::recommend`]). No I/O;
//! - **this crate**, `wooo-cost`, which holds the engine, the **sources** ([`sources`]: [`sources::PriceSource`],
//!   [`sources::UsageSource`], [`sources::BillingSource`], [`sources::ClusterInventory`]) and the analyzers made of
//!   them: [`ComposedAnalyzer`] (a billing source + an inventory + a usage source + prices + the engine),
//!   [`sim::cost_analyzer`] (the simulator's), and `aws::EksCostAnalyzer` (feature `aws`).
//!
//! Also here:
//!
//! - **usage from Prometheus** (`prometheus`, feature `prometheus`): `prometheus::PrometheusUsage`, a
//!   [`sources::UsageSource`] over the cAdvisor and kube-state-metrics series (CPU, working set, requests, limits,
//!   restarts, OOM kills, node capacity and labels), paged and retried;
//! - **the AWS cost sources** (`aws`, feature `aws`): `aws::CostExplorer` reads what a cluster was billed from
//!   AWS Cost Explorer (filtered by its cost allocation tag, grouped by service or tag, every page, amounts
//!   parsed exactly) and the compute Savings Plans AWS recommends; `aws::Ec2Facts` reads EC2 instance specs and
//!   live spot prices, cached, and `aws::live_price_table` lays them over the EC2 catalogue;
//!   `aws::EksCostAnalyzer` is the [`wooo_core::CostAnalyzer`] of EKS clusters, the billed cost from Cost
//!   Explorer allocated by the engine;
//! - **the Azure cost source** (`azure`, feature `azure`): `azure::CostManagement` reads actual cost from the
//!   Cost Management Query API (daily, grouped by resource group, resource, meter category or tag, every page),
//!   and `azure::AksCostAnalyzer` is the [`wooo_core::CostAnalyzer`] of AKS clusters, that actual cost allocated
//!   by the engine;
//! - **the Google Cloud cost sources** (`gcp`, feature `gcp`): `gcp::BillingCatalog` reads Compute Engine
//!   prices from the Cloud Billing Catalog API (every page of SKUs) as typed on-demand, Spot and committed-use
//!   rates per vCPU and GiB-hour, per region, and turns them into the engine's price tables of GKE machines;
//!   `gcp::GkeCostAnalyzer` is the [`wooo_core::CostAnalyzer`] of GKE clusters at those list prices;
//! - **the price catalogues** ([`catalog`]): readers that turn public list-price data (EC2, Azure and GCE list
//!   prices, EC2 instance specs, the AWS Spot Instance Advisor) into [`engine::PriceTable`]s, per cloud and
//!   region, for the analyzers and for host programs that plan or compare costs offline.
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
#[cfg(feature = "azure")]
pub mod azure;
pub mod catalog;
mod composed;
pub mod engine;
#[cfg(feature = "gcp")]
pub mod gcp;
#[cfg(feature = "prometheus")]
pub mod prometheus;
pub mod sim;
pub mod sources;
mod usage_file;

pub use composed::ComposedAnalyzer;

#[cfg(test)]
mod sim_tests;
