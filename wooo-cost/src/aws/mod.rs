//! AWS cost sources (feature `aws`).
//!
//! - [`CostExplorer`]: what a cluster was billed, from AWS Cost Explorer (GetCostAndUsage filtered by the
//!   cluster's cost allocation tag, grouped by service or by a tag, every page, amounts parsed exactly into
//!   [`Money`](wooo_core::model::Money)), and the compute Savings Plans AWS recommends, as commitment
//!   [`Recommendation`](wooo_core::model::Recommendation)s.
//! - [`Ec2Facts`]: instance type specs (DescribeInstanceTypes) and live spot prices per availability zone
//!   (DescribeSpotPriceHistory), cached; [`live_price_table`] lays them over the repo's price catalogue
//!   ([`Ec2Catalog`](crate::catalog::Ec2Catalog)) into an [`engine::PriceTable`](crate::engine::PriceTable).
//! - [`EksCostAnalyzer`]: the [`CostAnalyzer`](wooo_core::CostAnalyzer) of EKS clusters: the billed cost from
//!   Cost Explorer, allocated by the [engine](crate::engine) over a [`ClusterInventory`], and recommendations from both.
//!
//! Every error is a [`wooo_core::Error`] with provider [`PROVIDER`] (`"aws-cost"`), classified once: throttling
//! is [`Throttled`](wooo_core::Error::Throttled), `AccessDenied` [`PermissionDenied`](wooo_core::Error::PermissionDenied),
//! missing or expired credentials [`Unauthenticated`](wooo_core::Error::Unauthenticated), Cost Explorer's
//! `DataUnavailableException` and `BillExpirationException` a [`Provider`](wooo_core::Error::Provider) error
//! saying why, a refused page token [`InvalidSpec`](wooo_core::Error::InvalidSpec), 5xx and timeouts
//! [`Transient`](wooo_core::Error::Transient).
//!
//! Module shape: `api.rs` the thin seam over the SDKs, in wooo's types (unit tests mock it), `sdk.rs` the seam
//! over aws-sdk-costexplorer and aws-sdk-ec2, `error.rs` error classification; `explorer.rs`, `ec2.rs` and
//! `analyzer.rs` the decisions, tested against the mocked seam.

mod analyzer;
mod api;
mod ec2;
mod error;
mod explorer;
mod sdk;

/// Re-exported from [`crate::sources`] and [`wooo_core::model`], where they moved.
pub use crate::sources::ClusterInventory;
pub use analyzer::{CostExplorerBilling, EksCostAnalyzer, NODE_SERVICE};
pub use ec2::{Ec2Facts, Ec2FactsBuilder, InstanceTypeFacts, LINUX_PRODUCT, SpotPrice, live_price_table};
pub use error::PROVIDER;
pub use explorer::{
    CostBreakdown, CostDataError, CostExplorer, CostExplorerBuilder, CostMetric, DEFAULT_CLUSTER_TAG, Granularity,
    GroupBy, Lookback, PaymentOption, PeriodCost, SavingsPlanTerm, SavingsPlansOptions,
};
pub use wooo_core::model::ClusterSnapshot;
