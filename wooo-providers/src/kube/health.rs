//! kstatus health: pure functions over the objects the API server returns.
//!
//! [`compute`] is a rule-by-rule port of kstatus (`sigs.k8s.io/cli-utils/pkg/kstatus/status`, `Compute`), the
//! library `kubectl`, Flux and Config Sync use to decide when a rollout is done. It reads an object as JSON, the
//! way kstatus reads an `Unstructured`, so every kind goes through one function:
//!
//! 1. generic rules, for every kind: `metadata.deletionTimestamp` set is Terminating; a
//!    `status.observedGeneration` present and different from `metadata.generation` is InProgress
//!    (`LatestGenerationNotObserved`: every other status field is stale); a condition `Reconciling=True` is
//!    InProgress and `Stalled=True` is Failed, whatever the kind;
//! 2. the kind's own rules, for the built-in kinds kstatus knows (Deployment, ReplicaSet, StatefulSet,
//!    DaemonSet, Job, Pod, PersistentVolumeClaim, Service, PodDisruptionBudget, CustomResourceDefinition, and
//!    the always-ready Secret, ConfigMap and CronJob);
//! 3. for any other kind (custom resources, HorizontalPodAutoscaler, Ingress, …): a `Ready` condition decides
//!    (True is Current, False or Unknown InProgress); without one the object is Current.
//!
//! A Deployment, the kind wooo waits on, is Current only when the controller has observed its generation,
//! `spec.replicas` (1 when unset) pods exist and are all updated, available and ready, no old pods are left,
//! `Available=True`, and — because wooo always sets `progressDeadlineSeconds` — `Progressing=True` with reason
//! `NewReplicaSetAvailable`, which the Deployment controller sets only once the new ReplicaSet is complete. A
//! `Progressing` condition with reason `ProgressDeadlineExceeded` is Failed.
//!
//! For an app under a HorizontalPodAutoscaler the desired count is the one the autoscaler last set through the
//! scale subresource, which is what a rollout has to reach.

use k8s_openapi::api::apps::v1::Deployment;
use serde_json::Value;
use wooo_core::model::Health;

/// The condition reason the Deployment controller sets when a rollout stalls past `progressDeadlineSeconds`.
pub const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";

/// The `Progressing` reason the Deployment controller sets once the new ReplicaSet is fully rolled out.
pub const NEW_REPLICA_SET_AVAILABLE: &str = "NewReplicaSetAvailable";

/// How long a Pod may stay unschedulable before kstatus calls it Failed (kstatus' `ScheduleWindow`).
pub const SCHEDULE_WINDOW: std::time::Duration = std::time::Duration::from_secs(15);

/// kstatus' status of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Reconciled: the controller has done what the spec asks.
    Current,
    /// Still being reconciled.
    InProgress,
    /// The controller gave up or cannot make progress (e.g. progress deadline exceeded, job failed).
    Failed,
    /// Being deleted.
    Terminating,
    /// The status cannot be computed (e.g. a Pod phase kstatus does not know).
    Unknown,
}

/// The verdict [`compute`] reaches: a status, kstatus' reason for it (`LessReady`, `JobFailed`, …; empty for
/// Current) and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The status.
    pub status: Status,
    /// kstatus' reason (the reason of the `Reconciling` or `Stalled` condition kstatus would add).
    pub reason: String,
    /// What is going on.
    pub message: String,
}

impl Verdict {
    fn new(status: Status, reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self { status, reason: reason.into(), message: message.into() }
    }

    fn current(message: impl Into<String>) -> Self {
        Self::new(Status::Current, "", message)
    }

    fn in_progress(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Status::InProgress, reason, message)
    }

    fn failed(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Status::Failed, reason, message)
    }

    /// The verdict as wooo's [`Health`]: Current is Current, Failed is Failed (reason and message), anything
    /// else is InProgress (its message).
    pub fn health(&self) -> Health {
        match self.status {
            Status::Current => Health::Current,
            Status::Failed if self.message.is_empty() => Health::Failed { reason: self.reason.clone() },
            Status::Failed => Health::Failed { reason: format!("{}: {}", self.reason, self.message) },
            Status::InProgress | Status::Terminating | Status::Unknown => {
                Health::InProgress { message: self.message.clone() }
            }
        }
    }
}

/// One entry of `status.conditions`.
struct Condition<'a> {
    type_: &'a str,
    status: &'a str,
    reason: &'a str,
    message: &'a str,
}

