//! Monitoring of an app: ServiceMonitor, alert rules, a Grafana dashboard, an Alertmanager route, and the
//! cert-manager Certificate of its TLS host.
//!
//! The app is expected to expose Prometheus' HTTP conventions: `http_requests_total` with a `status` label and
//! the `http_request_duration_seconds` histogram. Container metrics come from cAdvisor and kube-state-metrics.
//! Every expression is scoped to the app's namespace and to its job (`job="<app>"`, the Service name the
//! ServiceMonitor scrapes) or its Deployment's pods.
//!
//! Each alert carries an `auto_repair` label (see [`RepairAction`], the values hosts of the platform already
//! route on) telling the repair engine what to do, and `app` and `namespace` labels the Alertmanager route
//! matches on.
//!
//! | alert | `auto_repair` | severity |
//! |---|---|---|
//! | `<App>TargetDown` (service down 5 min) | `restart` | critical |
//! | `<App>MemoryNearLimit` (working set above `memory_ratio`, 90% by default, of the limit) | `scale_memory` | warning |
//! | `<App>OOMKilled` | `oom_handler` | warning |
//! | `<App>CrashLooping` | `rollback` | critical |
//! | `<App>High5xxRatio` (above `error_ratio_5xx`, 5% by default) | `rollback` | critical |
//! | `<App>HighP95Latency` | `scale_up` | warning |
//! | `<App>FailedPodsPiling` (failed or evicted pods kept 15 min) | `cleanup` | warning |
//!
//! Pod-level alerts cover the web Deployment's pods and Django's Celery worker (`<app>-worker-…`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use serde::Serialize;

use super::Object;
use super::crd::{cert_manager, prometheus};
use super::mesh::app_meta;
use super::meta::{INSTANCE_LABEL, NAME_LABEL, VERSION_LABEL};
use super::workload::{HTTP_PORT_NAME, METRICS_PORT_NAME};
use crate::error::{Error, Result};
use crate::model::{AlertThresholds, AppSpec, MonitoringSpec};
use crate::validate::ValidApp;

/// The app's container name in its pods.
use super::workload::CONTAINER_NAME as CONTAINER;
const SCRAPE_INTERVAL: &str = "30s";
/// The Alertmanager receiver of the remediation service.
const REMEDIATION_RECEIVER: &str = "wooo-remediation";
/// The port and path the remediation service takes Alertmanager webhooks on.
const REMEDIATION_PORT_PATH: &str = ":8080/alerts";
/// The root route's receiver: alerts of other apps are not ours to route.
const DEFAULT_RECEIVER: &str = "wooo-default";
/// The label Grafana's dashboard sidecar looks for.
const DASHBOARD_LABEL: &str = "grafana_dashboard";

/// The alert label naming the repair to run.
pub const AUTO_REPAIR_LABEL: &str = "auto_repair";

/// What the repair engine is asked to do when an alert fires (the alert's `auto_repair` label).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepairAction {
    /// `restart`: the service is down; restart its pods (a rolling restart of the Deployment).
    Restart,
    /// `scale_memory`: memory stays near the limit; raise the container's memory request and limit one step.
    ScaleMemory,
    /// `oom_handler`: a container was OOM-killed; raise its memory limit and record the kill for the owner.
    OomHandler,
    /// `rollback`: the current revision fails (5xx ratio, crash loop); roll back to the previous revision.
    Rollback,
    /// `scale_up`: latency is high; add replicas (within the autoscaler's bounds when there is one).
    ScaleUp,
    /// `cleanup`: failed or evicted pods pile up; delete them.
    Cleanup,
}

impl RepairAction {
    /// Every action.
    pub const ALL: [RepairAction; 6] = [
        RepairAction::Restart,
        RepairAction::ScaleMemory,
        RepairAction::OomHandler,
        RepairAction::Rollback,
        RepairAction::ScaleUp,
        RepairAction::Cleanup,
    ];

    /// The label value (`scale_memory`).
    pub fn as_str(self) -> &'static str {
        match self {
            RepairAction::Restart => "restart",
            RepairAction::ScaleMemory => "scale_memory",
            RepairAction::OomHandler => "oom_handler",
            RepairAction::Rollback => "rollback",
            RepairAction::ScaleUp => "scale_up",
            RepairAction::Cleanup => "cleanup",
        }
    }

    /// The action a label value names.
    pub fn from_label(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }
}

