//! `KubeDeployer` calls repeated after a lost answer, as `Retrying` repeats them: on kube-fake-client, behind a
//! client that lets chosen requests reach the server and then replaces their answer with a 503, the rollbacks,
//! restarts and scales that took effect are found done and not done again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use http::{Request, Response};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::client::Body;
use tower_test::mock;
use wooo_core::retry::{RetryConfig, Retrying};

use super::tests::{Log, Seen, deployer, env, json_response, spec};
use super::*;

/// A client over `inner` whose first `times` requests matching `lost` reach `inner` (and take effect) but are
/// answered with a 503, as when a connection drops after the API server accepted a request.
fn losing_answers(inner: kube::Client, times: u32, lost: impl Fn(&Seen) -> bool + Send + 'static) -> kube::Client {
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let left = Arc::new(AtomicU32::new(times));
    tokio::spawn(async move {
        while let Some((req, reply)) = handle.next_request().await {
            let seen = Seen::of(&req);
            let answer = inner.send(req).await;
            let lose =
                lost(&seen) && left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
            match answer {
                Ok(_) if lose => reply.send_response(json_response(
                    503,
                    &serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "message": "the connection dropped", "reason": "ServiceUnavailable", "code": 503}),
                )),
                Ok(response) => reply.send_response(response),
                Err(e) => reply.send_error(e),
            }
        }
    });
    kube::Client::new(service, "default")
}

fn retrying(d: KubeDeployer) -> Retrying<KubeDeployer> {
    let config = RetryConfig { initial_backoff: Duration::from_millis(1), seed: Some(5), ..RetryConfig::default() };
    Retrying::new(d, config)
}

fn is_revision_record(s: &Seen) -> bool {
    s.method == "POST" && s.path.ends_with("/secrets")
}

fn is_restart(s: &Seen) -> bool {
    s.method == "PATCH" && s.path.contains("/deployments/") && s.query.contains("fieldManager=wooo-restart")
}

fn count(log: &Log, which: fn(&Seen) -> bool) -> usize {
    log.lock().unwrap().iter().filter(|s| which(s)).count()
}

fn causes(history: &[Revision]) -> Vec<String> {
    history.iter().map(|r| r.cause.clone()).collect()
}

/// The names of the app's revision records in the cluster, sorted.
async fn records(client: &kube::Client) -> Vec<String> {
    let stored = Api::<Secret>::namespaced(client.clone(), "shop").list(&Default::default()).await.unwrap();
    let mut names: Vec<String> =
        stored.items.into_iter().filter_map(|s| s.metadata.name).filter(|n| n.starts_with("wooo-rev-")).collect();
    names.sort();
    names
}

fn restarted_at(d: &Deployment) -> Option<String> {
    restarted_for(d).map(str::to_string)
}

/// Applies three images (revisions 1, 2, 3) and returns the specs.
async fn three_revisions(d: &KubeDeployer) -> Vec<AppSpec> {
    let mut specs = Vec::new();
    for i in 1..=3 {
        let mut app = spec();
        app.image = format!("registry.example.com/shop/web:{i}.0.0");
        assert_eq!(d.apply(&app, &Progress::none()).await.unwrap().revision, i);
        specs.push(app);
    }
    specs
}

#[tokio::test]
async fn rollback_twice_to_the_same_revision_records_one() {
    let (client, _) = env().await;
    let d = deployer(client.clone());
    let specs = three_revisions(&d).await;
    let r = specs[0].app_ref();
    assert_eq!(d.rollback(&r, Some(1)).await.unwrap().revision, 4);
    let again = d.rollback(&r, Some(1)).await.unwrap();
    assert_eq!(again.revision, 4, "the spec in force already: no revision");
    let history = d.history(&r).await.unwrap();
    assert_eq!(causes(&history), ["apply", "apply", "apply", "rollback to 1"]);
    assert_eq!(history[3].spec, specs[0]);
    assert_eq!(records(&client).await, ["wooo-rev-web-v1", "wooo-rev-web-v2", "wooo-rev-web-v3", "wooo-rev-web-v4"]);
    // Rolling back to the revision that holds the spec in force is the same no-op.
    assert_eq!(d.rollback(&r, Some(4)).await.unwrap().revision, 4);
    assert_eq!(d.history(&r).await.unwrap().len(), 4);
}

