//! MeshPolicy → typed mesh objects for Istio, the Gateway API (GAMMA) and Linkerd.
//!
//! The app's Service (`<app>`, port 80) is the mesh host. Versions are told apart by the pods' `version` label:
//! Istio routes to DestinationRule subsets selecting that label; the Gateway API and Linkerd route to one Service
//! per version (`<app>-<version>`), which this renderer emits too, so a split works without anything else.
//!
//! What a mesh cannot express is left out rather than refused, so a canary with resilience settings still ships
//! on every mesh; [`mesh_ignored`] lists what was left out so callers can say so:
//! - Gateway API (standard channel): retries (`retry` is experimental only), outlier detection and connection
//!   pools (no standard field), mTLS and tracing (mesh-wide settings of the implementation).
//! - Linkerd: outlier detection without a traffic split (failure accrual is a Service annotation, and only the
//!   per-version Services of a split belong to the policy; the app's own Service belongs to the app), connection
//!   pools (no equivalent), mTLS (always on between meshed pods) and tracing (a mesh-wide setting); retry
//!   conditions Linkerd has no name for (`connect-failure`, `reset`, …) are dropped and `5xx` and
//!   `gateway-error` kept. With a split, outlier detection becomes consecutive failure accrual on the version
//!   Services.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Object;
use super::crd::{gateway, int32, istio, linkerd};
use crate::error::{Error, Result};
use crate::model::{AppSpec, MeshKind, MeshPolicy, MtlsMode, Resilience, RetryPolicy, TrafficSplit};
use crate::validate::{ValidApp, ValidMeshPolicy};

use super::meta::{AppContext, COMPONENT_LABEL, Component, INSTANCE_LABEL, NAME_LABEL, VERSION_LABEL};
use super::network::SERVICE_PORT;
use super::workload::HTTP_PORT_NAME;

/// The app renderer's component value for the pods behind the app's Service.
const WEB_COMPONENT: &str = Component::Web.as_str();

/// Renders a mesh policy for an app into typed objects, in apply order.
///
/// - Istio: `VirtualService <app>` (header-match route first, then the weighted split, with retries and
///   timeout), `DestinationRule <app>` (a subset per version, connection pool, outlier detection),
///   `PeerAuthentication <app>` (unless mTLS is `Inherit`), `Telemetry <app>` (when tracing is set).
/// - Gateway API: a Service `<app>-<version>` per version, then `HTTPRoute <app>` attached to the app's Service.
/// - Linkerd: the same Services, then a `policy.linkerd.io/v1beta3` `HTTPRoute <app>` with Linkerd's retry and
///   timeout annotations.
///
/// Settings the chosen mesh cannot express are left out; [`mesh_ignored`] lists them.
///
/// # Errors
/// [`Error::InvalidSpec`] when the policy names another app than `app` (field `app`), or holds a number or
/// duration a CRD field cannot take.
pub fn mesh(policy: &ValidMeshPolicy, app: &ValidApp) -> Result<Vec<Object>> {
    let (policy, app): (&MeshPolicy, &AppSpec) = (policy, app);
    if policy.app != app.app_ref() {
        return Err(Error::invalid_spec("app", format!("the policy is for {}, not {}", policy.app, app.app_ref())));
    }
    let ctx = MeshContext { app };
    match policy.kind {
        MeshKind::Istio => istio_objects(&ctx, policy),
        MeshKind::GatewayApi => {
            let mut objects = version_services(&ctx, policy.traffic.as_ref());
            if let Some(spec) = route_spec(&ctx, policy)? {
                let meta = ctx.meta(app.name.clone());
                objects.push(Object::HttpRoute(gateway::HttpRoute::new(meta, spec)));
            }
            Ok(objects)
        }
        MeshKind::Linkerd => {
            let mut objects = version_services(&ctx, policy.traffic.as_ref());
            // Linkerd's circuit breaking (failure accrual) is configured on the Services a route sends to: the
            // per-version Services, which this policy owns (the app's own Service belongs to the app).
            let accrual = linkerd_failure_accrual(policy.resilience.as_ref());
            for object in objects.iter_mut() {
                if let (Object::Service(service), false) = (object, accrual.is_empty()) {
                    service.metadata.annotations.get_or_insert_with(BTreeMap::new).extend(accrual.clone());
                }
            }
            let annotations = linkerd_annotations(policy.resilience.as_ref());
            let spec = route_spec(&ctx, policy)?;
            // Retries alone still need a route to carry their annotations.
            let spec = match (spec, annotations.is_empty()) {
                (Some(spec), _) => Some(spec),
                (None, false) => Some(ctx.whole_service_route(None)),
                (None, true) => None,
            };
            if let Some(spec) = spec {
                let mut meta = ctx.meta(app.name.clone());
                if !annotations.is_empty() {
                    meta.annotations = Some(annotations);
                }
                objects.push(Object::LinkerdHttpRoute(linkerd::HttpRoute::new(meta, spec)));
            }
            Ok(objects)
        }
    }
}

