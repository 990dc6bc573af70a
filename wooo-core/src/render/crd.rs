//! Typed custom resources wooo renders: Istio, Gateway API, Linkerd, Prometheus Operator and cert-manager.
//!
//! Each struct carries only the fields wooo writes, spelled exactly as the CRD schema spells them (checked against
//! the upstream CRDs of each project at the API versions below), so the output passes the same schema validation
//! the API server applies. Absent values are skipped, never written as `null`. Durations are strings in the forms
//! every consumer accepts (see [`duration`]).
//!
//! | module | apiVersion | kinds |
//! |---|---|---|
//! | [`istio`] | `networking.istio.io/v1`, `security.istio.io/v1`, `telemetry.istio.io/v1` | VirtualService, DestinationRule, PeerAuthentication, Telemetry |
//! | [`gateway`] | `gateway.networking.k8s.io/v1` | HTTPRoute |
//! | [`linkerd`] | `policy.linkerd.io/v1beta3` | HTTPRoute |
//! | [`prometheus`] | `monitoring.coreos.com/v1` | ServiceMonitor, PrometheusRule |
//! | [`cert_manager`] | `cert-manager.io/v1` | Certificate |

use std::time::Duration;

use crate::error::{Error, Result};

/// Declares a top-level custom resource: `metadata` + `spec`, serialized with its `apiVersion` and `kind` so the
/// struct is a complete manifest on its own (as k8s-openapi's types are).
macro_rules! custom_resource {
    ($(#[$doc:meta])* $name:ident, $spec:ty, $api_version:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Default, serde::Deserialize)]
        pub struct $name {
            /// Standard object metadata.
            pub metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
            /// Desired state.
            pub spec: $spec,
        }

        impl $name {
            #[doc = concat!("`", $api_version, "`.")]
            pub const API_VERSION: &'static str = $api_version;
            #[doc = concat!("`", $kind, "`.")]
            pub const KIND: &'static str = $kind;

            /// An object from its metadata and spec.
            pub fn new(
                metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
                spec: $spec,
            ) -> Self {
                Self { metadata, spec }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut s = serializer.serialize_struct($kind, 4)?;
                s.serialize_field("apiVersion", Self::API_VERSION)?;
                s.serialize_field("kind", Self::KIND)?;
                s.serialize_field("metadata", &self.metadata)?;
                s.serialize_field("spec", &self.spec)?;
                s.end()
            }
        }
    };
}

/// A duration in the one-unit form (`"90s"`, `"1500ms"`, `"5m"`, `"2h"`) that Istio, the Gateway API
/// (GEP-2257), Prometheus and Linkerd's annotations all accept. Linkerd's annotation parser takes exactly one unit
/// and no fractions, so the largest unit that divides the duration is used. Precision is a millisecond, rounded up,
/// so a non-zero duration never renders as zero (Istio rejects durations under 1ms).
pub fn duration(d: Duration) -> String {
    let ms = millis_rounded_up(d);
    if ms == 0 {
        return "0s".to_string();
    }
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let secs = ms / 1000;
    if secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// A duration for Gateway API fields (`^([0-9]{1,5}(h|m|s|ms)){1,4}$`): the one-unit form of [`duration`] when
/// its number has at most five digits, else hours, minutes, seconds and milliseconds spelled out.
///
/// # Errors
/// [`Error::InvalidSpec`] naming `field` when the duration is 100,000 hours or more, which the pattern cannot
/// express.
pub fn gateway_duration(field: &str, d: Duration) -> Result<String> {
    let single = duration(d);
    let digits = single.chars().take_while(char::is_ascii_digit).count();
    if digits <= 5 {
        return Ok(single);
    }
    let ms = millis_rounded_up(d);
    let (h, m, s, rest) = (ms / 3_600_000, (ms / 60_000) % 60, (ms / 1000) % 60, ms % 1000);
    if h > 99_999 {
        return Err(Error::invalid_spec(field, format!("{single} is longer than the Gateway API can express")));
    }
    let mut out = String::new();
    for (value, unit) in [(h, "h"), (m, "m"), (s, "s"), (rest, "ms")] {
        if value > 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    Ok(out)
}

fn millis_rounded_up(d: Duration) -> u128 {
    d.as_nanos().div_ceil(1_000_000)
}

/// A `u32` from the model as the `int32` a CRD field takes, naming the spec field when it does not fit
/// (validation normally rejects such values first).
pub(crate) fn int32(field: &str, value: u32) -> Result<i32> {
    i32::try_from(value).map_err(|_| Error::invalid_spec(field, format!("{value} does not fit a 32-bit integer")))
}

/// Istio: `networking.istio.io/v1`, `security.istio.io/v1`, `telemetry.istio.io/v1`.
pub mod istio {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    custom_resource!(
        /// Routing rules for a host: matches, weighted destinations, retries, timeouts.
        VirtualService,
        VirtualServiceSpec,
        "networking.istio.io/v1",
        "VirtualService"
    );

    custom_resource!(
        /// Policies applied after routing: subsets, connection pools, outlier detection.
        DestinationRule,
        DestinationRuleSpec,
        "networking.istio.io/v1",
        "DestinationRule"
    );

    custom_resource!(
        /// The mutual TLS mode workloads accept.
        PeerAuthentication,
        PeerAuthenticationSpec,
        "security.istio.io/v1",
        "PeerAuthentication"
    );

    custom_resource!(
        /// Tracing, metrics and access logging for workloads.
        Telemetry,
        TelemetrySpec,
        "telemetry.istio.io/v1",
        "Telemetry"
    );

    /// `VirtualService.spec`.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct VirtualServiceSpec {
        /// Destination hosts the rules apply to.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub hosts: Vec<String>,
        /// HTTP rules, evaluated in order; the first match wins.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub http: Vec<HttpRoute>,
    }

    /// One HTTP rule (`HTTPRoute` in Istio's API).
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct HttpRoute {
        /// Rule name, for logs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        /// Conditions (any of them); none matches everything.
        #[serde(rename = "match", default, skip_serializing_if = "Vec::is_empty")]
        pub matches: Vec<HttpMatchRequest>,
        /// Weighted destinations.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub route: Vec<HttpRouteDestination>,
        /// Retry policy.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub retries: Option<HttpRetry>,
        /// Request timeout (`"10s"`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub timeout: Option<String>,
    }

    /// Conditions a request must meet (all of them).
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct HttpMatchRequest {
        /// Header name (lower case) to value match.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub headers: BTreeMap<String, StringMatch>,
    }

    /// A string match; exactly one form.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub enum StringMatch {
        /// Exact value.
        Exact(String),
        /// Prefix.
        Prefix(String),
        /// RE2 regular expression.
        Regex(String),
    }

    /// A destination and its share of traffic.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct HttpRouteDestination {
        /// Where to send the request.
        pub destination: Destination,
        /// Percent of traffic; the weights of one rule sum to 100.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub weight: Option<i32>,
    }

    /// A service (and optionally a subset and port) in the mesh.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Destination {
        /// Service host (`app.ns.svc.cluster.local`).
        pub host: String,
        /// Subset declared in the host's DestinationRule.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub subset: Option<String>,
        /// Service port.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub port: Option<PortSelector>,
    }

    /// A port by number.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PortSelector {
        /// Port number.
        pub number: u32,
    }

    /// Retry policy of a rule.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct HttpRetry {
        /// Retries after the first attempt.
        pub attempts: i32,
        /// Timeout of each attempt (`"2s"`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub per_try_timeout: Option<String>,
        /// Comma separated Envoy retry conditions (`"5xx,reset"`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub retry_on: Option<String>,
    }

    /// `DestinationRule.spec`.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct DestinationRuleSpec {
        /// Service host.
        pub host: String,
        /// Traffic policy for the whole host.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub traffic_policy: Option<TrafficPolicy>,
        /// Named groups of endpoints, by pod labels.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub subsets: Vec<Subset>,
    }

    /// A named group of a service's endpoints.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Subset {
        /// Subset name, referenced by VirtualService destinations.
        pub name: String,
        /// Pod labels selecting the subset's endpoints.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub labels: BTreeMap<String, String>,
    }

    /// Connection pool and outlier detection settings.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct TrafficPolicy {
        /// Connection pool limits.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub connection_pool: Option<ConnectionPoolSettings>,
        /// Ejection of failing endpoints.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub outlier_detection: Option<OutlierDetection>,
    }

    /// Connection pool limits.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ConnectionPoolSettings {
        /// TCP limits.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub tcp: Option<TcpSettings>,
        /// HTTP limits.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub http: Option<HttpSettings>,
    }

    /// TCP connection pool limits.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct TcpSettings {
        /// Maximum connections to the host.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub max_connections: Option<i32>,
    }

    /// HTTP connection pool limits.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct HttpSettings {
        /// Maximum requests queued while waiting for a connection.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub http1_max_pending_requests: Option<i32>,
        /// Maximum active requests to the host.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub http2_max_requests: Option<i32>,
        /// Maximum requests per connection.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub max_requests_per_connection: Option<i32>,
    }

    /// Outlier detection (ejection of failing endpoints).
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct OutlierDetection {
        /// Consecutive 5xx responses before ejection.
        #[serde(rename = "consecutive5xxErrors", default, skip_serializing_if = "Option::is_none")]
        pub consecutive_5xx_errors: Option<u32>,
        /// Analysis interval (`"10s"`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub interval: Option<String>,
        /// Minimum ejection time (`"30s"`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub base_ejection_time: Option<String>,
        /// Most endpoints ejected at once, percent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub max_ejection_percent: Option<i32>,
    }

    /// `PeerAuthentication.spec`.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PeerAuthenticationSpec {
        /// Workloads the policy applies to; the whole namespace when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub selector: Option<WorkloadSelector>,
        /// Mutual TLS settings.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub mtls: Option<MutualTls>,
    }

    /// Pods selected by labels.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct WorkloadSelector {
        /// Labels the pods carry.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub match_labels: BTreeMap<String, String>,
    }

    /// Mutual TLS settings.
    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct MutualTls {
        /// Mode.
        pub mode: MutualTlsMode,
    }

    /// Mutual TLS mode, as Istio spells it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum MutualTlsMode {
        /// Inherit from the parent policy.
        #[default]
        Unset,
        /// Plain text only.
        Disable,
        /// mTLS and plain text.
        Permissive,
        /// mTLS only.
        Strict,
    }

    /// `Telemetry.spec`.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct TelemetrySpec {
        /// Workloads the policy applies to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub selector: Option<WorkloadSelector>,
        /// Tracing configuration.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub tracing: Vec<Tracing>,
    }

    /// Tracing configuration.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Tracing {
        /// Tracing providers, as named in the mesh configuration.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub providers: Vec<ProviderRef>,
        /// Percent of requests sampled (0 to 100).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub random_sampling_percentage: Option<f64>,
    }

    /// A telemetry provider by name.
    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ProviderRef {
        /// Provider name.
        pub name: String,
    }
}

