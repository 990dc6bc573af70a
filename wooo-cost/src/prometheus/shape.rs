//! The pure half of [`super::PrometheusUsage`]: the PromQL it sends, how a window is cut into pages, how an
//! answer is read, how pods are joined to workloads and summed into samples, and how failures are classified.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use wooo_core::model::{Capacity, Cpu, Memory, TimeWindow, UsageSample, WorkloadRef};
use wooo_core::{Error, Result};

use super::PROVIDER;

/// One time series of an answer: its labels and its points (non-finite values dropped).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' labels (`__name__` is dropped by aggregations).
    pub labels: BTreeMap<String, String>,
    /// `(time, value)`, in time order.
    pub points: Vec<(Timestamp, f64)>,
}

impl Series {
    /// A label's value, empty when absent (PromQL's view of a missing label).
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map(String::as_str).unwrap_or("")
    }

    /// The last point's value.
    pub fn last(&self) -> Option<f64> {
        self.points.last().map(|p| p.1)
    }
}

/// The series selectors and aggregations [`super::PrometheusUsage`] sends, for one cluster selector (extra label
/// matchers such as `,cluster="prod"`, empty for a server per cluster) and rate window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queries {
    matchers: String,
    rate_window: String,
}

impl Queries {
    /// The queries with `matchers` (`""`, or `,name="value"` pairs) and `rate_window` seconds for `rate`.
    pub fn new(matchers: String, rate_window: Duration) -> Self {
        Self { matchers, rate_window: duration_secs(rate_window) }
    }

    /// cAdvisor: CPU cores used per pod (its containers' `rate` of usage seconds).
    pub fn cpu(&self) -> String {
        format!(
            "sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{{container!=\"\",container!=\"POD\"{}}}[{}]))",
            self.matchers, self.rate_window
        )
    }

    /// cAdvisor: working-set bytes per pod.
    pub fn memory(&self) -> String {
        format!(
            "sum by (namespace, pod) (container_memory_working_set_bytes{{container!=\"\",container!=\"POD\"{}}})",
            self.matchers
        )
    }

    /// kube-state-metrics: who owns each pod.
    pub fn pod_owners(&self) -> String {
        format!("max by (namespace, pod, owner_kind, owner_name) (kube_pod_owner{{{}}})", self.trimmed())
    }

    /// kube-state-metrics: who owns each ReplicaSet (a Deployment, usually).
    pub fn replicaset_owners(&self) -> String {
        format!("max by (namespace, replicaset, owner_kind, owner_name) (kube_replicaset_owner{{{}}})", self.trimmed())
    }

    /// kube-state-metrics: the largest request of each container and resource over `window`.
    pub fn requests(&self, window: Duration) -> String {
        self.resource("kube_pod_container_resource_requests", window)
    }

    /// kube-state-metrics: the largest limit of each container and resource over `window`.
    pub fn limits(&self, window: Duration) -> String {
        self.resource("kube_pod_container_resource_limits", window)
    }

    fn resource(&self, metric: &str, window: Duration) -> String {
        format!(
            "max by (namespace, pod, container, resource) (max_over_time({metric}{{resource=~\"cpu|memory\"{}}}[{}]))",
            self.matchers,
            duration_secs(window)
        )
    }

    /// kube-state-metrics: container restarts over `window`.
    pub fn restarts(&self, window: Duration) -> String {
        format!(
            "max by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total{{{}}}[{}]))",
            self.trimmed(),
            duration_secs(window)
        )
    }

    /// kube-state-metrics: containers whose last termination over `window` was an OOM kill.
    pub fn oom_killed(&self, window: Duration) -> String {
        format!(
            "max by (namespace, pod, container) (max_over_time(kube_pod_container_status_last_terminated_reason{{reason=\"OOMKilled\"{}}}[{}]))",
            self.matchers,
            duration_secs(window)
        )
    }

    /// kube-state-metrics: node CPU and memory capacity.
    pub fn node_capacity(&self) -> String {
        format!("max by (node, resource) (kube_node_status_capacity{{resource=~\"cpu|memory\"{}}})", self.matchers)
    }

    /// kube-state-metrics: node labels (those the server's `--metric-labels-allowlist` exposes).
    pub fn node_labels(&self) -> String {
        format!("kube_node_labels{{{}}}", self.trimmed())
    }

    /// The matchers without their leading comma, for a selector that has no other matcher.
    fn trimmed(&self) -> &str {
        self.matchers.strip_prefix(',').unwrap_or(&self.matchers)
    }
}

