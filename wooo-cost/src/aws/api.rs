//! The thin seam between the AWS cost sources and the AWS SDKs: every Cost Explorer and EC2 call they make, one
//! page at a time, in wooo's own types. [`super::sdk`] implements it over aws-sdk-costexplorer and aws-sdk-ec2;
//! unit tests mock it (`MockCostExplorerApi`, `MockEc2Api`). No SDK type crosses it and no decision is taken below
//! it: it sends one request and classifies a failed answer (`super::error`). Paging, parsing money and every
//! choice happen above it, where they are unit-tested.

use std::fmt::Debug;

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use wooo_core::Result;

/// One GetCostAndUsage request (one page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CostQuery {
    /// First day (inclusive, UTC).
    pub start: Date,
    /// Last day (exclusive, UTC).
    pub end: Date,
    /// `DAILY` or `MONTHLY`.
    pub granularity: &'static str,
    /// `UnblendedCost`, `AmortizedCost` or `NetAmortizedCost`.
    pub metric: &'static str,
    /// The cost allocation tag the filter matches.
    pub filter_tag_key: String,
    /// The value it must have (the cluster's name).
    pub filter_tag_value: String,
    /// Group by `("DIMENSION", "SERVICE")` or `("TAG", key)`.
    pub group_by: (&'static str, String),
    /// The page to read; `None` for the first.
    pub next_page_token: Option<String>,
}

/// An amount as Cost Explorer sends it: decimal text and a unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RawAmount {
    pub amount: String,
    pub unit: String,
}

/// One group of one period: its keys and the queried metric.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RawGroup {
    pub keys: Vec<String>,
    /// The queried metric; `None` when AWS left it out.
    pub amount: Option<RawAmount>,
}

/// One period of a page (`ResultsByTime`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawPeriod {
    /// `TimePeriod.Start`, `YYYY-MM-DD`.
    pub start: String,
    /// `TimePeriod.End`, `YYYY-MM-DD`.
    pub end: String,
    pub estimated: bool,
    /// `Total` of the queried metric (empty when grouping, as AWS sends it).
    pub total: Option<RawAmount>,
    pub groups: Vec<RawGroup>,
}

/// One page of GetCostAndUsage.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct CostPage {
    pub periods: Vec<RawPeriod>,
    pub next_page_token: Option<String>,
}

/// One GetSavingsPlansPurchaseRecommendation request (one page), for compute savings plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SavingsPlansQuery {
    /// `ONE_YEAR` or `THREE_YEARS`.
    pub term: &'static str,
    /// `NO_UPFRONT`, `PARTIAL_UPFRONT` or `ALL_UPFRONT`.
    pub payment_option: &'static str,
    /// `SEVEN_DAYS`, `THIRTY_DAYS` or `SIXTY_DAYS`.
    pub lookback: &'static str,
    pub next_page_token: Option<String>,
}

/// One recommended purchase, its amounts as the decimal text AWS sends.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RawSavingsPlan {
    pub account_id: Option<String>,
    pub currency_code: Option<String>,
    pub hourly_commitment_to_purchase: Option<String>,
    pub estimated_monthly_savings_amount: Option<String>,
    pub estimated_savings_percentage: Option<String>,
    pub estimated_average_utilization: Option<String>,
    pub current_average_hourly_on_demand_spend: Option<String>,
    pub current_minimum_hourly_on_demand_spend: Option<String>,
    pub upfront_cost: Option<String>,
}

/// One page of GetSavingsPlansPurchaseRecommendation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SavingsPlansPage {
    pub details: Vec<RawSavingsPlan>,
    pub next_page_token: Option<String>,
}

/// The Cost Explorer calls.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub(crate) trait CostExplorerApi: Send + Sync + Debug + 'static {
    /// One page of GetCostAndUsage.
    async fn cost_and_usage(&self, query: &CostQuery) -> Result<CostPage>;

    /// One page of GetSavingsPlansPurchaseRecommendation.
    async fn savings_plans_purchase_recommendation(&self, query: &SavingsPlansQuery) -> Result<SavingsPlansPage>;
}

/// One instance type as DescribeInstanceTypes reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RawInstanceType {
    pub instance_type: String,
    pub vcpus: Option<i32>,
    pub memory_mib: Option<i64>,
    pub architectures: Vec<String>,
    /// `(count, manufacturer name)` per GPU device.
    pub gpus: Vec<(i32, String)>,
    pub current_generation: Option<bool>,
}

/// One page of DescribeInstanceTypes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct InstanceTypesPage {
    pub instance_types: Vec<RawInstanceType>,
    pub next_token: Option<String>,
}

/// One DescribeSpotPriceHistory request (one page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpotQuery {
    /// The availability zone (`us-east-1a`).
    pub availability_zone: String,
    /// The instance types; empty: every type.
    pub instance_types: Vec<String>,
    /// `Linux/UNIX`.
    pub product_description: &'static str,
    /// Prices in effect from this time on: "now" asks for the current price of each type.
    pub start_time: Timestamp,
    pub next_token: Option<String>,
}

/// One spot price record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RawSpotPrice {
    pub instance_type: String,
    pub availability_zone: String,
    pub product_description: String,
    pub spot_price: String,
    pub timestamp: Option<Timestamp>,
}

/// One page of DescribeSpotPriceHistory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SpotPage {
    pub prices: Vec<RawSpotPrice>,
    pub next_token: Option<String>,
}

/// The EC2 calls.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub(crate) trait Ec2Api: Send + Sync + Debug + 'static {
    /// One page of DescribeInstanceTypes for `instance_types` (empty: every type).
    async fn describe_instance_types(
        &self,
        instance_types: &[String],
        next_token: Option<String>,
    ) -> Result<InstanceTypesPage>;

    /// One page of DescribeSpotPriceHistory.
    async fn describe_spot_price_history(&self, query: &SpotQuery) -> Result<SpotPage>;
}