fn text<'a>(c: &'a Value, key: &str) -> &'a str {
    c.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn conditions(object: &Value) -> Vec<Condition<'_>> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .map(|c| Condition {
                    type_: text(c, "type"),
                    status: text(c, "status"),
                    reason: text(c, "reason"),
                    message: text(c, "message"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An integer field (`pointer` in JSON-pointer form), `default` when absent or not an integer (kstatus'
/// `GetIntField`).
fn int(object: &Value, pointer: &str, default: i64) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(default)
}

fn string<'a>(object: &'a Value, pointer: &str, default: &'a str) -> &'a str {
    object.pointer(pointer).and_then(Value::as_str).unwrap_or(default)
}

fn kind(object: &Value) -> &str {
    string(object, "/kind", "")
}

/// The API group of the object's `apiVersion` (empty for the core group).
fn group(object: &Value) -> &str {
    string(object, "/apiVersion", "").rsplit_once('/').map_or("", |(g, _)| g)
}

/// kstatus' status of `object` (any kind, as the API server returns it), now.
pub fn compute(object: &Value) -> Verdict {
    compute_at(object, jiff::Timestamp::now())
}

/// kstatus' status of `object` at `now` (only a Pod's verdict depends on the time: an unschedulable Pod is
/// InProgress for [`SCHEDULE_WINDOW`] after its creation, Failed after).
pub fn compute_at(object: &Value, now: jiff::Timestamp) -> Verdict {
    if let Some(done) = generic(object) {
        return done;
    }
    let specific = match (group(object), kind(object)) {
        ("", "Service") => Some(service(object)),
        ("", "Pod") => Some(pod(object, now)),
        ("", "Secret" | "ConfigMap") | ("batch", "CronJob") => Some(Verdict::current("Resource is always ready")),
        ("", "PersistentVolumeClaim") => Some(pvc(object)),
        ("apps", "StatefulSet") => Some(stateful_set(object)),
        ("apps" | "extensions", "DaemonSet") => Some(daemon_set(object)),
        ("apps" | "extensions", "Deployment") => Some(deployment(object)),
        ("apps" | "extensions", "ReplicaSet") => Some(replica_set(object)),
        ("policy", "PodDisruptionBudget") => Some(Verdict::current("AllowedDisruptions has been computed.")),
        ("batch", "Job") => Some(job(object)),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => Some(crd(object)),
        _ => None,
    };
    specific.or_else(|| ready_condition(object)).unwrap_or_else(|| Verdict::current("Resource is current"))
}

/// kstatus' `checkGenericProperties`.
fn generic(object: &Value) -> Option<Verdict> {
    if object.pointer("/metadata/deletionTimestamp").and_then(Value::as_str).is_some_and(|t| !t.is_empty()) {
        return Some(Verdict::new(Status::Terminating, "", "Resource scheduled for deletion"));
    }
    if let (Some(generation), Some(observed)) = (
        object.pointer("/metadata/generation").and_then(Value::as_i64),
        object.pointer("/status/observedGeneration").and_then(Value::as_i64),
    ) && observed != generation
    {
        return Some(Verdict::in_progress(
            "LatestGenerationNotObserved",
            format!("{} generation is {generation}, but latest observed generation is {observed}", kind(object)),
        ));
    }
    for c in conditions(object) {
        if c.type_ == "Reconciling" && c.status == "True" {
            return Some(Verdict::in_progress(c.reason, c.message));
        }
        if c.type_ == "Stalled" && c.status == "True" {
            return Some(Verdict::failed(c.reason, c.message));
        }
    }
    None
}

/// kstatus' `checkReadyCondition`, for kinds without rules of their own.
fn ready_condition(object: &Value) -> Option<Verdict> {
    let conditions = conditions(object);
    let ready = conditions.iter().find(|c| c.type_ == "Ready" && matches!(c.status, "True" | "False" | "Unknown"))?;
    Some(match ready.status {
        "True" => Verdict::current("Resource is Ready"),
        _ => Verdict::in_progress(ready.reason, ready.message),
    })
}

fn deployment(object: &Value) -> Verdict {
    // Without progressDeadlineSeconds the controller never sets Progressing, so kstatus does not ask for it.
    let mut progressing = object.pointer("/spec/progressDeadlineSeconds").and_then(Value::as_i64).is_none();
    let mut available = false;
    for c in conditions(object) {
        match c.type_ {
            "Progressing" if c.reason == PROGRESS_DEADLINE_EXCEEDED => {
                let message = if c.message.is_empty() { "Progress deadline exceeded" } else { c.message };
                return Verdict::failed(PROGRESS_DEADLINE_EXCEEDED, message);
            }
            "Progressing" if c.status == "True" && c.reason == NEW_REPLICA_SET_AVAILABLE => progressing = true,
            "Available" if c.status == "True" => available = true,
            _ => {}
        }
    }
    let spec = int(object, "/spec/replicas", 1);
    let replicas = int(object, "/status/replicas", 0);
    let updated = int(object, "/status/updatedReplicas", 0);
    let ready = int(object, "/status/readyReplicas", 0);
    let available_replicas = int(object, "/status/availableReplicas", 0);
    if spec > replicas {
        return Verdict::in_progress("LessReplicas", format!("Replicas: {replicas}/{spec}"));
    }
    if spec > updated {
        return Verdict::in_progress("LessUpdated", format!("Updated: {updated}/{spec}"));
    }
    if replicas > spec {
        return Verdict::in_progress("ExtraPods", format!("Pending termination: {}", replicas - spec));
    }
    if updated > available_replicas {
        return Verdict::in_progress("LessAvailable", format!("Available: {available_replicas}/{updated}"));
    }
    if spec > ready {
        return Verdict::in_progress("LessReady", format!("Ready: {ready}/{spec}"));
    }
    if !progressing {
        return Verdict::in_progress("ReplicaSetNotAvailable", "ReplicaSet not Available");
    }
    if !available {
        return Verdict::in_progress("DeploymentNotAvailable", "Deployment not Available");
    }
    Verdict::current(format!("Deployment is available. Replicas: {replicas}"))
}

fn replica_set(object: &Value) -> Verdict {
    if conditions(object).iter().any(|c| c.type_ == "ReplicaFailure" && c.status == "True") {
        return Verdict::in_progress("ReplicaFailure", "Replica Failure condition. Check Pods");
    }
    let spec = int(object, "/spec/replicas", 1);
    let replicas = int(object, "/status/replicas", 0);
    let ready = int(object, "/status/readyReplicas", 0);
    let available = int(object, "/status/availableReplicas", 0);
    let labelled = int(object, "/status/fullyLabeledReplicas", 0);
    if spec > labelled {
        return Verdict::in_progress("LessLabelled", format!("Labelled: {labelled}/{spec}"));
    }
    if spec > available {
        return Verdict::in_progress("LessAvailable", format!("Available: {available}/{spec}"));
    }
    if spec > ready {
        return Verdict::in_progress("LessReady", format!("Ready: {ready}/{spec}"));
    }
    if replicas > spec {
        return Verdict::in_progress("ExtraPods", format!("Pending termination: {}", replicas - spec));
    }
    Verdict::current(format!("ReplicaSet is available. Replicas: {replicas}"))
}

fn stateful_set(object: &Value) -> Verdict {
    // The controller sets no conditions on a StatefulSet: only the counts and revisions tell.
    if string(object, "/spec/updateStrategy/type", "") == "OnDelete" {
        return Verdict::current("StatefulSet is using the ondelete update strategy");
    }
    let spec = int(object, "/spec/replicas", 1);
    let ready = int(object, "/status/readyReplicas", 0);
    let current = int(object, "/status/currentReplicas", 0);
    let updated = int(object, "/status/updatedReplicas", 0);
    let replicas = int(object, "/status/replicas", 0);
    let partition = int(object, "/spec/updateStrategy/rollingUpdate/partition", -1);
    if spec > replicas {
        return Verdict::in_progress("LessReplicas", format!("Replicas: {replicas}/{spec}"));
    }
    if spec > ready {
        return Verdict::in_progress("LessReady", format!("Ready: {ready}/{spec}"));
    }
    if replicas > spec {
        return Verdict::in_progress("ExtraPods", format!("Pending termination: {}", replicas - spec));
    }
    if partition != -1 {
        if updated < spec - partition {
            return Verdict::in_progress("PartitionRollout", format!("updated: {updated}/{}", spec - partition));
        }
        return Verdict::current(format!("Partition rollout complete. updated: {updated}"));
    }
    if spec > current {
        return Verdict::in_progress("LessCurrent", format!("current: {current}/{spec}"));
    }
    if string(object, "/status/currentRevision", "") != string(object, "/status/updateRevision", "") {
        return Verdict::in_progress("RevisionMismatch", "Waiting for updated revision to match current");
    }
    Verdict::current(format!("All replicas scheduled as expected. Replicas: {replicas}"))
}

fn daemon_set(object: &Value) -> Verdict {
    // The generic rule skips a missing generation; a DaemonSet the controller has seen always has both.
    if object.pointer("/metadata/generation").and_then(Value::as_i64).is_none() {
        return Verdict::in_progress("NoGeneration", "DaemonSet metadata.generation not found");
    }
    if object.pointer("/status/observedGeneration").and_then(Value::as_i64).is_none() {
        return Verdict::in_progress("NoObservedGeneration", "DaemonSet status.observedGeneration not found");
    }
    let desired = int(object, "/status/desiredNumberScheduled", -1);
    let current = int(object, "/status/currentNumberScheduled", 0);
    let updated = int(object, "/status/updatedNumberScheduled", 0);
    let available = int(object, "/status/numberAvailable", 0);
    let ready = int(object, "/status/numberReady", 0);
    if desired == -1 {
        return Verdict::in_progress("NoDesiredNumber", "Missing .status.desiredNumberScheduled");
    }
    if desired > current {
        return Verdict::in_progress("LessCurrent", format!("Current: {current}/{desired}"));
    }
    if desired > updated {
        return Verdict::in_progress("LessUpdated", format!("Updated: {updated}/{desired}"));
    }
    if desired > available {
        return Verdict::in_progress("LessAvailable", format!("Available: {available}/{desired}"));
    }
    if desired > ready {
        return Verdict::in_progress("LessReady", format!("Ready: {ready}/{desired}"));
    }
    Verdict::current(format!("All replicas scheduled as expected. Replicas: {desired}"))
}

fn pvc(object: &Value) -> Verdict {
    match string(object, "/status/phase", "unknown") {
        "Bound" => Verdict::current("PVC is Bound"),
        phase => Verdict::in_progress("NotBound", format!("PVC is not Bound. phase: {phase}")),
    }
}

fn pod(object: &Value, now: jiff::Timestamp) -> Verdict {
    let conditions = conditions(object);
    match string(object, "/status/phase", "") {
        "Succeeded" => Verdict::current("Pod has completed successfully"),
        "Failed" => Verdict::current("Pod has completed, but not successfully"),
        "Running" => {
            if conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True") {
                return Verdict::current("Pod is Ready");
            }
            let crash_looping: Vec<&str> = object
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|c| c.pointer("/state/waiting/reason").and_then(Value::as_str) == Some("CrashLoopBackOff"))
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect();
            if crash_looping.is_empty() {
                Verdict::in_progress("PodRunningNotReady", "Pod is running but is not Ready")
            } else {
                Verdict::failed(
                    "ContainerCrashLooping",
                    format!("Containers in CrashLoop state: {}", crash_looping.join(",")),
                )
            }
        }
        "Pending" => {
            let unschedulable = conditions
                .iter()
                .any(|c| c.type_ == "PodScheduled" && c.status == "False" && c.reason == "Unschedulable");
            if !unschedulable {
                return Verdict::in_progress("PodPending", "Pod is in the Pending phase");
            }
            // kstatus reads a missing creation time as the zero time: long past the window.
            let created = string(object, "/metadata/creationTimestamp", "").parse::<jiff::Timestamp>().ok();
            let window = jiff::SignedDuration::try_from(SCHEDULE_WINDOW).unwrap_or_default();
            if created.is_some_and(|t| now.checked_sub(window).is_ok_and(|start| start < t)) {
                Verdict::in_progress("PodNotScheduled", "Pod has not been scheduled")
            } else {
                Verdict::failed("PodUnschedulable", "Pod could not be scheduled")
            }
        }
        "" => Verdict::in_progress("PodNotObserved", "Pod phase not available"),
        phase => Verdict::new(Status::Unknown, "UnknownPhase", format!("unknown phase {phase}")),
    }
}

