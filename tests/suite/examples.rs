//! The `deploy` example's code path (`wooo_examples::deploy`) against an in-memory API server
//! (kube-fake-client, through `wooo_providers::kube::testing`), with a task playing the Deployment controller.
//! The real example only adds reading the kubeconfig.

use std::time::Duration;

use wooo_core::conformance::sample_app_spec;
use wooo_core::prelude::*;
use wooo_examples::{Deployed, deploy};
use wooo_providers::kube::testing::{fake_cluster, spawn_controller};

#[tokio::test]
async fn the_deploy_example_rolls_an_app_out_and_is_idempotent() {
    let (client, log) = fake_cluster().await;
    let controller = spawn_controller(client.clone());
    let app = sample_app_spec("shop", "web");
    let wait = WaitOptions {
        timeout: Duration::from_secs(20),
        interval: Duration::from_millis(5),
        max_interval: Duration::from_millis(50),
    };
    let (progress, mut events) = Progress::channel();
    let Deployed::Applied(status, mesh) =
        deploy(client.clone(), &app, None, false, &wait, &progress).await.expect("deploy")
    else {
        panic!("an apply, not a diff");
    };
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
