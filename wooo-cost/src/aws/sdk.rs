//! The seam over the AWS SDKs (aws-sdk-costexplorer, aws-sdk-ec2): [`CostExplorerApi`] and [`Ec2Api`] for real,
//! and the loading of the AWS configuration both share.

use std::error::Error as StdError;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_costexplorer::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_costexplorer::types as ce;
use aws_sdk_ec2::types as ec2;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use jiff::Timestamp;
use wooo_core::Result;

use super::api::{
    CostExplorerApi, CostPage, CostQuery, Ec2Api, InstanceTypesPage, RawAmount, RawGroup, RawInstanceType, RawPeriod,
    RawSavingsPlan, RawSpotPrice, SavingsPlansPage, SavingsPlansQuery, SpotPage, SpotQuery,
};
use super::error::{Failure, classify};

/// The only region Cost Explorer is served from; used when the configuration names none.
const COST_EXPLORER_REGION: &str = "us-east-1";

/// Where the AWS configuration comes from, and what the builder overrides in it.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigSource {
    pub sdk: Option<SdkConfig>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub credentials: Option<(String, String)>,
}

/// The HTTPS client of every AWS call: hyper with rustls on ring, the crypto kube-rs already uses.
fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .build_https()
}

impl ConfigSource {
    /// The configuration: the given [`SdkConfig`], or aws-config's default chain, with the overrides applied.
    pub(crate) async fn load(self) -> SdkConfig {
        let credentials = self
            .credentials
            .map(|(key, secret)| SharedCredentialsProvider::new(Credentials::new(key, secret, None, None, "wooo")));
        match self.sdk {
            Some(sdk) => {
                let mut builder = sdk.to_builder();
                if sdk.http_client().is_none() {
                    builder.set_http_client(Some(https_client()));
                }
                if let Some(region) = self.region {
                    builder.set_region(Some(Region::new(region)));
                }
                if let Some(url) = self.endpoint_url {
                    builder.set_endpoint_url(Some(url));
                }
                if let Some(credentials) = credentials {
                    builder.set_credentials_provider(Some(credentials));
                }
                builder.build()
            }
            None => {
                let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(https_client());
                if let Some(region) = self.region {
                    loader = loader.region(Region::new(region));
                }
                if let Some(url) = self.endpoint_url {
                    loader = loader.endpoint_url(url);
                }
                if let Some(credentials) = credentials {
                    loader = loader.credentials_provider(credentials);
                }
                loader.load().await
            }
        }
    }
}

/// Turns a failed SDK call into wooo's error, keeping the SDK error as the source.
fn sdk_error<E>(err: SdkError<E, HttpResponse>, what: &str, field: &str) -> wooo_core::Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let chain = DisplayErrorContext(&err).to_string();
    let about_credentials = {
        let lower = chain.to_ascii_lowercase();
        lower.contains("credential") || lower.contains("resolve identity")
    };
    let failure = match &err {
        SdkError::ServiceError(context) => {
            let raw = context.raw();
            Failure::Service {
                code: err.code().map(str::to_string),
                status: raw.status().as_u16(),
                message: err.message().map(str::to_string),
                retry_after: raw
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.trim().parse().ok())
                    .map(Duration::from_secs),
            }
        }
        SdkError::ResponseError(context) => Failure::Service {
            code: None,
            status: context.raw().status().as_u16(),
            message: Some(chain),
            retry_after: None,
        },
        SdkError::ConstructionFailure(_) if about_credentials => Failure::Credentials { message: chain },
        SdkError::ConstructionFailure(_) => Failure::Construction { message: chain },
        SdkError::DispatchFailure(_) if about_credentials => Failure::Credentials { message: chain },
        _ => Failure::NoResponse { message: chain },
    };
    classify(failure, what, field, Some(Box::new(err)))
}

/// [`CostExplorerApi`] over aws-sdk-costexplorer.
#[derive(Debug, Clone)]
pub(crate) struct SdkCostExplorer {
    client: aws_sdk_costexplorer::Client,
}

