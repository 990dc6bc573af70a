//! [`CostExplorer`]: what a cluster was billed, from AWS Cost Explorer, and the Savings Plans AWS recommends.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use aws_config::SdkConfig;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use wooo_core::model::{
    ClusterId, Confidence, Currency, Evidence, HourlyRate, Money, MonthlyRate, Recommendation, RecommendedAction,
    TimeWindow,
};
use wooo_core::{Error, Result, validate};

use super::api::{CostExplorerApi, CostQuery, RawAmount, RawSavingsPlan, SavingsPlansQuery};
use super::error::PROVIDER;
use super::sdk::{ConfigSource, SdkCostExplorer};

/// The cost allocation tag EKS puts on the resources of a cluster (its value is the cluster's name), the default
/// of [`CostExplorerBuilder::cost_allocation_tag`]. It must be activated as a cost allocation tag in the billing
/// console before Cost Explorer can filter by it.
pub const DEFAULT_CLUSTER_TAG: &str = "eks:cluster-name";

/// The time resolution of a [`CostBreakdown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Granularity {
    /// One period per UTC day.
    #[default]
    Daily,
    /// One period per calendar month (the first and last are cut to the window).
    Monthly,
}

impl Granularity {
    /// Cost Explorer's name for it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Granularity::Daily => "DAILY",
            Granularity::Monthly => "MONTHLY",
        }
    }
}

/// Which cost Cost Explorer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CostMetric {
    /// What was charged when it was used (`UnblendedCost`): upfront fees on the day they were paid.
    #[default]
    Unblended,
    /// Upfront and recurring commitment fees spread over the commitment's term (`AmortizedCost`).
    Amortized,
    /// Amortized, after discounts (`NetAmortizedCost`).
    NetAmortized,
}

impl CostMetric {
    /// Cost Explorer's name for it.
    pub const fn as_str(self) -> &'static str {
        match self {
            CostMetric::Unblended => "UnblendedCost",
            CostMetric::Amortized => "AmortizedCost",
            CostMetric::NetAmortized => "NetAmortizedCost",
        }
    }
}

/// What a [`CostBreakdown`]'s groups are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupBy {
    /// AWS services (`Amazon Elastic Compute Cloud - Compute`, `Amazon Elastic Container Service for
    /// Kubernetes`, …).
    Service,
    /// The values of a cost allocation tag (`kubernetes.io/namespace`, …); the group of resources without the tag
    /// is the empty string.
    Tag(String),
}

impl GroupBy {
    fn as_query(&self) -> (&'static str, String) {
        match self {
            GroupBy::Service => ("DIMENSION", "SERVICE".to_string()),
            GroupBy::Tag(key) => ("TAG", key.clone()),
        }
    }

    /// The group name in a Cost Explorer group key: a tag group's key is `<tag key>$<value>`.
    fn group_name(&self, key: &str) -> String {
        match self {
            GroupBy::Service => key.to_string(),
            GroupBy::Tag(tag) => {
                key.strip_prefix(tag.as_str()).and_then(|k| k.strip_prefix('$')).unwrap_or(key).to_string()
            }
        }
    }
}

/// One period of a [`CostBreakdown`].
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodCost {
    /// First day, UTC (inclusive).
    pub start: Date,
    /// Last day, UTC (exclusive).
    pub end: Date,
    /// Whether AWS marks the amounts as estimated (the period is not closed yet).
    pub estimated: bool,
    /// Cost per group.
    pub groups: BTreeMap<String, Money>,
    /// The period's cost: the sum of its groups, exactly (or AWS's total when it sent no groups).
    pub total: Money,
}

/// What a cluster cost over whole UTC days, per period and group, as Cost Explorer billed it.
///
/// Every amount is AWS's decimal text parsed exactly into [`Money`] (nine decimals: text with more is rounded once
/// per amount, halves away from zero), and every total is the exact sum of those amounts.
#[derive(Debug, Clone, PartialEq)]
pub struct CostBreakdown {
    /// The cluster (the value the cost allocation tag had to have).
    pub cluster: ClusterId,
    /// First day billed, UTC (inclusive).
    pub start: Date,
    /// Last day billed, UTC (exclusive).
    pub end: Date,
    /// The period length.
    pub granularity: Granularity,
    /// The cost reported.
    pub metric: CostMetric,
    /// What the groups are.
    pub group_by: GroupBy,
    /// The currency of every amount (USD when AWS sent no amount at all).
    pub currency: Currency,
    /// The periods, in time order.
    pub periods: Vec<PeriodCost>,
    /// The sum of every period.
    pub total: Money,
}

impl CostBreakdown {
    /// The cost per group over every period.
    pub fn by_group(&self) -> BTreeMap<String, Money> {
        let mut out: BTreeMap<String, Money> = BTreeMap::new();
        for (key, amount) in self.periods.iter().flat_map(|p| &p.groups) {
            let entry = out.entry(key.clone()).or_insert(Money::zero(self.currency));
            // One currency, checked while parsing.
            *entry += *amount;
        }
        out
    }

    /// The cost of one group over every period (zero when it has none).
    pub fn group(&self, key: &str) -> Money {
        self.by_group().get(key).copied().unwrap_or(Money::zero(self.currency))
    }

    /// The window billed: `start` to `end` at midnight UTC.
    pub fn window(&self) -> TimeWindow {
        TimeWindow::new(midnight(self.start), midnight(self.end))
    }
}

