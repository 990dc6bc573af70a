use jiff::Timestamp;
use wooo_core::ErrorKind;
use wooo_core::model::{Capacity, ClusterSpec, ConditionType, EndpointAccess, SecretString, TaintEffect, from_yaml};

use super::*;

pub(crate) fn spec() -> ClusterSpec {
    from_yaml(
        r#"
name: demo
provider: azure
region: westeurope
kubernetes_version: "1.32"
node_pools:
  - name: system
    instance_types: [Standard_D4s_v5]
    min: 1
    max: 3
    desired: 2
    labels: {role: system}
  - name: spot
    instance_types: [Standard_D8s_v5]
    min: 0
    max: 5
    capacity: spot
    disk: {size_gib: 64, kind: Ephemeral}
    zones: ["2", "1"]
    taints: [{key: dedicated, value: batch, effect: NoSchedule}]
tags: {team: platform}
"#,
    )
    .expect("spec")
}

/// The live pools the spec's PUT bodies would make, as ARM reports them back (AKS's spot taint included).
pub(crate) fn live_pools(spec: &ClusterSpec) -> Vec<PoolInfo> {
    cluster_put(spec)
        .pools
        .iter()
        .map(|p| PoolInfo {
            name: p.name.clone(),
            mode: p.mode,
            vm_size: p.vm_size.clone(),
            count: p.count.unwrap_or(1),
            autoscaling: p.autoscale.is_some(),
            min: p.autoscale.map(|a| a.0),
            max: p.autoscale.map(|a| a.1),
            labels: p.labels.clone(),
            taints: p.taints.clone(),
            os_disk_gib: Some(p.os_disk_gib),
            os_disk_type: Some(p.os_disk_type.clone().unwrap_or_else(|| "Managed".into())),
            version: p.version.clone(),
            current_version: p.version.clone().map(|v| format!("{v}.4")),
            node_image_version: Some("AKSUbuntu-2204gen2containerd-202301.10.0".into()),
            spot: p.spot_max_price.is_some(),
            spot_max_price: p.spot_max_price,
            zones: p.zones.clone(),
            provisioning_state: Some(ProvisioningState::Succeeded),
            tags: p.tags.clone(),
        })
        .collect()
}

pub(crate) fn live_cluster(spec: &ClusterSpec) -> ClusterInfo {
    let put = cluster_put(spec);
    ClusterInfo {
        name: spec.name.clone(),
        id: format!(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{}",
            spec.name
        ),
        location: spec.region.clone(),
        provisioning_state: Some(ProvisioningState::Succeeded),
        version: Some(spec.kubernetes_version.clone()),
        current_version: Some(format!("{}.4", spec.kubernetes_version)),
        dns_prefix: Some(spec.name.clone()),
        fqdn: Some(format!("{}-dns.hcp.westeurope.azmk8s.io", spec.name)),
        private_fqdn: None,
        access: put.access,
        pod_cidr: Some("10.244.0.0/16".into()),
        service_cidr: Some("10.0.0.0/16".into()),
        node_resource_group: Some(format!("MC_rg_{}_westeurope", spec.name)),
        aad: false,
        tags: put.tags,
        pools: live_pools(spec),
    }
}

#[test]
fn validation_collects_every_aks_violation_with_its_field() {
    let mut s = spec();
    s.provider = wooo_core::model::CloudKind::Aws;
    s.region = "eastus".into();
    s.node_pools[0].capacity = Capacity::Spot;
    s.node_pools[1].name = "spot-pool-too-long".into();
    s.node_pools[1].instance_types.push("Standard_D4s_v5".into());
    s.node_pools[1].disk.kind = Some("gp3".into());
    s.node_pools[1].zones = vec!["westeurope-1".into()];
    s.network.subnet_ids = vec!["/subscriptions/s/subnets/x".into()];
    let err = validate(&s, "westeurope").expect_err("invalid");
    let fields: Vec<String> = err.violations().into_iter().map(|v| v.field).collect();
    for f in [
        "provider",
        "region",
        "network.subnet_ids",
        "node_pools[0].capacity",
        "node_pools[1].name",
        "node_pools[1].instance_types",
        "node_pools[1].disk.kind",
        "node_pools[1].zones[0]",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
    }
    assert!(validate(&spec(), "westeurope").is_ok());
    let mut s = spec();
    s.node_pools[0].min = 0;
    assert_eq!(validate(&s, "westeurope").expect_err("system pool at 0").violations()[0].field, "node_pools[0].min");
}

#[test]
fn the_first_pool_is_the_system_pool_and_spot_pools_get_aks_settings() {
    let put = cluster_put(&spec());
    assert_eq!(put.pools[0].mode, PoolMode::System);
    assert_eq!(put.pools[0].autoscale, Some((1, 3)));
    assert_eq!(put.pools[0].count, Some(2), "the count is sent at creation");
    assert_eq!(put.pools[0].spot_max_price, None);
    let spot = &put.pools[1];
    assert_eq!(spot.mode, PoolMode::User);
    assert_eq!(spot.spot_max_price, Some(-1.0));
    assert!(spot.taints.contains(&spot_taint()), "the taint AKS adds is sent too: {:?}", spot.taints);
    assert_eq!(spot.zones, ["1", "2"]);
    assert_eq!(spot.os_disk_type.as_deref(), Some("Ephemeral"));
    assert_eq!(put.tags.get(OWNER_TAG).map(String::as_str), Some("wooo"));
    assert_eq!(put.tags.get(CLUSTER_TAG).map(String::as_str), Some("demo"));
    // Without creation, the autoscaler owns the count of an autoscaled pool.
    assert_eq!(pool_put(&spec(), 0, "1.32", false).count, None);
    let mut fixed = spec();
    fixed.node_pools[0].max = 1;
    fixed.node_pools[0].desired = None;
    assert_eq!(pool_put(&fixed, 0, "1.32", false).count, Some(1), "no autoscaler: the count is wooo's");
}

