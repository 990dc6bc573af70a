//! The public conformance suite (feature `conformance`): behaviour every implementation of the four traits must
//! show, as async functions over trait objects. wooo runs it against the simulator on every `cargo test` and
//! against each cloud provider's peer (moto, wiremock, kube-fake-client); third parties run it against their own
//! implementations.
//!
//! Each function panics with a message naming the broken rule, like an assertion. Each leaves nothing behind
//! that it created (it deletes what it made, also after a failed step where it can).
//!
//! ```
//! use wooo_core::conformance;
//! use wooo_core::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let cloud = SimCloud::builder().build();
//! let spec = conformance::sample_cluster_spec("conformance-doc", CloudKind::Sim, "us-east-1", "m5.large");
//! conformance::provisioner_lifecycle(&cloud.provisioner(), &spec, &WaitOptions::default()).await;
//! # }
//! ```

use std::time::Duration;

use crate::cost::{CostAnalyzer, RecommendOptions};
use crate::deployer::Deployer;
use crate::error::{Error, ErrorKind};
use crate::mesh::MeshConfigurator;

use crate::model::{
    AppRef, AppSpec, ChangeAction, CloudKind, ClusterId, ClusterSpec, Framework, HeaderMatch, Health, MeshKind,
    MeshPolicy, NodePoolSpec, OutlierDetection, Resilience, RetryPolicy, TimeWindow, TracingSpec, TrafficSplit,
};
use crate::progress::Progress;
use crate::provisioner::{DeleteOptions, Provisioner, ProvisionerExt, WaitOptions};
use crate::{DeployerExt, Result};

/// A small valid cluster spec: one pool `general` of `instance_type`, min 1, desired 2, max 4.
pub fn sample_cluster_spec(name: &str, provider: CloudKind, region: &str, instance_type: &str) -> ClusterSpec {
    ClusterSpec {
        name: name.to_string(),
        provider,
        region: region.to_string(),
        kubernetes_version: "1.33".to_string(),
        node_pools: vec![NodePoolSpec {
            name: "general".to_string(),
            instance_types: vec![instance_type.to_string()],
            min: 1,
            max: 4,
            desired: Some(2),
            capacity: Default::default(),
            labels: Default::default(),
            taints: Vec::new(),
            disk: Default::default(),
            zones: Vec::new(),
        }],
        network: Default::default(),
        tags: Default::default(),
    }
}

/// A small valid app spec: a Flask app with two replicas.
pub fn sample_app_spec(namespace: &str, name: &str) -> AppSpec {
    let mut app = AppSpec::new(namespace, name, "registry.example.com/conformance:1.0.0", Framework::Flask);
    app.replicas = Some(2);
    app.env.insert("MODE".into(), "conformance".into());
    app
}

/// A canary policy that uses every field a mesh renderer handles: 90/10 between versions `stable` and `canary`,
/// a header match sending `x-canary: always` to the canary, retries, a timeout, outlier detection and tracing.
pub fn sample_mesh_policy(app: &AppRef, kind: MeshKind) -> MeshPolicy {
    let mut split = TrafficSplit::canary("stable", "canary", 10);
    split.header_match =
        Some(HeaderMatch { header: "x-canary".into(), value: "always".into(), version: "canary".into() });
    let mut policy = MeshPolicy::split(app.clone(), kind, split);
    policy.resilience = Some(Resilience {
        outlier_detection: Some(OutlierDetection {
            consecutive_5xx_errors: 5,
            interval: Duration::from_secs(10),
            base_ejection_time: Duration::from_secs(30),
            max_ejection_percent: 50,
        }),
        connection_pool: None,
        retries: Some(RetryPolicy {
            attempts: 2,
            per_try_timeout: Duration::from_millis(500),
            retry_on: vec!["5xx".into(), "gateway-error".into()],
        }),
        timeout: Some(Duration::from_secs(2)),
    });
    policy.tracing = Some(TracingSpec { sampling_percent: 10.0, provider: "otel".into() });
    policy
}

fn expect_kind<T: std::fmt::Debug>(result: Result<T>, kind: ErrorKind, what: &str) -> Error {
    match result {
        Err(e) if e.kind() == kind => e,
        Err(e) => panic!("{what}: expected {kind:?}, got {:?}: {e}", e.kind()),
        Ok(v) => panic!("{what}: expected {kind:?}, got Ok({v:?})"),
    }
}

fn expect_ok<T>(result: Result<T>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: unexpected error {:?}: {e}", e.kind()))
}

