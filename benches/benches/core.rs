//! Criterion benches of wooo-core. Each group measures a baseline in the same run, so results read as ratios:
//!
//! - `spec`: parsing a cluster spec from YAML (baseline) vs validating the parsed spec vs planning it.
//! - `sim`: a bare `Mutex<BTreeMap>` insert + read (baseline: the floor of any in-memory store) vs the
//!   simulator's `Provisioner::get` and `Deployer::status`, vs a full app apply (validate, render, diff, store).
//! - `retry`: a direct simulator call (baseline) vs the same call through the retry decorator.
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

fn retry(c: &mut Criterion) {
    let rt = runtime();
    let cloud = SimCloud::builder().build();
    let direct = cloud.provisioner();
    let retried = Retrying::new(cloud.provisioner(), RetryConfig::default());
    let mut g = c.benchmark_group("retry");
    g.bench_function("list_direct (baseline)", |b| b.iter(|| rt.block_on(direct.list())));
    g.bench_function("list_through_retrying", |b| b.iter(|| rt.block_on(retried.list())));
    g.finish();
}

criterion_group!(benches, spec, sim, retry);
criterion_main!(benches);