/// Gateway API: `gateway.networking.k8s.io/v1`, standard channel.
pub mod gateway {
    use serde::{Deserialize, Serialize};

    custom_resource!(
        /// HTTP routing. With a Service as parent it configures east-west (mesh) traffic to that Service
        /// (the GAMMA pattern).
        HttpRoute,
        HttpRouteSpec,
        "gateway.networking.k8s.io/v1",
        "HTTPRoute"
    );

    /// `HTTPRoute.spec`; Linkerd's `policy.linkerd.io/v1beta3` HTTPRoute has the same shape.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct HttpRouteSpec {
        /// What the route attaches to: a Gateway, or a Service for mesh routing.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub parent_refs: Vec<ParentReference>,
        /// Host names matched (Gateway parents only).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub hostnames: Vec<String>,
        /// Rules; the most specific match wins.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub rules: Vec<HttpRouteRule>,
    }

    /// A parent the route attaches to.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ParentReference {
        /// API group; `""` for core (a Service).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub group: Option<String>,
        /// Kind (`Service`, `Gateway`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub kind: Option<String>,
        /// Namespace; the route's when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub namespace: Option<String>,
        /// Name.
        pub name: String,
        /// Port of the parent (the Service port for mesh routing).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub port: Option<i32>,
    }

    /// One rule: matches and the backends matching requests go to.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct HttpRouteRule {
        /// Conditions (any of them); the API server defaults to a `/` prefix match.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub matches: Vec<HttpRouteMatch>,
        /// Weighted backends.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub backend_refs: Vec<HttpBackendRef>,
        /// Timeouts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub timeouts: Option<HttpRouteTimeouts>,
    }

    /// Conditions a request must meet (all of them).
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct HttpRouteMatch {
        /// Header matches.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub headers: Vec<HttpHeaderMatch>,
    }

    /// A header match.
    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct HttpHeaderMatch {
        /// How `value` is compared.
        #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
        pub match_type: Option<HeaderMatchType>,
        /// Header name (case-insensitive).
        pub name: String,
        /// Value.
        pub value: String,
    }

    /// How a header value is compared.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub enum HeaderMatchType {
        /// Exact match.
        #[default]
        Exact,
        /// Regular expression.
        RegularExpression,
    }

    /// A backend Service and its share of the rule's traffic.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct HttpBackendRef {
        /// API group; `""` for core.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub group: Option<String>,
        /// Kind; `Service` when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub kind: Option<String>,
        /// Name.
        pub name: String,
        /// Namespace; the route's when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub namespace: Option<String>,
        /// Port (required for Services).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub port: Option<i32>,
        /// Relative weight among the rule's backends.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub weight: Option<i32>,
    }

    /// Rule timeouts (GEP-2257 durations such as `"10s"`).
    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct HttpRouteTimeouts {
        /// Whole request, client to response.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub request: Option<String>,
        /// One request to a backend (at most `request`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub backend_request: Option<String>,
    }
}

