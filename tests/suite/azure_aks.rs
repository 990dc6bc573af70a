//! `azure::Aks` against a scripted ARM server that answers with Azure's own example bodies and validates
//! every request body against the official AKS OpenAPI definition (2023-01-02-preview): the provisioner
//! conformance suite, whole create/delete flows through `Azure-AsyncOperation` and `Location`, a 429 with
//! `Retry-After`, a Failed operation, a 409 while an operation runs, no write on an unchanged re-apply, the
//! spot taint AKS adds, and the validator itself rejecting an invented field.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use wooo_core::conformance;
use wooo_core::model::{ClusterSpec, from_yaml};
use wooo_core::prelude::*;
use wooo_providers::azure::{Aks, AksBuilder, SPOT_TAINT};
use wooo_tests::azure_arm::{FakeArm, Fault, FaultKind, aks_openapi, example};

/// A fixed bearer token: the fake does not check it.
struct FixedToken;

#[async_trait::async_trait]
impl azure_core::auth::TokenCredential for FixedToken {
    async fn get_token(&self, _resource: &str) -> azure_core::Result<azure_core::auth::TokenResponse> {
        Ok(azure_core::auth::TokenResponse::new(
            azure_core::auth::AccessToken::new("fake-arm-token"),
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

fn wait() -> WaitOptions {
    WaitOptions {
        timeout: Duration::from_secs(60),
        interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(40),
        jitter_percent: 10,
    }
}

fn aks(arm: &FakeArm) -> Aks {
    AksBuilder::new()
        .subscription_id("subid1")
        .resource_group("rg1")
        .location("westeurope")
        .endpoint(arm.uri())
        .credential(Arc::new(FixedToken))
        .wait(wait())
        .attempts(4)
        .build()
        .expect("builds")
}

fn spec(name: &str) -> ClusterSpec {
    from_yaml(&format!(
        r#"
name: {name}
provider: azure
region: westeurope
kubernetes_version: "1.32"
node_pools:
  - name: system
    instance_types: [Standard_D4s_v5]
    min: 1
    max: 3
    desired: 1
  - name: spot
    instance_types: [Standard_D8s_v5]
    min: 0
    max: 5
    capacity: spot
    labels: {{workload: batch}}
    taints: [{{key: workload, value: batch, effect: NoSchedule}}]
network:
  service_cidr: 10.0.0.0/16
tags: {{team: platform}}
"#
    ))
    .expect("spec")
}

fn writes(arm: &FakeArm) -> usize {
    arm.seen().iter().filter(|s| matches!(s.method.as_str(), "PUT" | "DELETE" | "PATCH")).count()
}

#[tokio::test]
async fn conformance_lifecycle_on_the_scripted_arm_with_every_body_valid() {
    let arm = FakeArm::start(2).await;
    let aks = aks(&arm);
    conformance::provisioner_lifecycle(&aks, &spec("conform"), &wait()).await;
    assert_eq!(arm.violations(), Vec::<String>::new(), "every request body matches the AKS definition");
    assert!(arm.validated() >= 2, "the cluster and agent pool PUTs were checked");
    assert!(!arm.has_group("rg1"), "the resource group wooo created for the cluster went with it");
}

#[tokio::test]
async fn create_follows_async_operation_and_a_re_apply_writes_nothing() {
    let arm = FakeArm::start(3).await;
    let aks = aks(&arm);
    let s = spec("flow");
    let cluster = aks.apply(&s, &Progress::none()).await.expect("apply");
    assert!(cluster.is_ready());
    let seen = arm.seen();
    let put = seen.iter().position(|r| r.method == "PUT" && r.path.contains("/managedClusters/flow?")).expect("PUT");
    assert_eq!(seen[put].status, 201);
    assert!(seen[put].path.contains("api-version=2023-01-02-preview"), "{}", seen[put].path);
    let polls: Vec<u16> = seen[put..].iter().filter(|r| r.path.contains("/operations/")).map(|r| r.status).collect();
    assert_eq!(polls.len(), 4, "three InProgress looks, then Succeeded: {polls:?}");
    let gets = seen.iter().filter(|r| r.method == "GET").count();
    assert_eq!(arm.validated(), 1, "the cluster PUT's body was checked against the definition");
    eprintln!("AKS creation: {gets} GET calls ({} operation looks), {} writes", polls.len(), writes(&arm));
    // The spot taint AKS added is reported, and not "fixed".
    let spot = cluster.spec.node_pool("spot").expect("spot pool");
    assert!(spot.taints.iter().any(|t| SPOT_TAINT.starts_with(&t.key)), "{:?}", spot.taints);
    let before = writes(&arm);
    aks.apply(&s, &Progress::none()).await.expect("re-apply");
    assert!(aks.plan(&s).await.expect("plan").is_noop());
    assert_eq!(writes(&arm), before, "an unchanged re-apply makes no write");
    assert_eq!(arm.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn delete_follows_location_until_204_and_keeps_a_group_wooo_did_not_make() {
    let arm = FakeArm::start(2).await;
    arm.add_group("rg1");
    let aks = aks(&arm);
    let s = spec("gone");
    aks.apply(&s, &Progress::none()).await.expect("apply");
    aks.delete(&s.id(), &DeleteOptions::default()).await.expect("delete");
    let seen = arm.seen();
    let del =
        seen.iter().position(|r| r.method == "DELETE" && r.path.contains("/managedClusters/gone?")).expect("DELETE");
    assert_eq!(seen[del].status, 202);
    let looks: Vec<u16> = seen[del..].iter().filter(|r| r.path.contains("/locations/")).map(|r| r.status).collect();
    assert_eq!(looks, [202, 202, 204]);
    let pool_del = seen.iter().position(|r| r.method == "DELETE" && r.path.contains("/agentPools/spot")).expect("pool");
    assert!(pool_del < del, "the user pool goes before the cluster");
    assert!(arm.has_group("rg1"), "a resource group wooo did not create stays");
    assert!(arm.cluster("gone").is_none());
}

#[tokio::test]
async fn throttling_honours_retry_after() {
    let arm = FakeArm::start(1).await;
    arm.fault(Fault { method: "GET", path: "/managedClusters/slow".into(), count: 1, kind: FaultKind::Throttle(1) });
    let aks = aks(&arm);
    aks.apply(&spec("slow"), &Progress::none()).await.expect("apply after the throttle");
    let seen = arm.seen();
    let throttled = seen.iter().position(|r| r.status == 429).expect("a 429");
    let gap = seen[throttled + 1].at.duration_since(seen[throttled].at);
    assert!(gap >= Duration::from_millis(950), "waited {gap:?}, Retry-After said 1 s");
}

#[tokio::test]
async fn a_failed_operation_surfaces_its_arm_error() {
    let arm = FakeArm::start(1).await;
    arm.fault(Fault {
        method: "PUT",
        path: "/managedClusters/broken".into(),
        count: 1,
        kind: FaultKind::FailOperation("QuotaExceeded".into(), "Provisioning would exceed the vCPU quota".into()),
    });
    let err = aks(&arm).apply(&spec("broken"), &Progress::none()).await.expect_err("fails");
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert!(err.to_string().contains("QuotaExceeded: Provisioning would exceed the vCPU quota"), "{err}");
}

#[tokio::test]
async fn a_409_while_an_operation_runs_is_waited_out() {
    let arm = FakeArm::start(1).await;
    let aks = aks(&arm);
    let s = spec("busy");
    aks.apply(&s, &Progress::none()).await.expect("apply");
    arm.fault(Fault { method: "PUT", path: "/agentPools/spot".into(), count: 1, kind: FaultKind::Conflict });
    let mut changed = s.clone();
    changed.node_pools[1].max = 8;
    let cluster = aks.apply(&changed, &Progress::none()).await.expect("apply after the 409");
    assert_eq!(cluster.spec.node_pool("spot").expect("spot").max, 8);
    let puts: Vec<u16> = arm
        .seen()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.contains("/agentPools/spot"))
        .map(|r| r.status)
        .collect();
    assert_eq!(puts, [409, 200]);
    assert_eq!(arm.violations(), Vec::<String>::new());
}

#[test]
fn the_validator_accepts_the_official_request_and_rejects_an_invented_field() {
    let api = aks_openapi();
    let path = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}";
    let text =
        std::fs::read_to_string(wooo_tests::azure_arm::aks_data().join("examples/ManagedClustersCreate_Update.json"))
            .expect("example");
    let official: serde_json::Value = serde_json::from_str(&text).expect("json");
    let body = &official["parameters"]["parameters"];
    assert_eq!(api.validate_request(path, "put", body), Vec::<String>::new(), "the official example is valid");
    let mut invented = body.clone();
    invented["properties"]["agentPoolProfiles"][0]["spotPriceCap"] = json!(-1);
    let errors = api.validate_request(path, "put", &invented);
    assert!(errors.iter().any(|e| e.contains("spotPriceCap") && e.contains("unknown property")), "{errors:?}");
    let mut wrong_enum = body.clone();
    wrong_enum["properties"]["agentPoolProfiles"][0]["scaleSetEvictionPolicy"] = json!("Evaporate");
    assert!(!api.validate_request(path, "put", &wrong_enum).is_empty(), "an unknown enum value fails");
    let mut read_only = body.clone();
    read_only["properties"]["provisioningState"] = json!("Succeeded");
    assert!(api.validate_request(path, "put", &read_only).iter().any(|e| e.contains("read-only")));
    // The example GET body carries read-only fields: it is an answer, not a request.
    assert!(!example("ManagedClustersGet.json", "200").is_null());
}

#[tokio::test]
async fn the_example_applies_and_deletes_the_shipped_spec() {
    use wooo_examples::azure::{Mode, run};
    let arm = FakeArm::start(1).await;
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/specs/aks-cluster.yaml");
    let builder = || {
        AksBuilder::new()
            .subscription_id("subid1")
            .resource_group("rg-example")
            .endpoint(arm.uri())
            .credential(Arc::new(FixedToken))
            .wait(wait())
    };
    let mut out = Vec::new();
    run(builder(), &spec, Mode::Apply, &mut out).await.expect("apply");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.contains("+ cluster (Create)"), "{text}");
    assert!(text.contains("cluster demo-aks ready: Kubernetes 1.32.4"), "{text}");
    let mut out = Vec::new();
    run(builder(), &spec, Mode::Delete, &mut out).await.expect("delete");
    assert!(String::from_utf8(out).expect("utf-8").contains("cluster demo-aks deleted"));
    assert!(!arm.has_group("rg-example"));
    assert_eq!(arm.violations(), Vec::<String>::new());
}
