//! How a host program tests its own code against wooo: with a mockall mock for unit tests, and with the
//! simulator for integration tests. The host function under test here is `ensure_capacity`.

use std::time::Duration;

use wooo_core::conformance::{sample_app_spec, sample_cluster_spec};
use wooo_core::prelude::*;
use wooo_core::testing::MockDeployer;

/// Host code: make sure an app runs at least `min` replicas; returns whether it scaled.
async fn ensure_capacity(deployer: &dyn Deployer, app: &AppRef, min: u32) -> wooo_core::Result<bool> {
    let status = deployer.status(app).await?;
    if status.desired_replicas >= min {
        return Ok(false);
    }
    deployer.scale(app, min).await?;
    Ok(true)
}

fn status(app: &AppRef, replicas: u32) -> AppStatus {
    AppStatus {
        app: app.clone(),
        health: Health::Current,
        revision: 1,
        desired_replicas: replicas,
        updated_replicas: replicas,
        ready_replicas: replicas,
        available_replicas: replicas,
    }
}

#[tokio::test]
async fn host_code_with_a_mock_scales_only_when_short() {
    let app = AppRef::new("shop", "web");
    let mut mock = MockDeployer::new();
    let for_status = app.clone();
    mock.expect_status().times(2).returning(move |_| Ok(status(&for_status, 2)));
    mock.expect_scale().withf(|a, n| a.name == "web" && *n == 4).times(1).returning(|a, n| Ok(status(a, n)));
    assert!(ensure_capacity(&mock, &app, 4).await.expect("scaled"));
    assert!(!ensure_capacity(&mock, &app, 2).await.expect("already enough"));
}

#[tokio::test]
async fn host_code_with_a_mock_propagates_typed_errors() {
    let mut mock = MockDeployer::new();
    mock.expect_status().returning(|a| Err(Error::not_found("mock", format!("app {a}"))));
    let err = ensure_capacity(&mock, &AppRef::new("shop", "gone"), 1).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { provider: "mock", .. }));
}

#[tokio::test(start_paused = true)]
async fn host_code_against_the_simulator() {
    let cloud = SimCloud::builder().build();
    let wait = WaitOptions::timeout(Duration::from_secs(600));
    let spec = sample_cluster_spec("host", CloudKind::Sim, "us-east-1", "m5.large");
    let cluster = cloud.provisioner().ensure(&spec, &wait, &Progress::none()).await.expect("cluster");
    let deployer = cloud.deployer(&cluster.id).expect("deployer");
    let app = sample_app_spec("shop", "web");
    deployer.deploy(&app, &wait, &Progress::none()).await.expect("deploy");

    assert!(ensure_capacity(&deployer, &app.app_ref(), 5).await.expect("scaled"));
    let status = deployer.wait(&app.app_ref(), &wait, &Progress::none()).await.expect("rolled out");
    assert_eq!(status.available_replicas, 5);
    assert!(!ensure_capacity(&deployer, &app.app_ref(), 5).await.expect("no-op"));
}
