//! `KubeDeployer` against its peers: kube-fake-client (an in-memory API server with server-side apply, managed
//! fields, resource versions, label selectors and status subresources) behind `kube::testing`'s recording client
//! (which adds the watches kube-fake-client does not serve) for state, and `tower_test` mocks for request shapes
//! and for scripted watches: expired, refused, broken and closed ones.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::client::Body;
use serde_json::json;
use tower_test::mock;
use wooo_core::ErrorKind;
use wooo_core::model::{AutoscalingSpec, Framework, IngressSpec, SecretString};

use super::*;
use crate::kube::apply::CONFIG_HASH_ANNOTATION;
use crate::kube::inventory::{CONTAINS_GROUP_KINDS_ANNOTATION, PART_OF_LABEL};
use crate::kube::revisions::to_secret;
pub(crate) use crate::kube::testing::{
    Intercept, Log, Seen, fake, fake_cluster as env, json_response, not_found_status, recording, spawn_controller,
};

// ----- helpers -----

/// The deployer as most tests run it on the fake: polling (each test reads statuses it wrote itself; the watch
/// has tests of its own) and local diffs (the fake ignores `dryRun` and would apply for real).
pub(crate) fn deployer(client: kube::Client) -> KubeDeployer {
    KubeDeployer::new(client).with_options(KubeDeployerOptions {
        wait: WaitStrategy::Poll,
        diff: DiffStrategy::Local,
        ..KubeDeployerOptions::default()
    })
}

pub(crate) fn spec() -> AppSpec {
    let mut app = AppSpec::new("shop", "web", "registry.example.com/shop/web:1.0.0", Framework::Flask);
    app.replicas = Some(2);
    app.config.insert("MODE".into(), "prod".into());
    app.secrets.insert("DB_PASSWORD".into(), SecretString::new("hunter2"));
    app
}

fn with_ingress(mut app: AppSpec) -> AppSpec {
    app.ingress = Some(IngressSpec {
        host: "shop.example.com".into(),
        path: "/".into(),
        class_name: Some("nginx".into()),
        tls: None,
    });
    app
}

pub(crate) fn quick_wait() -> WaitOptions {
    WaitOptions {
        timeout: Duration::from_secs(10),
        interval: Duration::from_millis(5),
        max_interval: Duration::from_millis(20),
        jitter_percent: 0,
    }
}

async fn deployment(client: &kube::Client, name: &str) -> Deployment {
    Api::<Deployment>::namespaced(client.clone(), "shop").get(name).await.unwrap()
}

fn image(d: &Deployment) -> String {
    d.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0].image.clone().unwrap()
}

/// Every object of the app's namespace that the tests look at, as `Kind/name → resourceVersion`.
async fn versions(client: &kube::Client) -> Vec<(String, String)> {
    async fn of<K>(client: &kube::Client, kind: &str) -> Vec<(String, String)>
    where
        K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(client.clone(), "shop");
        api.list(&Default::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(|o| {
                let meta = o.meta();
                (format!("{kind}/{}", meta.name.clone().unwrap()), meta.resource_version.clone().unwrap())
            })
            .collect()
    }
    let mut all = Vec::new();
    all.extend(of::<Deployment>(client, "Deployment").await);
    all.extend(of::<Service>(client, "Service").await);
    all.extend(of::<ServiceAccount>(client, "ServiceAccount").await);
    all.extend(of::<ConfigMap>(client, "ConfigMap").await);
    all.extend(of::<Secret>(client, "Secret").await);
    all.extend(of::<Ingress>(client, "Ingress").await);
    let ns = Api::<Namespace>::all(client.clone()).get("shop").await.unwrap();
    all.push(("Namespace/shop".into(), ns.metadata.resource_version.unwrap()));
    all.sort();
    all
}

/// The conditions the Deployment controller sets once a rollout is complete: `Progressing=True` with reason
/// `NewReplicaSetAvailable`, and `Available=True`.
fn rolled_out() -> serde_json::Value {
    json!([
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
    ])
}

/// Writes a Deployment's status as its controller would.
async fn write_status(client: &kube::Client, name: &str, status: serde_json::Value) {
    Api::<Deployment>::namespaced(client.clone(), "shop")
        .patch_status(name, &PatchParams::default(), &Patch::Merge(json!({ "status": status })))
        .await
        .unwrap();
}

// ----- stateful tests on kube-fake-client -----

#[tokio::test]
async fn first_apply_creates_members_parent_and_revision() {
    let (client, _) = env().await;
    let d = deployer(client.clone());
    let status = d.apply(&spec(), &Progress::none()).await.unwrap();
    assert_eq!(status.revision, 1);
    assert_eq!(status.desired_replicas, 2);
    assert!(matches!(status.health, Health::InProgress { .. }), "no controller has looked yet: {status:?}");

    let set = ApplySet::of(&AppRef::new("shop", "web"));
    let parent = Api::<Secret>::namespaced(client.clone(), "shop").get(&set.parent_name).await.unwrap();
    assert_eq!(
        parent.metadata.annotations.unwrap()[CONTAINS_GROUP_KINDS_ANNOTATION],
        "ConfigMap,Deployment.apps,Namespace,PodDisruptionBudget.policy,Secret,Service,ServiceAccount"
    );
    let dep = deployment(&client, "web").await;
    let labels = dep.metadata.labels.clone().unwrap();
    assert_eq!(labels[PART_OF_LABEL], set.id);
    assert!(dep.metadata.annotations.unwrap().contains_key(CONFIG_HASH_ANNOTATION));
    let ns = Api::<Namespace>::all(client.clone()).get("shop").await.unwrap();
    assert_eq!(ns.metadata.labels.unwrap()[PART_OF_LABEL], set.id, "a namespace wooo creates is a member");
    assert_eq!(d.history(&AppRef::new("shop", "web")).await.unwrap().len(), 1);
    assert_eq!(d.list().await.unwrap(), vec![AppRef::new("shop", "web")]);
}