fn midnight(date: Date) -> jiff::Timestamp {
    date.to_zoned(TimeZone::UTC).map(|z| z.timestamp()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// Why Cost Explorer's answer cannot be read into money. Reported as a [`wooo_core::Error::Provider`] (provider
/// [`PROVIDER`]) with this error as its [`source`](std::error::Error::source).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CostDataError {
    /// Two amounts of one answer are in different currencies: they cannot be added up.
    #[error("amounts in {expected} and {found} (period starting {period}): cannot add them up")]
    CurrencyMismatch {
        /// The currency of the first amount.
        expected: Currency,
        /// The currency of the amount that differs.
        found: Currency,
        /// The period of that amount.
        period: String,
    },
    /// An amount is not decimal text.
    #[error("amount `{amount}` (period starting {period}) is not a decimal number")]
    BadAmount {
        /// The text.
        amount: String,
        /// Its period.
        period: String,
    },
    /// An amount's unit is not a currency code.
    #[error("unit `{unit}` (period starting {period}) is not a currency code")]
    BadUnit {
        /// The unit.
        unit: String,
        /// Its period.
        period: String,
    },
    /// A period's dates are not `YYYY-MM-DD`.
    #[error("period `{start}` to `{end}` is not a pair of dates")]
    BadPeriod {
        /// `TimePeriod.Start`.
        start: String,
        /// `TimePeriod.End`.
        end: String,
    },
    /// AWS sent the same page token twice: following it would never end.
    #[error("the page token `{0}` came back twice")]
    PageLoop(String),
}

impl From<CostDataError> for Error {
    fn from(err: CostDataError) -> Self {
        Error::Provider {
            provider: PROVIDER,
            message: format!("Cost Explorer answer: {err}"),
            source: Some(Box::new(err)),
        }
    }
}

/// The term of a savings plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SavingsPlanTerm {
    /// One year.
    #[default]
    OneYear,
    /// Three years.
    ThreeYears,
}

impl SavingsPlanTerm {
    const fn as_str(self) -> &'static str {
        match self {
            SavingsPlanTerm::OneYear => "ONE_YEAR",
            SavingsPlanTerm::ThreeYears => "THREE_YEARS",
        }
    }

    /// The term in years.
    pub const fn years(self) -> u32 {
        match self {
            SavingsPlanTerm::OneYear => 1,
            SavingsPlanTerm::ThreeYears => 3,
        }
    }
}

/// How a savings plan is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PaymentOption {
    /// Every hour, nothing upfront.
    #[default]
    NoUpfront,
    /// Part upfront, the rest hourly.
    PartialUpfront,
    /// Everything upfront.
    AllUpfront,
}

impl PaymentOption {
    const fn as_str(self) -> &'static str {
        match self {
            PaymentOption::NoUpfront => "NO_UPFRONT",
            PaymentOption::PartialUpfront => "PARTIAL_UPFRONT",
            PaymentOption::AllUpfront => "ALL_UPFRONT",
        }
    }

    const fn words(self) -> &'static str {
        match self {
            PaymentOption::NoUpfront => "no upfront",
            PaymentOption::PartialUpfront => "partial upfront",
            PaymentOption::AllUpfront => "all upfront",
        }
    }
}

/// How much usage history AWS bases a recommendation on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lookback {
    /// The last 7 days.
    SevenDays,
    /// The last 30 days.
    #[default]
    ThirtyDays,
    /// The last 60 days.
    SixtyDays,
}

impl Lookback {
    const fn as_str(self) -> &'static str {
        match self {
            Lookback::SevenDays => "SEVEN_DAYS",
            Lookback::ThirtyDays => "THIRTY_DAYS",
            Lookback::SixtyDays => "SIXTY_DAYS",
        }
    }

    /// The number of days.
    pub const fn days(self) -> u32 {
        match self {
            Lookback::SevenDays => 7,
            Lookback::ThirtyDays => 30,
            Lookback::SixtyDays => 60,
        }
    }
}

/// What Savings Plans to ask AWS about ([`CostExplorer::savings_plans_recommendations`]). Always compute savings
/// plans (`COMPUTE_SP`), the kind that covers EKS nodes of any instance family, region and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SavingsPlansOptions {
    /// Term (default one year).
    pub term: SavingsPlanTerm,
    /// Payment (default no upfront).
    pub payment_option: PaymentOption,
    /// History (default 30 days).
    pub lookback: Lookback,
}

/// Confidence of a commitment, as the engine rates its own (see [`crate::engine::recommend`]): base 0.3, half of
/// the rest earned by 7 days of history, lowered by the spend's variation.
const COMMITMENT_BASE_CONFIDENCE: f64 = 0.3;
const COMMITMENT_HALF_CONFIDENCE_DAYS: f64 = 7.0;

/// AWS Cost Explorer, read for one cluster's cost and the account's Savings Plans recommendations.
///
/// ```no_run
/// # async fn run() -> wooo_core::Result<()> {
/// use jiff::Timestamp;
/// use wooo_core::model::{ClusterId, TimeWindow};
/// use wooo_cost::aws::{CostExplorer, Granularity, GroupBy};
///
/// let explorer = CostExplorer::from_env().build().await;
/// let window = TimeWindow::last_hours(Timestamp::now(), 24 * 7);
/// let week = explorer.cluster_cost(&ClusterId::new("prod"), &window, Granularity::Daily, GroupBy::Service).await?;
/// println!("{} over {} days", week.total, week.periods.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CostExplorer {
    api: Arc<dyn CostExplorerApi>,
    tag_key: String,
    metric: CostMetric,
}