fn job(object: &Value) -> Verdict {
    let parallelism = int(object, "/spec/parallelism", 1);
    let completions = int(object, "/spec/completions", parallelism);
    let succeeded = int(object, "/status/succeeded", 0);
    let active = int(object, "/status/active", 0);
    let failed = int(object, "/status/failed", 0);
    let suspended = object.pointer("/spec/suspend").and_then(Value::as_bool).unwrap_or(false);
    for c in conditions(object) {
        match (c.type_, c.status) {
            ("Complete", "True") => {
                return Verdict::current(format!("Job Completed. succeeded: {succeeded}/{completions}"));
            }
            ("Failed", "True") => {
                return Verdict::failed("JobFailed", format!("Job Failed. failed: {failed}/{completions}"));
            }
            ("Suspended", "True") if suspended => return Verdict::current("Job is suspended"),
            _ => {}
        }
    }
    if string(object, "/status/startTime", "").is_empty() {
        return Verdict::in_progress("JobNotStarted", "Job not started");
    }
    Verdict::current(format!("Job in progress. success:{succeeded}, active: {active}, failed: {failed}"))
}

fn service(object: &Value) -> Verdict {
    if string(object, "/spec/type", "ClusterIP") == "LoadBalancer" && string(object, "/spec/clusterIP", "").is_empty() {
        return Verdict::in_progress("NoIPAssigned", "ClusterIP not set. Service type: LoadBalancer");
    }
    Verdict::current("Service is ready")
}

