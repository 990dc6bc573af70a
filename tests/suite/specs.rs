//! Spec files: the examples' specs load and validate; every file under `tests/specs/invalid/` is rejected with
//! `InvalidSpec` naming the field its `# expect:` header gives, and nothing reaches the simulator.

use std::path::{Path, PathBuf};

use wooo_core::model::{AppSpec, ClusterSpec, Environment, from_yaml, from_yaml_file};
use wooo_core::prelude::*;
use wooo_core::validate;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn example_specs_load_and_validate() {
    let cluster: ClusterSpec = from_yaml_file(repo().join("examples/specs/cluster.yaml")).expect("cluster spec");
    validate::cluster_spec(&cluster).expect("valid cluster spec");
    assert_eq!(cluster.node_pools.len(), 2);
    assert_eq!(cluster.node_pools[1].capacity, Capacity::Spot);

    let app: AppSpec = from_yaml_file(repo().join("examples/specs/employee-management.yaml")).expect("app spec");
    validate::app_spec(&app).expect("valid app spec");
    assert_eq!(app.effective_port(), 5000);
    assert_eq!(app.effective_replicas(), 3);
    assert_eq!(format!("{:?}", app.secrets.get("DATABASE_URL").expect("secret")), "<redacted>");
    assert!(!format!("{app:?}").contains("change-me"), "secrets never appear in Debug");
    let prod = app.for_environment(Environment::Prod);
    validate::app_spec(&prod).expect("valid prod overlay");
    assert_eq!(prod.tier, PlanTier::Advanced);
    assert!(prod.autoscaling.is_some());
    let dev = app.for_environment(Environment::Dev);
    assert_eq!(dev.effective_replicas(), 1);
    assert_eq!(dev.env.get("FLASK_ENV").map(String::as_str), Some("development"));
}

fn expected_field(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("# expect: "))
        .map(|s| s.trim().to_string())
        .expect("an `# expect:` header")
}

#[tokio::test(start_paused = true)]
async fn invalid_spec_files_name_their_field_and_create_nothing() {
    let cloud = SimCloud::builder().build();
    let mut seen = 0;
    let mut files: Vec<_> = std::fs::read_dir(repo().join("tests/specs/invalid"))
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read");
        let want = expected_field(&text);
        let is_app = text.contains("\nimage:");
        let err = if is_app {
            from_yaml::<AppSpec>(&text).and_then(|s| validate::app_spec(&s)).expect_err("rejected")
        } else {
            match from_yaml::<ClusterSpec>(&text) {
                Ok(spec) => {
                    let err = cloud.provisioner().apply(&spec, &Progress::none()).await.expect_err("rejected");
                    assert!(cloud.provisioner().list().await.expect("list").is_empty(), "nothing created");
                    err
                }
                Err(e) => e,
            }
        };
        assert_eq!(err.kind(), ErrorKind::InvalidSpec, "{}: {err}", path.display());
        let fields: Vec<String> = err.violations().into_iter().map(|v| v.field).collect();
        assert!(fields.contains(&want), "{}: expected field {want}, got {fields:?}", path.display());
        seen += 1;
    }
    assert!(seen >= 10, "all fixtures ran ({seen})");
}
