//! Usage from Prometheus (feature `prometheus`): [`PrometheusUsage`], a [`UsageSource`] over the standard
//! cAdvisor and kube-state-metrics series, and the facts around them (requests, limits, restarts, OOM kills,
//! nodes).
//!
//! | what | series (exact queries: [`Queries`]) | call |
//! |---|---|---|
//! | CPU cores used per pod | `rate(container_cpu_usage_seconds_total[…])` (cAdvisor) | range |
//! | working-set memory per pod | `container_memory_working_set_bytes` (cAdvisor) | range |
//! | pod → workload | `kube_pod_owner`, `kube_replicaset_owner` | range |
//! | requests, limits | `kube_pod_container_resource_requests` / `_limits`, max over the window | instant |
//! | restarts | `increase(kube_pod_container_status_restarts_total[window])` | instant |
//! | OOM kills | `kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}`, max over the window | instant |
//! | nodes | `kube_node_status_capacity`, `kube_node_labels` (instance type, capacity type, zone) | instant |
//!
//! Range queries (`/api/v1/query_range`) are evaluated at `start`, `start + step`, … before the window's end, in
//! pages of at most [`PrometheusUsageBuilder::max_points`] points (Prometheus refuses more than 11,000 per
//! series), and the pages are stitched back together. Every call is retried on throttling and passing failures
//! (no answer, 5xx, Prometheus' `timeout` and `unavailable`) with doubling backoff, up to
//! [`PrometheusUsageBuilder::attempts`]; a query Prometheus refuses (`bad_data`) is
//! [`wooo_core::Error::InvalidSpec`] of field `query`, never retried. Errors carry provider [`PROVIDER`].
//!
//! Usage samples are per workload (a Deployment for pods of its ReplicaSets; a StatefulSet, DaemonSet or Job
//! for its pods; a bare pod for itself), summed over its pods, at each evaluation time both CPU and memory are
//! known. Node labels are only those kube-state-metrics exposes (`--metric-labels-allowlist`).

mod http;
mod shape;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use wooo_core::model::{ClusterId, TimeWindow, UsageSample};
use wooo_core::{Error, Result};

pub use shape::{ContainerFacts, NodeFacts, Queries, Series, api_time, pages};

use crate::sources::UsageSource;
use http::{HyperTransport, Transport};

/// The provider name of Prometheus errors.
pub const PROVIDER: &str = "prometheus";

/// Prometheus' own limit of points per series in one range query.
pub const PROMETHEUS_MAX_POINTS: u32 = 11_000;

/// Builds a [`PrometheusUsage`]; [`PrometheusUsageBuilder::build`] checks every setting.
#[derive(Clone)]
pub struct PrometheusUsageBuilder {
    url: String,
    step: Duration,
    rate_window: Option<Duration>,
    max_points: u32,
    attempts: u32,
    backoff: Duration,
    timeout: Duration,
    cluster_label: Option<String>,
    bearer_token: Option<String>,
}