#[tokio::test]
async fn apply_twice_is_a_no_op() {
    let (client, log) = env().await;
    let d = deployer(client.clone());
    let app = with_ingress(spec());
    d.apply(&app, &Progress::none()).await.unwrap();
    let before = versions(&client).await;
    let writes_before = log.lock().unwrap().iter().filter(|s| s.is_write()).count();

    let again = d.apply(&app, &Progress::none()).await.unwrap();
    assert_eq!(again.revision, 1, "no new revision");
    assert_eq!(d.history(&app.app_ref()).await.unwrap().len(), 1);
    assert_eq!(versions(&client).await, before, "no object was written");
    let writes_after = log.lock().unwrap().iter().filter(|s| s.is_write()).count();
    assert_eq!(writes_after, writes_before, "an unchanged apply sends reads only");
    assert!(d.diff(&app).await.unwrap().is_empty());
}

#[tokio::test]
async fn prune_removes_exactly_the_dropped_objects() {
    let (client, _) = env().await;
    let d = deployer(client.clone());
    d.apply(&with_ingress(spec()), &Progress::none()).await.unwrap();
    // Someone else's objects of the same kinds in the namespace, without the ApplySet label.
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), "shop");
    let mut manual: Ingress = serde_json::from_value(json!({"metadata": {"name": "manual", "namespace": "shop",
        "labels": {"app.kubernetes.io/managed-by": "wooo"}}}))
    .unwrap();
    ingresses.create(&PostParams::default(), &manual).await.unwrap();
    manual.metadata.name = Some("other".into());
    manual.metadata.labels = None;
    ingresses.create(&PostParams::default(), &manual).await.unwrap();
    let before: Vec<(String, String)> =
        versions(&client).await.into_iter().filter(|(k, _)| !k.starts_with("Ingress/")).collect();

    let diff = d.diff(&spec()).await.unwrap();
    assert_eq!(
        diff.changes,
        vec![ObjectChange { object: "Ingress/web".into(), action: ChangeAction::Delete, fields: vec![] }]
    );

    let status = d.apply(&spec(), &Progress::none()).await.unwrap();
    assert_eq!(status.revision, 2, "pruning is a change");
    let mut left: Vec<String> = ingresses
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.metadata.name.unwrap())
        .collect();
    left.sort();
    assert_eq!(left, vec!["manual", "other"], "only the app's Ingress is pruned");
    let after: Vec<(String, String)> =
        versions(&client).await.into_iter().filter(|(k, _)| !k.starts_with("Ingress/")).collect();
    let parent = after.iter().find(|(k, _)| k == "Secret/wooo-applyset-web").cloned();
    let strip = |v: Vec<(String, String)>| -> Vec<(String, String)> {
        v.into_iter().filter(|(k, _)| k != "Secret/wooo-applyset-web" && !k.starts_with("Secret/wooo-rev-")).collect()
    };
    assert_eq!(strip(after.clone()), strip(before.clone()), "nothing else was written");
    assert_ne!(
        parent,
        before.iter().find(|(k, _)| k == "Secret/wooo-applyset-web").cloned(),
        "the parent forgot Ingress"
    );
    let set = ApplySet::of(&AppRef::new("shop", "web"));
    let parent = Api::<Secret>::namespaced(client, "shop").get(&set.parent_name).await.unwrap();
    assert!(!parent.metadata.annotations.unwrap()[CONTAINS_GROUP_KINDS_ANNOTATION].contains("Ingress"));
}

#[tokio::test]
async fn a_field_owned_by_another_manager_is_a_conflict() {
    let (client, log) = env().await;
    // Another tool applied a Service of the same name first.
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "shop"}})).unwrap())
        .await
        .unwrap();
    let theirs = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"ports": [{"port": 80}]}});
    Api::<Service>::namespaced(client.clone(), "shop")
        .patch("web", &PatchParams::apply("helm"), &Patch::Apply(&theirs))
        .await
        .unwrap();
    let err = deployer(client.clone()).apply(&spec(), &Progress::none()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let service_patch = log
        .lock()
        .unwrap()
        .iter()
        .rfind(|s| s.method == "PATCH" && s.path == "/api/v1/namespaces/shop/services/web")
        .cloned()
        .unwrap();
    assert!(service_patch.query.contains("fieldManager=wooo"), "{service_patch:?}");
    assert!(!service_patch.query.contains("force"), "objects wooo does not own are not forced: {service_patch:?}");
}

#[tokio::test]
async fn apply_requests_are_server_side_applies_by_wooo() {
    let (client, log) = env().await;
    let d = deployer(client.clone());
    d.apply(&spec(), &Progress::none()).await.unwrap();
    let first: Vec<Seen> = log.lock().unwrap().drain(..).collect();
    let patches: Vec<&Seen> = first.iter().filter(|s| s.method == "PATCH").collect();
    // Namespace, parent, ServiceAccount, ConfigMap, Secret, Deployment, Service, PodDisruptionBudget.
    assert_eq!(patches.len(), 8, "{patches:#?}");
    for p in &patches {
        assert_eq!(p.content_type, "application/apply-patch+yaml", "{p:?}");
        assert!(p.query.contains("fieldManager=wooo"), "{p:?}");
    }
    let deployment_patch = patches.iter().find(|p| p.path.ends_with("/deployments/web")).unwrap();
    assert_eq!(deployment_patch.path, "/apis/apps/v1/namespaces/shop/deployments/web");
    assert!(!deployment_patch.query.contains("force=true"), "a new object is not forced");
    assert!(first.iter().all(|s| !s.path.starts_with("/apis/apps/v1/namespaces/shop/deployments?")
        || s.query.contains("labelSelector=applyset.kubernetes.io%2Fpart-of")));
    assert!(first.iter().any(|s| s.method == "POST" && s.path == "/api/v1/namespaces/shop/secrets"), "revision");

    // A changed object wooo owns is forced.
    let mut v2 = spec();
    v2.image = "registry.example.com/shop/web:2.0.0".into();
    d.apply(&v2, &Progress::none()).await.unwrap();
    let second: Vec<Seen> = log.lock().unwrap().drain(..).collect();
    let patches: Vec<&Seen> = second.iter().filter(|s| s.method == "PATCH").collect();
    assert_eq!(patches.len(), 1, "only the Deployment changed: {patches:#?}");
    assert!(patches[0].query.contains("force=true"), "{:?}", patches[0]);
    assert_eq!(image(&deployment(&client, "web").await), "registry.example.com/shop/web:2.0.0");
}

