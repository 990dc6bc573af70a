//! The kstatus port against fixtures derived from kstatus' own test cases (`status_compute_test.go`,
//! rewritten as JSON, with the same verdicts), plus the cases wooo's Deployments add: a progress deadline is
//! always set, and a rollout past it fails.

use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentSpec, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde_json::json;

use super::*;

use Status::{Current, Failed, InProgress, Terminating, Unknown};

/// `(name, object, status, reason)`: `reason` is the reason of the condition kstatus adds (`Reconciling` for
/// InProgress, `Stalled` for Failed), empty where kstatus adds none.
fn fixtures() -> Vec<(&'static str, serde_json::Value, Status, &'static str)> {
    let meta = |generation: i64| json!({"name": "test", "namespace": "qual", "generation": generation});
    let pod =
        |status: serde_json::Value| json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta(1), "status": status});
    let sts = |status: serde_json::Value| json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta(1), "spec": {"replicas": 4}, "status": status});
    let ds = |generation: i64, status: serde_json::Value| json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta(generation), "status": status});
    let dep = |spec: serde_json::Value, status: serde_json::Value| json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(1), "spec": spec, "status": status});
    let counts = |n: i64| json!({"observedGeneration": 1, "replicas": n, "updatedReplicas": n, "readyReplicas": n, "availableReplicas": n});
    let with = |mut status: serde_json::Value, conditions: serde_json::Value| {
        status["conditions"] = conditions;
        status
    };
    let progressing = json!({"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"});
    let available = json!({"type": "Available", "status": "True"});
    let rs = |replicas: i64, status: serde_json::Value| json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta(1), "spec": {"replicas": replicas}, "status": status});
    let rs_counts = |replicas: i64, ready: i64, available: i64| {
        json!({"observedGeneration": 1, "replicas": replicas, "readyReplicas": ready, "availableReplicas": available,
            "fullyLabeledReplicas": replicas})
    };
    let cr = |status: serde_json::Value| json!({"apiVersion": "something/v1", "kind": "MyCR", "metadata": meta(1), "status": status});
    let job = |spec: serde_json::Value, status: serde_json::Value| json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta(1), "spec": spec, "status": status});
    let svc =
        |spec: serde_json::Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": meta(1), "spec": spec});
    let crd = |conditions: serde_json::Value| {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"generation": 1},
            "status": {"conditions": conditions}})
    };
    let wooo_spec = json!({"replicas": 2, "progressDeadlineSeconds": 600});
    let wooo_counts = json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2});
    vec![
        // Pods (TestPodStatus).
        ("podNoStatus", json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta(1)}), InProgress, "PodNotObserved"),
        (
            "podReady",
            pod(json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]})),
            Current,
            "",
        ),
        (
            "podCompletedSuccessfully",
            pod(
                json!({"phase": "Succeeded", "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted"}]}),
            ),
            Current,
            "",
        ),
        (
            "podCompletedFailed",
            pod(
                json!({"phase": "Failed", "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted"}]}),
            ),
            Current,
            "",
        ),
        (
            "podUnschedulable",
            pod(
                json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}),
            ),
            Failed,
            "PodUnschedulable",
        ),
        (
            "podCrashLooping",
            pod(
                json!({"phase": "Running", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
            "containerStatuses": [{"name": "nginx", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
            ),
            Failed,
            "ContainerCrashLooping",
        ),
        ("podUnknownPhase", pod(json!({"phase": "Dancing"})), Unknown, "UnknownPhase"),
        // PersistentVolumeClaims (TestPVCStatus).
        (
            "pvcNoStatus",
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta(1)}),
            InProgress,
            "NotBound",
        ),
        (
            "pvcBound",
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta(1), "status": {"phase": "Bound"}}),
            Current,
            "",
        ),
        // StatefulSets (TestStsStatus).
        (
            "stsNoStatus",
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta(1)}),
            InProgress,
            "LessReplicas",
        ),
        (
            "stsBadStatus",
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta(1), "status": {"observedGeneration": 1, "currentReplicas": 1}}),
            InProgress,
            "LessReplicas",
        ),
        (
            "stsOK",
            sts(json!({"observedGeneration": 1, "currentReplicas": 4, "readyReplicas": 4, "replicas": 4})),
            Current,
            "",
        ),
        (
            "stsLessReady",
            sts(json!({"observedGeneration": 1, "currentReplicas": 4, "readyReplicas": 2, "replicas": 4})),
            InProgress,
            "LessReady",
        ),
        (
            "stsLessCurrent",
            sts(json!({"observedGeneration": 1, "currentReplicas": 2, "readyReplicas": 4, "replicas": 4})),
            InProgress,
            "LessCurrent",
        ),
        (
            "stsExtraPods",
            sts(json!({"observedGeneration": 1, "currentReplicas": 4, "readyReplicas": 4, "replicas": 8})),
            InProgress,
            "ExtraPods",
        ),
        (
            "stsRevisionMismatch",
            sts(json!({"observedGeneration": 1, "currentReplicas": 4, "readyReplicas": 4, "replicas": 4,
            "currentRevision": "web-1", "updateRevision": "web-2"})),
            InProgress,
            "RevisionMismatch",
        ),
        // DaemonSets (TestDaemonsetStatus).
        (
            "dsNoStatus",
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta(1)}),
            InProgress,
            "NoObservedGeneration",
        ),
        ("dsBadStatus", ds(1, json!({"observedGeneration": 1, "currentReplicas": 1})), InProgress, "NoDesiredNumber"),
        (
            "dsOK",
            ds(
                1,
                json!({"desiredNumberScheduled": 4, "currentNumberScheduled": 4, "updatedNumberScheduled": 4,
            "numberAvailable": 4, "numberReady": 4, "observedGeneration": 1}),
            ),
            Current,
            "",
        ),
        (
            "dsDifferentGeneration",
            ds(
                2,
                json!({"desiredNumberScheduled": 4, "currentNumberScheduled": 4,
            "updatedNumberScheduled": 4, "numberAvailable": 4, "numberReady": 4, "observedGeneration": 1}),
            ),
            InProgress,
            "LatestGenerationNotObserved",
        ),
        (
            "dsLessReady",
            ds(
                1,
                json!({"observedGeneration": 1, "desiredNumberScheduled": 4, "currentNumberScheduled": 4,
            "updatedNumberScheduled": 4, "numberAvailable": 4, "numberReady": 2}),
            ),
            InProgress,
            "LessReady",
        ),
        (
            "dsLessAvailable",
            ds(
                1,
                json!({"observedGeneration": 1, "desiredNumberScheduled": 4, "currentNumberScheduled": 4,
            "updatedNumberScheduled": 4, "numberAvailable": 2, "numberReady": 4}),
            ),
            InProgress,
            "LessAvailable",
        ),
        // Deployments (TestDeploymentStatus).
        (
            "depNoStatus",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(1)}),
            InProgress,
            "LessReplicas",
        ),
        ("depOK", dep(json!({}), with(counts(1), json!([progressing, available]))), Current, ""),
        (
            "depNotProgressing",
            dep(
                json!({"progressDeadlineSeconds": 45}),
                with(
                    counts(1),
                    json!([
            {"type": "Progressing", "status": "False", "reason": "Some reason"}, available]),
                ),
            ),
            InProgress,
            "ReplicaSetNotAvailable",
        ),
        ("depNoProgressDeadlineSeconds", dep(json!({}), with(counts(1), json!([available]))), Current, ""),
        (
            "depNotAvailable",
            dep(json!({}), with(counts(1), json!([progressing, {"type": "Available", "status": "False"}]))),
            InProgress,
            "DeploymentNotAvailable",
        ),
        // Deployments as wooo renders them (progressDeadlineSeconds always set) and the controller updates them.
        (
            "wooo: rolled out",
            dep(wooo_spec.clone(), with(wooo_counts.clone(), json!([progressing, available]))),
            Current,
            "",
        ),
        (
            "wooo: counts complete, no conditions yet",
            dep(wooo_spec.clone(), wooo_counts.clone()),
            InProgress,
            "ReplicaSetNotAvailable",
        ),
        (
            "wooo: counts complete, still ReplicaSetUpdated",
            dep(
                wooo_spec.clone(),
                with(
                    wooo_counts.clone(),
                    json!([
            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}, available]),
                ),
            ),
            InProgress,
            "ReplicaSetNotAvailable",
        ),
        (
            "wooo: progressing but not Available",
            dep(wooo_spec.clone(), with(wooo_counts.clone(), json!([progressing]))),
            InProgress,
            "DeploymentNotAvailable",
        ),
        (
            "wooo: progress deadline exceeded",
            dep(
                wooo_spec.clone(),
                with(
                    json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 1}),
                    json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"web-5\" has timed out progressing."}]),
                ),
            ),
            Failed,
            "ProgressDeadlineExceeded",
        ),
        (
            "wooo: stale generation",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(3), "spec": wooo_spec.clone(),
            "status": with(wooo_counts.clone(), json!([progressing, available]))}),
            InProgress,
            "LatestGenerationNotObserved",
        ),
        (
            "wooo: stale generation wins over an old failure",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(3),
            "spec": wooo_spec.clone(), "status": with(wooo_counts.clone(), json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]))}),
            InProgress,
            "LatestGenerationNotObserved",
        ),
        (
            "wooo: too few pods",
            dep(wooo_spec.clone(), json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1})),
            InProgress,
            "LessReplicas",
        ),
        (
            "wooo: too few updated",
            dep(
                wooo_spec.clone(),
                json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2}),
            ),
            InProgress,
            "LessUpdated",
        ),
        (
            "wooo: old pods terminating",
            dep(
                wooo_spec.clone(),
                json!({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 2, "readyReplicas": 3, "availableReplicas": 3}),
            ),
            InProgress,
            "ExtraPods",
        ),
        (
            "wooo: updated but not available",
            dep(
                wooo_spec.clone(),
                json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 1}),
            ),
            InProgress,
            "LessAvailable",
        ),
        (
            "wooo: available but not ready",
            dep(
                wooo_spec.clone(),
                json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 2}),
            ),
            InProgress,
            "LessReady",
        ),
        (
            "wooo: scaled to zero",
            dep(
                json!({"replicas": 0, "progressDeadlineSeconds": 600}),
                with(json!({"observedGeneration": 1}), json!([progressing, available])),
            ),
            Current,
            "",
        ),
        (
            "wooo: being deleted",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "generation": 1, "deletionTimestamp": "2026-03-01T10:00:00Z"},
            "spec": wooo_spec.clone(), "status": with(wooo_counts.clone(), json!([progressing, available]))}),
            Terminating,
            "",
        ),
        // ReplicaSets (TestReplicasetStatus).
        (
            "rsNoStatus",
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta(1)}),
            InProgress,
            "LessLabelled",
        ),
        ("rsOK1", rs(2, with(rs_counts(2, 2, 2), json!([{"type": "ReplicaFailure", "status": "False"}]))), Current, ""),
        ("rsOK2", rs(2, rs_counts(2, 2, 2)), Current, ""),
        ("rsLessAvailable", rs(4, rs_counts(4, 4, 2)), InProgress, "LessAvailable"),
        ("rsLessReady", rs(4, rs_counts(4, 2, 4)), InProgress, "LessReady"),
        (
            "rsReplicaFailure",
            rs(4, with(rs_counts(4, 4, 4), json!([{"type": "ReplicaFailure", "status": "True"}]))),
            InProgress,
            "ReplicaFailure",
        ),
        // PodDisruptionBudgets (TestPDBStatus).
        (
            "pdbNotObserved",
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(2), "status": {"observedGeneration": 1}}),
            InProgress,
            "LatestGenerationNotObserved",
        ),
        (
            "pdbObserved",
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(1), "status": {"observedGeneration": 1}}),
            Current,
            "",
        ),
        // Custom resources: the generic rules (TestCRDGenericStatus).
        ("crdNoStatus", json!({"apiVersion": "something/v1", "kind": "MyCR", "metadata": meta(1)}), Current, ""),
        (
            "crdReady",
            cr(
                json!({"conditions": [{"type": "Ready", "status": "True", "message": "All looks ok", "reason": "AllOk"}]}),
            ),
            Current,
            "",
        ),
        (
            "crdNotReady",
            cr(
                json!({"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "False", "reason": "NotReadyYet"}]}),
            ),
            InProgress,
            "NotReadyYet",
        ),
        ("crdNoCondition", cr(json!({"conditions": [{"type": "SomeCondition", "status": "False"}]})), Current, ""),
        (
            "crdMismatchStatusGeneration",
            json!({"apiVersion": "something/v1", "kind": "MyCR", "metadata": meta(2), "status": {"observedGeneration": 1}}),
            InProgress,
            "LatestGenerationNotObserved",
        ),
        (
            "crReconciling",
            cr(
                json!({"conditions": [{"type": "Reconciling", "status": "True", "reason": "Progressing"}, {"type": "Ready", "status": "True"}]}),
            ),
            InProgress,
            "Progressing",
        ),
        (
            "crStalled",
            cr(
                json!({"conditions": [{"type": "Stalled", "status": "True", "reason": "BadConfig", "message": "no such secret"}]}),
            ),
            Failed,
            "BadConfig",
        ),
        (
            "crReadyUnknown",
            cr(json!({"conditions": [{"type": "Ready", "status": "Unknown", "reason": "Waiting"}]})),
            InProgress,
            "Waiting",
        ),
        (
            "hpaWithoutReady",
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(1),
            "status": {"conditions": [{"type": "AbleToScale", "status": "True"}, {"type": "ScalingActive", "status": "False"}]}}),
            Current,
            "",
        ),
        // Jobs (TestJobStatus).
        (
            "jobNoStatus",
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta(1)}),
            InProgress,
            "JobNotStarted",
        ),
        (
            "jobComplete",
            job(
                json!({}),
                json!({"succeeded": 1, "active": 0, "conditions": [{"type": "Complete", "status": "True"}]}),
            ),
            Current,
            "",
        ),
        (
            "jobFailed",
            job(
                json!({"completions": 4}),
                json!({"succeeded": 3, "failed": 1, "conditions": [{"type": "Failed", "status": "True", "reason": "JobFailed"}]}),
            ),
            Failed,
            "JobFailed",
        ),
        (
            "jobInProgress",
            job(
                json!({"completions": 10, "parallelism": 2}),
                json!({"startTime": "2019-06-04T01:17:13Z", "succeeded": 3, "failed": 1, "active": 2,
            "conditions": [{"type": "Failed", "status": "False"}, {"type": "Complete", "status": "False"}]}),
            ),
            Current,
            "",
        ),
        (
            "jobSuspended",
            job(json!({"suspend": true}), json!({"conditions": [{"type": "Suspended", "status": "True"}]})),
            Current,
            "",
        ),
        // CronJobs (TestCronJobStatus).
        ("cronjobNoStatus", json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta(1)}), Current, ""),
        (
            "cronjobWithStatus",
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta(1), "status": null}),
            Current,
            "",
        ),
        // Services (TestServiceStatus).
        ("serviceDefault", json!({"apiVersion": "v1", "kind": "Service", "metadata": meta(1)}), Current, ""),
        ("serviceNodePort", svc(json!({"type": "NodePort"})), Current, ""),
        ("serviceLBok", svc(json!({"type": "LoadBalancer", "clusterIP": "1.2.3.4"})), Current, ""),
        ("serviceLBnok", svc(json!({"type": "LoadBalancer"})), InProgress, "NoIPAssigned"),
        // CustomResourceDefinitions (TestCRDStatus).
        (
            "crdNoConditions",
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"generation": 1}}),
            InProgress,
            "Installing",
        ),
        (
            "crdInstalling",
            crd(
                json!([{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"}, {"type": "Established", "status": "False", "reason": "Installing"}]),
            ),
            InProgress,
            "Installing",
        ),
        (
            "crdNamesNotAccepted",
            crd(json!([{"type": "NamesAccepted", "status": "False", "reason": "SomeReason"}])),
            Failed,
            "SomeReason",
        ),
        (
            "crdEstablished",
            crd(
                json!([{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"}, {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}]),
            ),
            Current,
            "",
        ),
        // Kinds kstatus calls always ready.
        ("secret", json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}), Current, ""),
        ("configMap", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}), Current, ""),
    ]
}