impl SdkCostExplorer {
    pub(crate) fn new(sdk: &SdkConfig) -> Self {
        let mut config = aws_sdk_costexplorer::config::Builder::from(sdk);
        if sdk.region().is_none() {
            config.set_region(Some(Region::new(COST_EXPLORER_REGION)));
        }
        Self { client: aws_sdk_costexplorer::Client::from_conf(config.build()) }
    }
}

fn raw_amount(value: Option<&ce::MetricValue>) -> Option<RawAmount> {
    value.map(|v| RawAmount {
        amount: v.amount().unwrap_or_default().to_string(),
        unit: v.unit().unwrap_or_default().to_string(),
    })
}

#[async_trait]
impl CostExplorerApi for SdkCostExplorer {
    async fn cost_and_usage(&self, query: &CostQuery) -> Result<CostPage> {
        let what = format!("get cost and usage of `{}={}`", query.filter_tag_key, query.filter_tag_value);
        let period = ce::DateInterval::builder()
            .start(query.start.to_string())
            .end(query.end.to_string())
            .build()
            .map_err(|e| wooo_core::Error::invalid_spec("window", format!("{what}: {e}")))?;
        let filter = ce::Expression::builder()
            .tags(
                ce::TagValues::builder()
                    .key(&query.filter_tag_key)
                    .values(&query.filter_tag_value)
                    .match_options(ce::MatchOption::Equals)
                    .build(),
            )
            .build();
        let group = ce::GroupDefinition::builder()
            .r#type(ce::GroupDefinitionType::from(query.group_by.0))
            .key(&query.group_by.1)
            .build();
        let out = self
            .client
            .get_cost_and_usage()
            .time_period(period)
            .granularity(ce::Granularity::from(query.granularity))
            .metrics(query.metric)
            .filter(filter)
            .group_by(group)
            .set_next_page_token(query.next_page_token.clone())
            .send()
            .await
            .map_err(|e| sdk_error(e, &what, "window"))?;
        let metric = query.metric;
        let periods = out
            .results_by_time()
            .iter()
            .map(|r| RawPeriod {
                start: r.time_period().map(|p| p.start().to_string()).unwrap_or_default(),
                end: r.time_period().map(|p| p.end().to_string()).unwrap_or_default(),
                estimated: r.estimated(),
                total: raw_amount(r.total().and_then(|t| t.get(metric))),
                groups: r
                    .groups()
                    .iter()
                    .map(|g| RawGroup {
                        keys: g.keys().to_vec(),
                        amount: raw_amount(g.metrics().and_then(|m| m.get(metric))),
                    })
                    .collect(),
            })
            .collect();
        Ok(CostPage { periods, next_page_token: out.next_page_token().map(str::to_string) })
    }

    async fn savings_plans_purchase_recommendation(&self, query: &SavingsPlansQuery) -> Result<SavingsPlansPage> {
        let what = "get savings plans purchase recommendation";
        let out = self
            .client
            .get_savings_plans_purchase_recommendation()
            .savings_plans_type(ce::SupportedSavingsPlansType::ComputeSp)
            .term_in_years(ce::TermInYears::from(query.term))
            .payment_option(ce::PaymentOption::from(query.payment_option))
            .lookback_period_in_days(ce::LookbackPeriodInDays::from(query.lookback))
            .set_next_page_token(query.next_page_token.clone())
            .send()
            .await
            .map_err(|e| sdk_error(e, what, "savings_plans"))?;
        let details = out
            .savings_plans_purchase_recommendation()
            .map(|r| r.savings_plans_purchase_recommendation_details())
            .unwrap_or_default()
            .iter()
            .map(|d| RawSavingsPlan {
                account_id: d.account_id().map(str::to_string),
                currency_code: d.currency_code().map(str::to_string),
                hourly_commitment_to_purchase: d.hourly_commitment_to_purchase().map(str::to_string),
                estimated_monthly_savings_amount: d.estimated_monthly_savings_amount().map(str::to_string),
                estimated_savings_percentage: d.estimated_savings_percentage().map(str::to_string),
                estimated_average_utilization: d.estimated_average_utilization().map(str::to_string),
                current_average_hourly_on_demand_spend: d.current_average_hourly_on_demand_spend().map(str::to_string),
                current_minimum_hourly_on_demand_spend: d.current_minimum_hourly_on_demand_spend().map(str::to_string),
                upfront_cost: d.upfront_cost().map(str::to_string),
            })
            .collect();
        Ok(SavingsPlansPage { details, next_page_token: out.next_page_token().map(str::to_string) })
    }
}