#[tokio::test]
async fn request_counts_of_an_apply() {
    let (client, log) = env().await;
    let d = deployer(client);
    let app = with_ingress(spec());
    let n = d.render(&app).unwrap().len();
    d.apply(&app, &Progress::none()).await.unwrap();
    let first: Vec<Seen> = log.lock().unwrap().drain(..).collect();
    d.apply(&app, &Progress::none()).await.unwrap();
    let second: Vec<Seen> = log.lock().unwrap().drain(..).collect();
    let count = |seen: &[Seen], method: &str| seen.iter().filter(|s| s.method == method).count();
    // 8 objects of 7 namespaced kinds plus the Namespace.
    assert_eq!(n, 8);
    // First apply: the app's Secret GET (its rollout key), parent GET, Namespace GET, one LIST per namespaced
    // kind (7), one PATCH per object (8) and one for the parent, the revision LIST and POST.
    assert_eq!(
        (count(&first, "GET"), count(&first, "PATCH"), count(&first, "POST")),
        (3 + 7 + 1, 8 + 1, 1),
        "{first:#?}"
    );
    assert_eq!(first.len(), 21);
    // Unchanged apply: the same reads, no write.
    assert_eq!(second.len(), 11, "{second:#?}");
    assert!(second.iter().all(|s| s.method == "GET"));
}