#[test]
fn kstatus_verdicts_for_every_fixture() {
    let all = fixtures();
    assert!(all.len() >= 20, "{} fixtures", all.len());
    let now: jiff::Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
    let mut wrong = Vec::new();
    for (name, object, status, reason) in all {
        let verdict = compute_at(&object, now);
        if (verdict.status, verdict.reason.as_str()) != (status, reason) {
            wrong.push(format!("{name}: expected {status:?}/{reason:?}, got {verdict:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn an_unschedulable_pod_gets_the_schedule_window() {
    // kstatus' podBeingScheduled: created just now, so not yet Failed.
    let now: jiff::Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
    let pod = |created: &str| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "creationTimestamp": created},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}})
    };
    assert_eq!(compute_at(&pod("2026-03-01T11:59:50Z"), now).reason, "PodNotScheduled");
    assert_eq!(compute_at(&pod("2026-03-01T11:59:40Z"), now).reason, "PodUnschedulable");
}

#[test]
fn messages_say_what_is_missing() {
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"generation": 3},
        "spec": {"replicas": 3, "progressDeadlineSeconds": 600},
        "status": {"observedGeneration": 2}});
    assert_eq!(compute(&d).message, "Deployment generation is 3, but latest observed generation is 2");
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 3},
        "status": {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 1}});
    assert_eq!(compute(&d).message, "Available: 1/3");
}