/// Builds a [`CostExplorer`]: from [`CostExplorer::from_env`] or [`CostExplorer::with_sdk_config`].
#[derive(Debug, Clone)]
pub struct CostExplorerBuilder {
    source: ConfigSource,
    tag_key: String,
    metric: CostMetric,
}

impl CostExplorer {
    /// A builder reading the configuration the way every AWS SDK does (aws-config's default chain):
    ///
    /// - credentials: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, then the profile
    ///   (`AWS_PROFILE`, `~/.aws/credentials` and `~/.aws/config`, SSO and `credential_process` included), web
    ///   identity (`AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`: EKS pod identities), then the ECS and EC2
    ///   instance metadata endpoints;
    /// - region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's; Cost Explorer is served from `us-east-1`,
    ///   which is used when none is configured;
    /// - endpoint: `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_COST_EXPLORER`), e.g. a local test server.
    ///
    /// Requests go over HTTPS with rustls on ring.
    pub fn from_env() -> CostExplorerBuilder {
        CostExplorerBuilder::new(ConfigSource::default())
    }

    /// A builder using an [`SdkConfig`] the host program loaded (an HTTPS client is added when it has none).
    pub fn with_sdk_config(config: &SdkConfig) -> CostExplorerBuilder {
        CostExplorerBuilder::new(ConfigSource { sdk: Some(config.clone()), ..ConfigSource::default() })
    }

    #[cfg(test)]
    pub(crate) fn from_api(api: Arc<dyn CostExplorerApi>) -> Self {
        Self { api, tag_key: DEFAULT_CLUSTER_TAG.to_string(), metric: CostMetric::default() }
    }

    /// The cost allocation tag a cluster is filtered by.
    pub fn cost_allocation_tag(&self) -> &str {
        &self.tag_key
    }

    /// The cost reported.
    pub fn metric(&self) -> CostMetric {
        self.metric
    }

    /// What `cluster` cost over `window`: the resources whose cost allocation tag
    /// ([`CostExplorerBuilder::cost_allocation_tag`]) is the cluster's name, per period and per group. Cost
    /// Explorer works in whole UTC days, so the window is widened to them (the result's `start` and `end`). Every
    /// page is read.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] (field `window`) for an empty window; a [`CostDataError`] (as
    /// [`Error::Provider`]) when amounts are in two currencies or are not decimal text; the classified AWS errors
    /// (throttling, permissions, credentials, `DataUnavailableException`, …).
    pub async fn cluster_cost(
        &self,
        cluster: &ClusterId,
        window: &TimeWindow,
        granularity: Granularity,
        group_by: GroupBy,
    ) -> Result<CostBreakdown> {
        let (start, end) = utc_days(window)?;
        let mut query = CostQuery {
            start,
            end,
            granularity: granularity.as_str(),
            metric: self.metric.as_str(),
            filter_tag_key: self.tag_key.clone(),
            filter_tag_value: cluster.as_str().to_string(),
            group_by: group_by.as_query(),
            next_page_token: None,
        };
        let mut merger = Merger::new(&group_by);
        let mut seen = BTreeSet::new();
        loop {
            let page = self.api.cost_and_usage(&query).await?;
            for period in &page.periods {
                merger.add(period)?;
            }
            match next_page(page.next_page_token, &mut seen)? {
                Some(token) => query.next_page_token = Some(token),
                None => break,
            }
        }
        let (currency, periods) = merger.finish();
        let total = Money::checked_sum(periods.iter().map(|p| p.total), currency).map_err(money_error)?;
        Ok(CostBreakdown {
            cluster: cluster.clone(),
            start,
            end,
            granularity,
            metric: self.metric,
            group_by,
            currency,
            periods,
            total,
        })
    }

    /// The compute Savings Plans AWS recommends for the account (from its usage over the lookback, every page),
    /// as commitment [`Recommendation`]s, highest estimated monthly savings first. AWS rates the account as a
    /// whole: the recommendation is not limited to one cluster.
    ///
    /// Each recommended purchase is a [`RecommendedAction::Commitment`]: `hourly_commitment` is AWS's hourly
    /// commitment to purchase, `discount` its estimated savings percentage over 100, the savings its estimated
    /// monthly savings. Confidence is rated as the engine rates its own commitments: `0.3 + 0.7 × n / (n + 7) /
    /// (1 + cv)` with `n` the lookback in days and `cv` = (average − minimum) / average hourly on-demand spend.
    /// Purchases with no hourly commitment are left out.
    ///
    /// # Errors
    /// A [`CostDataError`] (as [`Error::Provider`]) for amounts that are not decimal text or not in one currency;
    /// the classified AWS errors.
    pub async fn savings_plans_recommendations(&self, options: &SavingsPlansOptions) -> Result<Vec<Recommendation>> {
        let mut query = SavingsPlansQuery {
            term: options.term.as_str(),
            payment_option: options.payment_option.as_str(),
            lookback: options.lookback.as_str(),
            next_page_token: None,
        };
        let mut out = Vec::new();
        let mut currency: Option<Currency> = None;
        let mut seen = BTreeSet::new();
        loop {
            let page = self.api.savings_plans_purchase_recommendation(&query).await?;
            for raw in &page.details {
                if let Some(rec) = savings_plan(raw, options, &mut currency)? {
                    out.push(rec);
                }
            }
            match next_page(page.next_page_token, &mut seen)? {
                Some(token) => query.next_page_token = Some(token),
                None => break,
            }
        }
        // One currency, checked above.
        crate::engine::order_recommendations(&mut out);
        Ok(out)
    }
}