/// Renders an app's monitoring objects: `ServiceMonitor <app>`, `PrometheusRule <app>` and the dashboard
/// `ConfigMap <app>-dashboard`. Empty when the app has no `monitoring` section.
///
/// # Errors
/// [`Error::InvalidSpec`] when a threshold does not fit its field.
pub fn monitoring(app: &ValidApp) -> Result<Vec<Object>> {
    let Some(spec) = &app.monitoring else {
        return Ok(Vec::new());
    };
    let monitor = prometheus::ServiceMonitor::new(app_meta(app, app.name.clone()), service_monitor(app, spec));
    let rules = prometheus::PrometheusRule::new(
        app_meta(app, app.name.clone()),
        prometheus::PrometheusRuleSpec { groups: vec![rule_group(app, &spec.alerts)] },
    );
    Ok(vec![Object::ServiceMonitor(monitor), Object::PrometheusRule(rules), dashboard_config_map(app)?])
}

/// The app's alert rule group (`<app>.rules`): the group of its PrometheusRule, usable on its own.
///
/// # Errors
/// [`Error::InvalidSpec`] (field `monitoring`) when the app has no monitoring.
pub fn alert_rules(app: &ValidApp) -> Result<prometheus::RuleGroup> {
    Ok(rule_group(app, &monitoring_spec(app)?.alerts))
}

/// The app's alert rules as a Prometheus rule file (YAML, `groups: [...]`), for `promtool check rules` and
/// Prometheus servers not run by the operator.
///
/// # Errors
/// As [`alert_rules`].
pub fn prometheus_rule_file(app: &ValidApp) -> Result<String> {
    let file = prometheus::RuleFile { groups: vec![alert_rules(app)?] };
    crate::model::to_yaml(&file)
}

/// A complete Alertmanager configuration (YAML) routing the app's alerts: every alert with a `repair_action` to
/// the `wooo-remediation` webhook (`http://wooo-remediation.<ns>.svc:8080/alerts`, resolved alerts too), and
/// critical ones also to the receiver `<app>-oncall`, which the host fills in with its paging integration.
/// Alerts of other apps go to an empty default receiver. Grouping is by alert name.
///
/// # Errors
/// As [`alert_rules`].
pub fn alertmanager_fragment(app: &ValidApp) -> Result<String> {
    monitoring_spec(app)?;
    crate::model::to_yaml(&alertmanager_config(app))
}

/// The cert-manager `Certificate <app>-tls` for the app's ingress host, when the ingress has TLS: signed by the
/// ClusterIssuer the spec names, stored in the spec's Secret (`<app>-tls` by default).
///
/// Apply either this or an Ingress annotated for cert-manager's ingress-shim, not both: the shim would want a
/// Certificate of the same Secret.
///
/// # Errors
/// None today; the `Result` leaves room for fields a future Certificate needs to convert.
pub fn certificate(app: &ValidApp) -> Result<Option<Object>> {
    let Some((ingress, tls)) = app.ingress.as_ref().and_then(|i| i.tls.as_ref().map(|t| (i, t))) else {
        return Ok(None);
    };
    let name = format!("{}-tls", app.name);
    let spec = cert_manager::CertificateSpec {
        secret_name: tls.secret_name.clone().unwrap_or_else(|| name.clone()),
        dns_names: vec![ingress.host.clone()],
        issuer_ref: cert_manager::IssuerRef {
            name: tls.issuer.clone(),
            kind: Some("ClusterIssuer".to_string()),
            group: Some("cert-manager.io".to_string()),
        },
    };
    Ok(Some(Object::Certificate(cert_manager::Certificate::new(app_meta(app, name), spec))))
}

fn monitoring_spec(app: &AppSpec) -> Result<&MonitoringSpec> {
    app.monitoring.as_ref().ok_or_else(|| Error::invalid_spec("monitoring", "is not set: the app has no alerts"))
}

fn service_monitor(app: &AppSpec, spec: &MonitoringSpec) -> prometheus::ServiceMonitorSpec {
    // The app renderer gives a metrics port its own named Service port only when it differs from the app port.
    let separate = spec.metrics_port.is_some_and(|p| p != app.effective_port());
    let port = if separate { METRICS_PORT_NAME } else { HTTP_PORT_NAME };
    prometheus::ServiceMonitorSpec {
        selector: LabelSelector {
            match_labels: Some(BTreeMap::from([
                (NAME_LABEL.to_string(), app.name.clone()),
                (INSTANCE_LABEL.to_string(), app.name.clone()),
            ])),
            // The per-version Services the mesh renderer adds carry a version label; scraping them too would
            // count every request twice under another job.
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: VERSION_LABEL.to_string(),
                operator: "DoesNotExist".to_string(),
                values: None,
            }]),
        },
        endpoints: vec![prometheus::Endpoint {
            port: Some(port.to_string()),
            path: Some(spec.metrics_path.clone()),
            interval: Some(SCRAPE_INTERVAL.to_string()),
        }],
    }
}