#[tokio::test]
async fn rollback_none_after_a_retried_rollback_goes_to_the_revision_before_it() {
    let (inner, log) = env().await;
    let specs = three_revisions(&deployer(inner.clone())).await;
    let r = specs[0].app_ref();
    // The record of the rollback is written, its answer lost: the retry finds the revision and writes none.
    let d = retrying(deployer(losing_answers(inner.clone(), 1, is_revision_record)));
    log.lock().unwrap().clear();
    assert_eq!(d.rollback(&r, Some(1)).await.unwrap().revision, 4);
    assert_eq!(count(&log, is_revision_record), 1, "one record sent, none on the retry");
    assert_eq!(causes(&d.history(&r).await.unwrap()), ["apply", "apply", "apply", "rollback to 1"]);

    let back = d.rollback(&r, None).await.unwrap();
    assert_eq!(back.revision, 5);
    let history = d.history(&r).await.unwrap();
    assert_eq!(history[4].cause, "rollback to 3", "the revision before the rollback, not the rollback again");
    assert_eq!(history[4].spec, specs[2]);
    let live = Api::<Deployment>::namespaced(inner, "shop").get("web").await.unwrap();
    let image = live.spec.unwrap().template.spec.unwrap().containers[0].image.clone();
    assert_eq!(image.as_deref(), Some(specs[2].image.as_str()));
}

#[tokio::test]
async fn a_retried_restart_restarts_once() {
    let (inner, log) = env().await;
    let app = spec();
    deployer(inner.clone()).apply(&app, &Progress::none()).await.unwrap();
    let deployments: Api<Deployment> = Api::namespaced(inner.clone(), "shop");
    let generation = |d: &Deployment| d.metadata.generation;
    let before = generation(&deployments.get("web").await.unwrap());

    let d = retrying(deployer(losing_answers(inner.clone(), 2, is_restart)));
    log.lock().unwrap().clear();
    let status = d.restart(&app.app_ref()).await.unwrap();
    assert_eq!(status.revision, 1, "a restart records no revision");
    assert_eq!(count(&log, is_restart), 1, "the retries found the pods restarted for the same token");
    let live = deployments.get("web").await.unwrap();
    let token = restarted_at(&live).expect("annotation set");
    assert!(token.parse::<jiff::Timestamp>().is_ok(), "an RFC 3339 time, as kubectl writes: {token}");
    assert_eq!(generation(&live), before.map(|g| g + 1), "one change of the pod template");

    // The same token again sends nothing; a new one restarts again.
    let plain = deployer(inner.clone());
    plain.restart_with(&app.app_ref(), &RestartToken::new(token.clone())).await.unwrap();
    assert_eq!(count(&log, is_restart), 1);
    plain.restart(&app.app_ref()).await.unwrap();
    assert_eq!(count(&log, is_restart), 2);
    assert_ne!(restarted_at(&deployments.get("web").await.unwrap()), Some(token));
}

#[tokio::test]
async fn a_retried_scale_records_one_revision() {
    let (inner, log) = env().await;
    let app = spec();
    deployer(inner.clone()).apply(&app, &Progress::none()).await.unwrap();
    let d = retrying(deployer(losing_answers(inner.clone(), 1, is_revision_record)));
    log.lock().unwrap().clear();
    assert_eq!(d.scale(&app.app_ref(), 4).await.unwrap().revision, 2);
    assert_eq!(count(&log, is_revision_record), 1);
    assert_eq!(causes(&d.history(&app.app_ref()).await.unwrap()), ["apply", "scale to 4"]);
    assert_eq!(Api::<Deployment>::namespaced(inner, "shop").get("web").await.unwrap().spec.unwrap().replicas, Some(4));
}

#[tokio::test]
async fn a_history_left_over_its_limit_by_a_lost_answer_is_pruned_on_the_retry() {
    let (inner, _) = env().await;
    let options = |client| {
        KubeDeployer::new(client).with_options(KubeDeployerOptions {
            history_limit: 2,
            wait: WaitStrategy::Poll,
            diff: DiffStrategy::Local,
            ..KubeDeployerOptions::default()
        })
    };
    let mut app = spec();
    for i in 1..=2 {
        app.image = format!("registry.example.com/shop/web:{i}.0.0");
        options(inner.clone()).apply(&app, &Progress::none()).await.unwrap();
    }
    // The third record is written and its answer lost before the oldest is pruned; the retry prunes it.
    let d = retrying(options(losing_answers(inner.clone(), 1, is_revision_record)));
    app.image = "registry.example.com/shop/web:3.0.0".into();
    assert_eq!(d.apply(&app, &Progress::none()).await.unwrap().revision, 3);
    assert_eq!(records(&inner).await, ["wooo-rev-web-v2", "wooo-rev-web-v3"]);
}

#[test]
fn the_restart_token_is_read_from_the_pod_template() {
    let mut d = Deployment::default();
    assert_eq!(restarted_for(&d), None);
    let annotations = std::collections::BTreeMap::from([(RESTARTED_AT_ANNOTATION.to_string(), "t-1".to_string())]);
    let template = d.spec.get_or_insert_with(Default::default).template.metadata.get_or_insert_with(Default::default);
    template.annotations = Some(annotations);
    assert_eq!(restarted_for(&d), Some("t-1"));
}