impl fmt::Debug for PrometheusUsageBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusUsageBuilder")
            .field("url", &self.url)
            .field("step", &self.step)
            .field("max_points", &self.max_points)
            .field("attempts", &self.attempts)
            .field("cluster_label", &self.cluster_label)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl PrometheusUsageBuilder {
    /// Seconds between samples (default 5 minutes).
    pub fn step(mut self, step: Duration) -> Self {
        self.step = step;
        self
    }

    /// The window of `rate` over CPU counters (default: the larger of the step and 5 minutes).
    pub fn rate_window(mut self, window: Duration) -> Self {
        self.rate_window = Some(window);
        self
    }

    /// Points per page of a range query (default 10,000; at most [`PROMETHEUS_MAX_POINTS`]).
    pub fn max_points(mut self, points: u32) -> Self {
        self.max_points = points;
        self
    }

    /// Attempts per call, the first included (default 4).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// Backoff before the second attempt, doubled before each next one (default 200 ms).
    pub fn backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// Time allowed for one HTTP exchange (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The label that names the cluster on every series (e.g. `cluster`, for a server that holds several): every
    /// query then selects `label="<cluster id>"`. Default: none (one server per cluster).
    pub fn cluster_label(mut self, label: impl Into<String>) -> Self {
        self.cluster_label = Some(label.into());
        self
    }

    /// A bearer token sent on every request (never shown in `Debug` or errors).
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// The source.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] naming the field: `url` (not `http://` or `https://`, or with a query),
    /// `step` (under a second), `max_points` (0 or above [`PROMETHEUS_MAX_POINTS`]), `attempts` (0),
    /// `cluster_label` (not a Prometheus label name).
    pub fn build(self) -> Result<PrometheusUsage> {
        let base = self.url.trim_end_matches('/').to_string();
        let rest = base.strip_prefix("http://").or_else(|| base.strip_prefix("https://"));
        match rest {
            Some(rest) if !rest.is_empty() && !rest.contains(['?', '#', ' ']) => {}
            _ => return Err(Error::invalid_spec("url", format!("`{base}` is not an http:// or https:// server URL"))),
        }
        if self.step < Duration::from_secs(1) {
            return Err(Error::invalid_spec("step", "must be at least one second"));
        }
        if self.max_points == 0 || self.max_points > PROMETHEUS_MAX_POINTS {
            return Err(Error::invalid_spec("max_points", format!("must be 1..={PROMETHEUS_MAX_POINTS}")));
        }
        if self.attempts == 0 {
            return Err(Error::invalid_spec("attempts", "must be at least 1"));
        }
        if let Some(label) = &self.cluster_label {
            let mut chars = label.chars();
            let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(Error::invalid_spec("cluster_label", format!("`{label}` is not a label name")));
            }
        }
        let transport = HyperTransport::new(base.clone(), self.timeout, self.bearer_token)
            .map_err(|message| Error::Provider { provider: PROVIDER, message, source: None })?;
        Ok(PrometheusUsage {
            transport: Arc::new(transport),
            url: base,
            step: self.step,
            rate_window: self.rate_window.unwrap_or(self.step.max(Duration::from_secs(300))),
            max_points: self.max_points,
            attempts: self.attempts,
            backoff: self.backoff,
            cluster_label: self.cluster_label,
        })
    }
}

/// Usage and container and node facts read from a Prometheus server. See the [module docs](self).
///
/// ```no_run
/// use wooo_cost::prometheus::PrometheusUsage;
/// use wooo_cost::sources::UsageSource;
/// use wooo_core::model::{ClusterId, TimeWindow};
///
/// # async fn run() -> wooo_core::Result<()> {
/// let prometheus = PrometheusUsage::builder("http://127.0.0.1:9090").build()?;
/// let window = TimeWindow::last_hours(jiff::Timestamp::now(), 24);
/// let samples = prometheus.usage(&ClusterId::new("prod"), &window).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PrometheusUsage {
    transport: Arc<dyn Transport>,
    url: String,
    step: Duration,
    rate_window: Duration,
    max_points: u32,
    attempts: u32,
    backoff: Duration,
    cluster_label: Option<String>,
}

impl fmt::Debug for PrometheusUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusUsage")
            .field("url", &self.url)
            .field("step", &self.step)
            .field("rate_window", &self.rate_window)
            .field("max_points", &self.max_points)
            .field("attempts", &self.attempts)
            .field("cluster_label", &self.cluster_label)
            .finish_non_exhaustive()
    }
}

impl PrometheusUsage {
    /// A builder for the server at `url` (e.g. `http://prometheus.monitoring:9090`, a path prefix allowed).
    pub fn builder(url: impl Into<String>) -> PrometheusUsageBuilder {
        PrometheusUsageBuilder {
            url: url.into(),
            step: Duration::from_secs(300),
            rate_window: None,
            max_points: 10_000,
            attempts: 4,
            backoff: Duration::from_millis(200),
            timeout: Duration::from_secs(60),
            cluster_label: None,
            bearer_token: None,
        }
    }

