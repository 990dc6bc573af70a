//! Service mesh policy: traffic split (canary, header-match A/B), resilience, mTLS and tracing.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::common::AppRef;

/// The mesh implementation a policy is rendered for.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeshKind {
    /// Istio (networking.istio.io/v1, security.istio.io/v1, telemetry.istio.io/v1).
    #[default]
    Istio,
    /// Gateway API (gateway.networking.k8s.io/v1 HTTPRoute).
    GatewayApi,
    /// Linkerd (HTTPRoute plus Linkerd annotations).
    Linkerd,
}

/// Everything wooo configures in the mesh for one application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshPolicy {
    /// The application (its Service is the route's host).
    pub app: AppRef,
    /// Mesh implementation.
    #[serde(default)]
    pub kind: MeshKind,
    /// Traffic split between versions.
    #[serde(default)]
    pub traffic: Option<TrafficSplit>,
    /// Resilience settings.
    #[serde(default)]
    pub resilience: Option<Resilience>,
    /// Mutual TLS mode.
    #[serde(default)]
    pub mtls: MtlsMode,
    /// Tracing.
    #[serde(default)]
    pub tracing: Option<TracingSpec>,
}

impl MeshPolicy {
    /// A policy with only a traffic split.
    pub fn split(app: AppRef, kind: MeshKind, split: TrafficSplit) -> Self {
        Self { app, kind, traffic: Some(split), resilience: None, mtls: MtlsMode::default(), tracing: None }
    }
}

/// Weighted routing between versions, with an optional header match that pins matching requests to one
/// version (A/B testing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficSplit {
    /// Backends and weights; weights sum to 100.
    pub backends: Vec<WeightedBackend>,
    /// Requests matching this header go to one version regardless of weights.
    #[serde(default)]
    pub header_match: Option<HeaderMatch>,
}

impl TrafficSplit {
    /// A two-way canary: `stable` gets `100 - canary_weight`, `canary` gets `canary_weight`.
    ///
    /// ```
    /// use wooo_core::model::TrafficSplit;
    /// let s = TrafficSplit::canary("v1", "v2", 10);
    /// assert_eq!(s.weight_of("v1"), Some(90));
    /// assert_eq!(s.weight_of("v2"), Some(10));
    /// ```
    pub fn canary(stable: impl Into<String>, canary: impl Into<String>, canary_weight: u32) -> Self {
        Self {
            backends: vec![
                WeightedBackend { version: stable.into(), weight: 100u32.saturating_sub(canary_weight) },
                WeightedBackend { version: canary.into(), weight: canary_weight },
            ],
            header_match: None,
        }
    }

    /// The weight of a version.
    pub fn weight_of(&self, version: &str) -> Option<u32> {
        self.backends.iter().find(|b| b.version == version).map(|b| b.weight)
    }
}

/// One version and its share of traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightedBackend {
    /// Version: the value of the pods' `version` label (an Istio subset, a Service suffix for Gateway API).
    pub version: String,
    /// Percent of traffic (0 to 100).
    pub weight: u32,
}

/// A header match routing to one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderMatch {
    /// Header name (lower-case HTTP token).
    pub header: String,
    /// Exact value to match.
    pub value: String,
    /// The version matching requests go to (one of the backends).
    pub version: String,
}

/// Resilience settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resilience {
    /// Eject failing endpoints.
    #[serde(default)]
    pub outlier_detection: Option<OutlierDetection>,
    /// Connection pool limits.
    #[serde(default)]
    pub connection_pool: Option<ConnectionPool>,
    /// Retries.
    #[serde(default)]
    pub retries: Option<RetryPolicy>,
    /// Overall request timeout (the retry budget must fit in it).
    #[serde(default, with = "super::units::opt_duration_str")]
    pub timeout: Option<Duration>,
}

/// Outlier detection (circuit breaking by ejection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutlierDetection {
    /// Consecutive 5xx errors before an endpoint is ejected.
    pub consecutive_5xx_errors: u32,
    /// How often endpoints are analysed.
    #[serde(with = "super::units::duration_str")]
    pub interval: Duration,
    /// Minimum ejection duration.
    #[serde(with = "super::units::duration_str")]
    pub base_ejection_time: Duration,
    /// At most this percent of endpoints ejected (0 to 100).
    pub max_ejection_percent: u32,
}

/// Connection pool limits.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPool {
    /// Maximum TCP connections to the service.
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// Maximum pending HTTP/1.1 requests.
    #[serde(default)]
    pub http1_max_pending_requests: Option<u32>,
    /// Maximum concurrent HTTP/2 requests.
    #[serde(default)]
    pub http2_max_requests: Option<u32>,
    /// Maximum requests per connection (1 disables keep-alive).
    #[serde(default)]
    pub max_requests_per_connection: Option<u32>,
}

/// Retry policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts after the first (1 to 10).
    pub attempts: u32,
    /// Timeout of each try.
    #[serde(with = "super::units::duration_str")]
    pub per_try_timeout: Duration,
    /// Conditions to retry on (Envoy names: `5xx`, `gateway-error`, `connect-failure`, `reset`, …).
    #[serde(default = "default_retry_on")]
    pub retry_on: Vec<String>,
}

fn default_retry_on() -> Vec<String> {
    vec!["5xx".into(), "connect-failure".into(), "reset".into()]
}

impl RetryPolicy {
    /// The longest time the retries can take: `(attempts + 1) × per_try_timeout`.
    pub fn budget(&self) -> Duration {
        self.per_try_timeout.saturating_mul(self.attempts.saturating_add(1))
    }
}

/// Mutual TLS mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MtlsMode {
    /// Only mTLS traffic accepted (PeerAuthentication STRICT).
    #[default]
    Strict,
    /// mTLS and plain text accepted.
    Permissive,
    /// Left to the mesh's default.
    Inherit,
}

/// Tracing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracingSpec {
    /// Sampling percentage (0 to 100).
    pub sampling_percent: f64,
    /// Tracing provider name as configured in the mesh (e.g. `otel`).
    #[serde(default = "default_tracing_provider")]
    pub provider: String,
}

fn default_tracing_provider() -> String {
    "otel".to_string()
}

/// What the mesh holds for an app after an apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeshStatus {
    /// The policy in force.
    pub policy: MeshPolicy,
    /// Objects written (`Kind/name`).
    pub objects: Vec<String>,
    /// Whether the apply changed anything.
    pub changed: bool,
}