#[tokio::test]
async fn rollback_restores_the_previous_image() {
    let (client, _) = env().await;
    let d = deployer(client.clone());
    let app = spec();
    let r = app.app_ref();
    d.apply(&app, &Progress::none()).await.unwrap();
    let mut v2 = app.clone();
    v2.image = "registry.example.com/shop/web:2.0.0".into();
    assert_eq!(d.apply(&v2, &Progress::none()).await.unwrap().revision, 2);
    assert_eq!(image(&deployment(&client, "web").await), v2.image);

    let rolled = d.rollback(&r, None).await.unwrap();
    assert_eq!(rolled.revision, 3);
    assert_eq!(image(&deployment(&client, "web").await), app.image);
    let history = d.history(&r).await.unwrap();
    let causes: Vec<&str> = history.iter().map(|h| h.cause.as_str()).collect();
    assert_eq!(causes, vec!["apply", "apply", "rollback to 1"]);
    assert_eq!(history[2].spec, app);

    d.rollback(&r, Some(2)).await.unwrap();
    assert_eq!(image(&deployment(&client, "web").await), v2.image);
    assert_eq!(d.rollback(&r, Some(99)).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(d.rollback(&AppRef::new("shop", "nope"), None).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn history_is_capped() {
    let (client, _) = env().await;
    let d = KubeDeployer::new(client.clone())
        .with_options(KubeDeployerOptions { history_limit: 2, ..KubeDeployerOptions::default() });
    let mut app = spec();
    for i in 1..=4 {
        app.image = format!("registry.example.com/shop/web:{i}.0.0");
        d.apply(&app, &Progress::none()).await.unwrap();
    }
    let numbers: Vec<u64> = d.history(&app.app_ref()).await.unwrap().iter().map(|r| r.number).collect();
    assert_eq!(numbers, vec![3, 4]);
    let stored = Api::<Secret>::namespaced(client, "shop").list(&Default::default()).await.unwrap();
    let mut names: Vec<String> =
        stored.items.into_iter().filter_map(|s| s.metadata.name).filter(|n| n.starts_with("wooo-rev-")).collect();
    names.sort();
    assert_eq!(names, vec!["wooo-rev-web-v3", "wooo-rev-web-v4"]);
}

#[tokio::test]
async fn scale_without_an_autoscaler_sets_replicas() {
    let (client, _) = env().await;
    let d = deployer(client.clone());
    let r = spec().app_ref();
    d.apply(&spec(), &Progress::none()).await.unwrap();
    let scaled = d.scale(&r, 5).await.unwrap();
    assert_eq!((scaled.desired_replicas, scaled.revision), (5, 2));
    assert_eq!(deployment(&client, "web").await.spec.unwrap().replicas, Some(5));
    let latest = d.history(&r).await.unwrap().pop().unwrap();
    assert_eq!((latest.cause.as_str(), latest.spec.replicas), ("scale to 5", Some(5)));
    // The same count again changes nothing.
    assert_eq!(d.scale(&r, 5).await.unwrap().revision, 2);
    // A later apply of the stored spec keeps the count.
    d.apply(&latest.spec, &Progress::none()).await.unwrap();
    assert_eq!(deployment(&client, "web").await.spec.unwrap().replicas, Some(5));
    assert_eq!(d.scale(&AppRef::new("shop", "nope"), 1).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn scale_with_an_autoscaler_moves_its_bounds() {
    let (client, _) = env().await;
    let d = deployer(client.clone());
    let mut app = spec();
    app.replicas = None;
    app.autoscaling = Some(AutoscalingSpec {
        min_replicas: 2,
        max_replicas: 5,
        cpu_target_percent: Some(70),
        memory_target_percent: None,
        scale_up: None,
        scale_down: None,
    });
    let r = app.app_ref();
    d.apply(&app, &Progress::none()).await.unwrap();
    let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), "shop");
    let bounds = |h: HorizontalPodAutoscaler| {
        let s = h.spec.unwrap();
        (s.min_replicas, s.max_replicas)
    };
    assert_eq!(bounds(hpas.get("web").await.unwrap()), (Some(2), 5));

    d.scale(&r, 8).await.unwrap();
    assert_eq!(bounds(hpas.get("web").await.unwrap()), (Some(8), 8));
    d.scale(&r, 3).await.unwrap();
    assert_eq!(bounds(hpas.get("web").await.unwrap()), (Some(3), 8));
    assert_eq!(deployment(&client, "web").await.spec.unwrap().replicas, None, "the autoscaler owns replicas");
    let latest = d.history(&r).await.unwrap().pop().unwrap();
    let auto = latest.spec.autoscaling.unwrap();
    assert_eq!((auto.min_replicas, auto.max_replicas, latest.cause.as_str()), (3, 8, "scale to 3"));
    let err = d.scale(&r, 0).await.unwrap_err();
    assert_eq!(err.violations()[0].field, "replicas");

    // With an autoscaler, the desired count is what it set on the Deployment.
    Api::<Deployment>::namespaced(client.clone(), "shop")
        .patch(
            "web",
            &PatchParams::apply("hpa-controller"),
            &Patch::Apply(json!({"apiVersion": "apps/v1",
            "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 6}})),
        )
        .await
        .unwrap();
    assert_eq!(d.status(&r).await.unwrap().desired_replicas, 6);
}

#[tokio::test]
async fn restart_sets_the_annotation_and_later_applies_keep_it() {
    let (client, log) = env().await;
    let d = deployer(client.clone());
    let app = spec();
    d.apply(&app, &Progress::none()).await.unwrap();
    log.lock().unwrap().clear();
    let before = jiff::Timestamp::now();
    let status = d.restart(&app.app_ref()).await.unwrap();
    assert_eq!(status.revision, 1, "a restart is not a spec change");
    let patch = log.lock().unwrap().iter().find(|s| s.method == "PATCH").cloned().unwrap();
    assert!(patch.query.contains("fieldManager=wooo-restart") && patch.query.contains("force=true"), "{patch:?}");
    assert_eq!(patch.content_type, "application/apply-patch+yaml");

    let annotations = deployment(&client, "web").await.spec.unwrap().template.metadata.unwrap().annotations.unwrap();
    let at: jiff::Timestamp = annotations[RESTARTED_AT_ANNOTATION].parse().expect("RFC 3339");
    assert!(at >= before);
    assert_eq!(image(&deployment(&client, "web").await), app.image, "the rest of the Deployment is kept");

    let again = d.apply(&app, &Progress::none()).await.unwrap();
    assert_eq!(again.revision, 1, "the annotation is not a difference wooo undoes");
    let kept = deployment(&client, "web").await.spec.unwrap().template.metadata.unwrap().annotations.unwrap();
    assert_eq!(kept[RESTARTED_AT_ANNOTATION], annotations[RESTARTED_AT_ANNOTATION]);
}

#[tokio::test]
async fn status_follows_the_deployment_controller() {
    let (client, _) = env().await;
    let d = deployer(client.clone());
    let r = spec().app_ref();
    assert_eq!(d.status(&r).await.unwrap_err().kind(), ErrorKind::NotFound);
    d.apply(&spec(), &Progress::none()).await.unwrap();
    let generation = deployment(&client, "web").await.metadata.generation.unwrap();

    let status = d.status(&r).await.unwrap();
    assert_eq!(status.health, Health::InProgress { message: "Deployment/web: Replicas: 0/2".into() });

    write_status(
        &client,
        "web",
        json!({"observedGeneration": generation, "replicas": 2, "updatedReplicas": 1,
        "readyReplicas": 1, "availableReplicas": 1}),
    )
    .await;
    let status = d.status(&r).await.unwrap();
    assert_eq!(status.health, Health::InProgress { message: "Deployment/web: Updated: 1/2".into() });
    assert_eq!((status.updated_replicas, status.ready_replicas, status.available_replicas), (1, 1, 1));

    // Every count complete, but the controller has not said the new ReplicaSet is available: not Current.
    write_status(
        &client,
        "web",
        json!({"observedGeneration": generation, "replicas": 2, "updatedReplicas": 2,
        "readyReplicas": 2, "availableReplicas": 2}),
    )
    .await;
    let status = d.status(&r).await.unwrap();
    assert_eq!(status.health, Health::InProgress { message: "Deployment/web: ReplicaSet not Available".into() });
    write_status(&client, "web", json!({"conditions": [rolled_out()[0].clone()]})).await;
    let status = d.status(&r).await.unwrap();
    assert_eq!(status.health, Health::InProgress { message: "Deployment/web: Deployment not Available".into() });
    write_status(&client, "web", json!({"conditions": rolled_out()})).await;
    let status = d.status(&r).await.unwrap();
    assert_eq!(status.health, Health::Current);
    assert_eq!(d.wait(&r, &quick_wait(), &Progress::none()).await.unwrap(), status);

    write_status(
        &client,
        "web",
        json!({"availableReplicas": 1, "conditions": [{"type": "Progressing",
        "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet web-1 has timed out"}]}),
    )
    .await;
    let status = d.status(&r).await.unwrap();
    assert!(matches!(&status.health, Health::Failed { reason } if reason.contains("timed out")), "{status:?}");
    let err = d.wait(&r, &quick_wait(), &Progress::none()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider, "a failed app fails the wait at once: {err}");
}

#[tokio::test]
async fn django_is_current_only_when_both_deployments_are() {
    let (client, _) = env().await;
    let d = deployer(client.clone());
    let mut app = spec();
    app.framework = Framework::Django;
    d.apply(&app, &Progress::none()).await.unwrap();
    let done = |g: i64| {
        json!({"observedGeneration": g, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2,
        "availableReplicas": 2, "conditions": rolled_out()})
    };
    let web_gen = deployment(&client, "web").await.metadata.generation.unwrap();
    write_status(&client, "web", done(web_gen)).await;
    let status = d.status(&app.app_ref()).await.unwrap();
    assert!(
        matches!(&status.health, Health::InProgress { message } if message.starts_with("Deployment/web-worker")),
        "{status:?}"
    );
    assert_eq!(status.available_replicas, 2, "counts are the web Deployment's");
    let worker = deployment(&client, "web-worker").await;
    let worker_replicas = worker.spec.unwrap().replicas.unwrap();
    write_status(
        &client,
        "web-worker",
        json!({"observedGeneration": worker.metadata.generation, "replicas": worker_replicas,
        "updatedReplicas": worker_replicas, "readyReplicas": worker_replicas, "availableReplicas": worker_replicas,
        "conditions": rolled_out()}),
    )
    .await;
    assert_eq!(d.status(&app.app_ref()).await.unwrap().health, Health::Current);
}

#[tokio::test]
async fn delete_removes_everything_but_the_namespace() {
    let (client, _) = env().await;
    let d = deployer(client.clone());
    let app = with_ingress(spec());
    d.apply(&app, &Progress::none()).await.unwrap();
    let mut v2 = app.clone();
    v2.image = "registry.example.com/shop/web:2.0.0".into();
    d.apply(&v2, &Progress::none()).await.unwrap();
    // Not the app's: kept.
    Api::<ConfigMap>::namespaced(client.clone(), "shop")
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "keep-me"}})).unwrap())
        .await
        .unwrap();

    d.delete(&app.app_ref()).await.unwrap();
    let left: Vec<String> = versions(&client).await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(left, vec!["ConfigMap/keep-me", "Namespace/shop"]);
    assert_eq!(d.status(&app.app_ref()).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(d.history(&app.app_ref()).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(d.delete(&app.app_ref()).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert!(d.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_namespace_that_is_not_the_apps_is_left_alone() {
    let (client, _) = env().await;
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "shop", "labels": {"team": "payments"}}})).unwrap();
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.unwrap();
    let d = deployer(client.clone());
    d.apply(&spec(), &Progress::none()).await.unwrap();
    let mut other = spec();
    other.name = "api".into();
    d.apply(&other, &Progress::none()).await.unwrap();
    let ns = Api::<Namespace>::all(client.clone()).get("shop").await.unwrap();
    assert_eq!(ns.metadata.labels.unwrap(), [("team".to_string(), "payments".to_string())].into_iter().collect());
    assert_eq!(d.list().await.unwrap(), vec![AppRef::new("shop", "api"), AppRef::new("shop", "web")]);
    assert!(d.diff(&spec()).await.unwrap().is_empty());
}

#[tokio::test]
async fn diff_names_created_and_changed_fields() {
    let (client, _) = env().await;
    let d = deployer(client.clone());
    let app = spec();
    let created = d.diff(&app).await.unwrap();
    assert_eq!(created.changes.len(), d.render(&app).unwrap().len());
    assert!(created.changes.iter().all(|c| c.action == ChangeAction::Create));
    d.apply(&app, &Progress::none()).await.unwrap();

    let mut v2 = app.clone();
    v2.image = "registry.example.com/shop/web:2.0.0".into();
    v2.config.insert("MODE".into(), "debug".into());
    let diff = d.diff(&v2).await.unwrap();
    let by_object: Vec<(&str, &[String])> =
        diff.changes.iter().map(|c| (c.object.as_str(), c.fields.as_slice())).collect();
    assert!(by_object.contains(&("ConfigMap/web-config", &["/data/MODE".to_string()][..])), "{by_object:#?}");
    let dep = diff.changes.iter().find(|c| c.object == "Deployment/web").unwrap();
    assert_eq!(dep.action, ChangeAction::UpdateInPlace);
    assert!(dep.fields.iter().any(|f| f.ends_with("/containers/0/image")), "{dep:?}");
    assert!(diff.changes.iter().all(|c| c.object != "Service/web"), "unchanged objects are left out");
    let err = d.diff(&AppSpec { image: String::new(), ..app }).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSpec, "an app without an image is refused before any request: {err}");
    assert_eq!(err.violations()[0].field, "image");
}

#[tokio::test]
async fn a_missing_custom_resource_kind_stops_the_apply_before_any_write() {
    let intercept: Intercept = Box::new(|s| {
        (s.path == "/apis/monitoring.coreos.com/v1")
            .then(|| json_response(404, &not_found_status("the server could not find the requested resource")))
    });
    let (client, log) = recording(fake().await, intercept);
    let d = deployer(client);
    let app = spec();
    let set = ApplySet::of(&app.app_ref());
    let mut desired: Vec<Desired> =
        d.render(&app).unwrap().iter().map(|o| Desired::from_object(o, &set.id)).collect::<Result<_>>().unwrap();
    let monitor = json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
        "metadata": {"name": "web", "namespace": "shop"}, "spec": {"endpoints": [{"port": "http"}]}});
    desired.push(Desired::from_parts(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        "web",
        Some("shop"),
        monitor,
        &set.id,
    ));
    let progress = Progress::none();
    let op = OperationGuard::start(&progress, "app.apply", "test");
    let err = d.apply_desired(&app, &set, &desired, "apply", &op).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    let text = err.to_string();
    assert!(text.contains("ServiceMonitor") && text.contains("monitoring.coreos.com"), "{text}");
    assert!(log.lock().unwrap().iter().all(|s| !s.is_write()), "nothing was written: {:#?}", log.lock().unwrap());
    assert!(Api::<Namespace>::all(d.client.clone()).get_opt("shop").await.unwrap().is_none());
}