/// `,label="value"` with the value escaped as a PromQL string.
pub(super) fn matcher(label: &str, value: &str) -> String {
    let escaped: String = value
        .chars()
        .flat_map(|c| match c {
            '\\' => vec!['\\', '\\'],
            '"' => vec!['\\', '"'],
            '\n' => vec!['\\', 'n'],
            c => vec![c],
        })
        .collect();
    format!(",{label}=\"{escaped}\"")
}

/// Whole seconds as a PromQL duration (`300s`); at least `1s`.
pub(super) fn duration_secs(d: Duration) -> String {
    format!("{}s", d.as_secs().max(1))
}

/// A timestamp as Prometheus' API takes it: Unix seconds with milliseconds.
pub fn api_time(t: Timestamp) -> String {
    let ms = t.as_millisecond();
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// The evaluation times of `window` at `step`: `start`, `start + step`, … while before `end`, cut into pages of
/// at most `max_points` points, each page as the `(start, end)` of a `query_range` call (both inclusive).
pub fn pages(window: &TimeWindow, step: Duration, max_points: u32) -> Vec<(Timestamp, Timestamp)> {
    let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX).max(1);
    let span_ms = window.end.as_millisecond() - window.start.as_millisecond();
    if span_ms <= 0 {
        return Vec::new();
    }
    let points = (span_ms + step_ms - 1) / step_ms;
    let per_page = i64::from(max_points.max(1));
    let at = |k: i64| window.start + SignedDuration::from_millis(k * step_ms);
    (0..points)
        .step_by(usize::try_from(per_page).unwrap_or(usize::MAX))
        .map(|first| (at(first), at((first + per_page).min(points) - 1)))
        .collect()
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<RawSeries>,
}

#[derive(Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
    #[serde(default)]
    value: Option<(f64, String)>,
}

/// Reads an answer of `/api/v1/query_range` (a matrix) or `/api/v1/query` (a vector) with HTTP `status`.
///
/// # Errors
/// [`classify`]'s errors for a failed call; [`Error::Provider`] for a body that is not a Prometheus answer.
pub(super) fn parse(status: u16, body: &[u8]) -> Result<Vec<Series>> {
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) if (200..300).contains(&status) => {
            return Err(Error::Provider {
                provider: PROVIDER,
                message: format!("not a Prometheus answer: {e}"),
                source: Some(Box::new(e)),
            });
        }
        Err(_) => return Err(classify(status, None, &String::from_utf8_lossy(body))),
    };
    if envelope.status != "success" || !(200..300).contains(&status) {
        let message = envelope.error.unwrap_or_default();
        return Err(classify(status, envelope.error_type.as_deref(), &message));
    }
    let data = envelope.data.ok_or_else(|| Error::Provider {
        provider: PROVIDER,
        message: "a successful answer without data".into(),
        source: None,
    })?;
    if data.result_type != "matrix" && data.result_type != "vector" {
        return Err(Error::Provider {
            provider: PROVIDER,
            message: format!("unexpected result type {}", data.result_type),
            source: None,
        });
    }
    Ok(data
        .result
        .into_iter()
        .map(|raw| {
            let points = raw
                .values
                .into_iter()
                .chain(raw.value)
                .filter_map(|(t, v)| {
                    let v: f64 = v.parse().ok().filter(|v: &f64| v.is_finite())?;
                    let at = Timestamp::from_millisecond((t * 1000.0).round() as i64).ok()?;
                    Some((at, v))
                })
                .collect();
            let mut labels = raw.metric;
            labels.remove("__name__");
            Series { labels, points }
        })
        .collect())
}

/// The error of a failed call: HTTP `status` (0 when no answer came), Prometheus' `errorType` and message.
/// Throttling (429) is [`Error::Throttled`]; no answer, 5xx and Prometheus' `timeout`/`unavailable` errors are
/// [`Error::Transient`] (retried); `bad_data` (400) is [`Error::InvalidSpec`] of field `query`; 401/403
/// [`Error::Unauthenticated`]/[`Error::PermissionDenied`]; the rest (`execution`, 422, …) [`Error::Provider`].
pub(super) fn classify(status: u16, error_type: Option<&str>, message: &str) -> Error {
    let message = if message.is_empty() { format!("HTTP {status}") } else { message.chars().take(500).collect() };
    match (status, error_type) {
        (429, _) => Error::Throttled { provider: PROVIDER, message, retry_after: None, source: None },
        (0, _) | (500..=599, _) | (_, Some("timeout" | "unavailable")) => {
            Error::Transient { provider: PROVIDER, message, source: None }
        }
        (_, Some("bad_data")) | (400, _) => Error::invalid_spec("query", message),
        (401, _) => Error::Unauthenticated { provider: PROVIDER, message, source: None },
        (403, _) => Error::PermissionDenied { provider: PROVIDER, message, source: None },
        _ => Error::Provider { provider: PROVIDER, message, source: None },
    }
}

