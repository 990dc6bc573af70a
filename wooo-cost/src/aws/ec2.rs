//! [`Ec2Facts`]: EC2 instance type specs and live spot prices, cached, and [`live_price_table`], which lays
//! them over the repo's price catalogue.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use aws_config::SdkConfig;
use jiff::Timestamp;
use wooo_core::model::PriceTable;
use wooo_core::model::{Cpu, Currency, HourlyRate, Memory, Money};
use wooo_core::{Error, Result};

use super::api::{Ec2Api, RawInstanceType, RawSpotPrice, SpotQuery};
use super::error::PROVIDER;
use super::sdk::{ConfigSource, SdkEc2};
use crate::catalog::{Arch, CatalogError, Ec2Catalog};

/// The product description spot prices are read for.
pub const LINUX_PRODUCT: &str = "Linux/UNIX";
/// The other spelling of the same Linux price some endpoints (older accounts, moto) report.
const LINUX_VPC_PRODUCT: &str = "Linux/UNIX (Amazon VPC)";
/// DescribeInstanceTypes takes at most 100 instance types per request.
const TYPES_PER_REQUEST: usize = 100;

/// One instance type as EC2 describes it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceTypeFacts {
    /// Instance type, `m5.large`.
    pub instance_type: String,
    /// Default vCPUs.
    pub vcpu: u32,
    /// Memory.
    pub memory: Memory,
    /// Supported architectures as EC2 names them (`x86_64`, `arm64`, `i386`, `x86_64_mac`, …).
    pub architectures: Vec<String>,
    /// The architecture nodes run: `x86_64` when supported, else `arm64`; `None` for neither (Mac instances).
    pub arch: Option<Arch>,
    /// GPUs, all devices.
    pub gpus: u32,
    /// Whether it is a current-generation type, when EC2 says.
    pub current_generation: Option<bool>,
}

/// The latest Linux spot price of an instance type in an availability zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotPrice {
    /// Instance type.
    pub instance_type: String,
    /// Availability zone, `us-east-1a`.
    pub availability_zone: String,
    /// Price per hour, USD.
    pub price: HourlyRate,
    /// Since when it is in effect.
    pub timestamp: Timestamp,
}

#[derive(Debug, Default)]
struct Cache {
    types: BTreeMap<String, InstanceTypeFacts>,
    all_types: bool,
    zones: BTreeMap<String, ZoneCache>,
}

#[derive(Debug, Default)]
struct ZoneCache {
    asked: BTreeSet<String>,
    all: bool,
    prices: BTreeMap<String, SpotPrice>,
}

/// EC2 facts for cost analysis: instance type specs (DescribeInstanceTypes) and the current spot price per
/// availability zone (DescribeSpotPriceHistory), every page read.
///
/// Answers are cached for the life of the value (clones share the cache): asking again for types or a zone
/// already read makes no request. Specs do not change; spot prices do, slowly, so make a new value to refresh
/// them. Two concurrent calls for the same uncached data may both fetch it.
#[derive(Debug, Clone)]
pub struct Ec2Facts {
    api: Arc<dyn Ec2Api>,
    cache: Arc<Mutex<Cache>>,
}

/// Builds an [`Ec2Facts`]: from [`Ec2Facts::from_env`] or [`Ec2Facts::with_sdk_config`].
#[derive(Debug, Clone)]
pub struct Ec2FactsBuilder {
    source: ConfigSource,
}

impl Ec2Facts {
    /// A builder reading the configuration from the environment, as
    /// [`CostExplorer::from_env`](super::CostExplorer::from_env) documents (`AWS_REGION` picks the region the
    /// facts are for; `AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_EC2` the endpoint).
    pub fn from_env() -> Ec2FactsBuilder {
        Ec2FactsBuilder { source: ConfigSource::default() }
    }

    /// A builder using an [`SdkConfig`] the host program loaded (an HTTPS client is added when it has none).
    pub fn with_sdk_config(config: &SdkConfig) -> Ec2FactsBuilder {
        Ec2FactsBuilder { source: ConfigSource { sdk: Some(config.clone()), ..ConfigSource::default() } }
    }