/// Linkerd: `policy.linkerd.io/v1beta3`.
pub mod linkerd {
    use super::gateway::HttpRouteSpec;

    custom_resource!(
        /// Linkerd's own HTTPRoute. Same spec as the Gateway API's; Linkerd reads retries and timeouts from its
        /// `retry.linkerd.io/*` and `timeout.linkerd.io/*` annotations.
        HttpRoute,
        HttpRouteSpec,
        "policy.linkerd.io/v1beta3",
        "HTTPRoute"
    );
}

/// Prometheus Operator: `monitoring.coreos.com/v1`.
pub mod prometheus {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
    use serde::{Deserialize, Serialize};

    custom_resource!(
        /// Which Services Prometheus scrapes, and how.
        ServiceMonitor,
        ServiceMonitorSpec,
        "monitoring.coreos.com/v1",
        "ServiceMonitor"
    );

    custom_resource!(
        /// Alerting and recording rules Prometheus loads.
        PrometheusRule,
        PrometheusRuleSpec,
        "monitoring.coreos.com/v1",
        "PrometheusRule"
    );

    /// `ServiceMonitor.spec`.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ServiceMonitorSpec {
        /// Services to scrape, by label.
        pub selector: LabelSelector,
        /// Endpoints (Service ports) to scrape.
        pub endpoints: Vec<Endpoint>,
    }

    /// One scraped Service port.
    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Endpoint {
        /// Service port name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub port: Option<String>,
        /// HTTP path.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub path: Option<String>,
        /// Scrape interval (`"30s"`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub interval: Option<String>,
    }

    /// `PrometheusRule.spec`.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PrometheusRuleSpec {
        /// Rule groups.
        pub groups: Vec<RuleGroup>,
    }

    /// A Prometheus rule file (`groups: [...]`), the format `promtool check rules` reads.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    pub struct RuleFile {
        /// Rule groups.
        pub groups: Vec<RuleGroup>,
    }

    /// A group of rules evaluated together. Same fields in a PrometheusRule and a Prometheus rule file.
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    pub struct RuleGroup {
        /// Group name, unique within the file.
        pub name: String,
        /// Evaluation interval; the global one when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub interval: Option<String>,
        /// Rules.
        pub rules: Vec<Rule>,
    }

    /// An alerting rule (or a recording rule, with `record` instead of `alert`).
    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub struct Rule {
        /// Alert name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub alert: Option<String>,
        /// Recorded series name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub record: Option<String>,
        /// PromQL expression.
        pub expr: String,
        /// How long the expression must hold before the alert fires.
        #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
        pub for_duration: Option<String>,
        /// Labels added to the alert.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub labels: BTreeMap<String, String>,
        /// Annotations (templated with `$labels` and `$value`).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub annotations: BTreeMap<String, String>,
    }
}