impl CostExplorerBuilder {
    fn new(source: ConfigSource) -> Self {
        Self { source, tag_key: DEFAULT_CLUSTER_TAG.to_string(), metric: CostMetric::default() }
    }

    /// The cost allocation tag whose value is the cluster's name (default [`DEFAULT_CLUSTER_TAG`]), e.g.
    /// `wooo.dev/cluster` or `alpha:eks:cluster-name`.
    pub fn cost_allocation_tag(mut self, key: impl Into<String>) -> Self {
        self.tag_key = key.into();
        self
    }

    /// The cost reported (default [`CostMetric::Unblended`]).
    pub fn metric(mut self, metric: CostMetric) -> Self {
        self.metric = metric;
        self
    }

    /// Overrides the region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.source.region = Some(region.into());
        self
    }

    /// Overrides the endpoint (a local test server such as moto).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.source.endpoint_url = Some(url.into());
        self
    }

    /// Signs with these static keys instead of the configured credentials.
    pub fn static_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.source.credentials = Some((access_key_id.into(), secret_access_key.into()));
        self
    }

    /// Loads the configuration and builds the client. Credentials are resolved on the first call, so a missing
    /// or expired one is an [`Error::Unauthenticated`] from that call.
    pub async fn build(self) -> CostExplorer {
        let sdk = self.source.load().await;
        CostExplorer { api: Arc::new(SdkCostExplorer::new(&sdk)), tag_key: self.tag_key, metric: self.metric }
    }
}

/// The token of the next page, if any; a token seen before is a loop (AWS would serve the same pages forever).
fn next_page(token: Option<String>, seen: &mut BTreeSet<String>) -> Result<Option<String>> {
    match token.filter(|t| !t.is_empty()) {
        Some(token) if !seen.insert(token.clone()) => Err(CostDataError::PageLoop(token).into()),
        other => Ok(other),
    }
}

/// The whole UTC days covering `window`: from the day of its start to the day after its end (its end's day when
/// it ends at midnight).
/// The window Cost Explorer bills for `window`: widened to whole UTC days (`window` itself when it cannot be).
pub(crate) fn billed_days(window: &TimeWindow) -> TimeWindow {
    utc_days(window).map(|(start, end)| TimeWindow::new(midnight(start), midnight(end))).unwrap_or(*window)
}

fn utc_days(window: &TimeWindow) -> Result<(Date, Date)> {
    validate::time_window(window)?;
    let bad = |e: jiff::Error| Error::invalid_spec("window", format!("out of range: {e}"));
    let start = window.start.to_zoned(TimeZone::UTC).date();
    let end = window.end.to_zoned(TimeZone::UTC);
    let end = if end.time() == Time::midnight() { end.date() } else { end.date().tomorrow().map_err(bad)? };
    Ok((start, end))
}

fn money_error(e: wooo_core::model::MoneyError) -> Error {
    Error::Provider { provider: PROVIDER, message: format!("Cost Explorer answer: {e}"), source: Some(Box::new(e)) }
}

/// Reads amounts in one currency: the first amount's.
#[derive(Debug)]
struct CurrencyCheck<'a> {
    currency: &'a mut Option<Currency>,
}

impl CurrencyCheck<'_> {
    fn money(&mut self, raw: &RawAmount, period: &str) -> Result<Money, CostDataError> {
        let found: Currency = raw
            .unit
            .trim()
            .parse()
            .map_err(|_| CostDataError::BadUnit { unit: raw.unit.clone(), period: period.to_string() })?;
        let expected = *self.currency.get_or_insert(found);
        if expected != found {
            return Err(CostDataError::CurrencyMismatch { expected, found, period: period.to_string() });
        }
        decimal(&raw.amount, found, period)
    }
}

fn decimal(text: &str, currency: Currency, period: &str) -> Result<Money, CostDataError> {
    Money::from_decimal_str(text, currency)
        .map_err(|_| CostDataError::BadAmount { amount: text.to_string(), period: period.to_string() })
}

/// Merges pages into periods: a period whose groups are split over pages comes back once.
struct Merger<'a> {
    group_by: &'a GroupBy,
    currency: Option<Currency>,
    periods: BTreeMap<(Date, Date), Merged>,
}

/// A period as read so far: estimated on any page, its groups, and AWS's total when it sent no groups.
#[derive(Default)]
struct Merged {
    estimated: bool,
    groups: BTreeMap<String, Money>,
    aws_total: Option<Money>,
}

impl<'a> Merger<'a> {
    fn new(group_by: &'a GroupBy) -> Self {
        Self { group_by, currency: None, periods: BTreeMap::new() }
    }