    pub(crate) fn from_api(api: Arc<dyn Ec2Api>) -> Self {
        Self { api, cache: Arc::default() }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        // The cache holds only complete answers: a panic elsewhere cannot leave it half-written.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The specs of `instance_types`, in the order asked (duplicates once), or of every type the region offers
    /// when `instance_types` is empty (sorted by name).
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] (field `instance_types`) for a type EC2 does not know; [`Error::Provider`] when EC2
    /// describes a type without vCPUs or memory; the classified AWS errors.
    pub async fn instance_types(&self, instance_types: &[&str]) -> Result<Vec<InstanceTypeFacts>> {
        let (all, missing) = {
            let cache = self.cache();
            let missing: Vec<String> = if cache.all_types {
                Vec::new()
            } else {
                unique(instance_types).into_iter().filter(|t| !cache.types.contains_key(t)).collect()
            };
            (cache.all_types, missing)
        };
        if instance_types.is_empty() && !all {
            let fetched = self.fetch_types(&[]).await?;
            let mut cache = self.cache();
            cache.types.extend(fetched.into_iter().map(|f| (f.instance_type.clone(), f)));
            cache.all_types = true;
        } else if !missing.is_empty() {
            let mut fetched = Vec::new();
            for chunk in missing.chunks(TYPES_PER_REQUEST) {
                fetched.extend(self.fetch_types(chunk).await?);
            }
            self.cache().types.extend(fetched.into_iter().map(|f| (f.instance_type.clone(), f)));
        }
        let cache = self.cache();
        if instance_types.is_empty() {
            return Ok(cache.types.values().cloned().collect());
        }
        unique(instance_types)
            .into_iter()
            .map(|t| {
                cache.types.get(&t).cloned().ok_or_else(|| {
                    Error::invalid_spec("instance_types", format!("EC2 does not describe instance type `{t}`"))
                })
            })
            .collect()
    }

    async fn fetch_types(&self, instance_types: &[String]) -> Result<Vec<InstanceTypeFacts>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut seen = BTreeSet::new();
        loop {
            let page = self.api.describe_instance_types(instance_types, token.clone()).await?;
            for raw in page.instance_types {
                out.push(facts(raw)?);
            }
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(next) if seen.insert(next.clone()) => token = Some(next),
                Some(next) => return Err(page_loop("describe instance types", &next)),
                None => return Ok(out),
            }
        }
    }

    /// The current Linux/UNIX spot price in `availability_zone` of each of `instance_types` that has one (types
    /// without a spot offering there are left out), or of every type when `instance_types` is empty; sorted by
    /// type. Of a type's records, the latest wins.
    ///
    /// # Errors
    /// [`Error::Provider`] for a price that is not decimal text; the classified AWS errors.
    pub async fn spot_prices(&self, availability_zone: &str, instance_types: &[&str]) -> Result<Vec<SpotPrice>> {
        let wanted = unique(instance_types);
        let (all, missing) = {
            let cache = self.cache();
            match cache.zones.get(availability_zone) {
                Some(zone) if zone.all => (true, Vec::new()),
                Some(zone) => (false, wanted.iter().filter(|t| !zone.asked.contains(*t)).cloned().collect()),
                None => (false, wanted.clone()),
            }
        };
        if wanted.is_empty() && !all {
            let prices = self.fetch_spot(availability_zone, &[]).await?;
            let mut cache = self.cache();
            let zone = cache.zones.entry(availability_zone.to_string()).or_default();
            zone.prices.extend(prices);
            zone.all = true;
        } else if !missing.is_empty() {
            let mut prices = BTreeMap::new();
            for chunk in missing.chunks(TYPES_PER_REQUEST) {
                prices.extend(self.fetch_spot(availability_zone, chunk).await?);
            }
            let mut cache = self.cache();
            let zone = cache.zones.entry(availability_zone.to_string()).or_default();
            zone.prices.extend(prices);
            zone.asked.extend(missing);
        }
        let cache = self.cache();
        let Some(zone) = cache.zones.get(availability_zone) else { return Ok(Vec::new()) };
        if wanted.is_empty() {
            return Ok(zone.prices.values().cloned().collect());
        }
        let wanted: BTreeSet<String> = wanted.into_iter().collect();
        Ok(wanted.iter().filter_map(|t| zone.prices.get(t).cloned()).collect())
    }

    async fn fetch_spot(&self, zone: &str, instance_types: &[String]) -> Result<BTreeMap<String, SpotPrice>> {
        let mut query = SpotQuery {
            availability_zone: zone.to_string(),
            instance_types: instance_types.to_vec(),
            product_description: LINUX_PRODUCT,
            start_time: Timestamp::now(),
            next_token: None,
        };
        let mut records = Vec::new();
        let mut seen = BTreeSet::new();
        loop {
            let page = self.api.describe_spot_price_history(&query).await?;
            records.extend(page.prices);
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(next) if seen.insert(next.clone()) => query.next_token = Some(next),
                Some(next) => return Err(page_loop("describe spot price history", &next)),
                None => break,
            }
        }
        latest_per_type(zone, &records)
    }

    /// [`live_price_table`] of `region` over the facts of `instance_types` (empty: every type) and their spot
    /// prices in `availability_zones`, fetched (or taken from the cache) first.
    ///
    /// # Errors
    /// As [`Ec2Facts::instance_types`], [`Ec2Facts::spot_prices`] and [`live_price_table`].
    pub async fn price_table(
        &self,
        catalog: &Ec2Catalog,
        region: &str,
        availability_zones: &[&str],
        instance_types: &[&str],
    ) -> Result<PriceTable> {
        let facts = self.instance_types(instance_types).await?;
        let mut spot = Vec::new();
        for zone in availability_zones {
            spot.extend(self.spot_prices(zone, instance_types).await?);
        }
        Ok(live_price_table(catalog, region, &facts, &spot)?)
    }
}