#[tokio::test]
async fn custom_resource_kinds_resolve_through_discovery_once() {
    let served = json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "monitoring.coreos.com/v1",
    "resources": [
        {"name": "servicemonitors", "singularName": "servicemonitor", "namespaced": true, "kind": "ServiceMonitor", "verbs": ["get", "patch"]},
        {"name": "servicemonitors/status", "singularName": "", "namespaced": true, "kind": "ServiceMonitor", "verbs": ["get"]},
        {"name": "prometheusrules", "singularName": "prometheusrule", "namespaced": true, "kind": "PrometheusRule", "verbs": ["get"]},
    ]});
    let intercept: Intercept =
        Box::new(move |s| (s.path == "/apis/monitoring.coreos.com/v1").then(|| json_response(200, &served)));
    let (client, log) = recording(fake().await, intercept);
    let resolver = Resolver::default();
    let kinds = [
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("apps/v1", "Deployment"),
        ("monitoring.coreos.com/v1", "PrometheusRule"),
    ];
    let resolved = resolver.resolve_all(&client, &kinds).await.unwrap();
    let plurals: Vec<&str> = resolved.iter().map(|r| r.resource.plural.as_str()).collect();
    assert_eq!(plurals, vec!["servicemonitors", "deployments", "prometheusrules"]);
    assert!(resolved.iter().all(|r| r.namespaced));
    assert_eq!(log.lock().unwrap().len(), 1, "one discovery request for the group-version, none for apps/v1");
    resolver.resolve_all(&client, &kinds).await.unwrap();
    assert_eq!(log.lock().unwrap().len(), 1, "found kinds are remembered");
    let err = resolver.resolve_all(&client, &[("monitoring.coreos.com/v1", "Alertmanager")]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

// ----- watches, on scripted responses -----

/// Answers requests with `respond`, in order; a `None` answer leaves the request pending forever.
fn scripted(mut respond: impl FnMut(&Seen) -> Option<Response<Body>> + Send + 'static) -> (kube::Client, Log) {
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let log: Log = Arc::default();
    let seen = log.clone();
    tokio::spawn(async move {
        let mut pending = Vec::new();
        while let Some((req, reply)) = handle.next_request().await {
            let s = Seen::of(&req);
            seen.lock().unwrap().push(s.clone());
            match respond(&s) {
                Some(response) => reply.send_response(response),
                None => pending.push(reply),
            }
        }
    });
    (kube::Client::new(service, "default"), log)
}

fn parent_json() -> serde_json::Value {
    ApplySet::of(&AppRef::new("shop", "web")).parent_body(&Default::default())
}

fn revisions_json() -> serde_json::Value {
    let rev = Revision {
        number: 4,
        applied_at: "2026-03-01T10:00:00Z".parse().unwrap(),
        spec: spec(),
        cause: "apply".into(),
    };
    json!({"kind": "SecretList", "apiVersion": "v1", "metadata": {"resourceVersion": "9"},
        "items": [to_secret(&AppRef::new("shop", "web"), &rev).unwrap()]})
}

/// The Deployment `web` wanting 2 pods, `ready` of them ready and available, with the conditions the
/// controller sets on the way (rolled out at 2).
fn deployment_json(ready: i32) -> serde_json::Value {
    let conditions = if ready == 2 {
        rolled_out()
    } else {
        json!([{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"},
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}])
    };
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "generation": 3, "resourceVersion": format!("{}", 10 + ready)},
        "spec": {"replicas": 2, "progressDeadlineSeconds": 600, "selector": {"matchLabels": {"app": "web"}},
            "template": {"spec": {"containers": []}}},
        "status": {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "readyReplicas": ready,
            "availableReplicas": ready, "conditions": conditions}})
}