    fn add(&mut self, raw: &super::api::RawPeriod) -> Result<(), CostDataError> {
        let bad = || CostDataError::BadPeriod { start: raw.start.clone(), end: raw.end.clone() };
        let start: Date = raw.start.parse().map_err(|_| bad())?;
        let end: Date = raw.end.parse().map_err(|_| bad())?;
        let mut check = CurrencyCheck { currency: &mut self.currency };
        let mut groups = Vec::new();
        for group in &raw.groups {
            let Some(amount) = &group.amount else { continue };
            let key = group.keys.iter().map(|k| self.group_by.group_name(k)).collect::<Vec<_>>().join(",");
            groups.push((key, check.money(amount, &raw.start)?));
        }
        let total = match (&raw.total, raw.groups.is_empty()) {
            (Some(total), true) => Some(check.money(total, &raw.start)?),
            _ => None,
        };
        let entry = self.periods.entry((start, end)).or_default();
        entry.estimated |= raw.estimated;
        for (key, amount) in groups {
            let slot = entry.groups.entry(key).or_insert(Money::zero(amount.currency()));
            // Same currency: checked above.
            *slot += amount;
        }
        if let Some(total) = total {
            entry.aws_total = Some(entry.aws_total.map_or(total, |t| t + total));
        }
        Ok(())
    }

    fn finish(self) -> (Currency, Vec<PeriodCost>) {
        let currency = self.currency.unwrap_or(Currency::USD);
        let periods = self
            .periods
            .into_iter()
            .map(|((start, end), Merged { estimated, groups, aws_total })| {
                let total = if groups.is_empty() {
                    aws_total.unwrap_or(Money::zero(currency))
                } else {
                    groups.values().fold(Money::zero(currency), |sum, m| sum + *m)
                };
                PeriodCost { start, end, estimated, groups, total }
            })
            .collect();
        (currency, periods)
    }
}

/// One recommended purchase as a commitment recommendation; `None` when it commits nothing.
fn savings_plan(
    raw: &RawSavingsPlan,
    options: &SavingsPlansOptions,
    currency: &mut Option<Currency>,
) -> Result<Option<Recommendation>, CostDataError> {
    let period = "the lookback";
    let unit = raw.currency_code.clone().unwrap_or_else(|| "USD".to_string());
    let mut check = CurrencyCheck { currency };
    let money = |check: &mut CurrencyCheck<'_>, text: &Option<String>| -> Result<Money, CostDataError> {
        check.money(&RawAmount { amount: text.clone().unwrap_or_else(|| "0".to_string()), unit: unit.clone() }, period)
    };
    let hourly = money(&mut check, &raw.hourly_commitment_to_purchase)?;
    if hourly.nanos() <= 0 {
        return Ok(None);
    }
    let monthly = money(&mut check, &raw.estimated_monthly_savings_amount)?;
    let average = money(&mut check, &raw.current_average_hourly_on_demand_spend)?;
    let minimum = money(&mut check, &raw.current_minimum_hourly_on_demand_spend)?;
    let upfront = money(&mut check, &raw.upfront_cost)?;
    let number = |text: &Option<String>| -> Result<f64, CostDataError> {
        let text = text.as_deref().unwrap_or("0");
        text.trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .ok_or_else(|| CostDataError::BadAmount { amount: text.to_string(), period: period.to_string() })
    };
    let percent = number(&raw.estimated_savings_percentage)?;
    let utilization = number(&raw.estimated_average_utilization)?;
    let days = f64::from(options.lookback.days());
    // A ratio of two amounts, for confidence only.
    let cv =
        if average.nanos() > 0 { ((average.as_f64() - minimum.as_f64()) / average.as_f64()).max(0.0) } else { 0.0 };
    let confidence = COMMITMENT_BASE_CONFIDENCE
        + (1.0 - COMMITMENT_BASE_CONFIDENCE) * days / (days + COMMITMENT_HALF_CONFIDENCE_DAYS) / (1.0 + cv);
    let years = options.term.years();
    let hourly_commitment = HourlyRate::new(hourly);
    let savings = MonthlyRate::new(monthly);
    let account = raw.account_id.as_deref().map(|a| format!(" (account {a})")).unwrap_or_default();
    Ok(Some(Recommendation {
        action: RecommendedAction::Commitment {
            hourly_commitment,
            term_years: years,
            discount: (percent / 100.0).clamp(0.0, 1.0),
        },
        estimated_monthly_savings: savings,
        confidence: Confidence::new(confidence),
        evidence: vec![
            Evidence::new("lookback_days", days, format!("AWS Cost Explorer, {days} days of usage")),
            Evidence::new(
                "average_hourly_on_demand",
                average.as_f64(),
                format!("average: {}", Rate4(HourlyRate::new(average))),
            ),
            Evidence::new(
                "minimum_hourly_on_demand",
                minimum.as_f64(),
                format!("minimum: {}", Rate4(HourlyRate::new(minimum))),
            ),
            Evidence::new(
                "estimated_savings_percentage",
                percent,
                format!("{percent}% below on-demand, AWS's estimate"),
            ),
            Evidence::new(
                "estimated_average_utilization",
                utilization,
                format!("{utilization}% of the commitment used, AWS's estimate"),
            ),
            Evidence::new("upfront_cost", upfront.as_f64(), format!("upfront: {upfront}")),
        ],
        summary: format!(
            "commit {years} year{} to {} of compute savings plan, {}{account}: AWS estimates {percent}% below \
             on-demand from {days} days of usage; saves {savings}",
            if years == 1 { "" } else { "s" },
            Rate4(hourly_commitment),
            options.payment_option.words(),
        ),
    }))
}