impl Ec2FactsBuilder {
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

    /// Loads the configuration and builds the client.
    pub async fn build(self) -> Ec2Facts {
        let sdk = self.source.load().await;
        Ec2Facts::from_api(Arc::new(SdkEc2::new(&sdk)))
    }
}

/// The region's catalogue price table ([`Ec2Catalog::price_table`]) with live facts laid over it: an entry's
/// vCPUs and memory are EC2's when `facts` describes its type, and its spot price is the average of the live
/// spot prices of its type over the zones in `spot` when there are any (a node pool spreads over the zones; the
/// average is exact to the nano-unit). Entries without live data keep the catalogue's values (the Spot Instance
/// Advisor estimate for spot), and every entry keeps the advisor's interruption bucket.
///
/// # Errors
/// What [`Ec2Catalog::price_table`] returns (an unknown region).
pub fn live_price_table(
    catalog: &Ec2Catalog,
    region: &str,
    facts: &[InstanceTypeFacts],
    spot: &[SpotPrice],
) -> Result<PriceTable, CatalogError> {
    let base = catalog.price_table(region)?;
    let facts: BTreeMap<&str, &InstanceTypeFacts> = facts.iter().map(|f| (f.instance_type.as_str(), f)).collect();
    let mut live: BTreeMap<&str, Vec<Money>> = BTreeMap::new();
    let mut zones = BTreeSet::new();
    for p in spot {
        live.entry(p.instance_type.as_str()).or_default().push(p.price.amount());
        zones.insert(p.availability_zone.as_str());
    }
    let source = if zones.is_empty() {
        base.source.clone()
    } else {
        let zones = zones.into_iter().collect::<Vec<_>>().join(", ");
        format!(
            "{}; live EC2 specs and spot prices (Linux/UNIX, latest, averaged over {zones}) where known",
            base.source
        )
    };
    let mut table = PriceTable::new(base.region.clone(), base.control_plane, source);
    for entry in base.iter() {
        let mut entry = entry.clone();
        if let Some(f) = facts.get(entry.instance_type.as_str()) {
            entry.cpu = Cpu::from_cores(u64::from(f.vcpu));
            entry.memory = f.memory;
        }
        if let Some(prices) = live.get(entry.instance_type.as_str()) {
            let sum = prices.iter().fold(Money::zero(Currency::USD), |s, p| s + *p);
            entry.spot = Some(HourlyRate::new(sum.mul_ratio(1, prices.len() as i128)));
        }
        table.insert(entry);
    }
    Ok(table)
}