/// The workload of every pod, from `kube_pod_owner` and `kube_replicaset_owner` series: a pod owned by a
/// ReplicaSet owned by a Deployment belongs to the Deployment; a pod owned by anything else (StatefulSet,
/// DaemonSet, Job, a bare ReplicaSet) to that owner; a pod with no owner to itself.
pub(super) fn workloads_of(pod_owners: &[Series], replicaset_owners: &[Series]) -> BTreeMap<(String, String), String> {
    let rs: BTreeMap<(&str, &str), &str> = replicaset_owners
        .iter()
        .filter(|s| s.label("owner_kind") == "Deployment")
        .map(|s| ((s.label("namespace"), s.label("replicaset")), s.label("owner_name")))
        .collect();
    let mut out = BTreeMap::new();
    for s in pod_owners {
        let (ns, pod, kind, name) =
            (s.label("namespace"), s.label("pod"), s.label("owner_kind"), s.label("owner_name"));
        let workload = match kind {
            "ReplicaSet" => rs.get(&(ns, name)).copied().unwrap_or(name),
            "" | "<none>" => pod,
            _ => name,
        };
        out.insert((ns.to_string(), pod.to_string()), workload.to_string());
    }
    out
}

/// Usage samples per workload and time: CPU (cores) and memory (bytes) of every pod summed over the pods of a
/// workload, at each time both are known. Pods missing from `owners` are their own workload.
pub(super) fn samples(
    cpu: &[Series],
    memory: &[Series],
    owners: &BTreeMap<(String, String), String>,
) -> Vec<UsageSample> {
    /// CPU cores, memory bytes, whether each was seen.
    type Sum = (f64, f64, bool, bool);
    let mut sums: BTreeMap<(String, String, Timestamp), Sum> = BTreeMap::new();
    for (series, is_cpu) in cpu.iter().map(|s| (s, true)).chain(memory.iter().map(|s| (s, false))) {
        let (ns, pod) = (series.label("namespace").to_string(), series.label("pod").to_string());
        let workload = owners.get(&(ns.clone(), pod.clone())).cloned().unwrap_or(pod);
        for &(at, v) in &series.points {
            let entry = sums.entry((ns.clone(), workload.clone(), at)).or_insert((0.0, 0.0, false, false));
            if is_cpu {
                entry.0 += v;
                entry.2 = true;
            } else {
                entry.1 += v;
                entry.3 = true;
            }
        }
    }
    sums.into_iter()
        .filter(|(_, (_, _, has_cpu, has_memory))| *has_cpu && *has_memory)
        .map(|((ns, name, at), (cores, bytes, _, _))| UsageSample {
            workload: WorkloadRef::new(ns, name),
            at,
            cpu: Cpu::from_millis((cores * 1000.0).round().max(0.0) as u64),
            memory: Memory::from_bytes(bytes.round().max(0.0) as u64),
        })
        .collect()
}

/// What kube-state-metrics says about one container over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerFacts {
    /// The workload of its pod.
    pub workload: WorkloadRef,
    /// Pod.
    pub pod: String,
    /// Container.
    pub container: String,
    /// Largest CPU request seen.
    pub cpu_request: Option<Cpu>,
    /// Largest memory request seen.
    pub memory_request: Option<Memory>,
    /// Largest CPU limit seen.
    pub cpu_limit: Option<Cpu>,
    /// Largest memory limit seen.
    pub memory_limit: Option<Memory>,
    /// Restarts in the window (rounded `increase`).
    pub restarts: u64,
    /// Whether its last termination in the window was an OOM kill.
    pub oom_killed: bool,
}