fn crd(object: &Value) -> Verdict {
    for c in conditions(object) {
        if c.type_ == "NamesAccepted" && c.status == "False" {
            return Verdict::failed(c.reason, c.message);
        }
        if c.type_ == "Established" {
            if c.status == "False" && c.reason != "Installing" {
                return Verdict::failed(c.reason, c.message);
            }
            if c.status == "True" {
                return Verdict::current("CRD is established");
            }
        }
    }
    Verdict::in_progress("Installing", "Install in progress")
}

/// Replica counts of one Deployment, from its spec and status (negative values, which the API never returns,
/// read as zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplicaCounts {
    /// `spec.replicas` (1 when unset, as the API server defaults it).
    pub desired: u32,
    /// `status.replicas`: pods of every ReplicaSet of the Deployment, old ones included.
    pub current: u32,
    /// `status.updatedReplicas`: pods of the newest ReplicaSet.
    pub updated: u32,
    /// `status.readyReplicas`.
    pub ready: u32,
    /// `status.availableReplicas`: ready for at least `minReadySeconds`.
    pub available: u32,
}

fn count(value: Option<i32>) -> u32 {
    value.map_or(0, |v| u32::try_from(v).unwrap_or(0))
}

/// The replica counts of `deployment`.
pub fn replica_counts(deployment: &Deployment) -> ReplicaCounts {
    let status = deployment.status.as_ref();
    ReplicaCounts {
        desired: deployment.spec.as_ref().and_then(|s| s.replicas).map_or(1, |r| u32::try_from(r).unwrap_or(0)),
        current: count(status.and_then(|s| s.replicas)),
        updated: count(status.and_then(|s| s.updated_replicas)),
        ready: count(status.and_then(|s| s.ready_replicas)),
        available: count(status.and_then(|s| s.available_replicas)),
    }
}