// ----- typed Deployments, as the deployer reads them -----

/// A Deployment as wooo renders it (progress deadline set), wanting `desired` replicas at generation 2, with
/// `status` as the controller wrote it.
fn deployment(desired: Option<i32>, status: Option<DeploymentStatus>) -> Deployment {
    Deployment {
        metadata: ObjectMeta { name: Some("web".into()), generation: Some(2), ..ObjectMeta::default() },
        spec: Some(DeploymentSpec {
            replicas: desired,
            progress_deadline_seconds: Some(600),
            ..DeploymentSpec::default()
        }),
        status,
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

/// Status observed at generation 2 with (replicas, updated, ready, available) and the conditions of a
/// finished rollout.
fn status(counts: (i32, i32, i32, i32)) -> DeploymentStatus {
    DeploymentStatus {
        observed_generation: Some(2),
        replicas: Some(counts.0),
        updated_replicas: Some(counts.1),
        ready_replicas: Some(counts.2),
        available_replicas: Some(counts.3),
        conditions: Some(vec![
            condition("Available", "True", "MinimumReplicasAvailable"),
            condition("Progressing", "True", NEW_REPLICA_SET_AVAILABLE),
        ]),
        ..DeploymentStatus::default()
    }
}

fn message(h: Health) -> String {
    match h {
        Health::InProgress { message } => message,
        other => panic!("expected InProgress, got {other:?}"),
    }
}

#[test]
fn a_typed_deployment_goes_through_the_same_rules() {
    assert_eq!(deployment_health(&deployment(Some(3), Some(status((3, 3, 3, 3))))), Health::Current);
    assert_eq!(message(deployment_health(&deployment(Some(1), None))), "Replicas: 0/1");
    let mut no_conditions = status((3, 3, 3, 3));
    no_conditions.conditions = None;
    assert_eq!(
        message(deployment_health(&deployment(Some(3), Some(no_conditions)))),
        "ReplicaSet not Available",
        "complete counts without the controller's conditions are not Current"
    );
    let mut failed = status((2, 1, 1, 1));
    failed.conditions = Some(vec![condition("Progressing", "False", PROGRESS_DEADLINE_EXCEEDED)]);
    let Health::Failed { reason } = deployment_health(&deployment(Some(2), Some(failed))) else { panic!() };
    assert_eq!(reason, "ProgressDeadlineExceeded: Progressing says ProgressDeadlineExceeded");
    let mut d = deployment(Some(1), Some(status((1, 1, 1, 1))));
    d.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::UNIX_EPOCH));
    assert_eq!(message(deployment_health(&d)), "Resource scheduled for deletion");
}

