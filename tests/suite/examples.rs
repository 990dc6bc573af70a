//! The `deploy` example's code path (`wooo_examples::deploy`) against an in-memory API server
//! (kube-fake-client, through `wooo_providers::kube::testing`, which serves watches), with a task playing the
//! Deployment controller.
//! The real example only adds reading the kubeconfig.

use std::time::Duration;

use wooo_core::conformance::sample_app_spec;
use wooo_core::prelude::*;
use wooo_examples::{Deployed, deploy};
use wooo_providers::kube::testing::{fake_cluster, spawn_controller};

#[tokio::test]
async fn the_deploy_example_rolls_an_app_out_and_is_idempotent() {
    let (client, log) = fake_cluster().await;
    let app = sample_app_spec("shop", "web");
    let wait = WaitOptions {
        timeout: Duration::from_secs(20),
        interval: Duration::from_millis(5),
        max_interval: Duration::from_millis(50),
        jitter_percent: 0,
    };
    let (progress, mut events) = Progress::channel();
    // The example waits with the default strategy, a watch. The Deployment controller starts only once that
    // watch is open, so the rollout can only be seen finishing through it, whatever the machine's speed.
    let rollout = {
        let (client, app, wait, progress) = (client.clone(), app.clone(), wait, progress.clone());
        tokio::spawn(async move { deploy(client, &app, None, false, &wait, &progress).await })
    };
    let is_watch = |s: &wooo_providers::kube::testing::Seen| {
        s.path == "/apis/apps/v1/namespaces/shop/deployments" && s.query.contains("watch=true")
    };
    while !log.lock().expect("log").iter().any(is_watch) {
        assert!(!rollout.is_finished(), "the deploy ended before watching: {:?}", rollout.await);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let controller = spawn_controller(client.clone());
    let Deployed::Applied(status, mesh) = rollout.await.expect("task").expect("deploy") else {
        panic!("an apply, not a diff");
    };
    let lists = log
        .lock()
        .expect("log")
        .iter()
        .filter(|s| s.path == "/apis/apps/v1/namespaces/shop/deployments" && !s.query.contains("watch=true"))
        .count();
    assert_eq!(lists, 2, "the apply's inventory LIST and the wait's one LIST; the rest came through the watch");
    assert_eq!((status.health.clone(), status.revision), (Health::Current, 1));
    assert_eq!(status.available_replicas, 2);
    assert!(mesh.is_empty());
    let steps =
        std::iter::from_fn(|| events.try_recv().ok()).filter(|e| matches!(e, ProgressEvent::Step { .. })).count();
    assert!(steps >= 5, "progress was reported ({steps} steps)");
    let writes =
        |log: &wooo_providers::kube::testing::Log| log.lock().expect("log").iter().filter(|s| s.is_write()).count();
    let before = writes(&log);
    let Deployed::Applied(again, _) = deploy(client, &app, None, false, &wait, &progress).await.expect("again") else {
        panic!("an apply");
    };
    assert_eq!(again.revision, 1, "deploying the same spec again records nothing");
    assert_eq!(writes(&log), before, "and writes nothing");
    controller.abort();
}