/// The settings of `policy` that [`mesh`] leaves out for its mesh, as spec field paths
/// (`resilience.retries`, `mtls`, …). Empty for Istio, which expresses everything.
pub fn mesh_ignored(policy: &MeshPolicy) -> Vec<&'static str> {
    let mut ignored = Vec::new();
    if policy.kind == MeshKind::Istio {
        return ignored;
    }
    let resilience = policy.resilience.as_ref();
    if policy.kind == MeshKind::GatewayApi && resilience.is_some_and(|r| r.retries.is_some()) {
        ignored.push("resilience.retries");
    }
    if policy.kind == MeshKind::Linkerd
        && resilience.and_then(|r| r.retries.as_ref()).is_some_and(|r| linkerd_retry_on(r).len() < r.retry_on.len())
    {
        ignored.push("resilience.retries.retry_on");
    }
    // Linkerd takes outlier detection as failure accrual on the per-version Services, which exist with a split.
    let accrual_expressible = policy.kind == MeshKind::Linkerd && policy.traffic.is_some();
    if resilience.is_some_and(|r| r.outlier_detection.is_some()) && !accrual_expressible {
        ignored.push("resilience.outlier_detection");
    }
    if resilience.is_some_and(|r| r.connection_pool.is_some()) {
        ignored.push("resilience.connection_pool");
    }
    if policy.mtls != MtlsMode::Inherit {
        ignored.push("mtls");
    }
    if policy.tracing.is_some() {
        ignored.push("tracing");
    }
    ignored
}

/// Metadata for a namespaced object of an app.
pub(super) fn app_meta(app: &AppSpec, name: String) -> ObjectMeta {
    AppContext::offline(app).meta(name)
}

/// Names and labels of one app's mesh objects.
struct MeshContext<'a> {
    app: &'a AppSpec,
}

