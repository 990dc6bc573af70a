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

/// The `cost_report` example's code path (`wooo_examples::cost`) over the sample inventory and usage file.
mod cost_report {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    use wooo_core::model::PriceTable;
    use wooo_cost::catalog::Ec2Catalog;
    use wooo_cost::sources::UsageFile;
    use wooo_examples::cost::{Inventory, analyse, analyzer, to_json, to_text};

    fn repo(path: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
    }

    #[tokio::test]
    async fn the_sample_files_give_a_consistent_report_with_every_kind_of_recommendation() {
        let inventory = Inventory::from_path(repo("examples/specs/cost-inventory.yaml")).unwrap();
        let usage = UsageFile::from_path(repo("examples/specs/cost-usage.csv")).unwrap();
        assert_eq!(usage.samples().len(), 4 * 24 * 14, "four workloads, hourly, two weeks");
        let window = usage.window(Duration::from_secs(3600)).unwrap();
        assert_eq!(window.hours(), 336.0);
        let catalog = Ec2Catalog::from_dir(repo("wooo-cost/data/prices")).unwrap().price_table("us-east-1").unwrap();
        for (prices, commitment) in [(PriceTable::sim_default(), true), (catalog, false)] {
            let a = analyzer(&inventory, prices, Arc::new(usage.clone()));
            let analysis = analyse(&a, &inventory, &window).await.unwrap();
            let (report, recs) = (&analysis.report, &analysis.recommendations);
            assert!(report.is_consistent(), "{report:?}");
            assert_eq!(report.allocations.len(), 4);
            assert_eq!(report.nodes.iter().map(|n| n.node_hours).sum::<f64>(), 8.0 * 336.0, "6 + 2 nodes");
            let kinds: Vec<&str> = recs.iter().map(|r| r.action.kind()).collect();
            for kind in ["right_size", "idle", "spot"] {
                assert!(kinds.contains(&kind), "{kind} missing: {kinds:?}");
            }
            // The catalogue has no commitment discount: no commitment is sized on an assumed one.
            assert_eq!(kinds.contains(&"commitment"), commitment, "{kinds:?}");
            let text = to_text(&analysis);
            assert!(text.contains("shop/web") && text.contains("idle capacity") && text.contains("[spot]"), "{text}");
            let sum: wooo_core::model::Money = recs.iter().map(|r| r.estimated_monthly_savings.amount()).sum();
            assert!(analysis.together.total < sum, "composed, not summed");
            assert!(text.contains("Together, applied in order"), "{text}");
            let json: serde_json::Value = serde_json::from_str(&to_json(&analysis)).unwrap();
            assert!(!json["potential_savings"]["stages"]["idle"].is_null(), "{}", json["potential_savings"]);
            assert_eq!(json["recommendations"].as_array().unwrap().len(), recs.len());
            assert_eq!(json["report"]["cluster"], "shop-prod");
        }
    }

    #[test]
    fn inventory_errors_name_the_field() {
        let field = |yaml: &str| Inventory::from_yaml(yaml).unwrap_err().violations()[0].field.clone();
        let pools =
            "cluster: c\nnode_pools:\n  - name: general\n    instance_types: [m5.large]\n    min: 1\n    max: 2\n";
        let workload = |extra: &str| {
            format!(
                "{pools}workloads:\n  - namespace: shop\n    name: web\n    replicas: 1\n    cpu_request: 100m\n    memory_request: 1Gi\n    node_pool: general\n{extra}"
            )
        };
        assert!(Inventory::from_yaml(&workload("")).is_ok());
        assert_eq!(field(&workload("    colour: blue\n")), "workloads[0].colour");
        assert_eq!(field(&workload("").replace("node_pool: general", "node_pool: gpu")), "workloads[0].node_pool");
        assert_eq!(field(&workload("").replace("replicas: 1", "replicas: -1")), "workloads[0].replicas");
        assert_eq!(field(&workload("").replace("cpu_request: 100m", "cpu_request: lots")), "workloads[0].cpu_request");
    }
}