#[test]
fn taints_round_trip_through_aks_strings() {
    for s in ["a=b:NoSchedule", "k:NoExecute", "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"] {
        assert_eq!(format_taint(&parse_taint(s).expect(s)), s);
    }
    assert_eq!(parse_taint("novalue"), None);
    assert_eq!(parse_taint("k=v:Sometimes"), None);
    assert_eq!(super::super::SPOT_TAINT, format_taint(&spot_taint()));
    assert_eq!(spot_taint().effect, TaintEffect::NoSchedule);
}

#[test]
fn the_observed_spec_of_an_applied_spec_plans_nothing_and_keeps_the_spot_taint() {
    let s = spec();
    let info = live_cluster(&s);
    let mut c = cluster(&info, &info.pools, Timestamp::UNIX_EPOCH);
    assert!(c.is_ready());
    assert!(c.status.owned);
    let spot = c.spec.node_pool("spot").expect("spot pool");
    assert!(spot.taints.contains(&spot_taint()), "the observed state reports AKS's spot taint");
    normalize(&mut c.spec, &s);
    let plan =
        wooo_core::plan::cluster_with(&s, Some(&c), &wooo_core::plan::PlanRules { autoscaler_owns_desired: true })
            .expect("plan");
    assert!(plan.is_noop(), "{plan}");
    assert_eq!(c.spec.network.endpoint_access, EndpointAccess::PublicAndPrivate);
}

#[test]
fn pool_differences_are_what_can_change_in_place() {
    let s = spec();
    let live = live_pools(&s);
    assert!(!pool_differs(&live[1], &pool_put(&s, 1, "1.32", false)), "the same pool");
    let mut changed = s.clone();
    changed.node_pools[1].labels.insert("tier".into(), "batch".into());
    assert!(pool_differs(&live[1], &pool_put(&changed, 1, "1.32", false)));
    let mut changed = s.clone();
    changed.node_pools[1].max = 9;
    assert!(pool_differs(&live[1], &pool_put(&changed, 1, "1.32", false)));
    // A live count the autoscaler moved is not a difference.
    let mut moved = live[0].clone();
    moved.count = 3;
    assert!(!pool_differs(&moved, &pool_put(&s, 0, "1.32", false)));
}

#[test]
fn status_follows_provisioning_states() {
    let s = spec();
    let mut info = live_cluster(&s);
    info.provisioning_state = Some(ProvisioningState::Creating);
    let c = cluster(&info, &info.pools, Timestamp::UNIX_EPOCH);
    assert!(!c.is_ready());
    assert!(c.status.condition(ConditionType::Provisioning).is_some_and(|c| c.status));
    info.provisioning_state = Some(ProvisioningState::Succeeded);
    let mut pools = info.pools.clone();
    pools[1].provisioning_state = Some(ProvisioningState::Failed);
    let c = cluster(&info, &pools, Timestamp::UNIX_EPOCH);
    assert_eq!(c.failure().map(|f| f.reason.as_str()), Some("AgentPoolFailed"));
    assert_eq!(c.status.node_pools[1].ready_nodes, 0);
}

#[test]
fn upgrades_go_one_minor_at_a_time() {
    assert_eq!(upgrade_steps("1.30.4", "1.32"), ["1.31", "1.32"]);
    assert_eq!(upgrade_steps("1.32.4", "1.32"), Vec::<String>::new());
    assert_eq!(upgrade_steps("1.32.4", "1.32.7"), ["1.32.7"]);
    assert!(lags(Some("1.31.2"), "1.32"));
    assert!(!lags(Some("1.32.4"), "1.32"));
    assert!(lags(None, "1.32"));
}

#[test]
fn kubeconfigs_are_parsed_into_access_with_secrets_redacted() {
    let yaml = r#"
apiVersion: v1
kind: Config
clusters:
- name: demo
  cluster:
    server: https://demo-dns.hcp.westeurope.azmk8s.io:443
    certificate-authority-data: Q0EK
users:
- name: clusterUser_rg_demo
  user:
    client-certificate-data: Q0VSVAo=
    client-key-data: S0VZLXNlY3JldA==
    token: tok-secret-123
contexts:
- name: demo
  context: {cluster: demo, user: clusterUser_rg_demo}
current-context: demo
"#;
    let id = ClusterId::new("demo");
    let access = access_from_kubeconfig(&id, &SecretString::new(yaml)).expect("parses");
    assert_eq!(access.endpoint, "https://demo-dns.hcp.westeurope.azmk8s.io:443");
    assert_eq!(access.ca_data.as_deref(), Some("Q0EK"));
    match &access.auth {
        ClusterAuth::Token(t) => assert_eq!(t.expose(), "tok-secret-123"),
        other => panic!("expected a token, got {other:?}"),
    }
    assert!(!format!("{access:?}").contains("tok-secret-123"));
    let cert_only = yaml.replace("    token: tok-secret-123\n", "");
    let access = access_from_kubeconfig(&id, &SecretString::new(cert_only)).expect("parses");
    assert!(
        matches!(access.auth, ClusterAuth::ClientCertificate { ref key_data, .. } if key_data.expose() == "S0VZLXNlY3JldA==")
    );
    let err = access_from_kubeconfig(&id, &SecretString::new("not: [a kubeconfig")).expect_err("bad");
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert!(!err.to_string().contains("not: ["), "no kubeconfig text in errors");
}