/// Provisioner lifecycle: invalid specs are rejected before anything is created, missing clusters are
/// `NotFound`, plan → apply → ready → idempotent re-apply (a no-op plan) → access → scale within and outside
/// the pool's range → delete → gone.
///
/// `spec` must be valid, name a cluster that does not exist yet, and have a first node pool with `min < max`.
pub async fn provisioner_lifecycle(p: &dyn Provisioner, spec: &ClusterSpec, wait: &WaitOptions) {
    let progress = Progress::none();
    let id = spec.id();
    let before = expect_ok(p.list().await, "list before").len();

    // Invalid input: typed error naming the field, nothing created.
    let mut bad = spec.clone();
    bad.name = "Not_A_Valid_Name".into();
    let err = expect_kind(p.apply(&bad, &progress).await, ErrorKind::InvalidSpec, "apply with an invalid name");
    assert_eq!(err.violations()[0].field, "name", "InvalidSpec names the field");
    let mut bad = spec.clone();
    bad.node_pools[0].instance_types.clear();
    let err = expect_kind(p.plan(&bad).await, ErrorKind::InvalidSpec, "plan with no instance types");
    assert_eq!(err.violations()[0].field, "node_pools[0].instance_types");
    assert_eq!(expect_ok(p.list().await, "list after invalid").len(), before, "an invalid spec created nothing");

    // Missing cluster.
    expect_kind(p.get(&id).await, ErrorKind::NotFound, "get before create");
    expect_kind(p.delete(&id, &DeleteOptions::default()).await, ErrorKind::NotFound, "delete before create");

    // Plan, then create.
    let plan = expect_ok(p.plan(spec).await, "plan before create");
    assert!(!plan.is_noop(), "a new cluster's plan creates something");
    assert_eq!(plan.changes[0].action, ChangeAction::Create, "the cluster itself is created first");
    let created = expect_ok(p.apply(spec, &progress).await, "apply");
    assert_eq!(created.id, id);
    let ready = expect_ok(p.wait_ready(&id, wait, &progress).await, "wait_ready");
    assert!(ready.is_ready());
    assert!(ready.status.owned, "wooo's clusters carry the ownership tag");
    let listed = expect_ok(p.list().await, "list");
    assert_eq!(listed.iter().filter(|c| c.id == id).count(), 1, "listed exactly once");

    // Idempotence.
    let again = expect_ok(p.apply(spec, &progress).await, "re-apply");
    assert_eq!(again.id, id);
    assert!(expect_ok(p.plan(spec).await, "plan after apply").is_noop(), "re-applying the same spec changes nothing");
    assert_eq!(expect_ok(p.list().await, "list after re-apply").len(), before + 1, "no duplicate cluster");

    // Access.
    let access = expect_ok(p.access(&id).await, "access");
    assert!(!access.endpoint.is_empty(), "access has an endpoint");
    let secret = match &access.auth {
        crate::model::ClusterAuth::Token(token) => Some(token.expose().to_string()),
        crate::model::ClusterAuth::ClientCertificate { key_data, .. } => Some(key_data.expose().to_string()),
        _ => None,
    };
    if let Some(secret) = secret.filter(|s| !s.is_empty()) {
        assert!(!format!("{access:?}").contains(&secret), "credentials are redacted in Debug");
    }

    // Node pool scaling.
    let pool = &spec.node_pools[0];
    let scaled = expect_ok(p.scale_node_pool(&id, &pool.name, pool.max).await, "scale to max");
    let scaled_pool = scaled.spec.node_pool(&pool.name).expect("scaled pool present");
    assert_eq!(scaled_pool.desired_count(), pool.max);
    let err =
        expect_kind(p.scale_node_pool(&id, &pool.name, pool.max + 1).await, ErrorKind::InvalidSpec, "scale above max");
    assert_eq!(err.violations()[0].field, "desired");
    expect_kind(p.scale_node_pool(&id, "no-such-pool", 1).await, ErrorKind::NotFound, "scale unknown pool");
    expect_ok(p.wait_ready(&id, wait, &progress).await, "ready after scaling");

    // Delete.
    expect_ok(p.delete(&id, &DeleteOptions::default()).await, "delete");
    expect_ok(p.wait_deleted(&id, wait, &progress).await, "wait_deleted");
    expect_kind(p.get(&id).await, ErrorKind::NotFound, "get after delete");
    assert_eq!(expect_ok(p.list().await, "list after delete").len(), before, "nothing left behind");
}