/// An hourly rate with four decimals, as the engine's summaries show them.
struct Rate4(HourlyRate);

impl fmt::Display for Rate4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/h", self.0.amount().to_fixed(4), self.0.amount().currency())
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use mockall::Sequence;
    use wooo_core::ErrorKind;

    use super::super::api::{CostPage, MockCostExplorerApi, RawGroup, RawPeriod, SavingsPlansPage};
    use super::*;

    fn usd(amount: &str) -> Option<RawAmount> {
        Some(RawAmount { amount: amount.into(), unit: "USD".into() })
    }

    fn group(key: &str, amount: &str) -> RawGroup {
        RawGroup { keys: vec![key.into()], amount: usd(amount) }
    }

    fn period(start: &str, end: &str, groups: Vec<RawGroup>) -> RawPeriod {
        RawPeriod { start: start.into(), end: end.into(), estimated: false, total: None, groups }
    }

    fn page(periods: Vec<RawPeriod>, next: Option<&str>) -> CostPage {
        CostPage { periods, next_page_token: next.map(str::to_string) }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn window() -> TimeWindow {
        TimeWindow::new(ts("2025-06-01T00:00:00Z"), ts("2025-06-04T00:00:00Z"))
    }

    fn explorer(mock: MockCostExplorerApi) -> CostExplorer {
        CostExplorer::from_api(Arc::new(mock))
    }

    const COMPUTE: &str = "Amazon Elastic Compute Cloud - Compute";
    const EKS: &str = "Amazon Elastic Container Service for Kubernetes";

    #[tokio::test]
    async fn every_page_is_read_and_totals_are_exact() {
        let mut mock = MockCostExplorerApi::new();
        let mut seq = Sequence::new();
        let pages = [
            (None, page(vec![period("2025-06-01", "2025-06-02", vec![group(COMPUTE, "0.1234567890")])], Some("p2"))),
            (
                Some("p2"),
                page(
                    vec![
                        // The same day again, its groups split over pages.
                        period("2025-06-01", "2025-06-02", vec![group(EKS, "2.4")]),
                        period("2025-06-02", "2025-06-03", vec![group(COMPUTE, "0.1234567890")]),
                    ],
                    Some("p3"),
                ),
            ),
            (
                Some("p3"),
                page(
                    vec![period("2025-06-03", "2025-06-04", vec![group(COMPUTE, "0.1234567890"), group(EKS, "2.4")])],
                    None,
                ),
            ),
        ];
        for (token, answer) in pages {
            mock.expect_cost_and_usage()
                .withf(move |q| q.next_page_token.as_deref() == token)
                .times(1)
                .in_sequence(&mut seq)
                .return_once(move |_| Ok(answer));
        }
        let got = explorer(mock)
            .cluster_cost(&ClusterId::new("prod"), &window(), Granularity::Daily, GroupBy::Service)
            .await
            .unwrap();
        assert_eq!(got.periods.len(), 3);
        assert_eq!(got.currency, Currency::USD);
        // 3 × 0.123456789 + 2 × 2.4, to the nano-unit.
        assert_eq!(got.total, Money::from_nanos(3 * 123_456_789 + 4_800_000_000, Currency::USD));
        assert_eq!(got.group(COMPUTE), Money::from_nanos(370_370_367, Currency::USD));
        assert_eq!(got.group(EKS), Money::usd(48, 1));
        assert_eq!(got.periods[0].groups.len(), 2, "the first day merged over two pages");
        assert_eq!(got.periods[0].total, Money::from_nanos(2_523_456_789, Currency::USD));
        assert_eq!((got.start.to_string(), got.end.to_string()), ("2025-06-01".into(), "2025-06-04".into()));
        let sum: Money = got.periods.iter().map(|p| p.total).sum();
        assert_eq!(sum, got.total);
    }

    #[tokio::test]
    async fn decimals_sum_exactly_where_floats_would_not() {
        // Ten amounts of 0.1 sum to exactly 1 (as f64 they make 0.9999999999999999).
        let groups = (0..10).map(|i| group(&format!("svc{i}"), "0.1")).collect();
        let mut mock = MockCostExplorerApi::new();
        mock.expect_cost_and_usage()
            .return_once(move |_| Ok(page(vec![period("2025-06-01", "2025-06-02", groups)], None)));
        let got = explorer(mock)
            .cluster_cost(&ClusterId::new("prod"), &window(), Granularity::Daily, GroupBy::Service)
            .await
            .unwrap();
        assert_eq!(got.total, Money::usd(1, 0));
        assert_eq!(got.total.nanos(), 1_000_000_000);
    }

    #[tokio::test]
    async fn the_query_filters_by_the_cluster_tag_and_groups_as_asked() {
        let mut mock = MockCostExplorerApi::new();
        mock.expect_cost_and_usage()
            .withf(|q| {
                q.filter_tag_key == "wooo.dev/cluster"
                    && q.filter_tag_value == "prod"
                    && q.group_by == ("TAG", "kubernetes.io/namespace".to_string())
                    && q.metric == "AmortizedCost"
                    && q.granularity == "MONTHLY"
                    && q.start.to_string() == "2025-06-01"
                    // The window ends mid-day: widened to the whole day.
                    && q.end.to_string() == "2025-06-05"
            })
            .times(1)
            .return_once(|_| {
                Ok(page(
                    vec![period(
                        "2025-06-01",
                        "2025-06-05",
                        vec![
                            group("kubernetes.io/namespace$shop", "10.5"),
                            group("kubernetes.io/namespace$", "1.25"),
                            group("kubernetes.io/namespace$batch", "0.000000001"),
                        ],
                    )],
                    None,
                ))
            });
        let mut explorer = explorer(mock);
        explorer.tag_key = "wooo.dev/cluster".into();
        explorer.metric = CostMetric::Amortized;
        let w = TimeWindow::new(ts("2025-06-01T00:00:00Z"), ts("2025-06-04T12:00:00Z"));
        let tag = GroupBy::Tag("kubernetes.io/namespace".into());
        let got = explorer.cluster_cost(&ClusterId::new("prod"), &w, Granularity::Monthly, tag).await.unwrap();
        let by = got.by_group();
        assert_eq!(by.keys().collect::<Vec<_>>(), ["", "batch", "shop"], "tag values, untagged as the empty key");
        assert_eq!(by["shop"], Money::usd(105, 1));
        assert_eq!(by["batch"], Money::from_nanos(1, Currency::USD));
        assert_eq!(got.total, Money::from_nanos(11_750_000_001, Currency::USD));
        assert_eq!(got.window(), TimeWindow::new(ts("2025-06-01T00:00:00Z"), ts("2025-06-05T00:00:00Z")));
    }

    #[tokio::test]
    async fn amounts_in_two_currencies_are_a_typed_error() {
        let mut mock = MockCostExplorerApi::new();
        mock.expect_cost_and_usage().return_once(|_| {
            let eur =
                RawGroup { keys: vec![EKS.into()], amount: Some(RawAmount { amount: "1".into(), unit: "EUR".into() }) };
            Ok(page(vec![period("2025-06-01", "2025-06-02", vec![group(COMPUTE, "1"), eur])], None))
        });
        let err = explorer(mock)
            .cluster_cost(&ClusterId::new("prod"), &window(), Granularity::Daily, GroupBy::Service)
            .await
            .unwrap_err();
        assert_eq!((err.kind(), err.provider()), (ErrorKind::Provider, Some(PROVIDER)));
        let source = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<CostDataError>());
        assert_eq!(
            source,
            Some(&CostDataError::CurrencyMismatch {
                expected: Currency::USD,
                found: "EUR".parse().unwrap(),
                period: "2025-06-01".into()
            })
        );
    }

    #[tokio::test]
    async fn bad_amounts_units_and_looping_tokens_are_errors() {
        for (groups, expected) in [
            (vec![group(COMPUTE, "1,5")], "BadAmount"),
            (
                vec![RawGroup {
                    keys: vec![COMPUTE.into()],
                    amount: Some(RawAmount { amount: "1".into(), unit: "Hrs".into() }),
                }],
                "BadUnit",
            ),
        ] {
            let mut mock = MockCostExplorerApi::new();
            mock.expect_cost_and_usage()
                .return_once(move |_| Ok(page(vec![period("2025-06-01", "2025-06-02", groups)], None)));
            let err = explorer(mock)
                .cluster_cost(&ClusterId::new("prod"), &window(), Granularity::Daily, GroupBy::Service)
                .await
                .unwrap_err();
            let source = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<CostDataError>()).unwrap();
            assert!(format!("{source:?}").starts_with(expected), "{source:?}");
        }
        let mut mock = MockCostExplorerApi::new();
        mock.expect_cost_and_usage().times(2).returning(|_| Ok(page(vec![], Some("same"))));
        let err = explorer(mock)
            .cluster_cost(&ClusterId::new("prod"), &window(), Granularity::Daily, GroupBy::Service)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("came back twice"), "{err}");
    }

    #[tokio::test]
    async fn an_empty_window_is_refused_before_any_call_and_aws_errors_pass_through() {
        let explorer_none = explorer(MockCostExplorerApi::new());
        let t = ts("2025-06-01T00:00:00Z");
        let err = explorer_none
            .cluster_cost(&ClusterId::new("prod"), &TimeWindow::new(t, t), Granularity::Daily, GroupBy::Service)
            .await
            .unwrap_err();
        assert_eq!(err.violations()[0].field, "window");

        let mut mock = MockCostExplorerApi::new();
        mock.expect_cost_and_usage().return_once(|_| {
            Err(Error::Throttled { provider: PROVIDER, message: "slow down".into(), retry_after: None, source: None })
        });
        let err = explorer(mock)
            .cluster_cost(&ClusterId::new("prod"), &window(), Granularity::Daily, GroupBy::Service)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Throttled);
    }

    #[tokio::test]
    async fn no_groups_uses_the_aws_total() {
        let mut mock = MockCostExplorerApi::new();
        mock.expect_cost_and_usage().return_once(|_| {
            let mut p = period("2025-06-01", "2025-06-02", vec![]);
            p.total = usd("3.000000001");
            p.estimated = true;
            Ok(page(vec![p], None))
        });
        let got = explorer(mock)
            .cluster_cost(&ClusterId::new("prod"), &window(), Granularity::Daily, GroupBy::Service)
            .await
            .unwrap();
        assert_eq!(got.total, Money::from_nanos(3_000_000_001, Currency::USD));
        assert!(got.periods[0].estimated);
        assert!(got.by_group().is_empty());
    }

    fn plan(hourly: &str, monthly: &str, percent: &str, average: &str, minimum: &str) -> RawSavingsPlan {
        RawSavingsPlan {
            account_id: Some("123456789012".into()),
            currency_code: Some("USD".into()),
            hourly_commitment_to_purchase: Some(hourly.into()),
            estimated_monthly_savings_amount: Some(monthly.into()),
            estimated_savings_percentage: Some(percent.into()),
            estimated_average_utilization: Some("98.5".into()),
            current_average_hourly_on_demand_spend: Some(average.into()),
            current_minimum_hourly_on_demand_spend: Some(minimum.into()),
            upfront_cost: Some("0".into()),
        }
    }

    #[tokio::test]
    async fn savings_plans_become_commitments_over_every_page() {
        let mut mock = MockCostExplorerApi::new();
        let mut seq = Sequence::new();
        mock.expect_savings_plans_purchase_recommendation()
            .withf(|q| {
                q.term == "THREE_YEARS"
                    && q.payment_option == "PARTIAL_UPFRONT"
                    && q.lookback == "SIXTY_DAYS"
                    && q.next_page_token.is_none()
            })
            .times(1)
            .in_sequence(&mut seq)
            .return_once(|_| {
                Ok(SavingsPlansPage {
                    details: vec![plan("0.5", "100.25", "27.5", "1.0", "1.0"), plan("0", "0", "0", "0", "0")],
                    next_page_token: Some("next".into()),
                })
            });
        mock.expect_savings_plans_purchase_recommendation()
            .withf(|q| q.next_page_token.as_deref() == Some("next"))
            .times(1)
            .in_sequence(&mut seq)
            .return_once(|_| {
                Ok(SavingsPlansPage { details: vec![plan("1.2345", "300", "40", "2.0", "1.0")], next_page_token: None })
            });
        let options = SavingsPlansOptions {
            term: SavingsPlanTerm::ThreeYears,
            payment_option: PaymentOption::PartialUpfront,
            lookback: Lookback::SixtyDays,
        };
        let recs = explorer(mock).savings_plans_recommendations(&options).await.unwrap();
        assert_eq!(recs.len(), 2, "the purchase committing nothing is left out");
        let RecommendedAction::Commitment { hourly_commitment, term_years, discount } = &recs[0].action else {
            panic!("{:?}", recs[0].action)
        };
        assert_eq!((*hourly_commitment, *term_years, *discount), (HourlyRate::usd(12345, 4), 3, 0.4));
        assert_eq!(recs[0].estimated_monthly_savings, MonthlyRate::usd(300, 0));
        assert_eq!(recs[1].estimated_monthly_savings, MonthlyRate::usd(10025, 2));
        assert_eq!(recs[0].action.kind(), "commitment");
        // 60 days, steady spend: 0.3 + 0.7 × 60/67; spend from 1 to 2 (cv 0.5) lowers it.
        let steady = 0.3 + 0.7 * 60.0 / 67.0;
        assert!((recs[1].confidence.value() - steady).abs() < 1e-12, "{:?}", recs[1].confidence);
        assert!((recs[0].confidence.value() - (0.3 + 0.7 * 60.0 / 67.0 / 1.5)).abs() < 1e-12);
        assert!(recs[0].summary.contains("3 years") && recs[0].summary.contains("1.2345 USD/h"), "{}", recs[0].summary);
        assert!(recs[0].evidence.iter().any(|e| e.metric == "lookback_days" && e.value == 60.0));
    }

    #[tokio::test]
    async fn shorter_lookbacks_earn_less_confidence_and_currencies_must_agree() {
        let run = |lookback: Lookback| async move {
            let mut mock = MockCostExplorerApi::new();
            mock.expect_savings_plans_purchase_recommendation().return_once(|_| {
                Ok(SavingsPlansPage { details: vec![plan("1", "10", "20", "1", "1")], next_page_token: None })
            });
            let options = SavingsPlansOptions { lookback, ..Default::default() };
            explorer(mock).savings_plans_recommendations(&options).await.unwrap()[0].confidence.value()
        };
        let (seven, thirty) = (run(Lookback::SevenDays).await, run(Lookback::ThirtyDays).await);
        assert!((seven - 0.65).abs() < 1e-12, "{seven}");
        assert!(thirty > seven);

        let mut mock = MockCostExplorerApi::new();
        mock.expect_savings_plans_purchase_recommendation().return_once(|_| {
            let mut eur = plan("1", "10", "20", "1", "1");
            eur.currency_code = Some("EUR".into());
            Ok(SavingsPlansPage { details: vec![plan("1", "10", "20", "1", "1"), eur], next_page_token: None })
        });
        let err = explorer(mock).savings_plans_recommendations(&Default::default()).await.unwrap_err();
        let source = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<CostDataError>());
        assert!(matches!(source, Some(CostDataError::CurrencyMismatch { .. })), "{err}");
    }

    #[test]
    fn windows_widen_to_whole_utc_days() {
        let w = TimeWindow::new(ts("2025-06-01T23:30:00Z"), ts("2025-06-02T00:00:00Z"));
        let (s, e) = utc_days(&w).unwrap();
        assert_eq!((s.to_string(), e.to_string()), ("2025-06-01".into(), "2025-06-02".into()));
        let w = TimeWindow::new(ts("2025-06-01T00:00:00Z"), ts("2025-06-02T00:00:01Z"));
        assert_eq!(utc_days(&w).unwrap().1.to_string(), "2025-06-03");
    }
}
