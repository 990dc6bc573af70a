//! Criterion benches of rendering and of the Kubernetes deployer. Each group measures a baseline in the same run:
//!
//! - `render`: validating the sample app (baseline) vs rendering it into typed objects (throughput in apps/s),
//!   and rendering its Istio mesh objects.
//! - `kube_apply`: on an in-memory API server (kube-fake-client), one GET per rendered object (baseline: the
//!   reads any client-side `kubectl apply` makes before patching) vs `KubeDeployer::apply` of the unchanged app
//!   (no write) and of a changed one.
//!
//! Before measuring, the request counts of an apply are printed (they are deterministic): the first apply, an
//! unchanged re-apply, and what client-side `kubectl apply` needs for the same objects (discovery, then a GET
//! and a PATCH or POST per object).
#![allow(missing_docs, clippy::print_stderr)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kube::api::DynamicObject;
use wooo_core::model::{AppSpec, Environment, MeshKind, MeshPolicy, TrafficSplit, from_yaml_file};
use wooo_core::prelude::*;
use wooo_core::{render, validate};
use wooo_providers::kube::apply::Resolver;
use wooo_providers::kube::testing::{Log, fake_cluster};
use wooo_providers::kube::{KubeDeployer, KubeDeployerOptions, WaitStrategy};

fn sample() -> AppSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/specs/employee-management.yaml");
    let app: AppSpec = from_yaml_file(path).expect("sample");
    app.for_environment(Environment::Prod)
}

fn render_bench(c: &mut Criterion) {
    let app = sample();
    let policy = MeshPolicy::split(app.app_ref(), MeshKind::Istio, TrafficSplit::canary("v1", "v2", 10));
    let mut g = c.benchmark_group("render");
    g.throughput(Throughput::Elements(1));
    g.bench_function("validate_app (baseline)", |b| b.iter(|| validate::app_spec(black_box(&app))));
    let valid = validate::app_spec(&app).expect("valid app");
    let valid_policy = validate::mesh_policy(&policy).expect("valid policy");
    g.bench_function("render_app", |b| b.iter(|| render::app(black_box(&valid))));
    g.bench_function("render_mesh_istio", |b| b.iter(|| render::mesh(black_box(&valid_policy), black_box(&valid))));
    g.finish();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime")
}

fn deployer(client: kube::Client) -> KubeDeployer {
    KubeDeployer::new(client).with_options(KubeDeployerOptions { wait: WaitStrategy::Poll, ..Default::default() })
}

fn drain(log: &Log) -> usize {
    log.lock().map(|mut l| l.drain(..).count()).unwrap_or(0)
}

fn kube_bench(c: &mut Criterion) {
    let rt = runtime();
    // No monitoring: kube-fake-client serves no discovery for the Prometheus Operator kinds.
    let mut app = sample();
    app.monitoring = None;
    if let Some(ingress) = app.ingress.as_mut() {
        ingress.tls = None;
    }
    let (client, log) = rt.block_on(fake_cluster());
    let d = deployer(client.clone());
    let objects = render::app(&validate::app_spec(&app).expect("valid app")).expect("render");
    let n = objects.len();

    rt.block_on(d.apply(&app, &Progress::none())).expect("first apply");
    let first = drain(&log);
    rt.block_on(d.apply(&app, &Progress::none())).expect("re-apply");
    let again = drain(&log);
    let groups: std::collections::BTreeSet<&str> = objects.iter().map(|o| o.api_version()).collect();
    eprintln!(
        "kube_apply requests for {n} objects: wooo first apply {first}, wooo unchanged re-apply {again} (0 writes); \
         client-side kubectl apply ≈ {} ({} discovery + GET and PATCH/POST per object), and as many again to re-apply",
        groups.len() + 2 * n,
        groups.len()
    );

    let resolver = Resolver::default();
    let kinds: Vec<(&str, &str)> = objects.iter().map(|o| (o.api_version(), o.kind())).collect();
    let resolved = rt.block_on(resolver.resolve_all(&client, &kinds)).expect("resolve");
    let mut g = c.benchmark_group("kube_apply");
    g.bench_function("get_each_object (baseline)", |b| {
        b.iter(|| {
            rt.block_on(async {
                for (o, r) in objects.iter().zip(&resolved) {
                    let api: kube::Api<DynamicObject> = r.api(&client, &app.namespace);
                    black_box(api.get_opt(o.name()).await.expect("get"));
                }
            })
        })
    });
    g.bench_function("apply_unchanged", |b| b.iter(|| rt.block_on(d.apply(black_box(&app), &Progress::none()))));
    let mut replicas = 3;
    g.bench_function("apply_changed", |b| {
        b.iter(|| {
            replicas = if replicas == 3 { 4 } else { 3 };
            let mut next = app.clone();
            if let Some(a) = next.autoscaling.as_mut() {
                a.min_replicas = replicas;
            }
            rt.block_on(d.apply(black_box(&next), &Progress::none()))
        })
    });
    g.finish();
    drain(&log);
}

criterion_group!(benches, render_bench, kube_bench);
criterion_main!(benches);