    #[cfg(test)]
    fn with_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = transport;
        self
    }

    /// The step between samples.
    pub fn step(&self) -> Duration {
        self.step
    }

    /// The queries sent for `cluster`.
    pub fn queries(&self, cluster: &ClusterId) -> Queries {
        let matchers = self.cluster_label.as_deref().map(|l| shape::matcher(l, cluster.as_str())).unwrap_or_default();
        Queries::new(matchers, self.rate_window)
    }

    /// A range query over `window` at the step, page by page ([`pages`]), the pages stitched per series.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] (`window`) for an empty window; the classified errors of the server.
    pub async fn query_range(&self, query: &str, window: &TimeWindow) -> Result<Vec<Series>> {
        wooo_core::validate::time_window(window)?;
        let mut merged: BTreeMap<Vec<(String, String)>, Series> = BTreeMap::new();
        for (start, end) in pages(window, self.step, self.max_points) {
            let form = [
                ("query", query.to_string()),
                ("start", api_time(start)),
                ("end", api_time(end)),
                ("step", format!("{}", self.step.as_secs_f64())),
            ];
            for series in self.call("/api/v1/query_range", &form).await? {
                let key: Vec<(String, String)> = series.labels.clone().into_iter().collect();
                match merged.get_mut(&key) {
                    Some(existing) => existing.points.extend(series.points),
                    None => {
                        merged.insert(key, series);
                    }
                }
            }
        }
        Ok(merged.into_values().collect())
    }

    /// An instant query at `at`.
    ///
    /// # Errors
    /// The classified errors of the server.
    pub async fn query(&self, query: &str, at: Timestamp) -> Result<Vec<Series>> {
        self.call("/api/v1/query", &[("query", query.to_string()), ("time", api_time(at))]).await
    }

    /// One call, retried on retryable errors with doubling backoff.
    async fn call(&self, path: &str, form: &[(&'static str, String)]) -> Result<Vec<Series>> {
        let mut attempt = 1;
        loop {
            let result = match self.transport.post_form(path, form).await {
                Ok((status, body)) => shape::parse(status, &body),
                Err(reason) => Err(shape::classify(0, None, &reason)),
            };
            match result {
                Err(e) if e.is_retryable() && attempt < self.attempts => {
                    let backoff = self.backoff.saturating_mul(1 << (attempt - 1).min(16));
                    tokio::time::sleep(backoff).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The workload of every pod seen over `window`.
    async fn owners(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<BTreeMap<(String, String), String>> {
        let q = self.queries(cluster);
        let pods = self.query_range(&q.pod_owners(), window).await?;
        let replicasets = self.query_range(&q.replicaset_owners(), window).await?;
        Ok(shape::workloads_of(&pods, &replicasets))
    }

    /// Usage samples per workload over `window`, one per step.
    ///
    /// # Errors
    /// As [`PrometheusUsage::query_range`].
    pub async fn workload_usage(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<Vec<UsageSample>> {
        let q = self.queries(cluster);
        let cpu = self.query_range(&q.cpu(), window).await?;
        let memory = self.query_range(&q.memory(), window).await?;
        let owners = self.owners(cluster, window).await?;
        Ok(shape::samples(&cpu, &memory, &owners))
    }

    /// Requests, limits, restarts and OOM kills of every container over `window` (instant queries at its end over
    /// its length).
    ///
    /// # Errors
    /// As [`PrometheusUsage::query_range`].
    pub async fn container_facts(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<Vec<ContainerFacts>> {
        wooo_core::validate::time_window(window)?;
        let q = self.queries(cluster);
        let length = window.duration();
        let requests = self.query(&q.requests(length), window.end).await?;
        let limits = self.query(&q.limits(length), window.end).await?;
        let restarts = self.query(&q.restarts(length), window.end).await?;
        let oom = self.query(&q.oom_killed(length), window.end).await?;
        let owners = self.owners(cluster, window).await?;
        Ok(shape::container_facts(&requests, &limits, &restarts, &oom, &owners))
    }

    /// The nodes at `at`: capacity, instance type, capacity type and zone.
    ///
    /// # Errors
    /// The classified errors of the server.
    pub async fn nodes(&self, cluster: &ClusterId, at: Timestamp) -> Result<Vec<NodeFacts>> {
        let q = self.queries(cluster);
        let capacity = self.query(&q.node_capacity(), at).await?;
        let labels = self.query(&q.node_labels(), at).await?;
        Ok(shape::node_facts(&capacity, &labels))
    }
}

#[async_trait]
impl UsageSource for PrometheusUsage {
    async fn usage(&self, cluster: &ClusterId, window: &TimeWindow) -> Result<Vec<UsageSample>> {
        self.workload_usage(cluster, window).await
    }
}

#[cfg(test)]
mod prometheus_tests;