/// Deployer round trip on a ready cluster: invalid input rejected, apply → Current (revision 1) → idempotent
/// re-apply → scale → restart → apply a new image (revision 2) → rollback to the previous revision → the same
/// rollback again records nothing → empty diff → history capped at `history_limit` → delete → `NotFound`.
///
/// The deployer's [`capabilities`](Deployer::capabilities) decide what is checked: without `diff`, `diff` must
/// be [`ErrorKind::Unsupported`]; without `rollback`, so must `rollback`; `history_limit` is at least 1, and is
/// filled and checked when it is at most 20.
///
/// `app` must be valid and not deployed yet.
pub async fn deployer_round_trip(d: &dyn Deployer, app: &AppSpec, wait: &WaitOptions) {
    let progress = Progress::none();
    let app_ref = app.app_ref();
    let caps = d.capabilities();
    assert!(caps.history_limit >= 1, "a deployer keeps at least the current revision (history_limit >= 1)");

    let mut bad = app.clone();
    bad.image = String::new();
    let err = expect_kind(d.apply(&bad, &progress).await, ErrorKind::InvalidSpec, "apply with no image");
    assert_eq!(err.violations()[0].field, "image");
    expect_kind(d.status(&app_ref).await, ErrorKind::NotFound, "status of an app never applied");

    let objects = expect_ok(d.render(app), "render");
    assert!(objects.iter().any(|o| o.kind() == "Deployment"), "render yields a Deployment");
    if caps.diff {
        let diff = expect_ok(d.diff(app).await, "diff before apply");
        assert!(!diff.changes.is_empty(), "a new app's diff creates its objects");
        assert!(diff.changes.iter().all(|c| c.action == ChangeAction::Create), "a new app's diff only creates");
    } else {
        expect_kind(d.diff(app).await, ErrorKind::Unsupported, "diff without the diff capability");
    }

    let status = expect_ok(d.deploy(app, wait, &progress).await, "deploy");
    assert_eq!(status.health, Health::Current);
    assert_eq!(status.revision, 1);
    assert_eq!(status.desired_replicas, app.effective_replicas());
    assert_eq!(status.available_replicas, status.desired_replicas);
    assert!(expect_ok(d.list().await, "list").contains(&app_ref));

    let again = expect_ok(d.apply(app, &progress).await, "re-apply");
    assert_eq!(again.revision, 1, "re-applying the same spec records no revision");
    if caps.diff {
        assert!(expect_ok(d.diff(app).await, "diff after apply").is_empty(), "nothing to change after apply");
    }

    let scaled = expect_ok(d.scale(&app_ref, 3).await, "scale");
    assert_eq!(scaled.desired_replicas, 3);
    let current = expect_ok(d.wait(&app_ref, wait, &progress).await, "wait after scale");
    assert_eq!(current.available_replicas, 3);

    expect_ok(d.restart(&app_ref).await, "restart");
    expect_ok(d.wait(&app_ref, wait, &progress).await, "wait after restart");

    let mut v2 = app.clone();
    v2.image = format!("{}-next", app.image);
    let before_v2 = expect_ok(d.history(&app_ref).await, "history before v2").len();
    expect_ok(d.deploy(&v2, wait, &progress).await, "deploy v2");
    let history = expect_ok(d.history(&app_ref).await, "history after v2");
    assert_eq!(history.len(), before_v2 + 1, "a changed spec records a revision");
    assert_eq!(history.last().map(|r| r.spec.image.as_str()), Some(v2.image.as_str()));

    assert!(history.len() <= caps.history_limit as usize, "history holds at most history_limit revisions");
    if !caps.rollback {
        expect_kind(d.rollback(&app_ref, None).await, ErrorKind::Unsupported, "rollback without the capability");
        return finish_round_trip(d, app, &caps).await;
    }
    let target = crate::previous_revision(&history).map(|r| r.number).expect("two revisions after v2");
    let rolled = expect_ok(d.rollback(&app_ref, None).await, "rollback");
    assert!(rolled.revision > history.last().map(|r| r.number).unwrap_or(0), "rollback is a new revision");
    expect_ok(d.wait(&app_ref, wait, &progress).await, "wait after rollback");
    let history = expect_ok(d.history(&app_ref).await, "history after rollback");
    assert_ne!(
        history.last().map(|r| r.spec.image.as_str()),
        Some(v2.image.as_str()),
        "rollback re-applies an earlier spec"
    );
    // Repeated, as a retry after a lost answer repeats it: the spec in force already, so nothing is recorded.
    let again = expect_ok(d.rollback(&app_ref, Some(target)).await, "repeated rollback");
    assert_eq!(again.revision, rolled.revision, "a rollback to the spec in force records no revision");
    assert_eq!(expect_ok(d.history(&app_ref).await, "history after the repeat").len(), history.len());
    expect_kind(d.rollback(&app_ref, Some(9_999)).await, ErrorKind::NotFound, "rollback to an unknown revision");
    finish_round_trip(d, app, &caps).await;
}