/// Joins the four per-container answers into [`ContainerFacts`], sorted by namespace, workload, pod, container.
pub(super) fn container_facts(
    requests: &[Series],
    limits: &[Series],
    restarts: &[Series],
    oom: &[Series],
    owners: &BTreeMap<(String, String), String>,
) -> Vec<ContainerFacts> {
    let mut out: BTreeMap<(String, String, String), ContainerFacts> = BTreeMap::new();
    for (kind, list) in [requests, limits, restarts, oom].into_iter().enumerate() {
        for s in list {
            let (ns, pod, container) = (s.label("namespace"), s.label("pod"), s.label("container"));
            let facts = out.entry((ns.to_string(), pod.to_string(), container.to_string())).or_insert_with(|| {
                let workload = owners.get(&(ns.to_string(), pod.to_string())).map_or(pod, String::as_str);
                ContainerFacts {
                    workload: WorkloadRef::new(ns, workload),
                    pod: pod.to_string(),
                    container: container.to_string(),
                    cpu_request: None,
                    memory_request: None,
                    cpu_limit: None,
                    memory_limit: None,
                    restarts: 0,
                    oom_killed: false,
                }
            });
            let Some(value) = s.last() else { continue };
            match (kind, s.label("resource")) {
                (0, "cpu") => facts.cpu_request = Some(cores(value)),
                (0, "memory") => facts.memory_request = Some(bytes(value)),
                (1, "cpu") => facts.cpu_limit = Some(cores(value)),
                (1, "memory") => facts.memory_limit = Some(bytes(value)),
                (2, _) => facts.restarts = value.round().max(0.0) as u64,
                (3, _) => facts.oom_killed = value >= 1.0,
                _ => {}
            }
        }
    }
    let mut facts: Vec<ContainerFacts> = out.into_values().collect();
    facts.sort_by(|a, b| {
        (&a.workload.namespace, &a.workload.name, &a.pod, &a.container).cmp(&(
            &b.workload.namespace,
            &b.workload.name,
            &b.pod,
            &b.container,
        ))
    });
    facts
}

fn cores(v: f64) -> Cpu {
    Cpu::from_millis((v * 1000.0).round().max(0.0) as u64)
}

fn bytes(v: f64) -> Memory {
    Memory::from_bytes(v.round().max(0.0) as u64)
}

/// A node as kube-state-metrics describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeFacts {
    /// Node name.
    pub name: String,
    /// `node.kubernetes.io/instance-type` (or the beta label), empty when not exposed.
    pub instance_type: String,
    /// Spot when a capacity-type label says so (Karpenter, EKS, GKE, AKS), else on demand.
    pub capacity: Capacity,
    /// `topology.kubernetes.io/zone` (or the beta label), empty when not exposed.
    pub zone: String,
    /// CPU capacity.
    pub cpu: Cpu,
    /// Memory capacity.
    pub memory: Memory,
}

/// The label names (as kube-state-metrics writes them) read for each node fact, first found wins.
const INSTANCE_TYPE_LABELS: &[&str] =
    &["label_node_kubernetes_io_instance_type", "label_beta_kubernetes_io_instance_type"];
const ZONE_LABELS: &[&str] = &["label_topology_kubernetes_io_zone", "label_failure_domain_beta_kubernetes_io_zone"];

/// Joins node capacity and node label series into [`NodeFacts`], sorted by name.
pub(super) fn node_facts(capacity: &[Series], labels: &[Series]) -> Vec<NodeFacts> {
    let mut nodes: BTreeMap<String, NodeFacts> = BTreeMap::new();
    let names: BTreeSet<&str> =
        capacity.iter().chain(labels).map(|s| s.label("node")).filter(|n| !n.is_empty()).collect();
    for name in names {
        nodes.insert(
            name.to_string(),
            NodeFacts {
                name: name.to_string(),
                instance_type: String::new(),
                capacity: Capacity::OnDemand,
                zone: String::new(),
                cpu: Cpu::from_millis(0),
                memory: Memory::from_bytes(0),
            },
        );
    }
    for s in capacity {
        let (Some(node), Some(v)) = (nodes.get_mut(s.label("node")), s.last()) else { continue };
        match s.label("resource") {
            "cpu" => node.cpu = cores(v),
            "memory" => node.memory = bytes(v),
            _ => {}
        }
    }
    for s in labels {
        let Some(node) = nodes.get_mut(s.label("node")) else { continue };
        let first = |names: &[&str]| names.iter().map(|n| s.label(n)).find(|v| !v.is_empty()).unwrap_or("").to_string();
        node.instance_type = first(INSTANCE_TYPE_LABELS);
        node.zone = first(ZONE_LABELS);
        let spot = ["label_karpenter_sh_capacity_type", "label_eks_amazonaws_com_capacity_type"]
            .iter()
            .any(|n| s.label(n).eq_ignore_ascii_case("spot"))
            || s.label("label_cloud_google_com_gke_spot") == "true"
            || s.label("label_cloud_google_com_gke_preemptible") == "true"
            || s.label("label_kubernetes_azure_com_scalesetpriority") == "spot";
        node.capacity = if spot { Capacity::Spot } else { Capacity::OnDemand };
    }
    nodes.into_values().collect()
}