fn deployment_list(ready: i32) -> serde_json::Value {
    json!({"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": {"resourceVersion": "10"},
        "items": [deployment_json(ready)]})
}

fn events(lines: &[serde_json::Value]) -> Response<Body> {
    let mut body = Vec::new();
    for line in lines {
        body.extend(serde_json::to_vec(line).unwrap());
        body.push(b'\n');
    }
    Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap()
}

fn is_watch(s: &Seen) -> bool {
    s.query.contains("watch=true")
}

/// The common part of the scripts: the parent, the revisions, and the first list of Deployments.
fn reads(s: &Seen, ready_in_list: i32) -> Option<Response<Body>> {
    match s.path.as_str() {
        "/api/v1/namespaces/shop/secrets/wooo-applyset-web" => Some(json_response(200, &parent_json())),
        "/api/v1/namespaces/shop/secrets" => Some(json_response(200, &revisions_json())),
        "/apis/apps/v1/namespaces/shop/deployments" if !is_watch(s) => {
            Some(json_response(200, &deployment_list(ready_in_list)))
        }
        _ => None,
    }
}

fn watching(client: kube::Client) -> KubeDeployer {
    KubeDeployer::new(client)
}

#[tokio::test]
async fn wait_follows_a_watch_until_current() {
    let (client, log) = scripted(|s| {
        reads(s, 0).or_else(|| {
            is_watch(s).then(|| {
                events(&[
                    json!({"type": "MODIFIED", "object": deployment_json(1)}),
                    json!({"type": "MODIFIED", "object": deployment_json(2)}),
                ])
            })
        })
    });
    let (progress, mut rx) = Progress::channel();
    let status = watching(client).wait(&AppRef::new("shop", "web"), &quick_wait(), &progress).await.unwrap();
    assert_eq!(status.health, Health::Current);
    assert_eq!((status.revision, status.available_replicas), (4, 2));
    let seen = log.lock().unwrap().clone();
    let watch = seen.iter().find(|s| is_watch(s)).expect("a watch request");
    assert!(watch.query.contains("resourceVersion=10"), "the watch starts where the list ended: {watch:?}");
    assert!(watch.query.contains("labelSelector=applyset.kubernetes.io%2Fpart-of%3Dapplyset-"), "{watch:?}");
    assert_eq!(seen.iter().filter(|s| is_watch(s)).count(), 1);
    let mut waits = Vec::new();
    while let Ok(event) = rx.try_recv() {
        if let wooo_core::progress::ProgressEvent::Waiting { status, .. } = event {
            waits.push(status);
        }
    }
    assert_eq!(waits, vec!["Deployment/web: Available: 0/2", "Deployment/web: Available: 1/2"]);
}

#[tokio::test]
async fn wait_lists_again_after_an_expired_watch() {
    let lists = Arc::new(Mutex::new(0));
    let counter = lists.clone();
    let (client, log) = scripted(move |s| {
        if s.path == "/apis/apps/v1/namespaces/shop/deployments" && !is_watch(s) {
            let mut n = counter.lock().unwrap();
            *n += 1;
            return Some(json_response(200, &deployment_list(if *n == 1 { 0 } else { 2 })));
        }
        reads(s, 0).or_else(|| {
            is_watch(s).then(|| {
                events(&[json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
                    "status": "Failure", "message": "too old resource version", "reason": "Expired", "code": 410}})])
            })
        })
    });
    let status = watching(client).wait(&AppRef::new("shop", "web"), &quick_wait(), &Progress::none()).await.unwrap();
    assert_eq!(status.health, Health::Current);
    assert_eq!(*lists.lock().unwrap(), 2, "relisted after the 410");
    assert_eq!(log.lock().unwrap().iter().filter(|s| is_watch(s)).count(), 1);
}

