//! The wooo quickstart, offline on the simulated cloud:
//!
//! 1. plans and provisions the cluster in `examples/specs/cluster.yaml`, drawing progress;
//! 2. deploys the sample app `examples/specs/employee-management.yaml` (prod overlay);
//! 3. sends 10% of its traffic to a canary with retries and outlier detection;
//! 4. reports the cluster's cost over the last 30 days with recommendations.
//!
//! Run it with `cargo run --example quickstart`. Every step goes through the same traits a host program uses
//! against EKS, AKS, GKE or K3s; only the constructor differs.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::time::Duration;

use wooo_core::model::{AppSpec, ClusterSpec, Environment, from_yaml_file};
use wooo_core::prelude::*;
use wooo_core::progress::ProgressEvent;

fn spec_path(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("specs").join(name)
}

/// Draws progress events as indented lines with a small bar for counted steps.
fn progress() -> Progress {
    Progress::new(|event| match event {
        ProgressEvent::Step { message, done, total: Some(total), .. } => {
            let filled = (*done as usize * 20) / (*total as usize).max(1);
            println!("    [{:<20}] {done}/{total} {message}", "#".repeat(filled));
        }
        ProgressEvent::Waiting { status, elapsed, .. } => {
            println!("    … {status} ({:.1}s)", elapsed.as_secs_f64());
        }
        ProgressEvent::Retrying { operation, attempt, error, .. } => {
            println!("    ↻ {operation}: attempt {attempt} failed: {error}");
        }
        ProgressEvent::Finished { operation, elapsed, success, .. } => {
            let mark = if *success { "✓" } else { "✗" };
            println!("    {mark} {operation} in {:.1}s", elapsed.as_secs_f64());
        }
        _ => {}
    })
}

#[tokio::main]
async fn main() -> wooo_core::Result<()> {
    let cloud = SimCloud::builder()
        .provisioning_delay(Duration::from_millis(1500))
        .rollout_step(Duration::from_millis(100))
        .build();
    let progress = progress();
    let wait = WaitOptions {
        timeout: Duration::from_secs(60),
        interval: Duration::from_millis(250),
        max_interval: Duration::from_millis(500),
        jitter_percent: 0,
    };
    let retry = RetryConfig::default();

    println!("wooo quickstart — on the simulated cloud (no cloud account, no network)\n");

    // 1. The cluster.
    let spec: ClusterSpec = from_yaml_file(spec_path("cluster.yaml"))?;
    let provisioner = Retrying::new(cloud.provisioner(), retry.clone()).with_progress(progress.clone());
    println!("1. Cluster `{}` ({} {}, Kubernetes {})", spec.name, spec.provider, spec.region, spec.kubernetes_version);
    let plan = provisioner.plan(&spec).await?;
    for change in &plan.changes {
        println!("    {change}");
    }
    let cluster = provisioner.ensure(&spec, &wait, &progress).await?;
    let endpoint = cluster.status.endpoint.as_deref().unwrap_or("-");
    println!("    ready: endpoint {endpoint}");
    for pool in &cluster.status.node_pools {
        println!("    pool {:<8} {}/{} nodes ready", pool.name, pool.ready_nodes, pool.desired_nodes);
    }

    // 2. The app.
    let base: AppSpec = from_yaml_file(spec_path("employee-management.yaml"))?;
    let app = base.for_environment(Environment::Prod);
    let deployer = Retrying::new(cloud.deployer(&cluster.id)?, retry.clone()).with_progress(progress.clone());
    println!("\n2. App `{}` in namespace `{}` (image {})", app.name, app.namespace, app.image);
    let objects = deployer.render(&app)?;
    let kinds: Vec<String> = objects.iter().map(|o| o.key()).collect();
    println!("    renders {} objects: {}", objects.len(), kinds.join(", "));
    let status = deployer.deploy(&app, &wait, &progress).await?;
    println!(
        "    {:?}: revision {}, {}/{} replicas available",
        status.health, status.revision, status.available_replicas, status.desired_replicas
    );

    // 3. The canary.
    let mesh = Retrying::new(cloud.mesh(&cluster.id)?, retry.clone());
    let policy = wooo_examples::sample_mesh_policy(&app, MeshKind::Istio);
    let applied = mesh.apply(&policy).await?;
    println!("\n3. Canary: stable 90% / canary 10% (header x-canary: always → canary), retries, outlier detection");
    println!("    wrote {}", applied.objects.join(", "));

    // 4. The cost.
    let analyzer = Retrying::new(wooo_cost::sim::cost_analyzer(&cloud), retry);
    let window = TimeWindow::last_hours(jiff::Timestamp::now(), 24 * 30);
    let report = analyzer.cost(&cluster.id, &window).await?;
    println!("\n4. Cost over the last 30 days ({})", report.source);
    for node in &report.nodes {
        println!(
            "    pool {:<8} {:>4.0} node-hours of {} ({}) at {:#} = {}",
            node.node_pool, node.node_hours, node.instance_type, node.capacity, node.hourly_price, node.cost
        );
    }
    println!("    control plane and shared          {}", report.shared);
    // A report from a cost analyzer is in one currency; `by_namespace` fails only on a hand-built mixed one.
    for (namespace, cost) in report.by_namespace().expect("one currency") {
        println!("    namespace {namespace:<24} {cost}");
    }
    println!("    idle capacity                     {}", report.idle);
    println!("    total                             {}", report.total);
    let recommendations = analyzer.recommend(&cluster.id, &window, &RecommendOptions::default()).await?;
    println!("\n    {} recommendations:", recommendations.len());
    for r in &recommendations {
        println!("    - [{}] {} (confidence {:.0}%)", r.action.kind(), r.summary, r.confidence.value() * 100.0);
    }

    println!("\nDone. The cloud providers in wooo-providers and wooo-cost implement the same four traits.");
    Ok(())
}