/// PromQL over one app's series.
struct Queries<'a> {
    namespace: &'a str,
    app: &'a str,
}

impl Queries<'_> {
    /// The app's scrape job.
    fn job(&self) -> String {
        format!(r#"namespace="{}",job="{}""#, self.namespace, self.app)
    }

    /// The app container of the app's Deployment pods, web (`<app>-<replicaset hash>-<suffix>`) and worker
    /// (`<app>-worker-<hash>-<suffix>`). The two trailing segments keep out pods of another app whose name
    /// starts with this one's (`web` vs `web-admin-…-…`); an app named `<app>-worker` would share the worker's
    /// pod names, so give apps in one namespace distinct stems.
    fn pods(&self) -> String {
        format!(r#"namespace="{}",{},container="{CONTAINER}""#, self.namespace, self.pod_names())
    }

    /// The pod-name matcher alone (kube-state-metrics' pod-level series carry no container label).
    fn pod_names(&self) -> String {
        format!(r#"pod=~"{}-(worker-)?[a-z0-9]+-[a-z0-9]+""#, self.app)
    }

    fn up(&self) -> String {
        format!("up{{{}}}", self.job())
    }

    fn memory_ratio(&self) -> String {
        let pods = self.pods();
        format!(
            "max by (pod) (container_memory_working_set_bytes{{{pods}}}) / \
             max by (pod) (kube_pod_container_resource_limits{{{pods},resource=\"memory\"}})"
        )
    }

    fn requests_per_second(&self) -> String {
        format!("sum(rate(http_requests_total{{{}}}[5m]))", self.job())
    }

    fn error_ratio(&self) -> String {
        format!(
            "sum(rate(http_requests_total{{{job},status=~\"5..\"}}[5m])) / {all}",
            job = self.job(),
            all = self.requests_per_second()
        )
    }

    fn p95_latency(&self) -> String {
        format!(
            "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{{}}}[5m])))",
            self.job()
        )
    }
}

#[derive(Clone, Copy)]
enum Severity {
    Critical,
    Warning,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
        }
    }
}

/// One alert before it becomes a rule.
struct Alert {
    suffix: &'static str,
    expr: String,
    for_duration: Option<String>,
    severity: Severity,
    action: RepairAction,
    summary: String,
    description: String,
}

fn rule_group(app: &AppSpec, thresholds: &AlertThresholds) -> prometheus::RuleGroup {
    let q = Queries { namespace: &app.namespace, app: &app.name };
    let who = format!("{}/{}", app.namespace, app.name);
    let pods = q.pods();
    let hold = Some(super::crd::duration(thresholds.for_duration));
    let five_minutes = Some("5m".to_string());
    let p95_seconds = thresholds.p95_latency.as_secs_f64();
    let alerts = [
        Alert {
            suffix: "TargetDown",
            expr: format!("{} == 0", q.up()),
            for_duration: five_minutes.clone(),
            severity: Severity::Critical,
            action: RepairAction::Restart,
            summary: format!("{who}: metrics target down"),
            description: format!("Prometheus has not scraped {{{{ $labels.instance }}}} of {who} for 5 minutes."),
        },
        Alert {
            suffix: "MemoryNearLimit",
            expr: format!("{} > {}", q.memory_ratio(), thresholds.memory_ratio),
            for_duration: hold.clone(),
            severity: Severity::Warning,
            action: RepairAction::ScaleMemory,
            summary: format!("{who}: memory near the limit"),
            description: format!(
                "Pod {{{{ $labels.pod }}}} uses {{{{ $value | humanizePercentage }}}} of its memory limit \
                 (threshold {}).",
                thresholds.memory_ratio
            ),
        },
        Alert {
            suffix: "OOMKilled",
            expr: format!(
                "increase(kube_pod_container_status_restarts_total{{{pods}}}[15m]) > 0 \
                 and on (namespace, pod, container) \
                 kube_pod_container_status_last_terminated_reason{{{pods},reason=\"OOMKilled\"}} == 1"
            ),
            for_duration: None,
            severity: Severity::Warning,
            action: RepairAction::OomHandler,
            summary: format!("{who}: container OOM-killed"),
            description: "Pod {{ $labels.pod }} was killed for running out of memory in the last 15 minutes."
                .to_string(),
        },
        Alert {
            suffix: "CrashLooping",
            expr: format!(
                "max_over_time(kube_pod_container_status_waiting_reason{{{pods},reason=\"CrashLoopBackOff\"}}[5m]) \
                 >= 1"
            ),
            for_duration: five_minutes,
            severity: Severity::Critical,
            action: RepairAction::Rollback,
            summary: format!("{who}: crash looping"),
            description: "Pod {{ $labels.pod }} has been in CrashLoopBackOff for 5 minutes.".to_string(),
        },
        Alert {
            suffix: "High5xxRatio",
            expr: format!("{} > {}", q.error_ratio(), thresholds.error_ratio_5xx),
            for_duration: hold.clone(),
            severity: Severity::Critical,
            action: RepairAction::Rollback,
            summary: format!("{who}: high 5xx ratio"),
            description: format!(
                "{{{{ $value | humanizePercentage }}}} of requests to {who} fail with a 5xx status \
                 (threshold {}).",
                thresholds.error_ratio_5xx
            ),
        },
        Alert {
            suffix: "HighP95Latency",
            expr: format!("{} > {p95_seconds}", q.p95_latency()),
            for_duration: hold,
            severity: Severity::Warning,
            action: RepairAction::ScaleUp,
            summary: format!("{who}: high p95 latency"),
            description: format!(
                "p95 latency of {who} is {{{{ $value | humanizeDuration }}}} (threshold {}).",
                super::crd::duration(thresholds.p95_latency)
            ),
        },
        Alert {
            suffix: "FailedPodsPiling",
            expr: format!(
                "sum(kube_pod_status_phase{{namespace=\"{}\",{},phase=\"Failed\"}}) > 0",
                app.namespace,
                q.pod_names()
            ),
            for_duration: Some("15m".to_string()),
            severity: Severity::Warning,
            action: RepairAction::Cleanup,
            summary: format!("{who}: failed pods piling up"),
            description: format!(
                "{{{{ $value }}}} failed or evicted pods of {who} have been kept for 15 minutes; they hold IPs and \
                 clutter the namespace."
            ),
        },
    ];
    let prefix = alert_prefix(&app.name);
    let rules = alerts
        .into_iter()
        .map(|a| prometheus::Rule {
            alert: Some(format!("{prefix}{}", a.suffix)),
            record: None,
            expr: a.expr,
            for_duration: a.for_duration,
            labels: BTreeMap::from([
                ("severity".to_string(), a.severity.as_str().to_string()),
                (AUTO_REPAIR_LABEL.to_string(), a.action.as_str().to_string()),
                ("app".to_string(), app.name.clone()),
                ("namespace".to_string(), app.namespace.clone()),
            ]),
            annotations: BTreeMap::from([
                ("summary".to_string(), a.summary),
                ("description".to_string(), a.description),
            ]),
        })
        .collect();
    prometheus::RuleGroup { name: format!("{}.rules", app.name), interval: None, rules }
}