#[tokio::test]
async fn wait_fails_fast_when_the_rollout_fails() {
    let (client, _) = scripted(|s| {
        reads(s, 0).or_else(|| {
            is_watch(s).then(|| {
                let mut failed = deployment_json(0);
                failed["status"]["conditions"] = json!([{"type": "Progressing", "status": "False",
                    "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet web-5 has timed out progressing"}]);
                events(&[json!({"type": "MODIFIED", "object": failed})])
            })
        })
    });
    let err = watching(client).wait(&AppRef::new("shop", "web"), &quick_wait(), &Progress::none()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert!(err.to_string().contains("ProgressDeadlineExceeded"), "{err}");
}

#[tokio::test]
async fn wait_times_out_on_a_silent_watch() {
    // The watch request is never answered.
    let (client, _) = scripted(|s| reads(s, 1));
    let wait = WaitOptions { timeout: Duration::from_millis(150), ..quick_wait() };
    let started = std::time::Instant::now();
    let err = watching(client).wait(&AppRef::new("shop", "web"), &wait, &Progress::none()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn wait_for_an_unknown_app_is_not_found() {
    let (client, _) = scripted(|s| Some(json_response(404, &not_found_status(&s.path))));
    let err = watching(client).wait(&AppRef::new("shop", "web"), &quick_wait(), &Progress::none()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn watch_errors_choose_kube_runtimes_moves() {
    use kube::core::Status;
    let api = |code: u16| kube::Error::Api(Status::failure("x", "y").with_code(code).boxed());
    assert_eq!(after_error(&api(410)), Next::List, "a 410 Gone relists at once");
    assert_eq!(after_error(&api(0)), Next::Backoff, "a line that is no event: the server serves no watch");
    for code in [429, 408, 500, 503, 504] {
        assert_eq!(after_error(&api(code)), Next::Backoff, "{code}");
    }
    for code in [400, 401, 403, 404, 422] {
        assert_eq!(after_error(&api(code)), Next::Fail, "{code}");
    }
    let unreadable = kube::Error::SerdeError(serde_json::from_str::<u8>("x").unwrap_err());
    assert_eq!(after_error(&unreadable), Next::Backoff);
}

/// A script whose Deployment LISTs answer `lists[n]` ready pods on the n-th call (the last one from then on) and
/// whose watches answer `watch(n)` on the n-th watch; returns the client, the log and the list count.
fn relisting(
    lists: &'static [i32],
    mut watch: impl FnMut(usize) -> Option<Response<Body>> + Send + 'static,
) -> (kube::Client, Log, Arc<Mutex<usize>>) {
    let count = Arc::new(Mutex::new(0));
    let counter = count.clone();
    let mut watches = 0;
    let (client, log) = scripted(move |s| {
        if s.path == "/apis/apps/v1/namespaces/shop/deployments" && !is_watch(s) {
            let mut n = counter.lock().unwrap();
            *n += 1;
            return Some(json_response(200, &deployment_list(lists[(*n - 1).min(lists.len() - 1)])));
        }
        if is_watch(s) {
            watches += 1;
            return watch(watches);
        }
        reads(s, 0)
    });
    (client, log, count)
}

#[tokio::test]
async fn a_watch_answered_with_a_plain_list_relists_after_a_backoff() {
    // What kube-fake-client does with `watch=true`: a list, which kube-rs reads as a Status with code 0.
    let (client, log, lists) = relisting(&[0, 1, 2], |_| Some(json_response(200, &deployment_list(0))));
    let started = std::time::Instant::now();
    let status = watching(client).wait(&AppRef::new("shop", "web"), &quick_wait(), &Progress::none()).await.unwrap();
    assert_eq!(status.health, Health::Current);
    assert_eq!(*lists.lock().unwrap(), 3, "listed again after each broken watch");
    assert_eq!(log.lock().unwrap().iter().filter(|s| is_watch(s)).count(), 2);
    // Two backoffs: 5 ms, then 7.5 ms.
    assert!(started.elapsed() >= Duration::from_millis(12), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_watch_refused_with_410_relists_at_once() {
    let gone = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "too old resource version",
        "reason": "Expired", "code": 410});
    let (client, log, lists) = relisting(&[0, 2], move |_| Some(json_response(410, &gone)));
    let status = watching(client).wait(&AppRef::new("shop", "web"), &quick_wait(), &Progress::none()).await.unwrap();
    assert_eq!(status.health, Health::Current);
    assert_eq!((*lists.lock().unwrap(), log.lock().unwrap().iter().filter(|s| is_watch(s)).count()), (2, 1));
}

#[tokio::test]
async fn a_watch_the_server_closes_resumes_from_the_last_version_seen() {
    let (client, log, lists) = relisting(&[0], |n| {
        Some(events(&[json!({"type": "MODIFIED", "object": deployment_json(if n == 1 { 1 } else { 2 })})]))
    });
    let status = watching(client).wait(&AppRef::new("shop", "web"), &quick_wait(), &Progress::none()).await.unwrap();
    assert_eq!(status.health, Health::Current);
    assert_eq!(*lists.lock().unwrap(), 1, "no relist: the watch resumed");
    let versions: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| is_watch(s))
        .map(|s| s.query.split('&').find(|p| p.starts_with("resourceVersion=")).unwrap().to_string())
        .collect();
    assert_eq!(versions, vec!["resourceVersion=10", "resourceVersion=11"], "from the list's, then the event's");
}

#[tokio::test]
async fn a_forbidden_watch_fails_at_once_naming_what_was_watched() {
    let denied = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 403, "reason": "Forbidden",
        "message": "deployments.apps is forbidden: cannot watch"});
    let (client, _, lists) = relisting(&[0], move |_| Some(json_response(403, &denied)));
    let err = watching(client).wait(&AppRef::new("shop", "web"), &quick_wait(), &Progress::none()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert_eq!(
        err.to_string(),
        "kube: permission denied: watching the Deployments of app shop/web: deployments.apps is forbidden: cannot watch"
    );
    assert_eq!(*lists.lock().unwrap(), 1);
}

#[tokio::test]
async fn a_broken_watch_event_stream_relists_and_never_says_http_0() {
    // One good event, then a line that is neither an event nor a Status.
    let (client, _, lists) = relisting(&[0, 2], |_| {
        Some(events(&[json!({"type": "MODIFIED", "object": deployment_json(1)}), json!({"items": []})]))
    });
    let (progress, mut rx) = Progress::channel();
    let status = watching(client).wait(&AppRef::new("shop", "web"), &quick_wait(), &progress).await.unwrap();
    assert_eq!(status.health, Health::Current);
    assert_eq!(*lists.lock().unwrap(), 2);
    while let Ok(event) = rx.try_recv() {
        assert!(!format!("{event:?}").contains("HTTP 0"), "{event:?}");
    }
}

#[tokio::test]
async fn wait_follows_the_fakes_watch_and_the_controllers_conditions() {
    let (client, log) = env().await;
    let d = KubeDeployer::new(client.clone())
        .with_options(KubeDeployerOptions { diff: DiffStrategy::Local, ..KubeDeployerOptions::default() });
    assert_eq!(d.options().wait, WaitStrategy::Watch);
    let app = spec();
    d.apply(&app, &Progress::none()).await.unwrap();
    log.lock().unwrap().clear();
    let (progress, mut rx) = Progress::channel();
    let waiting = {
        let (d, r) = (d.clone(), app.app_ref());
        tokio::spawn(async move { d.wait(&r, &quick_wait(), &progress).await })
    };
    // The controller starts only once the wait is watching, so Current can only arrive through the watch.
    while !log.lock().unwrap().iter().any(is_watch) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let controller = spawn_controller(client.clone());
    let status = waiting.await.unwrap().unwrap();
    controller.abort();
    assert_eq!((status.health, status.available_replicas), (Health::Current, 2));
    let seen = log.lock().unwrap().clone();
    let deployments = |s: &&Seen| s.path == "/apis/apps/v1/namespaces/shop/deployments";
    assert_eq!(seen.iter().filter(deployments).filter(|s| !is_watch(s)).count(), 1, "one LIST: {seen:#?}");
    let live = deployment(&client, "web").await;
    let conditions = live.status.unwrap().conditions.unwrap();
    assert!(
        conditions.iter().any(|c| c.type_ == "Progressing" && c.reason.as_deref() == Some("NewReplicaSetAvailable"))
    );
    let first = std::iter::from_fn(|| rx.try_recv().ok()).find_map(|e| match e {
        wooo_core::progress::ProgressEvent::Waiting { status, .. } => Some(status),
        _ => None,
    });
    assert_eq!(first.as_deref(), Some("Deployment/web: Replicas: 0/2"), "what the LIST showed");
}

// ----- server-side dry-run diffs, at the request level -----

#[tokio::test]
async fn server_dry_run_diff_sends_dry_run_applies_and_writes_nothing() {
    // The server's dry-run answers: the live objects, with the Deployment as the new spec would leave it.
    let would_be: Arc<Mutex<std::collections::BTreeMap<String, serde_json::Value>>> = Arc::default();
    let answers = would_be.clone();
    let intercept: Intercept = Box::new(move |s| {
        (s.method == "PATCH" && s.query.contains("dryRun=All"))
            .then(|| answers.lock().unwrap().get(&s.path).map(|v| json_response(200, v)))
            .flatten()
    });
    let (client, log) = recording(fake().await, intercept);
    let app = spec();
    deployer(client.clone()).apply(&app, &Progress::none()).await.unwrap();
    let applied: Vec<String> =
        log.lock().unwrap().iter().filter(|s| s.method == "PATCH").map(|s| s.path.clone()).collect();
    for path in &applied {
        let live: serde_json::Value =
            client.request(http::Request::get(path.as_str()).body(Vec::new()).unwrap()).await.unwrap();
        would_be.lock().unwrap().insert(path.clone(), live);
    }
    let new_image = "registry.example.com/shop/web:2.0.0";
    would_be.lock().unwrap().get_mut("/apis/apps/v1/namespaces/shop/deployments/web").unwrap()["spec"]["template"]["spec"]
        ["containers"][0]["image"] = json!(new_image);
    let before = versions(&client).await;
    log.lock().unwrap().clear();

    let d = KubeDeployer::new(client.clone());
    assert_eq!(d.options().diff, DiffStrategy::ServerDryRun);
    let diff = d.diff(&AppSpec { image: new_image.into(), ..app }).await.unwrap();
    let changes: Vec<(&str, &[String])> =
        diff.changes.iter().map(|c| (c.object.as_str(), c.fields.as_slice())).collect();
    assert_eq!(changes, vec![("Deployment/web", &["/spec/template/spec/containers/0/image".to_string()][..])]);

    let seen = log.lock().unwrap().clone();
    let patches: Vec<&Seen> = seen.iter().filter(|s| s.method == "PATCH").collect();
    assert_eq!(patches.len(), d.render(&spec()).unwrap().len(), "one dry-run apply per object: {seen:#?}");
    for p in patches {
        for part in ["dryRun=All", "fieldManager=wooo", "force=true"] {
            assert!(p.query.split('&').any(|q| q == part), "{part} in {p:?}");
        }
        assert_eq!(p.content_type, "application/apply-patch+yaml", "{p:?}");
    }
    assert!(seen.iter().all(|s| s.method == "GET" || s.query.contains("dryRun=All")), "{seen:#?}");
    assert_eq!(versions(&client).await, before, "nothing was written");
}

// ----- the public conformance suite -----

#[tokio::test]
async fn conformance_round_trip_on_the_fake() {
    let (client, _) = env().await;
    let controller = spawn_controller(client.clone());
    let d = deployer(client);
    let app = wooo_core::conformance::sample_app_spec("conformance", "web");
    wooo_core::conformance::deployer_round_trip(&d, &app, &quick_wait()).await;
    controller.abort();
}