#[test]
fn unset_replicas_default_to_one_like_the_api_server() {
    // An autoscaled Deployment before the autoscaler has set spec.replicas.
    let d = deployment(None, Some(status((0, 0, 0, 0))));
    assert_eq!(replica_counts(&d).desired, 1);
    assert_eq!(message(deployment_health(&d)), "Replicas: 0/1");
    // The count the autoscaler set is what the rollout has to reach.
    let scaled = deployment(Some(5), Some(status((5, 5, 5, 4))));
    assert_eq!(replica_counts(&scaled), ReplicaCounts { desired: 5, current: 5, updated: 5, ready: 5, available: 4 });
    assert_eq!(message(deployment_health(&scaled)), "Available: 4/5");
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
    assert_eq!(m, "Deployment/web-worker: Updated: 0/1");

    let mut failing = status((1, 0, 0, 0));
    failing.conditions = Some(vec![condition("Progressing", "False", PROGRESS_DEADLINE_EXCEEDED)]);
    worker.status = Some(failing);
    web.status = None;
    let Health::Failed { reason } = app_health(&[web.clone(), worker]) else { panic!("a failed worker fails the app") };
    assert!(reason.starts_with("Deployment/web-worker: ProgressDeadlineExceeded"), "{reason}");

    assert!(message(app_health(&[])).contains("no Deployment"));
    assert_eq!(message(app_health(&[web])), "Deployment/web: Replicas: 0/2");
}