fn unique(types: &[&str]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    types.iter().filter(|t| seen.insert(**t)).map(|t| t.to_string()).collect()
}

fn page_loop(what: &str, token: &str) -> Error {
    Error::Provider {
        provider: PROVIDER,
        message: format!("{what}: the page token `{token}` came back twice"),
        source: None,
    }
}

fn facts(raw: RawInstanceType) -> Result<InstanceTypeFacts> {
    let bad = |what: &str| Error::Provider {
        provider: PROVIDER,
        message: format!("describe instance types: `{}` has no {what}", raw.instance_type),
        source: None,
    };
    let vcpu = raw.vcpus.and_then(|v| u32::try_from(v).ok()).filter(|v| *v > 0).ok_or_else(|| bad("vCPU count"))?;
    let mib =
        raw.memory_mib.and_then(|m| u64::try_from(m).ok()).filter(|m| *m > 0).ok_or_else(|| bad("memory size"))?;
    let has = |name: &str| raw.architectures.iter().any(|a| a == name);
    let arch = if has("x86_64") {
        Some(Arch::X86_64)
    } else if has("arm64") {
        Some(Arch::Arm64)
    } else {
        None
    };
    let gpus = raw.gpus.iter().map(|(count, _)| u32::try_from(*count).unwrap_or(0)).sum();
    Ok(InstanceTypeFacts {
        memory: Memory::from_mib(mib),
        vcpu,
        arch,
        gpus,
        current_generation: raw.current_generation,
        architectures: raw.architectures,
        instance_type: raw.instance_type,
    })
}