/// Deployers that keep at most this many revisions have their limit filled and checked.
const CHECKED_HISTORY_LIMIT: u32 = 20;

/// The end of [`deployer_round_trip`]: the history limit holds (filled with applies of new images when the
/// limit is at most [`CHECKED_HISTORY_LIMIT`]), then delete.
async fn finish_round_trip(d: &dyn Deployer, app: &AppSpec, caps: &crate::deployer::DeployerCapabilities) {
    let app_ref = app.app_ref();
    if caps.history_limit <= CHECKED_HISTORY_LIMIT {
        let mut last = app.clone();
        for n in 0..=caps.history_limit {
            last.image = format!("{}-fill-{n}", app.image);
            expect_ok(d.apply(&last, &Progress::none()).await, "apply to fill the history");
        }
        let history = expect_ok(d.history(&app_ref).await, "history after filling it");
        assert_eq!(history.len(), caps.history_limit as usize, "history is capped at history_limit");
        assert_eq!(history.last().map(|r| r.spec.image.as_str()), Some(last.image.as_str()), "the newest is kept");
    }
    expect_ok(d.delete(&app_ref).await, "delete");
    expect_kind(d.status(&app_ref).await, ErrorKind::NotFound, "status after delete");
    assert!(!expect_ok(d.list().await, "list after delete").contains(&app_ref), "nothing left behind");
}

/// Mesh policy: invalid weights rejected, apply changes, the same apply changes nothing, get returns what was
/// applied, a canary step changes only the split, each feature the [`capabilities`](MeshConfigurator::capabilities)
/// claim (header match, tracing, mTLS) round-trips and each one they do not is [`ErrorKind::Unsupported`],
/// delete removes it.
///
/// `app` must be deployed on the configurator's cluster; `kind` must be in its capabilities (checked).
pub async fn mesh_idempotent(m: &dyn MeshConfigurator, app: &AppRef, kind: MeshKind) {
    let caps = m.capabilities();
    assert!(caps.kinds.contains(&kind), "{kind:?} is not in the configurator's capabilities {:?}", caps.kinds);
    let mut bad = TrafficSplit::canary("stable", "canary", 10);
    bad.backends[0].weight = 80;
    let err = expect_kind(
        m.apply(&MeshPolicy::split(app.clone(), kind, bad)).await,
        ErrorKind::InvalidSpec,
        "weights summing to 90",
    );
    assert_eq!(err.violations()[0].field, "traffic.backends");

    let policy = MeshPolicy::split(app.clone(), kind, TrafficSplit::canary("stable", "canary", 10));
    let first = expect_ok(m.apply(&policy).await, "apply");
    assert!(first.changed, "the first apply changes something");
    assert!(!first.objects.is_empty(), "objects are written");
    let second = expect_ok(m.apply(&policy).await, "re-apply");
    assert!(!second.changed, "re-applying the same policy changes nothing");
    assert_eq!(first.objects, second.objects);
    assert_eq!(expect_ok(m.get(app).await, "get"), policy);

    let step = expect_ok(m.set_traffic(app, &TrafficSplit::canary("stable", "canary", 50)).await, "canary step");
    assert!(step.changed);
    let now = expect_ok(m.get(app).await, "get after step");
    assert_eq!(now.traffic.as_ref().and_then(|t| t.weight_of("canary")), Some(50));
    assert_eq!(now.mtls, policy.mtls, "a canary step changes only the split");

    // The features the capabilities claim round-trip; a feature not claimed is refused, not dropped.
    let full = sample_mesh_policy(app, kind);
    let mut features: Vec<(bool, &str, MeshPolicy)> = Vec::new();
    let mut only_header = policy.clone();
    only_header.traffic = full.traffic.clone();
    features.push((caps.header_match, "header_match", only_header));
    let mut only_tracing = policy.clone();
    only_tracing.tracing = full.tracing.clone();
    features.push((caps.tracing, "tracing", only_tracing));
    let mut only_mtls = policy.clone();
    only_mtls.mtls = other_mtls(policy.mtls);
    features.push((caps.mtls, "mtls", only_mtls));
    for (claimed, name, with_feature) in features {
        if claimed {
            expect_ok(m.apply(&with_feature).await, &format!("apply with {name}"));
            assert_eq!(expect_ok(m.get(app).await, "get"), with_feature, "{name} round-trips");
        } else {
            expect_kind(m.apply(&with_feature).await, ErrorKind::Unsupported, &format!("{name} not claimed"));
        }
    }
    if caps.header_match && caps.tracing {
        expect_ok(m.apply(&full).await, "apply the full sample policy");
        assert_eq!(expect_ok(m.get(app).await, "get"), full, "the full sample policy round-trips");
    }

    expect_ok(m.delete(app).await, "delete");
    expect_kind(m.get(app).await, ErrorKind::NotFound, "get after delete");
}

