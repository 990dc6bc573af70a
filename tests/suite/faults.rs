//! 1,000 operations against the simulator with 10% injected throttling and passing failures (half of them
//! after the call took effect, as when a response is lost), through the retry decorators: every operation
//! converges, nothing is duplicated, and nothing is left behind after delete.

use std::collections::BTreeSet;
use std::time::Duration;

use wooo_core::conformance::{sample_app_spec, sample_cluster_spec};
use wooo_core::prelude::*;

const CLUSTERS: usize = 5;
const APPS_PER_CLUSTER: usize = 30;

fn wait() -> WaitOptions {
    WaitOptions {
        timeout: Duration::from_secs(900),
        interval: Duration::from_secs(1),
        max_interval: Duration::from_secs(5),
    }
}

fn retry() -> RetryConfig {
    // At a 10% failure rate, ten failures in a row happen once in 10^10 calls.
    RetryConfig { max_attempts: 10, seed: Some(42), ..RetryConfig::default() }
}

#[tokio::test(start_paused = true)]
async fn a_thousand_operations_converge_under_injected_faults() {
    let cloud = SimCloud::builder().seed(7).build();
    cloud.faults().fail_randomly(0.10, &[ErrorKind::Throttled, ErrorKind::Transient], 2026);
    let provisioner = Retrying::new(cloud.provisioner(), retry());
    let progress = Progress::none();
    let mut operations = 0usize;

    let mut clusters = Vec::new();
    for c in 0..CLUSTERS {
        let spec = sample_cluster_spec(&format!("fleet-{c}"), CloudKind::Sim, "us-east-1", "m5.large");
        let cluster = provisioner.ensure(&spec, &wait(), &progress).await.expect("ensure converges");
        operations += 2;
        clusters.push(cluster.id);
    }

    for id in &clusters {
        let deployer = Retrying::new(cloud.deployer(id).expect("deployer"), retry());
        let mesh = Retrying::new(cloud.mesh(id).expect("mesh"), retry());
        for a in 0..APPS_PER_CLUSTER {
            let app = sample_app_spec("fleet", &format!("app-{a}"));
            deployer.apply(&app, &progress).await.expect("apply converges");
            deployer.wait(&app.app_ref(), &wait(), &progress).await.expect("rollout converges");
            deployer.scale(&app.app_ref(), 3).await.expect("scale converges");
            let split = TrafficSplit::canary("stable", "canary", 10);
            mesh.apply(&MeshPolicy::split(app.app_ref(), MeshKind::Istio, split)).await.expect("mesh converges");
            let status = deployer.wait(&app.app_ref(), &wait(), &progress).await.expect("scaled rollout converges");
            assert_eq!(status.available_replicas, 3);
            operations += 5;
        }
    }

    // No duplicates: each cluster once, each app once, one revision per distinct change.
    let listed = provisioner.list().await.expect("list");
    let ids: BTreeSet<_> = listed.iter().map(|c| c.id.clone()).collect();
    assert_eq!(listed.len(), CLUSTERS, "no duplicate clusters");
    assert_eq!(ids, clusters.iter().cloned().collect());
    for id in &clusters {
        let deployer = Retrying::new(cloud.deployer(id).expect("deployer"), retry());
        let apps = deployer.list().await.expect("list apps");
        assert_eq!(apps.len(), APPS_PER_CLUSTER, "no duplicate apps on {id}");
        for app in &apps {
            let history = deployer.history(app).await.expect("history");
            let causes: Vec<&str> = history.iter().map(|r| r.cause.as_str()).collect();
            assert_eq!(causes, ["apply", "scale to 3"], "retried writes recorded once for {app}");
            operations += 1;
        }
    }

    // Delete everything; nothing is left.
    for id in &clusters {
        let deployer = Retrying::new(cloud.deployer(id).expect("deployer"), retry());
        for app in deployer.list().await.expect("list apps") {
            deployer.delete(&app).await.expect("delete app converges");
            operations += 1;
        }
        assert!(deployer.list().await.expect("list apps").is_empty(), "no app left on {id}");
        provisioner.delete(id, &DeleteOptions::default()).await.expect("delete cluster converges");
        provisioner.wait_deleted(id, &wait(), &progress).await.expect("deletion converges");
        operations += 2;
    }
    assert!(provisioner.list().await.expect("list").is_empty(), "no cluster left");
    for id in &clusters {
        assert!(matches!(cloud.deployer(id), Err(Error::NotFound { .. })), "{id} is gone");
    }

    assert!(operations >= 1000, "ran {operations} operations");
    let injected = cloud.faults().injected();
    let calls = cloud.call_count();
    let rate = injected as f64 / calls as f64;
    eprintln!(
        "faults: {operations} operations, {calls} simulator calls, {injected} injected faults ({:.1}%)",
        rate * 100.0
    );
    assert!((0.07..0.13).contains(&rate), "about 10% of {calls} calls failed: {injected}");
}