/// cert-manager: `cert-manager.io/v1`.
pub mod cert_manager {
    use serde::{Deserialize, Serialize};

    custom_resource!(
        /// A certificate cert-manager issues and renews into a Secret.
        Certificate,
        CertificateSpec,
        "cert-manager.io/v1",
        "Certificate"
    );

    /// `Certificate.spec`.
    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct CertificateSpec {
        /// Secret the key pair is stored in.
        pub secret_name: String,
        /// DNS subject alternative names.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub dns_names: Vec<String>,
        /// The issuer that signs the certificate.
        pub issuer_ref: IssuerRef,
    }

    /// An Issuer or ClusterIssuer.
    #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct IssuerRef {
        /// Issuer name.
        pub name: String,
        /// `Issuer` or `ClusterIssuer`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub kind: Option<String>,
        /// Issuer API group (`cert-manager.io`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub group: Option<String>,
    }
}

/// JSON pointers of every `null` in a rendered value: rendered objects must have none.
#[cfg(test)]
pub(super) fn nulls(value: &serde_json::Value) -> Vec<String> {
    fn walk(value: &serde_json::Value, path: String, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Null => out.push(path),
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, format!("{path}/{i}"), out);
                }
            }
            serde_json::Value::Object(map) => {
                for (key, item) in map {
                    walk(item, format!("{path}/{key}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_finds_nested_nulls() {
        let value: serde_json::Value = serde_json::from_str(r#"{"a": [1, null], "b": {"c": null}, "d": 0}"#).unwrap();
        assert_eq!(nulls(&value), ["/a/1", "/b/c"]);
    }

    #[test]
    fn durations_take_the_largest_exact_unit() {
        assert_eq!(duration(Duration::ZERO), "0s");
        assert_eq!(duration(Duration::from_millis(400)), "400ms");
        assert_eq!(duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(duration(Duration::from_secs(90)), "90s");
        assert_eq!(duration(Duration::from_secs(300)), "5m");
        assert_eq!(duration(Duration::from_secs(7200)), "2h");
        // Sub-millisecond rounds up: never zero for a non-zero duration.
        assert_eq!(duration(Duration::from_micros(1)), "1ms");
    }

    #[test]
    fn gateway_durations_fit_the_gep_2257_pattern() {
        assert_eq!(gateway_duration("t", Duration::from_secs(10)).unwrap(), "10s");
        // 123.5 s as milliseconds has six digits: spelled out instead.
        assert_eq!(gateway_duration("t", Duration::from_millis(123_500)).unwrap(), "2m3s500ms");
        assert_eq!(gateway_duration("t", Duration::from_secs(100_001)).unwrap(), "27h46m41s");
        let err = gateway_duration("timeout", Duration::from_secs(3600 * 100_000 + 1)).unwrap_err();
        assert_eq!(err.violations()[0].field, "timeout");
    }

    #[test]
    fn int32_names_the_field_on_overflow() {
        assert_eq!(int32("weight", 7).unwrap(), 7);
        assert_eq!(int32("weight", u32::MAX).unwrap_err().violations()[0].field, "weight");
    }

    #[test]
    fn custom_resources_serialize_as_complete_manifests() {
        let cert = cert_manager::Certificate::new(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("web-tls".into()),
                ..Default::default()
            },
            cert_manager::CertificateSpec {
                secret_name: "web-tls".into(),
                dns_names: vec!["shop.example.com".into()],
                issuer_ref: cert_manager::IssuerRef { name: "letsencrypt".into(), kind: None, group: None },
            },
        );
        let json = serde_json::to_value(&cert).unwrap();
        assert_eq!(json["apiVersion"], "cert-manager.io/v1");
        assert_eq!(json["kind"], "Certificate");
        assert_eq!(json["spec"]["issuerRef"], serde_json::json!({"name": "letsencrypt"}));
        let back: cert_manager::Certificate = serde_json::from_value(json).unwrap();
        assert_eq!(back, cert);
    }

    #[test]
    fn istio_field_names_follow_the_crd() {
        let od = istio::OutlierDetection {
            consecutive_5xx_errors: Some(5),
            interval: Some("10s".into()),
            base_ejection_time: Some("30s".into()),
            max_ejection_percent: Some(50),
        };
        let json = serde_json::to_value(&od).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["baseEjectionTime", "consecutive5xxErrors", "interval", "maxEjectionPercent"]);
        let http = istio::HttpSettings {
            http1_max_pending_requests: Some(1),
            http2_max_requests: Some(2),
            max_requests_per_connection: Some(3),
        };
        let json = serde_json::to_value(&http).unwrap();
        assert_eq!(json["http1MaxPendingRequests"], 1);
        assert_eq!(json["http2MaxRequests"], 2);
        assert_eq!(json["maxRequestsPerConnection"], 3);
        let m = istio::StringMatch::Exact("beta".into());
        assert_eq!(serde_json::to_value(&m).unwrap(), serde_json::json!({"exact": "beta"}));
        assert_eq!(serde_json::to_value(istio::MutualTlsMode::Strict).unwrap(), "STRICT");
    }
}