impl MeshContext<'_> {
    /// `<app>.<ns>.svc.cluster.local`.
    fn host(&self) -> String {
        format!("{}.{}.svc.cluster.local", self.app.name, self.app.namespace)
    }

    fn meta(&self, name: String) -> ObjectMeta {
        app_meta(self.app, name)
    }

    /// The pods of the app (every version), as mesh policies select them.
    fn workload_selector(&self) -> istio::WorkloadSelector {
        istio::WorkloadSelector { match_labels: BTreeMap::from([(NAME_LABEL.to_string(), self.app.name.clone())]) }
    }

    /// The app's Service as an HTTPRoute parent: the GAMMA way to route mesh traffic to it.
    fn service_parent(&self) -> gateway::ParentReference {
        gateway::ParentReference {
            group: Some(String::new()),
            kind: Some("Service".to_string()),
            namespace: None,
            name: self.app.name.clone(),
            port: Some(SERVICE_PORT),
        }
    }

    /// A backend Service on port 80.
    fn backend(&self, name: &str, weight: Option<i32>) -> gateway::HttpBackendRef {
        gateway::HttpBackendRef {
            group: None,
            kind: None,
            name: name.to_string(),
            namespace: None,
            port: Some(SERVICE_PORT),
            weight,
        }
    }

    /// A route sending everything to the app's own Service: for settings without a split.
    fn whole_service_route(&self, timeouts: Option<gateway::HttpRouteTimeouts>) -> gateway::HttpRouteSpec {
        gateway::HttpRouteSpec {
            parent_refs: vec![self.service_parent()],
            rules: vec![gateway::HttpRouteRule {
                backend_refs: vec![self.backend(&self.app.name, None)],
                timeouts,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn version_service_name(&self, version: &str) -> String {
        format!("{}-{version}", self.app.name)
    }
}

fn istio_objects(ctx: &MeshContext<'_>, policy: &MeshPolicy) -> Result<Vec<Object>> {
    let name = ctx.app.name.clone();
    let mut objects = Vec::new();
    let resilience = policy.resilience.as_ref();
    let has_route_settings = resilience.is_some_and(|r| r.retries.is_some() || r.timeout.is_some());
    if policy.traffic.is_some() || has_route_settings {
        let spec = istio_virtual_service(ctx, policy.traffic.as_ref(), resilience)?;
        objects.push(Object::VirtualService(istio::VirtualService::new(ctx.meta(name.clone()), spec)));
    }
    let traffic_policy = resilience.map(istio_traffic_policy).transpose()?.flatten();
    let subsets: Vec<istio::Subset> = policy
        .traffic
        .iter()
        .flat_map(|t| &t.backends)
        .map(|b| istio::Subset {
            name: b.version.clone(),
            labels: BTreeMap::from([(VERSION_LABEL.to_string(), b.version.clone())]),
        })
        .collect();
    if traffic_policy.is_some() || !subsets.is_empty() {
        let spec = istio::DestinationRuleSpec { host: ctx.host(), traffic_policy, subsets };
        objects.push(Object::DestinationRule(istio::DestinationRule::new(ctx.meta(name.clone()), spec)));
    }
    let mode = match policy.mtls {
        MtlsMode::Strict => Some(istio::MutualTlsMode::Strict),
        MtlsMode::Permissive => Some(istio::MutualTlsMode::Permissive),
        MtlsMode::Inherit => None,
    };
    if let Some(mode) = mode {
        let spec = istio::PeerAuthenticationSpec {
            selector: Some(ctx.workload_selector()),
            mtls: Some(istio::MutualTls { mode }),
        };
        objects.push(Object::PeerAuthentication(istio::PeerAuthentication::new(ctx.meta(name.clone()), spec)));
    }
    if let Some(tracing) = &policy.tracing {
        let spec = istio::TelemetrySpec {
            selector: Some(ctx.workload_selector()),
            tracing: vec![istio::Tracing {
                providers: vec![istio::ProviderRef { name: tracing.provider.clone() }],
                random_sampling_percentage: Some(tracing.sampling_percent),
            }],
        };
        objects.push(Object::Telemetry(istio::Telemetry::new(ctx.meta(name), spec)));
    }
    Ok(objects)
}

fn istio_virtual_service(
    ctx: &MeshContext<'_>,
    traffic: Option<&TrafficSplit>,
    resilience: Option<&Resilience>,
) -> Result<istio::VirtualServiceSpec> {
    let host = ctx.host();
    let destination = |subset: Option<&str>, weight: Option<i32>| istio::HttpRouteDestination {
        destination: istio::Destination {
            host: host.clone(),
            subset: subset.map(str::to_string),
            port: Some(istio::PortSelector { number: SERVICE_PORT.unsigned_abs() }),
        },
        weight,
    };
    let retries = resilience.and_then(|r| r.retries.as_ref()).map(istio_retry).transpose()?;
    let timeout = resilience.and_then(|r| r.timeout).map(super::crd::duration);
    let rule = |name: &str, matches, route| istio::HttpRoute {
        name: Some(name.to_string()),
        matches,
        route,
        retries: retries.clone(),
        timeout: timeout.clone(),
    };
    let mut http = Vec::new();
    if let Some(hm) = traffic.and_then(|t| t.header_match.as_ref()) {
        let matches = vec![istio::HttpMatchRequest {
            headers: BTreeMap::from([(hm.header.clone(), istio::StringMatch::Exact(hm.value.clone()))]),
        }];
        http.push(rule("header-match", matches, vec![destination(Some(&hm.version), Some(100))]));
    }
    let route = match traffic {
        Some(t) => t
            .backends
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let weight = int32(&format!("traffic.backends[{i}].weight"), b.weight)?;
                Ok(destination(Some(&b.version), Some(weight)))
            })
            .collect::<Result<Vec<_>>>()?,
        None => vec![destination(None, None)],
    };
    http.push(rule("split", Vec::new(), route));
    Ok(istio::VirtualServiceSpec { hosts: vec![host.clone()], http })
}

fn istio_retry(retry: &RetryPolicy) -> Result<istio::HttpRetry> {
    Ok(istio::HttpRetry {
        attempts: int32("resilience.retries.attempts", retry.attempts)?,
        per_try_timeout: Some(super::crd::duration(retry.per_try_timeout)),
        retry_on: (!retry.retry_on.is_empty()).then(|| retry.retry_on.join(",")),
    })
}

fn istio_traffic_policy(resilience: &Resilience) -> Result<Option<istio::TrafficPolicy>> {
    let opt = |field: &str, v: Option<u32>| v.map(|v| int32(field, v)).transpose();
    let connection_pool = match &resilience.connection_pool {
        Some(pool) => {
            let max_connections = opt("resilience.connection_pool.max_connections", pool.max_connections)?;
            let http = istio::HttpSettings {
                http1_max_pending_requests: opt(
                    "resilience.connection_pool.http1_max_pending_requests",
                    pool.http1_max_pending_requests,
                )?,
                http2_max_requests: opt("resilience.connection_pool.http2_max_requests", pool.http2_max_requests)?,
                max_requests_per_connection: opt(
                    "resilience.connection_pool.max_requests_per_connection",
                    pool.max_requests_per_connection,
                )?,
            };
            let http_set = http != istio::HttpSettings::default();
            Some(istio::ConnectionPoolSettings {
                tcp: max_connections.map(|m| istio::TcpSettings { max_connections: Some(m) }),
                http: http_set.then_some(http),
            })
        }
        None => None,
    };
    let outlier_detection = match &resilience.outlier_detection {
        Some(od) => Some(istio::OutlierDetection {
            consecutive_5xx_errors: Some(od.consecutive_5xx_errors),
            interval: Some(super::crd::duration(od.interval)),
            base_ejection_time: Some(super::crd::duration(od.base_ejection_time)),
            max_ejection_percent: Some(int32(
                "resilience.outlier_detection.max_ejection_percent",
                od.max_ejection_percent,
            )?),
        }),
        None => None,
    };
    if connection_pool.is_none() && outlier_detection.is_none() {
        return Ok(None);
    }
    Ok(Some(istio::TrafficPolicy { connection_pool, outlier_detection }))
}

/// One Service per version for the Gateway API and Linkerd, which split between Services, not subsets.
fn version_services(ctx: &MeshContext<'_>, traffic: Option<&TrafficSplit>) -> Vec<Object> {
    let Some(traffic) = traffic else {
        return Vec::new();
    };
    traffic
        .backends
        .iter()
        .map(|b| {
            let mut meta = ctx.meta(ctx.version_service_name(&b.version));
            // The version label keeps these Services out of the app's ServiceMonitor, which selects the app's
            // own Service only.
            if let Some(labels) = meta.labels.as_mut() {
                labels.insert(VERSION_LABEL.to_string(), b.version.clone());
            }
            let selector = BTreeMap::from([
                (NAME_LABEL.to_string(), ctx.app.name.clone()),
                (INSTANCE_LABEL.to_string(), ctx.app.name.clone()),
                (COMPONENT_LABEL.to_string(), WEB_COMPONENT.to_string()),
                (VERSION_LABEL.to_string(), b.version.clone()),
            ]);
            Object::Service(Service {
                metadata: meta,
                spec: Some(ServiceSpec {
                    selector: Some(selector),
                    ports: Some(vec![ServicePort {
                        name: Some(HTTP_PORT_NAME.to_string()),
                        port: SERVICE_PORT,
                        target_port: Some(IntOrString::String(HTTP_PORT_NAME.to_string())),
                        app_protocol: Some("http".to_string()),
                        ..ServicePort::default()
                    }]),
                    ..ServiceSpec::default()
                }),
                status: None,
            })
        })
        .collect()
}

/// The HTTPRoute spec shared by the Gateway API and Linkerd; none when the policy routes nothing.
fn route_spec(ctx: &MeshContext<'_>, policy: &MeshPolicy) -> Result<Option<gateway::HttpRouteSpec>> {
    let timeout = policy.resilience.as_ref().and_then(|r| r.timeout);
    let timeouts = timeout
        .map(|t| super::crd::gateway_duration("resilience.timeout", t))
        .transpose()?
        .map(|request| gateway::HttpRouteTimeouts { request: Some(request), backend_request: None });
    let Some(traffic) = &policy.traffic else {
        return Ok(timeouts.map(|timeouts| ctx.whole_service_route(Some(timeouts))));
    };
    let mut rules = Vec::new();
    if let Some(hm) = &traffic.header_match {
        rules.push(gateway::HttpRouteRule {
            matches: vec![gateway::HttpRouteMatch {
                headers: vec![gateway::HttpHeaderMatch {
                    match_type: Some(gateway::HeaderMatchType::Exact),
                    name: hm.header.clone(),
                    value: hm.value.clone(),
                }],
            }],
            backend_refs: vec![ctx.backend(&ctx.version_service_name(&hm.version), None)],
            timeouts: timeouts.clone(),
        });
    }
    let backend_refs = traffic
        .backends
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let weight = int32(&format!("traffic.backends[{i}].weight"), b.weight)?;
            Ok(ctx.backend(&ctx.version_service_name(&b.version), Some(weight)))
        })
        .collect::<Result<Vec<_>>>()?;
    rules.push(gateway::HttpRouteRule { matches: Vec::new(), backend_refs, timeouts });
    Ok(Some(gateway::HttpRouteSpec { parent_refs: vec![ctx.service_parent()], rules, ..Default::default() }))
}