/// kstatus health of one Deployment (see [`compute`]).
pub fn deployment_health(deployment: &Deployment) -> Health {
    // A typed Deployment always serializes (with its apiVersion and kind); Null would read as "Resource is
    // current", so a failure is reported instead.
    match serde_json::to_value(deployment) {
        Ok(object) => compute(&object).health(),
        Err(e) => Health::InProgress { message: format!("cannot read the Deployment: {e}") },
    }
}

/// The health of an app made of several Deployments (Django runs a web and a worker Deployment): Failed when
/// any is Failed, InProgress when any is InProgress, Current when all are Current. No Deployment at all is
/// InProgress: the app's workload has not been created yet.
///
/// Messages and reasons name the Deployment they come from.
pub fn app_health(deployments: &[Deployment]) -> Health {
    if deployments.is_empty() {
        return Health::InProgress { message: "no Deployment yet".to_string() };
    }
    let name = |d: &Deployment| d.metadata.name.clone().unwrap_or_default();
    let healths: Vec<(String, Health)> = deployments.iter().map(|d| (name(d), deployment_health(d))).collect();
    if let Some((n, Health::Failed { reason })) = healths.iter().find(|(_, h)| matches!(h, Health::Failed { .. })) {
        return Health::Failed { reason: format!("Deployment/{n}: {reason}") };
    }
    let pending: Vec<String> = healths
        .iter()
        .filter_map(|(n, h)| match h {
            Health::InProgress { message } => Some(format!("Deployment/{n}: {message}")),
            _ => None,
        })
        .collect();
    if pending.is_empty() { Health::Current } else { Health::InProgress { message: pending.join("; ") } }
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
