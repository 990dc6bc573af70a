//! The conformance suite against the simulator.

use std::time::Duration;

use wooo_core::conformance;
use wooo_core::prelude::*;

fn wait() -> WaitOptions {
    WaitOptions {
        timeout: Duration::from_secs(600),
        interval: Duration::from_secs(1),
        max_interval: Duration::from_secs(5),
        jitter_percent: 0,
    }
}

async fn ready_cluster(cloud: &SimCloud, name: &str) -> ClusterId {
    let spec = conformance::sample_cluster_spec(name, CloudKind::Sim, "us-east-1", "m5.large");
    let cluster = cloud.provisioner().ensure(&spec, &wait(), &Progress::none()).await.expect("cluster");
    cluster.id
}

#[tokio::test(start_paused = true)]
async fn provisioner_lifecycle_on_sim() {
    let cloud = SimCloud::builder().build();
    let spec = conformance::sample_cluster_spec("lifecycle", CloudKind::Sim, "us-east-1", "m5.large");
    conformance::provisioner_lifecycle(&cloud.provisioner(), &spec, &wait()).await;
}

#[tokio::test(start_paused = true)]
async fn deployer_round_trip_on_sim() {
    let cloud = SimCloud::builder().build();
    let id = ready_cluster(&cloud, "deployer").await;
    let deployer = cloud.deployer(&id).expect("deployer");
    conformance::deployer_round_trip(&deployer, &conformance::sample_app_spec("shop", "web"), &wait()).await;
}

#[tokio::test(start_paused = true)]
async fn mesh_idempotent_on_sim_for_every_kind() {
    let cloud = SimCloud::builder().build();
    let id = ready_cluster(&cloud, "mesh").await;
    let deployer = cloud.deployer(&id).expect("deployer");
    let app = conformance::sample_app_spec("shop", "web");
    deployer.deploy(&app, &wait(), &Progress::none()).await.expect("deploy");
    let mesh = cloud.mesh(&id).expect("mesh");
    for kind in [MeshKind::Istio, MeshKind::GatewayApi, MeshKind::Linkerd] {
        conformance::mesh_idempotent(&mesh, &app.app_ref(), kind).await;
    }
}

#[tokio::test(start_paused = true)]
async fn cost_consistency_on_sim() {
    let cloud = SimCloud::builder().build();
    let id = ready_cluster(&cloud, "cost").await;
    let deployer = cloud.deployer(&id).expect("deployer");
    for (ns, name) in [("shop", "web"), ("shop", "api"), ("data", "etl")] {
        deployer.deploy(&conformance::sample_app_spec(ns, name), &wait(), &Progress::none()).await.expect("deploy");
    }
    let end = jiff::Timestamp::from_second(1_780_000_000).expect("timestamp");
    for hours in [1, 24, 24 * 30] {
        conformance::cost_consistency(&wooo_cost::sim::cost_analyzer(&cloud), &id, &TimeWindow::last_hours(end, hours))
            .await;
    }
}

#[tokio::test(start_paused = true)]
async fn conformance_holds_behind_retries_with_faults() {
    let cloud = SimCloud::builder().build();
    cloud.faults().throttle_every(3);
    let config = RetryConfig { seed: Some(11), ..RetryConfig::default() };
    let provisioner = Retrying::new(cloud.provisioner(), config.clone());
    let spec = conformance::sample_cluster_spec("retried", CloudKind::Sim, "us-east-1", "m5.large");
    conformance::provisioner_lifecycle(&provisioner, &spec, &wait()).await;
    assert!(cloud.faults().injected() > 0, "faults were injected and absorbed");

    let id = ready_cluster_retrying(&provisioner, "retried-apps").await;
    let deployer = Retrying::new(cloud.deployer(&id).expect("deployer"), config);
    conformance::deployer_round_trip(&deployer, &conformance::sample_app_spec("shop", "web"), &wait()).await;
}

async fn ready_cluster_retrying(p: &Retrying<wooo_core::sim::SimProvisioner>, name: &str) -> ClusterId {
    let spec = conformance::sample_cluster_spec(name, CloudKind::Sim, "us-east-1", "m5.large");
    p.ensure(&spec, &wait(), &Progress::none()).await.expect("cluster").id
}

// ----- the suite fails implementations that break its rules -----

mod breaking {
    use wooo_core::model::AppDiff;
    use wooo_core::testing::{MockCostAnalyzer, MockDeployer, MockMeshConfigurator};
    use wooo_core::{DeployerCapabilities, MeshCapabilities};

    use super::*;

    #[tokio::test(start_paused = true)]
    #[should_panic(expected = "recommends something")]
    async fn an_analyzer_declaring_recommendations_must_make_some() {
        let cloud = SimCloud::builder().build();
        let id = ready_cluster(&cloud, "no-recs").await;
        let deployer = cloud.deployer(&id).expect("deployer");
        deployer
            .deploy(&conformance::sample_app_spec("shop", "web"), &wait(), &Progress::none())
            .await
            .expect("deploy");
        let end = jiff::Timestamp::from_second(1_780_000_000).expect("timestamp");
        let window = TimeWindow::last_hours(end, 24);
        let report = wooo_cost::sim::cost_analyzer(&cloud).cost(&id, &window).await.expect("report");
        let caps = wooo_cost::sim::cost_analyzer(&cloud).capabilities();
        assert!(!caps.recommendation_kinds.is_empty());

        // The simulator's analyzer in every respect, except that it never recommends anything.
        let mut mock = MockCostAnalyzer::new();
        mock.expect_provider().return_const("mock");
        mock.expect_capabilities().returning(move || caps.clone());
        mock.expect_cost().returning(move |cluster, w| {
            if cluster.as_str() != report.cluster.as_str() {
                Err(Error::not_found("mock", format!("cluster {cluster}")))
            } else if w.end <= w.start {
                Err(Error::invalid_spec("window", "empty"))
            } else {
                Ok(report.clone())
            }
        });
        mock.expect_recommend().returning(|_, _, _| Ok(Vec::new()));
        conformance::cost_consistency(&mock, &id, &window).await;
    }

    #[tokio::test]
    #[should_panic(expected = "is not in the configurator's capabilities")]
    async fn a_mesh_kind_must_be_claimed() {
        let mut mock = MockMeshConfigurator::new();
        mock.expect_provider().return_const("mock");
        mock.expect_capabilities().returning(|| {
            let mut caps = MeshCapabilities::default();
            caps.kinds = vec![MeshKind::Istio];
            caps
        });
        conformance::mesh_idempotent(&mock, &AppRef::new("shop", "web"), MeshKind::Linkerd).await;
    }

    #[tokio::test]
    #[should_panic(expected = "diff without the diff capability")]
    async fn a_deployer_without_diff_must_refuse_diffs() {
        let mut mock = MockDeployer::new();
        mock.expect_provider().return_const("mock");
        mock.expect_capabilities().returning(|| {
            let mut caps = DeployerCapabilities::default();
            caps.history_limit = 5;
            caps
        });
        mock.expect_apply().returning(|_, _| Err(Error::invalid_spec("image", "empty")));
        mock.expect_status().returning(|app| Err(Error::not_found("mock", format!("app {app}"))));
        mock.expect_render().returning(|app| wooo_core::render::app(&wooo_core::validate::app_spec(app)?));
        // Claims no diff capability, yet diffs.
        mock.expect_diff().returning(|app| Ok(AppDiff { app: app.app_ref(), changes: Vec::new() }));
        conformance::deployer_round_trip(&mock, &conformance::sample_app_spec("shop", "web"), &wait()).await;
    }
}