/// Linkerd's retry and timeout annotations for a route.
fn linkerd_annotations(resilience: Option<&Resilience>) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::new();
    let Some(resilience) = resilience else {
        return annotations;
    };
    if let Some(retry) = &resilience.retries {
        let conditions = linkerd_retry_on(retry);
        if !conditions.is_empty() {
            annotations.insert("retry.linkerd.io/http".to_string(), conditions.join(","));
        }
        annotations.insert("retry.linkerd.io/limit".to_string(), retry.attempts.to_string());
        annotations.insert("retry.linkerd.io/timeout".to_string(), super::crd::duration(retry.per_try_timeout));
    }
    if let Some(timeout) = resilience.timeout {
        annotations.insert("timeout.linkerd.io/request".to_string(), super::crd::duration(timeout));
    }
    annotations
}

/// The retry conditions Linkerd understands: `5xx`, `gateway-error`, a status code or a range of them.
/// Linkerd's consecutive-failures accrual from outlier detection: after `consecutive_5xx_errors` failures an
/// endpoint is taken out of the balancer for at least `base_ejection_time`.
fn linkerd_failure_accrual(resilience: Option<&Resilience>) -> BTreeMap<String, String> {
    let Some(od) = resilience.and_then(|r| r.outlier_detection.as_ref()) else { return BTreeMap::new() };
    BTreeMap::from([
        ("balancer.linkerd.io/failure-accrual".to_string(), "consecutive".to_string()),
        (
            "balancer.linkerd.io/failure-accrual-consecutive-max-failures".to_string(),
            od.consecutive_5xx_errors.to_string(),
        ),
        (
            "balancer.linkerd.io/failure-accrual-consecutive-min-penalty".to_string(),
            super::crd::duration(od.base_ejection_time),
        ),
    ])
}