/// `employee-management` → `EmployeeManagement`. Alert names must start with a letter, so a leading digit gets
/// an `App` prefix.
fn alert_prefix(app: &str) -> String {
    let mut out: String = app
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert_str(0, "App");
    }
    out
}

/// Alertmanager configuration, the subset wooo writes.
#[derive(Serialize)]
struct AlertmanagerConfig {
    route: Route,
    receivers: Vec<Receiver>,
}

#[derive(Serialize, Default)]
struct Route {
    #[serde(skip_serializing_if = "Option::is_none")]
    receiver: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    group_by: Vec<String>,
    /// `label="value"` / `label=~"regex"` matchers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    matchers: Vec<String>,
    #[serde(rename = "continue", skip_serializing_if = "std::ops::Not::not")]
    continue_matching: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<Route>,
}

#[derive(Serialize)]
struct Receiver {
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    webhook_configs: Vec<WebhookConfig>,
}

#[derive(Serialize)]
struct WebhookConfig {
    url: String,
    send_resolved: bool,
}

fn alertmanager_config(app: &AppSpec) -> AlertmanagerConfig {
    let oncall = format!("{}-oncall", app.name);
    let actions: Vec<&str> = RepairAction::ALL.iter().map(|a| a.as_str()).collect();
    let by_alertname = vec!["alertname".to_string()];
    let app_route = Route {
        receiver: Some(oncall.clone()),
        group_by: by_alertname.clone(),
        matchers: vec![format!(r#"namespace="{}""#, app.namespace), format!(r#"app="{}""#, app.name)],
        routes: vec![
            // `continue` lets a critical alert reach the on-call receiver as well.
            Route {
                receiver: Some(REMEDIATION_RECEIVER.to_string()),
                matchers: vec![format!(r#"{AUTO_REPAIR_LABEL}=~"{}""#, actions.join("|"))],
                continue_matching: true,
                ..Route::default()
            },
            Route {
                receiver: Some(oncall.clone()),
                matchers: vec![r#"severity="critical""#.to_string()],
                ..Route::default()
            },
        ],
        ..Route::default()
    };
    AlertmanagerConfig {
        route: Route {
            receiver: Some(DEFAULT_RECEIVER.to_string()),
            group_by: by_alertname,
            routes: vec![app_route],
            ..Route::default()
        },
        receivers: vec![
            Receiver { name: DEFAULT_RECEIVER.to_string(), webhook_configs: Vec::new() },
            Receiver {
                name: REMEDIATION_RECEIVER.to_string(),
                webhook_configs: vec![WebhookConfig {
                    url: format!("http://{REMEDIATION_RECEIVER}.{}.svc{REMEDIATION_PORT_PATH}", app.namespace),
                    send_resolved: true,
                }],
            },
            Receiver { name: oncall, webhook_configs: Vec::new() },
        ],
    }
}

/// A Grafana dashboard, the fields wooo sets.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dashboard {
    uid: String,
    title: String,
    tags: Vec<String>,
    timezone: &'static str,
    editable: bool,
    schema_version: u32,
    version: u32,
    refresh: &'static str,
    time: TimeRange,
    templating: Templating,
    panels: Vec<Panel>,
}

#[derive(Serialize)]
struct TimeRange {
    from: &'static str,
    to: &'static str,
}

#[derive(Serialize)]
struct Templating {
    list: Vec<Variable>,
}

/// The data source variable, so the dashboard works whatever the Prometheus data source is called.
#[derive(Serialize)]
struct Variable {
    name: &'static str,
    label: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    query: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Panel {
    id: u32,
    title: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    grid_pos: GridPos,
    datasource: DataSourceRef,
    field_config: FieldConfig,
    targets: Vec<Target>,
}

#[derive(Serialize)]
struct GridPos {
    h: u32,
    w: u32,
    x: u32,
    y: u32,
}

#[derive(Serialize)]
struct DataSourceRef {
    #[serde(rename = "type")]
    kind: &'static str,
    uid: &'static str,
}

#[derive(Serialize)]
struct FieldConfig {
    defaults: FieldDefaults,
}

#[derive(Serialize)]
struct FieldDefaults {
    unit: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    ref_id: String,
    expr: String,
    legend_format: String,
}

/// Grafana's latest dashboard schema version this layout was checked against.
const DASHBOARD_SCHEMA_VERSION: u32 = 39;
/// Grafana dashboard uids are at most 40 characters.
const MAX_UID: usize = 40;

fn dashboard(app: &AppSpec) -> Dashboard {
    let q = Queries { namespace: &app.namespace, app: &app.name };
    let panel = |id: u32, title, kind, unit, targets: Vec<(String, &str)>| {
        let index = id - 1;
        Panel {
            id,
            title,
            kind,
            grid_pos: GridPos { h: 8, w: 12, x: (index % 2) * 12, y: (index / 2) * 8 },
            datasource: DataSourceRef { kind: "prometheus", uid: "${datasource}" },
            field_config: FieldConfig { defaults: FieldDefaults { unit } },
            targets: targets
                .into_iter()
                .zip('A'..)
                .map(|((expr, legend), ref_id)| Target {
                    ref_id: ref_id.to_string(),
                    expr,
                    legend_format: legend.to_string(),
                })
                .collect(),
        }
    };
    let pods = q.pods();
    let panels = vec![
        panel(1, "Availability", "stat", "percentunit", vec![(format!("avg({})", q.up()), "up")]),
        panel(2, "Requests per second", "timeseries", "reqps", vec![(q.requests_per_second(), "requests")]),
        panel(3, "p95 latency", "timeseries", "s", vec![(q.p95_latency(), "p95")]),
        panel(
            4,
            "Memory vs limit",
            "timeseries",
            "bytes",
            vec![
                (format!("max by (pod) (container_memory_working_set_bytes{{{pods}}})"), "{{pod}} working set"),
                (
                    format!("max by (pod) (kube_pod_container_resource_limits{{{pods},resource=\"memory\"}})"),
                    "{{pod}} limit",
                ),
            ],
        ),
        panel(5, "5xx ratio", "timeseries", "percentunit", vec![(q.error_ratio(), "5xx")]),
    ];
    Dashboard {
        uid: dashboard_uid(&app.namespace, &app.name),
        title: format!("{} / {}", app.namespace, app.name),
        tags: vec!["wooo".to_string(), app.namespace.clone()],
        timezone: "browser",
        editable: true,
        schema_version: DASHBOARD_SCHEMA_VERSION,
        version: 1,
        refresh: "30s",
        time: TimeRange { from: "now-6h", to: "now" },
        templating: Templating {
            list: vec![Variable { name: "datasource", label: "Data source", kind: "datasource", query: "prometheus" }],
        },
        panels,
    }
}

/// `<ns>-<app>` when it fits Grafana's 40 characters, else its start and a hash of the whole, so uids stay
/// unique and stable.
fn dashboard_uid(namespace: &str, app: &str) -> String {
    let full = format!("{namespace}-{app}");
    if full.len() <= MAX_UID {
        return full;
    }
    // FNV-1a: stable across Rust versions, unlike std's hasher.
    let hash = full.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut uid: String = full.chars().take(MAX_UID - 17).collect();
    let _ = write!(uid, "-{hash:016x}");
    uid
}

fn dashboard_config_map(app: &AppSpec) -> Result<Object> {
    let json = serde_json::to_string_pretty(&dashboard(app))
        .map_err(|e| Error::invalid_spec("monitoring", format!("cannot serialize the dashboard: {e}")))?;
    let mut meta = app_meta(app, format!("{}-dashboard", app.name));
    meta.labels.get_or_insert_with(BTreeMap::new).insert(DASHBOARD_LABEL.to_string(), "1".to_string());
    Ok(Object::ConfigMap(ConfigMap {
        metadata: meta,
        data: Some(BTreeMap::from([(format!("{}.json", app.name), json)])),
        ..ConfigMap::default()
    }))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;

    use super::*;

    fn valid(app: &AppSpec) -> ValidApp {
        crate::validate::app_spec(app).expect("valid app")
    }
    fn monitoring(app: &AppSpec) -> Result<Vec<Object>> {
        super::monitoring(&valid(app))
    }
    fn alert_rules(app: &AppSpec) -> Result<prometheus::RuleGroup> {
        super::alert_rules(&valid(app))
    }
    fn prometheus_rule_file(app: &AppSpec) -> Result<String> {
        super::prometheus_rule_file(&valid(app))
    }
    fn alertmanager_fragment(app: &AppSpec) -> Result<String> {
        super::alertmanager_fragment(&valid(app))
    }
    fn certificate(app: &AppSpec) -> Result<Option<Object>> {
        super::certificate(&valid(app))
    }
    use crate::model::{Framework, IngressSpec, TlsSpec};

    fn app(metrics_port: Option<u16>) -> AppSpec {
        let mut app = AppSpec::new("hr", "employee-management", "registry.example.com/hr/em:1.4.2", Framework::Flask);
        app.monitoring = Some(MonitoringSpec {
            metrics_port,
            metrics_path: "/metrics".into(),
            alerts: AlertThresholds {
                memory_ratio: 0.85,
                error_ratio_5xx: 0.02,
                p95_latency: Duration::from_millis(400),
                for_duration: Duration::from_secs(600),
            },
        });
        app
    }

    fn json_of(objects: &[Object], kind: &str) -> Value {
        objects.iter().find(|o| o.kind() == kind).unwrap().to_json().unwrap()
    }

    fn rules(app: &AppSpec) -> Vec<prometheus::Rule> {
        alert_rules(app).unwrap().rules
    }

    fn rule<'a>(rules: &'a [prometheus::Rule], name: &str) -> &'a prometheus::Rule {
        rules.iter().find(|r| r.alert.as_deref() == Some(name)).unwrap()
    }

    #[test]
    fn service_monitor_scrapes_the_metrics_port_when_there_is_one() {
        for (metrics_port, expected) in [(Some(9090), "metrics"), (Some(5000), "http"), (None, "http")] {
            let objects = monitoring(&app(metrics_port)).unwrap();
            let sm = json_of(&objects, "ServiceMonitor");
            assert_eq!(sm["apiVersion"], "monitoring.coreos.com/v1");
            assert_eq!(sm["metadata"]["name"], "employee-management");
            let endpoint = &sm["spec"]["endpoints"][0];
            assert_eq!(endpoint["port"], expected, "metrics port {metrics_port:?}");
            assert_eq!(endpoint["path"], "/metrics");
            assert_eq!(endpoint["interval"], "30s");
            assert_eq!(sm["spec"]["selector"]["matchLabels"][NAME_LABEL], "employee-management");
            assert_eq!(sm["spec"]["selector"]["matchExpressions"][0]["key"], VERSION_LABEL);
            assert_eq!(sm["spec"]["selector"]["matchExpressions"][0]["operator"], "DoesNotExist");
        }
    }

    #[test]
    fn monitoring_renders_nothing_without_a_monitoring_section() {
        let mut app = app(None);
        app.monitoring = None;
        assert!(monitoring(&app).unwrap().is_empty());
        assert_eq!(prometheus_rule_file(&app).unwrap_err().violations()[0].field, "monitoring");
        assert_eq!(alertmanager_fragment(&app).unwrap_err().violations()[0].field, "monitoring");
    }

    #[test]
    fn prometheus_rule_has_the_seven_alerts_each_with_an_auto_repair_label() {
        let objects = monitoring(&app(None)).unwrap();
        let pr = json_of(&objects, "PrometheusRule");
        assert_eq!(pr["apiVersion"], "monitoring.coreos.com/v1");
        let group = &pr["spec"]["groups"][0];
        assert_eq!(group["name"], "employee-management.rules");
        let got: Vec<(&str, &str, &str)> = group["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                assert_eq!(r["labels"]["app"], "employee-management");
                assert_eq!(r["labels"]["namespace"], "hr");
                assert!(!r["annotations"]["summary"].as_str().unwrap().is_empty());
                assert!(!r["annotations"]["description"].as_str().unwrap().is_empty());
                (
                    r["alert"].as_str().unwrap(),
                    r["labels"]["auto_repair"].as_str().unwrap(),
                    r["labels"]["severity"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("EmployeeManagementTargetDown", "restart", "critical"),
                ("EmployeeManagementMemoryNearLimit", "scale_memory", "warning"),
                ("EmployeeManagementOOMKilled", "oom_handler", "warning"),
                ("EmployeeManagementCrashLooping", "rollback", "critical"),
                ("EmployeeManagementHigh5xxRatio", "rollback", "critical"),
                ("EmployeeManagementHighP95Latency", "scale_up", "warning"),
                ("EmployeeManagementFailedPodsPiling", "cleanup", "warning"),
            ]
        );
        for (_, action, _) in got {
            assert!(RepairAction::from_label(action).is_some());
        }
    }

    #[test]
    fn thresholds_are_substituted() {
        let all = rules(&app(None));
        let error = rule(&all, "EmployeeManagementHigh5xxRatio");
        assert!(error.expr.ends_with("> 0.02"), "{}", error.expr);
        assert_eq!(error.for_duration.as_deref(), Some("10m"));
        let p95 = rule(&all, "EmployeeManagementHighP95Latency");
        assert!(p95.expr.ends_with("> 0.4"), "{}", p95.expr);
        assert!(p95.expr.starts_with("histogram_quantile(0.95, "));
        let memory = rule(&all, "EmployeeManagementMemoryNearLimit");
        assert!(memory.expr.ends_with("> 0.85"), "{}", memory.expr);
        assert_eq!(rule(&all, "EmployeeManagementTargetDown").for_duration.as_deref(), Some("5m"));
        assert_eq!(rule(&all, "EmployeeManagementCrashLooping").for_duration.as_deref(), Some("5m"));

        let mut other = app(None);
        if let Some(m) = other.monitoring.as_mut() {
            m.alerts.error_ratio_5xx = 0.1;
            m.alerts.p95_latency = Duration::from_millis(1250);
        }
        let all = rules(&other);
        assert!(rule(&all, "EmployeeManagementHigh5xxRatio").expr.ends_with("> 0.1"));
        assert!(rule(&all, "EmployeeManagementHighP95Latency").expr.ends_with("> 1.25"));
    }

    #[test]
    fn every_expression_is_scoped_to_the_app() {
        for r in rules(&app(None)) {
            assert!(r.expr.contains(r#"namespace="hr""#), "{}", r.expr);
            let by_job = r.expr.contains(r#"job="employee-management""#);
            let by_pod = r.expr.contains(r#"pod=~"employee-management-(worker-)?[a-z0-9]+-[a-z0-9]+""#);
            assert!(by_job || by_pod, "{}", r.expr);
        }
        let all = rules(&app(None));
        assert_eq!(
            rule(&all, "EmployeeManagementTargetDown").expr,
            r#"up{namespace="hr",job="employee-management"} == 0"#
        );
    }

    #[test]
    fn alert_names_are_camel_case() {
        assert_eq!(alert_prefix("employee-management"), "EmployeeManagement");
        assert_eq!(alert_prefix("web"), "Web");
        assert_eq!(alert_prefix("api-v2"), "ApiV2");
        assert_eq!(alert_prefix("3d-render"), "App3dRender");
    }

    #[test]
    fn rule_file_parses_back_into_the_same_group() {
        let app = app(None);
        let text = prometheus_rule_file(&app).unwrap();
        let file: prometheus::RuleFile = crate::model::from_yaml(&text).unwrap();
        assert_eq!(file.groups, [alert_rules(&app).unwrap()]);
    }

    #[test]
    fn alertmanager_config_routes_repairs_and_pages() {
        let text = alertmanager_fragment(&app(None)).unwrap();
        let config: Value = crate::model::from_yaml(&text).unwrap();
        let receivers: Vec<&str> =
            config["receivers"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(receivers, ["wooo-default", "wooo-remediation", "employee-management-oncall"]);
        let webhook = &config["receivers"][1]["webhook_configs"][0];
        assert_eq!(webhook["url"], "http://wooo-remediation.hr.svc:8080/alerts");
        assert_eq!(webhook["send_resolved"], true);

        let root = &config["route"];
        assert_eq!(root["receiver"], "wooo-default");
        let app_route = &root["routes"][0];
        assert_eq!(app_route["matchers"], serde_json::json!([r#"namespace="hr""#, r#"app="employee-management""#]));
        assert_eq!(app_route["group_by"], serde_json::json!(["alertname"]));
        let repair = &app_route["routes"][0];
        assert_eq!(repair["receiver"], "wooo-remediation");
        assert_eq!(repair["continue"], true);
        let matcher = repair["matchers"][0].as_str().unwrap();
        for action in RepairAction::ALL {
            assert!(matcher.contains(action.as_str()), "{matcher}");
        }
        let page = &app_route["routes"][1];
        assert_eq!(page["receiver"], "employee-management-oncall");
        assert_eq!(page["matchers"][0], r#"severity="critical""#);
    }

    #[test]
    fn dashboard_is_json_with_five_panels() {
        let objects = monitoring(&app(Some(9090))).unwrap();
        let cm = json_of(&objects, "ConfigMap");
        assert_eq!(cm["metadata"]["name"], "employee-management-dashboard");
        assert_eq!(cm["metadata"]["labels"][DASHBOARD_LABEL], "1");
        let data = cm["data"].as_object().unwrap();
        assert_eq!(data.keys().collect::<Vec<_>>(), ["employee-management.json"]);
        let dashboard: Value = serde_json::from_str(data["employee-management.json"].as_str().unwrap()).unwrap();
        assert_eq!(dashboard["uid"], "hr-employee-management");
        let panels = dashboard["panels"].as_array().unwrap();
        assert_eq!(panels.len(), 5);
        let titles: Vec<&str> = panels.iter().map(|p| p["title"].as_str().unwrap()).collect();
        assert_eq!(titles, ["Availability", "Requests per second", "p95 latency", "Memory vs limit", "5xx ratio"]);
        let mut ids: Vec<i64> = panels.iter().map(|p| p["id"].as_i64().unwrap()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 5);
        for p in panels {
            assert!(p["gridPos"]["w"].as_i64().unwrap() > 0);
            for t in p["targets"].as_array().unwrap() {
                assert!(t["expr"].as_str().unwrap().contains(r#"namespace="hr""#));
            }
        }
        assert_eq!(panels[3]["targets"].as_array().unwrap().len(), 2);
        assert_eq!(super::super::crd::nulls(&dashboard), Vec::<String>::new());
    }

    #[test]
    fn dashboard_uids_fit_grafana() {
        let long = "n".repeat(63);
        let uid = dashboard_uid(&long, "app");
        assert_eq!(uid.len(), MAX_UID);
        assert_ne!(uid, dashboard_uid(&long, "other"));
        assert_eq!(uid, dashboard_uid(&long, "app"));
    }

    #[test]
    fn certificate_only_with_ingress_tls() {
        let mut app = app(None);
        assert!(certificate(&app).unwrap().is_none());
        let tls = TlsSpec { issuer: "letsencrypt".into(), secret_name: None };
        app.ingress =
            Some(IngressSpec { host: "hr.example.com".into(), path: "/".into(), class_name: None, tls: None });
        assert!(certificate(&app).unwrap().is_none());
        if let Some(i) = app.ingress.as_mut() {
            i.tls = Some(tls);
        }
        let cert = certificate(&app).unwrap().unwrap().to_json().unwrap();
        assert_eq!(cert["apiVersion"], "cert-manager.io/v1");
        assert_eq!(cert["kind"], "Certificate");
        assert_eq!(cert["metadata"]["name"], "employee-management-tls");
        assert_eq!(cert["spec"]["secretName"], "employee-management-tls");
        assert_eq!(cert["spec"]["dnsNames"], serde_json::json!(["hr.example.com"]));
        assert_eq!(cert["spec"]["issuerRef"]["name"], "letsencrypt");
        assert_eq!(cert["spec"]["issuerRef"]["kind"], "ClusterIssuer");
        if let Some(t) = app.ingress.as_mut().and_then(|i| i.tls.as_mut()) {
            t.secret_name = Some("hr-cert".into());
        }
        let cert = certificate(&app).unwrap().unwrap().to_json().unwrap();
        assert_eq!(cert["spec"]["secretName"], "hr-cert");
    }

    #[test]
    fn rendered_monitoring_objects_have_no_nulls() {
        let objects = monitoring(&app(Some(9090))).unwrap();
        assert_eq!(objects.len(), 3);
        for object in &objects {
            let json = object.to_json().unwrap();
            assert_eq!(super::super::crd::nulls(&json), Vec::<String>::new(), "{}", object.key());
        }
    }
}
