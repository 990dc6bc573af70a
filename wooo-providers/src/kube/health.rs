//! kstatus health of Deployments: pure functions over the objects the API server returns.
//!
//! The rules follow kstatus (`sigs.k8s.io/cli-utils/pkg/kstatus`), the library `kubectl`, Flux and Config Sync
//! use to decide when a rollout is done:
//!
//! 1. an object being deleted is InProgress;
//! 2. `status.observedGeneration < metadata.generation` is InProgress: the controller has not seen the latest
//!    spec, so every other status field is stale;
//! 3. condition `Progressing=False` with reason `ProgressDeadlineExceeded` is Failed at once;
//! 4. fewer updated, ready or available replicas than desired, or more replicas than updated ones (pods of the
//!    old ReplicaSet still terminating) is InProgress, with a message saying which;
//! 5. an `Available=False` condition is InProgress;
//! 6. otherwise Current.
//!
//! The desired count is `spec.replicas` (the API server defaults it to 1). For an app under a
//! HorizontalPodAutoscaler that is the count the autoscaler last set through the scale subresource, which is
//! what a rollout has to reach.

use k8s_openapi::api::apps::v1::Deployment;
use wooo_core::model::Health;

/// The condition reason the Deployment controller sets when a rollout stalls past `progressDeadlineSeconds`.
pub const PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";

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

