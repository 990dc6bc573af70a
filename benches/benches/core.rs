//! Criterion benches of wooo-core. Each group measures a baseline in the same run, so results read as ratios:
//!
//! - `spec`: parsing a cluster spec from YAML (baseline) vs validating the parsed spec vs planning it.
//! - `sim`: a bare `Mutex<BTreeMap>` insert + read (baseline: the floor of any in-memory store) vs the
//!   simulator's `Provisioner::get` and `Deployer::status`, vs a full app apply (validate, render, diff, store).
//! - `retry`: a direct simulator `get` (baseline) vs the same call through the retry decorator without faults,
//!   and with every 4th simulator call throttled by the fault injector (so a third of the `get`s retry once);
//!   on a paused clock, so the retries' work is measured rather than their backoff.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use wooo_core::conformance::{sample_app_spec, sample_cluster_spec};
use wooo_core::model::{ClusterSpec, from_yaml};
use wooo_core::prelude::*;
use wooo_core::{plan, validate};

const CLUSTER_YAML: &str = include_str!("../../examples/specs/cluster.yaml");

fn spec(c: &mut Criterion) {
    let parsed: ClusterSpec = from_yaml(CLUSTER_YAML).expect("spec");
    let mut g = c.benchmark_group("spec");
    g.bench_function("parse_yaml (baseline)", |b| b.iter(|| from_yaml::<ClusterSpec>(black_box(CLUSTER_YAML))));
    g.bench_function("validate", |b| b.iter(|| validate::cluster_spec(black_box(&parsed))));
    g.bench_function("plan_new_cluster", |b| b.iter(|| plan::cluster(black_box(&parsed), None)));
    g.finish();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime")
}

fn sim(c: &mut Criterion) {
    let rt = runtime();
    let cloud = SimCloud::builder().provisioning_delay(Duration::ZERO).rollout_step(Duration::ZERO).build();
    let spec = sample_cluster_spec("bench", CloudKind::Sim, "us-east-1", "m5.large");
    let wait = WaitOptions::timeout(Duration::from_secs(5));
    let cluster = rt.block_on(cloud.provisioner().ensure(&spec, &wait, &Progress::none())).expect("cluster");
    let deployer = cloud.deployer(&cluster.id).expect("deployer");
    let app = sample_app_spec("bench", "web");
    rt.block_on(deployer.apply(&app, &Progress::none())).expect("apply");
    let provisioner = cloud.provisioner();

    let mut g = c.benchmark_group("sim");
    let store: Mutex<BTreeMap<String, ClusterSpec>> = Mutex::new(BTreeMap::new());
    g.bench_function("mutex_map_insert_get (baseline)", |b| {
        b.iter(|| {
            let mut m = store.lock().expect("lock");
            m.insert("bench".into(), spec.clone());
            black_box(m.get("bench").cloned())
        })
    });
    g.bench_function("provisioner_get", |b| b.iter(|| rt.block_on(provisioner.get(black_box(&cluster.id)))));
    g.bench_function("deployer_status", |b| b.iter(|| rt.block_on(deployer.status(black_box(&app.app_ref())))));
    let mut replicas = 2;
    g.bench_function("deployer_apply_changed", |b| {
        b.iter(|| {
            replicas = if replicas == 2 { 3 } else { 2 };
            let mut next = app.clone();
            next.replicas = Some(replicas);
            rt.block_on(deployer.apply(black_box(&next), &Progress::none()))
        })
    });
    g.finish();
}

/// A single-threaded runtime on a paused clock: a retry's backoff (the 10 ms the simulator's throttling asks
/// for) passes at once, so the group measures the work of retrying, not the configured wait.
fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().expect("runtime")
}

/// Every `THROTTLED_EVERY`-th simulator call is throttled in the `retry` group.
const THROTTLED_EVERY: u32 = 4;

fn retry(c: &mut Criterion) {
    let rt = paused_runtime();
    let ready = |cloud: &SimCloud| {
        let spec = sample_cluster_spec("bench", CloudKind::Sim, "us-east-1", "m5.large");
        let wait = WaitOptions::timeout(Duration::from_secs(3600));
        rt.block_on(cloud.provisioner().ensure(&spec, &wait, &Progress::none())).expect("cluster").id
    };
    let config = RetryConfig { seed: Some(7), ..RetryConfig::default() };
    let quiet = SimCloud::builder().build();
    let id = ready(&quiet);
    let direct = quiet.provisioner();
    let retried = Retrying::new(quiet.provisioner(), config.clone());
    let throttled_cloud = SimCloud::builder().build();
    let throttled_id = ready(&throttled_cloud);
    let throttled = Retrying::new(throttled_cloud.provisioner(), config);
    throttled_cloud.faults().throttle_every(THROTTLED_EVERY);
    // The faults are real: a quarter of the raw calls fail, and every call through the decorator succeeds.
    let before = (throttled_cloud.faults().injected(), throttled_cloud.call_count());
    for _ in 0..100 {
        rt.block_on(throttled.get(&throttled_id)).expect("retried through the throttling");
    }
    let injected = throttled_cloud.faults().injected() - before.0;
    let calls = throttled_cloud.call_count() - before.1;
    assert!(injected >= 25 && calls >= 125, "{injected} throttled of {calls} raw calls for 100 gets");

    let mut g = c.benchmark_group("retry");
    g.bench_function("get_direct (baseline)", |b| b.iter(|| rt.block_on(direct.get(black_box(&id)))));
    g.bench_function("get_retrying_no_faults", |b| b.iter(|| rt.block_on(retried.get(black_box(&id)))));
    g.bench_function("get_retrying_1_in_4_throttled", |b| {
        b.iter(|| rt.block_on(throttled.get(black_box(&throttled_id))).expect("retried"))
    });
    g.finish();
}

criterion_group!(benches, spec, sim, retry);
criterion_main!(benches);