/// [`Ec2Api`] over aws-sdk-ec2.
#[derive(Debug, Clone)]
pub(crate) struct SdkEc2 {
    client: aws_sdk_ec2::Client,
}

impl SdkEc2 {
    pub(crate) fn new(sdk: &SdkConfig) -> Self {
        Self { client: aws_sdk_ec2::Client::new(sdk) }
    }
}

fn timestamp(t: &aws_smithy_types::DateTime) -> Option<Timestamp> {
    Timestamp::new(t.secs(), i32::try_from(t.subsec_nanos()).ok()?).ok()
}

fn date_time(t: Timestamp) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs_and_nanos(t.as_second(), t.subsec_nanosecond().unsigned_abs())
}

#[async_trait]
impl Ec2Api for SdkEc2 {
    async fn describe_instance_types(
        &self,
        instance_types: &[String],
        next_token: Option<String>,
    ) -> Result<InstanceTypesPage> {
        let what = "describe instance types";
        let types = (!instance_types.is_empty())
            .then(|| instance_types.iter().map(|t| ec2::InstanceType::from(t.as_str())).collect());
        let out = self
            .client
            .describe_instance_types()
            .set_instance_types(types)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| sdk_error(e, what, "instance_types"))?;
        let instance_types = out
            .instance_types()
            .iter()
            .map(|info| RawInstanceType {
                instance_type: info.instance_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
                vcpus: info.v_cpu_info().and_then(|v| v.default_v_cpus()),
                memory_mib: info.memory_info().and_then(|m| m.size_in_mib()),
                architectures: info
                    .processor_info()
                    .map(|p| p.supported_architectures().iter().map(|a| a.as_str().to_string()).collect())
                    .unwrap_or_default(),
                gpus: info
                    .gpu_info()
                    .map(|g| {
                        g.gpus()
                            .iter()
                            .map(|d| (d.count().unwrap_or(0), d.manufacturer().unwrap_or_default().to_string()))
                            .collect()
                    })
                    .unwrap_or_default(),
                current_generation: info.current_generation(),
            })
            .collect();
        Ok(InstanceTypesPage { instance_types, next_token: out.next_token().map(str::to_string) })
    }

    async fn describe_spot_price_history(&self, query: &SpotQuery) -> Result<SpotPage> {
        let what = format!("describe spot price history in `{}`", query.availability_zone);
        let types = (!query.instance_types.is_empty())
            .then(|| query.instance_types.iter().map(|t| ec2::InstanceType::from(t.as_str())).collect());
        let out = self
            .client
            .describe_spot_price_history()
            // The filter rather than the `AvailabilityZone` parameter: both work on AWS, moto reads only the filter.
            .filters(ec2::Filter::builder().name("availability-zone").values(&query.availability_zone).build())
            .set_instance_types(types)
            .product_descriptions(query.product_description)
            .start_time(date_time(query.start_time))
            .set_next_token(query.next_token.clone())
            .send()
            .await
            .map_err(|e| sdk_error(e, &what, "availability_zone"))?;
        let prices = out
            .spot_price_history()
            .iter()
            .map(|p| RawSpotPrice {
                instance_type: p.instance_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
                availability_zone: p.availability_zone().unwrap_or_default().to_string(),
                product_description: p.product_description().map(|d| d.as_str().to_string()).unwrap_or_default(),
                spot_price: p.spot_price().unwrap_or_default().to_string(),
                timestamp: p.timestamp().and_then(timestamp),
            })
            .collect();
        Ok(SpotPage { prices, next_token: out.next_token().map(str::to_string) })
    }
}
