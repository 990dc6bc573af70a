//! The [`CostAnalyzer`] trait: what a cluster costs, who uses it, and how to pay less.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::error::Result;
use crate::model::{ClusterId, CostReport, Money, Recommendation, TimeWindow};

/// What a cost analyzer can do.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CostCapabilities {
    /// Where costs come from (`sim price table`, `AWS Cost Explorer`, …).
    pub billing_source: &'static str,
    /// Allocation to workloads.
    pub allocation: bool,
    /// Recommendation kinds produced (`idle`, `right_size`, `commitment`, `spot`).
    pub recommendation_kinds: Vec<&'static str>,
}

/// Options for [`CostAnalyzer::recommend`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecommendOptions {
    /// Leave out recommendations saving less than this per month.
    pub min_monthly_savings: Option<Money>,
    /// Only these kinds (empty: all).
    pub kinds: Vec<&'static str>,
}

/// Cost of clusters on one cloud.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait CostAnalyzer: Send + Sync + Debug + 'static {
    /// Short provider name used in errors.
    fn provider(&self) -> &'static str;

    /// What this analyzer supports.
    fn capabilities(&self) -> CostCapabilities;

    /// The cluster's cost over `window`, allocated to workloads, with idle and shared costs.
    ///
    /// # Errors
    /// [`crate::Error::InvalidSpec`] (field `window`) for an empty window; [`crate::Error::NotFound`];
    /// provider errors.
    async fn cost(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<CostReport>;

    /// Recommendations (idle, right-size, commitment, spot), highest estimated savings first.
    ///
    /// # Errors
    /// As [`CostAnalyzer::cost`].
    async fn recommend(
        &self,
        cluster: &ClusterId,
        window: &TimeWindow,
        options: &RecommendOptions,
    ) -> Result<Vec<Recommendation>>;
}
