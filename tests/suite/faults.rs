//! 1,000 operations against the simulator with 10% injected throttling and passing failures (half of them
//! after the call took effect, as when a response is lost), through the retry decorators: every operation
//! converges, nothing is duplicated, and nothing is left behind after delete.
//!
//! On top of the random faults, the first call of every scale, restart, second apply, rollback and delete of
//! every app loses its answer after taking effect, so each retried write is tested on every app. Revision
//! counts are exact: each distinct spec is one revision, a repeated rollback to the spec in force is none, and
//! a retried restart restarts once.

use std::collections::BTreeSet;
use std::time::Duration;

use wooo_core::conformance::{sample_app_spec, sample_cluster_spec};
use wooo_core::prelude::*;

const CLUSTERS: usize = 5;
const APPS_PER_CLUSTER: usize = 20;

/// The writes whose first call loses its answer after taking effect, for every app.
const LOST_ANSWERS: [&str; 4] = ["app.scale", "app.restart", "app.apply", "app.rollback"];

/// The revisions every app ends with, by cause: each distinct spec once, the repeated rollback not at all.
const CAUSES: [&str; 5] = ["apply", "scale to 3", "apply", "rollback to 2", "rollback to 3"];

fn wait() -> WaitOptions {
    WaitOptions {
        timeout: Duration::from_secs(900),
        interval: Duration::from_secs(1),
        max_interval: Duration::from_secs(5),
        jitter_percent: 0,
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
    // Faults queued for one operation, not drawn at random: left out of the random rate below.
    let mut targeted = 0u64;
    let lose_answer = |operation: &'static str, targeted: &mut u64| {
        cloud.faults().fail_next_after_effect_of(operation, 1, ErrorKind::Transient);
        *targeted += 1;
    };

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
            let r = app.app_ref();
            deployer.apply(&app, &progress).await.expect("apply converges");
            deployer.wait(&r, &wait(), &progress).await.expect("rollout converges");
            lose_answer(LOST_ANSWERS[0], &mut targeted);
            assert_eq!(deployer.scale(&r, 3).await.expect("scale converges").revision, 2);
            let split = TrafficSplit::canary("stable", "canary", 10);
            mesh.apply(&MeshPolicy::split(r.clone(), MeshKind::Istio, split)).await.expect("mesh converges");
            let status = deployer.wait(&r, &wait(), &progress).await.expect("scaled rollout converges");
            assert_eq!(status.available_replicas, 3);

            lose_answer(LOST_ANSWERS[1], &mut targeted);
            deployer.restart(&r).await.expect("restart converges");
            assert_eq!(deployer.inner().restarts(&r).expect("restarts"), 1, "a retried restart restarts once: {r}");
            deployer.wait(&r, &wait(), &progress).await.expect("restart converges");

            // Revision 3: the scaled spec with a new image.
            let mut next = deployer.history(&r).await.expect("history").pop().expect("a revision").spec;
            next.image = "registry.example.com/conformance:2.0.0".into();
            lose_answer(LOST_ANSWERS[2], &mut targeted);
            assert_eq!(deployer.apply(&next, &progress).await.expect("apply v2 converges").revision, 3);
            deployer.wait(&r, &wait(), &progress).await.expect("v2 converges");

            lose_answer(LOST_ANSWERS[3], &mut targeted);
            assert_eq!(deployer.rollback(&r, Some(2)).await.expect("rollback converges").revision, 4);
            // Asked again (a host retrying on its own): the spec in force already, so no revision.
            assert_eq!(deployer.rollback(&r, Some(2)).await.expect("repeat converges").revision, 4);
            // The revision before the newest is 3 (v2), not the rollback recorded twice.
            lose_answer(LOST_ANSWERS[3], &mut targeted);
            let back = deployer.rollback(&r, None).await.expect("rollback to the previous converges");
            assert_eq!(back.revision, 5);
            let status = deployer.wait(&r, &wait(), &progress).await.expect("rollback converges");
            assert_eq!(status.available_replicas, 3);
            operations += 14;
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
            assert_eq!(causes, CAUSES, "retried writes recorded once for {app}");
            let numbers: Vec<u64> = history.iter().map(|r| r.number).collect();
            assert_eq!(numbers, [1, 2, 3, 4, 5]);
            let (v1, v2) = (&history[1].spec, &history[2].spec);
            assert_eq!(history[3].spec, *v1, "rollback to 2 holds revision 2's spec");
            assert_eq!(history[4].spec, *v2, "rollback to 3 holds revision 3's spec");
            assert_eq!(history[4].spec.replicas, Some(3));
            operations += 1;
        }
    }

    // Delete everything; nothing is left.
    for id in &clusters {
        let deployer = Retrying::new(cloud.deployer(id).expect("deployer"), retry());
        for app in deployer.list().await.expect("list apps") {
            lose_answer("app.delete", &mut targeted);
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
    assert_eq!(targeted, (CLUSTERS * APPS_PER_CLUSTER * (LOST_ANSWERS.len() + 2)) as u64);
    assert!(injected > targeted, "random faults came on top of the queued ones");
    let calls = cloud.call_count();
    // A call that takes a queued fault draws no random one: the rate is over the other calls.
    let rate = (injected - targeted) as f64 / (calls - targeted) as f64;
    eprintln!(
        "faults: {operations} operations, {calls} simulator calls, {injected} injected faults ({targeted} queued \
         after the effect, {:.1}% drawn at random)",
        rate * 100.0
    );
    assert!(
        (0.07..0.13).contains(&rate),
        "about 10% of {} calls failed at random: {}",
        calls - targeted,
        injected - targeted
    );
}