/// An mTLS mode other than `mode`.
fn other_mtls(mode: crate::model::MtlsMode) -> crate::model::MtlsMode {
    use crate::model::MtlsMode;
    if mode == MtlsMode::Strict { MtlsMode::Permissive } else { MtlsMode::Strict }
}

/// Cost report consistency: allocations + idle + shared equal the total exactly, nothing is negative, the
/// window is echoed, an empty window is rejected, and recommendations are sorted by savings with confidences in
/// range and evidence attached.
pub async fn cost_consistency(c: &dyn CostAnalyzer, cluster: &ClusterId, window: &TimeWindow) {
    let report = expect_ok(c.cost(cluster, window).await, "cost");
    assert_eq!(&report.cluster, cluster);
    assert_eq!(&report.window, window);
    assert!(report.is_consistent(), "allocations + idle + shared == total: {report:#?}");
    assert!(report.total.nanos() > 0, "a running cluster costs something");
    assert!(report.idle.nanos() >= 0 && report.shared.nanos() >= 0);
    for a in &report.allocations {
        assert!(a.total.nanos() >= 0, "allocation of {} is negative", a.workload);
        assert_eq!(a.cpu_cost + a.memory_cost, a.total, "allocation parts add up for {}", a.workload);
    }
    let empty = TimeWindow::new(window.end, window.start);
    let err = expect_kind(c.cost(cluster, &empty).await, ErrorKind::InvalidSpec, "cost over an empty window");
    assert_eq!(err.violations()[0].field, "window");
    expect_kind(
        c.cost(&ClusterId::new("no-such-cluster"), window).await,
        ErrorKind::NotFound,
        "cost of an unknown cluster",
    );

    let caps = c.capabilities();
    if caps.allocation {
        assert!(!report.allocations.is_empty(), "an analyzer with allocation allocates the cluster's workloads");
    }
    let recs = expect_ok(c.recommend(cluster, window, &RecommendOptions::default()).await, "recommend");
    if !caps.recommendation_kinds.is_empty() {
        assert!(!recs.is_empty(), "an analyzer declaring {:?} recommends something", caps.recommendation_kinds);
    }
    for r in &recs {
        assert!(
            caps.recommendation_kinds.contains(&r.action.kind()),
            "recommendation kind {} is declared in the capabilities {:?}",
            r.action.kind(),
            caps.recommendation_kinds
        );
    }
    for kind in &caps.recommendation_kinds {
        let only = RecommendOptions { kinds: vec![*kind], ..RecommendOptions::default() };
        let filtered = expect_ok(c.recommend(cluster, window, &only).await, "recommend one kind");
        assert!(filtered.iter().all(|r| r.action.kind() == *kind), "kinds: [{kind}] returns only {kind}");
        let expected = recs.iter().filter(|r| r.action.kind() == *kind).count();
        assert_eq!(filtered.len(), expected, "kinds: [{kind}] returns every {kind} recommendation");
    }
    for pair in recs.windows(2) {
        assert!(
            pair[0].estimated_monthly_savings >= pair[1].estimated_monthly_savings,
            "recommendations are sorted by savings"
        );
    }
    for r in &recs {
        let conf = r.confidence.value();
        assert!((0.0..=1.0).contains(&conf), "confidence in 0..=1");
        assert!(!r.evidence.is_empty(), "every recommendation shows its evidence: {}", r.summary);
        assert!(!r.summary.is_empty());
    }
}