/// The latest Linux price of each type in `zone`: records of other zones or products are ignored; of records at
/// the same time, the first one read wins.
fn latest_per_type(zone: &str, records: &[RawSpotPrice]) -> Result<BTreeMap<String, SpotPrice>> {
    let mut out: BTreeMap<String, SpotPrice> = BTreeMap::new();
    for r in records {
        let linux = r.product_description == LINUX_PRODUCT || r.product_description == LINUX_VPC_PRODUCT;
        if !linux || r.availability_zone != zone || r.instance_type.is_empty() {
            continue;
        }
        let price = Money::from_decimal_str(&r.spot_price, Currency::USD).map_err(|e| Error::Provider {
            provider: PROVIDER,
            message: format!(
                "spot price of `{}` in `{zone}`: `{}` is not a decimal number",
                r.instance_type, r.spot_price
            ),
            source: Some(Box::new(e)),
        })?;
        let timestamp = r.timestamp.unwrap_or(Timestamp::MIN);
        let newer = out.get(&r.instance_type).is_none_or(|p| timestamp > p.timestamp);
        if newer {
            out.insert(
                r.instance_type.clone(),
                SpotPrice {
                    instance_type: r.instance_type.clone(),
                    availability_zone: zone.to_string(),
                    price: HourlyRate::new(price),
                    timestamp,
                },
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use mockall::Sequence;
    use wooo_core::ErrorKind;

    use super::super::api::{InstanceTypesPage, MockEc2Api, SpotPage};
    use super::*;

    fn raw(name: &str, vcpus: i32, mib: i64, arch: &[&str]) -> RawInstanceType {
        RawInstanceType {
            instance_type: name.into(),
            vcpus: Some(vcpus),
            memory_mib: Some(mib),
            architectures: arch.iter().map(|a| a.to_string()).collect(),
            gpus: Vec::new(),
            current_generation: Some(true),
        }
    }

    fn record(ty: &str, zone: &str, price: &str, at: &str) -> RawSpotPrice {
        RawSpotPrice {
            instance_type: ty.into(),
            availability_zone: zone.into(),
            product_description: LINUX_PRODUCT.into(),
            spot_price: price.into(),
            timestamp: Some(at.parse().unwrap()),
        }
    }

    #[tokio::test]
    async fn instance_types_follow_every_page_and_are_cached() {
        let mut mock = MockEc2Api::new();
        let mut seq = Sequence::new();
        mock.expect_describe_instance_types()
            .withf(|types, token| types == ["m5.large", "m6g.large", "p3.2xlarge"] && token.is_none())
            .times(1)
            .in_sequence(&mut seq)
            .return_once(|_, _| {
                Ok(InstanceTypesPage {
                    instance_types: vec![raw("m5.large", 2, 8192, &["x86_64"])],
                    next_token: Some("t2".into()),
                })
            });
        mock.expect_describe_instance_types()
            .withf(|_, token| token.as_deref() == Some("t2"))
            .times(1)
            .in_sequence(&mut seq)
            .return_once(|_, _| {
                let mut p3 = raw("p3.2xlarge", 8, 62464, &["x86_64"]);
                p3.gpus = vec![(1, "NVIDIA".into())];
                Ok(InstanceTypesPage {
                    instance_types: vec![raw("m6g.large", 2, 8192, &["arm64"]), p3],
                    next_token: None,
                })
            });
        let facts = Ec2Facts::from_api(Arc::new(mock));
        let got = facts.instance_types(&["m5.large", "m6g.large", "p3.2xlarge", "m5.large"]).await.unwrap();
        let names: Vec<&str> = got.iter().map(|f| f.instance_type.as_str()).collect();
        assert_eq!(names, ["m5.large", "m6g.large", "p3.2xlarge"]);
        assert_eq!((got[0].vcpu, got[0].memory, got[0].arch), (2, Memory::from_gib(8), Some(Arch::X86_64)));
        assert_eq!(got[1].arch, Some(Arch::Arm64));
        assert_eq!((got[2].gpus, got[2].memory), (1, Memory::from_mib(62464)));
        // Cached: the mock allows exactly the two calls above.
        let again = facts.instance_types(&["m6g.large", "m5.large"]).await.unwrap();
        assert_eq!(again[0], got[1]);
        let clone = facts.clone();
        assert_eq!(clone.instance_types(&["p3.2xlarge"]).await.unwrap()[0], got[2], "clones share the cache");
    }

    #[tokio::test]
    async fn only_missing_types_are_asked_and_all_types_once() {
        let mut mock = MockEc2Api::new();
        let mut seq = Sequence::new();
        mock.expect_describe_instance_types()
            .withf(|types, _| types == ["m5.large"])
            .times(1)
            .in_sequence(&mut seq)
            .return_once(|_, _| {
                Ok(InstanceTypesPage { instance_types: vec![raw("m5.large", 2, 8192, &["x86_64"])], next_token: None })
            });
        mock.expect_describe_instance_types()
            .withf(|types, _| types == ["c5.large"])
            .times(1)
            .in_sequence(&mut seq)
            .return_once(|_, _| {
                Ok(InstanceTypesPage { instance_types: vec![raw("c5.large", 2, 4096, &["x86_64"])], next_token: None })
            });
        mock.expect_describe_instance_types()
            .withf(|types, _| types.is_empty())
            .times(1)
            .in_sequence(&mut seq)
            .return_once(|_, _| {
                Ok(InstanceTypesPage {
                    instance_types: vec![raw("m5.large", 2, 8192, &["x86_64"]), raw("t3.micro", 2, 1024, &["x86_64"])],
                    next_token: None,
                })
            });
        let facts = Ec2Facts::from_api(Arc::new(mock));
        facts.instance_types(&["m5.large"]).await.unwrap();
        facts.instance_types(&["m5.large", "c5.large"]).await.unwrap();
        let all = facts.instance_types(&[]).await.unwrap();
        assert_eq!(
            all.iter().map(|f| f.instance_type.as_str()).collect::<Vec<_>>(),
            ["c5.large", "m5.large", "t3.micro"]
        );
        // Everything is known now: no more calls, and an unknown type is an error without a request.
        assert_eq!(facts.instance_types(&["t3.micro"]).await.unwrap()[0].memory, Memory::from_gib(1));
        let err = facts.instance_types(&["x9.huge"]).await.unwrap_err();
        assert_eq!(err.violations()[0].field, "instance_types");
        assert_eq!(facts.instance_types(&[]).await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_type_without_vcpus_is_an_error() {
        let mut mock = MockEc2Api::new();
        mock.expect_describe_instance_types().return_once(|_, _| {
            let mut r = raw("m5.large", 2, 8192, &["x86_64"]);
            r.vcpus = None;
            Ok(InstanceTypesPage { instance_types: vec![r], next_token: None })
        });
        let err = Ec2Facts::from_api(Arc::new(mock)).instance_types(&["m5.large"]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Provider);
        assert!(err.to_string().contains("no vCPU count"), "{err}");
    }

    #[tokio::test]
    async fn the_latest_price_per_type_and_zone_wins_over_every_page() {
        let mut mock = MockEc2Api::new();
        let mut seq = Sequence::new();
        mock.expect_describe_spot_price_history()
            .withf(|q| {
                q.availability_zone == "us-east-1a"
                    && q.product_description == "Linux/UNIX"
                    && q.instance_types == ["m5.large", "c5.large", "x1.huge"]
                    && q.next_token.is_none()
            })
            .times(1)
            .in_sequence(&mut seq)
            .return_once(|_| {
                Ok(SpotPage {
                    prices: vec![
                        record("m5.large", "us-east-1a", "0.0400", "2025-06-01T00:00:00Z"),
                        record("m5.large", "us-east-1a", "0.0350", "2025-06-01T06:00:00Z"),
                        // Another zone and another product are not this zone's Linux price.
                        record("m5.large", "us-east-1b", "0.0100", "2025-06-01T09:00:00Z"),
                        RawSpotPrice {
                            product_description: "Windows".into(),
                            ..record("m5.large", "us-east-1a", "0.2", "2025-06-01T09:00:00Z")
                        },
                    ],
                    next_token: Some("n2".into()),
                })
            });
        mock.expect_describe_spot_price_history()
            .withf(|q| q.next_token.as_deref() == Some("n2"))
            .times(1)
            .in_sequence(&mut seq)
            .return_once(|_| {
                Ok(SpotPage {
                    prices: vec![
                        record("m5.large", "us-east-1a", "0.0390", "2025-06-01T03:00:00Z"),
                        RawSpotPrice {
                            product_description: LINUX_VPC_PRODUCT.into(),
                            ..record("c5.large", "us-east-1a", "0.0312345678", "2025-06-01T01:00:00Z")
                        },
                    ],
                    next_token: None,
                })
            });
        let facts = Ec2Facts::from_api(Arc::new(mock));
        let got = facts.spot_prices("us-east-1a", &["m5.large", "c5.large", "x1.huge"]).await.unwrap();
        assert_eq!(got.len(), 2, "x1.huge has no spot price: left out");
        assert_eq!(got[0].instance_type, "c5.large");
        assert_eq!(got[0].price, HourlyRate::new(Money::from_nanos(31_234_568, Currency::USD)));
        assert_eq!((got[1].price, got[1].timestamp), (HourlyRate::usd(35, 3), "2025-06-01T06:00:00Z".parse().unwrap()));
        assert_eq!(got[1].availability_zone, "us-east-1a");
        // Cached, x1.huge's absence too: no request (the mock allows none).
        assert_eq!(facts.spot_prices("us-east-1a", &["x1.huge", "m5.large"]).await.unwrap(), vec![got[1].clone()]);
    }

    #[tokio::test]
    async fn each_zone_and_each_new_type_is_one_request() {
        let mut mock = MockEc2Api::new();
        mock.expect_describe_spot_price_history().times(3).returning(|q| {
            let prices = q
                .instance_types
                .iter()
                .map(|t| record(t, &q.availability_zone, "0.05", "2025-06-01T00:00:00Z"))
                .collect();
            Ok(SpotPage { prices, next_token: None })
        });
        let facts = Ec2Facts::from_api(Arc::new(mock));
        for _ in 0..3 {
            assert_eq!(facts.spot_prices("us-east-1a", &["m5.large"]).await.unwrap().len(), 1);
            assert_eq!(facts.spot_prices("us-east-1b", &["m5.large"]).await.unwrap().len(), 1);
        }
        // A new type in a known zone: one more request, for that type only.
        assert_eq!(facts.spot_prices("us-east-1a", &["m5.large", "c5.large"]).await.unwrap().len(), 2);
        assert_eq!(facts.spot_prices("us-east-1a", &["c5.large"]).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_bad_price_is_an_error() {
        let mut mock = MockEc2Api::new();
        mock.expect_describe_spot_price_history().return_once(|_| {
            Ok(SpotPage { prices: vec![record("m5.large", "z", "cheap", "2025-06-01T00:00:00Z")], next_token: None })
        });
        let err = Ec2Facts::from_api(Arc::new(mock)).spot_prices("z", &["m5.large"]).await.unwrap_err();
        assert!(err.to_string().contains("`cheap` is not a decimal number"), "{err}");
    }

    const ONDEMAND: &str = "region,instance_type,usd_per_hour\nus-east-1,m5.large,0.096\nus-east-1,m6g.large,0.077\n";
    const SPECS: &str = "instance_type,vcpu,memory_gib,arch,instance_family,current_generation,gpu,\
                         normalization_size_factor,network_performance,physical_processor\n\
                         m5.large,2,8,x86_64,General purpose,true,0,4,Up to 10 Gigabit,Intel\n\
                         m6g.large,2,8,arm64,General purpose,true,0,4,Up to 10 Gigabit,Graviton2\n";
    const ADVISOR: &str = "region,instance_type,os,interruption_bucket,savings_pct\n\
                           us-east-1,m5.large,Linux,3,66\nus-east-1,m6g.large,Linux,2,60\n";

    fn spot(ty: &str, zone: &str, nanos: i128) -> SpotPrice {
        SpotPrice {
            instance_type: ty.into(),
            availability_zone: zone.into(),
            price: HourlyRate::new(Money::from_nanos(nanos, Currency::USD)),
            timestamp: Timestamp::UNIX_EPOCH,
        }
    }

    #[tokio::test]
    async fn live_spot_prices_replace_the_advisor_estimate() {
        let catalog =
            Ec2Catalog::from_readers(ONDEMAND.as_bytes(), SPECS.as_bytes(), Some(ADVISOR.as_bytes())).unwrap();
        let m5 = InstanceTypeFacts {
            instance_type: "m5.large".into(),
            vcpu: 2,
            memory: Memory::from_mib(8000),
            architectures: vec!["x86_64".into()],
            arch: Some(Arch::X86_64),
            gpus: 0,
            current_generation: Some(true),
        };
        let prices = [spot("m5.large", "us-east-1a", 30_000_001), spot("m5.large", "us-east-1b", 40_000_000)];
        let table = live_price_table(&catalog, "us-east-1", &[m5], &prices).unwrap();
        let got = table.get("m5.large").unwrap();
        assert_eq!(got.spot, Some(HourlyRate::new(Money::from_nanos(35_000_001, Currency::USD))), "exact average");
        assert_eq!(got.on_demand, HourlyRate::usd(96, 3));
        assert_eq!(got.memory, Memory::from_mib(8000), "EC2's memory, not the catalogue's");
        assert_eq!(got.interruption_bucket, Some(3));
        let m6g = table.get("m6g.large").unwrap();
        assert_eq!(m6g.spot, Some(HourlyRate::new(Money::usd(77, 3).mul_ratio(40, 100))), "advisor estimate kept");
        assert!(table.source.contains("us-east-1a, us-east-1b"), "{}", table.source);
        assert!(live_price_table(&catalog, "eu-north-9", &[], &[]).is_err());

        // Through Ec2Facts: the facts and prices are fetched first.
        let mut mock = MockEc2Api::new();
        mock.expect_describe_instance_types().times(1).return_once(|_, _| {
            Ok(InstanceTypesPage { instance_types: vec![raw("m5.large", 2, 8192, &["x86_64"])], next_token: None })
        });
        mock.expect_describe_spot_price_history().times(1).return_once(|q| {
            Ok(SpotPage {
                prices: vec![record("m5.large", &q.availability_zone, "0.0321", "2025-06-01T00:00:00Z")],
                next_token: None,
            })
        });
        let facts = Ec2Facts::from_api(Arc::new(mock));
        let table = facts.price_table(&catalog, "us-east-1", &["us-east-1a"], &["m5.large"]).await.unwrap();
        assert_eq!(table.get("m5.large").unwrap().spot, Some(HourlyRate::usd(321, 4)));
        assert_eq!(table.iter().count(), 2);
    }
}