fn linkerd_retry_on(retry: &RetryPolicy) -> Vec<&str> {
    // Of the (validated) Envoy condition names, Linkerd's retry annotation knows these two.
    retry.retry_on.iter().map(String::as_str).filter(|c| matches!(*c, "5xx" | "gateway-error")).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;

    use super::*;

    /// Validates both, then renders, as the mesh configurators do.
    fn mesh(policy: &MeshPolicy, app: &AppSpec) -> Result<Vec<Object>> {
        super::mesh(&crate::validate::mesh_policy(policy)?, &crate::validate::app_spec(app)?)
    }
    use crate::model::{
        AppRef, ConnectionPool, Framework, HeaderMatch, OutlierDetection, TracingSpec, WeightedBackend,
    };

    fn app() -> AppSpec {
        AppSpec::new("hr", "employee-management", "registry.example.com/hr/em:1.4.2", Framework::Flask)
    }

    fn policy(kind: MeshKind) -> MeshPolicy {
        MeshPolicy::split(AppRef::new("hr", "employee-management"), kind, TrafficSplit::canary("v1", "v2", 10))
    }

    fn with_header_match(mut p: MeshPolicy) -> MeshPolicy {
        if let Some(t) = p.traffic.as_mut() {
            t.header_match =
                Some(HeaderMatch { header: "x-canary".into(), value: "always".into(), version: "v2".into() });
        }
        p
    }

    fn resilience() -> Resilience {
        Resilience {
            outlier_detection: Some(OutlierDetection {
                consecutive_5xx_errors: 5,
                interval: Duration::from_secs(10),
                base_ejection_time: Duration::from_secs(30),
                max_ejection_percent: 50,
            }),
            connection_pool: Some(ConnectionPool {
                max_connections: Some(100),
                http1_max_pending_requests: Some(10),
                http2_max_requests: Some(200),
                max_requests_per_connection: Some(1),
            }),
            retries: Some(RetryPolicy {
                attempts: 3,
                per_try_timeout: Duration::from_millis(1500),
                retry_on: vec!["5xx".into(), "reset".into()],
            }),
            timeout: Some(Duration::from_secs(10)),
        }
    }

    fn render(p: &MeshPolicy) -> Vec<Value> {
        mesh(p, &app()).unwrap().iter().map(|o| o.to_json().unwrap()).collect()
    }

    fn find<'a>(objects: &'a [Value], kind: &str) -> Option<&'a Value> {
        objects.iter().find(|o| o["kind"] == kind)
    }

    fn weights(route: &Value) -> Vec<(String, i64)> {
        route
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["destination"]["subset"].as_str().unwrap().to_string(), d["weight"].as_i64().unwrap()))
            .collect()
    }

    #[test]
    fn istio_virtual_service_weights_equal_the_split() {
        let objects = render(&policy(MeshKind::Istio));
        let vs = find(&objects, "VirtualService").unwrap();
        assert_eq!(vs["apiVersion"], "networking.istio.io/v1");
        assert_eq!(vs["metadata"]["name"], "employee-management");
        assert_eq!(vs["metadata"]["namespace"], "hr");
        assert_eq!(vs["metadata"]["labels"][crate::model::MANAGED_BY_LABEL], crate::model::MANAGED_BY_VALUE);
        assert_eq!(vs["spec"]["hosts"][0], "employee-management.hr.svc.cluster.local");
        let http = vs["spec"]["http"].as_array().unwrap();
        assert_eq!(http.len(), 1);
        assert_eq!(weights(&http[0]["route"]), [("v1".to_string(), 90), ("v2".to_string(), 10)]);
        assert_eq!(http[0]["route"][0]["destination"]["host"], "employee-management.hr.svc.cluster.local");
        assert_eq!(http[0]["route"][0]["destination"]["port"]["number"], 80);
        // No resilience asked for: no retries or timeout written.
        assert!(http[0].get("retries").is_none() && http[0].get("timeout").is_none());
    }

    #[test]
    fn istio_header_match_route_comes_first() {
        let objects = render(&with_header_match(policy(MeshKind::Istio)));
        let http = find(&objects, "VirtualService").unwrap()["spec"]["http"].as_array().unwrap().clone();
        assert_eq!(http.len(), 2);
        assert_eq!(http[0]["match"][0]["headers"]["x-canary"]["exact"], "always");
        assert_eq!(weights(&http[0]["route"]), [("v2".to_string(), 100)]);
        assert!(http[1].get("match").is_none());
        assert_eq!(weights(&http[1]["route"]), [("v1".to_string(), 90), ("v2".to_string(), 10)]);
    }

    #[test]
    fn istio_destination_rule_subsets_match_versions() {
        let mut p = policy(MeshKind::Istio);
        p.traffic = Some(TrafficSplit {
            backends: ["v1", "v2", "v3"]
                .iter()
                .zip([50, 30, 20])
                .map(|(v, weight)| WeightedBackend { version: (*v).into(), weight })
                .collect(),
            header_match: None,
        });
        let objects = render(&p);
        let dr = find(&objects, "DestinationRule").unwrap();
        assert_eq!(dr["apiVersion"], "networking.istio.io/v1");
        assert_eq!(dr["spec"]["host"], "employee-management.hr.svc.cluster.local");
        let subsets: Vec<(&str, &str)> = dr["spec"]["subsets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["name"].as_str().unwrap(), s["labels"][VERSION_LABEL].as_str().unwrap()))
            .collect();
        assert_eq!(subsets, [("v1", "v1"), ("v2", "v2"), ("v3", "v3")]);
        assert!(dr["spec"].get("trafficPolicy").is_none());
    }

    #[test]
    fn istio_resilience_lands_in_the_route_and_the_traffic_policy() {
        let mut p = policy(MeshKind::Istio);
        p.resilience = Some(resilience());
        let objects = render(&p);
        let route = &find(&objects, "VirtualService").unwrap()["spec"]["http"][0];
        assert_eq!(route["retries"]["attempts"], 3);
        assert_eq!(route["retries"]["perTryTimeout"], "1500ms");
        assert_eq!(route["retries"]["retryOn"], "5xx,reset");
        assert_eq!(route["timeout"], "10s");
        let tp = &find(&objects, "DestinationRule").unwrap()["spec"]["trafficPolicy"];
        assert_eq!(tp["connectionPool"]["tcp"]["maxConnections"], 100);
        assert_eq!(tp["connectionPool"]["http"]["http1MaxPendingRequests"], 10);
        assert_eq!(tp["connectionPool"]["http"]["http2MaxRequests"], 200);
        assert_eq!(tp["connectionPool"]["http"]["maxRequestsPerConnection"], 1);
        assert_eq!(tp["outlierDetection"]["consecutive5xxErrors"], 5);
        assert_eq!(tp["outlierDetection"]["interval"], "10s");
        assert_eq!(tp["outlierDetection"]["baseEjectionTime"], "30s");
        assert_eq!(tp["outlierDetection"]["maxEjectionPercent"], 50);
        assert!(mesh_ignored(&p).is_empty());
    }

    #[test]
    fn istio_resilience_without_a_split_routes_to_the_whole_service() {
        let mut p = policy(MeshKind::Istio);
        p.traffic = None;
        p.resilience = Some(Resilience { timeout: Some(Duration::from_secs(5)), ..Resilience::default() });
        let objects = render(&p);
        let route = &find(&objects, "VirtualService").unwrap()["spec"]["http"][0];
        assert!(route["route"][0]["destination"].get("subset").is_none());
        assert!(route["route"][0].get("weight").is_none());
        assert_eq!(route["timeout"], "5s");
        // Nothing for a DestinationRule to say.
        assert!(find(&objects, "DestinationRule").is_none());
    }

    #[test]
    fn istio_mtls_modes() {
        for (mode, expected) in
            [(MtlsMode::Strict, Some("STRICT")), (MtlsMode::Permissive, Some("PERMISSIVE")), (MtlsMode::Inherit, None)]
        {
            let mut p = policy(MeshKind::Istio);
            p.mtls = mode;
            let objects = render(&p);
            let pa = find(&objects, "PeerAuthentication");
            assert_eq!(pa.map(|pa| pa["spec"]["mtls"]["mode"].as_str().unwrap()), expected, "{mode:?}");
            if let Some(pa) = pa {
                assert_eq!(pa["apiVersion"], "security.istio.io/v1");
                assert_eq!(pa["spec"]["selector"]["matchLabels"][NAME_LABEL], "employee-management");
            }
        }
    }

    #[test]
    fn istio_telemetry_only_with_tracing() {
        let mut p = policy(MeshKind::Istio);
        assert!(find(&render(&p), "Telemetry").is_none());
        p.tracing = Some(TracingSpec { sampling_percent: 12.5, provider: "otel".into() });
        let objects = render(&p);
        let t = find(&objects, "Telemetry").unwrap();
        assert_eq!(t["apiVersion"], "telemetry.istio.io/v1");
        assert_eq!(t["spec"]["tracing"][0]["providers"][0]["name"], "otel");
        assert_eq!(t["spec"]["tracing"][0]["randomSamplingPercentage"], 12.5);
        assert_eq!(t["spec"]["selector"]["matchLabels"][NAME_LABEL], "employee-management");
    }

    fn backend_weights(rule: &Value) -> Vec<(String, Option<i64>)> {
        rule["backendRefs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                assert_eq!(b["port"], 80);
                (b["name"].as_str().unwrap().to_string(), b["weight"].as_i64())
            })
            .collect()
    }

    fn assert_mesh_route(route: &Value) {
        let parents = route["spec"]["parentRefs"].as_array().unwrap();
        assert_eq!(parents.len(), 1);
        assert_eq!(parents[0]["group"], "");
        assert_eq!(parents[0]["kind"], "Service");
        assert_eq!(parents[0]["name"], "employee-management");
        assert_eq!(parents[0]["port"], 80);
        let rules = route["spec"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 2);
        let header = &rules[0]["matches"][0]["headers"][0];
        assert_eq!(
            (&header["type"], &header["name"], &header["value"]),
            (&"Exact".into(), &"x-canary".into(), &"always".into())
        );
        assert_eq!(backend_weights(&rules[0]), [("employee-management-v2".to_string(), None)]);
        assert_eq!(
            backend_weights(&rules[1]),
            [("employee-management-v1".to_string(), Some(90)), ("employee-management-v2".to_string(), Some(10))]
        );
    }

    fn assert_version_services(objects: &[Value]) {
        let services: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "Service").collect();
        let names: Vec<&str> = services.iter().map(|s| s["metadata"]["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["employee-management-v1", "employee-management-v2"]);
        for (svc, version) in services.iter().zip(["v1", "v2"]) {
            assert_eq!(svc["spec"]["selector"][VERSION_LABEL], version);
            assert_eq!(svc["spec"]["selector"][NAME_LABEL], "employee-management");
            assert_eq!(svc["spec"]["ports"][0]["port"], 80);
            assert_eq!(svc["spec"]["ports"][0]["targetPort"], HTTP_PORT_NAME);
        }
    }

    #[test]
    fn gateway_api_route_attaches_to_the_service_and_splits_by_weight() {
        let mut p = with_header_match(policy(MeshKind::GatewayApi));
        p.resilience = Some(resilience());
        let objects = render(&p);
        assert_version_services(&objects);
        let route = find(&objects, "HTTPRoute").unwrap();
        assert_eq!(route["apiVersion"], "gateway.networking.k8s.io/v1");
        assert_mesh_route(route);
        for rule in route["spec"]["rules"].as_array().unwrap() {
            assert_eq!(rule["timeouts"]["request"], "10s");
            // The standard channel has no retry field.
            assert!(rule.get("retry").is_none());
        }
        assert_eq!(
            mesh_ignored(&p),
            ["resilience.retries", "resilience.outlier_detection", "resilience.connection_pool", "mtls"]
        );
        // The route is the last object: the Services it points at exist first.
        assert_eq!(objects.last().unwrap()["kind"], "HTTPRoute");
    }

    #[test]
    fn linkerd_route_has_the_same_shape_and_carries_retry_annotations() {
        let mut p = with_header_match(policy(MeshKind::Linkerd));
        p.resilience = Some(resilience());
        let objects = render(&p);
        assert_version_services(&objects);
        let route = find(&objects, "HTTPRoute").unwrap();
        assert_eq!(route["apiVersion"], "policy.linkerd.io/v1beta3");
        assert_mesh_route(route);
        let annotations = &route["metadata"]["annotations"];
        assert_eq!(annotations["retry.linkerd.io/http"], "5xx");
        assert_eq!(annotations["retry.linkerd.io/limit"], "3");
        assert_eq!(annotations["retry.linkerd.io/timeout"], "1500ms");
        assert_eq!(annotations["timeout.linkerd.io/request"], "10s");
        assert_eq!(route["spec"]["rules"][1]["timeouts"]["request"], "10s");
        // `reset` has no Linkerd name.
        assert!(mesh_ignored(&p).contains(&"resilience.retries.retry_on"));
        // Outlier detection becomes failure accrual on the per-version Services.
        assert!(!mesh_ignored(&p).contains(&"resilience.outlier_detection"));
        let versions: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "Service").collect();
        assert!(!versions.is_empty());
        for service in versions {
            let a = &service["metadata"]["annotations"];
            assert_eq!(a["balancer.linkerd.io/failure-accrual"], "consecutive");
            let od = resilience().outlier_detection.unwrap();
            assert_eq!(
                a["balancer.linkerd.io/failure-accrual-consecutive-max-failures"],
                od.consecutive_5xx_errors.to_string()
            );
            assert_eq!(
                a["balancer.linkerd.io/failure-accrual-consecutive-min-penalty"],
                crate::render::crd::duration(od.base_ejection_time)
            );
        }
        let mut without_split = p.clone();
        without_split.traffic = None;
        assert!(mesh_ignored(&without_split).contains(&"resilience.outlier_detection"));
    }

    #[test]
    fn linkerd_retries_without_a_split_still_get_a_route() {
        let mut p = policy(MeshKind::Linkerd);
        p.traffic = None;
        p.resilience = Some(Resilience {
            retries: Some(RetryPolicy {
                attempts: 2,
                per_try_timeout: Duration::from_secs(2),
                retry_on: vec!["gateway-error".into(), "5xx".into(), "connect-failure".into()],
            }),
            ..Resilience::default()
        });
        let objects = render(&p);
        assert_eq!(objects.len(), 1);
        let route = &objects[0];
        assert_eq!(route["metadata"]["annotations"]["retry.linkerd.io/http"], "gateway-error,5xx");
        assert_eq!(backend_weights(&route["spec"]["rules"][0]), [("employee-management".to_string(), None)]);
        assert!(route["metadata"]["annotations"].get("timeout.linkerd.io/request").is_none());
    }

    #[test]
    fn gateway_api_timeout_without_a_split_routes_to_the_app_service() {
        let mut p = policy(MeshKind::GatewayApi);
        p.traffic = None;
        p.mtls = MtlsMode::Inherit;
        assert!(render(&p).is_empty());
        p.resilience = Some(Resilience { timeout: Some(Duration::from_millis(123_500)), ..Resilience::default() });
        let objects = render(&p);
        assert_eq!(objects.len(), 1);
        let rule = &objects[0]["spec"]["rules"][0];
        assert_eq!(backend_weights(rule), [("employee-management".to_string(), None)]);
        assert_eq!(rule["timeouts"]["request"], "2m3s500ms");
        assert!(mesh_ignored(&p).is_empty());
    }

    #[test]
    fn a_policy_for_another_app_is_refused() {
        let mut p = policy(MeshKind::Istio);
        p.app = AppRef::new("hr", "payroll");
        let err = mesh(&p, &app()).unwrap_err();
        assert_eq!(err.violations()[0].field, "app");
    }

    #[test]
    fn weights_not_summing_to_100_are_invalid() {
        let mut p = policy(MeshKind::Istio);
        p.traffic = Some(TrafficSplit::canary("v1", "v2", 10));
        if let Some(t) = p.traffic.as_mut() {
            t.backends[1].weight = 0;
        }
        let err = mesh(&p, &app()).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::InvalidSpec);
    }

    #[test]
    fn rendered_mesh_objects_have_no_nulls() {
        for kind in [MeshKind::Istio, MeshKind::GatewayApi, MeshKind::Linkerd] {
            let mut p = with_header_match(policy(kind));
            p.resilience = Some(resilience());
            p.tracing = Some(TracingSpec { sampling_percent: 1.0, provider: "otel".into() });
            let objects = mesh(&p, &app()).unwrap();
            assert!(!objects.is_empty());
            for object in &objects {
                let json = object.to_json().unwrap();
                assert_eq!(super::super::crd::nulls(&json), Vec::<String>::new(), "{}", object.key());
                assert_eq!(json["kind"], object.kind());
                assert_eq!(json["apiVersion"], object.api_version());
            }
        }
    }
}