/// kstatus health of one Deployment (see the module documentation for the rules).
pub fn deployment_health(deployment: &Deployment) -> Health {
    let in_progress = |message: String| Health::InProgress { message };
    if deployment.metadata.deletion_timestamp.is_some() {
        return in_progress("being deleted".to_string());
    }
    let generation = deployment.metadata.generation.unwrap_or(0);
    let Some(status) = deployment.status.as_ref() else {
        return in_progress(format!("generation {generation} not yet observed by the controller"));
    };
    let observed = status.observed_generation.unwrap_or(0);
    if observed < generation {
        return in_progress(format!(
            "generation {generation} not yet observed by the controller (observed {observed})"
        ));
    }
    let conditions = status.conditions.as_deref().unwrap_or_default();
    if let Some(stalled) = conditions.iter().find(|c| {
        c.type_ == "Progressing" && c.status == "False" && c.reason.as_deref() == Some(PROGRESS_DEADLINE_EXCEEDED)
    }) {
        let detail = stalled.message.as_deref().filter(|m| !m.is_empty()).unwrap_or("the rollout made no progress");
        return Health::Failed { reason: format!("{PROGRESS_DEADLINE_EXCEEDED}: {detail}") };
    }
    let c = replica_counts(deployment);
    if c.updated < c.desired {
        return in_progress(format!("updated replicas: {}/{}", c.updated, c.desired));
    }
    if c.current > c.updated {
        return in_progress(format!("old replicas pending termination: {}", c.current - c.updated));
    }
    if c.ready < c.desired {
        return in_progress(format!("ready replicas: {}/{}", c.ready, c.desired));
    }
    if c.available < c.desired {
        return in_progress(format!("available replicas: {}/{}", c.available, c.desired));
    }
    if conditions.iter().any(|c| c.type_ == "Available" && c.status == "False") {
        return in_progress("Deployment is not available".to_string());
    }
    Health::Current
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
mod tests {
    use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentSpec, DeploymentStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    use super::*;

    /// A Deployment wanting `desired` replicas at generation 2, with `status` as the controller wrote it.
    fn deployment(desired: Option<i32>, status: Option<DeploymentStatus>) -> Deployment {
        Deployment {
            metadata: ObjectMeta { name: Some("web".into()), generation: Some(2), ..ObjectMeta::default() },
            spec: Some(DeploymentSpec { replicas: desired, ..DeploymentSpec::default() }),
            status,
        }
    }

    /// Status observed at generation 2 with (replicas, updated, ready, available).
    fn status(counts: (i32, i32, i32, i32)) -> DeploymentStatus {
        DeploymentStatus {
            observed_generation: Some(2),
            replicas: Some(counts.0),
            updated_replicas: Some(counts.1),
            ready_replicas: Some(counts.2),
            available_replicas: Some(counts.3),
            ..DeploymentStatus::default()
        }
    }

    fn condition(type_: &str, status: &str, reason: &str) -> DeploymentCondition {
        DeploymentCondition {
            type_: type_.into(),
            status: status.into(),
            reason: Some(reason.into()),
            message: Some(format!("{type_} says {reason}")),
            ..DeploymentCondition::default()
        }
    }

    fn message(h: Health) -> String {
        match h {
            Health::InProgress { message } => message,
            other => panic!("expected InProgress, got {other:?}"),
        }
    }

    #[test]
    fn complete_rollout_is_current() {
        assert_eq!(deployment_health(&deployment(Some(3), Some(status((3, 3, 3, 3))))), Health::Current);
        // Zero replicas wanted and none running is done too.
        assert_eq!(deployment_health(&deployment(Some(0), Some(status((0, 0, 0, 0))))), Health::Current);
    }

    #[test]
    fn missing_status_or_stale_generation_is_in_progress() {
        assert!(message(deployment_health(&deployment(Some(1), None))).contains("generation 2 not yet observed"));
        let mut stale = status((1, 1, 1, 1));
        stale.observed_generation = Some(1);
        let m = message(deployment_health(&deployment(Some(1), Some(stale))));
        assert!(m.contains("observed 1"), "{m}");
    }

    #[test]
    fn stale_generation_wins_over_an_old_failure() {
        // The failure belongs to the previous generation; the new spec has not been looked at yet.
        let mut s = status((1, 0, 0, 0));
        s.observed_generation = Some(1);
        s.conditions = Some(vec![condition("Progressing", "False", PROGRESS_DEADLINE_EXCEEDED)]);
        assert!(matches!(deployment_health(&deployment(Some(1), Some(s))), Health::InProgress { .. }));
    }

    #[test]
    fn progress_deadline_exceeded_is_failed_at_once() {
        let mut s = status((2, 1, 1, 1));
        s.conditions = Some(vec![condition("Progressing", "False", PROGRESS_DEADLINE_EXCEEDED)]);
        let Health::Failed { reason } = deployment_health(&deployment(Some(2), Some(s))) else { panic!() };
        assert!(reason.starts_with(PROGRESS_DEADLINE_EXCEEDED), "{reason}");
        assert!(reason.contains("Progressing says"), "the controller's message is kept: {reason}");
    }

    #[test]
    fn other_progressing_conditions_do_not_fail() {
        let mut s = status((2, 2, 2, 2));
        s.conditions = Some(vec![
            condition("Progressing", "True", "NewReplicaSetAvailable"),
            condition("Progressing", "False", "SomethingElse"),
            condition("Available", "True", "MinimumReplicasAvailable"),
        ]);
        assert_eq!(deployment_health(&deployment(Some(2), Some(s))), Health::Current);
    }

    #[test]
    fn each_replica_shortfall_is_in_progress_with_its_message() {
        for (counts, expected) in [
            ((3, 1, 1, 1), "updated replicas: 1/3"),
            ((4, 3, 3, 3), "old replicas pending termination: 1"),
            ((3, 3, 2, 2), "ready replicas: 2/3"),
            ((3, 3, 3, 1), "available replicas: 1/3"),
        ] {
            let m = message(deployment_health(&deployment(Some(3), Some(status(counts)))));
            assert_eq!(m, expected, "{counts:?}");
        }
    }

    #[test]
    fn unavailable_condition_is_in_progress() {
        let mut s = status((1, 1, 1, 1));
        s.conditions = Some(vec![condition("Available", "False", "MinimumReplicasUnavailable")]);
        assert_eq!(message(deployment_health(&deployment(Some(1), Some(s)))), "Deployment is not available");
    }

    #[test]
    fn being_deleted_is_in_progress() {
        let mut d = deployment(Some(1), Some(status((1, 1, 1, 1))));
        d.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::UNIX_EPOCH));
        assert_eq!(message(deployment_health(&d)), "being deleted");
    }

    #[test]
    fn unset_replicas_default_to_one_like_the_api_server() {
        // An autoscaled Deployment before the autoscaler has set spec.replicas.
        let d = deployment(None, Some(status((0, 0, 0, 0))));
        assert_eq!(replica_counts(&d).desired, 1);
        assert_eq!(message(deployment_health(&d)), "updated replicas: 0/1");
        // The count the autoscaler set is what the rollout has to reach.
        let scaled = deployment(Some(5), Some(status((5, 5, 5, 4))));
        assert_eq!(
            replica_counts(&scaled),
            ReplicaCounts { desired: 5, current: 5, updated: 5, ready: 5, available: 4 }
        );
        assert_eq!(message(deployment_health(&scaled)), "available replicas: 4/5");
    }

    #[test]
    fn negative_counts_read_as_zero() {
        let d = deployment(Some(-1), Some(status((-2, -2, -2, -2))));
        assert_eq!(replica_counts(&d), ReplicaCounts::default());
    }

    #[test]
    fn app_health_aggregates_every_deployment() {
        let mut web = deployment(Some(2), Some(status((2, 2, 2, 2))));
        let mut worker = deployment(Some(1), Some(status((1, 0, 0, 0))));
        worker.metadata.name = Some("web-worker".into());
        assert_eq!(app_health(std::slice::from_ref(&web)), Health::Current);
        let m = message(app_health(&[web.clone(), worker.clone()]));
        assert_eq!(m, "Deployment/web-worker: updated replicas: 0/1");

        let mut failing = status((1, 0, 0, 0));
        failing.conditions = Some(vec![condition("Progressing", "False", PROGRESS_DEADLINE_EXCEEDED)]);
        worker.status = Some(failing);
        web.status = None;
        let Health::Failed { reason } = app_health(&[web.clone(), worker]) else {
            panic!("a failed worker fails the app")
        };
        assert!(reason.starts_with("Deployment/web-worker: ProgressDeadlineExceeded"), "{reason}");

        assert!(message(app_health(&[])).contains("no Deployment"));
        assert!(message(app_health(&[web])).starts_with("Deployment/web: generation 2"));
    }
}
